"""Rendering the embedded atlas: pixels where regions must be, on the right side."""

from __future__ import annotations

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import yaml

import scenerender
from scenerender.cli import main
from scenerender.renderer import render_plan

RED = [255, 0, 0]


def scene(*actors, camera=None, size=(400, 300), **render):
    camera = camera or {"preset": "top", "projection": "orthographic"}
    if "preset" in camera:
        camera = {"frame": "brain", **camera}  # the brain's framing: its midline in the middle, whatever is shown
    return {"version": 1, "actors": list(actors), "camera": camera,
            "render": {"size": list(size), "anti_aliasing": "none", **render}}


def red_mask(image: np.ndarray) -> np.ndarray:
    """Pixels of a lit pure-red surface (shading darkens, never adds green/blue)."""
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return (r > 60) & (g < 0.35 * r) & (b < 0.35 * r)


def columns(mask: np.ndarray) -> np.ndarray:
    return np.nonzero(mask.any(axis=0))[0]


def test_region_alone_draws_its_colour_in_the_middle():
    image = scenerender.render(scene({"kind": "region", "regions": "TH", "color": RED}))
    mask = red_mask(image)
    assert mask.sum() > 500, "thalamus pixels missing"
    # The thalamus straddles the midline, which a top view puts at the image centre.
    cols = columns(mask)
    assert cols.min() < 200 < cols.max()
    # Nothing else is red: the white background stays white.
    assert (image[~mask] > 200).all(axis=-1).mean() > 0.95


def test_region_in_atlas_colour_by_default():
    image = scenerender.render(scene({"kind": "region", "regions": "TH"}))
    th = np.array([0xFF, 0x70, 0x80]) / 255.0  # Allen's colour for TH
    fg = image[(image < 250).any(axis=-1)].astype(float)
    assert len(fg) > 500
    # Lit pixels keep the hue: their direction in RGB matches the atlas colour.
    cos = (fg @ th) / (np.linalg.norm(fg, axis=1) * np.linalg.norm(th) + 1e-9)
    assert np.median(cos) > 0.98


@pytest.mark.parametrize("preset, left_on", [("top", "image left"), ("frontal", "image right")])
def test_left_hemisphere_only_on_its_side(preset, left_on):
    cam = {"preset": preset, "projection": "orthographic"}
    left = red_mask(scenerender.render(scene({"kind": "region", "regions": "TH", "color": RED,
                                              "hemisphere": "left"}, camera=cam)))
    right = red_mask(scenerender.render(scene({"kind": "region", "regions": "TH", "color": RED,
                                               "hemisphere": "right"}, camera=cam)))
    both = red_mask(scenerender.render(scene({"kind": "region", "regions": "TH", "color": RED}, camera=cam)))
    assert left.sum() > 300 and right.sum() > 300
    centre = 200
    tol = 3  # pixels: the cut follows the voxel midline
    if left_on == "image left":
        assert columns(left).max() <= centre + tol and columns(right).min() >= centre - tol
    else:
        assert columns(left).min() >= centre - tol and columns(right).max() <= centre + tol
    # The two halves together cover what the whole region covers.
    assert abs(int((left | right).sum()) - int(both.sum())) < 0.03 * both.sum()


def test_hemisphere_cut_follows_the_atlas_hemisphere_map():
    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas

    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))
    th = atlas.structure("TH")["id"]
    points, _ = atlas.region_mesh(th, hemisphere="left")
    hemispheres = atlas.bg.hemispheres
    res = atlas.resolution[2]
    # Boundary between voxels labelled right (2) and left (1) along axis 2: the low face of the first
    # left voxel (voxel i covers [i, i + 1) x res).
    boundary = np.nonzero(hemispheres[60, 40, :] == 1)[0].min()
    assert points[:, 2].min() == pytest.approx(boundary * res, abs=0.5)
    # A real cut: many vertices lie on the boundary, not a few stray ones.
    assert (np.abs(points[:, 2] - boundary * res) < 0.5).sum() > 20


def test_same_scene_twice_gives_identical_pixels():
    spec = scene({"kind": "root"}, {"kind": "region", "regions": ["TH", "CP"], "alpha": 0.7},
                 camera={"preset": "three_quarters"}, anti_aliasing="msaa")
    spec["render"]["anti_aliasing"] = "msaa"
    a = scenerender.render(spec)
    b = scenerender.render(spec)
    assert a.shape == (300, 400, 3)
    assert np.array_equal(a, b)


def test_transparent_background_has_alpha():
    image = scenerender.render(scene({"kind": "region", "regions": "CB"}, background="transparent"))
    assert image.shape == (300, 400, 4)
    assert image[0, 0, 3] == 0 and image[-1, -1, 3] == 0
    assert (image[..., 3] == 255).sum() > 500


def test_zoom_is_absolute_magnification():
    def width(zoom):
        cam = {"preset": "sagittal", "zoom": zoom}
        return np.ptp(columns(red_mask(scenerender.render(scene({"kind": "region", "regions": "TH", "color": RED},
                                                                   camera=cam)))))
    assert width(2.0) / width(1.0) == pytest.approx(2.0, rel=0.05)


def test_printed_camera_renders_the_same_view():
    spec = scene({"kind": "region", "regions": ["TH", "CB"]}, camera={"preset": "three_quarters", "zoom": 1.3})
    plan = scenerender.compile_scene(spec)
    from scenerender.camera import camera_to_scene

    pasted = dict(spec, camera=yaml.safe_load(yaml.safe_dump(camera_to_scene(plan.camera))))
    a = render_plan(plan)
    b = scenerender.render(pasted)
    assert (a != b).any(axis=-1).mean() < 0.001


def test_unknown_region_names_line_and_suggests(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\nactors:\n  - kind: region\n    regions: [TH, Thal, CPP]\n")
    assert main(["render", str(path), "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith(f"{path}:4:")
    assert "actors[0].regions[1]: unknown region 'Thal'" in err[0] and "did you mean" in err[0]
    assert not (tmp_path / "o.png").exists()


def test_region_name_instead_of_acronym_is_explained():
    with pytest.raises(scenerender.SceneError, match="'Thalamus' is the name of region 'TH'"):
        scenerender.compile_scene(scene({"kind": "region", "regions": "Thalamus"}))


def test_unknown_colour_is_located():
    with pytest.raises(scenerender.SceneError, match=r"actors\[0\]\.color: unknown colour 'stealblue'; did you mean 'steelblue'"):
        scenerender.compile_scene(scene({"kind": "region", "regions": "TH", "color": "stealblue"}))


def test_missing_local_atlas_says_where_it_looked(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\natlas:\n  name: allen_mouse_25um\n  brainglobe_dir: bg\n  download: false\n"
                    "actors:\n  - kind: root\n")
    assert main(["render", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:" in err and "allen_mouse_25um" in err
    assert str(tmp_path / "bg" / "brainglobe-atlasapi" / "atlases" / "allen_mouse_25um") in err
    assert "brainglobe install -a allen_mouse_25um" in err


def test_atlas_from_local_folder(tmp_path):
    from scenerender.atlas import EMBEDDED_DIR

    spec = scene({"kind": "region", "regions": "TH", "color": RED})
    spec["atlas"] = {"path": str(EMBEDDED_DIR)}
    assert red_mask(scenerender.render(spec)).sum() > 500


def test_cli_writes_png_of_requested_size_atomically(tmp_path):
    out = tmp_path / "brain.png"
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", "scenes/quickstart.yaml", "-o", str(out),
                             "--size", "320x240", "--print-camera"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert iio.imread(out).shape == (240, 320, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brain.png", "brain.png.scenerender.json"]  # no temporary files left
    camera = yaml.safe_load(result.stdout)["camera"]
    assert set(camera) >= {"position", "focal_point", "view_up", "zoom"}


def test_cli_unwritable_output_fails_cleanly(tmp_path):
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", "scenes/minimal.yaml",
                             "-o", str(tmp_path / "missing" / "x.png")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "does not exist" in result.stderr
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", "scenes/minimal.yaml",
                             "-o", str(tmp_path / "x.bmpx")], capture_output=True, text=True)
    assert result.returncode == 1 and "cannot write .bmpx" in result.stderr


def test_scale_bar_is_true_to_length_in_orthographic_view():
    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas

    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))
    points, _ = atlas.region_mesh(atlas.structure("TH")["id"])
    width_um = float(np.ptp(points[:, 2]))  # left-right extent, seen from the top
    image = scenerender.render(scene({"kind": "region", "regions": "TH", "color": RED},
                                     {"kind": "scale_bar", "length": width_um, "text": " ", "color": [0, 0, 255]},
                                     size=(400, 400)))
    blue = (image[..., 2] > 150) & (image[..., 0] < 80) & (image[..., 1] < 80)
    bar_px = np.ptp(np.nonzero(blue.any(axis=0))[0]) + 1
    region_px = np.ptp(columns(red_mask(image))) + 1
    assert bar_px == pytest.approx(region_px, rel=0.03)


def test_labels_draw_text_at_regions():
    bare = scenerender.render(scene({"kind": "region", "regions": ["TH", "CB"], "color": [200, 200, 200]}))
    labelled = scenerender.render(scene({"kind": "region", "regions": ["TH", "CB"], "color": [200, 200, 200]},
                                        {"kind": "label", "regions": ["TH", "CB"], "color": [255, 0, 0], "size": 24}))
    text = red_mask(labelled) & ~red_mask(bare)
    assert text.sum() > 40
    rows = np.nonzero(text.any(axis=1))[0]
    assert np.ptp(rows) > 40  # two labels, one per region, far apart (TH anterior of CB)


def test_label_texts_must_match_points():
    with pytest.raises(scenerender.SceneError, match="2 texts for 1 points"):
        scenerender.compile_scene(scene({"kind": "label", "points": [[6000, 3000, 5700]], "texts": ["a", "b"]}))


def test_vtk_global_state_changed_by_another_library_does_not_change_pixels():
    """vedo (used by BrainGlobe's mesh generation, e.g. an atlas built in the
    same process) sets VTK's process-wide coincident-topology mode; renders
    before and after must still be identical."""
    from vtkmodules.vtkRenderingCore import vtkMapper

    scene = {"version": 1, "actors": [{"kind": "root", "alpha": 0.3}, {"kind": "region", "regions": ["TH", "CP"]}],
             "camera": {"preset": "top"}}
    before = scenerender.render(scene, size=(160, 120))
    vtkMapper.SetResolveCoincidentTopologyToPolygonOffset()
    vtkMapper.SetResolveCoincidentTopologyPolygonOffsetParameters(5, 5)
    try:
        after = scenerender.render(scene, size=(160, 120))
    finally:
        vtkMapper.SetResolveCoincidentTopologyToOff()
    assert np.array_equal(before, after)
