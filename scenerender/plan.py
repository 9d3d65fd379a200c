"""The compiled scene: frozen, VTK-free descriptions of what to draw.

:func:`scenerender.compile.compile_scene` produces a :class:`ScenePlan`;
:func:`scenerender.render.render_plan` is the only code that turns one into a
``pyvista.Plotter``. Plans hold numpy arrays and plain numbers only, so they
are cheap to test and to send to worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .animation import Timeline

RGB = tuple[float, float, float]


@dataclass(frozen=True, eq=False)
class SurfacePlan:
    """A triangle surface to draw, in world coordinates.

    Attributes
    ----------
    name : str
        What it is, e.g. ``region TH (left)``; shown in errors and listings.
    points : ndarray, shape (N, 3)
        Vertices in world coordinates (see :mod:`scenerender.spaces`).
    faces : ndarray, shape (M, 3)
        Triangle vertex indices.
    color : tuple of float
        RGB in 0-1 (ignored where ``vertex_colors`` is given).
    alpha : float
        Opacity in 0-1.
    vertex_colors : ndarray, shape (N, 3), optional
        Per-vertex RGB in 0-1, e.g. a neuron coloured by compartment.
    smooth : bool
        Smooth (Phong-like) shading; off for shapes with hard edges.
    """

    name: str
    points: np.ndarray
    faces: np.ndarray
    color: RGB
    alpha: float
    vertex_colors: np.ndarray | None = None
    smooth: bool = True
    group: str = ""


@dataclass(frozen=True, eq=False)
class PointsPlan:
    """Points drawn as sphere impostors (one shaded sprite each, no glyph mesh).

    ``scalars`` with ``cmap`` and ``clim`` colour each point; otherwise all
    points take ``color``. ``radius`` is in microns.
    """

    name: str
    points: np.ndarray
    radius: float
    color: RGB
    alpha: float
    scalars: np.ndarray | None = None
    cmap: str = "viridis"
    clim: tuple[float, float] | None = None
    group: str = ""


@dataclass(frozen=True, eq=False)
class LinesPlan:
    """Polylines drawn as lines ``width`` pixels wide.

    ``lines`` is VTK's flat connectivity: ``[n, i0, ..., in-1, n, ...]``.
    """

    name: str
    points: np.ndarray
    lines: np.ndarray
    color: RGB
    alpha: float
    width: float
    vertex_colors: np.ndarray | None = None
    group: str = ""


@dataclass(frozen=True, eq=False)
class VolumePlan:
    """A scalar volume drawn by ray casting through a colour map.

    ``values`` is on a regular grid whose first voxel centre is at ``origin``
    (world), ``spacing`` apart along the world axes.
    """

    name: str
    values: np.ndarray
    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    cmap: str
    clim: tuple[float, float]
    alpha: float
    group: str = ""


@dataclass(frozen=True, eq=False)
class LabelsPlan:
    """Text labels anchored at world points, drawn flat on top of the image."""

    name: str
    points: np.ndarray
    texts: tuple[str, ...]
    color: RGB
    size: int
    alpha: float = 1.0
    group: str = ""


@dataclass(frozen=True)
class ScaleBarPlan:
    """A bar ``length`` microns long at the focal point's depth, in an image corner."""

    name: str
    length: float
    text: str
    corner: str
    color: RGB
    size: int
    alpha: float = 1.0
    group: str = ""


@dataclass(frozen=True)
class LetterPlan:
    """A panel letter: bold text in the image's top-left corner, ``size`` pixels high (at scale 1)."""

    name: str
    text: str
    size: int
    color: RGB
    alpha: float = 1.0
    group: str = ""


#: Anything an actor can ask the renderer to draw. ``group`` names the scene
#: actor it came from (its ``id``, or ``actors[i]``): animation keyframes
#: change the properties of every plan in a group.
ActorPlan = SurfacePlan | PointsPlan | LinesPlan | VolumePlan | LabelsPlan | ScaleBarPlan | LetterPlan


@dataclass(frozen=True)
class CameraPlan:
    """A camera in world coordinates, with its zoom already applied."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float]
    view_angle: float
    zoom: float
    orthographic: bool

    @property
    def effective_view_angle(self) -> float:
        """Perspective field of view after zoom (zoom magnifies, never accumulates)."""
        half = np.radians(self.view_angle) / 2
        return float(np.degrees(2 * np.arctan(np.tan(half) / self.zoom)))

    @property
    def parallel_scale(self) -> float:
        """Orthographic half-height: what the perspective view shows at the focal point."""
        distance = float(np.linalg.norm(np.subtract(self.position, self.focal_point)))
        return distance * float(np.tan(np.radians(self.view_angle) / 2)) / self.zoom


@dataclass(frozen=True)
class RenderSettings:
    """How to make the image.

    ``size`` is in output pixels: the scene's ``render.size`` times ``scale``.
    Sizes given in pixels in actor plans (line widths, font sizes) are for
    ``scale`` 1; the renderer multiplies them by ``scale``.
    """

    size: tuple[int, int]
    background: RGB | None  # None: transparent
    anti_aliasing: str
    translucency: str = "order_independent"
    scale: int = 1


@dataclass(frozen=True)
class ScenePlan:
    """Everything needed to render a scene, and nothing that needs a GPU."""

    source: str
    atlas_name: str
    actors: tuple[ActorPlan, ...]
    camera: CameraPlan
    render: RenderSettings
    output: Path | None = None
    timeline: "Timeline | None" = None
    #: The loaded scene it was compiled from (for provenance records); plain data, no VTK.
    scene: object = field(default=None, repr=False, compare=False)
    #: For a multi-panel figure: its panels (:class:`scenerender.panels.PanelPlan`), drawn
    #: instead of ``actors``, each at its own size, onto ``render.size``.
    panels: tuple = ()
