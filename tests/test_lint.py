"""ruff (configured in pyproject.toml: pyflakes, bugbear, a complexity limit) and mypy (configured in
pyproject.toml) are clean on the package, and each fails on a deliberately broken file."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

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
