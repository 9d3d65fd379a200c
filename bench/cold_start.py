"""Cold start to first PNG, whole process, several runs.

    python bench/cold_start.py [--runs 5] [--scene scenes/quickstart.yaml]

Each case runs as a fresh process (nothing cached in memory between runs).
Cases, all measured in this run on this machine:

* ``python``: the interpreter alone (the process floor);
* ``imports``: importing pyvista and brainglobe-atlasapi, which any render
  of a BrainGlobe atlas must pay (the import floor);
* ``render``: ``scenerender render SCENE -o out.png``, the user's command.

Prints median/min/max wall time and peak RSS of each case, and the ratio of
``render`` to the floors; writes the same as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process (its own rusage via wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def measure(name: str, cmd: list[str], runs: int) -> dict:
    _run(cmd)  # warm the file cache once so every case sees the same disk state
    walls, peaks = [], []
    for _ in range(runs):
        wall, peak = _run(cmd)
        walls.append(wall)
        peaks.append(peak)
    return {"case": name, "median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls),
            "peak_rss_mib": max(peaks), "runs": runs, "cmd": " ".join(cmd)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scene", default="scenes/quickstart.yaml")
    args = parser.parse_args(argv)
    scenerender = str(Path(sys.executable).with_name("scenerender"))
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("python", [sys.executable, "-c", "pass"]),
            ("imports", [sys.executable, "-c", "import pyvista, brainglobe_atlasapi"]),
            ("render", [scenerender, "render", args.scene, "-o", f"{tmp}/out.png"]),
        ]
        results = [measure(name, cmd, args.runs) for name, cmd in cases]
    by = {r["case"]: r for r in results}
    print(f"cold start, {args.runs} runs each, {platform.node()} ({platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()})")
    print(f"{'case':10} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9}")
    for r in results:
        print(f"{r['case']:10} {r['median_s']:9.2f} {r['min_s']:7.2f} {r['max_s']:7.2f} {r['peak_rss_mib']:9.0f}")
    render = by["render"]["median_s"]
    print(f"render / imports floor: {render / by['imports']['median_s']:.2f}x   "
          f"render - imports: {render - by['imports']['median_s']:.2f} s (scene handling, atlas, drawing, PNG)")
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "cold_start.json").write_text(json.dumps({"machine": platform.uname()._asdict(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
