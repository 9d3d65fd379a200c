"""``kind: points`` sources - cell positions and other point sets.

Reads CSV/TSV, NPY, HDF5 (plain datasets and pandas HDFStore tables) and
cellfinder/brainmapper XML (through brainglobe-utils). Extra columns are kept
so actors can colour points by them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._context import SourceContext
from ._tables import TABLE_SUFFIXES, read_table, select_columns
from ._cellfinder_xml import read_cells

KIND = "points"
SUFFIXES = {**TABLE_SUFFIXES, ".xml": "cellfinder-xml"}


@dataclass(frozen=True, eq=False)
class PointsData:
    """Points in atlas microns, with the table they came from (row-aligned)."""

    points: np.ndarray
    table: object  # pandas.DataFrame


def _read_xml(path, cell_type: str):
    import pandas as pd

    wanted = {"cells": (2,), "non_cells": (1,), "all": (1, 2)}[cell_type]
    rows = [(z, y, x, kind) for x, y, z, kind in read_cells(path) if kind in wanted]
    # (z, y, x): the order of the image stack's axes, so 'space' is the stack's orientation.
    return pd.DataFrame(rows, columns=["z", "y", "x", "type"]).astype({"z": float, "y": float, "x": float})


def load(spec: dict, *, ctx: SourceContext) -> PointsData:
    path, fmt = ctx.file(spec, SUFFIXES)
    try:
        table = _read_xml(path, spec.get("cell_type", "cells")) if fmt == "cellfinder-xml" else \
            read_table(path, fmt, key=spec.get("key"))
    except Exception as err:  # readers raise many types; all mean "cannot read this file"
        raise ctx.unreadable(path, fmt, err) from None
    columns = spec.get("columns")
    if columns is None and fmt == "cellfinder-xml":
        columns = ["z", "y", "x"]
    coords, _ = select_columns(table, columns, ctx.fail)
    if len(coords) == 0:
        raise ctx.fail(f"{path.name!r} holds no points")
    if fmt == "cellfinder-xml":
        # cellfinder writes the index of the voxel a cell is in; that voxel covers [i, i + 1),
        # so the cell is at its centre, i + 1/2 (docs/guides/data-spaces.md: what a coordinate means)
        coords = coords + 0.5
    kept = ctx.inside_sample(spec, coords)
    if not kept.all():
        coords, table = coords[kept], table[kept]
    return PointsData(points=ctx.to_atlas(spec, coords), table=table.reset_index(drop=True))
