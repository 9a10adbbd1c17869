#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (preset `fuzz`) and runs them.
#   --regression   replay each target's corpus in fuzz/corpus/<target> once (CI)
#   (default)      fuzz each target for FUZZ_SECONDS (default 60) seconds
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
bash scripts/setup.sh
cmake --preset fuzz >/dev/null
cmake --build out/fuzz -j"${JOBS:-2}" --target wva_fuzzers
status=0
for bin in out/fuzz/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus="fuzz/corpus/${name#fuzz_}"
  mkdir -p "$corpus"
  if [ "$mode" = "--regression" ]; then
    echo "fuzz: replaying $corpus through $name"
    "$bin" -runs=0 "$corpus" >/dev/null 2>"out/fuzz/$name.log" || { cat "out/fuzz/$name.log"; status=1; }
  else
    work=$(mktemp -d)
    "$bin" -max_total_time="${FUZZ_SECONDS:-60}" "$work" "$corpus" || status=1
    rm -rf "$work"
  fi
done
exit $status
