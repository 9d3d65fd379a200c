"""Where things live on disk by default (shared by the atlas loader, catalogue and packager)."""

from __future__ import annotations

from pathlib import Path


def default_brainglobe_dir() -> Path:
    """The BrainGlobe folder of the user's BrainGlobe config (``~/.brainglobe`` by default)."""
    from brainglobe_atlasapi import config  # lazy: brainglobe-atlasapi is slow to import

    return Path(config.read_config()["default_dirs"]["brainglobe_dir"])
