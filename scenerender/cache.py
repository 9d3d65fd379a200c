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

What a cold process would otherwise make again from the atlas files - the
brain mask (reading the whole annotation: 0.8 s for the 25 um Allen atlas)
and the root's offset shell (normals of the root mesh: 1-1.4 s there) - is
also kept on disk, in ``derived/`` of scenerender's user cache folder
(``$SCENERENDER_CACHE_DIR``, else ``~/.cache/scenerender``): plain ``.npy``
arrays named by the SHA-256 of what they were made from (the annotation's
files, the root mesh's arrays), read back with pickles refused, their size and
shape checked before use, and at most :data:`DERIVED_BYTES` kept (oldest
removed). A missing, unreadable or odd file is simply made again.

Thread-safe: one lock around lookups; opening an atlas happens under it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .atlas import AtlasRequest, BrainMask, SceneAtlas, local_manifest, open_bg_atlas
from .atlas_local import ANNOTATION_NAME

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
            # lazy: the packager loads BrainGlobe's atlas generation code
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
        atlas._mask_source = _persisted_mask(request)
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



# --------------------------------------------------------------------------- kept on disk

#: Bytes of derived arrays kept on disk (brain masks, root shells); the oldest go first.
DERIVED_BYTES = 512 * 2**20
_PREFIX = "scenerender-"


def derived_dir() -> Path:
    """Where derived arrays are kept: ``derived/`` in scenerender's user cache folder."""
    from .atlas_build.cache import cache_root  # lazy: the packager loads BrainGlobe's atlas generation code

    return cache_root() / "derived"


def load_derived(name: str, shape: tuple, dtype) -> np.ndarray | None:
    """The array kept as ``name``, if it is there and is exactly ``shape`` of ``dtype``
    (its size is checked before it is read; pickles are refused); else ``None``."""
    path = derived_dir() / f"{_PREFIX}{name}.npy"
    dtype = np.dtype(dtype)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    try:
        size = path.stat().st_size
        if not expected <= size <= expected + 4096 or not path.is_file():
            return None
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if array.dtype != dtype or tuple(array.shape) != tuple(shape):
        return None
    array.flags.writeable = False
    return array


def save_derived(name: str, array: np.ndarray) -> None:
    """Keep ``array`` as ``name`` (written atomically; nothing if the folder cannot be written)."""
    folder = derived_dir()
    tmp = folder / f".{_PREFIX}{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(tmp, folder / f"{_PREFIX}{name}.npy")
        _prune(folder)
    except OSError:
        with _suppress():
            tmp.unlink(missing_ok=True)


def _suppress():
    import contextlib

    return contextlib.suppress(OSError)


def _prune(folder: Path) -> None:
    """Remove the oldest of our files while they hold more than :data:`DERIVED_BYTES`."""
    files = []
    for path in folder.glob(f"{_PREFIX}*.npy"):
        with _suppress():
            st = path.stat()
            files.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= DERIVED_BYTES:
            break
        with _suppress():
            path.unlink()
        total -= size


def array_digest(*arrays: np.ndarray, extra: str = "") -> str:
    """SHA-256 of arrays (their dtype, shape and bytes) and ``extra``."""
    digest = hashlib.sha256(extra.encode())
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.reshape(-1).view(np.uint8).data)
    return digest.hexdigest()


def _annotation_files(request: AtlasRequest) -> list[Path] | None:
    """The files of the atlas's annotation (as its manifest names them), or ``None``."""
    manifest = local_manifest(request)
    if manifest is None:
        return None
    try:
        meta = json.loads(manifest.read_text())
        location = meta["annotation_set"]["location"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(location, str):
        return None
    root = manifest.parents[3] if len(manifest.parents) > 3 else manifest.parent
    folder = root / location.lstrip("/")
    if (folder / ANNOTATION_NAME).is_dir():
        # the label volume alone (what the mask is made from), not the set's meshes and other
        # volumes: 2,526 files and 25 MB to hash for the embedded atlas, 0.7 s of a fresh worker
        folder = folder / ANNOTATION_NAME
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        return None
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def annotation_digest(request: AtlasRequest) -> str | None:
    """SHA-256 of the annotation's files (names and bytes), or ``None`` where they are not known."""
    files = _annotation_files(request)
    if not files:
        return None
    digest = hashlib.sha256()
    base = files[0].parent if len(files) == 1 else os.path.commonpath([str(f) for f in files])
    try:
        for path in files:
            digest.update(os.path.relpath(path, base).encode() + b"\0")
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _persisted_mask(request: AtlasRequest):
    """A maker of the atlas's :class:`~scenerender.atlas.BrainMask` that reads the one kept on disk
    for this annotation (by its digest), or makes it from the annotation and keeps it."""

    def make(bg) -> BrainMask:
        digest = annotation_digest(request)
        shape = tuple(int(n) for n in bg.metadata["shape"])
        bits_shape = (shape[0], shape[1], (shape[2] + 7) // 8)
        name = f"brainmask-{digest}"
        bits = load_derived(name, bits_shape, np.uint8) if digest else None
        if bits is not None:
            return BrainMask.from_bits(bits, shape)
        mask = BrainMask.from_atlas(bg)
        if digest and mask.shape == shape and mask.bits.shape == bits_shape:
            save_derived(name, mask.bits)
        return mask

    return make
