"""Stage 5: draw a :class:`~scenerender.plan.ScenePlan` offscreen.

This is the only module that creates a ``pyvista.Plotter``. Rendering is
headless (VTK's EGL or OSMesa window, no X server) and deterministic: the
same plan gives the same pixels.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from .errors import RenderError
from .plan import (CameraPlan, LabelsPlan, LetterPlan, LinesPlan, PointsPlan, ScaleBarPlan, ScenePlan, SurfacePlan,
                   VolumePlan)

# Headless first: without a display, ask VTK for its EGL window directly
# instead of letting it try X and warn. VTK_DEFAULT_OPENGL_WINDOW=vtkOSMesaRenderWindow
# selects pure-software OSMesa instead.
os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def choose_passes(requested: str, *, translucency: str, translucent: bool, volumes: bool) -> tuple[str, bool]:
    """(anti-aliasing, depth peeling) that draw correctly with VTK on Mesa.

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
    translucent = animated_alpha or any(actor.alpha < 1 for actor in plan.actors
                                        if not isinstance(actor, (VolumePlan, LabelsPlan, ScaleBarPlan, LetterPlan)))
    volumes = any(isinstance(actor, VolumePlan) for actor in plan.actors)
    aa, peel = choose_passes(plan.render.anti_aliasing, translucency=plan.render.translucency,
                             translucent=translucent, volumes=volumes)
    plotter.ren_win.SetMultiSamples(4 if aa == "msaa" else 0)
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


def _add_labels(plotter, actor: LabelsPlan):
    return plotter.add_point_labels(actor.points, list(actor.texts), font_size=actor.size, text_color=actor.color,
                                    shape=None, show_points=False, always_visible=True, reset_camera=False)


class _ScaleBar:
    """A bar and its text as 2-D overlays, resized for the camera of each frame."""

    MARGIN = 0.04  # of the image height, from the edges

    def __init__(self, plotter, plan: ScaleBarPlan):
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
        from vtkmodules.vtkRenderingCore import vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D, vtkTextActor

        self.plan, self.plotter = plan, plotter
        self.points = vtkPoints()
        self.points.SetNumberOfPoints(2)
        lines = vtkCellArray()
        lines.InsertNextCell(2, [0, 1])
        poly = vtkPolyData()
        poly.SetPoints(self.points)
        poly.SetLines(lines)
        coordinate = vtkCoordinate()
        coordinate.SetCoordinateSystemToDisplay()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        mapper.SetTransformCoordinate(coordinate)
        self.bar = vtkActor2D()
        self.bar.SetMapper(mapper)
        self.text = vtkTextActor()
        self.text.SetInput(plan.text)
        for prop in (self.bar.GetProperty(), self.text.GetTextProperty()):
            prop.SetColor(*plan.color)
            prop.SetOpacity(plan.alpha)
        self.text.GetTextProperty().SetFontSize(plan.size)
        self.text.GetTextProperty().SetJustificationToCentered()
        self.bar.GetProperty().SetLineWidth(max(2.0, plan.size / 5))
        plotter.renderer.AddViewProp(self.bar)
        plotter.renderer.AddViewProp(self.text)
        self.poly = poly

    def SetVisibility(self, visible: bool) -> None:  # noqa: N802 - the VTK actor interface
        self.bar.SetVisibility(visible)
        self.text.SetVisibility(visible)

    def update(self, camera: CameraPlan, size: tuple[int, int]) -> None:
        width, height = size
        visible_height = 2 * camera.parallel_scale  # microns across the image at the focal depth
        length_px = self.plan.length * height / visible_height
        margin = self.MARGIN * height
        right = "right" in self.plan.corner
        top = "top" in self.plan.corner
        x0 = width - margin - length_px if right else margin
        y = height - margin - self.plan.size * 1.6 if top else margin
        self.points.SetPoint(0, x0, y, 0)
        self.points.SetPoint(1, x0 + length_px, y, 0)
        self.points.Modified()
        self.poly.Modified()
        self.text.SetPosition(x0 + length_px / 2, y + max(4.0, self.plan.size * 0.4))


def _add_letter(plotter, actor: LetterPlan):
    from vtkmodules.vtkRenderingCore import vtkTextActor

    text = vtkTextActor()
    text.SetInput(actor.text)
    prop = text.GetTextProperty()
    prop.SetFontSize(actor.size)
    prop.SetColor(*actor.color)
    prop.SetOpacity(actor.alpha)
    prop.BoldOn()
    prop.SetJustificationToLeft()
    prop.SetVerticalJustificationToTop()
    height = plotter.window_size[1]
    margin = max(2.0, actor.size * 0.35)
    text.SetPosition(margin, height - margin)
    plotter.renderer.AddViewProp(text)
    return text


#: Overlays and volumes: animation changes only their visibility.
_OVERLAYS = (VolumePlan, LabelsPlan, ScaleBarPlan, LetterPlan)

_DRAW = {SurfacePlan: _add_surface, PointsPlan: _add_points, LinesPlan: _add_lines, VolumePlan: _add_volume,
         LabelsPlan: _add_labels, ScaleBarPlan: _ScaleBar, LetterPlan: _add_letter}


#: Plan fields given in pixels, for ``render.scale`` 1: a supersampled image
#: multiplies them so that text, lines and bars keep their proportions.
PIXEL_FIELDS = {LinesPlan: ("width",), LabelsPlan: ("size",), ScaleBarPlan: ("size",), LetterPlan: ("size",)}


def at_scale(actor, scale: int):
    """``actor`` with its pixel sizes multiplied by ``scale``."""
    names = PIXEL_FIELDS.get(type(actor), ())
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
        scale = plan.render.scale
        self.actors = [_DRAW[type(actor)](self.plotter, at_scale(actor, scale)) for actor in plan.actors]

    def draw(self, camera: CameraPlan | None = None, states: dict[int, dict] | None = None) -> np.ndarray:
        """The image for a camera (default: the scene's) and actor states
        (plan index -> {alpha, color, visible}); unlisted actors keep their own."""
        for index, actor in enumerate(self.actors):
            plan_actor = self.plan.actors[index]
            state = (states or {}).get(index, {})
            actor.SetVisibility(bool(state.get("visible", True)))
            if isinstance(plan_actor, _OVERLAYS):
                continue  # overlays and volume transfer functions: only visibility is animated
            prop = actor.GetProperty()
            prop.SetOpacity(float(state.get("alpha", plan_actor.alpha)))
            if "color" in state:
                actor.GetMapper().ScalarVisibilityOff()
                prop.SetColor(*state["color"])
        camera = camera or self.plan.camera
        _apply_camera(self.plotter, camera)
        for actor in self.actors:
            if isinstance(actor, _ScaleBar):
                actor.update(camera, self.plan.render.size)
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
