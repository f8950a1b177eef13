#!/usr/bin/env bash
# lens's main job on the bundled default: build lens, then run the bundled
# digits classifier (models/digits.onnx, trained by tools/train_digits.py)
# on the ten bundled held-out samples and print each prediction.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build lens >/dev/null
build/lens info models/digits.onnx
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for d in 0 1 2 3 4 5 6 7 8 9; do
  build/lens run models/digits.onnx --input "models/digit_$d.npy" --output-dir "$out/$d" >/dev/null
  /usr/bin/python3 - "$out/$d/output_0.npy" "$d" <<'PY'
import sys, numpy as np
z = np.load(sys.argv[1])[0].astype(np.float64)
p = np.exp(z - z.max()); p /= p.sum()
k = int(p.argmax())
print(f"models/digit_{sys.argv[2]}.npy -> {k} (p={p[k]:.3f})")
PY
done
build/lens bench models/digits.onnx --runs 200
