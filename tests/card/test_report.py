"""semtool report: a card's numbers are the single commands' on the same files; resume; HTML; pretrained models."""

from __future__ import annotations

import dataclasses
import html.parser
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semtool import store
from tests.conftest import ROOT, assert_user_error
from tests.learn.fmnist import CLASSES, GROUP_NAMES, GROUPS, fashion_mnist
from tests.models.zoo import IMAGENET4, cache_torchvision, env_offline, hf_models, torch_home  # noqa: F401

PERMS = 50
OPTS = dict(permutations=PERMS, rsm_samples=40, attack=[0.0, 0.5], attack_steps=3, device="cpu")
CARD_ARGS = ["--permutations", str(PERMS), "--rsm-samples", "40", "--attack", "0,0.5", "--attack-steps", "3",
             "--device", "cpu"]


def write_data(path, images, labels, classes, synsets, groups=None, group_names=None):
    from semtool.data.imageset import ImageSet, write_imageset

    write_imageset(path, ImageSet(images=images, labels=labels, classes=list(classes), synsets=synsets,
                                  groups=None if groups is None else np.asarray(groups), group_names=group_names),
                   force=True, command="test", parameters={})
    return path


@pytest.fixture(scope="module")
def fm(tmp_path_factory):
    """A convnet trained 2 epochs on 1,000 Fashion-MNIST images (14 px), its card on 150 test images."""
    from semtool.card import CardOptions, report
    from semtool.learn.trainer import TrainOptions, train
    from semtool.semantics.wordnet import synsets_for

    d = tmp_path_factory.mktemp("card")
    syn = synsets_for(CLASSES, preset="fashion-mnist")
    x, y = fashion_mnist("train", 1000, 14)
    write_data(d / "train.h5", x, y, CLASSES, syn, GROUPS, GROUP_NAMES)
    x, y = fashion_mnist("test", 150, 14)
    write_data(d / "data.h5", x, y, CLASSES, syn, GROUPS, GROUP_NAMES)
    train(TrainOptions(data=str(d / "train.h5"), output=str(d / "m.safetensors"), epochs=2, lr=0.05, augment=False,
                       device="cpu", seed=0))
    card, nums = report(str(d / "m.safetensors"), str(d / "data.h5"), d / "card", CardOptions(**OPTS))
    return d, card, nums


def invoke(*args) -> dict | list:
    """A single command in this process: its --json records (one record: the record itself)."""
    from typer.testing import CliRunner

    from semtool.cli.app import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    records = json.loads(res.stdout)
    return records[0] if isinstance(records, list) and len(records) == 1 else records


def test_every_table_number_is_the_single_commands(fm):
    d, card, nums = fm
    f = card.files
    assert card.runner.ran and not card.runner.reused
    assert nums["accuracy"]["accuracy"] > 0.3  # trained: 1 vs 2 has mistakes and correct concepts
    for r in nums["sai"]:  # semtool sai A B --intersect -m MEASURE
        out = invoke("sai", f[r["csm"]], f["wordnet"], "--intersect", "-m", r["measure"], "--json")
        assert out[r["measure"]] == r["sai"], r
    assert {(r["csm"], r["measure"]) for r in nums["sai"]} == {(c, m) for c in ("ncsm", "ccsm", "tncsm")
                                                                for m in ("cosine", "ssim")}
    for r in nums["idm"]:  # semtool idm PREDICTIONS --csm CSM [--errors-only]
        out = invoke("idm", f["predictions"], "--csm", f[r["csm"]], *(["--errors-only"] if r["errors_only"] else []),
                     "--json")
        assert out["idm"] == r["idm"], r
    assert len(nums["idm"]) == 4
    out = invoke("wsi", f["ncsm"], "--json")
    assert {k: out[k] for k in ("mean", "max", "min")} == nums["wsi"]
    rows = invoke("twovtwo", f["features"], f["words"], "--permutations", PERMS, "--one-vs-two", f["predictions"],
                  "--json")
    assert [r["layer"] for r in rows] == ["pixels", "block1", "block2", "block3"] == card.layers
    for mine, theirs in zip(nums["twovtwo"], rows):
        assert (mine["accuracy"], mine["p_value"], mine["tests"]) == (theirs["accuracy"], theirs["p_value"],
                                                                      theirs["tests"])
        assert (mine["one_vs_two_accuracy"], mine["one_vs_two_p_value"]) == (theirs["one_vs_two_accuracy"],
                                                                             theirs["one_vs_two_p_value"])
    for r in nums["rsm"]:
        out = invoke("rsm", f["maps"], "--layer", "block3", "--evaluate", "--predictions", f["maps_predictions"],
                     *(["--semantic"] if r["rsm"] == "rsm_semantic" else []), "--json")
        assert (out["top1"], out["f1_at_1"], out["pearson"], out["spearman"]) == (
            r["top1"], r["f1_at_1"], r["pearson"], r["spearman"])
        assert out["samples"] == r["samples"] == 40
    rows = invoke("attack", d / "m.safetensors", d / "data.h5", "--eps", "0,0.5", "--steps", 3, "--csm",
                  f["wordnet"], "--device", "cpu", "--json")
    for mine, theirs in zip(nums["attack"], rows):
        for key in ("accuracy", "superclass_accuracy", "mistakes", "mistake_superclass_accuracy", "idm"):
            assert mine[key] == theirs[key], key
    assert json.loads((card.outdir / "summary.json").read_text()) == nums


def _datasets(path) -> dict[str, np.ndarray]:
    out = {}
    with store.open_file(path) as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if hasattr(obj, "shape")
                     and not name.startswith("provenance") else None)
    return out


def test_intermediate_files_are_the_single_commands_files(fm, tmp_path):
    from typer.testing import CliRunner

    from semtool.cli.app import app

    d, card, _ = fm
    f = card.files
    model, data = d / "m.safetensors", d / "data.h5"
    runs = {
        "ncsm": ["csm", "ncsm", model], "ccsm": ["csm", "ccsm", f["predictions"]],
        "tncsm": ["csm", "tncsm", f["features"], "--layer", "block3"],
        "wordnet": ["csm", "wordnet", "--classes-from", data],
        "features": ["features", model, data, "--layers", "pixels,blocks", "--device", "cpu", "--predictions",
                     tmp_path / "predictions.h5"],
    }
    for key, args in runs.items():
        res = CliRunner().invoke(app, [str(a) for a in args] + ["-o", str(tmp_path / f"{key}.h5")])
        assert res.exit_code == 0, res.output
        theirs, mine = _datasets(tmp_path / f"{key}.h5"), _datasets(f[key])
        assert sorted(theirs) == sorted(mine), key
        for name in mine:
            if mine[name].dtype.kind == "f":
                np.testing.assert_allclose(mine[name], theirs[name], rtol=1e-5, atol=1e-6, err_msg=f"{key}/{name}")
            else:
                np.testing.assert_array_equal(mine[name], theirs[name], err_msg=f"{key}/{name}")
    np.testing.assert_allclose(_datasets(f["predictions"])["logits"], _datasets(tmp_path / "predictions.h5")["logits"],
                               rtol=1e-5, atol=1e-5)
    with store.open_file(f["twovtwo"]) as h:  # provenance: the card's command line, its inputs by SHA-256
        step = store.read_provenance(h)[-1]
    assert step["command"] == "twovtwo"
    assert [r["sha256"] for r in step["inputs"]] == [store.sha256_of(f[k]) for k in ("features", "words", "predictions")]


class _Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])


def test_html_embeds_every_figure_and_they_are_drawn(fm):
    import base64

    from PIL import Image

    _, card, _ = fm
    pngs = sorted((card.outdir / "figures").glob("*.png"))
    assert [p.name for p in pngs] == ["attack.png", "csm.png", "rsm.png", "twovtwo.png"]
    parser = _Images()
    parser.feed((card.outdir / "report.html").read_text(encoding="utf-8"))
    assert len(parser.srcs) == len(pngs) and all(s.startswith("data:image/png;base64,") for s in parser.srcs)
    embedded = sorted(base64.b64decode(s.split(",", 1)[1]) for s in parser.srcs)
    assert embedded == sorted(p.read_bytes() for p in pngs)  # every figure, byte for byte
    for raw in embedded:
        img = np.asarray(Image.open(io.BytesIO(raw)).convert("L"), dtype=np.float64)
        assert img.shape[0] > 300 and img.shape[1] > 400  # inches × dpi, not a thumbnail
        assert img.std() > 10 and (img < 128).mean() > 0.005  # something is drawn on the white
    md = (card.outdir / "REPORT.md").read_text(encoding="utf-8")
    assert all(f"(figures/{p.name})" in md for p in pngs)
    assert "chance" in md and "What these numbers do not show" in md


def test_resume_after_sigint_runs_only_the_missing_steps(fm, tmp_path):
    d, card, nums = fm
    out = tmp_path / "card"
    cmd = [sys.executable, "-m", "semtool", "report", d / "m.safetensors", d / "data.h5", "-o", out, *CARD_ARGS]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([str(c) for c in cmd], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("[3/"):
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, rest
    # the card has no --resume: the hint says a plain rerun goes on
    assert f"semtool: interrupted; the finished steps stay in {out}; rerun the same command" in rest
    assert "--resume" not in rest
    done = [ln.split("]", 1)[1].split(":")[0].strip() for ln in (seen + rest.splitlines())
            if ln.startswith("[") and " s" in ln.rsplit(":", 1)[-1]]
    assert 3 <= len(done) < card.runner.total
    assert not list(out.glob(".*.part")) and not (out / "summary.json").exists()
    again = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    lines = [ln for ln in again.stderr.splitlines() if ln.startswith("[")]
    reused = [ln.split("]", 1)[1].split(":")[0].strip() for ln in lines if ": reused " in ln]
    assert reused == done  # what finished before the interrupt, and nothing else
    assert len(lines) == card.runner.total
    assert json.loads((out / "summary.json").read_text()) == nums  # the same card as one uninterrupted run
    for name in card.files.values():
        a, b = _datasets(out / name.name), _datasets(name)
        assert sorted(a) == sorted(b)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name.name}/{k}")
    third = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    assert third.returncode == 0 and third.stderr.count(": reused ") == card.runner.total


def test_groups_option_gives_the_attack_the_presets_groups(fm, tmp_path):
    """--groups PRESET on an imageset without groups: the attack's superclass measures are
    those of `semtool attack` on the same images with the preset's groups written in."""
    from semtool.card import CardOptions, report
    from semtool.data.groupings import preset
    from semtool.data.imageset import read_imageset, write_imageset
    from semtool.kinds import Predictions

    d, _, _ = fm
    data = read_imageset(d / "data.h5")
    bare = write_data(tmp_path / "bare.h5", data.images, data.labels, CLASSES, data.synsets)
    g = preset("fashion-mnist", CLASSES)  # the preset in its own class order, mapped here by name
    where = {c: k for k, c in enumerate(g.classes)}
    groups = [g.groups[where[c]] for c in CLASSES]
    visual = np.array([g.visual_groups[where[c]] for c in CLASSES])
    grouped = tmp_path / "grouped.h5"
    write_imageset(grouped, dataclasses.replace(data, groups=np.array(groups), group_names=list(g.group_names),
                                                visual_groups=visual, visual_group_names=list(g.visual_group_names)),
                   command="test", parameters={})

    card, nums = report(str(d / "m.safetensors"), str(bare), tmp_path / "card",
                        CardOptions(**OPTS, groups="fashion-mnist", figures=False))
    rec = Predictions.read(card.files["attack"])
    assert rec.groups.index.tolist() == groups and rec.visual_groups.index.tolist() == visual.tolist()
    rows = invoke("attack", d / "m.safetensors", grouped, "--eps", "0,0.5", "--steps", 3, "--csm",
                  card.files["wordnet"], "--device", "cpu", "--json")
    assert len(rows) == len(nums["attack"]) == 2
    for mine, theirs in zip(nums["attack"], rows):
        for key in ("accuracy", "superclass_accuracy", "mistake_superclass_accuracy", "mistake_visual_share"):
            assert mine[key] == theirs[key], key
    assert any(r["mistakes"] for r in rows)  # the superclass measures were over some mistakes

    bad = subprocess.run([sys.executable, "-m", "semtool", "report", str(d / "m.safetensors"), str(bare), "-o",
                          str(tmp_path / "refused"), "--groups", "abreu2023", *CARD_ARGS],
                         capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=ROOT)
    assert_user_error(bad, "--groups abreu2023", "no class 'orchid'")
    assert not (tmp_path / "refused").exists()


def test_card_for_a_hugging_face_vit(tmp_path, hf_models):
    from semtool.card import CardOptions, report
    from semtool.semantics.wordnet import synsets_for

    rng = np.random.default_rng(0)
    labels = np.arange(24) % 4
    images = rng.integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    images[..., 0] = (labels * 60)[:, None, None]  # a class signal for the features
    data = write_data(tmp_path / "four.h5", images, labels, IMAGENET4, synsets_for(IMAGENET4, preset="imagenet"))
    card, nums = report(str(hf_models["vit"]), str(data), tmp_path / "card",
                        CardOptions(permutations=20, rsm_samples=16, device="cpu"))
    assert card.layers[0] == "pixels" and len(card.layers) == 3  # pixels and the two encoder layers
    ssim = [r for r in nums["sai"] if r["measure"] == "ssim"]
    assert ssim and all(r["sai"] is None and "SSIM needs at least 8" in r["note"] for r in ssim)  # 4 classes
    cos = {r["csm"]: r["sai"] for r in nums["sai"] if r["measure"] == "cosine"}
    out = invoke("sai", card.files["ncsm"], card.files["wordnet"], "--intersect", "--json")
    assert out["cosine"] == cos["ncsm"]
    with store.open_file(card.files["maps"]) as f:  # tokens kept whole for the semantic RSM
        assert f["layers"][card.last].shape[:1] == (16,) and f["layers"][card.last].ndim == 3
    rows = invoke("twovtwo", card.files["features"], card.files["words"], "--permutations", 20, "--json")
    assert [r["accuracy"] for r in rows] == [r["accuracy"] for r in nums["twovtwo"]]
    assert (card.outdir / "report.html").stat().st_size > 10_000
    # --words a GloVe text file: the word space 'embed --vectors' makes, then 2 vs 2 against it
    words = ["tench", "goldfish", "great", "white", "shark", "tiger"]
    (tmp_path / "glove.txt").write_text("".join(w + " " + " ".join(f"{v:.4f}" for v in rng.normal(size=5)) + "\n"
                                                for w in words))
    card2, nums2 = report(str(hf_models["vit"]), str(data), tmp_path / "card2",
                          CardOptions(permutations=20, rsm_samples=16, device="cpu", words=str(tmp_path / "glove.txt"),
                                      figures=False))
    from typer.testing import CliRunner

    from semtool.cli.app import app

    res = CliRunner().invoke(app, ["embed", "--vectors", str(tmp_path / "glove.txt"), "--concepts-from", str(data),
                                   "-o", str(tmp_path / "v.h5")])
    assert res.exit_code == 0, res.output
    with store.open_file(tmp_path / "v.h5") as a, store.open_file(card2.files["words"]) as b:
        np.testing.assert_array_equal(a["vectors"][...], b["vectors"][...])
        assert store.read_strings(b["matched"])[2] == "great + white + shark"
    rows = invoke("twovtwo", card2.files["features"], tmp_path / "v.h5", "--permutations", 20, "--json")
    assert [r["accuracy"] for r in rows] == [r["accuracy"] for r in nums2["twovtwo"]]


def test_card_for_a_torchvision_network_on_a_subset_of_its_classes(tmp_path, torch_home):
    from semtool.card import CardOptions, report
    from semtool.semantics.wordnet import synsets_for

    cache_torchvision("squeezenet1_1", "IMAGENET1K_V1")
    rng = np.random.default_rng(1)
    labels = np.arange(16) % 4
    data = write_data(tmp_path / "four.h5", rng.integers(0, 256, (16, 24, 24, 3), dtype=np.uint8), labels,
                      IMAGENET4, synsets_for(IMAGENET4, preset="imagenet"))
    card, nums = report("torchvision:squeezenet1_1", str(data), tmp_path / "card",
                        CardOptions(permutations=10, rsm_samples=8, device="cpu"))
    assert nums["accuracy"]["model_classes"] == 1000 and nums["accuracy"]["data_classes"] == 4
    assert all(r["classes"] == 4 for r in nums["sai"])  # compared over the data's classes …
    with store.open_file(card.files["wordnet_all"]) as f:  # … IDM over the model's 1000
        assert f["matrix"].shape == (1000, 1000)
    idm = [r for r in nums["idm"] if r["csm"] == "wordnet_all" and not r["errors_only"]][0]
    assert invoke("idm", card.files["predictions"], "--csm", card.files["wordnet_all"], "--json")["idm"] == idm["idm"]
    assert any("1 vs 2 is not run" in n for n in nums["notes"])
