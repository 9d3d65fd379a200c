"""Neuron graphs (SWC, MouseLight JSON), checked as trees in linear-ish time."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..limits import current_limits, how_to_raise, over_limit
from ._common import DataFileError, _quiet, scan_text

# ------------------------------------------------------------ neuron graphs


def check_tree(ids, parents, where) -> None:
    """Check a node graph: ids unique, every parent an id (or negative: a
    root), no cycles. ``where(i)`` names row ``i`` in messages (a line
    number, a JSON path). Vectorised: sorting, then pointer jumping (each
    round doubles how far every node has looked towards its root), so a
    tree of millions of nodes takes a fraction of a second."""
    ids = np.asarray(ids, dtype=np.int64)
    parents = np.asarray(parents, dtype=np.int64)
    n = len(ids)
    if n == 0:
        return
    order = np.argsort(ids, kind="stable")
    ranked = ids[order]
    same = np.nonzero(ranked[1:] == ranked[:-1])[0]
    if len(same):
        pairs = sorted((int(order[k + 1]), int(order[k])) for k in same)
        later, first = pairs[0]
        raise DataFileError(
            f"{where(later)}: node id {ids[later]} is used twice (first at {where(first)}); ids must be unique"
        )
    slot = np.minimum(np.searchsorted(ranked, parents), n - 1)
    found = ranked[slot] == parents
    missing = np.nonzero((parents >= 0) & ~found)[0]
    if len(missing):
        i = int(missing[0])
        raise DataFileError(
            f"{where(i)}: parent {parents[i]} of node {ids[i]} is not a node in the file; roots have parent -1"
        )
    up = np.where(parents >= 0, order[slot], -1)  # row of each row's parent, -1 at roots
    for _ in range(int(np.ceil(np.log2(n + 1))) + 1):
        up = np.where(up >= 0, up[np.maximum(up, 0)], -1)
    stuck = np.nonzero(up >= 0)[0]
    if len(stuck):
        i = int(stuck[0])
        raise DataFileError(
            f"{where(i)}: node {ids[i]} never reaches a root: its parents form a cycle; a neuron is a tree"
        )


@_quiet
def read_swc(path: Path) -> np.ndarray:
    """SWC rows (id, type, x, y, z, radius, parent) as an N x 7 float array,
    checked (bounded lines and count, numbers, unique ids, existing parents,
    no cycles) with the line number in every message."""
    import pandas as pd

    scan_text(path, what="the SWC file")
    try:
        table = pd.read_csv(
            path,
            sep=r"\s+",
            comment="#",
            header=None,
            engine="c",
            skip_blank_lines=True,
            on_bad_lines="error",
        )
    except pd.errors.EmptyDataError:
        raise DataFileError("it holds no nodes") from None
    except (pd.errors.ParserError, ValueError) as err:
        raise DataFileError(" ".join(str(err).split())[:200]) from None
    if table.shape[1] < 7:
        raise DataFileError(f"expected 7 numbers a line (id type x y z radius parent), got {table.shape[1]}")
    columns = table.iloc[:, :7]
    if any(dtype.kind not in "biuf" for dtype in columns.dtypes):  # some text: find the row
        columns = columns.apply(pd.to_numeric, errors="coerce")
    numbers = columns.to_numpy(dtype=float)
    bad = np.nonzero(~np.isfinite(numbers).all(axis=1))[0]
    if len(bad):
        raise DataFileError(f"line {_line_of_row(path, int(bad[0]))}: expected 7 numbers (id type x y z radius parent)")
    whole = numbers[:, [0, 1, 6]]
    bad = np.nonzero((whole != np.round(whole)).any(axis=1) | (np.abs(whole) > 2**53).any(axis=1))[0]
    if len(bad):
        raise DataFileError(f"line {_line_of_row(path, int(bad[0]))}: id, type and parent must be whole numbers")
    check_tree(
        numbers[:, 0].astype(np.int64),
        numbers[:, 6].astype(np.int64),
        lambda i: f"line {_line_of_row(path, i)}",
    )
    return numbers


def _line_of_row(path: Path, row: int) -> int:
    """The line number of data row ``row`` of a text file ('#' comments and
    blank lines skipped); only called to word an error, so a plain loop."""
    seen = -1
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if line.split(b"#", 1)[0].strip():
                seen += 1
                if seen == row:
                    return number
    return seen + 1


#: Deepest nesting a MouseLight JSON may have (a real one nests 4 deep).
JSON_MAX_DEPTH = 32
#: Bytes a JSON neuron file may be, as a fraction of ``array_bytes``.
_JSON_FILE_SHARE = 8
#: Python memory the parsed JSON may take, as a fraction of ``array_bytes``,
#: estimated from its text before parsing (see :func:`_json_memory`).
_JSON_SHARE = 4


#: A coordinate written as text: a plain decimal number, at most 64 characters
#: (no NaN, Infinity, hex or underscores).
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_TEXT_MAX = 64


def _json_line(text: bytes, at: int) -> int:
    return text.count(b"\n", 0, at) + 1


def _json_memory(counts: dict[str, int]) -> tuple[int, int, int, int]:
    """(objects and lists, values, strings, bytes of Python memory) a JSON text
    would take once parsed, from the counts of its structural characters
    outside strings and of its strings (:func:`_json_structure`).

    An upper bound measured on CPython 3.11 (tracemalloc) for every shape
    tried: 200 bytes an object (a dict holds up to 5 keys in that), 64 a
    list, 48 a value (its object and its slot in a dict or list), 64 more a
    string value. A list's values are counted as its commas that are not
    between an object's keys; the text of strings is bounded by the file's
    size. A MouseLight neuron of 9 keys a sample is estimated at 680 bytes
    a sample and takes ~500."""
    dicts, lists, colons = counts["{"], counts["["], counts[":"]
    elements = max(counts[","] - colons + dicts, 0) + lists
    values = colons + elements
    strings = max(counts['"'] // 2 - colons, 0)
    return dicts + lists, values, strings, 200 * dicts + 64 * lists + 48 * values + 64 * strings


#: Bytes of JSON text looked at in one go by :func:`_json_structure`.
_JSON_BLOCK = 1 << 23


def _json_structure(data: bytes) -> tuple[dict[str, int], int, int | None, int | None]:
    """One pass over a JSON text with numpy, a block at a time, strings left
    out (escaped quotes and backslashes blanked first, in a copy of the same
    length; a quote's parity carried from block to block). Returns the
    counts of ``{ [ : ,`` outside strings and of quotes, the deepest
    nesting, where it first passes :data:`JSON_MAX_DEPTH` (or None) and
    where the first ``N`` or ``I`` outside strings is (or None): only NaN
    and Infinity start so. Takes the text's size once or twice, plus a few
    times the block's."""
    if b"\\" in data:
        data = data.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    codes = np.frombuffer(data, dtype=np.uint8)
    counts = dict.fromkeys('{[:,"', 0)
    parity = depth = deepest = 0
    too_deep = letter = None
    for start in range(0, len(codes), _JSON_BLOCK):
        block = codes[start:start + _JSON_BLOCK]
        quote = block == ord('"')
        counts['"'] += int(np.count_nonzero(quote))
        inside = (np.cumsum(quote, dtype=np.uint8) + parity) & 1  # parity of the quotes so far: 1 in a string
        parity = int(inside[-1])
        out = inside == 0
        for char in "{[:,":
            counts[char] += int(np.count_nonzero((block == ord(char)) & out))
        opening = ((block == ord("{")) | (block == ord("["))) & out
        marks = np.flatnonzero(opening | (((block == ord("}")) | (block == ord("]"))) & out))
        if len(marks):
            level = depth + np.cumsum(np.where(opening[marks], 1, -1), dtype=np.int64)
            deepest, depth = max(deepest, int(level.max())), int(level[-1])
            if too_deep is None and deepest > JSON_MAX_DEPTH:
                too_deep = start + int(marks[int(np.argmax(level > JSON_MAX_DEPTH))])
        if letter is None:
            first = np.flatnonzero(((block == ord("N")) | (block == ord("I"))) & out)[:1]
            letter = start + int(first[0]) if len(first) else None
    return counts, deepest, too_deep, letter


def _scan_json(data: bytes) -> None:
    """Bound a JSON text before it is parsed: nesting depth, the memory its
    objects, lists and values would take (:func:`_json_memory`), and no
    NaN/Infinity; what strings hold does not count."""
    limits = current_limits()
    counts, deepest, too_deep, letter = _json_structure(data)
    containers, values, strings, estimate = _json_memory(counts)
    budget = limits.array_bytes // _JSON_SHARE
    if estimate > budget:
        raise DataFileError(
            f"it holds {containers:,} objects and lists, {values:,} values and {strings:,} strings, which would "
            "take about "
            f"{estimate:,} bytes of memory once parsed, over the {budget:,} a JSON neuron may take "
            f"(1/{_JSON_SHARE} of the array_bytes limit); {how_to_raise('array_bytes')}"
        )
    if too_deep is not None:
        raise DataFileError(
            f"line {_json_line(data, too_deep)}: it nests {deepest:,} levels deep, over the "
            f"{JSON_MAX_DEPTH} a MouseLight neuron may; the file is not a neuron"
        )
    for word in (b"NaN", b"Infinity"):  # else not JSON: json.loads says where
        if letter is not None and data[letter:letter + len(word)] == word:
            raise DataFileError(
                f"line {_json_line(data, letter)}: {word.decode()} is not a number JSON allows; "
                "every coordinate must be a finite number"
            )


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise DataFileError(f"an object has the key {key[:40]!r} twice; keys must be unique")
        seen[key] = value
    return seen


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise DataFileError(f"the number {text[:24]}... has {len(text):,} digits; ids are at most 19 digits")
    return int(text)


@_quiet
def read_mouselight_json(path: Path) -> dict:
    """A MouseLight JSON neuron (``neurons[0]`` or ``neuron``), bounded
    before it is parsed (size, nesting, estimated memory; see
    :func:`_scan_json`), parsed with unique keys and no NaN/Infinity, then
    each compartment's samples checked (finite coordinates within the value
    bound, as numbers or as text holding a plain decimal number, returned as
    floats; whole ids) and checked as a tree (see :func:`check_tree`), with
    JSON paths or lines in messages."""
    import json

    limits = current_limits()
    size = Path(path).stat().st_size
    if size > limits.array_bytes // _JSON_FILE_SHARE:
        raise DataFileError(
            f"it is {size:,} bytes, over the {limits.array_bytes // _JSON_FILE_SHARE:,} a JSON neuron may be "
            f"(1/{_JSON_FILE_SHARE} of the array_bytes limit); {how_to_raise('array_bytes')}"
        )
    raw = Path(path).read_bytes()
    _scan_json(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataFileError(f"line {_json_line(raw, err.start)}: it is not UTF-8 text ({err.reason})") from None
    del raw  # the text alone while parsing: the peak is the text and what it parses to
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_json_int)
    except json.JSONDecodeError as err:
        raise DataFileError(f"line {err.lineno} column {err.colno}: not valid JSON ({err.msg})") from None
    except DataFileError:
        raise
    except (ValueError, RecursionError) as err:
        raise DataFileError(f"not valid JSON ({str(err)[:200]})") from None
    try:
        neuron = data["neurons"][0] if "neurons" in data else data["neuron"]
        soma = neuron["soma"]
        _ = (soma["x"], soma["y"], soma["z"])  # checked as numbers below, with their JSON path
    except (KeyError, IndexError, TypeError, ValueError):
        raise DataFileError(
            "expected a MouseLight neuron: {'neurons': [{'soma': {x, y, z}, 'axon': [...], 'dendrite': [...]}]}"
        ) from None
    prefix = "neurons[0]" if "neurons" in data else "neuron"
    bound = float(limits.value_magnitude)

    def number(value, where: str, *, whole: bool = False) -> float:
        if isinstance(value, str) and not whole:  # some exports write coordinates as text: "1234.5"
            if len(value) > _NUMBER_TEXT_MAX or not _NUMBER_TEXT.fullmatch(value.strip()):
                raise DataFileError(f"{where} is str {value[:40]!r}; expected a number (or text holding one, "
                                    "such as \"1234.5\")")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DataFileError(f"{where} is {type(value).__name__} {str(value)[:40]!r}; expected a number")
        x = float(value)
        if not np.isfinite(x) or abs(x) > (2**53 if whole else bound):
            raise DataFileError(f"{where} is {str(value)[:40]}, beyond +-{2**53 if whole else bound:g}")
        if whole and x != int(x):
            raise DataFileError(f"{where} is {value}; expected a whole number")
        return x

    for axis in "xyz":
        soma[axis] = number(soma[axis], f"{prefix}.soma.{axis}")
    if soma.get("allenId") is not None:
        number(soma["allenId"], f"{prefix}.soma.allenId", whole=True)
    total = 0
    for compartment in ("axon", "dendrite"):
        samples = neuron.get(compartment) or []
        if not isinstance(samples, list):
            raise DataFileError(f"{prefix}.{compartment} is not a list of samples")
        total += len(samples)
        if total > limits.points:
            raise DataFileError(over_limit("it has too many samples", total, "points"))
        ids, parents = [], []
        for i, s in enumerate(samples):
            where = f"{prefix}.{compartment}[{i}]"
            if not isinstance(s, dict) or not all(k in s for k in ("sampleNumber", "parentNumber", "x", "y", "z")):
                raise DataFileError(f"{where}: a sample needs numeric sampleNumber, parentNumber, x, y, z")
            ids.append(int(number(s["sampleNumber"], f"{where}.sampleNumber", whole=True)))
            parents.append(int(number(s["parentNumber"], f"{where}.parentNumber", whole=True)))
            for axis in "xyz":
                s[axis] = number(s[axis], f"{where}.{axis}")
            if s.get("allenId") is not None:
                number(s["allenId"], f"{where}.allenId", whole=True)
        check_tree(ids, parents, lambda i, c=compartment: f"{prefix}.{c}[{i}]")
    return neuron


def swc_sections(rows: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, int]], np.ndarray]:
    """Unbranched sections of a checked SWC (rows from :func:`read_swc`),
    built with numpy in O(N log N) and no recursion, as MorphIO builds them:
    soma nodes (type 1) apart; a section starts at a neurite node whose
    parent is a root or soma node, a branch point (not one neurite child) or
    of another type; a section whose parent is a neurite node starts with
    that parent's point. Returns (soma centre, [(points, type)], neurite
    node points)."""
    n = len(rows)
    if n == 0:
        return np.zeros(3), [], np.zeros((0, 3))
    ids = rows[:, 0].astype(np.int64)
    kinds = rows[:, 1].astype(np.int64)
    parents = rows[:, 6].astype(np.int64)
    xyz = np.ascontiguousarray(rows[:, 2:5], dtype=float)
    order = np.argsort(ids, kind="stable")
    slot = np.minimum(np.searchsorted(ids[order], parents), n - 1)
    up_row = np.where(parents >= 0, order[slot], -1)  # the parent's row (the tree was checked), -1 at roots
    soma = kinds == 1
    safe = np.maximum(up_row, 0)
    on_neurite = ~soma & (up_row >= 0) & ~soma[safe]  # a neurite node hanging off a neurite node
    children = np.bincount(up_row[on_neurite], minlength=n)
    start = ~soma & (~on_neurite | (children[safe] != 1) | (kinds[safe] != kinds))
    rows_n = np.arange(n)
    fixed = start | soma
    up = np.where(fixed, rows_n, up_row)  # list ranking: each node finds its section's start
    dist = np.where(fixed, 0, 1).astype(np.int64)
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        dist = dist + dist[up] * (up != rows_n)
        up = nxt
    neurite = np.flatnonzero(~soma)
    ordered = neurite[np.lexsort((dist[neurite], up[neurite]))]
    if len(ordered) == 0:
        centre = xyz[soma].mean(axis=0)
        return centre, [], np.zeros((0, 3))
    label = up[ordered]
    firsts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    heads = label[firsts]
    joined = on_neurite[heads]  # these begin with their parent's point (unless they already do, as in MorphIO)
    joined[joined] = ~(xyz[heads[joined]] == xyz[up_row[heads[joined]]]).all(axis=1)
    members = np.insert(ordered, firsts[joined], up_row[heads[joined]])
    bounds = firsts + np.cumsum(joined) - joined  # each section's first index after the insertions
    points = xyz[members]
    sections = np.split(points, bounds[1:])
    centre = xyz[soma].mean(axis=0) if soma.any() else xyz[neurite[0]]
    return centre, list(zip(sections, kinds[heads].tolist())), xyz[neurite]
