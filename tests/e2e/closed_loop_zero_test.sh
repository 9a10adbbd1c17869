#!/usr/bin/env bash
# E2E (ctest label e2e): scale to and from zero, stock-outs, GPU budgets and direct actuation in
# the closed loop with real HPAs (issue 16). The environment of closed_loop_test.sh with:
#   - fake nodes: 1 L40S node and 2 A100 nodes, 2 GPUs each (the third L40S replica cannot
#     schedule), pods Ready 3 s after scheduling;
#   - closed-loop/zero-scenario.yaml: VAs and HPAs at minReplicas 0, the scale-to-zero ConfigMap,
#     and a direct-mode model without an HPA;
#   - a fake EPP (fake_epp.py) serving the flow-control queue gauge for scale from zero;
#   - wva run with --scale-from-zero, --stock-out-threshold=8s, --stock-out-backoff=15s.
# closed_loop_zero_driver.py runs the phases, prints the replica timeline and the measured times.
#
#   closed_loop_zero_test.sh WVA_BINARY ARTIFACT_DIR
# Exit 77 (skip) only when the closed-loop binaries are not built (scripts/testenv/build).
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TE=$REPO/scripts/testenv
WVA=${1:?usage: closed_loop_zero_test.sh WVA_BINARY ARTIFACT_DIR}
ART=${2:?usage: closed_loop_zero_test.sh WVA_BINARY ARTIFACT_DIR}
# shellcheck source=../../scripts/testenv/versions.sh
. "$TE/versions.sh"
for b in etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kwok prometheus-adapter; do
  if [ ! -x "$WVA_TESTENV_BIN/$b" ]; then
    echo "SKIP: $WVA_TESTENV_BIN/$b not built (run scripts/testenv/build)"
    exit 77
  fi
done
[ -x /usr/bin/prometheus ] || { echo "SKIP: /usr/bin/prometheus missing"; exit 77; }
[ -x "$WVA" ] || { echo "FAIL: $WVA not built"; exit 1; }
mkdir -p "$ART"
rm -f "$ART"/timeline.csv "$ART"/report.txt "$ART"/*.log

base=/dev/shm; [ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
ENVDIR=$(mktemp -d -p "$base" wva-closed-loop-zero.XXXXXX)
status=1
EPP_PID=
cleanup() {
  [ -n "$EPP_PID" ] && kill "$EPP_PID" 2>/dev/null
  if [ $status -ne 0 ] && [ -d "$ENVDIR/log" ]; then
    for f in "$ENVDIR"/log/*.log; do echo "--- tail $f"; tail -n 25 "$f"; done
  fi
  [ -d "$ENVDIR/log" ] && cp "$ENVDIR"/log/*.log "$ART"/ 2>/dev/null
  if [ "${WVA_E2E_KEEP:-0}" = 1 ]; then
    echo "kept: $ENVDIR (stop with scripts/testenv/down $ENVDIR)"
  else
    "$TE/down" "$ENVDIR" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

t0=$(date +%s)
if ! WVA_GPUS_PER_NODE=2 WVA_READY_DELAY_MS=3000 WVA_READY_JITTER_MS=500 \
     "$TE/closed-loop-up" "$ENVDIR" --nodes NVIDIA-L40S=1 --nodes NVIDIA-A100-SXM4-80GB=2 >/dev/null; then
  echo "FAIL: closed-loop-up"; exit 1
fi
# The fake EPP, on a free port, scraped by the environment's Prometheus.
EPP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$REPO/tests/e2e/fake_epp.py" "$EPP_PORT" >>"$ENVDIR/log/fake-epp.log" 2>&1 &
EPP_PID=$!
t1=$(date +%s)
export WVA_SCENARIO_FILE=$TE/closed-loop/zero-scenario.yaml
export WVA_EMULATE_EXTRA="--variant namespace=llm-inference,model=meta-llama/Llama-3.2-1B-Instruct,name=llama-1b-direct,profile=l40s-48gb,numGpuBlocks=600,maxBatch=48,maxModelLen=4096"
export WVA_RUN_EXTRA="--scale-from-zero=true --scale-from-zero-interval=250ms --stock-out-threshold=8s --stock-out-backoff=15s"
if ! "$TE/closed-loop-scenario" "$ENVDIR" "$WVA"; then echo "FAIL: closed-loop-scenario"; exit 1; fi
# shellcheck disable=SC1091
. "$ENVDIR/env"
python3 - "$WVA_PROM_TARGETS_DIR/targets.json" "$EPP_PORT" <<'PY'
import json, os, sys
path, port = sys.argv[1], sys.argv[2]
targets = json.load(open(path))
targets.append({"targets": ["127.0.0.1:%s" % port],
                "labels": {"job": "epp", "namespace": "llm-inference"}})
json.dump(targets, open(path + ".tmp", "w"))
os.replace(path + ".tmp", path)
PY
cat >>"$ENVDIR/env" <<ENV
WVA_FAKE_EPP_URL=http://127.0.0.1:$EPP_PORT
WVA_NODES_FILE=$ENVDIR/nodes.yaml
ENV
echo "environment up in $((t1 - t0)) s, scenario started in $(( $(date +%s) - t1 )) s"
python3 "$REPO/tests/e2e/closed_loop_zero_driver.py" --env "$ENVDIR/env" --out "$ART" 2>&1 |
  tee "$ART/report.txt"
status=${PIPESTATUS[0]}
echo "artifacts: $ART/timeline.csv $ART/report.txt"
exit $status
