"""Batch rendering: many scenes and sweeps, in worker processes or on Dask.

The parent process reads and validates every scene, expands sweeps, works
out each render's output and fingerprint and skips renders whose output is
up to date. What is left becomes tasks (a still, a whole video, or a frame
range of a long video), run by an executor:

- :class:`LocalExecutor`: N worker processes forked from a warm fork server
  (:mod:`scenerender.workers`: heavy modules imported once, never a fork of
  a process holding GL state), one task at a time
  each, recycled after a number of renders so memory cannot creep; a task
  whose worker dies is retried in a new worker.
- :class:`DaskExecutor`: the same tasks on a ``dask.distributed`` cluster.

Workers keep opened atlases (and their region meshes) between tasks, so N
scenes on one atlas open it once per worker. Every task catches its own
errors: one bad scene never stops the others. Outputs are written
atomically with a provenance sidecar (:mod:`scenerender.provenance`), and
the sidecar is what makes a rerun resume.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ._version import __version__
from .animation import frame_count
from .compile import Scene, check_input_paths, compile_scene, output_path
from .document import SceneDocument, read_scene
from .errors import RenderError, SceneError
from .fetch import prefetch
from .fingerprint import scene_fingerprint
from .images import write_image
from .options import BatchState
from .outputs import write_output
from .paths import write_json_atomic
from .provenance import is_up_to_date, provenance_record, publish
from .renderer import FrameRenderer
from .schema import fill_defaults
from .sweep import check_item, expand_sweep, has_sweep
from .video import VideoWriter
from .service import ServiceUnavailable, connect, enabled, ensure_started
from .workers import adopt_environment, context, frame_processes, gl_threads, warm_imports, warm_worker_plugin

#: Task and render states, as shown in the summary and the JSON report (:class:`scenerender.options.BatchState`).
RENDERED, SKIPPED, FAILED, INVALID = BatchState.RENDERED, BatchState.SKIPPED, BatchState.FAILED, BatchState.INVALID


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class RenderTask:
    """One unit of work for a worker: a still, a video, or frames [start, stop) of a video."""

    key: str
    render: str                    # the RenderJob key this task belongs to
    doc: SceneDocument = field(repr=False)
    item: str | None
    output: str
    size: tuple[int, int] | None
    record: dict = field(repr=False, default_factory=dict)  # provenance, written beside the output
    frames: tuple[int, int] | None = None
    frames_dir: str | None = None


@dataclass
class RenderJob:
    """One render the batch was asked for: a scene, or one render of a sweep."""

    key: str
    scene_file: str
    item: str | None
    output: str | None
    status: str = "pending"
    message: str = ""
    seconds: float = 0.0
    attempts: int = 0
    fingerprint: str | None = None
    n_frames: int | None = None
    tasks: list[str] = field(default_factory=list)

    def report(self) -> dict:
        out = asdict(self)
        out.pop("tasks")
        return out


_render_lock = threading.Lock()  # one render at a time per process (a Dask worker may run threads)


def execute_task(task: RenderTask) -> dict:
    """Run one task in this process; never raises (the result says what went wrong)."""

    start = time.perf_counter()
    result = {"task": task.key, "pid": os.getpid()}
    try:
        with _render_lock, _local_dask():
            scene = Scene(doc=task.doc, spec=fill_defaults(task.doc.data), item=task.item)
            plan = compile_scene(scene, size=task.size)  # atlases: the process cache (scenerender.cache)
            _draw(task, plan)
        result.update(status=RENDERED)
    except SceneError as err:
        result.update(status=INVALID, message=str(err))
    except RenderError as err:
        result.update(status=FAILED, message=str(err))
    except Exception as err:  # a bug: report it with its traceback, keep the batch going
        result.update(status=FAILED, message=f"internal error: {type(err).__name__}: {err}",
                      traceback=traceback.format_exc())
    result["seconds"] = time.perf_counter() - start
    return result


def _local_dask():
    """Array reads inside a task (brainglobe-atlasapi's zarr-backed dask arrays)
    compute in this process: on a Dask worker they would otherwise be sent
    back to the cluster as new tasks."""
    if "dask" not in sys.modules:
        # Nothing reads through dask unless something imported it (a Dask worker, brainglobe-atlasapi
        # for an atlas scenerender does not read itself); importing it here cost a fresh worker 0.25 s.
        return contextlib.nullcontext()
    import dask  # lazy: only a batch that sets the Dask scheduler needs it

    return dask.config.set(scheduler="threads")


def _draw(task: RenderTask, plan) -> None:
    # lazy (start-up time): the renderer and writers load VTK; planning a batch (and its --help) must not

    output = Path(task.output)
    if task.frames is not None and task.frames_dir is not None:  # a frame range of a long video, as PNGs joined later
        folder = Path(task.frames_dir)
        timeline = plan.timeline
        with FrameRenderer(plan) as renderer:
            for i in range(*task.frames):
                write_image(renderer.draw_time(timeline.time_of(i)), folder / f"frame_{i:06d}.png")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    # an animated scene becomes a video (or frames folder), unless its output is an export (its first frame)
    write_output(plan, output, animation=None, record=task.record)


# --------------------------------------------------------------------------- planning


def find_scenes(patterns: list[str]) -> list[Path]:
    """Scene files named by paths, folders (their *.yaml) or glob patterns, in order, once each."""

    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_file():
            matches = [path]
        elif path.is_dir():
            matches = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        else:
            matches = [Path(p) for p in sorted(glob.glob(pattern, recursive=True)) if Path(p).is_file()]
        if not matches:
            raise RenderError(f"{pattern}: no scene files match; give scene files, folders or glob patterns")
        found += [m for m in matches if m.resolve() not in {f.resolve() for f in found}]
    return found


def _default_suffix(spec: dict) -> str:
    if "output" in spec["render"]:
        return Path(spec["render"]["output"]).suffix or (".mp4" if "animation" in spec else ".png")
    return ".mp4" if "animation" in spec else ".png"


def plan_batch(scene_files: list[Path], *, outdir: Path | None = None, size: tuple[int, int] | None = None,
               force: bool = False, workers: int = 1, frames_per_task: int | None = None,
               command: list[str] | None = None, on_first_task=None) -> tuple[list[RenderJob], list[RenderTask]]:
    """Every render the scenes ask for, and the tasks for those not up to date.

    ``on_first_task`` is called once, as soon as there is something to render
    (the batch starts its workers then)."""
    jobs: list[RenderJob] = []
    tasks = [task for job_tasks in plan_tasks(scene_files, jobs, outdir=outdir, size=size, force=force,
                                              workers=workers, frames_per_task=frames_per_task, command=command,
                                              on_first_task=on_first_task) for task in job_tasks]
    return jobs, tasks


def plan_tasks(scene_files: list[Path], jobs: list[RenderJob], *, outdir: Path | None = None,
               size: tuple[int, int] | None = None, force: bool = False, workers: int = 1,
               frames_per_task: int | None = None, command: list[str] | None = None, on_first_task=None):
    """:func:`plan_batch` one render at a time: appends each render to ``jobs`` and yields
    the tasks of each render to do, as soon as it is planned (so workers can start on
    them while the rest is planned)."""

    planner = _Planner(outdir=outdir, size=size, force=force, workers=workers, frames_per_task=frames_per_task,
                       command=command)
    first = True
    for file in scene_files:
        try:
            doc = read_scene(Path(file))
            swept = has_sweep(doc)
            items = expand_sweep(doc)
        except SceneError as err:
            jobs.append(RenderJob(key=str(file), scene_file=str(file), item=None, output=None, status=INVALID,
                                  message=str(err)))
            continue
        for item in items:
            name = item.name if swept else None
            job = RenderJob(key=f"{file}[{name}]" if swept else str(file), scene_file=str(file), item=name,
                            output=None)
            jobs.append(job)
            tasks = planner.plan_render(job, file, item, swept=swept)
            if tasks is None:
                continue
            if on_first_task is not None and first:
                on_first_task()  # this job's tasks are the first ones
            first = False
            yield tasks


@dataclass
class _Planner:
    """Plans the renders of a batch one at a time, with the batch's options; remembers the outputs
    claimed so far (two renders may not write one file) and the atlases opened to fetch public data."""

    outdir: Path | None
    size: tuple[int, int] | None
    force: bool
    workers: int
    frames_per_task: int | None
    command: list[str] | None
    by_output: dict[Path, RenderJob] = field(default_factory=dict)
    atlases: dict = field(default_factory=dict)

    def plan_render(self, job: RenderJob, file: Path, item, *, swept: bool) -> list[RenderTask] | None:
        """The tasks of one render (a scene, or one item of a sweep); None when there is nothing to
        render (invalid, its data could not be fetched, or up to date: ``job`` says which)."""
        name = job.item
        try:
            check_item(item, swept=swept)
            scene = Scene(doc=item.doc, spec=fill_defaults(item.doc.data), item=name)
            check_input_paths(item.doc, scene.spec)  # sandbox, FIFOs, devices: before anything is hashed
            given = self._output(scene, file, name, swept=swept)
        except SceneError as err:
            job.status, job.message = INVALID, str(err)
            return None
        if given is None:  # not reached: only an in-memory scene has no output of its own
            job.status, job.message = INVALID, f"{file}: no output path; give render.output or --outdir"
            return None
        out = Path(given).absolute()
        job.output = str(out)
        if not self._claim(out, job, file):
            return None
        options = {"size": list(self.size) if self.size else None, "format": out.suffix.lower()}
        if scene.spec.get("sources") and not self._prefetch(scene, job):
            return None
        fingerprint = scene_fingerprint(scene, options)
        job.fingerprint = fingerprint.digest
        if not self.force and is_up_to_date(out, fingerprint):
            job.status = SKIPPED
            return None
        record = provenance_record(fingerprint, scene_file=str(file), output=out, command=self.command,
                                   extra={"sweep_item": name, "sweep_values": item.values or None})
        return self._tasks(job, scene, item, out, record, fingerprint.digest)

    def _output(self, scene: Scene, file: Path, name: str | None, *, swept: bool) -> Path | None:
        """Where a render goes: under ``outdir`` (a sweep's renders in a folder named after the scene),
        else the scene's own output."""
        if self.outdir is None:
            return output_path(scene)  # a scene file always has one
        stem = Path(file).stem
        suffix = _default_suffix(scene.spec)
        return self.outdir / stem / f"{name}{suffix}" if swept else self.outdir / f"{stem}{suffix}"

    def _claim(self, out: Path, job: RenderJob, file: Path) -> bool:
        """Claim ``out`` for ``job``; False (the job invalid) when another render already writes it."""
        if out in self.by_output:
            other = self.by_output[out]
            job.status = INVALID
            job.message = (f"{file}: output {out} is also written by {other.key}; give the scenes different "
                           "names or render.output values")
            return False
        self.by_output[out] = job
        return True

    def _prefetch(self, scene: Scene, job: RenderJob) -> bool:
        """Fetch a render's public data here, once per item, before the workers need it; False (the job
        invalid or failed) when that fails."""
        try:
            prefetch(scene, self.atlases)
        except SceneError as err:
            job.status, job.message = INVALID, str(err)
            return False
        except RenderError as err:
            job.status, job.message = FAILED, str(err)
            return False
        return True

    def _frame_split(self, scene: Scene) -> tuple[int | None, int | None]:
        """A video's frame count and frames per task where it is split into frame ranges (None, ...: not
        split). It is split only where parallel frames pay (:mod:`scenerender.workers`)."""
        animated = "animation" in scene.spec
        n_frames = _frame_count(scene) if animated and self.workers > 1 else None
        parts = self.workers
        if n_frames and not self.frames_per_task:
            parts = frame_processes(self.workers, n_frames)[0]
            n_frames = n_frames if parts > 1 else None
        per_task = self.frames_per_task or (max(30, math.ceil(n_frames / parts)) if n_frames else None)
        return n_frames, per_task

    def _tasks(self, job: RenderJob, scene: Scene, item, out: Path, record: dict, digest: str) -> list[RenderTask]:
        """One task for the whole render, or one per frame range of a long video (its frames written
        to a hidden folder beside the output, joined when the last range is done)."""
        n_frames, per_task = self._frame_split(scene)
        if n_frames and per_task and per_task < n_frames:
            job.n_frames = n_frames
            frames_dir = out.parent / f".{out.name}.frames-{digest[:12]}"
            tasks = []
            for start in range(0, n_frames, per_task):
                stop = min(start + per_task, n_frames)
                tasks.append(RenderTask(key=f"{job.key}#{start}-{stop}", render=job.key, doc=item.doc, item=job.item,
                                        output=str(out), size=self.size, record=record, frames=(start, stop),
                                        frames_dir=str(frames_dir)))
        else:
            tasks = [RenderTask(key=job.key, render=job.key, doc=item.doc, item=job.item, output=str(out),
                                size=self.size, record=record)]
        job.tasks.extend(task.key for task in tasks)
        return tasks


def _frame_count(scene) -> int:
    """Frames of an animated scene, from its timeline spec alone (no atlas needed)."""

    spec = scene.spec["animation"]
    return frame_count(spec, max([float(k["time"]) for k in spec.get("keyframes", [])] + [0.0]))


# --------------------------------------------------------------------------- executors


def _worker_main(conn, recycle_after: int, gl_threads: int | None = None, env: dict | None = None) -> None:
    """A local worker: render tasks sent on ``conn`` until told to stop or recycled."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    if env is not None:

        adopt_environment(env)
    if gl_threads and "LP_NUM_THREADS" not in os.environ:
        # Mesa reads this when the first GL context is made: one rasteriser
        # thread per worker when the workers already fill the cores.
        os.environ["LP_NUM_THREADS"] = str(gl_threads)
    # A fork of the warm fork server has these imported already (scenerender.workers);
    # a spawned worker imports them now, while the parent is still planning the batch.

    warm_imports()
    done = 0
    while done < recycle_after:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(execute_task(task))
        done += 1


class _Worker:
    """A local worker process: a fork of the warm fork server, or a worker of the warm
    service (:mod:`scenerender.service`) that outlives this batch (``remote``)."""

    def __init__(self, context, recycle_after: int, gl_threads: int | None = None, *, remote: bool = False):
        self.task: RenderTask | None = None
        self.done = 0
        self.remote = remote
        if remote:
            self.conn, self.process, self.recycle_after = connect(gl_threads or 1, recycle_after)
            return
        parent, child = context.Pipe()
        self.conn = parent
        self.process = context.Process(target=_worker_main, args=(child, recycle_after, gl_threads, dict(os.environ)),
                                       daemon=True)
        self.process.start()
        child.close()
        self.recycle_after = recycle_after

    def give(self, task: RenderTask) -> None:
        self.task = task
        try:
            self.conn.send((execute_task, task) if self.remote else task)
        except OSError:  # it died before taking the task: seen through its sentinel and retried
            pass

    def release(self) -> None:
        """An idle worker: told that this batch is done (a service worker then waits for the next)."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        if self.remote:
            self.conn.close()
            self.process.close()
        else:
            self.process.join(5)
            self.stop()

    def stop(self) -> None:
        """End the process now (an interrupted or failed render)."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5 if self.remote else None)
        self.conn.close()
        if self.remote:
            self.process.close()


class LocalExecutor:
    """``jobs`` worker processes (:func:`scenerender.workers.context`), each recycled after ``recycle_after`` tasks."""

    def __init__(self, jobs: int = 1, *, recycle_after: int = 20, retries: int = 1, service: bool | None = None):
        self.jobs, self.recycle_after, self.retries = max(1, jobs), max(1, recycle_after), max(0, retries)
        self.workers: list[_Worker] = []
        if service is None:
            service = enabled()
        self.service = service  # warm workers of the per-user service (scenerender.service), else our own

    @property
    def description(self) -> str:
        return f"{self.jobs} local worker process{'es' if self.jobs > 1 else ''}"

    @property
    def gl_threads(self) -> int:

        return gl_threads(self.jobs)

    def _new_worker(self) -> _Worker:
        worker = None
        if self.service:
            try:
                worker = _Worker(None, self.recycle_after, self.gl_threads, remote=True)
            except ServiceUnavailable as err:
                print(f"scenerender batch: starting workers of its own (the warm worker service: {err})",
                      file=sys.stderr)
                self.service = False
        if worker is None:
            # A fork of the warm fork server (scenerender.workers), never of this process (GL state, threads).
            worker = _Worker(context(), self.recycle_after, self.gl_threads)
        self.workers.append(worker)
        return worker

    def start(self) -> None:
        """Start the workers ahead of the first task, so their imports overlap the planning:
        the service (in the background, if it is not running), else our own workers."""
        if self.service:
            try:
                ensure_started()
                return
            except ServiceUnavailable:
                self.service = False
        while len(self.workers) < self.jobs:
            self._new_worker()

    def close(self) -> None:
        for worker in self.workers:
            worker.stop() if worker.task else worker.release()
        self.workers = []

    def run(self, tasks: list[RenderTask], on_result, more=None) -> None:
        """Run ``tasks``, and the lists of tasks that ``more`` yields (the rest of the batch,
        planned here while the workers render what is already planned)."""
        from multiprocessing.connection import wait

        queue = list(tasks)
        planning = more is not None
        attempts: dict[str, int] = {}
        try:
            while queue or planning or any(w.task for w in self.workers):
                self._hand_out(queue, attempts)
                busy = [w for w in self.workers if w.task]
                waiting = [w.conn for w in busy] + [w.process.sentinel for w in busy]
                ready = wait(waiting, timeout=0) if planning and busy else [] if planning else wait(waiting)
                if planning and not ready:  # the workers are busy (or have nothing yet): plan one more render
                    try:
                        queue.extend(next(more))
                    except StopIteration:
                        planning = False
                    continue
                for worker in busy:
                    if worker.conn in ready and self._receive(worker, attempts, on_result,
                                                              nothing_left=not queue and not planning):
                        continue
                    if worker.task is not None and not worker.process.is_alive():
                        self._lost(worker, worker.task, queue, attempts, on_result)
        finally:
            in_flight = [w.task for w in self.workers if w.task]
            for worker in self.workers:
                worker.stop() if worker.task else worker.release()  # busy ones are ended: nothing half-written
            for task in in_flight:
                _remove_partial(task)
            self.workers = []

    def _hand_out(self, queue: list[RenderTask], attempts: dict[str, int]) -> None:
        """Give queued tasks to idle workers (new ones as needed), up to ``jobs`` at work."""
        while queue and len([w for w in self.workers if w.task]) < self.jobs:
            worker = next((w for w in self.workers if w.task is None), None) or self._new_worker()
            task = queue.pop(0)
            attempts[task.key] = attempts.get(task.key, 0) + 1
            worker.give(task)

    def _receive(self, worker: _Worker, attempts: dict[str, int], on_result, *, nothing_left: bool) -> bool:
        """Pass on the result a worker sent, then recycle the worker (it has done its share) or release it
        (``nothing_left`` for it); False when it sent none (it died: see :meth:`_lost`)."""
        try:
            result = worker.conn.recv() if worker.conn.poll() else None
        except (EOFError, OSError):  # the worker died; its sentinel says how
            result = None
        if result is None or worker.task is None:
            return False
        task, worker.task = worker.task, None
        worker.done += 1
        result["attempts"] = attempts[task.key]
        on_result(task, result)
        if worker.done >= worker.recycle_after:  # it exits by itself; start afresh
            worker.process.join(10)
            worker.stop()
            self.workers.remove(worker)
        elif nothing_left:
            worker.release()  # nothing left for it: back to the service now
            self.workers.remove(worker)
        return True

    def _lost(self, worker: _Worker, task: RenderTask, queue: list[RenderTask], attempts: dict[str, int],
              on_result) -> None:
        """A worker died while rendering: clean up its task's leftovers, then retry the task first in
        the queue, or report it failed once it has had its retries."""
        worker.task = None
        code = worker.process.exitcode
        worker.stop()
        self.workers.remove(worker)
        _remove_partial(task)
        how = (f"killed by signal {-code}" if code and code < 0 else
               "died" if code is None else f"exited with status {code}")
        if attempts[task.key] <= self.retries:
            print(f"scenerender batch: worker {how} while rendering {task.key}; retrying", file=sys.stderr)
            queue.insert(0, task)
        else:
            on_result(task, {"task": task.key, "status": FAILED, "attempts": attempts[task.key],
                             "seconds": 0.0,
                             "message": f"the worker process {how} while rendering "
                                        f"(tried {attempts[task.key]} times); out of memory?"})


class DaskExecutor:
    """The same tasks on a ``dask.distributed`` cluster (a scheduler address or a Client).

    Workers must import scenerender and see the scenes' data and output
    folders at the same paths (a shared filesystem, as on a cluster).
    """

    def __init__(self, scheduler, *, retries: int = 1):
        self.scheduler, self.retries = scheduler, retries

    @property
    def description(self) -> str:
        return f"Dask scheduler {getattr(self.scheduler, 'scheduler', None) and self.scheduler.scheduler.address or self.scheduler}"

    def run(self, tasks: list[RenderTask], on_result, more=None) -> None:
        tasks = [*tasks, *(task for job_tasks in (more or ()) for task in job_tasks)]
        try:
            from distributed import Client, as_completed  # lazy: the dask extra, for --scheduler only
        except ImportError:
            raise RenderError("--scheduler needs dask.distributed: pip install 'scenerender[dask]'") from None

        own = not isinstance(self.scheduler, Client)
        try:
            client = Client(self.scheduler, timeout="20s") if own else self.scheduler
        except (OSError, TimeoutError) as err:
            raise RenderError(f"cannot reach the Dask scheduler at {self.scheduler}: {err}; start one with "
                              "'dask scheduler' and workers with 'dask worker ADDRESS --nthreads 1'") from None
        try:

            client.register_plugin(warm_worker_plugin())  # imports on every worker now, and on workers that join later
            futures = {client.submit(execute_task, task, pure=False, retries=self.retries,
                                     key=f"scenerender-{os.getpid()}-{i}"): task for i, task in enumerate(tasks)}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    result = future.result()
                except Exception as err:  # e.g. KilledWorker after the cluster's own retries
                    _remove_partial(task)
                    result = {"task": task.key, "status": FAILED, "seconds": 0.0,
                              "message": f"the Dask worker failed: {type(err).__name__}: {err}"}
                result.setdefault("attempts", 1)
                on_result(task, result)
        finally:
            if own:
                client.close()


def _remove_partial(task: RenderTask) -> None:
    """Remove what an interrupted task may have left: temporary files of its output."""
    output = Path(task.output)
    folder = Path(task.frames_dir) if task.frames_dir else output.parent
    for leftover in folder.glob(".*.*"):
        if leftover.name.startswith((f".{output.name}.", ".frame_")) and leftover.is_file():
            leftover.unlink(missing_ok=True)


# --------------------------------------------------------------------------- running


@dataclass
class BatchReport:
    renders: list[RenderJob]
    executor: str
    seconds: float

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {RENDERED: 0, SKIPPED: 0, FAILED: 0, INVALID: 0}
        for job in self.renders:
            out[job.status] = out.get(job.status, 0) + 1
        return out

    @property
    def exit_status(self) -> int:
        counts = self.counts()
        return 1 if counts[FAILED] else 2 if counts[INVALID] else 0

    def to_dict(self) -> dict:

        return {"scenerender": __version__, "executor": self.executor, "seconds": round(self.seconds, 3),
                "counts": self.counts(), "exit_status": self.exit_status,
                "renders": [job.report() for job in self.renders]}


def _join_frames(job: RenderJob, task: RenderTask, fps: float, quality: int) -> None:
    """Encode a video's frame folder (made by several tasks) into its output."""
    import imageio.v3 as iio  # lazy: only a contact sheet of frames needs it


    if task.frames_dir is None or job.output is None or job.n_frames is None:
        raise RenderError(f"{job.key}: not a video rendered in frame ranges")  # not reached: planned so
    folder = Path(task.frames_dir)
    output = Path(job.output)
    first = iio.imread(folder / "frame_000000.png")
    writer = VideoWriter(output, fps=fps, size=(first.shape[1], first.shape[0]), quality=quality)
    try:
        for i in range(job.n_frames):
            writer.write(first if i == 0 else iio.imread(folder / f"frame_{i:06d}.png"))
        publish(output, writer.close, task.record)
    except BaseException:
        writer.abort()
        raise


class _Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_status = 128 + signum


class _BatchProgress:
    """One running batch: the renders planned so far, the tasks each still waits on, the frame folders
    made for split videos, and the progress said as renders finish."""

    def __init__(self, say):
        self.say = say
        self.jobs: list[RenderJob] = []
        self.by_key: dict[str, RenderJob] = {}
        self.remaining: dict[str, set[str]] = {}
        self.frame_dirs: set[str] = set()
        self.finished = 0
        self.total: int | None = None  # known once everything is planned

    def planned(self, plans):
        """The tasks of each render as ``plans`` plans it; the planning's messages said as they come."""
        said = 0
        for job_tasks in plans:
            said = self._new_jobs(said)
            for task in job_tasks:
                self._expect(task)
            yield job_tasks
        self._new_jobs(said)
        self.total = len(self.remaining)
        skipped = sum(job.status == SKIPPED for job in self.jobs)
        if skipped:
            self.say(f"{skipped} of {len(self.jobs)} renders are up to date (use --force to redo them)")

    def _new_jobs(self, said: int) -> int:
        """Index the renders planned since the first ``said``, saying which are invalid."""
        for job in self.jobs[said:]:
            self.by_key[job.key] = job
            if job.status == INVALID:
                self.say(f"invalid  {job.message}")
        return len(self.jobs)

    def _expect(self, task: RenderTask) -> None:
        """Wait for ``task`` in its render; make its frame folder (a frame range of a video)."""
        self.remaining.setdefault(task.render, set()).add(task.key)
        if task.frames_dir and task.frames_dir not in self.frame_dirs:
            self.frame_dirs.add(task.frames_dir)
            Path(task.frames_dir).mkdir(parents=True, exist_ok=True)

    def on_result(self, task: RenderTask, result: dict) -> None:
        """One task's result, counted in its render; the render is finished when its last task is in
        or one of its tasks failed."""
        job = self.by_key[task.render]
        job.seconds += result.get("seconds", 0.0)
        job.attempts = max(job.attempts, result.get("attempts", 1))
        if job.status in (FAILED, INVALID):
            return
        if result["status"] != RENDERED:
            job.status, job.message = result["status"], result.get("message", "")
        self.remaining[job.key].discard(task.key)
        if job.status in (FAILED, INVALID) or not self.remaining[job.key]:
            self._finish(job, task)

    def _finish(self, job: RenderJob, task: RenderTask) -> None:
        """A render is done: join a split video's frames, remove its frame folder, say the outcome."""
        if job.status == "pending" and task.frames is not None:
            spec = fill_defaults(task.doc.data)["animation"]
            try:
                _join_frames(job, task, float(spec["fps"]), int(spec.get("quality", 18)))
            except Exception as err:
                job.status, job.message = FAILED, f"joining the frames failed: {err}"
        if task.frames_dir:
            shutil.rmtree(task.frames_dir, ignore_errors=True)
        if job.status == "pending":
            job.status = RENDERED
        self.finished += 1
        note = f" ({job.message})" if job.message else ""
        of = f"/{self.total}" if self.total is not None else ""
        self.say(f"[{self.finished}{of}] {job.status:<8} {job.output or job.key} ({job.seconds:.1f} s){note}")


def _on_term(signum, frame):
    """SIGTERM during a batch: stop it as Ctrl-C would (its exit status says which signal)."""
    raise _Interrupted(signum)


def run_batch(scene_files: list[Path], *, executor=None, outdir: Path | None = None,
              size: tuple[int, int] | None = None, force: bool = False, frames_per_task: int | None = None,
              command: list[str] | None = None, log=None) -> BatchReport:
    """Render every scene (and sweep render) in ``scene_files`` that is not up to date."""

    say = log or (lambda text: print(text, file=sys.stderr, flush=True))
    executor = executor or LocalExecutor(1)
    start = time.perf_counter()
    progress = _BatchProgress(say)
    plans = plan_tasks(scene_files, progress.jobs, outdir=outdir, size=size, force=force,
                       workers=getattr(executor, "jobs", 2), frames_per_task=frames_per_task, command=command,
                       on_first_task=getattr(executor, "start", None))  # a generator: planned as the batch runs
    previous = signal.getsignal(signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, _on_term)
    try:
        executor.run([], progress.on_result, more=progress.planned(plans))
    finally:
        getattr(executor, "close", lambda: None)()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        for folder in progress.frame_dirs:  # a video left unjoined (interrupted, failed) leaves nothing behind
            shutil.rmtree(folder, ignore_errors=True)
    return BatchReport(renders=progress.jobs, executor=executor.description, seconds=time.perf_counter() - start)


def write_report(report: BatchReport, path: Path) -> Path:
    """The JSON report, written atomically."""

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json_atomic(path, report.to_dict())


def summary_table(report: BatchReport) -> str:
    """A plain-text table of every render, then the totals."""
    rows = [(job.status, job.output or job.key, f"{job.seconds:.1f}", job.message.splitlines()[0] if job.message else "")
            for job in report.renders]
    width = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(("status", "output", "s"))]
    lines = [f"{'status':<{width[0]}}  {'output':<{width[1]}}  {'s':>{width[2]}}  message"]
    lines += [f"{s:<{width[0]}}  {o:<{width[1]}}  {t:>{width[2]}}  {m}" for s, o, t, m in rows]
    counts = report.counts()
    lines.append(", ".join(f"{n} {state}" for state, n in counts.items() if n or state == RENDERED)
                 + f" in {report.seconds:.1f} s on {report.executor}")
    return "\n".join(lines)
