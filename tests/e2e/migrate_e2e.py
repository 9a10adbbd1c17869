#!/usr/bin/env python3
"""Migration from upstream WVA (docs/migrate-from-upstream.md), walked through against a real
kube-apiserver + etcd and a real Prometheus (TLS) scraping `wva emulate`:

  controller started as upstream's manifests start it (--metrics-secure, --leader-election-*,
  --config-file with upstream's config.yaml keys): HTTPS metrics, read with a ServiceAccount
  token bound to the metrics-reader ClusterRole
  v0.5 install: VariantAutoscalings as upstream wrote them + ConfigMap
     wva-saturation-scaling-config (V1 keys)      -> V1 decisions, wva_desired_replicas
  v0.9 install: the upstream sample annotated HPA + ConfigMap with `analyzers:` (V2)
                                                  -> token-based decision (multi-replica step),
                                                     variant_name = the HPA's name, Event on it
  Prometheus scraping the secure endpoint as our ServiceMonitor does (honorLabels) and as
  upstream's does (no honorLabels, target label namespace = the controller's): the upstream
  HPA/prometheus-adapter selector on exported_namespace finds wva_desired_replicas in both
  namespace opt-out, controller-instance isolation, missing model-id (Event)
  KEDA's ScaledObject CRD installed while running -> watched without a restart; a ScaledObject
                                                     on the same target wins over the HPA

Usage: migrate_e2e.py WVA_BINARY REPO_DIR. Exits 77 (skip) when the control plane is not built.
"""
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import check, control_plane, failures, http, kubectl_for, log, run, wait_for  # noqa: E402

WVA, REPO = sys.argv[1], sys.argv[2]
TESTENV = os.path.join(REPO, "scripts", "testenv")
OLD_NS, OLD_MODEL = "llm-d-v05", "meta/llama-8b"
NS, MODEL = "llm-d-sim", "default/default"
SYS_NS = "workload-variant-autoscaler-system"
INTERVAL = 2  # seconds between optimization cycles
procs = []
work = tempfile.mkdtemp(prefix="wva-migrate-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)


env = control_plane(TESTENV, work)
kubectl, kapply = kubectl_for(env)


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    subprocess.run([os.path.join(TESTENV, "prometheus"), "stop", os.path.join(work, "prom")], capture_output=True)
    subprocess.run([os.path.join(TESTENV, "down"), os.path.join(work, "k8s")], capture_output=True)


def dump_logs():
    for name in ("emulate.log", "wva.log"):
        p = os.path.join(work, name)
        if os.path.exists(p):
            print(f"--- tail {name}")
            print("".join(open(p).readlines()[-40:]))


def owned_pods(ns, name, n, labels):
    d = kapply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": n, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai"}]}}}})
    rs = kapply({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": {"name": f"{name}-rs", "namespace": ns, "labels": labels,
                              "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                   "uid": d["metadata"]["uid"], "controller": True}]},
                 "spec": {"replicas": n, "selector": {"matchLabels": labels},
                          "template": {"metadata": {"labels": labels},
                                       "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai"}]}}}})
    for i in range(n):
        kapply({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"{name}-{i}", "namespace": ns, "labels": labels,
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-rs",
                                                  "uid": rs["metadata"]["uid"], "controller": True}]},
                "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai"}]}})


def hpa(name, target, annotations, labels=None):
    # The shape of upstream v0.9's config/samples/hpa/annotations/hpa.yaml.
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": NS, "annotations": annotations, "labels": labels or {}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": 1, "maxReplicas": 10,
                     "metrics": [{"type": "External", "external": {
                         "metric": {"name": "wva_desired_replicas",
                                    "selector": {"matchLabels": {"variant_name": name, "exported_namespace": NS}}},
                         "target": {"type": "AverageValue", "averageValue": "1"}}}]}}


try:
    emu_log = open(os.path.join(work, "emulate.log"), "w")
    port_file = os.path.join(work, "emu.port")
    pods = {(OLD_NS, OLD_MODEL, "vllm-l40s"): 2, (OLD_NS, OLD_MODEL, "vllm-a100"): 2,
            (NS, MODEL, "sample-deployment"): 4, (NS, MODEL, "other-deployment"): 1}
    variants = [f"namespace={ns},model={m},name={name},replicas={n},kv=0.6,queue=2,numGpuBlocks=625,blockSize=16"
                for (ns, m, name), n in pods.items()]
    emu = subprocess.Popen([WVA, "emulate", "--port", "0", "--port-file", port_file, "--mode", "fixed"]
                           + sum([["--variant", v] for v in variants], []), stdout=emu_log, stderr=subprocess.STDOUT)
    procs.append(emu)
    emu_port = int(wait_for("emulator port", lambda: open(port_file).read().strip() if os.path.exists(port_file) and open(port_file).read().strip() else None, 30))
    EMU = f"http://127.0.0.1:{emu_port}"
    prom_dir = os.path.join(work, "prom")
    prom_url = run(os.path.join(TESTENV, "prometheus"), "start", prom_dir, "--target", f"vllm=127.0.0.1:{emu_port}",
                   "--interval", "1s", "--tls").stdout.strip().splitlines()[-1]
    ca = os.path.join(prom_dir, "pki", "ca.crt")

    def set_load(kv, queue, only_ns):
        for (ns, m, name), n in pods.items():
            if ns != only_ns:
                continue
            for i in range(n):
                http("PUT", f"{EMU}/control/pods/{ns}/{name}-{i}", {"kv": kv, "waiting": queue})

    for ns in (OLD_NS, NS, SYS_NS):
        kubectl("create", "namespace", ns, check=False)
    for (ns, m, name), n in pods.items():
        owned_pods(ns, name, n, {"app": name})

    # Step 1 (guide: "From a v0.5 CRD install"): the VAs and the ConfigMap exactly as upstream
    # v0.5 wrote them (no min/max in the VA; the upstream ConfigMap name and keys).
    for name, cost in (("vllm-l40s", "5.0"), ("vllm-a100", "20.0")):
        kapply({"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
                "metadata": {"name": name, "namespace": OLD_NS},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name}, "modelID": OLD_MODEL,
                         "variantCost": cost}})
    kapply({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "wva-saturation-scaling-config", "namespace": SYS_NS},
            "data": {"default": "kvCacheThreshold: 0.80\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.1\nqueueSpareTrigger: 3\n"}})

    # Upstream's manager config.yaml (ConfigMap wva-manager-config), mounted as a file.
    cfg = os.path.join(work, "config.yaml")
    open(cfg, "w").write(f'PROMETHEUS_BASE_URL: "{prom_url}"\nPROMETHEUS_CA_CERT_PATH: "{ca}"\n'
                         f'GLOBAL_OPT_INTERVAL: "{INTERVAL}s"\nWVA_SCALE_TO_ZERO: "false"\n'
                         'EXPERIMENTAL_COORDINATOR_ENABLED: "false"\n')
    logf = os.path.join(work, "wva.log")
    wva = subprocess.Popen([WVA, "run", "--kubeconfig", env["KUBECONFIG"], "--config-file", cfg,
                            "--leader-elect=true", "--metrics-secure=true",
                            "--leader-election-lease-duration", "60s", "--leader-election-renew-deadline", "50s",
                            "--leader-election-retry-period", "10s", "--health-probe-bind-address", "127.0.0.1:0",
                            "--metrics-bind-address", "127.0.0.1:0", "--metrics-window", "4s",
                            "--pod-namespace", SYS_NS], stdout=open(logf, "w"), stderr=subprocess.STDOUT)
    procs.append(wva)

    def ports():
        for line in open(logf):
            if '"starting"' in line:
                j = json.loads(line)
                return j["metrics_port"], j["health_port"]
        return None
    mp, hp = wait_for("controller listeners", ports, 30)
    wait_for("controller /readyz", lambda: http("GET", f"http://127.0.0.1:{hp}/readyz") is not None, 60)
    # --metrics-secure=true as upstream: HTTPS (self-signed here: no --metrics-cert-path), and a
    # reader needs a token bound to the metrics-reader ClusterRole (deploy/components/secure-metrics).
    METRICS = f"https://127.0.0.1:{mp}/metrics"
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    kubectl("apply", "-f", os.path.join(REPO, "deploy", "components", "secure-metrics", "metrics_reader_role.yaml"))
    kubectl("create", "namespace", "monitoring")
    kubectl("create", "serviceaccount", "prometheus", "-n", "monitoring")
    kubectl("create", "clusterrolebinding", "wva-metrics-reader",
            "--clusterrole=workload-variant-autoscaler-metrics-reader", "--serviceaccount=monitoring:prometheus")
    reader_token = json.loads(kubectl("create", "--raw", "/api/v1/namespaces/monitoring/serviceaccounts/prometheus/token",
                                      "-f", "-", input=json.dumps({"apiVersion": "authentication.k8s.io/v1",
                                                                   "kind": "TokenRequest", "spec": {}})).stdout)["status"]["token"]
    try:
        http("GET", METRICS, ctx=insecure)
        check(False, "--metrics-secure=true: a scrape without a token is refused")
    except urllib.error.HTTPError as e:
        check(e.code == 401, f"--metrics-secure=true: a scrape without a token is refused ({e.code})")

    def published(ns=None):
        out = {}
        body = http("GET", METRICS, ctx=insecure, token=reader_token)
        for m in re.finditer(r'^wva_desired_replicas\{([^}]*)\} (\S+)$', body, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            if ns is None or labels["namespace"] == ns:
                out[labels["variant_name"]] = float(m.group(2))
        return out

    def events(ns):
        return json.loads(kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]

    wait_for("v0.5 steady", lambda: published(OLD_NS) == {"vllm-l40s": 2, "vllm-a100": 2}, 60)
    set_load(0.9, 6, OLD_NS)
    pub = wait_for("v0.5 scale-up", lambda: (lambda p: p if p.get("vllm-l40s") == 3 else None)(published(OLD_NS)), 60)
    check(pub == {"vllm-l40s": 3, "vllm-a100": 2}, f"v0.5 VAs + ConfigMap: V1 grows the cheapest by one (published {pub})")

    # Step 2 (guide: "From a v0.9 annotation install"): the VAs go, the annotated HPA and the
    # v0.9 ConfigMap (an `analyzers:` list selects the token-based analyzer) come in.
    for name in ("vllm-l40s", "vllm-a100"):
        kubectl("delete", "va", name, "-n", OLD_NS)
    kubectl("patch", "configmap", "wva-saturation-scaling-config", "-n", SYS_NS, "--type=merge", "-p", json.dumps(
        {"data": {"default": "analyzers:\n  - name: saturation\n    score: 1.0\nscaleUpThreshold: 0.85\n"
                             "scaleDownBoundary: 0.70\nkvCacheThreshold: 0.80\nqueueLengthThreshold: 5\n"
                             "kvSpareTrigger: 0.1\nqueueSpareTrigger: 3\nenableLimiter: false\nenableRescale: false\n"}}))
    set_load(0.5, 0, NS)
    kapply(hpa("sample-deployment-hpa", "sample-deployment",
               {"llm-d.ai/managed": "true", "llm-d.ai/model-id": MODEL, "llm-d.ai/variant-cost": "10.0"}))
    wait_for("v0.9 HPA discovered", lambda: published(NS) == {"sample-deployment-hpa": 4}, 60)
    # Four pods at full KV with 10 waiting: demand 4 x 10000 tokens, supply 4 x 8000 (k1);
    # RC = 40000/0.85 - 32000 = 15059 -> ceil(15059/8000) = 2 replicas in one step (V1: +1).
    set_load(1.0, 10, NS)
    pub = wait_for("V2 scale-up", lambda: (lambda p: p if p.get("sample-deployment-hpa", 4) > 4 else None)(published(NS)), 60)
    check(pub == {"sample-deployment-hpa": 6}, f"v0.9 annotated HPA + analyzers ConfigMap: token-based step 4 -> 6 (published {pub})")
    ev = wait_for("ScaledUp on the HPA", lambda: [e for e in events(NS) if e["reason"] == "ScaledUp"
                                                   and e["involvedObject"]["kind"] == "HorizontalPodAutoscaler"], 20)
    check(ev[0]["involvedObject"]["name"] == "sample-deployment-hpa", "the ScaledUp Event is on the HPA")

    # Labels: Prometheus scrapes the secure endpoint twice, as our ServiceMonitor does
    # (honorLabels) and as upstream's does (no honorLabels; the Operator sets the target label
    # namespace = the controller's). The upstream sample HPA's selector, and the
    # prometheus-adapter seriesQuery, select exported_namespace: both jobs must answer them.
    token_file = os.path.join(work, "reader.token")
    open(token_file, "w").write(reader_token)
    jobs = os.path.join(work, "jobs.yml")
    def job(name, honor):
        return (f"  - job_name: '{name}'\n    scheme: https\n    honor_labels: {honor}\n"
                f"    authorization: {{type: Bearer, credentials_file: '{token_file}'}}\n"
                "    tls_config: {insecure_skip_verify: true}\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{mp}']\n"
                f"        labels: {{namespace: {SYS_NS}}}\n")
    open(jobs, "w").write(job("wva-honor-labels", "true") + job("wva-upstream-servicemonitor", "false"))
    run(os.path.join(TESTENV, "prometheus"), "reload", prom_dir, "--target", f"vllm=127.0.0.1:{emu_port}",
        "--interval", "1s", "--scrape-config", jobs)
    prom_ctx = ssl.create_default_context(cafile=ca)

    def prom(q):
        return json.loads(http("GET", f"{prom_url}/api/v1/query?" + urllib.parse.urlencode({"query": q}),
                               ctx=prom_ctx))["data"]["result"]
    upstream_q = f'wva_desired_replicas{{variant_name="sample-deployment-hpa",exported_namespace="{NS}"}}'
    res = wait_for("both scrape jobs in Prometheus", lambda: (lambda r: r if len(r) == 2 else None)(prom(upstream_q)), 60)
    by_job = {r["metric"]["job"]: r for r in res}
    check(sorted(by_job) == ["wva-honor-labels", "wva-upstream-servicemonitor"] and
          all(float(r["value"][1]) == 6 for r in res),
          f"upstream's selector on exported_namespace reads 6 replicas through Prometheus under both scrape configs ({res})")
    check(by_job.get("wva-honor-labels", {}).get("metric", {}).get("namespace") == NS,
          "honorLabels (our ServiceMonitor): namespace is the variant's, so our own selectors keep working")
    check(by_job.get("wva-upstream-servicemonitor", {}).get("metric", {}).get("namespace") == SYS_NS,
          "no honorLabels (upstream's ServiceMonitor): namespace is the controller's, exported_namespace the variant's")
    adapter = prom('wva_desired_replicas{variant_name!="",exported_namespace!=""}')
    check(any(r["metric"].get("variant_name") == "sample-deployment-hpa" for r in adapter),
          "upstream's prometheus-adapter seriesQuery finds the series")

    # Isolation: an HPA for another controller instance, and one without a model-id.
    kapply(hpa("other-hpa", "other-deployment", {"llm-d.ai/managed": "true", "llm-d.ai/model-id": MODEL},
               {"wva.llmd.ai/controller-instance": "blue"}))
    kapply(hpa("no-model-hpa", "other-deployment", {"llm-d.ai/managed": "true"}))
    wait_for("MissingModelID event", lambda: [e for e in events(NS) if e["reason"] == "MissingModelID"], 30)
    time.sleep(INTERVAL * 2)
    pub = published(NS)
    check("other-hpa" not in pub and "no-model-hpa" not in pub, f"other instance's and model-less HPAs not managed ({pub})")

    # Namespace opt-out and back.
    kubectl("annotate", "namespace", NS, "wva.llmd.ai/exclude=true")
    wait_for("excluded namespace", lambda: published(NS) == {}, 30)
    check(True, "namespace annotated wva.llmd.ai/exclude=true: its scalers are not managed")
    kubectl("annotate", "namespace", NS, "wva.llmd.ai/exclude-")
    wait_for("namespace back", lambda: "sample-deployment-hpa" in published(NS), 30)

    # KEDA's CRD appears while the controller runs; a ScaledObject on the same target wins.
    kubectl("apply", "-f", os.path.join(REPO, "tests", "deploy", "crds", "scaledobjects.keda.sh.yaml"))
    wait_for("CRD established", lambda: kubectl("get", "scaledobjects", "-A", check=False).returncode == 0, 30)
    kapply({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "sample-so", "namespace": NS,
                         "annotations": {"llm-d.ai/managed": "true", "llm-d.ai/model-id": MODEL}},
            "spec": {"scaleTargetRef": {"name": "sample-deployment"}, "minReplicaCount": 1, "maxReplicaCount": 10,
                     "triggers": [{"type": "prometheus", "metadata": {"serverAddress": prom_url, "threshold": "1",
                                   "query": 'wva_desired_replicas{variant_name="sample-so"}'}}]}})
    pub = wait_for("ScaledObject wins", lambda: (lambda p: p if "sample-so" in p and "sample-deployment-hpa" not in p else None)(published(NS)), 60)
    check(wva.poll() is None, f"ScaledObject CRD installed later: watched without a restart (published {pub})")
    check("KEDA ScaledObjects found" in open(logf).read(), "the controller logged that it now watches ScaledObjects")
except Exception as e:  # noqa: BLE001
    failures.append(repr(e))
    log(f"FAIL: {e!r}")
finally:
    if failures:
        dump_logs()
    cleanup()
    shutil.rmtree(work, ignore_errors=True)

if failures:
    print(f"{len(failures)} failure(s):\n  " + "\n  ".join(failures))
    sys.exit(1)
print("migration e2e: all checks passed")
