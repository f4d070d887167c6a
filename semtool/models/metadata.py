"""Reading model files without torch: semtool metadata, tensor names, single tensors.

A semtool model file is one ``.safetensors`` file: the tensors are the wrapper's
``state_dict()`` and the header metadata (all values strings) is
``{"format": "pt", "semtool_kind": "model", "semtool_schema": "1", "semtool": "<JSON>"}``,
the JSON holding ``architecture``, ``num_classes``, ``classes``, ``synsets``, groups,
``input_size``, ``mean``/``std``, ``head`` (the state-dict key of the final classifier
weight), ``epoch``, ``seed``, ``metrics``, ``creator``, ``created_at``.

Safetensors files are read through ``safetensors.safe_open(..., framework="np")``, which
imports no torch. A PyTorch ``.pt``/``.pth`` state dict is loaded with
``torch.load(weights_only=True)`` (no arbitrary pickle), torch imported only then.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool.errors import UserError

MODEL_KIND = "model"
MODEL_SCHEMA = 1
TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
# Names that usually hold the final classifier (torchvision: fc, classifier, head).
_HEAD_HINT = re.compile(r"(^|\.)(fc|classifier|head|heads|linear|last_linear|logits|out|output)(\.\d+)?\.weight$")


def _is_torch_file(path: Path) -> bool:
    return path.suffix.lower() in TORCH_SUFFIXES


def _check_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file")
    if p.is_dir():
        raise UserError(f"{p}: is a folder, expected a .safetensors model file")
    from semtool import store

    store.refuse_hdf5(p, store.MODEL)  # a semtool HDF5 file here: say what it is and what to do
    return p


def _safe_open(p: Path):
    from safetensors import safe_open

    try:
        return safe_open(str(p), framework="np")
    except Exception:  # the Rust reader raises its own error types
        hint = " (a PyTorch state dict needs a .pt or .pth suffix)" if p.suffix != ".safetensors" else ""
        raise UserError(f"{p}: not a readable safetensors file{hint}") from None


def header_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The safetensors header's ``__metadata__`` (string -> string; {} for .pt files)."""
    p = _check_file(path)
    if _is_torch_file(p):
        return {}
    with _safe_open(p) as f:
        return dict(f.metadata() or {})


def is_semtool_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a safetensors file with semtool model metadata."""
    try:
        return header_metadata(path).get("semtool_kind") == MODEL_KIND
    except UserError:
        return False


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The semtool JSON metadata of a model file (architecture, classes, head, …).

    Raises :class:`UserError` for a file that is not a semtool model (a PyTorch pickle,
    a safetensors file without semtool metadata, a newer schema, damaged JSON).
    """
    p = _check_file(path)
    if _is_torch_file(p):
        raise UserError(f"{p}: a PyTorch file, not a semtool model (.safetensors with semtool metadata)")
    meta = header_metadata(p)
    if meta.get("semtool_kind") != MODEL_KIND:
        raise UserError(f"{p}: a safetensors file without semtool model metadata")
    try:
        schema = int(meta.get("semtool_schema", "0"))
    except ValueError:
        raise UserError(f"{p}: bad semtool_schema '{meta.get('semtool_schema')}'") from None
    if schema > MODEL_SCHEMA:
        raise UserError(f"{p}: model schema {schema} is newer than this semtool knows ({MODEL_SCHEMA}); upgrade semtool")
    try:
        info = json.loads(meta.get("semtool", ""))
    except json.JSONDecodeError:
        raise UserError(f"{p}: damaged semtool metadata (not JSON)") from None
    if not isinstance(info, dict):
        raise UserError(f"{p}: damaged semtool metadata (not a JSON object)")
    return info


def _torch_state_dict(p: Path) -> dict[str, np.ndarray]:
    """A PyTorch state dict as NumPy arrays, loaded with ``weights_only=True``."""
    import torch

    try:
        obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError for unsafe content, and others
        import pickle

        if isinstance(exc, pickle.UnpicklingError):  # a whole pickled model (or other objects)
            raise UserError(f"{p}: holds pickled objects, not only tensors (a whole model?); save a state dict "
                            "instead: torch.save(model.state_dict(), PATH)") from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{p}: not loadable as a weights-only PyTorch state dict ({first[:120]})") from None
    # Lightning / training checkpoints nest the state dict one level down.
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not any(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"{p}: holds no state dict (a dict of tensors)")
    return {k: v.detach().float().numpy() if v.is_floating_point() else v.detach().numpy()
            for k, v in obj.items() if isinstance(v, torch.Tensor)}


def list_tensors(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes, in the file's key order (module order for .pt files)."""
    p = _check_file(path)
    if _is_torch_file(p):
        return {k: tuple(v.shape) for k, v in _torch_state_dict(p).items()}
    with _safe_open(p) as f:
        return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}


def read_tensor(path: str | os.PathLike, name: str) -> np.ndarray:
    """One tensor as a NumPy array (float tensors as stored; bfloat16 as float32)."""
    p = _check_file(path)
    if _is_torch_file(p):
        sd = _torch_state_dict(p)
        if name not in sd:
            raise UserError(f"{p}: no tensor '{name}'{_near(name, sd)}")
        return sd[name]
    with _safe_open(p) as f:
        if name not in f.keys():
            raise UserError(f"{p}: no tensor '{name}'{_near(name, list(f.keys()))}")
        try:
            return f.get_tensor(name)
        except Exception:
            if str(f.get_slice(name).get_dtype()).upper() in ("BF16", "BFLOAT16"):
                return _bf16_to_f32(p, name)
            raise UserError(f"{p}: tensor '{name}' has a dtype NumPy cannot read") from None


def _bf16_to_f32(p: Path, name: str) -> np.ndarray:
    """bfloat16 -> float32 from the raw bytes (the upper half of a float32)."""
    with open(p, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(n))
        start, end = header[name]["data_offsets"]
        fh.seek(8 + n + start)
        raw = np.frombuffer(fh.read(end - start), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(header[name]["shape"])


def _near(name: str, keys: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(keys), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def find_head(path: str | os.PathLike, *, head: str | None = None, num_classes: int | None = None) -> tuple[str, str]:
    """The state-dict key of the final classifier weight, and how it was found.

    A semtool model names it in its metadata (``head``); ``head`` overrides. Otherwise
    the candidates are the 2-D tensors with ``num_classes`` rows: one candidate is taken;
    among several, those named like a classifier (``fc``, ``classifier``, ``head``…) win,
    then the last in key order. Returns ``(name, reason)``.
    """
    p = _check_file(path)
    shapes = list_tensors(p)
    if head is not None:
        if head not in shapes:
            raise UserError(f"--head: {p} has no tensor '{head}'{_near(head, list(shapes))}")
        if len(shapes[head]) != 2:
            raise UserError(f"--head: '{head}' in {p} has shape {shapes[head]}, expected a 2-D (classes, features) weight")
        return head, "given by --head"
    if is_semtool_model(p):
        name = read_metadata(p).get("head")
        if not name or name not in shapes:
            raise UserError(f"{p}: its metadata names no classifier head present in the file; give --head NAME")
        return name, "from the model's metadata"
    if num_classes is None:
        raise UserError(f"{p}: not a semtool model; give --classes FILE (the class names) or --head NAME")
    cands = [k for k, s in shapes.items() if len(s) == 2 and s[0] == num_classes and s[1] > 1]
    if not cands:
        raise UserError(f"{p}: no plausible classifier head (no 2-D weight with {num_classes} rows); give --head NAME")
    named = [k for k in cands if _HEAD_HINT.search(k)]
    pick = (named or cands)[-1]
    reason = "the only 2-D weight with" if len(cands) == 1 else f"picked among {len(cands)} 2-D weights with"
    return pick, f"{reason} {num_classes} rows"
