"""``kind: heatmap`` - atlas regions coloured by a value each, in 3D or as a 2D section.

Values are given per region acronym (inline, or read from a CSV file). In 3D
each valued region is its atlas mesh in the colour of its value. With
``section`` a plane is cut through the annotation volume instead and drawn
where it lies in the atlas: every voxel the plane meets is filled with the
colour of its region's value (a value given for a region applies to all its
subregions; the finest valued region wins), voxels of regions without a
value in the neutral ``missing_color``, and region boundaries outlined, as
in brainglobe-heatmap's 2D mode. A frontal section looked at with the
``frontal`` camera preset and orthographic projection is the flat view.

The section samples the annotation at voxel centres: voxel ``i`` covers
``[i, i + 1) x resolution`` microns (centre ``(i + 1/2) x resolution``), the
convention of the atlas lookup and of the packaged meshes, so sections and
region surfaces line up.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..atlas import RegionNotFound
from ..limits import PathRefused, check_input_file
from ..plan import ColorBarPlan, ColorMapping, LinesPlan, SurfacePlan
from ..readers import DataFileError, read_delimited
from ..spaces import atlas_to_world
from ..suggest import did_you_mean
from ._context import BuildContext

KIND = "heatmap"

#: Named planes: (normal axis, in-plane axes u, v) on the atlas axes (asr).
PLANES = {"frontal": (0, 2, 1), "sagittal": (2, 0, 1), "horizontal": (1, 2, 0)}


def read_values(spec: dict, ctx: BuildContext) -> dict[str, tuple[float, tuple]]:
    """Acronym -> (value, where it was given: a scene path or a CSV row)."""
    values = spec["values"]
    if "csv" not in values or not isinstance(values.get("csv"), str):
        out = {}
        for acronym, value in values.items():
            out[str(acronym)] = (math.nan if value is None else float(value), ("values", acronym))
        return out
    import pandas as pd  # lazy: pandas loads only for a heatmap read from a CSV file

    key = ("values", "csv")
    path = ctx.doc.resolve_path(ctx.path + key, values["csv"], what="CSV file")  # sandbox, symlink loops
    try:  # a regular file (a FIFO would block), within file_bytes; then the bounded table reader
        if check_input_file(path, what="CSV file", shown=values["csv"], missing_ok=True) < 0:
            raise ctx.fail(key, f"CSV file {path} not found (paths are relative to the scene file)")
        table = read_delimited(path, "sniff", what="the CSV file")
    except PathRefused as err:
        raise ctx.fail(key, f"{err}") from None
    except (DataFileError, OSError) as err:
        raise ctx.fail(key, f"cannot read {path} as CSV: {err}") from None
    out = {}
    for role in ("region", "value"):
        column = values.get(role, role)
        if column not in table.columns:
            raise ctx.fail(("values", role), f"{path.name} has no column {column!r}{did_you_mean(column, table.columns)};"
                                             f" columns: {', '.join(map(str, table.columns))}")
    regions = table[values.get("region", "region")].astype(str)
    numbers = pd.to_numeric(table[values.get("value", "value")], errors="coerce")
    for row, (acronym, value) in enumerate(zip(regions, numbers), start=2):  # row 1 is the header
        if acronym in out:
            raise ctx.fail(key, f"{path.name} row {row}: region {acronym!r} is given twice (first on row "
                                f"{out[acronym][1][1]}); keep one")
        out[acronym] = (float(value), ("csv row", row))
    return out


def _mapping(spec: dict, ctx: BuildContext, numbers: np.ndarray) -> ColorMapping:
    finite = numbers[np.isfinite(numbers)]
    if len(finite) == 0:
        raise ctx.fail(("values",), "no region has a numeric value; give at least one")
    center = spec.get("center")
    lo, hi = float(finite.min()), float(finite.max())
    if center is not None and spec.get("vmin") is None and spec.get("vmax") is None:
        half = max(abs(lo - center), abs(hi - center)) or 1.0
        lo, hi = center - half, center + half  # symmetric about the centre, as diverging maps are read
    vmin = float(spec["vmin"]) if spec.get("vmin") is not None else lo
    vmax = float(spec["vmax"]) if spec.get("vmax") is not None else hi
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5  # one value: the middle of the map
    if vmin > vmax:
        raise ctx.fail(("vmin",), f"vmin {vmin:g} is above vmax {vmax:g}")
    if center is not None and not vmin < center < vmax:
        raise ctx.fail(("center",), f"center {center:g} must lie between vmin {vmin:g} and vmax {vmax:g}")
    return ColorMapping(cmap=ctx.cmap(spec["cmap"], ("cmap",)), vmin=vmin, vmax=vmax,
                        center=None if center is None else float(center), title=spec.get("title") or "")


def _rgb(values) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


def _resolve(spec: dict, ctx: BuildContext) -> tuple[dict[int, float], dict[int, str], ColorMapping]:
    """(structure id -> value, id -> acronym, colour mapping); unknown acronyms fail located."""
    given = read_values(spec, ctx)
    by_id, acronyms = {}, {}
    for acronym, (value, where) in given.items():
        if where[0] == "csv row":
            try:
                struct = ctx.atlas.structure(acronym)
            except LookupError as err:
                raise ctx.fail(("values", "csv"), f"{Path(spec['values']['csv']).name} row {where[1]}: {err}") from None
        else:
            struct = ctx.structure(acronym, where)
        by_id[int(struct["id"])] = value
        acronyms[int(struct["id"])] = struct["acronym"]
    mapping = _mapping(spec, ctx, np.array(list(by_id.values()), dtype=float))
    return by_id, acronyms, mapping


def build(spec: dict, *, ctx: BuildContext) -> list:
    by_id, acronyms, mapping = _resolve(spec, ctx)
    missing = ctx.color(spec["missing_color"], ("missing_color",))
    # a section always shows regions without a value; in 3D, a region given null
    if spec.get("section") is not None or any(math.isnan(v) for v in by_id.values()):
        mapping = replace(mapping, missing=missing)
    plans = _section(spec, ctx, by_id, mapping, missing) if spec.get("section") is not None else \
        _surfaces(spec, ctx, by_id, acronyms, mapping, missing)
    if spec.get("colorbar", True) and not _has_colorbar(spec, ctx):
        plans.append(ColorBarPlan(name="colour bar", mapping=mapping, title=mapping.title, position="right",
                                  color=(0.0, 0.0, 0.0), size=14))
    return plans


def _has_colorbar(spec: dict, ctx: BuildContext) -> bool:
    """Whether the scene has a colorbar actor that would describe this heatmap."""
    mine = spec.get("id")
    return any(a.get("kind") == "colorbar" and (a.get("of") is None or a.get("of") == mine) for a in ctx.actor_specs)


def _surfaces(spec: dict, ctx: BuildContext, by_id, acronyms, mapping: ColorMapping, missing) -> list:
    plans = []
    for sid, value in by_id.items():
        try:
            points, faces = ctx.atlas.region_mesh(sid, hemisphere=spec["hemisphere"])
        except RegionNotFound as err:
            raise ctx.fail(("values", acronyms[sid]), str(err)) from None
        color = missing if math.isnan(value) else _rgb(mapping.colors([value])[0])
        plans.append(SurfacePlan(name=f"heatmap {acronyms[sid]}", points=atlas_to_world(points), faces=faces,
                                 color=color, alpha=float(spec["alpha"]), mapping=mapping, **ctx.look(spec)))
    return plans


def plane_frame(section: dict, shape_um: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(origin, normal, u, v) of a section plane in atlas microns; u, v span it.

    Named planes use atlas axes for u and v, so samples fall on voxel centres.
    """
    if "plane" in section:
        axis, ua, va = PLANES[section["plane"]]
        eye = np.eye(3)
        normal, u, v = eye[axis], eye[ua], eye[va]
        position = section.get("position")
        position = shape_um[axis] / 2 if position is None else float(position)
        return normal * position, normal, u, v
    normal = np.asarray(section["normal"], dtype=float)
    normal = normal / np.linalg.norm(normal)
    point = np.asarray(section["point"], dtype=float) if "point" in section else shape_um / 2
    helper = np.eye(3)[int(np.argmin(np.abs(normal)))]
    u = helper - normal * np.dot(helper, normal)
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    return normal * np.dot(point, normal), normal, u, v


def sample_section(atlas, origin, u, v, step: float) -> tuple[np.ndarray, int, int]:
    """Annotation ids on a grid in the plane: (ids (nu, nv), i range start, j range start).

    Grid point (i, j) is ``origin + i*step*u + j*step*v``; ids are those of
    the voxel containing it (0 outside the volume).
    """
    shape_um = atlas.shape_um
    corners = np.array([[x, y, z] for x in (0, shape_um[0]) for y in (0, shape_um[1]) for z in (0, shape_um[2])])
    pu, pv = (corners - origin) @ u, (corners - origin) @ v
    i0, i1 = int(np.floor(pu.min() / step)), int(np.ceil(pu.max() / step))
    j0, j1 = int(np.floor(pv.min() / step)), int(np.ceil(pv.max() / step))
    ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij")
    points = origin + (ii[..., None] * step) * u + (jj[..., None] * step) * v
    annotation = atlas.bg.annotation
    res = np.array(atlas.resolution)
    index = np.floor(points.reshape(-1, 3) / res).astype(np.int64)
    inside = ((index >= 0) & (index < np.array(annotation.shape))).all(axis=1)
    ids = np.zeros(len(index), dtype=np.int64)
    ids[inside] = annotation[tuple(index[inside].T)]
    return ids.reshape(ii.shape), i0, j0


def _section(spec: dict, ctx: BuildContext, by_id: dict[int, float], mapping: ColorMapping, missing) -> list:
    section = spec["section"]
    atlas = ctx.atlas
    if "normal" in section and not np.any(section["normal"]):
        raise ctx.fail(("section", "normal"), "the normal is [0, 0, 0]; give a direction such as [1, 0, 0]")
    plane_origin, normal, u, v = plane_frame(section, atlas.shape_um)
    step = min(atlas.resolution)
    # Grid points half a step into the cells, so on named planes they are voxel centres.
    origin = plane_origin + 0.5 * step * (u + v)
    ids, i0, j0 = sample_section(atlas, origin, u, v, step)
    if not ids.any():
        raise ctx.fail(("section",), "the plane misses the brain; choose a position inside the atlas "
                                     f"(0 .. {atlas.shape_um.tolist()} microns along axes a-p, s-i, r-l)")
    # Each annotation id takes the value of its finest valued ancestor (or itself).
    present = np.unique(ids[ids != 0])
    owner = {}
    for sid in present:
        path = [int(p) for p in atlas.bg.structures[int(sid)]["structure_id_path"]]
        owner[int(sid)] = next((p for p in reversed(path) if p in by_id), 0)
    if spec.get("outlines", "smooth") == "smooth":
        smooth = _smooth_section(spec, ctx, by_id, mapping, missing, origin, normal)
        if smooth is not None:
            return smooth
    lookup_ids = np.array(list(owner), dtype=np.int64)
    owners = np.array([owner[int(s)] for s in lookup_ids], dtype=np.int64)
    flat = ids.ravel()
    where = np.searchsorted(lookup_ids, flat)
    valued_owner = np.zeros_like(flat)
    inside = flat != 0
    valued_owner[inside] = owners[where[inside]]
    values = np.full(flat.shape, np.nan)
    has = valued_owner != 0
    values[has] = [by_id[int(o)] for o in valued_owner[has]]
    colors = np.tile(np.asarray(missing, dtype=float), (len(flat), 1))
    finite = np.isfinite(values)
    colors[finite] = mapping.colors(values[finite])

    # One quad per voxel sample, with its own four corners so colours stay crisp.
    nu, nv = ids.shape
    ii, jj = np.meshgrid(np.arange(nu) + i0, np.arange(nv) + j0, indexing="ij")
    cells = np.nonzero(inside)[0]
    centres = origin + (ii.ravel()[cells, None] * step) * u + (jj.ravel()[cells, None] * step) * v
    half = step / 2
    offsets = np.array([-u - v, u - v, u + v, -u + v]) * half
    corners = (centres[:, None, :] + offsets[None]).reshape(-1, 3)
    base = np.arange(len(cells)) * 4
    faces = np.concatenate([np.stack([base, base + 1, base + 2], 1), np.stack([base, base + 2, base + 3], 1)])
    vertex_colors = np.repeat(colors[cells], 4, axis=0)
    where_name = section.get("plane", "section")
    plans: list = [SurfacePlan(name=f"heatmap {where_name}", points=atlas_to_world(corners), faces=faces,
                               color=tuple(missing), alpha=float(spec["alpha"]), vertex_colors=vertex_colors,
                               smooth=False, lit=False, mapping=mapping)]
    if spec["outline_color"] is not None:
        # Outlines between cells of different regions: valued regions as one, others by their own id.
        labels = np.where(valued_owner != 0, valued_owner, flat).reshape(ids.shape)
        segments = boundary_segments(labels, origin, u, v, step, i0, j0)
        # Just in front of and behind the fill, so they show from either side without z-fighting.
        lift = normal * step * 0.05
        both = np.concatenate([segments + lift, segments - lift])
        points = both.reshape(-1, 3)
        lines = np.column_stack([np.full(len(both), 2), np.arange(0, len(points), 2),
                                 np.arange(1, len(points), 2)]).ravel()
        plans.append(LinesPlan(name=f"heatmap {where_name} outlines", points=atlas_to_world(points), lines=lines,
                               color=ctx.color(spec["outline_color"], ("outline_color",)), alpha=float(spec["alpha"]),
                               width=float(spec["outline_width"])))
    return plans


def _cut(atlas, structure_id: int, origin, normal):
    """A region's mesh cut by the plane: (outline polylines, filled polygons) in atlas
    microns, or None where the region has no mesh or the plane misses it."""
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    import pyvista as pv
    from vtkmodules.vtkFiltersGeneral import vtkContourTriangulator

    try:
        points, faces = atlas.region_mesh(structure_id)
    except RegionNotFound:
        return None
    section = pv.PolyData.from_regular_faces(points, faces).slice(normal=tuple(normal), origin=tuple(origin))
    if section.n_points == 0:
        return None
    fill = vtkContourTriangulator()
    fill.SetInputData(section)
    fill.Update()
    return section, pv.wrap(fill.GetOutput())


def _smooth_section(spec: dict, ctx: BuildContext, by_id: dict[int, float], mapping: ColorMapping, missing,
                    origin, normal) -> list | None:
    """The section drawn from the region meshes cut by the plane, as brainglobe-heatmap does:
    the brain's cut in ``missing`` colour, each valued region's cut filled in its colour
    (finer regions over coarser ones), and the outlines of the brain and of the valued
    regions. None when the brain's own mesh is not cut (then: voxels)."""
    atlas = ctx.atlas
    brain = _cut(atlas, atlas.root_id, origin, normal)
    if brain is None:
        return None
    step = min(atlas.resolution)
    where_name = spec["section"].get("plane", "section")
    alpha = float(spec["alpha"])
    depth = {sid: len(atlas.bg.structures[sid]["structure_id_path"]) for sid in by_id}
    layers = [(atlas.root_id, tuple(missing), brain)]
    for sid in sorted(by_id, key=lambda k: depth[k]):
        cut = _cut(atlas, sid, origin, normal)
        if cut is not None:
            value = by_id[sid]
            color = tuple(missing) if math.isnan(value) else tuple(float(c) for c in mapping.colors([value])[0])
            layers.append((sid, color, cut))
    plans: list = []
    lift = normal * step * 0.02  # finer layers a little in front (on both sides), so they show over coarser
    for level, (sid, color, (_, fill)) in enumerate(layers):
        if fill.n_cells == 0:
            continue
        triangles = fill.triangulate()
        faces = triangles.faces.reshape(-1, 4)[:, 1:]
        acronym = atlas.bg.structures[sid]["acronym"]
        for sign in (1, -1) if level else (0,):
            plans.append(SurfacePlan(name=f"heatmap {where_name} {acronym}",
                                     points=atlas_to_world(np.asarray(triangles.points) + sign * level * lift),
                                     faces=np.asarray(faces, dtype=np.int64), color=color, alpha=alpha,
                                     smooth=False, lit=False, mapping=mapping))
    if spec["outline_color"] is not None:
        segments = []
        for _sid, _, cut in layers:  # the brain's outline and the valued regions': a clean figure
            lines = cut[0].lines.reshape(-1, 3)[:, 1:] if cut[0].n_lines else np.empty((0, 2), dtype=int)
            segments.append(np.asarray(cut[0].points)[lines])
        if segments:
            both = np.concatenate(segments)
            top = normal * step * 0.02 * (len(layers) + 1)
            points = np.concatenate([both + top, both - top]).reshape(-1, 3)
            lines = np.column_stack([np.full(len(points) // 2, 2), np.arange(0, len(points), 2),
                                     np.arange(1, len(points), 2)]).ravel()
            plans.append(LinesPlan(name=f"heatmap {where_name} outlines", points=atlas_to_world(points), lines=lines,
                                   color=ctx.color(spec["outline_color"], ("outline_color",)), alpha=alpha,
                                   width=float(spec["outline_width"])))
    return plans


def boundary_segments(labels: np.ndarray, origin, u_axis, v_axis, step: float, i0: int, j0: int) -> np.ndarray:
    """Segments (K, 2, 3) along the cell edges where ``labels`` changes (0 = outside).

    Cell (i, j) spans ``(i0 + i +- 0.5) * step`` along u and likewise along v.
    """
    padded = np.pad(labels, 1)  # so the brain's own edge is outlined too
    # Between (i, j) and (i+1, j) (padded indices): at u = i + 0.5, from v = j - 0.5 to j + 0.5.
    a, b = np.nonzero(padded[:-1, :] != padded[1:, :])
    u: np.ndarray = a - 1 + i0 + 0.5
    v: np.ndarray = b - 1 + j0
    across_u = np.stack([np.stack([u, v - 0.5], -1), np.stack([u, v + 0.5], -1)], 1)
    # Between (i, j) and (i, j+1): at v = j + 0.5, from u = i - 0.5 to i + 0.5.
    a, b = np.nonzero(padded[:, :-1] != padded[:, 1:])
    u = a - 1 + i0
    v = b - 1 + j0 + 0.5
    across_v = np.stack([np.stack([u - 0.5, v], -1), np.stack([u + 0.5, v], -1)], 1)
    uv = np.concatenate([across_u, across_v]).astype(float) * step  # (K, 2 ends, 2 coordinates)
    return origin + uv[..., 0:1] * u_axis + uv[..., 1:2] * v_axis
