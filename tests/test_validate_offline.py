"""``scenerender validate`` never uses the network.

A public data source (fetched by name) is checked from the cache or its
bundle; when not fetched yet, up to its query (regions, the actors that
draw it) with a located note, not an error. Rendering still fetches, and
still fails with its located message when no service answers. Run against
the loopback services (tests/public_services.py) and with no service
reachable: every service URL at a closed port of 127.0.0.1. Expected
locations come from the YAML text (PyYAML's node marks), expected values from
the fixtures the services serve.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO, SCENES
from public_services import GENE_EXPERIMENTS, point_env

PUBLIC = sorted(SCENES.glob("public_*.yaml"))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed once the block ends: nothing listens there


@pytest.fixture
def unreachable(monkeypatch, tmp_path) -> str:
    """Every service URL at a closed port of 127.0.0.1 and an empty cache; returns the URL."""
    url = f"http://127.0.0.1:{closed_port()}"
    point_env(monkeypatch, url, tmp_path / "cache")
    return url


def where(path: Path, *keys) -> str:
    """``file:line:col`` of the value at ``keys`` in a scene, from PyYAML's own node marks."""
    node = yaml.compose(path.read_text())
    for key in keys:
        if isinstance(key, int):
            node = node.value[key]
        else:
            node = next(v for k, v in node.value if k.value == key)
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def run_cli(*args) -> int:
    from scenerender.cli import main

    return main([str(a) for a in args])


def sources_of(path: Path) -> list[str]:
    return list(yaml.safe_load(path.read_text())["sources"])


def test_public_scenes_validate_with_no_service_reachable(unreachable, tmp_path):
    """The user's command, in its own process: exit 0, one located note per public source."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "scenerender", "validate", *map(str, PUBLIC)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "error" not in done.stderr
    assert done.stdout.splitlines() == [f"{p}: ok (public data of 1 source not fetched yet: checked up to the query)"
                                        for p in PUBLIC]
    notes = done.stderr.splitlines()
    assert len(notes) == len(PUBLIC) == 4
    port = unreachable.rsplit(":", 1)[1]
    for path, note in zip(PUBLIC, notes):
        (name,) = sources_of(path)
        assert note.startswith(f"note: {where(path, 'sources', name)}: sources.{name}: not fetched yet (")
        assert f"rendering fetches it from 127.0.0.1:{port}" in note
        assert f"'scenerender fetch {path} --to DIR' makes a bundle" in note
    # Nothing fetched: the cache holds at most the atlas's derived arrays (the brain mask, kept per atlas).
    cache = tmp_path / "cache"
    written = sorted(p.relative_to(cache).parts[0] for p in cache.rglob("*") if p.is_file()) if cache.exists() else []
    assert set(written) <= {"derived"}, written


def test_api_returns_the_notes_the_command_prints(unreachable):
    """``validate_scene(resolve=True)`` finds no problem in a public scene
    whose data are not fetched yet, and returns the command's ``note:``
    lines, located, in its ``notes``; a plain list still compares equal."""
    from scenerender import validate_scene

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "scenerender", "validate", *map(str, PUBLIC)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    printed = done.stderr.splitlines()
    for path, line in zip(PUBLIC, printed, strict=True):
        (name,) = sources_of(path)
        result = validate_scene(path, resolve=True)
        assert result == [] and not result, list(result)
        assert [f"note: {note}" for note in result.notes] == [line]
        (note,) = result.notes
        assert str(note).startswith(f"{where(path, 'sources', name)}: sources.{name}: not fetched yet (")
        assert validate_scene(path).notes == []  # the schema only: nothing is looked up, nothing to note


def test_validate_asks_the_services_nothing_and_checks_cached_data(public_services, tmp_path, capsys):
    """Served but never asked; once fetched, the data themselves are checked (as a render would)."""
    from scenerender import validate_scene

    assert run_cli("validate", *PUBLIC) == 0
    assert public_services.log == []
    assert all(validate_scene(p, resolve=True) == [] for p in PUBLIC)
    assert public_services.log == []

    # A threshold above the newest experiment's energy (the services serve 5.0 in TH and 0 elsewhere).
    newest = GENE_EXPERIMENTS[max(GENE_EXPERIMENTS)]
    scene = tmp_path / "gene.yaml"
    scene.write_text((SCENES / "public_gene_expression.yaml").read_text().replace("threshold: 2.5",
                                                                                  f"threshold: {newest + 4:g}"))
    capsys.readouterr()
    assert run_cli("validate", scene) == 0  # not fetched: the threshold cannot be checked yet
    assert "note: " in capsys.readouterr().err
    assert run_cli("fetch", scene) == 0
    fetched = len(public_services.log)
    assert fetched > 0
    capsys.readouterr()
    assert run_cli("validate", scene) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{where(scene, 'actors', 2, 'threshold')}: actors[2].threshold: no surface at threshold "
                   f"{newest + 4:g}: the volume spans 0..{newest:g}"]
    assert [str(p) for p in validate_scene(scene, resolve=True)] == [err[0]]
    # The example asks the same query: its data are cached now, so checked, without a note.
    assert run_cli("validate", SCENES / "public_gene_expression.yaml") == 0
    assert capsys.readouterr().err == ""
    assert len(public_services.log) == fetched  # validate fetched nothing


def test_bundled_scene_validates_from_its_bundle(public_services, tmp_path, capsys, monkeypatch):
    scene = tmp_path / "work" / "gene.yaml"
    scene.parent.mkdir()
    scene.write_text((SCENES / "public_gene_expression.yaml").read_text())
    assert run_cli("fetch", scene, "--to", tmp_path / "bundle") == 0
    point_env(monkeypatch, f"http://127.0.0.1:{closed_port()}", tmp_path / "empty-cache")
    capsys.readouterr()
    assert run_cli("validate", tmp_path / "bundle" / "gene.yaml") == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.strip() == f"{tmp_path / 'bundle' / 'gene.yaml'}: ok"


def test_query_and_actor_mistakes_are_still_found_offline(unreachable, tmp_path, capsys):
    scene = tmp_path / "s.yaml"
    scene.write_text("version: 1\nsources:\n"
                     "  bad: {kind: mouselight, soma_in: [HPFX, Thal]}\n"
                     "  genes: {kind: allen_gene_expression, gene: Gpr161}\n"
                     "actors:\n"
                     "  - {kind: volume, source: genes, mode: render, cmap: magmaa, id: expr}\n"
                     "  - {kind: volume, source: genes, color: bluee}\n"
                     "  - {kind: colorbar, of: expr, color: whitee}\n")
    assert run_cli("validate", scene) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[:5] == [
        f"{where(scene, 'sources', 'bad', 'soma_in', 0)}: sources.bad.soma_in[0]: source 'bad': unknown region "
        "'HPFX' in atlas allen_mouse_scenerender_100um; did you mean 'HPF' (Hippocampal formation)?",
        f"{where(scene, 'sources', 'bad', 'soma_in', 1)}: sources.bad.soma_in[1]: source 'bad': unknown region "
        "'Thal' in atlas allen_mouse_scenerender_100um; did you mean 'TH' (Thalamus)?",
        f"{where(scene, 'actors', 0, 'cmap')}: actors[0].cmap: unknown colour map 'magmaa'; did you mean 'magma'?",
        f"{where(scene, 'actors', 1, 'color')}: actors[1].color: unknown colour 'bluee'; did you mean 'blue'? "
        "(use a colour name, '#rrggbb' or [r, g, b] 0-255)",
        f"{where(scene, 'actors', 2, 'color')}: actors[2].color: unknown colour 'whitee'; did you mean 'white'? "
        "(use a colour name, '#rrggbb' or [r, g, b] 0-255)"]
    assert len(err) == 6 and err[5].startswith(f"note: {where(scene, 'sources', 'genes')}: sources.genes: not "
                                               "fetched yet")
    assert not (tmp_path / "cache").exists()


def test_rendering_offline_still_fails_located(unreachable, tmp_path, capsys):
    scene = tmp_path / "gene.yaml"
    scene.write_text((SCENES / "public_gene_expression.yaml").read_text())
    assert run_cli("render", scene, "-o", tmp_path / "gene.png") == 1
    err = capsys.readouterr().err.strip().splitlines()
    line = where(scene, "sources", "gpr161").rsplit(":", 1)[0]
    assert len(err) == 1 and f"{line}: source 'gpr161': the Allen Brain Atlas API: cannot fetch" in err[0]
    assert f"cannot reach {unreachable.split('//')[1]}" in err[0]
    assert not (tmp_path / "gene.png").exists()
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.suffix != ".lock"] == []


def test_mapping_report_of_points_through_a_registration(tmp_path):
    """Measured (inside the brain, no suggestion: the mapping is the deformation), not crashed."""
    from test_registration import known_field, raw_points, raw_to_grid, write_registration

    from scenerender.atlas import AtlasRequest, SceneAtlas, open_bg_atlas
    from scenerender.compile import load_scene
    from scenerender.mapping_report import mapping_report

    registration = write_registration(tmp_path / "reg")
    raw = raw_points(seed=3)
    np.save(tmp_path / "cells.npy", raw)
    scene = tmp_path / "s.yaml"
    scene.write_text("version: 1\nsources:\n  c: {kind: points, path: cells.npy, space: {registration: reg}}\n"
                     "actors:\n  - {kind: points, source: c}\n")
    (report,) = mapping_report(load_scene(scene))
    # Expected: the field's atlas voxel (centre at a + 1/2) of each point, looked up in the annotation here.
    annotation = np.asarray(SceneAtlas(open_bg_atlas(AtlasRequest(name="embedded"))).bg.annotation)
    voxel = np.floor(known_field(raw_to_grid(raw)) + 0.5).astype(int)
    ok = ((voxel >= 0) & (voxel < annotation.shape)).all(axis=1)
    expected = float((annotation[tuple(voxel[ok].T)] != 0).sum() / len(raw))
    assert report.count == len(raw) and abs(report.inside - expected) <= 0.01
    assert report.declared == "registration 'reg'" and report.warning is None
    assert run_cli("validate", "--resolve", scene) == 0
