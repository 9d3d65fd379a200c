"""Bounded volumes: NRRD, NIfTI, TIFF and NPY stacks."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from ..limits import PathRefused, current_limits, over_limit, resolve_input_file
from ._common import (
    HEADER_MAX,
    DataFileError,
    _plain_dtype,
    _quiet,
    check_array,
    decompress_bounded,
    read_exact,
)
from .tables import read_npy

# --------------------------------------------------------------- NRRD, NIfTI, TIFF


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
        head = fh.read(HEADER_MAX)
        if not head.startswith(b"NRRD"):
            raise DataFileError("not a NRRD file (it does not start with 'NRRD')")
        end = head.find(b"\n\n")
        if end < 0:
            end = head.find(b"\r\n\r\n")
            if end < 0:
                raise DataFileError(f"its header has no end (a blank line) within {HEADER_MAX:,} bytes")
            offset = end + 4
        else:
            offset = end + 2
        try:
            header = nrrd.read_header(head[:end].decode("latin-1").splitlines())
            dtype = np.dtype(_determine_datatype(header))
            sizes = tuple(int(n) for n in header["sizes"])
        except Exception as err:  # pynrrd raises several kinds for a bad header
            raise DataFileError(f"bad NRRD header: {str(err).splitlines()[0][:200] if str(err) else err!r}") from None
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
            _check_compressed_strips(tif, series, what)
            return series.asarray()
    except DataFileError:
        raise
    except MemoryError:
        raise
    except Exception as err:  # tifffile raises many types for a broken file
        raise DataFileError(
            f"failed to read it as TIFF: {str(err).splitlines()[0][:200] if str(err) else err!r}"
        ) from None


#: TIFF compressions whose strips are checked by streaming them through a
#: bounded decoder first: deflate (8, 32946) and LZMA (34925). tifffile would
#: inflate a whole strip in memory, however large, before noticing.
_STREAMED = {8: "zlib", 32946: "zlib", 34925: "lzma"}


def _check_compressed_strips(tif, series, what: str) -> None:
    """No strip or tile of the series' pages inflates beyond its page's size
    (a decompression bomb in a tiny file); output is discarded as it comes."""
    import lzma

    for page in series.pages:
        if page is None or getattr(page, "compression", 1) not in _STREAMED:
            continue
        codec = _STREAMED[int(page.compression)]
        limit = int(page.nbytes) + 64
        fh = tif.filehandle
        for offset, count in zip(page.dataoffsets, page.databytecounts):
            if not count:
                continue
            fh.seek(offset)
            data = fh.read(min(int(count), 1 << 31))
            decoder = zlib.decompressobj() if codec == "zlib" else lzma.LZMADecompressor()
            produced, feed = 0, data
            try:
                while feed or (codec == "lzma" and not decoder.needs_input and not decoder.eof):
                    out = decoder.decompress(feed, 1 << 20)
                    produced += len(out)
                    if produced > limit:
                        raise DataFileError(f"{what}: a compressed strip inflates beyond its page's {limit:,} "
                                            "bytes (corrupt, or a decompression bomb)")
                    feed = decoder.unconsumed_tail if codec == "zlib" else b""
                    if not out and not feed:
                        break
            except (zlib.error, lzma.LZMAError) as err:
                raise DataFileError(f"{what}: a compressed strip is corrupt ({err})") from None


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


def read_volume_file(path, fmt: str) -> np.ndarray:
    """A stack file, read by :func:`read_volume`: its header's shape x type is
    checked against the voxels and array_bytes limits before any voxel is
    read; a detached NRRD data file must pass the same path checks (and
    sandbox) as the NRRD itself."""
    def resolve(name: str):
        try:
            return resolve_input_file(name, Path(path).parent, what="NRRD data file")
        except PathRefused as err:
            raise DataFileError(str(err)) from None

    return read_volume(path, fmt, resolve=resolve)
