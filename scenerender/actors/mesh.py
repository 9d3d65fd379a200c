"""``kind: mesh`` - a mesh source as a surface."""

from __future__ import annotations

from ..plan import SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext

KIND = "mesh"


def build(spec: dict, *, ctx: BuildContext) -> list[SurfacePlan]:
    data = ctx.source(spec["source"], ("mesh",))
    return [SurfacePlan(name=f"mesh {spec['source']}", points=atlas_to_world(data.points), faces=data.faces,
                        color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]), **ctx.look(spec))]
