"""``semtool mix IMAGESET -o hybrids.h5``: hybrid images toward other classes (MagicMix,
SGID img2img, mixup, CutMix)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from semtool.cli._common import DeviceOpt, ForceOpt, OutputOpt, ResumeOpt, SeedOpt, complete, guarded, wrote

METHODS = {
    "magicmix": "MagicMix (Liew et al. 2022): layout of the image, content of the target prompt",
    "sgid": "SGID (Li, Xu, Wang 2023): img2img toward the image's own caption and label (needs --captions)",
    "mixup": "pixel blend toward a random image of the target class (no model)",
    "cutmix": "a box from a random image of the target class (no model)",
}


@guarded
def mix(
    imageset: Annotated[Path, typer.Argument(help="imageset file (images, labels, classes; groups for --targets group).",
                                             show_default=False)],
    output: OutputOpt,
    method: Annotated[str, typer.Option("--method", autocompletion=complete("mix --method"), help="How hybrids are made: " + "; ".join(
        f"{k}: {v}" for k, v in METHODS.items()) + ".")] = "magicmix",
    factor: Annotated[float, typer.Option("--factor", help="Mix factor in [0, 1], the target's share: MagicMix ν "
                                          "(0.5 'low', 0.75 'high'); mixup/CutMix λ.")] = 0.5,
    targets: Annotated[str, typer.Option("--targets", help="Target classes of each image: 'group' (the other classes "
                                         "of its semantic group), 'all', or CLASS,CLASS,...")] = "group",
    per_image: Annotated[Optional[int], typer.Option("--per-image", help="Sample this many of each image's targets "
                                                     "(seeded; default: all).", show_default=False)] = None,
    prompt_template: Annotated[str, typer.Option("--prompt-template", help="MagicMix prompt of a target class ('{}' "
                                                 "= its name, underscores as spaces); the bare name by default, as "
                                                 "Abreu, Vaska, Helus (2023) prompt with the fine class name.")] = "{}",
    kmin: Annotated[float, typer.Option("--kmin", help="MagicMix: end of the layout phase, a fraction of the steps.")] = 0.3,
    kmax: Annotated[float, typer.Option("--kmax", help="MagicMix: start (noise level) as a fraction of the steps; "
                                        "only the last kmax·steps steps run.")] = 0.6,
    steps: Annotated[int, typer.Option("--steps", help="Sampling steps of the schedule (≥ 2).")] = 50,
    guidance: Annotated[float, typer.Option("--guidance", help="MagicMix classifier-free guidance scale.")] = 7.5,
    scheduler: Annotated[str, typer.Option("--scheduler", help="ddim, ddpm, euler, euler-ancestral, lms, dpm or "
                                           "unipc (schedulers with one timestep per step; pndm/heun/kdpm2 refused).")] = "ddim",
    variant: Annotated[str, typer.Option("--variant", help="MagicMix variant: 'diffusers' reproduces the diffusers "
                                         "community pipeline bit for bit (the mix is only what the UNet sees; "
                                         "\"the MagicMix pipeline\" of Abreu, Vaska, Helus 2023); 'paper' carries "
                                         "the mixed latent forward as Liew et al. (2022) write.")] = "diffusers",
    generator: Annotated[str, typer.Option("--generator", help="MagicMix random draws: 'item' (each (image, target) "
                                           "its own streams from --seed); 'community' (the community pipeline's: the "
                                           "VAE sample from torch's global generator, then torch.manual_seed(--seed) "
                                           "before the one noise, so the images of a seeded loop over it can be "
                                           "regenerated, all but a session's first call; --variant diffusers, "
                                           "deterministic schedulers; the pipeline's own default seed is 42)."
                                           )] = "item",
    model: Annotated[str, typer.Option("--model", help="Stable Diffusion 1.x: a Hugging Face id (from the local "
                                       "cache or the network) or a diffusers folder with unet/, vae/, "
                                       "text_encoder/, tokenizer/, scheduler/.")] = "stable-diffusion-v1-5/stable-diffusion-v1-5",
    size: Annotated[str, typer.Option("--size", help="Model resolution: images are resized to size×size before "
                                      "encoding, or with 'native' encoded at their own size rounded down to a "
                                      "multiple of the VAE's factor (as the community MagicMix pipeline encodes "
                                      "what it is given); hybrids are stored at the dataset's resolution.")] = "512",
    keep_full_size: Annotated[bool, typer.Option("--keep-full-size", help="Also store the hybrids at model "
                                                 "resolution (full_size_images).")] = False,
    dtype: Annotated[str, typer.Option("--dtype", help="Network precision: auto (fp16 on CUDA, fp32 otherwise), "
                                       "fp32, bf16, fp16 (GPU only). Scheduler maths stays fp32.")] = "auto",
    device: DeviceOpt = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", help="(image, target) items per UNet call (CFG doubles "
                                            "it); another size may change a pixel by ±1 (float rounding), "
                                            "nothing more.")] = 8,
    captions: Annotated[Optional[Path], typer.Option("--captions", help="SGID: the captions file of IMAGESET "
                                                     "(from 'semtool caption').", show_default=False)] = None,
    strength: Annotated[float, typer.Option("--strength", help="SGID: img2img strength (share of the schedule run).")] = 0.3,
    label_weight: Annotated[float, typer.Option("--label-weight", help="SGID: weight of the label's tokens, applied "
                                                "by the compel library (w > 1: e∅ + w·(e − e∅)).")] = 1.5,
    caption_weight: Annotated[float, typer.Option("--caption-weight", help="SGID: weight of the caption's tokens, "
                                                  "applied by compel (w < 1: also faded toward the prompt with the "
                                                  "caption masked out). The guidance per image is the captions "
                                                  "file's f(s) = −4s² + 2s + 1, kept as the replication writes it "
                                                  "although its text says the opposite trend: on raw CLIP cosines "
                                                  "f falls (1.25–1.1) as s rises.")] = 0.9,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Make only the first N items (trials).",
                                                 show_default=False)] = None,
    seed: SeedOpt = 0,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
) -> None:
    """Make hybrid images of IMAGESET and write a 'hybrids' file for 'semtool train --hybrids'.

    Every random draw of a hybrid comes from --seed and its (image, target) pair (with
    --generator community: from --seed, as the community MagicMix pipeline draws), not from
    the order, the batch, a --resume or the number of torchrun processes (a resumed run is
    bit-identical; another --batch-size may differ in a float's last bit, i.e. ±1 on rare
    pixels). Runs resume after a crash (--resume); 'torchrun --nproc-per-node N -m semtool
    mix ...' shards the items across processes and combines them into one file. Examples:

      semtool mix cifar_regrouped.h5 -o hybrids_high.h5 --factor 0.75 --dtype fp16

      semtool mix fmnist.h5 -o mixup.h5 --method mixup --targets all --per-image 2
    """
    params: dict[str, Any] = {k: v for k, v in locals().items() if k not in ("imageset", "output")}
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()}
    if method not in METHODS:
        from semtool.errors import UserError

        raise UserError(f"--method {method}: choose one of {', '.join(METHODS)}")
    common = dict(seed=seed, limit=limit, batch_size=batch_size, force=force, resume=resume, parameters=params)
    path = _RUNNERS[method](imageset, output, params, common)
    if path is not None:
        from semtool import _runtime, store

        if _runtime.ranks().main:
            wrote(path, f"{store.length_of(path, 'hybrids', 'base_labels'):,} {method} hybrids")


# --method -> the generator that makes the hybrids, given the file paths, the options and
# the settings every generator shares (seed, limit, batch size, force, resume, parameters).
def _baseline(imageset: Path, output: Path, o: dict[str, Any], common: dict[str, Any]) -> Path | None:
    from semtool.generate import baselines

    return baselines.mix(imageset, output, method=o["method"], factor=o["factor"], targets=o["targets"],
                         per_image=o["per_image"], **common)


def _magicmix(imageset: Path, output: Path, o: dict[str, Any], common: dict[str, Any]) -> Path | None:
    from semtool.generate import magicmix

    return magicmix.mix(imageset, output, model=o["model"], factor=o["factor"], targets=o["targets"],
                        per_image=o["per_image"], prompt_template=o["prompt_template"], kmin=o["kmin"],
                        kmax=o["kmax"], steps=o["steps"], guidance=o["guidance"], scheduler=o["scheduler"],
                        variant=o["variant"], generator=o["generator"], size=o["size"], keep_full_size=o["keep_full_size"], dtype=o["dtype"],
                        device=o["device"], **common)


def _sgid(imageset: Path, output: Path, o: dict[str, Any], common: dict[str, Any]) -> Path | None:
    from semtool.generate import sgid

    captions = Path(o["captions"]) if o["captions"] is not None else None
    return sgid.mix(imageset, output, captions=captions, model=o["model"], strength=o["strength"], steps=o["steps"],
                    scheduler=o["scheduler"], label_weight=o["label_weight"], caption_weight=o["caption_weight"],
                    size=o["size"], keep_full_size=o["keep_full_size"], dtype=o["dtype"], device=o["device"],
                    **common)


_RUNNERS = {"magicmix": _magicmix, "sgid": _sgid, "mixup": _baseline, "cutmix": _baseline}


def register(app: typer.Typer) -> None:
    app.command("mix")(mix)
