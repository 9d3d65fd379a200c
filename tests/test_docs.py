"""The documentation: the README is a short front door whose links resolve, the generated reference
pages are fresh, the docs' examples are valid, the site builds with warnings as errors, and its
gallery shows the current renders of every scene in scenes/ (or says why a scene is not rendered)."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import REPO, SCENES

README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
#: Pages the site build makes (tools/mkdocs_gallery.py), which docs/ pages may link to.
GENERATED = {DOCS / "gallery.md", DOCS / "images" / "preview.png"}
#: Public source kinds whose payloads are real recordings (the MouseLight exports in ../shared/data).
RECORDED_KINDS = {"mouselight", "neuromorpho"}


def _tool(name: str):
    """A module of tools/, loaded once."""
    if f"tools.{name}" not in sys.modules:
        spec = importlib.util.spec_from_file_location(f"tools.{name}", REPO / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"tools.{name}"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[f"tools.{name}"]


# --- the README: a front door ---------------------------------------------------------------

def test_readme_is_a_short_front_door():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) <= 12 * 1024, f"README.md is {len(text.encode())} bytes; move detail into docs/"
    for page in ("docs/getting-started.md", "docs/architecture.md", "docs/reference/index.md"):
        assert f"]({page}" in text, f"README does not link {page}"
    assert re.search(r"!\[[^\]]+\]\((?!https?:)[^)]+\.(png|jpg|gif)\)", text), "README shows no picture"


def test_readme_set_up_commands_are_what_ci_runs():
    """The two set-up commands (install; test) are the ones .ci/run runs on a clean clone."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Set up"):text.index("## Quick start")]
    commands = [line.split("#")[0].strip() for line in section.splitlines() if line.startswith("    ")]
    assert commands == ['pip install -e ".[test]"', "python -m pytest"]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert all(c in ci for c in commands), f"{commands} are not what .ci/run runs"


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _slugs(page: Path) -> set[str]:
    """Heading anchors as GitHub and Python-Markdown's toc both make them for these headings."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    heads = re.findall(r"^#{1,6} (.+)$", text, re.M)
    return {re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", h.strip().lower())) for h in heads}


def _links(page: Path) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    found = []
    fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fence = not fence
        if not fence:
            found += [(number, target) for target in LINK.findall(re.sub(r"`[^`]*`", "", line))]
    return found


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve(page):
    bad = []
    for number, target in _links(page):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not (where.exists() or where in GENERATED):
            bad.append(f"{page.name}:{number}: {target} (no such file)")
        elif anchor and where.suffix == ".md" and where.exists() and anchor not in _slugs(where):
            bad.append(f"{page.name}:{number}: {target} (no such heading)")
    assert not bad, "\n".join(bad)


def test_link_check_finds_a_broken_link(tmp_path):
    """The check above is not vacuous: a missing file and a missing heading are both caught."""
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[a](missing.md) [b](page.md#nowhere) [c](page.md#title) `[d](code.md)`\n")
    assert [t for _, t in _links(page)] == ["missing.md", "page.md#nowhere", "page.md#title"]
    assert _slugs(page) == {"title"}


# --- generated and checked content ----------------------------------------------------------

def test_reference_pages_are_fresh():
    """docs/reference/ is what tools/update_docs.py makes from the schema now."""
    assert _tool("update_docs").stale() == [], "run: python tools/update_docs.py"


def test_every_kind_has_a_reference_page():
    """Each actor and source kind named by the schema's enums has its own page (independent of the tool)."""
    schema = yaml.safe_load((REPO / "schemas" / "scene.schema.json").read_text())
    actors = schema["$defs"]["actor"]["properties"]["kind"]["enum"]
    sources = schema["$defs"]["source"]["properties"]["kind"]["enum"]
    for folder, kinds in (("actors", actors), ("sources", sources)):
        for kind in kinds:
            page = DOCS / "reference" / folder / f"{kind}.md"
            assert page.is_file(), f"no reference page for {folder[:-1]} kind {kind!r}"
            for key in schema["$defs"][f"{kind}_{folder[:-1]}"]["properties"]:
                if key != "kind":
                    assert f"`{key}`" in page.read_text(), f"{page.name} does not document {key!r}"


def test_architecture_names_every_module_of_the_layers():
    """docs/architecture.md names every module placed in the import-linter layers (pyproject.toml)."""
    tomllib = pytest.importorskip("tomllib", reason="Python < 3.11 reads no TOML without tomli")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in config if c["id"] == "stages")["layers"]
    modules = [m.strip() for layer in layers for m in layer.split("|")]
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    missing = [m for m in modules if f"`{m}`" not in text]
    assert not missing, f"docs/architecture.md does not place {missing} (see pyproject [tool.importlinter])"


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for page in [README, *PAGES]:
        for block in re.findall(rf"^```{language}\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S):
            found.append((page.relative_to(REPO).as_posix(), block))
    return found


def test_yaml_examples_are_valid():
    """Every YAML example in the README and docs is valid against its schema: whole scenes as they
    are, fragments (a section, a list of actors) inside a minimal scene, recipes against the recipe schema."""
    from jsonschema import Draft202012Validator

    import scenerender

    recipe = Draft202012Validator(yaml.safe_load((REPO / "schemas" / "recipe.schema.json").read_text()))
    blocks = _blocks("yaml")
    assert len(blocks) >= 10
    bad = []
    for where, block in blocks:
        doc = yaml.safe_load(block)
        if "recipe.schema.json" in block:
            bad += [f"{where}: recipe: {e.message}" for e in recipe.iter_errors(doc)]
            continue
        if isinstance(doc, list):
            doc = {"actors": doc}
        doc = {"version": 1, **doc}
        bad += [f"{where}: {p}" for p in scenerender.validate_scene(doc)]  # the schema only
    assert not bad, "\n".join(map(str, bad))


def test_python_examples_compile_and_name_real_api():
    import scenerender

    blocks = _blocks("python")
    assert blocks
    for where, block in blocks:
        compile(block, where, "exec")
        for name in re.findall(r"\bscenerender\.(\w+)", block):
            assert hasattr(scenerender, name) or importlib.util.find_spec(f"scenerender.{name}"), \
                f"{where}: scenerender.{name} does not exist"


@pytest.mark.slow
def test_readme_quick_start_runs(tmp_path):
    """The README's quick start commands and Python example run, offline, as written."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quick start"):text.index("## Documentation")]
    commands = [line.split("  #")[0].strip() for line in section.splitlines()
                if line.startswith("    scenerender ")]
    assert commands[0] == "scenerender render scenes/quickstart.yaml -o quickstart.png" and len(commands) >= 3
    (tmp_path / "scenes").symlink_to(SCENES)
    env = {**os.environ, "SCENERENDER_OFFLINE": "1"}
    for command in commands:
        args = shlex.split(command)
        done = subprocess.run([sys.executable, "-m", "scenerender", *args[1:]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}: {done.stderr}"
    with Image.open(tmp_path / "quickstart.png") as image:
        assert image.size == (1600, 1200)
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", python], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "brain.png") as image:
        assert image.size[0] > 0


# --- the site and its gallery ---------------------------------------------------------------

def _gallery_sections(page: str) -> dict[str, str]:
    parts = re.split(r'<h2 id="([^"]+)">', page)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _expected(path: Path) -> str | None:
    """Why the docs build cannot render a scene here (None: it must), found as the tests find it."""
    from public_services import ML_JSON
    from test_scenes import _missing_data

    from scenerender.fetch import fetched_sources

    missing = _missing_data(path)
    if missing:
        return missing[0]
    kinds = {s["kind"] for s in fetched_sources(yaml.safe_load(path.read_text())).values()}
    if kinds - RECORDED_KINDS:
        return "no recorded payload"
    if kinds and not ML_JSON.is_dir():
        return str(ML_JSON)
    return None


@pytest.mark.slow
def test_docs_site_builds_strict_with_current_gallery(tmp_path, request):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYVISTA_OFF_SCREEN": "true"}
    # mkdocs --strict: every mkdocs warning (a broken link or anchor, a page left out) is an error;
    # -W error: so is every Python warning raised while building (the gallery's renders included), as
    # pytest treats them (pyproject: deprecations ignored).
    quiet = [f"-Wignore::{w}" for w in ("DeprecationWarning", "PendingDeprecationWarning", "FutureWarning")]
    done = subprocess.run([sys.executable, "-W", "error", *quiet, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    for name in ("getting-started", "architecture", "guides/data-spaces", "guides/public-data",
                 "guides/registration", "reference/actors/heatmap", "reference/sources/mouselight"):
        assert (site / name / "index.html").is_file(), f"{name} is not in the site"

    import scenerender
    from scenerender.document import read_scene
    from scenerender.sweep import expand_sweep, has_sweep

    size = _tool("mkdocs_gallery").SIZE
    sections = _gallery_sections((site / "gallery" / "index.html").read_text())
    scenes = sorted(SCENES.glob("*.yaml"))
    assert sorted(sections) == sorted(p.stem for p in scenes), "the gallery is not every scene in scenes/"
    rendered = 0
    for path in scenes:
        section, why = sections[path.stem], _expected(path)
        code = html.unescape(re.sub(r"<[^>]+>", "", section[section.index("<code>", section.index("highlight")):]))
        assert path.read_text().strip() in code, f"{path.name}: its YAML is not shown beside it"
        picture = site / "gallery" / f"{path.stem}.png"
        if why is not None:
            assert not picture.exists() and f'src="{path.stem}.png"' not in section, f"{path.name} has a picture"
            assert "Not rendered by this build" in section and why in html.unescape(section), \
                f"{path.name}: the gallery does not say why it is not rendered ({why})"
            continue
        assert f'src="{path.stem}.png"' in section, f"{path.name} has no picture in the gallery"
        if fetched := yaml.safe_load(path.read_text()).get("sources"):
            if any(s.get("kind") in RECORDED_KINDS for s in fetched.values()):
                request.getfixturevalue("public_services")  # the tests' loopback services
        doc = read_scene(path)
        scene = scenerender.load_scene(doc, item=expand_sweep(doc)[0].name if has_sweep(doc) else None)
        fresh = scenerender.render(scene, size=size, scale=1)
        with Image.open(picture) as image:
            built = np.asarray(image)
        assert built.shape == (size[1], size[0], fresh.shape[2]), path.name
        assert np.array_equal(built, fresh), f"the gallery's {path.name} differs from a fresh render of it"
        rendered += 1
    assert rendered >= 1 and "quickstart" not in [p.stem for p in scenes if _expected(p)]
