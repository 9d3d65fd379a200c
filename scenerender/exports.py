"""Stage 6 for outputs that are not plain pixels: SVG/PDF, glTF and interactive HTML.

Each is written from the scene's live offscreen window (after drawing it
once), to a temporary file in the output's folder, then renamed into place.

* SVG and PDF: the 3-D scene is a raster image inside the file (so
  translucency, depth and shading look exactly as rendered), under the flat
  overlays drawn by matplotlib as in a PNG (:mod:`scenerender.overlays`), as
  vector marks and real text (TrueType fonts embedded in the PDF).
* glTF (``.gltf`` with embedded buffers, ``.glb`` binary) from VTK's glTF
  exporter: the surfaces, lines and points, in atlas microns, turned so
  that superior is +Y as glTF viewers expect. 2-D overlays are not included.
* HTML: the scene serialized for vtk.js (trame-vtk's serializers) inside
  trame-vtk's standalone viewer page: one file, no network needed, rotate and
  zoom in any browser with WebGL. 2-D overlays are not included.
"""

from __future__ import annotations

import base64
import io
import json
from html import escape
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import RenderError
from .overlays import PAINTED, drawing
from .paths import check_output_folder
from .plan import ScenePlan, color_mapping_of
from .provenance import publish
from .renderer import FrameRenderer

#: Vector-graphics formats (a raster image of the 3-D scene inside, vector text).
GRAPHIC_FORMATS = (".svg", ".pdf")
#: 3-D scene formats.
SCENE_FORMATS = (".gltf", ".glb", ".html")
#: Every extension this module writes (the output stage, :mod:`scenerender.outputs`, chooses it by these).
EXPORT_FORMATS = GRAPHIC_FORMATS + SCENE_FORMATS


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
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise RenderError(f"{path}: cannot export {suffix or 'a name without an extension'}; "
                          f"use one of {', '.join(EXPORT_FORMATS)} (scenerender.outputs.write_output writes "
                          "every format)")
    check_output_folder(path)
    if plan.panels:
        raise RenderError(f"{path}: a figure with panels is written as an image (.png, .jpg, .tif); "
                          f"{suffix} holds one 3-D view")
    tmp = _temporary(path)
    renderer: FrameRenderer | None
    try:
        with FrameRenderer(plan, keep_window=False) as renderer:  # exporters change the window
            if suffix in GRAPHIC_FORMATS:
                _write_graphic(renderer, tmp, time=time, title=Path(plan.source).stem)
                renderer = None
            else:
                renderer.draw_time(time or 0.0) if plan.timeline is not None else renderer.draw()
            plotter = renderer.plotter if renderer is not None else None
            if plotter is None:
                pass
            elif suffix in (".gltf", ".glb"):
                _write_gltf(plotter, tmp, binary=suffix == ".glb", record=record, names=_prop_names(renderer))
            else:
                _mapped_ranges(renderer)
                _write_html(plotter, tmp, title=Path(plan.source).stem)
        if tmp.stat().st_size == 0:
            raise RenderError(f"{path}: the {suffix} exporter wrote nothing")
        publish(path, lambda: os.replace(tmp, path), record)
    except OSError as err:
        raise RenderError(f"{path}: cannot write {suffix}: {err}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_graphic(renderer, tmp: Path, *, time: float | None, title: str) -> None:
    """The 3-D scene as rendered (a raster image) under the overlays drawn by matplotlib
    as vector marks and real text: fonts embedded in a PDF, <text> in an SVG."""
    # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    plan = renderer.plan
    timeline = plan.timeline
    camera = timeline.camera_at(time or 0.0) if timeline is not None else plan.camera
    states = dict(timeline.states_at(time or 0.0)) if timeline is not None else {}
    visible = {i for i, actor in enumerate(plan.actors)
               if isinstance(actor, PAINTED) and states.get(i, {}).get("visible", True)}
    for index in visible:
        states[index] = {**states.get(index, {}), "visible": False}
    image = renderer.draw(camera, states)  # the 3-D scene alone
    painter = renderer.overlays
    with drawing():
        fig, ax = painter.figure(image)
        painter.draw(ax, camera, visible, image)
        canvas = (FigureCanvasPdf if tmp.suffix == ".pdf" else FigureCanvasSVG)(fig)
        metadata = {"Title": title, "Creator": "scenerender"} if tmp.suffix == ".pdf" else {"Title": title}
        canvas.print_figure(str(tmp), dpi=72, format=tmp.suffix[1:], metadata=metadata)


def _prop_names(renderer) -> dict[int, str]:
    """VTK prop address -> the name of the plan it draws (a silhouette: "<name> outline")."""
    names = {}
    for index, actor in enumerate(renderer.actors):
        plan = renderer.plan.actors[index]
        label = plan.name if plan.group.startswith("actors[") or plan.group in plan.name else f"{plan.group}: {plan.name}"
        if hasattr(actor, "GetAddressAsString"):
            names[actor.GetAddressAsString("vtkObject")] = label
        if index in renderer.silhouettes:
            names[renderer.silhouettes[index].GetAddressAsString("vtkObject")] = f"{label} outline"
    return names


def _exported_props(plotter) -> list:
    """The props VTK's glTF exporter writes, in its order: visible actors with polygon data."""
    props = plotter.renderer.GetViewProps()
    out = []
    for i in range(props.GetNumberOfItems()):
        prop = props.GetItemAsObject(i)
        if prop.IsA("vtkActor") and prop.GetVisibility() and prop.GetMapper() is not None:
            out.append(prop)
    return out


def _write_gltf(plotter, tmp: Path, *, binary: bool, record: dict | None, names: dict | None = None) -> None:
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
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
    _name_nodes(gltf, plotter, names or {})
    if record is not None:
        gltf.asset.extras = {"scenerender": record}
    if binary:
        _one_binary_buffer(gltf)
        gltf.save_binary(str(tmp))
    else:
        gltf.save_json(str(tmp))


def _name_nodes(gltf, plotter, names: dict) -> None:
    """Name the exporter's ``meshN`` nodes and meshes after the regions and actors they draw.

    Each exported mesh is matched to its prop by order and checked by its vertex count."""
    props = _exported_props(plotter)
    meshes = [node for node in gltf.nodes if node.mesh is not None]
    if len(props) != len(meshes):
        return  # not the layout expected: keep VTK's names rather than guess
    for node, prop in zip(meshes, props):
        mesh = gltf.meshes[node.mesh]
        count = sum(gltf.accessors[p.attributes.POSITION].count for p in mesh.primitives
                    if p.attributes.POSITION is not None)
        data = prop.GetMapper().GetInput()
        if data is None or data.GetNumberOfPoints() != count:
            continue
        name = names.get(prop.GetAddressAsString("vtkObject"))
        if name:
            node.name = mesh.name = name
    for node in gltf.nodes:
        if node.name == "Renderer Node":
            node.name = "scene"


def _mapped_ranges(renderer) -> None:
    """Give every value-coloured actor's mapper the data range and colour map of its values, so
    a viewer's colour bar reads them (not the 0-255 of stored RGB colours or a point count)."""
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
    from vtkmodules.vtkCommonCore import vtkLookupTable

    for index, actor in enumerate(renderer.actors):
        mapping = color_mapping_of(renderer.plan.actors[index])
        mapper = actor.GetMapper() if hasattr(actor, "GetMapper") else None
        if mapping is None or mapper is None:
            continue
        lut = vtkLookupTable()
        lut.SetNumberOfTableValues(256)
        lut.SetRange(mapping.vmin, mapping.vmax)
        lut.Build()
        values = mapping.vmin + (np.arange(256) + 0.5) / 256 * (mapping.vmax - mapping.vmin)
        for i, rgb in enumerate(mapping.colors(values)):
            r, g, b = rgb
            lut.SetTableValue(i, r, g, b, 1.0)
        if not mapper.GetScalarVisibility() or (mapper.GetColorMode() != 1 and _direct_rgb(mapper)):
            mapper.SetLookupTable(lut)  # shown colours stay as they are (solid, or direct RGB)
        else:
            mapper.GetLookupTable().SetRange(mapping.vmin, mapping.vmax)
        mapper.SetScalarRange(mapping.vmin, mapping.vmax)
        mapper.UseLookupTableScalarRangeOff()


def _direct_rgb(mapper) -> bool:
    data = mapper.GetInput()
    scalars = data.GetPointData().GetScalars() if data is not None else None
    return scalars is not None and scalars.GetDataType() == 3  # VTK_UNSIGNED_CHAR: stored RGB


def _write_html(plotter, tmp: Path, *, title: str) -> None:
    # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
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
    import pygltflib  # lazy: only glTF/GLB exports need it

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
