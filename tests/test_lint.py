"""ruff (configured in pyproject.toml: pyflakes, bugbear, a complexity limit) and mypy (configured in
pyproject.toml) are clean on the package, and each fails on a deliberately broken file."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

needs_ruff = pytest.mark.skipif(importlib.util.find_spec("ruff") is None,
                                reason="ruff (test extra) is not installed")
needs_mypy = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                reason="mypy (test extra) is not installed")


def _ruff(*paths: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *paths], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@needs_ruff
def test_ruff_is_clean_on_the_package():
    done = _ruff("scenerender")
    assert done.returncode == 0, done.stdout + done.stderr


@needs_ruff
def test_ruff_finds_a_too_complex_function(tmp_path):
    """The complexity limit is on: a new function with 12 branches fails."""
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    pkg = tmp_path / "scenerender"
    pkg.mkdir()
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    (pkg / "new.py").write_text(f"def branchy(x):\n{body}    return -1\n")
    done = _ruff("scenerender", cwd=tmp_path)
    assert done.returncode == 1 and "C901" in done.stdout, done.stdout + done.stderr


def _mypy(cwd=REPO) -> subprocess.CompletedProcess:
    # files, options and the cache folder come from pyproject.toml / the working folder
    return subprocess.run([sys.executable, "-m", "mypy"], cwd=cwd, capture_output=True, text=True, timeout=900)


@needs_mypy
@pytest.mark.slow  # a cold mypy run takes minutes
def test_mypy_is_clean_on_the_package():
    done = _mypy()
    assert done.returncode == 0, done.stdout + done.stderr


@needs_mypy
def test_mypy_finds_a_type_error(tmp_path):
    """The configuration checks the package: a function returning the wrong type fails."""
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    pkg = tmp_path / "scenerender"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "new.py").write_text("def scale(x: float) -> str:\n    return x * 2\n")
    done = _mypy(cwd=tmp_path)
    assert done.returncode == 1 and "new.py:2: error" in done.stdout and "[return-value]" in done.stdout, \
        done.stdout + done.stderr


# --- Function-level imports say why they are lazy ------------------------------------------------
#: Third-party modules that are slow to import (seconds) or optional: importing one inside a function
#: is lazy on purpose and says so, like an import of scenerender's own modules.
HEAVY_IMPORTS = {"pyvista", "vtk", "vtkmodules", "brainglobe_atlasapi", "dask", "distributed", "matplotlib",
                 "imageio", "tifffile", "h5py", "IPython", "aiohttp", "PIL"}
#: Files other work is changing now; their function-level imports get their reasons next (not a
#: permanent exemption: the list only shrinks).
LAZY_IMPORT_PENDING: set[str] = set()


def unexplained_lazy_imports(package: Path) -> list[str]:
    """``file:line`` of each import of scenerender's own modules or of a heavy third-party module made
    inside a function without a ``# lazy: <reason>`` comment on its first line, or above it or above the
    run of imports (one per line, no blank line) it belongs to."""
    found = []
    for path in sorted(package.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines), filename=str(path))
        inside = {node for function in ast.walk(tree) if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))}
        run_reason, run_end = False, -1  # a comment above a run of imports (one per line) covers the run
        for node in sorted(inside, key=lambda n: n.lineno):
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            run_reason = bool(re.match(r"#\s*lazy:\s*\S", above)) or (run_reason and node.lineno == run_end + 1)
            run_end = node.end_lineno or node.lineno
            if run_reason or re.search(r"#\s*lazy:\s*\S", lines[node.lineno - 1]):
                continue
            if isinstance(node, ast.ImportFrom):
                names, own = [node.module or ""], node.level > 0
            else:
                names, own = [alias.name for alias in node.names], False
            roots = {name.split(".")[0] for name in names}
            if own or "scenerender" in roots or roots & HEAVY_IMPORTS:
                found.append(f"{path.relative_to(package.parent).as_posix()}:{node.lineno}: "
                             f"{lines[node.lineno - 1].strip()}")
    return found


def _pending(location: str) -> bool:
    return any(location.startswith(name + ":") or (name.endswith("/") and location.startswith(name))
               for name in LAZY_IMPORT_PENDING)


def test_every_lazy_import_says_why():
    """Imports sit at module top; one inside a function (start-up time, an optional extra, a cycle
    with a lower stage's lazy loader) carries ``# lazy: <reason>`` on its line or the line above."""
    unexplained = [where for where in unexplained_lazy_imports(REPO / "scenerender") if not _pending(where)]
    assert not unexplained, ("imports inside functions without a '# lazy: <reason>' comment (move them to "
                             "the module top, or say why they wait):\n" + "\n".join(unexplained))


def test_an_unexplained_lazy_import_is_found(tmp_path):
    pkg = tmp_path / "scenerender"
    pkg.mkdir()
    (pkg / "a.py").write_text("def f():\n    from .b import g  # lazy: start-up time\n\n\n"
                              "def h():\n    # lazy: optional extra\n    import h5py\n    import PIL\n\n"
                              "    import vtk\n\n\n"
                              "def k():\n    from . import b\n    import pyvista as pv\n    import json\n")
    assert unexplained_lazy_imports(pkg) == ["scenerender/a.py:10: import vtk",
                                             "scenerender/a.py:14: from . import b",
                                             "scenerender/a.py:15: import pyvista as pv"]
