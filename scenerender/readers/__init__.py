"""Bounded readers for untrusted data files, reusable outside scenes.

Every reader here checks what a file *declares* (a header's shape and type, a
table's columns, a mesh's counts) against :mod:`scenerender.limits` before
allocating anything, stops decompressing once more bytes come out than the
header declared, never unpickles (no ``allow_pickle``, no PyTables or
``pandas.read_hdf``: HDF5 is read with h5py, which never runs code) and
refuses HDF5 objects that would read outside the file (external links,
virtual datasets, external raw storage).

They raise :class:`DataFileError` with a message that names the problem and
the fix but not the file (the caller adds where the file was named). Paths
are expected to come from :func:`scenerender.limits.resolve_input_file`.
"""

from ._common import (
    DataFileError,
    check_array,
    check_columns,
    check_rows,
    decompress_bounded,
    quiet_native_stderr,
    read_exact,
    scan_text,
)
from .graphs import check_tree, read_mouselight_json, read_swc
from .meshes import check_faces, read_mesh, read_obj, read_ply, read_stl, read_vtk_mesh
from .tables import (
    SAFE_HDF5_FILTERS,
    check_hdf5_dataset,
    read_delimited,
    read_hdf5_table,
    read_npy,
    read_npy_header,
    walk_hdf5,
)
from .volumes import read_nifti, read_nrrd, read_tiff, read_volume, read_volume_file

__all__ = [
    "DataFileError",
    "SAFE_HDF5_FILTERS",
    "check_array",
    "check_columns",
    "check_faces",
    "check_hdf5_dataset",
    "check_rows",
    "check_tree",
    "decompress_bounded",
    "quiet_native_stderr",
    "read_delimited",
    "read_exact",
    "read_hdf5_table",
    "read_mesh",
    "read_mouselight_json",
    "read_nifti",
    "read_npy",
    "read_npy_header",
    "read_nrrd",
    "read_obj",
    "read_ply",
    "read_stl",
    "read_swc",
    "read_tiff",
    "read_volume",
    "read_volume_file",
    "read_vtk_mesh",
    "scan_text",
    "walk_hdf5",
]
