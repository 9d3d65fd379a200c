"""The ``scenerender`` command: one module per subcommand on a shared parser."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import RenderError, SceneError
from . import atlas, batch, provenance, render, schema, validate

SUBCOMMANDS = (render, batch, validate, schema, atlas, provenance)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="scenerender",
        description="Render BrainGlobe brain scenes described in YAML, headlessly and reproducibly.")
    parser.add_argument("--version", action="version", version=f"scenerender {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failure, 2 invalid scene or usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = ["scenerender", *(sys.argv[1:] if argv is None else argv)]  # for provenance records
    try:
        return int(args.run(args) or 0)
    except SceneError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 2
    except RenderError as err:
        print(f"scenerender: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        print("scenerender: interrupted", file=sys.stderr)
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
