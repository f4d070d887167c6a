"""WordNet CSM: semtool's vectorised path similarity vs NLTK's pairwise loop (1000 noun synsets).

Run: python benchmarks/wordnet_csm.py [--n 1000] [--subset 80]

The NLTK side (``wn.path_similarity`` for every ordered pair, NLTK untouched) would take
minutes at 1000 synsets, so it runs on the first ``--subset`` synsets and its time is
scaled by (n / subset)²; the printout says so. Values are compared on that subset.
Goal: ≥ 100× faster, max abs difference 0.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from semtool.semantics.wordnet import wordnet  # noqa: E402
from semtool.semantics.wordnet_csm import wordnet_csm  # noqa: E402


def random_nouns(wn, n: int, seed: int = 0) -> list:
    rs = random.Random(seed)
    lemmas = sorted(wn.all_lemma_names("n"))
    out, seen = [], set()
    while len(out) < n:
        senses = wn.synsets(rs.choice(lemmas), "n")
        s = senses[rs.randrange(len(senses))]
        if s.name() not in seen:
            seen.add(s.name())
            out.append(s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--subset", type=int, default=80)
    args = ap.parse_args()
    wn = wordnet()
    syns = random_nouns(wn, args.n)
    wn.path_similarity(syns[0], syns[1])  # warm NLTK up

    t0 = time.perf_counter()
    m = wordnet_csm(syns, "path", reader=wn)
    ours = time.perf_counter() - t0

    sub = syns[: args.subset]
    t0 = time.perf_counter()
    ref = np.array([[wn.path_similarity(a, b) for b in sub] for a in sub], dtype=np.float64)
    loop_sub = time.perf_counter() - t0
    scale = (args.n / args.subset) ** 2
    loop = loop_sub * scale
    diff = float(np.abs(m[: args.subset, : args.subset] - ref).max())

    print(f"semtool wordnet_csm, {args.n} synsets ({args.n ** 2:,} pairs): {ours:.3f} s")
    print(f"NLTK path_similarity loop, {args.subset} synsets ({args.subset ** 2:,} pairs): {loop_sub:.2f} s "
          f"-> scaled ×{scale:.1f} to {args.n} synsets: {loop:.1f} s (measured on a subset and scaled)")
    print(f"speed-up: {loop / ours:.0f}×   (goal ≥ 100×)")
    print(f"max abs difference on the {args.subset}×{args.subset} subset: {diff}   (goal 0)")


if __name__ == "__main__":
    main()
