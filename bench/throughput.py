"""Issue 20's throughput benchmarks, one after another, in one command.

    .venv/bin/python bench/throughput.py                  # every step, README tables refreshed
    .venv/bin/python bench/throughput.py --only batch video

Steps (each its own script, each with interleaved runs and ratios taken within
its own run; see bench/README.md "Throughput"):

* ``compare25``: root + 10 regions and 100k points on the 25 um Allen atlas
  (``bench/atlas25.py`` packages it once, ~35 min here) vs the VTK and pyvista
  floors, 3 runs;
* ``batch``: 40 small scenes, ``--jobs 1`` / ``--jobs 2`` with the warm worker
  service and with own (cold) workers, and Dask, 3 repeats;
* ``compare``: the four cold cases (brain alone, 10 regions, 100k points, a
  MouseLight neuron) at 100 um: scenerender, brainrender 2.2.2 and the VTK and
  pyvista floors, 3 runs;
* ``video``: the 120-frame 1920x1080 orbit, ``--jobs 1`` and ``--jobs 2``
  against the pyvista floor;
* ``warm_loop``: 10 renders in one process, path vs plan vs the pyvista floor;
* ``points``: 100k, 1M and 5M points, scenerender vs brainrender vs the
  pyvista floor, under a memory cap, 2 runs.

``--only`` picks steps; ``compare25`` needs the 25 um atlas that
``bench/atlas25.py`` packages (about 35 minutes the first time). Not re-run by
this command: the anti-aliasing SSIM table (``bench/aa_quality.py``; its code
did not change).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
STEPS = {
    "compare25": ["atlas25.py"],
    "compare25_run": ["compare.py", "--resolution", "25", "--cases", "root_10_regions", "points_100k",
                      "--tools", "scenerender", "vtk_floor", "pyvista_floor", "--runs", "3", "--update-readme"],
    "batch": ["batch.py", "--update-readme"],
    "compare": ["compare.py", "--runs", "3", "--tag", "issue20", "--update-readme"],
    "video": ["video.py", "--frames", "120", "--tools", "scenerender", "pyvista_floor", "--jobs", "1", "2",
              "--update-readme"],
    "warm_loop": ["warm_loop.py", "--renders", "10", "--update-readme"],
    "points": ["points.py", "--cases", "points_100k", "points_1m", "points_5m", "--runs", "2", "--update-readme"],
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=[s for s in STEPS if not s.endswith("_run")])
    args = parser.parse_args(argv)
    chosen = args.only or [s for s in STEPS if not s.endswith("_run")]
    failed = []
    for step in STEPS:
        base = step.removesuffix("_run")
        if base not in chosen:
            continue
        start = time.perf_counter()
        print(f"== {step}: {' '.join(STEPS[step])}", file=sys.stderr, flush=True)
        code = subprocess.call([sys.executable, str(BENCH / STEPS[step][0]), *STEPS[step][1:]], cwd=BENCH.parent)
        print(f"== {step}: exit {code} after {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        if code:
            failed.append(step)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
