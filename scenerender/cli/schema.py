"""``scenerender schema`` - print the scene schema or a readable reference."""

from __future__ import annotations

import json
import sys


def register(commands) -> None:
    p = commands.add_parser("schema", help="print the scene JSON Schema",
                            description="Print the scene JSON Schema, or a readable reference of one part.")
    p.add_argument("--kind", metavar="KIND", help="describe the keys of one actor kind (e.g. region)")
    p.add_argument("--markdown", action="store_true", help="print the whole reference as Markdown tables")
    p.set_defaults(run=run)


def run(args) -> int:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..docs import kind_reference, markdown_reference
    from ..schema import actor_kinds, scene_schema

    if args.kind:
        if args.kind not in actor_kinds():
            # lazy: start-up time (--help loads every command's module; only this command needs it)
            from ..suggest import did_you_mean

            print(f"scenerender: unknown actor kind {args.kind!r}{did_you_mean(args.kind, actor_kinds())}; "
                  f"kinds: {', '.join(actor_kinds())}", file=sys.stderr)
            return 2
        sys.stdout.write(kind_reference(args.kind))
    elif args.markdown:
        sys.stdout.write(markdown_reference())
    else:
        sys.stdout.write(json.dumps(scene_schema(), indent=2) + "\n")
    return 0
