#!/usr/bin/env bash
# Dharmaretnam & Fyshe (2018) on ImageNet: does a pretrained CNN's similarity structure over
# concepts agree with a word-vector space, layer by layer from the pixels to the classifier?
#
# Reproduces: the concepts of ImageNet-1k found in a word-vector file (the paper: 166 found
#   in every one of its spaces), 5 validation images per concept (5 groups of one image per
#   concept, accuracy averaged over groups), VGG-16's activations (mean-pooled) at the raw
#   pixels, the five pooling stages and fc6, fc7, fc8; 2 vs 2 accuracy per layer against the
#   word space with a 1,000-permutation null; the 1 vs 2 test on the misclassified images;
#   the per-layer figure. The paper finds agreement with word spaces growing with depth.
# Needs: an ImageNet validation folder in WordNet-id subfolders (IMAGENET; torchvision's
#   ImageNet prepares it as val/<wnid>/), torchvision's VGG-16 weights (MODEL, default
#   torchvision:vgg16:IMAGENET1K_V1; in $TORCH_HOME's cache or downloaded), and a word-vector
#   file (VECTORS: word2vec binary such as GoogleNews-vectors-negative300.bin.gz, word2vec or
#   fastText text, or GloVe text; see the README's word-space section). A GPU helps (5,000
#   images through VGG-16); the 2 vs 2 tests with ~800 concepts take tens of minutes on a CPU.
#   POOL=none keeps whole maps, as flattened activations (pool1 alone: ~16 GB for 5,000 images).
# Dry run (--dry-run, CPU, about a minute): 8 ImageNet classes × 5 generated 48-pixel images,
#   random VGG-16 weights (with a nearest-class-mean last layer) placed in the cache of a
#   private $TORCH_HOME (OUT/torch-home), a generated 10-word vector file holding 6 of the
#   8 classes, 200 permutations.
#
# Usage: examples/dharmaretnam2018_imagenet.sh [--dry-run] [--out DIR]
# Environment: IMAGENET, VECTORS, MODEL, LAYERS (pixels,blocks,classifier.1,classifier.4,
#   classifier.6), POOL (mean), PERMUTATIONS (1000), DEVICE (auto), SEMTOOL / PYTHON.
source "$(dirname "$0")/_common.sh"

parse_args --dry-run dharmaretnam2018-out "$@"
DRY=$MODE
MODEL=${MODEL:-torchvision:vgg16:IMAGENET1K_V1}
LAYERS=${LAYERS:-pixels,blocks,classifier.1,classifier.4,classifier.6}
PERMS=${PERMUTATIONS:-1000}
helper() { PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$REPO/examples/_dry_imagenet.py" "$@"; }

if [ "$DRY" = 1 ]; then
  step "dry run: a generated ImageNet-style folder and word-vector file"
  export TORCH_HOME=$OUT/torch-home  # never the user's cache: the weights written there are random
  helper inputs "$OUT"
  IMAGENET=$OUT/val VECTORS=$OUT/vectors.txt.gz PERMS=${PERMUTATIONS:-200}
  SIZE=(--size 40 --crop 32)
else
  IMAGENET=${IMAGENET:?set IMAGENET to an ImageNet validation folder (val/<wnid>/*.JPEG)}
  VECTORS=${VECTORS:?set VECTORS to a word-vector file (word2vec, fastText or GloVe)}
  SIZE=(--size 256 --crop 224)
fi

step "5 validation images per class, resized as torchvision evaluates ImageNet"
run dataset folder "$IMAGENET" "${SIZE[@]}" --limit-per-class 5 --split val -o "$OUT/val.h5" --force

if [ "$DRY" = 1 ]; then
  step "dry run: random $MODEL weights in \$TORCH_HOME's cache"
  helper weights "$MODEL" "$OUT/val.h5"
fi

step "the word space: the class names' vectors, as the file spells them (missing ones named)"
run embed --vectors "$VECTORS" --concepts-from "$OUT/val.h5" -o "$OUT/words.h5" --force

step "activations from the pixels to the classifier, and the clean predictions"
run features "$MODEL" "$OUT/val.h5" --layers "$LAYERS" --pool "${POOL:-mean}" --device "${DEVICE:-auto}" \
    -o "$OUT/features.h5" --predictions "$OUT/predictions.h5" --force

step "2 vs 2 per layer on the concepts found in the vectors ($PERMS permutations), 1 vs 2 on the mistakes"
run twovtwo "$OUT/features.h5" "$OUT/words.h5" --common --layers all --permutations "$PERMS" \
    --one-vs-two "$OUT/predictions.h5" -o "$OUT/twovtwo.h5" --force

step "figure: accuracy per layer with the null's 95th percentile"
run plot twovtwo "$OUT/twovtwo.h5" -o "$OUT/twovtwo.png" --force

echo
echo "==> done: $OUT/twovtwo.png, $OUT/twovtwo.h5"
