"""What an actor's ``build`` function gets besides its own spec."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..atlas import RegionNotFound, SceneAtlas
from ..document import ScenePath, SceneDocument
from ..errors import SceneError, UnknownRegionError
from ..plan import RGB


@dataclass(frozen=True)
class BuildContext:
    """The atlas, the scene document and where in it this actor is."""

    atlas: SceneAtlas
    doc: SceneDocument
    path: ScenePath

    def fail(self, key_path: ScenePath, message: str, error: type[SceneError] = SceneError) -> SceneError:
        """A located user error for a key of this actor (raise it)."""
        return error(self.doc.problem(self.path + key_path, message))

    def structure(self, ref: str | int, key_path: ScenePath) -> dict:
        """Look up a region, failing with a located did-you-mean message."""
        try:
            return self.atlas.structure(ref)
        except RegionNotFound as err:
            raise self.fail(key_path, str(err), UnknownRegionError) from None

    def color(self, value, key_path: ScenePath) -> RGB:
        """A scene colour as RGB 0-1, failing with a located message."""
        return parse_color(value, lambda msg: self.fail(key_path, msg))


def parse_color(value, fail) -> RGB:
    """RGB 0-1 from a colour name, hex string or 0-255 triple."""
    import pyvista as pv

    if isinstance(value, (list, tuple)):
        return tuple(float(c) / 255.0 for c in value)  # type: ignore[return-value]
    try:
        return tuple(float(c) for c in pv.Color(value).float_rgb)  # type: ignore[return-value]
    except ValueError:
        from pyvista.plotting.colors import hex_colors

        from ..validate import did_you_mean

        names = [name.replace("_", "") for name in hex_colors]
        raise fail(f"unknown colour {value!r}{did_you_mean(value, names)} "
                   "(use a colour name, '#rrggbb' or [r, g, b] 0-255)") from None


def mesh_arrays(points: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make sure arrays are the dtypes the renderer expects."""
    return np.ascontiguousarray(points, dtype=np.float64), np.ascontiguousarray(faces, dtype=np.int64)
