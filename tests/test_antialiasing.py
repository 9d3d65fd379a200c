"""Anti-aliasing chosen per content (render.anti_aliasing: auto): what it picks,
and that its pick smooths what multi-sampling leaves jagged (point impostors)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import scenerender
from scenerender.renderer import content_anti_aliasing, render_plan

SIZE = [240, 180]


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> str:
    """3,000 points at brain voxel centres of the embedded atlas (chosen from its annotation)."""
    from brainglobe_atlasapi import BrainGlobeAtlas

    from scenerender._bgcompat import (
        install_structure_tree_builder,
        install_terminology_reader,
    )
    from scenerender.atlas import EMBEDDED_DIR, EMBEDDED_NAME

    install_terminology_reader()
    install_structure_tree_builder()
    annotation = np.asarray(BrainGlobeAtlas(EMBEDDED_NAME, brainglobe_dir=EMBEDDED_DIR, check_latest=False).annotation)
    voxels = np.argwhere(annotation > 0)
    picked = voxels[np.random.default_rng(3).choice(len(voxels), 3000, replace=False)]
    path = tmp_path_factory.mktemp("aa") / "cells.npy"
    np.save(path, (picked + 0.5) * 100.0)
    return str(path)


def points_scene(cells: str, **render) -> dict:
    return {"version": 1, "sources": {"cells": {"kind": "points", "path": cells}},
            "actors": [{"kind": "points", "source": "cells", "radius": 60, "color": "black"}],
            "camera": {"preset": "top"}, "render": {"size": SIZE, "background": "white", **render}}


def test_auto_picks_fxaa_for_opaque_scenes_and_msaa_where_fxaa_would_be_wrong(cells):
    assert content_anti_aliasing(scenerender.compile_scene(points_scene(cells))) == "fxaa"
    transparent = scenerender.compile_scene(points_scene(cells, background="transparent"))
    assert content_anti_aliasing(transparent) == "msaa"
    with_line = points_scene(cells)
    with_line["actors"].append({"kind": "line", "points": [[5000, 3000, 3000], [9000, 3000, 8000]]})
    assert content_anti_aliasing(scenerender.compile_scene(with_line)) == "msaa"
    assert scenerender.compile_scene(points_scene(cells)).render.anti_aliasing == "auto", "auto is the default"


def test_auto_smooths_point_edges_that_msaa_leaves_jagged(cells):
    """Error against a 3x3-supersampled reference drawn without anti-aliasing."""
    plan = scenerender.compile_scene(points_scene(cells, anti_aliasing="none"))
    big = scenerender.compile_scene(points_scene(cells, anti_aliasing="none"), scale=3)
    reference = render_plan(big).astype(float).reshape(SIZE[1], 3, SIZE[0], 3, 3).mean(axis=(1, 3))

    def error(mode):
        image = render_plan(replace(plan, render=replace(plan.render, anti_aliasing=mode)))
        return np.abs(image.astype(float) - reference).mean(), image

    none, none_image = error("none")
    msaa, _ = error("msaa")
    _, auto_image = error("auto")
    fxaa, fxaa_image = error("fxaa")
    assert np.array_equal(auto_image, fxaa_image)
    assert not np.array_equal(fxaa_image, none_image), "FXAA must change the image (pyvista would swap in SSAA)"
    assert fxaa < 0.9 * none, (fxaa, none)
    assert fxaa < msaa, (fxaa, msaa)
