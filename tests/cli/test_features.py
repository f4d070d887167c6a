"""``semtool features``: named layers to a features file, same-pass predictions, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semtool import store
from tests.conftest import assert_user_error
from tests.learn.fmnist import CLASSES, fmnist_imageset, tiny_model_file


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("features")
    fmnist_imageset(d / "test.h5", "test", n=30, size=14)
    m = tiny_model_file(d / "m.safetensors")
    return d, m.eval()


def test_two_layers_and_predictions(setup, cli):
    d, m = setup
    proc = cli("features", d / "m.safetensors", d / "test.h5", "--layers", "block2,block3", "--pool", "none",
               "--batch-size", "7", "-o", d / "f.h5", "--predictions", d / "p.h5", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(d / "test.h5", "imageset") as f:
        x = torch.from_numpy(f["images"][...].transpose(0, 3, 1, 2)).float() / 255
        labels = f["labels"][...]
    with torch.no_grad():
        h = (x - m.mean.view(1, -1, 1, 1)) / m.std.view(1, -1, 1, 1)
        b2 = m.net.block2(m.net.block1(h))
        b3 = m.net.block3(b2)
        logits = m(x)
    with store.open_file(d / "f.h5", "features") as f:
        np.testing.assert_allclose(f["layers/block2"][...], b2.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(f["layers/block3"][...], b3.numpy(), rtol=1e-5, atol=1e-5)
        assert f["layers/block2"].attrs["pool"] == "none"
        np.testing.assert_array_equal(f["labels"][...], labels)
        assert store.read_strings(f["classes"]) == CLASSES
    with store.open_file(d / "p.h5", "predictions") as f:
        np.testing.assert_allclose(f["logits"][...], logits.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(f["probabilities"][...], logits.softmax(1).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(f["predictions"][...], logits.argmax(1).numpy())


def test_list_and_blocks_pooled_fp16(setup, cli):
    d, m = setup
    listed = cli("features", d / "m.safetensors", d / "test.h5", "--layers", "list")
    assert listed.returncode == 0
    names = listed.stdout.decode().split()
    assert "block1.0" in names and "fc" in names
    proc = cli("features", d / "m.safetensors", d / "test.h5", "--layers", "blocks", "--fp16", "-o", d / "b.h5")
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(d / "b.h5", "features") as f:
        assert sorted(f["layers"]) == ["block1", "block2", "block3"]
        assert f["layers/block3"].shape == (30, 128) and f["layers/block3"].dtype == np.float16


def test_empty_layers_match(setup, cli):
    d, _ = setup
    proc = cli("features", d / "m.safetensors", d / "test.h5", "--layers", "nolayer*", "-o", d / "e.h5")
    assert_user_error(proc, "--layers", "nolayer*")
    assert proc.stdout == b"" and not (d / "e.h5").exists()


def test_pool_cls_takes_the_class_token_and_refuses_a_layer_without_tokens(setup, cli, rng):
    """Token outputs (N, T, D) of a tiny ViT: mean over tokens, cls = token 0, none keeps them."""
    from torchvision.models import VisionTransformer

    from semtool.models._build import Classifier
    from semtool.models.features import iter_features

    torch.manual_seed(0)
    vit = Classifier(VisionTransformer(image_size=14, patch_size=7, num_layers=2, num_heads=2, hidden_dim=8,
                                       mlp_dim=16, num_classes=10), [0.5], [0.25], 1, 3)
    images = rng.integers(0, 256, size=(6, 14, 14, 1), dtype=np.uint8)
    layer = "encoder.layers.encoder_layer_1"
    out = {p: next(iter_features(vit, images, [layer], pool=p, batch_size=6))[1][layer]
           for p in ("none", "mean", "max", "cls")}
    assert out["none"].shape == (6, 5, 8)  # 4 patches + the class token, 8 channels
    np.testing.assert_allclose(out["mean"], out["none"].mean(axis=1), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out["max"], out["none"].max(axis=1))
    np.testing.assert_array_equal(out["cls"], out["none"][:, 0])
    d, _ = setup
    proc = cli("features", d / "m.safetensors", d / "test.h5", "--layers", "block3", "--pool", "cls",
               "-o", d / "cls.h5")
    assert_user_error(proc, "--pool cls", "block3", "no tokens")
    assert not (d / "cls.h5").exists()
