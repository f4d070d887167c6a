"""Write a tiny CIFAR-100 archive (torchvision's ``cifar-100-python/{train,test,meta}`` pickles)
holding only the 25 classes of Abreu et al. (2023)'s Table 1, for dry runs without the data.

Each image is a flat colour per visual superclass plus a class-specific stripe pattern and
noise, so a tiny model can learn something in one epoch. Usage:
``python examples/_tiny_cifar100.py ROOT [--train N] [--test N]`` (images per class).
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np

from semtool.data.groupings import ABREU2023, ABREU2023_VISUAL
from semtool.semantics.wordnet import preset_synsets


def images_of(visual: int, member: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3072) uint8 in CIFAR's channel-major order."""
    img = np.zeros((n, 3, 32, 32), np.float64)
    img[:, visual % 3] = 60 + 30 * visual
    img[:, :, :, member * 6:(member + 1) * 6] += 120  # a vertical stripe per class
    img += rng.normal(0, 25, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8).reshape(n, -1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--train", type=int, default=4)
    ap.add_argument("--test", type=int, default=2)
    a = ap.parse_args()
    fine_names = list(preset_synsets("cifar100"))  # the 100 fine names in label order
    coarse_names = ABREU2023_VISUAL + [f"other_{k}" for k in range(20 - len(ABREU2023_VISUAL))]
    folder = a.root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", a.train), ("test", a.test)):
        data, fine, coarse = [], [], []
        for gi, group in enumerate(ABREU2023.values()):
            for v, cls in enumerate(group):
                data.append(images_of(v, gi, n, rng))
                fine += [fine_names.index(cls)] * n
                coarse += [v] * n
        # str names and keys, as the real (Python 2) archive reads with encoding='latin1'
        d = {"data": np.concatenate(data), "fine_labels": fine, "coarse_labels": coarse,
             "filenames": [f"{i}.png" for i in range(len(fine))], "batch_label": split}
        with open(folder / split, "wb") as fh:
            pickle.dump(d, fh, protocol=2)
    with open(folder / "meta", "wb") as fh:
        pickle.dump({"fine_label_names": fine_names, "coarse_label_names": coarse_names}, fh, protocol=2)
    print(f"    tiny CIFAR-100 archive ({len(ABREU2023) * 5} classes, {a.train} train / {a.test} test each) in {folder}")


if __name__ == "__main__":
    main()
