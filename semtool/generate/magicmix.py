"""MagicMix hybrids: a base image's layout with a target class's content (Liew et al. 2022).

Encode the base image to latents x₀ and, with T steps and timesteps t₀ > t₁ > … > t_{T−1},
start at index ``s = T − int(kmax·T)`` from ``z = √ᾱ·x₀ + √(1−ᾱ)·ε`` (x₀ noised to t_s).
Each step denoises with classifier-free guidance toward the target prompt,
``ε̂ = ε(z, ∅) + g·(ε(z, c) − ε(z, ∅))``. Until index ``e = T − int(kmin·T)`` (the
*layout phase*) the latents are mixed with the layout noised to the same timestep,
``ν·z + (1 − ν)·x_t``; after it (the *content phase*) denoising is plain. Decode.

Two variants (``--variant``):

* ``diffusers`` (default; the diffusers community ``MagicMixPipeline``, bit for bit): at
  indices s < i < e the mix ν·z + (1 − ν)·x_{t_i} (x_{t_i} noised with the *one* initial
  noise tensor) is only what the UNet sees; the scheduler steps from the *unmixed* z.
  Abreu, Vaska, Helus (2023) made their hybrids with "the MagicMix pipeline" and a "mix
  factor", the community pipeline's parameter name, prompting with the bare class name:
  hence this default and the prompt template ``{}``.
* ``paper`` (the paper's Algorithm 1): after the step that produces z at t_{i+1} with
  i + 1 < e, z ← ν·z + (1 − ν)·q(x_{t_{i+1}} | x₀) with *fresh* noise each time; the mixed
  latent is carried forward.

Both mix at the same timesteps t_{s+1} … t_{e−1}; with kmin = kmax neither mixes and the
result is plain img2img from kmax (the layout path). The mix factor ν is ``--factor``.

Random draws (``--generator``):

* ``item`` (default): every draw comes from the item's own generator (seed, image,
  target), the VAE sample from the image's own (seed, image), so a hybrid does not depend
  on the order, the batch, a resume or the number of processes.
* ``community``: the community pipeline's own draws, so that hybrids it made can be
  regenerated. Per call it draws the VAE sample ``latent_dist.sample()`` from torch's
  global generator, then calls ``torch.manual_seed(seed)`` and draws the noise (on the
  CPU, one tensor shared by every item). Called in a loop, each call's VAE sample
  therefore comes from the state the previous call left: seeded, then one noise tensor
  drawn. semtool puts the global generator in that state before each image's VAE sample,
  which reproduces every call of such a loop except a session's first, whose VAE sample
  came from whatever state the global generator had then. The scheduler's own draws
  would come from the global generator too, so stochastic schedulers are refused here.

Image size (``--size``): images are resized (bilinear) to size×size before encoding, or
with ``native`` encoded at their own size rounded down to a multiple of the VAE's factor,
as the community pipeline does (it encodes the image it is given); hybrids are stored at
the dataset's resolution either way.

References: J. H. Liew, H. Yan, D. Zhou, J. Feng, "MagicMix: Semantic Mixing with
Diffusion Models", arXiv:2210.16056 (2022); diffusers ``examples/community/magic_mix.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from semtool.data.imageset import read_imageset
from semtool.errors import UserError
from semtool.generate import _items, _loading, _writer
from semtool.generate._step import decoded_hybrids

VARIANTS = {
    "diffusers": "the community pipeline: mix fed only to the UNet, step from unmixed latents, one noise",
    "paper": "the mixed latent is carried forward, fresh layout noise each step (Liew et al. 2022)",
}
GENERATORS = {
    "item": "each item's own random streams (seed, image, target)",
    "community": "the community pipeline's draws: VAE sample from torch's global generator, then "
                 "torch.manual_seed(seed) before the noise",
}
#: schedulers whose steps draw noise (from the global generator in the community pipeline)
STOCHASTIC_SCHEDULERS = ("ddpm", "euler-ancestral")


def phase_bounds(steps: int, kmin: float, kmax: float) -> tuple[int, int]:
    """``(s, e)``: the first step index run and the first index of the content phase
    (the community pipeline's ``tmax`` and ``tmin``)."""
    return steps - int(kmax * steps), steps - int(kmin * steps)


def check_options(*, factor: float, kmin: float, kmax: float, steps: int, variant: str = "diffusers",
                  scheduler: str = "ddim", guidance: float = 7.5, generator: str = "item") -> None:
    """Refuse impossible settings before anything is loaded."""
    if not 0.0 <= factor <= 1.0:
        raise UserError(f"--factor {factor}: the mix factor must lie in [0, 1]")
    for name, k in (("--kmin", kmin), ("--kmax", kmax)):
        if not 0.0 <= k <= 1.0:
            raise UserError(f"{name} {k}: must lie in [0, 1] (a fraction of the steps)")
    if kmin > kmax:
        raise UserError(f"--kmin {kmin} > --kmax {kmax}: the layout phase runs from kmax down to kmin")
    if steps < 2:
        raise UserError(f"--steps {steps}: need at least 2 sampling steps")
    if int(kmax * steps) < 1:
        raise UserError(f"--kmax {kmax} with --steps {steps}: runs no step (kmax·steps < 1)")
    if variant not in VARIANTS:
        raise UserError(f"--variant {variant}: choose one of {', '.join(VARIANTS)}")
    if guidance < 0:
        raise UserError(f"--guidance {guidance}: must be ≥ 0")
    _loading.check_scheduler(scheduler)
    if generator not in GENERATORS:
        raise UserError(f"--generator {generator}: choose one of {', '.join(GENERATORS)}")
    if generator == "community":
        if variant != "diffusers":
            raise UserError(f"--generator community: the community pipeline's draws exist for --variant diffusers "
                            f"only, not --variant {variant}")
        if scheduler in STOCHASTIC_SCHEDULERS:
            raise UserError(f"--generator community with --scheduler {scheduler}: its steps would draw from torch's "
                            "global generator in the community pipeline, which is not reproduced; use a "
                            "deterministic scheduler (ddim, euler, lms, dpm, unipc)")


def community_draws(sd: _loading.StableDiffusion, pixels, seed: int):
    """The community pipeline's two draws for one image ``pixels`` (1, 3, h, w) in [0, 1].

    Returns the layout latents (1, 4, h/f, w/f) float32 and the noise of the same shape
    (see the module docstring): the global generator is put where a previous call of the
    pipeline leaves it, the VAE sample is drawn from it (on the VAE's device, in its dtype,
    by ``latent_dist.sample()`` as the pipeline does), then ``torch.manual_seed(seed)`` and
    the noise ``torch.randn`` on the CPU. The pipeline's noise shape
    ``(1, in_channels, h // 8, w // 8)`` is this latent shape (8: Stable Diffusion's VAE factor).
    """
    import torch

    shape = (1, sd.unet.config.in_channels, pixels.shape[-2] // sd.vae_factor, pixels.shape[-1] // sd.vae_factor)
    torch.manual_seed(seed)
    torch.randn(shape)
    with torch.no_grad():  # the pipeline's literal 0.18215 is Stable Diffusion 1.x's scaling factor
        latents = sd.scaling_factor * sd.vae.encode((pixels * 2 - 1).to(sd.dtype)).latent_dist.sample()
    torch.manual_seed(seed)
    noise = torch.randn(shape)
    return latents.float(), noise.to(sd.device)


def _noise(generators, shape, device):
    import torch

    return torch.cat([torch.randn((1,) + tuple(shape), generator=g) for g in generators]).to(device)


def magicmix_latents(sd: _loading.StableDiffusion, scheduler, x0, cond, uncond, guidance, generators, *,
                     factor: float, kmin: float, kmax: float, steps: int, variant: str = "diffusers", noise=None):
    """MagicMix for a batch of items, in latent space.

    Parameters
    ----------
    x0 : (B, 4, h, w) float32 layout latents (already scaled); cond : (B, L, D) target prompt
    embeddings; uncond : (1, L, D) empty-prompt embedding; guidance : (B,) float32;
    generators : B CPU generators, one per item. ``scheduler`` has ``steps`` timesteps set.
    noise : (B, 4, h, w) float32 initial noise (default: drawn from ``generators``).

    Returns
    -------
    (B, 4, h, w) float32 final latents.
    """
    ts = scheduler.timesteps
    s, e = phase_bounds(steps, kmin, kmax)
    shape = x0.shape[1:]
    if noise is None:
        noise = _noise(generators, shape, x0.device)
    latents = scheduler.add_noise(x0, noise, ts[s].reshape(1))
    for i in range(s, steps):
        t = ts[i]
        unet_in = latents
        if variant == "diffusers" and s < i < e:
            unet_in = factor * latents + (1 - factor) * scheduler.add_noise(x0, noise, t.reshape(1))
        eps = _loading.guided_noise(sd, scheduler, unet_in, t, cond, uncond, guidance)
        latents = _loading.step(scheduler, eps, t, latents, generators)
        if variant == "paper" and i + 1 < e:
            fresh = _noise(generators, shape, x0.device)
            latents = factor * latents + (1 - factor) * scheduler.add_noise(x0, fresh, ts[i + 1].reshape(1))
    return latents


class LatentCache:
    """Layout latents per source image: one VAE encode per image, shared by its targets
    (also across a batch boundary). With ``community`` draws, the cache also holds the
    noise (the same for every item) and the VAE sample is the community pipeline's."""

    def __init__(self, sd: _loading.StableDiffusion, images: np.ndarray, hw: tuple[int, int], seed: int, *,
                 community: bool = False):
        self.sd, self.images, self.hw, self.seed, self.community = sd, images, hw, seed, community
        self.cache: dict[int, Any] = {}
        self.encodes = 0
        self.noise = None

    def get(self, image_indices: np.ndarray):
        import torch

        wanted = list(dict.fromkeys(int(i) for i in image_indices))
        need = [i for i in wanted if i not in self.cache]
        for i in need:  # one at a time: an image's latents never depend on its batch mates
            pix = _loading.images_to_tensor(self.images[i:i + 1], self.hw, self.sd.device)
            if self.community:
                self.cache[i], self.noise = community_draws(self.sd, pix, self.seed)
            else:
                gen = _items.torch_generator(self.seed, i, _items.IMAGE_STREAM)
                self.cache[i] = _loading.encode_images(self.sd, pix, [gen])
            self.encodes += 1
        last = wanted[-1]
        self.cache = {i: v for i, v in self.cache.items() if i in wanted or i == last}
        return torch.cat([self.cache[int(i)] for i in image_indices])

    def community_noise(self, batch: int):
        """The community noise for a batch of ``batch`` items (None with item draws)."""
        if not self.community:
            return None
        return self.noise.expand(batch, -1, -1, -1)  # set by the first encode, in get()


def mix(imageset: str | os.PathLike, output: str | os.PathLike, *, model: str = _loading.DEFAULT_SD,
        factor: float = 0.5, targets: str = "group", per_image: int | None = None,
        prompt_template: str = "{}", kmin: float = 0.3, kmax: float = 0.6, steps: int = 50,
        guidance: float = 7.5, scheduler: str = "ddim", variant: str = "diffusers", generator: str = "item",
        size: int | str = 512,
        keep_full_size: bool = False, dtype: str = "auto", device: str = "auto", batch_size: int = 8,
        seed: int = 0, limit: int | None = None, force: bool = False, resume: bool = False,
        parameters: dict[str, Any] | None = None, command: str = "mix") -> Path:
    """Write a ``hybrids`` file of MagicMix hybrids of ``imageset`` (see the module docstring).

    Each item (image i, target class t) gets the prompt ``prompt_template`` with t's name;
    batches of ``batch_size`` items share one UNet call per step (guidance batched).
    """
    import torch

    check_options(factor=factor, kmin=kmin, kmax=kmax, steps=steps, variant=variant, scheduler=scheduler,
                  guidance=guidance, generator=generator)
    size = _loading.parse_size(size)
    _items.prompt_for("x", prompt_template)
    ims = read_imageset(imageset)
    items = _items.make_items(ims, targets, per_image=per_image, seed=seed, limit=limit)
    _writer.precheck(output, force=force, resume=resume, batch_size=batch_size, inputs=[imageset])
    sd, dev = _loading.open_stable_diffusion(model, device=device, dtype=dtype, scheduler=scheduler, size=size,
                                             steps=steps)
    used = sorted(set(items[:, 1].tolist()))
    emb = _loading.embed_prompts(sd, [_items.prompt_for(ims.classes[c], prompt_template) for c in used] + [""])
    by_class = {c: k for k, c in enumerate(used)}
    uncond = emb[-1:]
    hw = sd.encode_hw(size, ims.input_size)
    cache = LatentCache(sd, ims.images, hw, seed, community=generator == "community")

    def make_batch(rows: np.ndarray) -> dict[str, np.ndarray]:
        its = items[rows]
        x0 = cache.get(its[:, 0])
        cond = emb[[by_class[int(t)] for t in its[:, 1]]]
        g = torch.full((len(its),), float(guidance))
        noise = cache.community_noise(len(its))
        return decoded_hybrids(
            sd, ims, its, seed,
            lambda gens: magicmix_latents(sd, sd.new_scheduler(steps, scheduler), x0, cond, uncond, g, gens,
                                          factor=factor, kmin=kmin, kmax=kmax, steps=steps, variant=variant,
                                          noise=noise),
            keep_full_size=keep_full_size)

    layout = _writer.hybrids_layout(
        ims, items, method="magicmix", factor=factor, model=model, full_size=hw if keep_full_size else None,
        attrs={"variant": variant, "generator": generator, "kmin": kmin, "kmax": kmax, "steps": steps, "guidance": guidance,
               "scheduler": scheduler, "size": size, "seed": seed, "prompt_template": prompt_template})
    with torch.inference_mode():
        return _writer.run(output, layout, make_batch, batch_size=batch_size, force=force, resume=resume,
                           command=command, parameters=parameters or {}, inputs=[imageset],
                           description=f"mix ({variant})")
