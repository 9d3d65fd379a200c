"""cellfinder / ImageJ Cell Counter XML cell files, read with the standard library.

brainglobe-utils reads the same files, but pulls numba, scikit-image and dask
into the core install for one XML parse. The layout (``Marker_Data`` ->
``Marker_Type`` with a ``Type`` and ``Marker`` entries holding ``MarkerX/Y/Z``)
and the values (coordinates truncated to integers, as brainglobe-utils'
``Cell`` does) are the same; ``tests/test_first_hour.py`` compares the two on
a real cellfinder file.
"""

from __future__ import annotations

import math
from xml.etree import ElementTree


class CellFileError(ValueError):
    """The XML file is not a cellfinder cell file."""


def _coordinate(marker, axis: str) -> int:
    node = marker.find(f"Marker{axis}")
    if node is None or node.text is None:
        raise CellFileError(f"a Marker has no Marker{axis}")
    value = float(node.text)
    if math.isnan(value):  # brainglobe-utils puts NaN positions at 1
        value = 1.0
    if not math.isfinite(value):
        raise CellFileError(f"Marker{axis} {node.text.strip()!r} is not a finite number")
    return int(value)


def read_cells(path) -> list[tuple[int, int, int, int]]:
    """``(x, y, z, type)`` of every marker in a cellfinder XML file, in file order.

    Raises
    ------
    CellFileError
        When the file has no ``Marker_Data`` or no markers (as brainglobe-utils, which
        raises ``MissingCellsError``), or a marker lacks a coordinate.
    """
    root = ElementTree.parse(path).getroot()
    data = root.find("Marker_Data")
    if data is None:
        raise CellFileError("no <Marker_Data> element: not a cellfinder / Cell Counter XML file")
    cells = []
    for type_marker in data.findall("Marker_Type"):
        type_node = type_marker.find("Type")
        if type_node is None or type_node.text is None:
            raise CellFileError("a <Marker_Type> has no <Type>")
        cell_type = int(type_node.text)
        for marker in type_marker.findall("Marker"):
            cells.append((_coordinate(marker, "X"), _coordinate(marker, "Y"), _coordinate(marker, "Z"), cell_type))
    if not cells:
        raise CellFileError("no cells in the file")
    return cells
