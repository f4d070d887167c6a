#!/usr/bin/env bash
# make demo: the main job of semtool on the built-in default, on a CPU, offline.
#
#   Fashion-MNIST (Debian package) -> imagesets -> semantic regrouping (preset fashion-mnist)
#   -> mixup hybrids toward the other classes of each image's semantic group (factors 0.5, 0.75)
#   -> a small convnet trained without and with hybrids (p = 0.5), tracked every epoch against
#      WordNet and against the grouping -> one 'semtool report' card per model (NCSM, CCSM,
#      TNCSM, WordNet, SAI, IDM, WSI, 2 vs 2 per layer against MiniLM, semantic vs
#      spatio-semantic RSMs, L2 PGD sweep eps 0 .. 2) -> the training comparison -> REPORT.md
#
# Usage: bash scripts/demo.sh [--quick] [--out DIR]
#   --quick   the same steps with tiny sizes (under 2 minutes; used by the test suite)
# Environment: SEMTOOL, PYTHON (default .venv/bin/semtool, .venv/bin/python), DEMO_OUT (demo-out),
#   FASHION_ROOT (folder with the Fashion-MNIST IDX .gz files), and the sizes (defaults below)
#   (DEMO_TRAIN_PER_CLASS, DEMO_TEST_PER_CLASS, DEMO_EPOCHS, DEMO_RSM_N).
# Re-running replaces every file (--force; a card reuses the steps whose inputs did not change).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
OUT=${DEMO_OUT:-demo-out}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

S=${SEMTOOL:-.venv/bin/semtool}
PY=${PYTHON:-.venv/bin/python}
if [ "$QUICK" = 1 ]; then
  TRAIN_PC=${DEMO_TRAIN_PER_CLASS:-40}; TEST_PC=${DEMO_TEST_PER_CLASS:-10}
  EPOCHS=${DEMO_EPOCHS:-2}; RSM_N=${DEMO_RSM_N:-40}
  PERMS=50; ATTACK_STEPS=5
else
  # sized for <= 10 minutes on 2 CPU cores: measured 6.3 min wall, 8 CPU-minutes (2 cores, some other load)
  TRAIN_PC=${DEMO_TRAIN_PER_CLASS:-1000}; TEST_PC=${DEMO_TEST_PER_CLASS:-100}
  EPOCHS=${DEMO_EPOCHS:-6}; RSM_N=${DEMO_RSM_N:-200}
  PERMS=1000; ATTACK_STEPS=20
fi
EPS=0,0.25,0.5,1,2

mkdir -p "$OUT"
START=$(date +%s)
STEP=0
TOTAL=10
step() {
  STEP=$((STEP + 1))
  echo
  echo "==> [$STEP/$TOTAL] $*   ($(( $(date +%s) - START )) s so far)"
}
run() { echo "    \$ semtool $*"; "$S" "$@"; }

echo "==> semtool demo: results go to $OUT/ (train $TRAIN_PC and test $TEST_PC images per class," \
     "$EPOCHS epochs$([ "$QUICK" = 1 ] && echo ', quick mode'))"

if [ -z "${FASHION_ROOT:-}" ] && [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "!! Fashion-MNIST is missing: sudo apt-get install dataset-fashion-mnist" >&2
  echo "   (or set FASHION_ROOT to a folder with its IDX .gz files)" >&2
  exit 1
fi
ROOT_ARGS=()
[ -n "${FASHION_ROOT:-}" ] && ROOT_ARGS=(--root "$FASHION_ROOT")

step "Fashion-MNIST -> imagesets ($TRAIN_PC train / $TEST_PC test images per class, drawn at random)"
run dataset fashion-mnist "${ROOT_ARGS[@]}" --split train --limit-per-class "$TRAIN_PC" -o "$OUT/fashion-train.h5" --force
run dataset fashion-mnist "${ROOT_ARGS[@]}" --split test --limit-per-class "$TEST_PC" -o "$OUT/fashion-test.h5" --force

step "regroup: tops and footwear spread over the semantic groups summer/sport/winter/office"
run regroup "$OUT/fashion-train.h5" --preset fashion-mnist -o "$OUT/train.h5" --force
run regroup "$OUT/fashion-test.h5" --preset fashion-mnist -o "$OUT/test.h5" --force

step "hybrids: mixup of each training image toward another class of its semantic group (factors 0.5 and 0.75)"
run mix "$OUT/train.h5" --method mixup --factor 0.5 --per-image 1 -o "$OUT/mixup-0.5.h5" --force
run mix "$OUT/train.h5" --method mixup --factor 0.75 --per-image 1 -o "$OUT/mixup-0.75.h5" --force

step "reference class similarity matrices: WordNet (path similarity) and the semantic grouping"
run csm wordnet --classes-from "$OUT/train.h5" -o "$OUT/wordnet.h5" --force
run csm groups "$OUT/train.h5" -o "$OUT/groups.h5" --force

TRACK=(--eval "$OUT/test.h5" --track-against "$OUT/wordnet.h5" --track-against "$OUT/groups.h5"
       --epochs "$EPOCHS" --lr 0.05 --seed 0 --device cpu --force)
step "train convnet WITHOUT hybrids ($EPOCHS epochs, SAI/IDM/WSI tracked every epoch)"
run train "$OUT/train.h5" -o "$OUT/baseline.safetensors" --curves "$OUT/baseline-curves.h5" \
    --label baseline "${TRACK[@]}"

step "train convnet WITH hybrids (p = 0.5, both mix factors)"
run train "$OUT/train.h5" -o "$OUT/hybrids.safetensors" --curves "$OUT/hybrids-curves.h5" \
    --label hybrids --hybrids "$OUT/mixup-0.5.h5" --hybrids "$OUT/mixup-0.75.h5" --hybrid-prob 0.5 "${TRACK[@]}"

for m in baseline hybrids; do
  step "semtool report: the semantic-alignment card of the $m model (CSMs, SAI, IDM, WSI, 2 vs 2, RSMs, L2 PGD at eps in {$EPS})"
  run report "$OUT/$m.safetensors" "$OUT/test.h5" -o "$OUT/card-$m" --attack "$EPS" --attack-steps "$ATTACK_STEPS" \
      --permutations "$PERMS" --rsm-samples "$RSM_N" --device cpu
done

step "figures comparing the two runs: training curves, and where the mistakes go under attack"
mkdir -p "$OUT/figures"
run plot curves "$OUT/baseline-curves.h5" "$OUT/hybrids-curves.h5" --series accuracy --series 'sai/*/ncsm' \
    --series idm --series wsi -o "$OUT/figures/curves.png" --force
run plot attack "$OUT/card-baseline/attack.h5" "$OUT/card-hybrids/attack.h5" --label baseline --label hybrids \
    -o "$OUT/figures/attack.png" --force

step "REPORT.md"
"$PY" scripts/demo_report.py "$OUT" --train-per-class "$TRAIN_PC" --test-per-class "$TEST_PC" \
    --epochs "$EPOCHS" --attack-steps "$ATTACK_STEPS" --seconds "$(( $(date +%s) - START ))" $([ "$QUICK" = 1 ] && echo --quick)

echo
echo "==> demo finished in $(( $(date +%s) - START )) s; read the report:"
echo "$OUT/REPORT.md"
