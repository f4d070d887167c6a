#!/usr/bin/env python3
"""WordNet start-up: a fresh ``semtool csm wordnet --preset fashion-mnist`` process, old path vs new.

Old: NLTK's eager ``WordNetCorpusReader`` (lemma index, satellites and the WordNet 3.0 →
3.0 sense map built at start) and, for ``-m lch``, NLTK's taxonomy depth (every noun
synset built). New: the lazy reader and the one-pass depth, cold (no depth cache file)
and warm (cache present). The old path is the same code with the two fast paths switched
off in the child process (``wordnet._open_lazy`` and ``wordnet_csm._data_file_depth``
return None), so nothing else differs. Runs alternate (machine load hits all alike);
medians and ratios are printed, and the matrices of old and new are checked equal.
``python -c "import nltk, numpy, h5py, typer"`` is the floor neither path can go below
(NLTK's ``__init__`` alone imports SciPy and scikit-learn, ~1.2 s); goal: the new path,
warm, costs ≤ 0.5 s above it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _wall import wall

ROOT = Path(__file__).resolve().parents[1]
OWN_GOAL = 0.5  # s: what semtool adds to importing NLTK, which it cannot avoid

OLD = ("import runpy, sys\n"
       "import semtool.semantics.wordnet as W, semtool.semantics.wordnet_csm as C\n"
       "W._open_lazy = lambda: None\n"
       "C._data_file_depth = lambda reader, pos: None\n"
       "sys.argv = ['semtool', *sys.argv[1:]]\n"
       "runpy.run_module('semtool', run_name='__main__')\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import h5py
    import numpy as np

    from semtool.semantics._wordnet_fast import CACHE_NAME

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, SEMTOOL_CACHE_DIR=str(tmp / "cache"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        depth_cache = tmp / "cache" / CACHE_NAME

        def cold() -> None:
            depth_cache.unlink(missing_ok=True)

        def command(side: str, measure: str) -> list[str]:
            out = ["csm", "wordnet", "--preset", "fashion-mnist", "-m", measure, "-o", str(tmp / f"{side}-{measure}.h5"),
                   "--force"]
            head = [sys.executable, "-c", OLD] if side == "old" else [sys.executable, "-m", "semtool"]
            return head + out

        # once each: builds the NLTK folder from /usr/share/wordnet (a one-time cost for both paths)
        # and warms the OS file cache
        for side in ("old", "new"):
            wall(command(side, "path"), env)
        floor = [sys.executable, "-c", "import nltk, numpy, h5py, typer"]
        rows = []
        for measure in ("path", "lch"):
            t = {"old": [], "new cold": [], "new warm": [], "floor": []}
            for _ in range(args.repeats):
                t["old"].append(wall(command("old", measure), env))
                t["new cold"].append(wall(command("new", measure), env, before=cold))
                t["new warm"].append(wall(command("new", measure), env))
                t["floor"].append(wall(floor, env))
            with h5py.File(tmp / f"old-{measure}.h5") as a, h5py.File(tmp / f"new-{measure}.h5") as b:
                same = np.array_equal(a["matrix"][...], b["matrix"][...])
            med = {k: statistics.median(v) for k, v in t.items()}
            rows.append((measure, med, same))
    print(f"semtool csm wordnet --preset fashion-mnist (10 classes), fresh process, median of {args.repeats}:")
    ok = True
    for measure, med, same in rows:
        r_cold, r_warm = med["old"] / med["new cold"], med["old"] / med["new warm"]
        # what WordNet itself costs: the time above a process that only imports the libraries
        own_old, own_new = med["old"] - med["floor"], med["new warm"] - med["floor"]
        ok &= own_new <= OWN_GOAL and same
        print(f"  -m {measure:4s}  old {med['old']:6.2f} s | new cold {med['new cold']:5.2f} s ({r_cold:4.1f}x) | "
              f"new warm {med['new warm']:5.2f} s ({r_warm:4.1f}x) | matrices {'equal' if same else 'DIFFER'}")
        print(f"           above the import floor ({med['floor']:.2f} s): old {own_old:5.2f} s, "
              f"new warm {own_new:5.2f} s ({own_old / max(own_new, 1e-3):.0f}x)")
    print(f"goal: new warm ≤ {OWN_GOAL} s above the import floor, matrices equal  {'OK' if ok else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
