#!/usr/bin/env bash
# `make e2e-demo`: the whole closed loop on this machine, for a person to watch (issue #7).
# Starts kube-apiserver + etcd, kube-controller-manager (HPA), kube-scheduler, KWOK fake GPU
# nodes, Prometheus, prometheus-adapter, `wva emulate --kubeconfig` and `wva run`, then drives a
# workload (low -> high -> low) and prints one line per sample. Meanwhile, in another terminal:
#   export KUBECONFIG=<printed below>
#   kubectl get va,hpa,deploy -n llm-inference -w
#   curl -s -X PUT <emulator>/control/load -d '{"namespace":"llm-inference",
#        "model":"meta-llama/Llama-3.1-8B-Instruct","rate":20}'      # your own load
# Ctrl-C (or the end of the workload + WVA_DEMO_HOLD seconds) stops everything, by recorded PIDs.
# Phases: WVA_E2E_WARMUP_S / WVA_E2E_HIGH_S / WVA_E2E_COOLDOWN_S, rates WVA_E2E_LOW_RATE /
# WVA_E2E_HIGH_RATE (see tests/e2e/closed_loop_driver.py).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
TE=$REPO/scripts/testenv
WVA=${1:-$REPO/build/wva}
OUT=${WVA_DEMO_OUT:-$REPO/out/e2e-demo}
[ -x "$WVA" ] || { echo "e2e-demo: $WVA not built (make build)" >&2; exit 1; }
"$TE/build"
base=/dev/shm; [ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
DIR=$(mktemp -d -p "$base" wva-demo.XXXXXX)
cleanup() { echo "e2e-demo: stopping"; "$TE/down" "$DIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
"$TE/closed-loop-up" "$DIR" >/dev/null
"$TE/closed-loop-scenario" "$DIR" "$WVA"
# shellcheck disable=SC1091
. "$DIR/env"
cat <<MSG

  The loop is up. In another terminal:
    export KUBECONFIG=$KUBECONFIG
    $WVA_TESTENV_BIN/kubectl get va,hpa,deploy -n llm-inference -w
    curl -s $WVA_EMULATOR_URL/control/pods            # the emulated (Ready) pods and their load
    curl -s -X PUT $WVA_EMULATOR_URL/control/load \\
      -d '{"namespace":"llm-inference","model":"meta-llama/Llama-3.1-8B-Instruct","rate":20}'
  Prometheus: $WVA_PROMETHEUS_URL   logs: $DIR/log/
  Timeline: $OUT/timeline.{csv,html}

MSG
export WVA_E2E_WARMUP_S=${WVA_E2E_WARMUP_S:-45} WVA_E2E_HIGH_S=${WVA_E2E_HIGH_S:-150}
export WVA_E2E_COOLDOWN_S=${WVA_E2E_COOLDOWN_S:-150}
python3 "$REPO/tests/e2e/closed_loop_driver.py" --env "$DIR/env" --out "$OUT" --watch
echo "e2e-demo: workload done; holding ${WVA_DEMO_HOLD:-0} s (Ctrl-C to stop)"
sleep "${WVA_DEMO_HOLD:-0}"
