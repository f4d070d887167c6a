"""`semtool report` (one process) against the same steps as separate `semtool` commands.

Run: python benchmarks/report.py [--images 1000] [--permutations 1000] [--repeats 1]

A convnet (trained one epoch on 2,000 Fashion-MNIST training images, 28 px) gets a card on
the first --images Fashion-MNIST test images: `semtool report MODEL DATA -o DIR` against a
shell script of the single commands that make the same files and print the same numbers
(features + predictions, the maps for the RSMs, csm wordnet/ncsm/ccsm/tncsm, embed,
twovtwo with --one-vs-two, rsm twice, sai ×6, idm ×4, wsi, plot csm/twovtwo/rsm). Goal ≥ 1.5×
(one process, the model loaded once, activations extracted once). Both sides run here, in
this process's Python, on this checkout, on a fresh output folder each.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

from _wall import wall

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def commands(model: Path, data: Path, out: Path, perms: int, rsm: int) -> list[str]:
    """The single commands of a card, as a user would type them."""
    s = f"{shlex.quote(sys.executable)} -m semtool -q"
    m, d, o = (shlex.quote(str(p)) for p in (model, data, out))
    cmds = [
        f"{s} features {m} {d} --layers pixels,blocks --device cpu --predictions {o}/predictions.h5 -o {o}/features.h5",
        f"{s} features {m} {d} --layers block3 --pool none --limit {rsm} --device cpu "
        f"--predictions {o}/maps-predictions.h5 -o {o}/maps.h5",
        f"{s} csm wordnet --classes-from {d} -o {o}/wordnet.h5",
        f"{s} csm ncsm {m} -o {o}/ncsm.h5",
        f"{s} csm ccsm {o}/predictions.h5 -o {o}/ccsm.h5",
        f"{s} csm tncsm {o}/features.h5 --layer block3 -o {o}/tncsm.h5",
        f"{s} embed --concepts-from {d} -o {o}/words.h5",
        f"{s} twovtwo {o}/features.h5 {o}/words.h5 --permutations {perms} --one-vs-two {o}/predictions.h5 "
        f"-o {o}/twovtwo.h5",
        f"{s} rsm {o}/maps.h5 --layer block3 --semantic --evaluate --predictions {o}/maps-predictions.h5 "
        f"-o {o}/rsm-semantic.h5",
        f"{s} rsm {o}/maps.h5 --layer block3 --evaluate --predictions {o}/maps-predictions.h5 -o {o}/rsm-spatial.h5",
    ]
    for c in ("ncsm", "ccsm", "tncsm"):
        for measure in ("cosine", "ssim"):
            cmds.append(f"{s} sai {o}/{c}.h5 {o}/wordnet.h5 --intersect -m {measure}")
    for c in ("wordnet", "ncsm"):
        cmds += [f"{s} idm {o}/predictions.h5 --csm {o}/{c}.h5", f"{s} idm {o}/predictions.h5 --csm {o}/{c}.h5 --errors-only"]
    cmds += [f"{s} wsi {o}/ncsm.h5",
             f"{s} plot csm {o}/ncsm.h5 {o}/ccsm.h5 {o}/tncsm.h5 {o}/wordnet.h5 -o {o}/csm.png",
             f"{s} plot twovtwo {o}/twovtwo.h5 -o {o}/twovtwo.png",
             f"{s} plot rsm {o}/rsm-spatial.h5 {o}/rsm-semantic.h5 -o {o}/rsm.png"]
    return cmds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--permutations", type=int, default=1000)
    ap.add_argument("--rsm-samples", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()

    import numpy as np

    from semtool.learn.trainer import TrainOptions, train

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for split, n in (("train", 200), ("test", None)):
            cmd = [py, "-m", "semtool", "-q", "dataset", "fashion-mnist", "--split", split, "-o", str(d / f"{split}.h5")]
            wall(cmd + (["--limit-per-class", str(n)] if n else []), ENV)
        from semtool.data.imageset import read_imageset, write_imageset

        test = read_imageset(d / "test.h5")
        write_imageset(d / "data.h5", test.subset(np.arange(args.images)), command="benchmark", parameters={})
        train(TrainOptions(data=str(d / "train.h5"), output=str(d / "m.safetensors"), epochs=1, lr=0.05,
                           device="cpu", seed=0))
        model, data = d / "m.safetensors", d / "data.h5"
        card_cmd = [py, "-m", "semtool", "-q", "report", str(model), str(data), "--permutations",
                    str(args.permutations), "--rsm-samples", str(args.rsm_samples), "--device", "cpu"]
        t_card, t_cmds = [], []
        for k in range(args.repeats):
            t_card.append(wall(card_cmd + ["-o", str(d / f"card{k}")], ENV))
            out = d / f"cmds{k}"
            out.mkdir()
            script = d / f"cmds{k}.sh"
            script.write_text("set -e\n" + "\n".join(commands(model, data, out, args.permutations,
                                                               args.rsm_samples)) + "\n")
            t_cmds.append(wall(["bash", str(script)], ENV))
        n_cmds = len(commands(model, data, d, 0, 0))
        card, cmds = statistics.median(t_card), statistics.median(t_cmds)
        print(f"card of a convnet on {args.images} Fashion-MNIST test images ({args.permutations} permutations, "
              f"{args.rsm_samples} RSM images):")
        print(f"  semtool report (one process):      {card:.1f} s (median of {args.repeats})")
        print(f"  {n_cmds} separate semtool commands:  {cmds:.1f} s (median of {args.repeats})")
        print(f"ratio: {cmds / card:.2f}×   (goal ≥ 1.5×)")


if __name__ == "__main__":
    main()
