"""Make one benchmark video with brainrender's ``Animation``, offscreen, to an MP4.

    bench/.venv-brainrender/bin/python bench/runners/brainrender_video.py CASE.json OUT.mp4

Run by bench/video.py inside brainrender's own virtual environment. CASE.json
is a compare.py case (atlas, size, actors; see brainrender_scene.py, whose
``build_scene`` makes the Scene) plus ``video``: ``fps``, ``frames`` and the
camera of every frame, as scenerender's animation computes it (render-world
coordinates, shared by both tools).

What a brainrender user writes for a video: ``Animation(scene, folder, name,
size="1920x1080")``, one ``add_keyframe`` per camera, ``make_video(duration,
fps)``. Here there is a keyframe for every frame, so brainrender draws
exactly scenerender's orbit (no interpolation between keyframes). Two
details of brainrender 2.2.2's ``Animation``:

* it draws ``int(fps * duration)`` frames but drops the first two from the
  video (``if framen > 1: video.add_frame()``), so it is asked for N + 2
  frames, and frames 0 and 1 hold the first camera;
* the frames are PNG screenshots in a temporary folder, put together by the
  ``ffmpeg`` program found on PATH when the animation ends (bench/video.py
  puts imageio-ffmpeg's binary there: brainrender needs a system ffmpeg).

The time each frame is added to the video is printed on stderr as
``BENCH_FRAME i seconds-since-start`` (a wrapper around
``brainrender._video.Video.add_frame``, which only reports), so a run
stopped by the timeout still gives its rate.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Phases  # noqa: E402
from brainrender_scene import build_scene  # noqa: E402


def main(case_path: str, out: str) -> int:
    phases = Phases(_T0)
    case = json.loads(Path(case_path).read_text())
    out_path = Path(out).resolve()
    scene = build_scene(case, out_path.parent, phases)

    import brainrender
    from brainrender import _video
    from brainrender.video import Animation

    added = {"n": 0}
    original_add_frame = _video.Video.add_frame

    def add_frame(self):
        result = original_add_frame(self)
        print(f"BENCH_FRAME {added['n']} {time.perf_counter() - _T0:.4f}", file=sys.stderr, flush=True)
        added["n"] += 1
        return result

    _video.Video.add_frame = add_frame

    video = case["video"]
    fps, frames, cameras = video["fps"], video["frames"], video["cameras"]
    width, height = case["size"]
    scene.plotter.camera.SetViewAngle(cameras[0]["view_angle"])
    anim = Animation(scene, out_path.parent, out_path.stem, size=f"{width}x{height}")

    def camera(i):
        c = cameras[min(max(i, 0), len(cameras) - 1)]
        return {"pos": tuple(c["position"]), "focal_point": tuple(c["focal_point"]), "viewup": tuple(c["view_up"]),
                "clipping_range": (1.0, 1e6)}

    # Frame f of the animation (f = 0 .. frames + 1) is at time (f + 0.5) / fps, so that
    # Animation's int(floor(time * fps)) gives back f exactly; video frame i is animation frame i + 2.
    for f in range(frames + 2):
        anim.add_keyframe((f + 0.5) / fps, camera=camera(f - 2), zoom=1, interpol="linear")
    phases.mark("keyframes")
    # make_video first renders the scene once with render_kwargs: the first camera and zoom 1
    # (without them brainrender applies the atlas's zoom, which changes the view angle for good).
    anim.make_video(duration=(frames + 2.5) / fps, fps=fps, render_kwargs={"camera": camera(0), "zoom": 1})
    phases.mark("video")
    if not out_path.exists():
        raise SystemExit(f"brainrender wrote no {out_path} (is ffmpeg on PATH?)")
    phases.report(brainrender.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
