"""Cameras: presets framed from the atlas bounds, explicit cameras, and
printing a camera back as scene YAML.

Presets are directions named in anatomical terms and turned into world
vectors by :mod:`scenerender.spaces`; the distance is whatever frames the
brain's bounding box at zoom 1, so nothing here is in hard-coded microns.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .options import Projection
from .plan import CameraPlan
from .spaces import affine_rows, atlas_to_world, column_bounds, world_direction, world_to_atlas

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

#: Free space left on each side of the framed actors, as a fraction of the
#: image's limiting dimension (the same under both projections).
MARGIN = 0.04


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def preset_camera(preset: str, points_world: np.ndarray, *, aspect: float, view_angle: float,
                  zoom: float, orthographic: bool, rect: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0),
                  margin: float = MARGIN) -> CameraPlan:
    """Frame ``points_world`` (N x 3, e.g. the visible actors' surfaces) from a named preset.

    At zoom 1 the points' projection fits exactly inside ``rect`` (left,
    right, bottom, top as fractions of the image; default the whole image)
    less ``margin`` on each side, under the chosen projection: perspective
    foreshortening is taken into account, so nearer parts are not cut and
    nothing is framed by a loose bounding box. ``aspect`` is width / height.
    """
    if view_angle < MIN_VIEW_ANGLE:
        raise CameraError(f"view_angle {view_angle:g} is below {MIN_VIEW_ANGLE:g} degrees", key="view_angle")
    towards, up_name = PRESETS[preset]
    direction = _unit(sum(w * world_direction(name) for name, w in towards))
    up = world_direction(up_name)
    up = _unit(up - direction * np.dot(up, direction))  # keep up orthogonal to the view
    return fit_view(direction, up, points_world, aspect=aspect, view_angle=view_angle, zoom=zoom,
                    orthographic=orthographic, rect=rect, margin=margin)


def fit_view(direction, up, points_world: np.ndarray, *, aspect: float, view_angle: float, zoom: float,
             orthographic: bool, rect=(0.0, 1.0, 0.0, 1.0), margin: float = MARGIN) -> CameraPlan:
    """A camera looking along ``-direction`` with ``up`` that fits the points into ``rect``.

    Perspective: with the points in camera axes (x right, y up, z towards
    the camera) and the camera at lateral offset ``s`` and distance ``d`` from
    their centre, a point lands at ``(x - s) / (d - z)`` in tangent units;
    keeping every point inside ``[lo, hi]`` is linear in ``(s, d)``, so the
    nearest camera that fits has a closed form. Orthographic: the half-height
    that fits, with the camera back far enough to see everything.
    """
    direction, up = _unit(direction), _unit(up)
    right = np.cross(-direction, up)
    points = np.asarray(points_world, dtype=float).reshape(-1, 3)
    lo, hi = column_bounds(points)
    centre = (lo + hi) / 2
    axes = np.stack([right, up, direction])
    x, y, z = affine_rows(points, axes, -(axes @ centre))  # the points in camera axes, about their centre
    tan_h = np.tan(np.radians(view_angle) / 2)
    # The target box in units of the image half-height (NDC y spans -1..1, x spans -aspect..aspect).
    left, right_edge, bottom, top = rect
    pad = 2 * margin * min(aspect, 1.0)  # margin * the image's short side, in half-heights
    u0 = aspect * (2 * left - 1) + pad
    u1 = aspect * (2 * right_edge - 1) - pad
    v0 = (2 * bottom - 1) + pad
    v1 = (2 * top - 1) - pad
    if not (u1 > u0 and v1 > v0):
        u0, u1, v0, v1 = -aspect, aspect, -1.0, 1.0
    if orthographic:
        scale = max((x.max() - x.min()) / (u1 - u0), (y.max() - y.min()) / (v1 - v0), 1e-9)  # half-height per unit
        s_x = (x.max() + x.min()) / 2 - (u0 + u1) / 2 * scale
        s_y = (y.max() + y.min()) / 2 - (v0 + v1) / 2 * scale
        distance = scale / tan_h  # parallel scale = distance * tan(view_angle / 2)
        if distance <= z.max() * 1.01:  # a very wide angle: keep the camera outside the points
            distance = z.max() * 1.01 + scale
    else:
        a0, a1, b0, b1 = u0 * tan_h, u1 * tan_h, v0 * tan_h, v1 * tan_h  # the box in tangent units
        d_x = ((x + a1 * z).max() - (x + a0 * z).min()) / (a1 - a0)
        d_y = ((y + b1 * z).max() - (y + b0 * z).min()) / (b1 - b0)
        distance = max(d_x, d_y, z.max() * 1.01 + 1e-6)
        s_x = ((x + a1 * z).max() - a1 * distance + (x + a0 * z).min() - a0 * distance) / 2
        s_y = ((y + b1 * z).max() - b1 * distance + (y + b0 * z).min() - b0 * distance) / 2
    focal = centre + s_x * right + s_y * up
    position = focal + direction * distance
    return CameraPlan(tuple(position), tuple(focal), tuple(up), float(view_angle), float(zoom), orthographic)


class CameraError(ValueError):
    """A camera that cannot be drawn (degenerate or not finite); the message says why.

    ``key`` names the camera key the problem is about (``zoom``, ``view_angle``,
    ``view_up``), when it is one, so callers locate it without reading the message.
    """

    def __init__(self, message: str, *, key: str | None = None):
        super().__init__(message)
        self.key = key


#: Zoom and view angle beyond these make VTK's clipping and projection degenerate.
ZOOM_RANGE = (1e-6, 1e6)
MIN_VIEW_ANGLE = 1e-3


def checked(camera: CameraPlan) -> CameraPlan:
    """``camera`` if it can be drawn.

    Raises
    ------
    CameraError
        When position and focal point coincide, view-up is zero or along the
        view direction, or a zoom or view angle is so extreme that the camera
        is not finite.
    """
    values = np.array([*camera.position, *camera.focal_point, *camera.view_up, camera.view_angle, camera.zoom])
    if not np.isfinite(values).all():
        raise CameraError("the camera is not finite (a zoom or view_angle too extreme to frame the brain)")
    if not ZOOM_RANGE[0] <= camera.zoom <= ZOOM_RANGE[1]:
        raise CameraError(f"zoom {camera.zoom:g} is outside {ZOOM_RANGE[0]:g}..{ZOOM_RANGE[1]:g}", key="zoom")
    if camera.view_angle < MIN_VIEW_ANGLE:
        raise CameraError(f"view_angle {camera.view_angle:g} is below {MIN_VIEW_ANGLE:g} degrees",
                          key="view_angle")
    back = np.subtract(camera.position, camera.focal_point)
    distance = float(np.linalg.norm(back))
    if not distance > 1e-6 * max(1.0, float(np.abs(camera.focal_point).max())):
        raise CameraError("position and focal_point are the same point; the camera must look from somewhere")
    up = np.asarray(camera.view_up, dtype=float)
    if not np.linalg.norm(up) > 0:
        raise CameraError("view_up is the zero vector; give the direction that is up in the image", key="view_up")
    if np.linalg.norm(np.cross(back / distance, up / np.linalg.norm(up))) < 1e-6:
        raise CameraError("view_up points along the line of sight; give a direction across it", key="view_up")
    return camera


def explicit_camera(spec: dict) -> CameraPlan:
    """A camera given in atlas microns (position, focal point, view-up)."""
    up = atlas_to_world(spec["view_up"])
    if not np.linalg.norm(up) > 0:
        raise CameraError("view_up is the zero vector; give the direction that is up in the image", key="view_up")
    return CameraPlan(
        tuple(atlas_to_world(spec["position"])),
        tuple(atlas_to_world(spec["focal_point"])),
        tuple(_unit(up)),
        float(spec["view_angle"]),
        float(spec["zoom"]),
        spec["projection"] == Projection.ORTHOGRAPHIC,
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
        "projection": (Projection.ORTHOGRAPHIC if camera.orthographic else Projection.PERSPECTIVE).value,
    }


def _rotation_about(axis, degrees: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(np.radians(degrees) * _unit(axis)).as_matrix()


def rotate_about_focal(camera: CameraPlan, axis, degrees: float) -> CameraPlan:
    """The camera orbited ``degrees`` about ``axis`` (world) through its focal point."""
    rot = _rotation_about(axis, degrees)
    focal = np.asarray(camera.focal_point)
    position = focal + rot @ (np.asarray(camera.position) - focal)
    return replace(camera, position=tuple(position), view_up=tuple(rot @ np.asarray(camera.view_up)))


def _frame(camera: CameraPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(back, up, right) unit vectors of a camera; back points from focal point to camera."""
    back = _unit(np.subtract(camera.position, camera.focal_point))
    up = _unit(np.asarray(camera.view_up) - back * np.dot(camera.view_up, back))
    return back, up, np.cross(up, back)


def move_camera(camera: CameraPlan, *, azimuth: float = 0.0, elevation: float = 0.0, roll: float = 0.0,
                zoom: float = 1.0) -> CameraPlan:
    """A relative move: azimuth about the view-up, elevation about the camera's
    right axis (both through the focal point), roll about the view direction,
    and zoom multiplied (VTK's Azimuth/Elevation/Roll/Zoom, without drift)."""
    back, up, right = _frame(camera)
    moved = rotate_about_focal(camera, up, azimuth)
    if elevation:
        moved = rotate_about_focal(moved, _frame(moved)[2], -elevation)
    if roll:
        rot = _rotation_about(_frame(moved)[0], roll)
        moved = replace(moved, view_up=tuple(rot @ np.asarray(moved.view_up)))
    return replace(moved, zoom=moved.zoom * zoom)


def interpolate_cameras(a: CameraPlan, b: CameraPlan, s: float) -> CameraPlan:
    """The camera a fraction ``s`` of the way from ``a`` to ``b``.

    Orientation by quaternion slerp, focal point linearly, distance and zoom
    log-linearly (equal ratios in equal times), so nothing jumps or drifts
    and ``s = 1`` gives exactly ``b``.
    """
    if s <= 0:
        return a
    if s >= 1:
        return b
    from scipy.spatial.transform import Rotation, Slerp

    def matrix(cam):
        back, up, right = _frame(cam)
        return np.column_stack([right, up, back])

    rotations = Rotation.from_matrix(np.stack([matrix(a), matrix(b)]))
    rot = Slerp([0.0, 1.0], rotations)([s]).as_matrix()[0]
    up, back = rot[:, 1], rot[:, 2]
    focal = (1 - s) * np.asarray(a.focal_point) + s * np.asarray(b.focal_point)
    da = np.linalg.norm(np.subtract(a.position, a.focal_point))
    db = np.linalg.norm(np.subtract(b.position, b.focal_point))
    distance = da * (db / da) ** s
    return CameraPlan(position=tuple(focal + back * distance), focal_point=tuple(focal), view_up=tuple(up),
                      view_angle=(1 - s) * a.view_angle + s * b.view_angle, zoom=a.zoom * (b.zoom / a.zoom) ** s,
                      orthographic=a.orthographic)


#: Anatomical directions and their usual one-letter labels (dorsal/ventral for superior/inferior).
DIRECTION_LETTERS = {"anterior": "A", "posterior": "P", "superior": "D", "inferior": "V", "left": "L", "right": "R"}


def image_directions(camera: CameraPlan) -> dict[str, tuple[float, float]]:
    """Where each anatomical direction points in the image: (right, up) components.

    A direction along the line of sight has length ~0; one in the image
    plane has length 1. Directions come from the atlas space
    (:func:`scenerender.spaces.world_direction`), so they follow the atlas's
    axes and handedness, never raw x/y/z.
    """
    back, up, right = _frame(camera)
    return {name: (float(np.dot(world_direction(name), right)), float(np.dot(world_direction(name), up)))
            for name in DIRECTION_LETTERS}


def scale_at_depth(camera: CameraPlan, height_px: int, at=None) -> float:
    """Pixels per micron at the depth of world point ``at`` (default: the focal point).

    Orthographic: the same at every depth. Perspective: true at that depth only.
    """
    if camera.orthographic:
        return height_px / (2 * camera.parallel_scale)
    back = _frame(camera)[0]
    target = np.asarray(camera.focal_point if at is None else at, dtype=float)
    depth = float(np.dot(np.asarray(camera.position) - target, back))
    if depth <= 0:
        return float("nan")  # behind the camera: no length is true there
    return height_px / (2 * depth * np.tan(np.radians(camera.effective_view_angle) / 2))
