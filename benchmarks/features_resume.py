"""What ``features``' resumable writing costs: partial files flushed per batch vs one atomic write.

``semtool features`` writes its rows into partial files (``.NAME.partial``, a ``done``
mask, two flushes per batch and file) so that ``--resume`` continues after a kill. Both
sides run the command's loop in one process on the same images and model: the
:class:`~semtool.kinds.features.FeaturesWriter` and
:class:`~semtool.kinds.predictions.CleanPredictionsWriter` with ``resume=False`` (what
the command does) and with ``resume=None`` (one atomic write at the end, as before); the
best round of each counts and the files are checked to hold the same layers. A small
convnet on small images is the worst case (the least compute per byte written). Goal:
ratio ≥ 0.95.

    python benchmarks/features_resume.py [--images 512] [--size 32] [--batch 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--layers", default="pixels,block1,block2,block3")
    ap.add_argument("--pool", default="mean")
    args = ap.parse_args()
    from semtool.kinds.features import FeaturesWriter
    from semtool.kinds.predictions import CleanPredictionsWriter
    from semtool.models import build_classifier
    from semtool.models.features import iter_features, select_layers

    classes = [f"c{k}" for k in range(10)]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, args.images)
    torch.manual_seed(0)
    net = build_classifier("convnet", 10, input_size=(args.size, args.size))
    names = select_layers(net, args.layers)
    folder = Path(tempfile.mkdtemp())

    def run(resume: bool | None, tag: str) -> Path:
        out, pred = folder / f"{tag}.h5", folder / f"{tag}_p.h5"
        kw = dict(force=True, resume=resume, parameters={"layers": names})
        with FeaturesWriter(out, len(images), labels=labels, classes=classes, pool=args.pool,
                            batch_size=args.batch, **kw) as fw, \
                CleanPredictionsWriter(pred, len(images), labels=labels, classes=classes, **kw) as pw:
            for s, feats, logits in iter_features(net, images, names, pool=args.pool, batch_size=args.batch,
                                                  logits=True):
                fw.add(s, feats)
                pw.add(s, logits)
                for w in (fw, pw):
                    w.mark_done(s, s + len(logits))
        return out

    times: dict[str, list[float]] = {"resumable": [], "atomic": []}
    for r in range(args.rounds):  # alternate which side goes first (a busy machine drifts)
        for tag in ("resumable", "atomic")[:: 1 if r % 2 == 0 else -1]:
            t0 = time.perf_counter()
            run(False if tag == "resumable" else None, tag)
            times[tag].append(time.perf_counter() - t0)
    with h5py.File(folder / "resumable.h5") as a, h5py.File(folder / "atomic.h5") as b:
        for name in names:
            np.testing.assert_array_equal(a["layers"][name][...], b["layers"][name][...])
    print("rounds (s):", {k: [round(t, 3) for t in v] for k, v in times.items()})
    ra, rb = args.images / min(times["resumable"]), args.images / min(times["atomic"])
    print(f"convnet, {args.images} images at {args.size} px, layers {','.join(names)} ({args.pool}) + predictions, "
          f"batch {args.batch}, CPU threads {torch.get_num_threads()}")
    print(f"resumable (partial files, flushed per batch): {ra:8.1f} images/s")
    print(f"atomic (one write at the end):                {rb:8.1f} images/s")
    print(f"ratio resumable / atomic = {ra / rb:.3f}  (goal ≥ 0.95: {'met' if ra / rb >= 0.95 else 'NOT met'})")


if __name__ == "__main__":
    main()
