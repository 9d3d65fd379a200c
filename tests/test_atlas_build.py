"""A real Allen mouse atlas packaged from a recipe, at 100 um.

Built once per session from ../shared/data/allen_ccf_2017 (annotation,
average template, structure graph; read here, never committed) with
``scenerender atlas build``, then loaded with BrainGlobe's own
``BrainGlobeAtlas`` and rendered. To keep the suite fast only the ten
regions whose real Allen meshes are in ``meshes/`` (and their ancestors)
get meshes. Skips when the shared data is absent.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from scenerender.cli import main

DATA = Path(__file__).parents[1] / ".." / "shared" / "data"
ALLEN = DATA / "allen_ccf_2017"
NEEDED = ("annotation_25.nrrd", "average_template_25.nrrd", "structure_graph.json", "structure_tree.csv",
          "meshes/index.csv")


def _allen() -> Path:
    missing = [n for n in NEEDED if not (ALLEN / n).exists()]
    if missing:
        pytest.skip(f"real Allen data absent from {ALLEN.resolve()} ({', '.join(missing)}); see ../shared/data/README.md")
    return ALLEN.resolve()


def real_meshes() -> dict[str, int]:
    """Acronym -> id of the real Allen meshes in meshes/index.csv."""
    with open(_allen() / "meshes" / "index.csv", newline="") as f:
        return {row["acronym"]: int(row["id"]) for row in csv.DictReader(f)}


@pytest.fixture(scope="session")
def allen_build(tmp_path_factory):
    """(BrainGlobe folder, build report) of the 100 um Allen atlas."""
    allen = _allen()
    folder = tmp_path_factory.mktemp("allen_recipe")
    recipe = folder / "allen_mouse.yaml"
    recipe.write_text(yaml.safe_dump({
        "version": 1,
        "name": "allen_mouse",
        "metadata": {"species": "Mus musculus", "citation": "Wang et al 2020, https://doi.org/10.1016/j.cell.2020.04.007",
                     "link": "https://www.brain-map.org", "packager": "scenerender tests"},
        "orientation": "asr",
        "resolution": 25,
        "output_resolution": 100,
        "annotation": str(allen / "annotation_25.nrrd"),
        "reference": str(allen / "average_template_25.nrrd"),
        "structures": {"path": str(allen / "structure_graph.json"), "format": "allen_graph"},
        "meshes": {"only": sorted(real_meshes()), "processes": 2},
    }, sort_keys=False))
    out = folder / "brainglobe"
    status = main(["atlas", "build", str(recipe), "-o", str(out), "-q", "--report", str(folder / "report.json")])
    assert status == 0
    return out, json.loads((folder / "report.json").read_text())


@pytest.fixture(scope="module")
def atlas(allen_build):
    from brainglobe_atlasapi import BrainGlobeAtlas

    from scenerender._bgcompat import install_terminology_reader

    install_terminology_reader()
    return BrainGlobeAtlas("allen_mouse_100um", brainglobe_dir=allen_build[0], check_latest=False)


@pytest.fixture(scope="module")
def allen_arrays():
    import nrrd

    annotation, _ = nrrd.read(str(_allen() / "annotation_25.nrrd"))
    template, _ = nrrd.read(str(_allen() / "average_template_25.nrrd"))
    return annotation, template


def test_loads_with_brainglobe_atlas(atlas, allen_build):
    _, report = allen_build
    assert atlas.atlas_name == "allen_mouse_100um"
    assert atlas.shape == (132, 80, 114) and atlas.resolution == (100.0, 100.0, 100.0)
    assert atlas.orientation == "asr" and atlas.metadata["symmetric"] is True
    assert atlas.metadata["atlas_link"] == "https://www.brain-map.org"
    # BrainGlobe's packager keeps the structures with voxels (own or descendants') at 100 um
    assert len(atlas.structures) == report["n_structures"] == 836
    assert atlas.structures["root"]["id"] == 997 and 0 not in atlas.structures


def test_annotation_is_block_centres_and_template_block_means(atlas, allen_arrays):
    annotation, template = allen_arrays
    np.testing.assert_array_equal(atlas.annotation, annotation[2::4, 2::4, 2::4])
    expected = template.reshape(132, 4, 80, 4, 114, 4).astype(np.float64).mean(axis=(1, 3, 5))
    assert atlas.reference.dtype == np.uint16
    np.testing.assert_allclose(atlas.reference, np.round(expected), atol=1)


def test_hemispheres_from_the_midline(atlas):
    assert np.all(atlas.hemispheres[:, :, 57:] == 1) and np.all(atlas.hemispheres[:, :, :57] == 2)


def test_only_the_requested_regions_and_ancestors_have_meshes(atlas, allen_build):
    wanted = set(real_meshes().values())
    ancestors = {a for sid in wanted for a in atlas.structures[sid]["structure_id_path"]}
    have = {s for s in atlas.structures if atlas.meshfile_from_structure(s).exists()}
    assert have == ancestors and len(have) == allen_build[1]["n_meshes"]


def _obj_vertices(path: Path) -> np.ndarray:
    with open(path) as f:
        return np.array([line.split()[1:4] for line in f if line.startswith("v ")], float)


@pytest.mark.parametrize("acronym", ["TH", "CP", "VISp", "HIP", "CB", "MOs", "OLF", "HY", "MB", "STR"])
def test_generated_meshes_match_real_allen_meshes(atlas, acronym):
    sid = real_meshes()[acronym]
    allen = _obj_vertices(_allen() / "meshes" / f"{sid}.obj")
    ours = atlas.mesh_from_structure(acronym).points
    assert len(ours) > 100
    # bounding boxes within two voxels (200 um) on every side
    np.testing.assert_allclose(ours.min(axis=0), allen.min(axis=0), atol=200)
    np.testing.assert_allclose(ours.max(axis=0), allen.max(axis=0), atol=200)


def test_scene_renders_from_the_built_atlas(allen_build):
    import scenerender

    image = scenerender.render({
        "version": 1,
        "atlas": {"path": str(allen_build[0])},
        "actors": [{"kind": "region", "regions": "TH"}],
        "camera": {"preset": "top"},
        "render": {"size": [200, 160], "anti_aliasing": "none"},
    })
    assert image.shape == (160, 200, 3)
    # TH's Allen colour is #FF7080 = (255, 112, 128); lit, its hue survives
    r, g, b = (image[..., i].astype(int) for i in range(3))
    th = (r > 120) & (r - g > 50) & (abs(g - b) < 40) & (r - b > 40)
    assert th.sum() > 500
    ys, xs = np.nonzero(th)
    assert abs(xs.mean() - 100) < 20 and abs(ys.mean() - 80) < 25  # in the middle of the view


def test_structure_formats_agree_on_the_allen_ontology(tmp_path):
    """The nested structure graph and the flat structure_tree.csv (its 'void'
    row excluded) give the same hierarchy and colours."""
    from scenerender.atlas_build.checks import check_structures, exclude_structures
    from scenerender.atlas_build.inputs import read_structures

    graph = read_structures(_allen() / "structure_graph.json")
    table = read_structures(_allen() / "structure_tree.csv")
    assert any(s["id"] == 0 for s in table.items)  # structure_tree.csv has a 'void' row, id 0
    assert "structure id 0 is reserved" in check_structures(table, "structure_tree.csv")[0][1]
    table, unmatched = exclude_structures(table, [0])
    assert not unmatched and not check_structures(table, "structure_tree.csv") and not check_structures(graph, "g")
    by_id = {s["id"]: s for s in table.items}
    assert len(graph.items) == len(table.items) == 1327
    for s in graph.items:  # IBL's table drops commas from names and spells 9 acronyms differently
        assert by_id[s["id"]]["structure_id_path"] == s["structure_id_path"]
        assert by_id[s["id"]]["rgb_triplet"] == s["rgb_triplet"]  # incl. the 36 that lost a leading zero
    # and as a BrainGlobe list
    listed = tmp_path / "structures.json"
    listed.write_text(json.dumps(graph.items))
    assert read_structures(listed).items == graph.items


def test_real_structure_tree_csv_with_void_row_is_refused(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "version": 1, "name": "allen_mouse", "metadata": {"species": "Mus musculus", "link": "https://www.brain-map.org"},
        "orientation": "asr", "resolution": 25, "annotation": str(_allen() / "annotation_25.nrrd"),
        "reference": {"derive": "annotation"}, "structures": str(_allen() / "structure_tree.csv"),
    }, sort_keys=False))
    out = tmp_path / "out"
    assert main(["atlas", "build", str(recipe), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "structure id 0 is reserved for 'outside the brain' (annotation value 0) but is used by row 2 of " \
           "structure_tree.csv ('void'); remove it from structure_tree.csv or add 0 to structures.exclude" in err
    assert not out.exists()
