"""Invalid scenes: each mistake gives one located message and exit status 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from scenerender import validate_scene
from scenerender.cli import main

GOOD = """\
version: 1
actors:
  - kind: root
  - kind: region
    regions: [TH, CP]
camera:
  preset: sagittal
"""


def bad_scene__alpha_too_large():
    return GOOD.replace("    regions: [TH, CP]\n", "    regions: [TH, CP]\n    alpha: 1.5\n"), \
        "6:12: actors[1].alpha: 1.5 is greater than the maximum 1"


def bad_scene__unknown_actor_key():
    return GOOD.replace("    regions: [TH, CP]\n", "    regions: [TH, CP]\n    colour: red\n"), \
        "6:5: actors[1].colour: unknown key 'colour'; did you mean 'color'?"


def bad_scene__unknown_kind():
    return GOOD.replace("kind: root", "kind: roots"), \
        ("3:11: actors[0].kind: 'roots' is not one of 'root', 'region',", "; did you mean 'root'?")


def bad_scene__missing_version():
    return GOOD.replace("version: 1\n", "# no version\n"), \
        "2:1: missing required key 'version'; add 'version: 1' as the first line"


def bad_scene__wrong_version():
    return GOOD.replace("version: 1", "version: 2"), \
        "1:10: version: 2 is not allowed here; expected 1"


def bad_scene__misspelt_preset():
    return GOOD.replace("preset: sagittal", "preset: sagital"), \
        "7:11: camera.preset: 'sagital' is not one of"


def bad_scene__missing_regions():
    return GOOD.replace("    regions: [TH, CP]\n", "    alpha: 0.5\n"), \
        "4:5: actors[1]: missing required key 'regions'"


def bad_scene__bad_hemisphere():
    return GOOD.replace("    regions: [TH, CP]\n", "    regions: [TH, CP]\n    hemisphere: lefft\n"), \
        "6:17: actors[1].hemisphere: 'lefft' is not one of 'both', 'left', 'right'; did you mean 'left'?"


def bad_scene__size_one_number():
    return GOOD + "render:\n  size: [800]\n", \
        "9:9: render.size: expected a list of exactly 2 items, got 1"


def bad_scene__alpha_not_number():
    return GOOD.replace("  - kind: root\n", "  - kind: root\n    alpha: high\n"), \
        "4:12: actors[0].alpha: expected a number, got 'high'"


def bad_scene__preset_and_position():
    return GOOD.replace("  preset: sagittal\n", "  preset: sagittal\n  position: [1, 2, 3]\n"
                        "  focal_point: [0, 0, 0]\n  view_up: [0, -1, 0]\n"), \
        "7:3: camera.preset: give either 'preset' or 'position'/'focal_point'/'view_up', not both"


def bad_scene__position_alone():
    return GOOD.replace("  preset: sagittal\n", "  position: [1, 2, 3]\n"), \
        "7:3: camera.position: 'position' needs 'focal_point' and 'view_up' as well"


def bad_scene__unknown_top_level_key():
    return GOOD + "cameras: {}\n", "8:1: cameras: unknown key 'cameras'; did you mean 'camera'?"


def bad_scene__duplicate_key():
    return GOOD.replace("camera:\n  preset: sagittal\n", "camera:\n  preset: sagittal\n  preset: top\n"), \
        "8:3: camera.preset: duplicate key 'preset' (first given on line 7); keep one"


def bad_scene__yaml_syntax():
    return GOOD.replace("regions: [TH, CP]", "regions: [TH, CP"), "YAML syntax error"


def bad_scene__zero_zoom():
    return GOOD + "  zoom: 0\n", "8:9: camera.zoom: 0 must be greater than 0"


CASES = {name: fn for name, fn in globals().items() if name.startswith("bad_scene__")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_scene_message(case, tmp_path):
    text, expected = CASES[case]()
    path = tmp_path / "scene.yaml"
    path.write_text(text)
    problems = [str(p) for p in validate_scene(path)]
    assert problems, f"{case}: scene was accepted"
    expected = (expected,) if isinstance(expected, str) else expected
    assert any(all(e in p for e in expected) for p in problems), f"{case}: {problems}"
    assert all(p.startswith(str(path)) for p in problems)


def test_good_scene_is_valid():
    assert validate_scene(GOOD) == []


def test_cli_exit_status_and_single_line(tmp_path, capsys):
    path = tmp_path / "scene.yaml"
    path.write_text(bad_scene__alpha_too_large()[0])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{path}:6:12: actors[1].alpha: 1.5 is greater than the maximum 1"]


def test_cli_render_invalid_scene_no_traceback(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text(bad_scene__unknown_actor_key()[0])
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", str(path), "-o", str(tmp_path / "x.png")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "did you mean 'color'" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_several_problems_all_reported(tmp_path):
    text = textwrap.dedent("""\
        version: 1
        actors:
          - kind: root
            alpha: 2
          - kind: region
            regions: TH
            hemisphere: up
        """)
    problems = [str(p) for p in validate_scene(text)]
    assert len(problems) == 2
    assert problems[0].startswith("<string>:4:")
    assert problems[1].startswith("<string>:7:")


def test_missing_scene_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "scene file not found" in capsys.readouterr().err
