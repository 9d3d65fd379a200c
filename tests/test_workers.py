"""Render workers start warm (heavy modules imported before their first task),
with their share of the cores."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from scenerender import workers

HEAVY = ("pyvista", "vtkmodules.vtkRenderingOpenGL2", "scenerender.atlas_local", "scenerender.renderer")
#: Not needed for a local atlas (scenerender.atlas_local reads them without it): not imported by warming.
UNNEEDED = ("brainglobe_atlasapi",)


def _report(queue) -> None:
    queue.put({"modules": {name: name in sys.modules for name in HEAVY + UNNEEDED},
               "blas": os.environ.get("OPENBLAS_NUM_THREADS")})


def test_a_local_worker_starts_with_the_heavy_modules_imported():
    ctx = workers.context()
    queue = ctx.Queue()
    process = ctx.Process(target=_report, args=(queue,))
    process.start()
    got = queue.get(timeout=300)
    process.join(30)
    assert got["modules"] == {**{name: True for name in HEAVY}, **{name: False for name in UNNEEDED}}
    assert got["blas"] == os.environ.get("OPENBLAS_NUM_THREADS", "1")


def test_worker_threads_share_the_cores(monkeypatch):
    for name in ("LP_NUM_THREADS", *workers.BLAS_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    cores = len(os.sched_getaffinity(0))
    workers.set_worker_threads(2)
    assert os.environ["LP_NUM_THREADS"] == str(max(1, cores // 2))
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("LP_NUM_THREADS", "7")  # the user's choice is kept
    workers.set_worker_threads(2)
    assert os.environ["LP_NUM_THREADS"] == "7"


def _imported(names):
    return {name: name in sys.modules for name in names}


@pytest.mark.slow
def test_dask_workers_are_warmed_by_the_plugin():
    distributed = pytest.importorskip("distributed")
    # A free port for the scheduler's HTTP server: the default 8787 may be taken on a shared machine.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0") as cluster, \
            distributed.Client(cluster) as client:
        before = next(iter(client.run(_imported, HEAVY).values()))
        assert not before["pyvista"], "a fresh Dask worker should not have pyvista yet"
        client.register_plugin(workers.warm_worker_plugin())
        after = next(iter(client.run(_imported, HEAVY).values()))
        assert after == {name: True for name in HEAVY}


# --------------------------------------------------------------------------- the warm worker service


def _two_regions(folder: Path) -> Path:
    scene = folder / "regions.yaml"
    scene.write_text(textwrap.dedent("""\
        version: 1
        atlas: embedded
        sweep:
          product:
            region: [TH, CP]
          name: "{region}"
        actors:
          - kind: region
            regions: ${region}
        render:
          size: [96, 72]
        """))
    return scene


def test_a_second_batch_gets_the_warm_workers_of_the_first(fresh_service, tmp_path):
    from scenerender.batch import RENDERED, LocalExecutor, plan_batch

    runs = []
    for run in range(2):
        jobs, tasks = plan_batch([_two_regions(tmp_path)], outdir=tmp_path / f"out{run}", force=True, workers=1)
        assert len(tasks) == 2, [job.message for job in jobs]
        results = []
        LocalExecutor(1, service=True).run(tasks, lambda task, result: results.append(result))
        runs.append(results)
    assert [r["status"] for results in runs for r in results] == [RENDERED] * 4
    pids = {r["pid"] for results in runs for r in results}
    assert len(pids) == 1, "the second batch should reuse the first batch's worker"
    (pid,) = pids
    worker = psutil.Process(pid)
    assert worker.is_running() and worker.ppid() != os.getpid(), "a service worker that outlives the batch"
    for run in range(2):
        assert sorted(p.name for p in (tmp_path / f"out{run}" / "regions").glob("*.png")) == ["CP.png", "TH.png"]


def test_a_service_worker_takes_each_callers_environment_and_folder(fresh_service, tmp_path, monkeypatch):
    from scenerender import service

    seen = []
    for mark in ("first", "second"):
        here = tmp_path / mark
        here.mkdir()
        monkeypatch.chdir(here)
        monkeypatch.setenv("SCENERENDER_TEST_MARK", mark)
        conn, process, _ = service.connect(1, 20)
        try:
            for call in ((os.getenv, "SCENERENDER_TEST_MARK"), (os.path.abspath, "."), (os.path.realpath, ".")):
                conn.send(call)
                seen.append(conn.recv())
            seen.append(process.pid)
        finally:
            conn.send(None)
            conn.close()
    assert seen[0] == "first" and seen[4] == "second"
    assert Path(seen[2]) == (tmp_path / "first").resolve() and Path(seen[6]) == (tmp_path / "second").resolve()
    assert seen[3] == seen[7], "the same warm worker served both callers"


def test_the_service_ends_after_its_idle_timeout(fresh_service):
    from scenerender import service

    conn, process, _ = service.connect(1, 20)
    conn.send(None)
    conn.close()
    sockets = list(fresh_service.glob("*/s"))
    assert len(sockets) == 1
    deadline = time.monotonic() + 120
    while (sockets[0].exists() or process.is_alive()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not sockets[0].exists(), "the service should remove its socket when it ends"
    assert not process.is_alive(), "its idle worker should end with it"


def test_parallel_frames_only_where_they_pay(monkeypatch):
    """``--jobs N`` for a video: N processes only with 2 cores each (software GL) and 30 frames each."""
    monkeypatch.delenv(workers.PARALLEL_FRAMES_ENV, raising=False)
    monkeypatch.setattr(workers, "hardware_gl", lambda: False)
    monkeypatch.setattr(workers, "usable_cores", lambda: 2)
    n, why = workers.frame_processes(2, 120)
    assert n == 1 and "2 cores" in why and "llvmpipe" in why
    monkeypatch.setattr(workers, "usable_cores", lambda: 16)
    assert workers.frame_processes(4, 600) == (4, None)
    assert workers.frame_processes(16, 600)[0] == 8  # 16 cores / 2 per process
    n, why = workers.frame_processes(4, 60)  # 60 frames pay for 2 processes, not 4
    assert n == 2 and "60 frames" in why
    monkeypatch.setattr(workers, "hardware_gl", lambda: True)
    assert workers.frame_processes(16, 600) == (16, None)
    monkeypatch.setenv(workers.PARALLEL_FRAMES_ENV, "1")
    monkeypatch.setattr(workers, "usable_cores", lambda: 2)
    assert workers.frame_processes(2, 10) == (2, None)
    monkeypatch.setenv(workers.PARALLEL_FRAMES_ENV, "0")
    assert workers.frame_processes(8, 6000)[0] == 1


def test_a_video_asked_for_two_processes_on_two_cores_is_drawn_serially(tmp_path, monkeypatch, capfd):
    import scenerender

    monkeypatch.delenv(workers.PARALLEL_FRAMES_ENV, raising=False)
    monkeypatch.setattr(workers, "hardware_gl", lambda: False)
    monkeypatch.setattr(workers, "usable_cores", lambda: 2)
    spec = {"version": 1, "atlas": "embedded", "actors": [{"kind": "root"}], "render": {"size": [64, 48]},
            "animation": {"fps": 4, "duration": 1, "orbit": {"degrees": 90, "axis": "superior"}}}
    before = set(psutil.Process().children(recursive=True))
    scenerender.render_video(spec, tmp_path / "frames", jobs=2, progress=False)
    assert len(list((tmp_path / "frames").glob("*.png"))) == 5
    assert "drawing the frames in 1 process, not 2" in capfd.readouterr().err
    assert set(psutil.Process().children(recursive=True)) <= before, "no frame process was started"
