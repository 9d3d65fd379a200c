"""The schema's four places per kind agree: the kind enum, the ``if``/``then`` dispatch and the
``$defs`` entries, for actors and for sources (read straight from the JSON file)."""

from __future__ import annotations

import json

import pytest

from conftest import REPO

SCHEMA = json.loads((REPO / "schemas" / "scene.schema.json").read_text())


@pytest.mark.parametrize("role", ["actor", "source"])
def test_kind_enum_dispatch_and_defs_agree(role):
    defs = SCHEMA["$defs"]
    node = defs[role]
    enum = node["properties"]["kind"]["enum"]
    dispatch = {}
    for branch in node["allOf"]:
        kind = branch["if"]["properties"]["kind"]["const"]
        assert kind not in dispatch, f"{role} kind {kind!r} is dispatched twice"
        dispatch[kind] = branch["then"]["$ref"]
    entries = sorted(name[: -len(f"_{role}")] for name in defs if name.endswith(f"_{role}"))
    assert sorted(enum) == sorted(dispatch), f"{role} kind enum and if/then dispatch differ"
    assert sorted(enum) == entries, f"{role} kind enum and $defs/*_{role} entries differ"
    for kind, ref in dispatch.items():
        assert ref == f"#/$defs/{kind}_{role}", f"{role} kind {kind!r} dispatches to {ref}"
        assert defs[f"{kind}_{role}"]["properties"]["kind"].get("const") == kind, f"$defs/{kind}_{role} is not kind {kind!r}"
