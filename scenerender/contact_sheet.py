"""A contact sheet of an atlas's region meshes (``scenerender atlas inspect``).

One small offscreen render per region, in its atlas colour, framed on the
region from a camera preset, laid out in a grid with the region's acronym
under each cell. Every cell is an ordinary one-actor :class:`ScenePlan`
drawn by :func:`scenerender.renderer.render_plan`, so the sheet looks
exactly like scenes do.
"""

from __future__ import annotations

import math

import numpy as np

from .atlas import SceneAtlas
from .camera import preset_camera
from .plan import RenderSettings, ScenePlan, SurfacePlan
from .renderer import render_plan
from .spaces import atlas_to_world

#: Cells are white; regions whose colour is near white (e.g. an Allen root)
#: are drawn in this grey instead so they show.
PALE_REGION = (0.72, 0.72, 0.72)
LABEL_PX = 22


def has_mesh(atlas: SceneAtlas, structure_id: int) -> bool:
    from pathlib import Path

    return Path(atlas.bg.meshfile_from_structure(structure_id)).exists()


def default_regions(atlas: SceneAtlas, count: int = 12) -> list[int]:
    """About ``count`` regions that together show the atlas's top levels.

    Starting from the root, the largest region (by voxels, its own and its
    descendants') that has meshed children is replaced by those children,
    until there are ``count`` regions or nothing left to split: for the
    Allen mouse this gives the cerebrum's and brain stem's main parts and
    the cerebellum rather than ventricles and fibre tracts.
    """
    bg = atlas.bg
    labels, counts = np.unique(np.asarray(bg.annotation), return_counts=True)
    own = dict(zip(labels.tolist(), counts.tolist()))
    size: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    for s in bg.structures.values():
        path = [int(p) for p in s["structure_id_path"]]
        for p in path:
            size[p] = size.get(p, 0) + own.get(int(s["id"]), 0)
        if len(path) > 1:
            children.setdefault(path[-2], []).append(path[-1])
    meshed = {sid for sid in size if size[sid] > 0 and has_mesh(atlas, sid)}
    frontier = [atlas.root_id] if atlas.root_id in meshed else []
    while len(frontier) < count:
        splittable = [sid for sid in frontier if [c for c in children.get(sid, []) if c in meshed]]
        if not splittable:
            break
        big = max(splittable, key=lambda sid: size[sid])
        kids = sorted((c for c in children[big] if c in meshed), key=lambda c: -size[c])
        if len(frontier) - 1 + len(kids) > count and len(frontier) > 1:
            break
        frontier.remove(big)
        frontier.extend(kids)
    return sorted(frontier, key=lambda sid: -size[sid])[:count]


def grid_shape(n: int, size: tuple[int, int]) -> tuple[int, int]:
    """(columns, rows) for ``n`` cells as close to square as the image allows."""
    width, height = size
    columns = max(1, min(n, round(math.sqrt(n * width / height))))
    rows = math.ceil(n / columns)
    while columns > 1 and math.ceil(n / (columns - 1)) == rows:
        columns -= 1
    return columns, rows


def _cell(atlas: SceneAtlas, structure_id: int, size: tuple[int, int], preset: str) -> np.ndarray:
    points, faces = atlas.region_mesh(structure_id)
    world = atlas_to_world(points)
    struct = atlas.bg.structures[structure_id]
    rgb = tuple(c / 255.0 for c in struct["rgb_triplet"])
    if min(rgb) > 0.9:
        rgb = PALE_REGION
    surface = SurfacePlan(name=f"region {struct['acronym']}", points=world, faces=faces, color=rgb, alpha=1.0)
    camera = preset_camera(preset, world, aspect=size[0] / size[1], view_angle=30.0, zoom=1.0, orthographic=False)
    plan = ScenePlan(source="<contact sheet>", atlas_name=atlas.name, actors=(surface,), camera=camera,
                     render=RenderSettings(size=size, background=(1.0, 1.0, 1.0), anti_aliasing="msaa"))
    return render_plan(plan)


def _font(px: int):
    # lazy: start-up time (Pillow; only this step needs it)
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow < 10.1: one small bitmap font
        return ImageFont.load_default()


def contact_sheet(atlas: SceneAtlas, regions: list[int], *, size: tuple[int, int] = (1600, 1200),
                  preset: str = "three_quarters", title: str | None = None) -> np.ndarray:
    """An RGB image (height, width, 3) of ``regions`` in a grid.

    Raises
    ------
    RegionNotFound
        When a listed region has no mesh (from :meth:`SceneAtlas.region_mesh`).
    """
    # lazy: start-up time (Pillow; only this step needs it)
    from PIL import Image, ImageDraw

    width, height = size
    header = LABEL_PX + 8 if title else 0
    columns, rows = grid_shape(len(regions), (width, height - header))
    cell_w, cell_h = width // columns, (height - header) // rows
    label_h = min(LABEL_PX + 6, cell_h // 4)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = _font(max(8, label_h - 6))
    if title:
        draw.text((8, 4), title, fill=(0, 0, 0), font=_font(LABEL_PX))
    for index, sid in enumerate(regions):
        col, row = index % columns, index // columns
        x, y = col * cell_w, header + row * cell_h
        image = _cell(atlas, sid, (max(16, cell_w - 4), max(16, cell_h - label_h - 4)), preset)
        sheet.paste(Image.fromarray(image[..., :3]), (x + 2, y + 2))
        acronym = atlas.bg.structures[sid]["acronym"]
        draw.text((x + cell_w // 2, y + cell_h - label_h // 2 - 1), acronym, fill=(0, 0, 0), font=font, anchor="mm")
        draw.rectangle((x, y, x + cell_w - 1, y + cell_h - 1), outline=(220, 220, 220))
    return np.asarray(sheet)


__all__ = ["contact_sheet", "default_regions", "grid_shape"]
