"""``scenerender validate SCENE...`` - check scenes without rendering."""

from __future__ import annotations

import sys
from pathlib import Path


def register(commands) -> None:
    p = commands.add_parser("validate", help="check scenes against the schema",
                            description="Check scene files against the scene schema; exit 2 if any is invalid.")
    p.add_argument("scenes", nargs="+", type=Path, metavar="SCENE", help="scene YAML files")
    p.add_argument("--resolve", action="store_true",
                   help="also open each scene's atlas and look up its regions and colours")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..compile import compile_scene, load_scene
    from ..document import read_scene
    from ..errors import SceneError
    from ..sweep import expand_sweep, has_sweep

    status = 0
    for path in args.scenes:
        try:
            doc = read_scene(path)
            items = [i.name for i in expand_sweep(doc)] if has_sweep(doc) else [None]
            for item in items:  # every render of a sweep
                scene = load_scene(doc, item=item)
                if args.resolve:
                    compile_scene(scene, size=(64, 64))
        except SceneError as err:
            for problem in err.problems:
                print(problem, file=sys.stderr)
            status = 2
        else:
            print(f"{path}: ok" + (f" ({len(items)} sweep renders)" if items != [None] else ""))
    return status
