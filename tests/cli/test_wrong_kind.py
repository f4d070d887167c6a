"""The wrong kind of file handed to a command: one line naming the file, every kind the
command accepts, and the way forward (the hint table in semtool/store/_hints.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semtool import store
from semtool.data.imageset import ImageSet, write_imageset
from tests.conftest import assert_user_error

CLASSES = ["a", "b", "c", "d", "e"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One small file of each kind (and a model, and a text file), through the real store."""
    from safetensors.numpy import save_file

    d = tmp_path_factory.mktemp("kinds")
    rng = np.random.default_rng(0)
    labels = np.arange(10) % 5
    write_imageset(d / "imageset.h5", ImageSet(images=rng.integers(0, 256, (10, 8, 8, 1), dtype=np.uint8),
                                               labels=labels, classes=CLASSES, source="test", split="train"),
                   command="test", parameters={})
    for name, source, measure in (("ncsm", "ncsm", "cosine"), ("ccsm", "ccsm", "confusion")):
        with store.create(d / f"{name}.h5", "csm", parameters={}) as f:
            f["matrix"] = np.eye(5) + 0.1
            store.write_strings(f, "classes", CLASSES)
            f.attrs["source"], f.attrs["measure"] = source, measure
    with store.create(d / "curves.h5", "curves", parameters={}) as f:
        f["epochs"] = np.arange(2.0)
        f["loss"] = np.ones(2)
        f["snapshots/ncsm"] = np.stack([np.eye(5)] * 2)
        store.write_strings(f, "classes", CLASSES)
    with store.create(d / "predictions.h5", "predictions", parameters={}) as f:
        f["labels"], f["predictions"] = labels, labels
        store.write_strings(f, "classes", CLASSES)
    with store.create(d / "features.h5", "features", parameters={}) as f:
        f["labels"] = labels
        f["layers/x"] = rng.random((10, 4)).astype(np.float32)
        store.write_strings(f, "classes", CLASSES)
    with store.create(d / "rsm.h5", "rsm", parameters={}) as f:
        f["matrix"], f["labels"] = np.eye(10), labels
    meta = {"architecture": "convnet", "num_classes": 5, "classes": CLASSES, "head": "net.fc.weight"}
    save_file({"net.fc.weight": rng.random((5, 3)).astype(np.float32)}, str(d / "model.safetensors"),
              metadata={"format": "pt", "semtool_kind": "model", "semtool_schema": "1", "semtool": json.dumps(meta)})
    (d / "names.txt").write_text("a\nb\n")
    return d


# (argv with {placeholders}, the wrong file, fragments the one error line must hold)
CASES = [
    (["sai", "{curves}", "{ncsm}"], "curves.h5",
     ["kind 'curves' found, 'csm' expected", "semtool csm ncsm {curves} -o ncsm.h5"]),
    (["wsi", "{curves}"], "curves.h5", ["'csm' expected", "semtool csm ncsm {curves}"]),
    (["idm", "{predictions}", "--csm", "{curves}"], "curves.h5", ["'csm' expected", "semtool csm ncsm {curves}"]),
    (["twovtwo", "{curves}", "{ncsm}"], "curves.h5",
     ["'embeddings' or 'features' or 'csm' expected", "semtool csm ncsm {curves}"]),
    (["plot", "csm", "{rsm}", "-o", "{png}"], "rsm.h5",
     ["kind 'rsm' found, 'csm' or 'curves' expected", "semtool csm ncsm|ccsm|tncsm|wordnet|groups|text"]),
    (["sai", "{ncsm}", "{predictions}"], "predictions.h5", ["'csm' expected", "semtool csm ccsm {predictions}"]),
    (["sai", "{imageset}", "{ncsm}"], "imageset.h5",
     ["'csm' expected", "semtool csm wordnet --classes-from {imageset}", "semtool csm groups {imageset}"]),
    (["sai", "{features}", "{ncsm}"], "features.h5", ["'csm' expected", "semtool csm tncsm {features}"]),
    (["sai", "{model}", "{ncsm}"], "model.safetensors",
     ["a model file found, 'csm' expected", "semtool csm ncsm {model}"]),
    (["idm", "{model}", "--csm", "{ncsm}"], "model.safetensors",
     ["'predictions' expected", "semtool attack {model} IMAGESET --eps 0"]),
    (["csm", "ccsm", "{imageset}", "-o", "{out}"], "imageset.h5",
     ["'predictions' expected", "semtool attack MODEL {imageset}"]),
    (["csm", "ncsm", "{imageset}", "-o", "{out}"], "imageset.h5",
     ["'curves' or a model file (.safetensors) expected", "semtool train {imageset} -o model.safetensors"]),
    (["csm", "ncsm", "{names}", "-o", "{out}"], "names.txt",
     ["neither a model file (.safetensors, .pt) nor a 'curves' file", "semtool train"]),
    (["csm", "tncsm", "{model}", "-o", "{out}"], "model.safetensors",
     ["'features' expected", "semtool features {model} IMAGESET"]),
    (["rsm", "{imageset}", "-o", "{out}"], "imageset.h5",
     ["'features' expected", "semtool features MODEL {imageset}"]),
    (["rsm", "{features}", "--evaluate", "--predictions", "{curves}", "-o", "{out}"], "curves.h5",
     ["'predictions' expected", "semtool attack MODEL IMAGESET"]),
    (["plot", "rsm", "{features}", "-o", "{png}"], "features.h5", ["'rsm' expected", "semtool rsm {features}"]),
    (["regroup", "{model}", "--preset", "fashion-mnist", "-o", "{out}"], "model.safetensors",
     ["'imageset' expected", "semtool dataset"]),
    (["csm", "text", "--classes-from", "{rsm}", "-o", "{out}"], "rsm.h5",
     ["holds no class names", "a text file with one name per line"]),
    # a model command handed an HDF5 file (loads torch: one case is enough)
    (["features", "{imageset}", "{imageset}", "-o", "{out}"], "imageset.h5",
     ["kind 'imageset' found, a model file (.safetensors) expected", "semtool train {imageset}"]),
]


@pytest.mark.parametrize("argv, wrong, fragments", CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_wrong_kind_says_what_to_do(cli, files, tmp_path, argv, wrong, fragments):
    fill = {p.stem: p for p in files.iterdir()} | {"out": tmp_path / "out.h5", "png": tmp_path / "x.png"}
    proc = cli(*[a.format(**fill) for a in argv])
    assert_user_error(proc, str(files / wrong), *[f.format(**fill) for f in fragments])
    assert not (tmp_path / "out.h5").exists() and not (tmp_path / "x.png").exists()


def test_wrong_kind_from_stdin(cli, files):
    proc = cli("sai", "-", files / "ncsm.h5", input=(files / "curves.h5").read_bytes())
    assert_user_error(proc, "<stdin>: kind 'curves' found, 'csm' expected", "semtool csm ncsm - -o ncsm.h5")


def test_wsi_refuses_a_ccsm(cli, files):
    """WSI is defined on the raw-cosine NCSM of the classifier weights (DESIGN.md)."""
    proc = cli("wsi", files / "ccsm.h5")
    assert_user_error(proc, str(files / "ccsm.h5"), "'ccsm' csm", "NCSM", "semtool csm ncsm MODEL")
    assert proc.stdout == b""
    ok = cli("wsi", files / "ncsm.h5", "--json")
    assert ok.returncode == 0 and "mean" in json.loads(ok.stdout)[0]
