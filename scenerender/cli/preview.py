"""``scenerender preview SCENE`` - a local page that re-renders the scene on every save."""

from __future__ import annotations

import sys
from pathlib import Path
from .render import _size


def register(commands) -> None:
    p = commands.add_parser("preview", help="serve a page that re-renders a scene each time it is saved",
                            description="Serve a local web page showing the scene, re-rendered in this warm "
                                        "process within about a second of each save, with validation problems "
                                        "(file:line), an interactive 3-D view and 'copy camera'. Over SSH: "
                                        "ssh -L 8765:127.0.0.1:8765 server, then open http://127.0.0.1:8765/.")
    p.add_argument("scene", type=Path, help="scene YAML file (it may be invalid while you edit it)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: only this machine can connect)")
    p.add_argument("--size", type=_size, help="draw at this size, e.g. 800x600 (default: the scene's size, "
                                              "shrunk to fit 800 pixels)")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import preview  # lazy: start-up time (--help loads every command's module)
    from . import UsageError  # lazy: cli/__init__ imports this module before it defines UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: give a port from 1 to 65535 (0: any free port)")
    if args.scene.is_dir() or not args.scene.parent.is_dir():
        raise UsageError(f"{args.scene}: name a scene file (it may not exist yet) in an existing folder")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"scenerender: note: --host {args.host} lets other machines see this scene's renders; "
              "the default 127.0.0.1 (with SSH port forwarding) keeps them on this machine", file=sys.stderr)
    try:
        preview.serve(args.scene, host=args.host, port=args.port, size=args.size,
                      announce=lambda line: print(line, file=sys.stderr, flush=True))
    except OSError as err:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}; "
                         "choose another --port") from None
    return 0
