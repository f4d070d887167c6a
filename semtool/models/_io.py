"""Saving and loading semtool model files: one ``.safetensors`` file, no pickle.

Tensors are the ``state_dict()`` of the :class:`~semtool.models.Classifier` (with its
``mean``/``std`` buffers); the safetensors header metadata holds ``format`` = ``pt``,
``semtool_kind`` = ``model``, ``semtool_schema`` = ``1`` and ``semtool`` = a JSON object
(architecture, num_classes, classes, synsets, groups, visual_groups, group_names,
visual_group_names, input_size, in_channels, mean, std, cifar_stem, head, epoch, seed,
metrics, creator, created_at, and from ``train`` the provenance chain: the steps that made
its data, then the train step with argv, options and the inputs' SHA-256). Writes go to a
temporary file renamed into place.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

import torch

from semtool import __version__, store
from semtool.errors import UserError
from semtool.models._build import Classifier, build_classifier, head_key

SCHEMA = "1"
META_KEYS = ("architecture", "num_classes", "classes", "synsets", "groups", "visual_groups", "group_names",
             "visual_group_names", "input_size", "in_channels", "mean", "std", "cifar_stem", "head", "epoch",
             "seed", "metrics", "creator", "created_at", "provenance")


def model_metadata(model: Classifier, *, architecture: str, classes: list[str], input_size: Any,
                   cifar_stem: bool = False, synsets: list[str] | None = None, groups: list[int] | None = None,
                   group_names: list[str] | None = None, visual_groups: list[int] | None = None,
                   visual_group_names: list[str] | None = None, epoch: int = 0, seed: int = 0,
                   metrics: dict[str, float] | None = None) -> dict[str, Any]:
    """The metadata dict of the model file format for ``model``."""
    return {
        "architecture": architecture,
        "num_classes": len(classes),
        "classes": list(classes),
        "synsets": list(synsets) if synsets is not None else None,
        "groups": [int(g) for g in groups] if groups is not None else None,
        "visual_groups": [int(g) for g in visual_groups] if visual_groups is not None else None,
        "group_names": list(group_names) if group_names is not None else None,
        "visual_group_names": list(visual_group_names) if visual_group_names is not None else None,
        "input_size": [int(input_size[0]), int(input_size[1])],
        "in_channels": int(model.in_channels),
        "mean": [float(v) for v in model.mean.tolist()],
        "std": [float(v) for v in model.std.tolist()],
        "cifar_stem": bool(cifar_stem),
        "head": head_key(model),
        "epoch": int(epoch),
        "seed": int(seed),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "creator": f"semtool {__version__}",
        "created_at": _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
    }


def save_model(path: str | os.PathLike, model: Classifier, metadata: dict[str, Any]) -> Path:
    """Write ``model`` and ``metadata`` atomically as a semtool model file."""
    from safetensors.torch import save_file

    target = Path(path)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    header = {"format": "pt", "semtool_kind": "model", "semtool_schema": SCHEMA,
              "semtool": json.dumps(metadata, sort_keys=True)}
    with store.atomic_path(target, force=True) as tmp:  # the CLI refused an existing output earlier
        save_file(tensors, str(tmp), metadata=header)
    return target


def read_model_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``semtool`` metadata of a model file (UserError for anything else); no torch needed."""
    from semtool.models.metadata import read_metadata

    return read_metadata(path)


def load_model(path: str | os.PathLike, *, device: Any = "cpu") -> tuple[Classifier, dict[str, Any]]:
    """Rebuild the classifier a model file describes and load its weights (eval mode).

    A model fine-tuned from a pretrained network names it in ``init``: its architecture is
    rebuilt from that specification (torchvision and timm without downloading weights; a
    Hugging Face model from its folder or hub id, for the config) before the file's weights.
    """
    meta = read_model_metadata(path)
    if meta.get("init"):  # fine-tuned from a pretrained network ('train --init'): rebuild that architecture
        from semtool.models._open import init_from

        model, _ = init_from(meta["init"], list(meta["classes"]), int(meta["in_channels"]), random_weights=True)
        _fit(model, path, meta)
        return model.to(device).eval(), meta
    try:
        model = build_classifier(meta["architecture"], int(meta["num_classes"]), in_channels=int(meta["in_channels"]),
                                 input_size=meta["input_size"], mean=meta["mean"], std=meta["std"],
                                 cifar_stem=bool(meta.get("cifar_stem", False)))
    except (KeyError, TypeError) as exc:
        raise UserError(f"{path}: model metadata lacks or garbles {exc}") from None
    _fit(model, path, meta)
    model.to(device).eval()
    return model, meta


def _fit(model: torch.nn.Module, path: str | os.PathLike, meta: dict[str, Any]) -> None:
    from safetensors.torch import load_file

    state = load_file(str(path), device="cpu")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "mismatch"
        raise UserError(f"{path}: weights do not fit a {meta['architecture']} ({first})") from None
