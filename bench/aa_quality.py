"""Anti-aliasing: drawing time and image quality of each mode, in one run.

    .venv/bin/python bench/aa_quality.py                          # root_10_regions, points_100k, points_1m
    .venv/bin/python bench/aa_quality.py --cases points_100k --runs 3
    .venv/bin/python bench/aa_quality.py --update-readme          # also publish the table in bench/README.md

For each case (the bench scenes in bench/scenes/, 1600x1200) and each
``render.anti_aliasing`` (none, fxaa, msaa, ssaa, and auto, which picks one of
them from the content), in one process: the scene is compiled once, then each
mode builds its window and actors and draws one frame (scenerender's
``FrameRenderer``), timed; rounds are interleaved (every mode once per round,
the order rotating) after one untimed warm-up of each, and the median, min
and max are reported.

Quality: each image is compared with a reference drawn at 3x the size
without anti-aliasing and averaged down 3x3 (9 samples per pixel, i.e.
supersampling at least as fine as 8x SSAA), by SSIM (Wang et al. 2004:
Gaussian window sigma 1.5, K1 0.01, K2 0.03, on luma; 1.0 = identical) and by
the mean absolute difference in 0-255 levels. SSIM is computed here in numpy
and scipy (no extra dependency). JSON in bench/results/aa_quality.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare
from compare import CACHE, RESULTS, log

MODES = ("none", "fxaa", "msaa", "ssaa", "auto")
REFERENCE_SCALE = 3


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two RGB uint8 images, on luma (Rec. 601)."""
    from scipy.ndimage import gaussian_filter

    weights = np.array([0.299, 0.587, 0.114])
    x = a[..., :3].astype(np.float64) @ weights
    y = b[..., :3].astype(np.float64) @ weights
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(v):
        return gaussian_filter(v, 1.5, truncate=3.5)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def downsample(image: np.ndarray, k: int) -> np.ndarray:
    h, w = image.shape[0] // k, image.shape[1] // k
    blocks = image[:h * k, :w * k].astype(np.float64).reshape(h, k, w, k, -1)
    return np.clip(np.rint(blocks.mean(axis=(1, 3))), 0, 255).astype(np.uint8)


def draw(plan, mode: str) -> tuple[np.ndarray, float]:
    from scenerender.renderer import FrameRenderer

    plan = dataclasses.replace(plan, render=dataclasses.replace(plan.render, anti_aliasing=mode))
    start = time.perf_counter()
    with FrameRenderer(plan) as renderer:
        image = renderer.draw()
    return image, time.perf_counter() - start


def measure(case: str, runs: int) -> dict:
    import scenerender
    from scenerender.renderer import content_anti_aliasing

    _, scene_file = compare.resolved_scene(case, 100, CACHE)
    plan = scenerender.compile_scene(str(scene_file))
    log(f"{case}: reference at {REFERENCE_SCALE}x")
    big = scenerender.compile_scene(str(scene_file), scale=REFERENCE_SCALE)
    reference, ref_seconds = draw(big, "none")
    reference = downsample(reference, REFERENCE_SCALE)
    del big
    times: dict[str, list[float]] = {m: [] for m in MODES}
    images = {}
    for mode in MODES:  # warm-up, and the image compared
        images[mode], _ = draw(plan, mode)
    for r in range(runs):
        order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
        for mode in order:
            times[mode].append(draw(plan, mode)[1])
        log(f"{case}: round {r + 1}/{runs}: " + ", ".join(f"{m} {times[m][-1]:.2f}" for m in MODES))
    out = {"scene": f"bench/scenes/{case}.yaml", "size": list(plan.render.size), "auto_is": content_anti_aliasing(plan),
           "reference_seconds": ref_seconds, "modes": {}}
    msaa = statistics.median(times["msaa"])
    for mode in MODES:
        t = times[mode]
        diff = np.abs(images[mode][..., :3].astype(np.int16) - reference[..., :3].astype(np.int16))
        out["modes"][mode] = {"median": statistics.median(t), "min": min(t), "max": max(t),
                              "vs_msaa": statistics.median(t) / msaa, "ssim": ssim(images[mode], reference),
                              "mean_abs_diff": float(diff.mean())}
    folder = RESULTS / "images_aa"
    folder.mkdir(parents=True, exist_ok=True)
    import imageio.v3 as iio

    iio.imwrite(folder / f"{case}_reference.png", reference)
    for mode, image in images.items():
        iio.imwrite(folder / f"{case}_{mode}.png", image)
    return out


def table(report: dict) -> str:
    lines = ["| case | anti-aliasing | window + actors + one draw, s: median (min-max) | time / msaa | "
             "SSIM vs 9-sample reference | mean abs. difference (0-255) |", "|---|---|---|---|---|---|"]
    for case, res in report["cases"].items():
        for mode, m in res["modes"].items():
            name = f"auto (= {res['auto_is']})" if mode == "auto" else mode
            lines.append(f"| `{case}` | {name} | {m['median']:.2f} ({m['min']:.2f}-{m['max']:.2f}) | "
                         f"{m['vs_msaa']:.2f} | {m['ssim']:.4f} | {m['mean_abs_diff']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=["root_10_regions", "points_100k", "points_1m"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    compare.make_points(CACHE / "data" / "points_100k.npy")
    if "points_1m" in args.cases:
        compare.make_points(CACHE / "data" / "points_1m.npy", 1_000_000)
    load_before = os.getloadavg()[0]
    report = {"command": "python bench/aa_quality.py " + " ".join(a for a in (argv if argv is not None else sys.argv[1:]) if a != "--update-readme"),
              "machine": compare.machine(), "versions": compare.versions(), "runs": args.runs,
              "date": dt.datetime.now().isoformat(timespec="seconds"), "load_before": load_before,
              "cases": {case: measure(case, args.runs) for case in args.cases}}
    report["load_after"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "aa_quality.json").write_text(json.dumps(report, indent=1))
    text = table(report)
    print(text)
    if args.update_readme:
        from points import update_readme_block

        m = report["machine"]
        header = (f"Machine: {m.get('model_name')}, {m.get('cpus_usable')} cores usable, OpenGL: {m.get('opengl')}; "
                  f"shared with other users (1-minute load average {report['load_before']:.1f} before, "
                  f"{report['load_after']:.1f} after). scenerender at {report['versions'].get('scenerender_commit')}. "
                  f"Run {report['date']}, {args.runs} timed rounds.")
        update_readme_block("aa", report["command"], f"{header}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
