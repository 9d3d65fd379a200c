"""Sweeps: one scene file, many renders, with values substituted.

A scene's ``sweep:`` declares variables, as a ``product`` of value lists or a
``table`` of rows (inline or a CSV file). Each combination or row is one
render: every ``${name}`` in the scene's strings is replaced by that render's
value, and the render is named by ``sweep.name``. Each expanded scene is
validated on its own, with problems still pointing at the scene file's lines.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .document import SceneDocument, ScenePath
from .errors import LimitError, Problem, SceneError, SceneValidationError
from .limits import PathRefused, check_input_file, check_limit, current_limits, over_limit
from .readers.tables import DataFileError, read_delimited, scan_text  # not the package: its mesh readers use VTK
from .schema import scene_schema
from .validate import problems_in, schema_problems

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass(frozen=True)
class SweepItem:
    """One render of a sweep: its output name, its values and its scene."""

    name: str
    values: dict[str, Any]
    doc: SceneDocument = field(repr=False)


def _safe_name(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-.") or "render"


def _sweep_problems(doc: SceneDocument) -> list[Problem]:
    root = scene_schema()
    only_sweep = {"type": "object", "properties": {"sweep": {"$ref": "#/$defs/sweep"}}, "$defs": root["$defs"]}
    return schema_problems(doc, Draft202012Validator(only_sweep), root)


def _read_table(doc: SceneDocument, relative: str) -> list[dict]:
    where = ("sweep", "table")
    path = doc.resolve_path(where, relative, what="sweep table")
    try:  # a regular file (a FIFO or device would block), bounded lines, rows and columns, before parsing
        if check_input_file(path, what="sweep table", shown=relative, missing_ok=True) < 0:
            raise SceneError(doc.problem(where, f"sweep table {relative!r} not found (looked at {path}); "
                                                "paths are relative to the scene file"))
        lines, first = scan_text(path, what="the sweep table")
        if not (first or b"").strip():
            raise SceneError(doc.problem(where, f"sweep table {path} has no rows; add one row per render "
                                                "below a header row naming the variables"))
        if lines - 1 > current_limits().renders:
            raise SceneError(doc.problem(where, over_limit("the sweep has too many renders", lines - 1, "renders")))
        table = read_delimited(path, "csv", what="the sweep table", text=True)
    except PathRefused as err:
        raise SceneError(doc.problem(where, f"sweep table {relative!r}: {err}")) from None
    except (DataFileError, OSError) as err:
        raise SceneError(doc.problem(where, f"cannot read sweep table {path}: {err}; give a UTF-8 CSV file "
                                            "whose first row names the variables")) from None
    if table.empty:
        raise SceneError(doc.problem(where, f"sweep table {path} has no rows; add one row per render "
                                            "below a header row naming the variables"))
    names = [str(name) for name in table.columns]
    bad = [name for name in names if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)]
    if bad:
        raise SceneError(doc.problem(where, f"sweep table {path}: header names must be variable names "
                                            f"(letters, digits, '_'); check {bad}"))
    return [{name: _cell(value) for name, value in zip(names, row)} for row in table.itertuples(index=False)]


def _cell(text: str):
    """A CSV cell as a number when it reads as one (so 'alpha: ${alpha}' gets 0.5), else text."""
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return text
        return value if value == value and abs(value) != float("inf") else text


def _combinations(doc: SceneDocument, sweep: dict) -> list[dict]:
    if "product" in sweep:
        names = list(sweep["product"])
        count = math.prod(len(sweep["product"][n]) for n in names)  # before expanding: a product can explode
        if not check_limit(count, "renders"):
            raise LimitError(doc.problem(("sweep", "product"), over_limit("the sweep has too many renders", count,
                                                                          "renders")))
        return [dict(zip(names, combo)) for combo in itertools.product(*(sweep["product"][n] for n in names))]
    table = sweep["table"]
    rows = _read_table(doc, table) if isinstance(table, str) else table
    if not check_limit(len(rows), "renders"):
        raise LimitError(doc.problem(("sweep", "table"), over_limit("the sweep has too many renders", len(rows),
                                                                    "renders")))
    names = list(rows[0])
    for index, row in enumerate(rows):
        if list(row) != names and set(row) != set(names):
            raise SceneError(doc.problem(("sweep", "table", index) if not isinstance(table, str) else ("sweep", "table"),
                                         f"row {index + 1} has variables {sorted(row)}, the first row has "
                                         f"{sorted(names)}; give every row the same variables"))
    return [dict(row) for row in rows]


def _item_name(doc: SceneDocument, sweep: dict, values: dict) -> str:
    pattern = sweep.get("name")
    if pattern is None:
        return _safe_name("_".join(str(v) for v in values.values()))
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
        missing = [f for f in fields if f not in values]
        if missing:
            raise SceneError(doc.problem(("sweep", "name"), f"{{{missing[0]}}} is not a sweep variable "
                                                            f"(variables: {', '.join(values)})"))
        return _safe_name(pattern.format_map(values))
    except (ValueError, IndexError, AttributeError) as err:
        raise SceneError(doc.problem(("sweep", "name"), f"{pattern!r} is not a name pattern ({err}); write "
                                                        "variables in braces, e.g. '{region}_{view}'")) from None


def _substitute(value: Any, values: dict, path: ScenePath, doc: SceneDocument, problems: list[Problem]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, values, (*path, k), doc, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, (*path, i), doc, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    unknown = [m.group(1) for m in _VARIABLE.finditer(value) if m.group(1) not in values]
    if unknown:
        problems.append(doc.problem(path, f"${{{unknown[0]}}} is not a sweep variable "
                                          f"(variables: {', '.join(values)}); define it under sweep:"))
        return value
    whole = _VARIABLE.fullmatch(value)
    if whole:
        return copy.deepcopy(values[whole.group(1)])
    return _VARIABLE.sub(lambda m: str(values[m.group(1)]), value)


def has_sweep(doc: SceneDocument) -> bool:
    return isinstance(doc.data, dict) and "sweep" in doc.data


def expand_sweep(doc: SceneDocument) -> list[SweepItem]:
    """The renders a scene declares: one item without a sweep, else one per
    combination or row. Items' scenes are not yet validated.

    Raises
    ------
    SceneError
        For a malformed ``sweep:``, an unknown ``${variable}``, or two
        renders with the same name.
    """
    if not has_sweep(doc):
        return [SweepItem(name=Path(doc.file).stem if not doc.file.startswith("<") else "scene", values={}, doc=doc)]
    problems = _sweep_problems(doc)
    if problems:
        raise SceneError(problems)
    sweep = doc.data["sweep"]
    body = {k: v for k, v in doc.data.items() if k != "sweep"}
    items: list[SweepItem] = []
    seen: dict[str, int] = {}
    for index, values in enumerate(_combinations(doc, sweep)):
        name = _item_name(doc, sweep, values)
        if name in seen:
            raise SceneError(doc.problem(("sweep", "name") if "name" in sweep else ("sweep",),
                                         f"renders {seen[name] + 1} and {index + 1} are both named {name!r}; "
                                         "give sweep.name a pattern that uses every variable that varies"))
        seen[name] = index
        problems = []
        data = _substitute(body, values, (), doc, problems)
        if problems:
            raise SceneError(problems)
        item_doc = SceneDocument(data=data, file=doc.file, base_dir=doc.base_dir,
                                 value_marks=doc.value_marks, key_marks=doc.key_marks)
        items.append(SweepItem(name=name, values=values, doc=item_doc))
    return items


def check_item(item: SweepItem, *, swept: bool) -> None:
    """Validate one render's scene; problems name the render for a sweep."""
    problems = problems_in(item.doc)
    if problems and swept:
        label = ", ".join(f"{k}={v}" for k, v in item.values.items())
        problems = [Problem(p.file, p.line, p.col, p.path, f"{p.message} (in sweep render {item.name!r}: {label})")
                    for p in problems]
    if problems:
        raise SceneValidationError(problems)
