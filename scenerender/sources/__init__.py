"""Data source kinds: one module each (points, neuron, mesh, volume, track).

Each module declares ``KIND`` (schema entry ``$defs/<KIND>_source``) and a
keyword-only ``load(spec, *, ctx) -> data`` that reads the file and maps it
into atlas microns through the source's declared space
(:class:`scenerender.spaces.SourceSpace`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ._context import SourceContext, SourceError

_MODULES = ("points", "neuron", "mesh", "volume", "track")


def registered_sources() -> dict[str, ModuleType]:
    """Source kind -> module with ``KIND`` and ``load``."""
    modules = [importlib.import_module(f"{__name__}.{m}") for m in _MODULES]
    return {m.KIND: m for m in modules}


def load_source(name: str, spec: dict, *, ctx: SourceContext):
    """Read and map one source (``spec`` has its schema defaults filled)."""
    return registered_sources()[spec["kind"]].load(spec, ctx=ctx)


__all__ = ["SourceContext", "SourceError", "load_source", "registered_sources"]
