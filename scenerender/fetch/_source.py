"""What every fetched source kind shares: the fetcher (cache or bundle), the
records of what was fetched, and handing fetched bytes to the existing
bounded readers in :mod:`scenerender.sources`."""

from __future__ import annotations

import hashlib
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from ..errors import DataNotFetched
from ..limits import check_limit, over_limit
from ..paths import write_json_atomic
from ..sources._context import SourceContext
from ..sources.neuron import NeuronData
from ..sources.track import TrackData
from ..sources.volume import VolumeData
from .client import (MAX_CONCURRENT, Fetcher, FetchError, PinnedFetcher, Recorder, Request, base_url, cache_root,
                     pending_notes)

#: When a list (``scenerender fetch --to``), every source load appends the items it used.
COLLECT: list | None = None
#: Scene keys that say where data come from, not which data: left out of a query's identity.
_NOT_QUERY = ("pinned",)


@dataclass(frozen=True, eq=False)
class NeuronGroup(NeuronData):
    """Several fetched neurons drawn as one source: all branches, a soma each."""

    somas: tuple = ()
    fetched: tuple = ()


@dataclass(frozen=True, eq=False)
class TrackGroup(TrackData):
    """Several polylines (streamlines); ``points`` is the first."""

    lines: tuple = ()
    fetched: tuple = ()


@dataclass(frozen=True, eq=False)
class FetchedVolume(VolumeData):
    fetched: tuple = ()


def query_of(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in _NOT_QUERY}


def query_key(spec: dict) -> str:
    text = json.dumps(query_of(spec), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class FetchedContext(SourceContext):
    """A SourceContext whose 'file' is a fetched payload (for the existing readers)."""

    def __init__(self, ctx: SourceContext, path: Path, fmt: str):
        super().__init__(doc=ctx.doc, path=ctx.path, atlas=ctx.atlas)
        object.__setattr__(self, "_fetched", (Path(path), fmt))

    def file(self, spec, suffixes):
        path, fmt = self._fetched
        size = path.stat().st_size
        if size == 0:
            raise self.fail(f"the fetched {fmt} payload is empty")
        if not check_limit(size, "file_bytes"):
            raise self.fail(over_limit("the fetched payload is too large", size, "file_bytes", " bytes"))
        return path, fmt

    def fail(self, message, key=()):
        return super().fail(message, () if tuple(key) == ("path",) else key)


class Job:
    """One source load: its fetcher, what it used, and located errors."""

    def __init__(self, spec: dict, ctx: SourceContext):
        self.spec, self.ctx = spec, ctx
        self.recorder = Recorder()
        self.notes = pending_notes()  # validating: where a note on data not fetched yet goes
        if spec.get("pinned"):
            manifest = ctx.doc.resolve_path(ctx.path + ("pinned",), spec["pinned"], what="bundle manifest",
                                            error=type(ctx.fail("")))
            if not manifest.is_file():
                raise ctx.fail(f"bundle manifest {spec['pinned']!r} not found (looked for {manifest}); make it with "
                               "'scenerender fetch SCENE --to DIR'", ("pinned",))
            try:
                self.fetcher: Fetcher | PinnedFetcher = PinnedFetcher(manifest, recorder=self.recorder)
            except ValueError as err:
                raise ctx.fail(str(err), ("pinned",)) from None
        else:
            self.fetcher = Fetcher(recorder=self.recorder)

    def get(self, req: Request):
        try:
            return self.fetcher.get(req)
        except FetchError as err:
            raise FetchError(f"{self.where()}: {err}") from None
        except DataNotFetched as err:
            note = self.not_fetched_note(req)
            if self.notes is not None and all(n.path != note.path for n in self.notes):
                self.notes.append(note)
            raise DataNotFetched(f"{self.where()}: {err}") from None

    def not_fetched_note(self, req: Request):
        """The located note validation prints for a source whose data are not cached yet."""
        from urllib.parse import urlsplit

        host = urlsplit(base_url(req.service)).netloc or base_url(req.service)
        scene = self.ctx.doc.file
        bundle = f"'scenerender fetch {scene} --to DIR'" if not scene.startswith("<") else "'scenerender fetch'"
        return self.ctx.doc.problem(self.ctx.path, f"not fetched yet ({req.what}: not in the cache), so only its "
                                                   f"query was checked; rendering fetches it from {host}, or "
                                                   f"{bundle} makes a bundle for use offline")

    def map(self, load_one, names: list) -> list:
        """``load_one(name)`` for each name, at most MAX_CONCURRENT at a time; results in order."""
        if len(names) <= 1:
            return [load_one(n) for n in names]
        with ThreadPoolExecutor(MAX_CONCURRENT) as pool:
            return list(pool.map(load_one, names))

    def where(self) -> str:
        problem = self.ctx.doc.problem(self.ctx.path, "")
        place = f"{problem.file}:{problem.line}" if problem.line else problem.file
        return f"{place}: source {self.ctx.name!r}"

    def json(self, item, what: str):
        """A fetched JSON payload, parsed (bounded by the file_bytes limit)."""
        if not check_limit(item.size, "file_bytes"):
            raise self.ctx.fail(over_limit(f"{what} is too large", item.size, "file_bytes", " bytes"))
        try:
            return json.loads(item.path.read_bytes())
        except (ValueError, RecursionError) as err:
            raise self.ctx.fail(f"{what} from {item.url} is not valid JSON ({err.__class__.__name__})") from None

    def records(self) -> tuple:
        query = query_of(self.spec)
        items = sorted(self.recorder.items, key=lambda i: i.what)
        return tuple({**item.record(), "query": query} for item in items)

    def remember(self) -> tuple:
        """Store what this query resolved to (for fingerprints) and return the records."""
        records = self.records()
        if COLLECT is not None:
            COLLECT.extend(self.recorder.items)
        if not self.spec.get("pinned"):
            path = resolution_path(self.spec)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_json_atomic(path, {"records": list(records)})
            except OSError:
                pass  # a read-only cache still renders; the fingerprint then says 'not recorded'
        return records

    def read_with(self, ctx_spec: dict, data: bytes | Path, fmt: str, suffix: str, load):
        """Run an existing reader (``load(spec, ctx=...)``) on fetched bytes."""
        with tempfile.TemporaryDirectory(prefix="scenerender-fetch-") as tmp:
            if isinstance(data, Path):
                path = data
            else:
                path = Path(tmp) / f"payload{suffix}"
                path.write_bytes(data)
            return load({**ctx_spec, "path": str(path)}, ctx=FetchedContext(self.ctx, path, fmt))


def resolution_path(spec: dict) -> Path:
    """Where the latest resolution of a query (the items it used) is remembered, for fingerprints."""
    return cache_root() / "resolved" / f"{query_key(spec)}.json"


def group_neurons(neurons: list[NeuronData], records: tuple) -> NeuronGroup:
    regions = [n.node_regions for n in neurons]
    return NeuronGroup(
        soma=neurons[0].soma,
        branches=tuple(b for n in neurons for b in n.branches),
        nodes=np.concatenate([n.nodes for n in neurons]),
        node_regions=None if any(r is None for r in regions) else np.concatenate(cast(list[np.ndarray], regions)),
        soma_region=neurons[0].soma_region,
        somas=tuple(n.soma for n in neurons), fetched=records)
