"""``kind: scale_bar`` - a bar of known length in microns in an image corner.

With orthographic projection the bar is true at every depth. With
perspective, a length on screen depends on depth, so the bar is true at one
depth only: that of the camera's focal point, or of the atlas point ``at``.
"""

from __future__ import annotations

from ..plan import ScaleBarPlan
from ..spaces import atlas_to_world
from ._context import BuildContext

KIND = "scale_bar"


def _xyz(values) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


def build(spec: dict, *, ctx: BuildContext) -> list[ScaleBarPlan]:
    length = float(spec["length"])
    text = spec.get("text") or (f"{length / 1000:g} mm" if length >= 1000 else f"{length:g} µm")
    at = spec.get("at")
    return [ScaleBarPlan(name="scale bar", length=length, text=text, corner=spec["corner"],
                         color=ctx.color(spec["color"], ("color",)), size=int(spec["size"]), alpha=float(spec["alpha"]),
                         at=None if at is None else _xyz(atlas_to_world(at)))]
