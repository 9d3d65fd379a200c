"""``scenerender atlas build|list|info|inspect`` - package and look at atlases."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from ..errors import AtlasNotFoundError, Problem, SceneError
from .render import _size as parse


def register(commands) -> None:
    p = commands.add_parser("atlas", help="build an atlas from a recipe, list, describe or inspect atlases",
                            description="Package BrainGlobe atlases from YAML recipes and look at local atlases.")
    sub = p.add_subparsers(dest="atlas_command", required=True, metavar="ACTION")

    b = sub.add_parser("build", help="package an atlas from a recipe (BrainGlobe v3 layout)",
                       description="Check a recipe and its inputs (exit 2 on any mistake, before any heavy work), "
                                   "make region meshes and package the atlas with brainglobe-atlasapi's "
                                   "atlas generation.")
    b.add_argument("recipe", type=Path, help="recipe YAML file (schemas/recipe.schema.json)")
    b.add_argument("-o", "--output", type=Path, metavar="OUTDIR",
                   help="BrainGlobe folder to write to (the atlas goes into OUTDIR/brainglobe-atlasapi); "
                        "default: the recipe's 'output', else the BrainGlobe folder (~/.brainglobe)")
    b.add_argument("--processes", type=int, metavar="N",
                   help="processes making meshes (overrides meshes.processes; 1 = serial, 0 = every CPU)")
    b.add_argument("--check", action="store_true", help="only check the recipe and its inputs; write nothing")
    b.add_argument("--report", type=Path, metavar="FILE", help="also write a JSON report (timings, counts)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar or step messages")
    b.add_argument("-v", "--verbose", action="store_true", help="show BrainGlobe's own packaging output")
    b.set_defaults(run=run_build)

    ls = sub.add_parser("list", help="list the embedded atlas, local BrainGlobe atlases and recipe builds",
                        description="List atlases available without network: the embedded one, those in the "
                                    "local BrainGlobe folder, and atlases built from recipes for scenes (cache).")
    ls.add_argument("--brainglobe-dir", type=Path, help="BrainGlobe folder (default: from the BrainGlobe config)")
    ls.set_defaults(run=run_list)

    info = sub.add_parser("info", help="metadata, shape, resolution and structure count of an atlas",
                          description="Describe an atlas: NAME is 'embedded', a local BrainGlobe atlas name, "
                                      "a folder, a manifest.json or a recipe.")
    info.add_argument("name", metavar="NAME")
    info.add_argument("--brainglobe-dir", type=Path, help="BrainGlobe folder (default: from the BrainGlobe config)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=run_info)

    ins = sub.add_parser("inspect", help="contact sheet PNG of an atlas's region meshes",
                         description="Render a grid of region meshes, one per cell with its acronym, offscreen.")
    ins.add_argument("name", metavar="NAME")
    ins.add_argument("-o", "--output", type=Path, required=True, help="image file (.png, .jpg, .tif)")
    ins.add_argument("--regions", nargs="+", metavar="REGION",
                     help="acronyms or ids (default: about --count regions splitting the atlas's top levels)")
    ins.add_argument("--count", type=int, default=12, help="how many regions by default (default 12)")
    ins.add_argument("--size", type=_size, default=(1600, 1200), help="image size WIDTHxHEIGHT (default 1600x1200)")
    ins.add_argument("--view", default="three_quarters",
                     help="camera preset for every cell (default three_quarters; e.g. sagittal, top)")
    ins.add_argument("--brainglobe-dir", type=Path, help="BrainGlobe folder (default: from the BrainGlobe config)")
    ins.set_defaults(run=run_inspect)


def _size(text: str):
    return parse(text)


def _open(args):
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..atlas import AtlasUnavailable
    from ..atlas_catalog import open_atlas

    try:
        return open_atlas(args.name, args.brainglobe_dir)
    except AtlasUnavailable as err:
        raise AtlasNotFoundError(Problem(args.name, None, None, "", str(err))) from None


def run_build(args) -> int:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..atlas_build import build_unavailable

    why = build_unavailable()
    if why is not None:
        # lazy: cli/__init__ imports this module before it defines UsageError
        from . import UsageError

        raise UsageError(f"atlas build: {why}")
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..atlas_build import build, prepare
    from ..atlas_build.package import write_report

    say = (lambda *_: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    if args.check:
        prepared = prepare(args.recipe, log=say)
        print(f"{args.recipe}: ok ({prepared.atlas_name}: {len(prepared.structures)} structures, "
              f"annotation {prepared.annotation.shape})")
        return 0
    result = build(args.recipe, args.output, processes=args.processes, progress=not args.quiet,
                   verbose=args.verbose, log=say)
    for note in result.notes:
        say(f"note: {note}")
    say(validation_summary(result))
    if args.report:
        write_report(result, args.report)
    print(f"built {result.atlas_name} version {result.version} in {result.output / 'brainglobe-atlasapi'}: "
          f"shape {result.shape}, {result.n_structures} structures, {result.n_meshes} meshes, "
          f"{result.timings['total']:.1f} s")
    return 0


#: BrainGlobe validation checks that fail by design for an atlas packaged here, and why.
EXPECTED_FAILURES = {
    "validate_atlas_name_listed": "expected: BrainGlobe's list names only the atlases it publishes, and a new "
                                  "atlas is not on it (scenes and BrainGlobe tools still open it by name)",
    "catch_missing_mesh_files": "expected: {missing} of {structures} structures have no mesh because they have no "
                                "voxels at this resolution (or were left out by meshes.only); BrainGlobe wants a "
                                "mesh for every structure; a scene drawing one is told to draw its parent",
}


def validation_summary(result) -> str:
    """BrainGlobe's validation of a built atlas, the failures that are expected explained."""
    failed = {k: v for k, v in result.validation.items() if v != "Pass"}
    passed = len(result.validation) - len(failed)
    expected = {k: EXPECTED_FAILURES[k] for k in failed if k in EXPECTED_FAILURES}
    if "catch_missing_mesh_files" in expected:
        expected["catch_missing_mesh_files"] = expected["catch_missing_mesh_files"].format(
            missing=result.n_structures - result.n_meshes, structures=result.n_structures)
    text = f"BrainGlobe validation: {passed} of {len(result.validation)} checks pass"
    if expected and len(expected) == len(failed):
        text += f"; the other {len(failed)} fail as expected for an atlas packaged here:"
    for name, message in failed.items():
        why = expected.get(name) or (message if len(message) <= 140 else message[:137] + "...")
        text += f"\n  {name}: {why}"
    return text


def run_list(args) -> int:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..atlas_catalog import list_atlases

    entries = list_atlases(args.brainglobe_dir)
    if not entries:
        print("no atlases found")
        return 0
    for entry in entries:
        info = entry.describe()
        res = info["resolution"]
        res_text = f"{res[0]:g} um" if res and len(set(res)) == 1 else (f"{'x'.join(f'{r:g}' for r in res)} um" if res else "?")
        mark = {"embedded": " [embedded]", "recipe cache": " [recipe cache]"}.get(entry.where, "")
        print(f"{entry.name}  {entry.version}  {res_text}  {entry.manifest.parent}{mark}")
    return 0


def run_info(args) -> int:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..atlas_catalog import atlas_info, manifest_for, manifest_info

    manifest = manifest_for(args.name, args.brainglobe_dir)
    try:  # read from the atlas's files when they are known: no BrainGlobe import, no atlas opened
        info = manifest_info(manifest) if manifest is not None else None
    except (OSError, KeyError, ValueError, StopIteration, IndexError, TypeError):
        info = None
    if info is None:
        info = atlas_info(_open(args))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if isinstance(value, list):
            value = " x ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        print(f"{key.replace('_', ' '):<{width}}  {value}")
    return 0


def run_inspect(args) -> int:
    # lazy: start-up time (--help loads every command's module; only this command needs it)
    from ..atlas import RegionNotFound
    from ..camera import PRESETS
    from ..contact_sheet import contact_sheet, default_regions, has_mesh
    from ..images import write_image
    from ..outputs import check_output_path
    from ..suggest import did_you_mean

    check_output_path(args.output)
    if args.view not in PRESETS:
        raise SceneError(Problem("--view", None, None, "", f"unknown view {args.view!r}{did_you_mean(args.view, PRESETS)}; "
                                 f"use one of {', '.join(PRESETS)}"))
    atlas = _open(args)
    if args.regions:
        regions = []
        for ref in args.regions:
            try:
                struct = atlas.structure(int(ref) if ref.isdigit() else ref)
            except RegionNotFound as err:
                raise SceneError(Problem("--regions", None, None, "", str(err))) from None
            if not has_mesh(atlas, int(struct["id"])):
                raise SceneError(Problem("--regions", None, None, "", f"region {struct['acronym']!r} has no mesh in "
                                         f"atlas {atlas.name}"))
            regions.append(int(struct["id"]))
    else:
        regions = default_regions(atlas, args.count)
        if not regions:
            raise SceneError(Problem(args.name, None, None, "", f"atlas {atlas.name} has no region meshes"))
    image = contact_sheet(atlas, regions, size=args.size, preset=args.view, title=atlas.name)
    write_image(image, args.output)
    acronyms = ", ".join(atlas.bg.structures[r]["acronym"] for r in regions)
    print(f"wrote {args.output} ({image.shape[1]}x{image.shape[0]}): {acronyms}", file=sys.stderr)
    return 0
