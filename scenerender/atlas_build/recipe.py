"""Read an atlas recipe: YAML with line numbers, checked against its schema.

A recipe (``schemas/recipe.schema.json``) says where an atlas's stacks and
structure hierarchy are and how to package them. :func:`load_recipe` reads
it, reports every schema problem as ``file:line:col: path: message`` (the
machinery of :mod:`scenerender.validate`, shared with scenes), fills the
schema's defaults and resolves paths against the recipe's folder. Nothing is
read from the data files here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..document import ScenePath, SceneDocument, read_scene, read_scene_text
from ..errors import Problem, SceneError
from ..limits import PathRefused, check_input_file
from ..schema import _fill
from ..validate import schema_problems

RECIPE_SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "recipe.schema.json"

#: Stack formats by file name ending (checked in this order).
STACK_SUFFIXES = ((".nii.gz", "nifti"), (".nii", "nifti"), (".tif", "tiff"), (".tiff", "tiff"),
                  (".nrrd", "nrrd"), (".nhdr", "nrrd"), (".npy", "npy"), (".zarr", "zarr"))


class RecipeError(SceneError):
    """An atlas recipe cannot be used as written; exit status 2.

    Carries one :class:`~scenerender.errors.Problem` per mistake, located in
    the recipe file.
    """


@lru_cache(maxsize=1)
def recipe_schema() -> dict:
    """The recipe JSON Schema (draft 2020-12) as a dict."""
    return json.loads(RECIPE_SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    schema = recipe_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@dataclass(frozen=True)
class StackSource:
    """Where one 3-D stack comes from, and where the recipe says so."""

    path: Path
    format: str
    array: str | None
    key: ScenePath

    @classmethod
    def from_spec(cls, spec: Any, base_dir: Path, key: ScenePath) -> "StackSource":
        if isinstance(spec, str):
            spec = {"path": spec}
        path = (base_dir / Path(spec["path"]).expanduser())
        fmt = spec.get("format", "auto")
        if fmt == "auto":
            name = path.name.lower()
            fmt = next((f for suffix, f in STACK_SUFFIXES if name.endswith(suffix)), "zarr" if path.is_dir() else "auto")
        return cls(path=path, format=fmt, array=spec.get("array"), key=key)


@dataclass(frozen=True)
class Recipe:
    """A schema-valid recipe with defaults filled and paths resolved.

    Attributes
    ----------
    doc : SceneDocument
        The recipe as read, with line and column of every key and value.
    spec : dict
        The recipe with every schema default filled in.
    """

    doc: SceneDocument
    spec: dict

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def base_dir(self) -> Path:
        return self.doc.base_dir

    @property
    def name(self) -> str:
        return self.spec["name"]

    def problem(self, path: ScenePath, message: str) -> Problem:
        """A problem located at ``path`` of the recipe."""
        return self.doc.problem(path, message)

    def resolve(self, relative: str, key: ScenePath = ()) -> Path:
        """A path from the recipe (at ``key``), relative to the recipe's
        folder, checked like every path a scene names (sandbox, symlink loops)."""
        path = self.doc.resolve_path(key, relative, what="recipe input")
        try:  # no FIFO, device or oversized file, before anything opens it (a Zarr store is a folder)
            check_input_file(path, what="recipe input", shown=relative, folder=True, missing_ok=True)
        except PathRefused as err:
            raise SceneError(self.doc.problem(key, str(err))) from None
        return path

    def stack(self, key: str) -> StackSource | None:
        """The source of stack ``key`` (annotation, reference, hemispheres),
        or None when it is derived or symmetric."""
        spec = self.spec.get(key)
        if spec is None or spec == "symmetric" or (isinstance(spec, dict) and "derive" in spec):
            return None
        self.resolve(spec if isinstance(spec, str) else spec["path"], (key,) if isinstance(spec, str) else (key, "path"))
        return StackSource.from_spec(spec, self.base_dir, (key,))

    @property
    def structures(self) -> dict:
        """The structures options as a mapping (a bare path is ``{path: ...}``)."""
        spec = self.spec["structures"]
        spec = {"path": spec} if isinstance(spec, str) else dict(spec)
        spec.setdefault("format", "auto")
        spec.setdefault("exclude", [])
        spec.setdefault("keep_without_voxels", False)
        return spec

    @property
    def structures_key(self) -> ScenePath:
        return ("structures",) if isinstance(self.spec["structures"], str) else ("structures", "path")

    @property
    def output(self) -> Path | None:
        out = self.spec.get("output")
        return None if out is None else self.resolve(out)

    def input_paths(self) -> list[Path]:
        """Every input file or folder the recipe reads (for cache keys)."""
        paths = [self.resolve(self.structures["path"], self.structures_key)]
        for key in ("annotation", "reference", "hemispheres"):
            source = self.stack(key)
            if source is not None:
                paths.append(source.path.resolve())
        folder = self.spec["meshes"].get("folder")
        if folder is not None:
            paths.append(self.resolve(folder, ("meshes", "folder")))
        return paths


def load_recipe(source: "str | Path | dict | SceneDocument") -> Recipe:
    """Read and check a recipe (path, YAML text or dict) against its schema.

    Raises
    ------
    RecipeError
        Listing every schema problem with file, line and column.
    """
    if isinstance(source, (str, Path)) and not isinstance(source, SceneDocument):
        text_like = isinstance(source, str) and "\n" in source
        if not text_like:
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise RecipeError(Problem(str(path), None, None, "", "recipe file not found; check the path")) from None
            except (OSError, UnicodeDecodeError) as err:
                raise RecipeError(Problem(str(path), None, None, "", f"cannot read recipe file: {err}")) from None
            source = _read_text(text, file=str(path), base_dir=path.resolve().parent)
        else:
            source = _read_text(str(source), file="<string>", base_dir=Path.cwd())
    doc = read_scene(source)
    schema = recipe_schema()
    problems = schema_problems(doc, _validator(), schema)
    if problems:
        raise RecipeError(problems)
    spec = json.loads(json.dumps(doc.data))  # a plain deep copy
    _fill(schema, spec, schema)
    return Recipe(doc=doc, spec=spec)


def _read_text(text: str, *, file: str, base_dir: Path) -> SceneDocument:
    try:
        return read_scene_text(text, file=file, base_dir=base_dir,
                               what="a recipe must be a mapping with keys such as 'version', 'name' and 'annotation'")
    except SceneError as err:
        raise RecipeError(err.problems) from None
