"""The quick demo and every example's offline / dry-run mode, run as a user runs them
(bash, the semtool executable), with their outputs checked against the library."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semtool import store
from semtool.measure import align, retrieval, sai, take_classes, wsi

ROOT = Path(__file__).resolve().parents[2]
FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not FASHION.exists() and not os.environ.get("FASHION_ROOT"),
                       reason="needs Fashion-MNIST (apt-get install dataset-fashion-mnist)"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """SEMTOOL / PYTHON pointing at this checkout's code under the test's interpreter."""
    bin_dir = tmp_path_factory.mktemp("bin")
    exe = bin_dir / "semtool"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m semtool "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    e = dict(os.environ)
    e.update(SEMTOOL=str(exe), PYTHON=sys.executable, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
             PYTHONPATH=str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else ""))
    return e


def bash(script: str, *args, env: dict[str, str]) -> str:
    proc = subprocess.run(["bash", str(ROOT / script), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def read(path: Path, kind: str, *names: str):
    with store.open_file(path, kind) as f:
        return [f[n][()] if n in f else f.attrs[n] for n in names]


def classes_of(path: Path) -> list[str]:
    with store.open_file(path) as f:
        return store.read_strings(f["classes"])


def assert_png(path: Path) -> None:
    """Decodes, has a sensible size, is not blank."""
    from PIL import Image

    with Image.open(path) as im:
        px = np.asarray(im.convert("L"), dtype=np.float64)
    assert px.shape[0] > 200 and px.shape[1] > 200, px.shape
    assert px.std() > 5, f"{path.name} looks blank"


def csm_matrix(path: Path, order: list[str]) -> np.ndarray:
    """The csm file's matrix on the classes ``order`` (a subset of its own), in that order."""
    m, = read(path, "csm", "matrix")
    _, idx, shared = align(order, classes_of(path), intersect=True)
    assert shared == list(order)
    return take_classes(m, idx)


def markdown_tables(text: str) -> list[list[list[str]]]:
    tables, cur = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cur.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif cur:
            tables.append([r for r in cur if not set("".join(r)) <= set("-")])
            cur = []
    return tables


def column(table: list[list[str]], name: str) -> np.ndarray:
    j = table[0].index(name)
    return np.array([float(r[j]) for r in table[1:]])


# ---- make demo --quick ------------------------------------------------------------------

def test_quick_demo(tmp_path, env):
    import json

    out = tmp_path / "demo"
    stdout = bash("scripts/demo.sh", "--quick", "--out", out, env=env)
    assert stdout.rstrip().splitlines()[-1] == f"{out}/REPORT.md"
    assert stdout.count("==> [") == 10  # every step announced
    assert stdout.count("$ semtool report ") == 2  # one card per model

    # every file opens as its kind, and `semtool info` reads one of each kind
    kinds = {}
    for p in sorted(out.glob("*.h5")) + sorted(out.glob("card-*/*.h5")):
        kinds.setdefault(store.kind_of(p), p)
    assert set(kinds) >= {"imageset", "hybrids", "csm", "curves", "predictions", "features",
                          "embeddings", "twovtwo", "rsm"}
    for p in kinds.values():
        proc = subprocess.run([env["SEMTOOL"], "info", str(p)], env=env, capture_output=True, text=True)
        assert proc.returncode == 0 and p.name in proc.stdout + proc.stderr, proc.stderr
    for fig in ("curves", "attack"):
        assert_png(out / "figures" / f"{fig}.png")
    for m in ("baseline", "hybrids"):
        for fig in ("csm", "twovtwo", "rsm", "attack"):
            assert_png(out / f"card-{m}" / "figures" / f"{fig}.png")

    report = (out / "REPORT.md").read_text()
    for fig in ("curves", "attack"):
        assert f"(figures/{fig}.png)" in report
    assert "(card-baseline/report.html)" in report and "(card-hybrids/report.html)" in report
    tables = markdown_tables(report)
    acc, per_epoch, attack, cards = tables
    for name in ("train accuracy", "test accuracy", "test semantic-group accuracy",
                 "SAI(NCSM, WordNet)", "SAI(NCSM, groups)"):
        assert np.all((column(acc, name) >= 0) & (column(acc, name) <= 1)), name
    # the report's numbers are the files' numbers
    ev, sw = read(out / "baseline-curves.h5", "curves", "accuracy/eval", "sai/wordnet/ncsm")
    assert float(acc[1][acc[0].index("test accuracy")]) == pytest.approx(ev[-1], abs=5e-4)
    assert [float(v) for v in per_epoch[1][1:]] == pytest.approx(sw, abs=5e-4)
    for name in ("accuracy", "semantic-group accuracy", "semantic-group accuracy of the mistakes"):
        assert np.all((column(attack, name) >= 0) & (column(attack, name) <= 1)), name
    assert sorted(set(column(attack, "ε"))) == [0, 0.25, 0.5, 1, 2]
    # the cards' headline numbers: their summary.json, which is sai/wsi/retrieval on their files
    card = out / "card-baseline"
    summary = json.loads((card / "summary.json").read_text())
    rows = {r[0]: r[1:] for r in cards[1:]}
    wn = classes_of(card / "wordnet.h5")
    ncsm_b = csm_matrix(card / "ncsm.h5", wn)
    assert float(rows["SAI(NCSM, WordNet)"][0]) == pytest.approx(sai(ncsm_b, csm_matrix(card / "wordnet.h5", wn)),
                                                                 abs=5e-4)
    assert float(rows["mean WSI"][0]) == pytest.approx(wsi(ncsm_b)["mean"], abs=5e-4)
    assert float(rows["2 vs 2, last stage"][0]) == pytest.approx(summary["twovtwo"][-1]["accuracy"], abs=5e-4)
    m, labels = read(card / "rsm-semantic.h5", "rsm", "matrix", "labels")
    assert float(rows["semantic RSM retrieval top-1"][0]) == pytest.approx(retrieval(m, labels)["top1"], abs=5e-4)
    assert re.search(r"\d+ training images \(\d+ per class", report)  # sizes stated


# ---- examples ---------------------------------------------------------------------------

def test_abreu2023_dry_run(tmp_path, env):
    out = tmp_path / "abreu"
    bash("examples/abreu2023_cifar100.sh", "--dry-run", "--out", out, env=env)
    for factor in (0.5, 0.75):
        base, target, method, fac = read(out / f"hybrids-{factor}.h5", "hybrids", "base_labels",
                                         "target_labels", "method", "factor")
        groups, = read(out / "train.h5", "imageset", "groups")
        assert method == "magicmix" and fac == pytest.approx(factor)
        assert len(base) == 100 and np.all(groups[base] == groups[target]) and np.all(base != target)
    assert len(classes_of(out / "train.h5")) == 25
    for name in ("baseline", "p0.25-f0.5", "p0.25-f0.75", "p0.5-f0.5", "p0.5-f0.75"):
        eps, pred, labels = read(out / f"{name}-attack.h5", "predictions", "epsilons", "predictions", "labels")
        assert list(eps) == [0, 0.25, 0.5, 1, 2] and pred.shape == (5, len(labels)) == (5, 50)
        epochs, = read(out / f"{name}-curves.h5", "curves", "epochs")
        assert list(epochs) == [1]
    assert_png(out / "figures-4-5.png")


def test_dsi_training_curves_offline(tmp_path, env):
    out = tmp_path / "dsi"
    bash("examples/dsi_training_curves.sh", "--offline", "--out", out, env=env)
    tracked, = read(out / "curves.h5", "curves", "sai/wordnet/ncsm")
    again, = read(out / "sai-wordnet.h5", "curves", "sai/cosine")
    assert len(tracked) == 3 and np.allclose(again, tracked, atol=1e-9)  # recomputed from the snapshots
    stack, = read(out / "ncsm-stack.h5", "csm", "matrices")
    assert stack.shape == (3, 10, 10)
    for png in ("curves.png", "ncsm-first-last.png"):
        assert_png(out / png)


def test_sgid_augment_offline(tmp_path, env):
    out = tmp_path / "sgid"
    bash("examples/sgid_augment.sh", "--offline", "--out", out, env=env)
    cand, score, best_score, guidance = read(out / "captions.h5", "captions", "candidates", "scores",
                                             "best_score", "guidance")
    assert cand.shape == (40, 6)
    assert np.allclose(best_score, score.max(axis=1), atol=1e-6)
    assert np.allclose(guidance, -4 * best_score**2 + 2 * best_score + 1, atol=1e-5)
    base, target, method = read(out / "sgid.h5", "hybrids", "base_labels", "target_labels", "method")
    assert method == "sgid" and len(base) == 40 and np.all(base == target)
    for run in ("plain", "sgid"):
        acc, = read(out / f"{run}-curves.h5", "curves", "accuracy/eval")
        assert len(acc) == 2 and np.all((acc >= 0) & (acc <= 1))
    assert_png(out / "accuracy.png")


def test_twovtwo_layers_offline(tmp_path, env):
    out = tmp_path / "twovtwo"
    bash("examples/twovtwo_layers.sh", "--offline", "--out", out, env=env)
    layers, acc, p, tests = read(out / "twovtwo.h5", "twovtwo", "layers", "accuracy", "p_value", "tests")
    assert len(layers) == 3 and int(np.asarray(tests).reshape(-1)[0]) == 45  # C(10, 2)
    assert np.all((acc >= 0) & (acc <= 1)) and np.all((p >= 1 / 201 - 1e-12) & (p <= 1))
    assert_png(out / "twovtwo.png")


def test_dharmaretnam2018_imagenet_dry_run(tmp_path, env):
    from semtool.measure.twovtwo import correlation_matrix, image_groups, two_vs_two

    out = tmp_path / "dharmaretnam"
    bash("examples/dharmaretnam2018_imagenet.sh", "--dry-run", "--out", out, env=env)
    layers, acc, tests, null = read(out / "twovtwo.h5", "twovtwo", "layers", "accuracy", "tests", "null")
    layers = [x.decode() if isinstance(x, bytes) else x for x in layers]
    assert layers == ["pixels", "features.4", "features.9", "features.16", "features.23", "features.30",
                      "classifier.1", "classifier.4", "classifier.6"]  # from the pixels to the classifier
    assert int(tests) == 15  # C(6, 2): the 6 of 8 classes the vector file holds
    with store.open_file(out / "words.h5", "embeddings") as f:
        words, concepts = f["vectors"][...], store.read_strings(f["concepts"])
        matched = dict(zip(concepts, store.read_strings(f["matched"])))
    assert matched == {"tench": "tench", "goldfish": "Goldfish", "great white shark": "great_white_shark",
                       "tiger shark": "tiger + shark", "hammerhead": "hammerhead", "stingray": "stingray"}
    # The pixel layer's 2 vs 2, recomputed with the library from the stored pixels.
    with store.open_file(out / "features.h5", "features") as f:
        pixels, labels, classes = f["layers/pixels"][...], f["labels"][...], store.read_strings(f["classes"])
    keep = [classes.index(c) for c in concepts]
    pos = np.full(len(classes), -1)
    pos[keep] = np.arange(len(keep))
    sel = np.flatnonzero(pos[labels] >= 0)
    ws = [correlation_matrix(pixels[sel[g]]) for g in image_groups(pos[labels[sel]], len(keep))]
    assert len(ws) == 5  # 5 images per concept: 5 groups
    ref = two_vs_two(ws, correlation_matrix(words), permutations=200, seed=0)
    assert acc[0] == pytest.approx(ref.accuracy) and np.allclose(null[0], ref.null)
    one_vs_two_tests, = read(out / "twovtwo.h5", "twovtwo", "one_vs_two/tests")
    assert np.all(np.asarray(one_vs_two_tests) > 0)
    assert_png(out / "twovtwo.png")


def test_semantic_rsm_retrieval_offline(tmp_path, env):
    out = tmp_path / "rsm"
    bash("examples/semantic_rsm_retrieval.sh", "--offline", "--out", out, env=env)
    rows = [ln.split("\t") for ln in (out / "retrieval.tsv").read_text().splitlines()]
    assert rows[0] == ["rsm", "top1", "f1_at_1", "pearson", "spearman"]
    assert [r[0] for r in rows[1:]] == ["spatial", "semantic", "batch-optimal", "greedy"]
    for name, *values in rows[1:]:
        top1, f1, pearson, spearman = map(float, values)
        m, labels = read(out / f"rsm-{name}.h5", "rsm", "matrix", "labels")
        assert m.shape == (60, 60)
        assert top1 == pytest.approx(retrieval(m, labels)["top1"], abs=1e-4)
        assert 0 <= f1 <= 1 and -1 <= pearson <= 1 and -1 <= spearman <= 1
    assert_png(out / "rsm.png")


def test_batch_compare_shows_semtool_errors(tmp_path, env):
    """A bad model file: the script stops and the user sees semtool's own one-line error."""
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    ref = tmp_path / "ref.h5"
    with store.create(ref, "csm", parameters={}) as f:
        f["matrix"] = np.eye(3)
        store.write_strings(f, "classes", ["a", "b", "c"])
    proc = subprocess.run(["bash", str(ROOT / "examples/batch_compare.sh"), "--out", str(tmp_path / "o"), str(bad)],
                          cwd=ROOT, env={**env, "REFERENCE": str(ref)}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert f"semtool: error: {bad}" in proc.stderr


def test_batch_compare_offline(tmp_path, env):
    out = tmp_path / "batch"
    bash("examples/batch_compare.sh", "--offline", "--out", out, env=env)
    rows = [ln.split("\t") for ln in (out / "sai.tsv").read_text().splitlines()]
    assert rows[0] == ["run", "sai_cosine", "sai_ssim", "mean_wsi"]
    assert [r[0] for r in rows[1:]] == ["seed0", "seed1", "seed2"]
    ref_classes = classes_of(out / "reference.h5")
    ref = csm_matrix(out / "reference.h5", ref_classes)
    for name, cos, ssim_value, mean_wsi in rows[1:]:
        ncsm = csm_matrix(out / "ncsm" / f"{name}.h5", ref_classes)
        assert float(cos) == pytest.approx(sai(ncsm, ref), abs=1e-5)
        assert float(ssim_value) == pytest.approx(sai(ncsm, ref, "ssim"), abs=1e-5)
        assert float(mean_wsi) == pytest.approx(wsi(ncsm)["mean"], abs=1e-6)
    pairs = [ln.split("\t") for ln in (out / "pairs.tsv").read_text().splitlines()]
    m = np.array([[float(v) for v in r[1:]] for r in pairs[1:]])
    assert m.shape == (4, 4) and np.allclose(m, m.T) and np.allclose(np.diag(m), 1)
    assert m[0, 3] == pytest.approx(float(rows[1][1]), abs=1e-5)


def test_dsi_pretrained_dry_run(tmp_path, env):
    import torch

    out = tmp_path / "dsi-pretrained"
    bash("examples/dsi_pretrained.sh", "--dry-run", "--out", out, env=env)
    rows = [r.split("\t") for r in (out / "dsi.tsv").read_text().splitlines()]
    assert [r[0] for r in rows[1:]] == ["torchvision:squeezenet1_1", "torchvision:mobilenet_v3_small"]
    # the NCSM is the cosine between the class templates of the weights file placed in the cache
    cached, = (out / "torch-home" / "hub" / "checkpoints").glob("squeezenet1_1-*.pth")
    w = torch.load(cached, weights_only=True)["classifier.1.weight"].reshape(1000, -1).double().numpy()
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    ncsm, = read(out / "ncsm-squeezenet1_1.h5", "csm", "matrix")
    np.testing.assert_allclose(ncsm, w @ w.T, atol=1e-5)
    wordnet = csm_matrix(out / "wordnet.h5", classes_of(out / "ncsm-squeezenet1_1.h5"))
    assert float(rows[1][3]) == pytest.approx(sai(ncsm, wordnet), abs=5e-4)
    # the wnid folders are ImageNet's first four classes; predictions span all 1000 outputs
    labels, logits = read(out / "predictions-squeezenet1_1.h5", "predictions", "labels", "logits")
    assert sorted(set(labels.tolist())) == [0, 1, 2, 3] and logits.shape == (1, 24, 1000)
    # the CCSM covers those four classes; its SAI is against their WordNet rows, or NA when the
    # random network confused none of them with another (a constant matrix has no SAI)
    cc, = read(out / "ccsm-squeezenet1_1.h5", "csm", "matrix")
    assert cc.shape == (4, 4)
    four = csm_matrix(out / "wordnet.h5", classes_of(out / "ccsm-squeezenet1_1.h5"))
    off = cc[~np.eye(4, dtype=bool)]
    if off.min() == off.max():
        assert rows[1][4] == "NA"
    else:
        assert float(rows[1][4]) == pytest.approx(sai(cc, four), abs=5e-4)


def test_semantic_rsm_backbones_dry_run(tmp_path, env):
    out = tmp_path / "rsm-backbones"
    bash("examples/semantic_rsm_backbones.sh", "--dry-run", "--out", out, env=env)
    with store.open_file(out / "tokens.h5", "features") as f:
        assert f["layers/encoder.layer.1"].shape == (32, 17, 32)  # (N, T, D): class token + 16 patches
    rows = [r.split("\t") for r in (out / "retrieval.tsv").read_text().splitlines()]
    assert [r[0] for r in rows[1:]] == ["spatial", "semantic", "greedy"]
    m, labels = read(out / "rsm-semantic.h5", "rsm", "matrix", "labels")
    assert float(rows[2][1]) == pytest.approx(retrieval(m, labels)["top1"], abs=5e-4)
