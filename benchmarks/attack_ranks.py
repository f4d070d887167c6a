"""``semtool attack -o`` in one process vs ``torchrun --nproc-per-node 2``: wall time (goal: ratio ≥ 1.5 on 2 free cores).

Both sides run the same command on the same CIFAR-sized random images and a seeded
random convnet, each process with one CPU thread (``OMP_NUM_THREADS=1``), so two
processes can at best halve the time; the gap to 2× is the process group's start, the
second model load and rank 0's gathering of the parts. The files are checked to be
equal (PGD without random draws). The best round of each counts. Measured on a 2-core
machine with another job running (load ≈ 2): 43.0 s against 38.1 s (1.13×) at 1,600 images;
13.3 s against 15.2 s (0.87×) at 400, where the start of a second process dominates.

    python benchmarks/attack_ranks.py [--images 1600] [--steps 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

from _wall import wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1600)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--eps", default="0,0.5,1")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import torch

    from semtool.data.imageset import ImageSet, write_imageset
    from semtool.models import build_classifier, model_metadata, save_model

    d = Path(tempfile.mkdtemp())
    classes = [f"c{k}" for k in range(10)]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    write_imageset(d / "data.h5", ImageSet(images, rng.integers(0, 10, args.images), classes), command="benchmark",
                   parameters={})
    torch.manual_seed(0)
    net = build_classifier("convnet", 10, input_size=(32, 32))
    save_model(d / "m.safetensors", net, model_metadata(net, architecture="convnet", classes=classes,
                                                        input_size=(32, 32)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = ["-m", "semtool", "attack", str(d / "m.safetensors"), str(d / "data.h5"), "--eps", args.eps,
           "--steps", str(args.steps), "--device", "cpu", "--force", "-q"]
    one = [sys.executable, *cmd, "-o", str(d / "one.h5")]
    two = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *cmd,
           "-o", str(d / "two.h5")]
    t_one, t_two = [], []
    for _ in range(args.rounds):
        t_one.append(wall(one, env))
        t_two.append(wall(two, env))
    with h5py.File(d / "one.h5") as a, h5py.File(d / "two.h5") as b:
        same = np.array_equal(a["logits"][...], b["logits"][...])
    a, b = min(t_one), min(t_two)
    print(f"{args.images} images 32×32, convnet, ε {args.eps}, {args.steps} steps, 1 thread per process, "
          f"{os.cpu_count()} CPUs")
    print(f"one process:      {a:7.1f} s")
    print(f"torchrun, 2 ranks: {b:7.1f} s   (files equal: {same})")
    print(f"ratio one / two = {a / b:.2f}  (goal ≥ 1.5: {'met' if a / b >= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
