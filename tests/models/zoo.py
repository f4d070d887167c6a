"""Tiny randomly initialised zoo models placed where the real loaders look (no download).

- torchvision: a seeded random state dict saved under the weights' own file name in
  ``$TORCH_HOME/hub/checkpoints`` (torchvision's weights API finds it there offline);
- Hugging Face: tiny ViT and ConvNeXt classifiers and a DINOv2 backbone built from
  configs, written with ``save_pretrained`` together with their image-processor configs;
- timm: a state dict of one of timm's own ``test_*`` models.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

IMAGENET4 = ["tench", "goldfish", "great white shark", "tiger shark"]  # torchvision's first four categories


def cache_torchvision(name: str, weights: str, seed: int = 0) -> Path:
    """Save a seeded random ``name`` state dict as the cached file of ``weights`` (reads $TORCH_HOME)."""
    import torchvision.models as tvm

    from semtool.models._pretrained import weights_file

    w = tvm.get_model_weights(name)[weights]
    path = weights_file(w)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(seed)
        torch.save(tvm.get_model(name, weights=None, num_classes=len(w.meta["categories"])).state_dict(), path)
    return path


@pytest.fixture(scope="session")
def torch_home(tmp_path_factory):
    """A private $TORCH_HOME for the session (in-process and in CLI subprocesses)."""
    home = tmp_path_factory.mktemp("torch-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("TORCH_HOME", str(home))
    yield home
    mp.undo()


def save_hf_models(root: Path) -> dict[str, Path]:
    """Tiny ViT and ConvNeXt classifiers and a DINOv2 backbone, with their image processors."""
    from transformers import (BitImageProcessor, ConvNextConfig, ConvNextForImageClassification,
                              ConvNextImageProcessor, Dinov2Config, Dinov2Model, ViTConfig,
                              ViTForImageClassification, ViTImageProcessor)

    out = {k: root / k for k in ("vit", "convnext", "dinov2")}
    if all((p / "config.json").exists() for p in out.values()):
        return out
    torch.manual_seed(0)
    labels = {i: c for i, c in enumerate(IMAGENET4)}
    vit = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, num_labels=4, id2label=labels, label2id={c: i for i, c in labels.items()})
    ViTForImageClassification(vit).save_pretrained(out["vit"])
    ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5, 0.4, 0.3],
                      image_std=[0.2, 0.25, 0.3]).save_pretrained(out["vit"])
    cnx = ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, num_labels=3, image_size=32)
    ConvNextForImageClassification(cnx).save_pretrained(out["convnext"])
    ConvNextImageProcessor(size={"shortest_edge": 32}, crop_pct=0.875).save_pretrained(out["convnext"])
    dino = Dinov2Config(image_size=28, patch_size=7, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)
    Dinov2Model(dino).save_pretrained(out["dinov2"])
    BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 28, "width": 28}, do_center_crop=True,
                      image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(out["dinov2"])
    return out


@pytest.fixture(scope="session")
def hf_models(tmp_path_factory):
    return save_hf_models(tmp_path_factory.mktemp("hf"))


def env_offline(**extra: str) -> dict[str, str]:
    """Subprocess environment: one thread, and any download refused at once (a dead proxy)."""
    return {"OMP_NUM_THREADS": "1", "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
            "TORCH_HOME": os.environ["TORCH_HOME"], **extra}
