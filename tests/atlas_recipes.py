"""A tiny self-describing atlas written to disk for recipe tests.

The annotation (axes asr, 50 um voxels) labels an ellipsoid "brain": region
A (id 10) in the anterior half, region B (id 11) in the posterior half, and
region C (id 12, a direct child of the root) in a ventral slab. Every
test writes its own copy and recipe, so mistakes can be made one at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

SHAPE = (24, 16, 20)
RESOLUTION = 50
STRUCTURES = [
    {"acronym": "root", "id": 1, "name": "root", "structure_id_path": [1], "rgb_triplet": [255, 255, 255]},
    {"acronym": "grey", "id": 2, "name": "Grey matter", "structure_id_path": [1, 2], "rgb_triplet": [191, 218, 227]},
    {"acronym": "A", "id": 10, "name": "Region A", "structure_id_path": [1, 2, 10], "rgb_triplet": [220, 40, 40]},
    {"acronym": "B", "id": 11, "name": "Region B", "structure_id_path": [1, 2, 11], "rgb_triplet": [40, 180, 40]},
    {"acronym": "C", "id": 12, "name": "Region C", "structure_id_path": [1, 12], "rgb_triplet": [40, 40, 220]},
]


def annotation() -> np.ndarray:
    z, y, x = np.indices(SHAPE, dtype=float)
    centre = (np.array(SHAPE) - 1) / 2
    radii = np.array(SHAPE) / 2 - 2
    inside = (((z - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2
              + ((x - centre[2]) / radii[2]) ** 2) <= 1
    out = np.zeros(SHAPE, dtype=np.uint32)
    out[inside & (z < centre[0])] = 10
    out[inside & (z >= centre[0])] = 11
    out[inside & (y > centre[1] + 2)] = 12
    return out


def hemispheres() -> np.ndarray:
    out = np.full(SHAPE, 2, dtype=np.uint8)  # right
    out[:, :, SHAPE[2] // 2:] = 1  # asr: axis 2 runs right -> left
    return out


def write_inputs(folder: Path, structures: list[dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "annotation.npy", annotation())
    np.save(folder / "hemispheres.npy", hemispheres())
    (folder / "structures.yaml").write_text(yaml.safe_dump(structures or STRUCTURES, sort_keys=False))
    return folder


def recipe_dict(**overrides) -> dict:
    recipe = {
        "version": 1,
        "name": "test_blob",
        "metadata": {"species": "Mus musculus", "link": "https://example.org/blob", "packager": "scenerender tests"},
        "orientation": "asr",
        "resolution": RESOLUTION,
        "annotation": "annotation.npy",
        "reference": {"derive": "annotation"},
        "structures": "structures.yaml",
        "meshes": {"processes": 1, "decimate_fraction": 0.5},
    }
    for key, value in overrides.items():
        if value is None:
            recipe.pop(key, None)
        else:
            recipe[key] = value
    return recipe


def write_recipe(folder: Path, name: str = "recipe.yaml", **overrides) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(recipe_dict(**overrides), sort_keys=False))
    return path
