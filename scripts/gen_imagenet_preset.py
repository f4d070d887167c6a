#!/usr/bin/env python3
"""Write semtool/semantics/presets/imagenet.tsv: ImageNet-1k's 1000 classes -> WordNet 3.0 synsets.

Run once by hand (the file is committed; semtool never runs this, and the preset needs
neither timm nor torchvision):

    PYTHONPATH=$PWD python scripts/gen_imagenet_preset.py

Sources, all offline data inside installed packages:
- the 1000 ILSVRC-2012 wnids in sorted order (torchvision's class index order) from timm's
  ``timm/data/_info/imagenet_synsets.txt``;
- the class names from torchvision's ``ResNet50_Weights.IMAGENET1K_V1.meta["categories"]``
  (every torchvision ImageNet-1k weight carries the same list; it spells the two names
  ILSVRC repeats apart: 'crane bird' / 'crane', 'maillot' / 'maillot tank suit');
- each synset from the wnid's offset, ``wn.synset_from_pos_and_offset('n', int(wnid[1:]))``.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

HEADER = """\
# ImageNet-1k (ILSVRC 2012) classes in torchvision's index order (the sorted wnids) -> WordNet 3.0 noun synsets.
# class<TAB>synset<TAB># wnid
# Names: torchvision's weights meta["categories"]; synsets: the wnid's offset
# (wn.synset_from_pos_and_offset('n', int(wnid[1:]))); wnids: timm's data/_info/imagenet_synsets.txt.
# Made by scripts/gen_imagenet_preset.py; do not edit by hand.
"""


def rows() -> list[tuple[str, str, str]]:
    """``(class, synset name, wnid)`` for the 1000 classes, in index order."""
    from torchvision.models import ResNet50_Weights

    from semtool.semantics.wordnet import resolve_synset

    wnids = resources.files("timm.data").joinpath("_info", "imagenet_synsets.txt").read_text().split()
    names = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    if len(wnids) != 1000 or wnids != sorted(wnids) or len(names) != 1000 or len(set(names)) != 1000:
        raise SystemExit("unexpected wnid or category list")
    return [(name, resolve_synset(wnid, origin=wnid).name(), wnid) for name, wnid in zip(names, wnids)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1]
                    / "semtool" / "semantics" / "presets" / "imagenet.tsv")
    args = ap.parse_args()
    text = HEADER + "".join(f"{name}\t{syn}\t# {wnid}\n" for name, syn, wnid in rows())
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
