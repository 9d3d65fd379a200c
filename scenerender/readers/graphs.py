"""Neuron graphs (SWC, MouseLight JSON), checked as trees in linear-ish time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..limits import current_limits, over_limit
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


@_quiet
def read_mouselight_json(path: Path) -> dict:
    """A MouseLight JSON neuron (``neurons[0]`` or ``neuron``), each
    compartment's samples checked as a tree (see :func:`check_tree`) with
    JSON paths in messages."""
    import json

    try:
        data = json.loads(Path(path).read_bytes())
    except (ValueError, RecursionError) as err:
        raise DataFileError(f"not valid JSON ({str(err)[:200]})") from None
    try:
        neuron = data["neurons"][0] if "neurons" in data else data["neuron"]
        soma = neuron["soma"]
        float(soma["x"]), float(soma["y"]), float(soma["z"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise DataFileError(
            "expected a MouseLight neuron: {'neurons': [{'soma': {x, y, z}, 'axon': [...], 'dendrite': [...]}]}"
        ) from None
    prefix = "neurons[0]" if "neurons" in data else "neuron"
    total = 0
    for compartment in ("axon", "dendrite"):
        samples = neuron.get(compartment) or []
        if not isinstance(samples, list):
            raise DataFileError(f"{prefix}.{compartment} is not a list of samples")
        total += len(samples)
        if total > current_limits().points:
            raise DataFileError(over_limit("it has too many samples", total, "points"))
        ids, parents = [], []
        for i, s in enumerate(samples):
            try:
                ids.append(int(s["sampleNumber"]))
                parents.append(int(s["parentNumber"]))
                float(s["x"]), float(s["y"]), float(s["z"])
            except (KeyError, TypeError, ValueError, OverflowError):
                raise DataFileError(
                    f"{prefix}.{compartment}[{i}]: a sample needs numeric sampleNumber, parentNumber, x, y, z"
                ) from None
        check_tree(ids, parents, lambda i, c=compartment: f"{prefix}.{c}[{i}]")
    return neuron
