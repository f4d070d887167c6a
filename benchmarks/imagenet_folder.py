"""``dataset folder`` on an ImageNet-style wnid tree vs a hand-written torchvision loop (goal: ratio ≥ 1.0).

Both sides turn the same JPEGs (500×375, ImageNet's typical size) into a gzip-compressed HDF5
stack at 224×224 with torchvision's evaluation recipe, Resize(256) + CenterCrop(224):
semtool through ``semtool.data.folder.load(lazy=True)`` + ``write_imageset`` (decoding batch by
batch in threads while it writes), the reference through ``torchvision.datasets.ImageFolder``
with those transforms, one image at a time into a NumPy array, then one h5py write with the
same chunks and compression. Rounds alternate in one process; the best of each counts. The
stored images are checked to be identical.

    python benchmarks/imagenet_folder.py [--classes 4] [--per-class 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from semtool.data import folder as fl
from semtool.data.imageset import chunk_images, read_imageset, write_imageset

WNIDS = ["n01440764", "n01443537", "n02012849", "n03126707", "n03710637", "n03710721"]


def make_tree(root: Path, classes: int, per_class: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:375, 0:500]
    for wnid in WNIDS[:classes]:
        (root / wnid).mkdir(parents=True)
        for i in range(per_class):
            base = (np.sin(xx / rng.uniform(5, 40)) + np.cos(yy / rng.uniform(5, 40))) * 60 + 128
            img = np.clip(base[..., None] + rng.normal(0, 12, (375, 500, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / wnid / f"{wnid}_{i}.JPEG", quality=90)


def semtool_side(root: Path, out: Path) -> None:
    data = fl.load(root, size=256, crop=(224, 224), lazy=True)
    write_imageset(out, data, command="benchmark", parameters={}, force=True)


def reference_side(root: Path, out: Path) -> None:
    import h5py
    from torchvision import datasets, transforms

    ds = datasets.ImageFolder(str(root), transform=transforms.Compose([transforms.Resize(256),
                                                                        transforms.CenterCrop(224)]))
    images = np.empty((len(ds), 224, 224, 3), np.uint8)
    labels = np.empty(len(ds), np.int64)
    for i in range(len(ds)):
        img, labels[i] = ds[i]
        images[i] = np.asarray(img)
    with h5py.File(out, "w") as f:
        f.create_dataset("images", data=images, chunks=(chunk_images(224, 224, 3), 224, 224, 3),
                         compression="gzip", compression_opts=4)
        f.create_dataset("labels", data=labels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--per-class", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_tree(tmp / "train", args.classes, args.per_class)
        n = args.classes * args.per_class
        ours_t, ref_t = [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            semtool_side(tmp / "train", tmp / "ours.h5")
            ours_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            reference_side(tmp / "train", tmp / "ref.h5")
            ref_t.append(time.perf_counter() - t0)
        import h5py

        with h5py.File(tmp / "ref.h5") as f:
            same = np.array_equal(read_imageset(tmp / "ours.h5").images, f["images"][...])
        size = (tmp / "ours.h5").stat().st_size / n
    a, b = n / min(ours_t), n / min(ref_t)
    print(f"{n} JPEGs 500×375 -> 224×224 (Resize 256 + CenterCrop 224), gzip 4; CPUs {os.cpu_count()}; "
          f"identical stacks: {same}; {size / 1e3:.0f} kB per stored image (synthetic content)")
    print(f"semtool dataset folder:      {a:7.1f} images/s")
    print(f"torchvision loop + h5py:     {b:7.1f} images/s")
    print(f"ratio semtool / reference = {a / b:.3f}  (goal ≥ 1.0: {'met' if a / b >= 1.0 else 'NOT met'})")


if __name__ == "__main__":
    main()
