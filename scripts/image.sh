#!/usr/bin/env bash
# `make image`: builds the controller image from the repository's Dockerfile with the first
# container engine found (docker, podman, buildah), tagged $IMG. ENGINE=<name> picks one.
# Pushing is left to you (docs/install.md "The controller image").
set -euo pipefail
cd "$(dirname "$0")/.."
IMG=${IMG:-ghcr.io/your-org/wva-cpp:v0.1.0}

# An engine counts when its CLI is installed AND it can build (a docker CLI without a running
# daemon cannot).
usable() {
  case $1 in
    docker) docker info >/dev/null 2>&1 ;;
    podman) podman info >/dev/null 2>&1 ;;
    buildah) buildah info >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}
candidates=(docker podman buildah)
[ -n "${ENGINE:-}" ] && candidates=("$ENGINE")
engine="" found=()
for e in "${candidates[@]}"; do
  command -v "$e" >/dev/null 2>&1 || continue
  found+=("$e")
  if usable "$e"; then engine=$e; break; fi
done
if [ -z "$engine" ]; then
  if [ "${#found[@]}" -eq 0 ]; then
    echo "make image: no container engine found (looked for ${candidates[*]} on PATH)." >&2
  else
    echo "make image: ${found[*]} installed but not usable here (e.g. the docker daemon is not running: '${found[0]} info' fails)." >&2
  fi
  cat >&2 <<MSG
Install or start one (Debian: apt-get install podman, or buildah), or build the Dockerfile on a
machine that has one:  docker build -t $IMG .
The image's runtime libraries are checked without an engine by the ctest image_runtime_libs.
MSG
  exit 1
fi

echo "make image: $engine building $IMG" >&2
case $engine in
  buildah) buildah bud --layers -t "$IMG" -f Dockerfile . ;;
  *) "$engine" build -t "$IMG" -f Dockerfile . ;;
esac
cat >&2 <<MSG
make image: built $IMG. Next:
  $engine push $IMG
  make deploy IMG=$IMG        # or: helm install ... --set image.repository=...,image.tag=...
MSG
