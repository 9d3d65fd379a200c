"""Rendering all frames of an animation, serially or in worker processes.

Every frame is a pure function of the plan and its time, so frame ranges can
be drawn by N processes (each with its own offscreen window) and put back in
order; the result equals the serial render pixel for pixel. Frames stream to
the writer as they arrive: at most a few chunks per worker are in memory.
"""

from __future__ import annotations

import os

import sys
import time
from pathlib import Path

from . import workers
from .plan import ScenePlan, Timeline
from .provenance import publish
from .video import VideoWriter
from .renderer import FrameRenderer
from .workers import adopt_environment, set_worker_threads
from .spawn_safety import unguarded_main_call

CHUNK = 4  # frames per task: small enough to keep workers busy to the end

_worker_renderer = None


def _init_worker(plan: ScenePlan, jobs: int, env: dict | None = None) -> None:
    global _worker_renderer
    import signal

    if env is not None:
        adopt_environment(env)
    set_worker_threads(jobs)  # before the window: Mesa reads its thread count then

    # Ctrl-C reaches the whole process group: only the parent handles it (it
    # stops the pool and removes the partial video); a worker just goes on
    # until the parent terminates it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    _worker_renderer = FrameRenderer(plan)


def _draw_frames(frames: range):
    renderer = _worker_renderer
    if renderer is None or renderer.plan.timeline is None:
        raise RuntimeError("a frame worker draws an animation's frames after _init_worker")
    timeline = renderer.plan.timeline
    return [renderer.draw_time(timeline.time_of(i)) for i in frames]


class Progress:
    """A rich progress bar on a terminal; a plain line every ~10% otherwise."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self.start = time.perf_counter()
        self._bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(transient=True)
            self._task = self._bar.add_task(label, total=total)
            self._bar.start()
        self._next_report = max(1, total // 10)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        elif self.done >= self._next_report or self.done == self.total:
            rate = self.done / max(time.perf_counter() - self.start, 1e-9)
            print(f"{self.label}: {self.done}/{self.total} frames ({rate:.1f} frames/s)", file=sys.stderr)
            self._next_report = self.done + max(1, self.total // 10)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def render_animation(plan: ScenePlan, output: Path, *, jobs: int = 1, progress: bool = True,
                     record: dict | None = None) -> Path:
    """Render every frame of ``plan.timeline`` into ``output`` (format from its extension);
    with a provenance ``record``, write its sidecar once the output is complete."""
    timeline = plan.timeline
    if timeline is None:
        raise ValueError("render_animation draws a plan with a timeline; render a still with FrameRenderer.draw")
    n = timeline.n_frames
    jobs = _frame_jobs(jobs, n)
    writer = VideoWriter(Path(output), fps=timeline.fps, size=plan.render.size, quality=timeline.quality)
    bar = Progress(n, f"rendering {Path(output).name}") if progress else None
    try:
        if jobs <= 1:
            _draw_serially(plan, timeline, writer, bar)
        else:
            _draw_in_processes(plan, n, jobs, writer, bar)
        return publish(Path(output), writer.close, record)
    except BaseException:
        writer.abort()
        raise
    finally:
        if bar:
            bar.close()


def _frame_jobs(jobs: int, n: int) -> int:
    """How many processes draw the ``n`` frames: one where worker processes cannot be used (a script
    without a main guard) or do not pay (:func:`scenerender.workers.frame_processes`), saying why."""
    if jobs > 1:
        where = unguarded_main_call()
        if where is not None:  # spawned workers would re-run the script and the pool would wait forever
            print(f"scenerender: warning: rendering serially: {where} asks for {jobs} processes outside "
                  "'if __name__ == \"__main__\":', where worker processes would run the script again; "
                  "put the call under that guard to use them", file=sys.stderr)
            jobs = 1
    if jobs > 1:
        asked = jobs
        jobs, why = workers.frame_processes(jobs, n)
        if why:
            print(f"scenerender: drawing the frames in {jobs} process{'es' if jobs > 1 else ''}, not {asked}: {why} "
                  f"(see 'Parallel frames' in docs/guides/batch.md; {workers.PARALLEL_FRAMES_ENV}=1 forces it)",
                  file=sys.stderr)
    return jobs


def _draw_serially(plan: ScenePlan, timeline: Timeline, writer: VideoWriter, bar: Progress | None) -> None:
    """Draw every frame of ``timeline`` (the plan's) in this process, in one window."""
    with FrameRenderer(plan) as renderer:
        for i in range(timeline.n_frames):
            writer.write(renderer.draw_time(timeline.time_of(i)))
            if bar:
                bar.advance()


def _draw_in_processes(plan: ScenePlan, n: int, jobs: int, writer: VideoWriter, bar: Progress | None) -> None:
    """Draw the ``n`` frames in ``jobs`` worker processes, CHUNK frames a task, written in order."""
    chunks = [range(a, min(a + CHUNK, n)) for a in range(0, n, CHUNK)]
    # Forks of a warm fork server (scenerender.workers), never of this process (GL state, threads).
    with workers.context().Pool(jobs, initializer=_init_worker, initargs=(plan, jobs, dict(os.environ))) as pool:
        pending = []
        window = 2 * jobs  # bounded look-ahead keeps memory flat however long the video
        for chunk in chunks:
            pending.append(pool.apply_async(_draw_frames, (chunk,)))
            if len(pending) >= window:
                _drain(pending.pop(0), writer, bar)
        for result in pending:
            _drain(result, writer, bar)


def _drain(result, writer: VideoWriter, bar: Progress | None) -> None:
    for frame in result.get():
        writer.write(frame)
        if bar:
            bar.advance()
