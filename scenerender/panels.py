"""Multi-panel figures: the ``panels:`` layout, compiled to one plan per panel.

Each panel is an ordinary :class:`~scenerender.plan.ScenePlan` drawn at its
cell's size (so presets frame the brain for the cell's shape, and scale bars
are true in each panel); the renderer draws them one by one and places them
on a shared background. Panel letters are drawn by each panel's renderer, at
the panel's scale, like any other 2-D overlay.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, replace
from typing import Callable

from .errors import SceneError
from .plan import CameraPlan, LetterPlan, ScenePlan
from .colors import parse_color

MIN_CELL = 16  # pixels: the smallest image VTK draws here (as render.size)


@dataclass(frozen=True)
class PanelPlan:
    """One panel: its plan (drawn at ``plan.render.size``) and where it goes.

    ``origin`` is the (x, y) of its top-left pixel in the figure, in output pixels.
    """

    plan: ScenePlan
    origin: tuple[int, int]
    letter: str


def grid_shape(doc, panels: dict) -> tuple[int, int]:
    """(rows, columns) of the layout; a located error when the panels do not fit."""
    n = len(panels["items"])
    columns = panels.get("columns") or (n if "rows" not in panels else math.ceil(n / panels["rows"]))
    rows = panels.get("rows") or math.ceil(n / columns)
    if rows * columns < n:
        where = ("panels", "rows") if "rows" in panels else ("panels", "columns")
        raise SceneError(doc.problem(where, f"{rows} rows x {columns} columns hold {rows * columns} panels, "
                                            f"not the {n} in panels.items; add rows or columns"))
    return rows, columns


def cell_size(doc, figure: tuple[int, int], shape: tuple[int, int], gap: int) -> tuple[int, int]:
    """The size of one panel at scale 1, from the figure's size, the grid and the gap."""
    (width, height), (rows, columns) = figure, shape
    cell = ((width - gap * (columns - 1)) // columns, (height - gap * (rows - 1)) // rows)
    if min(cell) < MIN_CELL:
        raise SceneError(doc.problem(("panels",), f"render.size {width}x{height} split into {rows} x {columns} panels "
                                                  f"with gap {gap} leaves {cell[0]}x{cell[1]} pixels a panel; at "
                                                  f"least {MIN_CELL}x{MIN_CELL}: enlarge render.size or use fewer "
                                                  "panels or a smaller gap"))
    return cell


def select_actors(doc, where: tuple, wanted: list, spec_actors: list[dict], plans: tuple) -> tuple:
    """The actor plans of the scene actors named in ``wanted`` (ids or indices)."""
    ids = [a.get("id", f"actors[{i}]") for i, a in enumerate(spec_actors)]
    groups = set()
    for j, name in enumerate(wanted):
        if isinstance(name, int):
            if name >= len(ids):
                raise SceneError(doc.problem((*where, j), f"there is no actors[{name}]; the scene has "
                                                          f"{len(ids)} actors (0..{len(ids) - 1})"))
            groups.add(ids[name])
        elif name in ids:
            groups.add(name)
        else:
            named = [i for i, a in zip(ids, spec_actors) if "id" in a]
            hint = f"actor ids are {', '.join(named)}" if named else "no actor has an 'id'; give one, or use an index"
            raise SceneError(doc.problem((*where, j), f"no actor with id {name!r}; {hint}"))
    return tuple(p for p in plans if p.group in groups)


def compile_panels(scene, base: ScenePlan, *, figure: tuple[int, int], camera_for: Callable[..., CameraPlan],
                   compile_other: Callable) -> tuple[PanelPlan, ...]:
    """One :class:`PanelPlan` per item of ``scene.spec['panels']``.

    ``base`` is the whole scene compiled at the figure's size; ``camera_for(spec, aspect)``
    makes a camera for this scene's atlas; ``compile_other(path, size, camera)``
    compiles another scene file for a panel.
    """
    doc, layout = scene.doc, scene.spec["panels"]
    if "animation" in scene.spec:
        raise SceneError(doc.problem(("panels",), "a figure with panels cannot also be animated; "
                                                  "render the panels and the animation from two scene files"))
    scale = base.render.scale
    shape = grid_shape(doc, layout)
    gap = layout["gap"]
    cell = cell_size(doc, figure, shape, gap)
    rows, columns = shape
    left = (figure[0] - columns * cell[0] - (columns - 1) * gap) // 2  # centre the grid: leftover pixels
    top = (figure[1] - rows * cell[1] - (rows - 1) * gap) // 2         # from the integer split go around it
    settings = replace(base.render, size=(cell[0] * scale, cell[1] * scale))
    letters = iter(string.ascii_uppercase)

    letter_color = parse_color(layout["letter_color"],
                               lambda msg: SceneError(doc.problem(("panels", "letter_color"), msg)))
    out = []
    for index, item in enumerate(layout["items"]):
        where = ("panels", "items", index)
        letter = item.get("letter", next(letters) if layout["letters"] else "")
        if "scene" in item:
            plan = compile_other(item["scene"], where, cell, item.get("camera"))
            spec_actors = plan.scene.spec["actors"]
            plan = replace(plan, render=settings)
        else:
            camera = camera_for(item["camera"], cell[0] / cell[1]) if "camera" in item else \
                camera_for(scene.spec["camera"], cell[0] / cell[1])
            plan = replace(base, camera=camera, render=settings, output=None)
            spec_actors = scene.spec["actors"]
        actors = plan.actors
        if "actors" in item:
            actors = select_actors(doc, (*where, "actors"), item["actors"], spec_actors, actors)
        if letter:
            actors = (*actors, LetterPlan(name=f"panel letter {letter}", text=letter, size=layout["letter_size"],
                                          color=letter_color, group="panels"))
        row, column = divmod(index, columns)
        origin = ((left + column * (cell[0] + gap)) * scale, (top + row * (cell[1] + gap)) * scale)
        out.append(PanelPlan(plan=replace(plan, actors=actors, panels=()), origin=origin, letter=letter))
    return tuple(out)
