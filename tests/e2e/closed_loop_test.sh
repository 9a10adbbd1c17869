#!/usr/bin/env bash
# E2E (ctest label e2e): the closed loop with a real HPA (issue #7).
#   scripts/testenv/closed-loop-up       etcd, kube-apiserver, kube-controller-manager (HPA),
#                                        kube-scheduler, KWOK, Prometheus, prometheus-adapter
#   scripts/testenv/closed-loop-scenario two variants (VA + HPA each), `wva emulate --kubeconfig`,
#                                        `wva run`
#   closed_loop_driver.py                workload phases (low -> ramp -> high -> low), samples the
#                                        timeline, asserts replica counts with tolerances and scale
#                                        events, writes timeline.csv + timeline.html (SVG chart)
#
#   closed_loop_test.sh WVA_BINARY ARTIFACT_DIR
# Exit 77 (skip) only when the closed-loop binaries are not built (scripts/testenv/build).
# WVA_E2E_KEEP=1 leaves the environment running (prints its dir) for debugging.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TE=$REPO/scripts/testenv
WVA=${1:?usage: closed_loop_test.sh WVA_BINARY ARTIFACT_DIR}
ART=${2:?usage: closed_loop_test.sh WVA_BINARY ARTIFACT_DIR}
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
rm -f "$ART"/timeline.csv "$ART"/timeline.html "$ART"/report.txt "$ART"/*.log

base=/dev/shm; [ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
ENVDIR=$(mktemp -d -p "$base" wva-closed-loop.XXXXXX)
status=1
cleanup() {
  if [ $status -ne 0 ] && [ -d "$ENVDIR/log" ]; then
    for f in "$ENVDIR"/log/*.log; do echo "--- tail $f"; tail -n 25 "$f"; done
  fi
  # Logs are test artifacts too.
  [ -d "$ENVDIR/log" ] && cp "$ENVDIR"/log/*.log "$ART"/ 2>/dev/null
  if [ "${WVA_E2E_KEEP:-0}" = 1 ]; then
    echo "kept: $ENVDIR (stop with scripts/testenv/down $ENVDIR)"
  else
    "$TE/down" "$ENVDIR" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

t0=$(date +%s)
if ! "$TE/closed-loop-up" "$ENVDIR" >/dev/null; then echo "FAIL: closed-loop-up"; exit 1; fi
t1=$(date +%s)
if ! "$TE/closed-loop-scenario" "$ENVDIR" "$WVA"; then echo "FAIL: closed-loop-scenario"; exit 1; fi
echo "environment up in $((t1 - t0)) s, scenario started in $(( $(date +%s) - t1 )) s"
python3 "$REPO/tests/e2e/closed_loop_driver.py" --env "$ENVDIR/env" --out "$ART" 2>&1 |
  tee "$ART/report.txt"
status=${PIPESTATUS[0]}
echo "artifacts: $ART/timeline.csv $ART/timeline.html $ART/report.txt"
exit $status
