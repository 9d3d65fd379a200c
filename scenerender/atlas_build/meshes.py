"""Region meshes for packaging: marching cubes in parallel, OBJ imports,
and lossless re-encoding of the packaged Draco files.

Meshes are made by BrainGlobe's own per-region function
(``atlas_generation.mesh_utils.create_region_mesh``: the region's voxels and
its descendants', hole filling, binary closing, vedo isosurface i.e.
marching cubes, DecimatePro decimation, windowed-sinc smoothing), so the
result is what ``construct_meshes_from_annotation`` would make. scenerender
only drives it: a process pool that receives the annotation once per worker
(instead of re-reading a Zarr copy for every region), a rich progress bar,
an optional subset of regions, and a margin around the volume (below).

All meshes are written as ``<id>.obj`` in voxel units of the packaged
annotation, on the input stacks' axes; ``wrapup_atlas_from_data`` (with
``scale_meshes=True``) scales them to microns and reorients them to ``asr``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

#: Background margin (voxels) added around the annotation while meshing.
#: BrainGlobe's closing uses scipy's default ``border_value=0``, so its
#: erosion half eats into any structure within that many voxels of the
#: volume edge (at 100 um the root lost up to ~0.7 mm at the olfactory bulb
#: and the dorsal surface). It must exceed the largest closing BrainGlobe
#: applies (8 iterations, for the root); vertices are shifted back after.
MESH_PAD = 10

#: Mesh files smaller than this are dropped, as BrainGlobe does.
MIN_OBJ_BYTES = 512

# Worker state, set once per process by _init_worker.
_WORK: dict = {}


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


def _mesh_one(structure_id: int) -> tuple[int, float]:
    from brainglobe_atlasapi.atlas_generation.mesh_utils import create_region_mesh

    w = _WORK
    start = time.perf_counter()
    create_region_mesh((w["meshes_dir"], w["tree"][structure_id], w["tree"], w["labels"], w["volume"],
                        w["root_id"], w["closing"], w["decimate"], w["smooth"], 0))
    return structure_id, time.perf_counter() - start


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), disable=not enabled)


def generate_meshes(scratch: Path, annotation: np.ndarray, structures: list[dict], wanted: set[int] | None, *,
                    closing: int, decimate: float, smooth: bool, processes: int,
                    progress: bool = True) -> dict[int, Path]:
    """Marching-cubes meshes for ``wanted`` structures (None: all with voxels).

    Returns ``{structure id: obj path}`` for the meshes that were made.
    ``processes`` 1 runs in this process; more use a pool (fork where the
    platform has it, so workers share the annotation without copying).
    """
    import meshio
    from brainglobe_atlasapi.structure_tree_util import get_structures_tree, preorder_depth_first_search

    meshes_dir = scratch / "meshes"
    meshes_dir.mkdir(parents=True, exist_ok=True)
    padded = np.pad(annotation, MESH_PAD, mode="constant", constant_values=0)
    tree = get_structures_tree(structures)
    labels = np.unique(padded).astype(np.int32)
    present = set(labels.tolist())
    # Only structures with voxels (own or a descendant's) can have a mesh.
    with_voxels = {i for s in structures if s["id"] in present for i in s["structure_id_path"]}
    order = [node.identifier for node in preorder_depth_first_search(tree)
             if node.identifier in with_voxels and (wanted is None or node.identifier in wanted)]
    state = dict(meshes_dir=meshes_dir, tree=tree, labels=labels, volume=padded, root_id=tree.root,
                 closing=closing, decimate=decimate, smooth=smooth)
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
        if not path.exists() or path.stat().st_size < MIN_OBJ_BYTES:
            continue
        mesh = meshio.read(path)
        triangles = mesh.get_cells_type("triangle")
        meshio.write(path, meshio.Mesh(mesh.points - MESH_PAD, [("triangle", triangles)]), file_format="obj")
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
        if a.shape != points.shape or len(after.faces) != len(faces):
            raise RuntimeError(f"re-encoding changed mesh {path.name}")
        # edgebreaker may reorder vertices: compare the sorted vertex sets
        pa = points[np.lexsort(points.T[::-1])]
        aa = a[np.lexsort(a.T[::-1])]
        step = float(np.ptp(points, axis=0).max()) / (2**16 - 1)
        if not np.allclose(pa, aa, rtol=0, atol=max(step, 1.0)):
            raise RuntimeError(f"re-encoding moved vertices of mesh {path.name}")
