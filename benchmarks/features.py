"""``features`` on a pretrained torchvision network vs a hand-written feature-extraction loop.

semtool's side is what ``semtool features torchvision:resnet50:none DATA --layers layer4``
runs (the model specification loaded through :func:`semtool.models.open_model`, the
weights' own resize/crop/normalise inside the wrapper, :func:`semtool.models.features.iter_features`,
mean-pooled); the reference is torchvision's ``create_feature_extractor`` on the same
network with the weights' ``transforms()`` applied by hand, on the same uint8 batches.
Both sides alternate over rounds in one process; the best round of each counts, and the
features are checked to agree. Goal: ratio ≥ 0.95 (the wrapper costs nothing).

    python benchmarks/features.py [--arch resnet50] [--images 512] [--size 224] [--batch 64] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    import torchvision.models as tvm
    from torchvision.models.feature_extraction import create_feature_extractor

    from semtool.models import open_model
    from semtool.models.features import iter_features

    images = np.random.default_rng(0).integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8)
    torch.manual_seed(0)
    model, _ = open_model(f"torchvision:{args.arch}:none", device=args.device)
    tf = tvm.get_model_weights(args.arch).DEFAULT.transforms()
    extractor = create_feature_extractor(model.net, return_nodes=["layer4"]).eval()

    def ours() -> np.ndarray:
        return np.concatenate([f["layer4"] for _, f, _ in iter_features(model, images, ["layer4"], pool="mean",
                                                                         batch_size=args.batch, device=args.device)])

    def reference() -> np.ndarray:
        out = []
        with torch.no_grad():
            for s in range(0, len(images), args.batch):
                x = torch.from_numpy(images[s:s + args.batch]).to(args.device).permute(0, 3, 1, 2).float() / 255
                out.append(extractor(tf(x))["layer4"].mean((2, 3)).cpu().numpy())
        return np.concatenate(out)

    ours_t, ref_t = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        a = ours()
        ours_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = reference()
        ref_t.append(time.perf_counter() - t0)
    diff = float(np.abs(a - b).max())
    ra, rb = args.images / min(ours_t), args.images / min(ref_t)
    print(f"{args.arch}:none, {args.images} images at {args.size} px, layer4 mean-pooled, batch {args.batch}, "
          f"{args.device}, CPU threads {torch.get_num_threads()}")
    print(f"semtool features:            {ra:8.1f} images/s")
    print(f"create_feature_extractor:    {rb:8.1f} images/s   (max |difference| {diff:.2e})")
    print(f"ratio semtool / hand loop = {ra / rb:.3f}  (goal ≥ 0.95: {'met' if ra / rb >= 0.95 else 'NOT met'})")


if __name__ == "__main__":
    main()
