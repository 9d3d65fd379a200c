"""Sources in their own anatomical space land where they were recorded.

Real data from ../shared/data: MouseLight neurons, brainglobe-heatmap cells,
brainrender cells and tracks, a brainreg registration output.
"""

from __future__ import annotations

import numpy as np
import pytest

import scenerender
from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
from scenerender.document import read_scene
from scenerender.sources import SourceContext, SourceError, load_source

MAJOR_DIVISIONS = ["Isocortex", "OLF", "HPF", "CTXsp", "STR", "PAL", "TH", "HY", "MB", "P", "MY", "CB",
                   "fiber tracts", "VS"]


@pytest.fixture(scope="module")
def atlas() -> SceneAtlas:
    return SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))


def load(atlas, spec, name="data"):
    ctx = SourceContext(doc=read_scene({"version": 1}), path=("sources", name), atlas=atlas)
    return load_source(name, spec, ctx=ctx)


def division_of(atlas, structure_id):
    structures = atlas.bg.structures
    if structure_id not in structures:
        return None
    ids = {structures[a]["id"]: a for a in MAJOR_DIVISIONS}
    return next((ids[p] for p in structures[structure_id]["structure_id_path"] if p in ids), None)


def related(atlas, a, b) -> bool:
    """a is b, or an ancestor or descendant of it."""
    structures = atlas.bg.structures
    if a not in structures or b not in structures:
        return False
    return a in structures[b]["structure_id_path"] or b in structures[a]["structure_id_path"]


def node_agreement(atlas, neuron) -> float:
    found = atlas.structure_ids_at(neuron.nodes)
    pairs = [(division_of(atlas, int(f)), division_of(atlas, int(label)))
             for f, label in zip(found, neuron.node_regions) if division_of(atlas, int(label))]
    return float(np.mean([f == label for f, label in pairs]))


@pytest.mark.parametrize("neuron_id", ["AA0052", "AA1506", "AA1507"])
def test_mouselight_json_neuron_lands_in_its_labelled_regions(atlas, shared_data, neuron_id):
    path = shared_data / "neurons" / "mouselight_json" / f"{neuron_id}.json"
    # MouseLight writes x = left-right, y = dorsal-ventral, z = anterior-posterior (CCF microns).
    neuron = load(atlas, {"kind": "neuron", "path": str(path), "space": {"orientation": "rsa"}})
    # Soma: in its labelled region or one related to it, within 2 voxels (labels come from an
    # older CCF version and the embedded atlas is 100 um).
    centre = np.floor(neuron.soma / np.array(atlas.resolution)).astype(int)
    around = atlas.bg.annotation[tuple(slice(c - 2, c + 3) for c in centre)]
    assert any(related(atlas, int(i), int(neuron.soma_region)) for i in np.unique(around)), \
        f"soma of {neuron_id} is nowhere near region {neuron.soma_region}"
    assert node_agreement(atlas, neuron) >= 0.6
    # The classic mistake, reading x, y, z as the atlas axes, is caught by the same measure.
    wrong = load(atlas, {"kind": "neuron", "path": str(path), "space": "atlas"})
    assert node_agreement(atlas, wrong) < 0.3


def test_mouselight_swc_matches_its_json_export(atlas, shared_data):
    space = {"orientation": "rsa"}
    swc = load(atlas, {"kind": "neuron", "path": str(shared_data / "neurons/mouselight_swc/AA1506.swc"), "space": space})
    js = load(atlas, {"kind": "neuron", "path": str(shared_data / "neurons/mouselight_json/AA1506.json"), "space": space})
    assert np.allclose(swc.soma, js.soma, atol=1.0)
    # The same reconstruction: every SWC node has a JSON node within a micron.
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(js.nodes).query(swc.nodes)
    assert np.percentile(distance, 99) < 1.0


def test_heatmap_cells_land_in_their_labelled_regions(atlas, shared_data):
    import nrrd
    import pandas as pd

    path = shared_data / "cells" / "heatmap_cell_counts.h5"
    cells = load(atlas, {"kind": "points", "path": str(path), "key": "df", "columns": ["x", "y", "z"],
                         "space": "atlas", "cell_type": "cells"})
    labels = pd.read_hdf(path, "df")["region"].to_numpy()
    # The labels were assigned on the 25 um Allen annotation; look the mapped cells up there
    # (the embedded 100 um atlas blurs region borders by up to 50 um).
    annotation, _ = nrrd.read(str(shared_data / "allen_ccf_2017" / "annotation_25.nrrd"))
    index = np.floor(cells.points / 25.0).astype(int)
    found = annotation[tuple(index.T)]
    structures = atlas.bg.structures
    ok = [int(f) in structures and structures[label]["id"] in structures[int(f)]["structure_id_path"]
          for f, label in zip(found, labels)]
    assert np.mean(ok) >= 0.9


def test_points_declared_in_another_space_render_identically(tmp_path, shared_data):
    atlas_um = np.load(shared_data / "cells" / "brainrender_points.npy")
    # Write the same cells as a psl stack would index them: 5 x 2 x 2 um voxels, cropped at an offset.
    resolution = np.array([5.0, 2.0, 2.0])
    shape = np.array([13200, 8000, 11400]) / resolution       # the full atlas extent, in these voxels
    offset_um = np.array([1000.0, 500.0, 2000.0])              # where the crop starts, along p, s, l
    psl_full = np.column_stack([13200 - atlas_um[:, 0], atlas_um[:, 1], 11400 - atlas_um[:, 2]])
    psl = (psl_full - offset_um) / resolution
    np.savetxt(tmp_path / "cells_psl.csv", psl, delimiter=",", header="p,s,l", comments="")

    def scene(source):
        return {"version": 1, "sources": {"cells": source},
                "actors": [{"kind": "root", "alpha": 0.2}, {"kind": "points", "source": "cells", "radius": 40}],
                "camera": {"preset": "three_quarters"}, "render": {"size": [400, 300], "anti_aliasing": "none"}}

    original = scenerender.render(scene({"kind": "points", "path": str(shared_data / "cells/brainrender_points.npy")}))
    declared = scenerender.render(scene({
        "kind": "points", "path": str(tmp_path / "cells_psl.csv"), "columns": ["p", "s", "l"],
        "space": {"orientation": "psl", "resolution": resolution.tolist(), "offset": offset_um.tolist(),
                  "shape": shape.astype(int).tolist()}}))
    assert np.array_equal(original, declared)


def test_registration_volume_is_aligned_with_the_atlas(atlas, shared_data):
    path = shared_data / "volumes" / "brainmapper_registration" / "downsampled_standard.tiff"
    volume = load(atlas, {"kind": "volume", "path": str(path),
                          "space": {"orientation": "asr", "resolution": [100, 100, 100]}})
    # voxel (0, 0, 0) covers [0, 100) um on each axis: its centre is at 50 um
    assert np.allclose(volume.origin, 50) and np.allclose(volume.spacing, 100)
    threshold = float(np.percentile(volume.values, 60))  # tissue vs background
    sample = volume.values > threshold
    brain = atlas.bg.annotation > 0

    def dice(a):
        return 2 * (a & brain).sum() / (a.sum() + brain.sum())
    assert dice(sample) > 0.85
    assert dice(sample[::-1]) < dice(sample) - 0.1  # an anterior-posterior flip would show
    # And drawn: the frontal silhouette of its isosurface covers the root's.
    def silhouette(actor):
        img = scenerender.render({"version": 1, "sources": {"s": {"kind": "volume", "path": str(path),
                                  "space": {"orientation": "asr", "resolution": [100, 100, 100]}}},
                                  "actors": [actor], "camera": {"preset": "frontal", "projection": "orthographic"},
                                  "render": {"size": [300, 200], "anti_aliasing": "none"}})
        return (img < 250).any(axis=-1)
    root = silhouette({"kind": "root", "alpha": 1.0})
    sample_img = silhouette({"kind": "volume", "source": "s", "threshold": threshold})
    iou = (root & sample_img).sum() / (root | sample_img).sum()
    assert iou > 0.8


def test_volume_in_flipped_orientation_maps_back(atlas, tmp_path, shared_data):
    path = shared_data / "volumes" / "brainmapper_registration" / "downsampled_standard.tiff"
    asr = load(atlas, {"kind": "volume", "path": str(path), "space": {"orientation": "asr", "resolution": [100] * 3}})
    # The same stack as 'ipl' would store it (axes s-i, a-p, r-l swapped and flipped), saved as NPY.
    ipl = np.transpose(asr.values, (1, 0, 2))[::-1, ::-1, ::-1]
    np.save(tmp_path / "ipl.npy", ipl)
    back = load(atlas, {"kind": "volume", "path": str(tmp_path / "ipl.npy"),
                        "space": {"orientation": "ipl", "resolution": [100] * 3}})
    assert np.array_equal(back.values, asr.values)
    assert np.abs(back.origin - asr.origin).max() < 1e-9  # exactly, not a voxel off (tests/test_placement.py: all 48)


READER_FORMATS = ["csv", "tsv", "npy", "h5-dataset", "h5-store"]


@pytest.mark.parametrize("fmt", READER_FORMATS)
def test_point_readers_agree(atlas, tmp_path, shared_data, fmt):
    import h5py
    import pandas as pd

    points = np.load(shared_data / "cells" / "brainrender_points.npy")
    table = pd.DataFrame(points, columns=["ap", "dv", "lr"]).assign(intensity=np.arange(len(points)))
    spec = {"kind": "points", "space": "atlas", "columns": ["ap", "dv", "lr"]}
    if fmt == "csv":
        table.to_csv(tmp_path / "p.csv", index=False)
        spec["path"] = str(tmp_path / "p.csv")
    elif fmt == "tsv":
        table.to_csv(tmp_path / "p.tsv", index=False, sep="\t")
        spec["path"] = str(tmp_path / "p.tsv")
    elif fmt == "npy":
        np.save(tmp_path / "p.npy", table.to_numpy())
        spec.update(path=str(tmp_path / "p.npy"), columns=[0, 1, 2])
    elif fmt == "h5-dataset":
        with h5py.File(tmp_path / "p.h5", "w") as f:
            f["cells"] = points
        spec.update(path=str(tmp_path / "p.h5"), columns=None)
        spec.pop("columns")
    else:
        table.to_hdf(tmp_path / "p.h5", key="detections", mode="w")
        spec["path"] = str(tmp_path / "p.h5")
    assert np.allclose(load(atlas, spec).points, points)


def test_cellfinder_xml_reads_stack_coordinates(atlas, shared_data):
    from brainglobe_utils.IO.cells import get_cells

    from scenerender.sources.points import _read_xml

    path = shared_data / "cells" / "cellfinder_cells.xml"
    cells = get_cells(str(path), cells_only=False)
    table = _read_xml(path, "all")
    assert len(table) == len(cells)
    assert np.array_equal(table[["z", "y", "x"]].to_numpy(), [[c.z, c.y, c.x] for c in cells])
    # These cells are in the sample's own space; declared as atlas space they miss the brain,
    # and scenerender says so instead of drawing them in the wrong place.
    with pytest.raises(SourceError, match="fall outside the brain after mapping"):
        load(atlas, {"kind": "points", "path": str(path), "cell_type": "all", "space": "atlas"})


# ------------------------------------------------------------------ errors


def render_error(tmp_path, sources_yaml: str, actor_yaml: str) -> str:
    path = tmp_path / "scene.yaml"
    path.write_text(f"version: 1\nsources:\n{sources_yaml}\nactors:\n{actor_yaml}\n")
    with pytest.raises(scenerender.SceneError) as info:
        scenerender.compile_scene(path, size=(64, 64))
    return str(info.value)


def test_missing_file_names_source_and_line(tmp_path):
    message = render_error(tmp_path, "  cells:\n    kind: points\n    path: nowhere.csv",
                           "  - {kind: points, source: cells}")
    assert message.startswith(f"{tmp_path / 'scene.yaml'}:5:11: sources.cells.path: source 'cells': file 'nowhere.csv' not found")


def test_unreadable_format(tmp_path):
    (tmp_path / "cells.npy").write_text("not numpy")
    message = render_error(tmp_path, "  cells: {kind: points, path: cells.npy}", "  - {kind: points, source: cells}")
    assert "sources.cells.path: source 'cells': cannot read 'cells.npy' as npy" in message
    (tmp_path / "cells.xlsx").write_text("x")
    message = render_error(tmp_path, "  cells: {kind: points, path: cells.xlsx}", "  - {kind: points, source: cells}")
    assert "unknown file type; points sources read" in message and ".csv" in message


def test_wrong_column_count(tmp_path):
    np.savetxt(tmp_path / "c.csv", np.ones((5, 2)), delimiter=",", header="a,b", comments="")
    message = render_error(tmp_path, "  cells: {kind: points, path: c.csv}", "  - {kind: points, source: cells}")
    assert ":3:" in message and "found 2 numeric columns (a, b), not 3; set 'columns'" in message


def test_nan_coordinates(tmp_path):
    points = np.full((10, 3), 5000.0)
    points[3, 1] = np.nan
    np.save(tmp_path / "c.npy", points)
    message = render_error(tmp_path, "  cells: {kind: points, path: c.npy}", "  - {kind: points, source: cells}")
    assert "1 of 10 points have NaN or infinite coordinates (first at row 3)" in message


def test_invalid_orientation_lists_valid_letters(tmp_path):
    np.save(tmp_path / "c.npy", np.full((10, 3), 5000.0))
    message = render_error(tmp_path, "  cells:\n    kind: points\n    path: c.npy\n    space: {orientation: psx}",
                           "  - {kind: points, source: cells}")
    assert "sources.cells.space.orientation: source 'cells': 'psx' is not an orientation" in message
    assert "a/p" in message and "s/i" in message and "l/r" in message
    assert ":6:" in message


def test_data_mostly_outside_says_how_much(tmp_path):
    points = np.column_stack([np.linspace(0, 20000, 100), np.full(100, 4000.0), np.full(100, 5700.0)])
    np.save(tmp_path / "c.npy", points * 3)
    message = render_error(tmp_path, "  cells: {kind: points, path: c.npy}", "  - {kind: points, source: cells}")
    assert "% of 100 points fall outside the brain after mapping" in message
    assert "check space.orientation, resolution, offset and column order" in message


def test_flip_without_shape_asks_for_shape(tmp_path):
    np.save(tmp_path / "c.npy", np.full((10, 3), 5000.0))
    message = render_error(tmp_path, "  cells: {kind: points, path: c.npy, space: {orientation: psl}}",
                           "  - {kind: points, source: cells}")
    assert "add space.shape" in message


def test_unknown_source_name_suggests(tmp_path):
    np.save(tmp_path / "c.npy", np.full((10, 3), 5000.0))
    message = render_error(tmp_path, "  cells: {kind: points, path: c.npy}", "  - {kind: points, source: cels}")
    assert "actors[0].source: no source named 'cels'; did you mean 'cells'?" in message


def test_source_of_the_wrong_kind(tmp_path):
    np.save(tmp_path / "c.npy", np.full((10, 3), 5000.0))
    message = render_error(tmp_path, "  cells: {kind: points, path: c.npy}", "  - {kind: neuron, source: cells}")
    assert "source 'cells' is a points source; this actor draws neuron sources" in message


def test_cli_exit_status_for_source_errors(tmp_path, capsys):
    from scenerender.cli import main

    (tmp_path / "s.yaml").write_text("version: 1\nsources:\n  c: {kind: points, path: missing.npy}\n"
                                     "actors:\n  - {kind: points, source: c}\n")
    assert main(["render", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.npy" in err


# ------------------------------------------------------------------ actors


def test_points_kept_only_inside_regions(atlas, shared_data):
    spec = {"version": 1, "sources": {"c": {"kind": "points", "path": str(shared_data / "cells/heatmap_cell_counts.h5"),
                                            "columns": ["x", "y", "z"]}},
            "actors": [{"kind": "points", "source": "c", "regions": ["TH"]}]}
    plan = scenerender.compile_scene(spec, size=(64, 64))
    from scenerender.spaces import world_to_atlas

    kept = world_to_atlas(plan.actors[0].points)
    th = atlas.with_descendants([atlas.structure("TH")["id"]])
    assert len(kept) > 100
    assert np.isin(atlas.structure_ids_at(kept), list(th)).all()


def test_points_coloured_by_a_column(shared_data):
    spec = {"version": 1, "sources": {"c": {"kind": "points", "path": str(shared_data / "cells/heatmap_cell_counts.h5"),
                                            "columns": ["x", "y", "z"]}},
            "actors": [{"kind": "points", "source": "c", "radius": 60,
                        "color_by": {"column": "y", "cmap": "coolwarm"}}],
            "camera": {"preset": "sagittal"}, "render": {"size": [400, 300], "anti_aliasing": "none"}}
    img = scenerender.render(spec).astype(int)
    fg = img[(img < 240).any(axis=-1)]
    # Dorsal cells (small y) are blue, ventral ones red: both ends of the map appear.
    assert ((fg[:, 2] - fg[:, 0]) > 60).sum() > 50 and ((fg[:, 0] - fg[:, 2]) > 60).sum() > 50


def test_neuron_coloured_by_compartment(shared_data):
    path = shared_data / "neurons" / "mouselight_swc" / "AA0245.swc"
    spec = {"version": 1, "sources": {"n": {"kind": "neuron", "path": str(path), "space": {"orientation": "rsa"}}},
            "actors": [{"kind": "neuron", "source": "n", "radius": 20,
                        "compartment_colors": {"axon": [255, 0, 0], "dendrite": [0, 0, 255]}}],
            "camera": {"preset": "top"}, "render": {"size": [400, 400], "anti_aliasing": "none"}}
    img = scenerender.render(spec).astype(int)
    red = (img[..., 0] > 100) & (img[..., 1] < 60) & (img[..., 2] < 60)
    blue = (img[..., 2] > 100) & (img[..., 0] < 60) & (img[..., 1] < 60)
    assert red.sum() > 200 and blue.sum() > 20


def test_volume_affine_with_rotation_is_refused(tmp_path):
    np.save(tmp_path / "v.npy", np.ones((4, 4, 4), dtype=np.float32))
    message = render_error(tmp_path, "  v:\n    kind: volume\n    path: v.npy\n    space:\n      orientation: asr\n"
                           "      affine: [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]",
                           "  - {kind: volume, source: v}")
    assert "sources.v.space.affine" in message and "may only scale and translate" in message
