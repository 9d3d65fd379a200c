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
                       color=ctx.color(spec["color"], ("color",)), size=int(spec["size"]), alpha=float(spec["alpha"]))]
