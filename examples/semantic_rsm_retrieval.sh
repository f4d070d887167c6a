#!/usr/bin/env bash
# Semantic RSMs (Wald et al. 2024): compare samples by *what* their feature maps
# contain, not *where*.
#
# Reproduces: on the last block's feature maps of N test images, the spatio-semantic RSM
#   (flattened maps) and the semantic RSM (each pair's spatial positions matched first by an
#   optimal assignment), plus the approximate matchers (batch-optimal with K-blocks, greedy)
#   with their fraction of the optimum; each evaluated by retrieval (top-1 / F1@1: does the
#   nearest other image share the class?) and by correlation with the Jensen-Shannon
#   similarity of the predicted class probabilities; a TSV of all numbers and the heatmaps.
#   The paper's finding to look for: semantic RSMs retrieve better and correlate better.
# Needs: a semtool model file (MODEL; e.g. from examples/dsi_training_curves.sh), its test
#   imageset (DATA), and LAYER (layer4 for a ResNet). CPU: minutes for N = 1,000 (the optimal
#   matcher solves N²/2 assignments; use --workers); a GPU helps for large N.
# Offline mode (--offline, CPU, about a minute): Fashion-MNIST from the Debian package, a
#   convnet trained for 2 epochs, N = 60 images of its block3.
#
# Usage: examples/semantic_rsm_retrieval.sh [--offline] [--out DIR]
# Environment: MODEL, DATA, LAYER, N (1000), WORKERS (1), SEMTOOL / PYTHON.
source "$(dirname "$0")/_common.sh"

parse_args --offline rsm-out "$@"
OFFLINE=$MODE

if [ "$OFFLINE" = 1 ]; then
  step "offline: Fashion-MNIST subsets and a convnet trained for 2 epochs"
  offline_fashion "$OUT" 100 20
  run train "$OUT/train.h5" -o "$OUT/model.safetensors" --arch convnet --epochs 2 --lr 0.05 --device cpu --force
  MODEL=$OUT/model.safetensors DATA=$OUT/test.h5 LAYER=block3 N=${N:-60}
else
  MODEL=${MODEL:-dsi-out/model.safetensors}
  DATA=${DATA:-dsi-out/test.h5}
  LAYER=${LAYER:-layer4}
  N=${N:-1000}
fi

step "feature maps of $LAYER (not pooled) for the first $N images, and their predictions"
run features "$MODEL" "$DATA" --layers "$LAYER" --pool none --limit "$N" -o "$OUT/maps.h5" \
    --predictions "$OUT/predictions.h5" --force

step "RSMs: spatio-semantic, then semantic with each matcher; retrieval and prediction correlation"
printf 'rsm\ttop1\tf1_at_1\tpearson\tspearman\n' > "$OUT/retrieval.tsv"
evaluate() {  # name, then rsm options
  local name=$1; shift
  run rsm "$OUT/maps.h5" --layer "$LAYER" "$@" --evaluate --predictions "$OUT/predictions.h5" \
      --workers "${WORKERS:-1}" -o "$OUT/rsm-$name.h5" --force --json > "$OUT/rsm-$name.json"
  "$PY" - "$OUT/rsm-$name.json" "$name" >> "$OUT/retrieval.tsv" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))[0]  # --json: a list of records, here one
d = d.get("evaluation", d)
print("\t".join([sys.argv[2]] + [f"{float(d[k]):.4f}" for k in ("top1", "f1_at_1", "pearson", "spearman")]))
PYEOF
}
evaluate spatial
evaluate semantic --semantic --matcher optimal
evaluate batch-optimal --semantic --matcher batch-optimal:4
evaluate greedy --semantic --matcher greedy
column -t -s $'\t' "$OUT/retrieval.tsv" | sed 's/^/    /'

step "figure: spatio-semantic vs semantic RSM, samples sorted by class"
run plot rsm "$OUT/rsm-spatial.h5" "$OUT/rsm-semantic.h5" --label spatio-semantic --label semantic \
    -o "$OUT/rsm.png" --force

echo
echo "==> done: $OUT/retrieval.tsv, $OUT/rsm.png"
