"""Time ``scenerender atlas build`` on the real Allen data, meshes in parallel vs serially.

    python bench/atlas_build.py                     # 50 um, every structure meshed
    python bench/atlas_build.py --sample 120        # 50 um, 120 structures meshed (quicker)
    python bench/atlas_build.py --resolution 100 --processes 2

Builds the Allen mouse atlas from ../shared/data/allen_ccf_2017 (25 um
annotation, average template and structure graph, downsampled to
``--resolution``) twice, each as a fresh ``scenerender atlas build``
process: once with meshes made by ``--processes`` processes, once serially
(``--processes 1``), in the same run on the same machine. For each it records
the wall time of the whole command, the time of each build phase (from the
build report), the peak memory of the whole process tree (the sum of the
RSS of the command and its mesh workers, sampled every 0.1 s; and the
largest single process, from the kernel), and the machine's 1-minute load
average before and after (other work on the machine distorts the ratio:
run it on an otherwise idle machine). Prints the parallel/serial ratios
and writes everything as JSON to bench/results/atlas_build.json.

``--sample N`` meshes N structures (evenly spread over the hierarchy's
structures with voxels, without their ancestors) instead of all of them, to
keep a run short; the ratio is then measured on that subset.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ALLEN = (REPO / ".." / "shared" / "data" / "allen_ccf_2017").resolve()


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_build(recipe: Path, processes: int, workdir: Path) -> dict:
    out = workdir / f"out-{processes}"
    report = workdir / f"report-{processes}.json"
    cmd = [sys.executable, "-m", "scenerender", "atlas", "build", str(recipe), "-o", str(out), "-q",
           "--processes", str(processes), "--report", str(report)]
    peak = [0]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build failed ({' '.join(cmd)}):\n{err}")
    result = json.loads(report.read_text())
    return {"processes": processes, "wall_s": round(wall, 2), "phases_s": result["timings_s"],
            "n_meshes": result["n_meshes"], "n_structures": result["n_structures"],
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "peak_tree_rss_mib": round(peak[0] / 2**20, 1), "peak_single_process_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "cmd": " ".join(cmd[1:])}


def write_recipe(folder: Path, resolution: int, sample: int | None) -> Path:
    import yaml

    meshes: dict = {}
    if sample:
        from scenerender.atlas_build.inputs import read_structures

        structures = read_structures(ALLEN / "structure_graph.json").items
        import nrrd
        import numpy as np

        annotation, _ = nrrd.read(str(ALLEN / "annotation_25.nrrd"))
        f = resolution // 25
        present = set(np.unique(annotation[f // 2::f, f // 2::f, f // 2::f]).tolist())
        with_voxels = [s["id"] for s in structures if present.intersection(
            t["id"] for t in structures if s["id"] in t["structure_id_path"])]
        step = max(1, len(with_voxels) // sample)
        meshes = {"only": with_voxels[::step][:sample], "with_ancestors": False}
    recipe = {
        "version": 1, "name": "allen_mouse_bench",
        "metadata": {"species": "Mus musculus", "link": "https://www.brain-map.org", "packager": "scenerender bench"},
        "orientation": "asr", "resolution": 25, "output_resolution": resolution,
        "annotation": str(ALLEN / "annotation_25.nrrd"), "reference": str(ALLEN / "average_template_25.nrrd"),
        "structures": {"path": str(ALLEN / "structure_graph.json")},
        "meshes": meshes,
    }
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=50, help="packaged resolution in um (multiple of 25)")
    parser.add_argument("--processes", type=int, default=0, help="processes of the parallel case (0: every CPU)")
    parser.add_argument("--sample", type=int, default=None, help="mesh only this many structures")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "atlas_build.json")
    args = parser.parse_args(argv)
    if not (ALLEN / "annotation_25.nrrd").exists():
        raise SystemExit(f"the Allen data is not in {ALLEN} (see ../shared/data/README.md)")
    from scenerender.atlas_build.meshes import default_processes

    processes = args.processes or default_processes()
    with tempfile.TemporaryDirectory(prefix="scenerender-bench-") as tmp:
        workdir = Path(tmp)
        recipe = write_recipe(workdir, args.resolution, args.sample)
        subprocess.run([sys.executable, "-m", "scenerender", "atlas", "build", str(recipe), "--check", "-q"],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)  # warms the file cache for both cases
        parallel = run_build(recipe, processes, workdir)
        serial = run_build(recipe, 1, workdir)
    ratios = {
        "wall": round(parallel["wall_s"] / serial["wall_s"], 3),
        "meshes_phase": round(parallel["phases_s"]["meshes"] / serial["phases_s"]["meshes"], 3),
        "peak_tree_rss": round(parallel["peak_tree_rss_mib"] / serial["peak_tree_rss_mib"], 3),
    }
    result = {"benchmark": "atlas_build", "resolution_um": args.resolution, "sample": args.sample,
              "cpus": default_processes(), "machine": platform.platform(), "python": platform.python_version(),
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "parallel": parallel, "serial": serial,
              "ratios_parallel_over_serial": ratios}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for case in (parallel, serial):
        ph = case["phases_s"]
        print(f"{case['processes']:>2} process(es): {case['wall_s']:7.1f} s wall (meshes {ph['meshes']:.1f} s, "
              f"packaging {ph['package']:.1f} s), {case['n_meshes']} meshes, peak RSS {case['peak_tree_rss_mib']:.0f} MiB "
              f"(process tree), {case['peak_single_process_rss_mib']:.0f} MiB (largest process)")
    print(f"parallel/serial: wall {ratios['wall']:.2f}, meshes {ratios['meshes_phase']:.2f}, "
          f"peak memory {ratios['peak_tree_rss']:.2f}  -> {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
