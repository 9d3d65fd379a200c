"""scenerender side by side with brainrender and with the raw VTK floor.

    python bench/compare.py                     # all cases, 5 timed runs each
    python bench/compare.py --runs 3 --cases root root_10_regions
    python bench/compare.py --resolution 50     # a 50 um build of the same atlas
    python bench/compare.py --update-readme     # also publish the table in bench/README.md

Run it with scenerender's environment (``.venv/bin/python``). The first run
creates ``bench/.venv-brainrender`` (brainrender from the package registry,
pinned by ``--brainrender-spec``; about 2 minutes) and ``bench/.cache/``
(a BrainGlobe folder and config holding the atlas, the 100k points, case
files); later runs reuse them.

The same scenes, one fresh process per image (cold start to first PNG; the
file cache is warmed by one untimed run of every tool first):

* ``scenerender``: ``scenerender render bench/scenes/CASE.yaml -o OUT.png``;
* ``brainrender``: bench/runners/brainrender_scene.py in brainrender's own
  environment (what a brainrender user writes, offscreen and offline);
* ``vtk_floor``: bench/runners/floor_vtk.py, the same geometry drawn by VTK
  alone (the floor: no scene handling, no wrapper library);
* ``pyvista_floor``: bench/runners/floor_pyvista.py, the same with a minimal
  pyvista script (scenerender draws through pyvista).

All four read the real Allen CCFv3 atlas that scenerender embeds (BrainGlobe
v3 layout; brainrender finds it through a BrainGlobe config in bench/.cache
that ``BRAINGLOBE_CONFIG_DIR`` points at), or with ``--resolution 50``/``25``
the same atlas built by tools/build_embedded_atlas.py (cached in bench/.cache).
Everything that defines a case comes from its scenerender scene in
bench/scenes/: actors, colours, sizes, data paths; the camera is the one
scenerender computes for the scene's preset, handed to the others in the
render world they share (atlas microns, third axis negated).

Runs are interleaved (run i of every tool, then run i+1) so that load from
other users of the machine spreads over all tools. Reported per tool: median,
min and max wall time of the whole process, peak RSS (os.wait4 rusage), the
runners' phase times; per case: scenerender / brainrender, scenerender / VTK
floor and scenerender - VTK floor, as ratios of the medians and as the
median over rounds of the ratio within a round ("paired"). Printed, written
as JSON to bench/results/compare[SUFFIX].json (SUFFIX: _50um for
--resolution 50, _brainrender-msaa-off, _TAG for --tag), tables as Markdown
to bench/results/compare[SUFFIX].md, each case's images side by side in
bench/results/CASE[SUFFIX]_side_by_side.png, and with --update-readme the
tables into bench/README.md between <!-- compare[SUFFIX]:start/end -->.

Cases whose scene ``scenerender validate`` rejects are skipped for
scenerender with a note (e.g. data sources this scenerender does not have
yet); the other tools still run them.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"
SCENES = BENCH / "scenes"
RUNNERS = BENCH / "runners"
BR_VENV = BENCH / ".venv-brainrender"
BGCOMPAT = REPO / "scenerender" / "_bgcompat.py"
EMBEDDED_DIR = REPO / "scenerender" / "embedded_atlas"
ATLAS_BASE = "allen_mouse_scenerender"

CASES = ("root", "root_10_regions", "points_100k", "neuron")
TOOLS = ("scenerender", "brainrender", "vtk_floor", "pyvista_floor")
LABELS = {"scenerender": "scenerender", "brainrender": "brainrender", "vtk_floor": "VTK floor",
          "pyvista_floor": "pyvista floor"}
DEFAULT_BRAINRENDER = "brainrender==2.2.2"
N_POINTS = 100_000
POINTS_SEED = 20240601

# scenerender's documented defaults for the keys the bench scenes may leave out.
DEFAULTS = {
    "root": {"color": "#d8d8d8", "alpha": 0.2},
    "region": {"color": None, "alpha": 1.0, "hemisphere": "both"},
    "points": {"color": "#e6550d", "radius": 25.0, "alpha": 1.0},
    "neuron": {"color": None, "radius": 8.0, "soma_radius": 60.0, "alpha": 1.0},
}


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------
# environments and data
# --------------------------------------------------------------------------


def brainrender_python() -> Path:
    return BR_VENV / "bin" / "python"


def brainrender_version() -> str | None:
    py = brainrender_python()
    if not py.exists():
        return None
    proc = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('brainrender'))"],
                          capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_brainrender(spec: str) -> str:
    """brainrender in its own virtual environment (never scenerender's)."""
    version = brainrender_version()
    wanted = spec.split("==", 1)[1] if "==" in spec else None
    if version is not None and (wanted is None or version == wanted):
        return version
    base = getattr(sys, "_base_executable", sys.executable)
    log(f"creating {BR_VENV.relative_to(REPO)} with {spec} (from the package registry; a few minutes)")
    if not brainrender_python().exists():
        subprocess.run([base, "-m", "venv", str(BR_VENV)], check=True)
    subprocess.run([str(brainrender_python()), "-m", "pip", "install", "--quiet", spec], check=True)
    version = brainrender_version()
    if version is None:
        raise SystemExit(f"{spec} did not install into {BR_VENV}")
    return version


def atlas_source(resolution: int) -> Path:
    """A folder holding brainglobe-atlasapi/ with the atlas at ``resolution``."""
    if resolution == 100:
        return EMBEDDED_DIR
    out = CACHE / f"atlas-{resolution}um"
    manifest = out / "brainglobe-atlasapi" / "atlases" / f"{ATLAS_BASE}_{resolution}um"
    if not any(manifest.glob("*/manifest.json")):
        log(f"building the {resolution} um atlas with tools/build_embedded_atlas.py into {out} (many minutes)")
        subprocess.run([sys.executable, str(REPO / "tools" / "build_embedded_atlas.py"), "--resolution",
                        str(resolution), "--out", str(out)], check=True, cwd=REPO)
    return out


def prepare_brainglobe(resolution: int) -> tuple[Path, Path]:
    """A bench-local BrainGlobe folder with the atlas, and a config pointing at it.

    One folder per resolution: the atlas's components (template, annotation
    set, terminology) carry the same names at every resolution. The atlas is
    copied (not linked) so that edits to scenerender/embedded_atlas during a
    run cannot change what the tools read.
    """
    source = atlas_source(resolution) / "brainglobe-atlasapi"
    bg_dir = CACHE / f"brainglobe-{resolution}um"
    target = bg_dir / "brainglobe-atlasapi"
    if not target.exists() or _tree_signature(source) != _tree_signature(target):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
    config_dir = CACHE / f"brainglobe-{resolution}um-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "bg_config.conf").write_text(
        f"[default_dirs]\nbrainglobe_dir = {bg_dir}\ninterm_download_dir = {bg_dir}\n")
    return bg_dir, config_dir


def _tree_signature(root: Path) -> list:
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file())


def make_points(path: Path, n: int = N_POINTS) -> None:
    """``n`` (100,000) points uniformly inside the brain (seeded), atlas
    microns, from the embedded 100 um annotation: a random brain voxel each,
    jittered within the voxel. (bench/points.py makes 1,000,000 the same way.)"""
    if path.exists():
        return
    import numpy as np

    sys.path.insert(0, str(RUNNERS))
    from _common import install_terminology_reader

    install_terminology_reader(str(BGCOMPAT))
    from brainglobe_atlasapi import BrainGlobeAtlas

    atlas = BrainGlobeAtlas(f"{ATLAS_BASE}_100um", brainglobe_dir=EMBEDDED_DIR, check_latest=False)
    inside = np.argwhere(np.asarray(atlas.annotation) > 0)
    rng = np.random.default_rng(POINTS_SEED)
    voxels = inside[rng.integers(0, len(inside), n)]
    points = (voxels + rng.uniform(-0.5, 0.5, voxels.shape)) * np.asarray(atlas.resolution)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, points.astype(np.float32))


# --------------------------------------------------------------------------
# cases: one scenerender scene -> the same case for every tool
# --------------------------------------------------------------------------


def resolved_scene(case: str, resolution: int, bg_dir: Path) -> tuple[dict, Path]:
    """The bench scene with absolute data paths (and the atlas at ``resolution``),
    written next to the other case files in bench/.cache."""
    src = SCENES / f"{case}.yaml"
    scene = yaml.safe_load(src.read_text())
    for source in (scene.get("sources") or {}).values():
        source["path"] = str((src.parent / source["path"]).resolve())
    if resolution != 100:
        scene["atlas"] = {"name": f"{ATLAS_BASE}_{resolution}um", "brainglobe_dir": str(bg_dir), "download": False}
    out = CACHE / "cases" / f"{resolution}um" / f"{case}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# generated by bench/compare.py from {src.relative_to(REPO)}; do not edit\n"
                   + yaml.safe_dump(scene, sort_keys=False))
    return scene, out


def scenerender_camera(scene: dict) -> dict:
    """The camera scenerender computes for the scene (render-world coordinates).

    Presets are framed from the brain's bounds, so a root-only copy of the
    scene (which compiles whatever actors this scenerender supports) gives
    the same camera.
    """
    import scenerender

    probe = {k: copy.deepcopy(v) for k, v in scene.items() if k in ("version", "atlas", "camera", "render")}
    probe["actors"] = [a for a in scene["actors"] if a["kind"] == "root"] or [{"kind": "root"}]
    cam = scenerender.compile_scene(probe).camera
    view_angle = getattr(cam, "effective_view_angle", cam.view_angle)
    if getattr(cam, "orthographic", False):
        raise SystemExit("bench cases must use a perspective camera")
    return {"position": list(map(float, cam.position)), "focal_point": list(map(float, cam.focal_point)),
            "view_up": list(map(float, cam.view_up)), "view_angle": float(view_angle)}


def _hex(color) -> str | None:
    """A scene colour (name, hex or 0-255 RGB) as #rrggbb, for every tool."""
    if color is None:
        return None
    if isinstance(color, (list, tuple)):
        return "#" + "".join(f"{int(c):02x}" for c in color)
    from matplotlib.colors import to_hex

    return to_hex(color)


def case_spec(scene: dict, resolution: int, bg_dir: Path, camera: dict) -> dict:
    """What brainrender and the floors draw, derived from the scenerender scene."""
    sources = scene.get("sources") or {}
    actors = []
    for actor in scene["actors"]:
        kind = actor["kind"]
        a = {**DEFAULTS.get(kind, {}), **actor}
        if kind == "root":
            actors.append({"kind": "root", "color": _hex(a["color"]), "alpha": a["alpha"]})
        elif kind == "region":
            if a["hemisphere"] != "both":
                raise SystemExit("bench cases: hemisphere cuts are not mirrored in the other tools")
            regions = a["regions"] if isinstance(a["regions"], list) else [a["regions"]]
            actors.append({"kind": "region", "regions": regions, "alpha": a["alpha"], "color": _hex(a["color"])})
        elif kind == "points":
            src = sources[a["source"]]
            if src.get("space", "atlas") != "atlas":
                raise SystemExit("bench cases: points must be in atlas space")
            actors.append({"kind": "points", "path": src["path"], "radius": a["radius"],
                           "color": _hex(a["color"]), "alpha": a["alpha"]})
        elif kind == "neuron":
            src = sources[a["source"]]
            space = src.get("space", "atlas")
            orientation = "asr" if space == "atlas" else space["orientation"]
            if space != "atlas" and list(space.get("resolution", [1, 1, 1])) != [1, 1, 1]:
                raise SystemExit("bench cases: neuron SWC must be in microns (resolution [1, 1, 1])")
            actors.append({"kind": "neuron", "path": src["path"], "orientation": orientation,
                           "radius": a["radius"], "soma_radius": a["soma_radius"],
                           "color": _hex(a["color"] or "black")})
        else:
            raise SystemExit(f"bench cases: actor kind {kind!r} has no brainrender/floor equivalent here")
    render = scene.get("render", {})
    return {"atlas_name": f"{ATLAS_BASE}_{resolution}um", "brainglobe_dir": str(bg_dir),
            "bgcompat": str(BGCOMPAT), "size": list(render.get("size", [1600, 1200])),
            "background": _hex(render.get("background", "white")), "camera": camera, "actors": actors}


# --------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------


def run_once(cmd: list[str], env: dict, logfile: Path) -> dict:
    """One fresh process: wall seconds, peak RSS (its own rusage via wait4), phases."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    text = logfile.read_text(errors="replace")
    phases = {}
    for line in text.splitlines():
        if line.startswith("BENCH_PHASES "):
            phases = json.loads(line.split(" ", 1)[1])
    return {"wall": wall, "rss": usage.ru_maxrss / 1024, "code": code, "phases": phases,
            "tail": "\n".join(text.strip().splitlines()[-6:])}


def scenerender_accepts(scene_file: Path) -> tuple[bool, str]:
    exe = Path(sys.executable).with_name("scenerender")
    proc = subprocess.run([str(exe), "validate", str(scene_file)], capture_output=True, text=True, cwd=REPO)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def commands(case: str, scene_file: Path, spec_file: Path, images: Path) -> dict[str, list[str]]:
    sr = str(Path(sys.executable).with_name("scenerender"))
    return {
        "scenerender": [sr, "render", str(scene_file), "-o", str(images / f"{case}_scenerender.png")],
        "brainrender": [str(brainrender_python()), str(RUNNERS / "brainrender_scene.py"), str(spec_file),
                        str(images / f"{case}_brainrender.png")],
        "vtk_floor": [sys.executable, str(RUNNERS / "floor_vtk.py"), str(spec_file),
                      str(images / f"{case}_vtk_floor.png")],
        "pyvista_floor": [sys.executable, str(RUNNERS / "floor_pyvista.py"), str(spec_file),
                          str(images / f"{case}_pyvista_floor.png")],
    }


def summarise(samples: list[dict]) -> dict:
    walls = [s["wall"] for s in samples]
    phase_names = [k for k in samples[0]["phases"] if k != "tool_version"]
    phases = {k: round(statistics.median(s["phases"].get(k, float("nan")) for s in samples), 3)
              for k in phase_names}
    return {"status": "ok", "median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls),
            "walls_s": [round(w, 3) for w in walls], "peak_rss_mib": max(s["rss"] for s in samples),
            "median_rss_mib": statistics.median(s["rss"] for s in samples), "phases_median_s": phases}


def measure_case(case: str, tools: list[str], runs: int, resolution: int, bg_dir: Path, config_dir: Path,
                 env_extra: dict, suffix: str) -> dict:
    scene, scene_file = resolved_scene(case, resolution, bg_dir)
    camera = scenerender_camera(scene)
    spec = case_spec(scene, resolution, bg_dir, camera)
    spec_file = CACHE / "cases" / f"{resolution}um" / f"{case}.json"
    spec_file.write_text(json.dumps(spec, indent=1))
    images = RESULTS / f"images{suffix}"
    images.mkdir(parents=True, exist_ok=True)
    cmds = commands(case, scene_file, spec_file, images)
    env = {**os.environ, "BRAINGLOBE_CONFIG_DIR": str(config_dir), **env_extra}
    # As on a user's machine: modules are byte-compiled once (the warm-up run
    # writes scenerender's __pycache__), not compiled from source every run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    result = {"scene": str(SCENES.relative_to(REPO) / f"{case}.yaml"), "camera": camera, "tools": {}}
    active = []
    for tool in tools:
        entry = {"cmd": " ".join(cmds[tool])}
        if tool == "scenerender":
            ok, message = scenerender_accepts(scene_file)
            if not ok:
                entry.update(status="skipped", note="not yet supported by this scenerender: "
                             "'scenerender validate' rejects the scene: " + " | ".join(message.splitlines()[:3]))
                result["tools"][tool] = entry
                log(f"  {case}: scenerender skipped ({entry['note']})")
                continue
        image = images / f"{case}_{tool}.png"
        image.unlink(missing_ok=True)
        warm = run_once(cmds[tool], env, RESULTS / "logs" / f"{case}{suffix}_{tool}.log")  # warms the file cache
        if warm["code"] != 0 or not image.exists():
            entry.update(status="failed", note=f"exit {warm['code']}: {warm['tail']}")
            result["tools"][tool] = entry
            log(f"  {case}: {tool} FAILED (exit {warm['code']}):\n    " + warm["tail"].replace("\n", "\n    "))
            continue
        entry["tool_version"] = warm["phases"].get("tool_version")
        entry["image"] = str(image.relative_to(REPO))
        result["tools"][tool] = entry
        active.append(tool)
    samples: dict[str, list[dict]] = {t: [] for t in active}
    for i in range(runs):
        order = active[i % len(active):] + active[:i % len(active)] if active else []
        for tool in order:
            s = run_once(cmds[tool], env, RESULTS / "logs" / f"{case}{suffix}_{tool}.log")
            if s["code"] != 0:
                result["tools"][tool].update(status="failed", note=f"run {i}: exit {s['code']}: {s['tail']}")
                break
            samples[tool].append(s)
        log(f"  {case}: run {i + 1}/{runs}: " + ", ".join(
            f"{t} {samples[t][-1]['wall']:.2f}s" for t in order if samples[t]))
    for tool in active:
        if result["tools"][tool].get("status") != "failed" and samples[tool]:
            result["tools"][tool].update(summarise(samples[tool]))
    result["ratios"] = ratios(result["tools"])
    result["ratios"].update(paired_ratios(result["tools"]))
    return result


def paired_ratios(tools: dict) -> dict:
    """Ratios within each round (the tools ran back to back; ``walls_s[i]`` is
    round i), median over rounds: less sensitive than ratios of medians to load
    that comes and goes."""
    def walls(t):
        return tools[t]["walls_s"] if tools.get(t, {}).get("status") == "ok" else []

    sr, br, vf = walls("scenerender"), walls("brainrender"), walls("vtk_floor")
    out = {}
    if sr and br:
        out["paired_scenerender_over_brainrender"] = statistics.median(a / b for a, b in zip(sr, br))
    if sr and vf:
        out["paired_scenerender_over_vtk_floor"] = statistics.median(a / b for a, b in zip(sr, vf))
        out["paired_scenerender_minus_vtk_floor_s"] = statistics.median(a - b for a, b in zip(sr, vf))
    return out


def ratios(tools: dict) -> dict:
    def med(t):
        e = tools.get(t, {})
        return e.get("median_s") if e.get("status") == "ok" else None

    sr, br, vf, pf = med("scenerender"), med("brainrender"), med("vtk_floor"), med("pyvista_floor")
    out = {}
    if sr and br:
        out["scenerender_over_brainrender"] = sr / br
    if sr and vf:
        out["scenerender_over_vtk_floor"] = sr / vf
        out["scenerender_minus_vtk_floor_s"] = sr - vf
    if sr and pf:
        out["scenerender_over_pyvista_floor"] = sr / pf
    if br and vf:
        out["brainrender_over_vtk_floor"] = br / vf
    return out


# --------------------------------------------------------------------------
# machine, report, images
# --------------------------------------------------------------------------


def machine() -> dict:
    info = {"node": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "cpus_usable": len(os.sched_getaffinity(0))}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "Hypervisor vendor"):
            m = re.search(rf"^{re.escape(key)}:\s*(.+)$", lscpu, re.M)
            if m:
                info[key.lower().replace(" ", "_").replace("(s)", "s")] = m.group(1).strip()
    except OSError:
        pass
    with open("/proc/meminfo") as fh:
        info["memory_gib"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    probe = ("import os\nif not os.environ.get('DISPLAY'): os.environ['VTK_DEFAULT_OPENGL_WINDOW']='vtkEGLRenderWindow'\n"
             "import vtkmodules.vtkRenderingOpenGL2\nfrom vtkmodules.vtkRenderingCore import vtkRenderWindow, vtkRenderer\n"
             "w=vtkRenderWindow(); w.SetOffScreenRendering(1); w.AddRenderer(vtkRenderer()); w.Render()\n"
             "import re; c=w.ReportCapabilities(); m=re.search(r'OpenGL renderer string:\\s*(.+)', c);"
             "v=re.search(r'OpenGL version string:\\s*(.+)', c)\n"
             "print((m.group(1).strip() if m else '?') + ' / ' + (v.group(1).strip() if v else '?'))")
    gl = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    info["opengl"] = gl.stdout.strip() or "unknown"
    return info


def versions() -> dict:
    from importlib.metadata import version

    out = {"scenerender": {}, "brainrender_env": {}}
    for pkg in ("scenerender", "pyvista", "vtk", "brainglobe-atlasapi", "numpy"):
        try:
            out["scenerender"][pkg] = version(pkg)
        except Exception:
            pass
    probe = ("import importlib.metadata as m, json\nd={}\n"
             "for p in ('brainrender','vedo','vtk','brainglobe-atlasapi','morphapi','numpy'):\n"
             "    try: d[p]=m.version(p)\n    except Exception: pass\nprint(json.dumps(d))")
    proc = subprocess.run([str(brainrender_python()), "-c", probe], capture_output=True, text=True) \
        if brainrender_python().exists() else None
    if proc is not None and proc.returncode == 0:
        out["brainrender_env"] = json.loads(proc.stdout)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "scenerender", "schemas"], capture_output=True,
                           text=True, cwd=REPO)
    out["scenerender_commit"] = git.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    return out


def cell(entry: dict) -> str:
    if entry.get("status") == "ok":
        return f"{entry['median_s']:.2f} ({entry['min_s']:.2f}-{entry['max_s']:.2f})"
    return entry.get("status", "-")


def table_text(report: dict) -> str:
    lines = [f"{'case':16} {'tool':14} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9}  status"]
    for case, res in report["cases"].items():
        for tool, e in res["tools"].items():
            if e.get("status") == "ok":
                lines.append(f"{case:16} {tool:14} {e['median_s']:9.2f} {e['min_s']:7.2f} {e['max_s']:7.2f} "
                             f"{e['peak_rss_mib']:9.0f}  ok")
            else:
                lines.append(f"{case:16} {tool:14} {'':>9} {'':>7} {'':>7} {'':>9}  {e.get('status')}: "
                             f"{e.get('note', '')[:110]}")
        r = res["ratios"]
        bits = []
        if "scenerender_over_brainrender" in r:
            bits.append(f"scenerender/brainrender {r['scenerender_over_brainrender']:.2f}x "
                        f"(paired {r['paired_scenerender_over_brainrender']:.2f}x)")
        if "scenerender_over_vtk_floor" in r:
            bits.append(f"scenerender/VTK floor {r['scenerender_over_vtk_floor']:.2f}x "
                        f"({r['scenerender_minus_vtk_floor_s']:+.2f} s per figure; paired "
                        f"{r['paired_scenerender_over_vtk_floor']:.2f}x, {r['paired_scenerender_minus_vtk_floor_s']:+.2f} s)")
        if "scenerender_over_pyvista_floor" in r:
            bits.append(f"scenerender/pyvista floor {r['scenerender_over_pyvista_floor']:.2f}x")
        if "brainrender_over_vtk_floor" in r:
            bits.append(f"brainrender/VTK floor {r['brainrender_over_vtk_floor']:.2f}x")
        if bits:
            lines.append(f"{'':16} " + "; ".join(bits))
    return "\n".join(lines)


def table_markdown(report: dict) -> str:
    tools = report["settings"]["tools"]
    br = report["versions"]["brainrender_env"].get("brainrender", "?")
    head = {"scenerender": "scenerender", "brainrender": f"brainrender {br}", "vtk_floor": "VTK floor",
            "pyvista_floor": "pyvista floor"}
    out = ["Wall time of the whole process, cold start to PNG, seconds: median (min-max) of "
           f"{report['settings']['runs']} runs. Ratios: of the medians, and in brackets the median over rounds "
           "of the ratio within a round (the tools ran back to back), which is less sensitive to load from "
           "other users.", "",
           "| case | " + " | ".join(head[t] for t in tools) + " | scenerender / brainrender | scenerender / VTK floor "
           "| scenerender - VTK floor |",
           "|---|" + "---|" * len(tools) + "---|---|---|"]
    for case, res in report["cases"].items():
        r = res["ratios"]
        row = [f"`{case}`"] + [cell(res["tools"].get(t, {})) for t in tools]
        row.append(f"{r['scenerender_over_brainrender']:.2f}x ({r['paired_scenerender_over_brainrender']:.2f}x)"
                   if "scenerender_over_brainrender" in r else "-")
        row.append(f"{r['scenerender_over_vtk_floor']:.2f}x ({r['paired_scenerender_over_vtk_floor']:.2f}x)"
                   if "scenerender_over_vtk_floor" in r else "-")
        row.append(f"{r['scenerender_minus_vtk_floor_s']:+.2f} s ({r['paired_scenerender_minus_vtk_floor_s']:+.2f} s)"
                   if "scenerender_minus_vtk_floor_s" in r else "-")
        out.append("| " + " | ".join(row) + " |")
    out += ["", "Peak RSS of the process (MiB, max over runs):", "", "| case | " + " | ".join(head[t] for t in tools) + " |", "|---|" + "---|" * len(tools)]
    for case, res in report["cases"].items():
        row = [f"`{case}`"] + [f"{res['tools'][t]['peak_rss_mib']:.0f}" if res["tools"].get(t, {}).get("status") == "ok"
                               else "-" for t in tools]
        out.append("| " + " | ".join(row) + " |")
    notes = [f"* `{case}` {t}: {e['status']}: {e.get('note', '')}" for case, res in report["cases"].items()
             for t, e in res["tools"].items() if e.get("status") != "ok"]
    if notes:
        out += [""] + notes
    out += phases_table(report, tools, "Phases (median seconds since process start, from the runners; "
                                       "scenerender is timed as a whole, see the profile below):")
    return "\n".join(out)


def phases_table(report: dict, tools, heading: str) -> list[str]:
    """Markdown lines: when each tool's runner reached each phase, per case."""
    out = ["", heading, "",
           "| case | tool | imports done | atlas + window | actors added | PNG written | process exit |",
           "|---|---|---|---|---|---|---|"]
    for case, res in report["cases"].items():
        for t in tools:
            e = res["tools"].get(t, {})
            p = e.get("phases_median_s") or {}
            if e.get("status") == "ok" and p:
                out.append(f"| `{case}` | {LABELS[t]} | {p.get('imports', float('nan')):.2f} | "
                           f"{p.get('scene', float('nan')):.2f} | {p.get('actors', float('nan')):.2f} | "
                           f"{p.get('png', float('nan')):.2f} | {e['median_s']:.2f} |")
    return out


def machine_markdown(report: dict) -> str:
    m, v = report["machine"], report["versions"]
    return (f"Machine: {m.get('model_name', platform.processor())}, {m.get('cpus_usable')} cores usable "
            f"({m.get('hypervisor_vendor', 'bare metal')} VM), {m.get('memory_gib')} GiB RAM, {m['platform']}, "
            f"Python {m['python']}; OpenGL: {m['opengl']}; shared with other users (load average "
            f"{report['load_before']:.2f} before, {report['load_after']:.2f} after; 1-minute load average). "
            f"brainrender's image: {'its defaults' if report['settings'].get('brainrender_msaa') != 'off' else 'multi-sampling off'}. "
            f"scenerender {v['scenerender'].get('scenerender', '?')} at {v['scenerender_commit']} with pyvista "
            f"{v['scenerender'].get('pyvista')}, vtk {v['scenerender'].get('vtk')}, brainglobe-atlasapi "
            f"{v['scenerender'].get('brainglobe-atlasapi')}; brainrender {v['brainrender_env'].get('brainrender')} "
            f"with vedo {v['brainrender_env'].get('vedo')}, vtk {v['brainrender_env'].get('vtk')}, "
            f"brainglobe-atlasapi {v['brainrender_env'].get('brainglobe-atlasapi')}, morphapi "
            f"{v['brainrender_env'].get('morphapi')}. Atlas: {report['settings']['atlas']}. "
            f"Run {report['date']}, `{report['settings']['command']}`.")


def side_by_side(case: str, res: dict, tools: list[str], out: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    panel_w, panel_h, bar = 800, 600, 40
    canvas = Image.new("RGB", (panel_w * len(tools), panel_h + bar), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=22)
    for i, tool in enumerate(tools):
        e = res["tools"].get(tool, {})
        x = i * panel_w
        label = LABELS[tool] + (f" {e['tool_version']}" if tool == "brainrender" and e.get("tool_version") else "")
        if e.get("status") == "ok" and e.get("image"):
            img = Image.open(REPO / e["image"]).convert("RGB")
            label += f": {img.width}x{img.height}, median {e['median_s']:.2f} s"
            img.thumbnail((panel_w, panel_h))
            canvas.paste(img, (x + (panel_w - img.width) // 2, bar + (panel_h - img.height) // 2))
        else:
            note = e.get("note", "not run")
            draw.multiline_text((x + 20, bar + 40), "\n".join(note[j:j + 70] for j in range(0, min(len(note), 420), 70)),
                                fill="black", font=font)
            label += f": {e.get('status', 'not run')}"
        draw.text((x + 10, 8), label, fill="black", font=font)
        if i:
            draw.line([(x, 0), (x, panel_h + bar)], fill="grey")
    canvas.save(out)


def update_readme(report: dict) -> None:
    """Replace the block between ``<!-- compare[SUFFIX]:start/end -->`` in
    bench/README.md (one block per atlas resolution / brainrender setting),
    or append it."""
    readme = BENCH / "README.md"
    text = readme.read_text()
    tag = "compare" + report["settings"].get("suffix", "")
    start, end = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
    block = (f"{start}\n<!-- generated by `{report['settings']['command']} --update-readme`; do not edit -->\n\n"
             f"{machine_markdown(report)}\n\n{table_markdown(report)}\n{end}")
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    readme.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool and case (default 5)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--resolution", type=int, choices=(100, 50, 25), default=100,
                        help="atlas resolution in um: 100 is scenerender's embedded atlas; 50 and 25 are built "
                             "once with tools/build_embedded_atlas.py and cached in bench/.cache")
    parser.add_argument("--brainrender-spec", default=DEFAULT_BRAINRENDER,
                        help=f"pip requirement for brainrender's environment (default {DEFAULT_BRAINRENDER})")
    parser.add_argument("--brainrender-msaa", choices=("default", "off"), default="default",
                        help="'off' turns brainrender's 8x multi-sampling off; on Mesa its default (multi-sampling "
                             "with depth peeling) drops translucent surfaces, i.e. the root")
    parser.add_argument("--tag", help="suffix for this run's result files (and README block), e.g. to keep a "
                        "partial run from replacing the full one")
    parser.add_argument("--update-readme", action="store_true", help="publish the tables in bench/README.md")
    parser.add_argument("--from-json", type=Path, help="measure nothing: print (and with --update-readme "
                        "publish) the tables of an earlier run's JSON")
    args = parser.parse_args(argv)
    if args.from_json:
        report = json.loads(args.from_json.read_text())
        m = re.fullmatch(r"compare(.*)\.json", args.from_json.name)
        report["settings"].setdefault("suffix", m.group(1) if m else "")
        for res in report["cases"].values():
            res["ratios"] = {**ratios(res["tools"]), **paired_ratios(res["tools"])}
        log(table_text(report))
        if args.update_readme:
            update_readme(report)
            log("bench/README.md updated")
        return 0

    br_version = ensure_brainrender(args.brainrender_spec) if "brainrender" in args.tools else None
    bg_dir, config_dir = prepare_brainglobe(args.resolution)
    make_points(CACHE / "data" / "points_100k.npy")
    suffix = ("" if args.resolution == 100 else f"_{args.resolution}um") + \
        ("_brainrender-msaa-off" if args.brainrender_msaa == "off" else "") + (f"_{args.tag}" if args.tag else "")
    env_extra = {"BENCH_BR_MSAA": "0"} if args.brainrender_msaa == "off" else {}
    RESULTS.mkdir(exist_ok=True)
    atlas = (f"{ATLAS_BASE}_100um (scenerender/embedded_atlas)" if args.resolution == 100
             else f"{ATLAS_BASE}_25um (bench/atlas25.py: the real 25 um Allen annotation, its ontology cut to the "
                  "cases' 23 structures and their ancestors)" if args.resolution == 25
             else f"{ATLAS_BASE}_{args.resolution}um (tools/build_embedded_atlas.py --resolution {args.resolution})")
    report = {"date": dt.datetime.now().isoformat(timespec="seconds"),
              "settings": {"runs": args.runs, "tools": args.tools, "resolution_um": args.resolution, "atlas": atlas,
                           "brainrender_spec": args.brainrender_spec, "brainrender_msaa": args.brainrender_msaa,
                           "suffix": suffix,
                           "command": " ".join(["python bench/compare.py", *(a for a in (argv if argv is not None else
                                                                                          sys.argv[1:]) if a != "--update-readme")])},
              "machine": machine(), "versions": versions(), "load_before": os.getloadavg()[0], "cases": {}}
    log(f"brainrender {br_version}; atlas {atlas}; {args.runs} runs; machine {report['machine'].get('model_name')}, "
        f"{report['machine']['cpus_usable']} cores, OpenGL {report['machine']['opengl']}")
    for case in args.cases:
        log(f"case {case}")
        res = measure_case(case, args.tools, args.runs, args.resolution, bg_dir, config_dir, env_extra, suffix)
        report["cases"][case] = res
        out = RESULTS / f"{case}{suffix}_side_by_side.png"
        side_by_side(case, res, args.tools, out)
        res["side_by_side"] = str(out.relative_to(REPO))
    report["load_after"] = os.getloadavg()[0]
    (RESULTS / f"compare{suffix}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"compare{suffix}.md").write_text(machine_markdown(report) + "\n\n" + table_markdown(report) + "\n")
    log("")
    log(table_text(report))
    log(f"\nJSON: bench/results/compare{suffix}.json; tables: bench/results/compare{suffix}.md; "
        f"images: bench/results/*{suffix}_side_by_side.png")
    if args.update_readme:
        update_readme(report)
        log("bench/README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
