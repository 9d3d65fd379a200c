"""``kind: title`` - a line of text centred at the top or bottom of the image."""

from __future__ import annotations

from ..plan import TitlePlan
from ._context import BuildContext

KIND = "title"


def build(spec: dict, *, ctx: BuildContext) -> list[TitlePlan]:
    return [TitlePlan(name="title", text=str(spec["text"]), position=spec["position"],
                      color=ctx.color(spec["color"], ("color",)), size=int(spec["size"]), alpha=float(spec["alpha"]))]
