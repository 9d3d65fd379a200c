"""Stage 3a: read a local BrainGlobe v3 atlas without importing brainglobe-atlasapi.

``import brainglobe_atlasapi`` costs 1.6-2.2 s (it loads ngff-zarr, dask.array,
s3fs, pandas, zarr and treelib), although a scene of root, regions and points
on a local atlas needs only its ``manifest.json``, its ``terminology.csv`` and
its Draco mesh files. :class:`LocalAtlas` reads those exactly as
brainglobe-atlasapi 3.0 does (``core.Atlas.__init__``,
``structure_class.Structure._read_mesh``, the terminology reader of
:mod:`scenerender._bgcompat`), giving equal values, and reads the annotation
volume with ngff-zarr only when a scene needs it.

Anything it does not read itself (a template, the hemispheres of an atlas
that is not symmetric, a mesh file still to be downloaded, an unusual
terminology file, any attribute not written here) comes from the real
brainglobe-atlasapi atlas, opened on first need by the ``fallback`` the
caller gives (:func:`scenerender.atlas.open_bg_atlas`), so nothing that
worked through brainglobe-atlasapi stops working.

Atlas files are untrusted input: each is size-checked before it is read,
locations in the manifest must stay inside the atlas folder, and a broken
file ends in one :class:`AtlasFileError` naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
from collections import UserDict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import AtlasUnavailable
from .limits import current_limits, how_to_raise

# brainglobe_atlasapi.descriptors, 3.0 (tests/test_atlas_local.py checks they are still equal)
TERMINOLOGY_NAME = "terminology.csv"
MESHES_DIRECTORY = "annotations.precomputed/mesh"
ANNOTATION_NAME = "annotations_compressed.ome.zarr"
ATLAS_ORIENTATION = "asr"

#: Largest manifest.json read.
MAX_MANIFEST_BYTES = 1024**2
#: Largest terminology.csv read (the Allen mouse ontology's is 110 KB).
MAX_TERMINOLOGY_BYTES = 16 * 1024**2
#: Most structures in one terminology.csv (the Allen mouse ontology has 1327).
MAX_STRUCTURES = 200_000
#: Largest Draco mesh file read (the Allen 10 um root mesh is about 2 MB).
MAX_MESH_FILE_BYTES = 256 * 1024**2

#: The na_values of brainglobe-atlasapi's terminology reader (``keep_default_na=False``).
_NA = frozenset(["", "NaN", "NULL", "nan", "N/A", "na", "null"])
#: pandas' default true/false values: a column of only these would be read as booleans.
_BOOLEAN = frozenset(["True", "TRUE", "true", "False", "FALSE", "false"])
_RENAME = {
    "identifier": "id",
    "parent_identifier": "parent_structure_id",
    "abbreviation": "acronym",
    "root_identifier_path": "structure_id_path",
    "color_hex_triplet": "rgb_triplet",
}
_COLUMNS = {"identifier", "parent_identifier", "annotation_value", "name", "abbreviation",
            "color_hex_triplet", "root_identifier_path"}
_REQUIRED = _COLUMNS - {"annotation_value"}
_UINT = re.compile(r"[0-9]+")
_ID_PATH = re.compile(r"\s*[0-9]+(?:,\s*[0-9]+)*")


class AtlasFileError(AtlasUnavailable):
    """An atlas file is too large, malformed or points outside its atlas folder."""


class Unsupported(Exception):
    """A file that is valid but laid out other than :class:`LocalAtlas` reads; the caller opens
    the atlas with brainglobe-atlasapi instead."""


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of an atlas file, refused above ``limit`` bytes before anything is read."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise AtlasFileError(f"{what} {path} is {size:,} bytes, over the {limit:,} bytes an atlas's "
                                 f"{what} may have; is this the right file?")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as err:
        raise AtlasFileError(f"cannot read {what} {path}: {err.strerror or err}") from None
    if len(data) > limit:  # grew while being read
        raise AtlasFileError(f"{what} {path} is over the {limit:,} bytes an atlas's {what} may have")
    return data


def read_manifest(path: Path) -> dict:
    """An atlas's ``manifest.json``, checked for the keys every reader of it needs."""
    data = read_bounded(path, MAX_MANIFEST_BYTES, "manifest")
    try:
        metadata = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise AtlasFileError(f"atlas manifest {path} is not valid JSON ({err}); reinstall the atlas "
                             "('brainglobe install') or rebuild it") from None
    if not isinstance(metadata, dict):
        raise AtlasFileError(f"atlas manifest {path} is not a JSON object")
    problems = []
    for key in ("terminology", "annotation_set"):
        entry = metadata.get(key)
        if not (isinstance(entry, dict) and isinstance(entry.get("location"), str) and entry["location"]):
            problems.append(f"'{key}.location' (a string) is missing")
    for key, kind in (("resolution", (int, float)), ("shape", (int,))):
        value = metadata.get(key)
        if not (isinstance(value, list) and len(value) == 3
                and all(isinstance(v, kind) and not isinstance(v, bool) and v > 0 for v in value)):
            problems.append(f"'{key}' is not a list of three positive numbers")
    if not isinstance(metadata.get("name"), str):
        problems.append("'name' (a string) is missing")
    if problems:
        raise AtlasFileError(f"atlas manifest {path}: {'; '.join(problems)}; is it a BrainGlobe v3 atlas?")
    return metadata


def _inside(root: Path, location: str, *parts: str, what: str) -> Path:
    """``root / location[1:] / parts`` as brainglobe-atlasapi joins them, refused when it leaves ``root``."""
    path = root.joinpath(location[1:], *parts)
    normal = os.path.normpath(path)
    if os.path.commonpath([normal, os.path.normpath(root)]) != os.path.normpath(root):
        raise AtlasFileError(f"the atlas manifest places its {what} at {location!r}, outside the atlas folder "
                             f"{root}; a manifest may only name files inside its own atlas folder")
    return path


def _text_column(values: list[str]) -> bool:
    """Whether pandas would keep this column as text (some value is neither a number nor a boolean)."""
    for value in values:
        if value in _BOOLEAN:
            continue
        try:
            float(value)
        except ValueError:
            return True
    return False


def _integer(raw: str, column: str) -> int:
    if not _UINT.fullmatch(raw) or int(raw) >= 2**63:
        raise Unsupported(f"{column} {raw!r}")
    return int(raw)


def _parent(raw: str, column: str) -> int | None:
    if raw in _NA:
        return None  # pandas' UInt32 NA, as to_dict gives it
    if _UINT.fullmatch(raw) and int(raw) < 2**32:
        return int(raw)
    raise Unsupported(f"{column} {raw!r}")


def _id_path(raw: str, column: str) -> list[int]:
    inner = raw.strip("[]")  # what np.fromstring(..., sep=",", dtype=np.uint32) reads, when it reads all
    if raw in _NA or not _ID_PATH.fullmatch(inner):
        raise Unsupported(f"{column} {raw!r}")
    value = [int(v) for v in inner.split(",")]
    if max(value) >= 2**32:
        raise Unsupported(f"{column} {raw!r}")
    return value


def _colour(raw: str, column: str) -> list[int]:
    if raw in _NA:
        raise Unsupported(f"{column} {raw!r}")
    try:  # the very converter brainglobe-atlasapi gives pandas
        return [int(raw.strip("#")[i: i + 2], 16) for i in (0, 2, 4)]
    except ValueError:
        raise Unsupported(f"{column} {raw!r}") from None


def _text(raw: str, column: str) -> str:
    if raw in _NA:
        raise Unsupported(f"{column} {raw!r}")
    return raw


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "identifier": _integer, "annotation_value": _integer, "parent_identifier": _parent,
    "root_identifier_path": _id_path, "color_hex_triplet": _colour, "name": _text, "abbreviation": _text,
}


def _parse_row(row: dict[str, str], columns: list[str]) -> dict[str, Any]:
    """One terminology row, with the values pandas gives through ``_bgcompat``'s reader; raises
    :class:`Unsupported` for anything it would read differently (missing values, overflows)."""
    return {_RENAME.get(c, c): _PARSERS[c](row[c], c) for c in columns}


def read_terminology(path: Path) -> list[dict[str, Any]]:
    """The structures of a ``terminology.csv``, equal to what
    :func:`scenerender._bgcompat.load_structures_from_csv_uint32` (pandas) gives.

    Raises
    ------
    AtlasFileError
        The file is too large, not UTF-8, or has too many rows or too long a line.
    Unsupported
        The file is valid but has columns or values this reader does not read as pandas does
        (missing values, unknown columns, numbers as names): the caller uses brainglobe-atlasapi.
    """
    data = read_bounded(path, MAX_TERMINOLOGY_BYTES, "terminology")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise AtlasFileError(f"atlas terminology {path} is not UTF-8 text ({err})") from None
    if text.count("\n") > MAX_STRUCTURES + 1:  # counted before any row is parsed
        raise AtlasFileError(f"atlas terminology {path} has over {MAX_STRUCTURES:,} lines, more than the "
                             f"{MAX_STRUCTURES:,} structures an atlas may have")
    line_bytes = current_limits().line_bytes
    if any(len(line) > line_bytes for line in text.splitlines()):
        raise AtlasFileError(f"atlas terminology {path} has a line over {line_bytes:,} characters "
                             f"(line_bytes); {how_to_raise('line_bytes')}")
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]  # pandas skips blank lines
    except csv.Error as err:
        raise Unsupported(f"csv: {err}") from None
    if not rows:
        raise AtlasFileError(f"atlas terminology {path} is empty")
    header, body = rows[0], rows[1:]
    if len(body) > MAX_STRUCTURES:
        raise AtlasFileError(f"atlas terminology {path} has {len(body):,} structures, over the "
                             f"{MAX_STRUCTURES:,} an atlas may have")
    if len(set(header)) != len(header) or not set(header) <= _COLUMNS or not _REQUIRED <= set(header):
        raise Unsupported(f"columns {header}")
    if any(len(r) != len(header) for r in body):
        raise Unsupported("ragged rows")
    by_column = {c: [r[i] for r in body] for i, c in enumerate(header)}
    if not (_text_column(by_column["name"]) and _text_column(by_column["abbreviation"])):
        raise Unsupported("names or acronyms read as numbers")
    return [_parse_row(dict(zip(header, r)), header) for r in body]


def decode_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(points in microns, triangles) of a Draco mesh file, exactly as
    ``brainglobe_atlasapi.structure_class.Structure._read_mesh`` gives them:
    nanometres to microns, axes and triangle corners reversed (XYZ to ZYX).

    Raises
    ------
    AtlasFileError
        The file is too large, not a Draco mesh, or decodes to something that is not a triangle mesh.
    """
    # lazy: only drawing a region reads its mesh (DracoPy's import is the cost of one mesh)
    import DracoPy

    data = read_bounded(path, MAX_MESH_FILE_BYTES, "mesh file")
    fix = "reinstall or rebuild the atlas"
    if not data.startswith(b"DRACO"):
        raise AtlasFileError(f"mesh file {path} is not a Draco mesh (no DRACO header); {fix}")
    try:
        mesh = DracoPy.decode(data)
    except Exception as err:  # DracoPy raises FileTypeException, ValueError, RuntimeError...
        raise AtlasFileError(f"mesh file {path} could not be decoded ({type(err).__name__}: {err}); "
                             f"{fix}") from None
    raw_points = np.asarray(getattr(mesh, "points", None))
    raw_faces = np.asarray(getattr(mesh, "faces", None))
    if raw_points.ndim != 2 or raw_points.shape[1] != 3 or raw_faces.ndim != 2 or raw_faces.shape[1] != 3:
        raise AtlasFileError(f"mesh file {path} holds no triangle mesh (points {raw_points.shape}, "
                             f"faces {raw_faces.shape}); {fix}")
    limit = current_limits().points
    if len(raw_points) > limit:
        raise AtlasFileError(f"mesh file {path} has {len(raw_points):,} points, over the limit of {limit:,} "
                             f"(points); {how_to_raise('points')}")
    if raw_faces.size and (raw_faces.min() < 0 or raw_faces.max() >= len(raw_points)):
        raise AtlasFileError(f"mesh file {path} has triangles pointing past its {len(raw_points)} points; {fix}")
    points = mesh.points / 1000.0  # nm to um, as brainglobe-atlasapi
    points = points[:, [2, 1, 0]]  # XYZ to ZYX
    faces = mesh.faces[:, [2, 1, 0]]
    return points, faces


class LocalStructure(UserDict):
    """One structure, as ``brainglobe_atlasapi.structure_class.Structure``: its ``"mesh"``
    (a ``meshio.Mesh``) is read on first use; a mesh file not on disk comes from ``missing``
    (brainglobe-atlasapi's own structure, which downloads it for a BrainGlobe atlas)."""

    def __init__(self, missing: Callable[[int], Any], /, **fields):
        super().__init__(**fields)
        self._missing = missing

    def __getitem__(self, item):
        if item == "mesh" and self.data["mesh"] is None:
            path = self.data["mesh_filename"]
            if not Path(path).exists():
                return self._missing(self.data["id"])
            # lazy: only code asking for a meshio.Mesh (brainglobe's API) pays meshio's import
            import meshio

            points, faces = decode_mesh(path)
            self.data["mesh"] = meshio.Mesh(points=points, cells=[("triangle", faces)])
        return self.data[item]


class LocalStructures(UserDict):
    """Structures by id or acronym, as ``brainglobe_atlasapi.structure_class.StructuresDict``
    (its ``tree`` is built on first use)."""

    def __init__(self, structures_list: list[dict], missing: Callable[[int], Any]):
        super().__init__()
        self.acronym_to_id_map = {r["acronym"]: r["id"] for r in structures_list}
        for struct in structures_list:
            self.data[struct["id"]] = LocalStructure(missing, **struct, mesh=None)
        self._list = structures_list
        self._tree = None

    def __getitem__(self, item):
        try:
            item = int(item)
        except ValueError:
            item = self.acronym_to_id_map[item]
        return self.data[int(item)]

    @property
    def tree(self):
        """The treelib tree of the structures, as brainglobe-atlasapi builds it."""
        if self._tree is None:
            # lazy: treelib is needed only by code asking for the tree
            from ._bgcompat import structures_tree_linear

            self._tree = structures_tree_linear(self._list)
        return self._tree

    def __repr__(self):
        return self.tree.show(stdout=False)


class LocalAtlas:
    """A local BrainGlobe v3 atlas read without brainglobe-atlasapi; everything else from
    ``fallback()``, the real brainglobe-atlasapi atlas, opened on first need.

    Parameters
    ----------
    manifest_path : Path
        The atlas's ``manifest.json`` (``<root>/atlases/<name>/<version>/manifest.json``).
    fallback : callable
        Opens the same atlas with brainglobe-atlasapi (``Atlas(manifest)`` or ``BrainGlobeAtlas(...)``).
    can_download : bool
        Whether a mesh file missing on disk may be fetched (only BrainGlobe's own atlases, by name).

    Raises
    ------
    AtlasFileError
        A broken manifest or terminology file.
    Unsupported
        A terminology file read differently by pandas: open the atlas with brainglobe-atlasapi.
    """

    left_hemisphere_value = 1
    right_hemisphere_value = 2

    def __init__(self, manifest_path: Path | str, *, fallback: Callable[[], Any], can_download: bool = False):
        atlas_path = Path(manifest_path)
        if len(atlas_path.parents) < 4:
            raise AtlasFileError(f"atlas manifest {atlas_path} is not in a BrainGlobe atlas folder "
                                 "(<root>/atlases/<name>/<version>/manifest.json)")
        self._fallback = fallback
        self._real_atlas: Any = None
        self._lock = threading.Lock()
        self.can_download = can_download
        self.manifest_path = atlas_path
        self.root_dir = atlas_path.parents[3]
        self.metadata = read_manifest(atlas_path)
        terminology = _inside(self.root_dir, self.metadata["terminology"]["location"], TERMINOLOGY_NAME,
                              what="terminology")
        structures_list = read_terminology(terminology)
        meshes_path = _inside(self.root_dir, self.metadata["annotation_set"]["location"], MESHES_DIRECTORY,
                              what="meshes")
        for struct in structures_list:
            struct["mesh_filename"] = meshes_path / f"{struct['id']}"
        self.structures_list = structures_list
        self.structures = LocalStructures(structures_list, self._real_mesh)
        self._annotation: np.ndarray | None = None
        self._level: int | None = None
        self._hemispheres: np.ndarray | None = None
        self._stored: Any = False

    # ----------------------------------------------------------------- brainglobe-atlasapi's fallback

    @property
    def real(self):
        """The same atlas opened with brainglobe-atlasapi (opened once, on first call)."""
        with self._lock:
            if self._real_atlas is None:
                self._real_atlas = self._fallback()
            return self._real_atlas

    def __getattr__(self, name: str):
        # Only reached for attributes not set or defined here: brainglobe-atlasapi's atlas has them.
        if name.startswith("__") or name in ("_fallback", "_real_atlas", "_lock", "real"):
            raise AttributeError(name)
        return getattr(self.real, name)

    def _real_mesh(self, structure_id: int):
        return self.real.structures[structure_id]["mesh"]

    # ----------------------------------------------------------------- what brainglobe's Atlas has

    @property
    def resolution(self):
        return tuple(self.metadata["resolution"])

    @property
    def orientation(self):
        return ATLAS_ORIENTATION

    @property
    def shape(self):
        return tuple(self.metadata["shape"])

    @property
    def shape_um(self):
        return tuple([s * r for s, r in zip(self.shape, self.resolution)])

    @property
    def hierarchy(self):
        return self.structures.tree

    @property
    def space(self):
        # lazy: brainglobe-space is needed only by code asking for the atlas's space
        from brainglobe_space import AnatomicalSpace

        return AnatomicalSpace(origin=ATLAS_ORIENTATION, shape=self.shape, resolution=self.resolution)

    def _get_from_structure(self, structure, key):
        if isinstance(structure, (list, tuple)):
            return [self._get_from_structure(s, key) for s in structure]
        return self.structures[structure][key]

    def mesh_from_structure(self, structure):
        """The ``meshio.Mesh`` of a structure (or a list of them), as brainglobe-atlasapi."""
        return self._get_from_structure(structure, "mesh")

    def meshfile_from_structure(self, structure):
        """The mesh file path of a structure (or a list of them), as brainglobe-atlasapi."""
        return self._get_from_structure(structure, "mesh_filename")

    def root_mesh(self):
        return self.mesh_from_structure("root")

    def root_meshfile(self):
        return self.meshfile_from_structure("root")

    def mesh_arrays(self, structure) -> tuple[np.ndarray, np.ndarray]:
        """(points, triangles) of a structure's mesh, the arrays of :meth:`mesh_from_structure`
        without building a ``meshio.Mesh`` (read each time: callers keep what they need)."""
        struct = self.structures[structure]
        mesh = struct.data["mesh"]
        if mesh is None and Path(struct["mesh_filename"]).exists():
            return decode_mesh(struct["mesh_filename"])
        mesh = struct["mesh"]
        return mesh.points, next(c.data for c in mesh.cells if c.type == "triangle")

    @property
    def hemispheres(self) -> np.ndarray:
        """1 (left) and 2 (right) per voxel, as brainglobe-atlasapi: for a symmetric atlas the
        frontal axis is split in half (the middle plane of an odd count goes left); otherwise
        brainglobe-atlasapi reads the atlas's hemispheres volume."""
        if self._hemispheres is not None:
            return self._hemispheres
        if self.metadata.get("symmetric") is not True:
            return self.real.hemispheres
        stack = np.full(self.metadata["shape"], 2, dtype=np.uint8)
        front = _frontal_axis(ATLAS_ORIENTATION)
        slices = [slice(None)] * 3
        slices[front] = slice(round(stack.shape[front] / 2), None)
        stack[tuple(slices)] = 1
        self._hemispheres = stack
        return stack

    @property
    def _annotation_pyramid_level(self) -> int:
        """The annotation's pyramid level at the atlas resolution, found as brainglobe-atlasapi does."""
        if self._level is None:
            stored = self.stored_annotation()
            level = stored[0] if stored is not None else annotation_level(self.root_dir, self.metadata)
            self._level = self.real._annotation_pyramid_level if level is None else level
        return self._level

    def stored_annotation(self):
        """(pyramid level, zarr array) of the annotation on disk, or ``None`` (see :func:`stored_annotation`)."""
        if self._stored is False:
            self._stored = stored_annotation(self.root_dir, self.metadata)
        return self._stored

    @property
    def annotation(self) -> np.ndarray:
        """The annotation volume, read on first use: with zarr where it is stored as
        brainglobe-atlasapi writes it, else with ngff-zarr, else by brainglobe-atlasapi (which
        downloads missing chunks of a BrainGlobe atlas)."""
        if self._annotation is None:
            stored = self.stored_annotation()
            if stored is not None:
                self._annotation = np.asarray(stored[1][...])
                return self._annotation
            lazy = lazy_annotation(self.root_dir, self.metadata, self._annotation_pyramid_level)
            if lazy is None:
                return self.real.annotation
            self._annotation = compute(lazy)
        return self._annotation


def _frontal_axis(origin: str) -> int:
    """Index of the frontal axis (the one running left-right, 'l' or 'r') in a BrainGlobe origin."""
    return next(i for i, c in enumerate(origin) if c in "lr")


def compute(lazy) -> np.ndarray:
    """A dask array read into memory with dask's threaded scheduler, named as a function: a scheduler
    named by a string, or none, makes dask look for a distributed client, importing ``distributed``
    (about half a second, more than reading a 25 um annotation's chunks)."""
    # lazy: start-up time (dask; only reading a lazily loaded atlas needs it)
    import dask.threaded

    return np.asarray(lazy.compute(scheduler=dask.threaded.get))


def _annotation_multiscale(root_dir: Path, metadata: dict):
    # lazy: start-up time (ngff-zarr imports dask.array; only scenes reading the annotation need it)
    import ngff_zarr as nz

    path = _inside(Path(root_dir), metadata["annotation_set"]["location"], ANNOTATION_NAME, what="annotation")
    return path, nz.from_ngff_zarr(path)


def _scale_of(dataset: dict) -> list | None:
    """The scale of a dataset of an OME-Zarr multiscale written as brainglobe-atlasapi writes it
    (one 'scale' transform, then at most a 'translation'), or ``None`` for anything else."""
    transforms = dataset.get("coordinateTransformations")
    if not (isinstance(transforms, list) and 1 <= len(transforms) <= 2 and isinstance(transforms[0], dict)
            and transforms[0].get("type") == "scale" and isinstance(transforms[0].get("scale"), list)):
        return None
    if len(transforms) == 2 and not (isinstance(transforms[1], dict) and transforms[1].get("type") == "translation"):
        return None
    return transforms[0]["scale"]


def stored_annotation(root_dir: Path, metadata: dict):
    """The annotation at the atlas resolution as a zarr array read from disk on indexing (no dask,
    no ngff-zarr), when the atlas stores it as brainglobe-atlasapi writes it and it is downloaded:
    a zarr v3 OME-Zarr group with one multiscale whose level of the atlas resolution is found as
    ``_determine_pyramid_level`` finds it. ``None`` otherwise (then ngff-zarr reads it)."""
    path = _inside(Path(root_dir), metadata["annotation_set"]["location"], ANNOTATION_NAME, what="annotation")
    try:
        group = json.loads(read_bounded(path / "zarr.json", MAX_MANIFEST_BYTES, "annotation metadata"))
        multiscales = group["attributes"]["ome"]["multiscales"]
        if len(multiscales) != 1 or "coordinateTransformations" in multiscales[0]:
            return None
        level = None
        for index, dataset in enumerate(multiscales[0]["datasets"]):
            scale = _scale_of(dataset)
            if scale is None or len(scale) < 3:
                return None
            if level is None and all(np.isclose(r / 1000, s) for r, s in zip(metadata["resolution"], scale[-3:])):
                level = index
        if level is None:
            return None
        dataset_path = multiscales[0]["datasets"][level]["path"]
        array_dir = _inside(path, "/" + dataset_path, what="annotation level")
        if not isinstance(dataset_path, str) or not (array_dir / "c").exists():
            return None
        # lazy: zarr (0.3 s) only for scenes that read the annotation
        import zarr

        array = zarr.open_array(str(array_dir), mode="r")
    except (AtlasFileError, OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    except Exception:  # zarr's own errors for a store it cannot read: ngff-zarr's path decides
        return None
    if tuple(array.shape) != tuple(metadata["shape"]) or array.ndim != 3:
        return None
    return level, array


def annotation_level(root_dir: Path, metadata: dict) -> int | None:
    """The annotation's pyramid level whose scale is the atlas resolution (brainglobe-atlasapi's
    ``_determine_pyramid_level``), or ``None`` where it cannot be read that way."""
    try:
        _, multiscale = _annotation_multiscale(root_dir, metadata)
        for index, image in enumerate(multiscale.images):
            scales = [image.scale[dim] for dim in image.dims[-3:]]
            if all(np.isclose(res / 1000, scale) for res, scale in zip(metadata["resolution"], scales)):
                return index
    except AtlasFileError:
        raise
    except Exception:  # any other layout: brainglobe-atlasapi's own reader
        return None
    return None


def lazy_annotation(root_dir: Path, metadata: dict, level: int):
    """The annotation as a lazy (dask) array of a BrainGlobe v3 atlas, or ``None`` where
    brainglobe-atlasapi must read it (chunks not downloaded yet, another layout)."""
    try:
        path, multiscale = _annotation_multiscale(root_dir, metadata)
        data = multiscale.images[level].data
        chunks = path / multiscale.metadata.datasets[level].path / "c"
        if not chunks.exists() or tuple(data.shape) != tuple(metadata["shape"]):
            return None  # not downloaded yet, or not what brainglobe-atlasapi would read: let it load it
        return data
    except AtlasFileError:
        raise
    except Exception:  # any other layout: brainglobe-atlasapi's own reader
        return None
