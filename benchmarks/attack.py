"""semtool's L2 PGD vs torchattacks' PGDL2: images per second (goal: ratio ≥ 1.0).

The same model (eval mode), the same CIFAR-sized random images and labels, the same ε,
step size and steps, no random start; both sides alternate over several rounds in one
process and the best round of each counts. The outputs are checked to agree. Also
timed: semtool with ``use_best`` (the robustness library's best iterate; one more forward
pass and a per-sample comparison per step) against its own last-iterate default.

    python benchmarks/attack.py [--arch convnet] [--batch 100] [--steps 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from semtool.attack import pgd_l2
from semtool.models import build_classifier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="convnet")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--eps", type=float, default=0.5)
    args = ap.parse_args()
    import torchattacks

    torch.manual_seed(0)
    model = build_classifier(args.arch, 100, input_size=(32, 32), cifar_stem=args.arch.startswith("resnet")).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 100, (args.batch,), generator=g)
    alpha = 2.5 * args.eps / args.steps
    ta = torchattacks.PGDL2(model, eps=args.eps, alpha=alpha, steps=args.steps, random_start=False)
    ours_t, ref_t, best_t = [], [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        ours = pgd_l2(model, x, y, args.eps, steps=args.steps, step_size=alpha)
        ours_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = ta(x, y)
        ref_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pgd_l2(model, x, y, args.eps, steps=args.steps, step_size=alpha, use_best=True)
        best_t.append(time.perf_counter() - t0)
    diff = (ours - ref).abs().max().item()
    a, b = args.batch / min(ours_t), args.batch / min(ref_t)
    print(f"{args.arch}, batch {args.batch}, {args.steps} steps, eps {args.eps}, CPU threads {torch.get_num_threads()}")
    print(f"semtool pgd_l2:      {a:8.1f} images/s")
    print(f"torchattacks PGDL2:  {b:8.1f} images/s   (max |difference| {diff:.2e})")
    print(f"ratio semtool / torchattacks = {a / b:.3f}  (goal ≥ 1.0: {'met' if a / b >= 1.0 else 'NOT met'})")
    c = args.batch / min(best_t)
    print(f"semtool use_best:    {c:8.1f} images/s   (ratio use_best / last iterate = {c / a:.3f})")


if __name__ == "__main__":
    main()
