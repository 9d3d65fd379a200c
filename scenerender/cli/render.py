"""``scenerender render SCENE`` - render a scene to an image."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; write WIDTHxHEIGHT, e.g. 1600x1200") from None
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise argparse.ArgumentTypeError("width and height must be between 16 and 16384")
    return width, height


def register(commands) -> None:
    p = commands.add_parser("render", help="render a scene to an image",
                            description="Render a scene file to an image (format from the extension).")
    p.add_argument("scene", type=Path, help="scene YAML file")
    p.add_argument("-o", "--output", type=Path,
                   help="output file (.png, .jpg, .tif); default: the scene's render.output, else SCENE.png")
    p.add_argument("--size", type=_size, help="override render.size, e.g. 800x600")
    p.add_argument("--print-camera", action="store_true",
                   help="print the camera used, as scene YAML to paste into 'camera:'")
    p.add_argument("--save-camera", type=Path, metavar="FILE", help="save that camera YAML to FILE")
    p.set_defaults(run=run)


def camera_yaml(plan) -> str:
    from ..camera import camera_to_scene

    return yaml.safe_dump({"camera": camera_to_scene(plan.camera)}, sort_keys=False, default_flow_style=None)


def run(args) -> int:
    from ..compile import compile_scene, load_scene, output_path
    from ..errors import RenderError
    from ..outputs import check_output_path, write_image
    from ..renderer import render_plan

    scene = load_scene(args.scene)
    out = output_path(scene, args.output)
    check_output_path(out)
    plan = compile_scene(scene, size=args.size)
    image = render_plan(plan)
    write_image(image, out)
    text = camera_yaml(plan)
    if args.print_camera:
        sys.stdout.write(text)
    if args.save_camera:
        try:
            args.save_camera.write_text(text)
        except OSError as err:
            raise RenderError(f"{args.save_camera}: cannot save camera: {err}") from None
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]})", file=sys.stderr)
    return 0
