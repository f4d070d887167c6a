"""What ``semtool info`` shows of a semtool file: its root, datasets, names, groups, provenance."""

from __future__ import annotations

import os
from typing import Any

from semtool.store._io import display_name, h5py, open_file, read_provenance, read_strings
from semtool.store._kinds import GROUPINGS


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """A plain dict of a semtool file: kind, schema, creator, attributes, datasets (shape, dtype),
    class / concept / layer names, the members of each group, and the provenance."""
    with open_file(path) as f:
        out: dict[str, Any] = {
            "file": display_name(path),
            "kind": str(f.attrs["semtool_kind"]),
            "schema": int(f.attrs["semtool_schema"]),
            "creator": str(f.attrs.get("creator", "")),
            "created_at": str(f.attrs.get("created_at", "")),
            "attributes": {k: (v.item() if hasattr(v, "item") else str(v))
                           for k, v in f.attrs.items()
                           if k not in ("semtool_kind", "semtool_schema", "creator", "created_at")},
            "datasets": {},
        }

        def visit(name: str, obj: Any) -> None:
            if name.startswith("provenance"):
                return
            if isinstance(obj, h5py.Dataset):
                out["datasets"][name] = {"shape": list(obj.shape), "dtype": "str" if obj.dtype.kind == "O" else str(obj.dtype)}

        f.visititems(visit)
        for key in ("classes", "concepts", "group_names", "visual_group_names", "layers"):
            if key in f and isinstance(f[key], h5py.Dataset):
                out[key] = read_strings(f[key])
        if "layers" in f and isinstance(f["layers"], h5py.Group):
            out["layers"] = list(f["layers"].keys())
        for key, names_key in GROUPINGS.items():
            if key in f and "classes" in f and names_key in f:
                classes, names, g = read_strings(f["classes"]), read_strings(f[names_key]), f[key][...]
                out[key] = {names[j]: [c for c, gi in zip(classes, g) if gi == j] for j in range(len(names))}
        out["provenance"] = read_provenance(f)
    return out
