"""Package an atlas from a recipe with BrainGlobe's own atlas generation.

Two steps:

* :func:`prepare` reads the structures and the stacks and runs every check
  (:mod:`.checks`): cheap, and nothing is written. Mistakes raise
  :class:`~.recipe.RecipeError` naming the recipe line and the fix.
* :func:`build` makes the meshes (:mod:`.meshes`) and calls
  ``brainglobe_atlasapi.atlas_generation.wrapup.wrapup_atlas_from_data``,
  which writes the BrainGlobe v3 layout, in a scratch folder next to the
  output; the finished components are then moved into
  ``OUTPUT/brainglobe-atlasapi/`` one rename each, so a failed build never
  leaves half an atlas behind.

Packaging goes through the two narrow brainglobe-atlasapi 3.0.2 workarounds
of :mod:`scenerender._bgcompat` (32-bit terminology parent ids; the atlas
link checked for form instead of fetched). One deliberate difference from a
plain ``wrapup`` call is optional: ``structures.keep_without_voxels`` keeps
structures with no voxel in the terminology (see :func:`keep_all_structures`).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import Problem
from ..paths import default_brainglobe_dir
from . import checks
from .meshes import MeshOptions, generate_meshes, import_meshes, recompress_meshes
from .inputs import (InputError, Structures, as_reference_dtype, block_centre, block_mean, read_stack,
                     read_structures, synthetic_reference)
from .recipe import Recipe, RecipeError, load_recipe
from .._bgcompat import install_terminology_reader, offline_atlas_link_check

BG_FOLDER = "brainglobe-atlasapi"


@dataclass
class Prepared:
    """A checked recipe with its data read and resampled, ready to package."""

    recipe: Recipe
    structures: list[dict]
    annotation: np.ndarray
    reference: np.ndarray
    hemispheres: np.ndarray | None
    resolution: tuple[float, float, float]
    mesh_ids: set[int] | None
    notes: list[str] = field(default_factory=list)
    #: The annotation at the input resolution and the block size down to the
    #: packaged one: meshes are made from the input's partial volumes.
    input_annotation: np.ndarray | None = None
    factors: tuple[int, int, int] = (1, 1, 1)

    @property
    def atlas_name(self) -> str:
        return f"{self.recipe.name}_{_um(self.resolution[0])}um"


@dataclass
class BuildResult:
    """What :func:`build` made."""

    atlas_name: str
    version: str
    output: Path
    atlas_dir: Path
    shape: tuple[int, int, int]
    n_structures: int
    n_meshes: int
    timings: dict[str, float]
    validation: dict[str, str]
    notes: list[str]

    def as_dict(self) -> dict:
        return {"atlas_name": self.atlas_name, "version": self.version, "output": str(self.output),
                "atlas_dir": str(self.atlas_dir), "shape": list(self.shape), "n_structures": self.n_structures,
                "n_meshes": self.n_meshes, "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
                "validation": self.validation, "notes": self.notes}


def _um(value: float):
    """100.0 -> 100 (BrainGlobe names atlases with the number as given)."""
    return int(value) if float(value).is_integer() else float(value)


def _fail(recipe: Recipe, findings: list) -> RecipeError:
    return RecipeError([recipe.problem(path, message) for path, message in findings])


def _shape3(shape) -> tuple[int, int, int]:
    return int(shape[0]), int(shape[1]), int(shape[2])


# --------------------------------------------------------------------------
# prepare: read and check, no writing
# --------------------------------------------------------------------------


def _structures(recipe: Recipe) -> tuple[Structures, str]:
    opts = recipe.structures
    path = recipe.resolve(opts["path"])
    try:
        structures = read_structures(path, opts["format"])
    except InputError as err:
        raise RecipeError(recipe.problem(recipe.structures_key, str(err))) from None
    structures, unmatched = checks.exclude_structures(structures, opts["exclude"])
    if unmatched:
        key = ("structures", "exclude")
        raise RecipeError(recipe.problem(key, f"nothing to exclude for {checks.listed(map(repr, unmatched))}: "
                                         f"no such id or acronym in {path.name}"))
    return structures, path.name


def _stack(recipe: Recipe, key: str) -> np.ndarray | None:
    source = recipe.stack(key)
    if source is None:
        return None
    try:
        return read_stack(source)
    except InputError as err:
        raise RecipeError(recipe.problem(source.key, str(err))) from None


def prepare(recipe: Recipe | str | Path, *, log=None) -> Prepared:
    """Read a recipe's inputs and check them; write nothing.

    Raises
    ------
    RecipeError
        One problem per mistake, located in the recipe, before any mesh is
        made or any folder created.
    """
    say = log or (lambda *_: None)
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    spec = recipe.spec
    structures, file_label = _checked_space_and_hierarchy(recipe, say)
    items = structures.items
    annotation, reference, hemispheres = _read_stacks(recipe, say)
    mesh_ids, mesh_findings = _mesh_selection(recipe, items)
    findings = _stack_findings(annotation, hemispheres, items, file_label) + mesh_findings
    if findings:  # every problem of the stacks and meshes at once
        raise _fail(recipe, findings)

    # 3. resample (cheap next to meshing) and derive
    notes = list(structures.notes)
    f = checks.factors(spec["resolution"], spec.get("output_resolution"))
    resolution = checks.as_triplet(spec.get("output_resolution") or spec["resolution"])
    annotation = annotation.astype(np.uint32, copy=False)
    input_annotation = annotation
    if f != (1, 1, 1):
        annotation, reference, hemispheres = _downsampled(annotation, reference, hemispheres, f)
        say(f"downsampled by {f} to {annotation.shape}")
    if reference is None:
        reference = synthetic_reference(annotation, items, sigma=float(spec["reference"].get("sigma", 1.0)))
    else:
        reference, note = as_reference_dtype(reference)
        if note:
            notes.append(note)
    if hemispheres is not None:
        hemispheres = hemispheres.astype(np.uint8, copy=False)
    return Prepared(recipe=recipe, structures=items, annotation=annotation, reference=reference,
                    hemispheres=hemispheres, resolution=resolution, mesh_ids=mesh_ids, notes=notes,
                    input_annotation=input_annotation, factors=(int(f[0]), int(f[1]), int(f[2])))


def _checked_space_and_hierarchy(recipe: Recipe, say) -> tuple[Structures, str]:
    """Step 1: the orientation, resolution and structures, checked before any stack is read; the
    structures and the name of their file."""
    spec = recipe.spec
    findings = checks.check_orientation(spec["orientation"])
    findings += checks.check_resolution(spec["resolution"], spec.get("output_resolution"), spec["orientation"])
    structures, file_label = _structures(recipe)
    say(f"structures: {len(structures.items)} from {file_label}")
    findings += checks.check_structures(structures, file_label)
    if findings:
        raise _fail(recipe, findings)
    return structures, file_label


def _read_stacks(recipe: Recipe, say):
    """Step 2: the stacks, (annotation, reference or None, hemispheres or None), their shapes checked."""
    annotation = _stack(recipe, "annotation")
    if annotation is None:  # the recipe schema requires it; checked by the recipe checks
        raise _fail(recipe, [(("annotation",), "the recipe names no annotation stack")])
    reference = _stack(recipe, "reference")
    hemispheres = _stack(recipe, "hemispheres")
    shapes = {"annotation": annotation.shape}
    shapes.update({k: v.shape for k, v in (("reference", reference), ("hemispheres", hemispheres)) if v is not None})
    findings = checks.check_shapes(shapes)
    if findings:
        raise _fail(recipe, findings)
    say(f"annotation: {annotation.shape} {annotation.dtype}")
    return annotation, reference, hemispheres


def _stack_findings(annotation: np.ndarray, hemispheres: np.ndarray | None, items: list[dict],
                    file_label: str) -> list[checks.Finding]:
    """What is wrong with the annotation's values (against the structures) and the hemispheres."""
    labels = checks.unique_labels(annotation)
    findings = checks.check_annotation(annotation, labels, items, file_label)
    if hemispheres is not None:
        findings += checks.check_hemispheres(hemispheres)
    return findings


def _mesh_selection(recipe: Recipe, items: list[dict]) -> tuple[set | None, list[checks.Finding]]:
    """The ids of the structures to mesh (``meshes.only``, with their ancestors if asked; None: all),
    and what is wrong with the selection or the meshes folder."""
    spec = recipe.spec
    findings: list[checks.Finding] = []
    mesh_ids = None
    only = spec["meshes"].get("only")
    if only is not None:
        ids, findings = checks.resolve_refs(only, items, ("meshes", "only"))
        by_id = {s["id"]: s for s in items}
        mesh_ids = set(ids)
        if spec["meshes"]["with_ancestors"]:
            for sid in ids:
                mesh_ids.update(by_id[sid]["structure_id_path"])
    folder = spec["meshes"].get("folder")
    if folder is not None and not recipe.resolve(folder).is_dir():
        findings.append((("meshes", "folder"), f"folder not found: {recipe.resolve(folder)} (paths are relative "
                         "to the recipe's folder)"))
    return mesh_ids, findings


def _downsampled(annotation: np.ndarray, reference: np.ndarray | None, hemispheres: np.ndarray | None, f):
    """The stacks at the output resolution, ``f`` input voxels to one along each axis: labels by the
    block's centre voxel, the reference by the block's mean."""
    annotation = block_centre(annotation, f)
    if hemispheres is not None:
        hemispheres = block_centre(hemispheres, f)
    if reference is not None:
        reference = block_mean(reference, f)
    return annotation, reference, hemispheres


# --------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------


@contextlib.contextmanager
def keep_all_structures(enabled: bool = True):
    """Within the context the packager keeps structures with no voxels.

    ``AtlasPackagingData.__post_init__`` calls
    ``filter_structures_not_present_in_annotation``, which removes every
    structure with no voxel (itself or a descendant) in the annotation. With
    ``structures.keep_without_voxels`` the whole ontology is kept, so that
    ids and acronyms from other data still resolve to names, colours and
    ancestors: that name is replaced by the identity in the
    ``atlas_packaging_data`` namespace for the duration of the build only.
    """
    # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
    from brainglobe_atlasapi.atlas_generation import atlas_packaging_data as apd

    original = apd.filter_structures_not_present_in_annotation
    if enabled:
        apd.filter_structures_not_present_in_annotation = lambda structures, _a: list(structures)
    try:
        yield
    finally:
        apd.filter_structures_not_present_in_annotation = original


def _structures_with_voxels(structures: list[dict], annotation: np.ndarray) -> list[dict]:
    present = set(np.unique(annotation).tolist())
    keep = {i for s in structures if s["id"] in present for i in s["structure_id_path"]}
    return [s for s in structures if s["id"] in keep]


def _mesh_scale(prepared: Prepared) -> np.ndarray:
    spec = prepared.recipe.spec
    out = np.array(prepared.resolution)
    if spec["meshes"]["folder_units"] == "um":
        return 1.0 / out
    return np.array(checks.as_triplet(spec["resolution"])) / out


def _make_meshes(prepared: Prepared, scratch: Path, structures: list[dict], processes: int | None,
                 progress: bool, say) -> dict[int, Path]:
    opts = prepared.recipe.spec["meshes"]
    wanted = prepared.mesh_ids
    meshes: dict[int, Path] = {}
    ids = {s["id"] for s in structures}
    if opts.get("folder") is not None:
        folder = prepared.recipe.resolve(opts["folder"])
        meshes, ignored = import_meshes(scratch, folder, ids if wanted is None else ids & wanted,
                                        scale=_mesh_scale(prepared))
        say(f"meshes: {len(meshes)} imported from {folder}")
        if ignored:
            prepared.notes.append(f"meshes.folder: ignored {checks.listed(ignored)} (not <id>.obj of a structure "
                                  "being meshed)")
    if opts["generate"]:
        # As BrainGlobe: a mesh for every structure with voxels (its own or a descendant's) in the
        # packaged annotation, made from the input's partial volumes.
        with_voxels = {s["id"] for s in _structures_with_voxels(structures, prepared.annotation)}
        todo = ((ids if wanted is None else ids & wanted) & with_voxels) - set(meshes)
        options = MeshOptions(closing=opts["closing_iterations"], smooth=opts["smooth"],
                              smooth_iterations=opts["smooth_iterations"], min_piece_voxels=opts["min_piece_voxels"],
                              decimate=opts["decimate_fraction"])
        annotation = prepared.input_annotation if prepared.input_annotation is not None else prepared.annotation
        made = generate_meshes(scratch, annotation, structures, todo, factors=prepared.factors, options=options,
                               processes=opts["processes"] if processes is None else processes, progress=progress)
        meshes.update(made)
    return {s["id"]: meshes[s["id"]] for s in structures if s["id"] in meshes}


def validate_package(bg_dir: Path, atlas_name: str) -> dict[str, str]:
    """BrainGlobe's own validation functions on a packaged atlas: name -> Pass/Fail."""
    # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
    from brainglobe_atlasapi import BrainGlobeAtlas
    from brainglobe_atlasapi.atlas_generation.validate_atlases import get_all_validation_functions

    atlas = BrainGlobeAtlas(atlas_name, brainglobe_dir=bg_dir, check_latest=False)
    results = {}
    for func in get_all_validation_functions():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                func(atlas)
            results[func.__name__] = "Pass"
        except AssertionError as err:
            results[func.__name__] = f"Fail: {str(err)[:300]}"
    return results


def _install(stage: Path, out: Path, trash: Path) -> list[Path]:
    """Move each component folder of ``stage/brainglobe-atlasapi`` into
    ``out/brainglobe-atlasapi`` (replacing the same component), one rename each."""
    moved: list[Path] = []
    for manifest_root in sorted((stage / BG_FOLDER).iterdir()):
        for version_dir in sorted(manifest_root.glob("*/*")):
            rel = version_dir.relative_to(stage)
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.rename(trash / f"old-{len(moved)}")
            version_dir.rename(target)
            moved.append(target)
    return moved


def build(recipe: Recipe | Prepared | str | Path, output: Path | None = None, *, processes: int | None = None,
          progress: bool = True, verbose: bool = False, log=None) -> BuildResult:
    """Package the atlas a recipe describes into the BrainGlobe folder ``output``.

    Parameters
    ----------
    recipe : Recipe, Prepared, str or Path
        A recipe (file, text or loaded) or an already :func:`prepare`\\ d one.
    output : Path, optional
        BrainGlobe folder; the atlas goes into ``output/brainglobe-atlasapi``.
        Default: the recipe's ``output``, else the BrainGlobe config's folder.
    processes : int, optional
        Override ``meshes.processes`` (1 = serial, 0 = every CPU).
    progress : bool
        Show a progress bar while meshing (on stderr).
    verbose : bool
        Show BrainGlobe's own output (otherwise kept back, and shown only if
        packaging fails).

    Returns
    -------
    BuildResult

    Raises
    ------
    RecipeError
        For mistakes in the recipe or its inputs, before any heavy work.
    """
    # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
    from brainglobe_atlasapi.atlas_generation.wrapup import ATLAS_VERSION, wrapup_atlas_from_data

    say = log or (lambda *_: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepared = recipe if isinstance(recipe, Prepared) else prepare(recipe, log=say)
    timings["read_and_check"] = time.perf_counter() - t0
    recipe = prepared.recipe
    spec = recipe.spec
    out = Path(output) if output is not None else (recipe.output or _default_brainglobe_dir())
    out = out.expanduser().resolve()
    keep_all = recipe.structures["keep_without_voxels"]
    structures = prepared.structures if keep_all else _structures_with_voxels(prepared.structures, prepared.annotation)

    install_terminology_reader()  # the packager's validation loads the atlas via BrainGlobeAtlas
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        t = time.perf_counter()
        meshes = _make_meshes(prepared, scratch, structures, processes, progress, say)
        timings["meshes"] = time.perf_counter() - t
        say(f"meshes: {len(meshes)} in {timings['meshes']:.1f} s")

        t = time.perf_counter()
        stage = scratch / "stage"
        captured = io.StringIO()
        try:
            with contextlib.ExitStack() as stack:
                if not verbose:  # BrainGlobe prints progress bars and reports; keep them back
                    stack.enter_context(contextlib.redirect_stdout(captured))
                    stack.enter_context(contextlib.redirect_stderr(captured))
                with offline_atlas_link_check(), keep_all_structures(keep_all):
                    wrapup_atlas_from_data(
                        atlas_name=recipe.name,
                        atlas_minor_version=spec["minor_version"],
                        citation=spec["metadata"]["citation"],
                        atlas_link=spec["metadata"]["link"],
                        species=spec["metadata"]["species"],
                        resolution=tuple(_um(r) for r in prepared.resolution),
                        orientation=spec["orientation"].lower(),
                        root_id=next(s["id"] for s in structures if len(s["structure_id_path"]) == 1),
                        reference_stack=prepared.reference,
                        annotation_stack=prepared.annotation,
                        structures_list=structures,
                        meshes_dict=meshes,
                        working_dir=stage,
                        atlas_packager=spec["metadata"]["packager"],
                        hemispheres_stack=prepared.hemispheres,
                        scale_meshes=True,
                        overwrite=True,
                    )
        except Exception:
            if not verbose:
                sys.stderr.write(captured.getvalue())
            raise
        timings["package"] = time.perf_counter() - t

        t = time.perf_counter()
        mesh_dirs = list((stage / BG_FOLDER).glob("annotation-sets/*/*/annotations.precomputed/mesh"))
        for mesh_dir in mesh_dirs:
            recompress_meshes(mesh_dir, spec["meshes"]["compression_level"])
        timings["recompress"] = time.perf_counter() - t

        t = time.perf_counter()
        validation = validate_package(stage, prepared.atlas_name)
        timings["validate"] = time.perf_counter() - t

        shutil.rmtree(scratch / "meshes", ignore_errors=True)
        shutil.rmtree(scratch / "imported", ignore_errors=True)
        _install(stage, out, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    timings["total"] = time.perf_counter() - t0
    version = f"{ATLAS_VERSION}.{spec['minor_version']}"
    atlas_dir = out / BG_FOLDER / "atlases" / prepared.atlas_name / version.replace(".", "_")
    return BuildResult(atlas_name=prepared.atlas_name, version=version, output=out, atlas_dir=atlas_dir,
                       shape=_shape3(prepared.annotation.shape), n_structures=len(structures),
                       n_meshes=len(meshes), timings=timings, validation=validation, notes=prepared.notes)


_default_brainglobe_dir = default_brainglobe_dir


def problems(recipe) -> list[Problem]:
    """Every problem of a recipe and its inputs (empty when it can be built)."""
    try:
        prepare(recipe)
    except RecipeError as err:
        return list(err.problems)
    return []


def write_report(result: BuildResult, path: Path) -> None:
    path.write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
