"""Resume after SIGKILL and a 2-process torchrun give the uninterrupted single-process file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from semtool.generate import magicmix

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def _args(imageset, sd_folder, out, batch_size):
    return ["mix", str(imageset), "-o", str(out), "--model", str(sd_folder), "--size", "16", "--steps", "20",
            "--targets", "all", "--device", "cpu", "--dtype", "fp32", "--seed", "11", "--batch-size", str(batch_size)]


def _datasets(path):
    with h5py.File(path) as f:
        return {k: f[k][...] for k in f if k != "provenance"}


def _assert_same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def uninterrupted(grouped_imageset, sd_folder, tmp_path_factory):
    # one torch thread here (conftest) as in the subprocesses (OMP_NUM_THREADS=1)
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    magicmix.mix(grouped_imageset, out, model=str(sd_folder), size=16, steps=20, targets="all",
                 device="cpu", dtype="fp32", seed=11, batch_size=2)
    return _datasets(out)


@pytest.mark.slow
def test_resume_after_sigkill(grouped_imageset, sd_folder, tmp_path, uninterrupted):
    out = tmp_path / "h.h5"
    partial = tmp_path / ".h.h5.partial"
    proc = subprocess.Popen([sys.executable, "-m", "semtool", *_args(grouped_imageset, sd_folder, out, 2)],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not partial.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    # every finished batch rewrites the partial file: kill -9 after a few of the 12 batches
    seen = set()
    while len(seen) < 4 and time.time() < deadline and proc.poll() is None:
        seen.add(partial.stat().st_mtime_ns)
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert partial.exists() and not out.exists(), proc.stderr.read().decode()
    with h5py.File(partial) as f:
        done_before = int(f["done"][...].sum())
    assert 0 < done_before < 24
    res = subprocess.run([sys.executable, "-m", "semtool", *_args(grouped_imageset, sd_folder, out, 2), "--resume"],
                         env=ENV, capture_output=True, timeout=600)
    assert res.returncode == 0, res.stderr.decode()
    assert not partial.exists()
    _assert_same(_datasets(out), uninterrupted)


@pytest.mark.slow
def test_torchrun_two_processes(grouped_imageset, sd_folder, tmp_path, uninterrupted):
    out = tmp_path / "d.h5"
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "semtool", *_args(grouped_imageset, sd_folder, out, 2)],
                         env=ENV, capture_output=True, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]  # shards combined and removed
    # each rank's batches start at its shard's first item (12 per rank, batch 2), as the
    # single process's do at multiples of 2, so even the batched kernels see the same inputs
    _assert_same(_datasets(out), uninterrupted)
