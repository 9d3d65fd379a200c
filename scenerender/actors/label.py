"""``kind: label`` - text labels at region centres or at atlas points."""

from __future__ import annotations

import numpy as np

from ..plan import LabelsPlan
from ..spaces import atlas_to_world
from ._context import BuildContext

KIND = "label"


def build(spec: dict, *, ctx: BuildContext) -> list[LabelsPlan]:
    points, texts = [], []
    if "regions" in spec:
        refs = spec["regions"] if isinstance(spec["regions"], list) else [spec["regions"]]
        for index, ref in enumerate(refs):
            key = ("regions", index) if isinstance(spec["regions"], list) else ("regions",)
            struct = ctx.structure(ref, key)
            if spec["anchor"] == "centroid":
                points.append(_centroid(ctx, int(struct["id"]), spec["hemisphere"], key))
            else:
                vertices, _ = ctx.atlas.region_mesh(int(struct["id"]), hemisphere=spec["hemisphere"])
                # The vertex nearest the mean: on the surface, so the label is not hidden inside.
                centre = vertices.mean(axis=0)
                points.append(vertices[np.argmin(np.linalg.norm(vertices - centre, axis=1))])
            texts.append(struct["acronym"] if spec["text"] == "acronym" else struct["name"])
    else:
        points = [np.asarray(p, dtype=float) for p in spec["points"]]
        texts = [str(t) for t in spec["texts"]]
        if len(texts) != len(points):
            raise ctx.fail(("texts",), f"{len(texts)} texts for {len(points)} points; give one text per point")
    return [LabelsPlan(name="labels", points=atlas_to_world(np.array(points)), texts=tuple(texts),
                       color=None if spec["color"] is None else ctx.color(spec["color"], ("color",)),
                       size=int(spec["size"]), alpha=float(spec["alpha"]))]


def _centroid(ctx: BuildContext, structure_id: int, hemisphere: str, key) -> np.ndarray:
    """Centre of mass of the region's voxels (with its subregions), in atlas microns.

    Voxel ``i`` is centred at ``i x resolution``, as in the atlas meshes.
    """
    bg = ctx.atlas.bg
    annotation = np.asarray(bg.annotation)
    mask = np.isin(annotation, np.array(sorted(ctx.atlas.with_descendants([structure_id]))))
    if hemisphere != "both":
        side = bg.left_hemisphere_value if hemisphere == "left" else bg.right_hemisphere_value
        mask &= np.asarray(bg.hemispheres) == side
    if not mask.any():
        raise ctx.fail(key, f"region {bg.structures[structure_id]['acronym']!r} has no voxels"
                            f"{'' if hemisphere == 'both' else ' in the ' + hemisphere + ' hemisphere'}")
    return np.argwhere(mask).mean(axis=0) * np.array(ctx.atlas.resolution)
