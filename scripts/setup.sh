#!/usr/bin/env bash
# Installs the Debian packages WVA-C++ builds and tests with. Idempotent: does nothing when every
# package is already installed; runs `apt-get update` only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates openssl
  libcurl4-openssl-dev libssl-dev libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev prometheus-cpp-dev libexpected-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  clang-format-14 clang-tidy-14  # make format / format-check
  prometheus
  python3 python3-yaml jq iproute2  # test scripts: e2e driver, manifest checks, testenv/build, free ports
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do
  if $SUDO apt-get update -qq && \
     $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    break
  fi
  if [ "$attempt" -eq 3 ]; then echo "setup: apt-get failed 3 times" >&2; exit 1; fi
  sleep $((attempt * 5))
done
# The prometheus package may start a system service; tests run their own instances on random
# loopback ports, so a packaged service is never needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl stop prometheus || true
  $SUDO systemctl disable prometheus || true
fi
