"""Animations as data: a timeline of keyframes that gives every frame's
camera and actor properties as a pure function of time.

Frames are numbered from 0 and frame ``i`` shows time ``i / fps``. With
``duration: D`` the frames are ``0 .. round(D * fps)``, so there are
``round(D * fps) + 1`` of them and both the first and the last keyframe are
drawn; ``frames: N`` gives frames ``0 .. N - 1`` (duration ``(N - 1) / fps``).
A loop (by default an orbit of whole turns) leaves out the frame that would
repeat the first: ``round(D * fps)`` frames, the turn ending after the last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, cast

from .camera import CameraError, checked, interpolate_cameras, move_camera, rotate_about_focal
from .options import Easing
from .plan import RGB, CameraPlan
from .suggest import did_you_mean
from .errors import LimitError, SceneError
from .limits import check_limit, over_limit

#: Easing of a segment, applied to the fraction u of the segment elapsed.
EASINGS: dict[str, Callable[[float], float]] = {
    Easing.LINEAR: lambda u: u,
    Easing.EASE_IN_OUT: lambda u: u * u * (3 - 2 * u),
    Easing.STEP: lambda u: 1.0 if u >= 1 else 0.0,
}


@dataclass(frozen=True)
class CameraKey:
    """A camera keyframe, resolved to an absolute camera.

    ``move`` is set when the keyframe was a relative move from the previous
    one; the segment then moves by that fraction of it (so a 360 degree
    azimuth turns all the way round) instead of slerping between endpoints.
    """

    time: float
    camera: CameraPlan
    easing: str = "linear"
    move: dict | None = None


@dataclass(frozen=True)
class PropertyKey:
    """One actor property at one keyframe (alpha, color or visible)."""

    time: float
    value: float | RGB | bool
    easing: str = "linear"


@dataclass(frozen=True)
class Orbit:
    """A turn of ``degrees`` about a world axis through the focal point, over the whole animation."""

    axis: tuple[float, float, float]
    degrees: float
    easing: str = "linear"


@dataclass(frozen=True)
class Timeline:
    """When frames are drawn and what each shows."""

    fps: float
    n_frames: int
    start_camera: CameraPlan
    camera_keys: tuple[CameraKey, ...] = ()
    orbit: Orbit | None = None
    tracks: dict = field(default_factory=dict)  # (plan index, property) -> tuple[PropertyKey, ...]
    quality: int = 18
    #: A loop: the frame after the last would be the first again, so it is not drawn.
    loop: bool = False

    @property
    def duration(self) -> float:
        return (self.n_frames - 1) / self.fps

    def time_of(self, frame: int) -> float:
        return frame / self.fps

    def camera_at(self, t: float) -> CameraPlan:
        if self.orbit is not None:
            period = self.n_frames / self.fps if self.loop else self.duration  # a loop ends where it began
            u = min(max(t / period, 0.0), 1.0) if period > 0 else 1.0
            return rotate_about_focal(self.start_camera, self.orbit.axis,
                                      self.orbit.degrees * EASINGS[self.orbit.easing](u))
        keys = self.camera_keys
        if not keys or t <= keys[0].time:
            return keys[0].camera if keys else self.start_camera
        for prev, key in zip(keys, keys[1:]):
            if t <= key.time:
                s = EASINGS[key.easing]((t - prev.time) / (key.time - prev.time))
                if key.move is not None:
                    return move_camera(prev.camera, **{k: (v ** s if k == "zoom" else v * s)
                                                      for k, v in key.move.items()})
                return interpolate_cameras(prev.camera, key.camera, s)
        return keys[-1].camera

    def states_at(self, t: float) -> dict[int, dict]:
        """plan index -> {property: value} for every animated property at time t."""
        states: dict[int, dict] = {}
        for (index, prop), keys in self.tracks.items():
            states.setdefault(index, {})[prop] = _property_at(keys, t, prop)
        return states


def _property_at(keys: tuple[PropertyKey, ...], t: float, prop: str):
    if t <= keys[0].time:
        return keys[0].value
    for prev, key in zip(keys, keys[1:]):
        if t <= key.time:
            if prop == "visible":  # visibility switches, it does not fade
                return key.value if t >= key.time else prev.value
            s = EASINGS[key.easing]((t - prev.time) / (key.time - prev.time))
            if prop == "color":
                return tuple((1 - s) * a + s * b for a, b in zip(cast(RGB, prev.value), cast(RGB, key.value)))
            return (1 - s) * cast(float, prev.value) + s * cast(float, key.value)
    return keys[-1].value


#: The slowest frame rate: one frame per 100 s (video writers cannot encode slower ones).
MIN_FPS = 0.01


def loops(spec: dict) -> bool:
    """Whether the animation is a loop: ``loop`` if given, else an orbit of whole turns
    at constant speed with no keyframes (its last frame would repeat its first)."""
    if spec.get("loop") is not None:
        return bool(spec["loop"])
    orbit = spec.get("orbit")
    if orbit is None or spec.get("keyframes"):
        return False
    degrees = float(orbit.get("degrees", 360))
    return degrees != 0 and degrees % 360 == 0 and orbit.get("easing", "linear") == "linear"


def frame_count(spec: dict, last_key_time: float) -> int:
    """Number of frames from fps and duration or frames (see the module docstring);
    a loop of duration D has ``round(D * fps)`` frames, its end being its start."""
    if "frames" in spec:
        return int(spec["frames"])
    duration = spec.get("duration", last_key_time)
    return int(round(duration * spec["fps"])) + (0 if loops(spec) else 1)


def build_timeline(spec: dict, *, doc, start_camera: CameraPlan, camera_from_spec, plans, world_direction,
                   parse_color) -> Timeline:
    """Resolve a scene's ``animation:`` section (defaults filled) into a :class:`Timeline`.

    ``camera_from_spec`` turns a keyframe's camera mapping into a camera;
    ``plans`` are the compiled actor plans (their ``group`` is the scene
    actor's id); errors are located in ``doc``.
    """
    keyframes = sorted(enumerate(spec.get("keyframes", [])), key=lambda pair: pair[1]["time"])
    groups: dict[str, list[int]] = {}
    for index, plan in enumerate(plans):
        groups.setdefault(plan.group, []).append(index)

    camera_keys: list[CameraKey] = []
    tracks: dict[tuple[int, str], list[PropertyKey]] = {}
    for position, key in keyframes:
        where: tuple = ("animation", "keyframes", position)
        if "camera" in key or "move" in key or not camera_keys:
            current = camera_keys[-1].camera if camera_keys else start_camera
            camera_keys.append(_camera_key(key, where, current, doc=doc, camera_from_spec=camera_from_spec))
        _add_actor_keys(key, where, groups, tracks, doc=doc, parse_color=parse_color)
    _start_from_own_values(tracks, plans)
    orbit = None
    if "orbit" in spec:
        o = spec["orbit"]
        orbit = Orbit(axis=tuple(world_direction(o["axis"])), degrees=float(o["degrees"]), easing=o["easing"])
    last = max([k.time for k in camera_keys] + [k.time for keys in tracks.values() for k in keys] + [0.0])
    n_frames = _checked_frame_count(spec, last, doc=doc)
    return Timeline(fps=float(spec["fps"]), n_frames=n_frames, start_camera=start_camera,
                    camera_keys=tuple(camera_keys), orbit=orbit,
                    tracks={k: tuple(v) for k, v in tracks.items()}, quality=int(spec["quality"]), loop=loops(spec))


def _camera_key(key: dict, where: tuple, current: CameraPlan, *, doc, camera_from_spec) -> CameraKey:
    """A keyframe's camera: its own ``camera``, a ``move`` from ``current`` (the previous keyframe's),
    or, for a first keyframe with neither, ``current`` (the scene's camera) held."""
    move = None
    if "camera" in key:
        current = camera_from_spec(key["camera"], where + ("camera",))
    elif "move" in key:
        move = dict(key["move"])
        try:
            current = checked(move_camera(current, **move))
        except CameraError as err:
            raise SceneError(doc.problem(where + ("move",), f"after this move, {err}")) from None
    return CameraKey(time=float(key["time"]), camera=current, easing=key["easing"], move=move)


def _add_actor_keys(key: dict, where: tuple, groups: dict[str, list[int]],
                    tracks: dict[tuple[int, str], list[PropertyKey]], *, doc, parse_color) -> None:
    """Add a keyframe's actor properties to the tracks of every plan of each actor it names (by id)."""
    for group, props in key.get("actors", {}).items():
        if group not in groups:
            raise SceneError(doc.problem(where + ("actors", group),
                                         f"no actor with id {group!r}{did_you_mean(group, groups)}; "
                                         "give the actor an 'id:' to animate it", key=True))
        for prop, value in props.items():
            if prop == "color":
                value = parse_color(value, lambda msg: SceneError(doc.problem(where + ("actors", group, prop), msg)))  # noqa: B023 (called at once)
            for index in groups[group]:
                tracks.setdefault((index, prop), []).append(PropertyKey(float(key["time"]), value, key["easing"]))


def _start_from_own_values(tracks: dict[tuple[int, str], list[PropertyKey]], plans) -> None:
    """A property animated from a later keyframe starts from the actor's own value at time 0."""
    for (index, prop), keys in tracks.items():
        if keys[0].time > 0:
            base = {"alpha": plans[index].alpha, "color": plans[index].color, "visible": True}[prop]
            keys.insert(0, PropertyKey(0.0, base))


def _checked_frame_count(spec: dict, last: float, *, doc) -> int:
    """The number of frames (``last``: the last keyframe's time), refused where there are none, too
    many, the frame rate is too small, or an orbit has no length."""
    if "orbit" in spec and "duration" not in spec and "frames" not in spec:
        raise SceneError(doc.problem(("animation", "orbit"), "an orbit needs 'duration' (seconds) or 'frames'"))
    if not float(spec["fps"]) >= MIN_FPS:  # 5e-324 passes "> 0" but makes every frame last forever
        raise SceneError(doc.problem(("animation", "fps"), f"fps {spec['fps']:g} is too small; give at least "
                                                           f"{MIN_FPS:g} frames per second"))
    n_frames = frame_count(spec, last)
    if n_frames < 1:
        raise SceneError(doc.problem(("animation",), "the animation has no frames; set 'duration' or 'frames'"))
    if not check_limit(n_frames, "frames"):
        where = ("animation", "frames" if "frames" in spec else "duration" if "duration" in spec else "keyframes")
        raise LimitError(doc.problem(where, over_limit("the animation has too many frames", n_frames, "frames")))
    return n_frames
