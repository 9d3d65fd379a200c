"""``kind: cylinder`` - a cylinder between two points in atlas microns."""

from __future__ import annotations

import numpy as np

from ..plan import SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext

KIND = "cylinder"


def build(spec: dict, *, ctx: BuildContext) -> list[SurfacePlan]:
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    start, end = np.asarray(spec["start"], dtype=float), np.asarray(spec["end"], dtype=float)
    length = float(np.linalg.norm(end - start))
    if length == 0:
        raise ctx.fail(("end",), "start and end are the same point")
    cyl = pv.Cylinder(center=(start + end) / 2, direction=end - start, radius=float(spec["radius"]),
                      height=length, resolution=48, capping=True).triangulate()
    return [SurfacePlan(name="cylinder", points=atlas_to_world(np.asarray(cyl.points)),
                        faces=np.asarray(cyl.regular_faces, dtype=np.int64),
                        color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]), smooth=False)]
