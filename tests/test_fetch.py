"""Public data by name, end to end against loopback services on 127.0.0.1.

The real client (requests, cache, retries) talks to tests/public_services.py,
which serves the real MouseLight exports and payloads shaped from the
published formats. Expected values come from the ontology, the annotation
and the local files, never from scenerender's own output.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from public_services import GENE, ML_JSON, ML_SWC, Reply, region_centre_um
from test_sources import node_agreement

from scenerender.document import read_scene
from scenerender.errors import SceneError
from scenerender.fetch.client import FetchError
from scenerender.sources import SourceContext, load_source


def load(atlas, spec, name="data"):
    ctx = SourceContext(doc=read_scene({"version": 1}), path=("sources", name), atlas=atlas)
    return load_source(name, spec, ctx=ctx)


def cache_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".lock") if root.exists() else []


def descendants(atlas, acronym) -> set[int]:
    top = atlas.bg.structures[acronym]["id"]
    return {s["id"] for s in atlas.bg.structures.values() if top in s["structure_id_path"]}


# -- MouseLight ----------------------------------------------------------------

@pytest.mark.parametrize("neuron_id", ["AA0052", "AA1506", "AA1507"])
def test_mouselight_by_id_lands_like_the_local_file(public_services, embedded_atlas, neuron_id):
    fetched = load(embedded_atlas, {"kind": "mouselight", "ids": [neuron_id]})
    sent = public_services.requests()
    assert [(r.method, r.path, r.json()) for r in sent] == [("POST", "/json", {"ids": [neuron_id]})]
    assert sent[0].headers["User-Agent"].startswith("scenerender/0.1.0")
    local = load(embedded_atlas, {"kind": "neuron", "path": str(ML_JSON / f"{neuron_id}.json"),
                                  "space": {"orientation": "rsa"}})
    # The same figure as the local-file test in test_sources.py, on the same nodes.
    assert node_agreement(embedded_atlas, fetched) >= 0.6
    assert np.array_equal(fetched.nodes, local.nodes)
    assert len(fetched.somas) == 1 and np.allclose(fetched.somas[0], local.soma)


def test_mouselight_soma_selection_follows_the_ontology(public_services, embedded_atlas):
    graphql = json.loads((Path(__file__).parent / "fixtures/public/mouselight_graphql.json").read_text())
    inside = descendants(embedded_atlas, "HPF")
    expected = sorted(n["idString"] for n in graphql["data"]["searchNeurons"]["neurons"]
                      if n["brainArea"] and n["brainArea"]["atlasId"] in inside)
    assert expected == ["AA0052", "AA1506"]  # SUB and CA1; AA1507's soma is in fibre tracts
    data = load(embedded_atlas, {"kind": "mouselight", "soma_in": ["HPF"], "limit": 10})
    sent = public_services.requests()
    assert (sent[0].method, sent[0].path) == ("POST", "/graphql")
    assert sent[0].json() == {"query": "{ searchNeurons { totalCount neurons { idString brainArea { acronym atlasId } "
                                       "} } }"}
    assert sorted(r.json()["ids"][0] for r in sent[1:]) == expected
    assert all(r.path == "/json" for r in sent[1:])
    assert len(data.somas) == 2
    somas = np.array(data.somas)
    # Each soma lies in (or within two voxels of) the hippocampal formation.
    for soma in somas:
        centre = np.floor(soma / np.array(embedded_atlas.resolution)).astype(int)
        around = embedded_atlas.bg.annotation[tuple(slice(c - 2, c + 3) for c in centre)]
        assert set(np.unique(around).tolist()) & inside
    one = load(embedded_atlas, {"kind": "mouselight", "soma_in": ["HPF"], "limit": 1}, name="one")
    assert len(one.somas) == 1


def test_mouselight_swc_fallback(public_services, embedded_atlas):
    data = load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0245"]})
    sent = [(r.method, r.path, r.json()) for r in public_services.requests()]
    assert sent == [("POST", "/json", {"ids": ["AA0245"]}), ("POST", "/swc", {"ids": ["AA0245"], "ccfVersion": 1})]
    local = load(embedded_atlas, {"kind": "neuron", "path": str(ML_SWC / "AA0245.swc"),
                                  "space": {"orientation": "rsa"}})
    assert np.allclose(data.nodes, local.nodes)


def test_unknown_region_and_unknown_id(public_services, embedded_atlas, tmp_path):
    with pytest.raises(SceneError, match="soma_in"):
        load(embedded_atlas, {"kind": "mouselight", "soma_in": ["NOTAREGION"]})
    with pytest.raises(FetchError, match=r"MouseLight neuron AA9999 \(JSON\) not found \(HTTP 404"):
        load(embedded_atlas, {"kind": "mouselight", "ids": ["AA9999"]})
    assert not [p for p in cache_files(tmp_path / "cache") if "mouselight" in p.parts]


# -- NeuroMorpho ---------------------------------------------------------------

def test_neuromorpho_by_name_and_query(public_services, embedded_atlas):
    data = load(embedded_atlas, {"kind": "neuromorpho", "names": ["AA0245"]})
    sent = [(r.method, r.path, r.query) for r in public_services.requests()]
    assert sent == [("GET", "/api/neuron/name/AA0245", ""),
                    ("GET", "/dableFiles/mouselight/CNG%20version/AA0245.CNG.swc", "")]
    local = load(embedded_atlas, {"kind": "neuron", "path": str(ML_SWC / "AA0245.swc"),
                                  "space": {"orientation": "rsa"}})
    assert np.allclose(data.nodes, local.nodes)
    public_services.log.clear()
    found = load(embedded_atlas, {"kind": "neuromorpho", "where": {"species": "mouse", "archive": "MouseLight"},
                                  "limit": 2}, name="query")
    queries = [r.query for r in public_services.requests("/api/neuron/select")]
    assert queries == ["q=species:mouse&fq=archive:MouseLight&size=2&page=0"]
    assert len(found.somas) == 2


def test_neuromorpho_query_is_paged(public_services, embedded_atlas, monkeypatch):
    from scenerender.fetch import neuromorpho

    monkeypatch.setattr(neuromorpho, "PAGE_SIZE_MAX", 2)  # the service's 500, made small enough to page here
    found = load(embedded_atlas, {"kind": "neuromorpho", "where": {"archive": "MouseLight"}, "limit": 3})
    assert [r.query for r in public_services.requests("/api/neuron/select")] == [
        "q=archive:MouseLight&size=2&page=0", "q=archive:MouseLight&size=2&page=1"]
    assert sorted(r.path for r in public_services.requests("/dableFiles")) == [
        f"/dableFiles/mouselight/CNG%20version/{n}.CNG.swc" for n in ("AA0245", "AA0250", "AA0261")]
    assert len(found.somas) == 3


def test_neuromorpho_refuses_neurons_outside_the_ccf(public_services, embedded_atlas):
    with pytest.raises(SceneError, match=r"'cnic_001' \(archive Wearne_Hof\) is not registered to the Allen CCF"):
        load(embedded_atlas, {"kind": "neuromorpho", "names": ["cnic_001"]})
    assert not public_services.requests("/dableFiles")


# -- Allen gene expression -------------------------------------------------------

def _voxels_in(atlas, volume, value_at_least):
    idx = np.argwhere(volume.values >= value_at_least)
    centres = volume.origin + idx * volume.spacing
    return atlas.structure_ids_at(centres)


def test_gene_expression_lands_in_its_region(public_services, embedded_atlas):
    data = load(embedded_atlas, {"kind": "allen_gene_expression", "gene": GENE, "plane": "any",
                                 "experiments": "newest", "aggregate": "mean", "limit": 10})
    sent = public_services.requests()
    # requests (urllib3) percent-encodes [ and ] in query strings: the same query to any HTTP server.
    assert [(r.path, unquote(r.query)) for r in sent] == [
        ("/api/v2/data/query.json", ("criteria=model::SectionDataSet,rma::criteria,[failed$eq'false'],"
                                     "products[abbreviation$eq'Mouse'],genes[acronym$eq'Gpr161']&num_rows=all")),
        ("/grid_data/download/79912555", "include=energy")]
    assert float(data.values.max()) == 5.0
    found = _voxels_in(embedded_atlas, data, 4.0)
    assert np.isin(found, list(descendants(embedded_atlas, "TH"))).mean() >= 0.9
    # Aggregation over both experiments (5 and 3 in TH): mean 4, max 5; coronal only: the 3.
    mean = load(embedded_atlas, {"kind": "allen_gene_expression", "gene": GENE, "plane": "any",
                                 "experiments": "all", "aggregate": "mean", "limit": 10}, name="m")
    top = load(embedded_atlas, {"kind": "allen_gene_expression", "gene": GENE, "plane": "any",
                                "experiments": "all", "aggregate": "max", "limit": 10}, name="x")
    coronal = load(embedded_atlas, {"kind": "allen_gene_expression", "gene": GENE, "plane": "coronal",
                                    "experiments": "newest", "aggregate": "mean", "limit": 10}, name="c")
    assert float(mean.values.max()) == 4.0 and float(top.values.max()) == 5.0 and float(coronal.values.max()) == 3.0
    assert unquote(public_services.requests("/api/v2")[-1].query).endswith("plane_of_section[name$eq'coronal'],"
                                                         "genes[acronym$eq'Gpr161']&num_rows=all")
    with pytest.raises(SceneError, match="no expression experiment for gene 'Nosuchgene'"):
        load(embedded_atlas, {"kind": "allen_gene_expression", "gene": "Nosuchgene", "plane": "any",
                              "experiments": "newest", "aggregate": "mean", "limit": 10}, name="n")


@pytest.mark.parametrize("header, problem", [
    ("DimSize = 67 41\nElementType = MET_FLOAT\nElementDataFile = energy.raw", "no 3-D grid"),
    ("DimSize = 4000 4000 4000\nElementType = MET_FLOAT\nElementDataFile = energy.raw", "too many voxels"),
    ("DimSize = 67 41 58\nElementType = MET_DOUBLE\nElementDataFile = energy.raw", "expected MET_FLOAT"),
    ("DimSize = 67 41 58\nElementType = MET_FLOAT\nElementDataFile = ../../etc/passwd", "not a plain file name"),
    ("DimSize = 67 41 58\nElementType = MET_FLOAT\nElementDataFile = energy.raw", "needs 637304"),
])
def test_expression_grid_reader_is_bounded(header, problem):
    import io
    import zipfile

    from scenerender.fetch.allen_gene_expression import read_grid
    from scenerender.limits import override

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("energy.mhd", header + "\n")
        zf.writestr("energy.raw", b"\0" * 400)
    with override(voxels=10_000_000), pytest.raises(ValueError, match=problem):
        read_grid(out.getvalue(), "grid")


# -- Allen connectivity streamlines ------------------------------------------------

def test_streamlines_from_injection_region(public_services, embedded_atlas):
    data = load(embedded_atlas, {"kind": "allen_streamlines", "injection_in": "TH", "limit": 2})
    sent = [(r.path, unquote(r.query)) for r in public_services.requests()]
    assert sent[:3] == [
        ("/api/v2/data/query.json",
         "q=service::mouse_connectivity_injection_structure[injection_structures$eqTH][primary_structure_only$eqtrue]"),
        ("/store/info", ""), ("/store/skeletons/info", "")]
    assert sorted(sent[3:]) == [("/store/skeletons/100141780", ""), ("/store/skeletons/479983421", "")]
    assert len(data.lines) == 4
    th = region_centre_um(embedded_atlas, "TH")
    ends = [region_centre_um(embedded_atlas, a) for a in ("SSp", "STR", "MOs", "STR")]
    for line, end in zip(data.lines, ends):
        assert np.allclose(line[0], th, atol=0.01) and np.allclose(line[-1], end, atol=0.01)
        assert embedded_atlas.structure_ids_at(line[:1])[0] in descendants(embedded_atlas, "TH")


def test_skeleton_reader_is_bounded():
    from scenerender.fetch.allen_streamlines import read_skeleton

    eye = np.hstack([np.eye(3), np.zeros((3, 1))])
    with pytest.raises(ValueError, match="header promises"):
        read_skeleton(b"\x05\0\0\0\x04\0\0\0" + b"\0" * 20, eye)
    with pytest.raises(ValueError, match="does not have"):
        read_skeleton(b"\x01\0\0\0\x01\0\0\0" + b"\0" * 12 + b"\0\0\0\0\x07\0\0\0", eye)
    lines = read_skeleton(b"\x03\0\0\0\x02\0\0\0" + np.arange(9, dtype="<f4").tobytes()
                          + np.array([0, 1, 1, 2], dtype="<u4").tobytes(), eye)
    assert len(lines) == 1 and lines[0].tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


# -- faults ----------------------------------------------------------------------

def test_server_down(public_services, embedded_atlas, monkeypatch, tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("SCENERENDER_MOUSELIGHT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(FetchError, match=rf"MouseLight: cannot fetch MouseLight neuron AA0052 \(JSON\): cannot reach "
                                         rf"127.0.0.1:{port} .*the service may be down \(tried 3 times"):
        load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    assert cache_files(tmp_path / "cache") == []


def test_500_then_success_is_retried(public_services, embedded_atlas):
    public_services.queue("POST", "/json", Reply(500, b"busy"))
    data = load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    assert len(public_services.requests("/json")) == 2
    assert len(data.nodes) > 1000


def test_slow_reply_times_out(public_services, embedded_atlas, monkeypatch, tmp_path):
    monkeypatch.setenv("SCENERENDER_FETCH_TIMEOUT", "0.5")
    public_services.queue("POST", "/json", *[Reply(200, b"{}", delay=1.5)] * 3)
    with pytest.raises(FetchError, match=r"no reply from 127.0.0.1:\d+ within 0.5 s \(tried 3 times"):
        load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    assert cache_files(tmp_path / "cache") == []


def test_truncated_body_is_never_cached(public_services, embedded_atlas, tmp_path):
    body = (ML_JSON / "AA0052.json").read_bytes()
    cut = Reply(200, b'{"contents": ' + body + b', "filename": "AA0052.json"}', truncate=5000)
    public_services.queue("POST", "/json", cut, cut, cut)
    with pytest.raises(FetchError, match=r"broke off|got 5000 of"):
        load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    assert cache_files(tmp_path / "cache") == []
    public_services.queue("POST", "/json", cut)  # once truncated, then whole: retried and cached whole
    data = load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    assert len(data.nodes) > 1000
    entries = [p for p in cache_files(tmp_path / "cache") if p.suffix == ".json" and "mouselight" in p.parts]
    assert len(entries) == 2  # the payload and its record, nothing else


def test_corrupt_cache_entry_is_refetched(public_services, embedded_atlas, tmp_path):
    first = load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    payload = next(p for p in cache_files(tmp_path / "cache") if p.suffix == ".json" and "mouselight" in p.parts
                   and not p.name.endswith(".meta.json"))
    again = load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    assert len(public_services.requests("/json")) == 1  # a good entry is used
    payload.write_bytes(payload.read_bytes().replace(b"AA0052", b"AA0053", 1))  # a flipped byte on disk
    third = load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    assert len(public_services.requests("/json")) == 2  # refetched, not used
    assert np.array_equal(first.nodes, third.nodes) and np.array_equal(first.nodes, again.nodes)
    assert b"AA0053" not in payload.read_bytes()


def test_offline_with_a_cold_cache(public_services, embedded_atlas, monkeypatch, tmp_path):
    monkeypatch.setenv("SCENERENDER_OFFLINE", "1")
    with pytest.raises(FetchError, match=r"offline: MouseLight neuron AA0052 \(JSON\) is not in the cache"):
        load(embedded_atlas, {"kind": "mouselight", "ids": ["AA0052"]})
    assert public_services.log == [] and cache_files(tmp_path / "cache") == []


# -- the command line: offline, fetch --to, provenance --------------------------------

SCENE = """\
version: 1
atlas: embedded
sources:
  ml: {kind: mouselight, ids: [AA0052]}
  genes: {kind: allen_gene_expression, gene: Gpr161}
actors:
  - {kind: root, alpha: 0.1}
  - {kind: neuron, source: ml, radius: 15}
  - {kind: volume, source: genes, threshold: 2.5, color: orange, alpha: 0.5}
camera: {preset: three_quarters}
render: {size: [160, 120]}
"""


def run_cli(*args) -> int:
    from scenerender.cli import main

    return main(list(args))


def test_offline_cli_names_the_missing_item(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCENERENDER_CACHE_DIR", str(tmp_path / "cold"))
    monkeypatch.delenv("SCENERENDER_OFFLINE")
    scene = tmp_path / "scene.yaml"
    scene.write_text(SCENE)
    assert run_cli("render", str(scene), "--offline") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scene.yaml:4: source 'ml': offline: MouseLight neuron AA0052 (JSON) is not in the " \
                               "cache" in err[0]
    assert not (tmp_path / "scene.png").exists()
    # Nothing fetched: the cache holds at most the atlas's derived arrays (brain mask, root shell), which
    # the actors drawn before the missing source made (whether depends on what this process made before).
    cold = tmp_path / "cold"
    written = sorted(p.name for p in cold.iterdir()) if cold.exists() else []
    assert set(written) <= {"derived"}, written


def test_fetch_bundle_renders_identically_offline(public_services, tmp_path, monkeypatch, capsys):
    from PIL import Image

    scene = tmp_path / "work" / "scene.yaml"
    scene.parent.mkdir()
    scene.write_text(SCENE)
    assert run_cli("render", str(scene), "-o", str(tmp_path / "online.png")) == 0
    served = len(public_services.log)
    assert run_cli("fetch", str(scene), "--to", str(tmp_path / "bundle")) == 0
    assert len(public_services.log) == served  # everything came from the cache
    public_services.stop()
    monkeypatch.setenv("SCENERENDER_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("SCENERENDER_OFFLINE", "1")
    for name in ("SCENERENDER_MOUSELIGHT_URL", "SCENERENDER_ALLEN_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing there either
    bundled = tmp_path / "bundle" / "scene.yaml"
    assert "pinned: data/scene.ml.json" in bundled.read_text()
    assert run_cli("render", str(bundled), "-o", str(tmp_path / "offline.png")) == 0
    online = np.asarray(Image.open(tmp_path / "online.png"))
    offline = np.asarray(Image.open(tmp_path / "offline.png"))
    assert online.shape == offline.shape and np.array_equal(online, offline)
    assert not (tmp_path / "empty-cache").exists()
    # Provenance: every fetched item with its service, URL, body and the SHA-256 of the bytes served.
    capsys.readouterr()
    assert run_cli("provenance", str(tmp_path / "online.png")) == 0
    out = capsys.readouterr().out
    body = json.dumps({"contents": json.loads((ML_JSON / "AA0052.json").read_text()), "filename": "AA0052.json"})
    digest = hashlib.sha256(body.encode()).hexdigest()
    line = next(x for x in out.splitlines() if "MouseLight neuron AA0052" in x)
    assert f"POST {public_services.url}/json {{\"ids\": [\"AA0052\"]}}" in line and f"sha256 {digest}" in line
    assert "fetched:      source genes: Allen expression grid of experiment 79912555 (id 79912555) from allen GET " \
           f"{public_services.url}/grid_data/download/79912555?include=energy" in out
    # A changed bundle file is refused, not drawn.
    data = next((tmp_path / "bundle" / "data").glob("*.zip"))
    data.write_bytes(data.read_bytes()[:-10])
    assert run_cli("render", str(bundled), "-o", str(tmp_path / "again.png")) == 1
    assert "missing or changed" in capsys.readouterr().err


def test_tls_problem_is_one_clear_line(public_services, embedded_atlas, monkeypatch):
    # An https URL to a plain-HTTP server: the TLS handshake fails; verification is never switched off.
    monkeypatch.setenv("SCENERENDER_NEUROMORPHO_URL", public_services.url.replace("http://", "https://"))
    with pytest.raises(FetchError, match=r"NeuroMorpho.org: TLS problem talking to 127.0.0.1:\d+ .*certificate checks "
                                         r"are never turned off"):
        load(embedded_atlas, {"kind": "neuromorpho", "names": ["AA0245"]})
    assert public_services.log == []


BATCH_SCENE = """\
version: 1
sources:
  ml: {{kind: mouselight, ids: {ids}}}
actors:
  - {{kind: neuron, source: ml, style: lines}}
render: {{size: [64, 48]}}
"""


def test_batch_fetches_each_item_once(public_services, tmp_path):
    for name, ids in (("a", "[AA0052]"), ("b", "[AA0052, AA1506]"), ("c", "[AA1506]")):
        (tmp_path / f"{name}.yaml").write_text(BATCH_SCENE.format(ids=ids))
    scenes = [str(tmp_path / f"{n}.yaml") for n in "abc"]
    assert run_cli("batch", *scenes, "--jobs", "2", "-o", str(tmp_path / "out")) == 0
    sent = sorted(r.json()["ids"][0] for r in public_services.requests("/json"))
    assert sent == ["AA0052", "AA1506"]  # three scenes, two items, two requests
    # Every output's record lists what it drew; a rerun is up to date and asks nothing.
    from scenerender.provenance import read_record

    record = read_record(tmp_path / "out" / "b.png")[0]
    fetched = record["fingerprint"]["fetched"]["ml"]
    assert [(r["what"], r["id"], r["service"]) for r in fetched] == [
        ("MouseLight neuron AA0052 (JSON)", "AA0052", "mouselight"), ("MouseLight neuron AA1506 (JSON)", "AA1506", "mouselight")]
    assert all(r["query"] == {"kind": "mouselight", "ids": ["AA0052", "AA1506"]} and r["retrieved"].startswith("20")
               for r in fetched)
    public_services.log.clear()
    assert run_cli("batch", *scenes, "--jobs", "2", "-o", str(tmp_path / "out"), "--dry-run") == 0
    assert run_cli("batch", *scenes, "--jobs", "2", "-o", str(tmp_path / "out")) == 0
    assert public_services.log == []


def test_fetch_command_fills_the_cache(public_services, tmp_path, capsys):
    scene = tmp_path / "s.yaml"
    scene.write_text(BATCH_SCENE.format(ids="[AA1507]"))
    assert run_cli("fetch", str(scene)) == 0
    assert "source ml: 1 items cached" in capsys.readouterr().err
    assert run_cli("render", str(scene), "--offline") == 0
    assert len(public_services.requests("/json")) == 1


def test_every_source_kind_is_registered_in_the_schema_and_has_a_scene():
    import yaml
    from conftest import SCENES

    from scenerender.schema import scene_schema
    from scenerender.sources import registered_sources

    kinds = scene_schema()["$defs"]["source"]["properties"]["kind"]["enum"]
    assert sorted(registered_sources()) == sorted(kinds)
    for kind in kinds:
        assert f"{kind}_source" in scene_schema()["$defs"]
    used = {s["kind"] for p in SCENES.glob("*.yaml") for s in (yaml.safe_load(p.read_text()).get("sources") or {}).values()}
    from scenerender.fetch import FETCHED_KINDS

    assert set(FETCHED_KINDS) <= used


@pytest.mark.parametrize("source, message", [
    ("{kind: mouselight, limit: 3}", "3:7: sources.ml: missing a key: give 'ids' or 'soma_in'"),
    ("{kind: mouselight, ids: [AA0052], soma_in: [TH]}", "sources.ml.soma_in: give either 'ids' or 'soma_in', not both"),
    ("{kind: neuromorpho, names: ['a b']}", "sources.ml.names[0]: 'a b' is not valid"),
    ("{kind: allen_gene_expression, gene: Gpr161, aggregate: median}", "'median' is not one of 'mean', 'max'"),
    ("{kind: allen_streamlines, experiments: [0]}", "0 is less than the minimum 1"),
    ("{kind: mouselight, ids: [AA0052], base_url: 'http://evil'}", "unknown key 'base_url'"),
])
def test_fetched_source_mistakes_are_located(tmp_path, source, message):
    from scenerender import validate_scene

    scene = tmp_path / "s.yaml"
    scene.write_text(f"version: 1\nsources:\n  ml: {source}\nactors: []\n")
    problems = [str(p) for p in validate_scene(scene)]
    assert len(problems) == 1 and message in problems[0], problems
