"""Networks someone else trained (torchvision, Hugging Face, timm) as one :class:`Pretrained`.

Every family becomes the :class:`~semtool.models.Classifier` contract: [0, 1] pixels at the
dataset's resolution in, logits out, the network's own preprocessing inside the model
(:class:`Preprocess`: a 1-channel image repeated to 3, resize, centre crop, normalise), so
``attack`` perturbs the stored images and ``features`` sees what the network sees.

Where the preprocessing comes from:

- torchvision: the weights' ``transforms()`` (``resize_size``, ``crop_size``, ``mean``,
  ``std``, ``interpolation``); ``:none`` and ``:PATH`` use the DEFAULT weights' ones.
- Hugging Face: the image-processor config (``size``, ``crop_size``/``crop_pct``,
  ``image_mean``, ``image_std``, ``resample``); its rescaling by 1/255 is already done,
  since the input is in [0, 1].
- timm: ``timm.data.resolve_model_data_config`` (input size, ``crop_pct``, ``crop_mode``,
  interpolation, mean, std), as timm's own eval transform uses them.

Resizing is differentiable (``torchvision.transforms.functional`` on tensors, antialiased),
so gradients reach the stored pixels.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
import torch.nn as nn

from semtool.errors import UserError
from semtool.models.spec import NONE, ModelSpec

#: PIL resampling codes (Hugging Face image processors) -> torchvision interpolation names.
_PIL_RESAMPLE = {0: "nearest", 1: "bicubic", 2: "bilinear", 3: "bicubic", 4: "bilinear", 5: "bilinear"}


class Preprocess(nn.Module):
    """[0, 1] pixels (N, C, H, W) -> the network's input: channels, resize, centre crop, normalise.

    ``resize``: None, an int (the shorter side, aspect kept) or (h, w); ``crop``: None or
    (h, w). The order is torchvision's ``ImageClassification`` transform's.
    """

    def __init__(self, *, mean: Sequence[float], std: Sequence[float], resize: int | Sequence[int] | None = None,
                 crop: Sequence[int] | None = None, interpolation: str = "bilinear", net_channels: int = 3) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32))
        self.resize = [int(resize)] if isinstance(resize, int) else (list(map(int, resize)) if resize else None)
        self.crop = list(map(int, crop)) if crop else None
        self.interpolation = interpolation
        self.net_channels = net_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        if x.shape[1] != self.net_channels:
            x = x.expand(-1, self.net_channels, -1, -1)
        if self.resize is not None:
            x = TF.resize(x, self.resize, interpolation=InterpolationMode(self.interpolation), antialias=True)
        if self.crop is not None:
            x = TF.center_crop(x, self.crop)
        return (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)

    def describe(self) -> dict[str, Any]:
        return {"resize": self.resize, "crop": self.crop, "interpolation": self.interpolation,
                "mean": [round(float(v), 6) for v in self.mean.tolist()],
                "std": [round(float(v), 6) for v in self.std.tolist()]}


class Pretrained(nn.Module):
    """A zoo network as a semtool classifier: [0, 1] pixels (N, C, H, W) -> logits (N, K).

    ``call`` is ``tensor`` (torchvision, timm: ``net(x)``) or ``hf`` (``net(pixel_values=x)``,
    then ``.logits``, or for a backbone ``.last_hidden_state``). ``layer_style`` says how
    ``features`` reaches layers: ``graph`` (torchvision FX nodes) or ``modules`` (forward
    hooks on module names); ``stages`` are the main stages (``--layers blocks``).
    """

    def __init__(self, net: nn.Module, prep: Preprocess, *, call: str = "tensor", backbone: bool = False,
                 layer_style: str = "graph", stages: Sequence[str] = (), in_channels: int = 3) -> None:
        super().__init__()
        self.prep = prep
        self.net = net
        self.call = call
        self.backbone = backbone
        self.layer_style = layer_style
        self.stages = list(stages)
        self.in_channels = in_channels
        self.net_channels = prep.net_channels

    @property
    def mean(self) -> torch.Tensor:
        return self.prep.mean

    @property
    def std(self) -> torch.Tensor:
        return self.prep.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.prep(x)
        if self.call == "hf":
            out = self.net(pixel_values=z)
            return out.last_hidden_state if self.backbone else out.logits
        return self.net(z)


# --------------------------------------------------------------------------------------
# weights files


#: The seed of ``:none`` (random initialisation): the same untrained control in every run.
NONE_SEED = 0


@contextlib.contextmanager
def seeded(seed: int = NONE_SEED):
    """Build with torch's CPU RNG seeded, leaving the caller's RNG state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def weights_only():
    """Every ``torch.load`` inside (also a library's own) runs with ``weights_only=True``."""
    old = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = old


def load_state_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file or (weights-only) from a .pt/.pth file."""
    p = Path(path)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(p), device="cpu")
        except Exception:
            raise UserError(f"{p}: not a readable safetensors file") from None
    from semtool.models.metadata import _torch_state_dict

    return {k: torch.from_numpy(v) for k, v in _torch_state_dict(p).items()}


def _fit_state(net: nn.Module, state: dict[str, torch.Tensor], where: str, what: str) -> None:
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "mismatch"
        more = [ln.strip() for ln in str(exc).splitlines()[1:2]]
        raise UserError(f"{where}: weights do not fit {what} ({first} {' '.join(more)[:160]})") from None


def _num_rows(state: dict[str, torch.Tensor], key: str) -> int | None:
    t = state.get(key)
    return int(t.shape[0]) if t is not None and t.dim() >= 1 else None


def _close(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=5, cutoff=0.5)
    return f"close names: {', '.join(close)}" if close else f"e.g. {', '.join(list(names)[:5])}"


def _head_of(net: nn.Module) -> str:
    """Module name of the final classifier (the last Linear, else the last Conv2d)."""
    from semtool.models._build import head_key

    return head_key(net)[: -len(".weight")]


# --------------------------------------------------------------------------------------
# torchvision


def _torchvision(spec: ModelSpec, trust_remote_code: bool) -> tuple[Pretrained, dict[str, Any]]:
    import torchvision.models as tvm

    names = tvm.list_models(module=tvm)
    if spec.name not in names:
        raise UserError(f"model '{spec.text}': unknown torchvision classifier '{spec.name}' ({_close(spec.name, names)})")
    enum = tvm.get_model_weights(spec.name)
    members = list(enum.__members__)
    if spec.weights in ("DEFAULT", NONE, "file"):
        w = enum.DEFAULT
    elif spec.weights in enum.__members__:
        w = enum[spec.weights]
    else:
        raise UserError(f"model '{spec.text}': {spec.name} has no weights '{spec.weights}' "
                        f"(its weights: {', '.join(members)}; or none, or a state-dict file)")
    classes = list(w.meta["categories"])
    if spec.weights == NONE:
        with seeded():
            net = tvm.get_model(spec.name, weights=None, num_classes=len(classes))
        label = NONE
    elif spec.weights == "file":
        state = load_state_file(spec.path)
        net = tvm.get_model(spec.name, weights=None, num_classes=len(classes))
        rows = _num_rows(state, _head_of(net) + ".weight")
        if rows is not None and rows != len(classes):
            net = tvm.get_model(spec.name, weights=None, num_classes=rows)
            classes = [str(i) for i in range(rows)]
        _fit_state(net, state, spec.path, f"torchvision's {spec.name}")
        label = str(spec.path)
    else:
        net = _torchvision_named(spec, w)
        label = w.name if spec.weights != "DEFAULT" else f"DEFAULT ({w.name})"
    tf = w.transforms()
    prep = Preprocess(mean=tf.mean, std=tf.std, resize=tf.resize_size, crop=tf.crop_size,
                      interpolation=tf.interpolation.value)
    from semtool.models.features import torchvision_stages

    model = Pretrained(net, prep, layer_style="graph", stages=torchvision_stages(net))
    return model, {"family": "torchvision", "architecture": f"torchvision:{spec.name}", "weights": label,
                   "classes": classes, "synsets": None}


def weights_file(w: Any) -> Path:
    """Where torchvision's weights API looks for (and caches) weights ``w``: $TORCH_HOME/hub/checkpoints."""
    from urllib.parse import urlparse

    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(w.url).path)


def _torchvision_named(spec: ModelSpec, w: Any) -> nn.Module:
    """torchvision's own builder with weights ``w`` (cache first, else download), weights-only."""
    import pickle
    import torchvision.models as tvm

    cached = weights_file(w)
    if not cached.exists():  # download here (quietly, hash-checked) so a failure is one line
        import re

        prefix = re.search(r"-([a-f0-9]*)\.", cached.name)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(w.url, str(cached), hash_prefix=prefix.group(1) if prefix else None,
                                           progress=False)
        except (OSError, RuntimeError):  # URLError, HTTPError, socket errors, a hash mismatch
            raise UserError(f"model '{spec.text}': weights file {cached.name} is neither cached nor downloadable; "
                            f"put it into {cached.parent} (from {w.url})") from None
    try:
        with weights_only():
            return tvm.get_model(spec.name, weights=w)
    except pickle.UnpicklingError as exc:
        raise UserError(f"{cached}: not a weights-only state dict ({str(exc).splitlines()[0][:100]}); "
                        "save one with torch.save(model.state_dict(), PATH)") from None
    except (OSError, EOFError) as exc:
        raise UserError(f"{cached}: unreadable ({str(exc).splitlines()[0][:100]})") from None
    except RuntimeError as exc:
        raise UserError(f"{cached}: does not fit torchvision's {spec.name} ({str(exc).splitlines()[0][:120]})") from None


# --------------------------------------------------------------------------------------
# Hugging Face


def _hf_preprocess(src: str, config: Any, trust_remote_code: bool) -> Preprocess:
    """The image processor's size, crop and normalisation as a :class:`Preprocess`."""
    from transformers import AutoImageProcessor

    try:
        proc = AutoImageProcessor.from_pretrained(src, trust_remote_code=trust_remote_code)
    except (OSError, ValueError):
        proc = None
    channels = int(getattr(config, "num_channels", 3) or 3)
    if proc is None:  # no preprocessor_config.json: the config's size, ImageNet statistics
        size = getattr(config, "image_size", 224)
        size = size if isinstance(size, (list, tuple)) else (size, size)
        from semtool import _runtime

        _runtime.log(f"{src}: no image-processor config; resizing to {size[0]}×{size[1]} with ImageNet mean/std")
        return Preprocess(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], resize=size, net_channels=channels)
    mean = list(getattr(proc, "image_mean", None) or [0.5] * channels)
    std = list(getattr(proc, "image_std", None) or [0.5] * channels)
    if getattr(proc, "do_normalize", True) is False:
        mean, std = [0.0] * channels, [1.0] * channels
    resample = getattr(proc, "resample", 2)
    interpolation = _PIL_RESAMPLE.get(int(getattr(resample, "value", resample) if resample is not None else 2),
                                      "bilinear")
    size = dict(getattr(proc, "size", None) or {})
    size = {k: v for k, v in size.items() if v is not None}
    resize: Any = None
    crop = None
    if getattr(proc, "do_resize", True) is not False and size:
        if "height" in size and "width" in size:
            resize = (size["height"], size["width"])
        elif "shortest_edge" in size:
            edge = int(size["shortest_edge"])
            pct = getattr(proc, "crop_pct", None)
            if pct is not None:  # ConvNeXt's processor: below 384, resize to edge/crop_pct, crop edge
                if edge < 384:
                    resize, crop = int(edge / pct), (edge, edge)
                else:
                    resize = (edge, edge)
            else:
                resize = edge
    crop_size = getattr(proc, "crop_size", None)
    if getattr(proc, "do_center_crop", False) and crop_size:
        crop = (int(crop_size["height"]), int(crop_size["width"]))
    return Preprocess(mean=mean, std=std, resize=resize, crop=crop, interpolation=interpolation,
                      net_channels=channels)


def hf_stages(net: nn.Module) -> list[str]:
    """The main stages of a Hugging Face vision model: its encoder's layer (or stage) list."""
    lists = [(name, mod) for name, mod in net.named_modules() if isinstance(mod, nn.ModuleList) and len(mod)]
    preferred = [(n, m) for n, m in lists if n.split(".")[-1] in ("layer", "layers", "stages", "blocks")
                 and "encoder" in n]
    pick = preferred[0] if preferred else (max(lists, key=lambda nm: len(nm[1])) if lists else None)
    return [f"{pick[0]}.{i}" for i in range(len(pick[1]))] if pick else []


def _hf(spec: ModelSpec, trust_remote_code: bool) -> tuple[Pretrained, dict[str, Any]]:
    from transformers import AutoConfig, AutoModel, AutoModelForImageClassification
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    src = spec.path or spec.name
    shown = spec.path or spec.text
    try:
        config = AutoConfig.from_pretrained(src, trust_remote_code=trust_remote_code)
    except ValueError as exc:
        if "trust_remote_code" in str(exc) or "custom code" in str(exc):
            raise UserError(f"{shown}: this model runs code from its folder or repository; pass "
                            "--trust-remote-code if you trust it") from None
        raise UserError(f"{shown}: not a model transformers knows ({str(exc).splitlines()[0][:120]})") from None
    except OSError as exc:
        raise UserError(f"{shown}: neither in the Hugging Face cache nor downloadable "
                        f"({str(exc).splitlines()[0][:120]})") from None
    archs = list(getattr(config, "architectures", None) or [])
    classifier = any(a.endswith("ForImageClassification") for a in archs)
    loader = AutoModelForImageClassification if classifier else AutoModel
    try:
        with weights_only():
            net = loader.from_pretrained(src, trust_remote_code=trust_remote_code)
    except ValueError as exc:
        raise UserError(f"{shown}: not an image model transformers can load "
                        f"({str(exc).splitlines()[0][:120]})") from None
    except OSError as exc:
        raise UserError(f"{shown}: weights not loadable ({str(exc).splitlines()[0][:120]})") from None
    if getattr(net, "main_input_name", "pixel_values") != "pixel_values":
        vision = getattr(net, "vision_model", None)  # CLIP, SigLIP: the vision tower
        if vision is None:
            raise UserError(f"{shown}: not an image model (its input is '{net.main_input_name}', not pixel_values)")
        net = vision
    net.eval()
    prep = _hf_preprocess(src, config, trust_remote_code)
    if classifier:
        n = int(config.num_labels)
        id2label = {int(k): str(v) for k, v in (config.id2label or {}).items()}
        classes = [id2label.get(i, str(i)) for i in range(n)]
    else:
        classes = []
    model = Pretrained(net, prep, call="hf", backbone=not classifier, layer_style="modules", stages=hf_stages(net))
    name = src if spec.path else f"hf:{src}"
    return model, {"family": "hf", "architecture": name, "weights": archs[0] if archs else config.model_type,
                   "classes": classes, "synsets": None}


# --------------------------------------------------------------------------------------
# timm


def _timm(spec: ModelSpec, trust_remote_code: bool) -> tuple[Pretrained, dict[str, Any]]:
    try:
        import timm
    except ImportError:
        raise UserError(f"model '{spec.text}': timm is not installed (pip install 'semtool[timm]')") from None
    base = spec.name.split(".", 1)[0]
    if not timm.is_model(base):
        raise UserError(f"model '{spec.text}': unknown timm model '{spec.name}' ({_close(base, timm.list_models())})")
    if spec.weights == NONE:
        with seeded():
            net, label = timm.create_model(spec.name, pretrained=False), NONE
    elif spec.weights == "file":
        state = load_state_file(spec.path)
        net = timm.create_model(spec.name, pretrained=False)
        rows = _num_rows(state, _timm_head(net) + ".weight") if _timm_head(net) else None
        if rows is not None and rows != net.num_classes:
            net = timm.create_model(spec.name, pretrained=False, num_classes=rows)
        _fit_state(net, state, spec.path, f"timm's {spec.name}")
        label = str(spec.path)
    else:
        name = spec.name if spec.weights == "DEFAULT" else f"{base}.{spec.weights}"
        try:
            with weights_only():
                net = timm.create_model(name, pretrained=True)
        except (OSError, RuntimeError) as exc:
            raise UserError(f"model '{spec.text}': timm weights of {name} are neither cached nor downloadable "
                            f"({str(exc).splitlines()[0][:120]})") from None
        label = getattr(net, "pretrained_cfg", {}).get("tag") or "DEFAULT"
    net.eval()
    cfg = timm.data.resolve_model_data_config(net)
    size = tuple(int(v) for v in cfg["input_size"][1:])
    pct = float(cfg.get("crop_pct") or 0.875)
    scaled = tuple(math.floor(s / pct) for s in size)
    if cfg.get("crop_mode") == "squash":
        resize: Any = scaled
    else:
        resize = scaled[0] if scaled[0] == scaled[1] else scaled
    prep = Preprocess(mean=cfg["mean"], std=cfg["std"], resize=resize, crop=size,
                      interpolation=cfg.get("interpolation", "bicubic") if cfg.get("interpolation") in
                      ("nearest", "bilinear", "bicubic") else "bilinear", net_channels=int(cfg["input_size"][0]))
    k = int(getattr(net, "num_classes", 0) or 0)
    classes = _timm_classes(net, k)
    stages = [fi["module"] for fi in getattr(net, "feature_info", []) if isinstance(fi, dict) and fi.get("module")]
    model = Pretrained(net, prep, call="tensor", backbone=k == 0, layer_style="modules", stages=stages)
    return model, {"family": "timm", "architecture": f"timm:{spec.name}", "weights": label, "classes": classes,
                   "synsets": None}


def _timm_head(net: nn.Module) -> str | None:
    head = net.get_classifier() if hasattr(net, "get_classifier") else None
    for name, mod in net.named_modules():
        if mod is head and isinstance(mod, (nn.Linear, nn.Conv2d)):
            return name
    return None


def _timm_classes(net: nn.Module, k: int) -> list[str]:
    if k == 1000:
        try:
            from timm.data import ImageNetInfo

            return list(ImageNetInfo().label_descriptions())
        except Exception:  # an older timm without its ImageNet table
            pass
    return [str(i) for i in range(k)]


# --------------------------------------------------------------------------------------
# one entry point


def imagenet_names(classes: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """ImageNet-1k's class names and WordNet synsets (semtool's ``imagenet`` preset) when
    ``classes`` are a 1000-class ImageNet model's labels in index order, else None.

    torchvision's categories name two classes "crane" and two "maillot"; the preset's names
    are unique (``crane bird``, ``maillot tank suit``), so class matching by name works, and
    its synsets (from the wnids' offsets) let imagesets from wnid folders match by synset.
    """
    first = ["tench", "goldfish", "great white shark", "tiger shark"]
    if len(classes) != 1000 or [str(c).split(",")[0].strip().lower() for c in classes[:4]] != first:
        return None
    from semtool.semantics.wordnet import imagenet_classes

    rows = imagenet_classes()  # (wnid, name, synset) in torchvision's index order
    return [r[1] for r in rows], [r[2] for r in rows]


def _named(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with ImageNet-1k's unique names and synsets for a 1000-class ImageNet model."""
    known = imagenet_names(meta["classes"])
    if known is not None:
        meta["labels"] = meta["classes"]  # the model's own spelling
        meta["classes"], meta["synsets"] = known
    return meta


LOADERS: dict[str, Callable[[ModelSpec, bool], tuple[Pretrained, dict[str, Any]]]] = {
    "torchvision": _torchvision,
    "hf": _hf,
    "timm": _timm,
}


def open_pretrained(spec: ModelSpec, *, trust_remote_code: bool = False) -> tuple[Pretrained, dict[str, Any]]:
    """Load a zoo model and describe it in the model-file metadata's words (eval mode, CPU)."""
    model, meta = LOADERS[spec.family](spec, trust_remote_code)
    meta = _named(meta)
    model.eval()
    prep = model.prep.describe()
    crop = prep["crop"] or (prep["resize"] if prep["resize"] and len(prep["resize"]) == 2 else None)
    crop = crop * 2 if crop and len(crop) == 1 else crop
    head = None if model.backbone else (_timm_head(model.net) if meta["family"] == "timm" else _head_of(model.net))
    meta.update({
        "spec": spec.text,
        "num_classes": len(meta["classes"]),
        "input_size": crop,
        "in_channels": model.net_channels,
        "mean": prep["mean"], "std": prep["std"],
        "preprocess": prep,
        "backbone": model.backbone,
        "head": f"net.{head}.weight" if head else None,
        "layer_style": model.layer_style,
        "stages": model.stages,
    })
    return model, meta
