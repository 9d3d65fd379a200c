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
