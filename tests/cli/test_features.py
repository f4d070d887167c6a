"""``semtool features``: named layers to a features file, the pixel layer, same-pass predictions, bad input."""

from __future__ import annotations

import json

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


def test_pool_cls_needs_a_network_with_a_class_token(setup, cli, tmp_path):
    """Token 0 is the class token only where the network prepends one; elsewhere (timm's ViT
    without one, Swin) it is a patch or a register token, and cls is refused, also later in csm."""
    timm = pytest.importorskip("timm")
    from torchvision.models import VisionTransformer
    from torchvision.models.swin_transformer import SwinTransformer
    from transformers import CLIPVisionConfig, CLIPVisionModel, SwinConfig, SwinModel, ViTConfig, ViTModel

    from semtool.models.features import has_class_token

    with_token = [VisionTransformer(image_size=14, patch_size=7, num_layers=1, num_heads=1, hidden_dim=4, mlp_dim=4),
                  timm.create_model("test_vit", pretrained=False),
                  ViTModel(ViTConfig(image_size=16, patch_size=8, hidden_size=8, num_hidden_layers=1,
                                     num_attention_heads=1, intermediate_size=8)),
                  CLIPVisionModel(CLIPVisionConfig(image_size=16, patch_size=8, hidden_size=8, num_hidden_layers=1,
                                                   num_attention_heads=1, intermediate_size=8))]
    without = [timm.create_model("test_vit2", pretrained=False),  # a register token at 0, no class token
               timm.create_model("test_vit_relpos", pretrained=False),
               SwinTransformer(patch_size=[2, 2], embed_dim=4, depths=[1, 1], num_heads=[1, 1], window_size=[2, 2]),
               SwinModel(SwinConfig(image_size=16, patch_size=4, embed_dim=4, depths=[1], num_heads=[1], window_size=2))]
    assert [has_class_token(m) for m in with_token] == [True] * 4
    assert [has_class_token(m) for m in without] == [False] * 4

    d, _ = setup
    ok = cli("features", "timm:test_vit:none", d / "test.h5", "--layers", "blocks.1", "--pool", "cls",
             "-o", tmp_path / "ok.h5")
    assert ok.returncode == 0, ok.stderr.decode()
    bad = cli("features", "timm:test_vit_relpos:none", d / "test.h5", "--layers", "blocks.1", "--pool", "cls",
              "-o", tmp_path / "bad.h5")
    assert_user_error(bad, "--pool cls", "no class token")
    assert not (tmp_path / "bad.h5").exists()
    tokens = cli("features", "timm:test_vit_relpos:none", d / "test.h5", "--layers", "blocks.1", "--pool", "none",
                 "-o", tmp_path / "tokens.h5")
    assert tokens.returncode == 0, tokens.stderr.decode()
    assert_user_error(cli("csm", "tncsm", tmp_path / "tokens.h5", "--pool", "cls", "-o", tmp_path / "t.h5"),
                      "--pool cls", "without a class token")
    assert cli("csm", "tncsm", tmp_path / "tokens.h5", "--pool", "mean", "-o", tmp_path / "t.h5").returncode == 0


def _two_vs_two_loop(w: np.ndarray, i: np.ndarray) -> float:
    """The 2 vs 2 test as Dharmaretnam & Fyshe (2018) state it, one pair at a time."""
    k = len(w)
    passes = 0
    for a in range(k):
        for b in range(a + 1, k):
            rest = [j for j in range(k) if j not in (a, b)]

            def r(u, v):
                return np.corrcoef(u[rest], v[rest])[0, 1]

            passes += r(w[a], i[a]) + r(w[b], i[b]) > r(w[a], i[b]) + r(w[b], i[a])
    return passes / (k * (k - 1) / 2)


def test_pixels_layer_comes_first_and_its_2v2_is_the_pair_loop(setup, cli, rng):
    d, m = setup
    out, emb = d / "px.h5", d / "words.h5"
    proc = cli("features", d / "m.safetensors", d / "test.h5", "--layers", "block3,pixels", "--batch-size", "8",
               "-o", out, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(d / "test.h5", "imageset") as f:
        images, labels = f["images"][...], f["labels"][...]
    flat = (torch.from_numpy(images.transpose(0, 3, 1, 2)).float() / 255).reshape(len(images), -1).numpy()
    with store.open_file(out, "features") as f:
        assert list(f["layers"]) == ["pixels", "block3"]
        assert f["layers/pixels"].attrs["pool"] == "flatten"
        np.testing.assert_array_equal(f["layers/pixels"][...], flat)  # [0, 1], before the normalisation
    words = rng.normal(size=(len(CLASSES), 9)).astype(np.float32)
    with store.create(emb, "embeddings", parameters={"test": True}) as f:
        f["vectors"] = words
        store.write_strings(f, "concepts", CLASSES)
        f.attrs["source"] = "test"
    proc = cli("twovtwo", out, emb, "--layers", "all", "--permutations", "5", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = json.loads(proc.stdout)
    assert [r["layer"] for r in rows] == ["pixels", "block3"]
    # Group g: the g-th image of every concept, in class order; the accuracy averages the groups.
    per = [np.flatnonzero(labels == c) for c in range(len(CLASSES))]
    groups = min(len(p) for p in per)
    ref = np.mean([_two_vs_two_loop(np.corrcoef(flat[[p[g] for p in per]]), np.corrcoef(words))
                   for g in range(groups)])
    assert rows[0]["groups"] == groups
    assert rows[0]["accuracy"] == pytest.approx(ref, abs=1e-12)


def test_swin_stages_are_stored_channels_first(rng):
    """torchvision's Swin stages output (N, H, W, C); features stores (N, C, H, W) like every
    other map, so mean pooling averages positions (not W and C)."""
    from torchvision.models.swin_transformer import SwinTransformer

    from semtool.models._build import Classifier
    from semtool.models.features import iter_features

    torch.manual_seed(0)
    swin = SwinTransformer(patch_size=[2, 2], embed_dim=8, depths=[1, 1], num_heads=[1, 1], window_size=[2, 2],
                           num_classes=10)
    model = Classifier(swin, [0.5], [0.25], 1, 3)
    images = rng.integers(0, 256, size=(3, 8, 8, 1), dtype=np.uint8)
    layer = "features.1"
    got = {p: next(iter_features(model, images, [layer], pool=p, batch_size=3))[1][layer] for p in ("none", "mean")}
    # the stage's own output, through a hook on the module, is channels-last
    seen = {}
    handle = swin.features[1].register_forward_hook(lambda _m, _i, o: seen.__setitem__("x", o))
    with torch.no_grad():
        model.eval()(torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255)
    handle.remove()
    nhwc = seen["x"].numpy()
    assert nhwc.shape == (3, 4, 4, 8)
    np.testing.assert_allclose(got["none"], nhwc.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["mean"], nhwc.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
