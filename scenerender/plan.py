"""The compiled scene: frozen, VTK-free descriptions of what to draw.

:func:`scenerender.compile.compile_scene` produces a :class:`ScenePlan`;
:func:`scenerender.renderer.render_plan` is the only code that turns one into a
``pyvista.Plotter``. Plans hold numpy arrays and plain numbers only, so they
are cheap to test and to send to worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Protocol, get_args

import numpy as np

RGB = tuple[float, float, float]

#: Field metadata of a size given in pixels (for ``render.scale`` 1): a supersampled
#: image multiplies it, so that lines keep their proportions (overlays scale themselves).
PIXELS = {"pixels": True}

# Each actor plan type declares ``DRAWN_AS``, how the renderer draws it: "surface", "points", "lines",
# "volume" (a VTK actor each), "cut" (a clipping plane on other actors) or "painted" (a flat mark
# drawn over the image by scenerender.overlays).


class Timeline(Protocol):
    """What the renderer and the video writer need of an animation (:class:`scenerender.animation.Timeline`).

    Declared here so that plans do not depend on the animation stage above them.
    """

    @property
    def fps(self) -> float: ...

    @property
    def n_frames(self) -> int: ...

    @property
    def quality(self) -> int: ...

    @property
    def tracks(self) -> dict: ...

    def time_of(self, frame: int) -> float: ...

    def camera_at(self, t: float) -> CameraPlan: ...

    def states_at(self, t: float) -> dict[int, dict]: ...


@dataclass(frozen=True)
class ColorMapping:
    """Values to colours: a matplotlib colour map over ``vmin`` .. ``vmax``.

    With ``center`` the map is split there (matplotlib's ``TwoSlopeNorm``):
    ``center`` takes the colour map's middle colour, each side stretched
    linearly to its end, as diverging maps need. Values outside are clipped.
    """

    cmap: str
    vmin: float
    vmax: float
    center: float | None = None
    title: str = ""
    #: Colour of places that have no value (a heatmap's regions without one), shown by the colour bar.
    missing: RGB | None = None

    def normalized(self, values) -> np.ndarray:
        """Values mapped to 0-1 along the colour map."""
        # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
        from matplotlib.colors import Normalize, TwoSlopeNorm

        if self.center is None:
            norm = Normalize(vmin=self.vmin, vmax=self.vmax, clip=True)
        else:
            norm = TwoSlopeNorm(vcenter=self.center, vmin=self.vmin, vmax=self.vmax)
        return np.clip(np.ma.filled(norm(np.asarray(values, dtype=float)), np.nan), 0.0, 1.0)

    def colors(self, values) -> np.ndarray:
        """RGB 0-1 for each value, shape (N, 3)."""
        # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
        import matplotlib

        return np.asarray(matplotlib.colormaps[self.cmap](self.normalized(values)))[..., :3]


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
    lit : bool
        Shaded by the lights; off draws the exact colours (e.g. a flat
        section whose pixels must show the colour map's colours).
    mapping : ColorMapping, optional
        How values became ``color``/``vertex_colors``, for a colour bar.
    shading : str
        flat, smooth, cartoon or metallic (see ``_constants.SHADINGS``);
        empty: smooth or flat as ``smooth`` says.
    silhouette : tuple of float, optional
        Colour of outlines drawn where the surface turns away from the
        camera, ``silhouette_width`` pixels wide.
    """

    DRAWN_AS: ClassVar[str] = "surface"

    name: str
    points: np.ndarray
    faces: np.ndarray
    color: RGB
    alpha: float
    vertex_colors: np.ndarray | None = None
    smooth: bool = True
    group: str = ""
    lit: bool = True
    mapping: ColorMapping | None = None
    shading: str = ""
    silhouette: RGB | None = None
    silhouette_width: float = field(default=2.0, metadata=PIXELS)


@dataclass(frozen=True, eq=False)
class PointsPlan:
    """Points drawn as sphere impostors (one shaded sprite each, no glyph mesh).

    ``scalars`` with ``cmap`` and ``clim`` colour each point; otherwise all
    points take ``color``. ``radius`` is in microns.
    """

    DRAWN_AS: ClassVar[str] = "points"

    name: str
    points: np.ndarray
    radius: float
    color: RGB
    alpha: float
    scalars: np.ndarray | None = None
    cmap: str = "viridis"
    clim: tuple[float, float] | None = None
    group: str = ""
    scalar_name: str = ""


@dataclass(frozen=True, eq=False)
class LinesPlan:
    """Polylines drawn as lines ``width`` pixels wide.

    ``lines`` is VTK's flat connectivity: ``[n, i0, ..., in-1, n, ...]``.
    """

    DRAWN_AS: ClassVar[str] = "lines"

    name: str
    points: np.ndarray
    lines: np.ndarray
    color: RGB
    alpha: float
    width: float = field(metadata=PIXELS)
    vertex_colors: np.ndarray | None = None
    group: str = ""


@dataclass(frozen=True, eq=False)
class VolumePlan:
    """A scalar volume drawn by ray casting through a colour map.

    ``values`` is on a regular grid whose first voxel centre is at ``origin``
    (world), ``spacing`` apart along the world axes.
    """

    DRAWN_AS: ClassVar[str] = "volume"

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

    DRAWN_AS: ClassVar[str] = "painted"

    name: str
    points: np.ndarray
    texts: tuple[str, ...]
    color: RGB | None  # None: black or white by contrast with the image behind each label
    size: int
    alpha: float = 1.0
    group: str = ""


@dataclass(frozen=True)
class ScaleBarPlan:
    """A bar ``length`` microns long in an image corner.

    True everywhere with orthographic projection. With perspective, true at
    one depth only: that of ``at`` (a world point), or of the camera's focal
    point when ``at`` is None.
    """

    DRAWN_AS: ClassVar[str] = "painted"

    name: str
    length: float
    text: str
    corner: str
    color: RGB
    size: int
    alpha: float = 1.0
    group: str = ""
    at: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class OrientationPlan:
    """Anatomical axes in an image corner, turned with the camera of each frame.

    ``labels`` pairs each anatomical direction (anterior, posterior, superior,
    inferior, left, right) with its text; ``length`` is the longest arm in pixels.
    """

    DRAWN_AS: ClassVar[str] = "painted"

    name: str
    labels: tuple[tuple[str, str], ...]
    corner: str
    length: float
    color: RGB
    size: int
    alpha: float = 1.0
    group: str = ""


@dataclass(frozen=True)
class ColorBarPlan:
    """A colour bar for a :class:`ColorMapping`, at the image edge."""

    DRAWN_AS: ClassVar[str] = "painted"

    name: str
    mapping: ColorMapping
    title: str
    position: str
    color: RGB
    size: int
    alpha: float = 1.0
    group: str = ""


@dataclass(frozen=True)
class LegendPlan:
    """A box of (text, colour) entries in an image corner."""

    DRAWN_AS: ClassVar[str] = "painted"

    name: str
    entries: tuple[tuple[str, RGB], ...]
    corner: str
    color: RGB
    size: int
    background: RGB | None
    alpha: float = 1.0
    group: str = ""


@dataclass(frozen=True)
class TitlePlan:
    """A line of text at the top (or bottom) of the image."""

    DRAWN_AS: ClassVar[str] = "painted"

    name: str
    text: str
    position: str
    color: RGB
    size: int
    alpha: float = 1.0
    group: str = ""


@dataclass(frozen=True)
class CutPlan:
    """A plane clipping the plans of the listed groups (all groups when empty).

    ``origin`` and ``normal`` are in world coordinates; what lies on the side
    the normal points to is kept. The caps that close the cut surfaces are
    separate :class:`SurfacePlan` s of the cut's own group.
    """

    DRAWN_AS: ClassVar[str] = "cut"

    name: str
    origin: tuple[float, float, float]
    normal: tuple[float, float, float]
    targets: tuple[str, ...]
    color: RGB = (0.0, 0.0, 0.0)
    alpha: float = 1.0
    group: str = ""


@dataclass(frozen=True)
class LetterPlan:
    """A panel letter: bold text in the image's top-left corner, ``size`` pixels high (at scale 1)."""

    DRAWN_AS: ClassVar[str] = "painted"

    name: str
    text: str
    size: int
    color: RGB
    alpha: float = 1.0
    group: str = ""


#: Anything an actor can ask the renderer to draw. ``group`` names the scene
#: actor it came from (its ``id``, or ``actors[i]``): animation keyframes
#: change the properties of every plan in a group.
ActorPlan = (SurfacePlan | PointsPlan | LinesPlan | VolumePlan | LabelsPlan | ScaleBarPlan | OrientationPlan
             | ColorBarPlan | LegendPlan | TitlePlan | CutPlan | LetterPlan)

#: Every type of :data:`ActorPlan`.
ACTOR_PLANS = get_args(ActorPlan)


@lru_cache(maxsize=None)
def pixel_fields(plan_type: type) -> tuple[str, ...]:
    """The fields of a plan type given in pixels (declared with ``metadata=PIXELS``)."""
    return tuple(f.name for f in fields(plan_type) if f.metadata.get("pixels"))


#: Plans that are not geometry of their own: marks drawn flat over the image
#: (text, bars) and cuts. Never translucent; only their visibility is animated.
OVERLAYS = tuple(t for t in ACTOR_PLANS if t.DRAWN_AS in ("painted", "cut"))


def color_mapping_of(plan) -> ColorMapping | None:
    """How a plan's colours come from values, if they do (for colour bars)."""
    if isinstance(plan, SurfacePlan):
        return plan.mapping
    if isinstance(plan, PointsPlan) and plan.scalars is not None and plan.clim is not None:
        return ColorMapping(cmap=plan.cmap, vmin=float(plan.clim[0]), vmax=float(plan.clim[1]),
                            title=plan.scalar_name)
    if isinstance(plan, VolumePlan):
        return ColorMapping(cmap=plan.cmap, vmin=float(plan.clim[0]), vmax=float(plan.clim[1]))
    return None


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
    lighting: str = "light_kit"
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

    def __repr__(self) -> str:  # a summary: the actors' arrays would print as pages of numbers
        width, height = self.render.size
        extra = (f", {len(self.panels)} panels" if self.panels else "") + (", animated" if self.timeline else "")
        return (f"<ScenePlan {Path(self.source).name if not self.source.startswith('<') else self.source}: "
                f"atlas {self.atlas_name}, {len(self.actors)} actor plans, {width}x{height}{extra}>")
