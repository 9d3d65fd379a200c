"""Ctrl-C (SIGINT) and SIGTERM during real renders leave nothing behind.

Each test starts ``python -m scenerender render`` as a real process, waits
until it is writing (its temporary file exists), sends a real signal, and
checks what a user would: the process exits promptly with 128 + the signal
and a one-line message, no traceback, and the output folder holds neither
the output nor a temporary file; ffmpeg and worker processes are gone too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO

STILL = """version: 1
actors:
  - {kind: root, alpha: 0.3}
  - {kind: region, regions: [TH, CP, CB]}
render: {size: [3000, 2000]}
"""

VIDEO = """version: 1
actors:
  - {kind: root, alpha: 0.3}
  - {kind: region, regions: [TH, CP]}
render: {size: [320, 240]}
animation:
  fps: 30
  frames: 600
  orbit: {degrees: 360}
"""


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (ffmpeg, pool workers, their helpers)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                kids = Path(f"/proc/{current}/task/{task}/children").read_text().split()
            except FileNotFoundError:
                continue
            for kid in map(int, kids):
                if kid not in found:
                    found.add(kid)
                    todo.append(kid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _interrupt(tmp_path: Path, scene_text: str, output: str, signum: int, *, extra=(), settle: float = 0.0):
    scene = tmp_path / "scene.yaml"
    scene.write_text(scene_text)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCENERENDER_PARALLEL_FRAMES": "1"}  # --jobs: parallel even here
    proc = subprocess.Popen([sys.executable, "-m", "scenerender", "render", str(scene), "-o", str(out_dir / output),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 240
    try:
        while not any(p.name.startswith(f".{output}.") for p in out_dir.iterdir()):
            assert proc.poll() is None, f"finished before it was interrupted: {proc.communicate()}"
            assert time.monotonic() < deadline, "never started writing"
            time.sleep(0.002)
        time.sleep(settle)
        assert proc.poll() is None, "finished before it was interrupted"
        helpers = _children(proc.pid)
        sent = time.monotonic()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    time.sleep(0.5)  # let the kernel reap what the process stopped
    return proc.returncode, stderr.decode(), took, sorted(out_dir.iterdir()), [p for p in helpers if _alive(p)]


def _check(status, stderr, took, left, alive, signum):
    assert status == 128 + signum, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert left == [], f"left behind: {[p.name for p in left]}"
    assert alive == [], f"helper processes still running: {alive}"
    assert took < 15, f"took {took:.1f} s to stop"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_writing_a_still_leaves_nothing(tmp_path, signum):
    _check(*_interrupt(tmp_path, STILL, "brain.png", signum), signum)


def test_sigint_during_a_video_stops_ffmpeg_and_leaves_nothing(tmp_path):
    _check(*_interrupt(tmp_path, VIDEO, "orbit.mp4", signal.SIGINT, settle=1.5), signal.SIGINT)


def test_sigterm_during_a_parallel_video_stops_workers_and_leaves_nothing(tmp_path):
    _check(*_interrupt(tmp_path, VIDEO, "orbit.mp4", signal.SIGTERM, extra=("--jobs", "2"), settle=6.0),
           signal.SIGTERM)


def test_sigint_to_the_process_group_during_a_parallel_video(tmp_path):
    """Ctrl-C on a terminal signals the whole group: scenerender, its workers (and not ffmpeg, in its own session)."""
    scene = tmp_path / "scene.yaml"
    scene.write_text(VIDEO)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCENERENDER_PARALLEL_FRAMES": "1"}  # parallel even on 2 cores
    proc = subprocess.Popen([sys.executable, "-m", "scenerender", "render", str(scene), "-o", str(out_dir / "o.webm"),
                             "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not any(p.name.startswith(".o.webm.") for p in out_dir.iterdir()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        time.sleep(6.0)
        helpers = _children(proc.pid)
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    time.sleep(0.5)
    _check(proc.returncode, stderr.decode(), took, sorted(out_dir.iterdir()), [p for p in helpers if _alive(p)],
           signal.SIGINT)


def test_ctrl_c_in_the_python_api_during_a_video_leaves_nothing(tmp_path):
    """From a script or notebook, KeyboardInterrupt unwinds render_video the same way."""
    scene = tmp_path / "scene.yaml"
    scene.write_text(VIDEO)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    script = (f"import scenerender\nscenerender.render_video({str(scene)!r}, {str(out_dir / 'api.mp4')!r})\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 240
        while not any(p.name.startswith(".api.mp4.") for p in out_dir.iterdir()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        time.sleep(1.0)
        helpers = _children(proc.pid)
        assert helpers, "ffmpeg should be running"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    time.sleep(0.5)
    assert proc.returncode in (-signal.SIGINT, 130, 1), stderr.decode()
    assert b"KeyboardInterrupt" in stderr  # a script sees Python's own interruption
    assert sorted(out_dir.iterdir()) == []
    assert [p for p in helpers if _alive(p)] == []
