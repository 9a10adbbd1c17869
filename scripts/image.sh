#!/usr/bin/env bash
# `make image`: builds the controller image from the repository's Dockerfile with the first
# container engine found (docker, podman, buildah), tagged $IMG. ENGINE=<name> picks one.
# Pushing is left to you (docs/install.md "The controller image").
set -euo pipefail
cd "$(dirname "$0")/.."
IMG=${IMG:-ghcr.io/your-org/wva-cpp:v0.1.0}

engine=${ENGINE:-}
if [ -z "$engine" ]; then
  for e in docker podman buildah; do
    if command -v "$e" >/dev/null 2>&1; then engine=$e; break; fi
  done
fi
if [ -z "$engine" ]; then
  cat >&2 <<MSG
make image: no container engine found (looked for docker, podman, buildah on PATH).
Install one (Debian: apt-get install podman, or buildah), or build the Dockerfile elsewhere:
  docker build -t $IMG .
The image's runtime libraries are checked without an engine by the ctest 'image_runtime_libs'.
MSG
  exit 1
fi
if ! command -v "$engine" >/dev/null 2>&1; then
  echo "make image: ENGINE=$engine is not on PATH" >&2
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
