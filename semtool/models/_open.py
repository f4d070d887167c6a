"""One entry point for every model specification: :func:`open_model` (see :mod:`semtool.models.spec`)."""

from __future__ import annotations

import os
from typing import Any

from semtool.errors import UserError
from semtool.models.spec import parse_spec


def open_model(spec: str | os.PathLike, *, device: Any = "cpu", trust_remote_code: bool = False,
               needs_logits: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Load any model specification as a classifier (eval mode, on ``device``) and its metadata.

    The metadata has the model file's keys (``architecture``, ``classes``, ``synsets``,
    ``num_classes``, ``input_size``, ``in_channels``, ``mean``, ``std``, ``head`` — the
    state-dict key of the final classifier weight) plus ``family`` (``file``,
    ``torchvision``, ``hf``, ``timm``), ``weights``, ``backbone`` (no classification head)
    and ``layer_style``.

    Parameters
    ----------
    spec : a model specification (a semtool ``.safetensors`` file, ``torchvision:NAME…``, a
        Hugging Face folder or ``hf:ID``, ``timm:NAME…``).
    trust_remote_code : let transformers run code shipped with the model (off by default).
    needs_logits : what the caller does with the model (e.g. ``attack``): a backbone without a
        classification head is then refused, naming it.
    """
    s = parse_spec(spec)
    if s.family == "file":
        from semtool.models._io import load_model

        model, meta = load_model(s.path, device=device)
        meta = {"family": "file", "weights": s.path, "backbone": False, "layer_style": "graph", "spec": s.text,
                **meta}
        return model, meta
    from semtool.models._pretrained import open_pretrained

    model, meta = open_pretrained(s, trust_remote_code=trust_remote_code)
    if needs_logits and meta["backbone"]:
        raise UserError(f"model '{s.text}': a backbone without a classification head; {needs_logits} needs "
                        "class logits (a backbone's layers go through 'semtool features')")
    return model.to(device), meta


def replace_head(model: Any, num_classes: int) -> str:
    """Give a zoo classifier a fresh (global-RNG) output layer of ``num_classes``; returns its weight key.

    A Linear head becomes a Linear of the same input width; SqueezeNet's 1×1 convolution
    a 1×1 convolution. timm models use their own ``reset_classifier``.
    """
    import torch.nn as nn

    from semtool.models._build import head_key

    net = model.net
    if hasattr(net, "reset_classifier") and hasattr(net, "get_classifier"):  # timm
        net.reset_classifier(num_classes)
        from semtool.models._pretrained import _timm_head

        return f"net.{_timm_head(net)}.weight"
    name = head_key(net)[: -len(".weight")]
    parent_name, _, leaf = name.rpartition(".")
    parent = net.get_submodule(parent_name) if parent_name else net
    old = getattr(parent, leaf)
    if isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    else:
        new = nn.Conv2d(old.in_channels, num_classes, kernel_size=1)
    setattr(parent, leaf, new.to(old.weight.device))
    if hasattr(net, "config") and hasattr(net.config, "num_labels"):  # transformers: keep the config in step
        net.config.num_labels = num_classes
    if hasattr(net, "num_labels"):
        net.num_labels = num_classes
    return f"net.{name}.weight"


def init_from(spec: str, classes: list[str], in_channels: int, *, random_weights: bool = False,
              trust_remote_code: bool = False) -> tuple[Any, dict[str, Any]]:
    """A zoo classifier to fine-tune on ``classes`` (``train --init``): its head replaced unless
    its classes already are ``classes``; ``random_weights`` builds the architecture only (how a
    saved fine-tuned model is rebuilt before its own weights are loaded).
    """
    import dataclasses

    from semtool.models._pretrained import open_pretrained

    s = parse_spec(spec)
    if s.family == "file":
        raise UserError(f"--init: '{spec}' is a model file; --init takes a pretrained network "
                        "(torchvision:NAME…, a Hugging Face folder or hf:ID, timm:NAME…)")
    if random_weights and s.family in ("torchvision", "timm"):
        s = dataclasses.replace(s, weights="none", path=None)
    model, meta = open_pretrained(s, trust_remote_code=trust_remote_code)
    if meta["backbone"]:
        raise UserError(f"--init: '{spec}' is a backbone without a classification head; give a classifier")
    if in_channels not in (1, model.net_channels):
        raise UserError(f"--init: {meta['architecture']} takes {model.net_channels}-channel images (or 1, repeated), "
                        f"the data has {in_channels} channels")
    model.in_channels = in_channels
    if list(meta["classes"]) != list(classes):
        meta["head"] = replace_head(model, len(classes))
    return model, meta
