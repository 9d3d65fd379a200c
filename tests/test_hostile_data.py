"""Hostile data files, made at test time by one generator per category, each
run through the real command line in a child process under a memory cap and
a timeout.

Categories: pickles (a canary file that must never appear), HDF5 reaching
outside its file, sizes declared beyond the limits (sparse files, so the
repository and the disk stay small), bodies that lie about their size,
decompression bombs, malformed meshes that would crash VTK, neuron graphs
with cycles, duplicate ids or missing parents, paths that are not regular
files (FIFOs, devices, folders) wherever a path is named, and bad numbers on
the command line and in the environment.

Every case must end with exit status 2 (or 1 where the failure is a write),
exactly one line on stderr naming the file (``scene.yaml:LINE:COL:`` where
the scene names it), no traceback, no file left behind, no process left
over, at most :data:`MAX_RSS` resident memory and :data:`TIMEOUT` seconds.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO
from harden_counts import COUNTS

#: Address space a child may map. VTK, Mesa and numpy map far more than they
#: touch (a plain render needs ~1.5 GiB of address space for ~0.4 GiB
#: resident), so the cap on address space is 1.5 GiB and resident memory
#: is checked separately against MAX_RSS.
ADDRESS_SPACE = int(1.5 * 1024**3)
MAX_RSS = 1024**3
#: CPU seconds (user + system) a case may take: unlike wall time, it does not
#: grow when the test machine is busy. A hang (blocking on a FIFO uses no CPU)
#: is caught by the wall-clock kill at HANG seconds.
TIMEOUT = 20.0
HANG = float(os.environ.get("SCENERENDER_HOSTILE_HANG", "180"))
CANARY = "canary-was-unpickled"


class Evil:
    """Pickles to a call that makes the canary file: unpickling it runs code."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __reduce__(self):
        return (os.system, (f"touch {self.folder / CANARY}",))


def _cap(address_space: int = ADDRESS_SPACE):
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))


def run_cli(args: list[str], cwd: Path, env: dict | None = None, *, fsize: int | None = None,
            address_space: int = ADDRESS_SPACE) -> dict:
    """``python -m scenerender ARGS`` in its own session, capped; returns its
    status, stderr, peak resident memory, time, and whether any process of
    its group outlived it."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                "MALLOC_ARENA_MAX": "2", **(env or {})}
    full_env.pop("SCENERENDER_DEBUG", None)

    def limits():
        _cap(address_space)
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "scenerender", *args], cwd=cwd, env=full_env, stdout=out,
                                stderr=err, preexec_fn=limits, start_new_session=True)
        timer = threading.Timer(HANG, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        try:
            os.killpg(proc.pid, 0)
            leftover = True
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            leftover = False
        err.seek(0)
        out.seek(0)
        stderr = err.read().decode(errors="replace")
        stdout = out.read().decode(errors="replace")
    return {"status": proc.returncode, "stderr": stderr, "stdout": stdout, "rss": usage.ru_maxrss * 1024,
            "seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
            "leftover": leftover}


# --------------------------------------------------------------- generators
#
# Each generator writes its data files into ``work`` and returns cases:
# (name, scene text, expectation); an expectation gives the exit status, a
# fragment of the message and optionally extra arguments, environment and
# the line the message must point at (default: the line naming the file).


def _points_scene(path: str, extra: str = "") -> str:
    return f"version: 1\nsources:\n  cells: {{kind: points, path: {path}{extra}}}\nactors:\n  - {{kind: points, source: cells}}\n"


def _volume_scene(path: str) -> str:
    return f"version: 1\nsources:\n  vol: {{kind: volume, path: {path}}}\nactors:\n  - {{kind: volume, source: vol}}\n"


def _mesh_scene(path: str) -> str:
    return f"version: 1\nsources:\n  m: {{kind: mesh, path: {path}}}\nactors:\n  - {{kind: mesh, source: m}}\n"


def _neuron_scene(path: str) -> str:
    return f"version: 1\nsources:\n  n: {{kind: neuron, path: {path}}}\nactors:\n  - {{kind: neuron, source: n}}\n"


def _sparse(path: Path, head: bytes, size: int) -> None:
    """A file of ``size`` bytes that starts with ``head`` and takes no disk space."""
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)


def _npy_header(shape, descr="<f8") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def gen_pickles(work: Path) -> list:
    import h5py
    import pandas as pd

    cases = []
    with open(work / "evil.npy", "wb") as fh:
        np.lib.format.write_array(fh, np.array([Evil(work), Evil(work), Evil(work)], dtype=object),
                                  allow_pickle=True)
    cases.append(("npy_object_points", _points_scene("evil.npy"), {"message": "never unpickles"}))
    cases.append(("npy_object_volume", _volume_scene("evil.npy"), {"message": "never unpickles"}))
    table = pd.DataFrame({"x": [6600.0] * 3, "y": [4000.0] * 3, "z": [5700.0] * 3,
                          "evil": [Evil(work)] * 3})
    with warnings.catch_warnings():  # pandas warns that it pickles the object column: that is the point
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        table.to_hdf(work / "evil_fixed.h5", key="df", mode="w")
    cases.append(("hdfstore_object_column", _points_scene("evil_fixed.h5", ", columns: [x, y, evil]"),
                  {"message": "stored as pickled Python objects"}))
    pd.DataFrame({"x": [6600.0] * 3, "y": [4000.0] * 3, "z": [5700.0] * 3}).to_hdf(
        work / "evil_table.h5", key="df", mode="w", format="table")
    with h5py.File(work / "evil_table.h5", "a") as f:  # column names that unpickle to a call
        f["df/table"].attrs["values_block_0_kind"] = np.bytes_(pickle.dumps(Evil(work), protocol=2))
    cases.append(("hdfstore_pickled_attribute", _points_scene("evil_table.h5"), {"message": "never unpickles"}))
    return cases


def gen_hdf5_outside(work: Path) -> list:
    import h5py

    outside = work.parent / "secret.h5"
    with h5py.File(outside, "w") as f:
        f["cells"] = np.full((5, 3), 6000.0)
    (work.parent / "secret.bin").write_bytes(np.full((5, 3), 6000.0).tobytes())
    with h5py.File(work / "extlink.h5", "w") as f:
        f["cells"] = h5py.ExternalLink(str(outside), "cells")
    with h5py.File(work / "extlink_hidden.h5", "w") as f:  # the table is fine; another object links out
        f["cells"] = np.full((5, 3), 6000.0)
        f.create_group("other")["x"] = h5py.ExternalLink(str(outside), "cells")
    layout = h5py.VirtualLayout(shape=(5, 3), dtype="f8")
    layout[:] = h5py.VirtualSource(str(outside), "cells", shape=(5, 3))
    with h5py.File(work / "virtual.h5", "w") as f:
        f.create_virtual_dataset("cells", layout)
    with h5py.File(work / "external.h5", "w") as f:
        f.create_dataset("cells", shape=(5, 3), dtype="f8", external=[(str(work.parent / "secret.bin"), 0, 120)])
    sandbox = {"args": ["--sandbox", "."]}
    return [("hdf5_external_link", _points_scene("extlink.h5"), {"message": "external link", **sandbox}),
            ("hdf5_external_link_elsewhere", _points_scene("extlink_hidden.h5"), {"message": "external link"}),
            ("hdf5_virtual_dataset", _points_scene("virtual.h5"), {"message": "virtual dataset", **sandbox}),
            ("hdf5_external_storage", _points_scene("external.h5"), {"message": "external files", **sandbox})]


def gen_declared_sizes(work: Path) -> list:
    """Headers that declare more than the limits allow, in sparse files."""
    import h5py
    import nibabel
    import tifffile

    _sparse(work / "wide.npy", _npy_header((10, 100_000_000)), 8 * 10**9 + 128)
    _sparse(work / "big_volume.npy", _npy_header((1000, 1000, 1000)), 8 * 10**9 + 128)
    with h5py.File(work / "unwritten.h5", "w") as f:  # never written: only a fill value, 5.6 GB declared
        f.create_dataset("cells", shape=(1_000_000, 700), dtype="f8", chunks=(1000, 7), compression="gzip")
    (work / "huge.nrrd").write_bytes(b"NRRD0004\ntype: double\ndimension: 3\nsizes: 2000 2000 2000\n"
                                     b"endian: little\nencoding: gzip\n\n" + gzip.compress(b"\0" * 1000))
    header = nibabel.Nifti1Header()  # a valid header declaring 3000^3 float64 voxels, then a few bytes
    header.set_data_shape((3000, 3000, 3000))
    header.set_data_dtype(np.float64)
    header["vox_offset"] = 352
    (work / "huge.nii.gz").write_bytes(gzip.compress(header.binaryblock + b"\0" * 68))
    tifffile.imwrite(work / "small.tif", np.zeros((4, 4), np.uint16))
    data = bytearray((work / "small.tif").read_bytes())
    for tag, value in ((256, 200_000), (257, 200_000)):  # ImageWidth, ImageLength, patched in the IFD
        _patch_tiff_tag(data, tag, value)
    (work / "huge.tif").write_bytes(bytes(data))
    header = "x," * 5000
    (work / "many_columns.csv").write_text(header.rstrip(",") + "\n" + "1," * 4999 + "1\n")
    _sparse(work / "nul.csv", b"a,s,r\n", 7 * 10**9)
    (work / "long_line.csv").write_bytes(b"a,s,r\n" + b"1" * (3 * 1024**2) + b"\n")
    return [("npy_values_not_rows", _points_scene("wide.npy"), {"message": "(3 x points)"}),
            ("npy_8gb_volume", _volume_scene("big_volume.npy"), {"message": "(array_bytes)"}),
            ("hdf5_never_written", _points_scene("unwritten.h5"), {"message": "(3 x points)"}),
            ("nrrd_declared_huge", _volume_scene("huge.nrrd"), {"message": "(voxels)"}),
            ("nifti_declared_huge", _volume_scene("huge.nii.gz"), {"message": "(voxels)"}),
            ("tiff_declared_huge", _volume_scene("huge.tif"), {"message": "(voxels)"}),
            ("csv_many_columns", _points_scene("many_columns.csv"), {"message": "(table_columns)"}),
            ("csv_nul_bytes", _points_scene("nul.csv"), {"message": "NUL byte"}),
            ("csv_long_line", _points_scene("long_line.csv"), {"message": "(line_bytes)"})]


def _patch_tiff_tag(data: bytearray, tag: int, value: int) -> None:
    offset = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, offset)[0]
    for i in range(count):
        entry = offset + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == tag:
            struct.pack_into("<HI", data, entry + 2, 4, 1)  # LONG, one value
            struct.pack_into("<I", data, entry + 8, value)
            return
    raise AssertionError(f"tag {tag} not in the TIFF")


def gen_lying_bodies(work: Path) -> list:
    """Bodies that are shorter or (decompressed) longer than the header says."""
    (work / "short.npy").write_bytes(_npy_header((1000, 3)) + b"\0" * 100)
    bomb = gzip.compress(b"\0" * (64 * 1024**2), compresslevel=9)  # 64 MiB of zeros in ~64 KiB
    (work / "bomb.nrrd").write_bytes(b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 10 10 10\n"
                                     b"encoding: gzip\n\n" + bomb)
    (work / "short.nrrd").write_bytes(b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 100 100 100\n"
                                      b"encoding: raw\n\n" + b"\1" * 1000)
    (work / "no_header_end.nrrd").write_bytes(b"NRRD0004\n" + b"x" * 200_000)
    detached = work.parent / "outside.raw"
    detached.write_bytes(b"\1" * 1000)
    (work / "detached.nrrd").write_bytes(b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 10 10 10\n"
                                         b"encoding: raw\ndata file: ../outside.raw\n\n")
    import tifffile

    tifffile.imwrite(work / "tiff_bomb.tif", np.zeros((10, 10, 10), np.uint8), compression="zlib")
    with tifffile.TiffFile(work / "tiff_bomb.tif") as tif:  # every strip made to point at the bomb
        tags = [(p.tags["StripOffsets"], p.tags["StripByteCounts"]) for p in tif.pages]
    data = bytearray((work / "tiff_bomb.tif").read_bytes())
    at, zbomb = len(data), zlib.compress(b"\0" * (64 * 1024**2), 9)  # TIFF strips are zlib streams
    for offsets, counts in tags:
        struct.pack_into("<I", data, offsets.valueoffset, at)
        struct.pack_into("<I", data, counts.valueoffset, len(zbomb))
    (work / "tiff_bomb.tif").write_bytes(bytes(data) + zbomb)
    return [("tiff_deflate_bomb", _volume_scene("tiff_bomb.tif"), {"message": "inflates beyond"}),
            ("npy_truncated_body", _points_scene("short.npy"), {"message": "truncated"}),
            ("nrrd_gzip_bomb", _volume_scene("bomb.nrrd"), {"message": "decompresses to more than"}),
            ("nrrd_truncated_raw", _volume_scene("short.nrrd"), {"message": "truncated"}),
            ("nrrd_endless_header", _volume_scene("no_header_end.nrrd"), {"message": "has no end"}),
            ("nrrd_detached_outside", _volume_scene("detached.nrrd"),
             {"message": "outside the sandbox", "args": ["--sandbox", "."]})]


def _set_tiff_tag(data: bytearray, tag: int, value: int, page: int = 0) -> None:
    """Set a one-value SHORT/LONG tag of IFD ``page`` in place (classic TIFF or BigTIFF)."""
    big = struct.unpack_from("<H", data, 2)[0] == 43
    offset = struct.unpack_from("<Q" if big else "<I", data, 8 if big else 4)[0]
    for _ in range(page):
        count = struct.unpack_from("<Q" if big else "<H", data, offset)[0]
        offset = struct.unpack_from("<Q" if big else "<I", data, offset + (8 + 20 * count if big else 2 + 12 * count))[0]
    count = struct.unpack_from("<Q" if big else "<H", data, offset)[0]
    for i in range(count):
        entry = offset + (8 + 20 * i if big else 2 + 12 * i)
        if struct.unpack_from("<H", data, entry)[0] == tag:
            kind = struct.unpack_from("<H", data, entry + 2)[0]
            struct.pack_into("<H" if kind == 3 else "<I", data, entry + (12 if big else 8), value)
            return
    raise AssertionError(f"tag {tag} not in the TIFF")


def gen_tiff(work: Path) -> list:
    """TIFFs whose codecs cannot be bounded, bombs in every codec that can,
    headers that declare more than the file holds, tiles larger than the
    image, BigTIFF and stacks of mixed pages."""
    import lzma

    import tifffile

    cases = []
    tifffile.imwrite(work / "plain.tif", np.zeros((5, 16, 16), np.uint8))
    for code, name in ((5, "lzw"), (7, "jpeg"), (32773, "packbits"), (50000, "zstd"), (34933, "png")):
        data = bytearray((work / "plain.tif").read_bytes())
        for page in range(5):
            _set_tiff_tag(data, 259, code, page)  # Compression
        (work / f"codec_{name}.tif").write_bytes(bytes(data))
        cases.append((f"tiff_codec_{name}", _volume_scene(f"codec_{name}.tif"),
                      {"message": "save it uncompressed or with deflate"}))
    tifffile.imwrite(work / "lzma_bomb.tif", np.zeros((2, 10, 10), np.uint8), compression="lzma")
    with tifffile.TiffFile(work / "lzma_bomb.tif") as tif:
        tags = [(p.tags["StripOffsets"], p.tags["StripByteCounts"]) for p in tif.pages]
    data = bytearray((work / "lzma_bomb.tif").read_bytes())
    at, bomb = len(data), lzma.compress(b"\0" * (256 * 1024**2), preset=1)  # 256 MiB in ~40 KiB
    for offsets, counts in tags:
        struct.pack_into("<I", data, offsets.valueoffset, at)
        struct.pack_into("<I", data, counts.valueoffset, len(bomb))
    (work / "lzma_bomb.tif").write_bytes(bytes(data) + bomb)
    cases.append(("tiff_lzma_bomb", _volume_scene("lzma_bomb.tif"), {"message": "inflates beyond"}))
    for compression in (None, "zlib"):  # 30000 x 30000 pixels (within the limits) declared in a tiny file
        name = f"tiny_{compression or 'raw'}.tif"
        tifffile.imwrite(work / name, np.zeros((16, 16), np.uint8), compression=compression, rowsperstrip=16)
        data = bytearray((work / name).read_bytes())
        _set_tiff_tag(data, 256, 30000)
        _set_tiff_tag(data, 257, 30000)
        _set_tiff_tag(data, 278, 30000)  # RowsPerStrip
        (work / name).write_bytes(bytes(data))
        cases.append((f"tiff_{compression or 'raw'}_huge_dims_tiny_file", _volume_scene(name),
                      {"message": "the file is truncated or its header is forged"}))
    tifffile.imwrite(work / "big_tile.tif", np.zeros((2, 32, 32), np.uint8), tile=(16, 16), compression="zlib")
    data = bytearray((work / "big_tile.tif").read_bytes())
    for page in range(2):
        _set_tiff_tag(data, 322, 65536, page)  # TileWidth
        _set_tiff_tag(data, 323, 65536, page)  # TileLength
    (work / "big_tile.tif").write_bytes(bytes(data))
    cases.append(("tiff_tiles_larger_than_image", _volume_scene("big_tile.tif"), {"message": "far larger than"}))
    tifffile.imwrite(work / "big.tif", np.zeros((4, 4), np.uint16), bigtiff=True)
    data = bytearray((work / "big.tif").read_bytes())
    _set_tiff_tag(data, 256, 200_000)
    _set_tiff_tag(data, 257, 200_000)
    (work / "big.tif").write_bytes(bytes(data))
    cases.append(("bigtiff_declared_huge", _volume_scene("big.tif"), {"message": "(voxels)"}))
    with tifffile.TiffWriter(work / "mixed.tif") as tif:
        for shape in ((8, 8), (16, 4), (8, 8)):
            tif.write(np.zeros(shape, np.uint8), contiguous=False)
    cases.append(("tiff_pages_of_mixed_shapes", _volume_scene("mixed.tif"), {"message": "different shapes"}))
    return cases


def gen_meshes(work: Path) -> list:
    """Meshes that crashed VTK (SIGSEGV): forged counts, truncation, wild indices."""
    import pyvista as pv

    def ply(vertices: int, faces: int, body: bytes) -> bytes:
        return (f"ply\nformat binary_little_endian 1.0\nelement vertex {vertices}\nproperty float x\n"
                f"property float y\nproperty float z\nelement face {faces}\n"
                "property list uchar int vertex_indices\nend_header\n").encode() + body

    verts = np.array([[6000, 3500, 5000], [7000, 3500, 5000], [6500, 4500, 5000]], "<f4").tobytes()
    face = struct.pack("<Biii", 3, 0, 1, 2)
    (work / "claims_1e9.ply").write_bytes(ply(10**9, 1, verts + face))
    (work / "truncated.ply").write_bytes(ply(3, 1, verts + face)[:-6])
    (work / "wild_index.ply").write_bytes(ply(3, 1, verts + struct.pack("<Biii", 3, 0, 1, 2_000_000_000)))
    (work / "negative_index.ply").write_bytes(ply(3, 1, verts + struct.pack("<Biii", 3, 0, -5, 2)))
    (work / "ascii_wild.ply").write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                                         "property float y\nproperty float z\nelement face 1\n"
                                         "property list uchar int vertex_indices\nend_header\n"
                                         "6000 3500 5000\n7000 3500 5000\n6500 4500 5000\n3 0 1 99\n")
    (work / "wild.obj").write_text("v 6000 3500 5000\nv 7000 3500 5000\nv 6500 4500 5000\nf 1 2 2000000000\n")
    (work / "claims.stl").write_bytes(b"\0" * 80 + struct.pack("<I", 10**9) + b"\0" * 50)
    (work / "claims.vtk").write_text("# vtk DataFile Version 3.0\nx\nASCII\nDATASET POLYDATA\n"
                                     "POINTS 1000000000 float\n0 0 0\n")
    (work / "wild.vtk").write_text("# vtk DataFile Version 3.0\nx\nASCII\nDATASET POLYDATA\nPOINTS 3 float\n"
                                   "6000 3500 5000 7000 3500 5000 6500 4500 5000\nPOLYGONS 1 4\n3 0 1 2000000\n")
    surface = pv.Sphere(radius=500, center=(6600, 4000, 5700))
    surface.save(work / "ok.vtp", binary=True)
    text = (work / "ok.vtp").read_bytes()
    forged = re.sub(rb'NumberOfPoints="\d+"', b'NumberOfPoints="300000000"', text, count=1)
    (work / "claims.vtp").write_bytes(forged)
    offsets = ('<?xml version="1.0"?>\n<VTKFile type="PolyData" version="0.1" byte_order="LittleEndian">\n'
               '<PolyData><Piece NumberOfPoints="3" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" '
               'NumberOfPolys="1"><Points><DataArray type="Float32" NumberOfComponents="3" format="ascii">'
               '6000 3500 5000 7000 3500 5000 6500 4500 5000</DataArray></Points><Polys>'
               '<DataArray type="Int64" Name="connectivity" format="ascii">0 1 2</DataArray>'
               '<DataArray type="Int64" Name="offsets" format="ascii">2000000000</DataArray>'
               '</Polys></Piece></PolyData></VTKFile>\n')
    (work / "offsets.vtp").write_text(offsets)  # VTK itself aborts reading this one
    return [("vtp_forged_offsets", _mesh_scene("offsets.vtp"), {"message": "VTK failed reading it"}),
            ("ply_claims_1e9_vertices", _mesh_scene("claims_1e9.ply"), {"message": "too many vertices"}),
            ("ply_truncated", _mesh_scene("truncated.ply"), {"message": "truncated"}),
            ("ply_face_index_2e9", _mesh_scene("wild_index.ply"), {"message": "refers to vertex 2000000000"}),
            ("ply_negative_index", _mesh_scene("negative_index.ply"), {"message": "refers to vertex -5"}),
            ("ply_ascii_wild_index", _mesh_scene("ascii_wild.ply"), {"message": "refers to vertex 99"}),
            ("obj_wild_index", _mesh_scene("wild.obj"), {"message": "refers to vertex 1999999999"}),
            ("stl_forged_count", _mesh_scene("claims.stl"), {"message": "not an STL file"}),
            ("vtk_claims_1e9_points", _mesh_scene("claims.vtk"), {"message": "too many points"}),
            ("vtk_wild_cell_index", _mesh_scene("wild.vtk"), {"message": "refers to point 2000000"}),
            ("vtp_claims_300m_points", _mesh_scene("claims.vtp"), {"message": "NumberOfPoints=300,000,000"})]


def gen_graphs(work: Path) -> list:
    """Neuron trees that are not trees, found in linear time and located."""
    good = ["1 1 6600 4000 5700 50 -1", "2 3 6700 4000 5700 5 1", "3 3 6800 4100 5700 5 2"]
    (work / "dup.swc").write_text("\n".join(good + ["2 3 6500 3900 5600 5 1"]) + "\n")
    (work / "cycle.swc").write_text("# a loop\n" + "\n".join(["1 1 6600 4000 5700 50 3", "2 3 6700 4000 5700 5 1",
                                                            "3 3 6800 4100 5700 5 2"]) + "\n")
    (work / "orphan.swc").write_text("\n".join(good + ["4 3 6500 3900 5600 5 77"]) + "\n")
    n = 300_000
    ids = np.arange(1, n + 1)
    rows = np.c_[ids, np.full(n, 3), np.full((n, 3), 6600.0), np.ones(n), ids - 1]
    rows[0, 6] = -1
    np.savetxt(work / "big.swc", rows, fmt="%d %d %.1f %.1f %.1f %.1f %d")

    def neuron(samples):
        return json.dumps({"neurons": [{"soma": {"x": 6600, "y": 4000, "z": 5700}, "axon": samples,
                                        "dendrite": []}]})

    def sample(i, parent):
        return {"sampleNumber": i, "parentNumber": parent, "x": 6600 + i, "y": 4000, "z": 5700}

    (work / "dup.json").write_text(neuron([sample(1, -1), sample(2, 1), sample(2, 2), sample(3, 2)]))
    (work / "cycle.json").write_text(neuron([sample(1, 3), sample(2, 1), sample(3, 2)]))
    (work / "orphan.json").write_text(neuron([sample(1, -1), sample(2, 9)]))
    soma = '{"neurons": [{"soma": {"x": 6600, "y": 4000, "z": 5700}, "dendrite": [], "axon": '
    (work / "ten_million.json").write_text(soma + "[" + "{}," * 10_000_000 + "{}]}]}")  # 30 MB, ~1 GB parsed
    (work / "deep.json").write_text(soma + "[" * 200_000 + "]" * 200_000 + "}]}")
    (work / "nan.json").write_text(soma + '[{"sampleNumber": 1, "parentNumber": -1, "x": NaN, "y": 1, "z": 1}]}]}')
    (work / "inf.json").write_text(soma + '[{"sampleNumber": 1, "parentNumber": -1, "x": 1e999, "y": 1, "z": 1}]}]}')
    (work / "digits.json").write_text(soma + '[{"sampleNumber": 1' + "0" * 5000 + ', "parentNumber": -1, '
                                      '"x": 1, "y": 1, "z": 1}]}]}')
    (work / "dup_key.json").write_text(soma + '[{"sampleNumber": 1, "parentNumber": -1, "parentNumber": 1, '
                                       '"x": 1, "y": 1, "z": 1}]}]}')
    (work / "text_coordinate.json").write_text(soma + '[{"sampleNumber": 1, "parentNumber": -1, '
                                               '"x": "a lot", "y": 1, "z": 1}]}]}')
    json_cases = [("json_ten_million_nodes", "ten_million.json", "array_bytes limit"),
                  ("json_deep_nesting", "deep.json", "levels deep"),
                  ("json_nan", "nan.json", "NaN is not a number"),
                  ("json_infinite_coordinate", "inf.json", "axon[0].x is inf"),
                  ("json_5000_digit_id", "digits.json", "5,001 digits"),
                  ("json_duplicate_key", "dup_key.json", "'parentNumber' twice"),
                  ("json_text_coordinate", "text_coordinate.json", "axon[0].x is str")]
    return [*((name, _neuron_scene(file), {"message": message}) for name, file, message in json_cases),
            ("swc_duplicate_id", _neuron_scene("dup.swc"), {"message": "line 4: node id 2 is used twice"}),
            ("swc_cycle", _neuron_scene("cycle.swc"), {"message": "its parents form a cycle"}),
            ("swc_missing_parent", _neuron_scene("orphan.swc"), {"message": "line 4: parent 77"}),
            ("swc_over_points_limit", _neuron_scene("big.swc"),
             {"message": "(points)", "args": ["--limit", "points=100000"]}),
            ("json_duplicate_sample", _neuron_scene("dup.json"), {"message": "neurons[0].axon[2]: node id 2"}),
            ("json_cycle", _neuron_scene("cycle.json"), {"message": "its parents form a cycle"}),
            ("json_missing_parent", _neuron_scene("orphan.json"), {"message": "neurons[0].axon[1]: parent 9"})]


def gen_format_gaps(work: Path) -> list:
    """Cases per format that the corpus above missed: an HDF5 chunk that
    inflates to 1 GiB, NRRD line skips past the end (a hang) and a bzip2
    bomb, a NIfTI header nibabel 'fixes' aloud, an NPY header claiming 4 GB,
    a NIfTI whose data starts past the end, PLY list counts, OBJ negative
    indices out of range, legacy VTK binary counts beyond the file."""
    import bz2

    import h5py
    import nibabel

    squeeze = zlib.compressobj(9)
    zeros = bytes(16 * 1024**2)
    bomb = b"".join(squeeze.compress(zeros) for _ in range(64)) + squeeze.flush()  # 1 GiB in ~1 MB
    with h5py.File(work / "chunk_bomb.h5", "w") as f:
        cells = f.create_dataset("cells", shape=(1000, 3), dtype="f8", chunks=(1000, 3), compression="gzip")
        cells.id.write_direct_chunk((0, 0), bomb, filter_mask=0)
    nrrd = b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 10 10 10\n"
    (work / "line_skip.nrrd").write_bytes(nrrd + b"encoding: raw\nline skip: 999999999999\n\n" + b"\1" * 1000)
    (work / "bz_bomb.nrrd").write_bytes(nrrd + b"encoding: bzip2\n\n" + bz2.compress(bytes(64 * 1024**2)))
    header = nibabel.Nifti1Header()
    header.set_data_shape((4, 4, 4))
    header.set_data_dtype(np.int16)
    header["vox_offset"] = 352
    header["dim"][0] = 100  # read as the other byte order: nibabel logs its repairs to stderr, then refuses
    (work / "noisy.nii").write_bytes(header.binaryblock + bytes(132))
    header = nibabel.Nifti1Header()
    header.set_data_shape((4, 4, 4))
    header.set_data_dtype(np.int16)
    header["vox_offset"] = 10**9
    (work / "far_offset.nii").write_bytes(header.binaryblock + bytes(132))
    (work / "header_4g.npy").write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", 4 * 10**9) + b"{")
    verts = np.array([[6000, 3500, 5000], [7000, 3500, 5000], [6500, 4500, 5000]], "<f4").tobytes()
    (work / "list_count.ply").write_bytes(
        b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
        b"property float z\nelement face 1\nproperty list int int vertex_indices\nend_header\n"
        + verts + struct.pack("<iiii", 2**31 - 1, 0, 1, 2))
    (work / "negative.obj").write_text("v 6000 3500 5000\nv 7000 3500 5000\nv 6500 4500 5000\nf -5 -6 -7\n")
    (work / "binary_counts.vtk").write_bytes(
        b"# vtk DataFile Version 3.0\nx\nBINARY\nDATASET POLYDATA\nPOINTS 3 float\n"
        + np.array([[6000, 3500, 5000], [7000, 3500, 5000], [6500, 4500, 5000]], ">f4").tobytes()
        + b"\nPOLYGONS 1000000000 4000000000\n" + struct.pack(">iiii", 3, 0, 1, 2))
    return [("hdf5_gzip_chunk_bomb", _points_scene("chunk_bomb.h5"), {"message": "inflates beyond a chunk's"}),
            ("nrrd_line_skip_past_end", _volume_scene("line_skip.nrrd"), {"message": "skip 999,999,999,999 lines"}),
            ("nrrd_bzip2_bomb", _volume_scene("bz_bomb.nrrd"), {"message": "decompresses to more than"}),
            ("nifti_header_repaired_aloud", _volume_scene("noisy.nii"), {"message": "bad NIfTI header"}),
            ("nifti_vox_offset_past_end", _volume_scene("far_offset.nii"), {"message": "cannot read its voxels"}),
            ("npy_header_claims_4gb", _points_scene("header_4g.npy"), {"message": "its header claims 4,000,000,000"}),
            ("ply_list_count_2e9", _mesh_scene("list_count.ply"), {"message": "2147483647 entries"}),
            ("obj_negative_index_out_of_range", _mesh_scene("negative.obj"), {"message": "refers to vertex -2"}),
            ("vtk_binary_counts_beyond_file", _mesh_scene("binary_counts.vtk"), {"message": "declares more values"})]


def _tiff_ifds(data: bytes) -> list[int]:
    """The offsets of the IFD chain of a little-endian classic TIFF."""
    offsets, offset = [], struct.unpack_from("<I", data, 4)[0]
    while offset:
        offsets.append(offset)
        offset = struct.unpack_from("<I", data, offset + 2 + 12 * struct.unpack_from("<H", data, offset)[0])[0]
    return offsets


def _point_tiff_ifd(data: bytearray, page: int, target: int) -> None:
    """Make IFD ``page``'s next-IFD offset point at IFD ``target`` (an earlier one: a loop)."""
    offsets = _tiff_ifds(bytes(data))
    at = offsets[page] + 2 + 12 * struct.unpack_from("<H", data, offsets[page])[0]
    struct.pack_into("<I", data, at, offsets[target])


def gen_second_look(work: Path) -> list:
    """Gaps found after the first hardening: an lzf HDF5 chunk that decodes
    to ~1.4 GB (its stored size is within a chunk's: h5py's lzf filter grows
    its buffer and decodes again until the chunk fits), TIFFs of several
    full-resolution series (ambiguous), IFD chains that loop back (within
    tifffile's first 100 pages, where it silently drops pages, and after,
    where it reads on for ever) and a SubIFD pointing back at its own IFD,
    MouseLight coordinates as text that is not a finite number, and a JSON
    file of nothing but quotes (blanking its strings took ~11 GB for 250 MB)."""
    import h5py
    import tifffile

    rows = 700_000  # one chunk of 700,000 x 3 float64: 16.8 MB declared
    bomb = b"\x00\x00" + b"\xe0\xff\x00" * ((rows * 24 - 2) // 3)  # a zero, then copies of 264 bytes: ~1.4 GB
    with h5py.File(work / "lzf_bomb.h5", "w") as f:
        cells = f.create_dataset("cells", shape=(rows, 3), dtype="f8", chunks=(rows, 3), compression="lzf")
        cells.id.write_direct_chunk((0, 0), bomb, filter_mask=0)
    with tifffile.TiffWriter(work / "two_series.tif") as tif:  # two stacks, neither marked reduced
        tif.write(np.zeros((3, 16, 16), np.uint16), photometric="minisblack", metadata=None)
        tif.write(np.zeros((2, 8, 12), np.uint16), photometric="minisblack", metadata=None)
    for name, pages, last, target in (("ifd_loop", 3, 2, 0), ("ifd_loop_late", 150, 149, 120)):
        with tifffile.TiffWriter(work / f"{name}.tif") as tif:
            for i in range(pages):
                tif.write(np.full((8, 8), i, np.uint8), metadata=None)
        data = bytearray((work / f"{name}.tif").read_bytes())
        _point_tiff_ifd(data, last, target)
        (work / f"{name}.tif").write_bytes(bytes(data))
    with tifffile.TiffWriter(work / "subifd_loop.tif") as tif:  # a pyramid whose SubIFD is made its own parent
        tif.write(np.zeros((64, 64), np.uint16), subifds=1, metadata=None)
        tif.write(np.zeros((32, 32), np.uint16), subfiletype=1, metadata=None)
    data = bytearray((work / "subifd_loop.tif").read_bytes())
    with tifffile.TiffFile(work / "subifd_loop.tif") as tif:
        struct.pack_into("<I", data, tif.pages[0].tags[330].valueoffset, _tiff_ifds(bytes(data))[0])
    (work / "subifd_loop.tif").write_bytes(bytes(data))
    (work / "quotes.json").write_bytes(b'"' * 40_000_000)  # 20 million strings in 40 MB: 2.6 GB to blank them
    soma = '{"neurons": [{"soma": {"x": 6600, "y": 4000, "z": 5700}, "dendrite": [], "axon": '
    for name, text in (("text_nan", '"nan"'), ("text_huge", '"1e999"'), ("text_hex", '"0x1A"')):
        (work / f"{name}.json").write_text(soma + '[{"sampleNumber": 1, "parentNumber": -1, "x": 6600, '
                                           f'"y": {text}, "z": 5700}}]}}]}}')
    return [("hdf5_lzf_chunk_bomb", _points_scene("lzf_bomb.h5"), {"message": "an lzf chunk decodes to more than"}),
            ("tiff_two_full_series", _volume_scene("two_series.tif"),
             {"message": "series 1: (2, 8, 12) uint16 (pages 3, 4)"}),
            ("tiff_ifd_loop", _volume_scene("ifd_loop.tif"), {"message": "(IFD 3 at byte 8 is IFD 0 again)"}),
            ("tiff_ifd_loop_after_100", _volume_scene("ifd_loop_late.tif"), {"message": "is IFD 120 again"}),
            ("tiff_subifd_loop", _volume_scene("subifd_loop.tif"), {"message": "SubIFD 0 of IFD 0 at byte 8"}),
            ("json_text_nan", _neuron_scene("text_nan.json"), {"message": "axon[0].y is str 'nan'"}),
            ("json_text_beyond_bound", _neuron_scene("text_huge.json"), {"message": "axon[0].y is 1e999, beyond"}),
            ("json_text_hex", _neuron_scene("text_hex.json"), {"message": "axon[0].y is str '0x1A'"}),
            ("json_twenty_million_strings", _neuron_scene("quotes.json"),
             {"message": "20,000,000 strings, which would take about 1,280,000,000 bytes"})]


def gen_paths(work: Path) -> list:
    """Paths that are not regular files, wherever a scene or recipe names one."""
    os.mkfifo(work / "fifo.csv")
    os.mkfifo(work / "fifo.yaml")
    unused = ("version: 1\nsources:\n  unused: {kind: points, path: %s}\nactors:\n  - {kind: root}\n")
    sweep = ("version: 1\nactors:\n  - {kind: region, regions: ['{r}']}\nsweep:\n  table: fifo.csv\n"
             "render: {output: 'out_{r}.png'}\n")
    panel = ("version: 1\nactors: [{kind: root}]\nrender: {size: [64, 48]}\npanels:\n  columns: 1\n"
             "  items:\n    - scene: fifo.yaml\n")
    (work / "structures_bomb.yaml").write_text(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n")
    from atlas_recipes import annotation

    np.save(work / "annotation.npy", annotation())
    recipe = ("version: 1\nname: lab_mouse\nmetadata: {{species: Mus musculus, citation: unpublished, "
              "link: 'https://example.org', packager: Lab}}\norientation: asr\nresolution: 50\n"
              "annotation: {annotation}\nreference: {{derive: annotation}}\nhemispheres: symmetric\n"
              "structures:\n  path: {structures}\n")
    (work / "structures.yaml").write_text(yaml.safe_dump([{"acronym": "root", "id": 1, "name": "root",
                                                          "structure_id_path": [1], "rgb_triplet": [9, 9, 9]}]))
    (work / "fifo_annotation.recipe").write_text(recipe.format(annotation="fifo.csv", structures="structures.yaml"))
    (work / "bomb.recipe").write_text(recipe.format(annotation="annotation.npy", structures="structures_bomb.yaml"))
    return [("unused_source_dev_zero", unused % "/dev/zero", {"message": "is a device", "line": 3}),
            ("unused_source_fifo", unused % "fifo.csv", {"message": "is a FIFO", "line": 3}),
            ("unused_source_root_folder", unused % "/", {"message": "is a folder", "line": 3}),
            ("sweep_table_fifo", sweep, {"message": "is a FIFO", "line": 5, "command": "validate"}),
            ("panel_scene_fifo", panel, {"message": "is a FIFO", "line": 7}),
            ("recipe_input_fifo", "version: 1\natlas: {recipe: fifo_annotation.recipe}\nactors: [{kind: root}]\n",
             {"message": "is a FIFO", "file": "fifo_annotation.recipe", "line": 6}),
            ("recipe_structures_alias_bomb", "version: 1\natlas: {recipe: bomb.recipe}\nactors: [{kind: root}]\n",
             {"message": "alias bomb", "file": "bomb.recipe", "line": 10, "progress": "building atlas "})]


def gen_numbers(work: Path) -> list:
    """Bad numbers in scenes, on the command line and in the environment."""
    anim = ("version: 1\nactors: [{kind: root}]\nanimation:\n  fps: 5.0e-324\n  duration: 1\n"
            "  orbit: {degrees: 90}\n")
    big_int = "version: 1\nactors: [{kind: root}]\nrender:\n  size: [" + "9" * 5000 + ", 48]\n"
    plain = "version: 1\nactors: [{kind: root}]\nrender: {size: [64, 48]}\n"
    (work / "cells_far.csv").write_text("a,s,r\n6600,4000,5700\n1e300,4000,5700\n")
    return [("fps_denormal", anim, {"message": "fps 4.94066e-324 is too small", "line": 4}),
            ("int_5000_digits", big_int, {"message": "too large a number", "line": 4}),
            ("env_limit_not_a_number", plain, {"message": "SCENERENDER_MAX_POINTS", "line": None,
                                               "env": {"SCENERENDER_MAX_POINTS": "lots"}, "file": "scenerender"}),
            ("time_nan", anim.replace("5.0e-324", "30"), {"message": "--time nan", "line": None,
                                                        "args": ["--time", "nan"], "file": "scenerender"}),
            ("coordinate_1e300", _points_scene("cells_far.csv"), {"message": "beyond +-1e+15"})]


GENERATORS = [gen_pickles, gen_hdf5_outside, gen_declared_sizes, gen_lying_bodies, gen_tiff, gen_meshes, gen_graphs,
              gen_format_gaps, gen_second_look,
              gen_paths, gen_numbers]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Every generator's files in one scratch folder, every case run (two at
    a time: each is one short process); what was left behind, over all."""
    from concurrent.futures import ThreadPoolExecutor

    work = tmp_path_factory.mktemp("hostile") / "work"
    work.mkdir()
    cases = {}
    for gen in GENERATORS:
        for name, scene, expect in gen(work):
            (work / f"{name}.yaml").write_text(scene)
            cases[name] = expect

    def listing():
        return set(os.listdir(work)) | {f"../{n}" for n in os.listdir(work.parent)}

    before = listing()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_cli, [e.get("command", "render"), f"{name}.yaml", *e.get("args", [])],
                                     work, e.get("env")) for name, e in cases.items()}
        results = {name: f.result() for name, f in futures.items()}
    return cases, results, sorted(listing() - before), work


ALL_CASES = ["npy_object_points", "npy_object_volume", "hdfstore_object_column", "hdfstore_pickled_attribute",
             "hdf5_external_link", "hdf5_external_link_elsewhere", "hdf5_virtual_dataset", "hdf5_external_storage",
             "npy_values_not_rows", "npy_8gb_volume", "hdf5_never_written", "nrrd_declared_huge",
             "nifti_declared_huge", "tiff_declared_huge", "csv_many_columns", "csv_nul_bytes", "csv_long_line",
             "npy_truncated_body", "tiff_deflate_bomb", "nrrd_gzip_bomb", "nrrd_truncated_raw", "nrrd_endless_header",
             "nrrd_detached_outside", "ply_claims_1e9_vertices", "ply_truncated", "ply_face_index_2e9",
             "ply_negative_index", "ply_ascii_wild_index", "obj_wild_index", "stl_forged_count",
             "vtk_claims_1e9_points", "vtk_wild_cell_index", "vtp_claims_300m_points", "vtp_forged_offsets", "swc_duplicate_id",
             "swc_cycle", "swc_missing_parent", "swc_over_points_limit", "json_duplicate_sample", "json_cycle",
             "json_missing_parent", "unused_source_dev_zero", "unused_source_fifo", "unused_source_root_folder",
             "sweep_table_fifo", "panel_scene_fifo", "recipe_input_fifo",
             "recipe_structures_alias_bomb", "fps_denormal", "int_5000_digits", "env_limit_not_a_number",
             "time_nan", "coordinate_1e300",
             "tiff_codec_lzw", "tiff_codec_jpeg", "tiff_codec_packbits", "tiff_codec_zstd", "tiff_codec_png",
             "tiff_lzma_bomb", "tiff_raw_huge_dims_tiny_file", "tiff_zlib_huge_dims_tiny_file",
             "tiff_tiles_larger_than_image", "bigtiff_declared_huge", "tiff_pages_of_mixed_shapes",
             "json_ten_million_nodes", "json_deep_nesting", "json_nan", "json_infinite_coordinate",
             "json_5000_digit_id", "json_duplicate_key", "json_text_coordinate",
             "hdf5_gzip_chunk_bomb", "nrrd_line_skip_past_end", "nrrd_bzip2_bomb", "nifti_header_repaired_aloud",
             "nifti_vox_offset_past_end", "npy_header_claims_4gb", "ply_list_count_2e9",
             "obj_negative_index_out_of_range", "vtk_binary_counts_beyond_file",
             "hdf5_lzf_chunk_bomb", "tiff_two_full_series", "tiff_ifd_loop", "tiff_ifd_loop_after_100",
             "tiff_subifd_loop", "json_text_nan", "json_text_beyond_bound", "json_text_hex",
             "json_twenty_million_strings"]


def test_every_generated_case_is_run(hostile):
    assert sorted(hostile[0]) == sorted(ALL_CASES)


def test_no_pickle_was_loaded_and_nothing_left_behind(hostile):
    _, _, left, work = hostile
    assert not (work / CANARY).exists(), "a pickle was loaded: the canary file appeared"
    assert left == [], f"left behind: {left}"


@pytest.mark.parametrize("name", ALL_CASES)
def test_hostile_data_file(hostile, name):
    cases, results, _, _ = hostile
    expect, result = cases[name], results[name]
    COUNTS["corpus"] += 1
    stderr = result["stderr"]
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert result["status"] == expect.get("status", 2), stderr
    # A recipe's atlas is built on first use and says so first: progress, not part of the error.
    lines = [t for t in stderr.strip().splitlines() if not ("progress" in expect and t.startswith(expect["progress"]))]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    file = re.escape(expect.get("file", f"{name}.yaml"))
    line = expect.get("line", 3)
    where = rf"^(.*/)?{file}:{line}:\d+: " if line is not None else rf"^(.*/)?{file}[: ]"
    assert re.match(where, lines[0]), f"not located at {expect.get('file', name)}:{line}: {lines[0]}"
    assert expect["message"] in lines[0], lines[0]
    assert not result["leftover"], "a process outlived the command"
    assert result["rss"] <= MAX_RSS, f"{result['rss'] / 1024**2:.0f} MiB resident"
    assert result["cpu"] <= TIMEOUT, f"{result['cpu']:.1f} s of CPU"


# ------------------------------------------------------------ whole commands


def test_batch_planning_refuses_paths_before_hashing(tmp_path):
    """The batch planner checks every path (sandbox, FIFOs) before it hashes
    anything or starts a worker: the render is invalid at once."""
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "outside.yaml").write_text(_points_scene("/etc/hostname"))
    (tmp_path / "fifo.yaml").write_text(_points_scene("fifo.csv"))
    result = run_cli(["batch", "outside.yaml", "fifo.yaml", "--sandbox", ".", "--report", "report.json"], tmp_path)
    text = result["stderr"] + result["stdout"]
    assert result["status"] == 2, text
    assert "Traceback" not in text and "internal error" not in text, text
    assert "outside.yaml:3:" in text and "outside the sandbox" in text, text
    assert "fifo.yaml:3:" in text and "is a FIFO" in text, text
    report = json.loads((tmp_path / "report.json").read_text())
    assert [r["status"] for r in report["renders"]] == ["invalid", "invalid"]
    assert not any(r.get("fingerprint") for r in report["renders"])
    assert not result["leftover"] and result["cpu"] <= TIMEOUT


def test_frames_folder_with_a_user_file_is_refused_and_kept(tmp_path):
    """PNG frames go to a folder only if it holds nothing but frames: a
    user's file in a subfolder survives, and so do the old frames."""
    (tmp_path / "orbit.yaml").write_text("version: 1\nactors: [{kind: root}]\nrender: {size: [32, 24]}\n"
                                         "animation:\n  fps: 2\n  frames: 2\n  orbit: {degrees: 10}\n")
    frames = tmp_path / "frames"
    (frames / "frame_notes").mkdir(parents=True)  # named like a frame at the top: only a deeper look tells
    (frames / "frame_notes" / "thesis.txt").write_text("years of work")
    (frames / "frame_00000.png").write_bytes(b"old frame")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli(["render", "orbit.yaml", "-o", "frames"], tmp_path)
    assert result["status"] == 1, result["stderr"]
    lines = result["stderr"].strip().splitlines()
    assert len(lines) == 1 and "frame_notes" in lines[0] and "not only frames" in lines[0], result["stderr"]
    assert (frames / "frame_notes" / "thesis.txt").read_text() == "years of work"
    assert (frames / "frame_00000.png").read_bytes() == b"old frame"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_frames_folder_of_only_frames_is_replaced(tmp_path):
    from scenerender.video import VideoWriter

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(5):  # an older, longer render
        (frames / f"frame_{i:05d}.png").write_bytes(b"old")
    writer = VideoWriter(frames, fps=2, size=(8, 6))
    writer.write(np.zeros((6, 8, 3), np.uint8))
    writer.close()
    assert sorted(p.name for p in frames.iterdir()) == ["frame_00000.png"]
    assert (frames / "frame_00000.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


@pytest.mark.parametrize("case", ["name_too_long", "file_too_large"])
def test_os_errors_on_writing_are_one_line(tmp_path, case):
    """A write the system refuses (here ENAMETOOLONG, and EFBIG from a file-size
    cap, standing in for ENOSPC) is one line naming the output, exit 1."""
    (tmp_path / "s.yaml").write_text("version: 1\nactors: [{kind: root}]\nrender: {size: [64, 48]}\n")
    if case == "name_too_long":
        result = run_cli(["render", "s.yaml", "-o", "x" * 300 + ".png"], tmp_path)
        reason = "file name too long"
    else:
        result = run_cli(["render", "s.yaml", "-o", "out.png"], tmp_path, fsize=100)
        reason = "too large"
    lines = result["stderr"].strip().splitlines()
    assert result["status"] == 1, result["stderr"]
    assert len(lines) == 1 and "Traceback" not in lines[0] and "internal error" not in lines[0], result["stderr"]
    assert reason in lines[0].lower(), lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


# ------------------------------------------- what the second look accepts


def _validates(result: dict) -> None:
    """Exit 0, no message but the scene's 'ok', no leftover process, bounded memory and CPU."""
    assert result["status"] == 0, result["stderr"]
    assert result["stderr"].strip() == "" and result["stdout"].strip().endswith(": ok"), result
    assert not result["leftover"] and result["rss"] <= MAX_RSS, f"{result['rss'] / 1024**2:.0f} MiB resident"


def test_lzf_points_table_is_read_whole(tmp_path):
    """lzf chunks (after shuffle, before fletcher32, as h5py writes them) are
    counted token by token: a real table of several chunks, an edge chunk
    and poorly compressible values passes, and reads back as written."""
    import h5py

    from scenerender.readers import read_hdf5_table

    cells = np.random.default_rng(5).normal([6600, 4000, 5700], 300, (25_000, 3))
    with h5py.File(tmp_path / "cells.h5", "w") as f:
        f.create_dataset("cells", data=cells, chunks=(4096, 3), compression="lzf", shuffle=True, fletcher32=True)
    (tmp_path / "s.yaml").write_text(_points_scene("cells.h5"))
    _validates(run_cli(["validate", "s.yaml"], tmp_path))
    np.testing.assert_array_equal(read_hdf5_table(tmp_path / "cells.h5").to_numpy(), cells)


def test_tiff_beside_thumbnails_is_read_as_its_stack(tmp_path):
    """As microscopes write it: a preview first, then each plane followed by
    its thumbnail (NewSubfileType 1, reduced resolution). The stack is the
    volume; the thumbnails are neither read as planes nor a reason to refuse."""
    import tifffile

    from scenerender.readers import read_tiff

    stack = np.arange(4 * 24 * 32, dtype=np.uint16).reshape(4, 24, 32)
    with tifffile.TiffWriter(tmp_path / "scan.tif") as tif:
        tif.write(np.full((6, 8), 7, np.uint8), subfiletype=1, metadata=None)
        for plane in stack:
            tif.write(plane, metadata=None)
            tif.write(np.full((6, 8), 9, np.uint8), subfiletype=1, metadata=None)
    (tmp_path / "s.yaml").write_text(_volume_scene("scan.tif").replace(
        "path: scan.tif", "path: scan.tif, space: {orientation: asr, resolution: [100, 100, 100], "
        "offset: [6000, 3000, 4000]}"))
    _validates(run_cli(["validate", "s.yaml"], tmp_path))
    np.testing.assert_array_equal(read_tiff(tmp_path / "scan.tif"), stack)


def test_mouselight_coordinates_as_text_are_read(tmp_path):
    """Coordinates written as numeric text ("6612.5") are read as those
    numbers; the same neuron with numbers reads the same."""
    from scenerender.readers import read_mouselight_json

    xyz = [(6600 + 12.5 * i, 4000 - 0.25 * i, 5700 + i) for i in range(1, 6)]

    def neuron(as_text: bool) -> str:
        def value(v):
            return f"{v}" if as_text else v
        samples = [{"sampleNumber": i + 1, "parentNumber": i if i else -1, "x": value(x), "y": value(y),
                    "z": value(z)} for i, (x, y, z) in enumerate(xyz)]
        return json.dumps({"neurons": [{"soma": {"x": value(6600.0), "y": "4000", "z": 5700}, "axon": samples,
                                        "dendrite": []}]})

    (tmp_path / "text.json").write_text(neuron(True))
    (tmp_path / "numbers.json").write_text(neuron(False))
    (tmp_path / "s.yaml").write_text(_neuron_scene("text.json"))
    _validates(run_cli(["validate", "s.yaml"], tmp_path))
    read = read_mouselight_json(tmp_path / "text.json")
    assert [(s["x"], s["y"], s["z"]) for s in read["axon"]] == xyz
    assert (read["soma"]["x"], read["soma"]["y"], read["soma"]["z"]) == (6600.0, 4000.0, 5700.0)
    assert read == read_mouselight_json(tmp_path / "numbers.json")


@pytest.mark.slow
def test_large_mouselight_neuron_within_default_limits(tmp_path):
    """A 400,000-sample axon (MouseLight axons reach ~100k-500k samples; 9
    keys a sample, as MouseLight writes them) is read within the default
    limits, in under 1 GiB resident for the whole validate run. The
    neuron is named but not drawn (validate reads every source): what is
    measured is reading it, not building 400,000 tube segments. VTK, Mesa
    and numpy map far more than they touch, so this run may map 2.5 GiB."""
    n = 400_000
    rng = np.random.default_rng(7)
    xyz = np.round(np.array([6600, 4000, 5700]) + np.cumsum(rng.normal(0, 1, (n, 3)), axis=0), 4)
    samples = [{"sampleNumber": i + 1, "structureIdentifier": 2, "x": x, "y": y, "z": z, "radius": 1.0,
                "parentNumber": i if i else -1, "brainAreaId": None, "allenId": 549}
               for i, (x, y, z) in enumerate(xyz.tolist())]
    with open(tmp_path / "big.json", "w") as fh:
        json.dump({"neurons": [{"idString": "AA9999", "soma": {"x": 6600, "y": 4000, "z": 5700},
                                "axon": samples, "dendrite": []}]}, fh)
    del samples
    (tmp_path / "s.yaml").write_text("version: 1\nsources:\n  n: {kind: neuron, path: big.json}\n"
                                     "actors:\n  - {kind: root}\n")
    _validates(run_cli(["validate", "s.yaml"], tmp_path, address_space=int(2.5 * 1024**3)))
