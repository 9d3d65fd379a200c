"""``kind: line`` - a polyline through atlas points or a track source."""

from __future__ import annotations

import numpy as np

from ..plan import LinesPlan
from ..spaces import atlas_to_world
from ._context import BuildContext
from ._geometry import polyline_cells

KIND = "line"


def build(spec: dict, *, ctx: BuildContext) -> list[LinesPlan]:
    if "source" in spec:
        points = ctx.source(spec["source"], ("track",)).points
    else:
        points = np.asarray(spec["points"], dtype=float)
    stacked, lines = polyline_cells([points])
    return [LinesPlan(name=f"line {spec.get('source', '')}".strip(), points=atlas_to_world(stacked), lines=lines,
                      color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]), width=float(spec["width"]))]
