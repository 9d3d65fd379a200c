"""What camera presets frame: the points of the actors that are seen.

A preset fits the visible actors (surfaces, points, lines, volumes), not
just the brain's outline: a cut away half is not framed, and an orbit
frames every view it turns through.
"""

from __future__ import annotations

import numpy as np

from .plan import OVERLAYS, CutPlan, LinesPlan, PointsPlan, SurfacePlan, VolumePlan

#: Points kept per actor for framing (evenly strided; extremes are kept too).
MAX_POINTS = 200_000


def _thin(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(points) <= MAX_POINTS:
        return points
    extremes = np.concatenate([points.argmin(axis=0), points.argmax(axis=0)])
    return np.concatenate([points[:: len(points) // MAX_POINTS + 1], points[extremes]])


def _volume_points(plan: VolumePlan) -> np.ndarray:
    """Corners of the box holding the volume's voxels above the bottom of its colour range."""
    values = np.asarray(plan.values)
    shown = np.argwhere(values > plan.clim[0])
    if len(shown) == 0:
        return np.empty((0, 3))
    lo, hi = shown.min(axis=0), shown.max(axis=0)
    spacing, origin = np.asarray(plan.spacing, dtype=float), np.asarray(plan.origin, dtype=float)
    return np.array([origin + np.array([a, b, c]) * spacing
                     for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])


def visible_points(actors, *, states: dict | None = None) -> np.ndarray:
    """World points (N x 3) of what the actors draw, after cuts; empty if nothing is seen."""
    cuts = [plan for plan in actors if isinstance(plan, CutPlan)]
    chunks = []
    for index, plan in enumerate(actors):
        if isinstance(plan, OVERLAYS):
            continue
        state = (states or {}).get(index, {})
        if not state.get("visible", True):
            continue  # (a fully transparent actor is framed: it may fade in)
        if isinstance(plan, VolumePlan):
            points = _volume_points(plan)
        elif isinstance(plan, (SurfacePlan, PointsPlan, LinesPlan)):
            points = _thin(plan.points)
        else:
            continue
        for cut in cuts:
            if plan.group == cut.group or (cut.targets and plan.group not in cut.targets):
                continue
            # VTK keeps the side the normal points to
            points = points[(points - np.asarray(cut.origin)) @ np.asarray(cut.normal) >= 0]
        chunks.append(points)
    return np.concatenate(chunks) if chunks else np.empty((0, 3))


def orbit_points(points: np.ndarray, axis, degrees: float, *, steps: int = 24) -> np.ndarray:
    """``points`` with copies turned through an orbit about ``axis`` (through their centre),
    so a camera framed on them keeps every turned view inside the image."""
    from scipy.spatial.transform import Rotation

    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    turns = np.linspace(0.0, np.radians(degrees), steps + 1)
    hull = _hull(points)
    return np.concatenate([(hull - centre) @ Rotation.from_rotvec(a * axis).as_matrix().T + centre for a in turns])


def _hull(points: np.ndarray) -> np.ndarray:
    """The convex hull's vertices (all the framing needs), or the points when that fails."""
    try:
        from scipy.spatial import ConvexHull

        return points[ConvexHull(points).vertices]
    except Exception:  # degenerate (flat or too few points): use them all
        return points
