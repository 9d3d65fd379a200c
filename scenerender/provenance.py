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
import sys
import time
from pathlib import Path

from .errors import RenderError
from .fingerprint import Fingerprint, scene_fingerprint
from .paths import write_json_atomic

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
    return write_json_atomic(sidecar_path(output), record)


def publish(path: Path, put_in_place, record: dict | None) -> Path:
    """Put a finished output at ``path`` (``put_in_place()``, e.g. a rename)
    and record it. The old record goes first and the new one last, so a
    record always describes a complete output and never an older one."""
    sidecar_path(path).unlink(missing_ok=True)
    written = Path(put_in_place() or path)
    if record is not None:
        write_sidecar(written, record)
    return written


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


# -- records embedded in the output itself ------------------------------------

#: PNG text chunk (iTXt) and TIFF ImageDescription key holding the record.
EMBED_KEY = "scenerender"
#: Output formats that carry the record inside the file too (all carry the sidecar):
#: PNG iTXt chunk, TIFF ImageDescription, glTF ``asset.extras``.
EMBEDDING_FORMATS = (".png", ".tif", ".tiff", ".gltf", ".glb")


def render_options(*, output: Path, size=None, scale=None, time=None) -> dict:
    """The fingerprint options of one render: what was asked outside the scene.

    Without ``scale`` and ``time`` they are exactly what ``scenerender batch``
    uses, so a batch rerun skips an output that ``scenerender render`` made.
    """
    options: dict = {"size": [int(v) for v in size] if size else None, "format": Path(output).suffix.lower()}
    if scale is not None:
        options["scale"] = int(scale)
    if time is not None:
        options["time"] = float(time)
    return options


def record_for(scene, output: Path, *, options: dict, command: list[str] | None = None) -> dict:
    """The provenance record of rendering ``scene`` (a loaded Scene) to ``output``."""
    fingerprint = scene_fingerprint(scene, options)
    atlas = fingerprint.atlas
    summary = {
        "scenerender_version": fingerprint.software.get("scenerender"),
        "atlas_name": atlas.get("name", atlas.get("recipe")),
        "atlas_version": atlas.get("version", atlas.get("key")),
        "scene_hash": fingerprint.scene,
    }
    scene_file = scene.file if scene.file.startswith("<") else str(Path(scene.file).resolve())
    return provenance_record(fingerprint, scene_file=scene_file, output=output, command=command, extra=summary)


def read_embedded(output: Path) -> dict | None:
    """The record inside a PNG (text chunk), TIFF (ImageDescription) or glTF (asset extras), or ``None``."""
    output = Path(output)
    suffix = output.suffix.lower()
    try:
        if suffix == ".png":
            # lazy: start-up time (Pillow; only this step needs it)
            from PIL import Image

            with Image.open(output) as image:
                text = image.text.get(EMBED_KEY)
        elif suffix in (".tif", ".tiff"):
            # lazy: start-up time (tifffile; only TIFF files need it)
            import tifffile

            with tifffile.TiffFile(output) as tif:
                text = tif.pages[0].description
        elif suffix in (".gltf", ".glb"):
            import pygltflib

            extras = pygltflib.GLTF2().load(str(output)).asset.extras or {}
            text = json.dumps(extras["scenerender"]) if "scenerender" in extras else None
        else:
            return None
        record = json.loads(text) if text else None
    except (OSError, ValueError, SyntaxError):  # PIL raises SyntaxError on a damaged PNG
        return None
    return record if isinstance(record, dict) and "scenerender_provenance" in record else None


def read_record(output: Path) -> tuple[dict, str]:
    """The record of ``output`` and where it was found (``embedded`` or the sidecar's path).

    Raises
    ------
    RenderError
        When the file does not exist or has no record.
    """
    output = Path(output)
    if not output.exists():
        raise RenderError(f"{output}: no such file")
    record = read_embedded(output)
    if record is not None:
        return record, "embedded"
    record = read_sidecar(output)
    if record is not None:
        return record, str(sidecar_path(output))
    where = " (no text chunk in the PNG)" if output.suffix.lower() == ".png" else ""
    raise RenderError(f"{output}: no scenerender provenance record{where} and no sidecar {sidecar_path(output).name}; "
                      "was it made by scenerender?")
