"""Options where users put them (-q, -v, --json before or after the subcommand), -o required
by every command that writes a file, and no binary HDF5 on a terminal from any command."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import numpy as np
import pytest

from semtool.cli.app import normalise_argv
from tests._helpers import embeddings_file, features_file, predictions_file
from tests.cli.test_rsm import CLASSES
from tests.conftest import assert_user_error
from tests.learn.fmnist import write_csm


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("opts")
    rng = np.random.default_rng(0)
    m = rng.random((6, 6))
    write_csm(d / "a.h5", (m + m.T) / 2, classes=CLASSES)
    write_csm(d / "b.h5", np.eye(6) + 0.1 * np.arange(36).reshape(6, 6) / 36, classes=CLASSES)
    labels = np.repeat(np.arange(6), 2)
    features_file(d / "feats.h5", {"conv": rng.normal(size=(12, 4, 2, 2)).astype(np.float32)}, labels, CLASSES)
    embeddings_file(d / "emb.h5", rng.normal(size=(6, 5)), CLASSES)
    logits = rng.normal(size=(12, 6))
    predictions_file(d / "preds.h5", labels, logits.argmax(1), CLASSES, logits=logits)
    return d


def test_normalise_argv():
    assert normalise_argv(["sai", "a", "b", "-q", "--json"]) == ["-q", "sai", "a", "b", "--json"]
    assert normalise_argv(["--json", "-v", "csm", "show", "x"]) == ["-v", "csm", "show", "x", "--json"]
    assert normalise_argv(["sai", "a", "--", "-q"]) == ["sai", "a", "--", "-q"]


@pytest.mark.parametrize("args", [["--json", "sai", "A", "B"], ["sai", "A", "B", "--json"],
                                  ["-q", "sai", "A", "B", "--json"], ["sai", "A", "B", "--json", "-q"],
                                  ["sai", "-v", "A", "B", "--json"]])
def test_json_and_quiet_before_or_after_the_subcommand(cli, files, args):
    args = [str(files / "a.h5") if a == "A" else str(files / "b.h5") if a == "B" else a for a in args]
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr.decode()
    records = json.loads(proc.stdout)  # the one layout: a list of records
    assert isinstance(records, list) and records and all(isinstance(r, dict) for r in records)


def test_quiet_after_the_subcommand_silences_the_status_line(cli, files, tmp_path):
    loud = cli("csm", "wordnet", "--preset", "fashion-mnist", "-o", tmp_path / "a.h5")
    quiet = cli("csm", "wordnet", "--preset", "fashion-mnist", "-o", tmp_path / "b.h5", "-q")
    assert loud.returncode == quiet.returncode == 0
    assert b"wrote" in loud.stderr and quiet.stderr == b""


@pytest.mark.parametrize("command", ["mix", "caption"])
def test_mix_and_caption_require_an_output(cli, files, tmp_path, command):
    proc = cli(command, files / "a.h5", "--method", "mixup") if command == "mix" else cli(command, files / "a.h5")
    assert_user_error(proc, "--output")
    assert not (tmp_path / "hybrids.h5").exists()


def _on_a_terminal(args, cwd):
    leader, follower = pty.openpty()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "semtool", *map(str, args)], stdout=follower,
                          stderr=subprocess.PIPE, cwd=cwd, env=env, timeout=300)
    os.close(follower)
    os.set_blocking(leader, False)
    try:
        shown = os.read(leader, 1 << 16)
    except OSError:  # nothing was written to the terminal
        shown = b""
    os.close(leader)
    return proc, shown


@pytest.mark.parametrize("args", [
    ["csm", "wordnet", "--preset", "fashion-mnist", "-o", "-"],
    ["csm", "ccsm", "preds.h5", "-o", "-"],
    ["rsm", "feats.h5", "-o", "-"],
    ["twovtwo", "feats.h5", "emb.h5", "--permutations", "10", "-o", "-"],
])
def test_no_binary_to_a_terminal(files, args):
    proc, shown = _on_a_terminal(args, files)
    assert_user_error(proc, "refusing to write binary HDF5 to a terminal")
    assert b"HDF" not in shown


def _options(command, path=()):
    """(command path, option names) of every (sub)command of the click tree."""
    import typer.main

    cmd = typer.main.get_command(command) if not path else command
    out = [(path, {o for p in cmd.params for o in getattr(p, "opts", [])})]
    for name, sub in getattr(cmd, "commands", {}).items():
        out += _options(sub, path + (name,))
    return out


def test_one_name_for_the_l2_budget():
    """ε is 'eps' everywhere a user types or reads it (attack files already store 'eps')."""
    from semtool.cli.app import app

    options = dict(_options(app))
    assert all("--epsilon" not in opts and "--epsilons" not in opts for opts in options.values())
    assert "--eps" in options[("attack",)] and "--eps" in options[("csm", "ccsm")]
