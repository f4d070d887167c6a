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


@pytest.mark.parametrize("words,cword,expected", [
    ("semtool mix x.h5 --method ", 4, {"magicmix", "sgid", "mixup", "cutmix"}),
    ("semtool mix x.h5 --method m", 4, {"magicmix", "mixup"}),
    ("semtool sai a b -m ", 5, {"cosine", "ssim", "mse", "mae", "all"}),
    ("semtool attack m d --targeted ", 5, {"random", "next", "least-likely"}),
    ("semtool rsm f --kernel ", 4, {"inner", "cosine", "rbf"}),
    ("semtool rsm f --matcher ", 4, {"optimal", "batch-optimal:", "greedy"}),
    ("semtool features m d --pool ", 5, {"mean", "max", "cls", "none"}),
])
def test_bash_completion_offers_the_values_of_choice_options(words, cword, expected):
    test_bash_completion_answers(words, cword, expected)


def test_completed_values_are_the_libraries_choices():
    """The completion lists (written in the CLI, which must not import torch) equal the
    registries the libraries check values against."""
    from semtool.attack.pgd import TARGETS
    from semtool.cli._common import CHOICES
    from semtool.cli.mix import METHODS
    from semtool.measure.matching import MATCHERS
    from semtool.measure.rsm import KERNELS
    from semtool.measure.sai import SAI_MEASURES
    from semtool.models.features import POOLS

    assert CHOICES["mix --method"] == tuple(METHODS)
    assert CHOICES["sai --measure"] == (*SAI_MEASURES, "all")
    assert CHOICES["attack --targeted"] == tuple(TARGETS)
    assert CHOICES["rsm --kernel"] == tuple(KERNELS)
    assert CHOICES["rsm --matcher"] == tuple(m.split(":")[0] + (":" if ":" in m else "") for m in MATCHERS)
    assert CHOICES["features --pool"] == POOLS
