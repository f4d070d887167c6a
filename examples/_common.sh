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
