"""``kind: volume`` sources - 3-D images (TIFF, NRRD, NIfTI, NPY).

The stack is reordered and flipped into the atlas's axis order with
brainglobe-space (``map_stack_to``), keeping its own voxel size, and placed
where its voxel *centres* map: voxel ``i`` covers ``[i, i + 1)`` source
units, so its centre ``i + 1/2`` goes through the same point map as every
other coordinate (a flipped axis of ``n`` voxels sends it to ``n - i - 1/2``,
the centre of the voxel the reversed array puts at ``n - 1 - i``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..readers import read_volume_file
from ._context import SourceContext

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
    from brainglobe_space import AnatomicalSpace

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
        from .registration import resample_volume

        spacing = np.asarray(ctx.atlas.resolution, dtype=float)  # centre of voxel (0, 0, 0) at half a voxel
        return VolumeData(values=resample_volume(values, spec, ctx=ctx), origin=spacing / 2, spacing=spacing)
    space = ctx.space(spec)
    if space.affine is not None and np.count_nonzero(space.affine[:3, :3] - np.diag(np.diag(space.affine[:3, :3]))):
        raise ctx.fail("a volume's affine may only scale and translate (no rotation or shear): "
                       "resample the volume onto its axes first", ("space", "affine"))
    shape = space.shape or values.shape
    matrix = space.matrix(shape)
    # Atlas position of the centre of every corner voxel; the reordered stack starts at the minimum.
    corners = 0.5 + np.array([[i, j, k] for i in (0, values.shape[0] - 1) for j in (0, values.shape[1] - 1)
                              for k in (0, values.shape[2] - 1)], dtype=float)
    mapped = corners @ matrix[:3, :3].T + matrix[:3, 3]
    reordered = AnatomicalSpace(space.orientation).map_stack_to("asr", values)
    spacing = np.abs(matrix[:3, :3]).max(axis=1)
    nonzero = np.argwhere(values > np.percentile(values, 50)) if values.any() else corners - 0.5
    ctx.check_inside((nonzero[:: max(1, len(nonzero) // 5000)] + 0.5) @ matrix[:3, :3].T + matrix[:3, 3],
                     "bright voxels")
    return VolumeData(values=np.ascontiguousarray(reordered), origin=mapped.min(axis=0), spacing=spacing)
