"""Stage 1: read a scene's YAML and remember where every key and value is.

The parsed data is plain Python (dicts, lists, scalars) exactly as
:func:`yaml.safe_load` would give; next to it a :class:`SceneDocument` keeps
the line and column of every node so later stages can point a user at the
exact place of a problem.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, cast

import yaml

from .errors import Problem, SceneError
from .limits import current_limits, how_to_raise, over_limit, PathRefused, resolve_scene_path

#: A location inside a scene: keys and list indices from the top.
ScenePath = tuple[Union[str, int], ...]


def format_path(path: ScenePath) -> str:
    """Write a scene path the way users read it: ``actors[2].alpha``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class SceneDocument:
    """A scene as read from YAML, with source positions.

    Attributes
    ----------
    data : dict
        The scene content.
    file : str
        Where it came from: a path, ``<string>`` or ``<dict>``.
    base_dir : Path
        Directory that relative paths in the scene are resolved against.
    value_marks, key_marks : dict
        1-based (line, column) of each value and each mapping key by path.
    """

    data: dict
    file: str
    base_dir: Path
    value_marks: dict[ScenePath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[ScenePath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: ScenePath, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column for ``path``; the nearest known ancestor otherwise."""
        marks = self.key_marks if key else self.value_marks
        probe = tuple(path)
        if probe in marks:
            return marks[probe]
        while probe:
            probe = probe[:-1]
            if probe in self.value_marks:
                return self.value_marks[probe]
        return (None, None)

    def problem(self, path: ScenePath, message: str, *, key: bool = False) -> Problem:
        """A :class:`Problem` located at ``path`` of this document."""
        line, col = self.locate(path, key=key)
        return Problem(self.file, line, col, format_path(path), message)

    def resolve_path(self, path: ScenePath, value: str, *, what: str = "file", error=None) -> Path:
        """The file or folder ``value`` (given at ``path`` in this scene),
        resolved against the scene's folder and checked against the sandbox
        (:func:`scenerender.limits.resolve_scene_path`).

        Raises
        ------
        SceneError
            (or ``error``, a SceneError subclass) located at ``path`` when the
            path is refused.
        """
        try:
            return resolve_scene_path(value, self.base_dir, what=what)
        except PathRefused as err:
            raise (error or SceneError)(self.problem(path, str(err))) from None


_STR_TAG = "tag:yaml.org,2002:str"
#: YAML tags that make values a scene has no use for (bytes, dates, sets, ordered pairs).
_REFUSED_TAGS = ("binary", "timestamp", "set", "omap", "pairs")


class SceneLoader(yaml.SafeLoader):
    """PyYAML's safe loader, narrowed to JSON-like values.

    Safe loading already refuses tags that construct Python objects
    (``!!python/object``); this also refuses ``!!binary``, ``!!timestamp``,
    ``!!set``, ``!!omap`` and ``!!pairs``, and reads unquoted dates as text,
    so a scene holds only mappings, lists, strings, numbers, booleans and null
    (what the JSON Schema describes).
    """


def _refuse_tag(loader: SceneLoader, node: yaml.Node):
    raise yaml.constructor.ConstructorError(
        None, None, f"the YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed in a scene "
        "(scenes hold only mappings, lists, text, numbers, true/false and null); remove the tag", node.start_mark)


def _construct_int(loader: SceneLoader, node: yaml.Node):
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:  # Python refuses int() of more than 4300 digits
        raise yaml.constructor.ConstructorError(
            None, None, f"{str(node.value)[:12]}... ({len(str(node.value))} characters) is too large a number; "
            "numbers in a scene are within +-1e15", node.start_mark) from None


SceneLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)

for _name in _REFUSED_TAGS:
    SceneLoader.add_constructor(f"tag:yaml.org,2002:{_name}", _refuse_tag)
SceneLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

#: Numbers beyond this magnitude are refused by default: no scene needs them (1e15 um
#: is a billion kilometres) and they overflow the geometry to infinity. The bound in
#: force is the ``value_magnitude`` limit (scenerender.limits).
MAX_MAGNITUDE = 1e15


class _TooBig(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def check_values(doc: SceneDocument) -> list[Problem]:
    """Problems with a scene's values that no schema can catch: values that
    are not JSON-like (with their type), keys that are not text, NaN,
    infinite or absurdly large numbers; and, as one problem, a scene that
    refers to itself, nests too deeply or expands (through YAML aliases) to
    more values than the ``scene_values`` limit.

    Each container is checked once, however many aliases share it, so an
    alias bomb is measured in linear time without expanding it.
    """
    check = _ValueCheck(doc)
    try:
        check.visit(doc.data, (), 0)
    except _TooBig as stop:
        return [stop.problem]
    return check.problems


class _ValueCheck:
    """One pass of :func:`check_values`: the size of each container already counted, the containers
    being visited (a value met again inside itself is a cycle), and the problems found."""

    def __init__(self, doc: SceneDocument):
        self.doc = doc
        self.limits = current_limits()
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.problems: list[Problem] = []

    def visit(self, value: Any, path: ScenePath, depth: int) -> int:
        """How many values ``value`` holds (itself included), each checked."""
        if isinstance(value, (dict, list)):
            return self._visit_container(value, path, depth)
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return 1
        if isinstance(value, int):
            self._check_integer(value, path)
        elif isinstance(value, float):
            self._check_float(value, path)
        else:
            self.problems.append(self.doc.problem(path, f"a value of type {type(value).__name__} cannot be in a "
                                                        "scene; use mappings, lists, text, numbers, true/false "
                                                        "or null"))
        return 1

    def _visit_container(self, value: dict | list, path: ScenePath, depth: int) -> int:
        """A mapping or list, counted once however many aliases share it; a cycle, too deep a nesting or
        too many values stop the check (:class:`_TooBig`)."""
        doc, limits = self.doc, self.limits
        ident = id(value)
        if ident in self.sizes:
            return self.sizes[ident]
        if ident in self.active:
            raise _TooBig(doc.problem(path, "this value contains itself (e.g. a YAML alias inside its own anchor); "
                                            "a scene must be a tree: copy the values instead"))
        if depth >= limits.scene_depth:
            raise _TooBig(doc.problem(path, f"the scene nests deeper than {limits.scene_depth} levels; "
                                            f"{how_to_raise('scene_depth')}"))
        self.active.add(ident)
        total = 1
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and not isinstance(key, str):
                self._key_not_text(key, path)
            total += self.visit(item, path + (key,), depth + 1)
            if total > limits.scene_values:
                raise _TooBig(doc.problem(path, f"the scene expands to more than {limits.scene_values:,} "
                                                "values (YAML aliases repeat their anchor's values; is this "
                                                f"an alias bomb?); {how_to_raise('scene_values')}"))
        self.active.discard(ident)
        self.sizes[ident] = total
        return total

    def _key_not_text(self, key: Any, path: ScenePath) -> None:
        """A mapping key that is not text, located at the key."""
        line, col = self.doc.locate(path + (key,), key=True)
        hint = " (unquoted yes/no/on/off/true/false are true/false in YAML)" if isinstance(key, bool) else ""
        self.problems.append(Problem(self.doc.file, line, col, f"{format_path(path)}.{key}" if path else str(key),
                                     f"key {key!r} is not text{hint}; quote the key"))

    def _check_integer(self, value: int, path: ScenePath) -> None:
        """An integer beyond the ``value_magnitude`` limit (a huge one named by its bit length)."""
        if abs(value) > self.limits.value_magnitude:
            shown = str(value) if value.bit_length() < 200 else f"a {value.bit_length()}-bit integer"
            self.problems.append(self.doc.problem(path, f"{shown} is too large a number; numbers in a scene lie "
                                                        f"within +-{self.limits.value_magnitude:g} "
                                                        f"({how_to_raise('value_magnitude')})"))

    def _check_float(self, value: float, path: ScenePath) -> None:
        """A NaN, an infinity, or a number beyond the ``value_magnitude`` limit."""
        if value != value or value in (float("inf"), float("-inf")):
            self.problems.append(self.doc.problem(path, f"{value} is not a finite number; give a number"))
        elif abs(value) > self.limits.value_magnitude:
            self.problems.append(self.doc.problem(path, f"{value:g} is too large a number; numbers in a scene lie "
                                                        f"within +-{self.limits.value_magnitude:g} "
                                                        f"({how_to_raise('value_magnitude')})"))


def _kind(value: Any) -> str:
    return {bool: "true/false", type(None): "null", int: "a number", float: "a number"}.get(type(value),
                                                                                          type(value).__name__)


def _walk(node: yaml.Node, path: ScenePath, doc: SceneDocument, problems: list[Problem],
          loader: SceneLoader, seen_nodes: set[int], depth: int = 0) -> None:
    doc.value_marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    # An aliased node is walked once (its later uses point at their alias):
    # linear in the file's size however the aliases nest, and safe on cycles.
    if id(node) in seen_nodes or depth > 256:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value if key_node.tag == _STR_TAG else loader.construct_object(key_node)
            else:
                key = f"<{key_node.id}>"
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(doc.file, line, key_node.start_mark.column + 1, format_path(path + (key,)),
                            f"duplicate key {key!r} (first given on line {seen[key]}); keep one")
                )
            seen[key] = line
            doc.key_marks[path + (key,)] = (line, key_node.start_mark.column + 1)
            _walk(value_node, path + (key,), doc, problems, loader, seen_nodes, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), doc, problems, loader, seen_nodes, depth + 1)


def _too_long(file: str, size: int) -> SceneError:
    return SceneError(Problem(file, None, None, "", over_limit("scene too long", size, "scene_bytes", " bytes")))


def read_scene_text(text: str, *, file: str = "<string>", base_dir: Path | None = None,
                    what: str = "a scene must be a mapping with keys such as 'version' and 'actors'",
                    accept_list: bool = False) -> SceneDocument:
    """Parse YAML text into a :class:`SceneDocument`.

    ``what`` says what a document that is not a mapping should have been
    (atlas recipes are read here too); ``accept_list`` also takes a list
    (data files such as a recipe's structures list are read here, safely).

    Raises
    ------
    SceneError
        For YAML syntax errors (with their line), duplicate keys, a document
        that is not a mapping, values a scene cannot hold (see
        :func:`check_values`), or a text over the ``scene_bytes`` limit.
    """
    if len(text) > current_limits().scene_bytes:
        raise _too_long(file, len(text))
    base = base_dir if base_dir is not None else Path.cwd()
    try:
        loader = SceneLoader(text)  # checks the characters first
    except yaml.reader.ReaderError as err:
        raise SceneError(Problem(file, None, None, "", f"not a YAML text: {err.reason} (character "
                                                       f"#x{err.character:04x} at offset {err.position}); "
                                                       "is this a scene file?")) from None
    try:
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        except yaml.constructor.ConstructorError as err:
            mark = err.problem_mark or err.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
            said = err.problem or ""
            if "could not determine a constructor" in said:
                tag = said.split("'")[1].replace("tag:yaml.org,2002:", "!!") if "'" in said else "this tag"
                said = (f"the YAML tag {tag} is not allowed: scenes are read safely, no tag constructs objects "
                        "or runs code; remove the tag")
            raise SceneError(Problem(file, line, col, "", said)) from None
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
            said = " ".join(s for s in (err.context, err.problem) if s)
            raise SceneError(Problem(file, line, col, "", f"YAML syntax error: {said}; check indentation and quoting")) from None
        except yaml.YAMLError as err:
            raise SceneError(Problem(file, None, None, "", f"YAML error: {err}")) from None
        except RecursionError:
            raise SceneError(Problem(file, None, None, "", "the YAML nests too deeply to read; a scene needs "
                                                           "a few levels of mappings and lists")) from None
        if not isinstance(data, dict) and not (accept_list and isinstance(data, list)):
            kind = "empty" if data is None else _kind(data)
            raise SceneError(Problem(file, 1, 1, "", f"{what}, got {kind} document"))
        doc = SceneDocument(data=cast(dict, data), file=file, base_dir=base)  # a list only where accept_list
        problems: list[Problem] = []
        _walk(node, (), doc, problems, loader, set())
    finally:
        loader.dispose()
    problems += check_values(doc)
    if problems:
        raise SceneError(sorted(problems, key=lambda p: (p.line or 0, p.col or 0)))
    return doc


def read_scene(source: "str | Path | dict | SceneDocument") -> SceneDocument:
    """Read a scene from a path, a YAML string or a dict.

    A :class:`~pathlib.Path`, or a string naming an existing file or ending in
    ``.yaml``/``.yml``, is read as a file; any other string is YAML text.
    """
    if isinstance(source, SceneDocument):
        return source
    if hasattr(source, "__scenerender_document__"):  # a scenerender.Scene built in Python
        return source.__scenerender_document__()
    if isinstance(source, dict):
        return _scene_from_dict(source)
    if isinstance(source, str) and "\n" not in source and (
        source.endswith((".yaml", ".yml")) or Path(source).is_file()
    ):
        source = Path(source)
    if isinstance(source, Path):
        return _read_scene_file(source)
    if isinstance(source, str):
        return read_scene_text(source)
    raise TypeError(f"a scene is a path, a YAML string or a dict, not {type(source).__name__}")


def _scene_from_dict(source: dict) -> SceneDocument:
    """A scene given as a dict: its values checked, then a copy of it (the caller's dict is theirs)."""
    doc = SceneDocument(data=source, file="<dict>", base_dir=Path.cwd())
    problems = check_values(doc)  # before copying: a cyclic or huge dict must not be deep-copied
    if problems:
        raise SceneError(problems)
    return SceneDocument(data=copy.deepcopy(source), file="<dict>", base_dir=Path.cwd())


def _read_scene_file(source: Path) -> SceneDocument:
    """A scene file: a regular file within the ``scene_bytes`` limit, read as UTF-8 YAML."""
    try:
        if source.is_dir():
            raise SceneError(Problem(str(source), None, None, "", "is a folder, not a scene file; name a .yaml file"))
        if source.exists() and not source.is_file():  # a FIFO or device would block or never end
            raise SceneError(Problem(str(source), None, None, "", "is not a regular file; name a .yaml file"))
        size = source.stat().st_size
        if size > current_limits().scene_bytes:
            raise _too_long(str(source), size)
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SceneError(Problem(str(source), None, None, "", "scene file not found; check the path")) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SceneError(Problem(str(source), None, None, "", f"cannot read scene file: {err}")) from None
    return read_scene_text(text, file=str(source), base_dir=source.resolve().parent)
