"""Stage 5: draw a :class:`~scenerender.plan.ScenePlan` offscreen.

This is the only module that creates a ``pyvista.Plotter``. Rendering is
headless (VTK's EGL or OSMesa window, no X server) and deterministic: the
same plan gives the same pixels.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Callable, Literal

import numpy as np

from .errors import RenderError
from .overlays import OverlayPainter
from .plan import (OVERLAYS, CameraPlan, CutPlan, LinesPlan, PointsPlan, ScenePlan, SurfacePlan, VolumePlan,
                   pixel_fields)

# Headless first: without a display, ask VTK for its EGL window directly
# instead of letting it try X and warn. VTK_DEFAULT_OPENGL_WINDOW=vtkOSMesaRenderWindow
# selects pure-software OSMesa instead.
os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def content_anti_aliasing(plan: ScenePlan) -> str:
    """The anti-aliasing ``auto`` stands for, chosen from what the scene draws.

    Measured against a supersampled reference (bench/aa_quality.py,
    bench/README.md): 4x MSAA leaves point impostors exactly as aliased as no
    anti-aliasing (the sprites are cut in the fragment shader, after coverage)
    while multiplying their drawing time, and on surfaces FXAA, one pass over
    the finished 3-D image (text and other overlays are drawn after it,
    untouched), scores as close to the reference as MSAA in about half the
    time. So: FXAA, except MSAA where FXAA would be wrong or is unmeasured:
    a transparent background (FXAA blurs colour but not alpha, leaving dark
    fringes) and GL line actors (one pixel wide: FXAA cannot rebuild them).
    """
    if plan.render.background is None or any(isinstance(actor, LinesPlan) for actor in plan.actors):
        return "msaa"
    return "fxaa"


def choose_passes(requested: str, *, translucency: str, translucent: bool, volumes: bool) -> tuple[str, bool]:
    """(anti-aliasing, depth peeling) that draw correctly with VTK on Mesa.

    ``requested`` is none, fxaa, msaa or ssaa (``auto`` is resolved first,
    by :func:`content_anti_aliasing`).

    Translucent surfaces are blended order-independently (VTK's OIT, one
    pass) unless ``translucency: depth_peeling`` asks for exact peeling.
    Measured here: depth peeling drops translucent surfaces when the window
    is multi-sampled, so peeled scenes use SSAA instead of MSAA; and the SSAA
    pass drops volume renderings, so scenes with volumes never use it.
    """
    peel = translucent and translucency == "depth_peeling"
    aa = requested
    if peel and aa == "msaa":
        aa = "ssaa"
    if volumes and aa == "ssaa":
        aa = "none" if peel else "msaa"
    return aa, peel


def _reset_vtk_globals() -> None:
    """Put back VTK's process-wide drawing settings that other libraries change.

    vtkMapper's coincident-topology resolution is static (one for the whole
    process): vedo, which BrainGlobe's mesh generation uses, switches it to
    polygon offset, and every later render in that process would differ.
    """
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    from vtkmodules.vtkRenderingCore import vtkMapper

    vtkMapper.SetResolveCoincidentTopologyToOff()
    vtkMapper.SetResolveCoincidentTopologyPolygonOffsetFaces(1)


def _window_settings(plan: ScenePlan) -> tuple:
    """Everything about a plan's window that is fixed when the window is made: its
    size, lights, passes, alpha planes, and Mesa's thread count (read when the
    context is made). Windows with equal settings draw a plan identically."""
    animated_alpha = plan.timeline is not None and any(p == "alpha" for _, p in plan.timeline.tracks)
    translucent = animated_alpha or any(actor.alpha < 1 for actor in plan.actors
                                        if not isinstance(actor, (VolumePlan, *OVERLAYS)))
    volumes = any(isinstance(actor, VolumePlan) for actor in plan.actors)
    requested = plan.render.anti_aliasing
    if requested == "auto":
        requested = content_anti_aliasing(plan)
    aa, peel = choose_passes(requested, translucency=plan.render.translucency,
                             translucent=translucent, volumes=volumes)
    return (tuple(plan.render.size), plan.render.lighting, aa, peel, plan.render.background is None,
            os.environ.get("LP_NUM_THREADS"), os.environ.get("VTK_DEFAULT_OPENGL_WINDOW"))


def _plotter(plan: ScenePlan, settings: tuple):
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    width, height = plan.render.size
    _, _, aa, peel, transparent, _, _ = settings
    try:
        lightings: dict[str, Literal["light kit", "three lights", "none"]] = {
            "light_kit": "light kit", "three_lights": "three lights", "headlight": "none"}
        lighting = lightings[plan.render.lighting]
        plotter = pv.Plotter(off_screen=True, window_size=[width, height], lighting=lighting)
    except Exception as err:  # VTK raises bare RuntimeErrors when no GL context can be made
        raise RenderError(f"could not open an offscreen OpenGL context ({err}); "
                          "install Mesa (EGL/OSMesa) or use a VTK build with offscreen support") from None
    if plan.render.lighting == "headlight":
        plotter.add_light(pv.Light(light_type="headlight"))
    _apply_anti_aliasing(plotter, aa)
    if peel:
        # functools.wraps(Renderer.enable_depth_peeling) in pyvista: mypy expects the unbound method's self.
        plotter.enable_depth_peeling(number_of_peels=8, occlusion_ratio=0.0)  # type: ignore[call-arg]
    if transparent:
        plotter.render_window.SetAlphaBitPlanes(1)  # type: ignore[union-attr]  # just made: never None
    return plotter


class _WindowPool:
    """Offscreen windows kept between renders in this process, emptied of actors.

    Making a window and its first draw (Mesa compiles its shaders per OpenGL
    context) cost about a third of a small figure's render on software OpenGL;
    a batch worker, a notebook or a preview server draws figure after figure
    with the same settings. A window is reused only by a plan with the same
    :func:`_window_settings`, by the same process (a forked child never touches
    its parent's OpenGL context) and thread; the background and camera are set
    for every plan. ``SCENERENDER_REUSE_WINDOWS=0`` turns it off.
    """

    KEEP = 2  # idle windows kept (each holds its frame buffers)
    MAX_PIXELS = 3840 * 2160  # larger (print-size) windows are closed: their buffers take hundreds of MiB

    def __init__(self) -> None:
        self._idle: list[tuple[tuple, Any]] = []
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @staticmethod
    def enabled() -> bool:
        return os.environ.get("SCENERENDER_REUSE_WINDOWS", "1") != "0"

    def _key(self, settings: tuple) -> tuple:
        return (settings, threading.get_ident())

    def take(self, plan: ScenePlan, settings: tuple):
        """A window for ``plan`` (whose :func:`_window_settings` are ``settings``): a kept one, or a new one."""
        key = self._key(settings)
        with self._lock:
            if self._pid != os.getpid():  # a fork: the parent's windows are not ours to use or close
                self._idle, self._pid = [], os.getpid()
            for index, (kept_key, plotter) in enumerate(self._idle):
                if kept_key == key:
                    del self._idle[index]
                    return plotter
        return _plotter(plan, settings)

    def give_back(self, plotter, settings: tuple) -> None:
        """Empty ``plotter`` (made with ``settings``) and keep it for a later plan (or close it)."""
        width, height = settings[0]
        if not self.enabled() or self._pid != os.getpid() or width * height > self.MAX_PIXELS:
            plotter.close()
            return
        try:
            plotter.clear_actors()
            emptied = plotter.renderer.GetViewProps().GetNumberOfItems() == 0
        except Exception:  # a window in an unknown state is never reused
            emptied = False
        if not emptied:
            plotter.close()
            return
        with self._lock:
            self._idle.append((self._key(settings), plotter))
            while len(self._idle) > self.KEEP:
                self._idle.pop(0)[1].close()

    def clear(self) -> None:
        """Close every kept window (tests; a process that is done drawing)."""
        with self._lock:
            idle, self._idle = self._idle, []
            mine = self._pid == os.getpid()
        for _, plotter in idle:
            if mine:
                plotter.close()


WINDOWS = _WindowPool()


def _prepare_window(plan: ScenePlan, settings: tuple, keep: bool):
    """A window with ``plan``'s settings and background, actors not yet added."""
    _reset_vtk_globals()
    plotter = WINDOWS.take(plan, settings) if keep and WINDOWS.enabled() else _plotter(plan, settings)
    if plan.render.background is None:
        # A black, empty background adds nothing to the colours, so what
        # VTK blends is premultiplied colour; _unpremultiply makes it the
        # straight alpha PNGs store (no halo of background colour).
        plotter.set_background((0.0, 0.0, 0.0))
        plotter.renderer.SetBackgroundAlpha(0.0)
    else:
        plotter.set_background(plan.render.background)
    return plotter


def _apply_anti_aliasing(plotter, aa: str) -> None:
    """Set up one of none, fxaa, msaa (4 samples) or ssaa on a new plotter."""
    plotter.ren_win.SetMultiSamples(4 if aa == "msaa" else 0)
    if aa == "ssaa":
        plotter.enable_anti_aliasing("ssaa")
    elif aa == "fxaa":
        # VTK's own switch: pyvista refuses FXAA on EGL/OSMesa builds and silently
        # substitutes SSAA; VTK's FXAA pass itself works there (compared with a
        # supersampled reference in bench/aa_quality.py).
        plotter.renderer.SetUseFXAA(True)


#: Material of each shading style: (pyvista add_mesh keywords, VTK property settings).
SHADING: dict[str, tuple[dict[str, Any], dict[str, tuple[float, ...]]]] = {
    "smooth": ({"smooth_shading": True}, {}),
    "flat": ({"smooth_shading": False}, {"SetInterpolationToFlat": ()}),
    # Mostly ambient: colours stay bright and flat-looking; the silhouette does the drawing.
    "cartoon": ({"smooth_shading": True}, {"SetAmbient": (0.55,), "SetDiffuse": (0.5,), "SetSpecular": (0.0,)}),
    # Polished metal without image-based lighting (an environment map takes minutes to
    # prefilter on software OpenGL): the colour mostly in tinted highlights and a darker body,
    # never the near-black of a physically based metal that has nothing to reflect.
    "metallic": ({"smooth_shading": True}, {"SetAmbient": (0.3,), "SetDiffuse": (0.55,), "SetSpecular": (0.85,),
                                            "SetSpecularPower": (28.0,), "SetMetallic": (0.0,)}),
}


def _add_surface(plotter, actor: SurfacePlan):
    shading = actor.shading or ("smooth" if actor.smooth else "flat")
    keywords, settings = SHADING[shading]
    mesh = _surface_mesh(actor, smooth=keywords["smooth_shading"])
    keywords = dict(keywords, opacity=actor.alpha, lighting=actor.lit, reset_camera=False)
    if actor.vertex_colors is not None:
        mesh.point_data["rgb"] = np.asarray(actor.vertex_colors * 255, dtype=np.uint8)
        added = plotter.add_mesh(mesh, scalars="rgb", rgb=True, **keywords)
    else:
        added = plotter.add_mesh(mesh, color=actor.color, **keywords)
    for method, args in settings.items():
        getattr(added.GetProperty(), method)(*args)
    if shading == "metallic":  # metals tint their highlights with their own colour
        added.GetProperty().SetSpecularColor(*_lighter(actor.color))
    return added


class _ShadedMeshes:
    """Smooth-shaded meshes (with VTK's point normals) of shared, read-only plan
    arrays, made once per process.

    Atlas meshes (the root, regions) reach every plan of a process as the same
    read-only arrays (:class:`scenerender.atlas.SceneAtlas` keeps them), so the
    normals pyvista would find for them on every render are found once: the
    mesh handed to pyvista already carries them and is drawn as is. Arrays that
    can still be written are never kept (their contents could change).
    """

    BYTES = 256 * 2**20

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, points: np.ndarray, faces: np.ndarray):
        # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
        import pyvista as pv

        shared = not (points.flags.writeable or faces.flags.writeable)
        key = (id(points), id(faces))
        with self._lock:
            kept = self._kept.get(key) if shared else None
            if kept is not None and kept[0] is points and kept[1] is faces:
                self._kept.move_to_end(key)
                return kept[2].copy(deep=False)
        mesh = pv.PolyData.from_regular_faces(points, faces)
        # What pyvista's smooth shading does in add_mesh (SmoothShadingAlgorithm), done here once.
        shaded = mesh.compute_normals(cell_normals=False, split_vertices=False, feature_angle=30.0)
        if shared:
            with self._lock:
                self._kept[key] = (points, faces, shaded)  # holding the arrays keeps their ids unique
                while len(self._kept) > 1 and sum(_nbytes(m) for _, _, m in self._kept.values()) > self.BYTES:
                    self._kept.popitem(last=False)
        return shaded.copy(deep=False)


def _nbytes(mesh) -> int:
    return int(mesh.GetActualMemorySize()) * 1024


SHADED = _ShadedMeshes()


def _surface_mesh(actor: SurfacePlan, *, smooth: bool):
    """The pyvista mesh of a surface plan: with point normals when it is smooth shaded."""
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    if smooth:
        return SHADED.get(actor.points, actor.faces)
    return pv.PolyData.from_regular_faces(actor.points, actor.faces)


def _lighter(rgb) -> tuple[float, ...]:
    return tuple(float(0.6 + 0.4 * c) for c in rgb)


def _add_silhouette(plotter, actor: SurfacePlan):
    """Outlines where the surface turns away from the camera; VTK recomputes them for every view."""
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    mesh = pv.PolyData.from_regular_faces(actor.points, actor.faces)
    return plotter.add_silhouette(mesh, color=actor.silhouette, line_width=actor.silhouette_width,
                                  opacity=actor.alpha)


def _add_points(plotter, actor: PointsPlan):
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    cloud = pv.PolyData(actor.points)
    kwargs = dict(style="points_gaussian", render_points_as_spheres=True, emissive=False,
                  opacity=actor.alpha, reset_camera=False)
    if actor.scalars is not None:
        cloud.point_data["value"] = actor.scalars
        added = plotter.add_mesh(cloud, scalars="value", cmap=actor.cmap, clim=actor.clim,
                                 show_scalar_bar=False, **kwargs)
    else:
        added = plotter.add_mesh(cloud, color=actor.color, **kwargs)
    # The point-Gaussian mapper draws each point as a shaded sphere sprite of
    # this radius in world units (microns), whatever the zoom.
    added.mapper.SetScaleFactor(actor.radius)
    return added


def _add_lines(plotter, actor: LinesPlan):
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    poly = pv.PolyData(actor.points, lines=actor.lines)
    kwargs = dict(line_width=actor.width, opacity=actor.alpha, reset_camera=False)
    if actor.vertex_colors is not None:
        poly.point_data["rgb"] = np.asarray(actor.vertex_colors * 255, dtype=np.uint8)
        return plotter.add_mesh(poly, scalars="rgb", rgb=True, **kwargs)
    return plotter.add_mesh(poly, color=actor.color, **kwargs)


def _add_volume(plotter, actor: VolumePlan):
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv

    grid = pv.ImageData(dimensions=actor.values.shape, spacing=actor.spacing, origin=actor.origin)
    grid.point_data["value"] = np.asarray(actor.values, dtype=np.float32).ravel(order="F")
    lo, hi = actor.clim
    # Opacity ramps from transparent at the low end of clim to alpha at the top.
    opacity = np.linspace(0.0, actor.alpha, 32)
    return plotter.add_volume(grid, scalars="value", cmap=actor.cmap, clim=(lo, hi), opacity=opacity,
                       show_scalar_bar=False, reset_camera=False, mapper="smart")


class _Painted:
    """Stands in the actor list for an overlay that :mod:`scenerender.overlays`
    draws over the image; it only keeps the overlay's visibility."""

    def __init__(self, plotter, plan):
        self.visible = True

    def SetVisibility(self, visible: bool) -> None:  # noqa: N802 - the VTK actor interface
        self.visible = bool(visible)


class _Cut:
    """A clipping plane, added to the mappers of the actors it cuts (see FrameRenderer)."""

    def __init__(self, plotter, plan: CutPlan):
        # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
        from vtkmodules.vtkCommonDataModel import vtkPlane

        self.plane = vtkPlane()
        self.plane.SetOrigin(*plan.origin)
        self.plane.SetNormal(*plan.normal)  # VTK keeps the side the normal points to

    def SetVisibility(self, visible: bool) -> None:  # noqa: N802 - a cut is always applied
        pass


def _apply_cuts(plans, actors, silhouettes: dict) -> None:
    for cut_plan, cut in zip(plans, actors):
        if not isinstance(cut_plan, CutPlan):
            continue
        for index, (plan, actor) in enumerate(zip(plans, actors)):
            if isinstance(plan, OVERLAYS) or plan.group == cut_plan.group:
                continue  # overlays are flat on the image; a cut's own caps lie on its plane
            if not cut_plan.targets or plan.group in cut_plan.targets:
                actor.GetMapper().AddClippingPlane(cut.plane)
                if index in silhouettes:
                    silhouettes[index].GetMapper().AddClippingPlane(cut.plane)


#: How each ``DRAWN_AS`` (declared by the plan types in :mod:`scenerender.plan`) is drawn.
DRAWERS: dict[str, Callable[..., Any]] = {"surface": _add_surface, "points": _add_points, "lines": _add_lines, "volume": _add_volume,
           "cut": _Cut, "painted": _Painted}


def at_scale(actor, scale: int):
    """``actor`` with its pixel sizes (fields declared with ``metadata=PIXELS``) multiplied by ``scale``."""
    plan_type: type = type(actor)  # type[Any] is not Hashable to mypy; every class is
    names = pixel_fields(plan_type)
    if scale == 1 or not names:
        return actor
    return replace(actor, **{name: getattr(actor, name) * scale for name in names})


def _apply_camera(plotter, camera: CameraPlan) -> None:
    vtk_camera = plotter.camera
    vtk_camera.position = camera.position
    vtk_camera.focal_point = camera.focal_point
    vtk_camera.up = camera.view_up
    if camera.orthographic:
        vtk_camera.parallel_projection = True
        vtk_camera.parallel_scale = camera.parallel_scale
    else:
        vtk_camera.parallel_projection = False
        vtk_camera.view_angle = camera.effective_view_angle
    plotter.reset_camera_clipping_range()


def _capture(plotter, *, alpha: bool) -> np.ndarray:
    """Draw once and read the pixels back (pyvista's screenshot draws three times)."""
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    window = plotter.render_window
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.ShouldRerenderOff()
    grab.ReadFrontBufferOff()
    if alpha:
        grab.SetInputBufferTypeToRGBA()
    else:
        grab.SetInputBufferTypeToRGB()
    grab.Update()
    data = grab.GetOutput()
    width, height, _ = data.GetDimensions()
    pixels = vtk_to_numpy(data.GetPointData().GetScalars())
    return pixels.reshape(height, width, -1)[::-1]  # VTK rows run bottom-up


def _unpremultiply(image: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA from colours blended over a black, empty background.

    Empty pixels (alpha 0) become transparent black.
    """
    alpha = image[..., 3:4].astype(np.float32)
    rgb = image[..., :3].astype(np.float32) * 255.0 / np.maximum(alpha, 1.0)
    rgb = np.where(alpha > 0, np.clip(np.rint(rgb), 0, 255), 0).astype(np.uint8)
    return np.concatenate([rgb, image[..., 3:4]], axis=-1)


class FrameRenderer:
    """One offscreen window holding a scene's actors, drawing frames on demand.

    Building the actors once and then only moving the camera and changing
    actor properties keeps per-frame work to the drawing itself; each worker
    process of a parallel video render holds its own.
    """

    def __init__(self, plan: ScenePlan, *, keep_window: bool = True):
        self.plan = plan
        #: Whether the window goes back to this process's pool when closed (exporters change it: no).
        self.keep_window = keep_window
        self.window_settings = _window_settings(plan)
        self.plotter = _prepare_window(plan, self.window_settings, keep_window)
        self.transparent = plan.render.background is None
        scale = plan.render.scale
        self.actors = [DRAWERS[actor.DRAWN_AS](self.plotter, at_scale(actor, scale)) for actor in plan.actors]
        self.silhouettes = {index: _add_silhouette(self.plotter, at_scale(actor, scale))
                            for index, actor in enumerate(plan.actors)
                            if isinstance(actor, SurfacePlan) and actor.silhouette is not None}
        _apply_cuts(plan.actors, self.actors, self.silhouettes)
        self.overlays = OverlayPainter(plan)

    def draw(self, camera: CameraPlan | None = None, states: dict[int, dict] | None = None) -> np.ndarray:
        """The image for a camera (default: the scene's) and actor states
        (plan index -> {alpha, color, visible}); unlisted actors keep their own."""
        for index, actor in enumerate(self.actors):
            plan_actor = self.plan.actors[index]
            state = (states or {}).get(index, {})
            actor.SetVisibility(bool(state.get("visible", True)))
            if index in self.silhouettes:
                self.silhouettes[index].SetVisibility(bool(state.get("visible", True)))
            if isinstance(plan_actor, (VolumePlan, *OVERLAYS)):
                continue  # overlays and volume transfer functions: only visibility is animated
            prop = actor.GetProperty()
            prop.SetOpacity(float(state.get("alpha", plan_actor.alpha)))
            if "color" in state:
                actor.GetMapper().ScalarVisibilityOff()
                prop.SetColor(*state["color"])
        camera = camera or self.plan.camera
        _apply_camera(self.plotter, camera)
        image = _capture(self.plotter, alpha=self.transparent)
        if self.transparent:
            image = _unpremultiply(image)
        if not self.overlays.empty:
            image = self.overlays.composite(image, camera, self.visible_overlays())
        expected = (self.plan.render.size[1], self.plan.render.size[0])
        if image.shape[:2] != expected:
            raise RenderError(f"the renderer made a {image.shape[1]}x{image.shape[0]} image, "
                              f"not the requested {expected[1]}x{expected[0]}")
        return np.ascontiguousarray(image)

    def visible_overlays(self) -> set[int]:
        """Plan indices of the overlays shown in the last drawn state."""
        return {index for index, actor in enumerate(self.actors) if isinstance(actor, _Painted) and actor.visible}

    def draw_time(self, t: float) -> np.ndarray:
        """The animation frame at time ``t`` (seconds)."""
        timeline = self.plan.timeline
        if timeline is None:
            return self.draw()
        return self.draw(timeline.camera_at(t), timeline.states_at(t))

    def close(self) -> None:
        if self.keep_window:
            WINDOWS.give_back(self.plotter, self.window_settings)
        else:
            self.plotter.close()

    def __enter__(self) -> "FrameRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render_plan(plan: ScenePlan, *, time: float | None = None) -> np.ndarray:
    """Render to an ``(height, width, 3)`` RGB or ``(..., 4)`` RGBA uint8 image;
    for an animated scene, the frame at ``time`` (default: its first frame)."""
    if plan.panels:
        return render_panels(plan)
    with FrameRenderer(plan) as renderer:
        return renderer.draw_time(time or 0.0) if plan.timeline is not None else renderer.draw()


def render_panels(plan: ScenePlan) -> np.ndarray:
    """A multi-panel figure: each panel drawn in its own window, placed on the background."""
    width, height = plan.render.size
    background = plan.render.background
    if background is None:
        figure = np.zeros((height, width, 4), dtype=np.uint8)  # transparent gaps
    else:
        figure = np.empty((height, width, 3), dtype=np.uint8)
        figure[:] = np.round(np.asarray(background) * 255).astype(np.uint8)
    for panel in plan.panels:
        with FrameRenderer(panel.plan) as renderer:
            image = renderer.draw()
        x, y = panel.origin
        figure[y:y + image.shape[0], x:x + image.shape[1]] = image
    return figure
