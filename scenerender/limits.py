"""Configurable limits and the path sandbox: what a scene may ask for.

A batch server renders scenes it did not write, so every size a scene (or a
file it names) can blow up is bounded here, in one place, and every path a
scene names is resolved here (:func:`resolve_scene_path`), so a new actor,
source or output gets the same limits and sandbox for free.

Each limit has a default and is raised (or lowered) by an environment
variable ``SCENERENDER_MAX_<NAME>`` or the command-line option
``--limit NAME=VALUE``; the sandbox root by ``SCENERENDER_SANDBOX`` or
``--sandbox ROOT``. The command line writes its options into the
environment, so worker processes (``--jobs``, ``scenerender batch``) inherit
them.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterator

#: Environment variable naming the sandbox root; unset means no sandbox.
SANDBOX_ENV = "SCENERENDER_SANDBOX"


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what one scene may make scenerender do.

    Attributes
    ----------
    window_pixels : int
        Width x height of one image (default 8K UHD, 7680 x 4320).
    frames : int
        Frames of one animation (default 100000: 55 min at 30 fps).
    points : int
        Points, nodes or vertices of one data source.
    voxels : int
        Voxels of one volume source (read from the file header first).
    file_bytes : int
        Size of one data file a scene names.
    scene_bytes : int
        Size of a scene file (or YAML text).
    scene_values : int
        Values in a scene once YAML aliases are expanded (bounds alias bombs).
    scene_depth : int
        Nesting depth of a scene's mappings and lists.
    renders : int
        Renders one sweep may expand to.
    array_bytes : int
        Bytes of one array decoded from a data file (checked against its
        header before reading, and while decompressing).
    table_columns : int
        Columns of one table (CSV/TSV, NPY, HDF5).
    line_bytes : int
        Bytes of one line of a text data file (CSV/TSV, SWC, OBJ, ASCII PLY/STL).
    value_magnitude : int
        Largest absolute value of a number in a scene or a data file's coordinates.
    """

    window_pixels: int = 7680 * 4320
    frames: int = 100_000
    points: int = 50_000_000
    voxels: int = 1_000_000_000
    file_bytes: int = 8 * 1024**3
    scene_bytes: int = 16 * 1024**2
    scene_values: int = 1_000_000
    scene_depth: int = 64
    renders: int = 100_000
    array_bytes: int = 2 * 1024**3
    table_columns: int = 1_000
    line_bytes: int = 1024**2
    value_magnitude: int = 10**15

    @classmethod
    def from_env(cls) -> "Limits":
        """The defaults, overridden by ``SCENERENDER_MAX_<NAME>`` variables."""
        values = {}
        for f in fields(cls):
            text = os.environ.get(env_name(f.name))
            if text:
                try:
                    values[f.name] = parse_limit(f.name, text)
                except LimitSyntaxError as err:
                    raise LimitSyntaxError(f"environment variable {env_name(f.name)}: {err}") from None
        return cls(**values)


def env_name(name: str) -> str:
    """The environment variable of limit ``name``: ``SCENERENDER_MAX_FRAMES``."""
    return f"SCENERENDER_MAX_{name.upper()}"


LIMIT_NAMES = tuple(f.name for f in fields(Limits))


class LimitSyntaxError(ValueError):
    """A limit given on the command line or in the environment is not a number."""


def over_values(what: str, count: int, per_point: int = 3) -> str | None:
    """A message when ``count`` values exceed ``per_point`` x the points limit
    (the points limit counts values, so a table of few rows but millions of
    columns is bounded too); ``None`` when within it."""
    limit = current_limits().points * per_point
    if count <= limit:
        return None
    return (f"{what}: {count:,} values is over the limit of {limit:,} ({per_point} x points); "
            f"{how_to_raise('points')}")


def parse_limit(name: str, text: str) -> int:
    """A limit's value: a positive whole number (``1_000_000`` and ``1e6`` work)."""
    if name not in LIMIT_NAMES:
        raise LimitSyntaxError(f"unknown limit {name!r}; limits are {', '.join(LIMIT_NAMES)}")
    text = text.strip()
    if len(text) > 40:  # int() of thousands of digits is slow, and no limit needs them
        raise LimitSyntaxError(f"limit {name}={text[:20]!r}... is too long a number; give at most 40 characters")
    try:
        value = float(text.replace("_", "")) if any(c in text for c in ".eE") else int(text.replace("_", ""))
    except ValueError:
        raise LimitSyntaxError(f"limit {name}={text!r} is not a number") from None
    if not value >= 1 or value != value or value == float("inf") or value >= 2**63:
        raise LimitSyntaxError(f"limit {name}={text!r} must be a whole number from 1 to 2**63-1")
    return int(value)


def current_limits() -> Limits:
    """The limits in force now (read from the environment each time, so a
    change by :func:`override` or the command line applies at once)."""
    return Limits.from_env()


def how_to_raise(name: str) -> str:
    """The sentence every limit message ends with."""
    return f"raise it with --limit {name}=N or {env_name(name)}=N"


def over_limit(what: str, value: int, name: str, unit: str = "") -> str:
    """``'<what>: <value> is over the limit of N (<name>); raise it with ...'``."""
    limit = getattr(current_limits(), name)
    return f"{what}: {value:,}{unit} is over the limit of {limit:,}{unit} ({name}); {how_to_raise(name)}"


def check_limit(value: int, name: str) -> bool:
    """Whether ``value`` is within limit ``name``."""
    return value <= getattr(current_limits(), name)


@contextlib.contextmanager
def override(*, sandbox: str | Path | None = None, **limits: int) -> Iterator[Limits]:
    """Use other limits (and a sandbox root) inside a ``with`` block, e.g.
    ``with override(frames=100, sandbox="/data"): render(...)``.

    They are set in the environment, so worker processes started inside the
    block inherit them; the previous values are restored afterwards.
    """
    changes = {env_name(k): str(parse_limit(k, str(v))) for k, v in limits.items()}
    if sandbox is not None:
        changes[SANDBOX_ENV] = str(Path(sandbox).expanduser().resolve())
    before = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield current_limits()
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sandbox_root() -> Path | None:
    """The folder every path a scene names must lie in, or None (no sandbox)."""
    root = os.environ.get(SANDBOX_ENV)
    return Path(root).expanduser().resolve() if root else None


class PathRefused(ValueError):
    """A path a scene names cannot be used; the message says why and what to do."""


def resolve_scene_path(value: str, base_dir: Path, *, what: str = "file") -> Path:
    """The absolute path of ``value`` (relative to ``base_dir``, the scene's
    folder), with symlinks resolved, checked against the sandbox.

    This is the one place paths in scenes are resolved: data sources, atlas
    folders and recipes, sweep tables and outputs all come through here.

    Raises
    ------
    PathRefused
        For an empty path or NUL byte, a symlink loop, or (with a sandbox) a
        path that resolves outside the sandbox root, be it absolute, through
        ``..`` or through a symlink.
    """
    if not value or "\0" in value:
        raise PathRefused(f"{what} {value!r} is not a path")
    root = sandbox_root()
    raw = Path(value)
    if root is not None and value.startswith("~"):  # never expanded inside a sandbox
        raise PathRefused(f"{what} {value!r} points into a home folder, outside the sandbox {root}; "
                          "give a path relative to the scene file")
    try:
        path = (base_dir / (raw if root is not None else raw.expanduser())).resolve()
    except RuntimeError as err:  # Python < 3.13 raises RuntimeError on a symlink loop
        raise PathRefused(f"{what} {value!r} is a symlink loop ({err}); point it at a real file") from None
    except OSError as err:  # e.g. ELOOP, a name too long
        raise PathRefused(f"{what} {value!r} cannot be resolved: {err.strerror or err}") from None
    if root is not None and not path.is_relative_to(root):
        raise PathRefused(f"{what} {value!r} resolves to {path}, outside the sandbox {root}; "
                          "only files inside the sandbox may be used (paths relative to the file that names them, "
                          "no '..' out of it, no absolute paths or symlinks elsewhere)")
    return path


def check_input_file(path: Path, *, what: str = "file", shown: str | None = None, folder: bool = False,
                     missing_ok: bool = False) -> int:
    """Check that the resolved ``path`` is something scenerender may read
    without blocking or walking the file system: a regular file within the
    ``file_bytes`` limit (or, with ``folder=True``, a folder), before it is
    opened. Returns its size (0 for a folder).

    Raises
    ------
    PathRefused
        When it is missing (unless ``missing_ok``: then -1), a folder (unless allowed), a FIFO, device or
        socket, or larger than the ``file_bytes`` limit.
    """
    import stat

    shown = shown or str(path)
    try:
        st = os.stat(path)  # stat never blocks, even on a FIFO
    except FileNotFoundError:
        if missing_ok:
            return -1
        raise PathRefused(f"{what} {shown!r} not found (looked for {path}); paths are relative to the file "
                          "that names them") from None
    except OSError as err:
        raise PathRefused(f"{what} {shown!r} cannot be read: {err.strerror or err}") from None
    if stat.S_ISDIR(st.st_mode):
        if folder:
            return 0
        raise PathRefused(f"{what} {shown!r} is a folder; name a file in it")
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or \
            stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
        raise PathRefused(f"{what} {shown!r} is {kind}, not a regular file; name a regular file")
    if not check_limit(st.st_size, "file_bytes"):
        raise PathRefused(over_limit(f"{what} {shown!r} is too large", st.st_size, "file_bytes", " bytes"))
    return st.st_size


def resolve_input_file(value: str, base_dir: Path, *, what: str = "file", folder: bool = False) -> Path:
    """:func:`resolve_scene_path` and :func:`check_input_file` together: the
    one way to turn a path a file names into something safe to open."""
    path = resolve_scene_path(value, base_dir, what=what)
    check_input_file(path, what=what, shown=value, folder=folder)
    return path
