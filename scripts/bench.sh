#!/usr/bin/env bash
# Runs every benchmark binary of the release build (Google Benchmark) and bench scripts.
# Numbers, not pass/fail: speed targets live here, never in timed tests.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in out/release/bench/*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_repetitions="${BENCH_REPS:-3}" --benchmark_report_aggregates_only=true
done
for s in bench/*.sh; do
  [ -f "$s" ] || continue
  echo "== $s"
  bash "$s"
done
