"""Provenance: every output says how it was made, inside PNG/TIFF and in a sidecar."""

from __future__ import annotations

import json
import subprocess
import sys

import imageio.v3 as iio
import yaml
from PIL import Image

import scenerender
from scenerender.atlas import EMBEDDED_NAME
from scenerender.provenance import is_up_to_date, read_sidecar, sidecar_path

SIZE = [160, 120]


def write_scene(tmp_path, regions="TH", name="scene.yaml", **extra):
    spec = {"version": 1, "actors": [{"kind": "region", "regions": regions}],
            "camera": {"preset": "top"}, "render": {"size": SIZE, "anti_aliasing": "none"}, **extra}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return path


def cli(*args):
    return subprocess.run([sys.executable, "-m", "scenerender", *map(str, args)], capture_output=True, text=True)


def test_png_carries_its_record_in_a_text_chunk_and_a_sidecar(tmp_path):
    scene = write_scene(tmp_path)
    out = tmp_path / "fig.png"
    result = cli("render", scene, "-o", out)
    assert result.returncode == 0, result.stderr
    with Image.open(out) as png:
        embedded = json.loads(png.text["scenerender"])
    sidecar = json.loads(sidecar_path(out).read_text())
    assert embedded["fingerprint"]["digest"] == sidecar["fingerprint"]["digest"]
    assert embedded["scenerender_version"] == scenerender.__version__
    assert embedded["atlas_name"] == EMBEDDED_NAME and embedded["atlas_version"]
    assert embedded["command"][:3] == ["scenerender", "render", str(scene)]
    assert embedded["scene_file"] == str(scene.resolve())
    assert iio.imread(out).shape == (SIZE[1], SIZE[0], 3)  # still an ordinary PNG


def test_record_changes_with_the_scene_and_never_goes_stale(tmp_path):
    out = tmp_path / "fig.png"
    assert cli("render", write_scene(tmp_path, "TH"), "-o", out).returncode == 0
    first = read_sidecar(out)
    assert cli("render", write_scene(tmp_path, "CB"), "-o", out).returncode == 0
    second = read_sidecar(out)
    assert first["scene_hash"] != second["scene_hash"]
    with Image.open(out) as png:
        assert json.loads(png.text["scenerender"])["scene_hash"] == second["scene_hash"]


def test_provenance_command_prints_the_record(tmp_path):
    scene = write_scene(tmp_path)
    out = tmp_path / "fig.png"
    assert cli("render", scene, "-o", out).returncode == 0
    sidecar_path(out).unlink()  # the PNG alone is enough
    result = cli("provenance", out)
    assert result.returncode == 0, result.stderr
    record = json.loads(Image.open(out).text["scenerender"])
    assert f"scene hash:   {record['scene_hash']}" in result.stdout
    assert EMBEDDED_NAME in result.stdout and f"scenerender {scenerender.__version__}" in result.stdout
    assert f"render {scene} -o {out}" in result.stdout
    as_json = json.loads(cli("provenance", out, "--json").stdout)
    assert as_json == record


def test_jpeg_record_comes_from_the_sidecar_and_tiff_has_it_inside(tmp_path):
    import tifffile

    scene = write_scene(tmp_path)
    for name in ("fig.jpg", "fig.tif"):
        assert cli("render", scene, "-o", tmp_path / name).returncode == 0
    jpeg = cli("provenance", tmp_path / "fig.jpg")
    assert jpeg.returncode == 0 and "fig.jpg.scenerender.json" in jpeg.stderr
    with tifffile.TiffFile(tmp_path / "fig.tif") as tif:
        inside = json.loads(tif.pages[0].description)
    assert inside["output"] == "fig.tif" and inside == read_sidecar(tmp_path / "fig.tif")
    sidecar_path(tmp_path / "fig.jpg").unlink()
    missing = cli("provenance", tmp_path / "fig.jpg")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "no scenerender provenance record" in missing.stderr and "fig.jpg.scenerender.json" in missing.stderr
    assert "no such file" in cli("provenance", tmp_path / "nope.png").stderr


def test_failed_write_leaves_neither_image_nor_sidecar(tmp_path):
    scene = write_scene(tmp_path, render={"size": SIZE, "background": "transparent"})
    result = cli("render", scene, "-o", tmp_path / "fig.jpg")
    assert result.returncode == 1 and "JPEG has no transparency" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.yaml"]


def test_python_api_records_stills_and_videos(tmp_path):
    scene = write_scene(tmp_path)
    out = tmp_path / "api.png"
    scenerender.render(str(scene), out)
    record = read_sidecar(out)
    assert record["command"][0] == "scenerender.render" and record["scene_file"] == str(scene.resolve())
    from scenerender.compile import load_scene
    from scenerender.fingerprint import scene_fingerprint
    from scenerender.provenance import render_options

    fingerprint = scene_fingerprint(load_scene(str(scene)), render_options(output=out))
    assert is_up_to_date(out, fingerprint)

    animated = write_scene(tmp_path, name="orbit.yaml", animation={"fps": 4, "frames": 3, "orbit": {"degrees": 20}})
    video = scenerender.render_video(str(animated), tmp_path / "orbit.gif")
    assert read_sidecar(video)["command"][0] == "scenerender.render_video"
    assert read_sidecar(video)["output"] == "orbit.gif"


def test_frame_folder_gets_a_sidecar_beside_it(tmp_path):
    animated = write_scene(tmp_path, animation={"fps": 4, "frames": 2, "orbit": {"degrees": 20}})
    result = cli("render", animated, "-o", tmp_path / "frames")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "frames.scenerender.json").exists()
    assert "frames.scenerender.json" in cli("provenance", tmp_path / "frames").stderr


def test_batch_and_render_agree_on_what_is_up_to_date(tmp_path):
    scene = write_scene(tmp_path, name="fig.yaml")
    out = tmp_path / "out"
    out.mkdir()
    assert cli("render", scene, "-o", out / "fig.png").returncode == 0
    before = (out / "fig.png").stat().st_mtime_ns
    result = cli("batch", scene, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "1 of 1 renders are up to date" in result.stderr
    assert (out / "fig.png").stat().st_mtime_ns == before
    # a batch render of a changed scene embeds its record in the PNG too
    write_scene(tmp_path, "CB", name="fig.yaml")
    assert cli("batch", scene, "-o", out).returncode == 0
    with Image.open(out / "fig.png") as png:
        assert json.loads(png.text["scenerender"])["fingerprint"] == read_sidecar(out / "fig.png")["fingerprint"]
