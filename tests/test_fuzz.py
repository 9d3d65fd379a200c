"""Property-based fuzzing: scenes generated from the scene schema (see
tests/scene_fuzz.py for the strategy) either render or are refused with the
project's own error and a message; nothing else escapes, nothing is left on
disk. ``tools/fuzz_scenes.py`` runs the same check for longer.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, given, settings

from scene_fuzz import check_scene, scene_strategy, write_data_files
from harden_counts import COUNTS

#: Examples in the suite; SCENERENDER_FUZZ_EXAMPLES raises it for a longer local run.
EXAMPLES = int(os.environ.get("SCENERENDER_FUZZ_EXAMPLES", "80"))


def test_fuzzed_scenes_render_or_are_refused(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    files = write_data_files(folder)
    cache: dict = {}
    outcomes = {"rendered": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                     HealthCheck.function_scoped_fixture])
    @given(scene_strategy(files))
    def run(data):
        COUNTS["fuzzed"] += 1
        outcomes[check_scene(data, folder, atlas_cache=cache)] += 1

    run()
    COUNTS["fuzz_rendered"] += outcomes["rendered"]
    COUNTS["fuzz_refused"] += outcomes["refused"]
    # Both outcomes must occur, or the fuzzing exercises only one side of the pipeline.
    assert outcomes["rendered"] > 0 and outcomes["refused"] > 0, outcomes


def _schema_words() -> list:
    """Every key and enum value the schema names: mutated documents use them,
    so they reach deep into the validator instead of stopping at the top."""
    from scene_fuzz import SCHEMA

    words: set = set()

    def walk(node):
        if isinstance(node, dict):
            words.update(k for k in node.get("properties", {}))
            words.update(v for v in node.get("enum", []) if isinstance(v, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SCHEMA)
    return sorted(words)


def _documents():
    from hypothesis import strategies as st

    words = st.sampled_from(_schema_words())
    scalars = (st.none() | st.booleans() | st.integers() | st.floats() | words
               | st.text(max_size=8) | st.sampled_from([1, 0.5, "TH", "#ff0000", [1, 2, 3], "../x.csv"]))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(words | st.text(max_size=5) | st.integers(), inner, max_size=4),
                          max_leaves=25)
    return st.dictionaries(words, values, max_size=6).map(lambda d: {"version": 1, **d} if len(d) % 2 else d)


def test_fuzzed_documents_are_read_or_refused():
    """Arbitrary documents (schema words, NaN, huge numbers, odd keys) through
    load_scene, as YAML text and as a dict: a Scene, or SceneError with
    located messages; never another exception."""
    import yaml

    from scenerender import load_scene
    from scenerender.errors import SceneError

    @settings(max_examples=EXAMPLES * 3, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_documents())
    def run(data):
        COUNTS["documents"] += 1
        text = yaml.safe_dump(data, allow_unicode=True)
        for source in (text, data):
            try:
                load_scene(source)
            except SceneError as err:
                assert err.problems and all(p.message.strip() for p in err.problems), err
                if isinstance(source, str):  # from YAML every problem has a line
                    assert all(p.line is not None for p in err.problems), err

    run()


def test_fuzzed_yaml_text_is_read_or_refused():
    from hypothesis import strategies as st

    from scenerender.document import read_scene_text
    from scenerender.errors import SceneError

    pieces = st.sampled_from(["version: 1\n", "actors:\n", "  - ", "kind: root", "&a ", "*a", "!!set ", "!!binary ",
                              "[", "]", "{", "}", ": ", "- ", "\n", "  ", ".nan", "'", '"', "? ", "<<: *a", "\t",
                              "!!python/object:os.system", "1e999", "yes: ", "%YAML 1.1\n", "---\n", "..."])

    @settings(max_examples=EXAMPLES * 3, deadline=None, database=None, derandomize=True)
    @given(st.lists(pieces | st.text(max_size=4), max_size=30).map("".join))
    def run(text):
        COUNTS["documents"] += 1
        try:
            read_scene_text(text)
        except SceneError as err:
            assert err.problems and all(p.message.strip() for p in err.problems), err

    run()
