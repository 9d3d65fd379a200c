"""``kind: region`` - atlas regions by acronym or id, optionally one hemisphere."""

from __future__ import annotations

import numpy as np

from ..atlas import RegionNotFound
from ..errors import UnknownRegionError
from ..plan import SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext

KIND = "region"


def build(spec: dict, *, ctx: BuildContext) -> list[SurfacePlan]:
    """One surface per listed region, in its atlas colour unless ``color`` is set."""
    refs = spec["regions"]
    listed = isinstance(refs, list)
    refs = refs if listed else [refs]
    hemisphere = spec["hemisphere"]
    color = None if spec["color"] is None else ctx.color(spec["color"], ("color",))
    keys = [("regions", index) if listed else ("regions",) for index in range(len(refs))]
    structs, unknown = [], []
    for ref, key in zip(refs, keys):  # every unknown region of the list, in one message per region
        try:
            structs.append(ctx.structure(ref, key))
        except UnknownRegionError as err:
            unknown += err.problems
    if unknown:
        raise UnknownRegionError(unknown)
    plans = []
    for key, struct in zip(keys, structs):
        try:
            # in world coordinates once per atlas: later renders in this process share the arrays
            sid = int(struct["id"])
            points, faces = ctx.atlas.derived_mesh(
                ("world", sid, hemisphere),
                lambda sid=sid: _world_mesh(ctx.atlas.region_mesh(sid, hemisphere=hemisphere)))
        except RegionNotFound as err:
            raise ctx.fail(key, str(err)) from None
        rgb = color if color is not None else tuple(c / 255.0 for c in struct["rgb_triplet"])
        side = "" if hemisphere == "both" else f" ({hemisphere})"
        plans.append(SurfacePlan(name=f"region {struct['acronym']}{side}", points=points,
                               faces=faces, color=rgb, alpha=float(spec["alpha"]), **ctx.look(spec)))
    return plans


def _world_mesh(mesh: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    points, faces = mesh
    return atlas_to_world(points), faces
