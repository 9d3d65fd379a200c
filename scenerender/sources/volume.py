"""``kind: volume`` sources - 3-D images (TIFF, NRRD, NIfTI, NPY).

The stack is reordered and flipped into the atlas's axis order, keeping its
own voxel size, and placed where its voxel *centres* map, by the source's
space (:meth:`scenerender.spaces.SourceSpace.map_volume`: all axis mapping
lives in :mod:`scenerender.spaces`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..readers import read_volume_file
from ..spaces import SourceSpace, SpaceError
from ._context import SourceContext
from .registration import resample_volume

KIND = "volume"
SUFFIXES = {".tif": "tiff", ".tiff": "tiff", ".nrrd": "nrrd", ".nii": "nifti", ".nii.gz": "nifti", ".npy": "npy"}


@dataclass(frozen=True, eq=False)
class VolumeData:
    """Values on the atlas axes (asr); the centre of voxel (0, 0, 0) is at ``origin`` (atlas microns)."""

    values: np.ndarray
    origin: np.ndarray
    spacing: np.ndarray


def _read(path, fmt: str) -> np.ndarray:
    """The stack, read by the bounded readers (see ``readers.read_volume_file``)."""

    return read_volume_file(path, fmt)


def load(spec: dict, *, ctx: SourceContext) -> VolumeData:
    path, fmt = ctx.file(spec, SUFFIXES)
    try:
        values = np.squeeze(_read(path, fmt))
    except Exception as err:
        raise ctx.unreadable(path, fmt, err) from None
    if values.ndim != 3:
        raise ctx.fail(f"{path.name!r} is {values.ndim}-D (shape {values.shape}); a volume must be 3-D", ("path",))
    if not np.issubdtype(values.dtype, np.number) or values.dtype == bool:
        values = values.astype(np.float32)
    if isinstance(spec.get("space"), dict) and "registration" in spec["space"]:
        spacing = np.asarray(ctx.atlas.resolution, dtype=float)  # centre of voxel (0, 0, 0) at half a voxel
        return VolumeData(values=resample_volume(values, spec, ctx=ctx), origin=spacing / 2, spacing=spacing)
    space = ctx.space(spec)
    if not isinstance(space, SourceSpace):  # a registration is resampled above
        raise TypeError(f"unexpected space {space!r}")
    try:
        reordered, origin, spacing = space.map_volume(values)
    except SpaceError as err:
        raise ctx.fail(str(err), err.path) from None
    bright = np.argwhere(values > np.percentile(values, 50)) if values.any() else \
        np.array([[i, j, k] for i in (0, values.shape[0] - 1) for j in (0, values.shape[1] - 1)
                  for k in (0, values.shape[2] - 1)], dtype=float)  # the corner voxels
    ctx.check_inside(space.voxel_centres_to_atlas(bright[:: max(1, len(bright) // 5000)], values.shape),
                     "bright voxels")
    return VolumeData(values=reordered, origin=origin, spacing=spacing)
