"""Actor kinds: one module each, found here and nowhere else.

Each module declares ``KIND`` (its name in the scene language, with the
schema entry ``$defs/<KIND>_actor``) and a keyword-only
``build(spec, *, ctx) -> list[ActorPlan]``. The registry is derived: every
module of this package that declares ``KIND`` is an actor kind (helpers are
``_private``). ``tests/test_contract.py`` checks that it matches the schema
and that every kind has an example scene.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType

from ._context import BuildContext


@lru_cache(maxsize=None)
def _discovered() -> tuple[ModuleType, ...]:
    modules = [importlib.import_module(f"{__name__}.{info.name}")
               for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    return tuple(m for m in modules if hasattr(m, "KIND"))


def registered_actors() -> dict[str, ModuleType]:
    """Actor kind -> module with ``KIND`` and ``build``."""
    return {m.KIND: m for m in _discovered()}


__all__ = ["BuildContext", "registered_actors"]
