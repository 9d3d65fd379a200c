"""Helpers shared by the benchmark runners (stdlib and numpy only, so that the
brainrender runner can use them from brainrender's own environment).

Each runner is one fresh process that draws one case to one PNG; compare.py
times the whole process. Runners report their phases (seconds since the
process started) on stderr as ``BENCH_PHASES {json}``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time

#: Atlas microns (BrainGlobe ``asr``, a left-handed frame) -> the render world
#: that scenerender and brainrender both draw in: the third axis negated.
FLIP = (1.0, 1.0, -1.0)


def headless() -> None:
    """Without a display, ask VTK for its EGL window (as scenerender does)."""
    os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


class Phases:
    def __init__(self, t0: float):
        self.t0 = t0
        self.marks: dict[str, float] = {}

    def mark(self, name: str) -> None:
        self.marks[name] = round(time.perf_counter() - self.t0, 4)

    def report(self, tool_version: str) -> None:
        print("BENCH_PHASES " + json.dumps({"tool_version": tool_version, **self.marks}), file=sys.stderr)


def install_terminology_reader(bgcompat_path: str) -> None:
    """brainglobe-atlasapi 3.0.2 reads terminology parent ids as 16-bit
    integers and cannot open an Allen atlas (ids up to 614454277); install
    scenerender's narrow replacement reader (``scenerender/_bgcompat.py``,
    loaded by path: it needs only numpy and pandas)."""
    spec = importlib.util.spec_from_file_location("scenerender_bgcompat", bgcompat_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install_terminology_reader()


def swc_segments(path: str, orientation: str):
    """An SWC file as (points in atlas microns, (n, 2) parent-child segments, soma index).

    ``orientation`` is the file's BrainGlobe orientation; only ``asr`` (atlas
    order) and ``rsa`` (MouseLight: x left-right, y dorsal-ventral, z
    anterior-posterior, in CCF microns) are supported here.
    """
    import numpy as np

    swc = np.loadtxt(path, comments="#", ndmin=2)
    ids, xyz, parents = swc[:, 0].astype(int), swc[:, 2:5], swc[:, 6].astype(int)
    if orientation == "rsa":
        xyz = xyz[:, ::-1]
    elif orientation != "asr":
        raise SystemExit(f"runner: SWC orientation {orientation!r} not supported (asr or rsa)")
    index = {node: i for i, node in enumerate(ids)}
    segments = np.array([(index[p], i) for i, p in enumerate(parents) if p in index], dtype=np.int64)
    roots = [i for i, p in enumerate(parents) if p not in index]
    return xyz, segments, (roots[0] if roots else None)
