# Shared by the examples (sourced, not run): the semtool and python executables, step
# announcements, and small offline inputs. SEMTOOL / PYTHON override the executables
# (default: the repository's .venv, as `make` sets it up).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S=${SEMTOOL:-$REPO/.venv/bin/semtool}
PY=${PYTHON:-$REPO/.venv/bin/python}
STEP=0
step() { STEP=$((STEP + 1)); echo; echo "==> [$STEP] $*"; }
run() { echo "    \$ semtool $*" >&2; "$S" "$@"; }

# offline_fashion OUT PER_CLASS_TRAIN PER_CLASS_TEST: regrouped Fashion-MNIST subsets
# OUT/train.h5 and OUT/test.h5 from Debian's dataset-fashion-mnist (or $FASHION_ROOT).
offline_fashion() {
  local out=$1 ntrain=$2 ntest=$3 root=()
  [ -n "${FASHION_ROOT:-}" ] && root=(--root "$FASHION_ROOT")
  run dataset fashion-mnist "${root[@]}" --split train --limit-per-class "$ntrain" -o "$out/fashion-train.h5" --force
  run dataset fashion-mnist "${root[@]}" --split test --limit-per-class "$ntest" -o "$out/fashion-test.h5" --force
  run regroup "$out/fashion-train.h5" --preset fashion-mnist -o "$out/train.h5" --force
  run regroup "$out/fashion-test.h5" --preset fashion-mnist -o "$out/test.h5" --force
}

# tiny_models KIND... OUT: randomly initialised tiny Stable Diffusion / BLIP / CLIP folders
# (the test suite's builders, saved with save_pretrained) for dry runs without weights.
tiny_models() {
  local out=${!#}
  (cd "$REPO" && PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PY" - "$out" "${@:1:$#-1}" <<'PYEOF'
import sys
from pathlib import Path
from semtool.generate import tiny
out = Path(sys.argv[1])
build = {"sd": tiny.build_stable_diffusion, "blip": tiny.build_blip, "clip": tiny.build_clip}
for kind in sys.argv[2:]:
    build[kind](out / f"tiny-{kind}")
    print(f"    tiny {kind} model in {out / f'tiny-{kind}'}")
PYEOF
  )
}

# usage SCRIPT: print the script's header comment (its documentation).
# parse_args FLAG DEFAULT_OUT "$@": the options every example takes. Sets MODE=1 when FLAG
# (--offline or --dry-run) is given, OUT from --out (else DEFAULT_OUT), and creates OUT.
parse_args() {
  local flag=$1
  OUT=$2
  MODE=0
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
      "$flag") MODE=1 ;;
      --out) OUT=$2; shift ;;
      -h|--help) usage "$0"; exit 0 ;;
      *) echo "$(basename "$0"): unknown option $1" >&2; exit 2 ;;
    esac
    shift
  done
  mkdir -p "$OUT"
}

usage() { awk 'NR > 1 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "$1"; }

# tiny_imagenet_folder DIR PER_CLASS: an ImageNet-style folder of wnid-named classes (the first
# four of ImageNet-1k: tench, goldfish, great white shark, tiger shark), PER_CLASS 48×48 PNGs
# each, every class its own colour plus noise; dry runs read it where real runs read ImageNet's
# validation folder.
tiny_imagenet_folder() {
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
from pathlib import Path
import numpy as np
from PIL import Image
root, n = Path(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
for k, wnid in enumerate(["n01440764", "n01443537", "n01484850", "n01491361"]):
    (root / wnid).mkdir(parents=True, exist_ok=True)
    colour = np.array([[60, 120, 200], [230, 140, 30], [120, 120, 130], [90, 160, 90]][k])
    for i in range(n):
        px = np.clip(colour + rng.normal(0, 40, (48, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(px).save(root / wnid / f"{wnid}_{i}.png")
print(f"    {4 * n} images in {root}")
PYEOF
}

# random_torchvision_weights TORCH_HOME NAME:WEIGHTS...: seeded random state dicts saved under
# the weights' own file names in TORCH_HOME/hub/checkpoints, where torchvision's weights API
# finds them offline (dry runs only: the real runs use the real files).
random_torchvision_weights() {
  local home=$1; shift
  (cd "$REPO" && TORCH_HOME="$home" PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PY" - "$@" <<'PYEOF'
import sys
import torch
import torchvision.models as tvm
from semtool.models import weights_file
for item in sys.argv[1:]:
    name, weights = item.split(":")
    w = tvm.get_model_weights(name)[weights]
    path = weights_file(w)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(tvm.get_model(name, weights=None).state_dict(), path)
    print(f"    random {name} weights as {path}")
PYEOF
  )
}
