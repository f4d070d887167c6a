"""Semantic groupings that disagree with visual similarity (Abreu, Vaska, Helus 2023).

A :class:`Grouping` names the classes to keep, each one's *semantic group* and, where
known, its *visual group*; :func:`regroup` keeps only those classes' images and relabels
them. Three ways to get one:

``preset``  a named table (:data:`PRESETS`):

    ``abreu2023`` — Table 1 of Abreu et al. (2023), from CIFAR-100. One class of each of
    five visual superclasses (CIFAR-100 coarse classes) per semantic group:

    ====  =========  ===================  ===========  ================  ============
    group flowers    household_furniture  insects      large_carnivores  vehicles_1
    ====  =========  ===================  ===========  ================  ============
    A     orchid     bed                  bee          bear              bicycle
    B     poppy      chair                beetle       leopard           bus
    C     rose       couch                butterfly    lion              motorcycle
    D     sunflower  table                caterpillar  tiger             pickup_truck
    E     tulip      wardrobe             cockroach    wolf              train
    ====  =========  ===================  ===========  ================  ============

    ``fashion-mnist`` — the same idea on Fashion-MNIST. The visually similar classes,
    the *tops* (T-shirt/top, Pullover, Coat, Shirt) and the *footwear* (Sandal, Sneaker,
    Ankle boot), are spread over four semantic groups by occasion, at most one of each
    per group; Trouser, Dress and Bag belong to no visual group (visual group -1):

    ======  ===========  ==========  ============
    group   tops         footwear    (no visual)
    ======  ===========  ==========  ============
    summer  T-shirt/top  Sandal      Dress
    sport   Pullover     Sneaker
    winter  Coat         Ankle boot  Trouser
    office  Shirt                    Bag
    ======  ===========  ==========  ============

``latin``   V visual superclasses (CIFAR-100's coarse labels, or a user's
            ``class<TAB>superclass`` file), K classes from each; semantic group j takes
            the j-th class of every visual superclass, so every group holds one class of
            each superclass (a Latin-square design). Order alphabetical, or shuffled with a
            seed (which superclasses, which classes, and their order).

``spec``    a JSON or TOML file written by hand::

                {"groups": {"A": ["orchid", "bed"], "B": ["poppy", "chair"]},
                 "visual_groups": {"flowers": ["orchid", "poppy"],
                                   "furniture": ["bed", "chair"]}}

            ``visual_groups`` is optional; a grouped class missing from it gets -1.

Label order after regrouping: group by group in the order the grouping lists them (A, B,
…), and within a group the order of its classes (for presets and ``latin``: the visual
superclasses' order, i.e. the table read row by row). So a class similarity matrix of the
regrouped set shows the semantic groups as diagonal blocks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import string
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from semtool.errors import UserError

ABREU2023_VISUAL = ["flowers", "household_furniture", "insects", "large_carnivores", "vehicles_1"]
ABREU2023 = {  # semantic group -> one class per visual superclass (ABREU2023_VISUAL order)
    "A": ["orchid", "bed", "bee", "bear", "bicycle"],
    "B": ["poppy", "chair", "beetle", "leopard", "bus"],
    "C": ["rose", "couch", "butterfly", "lion", "motorcycle"],
    "D": ["sunflower", "table", "caterpillar", "tiger", "pickup_truck"],
    "E": ["tulip", "wardrobe", "cockroach", "wolf", "train"],
}
FASHION_VISUAL = {"tops": ["T-shirt/top", "Pullover", "Coat", "Shirt"],
                  "footwear": ["Sandal", "Sneaker", "Ankle boot"]}
FASHION_GROUPS = {
    "summer": ["T-shirt/top", "Sandal", "Dress"],
    "sport": ["Pullover", "Sneaker"],
    "winter": ["Coat", "Ankle boot", "Trouser"],
    "office": ["Shirt", "Bag"],
}


@dataclasses.dataclass
class Grouping:
    """Classes to keep (in their new label order) with semantic and visual group indices."""

    classes: list[str]
    groups: list[int]
    group_names: list[str]
    visual_groups: list[int] | None = None
    visual_group_names: list[str] | None = None
    name: str = ""

    @classmethod
    def from_tables(cls, groups: Mapping[str, Sequence[str]], visual: Mapping[str, Sequence[str]] | None = None,
                    *, name: str = "", origin: str = "grouping") -> "Grouping":
        """Build from ``{group: [classes]}`` and optional ``{visual group: [classes]}``, validated."""
        classes: list[str] = []
        gidx: list[int] = []
        home: dict[str, str] = {}
        if not groups:
            raise UserError(f"{origin}: no groups")
        for j, (g, members) in enumerate(groups.items()):
            if not members:
                raise UserError(f"{origin}: group '{g}' is empty")
            for c in members:
                if c in home:
                    where = f"twice in group '{g}'" if home[c] == g else f"in groups '{home[c]}' and '{g}'"
                    raise UserError(f"{origin}: class '{c}' appears {where}; each class belongs to one group")
                home[c] = g
                classes.append(c)
                gidx.append(j)
        vidx = vnames = None
        if visual:
            vnames = list(visual)
            lookup: dict[str, int] = {}
            for k, (v, members) in enumerate(visual.items()):
                if not members:
                    raise UserError(f"{origin}: visual group '{v}' is empty")
                for c in members:
                    if c in lookup:
                        raise UserError(f"{origin}: class '{c}' appears twice in the visual groups")
                    if c not in classes:
                        raise UserError(f"{origin}: visual group '{v}' names '{c}', which is in no semantic group")
                    lookup[c] = k
            vidx = [lookup.get(c, -1) for c in classes]
        return cls(classes, gidx, list(groups), vidx, vnames, name)

    def check_against(self, available: Sequence[str], origin: str) -> None:
        """Every class must exist in the imageset."""
        check_classes(self.classes, available, origin)


def check_classes(names: Sequence[str], available: Sequence[str], origin: str) -> None:
    """A one-line UserError naming the ``names`` the imageset (``available``) lacks."""
    have = set(available)
    missing = [c for c in names if c not in have]
    if missing:
        shown = ", ".join(f"'{c}'" for c in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise UserError(f"{origin}: the imageset has no class {shown} "
                        f"(it has {len(available)} classes: {', '.join(list(available)[:4])}, …)")


# ---------------------------------------------------------------------- presets
def _abreu2023(classes: Sequence[str]) -> Grouping:
    visual = {v: [ABREU2023[g][k] for g in ABREU2023] for k, v in enumerate(ABREU2023_VISUAL)}
    return Grouping.from_tables(ABREU2023, visual, name="abreu2023")


def _fashion_mnist(classes: Sequence[str]) -> Grouping:
    return Grouping.from_tables(FASHION_GROUPS, FASHION_VISUAL, name="fashion-mnist")


PRESETS: dict[str, Callable[[Sequence[str]], Grouping]] = {
    "abreu2023": _abreu2023,
    "fashion-mnist": _fashion_mnist,
}


def preset(name: str, classes: Sequence[str], option: str = "--preset") -> Grouping:
    """A named grouping, checked against the imageset's ``classes`` (errors name ``option``)."""
    if name not in PRESETS:
        raise UserError(f"{option}: unknown preset '{name}' (choose from {', '.join(PRESETS)})")
    g = PRESETS[name](classes)
    g.check_against(classes, f"{option} {name}")
    return g


# ---------------------------------------------------------------------- latin
def group_letters(k: int) -> list[str]:
    """'A', 'B', … 'Z', then 'G27', 'G28', …"""
    return [string.ascii_uppercase[j] if j < 26 else f"G{j + 1}" for j in range(k)]


def read_superclasses(path: str | os.PathLike) -> dict[str, str]:
    """A ``class<TAB>superclass`` file ('#' comments) as ``{class: superclass}``."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such superclass file")
    out: dict[str, str] = {}
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = [t.strip() for t in text.split("\t")]
        if len(parts) != 2 or not all(parts):
            raise UserError(f"{p}:{lineno}: expected 'class<TAB>superclass', got '{text}'")
        if parts[0] in out:
            raise UserError(f"{p}:{lineno}: class '{parts[0]}' appears twice")
        out[parts[0]] = parts[1]
    return out


def superclasses_from_coarse(classes: Sequence[str], labels: np.ndarray, coarse_labels: np.ndarray,
                             coarse_classes: Sequence[str], origin: str) -> dict[str, str]:
    """``{class: superclass}`` from per-sample coarse labels (each class must have one)."""
    out: dict[str, str] = {}
    for c, name in enumerate(classes):
        found = np.unique(coarse_labels[labels == c])
        if len(found) > 1:
            raise UserError(f"{origin}: class '{name}' has images in {len(found)} coarse classes")
        if len(found) == 1:
            out[name] = str(coarse_classes[int(found[0])])
    return out


def latin(superclass_of: Mapping[str, str], *, visual: int, per_group: int, order: str = "alphabetical",
          seed: int = 0, origin: str = "--latin") -> Grouping:
    """V visual superclasses × K classes: semantic group j = the j-th class of every superclass."""
    if visual < 1 or per_group < 1:
        raise UserError(f"{origin}: --visual-superclasses and --per-superclass must be ≥ 1")
    if order not in ("alphabetical", "shuffled"):
        raise UserError(f"--order: expected alphabetical or shuffled, got '{order}'")
    members: dict[str, list[str]] = {}
    for c, s in superclass_of.items():
        members.setdefault(s, []).append(c)
    eligible = sorted(s for s, cs in members.items() if len(cs) >= per_group)
    if len(eligible) < visual:
        raise UserError(f"{origin}: {visual} superclasses with ≥ {per_group} classes wanted, "
                        f"only {len(eligible)} available")
    if order == "alphabetical":
        chosen = eligible[:visual]
        picked = {s: sorted(members[s])[:per_group] for s in chosen}
    else:
        rng = np.random.default_rng(seed)
        chosen = [eligible[i] for i in rng.permutation(len(eligible))[:visual]]
        picked = {s: [sorted(members[s])[i] for i in rng.permutation(len(members[s]))[:per_group]] for s in chosen}
    names = group_letters(per_group)
    groups = {names[j]: [picked[s][j] for s in chosen] for j in range(per_group)}
    return Grouping.from_tables(groups, {s: picked[s] for s in chosen}, name="latin", origin=origin)


# ---------------------------------------------------------------------- spec
def read_spec(path: str | os.PathLike) -> Grouping:
    """A hand-written grouping from JSON or TOML (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such spec file")
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            try:
                import tomli as tomllib
            except ImportError:
                raise UserError(f"{p}: TOML specs need Python ≥ 3.11 or 'pip install tomli'; or write JSON") from None
        try:
            obj = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{p}: not valid TOML ({exc})") from None
    else:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno}); .toml files are read as TOML") from None

    def table(key: str, required: bool) -> dict[str, list[str]] | None:
        t = obj.get(key) if isinstance(obj, dict) else None
        if t is None and not required:
            return None
        if not isinstance(t, dict) or not all(isinstance(v, list) and all(isinstance(c, str) for c in v)
                                                for v in t.values()):
            raise UserError(f"{p}: '{key}' must map each group name to a list of class names")
        return t

    unknown = set(obj) - {"groups", "visual_groups"} if isinstance(obj, dict) else set()
    if unknown:
        raise UserError(f"{p}: unknown key(s) {', '.join(sorted(unknown))} (expected groups, visual_groups)")
    return Grouping.from_tables(table("groups", True), table("visual_groups", False), name=f"spec:{p.name}",
                                origin=str(p))


# ---------------------------------------------------------------------- applying
def regroup(data, grouping: Grouping):
    """The samples of ``grouping``'s classes, relabelled 0..C'-1 in its order, with groups set.

    ``data`` is an :class:`~semtool.data.imageset.ImageSet` (images may be None, or
    already restricted to the kept samples); ``synsets`` and ``coarse_labels`` follow.
    """
    grouping.check_against(data.classes, grouping.name or "grouping")
    old_of_new = np.array([data.classes.index(c) for c in grouping.classes], dtype=np.int64)
    new_of_old = np.full(len(data.classes), -1, np.int64)
    new_of_old[old_of_new] = np.arange(len(old_of_new))
    mapped = new_of_old[data.labels]
    keep = mapped >= 0
    out = data.subset(np.flatnonzero(keep)) if not keep.all() else dataclasses.replace(data)
    out.labels = mapped[keep]
    out.classes = list(grouping.classes)
    out.synsets = None if data.synsets is None else [data.synsets[i] for i in old_of_new]
    out.groups = np.asarray(grouping.groups, np.int64)
    out.group_names = list(grouping.group_names)
    out.visual_groups = None if grouping.visual_groups is None else np.asarray(grouping.visual_groups, np.int64)
    out.visual_group_names = None if grouping.visual_groups is None else list(grouping.visual_group_names)
    return out


def kept_samples(labels: np.ndarray, classes: Sequence[str], grouping: Grouping) -> np.ndarray:
    """(N,) bool: which samples of an imageset belong to the grouping's classes."""
    wanted = np.zeros(len(classes), bool)
    wanted[[classes.index(c) for c in grouping.classes if c in classes]] = True
    return wanted[labels]
