"""Cameras: presets framed from the atlas bounds, explicit cameras, and
printing a camera back as scene YAML.

Presets are directions named in anatomical terms and turned into world
vectors by :mod:`scenerender.spaces`; the distance is whatever frames the
brain's bounding box at zoom 1, so nothing here is in hard-coded microns.
"""

from __future__ import annotations

import numpy as np

from .plan import CameraPlan
from .spaces import atlas_to_world, world_direction, world_to_atlas

#: Preset name -> (directions the camera sits towards, direction that is up).
PRESETS: dict[str, tuple[tuple[tuple[str, float], ...], str]] = {
    "sagittal": ((("left", 1.0),), "superior"),
    "sagittal_right": ((("right", 1.0),), "superior"),
    "frontal": ((("anterior", 1.0),), "superior"),
    "posterior": ((("posterior", 1.0),), "superior"),
    "horizontal": ((("superior", 1.0),), "anterior"),
    "top": ((("superior", 1.0),), "anterior"),
    "bottom": ((("inferior", 1.0),), "anterior"),
    "three_quarters": ((("anterior", 1.0), ("left", 1.0), ("superior", 0.8)), "superior"),
}

#: Fraction of the image left free around the framed brain.
MARGIN = 1.05


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def preset_camera(preset: str, points_world: np.ndarray, *, aspect: float, view_angle: float,
                  zoom: float, orthographic: bool) -> CameraPlan:
    """Frame ``points_world`` (N x 3, e.g. the brain's surface) from a named preset.

    The view is centred on the points' bounding box and, at zoom 1, all
    points fit the image; ``aspect`` is width / height.
    """
    towards, up_name = PRESETS[preset]
    direction = _unit(sum(w * world_direction(name) for name, w in towards))
    up = world_direction(up_name)
    up = _unit(up - direction * np.dot(up, direction))  # keep up orthogonal to the view
    right = np.cross(-direction, up)
    centre = (points_world.min(axis=0) + points_world.max(axis=0)) / 2
    corners = points_world - centre
    half_w = np.abs(corners @ right).max()
    half_h = np.abs(corners @ up).max()
    half_depth = np.abs(corners @ direction).max()
    needed = max(half_h, half_w / aspect) * MARGIN
    distance = needed / np.tan(np.radians(view_angle) / 2) + half_depth
    position = centre + direction * distance
    return CameraPlan(tuple(position), tuple(centre), tuple(up), float(view_angle), float(zoom), orthographic)


def explicit_camera(spec: dict) -> CameraPlan:
    """A camera given in atlas microns (position, focal point, view-up)."""
    return CameraPlan(
        tuple(atlas_to_world(spec["position"])),
        tuple(atlas_to_world(spec["focal_point"])),
        tuple(_unit(atlas_to_world(spec["view_up"]))),
        float(spec["view_angle"]),
        float(spec["zoom"]),
        spec["projection"] == "orthographic",
    )


def camera_to_scene(camera: CameraPlan) -> dict:
    """The camera as a scene ``camera:`` mapping in atlas microns, ready to paste."""
    def r(values, nd=4):
        return [round(float(v), nd) + 0.0 for v in values]
    return {
        "position": r(world_to_atlas(camera.position)),
        "focal_point": r(world_to_atlas(camera.focal_point)),
        "view_up": r(world_to_atlas(camera.view_up), 6),
        "zoom": camera.zoom,
        "view_angle": camera.view_angle,
        "projection": "orthographic" if camera.orthographic else "perspective",
    }
