#!/usr/bin/env bash
# Deep Similarity Inspector (Filus et al.) on networks someone else trained: ImageNet-1k
# classifiers from torchvision, compared with WordNet.
#
# Reproduces: for each network (default torchvision:resnet50, torchvision:vit_b_16,
#   torchvision:swin_v2_t, their DEFAULT weights) the NCSM of its classifier weights and the
#   CCSM of its confusions on an ImageNet validation folder (`attack --eps 0`, the clean
#   evaluation), each compared with the WordNet CSM of the 1000 classes by SAI; the
#   WordNet-based IDM (against WordNet) and the network-based IDM (against its NCSM); Mean /
#   Max / Min WSI of the NCSM; a TSV of all numbers. Classes come from the weights
#   (torchvision's categories, ImageNet-1k's synsets); the folder's wnid-named classes match
#   them by synset, so a folder with a subset of the classes works too (mistakes still count
#   over all 1000 outputs).
# Needs: the networks' weights (downloaded by torchvision, or copied into
#   $TORCH_HOME/hub/checkpoints), ImageNet's validation images in wnid folders (VAL_DIR; the
#   layout torchvision's ImageNet prepares), WordNet (Debian's wordnet-base +
#   wordnet-sense-index). GPU (estimate, not measured): minutes per network for 50,000 images.
# Dry-run mode (--dry-run, CPU, offline, about a minute): random weights of the two smallest
#   torchvision ImageNet classifiers (squeezenet1_1, mobilenet_v3_small) placed in a private
#   $TORCH_HOME cache, and 4 synthetic classes × 6 images in wnid folders.
#
# Usage: examples/dsi_pretrained.sh [--dry-run] [--out DIR]
# Environment: NETS (space-separated model specifications), VAL_DIR, PER_CLASS (50),
#   DEVICE (auto), SEMTOOL / PYTHON.
source "$(dirname "$0")/_common.sh"

parse_args --dry-run dsi-pretrained-out "$@"
DRY=$MODE

if [ "$DRY" = 1 ]; then
  step "dry run: random weights where torchvision looks for them, a tiny wnid folder"
  export TORCH_HOME=$OUT/torch-home
  random_torchvision_weights "$TORCH_HOME" squeezenet1_1:IMAGENET1K_V1 mobilenet_v3_small:IMAGENET1K_V1
  tiny_imagenet_folder "$OUT/val" 6
  NETS=${NETS:-"torchvision:squeezenet1_1 torchvision:mobilenet_v3_small"}
  VAL_DIR=$OUT/val; PER_CLASS=${PER_CLASS:-6}; SIZE=(--size 48 --crop 40); DEVICE=cpu
else
  NETS=${NETS:-"torchvision:resnet50 torchvision:vit_b_16 torchvision:swin_v2_t"}
  VAL_DIR=${VAL_DIR:-$HOME/imagenet/val}; PER_CLASS=${PER_CLASS:-50}; SIZE=(--size 256 --crop 224)
  DEVICE=${DEVICE:-auto}
fi

step "validation imageset: wnid folders -> ImageNet-1k names and synsets (256 -> 224 centre crop)"
run dataset folder "$VAL_DIR" "${SIZE[@]}" --split val --limit-per-class "$PER_CLASS" -o "$OUT/val.h5" --force

step "the WordNet CSM of ImageNet-1k's 1000 classes (NLTK path similarity)"
run csm wordnet --preset imagenet -o "$OUT/wordnet.h5" --force

printf 'network\tweights\taccuracy\tsai_ncsm_wordnet\tsai_ccsm_wordnet\tidm_wordnet\tidm_network\tmean_wsi\tmax_wsi\tmin_wsi\n' \
  > "$OUT/dsi.tsv"
for NET in $NETS; do
  name=$(echo "${NET#*:}" | tr ':/' '__')
  step "$NET: NCSM, the clean evaluation (CCSM), SAI, IDM and WSI"
  run csm ncsm "$NET" -o "$OUT/ncsm-$name.h5" --force
  run attack "$NET" "$OUT/val.h5" --eps 0 --csm "$OUT/wordnet.h5" --device "$DEVICE" \
      -o "$OUT/predictions-$name.h5" --force --json > "$OUT/attack-$name.json"
  run csm ccsm "$OUT/predictions-$name.h5" -o "$OUT/ccsm-$name.h5" --force
  run sai "$OUT/ncsm-$name.h5" "$OUT/wordnet.h5" --json > "$OUT/sai-ncsm-$name.json"
  # a folder with some of the 1000 classes gives a CCSM over those: compare them with their WordNet
  # rows. A network that never confuses two of them (or random weights on a few classes) leaves
  # the CCSM constant off the diagonal; SAI is then undefined and recorded as NA.
  run sai "$OUT/ccsm-$name.h5" "$OUT/wordnet.h5" --intersect --json > "$OUT/sai-ccsm-$name.json" \
    || { echo "    (SAI of the CCSM undefined, see above: NA in the table)" >&2; echo '[{}]' > "$OUT/sai-ccsm-$name.json"; }
  run idm "$OUT/predictions-$name.h5" --csm "$OUT/ncsm-$name.h5" --json > "$OUT/idm-$name.json"
  run wsi "$OUT/ncsm-$name.h5" --json > "$OUT/wsi-$name.json"
  run info "$NET" --json > "$OUT/info-$name.json"
  "$PY" - "$OUT" "$name" "$NET" >> "$OUT/dsi.tsv" <<'PYEOF'
import json, sys
out, name, net = sys.argv[1:]
def load(f):  # --json prints a list of records; this script's commands give one each
    d = json.load(open(f"{out}/{f}-{name}.json"))
    return d[0] if isinstance(d, list) else d
attack, info, wsi = load("attack"), load("info"), load("wsi")
row = [net, str(info["attributes"]["weights"]), attack["accuracy"], load("sai-ncsm")["cosine"],
       load("sai-ccsm").get("cosine", "NA"), attack["idm"], load("idm")["idm"], wsi["mean"], wsi["max"], wsi["min"]]
print("\t".join(v if isinstance(v, str) else f"{float(v):.4f}" for v in row))
PYEOF
done
column -t -s $'\t' "$OUT/dsi.tsv" | sed 's/^/    /'

echo
echo "==> done: $OUT/dsi.tsv"
