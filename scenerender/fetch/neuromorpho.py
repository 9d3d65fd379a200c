"""``kind: neuromorpho`` sources - NeuroMorpho.org neurons by name or by a query.

Metadata from the documented GET API (``/api/neuron/name/<name>``,
``/api/neuron/select?q=…&fq=…&size=…&page=…``, at most 500 a page); the
morphology is the standardised SWC, ``/dableFiles/<archive>/CNG version/
<name>.CNG.swc``, read by the existing SWC reader. Only archives registered
to the Allen CCF can be placed in an atlas; other neurons are refused with a
message. TLS verification stays on (the service is known for TLS trouble:
the error says so rather than turning checks off).
"""

from __future__ import annotations

from urllib.parse import quote

from ..sources import neuron as neuron_reader
from ._source import Job, group_neurons
from .client import Request

KIND = "neuromorpho"
PROVIDES = "neuron"
SERVICE = "neuromorpho"
#: Archives whose reconstructions are in Allen CCFv3 microns, and their axes
#: (declared once here; mapped by scenerender.spaces). MouseLight's files on
#: NeuroMorpho keep MouseLight's axes: x = left-right, y = dorsal-ventral, z = anterior-posterior.
CCF_ARCHIVES = {"mouselight": {"orientation": "rsa"}}
PAGE_SIZE_MAX = 500


def name_request(name: str) -> Request:
    return Request(SERVICE, "GET", f"/api/neuron/name/{quote(name, safe='')}", what=f"NeuroMorpho neuron {name}",
                   expect="json", suffix=".json", item_id=name)


def select_request(where: dict, size: int, page: int) -> Request:
    pairs = [f"{field}:{value}" for field, value in where.items()]
    query = "&".join([f"q={quote(pairs[0], safe=':')}", *(f"fq={quote(p, safe=':')}" for p in pairs[1:]),
                      f"size={size}", f"page={page}"])
    return Request(SERVICE, "GET", "/api/neuron/select", query=query, what=f"NeuroMorpho search page {page}",
                   expect="json", suffix=".json")


def swc_request(archive: str, name: str) -> Request:
    path = f"/dableFiles/{quote(archive.lower(), safe='')}/CNG%20version/{quote(name, safe='')}.CNG.swc"
    return Request(SERVICE, "GET", path, what=f"NeuroMorpho neuron {name} (CNG SWC)", suffix=".swc", item_id=name)


def _search(job: Job, where: dict, limit: int) -> list[dict]:
    found: list[dict] = []
    size = min(limit, PAGE_SIZE_MAX)
    page = 0
    while len(found) < limit:
        reply = job.json(job.get(select_request(where, size, page)), "the NeuroMorpho search reply")
        if not isinstance(reply, dict) or "error" in reply:
            message = reply.get("message") or reply.get("error") if isinstance(reply, dict) else "not an object"
            raise job.ctx.fail(f"NeuroMorpho refused the query: {str(message)[:200]}", ("where",))
        rows = (reply.get("_embedded") or {}).get("neuronResources") or []
        found += [r for r in rows if isinstance(r, dict)]
        pages = int((reply.get("page") or {}).get("totalPages") or 0)
        page += 1
        if not rows or page >= min(pages, 1000):
            break
    if not found:
        raise job.ctx.fail("no NeuroMorpho neuron matches this query", ("where",))
    return found[:limit]


def _load_one(job: Job, record: dict, *, query: bool = False):
    name, archive = str(record.get("neuron_name", "")), str(record.get("archive", ""))
    if not name or not archive:
        raise job.ctx.fail(f"a NeuroMorpho record has no neuron_name or archive ({str(record)[:120]})")
    space = CCF_ARCHIVES.get(archive.lower())
    if space is None:
        known = ", ".join(sorted(CCF_ARCHIVES))
        raise job.ctx.fail(f"NeuroMorpho neuron {name!r} (archive {archive}) is not registered to the Allen CCF, so "
                           f"it cannot be placed in the atlas; scenerender places neurons of CCF-registered archives "
                           f"({known}); "
                           + ("add archive: MouseLight to 'where'" if query else
                              "draw others from a local SWC file with their own space"))
    item = job.get(swc_request(archive, name))
    return job.read_with({"kind": "neuron", "space": space}, item.path, "swc", ".swc", neuron_reader.load)


def load(spec: dict, *, ctx):
    job = Job(spec, ctx)
    if "names" in spec:
        records = job.map(lambda n: job.json(job.get(name_request(n)), f"the NeuroMorpho record of {n}"),
                          [str(n) for n in spec["names"]])
    else:
        records = _search(job, spec["where"], spec.get("limit", 10))
    records = [r if isinstance(r, dict) else {} for r in records]
    neurons = job.map(lambda r: _load_one(job, r, query="where" in spec), records)
    return group_neurons(neurons, job.remember())
