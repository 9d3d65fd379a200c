"""The named option types (scenerender/options.py) equal the schema's enums, both ways.

The schema is the source of truth: it is read here from its JSON file, not
through scenerender.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenerender.animation import EASINGS
from scenerender.camera import PRESETS
from scenerender.options import SCHEMA_ENUMS, BatchState, CameraPreset, Easing, Option, Shading

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "scenerender" / "schemas" / "scene.schema.json")
                    .read_text(encoding="utf-8"))
#: Kind lists are registries derived from the actor and source modules (tests/test_contract.py), not options.
KIND_ENUMS = {"$defs/actor/properties/kind", "$defs/source/properties/kind"}


def schema_enums(node=SCHEMA, path=()) -> dict[str, list]:
    """Every ``enum`` in the schema, by JSON pointer (without the leading '#/')."""
    found = {}
    if isinstance(node, dict):
        if "enum" in node:
            found["/".join(path)] = node["enum"]
        for key, value in node.items():
            found.update(schema_enums(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.update(schema_enums(value, (*path, str(index))))
    return found


@pytest.mark.parametrize("option", list(SCHEMA_ENUMS), ids=lambda cls: cls.__name__)
def test_option_equals_schema_enum(option):
    enums = schema_enums()
    for pointer in SCHEMA_ENUMS[option]:
        assert pointer in enums, f"{option.__name__}: the schema has no enum at {pointer}"
        assert sorted(member.value for member in option) == sorted(enums[pointer]), \
            f"{option.__name__} differs from the schema's enum at {pointer}"


def test_every_schema_option_is_named():
    named = {pointer for pointers in SCHEMA_ENUMS.values() for pointer in pointers}
    missing = set(schema_enums()) - named - KIND_ENUMS
    assert not missing, f"schema enums without a named option type in scenerender/options.py: {sorted(missing)}"


def test_members_are_their_strings():
    assert Shading.CARTOON == "cartoon" and f"{Shading.CARTOON}" == "cartoon" and str(Shading.CARTOON) == "cartoon"
    assert json.dumps({"status": BatchState.SKIPPED}) == '{"status": "up to date"}'
    assert Shading("metallic") is Shading.METALLIC
    assert all(issubclass(cls, Option) and issubclass(cls, str) for cls in SCHEMA_ENUMS)


def test_tables_keyed_by_an_option_cover_it():
    """Code that dispatches on an option has an entry for each of its values (and no other)."""
    assert set(EASINGS) == set(Easing)
    assert set(PRESETS) == set(CameraPreset)
    assert EASINGS["ease_in_out"] is EASINGS[Easing.EASE_IN_OUT]  # a validated scene's plain string finds it
