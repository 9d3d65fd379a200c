"""``kind: root`` - the whole brain, as the atlas root region's mesh."""

from __future__ import annotations

import numpy as np

from .. import cache
from ..atlas import RegionNotFound
from ..plan import SurfacePlan
from ..spaces import atlas_to_world
from ._context import BuildContext

KIND = "root"


def build(spec: dict, *, ctx: BuildContext) -> list[SurfacePlan]:
    """The root mesh with the spec's colour and alpha."""
    try:
        # once per atlas (and kept on disk), in world coordinates
        points, faces = ctx.atlas.derived_mesh(("root shell", "world"), lambda: _world_shell(ctx.atlas))
    except RegionNotFound as err:
        raise ctx.fail(("kind",), str(err)) from None
    return [SurfacePlan(name="root", points=points, faces=faces,
                      color=ctx.color(spec["color"], ("color",)), alpha=float(spec["alpha"]), **ctx.look(spec))]


def _world_shell(atlas) -> tuple[np.ndarray, np.ndarray]:
    points, faces = _shell(atlas)
    return atlas_to_world(points), faces


def _shell(atlas) -> tuple[np.ndarray, np.ndarray]:
    # The root shares its surface with every cortical region; drawn exactly
    # there, a translucent root z-fights with them (speckled regions). A
    # quarter voxel outwards along the normals keeps it cleanly in front.
    # Made once per atlas and kept on disk (scenerender.cache), named by the
    # root mesh and the offset: a cold process reads it instead of finding
    # the normals again (1-1.4 s for the 25 um Allen root).

    points, faces = atlas.region_mesh(atlas.root_id)
    offset = min(atlas.resolution) / 4
    name = f"rootshell-{SHELL_VERSION}-" + cache.array_digest(points, faces, extra=repr(float(offset)))
    kept_points = cache.load_derived(name + "-points", points.shape, np.float64)
    if kept_points is not None:
        # the faces: the root's own (kept as an empty marker) or, where VTK turned some, kept too
        if cache.load_derived(name + "-samefaces", (0,), np.uint8) is not None:
            return kept_points, np.asarray(faces, dtype=np.int64)
        kept_faces = cache.load_derived(name + "-faces", faces.shape, np.int64)
        if kept_faces is not None:
            return kept_points, kept_faces
    shell_points, shell_faces = _offset_shell(points, faces, offset)
    if shell_points.shape == points.shape and shell_faces.shape == faces.shape:
        if np.array_equal(shell_faces, faces):
            cache.save_derived(name + "-samefaces", np.zeros(0, dtype=np.uint8))
        else:
            cache.save_derived(name + "-faces", shell_faces)
        cache.save_derived(name + "-points", shell_points)  # last: present means complete
    return shell_points, shell_faces


#: Changes when :func:`_offset_shell` does (so a kept shell of an older way is not used).
SHELL_VERSION = 1


def _offset_shell(points: np.ndarray, faces: np.ndarray, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """The mesh moved ``offset`` outwards along its normals (VTK's, oriented outwards)."""
    import pyvista as pv  # lazy: start-up time (validation builds no geometry)

    shell = pv.PolyData.from_regular_faces(points, faces).compute_normals(auto_orient_normals=True)
    moved = np.asarray(shell.points, dtype=np.float64) + shell.point_normals * offset
    return moved, np.asarray(shell.regular_faces, dtype=np.int64)
