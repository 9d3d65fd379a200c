"""ruff (configured in pyproject.toml: pyflakes, bugbear, a complexity limit) is clean on the package."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

pytest.importorskip("ruff", reason="ruff (test extra) is not installed")


def _ruff(*paths: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *paths], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_ruff_is_clean_on_the_package():
    done = _ruff("scenerender")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_finds_a_too_complex_function(tmp_path):
    """The complexity limit is on: a new function with 12 branches fails."""
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    pkg = tmp_path / "scenerender"
    pkg.mkdir()
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    (pkg / "new.py").write_text(f"def branchy(x):\n{body}    return -1\n")
    done = _ruff("scenerender", cwd=tmp_path)
    assert done.returncode == 1 and "C901" in done.stdout, done.stdout + done.stderr
