"""``scenerender preview``: a local page that re-renders a scene each time it is saved.

One process stays warm: the atlas and its region meshes are opened once (an
atlas cache kept for the life of the server) and every save of the scene file
is read, validated, compiled and drawn again in the same process, in one
render thread (VTK is used from that thread only). The page (aiohttp, bound
to 127.0.0.1 unless told otherwise) polls a small JSON state, shows the
newest image, or the located problems of a broken save next to the last good
image, and offers the interactive view (the HTML export with a "copy camera"
button, :mod:`scenerender.display`).

Routes: ``/`` the page, ``/api/state`` JSON, ``/render.png`` the newest good
image, ``/view.html`` the interactive view of the newest good scene.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import os
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from .compile import compile_scene, load_scene
from .display import viewer_page
from .errors import RenderError, SceneError
from .images import png_bytes
from .renderer import render_plan

#: How often the scene file is looked at (seconds).
POLL_S = 0.1
#: The largest side the preview draws at unless told a size (the scene's aspect is kept).
PREVIEW_SIDE = 800


@dataclass
class State:
    """What the page shows; changed only by the render thread, read by the server."""

    version: int = 0          # counts finished attempts (good or not)
    image_version: int = 0    # the attempt that made the current image
    png: bytes | None = None
    size: tuple[int, int] | None = None
    problems: list[str] = field(default_factory=list)
    rendered_at: float = 0.0
    render_s: float = 0.0
    plan: object = None       # the newest good plan, for the interactive view
    view_html: str | None = None
    view_version: int = -1


def preview_size(spec: dict, size: tuple[int, int] | None) -> tuple[int, int]:
    """The size to draw at: ``size``, else the scene's, shrunk to fit PREVIEW_SIDE."""
    if size is not None:
        return size
    width, height = spec["render"]["size"]
    shrink = min(1.0, PREVIEW_SIDE / max(width, height))
    return max(16, round(width * shrink)), max(16, round(height * shrink))


class Previewer:
    """Renders a scene file on demand in one warm render thread."""

    def __init__(self, path: Path, *, size: tuple[int, int] | None = None):
        self.path = Path(path)
        self.size = size
        self.state = State()
        self.atlas_cache: dict = {}
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenerender-render")
        self._seen: tuple | None = None

    def fingerprint(self) -> tuple | None:
        """(mtime, size, content hash) of the scene file; ``None`` while it is missing."""
        try:
            stat = self.path.stat()
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, digest)

    def changed(self) -> bool:
        """Whether the file's content changed (or it went missing) since the last look."""
        now = self.fingerprint()
        key = None if now is None else now[2]
        if self._seen is not None and key == self._seen[0]:
            return False
        self._seen = (key,)
        return True

    def render_once(self) -> None:
        """Read, validate, compile and draw the scene file (in the render thread)."""
        started = time.perf_counter()
        problems: list[str] = []
        png = plan = size = None
        try:
            scene = load_scene(self.path)
            plan = compile_scene(scene, size=preview_size(scene.spec, self.size), atlas_cache=self.atlas_cache)
            image = render_plan(plan)
            png, size = png_bytes(image), (image.shape[1], image.shape[0])
        except SceneError as err:
            problems = [str(p) for p in err.problems]
        except RenderError as err:
            problems = [f"{self.path}: {err}"]
        except Exception as err:  # a bug: keep serving, say what happened
            problems = [f"{self.path}: internal error: {type(err).__name__}: {err} (please report it)"]
            if os.environ.get("SCENERENDER_DEBUG"):
                traceback.print_exc()
        with self.lock:
            state = self.state
            state.version += 1
            state.problems = problems
            state.render_s = time.perf_counter() - started
            if png is not None:
                state.png, state.size, state.plan = png, size, plan
                state.image_version = state.version
                state.rendered_at = time.time()

    def view_html(self) -> str | None:
        """The interactive view of the newest good scene (made in the render thread, cached)."""
        with self.lock:
            plan, version, cached = self.state.plan, self.state.image_version, self.state.view_version
        if plan is None:
            return None
        if cached != version:
            page = viewer_page(plan, title=self.path.stem)
            with self.lock:
                self.state.view_html, self.state.view_version = page, version
        return self.state.view_html

    def snapshot(self) -> dict:
        with self.lock:
            s = self.state
            return {"version": s.version, "image_version": s.image_version, "ok": not s.problems,
                    "problems": list(s.problems), "size": s.size, "render_s": round(s.render_s, 4),
                    "file": str(self.path), "has_image": s.png is not None}


async def _watch(previewer: Previewer) -> None:
    loop = asyncio.get_running_loop()
    while True:
        if previewer.changed():
            await loop.run_in_executor(previewer.executor, previewer.render_once)
        await asyncio.sleep(POLL_S)


def make_app(previewer: Previewer):
    """The aiohttp application serving the page and its state."""
    # lazy: optional extra (scenerender[preview])
    from aiohttp import web

    async def index(request):
        page = _PAGE.replace("__TITLE__", html.escape(previewer.path.name))
        return web.Response(text=page, content_type="text/html", headers=_NO_STORE)

    async def state(request):
        return web.json_response(previewer.snapshot(), headers=_NO_STORE)

    async def image(request):
        with previewer.lock:
            png = previewer.state.png
        if png is None:
            raise web.HTTPNotFound(text="no image yet")
        return web.Response(body=png, content_type="image/png", headers=_NO_STORE)

    async def view(request):
        loop = asyncio.get_running_loop()
        page = await loop.run_in_executor(previewer.executor, previewer.view_html)
        if page is None:
            raise web.HTTPNotFound(text="no good render yet")
        return web.Response(text=page, content_type="text/html", headers=_NO_STORE)

    async def start_watching(app):
        app["watch"] = asyncio.create_task(_watch(previewer))

    async def stop_watching(app):
        app["watch"].cancel()
        previewer.executor.shutdown(wait=False, cancel_futures=True)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/api/state", state)
    app.router.add_get("/render.png", image)
    app.router.add_get("/view.html", view)
    app.on_startup.append(start_watching)
    app.on_cleanup.append(stop_watching)
    return app


def serve(path: Path, *, host: str = "127.0.0.1", port: int = 8765, size: tuple[int, int] | None = None,
          announce=print) -> None:
    """Serve the preview of ``path`` until interrupted."""
    # lazy: optional extra (scenerender[preview])
    from aiohttp import web

    previewer = Previewer(path, size=size)
    app = make_app(previewer)

    async def main():
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        announce(f"previewing {path} at http://{host}:{bound}/ (Ctrl-C to stop)")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())


_NO_STORE = {"Cache-Control": "no-store"}

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>__TITLE__ - scenerender preview</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 0; background: #f4f4f4; color: #222 }
header { padding: 8px 12px; background: #263238; color: #eee; display: flex; gap: 12px; align-items: center }
header b { font-weight: 600 } header span { opacity: .75 }
main { padding: 12px; display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-start }
#problems { white-space: pre-wrap; background: #fff3f3; border: 1px solid #e57373; color: #b71c1c;
            padding: 8px; margin: 0 12px; font: 13px monospace; display: none }
#render { max-width: 100%; background: #fff; border: 1px solid #ccc }
#view { border: 1px solid #ccc; background: #fff; display: none }
#camera { font: 12px monospace; display: none; width: 40em; height: 10em }
button { font: inherit }
</style></head>
<body>
<header><b>__TITLE__</b><span id="status">waiting for the first render...</span>
<button id="interactive" type="button">interactive view</button>
<button id="copy-camera" type="button" disabled>copy camera</button></header>
<pre id="problems"></pre>
<main><img id="render" alt="render"><iframe id="view" title="interactive view"></iframe>
<textarea id="camera" readonly></textarea></main>
<script>
window.scenerenderPreview = true;  // the interactive view leaves "copy camera" to this page
let shown = -1, viewVersion = -1, size = null;
const $ = (id) => document.getElementById(id);
async function poll() {
  try {
    const state = await (await fetch("/api/state", {cache: "no-store"})).json();
    const problems = $("problems");
    problems.textContent = state.problems.join("\\n");
    problems.style.display = state.ok ? "none" : "block";
    document.body.dataset.version = state.version;
    document.body.dataset.ok = state.ok;
    if (state.has_image && state.image_version !== shown) {
      const img = new Image();
      img.onload = () => { $("render").src = img.src; shown = state.image_version;
                           $("render").dataset.version = shown; size = state.size; };
      img.src = "/render.png?v=" + state.image_version;
    }
    $("status").textContent = state.ok ? ("rendered in " + state.render_s.toFixed(2) + " s, " +
        new Date().toLocaleTimeString()) : "the last save has problems; showing the last good render";
  } catch (e) { $("status").textContent = "the preview server is not answering"; }
  setTimeout(poll, 200);
}
$("interactive").onclick = () => {
  const view = $("view");
  if (!size) return;
  view.width = size[0]; view.height = size[1];
  view.onload = () => { $("copy-camera").disabled = false; viewVersion = shown; view.dataset.version = shown; };
  view.src = "/view.html?v=" + shown;
  view.style.display = "block";
};
$("copy-camera").onclick = () => {
  const text = $("view").contentWindow.scenerenderCamera();
  const box = $("camera");
  box.value = text; box.style.display = "block"; box.select();
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).catch(() => {}); }
};
poll();
</script></body></html>
"""
