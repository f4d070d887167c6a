"""The one --device resolver every command uses (train, attack, features, mix, caption, embed, rsm)."""

from __future__ import annotations

import pytest
import torch

from semtool._runtime import resolve_device
from semtool.errors import UserError


def test_auto_and_bare_cuda_pick_this_ranks_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert resolve_device("auto") == torch.device("cuda", 1)
    assert resolve_device("CUDA") == torch.device("cuda", 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(UserError, match=r"--device cuda:2: only 2 CUDA device\(s\)"):
        resolve_device("cuda:2")


def test_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(UserError, match="--device cuda: this torch sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(UserError, match="--device gpu0: not a torch device"):
        resolve_device("gpu0")
    with pytest.raises(UserError, match="--device meta: unsupported"):
        resolve_device("meta")
