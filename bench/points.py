"""Many points, cold: scenerender vs brainrender ``Points`` (and the floors) at
100,000 and 1,000,000 points, with a memory cap and a timeout per process.

    .venv/bin/python bench/points.py                     # both cases, 3 timed runs each
    .venv/bin/python bench/points.py --runs 1 --cases points_1m
    .venv/bin/python bench/points.py --cases points_1m points_5m --tools scenerender pyvista_floor
    .venv/bin/python bench/points.py --update-readme     # also publish the tables in bench/README.md
    .venv/bin/python bench/points.py --from-json bench/results/points.json   # tables of an earlier run

Everything but the measuring is compare.py's (imported, not copied): the
brainrender environment (bench/.venv-brainrender), the bench-local
BrainGlobe folder and config with the embedded atlas, the case derived from
the scenerender scene (bench/scenes/points_100k.yaml, points_1m.yaml, points_5m.yaml: the
brain and N red points of radius 20 um, uniformly inside the brain, seeded),
scenerender's three_quarters camera handed to the others, the runners
(bench/runners/) and the side-by-side images. One fresh process per image,
cold start to PNG; rounds interleaved; after one untimed warm-up run per tool.

Each process runs under bench/_watch.py: its process tree's RSS is sampled
every 0.2 s and the tree is killed when it passes ``--mem-cap-gib`` (default
8) or when it runs longer than ``--timeout`` (default 180 s). (Not RLIMIT_AS:
under a 24 GiB address-space limit brainrender already fails with
std::bad_alloc 3 s in, which says nothing about the memory it really uses.) A tool stopped that way in its
warm-up run is reported as "killed at N GiB after M s" / "timed out after N
s" and not run again. A warm-up run longer than 60 s counts as that tool's
only timed run (the file cache no longer matters at that length).

Writes bench/results/points.json and points.md, the images to
bench/results/images_points/, bench/results/points_{100k,1m}_side_by_side.png,
and with --update-readme the tables into bench/README.md between
``<!-- points:start/end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402
from _watch import describe_end, run_watched  # noqa: E402
from compare import CACHE, REPO, RESULTS, log  # noqa: E402

CASES = {"points_100k": 100_000, "points_1m": 1_000_000, "points_5m": 5_000_000}
TOOLS = ("scenerender", "brainrender", "vtk_floor", "pyvista_floor")
SINGLE_RUN_ABOVE_S = 60.0


def points_file(n: int) -> Path:
    return CACHE / "data" / {100_000: "points_100k.npy", 1_000_000: "points_1m.npy", 5_000_000: "points_5m.npy"}[n]


def measure_case(case: str, tools: list[str], runs: int, bg_dir: Path, config_dir: Path, cap_mib: float,
                 timeout_s: float) -> dict:
    scene, scene_file = compare.resolved_scene(case, 100, bg_dir)
    camera = compare.scenerender_camera(scene)
    spec = compare.case_spec(scene, 100, bg_dir, camera)
    spec_file = CACHE / "cases" / "100um" / f"{case}.json"
    spec_file.write_text(json.dumps(spec, indent=1))
    images = RESULTS / "images_points"
    images.mkdir(parents=True, exist_ok=True)
    cmds = compare.commands(case, scene_file, spec_file, images)
    env = {**os.environ, "BRAINGLOBE_CONFIG_DIR": str(config_dir)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    logs = RESULTS / "logs"

    def run(tool):
        # No RLIMIT_AS: brainrender asks for more than 24 GiB of address space within 3 s for 1M points
        # (std::bad_alloc), long before its resident memory reaches the cap; the cap is on RSS.
        return run_watched(cmds[tool], env, logs / f"{case}_points_{tool}.log", cwd=REPO, mem_cap_mib=cap_mib,
                           timeout_s=timeout_s)

    result = {"scene": f"bench/scenes/{case}.yaml", "points": CASES[case], "camera": camera, "tools": {}}
    samples: dict[str, list[dict]] = {}
    for tool in tools:
        entry = result["tools"][tool] = {"cmd": " ".join(cmds[tool])}
        image = images / f"{case}_{tool}.png"
        image.unlink(missing_ok=True)
        warm = run(tool)
        entry["warmup"] = {k: warm[k] for k in ("wall", "ended", "code", "rss", "peak_tree_mib")}
        if warm["ended"] != "exit" or warm["code"] != 0 or not image.exists():
            status = {"memory cap": "killed", "timeout": "timed out"}.get(warm["ended"], "failed")
            entry.update(status=status, note=describe_end(warm, cap_mib, timeout_s),
                         wall_s=warm["wall"], peak_tree_mib=warm["peak_tree_mib"])
            log(f"  {case}: {tool} {status}: {entry['note']}")
            continue
        entry["tool_version"] = warm["phases"].get("tool_version")
        entry["image"] = str(image.relative_to(REPO))
        samples[tool] = [warm] if warm["wall"] > SINGLE_RUN_ABOVE_S else []
        log(f"  {case}: {tool} warm-up {warm['wall']:.2f}s, {warm['peak_tree_mib']:.0f} MiB"
            + (" (over 60 s: kept as its only timed run)" if samples[tool] else ""))
    active = [t for t in samples if not samples[t]]
    for i in range(runs):
        order = active[i % len(active):] + active[:i % len(active)] if active else []
        for tool in order:
            s = run(tool)
            if s["ended"] != "exit" or s["code"] != 0:
                result["tools"][tool].update(status="failed", note=f"run {i}: " + describe_end(s, cap_mib, timeout_s))
                active.remove(tool)
                break
            samples[tool].append(s)
        if order:
            log(f"  {case}: run {i + 1}/{runs}: " + ", ".join(
                f"{t} {samples[t][-1]['wall']:.2f}s" for t in order if samples[t]))
    for tool, got in samples.items():
        if got and result["tools"][tool].get("status") is None:
            result["tools"][tool].update(compare.summarise(got))
            result["tools"][tool]["peak_tree_mib"] = max(s["peak_tree_mib"] for s in got)
    result["ratios"] = {**compare.ratios(result["tools"]), **compare.paired_ratios(result["tools"])}
    if "pyvista_floor" in samples and "scenerender" in samples and result["tools"]["pyvista_floor"].get("status") == "ok" \
            and result["tools"]["scenerender"].get("status") == "ok":
        pairs = zip(result["tools"]["scenerender"]["walls_s"], result["tools"]["pyvista_floor"]["walls_s"])
        result["ratios"]["paired_scenerender_over_pyvista_floor"] = statistics.median(a / b for a, b in pairs)
    return result


def cell(e: dict) -> str:
    if e.get("status") == "ok":
        n = len(e["walls_s"])
        return (f"{e['median_s']:.2f} ({e['min_s']:.2f}-{e['max_s']:.2f})" if n > 1 else f"{e['median_s']:.2f} (1 run)")
    if not e:
        return "-"
    note = md(e.get("note", ""))
    return note if note.startswith(e.get("status", "-")) else f"{e.get('status', '-')}: {note}"


def md(text: str) -> str:
    """One table cell: no line breaks, no column separators."""
    return " ".join(text.split()).replace("|", "\\|")


def ratio_cell(r: dict, key: str) -> str:
    if key not in r:
        return "-"
    paired = r.get("paired_" + key)
    return f"{r[key]:.2f}x" + (f" ({paired:.2f}x)" if paired is not None else "")


def speedup_cell(res: dict) -> str:
    sr, br = res["tools"].get("scenerender", {}), res["tools"].get("brainrender", {})
    if sr.get("status") == "ok" and br.get("status") == "ok":
        return f"{br['median_s'] / sr['median_s']:.1f}x"
    if sr.get("status") == "ok" and br.get("status") in ("killed", "timed out"):
        return f"> {br['wall_s'] / sr['median_s']:.0f}x (brainrender did not finish)"
    return "-"


def table_markdown(report: dict) -> str:
    tools = report["settings"]["tools"]
    br = report["versions"]["brainrender_env"].get("brainrender", "?")
    head = {**compare.LABELS, "brainrender": f"brainrender {br}"}
    out = [f"Wall time of the whole process, cold start to PNG, seconds: median (min-max) of "
           f"{report['settings']['runs']} runs after a warm-up run (a run over 60 s is its tool's only run). "
           f"Every process under a {report['settings']['mem_cap_gib']:g} GiB memory cap (RSS of the process tree, "
           f"sampled every 0.2 s) and a {report['settings']['timeout_s']:g} s timeout. Ratios of the medians, in "
           "brackets the median of the ratios within a round.", "",
           "| case | " + " | ".join(head[t] for t in tools) + " | brainrender / scenerender | scenerender / brainrender "
           "| scenerender / pyvista floor |", "|---|" + "---|" * len(tools) + "---|---|---|"]
    for case, res in report["cases"].items():
        r = res["ratios"]
        out.append(f"| `{case}` ({res['points']:,} points) | " + " | ".join(cell(res["tools"].get(t, {})) for t in tools)
                   + f" | {speedup_cell(res)} | {ratio_cell(r, 'scenerender_over_brainrender')} | "
                   f"{ratio_cell(r, 'scenerender_over_pyvista_floor')} |")
    out += ["", "Peak memory, MiB: the process's own peak RSS (`ru_maxrss`, max over runs) / the process tree's "
            "(sampled):", "", "| case | " + " | ".join(head[t] for t in tools) + " |", "|---|" + "---|" * len(tools)]
    for case, res in report["cases"].items():
        row = []
        for t in tools:
            e = res["tools"].get(t, {})
            if e.get("status") == "ok":
                row.append(f"{e['peak_rss_mib']:.0f} / {e['peak_tree_mib']:.0f}")
            elif "peak_tree_mib" in e:
                row.append(f"{e['status']} at {e['peak_tree_mib']:.0f}")
            else:
                row.append("-")
        out.append(f"| `{case}` | " + " | ".join(row) + " |")
    out += compare.phases_table(report, tools, "Phases (median seconds since process start, from the runners):")
    return "\n".join(out)


def update_readme_block(tag: str, command: str, body: str) -> None:
    """Replace the block between ``<!-- TAG:start/end -->`` in bench/README.md, or append it."""
    readme = REPO / "bench" / "README.md"
    text = readme.read_text()
    start, end = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
    block = f"{start}\n<!-- generated by `{command} --update-readme`; do not edit -->\n\n{body}\n{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    readme.write_text(text)


def report_header(settings: dict) -> dict:
    """The keys compare.machine_markdown reads."""
    return {"date": dt.datetime.now().isoformat(timespec="seconds"), "settings": settings,
            "machine": compare.machine(), "versions": compare.versions(), "load_before": os.getloadavg()[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool and case (default 3)")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=["points_100k", "points_1m"],
                        help="cases (default points_100k points_1m; points_5m on request)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=["scenerender", "brainrender", "pyvista_floor"])
    parser.add_argument("--mem-cap-gib", type=float, default=8.0, help="kill a process tree above this RSS (default 8)")
    parser.add_argument("--timeout", type=float, default=180.0, help="kill a process after this many seconds (default 180)")
    parser.add_argument("--brainrender-spec", default=compare.DEFAULT_BRAINRENDER)
    parser.add_argument("--update-readme", action="store_true", help="publish the tables in bench/README.md")
    parser.add_argument("--from-json", type=Path, help="measure nothing: print (and with --update-readme "
                        "publish) the tables of an earlier run's JSON")
    args = parser.parse_args(argv)
    argv_list = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python bench/points.py", *(a for a in argv_list if a != "--update-readme")])
    if args.from_json:
        report = json.loads(args.from_json.read_text())
        log(table_markdown(report))
        if args.update_readme:
            update_readme_block("points", report["settings"]["command"],
                                compare.machine_markdown(report) + "\n\n" + table_markdown(report))
            log("bench/README.md updated")
        return 0

    br_version = compare.ensure_brainrender(args.brainrender_spec) if "brainrender" in args.tools else None
    bg_dir, config_dir = compare.prepare_brainglobe(100)
    for case in args.cases:
        compare.make_points(points_file(CASES[case]), CASES[case])
    RESULTS.mkdir(exist_ok=True)
    settings = {"runs": args.runs, "tools": args.tools, "mem_cap_gib": args.mem_cap_gib, "timeout_s": args.timeout,
                "atlas": f"{compare.ATLAS_BASE}_100um (scenerender/embedded_atlas)", "resolution_um": 100,
                "brainrender_spec": args.brainrender_spec, "brainrender_msaa": "default", "command": command}
    report = {**report_header(settings), "cases": {}}
    log(f"brainrender {br_version}; {args.runs} runs; cap {args.mem_cap_gib:g} GiB, timeout {args.timeout:g} s; "
        f"machine {report['machine'].get('model_name')}, {report['machine']['cpus_usable']} cores")
    for case in args.cases:
        log(f"case {case}")
        res = report["cases"][case] = measure_case(case, args.tools, args.runs, bg_dir, config_dir,
                                                   args.mem_cap_gib * 1024, args.timeout)
        out = RESULTS / f"{case}_side_by_side.png"
        if case == "points_100k":  # compare.py's image of the same name is its 4-tool panel; keep both
            out = RESULTS / f"{case}_points_side_by_side.png"
        compare.side_by_side(case, res, args.tools, out)
        res["side_by_side"] = str(out.relative_to(REPO))
    report["load_after"] = os.getloadavg()[0]
    body = compare.machine_markdown(report) + "\n\n" + table_markdown(report)
    (RESULTS / "points.json").write_text(json.dumps(report, indent=2))
    (RESULTS / "points.md").write_text(body + "\n")
    log("\n" + table_markdown(report))
    log("\nJSON: bench/results/points.json; tables: bench/results/points.md; images: "
        + ", ".join(res["side_by_side"] for res in report["cases"].values()))
    if args.update_readme:
        update_readme_block("points", command, body)
        log("bench/README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
