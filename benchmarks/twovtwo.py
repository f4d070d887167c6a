"""2 vs 2 speed: all C(k, 2) tests + 1000 permutations, vectorised vs a per-pair loop.

k = 500 concepts (124,750 tests per run), two correlated random spaces (D = 50).
  * semtool: ``two_vs_two(W, I, permutations=1000)`` — every run (observed + 1000
    relabellings) vectorised over all pairs.
  * reference: the definition as a Python loop over pairs (np.corrcoef on the rows
    without columns a, b; strict '>' with the same tie tolerance). Timing the loop on
    1001 × 124,750 tests would take hours, so it runs the observed matrices over ALL
    pairs once (its pass count must equal semtool's exactly), plus 3 permuted runs on
    a subset of 5,000 pairs (counts compared on that subset); its time for the full job
    is the observed run's time × 1001 (scaled, not measured).
Goal ≥ 100×, identical counts.

Run:  python benchmarks/twovtwo.py
"""

from __future__ import annotations

import time

import numpy as np

from semtool.measure.twovtwo import (TIE_TOLERANCE, _TwoVsTwo, correlation_matrix, pair_indices, two_vs_two,
                                     two_vs_two_passes)

K, D, PERMUTATIONS = 500, 50, 1000


def loop_passes(W: np.ndarray, I: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    k = len(W)
    out = np.zeros(len(a), dtype=bool)
    cols = np.arange(k)
    for t, (i, j) in enumerate(zip(a, b)):
        keep = cols[(cols != i) & (cols != j)]
        r = lambda x, y: np.corrcoef(x[keep], y[keep])[0, 1]  # noqa: E731
        out[t] = r(W[i], I[i]) + r(W[j], I[j]) > r(W[i], I[j]) + r(W[j], I[i]) + TIE_TOLERANCE
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(K, D))
    W, I = correlation_matrix(x), correlation_matrix(x + 3 * rng.normal(size=(K, D)))
    a, b = pair_indices(K)
    print(f"k = {K}: {a.size} tests per run, {PERMUTATIONS} permutations")

    t = time.perf_counter()
    res = two_vs_two(W, I, permutations=PERMUTATIONS, seed=0)
    t_vec = time.perf_counter() - t
    print(f"semtool (vectorised): {t_vec:.1f} s for 1 + {PERMUTATIONS} runs; accuracy {res.accuracy:.4f}, "
          f"p = {res.p_value:.4g}, null mean {res.null.mean():.4f}")

    t = time.perf_counter()
    ref = loop_passes(W, I, a, b)
    t_loop1 = time.perf_counter() - t
    same = int(ref.sum()) == int(two_vs_two_passes(W, I).sum()) == int(res.passes)
    print(f"per-pair loop, observed run over all {a.size} pairs: {t_loop1:.1f} s, passes {int(ref.sum())} "
          f"vs semtool {int(res.passes)}: {'identical' if same else 'DIFFERENT'}")
    sub = rng.choice(a.size, size=5000, replace=False)
    solver = _TwoVsTwo(W, I, a, b)
    prng = np.random.default_rng(1)
    for _ in range(3):
        perm = prng.permutation(K)
        loop = loop_passes(W, I[np.ix_(perm, perm)], a[sub], b[sub])
        vec = solver.passes(perm)[sub]
        ok = np.array_equal(loop, vec)
        same &= ok
        print(f"  permuted run, 5,000-pair subset: loop {int(loop.sum())} vs semtool {int(vec.sum())} passes: "
              f"{'identical' if ok else 'DIFFERENT'}")
    t_loop = t_loop1 * (1 + PERMUTATIONS)
    print(f"per-pair loop for the full job (scaled: observed run × {1 + PERMUTATIONS}): {t_loop / 3600:.1f} h")
    print(f"speed-up {t_loop / t_vec:.0f}× (goal ≥ 100×), counts {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
