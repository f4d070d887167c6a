"""Activations of named layers, batch by batch (torchvision ``feature_extraction``).

Layer names are those of the network inside the :class:`~semtool.models.Classifier`
wrapper, without its ``net.`` prefix: graph nodes (``layer4.1.relu_1``) or module
names (``layer4``, meaning that module's output). ``blocks`` picks the main stages.
Outputs are (N, C, H, W) for convolutional maps, (N, S, D) for token sequences,
(N, D) for vectors; ``pool`` = mean/max reduces the spatial or token axes to (N, C) or
(N, D), ``cls`` takes the class token (token 0) of (N, T, D) outputs and refuses a layer
without tokens.
These arrays are the input of ``csm tncsm``, ``rsm`` and ``twovtwo``.

``pixels`` is one more layer: the images as the :class:`~semtool.models.Classifier`
receives them, [0, 1] at the dataset's resolution before its normalisation (and before any
resizing inside it), flattened to (N, C·H·W) and never pooled: the pixel-level baseline
that starts Dharmaretnam & Fyshe's (2018) per-layer curves. It always comes first.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
from typing import Any, Iterator

import numpy as np
import torch

from semtool.errors import UserError
from semtool.kinds.features import PIXELS
from semtool.models._build import to_pixels

POOLS = ("mean", "max", "cls", "none")
_PREFIX = "net."


def _tracer_kwargs() -> dict[str, Any]:
    """FX tracing stops at the preprocessing (its resize has data-dependent Python branches)."""
    from semtool.models._pretrained import Preprocess

    return {"leaf_modules": [Preprocess]}


def _hooked(model: torch.nn.Module) -> bool:
    """Whether layers are reached by forward hooks on modules (Hugging Face, timm), not FX nodes."""
    return getattr(model, "layer_style", "graph") == "modules"


def layer_names(model: torch.nn.Module) -> list[str]:
    """The network's layer names without ``net.``: FX graph nodes in execution order
    (torchvision, semtool models), or module names (Hugging Face, timm)."""
    if _hooked(model):
        return _module_names(model)
    from torchvision.models.feature_extraction import get_graph_node_names

    _, nodes = get_graph_node_names(model.eval(), tracer_kwargs=_tracer_kwargs())
    return [n[len(_PREFIX):] for n in nodes if n.startswith(_PREFIX)]


def _module_names(model: torch.nn.Module) -> list[str]:
    return [n[len(_PREFIX):] for n, _ in model.named_modules() if n.startswith(_PREFIX)]


def torchvision_stages(net: torch.nn.Module) -> list[str]:
    """The main stages of a torchvision network (or the convnet): ResNet layer1–4, convnet
    block1–3, VGG/AlexNet/SqueezeNet's pooling outputs in ``features``, the other children of
    ``features`` (MobileNet, EfficientNet, ConvNeXt, Swin), ViT encoder layers."""
    children = dict(net.named_children())
    if all(f"layer{i}" in children for i in range(1, 5)):
        return [f"layer{i}" for i in range(1, 5)]
    if all(f"block{i}" in children for i in range(1, 4)):
        return [f"block{i}" for i in range(1, 4)]
    feats = children.get("features")
    if isinstance(feats, torch.nn.Sequential):
        parts = list(feats.named_children())
        if any(isinstance(m, torch.nn.Conv2d) for _, m in parts):  # plain layers: a stage ends at each pooling
            return [f"features.{n}" for n, m in parts if isinstance(m, torch.nn.MaxPool2d)] or [f"features.{parts[-1][0]}"]
        return [f"features.{n}" for n, _ in parts]
    enc = children.get("encoder")
    if enc is not None and hasattr(enc, "layers"):
        return [f"encoder.layers.{n}" for n, _ in enc.layers.named_children()]
    names = list(children)
    return names[:-1] if len(names) > 1 else names


def block_names(model: torch.nn.Module) -> list[str]:
    """The main stages (``--layers blocks``): a zoo model's own ``stages`` (Hugging Face encoder
    layers, timm feature stages, torchvision stages), else :func:`torchvision_stages`."""
    stages = getattr(model, "stages", None)
    return list(stages) if stages else torchvision_stages(model.net)


def select_layers(model: torch.nn.Module, spec: str) -> list[str]:
    """``spec``: comma-separated names or shell patterns (``layer*``), ``blocks``, or ``pixels``.

    An entry matching nothing is a UserError naming the close names. ``pixels`` (the
    input, see the module docstring) is put first, the network's layers follow in the
    order given.
    """
    nodes = layer_names(model)
    modules = _module_names(model)
    known = list(dict.fromkeys(nodes + modules))
    chosen: list[str] = []
    for entry in [e.strip() for e in spec.split(",") if e.strip()]:
        if entry == "blocks":
            chosen += block_names(model)
            continue
        if entry == PIXELS:
            chosen.insert(0, PIXELS)
            continue
        name = entry[len(_PREFIX):] if entry.startswith(_PREFIX) else entry
        if name in known:
            chosen.append(name)
            continue
        hits = [n for n in nodes if fnmatch.fnmatchcase(n, name)]
        if not hits:
            close = difflib.get_close_matches(name, known, n=4, cutoff=0.5)
            raise UserError(f"layers: no layer matches '{entry}'"
                            + (f" (close names: {', '.join(close)})" if close else " (see --layers list)"),
                            parameter="layers")
        chosen += hits
    if not chosen:
        raise UserError("layers: no layer selected (see --layers list)", parameter="layers")
    return list(dict.fromkeys(chosen))


def _channels_last(model: torch.nn.Module, name: str) -> bool:
    """Whether layer ``name`` outputs (N, H, W, C) maps: the stages of torchvision's and timm's
    Swin Transformers after their patch embedding's convolution (and their final norm). They
    are turned to (N, C, H, W) like every other map, so pooling reduces H and W, not W and C."""
    net = getattr(model, "net", model)
    from torchvision.models.swin_transformer import SwinTransformer

    if isinstance(net, SwinTransformer):
        return (name.startswith("features.") or name == "features" or name.startswith("norm")) and \
            not name.startswith("features.0.0")
    if getattr(net, "output_fmt", None) == "NHWC":  # timm's Swin family
        return name.split(".")[0] in ("layers", "norm", "patch_embed") and not name.startswith("patch_embed.proj")
    return False


#: parameter names of a prepended class token: torchvision's ViT (``class_token``), timm's
#: and Hugging Face's ViT, DeiT, BEiT, DINOv2 (``cls_token``), CLIP's vision tower (``class_embedding``)
_CLASS_TOKEN_PARAMETERS = ("class_token", "cls_token", "class_embedding")


def has_class_token(model: torch.nn.Module) -> bool:
    """Whether the network prepends a learned class token to its patch tokens (so token 0 of
    its (N, T, D) outputs is that token). Token models without one (timm's ViT with
    ``class_token=False``, Swin, MLP-Mixer) start their sequence with an image patch."""
    return any(name.rsplit(".", 1)[-1] in _CLASS_TOKEN_PARAMETERS for name, _ in model.named_parameters())


def _pool(t: torch.Tensor, pool: str, name: str, class_token: bool = True) -> torch.Tensor:
    if pool == "cls":
        if t.dim() != 3:
            raise UserError(f"pool cls: layer '{name}' has no tokens (output {tuple(t.shape)}); "
                            "use mean, max or none", parameter="pool")
        if not class_token:
            # token 0 would be an image patch: a number that looks fine and is not
            raise UserError(f"pool cls: layer '{name}' has tokens but the network has no class token (no "
                            "class_token, cls_token or class_embedding parameter), so token 0 is an image patch "
                            "or a register token; use mean, max or none", parameter="pool")
        return t[:, 0]
    if pool == "none" or t.dim() <= 2:
        return t
    if t.dim() == 3:  # (N, S, D) tokens: reduce the sequence axis
        return t.mean(1) if pool == "mean" else t.amax(1)
    dims = tuple(range(2, t.dim()))
    return t.mean(dims) if pool == "mean" else t.amax(dims)


def iter_features(model: torch.nn.Module, images: np.ndarray, layers: list[str], *, pool: str = "mean",
                  batch_size: int = 100, device: Any = "cpu", fp16: bool = False,
                  logits: bool = False) -> Iterator[tuple[int, dict[str, np.ndarray], np.ndarray | None]]:
    """Yield (start index, {layer: (B, …) array}, logits (B, C) or None) per batch.

    ``images`` are uint8 (N, H, W, C). Arrays are float32 (float16 with ``fp16``); only
    one batch is held at a time.
    """
    if pool not in POOLS:
        raise UserError(f"pool: expected one of {', '.join(POOLS)}, got '{pool}'", parameter="pool")
    yield from iter_outputs(model, images, {n: (n, pool) for n in layers}, batch_size=batch_size, device=device,
                            fp16=fp16, logits=logits)


def iter_outputs(model: torch.nn.Module, images: np.ndarray, requests: dict[str, tuple[str, str]], *,
                 batch_size: int = 100, device: Any = "cpu", fp16: bool = False,
                 logits: bool = False) -> Iterator[tuple[int, dict[str, np.ndarray], np.ndarray | None]]:
    """:func:`iter_features` with one pooling per output: ``requests`` maps an output name to
    (layer, pool), so one pass can give a layer both pooled and whole (``semtool report``)."""
    layers = list(dict.fromkeys(layer for layer, _ in requests.values()))
    class_token = has_class_token(model)
    model = model.to(device).eval()
    net_layers = [n for n in layers if n != PIXELS]
    extractor = None
    if net_layers or logits:
        extractor = (_hooks_extractor if _hooked(model) else _graph_extractor)(model, net_layers, logits)
    nhwc = {n for n in net_layers if _channels_last(model, n)}
    dtype = np.float16 if fp16 else np.float32
    autocast = torch.autocast("cuda", dtype=torch.float16) if fp16 and torch.device(device).type == "cuda" else None
    with torch.no_grad():
        for s in range(0, images.shape[0], batch_size):
            # (N, H, W, C) viewed as (N, C, H, W) without a copy: channels-last, which convolutions
            # on the CPU run about 1.4× faster than the contiguous layout (benchmarks/features.py)
            x = to_pixels(torch.from_numpy(np.ascontiguousarray(images[s:s + batch_size])).to(device).permute(0, 3, 1, 2))
            out = {PIXELS: x.reshape(len(x), -1)}
            if extractor is not None:
                with autocast if autocast is not None else contextlib.nullcontext():
                    out.update(extractor(x))
            for n in nhwc:
                if out[n].dim() == 4:
                    out[n] = out[n].permute(0, 3, 1, 2)
            feats = {key: (out[n].float() if n == PIXELS else _pool(out[n].float(), p, n, class_token)).cpu().numpy().astype(dtype)
                     for key, (n, p) in requests.items()}
            lg = out["__logits__"].float().cpu().numpy() if logits else None
            yield s, feats, lg


def _graph_extractor(model: torch.nn.Module, layers: list[str], logits: bool):
    """torchvision's ``create_feature_extractor``: {layer: output, '__logits__': logits}."""
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    nodes = {_PREFIX + n: n for n in layers}
    if logits:
        out_node = get_graph_node_names(model, tracer_kwargs=_tracer_kwargs())[1][-1]
        key = nodes.setdefault(out_node, "__logits__")
    extractor = create_feature_extractor(model, return_nodes=nodes, tracer_kwargs=_tracer_kwargs())
    if not logits or key == "__logits__":
        return extractor

    def run(x):
        out = extractor(x)
        return {**out, "__logits__": out[key]}

    return run


def _first_tensor(out: Any) -> torch.Tensor:
    """A module's output as one tensor (Hugging Face layers return tuples or ModelOutputs)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        for item in out:
            if isinstance(item, torch.Tensor):
                return item
    raise UserError(f"a layer's output is {type(out).__name__}, not a tensor")


def _hooks_extractor(model: torch.nn.Module, layers: list[str], logits: bool):
    """Forward hooks on the named modules: {layer: output, '__logits__': the model's output}."""
    modules = dict(model.named_modules())

    def run(x):
        out: dict[str, torch.Tensor] = {}
        handles = [modules[_PREFIX + n].register_forward_hook(
            lambda _m, _i, o, n=n: out.__setitem__(n, _first_tensor(o))) for n in layers]
        try:
            final = model(x)
        finally:
            for h in handles:
                h.remove()
        if logits:
            out["__logits__"] = final
        return out

    return run
