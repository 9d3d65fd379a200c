"""Can worker processes be started from here without running the caller's script again?

scenerender's worker processes are started with ``spawn`` (a fresh
interpreter, never a fork of a process holding threads or GL state). A
spawned worker first imports the parent's main module: for a plain script,
that runs the script's top-level code again. A script that calls
``render_video(..., jobs=2)`` outside ``if __name__ == "__main__":`` would
then start workers from inside every worker, which Python refuses, and the
pool waits forever for workers that never come up. :func:`unguarded_main_call`
finds that case before any worker is started, so the caller can render
serially instead.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import FrameType


def _is_main_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def _guarded(source: str, line: int) -> bool:
    """Whether ``line`` of a module's source lies in the body of an ``if __name__ == "__main__":``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.If) and _is_main_guard(node.test) and node.body:
            if node.body[0].lineno <= line <= (node.body[-1].end_lineno or node.body[-1].lineno):
                return True
    return False


def unguarded_main_call() -> str | None:
    """``"script.py:12"`` when spawned workers would re-run the top-level code that
    led to this call (a script without a main guard), else ``None``.

    Safe cases return ``None``: an interactive session, a notebook or
    ``python -c`` (no main file to re-run), ``python -m package`` (a
    package's ``__main__`` is never re-run), and calls under
    ``if __name__ == "__main__":`` or from functions called there.
    """
    main = sys.modules.get("__main__")
    if main is None:
        return None
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if spec_name is not None and (spec_name == "__main__" or spec_name.endswith(".__main__")):
        return None  # multiprocessing does not re-run a package's __main__
    path = getattr(main, "__file__", None)
    if not path:
        return None  # interactive, notebook, python -c: nothing is re-run
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and not (frame.f_globals is vars(main) and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    if frame is None:
        return None  # not reached from the main module's top-level code
    line = frame.f_lineno
    try:
        source = Path(path).read_text(encoding="utf-8")
        if _guarded(source, line):
            return None
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        pass  # cannot tell: assume the worst
    return f"{path}:{line}"
