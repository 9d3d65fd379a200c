"""Data source kinds: one module each (the kinds are listed by ``registered_sources()``).

Each module declares ``KIND`` (schema entry ``$defs/<KIND>_source``) and a
keyword-only ``load(spec, *, ctx) -> data`` that reads the file and maps it
into atlas microns through the source's declared space
(:class:`scenerender.spaces.SourceSpace`).

The registry is derived: every module of this package, and of
:mod:`scenerender.fetch` (public data fetched by name; each also declares
``PROVIDES``, the kind actors draw it as), that declares ``KIND``.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType

from ._context import SourceContext, SourceError

#: The packages whose modules declaring ``KIND`` are source kinds. The fetch modules are imported
#: by name on first use (they sit in a later stage, and load only when a scene asks for a source).
_PACKAGES = (__name__, "scenerender.fetch")


@lru_cache(maxsize=None)
def _discovered() -> tuple[ModuleType, ...]:
    modules = []
    for package in _PACKAGES:
        path = importlib.import_module(package).__path__
        modules += [importlib.import_module(f"{package}.{info.name}")
                    for info in pkgutil.iter_modules(path) if not info.name.startswith("_")]
    return tuple(m for m in modules if hasattr(m, "KIND"))


def registered_sources() -> dict[str, ModuleType]:
    """Source kind -> module with ``KIND`` and ``load``."""
    return {m.KIND: m for m in _discovered()}


def provided_kind(kind: str) -> str:
    """The kind of data a source kind gives actors (a fetched ``mouselight`` source gives ``neuron``)."""
    return getattr(registered_sources().get(kind), "PROVIDES", kind)


def load_source(name: str, spec: dict, *, ctx: SourceContext):
    """Read and map one source (``spec`` has its schema defaults filled)."""
    return registered_sources()[spec["kind"]].load(spec, ctx=ctx)


__all__ = ["SourceContext", "SourceError", "load_source", "provided_kind", "registered_sources"]
