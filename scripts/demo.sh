#!/usr/bin/env bash
# lens's main job on the bundled defaults: build lens, then run the three
# bundled models (trained here by tools/train_*.py, see docs/MODELS.md) on
# their sample images — classification, detection and segmentation — print
# the results and write the annotated images.
#   scripts/demo.sh [OUT_DIR]      (default: demo-out/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-out}
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build lens >/dev/null
mkdir -p "$out"/classify "$out"/detect "$out"/segment

echo "== classify: models/digits.onnx (8x8 handwritten digits) =="
build/lens classify models/digits.onnx models/samples/digit_*.png --top 1 -o "$out/classify"

echo
echo "== detect: models/shapes_det.onnx (circles, squares, triangles, stars) =="
build/lens detect models/shapes_det.onnx models/samples/shapes_*.png -o "$out/detect"

echo
echo "== segment: models/shapes_seg.onnx (a class per pixel) =="
build/lens segment models/shapes_seg.onnx models/samples/shapes_*.png -o "$out/segment"

echo
echo "annotated images written to $out/:"
find "$out" -type f -name '*.png' | sort | sed 's/^/  /'
