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
from brainglobe_space import AnatomicalSpace

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
