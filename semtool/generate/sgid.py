"""SGID: caption-guided img2img augmentation (Li, Xu, Wang 2023).

1. **Captions** (``semtool caption``): BLIP writes ``beams`` captions by beam search and
   ``samples`` by nucleus sampling (top-p) for each image; CLIP scores every candidate by the
   image–text cosine s; the best candidate is kept with its score and the guidance scale
   ``f(s) = −4s² + 2s + 1`` (largest, 1.25, at s = 0.25). The formula is kept as the
   replication writes it, although its text and formula disagree: the text says a higher
   similarity gives a higher guidance, but on raw CLIP image–text cosines (about
   0.25–0.45 for a fitting caption) f gives 1.25–1.1 and *falls* as s rises.
2. **Img2img** (``semtool mix --method sgid``): Stable Diffusion img2img at strength 0.3 with
   the prompt ``"<caption>. A picture of <label>"``, each image at its own guidance f(s).

Token weighting goes through the compel library itself (the prompt
``"(<caption>)0.9. A picture of (<label>)1.5"`` in its syntax, handed to it as weighted
fragments so that a caption's own brackets are never read as syntax). Its rules: with e
the text-encoder output of the prompt and e∅ that of the empty prompt, a weight w ≠ 1 on
token k gives ``ê[k] = e∅[k] + w·(e[k] − e∅[k])``; a fragment of weight w < 1 (the caption)
is then also faded toward the prompt whose fragment is masked out of the encoder's
attention (weighted the same way), ``(ê + τ·ê_without) / (1 + τ)`` with
τ = tan((1 − w)·π/2). Captions too long
for the encoder lose words at their end so that the label always fits.

Img2img (as diffusers' ``StableDiffusionImg2ImgPipeline``): start index
``T − min(int(T·strength), T)``, x₀ noised to that timestep with the item's noise, then
guided denoising ``ε̂ = ε∅ + g_b·(ε_c − ε∅)`` with a per-sample g_b in one batch.

Reference: Z. Li, Y. Xu, X. Wang (2023), "Semantic-Guided Image Augmentation with
Pre-trained Models" (SGID).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool._runtime import resolve_device
from semtool.data.imageset import read_imageset
from semtool.errors import UserError
from semtool.generate import _items, _loading, _writer
from semtool.generate._step import decoded_hybrids

DEFAULT_BLIP = "Salesforce/blip-image-captioning-base"
DEFAULT_CLIP = "openai/clip-vit-base-patch32"
MIDDLE = ". A picture of"


def guidance_from_score(s):
    """SGID's guidance scale from the CLIP score: ``f(s) = −4s² + 2s + 1``.

    Kept as the replication writes it, although its text (higher similarity, higher
    guidance) disagrees with the formula on raw CLIP cosines (0.25–0.45: f = 1.25–1.1,
    falling as s rises).
    """
    s = np.asarray(s, dtype=np.float64)
    return -4.0 * s * s + 2.0 * s + 1.0


# ------------------------------------------------------------------------------ captions
def load_captioners(blip: str, clip: str, *, device, dtype):
    """BLIP (processor + BlipForConditionalGeneration) and CLIP (processor + CLIPModel)."""
    import transformers

    _loading.quiet_libraries()
    blip_src = _loading.model_source(blip, (), option="--blip")
    clip_src = _loading.model_source(clip, (), option="--clip")
    blip_proc = _loading.load(transformers.BlipProcessor, blip_src, blip, option="--blip")
    blip_model = _loading.load(transformers.BlipForConditionalGeneration, blip_src, blip, option="--blip")
    clip_proc = _loading.load(transformers.CLIPProcessor, clip_src, clip, option="--clip")
    clip_model = _loading.load(transformers.CLIPModel, clip_src, clip, option="--clip")
    for m in (blip_model, clip_model):
        m.to(device=device, dtype=dtype).eval().requires_grad_(False)
    return blip_proc, blip_model, clip_proc, clip_model


def _rgb(images: np.ndarray) -> list[np.ndarray]:
    return [np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im for im in images]


def caption_batch(images: np.ndarray, image_indices: Sequence[int], models, *, beams: int, samples: int,
                  top_p: float, max_new_tokens: int, prefix: str, seed: int, device, dtype) -> dict[str, np.ndarray]:
    """Candidates, CLIP scores, best caption, its score and f(score) for a batch of images.

    Beam search runs batched; each image's nucleus samples are drawn after seeding torch
    with the image's own seed, so they do not depend on the batch.
    """
    import torch

    blip_proc, blip_model, clip_proc, clip_model = models
    rgb = _rgb(images)
    kw: dict[str, Any] = {"images": rgb, "return_tensors": "pt"}
    if prefix:
        kw["text"] = [prefix] * len(rgb)
    inputs = {k: v.to(device) for k, v in blip_proc(**kw).items()}
    inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
    cands: list[list[str]] = [[] for _ in rgb]
    with torch.no_grad():
        if beams:
            out = blip_model.generate(**inputs, num_beams=beams, num_return_sequences=beams, do_sample=False,
                                      max_new_tokens=max_new_tokens)
            text = blip_proc.batch_decode(out, skip_special_tokens=True)
            for b in range(len(rgb)):
                cands[b].extend(t.strip() for t in text[b * beams:(b + 1) * beams])
        for b, i in enumerate(image_indices):
            if not samples:
                break
            torch.manual_seed(_items.item_seed(seed, int(i), _items.IMAGE_STREAM))
            one = {k: v[b:b + 1] for k, v in inputs.items()}
            out = blip_model.generate(**one, do_sample=True, top_p=top_p, top_k=0, num_beams=1,
                                      num_return_sequences=samples, max_new_tokens=max_new_tokens)
            cands[b].extend(t.strip() for t in blip_proc.batch_decode(out, skip_special_tokens=True))
        flat = [c for cs in cands for c in cs]
        ci = clip_proc(text=flat, images=rgb, return_tensors="pt", padding=True, truncation=True)
        img_f = clip_model.get_image_features(pixel_values=ci["pixel_values"].to(device, dtype))
        txt_f = clip_model.get_text_features(input_ids=ci["input_ids"].to(device),
                                             attention_mask=ci["attention_mask"].to(device))
        img_f = _features(img_f).float()
        txt_f = _features(txt_f).float()
        img_f = img_f / img_f.norm(dim=-1, keepdim=True)
        txt_f = txt_f / txt_f.norm(dim=-1, keepdim=True)
        K = beams + samples
        scores = torch.einsum("bd,bkd->bk", img_f, txt_f.view(len(rgb), K, -1)).cpu().numpy().astype(np.float32)
    best = scores.argmax(axis=1)
    best_score = scores[np.arange(len(rgb)), best]
    return {
        "candidates": np.array(cands, dtype=object),
        "scores": scores,
        "best": np.array([cands[b][k] for b, k in enumerate(best)], dtype=object),
        "best_score": best_score.astype(np.float32),
        "guidance": guidance_from_score(best_score).astype(np.float32),
    }


def _features(x):
    """transformers 5 may return a model output instead of a tensor from get_*_features."""
    if hasattr(x, "pooler_output") and not hasattr(x, "shape"):
        return x.pooler_output
    return x


def caption(imageset: str | os.PathLike, output: str | os.PathLike, *, blip: str = DEFAULT_BLIP,
            clip: str = DEFAULT_CLIP, beams: int = 10, samples: int = 10, top_p: float = 0.9,
            max_new_tokens: int = 30, prefix: str = "", dtype: str = "auto", device: str = "auto",
            batch_size: int = 16, seed: int = 0, limit: int | None = None, force: bool = False,
            resume: bool = False, parameters: dict[str, Any] | None = None, command: str = "caption") -> Path:
    """Write a ``captions`` file for ``imageset`` (see the module docstring)."""
    import h5py
    import torch

    if beams < 0 or samples < 0 or beams + samples < 1:
        raise UserError(f"--beams {beams} --samples {samples}: need at least one caption per image")
    if not 0.0 < top_p <= 1.0:
        raise UserError(f"--top-p {top_p}: must lie in (0, 1]")
    ims = read_imageset(imageset)
    if limit is not None and limit < 1:
        raise UserError(f"--limit: expected a positive count, got {limit}")
    if not len(ims.labels):
        raise UserError(f"{ims.path}: has no images to caption")
    n = len(ims.labels) if limit is None else min(limit, len(ims.labels))
    _writer.precheck(output, kind="captions", force=force, resume=resume, batch_size=batch_size,
                     inputs=[imageset])
    dev = resolve_device(device)
    dt = _loading.resolve_dtype(dtype, dev)
    models = load_captioners(blip, clip, device=dev, dtype=dt)
    K = beams + samples
    s = h5py.string_dtype("utf-8")
    layout = _writer.Layout("captions", n, {"candidates": ((K,), s), "scores": ((K,), np.float32), "best": ((), s),
                                            "best_score": ((), np.float32), "guidance": ((), np.float32)},
                            {"labels": ims.labels[:n], "classes": list(ims.classes)},
                            {"blip": blip, "clip": clip, "beams": beams, "samples": samples, "top_p": top_p,
                             "seed": seed, "images_sha256": images_digest(ims.images[:n])})

    def make_batch(rows: np.ndarray) -> dict[str, np.ndarray]:
        return caption_batch(ims.images[rows], rows, models, beams=beams, samples=samples, top_p=top_p,
                             max_new_tokens=max_new_tokens, prefix=prefix, seed=seed, device=dev, dtype=dt)

    with torch.inference_mode():
        return _writer.run(output, layout, make_batch, batch_size=batch_size, force=force, resume=resume,
                           command=command, parameters=parameters or {}, inputs=[imageset],
                           description="caption")


# ------------------------------------------------------------------- weighted prompts
def prompt_fragments(tokenizer, caption: str, label: str, *, caption_weight: float,
                     label_weight: float) -> tuple[list[str], list[float]]:
    """compel's weighted fragments of ``"<caption>. A picture of <label>"``.

    The caption loses words at its end until the whole prompt fits the encoder (start and
    end tokens included), so the label is never cut; an empty caption is left out.
    """
    room = tokenizer.model_max_length - 2
    count = lambda text: len(tokenizer(text, add_special_tokens=False).input_ids)  # noqa: E731
    words = caption.split()
    fixed = count(MIDDLE) + count(label)
    while words and count(" ".join(words)) + fixed > room:
        words.pop()
    fragments, weights = [MIDDLE, label], [1.0, float(label_weight)]
    if words:
        fragments.insert(0, " ".join(words))
        weights.insert(0, float(caption_weight))
    return fragments, weights


def weighted_embeddings(sd: _loading.StableDiffusion, captions: Sequence[str], labels: Sequence[str], *,
                        caption_weight: float = 0.9, label_weight: float = 1.5):
    """SGID's weighted prompt embeddings through compel (see the module docstring):
    ``(B, L, D)`` in the UNet's dtype, one prompt at a time (batch-independent)."""
    import torch
    from compel import EmbeddingsProvider

    provider = EmbeddingsProvider(tokenizer=sd.tokenizer, text_encoder=sd.text_encoder, device=sd.device)
    out = []
    with torch.no_grad():
        for caption, label in zip(captions, labels):
            fragments, weights = prompt_fragments(sd.tokenizer, caption, label, caption_weight=caption_weight,
                                                  label_weight=label_weight)
            out.append(provider.get_embeddings_for_weighted_prompt_fragments([fragments], [weights],
                                                                            device=sd.device))
    return torch.cat(out).to(sd.dtype)


# ------------------------------------------------------------------------------ img2img
def img2img_latents(sd: _loading.StableDiffusion, scheduler, x0, cond, uncond, guidance, generators, *,
                    strength: float, steps: int):
    """Img2img for a batch: x0 ``(B, 4, h, w)`` float32, cond ``(B, L, D)``, uncond ``(1, L, D)``,
    guidance ``(B,)`` (one scale per sample), one CPU generator per item. Returns latents."""
    import torch

    ts = scheduler.timesteps
    start = steps - min(int(steps * strength), steps)
    noise = torch.cat([torch.randn((1,) + tuple(x0.shape[1:]), generator=g) for g in generators]).to(x0.device)
    latents = scheduler.add_noise(x0, noise, ts[start].reshape(1))
    for i in range(start, steps):
        eps = _loading.guided_noise(sd, scheduler, latents, ts[i], cond, uncond, guidance)
        latents = _loading.step(scheduler, eps, ts[i], latents, generators)
    return latents


def images_digest(images: np.ndarray) -> str:
    """SHA-256 of an image stack's bytes (with its shape): ties a captions file to the
    images it describes, whichever file they are read from."""
    import hashlib

    h = hashlib.sha256(repr(tuple(images.shape)).encode())
    h.update(np.ascontiguousarray(images).data)
    return h.hexdigest()


def read_captions(path: str | os.PathLike, ims) -> tuple[list[str], np.ndarray]:
    """Best captions and guidance scales; the file must describe every image of the
    imageset ``ims``, in its order (same images when the file records their digest, else
    the same class name per image)."""
    from semtool.kinds import Captions

    caps = Captions.read(path)
    name, best, guidance = caps.path, caps.best, caps.guidance
    digest, labels, classes = caps.images_sha256, caps.labels, caps.classes
    n = len(ims.labels)
    if len(best) != n:
        raise UserError(f"{name}: {len(best)} captions for the {n} images of {ims.path}; "
                        "caption the same imageset (without --limit)")
    same = (str(digest) == images_digest(ims.images)) if digest is not None else (
        labels is None or classes is None
        or [classes[k] for k in labels] == [ims.classes[k] for k in ims.labels])
    if not same:
        raise UserError(f"{name}: captions of other images than those of {ims.path}; "
                        f"run 'semtool caption {ims.path}'")
    return best, guidance


def mix(imageset: str | os.PathLike, output: str | os.PathLike, *, captions: str | os.PathLike | None,
        model: str = _loading.DEFAULT_SD, strength: float = 0.3, steps: int = 50, scheduler: str = "ddim",
        label_weight: float = 1.5, caption_weight: float = 0.9, size: int | str = 512, keep_full_size: bool = False,
        dtype: str = "auto", device: str = "auto", batch_size: int = 8, seed: int = 0, limit: int | None = None,
        force: bool = False, resume: bool = False, parameters: dict[str, Any] | None = None,
        command: str = "mix") -> Path:
    """Write a ``hybrids`` file of SGID img2img variants (base = target = the image's class)."""
    import torch

    if captions is None:
        raise UserError("--method sgid needs --captions CAPTIONS.h5 (from 'semtool caption IMAGESET')")
    if not 0.0 < strength <= 1.0:
        raise UserError(f"--strength {strength}: must lie in (0, 1]")
    if steps < 2:
        raise UserError(f"--steps {steps}: need at least 2 sampling steps")
    if int(steps * strength) < 1:
        raise UserError(f"--strength {strength} with --steps {steps}: runs no step (steps·strength < 1)")
    _loading.check_scheduler(scheduler)
    size = _loading.parse_size(size)
    ims = read_imageset(imageset)
    best, guidance = read_captions(captions, ims)
    items = _items.own_class_items(ims, limit=limit)
    _writer.precheck(output, force=force, resume=resume, batch_size=batch_size, inputs=[imageset, captions])
    sd, dev = _loading.open_stable_diffusion(model, device=device, dtype=dtype, scheduler=scheduler, size=size,
                                             steps=steps)
    uncond = _loading.embed_prompts(sd, [""])
    hw = sd.encode_hw(size, ims.input_size)

    def make_batch(rows: np.ndarray) -> dict[str, np.ndarray]:
        its = items[rows]
        idx = its[:, 0]
        pix = _loading.images_to_tensor(ims.images[idx], hw, dev)
        x0 = _loading.encode_images(sd, pix, [_items.torch_generator(seed, int(i), _items.IMAGE_STREAM) for i in idx])
        cond = weighted_embeddings(sd, [best[i] for i in idx], [ims.classes[t].replace("_", " ") for t in its[:, 1]],
                                   caption_weight=caption_weight, label_weight=label_weight)
        return decoded_hybrids(
            sd, ims, its, seed,
            lambda gens: img2img_latents(sd, sd.new_scheduler(steps, scheduler), x0, cond, uncond,
                                         torch.from_numpy(guidance[idx]), gens, strength=strength, steps=steps),
            keep_full_size=keep_full_size)

    layout = _writer.hybrids_layout(
        ims, items, method="sgid", factor=strength, model=model, full_size=hw if keep_full_size else None,
        attrs={"strength": strength, "steps": steps, "scheduler": scheduler, "label_weight": label_weight,
               "caption_weight": caption_weight, "size": size, "seed": seed})
    with torch.inference_mode():
        return _writer.run(output, layout, make_batch, batch_size=batch_size, force=force, resume=resume,
                           command=command, parameters=parameters or {}, inputs=[imageset, captions],
                           description="sgid")
