#!/usr/bin/env bash
# Semantic RSMs (Wald et al. 2024) of a pretrained Hugging Face backbone's tokens.
#
# Reproduces: the token outputs (N, T, D) of a backbone without a classification head
#   (default hf:facebook/dinov2-small, its last encoder layer, not pooled) on ImageNet
#   validation images, compared sample by sample three ways: the spatio-semantic RSM of the
#   flattened token maps, and the semantic RSM with the tokens of each pair matched first
#   (optimal assignment, then the greedy matcher with its fraction of the optimum); each
#   evaluated by retrieval (top-1 / F1@1: does the nearest other image share the class?).
#   The paper's finding to look for: the semantic RSM retrieves better than the
#   spatio-semantic one, since a token's position carries no meaning of its own.
# Needs: the backbone (a Hugging Face folder, or hf:ID in the hub cache / online; set
#   BACKBONE), ImageNet validation images in wnid folders (VAL_DIR). CPU: minutes for
#   N = 500 (the optimal matcher solves N²/2 assignments of T×T tokens; use WORKERS).
# Dry-run mode (--dry-run, CPU, offline, under a minute): a tiny randomly initialised DINOv2
#   (2 layers, 28 px, 16 patches + the class token) built from its config and saved with
#   save_pretrained with its image-processor config, 4 synthetic classes × 8 images.
#
# Usage: examples/semantic_rsm_backbones.sh [--dry-run] [--out DIR]
# Environment: BACKBONE, LAYER (the last encoder layer), VAL_DIR, PER_CLASS (5), N (500),
#   WORKERS (1), SEMTOOL / PYTHON.
source "$(dirname "$0")/_common.sh"

parse_args --dry-run rsm-backbones-out "$@"
DRY=$MODE

if [ "$DRY" = 1 ]; then
  step "dry run: a tiny random DINOv2 folder and a tiny wnid folder"
  "$PY" - "$OUT/tiny-dinov2" <<'PYEOF'
import sys
import torch
from transformers import BitImageProcessor, Dinov2Config, Dinov2Model
torch.manual_seed(0)
Dinov2Model(Dinov2Config(image_size=28, patch_size=7, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(sys.argv[1])
BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 28, "width": 28}, do_center_crop=True,
                  image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(sys.argv[1])
print(f"    tiny DINOv2 in {sys.argv[1]}")
PYEOF
  tiny_imagenet_folder "$OUT/val" 8
  BACKBONE=$OUT/tiny-dinov2; LAYER=${LAYER:-encoder.layer.1}; VAL_DIR=$OUT/val; PER_CLASS=8; N=${N:-32}
  SIZE=(--size 32 --crop 28)
else
  BACKBONE=${BACKBONE:-hf:facebook/dinov2-small}; LAYER=${LAYER:-encoder.layer.11}
  VAL_DIR=${VAL_DIR:-$HOME/imagenet/val}; PER_CLASS=${PER_CLASS:-5}; N=${N:-500}; SIZE=(--size 256 --crop 224)
fi

step "validation imageset from wnid folders"
run dataset folder "$VAL_DIR" "${SIZE[@]}" --split val --limit-per-class "$PER_CLASS" -o "$OUT/val.h5" --force

step "what the backbone is: family, preprocessing, stages"
run info "$BACKBONE"

step "token outputs (N, T, D) of $LAYER, not pooled"
run features "$BACKBONE" "$OUT/val.h5" --layers "$LAYER" --pool none -o "$OUT/tokens.h5" --force

step "RSMs: spatio-semantic, then semantic (optimal and greedy matching), each by retrieval"
printf 'rsm\ttop1\tf1_at_1\n' > "$OUT/retrieval.tsv"
evaluate() {  # name, then rsm options
  local name=$1; shift
  run rsm "$OUT/tokens.h5" --layer "$LAYER" "$@" --samples "$N" --evaluate --workers "${WORKERS:-1}" \
      -o "$OUT/rsm-$name.h5" --force --json > "$OUT/rsm-$name.json"
  "$PY" - "$OUT/rsm-$name.json" "$name" >> "$OUT/retrieval.tsv" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))[0]  # --json: a list of records, here one
d = d.get("evaluation", d)
print("\t".join([sys.argv[2]] + [f"{float(d[k]):.4f}" for k in ("top1", "f1_at_1")]))
PYEOF
}
evaluate spatial
evaluate semantic --semantic --matcher optimal
evaluate greedy --semantic --matcher greedy
column -t -s $'\t' "$OUT/retrieval.tsv" | sed 's/^/    /'

echo
echo "==> done: $OUT/retrieval.tsv"
