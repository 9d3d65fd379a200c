"""``scenerender fetch SCENE... [--to DIR]`` - download the public data scenes need."""

from __future__ import annotations

import sys
from pathlib import Path

from ._options import add_scene_files
from ..errors import RenderError


def register(commands) -> None:
    p = commands.add_parser("fetch", help="download the public data scenes need (MouseLight, NeuroMorpho, Allen)",
                            description="Fetch every public data item the scenes name into the cache (once per "
                                        "item). With --to DIR, also write a bundle: the data, and each scene "
                                        "pointing at the local copies, which renders the same without network.")
    add_scene_files(p)
    p.add_argument("--to", type=Path, metavar="DIR", help="write a bundle (scenes + data) into DIR")
    p.set_defaults(run=run)


def run(args) -> int:
    # Network, atlas and reader modules load here, not when the CLI starts.
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..compile import _open_atlas, load_scene
    from ..fetch import fetched_sources
    from ..sources import SourceContext, load_source

    atlases: dict = {}
    if args.to is not None:
        # lazy: start-up time (--help loads every command's module; only this command needs it)
        from ..fetch.bundle import bundle_scene

        if args.to.exists() and not args.to.is_dir():
            raise RenderError(f"--to {args.to}: not a folder")
        args.to.mkdir(parents=True, exist_ok=True)
        for path in args.scenes:
            out, count = bundle_scene(path, args.to, atlas_cache=atlases)
            print(f"wrote {out} ({count} fetched items in {args.to / 'data'})", file=sys.stderr)
        return 0
    for path in args.scenes:
        scene = load_scene(path)
        sources = fetched_sources(scene.spec)
        if not sources:
            print(f"{path}: no public data to fetch", file=sys.stderr)
            continue
        atlas = _open_atlas(scene, atlases)
        for name, spec in sources.items():
            data = load_source(name, spec, ctx=SourceContext(doc=scene.doc, path=("sources", name), atlas=atlas))
            records = getattr(data, "fetched", ())
            print(f"{path}: source {name}: {len(records)} items cached", file=sys.stderr)
    return 0
