"""A per-class grouping (semantic or visual superclasses) as stored in semtool files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.store import GROUPINGS


@dataclass
class Grouping:
    """Group index per class (C,) int64 (−1: in no group) and, optionally, the group names."""

    index: np.ndarray
    names: list[str] | None = None

    def __post_init__(self) -> None:
        self.index = np.asarray(self.index, dtype=np.int64).reshape(-1)

    @classmethod
    def of(cls, index: Any, names: Any = None) -> "Grouping | None":
        """A Grouping, or None without an index (a value that may be absent)."""
        return None if index is None else cls(index, None if names is None else [str(n) for n in names])

    def name_of(self, group: int) -> str:
        """The name of group ``group`` ("(no group)" for −1 or a group without a name)."""
        return self.names[group] if self.names is not None and 0 <= group < len(self.names) else "(no group)"


def read_groupings(f: Any, num_classes: int | None = None, name: str = "") -> dict[str, Grouping | None]:
    """``{"groups": …, "visual_groups": …}`` of an open file; a UserError when one is not per class."""
    out: dict[str, Grouping | None] = {}
    for key, names_key in GROUPINGS.items():
        if key not in f:
            out[key] = None
            continue
        g = Grouping(f[key][...], store.read_strings(f[names_key]) if names_key in f else None)
        if num_classes is not None and g.index.shape != (num_classes,):
            raise UserError(f"{name}: '{key}' of shape {f[key].shape}, expected one entry per class ({num_classes})")
        out[key] = g
    return out


def write_groupings(f: Any, groups: Grouping | None = None, visual_groups: Grouping | None = None) -> None:
    """Write the groupings that are given (index, and names when known)."""
    for key, g in (("groups", groups), ("visual_groups", visual_groups)):
        if g is None:
            continue
        f.create_dataset(key, data=g.index)
        if g.names is not None:
            store.write_strings(f, GROUPINGS[key], g.names)
