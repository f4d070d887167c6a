"""SGID: guidance from the CLIP score, weighted prompt embeddings, per-sample guidance,
captions, against formulas and plain loops written here."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from semtool.data.imageset import read_imageset
from semtool.generate import _items, _loading, sgid


def test_guidance_formula():
    # f(s) = −4s² + 2s + 1: 1 at s = 0, its maximum 1.25 at s = 0.25, back to 1 at s = 0.5
    np.testing.assert_allclose(sgid.guidance_from_score([0.0, 0.25, 0.5]), [1.0, 1.25, 1.0])


@pytest.fixture(scope="module")
def sd(sd_folder):
    import torch

    return _loading.load_stable_diffusion(str(sd_folder), device=torch.device("cpu"), dtype=torch.float32)


def test_prompt_fragments_make_the_whole_prompt(sd):
    tok = sd.tokenizer
    frags, w = sgid.prompt_fragments(tok, "a cat on grass", "red bus", caption_weight=0.9, label_weight=1.5)
    assert frags == ["a cat on grass", ". A picture of", "red bus"] and w == [0.9, 1.0, 1.5]
    joined = sum((tok(f, add_special_tokens=False).input_ids for f in frags), [])
    assert joined == tok("a cat on grass. A picture of red bus", add_special_tokens=False).input_ids
    # a caption longer than the encoder loses words at its end; the label stays whole
    words = ("a red dog " * 40).split()
    long, _ = sgid.prompt_fragments(tok, " ".join(words), "cat", caption_weight=0.9, label_weight=1.5)
    count = lambda fs: sum(len(tok(f, add_special_tokens=False).input_ids) for f in fs)  # noqa: E731
    kept = long[0].split()
    assert long[-1] == "cat" and kept == words[:len(kept)] and count(long) <= tok.model_max_length - 2
    one_more = [" ".join(words[:len(kept) + 1])] + long[1:]
    assert count(one_more) > tok.model_max_length - 2  # no word to spare
    assert sgid.prompt_fragments(tok, "", "cat", caption_weight=0.9, label_weight=1.5) == (
        [". A picture of", "cat"], [1.0, 1.5])


@pytest.mark.parametrize("caption_weight, label_weight", [(0.9, 1.5), (1.5, 0.9), (1.0, 1.5), (0.9, 1.0)])
def test_weighted_embeddings_equal_compels(sd, caption_weight, label_weight):
    # the reference: compel itself, given the prompt in its own syntax, "(caption)w. A picture of (label)w"
    import torch
    from compel import Compel

    tok, te = sd.tokenizer, sd.text_encoder
    pairs = [("a dog on grass", "cat"), ("grass", "red bus")]
    got = sgid.weighted_embeddings(sd, [c for c, _ in pairs], [lab for _, lab in pairs],
                                   caption_weight=caption_weight, label_weight=label_weight)
    compel = Compel(tokenizer=tok, text_encoder=te)
    for b, (cap, lab) in enumerate(pairs):
        ref = compel(f"({cap}){caption_weight}. A picture of ({lab}){label_weight}")[0]
        torch.testing.assert_close(got[b], ref, rtol=0, atol=0)
        # compel's rules restated: ê = e∅ + w·(e − e∅) per token (w ≠ 1); a fragment with
        # w < 1 is then also faded toward the prompt with that fragment masked out of the
        # attention, by τ = tan((1 − w)·π/2)
        pad = dict(padding="max_length", max_length=tok.model_max_length, return_tensors="pt")
        ids = tok(f"{cap}. A picture of {lab}", **pad).input_ids
        n_cap = len(tok(cap, add_special_tokens=False).input_ids)
        n_mid = len(tok(". A picture of", add_special_tokens=False).input_ids)
        n_lab = len(tok(lab, add_special_tokens=False).input_ids)
        spans = {"cap": slice(1, 1 + n_cap), "lab": slice(1 + n_cap + n_mid, 1 + n_cap + n_mid + n_lab)}
        w = torch.ones(ids.shape[1])
        for key, weight in (("cap", caption_weight), ("lab", label_weight)):
            w[spans[key]] = weight
        e0 = te(tok("", **pad).input_ids)[0][0]

        def up(mask):
            e = te(ids, attention_mask=mask)[0][0]
            return e0 + w[:, None] * (e - e0)

        full = torch.ones_like(ids)
        parts, lerp = [up(full)], [1.0]
        for key, weight in (("cap", caption_weight), ("lab", label_weight)):
            if weight < 1:
                mask = full.clone()
                mask[0, spans[key]] = 0
                parts.append(up(mask))
                lerp.append(float(np.tan((1 - weight) * np.pi / 2)))
        formula = sum(p * (k / sum(lerp)) for p, k in zip(parts, lerp))
        torch.testing.assert_close(got[b], formula, rtol=1e-5, atol=1e-5)


def test_per_sample_guidance_equals_separate_scalar_runs(sd):
    import torch

    torch.manual_seed(0)
    x0 = torch.randn(3, 4, 8, 8)
    cond = torch.randn(3, sd.tokenizer.model_max_length, 32)
    uncond = _loading.embed_prompts(sd, [""])
    scales = [1.0, 1.25, 3.0]
    gens = lambda k: [_items.torch_generator(0, k, 0)]  # noqa: E731
    batched = sgid.img2img_latents(sd, sd.new_scheduler(10), x0, cond, uncond, torch.tensor(scales),
                                   [_items.torch_generator(0, k, 0) for k in range(3)], strength=0.5, steps=10)
    for k, g in enumerate(scales):
        # the plain way: one image, a scalar guidance scale
        sched = sd.new_scheduler(10)
        z = sched.add_noise(x0[k:k + 1], torch.randn((1, 4, 8, 8), generator=gens(k)[0]), sched.timesteps[5])
        emb = torch.cat([uncond, cond[k:k + 1]])
        for t in sched.timesteps[5:]:
            pu, pt = sd.unet(torch.cat([z, z]), t, encoder_hidden_states=emb).sample.chunk(2)
            z = sched.step(pu + g * (pt - pu), t, z).prev_sample
        torch.testing.assert_close(batched[k:k + 1], z, rtol=1e-4, atol=1e-4)


def test_captions_file(blip_folder, clip_folder, grouped_imageset, tmp_path):
    import torch
    from transformers import CLIPModel, CLIPProcessor

    outs = []
    for bs in (1, 3):
        out = tmp_path / f"c{bs}.h5"
        sgid.caption(grouped_imageset, out, blip=str(blip_folder), clip=str(clip_folder), beams=3, samples=2,
                     device="cpu", dtype="fp32", batch_size=bs, limit=3, max_new_tokens=8)
        with h5py.File(out) as f:
            outs.append({k: f[k][...] for k in ("candidates", "scores", "best", "best_score", "guidance")})
    a, b = outs
    assert a["candidates"].shape == (3, 5)
    np.testing.assert_array_equal(a["candidates"], b["candidates"])  # sampling seeded per image
    np.testing.assert_allclose(a["scores"], b["scores"], atol=1e-5)
    best = a["scores"].argmax(1)
    np.testing.assert_array_equal(a["best"], a["candidates"][np.arange(3), best])
    np.testing.assert_allclose(a["guidance"], -4 * a["best_score"] ** 2 + 2 * a["best_score"] + 1, rtol=1e-6)
    # CLIP cosine recomputed with the model's own forward: logits_per_image / logit_scale
    model = CLIPModel.from_pretrained(clip_folder).eval()
    proc = CLIPProcessor.from_pretrained(clip_folder)
    images = read_imageset(grouped_imageset).images[:3]
    with torch.no_grad():
        for i in range(3):
            texts = [c.decode() if isinstance(c, bytes) else c for c in a["candidates"][i]]
            o = model(**proc(text=texts, images=[images[i]], return_tensors="pt", padding=True))
            cos = (o.logits_per_image / model.logit_scale.exp())[0].numpy()
            np.testing.assert_allclose(a["scores"][i], cos, atol=1e-5)
