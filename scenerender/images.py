"""Rendered images: in memory (a notebook shows them, the preview sends PNG bytes)
and as image files (PNG, JPEG, TIFF), written atomically with their provenance.

The output stage (:mod:`scenerender.outputs`) chooses this writer by the file's
extension; :data:`IMAGE_FORMATS` are the extensions it writes.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import RenderError
from .paths import check_output_folder
from .provenance import EMBED_KEY, publish

#: Extensions of the still-image formats scenerender writes.
IMAGE_FORMATS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def png_bytes(image: np.ndarray) -> bytes:
    """``image`` (H x W x 3 or 4, uint8) as PNG bytes."""
    from PIL import Image  # lazy: Pillow is only needed once an image is encoded

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(out, format="PNG", compress_level=1)
    return out.getvalue()


class RenderedImage(np.ndarray):
    """A rendered image: a plain numpy array (``(height, width, 3)`` RGB or
    RGBA) that a notebook shows as the picture rather than as numbers."""

    def _repr_png_(self) -> bytes | None:
        if self.ndim != 3 or self.shape[2] not in (3, 4) or self.dtype != np.uint8 or min(self.shape[:2]) < 1:
            return None  # a slice or a computed array: shown as numbers, like any array
        return png_bytes(np.asarray(self))


def write_image(image: np.ndarray, path: Path, *, record: dict | None = None) -> Path:
    """Write ``image`` to ``path`` via a temporary file and an atomic rename,
    so a crash never leaves a half-written image behind.

    With a provenance ``record``, PNG and TIFF carry it inside (a PNG iTXt
    chunk / the TIFF ImageDescription, key ``scenerender``), and every format
    gets the sidecar ``<path>.scenerender.json``, written after the image.
    """
    import imageio.v3 as iio  # lazy: imageio's plugins load on first write

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise RenderError(f"{path}: {suffix or 'a name without an extension'} is not an image format; "
                          f"use one of {', '.join(IMAGE_FORMATS)} (scenerender.outputs.write_output writes "
                          "every format)")
    check_output_folder(path)
    if suffix in (".jpg", ".jpeg") and image.shape[-1] == 4:
        raise RenderError(f"{path}: JPEG has no transparency; use .png or a background colour")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:  # from here on, whatever happens (an error, Ctrl-C, SIGTERM) the temporary file goes
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it normal file permissions
        # zlib level 3: a fifth of level 6's time for files about a fifth larger
        options: dict[str, Any] = {"compress_level": 3} if suffix == ".png" else {}
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
    text = json.dumps(record, sort_keys=False)
    if suffix == ".png":
        from PIL.PngImagePlugin import PngInfo  # lazy: as png_bytes

        info = PngInfo()
        info.add_itxt(EMBED_KEY, text, zip=True)  # iTXt: UTF-8 (paths may not be Latin-1), compressed
        return {"pnginfo": info}
    if suffix in (".tif", ".tiff"):
        return {"description": text, "metadata": None}  # metadata=None: no second, shape-only description
    return {}
