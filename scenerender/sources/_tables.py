"""Reading N x 3 coordinates (and extra columns) from tabular files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import readers
from ..suggest import did_you_mean

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".npy": "npy", ".h5": "hdf5", ".hdf5": "hdf5",
                  ".hdf": "hdf5"}


def read_table(path: Path, fmt: str, *, key: str | None = None):
    """A pandas DataFrame from CSV/TSV, NPY (columns 0, 1, ...) or HDF5 (a
    pandas HDFStore table, or a plain 2-D dataset), through the bounded
    readers of :mod:`scenerender.readers` (no pickles, sizes checked
    before reading; CSV/TSV by :func:`scenerender.readers.read_delimited`,
    the one table reader, which heatmap values and sweep tables use too)."""
    import pandas as pd  # lazy: pandas loads only when a table is read

    if fmt in ("csv", "tsv"):
        return readers.read_delimited(path, fmt)
    if fmt == "npy":
        array = readers.read_npy(path, what="the array", count_as="points")
        if array.ndim != 2:
            raise readers.DataFileError(f"expected a 2-D array (N x 3 or more columns), got shape {array.shape}")
        readers.check_columns(array.shape[1], "the array")
        return pd.DataFrame(array)
    if fmt == "hdf5":
        return readers.read_hdf5_table(path, key)
    raise ValueError(f"unknown table format {fmt}")


def select_columns(table, columns, fail) -> tuple[np.ndarray, list[str]]:
    """The three coordinate columns, in the order of the source axes.

    ``columns`` names them (or gives their 0-based indices); without it the
    table must have exactly three numeric columns.
    """
    if columns is None:
        numeric = [c for c in table.columns if np.issubdtype(table[c].dtype, np.number)]
        if len(numeric) != 3:
            raise fail(f"found {len(numeric)} numeric columns ({', '.join(map(str, numeric))}), not 3; "
                       "set 'columns' to the three coordinate columns in the order of the space's axes",
                       ("columns",))
        columns = numeric
    picked = []
    for index, col in enumerate(columns):
        if isinstance(col, int) and col not in table.columns:
            if not 0 <= col < table.shape[1]:
                raise fail(f"column index {col} is out of range: the table has {table.shape[1]} columns",
                           ("columns", index))
            col = table.columns[col]
        if col not in table.columns and col in table.attrs.get("unpickled", ()):
            raise fail(f"column {col!r} is stored as pickled Python objects (pandas does that for text columns "
                       "in format='fixed'); scenerender never unpickles, as that can run code: save it with "
                       "format='table' or as numbers", ("columns", index))
        if col not in table.columns:
            raise fail(f"no column {col!r}{did_you_mean(col, table.columns)}; columns are "
                       f"{', '.join(map(str, table.columns))}", ("columns", index))
        picked.append(col)
    try:
        coords = table[picked].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise fail(f"columns {picked} are not all numbers", ("columns",)) from None
    return coords, [str(c) for c in picked]
