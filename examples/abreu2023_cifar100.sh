#!/usr/bin/env bash
# Semantic mixing augmentation (Abreu, Vaska, Helus 2023), the whole experiment.
#
# Reproduces: CIFAR-100 regrouped into five arbitrary semantic groups (Table 1: one class of
#   each of five visual superclasses per group); MagicMix (Liew et al. 2022) hybrids of every
#   training image toward the other four classes of its group at mix factor 0.5 ("low") and
#   0.75 ("high"); five ResNet-50s, 100 epochs each: a baseline without hybrids and one per
#   (hybrid probability p ∈ {0.25, 0.5}) × (mix factor ∈ {0.5, 0.75}); an L2 PGD sweep
#   (Madry et al. 2018) on the test images; Figures 4–5 (superclass accuracy of the mistakes,
#   share of mistakes inside the visual superclass, against ε) and the SAI tracking curves.
# MagicMix as the paper made it: "the MagicMix pipeline" with a "mix factor" (the diffusers
#   community pipeline, --variant diffusers) and the fine class name as the prompt
#   (--prompt-template '{}'); both are semtool's defaults, written out below. The paper does
#   not say at which size the 32-px images were encoded: MIX_SIZE=512 (default) upsamples
#   them to Stable Diffusion's native 512 px; MIX_SIZE=native encodes them at 32 px, as the
#   community pipeline does with an image handed to it unchanged. To regenerate images made
#   with the community pipeline itself, add --generator community --seed SEED (its default 42).
# Needs: CIFAR-100 in torchvision's layout (CIFAR_ROOT/cifar-100-python, or add --download);
#   Stable Diffusion 1.5 weights (a Hugging Face id in your cache, or a diffusers folder: SD_MODEL);
#   WordNet (Debian's wordnet-base + wordnet-sense-index, or NLTK's corpus).
#   A GPU (estimates, not measured here): 2 × 10,000 MagicMix hybrids take about 3–4 GPU hours on one A100; the five
#   trainings about 5 × 1.5 h; the attack sweep minutes. On a CPU: weeks.
# Dry run (--dry-run, CPU, offline, about a minute): the same chain on a tiny CIFAR-100-format
#   archive (25 classes × 4 images), tiny randomly initialised Stable Diffusion components,
#   convnets trained for 1 epoch and a 5-step attack. Checks the plumbing, not the science.
#
# Usage: examples/abreu2023_cifar100.sh [--dry-run] [--out DIR]
# Environment: CIFAR_ROOT (~/data), SD_MODEL, DEVICE (auto), MIX_SIZE (512 or native),
#   SEMTOOL / PYTHON (executables).
source "$(dirname "$0")/_common.sh"

parse_args --dry-run abreu2023-out "$@"
DRY=$MODE
DEVICE=${DEVICE:-auto}

if [ "$DRY" = 1 ]; then
  step "dry run: tiny CIFAR-100 archive and tiny Stable Diffusion in $OUT/tiny"
  mkdir -p "$OUT/tiny"
  PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$REPO/examples/_tiny_cifar100.py" "$OUT/tiny" --train 4 --test 2
  tiny_models sd "$OUT/tiny"
  CIFAR_ROOT=$OUT/tiny
  SD_MODEL=$OUT/tiny/tiny-sd
  MIX_ARGS=(--size 16 --steps 5 --per-image 1 --dtype fp32 --force)
  TRAIN_ARGS=(--arch convnet --epochs 1 --batch-size 20)
  ATTACK_ARGS=(--steps 5)
  DEVICE=cpu
else
  CIFAR_ROOT=${CIFAR_ROOT:-$HOME/data}
  SD_MODEL=${SD_MODEL:-stable-diffusion-v1-5/stable-diffusion-v1-5}
  MIX_ARGS=(--steps 50 --kmin 0.3 --kmax 0.6 --guidance 7.5 --size "${MIX_SIZE:-512}" --resume)  # --resume: continue after a crash
  TRAIN_ARGS=(--arch resnet50 --cifar-stem --epochs 100 --batch-size 100 --lr 0.1)
  ATTACK_ARGS=(--steps 20)
fi

step "CIFAR-100 -> imagesets, regrouped by Table 1 (25 classes, semantic groups A-E)"
for split in train test; do
  run dataset cifar100 "$CIFAR_ROOT" --split "$split" -o "$OUT/cifar-$split.h5" --force
  run regroup "$OUT/cifar-$split.h5" --preset abreu2023 -o "$OUT/$split.h5" --force
done

step "MagicMix hybrids toward the other classes of each image's semantic group (factor 0.5 and 0.75)"
for factor in 0.5 0.75; do
  if [ "$DRY" = 0 ] && [ -f "$OUT/hybrids-$factor.h5" ]; then
    echo "    keeping $OUT/hybrids-$factor.h5 (hours of GPU time; delete it to make it again)"
    continue
  fi
  run mix "$OUT/train.h5" --method magicmix --variant diffusers --prompt-template '{}' --factor "$factor" \
      --model "$SD_MODEL" --device "$DEVICE" "${MIX_ARGS[@]}" -o "$OUT/hybrids-$factor.h5"
done

step "reference matrices for tracking: WordNet and the semantic grouping"
run csm wordnet --classes-from "$OUT/train.h5" -o "$OUT/wordnet.h5" --force
run csm groups "$OUT/train.h5" -o "$OUT/groups.h5" --force

# name  hybrid-prob  factor
MODELS=("baseline - -" "p0.25-f0.5 0.25 0.5" "p0.25-f0.75 0.25 0.75" "p0.5-f0.5 0.5 0.5" "p0.5-f0.75 0.5 0.75")
for spec in "${MODELS[@]}"; do
  read -r name p factor <<<"$spec"
  HYB=()
  [ "$p" != - ] && HYB=(--hybrids "$OUT/hybrids-$factor.h5" --hybrid-prob "$p")
  step "train $name ($([ "$p" = - ] && echo 'no hybrids' || echo "hybrids at factor $factor with p = $p"))"
  run train "$OUT/train.h5" -o "$OUT/$name.safetensors" "${TRAIN_ARGS[@]}" "${HYB[@]}" --label "$name" \
      --eval "$OUT/test.h5" --curves "$OUT/$name-curves.h5" --track-against "$OUT/wordnet.h5" \
      --track-against "$OUT/groups.h5" --device "$DEVICE" --seed 0 --force
done

step "L2 PGD sweep on the test images (eps 0 = clean)"
for spec in "${MODELS[@]}"; do
  read -r name _ _ <<<"$spec"
  run attack "$OUT/$name.safetensors" "$OUT/test.h5" --eps 0,0.25,0.5,1,2 "${ATTACK_ARGS[@]}" \
      --csm "$OUT/wordnet.h5" --device "$DEVICE" -o "$OUT/$name-attack.h5" --force
done

step "Figures 4-5 (where the mistakes go, against eps) and the tracking curves"
NAMES=(); for spec in "${MODELS[@]}"; do read -r name _ _ <<<"$spec"; NAMES+=("$name"); done
run plot attack $(printf "$OUT/%s-attack.h5 " "${NAMES[@]}") -o "$OUT/figures-4-5.png" --force
run plot curves $(printf "$OUT/%s-curves.h5 " "${NAMES[@]}") -o "$OUT/curves.png" --force

echo
echo "==> done: $OUT/figures-4-5.png, $OUT/curves.png; per-model tables: semtool attack MODEL DATA"
