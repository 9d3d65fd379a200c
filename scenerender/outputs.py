"""The output stage: which file a render becomes, chosen by its extension, in one place.

The format table below is assembled from the writers, each of which declares
the extensions it writes:

======================  ==========================================  =========================
kind                    extensions                                  writer
======================  ==========================================  =========================
image                   .png .jpg .jpeg .tif .tiff                  :func:`images.write_image`
export (graphics)       .svg .pdf                                   :func:`exports.export_scene`
export (3-D scene)      .gltf .glb .html                            :func:`exports.export_scene`
video (an animation)    .mp4 .m4v .webm .gif                        :func:`frames.render_animation`
frames (an animation)   a folder: a name without an extension       :func:`frames.render_animation`
======================  ==========================================  =========================

:func:`write_output` is what the Python API (:mod:`scenerender.api`), the
command line (``scenerender render``) and batches (:mod:`scenerender.batch`)
call. Every writer writes to a temporary name and renames it into place, then
writes the provenance sidecar (``<output>.scenerender.json``) if given a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import RenderError
from .exports import EXPORT_FORMATS, GRAPHIC_FORMATS, SCENE_FORMATS, export_scene
from .frames import render_animation
from .images import IMAGE_FORMATS, write_image
from .paths import check_output_folder
from .plan import ScenePlan
from .renderer import render_plan
from .video import VIDEO_FORMATS, video_format

__all__ = ["IMAGE_FORMATS", "GRAPHIC_FORMATS", "SCENE_FORMATS", "EXPORT_FORMATS", "VIDEO_FORMATS", "STILL_FORMATS",
           "Written", "check_output_path", "check_video_path", "write_output"]

#: Every extension a still render (one picture or one 3-D view) may be written as.
STILL_FORMATS = IMAGE_FORMATS + EXPORT_FORMATS


def check_output_path(path: Path) -> None:
    """Fail before rendering if a still output cannot be written: an unknown extension or a missing folder."""
    path = Path(path)
    if path.suffix.lower() not in STILL_FORMATS:
        raise RenderError(f"{path}: cannot write {path.suffix or 'files without an extension'}; "
                          f"use one of {', '.join(STILL_FORMATS)}")
    check_output_folder(path)


def check_video_path(path: Path) -> None:
    """Fail before rendering if an animation cannot be written as ``path`` (a video or a frames folder)."""
    video_format(Path(path))


@dataclass(frozen=True)
class Written:
    """What :func:`write_output` wrote: ``kind`` is ``"image"``, ``"export"`` or ``"animation"``
    (a video or a folder of frames); ``image`` is the picture of an image output."""

    path: Path
    kind: str
    image: np.ndarray | None = None


def write_output(plan: ScenePlan, path: Path, *, animation: bool | None = False, time: float | None = None,
                 record: dict | None = None, image: np.ndarray | None = None, jobs: int = 1,
                 progress: bool = False) -> Written:
    """Render ``plan`` into ``path`` in the format its extension names, atomically, with its provenance.

    Parameters
    ----------
    plan : ScenePlan
        The compiled scene.
    path : Path
        The output; its extension chooses the writer (see the table above).
    animation : bool or None
        ``True``: every frame of the animation, as a video or a folder of PNG
        frames. ``False``: one still (the frame at ``time`` for an animated
        scene). ``None``: every frame when the plan is animated, unless the
        output is an export (a 3-D scene or vector graphics: its first frame).
    time : float, optional
        For a still of an animated scene, the time of its frame.
    record : dict, optional
        The provenance record (embedded in PNG/TIFF/glTF, and the sidecar).
    image : ndarray, optional
        The picture already rendered (an image output then only writes it).
    jobs, progress
        For an animation: worker processes, and a progress bar.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if animation is None:
        animation = plan.timeline is not None and suffix not in EXPORT_FORMATS
    if animation:
        if plan.timeline is None:
            raise RenderError("this scene has no 'animation:' section; use render() for a still image")
        return Written(render_animation(plan, path, jobs=jobs, progress=progress, record=record), "animation")
    check_output_path(path)
    if suffix in EXPORT_FORMATS:
        return Written(export_scene(plan, path, time=time, record=record), "export")
    if image is None:
        image = render_plan(plan, time=time)
    return Written(write_image(image, path, record=record), "image", image)
