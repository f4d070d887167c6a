#!/usr/bin/env bash
# SGID, semantic-guided image augmentation (Li, Xu, Wang 2023), a replication.
#
# Reproduces: every training image captioned by BLIP (10 beam-search + 10 nucleus-sampled
#   captions), the best caption picked by CLIP's image-text cosine s; one img2img variant per
#   image from Stable Diffusion at strength 0.3 with the prompt "<caption>. A picture of
#   <label>" (label tokens weighted 1.5, caption 0.9) and guidance f(s) = -4s^2 + 2s + 1;
#   then the same classifier trained without and with the variants (p = 0.5, labelled as
#   their own class), and their test accuracies compared. The paper's finding to look for:
#   the SGID variants raise test accuracy.
# Needs: CIFAR-100 (CIFAR_ROOT), BLIP (Salesforce/blip-image-captioning-base), CLIP
#   (openai/clip-vit-base-patch32) and Stable Diffusion 1.5 weights from your Hugging Face
#   cache (or folders: BLIP_MODEL, CLIP_MODEL, SD_MODEL). A GPU (estimates, not measured here): captioning 50,000 images
#   ~1 h, img2img ~3 h on one A100, each training ~1.5 h.
# Offline mode (--offline, CPU, no weights, about a minute): 4 Fashion-MNIST images per class,
#   tiny randomly initialised BLIP / CLIP / Stable Diffusion folders (the test suite's
#   builders), 4 beams + 2 samples, 5 diffusion steps, convnets trained for 2 epochs.
#   The captions are gibberish and the images noise: it checks the plumbing only.
#
# Usage: examples/sgid_augment.sh [--offline] [--out DIR]
# Environment: CIFAR_ROOT, BLIP_MODEL, CLIP_MODEL, SD_MODEL, DEVICE (auto), SEMTOOL / PYTHON.
source "$(dirname "$0")/_common.sh"

parse_args --offline sgid-out "$@"
OFFLINE=$MODE
DEVICE=${DEVICE:-auto}

if [ "$OFFLINE" = 1 ]; then
  step "offline: Fashion-MNIST subsets and tiny BLIP / CLIP / Stable Diffusion folders"
  offline_fashion "$OUT" 4 4
  tiny_models blip clip sd "$OUT"
  BLIP_MODEL=$OUT/tiny-blip CLIP_MODEL=$OUT/tiny-clip SD_MODEL=$OUT/tiny-sd DEVICE=cpu
  CAPTION_ARGS=(--beams 4 --samples 2 --max-new-tokens 8 --dtype fp32)
  MIX_ARGS=(--size 16 --steps 5 --dtype fp32)
  TRAIN_ARGS=(--arch convnet --epochs 2 --batch-size 20 --lr 0.05)
else
  step "CIFAR-100 -> imagesets"
  for split in train test; do
    run dataset cifar100 "${CIFAR_ROOT:-$HOME/data}" --split "$split" -o "$OUT/$split.h5" --force
  done
  BLIP_MODEL=${BLIP_MODEL:-Salesforce/blip-image-captioning-base}
  CLIP_MODEL=${CLIP_MODEL:-openai/clip-vit-base-patch32}
  SD_MODEL=${SD_MODEL:-stable-diffusion-v1-5/stable-diffusion-v1-5}
  CAPTION_ARGS=(--beams 10 --samples 10 --resume)
  MIX_ARGS=(--steps 50 --resume)
  TRAIN_ARGS=(--arch resnet18 --cifar-stem --epochs 100)
fi
FORCE=(); [ "$OFFLINE" = 1 ] && FORCE=(--force)

step "captions: BLIP proposes, CLIP picks the best; guidance f(s) = -4s^2 + 2s + 1"
run caption "$OUT/train.h5" --blip "$BLIP_MODEL" --clip "$CLIP_MODEL" --device "$DEVICE" \
    "${CAPTION_ARGS[@]}" -o "$OUT/captions.h5" "${FORCE[@]}"

step "SGID variants: img2img (strength 0.3) toward '<caption>. A picture of <label>'"
run mix "$OUT/train.h5" --method sgid --captions "$OUT/captions.h5" --model "$SD_MODEL" --strength 0.3 \
    --device "$DEVICE" "${MIX_ARGS[@]}" -o "$OUT/sgid.h5" "${FORCE[@]}"

step "train without and with the SGID variants (p = 0.5; a variant keeps its own class)"
run train "$OUT/train.h5" -o "$OUT/plain.safetensors" "${TRAIN_ARGS[@]}" --eval "$OUT/test.h5" \
    --curves "$OUT/plain-curves.h5" --label plain --device "$DEVICE" --seed 0 --force
run train "$OUT/train.h5" -o "$OUT/sgid.safetensors" "${TRAIN_ARGS[@]}" --eval "$OUT/test.h5" \
    --hybrids "$OUT/sgid.h5" --hybrid-prob 0.5 --hybrid-target-weight 0 \
    --curves "$OUT/sgid-curves.h5" --label sgid --device "$DEVICE" --seed 0 --force

step "test accuracy per epoch, both runs"
run plot curves "$OUT/plain-curves.h5" "$OUT/sgid-curves.h5" --series accuracy/eval -o "$OUT/accuracy.png" --force
"$PY" - "$OUT" <<'PYEOF'
import sys
from pathlib import Path
from semtool import store
out = Path(sys.argv[1])
for run in ("plain", "sgid"):
    with store.open_file(out / f"{run}-curves.h5", "curves") as f:
        print(f"    {run:6s} final test accuracy {f['accuracy/eval'][-1]:.3f}")
PYEOF
echo
echo "==> done: $OUT/accuracy.png, $OUT/captions.h5 (semtool info), $OUT/sgid.h5"
