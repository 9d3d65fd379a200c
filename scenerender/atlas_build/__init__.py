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

from .package import BuildResult, Prepared, build, prepare
from .recipe import Recipe, RecipeError, load_recipe, recipe_schema

__all__ = ["BuildResult", "Prepared", "Recipe", "RecipeError", "build", "load_recipe", "prepare", "recipe_schema"]
