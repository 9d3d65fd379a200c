"""mkdocs hook: the gallery page, every scene in scenes/ rendered by the docs build.

Registered in mkdocs.yml (``hooks:``). Each scene is rendered small (480 x 360,
no supersampling; an animated scene shows its first frame, a sweep its first
render) into ``gallery/<scene>.png`` of the built site, next to its YAML on the
generated page ``gallery.md``. A scene whose data files are absent here (the
real data in ../shared/data) is listed with a note instead of a picture.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import yaml
from mkdocs.structure.files import File

REPO = Path(__file__).resolve().parents[1]
SCENES = REPO / "scenes"
SIZE = (480, 360)
log = logging.getLogger("mkdocs.plugins.scenerender_gallery")


def missing_data(path: Path) -> list[str]:
    """The data files a scene's sources name that are absent here."""
    sources = yaml.safe_load(path.read_text(encoding="utf-8")).get("sources") or {}
    return [s["path"] for s in sources.values() if not (path.parent / s["path"]).exists()]


def render_scene(path: Path):
    """The gallery picture of one scene: an (H, W, 3|4) uint8 array."""
    os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
    import scenerender
    from scenerender.document import read_scene
    from scenerender.sweep import expand_sweep, has_sweep

    doc = read_scene(path)
    scene = scenerender.load_scene(doc, item=expand_sweep(doc)[0].name if has_sweep(doc) else None)
    return scenerender.render(scene, size=SIZE, scale=1)


def _png(image) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _entry(path: Path, picture: str | None, missing: list[str]) -> str:
    text = path.read_text(encoding="utf-8").rstrip()
    shown = (f"![{path.stem}]({picture})" if picture else
             f"*Not rendered here: its data files are absent ({', '.join(missing)}; see ../shared/data).*")
    return "\n".join([f"## {path.stem}", "", f"`scenes/{path.name}`", "", '<div class="grid" markdown>', "",
                      shown, "", "```yaml", text, "```", "", "</div>", ""])


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
    entries = []
    for path in sorted(SCENES.glob("*.yaml")):
        missing = missing_data(path)
        picture = None
        if not missing:
            picture = f"gallery/{path.stem}.png"
            files.append(File.generated(config, picture, content=_png(render_scene(path))))
        else:
            log.info("gallery: %s not rendered, data absent: %s", path.name, ", ".join(missing))
        entries.append(_entry(path, picture, missing))
    head = ["# Gallery", "",
            "Every example scene in `scenes/`, rendered by the documentation build at "
            f"{SIZE[0]} x {SIZE[1]} (animated scenes: the first frame; sweeps: the first render). "
            "Render one yourself with `scenerender render scenes/NAME.yaml -o NAME.png`.", ""]
    files.append(File.generated(config, "gallery.md", content="\n".join(head + entries)))
    return files
