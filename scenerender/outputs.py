"""Stage 6: write images, atomically, in the format the extension names."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import RenderError
from .provenance import EMBED_KEY, publish

#: Extensions of the still-image formats scenerender writes.
IMAGE_FORMATS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
#: Vector-graphics formats (a raster image of the 3-D scene inside, vector text), written by exports.
GRAPHIC_FORMATS = (".svg", ".pdf")
#: 3-D scene formats, written by exports.
SCENE_FORMATS = (".gltf", ".glb", ".html")
EXPORT_FORMATS = GRAPHIC_FORMATS + SCENE_FORMATS


def check_output_path(path: Path) -> None:
    """Fail before rendering if the output cannot be written."""
    if path.suffix.lower() not in IMAGE_FORMATS + EXPORT_FORMATS:
        raise RenderError(f"{path}: cannot write {path.suffix or 'files without an extension'}; "
                          f"use one of {', '.join(IMAGE_FORMATS + EXPORT_FORMATS)}")
    if not path.parent.exists():
        raise RenderError(f"{path}: folder {path.parent} does not exist; create it first")


def write_image(image: np.ndarray, path: Path, *, record: dict | None = None) -> Path:
    """Write ``image`` to ``path`` via a temporary file and an atomic rename,
    so a crash never leaves a half-written image behind.

    With a provenance ``record``, PNG and TIFF carry it inside (a PNG iTXt
    chunk / the TIFF ImageDescription, key ``scenerender``), and every format
    gets the sidecar ``<path>.scenerender.json``, written after the image.
    """
    import imageio.v3 as iio

    path = Path(path)
    check_output_path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise RenderError(f"{path}: {suffix} is not an image format; render it with scenerender.exports.export_scene")
    if suffix in (".jpg", ".jpeg") and image.shape[-1] == 4:
        raise RenderError(f"{path}: JPEG has no transparency; use .png or a background colour")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:  # from here on, whatever happens (an error, Ctrl-C, SIGTERM) the temporary file goes
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it normal file permissions
        # zlib level 3: a fifth of level 6's time for files about a fifth larger
        options = {"compress_level": 3} if suffix == ".png" else {}
        if record is not None:
            options.update(_embedded(record, suffix))
        iio.imwrite(tmp, image, extension=suffix, **options)
        publish(path, lambda: os.replace(tmp, path), record)
    except OSError as err:
        raise RenderError(f"{path}: cannot write image: {err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _embedded(record: dict, suffix: str) -> dict:
    """Writer options that put ``record`` inside a PNG or TIFF."""
    import json

    text = json.dumps(record, sort_keys=False)
    if suffix == ".png":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_itxt(EMBED_KEY, text, zip=True)  # iTXt: UTF-8 (paths may not be Latin-1), compressed
        return {"pnginfo": info}
    if suffix in (".tif", ".tiff"):
        return {"description": text, "metadata": None}  # metadata=None: no second, shape-only description
    return {}
