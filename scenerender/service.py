"""A warm worker service that outlives one batch.

``scenerender batch`` (and the Python API's batch executor) gets its local
workers from a per-user *service*: one background process that imported the
heavy modules once (as the fork server of :mod:`scenerender.workers` does)
and forks render workers from that clean, warm state. A worker that finished
a batch is kept, idle, for the next one, with its process caches (opened
atlases, meshes, brain masks) still warm, so a second batch starts rendering
at once instead of paying ~4 s of imports and the atlas opening per worker.

* **Started on first use**, in its own session (Ctrl-C in a terminal reaches
  the batch, which stops its busy workers itself), and **ends by itself** after
  ``SCENERENDER_WORKER_IDLE`` seconds without work (default 300), taking its
  idle workers with it and removing its socket.
* **Private**: a Unix socket in a folder only its user can enter
  (``$XDG_RUNTIME_DIR/scenerender-UID/KEY``, or the temporary folder; 0700,
  checked), and every connection is authenticated with a random key kept there
  (0600) before anything is read from it.
* **The same code and process settings**: ``KEY`` digests the interpreter, the
  scenerender package (its folder, version and newest source file) and the
  environment variables that a process reads once (Mesa, VTK, BLAS, Python,
  the loader); anything different gets a service of its own.
* **The caller's settings for every batch**: each connection brings the
  caller's environment (limits, the sandbox, service addresses are all
  environment variables), working folder and umask, which the worker adopts
  before its first task; its process caches are emptied when that environment
  changed since its previous batch.
* **Limits kept**: a worker ends after its ``recycle_after`` renders (over all
  the batches it served) and is replaced by a fresh fork; one interrupted
  batch stops its own busy workers (SIGTERM), never the others.

``SCENERENDER_WORKER_SERVICE=0`` turns it off (workers then come from a fork
server that lives as long as the batch, as before); it is off where there is no
``fork``, no Unix socket or no ``pidfd`` (not Linux).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from . import cache
from ._version import __version__
from .workers import PROCESS_ENV, adopt_environment, BLAS_VARIABLES, warm_imports, gl_threads

SERVICE_ENV = "SCENERENDER_WORKER_SERVICE"
IDLE_ENV = "SCENERENDER_WORKER_IDLE"
DIR_ENV = "SCENERENDER_SERVICE_DIR"
DEFAULT_IDLE = 300.0
START_TIMEOUT = 180.0
SOCKET_NAME = "s"


class ServiceUnavailable(Exception):
    """No service here: the caller starts its own workers instead."""


def enabled() -> bool:
    return (os.environ.get(SERVICE_ENV, "1").strip().lower() not in ("0", "off", "no", "false")
            and hasattr(socket, "AF_UNIX") and hasattr(os, "fork") and hasattr(os, "pidfd_open"))


def idle_timeout() -> float:
    try:
        return max(1.0, float(os.environ.get(IDLE_ENV, DEFAULT_IDLE)))
    except ValueError:
        return DEFAULT_IDLE


def _private_dir(path: Path) -> Path:
    """``path`` as a folder that only this user can enter (made if missing), or ServiceUnavailable."""
    try:
        path.mkdir(mode=0o700, parents=False, exist_ok=True)
        st = os.lstat(path)
    except OSError as err:
        raise ServiceUnavailable(f"{path}: {err}") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise ServiceUnavailable(f"{path} is not a private folder of this user")
    return path


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def service_key() -> str:
    package = _package_dir()
    newest = max((p.stat().st_mtime_ns for p in package.rglob("*.py")), default=0)
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(PROCESS_ENV))
    text = repr((sys.executable, sys.version, str(package), __version__, newest, sys.path, env))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def service_dir() -> Path:
    base = os.environ.get(DIR_ENV)
    if base:
        root = Path(base)
    else:
        root = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"scenerender-{os.getuid()}"
    folder = _private_dir(_private_dir(root) / service_key())
    if len(str(folder / SOCKET_NAME)) > 100:  # AF_UNIX paths are short
        raise ServiceUnavailable(f"{folder}: path too long for a socket")
    return folder


def _authkey(folder: Path) -> bytes:
    path = folder / "authkey"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise ServiceUnavailable(f"{path} is not a private file of this user") from None
        return path.read_bytes()
    key = os.urandom(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


@contextlib.contextmanager
def _locked(folder: Path):
    import fcntl

    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- the caller's side

def _log(folder: Path) -> str:
    try:
        return (folder / "log").read_text(errors="replace")[-2000:].strip() or "no message"
    except OSError:
        return "no message"


def _service_pid(folder: Path) -> int | None:
    """The service's process id, while it runs."""
    try:
        pid = int((folder / "pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _starting(folder: Path) -> bool:
    """A service launched less than START_TIMEOUT ago still runs (it may still be importing)."""
    try:
        age = time.time() - (folder / "pid").stat().st_mtime
    except OSError:
        return False
    return age < START_TIMEOUT and _service_pid(folder) is not None



def _try_connect(folder: Path, key: bytes):
    from multiprocessing.connection import Client

    try:
        return Client(str(folder / SOCKET_NAME), family="AF_UNIX", authkey=key)
    except (FileNotFoundError, ConnectionRefusedError):
        return None


def ensure_started() -> Path:
    """The service's folder, starting the service (in the background) if none answers there."""
    if not enabled():
        raise ServiceUnavailable("turned off")
    folder = service_dir()
    with _locked(folder):
        key = _authkey(folder)
        conn = _try_connect(folder, key)
        if conn is not None:
            conn.close()  # the service sees EOF before a hello, and goes on
            return folder
        if _starting(folder):
            return folder  # started a moment ago (by us or another batch), still importing
        with contextlib.suppress(FileNotFoundError):
            (folder / SOCKET_NAME).unlink()  # stale: no one answers
        env = dict(os.environ)
        # the same modules as this process, wherever it was started from
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p or os.getcwd()) for p in sys.path)
        with open(folder / "log", "wb") as log:
            # it forks itself into the background and says its process id
            launcher = subprocess.run(
                [sys.executable, "-m", "scenerender.service", str(folder), str(idle_timeout()), str(_package_dir())],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, close_fds=True,
                start_new_session=True, cwd="/", env=env, timeout=60, check=False)
        try:
            pid = int(launcher.stdout.split()[0])
        except (ValueError, IndexError):
            raise ServiceUnavailable(f"the worker service did not start: {_log(folder)}") from None
        (folder / "pid").write_text(f"{pid}\n")
    return folder


def connect(gl_threads: int, recycle_after: int):
    """A warm worker for this caller: ``(connection, RemoteProcess, renders_left)``."""
    folder = ensure_started()
    key = _authkey(folder)
    deadline = time.monotonic() + START_TIMEOUT
    relaunched = False
    while True:
        conn = _try_connect(folder, key)
        if conn is not None:
            try:
                conn.send({"env": dict(os.environ), "cwd": os.getcwd(), "umask": _umask(),
                           "gl_threads": gl_threads, "recycle_after": recycle_after})
                if conn.poll(START_TIMEOUT):
                    hello = conn.recv()
                    return conn, RemoteProcess(hello["pid"]), hello["renders_left"]
            except (EOFError, OSError):
                pass
            conn.close()  # the service ended meanwhile (idle): start another
            folder = ensure_started()
        if _service_pid(folder) is None and _try_connect(folder, key) is None:
            if relaunched:
                raise ServiceUnavailable(f"the worker service ended: {_log(folder)}")
            relaunched, folder = True, ensure_started()  # it had just ended (idle)
        if time.monotonic() > deadline:
            raise ServiceUnavailable("the worker service did not answer")
        time.sleep(0.05)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class RemoteProcess:
    """A service worker seen from the batch: the subset of ``multiprocessing.Process`` it uses,
    through a pidfd (so a signal never reaches a process that reused the number)."""

    def __init__(self, pid: int):
        self.pid = pid
        self._fd = os.pidfd_open(pid)
        self.exitcode = None  # not our child: its status is the service's to collect

    @property
    def sentinel(self) -> int:
        return self._fd

    def is_alive(self) -> bool:
        if self._fd < 0:
            return False
        return not select.select([self._fd], [], [], 0)[0]

    def join(self, timeout: float | None = None) -> None:
        if self._fd >= 0:
            select.select([self._fd], [], [], timeout)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self._fd, signum)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# --------------------------------------------------------------------------- the service


def _quiet_exit(signum, _frame) -> None:
    os._exit(128 + signum)


def _worker_loop(control) -> None:
    """A forked worker: serve one caller's connection after another (handed over by the service)."""
    from multiprocessing.connection import Connection
    from multiprocessing.reduction import recv_handle

    signal.signal(signal.SIGINT, _quiet_exit)
    signal.signal(signal.SIGTERM, _quiet_exit)
    renders, last_env = 0, None
    while True:
        try:
            conn = Connection(recv_handle(control))
            hello = control.recv()  # read by the service, which chose this worker for it
        except (EOFError, OSError):
            return
        try:
            env = dict(hello["env"])
            if env != last_env:
                cache.clear()  # an atlas opened under another caller's settings (sandbox, folders)
            last_env = env
            adopt_environment(env)  # keeps this process's thread counts and GL window choice
            os.chdir(hello["cwd"])
            os.umask(hello["umask"])
            limit = max(1, int(hello["recycle_after"]))
            conn.send({"pid": os.getpid(), "renders_left": max(1, limit - renders)})
            while True:
                message = conn.recv()
                if message is None:
                    break
                function, argument = message
                result = function(argument)
                renders += 1
                conn.send(result)
                if renders >= limit:
                    return  # recycled: the caller saw renders_left
        except (EOFError, OSError):
            pass
        finally:
            conn.close()
        try:
            control.send("idle")
        except OSError:
            return


class _Service:
    """The service process: a listening socket, and the workers it forked (pid -> state)."""

    def __init__(self, folder: Path, idle: float):
        from multiprocessing.connection import Listener

        self.idle = idle
        self.listener = Listener(str(folder / SOCKET_NAME), family="AF_UNIX",
                                 authkey=(folder / "authkey").read_bytes())
        # The listening socket, waited on with the workers' control pipes; multiprocessing offers no public
        # handle to it (CPython's Listener keeps it at _listener._socket).
        self.socket = self.listener._listener._socket  # type: ignore[attr-defined]
        self.workers: dict[int, dict] = {}  # pid -> {"pid", "control", "idle", "gl"}
        self.max_idle = max(2, gl_threads(1))
        self.last = time.monotonic()

    def fork_worker(self, threads: int) -> dict:
        import multiprocessing as mp

        parent, child = mp.Pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                self.socket.close()  # our copy only; the socket file stays the service's
                parent.close()
                for other in self.workers.values():
                    other["control"].close()
                os.environ["LP_NUM_THREADS"] = os.environ.get("LP_NUM_THREADS") or str(threads)
                _worker_loop(child)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        child.close()
        worker = {"pid": pid, "control": parent, "idle": False, "gl": threads}
        self.workers[pid] = worker
        return worker

    def drop(self, worker: dict) -> None:
        worker["control"].close()  # an idle worker sees EOF and exits; a busy one after its batch
        self.workers.pop(worker["pid"], None)

    def reap(self, ready) -> None:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        for worker in list(self.workers.values()):
            if worker["control"] in ready:
                try:
                    worker["control"].recv()
                    worker["idle"], self.last = True, time.monotonic()
                except (EOFError, OSError):  # ended (recycled, killed)
                    self.drop(worker)
        for worker in [w for w in self.workers.values() if w["idle"]][self.max_idle:]:
            self.drop(worker)

    def hand_over(self) -> None:
        """A caller connected: give its connection (and its hello) to a warm worker."""
        import multiprocessing as mp
        from multiprocessing.reduction import send_handle

        try:
            conn = self.listener.accept()  # authenticated before anything is read
        except (OSError, EOFError, mp.AuthenticationError):
            return
        try:
            if not conn.poll(10):
                return
            hello = conn.recv()
            threads = max(1, int(hello["gl_threads"]))
            worker = next((w for w in self.workers.values() if w["idle"] and w["gl"] == threads), None)
            worker = worker or self.fork_worker(threads)
            worker["idle"], self.last = False, time.monotonic()
            send_handle(worker["control"], conn.fileno(), worker["pid"])
            worker["control"].send(hello)
        except (EOFError, OSError, KeyError, TypeError, ValueError):
            pass
        finally:
            conn.close()

    def busy(self) -> bool:
        return any(not w["idle"] for w in self.workers.values())

    def run(self, stop: list) -> None:
        from multiprocessing.connection import wait

        try:
            while not stop:
                left = self.idle - (time.monotonic() - self.last)
                ready = wait([self.socket, *(w["control"] for w in self.workers.values())],
                             timeout=min(5.0, max(0.0, left)))
                self.reap(ready)
                if self.socket in ready:
                    self.hand_over()
                elif not ready and not self.busy() and time.monotonic() - self.last >= self.idle:
                    return
        finally:
            self.listener.close()  # removes the socket file
            for worker in list(self.workers.values()):
                self.drop(worker)


def serve(folder: Path, idle: float, package: str | None = None) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop: list = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    for name in BLAS_VARIABLES:
        os.environ.setdefault(name, "1")
    if package is not None and str(_package_dir()) != package:
        print(f"scenerender service: imported {_package_dir()}, expected {package}", file=sys.stderr)
        return 1
    warm_imports()
    _Service(folder, idle).run(stop)
    return 0


def _main(argv: list[str]) -> int:
    """Started by :func:`ensure_started`: fork into the background, print the service's pid, serve."""
    pid = os.fork()
    if pid:
        print(pid, flush=True)
        return 0
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    return serve(Path(argv[0]), float(argv[1]), argv[2] if len(argv) > 2 else None)


if __name__ == "__main__":
    code = _main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)
