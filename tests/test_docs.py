"""The documentation site: generated reference pages are fresh, the site builds with warnings as
errors, and its gallery shows the current renders of every scene in scenes/."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import REPO, SCENES

pytest.importorskip("mkdocs", reason="the docs extra (mkdocs, mkdocs-material) is not installed")


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_pages_are_fresh():
    """docs/reference/ is what tools/update_docs.py makes from the schema now."""
    assert _tool("update_docs").stale() == [], "run: python tools/update_docs.py"


def test_every_kind_has_a_reference_page():
    """Each actor and source kind named by the schema's enums has its own page (independent of the tool)."""
    schema = yaml.safe_load((REPO / "schemas" / "scene.schema.json").read_text())
    actors = schema["$defs"]["actor"]["properties"]["kind"]["enum"]
    sources = schema["$defs"]["source"]["properties"]["kind"]["enum"]
    for folder, kinds in (("actors", actors), ("sources", sources)):
        for kind in kinds:
            page = REPO / "docs" / "reference" / folder / f"{kind}.md"
            assert page.is_file(), f"no reference page for {folder[:-1]} kind {kind!r}"
            for key in schema["$defs"][f"{kind}_{folder[:-1]}"]["properties"]:
                if key != "kind":
                    assert f"`{key}`" in page.read_text(), f"{page.name} does not document {key!r}"


@pytest.mark.slow
def test_docs_site_builds_strict_with_current_gallery(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYVISTA_OFF_SCREEN": "true"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    gallery = _tool("mkdocs_gallery")
    page = (site / "gallery" / "index.html").read_text()
    scenes = sorted(SCENES.glob("*.yaml"))
    for path in scenes:
        assert f'id="{path.stem}"' in page, f"{path.name} is not in the gallery"
        if not gallery.missing_data(path):
            assert (site / "gallery" / f"{path.stem}.png").is_file(), f"{path.name} has no picture"
    # The picture is the current render: the site's image equals a fresh render of the scene.
    fresh = gallery.render_scene(SCENES / "quickstart.yaml")
    built = np.asarray(Image.open(site / "gallery" / "quickstart.png"))
    assert built.shape == (360, 480, fresh.shape[2])
    assert np.array_equal(built, fresh), "gallery picture differs from a fresh render of scenes/quickstart.yaml"
    for name in ("getting-started", "architecture", "reference/actors/region", "reference/sources/points"):
        assert (site / name / "index.html").is_file()
