"""Checks on a recipe's inputs, run before any heavy work.

Each check returns a list of ``(recipe key path, message)``; the message says
what is wrong, where in the input file when that is known, and how to fix
it. :func:`scenerender.atlas_build.package.prepare` turns them into located
problems (``recipe.yaml:12:14: structures: ...``) and stops with exit
status 2 before a mesh is made or an output folder created.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .inputs import Structures
from ..suggest import did_you_mean

Finding = tuple[tuple, str]

#: The anatomical axis pairs of BrainGlobe orientation strings.
AXIS_PAIRS = (("a", "p"), ("s", "i"), ("l", "r"))
_WORDS = {"a": "anterior", "p": "posterior", "s": "superior", "i": "inferior", "l": "left", "r": "right"}
#: At most this many offending items are listed in one message.
LIST_AT_MOST = 10


def listed(items, at_most: int = LIST_AT_MOST) -> str:
    """``"a, b, c"``, or the first ``at_most`` and how many there are in all."""
    items = list(items)
    text = ", ".join(str(i) for i in items[:at_most])
    return text if len(items) <= at_most else f"{text}, ... (first {at_most} of {len(items)})"


# --------------------------------------------------------------------------
# space
# --------------------------------------------------------------------------


def check_orientation(orientation: str) -> list[Finding]:
    """Three letters, one from each pair a/p, s/i, l/r."""
    letters = orientation.lower()
    ok = len(letters) == 3 and all(sum(c in pair for c in letters) == 1 for pair in AXIS_PAIRS)
    if ok:
        return []
    pairs = ", ".join(f"{a}/{b} ({_WORDS[a]}/{_WORDS[b]})" for a, b in AXIS_PAIRS)
    return [(("orientation",), f"{orientation!r} is not a valid orientation: give three letters, one from each "
             f"pair {pairs}, in axis order, naming where index 0 of each axis lies, e.g. 'asr' (Allen CCF: "
             "anterior->posterior, superior->inferior, right->left) or 'lsa'")]


def as_triplet(value) -> tuple[float, float, float]:
    if isinstance(value, list):
        a, b, c = (float(v) for v in value)
        return a, b, c
    return float(value), float(value), float(value)


def check_resolution(resolution, output_resolution, orientation: str = "asr") -> list[Finding]:
    """Positive voxel sizes; the output a whole multiple of the input."""
    found: list[Finding] = []
    res = as_triplet(resolution)
    if any(r <= 0 for r in res):
        found.append((("resolution",), f"{resolution} is not a valid resolution: the voxel size in microns must be "
                       "positive, e.g. 25 or [25, 25, 50] (one per axis, in the stacks' axis order)"))
        return found
    final = as_triplet(output_resolution) if output_resolution is not None else res
    if len(set(final)) > 1 and orientation.lower() != "asr":
        # BrainGlobe 3.0.2's packager pairs per-axis resolutions with the stacks' own axis order in one
        # place and with 'asr' in another; only their agreement (asr, or equal voxel sizes) is safe.
        found.append((("resolution",), f"voxel sizes that differ between axes ({resolution}) need orientation "
                       "'asr' here; reorient the stacks to asr first, or resample them to equal voxel sizes"))
    if output_resolution is None:
        return found
    out = as_triplet(output_resolution)
    if any(r <= 0 for r in out):
        found.append((("output_resolution",), f"{output_resolution} is not a valid resolution: the voxel size in "
                       "microns must be positive"))
        return found
    for axis, (a, b) in enumerate(zip(res, out)):
        factor = b / a
        if factor < 1 - 1e-9 or abs(factor - round(factor)) > 1e-6:
            found.append((("output_resolution",), f"{output_resolution} is not a whole multiple of resolution "
                           f"{resolution} on axis {axis} ({b:g} / {a:g} = {factor:g}); only downsampling by whole "
                           f"factors is supported, e.g. {a * 2:g} or {a * 4:g}"))
            break
    return found


def factors(resolution, output_resolution) -> tuple[int, int, int]:
    if output_resolution is None:
        return (1, 1, 1)
    x, y, z = (int(round(b / a)) for a, b in zip(as_triplet(resolution), as_triplet(output_resolution)))
    return x, y, z


# --------------------------------------------------------------------------
# structures
# --------------------------------------------------------------------------


def check_structures(structures: Structures, file_label: str) -> list[Finding]:
    """One root, no id 0, unique ids and acronyms, consistent id paths."""
    key = ("structures",)
    found: list[Finding] = []
    items, origins = structures.items, structures.origins
    if not items:
        return [(key, f"{file_label} holds no structures")]
    zero = [origins[i] + f" ({s['acronym']!r})" for i, s in enumerate(items) if s["id"] == 0]
    if zero:
        found.append((key, f"structure id 0 is reserved for 'outside the brain' (annotation value 0) but is used by "
                      f"{listed(zero)}; remove it from {file_label} or add 0 to structures.exclude"))
    real = [(s, o) for s, o in zip(items, origins) if s["id"] != 0]
    found += [(key, message) for message in _duplicates(real, file_label)]
    found += [(key, message) for message in _path_problems(real, file_label)]
    found += [(key, message) for message in _root_problems(real, file_label)]
    return found


def _duplicates(real: list[tuple[dict, str]], file_label: str) -> list[str]:
    """Ids and acronyms used by more than one structure."""
    out = []
    ids = Counter(s["id"] for s, _ in real)
    dup = sorted(i for i, n in ids.items() if n > 1)
    if dup:
        out.append(f"structure ids used more than once in {file_label}: {listed(dup)}; every id must be unique")
    acronyms = Counter(s["acronym"] for s, _ in real)
    dup_acr = sorted(a for a, n in acronyms.items() if n > 1)
    if dup_acr:
        out.append(f"acronyms used more than once in {file_label}: {listed(dup_acr)}; BrainGlobe looks "
                   "regions up by acronym, so each must be unique")
    return out


def _path_problems(real: list[tuple[dict, str]], file_label: str) -> list[str]:
    """structure_id_paths that do not end in the structure's id, name an ancestor that does not exist,
    or are not the parent's path plus the structure's id."""
    by_id = {s["id"]: s for s, _ in real}
    bad_end, bad_parent, bad_chain = [], [], []
    for s, origin in real:
        path = s["structure_id_path"]
        if not path or path[-1] != s["id"]:
            bad_end.append(f"{s['acronym']!r} (id {s['id']}, {origin}: {path})")
            continue
        missing = [p for p in path[:-1] if p not in by_id]
        if missing:
            bad_parent.append(f"{s['acronym']!r} (id {s['id']}, {origin}: ancestor {missing[0]})")
        elif len(path) > 1 and by_id[path[-2]]["structure_id_path"] != path[:-1]:
            bad_chain.append(f"{s['acronym']!r} (id {s['id']}, {origin})")
    out = []
    if bad_end:
        out.append(f"every structure_id_path must end in the structure's own id; it does not for "
                   f"{listed(bad_end)}; fix these paths in {file_label}")
    if bad_parent:
        out.append(f"structures whose ancestors do not exist: {listed(bad_parent)}; add the missing "
                   f"structures to {file_label} or fix the paths")
    if bad_chain:
        out.append(f"structure_id_path must be the parent's path plus the structure's own id; it is not "
                   f"for {listed(bad_chain)}")
    return out


def _root_problems(real: list[tuple[dict, str]], file_label: str) -> list[str]:
    """No root, or more than one (a root's structure_id_path is only its own id)."""
    roots = [f"{s['acronym']!r} (id {s['id']}, {o})" for s, o in real if len(s["structure_id_path"]) == 1]
    if len(roots) == 1:
        return []
    what = "no root" if not roots else f"{len(roots)} roots: {listed(roots)}"
    return [f"the hierarchy must have exactly one root (a structure whose structure_id_path is only "
            f"its own id); {file_label} has {what}; "
            + ("make one structure the root of all others" if not roots else
               "put the others under the root (their paths must start with the root's id), or exclude them")]


def exclude_structures(structures: Structures, exclude: list) -> tuple[Structures, list]:
    """Structures without the excluded ones (ids or acronyms) and their
    descendants; and the exclusions that matched nothing."""
    wanted = set(exclude)
    ids = {s["id"] for s in structures.items if s["id"] in wanted or s["acronym"] in wanted}
    unmatched = [e for e in exclude if not any(e in (s["id"], s["acronym"]) for s in structures.items)]
    out = Structures(file=structures.file, notes=list(structures.notes))
    for s, origin in zip(structures.items, structures.origins):
        if s["id"] in ids or ids.intersection(s["structure_id_path"]):
            continue
        out.add(s, origin)
    return out, unmatched


# --------------------------------------------------------------------------
# stacks
# --------------------------------------------------------------------------


def unique_labels(annotation: np.ndarray) -> np.ndarray:
    """Sorted distinct values of the annotation (hash-based: fast on big stacks)."""
    import pandas as pd

    return np.sort(pd.unique(annotation.ravel()))


def check_annotation(annotation: np.ndarray, labels: np.ndarray, structures: list[dict],
                     file_label: str) -> list[Finding]:
    key = ("annotation",)
    if not np.issubdtype(annotation.dtype, np.integer):
        if not np.all(np.mod(labels, 1) == 0):
            return [(key, f"the annotation holds non-integer values ({annotation.dtype}); it must hold structure ids")]
    if labels.size and labels[-1] > np.iinfo(np.uint32).max:
        return [(key, f"the annotation holds values above 4294967295 (up to {labels[-1]}); BrainGlobe stores "
                 "structure ids as 32-bit unsigned integers")]
    if labels.size and labels[0] < 0:
        return [(key, f"the annotation holds negative values (down to {labels[0]}); 0 is outside, the rest are "
                 "structure ids")]
    ids = {s["id"] for s in structures}
    missing = [int(v) for v in labels if v != 0 and int(v) not in ids]
    if missing:
        return [(key, f"{len(missing)} annotation value(s) have no structure in {file_label}: {listed(missing)}; "
                 "add these structures, or correct the annotation (0 means outside the brain)")]
    if not (labels != 0).any():
        return [(key, "the annotation is empty (all 0); it must label the brain with structure ids")]
    return []


def check_shapes(shapes: dict[str, tuple]) -> list[Finding]:
    """Every stack has the annotation's shape."""
    reference = shapes["annotation"]
    return [((name,), f"shape {tuple(shape)} differs from the annotation's {tuple(reference)}; all stacks must "
             "have the same shape (same voxel grid)")
            for name, shape in shapes.items() if name != "annotation" and tuple(shape) != tuple(reference)]


def check_hemispheres(hemispheres: np.ndarray) -> list[Finding]:
    values = set(unique_labels(hemispheres).tolist())
    extra = sorted(values - {0, 1, 2})
    if extra:
        return [(("hemispheres",), f"the hemispheres stack holds {listed(extra)}; it may hold only 1 (left), "
                 "2 (right) and 0 (outside), or use hemispheres: symmetric")]
    return []


def resolve_refs(refs: list, structures: list[dict], key: tuple) -> tuple[list[int], list[Finding]]:
    """Ids for acronyms or ids listed in the recipe, with did-you-mean."""
    by_acronym = {s["acronym"]: s["id"] for s in structures}
    ids = {s["id"] for s in structures}
    out, found = [], []
    for index, ref in enumerate(refs):
        if isinstance(ref, int) and ref in ids:
            out.append(ref)
        elif isinstance(ref, str) and ref in by_acronym:
            out.append(by_acronym[ref])
        elif isinstance(ref, str) and ref.isdigit() and int(ref) in ids:
            out.append(int(ref))
        else:
            found.append((key + (index,), f"unknown structure {ref!r}{did_you_mean(ref, by_acronym)}"))
    return out, found
