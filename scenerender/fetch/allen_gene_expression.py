"""``kind: allen_gene_expression`` sources - Allen in-situ expression energy of a gene.

One RMA query finds the gene's section data sets; each one's gridded energy
(``/grid_data/download/<id>?include=energy``: a zip of ``energy.mhd`` and
``energy.raw``, float32 little-endian, -1 = no data) is read with a bounded
MetaImage reader written here, combined (mean or max over the experiments
that have data at a voxel) and handed to the existing volume reader with the
grid's space declared below.
"""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np

from ..limits import check_limit, over_limit
from ..sources import volume as volume_reader
from ._source import FetchedVolume, Job
from .client import Request

KIND = "allen_gene_expression"
PROVIDES = "volume"
SERVICE = "allen"
#: The grid's axes once read in C order (MetaImage x is fastest, so the array
#: is [z, y, x] = [left-right, dorsal-ventral, anterior-posterior] of CCFv3),
#: declared once here and mapped by scenerender.spaces; the voxel size comes
#: from the header's ElementSpacing (200 um).
ORIENTATION = "rsa"
MAX_HEADER_BYTES = 4096
MAX_MEMBERS = 64


def experiments_request(gene: str, plane: str) -> Request:
    criteria = ["model::SectionDataSet", "rma::criteria", "[failed$eq'false']", "products[abbreviation$eq'Mouse']"]
    if plane != "any":
        criteria.append(f"plane_of_section[name$eq'{plane}']")
    criteria.append(f"genes[acronym$eq'{gene}']")
    return Request(SERVICE, "GET", "/api/v2/data/query.json", query="criteria=" + ",".join(criteria) + "&num_rows=all",
                   what=f"Allen section data sets of {gene}", expect="json", suffix=".json")


def grid_request(experiment: int) -> Request:
    return Request(SERVICE, "GET", f"/grid_data/download/{int(experiment)}", query="include=energy",
                   what=f"Allen expression grid of experiment {experiment}", suffix=".zip", item_id=str(experiment))


def rma_rows(job: Job, item, what: str) -> list[dict]:
    reply = job.json(item, what)
    if not isinstance(reply, dict) or reply.get("success") is not True or not isinstance(reply.get("msg"), list):
        message = reply.get("msg") if isinstance(reply, dict) else None
        raise job.ctx.fail(f"the Allen API did not answer the query for {what} ({str(message)[:200]})")
    return [row for row in reply["msg"] if isinstance(row, dict)]


def parse_mhd(text: bytes) -> dict:
    """The few MetaImage header fields a grid needs, checked (the bytes are untrusted)."""
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"the .mhd header is larger than {MAX_HEADER_BYTES} bytes")
    fields = {}
    for line in text.decode("ascii", errors="strict").splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            fields[key.strip()] = value.strip()
    try:
        dims = [int(v) for v in fields["DimSize"].split()]
        spacing = [float(v) for v in fields.get("ElementSpacing", "1 1 1").split()]
    except (KeyError, ValueError):
        raise ValueError("the .mhd header has no usable DimSize / ElementSpacing") from None
    if len(dims) != 3 or min(dims) < 1 or len(spacing) != 3 or not all(np.isfinite(spacing)) or min(spacing) <= 0:
        raise ValueError(f"the .mhd header describes no 3-D grid (DimSize {dims}, ElementSpacing {spacing})")
    if fields.get("ElementType") != "MET_FLOAT":
        raise ValueError(f"the grid is {fields.get('ElementType')!r}, expected MET_FLOAT")
    if fields.get("BinaryDataByteOrderMSB", "False").lower() == "true" or \
            fields.get("ElementByteOrderMSB", "False").lower() == "true":
        raise ValueError("the grid is big-endian; the Allen grids are little-endian")
    data_file = fields.get("ElementDataFile", "")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", data_file):
        raise ValueError(f"ElementDataFile {data_file!r} is not a plain file name in the zip")
    return {"dims": dims, "spacing": spacing, "data_file": data_file}


def read_grid(payload: bytes, what: str) -> tuple[np.ndarray, list[float]]:
    """The energy grid of one zip as [z, y, x] float32 with -1 (no data) as NaN, and its spacing [z, y, x]."""
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        members = {info.filename: info for info in zf.infolist()[:MAX_MEMBERS]}
        header_name = next((n for n in members if n.lower().endswith("energy.mhd")), None)
        if header_name is None:
            raise ValueError(f"{what} has no energy.mhd")

        def read(name: str, limit: int) -> bytes:
            with zf.open(members[name]) as fh:  # at most limit + 1 bytes, whatever the zip claims
                data = fh.read(limit + 1)
            if len(data) > limit:
                raise ValueError(f"{name} is larger than its header says")
            return data

        header = parse_mhd(read(header_name, MAX_HEADER_BYTES))
        dims = header["dims"]
        voxels = int(np.prod(dims, dtype=object))
        if not check_limit(voxels, "voxels"):
            raise ValueError(over_limit(f"the grid has too many voxels ({dims})", voxels, "voxels"))
        folder = header_name.rpartition("/")[0]
        raw_name = f"{folder}/{header['data_file']}" if folder else header["data_file"]
        if raw_name not in members:
            raise ValueError(f"{what} has no {header['data_file']}")
        raw = read(raw_name, voxels * 4)
        if len(raw) != voxels * 4:
            raise ValueError(f"{header['data_file']} holds {len(raw)} bytes; DimSize {dims} needs {voxels * 4}")
    values = np.frombuffer(raw, dtype="<f4").reshape(dims[::-1]).astype(np.float32)
    values[~np.isfinite(values) | (values < 0)] = np.nan  # -1: no data
    return values, header["spacing"][::-1]


def combine(grids: list[np.ndarray], how: str) -> np.ndarray:
    """Mean or max over the experiments with data at each voxel; 0 where none has data."""
    stack = np.stack(grids)
    have = np.isfinite(stack)
    filled = np.where(have, stack, 0.0)
    if how == "max":
        out = np.where(have, stack, -np.inf).max(axis=0)
    else:
        out = filled.sum(axis=0) / np.maximum(have.sum(axis=0), 1)
    return np.where(have.any(axis=0), out, 0.0).astype(np.float32)


def load(spec: dict, *, ctx) -> FetchedVolume:
    job = Job(spec, ctx)
    gene = spec["gene"]
    rows = rma_rows(job, job.get(experiments_request(gene, spec.get("plane", "any"))), f"the experiments of {gene}")
    ids = sorted({int(r["id"]) for r in rows if isinstance(r.get("id"), int)}, reverse=True)
    if not ids:
        plane = "" if spec.get("plane", "any") == "any" else f" cut {spec['plane']}"
        raise ctx.fail(f"the Allen Mouse Brain Atlas has no expression experiment{plane} for gene {gene!r} "
                       "(gene symbols are case-sensitive, e.g. Gpr161)", ("gene",))
    ids = ids[:1] if spec.get("experiments", "newest") == "newest" else ids[: spec.get("limit", 10)]

    def one(experiment: int):
        item = job.get(grid_request(experiment))
        try:
            return read_grid(item.path.read_bytes(), f"the expression grid of experiment {experiment}")
        except (ValueError, zipfile.BadZipFile, EOFError, UnicodeDecodeError, NotImplementedError) as err:
            raise ctx.fail(f"cannot read the expression grid of experiment {experiment} ({item.url}): {err}") \
                from None

    grids = job.map(one, ids)
    shapes = {g.shape for g, _ in grids}
    spacings = {tuple(s) for _, s in grids}
    if len(shapes) > 1 or len(spacings) > 1:
        raise ctx.fail(f"the experiments' grids differ ({sorted(shapes)}); choose one with experiments: newest")
    values = combine([g for g, _ in grids], spec.get("aggregate", "mean"))
    if not values.any():
        raise ctx.fail(f"the expression grid of {gene} holds no data (every voxel is -1 or 0)", ("gene",))
    space = {"orientation": ORIENTATION, "resolution": list(grids[0][1])}
    buffer = io.BytesIO()
    np.save(buffer, values, allow_pickle=False)
    data = job.read_with({"kind": "volume", "space": space}, buffer.getvalue(), "npy", ".npy", volume_reader.load)
    return FetchedVolume(values=data.values, origin=data.origin, spacing=data.spacing, fetched=job.remember())
