"""Draw one benchmark case with brainrender, offscreen, to a PNG.

    bench/.venv-brainrender/bin/python bench/runners/brainrender_scene.py CASE.json OUT.png

Run by bench/compare.py inside brainrender's own virtual environment (never
scenerender's). CASE.json is the case as compare.py derived it from the
scenerender scene in bench/scenes/ (see compare.py ``case_spec``): the atlas,
image size, camera (render-world coordinates, which brainrender and
scenerender share: atlas microns with the third axis negated) and actors.

What a brainrender user would write, plus only what headless, offline use
needs:

* ``settings.OFFSCREEN = True``, ``INTERACTIVE = False``; without a display,
  VTK's EGL window (as scenerender does);
* ``Scene(check_latest=False)`` so nothing waits on the network, with the
  atlas found through the BrainGlobe config that compare.py points
  ``BRAINGLOBE_CONFIG_DIR`` at;
* brainglobe-atlasapi 3.0.2 reads terminology parent ids as 16-bit integers
  and cannot open an Allen atlas at all (ids up to 614454277): the same narrow
  reader replacement scenerender uses (``scenerender/_bgcompat.py``, loaded
  by path; it needs only numpy and pandas) is installed before the Scene;
* ``settings.SHOW_AXES = False``: scenerender draws no axes, and the two
  images should show the same thing. Everything else (cartoon shading with
  silhouettes, 8x multi-sampling with depth peeling) is brainrender's default;
  with ``BENCH_BR_MSAA=0`` (``compare.py --brainrender-msaa off``) vedo's
  multi-sampling is turned off, because on Mesa multi-sampling with depth
  peeling drops translucent surfaces (brainrender's root disappears).

Phase times (seconds since process start) are printed on stderr as one line
``BENCH_PHASES {...}`` for compare.py's breakdown.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Phases, headless, install_terminology_reader  # noqa: E402


def build_scene(case: dict, out_dir: Path, phases: Phases):
    """The brainrender Scene of a case with its actors added (imports, atlas,
    window of the case's size); bench/runners/brainrender_video.py uses it too."""
    headless()
    install_terminology_reader(case["bgcompat"])

    import numpy as np
    from brainrender import Scene, settings
    from brainrender.actors import Neuron, Points

    phases.mark("imports")
    settings.OFFSCREEN = True
    settings.INTERACTIVE = False
    settings.SHOW_AXES = False
    if os.environ.get("BENCH_BR_MSAA") == "0":
        from vedo import settings as vsettings
        vsettings.multi_samples = 0
    settings.BACKGROUND_COLOR = case["background"]
    settings.DEFAULT_ATLAS = case["atlas_name"]
    root = next((a for a in case["actors"] if a["kind"] == "root"), None)
    if root is not None:
        settings.ROOT_COLOR = root["color"]
        settings.ROOT_ALPHA = root["alpha"]

    scene = Scene(atlas_name=case["atlas_name"], root=root is not None, inset=False,
                  check_latest=False, screenshots_folder=out_dir)
    width, height = case["size"]
    if tuple(scene.plotter.window.GetSize()) != (width, height):
        scene.plotter.window.SetSize(width, height)
    phases.mark("scene")

    for actor in case["actors"]:
        kind = actor["kind"]
        if kind == "region":
            scene.add_brain_region(*actor["regions"], alpha=actor["alpha"], color=actor.get("color"))
        elif kind == "points":
            scene.add(Points(np.load(actor["path"]), radius=actor["radius"], colors=actor["color"],
                             alpha=actor["alpha"], name="points"))
        elif kind == "neuron":
            # invert_dims (brainrender's default) swaps SWC x and z: MouseLight's
            # (left-right, dorsal-ventral, anterior-posterior), i.e. 'rsa', -> atlas asr.
            if actor["orientation"] not in ("rsa", "asr"):
                raise SystemExit(f"brainrender runner: SWC orientation {actor['orientation']!r} not supported")
            scene.add(Neuron(actor["path"], color=actor["color"], neurite_radius=actor["radius"],
                             soma_radius=actor["soma_radius"], invert_dims=actor["orientation"] == "rsa"))
        elif kind != "root":
            raise SystemExit(f"brainrender runner: unknown actor kind {kind!r}")
    phases.mark("actors")
    return scene


def main(case_path: str, out: str) -> int:
    phases = Phases(_T0)
    case = json.loads(Path(case_path).read_text())
    out_path = Path(out).resolve()
    scene = build_scene(case, out_path.parent, phases)
    import brainrender

    cam = case["camera"]
    scene.plotter.camera.SetViewAngle(cam["view_angle"])
    camera = {"pos": tuple(cam["position"]), "focal_point": tuple(cam["focal_point"]),
              "viewup": tuple(cam["view_up"]), "clipping_range": (1.0, 1e6)}  # vedo resets the range
    scene.render(interactive=False, camera=camera, zoom=1)
    phases.mark("render")
    scene.screenshot(name=out_path.name)
    phases.mark("png")
    phases.report(brainrender.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
