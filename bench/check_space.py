#!/usr/bin/env python
"""Cost of the mapping report (``scenerender check-space``) on 100k labelled points.

    python bench/check_space.py [--points 100000] [--runs 3]

Builds a labelled cell table from the real brainglobe-heatmap cells in
../shared/data (resampled with 25 um jitter, each keeping its region label),
then times, in one process: first the report on a freshly opened atlas (cold:
it includes the one read of the atlas annotation this process makes), then,
interleaved, loading the source as a render does (the baseline) and the whole
report (load + inside/labelled fractions + scoring 53 other declarations).
Prints median/min/max and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "cells" / "heatmap_cell_counts.h5"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not DATA.exists():
        print(f"real data {DATA} is absent", file=sys.stderr)
        return 2
    import pandas as pd

    sys.path.insert(0, str(REPO))
    from scenerender.compile import _open_atlas, load_scene
    from scenerender.document import read_scene
    from scenerender.mapping_report import report_source
    from scenerender.sources import SourceContext, load_source

    cells = pd.read_hdf(DATA, "df")
    rng = np.random.default_rng(0)
    rows = cells.iloc[rng.integers(0, len(cells), args.points)].reset_index(drop=True)
    for c in "xyz":
        rows[c] = rows[c] + rng.normal(0, 25, len(rows))
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "cells.csv"
        rows[["x", "y", "z", "region"]].to_csv(table, index=False)
        scene_file = Path(tmp) / "scene.yaml"
        scene_file.write_text("version: 1\nsources:\n  cells: {kind: points, path: cells.csv, columns: [z, y, x], "
                              "region_column: region}\nactors:\n  - {kind: root}\n")
        scene = load_scene(read_scene(scene_file))
        atlas = _open_atlas(scene)
        spec = scene.spec["sources"]["cells"]
        t = time.perf_counter()
        report_source("cells", spec, doc=scene.doc, atlas=atlas)
        cold = time.perf_counter() - t
        load_times, report_times = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            ctx = SourceContext(doc=scene.doc, path=("sources", "cells"), atlas=atlas)
            try:
                load_source("cells", spec, ctx=ctx)
            except Exception:
                pass  # the wrong column order puts some cells outside; the read is what is timed
            load_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            report = report_source("cells", spec, doc=scene.doc, atlas=atlas)
            report_times.append(time.perf_counter() - t)
    fmt = lambda v: f"{statistics.median(v):.2f} s (min {min(v):.2f}, max {max(v):.2f})"  # noqa: E731
    print(f"{args.points} labelled points, {args.runs} runs, load average {Path('/proc/loadavg').read_text().split()[0]}")
    print(f"  first report, cold atlas:   {cold:.2f} s (reads the annotation once for the process)")
    print(f"  load the source (baseline): {fmt(load_times)}")
    print(f"  whole mapping report:       {fmt(report_times)}")
    print(f"  report / load: {statistics.median(report_times) / statistics.median(load_times):.2f}")
    print(f"  warning: {report.warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
