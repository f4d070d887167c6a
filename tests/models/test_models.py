"""Classifiers by name, the normalising wrapper, and the safetensors model file format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from semtool.errors import UserError
from semtool.models import build_classifier, head_key, load_model, model_metadata, read_model_metadata, save_model


def test_wrapper_normalises_inside_and_repeats_grayscale():
    torch.manual_seed(0)
    m = build_classifier("resnet18", 5, in_channels=1, input_size=(32, 32), mean=[0.3], std=[0.2], cifar_stem=True).eval()
    x = torch.rand(2, 1, 32, 32)
    expected = m.net(((x - 0.3) / 0.2).repeat(1, 3, 1, 1))
    torch.testing.assert_close(m(x), expected)
    assert m(x).shape == (2, 5)
    # the CIFAR stem: 3x3 stride-1 first convolution and no max-pool
    assert m.net.conv1.kernel_size == (3, 3) and m.net.conv1.stride == (1, 1)
    assert isinstance(m.net.maxpool, torch.nn.Identity)


def test_convnet_takes_one_channel_directly():
    m = build_classifier("convnet", 10, in_channels=1, input_size=(28, 28)).eval()
    assert m.net.block1[0].in_channels == 1
    assert m(torch.rand(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("arch,key", [("convnet", "net.fc.weight"), ("resnet18", "net.fc.weight"),
                                      ("mobilenet_v2", "net.classifier.1.weight")])
def test_head_key_is_the_final_linear_weight(arch, key):
    m = build_classifier(arch, 7, in_channels=3, input_size=(32, 32))
    assert head_key(m) == key
    assert m.state_dict()[key].shape[0] == 7


def test_unknown_architecture_lists_close_names():
    with pytest.raises(UserError, match="resnet18"):
        build_classifier("resnet81", 10)
    with pytest.raises(UserError, match="cifar-stem"):
        build_classifier("mobilenet_v2", 10, cifar_stem=True)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(1)
    m = build_classifier("convnet", 3, in_channels=1, input_size=(12, 12), mean=[0.4], std=[0.3]).eval()
    classes = ["a", "b", "c"]
    meta = model_metadata(m, architecture="convnet", classes=classes, input_size=(12, 12), groups=[0, 0, 1],
                          group_names=["x", "y"], epoch=3, seed=7, metrics={"accuracy/eval": 0.5})
    path = save_model(tmp_path / "m.safetensors", m, meta)
    # the exact header of the shared format, read without torch
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        header = f.metadata()
        names = set(f.keys())
    assert header["format"] == "pt" and header["semtool_kind"] == "model" and header["semtool_schema"] == "1"
    got = json.loads(header["semtool"])
    assert set(got) == {"architecture", "num_classes", "classes", "synsets", "groups", "visual_groups", "group_names",
                        "visual_group_names", "input_size", "in_channels", "mean", "std", "cifar_stem", "head",
                        "epoch", "seed", "metrics", "creator", "created_at"}
    assert got["head"] == "net.fc.weight" and got["in_channels"] == 1 and got["input_size"] == [12, 12]
    assert names == set(m.state_dict())
    assert "mean" in names and "std" in names
    m2, meta2 = load_model(path)
    assert meta2 == read_model_metadata(path) == got
    x = torch.rand(4, 1, 12, 12)
    torch.testing.assert_close(m2(x), m(x), rtol=0, atol=0)
    assert not m2.training


def test_loading_a_foreign_file_is_a_user_error(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(UserError, match="without semtool model metadata"):
        load_model(tmp_path / "plain.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(UserError):
        load_model(tmp_path / "junk.safetensors")


def test_features_layers_blocks_and_pooling():
    from semtool.models.features import block_names, iter_features, select_layers

    torch.manual_seed(0)
    m = build_classifier("convnet", 4, in_channels=1, input_size=(8, 8)).eval()
    assert block_names(m) == ["block1", "block2", "block3"]
    assert select_layers(m, "blocks,fc") == ["block1", "block2", "block3", "fc"]
    assert select_layers(m, "block1.*") == ["block1.0", "block1.1", "block1.2", "block1.3"]
    with pytest.raises(UserError, match="no layer matches"):
        select_layers(m, "nothing_here")
    r = build_classifier("resnet18", 4, input_size=(32, 32))
    assert block_names(r) == ["layer1", "layer2", "layer3", "layer4"]

    images = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 1), dtype=np.uint8)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2)).float() / 255
    with torch.no_grad():
        ref_map = m.net.block2(m.net.block1((x - m.mean.view(1, -1, 1, 1)) / m.std.view(1, -1, 1, 1)))
        ref_logits = m(x)
    got, logits = {}, []
    for start, feats, lg in iter_features(m, images, ["block2"], pool="none", batch_size=2, logits=True):
        got.setdefault("none", []).append(feats["block2"])
        logits.append(lg)
    np.testing.assert_allclose(np.concatenate(got["none"]), ref_map.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate(logits), ref_logits.numpy(), rtol=1e-5, atol=1e-6)
    pooled = np.concatenate([f["block2"] for _, f, _ in iter_features(m, images, ["block2"], pool="max")])
    np.testing.assert_allclose(pooled, ref_map.amax((2, 3)).numpy(), rtol=1e-5, atol=1e-6)


def test_info_reads_a_model_file(tmp_path, cli):
    import json

    m = build_classifier("convnet", 3, in_channels=1, input_size=(28, 28))
    meta = model_metadata(m, architecture="convnet", classes=["cat", "dog", "ship"], input_size=(28, 28),
                          groups=[0, 0, 1], group_names=["animal", "thing"], epoch=2, seed=7)
    path = save_model(tmp_path / "m.safetensors", m, meta)
    proc = cli("info", "--json", path)
    assert proc.returncode == 0, proc.stderr
    [d] = json.loads(proc.stdout)
    assert d["kind"] == "model" and d["classes"] == ["cat", "dog", "ship"]
    assert d["attributes"]["architecture"] == "convnet" and d["attributes"]["epoch"] == 2
    assert d["groups"] == {"animal": ["cat", "dog"], "thing": ["ship"]}
    weight = d["datasets"][meta["head"] if "head" in meta else "net.fc.weight"]
    assert weight["shape"][0] == 3
