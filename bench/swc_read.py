"""Reading a large SWC: the numpy section builder vs MorphIO, in one run.

    python bench/swc_read.py                 # 2,000,000 nodes
    python bench/swc_read.py --nodes 500000
    python bench/swc_read.py --shape star     # shallow: MorphIO copes

Writes a synthetic neuron (a soma, then chains of 40 nodes that branch in
two) to a temporary file and reads it in fresh child processes: once with
``scenerender.sources.neuron._read_swc`` (checked rows, then sections built
with numpy) and once with MorphIO (the reader before issue 14's follow-up),
reporting wall time and peak RSS of each and their ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
path, how = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if how == "scenerender":
    from scenerender.sources.neuron import _read_swc
    soma, branches, nodes, _, _ = _read_swc(path)
    count = len(branches)
else:
    import morphio
    morphio.set_maximum_warnings(0)
    morph = morphio.Morphology(path, options=morphio.Option.nrn_order)
    branches = [(sec.points, int(sec.type)) for sec in morph.iter()]
    count = len(branches)
print(json.dumps({"seconds": time.perf_counter() - start, "sections": count,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_swc(path: Path, nodes: int, chain: int = 40, shape: str = "deep") -> None:
    ids = np.arange(1, nodes + 1)
    parents = ids - 1
    starts = np.arange(chain, nodes, chain)
    if shape == "deep":  # each chain of `chain` nodes hangs off the middle of the chain before: deep
        parents[starts] = starts - chain // 2
    else:  # "star": every chain hangs off the first neurite node: two levels of sections
        parents[starts] = 2
    parents[0] = -1
    kinds = np.where(ids == 1, 1, 3)
    xyz = np.c_[6600 + (ids % 997) * 0.5, 4000 + (ids % 991) * 0.5, 5700 + (ids % 983) * 0.5]
    rows = np.c_[ids, kinds, xyz, np.ones(nodes), parents]
    np.savetxt(path, rows, fmt="%d %d %.2f %.2f %.2f %.1f %d")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2_000_000)
    parser.add_argument("--shape", choices=["deep", "star"], default="deep",
                        help="deep: sections nest nodes/80 deep (MorphIO recursed and crashed); star: 2 levels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.swc"
        write_swc(path, args.nodes, shape=args.shape)
        print(f"{args.nodes:,} nodes ({args.shape}), {path.stat().st_size / 1024**2:.0f} MiB of SWC")
        results = {}
        for how in ("morphio", "scenerender"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(path), how], capture_output=True, text=True)
            if out.returncode:
                print(how, "failed, status", out.returncode, out.stderr.strip().splitlines()[-1:])
                continue
            results[how] = json.loads(out.stdout)
            r = results[how]
            print(f"{how:12s} {r['seconds']:6.1f} s  {r['rss_mib']:6.0f} MiB peak RSS  {r['sections']:,} sections")
        if len(results) == 2:
            a, b = results["scenerender"], results["morphio"]
            print(f"ratio scenerender/morphio: time {a['seconds'] / b['seconds']:.2f}, RSS {a['rss_mib'] / b['rss_mib']:.2f}")


if __name__ == "__main__":
    main()
