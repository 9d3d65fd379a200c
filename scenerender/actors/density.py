"""``kind: density`` - where the points of a source concentrate, as a surface.

Points are binned on the atlas voxel grid, smoothed with a Gaussian of
``bandwidth`` microns and contoured at ``level`` x the peak density.
"""

from __future__ import annotations

import numpy as np

from ..plan import SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext
from ._geometry import keep_in_regions

KIND = "density"


def build(spec: dict, *, ctx: BuildContext) -> list[SurfacePlan]:
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv
    from scipy.ndimage import gaussian_filter

    data = ctx.source(spec["source"], ("points",))
    points = data.points[keep_in_regions(ctx, data.points, spec.get("regions"))]
    if len(points) == 0:
        raise ctx.fail(("source",), "no points left to estimate a density from")
    res = np.array(ctx.atlas.resolution)
    shape = np.array(ctx.atlas.bg.shape)
    counts, _ = np.histogramdd(points, bins=shape, range=[(0, n * r) for n, r in zip(shape, res)])
    density = gaussian_filter(counts, sigma=float(spec["bandwidth"]) / res)
    grid = pv.ImageData(dimensions=density.shape, spacing=tuple(res), origin=tuple(res / 2))
    grid.point_data["density"] = density.ravel(order="F")
    surface = grid.contour([float(spec["level"]) * density.max()], scalars="density").triangulate()
    if surface.n_cells == 0:
        raise ctx.fail(("level",), "the density has no surface at this level; lower 'level' or widen 'bandwidth'")
    return [SurfacePlan(name=f"density {spec['source']}", points=atlas_to_world(np.asarray(surface.points)),
                        faces=np.asarray(surface.regular_faces, dtype=np.int64),
                        color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]))]
