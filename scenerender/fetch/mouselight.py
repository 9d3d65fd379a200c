"""``kind: mouselight`` sources - Janelia MouseLight neurons by id or by soma region.

Metadata come from the neuron browser's GraphQL search (one request, cached);
morphologies from its own export endpoints: ``POST /json {"ids": [id]}``
(an Allen region id on every node), else ``POST /swc {"ids": [id],
"ccfVersion": 1}`` (CCFv3). Nothing goes through NeuroMorpho. The payloads
are read by the existing neuron readers (:mod:`scenerender.sources.neuron`).
"""

from __future__ import annotations

import base64
import binascii
import json

from ..atlas import RegionNotFound
from ..sources import SourceError
from ..sources import neuron as neuron_reader
from ._source import Job, group_neurons
from .client import FetchError, Request

KIND = "mouselight"
#: Actors draw it as this source kind.
PROVIDES = "neuron"
SERVICE = "mouselight"
#: MouseLight's coordinate convention, declared once: CCFv3 microns with
#: x = left-right (from the right), y = dorsal-ventral, z = anterior-posterior,
#: both in the JSON and the CCFv3 SWC export (mapped by scenerender.spaces).
SPACE = {"orientation": "rsa"}
#: The GraphQL search: every neuron's id and soma region (filtered here, with the scene's atlas).
SEARCH_QUERY = "{ searchNeurons { totalCount neurons { idString brainArea { acronym atlasId } } } }"
CCF_V3 = 1  # mnb-export-api's ccfVersion enum: Janelia25 = 0, Aibs2017 (CCFv3) = 1


def search_request() -> Request:
    return Request(SERVICE, "POST", "/graphql", body={"query": SEARCH_QUERY}, what="MouseLight neuron list (GraphQL)",
                   expect="json", suffix=".json")


def json_request(neuron_id: str) -> Request:
    return Request(SERVICE, "POST", "/json", body={"ids": [neuron_id]}, what=f"MouseLight neuron {neuron_id} (JSON)",
                   expect="json", suffix=".json", item_id=neuron_id)


def swc_request(neuron_id: str) -> Request:
    return Request(SERVICE, "POST", "/swc", body={"ids": [neuron_id], "ccfVersion": CCF_V3},
                   what=f"MouseLight neuron {neuron_id} (SWC, CCFv3)", expect="json", suffix=".json",
                   item_id=neuron_id)


def select_by_soma(job: Job, regions: list, limit: int) -> list[str]:
    """Ids of the neurons whose soma region is one of ``regions`` or a descendant (scene atlas), sorted."""
    ctx = job.ctx
    wanted, unknown = set(), []
    structures = ctx.atlas.bg.structures
    for i, ref in enumerate(regions):
        try:
            wanted.add(int(ctx.atlas.structure(ref)["id"]))
        except RegionNotFound as err:  # located, with the atlas's did-you-mean; every one of the list
            unknown += ctx.fail(str(err), ("soma_in", i)).problems
    if unknown:
        raise SourceError(unknown)
    inside = {int(s["id"]) for s in structures.values() if wanted & set(s["structure_id_path"])}
    reply = job.json(job.get(search_request()), "the MouseLight neuron list")
    try:
        neurons = reply["data"]["searchNeurons"]["neurons"]
        found = sorted({str(n["idString"]) for n in neurons
                        if isinstance(n.get("brainArea"), dict) and _int(n["brainArea"].get("atlasId")) in inside})
    except (KeyError, TypeError, AttributeError):
        errors = reply.get("errors") if isinstance(reply, dict) else None
        raise FetchError(f"{job.where()}: the MouseLight search reply is not what its GraphQL schema promises"
                         f"{f' ({str(errors)[:200]})' if errors else ''}; the service may have changed") from None
    if not found:
        names = ", ".join(str(r) for r in regions)
        raise job.ctx.fail(f"MouseLight has no neuron with its soma in {names} (or a region inside it)", ("soma_in",))
    return found[:limit]


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _load_one(job: Job, neuron_id: str):
    """One neuron: the JSON export, else the CCFv3 SWC export."""
    space_spec = {"kind": "neuron", "space": SPACE}
    try:
        item = job.get(json_request(neuron_id))
    except FetchError as first:
        try:
            item = job.get(swc_request(neuron_id))
        except FetchError:
            raise first from None
        reply = job.json(item, f"MouseLight SWC export of {neuron_id}")
        try:
            swc = base64.b64decode(reply["contents"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise job.ctx.fail(f"the MouseLight SWC export of {neuron_id} ({item.url}) has no base64 'contents'") \
                from None
        return job.read_with(space_spec, swc, "swc", ".swc", neuron_reader.load)
    reply = job.json(item, f"MouseLight JSON export of {neuron_id}")
    contents = reply.get("contents") if isinstance(reply, dict) else None
    if not isinstance(contents, dict) or not contents.get("neurons"):
        raise job.ctx.fail(f"the MouseLight JSON export of {neuron_id} ({item.url}) holds no neuron")
    return job.read_with(space_spec, json.dumps(contents).encode(), "mouselight-json", ".json", neuron_reader.load)


def load(spec: dict, *, ctx):
    job = Job(spec, ctx)
    ids = [str(i) for i in spec["ids"]] if "ids" in spec else select_by_soma(job, spec["soma_in"], spec.get("limit", 10))
    neurons = job.map(lambda neuron_id: _load_one(job, neuron_id), ids)
    return group_neurons(neurons, job.remember())
