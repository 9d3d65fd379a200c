"""The first hour of a new user: light commands, validate that finds what a render
would, suggestions for what people type, the documented examples, no hang, no surprise."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, SCENES

EMBEDDED_TERMINOLOGY = (REPO / "scenerender" / "embedded_atlas" / "brainglobe-atlasapi" / "terminologies"
                        / "allen_mouse_scenerender-terminology" / "3_0" / "terminology.csv")
HEAVY = ("vtk", "vtkmodules", "pyvista", "dask", "zarr", "brainglobe_atlasapi")


def cli(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scenerender", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def ontology() -> list[dict]:
    """The embedded atlas's ontology, read with the csv module (not through scenerender)."""
    with open(EMBEDDED_TERMINOLOGY, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def acronym_named(name: str) -> str:
    return next(row["abbreviation"] for row in ontology() if row["name"] == name)


# --- suggestions -------------------------------------------------------------------------------

#: What people type -> the full name of the region they mean (its acronym is looked up in the ontology).
TYPOS = [
    ("Thal", "Thalamus"),                       # a prefix of the name
    ("Hippocampus", "Hippocampal region"),      # the everyday word for HIP
    ("hipocampus", "Hippocampal region"),       # ... misspelt
    ("caudoputamen", "Caudoputamen"),           # the name, lower case
    ("motor cortex", "Somatomotor areas"),      # words of the name, 'cortex' for 'areas'
    ("visual cortex", "Visual areas"),
    ("th", "Thalamus"),                         # an acronym in the wrong case
    ("VISP", "Primary visual area"),
    ("CPu", "Caudoputamen"),                    # the rat atlas's acronym
    ("cerebelum", "Cerebellum"),
    ("somatosensory", "Somatosensory areas"),
    ("ammons horn", "Ammon's horn"),
]


@pytest.mark.parametrize(("typed", "meant"), TYPOS)
def test_suggestion_for_natural_typos(typed, meant):
    from scenerender.suggest import suggest_regions

    structures = [(r["abbreviation"], r["name"], r["root_identifier_path"].count(",") + 1) for r in ontology()]
    found = suggest_regions(typed, structures)
    assert 1 <= len(found) <= 3
    assert found[0].acronym == acronym_named(meant), [str(s) for s in found]


@pytest.mark.parametrize(("typed", "meant"), TYPOS[:4])
def test_unknown_region_message_names_the_region_first(typed, meant):
    from scenerender.atlas import AtlasRequest, RegionNotFound, SceneAtlas, open_bg_atlas

    atlas = SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))
    with pytest.raises(RegionNotFound) as err:
        atlas.structure(typed)
    quoted = [q for q in re.findall(r"'([^']+)'", str(err.value).split(";", 1)[1]) if q != typed]
    assert quoted[0] == acronym_named(meant), str(err.value)


def test_nothing_close_says_so():
    from scenerender.suggest import region_hint

    structures = [(r["abbreviation"], r["name"], 1) for r in ontology()]
    assert region_hint("zzzqx", structures) == "; no acronym or region name is close"


# --- validate resolves, every problem in one pass ----------------------------------------------

def test_validate_reports_every_problem_in_one_pass(tmp_path, shared_data):
    import numpy as np

    np.save(tmp_path / "cells.npy", np.array([[5000.0, 4000.0, 5000.0]] * 3))
    text = textwrap.dedent("""\
        version: 1
        sources:
          gone:
            kind: points
            path: no_such_cells.npy
            space: atlas
          twisted:
            kind: points
            path: cells.npy
            space: {orientation: aal}
        actors:
          - kind: region
            regions: Thal
          - kind: region
            regions: [TH, Hipocampus, CP, Striatum]
          - kind: points
            source: gone
        """)
    (tmp_path / "bad.yaml").write_text(text)
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\nactors:\n  - kind: region\n    regions: [TH, CP]\n")
    lines = text.splitlines()

    def at(line_no: int, token: str) -> str:  # file:line:col of a token, computed here from the text
        return f"{tmp_path / 'bad.yaml'}:{line_no}:{lines[line_no - 1].index(token) + 1}:"

    result = cli("validate", tmp_path / "bad.yaml", good)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    expected = [
        (at(5, "no_such_cells.npy"), "sources.gone.path:", "not found"),
        (at(10, "aal"), "sources.twisted.space.orientation:", "'aal' is not an orientation"),
        (at(13, "Thal"), "actors[0].regions:", "unknown region 'Thal'"),
        (at(15, "Hipocampus"), "actors[1].regions[1]:", "unknown region 'Hipocampus'"),
        (at(15, "Striatum"), "actors[1].regions[3]:", "unknown region 'Striatum'"),
    ]
    err_lines = result.stderr.strip().splitlines()
    assert len(err_lines) == len(expected), result.stderr
    for (where, path, what), line in zip(expected, err_lines):
        assert line.startswith(f"{where} {path}") and what in line, line
    assert f"{good}: ok" in result.stdout  # the other scene of the same command is still checked
    # The schema alone has nothing against it: that is what --schema-only checks.
    fast = cli("validate", "--schema-only", tmp_path / "bad.yaml")
    assert fast.returncode == 0 and "(schema only)" in fast.stdout


def test_every_example_scene_validates(shared_data):  # the examples read data from ../shared/data
    from test_scenes import _missing_data

    scenes = sorted(SCENES.glob("*.yaml"))
    # build/ is made by tools/brainreg_example.py. Public-data scenes are included: validate never
    # fetches (a source not in the cache is checked up to its query, with a note), so they pass offline.
    present = [p for p in scenes if not _missing_data(p)]
    result = cli("validate", *present, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(present)
    result = cli("validate", "--schema-only", *scenes)
    assert result.returncode == 0 and result.stdout.count(": ok") == len(scenes), result.stderr


# --- the documented error examples are what the program prints ---------------------------------

def docs_error_example() -> tuple[str, list[str], str]:
    """The quick start's example scene (docs/getting-started.md), the validate output shown for it,
    and the schema example line."""
    text = (REPO / "docs" / "getting-started.md").read_text(encoding="utf-8")
    section = text[text.index("Errors are one line per problem"):]
    scene = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    shown = re.findall(r"^    (scene\.yaml:\d+:\d+: .*)$", section[:section.index("Regions are looked up")], re.M)
    schema_line = re.search(r"`(scene\.yaml:7:\d+: [^`]*)`", section).group(1)
    return scene, shown, schema_line


def test_docs_error_examples_are_real_output(tmp_path):
    scene, shown, schema_line = docs_error_example()
    assert len(shown) == 3
    (tmp_path / "scene.yaml").write_text(scene)
    result = cli("validate", "scene.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == shown
    (tmp_path / "scene.yaml").write_text(scene + "    alpha: 1.5\n")  # "added as line 7"
    assert scene.count("\n") == 6
    result = cli("validate", "scene.yaml", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.splitlines() == [schema_line]


# --- commands that draw nothing start light ----------------------------------------------------

@pytest.fixture(scope="module")
def rendered_png(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prov") / "brain.png"
    result = cli("render", SCENES / "minimal.yaml", "-o", out, "--size", "48x32")
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("command", [
    ["--help"], ["schema"], ["schema", "--kind", "region"], ["provenance", "{png}"], ["provenance", "{png}", "--json"],
    ["validate", "--schema-only", str(SCENES / "quickstart.yaml")], ["atlas", "list"], ["atlas", "info", "embedded"],
    ["render", "--help"],
])
def test_light_commands_import_nothing_heavy(command, rendered_png):
    args = [a.replace("{png}", str(rendered_png)) for a in command]
    probe = textwrap.dedent(f"""\
        import json, sys
        from scenerender.cli import main
        try:
            status = main({args!r})
        except SystemExit as exit:
            status = exit.code
        print(json.dumps({{"status": status, "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
        """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == 0, result.stderr
    assert report["heavy"] == [], f"scenerender {' '.join(command)} imported {report['heavy']}"


def test_brainglobe_folder_is_read_as_brainglobe_reads_it(tmp_path):
    (tmp_path / "bg_config.conf").write_text(f"[default_dirs]\nbrainglobe_dir = {tmp_path / 'atlases'}\n"
                                             f"interm_download_dir = {tmp_path}\n")
    probe = ("from brainglobe_atlasapi.config import get_brainglobe_dir; from scenerender.atlas import "
             "_default_brainglobe_dir; print(get_brainglobe_dir()); print(_default_brainglobe_dir())")
    env = {**os.environ, "BRAINGLOBE_CONFIG_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    theirs, ours = result.stdout.split()
    assert theirs == ours == str(tmp_path / "atlases")


# --- no hang from the documented Python example -----------------------------------------------

ANIMATED = """\
version: 1
actors:
  - kind: region
    regions: TH
animation:
  fps: 4
  duration: 1
  orbit: {degrees: 90, axis: superior}
render:
  size: [32, 32]
"""


def test_render_video_jobs_in_a_script_without_main_guard_does_not_hang(tmp_path):
    (tmp_path / "orbit.yaml").write_text(ANIMATED)
    script = tmp_path / "make_video.py"
    script.write_text('import scenerender\n\nscenerender.render_video("orbit.yaml", "orbit.gif", jobs=2)\n'
                      'print("finished")\n')
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)  # a hang is forever; ~5 s on a quiet machine
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["finished"]  # the script ran once: no worker ran it again
    warning = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warning) == 1 and "rendering serially" in warning[0] and f"{script}:3" in warning[0]
    assert (tmp_path / "orbit.gif").read_bytes()[:6] == b"GIF89a"


@pytest.mark.slow
def test_render_video_jobs_under_main_guard_uses_workers(tmp_path):
    (tmp_path / "orbit.yaml").write_text(ANIMATED)
    script = tmp_path / "make_video.py"
    script.write_text('import scenerender\n\nif __name__ == "__main__":\n'
                      '    scenerender.render_video("orbit.yaml", "orbit.gif", jobs=2)\n    print("finished")\n')
    env = {**os.environ, "SCENERENDER_PARALLEL_FRAMES": "1"}  # workers even where they would not pay (2 cores)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "rendering serially" not in result.stderr and result.stdout.split() == ["finished"]
    assert (tmp_path / "orbit.gif").read_bytes()[:6] == b"GIF89a"


def test_main_guard_detection():
    from scenerender.spawn_safety import _guarded

    source = 'import x\nx.go()\nif __name__ == "__main__":\n    x.go()\nelse:\n    x.go()\n'
    assert [_guarded(source, line) for line in (2, 4, 6)] == [False, True, False]


# --- no surprises ----------------------------------------------------------------------------

def test_print_and_save_camera_without_output_write_no_image(tmp_path):
    shutil.copy(SCENES / "quickstart.yaml", tmp_path / "quickstart.yaml")  # it names render.output
    result = cli("render", "quickstart.yaml", "--print-camera", "--size", "64x48", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(yaml_camera(result.stdout)) >= {"position", "focal_point", "view_up"}
    result = cli("render", "quickstart.yaml", "--save-camera", "cam.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.yaml", "quickstart.yaml"]


def yaml_camera(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)["camera"]


def test_gitignore_covers_what_the_examples_write(tmp_path):
    written = ["scenes/quickstart.png", "scenes/quickstart.png.scenerender.json", "scenes/orbit.mp4",
               "scenes/orbit.mp4.scenerender.json", "scenes/region_sweep/TH.png", "quickstart.png",
               "quickstart.png.scenerender.json", "orbit.mp4", "orbit.mp4.scenerender.json"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *written], cwd=REPO, capture_output=True,
                            text=True)
    if result.returncode == 128:
        pytest.skip(f"not a git checkout: {result.stderr.strip()}")
    assert sorted(result.stdout.split()) == sorted(written)


def test_atlas_info_on_a_copy_says_where_it_is(tmp_path):
    from scenerender.atlas import EMBEDDED_DIR

    copy = tmp_path / "copy"
    shutil.copytree(EMBEDDED_DIR / "brainglobe-atlasapi", copy / "brainglobe-atlasapi")
    result = cli("atlas", "info", copy, "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["embedded"] is False
    assert Path(info["location"]).resolve().is_relative_to(copy.resolve())
    embedded = json.loads(cli("atlas", "info", "embedded", "--json").stdout)
    assert embedded["embedded"] is True
    assert Path(embedded["location"]).resolve().is_relative_to(EMBEDDED_DIR.resolve())


def test_cellfinder_xml_read_as_brainglobe_utils_reads_it(shared_data):
    from brainglobe_utils.IO.cells import get_cells

    from scenerender.sources._cellfinder_xml import read_cells

    path = shared_data / "cells" / "cellfinder_cells.xml"
    theirs = [(c.x, c.y, c.z, c.type) for c in get_cells(str(path), cells_only=False)]
    assert read_cells(path) == theirs and len(theirs) > 0


@pytest.mark.slow
def test_successful_atlas_build_prints_no_traceback_and_explains_failing_checks(tmp_path):
    from atlas_recipes import write_inputs, write_recipe

    write_inputs(tmp_path)
    recipe = write_recipe(tmp_path, meshes={"processes": 2})  # a pool: its workers are ended when done
    result = cli("atlas", "build", recipe, "-o", tmp_path / "out", timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Interrupted" not in result.stderr and "SIGTERM" not in result.stderr
    summary = result.stderr[result.stderr.index("BrainGlobe validation:"):].splitlines()
    failing = [line for line in summary[1:] if line.startswith("  ")]
    assert failing, result.stderr  # an atlas of one's own is never on BrainGlobe's list
    assert "fail as expected" in summary[0]
    assert all(": expected:" in line for line in failing), failing



def test_validate_scene_api_resolves_on_request():
    from scenerender import validate_scene

    text = "version: 1\nactors:\n  - kind: region\n    regions: [Thal, CP, Hippocampus]\n"
    assert validate_scene(text) == []  # the schema alone
    problems = validate_scene(text, resolve=True)
    assert [(p.path, p.line) for p in problems] == [("actors[0].regions[0]", 4), ("actors[0].regions[2]", 4)]


def test_atlas_info_from_files_equals_info_from_brainglobe(tmp_path):
    from scenerender.atlas import EMBEDDED_DIR
    from scenerender.atlas_catalog import atlas_info, manifest_for, manifest_info, open_atlas

    copy = tmp_path / "copy"
    shutil.copytree(EMBEDDED_DIR / "brainglobe-atlasapi", copy / "brainglobe-atlasapi")
    for name in ("embedded", str(copy)):
        light = manifest_info(manifest_for(name))
        assert light == atlas_info(open_atlas(name))  # brainglobe-atlasapi's own reading of the same atlas
    assert "brainglobe_atlasapi" not in cli_modules(["atlas", "info", "embedded"])


def cli_modules(args) -> list[str]:
    probe = (f"import sys; from scenerender.cli import main; main({args!r}); "
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    return json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"'))
