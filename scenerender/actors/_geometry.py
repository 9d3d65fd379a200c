"""Small geometry helpers shared by actor kinds (all in atlas microns)."""

from __future__ import annotations

import numpy as np


def polyline_cells(polylines: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack polylines into (points, VTK line connectivity)."""
    points, cells, start = [], [], 0
    for line in polylines:
        n = len(line)
        points.append(line)
        cells.append(np.concatenate([[n], np.arange(start, start + n)]))
        start += n
    return np.concatenate(points), np.concatenate(cells).astype(np.int64)


def tubes(points: np.ndarray, lines: np.ndarray, radius: float, *, sides: int = 10,
          point_data: dict | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Triangulated tubes of ``radius`` around polylines; point data follows along."""
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    poly = pv.PolyData(points, lines=lines)
    for name, values in (point_data or {}).items():
        poly.point_data[name] = values
    tube = poly.tube(radius=radius, n_sides=sides, capping=True).triangulate()
    data = {name: np.asarray(tube.point_data[name]) for name in (point_data or {})}
    return np.asarray(tube.points, dtype=float), np.asarray(tube.regular_faces, dtype=np.int64), data


def sphere(centre, radius: float) -> tuple[np.ndarray, np.ndarray]:
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    s = pv.Sphere(radius=radius, center=tuple(centre), theta_resolution=24, phi_resolution=24)
    return np.asarray(s.points, dtype=float), np.asarray(s.regular_faces, dtype=np.int64)


def keep_in_regions(ctx, points: np.ndarray, regions: list | None, key=("regions",)) -> np.ndarray:
    """Boolean mask of points inside the listed regions (or their subregions)."""
    if not regions:
        return np.ones(len(points), dtype=bool)
    ids = [int(ctx.structure(ref, key + (i,))["id"]) for i, ref in enumerate(regions)]
    wanted = np.array(sorted(ctx.atlas.with_descendants(ids)))
    return np.isin(ctx.atlas.structure_ids_at(points), wanted)
