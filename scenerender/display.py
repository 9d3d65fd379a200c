"""Showing scenes in notebooks and web pages: images, videos and the interactive viewer.

Everything here draws through the same offscreen pipeline as the command
line (:func:`scenerender.render`, :func:`scenerender.render_video`,
:mod:`scenerender.exports`); nothing opens a window.

The interactive view is the standalone HTML export (trame-vtk's vtk.js
viewer, one self-contained page) with a "copy camera" button added. The
button writes the view as the scene's ``camera:`` block in atlas microns:
the page is given the world-to-atlas matrix of :mod:`scenerender.spaces`,
so the axis mapping stays defined in one place.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path

import numpy as np

from .images import RenderedImage, png_bytes  # noqa: F401  (the notebook display of a render)
from .api import render_video
from .exports import export_scene
from .spaces import WORLD_TO_ATLAS


class _Shown:
    """What :func:`show` returns outside IPython: an object with a notebook representation."""

    def __init__(self, bundle: dict):
        self.bundle = bundle

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.bundle


def video_html(scene, *, size: tuple[int, int] | None = None) -> str:
    """An animated scene as an inline ``<video>`` (MP4, H.264) holding all its frames."""
    with tempfile.TemporaryDirectory(prefix="scenerender-video-") as folder:
        out = Path(folder) / "scene.mp4"
        render_video(scene, out, size=size)
        data = base64.b64encode(out.read_bytes()).decode("ascii")
    return (f'<video controls loop autoplay muted playsinline style="max-width:100%">'
            f'<source type="video/mp4" src="data:video/mp4;base64,{data}"></video>')


def viewer_page(plan, *, title: str = "scene") -> str:
    """The interactive HTML export of ``plan`` with a "copy camera" button."""
    with tempfile.TemporaryDirectory(prefix="scenerender-view-") as folder:
        out = Path(folder) / f"{title}.html"
        export_scene(plan, out)
        page = out.read_text(encoding="utf-8")
    return add_camera_button(page)


def camera_script() -> str:
    """JavaScript defining ``scenerenderCamera()``: the viewer's camera as a
    scene ``camera:`` block (YAML text), in atlas microns."""
    matrix = json.dumps(np.asarray(WORLD_TO_ATLAS).tolist())
    return _CAMERA_JS.replace("__WORLD_TO_ATLAS__", matrix)


# The page's vtk.js render window is window.global.renderWindow (trame-vtk's viewer sets it).
# A perspective camera's view angle is its whole field of view, so the block says
# zoom 1; an orthographic one keeps the 30 degree angle and gives its zoom.
_CAMERA_JS = r"""
window.scenerenderCamera = function () {
  const M = __WORLD_TO_ATLAS__;
  const view = (window.global && window.global.renderWindow) || window.renderWindow;
  // the viewer's own empty renderer comes first; the scene's is the one with actors
  const renderers = view.getRenderers().slice().sort((a, b) => b.getActors().length - a.getActors().length);
  const cam = renderers[0].getActiveCamera();
  const map = (v) => [0, 1, 2].map((i) => M[i][0] * v[0] + M[i][1] * v[1] + M[i][2] * v[2]);
  const num = (x, d) => { const r = Number(x.toFixed(d)); return Object.is(r, -0) ? 0 : r; };
  const list = (v, d) => "[" + v.map((x) => String(num(x, d))).join(", ") + "]";
  const pos = cam.getPosition(), fp = cam.getFocalPoint();
  const up = cam.getViewUp();
  const norm = Math.hypot(up[0], up[1], up[2]);
  const lines = ["camera:",
    "  position: " + list(map(pos), 4),
    "  focal_point: " + list(map(fp), 4),
    "  view_up: " + list(map(up.map((x) => x / norm)), 6)];
  if (cam.getParallelProjection()) {
    const distance = Math.hypot(pos[0] - fp[0], pos[1] - fp[1], pos[2] - fp[2]);
    const zoom = distance * Math.tan(15 * Math.PI / 180) / cam.getParallelScale();
    lines.push("  view_angle: 30", "  zoom: " + num(zoom, 8), "  projection: orthographic");
  } else {
    lines.push("  view_angle: " + num(cam.getViewAngle(), 8), "  zoom: 1", "  projection: perspective");
  }
  return lines.join("\n") + "\n";
};
window.scenerenderCopyCamera = function () {
  const text = window.scenerenderCamera();
  const box = document.getElementById("scenerender-camera-text");
  box.value = text;
  box.style.display = "block";
  box.select();
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).catch(() => {}); }
  else { try { document.execCommand("copy"); } catch (e) {} }
  if (window.parent !== window) { window.parent.postMessage({scenerenderCamera: text}, "*"); }
  return text;
};
"""

# Added on "load": the viewer empties the page body when it starts (after this script runs).
_TOOLBAR_JS = r"""
window.addEventListener("load", function () {
  try { if (window.parent !== window && window.parent.scenerenderPreview) return; } catch (e) {}  // its own button
  const bar = document.createElement("div");
  bar.id = "scenerender-toolbar";
  bar.style.cssText = "position:fixed;top:6px;left:6px;z-index:10;font:13px sans-serif";
  bar.innerHTML = '<button id="scenerender-copy-camera" type="button">copy camera</button>' +
    '<textarea id="scenerender-camera-text" readonly rows="8" cols="46" ' +
    'style="display:none;margin-top:4px;font:12px monospace"></textarea>';
  document.body.appendChild(bar);
  document.getElementById("scenerender-copy-camera").onclick = window.scenerenderCopyCamera;
});
"""


def add_camera_button(page: str) -> str:
    """``page`` (an HTML export) with the camera script and a "copy camera" button."""
    addition = f"<script>{camera_script()}{_TOOLBAR_JS}</script>\n"
    at = page.rfind("</body>")
    return page[:at] + addition + page[at:] if at >= 0 else page + addition


def iframe_html(page: str, *, width: int, height: int) -> str:
    """``page`` inside an iframe (its ``srcdoc``), for a notebook output."""
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" width="{width}" height="{height}" '
            f'style="border:1px solid #ccc" sandbox="allow-scripts allow-same-origin"></iframe>')


def show(scene, *, interactive: bool = False, size: tuple[int, int] | None = None):
    """Display ``scene`` (see :meth:`scenerender.Scene.show`)."""
    if interactive:
        plan = scene.compile(size=size)
        width, height = plan.render.size
        page = viewer_page(plan, title=Path(scene.file).stem if not scene.file.startswith("<") else "scene")
        bundle = {"text/html": iframe_html(page, width=width, height=height), "text/plain": repr(scene)}
    elif "animation" in scene.spec:
        bundle = {"text/html": video_html(scene, size=size), "text/plain": repr(scene)}
    else:
        image = scene._still() if size is None else scene.render(size=size)
        bundle = {"image/png": image._repr_png_(), "text/plain": repr(scene)}
    shown = _Shown(bundle)
    try:
        # lazy: optional extra (scenerender[notebook]); only inside Jupyter
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return shown
    if get_ipython() is None:
        return shown
    display(shown)
    return None
