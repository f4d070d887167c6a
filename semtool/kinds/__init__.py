"""One typed record per file kind, each with one ``read`` and one ``write``.

Every semtool file is one *kind* (:mod:`semtool.store` holds the contract: kinds, schema
versions, atomic writes, ``-`` for pipes). These records are what commands, figures and
Python code exchange; each ``read`` checks the kind's contract and fails with one line
naming the file, each ``write`` produces a file the next command reads:

>>> from semtool.kinds import Csm, read
>>> ncsm = Csm.read("ncsm.h5")                 # matrix (C, C), classes, source, …
>>> ncsm.write("copy.h5", force=True)
>>> read("run.h5")                             # any kind: the record its kind names

Image sets (``imageset``) are :class:`semtool.data.imageset.ImageSet`, written in
batches; the generators write hybrids and captions as they go (resumably), and these
records read them (and write small ones whole, from Python).
"""

from __future__ import annotations

import os
from typing import Any

from semtool.kinds._groups import GROUPINGS, Grouping
from semtool.kinds.csm import Csm
from semtool.kinds.captions import Captions
from semtool.kinds.curves import Curves
from semtool.kinds.embeddings import Embeddings
from semtool.kinds.features import Features
from semtool.kinds.hybrids import Hybrids
from semtool.kinds.predictions import Predictions
from semtool.kinds.rsm import Rsm
from semtool.kinds.twovtwo import TwoVsTwo

#: The record of each kind that has one.
RECORDS: dict[str, type] = {
    "captions": Captions, "csm": Csm, "curves": Curves, "embeddings": Embeddings, "features": Features,
    "hybrids": Hybrids, "predictions": Predictions, "rsm": Rsm, "twovtwo": TwoVsTwo,
}


def read(path: str | os.PathLike) -> Any:
    """The record of a semtool file, whichever kind it is (one line naming the file otherwise)."""
    from semtool import store
    from semtool.errors import UserError

    kind = store.kind_of(path)
    if kind == "imageset":
        from semtool.data.imageset import read_imageset

        return read_imageset(path)
    if kind not in RECORDS:
        raise UserError(f"{store.display_name(path)}: a '{kind}' file, which has no record to read it into "
                        f"(records: imageset, {', '.join(RECORDS)})")
    return RECORDS[kind].read(path)


__all__ = ["GROUPINGS", "RECORDS", "Captions", "Csm", "Curves", "Embeddings", "Features", "Grouping", "Hybrids",
           "Predictions", "Rsm", "TwoVsTwo", "read"]
