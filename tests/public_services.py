"""A real HTTP server on 127.0.0.1 playing MouseLight, NeuroMorpho.org and the Allen APIs.

The real client code runs end to end against it through the
``SCENERENDER_<SERVICE>_URL`` overrides. It serves the real MouseLight exports
from ../shared/data and payloads built here from the published formats (see
tests/fixtures/public/README.md). Every request is logged (method, path,
query string, body) so tests assert exactly what was sent; faults (500s,
slow or truncated replies) are queued per route.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "public"
SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
ML_JSON = SHARED / "neurons" / "mouselight_json"
ML_SWC = SHARED / "neurons" / "mouselight_swc"

GENE = "Gpr161"
GENE_EXPERIMENTS = {79912555: 5.0, 73520989: 3.0}  # id -> energy in the thalamus (the rest of the brain 0)
STREAMLINE_EXPERIMENTS = [100141780, 479983421]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    #: Send only this many bytes of the body (with the full Content-Length), then close.
    truncate: int | None = None


@dataclass
class Logged:
    method: str
    path: str
    query: str
    body: bytes
    headers: dict = field(default_factory=dict)

    def json(self):
        return json.loads(self.body)


class Server:
    """The loopback server: ``routes[(method, path)]`` -> callable(Logged) -> Reply."""

    def __init__(self):
        self.routes: dict = {}
        self.queued: dict = {}
        self.log: list[Logged] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self, method):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Logged(method, parts.path, parts.query, body, dict(self.headers))
                with server.lock:
                    server.log.append(request)
                    queue = server.queued.get((method, parts.path))
                    reply = queue.pop(0) if queue else None
                if reply is None:
                    handler = server.routes.get((method, parts.path))
                    if handler is None:
                        handler = next((h for (m, p), h in server.routes.items()
                                        if m == method and p.endswith("*") and parts.path.startswith(p[:-1])), None)
                    reply = handler(request) if handler else Reply(404, b'{"error": "Not Found"}')
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                if reply.truncate is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                try:
                    self.wfile.write(reply.body if reply.truncate is None else reply.body[: reply.truncate])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if reply.truncate is not None:
                    self.close_connection = True

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def queue(self, method: str, path: str, *replies: Reply):
        """Answer the next requests to this route with ``replies`` first (faults)."""
        self.queued.setdefault((method, path), []).extend(replies)

    def requests(self, path_start: str = "") -> list[Logged]:
        return [r for r in self.log if r.path.startswith(path_start)]


def json_reply(data, status=200) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


def rma(rows: list[dict]) -> Reply:
    """The Allen RMA envelope."""
    return json_reply({"success": True, "id": 0, "start_row": 0, "num_rows": len(rows), "total_rows": len(rows),
                       "msg": rows})


# -- payloads shaped from the published formats -------------------------------

def thalamus_grid(atlas, energy: float) -> np.ndarray:
    """A 200 um expression grid in MetaImage order (x = AP fastest): ``energy`` in TH, 0 in the
    brain, -1 (no data) outside; returned as the C-order array [z=LR, y=DV, x=AP] of shape (58, 41, 67)."""
    annotation = np.asarray(atlas.bg.annotation)  # asr at the atlas resolution
    step = round(200 / atlas.resolution[0])
    # A 200 um voxel k covers [200 k, 200 k + 200) um: the step**3 atlas voxels inside it.
    shape = [-(-n // step) * step for n in annotation.shape]
    padded = np.zeros(shape, dtype=annotation.dtype)
    padded[tuple(slice(0, n) for n in annotation.shape)] = annotation
    blocks = padded.reshape(shape[0] // step, step, shape[1] // step, step, shape[2] // step, step)
    th = atlas.bg.structures["TH"]["id"]
    in_th = np.isin(blocks, [s["id"] for s in atlas.bg.structures.values() if th in s["structure_id_path"]])
    inside_th = in_th.mean(axis=(1, 3, 5)) >= 0.5
    in_brain = (blocks > 0).mean(axis=(1, 3, 5)) >= 0.5
    grid_asr = np.full((67, 41, 58), -1.0, dtype=np.float32)  # AP, DV, LR
    a, d, l = inside_th.shape
    grid_asr[:a, :d, :l] = np.where(in_brain, 0.0, -1.0)
    grid_asr[:a, :d, :l][inside_th] = energy
    return np.ascontiguousarray(grid_asr.transpose(2, 1, 0))  # -> [LR, DV, AP]


def energy_zip(grid_zyx: np.ndarray) -> bytes:
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n"
              "CenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\nElementSpacing = 200 200 200\n"
              f"DimSize = {grid_zyx.shape[2]} {grid_zyx.shape[1]} {grid_zyx.shape[0]}\nElementType = MET_FLOAT\n"
              "ElementDataFile = energy.raw\n")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data_set.xml", "<data-set/>")
        zf.writestr("energy.mhd", header)
        zf.writestr("energy.raw", grid_zyx.astype("<f4").tobytes())
    return out.getvalue()


def region_centre_um(atlas, acronym: str) -> np.ndarray:
    """Atlas microns (asr) of a voxel near the middle of a region's right-hemisphere half."""
    ids = [s["id"] for s in atlas.bg.structures.values() if atlas.bg.structures[acronym]["id"] in s["structure_id_path"]]
    voxels = np.argwhere(np.isin(atlas.bg.annotation, ids))
    voxels = voxels[voxels[:, 2] < atlas.bg.annotation.shape[2] // 2]  # right hemisphere (asr: axis 2 from the right)
    centre = voxels.mean(axis=0)
    nearest = voxels[np.argmin(((voxels - centre) ** 2).sum(axis=1))]
    return (nearest + 0.5) * np.asarray(atlas.resolution)


def skeleton_binary(points_asr_um: list[np.ndarray]) -> bytes:
    """Unsharded precomputed skeleton: one chain per polyline, stored in nm on the 'asl' CCF axes
    (left-right from the left, as the allen_mesoscale store), with one float32 vertex attribute."""
    vertices, edges = [], []
    for line in points_asr_um:
        start = len(vertices)
        for p in line:
            vertices.append([p[0] * 1000, p[1] * 1000, (11400 - p[2]) * 1000])
        edges += [[start + i, start + i + 1] for i in range(len(line) - 1)]
    v = np.asarray(vertices, dtype="<f4")
    e = np.asarray(edges, dtype="<u4")
    radius = np.ones(len(v), dtype="<f4")
    return struct.pack("<II", len(v), len(e)) + v.tobytes() + e.tobytes() + radius.tobytes()


def streamline_paths(atlas) -> dict[int, list[np.ndarray]]:
    """Per experiment: polylines from the thalamus to a cortical area (atlas microns, asr)."""
    th = region_centre_um(atlas, "TH")
    targets = {100141780: region_centre_um(atlas, "SSp"), 479983421: region_centre_um(atlas, "MOs")}
    out = {}
    for eid, target in targets.items():
        t = np.linspace(0, 1, 12)[:, None]
        out[eid] = [th + t * (target - th), th + t * (region_centre_um(atlas, "STR") - th)]
    return out


# -- the services -------------------------------------------------------------

def install(server: Server, atlas) -> Server:
    graphql = json.loads((FIXTURES / "mouselight_graphql.json").read_text())
    records = json.loads((FIXTURES / "neuromorpho_records.json").read_text())

    def ml_json(request):
        ids = request.json()["ids"]
        if len(ids) == 1 and (ML_JSON / f"{ids[0]}.json").exists():
            return json_reply({"contents": json.loads((ML_JSON / f"{ids[0]}.json").read_text()),
                               "filename": f"{ids[0]}.json"})
        return json_reply({"error": "not found"}, 404)

    def ml_swc(request):
        body = request.json()
        ids = body["ids"]
        if len(ids) == 1 and body.get("ccfVersion") == 1 and (ML_SWC / f"{ids[0]}.swc").exists():
            data = b"# Downloaded 2026/11/28.\n" + (ML_SWC / f"{ids[0]}.swc").read_bytes()
            return json_reply({"contents": base64.b64encode(data).decode(), "filename": f"{ids[0]}.swc"})
        return json_reply({"error": "not found"}, 404)

    def nm_name(request):
        name = unquote(request.path.rsplit("/", 1)[1])
        if name in records:
            return json_reply(records[name])
        return json_reply({"status": 404, "error": "Not Found", "message": "Requested neuron not found"}, 404)

    def nm_select(request):
        params = [p.split("=", 1) for p in request.query.split("&")]
        q = [unquote(v) for k, v in params if k == "q"]
        fq = [unquote(v) for k, v in params if k == "fq"]
        size = int(dict(params)["size"])
        page = int(dict(params)["page"])
        wanted = dict(c.split(":", 1) for c in q + fq)
        rows = [r for r in records.values() if all(str(r.get(k, "")).lower() == v.lower() for k, v in wanted.items())]
        chunk = rows[page * size:(page + 1) * size]
        pages = -(-len(rows) // size)
        return json_reply({"_embedded": {"neuronResources": chunk},
                           "page": {"size": size, "totalElements": len(rows), "totalPages": pages, "number": page}})

    def nm_swc(request):
        name = unquote(request.path.rsplit("/", 1)[1])[: -len(".CNG.swc")]
        if request.path.startswith("/dableFiles/mouselight/CNG%20version/") and (ML_SWC / f"{name}.swc").exists():
            return Reply(200, (ML_SWC / f"{name}.swc").read_bytes(), {"Content-Type": "text/plain"})
        return Reply(404, b"Not Found")

    grids = {eid: energy_zip(thalamus_grid(atlas, energy)) for eid, energy in GENE_EXPERIMENTS.items()}
    skeletons = {eid: skeleton_binary(lines) for eid, lines in streamline_paths(atlas).items()}

    def allen_query(request):
        q = unquote(request.query)
        if q.startswith("criteria=model::SectionDataSet") and f"genes[acronym$eq'{GENE}']" in q:
            rows = [{"id": eid, "failed": False, "plane_of_section_id": 1 if eid == 79912555 else 2}
                    for eid in GENE_EXPERIMENTS]
            if "plane_of_section[name$eq'coronal']" in q:
                rows = [r for r in rows if r["plane_of_section_id"] == 2]
            return rma(rows)
        if q.startswith("criteria=model::SectionDataSet"):
            return rma([])
        if q.startswith("q=service::mouse_connectivity_injection_structure[injection_structures$eqTH]"):
            return rma([{"id": eid, "structure-abbrev": "TH", "injection-structures": [{"abbreviation": "TH"}],
                         "transgenic-line": ""} for eid in reversed(STREAMLINE_EXPERIMENTS)])
        return rma([])

    def grid(request):
        eid = int(request.path.rsplit("/", 1)[1])
        if eid in grids and request.query == "include=energy":
            return Reply(200, grids[eid], {"Content-Type": "application/zip"})
        return Reply(404, b"Not Found")

    def store(request):
        path = request.path
        if path == "/store/info":
            return json_reply({"@type": "neuroglancer_multiscale_volume", "type": "segmentation",
                               "data_type": "uint64", "num_channels": 1, "skeletons": "skeletons", "scales": []})
        if path == "/store/skeletons/info":
            return json_reply({"@type": "neuroglancer_skeletons", "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
                               "vertex_attributes": [{"id": "radius", "data_type": "float32", "num_components": 1}]})
        eid = path.rsplit("/", 1)[1]
        if eid.isdigit() and int(eid) in skeletons:
            return Reply(200, skeletons[int(eid)], {"Content-Type": "application/octet-stream"})
        return Reply(404, b"Not Found")

    server.routes.update({
        ("POST", "/graphql"): lambda r: json_reply(graphql),
        ("POST", "/json"): ml_json,
        ("POST", "/swc"): ml_swc,
        ("GET", "/api/neuron/name/*"): nm_name,
        ("GET", "/api/neuron/select"): nm_select,
        ("GET", "/dableFiles/*"): nm_swc,
        ("GET", "/api/v2/data/query.json"): allen_query,
        ("GET", "/grid_data/download/*"): grid,
        ("GET", "/store/*"): store,
    })
    return server


def point_env(monkeypatch, url: str, cache: Path) -> None:
    monkeypatch.setenv("SCENERENDER_CACHE_DIR", str(cache))
    monkeypatch.delenv("SCENERENDER_OFFLINE", raising=False)
    monkeypatch.setenv("SCENERENDER_FETCH_BACKOFF", "0.05")
    monkeypatch.setenv("SCENERENDER_FETCH_TIMEOUT", "2")
    for service in ("MOUSELIGHT", "NEUROMORPHO", "ALLEN"):
        monkeypatch.setenv(f"SCENERENDER_{service}_URL", url)
    monkeypatch.setenv("SCENERENDER_ALLEN_STREAMLINES_URL", f"{url}/store")


@pytest.fixture(scope="module")
def embedded_atlas():
    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas

    return SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))


@pytest.fixture
def public_services(monkeypatch, tmp_path, embedded_atlas):
    """The loopback services, with the client pointed at them and an empty cache; yields the Server."""
    if not ML_JSON.is_dir():
        pytest.skip(f"real MouseLight exports {ML_JSON} are absent (../shared/data)")
    server = install(Server(), embedded_atlas).start()
    point_env(monkeypatch, server.url, tmp_path / "cache")
    try:
        yield server
    finally:
        server.stop()
