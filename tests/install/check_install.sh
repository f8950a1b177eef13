#!/usr/bin/env bash
# usage: check_install.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR CC
set -euo pipefail
build=$1 src=$2 scratch=$3 cc=$4
rm -rf "$scratch"
mkdir -p "$scratch"
prefix=$scratch/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name 'liblens.so*' -printf '%h\n' | head -n1)
model=$src/models/digits.onnx
test -f "$prefix/include/lens/lens.h"
test -f "$libdir/liblens.a"
test -f "$libdir/pkgconfig/lens.pc"

# 1. pkg-config, shared library (sanitizer flags of this build, if any, are the
#    library's business: link the same runtime).
extra=()
if grep -q 'LENS_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then extra=(-fsanitize=address,undefined); fi
for ex in "$src"/examples/*.c; do
  name=$(basename "$ex" .c)
  PKG_CONFIG_PATH=$libdir/pkgconfig "$cc" -std=c11 -Wall -Werror "${extra[@]}" "$ex" \
    $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs lens) -o "$scratch/$name.pc"
done
LD_LIBRARY_PATH=$libdir "$scratch/run_model.pc" "$model" | tee "$scratch/pc.out"
grep -q '^output 0: float \[1, 10\]' "$scratch/pc.out"

# 2. find_package(lens): shared and static targets.
cmake -S "$src/examples" -B "$scratch/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="${extra[*]}" >/dev/null
cmake --build "$scratch/cmake" >/dev/null
LD_LIBRARY_PATH=$libdir "$scratch/cmake/run_model" "$model" | grep -q '^output 0: float \[1, 10\]'
"$scratch/cmake/run_model_static" "$model" | grep -q '^output 0: float \[1, 10\]'
# 3. The vision example on the three bundled models, through both builds.
for pair in "digits.onnx samples/digit_7.png" "shapes_det.onnx samples/shapes_1.png" "shapes_seg.onnx samples/shapes_1.png"; do
  set -- $pair
  a=$(LD_LIBRARY_PATH=$libdir "$scratch/vision.pc" "$src/models/$1" "$src/models/$2")
  b=$("$scratch/cmake/vision_static" "$src/models/$1" "$src/models/$2")
  echo "$a"
  [ "$a" = "$b" ]
  case $1 in
    digits.onnx) echo "$a" | grep -Eq '"top": ?\[\{"index": ?7,' ;;
    shapes_det.onnx) echo "$a" | grep -Eq '"detections": ?\[\{"box"' ;;
    shapes_seg.onnx) echo "$a" | grep -Eq '"classes": ?\[\{"index": ?0,' ;;
  esac
done
echo "install check passed: pkg-config and find_package, shared and static"
