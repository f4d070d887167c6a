"""``semtool report``: a one-command semantic-alignment card for any network, and a zoo sweep.

A card runs, for one model on one imageset, the chain the single commands make by hand:
clean predictions → CCSM; NCSM; TNCSM of the last stage; the WordNet CSM of the classes;
SAI (cosine and SSIM) of each network CSM against WordNet and IDM (Filus et al.); WSI;
2 vs 2 per layer against a word space and 1 vs 2 on the mistakes (Dharmaretnam & Fyshe
2018); semantic vs spatio-semantic RSM retrieval (Wald et al. 2024); optionally the L2 PGD
mistake-severity sweep (Abreu, Vaska, Helus 2023). The model is loaded once and the
images go through it once; every intermediate file is kept with its provenance and reused
when its inputs and options are unchanged.

>>> from semtool.card import CardOptions, report
>>> card = report("model.safetensors", "test.h5", "card/", CardOptions(permutations=200))
"""

from __future__ import annotations

import os
from typing import Any

from semtool.card._card import FILES, Card, CardOptions, make_card

__all__ = ["FILES", "Card", "CardOptions", "make_card", "report"]


def report(model: str, data: str, outdir: str | os.PathLike, opts: CardOptions | None = None) -> tuple[Card, dict[str, Any]]:
    """Make (or resume) a card and write its figures, REPORT.md, report.html and summary.json.

    Returns the card (files, steps run and reused) and the summary's numbers.
    """
    from semtool.card._document import draw_figures, write_documents
    from semtool.card._numbers import numbers

    opts = opts or CardOptions()
    card = make_card(model, data, outdir, opts)
    nums = numbers(card, seed=opts.seed)
    figures = draw_figures(card, nums) if opts.figures else {}
    write_documents(card, nums, figures)
    return card, nums
