"""Small semtool files for tests, written by the typed writers of :mod:`semtool.kinds`.

Each factory takes the arrays a test cares about and fills in the rest; ``raw=`` is the
escape for deliberately broken files: a callable given the open file after the record's
datasets are written, to delete, replace or add whatever the test needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from semtool.kinds import Csm, Embeddings, Features, Grouping, Predictions

Raw = Callable[[Any], None] | None


def _finish(path: Path, raw: Raw) -> Path:
    if raw is not None:
        import h5py

        with h5py.File(path, "r+") as f:
            raw(f)
    return Path(path)


def csm_file(path: Path, matrix: Any, classes: Sequence[str], *, epochs: Any = None, source: str = "ncsm",
             measure: str = "cosine", synsets: Sequence[str] | None = None, groups: Any = None,
             group_names: Sequence[str] | None = None, raw: Raw = None) -> Path:
    """A csm file: ``matrix`` (C, C), or a stack (E, C, C) over ``epochs`` (default 0 … E−1)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim == 3 and epochs is None:
        epochs = np.arange(m.shape[0], dtype=np.float64)
    Csm(str(path), m, list(classes), None if epochs is None else np.asarray(epochs, np.float64),
        None if synsets is None else list(synsets), source, measure, Grouping.of(groups, group_names)).write(
        path, force=True, parameters={})
    return _finish(path, raw)


def predictions_file(path: Path, labels: Any, preds: Any, classes: Sequence[str], *, epsilons: Any = None,
                     logits: Any = None, groups: Any = None, visual_groups: Any = None, raw: Raw = None) -> Path:
    """A predictions file of ``preds`` (N,) or (E, N) and, when given, ``logits``.

    ``logits=True`` writes one-hot logits *instead of* 'predictions', as a file holding
    only logits (its predictions are their argmax).
    """
    preds = np.asarray(preds, dtype=np.int64)
    only_logits = logits is True
    logits = None if logits is False else logits
    if only_logits:
        logits = np.eye(len(classes), dtype=np.float32)[preds]
    Predictions(str(path), np.asarray(labels, np.int64), preds, list(classes),
                None if epsilons is None else np.asarray(epsilons, np.float64), Grouping.of(groups),
                Grouping.of(visual_groups), logits=None if logits is None else np.asarray(logits, np.float32)).write(
        path, force=True, parameters={"test": True})

    def drop_predictions(f: Any) -> None:
        if only_logits:
            del f["predictions"]
        if raw is not None:
            raw(f)

    return _finish(path, drop_predictions)


def features_file(path: Path, layers: dict[str, Any], labels: Any, classes: Sequence[str], *,
                  raw: Raw = None) -> Path:
    """A features file as ``semtool features`` writes it: ``layers/<name>`` each with its pool."""
    Features(str(path), dict(layers), np.asarray(labels, np.int64), list(classes)).write(
        path, force=True, parameters={"test": True})

    def pools(f: Any) -> None:
        for name, x in layers.items():
            f["layers"][name].attrs["pool"] = "none" if np.ndim(x) > 2 else "mean"
        if raw is not None:
            raw(f)

    return _finish(path, pools)


def embeddings_file(path: Path, vectors: Any, concepts: Sequence[str], *, source: str = "test",
                    raw: Raw = None) -> Path:
    """An embeddings file: ``vectors`` (k, D) float32 for ``concepts``."""
    Embeddings(str(path), np.asarray(vectors, np.float32), list(concepts), source).write(
        path, force=True, parameters={"test": True})
    return _finish(path, raw)
