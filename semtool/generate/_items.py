"""Which hybrids to make: the (image, target) item list, its seeds, and its shards.

Every random number of a hybrid comes from a generator seeded by
``item_seed(seed, image_index, target)``, so a hybrid depends only on the seed and on
*which* item it is, never on the batch size, the order, a resume or the number of
processes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from semtool.data.imageset import ImageSet
from semtool.errors import UserError

#: the target value used for per-image (target-independent) draws, e.g. the VAE sample
IMAGE_STREAM = -1


def item_seed(seed: int, image_index: int, target: int) -> int:
    """A 63-bit seed for one (image, target) item, derived with NumPy's SeedSequence.

    ``target = IMAGE_STREAM`` (-1) gives the image's own stream (shared by its targets).
    """
    entropy = [int(seed) & 0xFFFFFFFFFFFFFFFF, int(image_index), int(target) + 1]
    state = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & 0x7FFFFFFFFFFFFFFF


def item_rng(seed: int, image_index: int, target: int) -> np.random.Generator:
    """A NumPy generator for one item (pixel-space baselines, target sampling)."""
    return np.random.default_rng(item_seed(seed, image_index, target))


def torch_generator(seed: int, image_index: int, target: int):
    """A CPU ``torch.Generator`` for one item (noise is drawn on the CPU in float32, then
    moved, so a hybrid is the same on every device)."""
    import torch

    return torch.Generator("cpu").manual_seed(item_seed(seed, image_index, target))


def parse_targets(spec: str, ims: ImageSet) -> list[list[int]]:
    """``--targets``: for each class, the target classes of its images.

    ``group`` (every other class of the class's semantic group), ``all`` (every other
    class), or a comma-separated list of class names (each image goes to every listed
    class except its own).
    """
    C = len(ims.classes)
    spec = spec.strip()
    if spec == "group":
        if ims.groups is None:
            raise UserError(f"{ims.path}: has no semantic groups, which --targets group needs "
                            "(run 'semtool regroup', or pass --targets all or --targets CLASS,...)")
        used = set(np.unique(ims.labels).tolist())
        out = []
        for c in range(C):
            g = int(ims.groups[c])
            members = [k for k in range(C) if g >= 0 and int(ims.groups[k]) == g]
            if c in used and g >= 0 and len(members) < 2:
                gname = ims.group_names[g] if ims.group_names and g < len(ims.group_names) else str(g)
                raise UserError(f"{ims.path}: group '{gname}' has one class ('{ims.classes[c]}'); "
                                "--targets group needs at least two classes per group")
            out.append([k for k in members if k != c])
        return out
    if spec == "all":
        return [[k for k in range(C) if k != c] for c in range(C)]
    index = {name: i for i, name in enumerate(ims.classes)}
    wanted = [t.strip() for t in spec.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in index]
    if not wanted or unknown:
        raise UserError(f"--targets: expected 'group', 'all' or class names of {ims.path}; "
                        f"unknown: {', '.join(unknown) or spec!r}")
    ids = sorted({index[t] for t in wanted})
    return [[k for k in ids if k != c] for c in range(C)]


def make_items(ims: ImageSet, targets: str = "group", *, per_image: int | None = None,
               seed: int = 0, limit: int | None = None) -> np.ndarray:
    """The sorted (image index, target class) item list, shape (M, 2) int64.

    ``per_image`` samples that many of an image's targets (without replacement, from the
    image's own stream, so the choice does not depend on anything else); ``limit`` keeps
    the first items (for trials).
    """
    if per_image is not None and per_image < 1:
        raise UserError(f"--per-image: expected a positive count, got {per_image}")
    if limit is not None and limit < 1:
        raise UserError(f"--limit: expected a positive count, got {limit}")
    if not len(ims.labels):
        raise UserError(f"{ims.path}: has no images to mix")
    per_class = parse_targets(targets, ims)
    rows: list[tuple[int, int]] = []
    for i, y in enumerate(ims.labels.tolist()):
        ts = per_class[y]
        if per_image is not None and per_image < len(ts):
            pick = item_rng(seed, i, IMAGE_STREAM).choice(len(ts), size=per_image, replace=False)
            ts = sorted(ts[j] for j in pick)
        rows.extend((i, t) for t in ts)
    if not rows:
        raise UserError(f"{ims.path}: no (image, target) pairs to make with --targets {targets}")
    items = np.asarray(rows, dtype=np.int64)
    return items[:limit] if limit is not None else items


def own_class_items(ims: ImageSet, *, limit: int | None = None) -> np.ndarray:
    """One item per image whose target is the image's own class (SGID)."""
    items = np.stack([np.arange(len(ims.labels)), ims.labels], axis=1).astype(np.int64)
    return items[:limit] if limit is not None else items


def prompt_for(class_name: str, template: str = "a photo of a {}") -> str:
    """The text prompt of a class: underscores become spaces (``pickup_truck``)."""
    if "{}" not in template:
        raise UserError(f"--prompt-template: expected a '{{}}' where the class name goes, got {template!r}")
    return template.replace("{}", class_name.replace("_", " "))


def batches(todo: Sequence[int], batch_size: int, start: int = 0) -> list[np.ndarray]:
    """The rows ``todo`` cut at the fixed boundaries ``start + k·batch_size``.

    Fixed boundaries make a resumed run compute exactly the batches an uninterrupted run
    computes (a batch is marked done as a whole), so the results are bit-identical even
    where batched float kernels round differently from unbatched ones.
    """
    todo = np.asarray(todo, dtype=np.int64)
    if not len(todo):
        return []
    key = (todo - start) // batch_size
    cuts = np.flatnonzero(np.diff(key)) + 1
    return np.split(todo, cuts)
