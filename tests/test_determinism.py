"""Determinism: every example scene rendered twice, from scratch each time
(read, compile, open the atlas, draw), gives the same pixels."""

from __future__ import annotations

import numpy as np
import pytest

import scenerender
from conftest import SCENES
from scenerender.document import read_scene
from scenerender.sweep import expand_sweep, has_sweep
from test_scenes import needs_scene_data

SCENE_FILES = sorted(SCENES.glob("*.yaml"))


def _render_once(path):
    doc = read_scene(path)
    item = expand_sweep(doc)[0].name if has_sweep(doc) else None
    scene = scenerender.load_scene(path, item=item)
    plan = scenerender.compile_scene(scene, size=(200, 150))
    # An animated scene is drawn half-way through, where keyframes are being interpolated.
    time = plan.timeline.duration / 2 if plan.timeline is not None else None
    return scenerender.render(plan, time=time)


@pytest.mark.parametrize("path", SCENE_FILES, ids=[p.stem for p in SCENE_FILES])
def test_scene_renders_the_same_pixels_twice(path, request):
    needs_scene_data(path, request)
    first, second = _render_once(path), _render_once(path)
    assert first.shape == second.shape
    differ = np.any(first != second, axis=-1)
    assert not differ.any(), f"{int(differ.sum())} of {differ.size} pixels differ between two renders"
    assert len(np.unique(first.reshape(-1, first.shape[-1]), axis=0)) > 5, "the render is blank: nothing was compared"
