#!/usr/bin/env bash
# One reconcile cycle for 1,000 VAs against a real apiserver and Prometheus (see the .py file).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 bench/controller_cycle.py "$PWD/build/wva" "$PWD" "$@"
