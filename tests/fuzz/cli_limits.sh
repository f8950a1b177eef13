#!/bin/sh
# The safety-limit flags of the lens CLI (any command): a model over a limit
# does not open (exit 2, the message names the limit), a run over one fails
# (exit 1), bad values are usage errors (exit 2), and the flags are taken out
# of argv wherever they are. Usage: cli_limits.sh LENS_BINARY (from ctest).
set -u
lens=$1
data=$(dirname "$0")/../unit/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # expect RC PATTERN -- command...
  want=$1 pat=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -q -- "$pat" "$tmp/out" "$tmp/err"; then
    echo "FAIL: $* -> rc $rc (want $want), output:" >&2
    cat "$tmp/out" "$tmp/err" >&2
    fail=1
  fi
}
/usr/bin/python3 -c "import numpy as np; np.save('$tmp/x.npy', np.arange(-100, 100, dtype=np.float32))"
expect 0 "producer" -- "$lens" info "$data/limits_chain.onnx" --max-nodes 64
expect 2 "more than 63 nodes" -- "$lens" info --max-nodes=63 "$data/limits_chain.onnx"
expect 2 "nested deeper than 4" -- "$lens" --max-graph-depth 4 info "$data/limits_nested.onnx"
expect 2 "over the limit of 1024" -- "$lens" run "$data/limits_chain.onnx" --max-file-bytes 1K --input "$tmp/x.npy" -o "$tmp/o"
expect 2 "elements" -- "$lens" run "$data/conv_fuse.onnx" --max-tensor-elements 100 --input "$tmp/x.npy" -o "$tmp/o"
expect 2 "bytes" -- "$lens" run "$data/conv_fuse.onnx" --max-tensor-bytes 400 --input "$tmp/x.npy" -o "$tmp/o"
expect 1 "memory plan limit" -- "$lens" run "$data/limits_chain.onnx" --max-plan-bytes 1K --input "$tmp/x.npy" -o "$tmp/o"
expect 0 "Y" -- "$lens" run "$data/limits_chain.onnx" --max-plan-bytes 4K --input "$tmp/x.npy" -o "$tmp/o"
expect 2 "wants a positive size" -- "$lens" info --max-nodes 0 "$data/limits_chain.onnx"
expect 2 "wants a positive size" -- "$lens" info --max-plan-bytes 12Q "$data/limits_chain.onnx"
expect 2 "at most 1024" -- "$lens" info --max-graph-depth 2000 "$data/limits_chain.onnx"
expect 2 "wants a positive size" -- "$lens" info "$data/limits_chain.onnx" --max-nodes
[ $fail -eq 0 ] && echo "cli limits: all cases passed"
exit $fail
