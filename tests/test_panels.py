"""Multi-panel figures: each panel's content in its cell, letters, located layout errors."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import scenerender

RED, BLUE = [255, 0, 0], [0, 0, 255]
SIZE, GAP = (360, 120), 12
CELL_W = (SIZE[0] - 2 * GAP) // 3  # 112: three cells and two gaps fill the width


def figure(items, actors=None, **layout):
    return {"version": 1,
            "actors": actors or [{"kind": "region", "id": "th", "regions": "TH", "color": RED},
                                 {"kind": "region", "id": "cb", "regions": "CB", "color": BLUE}],
            "camera": {"preset": "top", "projection": "orthographic"},
            "panels": {"columns": 3, "gap": GAP, "letter_size": 20, "items": items, **layout},
            "render": {"size": list(SIZE), "anti_aliasing": "none"}}


def red(image):
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return (r > 60) & (g < 0.35 * r) & (b < 0.35 * r)


def blue(image):
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return (b > 60) & (r < 0.35 * b) & (g < 0.35 * b)


def black(image):
    """Dark grey to black (letters); shaded region edges are dark but coloured."""
    rgb = image[..., :3].astype(int)
    return (rgb.max(axis=-1) < 70) & (np.ptp(rgb, axis=-1) < 12)


def cells(image):
    """The three cells' images and the two gaps' images, by the layout's arithmetic."""
    starts = [i * (CELL_W + GAP) for i in range(3)]
    return [image[:, x:x + CELL_W] for x in starts], [image[:, x + CELL_W:x + CELL_W + GAP] for x in starts[:2]]


def test_each_panel_draws_inside_its_cell_with_its_letter():
    image = scenerender.render(figure([{}, {"camera": {"preset": "sagittal"}}, {"actors": ["cb"]}]))
    assert image.shape == (SIZE[1], SIZE[0], 3)
    panels, gaps = cells(image)
    for gap in gaps:
        assert (gap == 255).all()  # the shared white background, nothing spills over
    for panel in panels:
        assert (panel[-3:] == 255).all()  # the panels' own background is the same white: no seams
    for panel in panels[:2]:
        assert red(panel).sum() > 100 and blue(panel).sum() > 100
    assert red(panels[2]).sum() == 0 and blue(panels[2]).sum() > 100  # actors: [cb] only
    for panel in panels:
        letter = black(panel)
        assert letter[:30, :30].sum() > 15  # A, B, C in the top-left corner
        assert letter[30:].sum() == 0 and letter[:, 30:].sum() == 0
    a, b = (black(p)[:30, :30] for p in panels[:2])
    assert (a != b).sum() > 10  # different letters


def test_letters_can_be_turned_off_and_renamed():
    image = scenerender.render(figure([{}, {"letter": ""}, {}], letters=False))
    assert not black(image).any()
    image = scenerender.render(figure([{"letter": "i"}, {"letter": ""}, {}]))
    panels, _ = cells(image)
    assert black(panels[0]).any() and not black(panels[1]).any() and black(panels[2]).any()


def test_a_panel_draws_another_scene_file(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"version": 1, "actors": [{"kind": "region", "regions": "HIP",
                                                                  "color": [0, 200, 0]}],
                                     "render": {"background": "black"}}))
    spec = figure([{}, {"scene": str(other), "camera": {"preset": "top"}}, {}])
    image = scenerender.render(spec)
    panels, _ = cells(image)
    green = (panels[1][..., 1] > 80) & (panels[1][..., 0] < 60) & (panels[1][..., 2] < 60)
    assert green.sum() > 100 and red(panels[1]).sum() == 0
    assert (panels[1][-5:] == 255).all()  # the figure's background, not the other scene's
    from scenerender.fingerprint import scene_fingerprint

    assert str(other) in scene_fingerprint(scenerender.load_scene(spec)).files  # a change to it is a new figure


def test_scale_multiplies_the_whole_layout():
    spec = figure([{}, {}, {}])
    spec["render"]["scale"] = 2
    image = scenerender.render(spec)
    assert image.shape == (2 * SIZE[1], 2 * SIZE[0], 3)
    gap = image[:, 2 * CELL_W:2 * (CELL_W + GAP)]
    assert (gap == 255).all() and red(image[:, :2 * CELL_W]).sum() > 400


BAD_LAYOUTS = [
    (figure([{}, {}, {}], columns=1, rows=2), r"<dict>: panels.rows: 2 rows x 1 columns hold 2 panels, not the 3"),
    (figure([{}, {"actors": ["th", "ctx"]}]), r"panels.items\[1\].actors\[1\]: no actor with id 'ctx'; actor ids are th, cb"),
    (figure([{"actors": [5]}]), r"panels.items\[0\].actors\[0\]: there is no actors\[5\]"),
    (figure([{}] * 3, gap=170), r"panels: render.size 360x120 split into 1 x 3 panels with gap 170 leaves 6x120"),
    (figure([{"scene": "nowhere.yaml"}]), r"panels.items\[0\].scene: scene file .*nowhere.yaml not found"),
    ({**figure([{}]), "animation": {"fps": 2, "frames": 2, "orbit": {"degrees": 10}}},
     r"panels: a figure with panels cannot also be animated"),
]


@pytest.mark.parametrize("spec, message", BAD_LAYOUTS, ids=["too_few_cells", "unknown_id", "bad_index", "gap_too_wide",
                                                            "missing_scene", "animated"])
def test_bad_layouts_are_located(spec, message):
    with pytest.raises(scenerender.SceneError, match=message):
        scenerender.compile_scene(spec)


def test_layout_error_names_the_line(tmp_path):
    path = tmp_path / "fig.yaml"
    path.write_text("version: 1\nactors:\n  - {kind: region, id: th, regions: TH}\npanels:\n  items:\n"
                    "    - actors: [th]\n    - actors: [thalamus]\n")
    with pytest.raises(scenerender.SceneError) as err:
        scenerender.compile_scene(str(path))
    assert str(err.value).startswith(f"{path}:7:16: panels.items[1].actors[0]: no actor with id 'thalamus'")
