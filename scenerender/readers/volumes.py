"""Bounded volumes: NRRD, NIfTI, TIFF and NPY stacks."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..limits import PathRefused, current_limits, resolve_input_file
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
        for skipped in range(max(0, line_skip)):
            line = fh.readline(current_limits().line_bytes)
            if len(line) >= current_limits().line_bytes:
                raise DataFileError("a skipped line is too long")
            if not line:
                raise DataFileError(f"its header says to skip {line_skip:,} lines; the data holds {skipped:,}")
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
    import logging

    import nibabel

    log = logging.getLogger("nibabel.global")  # it prints header fixes ("sizeof_hdr should be 348") on stderr
    was = log.disabled
    log.disabled = True
    try:
        return _read_nifti(nibabel, path, what)
    finally:
        log.disabled = was


def _read_nifti(nibabel, path: Path, what: str) -> np.ndarray:
    try:
        image: Any = nibabel.load(str(path))
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


#: Most pages a TIFF may have: tifffile keeps an object per page (about a
#: kilobyte), so a small file of millions of empty IFDs would be a memory bomb.
TIFF_MAX_PAGES = 100_000

#: TIFF compressions scenerender decodes, each through a decoder bounded by
#: the segment's declared size: none (1), deflate (8, 32946) and LZMA
#: (34925). Others (LZW, PackBits, JPEG, zstd, WebP, ...) decode in native
#: code with no output bound, so they are refused before any decoding.
_TIFF_CODECS = {1: None, 8: "zlib", 32946: "zlib", 34925: "lzma"}


@_quiet
def read_tiff(path: Path, *, what: str = "the volume") -> np.ndarray:
    """A TIFF (or BigTIFF) stack, its first series. Before anything is
    decoded: at most :data:`TIFF_MAX_PAGES` pages, a numeric type, the
    series' shape x type within the limits, every page of the series of one
    shape, each strip or tile no larger than the image needs, a supported
    compression; then every compressed strip is streamed through a decoder
    that stops one chunk past the segment's declared size. Decoding then
    writes into an array of exactly the checked size."""
    import logging

    import tifffile  # lazy: loaded only for a TIFF file

    log = logging.getLogger("tifffile")  # it logs odd IFDs (loops, bad offsets) to stderr
    was = log.disabled
    log.disabled = True
    try:
        with tifffile.TiffFile(path) as tif:
            pages = len(tif.pages)
            if pages > min(TIFF_MAX_PAGES, current_limits().voxels):
                raise DataFileError(
                    f"it has {pages:,} pages, over the {TIFF_MAX_PAGES:,} a stack may have; "
                    "save the stack as NRRD, NIfTI or NPY"
                )
            if not tif.series:
                raise DataFileError("it holds no image")
            if len(tif.series) > 1:
                other = tif.series[1]
                raise DataFileError(
                    f"it holds images of different shapes ({tuple(tif.series[0].shape)} and "
                    f"{tuple(other.shape)} from page {getattr(other.pages[0], 'index', '?')}); "
                    "a volume is one stack of equal pages: save it as such"
                )
            series = tif.series[0]
            _plain_dtype(np.dtype(series.dtype), what)
            check_array(series.shape, series.dtype, what=what, count_as="voxels")
            _check_tiff_pages(tif, series, what)
            return series.asarray(maxworkers=1)
    except DataFileError:
        raise
    except MemoryError:
        raise DataFileError(f"{what} needs more memory than there is; lower its size") from None
    except RecursionError:
        raise DataFileError("its image directories (IFDs, SubIFDs) refer to each other in a loop; "
                            "the file is corrupt") from None
    except Exception as err:  # tifffile raises many types for a broken file
        raise DataFileError(
            f"failed to read it as TIFF: {str(err).splitlines()[0][:200] if str(err) else err!r}"
        ) from None
    finally:
        log.disabled = was


def _check_tiff_pages(tif, series, what: str) -> None:
    """Every page of ``series``: the first page's shape, a supported
    compression, segments no larger than the image, and (compressed) no
    segment inflating beyond its declared size; output is discarded."""
    first = None
    fh = tif.filehandle
    size = int(fh.size)
    for index, page in enumerate(series.pages):
        if page is None:
            continue
        key = getattr(page, "keyframe", None) or page  # a TiffFrame has its offsets, its keyframe the rest
        shape = tuple(int(n) for n in key.shape)
        if first is None:
            first = shape
        elif shape != first:
            raise DataFileError(f"page {index} has shape {shape}, the first page {first}; a stack's pages must match")
        compression = int(key.compression)
        if compression not in _TIFF_CODECS:
            name = getattr(key.compression, "name", str(compression))
            raise DataFileError(
                f"its compression {name} cannot be decoded with a bound on the output (a decompression bomb "
                "could exhaust memory): save it uncompressed or with deflate (zlib) or LZMA compression"
            )
        itemsize = max(1, (int(key.bitspersample) + 7) // 8)
        segment = int(np.prod([int(n) for n in key.chunks], dtype=object)) * itemsize
        if key.planarconfig == 1 and int(key.samplesperpixel) > 1 and len(key.chunks) < 3:
            segment *= int(key.samplesperpixel)
        if segment > max(4 * int(key.nbytes), 1 << 20) or segment > current_limits().array_bytes:
            raise DataFileError(
                f"page {index} declares strips or tiles of {tuple(key.chunks)} pixels, far larger than its "
                f"image {shape}; the file is corrupt"
            )
        codec = _TIFF_CODECS[compression]
        produced = 0
        for offset, count in zip(page.dataoffsets, page.databytecounts):
            offset, count = int(offset), int(count)
            if count < 0 or offset < 0 or (count and offset + count > size):
                raise DataFileError(
                    f"page {index}: a strip or tile lies beyond the end of the file (offset {offset:,}, "
                    f"{count:,} bytes, file of {size:,}); the file is truncated or corrupt"
                )
            if codec is not None and count:
                produced += _inflate_bounded(fh, offset, count, codec, segment + 64, f"{what}: page {index}")
            elif codec is None:
                produced += count
        needed = int(key.nbytes) * int(key.bitspersample) // (8 * itemsize)
        if produced < needed:
            raise DataFileError(
                f"page {index} declares {needed:,} bytes of pixels ({shape}) but its strips hold only "
                f"{produced:,}; the file is truncated or its header is forged"
            )


def _inflate_bounded(fh, offset: int, count: int, codec: str, limit: int, what: str) -> int:
    """Stream ``count`` compressed bytes at ``offset`` through a decoder,
    reading and inflating a chunk at a time, and refuse as soon as more than
    ``limit`` bytes come out. Returns how many bytes came out."""
    import lzma

    decoder: Any = zlib.decompressobj() if codec == "zlib" else lzma.LZMADecompressor()
    produced = 0
    fh.seek(offset)
    left = count
    try:
        while left > 0 and not decoder.eof:
            data = fh.read(min(left, 1 << 20))
            if not data:
                break
            left -= len(data)
            while True:
                out = decoder.decompress(data, limit - produced + 1)
                produced += len(out)
                if produced > limit:
                    raise DataFileError(
                        f"{what}: a compressed strip inflates beyond its declared {limit - 64:,} bytes "
                        "(corrupt, or a decompression bomb)"
                    )
                data = decoder.unconsumed_tail if codec == "zlib" else b""
                if codec == "lzma" and not decoder.eof and not decoder.needs_input:
                    continue
                if not data:
                    break
    except (zlib.error, lzma.LZMAError) as err:
        raise DataFileError(f"{what}: a compressed strip is corrupt ({err})") from None
    return produced


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
