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

    @classmethod
    def from_env(cls) -> "Limits":
        """The defaults, overridden by ``SCENERENDER_MAX_<NAME>`` variables."""
        values = {}
        for f in fields(cls):
            text = os.environ.get(env_name(f.name))
            if text:
                values[f.name] = parse_limit(f.name, text)
        return cls(**values)


def env_name(name: str) -> str:
    """The environment variable of limit ``name``: ``SCENERENDER_MAX_FRAMES``."""
    return f"SCENERENDER_MAX_{name.upper()}"


LIMIT_NAMES = tuple(f.name for f in fields(Limits))


class LimitSyntaxError(ValueError):
    """A limit given on the command line or in the environment is not a number."""


def parse_limit(name: str, text: str) -> int:
    """A limit's value: a positive whole number (``1_000_000`` and ``1e6`` work)."""
    if name not in LIMIT_NAMES:
        raise LimitSyntaxError(f"unknown limit {name!r}; limits are {', '.join(LIMIT_NAMES)}")
    try:
        value = float(text.replace("_", "")) if any(c in text for c in ".eE") else int(text.replace("_", ""))
    except ValueError:
        raise LimitSyntaxError(f"limit {name}={text!r} is not a number") from None
    if not value >= 1 or value != value or value == float("inf"):
        raise LimitSyntaxError(f"limit {name}={text!r} must be a whole number of at least 1")
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
