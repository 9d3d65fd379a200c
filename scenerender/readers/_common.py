"""What every bounded reader shares: the error, the checks of a declared
shape against the limits, bounded reading and decompression, streaming
through text, and keeping native libraries' messages off stderr."""

from __future__ import annotations

import bz2
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..limits import current_limits, over_limit, over_values

_CHUNK = 1 << 20
#: Most bytes a text header (NRRD, PLY) may take before its end.
HEADER_MAX = 1 << 16


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
        raise DataFileError(
            over_limit(
                f"{what} (shape {tuple(dims)}, {np.dtype(dtype)}) is too large to read",
                nbytes,
                "array_bytes",
                " bytes",
            )
        )
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
        raise DataFileError(
            f"{what} holds Python objects, which are stored as pickles; scenerender never "
            "unpickles (it can run code): save the numbers as a numeric array"
        )
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise DataFileError(f"{what} has type {dtype}; expected numbers (integers or floats)")
    return dtype


def read_exact(fh, nbytes: int, what: str) -> bytes:
    """``nbytes`` from ``fh`` or a 'truncated' error (never reads more)."""
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise DataFileError(
            f"{what} is truncated: its header declares {nbytes:,} bytes of data, the file holds {len(data):,}"
        )
    return data


def decompress_bounded(fh, expected: int, codec: str, what: str) -> bytes:
    """Decompress a gzip/zlib or bzip2 stream from ``fh`` into exactly
    ``expected`` bytes, stopping as soon as more would come out (a
    decompression bomb costs at most one chunk beyond the declared size)."""
    decoder: Any = bz2.BZ2Decompressor() if codec == "bzip2" else zlib.decompressobj(wbits=47)  # gzip or zlib
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
        raise DataFileError(
            f"{what} decompresses to more than the {expected:,} bytes its header declares; "
            "the file is corrupt or a decompression bomb"
        )
    if len(out) < expected:
        raise DataFileError(
            f"{what} is truncated: it decompresses to {len(out):,} bytes, its header declares {expected:,}"
        )
    return bytes(out)


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
                raise DataFileError(
                    over_limit(
                        f"line {line} is too long (at least)",
                        longest,
                        "line_bytes",
                        " bytes",
                    )
                )
            lines += len(parts) - 1
            current = lengths[-1] if len(parts) == 1 else len(parts[-1])
            if lines > limits.points + 1:
                raise DataFileError(over_limit(f"{what} has too many lines", lines, "points"))
    if first is None:
        with open(path, "rb") as fh:
            first = fh.read(limits.line_bytes)
    return lines + (1 if current else 0), first
