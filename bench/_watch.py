"""Run one benchmark process under watch: wall time, peak memory of its whole
process tree, and an optional memory cap and timeout that stop it cleanly.

Used by bench/points.py and bench/video.py (scenerender's environment; needs
psutil). compare.py's ``run_once`` measures well-behaved single figures; this
is for commands that may spawn workers (``scenerender render --jobs N``,
ffmpeg) or may not finish (brainrender drawing a million spheres):

* every ``interval`` seconds the RSS of the process and all its descendants
  is summed (psutil; a process that ends between two samples is missed for
  that sample only) and the peak kept, with the peak of the largest single
  process;
* ``os.wait4`` gives the process's own peak RSS (``ru_maxrss``: the largest
  of the process and its waited-for children, not a sum) and CPU seconds
  (user + system, the process and its waited-for children);
* with ``mem_cap_mib`` the tree is killed (SIGKILL, children first) as soon
  as a sample exceeds the cap; with ``timeout_s`` when the wall time does.
  The result says which, at how many MiB and after how many seconds, so a
  table can report "killed at 8.0 GiB after 35 s" instead of hanging the
  machine. ``rlimit_as_mib`` additionally sets RLIMIT_AS in the child (a
  backstop against a spike between two samples; virtual memory, so keep it
  well above the RSS cap);
* lines the process prints are kept in ``logfile`` and, with the second
  each arrived, in the result (``lines``); ``BENCH_PHASES {json}``
  (compare.py's runners) and ``BENCH_FRAME i t`` (frame i done t seconds
  after the process started) are parsed.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc] + proc.children(recursive=True)
    except psutil.Error:
        return [proc]


def _rss(procs: list[psutil.Process]) -> list[int]:
    out = []
    for p in procs:
        try:
            out.append(p.memory_info().rss)
        except psutil.Error:
            pass
    return out


def _kill_tree(proc: psutil.Process) -> None:
    procs = _tree(proc)
    for p in reversed(procs):  # children first, so none is re-parented and missed
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass


def run_watched(cmd: list[str], env: dict, logfile: Path, *, cwd: Path, mem_cap_mib: float | None = None,
                timeout_s: float | None = None, interval: float = 0.2, rlimit_as_mib: float | None = None) -> dict:
    """One fresh process, watched. Returns wall, peaks, exit code, how it ended, phases, frames, log tail."""
    logfile.parent.mkdir(parents=True, exist_ok=True)

    def limit():
        if rlimit_as_mib:
            cap = int(rlimit_as_mib * 2**20)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    peak_tree = peak_one = 0
    ended = "exit"
    lines: list[tuple[float, str]] = []
    with open(logfile, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                preexec_fn=limit if rlimit_as_mib else None)

        def pump():  # every output line to the log, with the second it arrived
            for raw in proc.stdout:
                line = raw.decode(errors="replace")
                lines.append((time.perf_counter() - start, line.rstrip("\n")))
                out.write(line)
                out.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        watched = psutil.Process(proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            rss = _rss(_tree(watched))
            if rss:
                peak_tree, peak_one = max(peak_tree, sum(rss)), max(peak_one, max(rss))
            elapsed = time.perf_counter() - start
            if mem_cap_mib and sum(rss) > mem_cap_mib * 2**20:
                ended = "memory cap"
                _kill_tree(watched)
            elif timeout_s and elapsed > timeout_s:
                ended = "timeout"
                _kill_tree(watched)
            if ended != "exit":
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(interval)
        wall = time.perf_counter() - start
        reader.join(timeout=10)  # a killed parent's workers may hold the pipe a moment longer
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = logfile.read_text(errors="replace")
    phases, frames = {}, []
    for line in text.splitlines():
        if line.startswith("BENCH_PHASES "):
            phases = json.loads(line.split(" ", 1)[1])
        elif line.startswith("BENCH_FRAME "):
            _, i, t = line.split()
            frames.append((int(i), float(t)))
    return {"wall": wall, "code": proc.returncode, "ended": ended, "rss": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime,  # the process and its waited-for descendants
            "peak_tree_mib": peak_tree / 2**20, "peak_one_mib": peak_one / 2**20, "phases": phases,
            "frames": frames, "lines": lines, "tail": "\n".join(text.strip().splitlines()[-6:]), "log": str(logfile)}


def describe_end(s: dict, mem_cap_mib: float | None, timeout_s: float | None) -> str:
    """'killed at 8.0 GiB (memory cap) after 41 s' / 'timed out after 180 s (peak 5.2 GiB)' / 'exit 1'."""
    if s["ended"] == "memory cap":
        return (f"killed at the {mem_cap_mib / 1024:.0f} GiB memory cap after {s['wall']:.0f} s "
                f"(process tree at {s['peak_tree_mib'] / 1024:.1f} GiB)")
    if s["ended"] == "timeout":
        return f"timed out after {s['wall']:.0f} s (peak {s['peak_tree_mib'] / 1024:.1f} GiB)"
    return f"exit {s['code']} after {s['wall']:.0f} s: {s['tail'][-300:]}"
