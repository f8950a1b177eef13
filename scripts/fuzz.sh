#!/usr/bin/env bash
# Run every libFuzzer target (tests/fuzz/fuzz_*.c) for a given time each,
# one after the other, at low priority.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     (default 60 s, all targets)
#   e.g. scripts/fuzz.sh 25            CI: every target 25 s
#        scripts/fuzz.sh 1800 model    half an hour on the model target
#
# Builds build-fuzz with clang (-DLENS_FUZZ=ON: libFuzzer + ASan + UBSan).
# Each target keeps a working corpus in build-fuzz/fuzz-corpus/NAME (grown
# across runs), seeded from tests/fuzz/corpus/NAME, tests/fuzz/regress/NAME
# and the extra folders below. Crashes, leaks and timeouts are written to
# build-fuzz/fuzz-artifacts/NAME/ and make the script exit 1; a crash is a
# bug: fix it and add the input to tests/fuzz/regress/NAME/ (ctest replays
# that folder in every build). Logs: build-fuzz/fuzz-logs/NAME.log; the
# summary line of each target (executions, cov:, ft:) goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
build=${LENS_FUZZ_BUILD:-build-fuzz}
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (scripts/deps.sh installs it)" >&2; exit 2; }

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLENS_FUZZ=ON >/dev/null
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
mkdir -p "$build/fuzz-logs"
if ! ninja -C "$build" -j "${LENS_FUZZ_JOBS:-$(nproc)}" "${targets[@]/#/fuzz_}" >"$build/fuzz-logs/build.log" 2>&1; then
  tail -30 "$build/fuzz-logs/build.log" >&2
  exit 2
fi

# Extra seed folders per target (keep in step with tests/fuzz/CMakeLists.txt).
extra_seeds() {
  case "$1" in
    model) echo tests/unit/data models ;;
    npy) echo models ;;
  esac
}

status=0
for t in "${targets[@]}"; do
  work="$build/fuzz-corpus/$t" art="$build/fuzz-artifacts/$t/" log="$build/fuzz-logs/$t.log"
  mkdir -p "$work" "$art" "$(dirname "$log")"
  seeds=()
  for d in "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t" $(extra_seeds "$t"); do
    [ -d "$d" ] && seeds+=("$d")
  done
  before=$(find "$art" -type f | wc -l)
  touch "$log.start"
  # -timeout: one input running 10 s is reported (a hang); -rss_limit_mb
  # and -malloc_limit_mb: one input needing over 2 GiB is reported (the
  # limits in fuzz_common.h should keep every input far below).
  # LENS_FUZZ_FORK=1 (long campaigns): keep fuzzing after a crash, each
  # crash saved as an artifact (libFuzzer's -fork=1 -ignore_crashes=1).
  mode=()
  [ "${LENS_FUZZ_FORK:-0}" = 1 ] && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  set +e
  nice -n 10 "$build/tests/fuzz/fuzz_$t" "${mode[@]}" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$art" \
    "$work" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e
  after=$(find "$art" -type f | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' ||
          grep -oE '^#[0-9]+:' "$log" | tail -1 | tr -d '#:' || echo '?')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || echo 'cov: ? ft: ?')
  echo "fuzz $t: ${secs}s, $execs executions, $last, rc $rc, $((after - before)) new artifact(s)"
  # A slow input (timeout-*) is reported but does not fail the run: lens
  # does not bound CPU time (docs/SECURITY.md). Crashes, leaks and inputs
  # over the memory limit do.
  slow=$(find "$art" -type f -name 'timeout-*' -newer "$log.start" | wc -l)
  if [ "$slow" -gt 0 ]; then echo "fuzz $t: $slow slow input(s) in $art (not a failure)"; fi
  if { [ "$rc" -ne 0 ] && [ "$slow" -eq 0 ]; } || [ $((after - before - slow)) -ne 0 ]; then
    status=1
    grep -m1 -A12 -E 'ERROR: |runtime error|SUMMARY' "$log" >&2 || tail -20 "$log" >&2
  fi
done
exit $status
