"""The Python API: render a scene to an image, a video or an export, and validate one.

``scenerender/__init__.py`` re-exports these names lazily; code inside the
package imports them from here (nothing imports the package's ``__init__``).
"""

from __future__ import annotations

import math
from pathlib import Path

from .document import SceneDocument, read_scene
from .errors import Problem, Problems, RenderError, SceneError
from .images import RenderedImage
from .plan import ScenePlan
from .provenance import record_for, render_options
from .sweep import check_item, expand_sweep, has_sweep
from .validate import problems_in
from .actors import registered_actors as _registered
from .compile import compile_scene, load_scene
from .fetch.client import cache_only
from .outputs import check_output_path, write_output
from .renderer import render_plan


def registered_actors():
    """Actor kind -> module implementing it (``KIND``, ``build``)."""
    return _registered()


def render(scene, output: str | Path | None = None, *, size: tuple[int, int] | None = None,
           scale: int | None = None, time: float | None = None):
    """Render a scene and return the image as a numpy array.

    Parameters
    ----------
    scene : str, Path, dict, Scene or ScenePlan
        A scene file, YAML text, a dict, a :class:`Scene` (or what
        :func:`load_scene` returns) or a compiled plan.
    output : str or Path, optional
        Also write the image here (format from the extension: an image, .svg/.pdf,
        .gltf/.glb or an interactive .html), atomically,
        with its provenance record (inside PNG/TIFF, and the sidecar
        ``<output>.scenerender.json``).
    size : (width, height), optional
        Override ``render.size``.
    scale : int, optional
        Override ``render.scale``: draw at ``scale`` times the size (print).
    time : float, optional
        For an animated scene, the time (seconds) of the frame to draw;
        default its first frame. Use :func:`render_video` for all frames.

    Returns
    -------
    RenderedImage
        A numpy array, ``(height, width, 3)`` RGB or RGBA for a transparent
        background, that shows itself as the image in a notebook.
    """
    # lazy (start-up time): compiling and rendering load VTK; ``import scenerender`` and validation must not

    if time is not None and not (math.isfinite(time) and time >= 0):
        raise RenderError(f"time {time} is not a time; give seconds from 0")
    if output is not None:
        check_output_path(Path(output))
    plan = scene if isinstance(scene, ScenePlan) else compile_scene(scene, size=size, scale=scale)
    image = render_plan(plan, time=time)
    if output is not None:
        record = _record(plan, output, size=size, scale=scale, time=time, call="render")
        write_output(plan, Path(output), time=time, record=record, image=image)
    return image.view(RenderedImage)


def _record(plan, output, *, size, scale=None, time=None, call: str) -> dict | None:
    """The provenance record of a Python API call, or ``None`` for a plan built by hand."""
    if plan.scene is None:
        return None
    command = [f"scenerender.{call}", plan.scene.file, str(output)]
    return record_for(plan.scene, Path(output), command=command,
                      options=render_options(output=Path(output), size=size, scale=scale, time=time))


def render_video(scene, output: str | Path, *, size: tuple[int, int] | None = None, jobs: int = 1,
                 progress: bool = False) -> Path:
    """Render every frame of an animated scene to a video (.mp4, .webm, .gif)
    or a folder of numbered PNG frames, in ``jobs`` worker processes.

    Frame ``i`` shows time ``i / fps``; see the scene reference for which
    frames an animation has. The sidecar ``<output>.scenerender.json``
    records how it was made. Returns the output path.
    """
    # lazy (start-up time), as in render()

    plan = scene if isinstance(scene, ScenePlan) else compile_scene(scene, size=size)
    if plan.timeline is None:
        raise RenderError("this scene has no 'animation:' section; use render() for a still image")
    record = _record(plan, output, size=size, call="render_video")
    return write_output(plan, Path(output), animation=True, jobs=jobs, progress=progress, record=record).path


def validate_scene(source, *, resolve: bool = False) -> Problems:
    """Validate a scene (path, YAML text, dict or document) without rendering.

    Parameters
    ----------
    source : str, Path, dict or SceneDocument
        The scene.
    resolve : bool
        Also do everything a render does short of drawing, as ``scenerender
        validate`` does: open the atlas, look up regions and colours, read
        every data source, check spaces, camera and animation. Default: the
        schema only (fast; no atlas, no data). Never uses the network: a
        public data source (fetched by name) is checked from the cache or its
        bundle, or, when not fetched yet, up to its query (no problem, a note).

    Returns
    -------
    Problems
        A list of :class:`~scenerender.errors.Problem`, empty when the scene
        is valid (YAML syntax errors are returned as a single problem too).
        Its ``notes`` attribute lists, as located problems that are not
        errors, the public data sources not fetched yet (checked up to their
        query; a render fetches them): the ``note:`` lines of ``scenerender
        validate``. Empty without ``resolve``.
    """
    notes: list[Problem] = []
    try:
        doc = read_scene(source)
        if has_sweep(doc):  # every render of a sweep must be valid
            problems: list[Problem] = []
            for item in expand_sweep(doc):
                try:
                    check_item(item, swept=True)
                    if resolve:
                        _resolve(doc, item.name, notes)
                except SceneError as err:
                    problems += [p for p in err.problems if p not in problems]
            return Problems(problems, notes)
    except SceneError as err:
        return Problems(err.problems)
    problems = problems_in(doc)
    if problems or not resolve:
        return Problems(problems)
    try:
        _resolve(doc, None, notes)
    except SceneError as err:
        return Problems(err.problems, notes)
    return Problems([], notes)


def _resolve(doc: SceneDocument, item: str | None, notes: list[Problem]) -> None:
    # lazy (start-up time): schema-only validation loads no atlas and no fetch client

    with cache_only() as found:  # validation never fetches: public data not cached yet are checked up to their query
        try:
            compile_scene(load_scene(doc, item=item), check_unused_sources=True)
        finally:
            notes += [n for n in found if n not in notes]


