"""Stage 5: draw a :class:`~scenerender.plan.ScenePlan` offscreen.

This is the only module that creates a ``pyvista.Plotter``. Rendering is
headless (VTK's EGL or OSMesa window, no X server) and deterministic: the
same plan gives the same pixels.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import RenderError
from .plan import CameraPlan, LinesPlan, PointsPlan, ScenePlan, SurfacePlan, VolumePlan

# Headless first: without a display, ask VTK for its EGL window directly
# instead of letting it try X and warn. VTK_DEFAULT_OPENGL_WINDOW=vtkOSMesaRenderWindow
# selects pure-software OSMesa instead.
os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def choose_passes(requested: str, *, translucent: bool, volumes: bool) -> tuple[str, bool]:
    """(anti-aliasing, depth peeling) that draw correctly with VTK on Mesa.

    Measured here: depth peeling (exact translucency) drops translucent
    surfaces when the window is multi-sampled, and the SSAA pass drops
    volume renderings. So translucent surfaces get depth peeling with SSAA
    instead of MSAA, and scenes with volumes never use SSAA.
    """
    aa = requested
    if translucent and aa == "msaa":
        aa = "ssaa"
    if volumes and aa == "ssaa":
        aa = "none" if translucent else "msaa"
    return aa, translucent


def _plotter(plan: ScenePlan):
    import pyvista as pv

    width, height = plan.render.size
    try:
        plotter = pv.Plotter(off_screen=True, window_size=(width, height), lighting="light kit")
    except Exception as err:  # VTK raises bare RuntimeErrors when no GL context can be made
        raise RenderError(f"could not open an offscreen OpenGL context ({err}); "
                          "install Mesa (EGL/OSMesa) or use a VTK build with offscreen support") from None
    if plan.render.background is not None:
        plotter.set_background(plan.render.background)
    animated_alpha = plan.timeline is not None and any(p == "alpha" for _, p in plan.timeline.tracks)
    translucent = animated_alpha or any(actor.alpha < 1 for actor in plan.actors if not isinstance(actor, VolumePlan))
    volumes = any(isinstance(actor, VolumePlan) for actor in plan.actors)
    aa, peel = choose_passes(plan.render.anti_aliasing, translucent=translucent, volumes=volumes)
    plotter.ren_win.SetMultiSamples(8 if aa == "msaa" else 0)
    if aa == "ssaa":
        plotter.enable_anti_aliasing("ssaa")
    if peel:
        plotter.enable_depth_peeling(number_of_peels=8, occlusion_ratio=0.0)
    return plotter


def _add_surface(plotter, actor: SurfacePlan):
    import pyvista as pv

    mesh = pv.PolyData.from_regular_faces(actor.points, actor.faces)
    if actor.vertex_colors is not None:
        mesh.point_data["rgb"] = np.asarray(actor.vertex_colors * 255, dtype=np.uint8)
        return plotter.add_mesh(mesh, scalars="rgb", rgb=True, opacity=actor.alpha, smooth_shading=actor.smooth,
                                reset_camera=False)
    return plotter.add_mesh(mesh, color=actor.color, opacity=actor.alpha, smooth_shading=actor.smooth,
                            reset_camera=False)


def _add_points(plotter, actor: PointsPlan):
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
    import pyvista as pv

    poly = pv.PolyData(actor.points, lines=actor.lines)
    kwargs = dict(line_width=actor.width, opacity=actor.alpha, reset_camera=False)
    if actor.vertex_colors is not None:
        poly.point_data["rgb"] = np.asarray(actor.vertex_colors * 255, dtype=np.uint8)
        return plotter.add_mesh(poly, scalars="rgb", rgb=True, **kwargs)
    return plotter.add_mesh(poly, color=actor.color, **kwargs)


def _add_volume(plotter, actor: VolumePlan):
    import pyvista as pv

    grid = pv.ImageData(dimensions=actor.values.shape, spacing=actor.spacing, origin=actor.origin)
    grid.point_data["value"] = np.asarray(actor.values, dtype=np.float32).ravel(order="F")
    lo, hi = actor.clim
    # Opacity ramps from transparent at the low end of clim to alpha at the top.
    opacity = np.linspace(0.0, actor.alpha, 32)
    return plotter.add_volume(grid, scalars="value", cmap=actor.cmap, clim=(lo, hi), opacity=opacity,
                       show_scalar_bar=False, reset_camera=False, mapper="smart")


_DRAW = {SurfacePlan: _add_surface, PointsPlan: _add_points, LinesPlan: _add_lines, VolumePlan: _add_volume}


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


class FrameRenderer:
    """One offscreen window holding a scene's actors, drawing frames on demand.

    Building the actors once and then only moving the camera and changing
    actor properties keeps per-frame work to the drawing itself; each worker
    process of a parallel video render holds its own.
    """

    def __init__(self, plan: ScenePlan):
        self.plan = plan
        self.plotter = _plotter(plan)
        self.transparent = plan.render.background is None
        if self.transparent:
            self.plotter.render_window.SetAlphaBitPlanes(1)
            self.plotter.renderer.SetBackgroundAlpha(0.0)
        self.actors = [_DRAW[type(actor)](self.plotter, actor) for actor in plan.actors]

    def draw(self, camera: CameraPlan | None = None, states: dict[int, dict] | None = None) -> np.ndarray:
        """The image for a camera (default: the scene's) and actor states
        (plan index -> {alpha, color, visible}); unlisted actors keep their own."""
        for index, actor in enumerate(self.actors):
            plan_actor = self.plan.actors[index]
            state = (states or {}).get(index, {})
            actor.SetVisibility(bool(state.get("visible", True)))
            if isinstance(plan_actor, VolumePlan):
                continue  # volume opacity lives in its transfer function; not animated
            prop = actor.GetProperty()
            prop.SetOpacity(float(state.get("alpha", plan_actor.alpha)))
            if "color" in state:
                actor.GetMapper().ScalarVisibilityOff()
                prop.SetColor(*state["color"])
        _apply_camera(self.plotter, camera or self.plan.camera)
        image = _capture(self.plotter, alpha=self.transparent)
        expected = (self.plan.render.size[1], self.plan.render.size[0])
        if image.shape[:2] != expected:
            raise RenderError(f"the renderer made a {image.shape[1]}x{image.shape[0]} image, "
                              f"not the requested {expected[1]}x{expected[0]}")
        return np.ascontiguousarray(image)

    def draw_time(self, t: float) -> np.ndarray:
        """The animation frame at time ``t`` (seconds)."""
        timeline = self.plan.timeline
        if timeline is None:
            return self.draw()
        return self.draw(timeline.camera_at(t), timeline.states_at(t))

    def close(self) -> None:
        self.plotter.close()

    def __enter__(self) -> "FrameRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render_plan(plan: ScenePlan, *, time: float | None = None) -> np.ndarray:
    """Render to an ``(height, width, 3)`` RGB or ``(..., 4)`` RGBA uint8 image;
    for an animated scene, the frame at ``time`` (default: its first frame)."""
    with FrameRenderer(plan) as renderer:
        return renderer.draw_time(time or 0.0) if plan.timeline is not None else renderer.draw()
