"""Animations: right frame counts and sizes, keyframes hit exactly, no drift,
parallel equals serial."""

from __future__ import annotations

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import yaml

import scenerender
from scenerender.frames import render_animation

SIZE = [160, 120]


def scene(animation, actors=None, camera=None):
    return {"version": 1,
            "actors": actors or [{"kind": "root", "alpha": 0.3},
                                 {"kind": "region", "id": "th", "regions": "TH", "color": [255, 0, 0]}],
            "camera": camera or {"preset": "sagittal"},
            "animation": animation,
            "render": {"size": SIZE, "anti_aliasing": "none"}}


def frames_of(plan, tmp_path, name="frames", jobs=1):
    out = render_animation(plan, tmp_path / name, jobs=jobs, progress=False)
    return [iio.imread(p) for p in sorted(out.glob("frame_*.png"))]


def write_scene(tmp_path, spec) -> str:
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".gif", ""])
def test_frame_count_and_size(tmp_path, suffix):
    spec = scene({"fps": 5, "duration": 2, "orbit": {"degrees": 90}})
    path = write_scene(tmp_path, spec)
    out = tmp_path / f"video{suffix}"
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", path, "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = 5 * 2 + 1  # frames 0 .. fps * duration: first and last included
    if suffix in (".mp4", ".webm"):
        import imageio_ffmpeg

        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out))
        assert frames == expected
        first = next(iio.imiter(out, extension=suffix))
        assert first.shape[:2] == (SIZE[1], SIZE[0])
    elif suffix == ".gif":
        frames = iio.imread(out, index=None)
        assert frames.shape[0] == expected and frames.shape[1:3] == (SIZE[1], SIZE[0])
    else:
        files = sorted(out.glob("frame_*.png"))
        assert len(files) == expected
        assert iio.imread(files[-1]).shape[:2] == (SIZE[1], SIZE[0])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # nothing half-written


def test_odd_size_video_keeps_exact_size(tmp_path):
    spec = scene({"fps": 4, "frames": 3, "orbit": {"degrees": 20}})
    spec["render"]["size"] = [161, 121]
    plan = scenerender.compile_scene(spec)
    out = render_animation(plan, tmp_path / "odd.mp4", progress=False)
    first = next(iio.imiter(out, extension=".mp4"))
    assert first.shape[:2] == (121, 161)


def test_frame_at_keyframe_equals_still_with_that_camera(tmp_path):
    spec = scene({"fps": 4, "keyframes": [{"time": 0}, {"time": 1, "camera": {"preset": "top", "zoom": 1.5}},
                                          {"time": 2, "move": {"azimuth": 30}}]})
    frames = frames_of(scenerender.compile_scene(spec), tmp_path)
    assert len(frames) == 9
    static = {k: v for k, v in spec.items() if k != "animation"}
    still = scenerender.render(static | {"camera": {"preset": "top", "zoom": 1.5}})
    assert np.array_equal(frames[4], still)
    first = scenerender.render(static)
    assert np.array_equal(frames[0], first)
    assert not np.array_equal(frames[2], frames[0])  # it moved in between


def test_path_back_to_the_first_keyframe_ends_on_the_first_frame(tmp_path):
    spec = scene({"fps": 4, "keyframes": [
        {"time": 0},
        {"time": 1, "move": {"azimuth": 60, "elevation": 20, "zoom": 2.5}},
        {"time": 2, "move": {"zoom": 0.7, "azimuth": -15}},
        {"time": 3, "camera": {"preset": "sagittal"}, "easing": "ease_in_out"}]})
    frames = frames_of(scenerender.compile_scene(spec), tmp_path)
    assert np.array_equal(frames[-1], frames[0])


def test_relative_moves_that_cancel_do_not_drift(tmp_path):
    spec = scene({"fps": 4, "keyframes": [
        {"time": 0},
        {"time": 1, "move": {"azimuth": 50, "zoom": 2.0}},
        {"time": 2, "move": {"azimuth": -50, "zoom": 0.5}}]})
    frames = frames_of(scenerender.compile_scene(spec), tmp_path)
    assert (frames[-1] != frames[0]).any(axis=-1).mean() < 0.001


def test_parallel_render_equals_serial(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENERENDER_PARALLEL_FRAMES", "1")  # 11 frames: the automatic choice would draw serially
    spec = scene({"fps": 5, "duration": 2, "orbit": {"degrees": 120, "axis": "superior"}})
    plan = scenerender.compile_scene(spec)
    serial = frames_of(plan, tmp_path, "serial", jobs=1)
    parallel = frames_of(plan, tmp_path, "parallel", jobs=2)
    assert len(serial) == len(parallel) == 11
    assert all(np.array_equal(a, b) for a, b in zip(serial, parallel))


def test_actor_fades_in(tmp_path):
    actors = [{"kind": "region", "id": "th", "regions": "TH", "color": [255, 0, 0], "alpha": 0}]
    spec = scene({"fps": 2, "keyframes": [{"time": 0}, {"time": 2, "actors": {"th": {"alpha": 1}}}]}, actors=actors)
    frames = frames_of(scenerender.compile_scene(spec), tmp_path)

    def redness(img):
        img = img.astype(int)
        return int(((img[..., 0] - img[..., 1]) > 40).sum())
    values = [redness(f) for f in frames]
    assert values[0] == 0 and values[-1] > 300
    assert values == sorted(values)


def test_cli_single_frame_matches_video_frame(tmp_path):
    spec = scene({"fps": 5, "duration": 2, "orbit": {"degrees": 90}})
    path = write_scene(tmp_path, spec)
    frames = frames_of(scenerender.compile_scene(spec), tmp_path)
    out = tmp_path / "frame7.png"
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", path, "--frame", "7", "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(iio.imread(out), frames[7])


def test_unknown_actor_id_in_keyframe_is_located(tmp_path):
    spec = scene({"fps": 2, "keyframes": [{"time": 1, "actors": {"thalamus": {"alpha": 1}}}]})
    with pytest.raises(scenerender.SceneError, match=r"animation\.keyframes\[0\]\.actors\.thalamus: no actor with id 'thalamus'"):
        scenerender.compile_scene(write_scene(tmp_path, spec))


def test_orbit_needs_a_length(tmp_path):
    spec = scene({"orbit": {"degrees": 90}})
    with pytest.raises(scenerender.SceneError, match="an orbit needs 'duration'"):
        scenerender.compile_scene(spec)
