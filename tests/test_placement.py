"""Exact placement: one voxel convention, proven in all 48 orientations.

The convention (docs/guides/data-spaces.md, "What a coordinate means"): along each source axis,
coordinate ``x`` (source units) is ``x * resolution + offset`` microns from
where that axis starts; voxel ``i`` of a volume covers ``[i, i + 1)`` units
and its centre is ``i + 1/2``. The expected atlas microns here come from a
first-principles mapping written in this file (numpy only: which atlas axis
each source axis runs along, and whether it runs against it), never from
scenerender's output.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import scenerender
from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
from scenerender.document import read_scene
from scenerender.sources import SourceContext, load_source

ATLAS = "asr"
PAIRS = {"a": ("a", "p"), "p": ("a", "p"), "s": ("s", "i"), "i": ("s", "i"), "l": ("r", "l"), "r": ("r", "l")}


def all_orientations() -> list[str]:
    """The 48 brainglobe-space orientations: axis order x start of each axis."""
    out = []
    for order in itertools.permutations(["ap", "si", "rl"]):
        for starts in itertools.product((0, 1), repeat=3):
            out.append("".join(pair[s] for pair, s in zip(order, starts)))
    assert len(set(out)) == 48
    return out


ORIENTATIONS = all_orientations()


def axis_map(orientation: str) -> list[tuple[int, bool]]:
    """For each source axis: (atlas axis it runs along, whether it runs against the atlas's direction)."""
    result = []
    for letter in orientation:
        atlas_axis = next(k for k, a in enumerate(ATLAS) if a in PAIRS[letter])
        result.append((atlas_axis, letter != ATLAS[atlas_axis]))
    return result


def source_to_atlas(coords, orientation, resolution, offset, shape) -> np.ndarray:
    """First-principles map: source units -> atlas microns."""
    coords = np.asarray(coords, dtype=float).reshape(-1, 3)
    out = np.zeros_like(coords)
    for k, (axis, flipped) in enumerate(axis_map(orientation)):
        um = coords[:, k] * resolution[k] + offset[k]
        out[:, axis] = shape[k] * resolution[k] - um if flipped else um
    return out


def atlas_to_source(atlas_um, orientation, resolution, offset, shape) -> np.ndarray:
    atlas_um = np.asarray(atlas_um, dtype=float).reshape(-1, 3)
    out = np.zeros_like(atlas_um)
    for k, (axis, flipped) in enumerate(axis_map(orientation)):
        um = shape[k] * resolution[k] - atlas_um[:, axis] if flipped else atlas_um[:, axis]
        out[:, k] = (um - offset[k]) / resolution[k]
    return out


def restack(values: np.ndarray, orientation: str) -> np.ndarray:
    """An asr array as a scanner with ``orientation`` would store it (transpose, then flips)."""
    amap = axis_map(orientation)
    stack = np.transpose(values, [axis for axis, _ in amap])
    return np.ascontiguousarray(stack[tuple(slice(None, None, -1) if f else slice(None) for _, f in amap)])


# Anisotropic voxels and an offset of the original, declared on the atlas axes.
ATLAS_RES = np.array([100.0, 80.0, 120.0])
ATLAS_OFFSET = np.array([130.0, -70.0, 45.0])
PAD = 7  # voxels of the full source space beyond the crop, on flipped axes


def redeclared_space(orientation: str, n_atlas: np.ndarray) -> dict:
    """The space a re-stacked copy of the original is declared in, so that it lands where the original does."""
    resolution, offset, shape = [], [], []
    for axis, flipped in axis_map(orientation):
        r = ATLAS_RES[axis]
        resolution.append(r)
        if flipped:
            # full space of n + PAD voxels; crop offset chosen so that N r - offset = n r + original offset
            shape.append(int(n_atlas[axis] + PAD))
            offset.append(PAD * r - ATLAS_OFFSET[axis])
        else:
            shape.append(int(n_atlas[axis] + PAD))
            offset.append(ATLAS_OFFSET[axis])
    return {"orientation": orientation, "resolution": resolution, "offset": offset, "shape": shape}


@pytest.fixture(scope="module")
def atlas() -> SceneAtlas:
    return SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))


def load(atlas, spec):
    ctx = SourceContext(doc=read_scene({"version": 1}), path=("sources", "data"), atlas=atlas)
    return load_source("data", spec, ctx=ctx)


@pytest.fixture(scope="module")
def sample_volume(shared_data):
    import tifffile

    return tifffile.imread(shared_data / "volumes" / "brainmapper_registration" / "downsampled_standard.tiff")


def test_first_principles_map_round_trips():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 1000, (50, 3))
    for o in ORIENTATIONS:
        res, off, shape = [3.0, 5.0, 7.0], [10.0, -20.0, 30.0], [400, 300, 200]
        assert np.allclose(source_to_atlas(atlas_to_source(pts, o, res, off, shape), o, res, off, shape), pts)
    # and it is not the identity for a flip: 'psl' sends a = 0 to the far end
    assert source_to_atlas([[0, 0, 0]], "psl", [1, 1, 1], [0, 0, 0], [10, 10, 10])[0, 0] == 10


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_volume_voxel_centres_land_where_the_original_does(atlas, tmp_path, sample_volume, orientation):
    """Every voxel centre of a re-declared real volume maps to the original's atlas microns."""
    n = np.array(sample_volume.shape)
    stack = restack(sample_volume, orientation)
    np.save(tmp_path / "v.npy", stack)
    space = redeclared_space(orientation, n)
    got = load(atlas, {"kind": "volume", "path": str(tmp_path / "v.npy"), "space": space})
    # Expected: original voxel (i, j, k) centre at (index + 1/2) * res + offset, holding sample_volume[i, j, k].
    assert np.array_equal(got.values, sample_volume)
    expected_origin = 0.5 * ATLAS_RES + ATLAS_OFFSET
    assert np.abs(np.asarray(got.origin) - expected_origin).max() < 1e-6
    assert np.abs(np.asarray(got.spacing) - ATLAS_RES).max() < 1e-9
    # And the same from the first-principles map of the stack's own voxel centres (corners of the stack):
    for idx in itertools.product(*[(0, s - 1) for s in stack.shape]):
        centre = source_to_atlas(np.array(idx) + 0.5, orientation, space["resolution"], space["offset"], space["shape"])[0]
        original_index = np.round((centre - ATLAS_OFFSET) / ATLAS_RES - 0.5).astype(int)
        assert sample_volume[tuple(original_index)] == stack[idx]
        assert np.abs(got.origin + original_index * ATLAS_RES - centre).max() < 1e-6


def test_volume_with_a_wrong_shape_lands_elsewhere(atlas, tmp_path, sample_volume):
    """The check above can fail: a flipped axis declared with one voxel too many is one voxel off."""
    stack = restack(sample_volume, "psl")
    np.save(tmp_path / "v.npy", stack)
    space = redeclared_space("psl", np.array(sample_volume.shape))
    space["shape"][0] += 1
    got = load(atlas, {"kind": "volume", "path": str(tmp_path / "v.npy"), "space": space})
    assert np.abs(np.asarray(got.origin) - (0.5 * ATLAS_RES + ATLAS_OFFSET)).max() == pytest.approx(100.0)


def _original_volume_spec(shared_data):
    return {"kind": "volume",
            "path": str(shared_data / "volumes" / "brainmapper_registration" / "downsampled_standard.tiff"),
            "space": {"orientation": "asr", "resolution": ATLAS_RES.tolist(), "offset": ATLAS_OFFSET.tolist()}}


def _volume_scene(source: dict) -> dict:
    return {"version": 1, "sources": {"v": source},
            "actors": [{"kind": "volume", "source": "v", "mode": "render", "cmap": "magma"}],
            "camera": {"preset": "three_quarters"},
            "render": {"size": [160, 120], "anti_aliasing": "none", "background": "black"}}


@pytest.fixture(scope="module")
def original_volume_image(shared_data):
    return scenerender.render(_volume_scene(_original_volume_spec(shared_data)))


@pytest.mark.slow
@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_volume_redeclared_renders_pixel_identical(tmp_path, shared_data, sample_volume, original_volume_image,
                                                    orientation):
    np.save(tmp_path / "v.npy", restack(sample_volume, orientation))
    space = redeclared_space(orientation, np.array(sample_volume.shape))
    image = scenerender.render(_volume_scene({"kind": "volume", "path": str(tmp_path / "v.npy"), "space": space}))
    assert (np.asarray(original_volume_image) > 0).any()
    assert np.array_equal(np.asarray(image), np.asarray(original_volume_image))


# -------------------------------------------------------------------- cells


CELL_RES = np.array([5.0, 2.0, 3.5])  # per source axis (anisotropic)


def _cell_space(orientation: str) -> dict:
    # The full source space covers the atlas (13200 x 8000 x 11400 um) with some margin.
    extent = np.array([13200.0, 8000.0, 11400.0])
    shape, offset = [], []
    for k, (axis, flipped) in enumerate(axis_map(orientation)):
        shape.append(int(np.ceil((extent[axis] + 500) / CELL_RES[k])))
        offset.append([250.0, 125.0, 60.0][axis] * (1 if flipped else -1))
    return {"orientation": orientation, "resolution": CELL_RES.tolist(), "offset": offset, "shape": shape}


@pytest.fixture(scope="module")
def cells_um(shared_data):
    return np.load(shared_data / "cells" / "brainrender_points.npy").astype(float)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_cells_redeclared_map_to_the_same_atlas_microns(atlas, tmp_path, cells_um, orientation):
    space = _cell_space(orientation)
    coords = atlas_to_source(cells_um, orientation, space["resolution"], space["offset"], space["shape"])
    np.save(tmp_path / "cells.npy", coords)
    got = load(atlas, {"kind": "points", "path": str(tmp_path / "cells.npy"), "space": space})
    points = np.asarray(got.points)
    assert np.abs(points - cells_um).max() < 1e-6


def _cells_scene(source: dict) -> dict:
    return {"version": 1, "sources": {"c": source},
            "actors": [{"kind": "points", "source": "c", "radius": 60, "color": "crimson"}],
            "camera": {"preset": "three_quarters"}, "render": {"size": [160, 120], "anti_aliasing": "none"}}


@pytest.mark.slow
@pytest.mark.parametrize("orientation", ORIENTATIONS[::5])
def test_cells_redeclared_render_pixel_identical(tmp_path, shared_data, cells_um, orientation):
    original = scenerender.render(_cells_scene({"kind": "points",
                                                "path": str(shared_data / "cells" / "brainrender_points.npy")}))
    space = _cell_space(orientation)
    coords = atlas_to_source(cells_um, orientation, space["resolution"], space["offset"], space["shape"])
    np.save(tmp_path / "cells.npy", coords)
    image = scenerender.render(_cells_scene({"kind": "points", "path": str(tmp_path / "cells.npy"), "space": space}))
    assert np.array_equal(np.asarray(image), np.asarray(original))


# ------------------------------------------------------------ mapping report


def _report_scene(tmp_path, sources: dict) -> "object":
    from scenerender.compile import load_scene
    from scenerender.document import read_scene

    text = "version: 1\nsources:\n" + "".join(f"  {name}: {spec}\n" for name, spec in sources.items()) + \
        "actors:\n  - {kind: root}\n"
    path = tmp_path / "scene.yaml"
    path.write_text(text)
    return load_scene(read_scene(path))


@pytest.mark.parametrize("neuron_id", ["AA0052", "AA1506", "AA1507"])
def test_report_passes_mouselight_neurons_declared_as_exported(tmp_path, shared_data, neuron_id):
    from scenerender.mapping_report import mapping_report

    path = shared_data / "neurons" / "mouselight_json" / f"{neuron_id}.json"
    (report,) = mapping_report(_report_scene(tmp_path, {"n": f"{{kind: neuron, path: '{path}', "
                                                             "space: {orientation: rsa}}"}))
    assert report.labelled >= 0.6 and report.warning is None


@pytest.mark.parametrize("neuron_id", ["AA0052", "AA1506", "AA1507"])
def test_report_names_the_orientation_of_neurons_declared_in_atlas_order(tmp_path, shared_data, neuron_id):
    from scenerender.mapping_report import mapping_report

    path = shared_data / "neurons" / "mouselight_json" / f"{neuron_id}.json"
    (report,) = mapping_report(_report_scene(tmp_path, {"n": f"{{kind: neuron, path: '{path}'}}"}))
    # MouseLight exports x = left-right (origin right), y = dorsal-ventral, z = anterior-posterior: 'rsa'.
    assert report.warning is not None and "orientation: rsa" in report.warning
    assert report.warning.startswith(str(tmp_path / "scene.yaml") + ":3:")
    assert "left-right mirror cannot be detected" in report.warning


def test_report_names_the_column_order_of_heatmap_cells(tmp_path, shared_data):
    from scenerender.mapping_report import mapping_report

    import pandas as pd

    # The real cells with their acronyms, read here by pandas (scenerender never unpickles the HDFStore's
    # text column) and written as CSV.
    path = tmp_path / "cells.csv"
    pd.read_hdf(shared_data / "cells" / "heatmap_cell_counts.h5", "df").to_csv(path, index=False)
    good, bad = mapping_report(_report_scene(tmp_path, {
        "good": f"{{kind: points, path: '{path}', columns: [x, y, z], region_column: region}}",
        "bad": f"{{kind: points, path: '{path}', columns: [z, y, x], region_column: region}}"}))
    # Expected independently: the labels against the annotation as the table's columns say.
    assert good.warning is None and good.labelled > 0.9
    assert bad.warning is not None and "columns: [x, y, z]" in bad.warning and ":4:" in bad.warning


def test_report_is_quiet_for_unlabelled_data_in_the_brain(tmp_path, shared_data):
    from scenerender.mapping_report import mapping_report

    path = shared_data / "cells" / "brainrender_points.npy"
    (report,) = mapping_report(_report_scene(tmp_path, {"c": f"{{kind: points, path: '{path}'}}"}))
    assert report.labelled is None and report.inside > 0.9 and report.warning is None


def test_check_space_command_exit_status_and_located_warning(tmp_path, shared_data):
    import subprocess
    import sys

    path = shared_data / "neurons" / "mouselight_json" / "AA1506.json"
    scene = tmp_path / "scene.yaml"
    scene.write_text(f"version: 1\nsources:\n  n: {{kind: neuron, path: '{path}'}}\nactors:\n  - {{kind: root}}\n")
    done = subprocess.run([sys.executable, "-m", "scenerender", "check-space", str(scene)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{scene}:3:" in done.stderr and "rsa" in done.stderr
    assert "in their labelled major division" in done.stdout
