"""Public data: what fetching costs against reading the cache or a local file.

    python bench/fetch.py [--repeats 5]

Serves the real MouseLight exports (../shared/data) from the test suite's
loopback services (127.0.0.1; no real service is contacted) and loads the
same three neurons as a ``mouselight`` source: cold (empty cache: HTTP,
SHA-256, atomic write), warm (cache hit: SHA-256 checked on read) and from
the local JSON files (the baseline), in turns per repeat. Prints medians and
ratios against the local baseline; JSON in bench/results/fetch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

IDS = ["AA0052", "AA1506", "AA1507"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from public_services import ML_JSON, Server, install

    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
    from scenerender.document import read_scene
    from scenerender.sources import SourceContext, load_source

    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))
    server = install(Server(), atlas).start()
    cache = Path(tempfile.mkdtemp(prefix="scenerender-bench-fetch-"))
    os.environ.update({"SCENERENDER_MOUSELIGHT_URL": server.url, "SCENERENDER_CACHE_DIR": str(cache)})
    os.environ.pop("SCENERENDER_OFFLINE", None)
    ctx = SourceContext(doc=read_scene({"version": 1}), path=("sources", "ml"), atlas=atlas)

    def fetched():
        load_source("ml", {"kind": "mouselight", "ids": IDS}, ctx=ctx)

    def local():
        for neuron_id in IDS:
            load_source("ml", {"kind": "neuron", "path": str(ML_JSON / f"{neuron_id}.json"),
                               "space": {"orientation": "rsa"}}, ctx=ctx)

    times: dict[str, list[float]] = {"local files (baseline)": [], "cold (HTTP)": [], "warm (cache)": []}
    try:
        for _ in range(args.repeats):
            for name in times:
                if name.startswith("cold"):
                    shutil.rmtree(cache / "public", ignore_errors=True)
                start = time.perf_counter()
                (local if name.startswith("local") else fetched)()
                times[name].append(time.perf_counter() - start)
    finally:
        server.stop()
        shutil.rmtree(cache, ignore_errors=True)
    base = statistics.median(times["local files (baseline)"])
    results = {name: {"median_s": statistics.median(t), "ratio_vs_local": statistics.median(t) / base}
               for name, t in times.items()}
    results["load_average_1min"] = os.getloadavg()[0]
    print(f"{'case':28} {'median':>9} {'vs local':>9}")
    for name, r in results.items():
        if isinstance(r, dict):
            print(f"{name:28} {r['median_s']:8.3f}s {r['ratio_vs_local']:8.2f}x")
    print(f"load average (1 min): {results['load_average_1min']:.1f}")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "fetch.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
