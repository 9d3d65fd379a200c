"""A floor: draw one benchmark case with a minimal pyvista script, to a PNG.

    .venv/bin/python bench/runners/floor_pyvista.py CASE.json OUT.png

No scene handling, no validation, no styling: open the atlas with
brainglobe-atlasapi, turn each mesh / point set / neuron into a pyvista
dataset in the render world, add it to an offscreen ``pyvista.Plotter`` of
the case's size, set the camera, ``plotter.screenshot``. This is what a
pyvista user would write by hand; scenerender is built on pyvista, so the
difference is scenerender's own overhead. Runs in scenerender's environment
but imports nothing from scenerender except the atlasapi 3.0.2 terminology
workaround (``scenerender/_bgcompat.py``, by path).

Drawing: meshes with ``smooth_shading=True`` (translucent ones with plain
alpha blending and pyvista's default anti-aliasing, no depth peeling);
points as sphere impostors (``points_gaussian``, radius in microns); a
neuron as ``vtkTubeFilter`` tubes (8 sides) around its parent-child
segments plus a sphere soma.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FLIP, Phases, headless, install_terminology_reader, swc_segments  # noqa: E402


def build_plotter(case: dict, phases: Phases):
    """The offscreen plotter with the case's actors (atlas opened, meshes and points added)."""
    install_terminology_reader(case["bgcompat"])

    import numpy as np
    import pyvista as pv
    from brainglobe_atlasapi import BrainGlobeAtlas

    phases.mark("imports")
    atlas = BrainGlobeAtlas(case["atlas_name"], brainglobe_dir=case["brainglobe_dir"], check_latest=False)
    width, height = case["size"]
    plotter = pv.Plotter(off_screen=True, window_size=(width, height))
    plotter.set_background(case["background"])
    phases.mark("scene")

    def surface(mesh):
        return pv.PolyData.from_regular_faces(np.asarray(mesh.points, dtype=float) * FLIP, mesh.cells_dict["triangle"])

    for actor in case["actors"]:
        kind = actor["kind"]
        if kind == "root":
            plotter.add_mesh(surface(atlas.mesh_from_structure("root")), color=actor["color"],
                             opacity=actor["alpha"], smooth_shading=True)
        elif kind == "region":
            for region in actor["regions"]:
                color = actor.get("color") or [c / 255 for c in atlas.structures[region]["rgb_triplet"]]
                plotter.add_mesh(surface(atlas.mesh_from_structure(region)), color=color,
                                 opacity=actor["alpha"], smooth_shading=True)
        elif kind == "points":
            cloud = pv.PolyData(np.load(actor["path"]).astype(float) * FLIP)
            added = plotter.add_mesh(cloud, color=actor["color"], opacity=actor["alpha"], style="points_gaussian",
                                     render_points_as_spheres=True, emissive=False)
            added.mapper.SetScaleFactor(actor["radius"])
        elif kind == "neuron":
            xyz, segments, soma = swc_segments(actor["path"], actor["orientation"])
            xyz = xyz * FLIP
            lines = np.column_stack([np.full(len(segments), 2), segments]).ravel()
            tubes = pv.PolyData(xyz, lines=lines).tube(radius=actor["radius"], n_sides=8, capping=False)
            plotter.add_mesh(tubes, color=actor["color"], smooth_shading=True)
            if soma is not None and actor["soma_radius"] > 0:
                plotter.add_mesh(pv.Sphere(radius=actor["soma_radius"], center=xyz[soma]), color=actor["color"],
                                 smooth_shading=True)
        else:
            raise SystemExit(f"pyvista floor: unknown actor kind {kind!r}")
    phases.mark("actors")
    return plotter


def set_camera(plotter, cam: dict) -> None:
    plotter.camera.position = cam["position"]
    plotter.camera.focal_point = cam["focal_point"]
    plotter.camera.up = cam["view_up"]
    plotter.camera.view_angle = cam["view_angle"]
    plotter.reset_camera_clipping_range()


def main(case_path: str, out: str) -> int:
    phases = Phases(_T0)
    headless()
    case = json.loads(Path(case_path).read_text())
    plotter = build_plotter(case, phases)

    import pyvista as pv

    set_camera(plotter, case["camera"])
    plotter.screenshot(out)
    phases.mark("png")
    phases.report(f"pyvista {pv.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
