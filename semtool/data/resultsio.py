"""Writers (and the features reader) of what features / attack / embed / twovtwo / rsm produce.

One writer per file kind, shared by the single commands and by ``semtool report``, so a
file written by either reads the same and carries the same provenance. Library code: it
imports no CLI and no torch.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError


# ------------------------------------------------------------------------------ features
def _class_info(f: Any, data: Any) -> None:
    """labels, classes and (when known) synsets of an imageset-like record."""
    f.create_dataset("labels", data=data.labels)
    store.write_strings(f, "classes", data.classes)
    if data.synsets is not None:
        store.write_strings(f, "synsets", data.synsets)


class _FeaturesSink:
    """Rows of each layer written batch by batch into (N, …) datasets (chunks ≤ 1 MiB)."""

    def __init__(self, f: Any, n: int, pool: str, batch_size: int):
        self.f, self.n, self.pool, self.batch_size = f, n, pool, batch_size

    def add(self, start: int, feats: dict[str, np.ndarray]) -> None:
        for name, arr in feats.items():
            key = f"layers/{name}"
            if key not in self.f:
                rows = max(1, min(self.batch_size, self.n, (1 << 20) // max(1, arr[0].nbytes)))
                ds = self.f.create_dataset(key, shape=(self.n,) + arr.shape[1:], dtype=arr.dtype,
                                           chunks=(rows,) + arr.shape[1:])
                ds.attrs["pool"] = self.pool
            self.f[key][start:start + arr.shape[0]] = arr


@contextlib.contextmanager
def features_file(path: str | os.PathLike, data: Any, *, pool: str, batch_size: int, force: bool = False,
                  command: str = "features", parameters: dict[str, Any] | None = None,
                  inputs: Sequence[Any] = ()) -> Iterator[_FeaturesSink]:
    """A 'features' file for ``data`` (an ImageSet): ``sink.add(start, {layer: rows})`` per batch."""
    with store.create(path, "features", force=force, command=command, parameters=parameters,
                      inputs=[str(p) for p in inputs]) as f:
        f.attrs["pool"] = pool
        f.create_group("layers", track_order=True)  # layers listed in the order they were asked for
        _class_info(f, data)
        yield _FeaturesSink(f, len(data.labels), pool, batch_size)


class _PredictionsSink:
    """Clean logits, softmax probabilities and argmax, batch by batch."""

    def __init__(self, f: Any, n: int):
        self.f, self.n = f, n

    def add(self, start: int, logits: np.ndarray) -> None:
        pf = self.f
        if "logits" not in pf:
            c = logits.shape[1]
            pf.create_dataset("logits", shape=(self.n, c), dtype=np.float32)
            pf.create_dataset("probabilities", shape=(self.n, c), dtype=np.float32)
            pf.create_dataset("predictions", shape=(self.n,), dtype=np.int64)
        z = logits - logits.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        stop = start + len(logits)
        pf["logits"][start:stop] = logits
        pf["probabilities"][start:stop] = p
        pf["predictions"][start:stop] = logits.argmax(1)


def _groups(f: Any, data: Any) -> None:
    for key, nk in (("groups", "group_names"), ("visual_groups", "visual_group_names")):
        if getattr(data, key) is not None:
            f.create_dataset(key, data=np.asarray(getattr(data, key), np.int64))
            if getattr(data, nk) is not None:
                store.write_strings(f, nk, getattr(data, nk))


@contextlib.contextmanager
def predictions_file(path: str | os.PathLike, scored: Any, *, force: bool = False, command: str = "features",
                     parameters: dict[str, Any] | None = None,
                     inputs: Sequence[Any] = ()) -> Iterator[_PredictionsSink]:
    """A clean 'predictions' file over ``scored``'s classes (the model's): ``sink.add(start, logits)``."""
    with store.create(path, "predictions", force=force, command=command, parameters=parameters,
                      inputs=[str(p) for p in inputs]) as f:
        yield _PredictionsSink(f, len(scored.labels))
        _class_info(f, scored)
        _groups(f, scored)


def write_attack(path: str | os.PathLike, res: Any, data: Any, groups: dict[str, Any], *, force: bool = False,
                 parameters: dict[str, Any] | None = None, inputs: Sequence[Any] = ()) -> None:
    """An attack's 'predictions' file with an ε axis (logits (E, N, C), predictions (E, N))."""
    with store.create(path, "predictions", force=force, command="attack", parameters=parameters,
                      inputs=[str(p) for p in inputs]) as f:
        f.create_dataset("labels", data=res.labels)
        store.write_strings(f, "classes", data.classes)
        f.create_dataset("epsilons", data=res.epsilons)
        f.create_dataset("logits", data=res.logits, chunks=True, compression="gzip")
        f.create_dataset("predictions", data=res.predictions)
        for key in ("groups", "visual_groups"):
            if groups[key] is not None:
                f.create_dataset(key, data=np.asarray(groups[key], np.int64))
                names = groups["group_names" if key == "groups" else "visual_group_names"]
                if names is not None:
                    store.write_strings(f, "group_names" if key == "groups" else "visual_group_names", names)
        if data.synsets is not None:
            store.write_strings(f, "synsets", data.synsets)
        f.attrs["attack"] = "pgd-l2"


def layer_names(path: str | os.PathLike) -> list[str]:
    """The layer names of a features file, in file order."""
    with store.open_file(path, "features") as f:
        return list(f["layers"].keys()) if "layers" in f else []


def select_layers(path: str | os.PathLike, spec: str | None) -> list[str]:
    """'all' (or None) -> every layer; 'a,b' -> those, each checked; one line listing the layers otherwise."""
    names = layer_names(path)
    if not names:
        raise UserError(f"{store.display_name(path)}: features file holds no layers")
    if spec is None or spec.strip() == "all":
        return names
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    for w in wanted:
        if w not in names:
            raise UserError(f"{store.display_name(path)}: no layer '{w}' (layers: {', '.join(names)})")
    return wanted


def read_layer(path: str | os.PathLike, layer: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features (N, ...), labels (N,), classes) of one layer of a features file."""
    select_layers(path, layer)
    with store.open_file(path, "features") as f:
        x = f["layers"][layer][...]
        labels = f["labels"][...].astype(np.int64)
        classes = store.read_strings(f["classes"])
    if len(x) != len(labels):
        raise UserError(f"{store.display_name(path)}: layer '{layer}' has {len(x)} samples but {len(labels)} labels")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise UserError(f"{store.display_name(path)}: layer '{layer}' holds NaN or inf features")
    return x, labels, classes


# ------------------------------------------------------------------- embeddings, twovtwo, rsm
def write_embeddings(path: str | os.PathLike, vectors: np.ndarray, concepts: Sequence[str], *, model: str,
                     template: str, force: bool = False, parameters: dict[str, Any] | None = None,
                     inputs: Sequence[Any] = ()) -> None:
    """An 'embeddings' file of sentence-model vectors (mean pooling)."""
    with store.create(path, "embeddings", force=force, command="embed", parameters=parameters,
                      inputs=[str(p) for p in inputs]) as f:
        f.create_dataset("vectors", data=np.asarray(vectors).astype("float32"))
        store.write_strings(f, "concepts", concepts)
        f.attrs["source"] = "text"
        f.attrs["model"] = model
        f.attrs["template"] = template
        f.attrs["pooling"] = "mean"


def write_twovtwo(path: str | os.PathLike, results: list[dict[str, Any]], concepts: Sequence[str], *,
                  permutations: int, seed: int, force: bool = False, parameters: dict[str, Any] | None = None,
                  inputs: Sequence[Any] = ()) -> None:
    """A 'twovtwo' file: per layer accuracy, passes, null, p-value (and the 1 vs 2 group when run)."""
    with store.create(path, "twovtwo", force=force, command="twovtwo", parameters=parameters,
                      inputs=[str(p) for p in inputs]) as f:
        store.write_strings(f, "layers", [r["layer"] for r in results])
        store.write_strings(f, "concepts", concepts)
        f.create_dataset("accuracy", data=np.array([r["accuracy"] for r in results]))
        f.create_dataset("passes", data=np.array([r["passes"] for r in results]))
        f.create_dataset("tests", data=results[0]["tests"])
        f.create_dataset("groups", data=np.array([r["groups"] for r in results]))
        f.create_dataset("null", data=np.stack([r["null"] for r in results]).reshape(len(results), permutations))
        f.create_dataset("p_value", data=np.array([r["p_value"] for r in results]))
        f.create_dataset("null_count", data=np.array([r["null_count"] for r in results]))
        if "one_vs_two_accuracy" in results[0]:
            g = f.create_group("one_vs_two")
            for key in ("accuracy", "passes", "tests", "p_value", "null_count"):
                g.create_dataset(key, data=np.array([r[f"one_vs_two_{key}"] for r in results]))
            g.create_dataset("null", data=np.stack([r["one_vs_two_null"] for r in results])
                             .reshape(len(results), permutations))
        f.attrs["permutations"] = permutations
        f.attrs["seed"] = seed


def write_rsm(path: str | os.PathLike, matrix: np.ndarray, labels: np.ndarray, index: np.ndarray,
              classes: Sequence[str], *, layer: str, kernel: str, matcher: str, semantic: bool, result: Any = None,
              info: dict[str, Any] | None = None, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[Any] = ()) -> None:
    """An 'rsm' file: matrix (N, N), labels, indices, attrs layer/kernel/matcher and eval_* metrics."""
    with store.create(path, "rsm", force=force, command="rsm", parameters=parameters,
                      inputs=[str(p) for p in inputs]) as f:
        f.create_dataset("matrix", data=matrix)
        f.create_dataset("labels", data=labels)
        f.create_dataset("indices", data=index)
        store.write_strings(f, "classes", classes)
        f.attrs["layer"] = layer
        f.attrs["kernel"] = kernel
        f.attrs["matcher"] = matcher
        f.attrs["semantic"] = semantic
        if result is not None and result.quality_fraction.size:
            g = f.create_group("matcher_quality")
            g.create_dataset("pairs", data=result.quality_pairs)
            g.create_dataset("fraction", data=result.quality_fraction)
        for k, v in (info or {}).items():
            f.attrs[f"eval_{k}"] = v
