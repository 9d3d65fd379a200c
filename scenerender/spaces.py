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

#: Linear map from atlas microns (``asr``) to the right-handed render world.
ATLAS_TO_WORLD = np.diag([1.0, 1.0, -1.0])
WORLD_TO_ATLAS = np.linalg.inv(ATLAS_TO_WORLD)

#: BrainGlobe's atlas orientation.
ATLAS_ORIGIN = "asr"

_NAMES = {"a": "anterior", "p": "posterior", "s": "superior", "i": "inferior", "l": "left", "r": "right"}


def atlas_to_world(points: np.ndarray) -> np.ndarray:
    """Atlas microns (N x 3 or 3) to world coordinates."""
    return np.asarray(points, dtype=float) @ ATLAS_TO_WORLD.T


def world_to_atlas(points: np.ndarray) -> np.ndarray:
    """World coordinates (N x 3 or 3) to atlas microns."""
    return np.asarray(points, dtype=float) @ WORLD_TO_ATLAS.T


def anatomical_direction(name: str, origin: str = ATLAS_ORIGIN) -> np.ndarray:
    """Unit vector, in atlas axes, pointing towards an anatomical direction.

    ``name`` is one of anterior, posterior, superior, inferior, left, right
    (or its first letter). Derived from brainglobe-space's description of the
    axes rather than written out by hand.
    """
    from brainglobe_space import AnatomicalSpace  # imported when used: it is slow to load

    letter = name[0].lower()
    space = AnatomicalSpace(origin)
    vec = np.zeros(3)
    for axis, (start, end) in enumerate(space.axes_description):
        start, end = start[0], end[0]
        if letter == end:
            vec[axis] = 1.0
        elif letter == start:
            vec[axis] = -1.0
    if not vec.any():
        raise ValueError(f"unknown anatomical direction {name!r}; use one of {', '.join(_NAMES.values())}")
    return vec


def world_direction(name: str) -> np.ndarray:
    """Unit vector in the render world pointing towards ``name``."""
    return ATLAS_TO_WORLD @ anatomical_direction(name)


class SpaceError(ValueError):
    """A source's declared space is unusable; the message says how to fix it."""


_PAIRS = ("ap", "si", "lr")


def check_orientation(orientation: str) -> str:
    """Normalise and check a brainglobe-space orientation string like ``psl``."""
    text = str(orientation).strip().lower()
    letters_ok = len(text) == 3 and all(c in "apsilr" for c in text)
    pairs_ok = letters_ok and all(sum(c in pair for c in text) == 1 for pair in _PAIRS)
    if not pairs_ok:
        raise SpaceError(
            f"{orientation!r} is not an orientation: give three letters, one from each pair "
            "a/p (anterior/posterior), s/i (superior/inferior), l/r (left/right), naming where each "
            "axis starts, e.g. 'asr' (BrainGlobe atlases) or 'psl'")
    return text


class SourceSpace:
    """The anatomical space a source was recorded in, and its map into the atlas.

    Coordinates in the source are in units of ``resolution`` (voxels, or
    microns when the resolution is 1) along the axes named by ``orientation``
    (brainglobe-space convention: each letter says where that axis starts).
    ``offset`` (microns, along the source axes) places a partial acquisition
    inside the full source space of ``shape`` voxels; ``affine`` (4 x 4) is
    applied last, in atlas microns. Axis order, flips and scaling are done by
    brainglobe-space's :meth:`AnatomicalSpace.transformation_matrix_to`.
    """

    def __init__(self, orientation: str = ATLAS_ORIGIN, *, resolution=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0),
                 shape=None, affine=None):
        self.orientation = check_orientation(orientation)
        self.resolution = tuple(float(r) for r in resolution)
        self.offset = np.asarray(offset, dtype=float)
        self.shape = None if shape is None else tuple(int(s) for s in shape)
        self.affine = None if affine is None else np.asarray(affine, dtype=float)
        if any(r <= 0 for r in self.resolution):
            raise SpaceError(f"resolution {list(resolution)} must be positive microns per unit on every axis")

    @classmethod
    def atlas(cls) -> "SourceSpace":
        """Coordinates already in atlas microns."""
        return cls()

    def flipped_axes(self) -> list[str]:
        """Source axes that run against the atlas axes (these need ``shape``)."""
        from brainglobe_space import AnatomicalSpace  # imported when used: it is slow to load

        _, flips, _, _ = AnatomicalSpace(self.orientation).map_to(AnatomicalSpace(ATLAS_ORIGIN))
        order = [AnatomicalSpace(self.orientation).axes_order.index(ax) for ax in AnatomicalSpace(ATLAS_ORIGIN).axes_order]
        return [self.orientation[order[i]] for i, flip in enumerate(flips) if flip]

    def matrix(self, shape=None) -> np.ndarray:
        """4 x 4 map from source units (after adding the offset) to atlas microns."""
        from brainglobe_space import AnatomicalSpace  # imported when used: it is slow to load

        shape = self.shape if self.shape is not None else shape
        flips = self.flipped_axes()
        if shape is None and flips:
            raise SpaceError(
                f"orientation {self.orientation!r} runs against the atlas on axis "
                f"{' and '.join(repr(f) for f in flips)}, so the flip needs the size of the source space: "
                "add space.shape (voxels along each source axis)")
        source = AnatomicalSpace(self.orientation, shape=shape, resolution=self.resolution)
        target = AnatomicalSpace(ATLAS_ORIGIN, resolution=(1.0, 1.0, 1.0))
        matrix = source.transformation_matrix_to(target)
        shift = np.eye(4)
        shift[:3, 3] = self.offset / np.asarray(self.resolution)  # offset microns -> source units
        matrix = matrix @ shift
        return self.affine @ matrix if self.affine is not None else matrix

    def to_atlas(self, points: np.ndarray, shape=None) -> np.ndarray:
        """Map N x 3 source coordinates to atlas microns."""
        points = np.asarray(points, dtype=float).reshape(-1, 3)
        matrix = self.matrix(shape)
        return points @ matrix[:3, :3].T + matrix[:3, 3]

    def mirrors(self) -> bool:
        """Whether the map into the atlas is a reflection (turns surfaces inside out)."""
        linear = self.matrix(self.shape or (1, 1, 1))[:3, :3]
        return bool(np.linalg.det(linear) < 0)


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
