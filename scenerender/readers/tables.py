"""Bounded tables: NPY, CSV/TSV and HDF5 (read with h5py only: no pickles,
nothing from outside the file)."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..limits import over_values
from ._common import (
    DataFileError,
    _plain_dtype,
    _quiet,
    check_array,
    check_columns,
    check_rows,
    read_exact,
    scan_text,
)

# ----------------------------------------------------------------------- NPY


def read_npy_header(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of an open NPY file, read without
    evaluating anything but literals (numpy's own header parser)."""
    import struct

    fmt = np.lib.format
    start = fh.tell()
    head = fh.read(12)
    if head[:6] == b"\x93NUMPY" and len(head) == 12:  # the header's length, checked before numpy reads it
        length = struct.unpack("<H", head[8:10])[0] if head[6] == 1 else struct.unpack("<I", head[8:12])[0]
        if length > 10_000:
            raise DataFileError(
                f"its header claims {length:,} bytes (at most 10,000: a real NPY header is under 200); "
                "the file is forged or not NPY"
            )
    fh.seek(start)
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=10_000)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=10_000)
        else:
            raise DataFileError(
                f"NPY format version {version[0]}.{version[1]} is not supported; save it with numpy.save"
            )
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


#: The delimited-text formats :func:`read_delimited` reads: comma-separated, tab- or
#: whitespace-separated, or either (the delimiter sniffed from the text, as for heatmap values).
DELIMITED_FORMATS = ("csv", "tsv", "sniff")


@_quiet
def read_delimited(path: Path, fmt: str, *, what: str = "the table", text: bool = False):
    """A pandas DataFrame from delimited text: the one table reader of scenerender
    (point and track sources, heatmap values, sweep tables).

    Bounded before parsing: text only (no NUL bytes), line length, rows and
    columns within the limits, values within ``3 x points``.

    Parameters
    ----------
    path : Path
        The file (already through :func:`scenerender.limits.check_input_file`).
    fmt : {"csv", "tsv", "sniff"}
        Comma-separated; tab- (or else whitespace-) separated; or the
        delimiter sniffed from the text.
    what : str
        How messages name the file.
    text : bool
        Every cell as text, exactly as written (no number or missing-value
        conversion), and every row as long as the header.

    Raises
    ------
    DataFileError
        Over a limit, empty, or not parseable as that format.
    """
    import csv

    import pandas as pd  # lazy: pandas is only loaded when a table is read

    if fmt not in DELIMITED_FORMATS:
        raise ValueError(f"unknown delimited format {fmt!r}; use one of {DELIMITED_FORMATS}")
    lines, first = scan_text(path, what=what)
    header = (first or b"").decode("utf-8", errors="replace")
    if fmt == "tsv":
        columns = max(len(header.split("\t")), len(header.split()))
    elif fmt == "csv":
        columns = header.count(",") + 1
    else:
        columns = max(header.count(d) for d in ",\t;| ") + 1
    check_columns(columns, what)
    message = over_values(f"{what} ({lines:,} lines x {columns:,} columns) is too large", lines * columns)
    if message:
        raise DataFileError(message)
    try:
        if text:
            return _text_table(path, fmt, header, what)
        if fmt == "csv":
            return pd.read_csv(path, sep=",", engine="c", encoding_errors="replace")
        if fmt == "sniff":
            return pd.read_csv(path, sep=None, engine="python")
        return pd.read_csv(
            path,
            sep="\t" if "\t" in header else r"\s+",
            engine="c",
            encoding_errors="replace",
        )
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{what} holds no columns") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError, csv.Error) as err:
        raise DataFileError(" ".join(str(err).split())[:300]) from None


def _text_table(path: Path, fmt: str, header: str, what: str):
    """Cells exactly as written (Python's csv module, UTF-8 with or without a BOM); blank lines skipped;
    every row as long as the header."""
    import csv

    import pandas as pd

    with open(path, newline="", encoding="utf-8-sig") as fh:
        if fmt == "sniff":
            dialect = csv.Sniffer().sniff(header)
        else:
            dialect = csv.excel if fmt == "csv" or "\t" not in header else csv.excel_tab
        rows = [row for row in csv.reader(fh, dialect) if row]
    if not rows:
        raise DataFileError(f"{what} holds no columns")
    names, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(names):
            raise DataFileError(f"row {number} has {len(row)} cells and the header {len(names)}; make every row "
                                "as long as the header")
    return pd.DataFrame(body, columns=names, dtype=object)


# ---------------------------------------------------------------------- HDF5

#: HDF5 filters a dataset may use: gzip, shuffle, fletcher32, szip, nbit,
#: scale-offset (built into HDF5) and lzf (built into h5py). Any other filter
#: would load a plugin library.
SAFE_HDF5_FILTERS = {
    "gzip",
    "shuffle",
    "fletcher32",
    "szip",
    "nbit",
    "scaleoffset",
    "lzf",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "32000",
}
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
    import h5py  # lazy: an HDF5 library is loaded only for an HDF5 file

    found: dict[str, object] = {}
    seen: set = set()
    queue = [("", f)]
    while queue:
        prefix, group = queue.pop()
        for name in group:
            full = f"{prefix}/{name}" if prefix else name
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise DataFileError(
                    f"object {full!r} is an external link to {link.filename!r}; scenerender "
                    "reads HDF5 data only from the file itself (copy the data into it)"
                )
            if isinstance(link, h5py.SoftLink):
                continue
            obj = group.get(name)
            if obj is None:
                continue
            token = (
                h5py.h5o.get_info(obj.id).token
                if hasattr(h5py.h5o.get_info(obj.id), "token")
                else h5py.h5o.get_info(obj.id).addr
            )
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
        raise DataFileError(
            f"dataset {name!r} is a virtual dataset (its data lives in other files); "
            "scenerender reads HDF5 data only from the file itself"
        )
    if dset.external:
        files = ", ".join(repr(_decode(e[0])) for e in dset.external[:3])
        raise DataFileError(
            f"dataset {name!r} keeps its data in external files ({files}); scenerender reads "
            "HDF5 data only from the file itself"
        )
    unknown = [str(k) for k in (dset._filters or {}) if str(k) not in SAFE_HDF5_FILTERS]
    if unknown:
        raise DataFileError(
            f"dataset {name!r} uses HDF5 filter(s) {', '.join(unknown)}, which would load a "
            "plugin; re-save it with gzip or no compression"
        )


#: Most chunks a dataset may be stored in (each is checked before reading).
_MAX_HDF5_CHUNKS = 1_000_000


def check_hdf5_chunks(dset, name: str) -> None:
    """Before a filtered, chunked dataset is read, every stored chunk is
    checked to decode to no more than a chunk's size (its declared shape x
    type): HDF5's deflate filter grows its buffer until the stream ends (an
    800 KB chunk of zeros took 800 MB), szip allocates what the chunk's
    first 4 bytes say, h5py's lzf filter grows its buffer and decodes again
    until the chunk fits (up to ~90 times its stored size, in quadratic
    time). Deflate streams are inflated here with a bound, discarding the
    output; szip's declared size is checked; lzf streams are walked token by
    token, counting (not writing) what they would decode to."""
    if dset.chunks is None:
        return
    plist = dset.id.get_create_plist()
    pipeline = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    filters = [int(f[0]) for f in pipeline]
    if not any(code in (1, 4, 32000) for code in filters):
        return  # shuffle, fletcher32, nbit, scale-offset: output of a chunk's size
    chunk = int(np.prod([int(n) for n in dset.chunks], dtype=object)) * dset.dtype.itemsize
    for code, _flags, values, _label in pipeline:
        if code == 32000 and len(values) >= 3 and int(values[2]) > chunk:  # the buffer lzf allocates first
            raise DataFileError(
                f"dataset {name!r}: its lzf filter declares chunks of {int(values[2]):,} bytes, more than a "
                f"chunk's {chunk:,}; the file is corrupt or forged"
            )
    stored = int(dset.id.get_num_chunks())
    if stored > _MAX_HDF5_CHUNKS:
        raise DataFileError(
            f"dataset {name!r} is stored in {stored:,} chunks (at most {_MAX_HDF5_CHUNKS:,}); "
            "re-save it with larger chunks or none"
        )
    for i in range(stored):
        info = dset.id.get_chunk_info(i)
        mask, raw = dset.id.read_direct_chunk(info.chunk_offset)
        for position, code in enumerate(filters):
            if mask & (1 << position):
                continue  # this filter was skipped for this chunk
            if code == 1:
                _inflate_at_most(raw, chunk, f"dataset {name!r}")
            elif code == 4 and len(raw) >= 4 and int.from_bytes(raw[:4], "little") > chunk:
                raise DataFileError(
                    f"dataset {name!r}: an szip chunk declares {int.from_bytes(raw[:4], 'little'):,} bytes, "
                    f"more than a chunk's {chunk:,} (corrupt, or a decompression bomb)"
                )
            elif code == 32000:
                if len(raw) > chunk + chunk // 16 + 64:
                    raise DataFileError(
                        f"dataset {name!r}: an lzf chunk of {len(raw):,} bytes is larger than a chunk's "
                        f"{chunk:,}; the file is corrupt"
                    )
                _lzf_at_most(_lzf_stream(raw, filters, mask, position, name), chunk, f"dataset {name!r}")


def _lzf_stream(raw: bytes, filters: list[int], mask: int, position: int, name: str) -> bytes:
    """The lzf stream of a stored chunk: the filters after lzf (applied
    later when writing, so undone first when reading) may only be
    fletcher32, whose 4-byte checksum ends the chunk."""
    for later, code in enumerate(filters[position + 1:], start=position + 1):
        if mask & (1 << later):
            continue
        if code != 3:
            raise DataFileError(
                f"dataset {name!r} is compressed with lzf and then filter {code}; re-save it with one "
                "compression filter"
            )
        raw = raw[:-4]
    return raw


def _lzf_at_most(data: bytes, limit: int, what: str) -> None:
    """Walk an LZF stream (liblzf's format: a control byte below 32 starts
    a literal run of ctrl + 1 bytes; above, a back-reference of (ctrl >> 5)
    + 2 bytes, 7 meaning a length byte follows, then the low byte of its
    distance), adding up what it decodes to without decoding it, and refuse
    it once that passes ``limit`` bytes, or when it is malformed."""
    n, at, out = len(data), 0, 0
    try:
        while at < n:
            ctrl = data[at]
            if ctrl < 32:  # a literal run
                at += ctrl + 2
                out += ctrl + 1
                if at > n:
                    raise IndexError
            else:  # a back-reference into what was decoded already
                length = ctrl >> 5
                if length == 7:
                    at += 1
                    length += data[at]
                distance = ((ctrl & 0x1F) << 8) + data[at + 1] + 1
                at += 2
                if distance > out:
                    raise DataFileError(f"{what}: an lzf chunk refers before its start; the file is corrupt")
                out += length + 2
            if out > limit:
                raise DataFileError(
                    f"{what}: an lzf chunk decodes to more than a chunk's {limit:,} bytes "
                    "(corrupt, or a decompression bomb)"
                )
    except IndexError:
        raise DataFileError(f"{what}: an lzf chunk is truncated; the file is corrupt") from None


def _inflate_at_most(raw: bytes, limit: int, what: str) -> None:
    decoder = zlib.decompressobj()
    produced, feed = 0, raw
    try:
        while feed and not decoder.eof:
            produced += len(decoder.decompress(feed, limit - produced + 1))
            if produced > limit:
                raise DataFileError(
                    f"{what}: a compressed chunk inflates beyond a chunk's {limit:,} bytes "
                    "(corrupt, or a decompression bomb)"
                )
            feed = decoder.unconsumed_tail
    except zlib.error as err:
        raise DataFileError(f"{what}: a compressed chunk is corrupt ({err})") from None


def _numeric_block(dset, name: str) -> np.ndarray:
    """A checked read of a numeric dataset (its shape x type bounded first,
    then its compressed chunks, see :func:`check_hdf5_chunks`)."""
    dtype = _plain_dtype(dset.dtype, f"dataset {name!r}")
    check_array(dset.shape, dtype, what=f"dataset {name!r}", count_as="points")
    check_hdf5_chunks(dset, name)
    return dset[()]


def _names(dset, name: str) -> list[str]:
    if dset.dtype.kind not in "SU" or dset.ndim != 1:
        raise DataFileError(f"dataset {name!r} should hold column names; it has type {dset.dtype}")
    check_array(dset.shape, dset.dtype, what=f"dataset {name!r}")
    check_columns(dset.shape[0], f"dataset {name!r}")
    check_hdf5_chunks(dset, name)
    return [_decode(v) for v in dset[()]]


def _pandas_fixed_frame(group, key: str):
    """A pandas ``format='fixed'`` DataFrame: numeric blocks are read; blocks
    of Python objects (pickled, e.g. text columns) are never read, and named
    in ``attrs['unpickled']`` so asking for one of them gives a clear error."""
    import pandas as pd

    attrs = group.attrs
    if int(attrs.get("ndim", 2)) != 2 or any(
        _decode(attrs.get(f"{k}_variety", b"regular")) != "regular"
        for k in attrs
        if k.endswith("_variety") and isinstance(k, str)
    ):
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
        if (
            _decode(values.attrs.get("PSEUDOATOM", b"")) == "object"
            or values.dtype.hasobject
            or values.dtype.kind == "O"
        ):
            skipped.extend(names)  # pickled Python objects: never read
            continue
        if values.dtype.kind != "S":  # fixed-width text is read as text; anything else must be numbers
            _plain_dtype(values.dtype, f"column(s) {', '.join(names)} of {key!r}")
        check_array(
            values.shape,
            values.dtype,
            what=f"table {key!r} block {i}",
            count_as="points",
        )
        check_hdf5_chunks(values, f"{key}/block{i}_values")
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

    allowed = {
        "PROTO",
        "FRAME",
        "EMPTY_LIST",
        "MARK",
        "APPENDS",
        "APPEND",
        "STOP",
        "MEMOIZE",
        "BINPUT",
        "LONG_BINPUT",
        "PUT",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "UNICODE",
        "SHORT_BINSTRING",
        "BINSTRING",
        "STRING",
        "SHORT_BINBYTES",
        "BINBYTES",
        "LIST",
    }
    found: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(raw):
            if op.name not in allowed:
                raise DataFileError(
                    f"{what} is stored as a pickle of more than text ({op.name}); scenerender "
                    "never unpickles: save the table with plain column names"
                )
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
    check_hdf5_chunks(dset, f"{key}/table")
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
            names = _pickle_strings(
                bytes(np.asarray(raw).tobytes()) if not isinstance(raw, bytes) else raw,
                f"the column names of {key!r}",
            )
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
    check_hdf5_chunks(dset, key)
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
    import h5py  # lazy: an HDF5 library is loaded only for an HDF5 file

    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as err:
        raise DataFileError(f"not an HDF5 file ({str(err).splitlines()[0][:200]})") from None
    try:
        with f:
            return _read_hdf5(f, key)
    except DataFileError:
        raise
    except (
        OSError,
        RuntimeError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
    ) as err:  # libhdf5 on a corrupt file
        raise DataFileError(f"corrupt HDF5 file ({' '.join(str(err).split())[:200] or type(err).__name__})") from None


def _read_hdf5(f, key: str | None):
    import h5py  # lazy: an HDF5 library is loaded only for an HDF5 file
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
    obj: Any = objects.get(key)
    if obj is None:
        names = ", ".join((pandas_keys or datasets)[:20]) or "nothing"
        raise DataFileError(f"no table {key!r}; it holds {names}")
    if key in pandas_keys:
        kind = _decode(obj.attrs["pandas_type"])
        if kind == "frame":
            return _pandas_fixed_frame(obj, key)
        if kind == "frame_table":
            return _pandas_table(obj, key)
        raise DataFileError(
            f"{key!r} is a pandas {kind!r}; scenerender reads pandas DataFrames (format 'fixed' or 'table')"
        )
    if not isinstance(obj, h5py.Dataset):
        raise DataFileError(f"{key!r} is a group; name a dataset in it")
    if obj.dtype.fields is not None:
        return _compound(obj, key)
    array = _numeric_block(obj, key)
    if array.ndim != 2:
        raise DataFileError(f"dataset {key!r} has shape {array.shape}; expected N x 3 or more columns")
    check_columns(array.shape[1], f"dataset {key!r}")
    return pd.DataFrame(array)
