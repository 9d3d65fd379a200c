"""Marks drawn flat over the 3-D image: title, legend, colour bar, scale bar,
orientation axes, region labels and panel letters.

They are drawn with matplotlib, over the raster of the 3-D scene, so a PNG,
a PDF and an SVG of one scene have the same fonts and the same layout, and
the PDF/SVG text is real text (fonts embedded in the PDF).

Layout adapts to the image: sizes given in the scene are for an image 1000
pixels on its short side and scale with the square root of the short side
(so thumbnails keep legible text and prints do not get huge letters);
everything keeps a margin from the edges; overlays in the same corner
stack; a colour bar along an edge takes the room between the corners; and
when the boxes would still overlap or leave the image, every overlay
shrinks until none does.
"""

from __future__ import annotations

import math
import unicodedata
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .camera import _frame, image_directions, scale_at_depth
from .errors import RenderError
from .options import Corner
from .plan import (ACTOR_PLANS, CameraPlan, ColorBarPlan, LabelsPlan, LegendPlan, LetterPlan,
                   OrientationPlan, ScaleBarPlan, ScenePlan, TitlePlan)

#: Plan kinds drawn here: those declaring ``DRAWN_AS = "painted"``.
PAINTED = tuple(t for t in ACTOR_PLANS if t.DRAWN_AS == "painted")
#: Sizes in the scene are for an image this many pixels on its short side.
REFERENCE_SHORT_SIDE = 1000.0
#: Free space at the image edges and between overlays, as a fraction of the short side.
MARGIN = 0.03
GAP = 0.015
#: matplotlib settings: real text, TrueType fonts embedded in PDFs, text kept as text in SVGs.
RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none", "font.family": "DejaVu Sans",
      "text.usetex": False, "mathtext.default": "regular"}
DPI = 72.0  # 1 point = 1 pixel


@contextmanager
def drawing():
    """matplotlib's settings for overlays; a character the font lacks is drawn as a box, silently."""
    # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
    import matplotlib

    with matplotlib.rc_context(RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support", category=UserWarning)
        yield


@dataclass
class Box:
    """A rectangle in image pixels, origin bottom-left."""

    x0: float
    y0: float
    x1: float
    y1: float
    name: str = ""

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, width: float, height: float) -> bool:
        return self.x0 >= 0 and self.y0 >= 0 and self.x1 <= width and self.y1 <= height


def text_scale(settings) -> float:
    """Factor from scene sizes to output pixels: ``scale`` times sqrt(short side / 1000)
    (``settings``: the plan's :class:`~scenerender.plan.RenderSettings`)."""
    scale = settings.scale
    short = min(settings.size) / scale
    return scale * math.sqrt(short / REFERENCE_SHORT_SIDE)


def project(camera: CameraPlan, points, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions (origin bottom-left) of world points, and whether each is in front of the camera."""
    width, height = size
    back, up, right = _frame(camera)
    rel = np.asarray(points, dtype=float).reshape(-1, 3) - np.asarray(camera.position)
    depth = -(rel @ back)
    x, y = rel @ right, rel @ up
    if camera.orthographic:
        half = camera.parallel_scale
        u, v = x / half, y / half
    else:
        tan_h = math.tan(math.radians(camera.effective_view_angle) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            u, v = x / (depth * tan_h), y / (depth * tan_h)
    return np.column_stack([width / 2 + u * height / 2, height / 2 + v * height / 2]), depth > 0


def ticks(vmin: float, vmax: float, n: int = 5) -> list[float]:
    """Round tick values inside ``vmin .. vmax`` (matplotlib's MaxNLocator), at least two."""
    # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
    from matplotlib.ticker import MaxNLocator

    lo, hi = min(vmin, vmax), max(vmin, vmax)
    for bins in (n, n + 2, n + 4):
        values = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
        span = (hi - lo) or 1.0
        inside = [float(v) for v in values if lo - 1e-9 * span <= v <= hi + 1e-9 * span]
        if len(inside) >= 2:
            return [0.0 if abs(v) < 1e-12 * span else v for v in inside]
    return [lo, hi]


def tick_text(value: float, step: float) -> str:
    """A tick's text with as many decimals as the tick step needs (a true minus sign)."""
    decimals = max(0, -int(math.floor(math.log10(abs(step)) + 1e-9))) if step else 0
    if abs(value) >= 1e5 or (value and abs(value) < 1e-4):
        text = f"{value:.{max(0, decimals - int(math.floor(math.log10(abs(value)))))}e}"
    else:
        text = f"{value:.{decimals}f}"
    return text.replace("-", "\u2212")


class _Measure:
    """Text extents in pixels from matplotlib's own renderer."""

    def __init__(self):
        # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
        from matplotlib.backends.backend_agg import RendererAgg

        self.renderer = RendererAgg(16, 16, DPI)
        self._cache: dict = {}

    def __call__(self, text: str, size: float, *, bold: bool = False) -> tuple[float, float]:
        text = clean(text)
        key = (text, round(size, 2), bold)
        if key not in self._cache:
            # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
            from matplotlib.font_manager import FontProperties

            props = FontProperties(family=str(RC["font.family"]), size=size, weight="bold" if bold else "normal")
            lines = text.split("\n")
            widths, heights = [], []
            for line in lines:
                w, h, d = self.renderer.get_text_width_height_descent(line or " ", props, ismath=False)
                widths.append(w)
                heights.append(h)
            _, line_h, _ = self.renderer.get_text_width_height_descent("Ag", props, ismath=False)
            self._cache[key] = (max(widths), line_h * (1.2 * (len(lines) - 1) + 1))
        return self._cache[key]


def _wrap(text: str, measure, size: float, max_width: float) -> str:
    """``text`` broken at spaces into lines no wider than ``max_width`` (if it can be)."""
    if measure(text, size)[0] <= max_width or " " not in text:
        return text
    words, lines = text.split(" "), []
    line = words[0]
    for word in words[1:]:
        if measure(f"{line} {word}", size)[0] <= max_width:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return "\n".join(lines)


@dataclass
class Placed:
    """One overlay with its box and what drawing it needs."""

    index: int
    plan: Any  # one of the overlay plans (DRAW's keys)
    box: Box
    size: float
    extra: dict


class OverlayLayout:
    """Where each overlay of a plan goes, for a camera (scale bars and axes follow it)."""

    def __init__(self, actors, settings):
        self.settings = settings
        self.size = settings.size
        self.measure = _Measure()
        self.overlays = [(i, a) for i, a in enumerate(actors) if isinstance(a, PAINTED)]

    def place(self, camera: CameraPlan | None, visible: set[int] | None = None) -> list[Placed]:
        """Boxes for the visible overlays, shrunk until none overlaps another or the image edge.

        Without a camera, scale bars are placed by their text alone (for :func:`free_rect`).
        """
        factor = text_scale(self.settings)
        placed = []
        for _ in range(12):
            placed = self._place(camera, visible, factor)
            boxes = [p.box for p in placed if not isinstance(p.plan, LabelsPlan)]
            if all(b.inside(*self.size) for b in boxes) and not any(
                    a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:]):
                break
            factor *= 0.85
        return placed

    def _place(self, camera: CameraPlan | None, visible, factor: float) -> list[Placed]:
        width, height = self.size
        short = min(width, height)
        margin, gap = MARGIN * short, GAP * short
        shown = [(i, a) for i, a in self.overlays if visible is None or i in visible]
        placed: list[Placed] = []
        top, bottom = height - margin, margin  # free band between titles
        for index, plan in shown:
            if isinstance(plan, TitlePlan):
                size = plan.size * factor
                text = _wrap(plan.text, self.measure, size, width - 2 * margin)
                w, h = self.measure(text, size)
                if plan.position == "top":
                    box = Box(width / 2 - w / 2, top - h, width / 2 + w / 2, top, "title")
                    top = box.y0 - gap
                else:
                    box = Box(width / 2 - w / 2, bottom, width / 2 + w / 2, bottom + h, "title")
                    bottom = box.y1 + gap
                placed.append(Placed(index, plan, box, size, {"text": text}))
        # Corner items stack away from their corner, in scene order (a panel letter first).
        stacks = {corner: (top if corner.startswith("top") else bottom)
                  for corner in Corner}
        corner_items = sorted(((i, a) for i, a in shown if isinstance(a, (LetterPlan, LegendPlan, ScaleBarPlan,
                                                                          OrientationPlan))),
                              key=lambda pair: not isinstance(pair[1], LetterPlan))
        for index, plan in corner_items:
            corner = Corner.TOP_LEFT if isinstance(plan, LetterPlan) else Corner(plan.corner)
            w, h, extra, size = self._corner_size(plan, camera, factor)
            x0 = margin if corner.endswith("left") else width - margin - w
            if corner.startswith("top"):
                box = Box(x0, stacks[corner] - h, x0 + w, stacks[corner], type(plan).__name__)
                stacks[corner] = box.y0 - gap
            else:
                box = Box(x0, stacks[corner], x0 + w, stacks[corner] + h, type(plan).__name__)
                stacks[corner] = box.y1 + gap
            placed.append(Placed(index, plan, box, size, extra))
        for index, plan in shown:
            if isinstance(plan, ColorBarPlan):
                placed.append(self._colorbar(index, plan, factor, stacks, top, bottom, margin, placed))
            elif isinstance(plan, LabelsPlan):
                placed.append(Placed(index, plan, Box(0, 0, 0, 0, "labels"), plan.size * factor, {}))
        return placed

    def _corner_size(self, plan, camera: CameraPlan | None, factor: float):
        size = plan.size * factor
        if isinstance(plan, LetterPlan):  # sized by the panel layout for the whole figure, not the cell
            size = plan.size * self.settings.scale * factor / text_scale(self.settings)
            w, h = self.measure(plan.text, size, bold=True)
            return w, h, {}, size
        if isinstance(plan, LegendPlan):
            row = 1.45 * size
            text_w = max(self.measure(text, size)[0] for text, _ in plan.entries)
            pad = 0.4 * size if plan.background is not None else 0.0
            return text_w + 1.6 * size + 2 * pad, len(plan.entries) * row + 2 * pad, {"row": row, "pad": pad}, size
        if isinstance(plan, ScaleBarPlan):
            length = 0.0 if camera is None else plan.length * scale_at_depth(camera, self.size[1], plan.at)
            if not np.isfinite(length):
                raise RenderError(f"{plan.name}: its depth point 'at' is behind the camera; no length is true there")
            tw, th = self.measure(plan.text, size)
            thick = max(2.0, size / 4)
            return max(length, tw), th + 0.35 * size + thick, {"length": length, "thick": thick}, size
        # orientation: arms of ``length`` (scaled like the text) and a label beyond each
        length = plan.length * factor
        tw = max(self.measure(text, size)[0] for _, text in plan.labels)
        th = self.measure("A", size)[1]
        reach = length + 0.6 * size + max(tw, th) / 2 + 0.3 * size
        return 2 * reach, 2 * reach, {"length": length, "reach": reach}, size

    def _colorbar(self, index: int, plan: ColorBarPlan, factor: float, stacks: dict, top: float, bottom: float,
                  margin: float, placed: list) -> Placed:
        width, height = self.size
        short = min(width, height)
        gap = GAP * short
        size = plan.size * factor
        mapping = plan.mapping
        values = ticks(mapping.vmin, mapping.vmax)
        step = values[1] - values[0] if len(values) > 1 else 0.0
        labels = [tick_text(v, step) for v in values]
        label_w = max(self.measure(t, size)[0] for t in labels)
        label_h = self.measure("0", size)[1]
        thick = max(6.0, 1.1 * size)
        tick_len = 0.3 * size
        missing = getattr(mapping, "missing", None)
        missing_text = "no value"
        vertical = plan.position in ("left", "right")
        if vertical:
            side = plan.position
            hi = stacks[f"top_{side}"]
            lo = stacks[f"bottom_{side}"]
            col_w = thick + tick_len + 0.2 * size + label_w
            title = _wrap(plan.title, self.measure, size, max(col_w, 0.18 * width)) if plan.title else ""
            title_w, title_h = self.measure(title, size) if title else (0.0, 0.0)
            miss_h = 1.5 * size if missing is not None else 0.0
            miss_w = thick + 0.4 * size + self.measure(missing_text, size)[0] if missing is not None else 0.0
            extra_h = (title_h + 0.6 * size if title else 0.0) + label_h + miss_h
            bar_len = max(min((hi - lo) - extra_h, 0.55 * height), 2 * label_h)
            box_h = bar_len + extra_h
            column = max(col_w, miss_w)
            box_w = max(column, title_w)
            y0 = lo + max(0.0, ((hi - lo) - box_h) / 2)
            x0 = margin if side == "left" else width - margin - box_w
            box = Box(x0, y0, x0 + box_w, y0 + box_h, "colorbar")
            bar_x = x0 if side == "left" else x0 + box_w - column
            bar = Box(bar_x, y0 + miss_h + label_h / 2, bar_x + thick, y0 + miss_h + label_h / 2 + bar_len)
        else:
            side = plan.position
            lo_x, hi_x = margin, width - margin
            title = plan.title or ""
            title_w, title_h = self.measure(title, size) if title else (0.0, 0.0)
            miss_w = thick + 0.4 * size + self.measure(missing_text, size)[0] + size if missing is not None else 0.0
            bar_len = max(min(0.5 * width, (hi_x - lo_x) - miss_w - label_w), 4 * label_w)
            box_w = max(bar_len + label_w + miss_w, title_w)
            box_h = (title_h + 0.4 * size if title else 0.0) + thick + tick_len + 0.2 * size + label_h
            x0 = width / 2 - box_w / 2
            y0 = bottom if side == "bottom" else top - box_h
            box = Box(x0, y0, x0 + box_w, y0 + box_h, "colorbar")
            corners = [p.box for p in placed if p.box.name != "title" and p.box.overlaps(box)]
            if corners:  # clear of the corner overlays on this edge: above (or below) them
                y0 = max(b.y1 for b in corners) + gap if side == "bottom" else min(b.y0 for b in corners) - gap - box_h
                box = Box(x0, y0, x0 + box_w, y0 + box_h, "colorbar")
            bar_x0 = x0 + (box_w - bar_len - miss_w) / 2
            bar_y0 = y0 + tick_len + 0.2 * size + label_h
            bar = Box(bar_x0, bar_y0, bar_x0 + bar_len, bar_y0 + thick)
        return Placed(index, plan, box, size, {"bar": bar, "values": values, "labels": labels, "title": title,
                                               "vertical": vertical, "tick_len": tick_len, "missing": missing,
                                               "missing_text": missing_text, "thick": thick})


def free_rect(actors, settings) -> tuple[float, float, float, float]:
    """The part of the image (left, right, bottom, top as fractions) that titles and
    colour bars along the edges leave free, for camera presets to frame the 3-D scene in.
    Corner overlays (legend, axes, scale bar) are not reserved: they sit in corners the
    brain's outline rarely fills."""
    layout = OverlayLayout(actors, settings)
    width, height = settings.size
    left, right, bottom, top = 0.0, float(width), 0.0, float(height)
    with drawing():
        placed = layout.place(None)
    for item in placed:
        box = item.box
        if isinstance(item.plan, TitlePlan) or (isinstance(item.plan, ColorBarPlan)
                                                 and item.plan.position in ("top", "bottom")):
            if (box.y0 + box.y1) / 2 > height / 2:
                top = min(top, box.y0)
            else:
                bottom = max(bottom, box.y1)
        elif isinstance(item.plan, ColorBarPlan):
            if item.plan.position == "right":
                right = min(right, box.x0)
            else:
                left = max(left, box.x1)
    if right - left < 0.3 * width or top - bottom < 0.3 * height:
        return (0.0, 1.0, 0.0, 1.0)
    return (left / width, right / width, bottom / height, top / height)


class OverlayPainter:
    """Draws a plan's overlays into a matplotlib figure, or composites them over an image."""

    def __init__(self, plan: ScenePlan):
        self.plan = plan
        self.layout = OverlayLayout(plan.actors, plan.render)
        self._cache: dict = {}

    @property
    def empty(self) -> bool:
        return not self.layout.overlays

    def figure(self, image: np.ndarray | None = None):
        """A matplotlib figure the size of the image (1 pt = 1 px) and axes in pixel coordinates."""
        # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
        from matplotlib.figure import Figure

        width, height = self.plan.render.size
        fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        fig.patch.set_alpha(0.0)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        ax.set_axis_off()
        ax.patch.set_alpha(0.0)
        if image is not None:
            ax.imshow(image, extent=(0, width, 0, height), interpolation="none", aspect="auto", zorder=0)
        return fig, ax

    def draw(self, ax, camera: CameraPlan, visible: set[int] | None, image: np.ndarray | None,
             items: list[Placed] | None = None) -> list[Placed]:
        """Draw the visible overlays (or the placed ``items``) on ``ax``; returns where each went."""
        with drawing():
            placed = self.layout.place(camera, visible) if items is None else items
            for item in placed:
                DRAW[type(item.plan)](ax, item, camera=camera, size=self.plan.render.size, image=image)
        return placed

    def boxes(self, camera: CameraPlan | None = None, visible: set[int] | None = None) -> list[Box]:
        """The layout's boxes (for checks): one per overlay other than 3-D-anchored labels."""
        with drawing():
            placed = self.layout.place(camera or self.plan.camera, visible)
        return [p.box for p in placed if not isinstance(p.plan, LabelsPlan)]

    def _layer(self, items: list[Placed], camera: CameraPlan, image: np.ndarray | None):
        """(RGBA layer, the slices of its drawn part) of ``items`` drawn alone."""
        # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        with drawing():
            fig, ax = self.figure()
            canvas = FigureCanvasAgg(fig)
            self.draw(ax, camera, None, image, items=items)
            canvas.draw()
            layer = np.asarray(canvas.buffer_rgba())
        rows, cols = np.nonzero(layer[..., 3])
        if len(rows) == 0:
            return None
        window = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        return layer[window].copy(), window

    def composite(self, image: np.ndarray, camera: CameraPlan, visible: set[int] | None) -> np.ndarray:
        """``image`` with the visible overlays drawn over it.

        Overlays that do not follow the camera (title, legend, colour bar, letters) are drawn
        once and reused while their layout stays; scale bars, axes and labels every frame."""
        shown = [i for i, _ in self.layout.overlays if visible is None or i in visible]
        if not shown:
            return image
        with drawing():
            placed = self.layout.place(camera, visible)
        moving = [p for p in placed if isinstance(p.plan, (ScaleBarPlan, OrientationPlan, LabelsPlan))]
        still = [p for p in placed if not isinstance(p.plan, (ScaleBarPlan, OrientationPlan, LabelsPlan))]
        out = image
        if still:
            key = tuple((p.index, round(p.box.x0, 2), round(p.box.y0, 2), round(p.size, 3)) for p in still)
            if key not in self._cache:
                self._cache = {key: self._layer(still, camera, image)}  # the last one: frames share it
            out = _over_window(self._cache[key], out)
        if moving:
            out = _over_window(self._layer(moving, camera, image), out)
        return out


def _over_window(layer, image: np.ndarray) -> np.ndarray:
    """``image`` with a layer's drawn window composited over it (a copy; ``image`` is kept)."""
    if layer is None:
        return image
    pixels, window = layer
    out = image.copy()
    out[window] = over(pixels, image[window])
    return out


def over(layer: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Straight-alpha ``layer`` (RGBA) composited over ``image`` (RGB, or straight-alpha RGBA)."""
    a = layer[..., 3:4].astype(np.float32) / 255.0
    top = layer[..., :3].astype(np.float32)
    below = image[..., :3].astype(np.float32)
    if image.shape[-1] == 3:
        rgb = top * a + below * (1 - a)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    b = image[..., 3:4].astype(np.float32) / 255.0
    out_a = a + b * (1 - a)
    rgb = (top * a + below * b * (1 - a)) / np.maximum(out_a, 1e-6)
    out = np.concatenate([rgb, out_a * 255.0], axis=-1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def clean(text: str) -> str:
    """Text as drawn: control characters dropped (line breaks kept); never parsed as math."""
    return "".join(c for c in str(text) if c == "\n" or unicodedata.category(c)[0] != "C")


def _text(ax, x, y, text, item: Placed, *, color=None, ha="left", va="baseline", bold=False, **kw):
    plan = item.plan
    return ax.text(x, y, clean(text), fontsize=item.size, color=plan.color if color is None else color,
                   alpha=plan.alpha, ha=ha, va=va, fontweight="bold" if bold else "normal", parse_math=False, **kw)


def _draw_title(ax, item: Placed, **_):
    box = item.box
    _text(ax, (box.x0 + box.x1) / 2, box.y1, item.extra["text"], item, ha="center", va="top",
          multialignment="center", linespacing=1.2)


def _draw_letter(ax, item: Placed, **_):
    _text(ax, item.box.x0, item.box.y1, item.plan.text, item, ha="left", va="top", bold=True)


def _draw_legend(ax, item: Placed, **_):
    # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
    from matplotlib.patches import Rectangle

    plan, box, size = item.plan, item.box, item.size
    pad, row = item.extra["pad"], item.extra["row"]
    if plan.background is not None:
        ax.add_patch(Rectangle((box.x0, box.y0), box.w, box.h, facecolor=plan.background, edgecolor="none",
                               alpha=plan.alpha))
    for k, (text, rgb) in enumerate(plan.entries):
        centre = box.y1 - pad - (k + 0.5) * row
        ax.add_patch(Rectangle((box.x0 + pad, centre - size / 2), size, size, facecolor=rgb,
                               edgecolor=(0.3, 0.3, 0.3), linewidth=max(0.5, size / 24), alpha=plan.alpha))
        _text(ax, box.x0 + pad + 1.6 * size, centre, text, item, va="center_baseline")


def _draw_scale_bar(ax, item: Placed, **_):
    # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
    from matplotlib.patches import Rectangle

    plan, box = item.plan, item.box
    length, thick = item.extra["length"], item.extra["thick"]
    right = plan.corner.endswith("right")
    x0 = box.x1 - length if right else box.x0
    ax.add_patch(Rectangle((x0, box.y0), length, thick, facecolor=plan.color, edgecolor="none", alpha=plan.alpha))
    _text(ax, x0 + length / 2, box.y1, plan.text, item, ha="center", va="top")


def _draw_orientation(ax, item: Placed, camera: CameraPlan, **_):
    plan, box, size = item.plan, item.box, item.size
    length = item.extra["length"]
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    directions = image_directions(camera)
    for name, text in plan.labels:
        dx, dy = directions[name]
        ax.plot([cx, cx + dx * length], [cy, cy + dy * length], color=plan.color, alpha=plan.alpha,
                linewidth=max(1.0, size / 10), solid_capstyle="round")
        norm = math.hypot(dx, dy)
        if norm >= 0.3:  # an arm along the line of sight: no label
            pad = length * norm + 0.6 * size
            _text(ax, cx + dx / norm * pad + dx / norm * size * 0.3, cy + dy / norm * pad + dy / norm * size * 0.3,
                  text, item, ha="center", va="center")


def _draw_colorbar(ax, item: Placed, **_):
    # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
    from matplotlib.patches import Rectangle

    plan, size, extra = item.plan, item.size, item.extra
    bar: Box = extra["bar"]
    mapping = plan.mapping
    # Linear in value (ticks evenly spaced): a centred, two-slope map shows its two slopes.
    colors = mapping.colors(np.linspace(mapping.vmin, mapping.vmax, 256))
    vertical = extra["vertical"]
    strip = colors[::-1, None, :] if vertical else colors[None, :, :]
    ax.imshow(strip, extent=(bar.x0, bar.x1, bar.y0, bar.y1), interpolation="bilinear", aspect="auto",
              alpha=plan.alpha, zorder=2)
    ax.add_patch(Rectangle((bar.x0, bar.y0), bar.w, bar.h, fill=False, edgecolor=plan.color,
                           linewidth=max(0.6, size / 20), alpha=plan.alpha, zorder=3))
    tick_len = extra["tick_len"]
    for value, text in zip(extra["values"], extra["labels"]):
        where = (value - mapping.vmin) / ((mapping.vmax - mapping.vmin) or 1.0)
        if vertical:
            y = bar.y0 + where * bar.h
            if plan.position == "right":
                ax.plot([bar.x1, bar.x1 + tick_len], [y, y], color=plan.color, alpha=plan.alpha,
                        linewidth=max(0.6, size / 20))
                _text(ax, bar.x1 + tick_len + 0.2 * size, y, text, item, va="center_baseline")
            else:
                ax.plot([bar.x1, bar.x1 + tick_len], [y, y], color=plan.color, alpha=plan.alpha,
                        linewidth=max(0.6, size / 20))
                _text(ax, bar.x1 + tick_len + 0.2 * size, y, text, item, va="center_baseline")
        else:
            x = bar.x0 + where * bar.w
            ax.plot([x, x], [bar.y0, bar.y0 - tick_len], color=plan.color, alpha=plan.alpha,
                    linewidth=max(0.6, size / 20))
            _text(ax, x, bar.y0 - tick_len - 0.2 * size, text, item, ha="center", va="top")
    if extra["title"]:
        box = item.box
        if vertical:
            ha = "right" if plan.position == "right" else "left"
            _text(ax, box.x1 if ha == "right" else box.x0, box.y1, extra["title"], item, ha=ha, va="top",
                  multialignment=ha, linespacing=1.2)
        else:
            _text(ax, (bar.x0 + bar.x1) / 2, box.y1, extra["title"], item, ha="center", va="top")
    if extra["missing"] is not None:
        box = item.box
        if vertical:
            x, y = bar.x0, box.y0
        else:
            x, y = bar.x1 + size, bar.y0
        ax.add_patch(Rectangle((x, y), extra["thick"], size, facecolor=extra["missing"], edgecolor=plan.color,
                               linewidth=max(0.6, size / 20), alpha=plan.alpha))
        _text(ax, x + extra["thick"] + 0.4 * size, y + size / 2, extra["missing_text"], item, va="center_baseline")


def _draw_labels(ax, item: Placed, camera: CameraPlan, size, image: np.ndarray | None, **_):
    plan = item.plan
    xy, front = project(camera, plan.points, size)
    for (x, y), ok, text in zip(xy, front, plan.texts):
        if not ok or not np.isfinite([x, y]).all():
            continue
        color = plan.color if plan.color is not None else contrast_color(image, x, y, item.size)
        # (no halo: matplotlib's path effects would turn the text into paths in a PDF or SVG)
        _text(ax, x, y, text, item, color=color, ha="center", va="center")


def luminance(rgb) -> float:
    """Relative luminance (WCAG) of an RGB colour in 0-1."""
    c = np.asarray(rgb, dtype=float)[:3]
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def contrast_color(image: np.ndarray | None, x: float, y: float, size: float) -> tuple[float, float, float]:
    """Black or white, whichever reads better against the image around (x, y) (origin bottom-left)."""
    if image is None:
        return (0.0, 0.0, 0.0)
    height, width = image.shape[:2]
    r = max(2, int(size))
    row = int(round(height - 1 - y))
    col = int(round(x))
    patch = image[max(0, row - r // 2):max(0, row + r // 2 + 1), max(0, col - r):max(0, col + r + 1)]
    if patch.size == 0:
        return (0.0, 0.0, 0.0)
    rgb = patch[..., :3].reshape(-1, 3).astype(float) / 255.0
    if image.shape[-1] == 4:  # transparent pixels: assume a white page
        a = patch[..., 3].reshape(-1, 1).astype(float) / 255.0
        rgb = rgb * a + (1 - a)
    background = luminance(rgb.mean(axis=0))
    # WCAG contrast ratio against black and against white
    return (0.0, 0.0, 0.0) if (background + 0.05) / 0.05 >= 1.05 / (background + 0.05) else (1.0, 1.0, 1.0)


DRAW: dict[type, Callable[..., Any]] = {TitlePlan: _draw_title, LetterPlan: _draw_letter, LegendPlan: _draw_legend, ScaleBarPlan: _draw_scale_bar,
        OrientationPlan: _draw_orientation, ColorBarPlan: _draw_colorbar, LabelsPlan: _draw_labels}
