"""Loading diffusion and captioning components: a Hugging Face id or a local folder.

Components load with ``from_pretrained(model, subfolder=...)`` exactly as for a real
Stable Diffusion 1.x checkout, so the tests' tiny models travel the user's path. Devices,
dtypes and schedulers are checked here, before anything heavy runs.

Casting rule (the community MagicMix pipeline mixes fp32 noise into fp16 latents and
fails): scheduler arithmetic, noise and latents stay float32 on the device; only what
enters a network is cast to the network's dtype, and what leaves it is cast back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semtool.errors import UserError

DEFAULT_SD = "stable-diffusion-v1-5/stable-diffusion-v1-5"

#: schedulers whose timestep list has one entry per step (what MagicMix's step indices need)
SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler-ancestral": "EulerAncestralDiscreteScheduler",
    "lms": "LMSDiscreteScheduler",
    "dpm": "DPMSolverMultistepScheduler",
    "unipc": "UniPCMultistepScheduler",
}
#: refused, with the reason the user sees
REFUSED_SCHEDULERS = {
    "pndm": "PNDM's warm-up repeats timesteps (its list has steps+1 entries), so step index ≠ timestep",
    "heun": "Heun evaluates the UNet twice per step (each timestep appears twice)",
    "kdpm2": "KDPM2 evaluates the UNet twice per step (interleaved timesteps)",
    "kdpm2-ancestral": "KDPM2 ancestral evaluates the UNet twice per step (interleaved timesteps)",
}
DTYPES = ("auto", "fp32", "bf16", "fp16")
#: ``--size native``: encode each image at its own size (rounded to the VAE's factor)
NATIVE = "native"
SD_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


def parse_size(size: int | str) -> int | str:
    """``--size``: a positive pixel count or ``native``."""
    if isinstance(size, str) and size.strip().lower() == NATIVE:
        return NATIVE
    try:
        value = int(size)
    except (TypeError, ValueError):
        raise UserError(f"--size {size}: expected a size in pixels (e.g. 512) or '{NATIVE}'") from None
    if value < 1:
        raise UserError(f"--size {size}: expected a positive size in pixels or '{NATIVE}'")
    return value


def check_scheduler(name: str) -> str:
    if name in SCHEDULERS:
        return name
    if name in REFUSED_SCHEDULERS:
        raise UserError(f"--scheduler {name}: not usable for MagicMix/img2img: {REFUSED_SCHEDULERS[name]}; "
                        f"choose one of {', '.join(SCHEDULERS)}")
    raise UserError(f"--scheduler {name}: unknown; choose one of {', '.join(SCHEDULERS)}")


def resolve_dtype(dtype: str, device):
    """``auto`` -> fp16 on CUDA, fp32 elsewhere; fp16 on the CPU is refused."""
    import torch

    if dtype not in DTYPES:
        raise UserError(f"--dtype {dtype}: choose one of {', '.join(DTYPES)}")
    if dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if dtype == "fp16" and device.type == "cpu":
        raise UserError("--dtype fp16: half precision is for GPUs; on the CPU many kernels lack fp16 and the "
                        "rest are slow and overflow-prone; use --dtype bf16 or fp32 with --device cpu")
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]


def model_source(model: str, parts: tuple[str, ...], option: str = "--model") -> str:
    """A local folder (checked for its component subfolders) or a Hugging Face id (in the
    local cache, or fetchable now: else refused at once)."""
    p = Path(model).expanduser()
    if p.exists() or model.startswith((".", "/", "~")):
        if p.is_file():
            raise UserError(f"{option} {model}: is a file; expected a model folder or a Hugging Face id")
        if not p.is_dir():
            raise UserError(f"{option} {model}: no such folder")
        missing = [f"{s}/" for s in parts if not (p / s).is_dir()]
        if missing:
            raise UserError(f"{option} {model}: folder lacks {', '.join(missing)} (expected a diffusers-format "
                            f"folder with {', '.join(s + '/' for s in parts)})")
        return str(p)
    from semtool import _hub

    _hub.require(model, option=option, probe=f"{parts[0]}/config.json" if parts else "config.json")
    return model


def load(cls: Any, source: str, model: str, *, option: str = "--model", **kwargs: Any) -> Any:
    """``cls.from_pretrained(source, **kwargs)`` with a one-line error for a model not found."""
    import logging
    import warnings

    import diffusers
    import transformers

    libs = (diffusers.utils.logging, transformers.utils.logging)
    before = [lib.get_verbosity() for lib in libs]
    try:
        # hub deprecation notices and the libraries' own error logs ("An error occurred while
        # trying to fetch ...") would break the one-line contract: the UserError below says it
        for lib in libs:
            lib.set_verbosity(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cls.from_pretrained(source, **kwargs)
    except Exception as exc:  # noqa: BLE001 - hub/IO errors come in many types
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        if Path(source).is_dir():
            raise UserError(f"{option} {model}: cannot load {kwargs.get('subfolder', 'it')}: {first}") from None
        raise UserError(f"{option} {model}: not in the local Hugging Face cache and not downloadable now "
                        f"(no network?); pass {option} /path/to/folder or connect") from None
    finally:
        for lib, level in zip(libs, before):
            lib.set_verbosity(level)


@dataclass
class StableDiffusion:
    """The parts of a Stable Diffusion 1.x checkout that MagicMix and img2img use."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler_cls: Any
    scheduler_config: Any
    device: Any
    dtype: Any
    name: str

    @property
    def vae_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    def new_scheduler(self, steps: int, scheduler: str = "ddim"):
        """A fresh scheduler (stateful ones keep history) with ``steps`` timesteps set."""
        s = self.scheduler_cls.from_config(self.scheduler_config)
        s.set_timesteps(steps, device=self.device)
        if len(s.timesteps) != steps:
            raise UserError(f"--scheduler {scheduler}: made {len(s.timesteps)} timesteps for {steps} steps; "
                            "MagicMix needs one timestep per step")
        return s

    def check_size(self, size: int | str) -> None:
        if size == NATIVE:
            return
        multiple = self.vae_factor * 2 ** (len(self.unet.config.down_block_types) - 1)
        if size < multiple or size % multiple:
            raise UserError(f"--size {size}: must be a multiple of {multiple} for this model (or '{NATIVE}')")

    def encode_hw(self, size: int | str, image_hw: tuple[int, int]) -> tuple[int, int]:
        """The (height, width) images are encoded at: ``size``×``size``, or with ``native``
        their own size rounded down to a multiple of the VAE's factor (8 for Stable
        Diffusion; at least one factor), as diffusers' ``VaeImageProcessor`` does."""
        if size != NATIVE:
            return int(size), int(size)
        f = self.vae_factor
        return tuple(max(f, int(v) - int(v) % f) for v in image_hw)  # type: ignore[return-value]


def quiet_libraries() -> None:
    """Silence diffusers'/transformers' loading bars and notices (our progress bar is the one)."""
    import diffusers
    import transformers

    for lib in (diffusers.utils.logging, transformers.utils.logging):
        lib.set_verbosity_error()
        lib.disable_progress_bar()


def load_stable_diffusion(model: str, *, device, dtype, scheduler: str = "ddim") -> StableDiffusion:
    import diffusers
    import transformers

    quiet_libraries()
    src = model_source(model, SD_PARTS)
    unet = load(diffusers.UNet2DConditionModel, src, model, subfolder="unet", torch_dtype=dtype)
    vae = load(diffusers.AutoencoderKL, src, model, subfolder="vae", torch_dtype=dtype)
    text_encoder = load(transformers.CLIPTextModel, src, model, subfolder="text_encoder")
    tokenizer = load(transformers.CLIPTokenizer, src, model, subfolder="tokenizer")
    cls = getattr(diffusers, SCHEDULERS[check_scheduler(scheduler)])
    config = load(cls, src, model, subfolder="scheduler").config
    for net in (unet, vae, text_encoder):
        net.to(device=device, dtype=dtype).eval().requires_grad_(False)
    return StableDiffusion(unet, vae, text_encoder, tokenizer, cls, config, device, dtype, model)



def open_stable_diffusion(model: str, *, device: str, dtype: str, scheduler: str, size: int | str, steps: int):
    """Stable Diffusion for one run of mix: the folder checked, ``--device``/``--dtype``
    resolved, the pipeline loaded, ``size`` checked and the scheduler set for ``steps``.
    Returns (pipeline, torch device)."""
    from semtool._runtime import resolve_device

    model_source(model, SD_PARTS)
    dev = resolve_device(device)
    sd = load_stable_diffusion(model, device=dev, dtype=resolve_dtype(dtype, dev), scheduler=scheduler)
    sd.check_size(size)
    sd.new_scheduler(steps, scheduler)
    return sd, dev

def encode_text(sd: StableDiffusion, ids):
    """Text-encoder outputs ``(P, L, D)`` float32 for token ids ``(P, L)``, one prompt per
    call: a prompt's embedding never depends on which prompts share its batch (batched CPU
    kernels may round the last bit differently), and it costs once per class."""
    import torch

    with torch.no_grad():
        return torch.cat([sd.text_encoder(ids[k:k + 1].to(sd.device))[0].float() for k in range(len(ids))])


def embed_prompts(sd: StableDiffusion, prompts: list[str]):
    """Text-encoder outputs ``(P, L, D)`` in the UNet's dtype (padded to the max length)."""
    ids = sd.tokenizer(prompts, padding="max_length", max_length=sd.tokenizer.model_max_length,
                       truncation=True, return_tensors="pt").input_ids
    return encode_text(sd, ids).to(sd.dtype)


def images_to_tensor(images, hw: tuple[int, int], device):
    """uint8 ``(B, H, W, C)`` -> float32 ``(B, 3, h, w)`` in [0, 1] for ``hw`` = (h, w)
    (bilinear resampling when the size differs; grey images repeated to RGB)."""
    import torch
    import torch.nn.functional as F

    # contiguous NCHW: a permuted NHWC view would send the VAE down oneDNN's channels-last
    # kernels, which round differently from the layout the reference pipelines use
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().contiguous() / 255.0
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    if tuple(x.shape[-2:]) != tuple(hw):
        x = F.interpolate(x, size=tuple(hw), mode="bilinear", align_corners=False).clamp(0, 1)
    return x


def to_uint8(x, hw: tuple[int, int] | None = None, channels: int = 3):
    """float ``(B, 3, h, w)`` in [0, 1] -> uint8 ``(B, H, W, C)``; resized with antialiasing
    to ``hw`` when given and different; RGB averaged to grey when ``channels`` is 1."""
    import torch.nn.functional as F

    if hw is not None and tuple(x.shape[-2:]) != tuple(hw):
        x = F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    if channels == 1:
        x = x.mean(dim=1, keepdim=True)
    return (x * 255).round().clamp(0, 255).to("cpu").permute(0, 2, 3, 1).numpy().astype("uint8")


def encode_images(sd: StableDiffusion, pixels, generators):
    """VAE latents ``(B, 4, h, w)`` float32 = (mean + std·ε)·scaling, ε drawn per image from
    its own CPU generator in float32 (the same draw as ``latent_dist.sample(generator)``)."""
    import torch

    with torch.no_grad():
        dist = sd.vae.encode((pixels * 2 - 1).to(sd.dtype)).latent_dist
    mean, std = dist.mean.float(), dist.std.float()
    eps = torch.cat([torch.randn((1,) + tuple(mean.shape[1:]), generator=g) for g in generators]).to(mean.device)
    return (mean + std * eps) * sd.scaling_factor


def decode_latents(sd: StableDiffusion, latents):
    """Latents -> images float32 ``(B, 3, H, W)`` in [0, 1]."""
    import torch

    with torch.no_grad():
        img = sd.vae.decode((latents / sd.scaling_factor).to(sd.dtype)).sample.float()
    return (img / 2 + 0.5).clamp(0, 1)


def guided_noise(sd: StableDiffusion, scheduler, latents, t, cond, uncond, guidance):
    """Classifier-free guidance in one UNet call for a batch, with a per-sample scale.

    ``ε̂ = ε(z, ∅) + g_b·(ε(z, c_b) − ε(z, ∅))``; ``latents`` (B, 4, h, w) float32, ``cond``
    (B, L, D), ``uncond`` (1, L, D), ``guidance`` (B,) float32. Returns float32.
    """
    import torch

    B = latents.shape[0]
    x = scheduler.scale_model_input(torch.cat([latents, latents]), t)
    emb = torch.cat([uncond.expand(B, -1, -1), cond])
    with torch.no_grad():
        pred = sd.unet(x.to(sd.dtype), t, encoder_hidden_states=emb).sample.float()
    pred_uncond, pred_text = pred.chunk(2)
    g = guidance.to(latents.device, torch.float32).view(B, 1, 1, 1)
    return pred_uncond + g * (pred_text - pred_uncond)


def step(scheduler, noise_pred, t, latents, generators):
    """One scheduler step; stochastic schedulers draw from each item's own generator."""
    import inspect

    kw = {}
    if "generator" in inspect.signature(scheduler.step).parameters:
        kw["generator"] = list(generators)
    return scheduler.step(noise_pred, t, latents, **kw).prev_sample
