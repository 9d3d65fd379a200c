"""HTTP client and on-disk cache for public data services.

One :class:`Request` is one HTTP exchange (method, service path, query
string, JSON body). Its cache key is the SHA-256 of those four, *not* of the
host, so a mirror or a loopback test server gives the same key. A fetched
body is written to the cache atomically (temporary file, ``fsync``, rename)
and only then described by a small JSON record (URL, retrieval time, size,
SHA-256); an entry is used only when its bytes still hash to the recorded
SHA-256, otherwise it is removed and fetched again. A per-key lock file makes
concurrent processes (batch workers) fetch each item once.

Network use:

- ``requests`` with a timeout on every call, a User-Agent naming
  scenerender and its version, certificate verification always on;
- up to ``SCENERENDER_FETCH_RETRIES`` attempts (default 3) on connection
  errors, broken or truncated bodies, 429 and 5xx, with exponential backoff;
- at most :data:`MAX_CONCURRENT` requests in flight per process.

``SCENERENDER_OFFLINE=1`` (or ``--offline``) never touches the network: a
request not in the cache is an error naming the item. Validation
(:func:`cache_only`) never touches it either: a request not in the cache
raises :class:`~scenerender.errors.DataNotFetched`, which validation reports
as a note (the data are fetched at render time), not as an error.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import DataNotFetched, RenderError
from .._version import __version__
from ..limits import check_limit, PathRefused, resolve_scene_path

#: Default hosts; each can be overridden with ``SCENERENDER_<SERVICE>_URL``.
BASE_URLS = {
    "mouselight": "https://ml-neuronbrowser.janelia.org",
    "neuromorpho": "https://neuromorpho.org",
    "allen": "https://api.brain-map.org",
    "allen_streamlines": "https://storage.googleapis.com/allen_neuroglancer_ccf/allen_mesoscale",
}
SERVICE_NAMES = {"mouselight": "MouseLight", "neuromorpho": "NeuroMorpho.org", "allen": "the Allen Brain Atlas API",
                 "allen_streamlines": "the Allen connectivity streamlines store"}
OFFLINE_ENV = "SCENERENDER_OFFLINE"
CACHE_ENV = "SCENERENDER_CACHE_DIR"
#: Requests in flight at once in one process (be polite to small academic servers).
MAX_CONCURRENT = 4
_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)
_CHUNK = 1 << 16
#: While validating: the list that collects a note per source whose data are not cached yet.
_CACHE_ONLY: contextvars.ContextVar[list | None] = contextvars.ContextVar("scenerender_cache_only", default=None)


class FetchError(RenderError):
    """A public data item could not be fetched (exit status 1); the message is one line."""


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def cache_only():
    """Answer every request made inside from the cache (or a bundle) only, never the network.

    Yields a list that collects one :class:`~scenerender.errors.Problem` per
    source whose data are not in the cache (a note: they are fetched at
    render time); such a source raises
    :class:`~scenerender.errors.DataNotFetched`. Used by validation.
    """
    notes: list = []
    token = _CACHE_ONLY.set(notes)
    try:
        yield notes
    finally:
        _CACHE_ONLY.reset(token)


def pending_notes() -> list | None:
    """The notes list of the enclosing :func:`cache_only`, or ``None`` outside one."""
    return _CACHE_ONLY.get()


def base_url(service: str) -> str:
    return os.environ.get(f"SCENERENDER_{service.upper()}_URL", BASE_URLS[service]).rstrip("/")


def cache_root() -> Path:
    """``public/`` in ``SCENERENDER_CACHE_DIR``, else in the platform's user cache folder
    (``~/.cache/scenerender/public`` on Linux), next to the built atlases."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser() / "public"
    import platformdirs

    return Path(platformdirs.user_cache_dir("scenerender")) / "public"


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def user_agent() -> str:
    return f"scenerender/{__version__} (declarative brain rendering; python-requests)"


@dataclass(frozen=True)
class Request:
    """One HTTP exchange with a service, independent of the host serving it."""

    service: str
    method: str
    path: str
    query: str = ""
    body: dict | None = None
    #: What this is, for people: "MouseLight neuron AA0052".
    what: str = ""
    #: "json" bodies must parse as JSON before they are cached.
    expect: str = "bytes"
    #: The file name extension of the cached payload.
    suffix: str = ".bin"
    #: The service's id of the item (neuron id or name, experiment id); empty for searches.
    item_id: str = ""

    @property
    def key(self) -> str:
        canonical = json.dumps([self.service, self.method, self.path, self.query, self.body], sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def url(self) -> str:
        return base_url(self.service) + self.path + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class Item:
    """A fetched payload on disk and where it came from (its provenance)."""

    key: str
    path: Path
    sha256: str
    size: int
    service: str
    what: str
    id: str
    url: str
    method: str
    body: dict | None
    retrieved: str

    def record(self) -> dict:
        out = asdict(self)
        out.pop("path")
        return out


@dataclass
class Recorder:
    """Collects every item a source used (for provenance and bundles)."""

    items: list[Item] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, item: Item) -> None:
        with self._lock:
            if all(i.key != item.key for i in self.items):
                self.items.append(item)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _check_body(data_path: Path, expect: str) -> None:
    if expect == "json":
        size = data_path.stat().st_size
        if not check_limit(size, "file_bytes"):
            raise ValueError("the reply is too large")
        try:
            json.loads(data_path.read_bytes())
        except (ValueError, RecursionError) as err:
            raise ValueError(f"the reply is not JSON ({err.__class__.__name__})") from None


def _retried_status(code: int, *, name: str, req: Request, url: str, host: str) -> str:
    """What an HTTP status other than 200 means: for 429 and 5xx, the reason to give if the retries run
    out; any other status fails the fetch at once (404 says to check the id)."""
    if code == 404:
        raise FetchError(f"{name}: {req.what or 'item'} not found (HTTP 404 for {url}); "
                         "check the id or name") from None
    last = f"{host} answered HTTP {code}"
    if code == 429 or code >= 500:
        return last
    raise FetchError(f"{name}: {req.what or url}: {last} for {url}") from None


def _cache_item(req: Request, url: str, tmp: Path, data: Path, meta: Path) -> Item:
    """Move a received payload into its place in the cache and record where and when it came from."""
    digest, size = sha256_file(tmp), tmp.stat().st_size
    os.replace(tmp, data)
    retrieved = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = {"url": url, "method": req.method, "body": req.body, "what": req.what, "size": size,
              "sha256": digest, "retrieved": retrieved}
    _write_atomic(meta, json.dumps(record, indent=1).encode())
    return Item(key=req.key, path=data, sha256=digest, size=size, service=req.service, what=req.what,
                id=req.item_id, url=url, method=req.method, body=req.body, retrieved=retrieved)


class Fetcher:
    """Answers requests from the cache, fetching what is missing unless offline."""

    def __init__(self, *, root: Path | None = None, offline_only: bool | None = None, recorder: Recorder | None = None):
        self.root = root or cache_root()
        self.offline = offline() if offline_only is None else offline_only
        self.recorder = recorder
        #: Validating: answer from the cache only (read here, in the thread that starts the source's load).
        self.cache_only = pending_notes() is not None

    # -- cache --------------------------------------------------------------
    def _paths(self, req: Request) -> tuple[Path, Path]:
        folder = self.root / req.service / req.key[:2]
        return folder / f"{req.key}{req.suffix}", folder / f"{req.key}.meta.json"

    def cached(self, req: Request) -> Item | None:
        """The cache entry for ``req`` when present and intact; a corrupt one is removed."""
        data, meta = self._paths(req)
        if not meta.exists():
            return None
        try:
            record = json.loads(meta.read_text(encoding="utf-8"))
            ok = data.stat().st_size == record["size"] and sha256_file(data) == record["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if not ok:  # never used silently: dropped and fetched again
            for p in (meta, data):
                p.unlink(missing_ok=True)
            return None
        return Item(key=req.key, path=data, sha256=record["sha256"], size=record["size"], service=req.service,
                    what=req.what, id=req.item_id, url=record["url"], method=req.method, body=req.body,
                    retrieved=record["retrieved"])

    def get(self, req: Request) -> Item:
        """The payload of ``req``: from the cache, else fetched (once, even across processes)."""
        item = self.cached(req)
        if item is None:
            if self.cache_only:
                raise DataNotFetched(f"{req.what or req.url()} is not in the cache ({self.root})")
            if self.offline:
                raise FetchError(f"offline: {req.what or req.url()} is not in the cache ({self.root}); "
                                 f"fetch it once with network ('scenerender fetch SCENE'), or drop --offline / "
                                 f"{OFFLINE_ENV}")
            data, _ = self._paths(req)
            data.parent.mkdir(parents=True, exist_ok=True)
            (self.root / ".locks").mkdir(exist_ok=True)
            with _locked(self.root / ".locks" / f"{req.key}.lock"):
                item = self.cached(req) or self._download(req)
        if self.recorder is not None:
            self.recorder.add(item)
        return item

    # -- network ------------------------------------------------------------
    def _download(self, req: Request) -> Item:
        """Fetch ``req`` into the cache, retrying (with backoff) what may pass: no reply, a broken
        reply, HTTP 429 or 5xx."""
        import requests

        url = req.url()
        attempts = int(_env_number("SCENERENDER_FETCH_RETRIES", 3))
        timeout = _env_number("SCENERENDER_FETCH_TIMEOUT", 30.0)
        backoff = _env_number("SCENERENDER_FETCH_BACKOFF", 1.0)
        data, meta = self._paths(req)
        name = SERVICE_NAMES.get(req.service, req.service)
        host = urlsplit(url).netloc
        last = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                with _SLOTS:
                    tmp = self._receive(req, url, timeout)
            except requests.exceptions.SSLError as err:
                raise FetchError(f"{name}: TLS problem talking to {host} ({_reason(err)}); certificate checks are "
                                 "never turned off: if your network inspects TLS, point REQUESTS_CA_BUNDLE at its "
                                 "CA file") from None
            except requests.exceptions.Timeout:
                last = f"no reply from {host} within {timeout:g} s"
                continue
            except requests.exceptions.ConnectionError as err:
                last = f"cannot reach {host} ({_reason(err)}); the service may be down"
                continue
            except requests.exceptions.RequestException as err:  # broken or truncated body
                last = f"the reply from {host} broke off ({_reason(err)})"
                continue
            except _Status as status:
                last = _retried_status(status.code, name=name, req=req, url=url, host=host)
                continue
            except ValueError as err:  # a body that is not what the service sends (an error page, cut JSON)
                last = f"unusable reply from {host}: {err}"
                continue
            return _cache_item(req, url, tmp, data, meta)
        raise FetchError(f"{name}: cannot fetch {req.what or url}: {last} (tried {attempts} times; "
                         f"{url}); try again later, or use a bundle made with 'scenerender fetch'")

    def _receive(self, req: Request, url: str, timeout: float) -> Path:
        """Stream the body into a temporary file in the cache folder; bounded and checked."""
        import requests

        data, _ = self._paths(req)
        headers = {"User-Agent": user_agent(), "Accept-Encoding": "gzip"}
        response = requests.request(req.method, url, json=req.body, headers=headers, timeout=timeout, stream=True,
                                    allow_redirects=True, verify=True)
        return self._keep(req, response, data)

    def _keep(self, req: Request, response, data: Path) -> Path:
        with response:
            if response.status_code != 200:
                raise _Status(response.status_code)
            fd, name = tempfile.mkstemp(prefix=f".{req.key}.", suffix=".part", dir=data.parent)
            tmp = Path(name)
            try:
                total = 0
                with os.fdopen(fd, "wb") as fh:
                    for chunk in response.iter_content(_CHUNK):
                        total += len(chunk)
                        if not check_limit(total, "file_bytes"):
                            raise ValueError("the reply exceeds the file_bytes limit (raise it with --limit "
                                             "file_bytes=N)")
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
                expected = response.headers.get("Content-Length")
                if expected and "Content-Encoding" not in response.headers and int(expected) != total:
                    raise ValueError(f"got {total} of {expected} bytes")
                if total == 0:
                    raise ValueError("the reply is empty")
                _check_body(tmp, req.expect)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        return tmp


class PinnedFetcher:
    """Answers requests from a bundle manifest written by ``scenerender fetch --to``; never the network."""

    def __init__(self, manifest: Path, recorder: Recorder | None = None):
        self.manifest = Path(manifest)
        self.recorder = recorder
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
            self.items = dict(data["items"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"cannot read the bundle manifest {self.manifest.name}: {err}") from None

    def get(self, req: Request) -> Item:
        entry = self.items.get(req.key)
        if not isinstance(entry, dict):
            raise FetchError(f"the bundle {self.manifest} has no {req.what or req.url()}; it was made for another "
                             "query: run 'scenerender fetch' again")

        try:
            path = resolve_scene_path(str(entry["file"]), self.manifest.parent, what="bundle file")
        except PathRefused as err:
            raise FetchError(f"{self.manifest}: {err}") from None
        if not path.is_file() or sha256_file(path) != entry.get("sha256"):
            raise FetchError(f"{path} is missing or changed (its SHA-256 is not the one in {self.manifest.name}); "
                             "fetch the bundle again")
        item = Item(key=req.key, path=path, sha256=entry["sha256"], size=path.stat().st_size, service=req.service,
                    what=req.what, id=req.item_id, url=str(entry.get("url", "")), method=req.method, body=req.body,
                    retrieved=str(entry.get("retrieved", "")))
        if self.recorder is not None:
            self.recorder.add(item)
        return item


class _Status(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _reason(err: Exception) -> str:
    """The innermost reason of a requests error, on one line."""
    text = str(err)
    for marker in ("Caused by ", "] "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    text = " ".join(text.replace("'", "").replace('"', "").split())[:200]
    return text.rstrip(")") or err.__class__.__name__


def _write_atomic(path: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    finally:
        if os.path.exists(name):
            os.unlink(name)


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock between processes (and threads) on ``path``."""
    import fcntl

    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
