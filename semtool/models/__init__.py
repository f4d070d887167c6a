"""Classifiers: building by name, saving and loading (safetensors, no pickle), features.

Importing this package is cheap; torch is imported by the submodules that need it
(``semtool.models.metadata`` stays torch-free).

>>> from semtool.models import build_classifier, save_model, load_model
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "Classifier": "semtool.models._build",
    "ConvNet": "semtool.models._build",
    "architectures": "semtool.models._build",
    "build_classifier": "semtool.models._build",
    "check_architecture": "semtool.models._build",
    "head_key": "semtool.models._build",
    "to_pixels": "semtool.models._build",
    "load_model": "semtool.models._io",
    "model_metadata": "semtool.models._io",
    "read_model_metadata": "semtool.models._io",
    "save_model": "semtool.models._io",
    "resolve_device": "semtool.models._device",
    "open_model": "semtool.models._open",
    "Pretrained": "semtool.models._pretrained",
    "Preprocess": "semtool.models._pretrained",
    "parse_spec": "semtool.models.spec",
    "weights_file": "semtool.models._pretrained",
    "match_classes": "semtool.models.classes",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
