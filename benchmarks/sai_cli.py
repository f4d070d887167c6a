"""`semtool sai` start-up cost, and `sai --all-pairs` vs one process per pair.

Run: python benchmarks/sai_cli.py [--repeats 7] [--files 200] [--sample 20]

1. `semtool sai a.h5 b.h5` (100 classes, output piped) wall time vs
   `python -c "import numpy, h5py"` — goal ≤ 2.5×.
2. `semtool sai --all-pairs` over 200 files (one process) vs 19,900 separate
   `semtool sai` calls — the separate calls are measured on a sample and scaled
   (said in the output) — goal ≥ 50×.
Both sides run here, in this process's Python, on this checkout.
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
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from semtool.data.csmio import write_csm  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--sample", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    classes = [f"class{i:03d}" for i in range(100)]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = []
        for k in range(args.files):
            m = rng.random((100, 100))
            files.append(d / f"csm{k:03d}.h5")
            write_csm(files[-1], (m + m.T) / 2, classes, source="ncsm", measure="cosine")
        py = sys.executable
        sai = [py, "-m", "semtool", "sai"]
        wall(sai + [str(files[0]), str(files[1])], ENV)  # warm the file cache
        base = statistics.median(wall([py, "-c", "import numpy, h5py"], ENV) for _ in range(args.repeats))
        one = statistics.median(wall(sai + [str(files[0]), str(files[1])], ENV) for _ in range(args.repeats))
        print(f"python -c 'import numpy, h5py': {base * 1000:.0f} ms (median of {args.repeats})")
        print(f"semtool sai a.h5 b.h5 (100 classes): {one * 1000:.0f} ms (median of {args.repeats})")
        print(f"ratio: {one / base:.2f}×   (goal ≤ 2.5×)")

        pairs = args.files * (args.files - 1) // 2
        t_all = wall(sai + ["--all-pairs"] + [str(f) for f in files], ENV)
        idx = rng.choice(args.files, size=(args.sample, 2), replace=True)
        sample = [wall(sai + [str(files[i]), str(files[j])], ENV) for i, j in idx]
        separate = statistics.mean(sample) * pairs
        print(f"semtool sai --all-pairs, {args.files} files ({pairs:,} pairs): {t_all:.2f} s")
        print(f"{pairs:,} separate semtool sai calls: {separate:.0f} s "
              f"(mean of {args.sample} sampled calls × {pairs:,}; measured on a sample and scaled)")
        print(f"speed-up: {separate / t_all:.0f}×   (goal ≥ 50×)")


if __name__ == "__main__":
    main()
