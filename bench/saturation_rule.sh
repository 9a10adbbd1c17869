#!/usr/bin/env bash
# The saturation rule (`--policy wva`) on a fixed matrix of workloads and seeds, one row per run:
# SLO attainment, cost, replica-hours and scaling actions. Used to report the rule's figures
# before and after a change to it (run it with the old and the new binary and compare).
# Numbers, not pass/fail. Usage: bench/saturation_rule.sh [path/to/wva] [traces dir]
set -euo pipefail
cd "$(dirname "$0")/.."
WVA="${1:-out/release/src/cmd/wva}"
TRACES="${2:-${WVA_TRACES_DIR:-}}"
[ -x "$WVA" ] || { echo "saturation_rule: no wva binary at $WVA (run make build)" >&2; exit 1; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

row() {  # name, args...
  local name="$1"; shift
  "$WVA" simulate --quiet --no-wall-time --policy wva --out "$OUT/$name" "$@" >/dev/null
  python3 - "$OUT/$name/summary.json" "$name" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]:<26} | {100*s['slo']['attainment']:6.1f} % | {s['cost']['usd']:8.2f} | "
      f"{s['cost']['replica_hours']:7.2f} | {s['scaling_actions']:4d} |")
PY
}

echo "| run | attainment | \$ | replica-h | actions |"
echo "|---|---|---|---|---|"
for seed in 1 2 3; do
  row "diurnal-cold-s$seed" --seed "$seed"
  row "diurnal-warm-s$seed" --seed "$seed" --fleet examples/fleet-warm.yaml
  row "poisson20-warm-s$seed" --seed "$seed" --fleet examples/fleet-warm.yaml \
      --workload poisson:rate=20,duration=3600
  row "onoff-warm-s$seed" --seed "$seed" --fleet examples/fleet-warm.yaml \
      --workload onoff:rate_on=40,rate_off=5,on=300,off=600,duration=3600
  row "flat5-warm-s$seed" --seed "$seed" --fleet examples/fleet-warm.yaml \
      --workload poisson:rate=5,duration=3600
done
if [ -n "$TRACES" ] && [ -f "$TRACES/azure2023_AzureLLMInferenceTrace_conv.csv" ]; then
  row azure-conv-warm --fleet examples/fleet-warm.yaml \
      --trace "$TRACES/azure2023_AzureLLMInferenceTrace_conv.csv"
  row azure-code-warm --fleet examples/fleet-warm.yaml \
      --trace "$TRACES/azure2023_AzureLLMInferenceTrace_code.csv"
fi
