"""Two narrow workarounds for known problems in brainglobe-atlasapi 3.0.2.

Nothing here changes how BrainGlobe lays out or reads an atlas; each
workaround replaces exactly one function call, and only where it is needed:

* :func:`install_terminology_reader` - the terminology.csv reader keeps parent
  ids in 16 bits, so the Allen mouse ontology (ids up to 614454277) cannot be
  loaded at all.
* :func:`offline_atlas_link_check` - packaging a *published* atlas fetches its
  ``atlas_link`` over the network; inside this context manager the link is
  only checked for form, so atlases can be packaged offline.
* :func:`install_structure_tree_builder` - not a bug but a cost: the
  structure tree is built in quadratic time on every atlas load; the
  replacement builds the identical tree in linear time.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import numpy as np

# --------------------------------------------------------------------------
# a. terminology.csv reader with 32-bit parent ids
# --------------------------------------------------------------------------

#: Highest brainglobe-atlasapi release whose ``load_structures_from_csv`` reads
#: ``parent_identifier`` as ``pandas.UInt16Dtype``. Releases up to and including
#: this one get the replacement reader; later releases are left alone (if a
#: later release still has the bug, raise this bound after checking its
#: ``brainglobe_atlasapi/utils.py``).
TERMINOLOGY_PATCH_MAX_VERSION: tuple[int, int, int] = (3, 0, 2)

#: Human-readable form of the affected range, for tests and the README.
TERMINOLOGY_PATCH_VERSIONS = "<=" + ".".join(map(str, TERMINOLOGY_PATCH_MAX_VERSION))


def _version_tuple(version: str) -> tuple[int, ...]:
    """``"3.0.2"`` -> ``(3, 0, 2)``; ``"3.1.0rc1"`` -> ``(3, 1, 0)``."""
    parts = []
    for piece in version.split(".")[:3]:
        match = re.match(r"\d+", piece)
        if match is None:
            break
        parts.append(int(match.group()))
    return tuple(parts)


def terminology_patch_needed(version: str | None = None) -> bool:
    """True when the given (default: installed) brainglobe-atlasapi version
    is one whose terminology reader keeps parent ids in 16 bits."""
    if version is None:
        # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
        import brainglobe_atlasapi

        version = brainglobe_atlasapi.__version__
    return _version_tuple(version) <= TERMINOLOGY_PATCH_MAX_VERSION


def load_structures_from_csv_uint32(structures_path):
    """Drop-in replacement for ``brainglobe_atlasapi.utils.load_structures_from_csv``.

    Why: in brainglobe-atlasapi <= 3.0.2 the upstream reader passes
    ``dtype={"parent_identifier": pd.UInt16Dtype()}`` to ``pandas.read_csv``.
    Every Allen structure whose *parent* id is above 65535 (62 of the 1327
    structures in the CCFv3 2017 ontology; 128 ids are above 65535, the
    largest is 614454277) makes pandas raise
    ``TypeError: cannot safely cast non-equivalent int64 to uint16``, so
    ``BrainGlobeAtlas(...)`` on such an atlas fails inside ``Atlas.__init__``
    (the packager's own validation step fails the same way). BrainGlobe's
    writer (``wrapup._save_terminology_csv``) already stores these parents as
    ``UInt32``; this reader parses the file exactly as upstream does, with
    the one difference that parent ids are read as ``UInt32``.
    """
    # lazy: start-up time (pandas; scenerender.atlas_local reads local atlases without it)
    import pandas as pd

    structures_df = pd.read_csv(
        structures_path,
        dtype={"parent_identifier": pd.UInt32Dtype()},
        converters={
            "root_identifier_path": lambda x: np.fromstring(
                x.strip("[]"), sep=",", dtype=np.uint32
            ).tolist(),
            "color_hex_triplet": lambda x: [
                int(x.strip("#")[i : i + 2], 16) for i in (0, 2, 4)
            ],
        },
        keep_default_na=False,
        na_values=["", "NaN", "NULL", "nan", "N/A", "na", "null"],
    )
    rename_dict = {
        "identifier": "id",
        "parent_identifier": "parent_structure_id",
        "abbreviation": "acronym",
        "root_identifier_path": "structure_id_path",
        "color_hex_triplet": "rgb_triplet",
    }
    structures_df = structures_df.rename(columns=rename_dict)
    return structures_df.to_dict(orient="records")


def install_terminology_reader() -> bool:
    """Make ``Atlas.__init__`` read terminology.csv with 32-bit parent ids.

    Why: see :func:`load_structures_from_csv_uint32`. ``Atlas.__init__`` looks
    the reader up as a global of ``brainglobe_atlasapi.core`` (it was imported
    there with ``from brainglobe_atlasapi.utils import ...``), so the
    replacement is installed in that module's namespace only; the upstream
    function in ``brainglobe_atlasapi.utils`` is left untouched.

    Idempotent. Does nothing on versions newer than
    :data:`TERMINOLOGY_PATCH_MAX_VERSION`. Returns True when the replacement
    is in place after the call.
    """
    if not terminology_patch_needed():
        return False
    # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
    from brainglobe_atlasapi import core

    if core.load_structures_from_csv is not load_structures_from_csv_uint32:
        core.load_structures_from_csv = load_structures_from_csv_uint32
    return True


# --------------------------------------------------------------------------
# b. offline check of atlas_link while packaging
# --------------------------------------------------------------------------


def _check_url_form(url, *args, **kwargs):
    """Stand-in for ``requests.get`` in the packager's metadata step: validate
    the URL's form exactly as ``requests`` would before sending (raises
    ``MissingSchema`` / ``InvalidURL`` / ``InvalidSchema`` for malformed
    links) and return without any network access."""
    import requests

    requests.models.PreparedRequest().prepare_url(url, None)
    return None


@contextlib.contextmanager
def offline_atlas_link_check() -> Iterator[None]:
    """Within the context, the packager checks ``atlas_link`` without fetching it.

    Why: in brainglobe-atlasapi 3.0.2
    ``atlas_generation.metadata_utils.generate_metadata_dict`` does
    ``requests.get(atlas_link)`` for every published atlas
    (``citation != "unpublished"``) and only catches ``MissingSchema`` /
    ``InvalidURL``; without network the GET raises ``ConnectionError`` and
    packaging (``wrapup_atlas_from_data``) fails. Inside this context the
    ``requests`` name seen by ``metadata_utils`` is replaced by a proxy whose
    ``get`` only prepares the URL (so malformed links still raise
    ``MissingSchema``/``InvalidURL`` and are re-raised by upstream as
    ``InvalidURL``) and never touches the network; every other attribute is
    the real ``requests`` module. The original is restored on exit. Not
    thread-safe (it swaps a module global).
    """
    import types

    # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
    import requests
    from brainglobe_atlasapi.atlas_generation import metadata_utils

    original = metadata_utils.requests
    proxy = types.ModuleType("requests")
    proxy.__dict__.update(
        {k: v for k, v in vars(requests).items() if not k.startswith("__")}
    )
    proxy.__dict__["get"] = _check_url_form
    metadata_utils.requests = proxy
    try:
        yield
    finally:
        metadata_utils.requests = original


# --------------------------------------------------------------------------
# c. the structure tree, built in linear time
# --------------------------------------------------------------------------


def structures_tree_linear(structures_list):
    """Drop-in replacement for ``structure_tree_util.get_structures_tree``.

    Why: upstream finds each structure's children by scanning the whole list
    (``child_ids``), so building the tree is quadratic: 0.5 s of every
    atlas load for the 1327 Allen structures, a tenth of a cold render. This
    builds the identical treelib ``Tree`` (same nodes, tags, parents and
    insertion order: depth first, children in list order) from one pass that
    groups children by parent.
    """
    from treelib import Tree

    id_to_acronym = {s["id"]: s["acronym"] for s in structures_list}
    children: dict = {}
    for s in structures_list:
        path = s["structure_id_path"]
        if len(path) > 1:
            children.setdefault(path[-2], []).append(s["id"])
    root = {v: k for k, v in id_to_acronym.items()}["root"]
    tree = Tree()
    tree.create_node(tag=f"root ({root})", identifier=root)
    stack = [(child, root) for child in reversed(children.get(root, []))]
    while stack:
        structure_id, parent = stack.pop()
        tree.create_node(tag=f"{id_to_acronym[structure_id]} ({structure_id})", identifier=structure_id,
                         parent=parent)
        stack.extend((child, structure_id) for child in reversed(children.get(structure_id, [])))
    return tree


def install_structure_tree_builder() -> None:
    """Make ``StructuresDict`` build its tree with :func:`structures_tree_linear`.

    ``StructuresDict.__init__`` looks ``get_structures_tree`` up as a global
    of ``brainglobe_atlasapi.structure_class``; only that name is replaced.
    Idempotent.
    """
    # lazy: start-up time (brainglobe-atlasapi is slow to import; validation and --help do without it)
    from brainglobe_atlasapi import structure_class

    structure_class.get_structures_tree = structures_tree_linear
