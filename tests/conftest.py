"""Shared fixtures: headless rendering, paths to the real data, small renders."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
# Tests never reach a real public service: fetching is offline unless a test points the client at
# its loopback server (tests/public_services.py), with a fresh cache folder of its own.
os.environ.setdefault("SCENERENDER_OFFLINE", "1")
# Batches reuse the warm workers of a per-user service (scenerender.service); in tests it ends soon after.
os.environ.setdefault("SCENERENDER_WORKER_IDLE", "20")

from public_services import embedded_atlas, public_services  # noqa: E402,F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]
SCENES = REPO / "scenes"
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (../shared/data); tests using it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (see docs/getting-started.md: Set up)")
    return SHARED_DATA


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line a CI log shows: how many hostile inputs were tried, and the failures among them."""
    from harden_counts import COUNTS

    if not (COUNTS["fuzzed"] or COUNTS["corpus"]):
        return
    failed = {r.nodeid for r in terminalreporter.stats.get("failed", [])}
    bad = sum(1 for n in failed if "test_fuzz" in n or "test_corpus" in n or "test_interrupt" in n)
    terminalreporter.write_line(
        f"hardening: fuzzed {COUNTS['fuzzed']} scenes ({COUNTS['fuzz_rendered']} rendered, "
        f"{COUNTS['fuzz_refused']} refused with a located error), {COUNTS['documents']} fuzzed documents "
        f"read or refused, {COUNTS['corpus']} corpus inputs, "
        f"{bad} failing hardening tests (uncaught exceptions or partial files)")


@pytest.fixture
def fresh_service(monkeypatch):
    """A service of this test's own (a fresh folder), ending 3 s after its last batch."""
    from scenerender import service

    if not service.enabled():
        pytest.skip("no warm worker service on this platform (needs fork, Unix sockets and pidfd)")
    folder = Path(tempfile.mkdtemp(prefix="srsvc-", dir="/tmp"))  # short: socket paths are limited
    monkeypatch.setenv(service.DIR_ENV, str(folder))
    monkeypatch.setenv(service.IDLE_ENV, "3")
    yield folder
    for sock in folder.glob("*/s"):  # wait for it to end by itself (its idle timeout)
        deadline = time.monotonic() + 60
        while sock.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    shutil.rmtree(folder, ignore_errors=True)
