"""``scenerender check-space SCENE...`` - the mapping report of every source.

Loads each source as a render would (without refusing data that misses the
brain), and prints per source the fraction inside the brain and, for
labelled data, in its labelled major division; a located warning names a
clearly better declaration (see :mod:`scenerender.mapping_report`).
"""

from __future__ import annotations

import sys

from ._options import add_scene_files
from ..errors import SceneError


def register(commands) -> None:
    p = commands.add_parser(
        "check-space", help="report how each source lands in the atlas (catches a wrong space declaration)",
        description="For each source: the fraction inside the brain and, where the data carry region labels "
                    "(MouseLight allenId, a points table's region_column), the fraction in their labelled major "
                    "division; warns, with the file and line, when another orientation or column order fits "
                    "clearly better. Exit 0 when no warning, 1 with warnings, 2 for an invalid scene.")
    add_scene_files(p)
    p.set_defaults(run=run)


def print_report(scene, *, out=sys.stdout, err=sys.stderr, warnings_only: bool = False) -> int:
    """Print the mapping report of a loaded scene; return the number of warnings. ``warnings_only``:
    measure only the sources that can get a warning (see :func:`scenerender.mapping_report.mapping_report`)."""
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..mapping_report import mapping_report

    warnings = 0
    for report in mapping_report(scene, warnings_only=warnings_only):
        for line in report.lines():
            print(f"{scene.doc.file}: {line}", file=out)
        if report.warning:
            print(f"warning: {report.warning}", file=err)
            warnings += 1
    return warnings


def run(args) -> int:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..compile import load_scene
    from ..document import read_scene

    status = 0
    for path in args.scenes:
        try:
            if print_report(load_scene(read_scene(path))):
                status = max(status, 1)
        except SceneError as err:
            for problem in err.problems:
                print(problem, file=sys.stderr)
            status = 2
    return status
