"""The committed shell completions are what Typer generates for the current CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_completions_are_current(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_completions.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for shell in ("bash", "zsh", "fish"):
        fresh = (tmp_path / f"semtool.{shell}").read_text()
        committed = (ROOT / "completions" / f"semtool.{shell}").read_text()
        assert fresh == committed, f"completions/semtool.{shell} is stale: run python scripts/gen_completions.py"
        assert "_SEMTOOL_COMPLETE=complete_" in fresh and "semtool" in fresh


@pytest.mark.parametrize("words,cword,expected", [
    ("semtool reg", 1, {"regroup"}),
    ("semtool dataset ", 2, {"cifar100", "fashion-mnist", "folder", "imagenet"}),
])
def test_bash_completion_answers(words, cword, expected):
    """What the bash script asks for at a <TAB>: `_SEMTOOL_COMPLETE=complete_bash semtool`."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               COMP_WORDS=words, COMP_CWORD=str(cword), _SEMTOOL_COMPLETE="complete_bash")
    proc = subprocess.run([sys.executable, "-m", "semtool"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == expected
