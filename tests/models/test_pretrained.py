"""Zoo models through the one loader: torchvision, Hugging Face and timm against the libraries' own models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semtool.errors import UserError
from semtool.models import open_model, parse_spec
from tests.models.zoo import IMAGENET4, cache_torchvision, hf_models, torch_home  # noqa: F401 (fixtures)


def test_parse_spec_families(tmp_path):
    assert parse_spec("torchvision:resnet50").weights == "DEFAULT"
    s = parse_spec("torchvision:resnet50:IMAGENET1K_V2")
    assert (s.family, s.name, s.weights) == ("torchvision", "resnet50", "IMAGENET1K_V2")
    assert parse_spec("torchvision:vgg16:none").weights == "none"
    f = tmp_path / "w.pth"
    f.write_bytes(b"")
    assert parse_spec(f"timm:resnet18:{f}").path == str(f)
    assert parse_spec("hf:facebook/dinov2-small").name == "facebook/dinov2-small"
    with pytest.raises(UserError, match="unknown family 'tv:'"):
        parse_spec("tv:resnet50")
    with pytest.raises(UserError, match="without config.json"):
        parse_spec(tmp_path)


def test_torchvision_named_weights_equal_torchvision_with_those_weights(torch_home):
    import torchvision.models as tvm

    cache_torchvision("squeezenet1_1", "IMAGENET1K_V1")
    w = tvm.SqueezeNet1_1_Weights.IMAGENET1K_V1
    model, meta = open_model("torchvision:squeezenet1_1:IMAGENET1K_V1")
    ref = tvm.get_model("squeezenet1_1", weights=w).eval()
    x = torch.rand(2, 3, 40, 52)  # [0, 1] pixels at the dataset's resolution
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(w.transforms()(x)), rtol=0, atol=0)
    assert meta["labels"] == w.meta["categories"] and meta["num_classes"] == 1000
    # ImageNet-1k's unique names (torchvision has two "crane"s) and synsets, from the imagenet preset
    assert meta["classes"][:4] == IMAGENET4 and len(set(meta["classes"])) == 1000
    assert meta["classes"][134] == "crane bird" and meta["synsets"][517] == "crane.n.04"
    assert meta["input_size"] == [224, 224] and meta["head"] == "net.classifier.1.weight"
    # DEFAULT is IMAGENET1K_V1 for this net: the same file, the same logits
    default, meta_d = open_model("torchvision:squeezenet1_1")
    assert "IMAGENET1K_V1" in meta_d["weights"]
    with torch.no_grad():
        torch.testing.assert_close(default(x), model(x))


def test_torchvision_none_is_seeded_random_init_and_grayscale_is_repeated():
    import torchvision.models as tvm

    torch.manual_seed(3)
    expected = torch.rand(1)
    torch.manual_seed(3)
    model, meta = open_model("torchvision:mobilenet_v3_small:none")
    assert torch.rand(1) == expected  # the caller's RNG state is left as it was
    torch.manual_seed(0)  # :none is torchvision's initialisation under seed 0, every run
    ref = tvm.get_model("mobilenet_v3_small", weights=None).eval()
    tf = tvm.MobileNet_V3_Small_Weights.DEFAULT.transforms()
    x = torch.rand(2, 1, 30, 30)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(tf(x.repeat(1, 3, 1, 1))))
    assert meta["weights"] == "none" and len(meta["classes"]) == 1000


def test_torchvision_path_state_dict_with_own_classes(tmp_path):
    import torchvision.models as tvm

    torch.manual_seed(1)
    net = tvm.get_model("squeezenet1_1", weights=None, num_classes=5).eval()
    torch.save(net.state_dict(), tmp_path / "mine.pth")
    model, meta = open_model(f"torchvision:squeezenet1_1:{tmp_path / 'mine.pth'}")
    tf = tvm.SqueezeNet1_1_Weights.DEFAULT.transforms()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net(tf(x)))
    assert meta["classes"] == ["0", "1", "2", "3", "4"]


def test_hf_vit_logits_equal_transformers_with_its_image_processor(hf_models):
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    model, meta = open_model(str(hf_models["vit"]))
    ref = AutoModelForImageClassification.from_pretrained(hf_models["vit"]).eval()
    proc = AutoImageProcessor.from_pretrained(hf_models["vit"])
    x = torch.rand(2, 3, 32, 32)  # already the processor's size: its resize is the identity
    pixel = proc(images=[im.permute(1, 2, 0).numpy() for im in x], do_rescale=False, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(pixel_values=pixel).logits, rtol=1e-4, atol=1e-5)
    assert meta["classes"] == [ref.config.id2label[i] for i in range(4)] == IMAGENET4
    assert meta["mean"] == [0.5, 0.4, 0.3] and meta["std"] == [0.2, 0.25, 0.3]


def test_hf_convnext_follows_its_processor_and_equals_the_library_model(hf_models):
    from transformers import AutoModelForImageClassification
    from torchvision.transforms import functional as TF

    model, meta = open_model(str(hf_models["convnext"]))
    ref = AutoModelForImageClassification.from_pretrained(hf_models["convnext"]).eval()
    # ConvNeXt's processor below 384 px: shorter side to 32 / crop_pct 0.875 = 36, centre crop 32, bicubic
    assert meta["preprocess"]["resize"] == [36] and meta["preprocess"]["crop"] == [32, 32]
    assert meta["preprocess"]["interpolation"] == "bicubic"
    x = torch.rand(2, 3, 48, 40)
    z = TF.center_crop(TF.resize(x, [36], interpolation=TF.InterpolationMode.BICUBIC, antialias=True), [32, 32])
    z = (z - 0.5) / 0.5
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(pixel_values=z).logits)
    assert meta["classes"] == ["LABEL_0", "LABEL_1", "LABEL_2"]


def test_hf_backbone_tokens_and_refusal_for_logits(hf_models):
    from transformers import AutoModel

    from semtool.models.features import iter_features, select_layers

    model, meta = open_model(str(hf_models["dinov2"]))
    assert meta["backbone"] and meta["head"] is None
    layers = select_layers(model, "blocks")
    assert layers == ["encoder.layer.0", "encoder.layer.1"]
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 3), dtype=np.uint8)
    (_, feats, _), = list(iter_features(model, images, layers, pool="none"))
    assert feats["encoder.layer.1"].shape == (3, 1 + 16, 32)  # class token + 4×4 patches, (N, T, D)
    ref = AutoModel.from_pretrained(hf_models["dinov2"]).eval()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        hidden = ref(pixel_values=model.prep(x), output_hidden_states=True).hidden_states
    np.testing.assert_allclose(feats["encoder.layer.1"], hidden[2].numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(UserError, match="backbone without a classification head"):
        open_model(str(hf_models["dinov2"]), needs_logits="attack")


def test_timm_none_and_path_equal_timm(tmp_path):
    timm = pytest.importorskip("timm")

    model, meta = open_model("timm:test_resnet:none")
    torch.manual_seed(0)  # :none: seed 0, every run
    ref = timm.create_model("test_resnet", pretrained=False).eval()
    cfg = timm.data.resolve_model_data_config(ref)
    size = cfg["input_size"][1]
    assert meta["input_size"] == [size, size]
    assert meta["preprocess"]["resize"] == [int(size / cfg["crop_pct"])]
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        expected = ref(model.prep(x))
        torch.testing.assert_close(model(x), expected)
    assert meta["stages"] == [f["module"] for f in ref.feature_info]
    net = timm.create_model("test_resnet", pretrained=False, num_classes=6).eval()
    torch.save(net.state_dict(), tmp_path / "t.pth")
    m2, meta2 = open_model(f"timm:test_resnet:{tmp_path / 't.pth'}")
    with torch.no_grad():
        torch.testing.assert_close(m2(x), net(m2.prep(x)))
    assert meta2["num_classes"] == 6


def test_torchvision_layer4_features_equal_create_feature_extractor(torch_home):
    import torchvision.models as tvm
    from torchvision.models.feature_extraction import create_feature_extractor

    from semtool.models.features import iter_features, select_layers

    torch.manual_seed(0)
    model, _ = open_model("torchvision:resnet18:none")
    assert select_layers(model, "blocks") == ["layer1", "layer2", "layer3", "layer4"]
    images = np.random.default_rng(1).integers(0, 256, (2, 24, 24, 3), dtype=np.uint8)
    (_, feats, logits), = list(iter_features(model, images, ["layer4"], pool="mean", logits=True))
    ext = create_feature_extractor(model.net, return_nodes=["layer4"])
    x = model.prep(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
    with torch.no_grad():
        np.testing.assert_allclose(feats["layer4"], ext(x)["layer4"].mean((2, 3)).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(logits, model.net(x).numpy(), rtol=1e-5, atol=1e-5)


def test_vgg_blocks_are_the_pooling_outputs():
    from semtool.models.features import torchvision_stages
    import torchvision.models as tvm

    assert torchvision_stages(tvm.vgg11(weights=None)) == [f"features.{i}" for i in (2, 5, 10, 15, 20)]


def test_class_matching_by_synset_else_name():
    from semtool.models.classes import match_classes

    model = ["tench", "goldfish", "crane", "crane", "tiger shark, Galeocerdo cuvieri"]
    np.testing.assert_array_equal(match_classes(model, ["goldfish", "tench"]), [1, 0])
    np.testing.assert_array_equal(match_classes(model, ["tiger shark"]), [4])  # a Hugging Face alias
    syn = ["tench.n.01", "goldfish.n.01", "crane.n.05", "crane.n.04", "tiger_shark.n.01"]
    np.testing.assert_array_equal(match_classes(model, ["crane"], model_synsets=syn, data_synsets=["crane.n.04"]), [3])
    with pytest.raises(UserError, match="'crane'.*names 2"):
        match_classes(model, ["crane"])
    with pytest.raises(UserError, match="class 'dog' is not among"):
        match_classes(model, ["tench", "dog"], what="d.h5")
