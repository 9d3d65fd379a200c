"""Memory per point: scenerender vs a plain pyvista script, from the peak RSS
of fresh processes drawing 100,000 and 1,000,000 points.

    .venv/bin/python bench/points_memory.py            # 3 rounds, 400x300 (memory, not drawing speed)
    .venv/bin/python bench/points_memory.py --update-readme

Each process draws the brain (alpha 0.2) and N red points of radius 20 um
(bench/.cache/data/points_{100k,1m}.npy, as compare.py and points.py make
them), once, offscreen, and reports its peak RSS (``ru_maxrss``):

* scenerender: ``scenerender.render(scene)`` (the default, ``auto``
  anti-aliasing);
* pyvista floor: ``np.load``, ``pv.PolyData``, ``add_mesh(style="points_gaussian")``,
  ``screenshot``: what bench/runners/floor_pyvista.py does.

Bytes per point = (peak at 1M - peak at 100k) / 900,000: the fixed cost
(imports, atlas, window) cancels. Rounds interleaved; medians reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare
from compare import CACHE, REPO, RESULTS, log

SIZE = (400, 300)
SCENERENDER = """
import resource, sys, scenerender
scenerender.render({{"version": 1, "sources": {{"cells": {{"kind": "points", "path": {path!r}}}}},
  "actors": [{{"kind": "root", "color": [204, 204, 204], "alpha": 0.2}},
             {{"kind": "points", "source": "cells", "radius": 20, "color": "red"}}],
  "camera": {{"preset": "three_quarters"}}, "render": {{"size": {size}, "background": "white"}}}})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
FLOOR = """
import os, resource, sys
if not os.environ.get("DISPLAY"): os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkEGLRenderWindow"
sys.path.insert(0, {runners!r})
from _common import FLIP, install_terminology_reader
install_terminology_reader({bgcompat!r})
import numpy as np, pyvista as pv
from brainglobe_atlasapi import BrainGlobeAtlas
atlas = BrainGlobeAtlas("allen_mouse_scenerender_100um", brainglobe_dir={bg!r}, check_latest=False)
p = pv.Plotter(off_screen=True, window_size={size})
p.set_background("white")
m = atlas.mesh_from_structure("root")
p.add_mesh(pv.PolyData.from_regular_faces(np.asarray(m.points, dtype=float) * FLIP, m.cells_dict["triangle"]),
           color=[0.8, 0.8, 0.8], opacity=0.2, smooth_shading=True)
a = p.add_mesh(pv.PolyData(np.load({path!r}).astype(float) * FLIP), color="red", style="points_gaussian",
               render_points_as_spheres=True, emissive=False)
a.mapper.SetScaleFactor(20)
p.screenshot()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    files = {100_000: CACHE / "data" / "points_100k.npy", 1_000_000: CACHE / "data" / "points_1m.npy"}
    for n, path in files.items():
        compare.make_points(path, n)
    from compare import BGCOMPAT, EMBEDDED_DIR, RUNNERS

    codes = {}
    for n, path in files.items():
        codes[("scenerender", n)] = SCENERENDER.format(path=str(path), size=list(SIZE))
        codes[("pyvista floor", n)] = FLOOR.format(path=str(path), size=list(SIZE), runners=str(RUNNERS),
                                                   bgcompat=str(BGCOMPAT), bg=str(EMBEDDED_DIR))
    peaks: dict = {key: [] for key in codes}
    keys = list(codes)
    for r in range(args.runs):
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:
            out = subprocess.run([sys.executable, "-c", codes[key]], capture_output=True, text=True, cwd=REPO,
                                 env={**os.environ, "PYTHONPATH": str(REPO)})
            if out.returncode != 0:
                raise SystemExit(f"{key} failed:\n{out.stderr[-2000:]}")
            peaks[key].append(int(out.stdout.split()[-1]) * 1024)
            log(f"round {r + 1}: {key} {peaks[key][-1] / 2**20:.0f} MiB")
    med = {key: statistics.median(v) for key, v in peaks.items()}
    rows = []
    for tool in ("scenerender", "pyvista floor"):
        per_point = (med[(tool, 1_000_000)] - med[(tool, 100_000)]) / 900_000
        rows.append({"tool": tool, "peak_100k_mib": med[(tool, 100_000)] / 2**20,
                     "peak_1m_mib": med[(tool, 1_000_000)] / 2**20, "bytes_per_point": per_point})
    report = {"runs": args.runs, "size": SIZE, "rows": rows, "peaks": {f"{k[0]} {k[1]}": v for k, v in peaks.items()},
              "load": os.getloadavg()[0]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "points_memory.json").write_text(json.dumps(report, indent=1))
    lines = ["| tool | peak RSS, 100k points (MiB) | peak RSS, 1M points (MiB) | bytes per point |", "|---|---|---|---|"]
    lines += [f"| {r['tool']} | {r['peak_100k_mib']:.0f} | {r['peak_1m_mib']:.0f} | {r['bytes_per_point']:.0f} |"
              for r in rows]
    text = "\n".join(lines)
    print(text)
    if args.update_readme:
        from points import update_readme_block

        update_readme_block("points_memory", "python bench/points_memory.py",
                            f"Median of {args.runs} interleaved rounds, {SIZE[0]}x{SIZE[1]}, fresh process each; "
                            f"1-minute load average {report['load']:.1f} at the end.\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
