"""The HDF5 contract: kinds, schema versions, validation, atomic writes, '-' for pipes.

>>> from semtool import store
>>> with store.create("wn.h5", "csm", parameters={"measure": "path"}) as f:
...     f["matrix"] = m; store.write_strings(f, "classes", names)
>>> with store.open_file("wn.h5", "csm") as f:
...     m = f["matrix"][...]
"""

from semtool.store._io import (
    HDF5_SIGNATURE,
    Resumable,
    atomic_path,
    check_distinct,
    check_kind,
    check_output,
    create,
    display_name,
    init_root,
    kind_of,
    length_of,
    looks_like_model,
    open_file,
    provenance_chain,
    read_attr,
    read_provenance,
    read_stdin,
    read_strings,
    refuse_hdf5,
    sha256_of,
    write_strings,
)
from semtool.store._describe import describe
from semtool.store._hints import MODEL, wrong_kind_message
from semtool.store._kinds import GROUPINGS, KINDS, STREAMABLE, schema_of

__all__ = [
    "GROUPINGS", "HDF5_SIGNATURE", "KINDS", "MODEL", "STREAMABLE", "Resumable", "atomic_path", "check_distinct", "check_kind",
    "check_output", "create", "describe", "display_name", "init_root", "kind_of", "length_of", "looks_like_model",
    "open_file", "provenance_chain", "read_attr", "read_provenance", "read_stdin", "read_strings", "refuse_hdf5", "schema_of",
    "sha256_of", "write_strings", "wrong_kind_message",
]
