"""``kind: neuron`` sources - single-neuron morphologies.

SWC files are read with numpy (sections cut as MorphIO cuts them); MouseLight JSON exports (with an Allen
region id on every node) are read from their node lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..readers import read_mouselight_json, read_swc
from ..readers.graphs import swc_sections
from ._context import SourceContext

KIND = "neuron"
SUFFIXES = {".swc": "swc", ".json": "mouselight-json"}

#: SWC structure identifiers -> compartment names used by the neuron actor.
COMPARTMENTS = {1: "soma", 2: "axon", 3: "dendrite", 4: "apical_dendrite"}


@dataclass(frozen=True, eq=False)
class NeuronData:
    """A morphology in atlas microns.

    ``branches`` are unbranched polylines, each with its compartment name;
    ``nodes`` are all reconstructed points and ``node_regions`` their region
    ids where the file gives them (MouseLight JSON), else ``None``.
    """

    soma: np.ndarray
    branches: tuple[tuple[np.ndarray, str], ...]
    nodes: np.ndarray
    node_regions: np.ndarray | None
    soma_region: int | None


def _read_swc(path):
    # Bounded and checked (ids, parents, cycles, with line numbers), then cut
    # into sections with numpy as MorphIO would: linear-ish, no recursion
    # (MorphIO recursed through deep trees until it crashed) and no copy in C++.
    soma, sections, nodes = swc_sections(read_swc(path))
    branches = [(points, COMPARTMENTS.get(kind, "dendrite")) for points, kind in sections]
    return soma, branches, nodes, None, None


def _chains(nodes: dict[int, tuple], children: dict[int, list[int]], roots: list[int]):
    """Split a node tree into unbranched chains (each starting at its branch point)."""
    chains = []
    stack: list[tuple[int, int | None]] = [(r, None) for r in roots]
    while stack:
        start, parent = stack.pop()
        chain = [parent] if parent is not None else []
        node = start
        while True:
            chain.append(node)
            kids = children.get(node, [])
            if len(kids) != 1:
                break
            node = kids[0]
        chains.append(chain)
        stack.extend((kid, node) for kid in kids)
    return chains


def _read_mouselight_json(path):

    neuron = read_mouselight_json(path)  # ids unique, parents present, no cycles (else the chain walk loops)
    soma_node = neuron["soma"]
    soma = np.array([soma_node["x"], soma_node["y"], soma_node["z"]], dtype=float)
    branches, all_nodes, regions = [], [], []
    for compartment in ("axon", "dendrite"):
        samples = neuron.get(compartment) or []
        nodes = {s["sampleNumber"]: (s["x"], s["y"], s["z"]) for s in samples}
        children: dict[int, list[int]] = {}
        roots = []
        for s in samples:
            if s["parentNumber"] in nodes:
                children.setdefault(s["parentNumber"], []).append(s["sampleNumber"])
            else:
                roots.append(s["sampleNumber"])
        for chain in _chains(nodes, children, roots):
            if len(chain) > 1:
                branches.append((np.array([nodes[n] for n in chain], dtype=float), compartment))
        all_nodes.extend(nodes.values())
        regions.extend(s.get("allenId") or 0 for s in samples)
    return soma, branches, np.array(all_nodes, dtype=float), np.array(regions, dtype=np.int64), \
        soma_node.get("allenId")


def load(spec: dict, *, ctx: SourceContext) -> NeuronData:
    path, fmt = ctx.file(spec, SUFFIXES)
    try:
        soma, branches, nodes, regions, soma_region = (_read_swc if fmt == "swc" else _read_mouselight_json)(path)
    except Exception as err:
        raise ctx.unreadable(path, fmt, err) from None
    if len(nodes) == 0:
        raise ctx.fail(f"{path.name!r} holds no reconstructed points")
    mapped_nodes = ctx.to_atlas(spec, nodes, what="neuron nodes")
    space = ctx.space(spec)
    return NeuronData(
        soma=space.to_atlas(soma)[0],
        branches=tuple((space.to_atlas(points), compartment) for points, compartment in branches),
        nodes=mapped_nodes, node_regions=regions, soma_region=soma_region)
