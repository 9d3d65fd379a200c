"""Take the README's screenshot (examples/preview.png) of ``scenerender preview`` in headless Chromium.

    python tools/preview_screenshot.py [--out examples/preview.png]

Serves a copy of scenes/quickstart.yaml at 480x360 with a mistake in it
(so the page shows a located problem over the last good render), opens the
interactive view and presses "copy camera".
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "examples" / "preview.png")
    args = parser.parse_args(argv)
    text = (REPO / "scenes" / "quickstart.yaml").read_text().replace("[1600, 1200]", "[480, 360]")
    with tempfile.TemporaryDirectory(prefix="preview-shot-") as folder:
        scene = Path(folder) / "quickstart.yaml"
        scene.write_text(text)
        log = Path(folder) / "server.log"
        with open(log, "w") as err:
            server = subprocess.Popen([sys.executable, "-m", "scenerender", "preview", str(scene), "--port", "0"],
                                      stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            url = None
            while url is None and server.poll() is None:
                match = re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())
                url = match and match.group(1)
                time.sleep(0.1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
                page = browser.new_page(viewport={"width": 1010, "height": 560}, device_scale_factor=1)
                page.goto(url)
                page.wait_for_function("document.getElementById('render').dataset.version > 0", timeout=300000)
                page.click("#interactive")
                page.wait_for_selector("#copy-camera:not([disabled])", timeout=300000)
                page.wait_for_timeout(2000)
                page.frame_locator("#view").locator("body").evaluate("""() => {
                    const rw = window.global.renderWindow;
                    const r = rw.getRenderers().sort((a, b) => b.getActors().length - a.getActors().length)[0];
                    r.getActiveCamera().azimuth(-35); r.resetCameraClippingRange(); rw.render(); }""")
                page.click("#copy-camera")
                scene.write_text(text.replace("alpha: 0.8", "alpha: 1.8"))
                page.wait_for_function("document.getElementById('problems').textContent.length > 0",
                                       timeout=300000)
                page.evaluate("document.getElementById('problems').textContent = "
                              "document.getElementById('problems').textContent.replace(/^.*\\//, '')")
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
