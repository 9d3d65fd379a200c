"""Where things live on disk by default (shared by the atlas loader, catalogue and packager),
and writing a small file so that no reader ever sees it half-written."""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from .errors import RenderError
from .limits import PathRefused, check_input_file

_BLOCK = 1 << 20  # hash files a MiB at a time


def default_brainglobe_dir() -> Path:
    """The BrainGlobe folder from BrainGlobe's own config file, read as
    ``brainglobe_atlasapi.config`` reads it (``$BRAINGLOBE_CONFIG_DIR`` or
    ``~/.config/brainglobe``, ``bg_config.conf``; default ``~/.brainglobe``),
    without importing brainglobe-atlasapi (which loads dask, zarr and s3fs) and
    without writing a default config file where none exists."""
    config_dir = Path(os.environ.get("BRAINGLOBE_CONFIG_DIR", Path.home() / ".config" / "brainglobe"))
    conf = configparser.ConfigParser()
    conf.read(config_dir / "bg_config.conf")
    try:
        return Path(conf["default_dirs"]["brainglobe_dir"])
    except KeyError:
        return Path.home() / ".brainglobe"


def check_output_folder(path: Path) -> None:
    """Fail, naming the folder, when the folder an output goes into does not exist."""
    path = Path(path)
    if not path.parent.exists():
        raise RenderError(f"{path}: folder {path.parent} does not exist; create it first")


def write_json_atomic(path: Path, data: dict) -> Path:
    """Write ``data`` as JSON to ``path`` via a temporary file and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


@lru_cache(maxsize=4096)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_BLOCK):
            h.update(chunk)
    return h.hexdigest()


def file_digest(path: Path) -> str | None:
    """SHA-256 of a file's bytes; ``None`` when it does not exist or is not
    something scenerender reads (a folder, FIFO, device, or a file over the
    ``file_bytes`` limit: hashing one could block or never end)."""
    path = Path(path)
    try:
        if check_input_file(path, missing_ok=True) < 0:
            return None
        st = path.stat()
        return _file_sha256(str(path), st.st_size, st.st_mtime_ns)
    except (PathRefused, OSError):
        return None


def use_system_arrow_pool() -> None:
    """Make pyarrow's default memory pool the system allocator, in a process scenerender owns
    (a command, a render worker), unless the environment chose one.

    pandas parses tables through pyarrow's default pool where pyarrow is installed (brainglobe's
    packages install it); its jemalloc pool reserves ~1 GiB of address space on first use, enough to
    make a command fail under an address-space limit (ulimit -v, cluster job limits). The system
    allocator reserves nothing. The Python API leaves the caller's choice alone.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
