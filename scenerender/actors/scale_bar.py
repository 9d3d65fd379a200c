"""``kind: scale_bar`` - a bar of known length in microns in an image corner."""

from __future__ import annotations

from ..plan import ScaleBarPlan
from ._context import BuildContext

KIND = "scale_bar"


def build(spec: dict, *, ctx: BuildContext) -> list[ScaleBarPlan]:
    length = float(spec["length"])
    text = spec.get("text") or (f"{length / 1000:g} mm" if length >= 1000 else f"{length:g} µm")
    return [ScaleBarPlan(name="scale bar", length=length, text=text, corner=spec["corner"],
                         color=ctx.color(spec["color"], ("color",)), size=int(spec["size"]), alpha=float(spec["alpha"]))]
