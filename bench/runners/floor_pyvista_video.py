"""A floor for videos: one benchmark video drawn by a minimal pyvista script, to an MP4.

    .venv/bin/python bench/runners/floor_pyvista_video.py CASE.json OUT.mp4

What a pyvista user writes for an orbit video: the plotter of
``floor_pyvista.py`` (same atlas, actors and drawing), ``plotter.open_movie``
(imageio's ffmpeg writer, the imageio-ffmpeg binary scenerender uses too, at
pyvista's default quality), then for each frame's camera ``write_frame()``.
CASE.json is the case bench/video.py writes for brainrender: compare.py's
case plus ``video`` (``fps``, ``frames``, the camera of every frame, as
scenerender's animation computes it), so all tools draw the same orbit.
Each frame is reported on stderr as ``BENCH_FRAME i seconds-since-start``.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Phases, headless  # noqa: E402
from floor_pyvista import build_plotter, set_camera  # noqa: E402


def main(case_path: str, out: str) -> int:
    phases = Phases(_T0)
    headless()
    case = json.loads(Path(case_path).read_text())
    plotter = build_plotter(case, phases)

    import pyvista as pv

    video = case["video"]
    plotter.open_movie(out, framerate=video["fps"])
    for i, camera in enumerate(video["cameras"]):
        set_camera(plotter, camera)
        plotter.write_frame()
        print(f"BENCH_FRAME {i} {time.perf_counter() - _T0:.4f}", file=sys.stderr, flush=True)
    plotter.close()  # closes the movie writer: ffmpeg finishes the file
    phases.mark("video")
    phases.report(f"pyvista {pv.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
