#!/usr/bin/env bash
# Install the Debian packages semtool's offline data comes from, when missing.
# Idempotent: does nothing when all are present; without root, says how to get them.
set -u
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "==> Debian data packages present: $*"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian packages: ${missing[*]} (WordNet 3.0 and Fashion-MNIST for offline use)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    && echo "==> installed ${missing[*]}" && exit 0
  echo "!! apt-get could not install ${missing[*]}; WordNet/Fashion-MNIST tests will say what is missing" >&2
  exit 0
fi
echo "!! missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
echo "   (or: python -m nltk.downloader wordnet, and semtool dataset fashion-mnist --download)" >&2
exit 0
