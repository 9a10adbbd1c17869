#!/usr/bin/env bash
# Install artifacts against a REAL kube-apiserver (scripts/testenv/up).
# 1. Bare cluster (no Prometheus Operator, no KEDA): `kubectl apply -k deploy/` for real; every
#    other kustomization under deploy/ with a server-side dry run; those that render Operator or
#    KEDA kinds must be refused for exactly those kinds; `make deploy IMG=...` (scripts/deploy.sh)
#    sets the image.
# 2. With the Operator's and KEDA's CRDs (test-only stubs, tests/deploy/crds/): every kustomization
#    again, every plain manifest, and the rendered Helm chart deploy/helm/wva.
# Dry runs use `kubectl apply --server-side --dry-run=server`, so the API server's own validation
# (schemas, CRD OpenAPI + CEL, PodSecurity admission warnings) judges them. Also checks: the
# copies kept in the chart (CRD, alerts, dashboard, RBAC rules) equal their deploy/ originals, the
# controller Deployment is hardened, the alert and dashboard PromQL parses (promtool), and bad
# objects are refused (so the dry run really validates).
#
# Exit 77 (ctest SKIP_RETURN_CODE) only when the test environment's binaries are not built
# (`make test` builds them: scripts/testenv/build and scripts/testenv/build-helm).
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TE=$REPO/scripts/testenv
# shellcheck source=../../scripts/testenv/versions.sh
. "$TE/versions.sh"
BIN=$WVA_TESTENV_BIN
for b in etcd kube-apiserver kubectl; do
  if [ ! -x "$BIN/$b" ]; then
    echo "SKIP: $BIN/$b not built (run scripts/testenv/build)"
    exit 77
  fi
done
HELM=$BIN/helm
if [ ! -x "$HELM" ]; then
  echo "helm not found in $BIN; building it (scripts/testenv/build-helm)" >&2
  "$TE/build-helm" || true
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wva-deploy-test.XXXXXX")
ENVDIR=""
cleanup() {
  if [ -n "$ENVDIR" ]; then "$TE/down" "$ENVDIR" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! ENVDIR=$("$TE/up"); then
  echo "FAIL: scripts/testenv/up failed"
  exit 1
fi
set -a
# shellcheck disable=SC1091
. "$ENVDIR/env"
set +a
K=("$BIN/kubectl" --kubeconfig="$KUBECONFIG")
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data

PASS=0; FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && sed 's/^/       /' "$2" | tail -n 40; }

# dryrun NAME [kubectl apply args...]: server-side dry run; fails on errors and on PodSecurity
# warnings (the controller namespace enforces the restricted profile).
dryrun() {
  local name=$1; shift
  local out=$WORK/out.txt
  if "${K[@]}" apply --server-side --force-conflicts --field-manager=wva-deploy-test \
      --dry-run=server "$@" >"$out" 2>&1; then
    if grep -qi "violate PodSecurity" "$out"; then bad "$name (PodSecurity warning)" "$out"; else ok "$name"; fi
  else
    bad "$name" "$out"
  fi
}
# refused NAME FILE: the server must reject FILE.
refused() {
  local out=$WORK/out.txt
  if "${K[@]}" apply --server-side --dry-run=server -f "$2" >"$out" 2>&1; then
    bad "$1 (accepted, should be refused)" "$out"
  else
    ok "$1"
  fi
}
# tojson FILE...: objects of FILE(s) as one JSON List (client-side conversion, no server change).
tojson() {
  local a=() f
  for f in "$@"; do a+=(-f "$f"); done
  "${K[@]}" create --dry-run=client -o json "${a[@]}" | python3 -c '
import json, sys
text, dec, pos, out = sys.stdin.read(), json.JSONDecoder(), 0, []
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    obj, pos = dec.raw_decode(text, pos)
    out.extend(obj["items"] if obj.get("kind") == "List" else [obj])
json.dump({"kind": "List", "items": out}, sys.stdout)'
}

# Every kustomization under deploy/ (kind Kustomization; components are applied through the
# overlays that include them). An overlay "needs CRDs" when it renders a monitoring.coreos.com or
# keda.sh object; every other one must apply on a bare cluster.
OVERLAYS=()
while IFS= read -r f; do
  grep -q '^kind: Component' "$f" && continue
  OVERLAYS+=("$(dirname "${f#"$REPO"/}")")
done < <(find "$REPO/deploy" \( -name kustomization.yaml -o -name Kustomization \) -not -path '*/helm/*' | sort)
needs_crds() { grep -qE '^apiVersion: (monitoring\.coreos\.com|keda\.sh)/' "$WORK/render/$(echo "$1" | tr / _).yaml"; }
mkdir -p "$WORK/render"
for d in "${OVERLAYS[@]}"; do
  if ! "${K[@]}" kustomize "$REPO/$d" >"$WORK/render/$(echo "$d" | tr / _).yaml" 2>"$WORK/k.err"; then
    bad "kustomize build $d" "$WORK/k.err"
  fi
done
# What a bare-cluster user applies must not need the Operator or KEDA.
for d in deploy deploy/samples deploy/monitoring; do
  if needs_crds "$d"; then bad "$d renders no Prometheus Operator / KEDA object"; else ok "$d renders no Prometheus Operator / KEDA object"; fi
done

# The secure metrics endpoint (components/secure-metrics): review verbs only there, the
# Deployment runs --metrics-secure, the ServiceMonitor scrapes https with a bearer token.
if python3 - "$WORK/render" >"$WORK/py.txt" 2>&1 <<'PY'
import os, sys, yaml
def objs(name):
    return [o for o in yaml.safe_load_all(open(os.path.join(sys.argv[1], name))) if o]
def reviews(os_):
    return [r for o in os_ if o["kind"] == "ClusterRole" for r in o["rules"]
            if r.get("resources") in (["tokenreviews"], ["subjectaccessreviews"])]
assert not reviews(objs("deploy.yaml")), "deploy/ grants review verbs"
sec = objs("deploy_overlays_prometheus-operator-secure-metrics.yaml")
assert len(reviews(sec)) == 2, reviews(sec)
args = [o for o in sec if o["kind"] == "Deployment"][0]["spec"]["template"]["spec"]["containers"][0]["args"]
assert "--metrics-secure" in args, args
ep = [o for o in sec if o["kind"] == "ServiceMonitor"][0]["spec"]["endpoints"][0]
assert ep["scheme"] == "https" and ep["bearerTokenFile"].endswith("/token") and ep["honorLabels"], ep
reader = [o for o in sec if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("metrics-reader")]
assert reader and reader[0]["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}], reader
PY
then ok "secure-metrics: review verbs only with the component; --metrics-secure; ServiceMonitor https + token"
else bad "secure-metrics component renders" "$WORK/py.txt"
fi

# --- Bare cluster: no Prometheus Operator, no KEDA ----------------------------------------------
# `kubectl apply -k deploy/` for real, exactly as docs/install.md says (client-side apply).
if "${K[@]}" apply -k "$REPO/deploy" >"$WORK/bare.txt" 2>&1; then
  ok "bare cluster: kubectl apply -k deploy/"
  sed 's/^/       /' "$WORK/bare.txt"
else
  bad "bare cluster: kubectl apply -k deploy/" "$WORK/bare.txt"
fi
"${K[@]}" wait --for=condition=Established crd/variantautoscalings.llmd.ai --timeout=60s >/dev/null 2>&1
# The samples' namespace for real, so namespaced objects can be dry-run into it.
if "${K[@]}" apply --server-side -f "$REPO/deploy/samples/common/namespace.yaml" >"$WORK/ns.txt" 2>&1; then
  ok "samples namespace created"
else
  bad "samples namespace created" "$WORK/ns.txt"
fi
for d in "${OVERLAYS[@]}"; do
  r=$WORK/render/$(echo "$d" | tr / _).yaml
  [ -s "$r" ] || continue
  if needs_crds "$d"; then
    # Refused, and only for the missing kinds (so the rest of the overlay is sound).
    if "${K[@]}" apply --server-side --force-conflicts --dry-run=server -f "$r" >"$WORK/out.txt" 2>&1; then
      bad "bare cluster: $d needs CRDs but applied (test premise broken)" "$WORK/out.txt"
    elif grep -v '^Warning: ' "$WORK/out.txt" | grep -v -E 'no matches for kind "(ServiceMonitor|PodMonitor|PrometheusRule|ScaledObject)"|ensure CRDs are installed first|^[a-z0-9.-]+/[^ ]+ (serverside-applied|created|configured|unchanged)' \
           >"$WORK/rest.txt"; then
      bad "bare cluster: $d refused only for the Operator/KEDA kinds (other errors below)" "$WORK/rest.txt"
    else
      ok "bare cluster: $d refused only for the Operator/KEDA kinds (as documented)"
    fi
  else
    dryrun "bare cluster: kubectl apply -k $d" -f "$r"
  fi
done
# `make deploy IMG=...` (scripts/deploy.sh: kubectl's kustomize, no standalone binary).
if IMG=registry.example.com:5000/team/wva-cpp:1.2.3 KUBECTL="$BIN/kubectl" KUBECONFIG="$KUBECONFIG" \
     bash "$REPO/scripts/deploy.sh" render >"$WORK/mk.yaml" 2>"$WORK/mk.err" &&
   [ "$(grep -c 'image: registry.example.com:5000/team/wva-cpp:1.2.3$' "$WORK/mk.yaml")" = 1 ] &&
   ! grep -q 'your-org' "$WORK/mk.yaml"; then
  ok "make deploy IMG=...: the controller image is set"
else
  bad "make deploy IMG=...: the controller image is set" "$WORK/mk.err"
fi
if IMG=registry.example.com/team/wva-cpp:1.2.3 KUBECTL="$BIN/kubectl" KUBECONFIG="$KUBECONFIG" \
     bash "$REPO/scripts/deploy.sh" apply --dry-run=server >"$WORK/mk.txt" 2>&1; then
  ok "bare cluster: make deploy IMG=... (server dry run)"
else
  bad "bare cluster: make deploy IMG=... (server dry run)" "$WORK/mk.txt"
fi

# --- With the Operator's and KEDA's CRDs (test-only stubs, tests/deploy/crds/) ------------------
if "${K[@]}" apply --server-side -f "$REPO/tests/deploy/crds/" >"$WORK/crds.txt" 2>&1 &&
   "${K[@]}" wait --for=condition=Established crd -l wva.llmd.ai/test-stub=true --timeout=60s \
     >>"$WORK/crds.txt" 2>&1; then
  ok "stub CRDs (monitoring.coreos.com, keda.sh) established"
else
  bad "stub CRDs established" "$WORK/crds.txt"
fi
for i in $(seq 100); do
  "${K[@]}" get --raw /apis/keda.sh/v1alpha1 2>/dev/null | grep -q scaledobjects &&
    "${K[@]}" get --raw /apis/monitoring.coreos.com/v1 2>/dev/null | grep -q prometheusrules && break
  sleep 0.1
done
for d in "${OVERLAYS[@]}"; do
  r=$WORK/render/$(echo "$d" | tr / _).yaml
  [ -s "$r" ] && dryrun "with CRDs: kubectl apply -k $d" -f "$r"
done
if IMG=registry.example.com/team/wva-cpp:1.2.3 OVERLAY=prometheus-operator KUBECTL="$BIN/kubectl" \
     KUBECONFIG="$KUBECONFIG" bash "$REPO/scripts/deploy.sh" apply --dry-run=server \
     >"$WORK/mk.txt" 2>&1 && grep -q servicemonitor "$WORK/mk.txt"; then
  ok "with CRDs: make deploy IMG=... OVERLAY=prometheus-operator (server dry run)"
else
  bad "with CRDs: make deploy IMG=... OVERLAY=prometheus-operator (server dry run)" "$WORK/mk.txt"
fi

# --- Plain manifests (kubectl apply -f of each file) ----------------------------------------------
dryrun "deploy/crd" -f "$REPO/deploy/crd/llmd.ai_variantautoscalings.yaml"
dryrun "deploy/rbac" -f "$REPO/deploy/rbac/role.yaml" -f "$REPO/deploy/rbac/role_binding.yaml" \
  -f "$REPO/deploy/rbac/service_account.yaml"
while IFS= read -r f; do
  dryrun "${f#"$REPO"/}" -f "$f"
done < <(find "$REPO/deploy/manager" "$REPO/deploy/samples" "$REPO/deploy/components" -name '*.yaml' \
           -not -name kustomization.yaml | sort)
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$REPO/deploy/monitoring/grafana-dashboard.json" 2>"$WORK/j.txt"; then
  ok "grafana-dashboard.json is valid JSON"
else
  bad "grafana-dashboard.json is valid JSON" "$WORK/j.txt"
fi
RULES=$REPO/deploy/components/prometheus-operator/prometheusrule.yaml
cp "$WORK/render/deploy_overlays_prometheus-operator.yaml" "$WORK/kustomize-all.yaml" 2>/dev/null

# --- Helm chart -------------------------------------------------------------------------------
CHART=$REPO/deploy/helm/wva
NS=workload-variant-autoscaler-system
if [ -x "$HELM" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=test-prometheus-ca -keyout "$WORK/ca.key" -out "$WORK/ca.crt" >/dev/null 2>&1
  if "$HELM" lint "$CHART" -f "$REPO/tests/deploy/values-test.yaml" >"$WORK/lint.txt" 2>&1; then
    ok "helm lint"
  else
    bad "helm lint" "$WORK/lint.txt"
  fi
  if "$HELM" template wva "$CHART" -n "$NS" >"$WORK/helm-default.yaml" 2>"$WORK/h.err"; then
    dryrun "helm template (default values)" -f "$WORK/helm-default.yaml"
  else
    bad "helm template (default values)" "$WORK/h.err"
  fi
  if "$HELM" template wva "$CHART" -n "$NS" --include-crds -f "$REPO/tests/deploy/values-test.yaml" \
      --set-file prometheus.caCert="$WORK/ca.crt" >"$WORK/helm-hpa.yaml" 2>"$WORK/h.err"; then
    dryrun "helm template (CRD, variants, HPAs, CA, ServiceMonitor, alerts, dashboard)" -f "$WORK/helm-hpa.yaml"
  else
    bad "helm template (HPA values)" "$WORK/h.err"
  fi
  if "$HELM" template wva "$CHART" -n "$NS" -f "$REPO/tests/deploy/values-test.yaml" \
      --set hpa.enabled=false --set keda.enabled=true >"$WORK/helm-keda.yaml" 2>"$WORK/h.err"; then
    dryrun "helm template (KEDA ScaledObjects)" -f "$WORK/helm-keda.yaml"
  else
    bad "helm template (KEDA values)" "$WORK/h.err"
  fi
  if "$HELM" template wva "$CHART" -n "$NS" --set hpa.enabled=true --set keda.enabled=true \
      >/dev/null 2>"$WORK/h.err"; then
    bad "helm refuses hpa.enabled together with keda.enabled"
  else
    ok "helm refuses hpa.enabled together with keda.enabled"
  fi
  if "$HELM" template wva "$CHART" -n "$NS" --set prometheus.url= >/dev/null 2>"$WORK/h.err"; then
    bad "helm requires prometheus.url"
  else
    ok "helm requires prometheus.url"
  fi
  # values.schema.json: an unknown key (a typo) is refused, at the top level and nested.
  for bogus in "reconcileIntervall=30s" "prometheus.urll=https://p:9090" "wva.prometheus.baseUrl=x"; do
    if "$HELM" template wva "$CHART" -n "$NS" --set "$bogus" >/dev/null 2>"$WORK/h.err" ||
        ! grep -q "additional properties" "$WORK/h.err"; then
      bad "helm refuses the unknown key ${bogus%%=*}" "$WORK/h.err"
    else
      ok "helm refuses the unknown key ${bogus%%=*}"
    fi
  done
  # An upstream WVA v0.5 values file installs unchanged; its keys map onto this chart's.
  if "$HELM" template wva "$CHART" -n "$NS" -f "$REPO/tests/deploy/values-upstream-v05.yaml" \
      >"$WORK/helm-v05.yaml" 2>"$WORK/h.err"; then
    dryrun "helm template (upstream v0.5 values file)" -f "$WORK/helm-v05.yaml"
    tojson "$WORK/helm-v05.yaml" >"$WORK/helm-v05.json" 2>"$WORK/c.err" || bad "convert helm-v05" "$WORK/c.err"
    if python3 - "$WORK/helm-v05.json" >"$WORK/py.txt" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
objs = d["items"] if d.get("kind") == "List" else [d]
kinds = lambda k: [o for o in objs if o["kind"] == k]
dep = kinds("Deployment")[0]
c = dep["spec"]["template"]["spec"]["containers"][0]
env = {e["name"]: e.get("value") for e in c["env"]}
assert env["PROMETHEUS_BASE_URL"].startswith("https://kube-prometheus-stack-prometheus."), env
assert env["PROMETHEUS_CA_CERT_PATH"] == "/etc/ssl/certs/prometheus-ca.crt", env
assert env["PROMETHEUS_TLS_INSECURE_SKIP_VERIFY"] == "false", env
assert env["GLOBAL_OPT_INTERVAL"] == "45s" and env["CONTROLLER_INSTANCE"] == "blue", env
assert "--metrics-bind-address=:8443" in c["args"], c["args"]
# wva.metrics.secure: the secure endpoint, its review verbs and the metrics-reader role.
assert "--metrics-secure" in c["args"], c["args"]
rules = [r for o in kinds("ClusterRole") for r in o["rules"]]
assert {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]} in rules, rules
assert {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]} in rules, rules
assert {"nonResourceURLs": ["/metrics"], "verbs": ["get"]} in rules, rules
assert c["image"].startswith("ghcr.io/your-org/wva-cpp:"), c["image"]  # wva.image is not ours
cm = [o for o in kinds("ConfigMap") if o["metadata"]["name"] == "capacity-scaling-config"][0]
assert "kvCacheThreshold: 0.75" in cm["data"]["default"] and "queueLengthThreshold: 6" in cm["data"]["default"]
assert "model_id: meta-llama/Llama-3.1-8B" in cm["data"]["llama-8b"], cm["data"]
va = kinds("VariantAutoscaling")
assert len(va) == 1 and va[0]["metadata"]["name"] == "ms-sim-llm-d-modelservice-decode", va
assert va[0]["metadata"]["namespace"] == "llm-inference" and va[0]["spec"]["modelID"] == "meta-llama/Llama-3.1-8B"
assert va[0]["spec"]["accelerator"] == "H100" and va[0]["spec"]["variantCost"] == "10.0"
h = kinds("HorizontalPodAutoscaler")
assert len(h) == 1 and h[0]["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 240
assert h[0]["spec"]["metrics"][0]["external"]["target"]["averageValue"] == "1"
print("upstream v0.5 mapping ok")
PY
    then ok "helm: upstream v0.5 keys mapped (baseURL, tls, reconcileInterval, capacityScaling, va/llmd, hpa, controllerInstance, metrics.secure)"
    else bad "helm: upstream v0.5 keys mapped" "$WORK/py.txt"
    fi
  else
    bad "helm template (upstream v0.5 values file)" "$WORK/h.err"
  fi
  # Structure of what the chart renders (counts and the HPA/KEDA wiring).
  tojson "$WORK/helm-hpa.yaml" >"$WORK/helm-hpa.json" 2>"$WORK/c.err" || bad "convert helm-hpa" "$WORK/c.err"
  tojson "$WORK/helm-keda.yaml" >"$WORK/helm-keda.json" 2>"$WORK/c.err" || bad "convert helm-keda" "$WORK/c.err"
  if python3 - "$WORK/helm-hpa.json" "$WORK/helm-keda.json" >"$WORK/py.txt" 2>&1 <<'PY'
import json, sys
def items(p):
    d = json.load(open(p))
    return d["items"] if d.get("kind") == "List" else [d]
hpa, keda = items(sys.argv[1]), items(sys.argv[2])
kinds = lambda objs, k: [o for o in objs if o["kind"] == k]
# Least privilege: without metrics.secure the controller gets no review verbs.
assert not any(r.get("resources") in (["tokenreviews"], ["subjectaccessreviews"])
               for o in kinds(hpa, "ClusterRole") for r in o["rules"]), "review verbs without metrics.secure"
vas = kinds(hpa, "VariantAutoscaling")
assert [v["metadata"]["name"] for v in vas] == ["llama-8b-l40s", "llama-8b-a100"], vas
assert [v["spec"]["variantCost"] for v in vas] == ["5.0", "20.0"]
assert vas[1]["spec"]["maxReplicas"] == 4 and vas[0]["spec"]["maxReplicas"] == 10
hpas = kinds(hpa, "HorizontalPodAutoscaler")
assert len(hpas) == 2, hpas
for h, v in zip(hpas, vas):
    m = h["spec"]["metrics"][0]["external"]
    assert m["metric"]["name"] == "wva_desired_replicas"
    assert m["metric"]["selector"]["matchLabels"] == {"variant_name": v["metadata"]["name"], "namespace": "llm-inference"}
    assert m["target"] == {"type": "AverageValue", "averageValue": "1"}
    assert h["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert h["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 240
    assert h["spec"]["scaleTargetRef"]["name"] == v["spec"]["scaleTargetRef"]["name"]
assert not kinds(hpa, "ScaledObject")
sos = kinds(keda, "ScaledObject")
assert len(sos) == 2 and not kinds(keda, "HorizontalPodAutoscaler")
t = sos[0]["spec"]["triggers"][0]
assert t["type"] == "prometheus" and t["metadata"]["threshold"] == "1"
assert t["metadata"]["query"] == 'max(wva_desired_replicas{variant_name="llama-8b-l40s",namespace="llm-inference"})', t
cm = [o for o in kinds(hpa, "ConfigMap") if o["metadata"]["name"] == "capacity-scaling-config"][0]
assert set(cm["data"]) == {"default", "llama-8b-prod"}, cm["data"]
assert "kvCacheThreshold: 0.8" in cm["data"]["default"]
dep = kinds(hpa, "Deployment")[0]
env = {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
assert env["PROMETHEUS_CA_CERT_PATH"] == "/etc/wva/prometheus-ca/ca.crt" and env["GLOBAL_OPT_INTERVAL"] == "30s", env
assert len(kinds(hpa, "PrometheusRule")) == 1 and len(kinds(hpa, "ServiceMonitor")) == 1
assert len(kinds(hpa, "CustomResourceDefinition")) == 1
print("chart structure ok")
PY
  then ok "helm render: VAs, one HPA per variant (External wva_desired_replicas, AverageValue 1), ScaledObjects, ConfigMap"
  else bad "helm render structure" "$WORK/py.txt"
  fi
else
  bad "helm not available in $BIN (scripts/testenv/build-helm failed); chart not tested"
fi

# --- The controller Deployment is hardened (kustomize and helm renders) -----------------------
tojson "$WORK/kustomize-all.yaml" >"$WORK/kustomize-all.json" 2>"$WORK/c.err" || bad "convert kustomize" "$WORK/c.err"
for f in "$WORK/kustomize-all.json" "$WORK/helm-hpa.json"; do
  [ -s "$f" ] || continue
  if python3 - "$f" >"$WORK/py.txt" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
objs = d["items"] if d.get("kind") == "List" else [d]
dep = [o for o in objs if o["kind"] == "Deployment"]
assert len(dep) == 1, [o["metadata"]["name"] for o in dep]
pod = dep[0]["spec"]["template"]["spec"]
c = pod["containers"][0]
assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 65532
assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
sc = c["securityContext"]
assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
assert sc["capabilities"]["drop"] == ["ALL"]
assert c["args"][:2] == ["run", "--leader-elect"], c["args"]
assert "--metrics-bind-address=:8080" in c["args"] and "--health-probe-bind-address=:8081" in c["args"]
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert c["livenessProbe"]["httpGet"]["port"] == "health"
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
assert ports == {"metrics": 8080, "health": 8081}, ports
assert c["resources"]["requests"] and c["resources"]["limits"]
env = {e["name"]: e for e in c["env"]}
assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
assert env["PROMETHEUS_BASE_URL"]["value"].startswith("https://")
assert env["PROMETHEUS_TLS_INSECURE_SKIP_VERIFY"]["value"] == "false"
svc = [o for o in objs if o["kind"] == "Service"][0]
assert svc["spec"]["ports"][0]["name"] == "metrics" and svc["spec"]["ports"][0]["port"] == 8080
sm = [o for o in objs if o["kind"] == "ServiceMonitor"][0]
assert sm["spec"]["endpoints"][0]["honorLabels"] is True
cms = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
assert "default" in cms["capacity-scaling-config"]["data"]
print("hardened")
PY
  then ok "controller Deployment hardened and wired ($(basename "$f" .json))"
  else bad "controller Deployment hardened ($(basename "$f" .json))" "$WORK/py.txt"
  fi
done

# --- Copies kept in the chart are identical to deploy/ --------------------------------------------
if cmp -s "$REPO/deploy/crd/llmd.ai_variantautoscalings.yaml" "$CHART/crds/llmd.ai_variantautoscalings.yaml" &&
   [ "$(ls "$REPO"/deploy/crd/*.yaml | wc -l)" = "$(ls "$CHART/crds" | wc -l)" ]; then
  ok "chart crds/ identical to deploy/crd"
else
  bad "chart crds/ identical to deploy/crd (cp deploy/crd/*.yaml deploy/helm/wva/crds/)"
fi
if cmp -s "$REPO/deploy/monitoring/grafana-dashboard.json" "$CHART/files/grafana-dashboard.json"; then
  ok "chart dashboard identical to deploy/monitoring"
else
  bad "chart files/grafana-dashboard.json identical to deploy/monitoring/grafana-dashboard.json"
fi
tojson "$RULES" >"$WORK/rule.json" 2>/dev/null
tojson "$REPO/deploy/rbac/role.yaml" >"$WORK/rbac.json" 2>/dev/null
if [ -s "$WORK/helm-hpa.json" ] && python3 - "$WORK/rule.json" "$WORK/rbac.json" "$WORK/helm-hpa.json" >"$WORK/py.txt" 2>&1 <<'PY'
import json, sys
def items(p):
    d = json.load(open(p))
    return d["items"] if d.get("kind") == "List" else [d]
rule, rbac, chart = items(sys.argv[1]), items(sys.argv[2]), items(sys.argv[3])
by = lambda objs, k: [o for o in objs if o["kind"] == k]
assert by(chart, "PrometheusRule")[0]["spec"] == rule[0]["spec"], "alerts differ"
assert by(chart, "ClusterRole")[0]["rules"] == by(rbac, "ClusterRole")[0]["rules"], "ClusterRole rules differ"
assert by(chart, "Role")[0]["rules"] == by(rbac, "Role")[0]["rules"], "Role rules differ"
PY
then ok "chart alerts and RBAC rules identical to deploy/components/prometheus-operator and deploy/rbac"
else bad "chart alerts and RBAC rules identical to deploy/" "$WORK/py.txt"
fi

# --- PromQL of alerts and dashboard parses --------------------------------------------------------
if command -v promtool >/dev/null; then
  if python3 - "$WORK/rule.json" "$REPO/deploy/monitoring/grafana-dashboard.json" "$WORK/rules.json" >"$WORK/py.txt" 2>&1 <<'PY'
import json, sys
rule = json.load(open(sys.argv[1]))
rule = rule["items"][0] if rule.get("kind") == "List" else rule
groups = rule["spec"]["groups"]
names = {r.get("alert") for g in groups for r in g["rules"]}
need = {"WVAHighSaturation", "WVAReplicaMismatch", "WVAQueueBacklog", "WVAOptimizationFailed"}
assert need <= names, names
dash = json.load(open(sys.argv[2]))
recs = []
for p in dash["panels"]:
    for t in p.get("targets", []):
        e = t["expr"].replace("$__rate_interval", "5m").replace("$namespace", ".*").replace("$model", ".*")
        recs.append({"record": "wva:dashboard:%d_%s" % (p["id"], t["refId"]), "expr": e})
groups.append({"name": "dashboard", "rules": recs})
json.dump({"groups": groups}, open(sys.argv[3], "w"))
PY
  then
    if promtool check rules "$WORK/rules.json" >"$WORK/promtool.txt" 2>&1; then
      ok "promtool: alerts and dashboard queries parse ($(grep -o '[0-9]* rules found' "$WORK/promtool.txt"))"
    else
      bad "promtool check rules" "$WORK/promtool.txt"
    fi
  else
    bad "alerts present / dashboard queries extracted" "$WORK/py.txt"
  fi
else
  bad "promtool not installed (Debian package prometheus, scripts/setup.sh)"
fi

# --- The dry run really validates: bad objects are refused ----------------------------------------
cat >"$WORK/bad-va.yaml" <<'EOF'
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: bad, namespace: llm-inference}
spec:
  scaleTargetRef: {name: x}
  modelID: m
  variantCost: "five"
EOF
refused "VA with variantCost \"five\" refused" "$WORK/bad-va.yaml"
cat >"$WORK/bad-hpa.yaml" <<'EOF'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: bad, namespace: llm-inference}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: x}
  maxReplicas: 3
  metrics:
    - type: External
      external:
        metric: {name: wva_desired_replicas}
        target: {type: AverageValue}
EOF
refused "HPA External target without averageValue refused" "$WORK/bad-hpa.yaml"
cat >"$WORK/bad-so.yaml" <<'EOF'
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: bad, namespace: llm-inference}
spec:
  scaleTargetRef: {name: x}
  triggers: [{type: prometheus, metricType: Bogus, metadata: {threshold: "1"}}]
EOF
refused "ScaledObject with bad metricType refused (stub CRD validates)" "$WORK/bad-so.yaml"

echo "deploy_apply: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
