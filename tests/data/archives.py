"""Small datasets in the real on-disk formats, written by the tests themselves."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

# CIFAR-100's 20 coarse classes and their five fine classes each (the real archive's meta).
COARSE = {
    "aquatic_mammals": ["beaver", "dolphin", "otter", "seal", "whale"],
    "fish": ["aquarium_fish", "flatfish", "ray", "shark", "trout"],
    "flowers": ["orchid", "poppy", "rose", "sunflower", "tulip"],
    "food_containers": ["bottle", "bowl", "can", "cup", "plate"],
    "fruit_and_vegetables": ["apple", "mushroom", "orange", "pear", "sweet_pepper"],
    "household_electrical_devices": ["clock", "keyboard", "lamp", "telephone", "television"],
    "household_furniture": ["bed", "chair", "couch", "table", "wardrobe"],
    "insects": ["bee", "beetle", "butterfly", "caterpillar", "cockroach"],
    "large_carnivores": ["bear", "leopard", "lion", "tiger", "wolf"],
    "large_man-made_outdoor_things": ["bridge", "castle", "house", "road", "skyscraper"],
    "large_natural_outdoor_scenes": ["cloud", "forest", "mountain", "plain", "sea"],
    "large_omnivores_and_herbivores": ["camel", "cattle", "chimpanzee", "elephant", "kangaroo"],
    "medium_mammals": ["fox", "porcupine", "possum", "raccoon", "skunk"],
    "non-insect_invertebrates": ["crab", "lobster", "snail", "spider", "worm"],
    "people": ["baby", "boy", "girl", "man", "woman"],
    "reptiles": ["crocodile", "dinosaur", "lizard", "snake", "turtle"],
    "small_mammals": ["hamster", "mouse", "rabbit", "shrew", "squirrel"],
    "trees": ["maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"],
    "vehicles_1": ["bicycle", "bus", "motorcycle", "pickup_truck", "train"],
    "vehicles_2": ["lawn_mower", "rocket", "streetcar", "tank", "tractor"],
}
FINE = sorted(c for cs in COARSE.values() for c in cs)
COARSE_NAMES = sorted(COARSE)
COARSE_OF = {c: COARSE_NAMES.index(k) for k, cs in COARSE.items() for c in cs}


def cifar_image(fine: int, i: int) -> np.ndarray:
    """(3072,) uint8 in CIFAR's channel-major order; red = fine label, green = i % 256, blue = a ramp."""
    img = np.empty((3, 32, 32), np.uint8)
    img[0] = fine
    img[1] = i % 256
    img[2] = np.arange(32, dtype=np.uint8)[None, :] * 8
    return img.reshape(-1)


def write_cifar100(root: Path, counts: dict[str, int], *, split: str = "train", meta: bool = True) -> Path:
    """``root/cifar-100-python/{split,meta}`` as pickled dicts like the real archive's."""
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    fine, data, n = [], [], 0
    for cls, k in counts.items():
        label = FINE.index(cls)
        for _ in range(k):
            data.append(cifar_image(label, n))
            fine.append(label)
            n += 1
    order = np.random.default_rng(0).permutation(n)  # the real files are not sorted by class
    d = {"filenames": [f"img_{i}.png" for i in order], "batch_label": f"{split} batch",
         "fine_labels": [fine[i] for i in order], "coarse_labels": [COARSE_OF[FINE[fine[i]]] for i in order],
         "data": np.stack(data)[order] if data else np.zeros((0, 3072), np.uint8)}
    with open(folder / split, "wb") as fh:
        pickle.dump(d, fh, protocol=2)
    if meta:
        with open(folder / "meta", "wb") as fh:
            pickle.dump({"fine_label_names": FINE, "coarse_label_names": COARSE_NAMES}, fh, protocol=2)
    return folder


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file's bytes for a uint8 array (magic 0x0801 / 0x0803 by default)."""
    magic = (0x0800 | array.ndim) if magic is None else magic
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write_fashion(root: Path, n: int = 20, *, split: str = "train", image_magic: int | None = None,
                  cut: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tiny Fashion-MNIST-format .gz files; ``cut`` bytes dropped from the image file's end."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    prefix = "train" if split == "train" else "t10k"
    img = idx_bytes(images, image_magic)
    (root / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(img[:len(img) - cut]))
    (root / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    return images, labels
