"""Actor kinds: one module each, found here and nowhere else.

Each module declares ``KIND`` (its name in the scene language, with the
schema entry ``$defs/<KIND>_actor``) and a keyword-only
``build(spec, *, ctx) -> list[ActorPlan]``. The registry is derived from the
modules listed in :data:`_MODULES`; ``tests/test_contract.py`` checks that it
matches the schema and that every kind has an example scene.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ._context import BuildContext

_MODULES = ("root", "region", "points", "density", "neuron", "mesh", "volume", "track", "cylinder", "line",
            "label", "scale_bar", "heatmap", "orientation", "colorbar", "legend", "title", "cut")


def registered_actors() -> dict[str, ModuleType]:
    """Actor kind -> module with ``KIND`` and ``build``."""
    modules = [importlib.import_module(f"{__name__}.{m}") for m in _MODULES]
    return {m.KIND: m for m in modules}


__all__ = ["BuildContext", "registered_actors"]
