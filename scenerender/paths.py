"""Where things live on disk by default (shared by the atlas loader, catalogue and packager)."""

from __future__ import annotations

import configparser
import os
from pathlib import Path


def default_brainglobe_dir() -> Path:
    """The BrainGlobe folder from BrainGlobe's own config file, read as
    ``brainglobe_atlasapi.config`` reads it (``$BRAINGLOBE_CONFIG_DIR`` or
    ``~/.config/brainglobe``, ``bg_config.conf``; default ``~/.brainglobe``),
    without importing brainglobe-atlasapi (which loads dask, zarr and s3fs) and
    without writing a default config file where none exists."""
    config_dir = Path(os.environ.get("BRAINGLOBE_CONFIG_DIR", Path.home() / ".config" / "brainglobe"))
    conf = configparser.ConfigParser()
    conf.read(config_dir / "bg_config.conf")
    try:
        return Path(conf["default_dirs"]["brainglobe_dir"])
    except KeyError:
        return Path.home() / ".brainglobe"
