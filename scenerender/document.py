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
from typing import Any, Union

import yaml

from .errors import Problem, SceneError

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


def _walk(node: yaml.Node, path: ScenePath, doc: SceneDocument, problems: list[Problem]) -> None:
    doc.value_marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(doc.file, line, key_node.start_mark.column + 1, format_path(path + (key,)),
                            f"duplicate key {key!r} (first given on line {seen[key]}); keep one")
                )
            seen[key] = line
            doc.key_marks[path + (key,)] = (line, key_node.start_mark.column + 1)
            _walk(value_node, path + (key,), doc, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), doc, problems)


def read_scene_text(text: str, *, file: str = "<string>", base_dir: Path | None = None,
                    what: str = "a scene must be a mapping with keys such as 'version' and 'actors'") -> SceneDocument:
    """Parse YAML text into a :class:`SceneDocument`.

    ``what`` says what a document that is not a mapping should have been
    (atlas recipes are read here too).

    Raises
    ------
    SceneError
        For YAML syntax errors (with their line), duplicate keys, or a
        document that is not a mapping.
    """
    base = base_dir if base_dir is not None else Path.cwd()
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        what = " ".join(s for s in (err.context, err.problem) if s)
        raise SceneError(Problem(file, line, col, "", f"YAML syntax error: {what}; check indentation and quoting")) from None
    except yaml.YAMLError as err:
        raise SceneError(Problem(file, None, None, "", f"YAML error: {err}")) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise SceneError(Problem(file, 1, 1, "", f"{what}, got {kind} document"))
    doc = SceneDocument(data=data, file=file, base_dir=base)
    problems: list[Problem] = []
    _walk(node, (), doc, problems)
    if problems:
        raise SceneError(problems)
    return doc


def read_scene(source: "str | Path | dict | SceneDocument") -> SceneDocument:
    """Read a scene from a path, a YAML string or a dict.

    A :class:`~pathlib.Path`, or a string naming an existing file or ending in
    ``.yaml``/``.yml``, is read as a file; any other string is YAML text.
    """
    if isinstance(source, SceneDocument):
        return source
    if isinstance(source, dict):
        return SceneDocument(data=copy.deepcopy(source), file="<dict>", base_dir=Path.cwd())
    if isinstance(source, str) and "\n" not in source and (
        source.endswith((".yaml", ".yml")) or Path(source).is_file()
    ):
        source = Path(source)
    if isinstance(source, Path):
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SceneError(Problem(str(source), None, None, "", "scene file not found; check the path")) from None
        except (OSError, UnicodeDecodeError) as err:
            raise SceneError(Problem(str(source), None, None, "", f"cannot read scene file: {err}")) from None
        return read_scene_text(text, file=str(source), base_dir=source.resolve().parent)
    if isinstance(source, str):
        return read_scene_text(source)
    raise TypeError(f"a scene is a path, a YAML string or a dict, not {type(source).__name__}")
