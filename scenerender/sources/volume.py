"""``kind: volume`` sources - 3-D images (TIFF, NRRD, NIfTI, NPY).

The stack is reordered and flipped into the atlas's axis order with
brainglobe-space (``map_stack_to``), keeping its own voxel size, and placed
at the atlas microns of its first voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..limits import check_limit, over_limit
from ._context import SourceContext, SourceError

KIND = "volume"
SUFFIXES = {".tif": "tiff", ".tiff": "tiff", ".nrrd": "nrrd", ".nii": "nifti", ".nii.gz": "nifti", ".npy": "npy"}


@dataclass(frozen=True, eq=False)
class VolumeData:
    """Values on the atlas axes (asr); voxel (0, 0, 0) is at ``origin`` (atlas microns)."""

    values: np.ndarray
    origin: np.ndarray
    spacing: np.ndarray


def _header_shape(path, fmt: str) -> tuple[int, ...] | None:
    """The stack's shape from the file's header, before reading its voxels."""
    if fmt == "tiff":
        import tifffile

        with tifffile.TiffFile(path) as tif:
            return tuple(tif.series[0].shape) if tif.series else None
    if fmt == "nrrd":
        import nrrd

        header = nrrd.read_header(str(path))
        detached = header.get("data file") or header.get("datafile")
        if detached:  # the voxels live in another file: it must pass the sandbox as the NRRD did
            from ..limits import PathRefused, resolve_scene_path

            for name in str(detached).split():
                try:
                    resolve_scene_path(name, path.parent, what="NRRD data file")
                except PathRefused as err:
                    raise ValueError(str(err)) from None
        return tuple(header["sizes"])
    if fmt == "nifti":
        import nibabel

        return tuple(nibabel.load(str(path)).shape)
    return tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)


def _read(path, fmt: str) -> np.ndarray:
    if fmt == "tiff":
        import tifffile

        return tifffile.imread(path)
    if fmt == "nrrd":
        import nrrd

        return nrrd.read(str(path))[0]
    if fmt == "nifti":
        import nibabel

        return np.asanyarray(nibabel.load(str(path)).dataobj)
    return np.load(path, allow_pickle=False)


def load(spec: dict, *, ctx: SourceContext) -> VolumeData:
    from brainglobe_space import AnatomicalSpace

    path, fmt = ctx.file(spec, SUFFIXES)
    try:
        shape = _header_shape(path, fmt)
        voxels = int(np.prod(shape, dtype=object)) if shape else 0
        if not check_limit(voxels, "voxels"):
            raise ctx.fail(over_limit(f"{path.name!r} has too many voxels (shape {shape})", voxels, "voxels"),
                           ("path",))
        values = np.squeeze(_read(path, fmt))
    except SourceError:
        raise
    except Exception as err:
        raise ctx.unreadable(path, fmt, err) from None
    if values.ndim != 3:
        raise ctx.fail(f"{path.name!r} is {values.ndim}-D (shape {values.shape}); a volume must be 3-D", ("path",))
    if not np.issubdtype(values.dtype, np.number) or values.dtype == bool:
        values = values.astype(np.float32)
    if isinstance(spec.get("space"), dict) and "registration" in spec["space"]:
        from .registration import load_volume

        return load_volume(values, spec, ctx=ctx)
    space = ctx.space(spec)
    if space.affine is not None and np.count_nonzero(space.affine[:3, :3] - np.diag(np.diag(space.affine[:3, :3]))):
        raise ctx.fail("a volume's affine may only scale and translate (no rotation or shear): "
                       "resample the volume onto its axes first", ("space", "affine"))
    shape = space.shape or values.shape
    matrix = space.matrix(shape)
    # Atlas position of every corner voxel; the reordered stack starts at the minimum.
    corners = np.array([[i, j, k] for i in (0, values.shape[0] - 1) for j in (0, values.shape[1] - 1)
                        for k in (0, values.shape[2] - 1)], dtype=float)
    mapped = corners @ matrix[:3, :3].T + matrix[:3, 3]
    reordered = AnatomicalSpace(space.orientation).map_stack_to("asr", values)
    spacing = np.abs(matrix[:3, :3]).max(axis=1)
    nonzero = np.argwhere(values > np.percentile(values, 50)) if values.any() else corners
    ctx.check_inside(nonzero[:: max(1, len(nonzero) // 5000)] @ matrix[:3, :3].T + matrix[:3, 3], "bright voxels")
    return VolumeData(values=np.ascontiguousarray(reordered), origin=mapped.min(axis=0), spacing=spacing)
