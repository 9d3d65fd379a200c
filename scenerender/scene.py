"""A scene as a Python object, for notebooks and scripts.

:class:`Scene` holds a scene's YAML content and changes it with keyword
arguments that mirror the scene schema: ``add_region(regions="TH")``,
``set_camera(preset="top")``, ``set_render(size=[640, 480])``. The methods
and their signatures are made from ``schemas/scene.schema.json`` when this
module is imported (one ``add_<kind>`` per actor kind, one ``set_<key>`` per
top-level section), so they never drift from the schema. Every change is
validated at once by the same validator as a YAML file, and a problem is
reported with the same message and scene path, located at the line of the
Python call that made it. ``to_yaml()`` / ``save()`` write the scene file it
describes; in a notebook the scene shows itself as its rendered image (or a
video, for an animation), drawn by the same offscreen pipeline as the CLI.

>>> scene = Scene()                                   # doctest: +SKIP
>>> scene.add_region(regions=["TH", "CP"], alpha=0.8)  # doctest: +SKIP
>>> scene.save("figure.yaml")                          # doctest: +SKIP
"""

from __future__ import annotations

import copy
import inspect
import os
from pathlib import Path
from typing import Any

import yaml

from .document import ScenePath, SceneDocument, format_path, read_scene_text
from .errors import Problem, SceneError, SceneValidationError, RenderError
from .schema import actor_kinds, describe_type, resolve_ref, scene_schema, file_references
from .api import render
from .compile import Scene as LoadedScene, load_scene, compile_scene
from .display import video_html, show

_HERE = str(Path(__file__).resolve().parent)


def _caller() -> tuple[str, int]:
    """File and line of the first frame outside scenerender: the user's call."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            name = frame.f_code.co_filename
            if not os.path.abspath(name).startswith(_HERE + os.sep):
                return name, frame.f_lineno
            frame = frame.f_back
    finally:
        del frame
    return "<python>", 0


class _EditedDocument(SceneDocument):
    """A scene document some of whose values were set from Python: a problem
    under such a value is located at the call that set it."""

    edits: dict[ScenePath, tuple[str, int]]

    def problem(self, path: ScenePath, message: str, *, key: bool = False) -> Problem:
        probe = tuple(path)
        while True:
            if probe in self.edits:
                file, line = self.edits[probe]
                return Problem(file, line, None, format_path(path), message)
            if not probe:
                return super().problem(path, message, key=key)
            probe = probe[:-1]


def _edited(doc: SceneDocument, edits: dict) -> _EditedDocument:
    out = _EditedDocument(data=doc.data, file=doc.file, base_dir=doc.base_dir, value_marks=doc.value_marks,
                          key_marks=doc.key_marks)
    out.edits = dict(edits)
    return out


def _exclusive(section: str) -> dict[str, set[str]]:
    """Keys of a section that cannot be given together (the schema's ``not: {required: [a, b]}``)."""
    node = resolve_ref(scene_schema()["properties"].get(section, {}))
    pairs = [node["not"]["required"]] if "required" in node.get("not", {}) else []
    pairs += [sub["not"]["required"] for sub in node.get("allOf", []) if "required" in sub.get("not", {})]
    groups = {k: set(node.get("dependentRequired", {}).get(k, [])) | {k} for k in node.get("properties", {})}
    out: dict[str, set[str]] = {}
    for a, b in (tuple(p[:2]) for p in pairs):
        out.setdefault(a, set()).update(groups.get(b, {b}))
        out.setdefault(b, set()).update(groups.get(a, {a}))
        for member in groups.get(b, ()):  # position excludes preset, and so do focal_point and view_up
            out.setdefault(member, set()).add(a)
    return out


class Scene:
    """A scene you can change from Python, render, show inline and save as YAML.

    Parameters
    ----------
    source : str, Path, dict or None
        A scene file, YAML text or a dict, read and validated as
        :func:`scenerender.load_scene` does; ``None`` starts an empty scene
        (the embedded atlas, no actors).
    item : str, optional
        For a scene with a ``sweep:``, the sweep render to take.

    Raises
    ------
    SceneError
        When the scene is not valid, with every problem located.
    """

    def __init__(self, source: "str | Path | dict | SceneDocument | Scene | None" = None, *, item: str | None = None):
        self._edits: dict[ScenePath, tuple[str, int]] = {}
        if source is None:
            doc = SceneDocument(data={"version": 1, "actors": []}, file="<scene>", base_dir=Path.cwd())
            loaded = load_scene(doc)
        elif isinstance(source, Scene):
            loaded = source.loaded()
            self._edits = dict(source._edits)
        elif isinstance(source, LoadedScene):
            loaded = source
        else:
            loaded = load_scene(source, item=item)
        self._loaded = loaded
        self._render_cache: dict = {}

    # -- reading --------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str, *, base_dir: str | Path | None = None) -> "Scene":
        """A scene from YAML text; relative paths in it are taken from ``base_dir`` (default: here)."""
        return cls(read_scene_text(text, base_dir=Path(base_dir) if base_dir is not None else None))

    @property
    def file(self) -> str:
        """Where the scene was read from (``<string>``, ``<dict>``, ``<scene>`` when made here)."""
        return self._loaded.doc.file

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the scene are resolved against."""
        return self._loaded.doc.base_dir

    @property
    def data(self) -> dict:
        """The scene as written (a copy): what :meth:`to_yaml` writes."""
        return copy.deepcopy(self._loaded.doc.data)

    @property
    def spec(self) -> dict:
        """The scene with every schema default filled in (a copy)."""
        return copy.deepcopy(self._loaded.spec)

    def loaded(self):
        """The validated scene (:class:`scenerender.compile.Scene`) that the pipeline compiles."""
        return self._loaded

    def __scenerender_document__(self) -> SceneDocument:
        return _edited(self._loaded.doc, self._edits)

    def __repr__(self) -> str:
        spec = self._loaded.spec
        kinds: dict[str, int] = {}
        for actor in spec["actors"]:
            kinds[actor["kind"]] = kinds.get(actor["kind"], 0) + 1
        actors = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items()) or "none"
        camera = spec["camera"].get("preset", "explicit") if "position" not in spec["camera"] else "explicit"
        width, height = spec["render"]["size"]
        atlas = spec["atlas"] if isinstance(spec["atlas"], str) else spec["atlas"].get(
            "name", spec["atlas"].get("path", spec["atlas"].get("recipe")))
        extra = ", animated" if "animation" in spec else ""
        return (f"<Scene {Path(self.file).name if not self.file.startswith('<') else self.file}: "
                f"atlas {atlas}, actors: {actors}; camera {camera}; {width}x{height}{extra}>")

    # -- changing -------------------------------------------------------

    def _change(self, data: dict, touched: list[ScenePath], *, moved: ScenePath | None = None) -> "Scene":
        """Validate ``data`` as the new content; keep it only if valid."""
        where = _caller()
        edits = dict(self._edits)
        old = self._loaded.doc
        value_marks, key_marks = old.value_marks, old.key_marks
        if moved is not None:  # a list changed length: positions below it are no longer known
            edits = {p: w for p, w in edits.items() if p[:len(moved)] != moved}
            value_marks = {p: m for p, m in value_marks.items() if p[:len(moved)] != moved}
            key_marks = {p: m for p, m in key_marks.items() if p[:len(moved)] != moved}
        for path in touched:
            edits[path] = where
        doc = _edited(SceneDocument(data=data, file=old.file, base_dir=old.base_dir, value_marks=value_marks,
                                    key_marks=key_marks), edits)
        loaded = load_scene(doc)
        self._loaded, self._edits = loaded, edits
        self._render_cache.clear()
        return self

    def add(self, kind: str, **props: Any) -> "Scene":
        """Append an actor of ``kind`` with the given keys (see ``add_<kind>`` for each kind's keys)."""
        data = self.data
        data.setdefault("actors", []).append({"kind": kind, **props})
        return self._change(data, [("actors", len(data["actors"]) - 1)])

    def _actor_index(self, which: "int | str") -> int:
        actors = self._loaded.doc.data.get("actors", [])
        if isinstance(which, int) and -len(actors) <= which < len(actors):
            return which % len(actors)
        for index, actor in enumerate(actors):
            if isinstance(which, str) and actor.get("id") == which:
                return index
        ids = [a["id"] for a in actors if "id" in a]
        file, line = _caller()
        raise SceneError(Problem(file, line, None, "actors", f"no actor {which!r}: give an index below "
                                 f"{len(actors)}" + (f" or an id ({', '.join(ids)})" if ids else "")))

    def update_actor(self, which: "int | str", **props: Any) -> "Scene":
        """Change keys of one actor, by index or ``id``; a value of ``None`` removes the key."""
        index = self._actor_index(which)
        data = self.data
        actor = data["actors"][index]
        for key, value in props.items():
            if value is None:
                actor.pop(key, None)
            else:
                actor[key] = value
        return self._change(data, [("actors", index, key) for key in props])

    def remove_actor(self, which: "int | str") -> "Scene":
        """Remove one actor, by index or ``id``."""
        index = self._actor_index(which)
        data = self.data
        del data["actors"][index]
        return self._change(data, [], moved=("actors",))

    def add_source(self, name: str, kind: str, **props: Any) -> "Scene":
        """Add (or replace) the data source ``name``; ``path`` is relative to the scene's folder."""
        data = self.data
        data.setdefault("sources", {})[name] = {"kind": kind, **props}
        return self._change(data, [("sources", name)])

    def remove_source(self, name: str) -> "Scene":
        """Remove the data source ``name``."""
        data = self.data
        data.get("sources", {}).pop(name, None)
        return self._change(data, [], moved=("sources", name))

    def _set(self, section: str, value: Any, props: dict) -> "Scene":
        data = self.data
        if value is not _UNSET:
            if isinstance(value, str) and section == "camera":
                value = _camera_block(value)
            if value is None:
                data.pop(section, None)
            else:
                data[section] = copy.deepcopy(value)
            return self._change(data, [(section,)], moved=(section,))
        current = data.get(section)
        current = dict(current) if isinstance(current, dict) else {}
        excluded = _exclusive(section)
        for key, item in props.items():
            for other in excluded.get(key, ()):
                if other not in props:
                    current.pop(other, None)
            if item is None:
                current.pop(key, None)
            else:
                current[key] = item
        data[section] = current
        return self._change(data, [(section, key) for key in props] or [(section,)])

    # -- writing --------------------------------------------------------

    def to_yaml(self) -> str:
        """The scene as YAML text (as written: defaults are left out)."""
        return _dump(self._loaded.doc.data)

    def save(self, path: str | Path) -> Path:
        """Write the scene file, atomically. Relative file paths in the scene
        are rewritten so they still name the same files from ``path``'s folder."""
        import tempfile

        path = Path(path)
        data = self.data
        target = path.resolve().parent
        if target != Path(self.base_dir).resolve():
            for where, value in dict(file_references(data) + _other_paths(data)).items():
                if not os.path.isabs(value):
                    _put(data, where, os.path.relpath(Path(self.base_dir) / value, target))
        if not path.parent.is_dir():
            raise RenderError(f"{path}: folder {path.parent} does not exist; create it first")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".yaml", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(_dump(data))
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return path

    # -- drawing --------------------------------------------------------

    def compile(self, *, size: tuple[int, int] | None = None):
        """The compiled :class:`~scenerender.plan.ScenePlan`."""
        return compile_scene(self._loaded, size=size)

    def render(self, output: str | Path | None = None, *, size: tuple[int, int] | None = None,
               scale: int | None = None, time: float | None = None):
        """Render like :func:`scenerender.render`; returns a :class:`~scenerender.display.RenderedImage`."""
        return render(self, output, size=size, scale=scale, time=time)

    def _still(self):
        key = ("still", self.to_yaml(), str(self.base_dir))
        if key not in self._render_cache:
            self._render_cache.clear()
            self._render_cache[key] = self.render()
        return self._render_cache[key]

    def _repr_png_(self) -> bytes | None:
        return self._still()._repr_png_()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if "animation" in self._loaded.spec:
            return {"text/html": video_html(self), "text/plain": repr(self)}
        return {"image/png": self._repr_png_(), "text/plain": repr(self)}

    def show(self, *, interactive: bool = False, size: tuple[int, int] | None = None):
        """Show the scene in a notebook: its rendered image (a video for an
        animation), or with ``interactive=True`` a 3-D view to rotate (the
        standalone HTML viewer in an iframe; no window is opened) with a
        "copy camera" button giving the view as a ``camera:`` block.

        In IPython the view is displayed; elsewhere it is returned.
        """
        return show(self, interactive=interactive, size=size)


class _Unset:
    def __repr__(self) -> str:
        return "<unchanged>"


_UNSET: Any = _Unset()


def _camera_block(text: str) -> dict:
    """The mapping of a ``camera:`` YAML block (or of the camera keys alone)."""
    value = yaml.safe_load(text)
    if isinstance(value, dict) and set(value) == {"camera"}:
        value = value["camera"]
    if not isinstance(value, dict):
        file, line = _caller()
        raise SceneError(Problem(file, line, None, "camera", "this text is not a camera: paste a 'camera:' block "
                                                             "as the interactive view's 'copy camera' gives it"))
    return value


def _other_paths(data: dict) -> list[tuple[ScenePath, str]]:
    """Paths a scene names that are not input files: the atlas folder or recipe, the output, panel scenes."""
    found: list[tuple[ScenePath, str]] = []
    atlas = data.get("atlas")
    if isinstance(atlas, dict):
        for key in ("path", "recipe", "brainglobe_dir"):
            if isinstance(atlas.get(key), str):
                found.append((("atlas", key), atlas[key]))
    render = data.get("render")
    if isinstance(render, dict) and isinstance(render.get("output"), str):
        found.append((("render", "output"), render["output"]))
    for index, item in enumerate((data.get("panels") or {}).get("items", []) if isinstance(data.get("panels"), dict)
                                 else []):
        if isinstance(item, dict) and isinstance(item.get("scene"), str):
            found.append((("panels", "items", index, "scene"), item["scene"]))
    return found


def _put(data: Any, path: ScenePath, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


class _Dumper(yaml.SafeDumper):
    """Block style for mappings, short flat lists inline: ``size: [640, 480]``."""


def _represent_list(dumper, items):
    flat = all(not isinstance(v, (dict, list)) for v in items) and len(items) <= 8
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def _dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


# -- methods made from the schema --------------------------------------------

def _doc_table(node: dict) -> str:
    lines = []
    for name, prop in node.get("properties", {}).items():
        if name in ("kind", "$schema"):
            continue
        prop = resolve_ref(prop)
        default = f" (default {prop['default']!r})" if "default" in prop else ""
        lines.append(f"{name} : {describe_type(prop)}{default}\n    {prop.get('description', '')}")
    return "\n".join(lines)


def _signature(node: dict, *, leading: tuple[inspect.Parameter, ...] = ()) -> inspect.Signature:
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *leading]
    for name in node.get("properties", {}):
        if name in ("kind", "$schema") or not name.isidentifier():
            continue
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=_UNSET))
    return inspect.Signature(params)


def _make_adder(kind: str):
    node = resolve_ref(scene_schema()["$defs"][f"{kind}_actor"])

    def adder(self, **props):
        return self.add(kind, **props)

    adder.__name__ = adder.__qualname__ = f"add_{kind}"
    adder.__signature__ = _signature(node)  # type: ignore[attr-defined]  # read by inspect.signature
    adder.__doc__ = (f"Append a '{kind}' actor: {node.get('description', '')}\n\n"
                     f"Keywords (from the scene schema)\n--------------------------------\n{_doc_table(node)}")
    return adder


def _make_setter(section: str):
    node = resolve_ref(scene_schema()["properties"][section])
    objects = [resolve_ref(b) for b in node.get("oneOf", [])] or [node]
    merged = {"properties": {k: v for b in objects for k, v in b.get("properties", {}).items()}}

    def setter(self, value=_UNSET, /, **props):
        return self._set(section, value, props)

    setter.__name__ = setter.__qualname__ = f"set_{section}"
    setter.__signature__ = _signature(merged, leading=(  # type: ignore[attr-defined]  # read by inspect.signature
        inspect.Parameter("value", inspect.Parameter.POSITIONAL_ONLY, default=_UNSET),))
    setter.__doc__ = (f"Set '{section}': {node.get('description', '')}\n\n"
                      f"Give the whole value positionally (None removes the section"
                      f"{'; YAML text of a camera: block is read' if section == 'camera' else ''}), or change "
                      "single keys with keywords (None removes a key; a key the schema says cannot go with "
                      "another replaces it).\n\n"
                      f"Keywords (from the scene schema)\n--------------------------------\n{_doc_table(merged)}")
    return setter


def _install_schema_methods() -> None:
    for kind in actor_kinds():
        setattr(Scene, f"add_{kind}", _make_adder(kind))
    for section in scene_schema()["properties"]:
        if section in ("$schema", "version", "actors", "sources"):
            continue
        setattr(Scene, f"set_{section}", _make_setter(section))


_install_schema_methods()

__all__ = ["Scene", "SceneValidationError"]
