"""``attack -o`` under torchrun: each process attacks its block of the images into its own
part, rank 0 gathers the parts into the one file a single process writes; ``--resume``
continues each rank's part and refuses another number of processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from semtool import store
from tests.cli.test_resume_rows import _assert_same_file, setup  # noqa: F401 (the 40 images and the tiny model)
from tests.conftest import assert_user_error

ENV = {"OMP_NUM_THREADS": "1"}
#: a torchrun rank's environment, for the refusals made before the process group starts
RANK0_OF = {w: {**ENV, "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": str(w)} for w in (2, 3)}
#: 40 images in 5 batches of 8, rows 0–15 to rank 0, 16–39 to rank 1: each rank is killed
#: once the first 8 rows of its block are vouched for
KILL = {**ENV, "SEMTOOL_DEBUG_SIGKILL_ROWS": "8"}


def _args(d, out, *extra):
    return ("attack", d / "m.safetensors", d / "test.h5", "--eps", "0,1", "--steps", "2", "--batch-size", "8",
            "--device", "cpu", "--json", "-o", d / out, *extra)


RANDOM = ("--random-start", "--targeted", "random", "--seed", "5")


def _torchrun(*args, env=ENV):
    e = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "semtool", *map(str, args)], capture_output=True, env=e, timeout=600)


def _leftovers(d, name):
    return sorted(p.name for p in d.iterdir() if name in p.name and p.name != name)


@pytest.mark.slow
def test_two_processes_write_the_single_process_file(setup, cli):
    d = setup
    one = cli(*_args(d, "one.h5"), env=ENV)
    assert one.returncode == 0, one.stderr.decode()
    two = _torchrun(*_args(d, "two.h5"))
    err = two.stderr.decode()
    assert two.returncode == 0, err
    _assert_same_file(d / "one.h5", d / "two.h5")  # PGD without random draws: the blocks change nothing
    assert two.stdout == one.stdout and len(json.loads(two.stdout)) == 2  # the table once, from the whole file
    assert err.count("wrote ") == 1 and "40 images" in err
    assert _leftovers(d, "two.h5") == []
    # fewer batches than processes: rank 0's block is empty (a batch of one image rounds
    # differently from the batch of 8 it came from: a float's last bits)
    few = _torchrun(*_args(d, "few.h5", "--limit", "1"))
    assert few.returncode == 0, few.stderr.decode()
    with h5py.File(d / "one.h5") as f, h5py.File(d / "few.h5") as g:
        np.testing.assert_allclose(g["logits"][...], f["logits"][:, :1], rtol=1e-5, atol=1e-6)
    assert _leftovers(d, "few.h5") == []


@pytest.mark.slow
def test_random_draws_come_from_each_ranks_seed_and_resume(setup, cli):
    from semtool.attack import iter_sweep
    from semtool.attack.sweep import rank_blocks, rank_seed
    from semtool.data.imageset import read_imageset
    from semtool.models import load_model

    d = setup
    full = _torchrun(*_args(d, "r.h5", *RANDOM))
    assert full.returncode == 0, full.stderr.decode()
    # reference: each block attacked in this process by a generator seeded from (seed, rank)
    ims = read_imageset(d / "test.h5")
    net = load_model(d / "m.safetensors")[0]
    blocks = [list(iter_sweep(net, ims.images[lo:hi], ims.labels[lo:hi], [0, 1], steps=2, random_init=True,
                              targeted="random", batch_size=8, seed=rank_seed(5, r)))
              for r, (lo, hi) in enumerate([(0, 16), (16, 40)])]
    logits = np.concatenate([b.logits for bs in blocks for b in bs], axis=1)
    targets = np.concatenate([b.targets for bs in blocks for b in bs])
    with h5py.File(d / "r.h5") as f:
        np.testing.assert_allclose(f["logits"][...], logits, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(f["targets"][...], targets)
        assert "done" not in f and "generator_state" not in f
    assert rank_seed(5, 0) != rank_seed(5, 1)
    assert rank_blocks(40, 8, 2) == [(0, 16), (16, 40)] and rank_blocks(40, 16, 3) == [(0, 16), (16, 32), (32, 40)]
    assert rank_blocks(5, 8, 2) == [(0, 0), (0, 5)]  # one batch for two ranks: the second takes it

    # killed on both ranks after the first batch of their blocks; --resume continues each part
    killed = _torchrun(*_args(d, "cut.h5", *RANDOM), env=KILL)
    assert killed.returncode != 0 and not (d / "cut.h5").exists()
    parts = [d / f".cut.h5.rank{r}of2.partial" for r in range(2)]
    for p in parts:
        with h5py.File(p) as f:
            assert f["done"][...].sum() == 8
    # another number of processes, or none, is refused before the model loads
    assert_user_error(cli(*_args(d, "cut.h5", *RANDOM), "--resume", env=RANK0_OF[3]), "2 processes",
                      "--nproc-per-node 2")
    assert_user_error(cli(*_args(d, "cut.h5", *RANDOM), "--resume", env=ENV), "2 processes")
    assert_user_error(cli(*_args(d, "cut.h5", *RANDOM), env=ENV), "2 processes", "--force")
    assert_user_error(cli(*_args(d, "cut.h5", *RANDOM), "--resume", "--seed", "6", env=RANK0_OF[2]), "seed")
    done = _torchrun(*_args(d, "cut.h5", *RANDOM), "--resume")
    assert done.returncode == 0, done.stderr.decode()
    assert "resuming: 8 of 16" in done.stderr.decode() and "resuming: 8 of 24" in done.stderr.decode()
    assert done.stdout == full.stdout
    _assert_same_file(d / "r.h5", d / "cut.h5")
    assert _leftovers(d, "cut.h5") == []


def test_attack_under_torchrun_needs_an_output(setup, cli):
    d = setup
    proc = cli("attack", d / "m.safetensors", d / "test.h5", "--steps", "1", "--device", "cpu", env=RANK0_OF[2])
    assert_user_error(proc, "torchrun", "-o FILE")


def test_a_single_process_partial_is_not_resumed_by_ranks(setup, cli):
    d = setup
    partial = store.Resumable.partial_path(d / "solo.h5")
    partial.write_bytes(b"")
    try:
        assert_user_error(cli(*_args(d, "solo.h5"), "--resume", env=RANK0_OF[2]), "one process", "without torchrun")
        assert_user_error(cli(*_args(d, "solo.h5"), env=RANK0_OF[2]), ".solo.h5.partial", "--resume")
    finally:
        partial.unlink()
