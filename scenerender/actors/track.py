"""``kind: track`` - a track source (e.g. a probe) as a tube."""

from __future__ import annotations

from ..plan import SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext
from ._geometry import polyline_cells, tubes

KIND = "track"


def build(spec: dict, *, ctx: BuildContext) -> list[SurfacePlan]:
    data = ctx.source(spec["source"], ("track",))
    points, lines = polyline_cells(list(getattr(data, "lines", None) or (data.points,)))  # streamlines: many
    tube_points, faces, _ = tubes(points, lines, float(spec["radius"]), sides=16)
    return [SurfacePlan(name=f"track {spec['source']}", points=atlas_to_world(tube_points), faces=faces,
                        color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]))]
