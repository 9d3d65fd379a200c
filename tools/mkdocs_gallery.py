"""mkdocs hook: the gallery page, every scene in scenes/ rendered by the docs build.

Registered in mkdocs.yml (``hooks:``). Each scene is rendered small (480 x 360,
no supersampling; an animated scene shows its first frame, a sweep its first
render) into ``gallery/<scene>.png`` of the built site, next to its YAML on the
generated page ``gallery.md``. Nothing is drawn from invented data and nothing
is fetched from the network (the build sets ``SCENERENDER_OFFLINE=1``):

* a scene whose data files are absent here (the real data in ../shared/data,
  or ``build/brainreg_example`` made by ``python tools/brainreg_example.py``)
  is listed with the reason instead of a picture;
* a public-data scene is rendered only when its kind's payloads are real,
  recorded ones: MouseLight and NeuroMorpho sources are served, as in the
  tests, by the loopback services of ``tests/public_services.py`` (127.0.0.1)
  from the genuine MouseLight exports in ../shared/data; Allen gene
  expression and streamline sources have no recorded payload (the tests'
  ones are shaped from the published formats), so those scenes say so
  instead of showing a picture.

``tests/test_docs.py`` builds the site and checks each picture against a
fresh render of its scene.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from mkdocs.structure.files import File

REPO = Path(__file__).resolve().parents[1]
SCENES = REPO / "scenes"
SIZE = (480, 360)
#: Committed images outside docs/ that the pages show: {site path: repository path}.
IMAGES = {"images/preview.png": "examples/preview.png"}
log = logging.getLogger("mkdocs.plugins.scenerender_gallery")

#: Public source kinds whose payloads the build has for real, and where they come from.
RECORDED = {
    "mouselight": "the genuine MouseLight exports in ../shared/data/neurons (JSON and SWC), served by the "
                  "loopback MouseLight service of tests/public_services.py; its search reply (which neurons "
                  "have their soma in a region) is shaped from the neuron browser's published schema",
    "neuromorpho": "the genuine MouseLight SWC exports of the same neurons in ../shared/data/neurons, served "
                   "by the loopback NeuroMorpho service of tests/public_services.py as their CNG SWC files "
                   "(not verified byte-identical to NeuroMorpho's); the neuron records are shaped from "
                   "NeuroMorpho's published API reference",
}
#: Public source kinds without a recorded payload: not rendered, and why.
UNRECORDED = ("it fetches {kinds} from the Allen Institute's services; the documentation build works offline "
              "and has no recorded payload of it (the tests' payloads for this kind are shaped from the "
              "published format, not real data), so no picture is shown rather than an invented one")


@dataclass(frozen=True)
class Entry:
    """What the gallery shows for one scene: a picture, or the reason there is none."""

    path: Path
    why_not: str | None = None      # None: rendered
    data: str | None = None         # where a public-data scene's data come from
    public: bool = False            # rendered from the loopback services


def _spec(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def missing_data(path: Path) -> list[str]:
    """The files and folders a scene reads that are absent here (as tests/test_scenes.py finds them)."""
    spec = _spec(path)
    sources = spec.get("sources") or {}
    needed = [s["path"] for s in sources.values() if isinstance(s, dict) and "path" in s]
    needed += [s["space"]["registration"] for s in sources.values()
               if isinstance(s, dict) and isinstance(s.get("space"), dict) and "registration" in s["space"]]
    if isinstance(spec.get("atlas"), dict) and "brainglobe_dir" in spec["atlas"]:
        needed.append(spec["atlas"]["brainglobe_dir"])
    return list(dict.fromkeys(p for p in needed if not (path.parent / p).exists()))


def _public_kinds(path: Path) -> list[str]:
    from scenerender.fetch import fetched_sources

    return sorted({s["kind"] for s in fetched_sources(_spec(path)).values()})


@functools.lru_cache(maxsize=None)
def _services_module():
    """tests/public_services.py (the loopback services the tests use), or None where it cannot load."""
    name = "scenerender_docs_public_services"
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "public_services.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    except ImportError:  # pytest is in the test extra, not the docs extra
        del sys.modules[name]
        return None
    return module


def entry(path: Path) -> Entry:
    """Whether the docs build renders ``path``, and if not, why."""
    missing = missing_data(path)
    if missing:
        made = any("build/" in m for m in missing)
        where = ("build/brainreg_example is made by `python tools/brainreg_example.py` (real brainreg, a few "
                 "minutes; not part of the documentation build)" if made else "the real data live in ../shared/data")
        return Entry(path, f"its data are absent from this build: {', '.join(missing)} ({where})")
    kinds = _public_kinds(path)
    if not kinds:
        return Entry(path)
    unrecorded = [k for k in kinds if k not in RECORDED]
    if unrecorded:
        return Entry(path, UNRECORDED.format(kinds=", ".join(f"`{k}` data" for k in unrecorded)))
    services = _services_module()
    if services is None:
        return Entry(path, "its public data are served from recorded payloads by tests/public_services.py, "
                           "which needs the test extra (pytest): `pip install -e \".[test]\"`")
    if not services.ML_JSON.is_dir():
        return Entry(path, f"its public data are served from the real MouseLight exports in {services.ML_JSON}, "
                           "which are absent from this build (../shared/data)")
    return Entry(path, data="; ".join(f"`{k}`: {RECORDED[k]}" for k in kinds), public=True)


def render_scene(path: Path):
    """The gallery picture of one scene: an (H, W, 3|4) uint8 array."""
    os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
    import scenerender
    from scenerender.document import read_scene
    from scenerender.sweep import expand_sweep, has_sweep

    doc = read_scene(path)
    scene = scenerender.load_scene(doc, item=expand_sweep(doc)[0].name if has_sweep(doc) else None)
    return scenerender.render(scene, size=SIZE, scale=1)


@contextlib.contextmanager
def _environ(**values: str | None):
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def loopback_services():
    """The tests' loopback services (127.0.0.1), with the fetch client pointed at them and a fresh cache."""
    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas

    services = _services_module()
    server = services.install(services.Server(), SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded")))).start()
    try:
        with tempfile.TemporaryDirectory(prefix="scenerender-docs-") as cache:
            urls = {f"SCENERENDER_{s}_URL": server.url for s in ("MOUSELIGHT", "NEUROMORPHO", "ALLEN")}
            with _environ(SCENERENDER_CACHE_DIR=cache, SCENERENDER_OFFLINE=None,
                          SCENERENDER_ALLEN_STREAMLINES_URL=f"{server.url}/store", **urls):
                yield server
    finally:
        server.stop()


def _png(image) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _page_entry(item: Entry) -> str:
    path = item.path
    text = path.read_text(encoding="utf-8").rstrip()
    if item.why_not:
        shown = f'<p class="not-rendered" markdown>**Not rendered by this build:** {item.why_not}.</p>'
    else:
        shown = f"![{path.stem}](gallery/{path.stem}.png)"
    lines = [f"## {path.stem}", "", f"`scenes/{path.name}`", ""]
    if item.data:
        lines += [f"*Data:* {item.data}.", ""]
    return "\n".join(lines + ['<div class="grid" markdown>', "", shown, "", "```yaml", text, "```", "",
                              "</div>", ""])


def on_config(config):
    """Expand the nav's "Scene reference" entry into the generated pages (one per section and kind)."""
    from scenerender.docs import reference_pages

    pages = list(reference_pages())
    sections = [p for p in pages if "/" not in p and p != "index.md"]
    groups = [{"Top-level sections": [f"reference/{p}" for p in sections]}]
    for folder, title in (("actors", "Actor kinds"), ("sources", "Source kinds")):
        groups.append({title: [f"reference/{p}" for p in pages if p.startswith(folder + "/")]})
    for i, item in enumerate(config["nav"]):
        if isinstance(item, dict) and "Scene reference" in item:
            config["nav"][i] = {"Scene reference": ["reference/index.md", *groups]}
    return config


def on_files(files, config):
    items = [entry(path) for path in sorted(SCENES.glob("*.yaml"))]
    pictures: dict[str, bytes] = {}
    with _environ(SCENERENDER_OFFLINE="1"):  # the build never reaches a real service
        for item in items:
            if item.why_not is None and not item.public:
                pictures[item.path.stem] = _png(render_scene(item.path))
        if any(item.public for item in items):
            with loopback_services():
                for item in items:
                    if item.public:
                        pictures[item.path.stem] = _png(render_scene(item.path))
    for item in items:
        if item.why_not:
            log.info("gallery: %s not rendered: %s", item.path.name, item.why_not)
    # Committed pictures outside docs/ that pages show (the README's too), copied into the site.
    for name, source in IMAGES.items():
        files.append(File.generated(config, name, content=(REPO / source).read_bytes()))
    for stem, content in pictures.items():
        files.append(File.generated(config, f"gallery/{stem}.png", content=content))
    rendered = len(pictures)
    head = ["# Gallery", "",
            f"Every example scene in `scenes/` ({len(items)}), with its YAML. The {rendered} pictures were "
            f"rendered by this site's build at {SIZE[0]} x {SIZE[1]} (animated scenes: the first frame; "
            "sweeps: the first render), offline. A scene whose data this build does not have says why instead "
            "of showing a picture: nothing here is drawn from invented data. "
            "Render one yourself with `scenerender render scenes/NAME.yaml -o NAME.png`.", ""]
    files.append(File.generated(config, "gallery.md", content="\n".join(head + [_page_entry(i) for i in items])))
    return files
