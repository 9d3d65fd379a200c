"""``kind: orientation`` - anatomical axes (A/P, D/V, L/R) in an image corner.

The arms are the atlas's anatomical directions as the camera sees them, so
they turn and flip with every view (and every animation frame); an arm along
the line of sight shrinks away and its label is hidden.
"""

from __future__ import annotations

from ..camera import DIRECTION_LETTERS
from ..plan import OrientationPlan
from ._context import BuildContext

KIND = "orientation"

PAIRS = {"anterior_posterior": ("anterior", "posterior"), "dorsal_ventral": ("superior", "inferior"),
         "left_right": ("left", "right")}


def build(spec: dict, *, ctx: BuildContext) -> list[OrientationPlan]:
    texts = {**DIRECTION_LETTERS, **{_direction(k): str(v) for k, v in spec["labels"].items()}}
    labels = tuple((name, texts[name]) for axis in spec["axes"] for name in PAIRS[axis])
    return [OrientationPlan(name="orientation", labels=labels, corner=spec["corner"], length=float(spec["length"]),
                            color=ctx.color(spec["color"], ("color",)), size=int(spec["size"]),
                            alpha=float(spec["alpha"]))]


def _direction(key: str) -> str:
    return {"dorsal": "superior", "ventral": "inferior"}.get(key, key)
