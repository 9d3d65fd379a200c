"""Per-process caches (scenerender.cache): one opened atlas for every render in a
process, seen afresh when its files change; the compact inside-brain test."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import scenerender
from scenerender import cache
from scenerender.atlas import EMBEDDED_DIR, EMBEDDED_NAME, AtlasRequest

SCENE = {"version": 1, "actors": [{"kind": "region", "regions": "TH", "color": "red"}],
         "camera": {"preset": "top"}, "render": {"size": [96, 72], "anti_aliasing": "none"}}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_second_render_reuses_the_opened_atlas_and_draws_the_same():
    first = scenerender.render(SCENE)
    second = scenerender.render(SCENE)
    assert cache.stats()["misses"] == 1 and cache.stats()["hits"] >= 1
    assert np.array_equal(first, second)


@pytest.fixture
def atlas_copy(tmp_path):
    """A private copy of the embedded atlas, to change on disk."""
    shutil.copytree(EMBEDDED_DIR / "brainglobe-atlasapi", tmp_path / "brainglobe-atlasapi")
    manifest = next((tmp_path / "brainglobe-atlasapi" / "atlases").glob("*/*/manifest.json"))
    return tmp_path, manifest


def test_atlas_changed_on_disk_is_opened_again(atlas_copy):
    folder, manifest = atlas_copy
    request = AtlasRequest(path=folder)
    first = cache.atlas_for(request)
    assert cache.atlas_for(request) is first
    # The same atlas rebuilt in place: another manifest (another citation) under the same name.
    meta = json.loads(manifest.read_text())
    meta["citation"] = "rebuilt"
    manifest.write_text(json.dumps(meta))
    again = cache.atlas_for(request)
    assert again is not first
    assert again.bg.metadata["citation"] == "rebuilt"
    assert cache.stats()["atlases"] == 1, "the stale entry is dropped, not kept beside the new one"


def test_cache_holds_at_most_max_atlases(atlas_copy, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ATLASES", 1)
    folder, _ = atlas_copy
    embedded = cache.atlas_for(AtlasRequest(name="embedded"))
    cache.atlas_for(AtlasRequest(path=folder))
    assert cache.stats()["atlases"] == 1
    assert cache.atlas_for(AtlasRequest(name="embedded")) is not embedded


def test_cached_meshes_cannot_be_changed_in_place():
    atlas = cache.atlas_for(AtlasRequest(name="embedded"))
    points, faces = atlas.region_mesh(atlas.structure("TH")["id"])
    with pytest.raises(ValueError):
        points[0, 0] = 0.0
    with pytest.raises(ValueError):
        faces[0, 0] = 0


def test_inside_brain_test_agrees_with_the_annotation():
    """Expected from the annotation read directly with brainglobe-atlasapi
    (voxel int(um / 100)), at random points in and around the atlas volume."""
    from brainglobe_atlasapi import BrainGlobeAtlas

    from scenerender._bgcompat import (
        install_structure_tree_builder,
        install_terminology_reader,
    )

    install_terminology_reader()
    install_structure_tree_builder()
    annotation = np.asarray(BrainGlobeAtlas(EMBEDDED_NAME, brainglobe_dir=EMBEDDED_DIR,
                                            check_latest=False).annotation)
    rng = np.random.default_rng(5)
    extent = np.array(annotation.shape) * 100.0
    points = rng.uniform(-300, extent + 300, size=(50_000, 3))
    voxel = np.floor(points / 100.0).astype(int)
    ok = ((voxel >= 0) & (voxel < annotation.shape)).all(axis=1)
    expected = np.zeros(len(points), dtype=bool)
    expected[ok] = annotation[tuple(voxel[ok].T)] != 0
    assert 0.2 < expected.mean() < 0.6, "the sample must test both sides"
    got = cache.atlas_for(AtlasRequest(name="embedded")).in_brain(points)
    assert np.array_equal(got, expected)


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """An empty user cache folder (where derived arrays are kept on disk)."""
    monkeypatch.setenv("SCENERENDER_CACHE_DIR", str(tmp_path / "user-cache"))
    return tmp_path / "user-cache" / "derived"


def _expected_in_brain(points):
    from brainglobe_atlasapi import BrainGlobeAtlas

    from scenerender._bgcompat import install_structure_tree_builder, install_terminology_reader

    install_terminology_reader()
    install_structure_tree_builder()
    annotation = np.asarray(BrainGlobeAtlas(EMBEDDED_NAME, brainglobe_dir=EMBEDDED_DIR,
                                            check_latest=False).annotation)
    voxel = np.floor(points / 100.0).astype(int)
    ok = ((voxel >= 0) & (voxel < annotation.shape)).all(axis=1)
    expected = np.zeros(len(points), dtype=bool)
    expected[ok] = annotation[tuple(voxel[ok].T)] != 0
    return annotation.shape, expected


def test_brain_mask_is_kept_on_disk_and_a_cold_process_reads_it_not_the_annotation(user_cache):
    """A second cold atlas (the process cache emptied, as in a new process) reads the kept
    mask instead of the annotation, and answers as the annotation does."""
    rng = np.random.default_rng(7)
    points = rng.uniform(-300, np.array([132, 80, 114]) * 100.0 + 300, size=(20_000, 3))
    shape, expected = _expected_in_brain(points)
    assert 0.2 < expected.mean() < 0.6
    first = cache.atlas_for(AtlasRequest(name="embedded"))
    assert np.array_equal(first.in_brain(points), expected)
    kept = list(user_cache.glob("scenerender-brainmask-*.npy"))
    assert len(kept) == 1
    assert kept[0].stat().st_size >= shape[0] * shape[1] * ((shape[2] + 7) // 8)
    cache.clear()
    second = cache.atlas_for(AtlasRequest(name="embedded"))
    assert np.array_equal(second.in_brain(points), expected)
    assert getattr(second.bg, "_annotation", None) is None, "the annotation was read, not the kept mask"


def test_a_damaged_kept_mask_is_made_again(user_cache):
    rng = np.random.default_rng(8)
    points = rng.uniform(0, np.array([132, 80, 114]) * 100.0, size=(5_000, 3))
    _, expected = _expected_in_brain(points)
    cache.atlas_for(AtlasRequest(name="embedded")).in_brain(points)
    kept = next(user_cache.glob("scenerender-brainmask-*.npy"))
    kept.write_bytes(b"\x93NUMPY" + b"\x00" * 64)  # truncated: not a mask of this atlas
    cache.clear()
    again = cache.atlas_for(AtlasRequest(name="embedded"))
    assert np.array_equal(again.in_brain(points), expected)
    assert kept.stat().st_size > 1000, "made again and kept"


def test_root_shell_kept_on_disk_is_the_same_shell_and_draws_the_same(user_cache):
    """The root's offset shell read back in a cold process is the one VTK makes (same arrays),
    and the image is pixel-identical."""
    from scenerender.actors import root

    scene = {"version": 1, "actors": [{"kind": "root", "alpha": 0.3}, {"kind": "region", "regions": ["TH"]}],
             "camera": {"preset": "three_quarters"}, "render": {"size": [120, 90], "anti_aliasing": "none"}}
    made = scenerender.render(scene)
    assert len(list(user_cache.glob("scenerender-rootshell-*-points.npy"))) == 1
    cache.clear()
    atlas = cache.atlas_for(AtlasRequest(name="embedded"))
    points, faces = atlas.region_mesh(atlas.root_id)
    # expected: VTK's outward normals of the root mesh, a quarter voxel out, made here directly
    import pyvista as pv

    normals = pv.PolyData.from_regular_faces(points, faces).compute_normals(auto_orient_normals=True)
    expected = np.asarray(normals.points) + normals.point_normals * 25.0
    kept_points, kept_faces = root._shell(atlas)
    assert np.array_equal(kept_points, expected)
    assert np.array_equal(kept_faces, normals.regular_faces)
    cache.clear()
    assert np.array_equal(scenerender.render(scene), made)
