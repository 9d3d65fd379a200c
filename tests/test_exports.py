"""SVG/PDF, glTF and interactive HTML outputs, read back with real readers and a real browser."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import imageio.v3 as iio
import numpy as np
import pytest
import yaml

import scenerender
from scenerender.plan import SurfacePlan
from scenerender.provenance import read_sidecar

RED = [255, 0, 0]
SIZE = [240, 180]
SPEC = {"version": 1,
        "actors": [{"kind": "root", "alpha": 0.2},
                   {"kind": "region", "regions": ["TH", "CB"], "color": RED},
                   {"kind": "label", "regions": ["TH"], "color": [0, 0, 0], "size": 14},
                   {"kind": "scale_bar", "length": 2000, "text": "2 mm"}],
        "camera": {"preset": "top", "projection": "orthographic"},
        "render": {"size": SIZE, "anti_aliasing": "none"}}


def red_mask(image):
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return (r > 60) & (g < 0.35 * r) & (b < 0.35 * r)


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("exports") / "figure.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


def render_cli(scene_file, out):
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", str(scene_file), "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # nothing half-written
    assert read_sidecar(out)["output"] == out.name
    return out


def test_svg_has_the_scene_as_an_image_and_the_text_as_text(scene_file, tmp_path):
    svg = ET.parse(render_cli(scene_file, tmp_path / "fig.svg")).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg", "xlink": "http://www.w3.org/1999/xlink"}
    texts = [t.text.strip() for t in svg.iterfind(".//svg:text", ns)]
    assert "TH" in texts and "2 mm" in texts
    images = svg.findall(".//svg:image", ns)
    assert len(images) == 1
    href = images[0].get("{http://www.w3.org/1999/xlink}href")
    raster = iio.imread(base64.b64decode(href.split(",", 1)[1]), extension=".png")
    assert raster.shape[:2] == (SIZE[1], SIZE[0])
    assert red_mask(raster).sum() > 300  # the 3-D regions are in the raster


def test_pdf_parses_and_has_the_image_and_the_text(scene_file, tmp_path):
    pdf = render_cli(scene_file, tmp_path / "fig.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    offset = int(re.search(rb"startxref\s+(\d+)", pdf).group(1))
    assert pdf[offset:offset + 4] == b"xref"  # the cross-reference table is where the trailer says
    assert b"/Subtype /Image" in pdf
    assert b"/FontFile2" in pdf  # TrueType fonts embedded: the text is text
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(tmp_path / "fig.pdf"), "-"], capture_output=True, text=True).stdout
        assert "TH" in text and "2 mm" in text


def _mesh_bounds(gltf, blob_of):
    """World bounds of each mesh node: vertex positions through the node's matrix."""
    bounds = []
    for node in gltf.nodes:
        if node.mesh is None:
            continue
        accessor = gltf.accessors[gltf.meshes[node.mesh].primitives[0].attributes.POSITION]
        view = gltf.bufferViews[accessor.bufferView]
        data = blob_of(view.buffer)[view.byteOffset + (accessor.byteOffset or 0):]
        points = np.frombuffer(data, dtype=np.float32, count=accessor.count * 3).reshape(-1, 3)
        matrix = np.array(node.matrix or np.eye(4).ravel()).reshape(4, 4).T  # glTF matrices are column-major
        moved = points @ matrix[:3, :3].T + matrix[:3, 3]
        bounds.append((moved.min(axis=0), moved.max(axis=0)))
    return sorted(bounds, key=lambda b: tuple(b[0]))


@pytest.mark.parametrize("suffix", [".gltf", ".glb"])
def test_gltf_holds_the_scene_meshes_superior_up(scene_file, tmp_path, suffix):
    import pygltflib

    out = render_cli(scene_file, tmp_path / f"fig{suffix}")
    gltf = pygltflib.GLTF2().load(str(out))
    if suffix == ".glb":
        assert out.read_bytes()[:4] == b"glTF" and len(gltf.buffers) == 1
        blob_of = lambda index: gltf.binary_blob()  # noqa: E731
    else:
        blob_of = lambda index: base64.b64decode(gltf.buffers[index].uri.split(",", 1)[1])  # noqa: E731
    plan = scenerender.compile_scene(str(scene_file))
    surfaces = [a for a in plan.actors if isinstance(a, SurfacePlan)]
    found = _mesh_bounds(gltf, blob_of)
    assert len(found) == len(surfaces)
    # glTF is +Y up: world (x, y = inferior, z) turned 180 degrees about x
    turned = [s.points * [1, -1, -1] for s in surfaces]
    expected = sorted(((p.min(axis=0), p.max(axis=0)) for p in turned), key=lambda b: tuple(b[0]))
    for (lo, hi), (want_lo, want_hi) in zip(found, expected):
        np.testing.assert_allclose(lo, want_lo, atol=1.0)
        np.testing.assert_allclose(hi, want_hi, atol=1.0)
    assert gltf.asset.extras["scenerender"]["scene_hash"] == read_sidecar(out)["scene_hash"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs the Debian package 'chromium' (.ci/run installs it)")
def test_html_draws_the_scene_in_headless_chromium_offline(scene_file, tmp_path):
    out = render_cli(scene_file, tmp_path / "fig.html")
    html = out.read_text(encoding="utf-8")
    # one file: no script, style or image fetched from anywhere
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", html, re.I)
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=640,480", "--virtual-time-budget=15000",
         f"--screenshot={shot}", out.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), result.stderr[-2000:]
    image = iio.imread(shot)[..., :3]
    assert image.shape[:2] == (480, 640)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50, "the canvas is blank"
    red = red_mask(image)
    assert red.sum() > 2000  # the red regions, drawn by vtk.js in the page
    rows, cols = np.nonzero(red)
    assert 100 < cols.mean() < 540 and 80 < rows.mean() < 400  # in the view, not a stray corner


def test_panels_cannot_be_written_as_a_3d_export(tmp_path):
    spec = dict(SPEC, panels={"items": [{}, {}]})
    with pytest.raises(scenerender.RenderError, match="a figure with panels is written as an image"):
        scenerender.render(spec, tmp_path / "panels.gltf")
    assert list(tmp_path.iterdir()) == []


def test_unknown_extension_lists_every_format(tmp_path):
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", "scenes/minimal.yaml",
                             "-o", str(tmp_path / "x.obj")], capture_output=True, text=True)
    assert result.returncode == 1
    assert all(s in result.stderr for s in (".svg", ".pdf", ".gltf", ".glb", ".html"))


def test_gltf_record_is_read_back_by_the_provenance_command(scene_file, tmp_path):
    out = render_cli(scene_file, tmp_path / "fig.glb")
    (tmp_path / "fig.glb.scenerender.json").unlink()
    result = subprocess.run([sys.executable, "-m", "scenerender", "provenance", str(out)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert "output:       fig.glb" in result.stdout and "from the file itself" in result.stderr
