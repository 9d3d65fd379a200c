"""Limits and the sandbox from Python and the command line (the corpus
tests/test_corpus.py runs the hostile files; this checks the knobs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import scenerender
from scenerender import limits
from scenerender.cli import main
from scenerender.errors import LimitError, SceneError


def test_defaults_are_overridden_by_the_environment_and_restored(monkeypatch):
    monkeypatch.delenv("SCENERENDER_MAX_FRAMES", raising=False)
    monkeypatch.delenv(limits.SANDBOX_ENV, raising=False)
    assert limits.current_limits().frames == limits.Limits().frames
    with limits.override(frames=12, sandbox="."):
        assert limits.current_limits().frames == 12
        assert os.environ["SCENERENDER_MAX_FRAMES"] == "12"
        assert limits.sandbox_root() == Path(".").resolve()
    assert "SCENERENDER_MAX_FRAMES" not in os.environ
    assert limits.sandbox_root() is None


@pytest.mark.parametrize("text", ["0", "-3", "many", "nan", "inf"])
def test_a_limit_must_be_a_positive_number(text):
    with pytest.raises(limits.LimitSyntaxError):
        limits.parse_limit("frames", text)


def test_limit_values_read_as_people_write_them():
    assert limits.parse_limit("points", "1_000_000") == 1_000_000
    assert limits.parse_limit("points", "2e6") == 2_000_000


def test_window_limit_from_python_is_located_and_says_how_to_raise_it():
    scene = "version: 1\nactors: [{kind: root}]\nrender:\n  size: [400, 300]\n"
    with limits.override(window_pixels=100_000), pytest.raises(LimitError) as err:
        scenerender.render(scene)
    message = str(err.value)
    assert message.startswith("<string>:4:9: render.size:")
    assert "120,000 is over the limit of 100,000 (window_pixels)" in message
    assert "--limit window_pixels=N or SCENERENDER_MAX_WINDOW_PIXELS=N" in message


def test_sandbox_refuses_a_source_outside_it(tmp_path):
    inside = tmp_path / "lab"
    inside.mkdir()
    (tmp_path / "secret.csv").write_text("a,s,r\n6600,4000,5700\n")
    scene = inside / "scene.yaml"
    scene.write_text("version: 1\nsources:\n  c: {kind: points, path: ../secret.csv}\n"
                     "actors: [{kind: points, source: c}]\n")
    with limits.override(sandbox=inside), pytest.raises(SceneError) as err:
        scenerender.compile_scene(scene)
    assert f"scene.yaml:3:27: sources.c.path: source 'c': data file '../secret.csv' resolves to " in str(err.value)
    assert f"outside the sandbox {inside}" in str(err.value)
    # Without the sandbox the same scene reads the file (here: and draws it).
    plan = scenerender.compile_scene(scene, size=(64, 48))
    assert len(plan.actors) == 1


def test_cli_refuses_a_bad_limit_and_a_missing_sandbox(tmp_path, capsys):
    scene = tmp_path / "s.yaml"
    scene.write_text("version: 1\n")
    assert main(["validate", str(scene), "--limit", "frams=10"]) == 2
    assert "unknown limit 'frams'" in capsys.readouterr().err
    assert main(["validate", str(scene), "--sandbox", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["validate", str(scene), "--limit", "scene_bytes=5"]) == 2
    assert "(scene_bytes)" in capsys.readouterr().err
    assert "SCENERENDER_MAX_SCENE_BYTES" not in os.environ  # the command left the environment as it was
