"""What to tell a user who hands a command the wrong kind of file: the one table of hints.

A reader that finds kind F where it accepts kinds W1, W2, … says so in one line, then
names a way forward: the conversion from F to one of the W (``HINTS``), or else how a
file of the first accepted kind is made (``MAKE``). ``MODEL`` is a pseudo-kind: a
``.safetensors`` (or PyTorch) model file, which is not HDF5 but is what ``features``,
``attack`` and ``csm ncsm`` read. ``{file}`` in a hint is replaced by the user's path.
"""

from __future__ import annotations

import os
import shlex
from typing import Sequence

MODEL = "model"
STDIN = "<stdin>"  # how '-' is named in messages (store.display_name); '-' again in a hint

# (found kind, accepted kind) -> the conversion that makes the one from the other.
HINTS: dict[tuple[str, str], str] = {
    ("curves", "csm"): "make a csm stack from its NCSM snapshots first: semtool csm ncsm {file} -o ncsm.h5",
    ("predictions", "csm"): "make a confusion CSM from it first: semtool csm ccsm {file} -o ccsm.h5",
    ("imageset", "csm"): "make a reference CSM from its classes first: semtool csm wordnet --classes-from {file} "
                         "-o wordnet.h5, or from its grouping: semtool csm groups {file} -o groups.h5",
    ("features", "csm"): "make a template CSM from it first: semtool csm tncsm {file} -o tncsm.h5",
    (MODEL, "csm"): "make a network CSM from it first: semtool csm ncsm {file} -o ncsm.h5",
    (MODEL, "features"): "extract them first: semtool features {file} IMAGESET -o features.h5",
    ("imageset", "features"): "extract its features first: semtool features MODEL {file} -o features.h5",
    (MODEL, "predictions"): "predict first: semtool attack {file} IMAGESET --eps 0 -o predictions.h5",
    ("imageset", "predictions"): "run a model on it first: semtool attack MODEL {file} --eps 0 -o predictions.h5",
    ("features", "predictions"): "clean predictions come from the same pass: "
                                 "semtool features MODEL IMAGESET -o features.h5 --predictions predictions.h5",
    ("csm", "curves"): "it is a csm already: compare it with semtool sai, draw it with semtool plot csm {file}",
    (MODEL, "imageset"): "an imageset comes from semtool dataset fashion-mnist|cifar100|folder; commands that "
                         "take both read the model first: semtool attack|features {file} IMAGESET",
    ("hybrids", "imageset"): "hybrids go to semtool train IMAGESET --hybrids {file}; give the imageset here",
    ("imageset", "hybrids"): "make hybrids of it first: semtool mix {file} -o hybrids.h5",
    ("imageset", MODEL): "train a model on it first: semtool train {file} -o model.safetensors",
    ("curves", MODEL): "the model is the .safetensors file that semtool train wrote with -o, not its --curves file",
    ("features", "rsm"): "make an RSM from it first: semtool rsm {file} -o rsm.h5",
    ("embeddings", "csm"): "an embeddings file is a word space for semtool twovtwo; "
                           "a CSM of class names comes from semtool csm text",
}

# accepted kind -> how a file of that kind is made (when no conversion applies).
MAKE: dict[str, str] = {
    "imageset": "make one with semtool dataset fashion-mnist|cifar100|folder",
    "hybrids": "make one with semtool mix IMAGESET -o hybrids.h5",
    "captions": "make one with semtool caption IMAGESET -o captions.h5",
    "predictions": "make one with semtool attack MODEL IMAGESET -o predictions.h5 "
                   "or semtool features MODEL IMAGESET --predictions predictions.h5",
    "features": "make one with semtool features MODEL IMAGESET -o features.h5",
    "csm": "make one with semtool csm ncsm|ccsm|tncsm|wordnet|groups|text",
    "curves": "semtool train IMAGESET --curves curves.h5 writes one",
    "rsm": "make one with semtool rsm FEATURES -o rsm.h5",
    "embeddings": "make one with semtool embed --words a,b,c -o embeddings.h5",
    "twovtwo": "make one with semtool twovtwo A B -o twovtwo.h5",
    MODEL: "train one with semtool train IMAGESET -o model.safetensors",
}


def describe(kind: str) -> str:
    """How a kind is named in a message: ``'csm'``, or ``a model file (.safetensors)``."""
    return "a model file (.safetensors)" if kind == MODEL else f"'{kind}'"


def hint(found: str, wanted: Sequence[str], path: str | os.PathLike) -> str:
    """The way forward for a ``found`` file where ``wanted`` kinds are accepted."""
    file = "-" if str(path) in ("-", STDIN) else shlex.quote(str(path))
    for w in wanted:
        if (found, w) in HINTS:
            return HINTS[(found, w)].format(file=file)
    return MAKE.get(wanted[0], "") if wanted else ""


def wrong_kind_message(path: str | os.PathLike, found: str, wanted: Sequence[str]) -> str:
    """One line: the file, the kind found, every kind accepted, and what to do.

    >>> wrong_kind_message("run.h5", "curves", ["csm"])
    "run.h5: kind 'curves' found, 'csm' expected; make a csm stack from its NCSM snapshots first: semtool csm ncsm run.h5 -o ncsm.h5"
    """
    name = STDIN if str(path) == "-" else str(path)
    what = "a model file found" if found == MODEL else f"kind '{found}' found"
    expected = " or ".join(describe(k) for k in wanted)
    advice = hint(found, wanted, path)
    return f"{name}: {what}, {expected} expected" + (f"; {advice}" if advice else "")
