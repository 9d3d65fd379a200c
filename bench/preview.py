"""Re-render latency of ``scenerender preview`` after a save, against a cold ``scenerender render``.

    python bench/preview.py [--runs 5] [--size 800x600]

Both draw the quick start scene at the same size, in this run on this machine:

* ``cold``: ``scenerender render SCENE --size WxH -o out.png``, a fresh process each run
  (wall time of the whole process);
* ``preview``: one ``scenerender preview SCENE --size WxH`` server, started once
  and warmed by its first render; each run rewrites the scene file (a changed
  alpha) and times from the write until the server's ``/api/state`` reports the
  new image, polled every 10 ms (what the page sees, less its own poll interval).

Prints median/min/max of each and the ratio cold / preview; writes the same
as JSON to bench/results/preview.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENE = REPO / "scenes" / "quickstart.yaml"


def _cold(scene: Path, size: str, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "scenerender", "render", str(scene), "--size", size, "-o", str(out)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _state(url: str) -> dict:
    with urllib.request.urlopen(url + "api/state", timeout=30) as answer:
        return json.load(answer)


def _wait(url: str, after: int, timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = _state(url)
        if state["version"] > after:
            if not state["ok"]:
                raise SystemExit(f"the preview reported problems: {state['problems']}")
            return state
        time.sleep(0.01)
    raise SystemExit("the preview did not re-render in time")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="800x600")
    args = parser.parse_args(argv)
    text = SCENE.read_text()
    assert "alpha: 0.15" in text
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as folder:
        scene = Path(folder) / "quickstart.yaml"
        scene.write_text(text)
        _cold(scene, args.size, Path(folder) / "warm.png")  # file cache warm for both
        cold = [_cold(scene, args.size, Path(folder) / "cold.png") for _ in range(args.runs)]
        log = Path(folder) / "server.log"
        with open(log, "w") as err:
            server = subprocess.Popen([sys.executable, "-m", "scenerender", "preview", str(scene), "--port", "0",
                                       "--size", args.size], stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            url = None
            for _ in range(3000):
                match = re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())
                if match:
                    url = match.group(1)
                    break
                time.sleep(0.1)
            if url is None:
                raise SystemExit(f"the preview server did not start: {log.read_text()}")
            first = _wait(url, 0)
            warm, render_s = [], []
            version = first["version"]
            for run in range(args.runs):
                scene.write_text(text.replace("alpha: 0.15", f"alpha: 0.{16 + run}"))
                start = time.perf_counter()
                state = _wait(url, version)
                warm.append(time.perf_counter() - start)
                render_s.append(state["render_s"])
                version = state["version"]
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "scene": "scenes/quickstart.yaml", "size": args.size, "runs": args.runs,
        "cold_render_s": {"median": statistics.median(cold), "min": min(cold), "max": max(cold)},
        "preview_after_save_s": {"median": statistics.median(warm), "min": min(warm), "max": max(warm)},
        "preview_render_only_s": {"median": statistics.median(render_s)},
        "ratio_cold_over_preview": statistics.median(cold) / statistics.median(warm),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    print(f"cold 'scenerender render' ({args.size}): median {result['cold_render_s']['median']:.2f} s "
          f"(min {min(cold):.2f}, max {max(cold):.2f})")
    print(f"preview, save to new image:     median {result['preview_after_save_s']['median']:.2f} s "
          f"(min {min(warm):.2f}, max {max(warm):.2f}; render itself {result['preview_render_only_s']['median']:.2f} s)")
    print(f"preview is {result['ratio_cold_over_preview']:.1f}x faster than a cold render")
    out = REPO / "bench" / "results" / "preview.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
