#!/usr/bin/env bash
# `make test-tsan-threads`: the tests that exercise threads under ThreadSanitizer (tsan preset):
# informers, work queue, leader election and the kube integration tests against a real
# kube-apiserver (kube_*), the HTTP server and client (http_test), the emulator server
# (emulator_test) and the reconciler's concurrent status writes (controller_test). Any data race
# fails the run (TSan exits non-zero). Builds only these targets.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
bash scripts/setup.sh
if [ -x scripts/testenv/build ]; then scripts/testenv/build; fi
cmake --preset tsan >/dev/null
cmake --build out/tsan -j"$JOBS" --target kube_test kube_fault_test kube_integration_test \
  http_test emulator_test controller_test
cd out/tsan
ctest --output-on-failure -j1 --timeout 600 \
  -R '^(kube_testenv_(up|down)|KubeIntegration|Informer|InformerFaults|WorkQueue|Store|Client|ClientFaults|LeaderElection|Http|HttpClient|HttpRoundTrip|TlsServer|EmulatorServer|Emulator|Reconciler)(\..*)?$'
