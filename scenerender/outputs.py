"""Stage 6: write images, atomically, in the format the extension names."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import RenderError

#: Extensions of the still-image formats scenerender writes.
IMAGE_FORMATS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def check_output_path(path: Path) -> None:
    """Fail before rendering if the output cannot be written."""
    if path.suffix.lower() not in IMAGE_FORMATS:
        raise RenderError(f"{path}: cannot write {path.suffix or 'files without an extension'}; "
                          f"use one of {', '.join(IMAGE_FORMATS)}")
    if not path.parent.exists():
        raise RenderError(f"{path}: folder {path.parent} does not exist; create it first")


def write_image(image: np.ndarray, path: Path) -> Path:
    """Write ``image`` to ``path`` via a temporary file and an atomic rename,
    so a crash never leaves a half-written image behind."""
    import imageio.v3 as iio

    path = Path(path)
    check_output_path(path)
    suffix = path.suffix.lower()
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
        iio.imwrite(tmp, image, extension=suffix, **options)
        os.replace(tmp, path)
    except OSError as err:
        raise RenderError(f"{path}: cannot write image: {err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
