"""``kind: colorbar`` - the colour bar of a value-mapped actor.

Any actor whose colours come from values has one: points with ``color_by``,
a volume rendered through a colour map, a heatmap. The bar shows the same
colour map over the same limits (a heatmap's ``center`` included), so the
colours in the image can be read back as values.
"""

from __future__ import annotations

from ..plan import ColorBarPlan, color_mapping_of
from ._context import BuildContext

KIND = "colorbar"
DESCRIBES_OTHERS = True


def build(spec: dict, *, ctx: BuildContext) -> list[ColorBarPlan]:
    if spec.get("of") is not None:
        plans = ctx.plans_of(spec["of"], ("of",))
        mappings = [m for m in map(color_mapping_of, plans) if m is not None]
        if not mappings:
            raise ctx.fail(("of",), f"actor {spec['of']!r} is not coloured by values; a colour bar needs points with "
                                    "color_by, a volume in mode: render, or a heatmap")
        name = spec["of"]
    else:
        mapped: dict = {}
        for plan in ctx.plans:
            mapping = color_mapping_of(plan)
            if mapping is not None:
                mapped.setdefault(plan.group, mapping)
        if len(mapped) != 1:
            what = "no actor is coloured by values" if not mapped else f"several actors are ({', '.join(mapped)})"
            raise ctx.fail(("kind",), f"{what}; name the one this colour bar is for with 'of: <its id>'")
        name, mapping = next(iter(mapped.items()))
        mappings = [mapping]
    mapping = mappings[0]
    title = spec["title"] if spec.get("title") is not None else (mapping.title or ("" if name.startswith("actors[") else name))
    return [ColorBarPlan(name="colour bar", mapping=mapping, title=title, position=spec["position"],
                         color=ctx.color(spec["color"], ("color",)), size=int(spec["size"]),
                         alpha=float(spec["alpha"]))]
