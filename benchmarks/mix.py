"""Batched ``semtool mix`` (MagicMix) vs the community pipeline's one-image-one-target loop.

Both sides run in this process on the same tiny randomly initialised Stable Diffusion
(built from configs as the tests build it) on the CPU, with the same steps and items. The
loop side does what the diffusers community ``MagicMixPipeline`` does per call: embed the
prompt and the empty prompt, VAE-encode the image, run the UNet on a batch of 2 (CFG) at
every step, decode. The batched side is :func:`semtool.generate.magicmix.mix`: one VAE
encode per image shared by its targets, prompts embedded once, ``--batch-size`` items per
UNet call. Goal: ≥ 3× the items per second.

    python benchmarks/mix.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL = 3.0
STEPS, SIZE, BATCH = 20, 32, 24


def main() -> None:
    import torch

    from semtool import store
    from semtool.data.imageset import read_imageset
    from semtool.generate import _items, _loading, magicmix
    from semtool.generate.tiny import build_stable_diffusion

    torch.set_num_threads(max(1, torch.get_num_threads()))
    tmp = Path(tempfile.mkdtemp(prefix="semtool-bench-"))
    sd_folder = build_stable_diffusion(tmp / "sd")
    _loading.quiet_libraries()
    rng = np.random.default_rng(0)
    imageset = tmp / "ims.h5"
    with store.create(imageset, "imageset") as f:
        f["images"] = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
        f["labels"] = np.array([0, 1, 2, 3] * 2)
        store.write_strings(f, "classes", ["cat", "dog", "bus", "truck"])
    ims = read_imageset(imageset)
    items = _items.make_items(ims, "all")  # 8 images × 3 targets = 24 items
    opts = dict(factor=0.5, kmin=0.3, kmax=0.6, steps=STEPS)

    # --- batched: the library as `semtool mix` runs it
    t0 = time.perf_counter()
    magicmix.mix(imageset, tmp / "batched.h5", model=str(sd_folder), size=SIZE, batch_size=BATCH, device="cpu",
                 dtype="fp32", targets="all", guidance=7.5, **opts)
    batched = len(items) / (time.perf_counter() - t0)

    # --- loop: one image, one target per call, everything redone per call
    sd = _loading.load_stable_diffusion(str(sd_folder), device=torch.device("cpu"), dtype=torch.float32)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i, t in items.tolist():
            emb = _loading.embed_prompts(sd, [_items.prompt_for(ims.classes[t]), ""])
            pix = _loading.images_to_tensor(ims.images[i:i + 1], SIZE, sd.device)
            x0 = _loading.encode_images(sd, pix, [_items.torch_generator(0, i, _items.IMAGE_STREAM)])
            lat = magicmix.magicmix_latents(sd, sd.new_scheduler(STEPS), x0, emb[:1], emb[1:], torch.tensor([7.5]),
                                            [_items.torch_generator(0, i, t)], **opts)
            _loading.to_uint8(_loading.decode_latents(sd, lat), ims.input_size)
    loop = len(items) / (time.perf_counter() - t0)  # model loading excluded here, included above

    ratio = batched / loop
    print(f"items: {len(items)} (8 images x 3 targets), {STEPS} steps, kmax 0.6, size {SIZE}, tiny UNet, CPU "
          f"{torch.get_num_threads()} threads")
    print(f"batched (--batch-size {BATCH}, incl. model loading): {batched:.2f} items/s")
    print(f"one-image-one-target loop (model preloaded):        {loop:.2f} items/s")
    print(f"ratio: {ratio:.2f}x   goal: >= {GOAL:.0f}x   {'MET' if ratio >= GOAL else 'NOT MET'}")


if __name__ == "__main__":
    main()
