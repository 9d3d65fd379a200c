"""``kind: allen_streamlines`` sources - Allen Mouse Connectivity streamlines.

Experiment ids come from one RMA query
(``service::mouse_connectivity_injection_structure``); the streamlines of each
experiment are a Neuroglancer precomputed skeleton in the
``allen_mesoscale`` store (the one brainrender reads since its old JSON host
died). The format is small and read here with bounds: the store's ``info``
names the skeleton folder, whose ``info`` gives a 3 x 4 transform; an
unsharded skeleton is ``uint32 vertices, uint32 edges, float32 xyz per
vertex, uint32 pairs per edge`` (little-endian), then vertex attributes.
Sharded stores are refused with a message (no murmurhash / minishard code here).
"""

from __future__ import annotations

import struct
from urllib.parse import quote

import numpy as np

from ..atlas import RegionNotFound
from ..limits import check_limit, over_limit
from ._source import Job, TrackGroup
from .allen_gene_expression import rma_rows
from .client import Request

KIND = "allen_streamlines"
PROVIDES = "track"
SERVICE = "allen"
STORE = "allen_streamlines"
#: The skeletons' axes, declared once: CCFv3 microns (nanometres / 1000) with
#: anterior-posterior, superior-inferior and left-right *from the left* (the
#: axis brainrender flips by hand as ``11400 - z``); the flip needs the extent
#: of the CCF, 1320 x 800 x 1140 voxels of 10 um. Mapped by scenerender.spaces.
SPACE = {"orientation": "asl", "shape": [13200, 8000, 11400]}
NM_PER_UM = 1000.0


def experiments_request(region: str) -> Request:
    query = (f"q=service::mouse_connectivity_injection_structure[injection_structures$eq{quote(region, safe='')}]"
             "[primary_structure_only$eqtrue]")
    return Request(SERVICE, "GET", "/api/v2/data/query.json", query=query,
                   what=f"Allen connectivity experiments injected in {region}", expect="json", suffix=".json")


def info_request(folder: str = "") -> Request:
    return Request(STORE, "GET", f"{folder}/info", what=f"precomputed {'skeleton ' if folder else ''}info",
                   expect="json", suffix=".json")


def skeleton_request(folder: str, experiment: int) -> Request:
    return Request(STORE, "GET", f"{folder}/{int(experiment)}", what=f"streamlines of experiment {experiment}",
                   suffix=".skel", item_id=str(experiment))


def read_skeleton(data: bytes, transform: np.ndarray) -> list[np.ndarray]:
    """Unbranched polylines (model units mapped by ``transform``) of one unsharded skeleton."""
    vertices, edges = _skeleton_arrays(data)
    vertices = vertices @ transform[:, :3].T + transform[:, 3]
    neighbours: dict[int, list[int]] = {}
    for a, b in edges.tolist():
        if a != b:
            neighbours.setdefault(a, []).append(b)
            neighbours.setdefault(b, []).append(a)
    return [vertices[chain] for chain in _unbranched_runs(neighbours)]


def _skeleton_arrays(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The vertices (N x 3, model units) and edges (M x 2 vertex indices) of a skeleton, its header's
    counts checked against the limits, the data's length and each other first."""
    if len(data) < 8:
        raise ValueError("the skeleton is shorter than its 8-byte header")
    n_vertices, n_edges = struct.unpack_from("<II", data, 0)
    if not check_limit(n_vertices, "points"):
        raise ValueError(over_limit("the skeleton has too many vertices", n_vertices, "points"))
    need = 8 + 12 * n_vertices + 8 * n_edges
    if len(data) < need:
        raise ValueError(f"the skeleton holds {len(data)} bytes; its header promises at least {need}")
    vertices = np.frombuffer(data, dtype="<f4", count=3 * n_vertices, offset=8).reshape(-1, 3).astype(float)
    edges = np.frombuffer(data, dtype="<u4", count=2 * n_edges, offset=8 + 12 * n_vertices).reshape(-1, 2)
    if n_edges and int(edges.max()) >= n_vertices:
        raise ValueError("an edge names a vertex the skeleton does not have")
    return vertices, edges


def _unbranched_runs(neighbours: dict[int, list[int]]) -> list[list[int]]:
    """Vertex chains that walk from every end or branch point along unvisited edges: one per
    unbranched run (a loop with no end starts anywhere)."""
    chains, used = [], set()
    starts = [v for v, n in neighbours.items() if len(n) != 2] or list(neighbours)[:1]
    for start in starts + list(neighbours):
        for nxt in neighbours.get(start, []):
            if (start, nxt) in used:
                continue
            chain, prev, cur = [start], start, nxt
            used.update({(prev, cur), (cur, prev)})
            chain.append(cur)
            while len(neighbours[cur]) == 2:
                step = next(n for n in neighbours[cur] if n != prev)
                if (cur, step) in used:
                    break
                used.update({(cur, step), (step, cur)})
                prev, cur = cur, step
                chain.append(cur)
            chains.append(chain)
    return chains


def _transform(job: Job, info: dict) -> np.ndarray:
    values = info.get("transform", [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0])
    try:
        matrix = np.asarray(values, dtype=float).reshape(3, 4)
    except (TypeError, ValueError):
        raise job.ctx.fail("the skeleton info's transform is not 12 numbers") from None
    if not np.isfinite(matrix).all():
        raise job.ctx.fail("the skeleton info's transform is not finite")
    return matrix


def load(spec: dict, *, ctx) -> TrackGroup:
    job = Job(spec, ctx)
    ids = _experiment_ids(spec, job, ctx)
    folder, transform = _skeleton_store(job, ctx)

    def one(experiment: int) -> list[np.ndarray]:
        item = job.get(skeleton_request(f"/{folder}", experiment))
        if not check_limit(item.size, "file_bytes"):
            raise ctx.fail(over_limit(f"the streamlines of {experiment} are too large", item.size, "file_bytes"))
        try:
            return read_skeleton(item.path.read_bytes(), transform)
        except ValueError as err:
            raise ctx.fail(f"cannot read the streamlines of experiment {experiment} ({item.url}): {err}") from None

    lines = [line / NM_PER_UM for group in job.map(one, ids) for line in group if len(line) >= 2]
    if not lines:
        raise ctx.fail(f"experiments {ids} have no streamlines")
    mapped = ctx.to_atlas({"space": SPACE}, np.concatenate(lines), what="streamline points")
    cuts = np.cumsum([len(line) for line in lines])[:-1]
    parts = tuple(np.split(mapped, cuts))
    return TrackGroup(points=parts[0], lines=parts, fetched=job.remember())


def _experiment_ids(spec: dict, job: Job, ctx) -> list[int]:
    """The experiments named, or the first ``limit`` whose primary injection is in ``injection_in``."""
    if "experiments" in spec:
        return [int(e) for e in spec["experiments"]]
    region = spec["injection_in"]
    try:
        acronym = ctx.atlas.structure(region)["acronym"]
    except RegionNotFound as err:  # located, with did-you-mean
        raise ctx.fail(str(err), ("injection_in",)) from None
    rows = rma_rows(job, job.get(experiments_request(acronym)), f"experiments injected in {acronym}")
    ids = sorted({int(r["id"]) for r in rows if isinstance(r.get("id"), int)})[: spec.get("limit", 2)]
    if not ids:
        raise ctx.fail(f"no Allen connectivity experiment has its primary injection in {acronym}",
                       ("injection_in",))
    return ids


def _skeleton_store(job: Job, ctx) -> tuple[str, np.ndarray]:
    """The precomputed store's skeleton folder and its transform (model units to nanometres), from the
    store's and the folder's info; a sharded store is refused."""
    root = job.json(job.get(info_request()), "the precomputed store's info")
    folder = root.get("skeletons") if isinstance(root, dict) else None
    if not isinstance(folder, str) or not folder.replace("_", "").replace("-", "").isalnum():
        raise ctx.fail("the precomputed store's info names no skeleton folder")
    info = job.json(job.get(info_request(f"/{folder}")), "the skeleton info")
    if not isinstance(info, dict) or info.get("@type") != "neuroglancer_skeletons":
        raise ctx.fail("the skeleton folder's info is not a neuroglancer_skeletons info")
    if info.get("sharding"):
        raise ctx.fail("the streamline store uses Neuroglancer's sharded format, which scenerender does not read yet")
    return folder, _transform(job, info)
