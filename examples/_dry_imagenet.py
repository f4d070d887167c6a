"""Inputs for the dry run of ``examples/dharmaretnam2018_imagenet.sh``, without ImageNet,
weights or a word-vector file.

``inputs OUT``: an ImageNet-style validation folder ``OUT/val/<wnid>/*.png`` with 5 small
images of each of 8 ImageNet-1k classes (a flat colour per class, plus noise; tench and
goldfish share their colour, so a classifier confuses them), and a GloVe-format vector file
``OUT/vectors.txt.gz`` holding random vectors for 6 of those classes (one as a phrase,
``great_white_shark``; one only through its words, ``tiger`` + ``shark``) and some other words.

``weights MODEL DATA``: random weights for a ``torchvision:NAME:WEIGHTS`` model, saved
where torchvision's weights API looks for them (``$TORCH_HOME/hub/checkpoints``), with the
final layer's rows for DATA's classes set to the mean penultimate features of their images
(a nearest-class-mean head), so that the network classifies most dry-run images right and
some wrong, as the 1 vs 2 test needs. Usage:
``python examples/_dry_imagenet.py inputs OUT`` / ``… weights MODEL DATA``.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np

# ImageNet-1k indices 0–7 (torchvision's order): tench, goldfish, great white shark, tiger
# shark, hammerhead, electric ray, stingray, cock.
CLASSES = 8
PER_CLASS = 5
VECTOR_WORDS = ["the", "tench", "Goldfish", "great_white_shark", "tiger", "shark", "hammerhead", "stingray",
                "of", "fish"]


def inputs(out: Path) -> None:
    from PIL import Image

    from semtool.semantics.wordnet import imagenet_classes

    rng = np.random.default_rng(0)
    colours = rng.integers(30, 226, (CLASSES, 3))
    colours[1] = colours[0]
    for c, (wnid, _, _) in enumerate(imagenet_classes()[:CLASSES]):
        folder = out / "val" / wnid
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(PER_CLASS):
            img = colours[c] + rng.normal(0, 20, (48, 48, 3))
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"ILSVRC2012_val_{c:03d}{i:02d}.png")
    lines = [f"{w} " + " ".join(f"{x:.5f}" for x in rng.normal(size=25)) for w in VECTOR_WORDS]
    (out / "vectors.txt.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


def weights(model: str, data: str) -> None:
    import torch
    import torchvision.models as tvm

    from semtool import store
    from semtool.models import open_model
    from semtool.models._pretrained import weights_file

    _, name, wname = model.split(":")
    w = tvm.get_model_weights(name)[wname]
    path = weights_file(w)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = tvm.get_model(name, weights=None, num_classes=len(w.meta["categories"]))
    torch.save(net.state_dict(), path)
    clf, _ = open_model(model)
    head_name, head = [(n, m) for n, m in clf.net.named_modules() if isinstance(m, torch.nn.Linear)][-1]
    with store.open_file(data, "imageset") as f:
        images, labels = f["images"][...], f["labels"][...]
    # The head's input: hooked on the head itself.
    seen: list[torch.Tensor] = []
    handle = head.register_forward_hook(lambda _m, i, _o: seen.append(i[0].detach()))
    with torch.no_grad():
        for s in range(0, len(images), 20):  # [0, 1] pixels, as semtool features feeds them
            clf(torch.from_numpy(images[s:s + 20].transpose(0, 3, 1, 2)).float() / 255)
    handle.remove()
    h = torch.cat(seen)
    centre = h.mean(0)
    with torch.no_grad():
        head.weight.zero_()
        for c in np.unique(labels):  # data classes 0..7 are ImageNet indices 0..7
            head.weight[int(c)] = (h[torch.from_numpy(labels == c)] - centre).mean(0)
        head.bias.copy_(-(head.weight @ centre))  # logits w_c · (h - centre)
    torch.save(clf.net.state_dict(), path)
    print(f"    random {name} weights with a nearest-class-mean {head_name} in {path}")


if __name__ == "__main__":
    if sys.argv[1] == "inputs":
        inputs(Path(sys.argv[2]))
    else:
        weights(sys.argv[2], sys.argv[3])
