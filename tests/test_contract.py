"""The actor registry, the schema and the example scenes agree."""

from __future__ import annotations

import yaml

from conftest import SCENES
from scenerender import registered_actors
from scenerender.schema import actor_kinds, scene_schema


def test_registry_matches_schema():
    assert sorted(registered_actors()) == sorted(actor_kinds())
    for kind in actor_kinds():
        assert f"{kind}_actor" in scene_schema()["$defs"]


def test_every_kind_has_an_example_scene():
    used = set()
    for path in SCENES.glob("*.yaml"):
        used |= {a["kind"] for a in yaml.safe_load(path.read_text()).get("actors", [])}
    assert set(actor_kinds()) <= used


def test_every_property_is_described():
    def walk(node, where):
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                if name not in ("kind", "$schema") and "$ref" not in prop:
                    assert "description" in prop, f"{where}.{name} has no description"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
    walk(scene_schema(), "schema")


def test_docs_reference_is_generated_from_the_schema():
    """The scene reference (docs/reference/, one page per section and kind) is the schema's now."""
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("update_docs", REPO / "tools" / "update_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.stale() == [], "the scene reference in docs/reference is stale: run python tools/update_docs.py"


def test_schema_is_valid_draft_2020_12():
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(scene_schema())
    assert scene_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert scene_schema()["$id"]
