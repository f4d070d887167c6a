"""Semantic RSM speed: semtool's matchers vs the authors' per-pair loop (Wald et al. 2024).

N = 256 samples, S = 49 (7×7) vectors of C = 256 channels. Two inputs:
  * "random ReLU": max(0, Gaussian) maps, i.i.d. over positions (no spatial structure);
  * "image-like": a fixed random two-layer conv net (ReLU, 2×2 pooling) on 256
    Fashion-MNIST test images (/usr/share/datasets/fashion-mnist), when present.

Sides, in one process, one thread each (BLAS and torch limited to 1, --workers 1):
  1. the authors' scheme: for every pair i ≤ j a Python loop computing the S×S cost
     matrix, SciPy's linear_sum_assignment, the permuted copy and the cosine kernel;
  2. semtool `optimal`: batched S×S products (torch, CPU), reduced costs, one SciPy call
     per pair in a tight loop;  goal ≥ 3× faster at identical values;
  3. semtool `batch-optimal:16`;  goal ≥ 10× faster than `optimal` at ≥ 0.99 of the
     optimal similarity (mean matched inner product ratio over all pairs).

A last line repeats optimal vs batch-optimal:16 at S = 196 (14×14, N = 64), where the
O(S³) exact assignment starts to dominate and blocking pays off.

"in SciPy's solver" is the part of a run spent in its loop of linear_sum_assignment
calls (the matrices prepared outside that part). A matcher built on SciPy's solver takes
at least that long, so it bounds the speed-up that can be reached on this machine
(Amdahl's law): the authors' loop time over optimal's solver time, and optimal's time
over batch-optimal's solver time.

Run:  python benchmarks/semantic_rsm.py
"""

from __future__ import annotations

import os

# One thread per side (BLAS and torch): a fair single-core comparison, and stable on a
# shared machine where oversubscribed threads make small products erratic.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import gzip  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from semtool.analyse.rsm import semantic_rsm
from semtool.measure.rsm import as_sets

N, S_SIDE, C = 256, 7, 256
FMNIST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")


def random_relu(rng: np.random.Generator) -> np.ndarray:
    return np.maximum(rng.normal(size=(N, C, S_SIDE, S_SIDE)), 0).astype(np.float32)


def image_like(rng: np.random.Generator) -> np.ndarray | None:
    if not FMNIST.exists():
        return None
    import torch

    with gzip.open(FMNIST, "rb") as fh:
        raw = np.frombuffer(fh.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    x = torch.as_tensor(raw[:N].astype(np.float32) / 255.0)[:, None]
    g = torch.Generator().manual_seed(0)
    w1 = torch.randn(64, 1, 3, 3, generator=g) / 3
    w2 = torch.randn(C, 64, 3, 3, generator=g) / 24
    with torch.no_grad():
        h = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(x, w1, padding=1)), 2)
        h = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(h, w2, padding=1)), 2)
    return h.numpy()


def authors_loop(x: np.ndarray) -> np.ndarray:
    """Per pair: cost matrix, linear_sum_assignment, permute, cosine kernel (the published scheme)."""
    from scipy.optimize import linear_sum_assignment

    z = as_sets(x)
    n = len(z)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            cost = z[i] @ z[j].T
            cols = linear_sum_assignment(-cost)[1]
            a = z[i].reshape(1, -1)
            b = z[j][cols].reshape(1, -1)
            out[i, j] = out[j, i] = ((a / np.linalg.norm(a)) @ (b / np.linalg.norm(b)).T)[0, 0]
    return out


def timed_with_solver(fn):
    """(result, seconds, seconds inside SciPy's assignment loop) for one run of ``fn``."""
    from semtool.measure import matching

    inner = matching._assign
    spent = [0.0]

    def counting(cost):
        t = time.perf_counter()
        try:
            return inner(cost)
        finally:
            spent[0] += time.perf_counter() - t

    matching._assign = counting
    try:
        r, total = timed(fn)
    finally:
        matching._assign = inner
    return r, total, spent[0]


def timed(fn):
    t = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t


def main() -> None:
    import scipy.optimize  # noqa: F401  (imports outside the timings)
    import torch

    torch.set_num_threads(1)

    rng = np.random.default_rng(0)
    inputs = {"random ReLU": random_relu(rng), "image-like": image_like(rng)}
    pairs = N * (N - 1) // 2
    print(f"N = {N}, S = {S_SIDE * S_SIDE}, C = {C}: {pairs} pairs; one process, CPU")
    semantic_rsm(inputs["random ReLU"][:8], kernel="cosine")  # warm-up (torch kernels)
    for name, x in inputs.items():
        if x is None:
            print(f"\n[{name}] skipped: {FMNIST} not found")
            continue
        print(f"\n[{name}]")
        ref, t_loop = timed(lambda: authors_loop(x))
        opt, t_opt, s_opt = timed_with_solver(lambda: semantic_rsm(x, kernel="cosine", matcher="optimal"))
        bo, t_bo, s_bo = timed_with_solver(
            lambda: semantic_rsm(x, kernel="cosine", matcher="batch-optimal:16", quality_pairs=0))
        gr, t_gr = timed(lambda: semantic_rsm(x, kernel="cosine", matcher="greedy", quality_pairs=0))
        diff = np.abs(opt.matrix - ref).max()
        iu = np.triu_indices(N, 1)
        frac_bo = bo.inner[iu] / opt.inner[iu]
        frac_gr = gr.inner[iu] / opt.inner[iu]
        print(f"  authors' per-pair loop    {t_loop:8.2f} s")
        print(f"  optimal                   {t_opt:8.2f} s   {t_loop / t_opt:5.2f}× faster (goal ≥ 3×), "
              f"max |Δ| vs loop {diff:.1e}")
        print(f"    in SciPy's solver       {s_opt:8.2f} s   bound on its speed-up {t_loop / s_opt:5.2f}×")
        print(f"  batch-optimal:16          {t_bo:8.2f} s   {t_opt / t_bo:5.2f}× faster than optimal (goal ≥ 10×), "
              f"fraction of optimum mean {frac_bo.mean():.4f} min {frac_bo.min():.4f} (goal ≥ 0.99)")
        print(f"    in SciPy's solver       {s_bo:8.2f} s   bound on its speed-up {t_opt / s_bo:5.2f}×")
        print(f"  greedy                    {t_gr:8.2f} s   {t_opt / t_gr:5.2f}× faster than optimal, "
              f"fraction of optimum mean {frac_gr.mean():.4f} min {frac_gr.min():.4f}")

    x = np.maximum(rng.normal(size=(64, C, 14, 14)), 0).astype(np.float32)
    opt, t_opt = timed(lambda: semantic_rsm(x, kernel="cosine", matcher="optimal"))
    bo, t_bo = timed(lambda: semantic_rsm(x, kernel="cosine", matcher="batch-optimal:16", quality_pairs=0))
    iu = np.triu_indices(len(x), 1)
    frac = bo.inner[iu] / opt.inner[iu]
    print(f"\n[random ReLU, N = 64, S = 196] optimal {t_opt:.2f} s, batch-optimal:16 {t_bo:.2f} s: "
          f"{t_opt / t_bo:.1f}× faster, fraction of optimum mean {frac.mean():.4f} min {frac.min():.4f}")


if __name__ == "__main__":
    main()
