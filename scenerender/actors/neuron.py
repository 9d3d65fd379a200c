"""``kind: neuron`` - a morphology as tubes or lines, with its soma."""

from __future__ import annotations

import numpy as np

from ..plan import LinesPlan, SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext
from ._geometry import polyline_cells, sphere, tubes

KIND = "neuron"


def build(spec: dict, *, ctx: BuildContext) -> list:
    data = ctx.source(spec["source"], ("neuron",))
    name = f"neuron {spec['source']}"
    colours = {c: ctx.color(v, ("compartment_colors", c)) for c, v in spec["compartment_colors"].items()}
    single = None if spec["color"] is None else ctx.color(spec["color"], ("color",))
    points, lines = polyline_cells([b for b, _ in data.branches])
    per_vertex = np.concatenate([np.tile(colours.get(c, colours["dendrite"]), (len(b), 1)) for b, c in data.branches])
    alpha = float(spec["alpha"])
    plans: list = []
    if spec["style"] == "lines":
        plans.append(LinesPlan(name=name, points=atlas_to_world(points), lines=lines, color=single or colours["axon"],
                               alpha=alpha, width=float(spec["width"]),
                               vertex_colors=None if single else per_vertex))
    else:
        tube_points, faces, extra = tubes(points, lines, float(spec["radius"]), point_data={"rgb": per_vertex})
        plans.append(SurfacePlan(name=name, points=atlas_to_world(tube_points), faces=faces,
                                 color=single or colours["axon"], alpha=alpha,
                                 vertex_colors=None if single else extra["rgb"]))
    for soma in (getattr(data, "somas", None) or (data.soma,)) if spec["soma_radius"] > 0 else ():
        soma_points, soma_faces = sphere(soma, float(spec["soma_radius"]))  # fetched groups have a soma each
        plans.append(SurfacePlan(name=f"{name} soma", points=atlas_to_world(soma_points), faces=soma_faces,
                                 color=single or colours["soma"], alpha=alpha))
    return plans
