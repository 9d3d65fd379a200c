"""Windows and shaded atlas meshes kept between renders in one process draw
exactly what fresh ones draw (scenerender.renderer.WINDOWS and SHADED)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import scenerender
from scenerender import renderer
from scenerender.compile import compile_scene

SIZE = [240, 180]


def doc(actors, *, background="white", preset="three_quarters", **render):
    return {"version": 1, "actors": actors, "camera": {"preset": preset},
            "render": {"size": SIZE, "background": background, **render}}


# Same window settings (size, lights, passes: a translucent root makes both use OIT + FXAA),
# different actors, colours, background and camera: what a batch or a notebook draws in turn.
SCENE_A = doc([{"kind": "root", "alpha": 0.2}, {"kind": "region", "regions": ["TH", "CP"]}])
SCENE_B = doc([{"kind": "root", "alpha": 0.5, "color": "steelblue"}, {"kind": "region", "regions": ["CB"]}],
              background="ivory", preset="top")
SCENE_C = doc([{"kind": "region", "regions": ["HIP"], "alpha": 0.6}], background=[30, 30, 40], preset="frontal")


def fresh(plan) -> np.ndarray:
    """The image of a window made for this plan alone, as if nothing had been drawn before."""
    os.environ["SCENERENDER_REUSE_WINDOWS"] = "0"
    try:
        return renderer.render_plan(plan)
    finally:
        del os.environ["SCENERENDER_REUSE_WINDOWS"]


@pytest.fixture
def plans(tmp_path):
    renderer.WINDOWS.clear()
    yield [compile_scene(scenerender.load_scene(d)) for d in (SCENE_A, SCENE_B, SCENE_C)]
    renderer.WINDOWS.clear()


def test_a_kept_window_is_reused_and_draws_what_a_fresh_one_draws(plans):
    a, b, c = plans
    expected = [fresh(p) for p in (a, b, c)]
    assert not renderer.WINDOWS._idle
    with renderer.FrameRenderer(a) as first:
        window = first.plotter
        image_a = first.draw()
    with renderer.FrameRenderer(b) as second:
        assert second.plotter is window, "a window with the same settings was not reused"
        image_b = second.draw()
    with renderer.FrameRenderer(a) as third:
        assert third.plotter is window
        image_a2 = third.draw()
    image_c = renderer.render_plan(c)
    for got, want, name in ((image_a, expected[0], "A"), (image_b, expected[1], "B"),
                            (image_a2, expected[0], "A again"), (image_c, expected[2], "C")):
        assert got.shape == want.shape
        assert np.array_equal(got, want), f"{name}: {(got != want).any(axis=-1).sum()} pixels differ"
    # The scenes differ from one another, so an image left over from the last one would show.
    assert not np.array_equal(expected[0], expected[1])


def test_windows_with_other_settings_are_not_shared(plans):
    a, _, _ = plans
    transparent = compile_scene(scenerender.load_scene(dict(SCENE_A, render={"size": SIZE, "background": "transparent"})))
    with renderer.FrameRenderer(a) as first:
        window = first.plotter
    with renderer.FrameRenderer(transparent) as other:
        assert other.plotter is not window  # alpha planes are fixed when a window is made
        image = other.draw()
    assert image.shape[-1] == 4 and np.array_equal(image, fresh(transparent))


def test_exports_and_switched_off_reuse_close_their_windows(plans):
    a, _, _ = plans
    with renderer.FrameRenderer(a, keep_window=False):
        pass
    assert not renderer.WINDOWS._idle
    os.environ["SCENERENDER_REUSE_WINDOWS"] = "0"
    try:
        renderer.render_plan(a)
    finally:
        del os.environ["SCENERENDER_REUSE_WINDOWS"]
    assert not renderer.WINDOWS._idle


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_never_uses_its_parents_windows(plans):
    a, _, _ = plans
    renderer.render_plan(a)
    kept = renderer.WINDOWS._idle[0][1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: take() must make its own window, never the parent's
        try:
            with renderer.FrameRenderer(a) as child:
                ok = child.plotter is not kept
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"


def test_shaded_atlas_meshes_are_kept_only_for_read_only_arrays(plans):
    a, _, _ = plans
    surface = next(actor for actor in a.actors if actor.name.startswith("region"))
    assert not surface.points.flags.writeable  # the atlas keeps them read-only
    first = renderer.SHADED.get(surface.points, surface.faces)
    second = renderer.SHADED.get(surface.points, surface.faces)
    assert np.array_equal(first.point_normals, second.point_normals)
    key = (id(surface.points), id(surface.faces))
    assert key in renderer.SHADED._kept
    # The normals are VTK's, as pyvista finds them for smooth shading (computed here independently).
    import pyvista as pv

    own = pv.PolyData.from_regular_faces(np.array(surface.points), np.array(surface.faces)).compute_normals(
        cell_normals=False)
    assert np.array_equal(first.point_normals, own.point_normals)
    writable_points = np.array(surface.points)
    renderer.SHADED.get(writable_points, surface.faces)
    assert (id(writable_points), id(surface.faces)) not in renderer.SHADED._kept
