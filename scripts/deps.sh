#!/usr/bin/env bash
# Install the Debian packages lens needs to build and test, if missing.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config
      libjpeg62-turbo-dev libspng-dev libpng-dev
      python3-numpy python3-onnx python3-torch python3-torchvision
      python3-opencv python3-skimage python3-sklearn libonnx-testdata)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# clang with libFuzzer (libclang-rt-dev: only recommended by clang, and
# recommends are not installed) for scripts/fuzz.sh and the short fuzzing
# run of scripts/test.sh.
fuzz_pkgs=(clang libclang-rt-dev)
missing=()
for p in "${fuzz_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
