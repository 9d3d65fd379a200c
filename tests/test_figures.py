"""Publication figures: heatmaps and sections, overlays that tell the truth.

Expected pixels come from the atlas annotation and the camera, projected here
with plain pinhole/orthographic maths, never from a previous render.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import scenerender
from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
from scenerender.spaces import atlas_to_world, world_to_atlas

SIZE = (400, 300)


@pytest.fixture(scope="module")
def atlas() -> SceneAtlas:
    return SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))


def scene(*actors, camera=None, size=SIZE, **render):
    camera = camera or {"preset": "frontal", "projection": "orthographic"}
    if "preset" in camera:
        camera = {"frame": "brain", **camera}  # the same view whatever is shown, to compare renders
    return {"version": 1, "actors": list(actors), "camera": camera,
            "render": {"size": list(size), "anti_aliasing": "none", **render}}


def project(camera, size, atlas_points) -> np.ndarray:
    """Pixel (column, row) of atlas points, for the plan's camera (orthographic or perspective)."""
    width, height = size
    world = atlas_to_world(np.atleast_2d(atlas_points))
    position, focal = np.asarray(camera.position), np.asarray(camera.focal_point)
    back = (position - focal) / np.linalg.norm(position - focal)
    up = np.asarray(camera.view_up) - back * np.dot(camera.view_up, back)
    up /= np.linalg.norm(up)
    right = np.cross(up, back)
    if camera.orthographic:
        d = world - focal
        scale = (height / 2) / camera.parallel_scale
        x, y = d @ right * scale, d @ up * scale
    else:
        d = world - position
        depth = -(d @ back)
        f = (height / 2) / np.tan(np.radians(camera.effective_view_angle) / 2)
        x, y = f * (d @ right) / depth, f * (d @ up) / depth
    return np.column_stack([width / 2 + x, height / 2 - y])


def descendants_mask(atlas, ids: np.ndarray, acronym: str) -> np.ndarray:
    wanted = np.array(sorted(atlas.with_descendants([atlas.structure(acronym)["id"]])))
    return np.isin(ids, wanted)


def pixel(image, colrow) -> np.ndarray:
    col, row = np.floor(colrow).astype(int)
    return image[row, col, :3].astype(int)


# -- heatmap: 2D section ----------------------------------------------------------------------------

SLICE = 60  # frontal section through thalamus and caudoputamen in the 100 um atlas


def section_scene(**extra):
    spec = {"kind": "heatmap", "values": {"TH": 0.0, "CP": 1.0}, "cmap": "viridis", "vmin": 0, "vmax": 1,
            "missing_color": [200, 200, 200], "section": {"plane": "frontal", "position": SLICE * 100.0},
            "outline_color": None, "colorbar": False, "outlines": "voxel", **extra}  # voxel-exact
    return scene(spec)


def interior(mask: np.ndarray) -> np.ndarray:
    """Cells whose 8 neighbours share their value (their centre pixel is far from any edge)."""
    padded = np.pad(mask, 1, mode="edge")
    same = np.ones_like(mask, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            same &= padded[1 + di:padded.shape[0] - 1 + di, 1 + dj:padded.shape[1] - 1 + dj] == mask
    return same


def slice_cells(atlas):
    ids = np.asarray(atlas.bg.annotation[SLICE])  # (s-i, r-l); voxel j covers [j, j+1) x 100 um, centre j + 1/2
    j, k = np.indices(ids.shape)
    centres = np.column_stack([np.full(ids.size, SLICE * 100.0), (j.ravel() + 0.5) * 100.0,
                               (k.ravel() + 0.5) * 100.0])
    return ids, centres


def test_heatmap_section_fills_each_region_with_its_colormap_colour(atlas):
    spec = section_scene()
    plan = scenerender.compile_scene(spec)
    image = scenerender.render(plan)
    ids, centres = slice_cells(atlas)
    th, cp = descendants_mask(atlas, ids, "TH"), descendants_mask(atlas, ids, "CP")
    category = np.where(th, 1, np.where(cp, 2, np.where(ids != 0, 3, 0)))
    expected = {1: matplotlib.colormaps["viridis"](0.0)[:3], 2: matplotlib.colormaps["viridis"](1.0)[:3],
                3: (200 / 255,) * 3, 0: (1.0, 1.0, 1.0)}
    pixels = project(plan.camera, SIZE, centres)
    checked = {c: 0 for c in expected}
    for cat, inner, px in zip(category.ravel(), interior(category).ravel(), pixels):
        if not inner or not (0 <= px[0] < SIZE[0] and 0 <= px[1] < SIZE[1]):
            continue
        want = np.round(np.array(expected[cat]) * 255)
        assert np.abs(pixel(image, px) - want).max() <= 2, f"category {cat} at pixel {px}"
        checked[cat] += 1
    assert checked[1] > 20 and checked[2] > 20 and checked[3] > 200 and checked[0] > 100, checked


def test_heatmap_section_outlines_a_region_where_the_annotation_changes(atlas):
    spec = section_scene(outline_color=[255, 0, 0], outline_width=2, missing_color="white")
    plan = scenerender.compile_scene(spec)
    image = scenerender.render(plan)
    red = (image[..., 0] > 200) & (image[..., 1] < 60) & (image[..., 2] < 60)
    ids, _ = slice_cells(atlas)
    th = descendants_mask(atlas, ids, "TH")
    # Midpoints of the voxel faces between thalamus and anything else, in atlas microns.
    faces = []
    for axis, (da, db) in ((0, (1, 0)), (1, (0, 1))):
        change = th[:th.shape[0] - da, :th.shape[1] - db] != th[da:, db:]
        for j, k in zip(*np.nonzero(change)):
            faces.append((SLICE * 100.0, (j + da / 2 + 0.5) * 100.0, (k + db / 2 + 0.5) * 100.0))
    assert len(faces) > 50
    near = [red[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].any()
            for c, r in np.floor(project(plan.camera, SIZE, np.array(faces))).astype(int)]
    assert np.mean(near) > 0.95
    # ...and not inside it: the thalamus's interior pixels are its fill colour.
    inside = interior(th) & th
    j, k = np.nonzero(inside)
    centres = np.column_stack([np.full(len(j), SLICE * 100.0), (j + 0.5) * 100.0, (k + 0.5) * 100.0])
    cols, rows = np.floor(project(plan.camera, SIZE, centres)).astype(int).T
    assert not red[rows, cols].any()


def test_heatmap_section_lies_at_its_plane(atlas):
    """Seen edge-on from the side, a frontal section's outlines are one vertical line at its position."""
    spec = section_scene(outline_color=[255, 0, 0])
    spec["camera"] = {"preset": "sagittal", "projection": "orthographic"}
    plan = scenerender.compile_scene(spec)
    image = scenerender.render(plan)
    drawn = (image[..., 0] > 200) & (image[..., 1] < 60)
    cols = np.nonzero(drawn.any(axis=0))[0]
    expected = project(plan.camera, SIZE, [[SLICE * 100.0, 4000.0, 5700.0]])[0, 0]
    assert np.ptp(cols) <= 3 and abs(cols.mean() - expected) <= 2


def test_heatmap_in_3d_colours_region_surfaces_by_value(atlas):
    camera = {"preset": "top", "projection": "orthographic"}
    heat = scenerender.render(scene({"kind": "heatmap", "values": {"TH": 0.0, "CB": 1.0, "MOs": None},
                                     "vmin": 0, "vmax": 1, "missing_color": [128, 128, 128]}, camera=camera))
    masks = {}
    for acronym in ("TH", "CB", "MOs"):
        alone = scenerender.render(scene({"kind": "region", "regions": acronym, "color": [255, 0, 0]}, camera=camera))
        masks[acronym] = (alone[..., 1] < 100) & (alone[..., 0] > 40)
    expected = {"TH": matplotlib.colormaps["viridis"](0.0)[:3], "CB": matplotlib.colormaps["viridis"](1.0)[:3],
                "MOs": (0.5, 0.5, 0.5)}
    for acronym, mask in masks.items():
        only = mask & ~np.logical_or.reduce([m for a, m in masks.items() if a != acronym])
        fg = heat[only].astype(float)
        assert len(fg) > 100, acronym
        want = np.array(expected[acronym])
        # Lighting scales brightness, not hue: lit pixels point along the expected colour.
        cos = (fg @ want) / (np.linalg.norm(fg, axis=1) * np.linalg.norm(want) + 1e-9)
        assert np.median(cos) > 0.99, acronym


def test_heatmap_limits_and_center():
    def colours(**extra):
        plan = scenerender.compile_scene(scene({"kind": "heatmap", "values": {"TH": -2.0, "CP": 1.0, "CB": 4.0},
                                                "cmap": "RdBu_r", **extra}))
        return {p.name.split()[-1]: np.array(p.color) for p in plan.actors}, plan.actors[0].mapping

    cmap = matplotlib.colormaps["RdBu_r"]
    # Centre 0 without limits: symmetric, -4 .. 4.
    got, mapping = colours(center=0)
    assert (mapping.vmin, mapping.vmax) == (-4, 4)
    assert got["CP"] == pytest.approx(cmap(0.5 + 1 / 8)[:3])
    # Two slopes: -1 .. 0 and 0 .. 4 each fill half the map; -2 is clipped.
    got, _ = colours(center=0, vmin=-1, vmax=4)
    assert got["CP"] == pytest.approx(cmap(0.5 + 0.5 / 4)[:3])
    assert got["TH"] == pytest.approx(cmap(0.0)[:3])
    # Plain limits: linear.
    got, _ = colours(vmin=-2, vmax=6)
    assert got["CB"] == pytest.approx(cmap(0.75)[:3])
    with pytest.raises(scenerender.SceneError, match=r"actors\[0\]\.center: center 9 must lie between"):
        colours(center=9, vmin=-1, vmax=4)


def test_heatmap_values_from_csv(tmp_path):
    (tmp_path / "density.csv").write_text("acronym,cells_per_mm3\nTH,10\nCP,\nCB,30\n")
    (tmp_path / "s.yaml").write_text(
        "version: 1\nactors:\n  - kind: heatmap\n    values: {csv: density.csv, region: acronym, value: cells_per_mm3}\n"
        "    missing_color: [1, 2, 3]\n")
    plan = scenerender.compile_scene(tmp_path / "s.yaml")
    got = {p.name.split()[-1]: p.color for p in plan.actors}
    viridis = matplotlib.colormaps["viridis"]
    assert got["TH"] == pytest.approx(viridis(0.0)[:3]) and got["CB"] == pytest.approx(viridis(1.0)[:3])
    assert got["CP"] == pytest.approx((1 / 255, 2 / 255, 3 / 255))  # empty cell: no value, neutral


def test_heatmap_unknown_region_in_csv_names_the_row(tmp_path):
    (tmp_path / "v.csv").write_text("region,value\nTH,1\nHIPP,2\n")
    (tmp_path / "s.yaml").write_text("version: 1\nactors:\n  - kind: heatmap\n    values: {csv: v.csv}\n")
    with pytest.raises(scenerender.SceneError) as err:
        scenerender.compile_scene(tmp_path / "s.yaml")
    message = str(err.value)
    assert f"{tmp_path / 's.yaml'}:4:" in message and "v.csv row 3: unknown region 'HIPP'" in message
    assert "did you mean 'HIP'" in message


def test_heatmap_unknown_region_inline_is_located():
    with pytest.raises(scenerender.SceneError, match=r"actors\[0\]\.values\.HIPP: unknown region 'HIPP'.*did you mean 'HIP'"):
        scenerender.compile_scene(scene({"kind": "heatmap", "values": {"HIPP": 1}}))


# -- orientation indicator ------------------------------------------------------------------------

@pytest.mark.parametrize("preset, expected", [
    # (image right, image up) that each anatomical direction must point to
    ("frontal", {"left": "right", "right": "left", "superior": "up", "inferior": "down"}),
    ("posterior", {"left": "left", "right": "right", "superior": "up"}),
    ("top", {"anterior": "up", "posterior": "down", "left": "left", "right": "right"}),
    ("bottom", {"anterior": "up", "left": "right"}),
    ("sagittal", {"anterior": "left", "posterior": "right", "superior": "up"}),
    ("sagittal_right", {"anterior": "right", "superior": "up"}),
])
def test_orientation_labels_follow_the_camera(preset, expected):
    from scenerender.camera import image_directions

    plan = scenerender.compile_scene(scene({"kind": "root"}, camera={"preset": preset}))
    got = image_directions(plan.camera)
    unit = {"right": (1, 0), "left": (-1, 0), "up": (0, 1), "down": (0, -1)}
    for name, where in expected.items():
        assert got[name] == pytest.approx(unit[where], abs=1e-6), (preset, name)
    # The pair along the line of sight vanishes (its label is hidden).
    along = {"frontal": "anterior", "posterior": "anterior", "top": "superior", "bottom": "superior",
             "sagittal": "left", "sagittal_right": "left"}[preset]
    assert np.hypot(*got[along]) < 1e-6


def _label_centre(preset, **extra):
    """Centre (column, row) of the one visible label, the animal's left, and the indicator's centre."""
    spec = scene({"kind": "orientation", "axes": ["left_right"], "labels": {"right": " "}, "color": [255, 0, 0],
                  "length": 30, "size": 20, "corner": "bottom_left", **extra},
                 camera={"preset": preset, "projection": "orthographic"})
    image = scenerender.render(spec)
    red = (image[..., 0] > 150) & (image[..., 1] < 100)
    # The arms are 2 px lines through the centre; the letter is the blob off the arm's row.
    rows, cols = np.nonzero(red)
    arm_row = np.bincount(rows).argmax()
    text = np.abs(rows - arm_row) > 2
    return cols[text].mean(), cols[~text].mean()


def test_orientation_left_label_flips_between_front_and_top_views():
    left_col, centre = _label_centre("frontal")
    assert left_col > centre + 20  # from the front the animal's left is on the image right
    left_col, centre = _label_centre("top")
    assert left_col < centre - 20  # from above, on the image left


# -- scale bar ---------------------------------------------------------------------------------------

BLUE, GREEN = [0, 0, 255], [0, 200, 0]


def _bar_and_ruler(camera, *, near: float = 0.0):
    """Render a 3 mm scale bar and a 3 mm line (a known atlas distance, across the view) at the
    bar's depth: the focal point's, or ``near`` of the way from the focal point to the camera."""
    size = (400, 400)
    probe = scenerender.compile_scene(scene({"kind": "root"}, camera=camera, size=size)).camera
    focal, position = np.asarray(probe.focal_point), np.asarray(probe.position)
    up = np.asarray(probe.view_up)
    right = np.cross(up, (position - focal) / np.linalg.norm(position - focal))
    centre = focal + near * (position - focal)
    length = 3000.0
    ends = world_to_atlas(np.array([centre - right * length / 2, centre + right * length / 2]))
    bar = {"kind": "scale_bar", "length": length, "text": " ", "color": BLUE}
    if near:
        bar["at"] = world_to_atlas(centre).tolist()
    plan = scenerender.compile_scene(scene({"kind": "line", "points": ends.tolist(), "color": GREEN, "width": 3},
                                           bar, camera=camera, size=size))
    image = scenerender.render(plan)
    blue = (image[..., 2] > 150) & (image[..., 0] < 80) & (image[..., 1] < 80)
    green = (image[..., 1] > 120) & (image[..., 0] < 80) & (image[..., 2] < 80)
    bar_px = np.ptp(np.nonzero(blue.any(axis=0))[0]) + 1
    line_px = np.ptp(np.nonzero(green.any(axis=0))[0]) + 1
    projected = np.ptp(project(plan.camera, size, ends)[:, 0])
    return bar_px, line_px, projected


@pytest.mark.parametrize("projection", ["orthographic", "perspective"])
def test_scale_bar_matches_a_known_atlas_distance_within_2_percent(projection):
    bar_px, line_px, projected = _bar_and_ruler({"preset": "three_quarters", "projection": projection, "zoom": 1.4})
    assert bar_px == pytest.approx(projected, rel=0.02)
    assert bar_px == pytest.approx(line_px, rel=0.02)


def test_perspective_scale_bar_is_true_at_its_declared_depth():
    camera = {"preset": "sagittal", "projection": "perspective", "view_angle": 40}
    at_focal, _, _ = _bar_and_ruler(camera)
    bar_px, line_px, projected = _bar_and_ruler(camera, near=0.3)
    assert bar_px == pytest.approx(projected, rel=0.02) and bar_px == pytest.approx(line_px, rel=0.02)
    assert bar_px > at_focal * 1.2  # nearer the camera, the same microns span more pixels


# -- colour bar, legend, title, labels -----------------------------------------------------------

def _colorbar_column(image, cmap):
    """(column, rows top->bottom) of the colour bar: the column in the right quarter with the most
    pixels close to a colour of ``cmap``."""
    table = np.asarray(matplotlib.colormaps[cmap](np.linspace(0, 1, 256)))[:, :3] * 255
    right = image[:, image.shape[1] * 3 // 4:, :3].astype(float)
    dist = np.min(np.linalg.norm(right[..., None, :] - table[None, None], axis=-1), axis=-1)
    close = dist < 6
    col = int(np.argmax(close.sum(axis=0)))
    rows = np.nonzero(close[:, col])[0]
    return image.shape[1] * 3 // 4 + col, rows


def test_colorbar_shows_the_heatmap_colours_with_its_centre():
    # Diverging about 0 over -1 .. 3: the map's middle colour sits a quarter of the way up.
    spec = scene({"kind": "heatmap", "id": "h", "values": {"TH": -1.0, "CB": 3.0}, "cmap": "viridis",
                  "vmin": -1, "vmax": 3, "center": 0},
                 {"kind": "colorbar", "of": "h", "title": " "}, camera={"preset": "top", "zoom": 0.5}, size=(400, 400))
    image = scenerender.render(spec)
    col, rows = _colorbar_column(image, "viridis")
    assert len(rows) > 150  # the bar spans most of the image height
    top, bottom = rows.min(), rows.max()
    viridis = matplotlib.colormaps["viridis"]

    def colour_at(fraction):  # fraction of the way up the bar
        return image[int(round(bottom - fraction * (bottom - top))), col, :3].astype(float)

    def expected(fraction):  # value -1 + 4f; two slopes: -1 .. 0 -> 0 .. 0.5 and 0 .. 3 -> 0.5 .. 1
        value = -1 + 4 * fraction
        return 0.5 * (value + 1) if value < 0 else 0.5 + 0.5 * value / 3

    for fraction in (0.03, 0.25, 0.4, 0.625, 0.97):
        want = np.array(viridis(expected(fraction))[:3]) * 255
        assert np.abs(colour_at(fraction) - want).max() < 12, (fraction, colour_at(fraction), want)
    # A linear bar would put the middle colour half-way up, not a quarter.
    assert np.abs(colour_at(0.5) - np.array(viridis(0.5)[:3]) * 255).max() > 30


def test_colorbar_needs_a_value_coloured_actor():
    with pytest.raises(scenerender.SceneError, match=r"actors\[1\]\.of: actor 'th' is not coloured by values"):
        scenerender.compile_scene(scene({"kind": "region", "id": "th", "regions": "TH"}, {"kind": "colorbar", "of": "th"}))
    with pytest.raises(scenerender.SceneError, match=r"actors\[0\]\.of: no actor with id 'hm'; did you mean 'hm1'"):
        scenerender.compile_scene(scene({"kind": "colorbar", "of": "hm"}, {"kind": "heatmap", "id": "hm1",
                                                                          "values": {"TH": 1}}))
    # Without 'of', the scene's one value-coloured actor, wherever it is listed.
    plan = scenerender.compile_scene(scene({"kind": "colorbar"}, {"kind": "heatmap", "values": {"TH": 1, "CB": 5},
                                                                  "title": "counts"}))
    bar = plan.actors[0]
    assert (bar.mapping.vmin, bar.mapping.vmax, bar.title) == (1, 5, "counts")


def test_legend_lists_named_actors_in_their_colours():
    regions = ({"kind": "region", "id": "thalamus", "regions": "TH", "color": [255, 0, 0]},
               {"kind": "region", "id": "cerebellum", "regions": "CB", "color": [0, 0, 255]})
    camera = {"preset": "top", "zoom": 0.6}
    bare = scenerender.render(scene(*regions, camera=camera))
    legend = scenerender.render(scene(*regions, {"kind": "legend", "corner": "top_left", "size": 20},
                                      camera=camera))
    corner = (slice(0, 100), slice(0, 200))
    assert (bare[corner] > 240).all(), "the corner must be empty without a legend"
    red = np.all(legend[corner] == [255, 0, 0], axis=-1)
    blue = np.all(legend[corner] == [0, 0, 255], axis=-1)
    side = 20 * np.sqrt(min(SIZE) / 1000)  # size 20 is for a 1000-pixel image; text scales with sqrt(short side)
    assert red.sum() > 0.6 * side ** 2 and blue.sum() > 0.6 * side ** 2  # two unlit swatches
    assert np.nonzero(red)[0].mean() < np.nonzero(blue)[0].mean()  # in scene order, top to bottom
    text = (legend[corner] < 100).all(axis=-1)
    assert np.nonzero(text)[1].min() > np.nonzero(red)[1].max()  # texts to the right of the swatches


def test_title_is_centred_at_the_top():
    image = scenerender.render(scene({"kind": "title", "text": "Thalamus", "size": 30, "color": [255, 0, 0]}))
    rows, cols = np.nonzero(red_text := ((image[..., 0] > 150) & (image[..., 1] < 100)))
    assert red_text.sum() > 100
    assert rows.max() < 0.25 * SIZE[1]
    assert (cols.min() + cols.max()) / 2 == pytest.approx(SIZE[0] / 2, abs=6)


def test_label_anchored_at_the_region_centroid(atlas):
    plan = scenerender.compile_scene(scene({"kind": "label", "regions": "TH", "anchor": "centroid",
                                            "hemisphere": "left"}))
    annotation, hemispheres = np.asarray(atlas.bg.annotation), np.asarray(atlas.bg.hemispheres)
    th = descendants_mask(atlas, annotation, "TH") & (hemispheres == atlas.bg.left_hemisphere_value)
    expected = np.argwhere(th).mean(axis=0) * 100.0
    assert plan.actors[0].points[0] == pytest.approx(atlas_to_world(expected))
    # The default anchor is a point of the region's surface.
    surface = scenerender.compile_scene(scene({"kind": "label", "regions": "TH"})).actors[0].points[0]
    vertices, _ = atlas.region_mesh(atlas.structure("TH")["id"])
    assert np.min(np.linalg.norm(atlas_to_world(vertices) - surface, axis=1)) < 1e-6


# -- cutting -------------------------------------------------------------------------------------------

def _th_middle(atlas) -> float:
    points, _ = atlas.region_mesh(atlas.structure("TH")["id"])
    return float(np.round(points[:, 0].mean() / 100) * 100)  # on a voxel plane, to compare with the annotation


@pytest.mark.parametrize("keep", ["posterior", "anterior"])
def test_cut_removes_one_side_of_the_plane(atlas, keep):
    position = _th_middle(atlas)
    camera = {"preset": "sagittal", "projection": "orthographic"}  # anterior on the image left
    region = {"kind": "region", "id": "th", "regions": "TH", "color": [255, 0, 0]}
    whole = scenerender.render(scene(region, camera=camera))
    spec = scene(region, {"kind": "cut", "plane": "frontal", "position": position, "keep": keep, "actors": ["th"]},
                 camera=camera)
    plan = scenerender.compile_scene(spec)
    cut = scenerender.render(plan)
    plane_col = project(plan.camera, SIZE, [[position, 4000.0, 5700.0]])[0, 0]
    whole_cols, cut_cols = np.nonzero((whole[..., 0] > 100) & (whole[..., 1] < 90))[1], \
        np.nonzero((cut[..., 0] > 100) & (cut[..., 1] < 90))[1]
    if keep == "posterior":
        assert cut_cols.min() == pytest.approx(plane_col, abs=2) and cut_cols.max() == pytest.approx(whole_cols.max(), abs=1)
    else:
        assert cut_cols.max() == pytest.approx(plane_col, abs=2) and cut_cols.min() == pytest.approx(whole_cols.min(), abs=1)


def test_cut_face_is_capped_where_the_annotation_has_the_region(atlas):
    position = _th_middle(atlas)
    region = {"kind": "region", "regions": "TH", "color": [255, 0, 0]}
    cut = {"kind": "cut", "plane": "frontal", "position": position, "keep": "posterior", "cap_color": [0, 0, 255]}
    plan = scenerender.compile_scene(scene(region, cut))  # frontal camera, looking at the cut face
    image = scenerender.render(plan)
    blue = (image[..., 2] > 200) & (image[..., 0] < 40) & (image[..., 1] < 40)
    # Expected: the thalamus voxels of that frontal slice, projected.
    index = int(position / 100)
    ids = np.asarray(atlas.bg.annotation[index])
    th = descendants_mask(atlas, ids, "TH")
    j, k = np.nonzero(th)
    corners = []
    for dj in (-0.5, 0.5):
        for dk in (-0.5, 0.5):
            corners.append(project(plan.camera, SIZE, np.column_stack([np.full(len(j), position),
                                                                        (j + dj) * 100.0, (k + dk) * 100.0])))
    expected = np.zeros(blue.shape, dtype=bool)
    for c in range(len(j)):  # each voxel covers the pixels between its projected corners
        cols = [p[c, 0] for p in corners]
        rows = [p[c, 1] for p in corners]
        expected[int(round(min(rows))):int(round(max(rows))), int(round(min(cols))):int(round(max(cols)))] = True
    iou = (blue & expected).sum() / (blue | expected).sum()
    assert blue.sum() > 300 and iou > 0.75, iou
    # Uncapped, the cut region is hollow: no cap colour at all.
    open_cut = scenerender.render(scene(region, {**cut, "cap": False}))
    assert not ((open_cut[..., 2] > 200) & (open_cut[..., 0] < 40)).any()


def test_cut_keep_must_be_along_the_plane():
    with pytest.raises(scenerender.SceneError, match=r"actors\[1\]\.keep: a frontal cut keeps the anterior or posterior side"):
        scenerender.compile_scene(scene({"kind": "root"}, {"kind": "cut", "plane": "frontal", "keep": "left"}))


# -- looks ---------------------------------------------------------------------------------------------

def _th(lighting="light_kit", **look):
    return scenerender.render(scene({"kind": "region", "regions": "TH", "color": [255, 0, 0], **look},
                                    camera={"preset": "top", "projection": "orthographic"}, lighting=lighting)).astype(int)


def _reddish(image):
    return (image[..., 0] > 40) & (image[..., 1] < 0.5 * image[..., 0]) & (image[..., 2] < 0.5 * image[..., 0])


def test_silhouette_outlines_the_region():
    plain = _reddish(_th())
    outlined = _th(silhouette=[0, 0, 255], silhouette_width=3)
    blue = (outlined[..., 2] > 150) & (outlined[..., 0] < 100)
    # The region's outline in the image: its pixels with a background neighbour.
    padded = np.pad(plain, 1)
    edge = plain & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    rows, cols = np.nonzero(edge)
    near = [blue[max(r - 2, 0):r + 3, max(c - 2, 0):c + 3].any() for r, c in zip(rows, cols)]
    assert len(rows) > 100 and np.mean(near) > 0.9
    assert blue[plain].mean() < 0.25  # outlines, not a blue region


def test_flat_shading_gives_one_shade_per_triangle():
    def equal_neighbours(image):
        mask = _reddish(image)
        pairs = mask[:, 1:] & mask[:, :-1]
        return (image[:, 1:] == image[:, :-1]).all(axis=-1)[pairs].mean()

    # (the smoothed, decimated region meshes: about 2.5x here; Gouraud shading of the same mesh shows far fewer)
    assert equal_neighbours(_th(shading="flat")) > 2 * equal_neighbours(_th(shading="smooth"))


def test_cartoon_and_metallic_keep_the_hue_and_change_the_shading():
    smooth, cartoon, metallic = _th(), _th(shading="cartoon"), _th(shading="metallic")
    for image in (cartoon, metallic):
        fg = image[_reddish(image) | _reddish(smooth)].astype(float)
        hue = (fg @ [1, 0, 0]) / (np.linalg.norm(fg, axis=1) + 1e-9)
        assert np.median(hue) > 0.95
    # Cartoon: brighter and flatter than smooth shading, with dark outlines.
    assert np.median(cartoon[_reddish(cartoon)][:, 0]) > np.median(smooth[_reddish(smooth)][:, 0]) + 20
    assert ((cartoon < 60).all(axis=-1) & ~_reddish(cartoon)).sum() > 100
    # Metallic: a body that still reads (not the near-black of a metal with nothing to reflect)
    # and strong, lighter highlights where a smooth surface has none.
    region = _reddish(metallic) | _reddish(smooth)
    assert np.median(metallic[region][:, 0]) > 0.5 * np.median(smooth[region][:, 0])
    highlight = lambda image: np.percentile(image[region][:, 1], 99)  # noqa: E731 - red whitened by highlights
    assert highlight(metallic) > highlight(smooth) + 30


def test_headlight_lights_what_faces_the_camera_fully():
    assert _th(lighting="headlight")[..., 0][_reddish(_th(lighting="headlight"))].max() >= 250
    assert _th()[..., 0][_reddish(_th())].max() < 245  # the light kit's key light is off the view axis
    assert not np.array_equal(_th(lighting="three_lights"), _th())


# -- transparent background ------------------------------------------------------------------------

TRANSLUCENT_TH = {"kind": "region", "regions": "TH", "color": [255, 0, 0], "alpha": 0.4}
OPAQUE_CB = {"kind": "region", "regions": "CB", "color": [0, 0, 255]}


@pytest.mark.parametrize("translucency", ["order_independent", "depth_peeling"])
def test_transparent_png_has_empty_background_and_partial_alpha_where_translucent(tmp_path, translucency):
    import imageio.v3 as iio

    spec = scene(TRANSLUCENT_TH, OPAQUE_CB, camera={"preset": "top", "projection": "orthographic"},
                 background="transparent", translucency=translucency)
    scenerender.render(spec, tmp_path / "figure.png")
    image = iio.imread(tmp_path / "figure.png")
    assert image.shape == (SIZE[1], SIZE[0], 4)
    alpha = image[..., 3].astype(int)
    opaque = scenerender.render(scene(TRANSLUCENT_TH, OPAQUE_CB, camera={"preset": "top", "projection": "orthographic"},
                                      background=[0, 255, 0])).astype(int)
    empty = np.all(opaque == [0, 255, 0], axis=-1)
    assert empty.mean() > 0.5 and (alpha[empty] == 0).all()
    # A ray through the closed thalamus crosses 2, 4 or 6 of its surfaces, each letting 60% through.
    top = {"preset": "top", "projection": "orthographic"}
    th_mask = _reddish(scenerender.render(scene({**TRANSLUCENT_TH, "alpha": 1.0}, camera=top)).astype(int))
    cb_alone = scenerender.render(scene(OPAQUE_CB, camera=top)).astype(int)
    cb = (cb_alone[..., 2] > 60) & (cb_alone[..., 0] < 60) & (cb_alone[..., 1] < 60)
    th_only = th_mask & ~cb
    layers = 1 - 0.6 ** np.array([2, 4, 6])
    assert th_only.sum() > 500
    closest = np.min(np.abs(alpha[th_only][:, None] / 255 - layers[None]), axis=1)
    assert (closest < 0.01).mean() > 0.98
    assert np.median(alpha[th_only]) == pytest.approx(255 * layers[0], abs=1)
    # Translucent colour is the surface's own, not mixed with a background: pure red hue.
    rgb = image[th_only][:, :3].astype(int)
    assert (rgb[:, 1] < 8).all() and (rgb[:, 2] < 8).all() and rgb[:, 0].min() > 40  # shaded rims of the smoothed mesh reach ~58
    assert cb.sum() > 500 and (alpha[cb] == 255).mean() > 0.99


@pytest.mark.parametrize("translucency", ["order_independent", "depth_peeling"])
def test_transparent_image_composited_over_a_colour_matches_rendering_on_it(translucency):
    def render(background):
        return scenerender.render(scene({"kind": "root", "alpha": 0.2}, TRANSLUCENT_TH, OPAQUE_CB,
                                        camera={"preset": "three_quarters"}, background=background,
                                        translucency=translucency, anti_aliasing="msaa")).astype(float)

    clear, on_colour = render("transparent"), render([30, 60, 90])
    alpha = clear[..., 3:] / 255
    composite = clear[..., :3] * alpha + np.array([30, 60, 90]) * (1 - alpha)
    difference = np.abs(composite - on_colour)
    assert ((alpha > 0) & (alpha < 1)).sum() > 2000  # plenty of translucent pixels
    assert np.percentile(difference, 99.9) <= 3 and difference.max() <= 12


def test_heatmap_csv_is_an_input_file_of_the_scene():
    from scenerender.schema import file_references

    data = {"version": 1, "actors": [{"kind": "heatmap", "values": {"csv": "counts.csv", "region": "acronym"}}]}
    assert file_references(data) == [(("actors", 0, "values", "csv"), "counts.csv")]
    assert file_references({"version": 1, "actors": [{"kind": "heatmap", "values": {"TH": 1}}]}) == []


def test_colorbar_of_points_and_of_a_volume(tmp_path, shared_data):
    """Real cells coloured by a column, and a real registered brain volume rendered through a map."""
    import pandas as pd

    points = np.load(shared_data / "cells" / "brainrender_points.npy")
    pd.DataFrame(points, columns=["ap", "dv", "lr"]).assign(depth=points[:, 1]).to_csv(tmp_path / "cells.csv",
                                                                                     index=False)
    volume = shared_data / "volumes" / "brainmapper_registration" / "downsampled_standard.tiff"
    spec = {"version": 1, "sources": {
                "cells": {"kind": "points", "path": str(tmp_path / "cells.csv"), "space": "atlas",
                          "columns": ["ap", "dv", "lr"]},
                "brain": {"kind": "volume", "path": str(volume), "space": {"orientation": "asr", "resolution": [100] * 3}}},
            "actors": [{"kind": "points", "id": "cells", "source": "cells",
                        "color_by": {"column": "depth", "cmap": "plasma", "range": [2000, 6000]}},
                       {"kind": "volume", "id": "brain", "source": "brain", "mode": "render", "cmap": "gray",
                        "range": [10, 500]},
                       {"kind": "colorbar", "of": "cells"}, {"kind": "colorbar", "of": "brain", "position": "left"}],
            "render": {"size": [200, 150]}}
    plan = scenerender.compile_scene(spec)
    by_cells, by_brain = [a for a in plan.actors if type(a).__name__ == "ColorBarPlan"]
    assert (by_cells.mapping.cmap, by_cells.mapping.vmin, by_cells.mapping.vmax, by_cells.title) == \
        ("plasma", 2000, 6000, "depth")
    assert (by_brain.mapping.cmap, by_brain.mapping.vmin, by_brain.mapping.vmax, by_brain.title) == \
        ("gray", 10, 500, "brain")
    image = scenerender.render(plan)
    col, rows = _colorbar_column(image, "plasma")
    assert len(rows) > 80  # the points' bar is drawn on the right in plasma colours


@pytest.mark.parametrize("kind", ["points", "volume", "line"])
def test_cut_clips_points_volumes_and_lines_too(shared_data, kind):
    volume = shared_data / "volumes" / "brainmapper_registration" / "downsampled_standard.tiff"
    actor = {"points": {"kind": "points", "source": "cells", "color": [255, 0, 0], "radius": 60},
             "volume": {"kind": "volume", "source": "brain", "mode": "render", "cmap": "Reds", "range": [10, 500]},
             "line": {"kind": "line", "points": [[2000, 4000, 2000], [12000, 4000, 9000]], "color": [255, 0, 0],
                      "width": 3}}[kind]
    spec = scene(actor, {"kind": "cut", "plane": "frontal", "position": 7000, "keep": "posterior"},
                 camera={"preset": "top", "projection": "orthographic"})
    spec["sources"] = {"cells": {"kind": "points", "path": str(shared_data / "cells" / "brainrender_points.npy"),
                                 "space": "atlas"},
                       "brain": {"kind": "volume", "path": str(volume),
                                 "space": {"orientation": "asr", "resolution": [100] * 3}}}
    plan = scenerender.compile_scene(spec)
    image = scenerender.render(plan).astype(int)
    drawn = image[..., 0] > image[..., 1] + 30
    plane_row = project(plan.camera, SIZE, [[7000.0, 4000.0, 5700.0]])[0, 1]  # from the top, anterior is up
    rows = np.nonzero(drawn.any(axis=1))[0]
    assert drawn.sum() > 100 and rows.min() >= plane_row - 2
    uncut = scenerender.render(dict(spec, actors=[actor])).astype(int)
    assert np.nonzero((uncut[..., 0] > uncut[..., 1] + 30).any(axis=1))[0].min() < plane_row - 20


def _section_cells(plan):
    """(cell centres in atlas microns, cell colours) of a heatmap section's fill."""
    fill = plan.actors[0]
    corners = world_to_atlas(fill.points).reshape(-1, 4, 3)
    return corners.mean(axis=1), fill.vertex_colors[::4]


def test_heatmap_section_by_normal_and_the_finest_valued_region(atlas):
    values = {"TH": 0.0, "LGd": 1.0}  # the dorsal lateral geniculate nucleus lies inside the thalamus
    common = {"kind": "heatmap", "values": values, "vmin": 0, "vmax": 1, "missing_color": [200, 200, 200],
              "outline_color": None, "outlines": "voxel"}
    named = scenerender.compile_scene(scene({**common, "section": {"plane": "frontal", "position": 7500}}))
    by_normal = scenerender.compile_scene(scene({**common, "section": {"normal": [1, 0, 0],
                                                                       "point": [7500, 0, 0]}}))
    a, b = _section_cells(named), _section_cells(by_normal)
    order_a, order_b = np.lexsort(a[0].T), np.lexsort(b[0].T)
    assert np.allclose(a[0][order_a], b[0][order_b]) and np.allclose(a[1][order_a], b[1][order_b])
    # An oblique plane through the middle of the left LGd.
    lgd_voxels = np.argwhere(descendants_mask(atlas, np.asarray(atlas.bg.annotation), "LGd"))
    through = ((lgd_voxels[lgd_voxels[:, 2] > 57].mean(axis=0) + 0.5) * 100).tolist()
    oblique = scenerender.compile_scene(scene({**common, "section": {"normal": [1, 0.5, 0.3], "point": through}}))
    for plan, normal, point in ((named, [1, 0, 0], [7500, 0, 0]), (oblique, [1, 0.5, 0.3], through)):
        centres, colours = _section_cells(plan)
        normal = np.asarray(normal) / np.linalg.norm(normal)
        assert np.abs((centres - point) @ normal).max() < 1e-6  # every cell lies on the plane
        ids = np.asarray(atlas.bg.annotation)[tuple(np.floor(centres / 100).astype(int).T)]
        lgd, th = descendants_mask(atlas, ids, "LGd"), descendants_mask(atlas, ids, "TH")
        viridis = matplotlib.colormaps["viridis"]
        assert lgd.sum() > 5 and (th & ~lgd).sum() > 50
        assert np.allclose(colours[lgd], viridis(1.0)[:3])  # the finer valued region wins inside TH
        assert np.allclose(colours[th & ~lgd], viridis(0.0)[:3])
        assert np.allclose(colours[~th], 200 / 255)
