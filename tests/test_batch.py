"""Batch rendering: sweeps, failure isolation, resuming, killed workers, Dask.

Everything runs for real: spawned worker processes with their own offscreen
windows, a real ``distributed.LocalCluster``, real signals.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

import scenerender
from scenerender.compile import load_scene

REGIONS = ["TH", "CP", "CB", "HIP", "HY", "MB", "P", "MY", "OLF", "PAL", "CTXsp", "STR"]
SIZE = "160x120"


def batch(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "scenerender", "batch", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def region_sweep(folder: Path, regions=REGIONS) -> Path:
    return write(folder / "regions.yaml", f"""\
        version: 1
        atlas: embedded
        sweep:
          product:
            region: [{", ".join(regions)}]
          name: "{{region}}"
        actors:
          - kind: region
            regions: ${{region}}
        camera:
          preset: top
        render:
          background: black
        """)


def decode(video: Path, width: int = 96, height: int = 72) -> np.ndarray:
    """Every frame of a video, decoded by ffmpeg to RGB."""
    import imageio_ffmpeg

    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def leftovers(folder: Path) -> list[Path]:
    """Temporary or hidden files a render may leave behind."""
    return [p for p in folder.rglob(".*")]


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    scene = region_sweep(folder)
    result = batch(scene, "-o", folder / "out", "--jobs", 2, "--size", SIZE)
    return folder, scene, result


def test_sweep_of_12_regions_gives_12_predictably_named_images(sweep_run):
    folder, scene, result = sweep_run
    assert result.returncode == 0, result.stderr
    out = folder / "out" / "regions"
    assert sorted(p.name for p in out.glob("*.png")) == sorted(f"{r}.png" for r in REGIONS)
    masks = {}
    for region in REGIONS:
        image = iio.imread(out / f"{region}.png")
        assert image.shape == (120, 160, 3)
        masks[region] = image.max(axis=2) > 0
        assert masks[region].sum() > 20, f"{region} drew nothing"
        record = json.loads((out / f"{region}.png.scenerender.json").read_text())
        assert record["sweep_values"] == {"region": region}
        assert record["fingerprint"]["atlas"]["name"] == "allen_mouse_scenerender_100um"
    # Each image shows its own region: the sweep substituted the values.
    assert len({m.tobytes() for m in masks.values()}) == len(REGIONS)
    report = json.loads((folder / "out" / "batch-report.json").read_text())
    assert report["counts"]["rendered"] == 12 and report["exit_status"] == 0


@pytest.mark.parametrize("region", ["TH", "CB"])
def test_batch_images_equal_a_direct_render(sweep_run, region):
    folder, scene, _ = sweep_run
    direct = scenerender.render(load_scene(scene, item=region), size=(160, 120))
    assert np.array_equal(direct, iio.imread(folder / "out" / "regions" / f"{region}.png"))


def test_rerun_skips_everything_up_to_date(sweep_run):
    folder, scene, _ = sweep_run
    before = {p: p.stat().st_mtime_ns for p in (folder / "out").rglob("*.png")}
    result = batch(scene, "-o", folder / "out", "--jobs", 2, "--size", SIZE)
    assert result.returncode == 0, result.stderr
    assert "12 of 12 renders are up to date" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_same_batch_on_a_dask_local_cluster_gives_identical_images(sweep_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    folder, scene, _ = sweep_run
    # Points are checked against the annotation, a dask array read inside the worker's task.
    (tmp_path / "cells.csv").write_text("ap,dv,lr\n5000,3000,4000\n6000,3500,4500\n8000,4000,3000\n")
    cells = write(tmp_path / "cells.yaml", """\
        version: 1
        sources:
          cells: {kind: points, path: cells.csv, space: atlas}
        actors:
          - kind: points
            source: cells
            radius: 300
        """)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                                  env={"LP_NUM_THREADS": "1"}) as cluster:
        result = batch(scene, cells, "-o", tmp_path / "dask", "--scheduler", cluster.scheduler_address,
                       "--size", SIZE)
    assert result.returncode == 0, result.stderr
    assert "Dask scheduler" in result.stderr
    direct = scenerender.render(cells, size=(160, 120))
    assert np.array_equal(direct, iio.imread(tmp_path / "dask" / "cells.png"))
    for region in REGIONS:
        local = iio.imread(folder / "out" / "regions" / f"{region}.png")
        assert np.array_equal(local, iio.imread(tmp_path / "dask" / "regions" / f"{region}.png")), region


def test_a_broken_scene_does_not_stop_the_others(tmp_path):
    good = write(tmp_path / "good.yaml", """\
        version: 1
        actors: [{kind: root}]
        """)
    schema_error = write(tmp_path / "bad_alpha.yaml", """\
        version: 1
        actors:
          - kind: root
            alpha: 3
        """)
    unknown_region = write(tmp_path / "bad_region.yaml", """\
        version: 1
        actors:
          - kind: region
            regions: [TH, Thal]
        """)
    missing_data = write(tmp_path / "missing_data.yaml", """\
        version: 1
        sources:
          cells: {kind: points, path: no_such_cells.csv, space: atlas}
        actors:
          - kind: points
            source: cells
        """)
    result = batch(tmp_path / "*.yaml", "-o", tmp_path / "out", "--jobs", 2, "--size", "96x72")
    assert result.returncode == 2, result.stderr
    assert (tmp_path / "out" / "good.png").is_file()
    for name in ("bad_alpha", "bad_region", "missing_data"):
        assert not (tmp_path / "out" / f"{name}.png").exists()
    assert "Traceback" not in result.stderr
    assert "bad_alpha.yaml:4:" in result.stderr and "greater than the maximum 1" in result.stderr
    assert "bad_region.yaml:4:" in result.stderr and "unknown region 'Thal'" in result.stderr
    assert "no_such_cells.csv" in result.stderr
    report = json.loads((tmp_path / "out" / "batch-report.json").read_text())
    states = {Path(r["scene_file"]).stem: r["status"] for r in report["renders"]}
    assert states == {"good": "rendered", "bad_alpha": "invalid", "bad_region": "invalid", "missing_data": "invalid"}
    assert not leftovers(tmp_path / "out")


def test_changing_one_data_file_rerenders_only_the_scenes_that_use_it(tmp_path):
    for name, rows in (("a.csv", "5000,3000,4000\n6000,3500,4500\n"), ("b.csv", "8000,4000,3000\n")):
        (tmp_path / name).write_text("ap,dv,lr\n" + rows)
    for scene, data in (("uses_a", "a.csv"), ("uses_b", "b.csv"), ("also_a", "a.csv")):
        write(tmp_path / f"{scene}.yaml", f"""\
            version: 1
            sources:
              cells: {{kind: points, path: {data}, space: atlas}}
            actors:
              - kind: root
                alpha: 0.2
              - kind: points
                source: cells
                radius: 200
            """)
    first = batch(tmp_path / "*.yaml", "-o", tmp_path / "out", "--jobs", 2, "--size", "96x72")
    assert first.returncode == 0, first.stderr
    stamps = {p.stem: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.png")}
    assert set(stamps) == {"uses_a", "uses_b", "also_a"}

    # A touch that leaves the bytes alone changes nothing the image depends on.
    os.utime(tmp_path / "b.csv")
    again = batch(tmp_path / "*.yaml", "-o", tmp_path / "out", "--jobs", 2, "--size", "96x72")
    assert "3 of 3 renders are up to date" in again.stderr

    with open(tmp_path / "a.csv", "a") as fh:
        fh.write("7000,3000,5000\n")
    second = batch(tmp_path / "*.yaml", "-o", tmp_path / "out", "--jobs", 2, "--size", "96x72")
    assert second.returncode == 0, second.stderr
    now = {p.stem: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.png")}
    assert now["uses_b"] == stamps["uses_b"]
    assert now["uses_a"] != stamps["uses_a"] and now["also_a"] != stamps["also_a"]
    report = json.loads((tmp_path / "out" / "batch-report.json").read_text())
    assert report["counts"] == {"rendered": 2, "up to date": 1, "failed": 0, "invalid": 0}


def test_a_killed_worker_is_replaced_and_its_render_retried(tmp_path):
    from scenerender.batch import RENDERED, LocalExecutor, plan_batch

    scene = region_sweep(tmp_path, ["TH", "CP"])
    _, tasks = plan_batch([scene], outdir=tmp_path / "out", size=(640, 480), workers=1)
    executor = LocalExecutor(1, retries=1)
    results = []
    killed = []

    def kill_first_worker():
        # Workers start warm (forks of a fork server that imported everything), so kill the
        # first one as soon as the task is in its hands, before it can finish.
        while not executor.workers or executor.workers[0].task is None:
            time.sleep(0.005)
        pid = executor.workers[0].process.pid
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    executor.run(tasks, lambda task, result: results.append((task.key, result)))
    killer.join()
    assert killed
    assert [r["status"] for _, r in results] == [RENDERED, RENDERED]
    assert results[0][1]["attempts"] == 2 and results[0][1]["pid"] != killed[0]
    assert (tmp_path / "out" / "regions" / "TH.png").is_file()


@pytest.mark.parametrize("service", [False, True], ids=["own workers", "warm service"])
def test_workers_are_recycled_after_n_renders(tmp_path, service, request):
    from scenerender.batch import LocalExecutor, plan_batch

    if service:
        request.getfixturevalue("fresh_service")  # a service of its own: its first worker is fresh
    scene = region_sweep(tmp_path, ["TH", "CP", "CB"])
    _, tasks = plan_batch([scene], outdir=tmp_path / "out", size=(96, 72), workers=1)
    pids = []
    LocalExecutor(1, recycle_after=2, service=service).run(tasks, lambda task, result: pids.append(result["pid"]))
    assert pids[0] == pids[1] != pids[2]


def test_a_long_video_split_across_workers_equals_the_serial_render(tmp_path):
    scene = write(tmp_path / "orbit.yaml", """\
        version: 1
        actors:
          - kind: root
          - kind: region
            regions: TH
        camera: {preset: frontal}
        render: {size: [96, 72]}
        animation:
          fps: 10
          frames: 12
          orbit: {axis: superior, degrees: 90}
        """)
    result = batch(scene, "-o", tmp_path / "out", "--jobs", 2, "--frames-per-task", 4)
    assert result.returncode == 0, result.stderr
    joined = decode(tmp_path / "out" / "orbit.mp4")
    assert joined.shape == (12, 72, 96, 3)
    serial = scenerender.render_video(scene, tmp_path / "serial.mp4")
    assert np.array_equal(joined, decode(serial))
    assert not leftovers(tmp_path / "out")


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_interrupting_a_batch_leaves_no_partial_outputs_and_a_rerun_resumes(tmp_path, signum, status):
    scene = region_sweep(tmp_path, REGIONS[:8])
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "scenerender", "batch", str(scene), "-o", str(out),
                                "--jobs", "1", "--size", SIZE], stderr=subprocess.PIPE, text=True)
    for line in process.stderr:  # wait until some renders are done, then Ctrl-C
        if line.startswith("[2/"):
            break
    process.send_signal(signum)
    started = time.monotonic()
    rest = process.communicate(timeout=30)[1]
    assert time.monotonic() - started < 15
    assert process.returncode == status, rest
    assert "Traceback" not in rest
    done = sorted(p.name for p in (out / "regions").glob("*.png"))
    assert 2 <= len(done) < 8
    assert not leftovers(out)
    for name in done:  # every output present is complete and recorded
        assert iio.imread(out / "regions" / name).shape == (120, 160, 3)
        assert (out / "regions" / f"{name}.scenerender.json").is_file()
    resumed = batch(scene, "-o", out, "--jobs", 1, "--size", SIZE)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done)} of 8 renders are up to date" in resumed.stderr
    assert len(list((out / "regions").glob("*.png"))) == 8


def test_sweep_mistakes_are_located(tmp_path):
    scene = write(tmp_path / "s.yaml", """\
        version: 1
        sweep:
          product:
            region: [TH, CP]
        actors:
          - kind: region
            regions: ${regoin}
        """)
    result = batch(scene, "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "s.yaml:7:" in result.stderr and "${regoin} is not a sweep variable" in result.stderr
    scene.write_text(scene.read_text().replace("regoin", "region"))
    rendered = subprocess.run([sys.executable, "-m", "scenerender", "render", str(scene)], capture_output=True,
                              text=True)
    assert rendered.returncode == 2 and "sweep of 2 renders" in rendered.stderr


def test_a_table_sweep_from_csv_names_outputs_by_pattern(tmp_path):
    (tmp_path / "brains.csv").write_text("brain,region,alpha\nmouse1,TH,0.5\nmouse2,CB,1\n")
    scene = write(tmp_path / "table.yaml", """\
        version: 1
        sweep:
          table: brains.csv
          name: "{brain}-{region}"
        actors:
          - kind: region
            regions: ${region}
            alpha: ${alpha}
        """)
    listed = batch(scene, "-o", tmp_path / "out", "--jobs", 1, "--size", "96x72", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[-1] for line in listed.stdout.splitlines()] == [
        str((tmp_path / "out" / "table" / f"{n}.png").absolute()) for n in ("mouse1-TH", "mouse2-CB")]
    assert not (tmp_path / "out" / "table").exists()
    result = batch(scene, "-o", tmp_path / "out", "--jobs", 1, "--size", "96x72")
    assert result.returncode == 0, result.stderr  # '0.5' from the CSV became the number alpha needs
    assert sorted(p.name for p in (tmp_path / "out" / "table").glob("*.png")) == ["mouse1-TH.png", "mouse2-CB.png"]
