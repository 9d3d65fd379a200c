"""Provenance records: what made an output, kept next to it.

Every output ``figure.png`` may have a sidecar ``figure.png.scenerender.json``
holding the scene file, its fingerprint (scene, data files, atlas and
software versions), the command and the time. Batch rendering uses it to skip
outputs that are up to date; people use it to know how a figure was made.
The sidecar is written atomically *after* its output, so an output with a
current sidecar is always complete.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from .fingerprint import Fingerprint

SIDECAR_SUFFIX = ".scenerender.json"
RECORD_VERSION = 1


def sidecar_path(output: Path) -> Path:
    """Where the provenance record of ``output`` lives (a folder of frames gets one beside it)."""
    output = Path(output)
    return output.with_name(output.name + SIDECAR_SUFFIX)


def provenance_record(fingerprint: Fingerprint, *, scene_file: str, output: Path,
                      command: list[str] | None = None, extra: dict | None = None) -> dict:
    """A JSON-able record of how ``output`` was made."""
    record = {
        "scenerender_provenance": RECORD_VERSION,
        "output": Path(output).name,
        "scene_file": str(scene_file),
        "fingerprint": fingerprint.to_dict(),
        "command": list(sys.argv if command is None else command),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    record.update(extra or {})
    return record


def write_sidecar(output: Path, record: dict) -> Path:
    """Write ``record`` next to ``output`` atomically."""
    path = sidecar_path(output)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2, sort_keys=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_sidecar(output: Path) -> dict | None:
    """The provenance record of ``output``, or ``None`` if absent or unreadable."""
    try:
        record = json.loads(sidecar_path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "fingerprint" in record else None


def is_up_to_date(output: Path, fingerprint: Fingerprint) -> bool:
    """True when ``output`` exists and its record has the same fingerprint digest."""
    output = Path(output)
    if not output.exists():
        return False
    record = read_sidecar(output)
    return record is not None and record["fingerprint"].get("digest") == fingerprint.digest
