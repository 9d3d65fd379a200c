"""Which atlases are here, and a summary of one (``scenerender atlas list/info``).

An atlas is named as in a scene: ``embedded``, a BrainGlobe name found in the
local BrainGlobe folder (never downloaded here), or a path: a BrainGlobe
folder, an atlas version folder, its ``manifest.json``, or a recipe
(``.yaml``; built once into the cache, as for scenes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .atlas import (EMBEDDED_ALIASES, EMBEDDED_DIR, EMBEDDED_NAME, AtlasRequest, AtlasUnavailable,
                    _default_brainglobe_dir, open_bg_atlas)
from .atlas import SceneAtlas, _find_manifest, _local_versions
from .atlas_build.cache import cached_entries

_ATLASES = "brainglobe-atlasapi/atlases"


@dataclass(frozen=True)
class AtlasEntry:
    """One atlas found on disk."""

    name: str
    version: str
    manifest: Path
    where: str  # "embedded", "brainglobe" or "recipe cache"

    def describe(self) -> dict:
        meta = json.loads(self.manifest.read_text(encoding="utf-8"))
        return {"resolution": meta.get("resolution"), "shape": meta.get("shape"), "species": meta.get("species")}


def _entries(folder: Path, where: str) -> list[AtlasEntry]:
    return [AtlasEntry(m.parent.parent.name, m.parent.name.replace("_", "."), m, where)
            for m in sorted((folder / _ATLASES).glob("*/*/manifest.json"))]


def list_atlases(brainglobe_dir: Path | None = None) -> list[AtlasEntry]:
    """The embedded atlas, the local BrainGlobe folder's atlases and the recipe cache's."""
    found = _entries(EMBEDDED_DIR, "embedded")
    try:
        bg_dir = brainglobe_dir or _default_brainglobe_dir()
    except Exception:  # no BrainGlobe config: nothing local
        bg_dir = None
    if bg_dir is not None:
        found += _entries(bg_dir, "brainglobe")
    for entry in cached_entries():
        found += _entries(entry, "recipe cache")
    return found


def request_for(name: str, brainglobe_dir: Path | None = None) -> AtlasRequest:
    """How to open the atlas a command line names (see the module docstring)."""
    if name in EMBEDDED_ALIASES and brainglobe_dir is None:
        return AtlasRequest(name="embedded")
    path = Path(name).expanduser()
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        return AtlasRequest(recipe=path.resolve())
    if path.exists():
        return AtlasRequest(path=path.resolve())
    if "/" in name or name.startswith("."):
        raise AtlasUnavailable(f"{name}: no such file or folder")
    return AtlasRequest(name=name, brainglobe_dir=brainglobe_dir, download=False)


def open_atlas(name: str, brainglobe_dir: Path | None = None):
    """A :class:`~scenerender.atlas.SceneAtlas` for ``name`` (no download)."""
    return SceneAtlas(open_bg_atlas(request_for(name, brainglobe_dir)))


def _manifest_fields(meta: dict, root_dir: Path) -> dict:
    """The fields of :func:`atlas_info` read straight from an atlas's manifest."""
    return {
        # Where it was opened from, not its name: a built or copied embedded atlas is not the embedded one.
        "embedded": root_dir.resolve() == (EMBEDDED_DIR / "brainglobe-atlasapi").resolve(),
        "version": meta.get("version"),
        "species": meta.get("species"),
        "citation": meta.get("citation"),
        "link": meta.get("atlas_link"),
        "packager": meta.get("atlas_packager"),
        "orientation": meta.get("orientation"),
    }


def atlas_info(atlas) -> dict:
    """Metadata, shape, resolution and counts of an opened SceneAtlas."""
    bg = atlas.bg
    meta = dict(bg.metadata)
    structures = bg.structures
    with_mesh = sum(1 for sid in structures if Path(bg.meshfile_from_structure(sid)).exists())
    root = structures[atlas.root_id]
    return {
        "name": atlas.name,
        **_manifest_fields(meta, Path(getattr(bg, "root_dir", ""))),
        "resolution_um": [float(r) for r in bg.resolution],
        "shape": [int(n) for n in bg.shape],
        "size_um": [float(n) for n in bg.shape_um],
        "symmetric": meta.get("symmetric"),
        "structures": len(structures),
        "structures_with_mesh": with_mesh,
        "root": f"{root['acronym']} ({root['id']})",
        "location": str(getattr(bg, "root_dir", "")),
    }


def manifest_for(name: str, brainglobe_dir: Path | None = None) -> Path | None:
    """The manifest.json a command-line atlas name opens, when that is known
    without opening it: the embedded atlas, a folder or manifest, or a local
    BrainGlobe atlas with one version. ``None`` otherwise (a recipe, an atlas
    to download, several versions): then the atlas is opened."""
    try:
        request = request_for(name, brainglobe_dir)
        if request.recipe is not None:
            return None
        if request.path is not None:
            return _find_manifest(request.path, request.name)
        if request.name in EMBEDDED_ALIASES and request.brainglobe_dir is None:
            versions = _local_versions(EMBEDDED_DIR, EMBEDDED_NAME)
        else:
            versions = _local_versions(request.brainglobe_dir or _default_brainglobe_dir(), str(request.name))
    except (AtlasUnavailable, OSError):
        return None
    return versions[0] if len(versions) == 1 else None


def manifest_info(manifest: Path) -> dict:
    """What :func:`atlas_info` says, read from the atlas's files as brainglobe-atlasapi's
    ``Atlas`` reads them (manifest, terminology.csv, mesh folder) without importing it,
    its image libraries or its network stack. ``tests/test_first_hour.py`` compares the two."""
    import csv

    meta = json.loads(manifest.read_text(encoding="utf-8"))
    root_dir = manifest.parents[3]
    with open(root_dir / meta["terminology"]["location"][1:] / "terminology.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    meshes = root_dir / meta["annotation_set"]["location"][1:] / "annotations.precomputed" / "mesh"
    root = next(r for r in rows if not r["parent_identifier"])
    resolution = [float(r) for r in meta["resolution"]]
    return {
        "name": str(meta["name"]) + f"_{resolution[0]:g}um",
        **_manifest_fields(meta, root_dir),
        "resolution_um": resolution,
        "shape": [int(n) for n in meta["shape"]],
        "size_um": [float(n) * r for n, r in zip(meta["shape"], resolution)],
        "symmetric": meta.get("symmetric"),
        "structures": len(rows),
        "structures_with_mesh": sum(1 for r in rows if (meshes / str(int(r["identifier"]))).exists()),
        "root": f"{root['abbreviation']} ({int(root['identifier'])})",
        "location": str(root_dir),
    }
