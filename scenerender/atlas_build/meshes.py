"""Region meshes for packaging: surfaces from the annotation in parallel,
OBJ imports, and lossless re-encoding of the packaged Draco files.

Where a region mesh sits (the voxel convention)
-----------------------------------------------
Voxel ``i`` of a stack with voxel size ``r`` covers ``[i*r, (i+1)*r)``
microns and its centre is at ``(i + 1/2)*r`` -- the convention that
brainglobe-atlasapi's own point lookup (``structure_from_coords``:
``int(um / r)``) and scenerender's use. BrainGlobe's mesh utilities run
marching cubes on voxel *indices* and ``wrapup`` multiplies by ``r``, which
puts voxel centres at ``i*r``: every mesh half a voxel (50 um at 100 um)
towards the origin on every axis. Our meshes are made here instead, with the
voxel centres at ``i + 1/2`` (in voxels of the packaged annotation, which
``wrapup`` scales to microns).

How a region surface is made
----------------------------
1. **Partial-volume occupancy.** When the packaged annotation is coarser than
   the input (``output_resolution``), each output voxel holds the *fraction*
   of its block of input voxels that lie in the region (or a descendant), so
   the 0.5 level falls between voxel centres where the region's true border
   is: sub-voxel accurate, with none of the staircase, beads and isolated
   single-voxel specks of a nearest-neighbour label map.
2. **Holes filled** (cavities inside a region, e.g. a fibre tract enclosed by
   cortex, are not surfaces anyone draws), optional binary closing.
3. **Flying edges** at the 0.5 level (marching cubes).
4. **Windowed-sinc smoothing** (VTK's, normalised coordinates, no boundary
   smoothing): a low-pass filter that keeps volume and position, unlike
   Laplacian smoothing, which shrinks.
5. **Pieces below ``min_piece_voxels``** (volume in output voxels) dropped:
   below the atlas's own resolution they are noise of the sampling, not
   anatomy a figure should show.
6. **Quadric decimation** to ``decimate_fraction`` of the triangles,
   preserving volume.

All meshes are written as ``<id>.obj`` in voxel units of the packaged
annotation, on the input stacks' axes; ``wrapup_atlas_from_data`` (with
``scale_meshes=True``) scales them to microns and reorients them to ``asr``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

#: Mesh files smaller than this are dropped, as BrainGlobe does.
MIN_OBJ_BYTES = 512

# Worker state, set once per process by _init_worker.
_WORK: dict = {}


@dataclass(frozen=True)
class MeshOptions:
    """How generated region surfaces are made (the recipe's ``meshes``)."""

    closing: int = 0
    smooth: bool = True
    smooth_iterations: int = 20
    pass_band: float = 0.05
    min_piece_voxels: float = 0.1
    decimate: float = 0.5


def _init_worker(state: dict) -> None:
    _WORK.clear()
    _WORK.update(state)


def _init_pool_worker(state: dict) -> None:
    import signal

    # A forked worker inherits the command's handlers, which turn SIGTERM into an
    # exception with a traceback; the pool ends its workers with SIGTERM when the
    # meshes are done, so a worker just stops. Ctrl-C is the parent's to handle.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(state)


def occupancy(inside: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    """Fraction of each block of ``factors`` input voxels that is inside (float32)."""
    f0, f1, f2 = factors
    n0, n1, n2 = (n // f for n, f in zip(inside.shape, factors))
    blocks = inside[: n0 * f0, : n1 * f1, : n2 * f2].reshape(n0, f0, n1, f1, n2, f2)
    return blocks.mean(axis=(1, 3, 5), dtype=np.float32)


def surface_from_occupancy(occ: np.ndarray, origin, options: MeshOptions):
    """Closed triangle surface of ``occ >= 0.5`` as (points, faces).

    ``origin`` is the coordinate (output voxels) of the centre of ``occ[0, 0, 0]``.
    Returns ``None`` when nothing is left.
    """
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv
    from scipy import ndimage

    solid = occ >= 0.5
    if not solid.any():
        return None
    filled = ndimage.binary_fill_holes(solid)
    if options.closing:
        pad = options.closing + 1  # closing must not erode at the crop edge (border_value=0)
        filled = ndimage.binary_closing(np.pad(filled, pad), iterations=options.closing)[pad:-pad, pad:-pad, pad:-pad]
    field = np.pad(np.maximum(occ, filled.astype(np.float32)), 1)
    image = pv.ImageData(dimensions=field.shape, spacing=(1.0, 1.0, 1.0), origin=tuple(np.asarray(origin) - 1.0))
    image.point_data["occupancy"] = field.ravel(order="F")
    mesh = image.contour([0.5], scalars="occupancy", method="flying_edges").triangulate()
    if mesh.n_cells == 0:
        return None
    if options.smooth and options.smooth_iterations > 0:
        mesh = mesh.smooth_taubin(n_iter=options.smooth_iterations, pass_band=options.pass_band,
                                  normalize_coordinates=True, boundary_smoothing=False,
                                  feature_smoothing=False, non_manifold_smoothing=True)
    points, faces = drop_small_pieces(np.asarray(mesh.points, dtype=float), np.asarray(mesh.regular_faces),
                                      options.min_piece_voxels)
    if len(faces) == 0:
        return None
    if options.decimate < 1.0 and len(faces) > 64:
        mesh = pv.PolyData.from_regular_faces(points, faces).decimate(
            1.0 - options.decimate, volume_preservation=True)
        points, faces = np.asarray(mesh.points, dtype=float), np.asarray(mesh.regular_faces)
    return points, faces


def piece_volumes(points: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(piece index of every face, enclosed volume of every piece) of a closed surface.

    Pieces are the connected components of the faces (shared vertices);
    a piece's volume is the divergence-theorem sum over its triangles.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(points)
    rows = np.repeat(faces[:, 0], 2)
    cols = faces[:, 1:].ravel()
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, vertex_piece = connected_components(graph, directed=False)
    face_piece = vertex_piece[faces[:, 0]]
    a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    signed = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0
    return face_piece, np.abs(np.bincount(face_piece, weights=signed))


def drop_small_pieces(points: np.ndarray, faces: np.ndarray, min_volume: float):
    """The surface without the pieces enclosing less than ``min_volume``; unused vertices removed."""
    if min_volume <= 0 or len(faces) == 0:
        return points, faces
    face_piece, volumes = piece_volumes(points, faces)
    kept = faces[volumes[face_piece] >= min_volume]
    used, inverse = np.unique(kept, return_inverse=True)
    return points[used], inverse.reshape(-1, 3)


def _label_boxes(labels: np.ndarray) -> list:
    """Bounding slices of every compact label value (index = label)."""
    from scipy import ndimage

    return ndimage.find_objects(labels.astype(np.int32) + 1)  # +1: label 0 (outside) gets a box too


def _mesh_one(structure_id: int) -> tuple[int, float]:
    import meshio

    w = _WORK
    start = time.perf_counter()
    members = w["members"][structure_id]  # compact label values inside this structure
    f = np.array(w["factors"])
    boxes = [w["boxes"][m] for m in members if w["boxes"][m] is not None]
    if boxes:
        lo = np.min([[s.start for s in b] for b in boxes], axis=0) // f
        hi = -(-np.max([[s.stop for s in b] for b in boxes], axis=0) // f)
        hi = np.minimum(hi, np.array(w["labels"].shape) // f)
        crop = w["labels"][tuple(slice(a * k, b * k) for a, b, k in zip(lo, hi, f))]
        lut = np.zeros(len(w["values"]), dtype=bool)
        lut[members] = True
        inside = lut[crop]
        occ = occupancy(inside, (int(f[0]), int(f[1]), int(f[2])))
        surface = surface_from_occupancy(occ, lo + 0.5, w["options"])  # voxel centres at i + 1/2
        if surface is None:
            # Thinner than half a packaged voxel everywhere, yet it has voxels in the packaged
            # annotation (block centres): mesh those voxels, so every structure there can be drawn.
            centres = inside[tuple(slice(k // 2, None, k) for k in f)][: occ.shape[0], : occ.shape[1], : occ.shape[2]]
            surface = surface_from_occupancy(centres.astype(np.float32), lo + 0.5,
                                             replace(w["options"], min_piece_voxels=0.0))
        if surface is not None:
            points, faces = surface
            meshio.write(Path(w["meshes_dir"]) / f"{structure_id}.obj",
                         meshio.Mesh(points, [("triangle", faces)]), file_format="obj")
    return structure_id, time.perf_counter() - start


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), disable=not enabled)


def generate_meshes(scratch: Path, annotation: np.ndarray, structures: list[dict], wanted: set[int] | None, *,
                    factors: tuple[int, int, int] = (1, 1, 1), options: MeshOptions = MeshOptions(),
                    processes: int, progress: bool = True) -> dict[int, Path]:
    """Region surfaces for ``wanted`` structures (None: all with voxels).

    ``annotation`` is the *input* annotation; ``factors`` the block size
    (input voxels per packaged voxel on each axis). Returns
    ``{structure id: obj path}`` for the meshes that were made, in packaged
    voxel units. ``processes`` 1 runs in this process; more use a pool (fork
    where the platform has it, so workers share the annotation without copying).
    """
    meshes_dir = scratch / "meshes"
    meshes_dir.mkdir(parents=True, exist_ok=True)
    values, compact = np.unique(annotation, return_inverse=True)
    compact = compact.reshape(annotation.shape).astype(np.uint16 if len(values) < 2**16 else np.uint32)
    index_of = {int(v): i for i, v in enumerate(values.tolist())}
    members: dict[int, list[int]] = {}
    for s in structures:  # each annotation value belongs to every structure on its id path
        if s["id"] in index_of and s["id"] != 0:
            for ancestor in s["structure_id_path"]:
                members.setdefault(int(ancestor), []).append(index_of[s["id"]])
    by_id = {s["id"]: s for s in structures}
    order = [sid for sid in sorted(members, key=lambda i: len(by_id[i]["structure_id_path"]) if i in by_id else 0)
             if sid in by_id and (wanted is None or sid in wanted)]
    state = dict(meshes_dir=str(meshes_dir), labels=compact, values=values, boxes=_label_boxes(compact),
                 members=members, factors=tuple(int(f) for f in factors), options=options)
    processes = max(1, min(processes or default_processes(), len(order) or 1))
    with _progress(progress) as bar:
        task = bar.add_task(f"meshes ({processes} process{'es' if processes > 1 else ''})", total=len(order))
        if processes == 1:
            _init_worker(state)
            for sid in order:
                _mesh_one(sid)
                bar.advance(task)
        else:
            methods = mp.get_all_start_methods()
            ctx = mp.get_context("fork" if "fork" in methods and sys.platform != "darwin" else None)
            with ctx.Pool(processes, initializer=_init_pool_worker, initargs=(state,)) as pool:
                for _ in pool.imap_unordered(_mesh_one, order):
                    bar.advance(task)
    made: dict[int, Path] = {}
    for s in structures:  # in structure order, like BrainGlobe's own loop
        path = meshes_dir / f"{s['id']}.obj"
        if path.exists() and path.stat().st_size >= MIN_OBJ_BYTES:
            made[s["id"]] = path
    return made


def import_meshes(scratch: Path, folder: Path, ids: set[int], *, scale: np.ndarray) -> tuple[dict[int, Path], list[str]]:
    """Copy ``<id>.obj`` files for ``ids`` from ``folder`` into the scratch
    folder in packaged-voxel units (vertices multiplied by ``scale``).

    Returns the meshes and the names of files that matched no structure.
    """
    import meshio

    out_dir = scratch / "imported"
    out_dir.mkdir(parents=True, exist_ok=True)
    made: dict[int, Path] = {}
    ignored = []
    for path in sorted(folder.glob("*.obj")):
        try:
            sid = int(path.stem)
        except ValueError:
            ignored.append(path.name)
            continue
        if sid not in ids:
            ignored.append(path.name)
            continue
        mesh = meshio.read(path)
        triangles = mesh.get_cells_type("triangle")
        target = out_dir / f"{sid}.obj"
        meshio.write(target, meshio.Mesh(np.asarray(mesh.points, float) * scale, [("triangle", triangles)]),
                     file_format="obj")
        made[sid] = target
    return made, ignored


def recompress_meshes(mesh_dir: Path, compression_level: int) -> None:
    """Re-encode the packaged Draco meshes at ``compression_level``.

    ``wrapup`` writes every mesh through ``mesh_utils.write_mesh`` with its
    default ``compression_level=0`` (no way to pass another), ~3.5x larger
    than level 7. Each mesh is decoded and written again with the same
    upstream ``write_mesh`` (same 16-bit quantisation grid, new ``.index``
    manifest); the vertex set is checked to be unchanged (lossless).
    """
    # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
    import DracoPy
    import meshio
    from brainglobe_atlasapi.atlas_generation.mesh_utils import write_mesh

    if compression_level == 0:
        return
    for path in sorted(mesh_dir.iterdir()):
        if path.name == "info" or path.suffix == ".index":
            continue
        before = DracoPy.decode(path.read_bytes())
        points = np.asarray(before.points, dtype=np.float32)
        faces = np.asarray(before.faces, dtype=np.uint32)
        write_mesh(meshio.Mesh(points, [("triangle", faces)]), mesh_dir, int(path.name),
                   compression_level=compression_level)
        after = DracoPy.decode(path.read_bytes())
        a = np.asarray(after.points, dtype=np.float32)
        if len(after.faces) != len(faces):
            raise RuntimeError(f"re-encoding changed mesh {path.name}")
        # edgebreaker may reorder vertices, and splits a vertex shared by two sheets into copies:
        # compare the sets of distinct vertex positions
        pa = np.unique(points, axis=0)
        aa = np.unique(a, axis=0)
        step = float(np.ptp(points, axis=0).max()) / (2**16 - 1)
        if pa.shape != aa.shape or not np.allclose(pa, aa, rtol=0, atol=max(step, 1.0)):
            raise RuntimeError(f"re-encoding moved vertices of mesh {path.name}")
