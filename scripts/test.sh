#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with warnings as
# errors, runs every test under ctest, then again under ASan + UBSan.
#   scripts/test.sh            everything CI runs
#   LENS_EXTENDED=1 scripts/test.sh   also the heavy parity models
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
ext=OFF
[ "${LENS_EXTENDED:-0}" = 1 ] && ext=ON

echo "== release build (-Werror) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLENS_WERROR=ON -DLENS_EXTENDED_TESTS=$ext >/dev/null
ninja -C build
(cd build && ctest --output-on-failure -j "$jobs" --timeout 3000)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLENS_WERROR=ON -DLENS_SANITIZE=ON >/dev/null
ninja -C build-asan
# Parity runs the same engine code on big models: the release run covers
# it; under the sanitizers the unit, conformance and CLI tests run.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j "$jobs" --timeout 3000 -LE parity)

echo "== ThreadSanitizer: concurrency tests =="
# One model shared by 8 threads (test_concurrency), the thread pool and the
# runtime's concurrent sessions, under TSan: any data race fails.
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLENS_WERROR=ON -DLENS_TSAN=ON >/dev/null
# The CLI's folder runs (several workers, a reorder ring) as well.
ninja -C build-tsan test_concurrency test_threadpool test_runtime lens
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
   ctest --output-on-failure -R '^(unit\.test_(concurrency|threadpool|runtime)|cli\.vision_parallel)$')

echo "== short fuzzing (clang + libFuzzer + ASan + UBSan) =="
# Every fuzz target for LENS_FUZZ_SECONDS each (default 20), then ctest
# replays the seed corpora and every past crash (tests/fuzz/regress) through
# the libFuzzer binaries. Long campaigns: scripts/fuzz.sh SECONDS.
scripts/fuzz.sh "${LENS_FUZZ_SECONDS:-20}"
(cd build-fuzz && ctest --output-on-failure -R '^fuzz\.')
