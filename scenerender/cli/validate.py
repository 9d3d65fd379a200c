"""``scenerender validate SCENE...`` - check scenes without rendering."""

from __future__ import annotations

import sys

from ._options import add_scene_files
from ..errors import SceneError, SceneValidationError
from .check_space import print_report


def register(commands) -> None:
    p = commands.add_parser("validate", help="check scenes: schema, atlas, regions, data files, spaces",
                            description="Check scene files as a render would, short of drawing: the schema, "
                                        "then the atlas, regions, colours, data sources (every file read, "
                                        "unused ones too), spaces, camera and animation. Every problem of "
                                        "every scene is reported, one located line each; exit 2 if any. "
                                        "Never uses the network: public data sources (fetched by name) are "
                                        "checked from the cache or their bundle; one not fetched yet gets a "
                                        "note (it is fetched at render time), not an error.")
    add_scene_files(p)
    p.add_argument("--schema-only", action="store_true",
                   help="only check each scene against the JSON Schema: fast, opens no atlas and reads no data")
    p.add_argument("--resolve", action="store_true",
                   help="also print the mapping report of every source (as 'scenerender check-space'); "
                        "its warnings are printed either way")
    p.set_defaults(run=run)


def run(args) -> int:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..document import read_scene
    from ..sweep import expand_sweep, has_sweep

    status = 0
    for path in args.scenes:
        problems = []
        try:
            doc = read_scene(path)
            items = [i.name for i in expand_sweep(doc)] if has_sweep(doc) else [None]
        except SceneError as err:
            problems, items = list(err.problems), []
        with _without_network(not args.schema_only) as notes:
            for item in items:  # every render of a sweep
                try:
                    _check(doc, item, resolve=not args.schema_only)
                except SceneError as err:
                    problems += [p for p in err.problems if p not in problems]
            if not problems and not args.schema_only:
                problems += _mapping_warnings(doc, items, show=args.resolve)
        for problem in problems:
            print(problem, file=sys.stderr)
        for note in notes:  # public data not in the cache: fetched at render time, not a problem
            print(f"note: {note}", file=sys.stderr)
        if problems:
            status = 2
        else:
            print(f"{path}: ok" + (f" ({len(items)} sweep renders)" if items != [None] else "")
                  + (" (schema only)" if args.schema_only else "")
                  + (f" (public data of {len(notes)} source{'s' if len(notes) > 1 else ''} not fetched yet: "
                     "checked up to the query)" if notes else ""))
    return status


def _without_network(resolve: bool):
    """Validation never fetches: public data come from the cache or a bundle, else a note is collected."""
    if not resolve:
        import contextlib

        return contextlib.nullcontext([])
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..fetch.client import cache_only

    return cache_only()


def _check(doc, item, *, resolve: bool) -> None:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..api import validate_scene

    if not resolve:  # the schema only, without the compile stack (numpy, atlas code)
        if item is None or item == _first_item(doc):  # a sweep's renders are all checked at once
            problems = validate_scene(doc)
            if problems:
                raise SceneValidationError(problems)
        return
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..compile import compile_scene, load_scene

    # The process's atlases (scenerender.cache): scenes on the same atlas, and the mapping report, open it once.
    compile_scene(load_scene(doc, item=item), check_unused_sources=True)


def _mapping_warnings(doc, items, *, show: bool) -> list:
    """Print the mapping report's warnings (and with ``show`` its per-source lines); they do not fail
    validation. Returns problems only if the report itself cannot be made."""
    import io

    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..compile import load_scene

    try:
        print_report(load_scene(doc, item=items[0]), out=sys.stdout if show else io.StringIO(), err=sys.stderr,
                     warnings_only=not show)
    except SceneError as err:
        return list(err.problems)
    return []


def _first_item(doc) -> str:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..sweep import expand_sweep

    return next(iter(expand_sweep(doc))).name
