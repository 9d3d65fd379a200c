"""A source's space is read once at the boundary; volumes are mapped inside spaces.py; errors carry their key.

Expected values come from a first-principles numpy mapping written here (which atlas axis each source axis
runs along, and whether it runs against it), never from scenerender's output.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
from scenerender.camera import CameraError, checked
from scenerender.compile import compile_scene
from scenerender.document import read_scene
from scenerender.errors import SceneError
from scenerender.plan import CameraPlan
from scenerender.sources import SourceContext, SourceError, load_source
from scenerender.spaces import SourceSpace, SpaceError

ATLAS_PAIRS = {"a": 0, "p": 0, "s": 1, "i": 1, "r": 2, "l": 2}
ORIENTATIONS = ["".join(pair[s] for pair, s in zip(order, starts))
                for order in itertools.permutations(("ap", "si", "rl")) for starts in itertools.product((0, 1), repeat=3)]


def on_source_axes(values: np.ndarray, orientation: str) -> np.ndarray:
    """An asr array as a scanner with ``orientation`` stores it: axes reordered, then reversed where they run
    against the atlas (a letter that is not asr's letter on that axis)."""
    axes = [ATLAS_PAIRS[letter] for letter in orientation]
    stack = np.transpose(values, axes)
    flips = tuple(slice(None, None, -1) if letter != "asr"[ATLAS_PAIRS[letter]] else slice(None)
                  for letter in orientation)
    return np.ascontiguousarray(stack[flips])


@pytest.fixture(scope="module")
def atlas() -> SceneAtlas:
    return SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_map_volume_puts_every_voxel_back_on_the_atlas_axes(orientation):
    """Each voxel holds its own asr index, so a wrong flip or order shows as a named mismatch."""
    shape_asr = (3, 4, 5)
    labelled = np.arange(np.prod(shape_asr)).reshape(shape_asr)
    resolution_asr = np.array([10.0, 20.0, 30.0])
    stack = on_source_axes(labelled, orientation)
    resolution = [resolution_asr[ATLAS_PAIRS[letter]] for letter in orientation]
    values, origin, spacing = SourceSpace(orientation, resolution=resolution).map_volume(stack)
    assert np.array_equal(values, labelled), f"{orientation}: voxels not back in asr order"
    assert np.allclose(spacing, resolution_asr)
    assert np.allclose(origin, 0.5 * resolution_asr)  # the centre of voxel (0, 0, 0)


def test_a_space_is_read_once_per_source_and_its_matrix_computed_once(atlas, tmp_path):
    ctx = SourceContext(doc=read_scene({"version": 1}), path=("sources", "cells"), atlas=atlas)
    spec = {"kind": "points", "space": {"orientation": "psl", "resolution": [25, 25, 25], "shape": [528, 320, 456]}}
    space = ctx.space(spec)
    assert ctx.space(spec) is space  # the same object every time for this source
    assert space.matrix() is space.matrix()
    with pytest.raises(ValueError):  # the kept matrix cannot be changed by a caller
        space.matrix()[0, 0] = 2.0
    # and the matrix is the first-principles map: psl at 25 um in a 528 x 320 x 456 space
    source = np.array([[10.0, 20.0, 30.0]])
    expected = [[(528 - 10) * 25, 20 * 25, (456 - 30) * 25]]
    assert np.allclose(space.to_atlas(source), expected)


def test_space_errors_carry_the_key_they_are_about():
    with pytest.raises(SpaceError) as err:
        SourceSpace.from_spec({"orientation": "psx"})
    assert err.value.path == ("space", "orientation")
    rotation = [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    with pytest.raises(SpaceError) as err:
        SourceSpace("asr", affine=rotation).map_volume(np.zeros((2, 2, 2)))
    assert err.value.path == ("space", "affine")
    with pytest.raises(SpaceError) as err:
        SourceSpace("psl").matrix()  # a flip without the size of the source space
    assert err.value.path == ("space",)


def test_camera_errors_carry_the_key_they_are_about():
    camera = CameraPlan((0.0, 0.0, 100.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 30.0, 1e9, False)
    with pytest.raises(CameraError) as err:
        checked(camera)
    assert err.value.key == "zoom"
    with pytest.raises(CameraError) as err:
        checked(CameraPlan((0.0, 0.0, 100.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0), 30.0, 1.0, False))
    assert err.value.key == "view_up"


def test_a_bad_orientation_is_located_at_its_key(atlas, tmp_path):
    (tmp_path / "cells.csv").write_text("x,y,z\n1,2,3\n")
    text = f"version: 1\nsources:\n  cells:\n    kind: points\n    path: {tmp_path / 'cells.csv'}\n" \
           "    space:\n      orientation: aal\n"
    ctx = SourceContext(doc=read_scene(text), path=("sources", "cells"), atlas=atlas)
    spec = {"kind": "points", "path": str(tmp_path / "cells.csv"), "space": {"orientation": "aal"}}
    with pytest.raises(SourceError) as err:
        load_source("cells", spec, ctx=ctx)
    (problem,) = err.value.problems
    assert problem.path == "sources.cells.space.orientation" and problem.line == 7
    assert "'aal' is not an orientation" in problem.message


def test_a_camera_error_is_located_at_the_key_the_scene_gives(tmp_path):
    scene = ("version: 1\natlas: {name: embedded}\nactors:\n  - kind: root\ncamera:\n"
             "  position: [0, 0, 0]\n  focal_point: [0, 0, 100]\n  view_up: [0, 0, 1]\n")
    with pytest.raises(SceneError) as err:
        compile_scene(scene, size=(64, 64))
    (problem,) = err.value.problems
    assert problem.path == "camera.view_up" and problem.line == 8, str(err.value)


@pytest.mark.parametrize("shape", [(100_000, 3), (3,), (1, 3), (0, 3)])
def test_affine_by_columns_equals_the_matrix_product(shape):
    """The column-wise map (no BLAS threads) gives numpy's matrix product, to rounding."""
    from scenerender.spaces import apply_affine, column_bounds

    rng = np.random.default_rng(7)
    points = rng.uniform(-20_000, 20_000, shape)
    linear, offset = rng.normal(size=(3, 3)), rng.normal(size=3) * 1000
    got = apply_affine(points, linear, offset)
    want = np.einsum("ij,...j->...i", linear, points) + offset
    assert got.shape == want.shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    if points.ndim == 2 and len(points):
        lo, hi = column_bounds(points)
        assert np.array_equal(lo, points.min(axis=0)) and np.array_equal(hi, points.max(axis=0))


def test_brain_mask_answers_as_the_annotation_does():
    """The bit-packed inside-brain test against the annotation itself, voxel by voxel (int(um / res))."""
    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))
    annotation = np.asarray(atlas.bg.annotation)
    res = np.array(atlas.resolution)
    rng = np.random.default_rng(3)
    extent = np.array(annotation.shape) * res
    points = rng.uniform(-500, extent + 500, (50_000, 3))  # some beyond the volume on every side
    index = np.floor(points / res).astype(int)
    in_volume = ((index >= 0) & (index < annotation.shape)).all(axis=1)
    want = np.zeros(len(points), dtype=bool)
    want[in_volume] = annotation[tuple(index[in_volume].T)] != 0
    got = atlas.in_brain(points)
    assert 0.2 < want.mean() < 0.8  # both sides are tested
    assert np.array_equal(got, want)


@pytest.mark.parametrize("resolution", [(1.0, 1.0, 1.0), (25.0, 10.0, 3.5), (0.5, 100.0, 7.25)])
@pytest.mark.parametrize("shape", [None, (10, 20, 30)])
def test_atlas_axes_matrix_is_brainglobe_spaces(resolution, shape):
    """A source on the atlas's own axes (asr) skips importing brainglobe-space: its matrix must be
    the one brainglobe-space gives (and keep the offset)."""
    from brainglobe_space import AnatomicalSpace

    space = SourceSpace.from_spec({"orientation": "asr", "resolution": list(resolution), "offset": [5.0, -3.0, 2.0]})
    want = AnatomicalSpace("asr", shape=shape, resolution=resolution).transformation_matrix_to(
        AnatomicalSpace("asr", resolution=(1.0, 1.0, 1.0)))
    shift = np.eye(4)
    shift[:3, 3] = np.array([5.0, -3.0, 2.0]) / np.array(resolution)
    assert np.allclose(space.matrix(shape), want @ shift, rtol=0, atol=1e-12)
    assert space.flipped_axes() == []


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_axes_description_is_brainglobe_spaces(orientation):
    from brainglobe_space import AnatomicalSpace

    from scenerender.spaces import anatomical_direction, axes_description

    assert axes_description(orientation) == tuple(AnatomicalSpace(orientation).axes_description)
    # and the directions follow: 'anterior' points along the axis that runs towards a
    for name in ("anterior", "posterior", "superior", "inferior", "left", "right"):
        vec = anatomical_direction(name, orientation)
        (axis,) = np.nonzero(vec)[0]
        start, end = AnatomicalSpace(orientation).axes_description[axis]
        assert (vec[axis] > 0) == (end == name[0]) and name[0] in (start, end)
