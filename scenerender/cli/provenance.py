"""``scenerender provenance FILE`` - how an output was made."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from ..provenance import read_record


def register(commands) -> None:
    p = commands.add_parser("provenance", help="print how an output was made (its provenance record)",
                            description="Print the provenance record of an output made by scenerender: the "
                                        "scene hash, scenerender and atlas versions, input file hashes and the "
                                        "command. Read from the PNG text chunk or TIFF description, else from "
                                        "the sidecar FILE.scenerender.json.")
    p.add_argument("file", type=Path, help="an image, video or frame folder written by scenerender")
    p.add_argument("--json", action="store_true", help="print the whole record as JSON")
    p.set_defaults(run=run)


def summary(record: dict) -> str:
    """A few lines a person reads; ``--json`` has everything."""
    fingerprint = record.get("fingerprint", {})
    software = fingerprint.get("software", {})
    atlas = fingerprint.get("atlas", {})
    lines = [
        f"output:       {record.get('output')}",
        f"scene:        {record.get('scene_file')}",
        f"scene hash:   {record.get('scene_hash', fingerprint.get('scene'))}",
        f"fingerprint:  {fingerprint.get('digest')}",
        f"atlas:        {atlas.get('name', atlas.get('recipe'))} {atlas.get('version') or atlas.get('key') or ''}".rstrip(),
        "software:     " + ", ".join(f"{name} {version}" for name, version in software.items()),
        f"command:      {' '.join(record.get('command', []))}",
        f"created:      {record.get('created')}",
    ]
    files = fingerprint.get("files", {})
    for path, digest in files.items():
        lines.append(f"input:        {path} sha256 {digest or '(missing)'}")
    for source, records in (fingerprint.get("fetched") or {}).items():
        if not records:
            lines.append(f"fetched:      source {source}: not recorded (fetch it, then render again)")
        for r in records or []:
            lines.append(f"fetched:      source {source}: {r.get('what')}"
                         f"{' (id ' + str(r['id']) + ')' if r.get('id') else ''} from {r.get('service')} "
                         f"{r.get('method', 'GET')} {r.get('url')}"
                         f"{' ' + json.dumps(r['body'], sort_keys=True) if r.get('body') else ''} "
                         f"retrieved {r.get('retrieved')} sha256 {r.get('sha256')}")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    record, where = read_record(args.file)
    if args.json:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
    else:
        sys.stdout.write(summary(record))
    print(f"(record from {'the file itself' if where == 'embedded' else where})", file=sys.stderr)
    return 0
