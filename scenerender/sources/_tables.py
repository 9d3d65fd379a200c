"""Reading N x 3 coordinates (and extra columns) from tabular files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".npy": "npy", ".h5": "hdf5", ".hdf5": "hdf5",
                  ".hdf": "hdf5"}


def read_table(path: Path, fmt: str, *, key: str | None = None):
    """A pandas DataFrame from CSV/TSV, NPY (columns 0, 1, ...) or HDF5 (a
    pandas HDFStore table, or a plain 2-D dataset)."""
    import pandas as pd

    if fmt in ("csv", "tsv"):
        return pd.read_csv(path, sep="," if fmt == "csv" else None, engine="python" if fmt == "tsv" else "c")
    if fmt == "npy":
        array = np.load(path, allow_pickle=False)
        if array.ndim != 2:
            raise ValueError(f"expected a 2-D array (N x 3 or more columns), got shape {array.shape}")
        return pd.DataFrame(array)
    if fmt == "hdf5":
        return _read_hdf5(path, key)
    raise ValueError(f"unknown table format {fmt}")


def _read_hdf5(path: Path, key: str | None):
    import h5py
    import pandas as pd

    with h5py.File(path, "r") as f:
        pandas_keys = [k for k in f.keys() if isinstance(f[k], h5py.Group) and "pandas_type" in f[k].attrs]
        datasets: list[str] = []
        f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
        if key is None:
            if pandas_keys:
                key = pandas_keys[0] if len(pandas_keys) == 1 else None
            elif len(datasets) == 1:
                key = datasets[0]
        if key is None:
            raise ValueError(f"it holds several tables; set 'key' to one of {', '.join(pandas_keys or datasets)}")
        if key in pandas_keys:
            pass
        elif key in f and isinstance(f[key], h5py.Dataset):
            from ..limits import check_limit, over_limit

            # A compressed dataset can be far larger than its file: check its shape before reading it.
            if f[key].ndim >= 1 and not check_limit(int(f[key].shape[0]), "points"):
                raise ValueError(over_limit(f"dataset {key!r} has too many rows", int(f[key].shape[0]), "points"))
            array = f[key][()]
            if array.ndim != 2:
                raise ValueError(f"dataset {key!r} has shape {array.shape}; expected N x 3 or more columns")
            return pd.DataFrame(array)
        else:
            raise ValueError(f"no table {key!r}; it holds {', '.join(pandas_keys or datasets)}")
    return pd.read_hdf(path, key=key)  # pandas HDFStore (needs PyTables)


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
        if col not in table.columns:
            from ..validate import did_you_mean

            raise fail(f"no column {col!r}{did_you_mean(col, table.columns)}; columns are "
                       f"{', '.join(map(str, table.columns))}", ("columns", index))
        picked.append(col)
    try:
        coords = table[picked].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise fail(f"columns {picked} are not all numbers", ("columns",)) from None
    return coords, [str(c) for c in picked]
