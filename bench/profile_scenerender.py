"""Where a cold ``scenerender render`` spends its time.

    python bench/profile_scenerender.py [--scene bench/scenes/root_10_regions.yaml] [--runs 3]

Diagnoses the cold single-figure render that bench/compare.py times, in
three views of the same command, each a fresh process:

1. whole process vs. the CLI's own run (``runpy`` of ``scenerender`` inside
   a wrapper, no profiler), and that wrapper ending normally vs. in
   ``os._exit`` right after the PNG is written: the difference is the
   interpreter's teardown of the imported modules at exit;
2. ``python -X importtime``: import time by top-level package, and the
   heaviest packages imported underneath brainglobe_atlasapi and pyvista;
3. ``cProfile``: cumulative time of the pipeline stages (functions looked up
   by module and name; stages whose function is not found are shown as
   n/a), of every ``vtkRenderWindow.Render`` call and of PNG writing.
   cProfile slows Python code down (roughly 1.3-1.5x), not VTK's C++.

Scenes with relative data paths are read from where they are (bench/scenes
expects bench/.cache/data from compare.py for the points case). Writes
bench/results/profile_scenerender.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

# The CLI's main() returns the exit status (its console entry point may end
# the process itself with os._exit, which would skip the report below).
WRAPPER = """import sys, time
t0 = time.perf_counter()
from scenerender.cli import main
code = main(["render", {scene!r}, "-o", {out!r}])
sys.stderr.write("INPROC %.4f\\n" % (time.perf_counter() - t0))
if {fast_exit!r}:
    import os
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(code)
sys.exit(code)
"""

# (label, module path suffix, function name); summed when several match.
STAGES = [
    ("read + validate the scene (load_scene)", "scenerender/compile.py", "load_scene"),
    ("open the atlas (open_bg_atlas, incl. importing brainglobe_atlasapi)", "scenerender/atlas.py", "open_bg_atlas"),
    ("  of which BrainGlobe Atlas.__init__ (terminology, structure tree)", "brainglobe_atlasapi/core.py", "__init__"),
    ("build actors (scenerender/actors/*.build)", "scenerender/actors/", "build"),
    ("compile_scene in all", "scenerender/compile.py", "compile_scene"),
    ("create plotter + anti-aliasing/peeling setup (_plotter)", "scenerender/renderer.py", "_plotter"),
    ("  of which pyvista check_depth_peeling (draws once)", "pyvista/plotting/utilities/gl_checks.py",
     "check_depth_peeling"),
    ("add actors to the plotter (_add_*)", "scenerender/renderer.py", "_add_"),
    ("draw + read pixels (_capture)", "scenerender/renderer.py", "_capture"),
    ("write the PNG (images.write_image)", "scenerender/images.py", "write_image"),
    ("render_plan in all", "scenerender/renderer.py", "render_plan"),
]


def whole_and_inproc(scene: str, runs: int) -> dict:
    """Interleaved: the CLI; the CLI in a wrapper that reports its in-process
    time and exits normally; the same wrapper ending in os._exit (no teardown)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/out.png"
        exe = str(Path(sys.executable).with_name("scenerender"))
        subprocess.run([exe, "render", scene, "-o", out], check=True, capture_output=True)  # warm the file cache
        whole, inproc, normal, fast = [], [], [], []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([exe, "render", scene, "-o", out], check=True, capture_output=True)
            whole.append(time.perf_counter() - t)
            for fast_exit, walls in ((False, normal), (True, fast)):
                t = time.perf_counter()
                proc = subprocess.run([sys.executable, "-c", WRAPPER.format(scene=scene, out=out, fast_exit=fast_exit)],
                                      check=True, capture_output=True, text=True)
                walls.append(time.perf_counter() - t)
                if not fast_exit:
                    inproc.append(float(re.search(r"INPROC ([\d.]+)", proc.stderr).group(1)))
    return {"whole_median_s": statistics.median(whole), "cli_median_s": statistics.median(inproc),
            "wrapper_normal_exit_median_s": statistics.median(normal),
            "wrapper_os_exit_median_s": statistics.median(fast),
            "exit_teardown_s": statistics.median(n - f for n, f in zip(normal, fast))}


def import_times(scene: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                               WRAPPER.format(scene=scene, out=f"{tmp}/o.png", fast_exit=False)],
                              capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)) / 1e6, (len(m.group(3)) - 1) // 2, m.group(4)))
    top: dict[str, float] = {}
    for cum, depth, name in rows:
        if depth == 0:
            root = name.split(".")[0]
            top[root] = top.get(root, 0.0) + cum
    # Heaviest third-party packages pulled in by brainglobe_atlasapi and pyvista: in each top-level
    # block, the first package of another project on every import chain. importtime prints a
    # module after the modules it imported (one nesting level deeper), so a block read backwards
    # lists each parent before its children.
    under: dict[str, dict[str, float]] = {"brainglobe_atlasapi": {}, "pyvista": {}}
    block: list[tuple[float, int, str]] = []
    for cum, depth, name in rows:
        block.append((cum, depth, name))
        if depth != 0:
            continue
        owner = name.split(".")[0]
        if owner in under:
            stack: list[tuple[int, str]] = []
            for c, d, n in reversed(block):
                while stack and stack[-1][0] >= d:
                    stack.pop()
                root = n.split(".")[0]
                if root != owner and all(a.split(".")[0] == owner for _, a in stack):
                    under[owner][root] = under[owner].get(root, 0.0) + c
                stack.append((d, n))
        block = []
    return {"total_s": sum(top.values()), "by_package_s": dict(sorted(top.items(), key=lambda kv: -kv[1])),
            "under_s": {k: dict(sorted(v.items(), key=lambda kv: -kv[1])[:8]) for k, v in under.items()}}


def profile_stages(scene: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        prof = f"{tmp}/render.prof"
        statement = f"from scenerender.cli import main; main(['render', {scene!r}, '-o', {tmp + '/o.png'!r}])"
        code = f"import cProfile\ncProfile.run({statement!r}, {prof!r})\n"
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
        stats = pstats.Stats(prof).stats
    out = {}
    for label, path, func in STAGES:
        total = None
        for (filename, _, name), (_, _, _, cum, _) in stats.items():
            if path in filename.replace(os.sep, "/") and (name == func or (func.endswith("_") and name.startswith(func))):
                total = (total or 0.0) + cum
        out[label] = total
    renders = [(n, cum) for (f, _, name), (n, _, _, cum, _) in stats.items() if "method 'Render' of" in name]
    out["vtkRenderWindow.Render calls (count, total s)"] = (sum(n for n, _ in renders), sum(c for _, c in renders))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default=str(BENCH / "scenes" / "root_10_regions.yaml"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    scene = str(Path(args.scene).resolve())
    os.chdir(REPO)
    timing = whole_and_inproc(scene, args.runs)
    imports = import_times(scene)
    stages = profile_stages(scene)
    print(f"scenerender render {Path(scene).relative_to(REPO)}  ({args.runs} runs, medians)")
    print(f"  whole process (scenerender render)       {timing['whole_median_s']:6.2f} s")
    print(f"  the CLI's run, in-process                {timing['cli_median_s']:6.2f} s")
    print(f"  wrapper process, normal exit             {timing['wrapper_normal_exit_median_s']:6.2f} s")
    print(f"  wrapper process, os._exit after the PNG  {timing['wrapper_os_exit_median_s']:6.2f} s")
    print(f"  => interpreter teardown at exit          {timing['exit_teardown_s']:6.2f} s (median of paired differences)")
    print(f"\nimports (python -X importtime, one run): {imports['total_s']:.2f} s")
    for pkg, s in list(imports["by_package_s"].items())[:10]:
        print(f"  {s:6.2f} s  {pkg}")
    for parent, kids in imports["under_s"].items():
        if kids:
            print(f"  under {parent}: " + ", ".join(f"{k} {v:.2f}" for k, v in kids.items()))
    print("\nstages (cProfile cumulative, one run; includes imports they trigger):")
    for label, value in stages.items():
        if isinstance(value, tuple):
            print(f"  {value[1]:6.2f} s  {label.replace('(count, total s)', '')}x{value[0]}")
        else:
            print(f"  {'   n/a' if value is None else f'{value:6.2f}'} s  {label}")
    RESULTS = BENCH / "results"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "profile_scenerender.json").write_text(json.dumps(
        {"scene": scene, "timing": timing, "imports": imports, "stages": stages}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
