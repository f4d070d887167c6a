"""``semtool features MODEL DATA --layers …``: activations of named layers, stored per layer."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import MODEL_HELP, DeviceOpt, ForceOpt, TrustOpt, complete, guarded, wrote


@guarded
def features(
    model: Annotated[str, typer.Argument(help=MODEL_HELP, show_default=False)],
    data: Annotated[Path, typer.Argument(help="Imageset whose images go through the model.", show_default=False)],
    layers: Annotated[str, typer.Option("--layers", help="Comma-separated layer names or patterns ('layer4', 'layer*.relu'), 'blocks' for the main stages, or 'list' to print the names and exit; 'pixels' adds the input images ([0, 1] at the data's resolution, before the model's normalisation, flattened, not pooled) as the first layer, the pixel baseline of Dharmaretnam & Fyshe (2018).")] = "blocks",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Features file to write (needed unless --layers list).")] = None,
    pool: Annotated[str, typer.Option("--pool", autocompletion=complete("features --pool"), help="Reduce each output to one vector per image: mean or max over the spatial positions of (N, C, H, W) maps or the tokens of (N, T, D) outputs, cls for the class token (token 0 of a network that prepends one: ViT, DeiT, BEiT, DINOv2, CLIP; refused for a layer without tokens and for a network without a class token, such as Swin), or none to keep (N, C, H, W) / (N, T, D).")] = "mean",
    fp16: Annotated[bool, typer.Option("--fp16", help="Store float16 (half the disk); computed in float32 on the CPU.")] = False,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Also write the clean predictions (logits, probabilities) from the same pass; the data's classes must be among the model's (matched by synset, else name; predictions over all the model's classes).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch (bounds the memory used).")] = 100,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N images.")] = None,
    device: DeviceOpt = "auto",
    trust_remote_code: TrustOpt = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its partial files (.NAME.partial beside -o and --predictions): the finished images are skipped and the files equal an uninterrupted run's; the same options are required (--force starts over).")] = False,
    force: ForceOpt = False,
) -> None:
    """Extract activations of named layers, batch by batch, from any model specification.

    Each layer becomes layers/<name> (N, …) in a features file with the labels and
    classes: the input of 'csm tncsm', 'rsm' and 'twovtwo'. Names ('--layers list') are
    graph nodes or modules for semtool and torchvision models, module names for Hugging
    Face and timm models; 'blocks' picks the main stages: ResNet layer1–4, convnet
    block1–3, VGG's pooling outputs, the children of 'features' (MobileNet, ConvNeXt,
    Swin), ViT encoder layers, a Hugging Face model's encoder layers (or stages), timm's
    feature stages. Images go in at their stored resolution; a pretrained network resizes
    and normalises them inside as its own preprocessing says. Token outputs stay (N, T, D)
    with --pool none. Hugging Face backbones without a classification head (DINOv2, CLIP's
    vision tower) work here, without --predictions. The rows are written batch by batch into
    partial files beside the outputs (renamed into place when all are done), so an
    interrupted run continues with --resume.
    """
    import numpy as np

    from semtool import _runtime, store
    from semtool.models.loading import in_model_classes, load_model_and_data
    from semtool.errors import UserError
    from semtool.kinds._rows import check_resume
    from semtool.models.features import PIXELS, POOLS, has_class_token, iter_features, layer_names, select_layers

    if layers.strip() == "list":
        from semtool.models import open_model

        net, _ = open_model(model, trust_remote_code=trust_remote_code)
        for name in layer_names(net):
            print(name)
        return
    if output is None:
        raise UserError("-o: give the features file to write")
    if pool not in POOLS:
        raise UserError(f"--pool: expected one of {', '.join(POOLS)}, got '{pool}'")
    if batch_size < 1:
        raise UserError(f"--batch-size: expected at least 1, got {batch_size}")
    store.check_distinct({"-o": output, "--predictions": predictions}, [("MODEL", model), ("DATA", data)])
    outputs = {output: "features", **({predictions: "predictions"} if predictions is not None else {})}
    # every option but the layers (whose names come from the model) is checked before it loads
    early = {"pool": pool, "fp16": fp16, "batch_size": batch_size, "limit": limit}
    for path, kind in outputs.items():
        store.check_output(path, force=force, kind=kind)
        check_resume(path, kind, force=force, resume=resume, parameters=early, later=("layers",))
    net, meta, images, dev = load_model_and_data(model, str(data), device, same_classes=False, limit=limit,
                                                 trust_remote_code=trust_remote_code,
                                                 needs_logits="--predictions" if predictions is not None else None)
    # the features keep the data's classes; the predictions are over the model's (a subset allowed)
    scored = in_model_classes(images, meta, str(data), model) if predictions is not None else images
    names = select_layers(net, layers)
    n = images.images.shape[0]
    params = {"layers": names, **early}

    from semtool.kinds import Grouping
    from semtool.kinds.features import FeaturesWriter
    from semtool.kinds.predictions import CleanPredictionsWriter
    from semtool._progress import progress

    with contextlib.ExitStack() as stack:
        fw = stack.enter_context(FeaturesWriter(output, n, labels=images.labels, classes=images.classes,
                                                synsets=images.synsets, pool=pool, batch_size=batch_size,
                                                force=force, parameters=params, inputs=[model, data],
                                                class_token=has_class_token(net), resume=resume))
        pw = (stack.enter_context(CleanPredictionsWriter(
            predictions, n, labels=scored.labels, classes=scored.classes, synsets=scored.synsets,
            groups=Grouping.of(scored.groups, scored.group_names),
            visual_groups=Grouping.of(scored.visual_groups, scored.visual_group_names),
            force=force, parameters=params, inputs=[model, data], resume=resume)) if predictions is not None else None)
        writers = [w for w in (fw, pw) if w is not None]
        _runtime.checkpoint = [w.rows.partial for w in writers]
        done = np.logical_and.reduce([w.done() for w in writers])
        start = int(np.argmin(done)) if not done.all() else n  # rows are done in order, whole batches
        if start:
            _runtime.log(f"resuming: {start} of {n} images already done")
        with progress(n - start, "features", unit="images") as bar:
            for s, feats, logits in iter_features(net, images.images[start:], names, pool=pool,
                                                  batch_size=batch_size, device=dev, fp16=fp16,
                                                  logits=pw is not None):
                rows = len(next(iter(feats.values())))
                fw.add(start + s, feats)
                if pw is not None:
                    pw.add(start + s, logits)
                for w in writers:
                    w.mark_done(start + s, start + s + rows)
                bar.advance(rows)
    wrote(output, f"{len(names)} layer(s) × {n} images")
    if predictions is not None:
        wrote(predictions, f"{n} clean predictions")


def register(app: typer.Typer) -> None:
    app.command("features")(features)
