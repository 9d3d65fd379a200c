"""scenerender: exact, reproducible, headless brain figures from YAML scenes.

>>> import scenerender
>>> image = scenerender.render("scenes/quickstart.yaml")          # doctest: +SKIP
>>> scenerender.render({"version": 1, "actors": [{"kind": "root"}]}, "brain.png")  # doctest: +SKIP

The public names live in their stages' modules (``api``, ``compile``,
``scene``) and are imported here on first use, so that ``import scenerender``
(and every command that draws nothing) stays light: no numpy, jsonschema, VTK
or atlas code.
"""

from __future__ import annotations

import sys


def _quiet_notebook_progress() -> None:
    """In a Jupyter kernel without ipywidgets, ``tqdm.auto`` (imported by pooch,
    which pyvista imports) warns "IProgress not found" and falls back to its
    text bar; take that fallback without the warning."""
    if "ipykernel" in sys.modules and "tqdm.auto" not in sys.modules:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                import tqdm.auto  # noqa: F401
            except ImportError:
                pass


_quiet_notebook_progress()

from ._version import __version__  # noqa: E402
from .errors import Problem, RenderError, SceneError, SceneValidationError  # noqa: E402

#: Public name -> the module that defines it (imported on first use).
_LAZY = {"Scene": "scene", "compile_scene": "compile", "load_scene": "compile", "validate_scene": "api",
         "render": "api", "render_video": "api", "registered_actors": "api"}

__all__ = ["Problem", "RenderError", "SceneError", "SceneValidationError", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'scenerender' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
