"""The per-batch step the diffusion generators (MagicMix, SGID) share.

A batch of (image, target) items gets one CPU generator per item (seeded by
:func:`semtool.generate._items.item_seed`), its latents from the method's sampler, a VAE
decode, and conversion to the ``hybrids`` file's uint8 arrays.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from semtool.data.imageset import ImageSet
from semtool.generate import _items, _loading


def decoded_hybrids(sd: _loading.StableDiffusion, ims: ImageSet, items: np.ndarray, seed: int,
                    sample: Callable[[list[Any]], Any], *, keep_full_size: bool = False) -> dict[str, np.ndarray]:
    """One batch of hybrids from a latent sampler.

    ``items`` (B, 2) = (image index, target class); ``sample(generators)`` gets one CPU
    ``torch.Generator`` per item and returns latents (B, 4, h, w). Returns ``images``
    (B, H, W, C) uint8 at the imageset's size and channels and, with ``keep_full_size``,
    ``full_size_images`` at the resolution the VAE decodes to (``--size``).
    """
    generators = [_items.torch_generator(seed, int(i), int(t)) for i, t in items]
    img = _loading.decode_latents(sd, sample(generators))
    out = {"images": _loading.to_uint8(img, ims.input_size, ims.channels)}
    if keep_full_size:
        out["full_size_images"] = _loading.to_uint8(img, None, ims.channels)
    return out
