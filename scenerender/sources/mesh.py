"""``kind: mesh`` sources - surfaces from OBJ, STL, PLY, VTK or VTP files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..readers import read_mesh
from ._context import SourceContext

KIND = "mesh"
SUFFIXES = {".obj": "obj", ".stl": "stl", ".ply": "ply", ".vtk": "vtk", ".vtp": "vtp"}


@dataclass(frozen=True, eq=False)
class MeshData:
    """A triangle surface in atlas microns."""

    points: np.ndarray
    faces: np.ndarray


def load(spec: dict, *, ctx: SourceContext) -> MeshData:

    path, fmt = ctx.file(spec, SUFFIXES)
    try:  # pure numpy readers (PLY, OBJ, STL), or VTK behind count and index checks: no native crash
        vertices, faces = read_mesh(path, fmt)
    except Exception as err:
        raise ctx.unreadable(path, fmt, err) from None
    if len(faces) == 0:
        raise ctx.fail(f"{path.name!r} holds no surface triangles")
    points = ctx.to_atlas(spec, vertices, what="mesh vertices")
    faces = np.asarray(faces, dtype=np.int64)
    if ctx.space(spec).mirrors():
        faces = faces[:, ::-1]  # a mirroring map turns triangles inside out; keep normals outward
    return MeshData(points=points, faces=faces)
