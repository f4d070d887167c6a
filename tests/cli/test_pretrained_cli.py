"""Pretrained networks through the CLI: attack, features, csm ncsm, info, and their bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semtool import store
from tests.conftest import assert_user_error
from tests.learn.fmnist import write_imageset
from tests.models.zoo import IMAGENET4, cache_torchvision, env_offline, hf_models, torch_home  # noqa: F401


@pytest.fixture(scope="module")
def data(tmp_path_factory, torch_home):
    d = tmp_path_factory.mktemp("zoo-cli")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 24, 24, 3), dtype=np.uint8)
    write_imageset(d / "four.h5", images, np.arange(8) % 4, classes=IMAGENET4, groups=[0, 0, 1, 1],
                   group_names=["fish", "sharks"])
    write_imageset(d / "dog.h5", images[:2], [0, 1], classes=["tench", "dog"], groups=None, group_names=None)
    cache_torchvision("squeezenet1_1", "IMAGENET1K_V1")
    return d


def test_attack_on_a_1000_class_model_with_four_classes(data, cli):
    proc = cli("attack", "torchvision:squeezenet1_1:IMAGENET1K_V1", data / "four.h5", "--eps", "0,2,8", "--steps",
               "3", "-o", data / "a.h5", "--json", "--device", "cpu", env=env_offline())
    assert proc.returncode == 0, proc.stderr.decode()
    rows = json.loads(proc.stdout)
    acc = [r["accuracy"] for r in rows]
    assert all(b <= a for a, b in zip(acc, acc[1:])), acc  # accuracy never rises with ε
    with store.open_file(data / "a.h5", "predictions") as f:
        classes = store.read_strings(f["classes"])
        labels, preds, logits = f["labels"][...], f["predictions"][...], f["logits"][...]
        groups = f["groups"][...]
    assert len(classes) == 1000 and classes[:4] == IMAGENET4
    np.testing.assert_array_equal(labels, np.arange(8) % 4)  # the four classes are torchvision's 0–3
    assert logits.shape == (3, 8, 1000)  # mistakes counted over the full output …
    assert (preds >= 4).any()  # … and they land outside the imageset's four classes
    assert groups[:4].tolist() == [0, 0, 1, 1] and (groups[4:] == -1).all()


def test_features_blocks_and_predictions_on_a_subset(data, cli):
    proc = cli("features", "torchvision:squeezenet1_1", data / "four.h5", "--layers", "blocks", "-o",
               data / "f.h5", "--predictions", data / "p.h5", "--device", "cpu", env=env_offline())
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(data / "f.h5", "features") as f:
        assert sorted(f["layers"]) == ["features.2", "features.5", "features.8"]
        assert store.read_strings(f["classes"]) == IMAGENET4
    with store.open_file(data / "p.h5", "predictions") as f:  # the predictions: over the model's classes
        assert f["logits"].shape == (8, 1000) and len(store.read_strings(f["classes"])) == 1000
        np.testing.assert_array_equal(f["labels"][...], np.arange(8) % 4)
    listed = cli("features", "torchvision:squeezenet1_1", data / "four.h5", "--layers", "list", env=env_offline())
    assert listed.returncode == 0 and "features.12.cat" in listed.stdout.decode().split()


def test_hf_ncsm_is_the_cosine_of_the_classifier_rows(data, hf_models, cli):
    from transformers import AutoModelForImageClassification

    from semtool.data.csmio import read_csm

    proc = cli("csm", "ncsm", hf_models["vit"], "-o", data / "n.h5", env=env_offline())
    assert proc.returncode == 0, proc.stderr.decode()
    w = AutoModelForImageClassification.from_pretrained(hf_models["vit"]).classifier.weight.detach().numpy()
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    ref = read_csm(data / "n.h5")
    np.testing.assert_allclose(ref.matrix, w @ w.T, rtol=1e-5, atol=1e-6)
    assert ref.classes == IMAGENET4


def test_attack_a_hugging_face_folder_and_info(data, hf_models, cli):
    proc = cli("attack", hf_models["vit"], data / "four.h5", "--eps", "0,1", "--steps", "2", "--json",
               env=env_offline())
    assert proc.returncode == 0, proc.stderr.decode()
    assert [r["eps"] for r in json.loads(proc.stdout)] == [0, 1]
    info = _in_process("info", "torchvision:squeezenet1_1", hf_models["dinov2"], "--json")
    assert info.returncode == 0, info.stderr.decode()
    tv, dino = json.loads(info.stdout)
    assert tv["attributes"]["num_classes"] == 1000 and tv["attributes"]["input_size"] == [224, 224]
    assert tv["layers"] == ["features.2", "features.5", "features.8"]
    assert dino["attributes"]["backbone"] is True and dino["layers"] == ["encoder.layer.0", "encoder.layer.1"]


def _bert(folder):
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                         vocab_size=50)).save_pretrained(folder)


def _in_process(*args):
    """The CLI in this process (the bad-input cases would each pay a torch import in a subprocess)."""
    import subprocess

    from typer.testing import CliRunner

    from semtool.cli.app import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    return subprocess.CompletedProcess(args, res.exit_code, res.stdout.encode(), res.stderr.encode())


def test_bad_input(data, hf_models, tmp_path, monkeypatch):
    import torch
    import torchvision

    for key, value in env_offline().items():
        monkeypatch.setenv(key, value)

    out = tmp_path / "out.h5"
    four = data / "four.h5"
    cases = [
        (("attack", "tv:resnet50", four, "-o", out), ["unknown family 'tv:'"]),
        (("attack", "torchvision:resnet5", four, "-o", out), ["resnet50"]),
        (("attack", "torchvision:squeezenet1_1:IMAGENET1K_V9", four, "-o", out), ["IMAGENET1K_V1"]),
        (("csm", "ncsm", "torchvision:squeezenet1_0", "-o", out), ["squeezenet1_0-b66bff10.pth",
                                                                    str(data.parent)]),
        (("features", tmp_path, four, "-o", out), ["without config.json"]),
        (("attack", hf_models["dinov2"], four, "-o", out), ["backbone"]),
        (("csm", "ncsm", hf_models["dinov2"], "-o", out), ["backbone"]),
        (("attack", "torchvision:squeezenet1_1", data / "dog.h5", "-o", out), ["'dog'"]),
    ]
    (tmp_path / "bert").mkdir()
    _bert(tmp_path / "bert")
    cases.append((("features", tmp_path / "bert", four, "-o", out), ["not an image model"]))
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "config.json").write_text(json.dumps({"model_type": "xcustom", "architectures": ["XModel"],
                                                    "auto_map": {"AutoConfig": "configuration_x.XConfig"}}))
    cases.append((("features", remote, four, "-o", out), ["--trust-remote-code"]))
    torch.save(torchvision.models.squeezenet1_1(), tmp_path / "whole.pth")
    cases.append((("attack", f"torchvision:squeezenet1_1:{tmp_path / 'whole.pth'}", four, "-o", out),
                  ["state_dict()"]))
    for args, fragments in cases:
        proc = _in_process(*args)
        assert_user_error(proc, *fragments)
        assert not out.exists()


def test_train_init_fine_tunes_a_pretrained_network(data, cli):
    """A small step from the cached weights, a new 4-class head; the file loads as torchvision's net."""
    import torch
    import torchvision.models as tvm
    from safetensors.torch import load_file

    from semtool.models import load_model

    out = data / "ft.safetensors"
    proc = cli("train", data / "four.h5", "-o", out, "--init", "torchvision:squeezenet1_1:IMAGENET1K_V1",
               "--epochs", "1", "--batch-size", "8", "--lr", "1e-4", "--momentum", "0", "--weight-decay", "0",
               "--no-augment", "--device", "cpu", env=env_offline())
    assert proc.returncode == 0, proc.stderr.decode()
    model, meta = load_model(out)
    assert meta["init"] == "torchvision:squeezenet1_1:IMAGENET1K_V1" and meta["classes"] == IMAGENET4
    assert meta["architecture"] == "torchvision:squeezenet1_1" and meta["head"] == "net.classifier.1.weight"
    w = tvm.SqueezeNet1_1_Weights.IMAGENET1K_V1
    pretrained = tvm.get_model("squeezenet1_1", weights=w).state_dict()
    saved = load_file(str(out))
    ref = tvm.get_model("squeezenet1_1", weights=None, num_classes=4).eval()
    ref.load_state_dict({k[len("net."):]: v for k, v in saved.items() if k.startswith("net.")})
    # fine-tuned from the cached weights, not from scratch
    torch.testing.assert_close(saved["net.features.0.weight"], pretrained["features.0.weight"], rtol=0, atol=1e-2)
    x = torch.rand(2, 3, 24, 24)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(w.transforms()(x)))


def test_init_refuses_data_channels_the_network_cannot_take():
    from semtool.errors import UserError
    from semtool.models._open import init_from

    with pytest.raises(UserError, match="3-channel images .* the data has 2 channels"):
        init_from("torchvision:squeezenet1_1:none", IMAGENET4, 2)
