"""The same figure rendered again and again in one process: scenerender from a
path, from a compiled plan, and a plain pyvista script (the floor).

    .venv/bin/python bench/warm_loop.py                      # points_100k and root_10_regions, 10 renders each
    .venv/bin/python bench/warm_loop.py --renders 5 --cases points_100k
    .venv/bin/python bench/warm_loop.py --update-readme

One process. After one untimed render of each mode, ``--renders`` rounds;
in each round every mode draws the case once (the order rotating):

* ``render(path)``: ``scenerender.render("bench/.cache/cases/100um/CASE.yaml")``:
  read, validate, compile (atlas, meshes and brain mask from the process
  cache, :mod:`scenerender.cache`), draw;
* ``render(plan)``: ``scenerender.render(plan)`` of a plan compiled once;
* ``pyvista floor``: what bench/runners/floor_pyvista.py does per figure,
  with its atlas opened once (a script drawing ten figures opens it once):
  the points file loaded, a ``pv.Plotter``, the meshes added, ``screenshot``.

No PNG is written by any mode (image arrays only). Reported: seconds per
render (median, min, max), and paired ratios (the median over rounds of the
ratio within a round). JSON in bench/results/warm_loop.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "runners"))
import compare
from compare import CACHE, RESULTS, log

MODES = ("render(path)", "render(plan)", "pyvista floor")


def floor_renderer(case: dict):
    from _common import FLIP, install_terminology_reader

    install_terminology_reader(case["bgcompat"])
    import pyvista as pv
    from brainglobe_atlasapi import BrainGlobeAtlas

    atlas = BrainGlobeAtlas(case["atlas_name"], brainglobe_dir=case["brainglobe_dir"], check_latest=False)

    def surface(mesh):
        return pv.PolyData.from_regular_faces(np.asarray(mesh.points, dtype=float) * FLIP, mesh.cells_dict["triangle"])

    def render():
        width, height = case["size"]
        plotter = pv.Plotter(off_screen=True, window_size=(width, height))
        plotter.set_background(case["background"])
        for actor in case["actors"]:
            if actor["kind"] == "root":
                plotter.add_mesh(surface(atlas.mesh_from_structure("root")), color=actor["color"],
                                 opacity=actor["alpha"], smooth_shading=True)
            elif actor["kind"] == "region":
                for region in actor["regions"]:
                    color = actor.get("color") or [c / 255 for c in atlas.structures[region]["rgb_triplet"]]
                    plotter.add_mesh(surface(atlas.mesh_from_structure(region)), color=color,
                                     opacity=actor["alpha"], smooth_shading=True)
            elif actor["kind"] == "points":
                cloud = pv.PolyData(np.load(actor["path"]).astype(float) * FLIP)
                added = plotter.add_mesh(cloud, color=actor["color"], opacity=actor["alpha"], style="points_gaussian",
                                         render_points_as_spheres=True, emissive=False)
                added.mapper.SetScaleFactor(actor["radius"])
        cam = case["camera"]
        plotter.camera.position = cam["position"]
        plotter.camera.focal_point = cam["focal_point"]
        plotter.camera.up = cam["view_up"]
        plotter.camera.view_angle = cam["view_angle"]
        plotter.reset_camera_clipping_range()
        image = plotter.screenshot()
        plotter.close()
        return image

    return render


def measure(case: str, renders: int) -> dict:
    import scenerender

    bg_dir, _ = compare.prepare_brainglobe(100)
    scene, scene_file = compare.resolved_scene(case, 100, bg_dir)
    camera = compare.scenerender_camera(scene)
    spec = compare.case_spec(scene, 100, bg_dir, camera)
    plan = scenerender.compile_scene(str(scene_file))
    run = {"render(path)": lambda: scenerender.render(str(scene_file)),
           "render(plan)": lambda: scenerender.render(plan),
           "pyvista floor": floor_renderer(spec)}
    for mode in MODES:
        run[mode]()
    times: dict[str, list[float]] = {m: [] for m in MODES}
    cpu: dict[str, list[float]] = {m: [] for m in MODES}
    for r in range(renders):
        order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
        for mode in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            run[mode]()
            times[mode].append(time.perf_counter() - start)
            cpu[mode].append(time.process_time() - start_cpu)  # every thread of this process (Mesa's too)
        log(f"{case} round {r + 1}/{renders}: " + ", ".join(f"{m} {times[m][-1]:.2f}" for m in MODES))
    out = {"scene": f"bench/scenes/{case}.yaml", "renders": renders, "modes": {}}
    for mode in MODES:
        t = times[mode]
        out["modes"][mode] = {"median": statistics.median(t), "min": min(t), "max": max(t), "all": t}

    def paired(a, b):
        return statistics.median(x / y for x, y in zip(times[a], times[b]))

    out["path_over_plan"] = paired("render(path)", "render(plan)")
    out["cpu"] = {m: statistics.median(v) for m, v in cpu.items()}
    out["cpu_path_over_plan"] = statistics.median(a / b for a, b in zip(cpu["render(path)"], cpu["render(plan)"]))
    out["cpu_path_over_floor"] = statistics.median(a / b for a, b in zip(cpu["render(path)"], cpu["pyvista floor"]))
    out["path_over_floor"] = paired("render(path)", "pyvista floor")
    out["plan_over_floor"] = paired("render(plan)", "pyvista floor")
    return out


def table(report: dict) -> str:
    lines = ["| case | render(path) s | render(plan) s | pyvista floor s | path / plan | path / floor | plan / floor | "
             "CPU s per render: path, plan, floor | CPU path / plan | CPU path / floor |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for case, res in report["cases"].items():
        cells = [f"{m['median']:.2f} ({m['min']:.2f}-{m['max']:.2f})" for m in res["modes"].values()]
        lines.append(f"| `{case}` | {' | '.join(cells)} | {res['path_over_plan']:.2f}x | "
                     f"{res['path_over_floor']:.2f}x | {res['plan_over_floor']:.2f}x | "
                     + (", ".join(f"{v:.2f}" for v in res["cpu"].values()) + f" | {res['cpu_path_over_plan']:.2f}x | "
                        f"{res['cpu_path_over_floor']:.2f}x |" if "cpu" in res else " | | |"))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=["points_100k", "root_10_regions"])
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    compare.make_points(CACHE / "data" / "points_100k.npy")
    command = "python bench/warm_loop.py " + " ".join(a for a in (argv if argv is not None else sys.argv[1:]) if a != "--update-readme")
    report = {"command": command, "date": dt.datetime.now().isoformat(timespec="seconds"),
              "load_before": os.getloadavg()[0], "machine": compare.machine(), "versions": compare.versions(),
              "cases": {case: measure(case, args.renders) for case in args.cases}}
    report["load_after"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "warm_loop.json").write_text(json.dumps(report, indent=1))
    text = table(report)
    print(text)
    if args.update_readme:
        from points import update_readme_block

        header = (f"{report['machine'].get('cpus_usable')} cores, OpenGL {report['machine'].get('opengl')}; shared "
                  f"(1-minute load average {report['load_before']:.1f} before, {report['load_after']:.1f} after). "
                  f"scenerender at {report['versions'].get('scenerender_commit')}. Run {report['date']}. Seconds per "
                  f"render: median (min-max) of {args.renders}; ratios paired within rounds. CPU: process time of all "
                  f"threads (less sensitive to other users' load than wall time).")
        update_readme_block("warm_loop", command, f"{header}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
