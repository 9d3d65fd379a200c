"""Publication-grade defaults: framing, overlay layout, colour bars, vector outputs, loops."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest
import yaml
from conftest import SCENES

import scenerender
from scenerender.document import read_scene
from scenerender.sweep import expand_sweep, has_sweep

SCENE_FILES = sorted(SCENES.glob("*.yaml"))


from test_scenes import needs_scene_data  # noqa: E402


def _still_preset_scenes():
    out = []
    for path in SCENE_FILES:
        data = yaml.safe_load(path.read_text())
        camera = data.get("camera") or {}
        if "animation" in data or "panels" in data or "position" in camera or camera.get("zoom", 1) != 1:
            continue  # videos, multi-panel figures, explicit cameras and zoomed views frame themselves
        out.append(path)
    return out


def _load(path):
    doc = read_scene(path)
    return scenerender.load_scene(doc, item=expand_sweep(doc)[0].name if has_sweep(doc) else None)


def _three_d_only(plan):
    """(the plan on a transparent background, the states that hide every flat overlay)."""
    from scenerender.overlays import PAINTED

    plan = replace(plan, render=replace(plan.render, background=None, anti_aliasing="none"))
    hidden = {i: {"visible": False} for i, actor in enumerate(plan.actors) if isinstance(actor, PAINTED)}
    return plan, hidden


# -- framing ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", _still_preset_scenes(), ids=lambda p: p.stem)
def test_preset_frames_the_visible_actors_inside_the_image(path, request):
    """Measured on the rendered pixels: what the 3-D actors draw touches no image edge and
    fills at least 70% of the limiting dimension."""
    from scenerender.renderer import FrameRenderer

    needs_scene_data(path, request)
    size = (320, 240)
    plan, hidden = _three_d_only(scenerender.compile_scene(_load(path), size=size, scale=1))
    with FrameRenderer(plan) as renderer:
        image = renderer.draw(states=hidden)
    rows, cols = np.nonzero(image[..., 3] > 0)
    assert len(rows), "nothing drawn"
    assert rows.min() > 0 and cols.min() > 0 and rows.max() < size[1] - 1 and cols.max() < size[0] - 1, \
        f"cut at the image edge: rows {rows.min()}..{rows.max()}, columns {cols.min()}..{cols.max()} of {size}"
    fill = max((cols.max() - cols.min() + 1) / size[0], (rows.max() - rows.min() + 1) / size[1])
    assert fill >= 0.7, f"fills only {fill:.0%} of the limiting dimension"


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_framing_fits_a_small_region_alone_with_the_same_margin(projection):
    """A region alone is framed, not the whole brain, with the same margin under both projections."""
    from scenerender.renderer import FrameRenderer

    size = (300, 200)
    spec = {"version": 1, "actors": [{"kind": "region", "regions": "TH"}],
            "camera": {"preset": "sagittal", "projection": projection},
            "render": {"size": list(size), "background": "transparent", "anti_aliasing": "none"}}
    with FrameRenderer(scenerender.compile_scene(spec)) as renderer:
        image = renderer.draw()
    rows, cols = np.nonzero(image[..., 3] > 0)
    margins = [rows.min(), size[1] - 1 - rows.max(), cols.min(), size[0] - 1 - cols.max()]
    # the limiting side's margins are 4% of the short side (8 px here), within a pixel or two
    assert min(margins) >= 5 and sorted(margins)[1] <= 11, margins


# -- overlay layout -----------------------------------------------------------------------------------

def _overlay_pixel_boxes(plan):
    """Each flat overlay drawn alone on an empty image: the box of its drawn pixels (x0, y0, x1, y1)."""
    from scenerender.overlays import PAINTED, OverlayPainter

    painter = OverlayPainter(plan)
    width, height = plan.render.size
    empty = np.zeros((height, width, 4), dtype=np.uint8)
    boxes = {}
    for index, actor in enumerate(plan.actors):
        if not isinstance(actor, PAINTED):
            continue
        layer = painter.composite(empty, plan.camera, {index})
        rows, cols = np.nonzero(layer[..., 3] > 0)
        assert len(rows), f"{actor.name} drew nothing"
        boxes[f"{actor.name} #{index}"] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    return boxes


@pytest.mark.parametrize("size, scale", [((480, 360), 1), ((1600, 1200), 1), ((480, 360), 4)],
                         ids=["480x360", "1600x1200", "480x360@4x"])
@pytest.mark.parametrize("name", ["figure_overlays", "labelled_figure", "print_figure", "heatmap_section"])
def test_overlays_neither_overlap_nor_leave_the_image(name, size, scale):
    plan = scenerender.compile_scene(SCENES / f"{name}.yaml", size=size, scale=scale)
    boxes = _overlay_pixel_boxes(plan)
    width, height = plan.render.size
    names = list(boxes)
    for k, a in enumerate(names):
        x0, y0, x1, y1 = boxes[a]
        assert x0 > 0 and y0 > 0 and x1 < width and y1 < height, f"{a} is cut by the image edge: {boxes[a]}"
        for b in names[k + 1:]:
            u0, v0, u1, v1 = boxes[b]
            assert not (x0 < u1 and u0 < x1 and y0 < v1 and v0 < y1), f"{a} {boxes[a]} overlaps {b} {boxes[b]}"


# -- colour bars ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("vmin, vmax", [(0, 30.1), (-1.3, 2.7), (0.0012, 0.0071), (12, 5000)])
def test_colorbar_ticks_are_round_numbers_inside_the_range(vmin, vmax):
    from scenerender.overlays import tick_text, ticks

    values = ticks(vmin, vmax)
    assert 2 <= len(values) <= 7
    assert all(vmin <= v <= vmax for v in values)
    steps = np.diff(values)
    assert np.allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    assert any(np.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), steps[0]
    for value in values:  # each tick a whole multiple of the step, and printed exactly
        assert np.isclose(value / steps[0], round(value / steps[0]))
        assert float(tick_text(value, steps[0]).replace("\u2212", "-")) == pytest.approx(value, abs=1e-12)


def test_heatmap_gets_a_colour_bar_with_a_no_value_swatch_by_default():
    from scenerender.plan import ColorBarPlan

    spec = {"version": 1, "actors": [{"kind": "heatmap", "values": {"TH": 1.0, "CB": 3.0, "MOs": None}}],
            "render": {"size": [200, 150]}}
    bars = [a for a in scenerender.compile_scene(spec).actors if isinstance(a, ColorBarPlan)]
    assert len(bars) == 1 and bars[0].mapping.missing is not None
    spec["actors"][0]["colorbar"] = False
    assert not [a for a in scenerender.compile_scene(spec).actors if isinstance(a, ColorBarPlan)]


# -- vector outputs -------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="pdffonts/pdftotext (poppler-utils) are not installed")
def test_pdf_text_is_real_text_with_embedded_fonts(tmp_path):
    spec = yaml.safe_load((SCENES / "figure_overlays.yaml").read_text())
    spec["render"]["size"] = [480, 360]
    spec["actors"].append({"kind": "scale_bar", "length": 500, "corner": "bottom_right"})
    pdf = tmp_path / "figure.pdf"
    scenerender.render(spec, pdf)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
    rows = fonts[2:]
    assert rows, "the PDF has no fonts: its text is not text"
    assert all(row.split()[-5] == "yes" for row in rows), fonts  # the 'emb' column
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "mm³" in text and "500 µm" in text and "Cell density, mouse brain" in text, text


def test_svg_text_is_text(tmp_path):
    spec = yaml.safe_load((SCENES / "figure_overlays.yaml").read_text())
    spec["render"]["size"] = [480, 360]
    scenerender.render(spec, tmp_path / "figure.svg")
    svg = (tmp_path / "figure.svg").read_text(encoding="utf-8")
    assert "<text" in svg and "Cell density, mouse brain" in svg and "mm³" in svg
    assert "<image" in svg  # the 3-D scene, as rendered, underneath


# -- loops ------------------------------------------------------------------------------------------------

def _turn(a, b, focal) -> float:
    u, v = np.subtract(a, focal), np.subtract(b, focal)
    return float(np.degrees(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1))))


def test_full_orbit_loops_without_repeating_its_first_frame(tmp_path):
    import imageio.v3 as iio

    spec = {"version": 1, "actors": [{"kind": "root"}, {"kind": "region", "regions": "CB", "color": "red"}],
            "camera": {"preset": "sagittal"}, "render": {"size": [80, 60], "anti_aliasing": "none"},
            "animation": {"fps": 12, "duration": 1, "orbit": {"degrees": 360, "axis": "superior"}}}
    timeline = scenerender.compile_scene(spec).timeline
    assert timeline.n_frames == 12  # frames 0..11; frame 12 would be frame 0 again
    cams = [timeline.camera_at(timeline.time_of(i)) for i in range(12)]
    focal = cams[0].focal_point
    steps = [_turn(a.position, b.position, focal) for a, b in zip(cams, cams[1:] + cams[:1])]
    assert np.allclose(steps, 30.0, atol=1e-6), steps  # the step from the last back to the first is one step too
    frames = tmp_path / "frames"
    scenerender.render_video(spec, frames)
    images = [iio.imread(p).astype(int) for p in sorted(frames.glob("*.png"))]
    assert len(images) == 12
    assert np.abs(images[-1] - images[0]).sum() > 0  # the last frame is not the first again
    # a half turn still ends on its last frame
    spec["animation"]["orbit"]["degrees"] = 180
    assert scenerender.compile_scene(spec).timeline.n_frames == 13


# -- 3-D exports ----------------------------------------------------------------------------------------

def test_glb_nodes_carry_region_names(tmp_path):
    import pygltflib

    spec = {"version": 1, "actors": [{"kind": "root", "alpha": 0.2},
                                     {"kind": "region", "regions": ["TH", "CB"]},
                                     {"kind": "region", "id": "hippocampus", "regions": "HIP", "hemisphere": "left"}],
            "render": {"size": [160, 120]}}
    scenerender.render(spec, tmp_path / "brain.glb")
    gltf = pygltflib.GLTF2().load_binary(str(tmp_path / "brain.glb"))
    names = {node.name for node in gltf.nodes if node.mesh is not None}
    assert names == {"root", "region TH", "region CB", "hippocampus: region HIP (left)"}, names


def _html_scene(path):
    import base64
    import io
    import json
    import re
    import zipfile

    archive = re.findall(r'"(UEsDB[A-Za-z0-9+/=]+)"', path.read_text(encoding="utf-8"))
    assert len(archive) == 1
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(archive[0]))) as zfile:
        return json.loads(zfile.read("index.json"))["scene"]


def _mappers(node):
    if isinstance(node, dict):
        if node.get("type") in ("vtkMapper", "vtkOpenGLPolyDataMapper", "vtkCompositePolyDataMapper2",
                                "vtkPolyDataMapper", "vtkCompositePolyDataMapper"):
            yield node
        for value in node.values():
            yield from _mappers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mappers(value)


@pytest.mark.parametrize("section", [False, True], ids=["3d", "section"])
def test_html_colour_range_is_the_data_range(tmp_path, section):
    values = {"TH": 2.5, "CP": 30.1, "CB": 20.4}
    heatmap = {"kind": "heatmap", "values": values}
    if section:
        heatmap["section"] = {"plane": "frontal", "position": 6000}
    spec = {"version": 1, "actors": [heatmap], "render": {"size": [160, 120]}}
    scenerender.render(spec, tmp_path / "heat.html")
    ranges = [tuple(m["properties"]["scalarRange"]) for m in _mappers(_html_scene(tmp_path / "heat.html"))
              if "scalarRange" in m.get("properties", {})]
    assert ranges, "no mapper in the exported scene"
    fills = ranges[:1] if section else ranges  # a section's outlines are plain lines
    assert all(r == pytest.approx((min(values.values()), max(values.values()))) for r in fills), ranges


# -- section heatmaps -----------------------------------------------------------------------------------

SLICE = 60  # a frontal section through thalamus, caudoputamen and motor cortex in the 100 um atlas


def _project(camera, size, world):
    """Pixel (column, row) of world points for an orthographic camera (written here, not scenerender's)."""
    width, height = size
    position, focal = np.asarray(camera.position), np.asarray(camera.focal_point)
    back = (position - focal) / np.linalg.norm(position - focal)
    up = np.asarray(camera.view_up) - back * np.dot(camera.view_up, back)
    up /= np.linalg.norm(up)
    right = np.cross(up, back)
    scale = (height / 2) / camera.parallel_scale
    d = world - focal
    return np.column_stack([width / 2 + d @ right * scale, height / 2 - d @ up * scale])


@pytest.mark.parametrize("outlines", ["smooth", "voxel"])
def test_section_fills_agree_with_the_annotation_slice(outlines):
    """Per valued region: the cells of the annotation slice against the cells whose centre the
    rendered fill covers, IoU >= 0.9."""
    import matplotlib

    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
    from scenerender.spaces import atlas_to_world

    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))
    values = {"TH": 0.0, "CP": 1.0, "MO": 0.5}
    size = (900, 600)
    spec = {"version": 1, "actors": [{"kind": "heatmap", "values": values, "cmap": "viridis", "vmin": 0, "vmax": 1,
                                      "missing_color": [255, 0, 255], "outline_color": None, "colorbar": False,
                                      "outlines": outlines,
                                      # through the middle of voxel plane SLICE ([SLICE, SLICE + 1) x 100 um)
                                      "section": {"plane": "frontal", "position": (SLICE + 0.5) * 100.0}}],
            "camera": {"preset": "frontal", "projection": "orthographic"},
            "render": {"size": list(size), "anti_aliasing": "none", "background": "white"}}
    plan = scenerender.compile_scene(spec)
    image = scenerender.render(plan).astype(int)
    ids = np.asarray(atlas.bg.annotation[SLICE])
    j, k = np.indices(ids.shape)
    # voxel j covers [j, j + 1) x 100 um: its centre is at (j + 1/2) x 100
    centres = np.column_stack([np.full(ids.size, SLICE * 100.0), (j.ravel() + 0.5) * 100.0,
                               (k.ravel() + 0.5) * 100.0])
    cols, rows = np.floor(_project(plan.camera, size, atlas_to_world(centres))).astype(int).T
    inside = (cols >= 0) & (rows >= 0) & (cols < size[0]) & (rows < size[1])
    assert inside[ids.ravel() != 0].all(), "the brain's cells must all be in view"
    seen = np.full((ids.size, 3), 255)
    seen[inside] = image[rows[inside], cols[inside], :3]
    for acronym, value in values.items():
        wanted = np.array(sorted(atlas.with_descendants([atlas.structure(acronym)["id"]])))
        truth = np.isin(ids.ravel(), wanted)
        colour = np.round(np.array(matplotlib.colormaps["viridis"](value)[:3]) * 255)
        drawn = np.abs(seen - colour).max(axis=1) <= 3
        iou = (truth & drawn).sum() / (truth | drawn).sum()
        assert truth.sum() > 50 and iou >= 0.9, f"{acronym}: IoU {iou:.3f} over {truth.sum()} cells"


# -- label text by contrast -----------------------------------------------------------------------------

@pytest.mark.parametrize("fill, text", [([25, 25, 60], "white"), ([240, 240, 200], "black")])
def test_label_text_contrasts_with_what_is_behind_it(fill, text):
    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
    from scenerender.spaces import atlas_to_world

    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))
    ids = np.asarray(atlas.bg.annotation)
    th = np.isin(ids, np.array(sorted(atlas.with_descendants([atlas.structure("CB")["id"]]))))
    centre = np.argwhere(th).mean(axis=0) * 100.0
    size = (400, 300)
    spec = {"version": 1, "actors": [{"kind": "region", "regions": "CB", "color": fill},
                                     {"kind": "label", "points": [centre.tolist()], "texts": ["MMMM"], "size": 40}],
            "camera": {"preset": "top", "projection": "orthographic"},
            "render": {"size": list(size), "background": "white", "lighting": "headlight"}}
    plan = scenerender.compile_scene(spec)
    image = scenerender.render(plan).astype(int)
    col, row = np.floor(_project(plan.camera, size, atlas_to_world(centre[None]))[0]).astype(int)
    around = image[row - 8:row + 9, col - 30:col + 31]
    if text == "white":
        assert (around.min(axis=-1) > 200).sum() > 40  # white strokes on the dark region
    else:
        assert (around.max(axis=-1) < 60).sum() > 40  # black strokes on the light region


def test_legend_explains_neuron_compartment_colours(shared_data):
    from scenerender.plan import LegendPlan

    path = shared_data / "neurons" / "mouselight_swc" / "AA0245.swc"
    colours = {"axon": [200, 30, 30], "dendrite": [30, 30, 200], "soma": [20, 20, 20]}
    spec = {"version": 1, "sources": {"n": {"kind": "neuron", "path": str(path), "space": {"orientation": "rsa"}}},
            "actors": [{"kind": "neuron", "id": "cell", "source": "n", "compartment_colors": colours},
                       {"kind": "legend"}],
            "render": {"size": [200, 150]}}
    legend = next(a for a in scenerender.compile_scene(spec).actors if isinstance(a, LegendPlan))
    entries = {text: tuple(round(c * 255) for c in rgb) for text, rgb in legend.entries}
    assert {f"cell: {part}": tuple(rgb) for part, rgb in colours.items()}.items() <= entries.items(), entries
