"""Stage 5: draw a :class:`~scenerender.plan.ScenePlan` offscreen.

This is the only module that creates a ``pyvista.Plotter``. Rendering is
headless (VTK's EGL or OSMesa window, no X server) and deterministic: the
same plan gives the same pixels.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import RenderError
from .plan import ScenePlan

# Headless first: without a display, ask VTK for its EGL window directly
# instead of letting it try X and warn. VTK_DEFAULT_OPENGL_WINDOW=vtkOSMesaRenderWindow
# selects pure-software OSMesa instead.
os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


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
    translucent = any(actor.alpha < 1 for actor in plan.actors)
    aa = plan.render.anti_aliasing
    if translucent and aa == "msaa":
        # Depth peeling (exact translucency) needs single-sample buffers: with
        # multi-sampling on, Mesa drops translucent surfaces altogether.
        aa = "ssaa"
    plotter.ren_win.SetMultiSamples(8 if aa == "msaa" else 0)
    if aa == "ssaa":
        plotter.enable_anti_aliasing("ssaa")
    if translucent:
        plotter.enable_depth_peeling(number_of_peels=8, occlusion_ratio=0.0)
    return plotter


def _add_actors(plotter, plan: ScenePlan) -> None:
    import pyvista as pv

    for actor in plan.actors:
        mesh = pv.PolyData.from_regular_faces(actor.points, actor.faces)
        plotter.add_mesh(mesh, color=actor.color, opacity=actor.alpha, smooth_shading=True,
                         name=actor.name, reset_camera=False)


def _apply_camera(plotter, plan: ScenePlan) -> None:
    cam = plan.camera
    camera = plotter.camera
    camera.position = cam.position
    camera.focal_point = cam.focal_point
    camera.up = cam.view_up
    if cam.orthographic:
        plotter.enable_parallel_projection()
        camera.parallel_scale = cam.parallel_scale
    else:
        camera.view_angle = cam.effective_view_angle
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


def render_plan(plan: ScenePlan) -> np.ndarray:
    """Render to an ``(height, width, 3)`` RGB or ``(..., 4)`` RGBA uint8 image."""
    plotter = _plotter(plan)
    try:
        _add_actors(plotter, plan)
        _apply_camera(plotter, plan)
        transparent = plan.render.background is None
        if transparent:
            plotter.render_window.SetAlphaBitPlanes(1)
            plotter.renderer.SetBackgroundAlpha(0.0)
        image = _capture(plotter, alpha=transparent)
    finally:
        plotter.close()
    expected = (plan.render.size[1], plan.render.size[0])
    if image.shape[:2] != expected:
        raise RenderError(f"the renderer made a {image.shape[1]}x{image.shape[0]} image, "
                          f"not the requested {expected[1]}x{expected[0]}")
    return np.ascontiguousarray(image)
