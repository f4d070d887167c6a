"""The kinds of semtool HDF5 files, their schema versions and required contents.

Every file is one *kind*; readers dispatch on ``(semtool_kind, semtool_schema)``. The
tables below are the contract between subcommands: a file written by one command is read
by the next, from Python or chained in bash.

Conventions shared by all kinds
-------------------------------
* Strings are UTF-8 (``h5py.string_dtype()``); use :func:`semtool.store.write_strings`
  and :func:`semtool.store.read_strings`.
* Per-class arrays are indexed like ``classes``; per-sample arrays like ``labels``.
* ``groups`` / ``visual_groups`` are per-class ``int64`` group indices into
  ``group_names`` / ``visual_group_names`` (``-1``: the class belongs to no group).
* Image stacks are ``uint8`` ``(N, H, W, C)``, chunked and compressed.

Kinds (required datasets; optional ones in brackets)
---------------------------------------------------
imageset     images (N,H,W,C) uint8, labels (N,) int64, classes (C,) str,
             [synsets (C,) str, groups (C,), group_names (G,), visual_groups (C,),
             visual_group_names (V,), coarse_labels (N,), coarse_classes (K,)];
             attrs ``source``, ``split``
hybrids      images (N,H,W,C) uint8, base_labels (N,), target_labels (N,),
             source_index (N,) int64, classes (C,) str, [done (N,) bool,
             full_size_images (N,h,w,C)]; attrs ``method``, ``factor``, ``model``
captions     candidates (N,K) str, scores (N,K) float32, best (N,) str,
             best_score (N,) float32, guidance (N,) float32, [done (N,) bool]
predictions  labels (N,) int64, classes (C,) str, logits (N,C) or (E,N,C) float32
             and/or predictions (N,) or (E,N) int64, [epsilons (E,) float64,
             groups/visual_groups as in imageset]
features     layers/<name> (N,...) one dataset per layer, labels (N,), classes (C,)
csm          matrix (C,C) float64 or matrices (E,C,C) + epochs (E,), classes (C,) str,
             [synsets, groups, group_names]; attrs ``source``, ``measure``
curves       epochs (E,) float64, any 1-D series (E,) at any path (``loss``,
             ``accuracy/train``, ``sai/...``, ``idm/...``, ``wsi/...``),
             [snapshots/<name> (E,C,C), classes (C,)]
rsm          matrix (N,N) float64, labels (N,); attrs ``layer``, ``kernel``, ``matcher``
embeddings   vectors (k,D) float32, concepts (k,) str; attrs ``source``
twovtwo      accuracy, passes, tests, null, p_value (per layer: leading axis L,
             ``layers`` (L,) str)
"""

from __future__ import annotations

# kind -> (schema version this semtool writes and reads, required datasets).
KINDS: dict[str, tuple[int, tuple[str, ...]]] = {
    "imageset": (1, ("images", "labels", "classes")),
    "hybrids": (1, ("images", "base_labels", "target_labels", "source_index", "classes")),
    "captions": (1, ("candidates", "scores", "best", "best_score", "guidance")),
    "predictions": (1, ("labels", "classes")),
    "features": (1, ("labels", "classes")),
    "csm": (1, ("classes",)),
    "curves": (1, ("epochs",)),
    "rsm": (1, ("matrix", "labels")),
    "embeddings": (1, ("vectors", "concepts")),
    "twovtwo": (1, ("accuracy", "passes", "tests")),
}

#: Per-class groupings a file may carry: dataset of group indices -> dataset of group names.
GROUPINGS = {"groups": "group_names", "visual_groups": "visual_group_names"}

# Kinds small enough to pass through a pipe ('-' as stdin/stdout): held in memory.
STREAMABLE = {"csm", "curves", "rsm", "embeddings", "twovtwo", "predictions", "captions"}


def schema_of(kind: str) -> int:
    return KINDS[kind][0]
