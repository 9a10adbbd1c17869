#!/usr/bin/env bash
# The KEDA path never scales down on missing data, and the sample (deploy/samples/keda) and the
# Helm chart (keda.enabled=true) render the same ScaledObjects. Asserted on both renders:
#   - trigger query max(wva_desired_replicas{variant_name="<VA>",namespace="<ns>"}) (one element),
#   - ignoreNullValues "false" (a vanished series is an error, not 0),
#   - fallback.behavior currentReplicasIfHigher (KEDA >= 2.17) with failureThreshold and
#     replicas >= 1 (never the static fallback),
#   - minReplicaCount >= 1 unless the chart's keda.allowScaleToZero is set,
#   - metricType AverageValue, threshold "1",
# and the two specs are equal field by field. Needs helm from the test-server cache
# (scripts/testenv/build-helm); exit 77 (skip) when it is not built. No cluster needed.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/testenv/versions.sh
. "$REPO/scripts/testenv/versions.sh"
HELM=$WVA_TESTENV_BIN/helm
if [ ! -x "$HELM" ]; then
  echo "SKIP: $HELM not built (scripts/testenv/build-helm)"
  exit 77
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wva-keda-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export HELM_CACHE_HOME=$WORK/h/cache HELM_CONFIG_HOME=$WORK/h/config HELM_DATA_HOME=$WORK/h/data
CHART=$REPO/deploy/helm/wva

# Values that describe the sample's two variants.
cat >"$WORK/values.yaml" <<'V'
prometheus: {url: https://prometheus.monitoring.svc:9090}
keda: {enabled: true}
variants:
  - {name: llama-8b-l40s, namespace: llm-inference, modelID: meta-llama/Llama-3.1-8B-Instruct,
     accelerator: L40S, variantCost: "5.0", minReplicas: 1, maxReplicas: 10}
  - {name: llama-8b-a100, namespace: llm-inference, modelID: meta-llama/Llama-3.1-8B-Instruct,
     accelerator: A100, variantCost: "20.0", minReplicas: 1, maxReplicas: 10}
V
status=0
render() {  # render NAME [helm args...]
  local name=$1; shift
  if ! "$HELM" template wva "$CHART" -n workload-variant-autoscaler-system -f "$WORK/values.yaml" \
       "$@" >"$WORK/$name.yaml" 2>"$WORK/$name.err"; then
    echo "FAIL - helm template $name"; cat "$WORK/$name.err"; status=1
  fi
}
render chart
render zero-min --set 'variants[0].minReplicas=0'
render zero-allowed --set 'variants[0].minReplicas=0' --set keda.allowScaleToZero=true

python3 - "$REPO/deploy/samples/keda/scaledobject.yaml" "$WORK" <<'PY' || status=1
import re, sys, yaml
sample_path, work = sys.argv[1], sys.argv[2]
fails = 0
def check(cond, what):
    global fails
    print(("ok   - " if cond else "FAIL - ") + what)
    if not cond:
        fails += 1
def scaled_objects(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d and d.get("kind") == "ScaledObject"]
def holds(so, src, allow_zero=False):
    name, ns, spec = so["metadata"]["name"], so["metadata"]["namespace"], so["spec"]
    t = spec["triggers"]
    check(len(t) == 1 and t[0]["type"] == "prometheus", f"{src} {name}: one prometheus trigger")
    m = t[0]["metadata"]
    want = 'max(wva_desired_replicas{variant_name="%s",namespace="%s"})' % (name, ns)
    check(m["query"] == want, f"{src} {name}: query is {want} (got {m['query']})")
    check(m.get("ignoreNullValues") == "false", f'{src} {name}: ignoreNullValues "false"')
    check(t[0].get("metricType") == "AverageValue" and m.get("threshold") == "1",
          f'{src} {name}: metricType AverageValue, threshold "1"')
    fb = spec.get("fallback") or {}
    check(fb.get("behavior") == "currentReplicasIfHigher",
          f"{src} {name}: fallback.behavior currentReplicasIfHigher (got {fb.get('behavior')})")
    check(isinstance(fb.get("failureThreshold"), int) and fb["failureThreshold"] >= 1 and
          isinstance(fb.get("replicas"), int) and fb["replicas"] >= 1,
          f"{src} {name}: fallback failureThreshold >= 1 and replicas >= 1 ({fb})")
    if not allow_zero:
        check(spec.get("minReplicaCount", 0) >= 1,
              f"{src} {name}: minReplicaCount >= 1 (got {spec.get('minReplicaCount')})")
    return spec

sample = scaled_objects(sample_path)
chart = scaled_objects(f"{work}/chart.yaml")
check(len(sample) == 2 and len(chart) == 2, "two ScaledObjects in the sample and in the chart")
for so in sample:
    holds(so, "sample")
for so in chart:
    holds(so, "chart")
by_name = {so["metadata"]["name"]: so for so in chart}
for so in sample:
    c = by_name.get(so["metadata"]["name"])
    check(c is not None and c["spec"] == so["spec"] and
          c["metadata"]["namespace"] == so["metadata"]["namespace"],
          f"sample and chart render the same spec for {so['metadata']['name']}")
    if c is not None and c["spec"] != so["spec"]:
        for k in sorted(set(c["spec"]) | set(so["spec"])):
            if c["spec"].get(k) != so["spec"].get(k):
                print(f"       {k}: sample {so['spec'].get(k)!r} chart {c['spec'].get(k)!r}")

zero = {so["metadata"]["name"]: so["spec"] for so in scaled_objects(f"{work}/zero-min.yaml")}
s = holds({"metadata": {"name": "llama-8b-l40s", "namespace": "llm-inference"},
           "spec": zero["llama-8b-l40s"]}, "chart minReplicas 0")
check(s["minReplicaCount"] == 1 and s["fallback"]["replicas"] == 1,
      "chart: VA minReplicas 0 still gives minReplicaCount 1 and fallback.replicas 1")
allowed = {so["metadata"]["name"]: so["spec"] for so in scaled_objects(f"{work}/zero-allowed.yaml")}
s = allowed["llama-8b-l40s"]
check(s["minReplicaCount"] == 0 and s["fallback"]["replicas"] == 1 and
      s["fallback"]["behavior"] == "currentReplicasIfHigher",
      "chart: keda.allowScaleToZero=true gives minReplicaCount 0, fallback still holds")
print(f"keda_test: {fails} failure(s)")
sys.exit(1 if fails else 0)
PY
exit $status
