"""``semtool attack MODEL DATA --eps …``: L2 PGD at several radii and how severe the mistakes are."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import (MODEL_HELP, DeviceOpt, ForceOpt, JsonOpt, OptionalOutputOpt, SeedOpt, TrustOpt,
                                 complete, guarded, parse_floats, print_table, wrote)

_RESUME_HELP = ("Continue an interrupted run with -o from its partial file (.NAME.partial beside it): the finished "
              "images are skipped and the random generator goes on where it stopped, so the file and the table "
              "equal an uninterrupted run's; the same options are required (--force starts over).")

_COLUMNS = ["eps", "accuracy", "superclass_accuracy", "mistake_superclass_accuracy", "mistake_visual_share"]
#: the terminal table's short headers (TSV and JSON keep the full names) and their legend
_SHORT = {
    "accuracy": ("acc", "fine accuracy"),
    "superclass_accuracy": ("super", "semantic-superclass accuracy"),
    "mistake_superclass_accuracy": ("err_super", "semantic-superclass accuracy of the mistakes"),
    "mistake_visual_share": ("err_visual", "share of mistakes inside the visual superclass (lower is better)"),
    "idm": ("idm", "IDM against --csm"),
    "target_hit_rate": ("hit", "share of images predicted as their target class"),
}


@guarded
def attack(
    model: Annotated[str, typer.Argument(help=MODEL_HELP, show_default=False)],
    data: Annotated[Path, typer.Argument(help="Imageset to attack: a semtool model's classes, or (a pretrained network) a subset of its classes, matched by synset, else name.", show_default=False)],
    eps: Annotated[str, typer.Option("--eps", help="Comma-separated L2 radii in [0, 1] pixel units; 0 is the clean evaluation.")] = "0,0.25,0.5,1",
    steps: Annotated[int, typer.Option("--steps", help="PGD steps (at least 1; ε = 0 is the clean evaluation).")] = 20,
    step_size: Annotated[Optional[float], typer.Option("--step-size", help="Step size α for every ε (default 2.5·ε/steps).")] = None,
    random_start: Annotated[bool, typer.Option("--random-start", help="Start from a point uniform in the ε-ball (radius ε·U^(1/d)).")] = False,
    use_best: Annotated[bool, typer.Option("--use-best", help="Return per image the PGD iterate with the highest loss (the start counts; a tie keeps the earlier one), as the robustness library does by default (use_best=True), instead of the last iterate, which torchattacks' PGDL2 returns and semtool by default.")] = False,
    targeted: Annotated[Optional[str], typer.Option("--targeted", autocompletion=complete("attack --targeted"), help="Targeted attack toward: random (another class), next ((y+1) mod C) or least-likely (the clean model's lowest logit).")] = None,
    csm: Annotated[Optional[Path], typer.Option("--csm", help="Reference csm file (e.g. 'csm wordnet'): also report IDM against it; classes matched by name (all the model's classes, e.g. 'csm wordnet --preset imagenet' for an ImageNet network).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.")] = 100,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Attack only the first N images.")] = None,
    output: OptionalOutputOpt = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
    trust_remote_code: TrustOpt = False,
    resume: Annotated[bool, typer.Option("--resume", help=_RESUME_HELP)] = False,
    force: ForceOpt = False,
) -> None:
    """Evaluate a model against L2 PGD (Madry et al. 2018) over a sweep of ε.

    PGD runs in [0, 1] pixel space with the model in eval mode: 20 steps of
    α·g/‖g‖₂, projection onto the ε-ball, clamp to [0, 1] (the robustness library's CIFAR
    evaluation). Per ε it prints fine accuracy, semantic-superclass accuracy, the
    superclass accuracy of the mistakes and the share of mistakes inside the visual
    superclass (Abreu, Vaska, Helus 2023), IDM with --csm, and with --targeted the
    share of images the attack drove to their target class. -o writes a predictions file
    with an ε axis (logits (E, N, C), predictions (E, N); targets (N,) when targeted). A
    pretrained network (torchvision, Hugging Face, timm) is attacked in the stored images'
    pixels, its resizing and normalisation inside the model; when the imageset holds a
    subset of its classes, mistakes count over its full output and the file's classes are
    the model's. With -o the rows are written batch by batch into a partial file beside it
    (renamed into place when done), so an interrupted run continues with --resume.
    Under 'torchrun --nproc-per-node N -m semtool attack … -o FILE' each process attacks its
    contiguous block of whole batches on its own GPU (LOCAL_RANK) into a part beside FILE;
    the first gathers the parts into FILE and prints the table. Without --random-start and
    --targeted random the file equals one process's; with them each process draws from a
    generator seeded from (--seed, its rank): a rerun gives the same numbers with the same
    --seed and number of processes, and --resume needs that number.
    """
    from semtool import _runtime, store
    from semtool.attack import check_options, sweep, sweep_to_file
    from semtool.models.loading import groupings, load_model_and_data
    from semtool.data.csmio import read_reference
    from semtool.kinds._rows import check_parts
    from semtool.kinds.predictions import AttackPredictionsWriter
    from semtool.errors import UserError

    radii = parse_floats(eps, "--eps")
    if any(e < 0 for e in radii):
        raise UserError(f"--eps: expected non-negative radii, got {eps}")
    check_options(radii, steps=steps, step_size=step_size, targeted=targeted, batch_size=batch_size)
    inputs = [model, data, *([csm] if csm else [])]
    params = {"eps": radii, "steps": steps, "step_size": step_size, "random_start": random_start,
              "targeted": targeted, "use_best": use_best, "batch_size": batch_size, "seed": seed, "limit": limit}
    r = _runtime.ranks()
    if output is not None:
        store.check_output(output, force=force, kind="predictions", inputs=inputs)
        check_parts(output, "predictions", force=force, resume=resume, parameters=params, rank=r.rank, world=r.world)
    elif r.on:
        raise UserError(f"attack under torchrun ({r.world} processes) needs -o FILE: each process attacks its "
                        "block of the images and the blocks are gathered into that file")
    elif resume:
        raise UserError("--resume: continues the file an interrupted 'attack -o FILE' left; give that -o FILE")
    net, meta, images, dev = load_model_and_data(model, str(data), device, same_classes=True, limit=limit,
                                                 trust_remote_code=trust_remote_code, needs_logits="attack")
    ref = read_reference(csm, images.classes, option="--csm")[1] if csm else None
    groups = groupings(images, meta)
    options = dict(steps=steps, step_size=step_size, random_init=random_start, targeted=targeted,
                   batch_size=batch_size, device=dev, seed=seed,
                   groups=None if groups["groups"] is None else groups["groups"].index,
                   visual_groups=None if groups["visual_groups"] is None else groups["visual_groups"].index, csm=ref,
                   use_best=use_best)
    if output is None:
        res = sweep(net, images.images, images.labels, radii, **options)
    else:
        writer = AttackPredictionsWriter(output, labels=images.labels, classes=images.classes, epsilons=radii,
                                         targeted=targeted is not None, batch_size=batch_size,
                                         synsets=images.synsets, groups=groups["groups"],
                                         visual_groups=groups["visual_groups"], force=force, resume=resume,
                                         parameters=params, inputs=inputs, attrs={"attack": "pgd-l2"})
        res = sweep_to_file(writer, net, images.images, images.labels, radii, **options)
        if res is None:
            return  # a torchrun rank but the first: rank 0 prints
    columns = _COLUMNS + (["idm"] if ref is not None else []) + (["target_hit_rate"] if targeted else [])
    rows = [[e] + [m[c] for c in columns[1:]] for e, m in zip(res.epsilons.tolist(), res.metrics)]
    print_table(rows, columns, title=f"L2 PGD ({steps} steps) on {len(res.labels)} images", as_json=as_json,
                json_obj=[{"eps": e, **m} for e, m in zip(res.epsilons.tolist(), res.metrics)],
                short={c: _SHORT[c] for c in columns if c in _SHORT})
    if output is not None:
        wrote(output, f"{len(radii)} ε × {len(res.labels)} images")


def register(app: typer.Typer) -> None:
    app.command("attack")(attack)
