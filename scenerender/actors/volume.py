"""``kind: volume`` - a volume source as an isosurface or volume-rendered."""

from __future__ import annotations

import numpy as np

from ..plan import SurfacePlan, VolumePlan
from ..spaces import atlas_to_world, atlas_volume_to_world
from ._context import BuildContext

KIND = "volume"


def build(spec: dict, *, ctx: BuildContext) -> list:
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    data = ctx.source(spec["source"], ("volume",))
    name = f"volume {spec['source']}"
    values = data.values
    if spec["mode"] == "render":
        lo, hi = spec.get("range") or np.percentile(values, [50, 99.5])
        world_values, origin, spacing = atlas_volume_to_world(values, data.origin, data.spacing)
        return [VolumePlan(name=name, values=world_values, origin=tuple(origin), spacing=tuple(spacing),
                           cmap=ctx.cmap(spec["cmap"], ("cmap",)), clim=(float(lo), float(hi)),
                           alpha=float(spec["alpha"]))]
    threshold = spec.get("threshold")
    if threshold is None:
        threshold = (float(values.min()) + float(values.max())) / 2
    grid = pv.ImageData(dimensions=values.shape, spacing=tuple(data.spacing), origin=tuple(data.origin))
    grid.point_data["value"] = np.asarray(values, dtype=np.float32).ravel(order="F")
    surface = grid.contour([float(threshold)], scalars="value").triangulate()
    if surface.n_cells == 0:
        raise ctx.fail(("threshold",), f"no surface at threshold {threshold:g}: the volume spans "
                                       f"{float(values.min()):g}..{float(values.max()):g}")
    return [SurfacePlan(name=name, points=atlas_to_world(np.asarray(surface.points)),
                        faces=np.asarray(surface.regular_faces, dtype=np.int64),
                        color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]))]
