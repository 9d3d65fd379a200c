"""Start-up of the commands that draw nothing, and where a cold render's time goes.

    python bench/import_time.py [--runs 5]

Part 1, per command (each a fresh process, median of --runs, after one warm-up):
whole-process wall time, its ratio to the bare interpreter (``python -c pass``)
measured in the same run, the import time ``python -X importtime`` reports for
the same command (sum of top-level imports), and which heavy packages it
imported (VTK, pyvista, dask, zarr, brainglobe_atlasapi, numpy, jsonschema).
Target: at most 0.5 s whole-process on a quiet machine for every command above
the render.

Part 2, the cold quick start render in one fresh process, by stage: imports
(scenerender's render path, pyvista/VTK, brainglobe-atlasapi), reading and
checking the scene, opening the atlas, building the actors (meshes), drawing,
writing the PNG with its record.

Writes bench/results/import_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("vtkmodules", "pyvista", "dask", "zarr", "brainglobe_atlasapi", "numpy", "jsonschema")

STAGES = r"""
import json, sys, time
t = {}
t0 = time.perf_counter()
import scenerender
from scenerender.compile import compile_scene, load_scene, _open_atlas
from scenerender.images import write_image
from scenerender.provenance import record_for, render_options
from scenerender.renderer import render_plan
import pyvista, brainglobe_atlasapi
t["imports"] = time.perf_counter() - t0
s = time.perf_counter(); scene = load_scene(sys.argv[1]); t["read + check scene"] = time.perf_counter() - s
cache = {}
s = time.perf_counter(); _open_atlas(scene, cache); t["open atlas"] = time.perf_counter() - s
s = time.perf_counter(); plan = compile_scene(scene, atlas_cache=cache); t["actors, meshes, camera"] = time.perf_counter() - s
s = time.perf_counter(); image = render_plan(plan); t["draw"] = time.perf_counter() - s
from pathlib import Path
out = Path(sys.argv[2])
s = time.perf_counter()
write_image(image, out, record=record_for(scene, out, command=["bench"], options=render_options(output=out, size=None, scale=None)))
t["write PNG + record"] = time.perf_counter() - s
t["total in process"] = time.perf_counter() - t0
print(json.dumps(t))
"""


def _wall(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(cmd)}\n{result.stderr[-2000:]}")
    return wall


def _imports(cmd: list[str], env: dict) -> tuple[float, list[str]]:
    """Total top-level import time (s) and the heavy packages imported, from -X importtime."""
    result = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=REPO, env=env, capture_output=True, text=True)
    total, seen = 0, set()
    for line in result.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        if len(m.group(2)) == 1:  # a top-level import: its cumulative time
            total += int(m.group(1))
        seen.add(m.group(3).strip().split(".")[0])
    return total / 1e6, [h for h in HEAVY if h in seen]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scene", default="scenes/quickstart.yaml")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    py = sys.executable
    sr = [py, "-m", "scenerender"]
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "fig.png"
        subprocess.run([*sr, "render", "scenes/minimal.yaml", "-o", str(png), "--size", "64x48"], cwd=REPO, env=env,
                       check=True, capture_output=True)
        commands = [
            ("python -c pass (baseline)", [py, "-c", "pass"]),
            ("scenerender --help", [*sr, "--help"]),
            ("scenerender schema", [*sr, "schema"]),
            ("scenerender schema --kind region", [*sr, "schema", "--kind", "region"]),
            ("scenerender provenance fig.png", [*sr, "provenance", str(png)]),
            ("scenerender validate --schema-only", [*sr, "validate", "--schema-only", args.scene]),
            ("scenerender atlas list", [*sr, "atlas", "list"]),
            ("scenerender atlas info embedded", [*sr, "atlas", "info", "embedded"]),
            ("scenerender validate (resolves)", [*sr, "validate", args.scene]),
            ("scenerender render quickstart", [*sr, "render", args.scene, "-o", str(Path(tmp) / "q.png")]),
        ]
        rows = []
        for name, cmd in commands:
            _wall(cmd, env)  # warm the file cache
            walls = [_wall(cmd, env) for _ in range(args.runs)]
            imp, heavy = _imports(cmd, env)
            rows.append({"command": name, "median_s": statistics.median(walls), "min_s": min(walls),
                         "importtime_s": imp, "heavy": heavy})
        stages = json.loads(subprocess.run([py, "-c", STAGES, args.scene, str(Path(tmp) / "s.png")], cwd=REPO, env=env,
                                           check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    base = rows[0]["median_s"]
    load = os.getloadavg()[0]
    print(f"{platform.node()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.1f}; "
          f"{args.runs} runs each (median)")
    print(f"| command | median s | min s | / python | -X importtime s | heavy imports |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['command']} | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['median_s'] / base:.1f} | "
              f"{r['importtime_s']:.2f} | {', '.join(r['heavy']) or '-'} |")
    print(f"\ncold {args.scene} render, one fresh process, by stage:")
    print("| stage | s |\n|---|---|")
    for stage, seconds in stages.items():
        print(f"| {stage} | {seconds:.2f} |")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "import_time.json").write_text(json.dumps({"machine": platform.uname()._asdict(), "load_average": load,
                                                      "commands": rows, "render_stages": stages}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
