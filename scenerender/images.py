"""A rendered image as a notebook shows it, and as PNG bytes (used by the API, notebooks and the preview)."""

from __future__ import annotations

import io

import numpy as np


def png_bytes(image: np.ndarray) -> bytes:
    """``image`` (H x W x 3 or 4, uint8) as PNG bytes."""
    from PIL import Image

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
