"""``kind: track`` sources - probe tracks and other N x 3 polylines (NPY, or CSV/TSV text)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._context import SourceContext
from ._tables import read_table, select_columns

KIND = "track"
SUFFIXES = {".npy": "npy", ".csv": "csv", ".tsv": "tsv", ".txt": "tsv"}


@dataclass(frozen=True, eq=False)
class TrackData:
    """An ordered polyline in atlas microns."""

    points: np.ndarray


def load(spec: dict, *, ctx: SourceContext) -> TrackData:
    path, fmt = ctx.file(spec, SUFFIXES)
    try:
        table = read_table(path, fmt)
    except Exception as err:
        raise ctx.unreadable(path, fmt, err) from None
    coords, _ = select_columns(table, spec.get("columns"), ctx.fail)
    if len(coords) < 2:
        raise ctx.fail(f"a track needs at least 2 points, {path.name!r} has {len(coords)}")
    return TrackData(points=ctx.to_atlas(spec, coords, what="track points"))
