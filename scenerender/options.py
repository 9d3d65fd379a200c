"""Named option types: the closed vocabularies of the scene language, as ``str`` enums.

The JSON Schema (``schemas/scene.schema.json``) is the source of truth: each
enum here lists exactly the values of the schema ``enum`` named in its
``SCHEMA`` pointers (``tests/test_options.py`` checks them both ways). A
member *is* its string (``Shading.CARTOON == "cartoon"``), so a validated
scene's plain strings compare equal to these, and code can name the options
instead of spelling them.
"""

from __future__ import annotations

from enum import Enum


class Option(str, Enum):
    """A ``str`` enum whose ``str()`` and format are its value (``StrEnum`` is Python 3.11+)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Shading(Option):
    """How a surface is lit (``$defs/shading``)."""

    SMOOTH = "smooth"  #: smoothed normals, plain Phong lighting
    FLAT = "flat"  #: one normal per triangle
    CARTOON = "cartoon"  #: flat ambient colour with a dark silhouette outline
    METALLIC = "metallic"  #: strong, colour-tinted highlights


class Projection(Option):
    """The camera's projection."""

    PERSPECTIVE = "perspective"  #: nearer things look larger
    ORTHOGRAPHIC = "orthographic"  #: parallel projection; sizes do not change with depth


class CameraPreset(Option):
    """A named view, in anatomical terms."""

    SAGITTAL = "sagittal"  #: from the left
    SAGITTAL_RIGHT = "sagittal_right"  #: from the right
    FRONTAL = "frontal"  #: from the front
    POSTERIOR = "posterior"  #: from behind
    HORIZONTAL = "horizontal"  #: from above
    TOP = "top"  #: from above
    BOTTOM = "bottom"  #: from below
    THREE_QUARTERS = "three_quarters"  #: from the front, left and above


class CameraFrame(Option):
    """What a preset camera frames."""

    VISIBLE = "visible"  #: the visible actors
    BRAIN = "brain"  #: the whole brain


class AntiAliasing(Option):
    """Edge smoothing of the render."""

    AUTO = "auto"  #: the best the platform draws reliably
    NONE = "none"  #: no smoothing
    FXAA = "fxaa"  #: fast approximate (a screen-space filter)
    MSAA = "msaa"  #: multisampling
    SSAA = "ssaa"  #: supersampling


class Translucency(Option):
    """How overlapping translucent surfaces are composited."""

    ORDER_INDEPENDENT = "order_independent"  #: weighted order-independent blending
    DEPTH_PEELING = "depth_peeling"  #: exact, layer by layer


class Lighting(Option):
    """The scene's lights."""

    LIGHT_KIT = "light_kit"  #: key, fill and back lights
    THREE_LIGHTS = "three_lights"  #: three fixed lights
    HEADLIGHT = "headlight"  #: one light at the camera


class Easing(Option):
    """How an animated value moves between keyframes."""

    LINEAR = "linear"  #: at constant speed
    EASE_IN_OUT = "ease_in_out"  #: starting and stopping smoothly
    STEP = "step"  #: jumping at the next keyframe


class Direction(Option):
    """An anatomical direction (an orbit's axis)."""

    SUPERIOR = "superior"
    INFERIOR = "inferior"
    ANTERIOR = "anterior"
    POSTERIOR = "posterior"
    LEFT = "left"
    RIGHT = "right"


class Hemisphere(Option):
    """Which hemisphere a region is drawn in."""

    BOTH = "both"
    LEFT = "left"
    RIGHT = "right"


class Plane(Option):
    """A section plane (cuts and heatmap sections)."""

    FRONTAL = "frontal"  #: across the anterior-posterior axis
    SAGITTAL = "sagittal"  #: across the left-right axis
    HORIZONTAL = "horizontal"  #: across the superior-inferior axis


class CutKeep(Option):
    """Which side of a cut stays."""

    ANTERIOR = "anterior"
    POSTERIOR = "posterior"
    DORSAL = "dorsal"
    VENTRAL = "ventral"
    LEFT = "left"
    RIGHT = "right"


class Corner(Option):
    """A corner of the image (scale bars, orientation axes, legends)."""

    TOP_LEFT = "top_left"
    TOP_RIGHT = "top_right"
    BOTTOM_LEFT = "bottom_left"
    BOTTOM_RIGHT = "bottom_right"


class ColorbarPosition(Option):
    """The image edge a colour bar stands along."""

    RIGHT = "right"
    LEFT = "left"
    BOTTOM = "bottom"
    TOP = "top"


class TitlePosition(Option):
    """The image edge a title stands along."""

    TOP = "top"
    BOTTOM = "bottom"


class NeuronStyle(Option):
    """How a neuron is drawn."""

    TUBES = "tubes"  #: tubes of the reconstructed radius
    LINES = "lines"  #: lines of a fixed width in pixels


class VolumeMode(Option):
    """How a volume is drawn."""

    ISOSURFACE = "isosurface"  #: a surface at a threshold
    RENDER = "render"  #: volume rendering


class LabelText(Option):
    """What a region label says."""

    ACRONYM = "acronym"
    NAME = "name"


class LabelAnchor(Option):
    """Where a region label points."""

    SURFACE = "surface"  #: a point on the region's surface facing the camera
    CENTROID = "centroid"  #: the region's centre


class HeatmapOutlines(Option):
    """How a heatmap section outlines its regions."""

    SMOOTH = "smooth"
    VOXEL = "voxel"


class OrientationAxis(Option):
    """An axis an orientation marker shows."""

    ANTERIOR_POSTERIOR = "anterior_posterior"
    DORSAL_VENTRAL = "dorsal_ventral"
    LEFT_RIGHT = "left_right"


class CellType(Option):
    """Which cellfinder XML cells a points source keeps."""

    CELLS = "cells"  #: classified as cells (type 2)
    NON_CELLS = "non_cells"  #: rejected candidates (type 1)
    ALL = "all"


class GeneExpressionPlane(Option):
    """The section plane of the Allen ISH experiments a gene-expression source takes."""

    ANY = "any"
    SAGITTAL = "sagittal"
    CORONAL = "coronal"


class GeneExperiments(Option):
    """Which of a gene's Allen ISH experiments a gene-expression source takes."""

    NEWEST = "newest"
    ALL = "all"


class GeneAggregate(Option):
    """How a gene-expression source combines several experiments."""

    MEAN = "mean"
    MAX = "max"


class BatchState(Option):
    """What happened to one render of a batch (not a scene option: the batch report's ``status``)."""

    PENDING = "pending"  #: not run yet
    RENDERED = "rendered"  #: written
    SKIPPED = "up to date"  #: its output is current (provenance matches), so not rendered again
    FAILED = "failed"  #: the render or write failed (exit 1)
    INVALID = "invalid"  #: the scene is invalid (exit 2)


#: Each named option set that mirrors the schema -> the schema ``enum`` pointers it equals.
SCHEMA_ENUMS: dict[type[Option], tuple[str, ...]] = {
    Shading: ("$defs/shading",),
    Projection: ("$defs/camera/properties/projection",),
    CameraPreset: ("$defs/camera/properties/preset",),
    CameraFrame: ("$defs/camera/properties/frame",),
    AntiAliasing: ("$defs/render/properties/anti_aliasing",),
    Translucency: ("$defs/render/properties/translucency",),
    Lighting: ("$defs/render/properties/lighting",),
    Easing: ("$defs/easing",),
    Direction: ("$defs/animation/properties/orbit/properties/axis",),
    Hemisphere: ("$defs/region_actor/properties/hemisphere", "$defs/label_actor/properties/hemisphere",
                 "$defs/heatmap_actor/properties/hemisphere"),
    Plane: ("$defs/cut_actor/properties/plane", "$defs/heatmap_actor/properties/section/oneOf/1/properties/plane"),
    CutKeep: ("$defs/cut_actor/properties/keep",),
    Corner: ("$defs/scale_bar_actor/properties/corner", "$defs/orientation_actor/properties/corner",
             "$defs/legend_actor/properties/corner"),
    ColorbarPosition: ("$defs/colorbar_actor/properties/position",),
    TitlePosition: ("$defs/title_actor/properties/position",),
    NeuronStyle: ("$defs/neuron_actor/properties/style",),
    VolumeMode: ("$defs/volume_actor/properties/mode",),
    LabelText: ("$defs/label_actor/properties/text",),
    LabelAnchor: ("$defs/label_actor/properties/anchor",),
    HeatmapOutlines: ("$defs/heatmap_actor/properties/outlines",),
    OrientationAxis: ("$defs/orientation_actor/properties/axes/items",),
    CellType: ("$defs/points_source/properties/cell_type",),
    GeneExpressionPlane: ("$defs/allen_gene_expression_source/properties/plane",),
    GeneExperiments: ("$defs/allen_gene_expression_source/properties/experiments",),
    GeneAggregate: ("$defs/allen_gene_expression_source/properties/aggregate",),
}
