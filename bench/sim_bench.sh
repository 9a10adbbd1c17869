#!/usr/bin/env bash
# `wva simulate` speed and memory: replays the Azure traces (when $WVA_TRACES_DIR, default traces/, has them) and a
# long synthetic workload on the default fleet, and prints the speed-up over real time and the
# peak RSS (GNU time). Target: the Azure conversation trace (~58 min, 19,366 requests) at >= 500x
# real time, and peak RSS flat in trace length (compare the 1 h and the 12 h rows).
# Usage: bench/sim_bench.sh [path/to/wva]   (default: build/wva, then out/release/src/cmd/wva)
set -euo pipefail
cd "$(dirname "$0")/.."
WVA="${1:-}"
if [ -z "$WVA" ]; then
  for c in build/wva out/release/src/cmd/wva; do [ -x "$c" ] && WVA="$c" && break; done
fi
[ -x "${WVA:-}" ] || { echo "sim_bench: no wva binary (run make build)"; exit 1; }
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "sim_bench: /usr/bin/time missing (apt-get install time)"; exit 1; }
TRACES="${WVA_TRACES:-${WVA_TRACES_DIR:-traces}}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

run() {  # name, args...
  local name="$1"; shift
  "$TIME" -v "$WVA" simulate --quiet --out "$OUT/$name" "$@" >/dev/null 2>"$OUT/$name.time"
  python3 - "$OUT/$name/summary.json" "$OUT/$name.time" "$name" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
wall = s["wall_seconds"] or 1e-9
print(f"{sys.argv[3]:<28} requests {s['requests']:>8}  sim {s['sim_seconds']:>8.0f} s  "
      f"wall {wall:6.2f} s  speed-up {s['sim_seconds']/wall:8.0f}x  peak RSS {rss/1024:6.1f} MiB")
PY
}

if [ -f "$TRACES/azure2023_AzureLLMInferenceTrace_conv.csv" ]; then
  run azure-conv --trace "$TRACES/azure2023_AzureLLMInferenceTrace_conv.csv"
  run azure-code --trace "$TRACES/azure2023_AzureLLMInferenceTrace_code.csv"
else
  echo "(no traces at $TRACES: skipping the Azure replays)"
fi
run poisson-1h  --workload poisson:rate=5,duration=3600
run poisson-12h --workload poisson:rate=5,duration=43200
