"""``kind: root`` - the whole brain, as the atlas root region's mesh."""

from __future__ import annotations

from ..atlas import RegionNotFound
from ..plan import SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext

KIND = "root"


def build(spec: dict, *, ctx: BuildContext) -> list[SurfacePlan]:
    """The root mesh with the spec's colour and alpha."""
    try:
        points, faces = ctx.atlas.region_mesh(ctx.atlas.root_id)
    except RegionNotFound as err:
        raise ctx.fail(("kind",), str(err)) from None
    return [SurfacePlan(name="root", points=atlas_to_world(points), faces=faces,
                      color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]))]
