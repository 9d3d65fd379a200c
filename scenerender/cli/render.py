"""``scenerender render SCENE`` - render a scene to an image."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..errors import RenderError
from ..provenance import record_for, render_options


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; write WIDTHxHEIGHT, e.g. 1600x1200") from None
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise argparse.ArgumentTypeError("width and height must be between 16 and 16384")
    return width, height


def register(commands) -> None:
    p = commands.add_parser("render", help="render a scene to an image or an animated scene to a video",
                            description="Render a scene file to an image, or an animated scene to a video "
                                        "(format from the extension).")
    p.add_argument("scene", type=Path, help="scene YAML file")
    p.add_argument("-o", "--output", type=Path,
                   help="output: an image (.png, .jpg, .tif), vector graphics with the 3-D scene as a raster "
                        "inside (.svg, .pdf), a 3-D scene (.gltf, .glb, or .html to rotate in a browser), "
                        "or for an animation a video (.mp4, .webm, .gif) "
                        "or a folder for numbered PNG frames; default: the scene's render.output, "
                        "else SCENE.png (SCENE.mp4 when animated)")
    p.add_argument("--size", type=_size, help="override render.size, e.g. 800x600")
    p.add_argument("--scale", type=int, choices=range(1, 9), metavar="N",
                   help="override render.scale: draw at N times the size, for print (1-8)")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="render animation frames in N worker processes (same result as 1)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--frame", type=int, metavar="N", help="render only frame N of an animation, as an image")
    when.add_argument("--time", type=float, metavar="SECONDS", help="render only the animation at this time, as an image")
    p.add_argument("--item", metavar="NAME",
                   help="for a scene with a sweep: render only the sweep render NAME ('scenerender batch' renders all)")
    p.add_argument("--print-camera", action="store_true",
                   help="print the camera used, as scene YAML to paste into 'camera:'; without -o nothing is "
                        "drawn or written")
    p.add_argument("--save-camera", type=Path, metavar="FILE",
                   help="save that camera YAML to FILE; without -o nothing is drawn or written")
    p.set_defaults(run=run)


def camera_yaml(plan) -> str:
    import yaml

    from ..camera import camera_to_scene  # lazy: start-up time, as in run()

    return yaml.safe_dump({"camera": camera_to_scene(plan.camera)}, sort_keys=False, default_flow_style=None)


def run(args) -> int:
    # lazy: start-up time (--help loads every command's module); these load numpy, YAML and jsonschema
    from ..compile import compile_scene, load_scene, output_path
    from ..outputs import check_output_path, check_video_path, write_output

    if args.time is not None and not (math.isfinite(args.time) and args.time >= 0):
        from . import UsageError  # lazy: cli/__init__ imports this module before it defines UsageError

        raise UsageError(f"--time {args.time}: not a time; give seconds from 0, e.g. --time 2.5")
    scene = load_scene(args.scene, item=args.item)
    if (args.print_camera or args.save_camera) and args.output is None:  # only the camera: no image
        _camera_out(args, compile_scene(scene, size=args.size, scale=args.scale))
        return 0
    animated = "animation" in scene.spec
    still = not animated or args.frame is not None or args.time is not None
    if not animated and (args.frame is not None or args.time is not None):
        raise RenderError(f"{args.scene}: --frame and --time need an 'animation:' section in the scene")
    if args.jobs < 1:
        raise RenderError("--jobs must be at least 1")
    out = output_path(scene, args.output, still=still)
    if out is None:  # only an in-memory scene has no default output; this one was read from a file
        raise RenderError(f"{args.scene}: no output; give one with -o")
    if scene.item is not None and args.output is None and "output" not in scene.spec["render"]:
        out.parent.mkdir(exist_ok=True)  # the sweep's own folder, next to the scene
    if still:
        check_output_path(out)
    else:
        check_video_path(out)
    plan = compile_scene(scene, size=args.size, scale=args.scale)
    if still:
        t = _still_time(args, plan.timeline) if animated else 0.0
        record = record_for(scene, out, command=args.command_line,
                            options=render_options(output=out, size=args.size, scale=args.scale,
                                                   time=t if animated else None))
        written = write_output(plan, out, time=t if animated else None, record=record)
        image = written.image
        print(f"wrote {out}" + (f" ({image.shape[1]}x{image.shape[0]})" if image is not None else ""),
              file=sys.stderr)
    else:
        record = record_for(scene, out, command=args.command_line,
                            options=render_options(output=out, size=args.size, scale=args.scale))
        write_output(plan, out, animation=True, jobs=args.jobs, progress=True, record=record)
        width, height = plan.render.size
        n_frames, fps = (plan.timeline.n_frames, plan.timeline.fps) if plan.timeline is not None else (0, 0.0)
        print(f"wrote {out} ({n_frames} frames, {width}x{height}, {fps:g} fps)", file=sys.stderr)
    _camera_out(args, plan)
    return 0


def _still_time(args, timeline) -> float:
    """The time of the still drawn from an animation: --frame's, else --time, else 0."""
    if timeline is None:
        return 0.0
    frame = args.frame
    if frame is None:
        return float(args.time or 0.0)
    if not 0 <= frame < timeline.n_frames:
        raise RenderError(f"--frame {frame} is outside the animation's frames 0..{timeline.n_frames - 1}")
    return timeline.time_of(frame)


def _camera_out(args, plan) -> None:
    if not (args.print_camera or args.save_camera):
        return
    text = camera_yaml(plan)
    if args.print_camera:
        sys.stdout.write(text)
    if args.save_camera:
        try:
            args.save_camera.write_text(text)
        except OSError as err:
            raise RenderError(f"{args.save_camera}: cannot save camera: {err}") from None
