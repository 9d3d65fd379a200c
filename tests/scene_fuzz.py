"""Scenes generated from the scene schema, and the check every one must pass.

Shared by ``tests/test_fuzz.py`` (a bounded run in the suite) and
``tools/fuzz_scenes.py`` (a longer run).

The strategy is hypothesis-jsonschema's, from ``schemas/scene.schema.json``
narrowed in seven places (:func:`fuzz_schema`), each for a stated reason:

* ``actor`` and ``source`` select their kind with ``allOf`` of
  ``if``/``then``; hypothesis-jsonschema turns each ``if`` into a
  ``not`` it can only filter on, which makes generation hang. They become
  the equivalent ``oneOf`` of the kinds' closed schemas, ``kind`` required.
* ``atlas`` is the embedded atlas, a local folder, or a BrainGlobe name
  with ``download: false``: a fuzzer must not download atlases.
* a data source's ``path`` is one of a few real small files (good and
  hostile, made by :func:`write_data_files`) or any string; sources are
  named from :data:`SOURCE_NAMES` and actors draw one of those names.
* ``camera``, ``keyframe`` and ``animation`` forbid pairs of keys with
  ``not``/``dependentRequired``; they become the equivalent alternatives
  (hypothesis-jsonschema ignores ``dependentRequired`` and can only filter
  on ``not``, which took seconds per animation), and an animation has at
  most 4 keyframes.
* numbers without bounds lie within +-1e7: beyond 1e15 a scene is refused
  at once (tests/corpus covers it) and that refusal would hide the rest.
* ``sweep`` is left out: a swept scene is many scenes ('scenerender batch').
* public-data sources (``mouselight``, ``neuromorpho``, ``allen_*``) are
  left out: they fetch over the network; tests/test_fetch.py plays those
  services on 127.0.0.1.

Every ``oneOf`` is generated as ``anyOf`` (much faster); the few scenes
that then match two branches are invalid for the real schema and must be
refused like any other invalid scene.
"""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "schemas" / "scene.schema.json").read_text())
#: Names of fuzzed sources; actors' 'source' is one of them (defined or not).
SOURCE_NAMES = ["cells", "neuron", "probe"]


def write_data_files(folder: Path) -> list[str]:
    """Small real data files, good and broken, that fuzzed sources may name."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    centre = np.array([6600.0, 4000.0, 5700.0])  # inside the embedded atlas's brain (asr um)
    points = centre + rng.normal(0, 300, size=(40, 3))
    np.savetxt(folder / "cells.csv", np.c_[points, rng.random(40)], delimiter=",", header="a,s,r,value", comments="")
    np.save(folder / "track.npy", np.linspace(centre - 800, centre + 800, 12))
    volume = np.zeros((12, 10, 14), dtype=np.float32)
    volume[3:9, 3:7, 4:10] = 1.0
    np.save(folder / "volume.npy", volume)
    (folder / "neuron.swc").write_text(
        "1 1 6600 4000 5700 50 -1\n2 3 6700 4000 5700 5 1\n3 3 6800 4100 5700 5 2\n4 2 6500 3900 5600 5 1\n")
    (folder / "mesh.obj").write_text("v 6000 3500 5000\nv 7000 3500 5000\nv 6500 4500 5000\nv 6500 4000 6000\n"
                                     "f 1 2 3\nf 1 2 4\nf 2 3 4\nf 1 3 4\n")
    (folder / "empty.csv").write_text("")
    (folder / "empty.swc").write_text("")
    (folder / "garbage.csv").write_bytes(bytes(rng.integers(0, 256, 2048, dtype=np.uint8)))
    # A TIFF header promising a strip far beyond the end of the file.
    (folder / "truncated.tif").write_bytes(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
                                           + struct.pack("<HHII", 256, 4, 1, 1000) + b"\x00" * 4)
    (folder / "folder.csv").mkdir(exist_ok=True)
    return ["cells.csv", "track.npy", "volume.npy", "neuron.swc", "mesh.obj", "empty.csv", "empty.swc",
            "garbage.csv", "truncated.tif", "folder.csv", "missing.npy"]


def fuzz_schema(data_files: list[str]) -> dict:
    """The scene schema, narrowed as the module docstring says."""
    schema = copy.deepcopy(SCHEMA)
    defs = schema["$defs"]

    from scenerender.fetch import FETCHED_KINDS

    def kinds_of(family: str) -> dict:
        branches = []
        for kind in defs[family]["properties"]["kind"]["enum"]:
            if kind in FETCHED_KINDS:  # public data fetched from the network: tests/test_fetch.py, not the fuzzer
                continue
            branch = copy.deepcopy(defs[f"{kind}_{family}"])
            branch["required"] = sorted({"kind", *branch.get("required", [])})
            branches.append(branch)
        return {"oneOf": branches}

    for kind in defs["source"]["properties"]["kind"]["enum"]:
        defs[f"{kind}_source"]["properties"]["path"] = {
            "anyOf": [{"enum": data_files}, {"type": "string", "minLength": 1, "maxLength": 12}]}
    for name, node in defs.items():  # actors draw the sources a scene defines, not random names
        if name.endswith("_actor") and "source" in node.get("properties", {}):
            node["properties"]["source"] = {"enum": SOURCE_NAMES}
    defs["actor"] = kinds_of("actor")
    defs["source"] = kinds_of("source")
    defs["atlas"] = {"oneOf": [
        {"enum": ["embedded", "allen_mouse_scenerender_100um"]},
        {"type": "object", "additionalProperties": False, "required": ["path"],
         "properties": {"path": {"type": "string"}}},
        {"type": "object", "additionalProperties": False, "required": ["name", "download"],
         "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
                        "download": {"const": False}}},
    ]}
    # 'not' (two keys that exclude each other) and 'dependentRequired' become
    # the equivalent alternatives: hypothesis-jsonschema ignores the latter and
    # can only filter on the former, which made animations take seconds each.
    def without(node: dict, *keys: str, required=()) -> dict:
        out = {k: v for k, v in node.items() if k not in ("not", "dependentRequired")}
        out["properties"] = {k: v for k, v in node["properties"].items() if k not in keys}
        out["required"] = sorted({*node.get("required", []), *required})
        return out

    camera = defs["camera"]
    defs["camera"] = {"anyOf": [without(camera, "position", "focal_point", "view_up"),
                                without(camera, "preset", required=("position", "focal_point", "view_up"))]}
    keyframe = defs["keyframe"]
    defs["keyframe"] = {"anyOf": [without(keyframe, "move"), without(keyframe, "camera")]}
    animation = defs["animation"]
    animation["properties"]["keyframes"]["maxItems"] = 4  # few keyframes: enough to cross every code path
    defs["animation"] = {"anyOf": [without(animation, "frames"), without(animation, "duration")]}
    _bound_numbers(schema)
    schema["properties"].pop("sweep", None)
    # Nothing above needs 2019+ keywords any more; declared draft-07, the
    # metaschema checks hypothesis-jsonschema repeats while drawing are ~10x cheaper.
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return _any_of(schema)


def _bound_numbers(node) -> None:
    """Numbers without a bound get +-1e7 (um, degrees...): otherwise most
    scenes hold a number beyond 1e15 and stop at that (tested) refusal."""
    if isinstance(node, dict):
        if node.get("type") in ("number", "integer", ["string", "integer"]):
            node.setdefault("maximum", 1e7)
            if "exclusiveMinimum" not in node:
                node.setdefault("minimum", -1e7)
        for value in node.values():
            _bound_numbers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_numbers(value)


def _any_of(node):
    """Every 'oneOf' as 'anyOf': generating from 'oneOf' filters each value
    against the other branches, the slowest part of drawing. A value that
    matches two branches is invalid for the real schema, and is still a
    fuzzed input: the pipeline must refuse it."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_any_of(v) for v in node]
    return node


def scene_strategy(data_files: list[str]):
    """Scenes: the top level assembled from one hypothesis-jsonschema
    strategy per top-level key (the same schema; drawing each part on its
    own avoids re-merging the whole scene schema at every draw, 3x faster)."""
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    schema = fuzz_schema(data_files)
    top = schema["properties"]

    def part(node: dict):
        return from_schema({"$schema": schema["$schema"], "$defs": schema["$defs"], **node})

    optional = {key: part(node) for key, node in top.items() if key not in ("version", "$schema")}
    optional["actors"] = st.lists(part(top["actors"]["items"]), max_size=5)
    optional["sources"] = st.dictionaries(st.sampled_from(SOURCE_NAMES), part(top["sources"]["additionalProperties"]),
                                          max_size=3)
    return st.fixed_dictionaries({"version": st.just(1)}, optional=optional)


class UncaughtError(AssertionError):
    """Not the project's own error type: a bug."""


def check_scene(data: dict, folder: Path, *, size=(32, 24), atlas_cache: dict | None = None) -> str:
    """Run one generated scene through the real pipeline.

    The scene is written as YAML into ``folder`` (next to the data files),
    then read, validated, compiled and rendered at ``size`` to
    ``folder/out/render.png``. Returns ``"rendered"`` or ``"refused"``
    (a :class:`~scenerender.SceneError` or :class:`~scenerender.RenderError`
    with a message). Raises :class:`UncaughtError` for any other exception,
    an empty message, or a file left in the output folder by a failure.
    """
    from jsonschema import Draft202012Validator

    import scenerender
    from scenerender.errors import RenderError, SceneError

    valid = Draft202012Validator(SCHEMA).is_valid(data)
    scene_file = folder / "fuzzed.yaml"
    scene_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    out = folder / "out"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    target = out / "render.png"
    try:
        plan = scenerender.compile_scene(scene_file, size=size, atlas_cache=atlas_cache)
        image = scenerender.render(plan, target)
    except (SceneError, RenderError) as err:
        if not str(err).strip():
            raise UncaughtError(f"{type(err).__name__} with an empty message for {data!r}") from err
        left = sorted(p.name for p in out.iterdir())
        if left:
            raise UncaughtError(f"a refused scene left files behind: {left}") from err
        return "refused"
    except Exception as err:
        raise UncaughtError(f"{type(err).__name__}: {err} for scene {json.dumps(data)[:2000]}") from err
    if not valid:
        raise UncaughtError(f"a scene the schema rejects was rendered: {json.dumps(data)[:2000]}")
    scale = getattr(plan.render, "scale", 1)  # render.scale multiplies the pixels
    assert image.shape[:2] == (size[1] * scale, size[0] * scale), (image.shape, size, scale)
    left = sorted(p.name for p in out.iterdir())
    # the image, and its provenance record when scenerender writes one
    if "render.png" not in left or not set(left) <= {"render.png", "render.png.scenerender.json"}:
        raise UncaughtError(f"a render left {left} instead of render.png (and its provenance record)")
    return "rendered"
