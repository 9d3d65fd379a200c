"""Read a recipe's inputs: 3-D stacks and a structure hierarchy.

Stacks: TIFF (tifffile), NRRD (pynrrd), NIfTI (nibabel), NumPy ``.npy`` and
Zarr (a plain array, or one array of a group such as OME-Zarr). Arrays are
returned as stored, in the stacks' own axis order; the recipe's
``orientation`` says what that order is.

Structures become BrainGlobe structure dicts (exactly ``acronym``, ``id``,
``name``, ``structure_id_path``, ``rgb_triplet``) from a BrainGlobe-style
list (JSON or YAML), a flat CSV table (Allen's ``structure_tree.csv``,
BrainGlobe's ``terminology.csv``) or Allen's nested structure graph JSON.
Each structure remembers where it came from (:class:`Structures`), so later
checks can point at the row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..document import read_scene_text
from ..errors import SceneError
from ..limits import PathRefused, check_input_file, current_limits, over_limit, resolve_input_file
from ..readers import DataFileError, check_array, read_volume
from ..readers._common import _plain_dtype
from .recipe import StackSource


class InputError(ValueError):
    """An input file cannot be read as the recipe says; the message says why."""


# --------------------------------------------------------------------------
# stacks
# --------------------------------------------------------------------------


def read_stack(source: StackSource) -> np.ndarray:
    """The 3-D array of ``source``.

    Raises
    ------
    InputError
        When the file is missing, unreadable or not 3-D.
    """
    path = source.path
    try:  # a regular file within file_bytes (a Zarr store is a folder), checked before opening
        if check_input_file(path, what="recipe input", shown=path.name, folder=source.format == "zarr",
                            missing_ok=True) < 0:
            raise InputError(f"file not found: {path.resolve()} (paths are relative to the recipe's folder)")
    except PathRefused as err:
        raise InputError(str(err)) from None
    reader = _READERS.get(source.format)
    if reader is None:
        raise InputError(f"cannot tell the format of {path.name}; add format: tiff, nrrd, nifti, npy or zarr")
    try:
        array = reader(path, source.array)
    except InputError:
        raise
    except Exception as err:  # each library raises its own errors for bad files
        raise InputError(f"cannot read {path.name} as {source.format}: {type(err).__name__}: {err}") from None
    array = np.asarray(array)
    if array.ndim == 4 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape([n for n in array.shape if n != 1][:3]) if array.size else array
    if array.ndim != 3:
        raise InputError(f"{path.name} holds a {array.ndim}-D array of shape {array.shape}; a 3-D stack is needed")
    return array


def _bounded(fmt: str):
    """A reader from scenerender.readers: header checked against the
    voxels and array_bytes limits before reading, decompression bounded, no
    pickles; a detached NRRD data file goes through the same path checks."""

    def read(path: Path, _array) -> np.ndarray:
        def resolve(name: str) -> Path:
            try:
                return resolve_input_file(name, path.parent, what="NRRD data file")
            except PathRefused as err:
                raise DataFileError(str(err)) from None

        try:
            return read_volume(path, fmt, resolve=resolve)
        except DataFileError as err:
            raise InputError(f"cannot read {path.name} as {fmt}: {err}") from None

    return read


_read_tiff, _read_nrrd, _read_nifti, _read_npy = (_bounded(f) for f in ("tiff", "nrrd", "nifti", "npy"))


def _read_zarr(path: Path, array_name: str | None) -> np.ndarray:
    import zarr

    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Array):
        return _checked_zarr(node, path.name)
    if array_name is not None:
        try:
            return _checked_zarr(node[array_name], f"{path.name}/{array_name}")
        except KeyError:
            names = sorted(name for name, _ in node.arrays())
            raise InputError(f"{path.name} has no array {array_name!r}; it has {', '.join(names) or 'none'}") from None
    attrs: Any = node.attrs  # JSON attributes (zarr types them as any JSON value)
    multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if multiscales:  # OME-Zarr: the first (finest) level
        return _checked_zarr(node[multiscales[0]["datasets"][0]["path"]], path.name)
    names = sorted(name for name, _ in node.arrays())
    if not names:
        raise InputError(f"{path.name} is a Zarr group without arrays")
    return _checked_zarr(node[names[0]], f"{path.name}/{names[0]}")


def _checked_zarr(array, what: str) -> np.ndarray:
    """A Zarr array read after its declared shape x type passed the limits."""

    try:
        _plain_dtype(np.dtype(array.dtype), what)
        check_array(array.shape, array.dtype, what=what, count_as="voxels")
    except DataFileError as err:
        raise InputError(str(err)) from None
    return array[...]


_READERS = {"tiff": _read_tiff, "nrrd": _read_nrrd, "nifti": _read_nifti, "npy": _read_npy, "zarr": _read_zarr}


# --------------------------------------------------------------------------
# downsampling and the synthetic reference
# --------------------------------------------------------------------------


def block_centre(stack: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    """Nearest-neighbour downsampling: from each block the voxel at its centre,
    index ``f*i + f//2`` on an axis with factor ``f``, trimmed to whole blocks.
    No label is invented and labels are never mixed."""
    slices = tuple(slice(f // 2, (n // f) * f, f) for n, f in zip(stack.shape, factors))
    return np.ascontiguousarray(stack[slices])


def block_mean(stack: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    """Downsampling by averaging each whole block (trimmed to whole blocks);
    integer stacks are rounded back to their own type. Works one slab of
    blocks at a time, so memory stays near the size of the input."""
    f0, f1, f2 = factors
    n0, n1, n2 = (n // f for n, f in zip(stack.shape, factors))
    integer = np.issubdtype(stack.dtype, np.integer)
    out = np.empty((n0, n1, n2), dtype=stack.dtype if integer else np.float32)
    for i in range(n0):
        slab = stack[i * f0:(i + 1) * f0, : n1 * f1, : n2 * f2].astype(np.float32)
        mean = slab.reshape(f0, n1, f1, n2, f2).mean(axis=(0, 2, 4))
        out[i] = np.round(mean) if integer else mean
    return out


def synthetic_reference(annotation: np.ndarray, structures: list[dict], sigma: float = 1.0) -> np.ndarray:
    """A stand-in reference image made from the annotation alone.

    Each voxel gets the luma (Rec. 601: 0.299 R + 0.587 G + 0.114 B) of its
    structure's display colour, the volume is Gaussian-smoothed (``sigma``
    voxels), set to 0 outside the brain (annotation 0) and scaled to the full
    uint16 range in 256 steps (multiples of 257: an 8-bit image stored as
    uint16, which compresses ~3x better than 16 bits of smooth gradient). It
    looks like a plausible grey-scale section but carries no information
    beyond the annotation: use it where the real template may not be
    redistributed, never for registration.
    """
    from scipy.ndimage import gaussian_filter

    luma = {s["id"]: 0.299 * s["rgb_triplet"][0] + 0.587 * s["rgb_triplet"][1] + 0.114 * s["rgb_triplet"][2]
            for s in structures}
    labels, inverse = np.unique(annotation, return_inverse=True)
    lut = np.array([luma.get(int(v), 0.0) if v else 0.0 for v in labels])
    image = lut[inverse.reshape(annotation.shape)].astype(np.float32)
    if sigma > 0:
        image = gaussian_filter(image, sigma=sigma, mode="constant", cval=0.0)
    image[annotation == 0] = 0.0
    peak = float(image.max())
    image = np.round(image / peak * 255.0) if peak > 0 else image
    return (image * 257).astype(np.uint16)


def as_reference_dtype(stack: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The reference as BrainGlobe stores it (uint16), and a note when it had
    to be rescaled: BrainGlobe casts templates to uint16, which would turn a
    float image in [0, 1] into zeros."""
    if stack.dtype == np.uint16 or (np.issubdtype(stack.dtype, np.integer) and stack.min() >= 0
                                     and stack.max() <= 65535):
        return stack.astype(np.uint16, copy=False), None
    lo, hi = float(np.min(stack)), float(np.max(stack))
    scale = 65535.0 / (hi - lo) if hi > lo else 0.0
    out = np.round((stack.astype(np.float64) - lo) * scale).astype(np.uint16)
    return out, f"reference {stack.dtype} values {lo:g}..{hi:g} rescaled linearly to uint16 0..65535"


# --------------------------------------------------------------------------
# structures
# --------------------------------------------------------------------------


@dataclass
class Structures:
    """Structure dicts in file order, each with where it came from."""

    items: list[dict] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    file: str = ""
    #: Problems found while reading (e.g. a parent that does not exist), as messages.
    notes: list[str] = field(default_factory=list)

    def add(self, structure: dict, origin: str) -> None:
        self.items.append(structure)
        self.origins.append(origin)


def read_structures(path: Path, fmt: str = "auto") -> Structures:
    """Structures from a BrainGlobe list, a flat CSV or an Allen structure graph.

    Raises
    ------
    InputError
        When the file is missing or is not any of these formats.
    """
    _check_structures_file(path)
    suffix = path.suffix.lower()
    if fmt == "csv" or (fmt == "auto" and suffix in (".csv", ".tsv")):
        return _from_csv(path)
    data = _read_json_or_yaml(path)
    if fmt == "auto":
        fmt = _guess_format(data, path)
    if fmt == "allen_graph":
        return _from_allen_graph(data, path)
    return _from_brainglobe_list(data, path)


def _check_structures_file(path: Path) -> None:
    """A regular file within limits, checked before opening (it is read whole, like a scene)."""
    try:
        size = check_input_file(path, what="structures file", shown=path.name, missing_ok=True)
    except PathRefused as err:
        raise InputError(str(err)) from None
    if size < 0:
        raise InputError(f"file not found: {path.resolve()} (paths are relative to the recipe's folder)")
    if size > current_limits().scene_bytes:
        raise InputError(over_limit(f"{path.name} is too large", size, "scene_bytes", " bytes"))


def _read_json_or_yaml(path: Path):
    """The data of a YAML (by its suffix) or JSON structures file; any failure an :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() not in (".yaml", ".yml"):
            return json.loads(text)
        # The scene reader: safe tags only, alias bombs counted (scene_values), depth bounded.
        try:
            return read_scene_text(text, file=str(path), base_dir=path.parent, accept_list=True,
                                   what="a structures file is a list or mapping").data
        except SceneError as err:
            raise InputError(str(err.problems[0])) from None
    except InputError:
        raise
    except Exception as err:
        raise InputError(f"cannot read {path.name}: {type(err).__name__}: {err}") from None


def _guess_format(data, path: Path) -> str:
    if isinstance(data, dict) and ("msg" in data or "children" in data):
        return "allen_graph"
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return "allen_graph" if "children" in data[0] and "structure_id_path" not in data[0] else "brainglobe"
    raise InputError(f"{path.name} is not a structures file: expected a list of structures, an Allen structure "
                     "graph ({msg: [...]}) or a CSV table; set structures.format")


def _rgb_from_hex(text: str) -> list[int]:
    text = str(text).strip().lstrip("#")
    if 0 < len(text) < 6 and text.isdigit():
        # Tables that went through a spreadsheet or a numeric column lose leading zeros
        # (36 colours of Allen's structure_tree.csv read '19399' for '019399').
        text = text.zfill(6)
    if len(text) != 6:
        raise ValueError(f"colour {text!r} is not a hex triplet like 'FF7080'")
    return [int(text[i:i + 2], 16) for i in (0, 2, 4)]


def _structure(acronym, sid, name, path, rgb) -> dict:
    return {"acronym": str(acronym), "id": int(sid), "name": str(name),
            "structure_id_path": [int(p) for p in path], "rgb_triplet": [int(c) for c in rgb]}


def _from_brainglobe_list(data, path: Path) -> Structures:
    if not isinstance(data, list):
        raise InputError(f"{path.name}: expected a list of structures, got {type(data).__name__}")
    out = Structures(file=path.name)
    needed = ("acronym", "id", "name", "structure_id_path", "rgb_triplet")
    for index, item in enumerate(data):
        where = f"item {index} of {path.name}"
        if not isinstance(item, dict):
            raise InputError(f"{where} is not a mapping")
        missing = [k for k in needed if k not in item]
        if missing:
            raise InputError(f"{where} lacks {', '.join(missing)} (a BrainGlobe structure has {', '.join(needed)})")
        try:
            out.add(_structure(item["acronym"], item["id"], item["name"], item["structure_id_path"],
                               item["rgb_triplet"]), where)
        except (TypeError, ValueError) as err:
            raise InputError(f"{where}: {err}") from None
    return out


def _from_allen_graph(data, path: Path) -> Structures:
    """Flatten the nesting; ``structure_id_path`` is the chain of ancestors."""
    roots = data["msg"] if isinstance(data, dict) and "msg" in data else data
    roots = roots if isinstance(roots, list) else [roots]
    out = Structures(file=path.name)

    def walk(node: dict, ancestors: list[int]) -> None:
        sid = int(node["id"])
        where = f"structure {sid} of {path.name}"
        parent = node.get("parent_structure_id")
        expected = ancestors[-1] if ancestors else None
        if parent is not None and parent != expected:
            out.notes.append(f"{where}: parent_structure_id {parent} differs from its place in the nesting "
                             f"({expected}); the nesting is used")
        colour = node.get("color_hex_triplet")
        rgb = _rgb_from_hex(colour) if colour is not None else node.get("rgb_triplet")
        if rgb is None:
            raise InputError(f"{where} has no color_hex_triplet or rgb_triplet")
        out.add(_structure(node["acronym"], sid, node["name"], ancestors + [sid], rgb), where)
        for child in node.get("children") or []:
            walk(child, ancestors + [sid])

    try:
        for root in roots:
            walk(root, [])
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path.name} is not an Allen structure graph: {type(err).__name__}: {err}") from None
    return out


_CSV_COLUMNS = {
    "id": ("id", "identifier", "structure_id"),
    "acronym": ("acronym", "abbreviation"),
    "name": ("name", "safe_name"),
    "path": ("structure_id_path", "root_identifier_path"),
    "parent": ("parent_structure_id", "parent_identifier", "parent_id"),
    "hex": ("color_hex_triplet",),
    "rgb": ("rgb_triplet",),
}


def _parse_path(text: str) -> list[int]:
    text = str(text).strip().strip("[]").replace("/", ",")
    return [int(float(p)) for p in text.split(",") if p.strip()]


def _from_csv(path: Path) -> Structures:
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python")
    except Exception as err:
        raise InputError(f"cannot read {path.name} as CSV: {err}") from None
    columns = {key: next((c for c in names if c in table.columns), None) for key, names in _CSV_COLUMNS.items()}
    missing = [key for key in ("id", "acronym", "name") if columns[key] is None]
    if columns["path"] is None and columns["parent"] is None:
        missing.append("structure_id_path or parent_structure_id")
    if columns["hex"] is None and columns["rgb"] is None:
        missing.append("color_hex_triplet or rgb_triplet")
    if missing:
        raise InputError(f"{path.name} lacks the column(s) {', '.join(missing)} (it has {', '.join(table.columns)})")
    out = Structures(file=path.name)
    parents: dict[int, int | None] = {}
    rows = []
    for index, row in enumerate(table.to_dict(orient="records")):
        where = f"row {index + 2} of {path.name}"  # line 1 is the header
        try:
            sid = int(float(row[columns["id"]]))
            colour = row[columns["hex"]] if columns["hex"] else row[columns["rgb"]]
            if sid == 0 and not colour.strip():
                rgb = [0, 0, 0]  # a 'void' row: refused or excluded later, whatever its colour
            else:
                rgb = _rgb_from_hex(colour) if columns["hex"] else _parse_path(colour)
            id_path = _parse_path(row[columns["path"]]) if columns["path"] else None
            parent_text = row[columns["parent"]].strip() if columns["parent"] else ""
        except ValueError as err:
            raise InputError(f"{where}: {err}") from None
        parents[sid] = int(float(parent_text)) if parent_text else None
        rows.append((row, sid, rgb, id_path, where))
    for row, sid, rgb, id_path, where in rows:
        if id_path is None or (not id_path and sid != 0):
            id_path = _path_from_parents(sid, parents)
        out.add(_structure(row[columns["acronym"]], sid, row[columns["name"]], id_path, rgb), where)
    return out


def _path_from_parents(sid: int, parents: dict[int, int | None]) -> list[int]:
    """Ancestors from parent links; stops (leaving a path the checks reject)
    at a missing parent or a cycle."""
    path = [sid]
    seen = {sid}
    current = parents.get(sid)
    while current is not None:
        path.insert(0, current)
        if current in seen or current not in parents:
            break
        seen.add(current)
        current = parents.get(current)
    return path
