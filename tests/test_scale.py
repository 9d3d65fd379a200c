"""Supersampled stills (render.scale): N x the pixels, the same figure."""

from __future__ import annotations

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import yaml

import scenerender

RED = [255, 0, 0]
BLUE = [0, 0, 255]


def scene(*actors, size=(200, 150), **render):
    return {"version": 1, "actors": list(actors), "camera": {"preset": "top", "projection": "orthographic"},
            "render": {"size": list(size), "anti_aliasing": "none", **render}}


def red_mask(image):
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return (r > 60) & (g < 0.35 * r) & (b < 0.35 * r)


def blue_mask(image):
    return (image[..., 2] > 150) & (image[..., 0] < 80) & (image[..., 1] < 80)


def downsample(image, n):
    h, w = image.shape[0] // n, image.shape[1] // n
    return image[:h * n, :w * n].reshape(h, n, w, n, -1).mean(axis=(1, 3))


def test_scale_2_has_twice_the_pixels_and_the_same_content():
    spec = scene({"kind": "region", "regions": ["TH", "CB"], "color": RED})
    one = scenerender.render(spec)
    two = scenerender.render(spec, scale=2)
    assert two.shape == (300, 400, 3) and one.shape == (150, 200, 3)
    small, big = red_mask(one), red_mask(downsample(two, 2))
    assert small.sum() > 500
    iou = (small & big).sum() / (small | big).sum()
    assert iou > 0.93, iou  # the same regions in the same place; only the edges differ


def test_scale_keeps_overlays_in_proportion():
    spec = scene({"kind": "region", "regions": "TH", "color": [200, 200, 200]},
                 {"kind": "scale_bar", "length": 2000, "text": " ", "color": BLUE, "size": 20})
    bars = []
    for scale in (1, 2):
        spec["render"]["scale"] = scale
        blue = blue_mask(scenerender.render(spec))
        cols, rows = np.nonzero(blue.any(axis=0))[0], np.nonzero(blue.any(axis=1))[0]
        bars.append((np.ptp(cols) + 1, np.ptp(rows) + 1, rows.mean()))
    (len1, thick1, row1), (len2, thick2, row2) = bars
    assert len2 == pytest.approx(2 * len1, rel=0.03)  # still true to length
    assert thick2 == pytest.approx(2 * thick1, abs=1)  # a thicker line, not a hairline
    assert row2 == pytest.approx(2 * row1, abs=3)  # at the same place in the figure


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cli_scale_writes_jpeg_and_tiff(tmp_path, suffix):
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump(scene({"kind": "region", "regions": "TH", "color": RED}, size=(120, 90))))
    out = tmp_path / f"print{suffix}"
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", str(path), "-o", str(out), "--scale", "3"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    image = iio.imread(out)
    assert image.shape[:2] == (270, 360)
    assert red_mask(image).sum() > 0.02 * image.shape[0] * image.shape[1]


def test_too_large_scale_is_located():
    text = "version: 1\nrender:\n  size: [9000, 100]\n  scale: 2\n"
    with pytest.raises(scenerender.SceneError, match=r"<string>:4:\d+: render.scale: .*18000x200 pixels"):
        scenerender.compile_scene(text)
