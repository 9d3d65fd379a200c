"""Stage 3a: find and open the scene's BrainGlobe atlas.

Atlases are opened with brainglobe-atlasapi itself: by BrainGlobe name (local
BrainGlobe folder first, downloaded when online), from a local folder, or the
embedded coarse Allen mouse atlas that ships with scenerender and needs no
network. :class:`SceneAtlas` wraps the opened atlas with what the actors need:
region lookup with did-you-mean, region meshes in atlas microns, the
hemisphere map and the brain's bounds.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import AtlasUnavailable
from .paths import default_brainglobe_dir
from .atlas_local import AtlasFileError, LocalAtlas, Unsupported, compute, lazy_annotation
from ._bgcompat import install_structure_tree_builder, install_terminology_reader
from .limits import PathRefused, resolve_scene_path
from .atlas_build.cache import cached_atlas, recipe_key
from .atlas_build.recipe import load_recipe
from .suggest import region_hint, structures_of

EMBEDDED_NAME = "allen_mouse_scenerender_100um"
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded_atlas"
#: Names a scene may use for the embedded atlas.
EMBEDDED_ALIASES = ("embedded", EMBEDDED_NAME)

_ATLASES = "brainglobe-atlasapi/atlases"


class RegionNotFound(LookupError):
    """A region acronym or id is not in the atlas; the message suggests close ones."""


@dataclass(frozen=True)
class AtlasRequest:
    """What a scene asks for, with paths already resolved against the scene file."""

    name: str | None = None
    path: Path | None = None
    brainglobe_dir: Path | None = None
    version: str | None = None
    check_latest: bool = False
    download: bool = True
    recipe: Path | None = None
    #: Why a path in the request was refused (sandbox, symlink loop); opening it then fails with this.
    refused: str | None = None

    @classmethod
    def from_spec(cls, spec: Any, base_dir: Path) -> "AtlasRequest":
        if isinstance(spec, str):
            return cls(name=spec)
        refused = []

        whats = {"path": "atlas folder", "brainglobe_dir": "BrainGlobe folder", "recipe": "atlas recipe"}

        def resolve(key):
            value = spec.get(key)
            if value is None:
                return None
            try:  # the one place scene paths are resolved, sandbox included
                return resolve_scene_path(value, base_dir, what=whats[key])
            except PathRefused as err:
                refused.append(str(err))
                return Path(value)
        return cls(
            name=spec.get("name"),
            path=resolve("path"),
            brainglobe_dir=resolve("brainglobe_dir"),
            version=spec.get("version"),
            check_latest=bool(spec.get("check_latest", False)),
            download=bool(spec.get("download", True)),
            recipe=resolve("recipe"),
            refused=refused[0] if refused else None,
        )


def _local_versions(brainglobe_dir: Path, name: str) -> list[Path]:
    return sorted((brainglobe_dir / _ATLASES / name).glob("*/manifest.json"))


def _local_names(brainglobe_dir: Path) -> list[str]:
    return sorted(p.parent.parent.name for p in (brainglobe_dir / _ATLASES).glob("*/*/manifest.json"))


_default_brainglobe_dir = default_brainglobe_dir  # the old private name, used by atlas_catalog


def _find_manifest(folder: Path, name: str | None) -> Path:
    """The manifest.json of the atlas in a local folder (see the schema's 'path')."""
    if folder.is_file() and folder.name == "manifest.json":
        return folder
    if (folder / "manifest.json").is_file():
        return folder / "manifest.json"
    candidates = [*folder.glob("*/manifest.json"), *folder.glob("atlases/*/*/manifest.json"),
                  *folder.glob("brainglobe-atlasapi/atlases/*/*/manifest.json")]
    if name is not None:
        candidates = [c for c in candidates if c.parent.parent.name == name]
    names = sorted({c.parent.parent.name for c in candidates})
    if not candidates:
        raise AtlasUnavailable(
            f"no BrainGlobe atlas {'named ' + repr(name) + ' ' if name else ''}in {folder} "
            "(looked for manifest.json, */manifest.json, atlases/*/*/manifest.json and "
            "brainglobe-atlasapi/atlases/*/*/manifest.json); point 'path' at a folder made by "
            "'brainglobe install' or by brainglobe-atlasapi's atlas generation")
    if len(names) > 1:
        raise AtlasUnavailable(f"{folder} holds several atlases ({', '.join(names)}); add 'name' to choose one")
    return sorted(candidates)[-1]


def _core_atlas(manifest: Path):
    """brainglobe-atlasapi's ``Atlas`` of a local atlas folder (with :mod:`._bgcompat`'s fixes)."""
    # lazy: start-up time (brainglobe-atlasapi is slow to import; LocalAtlas reads local atlases without it)
    from brainglobe_atlasapi.core import Atlas

    install_terminology_reader()
    install_structure_tree_builder()
    return Atlas(manifest)


def _brainglobe_atlas(name: str, version: str | None, bg_dir: Path, check_latest: bool, how: str):
    """brainglobe-atlasapi's ``BrainGlobeAtlas`` (with :mod:`._bgcompat`'s fixes), its errors as
    :class:`AtlasUnavailable`."""
    # lazy: start-up time (brainglobe-atlasapi is slow to import; LocalAtlas reads local atlases without it)
    from brainglobe_atlasapi import BrainGlobeAtlas

    install_terminology_reader()
    install_structure_tree_builder()
    try:
        return BrainGlobeAtlas(name, version=version, brainglobe_dir=bg_dir, check_latest=check_latest)
    except ValueError as err:
        if "not a valid atlas name" in str(err):
            raise AtlasUnavailable(f"{name!r} is not a BrainGlobe atlas name; 'brainglobe list' shows the valid ones") from None
        raise
    except (OSError, ConnectionError) as err:
        raise AtlasUnavailable(f"atlas {name!r} could not be downloaded into {bg_dir}: {err}; {how}") from None


def _brainglobe_manifest(bg_dir: Path, name: str, version: str | None) -> Path | None:
    """The manifest ``BrainGlobeAtlas(name, version, brainglobe_dir=bg_dir)`` opens when the atlas is
    local (the requested version, else the highest numbered one), or ``None`` when it is not local
    or the folder is laid out otherwise (then brainglobe-atlasapi itself decides)."""
    atlases = Path(bg_dir) / "brainglobe-atlasapi" / _ATLASES.split("/", 1)[1] / name
    if version is not None:
        wanted = version.replace(".", "_")
        ok = re.fullmatch(r"\d+(?:_\d+)*", wanted) and (atlases / wanted / "manifest.json").is_file()
        return atlases / wanted / "manifest.json" if ok else None
    found = [p.parent.name for p in atlases.glob("*/manifest.json") if re.fullmatch(r"\d+(?:_\d+)?", p.parent.name)]
    keys = [tuple(int(x) for x in v.split("_")) for v in found]
    if not found or len(set(keys)) != len(keys):
        return None
    return atlases / max(found, key=lambda v: tuple(int(x) for x in v.split("_"))) / "manifest.json"


def _light(manifest: Path, fallback, can_download: bool = False):
    """A :class:`LocalAtlas` of ``manifest`` (brainglobe-atlasapi opened only when needed), or
    ``fallback()`` (brainglobe-atlasapi's atlas) for a terminology it reads otherwise."""
    try:
        return LocalAtlas(manifest, fallback=fallback, can_download=can_download)
    except Unsupported:
        return fallback()


def open_bg_atlas(request: AtlasRequest):
    """Open the BrainGlobe atlas a scene asks for.

    A local atlas (the embedded one, a folder, a recipe's build, a BrainGlobe atlas already
    downloaded, when ``check_latest`` is off) is a :class:`~scenerender.atlas_local.LocalAtlas`,
    read without importing brainglobe-atlasapi; the rest are brainglobe-atlasapi's own atlases.

    Raises
    ------
    AtlasUnavailable
        With the atlas name, where it was looked for and how to get it.
    """
    if request.refused is not None:
        raise AtlasUnavailable(request.refused)
    if request.recipe is not None or request.path is not None:
        return _open_folder(request)
    name = request.name or "embedded"
    how = (f"on a machine with network run 'brainglobe install -a {name}' and copy its BrainGlobe folder "
           f"here (or set atlas.brainglobe_dir), or use 'atlas: embedded' for the built-in coarse Allen mouse atlas")
    if name in EMBEDDED_ALIASES and request.brainglobe_dir is None:
        return _open_embedded(how)
    return _open_by_name(request, name, how)


def _open_folder(request: AtlasRequest):
    """The atlas of a recipe (built once, then cached by scenerender.atlas_build.cache) or of a local folder."""
    if request.recipe is not None:
        if not request.recipe.is_file():
            raise AtlasUnavailable(f"atlas recipe {request.recipe} not found (paths are relative to the scene file)")
        manifest = _find_manifest(cached_atlas(request.recipe), None)
    else:
        assert request.path is not None
        manifest = _find_manifest(request.path, request.name)
    return _light(manifest, lambda: _core_atlas(manifest))


def _open_embedded(how: str):
    """The coarse Allen mouse atlas shipped in scenerender/embedded_atlas."""
    embedded = _brainglobe_manifest(EMBEDDED_DIR, EMBEDDED_NAME, None)

    def open_embedded():
        return _brainglobe_atlas(EMBEDDED_NAME, None, EMBEDDED_DIR, False, how)
    return open_embedded() if embedded is None else _light(embedded, open_embedded)


def _open_by_name(request: AtlasRequest, name: str, how: str):
    """A BrainGlobe atlas by name: read locally when it is there (and no newer version is asked
    for), else brainglobe-atlasapi's, which downloads it."""
    bg_dir = request.brainglobe_dir or _default_brainglobe_dir()
    local = None if request.check_latest else _brainglobe_manifest(bg_dir, name, request.version)
    if local is not None:
        # Only BrainGlobe's own atlases fetch missing meshes; the embedded atlas's folder never does.
        return _light(local, lambda: _brainglobe_atlas(name, request.version, bg_dir, False, how),
                      can_download=Path(bg_dir) != EMBEDDED_DIR)
    versions = _local_versions(bg_dir, name)
    if request.version is not None:
        wanted = request.version.replace(".", "_")
        versions = [v for v in versions if v.parent.name == wanted]
    if not versions:
        _check_downloadable(request, name, bg_dir, how)
    return _brainglobe_atlas(name, request.version, bg_dir, request.check_latest, how)


def _check_downloadable(request: AtlasRequest, name: str, bg_dir: Path, how: str) -> None:
    """Raise :class:`AtlasUnavailable` when an atlas that is not local cannot be downloaded."""
    where = bg_dir / _ATLASES / name
    if not request.download:
        raise AtlasUnavailable(f"atlas {name!r} is not in {where} and download is off; {how}")
    # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
    from brainglobe_atlasapi.utils import check_s3_status

    with contextlib.redirect_stdout(io.StringIO()):
        reachable = check_s3_status(raise_error=False)
    if not reachable:
        hint = difflib.get_close_matches(name, _local_names(bg_dir), n=1)
        mean = f" (did you mean {hint[0]!r}, which is local?)" if hint else ""
        raise AtlasUnavailable(
            f"atlas {name!r} is not in {where}{mean} and cannot be downloaded: the BrainGlobe "
            f"server is unreachable (offline?); {how}")


#: Bytes of region meshes a :class:`SceneAtlas` keeps (least recently used dropped first).
MESH_BYTES = 512 * 2**20


@dataclass
class SceneAtlas:
    """An opened BrainGlobe atlas plus what scene building needs from it.

    Kept per process by :mod:`scenerender.cache`: region meshes (up to
    :data:`MESH_BYTES`, read-only arrays) and the brain mask are made once.
    """

    bg: Any
    _meshes: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _brain: Any = field(default=None, repr=False)
    #: Makes the brain mask from ``bg`` (the process cache reads a kept one); default: from the annotation.
    _mask_source: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return str(self.bg.metadata["name"]) + f"_{self.resolution[0]:g}um"

    @property
    def resolution(self) -> tuple[float, float, float]:
        a, b, c = (float(r) for r in self.bg.resolution)
        return a, b, c

    @property
    def shape_um(self) -> np.ndarray:
        return np.array(self.bg.shape_um, dtype=float)

    @property
    def root_id(self) -> int:
        return int(self.bg.structures["root"]["id"])

    def structure(self, ref: str | int) -> dict:
        """The structure for an acronym or id.

        Raises
        ------
        RegionNotFound
            Naming the closest acronyms (or region names) in this atlas.
        """
        structures = self.bg.structures
        try:
            return structures[ref]
        except (KeyError, ValueError):
            pass
        if isinstance(ref, str):
            hint = region_hint(ref, structures_of(structures))
            raise RegionNotFound(f"unknown region {ref!r} in atlas {self.name}{hint}") from None
        raise RegionNotFound(f"unknown region id {ref} in atlas {self.name}") from None

    def region_mesh(self, structure_id: int, hemisphere: str = "both") -> tuple[np.ndarray, np.ndarray]:
        """(points in atlas microns, triangle indices) of a region's mesh.

        For ``hemisphere`` left or right the mesh is cut where the atlas
        hemisphere map changes side (its 1.5 level, interpolated), so the cut
        follows the atlas's own midline rather than the middle of the mesh.
        """
        key = (structure_id, hemisphere)
        if key in self._meshes:
            self._meshes.move_to_end(key)
            return self._meshes[key]
        if hemisphere == "both":
            mesh = self._full_mesh(structure_id)
        else:
            mesh = self._hemisphere_mesh(structure_id, hemisphere)
        return self._keep(key, mesh)

    def _keep(self, key: tuple, mesh: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        for array in mesh:  # shared by every later render in this process: never changed in place
            array.flags.writeable = False
        self._meshes[key] = mesh
        while len(self._meshes) > 1 and sum(p.nbytes + f.nbytes for p, f in self._meshes.values()) > MESH_BYTES:
            self._meshes.popitem(last=False)
        return mesh

    def derived_mesh(self, key: tuple, make) -> tuple[np.ndarray, np.ndarray]:
        """A mesh made from this atlas's meshes by ``make()`` (e.g. the root's
        offset shell), made once and kept with the region meshes (read-only)."""
        key = ("derived", *key)
        if key in self._meshes:
            self._meshes.move_to_end(key)
            return self._meshes[key]
        return self._keep(key, make())

    def _full_mesh(self, structure_id: int) -> tuple[np.ndarray, np.ndarray]:
        struct = self.bg.structures[structure_id]
        path = Path(struct["mesh_filename"])
        if not path.exists() and not self._can_download():
            raise RegionNotFound(
                f"region {struct['acronym']!r} has no mesh in atlas {self.name} "
                f"(it may have no voxels at {self.resolution[0]:g} um); draw its parent or a finer atlas")
        if isinstance(self.bg, LocalAtlas):  # the arrays, without building a meshio.Mesh
            try:
                points, faces = self.bg.mesh_arrays(structure_id)
            except AtlasFileError as err:
                raise RegionNotFound(f"region {struct['acronym']!r}: {err}") from None
        else:
            mesh = self.bg.mesh_from_structure(structure_id)
            points, faces = mesh.points, next(c.data for c in mesh.cells if c.type == "triangle")
        return np.asarray(points, dtype=float), np.asarray(faces, dtype=np.int64)

    def _hemisphere_mesh(self, structure_id: int, hemisphere: str) -> tuple[np.ndarray, np.ndarray]:
        # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
        import pyvista as pv

        points, faces = self.region_mesh(structure_id)
        mesh = pv.PolyData.from_regular_faces(points, faces)
        field = self._hemisphere_field(points)
        if isinstance(field, str):  # the region lies in one hemisphere only
            kept = mesh if field == hemisphere else pv.PolyData()
        else:
            sampled = mesh.sample(field)
            kept = sampled.clip_scalar(scalars="side", value=0.0, invert=(hemisphere == "right"))
            kept = kept.extract_surface(algorithm="dataset_surface").triangulate()
        if kept.n_cells == 0:
            struct = self.bg.structures[structure_id]
            raise RegionNotFound(f"region {struct['acronym']!r} has no part in the {hemisphere} hemisphere")
        return np.asarray(kept.points, dtype=float), np.asarray(kept.regular_faces, dtype=np.int64)

    def _hemisphere_field(self, points: np.ndarray):
        """Signed distance (microns) to the hemisphere boundary of the atlas
        map, positive in the left hemisphere, around ``points``.

        Its zero level is exactly the boundary between the map's left and
        right voxels (for any map, not only a straight midline), so a mesh cut
        at zero follows the atlas's own hemisphere map. Returns "left" or
        "right" when the points lie in one hemisphere only.
        """
        # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
        import pyvista as pv
        from scipy.ndimage import distance_transform_edt

        res = np.array(self.resolution)
        hemispheres = self.bg.hemispheres
        # A few voxels around the points; beyond the volume (meshes reach past
        # the last voxel centre) the edge voxels are repeated.
        lo = np.floor(points.min(axis=0) / res).astype(int) - 3
        hi = np.ceil(points.max(axis=0) / res).astype(int) + 4
        index = [np.clip(np.arange(a, b), 0, n - 1) for a, b, n in zip(lo, hi, hemispheres.shape)]
        crop = np.asarray(hemispheres)[np.ix_(*index)]
        left = crop == self.bg.left_hemisphere_value
        if left.all() or not left.any():
            return "left" if left.all() else "right"
        # EDT measures to the nearest voxel centre of the other side; half a
        # voxel across (axis 2 runs right-left) makes it the distance to the
        # boundary, linear through it, so interpolated cuts land exactly on it.
        half = res[2] / 2
        side = np.where(left, distance_transform_edt(left, sampling=res) - half,
                        half - distance_transform_edt(~left, sampling=res))
        image = pv.ImageData(dimensions=crop.shape, spacing=tuple(res), origin=tuple((lo + 0.5) * res))  # voxel centres
        image.point_data["side"] = side.ravel(order="F").astype(np.float32)
        return image

    def _can_download(self) -> bool:
        # Only atlases from the BrainGlobe server fetch missing meshes lazily;
        # the embedded atlas and local folders must never touch the network.
        if isinstance(self.bg, LocalAtlas):
            return self.bg.can_download
        return type(self.bg).__name__ == "BrainGlobeAtlas" and Path(self.bg.root_dir) != EMBEDDED_DIR / "brainglobe-atlasapi"

    def framing_points(self) -> np.ndarray:
        """Points (atlas microns) that camera presets frame: the root surface,
        or the corners of the atlas volume when the root has no mesh."""
        try:
            return self.region_mesh(self.root_id)[0]
        except RegionNotFound:
            return np.array([[x, y, z] for x in (0, self.shape_um[0]) for y in (0, self.shape_um[1])
                             for z in (0, self.shape_um[2])], dtype=float)

    def structure_ids_at(self, atlas_um: np.ndarray) -> np.ndarray:
        """Annotation id at each point (0 outside the brain or the volume).

        Points map to voxels as brainglobe-atlasapi does (``int(um / res)``).
        """
        annotation = self.annotation
        index = np.floor(np.asarray(atlas_um, dtype=float) / np.array(self.resolution)).astype(np.int64)
        inside = ((index >= 0) & (index < np.array(annotation.shape))).all(axis=1)
        ids = np.zeros(len(index), dtype=np.int64)
        ids[inside] = annotation[tuple(index[inside].T)]
        return ids

    @property
    def annotation(self) -> np.ndarray:
        """The annotation volume (region id per voxel), read once for this opened atlas (and so once
        per process for an atlas of :mod:`scenerender.cache`)."""
        if isinstance(self.bg, LocalAtlas):  # read with zarr where it can (no dask)
            return self.bg.annotation
        if getattr(self.bg, "_annotation", None) is None:
            lazy = _lazy_annotation(self.bg)
            if lazy is not None:  # read here without dask's default scheduler (which imports distributed)
                self.bg._annotation = _compute(lazy)
        return self.bg.annotation

    def in_brain(self, atlas_um: np.ndarray) -> np.ndarray:
        """Boolean mask of points inside the brain (non-zero annotation), from
        the atlas's :class:`BrainMask` (made once per opened atlas)."""
        if self._brain is None:
            self._brain = (self._mask_source or BrainMask.from_atlas)(self.bg)
        return self._brain.contains(atlas_um, np.array(self.resolution))

    def with_descendants(self, structure_ids) -> set[int]:
        """The given structures and every structure below them."""
        wanted = {int(i) for i in structure_ids}
        return {int(s["id"]) for s in self.bg.structures.values()
                if wanted.intersection(int(p) for p in s["structure_id_path"])}


def local_manifest(request: AtlasRequest) -> Path | None:
    """The ``manifest.json`` a request opens, found without opening the atlas;
    ``None`` for a recipe, an atlas not on this machine, or a folder without one."""
    if request.recipe is not None or request.refused is not None:
        return None
    name = request.name or "embedded"
    try:
        if request.path is not None:
            return _find_manifest(request.path, request.name)
        if name in EMBEDDED_ALIASES and request.brainglobe_dir is None:
            return _local_versions(EMBEDDED_DIR, EMBEDDED_NAME)[-1]
        bg_dir = request.brainglobe_dir or _default_brainglobe_dir()
        chosen = _brainglobe_manifest(bg_dir, name, request.version)  # the version BrainGlobe opens
        if chosen is not None:
            return chosen
        versions = _local_versions(bg_dir, name)
        if request.version is not None:
            versions = [v for v in versions if v.parent.name == request.version.replace(".", "_")]
        return versions[-1] if versions else None
    except (AtlasUnavailable, OSError, KeyError, IndexError):
        return None


def atlas_identity(request: AtlasRequest) -> dict:
    """What an output depends on from its atlas, found without opening it.

    The name, the version folder and a hash of the atlas's ``manifest.json``
    (which names the atlas's version and files) for a local atlas; the recipe's
    build key for a recipe; the name and requested version for an atlas that
    still has to be downloaded.
    """
    import hashlib

    if request.recipe is not None:
        try:
            return {"recipe": str(request.recipe), "key": recipe_key(load_recipe(request.recipe))}
        except Exception:  # a broken recipe is reported when the scene is rendered
            return {"recipe": str(request.recipe), "key": None}
    name = request.name or "embedded"
    manifest = local_manifest(request)
    if manifest is None:
        return {"name": name, "version": request.version, "manifest_sha256": None}
    return {"name": manifest.parent.parent.name, "version": manifest.parent.name.replace("_", "."),
            "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest()}


@dataclass(frozen=True)
class BrainMask:
    """Which voxels hold brain (non-zero annotation): one bit per voxel, and their bounds.

    Made from the annotation once per opened atlas, read a row of chunks at a
    time when the annotation is still on disk, so the full label volume
    (4 bytes a voxel) is not held for it.
    """

    bits: np.ndarray   # np.packbits(annotation != 0, axis=2)
    shape: tuple[int, int, int]
    lo: np.ndarray     # first and last voxel index holding brain, per axis
    hi: np.ndarray

    @classmethod
    def from_atlas(cls, bg) -> "BrainMask":
        stored = bg.stored_annotation() if isinstance(bg, LocalAtlas) and bg._annotation is None else None
        if stored is not None:  # read from disk a row of chunks at a time, without dask
            array = stored[1]
            step = int(array.chunks[0])
            slabs = [np.packbits(np.asarray(array[a:a + step]) != 0, axis=2) for a in range(0, array.shape[0], step)]
            return cls.from_bits(np.concatenate(slabs), tuple(int(n) for n in array.shape))
        if getattr(bg, "_annotation", None) is None:
            lazy = _lazy_annotation(bg)
            if lazy is not None:
                edges = np.cumsum((0, *lazy.chunks[0]))  # whole chunks: each read once
                slabs = [np.packbits(_compute(lazy[a:b]) != 0, axis=2) for a, b in zip(edges[:-1], edges[1:])]
                return cls.from_bits(np.concatenate(slabs), tuple(int(n) for n in lazy.shape))
        annotation = np.asarray(bg.annotation)
        return cls.from_bits(np.packbits(annotation != 0, axis=2), annotation.shape)

    @classmethod
    def from_bits(cls, bits: np.ndarray, shape) -> "BrainMask":
        any_bit = bits != 0
        lo, hi = [], []
        for axis, n in enumerate(shape):
            others = tuple(a for a in range(3) if a != axis)
            if axis == 2:
                cols = np.unpackbits(np.bitwise_or.reduce(bits, axis=(0, 1))[None], axis=1, count=n)[0] != 0
            else:
                cols = any_bit.any(axis=others)
            where = np.nonzero(cols)[0]
            lo.append(where[0] if len(where) else 0)
            hi.append(where[-1] if len(where) else -1)
        return cls(bits=bits, shape=(int(shape[0]), int(shape[1]), int(shape[2])), lo=np.array(lo), hi=np.array(hi))

    def contains(self, atlas_um: np.ndarray, resolution: np.ndarray) -> np.ndarray:
        """For each point (atlas microns), whether its voxel (``int(um / res)``) is brain."""
        points = np.asarray(atlas_um).reshape(-1, 3)
        inside = np.ones(len(points), dtype=bool)
        index = []
        for axis in range(3):  # a column at a time: row-wise reductions of N x 3 arrays are slow in numpy
            i = np.floor(points[:, axis] / resolution[axis]).astype(np.int64)
            inside &= (i >= self.lo[axis]) & (i <= self.hi[axis])
            index.append(i)
        out = np.zeros(len(points), dtype=bool)
        i0, i1, i2 = (i[inside] for i in index)
        out[inside] = (self.bits[i0, i1, i2 >> 3] >> (7 - (i2 & 7)).astype(np.uint8)) & 1 != 0
        return out


_compute = compute


def _lazy_annotation(bg):
    """The annotation as a lazy (dask) array of a BrainGlobe v3 atlas, or ``None``."""
    try:
        return lazy_annotation(Path(bg.root_dir), bg.metadata, getattr(bg, "_annotation_pyramid_level", 0))
    except Exception:  # any other layout: brainglobe-atlasapi's own reader
        return None
