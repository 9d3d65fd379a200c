"""Atlases built from recipes on demand, once, for scenes (``atlas: {recipe: ...}``).

The cache lives in ``$SCENERENDER_CACHE_DIR/atlases`` (default
``$XDG_CACHE_HOME/scenerender`` or ``~/.cache/scenerender``). An entry is a
BrainGlobe folder named ``<atlas name>-<key>``, where the key hashes the
recipe text, the resolved path, size and modification time of every input
file, and the scenerender and brainglobe-atlasapi versions: editing the
recipe or touching an input builds a new entry. An entry is built in a
temporary folder beside it and renamed into place when complete, so a
crash or two concurrent renders never leave a half-built atlas under the
final name. ``build.json`` in each entry records what it was built from.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .recipe import Recipe, load_recipe
from . import build_unavailable
from .._version import __version__
from .package import build, write_report
from ..errors import AtlasUnavailable

CACHE_ENV = "SCENERENDER_CACHE_DIR"
BUILD_RECORD = "build.json"


def cache_root() -> Path:
    """scenerender's cache folder (``$SCENERENDER_CACHE_DIR`` overrides)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "scenerender"


def atlas_cache_dir() -> Path:
    return cache_root() / "atlases"


def _file_stats(path: Path) -> list:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
    elif path.exists():
        files = [path]
    else:
        return [str(path), None]
    out = []
    for f in files:
        st = f.stat()
        out.append([str(f), st.st_size, st.st_mtime_ns])
    return out


def recipe_key(recipe: Recipe) -> str:
    """Hash of everything a build depends on (see the module docstring)."""
    from importlib.metadata import version

    h = hashlib.sha256()
    text = Path(recipe.file).read_bytes() if Path(recipe.file).is_file() else json.dumps(recipe.spec).encode()
    h.update(text)
    h.update(str(Path(recipe.base_dir).resolve()).encode())
    h.update(json.dumps([__version__, version("brainglobe-atlasapi")]).encode())
    for path in recipe.input_paths():
        h.update(json.dumps(_file_stats(path)).encode())
    return h.hexdigest()


def cached_atlas(recipe_path: Path | str, *, log=None) -> Path:
    """The BrainGlobe folder of the atlas a recipe describes, built on first use.

    Raises
    ------
    RecipeError
        For mistakes in the recipe or its inputs (located in the recipe).
    """
    say = log if log is not None else (lambda msg: print(msg, file=sys.stderr))
    recipe = load_recipe(Path(recipe_path))
    key = recipe_key(recipe)
    root = atlas_cache_dir()
    entry = root / f"{recipe.name}-{key[:16]}"
    if (entry / BUILD_RECORD).is_file():
        return entry

    why = build_unavailable()
    if why is not None:
        raise AtlasUnavailable(f"atlas recipe {Path(recipe_path).name} is not built yet, and {why}")
    root.mkdir(parents=True, exist_ok=True)
    say(f"building atlas {recipe.name} from {recipe.file} into the cache {entry} (once)")
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=root))
    try:
        result = build(recipe, tmp / "atlas", progress=sys.stderr.isatty(), log=None)
        (tmp / "atlas").rename(tmp / "final")
        final = tmp / "final"
        write_report(result, final / "report.json")
        record = {"recipe": str(Path(recipe.file).resolve()), "key": key, "built_at": time.time(),
                  "atlas_name": result.atlas_name, "inputs": [str(p) for p in recipe.input_paths()]}
        (final / BUILD_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        try:
            final.rename(entry)
        except OSError:
            if not (entry / BUILD_RECORD).is_file():  # not someone else's finished build
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return entry


def cached_entries() -> list[Path]:
    """Finished cache entries, newest first."""
    root = atlas_cache_dir()
    if not root.is_dir():
        return []
    entries = [p for p in root.iterdir() if (p / BUILD_RECORD).is_file()]
    return sorted(entries, key=lambda p: (p / BUILD_RECORD).stat().st_mtime, reverse=True)
