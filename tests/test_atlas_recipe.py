"""Atlas recipes on a tiny synthetic atlas (no shared data needed): each
recipe mistake, the input formats, a full build, recipes named by scenes
(the cache) and the ``atlas list/info/inspect`` commands."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from atlas_recipes import SHAPE, STRUCTURES, annotation, recipe_dict, write_inputs, write_recipe
from scenerender.atlas_build import load_recipe
from scenerender.atlas_build.inputs import read_stack, read_structures
from scenerender.atlas_build.recipe import StackSource, recipe_schema
from scenerender.cli import main


def build_cli(recipe: Path, out: Path, capsys, *extra) -> tuple[int, str, str]:
    status = main(["atlas", "build", str(recipe), "-o", str(out), "-q", *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def nothing_written(out: Path) -> bool:
    """No output folder and no scratch folder beside it: no mesh was made."""
    return not out.exists() and not list(out.parent.glob(f".{out.name}.building-*"))


# --------------------------------------------------------------------------
# the schema
# --------------------------------------------------------------------------


def test_recipe_schema_is_draft_2020_12_with_id_and_closed_objects():
    from jsonschema import Draft202012Validator

    schema = recipe_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("recipe.schema.json")

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, f"{where} is not closed"
                for name, prop in node["properties"].items():
                    if name != "$schema" and "$ref" not in prop:
                        assert "description" in prop, f"{where}.{name} has no description"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
    walk(schema, "recipe")


def test_repository_recipes_are_valid():
    recipes = sorted((Path(__file__).parents[1] / "recipes").glob("*.yaml"))
    assert recipes
    for path in recipes:
        recipe = load_recipe(path)
        assert recipe.spec["meshes"]["compression_level"] == 7  # defaults filled


# --------------------------------------------------------------------------
# mistakes: exit 2, located message, nothing written
# --------------------------------------------------------------------------


def _structures_with(change) -> list[dict]:
    items = [dict(s, structure_id_path=list(s["structure_id_path"])) for s in STRUCTURES]
    change(items)
    return items


MISTAKES = {
    "two_roots": (
        dict(structures=lambda s: s.append({"acronym": "X", "id": 99, "name": "Other root", "structure_id_path": [99],
                                             "rgb_triplet": [1, 2, 3]})),
        {}, r"structures: the hierarchy must have exactly one root .* has 2 roots: 'root' \(id 1, item 0 of "
            r"structures.yaml\), 'X' \(id 99, item 5 of structures.yaml\); put the others under the root"),
    "no_root": (
        dict(structures=lambda s: s[0].update(structure_id_path=[5, 1])),
        {}, r"structures.yaml has no root; make one structure the root of all others"),
    "id_zero": (
        dict(structures=lambda s: s.append({"acronym": "void", "id": 0, "name": "void", "structure_id_path": [0],
                                             "rgb_triplet": [0, 0, 0]})),
        {}, r"structure id 0 is reserved for 'outside the brain' .* used by item 5 of structures.yaml \('void'\); "
            r"remove it from structures.yaml or add 0 to structures.exclude"),
    "path_not_ending_in_own_id": (
        dict(structures=lambda s: s[2].update(structure_id_path=[1, 2, 11])),
        {}, r"must end in the structure's own id; it does not for 'A' \(id 10, item 2 of structures.yaml: "
            r"\[1, 2, 11\]\); fix these paths in structures.yaml"),
    "missing_parent": (
        dict(structures=lambda s: s[3].update(structure_id_path=[1, 7, 11])),
        {}, r"structures whose ancestors do not exist: 'B' \(id 11, item 3 of structures.yaml: ancestor 7\); "
            r"add the missing structures"),
    "duplicate_acronym": (
        dict(structures=lambda s: s[3].update(acronym="A")),
        {}, r"acronyms used more than once in structures.yaml: A"),
    "orientation": (
        {}, dict(orientation="asx"),
        r"orientation: 'asx' is not a valid orientation: give three letters, one from each pair a/p "
        r"\(anterior/posterior\), s/i \(superior/inferior\), l/r \(left/right\)"),
    "orientation_repeated_pair": (
        {}, dict(orientation="aps"), r"orientation: 'aps' is not a valid orientation"),
    "resolution_negative": (
        {}, dict(resolution=-50), r"resolution: -50 is not a valid resolution: the voxel size in microns must be "
                                  r"positive"),
    "resolution_zero_on_one_axis": (
        {}, dict(resolution=[50, 0, 50]), r"resolution: \[50, 0, 50\] is not a valid resolution"),
    "anisotropic_not_asr": (
        {}, dict(orientation="lsa", resolution=[50, 50, 100]),
        r"resolution: voxel sizes that differ between axes \(\[50, 50, 100\]\) need orientation 'asr' here"),
    "output_resolution_not_a_multiple": (
        {}, dict(output_resolution=75), r"output_resolution: 75 is not a whole multiple of resolution 50 on axis 0"),
    "shape_mismatch": (
        dict(reference_shape=(24, 16, 19)), dict(reference="reference.npy"),
        r"reference: shape \(24, 16, 19\) differs from the annotation's \(24, 16, 20\)"),
    "hemispheres_shape_mismatch": (
        dict(hemispheres_shape=(24, 15, 20)), dict(hemispheres="hemis.npy"),
        r"hemispheres: shape \(24, 15, 20\) differs from the annotation's \(24, 16, 20\)"),
    "unknown_annotation_values": (
        dict(extra_labels=list(range(500, 515))), {},
        r"annotation: 15 annotation value\(s\) have no structure in structures.yaml: 500, 501, 502, 503, 504, 505, "
        r"506, 507, 508, 509, ... \(first 10 of 15\); add these structures"),
    "missing_file": (
        {}, dict(annotation="nowhere.nrrd"), r"annotation: file not found: .*nowhere.nrrd \(paths are relative"),
    "unknown_mesh_region": (
        {}, dict(meshes={"only": ["A", "Bb"]}), r"meshes.only\[1\]: unknown structure 'Bb'"),
    "schema_misspelt_key": (
        {}, dict(orientaton="asr"), r"orientaton: unknown key 'orientaton'; did you mean 'orientation'\?"),
    "schema_bad_enum": (
        {}, dict(structures={"path": "structures.yaml", "format": "allen"}),
        r"structures.format: 'allen' is not one of 'auto', 'brainglobe', 'csv', 'allen_graph'; did you mean "
        r"'allen_graph'\?"),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_recipe_mistake_exits_2_before_any_heavy_work(name, tmp_path, capsys):
    data_change, recipe_change, expected = MISTAKES[name]
    structures = _structures_with(data_change["structures"]) if "structures" in data_change else None
    folder = write_inputs(tmp_path / "in", structures)
    if "reference_shape" in data_change:
        np.save(folder / "reference.npy", np.ones(data_change["reference_shape"], np.uint16))
    if "hemispheres_shape" in data_change:
        np.save(folder / "hemis.npy", np.ones(data_change["hemispheres_shape"], np.uint8))
    if "extra_labels" in data_change:
        ann = annotation()
        ann.flat[: len(data_change["extra_labels"])] = data_change["extra_labels"]
        np.save(folder / "annotation.npy", ann)
    recipe = write_recipe(folder, **recipe_change)
    out = tmp_path / "out" / "atlas"
    status, _, err = build_cli(recipe, out, capsys)
    assert status == 2, err
    assert re.search(expected, err), err
    # every message names the recipe file and a line and column in it
    for line in err.strip().splitlines():
        assert re.match(rf"{re.escape(str(recipe))}:\d+:\d+: ", line), line
    assert nothing_written(out)
    assert not (tmp_path / "out").exists()


def test_mistake_points_at_the_recipe_line(tmp_path, capsys):
    folder = write_inputs(tmp_path)
    recipe = folder / "recipe.yaml"
    text = yaml.safe_dump(recipe_dict(), sort_keys=False).replace("orientation: asr", "orientation: ssr")
    recipe.write_text(text)
    status, _, err = build_cli(recipe, tmp_path / "out", capsys)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("orientation:"))
    assert status == 2
    assert err.startswith(f"{recipe}:{line}:14: orientation: 'ssr' is not a valid orientation")


def test_several_mistakes_are_reported_together(tmp_path, capsys):
    structures = _structures_with(lambda s: s.append({"acronym": "void", "id": 0, "name": "void",
                                                      "structure_id_path": [0], "rgb_triplet": [0, 0, 0]}))
    folder = write_inputs(tmp_path, structures)
    recipe = write_recipe(folder, orientation="xyz", resolution=0)
    status, _, err = build_cli(recipe, tmp_path / "out", capsys)
    assert status == 2
    assert "orientation: 'xyz'" in err and "resolution: 0 is not a valid" in err and "structure id 0" in err


def test_check_only_writes_nothing(tmp_path, capsys):
    folder = write_inputs(tmp_path)
    recipe = write_recipe(folder, output="built")
    assert main(["atlas", "build", str(recipe), "--check", "-q"]) == 0
    assert "ok (test_blob_50um: 5 structures" in capsys.readouterr().out
    assert not (folder / "built").exists()


# --------------------------------------------------------------------------
# input formats
# --------------------------------------------------------------------------


def test_every_stack_format_reads_the_same_array(tmp_path):
    import nibabel
    import nrrd
    import tifffile
    import zarr

    data = annotation()
    tifffile.imwrite(tmp_path / "a.tif", data)
    nrrd.write(str(tmp_path / "a.nrrd"), data)
    nibabel.save(nibabel.Nifti1Image(data, np.eye(4)), str(tmp_path / "a.nii.gz"))
    np.save(tmp_path / "a.npy", data)
    zarr.create_array(str(tmp_path / "a.zarr"), data=data)
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("labels", data=data)
    for name, fmt in [("a.tif", "tiff"), ("a.nrrd", "nrrd"), ("a.nii.gz", "nifti"), ("a.npy", "npy"),
                      ("a.zarr", "zarr"), ("g.zarr", "zarr")]:
        source = StackSource.from_spec(name, tmp_path, ("annotation",))
        assert source.format == fmt
        np.testing.assert_array_equal(read_stack(source), data, err_msg=name)
    source = StackSource.from_spec({"path": "g.zarr", "array": "labels"}, tmp_path, ("annotation",))
    np.testing.assert_array_equal(read_stack(source), data)


def test_structures_from_csv_with_parents_only(tmp_path):
    rows = ["id,acronym,name,parent_structure_id,color_hex_triplet"]
    rows += [f"{s['id']},{s['acronym']},{s['name']},{s['structure_id_path'][-2] if len(s['structure_id_path']) > 1 else ''},"
             + "".join(f"{c:02X}" for c in s["rgb_triplet"]) for s in STRUCTURES]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    assert read_structures(tmp_path / "s.csv").items == STRUCTURES


# --------------------------------------------------------------------------
# a full build of the tiny atlas
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blob_atlas(tmp_path_factory):
    """The tiny atlas built once: hemispheres from a file, a mesh for A from an
    OBJ folder (a box in microns), the rest by marching cubes."""
    folder = write_inputs(tmp_path_factory.mktemp("blob"))
    (folder / "objs").mkdir()
    box = np.array([[x, y, z] for x in (100, 500) for y in (150, 450) for z in (200, 700)], float)
    faces = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1), (2, 3, 7), (2, 7, 6),
             (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]
    (folder / "objs" / "10.obj").write_text("".join(f"v {x} {y} {z}\n" for x, y, z in box)
                                            + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in faces))
    (folder / "objs" / "readme.obj").write_text("not a structure id\n")
    recipe = write_recipe(folder, hemispheres="hemispheres.npy",
                          meshes={"folder": "objs", "processes": 2, "decimate_fraction": 0.5})
    out = folder / "bg"
    status = main(["atlas", "build", str(recipe), "-o", str(out), "-q", "--report", str(folder / "report.json")])
    assert status == 0
    return out, json.loads((folder / "report.json").read_text())


def test_blob_atlas_loads_through_brainglobe(blob_atlas):
    from brainglobe_atlasapi import BrainGlobeAtlas

    out, report = blob_atlas
    atlas = BrainGlobeAtlas("test_blob_50um", brainglobe_dir=out, check_latest=False)
    assert atlas.shape == SHAPE and atlas.resolution == (50.0, 50.0, 50.0)
    np.testing.assert_array_equal(atlas.annotation, annotation())
    assert atlas.metadata["symmetric"] is False
    assert atlas.metadata["atlas_packager"] == "scenerender tests"
    np.testing.assert_array_equal(atlas.hemispheres[:, :, SHAPE[2] // 2:], 1)
    assert sorted(atlas.structures) == [1, 2, 10, 11, 12]
    assert report["n_meshes"] == 5 and report["n_structures"] == 5
    assert any("readme.obj" in note for note in report["notes"])
    # the synthetic reference is zero outside the brain
    assert np.all(atlas.reference[atlas.annotation == 0] == 0) and atlas.reference.max() > 128


def test_blob_meshes_imported_and_generated(blob_atlas):
    from brainglobe_atlasapi import BrainGlobeAtlas

    out, _ = blob_atlas
    atlas = BrainGlobeAtlas("test_blob_50um", brainglobe_dir=out, check_latest=False)
    box = atlas.mesh_from_structure("A").points  # the OBJ box, microns kept (to Draco's 16-bit grid)
    np.testing.assert_allclose(box.min(axis=0), [100, 150, 200], atol=1)
    np.testing.assert_allclose(box.max(axis=0), [500, 450, 700], atol=1)
    c = atlas.mesh_from_structure("C").points  # marching cubes on the C slab
    voxels = np.argwhere(atlas.annotation == 12) * 50.0
    np.testing.assert_allclose(c.min(axis=0), voxels.min(axis=0), atol=100)
    np.testing.assert_allclose(c.max(axis=0), voxels.max(axis=0), atol=100)


def test_downsampling_takes_block_centres(tmp_path, capsys):
    folder = write_inputs(tmp_path)
    recipe = write_recipe(folder, output_resolution=100, meshes={"only": ["C"], "processes": 1})
    out = tmp_path / "bg"
    status, _, err = build_cli(recipe, out, capsys)
    assert status == 0, err
    from brainglobe_atlasapi import BrainGlobeAtlas

    atlas = BrainGlobeAtlas("test_blob_100um", brainglobe_dir=out, check_latest=False)
    np.testing.assert_array_equal(atlas.annotation, annotation()[1::2, 1::2, 1::2])
    # only C and its ancestors (the root) have meshes
    have = {s for s in atlas.structures if atlas.meshfile_from_structure(s).exists()}
    assert have == {1, 12}


def test_rebuild_replaces_the_atlas_in_place(blob_atlas, tmp_path, capsys):
    out, _ = blob_atlas
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    folder = out.parent
    recipe = write_recipe(folder, "again.yaml", hemispheres="hemispheres.npy",
                          meshes={"folder": "objs", "processes": 1, "decimate_fraction": 0.5})
    status, _, err = build_cli(recipe, out, capsys)
    assert status == 0, err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert not list(folder.glob(".bg.building-*"))


# --------------------------------------------------------------------------
# a scene naming a recipe: built once, then cached
# --------------------------------------------------------------------------


def test_scene_with_recipe_builds_once_then_uses_the_cache(tmp_path, monkeypatch):
    import scenerender

    cache = tmp_path / "cache"
    monkeypatch.setenv("SCENERENDER_CACHE_DIR", str(cache))
    folder = write_inputs(tmp_path / "data")
    recipe = write_recipe(folder, meshes={"processes": 1})
    scene = tmp_path / "scene.yaml"
    scene.write_text(yaml.safe_dump({
        "version": 1, "atlas": {"recipe": "data/recipe.yaml"},
        "actors": [{"kind": "region", "regions": "A"}],
        "camera": {"preset": "top"}, "render": {"size": [96, 96], "anti_aliasing": "none"}}))

    image = scenerender.render(scene)
    entries = [p for p in (cache / "atlases").iterdir()]
    assert len(entries) == 1 and entries[0].name.startswith("test_blob-")
    record = entries[0] / "build.json"
    stamp = record.stat().st_mtime_ns
    assert json.loads(record.read_text())["recipe"] == str(recipe.resolve())
    red = (image[..., 0] > 120) & (image[..., 1] < 90) & (image[..., 2] < 90)  # A is (220, 40, 40)
    assert red.sum() > 50

    again = scenerender.render(scene)
    np.testing.assert_array_equal(again, image)
    assert [p for p in (cache / "atlases").iterdir()] == entries
    assert record.stat().st_mtime_ns == stamp  # not rebuilt

    # a changed input is a new build
    os.utime(folder / "annotation.npy", ns=(stamp + 10**9, stamp + 10**9))
    scenerender.render(scene)
    assert len([p for p in (cache / "atlases").iterdir()]) == 2


def test_scene_with_bad_recipe_reports_the_recipe_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCENERENDER_CACHE_DIR", str(tmp_path / "cache"))
    folder = write_inputs(tmp_path)
    write_recipe(folder, orientation="asx")
    scene = tmp_path / "scene.yaml"
    scene.write_text("version: 1\natlas: {recipe: recipe.yaml}\nactors: [{kind: root}]\n")
    assert main(["render", str(scene), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"recipe.yaml:\d+:\d+: orientation: 'asx' is not a valid orientation", err)
    assert not (tmp_path / "cache" / "atlases").exists() or not any((tmp_path / "cache" / "atlases").iterdir())


def test_scene_schema_rejects_recipe_with_other_keys():
    from scenerender import validate_scene

    problems = validate_scene({"version": 1, "atlas": {"recipe": "r.yaml", "nme": "x"}})
    assert problems and "unknown key 'nme'" in problems[0].message


# --------------------------------------------------------------------------
# atlas list / info / inspect on the embedded atlas
# --------------------------------------------------------------------------


def test_atlas_list_marks_the_embedded_atlas(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCENERENDER_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["atlas", "list", "--brainglobe-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^allen_mouse_scenerender_100um  3\.0  100 um  .*embedded_atlas.* \[embedded\]$", out, re.M)


def test_atlas_info_embedded(capsys):
    assert main(["atlas", "info", "embedded", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "allen_mouse_scenerender_100um" and info["embedded"] is True
    assert info["shape"] == [132, 80, 114] and info["resolution_um"] == [100.0, 100.0, 100.0]
    assert info["structures"] == 1327 and info["structures_with_mesh"] == 836
    assert info["species"] == "Mus musculus" and info["orientation"] == "asr"
    assert main(["atlas", "info", "embedded"]) == 0
    assert re.search(r"^structures\s+1327$", capsys.readouterr().out, re.M)


def test_atlas_info_unknown_name_exits_2(tmp_path, capsys):
    assert main(["atlas", "info", "no_such_atlas_25um", "--brainglobe-dir", str(tmp_path)]) == 2
    assert "no_such_atlas_25um" in capsys.readouterr().err


def test_atlas_inspect_writes_a_contact_sheet(tmp_path, capsys):
    import imageio.v3 as iio

    from scenerender.contact_sheet import grid_shape

    out = tmp_path / "sheet.png"
    assert main(["atlas", "inspect", "embedded", "-o", str(out), "--size", "480x360", "--count", "6"]) == 0
    err = capsys.readouterr().err
    acronyms = err.split(": ", 1)[1].split(", ")
    assert len(acronyms) == 6 and "CB" in [a.strip() for a in acronyms]
    image = iio.imread(out)
    assert image.shape[:2] == (360, 480)
    columns, rows = grid_shape(6, (480, 360 - 30))
    cell_w, cell_h = 480 // columns, (360 - 30) // rows
    drawn = 0
    for i in range(6):
        x, y = (i % columns) * cell_w, 30 + (i // columns) * cell_h
        cell = image[y + 4:y + cell_h - 30, x + 4:x + cell_w - 4, :3].astype(int)
        coloured = (np.abs(cell - 255).sum(axis=-1) > 60).sum()
        drawn += coloured > 200
    assert drawn == 6


def test_atlas_inspect_named_regions_and_unknown_region(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert main(["atlas", "inspect", "embedded", "-o", str(out), "--regions", "TH", "CP", "--size", "200x120"]) == 0
    assert out.exists()
    capsys.readouterr()
    assert main(["atlas", "inspect", "embedded", "-o", str(out), "--regions", "Thalamus"]) == 2
    assert capsys.readouterr().err == ("--regions: unknown region 'Thalamus' in atlas allen_mouse_scenerender_100um; "
                                       "'Thalamus' is the name of region 'TH', use its acronym\n")
