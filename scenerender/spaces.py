"""Anatomical spaces: the one module that knows about axes and handedness.

Atlas coordinates are BrainGlobe's: microns along the atlas array axes, origin
``asr`` (axis 0 anterior->posterior, axis 1 superior->inferior, axis 2
right->left). That frame is left-handed, so drawing it unchanged in VTK's
right-handed world would mirror every image (the animal's left would show on
the wrong side). The render world is therefore atlas microns with the third
axis negated; :data:`ATLAS_TO_WORLD` is the only place this happens, and every
coordinate a user reads or writes (camera positions included) is in atlas
microns.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Linear map from atlas microns (``asr``) to the right-handed render world.
ATLAS_TO_WORLD = np.diag([1.0, 1.0, -1.0])
WORLD_TO_ATLAS = np.linalg.inv(ATLAS_TO_WORLD)

#: BrainGlobe's atlas orientation.
ATLAS_ORIGIN = "asr"

_NAMES = {"a": "anterior", "p": "posterior", "s": "superior", "i": "inferior", "l": "left", "r": "right"}


def _anatomical_space():
    """brainglobe-space's class, imported when first used: it is slow to load (start-up time)."""
    from brainglobe_space import AnatomicalSpace

    return AnatomicalSpace


def affine_rows(points: npt.ArrayLike, linear: np.ndarray, offset=None) -> np.ndarray:
    """``linear @ p + offset`` for every point ``p`` of ``points`` (N x 3), as 3 x N rows.

    Done a coordinate at a time rather than as ``points @ linear.T``: numpy
    hands that product to multithreaded BLAS, which for three columns is pure
    memory traffic and whose threads spin against the renderer and other
    processes (100k points: 17-19 ms on a loaded 2-core machine against 0.7 ms
    here). Results can differ from BLAS's in the last bit (BLAS fuses the
    multiply-adds).
    """
    flat = np.asarray(points, dtype=float).reshape(-1, 3)
    cols = flat.T
    linear = np.asarray(linear, dtype=float)
    out = np.empty((3, len(flat)))
    for j in range(3):
        row = out[j]
        np.multiply(cols[0], linear[j, 0], out=row)
        row += cols[1] * linear[j, 1]
        row += cols[2] * linear[j, 2]
        if offset is not None:
            row += offset[j]
    return out


def apply_affine(points: npt.ArrayLike, linear: np.ndarray, offset=None) -> np.ndarray:
    """``points @ linear.T + offset`` (N x 3, or one point of 3), C-contiguous; see :func:`affine_rows`."""
    shape = np.shape(points)
    return np.ascontiguousarray(affine_rows(points, linear, offset).T).reshape(shape)


def column_bounds(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis minimum and maximum of N x 3 points (numpy's ``min(axis=0)`` walks a narrow
    array row by row, about 25 times slower than reducing each column)."""
    points = np.asarray(points).reshape(-1, 3)
    return (np.array([points[:, k].min() for k in range(3)]),
            np.array([points[:, k].max() for k in range(3)]))


def atlas_to_world(points: npt.ArrayLike) -> np.ndarray:
    """Atlas microns (N x 3 or 3) to world coordinates."""
    return apply_affine(points, ATLAS_TO_WORLD)


def world_to_atlas(points: npt.ArrayLike) -> np.ndarray:
    """World coordinates (N x 3 or 3) to atlas microns."""
    return apply_affine(points, WORLD_TO_ATLAS)


def anatomical_direction(name: str, origin: str = ATLAS_ORIGIN) -> np.ndarray:
    """Unit vector, in atlas axes, pointing towards an anatomical direction.

    ``name`` is one of anterior, posterior, superior, inferior, left, right
    (or its first letter). Derived from brainglobe-space's description of the
    axes rather than written out by hand.
    """
    letter = name[0].lower()
    vec = np.zeros(3)
    for axis, ends in enumerate(axes_description(origin)):
        start, end = ends[0], ends[1]
        if letter == end:
            vec[axis] = 1.0
        elif letter == start:
            vec[axis] = -1.0
    if not vec.any():
        raise ValueError(f"unknown anatomical direction {name!r}; use one of {', '.join(_NAMES.values())}")
    return vec


_OPPOSITE = {"a": "p", "p": "a", "s": "i", "i": "s", "l": "r", "r": "l"}


def axes_description(origin: str) -> tuple[str, ...]:
    """For each axis, the side it starts from and the side it runs to (``asr``: ``("ap", "si", "rl")``).

    brainglobe-space's ``axes_description``, read from the orientation letters (each names the side
    its axis starts from) without importing brainglobe-space, which loads scipy.ndimage (0.2 s of a
    cold render that only needs the camera's directions); tests/test_spaces.py checks all 48
    orientations against brainglobe-space.
    """
    return tuple(letter + _OPPOSITE[letter] for letter in check_orientation(origin))


def world_direction(name: str) -> np.ndarray:
    """Unit vector in the render world pointing towards ``name``."""
    return ATLAS_TO_WORLD @ anatomical_direction(name)


class SpaceError(ValueError):
    """A source's declared space is unusable; the message says how to fix it.

    ``path`` is the key path, inside the source's entry, that the problem is
    about (``("space", "orientation")``), so callers locate it without reading
    the message.
    """

    def __init__(self, message: str, *, path: tuple[str, ...] = ("space",)):
        super().__init__(message)
        self.path = tuple(path)


_PAIRS = ("ap", "si", "lr")


def atlas_axes_of(orientation: str) -> list[int]:
    """For each axis of a source in ``orientation``, the atlas (``asr``) axis it runs along."""
    space_class = _anatomical_space()
    atlas_order = space_class(ATLAS_ORIGIN).axes_order
    return [atlas_order.index(axis) for axis in space_class(check_orientation(orientation)).axes_order]


def check_orientation(orientation: str) -> str:
    """Normalise and check a brainglobe-space orientation string like ``psl``."""
    text = str(orientation).strip().lower()
    letters_ok = len(text) == 3 and all(c in "apsilr" for c in text)
    pairs_ok = letters_ok and all(sum(c in pair for c in text) == 1 for pair in _PAIRS)
    if not pairs_ok:
        raise SpaceError(
            f"{orientation!r} is not an orientation: give three letters, one from each pair "
            "a/p (anterior/posterior), s/i (superior/inferior), l/r (left/right), naming where each "
            "axis starts, e.g. 'asr' (BrainGlobe atlases) or 'psl'", path=("space", "orientation"))
    return text


Shape = tuple[int, int, int]


class SourceSpace:
    """The anatomical space a source was recorded in, and its map into the atlas.

    Coordinates in the source are in units of ``resolution`` (voxels, or
    microns when the resolution is 1) along the axes named by ``orientation``
    (brainglobe-space convention: each letter says where that axis starts).
    ``offset`` (microns, along the source axes) places a partial acquisition
    inside the full source space of ``shape`` voxels; ``affine`` (4 x 4) is
    applied last, in atlas microns. Axis order, flips and scaling are done by
    brainglobe-space's :meth:`AnatomicalSpace.transformation_matrix_to`.

    A source's ``space:`` is read into one of these once (:meth:`from_spec`);
    its 4 x 4 matrix is computed once per source shape and kept (read-only).
    """

    def __init__(self, orientation: str = ATLAS_ORIGIN, *, resolution=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0),
                 shape=None, affine=None):
        self.orientation = check_orientation(orientation)
        self.resolution: tuple[float, ...] = tuple(float(r) for r in resolution)
        self.offset = np.asarray(offset, dtype=float)
        self.shape: tuple[int, ...] | None = None if shape is None else tuple(int(s) for s in shape)
        self.affine = None if affine is None else np.asarray(affine, dtype=float)
        if any(r <= 0 for r in self.resolution):
            raise SpaceError(f"resolution {list(resolution)} must be positive microns per unit on every axis")
        self._flips: list[str] | None = None
        self._matrices: dict[tuple[int, ...] | None, np.ndarray] = {}

    @classmethod
    def atlas(cls) -> "SourceSpace":
        """Coordinates already in atlas microns."""
        return cls()

    @classmethod
    def from_spec(cls, space) -> "SourceSpace":
        """A scene's ``space:`` value (``atlas`` or a mapping without ``registration``), read once.

        Raises
        ------
        SpaceError
            With ``path`` the key inside the source's entry it is about.
        """
        if space == "atlas":
            return cls.atlas()
        return cls(space["orientation"], resolution=space.get("resolution", (1, 1, 1)),
                   offset=space.get("offset", (0, 0, 0)), shape=space.get("shape"), affine=space.get("affine"))

    def flipped_axes(self) -> list[str]:
        """Source axes that run against the atlas axes (these need ``shape``)."""
        if self._flips is None and self.orientation == ATLAS_ORIGIN:
            self._flips = []  # the atlas's own axes (see _compute_matrix)
        if self._flips is None:
            space_class = _anatomical_space()
            source, atlas = space_class(self.orientation), space_class(ATLAS_ORIGIN)
            _, flips, _, _ = source.map_to(atlas)
            order = [source.axes_order.index(ax) for ax in atlas.axes_order]
            self._flips = [self.orientation[order[i]] for i, flip in enumerate(flips) if flip]
        return list(self._flips)

    def matrix(self, shape=None) -> np.ndarray:
        """4 x 4 map from source units (after adding the offset) to atlas microns (read-only, computed
        once per shape)."""
        shape = self.shape if self.shape is not None else shape
        key = None if shape is None else tuple(int(s) for s in shape)
        if key not in self._matrices:
            matrix = self._compute_matrix(key)
            matrix.flags.writeable = False
            self._matrices[key] = matrix
        return self._matrices[key]

    def _compute_matrix(self, shape: tuple[int, ...] | None) -> np.ndarray:
        flips = self.flipped_axes()
        if shape is None and flips:
            raise SpaceError(
                f"orientation {self.orientation!r} runs against the atlas on axis "
                f"{' and '.join(repr(f) for f in flips)}, so the flip needs the size of the source space: "
                "add space.shape (voxels along each source axis)")
        if self.orientation == ATLAS_ORIGIN:
            # On the atlas's own axes brainglobe-space's map is the voxel size alone (tested equal to
            # it); written here it spares importing brainglobe-space (and scipy.ndimage), 0.25 s cold.
            matrix = np.diag([*(float(r) for r in self.resolution), 1.0])
        else:
            space_class = _anatomical_space()
            source = space_class(self.orientation, shape=shape, resolution=self.resolution)
            target = space_class(ATLAS_ORIGIN, resolution=(1.0, 1.0, 1.0))
            matrix = source.transformation_matrix_to(target)
        shift = np.eye(4)
        shift[:3, 3] = self.offset / np.asarray(self.resolution)  # offset microns -> source units
        matrix = matrix @ shift
        return self.affine @ matrix if self.affine is not None else matrix

    def to_atlas(self, points: np.ndarray, shape=None) -> np.ndarray:
        """Map N x 3 source coordinates to atlas microns."""
        points = np.asarray(points, dtype=float).reshape(-1, 3)
        matrix = self.matrix(shape)
        return apply_affine(points, matrix[:3, :3], matrix[:3, 3])

    def mirrors(self) -> bool:
        """Whether the map into the atlas is a reflection (turns surfaces inside out)."""
        linear = self.matrix(self.shape or (1, 1, 1))[:3, :3]
        return bool(np.linalg.det(linear) < 0)

    def map_volume(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A stack on the source axes as (values, origin, spacing) on the atlas axes (``asr``).

        The stack is reordered and flipped with brainglobe-space's
        ``map_stack_to``, keeping its own voxel size; ``origin`` is the atlas
        position of the centre of voxel (0, 0, 0) of the reordered stack.
        Voxel ``i`` covers ``[i, i + 1)`` source units, so its centre
        ``i + 1/2`` goes through :meth:`matrix` like every other coordinate (a
        flipped axis of ``n`` voxels sends it to ``n - i - 1/2``, the centre of
        the voxel the reversed array puts at ``n - 1 - i``).

        Raises
        ------
        SpaceError
            When the affine rotates or shears (a volume stays on its axes).
        """
        if self.affine is not None and np.count_nonzero(self.affine[:3, :3] - np.diag(np.diag(self.affine[:3, :3]))):
            raise SpaceError("a volume's affine may only scale and translate (no rotation or shear): "
                             "resample the volume onto its axes first", path=("space", "affine"))
        matrix = self.matrix(self.shape or values.shape)
        # Atlas position of the centre of every corner voxel; the reordered stack starts at the minimum.
        corners = 0.5 + np.array([[i, j, k] for i in (0, values.shape[0] - 1) for j in (0, values.shape[1] - 1)
                                  for k in (0, values.shape[2] - 1)], dtype=float)
        mapped = corners @ matrix[:3, :3].T + matrix[:3, 3]
        reordered = _anatomical_space()(self.orientation).map_stack_to(ATLAS_ORIGIN, values)
        spacing = np.abs(matrix[:3, :3]).max(axis=1)
        return np.ascontiguousarray(reordered), mapped.min(axis=0), spacing

    def voxel_centres_to_atlas(self, index: np.ndarray, shape) -> np.ndarray:
        """Atlas microns of the centres of voxels ``index`` (N x 3) of a stack of ``shape`` on the source axes."""
        matrix = self.matrix(self.shape or shape)
        return apply_affine(np.asarray(index) + 0.5, matrix[:3, :3], matrix[:3, 3])


def atlas_volume_to_world(values: np.ndarray, origin, spacing) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A volume on the atlas axes as (values, origin, spacing) on the world axes.

    The world negates the third axis; flipping the array along it keeps the
    spacing positive, as image data needs.
    """
    origin = np.asarray(origin, dtype=float)
    spacing = np.asarray(spacing, dtype=float)
    far = origin[2] + spacing[2] * (values.shape[2] - 1)
    world_origin = np.array([origin[0], origin[1], -far])
    return np.ascontiguousarray(values[:, :, ::-1]), world_origin, spacing


# --------------------------------------------------------------------------
# A registration's sample space (brainreg): source -> grid -> atlas
# --------------------------------------------------------------------------


def field_to_atlas_um(field_mm: np.ndarray) -> np.ndarray:
    """Deformation field values (NiftyReg world millimetres) to atlas microns.

    brainreg writes its images as NIfTI with the affine ``diag(voxel size)``,
    so NiftyReg's world position of atlas voxel ``i`` is ``i x resolution``,
    the voxel's *centre*. Here voxel ``i`` covers ``[i, i + 1) x resolution``
    (centre ``(i + 1/2) x resolution``), so positions also move by half a voxel:
    :class:`RegistrationSpace` adds it (this is only the unit change).
    """
    return np.asarray(field_mm, dtype=np.float64) * 1000.0


def atlas_um_to_field(atlas_um: np.ndarray) -> np.ndarray:
    """Inverse of :func:`field_to_atlas_um`."""
    return np.asarray(atlas_um, dtype=np.float64) / 1000.0


class RegistrationSpace:
    """The sample space of a brainreg registration, mapped into the atlas.

    brainreg resamples the sample to the atlas orientation and voxel size (its
    "downsampled" grid) and writes, for every voxel of that grid, the atlas
    position it corresponds to: the deformation fields, one file per atlas
    axis, in millimetres. A sample coordinate goes to the grid exactly as
    brainglobe-utils' ``transform_points_from_raw_to_downsampled_space`` does
    (brainglobe-space, with the sample's orientation, voxel size and stack
    shape), then through the field. brainglobe-utils reads the field at the
    nearest grid voxel; here it is interpolated trilinearly (sub-voxel
    positions, the same values at grid voxels).

    Parameters
    ----------
    sample : SourceSpace
        The sample's orientation, voxel size (microns) and stack shape.
    fields_mm : ndarray
        ``(3, *grid_shape)``: atlas position (mm, atlas axes) of each grid voxel.
    grid_resolution : sequence of float
        Voxel size of the grid (the registration atlas's resolution), microns.
    """

    #: Points this many grid voxels beyond the grid still take the edge's mapping.
    MARGIN = 1.0

    def __init__(self, sample: SourceSpace, fields_mm: np.ndarray, grid_resolution):
        self.sample = sample
        self.fields_mm = fields_mm
        self.grid_shape = tuple(fields_mm.shape[1:])
        self.grid_resolution = np.asarray(grid_resolution, dtype=float)
        self.affine = None  # no extra affine: the registration is the map

    @staticmethod
    def default_sample_shape(orientation: str, resolution, grid_shape, grid_resolution) -> tuple[int, int, int]:
        """The sample stack's shape as brainreg saw it, estimated from its grid.

        brainreg scales each axis by ``voxel size / atlas resolution`` and rounds
        the size, so this is exact to within half a grid voxel per axis; give the
        real shape where an axis is flipped and that matters.
        """
        space_class = _anatomical_space()
        source = space_class(check_orientation(orientation))
        target = space_class(ATLAS_ORIGIN)
        shape = []
        for axis, letter_axis in enumerate(source.axes_order):
            grid_axis = target.axes_order.index(letter_axis)
            microns = grid_shape[grid_axis] * float(grid_resolution[grid_axis])
            shape.append(max(1, round(microns / float(resolution[axis]))))
        return tuple(shape)

    def grid_index(self, points: np.ndarray) -> np.ndarray:
        """N x 3 sample coordinates to (fractional) indices of the grid, exactly as brainglobe-utils
        maps cells to brainreg's grid (so results agree with brainmapper's); the field's values are
        then NiftyReg voxel-centre positions, placed at voxel centres here (:attr:`half_voxel`)."""
        return self.sample.to_atlas(points) / self.grid_resolution

    @property
    def half_voxel(self) -> np.ndarray:
        """Microns from NiftyReg's voxel-centre positions to ours (the grid is at the atlas's resolution)."""
        return self.grid_resolution / 2

    def outside(self, index: np.ndarray) -> np.ndarray:
        """Grid indices beyond the grid by more than :attr:`MARGIN` voxels."""
        shape = np.asarray(self.grid_shape, dtype=float)
        return np.asarray(((index < -self.MARGIN) | (index > shape - 1 + self.MARGIN)).any(axis=1))

    def lookup(self, index: np.ndarray) -> np.ndarray:
        """Atlas microns at N x 3 grid indices (trilinear; clamped at the edge)."""
        from scipy.ndimage import map_coordinates

        index = np.asarray(index, dtype=float).reshape(-1, 3)
        mm = np.stack([map_coordinates(f, index.T, order=1, mode="nearest") for f in self.fields_mm], axis=1)
        return field_to_atlas_um(mm) + self.half_voxel

    def to_atlas(self, points: np.ndarray, shape=None) -> np.ndarray:
        """Map N x 3 sample coordinates to atlas microns.

        Raises
        ------
        SpaceError
            When points lie beyond the registered sample's grid.
        """
        index = self.grid_index(np.asarray(points, dtype=float).reshape(-1, 3))
        bad = self.outside(index)
        if bad.any():
            first = int(np.nonzero(bad)[0][0])
            raise SpaceError(
                f"{int(bad.sum())} of {len(index)} points lie outside the registered sample (first at row {first}, "
                f"grid index {np.round(index[first], 1).tolist()} of a {list(self.grid_shape)} grid); check "
                "space.orientation, space.resolution and space.shape against the stack the points were found in")
        return self.lookup(index)

    def mirrors(self) -> bool:
        """Whether the map is a reflection (a registration itself never is)."""
        return self.sample.mirrors()

    def flipped_axes(self) -> list[str]:
        return self.sample.flipped_axes()

    def fit_affine(self, step: int = 2) -> np.ndarray:
        """Least-squares 4 x 4 affine from grid index to field millimetres."""
        grid = np.stack(np.meshgrid(*[np.arange(0, n, step) for n in self.grid_shape], indexing="ij"), -1)
        grid = grid.reshape(-1, 3).astype(float)
        values = np.stack([f[::step, ::step, ::step].ravel() for f in self.fields_mm], axis=1).astype(float)
        design = np.hstack([grid, np.ones((len(grid), 1))])
        solution, *_ = np.linalg.lstsq(design, values, rcond=None)
        affine = np.eye(4)
        affine[:3, :] = solution.T
        return affine

    def invert(self, atlas_um: np.ndarray, *, iterations: int = 30, chunk: int = 1 << 21) -> tuple[np.ndarray, np.ndarray]:
        """Grid indices whose field value is each atlas point (the inverse map).

        Fixed-point iteration on ``F(g) = y`` with the field's best affine as
        the step (``g += A^-1 (y - F(g))``), started from that affine's inverse;
        each point stops once within a twentieth of a voxel, or once it leaves
        the grid. Returns the indices and a mask of points that converged
        inside the grid (the sample covers them).
        """
        atlas_um = np.asarray(atlas_um, dtype=float).reshape(-1, 3)
        affine = self.fit_affine()
        if not np.isfinite(affine).all() or np.linalg.cond(affine[:3, :3]) > 1e6:
            raise SpaceError("the deformation fields do not map the sample onto a volume of the atlas (they are flat "
                             "or degenerate), so a stack cannot be resampled through them")
        linear_inv = np.linalg.inv(affine[:3, :3])
        shape = np.asarray(self.grid_shape, dtype=float)
        tolerance = 0.05 * float(self.grid_resolution.min())  # microns
        out = np.empty_like(atlas_um)
        ok = np.zeros(len(atlas_um), dtype=bool)
        for start in range(0, len(atlas_um), chunk):
            target = atlas_um[start:start + chunk]
            index = (atlas_um_to_field(target - self.half_voxel) - affine[:3, 3]) @ linear_inv.T
            active = np.arange(len(target))
            done = np.zeros(len(target), dtype=bool)
            for _ in range(iterations):
                residual = target[active] - self.lookup(index[active])
                converged = np.abs(residual).max(axis=1) < tolerance
                done[active[converged]] = True
                index[active] += atlas_um_to_field(residual) @ linear_inv.T
                away = ((index[active] < -2) | (index[active] > shape + 1)).any(axis=1)
                active = active[~converged & ~away]
                if not len(active):
                    break
            inside = ((index > -0.5) & (index < shape - 0.5)).all(axis=1)
            out[start:start + chunk] = index
            ok[start:start + chunk] = done & inside
        return out, ok

    def stack_on_grid_axes(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stack reordered and flipped onto the grid's (atlas) axes, as brainreg does it
        (brainglobe-space ``map_stack_to``: a flipped axis reads voxel ``n - 1 - i``), and
        its voxel size on those axes."""
        space_class = _anatomical_space()
        source = space_class(self.sample.orientation)
        target = space_class(ATLAS_ORIGIN)
        reordered = source.map_stack_to(target, values)
        resolution = np.array([self.sample.resolution[source.axes_order.index(axis)] for axis in target.axes_order])
        return reordered, resolution

    def resample_volume(self, values: np.ndarray, atlas_shape, atlas_resolution, *,
                        chunk: int = 1 << 21) -> np.ndarray:
        """A sample-space stack resampled onto the atlas grid (trilinear; 0 outside the sample).

        brainreg made its grid from the stack by scaling it to the atlas voxel
        size and reordering it onto the atlas axes; each atlas voxel is traced
        back through the inverse field to the grid, and from there to the
        reordered stack by that scale.
        """
        from scipy.ndimage import map_coordinates

        reordered, resolution = self.stack_on_grid_axes(np.asarray(values, dtype=np.float32))
        to_stack = self.grid_resolution / resolution  # grid index -> reordered stack index
        atlas_resolution = np.asarray(atlas_resolution, dtype=float)
        out = np.zeros(int(np.prod(atlas_shape)), dtype=np.float32)
        plane = int(np.prod(atlas_shape[1:]))
        rows = max(1, chunk // plane)
        for first in range(0, atlas_shape[0], rows):
            last = min(atlas_shape[0], first + rows)
            index = np.stack(np.meshgrid(np.arange(first, last), np.arange(atlas_shape[1]), np.arange(atlas_shape[2]),
                                         indexing="ij"), -1).reshape(-1, 3)
            grid, ok = self.invert((index + 0.5) * atlas_resolution)  # atlas voxel centres
            sampled = map_coordinates(reordered, (grid * to_stack).T, order=1, mode="constant", cval=0.0)
            out[first * plane:last * plane] = np.where(ok, sampled, 0.0)
        return out.reshape(atlas_shape)
