"""The pipeline's stages are enforced: the import-linter contracts in pyproject.toml hold.

A stage importing one above it (a reach-back), an import cycle, a module importing the public
API module back, or VTK reaching the scene language fails here. See docs/architecture.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytest.importorskip("importlinter", reason="import-linter (test extra) is not installed")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_import_contracts_are_kept():
    done = _lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_reach_back_breaks_the_stages(tmp_path):
    """The contracts can fail: validation (scene language) importing the compiler is refused."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    shutil.copytree(REPO / "scenerender", copy / "scenerender",
                    ignore=shutil.ignore_patterns("__pycache__", "embedded_atlas"))
    validate = copy / "scenerender" / "validate.py"
    validate.write_text(validate.read_text() + "\nfrom .compile import compile_scene  # a reach-back\n")
    done = _lint_imports(copy)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "scenerender.validate is not allowed to import scenerender.compile" in done.stdout
    assert "No import cycles" in done.stdout.split("Broken contracts", 1)[1]
