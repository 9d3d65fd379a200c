"""Batch rendering: 40 scenes serially, with ``--jobs 2`` and on a 2-worker
Dask LocalCluster, in the same run; and the cost per scene of the atlas cache.

    .venv/bin/python bench/batch.py                    # 40 scenes, 3 repeats
    .venv/bin/python bench/batch.py --scenes 8 --repeats 1   # a smoke run
    .venv/bin/python bench/batch.py --update-readme    # also publish the table in bench/README.md

The 40 scenes are "the same figure for 40 brains": 40 scene files, each the
brain (alpha 0.15), the thalamus and caudoputamen and 2,000 cells of its own
(a CSV of points drawn from the embedded atlas's brain voxels, a different
seed per brain), 800x600, from a three-quarter view, on the embedded atlas.
Each mode runs the real command in a fresh process with ``--force``:

* serial: ``scenerender batch DIR -o OUT --jobs 1`` (one worker process,
  Mesa free to use both cores), its worker from the warm worker service
  (``scenerender.service``: started by an untimed first batch, as by any
  earlier batch of the day; its own folder, ended at the end);
* ``--jobs 2``: two worker processes (one Mesa thread each, the default),
  from the same service;
* the same two with the service off (``SCENERENDER_WORKER_SERVICE=0``): each
  command starts its own fork server and workers (cold: imports, atlas);
* Dask: ``--scheduler`` of a ``distributed.LocalCluster(n_workers=2,
  threads_per_worker=1)`` started before the timing (a lab's cluster is
  already running); its workers get ``LP_NUM_THREADS=1`` like local ones.

The modes take turns within each repeat. Reported: wall time of the command
(median of ``--repeats``), scenes per minute, the ratio to serial (target >=
1.8 on 2 cores), and peak memory (the command's process tree; for Dask, plus
the cluster's worker processes). Local workers are started cold by every
command (spawn, imports: ~4 s each); the Dask workers are started once, as a
lab's cluster would be, so only its first run pays for their imports.

Atlas cache: in one process, each scene compiled and drawn by the batch
task function with its worker atlas cache kept (what workers do) and with
it emptied before every scene (as if each scene opened the atlas afresh);
the difference per scene is the cache's saving.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _watch import run_watched  # noqa: E402
from compare import REPO, RESULTS, log  # noqa: E402
from points import md, report_header, update_readme_block  # noqa: E402

SCENE = """\
version: 1
atlas: embedded
sources:
  cells: {{kind: points, path: {cells}, space: atlas}}
actors:
  - kind: root
    alpha: 0.15
  - kind: region
    regions: [TH, CP]
  - kind: points
    source: cells
    color: crimson
    radius: 40
camera: {{preset: three_quarters}}
render: {{size: [800, 600]}}
"""


def make_scenes(folder: Path, n: int, cells: int = 2000) -> list[Path]:
    """n scene files, each with its own cells inside the brain."""
    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas

    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))
    inside = np.argwhere(np.asarray(atlas.bg.annotation) > 0)
    resolution = np.array(atlas.resolution)
    for i in range(n):
        rng = np.random.default_rng(i)
        voxels = inside[rng.choice(len(inside), cells)]
        points = (voxels + rng.random(voxels.shape)) * resolution
        np.savetxt(folder / f"brain{i:02d}_cells.csv", points, delimiter=",", header="ap,dv,lr", comments="",
                   fmt="%.1f")
        (folder / f"brain{i:02d}.yaml").write_text(SCENE.format(cells=f"brain{i:02d}_cells.csv"))
    return sorted(folder.glob("brain*.yaml"))


class _ClusterMemory:
    """Peak summed RSS of this process's children (the LocalCluster's nanny and worker processes),
    or of the processes ``processes()`` names (the warm worker service's)."""

    def __init__(self, processes=None):
        self.peak, self._stop = 0, threading.Event()
        self._processes = processes or (lambda: psutil.Process().children(recursive=True))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            total = 0
            for child in self._processes():
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _service_processes(service_dir: str):
    """The warm worker service of this benchmark and its workers (not children of the command)."""
    def find():
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if "scenerender.service" in cmdline and any(a.startswith(service_dir) for a in cmdline):
                found.append(proc)
        return found
    return find


def run_once(name: str, args: list[str], folder: Path, out: Path, r: int, extra_memory=None, env=None) -> dict:
    cmd = [sys.executable, "-m", "scenerender", "batch", str(folder), "-o", str(out), "--force", *args]
    log(f"{name}: run {r + 1}: {' '.join(cmd[2:])}")
    with (extra_memory() if extra_memory else _Nothing()) as watcher:
        s = run_watched(cmd, {**os.environ, **(env or {})}, RESULTS / "logs" / f"batch_{name}_{r}.log", cwd=REPO)
    if s["code"] != 0:
        raise SystemExit(f"{name} failed (exit {s['code']}): {s['tail']}")
    return {"wall": s["wall"], "peak_mib": s["peak_tree_mib"] + getattr(watcher, "peak", 0) / 2**20}


def summarise(runs: list[dict]) -> dict:
    walls = [s["wall"] for s in runs]
    return {"wall_s": statistics.median(walls), "walls_s": walls, "peak_mib": max(s["peak_mib"] for s in runs)}


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def atlas_cache_cost(scene_files: list[Path], out: Path) -> dict:
    """Seconds per scene of the batch task function with and without the worker's atlas cache."""
    import scenerender.batch as batch
    import scenerender.cache as process_cache

    _, tasks = batch.plan_batch(scene_files, outdir=out, force=True, workers=1)
    batch.execute_task(tasks[0])  # imports and GL context out of the way
    timings = {"cached": [], "uncached": []}
    for i, task in enumerate(tasks[1:]):
        for mode in (("cached", "uncached") if i % 2 == 0 else ("uncached", "cached")):  # alternate order
            if mode == "uncached":
                process_cache.clear()
            start = time.perf_counter()
            result = batch.execute_task(task)
            timings[mode].append(time.perf_counter() - start)
            assert result["status"] == batch.RENDERED, result
            if mode == "uncached":
                process_cache.clear()
                batch.execute_task(task)  # leave the cache warm for the next "cached" run
    cached, uncached = statistics.median(timings["cached"]), statistics.median(timings["uncached"])
    return {"cached_s": cached, "uncached_s": uncached, "saving_s": uncached - cached, "scenes": len(tasks) - 1}


def planning_cost(scene_files: list[Path], out: Path, repeats: int = 3) -> dict:
    """Seconds the parent spends planning the batch (read, validate, fill defaults, check and hash
    the inputs, fingerprint), per scene: median of ``repeats`` plans of every scene, in this process."""
    import scenerender.batch as batch

    batch.plan_batch(scene_files[:1], outdir=out, force=True, workers=2)  # imports and the schema loaded
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        batch.plan_batch(scene_files, outdir=out, force=True, workers=2)
        times.append(time.perf_counter() - start)
    return {"per_scene_s": statistics.median(times) / len(scene_files), "scenes": len(scene_files)}


def table(report: dict) -> str:
    n = report["settings"]["scenes"]
    serial = report["modes"]["serial"]["wall_s"]
    own = report["modes"].get("serial_own", {}).get("wall_s")
    rows = ["| mode | wall: median (min-max) | runs | scenes/min | ratio to serial (paired) | peak memory |",
            "|---|---|---|---|---|---|"]
    for name, label, base in (
            ("serial", "`--jobs 1`, warm worker service", serial),
            ("jobs2", "`--jobs 2`, warm worker service", serial),
            ("serial_own", "`--jobs 1`, own workers (service off: cold start)", own),
            ("jobs2_own", "`--jobs 2`, own workers (service off: cold start)", own),
            ("dask", "Dask LocalCluster, 2 workers (vs warm serial)", serial),
            ("serial_lp1", "`--jobs 1` with one rasterizer thread (`LP_NUM_THREADS=1`, as each `--jobs 2` worker), "
                           "warm worker service", serial)):
        m = report["modes"].get(name)
        if not m:
            continue
        w = m["walls_s"]
        paired = m.get("paired_ratio")
        rows.append(f"| {label} | {m['wall_s']:.1f} s ({min(w):.1f}-{max(w):.1f}) | {', '.join(f'{x:.1f}' for x in w)} | "
                    f"{60 * n / m['wall_s']:.1f} | {base / m['wall_s']:.2f}x"
                    + (f" ({paired:.2f}x)" if paired else "") + f" | {m['peak_mib'] / 1024:.2f} GiB |")
    if "scaling" in report:
        sc = report["scaling"]
        rows.append("")
        rows.append(f"`--jobs 2` against `--jobs 1` drawing with one rasterizer thread: {sc['ratio']:.2f}x "
                    f"(paired {sc['paired_ratio']:.2f}x), the workers' own scaling; a serial batch draws with "
                    "llvmpipe on both cores, which the ratio to serial above cannot take back.")
    c = report["atlas_cache"]
    cache = (f"Atlas cache, per scene in one worker ({c['scenes']} scenes, median): {c['cached_s']:.2f} s with "
             f"the cache, {c['uncached_s']:.2f} s opening the atlas afresh; the cache saves {c['saving_s']:.2f} s "
             f"per scene ({c['uncached_s'] / c['cached_s']:.2f}x).")
    if "planning" in report:
        p = report["planning"]
        cache += (f" Planning in the parent (read, validate, fingerprint; {p['scenes']} scenes, median of 3): "
                  f"{1000 * p['per_scene_s']:.1f} ms a scene.")
    m, v = report["machine"], report["versions"]["scenerender"]
    machine = (f"Machine: {m.get('model_name')}, {m.get('cpus_usable')} cores usable, {m.get('memory_gib')} GiB RAM, "
               f"{m['platform']}, Python {m['python']}; OpenGL: {m.get('opengl')}; 1-minute load average "
               f"{report['load_before']:.2f} before, {report['load_after']:.2f} after. scenerender "
               f"{v.get('scenerender')}, VTK {v.get('vtk')}, pyvista {v.get('pyvista')}. {report['date']}.")
    return "\n".join(rows) + "\n\n" + md(cache) + "\n\n" + md(machine) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = report_header({"scenes": args.scenes, "repeats": args.repeats})
    report["modes"] = {}
    with tempfile.TemporaryDirectory(prefix="scenerender-bench-batch-") as tmp:
        folder, out = Path(tmp) / "scenes", Path(tmp) / "out"
        folder.mkdir()
        files = make_scenes(folder, args.scenes)
        from distributed import LocalCluster

        # Modes take turns in every repeat, so a noisy moment on a shared machine hits all of them.
        # The warm worker service (scenerender.service) of this benchmark lives in a folder of its own;
        # one untimed batch per mode starts it and its workers, as any earlier batch of the day would.
        service_dir = tempfile.mkdtemp(prefix="srb-", dir="/tmp")
        warm = {"SCENERENDER_SERVICE_DIR": service_dir, "SCENERENDER_WORKER_IDLE": "600"}
        cold = {"SCENERENDER_WORKER_SERVICE": "0"}
        with_service = lambda: _ClusterMemory(_service_processes(service_dir))  # noqa: E731
        modes = {"serial": (["--jobs", "1"], warm, with_service), "jobs2": (["--jobs", "2"], warm, with_service),
                 "serial_own": (["--jobs", "1"], cold, None), "jobs2_own": (["--jobs", "2"], cold, None),
                 # serial with one rasterizer thread, as each --jobs 2 worker draws: the workers' own scaling
                 "serial_lp1": (["--jobs", "1"], {**warm, "LP_NUM_THREADS": "1"}, with_service)}
        runs = {name: [] for name in [*modes, "dask"]}
        for name in ("serial", "jobs2", "serial_lp1"):
            run_once(f"{name}_warmup", modes[name][0], folder, out, 0, env=modes[name][1])
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          env={"LP_NUM_THREADS": "1"}) as cluster:
            for r in range(args.repeats):
                order = list(modes) if r % 2 == 0 else list(reversed(modes))
                for name in order:
                    mode_args, env, memory = modes[name]
                    runs[name].append(run_once(name, mode_args, folder, out, r, extra_memory=memory, env=env))
                runs["dask"].append(run_once("dask", ["--scheduler", cluster.scheduler_address], folder, out, r,
                                             extra_memory=_ClusterMemory))
        for pid_file in Path(service_dir).glob("*/pid"):  # our service: ended now, not after its idle timeout
            try:
                os.kill(int(pid_file.read_text()), 15)
            except (OSError, ValueError):
                pass
        report["modes"] = {name: summarise(mode_runs) for name, mode_runs in runs.items()}
        for name, base in (("jobs2", "serial"), ("jobs2_own", "serial_own"), ("dask", "serial")):
            report["modes"][name]["paired_ratio"] = statistics.median(
                b["wall"] / m["wall"] for b, m in zip(runs[base], runs[name]))
        report["scaling"] = {"ratio": report["modes"]["serial_lp1"]["wall_s"] / report["modes"]["jobs2"]["wall_s"],
                             "paired_ratio": statistics.median(
                                 b["wall"] / m["wall"] for b, m in zip(runs["serial_lp1"], runs["jobs2"]))}
        report["planning"] = planning_cost(files, Path(tmp) / "plan-out")
        report["atlas_cache"] = atlas_cache_cost(files[: min(len(files), 12)], Path(tmp) / "cache-out")
    report["load_after"] = os.getloadavg()[0]
    for name, base in (("jobs2", "serial"), ("jobs2_own", "serial_own"), ("dask", "serial")):
        report["modes"][name]["ratio_to_serial"] = report["modes"][base]["wall_s"] / report["modes"][name]["wall_s"]
    (RESULTS / "batch.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = table(report)
    print(text)
    if args.update_readme:
        update_readme_block("batch", "python bench/batch.py", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
