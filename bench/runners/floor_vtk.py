"""The floor: draw one benchmark case with VTK alone, to a PNG.

    .venv/bin/python bench/runners/floor_vtk.py CASE.json OUT.png

What VTK itself needs to draw the same geometry, with no scene handling and
no wrapper library: brainglobe-atlasapi opens the atlas and gives the meshes
(any tool drawing a BrainGlobe atlas pays for that), numpy arrays become
``vtkPolyData``, one ``vtkRenderer`` in an offscreen ``vtkRenderWindow`` of
the case's size, one ``Render()``, ``vtkWindowToImageFilter`` and
``vtkPNGWriter``. Only the ``vtkmodules`` actually used are imported (not
``import vtk``, not pyvista). Runs in scenerender's environment; imports
nothing from scenerender except the atlasapi 3.0.2 terminology workaround
(``scenerender/_bgcompat.py``, by path).

Drawing: meshes with point normals (``vtkPolyDataNormals``, smooth shading),
translucent ones with plain alpha blending, VTK's default window
multi-sampling and lighting, no depth peeling; points as sphere impostors
(``vtkPointGaussianMapper``, radius in microns, pyvista's sphere splat
shader); a neuron as ``vtkTubeFilter`` tubes (8 sides) around its
parent-child segments plus a sphere soma.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FLIP, Phases, headless, install_terminology_reader, swc_segments  # noqa: E402

SPHERE_SPLAT = """//VTK::Color::Impl
float dist = dot(offsetVCVSOutput.xy,offsetVCVSOutput.xy);
if (dist > 1.0) {
  discard;
} else {
  float scale = (1.0 - dist);
  ambientColor *= scale;
  diffuseColor *= scale;
}
"""

def rgb(color):
    """'#rrggbb' (as compare.py writes every colour) or 0-1 floats -> 0-1 floats."""
    if isinstance(color, str):
        return tuple(int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return tuple(color)


def main(case_path: str, out: str) -> int:
    phases = Phases(_T0)
    headless()
    case = json.loads(Path(case_path).read_text())
    install_terminology_reader(case["bgcompat"])

    import numpy as np
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the OpenGL implementations)
    from brainglobe_atlasapi import BrainGlobeAtlas
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
    from vtkmodules.vtkFiltersCore import vtkPolyDataNormals, vtkTubeFilter
    from vtkmodules.vtkFiltersSources import vtkSphereSource
    from vtkmodules.vtkIOImage import vtkPNGWriter
    from vtkmodules.vtkRenderingCore import (
        vtkActor,
        vtkPolyDataMapper,
        vtkRenderer,
        vtkRenderWindow,
        vtkWindowToImageFilter,
    )
    from vtkmodules.vtkRenderingOpenGL2 import vtkOpenGLPointGaussianMapper

    phases.mark("imports")
    atlas = BrainGlobeAtlas(case["atlas_name"], brainglobe_dir=case["brainglobe_dir"], check_latest=False)
    renderer = vtkRenderer()
    renderer.SetBackground(*rgb(case["background"]))
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(*case["size"])
    window.AddRenderer(renderer)
    phases.mark("scene")

    keep = []  # numpy buffers shared with VTK must outlive the render

    def polydata(points, cells, kind: str):
        points = np.ascontiguousarray(np.asarray(points, dtype=float) * FLIP)
        cells = np.ascontiguousarray(cells, dtype=np.int64)
        keep.extend([points, cells])
        vtk_points = vtkPoints()
        vtk_points.SetData(numpy_to_vtk(points))
        poly = vtkPolyData()
        poly.SetPoints(vtk_points)
        if cells.size:
            offsets = np.arange(0, cells.size + 1, cells.shape[1], dtype=np.int64)
            flat = cells.ravel()
            keep.extend([offsets, flat])
            array = vtkCellArray()
            array.SetData(numpy_to_vtkIdTypeArray(offsets), numpy_to_vtkIdTypeArray(flat))
            (poly.SetPolys if kind == "polys" else poly.SetLines)(array)
        return poly

    def add(source, color, alpha, normals=True):
        mapper = vtkPolyDataMapper()
        if normals:
            smooth = vtkPolyDataNormals()
            smooth.SetInputData(source) if isinstance(source, vtkPolyData) else smooth.SetInputConnection(source)
            smooth.SplittingOff()
            mapper.SetInputConnection(smooth.GetOutputPort())
        elif isinstance(source, vtkPolyData):
            mapper.SetInputData(source)
        else:
            mapper.SetInputConnection(source)
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*rgb(color))
        actor.GetProperty().SetOpacity(alpha)
        renderer.AddActor(actor)

    def atlas_mesh(structure):
        mesh = atlas.mesh_from_structure(structure)
        return polydata(mesh.points, mesh.cells_dict["triangle"], "polys")

    for spec in case["actors"]:
        kind = spec["kind"]
        if kind == "root":
            add(atlas_mesh("root"), spec["color"], spec["alpha"])
        elif kind == "region":
            for region in spec["regions"]:
                color = spec.get("color") or [c / 255 for c in atlas.structures[region]["rgb_triplet"]]
                add(atlas_mesh(region), color, spec["alpha"])
        elif kind == "points":
            cloud = polydata(np.load(spec["path"]), np.empty((0, 1)), "verts")
            mapper = vtkOpenGLPointGaussianMapper()
            mapper.SetInputData(cloud)
            mapper.SetScaleFactor(spec["radius"])
            mapper.SetEmissive(False)
            mapper.SetSplatShaderCode(SPHERE_SPLAT)
            actor = vtkActor()
            actor.SetMapper(mapper)
            actor.GetProperty().SetColor(*rgb(spec["color"]))
            renderer.AddActor(actor)
        elif kind == "neuron":
            xyz, segments, soma = swc_segments(spec["path"], spec["orientation"])
            tube = vtkTubeFilter()
            tube.SetInputData(polydata(xyz, segments, "lines"))
            tube.SetRadius(spec["radius"])
            tube.SetNumberOfSides(8)
            add(tube.GetOutputPort(), spec["color"], 1.0)
            if soma is not None and spec["soma_radius"] > 0:
                sphere = vtkSphereSource()
                sphere.SetCenter(*(xyz[soma] * FLIP))
                sphere.SetRadius(spec["soma_radius"])
                sphere.SetThetaResolution(24)
                sphere.SetPhiResolution(24)
                add(sphere.GetOutputPort(), spec["color"], 1.0, normals=False)
        else:
            raise SystemExit(f"VTK floor: unknown actor kind {kind!r}")
    phases.mark("actors")

    cam = case["camera"]
    camera = renderer.GetActiveCamera()
    camera.SetPosition(*cam["position"])
    camera.SetFocalPoint(*cam["focal_point"])
    camera.SetViewUp(*cam["view_up"])
    camera.SetViewAngle(cam["view_angle"])
    renderer.ResetCameraClippingRange()
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.ShouldRerenderOff()
    grab.ReadFrontBufferOff()
    writer = vtkPNGWriter()
    writer.SetFileName(str(out))
    writer.SetInputConnection(grab.GetOutputPort())
    writer.Write()
    phases.mark("png")
    from vtkmodules.vtkCommonCore import vtkVersion

    phases.report(f"vtk {vtkVersion.GetVTKVersion()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
