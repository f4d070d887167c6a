"""A model with its data, checked together (attack, features, report): classes matched, channels, --limit."""

from __future__ import annotations

from typing import Any

from semtool.errors import UserError


def load_model_and_data(model_path: str, data_path: str, device: str, *, same_classes: bool, limit: int | None = None,
                        trust_remote_code: bool = False, needs_logits: str | None = None):
    """(model on its device, model metadata, imageset, device), all checked before any work.

    With ``same_classes`` the data's classes must be the model's: identical for a semtool
    model; for a zoo model matched by synset, else name (a subset allowed), the imageset
    then re-expressed over the model's classes (:func:`in_model_classes`).
    """
    from semtool.models import open_model, resolve_device
    from semtool.data.imageset import read_imageset

    dev = resolve_device(device)
    data = read_imageset(data_path, min_classes=1)
    model, meta = open_model(model_path, device=dev, trust_remote_code=trust_remote_code, needs_logits=needs_logits)
    if same_classes:
        data = in_model_classes(data, meta, data_path, model_path)
    if meta["family"] == "file" and data.channels != int(meta["in_channels"]):
        raise UserError(f"{data_path}: images with {data.channels} channel(s), the model takes {meta['in_channels']}")
    if data.channels not in (1, int(meta["in_channels"])):
        raise UserError(f"{data_path}: images with {data.channels} channel(s), the model takes "
                        f"{meta['in_channels']} (or 1, repeated)")
    if limit is not None:
        if limit < 1:
            raise UserError(f"--limit: expected at least 1, got {limit}")
        data = data.subset(slice(0, limit))
    return model, meta, data, dev


def in_model_classes(data: Any, meta: dict[str, Any], data_path: str, model_path: str) -> Any:
    """The imageset with labels, classes, synsets and groups over the model's K output classes.

    A semtool model's classes must be the data's exactly. For a pretrained network, data classes are matched to the model's by synset, else by name; a class the model
    lacks is a UserError. Groups of model classes the data lacks are −1 (no group), so a
    mistake on such a class never counts as a superclass hit.
    """
    import dataclasses

    import numpy as np

    from semtool.measure.align import check_same_classes
    from semtool.models.classes import match_classes

    if meta["family"] == "file":
        matched = data.in_class_order(meta["classes"])  # the same names in another order: matched by name
        if matched is not data:
            from semtool import _runtime

            _runtime.log(f"note: {data_path} lists the model's classes in another order; matched by name")
        check_same_classes(list(meta["classes"]), matched.classes, data_path, model_path)
        return matched
    classes = list(meta["classes"])
    idx = match_classes(classes, data.classes, model_synsets=meta.get("synsets"), data_synsets=data.synsets,
                        what=str(data_path), model=str(model_path))
    if list(classes) == list(data.classes):
        return data
    if len(set(idx.tolist())) < len(classes):
        from semtool import _runtime

        _runtime.log(f"note: {data_path} holds {len(idx)} of the model's {len(classes)} classes; predictions are "
                     f"over all {len(classes)} ('csm ccsm' on them keeps the {len(set(idx.tolist()))} with samples)")
    grouped = {}
    for key in ("groups", "visual_groups"):
        g = getattr(data, key)
        if g is not None:
            full = np.full(len(classes), -1, np.int64)
            full[idx] = g
            grouped[key] = full
    return dataclasses.replace(data, labels=idx[data.labels], classes=classes, synsets=meta.get("synsets"),
                               **grouped)


def groupings(data: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """Per-class semantic and visual groups (:class:`~semtool.kinds.Grouping` or None, keyed
    ``groups`` / ``visual_groups``): the imageset's, else the model file's."""
    from semtool.kinds import GROUPINGS, Grouping

    out: dict[str, Any] = {}
    for key, names_key in GROUPINGS.items():
        if getattr(data, key) is not None:
            out[key] = Grouping.of(getattr(data, key), getattr(data, names_key))
        else:
            out[key] = Grouping.of(meta.get(key), meta.get(names_key))
    return out
