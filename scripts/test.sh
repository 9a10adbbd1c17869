#!/usr/bin/env bash
# `make test`: set up, build, run every test (unit, integration, e2e) and the fuzz corpora.
# Exits non-zero on any failure. PRESET (default release) picks the CMake preset.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${PRESET:-release}
JOBS=${JOBS:-2}

bash scripts/setup.sh
# Real servers for integration/e2e tests, built once from the Go module proxy into a cache.
if [ -x scripts/testenv/build ]; then
  scripts/testenv/build
fi
# helm (for rendering deploy/helm/wva in tests/deploy/apply_test.sh), same cache.
if [ -x scripts/testenv/build-helm ]; then
  scripts/testenv/build-helm
fi

cmake --preset "$PRESET" >/dev/null
cmake --build "out/$PRESET" -j"$JOBS"
mkdir -p build && ln -sfn "../out/$PRESET/src/cmd/wva" build/wva

status=0
(cd "out/$PRESET" && ctest --output-on-failure -j"$JOBS" --timeout 1800) || status=1

# libFuzzer targets replay their corpora (regression mode) in every test run.
if [ "$PRESET" != "asan" ] && [ "$PRESET" != "tsan" ]; then
  bash scripts/fuzz.sh --regression || status=1
fi

# Lock annotations: the whole tree under clang-14 -Wthread-safety -Werror (clang-tsa preset).
if [ "$PRESET" != "clang-tsa" ]; then
  echo "test: clang-14 thread-safety build (clang-tsa preset)" >&2
  { cmake --preset clang-tsa >/dev/null && cmake --build out/clang-tsa -j"$JOBS"; } || status=1
fi
# Formatting and braces (uses the clang-tsa compile database).
echo "test: format check" >&2
JOBS="$JOBS" bash scripts/format.sh --check || status=1

exit $status
