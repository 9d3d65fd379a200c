"""Package BrainGlobe atlases from declarative recipes.

``scenerender atlas build recipe.yaml`` reads a recipe
(``schemas/recipe.schema.json``), checks it and its inputs before any heavy
work, makes region meshes and packages the atlas in BrainGlobe's v3 layout
with brainglobe-atlasapi's own ``wrapup_atlas_from_data``.

Modules: :mod:`.recipe` (read and validate the YAML), :mod:`.inputs` (stacks
and structure files), :mod:`.checks` (the checks), :mod:`.meshes`
(marching cubes and OBJ imports), :mod:`.package` (prepare and build),
:mod:`.cache` (recipes named by scenes, built once).
"""

from __future__ import annotations

_LAZY = {"BuildResult": "package", "Prepared": "package", "build": "package", "prepare": "package",
         "Recipe": "recipe", "RecipeError": "recipe", "load_recipe": "recipe", "recipe_schema": "recipe"}


#: Modules BrainGlobe's atlas generation code imports (the atlas-build extra installs them).
ATLAS_BUILD_MODULES = ("brainglobe_utils", "cloudvolume", "loguru", "mcubes", "numba", "vedo")
INSTALL_HINT = 'pip install "scenerender[atlas-build]"'


def missing_build_modules() -> list[str]:
    """The atlas-generation dependencies that are not installed (none: ``[]``)."""
    from importlib.util import find_spec

    return [name for name in ATLAS_BUILD_MODULES if find_spec(name) is None]


def build_unavailable() -> str | None:
    """Why atlases cannot be packaged here (the atlas-build extra is missing), or ``None``."""
    missing = missing_build_modules()
    if not missing:
        return None
    return (f"packaging atlases needs the atlas-build extra (BrainGlobe's atlas generation code; missing: "
            f"{', '.join(missing)}); install it with: {INSTALL_HINT}")


def __getattr__(name: str):
    # Imported on first use: 'scenerender atlas list' reads the recipe cache's
    # folder names through .cache and needs none of the packaging code.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BuildResult", "Prepared", "Recipe", "RecipeError", "build", "load_recipe", "prepare", "recipe_schema"]
