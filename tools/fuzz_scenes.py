"""A longer fuzzing run than the test suite's: scenes generated from the
scene schema (tests/scene_fuzz.py) through the real pipeline.

    python tools/fuzz_scenes.py --examples 2000

Prints how many scenes rendered and were refused, the most common refusals,
and every bug (an exception that is not scenerender's own error, an empty
message, or a file left behind), each with the scene that caused it.
Exit status 1 if there was a bug.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]


def main() -> int:
    from hypothesis import HealthCheck, Phase, given, settings

    from scene_fuzz import UncaughtError, check_scene, scene_strategy, write_data_files
    from scenerender.errors import RenderError, SceneError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random)")
    args = parser.parse_args()
    warnings.simplefilter("error", RuntimeWarning)  # NaN arithmetic is a bug here, as in the test suite

    folder = Path(tempfile.mkdtemp(prefix="scenerender-fuzz-"))
    files = write_data_files(folder)
    cache: dict = {}
    outcomes: collections.Counter = collections.Counter()
    refusals: collections.Counter = collections.Counter()
    bugs: list[str] = []

    @settings(max_examples=args.examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(scene_strategy(files))
    def run(data):
        try:
            outcomes[check_scene(data, folder, atlas_cache=cache)] += 1
        except UncaughtError as err:
            outcomes["bug"] += 1
            bugs.append(str(err))

    original = check_scene.__globals__["check_scene"]
    start = time.perf_counter()
    if args.seed is not None:
        from hypothesis import seed

        run = seed(args.seed)(run)
    # Count refusals by their message's shape (numbers and names stripped).
    import re

    import scenerender

    real_compile = scenerender.compile_scene

    def counting_compile(*a, **k):
        try:
            return real_compile(*a, **k)
        except (SceneError, RenderError) as err:
            text = re.sub(r"'[^']*'|\d[\d.,e+-]*", "_", str(err).split(": ", 2)[-1])[:90]
            refusals[text] += 1
            raise

    scenerender.compile_scene = counting_compile
    try:
        run()
    finally:
        scenerender.compile_scene = real_compile
    del original
    took = time.perf_counter() - start
    print(f"fuzzed {sum(outcomes.values())} scenes in {took:.0f} s: {outcomes['rendered']} rendered, "
          f"{outcomes['refused']} refused, {outcomes['bug']} bugs")
    print("most common refusals:")
    for text, n in refusals.most_common(15):
        print(f"  {n:5d}  {text}")
    for bug in bugs:
        print("BUG:", bug)
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
