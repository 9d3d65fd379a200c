"""The ``scenerender`` command: one module per subcommand on a shared parser."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from ..errors import RenderError, SceneError
from . import atlas, batch, check_space, fetch, preview, provenance, render, schema, validate
from .._version import __version__
from ..paths import use_system_arrow_pool
from ..limits import LIMIT_NAMES, Limits, SANDBOX_ENV, LimitSyntaxError, env_name, parse_limit

SUBCOMMANDS = (render, batch, validate, check_space, schema, atlas, provenance, fetch, preview)

use_system_arrow_pool()  # before any table is read in this process


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scenerender",
        description="Render BrainGlobe brain scenes described in YAML, headlessly and reproducibly.")
    parser.add_argument("--version", action="version", version=f"scenerender {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(commands)
    for sub in commands.choices.values():
        add_safety_options(sub)
    return parser


def add_safety_options(parser: argparse.ArgumentParser) -> None:
    """--sandbox and --limit, on every subcommand (see scenerender.limits)."""
    defaults = Limits()
    parser.add_argument("--sandbox", metavar="ROOT", default=argparse.SUPPRESS,
                        help="refuse any file or folder a scene names (data, atlas, output) outside ROOT: "
                             "no absolute paths elsewhere, no '..' or symlinks out of it (env SCENERENDER_SANDBOX)")
    parser.add_argument("--limit", metavar="NAME=N", action="append", default=argparse.SUPPRESS,
                        help="raise or lower a limit (env SCENERENDER_MAX_NAME); limits and defaults: "
                             + ", ".join(f"{n}={getattr(defaults, n)}" for n in LIMIT_NAMES))
    parser.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                        help="never use the network: public data (MouseLight, NeuroMorpho, Allen) come from the "
                             "cache or a bundle, and a missing item is an error naming it (env SCENERENDER_OFFLINE=1)")


def apply_safety_options(args) -> None:
    """Put --sandbox and --limit into the environment: this process and every
    worker it starts read them from there."""
    changes = {}
    for item in getattr(args, "limit", None) or []:
        name, _, value = item.partition("=")
        try:
            changes[env_name(name.strip())] = str(parse_limit(name.strip(), value.strip()))
        except LimitSyntaxError as err:
            raise UsageError(f"--limit {item}: {err}; write NAME=N, e.g. --limit frames=5000") from None
    sandbox = getattr(args, "sandbox", None)
    if sandbox is not None:
        root = Path(sandbox).expanduser()
        if not root.is_dir():
            raise UsageError(f"--sandbox {sandbox}: not a folder; give the folder scenes may read and write in")
        changes[SANDBOX_ENV] = str(root.resolve())
    if getattr(args, "offline", False):
        changes["SCENERENDER_OFFLINE"] = "1"
    os.environ.update(changes)


def check_environment_limits() -> None:
    """SCENERENDER_MAX_<NAME> variables that are not numbers are a usage error (exit 2), found once here."""
    try:
        Limits.from_env()
    except LimitSyntaxError as err:
        raise UsageError(f"{err}; set it to a whole number, e.g. 5000000") from None


def describe_os_error(err: OSError) -> str:
    """``cannot write out.gif: no space left on device``: the file (its final
    name, not a temporary one) and the system's reason, in one line."""
    import re

    reason = (err.strerror or str(err)).lower()
    name = err.filename
    if name is None:
        return f"error: {reason}"
    path = Path(os.fsdecode(name))
    temporary = re.fullmatch(r"\.(.+)\.[A-Za-z0-9_]{8}(\.[^.]*)?", path.name)
    if temporary:  # mkstemp's name for the output being written
        path = path.with_name(temporary.group(1))
    return f"cannot write {path}: {reason}"


def _release(err: BaseException) -> None:
    """Free what a failed write left open (its frames hold the half-written
    file): closing it fails again (no space, file too large), and Python
    would print 'Exception ignored in ...' after our one line."""
    import gc

    sys.unraisablehook = lambda unraisable: None  # restored when main returns
    seen = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        cause.__traceback__ = None
        cause = cause.__context__ or cause.__cause__
    gc.collect()


class UsageError(Exception):
    """A command-line option is wrong (exit status 2)."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) arrived: unwind, removing temporary files, and exit 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_status = 128 + signum


def _on_signal(signum, frame):
    # Unwinding from here may interrupt a library half-way through building an
    # object, whose destructor then complains ("Exception ignored in ...") around
    # our one-line message; the interrupt is the only news.
    sys.unraisablehook = lambda unraisable: None
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failure, 2 invalid scene or usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = ["scenerender", *(sys.argv[1:] if argv is None else argv)]  # for provenance records
    _quiet_library_logs()
    previous_handlers = _unwind_on_signals()
    unraisablehook = sys.unraisablehook
    environ = dict(os.environ)
    try:
        return _run(args)
    finally:  # called in-process (tests, notebooks): leave the caller's environment and handlers as they were
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
        sys.unraisablehook = unraisablehook
        os.environ.clear()
        os.environ.update(environ)


def _quiet_library_logs() -> None:
    """Libraries (tifffile, dask...) log warnings that Python would print on stderr around our
    one-line messages; a handler on the root logger keeps them quiet."""
    root_logger = logging.getLogger()
    if not any(isinstance(h, logging.NullHandler) for h in root_logger.handlers):
        root_logger.addHandler(logging.NullHandler())


def _unwind_on_signals() -> dict:
    """In the main thread, make SIGINT and SIGTERM raise :class:`Interrupted`; the handlers they had
    (empty elsewhere: only the main thread can set them).

    SIGTERM's default would kill us mid-write; as an exception it unwinds like Ctrl-C: temporary
    files are removed, workers and ffmpeg are stopped."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    signals = (signal.SIGINT, signal.SIGTERM)
    previous_handlers = {s: signal.getsignal(s) for s in signals}
    for signum in signals:
        signal.signal(signum, _on_signal)
    return previous_handlers


def _run(args) -> int:
    """Run the subcommand; every error becomes one message on stderr and its exit status."""
    try:
        apply_safety_options(args)
        check_environment_limits()
        return int(args.run(args) or 0)
    except UsageError as err:
        print(f"scenerender: error: {err}", file=sys.stderr)
        return 2
    except SceneError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 2
    except RenderError as err:
        print(f"scenerender: error: {err}", file=sys.stderr)
        _release(err)
        return 1
    except MemoryError as err:
        _release(err)
        print("scenerender: error: out of memory; lower the limits (--limit) or free memory", file=sys.stderr)
        return 1
    except OSError as err:  # EROFS, EACCES, ENOSPC, ENAMETOOLONG, EIO... while writing: one line, exit 1
        print(f"scenerender: {describe_os_error(err)}", file=sys.stderr)
        _release(err)
        return 1
    except KeyboardInterrupt as err:
        print(f"scenerender: interrupted ({err.args[0] if err.args else 'SIGINT'}); no partial output left",
              file=sys.stderr)
        return getattr(err, "exit_status", 130)
    except Exception as err:  # a bug, not a user error: one line unless asked for more
        if os.environ.get("SCENERENDER_DEBUG"):
            raise
        print(f"scenerender: internal error: {type(err).__name__}: {err} "
              "(run with SCENERENDER_DEBUG=1 for the traceback and please report it)", file=sys.stderr)
        return 1


def run() -> None:
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written (atomically) and flushed; the interpreter's own
    # teardown (VTK, dask and zarr finalisers) would add ~0.5 s to every
    # command and do nothing for its result.
    os._exit(status)
