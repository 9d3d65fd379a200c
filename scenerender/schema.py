"""The scene schema: loading it, filling its defaults, and describing it.

``schemas/scene.schema.json`` is the single source of truth for the scene
language: defaults, enums and descriptions live there, and the generated reference pages (docs/reference/),
``scenerender schema`` and editor autocompletion all come from it.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "scene.schema.json"
SCENE_VERSION = 1


@lru_cache(maxsize=1)
def scene_schema() -> dict:
    """The scene JSON Schema (draft 2020-12) as a dict."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def resolve_ref(node: dict, root: dict | None = None) -> dict:
    """Follow a local ``$ref`` (``#/$defs/...``), merging sibling keywords."""
    root = root if root is not None else scene_schema()
    while isinstance(node, dict) and "$ref" in node:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings}
    return node


def actor_kinds() -> list[str]:
    """Actor kinds the schema allows, in schema order."""
    return list(scene_schema()["$defs"]["actor"]["properties"]["kind"]["enum"])


def actor_schema(kind: str) -> dict:
    """The closed object schema of one actor kind (``$defs/<kind>_actor``)."""
    return scene_schema()["$defs"][f"{kind}_actor"]


def _applicable(node: dict, value: Any, root: dict) -> list[dict]:
    """Schemas with ``properties`` that apply to ``value`` under ``node``.

    Follows ``$ref``, the ``if``/``then`` pairs that select an actor kind, and
    the first ``oneOf`` branch ``value`` is valid against.
    """
    node = resolve_ref(node, root)
    found = [node] if "properties" in node else []
    for sub in node.get("allOf", []):
        if "if" in sub and _is_valid(sub["if"], value, root):
            found += _applicable(sub["then"], value, root)
    for sub in node.get("oneOf", []):
        if _is_valid(sub, value, root):
            found += _applicable(sub, value, root)
            break
    return found


#: Validators of sub-schemas, by the sub-schema's identity (kept with it, so an id is never reused).
_VALIDATORS: dict[int, tuple[dict, dict, Any]] = {}


def _is_valid(sub: dict, value: Any, root: dict) -> bool:
    """Whether ``value`` is valid against the sub-schema ``sub`` of ``root``.

    The ``if`` of an actor or source kind (``kind`` equal to a string) is
    checked directly, as JSON Schema defines it; any other sub-schema by a
    validator made once per sub-schema (making one costs more than using it).
    """
    kind = _kind_test(sub)
    if kind is not None:
        if not isinstance(value, dict):
            return True  # 'properties' and 'required' only constrain objects
        given = value.get("kind", _MISSING)
        return isinstance(given, str) and given == kind
    hit = _VALIDATORS.get(id(sub))
    if hit is None or hit[0] is not sub or hit[1] is not root:
        from jsonschema import Draft202012Validator

        if len(_VALIDATORS) > 4096:  # bounded: one schema has a few hundred sub-schemas
            _VALIDATORS.clear()
        hit = (sub, root, Draft202012Validator({**sub, "$defs": root.get("$defs", {})}))
        _VALIDATORS[id(sub)] = hit
    return bool(hit[2].is_valid(value))


_MISSING = object()


def _kind_test(sub: dict) -> str | None:
    """``X`` when ``sub`` is exactly ``{"properties": {"kind": {"const": X}}, "required": ["kind"]}``
    with a string ``X``, else ``None``."""
    if set(sub) != {"properties", "required"} or sub["required"] != ["kind"]:
        return None
    props = sub["properties"]
    if not isinstance(props, dict) or set(props) != {"kind"} or not isinstance(props["kind"], dict):
        return None
    const = props["kind"]
    if set(const) != {"const"} or not isinstance(const["const"], str):
        return None
    return const["const"]


def fill_defaults(data: dict) -> dict:
    """A copy of a *valid* scene with every schema default filled in."""
    root = scene_schema()
    out = copy.deepcopy(data)
    _fill(root, out, root)
    return out


def _fill(node: dict, value: Any, root: dict) -> None:
    node = resolve_ref(node, root)
    if isinstance(value, dict):
        for schema in _applicable(node, value, root):
            for name, prop in schema["properties"].items():
                prop = resolve_ref(prop, root)
                if name not in value and "default" in prop:
                    value[name] = copy.deepcopy(prop["default"])
                if name in value:
                    _fill(prop, value[name], root)
    elif isinstance(value, list) and "items" in node:
        for item in value:
            _fill(node["items"], item, root)


def iter_properties(node: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """Yield ``(dotted name, property schema)`` for the documentation table."""
    root = scene_schema()
    node = resolve_ref(node, root)
    for name, prop in node.get("properties", {}).items():
        if name == "$schema":
            continue
        prop = resolve_ref(prop, root)
        yield f"{prefix}{name}", prop
        if prop.get("type") == "object" and "properties" in prop:
            yield from iter_properties(prop, f"{prefix}{name}.")


def describe_type(prop: dict) -> str:
    """A short human description of a property's allowed values."""
    root = scene_schema()
    prop = resolve_ref(prop, root)
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "oneOf" in prop and not ("type" in prop and all(set(b) <= {"required"} for b in prop["oneOf"])):
        return " or ".join(describe_type(b) for b in prop["oneOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        items = describe_type(prop.get("items", {}))
        n = prop.get("minItems")
        if n is not None and n == prop.get("maxItems"):
            return f"[{items}] x {n}"
        return f"list of {items}"
    if kind == "number" or kind == "integer":
        lo = prop.get("minimum", prop.get("exclusiveMinimum"))
        hi = prop.get("maximum", prop.get("exclusiveMaximum"))
        if lo is not None and hi is not None:
            return f"{kind} {lo}..{hi}"
        if lo is not None:
            return f"{kind} > {lo}" if "exclusiveMinimum" in prop else f"{kind} >= {lo}"
    if isinstance(kind, list):
        return " or ".join(kind)
    return kind


#: Schema annotation on string properties that name an input file (relative to the scene file).
FILE_KEYWORD = "x-scenerender-file"


def file_references(data: dict) -> list[tuple[tuple, str]]:
    """``(scene path, value)`` of every input file a *valid* scene names.

    Found through the schema annotation :data:`FILE_KEYWORD`, so a new source
    or actor kind that reads a file is covered by marking its property.
    """
    root = scene_schema()
    found: list[tuple[tuple, str]] = []
    _find_files(root, data, root, (), found)
    return found


def _find_files(node: dict, value: Any, root: dict, path: tuple, found: list) -> None:
    """Add to ``found`` the file references in ``value``, validated by the schema ``node``."""
    node = resolve_ref(node, root)
    if isinstance(value, dict):
        _find_files_in_mapping(node, value, root, path, found)
    elif isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            _find_files(node["items"], item, root, (*path, index), found)
    elif isinstance(value, str) and node.get(FILE_KEYWORD):
        found.append((path, value))


def _find_files_in_mapping(node: dict, value: dict, root: dict, path: tuple, found: list) -> None:
    """The file references in a mapping: under each property of the schemas that apply to it, then
    under its other keys where the schema allows additional properties."""
    seen = set()
    for schema in _applicable(node, value, root):
        for name, prop in schema["properties"].items():
            if name in value and name not in seen:
                seen.add(name)
                _find_files(prop, value[name], root, (*path, name), found)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        for name, item in value.items():
            if name not in seen:
                _find_files(extra, item, root, (*path, name), found)
