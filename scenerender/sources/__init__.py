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
#: Public data fetched by name (scenerender.fetch); each declares ``PROVIDES``, the kind actors draw it as.
_FETCHED = ("mouselight", "neuromorpho", "allen_gene_expression", "allen_streamlines")


def registered_sources() -> dict[str, ModuleType]:
    """Source kind -> module with ``KIND`` and ``load``."""
    modules = [importlib.import_module(f"{__name__}.{m}") for m in _MODULES]
    modules += [importlib.import_module(f"scenerender.fetch.{m}") for m in _FETCHED]
    return {m.KIND: m for m in modules}


def provided_kind(kind: str) -> str:
    """The kind of data a source kind gives actors (a fetched ``mouselight`` source gives ``neuron``)."""
    return getattr(registered_sources().get(kind), "PROVIDES", kind)


def load_source(name: str, spec: dict, *, ctx: SourceContext):
    """Read and map one source (``spec`` has its schema defaults filled)."""
    return registered_sources()[spec["kind"]].load(spec, ctx=ctx)


__all__ = ["SourceContext", "SourceError", "load_source", "provided_kind", "registered_sources"]
