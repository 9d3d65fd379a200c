"""``scenerender preview`` driven in real headless Chromium (Playwright with the system chromium)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import SCENES

playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[test]')")
pytest.importorskip("aiohttp", reason="needs aiohttp (pip install -e '.[preview]')")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="needs the Debian package 'chromium' (.ci/run installs it)")]

SIZE = (320, 240)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _scene_text(**changes) -> str:
    scene = yaml.safe_load((SCENES / "quickstart.yaml").read_text())
    scene["render"] = {"size": list(SIZE), "background": "white"}
    scene.update(changes)
    return yaml.safe_dump(scene, sort_keys=False)


def _write(path: Path, text: str) -> None:
    path.write_text(text)  # in place, as editors without atomic save do


def _decode(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _cli_render(scene: Path, out: Path) -> np.ndarray:
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", str(scene), "-o", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return _decode(out.read_bytes())


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def preview(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("preview")
    scene = folder / "scene.yaml"
    _write(scene, _scene_text())
    log = folder / "server.log"
    with open(log, "w") as err:
        server = subprocess.Popen([sys.executable, "-m", "scenerender", "preview", str(scene), "--port", "0"],
                                  stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    match = None
    for _ in range(1200):
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())
        if match or server.poll() is not None:
            break
        time.sleep(0.1)
    assert match, log.read_text()
    page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
    page.goto(match.group(1))
    yield {"scene": scene, "folder": folder, "page": page, "url": match.group(1)}
    page.close()
    server.terminate()
    server.wait(timeout=30)


def _shown_version(page) -> int:
    return int(page.get_attribute("#render", "data-version") or -1)


def _wait_for_image_after(page, version: int, timeout_s: float = 60) -> int:
    page.wait_for_function(f"Number(document.getElementById('render').dataset.version || -1) > {version}",
                           timeout=timeout_s * 1000)
    return _shown_version(page)


def test_page_shows_the_render_the_cli_makes(preview, tmp_path):
    page = preview["page"]
    _wait_for_image_after(page, -1, timeout_s=120)
    shown = _decode(page.locator("#render").screenshot())[1:-1, 1:-1]  # the 1-pixel border off
    np.testing.assert_array_equal(shown, _cli_render(preview["scene"], tmp_path / "cli.png"))


def test_a_save_shows_the_new_image(preview):
    page = preview["page"]
    before_version = _shown_version(page)
    before = _decode(page.locator("#render").screenshot())
    red = lambda im: ((im[..., 0] > 200) & (im[..., 1] < 60) & (im[..., 2] < 60)).sum()  # noqa: E731
    assert red(before) < 20
    actors = yaml.safe_load(_scene_text())["actors"] + [{"kind": "region", "regions": "CB", "color": "#ff0000"}]
    _write(preview["scene"], _scene_text(actors=actors))
    _wait_for_image_after(page, before_version)
    assert red(_decode(page.locator("#render").screenshot())) > 300


def test_a_broken_save_shows_the_located_error_and_the_next_good_save_recovers(preview):
    page = preview["page"]
    scene = preview["scene"]
    good = _shown_version(page)
    text = _scene_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "alpha: 0.15")
    lines[at] = lines[at].replace("0.15", "1.5")
    _write(scene, "\n".join(lines) + "\n")
    problems = page.locator("#problems")
    column = lines[at].index("1.5") + 1
    expected = f"{scene}:{at + 1}:{column}: actors[0].alpha: 1.5 is greater than the maximum 1"
    page.wait_for_function("document.getElementById('problems').textContent.length > 0", timeout=60000)
    assert problems.inner_text().strip() == expected
    assert _shown_version(page) == good  # the last good image stays
    _write(scene, "version: 1\nactors: [\n")  # a save half-way through typing
    page.wait_for_function("document.getElementById('problems').textContent.includes('YAML syntax error')",
                           timeout=60000)
    assert problems.inner_text().startswith(f"{scene}:3:")
    _write(scene, _scene_text())
    _wait_for_image_after(page, good)
    assert not problems.is_visible()


def _foreground(image: np.ndarray) -> np.ndarray:
    return np.abs(image.astype(int) - 255).max(axis=-1) > 24  # not the white background


def test_copy_camera_gives_a_camera_block_that_renders_the_view_in_the_page(preview, tmp_path):
    page = preview["page"]
    _wait_for_image_after(page, -1)
    page.click("#interactive")
    page.wait_for_selector("#copy-camera:not([disabled])", timeout=120000)
    frame = page.frame_locator("#view")
    frame.locator("canvas").wait_for(timeout=60000)
    view = page.locator("#view")
    page.wait_for_timeout(1500)  # vtk.js draws its first frame
    page.click("#copy-camera")  # before any drag: the scene's own camera, as 'render --print-camera' prints it
    printed = subprocess.run([sys.executable, "-m", "scenerender", "render", str(preview["scene"]), "-o",
                              str(tmp_path / "printed.png"), "--print-camera"], capture_output=True, text=True)
    start, expected = yaml.safe_load(page.input_value("#camera"))["camera"], yaml.safe_load(printed.stdout)["camera"]
    for key in ("position", "focal_point"):
        np.testing.assert_allclose(start[key], expected[key], atol=0.01)
    np.testing.assert_allclose(start["view_up"], expected["view_up"], atol=1e-5)
    box = view.bounding_box()
    x0, y0 = box["x"] + 30, box["y"] + box["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, 27):  # rotate the brain in the page, slowly enough for software WebGL to follow
        page.mouse.move(x0 + 10 * step, y0 + step, steps=1)
        page.wait_for_timeout(60)
    page.mouse.up()
    # and turn it further through vtk.js's own camera (a drag turns it only a few degrees in software WebGL)
    page.frame_locator("#view").locator("body").evaluate("""() => {
        const rw = window.global.renderWindow;
        const renderer = rw.getRenderers().sort((a, b) => b.getActors().length - a.getActors().length)[0];
        const camera = renderer.getActiveCamera();
        camera.azimuth(50); camera.elevation(20); camera.orthogonalizeViewUp(); camera.dolly(1.3);
        renderer.resetCameraClippingRange(); rw.render(); }""")
    page.wait_for_timeout(500)
    page.click("#copy-camera")
    block = page.input_value("#camera")
    camera = yaml.safe_load(block)["camera"]
    assert set(camera) == {"position", "focal_point", "view_up", "view_angle", "zoom", "projection"}
    before = np.subtract(start["position"], start["focal_point"])
    after = np.subtract(camera["position"], camera["focal_point"])
    turned = np.degrees(np.arccos(before @ after / np.linalg.norm(before) / np.linalg.norm(after)))
    assert turned > 30  # the drag turned the camera
    in_page = _decode(view.screenshot())[1:-1, 1:-1]  # the iframe's 1-pixel border off
    assert in_page.shape[:2] == (SIZE[1], SIZE[0])
    scene = yaml.safe_load(_scene_text())
    scene["camera"] = camera
    copied = tmp_path / "copied.yaml"
    copied.write_text(yaml.safe_dump(scene, sort_keys=False))
    rendered = _cli_render(copied, tmp_path / "copied.png")
    original = _cli_render(preview["scene"], tmp_path / "original.png")
    a, b, o = _foreground(in_page), _foreground(rendered), _foreground(original)
    same_view = (a & b).sum() / (a | b).sum()
    unrotated = (a & o).sum() / (a | o).sum()
    assert same_view > 0.9, (same_view, unrotated)
    assert unrotated < 0.85, (same_view, unrotated)  # the old camera does not draw the page's view


def test_the_notebook_viewer_has_its_own_copy_camera_button_giving_the_scene_camera(browser, tmp_path):
    import scenerender
    from scenerender.display import viewer_page

    scene_file = tmp_path / "scene.yaml"
    scene_file.write_text(_scene_text())
    scene = scenerender.Scene(scene_file)
    page_file = tmp_path / "view.html"
    page_file.write_text(viewer_page(scene.compile()))
    printed = subprocess.run([sys.executable, "-m", "scenerender", "render", str(scene_file), "-o",
                              str(tmp_path / "printed.png"), "--print-camera"], capture_output=True, text=True)
    expected = yaml.safe_load(printed.stdout)["camera"]
    page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]})
    page.goto(page_file.as_uri())
    page.click("#scenerender-copy-camera", timeout=120000)
    camera = yaml.safe_load(page.input_value("#scenerender-camera-text"))["camera"]
    page.close()
    for key in ("position", "focal_point"):
        np.testing.assert_allclose(camera[key], expected[key], atol=0.01)
    np.testing.assert_allclose(camera["view_up"], expected["view_up"], atol=1e-5)
    assert (camera["zoom"], camera["projection"]) == (1, "perspective")
