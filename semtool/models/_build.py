"""Building classifiers by name: torchvision models, a small CPU ``convnet``, one wrapper.

Every semtool classifier is a :class:`Classifier`: it takes images in [0, 1] pixel space
``(N, in_channels, H, W)``, normalises them with its own ``mean``/``std`` buffers and calls
the network ``net``. Attacks therefore work in pixel space and a saved model carries its
normalisation.

Grayscale (Fashion-MNIST): ``convnet`` takes ``in_channels=1`` directly. torchvision
networks expect three channels, so the wrapper normalises the single channel with its
own mean/std and repeats it to three channels before ``net`` (``expand``, no copy).
"""

from __future__ import annotations

import difflib
from typing import Any, Sequence

import torch
import torch.nn as nn

from semtool.errors import UserError

CONVNET = "convnet"


def architectures() -> list[str]:
    """Names accepted by :func:`build_classifier`: ``convnet`` and torchvision classifiers."""
    import torchvision.models as tvm

    return sorted([CONVNET, *tvm.list_models(module=tvm)])


def check_architecture(name: str, *, cifar_stem: bool = False) -> None:
    """UserError for an unknown name (listing the close ones) or a misplaced --cifar-stem."""
    names = architectures()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        hint = f"close names: {', '.join(close)}" if close else f"e.g. {', '.join(['convnet', 'resnet18', 'resnet50', 'mobilenet_v2', 'vit_b_16'])}"
        raise UserError(f"--arch: unknown architecture '{name}' ({hint})")
    if cifar_stem and not (name.startswith("resnet") or name.startswith("resnext") or name.startswith("wide_resnet")):
        raise UserError(f"--cifar-stem: only ResNets have a stem to replace, not '{name}'")


def _block(cin: int, cout: int, pool: bool) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class ConvNet(nn.Module):
    """Three conv–BN–ReLU blocks (32, 64, 128 channels), global average pool, linear head.

    Small and fast enough to train on a CPU (Fashion-MNIST: ~1 min per epoch on 2 cores).
    ``block1``..``block3`` are its stages (``features --layers blocks``).
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.block1 = _block(in_channels, 32, True)
        self.block2 = _block(32, 64, True)
        self.block3 = _block(64, 128, False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.block3(self.block2(self.block1(x))))))


class Classifier(nn.Module):
    """[0, 1] pixels (N, in_channels, H, W) -> logits (N, num_classes); normalisation inside.

    ``mean``/``std`` are (in_channels,) buffers (saved with the weights). A 1-channel input
    to a 3-channel ``net`` is normalised, then repeated to 3 channels.
    """

    def __init__(self, net: nn.Module, mean: Sequence[float], std: Sequence[float], in_channels: int,
                 net_channels: int) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32))
        self.in_channels = in_channels
        self.net_channels = net_channels

    def forward(self, x):
        x = (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)
        if self.net_channels != self.in_channels:
            x = x.expand(-1, self.net_channels, -1, -1)
        return self.net(x)


def to_pixels(batch: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) tensor -> float32 [0, 1] pixels, what a :class:`Classifier` takes."""
    return batch.float().div_(255.0)


def head_key(model) -> str:
    """State-dict key of the final classifier weight (the class templates of the NCSM)."""

    last = None
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            last = name
    if last is None:  # squeezenet: a 1×1 convolution is the classifier
        for name, mod in model.named_modules():
            if isinstance(mod, nn.Conv2d):
                last = name
    return f"{last}.weight"


def build_classifier(architecture: str, num_classes: int, *, in_channels: int = 3,
                     input_size: Sequence[int] = (32, 32), mean: Sequence[float] | None = None,
                     std: Sequence[float] | None = None, cifar_stem: bool = False) -> Classifier:
    """A freshly initialised :class:`Classifier` (uses the global torch RNG for weights).

    Parameters
    ----------
    architecture : ``convnet`` or any torchvision classifier name (``resnet18``, ``vit_b_16``).
    num_classes : size of the output layer.
    in_channels : 1 (grayscale) or 3; torchvision nets see a 1-channel input repeated to 3.
    input_size : (H, W); ViTs are built for this size (a multiple of their patch size).
    mean, std : per input channel, in [0, 1] pixel units (default 0.5 / 0.25).
    cifar_stem : ResNets only: 3×3 stride-1 first convolution and no max-pool (32×32 inputs).
    """
    import torchvision.models as tvm

    check_architecture(architecture, cifar_stem=cifar_stem)
    if in_channels not in (1, 3):
        raise UserError(f"images with {in_channels} channels: expected 1 (grayscale) or 3 (RGB)")
    mean = list(mean) if mean is not None else [0.5] * in_channels
    std = list(std) if std is not None else [0.25] * in_channels
    if len(mean) != in_channels or len(std) != in_channels:
        raise ValueError("mean/std need one value per input channel")
    if architecture == CONVNET:
        net, net_channels = ConvNet(in_channels, num_classes), in_channels
    else:
        kwargs: dict[str, Any] = {"weights": None, "num_classes": num_classes}
        if architecture.startswith("vit_"):
            kwargs["image_size"] = int(input_size[0])
        if architecture in ("googlenet", "inception_v3"):
            kwargs["aux_logits"] = False
            kwargs["init_weights"] = True
        net = tvm.get_model(architecture, **kwargs)
        net_channels = 3
        if cifar_stem:
            net.conv1 = nn.Conv2d(3, net.conv1.out_channels, kernel_size=3, stride=1, padding=1, bias=False)
            nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
            net.maxpool = nn.Identity()
    return Classifier(net, mean, std, in_channels, net_channels)
