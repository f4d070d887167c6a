#!/usr/bin/env python3
"""Start-up cost of the CLI: ``semtool info small.h5`` against ``python -c "import numpy, h5py"``.

Both run as fresh processes, alternately (side by side, so machine load hits both alike),
``--repeats`` times each; the medians and their ratio are printed. Goal: ratio ≤ 2.5 —
``info`` should cost little more than the two libraries it cannot do without.
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
GOAL = 2.5


def _small_file(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from semtool import store

    p = folder / "small.h5"
    with store.create(p, "csm", parameters={"measure": "path"}) as f:
        f["matrix"] = np.eye(10)
        store.write_strings(f, "classes", [f"class{i}" for i in range(10)])
        f.attrs["source"], f.attrs["measure"] = "wordnet", "path"
    return p


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory() as tmp:
        small = _small_file(Path(tmp))
        semtool = [sys.executable, "-m", "semtool", "info", str(small)]
        baseline = [sys.executable, "-c", "import numpy, h5py"]
        for cmd in (semtool, baseline):  # warm the file cache once
            wall(cmd, env)
        a, b = [], []
        for _ in range(args.repeats):
            a.append(wall(semtool, env))
            b.append(wall(baseline, env))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"semtool info small.h5          median {ma * 1000:7.1f} ms  ({args.repeats} runs)")
    print(f"python -c 'import numpy, h5py' median {mb * 1000:7.1f} ms  ({args.repeats} runs)")
    print(f"ratio {ma / mb:.2f}  (goal ≤ {GOAL})  {'OK' if ma / mb <= GOAL else 'ABOVE GOAL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
