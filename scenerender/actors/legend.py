"""``kind: legend`` - a box naming actors by their colour."""

from __future__ import annotations

from ..plan import OVERLAYS, LegendPlan, color_mapping_of
from ._context import BuildContext

KIND = "legend"
DESCRIBES_OTHERS = True


def build(spec: dict, *, ctx: BuildContext) -> list[LegendPlan]:
    labels = spec["labels"]
    if spec.get("actors") is not None:
        ids = list(spec["actors"])
        for index, actor_id in enumerate(ids):
            ctx.plans_of(actor_id, ("actors", index))  # fails, located, for an unknown id
    else:  # every named actor that draws something in a colour of its own
        ids = [a["id"] for a in ctx.actor_specs if "id" in a]
    entries: list = []
    for index, actor_id in enumerate(ids):
        plans = [p for p in ctx.plans_of(actor_id, ("actors", index)) if not isinstance(p, OVERLAYS)]
        if not plans or any(color_mapping_of(p) is not None for p in plans):
            if spec.get("actors") is not None:
                why = "draws nothing" if not plans else "is coloured by values (give it a colorbar instead)"
                raise ctx.fail(("actors", index), f"actor {actor_id!r} {why}; a legend names actors of one colour")
            continue
        compartments = _compartments(ctx, actor_id)
        if compartments:  # a neuron coloured by compartment: one entry per compartment
            text = str(labels.get(actor_id, actor_id))
            entries.extend((f"{text}: {part}", rgb) for part, rgb in compartments)
            continue
        entries.append((str(labels.get(actor_id, actor_id)), tuple(plans[0].color)))
    for index, entry in enumerate(spec["entries"]):
        entries.append((str(entry["text"]), ctx.color(entry["color"], ("entries", index, "color"))))
    if not entries:
        raise ctx.fail(("kind",), "nothing to list: give actors an 'id' (or list 'entries')")
    background = None if spec["background"] is None else ctx.color(spec["background"], ("background",))
    return [LegendPlan(name="legend", entries=tuple(entries), corner=spec["corner"],
                       color=ctx.color(spec["color"], ("color",)), size=int(spec["size"]), background=background,
                       alpha=float(spec["alpha"]))]


def _compartments(ctx: BuildContext, actor_id: str) -> list[tuple[str, tuple]]:
    """(compartment, colour) of a neuron actor coloured by compartment; empty for anything else."""
    spec = next((a for a in ctx.actor_specs if a.get("id") == actor_id), None)
    if spec is None or spec.get("kind") != "neuron" or spec.get("color") is not None:
        return []
    colours = spec.get("compartment_colors") or {}
    shown = [part for part in colours if part != "soma" or float(spec.get("soma_radius", 60.0)) > 0]
    return [(part, ctx.color(colours[part], ("compartment_colors", part))) for part in shown]
