"""Worker processes that start warm, with thread counts that do not fight.

Every render worker (``scenerender batch`` and video frames with ``--jobs
N``) needs brainglobe-atlasapi (with dask, pandas, s3fs), pyvista and VTK
imported: about 3-4 s of a cold interpreter. Workers are therefore made by a
*fork server* that imported all of that once (``multiprocessing``'s
``forkserver`` start method with a preload): each worker is a fork of that
clean, warm server (it never holds a GL context, a window or a render
thread), not of the parent, and the server lives as long as the parent
process, so later batches and recycled workers start warm too. Where
``forkserver`` does not exist (Windows), workers are spawned as before.

Thread counts: llvmpipe (Mesa's software OpenGL) starts one rasteriser
thread per core in *each* process, and BLAS libraries do the same. With N
workers each worker gets ``LP_NUM_THREADS = cores // N`` (at least 1) and
one BLAS thread, unless the user set those variables; the parent keeps its
own. On Dask, :func:`warm_worker_plugin` (a worker plugin) does the imports on
every worker when it starts; a worker cannot know how many others share its
machine, so its Mesa threads stay as the cluster's environment sets them.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os

from .paths import use_system_arrow_pool

#: Set to one thread in the fork server (and so in every worker), unless already set.
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
PRELOAD = "scenerender._warm"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def gl_threads(jobs: int) -> int:
    """llvmpipe threads per worker when ``jobs`` workers share this machine's cores."""
    return max(1, usable_cores() // max(1, jobs))


#: ``auto`` (default), ``1`` (always split a video's frames over ``--jobs`` processes) or ``0`` (never).
PARALLEL_FRAMES_ENV = "SCENERENDER_PARALLEL_FRAMES"
#: Frames each frame process must draw to pay for its start (a fork, a window, its shaders, the meshes).
MIN_FRAMES_PER_PROCESS = 30


def hardware_gl() -> bool:
    """Whether offscreen OpenGL here is a GPU's (NVIDIA's EGL), not Mesa's software llvmpipe."""
    if os.environ.get("LIBGL_ALWAYS_SOFTWARE") or os.environ.get("GALLIUM_DRIVER") in ("llvmpipe", "softpipe"):
        return False
    if os.environ.get("VTK_DEFAULT_OPENGL_WINDOW") == "vtkOSMesaRenderWindow":
        return False
    return os.path.exists("/dev/nvidia0")


def frame_processes(jobs: int, n_frames: int) -> tuple[int, str | None]:
    """How many processes should draw a video of ``n_frames`` asked for ``jobs``, and why fewer.

    Software OpenGL (Mesa llvmpipe) already spreads one frame over every core
    (``LP_NUM_THREADS``), so a frame process pays only with at least 2 cores
    of its own; each must also draw :data:`MIN_FRAMES_PER_PROCESS` frames to
    pay for its start. Measured on 2 cores: 2 processes drew at 1.06x the
    serial rate and the whole video took 1.4x as long (bench/video.py).
    """
    if jobs <= 1:
        return 1, None
    choice = os.environ.get(PARALLEL_FRAMES_ENV, "auto").strip().lower()
    if choice in ("1", "on", "yes", "true", "always"):
        return jobs, None
    if choice in ("0", "off", "no", "false", "never"):
        return 1, f"{PARALLEL_FRAMES_ENV}={choice}"
    cores = usable_cores()
    by_cores = cores if hardware_gl() else cores // 2
    by_frames = n_frames // MIN_FRAMES_PER_PROCESS
    n = min(jobs, by_cores, by_frames)
    if n >= jobs:
        return jobs, None
    if by_cores < jobs and by_cores <= by_frames:
        why = (f"on {cores} core{'s' if cores != 1 else ''} with software OpenGL (Mesa llvmpipe) one process "
               "already draws each frame on every core" if not hardware_gl() else f"{cores} cores")
    else:
        why = f"{n_frames} frames are too few to pay for starting {jobs} processes"
    return max(1, n), why


#: Variables a process reads once (at import, or at its first GL context): a warm process
#: keeps its own where the caller's environment does not set them (e.g. the EGL window
#: that importing the renderer chose without a display).
PROCESS_ENV = ("LP_", "GALLIUM_", "MESA_", "LIBGL_", "VTK_", "EGL_", "__EGL", "__GLX", "PYTHON", "LD_",
               "OMP_", "OPENBLAS_", "MKL_", "BLIS_", "DISPLAY", "WAYLAND_", "PYVISTA_")


def adopt_environment(env: dict) -> None:
    """In a new worker: the parent's environment as it is now. A fork of the fork server
    starts with the server's, taken when the server started; since then the parent may
    have set the sandbox, limits or service addresses (all passed in the environment)."""
    own = {k: v for k, v in os.environ.items() if k.startswith(PROCESS_ENV) and k not in env}
    os.environ.clear()
    os.environ.update(env)
    os.environ.update(own)


def set_worker_threads(jobs: int) -> None:
    """In a new worker, before its first GL context: its share of the cores."""
    os.environ.setdefault("LP_NUM_THREADS", str(gl_threads(jobs)))
    for name in BLAS_VARIABLES:
        os.environ.setdefault(name, "1")


@contextlib.contextmanager
def _blas_single_threaded():
    """The environment the fork server starts with (it imports numpy, which
    starts its BLAS threads then); the parent's own is put back after."""
    saved = {name: os.environ.get(name) for name in BLAS_VARIABLES}
    for name in BLAS_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def context():
    """The multiprocessing context render workers are made in: a warm fork server, or spawn."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    from multiprocessing import forkserver

    server = forkserver._forkserver  # the one process-wide server (private: its preload list is read here)
    if PRELOAD not in server._preload_modules:
        ctx.set_forkserver_preload([*server._preload_modules, PRELOAD])
    with _blas_single_threaded():
        server.ensure_running()
    return ctx


def warm_worker_plugin():
    """A ``dask.distributed`` worker plugin: the heavy imports done when each
    worker starts (or when the plugin is registered), not in its first task.

    Registered by ``scenerender batch --scheduler`` on the cluster it is
    given; register it yourself with ``client.register_plugin(warm_worker_plugin())``.
    """
    # lazy: optional extra (scenerender[dask])
    from distributed.diagnostics.plugin import WorkerPlugin

    class WarmWorker(WorkerPlugin):
        name = "scenerender-warm-worker"
        idempotent = True

        def setup(self, worker) -> None:
            warm_imports()

    return WarmWorker()


def warm_imports() -> None:
    """Import what every render needs (pyvista, the actor and source modules), so a
    worker process pays for it before its first task. brainglobe-atlasapi is not among
    them: local atlases are read without it (:mod:`scenerender.atlas_local`).

    Opens no window and starts no thread: safe in a fork server's preload.
    """
    use_system_arrow_pool()  # before pandas (a worker process is ours, as the command's is)
    # lazy: importing them when asked is this function's job (a fork server preloads them)
    import pandas  # noqa: F401  (every tabular source is read into a DataFrame: 0.3-0.7 s a fresh worker saves)
    import pyvista.plotting  # noqa: F401

    # lazy: as above; at module top they would load in every process that imports workers
    from . import actors, compile, renderer, sources  # noqa: F401

    actors.registered_actors()
