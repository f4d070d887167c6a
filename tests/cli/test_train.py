"""``semtool train``: learning on real Fashion-MNIST, tracking values, resume after SIGKILL, DDP."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

import h5py
import numpy as np
import pytest

from semtool import measure, store
from tests.conftest import ROOT, assert_user_error
from tests.learn.fmnist import CLASSES, GROUPS, fmnist_imageset, write_csm, write_hybrids, write_imageset

ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two epochs of convnet on 1500 Fashion-MNIST images (14×14), eval on 500 held-out ones."""
    from tests.conftest import run_cli

    d = tmp_path_factory.mktemp("train")
    fmnist_imageset(d / "train.h5", "train", n=1500, size=14)
    fmnist_imageset(d / "test.h5", "test", n=500, size=14)
    write_csm(d / "groups.h5", measure.groups_csm(np.array(GROUPS)))
    # a second reference whose classes are stored in another order (matched by name)
    rng = np.random.default_rng(0)
    r = rng.random((10, 10))
    r = (r + r.T) / 2
    np.fill_diagonal(r, 1)
    perm = rng.permutation(10)
    write_csm(d / "rand.h5", r[np.ix_(perm, perm)], classes=[CLASSES[i] for i in perm], source="text", measure="cosine")
    proc = run_cli("train", d / "train.h5", "-o", d / "m.safetensors", "--epochs", "2", "--eval", d / "test.h5",
                   "--curves", d / "c.h5", "--track-against", d / "groups.h5", "--track-against", d / "rand.h5",
                   "--device", "cpu", "--seed", "3", env=ENV)
    assert proc.returncode == 0, proc.stderr.decode()
    return d, proc, r


def test_two_epochs_lower_the_loss_and_beat_chance(trained):
    d, proc, _ = trained
    err = proc.stderr.decode()
    assert "epoch 1/2" in err and "epoch 2/2" in err
    with store.open_file(d / "c.h5", "curves") as f:
        loss = f["loss"][...]
        acc = f["accuracy/eval"][...]
        np.testing.assert_array_equal(f["epochs"][...], [1.0, 2.0])
        np.testing.assert_allclose(f["lr"][...], [0.1, 0.05])
        assert f.attrs["label"] == "m"
    assert loss[1] < loss[0]
    assert acc[-1] > 0.3  # ten classes: chance is 0.1
    # the model predicts the held-out set as well as the curves say
    import torch

    from semtool.models import load_model
    from semtool.data.imageset import read_imageset

    model, meta = load_model(d / "m.safetensors")
    test = read_imageset(d / "test.h5")
    with torch.no_grad():
        pred = model(torch.from_numpy(test.images.transpose(0, 3, 1, 2)).float() / 255).argmax(1).numpy()
    assert np.mean(pred == test.labels) == pytest.approx(acc[-1])
    assert meta["metrics"]["accuracy/eval"] == pytest.approx(acc[-1])
    assert meta["classes"] == CLASSES and meta["groups"] == GROUPS and meta["epoch"] == 2 and meta["seed"] == 3


def test_tracked_values_equal_the_measures_on_the_snapshots(trained):
    d, _, rand_ref = trained
    from semtool.models import load_model

    with store.open_file(d / "c.h5", "curves") as f:
        series = {k: f[k][...] for k in ("sai/groups/ncsm", "sai/groups/ccsm", "sai/rand/ncsm", "sai/rand/ccsm",
                                         "sai/ncsm_vs_ccsm", "idm/network", "idm/groups", "idm/rand", "wsi/mean",
                                         "wsi/max", "wsi/min", "accuracy/eval", "accuracy/superclass",
                                         "idm_errors/network", "idm_errors/groups", "idm_errors/rand")}
        nc, cc = f["snapshots/ncsm"][...], f["snapshots/ccsm"][...]
        assert store.read_strings(f["classes"]) == CLASSES
    groups = measure.groups_csm(np.array(GROUPS))
    # the last NCSM snapshot is the saved model's final-layer cosine matrix
    model, meta = load_model(d / "m.safetensors")
    np.testing.assert_allclose(nc[-1], measure.ncsm(model.state_dict()[meta["head"]].numpy()), atol=1e-12)
    with store.open_file(d / "test.h5", "imageset") as f:
        labels = f["labels"][...]
    counts = np.bincount(labels, minlength=10)
    for e in range(2):
        np.testing.assert_allclose(series["sai/groups/ncsm"][e], measure.sai(nc[e], groups))
        np.testing.assert_allclose(series["sai/groups/ccsm"][e], measure.sai(cc[e], groups))
        np.testing.assert_allclose(series["sai/rand/ncsm"][e], measure.sai(nc[e], rand_ref))
        np.testing.assert_allclose(series["sai/rand/ccsm"][e], measure.sai(cc[e], rand_ref))
        np.testing.assert_allclose(series["sai/ncsm_vs_ccsm"][e], measure.sai(nc[e], cc[e]))
        w = measure.wsi(nc[e])
        for k in ("mean", "max", "min"):
            np.testing.assert_allclose(series[f"wsi/{k}"][e], w[k])
        # the CCSM snapshot and the class counts give back the (label, prediction) pairs
        conf = np.rint(cc[e] * counts[:, None]).astype(int)
        np.fill_diagonal(conf, 0)
        conf[np.arange(10), np.arange(10)] = counts - conf.sum(1)
        lab = np.repeat(np.repeat(np.arange(10), 10), conf.reshape(-1))
        pred = np.tile(np.arange(10), 10).repeat(conf.reshape(-1))
        np.testing.assert_allclose(series["accuracy/eval"][e], np.mean(lab == pred))
        np.testing.assert_allclose(series["idm/network"][e], measure.idm(lab, pred, nc[e]))
        np.testing.assert_allclose(series["idm/groups"][e], measure.idm(lab, pred, groups))
        np.testing.assert_allclose(series["idm/rand"][e], measure.idm(lab, pred, rand_ref))
        # the errors-only IDM (Filus et al. plot it), per reference and for the network
        np.testing.assert_allclose(series["idm_errors/network"][e], measure.idm(lab, pred, nc[e], errors_only=True))
        np.testing.assert_allclose(series["idm_errors/groups"][e], measure.idm(lab, pred, groups, errors_only=True))
        np.testing.assert_allclose(series["idm_errors/rand"][e], measure.idm(lab, pred, rand_ref, errors_only=True))
        g = np.array(GROUPS)
        np.testing.assert_allclose(series["accuracy/superclass"][e], np.mean(g[lab] == g[pred]))


def test_provenance_travels_from_the_data_through_the_model_into_what_is_made_from_it(trained, cli):
    """The model keeps its train step (argv, options, inputs' SHA-256) and the steps that made
    its data; a file made from the model carries the whole chain, and info prints it."""
    import json

    from semtool.models import read_model_metadata

    d, _, _ = trained
    chain = read_model_metadata(d / "m.safetensors")["provenance"]
    step = chain[-1]
    assert step["command"] == "train" and "train" in step["argv"] and "--track-against" in step["argv"]
    assert step["parameters"]["epochs"] == 2 and step["parameters"]["seed"] == 3
    shas = {Path(r["path"]).name: (r["kind"], r["sha256"]) for r in step["inputs"]}
    for name, kind in (("train.h5", "imageset"), ("test.h5", "imageset"), ("groups.h5", "csm"), ("rand.h5", "csm")):
        assert shas[name] == (kind, store.sha256_of(d / name))
    with store.open_file(d / "train.h5") as f:
        data_steps = store.read_provenance(f)
    assert chain[0] == data_steps[0]  # the data's own step comes first
    ncsm = d / "ncsm.h5"
    assert cli("csm", "ncsm", d / "m.safetensors", "-o", ncsm).returncode == 0
    with store.open_file(ncsm, "csm") as f:
        made = store.read_provenance(f)
    assert [s["command"] for s in made][-2:] == ["train", "csm ncsm"] and made[:-1] == chain
    assert made[-1]["inputs"][0]["kind"] == "model"
    info = cli("info", ncsm)
    assert info.returncode == 0
    lines = info.stdout.decode().split("provenance:")[1].splitlines()
    assert any(" train " in ln and "--curves" in ln for ln in lines) and "csm ncsm" in lines[-1]
    shown = json.loads(cli("info", "--json", d / "m.safetensors").stdout)[0]["provenance"]
    assert [s["command"] for s in shown] == [s["command"] for s in chain]


def _small(d, n=300):
    fmnist_imageset(d / "train.h5", "train", n=n, size=14)
    fmnist_imageset(d / "test.h5", "test", n=100, size=14)
    with store.open_file(d / "train.h5", "imageset") as f:
        imgs, labels = f["images"][...], f["labels"][...]
    # hybrids: 60 images, base = their class, target = the next class, stored with reversed class order
    rev = CLASSES[::-1]
    base = np.array([rev.index(CLASSES[c]) for c in labels[:60]])
    target = np.array([rev.index(CLASSES[(c + 1) % 10]) for c in labels[:60]])
    write_hybrids(d / "h.h5", imgs[:60][:, ::-1].copy(), base, target, classes=rev)


def _weights(path):
    from safetensors.numpy import load_file

    return load_file(str(path))


@pytest.mark.slow
def test_resume_after_sigkill_gives_identical_weights(tmp_path, cli):
    _small(tmp_path)
    common = ["--epochs", "2", "--batch-size", "50", "--eval", tmp_path / "test.h5", "--hybrids", tmp_path / "h.h5",
              "--hybrid-prob", "0.5", "--device", "cpu", "--seed", "5"]
    a = cli("train", tmp_path / "train.h5", "-o", tmp_path / "a.safetensors", "--curves", tmp_path / "a.h5", *common,
            env=ENV)
    assert a.returncode == 0, a.stderr.decode()
    out = tmp_path / "b.safetensors"
    killed = cli("train", tmp_path / "train.h5", "-o", out, "--curves", tmp_path / "b.h5", *common,
                 env={**ENV, "SEMTOOL_DEBUG_SIGKILL_AT": "2:2"})
    assert killed.returncode == -9
    assert not out.exists() and (tmp_path / ".b.safetensors.ckpt").exists()
    again = cli("train", tmp_path / "train.h5", "-o", out, "--curves", tmp_path / "b.h5", *common, env=ENV)
    assert_user_error(again, "--resume")
    resumed = cli("train", tmp_path / "train.h5", "-o", out, "--curves", tmp_path / "b.h5", *common, "--resume", env=ENV)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert "resuming after epoch 1" in resumed.stderr.decode()
    wa, wb = _weights(tmp_path / "a.safetensors"), _weights(out)
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
    with h5py.File(tmp_path / "a.h5") as fa, h5py.File(tmp_path / "b.h5") as fb:
        for k in ("loss", "accuracy/eval", "snapshots/ncsm"):
            np.testing.assert_array_equal(fa[k][...], fb[k][...])
    assert not (tmp_path / ".b.safetensors.ckpt").exists()


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    _small(tmp_path, n=200)
    hashes = tmp_path / "hashes"
    hashes.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, **ENV, "SEMTOOL_DEBUG_WEIGHTS_DIR": str(hashes), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "semtool", "train", str(tmp_path / "train.h5"), "-o", str(out / "m.safetensors"),
                           "--epochs", "1", "--batch-size", "50", "--eval", str(tmp_path / "test.h5"),
                           "--curves", str(out / "c.h5"), "--hybrids", str(tmp_path / "h.h5"), "--device", "cpu"],
                          capture_output=True, env=env, timeout=600)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    h0, h1 = (hashes / "rank0.sha256").read_text(), (hashes / "rank1.sha256").read_text()
    assert h0 == h1
    assert sorted(p.name for p in out.iterdir()) == ["c.h5", "m.safetensors"]  # written once, no leftovers
    assert err.count("epoch 1/1") == 1 and err.count("wrote ") == 2
    assert "(convnet, 1 epoch)" in err and "1 epochs" not in err
    from semtool.learn.trainer import weights_digest
    from semtool.models import load_model

    model, _ = load_model(out / "m.safetensors")
    assert weights_digest(model) == h0


# ---------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (20, 8, 8, 1), dtype=np.uint8)
    write_imageset(d / "two.h5", imgs, rng.integers(0, 2, 20), classes=["a", "b"], groups=None)
    write_imageset(d / "one.h5", imgs, np.zeros(20, int), classes=["a"], groups=None)
    write_hybrids(d / "h.h5", imgs[:2], [0, 1], [1, 0], classes=["a", "zebra"])
    return d


@pytest.mark.parametrize("args,fragments", [
    (["one.h5"], ["one.h5", "at least 2"]),
    (["two.h5", "--hybrids", "h.h5"], ["zebra", "not in the training classes"]),
    (["two.h5", "--hybrids", "h.h5", "--hybrid-prob", "1.5"], ["--hybrid-prob"]),
    (["two.h5", "--arch", "resnet81"], ["resnet81", "resnet18"]),
    (["two.h5", "--arch", "mobilenet_v2", "--cifar-stem"], ["--cifar-stem"]),
    (["two.h5", "--device", "cuda"], ["--device", "CUDA"]),
])
def test_bad_input(data, cli, args, fragments):
    if "cuda" in args:
        import torch

        if torch.cuda.is_available():
            pytest.skip("a CUDA device is present")
    proc = cli("train", *[data / a if a.endswith(".h5") else a for a in args], "-o", data / "out.safetensors",
               "--epochs", "1", "--curves", data / "c.h5", env=ENV)
    assert_user_error(proc, *fragments)
    assert proc.stdout == b""
    assert not (data / "out.safetensors").exists() and not (data / "c.h5").exists()
    assert not list(data.glob(".out*"))


@pytest.mark.parametrize("name", ["model.pt", "model.pth", "model", "model.h5"])
def test_model_output_must_be_safetensors(data, cli, name):
    """One extension for every command: a model is written only under a .safetensors name,
    refused before training starts."""
    proc = cli("train", data / "two.h5", "-o", data / name, "--epochs", "1", env=ENV)
    assert_user_error(proc, f"-o {data / name}", "model.safetensors")
    assert not (data / name).exists() and not list(data.glob(f".{name}*"))


def test_without_eval_the_curves_hold_only_what_was_measured(data, cli, tmp_path):
    """No --eval: no eval accuracy, CCSM or IDM was measured, so none is written (an all-NaN
    series would draw an empty panel); the NCSM-based series are there."""
    out, curves = tmp_path / "m.safetensors", tmp_path / "c.h5"
    proc = cli("train", data / "two.h5", "-o", out, "--curves", curves, "--epochs", "1", "--device", "cpu", env=ENV)
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(curves, "curves") as f:
        names = []
        f.visititems(lambda name, obj: names.append(name) if hasattr(obj, "shape") and name != "classes" else None)
        for name in names:
            assert np.isfinite(f[name][...]).any(), name
        assert {"loss", "accuracy/train", "wsi/mean", "snapshots/ncsm"} <= set(names)
        assert not {"accuracy/eval", "idm/network", "sai/ncsm_vs_ccsm", "snapshots/ccsm"} & set(names)
    plot = cli("plot", "curves", curves, "-o", tmp_path / "c.png")
    assert plot.returncode == 0, plot.stderr.decode()
    err = plot.stderr.decode()
    assert "Warning" not in err and "warning" not in err, err


def test_ctrl_c_as_the_checkpoint_goes_keeps_the_finished_model(tmp_path):
    """A SIGINT that lands while the finished run removes its checkpoint: the model and curves
    stay (before the fix both the model and the checkpoint were lost)."""
    _small(tmp_path, n=100)
    out, curves = tmp_path / "m.safetensors", tmp_path / "c.h5"
    # KeyboardInterrupt where the checkpoint is unlinked once the model exists: where a real
    # Ctrl-C at that instant surfaces
    code = ("import pathlib, sys\n"
            "unlink = pathlib.Path.unlink\n"
            "def interrupted(self, *a, **k):\n"
            "    unlink(self, *a, **k)\n"
            "    if self.name.endswith('.ckpt') and pathlib.Path(sys.argv[1]).exists():\n"
            "        raise KeyboardInterrupt\n"
            "pathlib.Path.unlink = interrupted\n"
            "from semtool.cli.app import main\n"
            "main(sys.argv[2:])\n")
    args = ["train", tmp_path / "train.h5", "-o", out, "--curves", curves, "--epochs", "1", "--batch-size", "50",
            "--device", "cpu"]
    proc = subprocess.run([sys.executable, "-c", code, out, *args], capture_output=True, cwd=ROOT,
                          env={**os.environ, **ENV}, timeout=300)
    assert proc.returncode == 130, proc.stderr.decode()
    assert "semtool: interrupted" in proc.stderr.decode()
    assert out.is_file() and curves.is_file()  # finished work is kept
    from semtool.models import load_model

    assert load_model(str(out))[0] is not None
