#!/usr/bin/env bash
# `make deploy IMG=<registry>/wva-cpp:<tag> [OVERLAY=prometheus-operator]`: installs the controller
# with kubectl's built-in kustomize (no standalone kustomize binary), with IMG as its image.
# A throw-away kustomization outside the repository sets the image on top of deploy/ (or the
# overlay), so the checkout is never edited.
#
#   scripts/deploy.sh apply [kubectl apply args...]   apply (e.g. --dry-run=server)
#   scripts/deploy.sh render                          print the manifests instead
# Environment: IMG (default the placeholder ghcr.io/your-org/wva-cpp:v0.1.0), OVERLAY (empty =
# deploy/, a name under deploy/overlays/, or a directory), KUBECTL (default kubectl).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
IMG=${IMG:-ghcr.io/your-org/wva-cpp:v0.1.0}
OVERLAY=${OVERLAY:-}
KUBECTL=${KUBECTL:-kubectl}
mode=${1:-apply}
[ $# -gt 0 ] && shift

if [ -z "$OVERLAY" ]; then
  base=$REPO/deploy
elif [ -d "$REPO/deploy/overlays/$OVERLAY" ]; then
  base=$REPO/deploy/overlays/$OVERLAY
elif [ -d "$OVERLAY" ]; then
  base=$(cd "$OVERLAY" && pwd)
else
  echo "deploy: OVERLAY=$OVERLAY is neither a directory nor one of: $(ls "$REPO/deploy/overlays" | tr '\n' ' ')" >&2
  exit 2
fi
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
  echo "deploy: $KUBECTL not found (set KUBECTL=/path/to/kubectl)" >&2
  exit 2
fi

# IMG = name[:tag] (no tag = latest, as docker reads it) or name@digest; a ':' before the last '/' is a registry port, not a tag.
name=$IMG tag="" digest=""
case $IMG in
  *@*) name=${IMG%%@*}; digest=${IMG#*@} ;;
  *)
    last=${IMG##*/}
    if [[ $last == *:* ]]; then name=${IMG%:*}; tag=${IMG##*:}; else tag=latest; fi
    ;;
esac
if [ -z "$name" ] || [[ $name == *[[:space:]]* ]]; then
  echo "deploy: IMG='$IMG' is not an image reference (registry/name:tag)" >&2
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wva-deploy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  # kustomize wants a relative path to a base.
  echo "  - $(realpath --relative-to="$tmp" "$base")"
  echo "images:"
  echo "  - name: ghcr.io/your-org/wva-cpp"
  echo "    newName: $name"
  [ -n "$tag" ] && echo "    newTag: \"$tag\""
  [ -n "$digest" ] && echo "    digest: $digest"
} >"$tmp/kustomization.yaml"

case $mode in
  render) "$KUBECTL" kustomize "$tmp" ;;
  apply) "$KUBECTL" apply -k "$tmp" "$@" ;;
  *) echo "deploy: unknown mode '$mode' (apply or render)" >&2; exit 2 ;;
esac
