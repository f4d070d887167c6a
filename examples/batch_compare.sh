#!/usr/bin/env bash
# Scripting semtool in bash: compare many training runs with one reference in a loop, and
# every run with every other in one call. Writes TSV files a spreadsheet or pandas reads.
#
# For each model file given: its NCSM (`csm ncsm`), SAI against the reference CSM by cosine
#   and by SSIM (`x=$(semtool sai A B)`: piped, a single result is the bare number) and its
#   Mean WSI -> OUT/sai.tsv (one row per run); then `semtool sai --all-pairs` over all the
#   NCSMs and the reference -> OUT/pairs.tsv (an F×F matrix, TSV when piped).
# Needs: model files from `semtool train` (or any state dicts with --classes, see
#   `semtool csm ncsm --help`) and a reference csm file (REFERENCE; default: the WordNet CSM
#   of the first model's classes). CPU, seconds per run.
# Offline mode (--offline, CPU, about a minute): three convnets trained for 1 epoch with
#   seeds 0, 1, 2 on Fashion-MNIST from the Debian package.
#
# Usage: examples/batch_compare.sh [--out DIR] MODEL.safetensors...
#        examples/batch_compare.sh --offline [--out DIR]
# Environment: REFERENCE (a csm file), SEMTOOL / PYTHON.
source "$(dirname "$0")/_common.sh"

OFFLINE=0
OUT=batch-out
MODELS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --offline) OFFLINE=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) usage "$0"; exit 0 ;;
    -*) echo "batch_compare.sh: unknown option $1" >&2; exit 2 ;;
    *) MODELS+=("$1") ;;
  esac
  shift
done
mkdir -p "$OUT/ncsm"

if [ "$OFFLINE" = 1 ]; then
  step "offline: Fashion-MNIST subset and three convnets (seeds 0, 1, 2; 1 epoch)"
  offline_fashion "$OUT" 50 10
  for seed in 0 1 2; do
    run train "$OUT/train.h5" -o "$OUT/seed$seed.safetensors" --arch convnet --epochs 1 --lr 0.05 \
        --seed "$seed" --device cpu --force
    MODELS+=("$OUT/seed$seed.safetensors")
  done
fi
if [ ${#MODELS[@]} -eq 0 ]; then
  echo "batch_compare.sh: give model files, or --offline (try --help)" >&2
  exit 2
fi

REF=${REFERENCE:-}
if [ -z "$REF" ]; then
  step "reference: the WordNet CSM of the models' classes"
  run csm ncsm "${MODELS[0]}" -o "$OUT/ncsm/first.h5" --force
  run csm wordnet --classes-from "$OUT/ncsm/first.h5" -o "$OUT/reference.h5" --force
  REF=$OUT/reference.h5
fi

step "one row per run: SAI (cosine, SSIM) against $(basename "$REF") and Mean WSI -> $OUT/sai.tsv"
printf 'run\tsai_cosine\tsai_ssim\tmean_wsi\n' > "$OUT/sai.tsv"
NCSMS=()
for model in "${MODELS[@]}"; do
  name=$(basename "$model" .safetensors)
  # -q: no "wrote ..." line; semtool's one-line errors still reach stderr (and set -e stops)
  "$S" csm ncsm "$model" -o "$OUT/ncsm/$name.h5" --force -q
  cos=$("$S" sai "$OUT/ncsm/$name.h5" "$REF")
  ssim=$("$S" sai "$OUT/ncsm/$name.h5" "$REF" --measure ssim)
  # --json: a list of records (here one)
  mean_wsi=$("$S" wsi "$OUT/ncsm/$name.h5" --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[0]["mean"])')
  printf '%s\t%s\t%s\t%s\n' "$name" "$cos" "$ssim" "$mean_wsi" | tee -a "$OUT/sai.tsv" | sed 's/^/    /'
  NCSMS+=("$OUT/ncsm/$name.h5")
done

step "every pair at once: semtool sai --all-pairs -> $OUT/pairs.tsv"
"$S" sai --all-pairs "${NCSMS[@]}" "$REF" > "$OUT/pairs.tsv"
column -t -s $'\t' "$OUT/pairs.tsv" | sed 's/^/    /'

echo
echo "==> done: $OUT/sai.tsv, $OUT/pairs.tsv"
