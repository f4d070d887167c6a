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


def test_weighted_tokens_match_the_whole_prompt(sd):
    tok = sd.tokenizer
    ids, w = sgid.weighted_tokens(tok, "a cat on grass", "red bus", caption_weight=0.9, label_weight=1.5)
    whole = tok("a cat on grass. A picture of red bus", padding="max_length",
                max_length=tok.model_max_length, truncation=True).input_ids
    assert ids.tolist() == whole
    n_cap = len(tok("a cat on grass", add_special_tokens=False).input_ids)
    n_mid = len(tok(". A picture of", add_special_tokens=False).input_ids)
    n_lab = len(tok("red bus", add_special_tokens=False).input_ids)
    expected = [1.0] + [0.9] * n_cap + [1.0] * n_mid + [1.5] * n_lab
    expected += [1.0] * (len(ids) - len(expected))
    np.testing.assert_allclose(w, expected)
    # a caption longer than the encoder keeps the whole label
    long_ids, long_w = sgid.weighted_tokens(tok, "a red dog " * 40, "cat", caption_weight=0.9, label_weight=1.5)
    assert len(long_ids) == tok.model_max_length and (long_w == 1.5).sum() == 1


def test_weighted_embedding_equals_formula(sd):
    import torch

    tok, te = sd.tokenizer, sd.text_encoder
    got = sgid.weighted_embeddings(sd, ["a dog", "grass"], ["cat", "bus"], caption_weight=0.9, label_weight=1.5)
    for b, (cap, lab) in enumerate([("a dog", "cat"), ("grass", "bus")]):
        pad = dict(padding="max_length", max_length=tok.model_max_length, return_tensors="pt")
        e = te(tok(f"{cap}. A picture of {lab}", **pad).input_ids)[0][0]
        e0 = te(tok("", **pad).input_ids)[0][0]
        n_cap = len(tok(cap, add_special_tokens=False).input_ids)
        n_mid = len(tok(". A picture of", add_special_tokens=False).input_ids)
        n_lab = len(tok(lab, add_special_tokens=False).input_ids)
        w = torch.ones(e.shape[0])
        w[1:1 + n_cap] = 0.9
        w[1 + n_cap + n_mid:1 + n_cap + n_mid + n_lab] = 1.5
        ref = e0 + w[:, None] * (e - e0)  # ê = e∅ + w·(e − e∅)
        torch.testing.assert_close(got[b], ref, rtol=1e-5, atol=1e-5)


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
