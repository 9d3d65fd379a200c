"""``scenerender fetch SCENE... --to DIR``: a scene and everything it reads, in one folder.

For each scene, every fetched source is resolved (from the cache, or the
network unless offline) and its payloads are copied to ``DIR/data/`` with a
manifest per source (item -> file, SHA-256, URL, retrieval time). The scene
is written to ``DIR/<scene file name>`` with ``pinned: <manifest>`` on each
fetched source, so it reads the copies and never the network; the local
data files it names are copied to ``DIR/files/`` and pointed at. Payloads
shared by several scenes are stored once.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import yaml

from . import _source, fetched_sources
from ..compile import _open_atlas, load_scene
from ..document import read_scene
from ..errors import SceneError
from ..paths import file_digest, write_json_atomic
from ..schema import file_references
from ..sources import SourceContext, load_source
from ..sweep import has_sweep

BUNDLED_MARK = "bundled by 'scenerender fetch'"
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/scene.schema.json"


def _set(data: dict, path: tuple, value) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _copy_into(src: Path, folder: Path, name: str) -> None:
    """Copy atomically (never a half-written file in the bundle)."""
    target = folder / name
    if target.exists():
        return
    tmp = folder / f".{name}.part"
    shutil.copyfile(src, tmp)
    tmp.replace(target)


def _bundled_name(doc, path, value: str, resolved: Path) -> str:
    """A data file's name in the bundle: its digest, then its own name."""
    digest = file_digest(resolved)
    if digest is None:  # a FIFO or device, or over the file_bytes limit
        raise SceneError(doc.problem(path, f"file {value!r} is not a regular file within the file_bytes limit, "
                                           "so it cannot be bundled"))
    return f"{digest[:12]}-{resolved.name}"


def bundle_scene(scene_file: Path, to: Path, *, atlas_cache: dict | None = None) -> tuple[Path, int]:
    """Write the bundle of one scene; returns the written scene and the number of items."""
    scene_file = Path(scene_file)

    doc = read_scene(scene_file)
    if has_sweep(doc):
        raise SceneError(doc.problem(("sweep",), "scenerender fetch bundles scenes without a sweep; bundle the "
                                                 "sweep's base scene", key=True))
    scene = load_scene(doc)
    raw = copy.deepcopy(doc.data)
    data_dir, files_dir = to / "data", to / "files"
    data_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    sources = fetched_sources(scene.spec)
    if sources:
        atlas = _open_atlas(scene, atlas_cache)
        for name, spec in sources.items():
            collected: list = []
            _source.COLLECT = collected
            try:
                load_source(name, spec, ctx=SourceContext(doc=doc, path=("sources", name), atlas=atlas))
            finally:
                _source.COLLECT = None
            items = {}
            for item in collected:
                file_name = f"{item.key}{item.path.suffix}"
                _copy_into(item.path, data_dir, file_name)
                record = item.record()
                record.pop("key")
                items[item.key] = {"file": file_name, **record}
            manifest = f"{scene_file.stem}.{name}.json"
            write_json_atomic(data_dir / manifest, {"scenerender_bundle": 1, "source": name,
                                                    "query": _source.query_of(spec), "items": items})
            raw["sources"][name]["pinned"] = f"data/{manifest}"
            count += len(items)
    for path, value in file_references(scene.spec):
        if path[-1] == "pinned" and path[0] == "sources" and path[1] in sources:
            continue
        resolved = doc.resolve_path(path, value, what="file")
        if path[0] == "atlas" or resolved.is_dir():  # atlases stay where they are (BrainGlobe folder, local path)
            _set(raw, path, str(resolved))
            continue
        if not resolved.is_file():
            raise SceneError(doc.problem(path, f"file {value!r} not found (looked for {resolved})"))
        files_dir.mkdir(exist_ok=True)
        name = _bundled_name(doc, path, value, resolved)
        _copy_into(resolved, files_dir, name)
        _set(raw, path, f"files/{name}")
    out = to / scene_file.name
    if out.exists() and BUNDLED_MARK not in out.read_text(encoding="utf-8", errors="replace")[:400]:
        raise SceneError(doc.problem((), f"{out} exists and is not a bundle scene; scenerender fetch does not "
                                         "overwrite it: choose another --to folder"))
    text = SCHEMA_LINE + "\n" + f"# {BUNDLED_MARK} from {scene_file.name}: reads data/ and files/, " \
        "never the network\n" + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out, count
