"""Per-process caches shared by every render in a process.

Opening a BrainGlobe atlas costs a few tenths of a second (the ontology is
built into a tree), its region meshes are decoded from Draco files, and the
inside-brain test needs the annotation. All of this is the same for every
render on that atlas, so a process (a Python session calling
:func:`scenerender.render`, a batch or video worker, a preview server) keeps
it here:

>>> from scenerender import cache
>>> atlas = cache.atlas_for(request)        # doctest: +SKIP  (an AtlasRequest)
>>> cache.stats()                           # doctest: +SKIP
{'atlases': 1, 'hits': 9, 'misses': 1, 'max_atlases': 3}
>>> cache.clear()                           # doctest: +SKIP

An entry is keyed by what the scene asked for (the resolved
:class:`~scenerender.atlas.AtlasRequest`) *and* by the files on disk: the
size, modification time and inode of the atlas's ``manifest.json`` and of
each component folder it names (or of the recipe file), so an atlas rebuilt
or replaced in place is opened afresh. At most :data:`MAX_ATLASES` atlases
are held (least recently used goes first); each holds its region meshes up
to :data:`MESH_BYTES` (see :class:`scenerender.atlas.SceneAtlas`) and a
bit-packed brain mask (1 bit per voxel: 10 MB for the 25 um Allen atlas).

Thread-safe: one lock around lookups; opening an atlas happens under it.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

from .atlas import AtlasRequest, SceneAtlas, local_manifest, open_bg_atlas

#: Atlases held per process, most recently used kept.
MAX_ATLASES = 3

_lock = threading.Lock()
_atlases: OrderedDict = OrderedDict()
_counts = {"hits": 0, "misses": 0}


def _stat(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def files_signature(request: AtlasRequest) -> tuple | None:
    """What on disk the opened atlas depends on, cheaply (a few ``stat`` calls);
    ``None`` where it cannot be known without opening it (an atlas still to be
    downloaded): such an atlas is not cached."""
    if request.recipe is not None:
        # the recipe's own key: its text and the size and time of every input it names, so that a
        # changed input (a rebuilt atlas) is opened again
        try:
            from .atlas_build.cache import recipe_key
            from .atlas_build.recipe import load_recipe

            return ("recipe", _stat(request.recipe), recipe_key(load_recipe(Path(request.recipe))))
        except Exception:  # an unreadable recipe: not cached; opening it reports the problem
            return None
    manifest = local_manifest(request)
    if manifest is None:
        return None
    parts = [_stat(manifest)]
    try:
        meta = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return tuple(parts)
    root = manifest.parents[3] if len(manifest.parents) > 3 else manifest.parent
    for key in ("coordinate_space", "terminology", "annotation_set", "template"):
        location = (meta.get(key) or {}).get("location") if isinstance(meta.get(key), dict) else None
        if isinstance(location, str):
            parts.append(_stat(root / location.lstrip("/")))
    return tuple(parts)


def atlas_for(request: AtlasRequest) -> SceneAtlas:
    """The opened atlas for ``request``, from this process's cache when its files are unchanged.

    Raises what :func:`scenerender.atlas.open_bg_atlas` raises.
    """
    signature = files_signature(request)
    if signature is None or request.refused is not None:
        return SceneAtlas(open_bg_atlas(request))
    key = (request, signature)
    with _lock:
        atlas = _atlases.get(key)
        if atlas is not None:
            _atlases.move_to_end(key)
            _counts["hits"] += 1
            return atlas
        for old in [k for k in _atlases if k[0] == request]:  # the same atlas, changed on disk
            del _atlases[old]
        atlas = SceneAtlas(open_bg_atlas(request))
        _counts["misses"] += 1
        _atlases[key] = atlas
        while len(_atlases) > MAX_ATLASES:
            _atlases.popitem(last=False)
        return atlas


def clear() -> None:
    """Forget every cached atlas (and with them their meshes and masks)."""
    with _lock:
        _atlases.clear()
        _counts.update(hits=0, misses=0)


def stats() -> dict:
    """How many atlases are held, and the hits and misses since the last :func:`clear`."""
    with _lock:
        return {"atlases": len(_atlases), **_counts, "max_atlases": MAX_ATLASES}

