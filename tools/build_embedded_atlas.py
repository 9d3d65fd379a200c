#!/usr/bin/env python
"""Build scenerender's embedded Allen mouse atlas (BrainGlobe v3 layout).

The atlas is packaged with brainglobe-atlasapi's own
``atlas_generation.wrapup.wrapup_atlas_from_data`` from the Allen Mouse
Brain Common Coordinate Framework v3 (2017) annotation and ontology, so that
``BrainGlobeAtlas("allen_mouse_scenerender_100um", brainglobe_dir=<out>,
check_latest=False)`` loads it with no network.

Inputs (``--data``, default ``../shared/data/allen_ccf_2017`` next to the
repository): ``annotation_25.nrrd`` (uint32, axes asr, 25 um) and
``structure_graph.json`` (nested Allen ontology). The Allen average template
is *not* used: it may not be redistributed, so the reference image is
synthetic (see :func:`synthetic_reference`).

Choices, so a reader can check them:

* Annotation: 25 um -> ``--resolution`` um by nearest neighbour, taking from
  each f x f x f block (f = resolution / 25) the voxel at its centre, i.e.
  index ``f*i + f//2`` on every axis (for f = 4 that is ``4i + 2``; an even
  block has no single centre voxel, and ``4i + 1.5`` rounds to ``4i + 2``
  both half-up and half-to-even). No label is invented and labels are not
  mixed; a few tiny structures (3 labels at 100 um) drop out.
* Structures: all 1327 structures of structure_graph.json are kept in the
  terminology (exactly one root, 997; there is no id 0 in the graph). The
  packager would otherwise drop every structure with no voxel (itself or
  descendants) in the downsampled annotation; we keep them on purpose so that
  ids and acronyms from other Allen data (e.g. MouseLight ``allenId``) still
  resolve to names, colours and ancestors. Only the 836 structures with
  voxels (own or descendants') get a mesh. For the other 491 the mesh file
  does not exist, and brainglobe-atlasapi 3.0.2's ``mesh_from_structure``
  then tries to download it from BrainGlobe's S3 bucket (offline: botocore
  ``EndpointConnectionError`` after ~8 s of retries; online, going by its
  code: ``RuntimeError`` "not found locally or remotely"), so callers should test
  ``atlas.meshfile_from_structure(s).exists()`` first.
* Meshes: ``mesh_utils.construct_meshes_from_annotation`` (vedo isosurface,
  i.e. marching cubes, after BrainGlobe's hole filling and binary closing),
  windowed-sinc smoothing and DecimatePro decimation (``DECIMATE_FRACTION``
  is the fraction of vertices *kept*; upstream's default 0 asks for maximal
  reduction); vertices end up in atlas um (``scale_meshes=True``). The
  annotation is padded while meshing so the closing does not erode
  structures at the volume edge (:func:`build_meshes`), and the packaged
  Draco files are re-encoded losslessly at a higher compression level
  (:func:`recompress_meshes`): 13.3 MB -> 3.9 MB.
* Hemispheres: the Allen atlas is symmetric, so the atlas is packaged as
  ``symmetric=True`` and BrainGlobe splits it at the midline of axis 2
  (asr: axis 2 runs right -> left): ``hemispheres == 1`` (left) for axis-2
  index >= shape[2] / 2, ``2`` (right) below.
* Reference image: synthetic, derived from the annotation only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data" / "allen_ccf_2017"
DEFAULT_OUT = Path("scenerender") / "embedded_atlas"

SOURCE_RESOLUTION_UM = 25
ATLAS_NAME = "allen_mouse_scenerender"
ROOT_ID = 997
CITATION = "Wang et al 2020, https://doi.org/10.1016/j.cell.2020.04.007"
ATLAS_LINK = "https://www.brain-map.org"
SPECIES = "Mus musculus"
PACKAGER = "scenerender"

# Mesh settings (see construct_meshes_from_annotation): closing as upstream's
# default, then smooth and keep DECIMATE_FRACTION of the vertices.
CLOSING_N_ITERS = 2
DECIMATE_FRACTION = 0.3
SMOOTH = True
# Background margin (voxels) added around the annotation while meshing; must
# exceed the largest closing BrainGlobe applies (8 iterations for the root).
MESH_PAD = 10
# Draco compression level for the packaged meshes (see recompress_meshes).
MESH_DRACO_LEVEL = 7

# The synthetic reference: Gaussian sigma in voxels.
REFERENCE_SIGMA_VOX = 1.0


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------


def load_annotation(data_dir: Path) -> np.ndarray:
    """Allen annotation at 25 um, shape (528, 320, 456), axes asr."""
    import nrrd

    annotation, _ = nrrd.read(str(data_dir / "annotation_25.nrrd"))
    return np.asarray(annotation, dtype=np.uint32)


def downsample_block_centre(annotation: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour downsampling: the voxel at the centre of each
    ``factor**3`` block, i.e. ``annotation[c::factor, c::factor, c::factor]``
    with ``c = factor // 2``, trimmed to whole blocks."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    centre = factor // 2
    shape = tuple(s // factor for s in annotation.shape)
    out = annotation[centre::factor, centre::factor, centre::factor]
    return np.ascontiguousarray(out[: shape[0], : shape[1], : shape[2]])


def load_structures(data_dir: Path) -> list[dict]:
    """Flatten structure_graph.json into BrainGlobe structure dicts.

    The graph has no ``structure_id_path`` field; the path is the chain of
    ancestors in the nesting (checked against each node's
    ``parent_structure_id``).
    """
    with open(data_dir / "structure_graph.json", encoding="utf-8") as f:
        graph = json.load(f)
    roots = graph["msg"] if isinstance(graph, dict) else graph

    structures: list[dict] = []

    def walk(node: dict, path: list[int]) -> None:
        sid = int(node["id"])
        parent = node.get("parent_structure_id")
        expected_parent = path[-1] if path else None
        if parent != expected_parent:
            raise ValueError(
                f"structure {sid}: parent_structure_id {parent} does not "
                f"match its position in the graph ({expected_parent})"
            )
        id_path = path + [sid]
        hex_triplet = node["color_hex_triplet"].lstrip("#")
        structures.append(
            {
                "acronym": str(node["acronym"]),
                "id": sid,
                "name": str(node["name"]),
                "structure_id_path": id_path,
                "rgb_triplet": [int(hex_triplet[i : i + 2], 16) for i in (0, 2, 4)],
            }
        )
        for child in node.get("children", []):
            walk(child, id_path)

    for root in roots:
        walk(root, [])

    ids = [s["id"] for s in structures]
    roots_found = [s["id"] for s in structures if len(s["structure_id_path"]) == 1]
    if roots_found != [ROOT_ID]:
        raise ValueError(f"expected exactly one root {ROOT_ID}, got {roots_found}")
    if 0 in ids:
        raise ValueError("structure id 0 is reserved for 'outside the brain'")
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate structure ids")
    acronyms = [s["acronym"] for s in structures]
    if len(set(acronyms)) != len(acronyms):
        raise ValueError("duplicate acronyms")
    return structures


def synthetic_reference(
    annotation: np.ndarray, structures: list[dict], sigma: float = REFERENCE_SIGMA_VOX
) -> np.ndarray:
    """A stand-in for the (non-redistributable) Allen average template.

    Each voxel gets the luma (Rec. 601: 0.299 R + 0.587 G + 0.114 B) of its
    region's Allen display colour, the volume is Gaussian-smoothed
    (``sigma`` voxels), set to 0 outside the brain (annotation 0) and scaled
    to the full uint16 range in 256 steps (multiples of 257: an 8-bit image
    stored as uint16, which compresses ~3x better than 16 bits of noise-free
    smooth gradient and loses nothing that matters for a synthetic image). It looks like a plausible grey-scale section but
    carries no information beyond the annotation itself.
    """
    from scipy.ndimage import gaussian_filter

    luma = {
        s["id"]: 0.299 * s["rgb_triplet"][0]
        + 0.587 * s["rgb_triplet"][1]
        + 0.114 * s["rgb_triplet"][2]
        for s in structures
    }
    labels, inverse = np.unique(annotation, return_inverse=True)
    lut = np.array([luma.get(int(v), 0.0) if v else 0.0 for v in labels])
    image = lut[inverse.reshape(annotation.shape)].astype(np.float32)
    image = gaussian_filter(image, sigma=sigma, mode="constant", cval=0.0)
    image[annotation == 0] = 0.0
    image = np.round(image / image.max() * 255.0)
    return (image * 257).astype(np.uint16)


# --------------------------------------------------------------------------
# packaging helpers
# --------------------------------------------------------------------------


@contextlib.contextmanager
def keep_all_structures():
    """Within the context the packager keeps structures with no voxels.

    ``AtlasPackagingData.__post_init__`` calls
    ``filter_structures_not_present_in_annotation``, which removes every
    structure that has no voxel (itself or a descendant) in the annotation.
    We want the full Allen ontology in the terminology, so that name is
    replaced by the identity in the ``atlas_packaging_data`` namespace for
    the duration of the build only.
    """
    from brainglobe_atlasapi.atlas_generation import atlas_packaging_data as apd

    original = apd.filter_structures_not_present_in_annotation
    apd.filter_structures_not_present_in_annotation = lambda structures, _a: list(
        structures
    )
    try:
        yield original
    finally:
        apd.filter_structures_not_present_in_annotation = original


def build_meshes(
    scratch: Path, annotation: np.ndarray, structures: list[dict], processes: int
) -> dict:
    """Region meshes as .obj files (vertices in voxel units, axes asr).

    BrainGlobe's ``extract_mesh_from_mask`` fills holes and applies
    ``scipy.ndimage.binary_closing`` (``CLOSING_N_ITERS`` iterations, and a
    fixed 8 for the root) with scipy's default ``border_value=0``: the
    erosion half of the closing then eats into any structure within that
    many voxels of the volume edge (at 100 um the root lost up to ~0.7 mm at
    the olfactory bulb and the dorsal surface). The annotation is therefore
    padded with ``MESH_PAD`` background voxels on every side before meshing
    and the vertices are shifted back afterwards.
    """
    import meshio
    from brainglobe_atlasapi.atlas_generation.mesh_utils import (
        construct_meshes_from_annotation,
    )

    padded = np.pad(annotation, MESH_PAD, mode="constant", constant_values=0)
    kwargs = dict(
        save_path=scratch,
        volume=padded,
        structures_list=structures,
        closing_n_iters=CLOSING_N_ITERS,
        decimate_fraction=DECIMATE_FRACTION,
        smooth=SMOOTH,
    )
    meshes = None
    if processes > 1:
        try:
            meshes = construct_meshes_from_annotation(
                parallel=True, num_threads=processes, **kwargs
            )
        except Exception as exc:  # pragma: no cover - depends on the machine
            print(f"parallel mesh construction failed ({exc!r}); running serially")
            shutil.rmtree(scratch / "meshes", ignore_errors=True)
            shutil.rmtree(scratch / "temp_annotations.zarr", ignore_errors=True)
    if meshes is None:
        meshes = construct_meshes_from_annotation(parallel=False, **kwargs)

    for path in meshes.values():
        mesh = meshio.read(path)
        triangles = mesh.get_cells_type("triangle")
        meshio.write(
            path,
            meshio.Mesh(mesh.points - MESH_PAD, [("triangle", triangles)]),
            file_format="obj",
        )
    return meshes


def recompress_meshes(mesh_dir: Path, compression_level: int = MESH_DRACO_LEVEL) -> None:
    """Re-encode the packaged Draco meshes with a higher compression level.

    ``wrapup`` writes every mesh through ``mesh_utils.write_mesh`` with its
    default ``compression_level=0`` (no way to pass another), which is ~3.5x
    larger than level 7. Each mesh is decoded and written again with the same
    upstream ``write_mesh`` (same 16-bit quantisation grid, new .index
    manifest) at ``compression_level``; the vertex set is checked to be
    unchanged (the re-encoding is lossless).
    """
    import DracoPy
    import meshio
    from brainglobe_atlasapi.atlas_generation.mesh_utils import write_mesh

    for path in sorted(mesh_dir.iterdir()):
        if path.name == "info" or path.suffix == ".index":
            continue
        before = DracoPy.decode(path.read_bytes())
        points = np.asarray(before.points, dtype=np.float32)
        faces = np.asarray(before.faces, dtype=np.uint32)
        write_mesh(
            meshio.Mesh(points, [("triangle", faces)]),
            mesh_dir,
            int(path.name),
            compression_level=compression_level,
        )
        after = DracoPy.decode(path.read_bytes())
        a = np.asarray(after.points, dtype=np.float32)
        if a.shape != points.shape or len(after.faces) != len(faces):
            raise RuntimeError(f"re-encoding changed mesh {path.name}")
        # edgebreaker may reorder vertices: compare the sorted vertex sets
        pa = points[np.lexsort(points.T[::-1])]
        aa = a[np.lexsort(a.T[::-1])]
        step = float(np.ptp(points, axis=0).max()) / (2**16 - 1)
        if not np.allclose(pa, aa, rtol=0, atol=max(step, 1.0)):
            raise RuntimeError(f"re-encoding moved vertices of mesh {path.name}")


def validate(out: Path, atlas_name: str) -> dict:
    """Run BrainGlobe's own validation functions on the final package."""
    from brainglobe_atlasapi import BrainGlobeAtlas
    from brainglobe_atlasapi.atlas_generation.validate_atlases import (
        get_all_validation_functions,
        report_validation_results,
    )

    atlas = BrainGlobeAtlas(atlas_name, brainglobe_dir=out, check_latest=False)
    results = {}
    for func in get_all_validation_functions():
        try:
            func(atlas)
            results[func.__name__] = "Pass"
        except AssertionError as e:
            results[func.__name__] = f"Fail: {str(e)[:300]}"
    for name, result in results.items():
        print(f"  {name}: {result}")
    report_validation_results(results)
    return results


def _structures_with_voxels(structures: list[dict], annotation: np.ndarray) -> set[int]:
    """Ids of structures that have voxels themselves or through a descendant."""
    present = set(np.unique(annotation).tolist())
    found: set[int] = set()
    for s in structures:
        if s["id"] in present:
            found.update(s["structure_id_path"])
    return found


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_attribution(out: Path, command: str, resolution: int, n_structures: int,
                      n_meshes: int) -> None:
    text = f"""# Embedded atlas: attribution and provenance

`brainglobe-atlasapi/` holds the BrainGlobe (v3 layout) atlas
`{ATLAS_NAME}_{resolution}um`, packaged by scenerender with
brainglobe-atlasapi's own `wrapup_atlas_from_data`.

## Source data

* **Annotation and ontology**: Allen Mouse Brain Common Coordinate Framework
  v3 (CCFv3, 2017 annotation), (c) Allen Institute for Brain Science.
  Wang Q. et al. (2020) "The Allen Mouse Brain Common Coordinate Framework: A
  3D Reference Atlas", Cell 181(4):936-953,
  https://doi.org/10.1016/j.cell.2020.04.007 . https://www.brain-map.org
* Terms: Allen Institute terms of use (https://alleninstitute.org/terms-of-use/):
  attribution required, non-commercial research use. Any use of this atlas
  must credit the Allen Institute for Brain Science as above.
* The annotation is Allen's `ccf_2017/annotation_25.nrrd` downsampled to
  {resolution} um by nearest neighbour (the voxel at the centre of each block,
  index `f*i + f//2`, f = {resolution // SOURCE_RESOLUTION_UM}). The ontology is Allen's structure graph
  (ontology 1, {n_structures} structures, all kept; {n_meshes} have voxels at
  {resolution} um and therefore a mesh). Region meshes were computed here
  from the downsampled annotation by marching cubes (smoothed, decimated);
  they are not Allen's meshes.

## The reference ("template") image is synthetic

It is **not** the Allen average template (which is not redistributed here).
It was derived from the annotation alone: each voxel takes the luminance of
its region's Allen display colour, Gaussian-smoothed (sigma = 1 voxel),
scaled to uint16, 0 outside the brain. Do not use it for registration or
as an anatomical image.

## Rebuild

From the repository root, with the Allen data (`annotation_25.nrrd`,
`structure_graph.json`) in `../shared/data/allen_ccf_2017` and
brainglobe-atlasapi's packaging extra installed
(`pip install "brainglobe-atlasapi[atlasgen]==3.0.2"`; the extra is called
`atlasgen`):

```
{command}
```

It takes 4-9 minutes on 2 cores, replaces `brainglobe-atlasapi/` and is
deterministic (a rebuild gives byte-identical files).
"""
    (out / "ATTRIBUTION.md").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder with annotation_25.nrrd and structure_graph.json "
                             "(default: ../shared/data/allen_ccf_2017 from the repo root)")
    parser.add_argument("--resolution", type=int, default=100,
                        help="target resolution in um, a multiple of 25 (default 100)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder; the atlas goes to <out>/brainglobe-atlasapi "
                             "(default: scenerender/embedded_atlas in the repo)")
    parser.add_argument("--processes", type=int, default=2,
                        help="processes for mesh construction (default 2; 1 = serial)")
    args = parser.parse_args(argv)

    if args.resolution % SOURCE_RESOLUTION_UM:
        parser.error(f"--resolution must be a multiple of {SOURCE_RESOLUTION_UM}")
    factor = args.resolution // SOURCE_RESOLUTION_UM
    data_dir = args.data.resolve()
    out = (args.out if args.out is not None else REPO_ROOT / DEFAULT_OUT).resolve()

    sys.path.insert(0, str(REPO_ROOT))
    from scenerender._bgcompat import install_terminology_reader, offline_atlas_link_check
    from brainglobe_atlasapi.atlas_generation.wrapup import wrapup_atlas_from_data

    t_start = time.perf_counter()
    print(f"reading {data_dir}")
    annotation = downsample_block_centre(load_annotation(data_dir), factor)
    structures = load_structures(data_dir)
    reference = synthetic_reference(annotation, structures)
    print(f"annotation {annotation.shape} {annotation.dtype}, "
          f"{len(np.unique(annotation)) - 1} labels; {len(structures)} structures")

    bg_dir = out / "brainglobe-atlasapi"
    if bg_dir.exists():
        print(f"removing previous build {bg_dir}")
        shutil.rmtree(bg_dir)
    out.mkdir(parents=True, exist_ok=True)

    # The packager's validation step loads the atlas through BrainGlobeAtlas,
    # which needs the 32-bit terminology reader for Allen ids.
    install_terminology_reader()

    with tempfile.TemporaryDirectory(prefix="scenerender-atlas-") as tmp:
        scratch = Path(tmp)
        t0 = time.perf_counter()
        meshes = build_meshes(scratch, annotation, structures, args.processes)
        print(f"meshes: {len(meshes)} in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        with offline_atlas_link_check(), keep_all_structures():
            wrapup_atlas_from_data(
                atlas_name=ATLAS_NAME,
                atlas_minor_version=0,
                citation=CITATION,
                atlas_link=ATLAS_LINK,
                species=SPECIES,
                resolution=(args.resolution,) * 3,
                orientation="asr",
                root_id=ROOT_ID,
                reference_stack=reference,
                annotation_stack=annotation,
                structures_list=structures,
                meshes_dict=meshes,
                working_dir=out,
                atlas_packager=PACKAGER,
                hemispheres_stack=None,  # symmetric: split at the midline
                scale_meshes=True,
                overwrite=True,
            )
        print(f"wrapup: {time.perf_counter() - t0:.1f} s")
    # the scratch folder (meshes/*.obj, temp_annotations.zarr) is gone now

    mesh_dirs = list(bg_dir.glob("annotation-sets/*/*/annotations.precomputed/mesh"))
    if len(mesh_dirs) != 1:
        raise RuntimeError(f"expected one mesh directory, found {mesh_dirs}")
    before = dir_size(mesh_dirs[0])
    recompress_meshes(mesh_dirs[0])
    print(f"meshes re-encoded at Draco level {MESH_DRACO_LEVEL}: "
          f"{before / 1e6:.2f} MB -> {dir_size(mesh_dirs[0]) / 1e6:.2f} MB")

    print("validation of the final package:")
    validate(out, f"{ATLAS_NAME}_{args.resolution}um")

    leftovers = [p for p in out.iterdir() if p.name not in ("brainglobe-atlasapi", "ATTRIBUTION.md")]
    for p in leftovers:
        print(f"note: unexpected entry in {out}: {p.name}")

    command = "python tools/build_embedded_atlas.py"
    if args.resolution != 100:
        command += f" --resolution {args.resolution}"
    write_attribution(out, command, args.resolution, len(structures), len(meshes))

    size = dir_size(bg_dir)
    n_files = sum(1 for p in bg_dir.rglob("*") if p.is_file())
    print(f"total size of {bg_dir}: {size / 1e6:.2f} MB in {n_files} files")
    with_voxels = _structures_with_voxels(structures, annotation)
    no_mesh = [s for s in structures if s["id"] not in meshes]
    no_mesh_with_voxels = [s["acronym"] for s in no_mesh if s["id"] in with_voxels]
    print(f"structures: {len(structures)}; with voxels (own or descendants') at "
          f"{args.resolution} um: {len(with_voxels)}; with mesh: {len(meshes)}; "
          f"without mesh: {len(no_mesh)}")
    if no_mesh_with_voxels:
        print(f"WARNING: structures with voxels but no mesh: {no_mesh_with_voxels}")
    print(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
