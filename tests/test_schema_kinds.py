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


# -- the generated parts (tools/update_schema.py) --------------------------------------------------

def _update_schema():
    import importlib.util

    spec = importlib.util.spec_from_file_location("update_schema", REPO / "tools" / "update_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_kind_lists_are_fresh():
    """The kind enums, their descriptions and the if/then dispatch are what the tool makes of $defs now."""
    text = (REPO / "schemas" / "scene.schema.json").read_text()
    assert not _update_schema().stale(text), "schemas/scene.schema.json is stale: run python tools/update_schema.py"
    for role in ("actor", "source"):
        assert "tools/update_schema.py" in SCHEMA["$defs"][role]["$comment"]
        assert "do not edit" in SCHEMA["$defs"][role]["$comment"]


def test_a_defs_entry_added_without_regenerating_is_stale():
    """A new kind written only as a $defs entry makes the freshness check fail; the tool then adds it
    to the enum, the prose and the dispatch."""
    tool = _update_schema()
    schema = json.loads((REPO / "schemas" / "scene.schema.json").read_text())
    schema["$defs"]["arrow_actor"] = {"type": "object", "title": "an arrow", "description": "An arrow.",
                                      "properties": {"kind": {"const": "arrow"}}}
    assert tool.stale(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    actor = tool.generate(schema)["$defs"]["actor"]
    assert actor["properties"]["kind"]["enum"][-1] == "arrow"
    assert "arrow (an arrow)" in actor["properties"]["kind"]["description"]
    assert actor["allOf"][-1] == {"if": {"properties": {"kind": {"const": "arrow"}}, "required": ["kind"]},
                                  "then": {"$ref": "#/$defs/arrow_actor"}}


# -- each kind: module <-> $defs <-> enum/dispatch <-> example scene <-> reference page ------------

def _registry(role):
    if role == "actor":
        from scenerender.actors import registered_actors

        return registered_actors()
    from scenerender.sources import registered_sources

    return registered_sources()


def _scene_kinds(role):
    """Kinds used by the example scenes in scenes/."""
    import yaml

    used = set()
    for path in (REPO / "scenes").glob("*.yaml"):
        scene = yaml.safe_load(path.read_text())
        if role == "source":
            used |= {s["kind"] for s in (scene.get("sources") or {}).values()}
            continue
        used |= {a["kind"] for a in scene.get("actors", [])}
    return used


@pytest.mark.parametrize("role", ["actor", "source"])
def test_every_kind_has_a_module_an_entry_a_scene_and_a_page(role):
    defs = SCHEMA["$defs"]
    entries = [name[: -len(f"_{role}")] for name in defs if name.endswith(f"_{role}")]
    modules = _registry(role)
    used = _scene_kinds(role)
    pages = REPO / "docs" / "reference" / f"{role}s"
    for kind in entries:
        assert kind in modules, f"$defs/{kind}_{role} has no module declaring KIND = {kind!r}"
        assert kind in used, f"{role} kind {kind!r} is used by no example scene in scenes/"
        if pages.is_dir():
            assert (pages / f"{kind}.md").is_file(), f"{role} kind {kind!r} has no page docs/reference/{role}s/{kind}.md"
    for kind, module in modules.items():
        assert kind in entries, f"{module.__name__} declares KIND = {kind!r}, which has no $defs/{kind}_{role}"
        assert callable(getattr(module, "build" if role == "actor" else "load", None)), module.__name__
    assert defs[role]["properties"]["kind"]["enum"] == entries


# -- source file suffixes <-> the schema's descriptions --------------------------------------------

#: The name a description gives each file format the source modules read (independent of the code).
FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "npy": "NPY", "hdf5": "HDF5", "cellfinder-xml": "XML", "swc": "SWC",
                "mouselight-json": "JSON", "obj": "OBJ", "stl": "STL", "ply": "PLY", "vtk": "VTK", "vtp": "VTP",
                "tiff": "TIFF", "nrrd": "NRRD", "nifti": "NIfTI"}
#: Extensions the formats are known by (what a user would name the file).
EXTENSIONS = {"csv": {".csv"}, "tsv": {".tsv", ".txt"}, "npy": {".npy"}, "hdf5": {".h5", ".hdf5", ".hdf"},
              "cellfinder-xml": {".xml"}, "swc": {".swc"}, "mouselight-json": {".json"}, "obj": {".obj"},
              "stl": {".stl"}, "ply": {".ply"}, "vtk": {".vtk"}, "vtp": {".vtp"}, "tiff": {".tif", ".tiff"},
              "nrrd": {".nrrd"}, "nifti": {".nii", ".nii.gz"}}


def _named_formats(text: str) -> set[str]:
    import re

    words = set(re.findall(r"[A-Za-z0-9]+", text))
    return {fmt for fmt, name in FORMAT_NAMES.items() if name in words}


@pytest.mark.parametrize("kind", ["points", "neuron", "mesh", "volume", "track"])
def test_source_suffixes_are_the_formats_the_schema_names(kind):
    """A file source reads exactly the formats its $defs entry (and the kind's title) names, by their usual
    extensions (tracks read CSV/TSV text like points do, and the schema says so)."""
    module = _registry("source")[kind]
    read = set(module.SUFFIXES.values())
    entry = SCHEMA["$defs"][f"{kind}_source"]
    for text, where in ((entry["description"], f"$defs/{kind}_source description"),
                        (entry["title"], f"$defs/{kind}_source title")):
        assert _named_formats(text) == read, f"{where} names {sorted(_named_formats(text))}, the module reads {sorted(read)}"
    for suffix, fmt in module.SUFFIXES.items():
        assert suffix in EXTENSIONS[fmt], f"{kind}: {suffix} read as {fmt}"
    assert set(module.SUFFIXES) == set().union(*(EXTENSIONS[f] for f in read)), f"{kind}: an extension is missing"


# -- renderer dispatch and pixel sizes, declared on the plan types ---------------------------------

def test_every_plan_type_declares_how_it_is_drawn():
    from scenerender.overlays import PAINTED
    from scenerender.plan import ACTOR_PLANS, OVERLAYS, LinesPlan, SurfacePlan
    from scenerender.renderer import DRAWERS

    for plan_type in ACTOR_PLANS:
        assert plan_type.DRAWN_AS in DRAWERS, f"{plan_type.__name__}.DRAWN_AS = {plan_type.DRAWN_AS!r} has no drawer"
    assert {t.__name__ for t in PAINTED} == {"LabelsPlan", "ScaleBarPlan", "OrientationPlan", "ColorBarPlan",
                                             "LegendPlan", "TitlePlan", "LetterPlan"}
    assert set(OVERLAYS) == set(PAINTED) | {t for t in ACTOR_PLANS if t.__name__ == "CutPlan"}
    assert SurfacePlan.DRAWN_AS == "surface" and LinesPlan.DRAWN_AS == "lines"


def test_pixel_sizes_scale_with_render_scale():
    import numpy as np

    from scenerender.plan import LinesPlan, SurfacePlan, pixel_fields
    from scenerender.renderer import at_scale

    assert pixel_fields(LinesPlan) == ("width",) and pixel_fields(SurfacePlan) == ("silhouette_width",)
    lines = LinesPlan(name="l", points=np.zeros((2, 3)), lines=np.array([2, 0, 1]), color=(1, 0, 0), alpha=1.0,
                      width=1.5)
    assert at_scale(lines, 4).width == 6.0 and at_scale(lines, 4).alpha == 1.0
    surface = SurfacePlan(name="s", points=np.zeros((3, 3)), faces=np.array([[0, 1, 2]]), color=(1, 1, 1), alpha=0.5)
    assert at_scale(surface, 3).silhouette_width == 6.0 and at_scale(surface, 1) is surface


def _all_if_schemas(node):
    if isinstance(node, dict):
        for sub in node.get("allOf", []):
            if isinstance(sub, dict) and "if" in sub:
                yield sub["if"]
        for value in node.values():
            yield from _all_if_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _all_if_schemas(value)


def test_kind_selection_shortcut_agrees_with_jsonschema():
    """Filling defaults and finding file references test each actor/source kind's 'if' directly
    (no validator made per call): the answer must be jsonschema's for every 'if' of the schema,
    on values of the right kind, another kind, a non-string kind, no kind and a non-object."""
    from jsonschema import Draft202012Validator

    from scenerender.schema import _is_valid, scene_schema

    root = scene_schema()
    ifs = list(_all_if_schemas(root))
    kinds = {sub["properties"]["kind"]["const"] for sub in ifs if "kind" in sub.get("properties", {})}
    assert len(kinds) > 20, "the schema selects actor and source kinds by 'if'"
    values = [{"kind": k} for k in kinds] + [{"kind": 1}, {"kind": None}, {"kind": ["root"]}, {}, {"other": "root"},
                                             "root", 3, None, ["kind"]]
    for sub in ifs:
        expected = Draft202012Validator({**sub, "$defs": root["$defs"]})
        for value in values:
            assert _is_valid(sub, value, root) == expected.is_valid(value), (sub, value)
