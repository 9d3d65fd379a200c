"""Meshes without native crashes: PLY, OBJ and STL parsed in numpy; VTK and
VTP counted, then read by VTK in a child process; every face index checked."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from ..limits import current_limits, over_limit, over_values
from ._common import (
    _CHUNK,
    HEADER_MAX,
    DataFileError,
    _quiet,
    quiet_native_stderr,
    read_exact,
    scan_text,
)

# -------------------------------------------------------------------- meshes

_PLY_TYPES = {
    "char": "i1",
    "int8": "i1",
    "uchar": "u1",
    "uint8": "u1",
    "short": "i2",
    "int16": "i2",
    "ushort": "u2",
    "uint16": "u2",
    "int": "i4",
    "int32": "i4",
    "uint": "u4",
    "uint32": "u4",
    "float": "f4",
    "float32": "f4",
    "double": "f8",
    "float64": "f8",
}
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
            raise DataFileError(
                f"face {number} refers to vertex {bad[0]}, but the file has {n_vertices:,} vertices (numbered from 0)"
            )
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def check_faces(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """``faces`` (M x 3 vertex indices) with every index checked."""
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    bad = (faces < 0) | (faces >= n_vertices)
    if bad.any():
        row = int(np.nonzero(bad.any(axis=1))[0][0])
        raise DataFileError(
            f"face {row + 1} refers to vertex {int(faces[row][bad[row]][0])}, but the file has "
            f"{n_vertices:,} vertices (numbered from 0)"
        )
    return faces


def _ply_header(fh) -> tuple[str, list, int]:
    head = fh.read(HEADER_MAX)
    if not head.startswith(b"ply"):
        raise DataFileError("not a PLY file (it does not start with 'ply')")
    end = head.find(b"end_header")
    if end < 0:
        raise DataFileError(f"its header has no 'end_header' within {HEADER_MAX:,} bytes")
    offset = end + len(b"end_header")
    offset += 2 if head[offset : offset + 2] == b"\r\n" else 1
    fmt, elements = None, []  # type: ignore[var-annotated]
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
    fields: list[tuple] = []
    first_row: dict[str, int] = {}
    for name, t, item in props:
        if item is None:
            fields.append((name, order + t))
            first_row[name] = np.dtype(t).itemsize
        else:
            size = np.frombuffer(fh.read(np.dtype(t).itemsize) or b"\0" * np.dtype(t).itemsize, order + t)[0]
            length = int(size)
            fh.seek(length * np.dtype(item).itemsize, 1)
            fields += [
                (name + "__n", order + t),
                (name, order + item, (max(length, 0),)),
            ]
    fh.seek(start)
    try:
        dtype = np.dtype(fields)
        rows = np.frombuffer(read_exact(fh, count * dtype.itemsize, what), dtype=dtype) if count else None
        if rows is None or all(
            (rows[name + "__n"] == rows[name].shape[1]).all() for name, _, item in props if item is not None
        ):
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
                raise DataFileError(
                    f"its header declares {count:,} {name} elements, which need at least "
                    f"{count * minimum:,} bytes; the file has {size:,} (truncated or forged)"
                )
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
    if vertices is None:
        raise DataFileError("it has no 'vertex' element (a mesh needs vertices)")
    return vertices, faces


def _ply_ascii_element(fh, count: int, props: list, name: str) -> list:
    limit = current_limits().line_bytes
    rows: list[tuple] = []
    for _ in range(count):
        line = fh.readline(limit + 1)
        if len(line) > limit:
            raise DataFileError(over_limit(f"a line of its {name} data is too long", len(line), "line_bytes"))
        words = line.split()
        if not words and not line:
            raise DataFileError(f"its {name} data is truncated ({len(rows):,} of {count:,} rows)")
        row: list[Any] = []
        pos = 0
        try:
            for _, _type, item in props:
                if item is None:
                    row.append(float(words[pos]))
                    pos += 1
                else:
                    length = int(words[pos])
                    if not 0 <= length <= _MAX_POLYGON:
                        raise DataFileError(f"a list has {length} entries (at most {_MAX_POLYGON})")
                    row.append(tuple(int(w) for w in words[pos + 1 : pos + 1 + length]))
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
    name = next(
        (n for n in ("vertex_indices", "vertex_index") if n in lists),
        lists[0] if lists else None,
    )
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
            raise DataFileError(
                f"not an STL file: a binary STL of {max(count, 0):,} triangles would have "
                f"{84 + 50 * max(count, 0):,} bytes, this has {size:,}, and it does not start "
                "with 'solid'"
            )
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
            raise DataFileError(
                f"it holds a {kind.group(1).decode()} dataset; a mesh must be POLYDATA or UNSTRUCTURED_GRID"
            )
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
                        raise DataFileError(
                            f"it declares {name}={value:,}, more than its {size:,} bytes could "
                            "hold (truncated or forged)"
                        )
                else:
                    # A cell keyword gives (cells, total ints); any other line with two numbers is
                    # (components, tuples) of an array: either way no count can exceed the bytes.
                    cells = name.upper() in (
                        "POLYGONS",
                        "CELLS",
                        "LINES",
                        "VERTICES",
                        "TRIANGLE_STRIPS",
                    )
                    product = max(numbers) if cells else numbers[0] * (numbers[1] if len(numbers) > 1 else 1)
                    if name.upper() == "POINTS" and numbers[0] > limits.points:
                        raise DataFileError(over_limit("it declares too many points", numbers[0], "points"))
                    if product > size and name.upper() not in ("VERSION",):
                        raise DataFileError(
                            f"'{name} {' '.join(map(str, numbers))}' declares more values than "
                            f"its {size:,} bytes could hold (truncated or forged)"
                        )
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
    package_root = str(Path(__file__).resolve().parents[3])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    }
    code = (
        "import sys, numpy as np; from scenerender.readers.meshes import _read_vtk_here, DataFileError\n"
        "try:\n    p, f = _read_vtk_here(sys.argv[1], sys.argv[2])\n"
        "except DataFileError as e:\n    sys.stderr.write(str(e)); sys.exit(3)\n"
        "np.savez(sys.stdout.buffer, points=p, faces=f)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), fmt],
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
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
    import pyvista as pv  # lazy: VTK loads only in the child process that reads the file

    file = Path(path)
    with quiet_native_stderr():
        try:
            mesh = pv.read(file)
        except Exception as err:
            raise DataFileError(
                f"VTK cannot read it: {str(err).splitlines()[0][:200] if str(err) else err!r}"
            ) from None
    if isinstance(mesh, pv.MultiBlock) or not hasattr(mesh, "n_points"):
        raise DataFileError("it holds several blocks; a mesh file holds one surface")
    n = int(mesh.n_points)
    if n > current_limits().points:
        raise DataFileError(over_limit("it holds too many vertices", n, "points"))
    if isinstance(mesh, pv.PolyData):
        cells = mesh.GetPolys()
        offsets, conn = _cell_arrays(cells)
        _check_cells(offsets, conn, n)
        polygons = (
            [conn[a:b].tolist() for a, b in itertools.pairwise(offsets)]
            if len(offsets) and (np.diff(offsets) != 3).any()
            else None
        )
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
    from vtk.util.numpy_support import vtk_to_numpy  # lazy: VTK loads only in the reading child process

    return (
        vtk_to_numpy(cells.GetOffsetsArray()).astype(np.int64),
        vtk_to_numpy(cells.GetConnectivityArray()).astype(np.int64),
    )


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
