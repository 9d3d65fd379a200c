"""The Python Scene object: YAML round trips, keyword methods from the schema, located keyword errors."""

from __future__ import annotations

import inspect
import json
import subprocess

import numpy as np
import pytest
import yaml

import scenerender
from conftest import REPO, SCENES
from scenerender.document import read_scene
from scenerender.sweep import expand_sweep, has_sweep

SCENE_FILES = sorted(SCENES.glob("*.yaml"))
SMALL = (160, 120)


from test_scenes import _missing_data, needs_scene_data  # noqa: E402


def _item(path):
    doc = read_scene(path)
    return expand_sweep(doc)[0].name if has_sweep(doc) else None


@pytest.mark.parametrize("path", SCENE_FILES, ids=[p.stem for p in SCENE_FILES])
def test_every_example_scene_round_trips_through_yaml_with_identical_pixels(path, request):
    needs_scene_data(path, request)
    scene = scenerender.Scene(path, item=_item(path))
    text = scene.to_yaml()
    again = scenerender.Scene.from_yaml(text, base_dir=path.parent)
    # the same scene: equal to what the YAML file itself says, defaults filled
    assert again.spec == scenerender.load_scene(path, item=_item(path)).spec
    assert yaml.safe_load(text) == scene.data
    first = scenerender.render(scenerender.load_scene(path, item=_item(path)), size=SMALL, scale=1)
    second = scenerender.render(again, size=SMALL, scale=1)
    assert first.shape[:2] == (SMALL[1], SMALL[0])
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))


def test_save_elsewhere_keeps_the_data_files_and_the_pixels(tmp_path):
    path = SCENES / "probes_and_injections.yaml"
    if _missing_data(path):
        pytest.skip("probes_and_injections.yaml's data is absent here (../shared/data)")
    scene = scenerender.Scene(path)
    saved = scene.save(tmp_path / "sub.yaml")
    written = yaml.safe_load(saved.read_text())
    for name, source in written["sources"].items():  # paths now relative to the new folder
        assert (tmp_path / source["path"]).resolve() == (SCENES / scene.data["sources"][name]["path"]).resolve()
    np.testing.assert_array_equal(np.asarray(scenerender.render(path, size=SMALL)),
                                  np.asarray(scenerender.render(saved, size=SMALL)))


def test_a_scene_built_from_nothing_saves_the_scene_file_the_cli_renders(tmp_path):
    scene = scenerender.Scene()
    scene.add_root(alpha=0.2)
    scene.add_region(regions=["TH", "CB"], id="parts")
    scene.update_actor("parts", color="#ff0000")
    scene.set_camera(preset="top")
    scene.set_render(size=list(SMALL), background="white")
    saved = scene.save(tmp_path / "built.yaml")
    assert yaml.safe_load(saved.read_text()) == {
        "version": 1,
        "actors": [{"kind": "root", "alpha": 0.2}, {"kind": "region", "regions": ["TH", "CB"], "id": "parts",
                                                    "color": "#ff0000"}],
        "camera": {"preset": "top"}, "render": {"size": [160, 120], "background": "white"}}
    image = np.asarray(scene.render())
    red = (image[..., 0] > 200) & (image[..., 1] < 80) & (image[..., 2] < 80)
    assert red.sum() > 100  # the red regions are drawn
    np.testing.assert_array_equal(image, np.asarray(scenerender.render(saved)))


def test_keyword_methods_are_the_schema_keys():
    schema = json.loads((REPO / "schemas" / "scene.schema.json").read_text())
    kinds = schema["$defs"]["actor"]["properties"]["kind"]["enum"]
    for kind in kinds:
        method = getattr(scenerender.Scene, f"add_{kind}")
        keys = [k for k in schema["$defs"][f"{kind}_actor"].get("properties", {}) if k != "kind"]
        assert list(inspect.signature(method).parameters)[1:] == keys, kind
    camera_keys = list(schema["$defs"]["camera"]["properties"])
    assert list(inspect.signature(scenerender.Scene.set_camera).parameters)[2:] == camera_keys


def test_an_explicit_camera_replaces_the_preset_and_a_camera_block_is_read():
    scene = scenerender.Scene(SCENES / "quickstart.yaml")
    scene.set_camera(position=[-20000, -5000, 15000], focal_point=[6600, 4000, 5700], view_up=[0, -1, 0])
    assert "preset" not in scene.data["camera"]
    scene.set_camera("camera:\n  preset: top\n  zoom: 2\n")
    assert scene.data["camera"] == {"preset": "top", "zoom": 2}


def _yaml_problem(text: str):
    with pytest.raises(scenerender.SceneError) as err:
        scenerender.load_scene(text)
    (problem,) = err.value.problems
    return problem


KEYWORD_CASES = {
    "alpha_too_big": ("actors:\n  - kind: region\n    regions: TH\n    alpha: 1.5\n",
                      lambda s: s.add_region(regions="TH", alpha=1.5),
                      "actors[0].alpha: 1.5 is greater than the maximum 1"),
    "misspelt_key": ("actors:\n  - kind: region\n    regions: TH\n    hemishpere: left\n",
                     lambda s: s.add_region(regions="TH", hemishpere="left"),
                     "actors[0].hemishpere: unknown key 'hemishpere'; did you mean 'hemisphere'?"),
    "preset_typo": ("camera:\n  preset: topp\n", lambda s: s.set_camera(preset="topp"),
                    "camera.preset: 'topp' is not one of 'sagittal', 'sagittal_right', 'frontal', 'posterior', "
                    "'horizontal', 'top', 'bottom', 'three_quarters'; did you mean 'top'?"),
    "size_wrong": ("render:\n  size: [100]\n", lambda s: s.set_render(size=[100]),
                   "render.size: expected a list of exactly 2 items, got 1"),
    "unknown_kind": ("actors:\n  - kind: regoin\n", lambda s: s.add("regoin"),
                     "actors[0].kind: 'regoin' is not one of"),
}


@pytest.mark.parametrize("case", KEYWORD_CASES, ids=list(KEYWORD_CASES))
def test_keyword_errors_give_the_yaml_message_located_at_the_call(case):
    text, call, expected = KEYWORD_CASES[case]
    from_yaml = _yaml_problem("version: 1\n" + text)
    scene = scenerender.Scene()
    before = scene.to_yaml()
    with pytest.raises(scenerender.SceneError) as err:
        call(scene)
    (problem,) = err.value.problems
    assert (problem.path, problem.message) == (from_yaml.path, from_yaml.message)
    assert f"{problem.path}: {problem.message}".startswith(expected)
    # located at the call that made the mistake: the lambda's line in KEYWORD_CASES above
    assert (problem.file, problem.line) == (__file__, call.__code__.co_firstlineno)
    assert str(problem).startswith(f"{__file__}:{problem.line}:")
    assert scene.to_yaml() == before  # a refused change leaves the scene as it was


def test_an_error_found_at_render_is_located_at_the_call_that_added_it():
    scene = scenerender.Scene()
    scene.set_render(size=list(SMALL))
    line = inspect.currentframe().f_lineno + 1
    scene.add_region(regions="Thal")
    with pytest.raises(scenerender.SceneError) as err:
        scene.render()
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.path) == (__file__, line, "actors[0].regions")
    assert "unknown region 'Thal'" in problem.message


def test_render_result_is_an_array_that_shows_as_a_png():
    import io

    from PIL import Image

    image = scenerender.render({"version": 1, "actors": [{"kind": "root"}]}, size=SMALL)
    assert isinstance(image, np.ndarray) and image.shape == (120, 160, 3)
    decoded = np.asarray(Image.open(io.BytesIO(image._repr_png_())))
    np.testing.assert_array_equal(decoded, image)
    assert image[0]._repr_png_() is None  # a row is not an image: shown as numbers


def test_an_animated_scene_shows_as_an_inline_video_of_all_its_frames(tmp_path):
    import base64
    import re

    scene = scenerender.Scene({"version": 1, "actors": [{"kind": "root"}, {"kind": "region", "regions": "TH"}],
                               "animation": {"fps": 5, "duration": 1, "orbit": {"degrees": 90}},
                               "render": {"size": [64, 48]}})
    bundle = scene._repr_mimebundle_()
    assert "image/png" not in bundle
    match = re.search(r'<video [^>]*>\s*<source type="video/mp4" src="data:video/mp4;base64,([A-Za-z0-9+/=]+)"',
                      bundle["text/html"])
    assert match
    video = tmp_path / "inline.mp4"
    video.write_bytes(base64.b64decode(match.group(1)))
    import imageio_ffmpeg

    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(video))
    assert frames == 1 * 5 + 1  # frames 0 .. round(duration * fps), both ends included
    first = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(video), "-frames:v", "1",
                            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    assert len(first) == 64 * 48 * 3  # one 64x48 RGB frame


def test_interactive_show_is_the_html_viewer_in_an_iframe_with_copy_camera(tmp_path):
    import html
    import re

    scene = scenerender.Scene({"version": 1, "actors": [{"kind": "region", "regions": "TH"}],
                               "render": {"size": [200, 150]}})
    shown = scene.show(interactive=True)  # outside IPython: returned, to display or inspect
    page = shown._repr_mimebundle_()["text/html"]
    match = re.fullmatch(r'<iframe srcdoc="([^"]*)" width="200" height="150" [^>]*></iframe>', page)
    assert match
    inner = html.unescape(match.group(1))
    assert "OfflineLocalView" in inner and "window.scenerenderCamera" in inner
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", inner, re.I)  # offline
    out = scene.render(tmp_path / "made.png")
    assert (tmp_path / "made.png").is_file() and out.shape == (150, 200, 3)
