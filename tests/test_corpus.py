"""A corpus of hostile and broken inputs (tests/corpus/, expectations in
tests/corpus/expected.yaml), each run through the real command line as a
subprocess: exit status 2, exactly one message, located at the expected
file:line, no traceback, and no output or temporary file left behind.

The data files they name (a truncated TIFF, binary garbage as CSV, an empty
SWC, symlink loops...) are made here in the scratch folder, not committed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO
from harden_counts import COUNTS
from scene_fuzz import write_data_files

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text())


def _make_data(work: Path) -> None:
    write_data_files(work)
    shutil.rmtree(work / "folder.csv")
    rng = np.random.default_rng(1)
    cells = np.array([6600.0, 4000.0, 5700.0]) + rng.normal(0, 300, size=(40, 3))
    cells[7, 1] = np.nan
    np.savetxt(work / "cells_nan.csv", cells, delimiter=",", header="a,s,r", comments="")
    import tifffile

    tifffile.imwrite(work / "truncated.tif", rng.integers(0, 1000, size=(12, 10, 14), dtype=np.uint16))
    whole = (work / "truncated.tif").read_bytes()
    (work / "truncated.tif").write_bytes(whole[: len(whole) // 2])  # cut off half-way, as by a failed copy
    (work / "garbage.obj").write_bytes(bytes(rng.integers(0, 256, 4096, dtype=np.uint8)))
    with open(work / "pickled.npy", "wb") as fh:  # an object array: reading it would unpickle
        np.lib.format.write_array(fh, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    (work / "data_dir.csv").mkdir()
    os.symlink("loop.csv", work / "loop.csv")
    (work.parent / "outside.csv").write_text("a,s,r\n6600,4000,5700\n")
    os.symlink(work.parent / "outside.csv", work / "escape.csv")


def _run(work: Path, name: str, spec: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), **{k: str(v) for k, v in (spec.get("env") or {}).items()}}
    env.pop("SCENERENDER_DEBUG", None)
    before = sorted(p.name for p in work.iterdir())
    parent_before = sorted(p.name for p in work.parent.iterdir())
    proc = subprocess.run([sys.executable, "-m", "scenerender", spec.get("command", "render"), name,
                           *(spec.get("args") or [])], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    return {"status": proc.returncode, "stderr": proc.stderr, "stdout": proc.stdout,
            "new": sorted(set(p.name for p in work.iterdir()) - set(before))
            + sorted(set(p.name for p in work.parent.iterdir()) - set(parent_before))}


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory):
    """Every corpus input, run concurrently (each is one short process)."""
    root = tmp_path_factory.mktemp("corpus")
    work = root / "work"
    shutil.copytree(CORPUS, work)
    (work / "expected.yaml").unlink()
    _make_data(work)
    # Side by side: a file left behind by one shows up as a failure (of it or a neighbour).
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_run, work, name, spec) for name, spec in EXPECTED.items()}
        results = {name: future.result() for name, future in futures.items()}
    return results


def test_every_corpus_file_has_an_expectation():
    files = {p.name for p in CORPUS.glob("*.yaml")} - {"expected.yaml"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n.removesuffix(".yaml"))
def test_hostile_input_gets_one_located_message(corpus_results, name):
    spec = EXPECTED[name]
    result = corpus_results[name]
    COUNTS["corpus"] += 1
    stderr = result["stderr"]
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert result["status"] == spec["status"], stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one message, got:\n{stderr}"
    named = re.escape(spec.get("file", name))  # the file the message names: the scene, or e.g. its atlas recipe
    where = rf"^(.*/)?{named}:{spec['line']}:\d+: " if spec["line"] is not None else rf"^{named}: "
    assert re.match(where, lines[0]), f"not located at {name}:{spec['line']}: {lines[0]}"
    assert spec["message"] in lines[0], lines[0]
    assert result["new"] == [], f"left behind: {result['new']}"
