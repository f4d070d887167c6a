"""Tiny randomly initialised Stable Diffusion / BLIP / CLIP folders, built from configs and
saved with ``save_pretrained`` so that the code under test loads them through the same
``from_pretrained(folder, subfolder=...)`` path a user's model id takes."""

from __future__ import annotations

import json
from pathlib import Path

MAX_LEN = 32  # tokenizer model_max_length (real CLIP: 77)


def _clip_tokenizer(folder: Path):
    """A CLIP byte-level BPE tokenizer whose vocabulary is written here: every byte
    character alone and as a word end (``x</w>``), a few merges, and the two specials."""
    from transformers import CLIPTokenizer

    # GPT-2's byte -> printable character table (what byte-level BPE vocabularies use)
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    extra = [b for b in range(256) if b not in keep]
    chars = [chr(b) for b in keep] + [chr(256 + k) for k in range(len(extra))]
    merges = ["a t", "a t</w>", "c at</w>", "d o", "do g</w>", "p h", "ph o", "pho t", "phot o</w>"]
    tokens = chars + [c + "</w>" for c in chars] + [m.replace(" ", "") for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = CLIPTokenizer(vocab=vocab, merges=[tuple(m.split()) for m in merges], model_max_length=MAX_LEN)
    tok.save_pretrained(str(folder))
    return tok


def build_stable_diffusion(root: Path, seed: int = 0) -> Path:
    """unet/ vae/ text_encoder/ tokenizer/ scheduler/ under ``root`` (32-d text, 16 px)."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tok = _clip_tokenizer(root / "tokenizer")
    torch.manual_seed(seed)
    UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8,
    ).save_pretrained(str(root / "unet"))
    AutoencoderKL(
        in_channels=3, out_channels=3, block_out_channels=(8, 16), layers_per_block=1, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=8, sample_size=16,
    ).save_pretrained(str(root / "vae"))
    CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        max_position_embeddings=MAX_LEN, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )).save_pretrained(str(root / "text_encoder"))
    DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                  set_alpha_to_one=False, steps_offset=1).save_pretrained(str(root / "scheduler"))
    return root


WORDS = ["a", "the", "picture", "photo", "of", "cat", "dog", "on", "grass", "red", "blue", "car", "sitting",
         "with", "and", "in", "bus", "truck", "."]


def build_blip(root: Path, seed: int = 0) -> Path:
    """BlipForConditionalGeneration + BlipProcessor (BERT word-piece vocabulary written here)."""
    import torch
    from transformers import (BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor,
                              BlipProcessor)

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    tok = BertTokenizer(vocab=vocab, bos_token="[DEC]", model_max_length=32)
    proc = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 16, "width": 16}), tokenizer=tok)
    torch.manual_seed(seed)
    model = BlipForConditionalGeneration(BlipConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=37, max_position_embeddings=64, bos_token_id=vocab["[DEC]"],
                         pad_token_id=vocab["[PAD]"], sep_token_id=vocab["[SEP]"], eos_token_id=vocab["[SEP]"]),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                           image_size=16, patch_size=8),
    ))
    model.save_pretrained(str(root))
    proc.save_pretrained(str(root))
    return root


def build_clip(root: Path, seed: int = 0) -> Path:
    """CLIPModel + CLIPProcessor (the CLIP tokenizer above)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tok = _clip_tokenizer(root / "_tok")
    proc = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 16},
                                                            crop_size={"height": 16, "width": 16}), tokenizer=tok)
    torch.manual_seed(seed)
    model = CLIPModel(CLIPConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_attention_heads=4,
                         num_hidden_layers=2, max_position_embeddings=MAX_LEN, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                           image_size=16, patch_size=8),
        projection_dim=16,
    ))
    model.save_pretrained(str(root))
    proc.save_pretrained(str(root))
    return root
