"""Render workers start warm (heavy modules imported before their first task),
with their share of the cores."""

from __future__ import annotations

import os
import sys

import pytest

from scenerender import workers

HEAVY = ("pyvista", "vtkmodules.vtkRenderingOpenGL2", "brainglobe_atlasapi", "scenerender.renderer")


def _report(queue) -> None:
    queue.put({"modules": {name: name in sys.modules for name in HEAVY},
               "blas": os.environ.get("OPENBLAS_NUM_THREADS")})


def test_a_local_worker_starts_with_the_heavy_modules_imported():
    ctx = workers.context()
    queue = ctx.Queue()
    process = ctx.Process(target=_report, args=(queue,))
    process.start()
    got = queue.get(timeout=300)
    process.join(30)
    assert got["modules"] == {name: True for name in HEAVY}
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
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        before = next(iter(client.run(_imported, HEAVY).values()))
        assert not before["pyvista"], "a fresh Dask worker should not have pyvista yet"
        client.register_plugin(workers.warm_worker_plugin())
        after = next(iter(client.run(_imported, HEAVY).values()))
        assert after == {name: True for name in HEAVY}
