"""Public data by name: MouseLight, NeuroMorpho.org, Allen gene expression and
Allen connectivity streamlines, fetched, cached, pinned and recorded.

Each service is a source kind (one module here, one ``$defs`` entry in the
scene schema) that declares ``PROVIDES`` (the kind actors draw it as) and
its coordinate convention, fetches through :mod:`scenerender.fetch.client`
(cache, retries, offline) and reads the bytes with the existing readers of
:mod:`scenerender.sources`. Nothing here is imported when a scene has no
fetched source.
"""

from __future__ import annotations

import json
from ..compile import _open_atlas
from ..limits import resolve_scene_path
from ..sources import SourceContext, load_source
from ._source import query_of, resolution_path

#: Source kinds that fetch public data.
FETCHED_KINDS = ("mouselight", "neuromorpho", "allen_gene_expression", "allen_streamlines")


def fetched_sources(spec: dict) -> dict[str, dict]:
    """The scene's sources that fetch public data, by name."""
    return {name: s for name, s in (spec.get("sources") or {}).items()
            if isinstance(s, dict) and s.get("kind") in FETCHED_KINDS}


def fetched_records(scene) -> dict[str, list | None]:
    """What each fetched source of ``scene`` resolved to (service, query, URL, id,
    retrieval time, SHA-256 per item), from the bundle manifest or the cache;
    ``None`` for a source not fetched yet. Reads no network and opens no atlas."""
    found: dict[str, list | None] = {}
    sources = fetched_sources(scene.spec)
    if not sources:
        return found
    for name, spec in sources.items():
        records = None
        try:
            if spec.get("pinned"):
                manifest = json.loads(resolve_scene_path(spec["pinned"], scene.doc.base_dir).read_text())
                records = [{**entry, "query": query_of(spec)} for entry in manifest["items"].values()]
                for entry in records:
                    entry.pop("file", None)
            else:
                records = json.loads(resolution_path(spec).read_text())["records"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            records = None
        found[name] = sorted(records, key=lambda r: str(r.get("what"))) if isinstance(records, list) else None
    return found


def prefetch(scene, atlas_cache: dict | None = None) -> None:
    """Fetch the public data of ``scene`` that the cache has not resolved yet
    (batch planning: each item once, before workers render). Cheap when all is cached."""
    sources = fetched_sources(scene.spec)
    missing = [name for name, records in fetched_records(scene).items()
               if records is None and not sources[name].get("pinned")]
    if not missing:
        return

    atlas = _open_atlas(scene, atlas_cache)
    for name in missing:
        load_source(name, sources[name], ctx=SourceContext(doc=scene.doc, path=("sources", name), atlas=atlas))


__all__ = ["FETCHED_KINDS", "fetched_records", "fetched_sources", "prefetch"]
