#!/usr/bin/env bash
# Deep Similarity Inspector (Filus et al.): how a network's class similarity
# aligns with WordNet while it trains.
#
# Reproduces: a ResNet-18 trained on CIFAR-100 (100 classes) with the class similarity
#   matrices taken every epoch: NCSM (cosine between the classifier's class weights), CCSM
#   (the eval set's confusions), SAI against the WordNet CSM, network- and WordNet-based IDM,
#   Mean/Max/Min WSI; afterwards the same measures recomputed from the saved NCSM snapshots
#   (`csm ncsm CURVES` -> `sai`, `wsi`) and the figures: curves over epochs and the NCSM of
#   the first vs the last epoch beside WordNet. The seed's finding to look for: SAI rises in
#   the first epochs, then stabilises.
# Needs: CIFAR-100 (CIFAR_ROOT/cifar-100-python or --download), WordNet (Debian's
#   wordnet-base + wordnet-sense-index). A GPU (estimate, not measured here): ~1 h for 100 epochs.
# Offline mode (--offline, CPU, no data to fetch, about a minute): Fashion-MNIST from the
#   Debian package (60 train / 20 test images per class), a small convnet, 3 epochs.
#
# Usage: examples/dsi_training_curves.sh [--offline] [--out DIR]
# Environment: CIFAR_ROOT (~/data), EPOCHS, DEVICE (auto), SEMTOOL / PYTHON.
source "$(dirname "$0")/_common.sh"

parse_args --offline dsi-out "$@"
OFFLINE=$MODE

if [ "$OFFLINE" = 1 ]; then
  step "offline data: Fashion-MNIST subsets"
  offline_fashion "$OUT" 60 20
  TRAIN_ARGS=(--arch convnet --epochs "${EPOCHS:-3}" --lr 0.05 --device cpu)
else
  step "CIFAR-100 -> imagesets (all 100 classes, synsets from the cifar100 preset)"
  for split in train test; do
    run dataset cifar100 "${CIFAR_ROOT:-$HOME/data}" --split "$split" -o "$OUT/$split.h5" --force
  done
  TRAIN_ARGS=(--arch resnet18 --cifar-stem --epochs "${EPOCHS:-100}" --device "${DEVICE:-auto}")
fi

step "the WordNet class similarity matrix (NLTK path similarity)"
run csm wordnet --classes-from "$OUT/train.h5" -o "$OUT/wordnet.h5" --force

step "train, tracking NCSM/CCSM, SAI, IDM and WSI after every epoch"
run train "$OUT/train.h5" -o "$OUT/model.safetensors" "${TRAIN_ARGS[@]}" --eval "$OUT/test.h5" \
    --curves "$OUT/curves.h5" --track-against "$OUT/wordnet.h5" --label "${LABEL:-run}" --seed 0 --force

step "from the snapshots: the NCSM stack, SAI(NCSM, WordNet) per epoch, WSI per epoch"
run csm ncsm "$OUT/curves.h5" -o "$OUT/ncsm-stack.h5" --force
run sai "$OUT/ncsm-stack.h5" "$OUT/wordnet.h5" --measure cosine -o "$OUT/sai-wordnet.h5" --force
run wsi "$OUT/ncsm-stack.h5" --json > "$OUT/wsi.json"
echo "    WSI per epoch in $OUT/wsi.json"

step "figures: curves over epochs; NCSM after the first and the last epoch beside WordNet"
run plot curves "$OUT/curves.h5" -o "$OUT/curves.png" --force
run plot csm "$OUT/curves.h5" "$OUT/curves.h5" "$OUT/wordnet.h5" --epoch 0 --epoch -1 --epoch -1 \
    --label "NCSM, first epoch" --label "NCSM, last epoch" --label WordNet --scale minmax \
    -o "$OUT/ncsm-first-last.png" --force

echo
echo "==> done: $OUT/curves.png, $OUT/ncsm-first-last.png, $OUT/sai-wordnet.h5"
