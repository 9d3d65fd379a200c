"""Content fingerprints: everything an output depends on, in one hash.

A scene's output is a pure function of the scene (with defaults filled), the
data files it reads, its atlas and the software that draws it. The
fingerprint hashes exactly those, so a batch rerun can skip an output whose
fingerprint is unchanged and redo one whose scene, data, atlas or
scenerender version changed. It is cheap: the atlas is identified by its
manifest, not opened, and file hashes are remembered per process by
(path, size, modification time).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .limits import PathRefused, resolve_scene_path
from .paths import file_digest
from .schema import file_references

if TYPE_CHECKING:  # the compile stack (numpy, jsonschema...) is not needed to read a record
    from .compile import Scene



@dataclass(frozen=True)
class Fingerprint:
    """The hash of a render's inputs, and the inputs it was made from.

    Attributes
    ----------
    digest : str
        SHA-256 over everything below; equal digests mean equal outputs.
    scene : str
        SHA-256 of the scene content (defaults filled, keys sorted): comments
        and formatting of the YAML do not change it.
    files : dict
        Resolved path of each input file -> its SHA-256 (``None`` if missing).
    atlas : dict
        See :func:`scenerender.atlas.atlas_identity`.
    software : dict
        Versions of scenerender and the libraries that draw.
    options : dict
        Render options given outside the scene (size override, output format, frame).
    """

    digest: str
    scene: str
    files: dict[str, str | None] = field(default_factory=dict)
    atlas: dict = field(default_factory=dict)
    software: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    #: Public data each fetched source resolved to (see :func:`scenerender.fetch.fetched_records`).
    fetched: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"digest": self.digest, "scene": self.scene, "files": dict(self.files), "atlas": dict(self.atlas),
               "software": dict(self.software), "options": dict(self.options)}
        if self.fetched:
            out["fetched"] = dict(self.fetched)
        return out


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


@lru_cache(maxsize=1)
def software_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {"scenerender": __version__}
    for package in ("vtk", "pyvista", "brainglobe-atlasapi", "brainglobe-space", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def input_files(scene: Scene) -> list[Path]:
    """Every input file the scene names, resolved against the scene's folder."""
    found = []
    for _, value in file_references(scene.spec):
        try:
            path = resolve_scene_path(value, scene.doc.base_dir)
        except PathRefused:  # never hashed (it may be outside the sandbox); reported, located, on loading
            continue
        if path.is_dir():  # a folder input (a brainreg output): the files in it
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.is_symlink()))
        else:
            found.append(path)
    return found


def scene_fingerprint(scene: Scene, options: dict | None = None) -> Fingerprint:
    """The fingerprint of rendering ``scene`` with ``options`` (any JSON-able dict)."""
    from .atlas import AtlasRequest, atlas_identity  # lazy: start-up time (--help loads this module; atlas loads numpy)

    scene_hash = hashlib.sha256(_canonical(scene.spec)).hexdigest()
    files = {str(p): file_digest(p) for p in input_files(scene)}
    atlas = atlas_identity(AtlasRequest.from_spec(scene.spec["atlas"], scene.doc.base_dir))
    software = software_versions()
    options = dict(options or {})
    parts = [scene_hash, files, atlas, software, options]
    fetched = {}
    if any(isinstance(s, dict) and "kind" in s for s in (scene.spec.get("sources") or {}).values()):
        from .fetch import fetched_records, fetched_sources  # lazy: start-up time (fetch loads the compiler)

        if fetched_sources(scene.spec):
            fetched = fetched_records(scene)
            # What was fetched (not when): the same bytes give the same digest.
            parts.append({name: None if records is None else sorted([str(r.get("what")), r.get("sha256")] for r in records)
                          for name, records in fetched.items()})
    digest = hashlib.sha256(_canonical(parts)).hexdigest()
    return Fingerprint(digest=digest, scene=scene_hash, files=files, atlas=atlas, software=software, options=options,
                       fetched=fetched)
