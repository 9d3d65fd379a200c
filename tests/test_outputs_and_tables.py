"""The output stage owns the format table and write_output; one bounded table reader serves
point sources, heatmap values and sweep tables."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from scenerender.document import read_scene
from scenerender.errors import SceneError
from scenerender.limits import override
from scenerender.readers import DataFileError, read_delimited
from scenerender.sweep import expand_sweep

# -- one output stage ---------------------------------------------------------------------------

#: Names only the output stage (and the writers it chooses) may use to pick a format.
WRITER_NAMES = {"EXPORT_FORMATS", "IMAGE_FORMATS", "VIDEO_FORMATS", "GRAPHIC_FORMATS", "SCENE_FORMATS",
                "export_scene", "render_animation", "video_format"}


@pytest.mark.parametrize("module", ["scenerender/api.py", "scenerender/cli/render.py", "scenerender/batch.py"])
def test_api_cli_and_batch_choose_no_format_themselves(module):
    """The Python API, the CLI and batch write through outputs.write_output, not by suffix tests of their own."""
    tree = ast.parse((REPO / module).read_text())
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert not used & WRITER_NAMES, f"{module} picks formats itself: {sorted(used & WRITER_NAMES)}"
    assert "write_output" in used


def test_format_table_names_every_extension_once():
    from scenerender import outputs

    every = [*outputs.IMAGE_FORMATS, *outputs.EXPORT_FORMATS, *outputs.VIDEO_FORMATS]
    assert len(every) == len(set(every))
    assert set(every) == {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".svg", ".pdf", ".gltf", ".glb", ".html",
                          ".mp4", ".m4v", ".webm", ".gif"}


# -- one table reader ---------------------------------------------------------------------------

def test_csv_tsv_and_sniffed_text_read_the_same_table(tmp_path):
    rows = [("TH", 1.5), ("CP", -2.0), ("HIP", 30.0)]
    files = {"csv": ("t.csv", ","), "tsv": ("t.tsv", "\t"), "sniff": ("t.txt", ";")}
    for fmt, (name, sep) in files.items():
        (tmp_path / name).write_text("region" + sep + "value\n" + "".join(f"{r}{sep}{v}\n" for r, v in rows))
        table = read_delimited(tmp_path / name, fmt)
        assert list(table.columns) == ["region", "value"], fmt
        assert list(table["region"]) == [r for r, _ in rows], fmt
        assert np.array_equal(table["value"].to_numpy(), [v for _, v in rows]), fmt


def test_text_tables_keep_cells_as_written(tmp_path):
    (tmp_path / "t.csv").write_text("name,code\nNA,007\nx,1e3\n")
    table = read_delimited(tmp_path / "t.csv", "csv", text=True)
    assert table.values.tolist() == [["NA", "007"], ["x", "1e3"]]


def test_a_table_over_the_column_limit_is_refused_before_parsing(tmp_path):
    (tmp_path / "wide.csv").write_text(",".join(f"c{i}" for i in range(50)) + "\n" + ",".join("1" * 50) + "\n")
    with override(table_columns=10):
        with pytest.raises(DataFileError, match="table_columns"):
            read_delimited(tmp_path / "wide.csv", "csv")


def _sweep(tmp_path: Path, table: str):
    (tmp_path / "runs.csv").write_text(table)
    (tmp_path / "s.yaml").write_text("version: 1\nsweep:\n  table: runs.csv\n  name: '{region}'\n"
                                     "actors:\n  - kind: region\n    regions: ${region}\n    alpha: ${alpha}\n")
    return expand_sweep(read_scene(tmp_path / "s.yaml"))


def test_sweep_table_values_become_numbers_where_they_read_as_numbers(tmp_path):
    items = _sweep(tmp_path, "region,alpha\nTH,0.5\nCB,1\n")
    assert [(i.name, i.values) for i in items] == [("TH", {"region": "TH", "alpha": 0.5}),
                                                   ("CB", {"region": "CB", "alpha": 1})]


@pytest.mark.parametrize("table, expected", [
    ("region,alpha\nTH\n", "row 2 has 1 cells and the header 2; make every row as long as the header"),
    ("region,alpha\nTH,1,2\n", "row 2 has 3 cells"),
    ("region,my alpha\nTH,1\n", "header names must be variable names"),
    ("", "has no rows"),
    ("region,alpha\n", "has no rows"),
])
def test_sweep_table_mistakes_are_located(tmp_path, table, expected):
    with pytest.raises(SceneError) as info:
        _sweep(tmp_path, table)
    message = str(info.value)
    assert expected in message and f"{tmp_path / 's.yaml'}:3:" in message
