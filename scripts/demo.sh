#!/usr/bin/env bash
# make demo: the main job on the built-in default (Fashion-MNIST, real WordNet), offline, CPU.
# Grows with each feature; today: Fashion-MNIST -> imageset -> semantic regrouping -> summary.
# Rerunning overwrites demo-out/ (idempotent). SEMTOOL and DEMO_OUT may be set to override.
set -euo pipefail
cd "$(dirname "$0")/.."
S=${SEMTOOL:-.venv/bin/semtool}
OUT=${DEMO_OUT:-demo-out}
mkdir -p "$OUT"
echo "==> semtool demo: results go to $OUT/"

echo "==> what is available (semtool doctor)"
$S doctor

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${FASHION_ROOT:-}" ]; then
  echo "!! Fashion-MNIST is missing: sudo apt-get install dataset-fashion-mnist" >&2
  echo "   (or set FASHION_ROOT to a folder with its IDX .gz files)" >&2
  exit 1
fi
ROOT_ARGS=()
[ -n "${FASHION_ROOT:-}" ] && ROOT_ARGS=(--root "$FASHION_ROOT")

echo "==> Fashion-MNIST -> imagesets (60,000 train / 10,000 test images)"
for split in train test; do
  $S dataset fashion-mnist "${ROOT_ARGS[@]}" --split "$split" -o "$OUT/fashion-$split.h5" --force
done

echo "==> regroup: tops and footwear spread over semantic groups (preset fashion-mnist)"
for split in train test; do
  $S regroup "$OUT/fashion-$split.h5" --preset fashion-mnist -o "$OUT/regrouped-$split.h5" --force
done

echo "==> the regrouped training set"
$S info "$OUT/regrouped-train.h5"
echo "==> demo finished: files in $OUT/"
