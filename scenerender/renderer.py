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
from .camera import image_directions, scale_at_depth
from .plan import (OVERLAYS, CameraPlan, ColorBarPlan, CutPlan, LabelsPlan, LegendPlan, LetterPlan, LinesPlan,
                   OrientationPlan, PointsPlan, ScaleBarPlan, ScenePlan, SurfacePlan, TitlePlan, VolumePlan)

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
    from vtkmodules.vtkRenderingCore import vtkMapper

    vtkMapper.SetResolveCoincidentTopologyToOff()
    vtkMapper.SetResolveCoincidentTopologyPolygonOffsetFaces(1)


def _plotter(plan: ScenePlan):
    import pyvista as pv

    _reset_vtk_globals()
    width, height = plan.render.size
    try:
        lighting = {"light_kit": "light kit", "three_lights": "three lights", "headlight": "none"}[plan.render.lighting]
        plotter = pv.Plotter(off_screen=True, window_size=(width, height), lighting=lighting)
    except Exception as err:  # VTK raises bare RuntimeErrors when no GL context can be made
        raise RenderError(f"could not open an offscreen OpenGL context ({err}); "
                          "install Mesa (EGL/OSMesa) or use a VTK build with offscreen support") from None
    if plan.render.lighting == "headlight":
        plotter.add_light(pv.Light(light_type="headlight"))
    if plan.render.background is not None:
        plotter.set_background(plan.render.background)
    animated_alpha = plan.timeline is not None and any(p == "alpha" for _, p in plan.timeline.tracks)
    translucent = animated_alpha or any(actor.alpha < 1 for actor in plan.actors
                                        if not isinstance(actor, (VolumePlan, *OVERLAYS)))
    volumes = any(isinstance(actor, VolumePlan) for actor in plan.actors)
    requested = plan.render.anti_aliasing
    if requested == "auto":
        requested = content_anti_aliasing(plan)
    aa, peel = choose_passes(requested, translucency=plan.render.translucency,
                             translucent=translucent, volumes=volumes)
    _apply_anti_aliasing(plotter, aa)
    if peel:
        plotter.enable_depth_peeling(number_of_peels=8, occlusion_ratio=0.0)
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
SHADING = {
    "smooth": ({"smooth_shading": True}, {}),
    "flat": ({"smooth_shading": False}, {"SetInterpolationToFlat": ()}),
    # Mostly ambient: colours stay bright and flat-looking; the silhouette does the drawing.
    "cartoon": ({"smooth_shading": True}, {"SetAmbient": (0.55,), "SetDiffuse": (0.5,), "SetSpecular": (0.0,)}),
    "metallic": ({"smooth_shading": True, "pbr": True, "metallic": 0.8, "roughness": 0.3}, {}),
}


def _add_surface(plotter, actor: SurfacePlan):
    import pyvista as pv

    mesh = pv.PolyData.from_regular_faces(actor.points, actor.faces)
    shading = actor.shading or ("smooth" if actor.smooth else "flat")
    keywords, settings = SHADING[shading]
    keywords = dict(keywords, opacity=actor.alpha, lighting=actor.lit, reset_camera=False)
    if actor.vertex_colors is not None:
        mesh.point_data["rgb"] = np.asarray(actor.vertex_colors * 255, dtype=np.uint8)
        added = plotter.add_mesh(mesh, scalars="rgb", rgb=True, **keywords)
    else:
        added = plotter.add_mesh(mesh, color=actor.color, **keywords)
    for method, args in settings.items():
        getattr(added.GetProperty(), method)(*args)
    return added


def _add_silhouette(plotter, actor: SurfacePlan):
    """Outlines where the surface turns away from the camera; VTK recomputes them for every view."""
    import pyvista as pv

    mesh = pv.PolyData.from_regular_faces(actor.points, actor.faces)
    return plotter.add_silhouette(mesh, color=actor.silhouette, line_width=actor.silhouette_width,
                                  opacity=actor.alpha)


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


def _display_lines(n_points: int, segments: list[tuple[int, int]], color, alpha: float, width: float):
    """A 2-D actor of line segments whose points are set in display pixels later."""
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
    from vtkmodules.vtkRenderingCore import vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D

    points = vtkPoints()
    points.SetNumberOfPoints(n_points)
    lines = vtkCellArray()
    for a, b in segments:
        lines.InsertNextCell(2, [a, b])
    poly = vtkPolyData()
    poly.SetPoints(points)
    poly.SetLines(lines)
    coordinate = vtkCoordinate()
    coordinate.SetCoordinateSystemToDisplay()
    mapper = vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    mapper.SetTransformCoordinate(coordinate)
    actor = vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*color)
    actor.GetProperty().SetOpacity(alpha)
    actor.GetProperty().SetLineWidth(width)
    return actor, points, poly


def _text(text: str, color, alpha: float, size: int):
    from vtkmodules.vtkRenderingCore import vtkTextActor

    actor = vtkTextActor()
    actor.SetInput(text)
    prop = actor.GetTextProperty()
    prop.SetColor(*color)
    prop.SetOpacity(alpha)
    prop.SetFontSize(size)
    prop.SetJustificationToCentered()
    prop.SetVerticalJustificationToCentered()
    return actor


class _CameraOverlay:
    """2-D marks recomputed from the camera of each frame (scale bar, orientation)."""

    MARGIN = 0.04  # of the image height, from the edges
    props: list

    def SetVisibility(self, visible: bool) -> None:  # noqa: N802 - the VTK actor interface
        for prop in self.props:
            prop.SetVisibility(visible)

    def update(self, camera: CameraPlan, size: tuple[int, int]) -> None:
        raise NotImplementedError


class _ScaleBar(_CameraOverlay):
    """A bar and its text, resized for the camera of each frame."""

    def __init__(self, plotter, plan: ScaleBarPlan):
        self.plan = plan
        self.bar, self.points, self.poly = _display_lines(2, [(0, 1)], plan.color, plan.alpha, max(2.0, plan.size / 5))
        self.text = _text(plan.text, plan.color, plan.alpha, plan.size)
        self.text.GetTextProperty().SetVerticalJustificationToBottom()
        self.props = [self.bar, self.text]
        for prop in self.props:
            plotter.renderer.AddViewProp(prop)

    def length_px(self, camera: CameraPlan, size: tuple[int, int]) -> float:
        return self.plan.length * scale_at_depth(camera, size[1], self.plan.at)

    def update(self, camera: CameraPlan, size: tuple[int, int]) -> None:
        width, height = size
        length_px = self.length_px(camera, size)
        if not np.isfinite(length_px):
            raise RenderError(f"{self.plan.name}: its depth point 'at' is behind the camera; no length is true there")
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


class _Orientation(_CameraOverlay):
    """Arms towards the anatomical directions, with their labels, from a corner."""

    HIDE_BELOW = 0.3  # arms shorter than this (of full length) point at the viewer: no label

    def __init__(self, plotter, plan: OrientationPlan):
        self.plan = plan
        n = len(plan.labels)
        self.arms, self.points, self.poly = _display_lines(n + 1, [(0, i + 1) for i in range(n)], plan.color,
                                                           plan.alpha, max(1.5, plan.size / 8))
        self.texts = [_text(text, plan.color, plan.alpha, plan.size) for _, text in plan.labels]
        self.props = [self.arms, *self.texts]
        for prop in self.props:
            plotter.renderer.AddViewProp(prop)
        self.visible = True

    def SetVisibility(self, visible: bool) -> None:  # noqa: N802
        self.visible = visible
        super().SetVisibility(visible)

    def update(self, camera: CameraPlan, size: tuple[int, int]) -> None:
        width, height = size
        directions = image_directions(camera)
        reach = self.plan.length + self.plan.size  # arm plus room for its label
        margin = self.MARGIN * height + reach
        cx = width - margin if "right" in self.plan.corner else margin
        cy = height - margin if "top" in self.plan.corner else margin
        self.points.SetPoint(0, cx, cy, 0)
        for i, (name, _) in enumerate(self.plan.labels):
            dx, dy = directions[name]
            self.points.SetPoint(i + 1, cx + dx * self.plan.length, cy + dy * self.plan.length, 0)
            shown = bool(np.hypot(dx, dy) >= self.HIDE_BELOW)
            norm = max(np.hypot(dx, dy), 1e-9)
            pad = self.plan.length + 0.9 * self.plan.size
            self.texts[i].SetPosition(cx + dx / norm * pad, cy + dy / norm * pad)
            self.texts[i].SetVisibility(self.visible and shown)
        self.points.Modified()
        self.poly.Modified()


def _plain_text(prop, color, alpha: float, size: int) -> None:
    prop.SetColor(*color)
    prop.SetOpacity(alpha)
    prop.SetFontSize(size)
    prop.ShadowOff()
    prop.BoldOff()
    prop.ItalicOff()


def _add_colorbar(plotter, plan: ColorBarPlan):
    """VTK's scalar bar over a lookup table sampled from the mapping, so a
    centred (two-slope) map shows exactly the colours the actor was given."""
    from vtkmodules.vtkCommonCore import vtkLookupTable
    from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor

    mapping = plan.mapping
    n = 256
    lut = vtkLookupTable()
    lut.SetNumberOfTableValues(n)
    lut.SetRange(mapping.vmin, mapping.vmax)
    lut.Build()
    values = mapping.vmin + (np.arange(n) + 0.5) / n * (mapping.vmax - mapping.vmin)
    for i, rgb in enumerate(mapping.colors(values)):
        lut.SetTableValue(i, *rgb, 1.0)
    bar = vtkScalarBarActor()
    bar.SetLookupTable(lut)
    bar.SetTitle(plan.title)
    bar.SetNumberOfLabels(5)
    bar.SetLabelFormat("%.3g")
    bar.UnconstrainedFontSizeOn()
    bar.DrawTickLabelsOn()
    for prop in (bar.GetLabelTextProperty(), bar.GetTitleTextProperty()):
        _plain_text(prop, plan.color, plan.alpha, plan.size)
    coordinate = bar.GetPositionCoordinate()
    coordinate.SetCoordinateSystemToNormalizedViewport()
    vertical = plan.position in ("left", "right")
    if vertical:
        bar.SetOrientationToVertical()
        bar.SetPosition(0.86 if plan.position == "right" else 0.02, 0.1)
        bar.SetWidth(0.12)
        bar.SetHeight(0.8)
    else:
        bar.SetOrientationToHorizontal()
        bar.SetPosition(0.15, 0.02 if plan.position == "bottom" else 0.84)
        bar.SetWidth(0.7)
        bar.SetHeight(0.14)
    plotter.renderer.AddViewProp(bar)
    return bar


class _Legend:
    """A colour square and a text per entry, stacked in an image corner (display pixels)."""

    def __init__(self, plotter, plan: LegendPlan):
        from vtkmodules.vtkCommonCore import vtkPoints, vtkUnsignedCharArray
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
        from vtkmodules.vtkRenderingCore import vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D

        width, height = plotter.window_size
        size = plan.size
        row = 1.5 * size
        longest = max(len(text) for text, _ in plan.entries)
        box_w, box_h = (longest * 0.62 + 2.5) * size, len(plan.entries) * row
        margin = 0.03 * height
        x0 = width - margin - box_w if "right" in plan.corner else margin
        top = height - margin if "top" in plan.corner else margin + box_h
        points, polys = vtkPoints(), vtkCellArray()
        colors = vtkUnsignedCharArray()
        colors.SetNumberOfComponents(4)
        alpha = int(round(plan.alpha * 255))

        def quad(x, y, w, h, rgb):
            start = points.GetNumberOfPoints()
            for px, py in ((x, y), (x + w, y), (x + w, y + h), (x, y + h)):
                points.InsertNextPoint(px, py, 0)
            polys.InsertNextCell(4, [start, start + 1, start + 2, start + 3])
            colors.InsertNextTuple4(*(int(round(c * 255)) for c in rgb), alpha)

        if plan.background is not None:
            quad(x0 - 0.4 * size, top - box_h - 0.3 * size, box_w + 0.8 * size, box_h + 0.6 * size, plan.background)
        self.texts = []
        for i, (text, rgb) in enumerate(plan.entries):
            centre_y = top - (i + 0.5) * row
            quad(x0, centre_y - size / 2, size, size, rgb)
            label = _text(text, plan.color, plan.alpha, size)
            _plain_text(label.GetTextProperty(), plan.color, plan.alpha, size)
            label.GetTextProperty().SetJustificationToLeft()
            label.SetPosition(x0 + 1.6 * size, centre_y)
            self.texts.append(label)
        poly = vtkPolyData()
        poly.SetPoints(points)
        poly.SetPolys(polys)
        poly.GetCellData().SetScalars(colors)
        coordinate = vtkCoordinate()
        coordinate.SetCoordinateSystemToDisplay()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        mapper.SetTransformCoordinate(coordinate)
        mapper.SetColorModeToDirectScalars()
        mapper.SetScalarModeToUseCellData()
        self.swatches = vtkActor2D()
        self.swatches.SetMapper(mapper)
        self.props = [self.swatches, *self.texts]
        for prop in self.props:
            plotter.renderer.AddViewProp(prop)

    def SetVisibility(self, visible: bool) -> None:  # noqa: N802 - the VTK actor interface
        for prop in self.props:
            prop.SetVisibility(visible)


def _add_title(plotter, plan: TitlePlan):
    width, height = plotter.window_size
    text = _text(plan.text, plan.color, plan.alpha, plan.size)
    _plain_text(text.GetTextProperty(), plan.color, plan.alpha, plan.size)
    margin = 0.03 * height
    if plan.position == "top":
        text.GetTextProperty().SetVerticalJustificationToTop()
        text.SetPosition(width / 2, height - margin)
    else:
        text.GetTextProperty().SetVerticalJustificationToBottom()
        text.SetPosition(width / 2, margin)
    plotter.renderer.AddViewProp(text)
    return text


class _Cut:
    """A clipping plane, added to the mappers of the actors it cuts (see FrameRenderer)."""

    def __init__(self, plotter, plan: CutPlan):
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


_DRAW = {SurfacePlan: _add_surface, PointsPlan: _add_points, LinesPlan: _add_lines, VolumePlan: _add_volume,
         LabelsPlan: _add_labels, ScaleBarPlan: _ScaleBar, OrientationPlan: _Orientation,
         ColorBarPlan: _add_colorbar, LegendPlan: _Legend, TitlePlan: _add_title, CutPlan: _Cut}


def _add_letter(plotter, actor: LetterPlan):
    """A panel letter, bold, in the top-left corner."""
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


_DRAW[LetterPlan] = _add_letter

#: Plan fields given in pixels, for ``render.scale`` 1: a supersampled image
#: multiplies them so that text, lines, bars and boxes keep their proportions.
PIXEL_FIELDS = {SurfacePlan: ("silhouette_width",), LinesPlan: ("width",), LabelsPlan: ("size",),
                ScaleBarPlan: ("size",), LetterPlan: ("size",), OrientationPlan: ("size", "length"),
                ColorBarPlan: ("size",), LegendPlan: ("size",), TitlePlan: ("size",)}


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

    def __init__(self, plan: ScenePlan):
        self.plan = plan
        self.plotter = _plotter(plan)
        self.transparent = plan.render.background is None
        if self.transparent:
            self.plotter.render_window.SetAlphaBitPlanes(1)
            # A black, empty background adds nothing to the colours, so what
            # VTK blends is premultiplied colour; _unpremultiply makes it the
            # straight alpha PNGs store (no halo of background colour).
            self.plotter.set_background((0.0, 0.0, 0.0))
            self.plotter.renderer.SetBackgroundAlpha(0.0)
        scale = plan.render.scale
        self.actors = [_DRAW[type(actor)](self.plotter, at_scale(actor, scale)) for actor in plan.actors]
        self.silhouettes = {index: _add_silhouette(self.plotter, at_scale(actor, scale))
                            for index, actor in enumerate(plan.actors)
                            if isinstance(actor, SurfacePlan) and actor.silhouette is not None}
        _apply_cuts(plan.actors, self.actors, self.silhouettes)

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
        for actor in self.actors:
            if isinstance(actor, _CameraOverlay):
                actor.update(camera, self.plan.render.size)
        image = _capture(self.plotter, alpha=self.transparent)
        if self.transparent:
            image = _unpremultiply(image)
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
