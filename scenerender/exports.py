"""Stage 6 for outputs that are not plain pixels: SVG/PDF, glTF and interactive HTML.

Each is written from the scene's live offscreen window (after drawing it
once), to a temporary file in the output's folder, then renamed into place.

* SVG and PDF come from VTK's GL2PS exporter: the 3-D surfaces are a raster
  image inside the file (so translucency, depth and shading look exactly as
  rendered); text overlays (labels, scale bar text) are vector text.
* glTF (``.gltf`` with embedded buffers, ``.glb`` binary) from VTK's glTF
  exporter: the surfaces, lines and points, in atlas microns, turned so
  that superior is +Y as glTF viewers expect. 2-D overlays are not included.
* HTML: the scene serialized for vtk.js (trame-vtk's serializers) inside
  trame-vtk's standalone viewer page: one file, no network needed, rotate and
  zoom in any browser with WebGL. 2-D overlays are not included.
"""

from __future__ import annotations

import io
import json
from html import escape
import os
import tempfile
import zipfile
from pathlib import Path

from .errors import RenderError
from .plan import ScenePlan

from .outputs import EXPORT_FORMATS, GRAPHIC_FORMATS, SCENE_FORMATS  # noqa: F401  (the format table lives in outputs)


def _temporary(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix.lower(), dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return Path(tmp)


def export_scene(plan: ScenePlan, path: Path, *, time: float | None = None, record: dict | None = None) -> Path:
    """Draw ``plan`` (at ``time`` for an animation) and write it as ``path``'s format, atomically;
    then the provenance sidecar, if a ``record`` is given."""
    from .outputs import check_output_path
    from .provenance import publish
    from .renderer import FrameRenderer

    path = Path(path)
    check_output_path(path)
    suffix = path.suffix.lower()
    if plan.panels:
        raise RenderError(f"{path}: a figure with panels is written as an image (.png, .jpg, .tif); "
                          f"{suffix} holds one 3-D view")
    tmp = _temporary(path)
    try:
        with FrameRenderer(plan) as renderer:
            renderer.draw_time(time or 0.0) if plan.timeline is not None else renderer.draw()
            plotter = renderer.plotter
            if suffix in GRAPHIC_FORMATS:
                _write_graphic(plotter, tmp, title=Path(plan.source).stem)
            elif suffix in (".gltf", ".glb"):
                _write_gltf(plotter, tmp, binary=suffix == ".glb", record=record)
            else:
                _write_html(plotter, tmp, title=Path(plan.source).stem)
        if tmp.stat().st_size == 0:
            raise RenderError(f"{path}: the {suffix} exporter wrote nothing")
        publish(path, lambda: os.replace(tmp, path), record)
    except OSError as err:
        raise RenderError(f"{path}: cannot write {suffix}: {err}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_graphic(plotter, tmp: Path, *, title: str) -> None:
    # raster=True: 3-D props as one image, as rendered (translucency, depth,
    # lighting); 2-D text stays vector text on top.
    plotter.save_graphic(str(tmp), title=title, raster=True, painter=True)


def _write_gltf(plotter, tmp: Path, *, binary: bool, record: dict | None) -> None:
    from vtkmodules.vtkIOExport import vtkGLTFExporter

    turned = []
    for actor in plotter.renderer.actors.values():
        if hasattr(actor, "RotateX"):  # 3-D props only; overlays are 2-D
            actor.RotateX(180)  # world y points inferior; glTF's +Y is up: superior up, still right-handed
            turned.append(actor)
    exporter = vtkGLTFExporter()
    exporter.SetRenderWindow(plotter.render_window)
    exporter.InlineDataOn()
    exporter.SaveNormalOn()
    exporter.SetFileName(str(tmp))
    exporter.Write()
    for actor in turned:
        actor.RotateX(-180)
    import pygltflib

    gltf = pygltflib.GLTF2.load_json(str(tmp))  # VTK writes JSON whatever the name
    gltf.asset.generator = "scenerender (VTK glTF exporter)"
    if record is not None:
        gltf.asset.extras = {"scenerender": record}
    if binary:
        _one_binary_buffer(gltf)
        gltf.save_binary(str(tmp))
    else:
        gltf.save_json(str(tmp))


def _write_html(plotter, tmp: Path, *, title: str) -> None:
    from trame_vtk.modules.vtk.serializers import (SynchronizationContext, extract_array_hash,
                                                   initialize_serializers, serialize)
    from trame_vtk.modules.vtk.serializers.utils import reference_id
    from trame_vtk.tools.vtksz2html import write_html
    from vtkmodules.vtkWebCore import vtkWebApplication

    window = plotter.render_window
    initialize_serializers()
    context = SynchronizationContext()
    context.set_ignore_last_dependencies(True)  # a full state, not a diff against a client
    window_id = vtkWebApplication().GetObjectIdMap().GetGlobalId(window)
    view = serialize(None, window, window_id, context, 1)
    camera = plotter.renderer.GetActiveCamera()
    view["extra"] = {"vtkRefId": reference_id(window), "centerOfRotation": camera.GetFocalPoint(),
                     "camera": reference_id(camera)}
    arrays = {}
    for entry in extract_array_hash(view):
        arrays[entry["hash"]] = dict(**entry, content=context.get_cached_data_array(entry["hash"], False))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zfile:
        zfile.writestr("index.json", json.dumps({"hashes": arrays, "scene": view}))
    page = io.StringIO()
    write_html(archive.getvalue(), page)
    html = page.getvalue()
    if "<title>" in html:
        start, end = html.index("<title>") + len("<title>"), html.index("</title>")
        html = html[:start] + escape(title) + html[end:]
    tmp.write_text(html, encoding="utf-8")


def _one_binary_buffer(gltf) -> None:
    """Move VTK's embedded (base64) buffers into the single binary chunk a GLB holds."""
    import base64

    import pygltflib

    blob = bytearray()
    starts = []
    for buffer in gltf.buffers:
        data = base64.b64decode(buffer.uri.split(",", 1)[1])
        blob.extend(b"\0" * (-len(blob) % 4))  # glTF: buffer views 4-byte aligned
        starts.append(len(blob))
        blob.extend(data)
    for view in gltf.bufferViews:
        view.byteOffset = (view.byteOffset or 0) + starts[view.buffer]
        view.buffer = 0
    gltf.buffers = [pygltflib.Buffer(byteLength=len(blob))]
    gltf.set_binary_blob(bytes(blob))
