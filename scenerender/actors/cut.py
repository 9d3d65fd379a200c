"""``kind: cut`` - a plane cutting chosen actors (or all), the cut faces capped.

The renderer clips the actors' geometry at the plane (VTK clipping planes,
so points, lines and volumes are cut too). Surfaces that are closed get a
cap: their cross-section with the plane, triangulated (holes included) and
drawn in the surface's colour or ``cap_color``, so a cut region looks solid
instead of hollow.
"""

from __future__ import annotations

import numpy as np

from ..plan import CutPlan, SurfacePlan
from ..spaces import anatomical_direction, atlas_to_world
from ._context import BuildContext
from .heatmap import PLANES, plane_frame

KIND = "cut"
DESCRIBES_OTHERS = True


def build(spec: dict, *, ctx: BuildContext) -> list:
    plane = {k: spec[k] for k in ("plane", "position", "normal", "point") if spec.get(k) is not None}
    if "normal" in plane and not np.any(plane["normal"]):
        raise ctx.fail(("normal",), "the normal is [0, 0, 0]; give a direction such as [1, 0, 0]")
    origin, normal, _, _ = plane_frame(plane, ctx.atlas.shape_um)
    if "plane" in plane and spec.get("keep") is not None:
        axis = PLANES[plane["plane"]][0]
        keep = anatomical_direction({"dorsal": "superior", "ventral": "inferior"}.get(spec["keep"], spec["keep"]))
        if keep[axis] == 0:
            along = {0: "anterior or posterior", 1: "dorsal or ventral", 2: "left or right"}[axis]
            raise ctx.fail(("keep",), f"a {plane['plane']} cut keeps the {along} side, not {spec['keep']}")
        normal = keep
    if spec.get("actors") is not None:
        targets = tuple(spec["actors"])
        for index, actor_id in enumerate(targets):
            ctx.plans_of(actor_id, ("actors", index))
    else:
        targets = ()
    world_origin, world_normal = atlas_to_world(origin), atlas_to_world(normal)
    plans: list = [CutPlan(name="cut", origin=tuple(world_origin), normal=tuple(world_normal), targets=targets)]
    if spec["cap"]:
        cap_color = None if spec["cap_color"] is None else ctx.color(spec["cap_color"], ("cap_color",))
        for plan in ctx.plans:
            if isinstance(plan, SurfacePlan) and (not targets or plan.group in targets):
                cap = cross_section(plan.points, plan.faces, world_origin, world_normal)
                if cap is not None:
                    points, faces = cap
                    plans.append(SurfacePlan(name=f"cap of {plan.name}", points=points, faces=faces,
                                             color=cap_color or plan.color, alpha=plan.alpha, smooth=False,
                                             lit=False))  # flat and exact: reads as a cut face
    return plans


def cross_section(points: np.ndarray, faces: np.ndarray, origin, normal) -> tuple[np.ndarray, np.ndarray] | None:
    """The triangulated cross-section of a closed surface with a plane (world coordinates), or None.

    Nudged a hair to the kept side so the clipping plane never clips the cap itself.
    """
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv
    from vtkmodules.vtkFiltersGeneral import vtkContourTriangulator

    mesh = pv.PolyData.from_regular_faces(points, faces)
    lines = mesh.slice(normal=normal, origin=origin)
    if lines.n_points == 0:
        return None
    triangulator = vtkContourTriangulator()
    triangulator.SetInputData(lines)
    triangulator.Update()
    cap = pv.wrap(triangulator.GetOutput())
    if cap.n_cells == 0:
        return None
    cap = cap.triangulate()
    unit = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
    extent = float(np.ptp(points, axis=0).max()) or 1.0
    shifted = np.asarray(cap.points) + unit * extent * 1e-4
    faces = np.asarray(cap.regular_faces, dtype=np.int64)
    # Face outwards, towards the removed side, so the cap is lit like the surface around it.
    a, b, c = (shifted[faces[:, i]] for i in range(3))
    inward = np.cross(b - a, c - a) @ unit > 0
    faces[inward] = faces[inward][:, ::-1]
    return shifted, faces

