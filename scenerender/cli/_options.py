"""Command-line arguments several subcommands share, defined once.

Light on purpose: ``scenerender --help`` builds every subcommand's parser.
"""

from __future__ import annotations

from pathlib import Path


def add_scene_files(parser) -> None:
    """The ``SCENE...`` positional (``args.scenes``) of the commands that take several scene files."""
    parser.add_argument("scenes", nargs="+", type=Path, metavar="SCENE", help="scene YAML files")
