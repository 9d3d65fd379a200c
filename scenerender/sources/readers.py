"""Bounded readers for untrusted data files, reusable outside scenes.

Every reader here checks what a file *declares* (a header's shape and type, a
table's columns, a mesh's counts) against :mod:`scenerender.limits` before
allocating anything, stops decompressing once more bytes come out than the
header declared, never unpickles (no ``allow_pickle``, no PyTables or
``pandas.read_hdf``: HDF5 is read with h5py, which never runs code) and
refuses HDF5 objects that would read outside the file (external links,
virtual datasets, external raw storage).

They raise :class:`DataFileError` with a message that names the problem and
the fix but not the file (the caller adds where the file was named). Paths
are expected to come from :func:`scenerender.limits.resolve_input_file`.
"""

from __future__ import annotations

import bz2
import itertools
import zlib
from pathlib import Path

import numpy as np

from ..limits import current_limits, over_limit, over_values

_CHUNK = 1 << 20


class DataFileError(ValueError):
    """A data file is malformed, unsafe or over a limit (the message says which)."""


def _quiet(reader):
    """Run a reader with Python warnings off: libraries warn about odd files
    (pynrrd, nibabel, tifffile, pandas) on stderr, around the one-line
    message scenerender gives; what matters is raised as DataFileError."""
    import functools
    import warnings

    @functools.wraps(reader)
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return reader(*args, **kwargs)

    return run


# ----------------------------------------------------------------- shared checks


def check_array(shape, dtype, *, what: str = "array", count_as: str | None = None) -> int:
    """Check an array's declared ``shape`` x ``dtype`` against the limits before
    it is allocated: ``array_bytes`` always, and ``voxels`` or ``points``
    (values, 3 per point) when ``count_as`` says so. Returns its value count."""
    dims = [int(n) for n in shape]
    if any(n < 0 for n in dims):
        raise DataFileError(f"{what} declares a negative size {tuple(dims)}")
    values = 1
    for n in dims:
        values *= n
    nbytes = values * np.dtype(dtype).itemsize
    if count_as == "voxels" and values > current_limits().voxels:
        raise DataFileError(over_limit(f"{what} has too many voxels (shape {tuple(dims)})", values, "voxels"))
    if count_as == "points":
        message = over_values(f"{what} (shape {tuple(dims)}) is too large", values)
        if message:
            raise DataFileError(message)
    if nbytes > current_limits().array_bytes:
        raise DataFileError(over_limit(f"{what} (shape {tuple(dims)}, {np.dtype(dtype)}) is too large to read",
                                       nbytes, "array_bytes", " bytes"))
    return values


def check_rows(rows: int, what: str) -> None:
    if rows > current_limits().points:
        raise DataFileError(over_limit(f"{what} has too many rows", rows, "points"))


def check_columns(columns: int, what: str) -> None:
    if columns > current_limits().table_columns:
        raise DataFileError(over_limit(f"{what} has too many columns", columns, "table_columns"))


def _plain_dtype(dtype: np.dtype, what: str) -> np.dtype:
    """A numeric dtype, or a refusal: objects (pickles), structures, strings."""
    if dtype.hasobject:
        raise DataFileError(f"{what} holds Python objects, which are stored as pickles; scenerender never "
                            "unpickles (it can run code): save the numbers as a numeric array")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise DataFileError(f"{what} has type {dtype}; expected numbers (integers or floats)")
    return dtype


def read_exact(fh, nbytes: int, what: str) -> bytes:
    """``nbytes`` from ``fh`` or a 'truncated' error (never reads more)."""
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise DataFileError(f"{what} is truncated: its header declares {nbytes:,} bytes of data, "
                            f"the file holds {len(data):,}")
    return data


def decompress_bounded(fh, expected: int, codec: str, what: str) -> bytes:
    """Decompress a gzip/zlib or bzip2 stream from ``fh`` into exactly
    ``expected`` bytes, stopping as soon as more would come out (a
    decompression bomb costs at most one chunk beyond the declared size)."""
    decoder = bz2.BZ2Decompressor() if codec == "bzip2" else zlib.decompressobj(wbits=47)  # gzip or zlib
    out = bytearray()
    try:
        while len(out) <= expected and not decoder.eof:
            if codec == "bzip2":
                feed = fh.read(_CHUNK) if decoder.needs_input else b""
                if not feed and decoder.needs_input:
                    break
            else:
                feed = decoder.unconsumed_tail or fh.read(_CHUNK)
                if not feed:
                    break
            out += decoder.decompress(feed, expected - len(out) + 1)
    except (zlib.error, OSError, EOFError, ValueError) as err:
        raise DataFileError(f"{what} cannot be decompressed: {err}") from None
    if len(out) > expected:
        raise DataFileError(f"{what} decompresses to more than the {expected:,} bytes its header declares; "
                            "the file is corrupt or a decompression bomb")
    if len(out) < expected:
        raise DataFileError(f"{what} is truncated: it decompresses to {len(out):,} bytes, "
                            f"its header declares {expected:,}")
    return bytes(out)


# ----------------------------------------------------------------------- NPY


def read_npy_header(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of an open NPY file, read without
    evaluating anything but literals (numpy's own header parser)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=10_000)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=10_000)
        else:
            raise DataFileError(f"NPY format version {version[0]}.{version[1]} is not supported; save it "
                                "with numpy.save")
    except DataFileError:
        raise
    except Exception as err:  # numpy's literal parser raises several kinds on a forged header
        text = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise DataFileError(f"not a valid NPY file ({text})") from None
    return tuple(int(n) for n in shape), bool(fortran), np.dtype(dtype)


@_quiet
def read_npy(path: Path, *, what: str = "the array", count_as: str | None = None) -> np.ndarray:
    """An NPY array, its header checked (numeric type, no pickles, size within
    the limits and within the file) before its body is read."""
    with open(path, "rb") as fh:
        shape, fortran, dtype = read_npy_header(fh)
        _plain_dtype(dtype, what)
        values = check_array(shape, dtype, what=f"{what}", count_as=count_as)
        data = read_exact(fh, values * dtype.itemsize, what)
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


# --------------------------------------------------------------- CSV and TSV


def scan_text(path: Path, *, what: str = "the file") -> tuple[int, bytes]:
    """Stream through a text file once: no NUL bytes, no line over the
    ``line_bytes`` limit, at most ``points`` lines. Returns (line count,
    first line)."""
    limits = current_limits()
    lines = 0
    current = 0  # bytes of the line being read
    first = None
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            nul = chunk.find(b"\0")
            if nul >= 0:
                line = lines + chunk.count(b"\n", 0, nul) + 1
                raise DataFileError(f"line {line} holds a NUL byte: {what} is binary, not text")
            parts = chunk.split(b"\n")
            if first is None:
                first = parts[0] if len(parts) > 1 else None
            lengths = [current + len(parts[0])] + [len(p) for p in parts[1:]]
            longest = max(lengths)
            if longest > limits.line_bytes:
                line = lines + next(i for i, n in enumerate(lengths) if n > limits.line_bytes) + 1
                raise DataFileError(over_limit(f"line {line} is too long (at least)", longest, "line_bytes",
                                               " bytes"))
            lines += len(parts) - 1
            current = lengths[-1] if len(parts) == 1 else len(parts[-1])
            if lines > limits.points + 1:
                raise DataFileError(over_limit(f"{what} has too many lines", lines, "points"))
    if first is None:
        with open(path, "rb") as fh:
            first = fh.read(limits.line_bytes)
    return lines + (1 if current else 0), first


@_quiet
def read_delimited(path: Path, fmt: str, *, what: str = "the table"):
    """A pandas DataFrame from CSV (``fmt='csv'``) or TSV/whitespace text,
    bounded: text only, line length, rows and columns within the limits,
    values within ``3 x points``."""
    import pandas as pd

    lines, first = scan_text(path, what=what)
    header = first.decode("utf-8", errors="replace")
    columns = header.count(",") + 1 if fmt == "csv" else max(len(header.split("\t")), len(header.split()))
    check_columns(columns, what)
    message = over_values(f"{what} ({lines:,} lines x {columns:,} columns) is too large", lines * columns)
    if message:
        raise DataFileError(message)
    try:
        if fmt == "csv":
            return pd.read_csv(path, sep=",", engine="c", encoding_errors="replace")
        return pd.read_csv(path, sep="\t" if "\t" in header else r"\s+", engine="c", encoding_errors="replace")
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{what} holds no columns") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as err:
        raise DataFileError(" ".join(str(err).split())[:300]) from None


# ---------------------------------------------------------------------- HDF5

#: HDF5 filters a dataset may use: gzip, shuffle, fletcher32, szip, nbit,
#: scale-offset (built into HDF5) and lzf (built into h5py). Any other filter
#: would load a plugin library.
SAFE_HDF5_FILTERS = {"gzip", "shuffle", "fletcher32", "szip", "nbit", "scaleoffset", "lzf", "1", "2", "3", "4", "5",
                     "6", "32000"}
_MAX_HDF5_OBJECTS = 100_000


def _decode(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.dtype.kind == "S" and value.ndim == 0:
        return bytes(value[()]).decode("utf-8", errors="replace")
    return str(value)


def walk_hdf5(f) -> dict[str, object]:
    """Every object of an open h5py File by path, checked: no external links
    (anywhere in the file), no virtual datasets, no external raw storage,
    no filter outside :data:`SAFE_HDF5_FILTERS`. Hard-link cycles are
    visited once; soft links inside the file are followed by h5py later."""
    import h5py

    found: dict[str, object] = {}
    seen: set = set()
    queue = [("", f)]
    while queue:
        prefix, group = queue.pop()
        for name in group:
            full = f"{prefix}/{name}" if prefix else name
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise DataFileError(f"object {full!r} is an external link to {link.filename!r}; scenerender "
                                    "reads HDF5 data only from the file itself (copy the data into it)")
            if isinstance(link, h5py.SoftLink):
                continue
            obj = group.get(name)
            if obj is None:
                continue
            token = h5py.h5o.get_info(obj.id).token if hasattr(h5py.h5o.get_info(obj.id), "token") else \
                h5py.h5o.get_info(obj.id).addr
            if len(found) >= _MAX_HDF5_OBJECTS:
                raise DataFileError(f"it holds more than {_MAX_HDF5_OBJECTS:,} objects")
            if token in seen:
                continue
            seen.add(token)
            found[full] = obj
            if isinstance(obj, h5py.Group):
                queue.append((full, obj))
            elif isinstance(obj, h5py.Dataset):
                check_hdf5_dataset(obj, full)
    return found


def check_hdf5_dataset(dset, name: str) -> None:
    """Refuse a dataset whose bytes would come from outside the file or
    through a plugin."""
    if dset.is_virtual:
        raise DataFileError(f"dataset {name!r} is a virtual dataset (its data lives in other files); "
                            "scenerender reads HDF5 data only from the file itself")
    if dset.external:
        files = ", ".join(repr(_decode(e[0])) for e in dset.external[:3])
        raise DataFileError(f"dataset {name!r} keeps its data in external files ({files}); scenerender reads "
                            "HDF5 data only from the file itself")
    unknown = [str(k) for k in (dset._filters or {}) if str(k) not in SAFE_HDF5_FILTERS]
    if unknown:
        raise DataFileError(f"dataset {name!r} uses HDF5 filter(s) {', '.join(unknown)}, which would load a "
                            "plugin; re-save it with gzip or no compression")


def _numeric_block(dset, name: str) -> np.ndarray:
    """A checked read of a numeric dataset (its shape x type bounded first)."""
    dtype = _plain_dtype(dset.dtype, f"dataset {name!r}")
    check_array(dset.shape, dtype, what=f"dataset {name!r}", count_as="points")
    return dset[()]


def _names(dset, name: str) -> list[str]:
    if dset.dtype.kind not in "SU" or dset.ndim != 1:
        raise DataFileError(f"dataset {name!r} should hold column names; it has type {dset.dtype}")
    check_array(dset.shape, dset.dtype, what=f"dataset {name!r}")
    check_columns(dset.shape[0], f"dataset {name!r}")
    return [_decode(v) for v in dset[()]]


def _pandas_fixed_frame(group, key: str):
    """A pandas ``format='fixed'`` DataFrame: numeric blocks are read; blocks
    of Python objects (pickled, e.g. text columns) are never read, and named
    in ``attrs['unpickled']`` so asking for one of them gives a clear error."""
    import pandas as pd

    attrs = group.attrs
    if int(attrs.get("ndim", 2)) != 2 or any(_decode(attrs.get(f"{k}_variety", b"regular")) != "regular"
                                             for k in attrs if k.endswith("_variety") and isinstance(k, str)):
        raise DataFileError(f"table {key!r} has a multi-level index or columns; save a flat table")
    try:
        nblocks = int(attrs["nblocks"])
    except (KeyError, TypeError, ValueError):
        raise DataFileError(f"table {key!r} has no block count; it is not a pandas table") from None
    check_columns(nblocks, f"table {key!r}")
    columns: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    rows = None
    for i in range(nblocks):
        values, items = group.get(f"block{i}_values"), group.get(f"block{i}_items")
        if values is None or items is None:
            raise DataFileError(f"table {key!r} lacks block {i}")
        names = _names(items, f"{key}/block{i}_items")
        if _decode(values.attrs.get("PSEUDOATOM", b"")) == "object" or values.dtype.hasobject \
                or values.dtype.kind == "O":
            skipped.extend(names)  # pickled Python objects: never read
            continue
        if values.dtype.kind != "S":  # fixed-width text is read as text; anything else must be numbers
            _plain_dtype(values.dtype, f"column(s) {', '.join(names)} of {key!r}")
        check_array(values.shape, values.dtype, what=f"table {key!r} block {i}", count_as="points")
        array = values[()]
        if values.ndim != 2:
            raise DataFileError(f"table {key!r} block {i} has shape {values.shape}; expected rows x columns")
        if not int(values.attrs.get("transposed", 0)):
            array = array.T
        if array.shape[1] != len(names):
            raise DataFileError(f"table {key!r} block {i} has {array.shape[1]} columns but names {len(names)}")
        if rows is not None and array.shape[0] != rows:
            raise DataFileError(f"table {key!r} blocks have different row counts ({rows} and {array.shape[0]})")
        rows = array.shape[0]
        for j, column in enumerate(names):
            data = array[:, j]
            columns[column] = np.char.decode(data, "utf-8", errors="replace") if data.dtype.kind == "S" else data
    table = pd.DataFrame(columns)
    table.attrs["unpickled"] = skipped
    return table


def _pickle_strings(raw: bytes, what: str) -> list[str]:
    """Column names that PyTables stored as a pickled list of strings, taken
    from the pickle's opcodes without running it: anything but a flat list
    of strings is refused."""
    import pickletools

    allowed = {"PROTO", "FRAME", "EMPTY_LIST", "MARK", "APPENDS", "APPEND", "STOP", "MEMOIZE", "BINPUT",
               "LONG_BINPUT", "PUT", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING",
               "BINSTRING", "STRING", "SHORT_BINBYTES", "BINBYTES", "LIST"}
    found: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(raw):
            if op.name not in allowed:
                raise DataFileError(f"{what} is stored as a pickle of more than text ({op.name}); scenerender "
                                    "never unpickles: save the table with plain column names")
            if isinstance(arg, (str, bytes)):
                found.append(arg.decode("utf-8", "replace") if isinstance(arg, bytes) else arg)
    except DataFileError:
        raise
    except Exception as err:  # a malformed pickle stream
        raise DataFileError(f"{what} cannot be parsed ({err})") from None
    return found


def _pandas_table(group, key: str):
    """A pandas ``format='table'`` DataFrame (a compound dataset ``table``)."""
    import pandas as pd

    dset = group.get("table")
    if dset is None or dset.dtype.fields is None or dset.ndim != 1:
        raise DataFileError(f"table {key!r} has no compound dataset 'table'")
    check_rows(dset.shape[0], f"table {key!r}")
    check_columns(len(dset.dtype.fields), f"table {key!r}")
    check_array(dset.shape, dset.dtype, what=f"table {key!r}", count_as="points")
    data = dset[()]
    columns: dict[str, np.ndarray] = {}
    for field, (ftype, _) in dset.dtype.fields.items():
        if field == "index":
            continue
        if ftype.hasobject:
            continue
        block = data[field]
        if field.startswith("values_block_"):
            raw = dset.attrs.get(f"{field}_kind")
            if raw is None:
                continue
            names = _pickle_strings(bytes(np.asarray(raw).tobytes()) if not isinstance(raw, bytes) else raw,
                                    f"the column names of {key!r}")
            block = block.reshape(len(block), -1)
            if block.shape[1] != len(names):
                raise DataFileError(f"table {key!r}: {field} has {block.shape[1]} columns but names {len(names)}")
            for j, name in enumerate(names):
                col = block[:, j]
                columns[name] = np.char.decode(col, "utf-8", errors="replace") if col.dtype.kind == "S" else col
        elif block.ndim == 1:
            columns[field] = np.char.decode(block, "utf-8", errors="replace") if block.dtype.kind == "S" else block
    return pd.DataFrame(columns)


def _compound(dset, key: str):
    import pandas as pd

    check_rows(dset.shape[0] if dset.ndim else 1, f"dataset {key!r}")
    check_columns(len(dset.dtype.fields), f"dataset {key!r}")
    check_array(dset.shape, dset.dtype, what=f"dataset {key!r}", count_as="points")
    data = dset[()]
    columns = {}
    for field, (ftype, _) in dset.dtype.fields.items():
        if ftype.kind in "biuf" and ftype.subdtype is None:
            columns[field] = data[field]
    return pd.DataFrame(columns)


@_quiet
def read_hdf5_table(path: Path, key: str | None = None):
    """A pandas DataFrame from an HDF5 file, read with h5py only (no pickles,
    nothing outside the file). Accepted layouts: a 2-D numeric dataset; a
    1-D compound dataset (numeric fields become columns); a pandas HDFStore
    frame saved with ``format='fixed'`` (the default; text columns, which
    pandas pickles, are left out) or ``format='table'``."""
    import h5py

    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as err:
        raise DataFileError(f"not an HDF5 file ({str(err).splitlines()[0][:200]})") from None
    try:
        with f:
            return _read_hdf5(f, key)
    except DataFileError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as err:  # libhdf5 on a corrupt file
        raise DataFileError(f"corrupt HDF5 file ({' '.join(str(err).split())[:200] or type(err).__name__})") \
            from None


def _read_hdf5(f, key: str | None):
    import h5py
    import pandas as pd

    objects = walk_hdf5(f)
    pandas_keys = [k for k, o in objects.items() if isinstance(o, h5py.Group) and "pandas_type" in o.attrs]
    inside_pandas = tuple(k + "/" for k in pandas_keys)
    datasets = [k for k, o in objects.items() if isinstance(o, h5py.Dataset) and not k.startswith(inside_pandas)]
    if key is None:
        if pandas_keys:
            key = pandas_keys[0] if len(pandas_keys) == 1 else None
        elif len(datasets) == 1:
            key = datasets[0]
    if key is None:
        names = ", ".join((pandas_keys or datasets)[:20]) or "nothing"
        raise DataFileError(f"it holds several tables (or none); set 'key' to one of: {names}")
    key = key.strip("/")
    obj = objects.get(key)
    if obj is None:
        names = ", ".join((pandas_keys or datasets)[:20]) or "nothing"
        raise DataFileError(f"no table {key!r}; it holds {names}")
    if key in pandas_keys:
        kind = _decode(obj.attrs["pandas_type"])
        if kind == "frame":
            return _pandas_fixed_frame(obj, key)
        if kind == "frame_table":
            return _pandas_table(obj, key)
        raise DataFileError(f"{key!r} is a pandas {kind!r}; scenerender reads pandas DataFrames "
                            "(format 'fixed' or 'table')")
    if not isinstance(obj, h5py.Dataset):
        raise DataFileError(f"{key!r} is a group; name a dataset in it")
    if obj.dtype.fields is not None:
        return _compound(obj, key)
    array = _numeric_block(obj, key)
    if array.ndim != 2:
        raise DataFileError(f"dataset {key!r} has shape {array.shape}; expected N x 3 or more columns")
    check_columns(array.shape[1], f"dataset {key!r}")
    return pd.DataFrame(array)


# --------------------------------------------------------------- NRRD, NIfTI, TIFF

_NRRD_HEADER_MAX = 1 << 16


@_quiet
def read_nrrd(path: Path, *, what: str = "the volume", resolve=None) -> np.ndarray:
    """A NRRD volume (axes in file order, as pynrrd's ``index_order='F'``).
    The header is parsed by pynrrd from at most 64 KiB; sizes x type are
    checked against the limits; gzip/bzip2 bodies are decompressed only up
    to the declared size. ``resolve(name)`` turns a detached data file name
    into a checked path (the sandbox resolver)."""
    import nrrd
    from nrrd.reader import _determine_datatype

    with open(path, "rb") as fh:
        head = fh.read(_NRRD_HEADER_MAX)
        if not head.startswith(b"NRRD"):
            raise DataFileError("not a NRRD file (it does not start with 'NRRD')")
        end = head.find(b"\n\n")
        if end < 0:
            end = head.find(b"\r\n\r\n")
            if end < 0:
                raise DataFileError(f"its header has no end (a blank line) within {_NRRD_HEADER_MAX:,} bytes")
            offset = end + 4
        else:
            offset = end + 2
        try:
            header = nrrd.read_header(head[:end].decode("latin-1").splitlines())
            dtype = np.dtype(_determine_datatype(header))
            sizes = tuple(int(n) for n in header["sizes"])
        except Exception as err:  # pynrrd raises several kinds for a bad header
            raise DataFileError(f"bad NRRD header: {str(err).splitlines()[0][:200] if str(err) else err!r}") \
                from None
        _plain_dtype(dtype, what)
        values = check_array(sizes, dtype, what=what, count_as="voxels")
        nbytes = values * dtype.itemsize
        encoding = str(header.get("encoding", "raw")).lower()
        line_skip = int(header.get("line skip", header.get("lineskip", 0)) or 0)
        byte_skip = int(header.get("byte skip", header.get("byteskip", 0)) or 0)
        detached = header.get("data file") or header.get("datafile")
    if detached:
        names = str(detached).split()
        if len(names) != 1 or names[0].upper() == "LIST" or "%" in names[0]:
            raise DataFileError("a NRRD whose data is split over several files is not supported")
        if resolve is None:
            raise DataFileError("its data is in a detached file, which is not allowed here")
        data_path, offset = resolve(names[0]), 0
    else:
        data_path = path
    with open(data_path, "rb") as fh:
        fh.seek(offset)
        for _ in range(max(0, line_skip)):
            if len(fh.readline(current_limits().line_bytes)) >= current_limits().line_bytes:
                raise DataFileError("a skipped line is too long")
        if encoding == "raw":
            if byte_skip == -1:
                fh.seek(-nbytes, 2) if Path(data_path).stat().st_size >= nbytes else None
            elif byte_skip > 0:
                fh.seek(byte_skip, 1)
            raw = read_exact(fh, nbytes, what)
        elif encoding in ("gzip", "gz", "bzip2", "bz2"):
            if byte_skip > 0:
                fh.seek(byte_skip, 1)
            raw = decompress_bounded(fh, nbytes, "bzip2" if encoding.startswith("bz") else "gzip", what)
        elif encoding in ("ascii", "text", "txt"):
            text = fh.read(min(values * 64 + 64, current_limits().array_bytes))
            array = np.array(text.split()[: values + 1], dtype=dtype) if text.strip() else np.zeros(0, dtype)
            if array.size != values:
                raise DataFileError(f"{what} holds {array.size:,} values; its header declares {values:,}")
            return array.reshape(sizes, order="F")
        else:
            raise DataFileError(f"NRRD encoding {encoding!r} is not supported (use raw, gzip or bzip2)")
    endian = str(header.get("endian", "little")).lower()
    if dtype.itemsize > 1:
        dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    return np.frombuffer(raw, dtype=dtype).reshape(sizes, order="F").astype(dtype.newbyteorder("="), copy=False)


@_quiet
def read_nifti(path: Path, *, what: str = "the volume") -> np.ndarray:
    """A NIfTI volume; the header's shape x type (x8 when scaled to floats)
    is checked before the data is read; nibabel reads exactly the declared
    bytes even from gzip, so it cannot be inflated beyond that."""
    import nibabel

    try:
        image = nibabel.load(str(path))
        shape = tuple(int(n) for n in image.shape)
        dtype = np.dtype(image.get_data_dtype())
        slope, inter = image.header.get_slope_inter()
    except Exception as err:
        raise DataFileError(f"bad NIfTI header: {str(err).splitlines()[0][:200] if str(err) else err!r}") from None
    scaled = slope not in (None, 1.0) or inter not in (None, 0.0)
    if dtype.fields is None:
        _plain_dtype(dtype, what)
    check_array(shape, np.float64 if scaled else dtype, what=what, count_as="voxels")
    try:
        return np.asanyarray(image.dataobj)
    except Exception as err:
        raise DataFileError(f"cannot read its voxels: {str(err).splitlines()[0][:200]}") from None


@_quiet
def read_tiff(path: Path, *, what: str = "the volume") -> np.ndarray:
    """A TIFF stack (its first series); the pages' shape x type is checked
    before decoding, which writes into an array of exactly that size."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if len(tif.pages) > current_limits().voxels:
                raise DataFileError(over_limit("it has too many pages", len(tif.pages), "voxels"))
            if not tif.series:
                raise DataFileError("it holds no image")
            series = tif.series[0]
            _plain_dtype(np.dtype(series.dtype), what)
            check_array(series.shape, series.dtype, what=what, count_as="voxels")
            return series.asarray()
    except DataFileError:
        raise
    except MemoryError:
        raise
    except Exception as err:  # tifffile raises many types for a broken file
        raise DataFileError(f"failed to read it as TIFF: {str(err).splitlines()[0][:200] if str(err) else err!r}") \
            from None


def read_volume(path: Path, fmt: str, *, resolve=None) -> np.ndarray:
    """A 3-D (or more) image from TIFF, NRRD, NIfTI or NPY, bounded."""
    if fmt == "tiff":
        return read_tiff(path)
    if fmt == "nrrd":
        return read_nrrd(path, resolve=resolve)
    if fmt == "nifti":
        return read_nifti(path)
    if fmt == "npy":
        return read_npy(path, what="the volume", count_as="voxels")
    raise DataFileError(f"unknown volume format {fmt}")


# -------------------------------------------------------------------- meshes

_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}
_MAX_POLYGON = 1_000  # vertices of one face


def _check_mesh_counts(vertices: int, faces: int) -> None:
    if vertices > current_limits().points:
        raise DataFileError(over_limit("it declares too many vertices", vertices, "points"))
    message = over_values("it declares too many faces", faces, per_point=6)
    if message:
        raise DataFileError(message)


def _triangles(polygons: list, n_vertices: int) -> np.ndarray:
    """Fan-triangulated faces, every index checked against the vertex count."""
    tris = []
    for number, poly in enumerate(polygons, 1):
        if len(poly) < 3:
            continue
        for k in range(1, len(poly) - 1):
            tris.append((poly[0], poly[k], poly[k + 1]))
        bad = [i for i in poly if not 0 <= i < n_vertices]
        if bad:
            raise DataFileError(f"face {number} refers to vertex {bad[0]}, but the file has {n_vertices:,} "
                                "vertices (numbered from 0)")
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def check_faces(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """``faces`` (M x 3 vertex indices) with every index checked."""
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    bad = (faces < 0) | (faces >= n_vertices)
    if bad.any():
        row = int(np.nonzero(bad.any(axis=1))[0][0])
        raise DataFileError(f"face {row + 1} refers to vertex {int(faces[row][bad[row]][0])}, but the file has "
                            f"{n_vertices:,} vertices (numbered from 0)")
    return faces


def _ply_header(fh) -> tuple[str, list, int]:
    head = fh.read(_NRRD_HEADER_MAX)
    if not head.startswith(b"ply"):
        raise DataFileError("not a PLY file (it does not start with 'ply')")
    end = head.find(b"end_header")
    if end < 0:
        raise DataFileError(f"its header has no 'end_header' within {_NRRD_HEADER_MAX:,} bytes")
    offset = end + len(b"end_header")
    offset += 2 if head[offset:offset + 2] == b"\r\n" else 1
    fmt, elements = None, []
    for number, line in enumerate(head[:end].decode("ascii", "replace").splitlines(), 1):
        words = line.split()
        if not words or words[0] in ("ply", "comment", "obj_info"):
            continue
        try:
            if words[0] == "format":
                fmt = words[1]
            elif words[0] == "element":
                count = int(words[2])
                if count < 0:
                    raise ValueError("negative count")
                elements.append((words[1], count, []))
            elif words[0] == "property":
                if not elements:
                    raise ValueError("property before any element")
                if words[1] == "list":
                    elements[-1][2].append((words[4], _PLY_TYPES[words[2]], _PLY_TYPES[words[3]]))
                else:
                    elements[-1][2].append((words[2], _PLY_TYPES[words[1]], None))
            else:
                raise ValueError(f"unknown keyword {words[0]!r}")
        except (IndexError, KeyError, ValueError) as err:
            raise DataFileError(f"bad PLY header line {number}: {line[:80]!r} ({err})") from None
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise DataFileError(f"unknown PLY format {fmt!r}")
    return fmt, elements, offset


def _ply_binary_element(fh, count: int, props: list, order: str, what: str):
    """Rows of one binary PLY element: a structured array (no lists) or a
    list of tuples whose list properties are tuples."""
    if all(kind is None for _, _, kind in props):
        dtype = np.dtype([(name, order + t) for name, t, _ in props])
        return np.frombuffer(read_exact(fh, count * dtype.itemsize, what), dtype=dtype)
    # Fast path: every list as long as the first row's (triangle meshes).
    start = fh.tell()
    fields, first_row = [], {}
    for name, t, item in props:
        if item is None:
            fields.append((name, order + t))
            first_row[name] = np.dtype(t).itemsize
        else:
            size = np.frombuffer(fh.read(np.dtype(t).itemsize) or b"\0" * np.dtype(t).itemsize, order + t)[0]
            length = int(size)
            fh.seek(length * np.dtype(item).itemsize, 1)
            fields += [(name + "__n", order + t), (name, order + item, (max(length, 0),))]
    fh.seek(start)
    try:
        dtype = np.dtype(fields)
        rows = np.frombuffer(read_exact(fh, count * dtype.itemsize, what), dtype=dtype) if count else None
        if rows is None or all((rows[name + "__n"] == rows[name].shape[1]).all() for name, _, item in props
                               if item is not None):
            return rows
    except (DataFileError, ValueError):
        pass
    fh.seek(start)
    out = []  # slow path: rows one by one
    for _ in range(count):
        row = []
        for name, t, item in props:
            value = np.frombuffer(read_exact(fh, np.dtype(t).itemsize, what), order + t)[0]
            if item is None:
                row.append(value)
                continue
            length = int(value)
            if not 0 <= length <= _MAX_POLYGON:
                raise DataFileError(f"a {name} list has {length} entries (at most {_MAX_POLYGON})")
            size = np.dtype(item).itemsize
            row.append(tuple(np.frombuffer(read_exact(fh, length * size, what), order + item).tolist()))
        out.append(tuple(row))
    return out


@_quiet
def read_ply(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (N x 3) and triangles (M x 3) of a PLY file, ASCII or binary,
    every count checked against the limits and the file's size before reading,
    and every face index against the vertex count."""
    size = Path(path).stat().st_size
    with open(path, "rb") as fh:
        fmt, elements, offset = _ply_header(fh)
        counts = {name: count for name, count, _ in elements}
        if "vertex" not in counts:
            raise DataFileError("it has no 'vertex' element")
        _check_mesh_counts(counts["vertex"], counts.get("face", 0))
        for name, count, props in elements:
            minimum = sum(np.dtype(t).itemsize for _, t, _ in props) if fmt != "ascii" else 2 * len(props)
            if count * minimum > size:
                raise DataFileError(f"its header declares {count:,} {name} elements, which need at least "
                                    f"{count * minimum:,} bytes; the file has {size:,} (truncated or forged)")
        fh.seek(offset)
        order = "<" if fmt == "binary_little_endian" else ">"
        vertices = faces = None
        for name, count, props in elements:
            if fmt == "ascii":
                rows = _ply_ascii_element(fh, count, props, name)
            else:
                rows = _ply_binary_element(fh, count, props, order, f"its {name} data")
            if name == "vertex":
                vertices = _ply_vertices(rows, props)
            elif name == "face":
                faces = _ply_faces(rows, props, len(vertices) if vertices is not None else 0)
    if faces is None:
        raise DataFileError("it has no 'face' element (a mesh needs faces)")
    return vertices, faces


def _ply_ascii_element(fh, count: int, props: list, name: str) -> list:
    limit = current_limits().line_bytes
    rows = []
    for _ in range(count):
        line = fh.readline(limit + 1)
        if len(line) > limit:
            raise DataFileError(over_limit(f"a line of its {name} data is too long", len(line), "line_bytes"))
        words = line.split()
        if not words and not line:
            raise DataFileError(f"its {name} data is truncated ({len(rows):,} of {count:,} rows)")
        row, pos = [], 0
        try:
            for _, t, item in props:
                if item is None:
                    row.append(float(words[pos]))
                    pos += 1
                else:
                    length = int(words[pos])
                    if not 0 <= length <= _MAX_POLYGON:
                        raise DataFileError(f"a list has {length} entries (at most {_MAX_POLYGON})")
                    row.append(tuple(int(w) for w in words[pos + 1:pos + 1 + length]))
                    if len(row[-1]) != length:
                        raise ValueError("list shorter than its count")
                    pos += 1 + length
        except (IndexError, ValueError) as err:
            raise DataFileError(f"bad {name} row {len(rows) + 1}: {line[:80]!r} ({err})") from None
        rows.append(tuple(row))
    return rows


def _ply_vertices(rows, props) -> np.ndarray:
    names = [p[0] for p in props]
    if not {"x", "y", "z"} <= set(names):
        raise DataFileError("its vertices have no x, y, z properties")
    if isinstance(rows, np.ndarray) and rows.dtype.names and "x" in rows.dtype.names:
        return np.stack([rows[c].astype(float) for c in "xyz"], axis=1)
    index = [names.index(c) for c in "xyz"]
    return np.array([[row[i] for i in index] for row in rows], dtype=float).reshape(-1, 3)


def _ply_faces(rows, props, n_vertices: int) -> np.ndarray:
    lists = [p[0] for p in props if p[2] is not None]
    name = next((n for n in ("vertex_indices", "vertex_index") if n in lists), lists[0] if lists else None)
    if name is None:
        raise DataFileError("its faces have no vertex_indices list")
    if rows is None:
        return np.zeros((0, 3), dtype=np.int64)
    if isinstance(rows, np.ndarray):
        block = rows[name].astype(np.int64)
        if block.shape[1] == 3:
            return check_faces(block, n_vertices)
        return _triangles(block.tolist(), n_vertices)
    position = [p[0] for p in props].index(name)
    return _triangles([row[position] for row in rows], n_vertices)


@_quiet
def read_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of a Wavefront OBJ (``v`` and ``f`` lines;
    ``f a/b/c`` and negative indices work), bounded and index-checked."""
    scan_text(path, what="the OBJ file")
    vertices: list = []
    polygons: list = []
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            words = raw.split()
            if not words:
                continue
            try:
                if words[0] == b"v":
                    vertices.append((float(words[1]), float(words[2]), float(words[3])))
                elif words[0] == b"f":
                    if len(words) - 1 > _MAX_POLYGON:
                        raise ValueError(f"a face of {len(words) - 1} vertices (at most {_MAX_POLYGON})")
                    n = len(vertices)
                    face = []
                    for w in words[1:]:
                        i = int(w.split(b"/")[0])
                        face.append(i - 1 if i > 0 else n + i)
                    polygons.append(face)
            except (IndexError, ValueError) as err:
                raise DataFileError(f"line {number}: {raw[:60]!r} is not a valid OBJ line ({err})") from None
    if not vertices:
        raise DataFileError("it holds no vertices ('v' lines)")
    return np.asarray(vertices, dtype=float), _triangles(polygons, len(vertices))


@_quiet
def read_stl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (shared corners merged) and triangles of a binary or ASCII STL."""
    size = Path(path).stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(84)
        count = int(np.frombuffer(head[80:84], "<u4")[0]) if len(head) == 84 else -1
        if count >= 0 and size == 84 + 50 * count:
            _check_mesh_counts(3 * count, count)
            record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")])
            corners = np.frombuffer(read_exact(fh, 50 * count, "its triangles"), record)["corners"]
            corners = corners.reshape(-1, 3).astype(float)
        elif head.lstrip().startswith(b"solid"):
            lines, _ = scan_text(path, what="the STL file")
            _check_mesh_counts(lines, lines // 7)
            fh.seek(0)
            values = []
            for number, raw in enumerate(fh, 1):
                words = raw.split()
                if words[:1] == [b"vertex"]:
                    try:
                        values.append((float(words[1]), float(words[2]), float(words[3])))
                    except (IndexError, ValueError):
                        raise DataFileError(f"line {number}: {raw[:60]!r} is not a valid STL vertex") from None
            if len(values) % 3:
                raise DataFileError(f"it has {len(values)} vertices, not a multiple of 3")
            corners = np.asarray(values, dtype=float).reshape(-1, 3)
        else:
            raise DataFileError(f"not an STL file: a binary STL of {max(count, 0):,} triangles would have "
                                f"{84 + 50 * max(count, 0):,} bytes, this has {size:,}, and it does not start "
                                "with 'solid'")
    if len(corners) == 0:
        raise DataFileError("it holds no triangles")
    points, inverse = np.unique(corners, axis=0, return_inverse=True)
    return points, inverse.reshape(-1, 3).astype(np.int64)


def _vtk_declared_counts(path: Path, fmt: str) -> None:
    """Before VTK allocates anything: every count a legacy VTK or VTK XML
    file declares (points, cells, array tuples) is checked against the
    limits and against the file's size."""
    import re

    size = Path(path).stat().st_size
    limits = current_limits()
    if fmt == "vtp":
        pattern = re.compile(rb'(Number[A-Za-z]+)\s*=\s*"\s*(\d+)\s*"')
        stop = b"<AppendedData"
    else:
        pattern = re.compile(rb"(?m)(?:^|[ \t])([A-Za-z_][\w.\-]*)((?:[ \t]+\d+)+)")
        stop = None
        with open(path, "rb") as fh:
            head = fh.read(1024)
        kind = re.search(rb"DATASET\s+(\w+)", head, re.IGNORECASE)
        if kind and kind.group(1).upper() not in (b"POLYDATA", b"UNSTRUCTURED_GRID"):
            raise DataFileError(f"it holds a {kind.group(1).decode()} dataset; a mesh must be POLYDATA or "
                                "UNSTRUCTURED_GRID")
    total = {"NumberOfPoints": 0}
    with open(path, "rb") as fh:
        tail = b""
        while chunk := fh.read(_CHUNK):
            text = tail + chunk
            cut = text.find(stop) if stop else -1
            if cut >= 0:
                text = text[:cut]
            for match in pattern.finditer(text):
                name = match.group(1).decode("latin-1")
                numbers = [int(n) for n in match.group(2).split()][:4]
                if fmt == "vtp":
                    value = numbers[0]
                    if name == "NumberOfPoints":
                        total[name] += value
                    if name in ("NumberOfComponents",) and value > 1_000:
                        raise DataFileError(f"an array declares {value:,} components")
                    if value > max(size, limits.points) and name != "NumberOfComponents":
                        raise DataFileError(f"it declares {name}={value:,}, more than its {size:,} bytes could "
                                            "hold (truncated or forged)")
                else:
                    # A cell keyword gives (cells, total ints); any other line with two numbers is
                    # (components, tuples) of an array: either way no count can exceed the bytes.
                    cells = name.upper() in ("POLYGONS", "CELLS", "LINES", "VERTICES", "TRIANGLE_STRIPS")
                    product = max(numbers) if cells else numbers[0] * (numbers[1] if len(numbers) > 1 else 1)
                    if name.upper() == "POINTS" and numbers[0] > limits.points:
                        raise DataFileError(over_limit("it declares too many points", numbers[0], "points"))
                    if product > size and name.upper() not in ("VERSION",):
                        raise DataFileError(f"'{name} {' '.join(map(str, numbers))}' declares more values than "
                                            f"its {size:,} bytes could hold (truncated or forged)")
            if cut >= 0:
                break
            tail = chunk[-256:]
    if total["NumberOfPoints"] > limits.points:
        raise DataFileError(over_limit("it declares too many points", total["NumberOfPoints"], "points"))


def read_vtk_mesh(path: Path, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """A legacy VTK or VTP surface: declared counts checked first, then read
    by VTK in a child process (VTK's readers abort on some forged files, e.g.
    a VTP whose cell offsets point past its data; a crash there is a refused
    file, not a dead scenerender) that checks every cell's point indices
    before any VTK filter touches them, and hands back plain arrays."""
    import os
    import subprocess
    import sys

    _vtk_declared_counts(path, fmt)
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    code = ("import sys, numpy as np; from scenerender.sources.readers import _read_vtk_here, DataFileError\n"
            "try:\n    p, f = _read_vtk_here(sys.argv[1], sys.argv[2])\n"
            "except DataFileError as e:\n    sys.stderr.write(str(e)); sys.exit(3)\n"
            "np.savez(sys.stdout.buffer, points=p, faces=f)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path), fmt], env=env, capture_output=True,
                          stdin=subprocess.DEVNULL, check=False)
    if proc.returncode == 3:
        raise DataFileError(proc.stderr.decode(errors="replace").strip()[:500])
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"status {proc.returncode}"
        raise DataFileError(f"VTK failed reading it ({how}): the file is malformed; check it or save it as PLY")
    import io

    with np.load(io.BytesIO(proc.stdout), allow_pickle=False) as data:
        return data["points"].astype(float), data["faces"].astype(np.int64)


def _read_vtk_here(path: str, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """The VTK read itself (run in the child process of :func:`read_vtk_mesh`)."""
    import pyvista as pv

    path = Path(path)
    with quiet_native_stderr():
        try:
            mesh = pv.read(path)
        except Exception as err:
            raise DataFileError(f"VTK cannot read it: {str(err).splitlines()[0][:200] if str(err) else err!r}") \
                from None
    if isinstance(mesh, pv.MultiBlock) or not hasattr(mesh, "n_points"):
        raise DataFileError("it holds several blocks; a mesh file holds one surface")
    n = int(mesh.n_points)
    if n > current_limits().points:
        raise DataFileError(over_limit("it holds too many vertices", n, "points"))
    if isinstance(mesh, pv.PolyData):
        cells = mesh.GetPolys()
        offsets, conn = _cell_arrays(cells)
        _check_cells(offsets, conn, n)
        polygons = [conn[a:b].tolist() for a, b in itertools.pairwise(offsets)] \
            if len(offsets) and (np.diff(offsets) != 3).any() else None
        faces = _triangles(polygons, n) if polygons is not None else check_faces(conn, n)
        return np.asarray(mesh.points, dtype=float), faces
    if isinstance(mesh, pv.UnstructuredGrid):
        if (np.asarray(mesh.celltypes) == 42).any():
            raise DataFileError("it holds polyhedron cells; save the surface as triangles")
        _check_cells(np.asarray(mesh.offset), np.asarray(mesh.cell_connectivity), n)
        with quiet_native_stderr():
            surface = mesh.extract_surface(algorithm="dataset_surface").triangulate()
        return np.asarray(surface.points, dtype=float), check_faces(surface.regular_faces, surface.n_points)
    raise DataFileError(f"it holds a {type(mesh).__name__}; a mesh must be a surface (polydata)")


def _cell_arrays(cells) -> tuple[np.ndarray, np.ndarray]:
    from vtk.util.numpy_support import vtk_to_numpy

    return (vtk_to_numpy(cells.GetOffsetsArray()).astype(np.int64),
            vtk_to_numpy(cells.GetConnectivityArray()).astype(np.int64))


def _check_cells(offsets: np.ndarray, conn: np.ndarray, n_points: int) -> None:
    if len(offsets) and (offsets[0] != 0 or offsets[-1] != len(conn) or (np.diff(offsets) < 0).any()):
        raise DataFileError("its cell offsets are inconsistent (corrupt file)")
    bad = (conn < 0) | (conn >= n_points)
    if bad.any():
        raise DataFileError(f"a cell refers to point {int(conn[bad][0])}, but the file has {n_points:,} points")


@_quiet
def read_mesh(path: Path, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (N x 3 floats) and triangles (M x 3 indices, checked) of a mesh file."""
    if fmt == "ply":
        points, faces = read_ply(path)
    elif fmt == "obj":
        points, faces = read_obj(path)
    elif fmt == "stl":
        points, faces = read_stl(path)
    elif fmt in ("vtk", "vtp"):
        points, faces = read_vtk_mesh(path, fmt)
    else:
        raise DataFileError(f"unknown mesh format {fmt}")
    if len(points) > current_limits().points:
        raise DataFileError(over_limit("it holds too many vertices", len(points), "points"))
    return points, faces


# ------------------------------------------------------------ native stderr


class quiet_native_stderr:
    """Send file descriptor 2 to /dev/null for a block, so messages that C++
    libraries (VTK, MorphIO) print directly never reach the user's stderr;
    Python's own ``sys.stderr`` is flushed first."""

    def __enter__(self):
        import os
        import sys

        sys.stderr.flush()
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        return self

    def __exit__(self, *exc):
        import os

        os.dup2(self._saved, 2)
        os.close(self._saved)
        return False


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
        raise DataFileError(f"{where(later)}: node id {ids[later]} is used twice (first at {where(first)}); "
                            "ids must be unique")
    slot = np.minimum(np.searchsorted(ranked, parents), n - 1)
    found = ranked[slot] == parents
    missing = np.nonzero((parents >= 0) & ~found)[0]
    if len(missing):
        i = int(missing[0])
        raise DataFileError(f"{where(i)}: parent {parents[i]} of node {ids[i]} is not a node in the file; "
                            "roots have parent -1")
    up = np.where(parents >= 0, order[slot], -1)  # row of each row's parent, -1 at roots
    for _ in range(int(np.ceil(np.log2(n + 1))) + 1):
        up = np.where(up >= 0, up[np.maximum(up, 0)], -1)
    stuck = np.nonzero(up >= 0)[0]
    if len(stuck):
        i = int(stuck[0])
        raise DataFileError(f"{where(i)}: node {ids[i]} never reaches a root: its parents form a cycle; "
                            "a neuron is a tree")


@_quiet
def read_swc(path: Path) -> np.ndarray:
    """SWC rows (id, type, x, y, z, radius, parent) as an N x 7 float array,
    checked (bounded lines and count, numbers, unique ids, existing parents,
    no cycles) with the line number in every message."""
    import pandas as pd

    scan_text(path, what="the SWC file")
    try:
        table = pd.read_csv(path, sep=r"\s+", comment="#", header=None, engine="c",
                            skip_blank_lines=True, on_bad_lines="error")
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
    check_tree(numbers[:, 0].astype(np.int64), numbers[:, 6].astype(np.int64), lambda i: f"line {_line_of_row(path, i)}")
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
        raise DataFileError("expected a MouseLight neuron: {'neurons': [{'soma': {x, y, z}, 'axon': [...], "
                            "'dendrite': [...]}]}") from None
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
                raise DataFileError(f"{prefix}.{compartment}[{i}]: a sample needs numeric sampleNumber, "
                                    "parentNumber, x, y, z") from None
        check_tree(ids, parents, lambda i, c=compartment: f"{prefix}.{c}[{i}]")
    return neuron
