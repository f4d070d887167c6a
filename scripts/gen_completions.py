#!/usr/bin/env python3
"""Write completions/semtool.{bash,zsh,fish} from Typer's completion environment variable.

Runs ``python -m semtool`` with ``_SEMTOOL_COMPLETE=source_<shell>`` (Typer's spelling:
instruction first, then shell), which prints the script for that shell; no shell
detection, so it works without a terminal (CI, make). ``--check`` exits 1 when a committed
file differs; ``--out DIR`` writes elsewhere (the test does).

Install: bash ``source completions/semtool.bash``; zsh: put ``semtool.zsh`` on ``$fpath``
as ``_semtool``; fish: copy ``semtool.fish`` to ``~/.config/fish/completions/``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELLS = ("bash", "zsh", "fish")


def script(shell: str) -> str:
    env = dict(os.environ, _SEMTOOL_COMPLETE=f"source_{shell}",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    proc = subprocess.run([sys.executable, "-m", "semtool"], env=env, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"gen_completions: {shell}: {proc.stderr.strip() or 'no output'}")
    return proc.stdout.strip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "completions", help="folder to write into")
    ap.add_argument("--check", action="store_true", help="exit 1 if the files in --out are stale")
    args = ap.parse_args(argv)
    stale = []
    for shell in SHELLS:
        path = args.out / f"semtool.{shell}"
        text = script(shell)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run python scripts/gen_completions.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
