"""``semtool features MODEL DATA --layers …``: activations of named layers, stored per layer."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import DeviceOpt, ForceOpt, complete, guarded, wrote


@guarded
def features(
    model: Annotated[Path, typer.Argument(help="Model file from 'semtool train' (.safetensors).", show_default=False)],
    data: Annotated[Path, typer.Argument(help="Imageset whose images go through the model.", show_default=False)],
    layers: Annotated[str, typer.Option("--layers", help="Comma-separated layer names or patterns ('layer4', 'layer*.relu'), 'blocks' for the main stages, or 'list' to print the names and exit.")] = "blocks",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Features file to write (needed unless --layers list).")] = None,
    pool: Annotated[str, typer.Option("--pool", autocompletion=complete("features --pool"), help="Reduce each map over its spatial (or token) axes: mean, max, or none to keep (N, C, H, W).")] = "mean",
    fp16: Annotated[bool, typer.Option("--fp16", help="Store float16 (half the disk); computed in float32 on the CPU.")] = False,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Also write the clean predictions (logits, probabilities) from the same pass; the model's classes must be the data's.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch (bounds the memory used).")] = 100,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N images.")] = None,
    device: DeviceOpt = "auto",
    force: ForceOpt = False,
) -> None:
    """Extract activations of named layers (torchvision feature extraction), batch by batch.

    Each layer becomes layers/<name> (N, …) in a features file with the labels and
    classes: the input of 'csm tncsm', 'rsm' and 'twovtwo'. Names are the network's
    graph nodes or modules ('--layers list'); 'blocks' picks ResNet layer1–4, convnet
    block1–3, the children of 'features' (MobileNet, ConvNeXt, VGG) or ViT encoder layers.
    """
    import numpy as np

    from semtool import store
    from semtool.cli._models import load_model_and_data
    from semtool.errors import UserError
    from semtool.models.features import POOLS, iter_features, layer_names, select_layers

    if layers.strip() == "list":
        from semtool.models import load_model

        net, _ = load_model(str(model))
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
    store.check_output(output, force=force, kind="features")
    if predictions is not None:
        store.check_output(predictions, force=force, kind="predictions")
    net, meta, images, dev = load_model_and_data(str(model), str(data), device, same_classes=predictions is not None,
                                                 limit=limit)
    names = select_layers(net, layers)
    n = images.images.shape[0]
    params = {"layers": names, "pool": pool, "fp16": fp16, "batch_size": batch_size, "limit": limit}

    def common(f) -> None:
        f.create_dataset("labels", data=images.labels)
        store.write_strings(f, "classes", images.classes)
        if images.synsets is not None:
            store.write_strings(f, "synsets", images.synsets)

    from semtool.report.progress import progress

    with contextlib.ExitStack() as stack:
        f = stack.enter_context(store.create(output, "features", force=force, command="features", parameters=params,
                                             inputs=[model, data]))
        pf = (stack.enter_context(store.create(predictions, "predictions", force=force, command="features",
                                               parameters=params, inputs=[model, data]))
              if predictions is not None else None)
        f.attrs["pool"] = pool
        common(f)
        with progress(n, "features", unit="images") as bar:
            for start, feats, logits in iter_features(net, images.images, names, pool=pool, batch_size=batch_size,
                                                      device=dev, fp16=fp16, logits=pf is not None):
                for name, arr in feats.items():
                    key = f"layers/{name}"
                    if key not in f:
                        rows = max(1, min(batch_size, n, (1 << 20) // max(1, arr[0].nbytes)))
                        ds = f.create_dataset(key, shape=(n,) + arr.shape[1:], dtype=arr.dtype,
                                              chunks=(rows,) + arr.shape[1:])
                        ds.attrs["pool"] = pool
                    f[key][start:start + arr.shape[0]] = arr
                if pf is not None:
                    _write_predictions(pf, start, logits, n)
                bar.advance(len(next(iter(feats.values()))))
        if pf is not None:
            common(pf)
            for key, nk in (("groups", "group_names"), ("visual_groups", "visual_group_names")):
                if getattr(images, key) is not None:
                    pf.create_dataset(key, data=getattr(images, key))
                    if getattr(images, nk) is not None:
                        store.write_strings(pf, nk, getattr(images, nk))
    wrote(output, f"{len(names)} layer(s) × {n} images")
    if predictions is not None:
        wrote(predictions, f"{n} clean predictions")


def _write_predictions(pf, start: int, logits, n: int) -> None:
    """One batch of clean predictions: logits, softmax probabilities, argmax."""
    import numpy as np

    if "logits" not in pf:
        c = logits.shape[1]
        pf.create_dataset("logits", shape=(n, c), dtype=np.float32)
        pf.create_dataset("probabilities", shape=(n, c), dtype=np.float32)
        pf.create_dataset("predictions", shape=(n,), dtype=np.int64)
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(1, keepdims=True)
    stop = start + len(logits)
    pf["logits"][start:stop] = logits
    pf["probabilities"][start:stop] = p
    pf["predictions"][start:stop] = logits.argmax(1)


def register(app: typer.Typer) -> None:
    app.command("features")(features)
