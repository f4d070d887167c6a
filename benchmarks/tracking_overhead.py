"""Per-epoch tracking cost as a share of a training epoch (goal ≤ 0.3 %).

ResNet-18 (CIFAR stem, 100 classes) on CIFAR-sized random data (3×32×32, uint8) on the
CPU. A training epoch is 50,000 images in batches of 100 (500 steps: augmentation,
forward, soft-label loss, backward, SGD step, exactly the operations of
``semtool.learn``); a full epoch takes about an hour on a small CPU, so a few steps are
timed and scaled to 500 (said in the output). Tracking is what ``semtool train`` adds per
epoch: reading the final-layer weight, NCSM, CCSM from the eval predictions (10,000
images), SAI(NCSM, ref), SAI(CCSM, ref), SAI(NCSM, CCSM), network and reference IDM,
Mean/Max/Min WSI, against a 100-class reference CSM. The eval pass itself is not counted:
it runs for the eval accuracy with or without tracking, and tracking reuses it.

    python benchmarks/tracking_overhead.py [--steps 3] [--repeats 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from semtool.learn.augment import random_crop_flip
from semtool.learn.losses import one_hot, soft_cross_entropy
from semtool.learn.tracking import track
from semtool.models import build_classifier, head_key

EPOCH_IMAGES, BATCH, CLASSES, EVAL_IMAGES = 50_000, 100, 100, 10_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3, help="timed training steps (after one warm-up step)")
    ap.add_argument("--repeats", type=int, default=20, help="timed tracking calls")
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = build_classifier("resnet18", CLASSES, input_size=(32, 32), cifar_stem=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.from_numpy(rng.integers(0, 256, (BATCH * (args.steps + 1), 3, 32, 32), dtype=np.uint8))
    y = torch.from_numpy(rng.integers(0, CLASSES, BATCH * (args.steps + 1)))
    gen = torch.Generator().manual_seed(0)

    def step(i: int) -> None:
        xb = random_crop_flip(x[i * BATCH:(i + 1) * BATCH], gen).float().div_(255)
        loss = soft_cross_entropy(model(xb), one_hot(y[i * BATCH:(i + 1) * BATCH], CLASSES))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    model.train()
    step(0)  # warm-up
    t0 = time.perf_counter()
    for i in range(1, args.steps + 1):
        step(i)
    per_step = (time.perf_counter() - t0) / args.steps
    epoch = per_step * EPOCH_IMAGES / BATCH

    ref = rng.random((CLASSES, CLASSES))
    ref = (ref + ref.T) / 2
    np.fill_diagonal(ref, 1.0)
    labels = rng.integers(0, CLASSES, EVAL_IMAGES)
    preds = np.where(rng.random(EVAL_IMAGES) < 0.6, labels, rng.integers(0, CLASSES, EVAL_IMAGES))
    key = head_key(model)
    groups = rng.integers(0, 20, CLASSES)

    def tracking() -> None:
        w = model.state_dict()[key].detach().cpu().numpy().astype(np.float64)
        track(w, labels, preds, [("wordnet", ref)], groups)

    tracking()
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        tracking()
    per_track = (time.perf_counter() - t0) / args.repeats
    share = per_track / epoch
    print(f"training step (batch {BATCH}): {per_step:.3f} s, timed over {args.steps} steps; "
          f"epoch of {EPOCH_IMAGES} images scaled from it: {epoch:.1f} s")
    print(f"tracking per epoch: {1000 * per_track:.1f} ms (mean of {args.repeats})")
    print(f"tracking / epoch = {100 * share:.4f} %  (goal ≤ 0.3 %: {'met' if share <= 0.003 else 'NOT met'})")


if __name__ == "__main__":
    main()
