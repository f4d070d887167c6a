"""``semtool caption IMAGESET -o captions.h5``: SGID captions (BLIP candidates, CLIP choice)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from semtool.cli._common import DeviceOpt, ForceOpt, OutputOpt, ResumeOpt, SeedOpt, guarded, wrote


@guarded
def caption(
    imageset: Annotated[Path, typer.Argument(help="imageset file to caption.", show_default=False)],
    output: OutputOpt,
    blip: Annotated[str, typer.Option("--blip", help="BLIP captioner: Hugging Face id or folder "
                                      "(BlipForConditionalGeneration + processor).")] = "Salesforce/blip-image-captioning-base",
    clip: Annotated[str, typer.Option("--clip", help="CLIP scorer: Hugging Face id or folder (CLIPModel + processor).")]
    = "openai/clip-vit-base-patch32",
    beams: Annotated[int, typer.Option("--beams", help="Captions by beam search (that many beams).")] = 10,
    samples: Annotated[int, typer.Option("--samples", help="Captions by nucleus sampling.")] = 10,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling mass.")] = 0.9,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Longest caption, in tokens.")] = 30,
    prefix: Annotated[str, typer.Option("--prefix", help="Conditional captioning: text every caption starts "
                                        "with (e.g. 'a picture of'); empty for unconditional.")] = "",
    dtype: Annotated[str, typer.Option("--dtype", help="auto (fp16 on CUDA, fp32 otherwise), fp32, bf16, "
                                       "fp16 (GPU only).")] = "auto",
    device: DeviceOpt = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per BLIP/CLIP call.")] = 16,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Caption only the first N images (trials; "
                                                 "'mix --method sgid' needs all).", show_default=False)] = None,
    seed: SeedOpt = 0,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
) -> None:
    """Caption every image for SGID (Li, Xu, Wang 2023) and write a 'captions' file.

    BLIP proposes --beams captions by beam search and --samples by nucleus sampling; CLIP's
    image–text cosine s scores each; the best caption is kept with s and the guidance
    scale f(s) = −4s² + 2s + 1 that 'semtool mix --method sgid --captions' uses. The
    formula is kept as written, although the replication's text and formula disagree: its
    text says a higher similarity gives a higher guidance, but on raw CLIP cosines (about
    0.25–0.45 for a fitting caption) f gives 1.25–1.1, falling as s rises.
    """
    params: dict[str, Any] = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items()
                              if k not in ("imageset", "output")}
    from semtool.generate import sgid

    path = sgid.caption(imageset, output, blip=blip, clip=clip, beams=beams, samples=samples, top_p=top_p,
                        max_new_tokens=max_new_tokens, prefix=prefix, dtype=dtype, device=device,
                        batch_size=batch_size, seed=seed, limit=limit, force=force, resume=resume, parameters=params)
    from semtool import _runtime

    if _runtime.ranks().main:
        wrote(path, "captions")


def register(app: typer.Typer) -> None:
    app.command("caption")(caption)
