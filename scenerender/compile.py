"""Stage 3-4: resolve a validated scene (atlas, regions, camera) into a plan.

``compile_scene`` runs the pipeline up to, but not including, drawing:
read -> validate -> fill defaults -> open atlas -> build actors -> camera.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .actors import BuildContext, registered_actors
from . import cache as process_cache
from .animation import build_timeline
from .actors._context import SourceLoader
from .colors import parse_color
from .atlas import AtlasRequest, AtlasUnavailable, SceneAtlas, open_bg_atlas
from .camera import CameraError, checked, explicit_camera, preset_camera
from .framing import orbit_points, visible_points
from .overlays import free_rect
from .panels import compile_panels
from .document import SceneDocument, read_scene
from .errors import AtlasNotFoundError, DataNotFetched, LimitError, SceneError
from .limits import PathRefused, check_input_file, check_limit, over_limit, resolve_scene_path
from .options import Projection
from .plan import ScenePlan, RenderSettings
from .schema import file_references, fill_defaults
from .spaces import atlas_to_world, column_bounds, world_direction
from .sweep import check_item, expand_sweep, has_sweep
from .validate import check_scene
from .suggest import did_you_mean

#: The largest image side VTK's offscreen windows draw here (also the schema's size maximum).
MAX_PIXELS = 16384


@dataclass(frozen=True)
class Scene:
    """A read, validated scene with its defaults filled in."""

    doc: SceneDocument
    spec: dict
    #: The sweep render this scene is (see :mod:`scenerender.sweep`), if any.
    item: str | None = None

    @property
    def file(self) -> str:
        return self.doc.file

    def __repr__(self) -> str:  # a summary, not the whole document with its line numbers
        item = f" (sweep render {self.item!r})" if self.item else ""
        return f"<loaded scene {self.doc.file}{item}: {len(self.spec.get('actors', []))} actors>"


def check_input_paths(doc, spec: dict) -> None:
    """Every file the scene names (used or not: a source no actor draws is
    still hashed for provenance) resolved through the one resolver and
    refused, located, when it is outside the sandbox, a folder, a FIFO or
    device, or over the file_bytes limit, before anything opens it. A
    missing file is reported by whatever reads it."""
    for where, value in file_references(spec):
        source = where[0] == "sources" and len(where) == 3
        prefix, what = (f"source {where[1]!r}: ", "data file") if source else ("", "file")
        try:
            path = resolve_scene_path(value, doc.base_dir, what=what)
            # a registration names a folder (brainreg's output); every other reference a file
            check_input_file(path, what="file", shown=value, missing_ok=True, folder=where[-1] == "registration")
        except PathRefused as err:
            raise SceneError(doc.problem(where, prefix + str(err))) from None


def load_scene(source, *, item: str | None = None) -> Scene:
    """Read and validate a scene from a path, YAML text or a dict.

    A scene with a ``sweep:`` is many renders: ``item`` names the one to load
    (``scenerender batch`` renders them all).

    Raises
    ------
    SceneError
        Listing every problem with its file, line and column.
    """
    doc = read_scene(source)
    if not has_sweep(doc):
        if item is not None:
            raise SceneError(doc.problem((), f"there is no sweep in this scene, so there is no render {item!r} "
                                             "to choose; leave out --item"))
        check_scene(doc)
        spec = fill_defaults(doc.data)
        check_input_paths(doc, spec)
        return Scene(doc=doc, spec=spec)
    items = {i.name: i for i in expand_sweep(doc)}
    names = ", ".join(list(items)[:8]) + (", ..." if len(items) > 8 else "")
    if item is None:
        raise SceneError(doc.problem(("sweep",), f"this scene is a sweep of {len(items)} renders ({names}); "
                                                 f"render them all with 'scenerender batch {doc.file}', or one "
                                                 "with --item NAME", key=True))
    if item not in items:
        raise SceneError(doc.problem(("sweep",), f"no sweep render named {item!r}{did_you_mean(item, items)} "
                                                 f"(renders: {names})", key=True))
    check_item(items[item], swept=True)
    spec = fill_defaults(items[item].doc.data)
    check_input_paths(items[item].doc, spec)
    return Scene(doc=items[item].doc, spec=spec, item=item)


def _open_atlas(scene: Scene, cache: dict | None = None) -> SceneAtlas:
    request = AtlasRequest.from_spec(scene.spec["atlas"], scene.doc.base_dir)
    if cache is not None and request in cache:
        return cache[request]
    try:
        # Without a caller's cache: this process's (scenerender.cache), keyed by the atlas files.
        atlas = SceneAtlas(open_bg_atlas(request)) if cache is not None else process_cache.atlas_for(request)
    except AtlasUnavailable as err:
        raise AtlasNotFoundError(scene.doc.problem(("atlas",), str(err))) from None
    if cache is not None:
        cache[request] = atlas
    return atlas


def output_path(scene: Scene, override: str | Path | None = None, *, still: bool | None = None) -> Path | None:
    """Where the output goes: ``override`` (e.g. ``-o``), the scene's own
    ``render.output`` (relative to the scene file), or the scene file's name
    with ``.png`` (``.mp4`` for an animation rendered as a video), in a
    folder of that name for a sweep render (``scene/TH.png``); ``None`` for
    an in-memory scene without an output."""
    if override is not None:
        return Path(override)
    if "output" in scene.spec["render"]:
        return scene.doc.resolve_path(("render", "output"), scene.spec["render"]["output"], what="output")
    if scene.doc.file.startswith("<"):
        return None
    still = ("animation" not in scene.spec) if still is None else still
    suffix = ".png" if still else ".mp4"
    if scene.item is not None:  # a sweep's renders go in a folder named after the scene
        scene_file = Path(scene.doc.file)
        return scene_file.parent / scene_file.stem / f"{scene.item}{suffix}"
    return Path(scene.doc.file).with_suffix(suffix)


def compile_scene(scene: Scene | object, *, size: tuple[int, int] | None = None,
                  scale: int | None = None, atlas_cache: dict | None = None,
                  check_unused_sources: bool = False) -> ScenePlan:
    """Resolve a scene into a :class:`ScenePlan` (no VTK objects, no drawing).

    ``size`` overrides ``render.size`` and ``scale`` ``render.scale``. Opened
    atlases, their region meshes and brain masks are kept for the process
    (:mod:`scenerender.cache`); ``atlas_cache``, a dict kept by the caller,
    replaces that cache for this call. ``check_unused_sources`` also reads the
    sources no actor draws (``scenerender validate``).

    Raises
    ------
    SceneError
        Listing every problem found (each actor, source, camera and the
        animation are resolved even when an earlier one failed), in file order.
    """
    if not isinstance(scene, Scene):
        scene = load_scene(scene)
    spec, doc = scene.spec, scene.doc
    width, height, scale = _checked_size(spec, doc, size, scale)
    atlas = _open_atlas(scene, atlas_cache)
    sources = SourceLoader(spec["sources"], doc, atlas)
    problems = _Problems()
    if check_unused_sources:
        for name in spec["sources"]:
            problems.attempt(sources.get, name)
    actors = _build_actors(spec, doc, atlas, sources, problems)

    render_spec = spec["render"]
    background = render_spec["background"]
    bg_rgb = None if background == "transparent" else problems.attempt(
        parse_color, background, lambda msg: SceneError(doc.problem(("render", "background"), msg)))
    settings = RenderSettings(size=(int(width) * scale, int(height) * scale), scale=scale, background=bg_rgb,
                              anti_aliasing=render_spec["anti_aliasing"], translucency=render_spec["translucency"],
                              lighting=render_spec["lighting"])

    brain, shown = _framing(atlas, actors, spec)
    cameras = _Cameras(doc=doc, brain=brain, shown=shown, aspect=width / height,
                       rect=free_rect(actors, settings))  # titles and colour bars along the edges keep their room
    camera_from_spec = cameras.from_spec
    camera = problems.attempt(camera_from_spec, spec["camera"])
    problems.raise_any()  # the animation and panels start from the actors and the camera
    timeline = None
    if "animation" in spec:
        timeline = build_timeline(spec["animation"], doc=doc, start_camera=camera, camera_from_spec=camera_from_spec,
                                  plans=actors, world_direction=world_direction,
                                  parse_color=parse_color)
    plan = ScenePlan(source=doc.file, atlas_name=atlas.name, actors=tuple(actors), camera=camera,
                     render=settings, output=output_path(scene), timeline=timeline, scene=scene)
    if "panels" in spec:
        panels = compile_panels(
            scene, plan, figure=(int(width), int(height)),
            camera_for=lambda cam, aspect: camera_from_spec(cam, aspect=aspect),
            compile_other=lambda path, where, cell, cam: _compile_panel_scene(scene, path, where, cell, cam, scale))
        plan = replace(plan, panels=panels)
    return plan


def _checked_size(spec: dict, doc, size: tuple[int, int] | None, scale: int | None) -> tuple[int, int, int]:
    """(width, height, scale) of the image, from the arguments or ``render:``; refused where a side is
    not a whole number from 16 to 16384, a scaled side is over MAX_PIXELS, or the window has too many
    pixels."""
    width, height = size or tuple(spec["render"]["size"])
    if not all(isinstance(v, (int, np.integer)) and 16 <= v <= 16384 for v in (width, height)):
        raise SceneError(doc.problem(("render", "size"), f"size {width}x{height} is not valid; width and height "
                                                         "are whole numbers from 16 to 16384"))
    scale = int(scale or spec["render"]["scale"])
    if max(width, height) * scale > MAX_PIXELS:
        where = ("render", "scale") if "scale" in doc.data.get("render", {}) else ("render", "size")
        raise SceneError(doc.problem(where, f"{width}x{height} at scale {scale} would be "
                                            f"{width * scale}x{height * scale} pixels; at most {MAX_PIXELS} "
                                            "a side: lower the scale or the size"))
    pixels = int(width) * int(height) * scale * scale
    if not check_limit(pixels, "window_pixels"):
        what = (f"{'the size given' if size else 'the image'} {width}x{height}"
                f"{f' at scale {scale}' if scale > 1 else ''} has too many pixels")
        where = ("render", "scale") if scale > 1 and "scale" in doc.data.get("render", {}) else ("render", "size")
        raise LimitError(doc.problem(where, over_limit(what, pixels, "window_pixels")))
    return width, height, scale


def _build_actors(spec: dict, doc, atlas, sources: SourceLoader, problems: _Problems) -> list:
    """The plans of every actor, in drawing order; each actor's problems go to ``problems``.

    Kinds that describe other actors (colour bars, legends) are built last, from the others' plans,
    and keep their place in the drawing order."""
    kinds = registered_actors()
    built: dict[int, list] = {}
    order = sorted(range(len(spec["actors"])),
                   key=lambda i: bool(getattr(kinds[spec["actors"][i]["kind"]], "DESCRIBES_OTHERS", False)))
    for index in order:
        actor_spec = spec["actors"][index]
        done = tuple(plan for i in sorted(built) for plan in built[i])
        ctx = BuildContext(atlas=atlas, doc=doc, path=("actors", index), sources=sources, plans=done,
                           actor_specs=tuple(spec["actors"]))
        group = actor_spec.get("id", f"actors[{index}]")
        describes = bool(getattr(kinds[actor_spec["kind"]], "DESCRIBES_OTHERS", False))
        # A legend or colour bar of an actor that failed (or whose data are not fetched yet) would only
        # repeat its problem.
        collector = _Problems() if describes and (problems.errors or problems.not_fetched) else problems
        plans = collector.attempt(kinds[actor_spec["kind"]].build, actor_spec, ctx=ctx)
        waits = bool(collector.not_fetched) and collector.not_fetched[-1] is actor_spec  # on its data
        if plans is None and (waits or (collector is not problems and problems.not_fetched)):
            problems.attempt(_check_without_data, actor_spec, ctx=ctx)  # what it says besides its data
        built[index] = [replace(plan, group=group) for plan in plans or ()]
    return [plan for index in sorted(built) for plan in built[index]]


def _framing(atlas, actors: list, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """The world points a camera frames: (the brain's outline, what is shown), each with every view of
    an orbit. What is shown is the brain when nothing (or a single point) is."""
    # the brain's outline in world coordinates, made once per atlas (the same points every compile)
    brain = atlas.derived_mesh(("framing", "world"), lambda: (atlas_to_world(atlas.framing_points()),
                                                              np.empty((0, 3), dtype=np.int64)))[0]
    shown = visible_points(actors)
    if len(shown) == 0 or _extent(shown) < 1e-3 * _extent(brain):
        shown = brain
    orbit = spec.get("animation", {}).get("orbit")
    if orbit is not None:  # every turned view must fit, not just the first
        shown = orbit_points(shown, world_direction(orbit["axis"]), float(orbit["degrees"]))
        brain = orbit_points(brain, world_direction(orbit["axis"]), float(orbit["degrees"]))
    return brain, shown


@dataclass(frozen=True)
class _Cameras:
    """Makes the cameras of a scene (its own, keyframes', panels') from their specs, framing the brain
    or what is shown within the free rectangle of the image."""

    doc: SceneDocument
    brain: np.ndarray
    shown: np.ndarray
    aspect: float  # the image's width / height
    rect: tuple

    def from_spec(self, cam: dict, where=("camera",), aspect: float | None = None):
        """A camera from its spec; ``aspect`` (a panel's) frames the whole panel instead of the free
        rectangle; errors located at ``where``."""
        try:
            if "position" in cam:
                return checked(explicit_camera(cam))
            framing = self.brain if cam.get("frame") == "brain" else self.shown
            return checked(preset_camera(cam["preset"], framing, aspect=aspect or self.aspect,
                                         view_angle=cam["view_angle"], zoom=cam["zoom"],
                                         orthographic=cam["projection"] == Projection.ORTHOGRAPHIC,
                                         rect=self.rect if aspect is None else (0.0, 1.0, 0.0, 1.0)))
        except CameraError as err:
            key = (err.key,) if err.key is not None and err.key in cam else ()  # the key, when the scene gives it
            raise SceneError(self.doc.problem(where + key, f"{err}")) from None


class _Problems:
    """Every located problem of one compile, raised together at the end."""

    def __init__(self):
        self.errors: list[SceneError] = []
        #: The specs whose build stopped at public data not fetched yet (validation only; not a problem).
        self.not_fetched: list = []

    def attempt(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, or ``None`` after noting its :class:`SceneError` (or, when
        validating, that it needs public data not fetched yet)."""
        try:
            return fn(*args, **kwargs)
        except SceneError as err:
            self.errors.append(err)
            return None
        except DataNotFetched:
            self.not_fetched.append(args[0] if args else None)
            return None

    def raise_any(self) -> None:
        if not self.errors:
            return
        problems = []
        for err in self.errors:
            problems += [p for p in err.problems if p not in problems]
        problems.sort(key=lambda p: (p.line or 0, p.col or 0, p.path))
        first = self.errors[0]
        raise (first if len(self.errors) == 1 else type(first)(problems))


def _check_without_data(spec: dict, *, ctx: BuildContext) -> None:
    """What an actor says besides its data (colours, colour maps, look), checked for an actor whose
    public data are not fetched yet (validation); the rest is checked once they are."""
    for key in ("color", "silhouette"):
        if spec.get(key) is not None:
            ctx.color(spec[key], (key,))
    for part, value in (spec.get("compartment_colors") or {}).items():
        ctx.color(value, ("compartment_colors", part))
    color_by = spec.get("color_by")
    if not isinstance(color_by, dict):
        color_by = {}
    for key_path, value in ((("cmap",), spec.get("cmap")), (("color_by", "cmap"), color_by.get("cmap"))):
        if isinstance(value, str):
            ctx.cmap(value, key_path)
    ctx.look(spec)


def _compile_panel_scene(scene: Scene, path: str, where: tuple, cell: tuple[int, int], camera: dict | None,
                         scale: int) -> ScenePlan:
    """Another scene file drawn in one panel of ``scene``, at the panel's size."""
    file = scene.doc.resolve_path((*where, "scene"), path, what="panel scene")
    try:
        if check_input_file(file, what="panel scene", shown=path, missing_ok=True) < 0:
            raise SceneError(scene.doc.problem((*where, "scene"), f"scene file {file} not found; the path is "
                                                                  "relative to this scene's folder"))
    except PathRefused as err:
        raise SceneError(scene.doc.problem((*where, "scene"), str(err))) from None
    other = load_scene(file)
    for key in ("panels", "animation"):
        if key in other.spec:
            raise SceneError(scene.doc.problem((*where, "scene"), f"{path} has '{key}:'; a panel draws a still "
                                                                  "scene without panels"))
    if camera is not None:
        other = Scene(doc=other.doc, spec={**other.spec, "camera": camera})
    return compile_scene(other, size=cell, scale=scale)


def _extent(points: np.ndarray) -> float:
    """The largest side of the points' bounding box."""
    lo, hi = column_bounds(points)
    return float((hi - lo).max())
