"""``kind: root`` - the whole brain, as the atlas root region's mesh."""

from __future__ import annotations

import numpy as np

from ..atlas import RegionNotFound
from ..plan import SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext

KIND = "root"


def build(spec: dict, *, ctx: BuildContext) -> list[SurfacePlan]:
    """The root mesh with the spec's colour and alpha."""
    try:
        points, faces = ctx.atlas.derived_mesh(("root shell",), lambda: _shell(ctx.atlas))  # once per atlas
    except RegionNotFound as err:
        raise ctx.fail(("kind",), str(err)) from None
    return [SurfacePlan(name="root", points=atlas_to_world(points), faces=faces,
                      color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]), **ctx.look(spec))]


def _shell(atlas) -> tuple[np.ndarray, np.ndarray]:
    # The root shares its surface with every cortical region; drawn exactly
    # there, a translucent root z-fights with them (speckled regions). A
    # quarter voxel outwards along the normals keeps it cleanly in front.
    import pyvista as pv

    points, faces = atlas.region_mesh(atlas.root_id)
    shell = pv.PolyData.from_regular_faces(points, faces).compute_normals(auto_orient_normals=True)
    points = np.asarray(shell.points) + shell.point_normals * (min(atlas.resolution) / 4)
    return points, np.asarray(shell.regular_faces, dtype=np.int64)
