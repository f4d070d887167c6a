#!/usr/bin/env bash
# make demo: the main job on the built-in default (Fashion-MNIST, real WordNet), offline, CPU.
set -euo pipefail
S=".venv/bin/semtool"
OUT=${DEMO_OUT:-demo-out}
mkdir -p "$OUT"
echo "==> semtool demo: results go to $OUT/"
$S info --help >/dev/null
echo "(the demo grows with each feature)"
