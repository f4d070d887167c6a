"""What the model-consuming commands (attack, features) share: loading a model with its data."""

from __future__ import annotations

from typing import Any

from semtool.errors import UserError


def load_model_and_data(model_path: str, data_path: str, device: str, *, same_classes: bool, limit: int | None = None):
    """(model on its device, model metadata, imageset, device), all checked before any work."""
    from semtool.models import load_model, resolve_device
    from semtool.data.imageset import read_imageset
    from semtool.measure.align import check_same_classes

    dev = resolve_device(device)
    data = read_imageset(data_path, min_classes=1)
    model, meta = load_model(model_path, device=dev)
    if same_classes:
        matched = data.in_class_order(meta["classes"])  # the same names in another order: matched by name
        if matched is not data:
            from semtool import _runtime

            _runtime.log(f"note: {data_path} lists the model's classes in another order; matched by name")
            data = matched
        check_same_classes(list(meta["classes"]), data.classes, data_path, model_path)
    if data.channels != int(meta["in_channels"]):
        raise UserError(f"{data_path}: images with {data.channels} channel(s), the model takes {meta['in_channels']}")
    if limit is not None:
        if limit < 1:
            raise UserError(f"--limit: expected at least 1, got {limit}")
        data = data.subset(slice(0, limit))
    return model, meta, data, dev


def group_arrays(data: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """Per-class semantic/visual groups: the imageset's, else the model file's."""
    import numpy as np

    out: dict[str, Any] = {}
    for key in ("groups", "visual_groups"):
        g = getattr(data, key)
        names = getattr(data, f"{key[:-1]}_names" if key == "groups" else "visual_group_names")
        if g is None and meta.get(key) is not None:
            g, names = np.asarray(meta[key], np.int64), meta.get(f"{key[:-1]}_names" if key == "groups" else "visual_group_names")
        out[key] = g
        out["group_names" if key == "groups" else "visual_group_names"] = names
    return out
