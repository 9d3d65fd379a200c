"""A 25 um Allen atlas for the benchmarks, meshing only what the cases draw.

    .venv/bin/python bench/atlas25.py          # once; then compare.py --resolution 25 uses it

The full 25 um build (every structure meshed and packaged) takes hours here:
BrainGlobe's packager writes one full-volume mask per structure. The bench
cases draw only the root and ten regions (TH, STR, HIP, CB, VISp, MOs, CP,
OLF, MB, HY), so this script packages the real 25 um Allen CCFv3 2017
annotation with its ontology cut down to those structures and their
ancestors: every voxel keeps its label if that structure is kept, otherwise
it takes its nearest kept ancestor's (so each kept region covers exactly the
voxels it covers in the full annotation, descendants included, and the brain
mask is unchanged). Then ``tools/build_embedded_atlas.py --resolution 25``
builds it from those files into ``bench/.cache/atlas-25um`` (where
``compare.py --resolution 25`` looks), with one mesh process.

Inputs: ``../shared/data/allen_ccf_2017`` (annotation_25.nrrd,
structure_graph.json). Outputs (not committed): ``bench/.cache/allen25-cases/``
(the reduced inputs) and ``bench/.cache/atlas-25um/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = REPO.parent / "shared" / "data" / "allen_ccf_2017"
INPUTS = BENCH / ".cache" / "allen25-cases"
OUT = BENCH / ".cache" / "atlas-25um"
CASE_REGIONS = ("root", "TH", "STR", "HIP", "CB", "VISp", "MOs", "CP", "OLF", "MB", "HY")


def _walk(node, out, path=()):
    path = (*path, int(node["id"]))
    out.append((node, list(path)))
    for child in node.get("children", []):
        _walk(child, out, path)


def reduce_inputs() -> None:
    import nrrd

    graph = json.loads((DATA / "structure_graph.json").read_text())
    nodes: list[tuple[dict, list[int]]] = []
    for root in graph["msg"]:
        _walk(root, nodes)
    by_acronym = {n["acronym"]: n for n, _ in nodes}
    paths = {int(n["id"]): path for n, path in nodes}
    kept = {i for a in CASE_REGIONS for i in paths[by_acronym[a]["id"]]}

    def prune(node):
        children = [prune(c) for c in node.get("children", []) if c["id"] in kept]
        return {**{k: v for k, v in node.items() if k != "children"}, "children": children}

    INPUTS.mkdir(parents=True, exist_ok=True)
    (INPUTS / "structure_graph.json").write_text(json.dumps({**graph, "msg": [prune(r) for r in graph["msg"]]}))

    annotation, header = nrrd.read(str(DATA / "annotation_25.nrrd"))
    ids, inverse = np.unique(annotation, return_inverse=True)
    mapped = np.zeros(len(ids), dtype=annotation.dtype)
    for k, i in enumerate(ids):
        if i != 0:  # nearest kept ancestor (or itself)
            mapped[k] = next(p for p in reversed(paths[int(i)]) if p in kept)
    reduced = mapped[inverse.reshape(annotation.shape)]
    nrrd.write(str(INPUTS / "annotation_25.nrrd"), reduced, header={k: v for k, v in header.items()
                                                                     if k in ("space directions", "space")})
    print(f"{len(kept)} structures kept; {len(ids) - 1} labels -> {len(np.unique(reduced)) - 1}", file=sys.stderr)


def main() -> int:
    if any((OUT / "brainglobe-atlasapi" / "atlases").glob("*_25um/*/manifest.json")):
        print(f"already built: {OUT}", file=sys.stderr)
        return 0
    if not DATA.is_dir():
        print(f"{DATA} is missing; the 25 um atlas needs the Allen CCF files there", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    if not (INPUTS / "annotation_25.nrrd").exists():
        reduce_inputs()
    t1 = time.perf_counter()
    code = subprocess.call([sys.executable, str(REPO / "tools" / "build_embedded_atlas.py"), "--resolution", "25",
                            "--out", str(OUT), "--data", str(INPUTS), "--processes", "1"], cwd=REPO)
    print(f"reduce {t1 - t0:.1f} s, build {time.perf_counter() - t1:.1f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
