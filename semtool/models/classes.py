"""Matching an imageset's classes to a model's output units (no torch here).

A data class matches the model class with the same WordNet synset when both sides know
synsets, else the model class with the same name (case-insensitive; for Hugging Face
labels such as ``"tench, Tinca tinca"`` any comma-separated alias counts). The data may
hold a subset of the model's classes (Dharmaretnam & Fyshe 2018 use 166 of ImageNet's
1000); predictions stay over the model's full output, so a mistake can land on a class
the data does not have.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from semtool.errors import UserError


def _aliases(name: str) -> list[str]:
    parts = [name] + [p for p in name.split(",") if "," in name]
    return [p.strip().lower().replace("_", " ") for p in parts if p.strip()]


def match_classes(model_classes: Sequence[str], data_classes: Sequence[str], *,
                  model_synsets: Sequence[str] | None = None, data_synsets: Sequence[str] | None = None,
                  what: str = "data", model: str = "the model") -> np.ndarray:
    """Index into the model's classes of each data class, (C_data,) int64.

    Raises a UserError naming the first data classes the model lacks (or an ambiguous name).
    """
    if model_synsets is not None and data_synsets is not None and len(model_synsets) == len(model_classes):
        by_syn: dict[str, int] = {}
        for i, syn in enumerate(model_synsets):
            by_syn.setdefault(str(syn), i)
        if all(str(s) in by_syn for s in data_synsets):
            return np.asarray([by_syn[str(s)] for s in data_synsets], np.int64)
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(model_classes):
        for alias in dict.fromkeys(_aliases(str(name))):
            by_name.setdefault(alias, []).append(i)
    out, missing = [], []
    for c in data_classes:
        exact = [i for i, n in enumerate(model_classes) if n == c]
        hits = exact or by_name.get(str(c).strip().lower().replace("_", " "), [])
        if len(hits) != 1:
            missing.append((c, len(hits)))
            continue
        out.append(hits[0])
    if missing:
        c, n = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        why = f"names {n} of the model's classes; give the data synsets" if n > 1 else "is not among its classes"
        raise UserError(f"{what}: class '{c}'{more} {why} — {model} has {len(model_classes)} classes"
                        + (", matched by synset, else by name" if model_synsets is not None else ", matched by name"))
    idx = np.asarray(out, np.int64)
    if len(set(idx.tolist())) != len(idx):
        raise UserError(f"{what}: two data classes match the same class of {model}")
    return idx
