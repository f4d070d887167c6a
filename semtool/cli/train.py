"""``semtool train DATA -o MODEL``: train a classifier, with hybrids and per-epoch tracking."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import DeviceOpt, ForceOpt, SeedOpt, TrustOpt, guarded, plural, wrote


@guarded
def train(
    data: Annotated[Path, typer.Argument(help="Training imageset (e.g. from 'semtool dataset').", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model file to write; the name must end in .safetensors (the one model format every command reads).", show_default=False)],
    arch: Annotated[str, typer.Option("--arch", help="'convnet' (small, fast on a CPU) or any torchvision classifier: resnet18, resnet50, mobilenet_v2, convnext_tiny, vit_b_16, …")] = "convnet",
    init: Annotated[Optional[str], typer.Option("--init", help="Fine-tune a pretrained network instead of --arch: torchvision:NAME[:WEIGHTS], a Hugging Face folder or hf:ORG/NAME, timm:NAME. It keeps its own resizing and normalisation; its head is replaced when its classes are not the data's.")] = None,
    cifar_stem: Annotated[bool, typer.Option("--cifar-stem", help="ResNets on 32×32 images: 3×3 stride-1 first convolution, no max-pool.")] = False,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs.")] = 100,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Instances per step (hybrids come on top); under torchrun the global batch.")] = 100,
    lr: Annotated[float, typer.Option("--lr", help="SGD learning rate.")] = 0.1,
    momentum: Annotated[float, typer.Option("--momentum", help="SGD momentum.")] = 0.9,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="SGD weight decay.")] = 5e-4,
    schedule: Annotated[str, typer.Option("--schedule", help="Learning-rate schedule: cosine (to 0 over the epochs) or step (÷10 at 50 % and 75 %).")] = "cosine",
    augment: Annotated[bool, typer.Option("--augment/--no-augment", help="Random crop (4-pixel zero padding) and horizontal flip, on whole batches.")] = True,
    hybrids: Annotated[Optional[list[Path]], typer.Option("--hybrids", help="Hybrids file(s) from 'semtool mix' (repeat the option for several, e.g. two mix factors); classes matched by name.")] = None,
    hybrid_prob: Annotated[float, typer.Option("--hybrid-prob", help="Probability that a training instance brings one random hybrid of its class into the batch (0.25 'low', 0.5 'high').")] = 0.25,
    hybrid_target_weight: Annotated[float, typer.Option("--hybrid-target-weight", help="A hybrid's soft label: this weight on its target class, the rest on its base class.")] = 0.5,
    eval_data: Annotated[Optional[Path], typer.Option("--eval", help="Held-out imageset evaluated after every epoch (its predictions feed the CCSM, IDM and accuracy).")] = None,
    curves: Annotated[Optional[Path], typer.Option("--curves", help="Write per-epoch curves here: loss, accuracies, SAI, IDM, WSI, NCSM/CCSM snapshots, for 'semtool plot curves' and 'plot csm'; 'semtool csm ncsm CURVES' turns the NCSM snapshots into a csm stack for 'sai' and 'wsi'.")] = None,
    track_against: Annotated[Optional[list[Path]], typer.Option("--track-against", help="Reference csm file (e.g. 'semtool csm wordnet' or 'csm groups'); repeatable. Tracks SAI(NCSM, ref), SAI(CCSM, ref) and IDM (the Inverse Dissimilarity Metric) against it, over all samples (idm/<stem>) and over the mistakes only (idm_errors/<stem>), series named by the file's stem.")] = None,
    track_every: Annotated[float, typer.Option("--track-every", help="Also track within epochs: every this fraction of an epoch (0.25: four points per epoch; 1: once, at the end). Points inside an epoch carry fractional epoch numbers and the running loss and train accuracy so far.")] = 1.0,
    label: Annotated[Optional[str], typer.Option("--label", help="Run name stored in the curves file (default: the model file's stem).")] = None,
    amp: Annotated[str, typer.Option("--amp", help="Mixed precision on CUDA: auto (bf16 where supported), bf16, fp16 or off. CPU runs in float32.")] = "auto",
    eval_batch_size: Annotated[int, typer.Option("--eval-batch-size", help="Images per batch in the eval pass.")] = 500,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint an interrupted run left beside the output (.NAME.ckpt).")] = False,
    trust_remote_code: TrustOpt = False,
    force: ForceOpt = False,
) -> None:
    """Train an image classifier; optionally add hybrids and track class similarity per epoch.

    The recipe of the semantic-mixing paper (Abreu, Vaska, Helus 2023) is the default: SGD
    (lr 0.1, momentum 0.9, weight decay 5e-4), batch 100, cosine schedule, random crop +
    flip, 100 epochs. With --hybrids, each instance adds with probability --hybrid-prob a
    random hybrid of its class, trained on a soft label. With --eval and --curves, every
    epoch records the Deep Similarity Inspector measures (Filus et al.) from the eval pass.
    A checkpoint is written after every epoch; --resume continues after a crash. Under
    'torchrun --nproc-per-node N -m semtool train …' it runs DistributedDataParallel.
    The model stores its normalisation, so it takes [0, 1] pixels; grayscale images
    train a 1-channel convnet, or a torchvision net that sees the channel repeated.
    --init fine-tunes a pretrained network (its resizing and normalisation inside, its
    head replaced for the data's classes); the model file names it, so every command
    loads the result like any semtool model.
    """
    from semtool.learn import TrainOptions
    from semtool.learn import train as run

    opts = TrainOptions(
        data=str(data), output=str(output), architecture=arch, epochs=epochs, batch_size=batch_size, lr=lr,
        momentum=momentum, weight_decay=weight_decay, schedule=schedule, augment=augment,
        hybrids=[str(p) for p in hybrids or []], hybrid_prob=hybrid_prob, hybrid_target_weight=hybrid_target_weight,
        eval=str(eval_data) if eval_data else None, curves=str(curves) if curves else None,
        track_against=[str(p) for p in track_against or []], label=label, cifar_stem=cifar_stem, seed=seed,
        device=device, amp=amp, eval_batch_size=eval_batch_size, track_every=track_every, resume=resume, force=force,
        init=init, trust_remote_code=trust_remote_code,
    )
    result = run(opts)
    if result.wrote_files:
        wrote(result.output, f"{init or arch}, {plural(epochs, 'epoch')}")
        if result.curves:
            wrote(result.curves, plural(len(result.history.get("epochs", [])), "tracking point"))


def register(app: typer.Typer) -> None:
    app.command("train")(train)
