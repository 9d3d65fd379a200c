"""``scenerender batch SCENE_OR_GLOB...`` - render many scenes and sweeps."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .render import _size
from ..errors import RenderError


def register(commands) -> None:
    p = commands.add_parser(
        "batch", help="render many scenes (and every render of their sweeps), locally or on a Dask cluster",
        description="Render many scenes and sweeps. Renders whose output is up to date (same scene, data files, "
                    "atlas and scenerender version, recorded in OUTPUT.scenerender.json) are skipped, so a rerun "
                    "resumes. One failing scene never stops the others; the exit status is 1 if any render "
                    "failed, 2 if any scene is invalid, 0 otherwise.")
    p.add_argument("scenes", nargs="+", metavar="SCENE_OR_GLOB",
                   help="scene files, folders of scenes, or glob patterns such as 'brains/*.yaml'")
    p.add_argument("-o", "--outdir", type=Path,
                   help="folder for all outputs: OUTDIR/SCENE.png, and OUTDIR/SCENE/NAME.png for a sweep's renders; "
                        "default: each scene's render.output, else next to the scene file")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="local worker processes (default: the number of cores, here %(default)s)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a dask.distributed cluster instead, e.g. tcp://10.0.0.5:8786 (see docs/guides/batch.md)")
    p.add_argument("--force", action="store_true", help="render everything, even outputs that are up to date")
    p.add_argument("--size", type=_size, help="override render.size of every scene, e.g. 800x600")
    p.add_argument("--retries", type=int, default=1, metavar="N",
                   help="times to retry a render whose worker died (default %(default)s)")
    p.add_argument("--recycle-after", type=int, default=20, metavar="N",
                   help="replace a local worker after N renders so memory cannot creep (default %(default)s)")
    p.add_argument("--frames-per-task", type=int, metavar="N",
                   help="split videos into tasks of N frames, joined at the end "
                        "(default: one part per worker, at least 30 frames)")
    p.add_argument("--report", type=Path, metavar="FILE",
                   help="JSON report of every render (default: OUTDIR/batch-report.json, or ./batch-report.json)")
    p.add_argument("--dry-run", action="store_true", help="list the renders and whether each is up to date; render nothing")
    p.set_defaults(run=run)


def run(args) -> int:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..batch import (INVALID, SKIPPED, BatchReport, DaskExecutor, LocalExecutor, find_scenes, plan_batch,
                         run_batch, summary_table, write_report)

    if args.jobs < 1:
        raise RenderError("--jobs must be at least 1")
    if args.frames_per_task is not None and args.frames_per_task < 1:
        raise RenderError("--frames-per-task must be at least 1")
    files = find_scenes(args.scenes)
    if args.outdir is not None:
        args.outdir.mkdir(parents=True, exist_ok=True)
    command = ["scenerender", *sys.argv[1:]]
    if args.dry_run:
        jobs, _ = plan_batch(files, outdir=args.outdir, size=args.size, force=args.force, workers=args.jobs,
                             command=command)
        for job in jobs:
            state = {str(SKIPPED): "up to date", str(INVALID): "invalid"}.get(job.status, "to render")
            print(f"{state:<10}  {job.output or job.key}" + (f"  ({job.message})" if job.message else ""))
        return 2 if any(job.status == INVALID for job in jobs) else 0
    executor = (DaskExecutor(args.scheduler, retries=args.retries) if args.scheduler
                else LocalExecutor(args.jobs, recycle_after=args.recycle_after, retries=args.retries))
    report: BatchReport = run_batch(files, executor=executor, outdir=args.outdir, size=args.size, force=args.force,
                                    frames_per_task=args.frames_per_task, command=command)
    report_path = args.report or ((args.outdir or Path.cwd()) / "batch-report.json")
    write_report(report, report_path)
    print(summary_table(report), file=sys.stderr)
    print(f"report: {report_path}", file=sys.stderr)
    return report.exit_status
