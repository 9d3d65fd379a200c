"""Every example scene validates, compiles and renders (testing profile)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import scenerender
from conftest import SCENES
from scenerender.document import read_scene
from scenerender.sweep import expand_sweep, has_sweep

SCENE_FILES = sorted(SCENES.glob("*.yaml"))


def _missing_data(path) -> list[str]:
    scene = yaml.safe_load(path.read_text())
    sources = scene.get("sources") or {}
    needed = [s["path"] for s in sources.values() if "path" in s]  # fetched public data have none
    needed += [s["space"]["registration"] for s in sources.values()
               if isinstance(s.get("space"), dict) and "registration" in s["space"]]
    if isinstance(scene.get("atlas"), dict) and "brainglobe_dir" in scene["atlas"]:
        needed.append(scene["atlas"]["brainglobe_dir"])
    return [p for p in needed if not (path.parent / p).exists()]


def _fetches(path) -> bool:
    from scenerender.fetch import fetched_sources

    return bool(fetched_sources(yaml.safe_load(path.read_text())))


def needs_scene_data(path, request) -> None:
    """Skip (with the reason) a scene whose data files are absent; serve a public-data scene's
    data from fixtures by the loopback services."""
    missing = _missing_data(path)
    if missing:
        pytest.skip(f"{path.name} draws data that is absent here: {', '.join(missing)} "
                    "(../shared/data; build/ is made by tools/brainreg_example.py)")
    if _fetches(path):
        request.getfixturevalue("public_services")


@pytest.mark.parametrize("path", SCENE_FILES, ids=[p.stem for p in SCENE_FILES])
def test_example_scene_renders(path, request):
    needs_scene_data(path, request)
    assert scenerender.validate_scene(path) == []
    first = path.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/scene.schema.json"
    doc = read_scene(path)
    scene = scenerender.load_scene(doc, item=expand_sweep(doc)[0].name if has_sweep(doc) else None)
    image = scenerender.render(scene, size=(400, 300), scale=1)  # testing profile: small, no supersampling
    assert image.shape[:2] == (300, 400)
    rgb = image[..., :3].reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) > 20, "image is blank"
