"""Stage 2: check a scene against ``schemas/scene.schema.json``.

Every schema error becomes one :class:`~scenerender.errors.Problem` located at
the line of the offending key or value, worded for a person: what is wrong
and, where possible, what would be right (did-you-mean for misspelt keys and
enum values). Only the most specific errors are kept and duplicates dropped.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from typing import Callable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .document import ScenePath, SceneDocument
from .errors import Problem, SceneValidationError
from .schema import resolve_ref, scene_schema
from .suggest import did_you_mean  # noqa: F401  (moved to suggest.py; importable here as before)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    # The schema itself is checked by the tests (tests/test_contract.py), not on every run.
    return Draft202012Validator(scene_schema())


def _show(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_WORDS = {"number": "a number", "integer": "a whole number", "string": "a string",
               "array": "a list", "object": "a mapping", "boolean": "true or false", "null": "null"}


def _type_word(kind) -> str:
    kinds = kind if isinstance(kind, list) else [kind]
    return " or ".join(str(_TYPE_WORDS.get(k, k)) for k in kinds)


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The most specific errors under a oneOf/anyOf, best branch first."""
    if error.validator not in ("oneOf", "anyOf") or not error.context or _alternative_keys(error):
        return [error]
    # Group sub-errors by branch; the branch that got deepest is the one the
    # user most likely meant (e.g. the object form of 'atlas').
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        by_branch.setdefault(sub.schema_path[0], []).append(sub)
    type_only = all(e.validator == "type" for subs in by_branch.values() for e in subs)
    if type_only:
        return [error]
    best = max(by_branch.values(), key=lambda subs: (max(len(e.path) for e in subs), -len(subs),
                                                     all(e.validator != "type" for e in subs)))
    out: list[ValidationError] = []
    for sub in best:
        out.extend(_leaves(sub))
    return out


#: How a 'pattern' failure is worded, by pattern; others quote the schema's description.
_PATTERN_WORDS = {"^[A-Za-z0-9][A-Za-z0-9_.-]*$": "a valid name (letters, digits, '_', '-', '.')"}


def _alternative_keys(error: ValidationError) -> list[str]:
    """For a oneOf of single required keys (give 'ids' or 'soma_in'), those keys; else []."""
    branches = error.validator_value if error.validator == "oneOf" else None
    if not isinstance(branches, list) or not all(isinstance(b, dict) and set(b) == {"required"}
                                                  and len(b["required"]) == 1 for b in branches):
        return []
    return [b["required"][0] for b in branches]


#: What one worded error is: (message, path, point-at-key).
_Worded = tuple[str, ScenePath, bool]


def _unknown_key(error: ValidationError, path: ScenePath) -> _Worded:
    """additionalProperties: the first unknown key, with a did-you-mean or the valid keys."""
    allowed = list(error.schema.get("properties", {}))
    extras = [k for k in error.instance if k not in allowed]
    key = extras[0]
    extra = f"; did you mean {difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)[0]!r}?" \
        if difflib.get_close_matches(key, allowed, n=1, cutoff=0.6) else f"; valid keys here: {', '.join(k for k in allowed if k != '$schema')}"
    return f"unknown key {key!r}{extra}", path + (key,), True


def _missing_key(error: ValidationError, path: ScenePath) -> _Worded:
    """required: the missing key (a scene without 'version' is told to add it first)."""
    missing = error.message.split("'")[1] if "'" in error.message else error.message
    fix = "; add 'version: 1' as the first line" if missing == "version" and not path else ""
    return f"missing required key {missing!r}{fix}", path, False


def _needs_key(error: ValidationError, path: ScenePath) -> _Worded:
    """dependentRequired: the key given, and the keys it needs as well."""
    value = error.instance
    have = next(k for k in error.validator_value if k in value and any(r not in value for r in error.validator_value[k]))
    need = [r for r in error.validator_value[have] if r not in value]
    return f"{have!r} needs {' and '.join(repr(n) for n in need)} as well", path + (have,), True


def _not_a_choice(error: ValidationError, path: ScenePath) -> _Worded:
    """enum: the choices, with a did-you-mean for a string."""
    value, choices = error.instance, error.validator_value
    return (f"{_show(value)} is not one of {', '.join(_show(c) for c in choices)}"
            f"{did_you_mean(value, choices) if isinstance(value, str) else ''}"), path, False


def _not_the_constant(error: ValidationError, path: ScenePath) -> _Worded:
    """const: the one value allowed."""
    return f"{_show(error.instance)} is not allowed here; expected {_show(error.validator_value)}", path, False


def _wrong_type(error: ValidationError, path: ScenePath) -> _Worded:
    """type: the type expected, in words."""
    return f"expected {_type_word(error.validator_value)}, got {_show(error.instance)}", path, False


_BOUND_WORDS = {"minimum": "is less than the minimum", "maximum": "is greater than the maximum",
                "exclusiveMinimum": "must be greater than", "exclusiveMaximum": "must be less than"}


def _out_of_bounds(error: ValidationError, path: ScenePath) -> _Worded:
    """minimum, maximum and their exclusive forms: the bound."""
    return f"{_show(error.instance)} {_BOUND_WORDS[error.validator]} {error.validator_value}", path, False


def _wrong_length(error: ValidationError, path: ScenePath) -> _Worded:
    """minItems, maxItems: the length expected (exactly, where both bounds are equal)."""
    n = error.schema.get("minItems")
    if n is not None and n == error.schema.get("maxItems"):
        return f"expected a list of exactly {n} items, got {len(error.instance)}", path, False
    bound = "at least" if error.validator == "minItems" else "at most"
    return f"expected {bound} {error.validator_value} items, got {len(error.instance)}", path, False


def _no_sources(error: ValidationError, path: ScenePath) -> _Worded | None:
    """maxProperties 0 (a version without data sources); other counts are worded generically."""
    if error.validator_value != 0:
        return None
    return ("data sources are not supported by this version of scenerender yet; "
            "remove the entries under 'sources'"), path, False


def _no_match(error: ValidationError, path: ScenePath) -> _Worded:
    """pattern: the pattern in words, else the schema's description."""
    pattern_words = _PATTERN_WORDS.get(error.validator_value)
    if pattern_words is None:
        return f"{_show(error.instance)} is not valid: {error.schema.get('description', error.message)}", path, False
    return f"{_show(error.instance)} is not {pattern_words}", path, False


def _empty(error: ValidationError, path: ScenePath) -> _Worded:
    """minLength: an empty string."""
    return "must not be empty", path, False


def _both_given(error: ValidationError, path: ScenePath) -> _Worded:
    """not: the schema's 'not's forbid two alternative keys together."""
    first, second = error.validator_value.get("required", ["?", "?"])[:2]
    other = "'position'/'focal_point'/'view_up'" if second == "position" else repr(second)
    return f"give either {first!r} or {other}, not both", path + (first,), True


#: How each kind of schema error is worded, by its validator keyword (None: worded generically).
_WORDING: dict[str, Callable[[ValidationError, ScenePath], _Worded | None]] = {
    "additionalProperties": _unknown_key, "required": _missing_key, "dependentRequired": _needs_key,
    "enum": _not_a_choice, "const": _not_the_constant, "type": _wrong_type,
    **{bound: _out_of_bounds for bound in _BOUND_WORDS}, "minItems": _wrong_length, "maxItems": _wrong_length,
    "maxProperties": _no_sources, "pattern": _no_match, "minLength": _empty, "not": _both_given,
}


def _message(error: ValidationError, root: dict | None = None) -> _Worded:
    """(message, path, point-at-key) for one leaf error; ``root`` is the whole
    schema (default: the scene schema)."""
    path: ScenePath = tuple(error.absolute_path)
    wording = _WORDING.get(str(error.validator))
    worded = wording(error, path) if wording is not None else None
    if worded is not None:
        return worded
    value = error.instance
    keys = _alternative_keys(error)
    if keys and isinstance(value, dict):
        given = [k for k in keys if k in value]
        if len(given) > 1:
            return f"give either {given[0]!r} or {given[1]!r}, not both", path + (given[1],), True
        return f"missing a key: give {' or '.join(repr(k) for k in keys)}", path, False
    if error.validator in ("oneOf", "anyOf"):
        described = resolve_ref(error.schema, root or scene_schema()).get("description", "")
        return f"{_show(value)} is not valid here. {described}".strip(), path, False
    return error.message, path, False


def problems_in(doc: SceneDocument) -> list[Problem]:
    """Every schema problem in a scene document, in file order."""
    return schema_problems(doc, _validator(), scene_schema())


def schema_problems(doc: SceneDocument, validator: Draft202012Validator, root: dict) -> list[Problem]:
    """Every problem of ``doc`` against the schema ``root`` (checked by
    ``validator``), located and worded as for scenes, in file order. Used
    for scenes and for atlas recipes."""
    problems: list[Problem] = []
    seen: set[tuple] = set()
    for error in validator.iter_errors(doc.data):
        for leaf in _leaves(error):
            message, path, at_key = _message(leaf, root)
            problem = doc.problem(path, message, key=at_key)
            ident = (problem.path, problem.message)
            if ident not in seen:
                seen.add(ident)
                problems.append(problem)
    # Drop an error about a whole object when a more specific one is inside it.
    specific = [p for p in problems if not any(
        q is not p and q.path.startswith(p.path) and len(q.path) > len(p.path) and p.message.endswith("is not valid here.")
        for q in problems)]
    return sorted(specific, key=lambda p: (p.line or 0, p.col or 0, p.path))


def check_scene(doc: SceneDocument) -> None:
    """Raise :class:`SceneValidationError` listing every problem, if any."""
    problems = problems_in(doc)
    if problems:
        raise SceneValidationError(problems)
