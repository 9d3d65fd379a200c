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
    """A TIFF (or BigTIFF) stack: its one series, or the one full-resolution
    series when the others are reduced-resolution (thumbnail) images (see
    :func:`_main_tiff_series`); only that series is read. Before anything is
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
        _check_tiff_ifds(path)
        with tifffile.TiffFile(path) as tif:
            pages = len(tif.pages)
            if pages > min(TIFF_MAX_PAGES, current_limits().voxels):
                raise DataFileError(
                    f"it has {pages:,} pages, over the {TIFF_MAX_PAGES:,} a stack may have; "
                    "save the stack as NRRD, NIfTI or NPY"
                )
            series = _main_tiff_series(tif.series, Path(path).name)
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


#: Most tags an image directory may have (tifffile reads none beyond 4096 either).
_TIFF_MAX_TAGS = 4096


def _check_tiff_ifds(path: Path) -> None:
    """Walk the image directories (IFDs) of a TIFF or BigTIFF before tifffile
    does: the chain of next-IFD offsets and every SubIFD (tag 330) and its
    chain, without recursion, each directory visited at most once. An
    offset that points back to a directory already seen (a loop, which
    tifffile only notices within its first 100 pages, reading on otherwise)
    is refused, as are more than :data:`TIFF_MAX_PAGES` directories in all.
    Offsets past the end of the file are left to tifffile's own checks."""
    import struct

    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(0)
        head = fh.read(16)
        if len(head) < 8 or head[:2] not in (b"II", b"MM"):
            return  # not a TIFF: tifffile says so
        end = "<" if head[:2] == b"II" else ">"
        big = struct.unpack(end + "H", head[2:4])[0] == 43
        count_fmt, entry, word = (end + "Q", 20, end + "Q") if big else (end + "H", 12, end + "I")
        first = struct.unpack(word, head[8:16] if big else head[4:8])[0]
        seen: dict[int, str] = {}
        todo = [(first, "IFD 0")]
        while todo:
            offset, name = todo.pop()
            number = 0
            while 0 < offset < size:
                label = f"IFD {number}" if name == "IFD 0" else name if number == 0 else f"{name} (next {number})"
                if offset in seen:
                    raise DataFileError(
                        f"its image directories refer to each other in a loop ({label} at byte {offset:,} is "
                        f"{seen[offset]} again); the file is corrupt"
                    )
                if len(seen) >= TIFF_MAX_PAGES:
                    raise DataFileError(f"it has more than {TIFF_MAX_PAGES:,} image directories (pages and "
                                        "SubIFDs); save the stack as NRRD, NIfTI or NPY")
                seen[offset] = label
                fh.seek(offset)
                raw = fh.read(struct.calcsize(count_fmt))
                if len(raw) < struct.calcsize(count_fmt):
                    return
                tags = struct.unpack(count_fmt, raw)[0]
                if tags > _TIFF_MAX_TAGS:
                    return  # tifffile refuses the page
                entries = fh.read(tags * entry)
                for k in range(len(entries) // entry):
                    todo.extend((sub, f"SubIFD {i} of {label}") for i, sub in
                                enumerate(_tiff_subifds(fh, entries[k * entry:(k + 1) * entry], end, big)))
                fh.seek(offset + len(raw) + tags * entry)
                raw = fh.read(struct.calcsize(word))
                offset = struct.unpack(word, raw)[0] if len(raw) == struct.calcsize(word) else 0
                number += 1


def _tiff_subifds(fh, entry: bytes, end: str, big: bool) -> list[int]:
    """The offsets a SubIFDs tag (330) holds, or [] for any other tag."""
    import struct

    tag, kind = struct.unpack(end + "HH", entry[:4])
    if tag != 330:
        return []
    count = struct.unpack(end + ("Q" if big else "I"), entry[4:12] if big else entry[4:8])[0]
    width = {4: 4, 13: 4, 16: 8, 18: 8}.get(kind)
    if width is None or count > TIFF_MAX_PAGES:
        return []
    field = entry[12:20] if big else entry[8:12]
    if count * width > len(field):
        at = fh.tell()
        fh.seek(struct.unpack(end + ("Q" if big else "I"), field)[0])
        field = fh.read(count * width)
        fh.seek(at)
    return [int(v) for v in struct.unpack(f"{end}{len(field) // width}{'Q' if width == 8 else 'I'}", field)]


def _main_tiff_series(all_series, name: str):
    """The series to read: the only one, or the only one not marked as a
    reduced-resolution image (NewSubfileType bit 0: thumbnails and previews,
    which microscopes write next to the stack; pyramid levels in SubIFDs are
    already levels of their series). Several full-resolution series are
    ambiguous: refused, naming them and how to export one."""
    if not all_series:
        raise DataFileError("it holds no image")
    full = [s for s in all_series if not _is_reduced(s)] or list(all_series)
    if len(full) == 1:
        return full[0]
    shown = "; ".join(f"series {all_series.index(s)}: {tuple(s.shape)} {s.dtype} ({_page_list(s)})" for s in full[:4])
    if len(full) > 4:
        shown += f"; and {len(full) - 4} more"
    raise DataFileError(
        f"it holds {len(full)} full-resolution image series of different shapes ({shown}), none marked as a "
        "reduced-resolution or thumbnail image, so which one is the volume is ambiguous; save the one you want "
        f"on its own, e.g. tifffile.imwrite('volume.tif', tifffile.imread({name!r}, series={all_series.index(full[0])}))"
    )


def _is_reduced(series) -> bool:
    """Whether every page of ``series`` is marked reduced-resolution (NewSubfileType bit 0)."""
    return all(bool(getattr(getattr(p, "keyframe", None) or p, "is_reduced", False))
               for p in series.pages if p is not None)


def _page_list(series) -> str:
    """``page 3`` or ``pages 0, 2, 4, 6, ... (20 pages)``."""
    pages = series.pages
    text = ", ".join(str(getattr(p, "index", "?")) for p in pages[:4])
    return f"page{'s' if len(pages) > 1 else ''} {text}" + (f", ... ({len(pages)} pages)" if len(pages) > 4 else "")


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
