"""Ctrl-C (SIGINT) at any moment of a long command: exit 130, ``semtool: interrupted`` on
stderr, nothing under the output's final name, and the checkpoint named when there is one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from semtool import _runtime, store
from tests._helpers import embeddings_file
from tests.generate.conftest import blip_folder, clip_folder, grouped_imageset, sd_folder  # noqa: F401  (session fixtures)
from tests.learn.fmnist import CLASSES, fmnist_imageset, tiny_model_file

ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Tiny real inputs of every long command, written in-process (no subprocess to pay)."""
    d = tmp_path_factory.mktemp("interrupt")
    fmnist_imageset(d / "data.h5", "test", n=200, size=14)
    tiny_model_file(d / "m.safetensors")
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    with store.create(d / "maps.h5", "features", parameters={"test": True}) as f:
        f.create_dataset("layers/conv", data=rng.normal(size=(200, 16, 6, 6)).astype(np.float32))
        f["layers/conv"].attrs["pool"] = "none"
        f["labels"] = labels
        store.write_strings(f, "classes", CLASSES)
    embeddings_file(d / "emb.h5", rng.normal(size=(10, 8)), CLASSES)
    return d


def _commands(d, sd, blip, clip, images):
    return {
        "train": ["train", d / "data.h5", "-o", d / "out.safetensors", "--epochs", "50", "--device", "cpu"],
        "mix": ["mix", images, "-o", d / "out.h5", "--model", sd, "--size", "16", "--steps", "50", "--device", "cpu",
                "--batch-size", "1"],
        "caption": ["caption", images, "-o", d / "out.h5", "--blip", blip, "--clip", clip, "--beams", "2",
                    "--samples", "2", "--device", "cpu", "--batch-size", "1"],
        "attack": ["attack", d / "m.safetensors", d / "data.h5", "--eps", "0,0.5,1,2", "--steps", "200",
                   "--device", "cpu", "-o", d / "out.h5"],
        "features": ["features", d / "m.safetensors", d / "data.h5", "--layers", "block3.1", "--pool", "none",
                     "--batch-size", "1", "--device", "cpu", "-o", d / "out.h5"],
        "rsm": ["rsm", d / "maps.h5", "--semantic", "-o", d / "out.h5"],
        "twovtwo": ["twovtwo", d / "maps.h5", d / "emb.h5", "--permutations", "1000000", "-o", d / "out.h5"],
    }


def _interrupt(args, after, cwd, wait_for=None):
    """Start semtool ARGS, send SIGINT ``after`` seconds after start (or once ``wait_for``
    exists), and return (returncode, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "semtool", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, env={**os.environ, **ENV})
    start = time.monotonic()
    while wait_for is not None and not os.path.exists(wait_for) and proc.poll() is None:
        assert time.monotonic() - start < 300, "the awaited file never appeared"
        time.sleep(0.05)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def _assert_interrupted(rc, err, outputs):
    assert rc == 130, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1].startswith("semtool: interrupted"), err
    assert "Traceback" not in err and "Exception ignored" not in err and "wrote " not in err, err
    for out in outputs:
        assert not out.exists(), out


# the first delay lands in Python's and torch's start-up, the others in loading or working
@pytest.mark.parametrize("command", ["train", "mix", "caption", "attack", "features", "rsm", "twovtwo"])
def test_sigint_at_several_moments(command, inputs, sd_folder, blip_folder, clip_folder, grouped_imageset):
    d = inputs
    args = _commands(d, sd_folder, blip_folder, clip_folder, grouped_imageset)[command]
    outputs = [d / "out.h5", d / "out.safetensors"]
    for after in (0.3, 2.0):
        for leftover in d.glob(".out*"):
            leftover.unlink()
        rc, err = _interrupt(args, after, d)
        if rc != 130 and "semtool/__main__.py" not in err:
            # it landed in Python's own start-up (site, runpy), before semtool's first line
            rc, err = _interrupt(args, after + 0.5, d)
        _assert_interrupted(rc, err, outputs)


def test_train_interrupted_after_an_epoch_names_its_checkpoint_and_resumes(inputs):
    d = inputs
    out = d / "resumed.safetensors"
    ckpt = d / ".resumed.safetensors.ckpt"
    args = ["train", d / "data.h5", "-o", out, "--epochs", "3", "--device", "cpu", "--seed", "1"]
    rc, err = _interrupt(args, 0.0, d, wait_for=ckpt)
    if rc == 0:
        pytest.fail("three epochs finished before the signal: " + err)
    _assert_interrupted(rc, err, [out])
    assert ckpt.exists() and str(ckpt) in err and "--resume" in err, err
    proc = subprocess.run([sys.executable, "-m", "semtool", *map(str, args), "--resume"], capture_output=True,
                          env={**os.environ, **ENV}, cwd=d, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.exists() and not ckpt.exists()


def test_mix_interrupted_while_working_names_its_partial_file(inputs, grouped_imageset, sd_folder):
    d = inputs
    out = d / "hyb.h5"
    partial = store.Resumable.partial_path(out)
    args = ["mix", grouped_imageset, "-o", out, "--model", sd_folder, "--size", "16", "--steps", "50",
            "--device", "cpu", "--batch-size", "1"]
    rc, err = _interrupt(args, 0.2, d, wait_for=partial)
    _assert_interrupted(rc, err, [out])
    assert partial.exists() and str(partial) in err and "--resume" in err, err


@pytest.mark.parametrize("command", ["attack", "features"])
def test_rows_interrupted_while_working_name_their_partial_files_and_resume(command, inputs):
    d = inputs
    out, pred = d / f"{command}_rows.h5", d / f"{command}_rows_p.h5"
    args = {"attack": ["attack", d / "m.safetensors", d / "data.h5", "--eps", "0,1", "--steps", "20",
                       "--random-start", "--batch-size", "10", "--device", "cpu", "-o", out],
            "features": ["features", d / "m.safetensors", d / "data.h5", "--layers", "pixels,block3.1", "--pool",
                         "none", "--batch-size", "1", "--device", "cpu", "-o", out, "--predictions", pred]}[command]
    partials = [store.Resumable.partial_path(p) for p in ([out, pred] if command == "features" else [out])]
    rc, err = _interrupt(args, 0.2, d, wait_for=partials[-1])
    _assert_interrupted(rc, err, [out, pred])
    assert all(p.exists() and str(p) in err for p in partials) and "--resume" in err, err
    proc = subprocess.run([sys.executable, "-m", "semtool", *map(str, args), "--resume"], capture_output=True,
                          env={**os.environ, **ENV}, cwd=d, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "resuming: " in proc.stderr.decode() and out.exists() and not any(p.exists() for p in partials)


def test_a_swallowed_interrupt_still_stops_the_rename(tmp_path, monkeypatch):
    """SIGINT that a library caught ("Exception ignored ...") leaves the flag set: the
    atomic write refuses to rename into place, so no output appears."""
    monkeypatch.setattr(_runtime, "interrupted", True)
    monkeypatch.setattr(_runtime, "committed", [])
    out = tmp_path / "x.h5"
    with pytest.raises(KeyboardInterrupt):
        with store.create(out, "csm", parameters={}) as f:
            f["matrix"] = np.eye(2)
            store.write_strings(f, "classes", ["a", "b"])
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(_runtime, "interrupted", False)
    with store.create(out, "csm", parameters={}) as f:
        f["matrix"] = np.eye(2)
        store.write_strings(f, "classes", ["a", "b"])
    assert _runtime.committed == [out]


def test_sigint_inside_a_weakref_callback_is_remembered_not_raised(monkeypatch):
    """Raised inside a weak reference's callback (h5py frees objects that way while writing),
    KeyboardInterrupt would only print "Exception ignored"; the handler remembers it, sends
    SIGINT again a moment later (so a command without checks still stops), and the next
    check (after a batch, before a rename) raises it."""
    import sys as _sys
    import threading

    monkeypatch.setattr(_runtime, "interrupted", False)
    again = threading.Event()  # the handler sends SIGINT again once out of the callback: recorded here
    monkeypatch.setattr(_runtime, "_send_sigint", again.set)
    scope: dict = {"sys": _sys}
    exec(compile("def remove():\n    return sys._getframe()\n", "/usr/lib/python3/weakref.py", "exec"), scope)
    _runtime.on_sigint(signal.SIGINT, scope["remove"]())
    assert _runtime.interrupted
    assert again.wait(5)
    with pytest.raises(KeyboardInterrupt):
        _runtime.check_interrupt()
    monkeypatch.setattr(_runtime, "interrupted", False)
    with pytest.raises(KeyboardInterrupt):
        _runtime.on_sigint(signal.SIGINT, _sys._getframe())
    assert _runtime.interrupted
