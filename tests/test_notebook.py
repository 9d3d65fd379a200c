"""The example notebook, executed on a real Jupyter kernel, shows the same pixels as the command line."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO

nbclient = pytest.importorskip("nbclient", reason="needs nbclient and ipykernel (pip install -e '.[test]')")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

NOTEBOOK = REPO / "examples" / "quickstart.ipynb"


def _png(output) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"]))))


@pytest.mark.slow
def test_quickstart_notebook_shows_inline_images_equal_to_the_cli_render_of_its_saved_scene(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], "stderr in the notebook"
    assert not [o for o in outputs if o.output_type == "error"]
    images = [(index, _png(o)) for index, cell in enumerate(code) for o in cell.outputs
              if "image/png" in o.get("data", {})]
    assert [image.shape for _, image in images] == [(360, 480, 3), (360, 480, 3)]  # set_render(size=[480, 360])
    # the second image has the secondary motor area in #e6550d (230, 85, 13); the first has not
    first, second = images[0][1], images[1][1]
    orange = lambda im: (np.abs(im.astype(int) - [230, 85, 13]).sum(axis=-1) < 60).sum()  # noqa: E731
    assert orange(first) < 20 < orange(second)
    saved = tmp_path / "quickstart_notebook.yaml"
    assert saved.is_file()
    out = tmp_path / "cli.png"
    result = subprocess.run([sys.executable, "-m", "scenerender", "render", str(saved), "-o", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    from PIL import Image

    np.testing.assert_array_equal(second, np.asarray(Image.open(out)))
