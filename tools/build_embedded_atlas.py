#!/usr/bin/env python
"""Rebuild scenerender's embedded Allen mouse atlas (a thin wrapper).

The atlas is described by the recipe ``recipes/allen_mouse_scenerender_100um.yaml``
and built by ``scenerender atlas build``; this script is the same command
with two conveniences kept for older scripts:

    python tools/build_embedded_atlas.py                    # = scenerender atlas build recipes/allen_mouse_scenerender_100um.yaml
    python tools/build_embedded_atlas.py --resolution 50 --out bench/.cache/atlas-50um

``--resolution`` overrides the recipe's ``output_resolution`` (a multiple
of 25), ``--out`` its ``output``, ``--data`` the folder of the Allen files
and ``--processes`` its ``meshes.processes``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPE = REPO_ROOT / "recipes" / "allen_mouse_scenerender_100um.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder with annotation_25.nrrd and structure_graph.json "
                                                  "(default: the recipe's, ../shared/data/allen_ccf_2017)")
    parser.add_argument("--resolution", type=int, help="target resolution in um, a multiple of 25 (default 100)")
    parser.add_argument("--out", type=Path, help="output folder; the atlas goes to <out>/brainglobe-atlasapi "
                                                 "(default: scenerender/embedded_atlas)")
    parser.add_argument("--processes", type=int, help="processes for mesh construction (default 2; 1 = serial)")
    args = parser.parse_args(argv)
    if args.resolution not in (None, 100) and args.out is None:
        parser.error("--resolution other than 100 needs --out: the embedded atlas folder holds the 100 um atlas, "
                     "whose components share their names with any other resolution's")

    sys.path.insert(0, str(REPO_ROOT))
    from scenerender.atlas_build import build, load_recipe
    from scenerender.document import read_scene_text
    from scenerender.errors import SceneError

    doc = read_scene_text(RECIPE.read_text(encoding="utf-8"), file=str(RECIPE), base_dir=RECIPE.parent)
    if args.resolution is not None:
        doc.data["output_resolution"] = args.resolution
    if args.data is not None:
        data = args.data.resolve()
        doc.data["annotation"] = str(data / Path(doc.data["annotation"]).name)
        doc.data["structures"]["path"] = str(data / Path(doc.data["structures"]["path"]).name)
    try:
        result = build(load_recipe(doc), args.out, processes=args.processes,
                       log=lambda msg: print(msg, file=sys.stderr))
    except SceneError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 2
    print(f"built {result.atlas_name} in {result.output}: {result.n_structures} structures, "
          f"{result.n_meshes} meshes, {result.timings['total']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
