"""The embedded Allen atlas, and the two brainglobe-atlasapi workarounds.

Everything goes through brainglobe-atlasapi itself on the committed files in
scenerender/embedded_atlas; the comparisons with Allen's own data use
../shared/data and skip without it.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from scenerender import _bgcompat
from scenerender._bgcompat import (
    TERMINOLOGY_PATCH_VERSIONS,
    install_terminology_reader,
    load_structures_from_csv_uint32,
    offline_atlas_link_check,
    terminology_patch_needed,
)

REPO = Path(__file__).resolve().parents[1]
EMBEDDED_DIR = REPO / "scenerender" / "embedded_atlas"
ATLAS_NAME = "allen_mouse_scenerender_100um"
ALLEN = Path(__file__).parents[1] / ".." / "shared" / "data" / "allen_ccf_2017"

# Allen structures with ids above 65535 whose parent also has a big id, and
# the deepest chain in the ontology (checked against structure_graph.json
# below when it is present).
SU3 = 614454277  # "Su3", parent 795 (PAG)
BIG_PARENT_ID = 480149202  # VISrll, a parent id > 65535 (children VISrll1, ...)


def _allen(name: str) -> Path:
    path = ALLEN / name
    if not path.exists():
        pytest.skip(f"real Allen data {path.resolve()} is absent (../shared/data)")
    return path


@pytest.fixture(scope="module")
def atlas():
    from brainglobe_atlasapi import BrainGlobeAtlas

    install_terminology_reader()
    return BrainGlobeAtlas(ATLAS_NAME, brainglobe_dir=EMBEDDED_DIR, check_latest=False)


@pytest.fixture(scope="module")
def terminology_csv() -> Path:
    (path,) = EMBEDDED_DIR.glob("brainglobe-atlasapi/terminologies/*/*/terminology.csv")
    return path


@pytest.fixture(scope="module")
def allen_graph() -> dict[int, list[int]]:
    """structure id -> id path, from Allen's nested structure graph."""
    with open(_allen("structure_graph.json"), encoding="utf-8") as f:
        roots = json.load(f)["msg"]
    paths: dict[int, list[int]] = {}

    def walk(node, path):
        paths[node["id"]] = path + [node["id"]]
        for child in node["children"]:
            walk(child, paths[node["id"]])

    for root in roots:
        walk(root, [])
    return paths


# --------------------------------------------------------------------------
# the atlas loads through BrainGlobeAtlas
# --------------------------------------------------------------------------


def test_loads_through_brainglobe(atlas):
    assert atlas.atlas_name == ATLAS_NAME
    assert atlas.shape == (132, 80, 114)
    assert atlas.resolution == (100.0, 100.0, 100.0)
    assert atlas.orientation == "asr"
    assert atlas.metadata["symmetric"] is True
    assert atlas.metadata["citation"].startswith("Wang et al 2020")
    assert atlas.annotation.shape == atlas.template.shape == (132, 80, 114)
    assert atlas.annotation.dtype == np.uint32
    assert atlas.template.dtype == np.uint16
    # the whole Allen ontology is kept, with exactly one root
    assert len(atlas.structures) == 1327
    assert atlas.structures["root"]["id"] == 997
    assert atlas.hierarchy.root == 997
    assert 0 not in atlas.structures


def test_big_ids_have_their_parents(atlas):
    big = [s for s in atlas.structures.values() if s["id"] > 65535]
    assert len(big) == 128
    for s in big:
        path = s["structure_id_path"]
        assert path[-1] == s["id"] and path[0] == 997
        assert s["parent_structure_id"] == path[-2]
        assert atlas.hierarchy.parent(s["id"]).identifier == path[-2]
    assert atlas.structures[SU3]["parent_structure_id"] == 795
    children = [c.identifier for c in atlas.hierarchy.children(BIG_PARENT_ID)]
    assert children and all(
        atlas.structures[c]["parent_structure_id"] == BIG_PARENT_ID for c in children
    )


def test_big_ids_match_allen_structure_graph(atlas, allen_graph):
    assert set(atlas.structures.keys()) == set(allen_graph)
    for sid, path in allen_graph.items():
        if sid > 65535 or (len(path) > 1 and path[-2] > 65535):
            assert atlas.structures[sid]["structure_id_path"] == path
            parent = path[-2] if len(path) > 1 else None
            assert atlas.structures[sid]["parent_structure_id"] == parent


def test_template_is_synthetic_and_zero_outside(atlas):
    template, annotation = atlas.template, atlas.annotation
    assert np.all(template[annotation == 0] == 0)
    assert template.max() > 128  # BrainGlobe's own rescaling check
    assert np.all(template % 257 == 0)  # 8-bit levels stored as uint16


# --------------------------------------------------------------------------
# the 16-bit terminology trap
# --------------------------------------------------------------------------


def test_affected_version_range():
    assert TERMINOLOGY_PATCH_VERSIONS == "<=3.0.2"
    assert terminology_patch_needed("3.0.2")
    assert terminology_patch_needed("2.0.0")
    assert not terminology_patch_needed("3.0.3")
    assert not terminology_patch_needed("3.1.0rc1")


def test_upstream_reader_fails_on_this_terminology(terminology_csv):
    from brainglobe_atlasapi.utils import load_structures_from_csv

    if not terminology_patch_needed():
        pytest.skip("installed brainglobe-atlasapi is outside the affected range")
    with pytest.raises(TypeError, match="cannot safely cast non-equivalent int64 to uint16"):
        load_structures_from_csv(terminology_csv)
    structures = {s["id"]: s for s in load_structures_from_csv_uint32(terminology_csv)}
    assert structures[SU3]["parent_structure_id"] == 795
    assert structures[SU3]["structure_id_path"][-2:] == [795, SU3]
    for s in structures.values():
        path = s["structure_id_path"]
        parent = s["parent_structure_id"]
        assert (parent is None) if len(path) == 1 else parent == path[-2]


def test_replacement_parses_like_upstream(terminology_csv, tmp_path):
    """Where upstream can read the file at all, both readers agree exactly."""
    from brainglobe_atlasapi.utils import load_structures_from_csv

    table = pd.read_csv(terminology_csv, dtype=str, keep_default_na=False)
    small = table[table.parent_identifier.map(lambda p: p == "" or int(p) <= 65535)]
    path = tmp_path / "terminology.csv"
    small.to_csv(path, index=False)
    upstream = load_structures_from_csv(path)
    ours = load_structures_from_csv_uint32(path)
    assert len(ours) == len(upstream) == len(small)
    for a, b in zip(upstream, ours):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == b[key] and type(a[key]) is type(b[key]), key


def test_atlas_fails_without_the_reader_and_install_is_idempotent(monkeypatch):
    from brainglobe_atlasapi import BrainGlobeAtlas, core, utils

    if not terminology_patch_needed():
        pytest.skip("installed brainglobe-atlasapi is outside the affected range")
    assert install_terminology_reader() is True
    assert install_terminology_reader() is True
    assert core.load_structures_from_csv is load_structures_from_csv_uint32
    assert utils.load_structures_from_csv is not load_structures_from_csv_uint32

    monkeypatch.setattr(core, "load_structures_from_csv", utils.load_structures_from_csv)
    with pytest.raises(TypeError, match="uint16"):
        BrainGlobeAtlas(ATLAS_NAME, brainglobe_dir=EMBEDDED_DIR, check_latest=False)


# --------------------------------------------------------------------------
# annotation, hemispheres, meshes
# --------------------------------------------------------------------------


def test_annotation_is_allen_25um_at_block_centres(atlas):
    import nrrd

    allen, _ = nrrd.read(str(_allen("annotation_25.nrrd")))
    assert allen.shape == (528, 320, 456)
    np.testing.assert_array_equal(atlas.annotation, allen[2::4, 2::4, 2::4])


def test_hemispheres_left_is_high_axis2(atlas):
    hemispheres = atlas.hemispheres
    assert hemispheres.shape == atlas.shape
    assert set(np.unique(hemispheres)) == {1, 2}
    assert np.all(hemispheres[:, :, 57:] == 1)  # left
    assert np.all(hemispheres[:, :, :57] == 2)  # right
    assert atlas.hemisphere_from_coords((66, 40, 110), as_string=True) == "left"
    assert atlas.hemisphere_from_coords((6600, 4000, 500), microns=True) == 2


def _has_voxels(atlas) -> set[int]:
    present = set(np.unique(atlas.annotation).tolist()) - {0}
    found: set[int] = set()
    for sid in present:
        found.update(atlas.structures[sid]["structure_id_path"])
    return found


def test_mesh_files_exist_exactly_for_structures_with_voxels(atlas):
    with_voxels = _has_voxels(atlas)
    with_mesh = {s for s in atlas.structures if atlas.meshfile_from_structure(s).exists()}
    assert with_mesh == with_voxels
    assert len(with_mesh) == 836
    # e.g. FRP6b has no voxel at 100 um: it is in the ontology but has no mesh
    assert not atlas.meshfile_from_structure("FRP6b").exists()


def test_root_mesh_matches_annotation_extent(atlas):
    points = atlas.mesh_from_structure("root").points
    idx = np.array(np.nonzero(atlas.annotation))
    # voxel i covers [i, i + 1) x 100 um: the brain spans from the low face of its first voxel
    # to the high face of its last
    low, high = idx.min(axis=1) * 100.0, (idx.max(axis=1) + 1) * 100.0
    np.testing.assert_allclose(points.min(axis=0), low, atol=100)
    np.testing.assert_allclose(points.max(axis=0), high, atol=100)


def _obj_vertices(path: Path) -> np.ndarray:
    with open(path) as f:
        return np.array([line.split()[1:4] for line in f if line.startswith("v ")], float)


@pytest.mark.parametrize("acronym", ["TH", "CP", "VISp", "HIP", "CB", "MOs", "OLF", "HY", "MB", "STR"])
def test_region_meshes_match_allen_meshes(atlas, acronym):
    sid = atlas.structures[acronym]["id"]
    allen = _obj_vertices(_allen(f"meshes/{sid}.obj"))
    ours = atlas.mesh_from_structure(acronym).points
    assert len(ours) > 100
    # within two voxels (200 um) on every side of the bounding box
    np.testing.assert_allclose(ours.min(axis=0), allen.min(axis=0), atol=200)
    np.testing.assert_allclose(ours.max(axis=0), allen.max(axis=0), atol=200)


# --------------------------------------------------------------------------
# offline atlas_link check while packaging
# --------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails at once, as on a machine without network."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _metadata(atlas_link: str, citation: str = "Wang et al 2020, https://doi.org/10.1016/j.cell.2020.04.007"):
    from brainglobe_atlasapi.atlas_generation.atlas_packaging_data import (
        AnnotationInfo,
        CoordinateSpaceInfo,
        TemplateInfo,
        TerminologyInfo,
    )
    from brainglobe_atlasapi.atlas_generation.metadata_utils import generate_metadata_dict

    template = TemplateInfo(name="t_mouse-template", version="3.0")
    terminology = TerminologyInfo(name="t_mouse-terminology", version="3.0")
    return generate_metadata_dict(
        name="t_mouse",
        location="/atlases/t_mouse_100um/3_0",
        citation=citation,
        atlas_link=atlas_link,
        species="Mus musculus",
        symmetric=True,
        resolution=(100, 100, 100),
        orientation="asr",
        version="3.0",
        shape=(4, 4, 4),
        additional_references=[],
        atlas_packager="scenerender",
        coordinate_space=CoordinateSpaceInfo(name="t_mouse-space", version="3.0", template=template),
        terminology=terminology,
        annotation_set=AnnotationInfo(
            name="t_mouse-annotation", version="3.0", template=template, terminology=terminology
        ),
        template=template,
    )


def test_published_atlas_metadata_needs_network_upstream(no_network):
    with pytest.raises(requests.exceptions.ConnectionError):
        _metadata("https://www.brain-map.org")


def test_offline_atlas_link_check_succeeds_offline(no_network):
    from brainglobe_atlasapi.atlas_generation import metadata_utils

    with offline_atlas_link_check():
        assert requests.get is not metadata_utils.requests.get  # only that name
        metadata = _metadata("https://www.brain-map.org")
    assert metadata["atlas_link"] == "https://www.brain-map.org"
    assert metadata["citation"].endswith("10.1016/j.cell.2020.04.007")
    assert metadata_utils.requests is requests  # restored


@pytest.mark.parametrize("bad_link", ["www.brain-map.org", "https://", "http://a b.org/", "brain-map"])
def test_offline_atlas_link_check_still_rejects_malformed_links(no_network, bad_link):
    from brainglobe_atlasapi.atlas_generation import metadata_utils

    with offline_atlas_link_check():
        with pytest.raises(requests.exceptions.InvalidURL):
            _metadata(bad_link)
    assert metadata_utils.requests is requests


def test_offline_atlas_link_check_restores_on_error():
    from brainglobe_atlasapi.atlas_generation import metadata_utils

    with pytest.raises(RuntimeError):
        with offline_atlas_link_check():
            raise RuntimeError("boom")
    assert metadata_utils.requests is requests
    assert _bgcompat.offline_atlas_link_check is offline_atlas_link_check


def test_linear_structure_tree_is_identical_to_upstream():
    from brainglobe_atlasapi.structure_tree_util import get_structures_tree

    from scenerender._bgcompat import structures_tree_linear
    from scenerender.atlas import AtlasRequest, open_bg_atlas

    structures = open_bg_atlas(AtlasRequest(name="embedded")).structures_list
    upstream, ours = get_structures_tree(structures), structures_tree_linear(structures)
    assert list(ours.nodes) == list(upstream.nodes)  # same insertion order
    for node in upstream.nodes:
        if node != upstream.root:
            assert ours.parent(node).identifier == upstream.parent(node).identifier
        assert ours[node].tag == upstream[node].tag
    assert ours.show(stdout=False) == upstream.show(stdout=False)
