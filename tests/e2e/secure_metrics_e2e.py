#!/usr/bin/env python3
"""The secure metrics endpoint (--metrics-secure, docs/reference.md), against a real
kube-apiserver + etcd and a real Prometheus:

  the controller runs as its ServiceAccount with deploy/rbac's roles only
                         -> a scrape cannot be checked (503): the review verbs are not granted
  + deploy/components/secure-metrics (metrics-auth role, metrics-reader role)
                         -> Prometheus' ServiceAccount token (bound to metrics-reader): 200
                            no token / a bad token: 401; another ServiceAccount's token: 403;
                            plain HTTP to the port: no HTTP answer
  a real Prometheus scrapes it with the bearer token over TLS -> target up, wva_* series stored,
                         a variant's series labelled controller_instance (--controller-instance)
  repeated scrapes reuse the cached answers (the API server's own request counter)

Usage: secure_metrics_e2e.py WVA_BINARY REPO_DIR. Exits 77 (skip) when the control plane is not
built.
"""
import base64
import json
import os
import shutil
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
SYS_NS = "workload-variant-autoscaler-system"
CONTROLLER_SA = "workload-variant-autoscaler-controller-manager"
procs = []
work = tempfile.mkdtemp(prefix="wva-secmetrics-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)


def token_for(ns, sa):
    """A bound ServiceAccount token from the TokenRequest API (what a pod gets mounted)."""
    req = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}
    out = kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token", "-f", "-",
                  input=json.dumps(req)).stdout
    return json.loads(out)["status"]["token"]


def scrape(url, token=None):
    """(HTTP status, body) of GET url over TLS without verification (the certificate is
    self-signed, generated in memory); status 0 when there was no HTTP answer."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10,
                                    context=ctx if url.startswith("https") else None) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, OSError) as e:
        return 0, repr(e)


def prom_query(prom_url, q):
    url = f"{prom_url}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())["data"]["result"]


env = control_plane(TESTENV, work)
kubectl, kapply = kubectl_for(env)


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    subprocess.run([os.path.join(TESTENV, "prometheus"), "stop", os.path.join(work, "prom")], capture_output=True)
    subprocess.run([os.path.join(TESTENV, "down"), os.path.join(work, "k8s")], capture_output=True)


try:
    # The controller's identity: its ServiceAccount (deploy/rbac, applied by testenv/up), with a
    # bound token in a kubeconfig, so it has exactly the RBAC the manifests grant.
    ca_pem = open(os.path.join(env["WVA_TESTENV_DIR"], "pki", "ca.crt"), "rb").read()
    kc = os.path.join(work, "kubeconfig-controller")
    open(kc, "w").write(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": env["WVA_APISERVER_URL"],
                                                "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": "sa", "user": {"token": token_for(SYS_NS, CONTROLLER_SA)}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "sa"}}]}))
    os.chmod(kc, 0o600)

    # Scrapers: Prometheus' ServiceAccount (to be bound to metrics-reader) and a stranger.
    kubectl("create", "namespace", "monitoring")
    kubectl("create", "serviceaccount", "prometheus", "-n", "monitoring")
    kubectl("create", "serviceaccount", "stranger", "-n", "default")
    prom_token, stranger_token = token_for("monitoring", "prometheus"), token_for("default", "stranger")
    token_file = os.path.join(work, "prometheus.token")
    open(token_file, "w").write(prom_token)
    os.chmod(token_file, 0o600)

    prom_dir = os.path.join(work, "prom")
    prom_url = run(os.path.join(TESTENV, "prometheus"), "start", prom_dir, "--interval", "1s").stdout.strip().splitlines()[-1]
    logf = os.path.join(work, "wva.log")
    wva = subprocess.Popen([WVA, "run", "--kubeconfig", kc, "--metrics-secure",
                            "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0",
                            "--prometheus-base-url", prom_url, "--prometheus-allow-http",
                            "--pod-namespace", SYS_NS, "--global-opt-interval", "2s",
                            "--controller-instance", "blue"],
                           stdout=open(logf, "w"), stderr=subprocess.STDOUT)
    procs.append(wva)

    def ports():
        for line in open(logf):
            if '"starting"' in line:
                j = json.loads(line)
                return j["metrics_port"], j["health_port"], j["metrics_secure"]
        return None
    mp, hp, secure = wait_for("controller listeners", ports, 30)
    check(secure is True, "--metrics-secure reported in the start line")
    METRICS = f"https://127.0.0.1:{mp}/metrics"
    warned = [json.loads(line) for line in open(logf) if line.startswith("{")]
    check(any(j.get("level") == "warn" and j.get("setting") == "METRICS_CERT_PATH" for j in warned),
          "no certificate path: the in-memory self-signed certificate is announced with a warning")

    # 1. Least privilege: deploy/rbac alone does not grant the review verbs.
    code, body = scrape(METRICS, prom_token)
    check(code == 503, f"without the secure-metrics component's role the scrape cannot be checked (got {code})")

    # 2. The component's roles, and the metrics-reader binding for Prometheus.
    comp = os.path.join(REPO, "deploy", "components", "secure-metrics")
    kubectl("apply", "-f", os.path.join(comp, "metrics_auth_role.yaml"), "-f", os.path.join(comp, "metrics_reader_role.yaml"))
    kubectl("create", "clusterrolebinding", "wva-metrics-reader", "--clusterrole=workload-variant-autoscaler-metrics-reader",
            "--serviceaccount=monitoring:prometheus")
    code, body = wait_for("authorised scrape", lambda: (lambda c: c if c[0] == 200 else None)(scrape(METRICS, prom_token)), 30)
    check(code == 200 and "wva_leader_status" in body, "Prometheus' token (metrics-reader): 200 with the metrics")
    code, _ = scrape(METRICS)
    check(code == 401, f"no token: 401 (got {code})")
    code, _ = scrape(METRICS, "not-a-token")
    check(code == 401, f"an invalid token: 401 (got {code})")
    code, body = scrape(METRICS, stranger_token)
    check(code == 403, f"an authenticated ServiceAccount without metrics-reader: 403 (got {code})")
    code, body = scrape(f"http://127.0.0.1:{mp}/metrics")
    check(code != 200 and "wva_" not in body, f"plain HTTP to the secure port gets no metrics (got {code})")
    check(scrape(f"http://127.0.0.1:{hp}/healthz")[0] == 200, "the health probes stay plain HTTP")
    text = open(logf).read()
    check(prom_token not in text and stranger_token not in text, "no token appears in the controller log")

    # A variant of this controller instance (annotation mode): its series carry
    # controller_instance="blue", as upstream's do when CONTROLLER_INSTANCE is set.
    kubectl("create", "namespace", "team")
    kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "llama", "namespace": "team"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "llama"}},
                 "template": {"metadata": {"labels": {"app": "llama", "llm-d.ai/variant": "llama-hpa"}},
                              "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai"}]}}}}))
    kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "llama-hpa", "namespace": "team",
                     "labels": {"wva.llmd.ai/controller-instance": "blue"},
                     "annotations": {"llm-d.ai/managed": "true", "llm-d.ai/model-id": "meta/llama"}},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama"},
                 "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}}))

    # 3. A real Prometheus scrapes it: bearer token from a file, TLS (self-signed: skip verify).
    jobs = os.path.join(work, "jobs.yml")
    open(jobs, "w").write(
        "  - job_name: 'wva-secure'\n    scheme: https\n    honor_labels: true\n"
        f"    authorization: {{type: Bearer, credentials_file: '{token_file}'}}\n"
        "    tls_config: {insecure_skip_verify: true}\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{mp}']\n"
        "  - job_name: 'wva-stranger'\n    scheme: https\n"
        f"    authorization: {{type: Bearer, credentials: '{stranger_token}'}}\n"
        "    tls_config: {insecure_skip_verify: true}\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{mp}']\n")
    run(os.path.join(TESTENV, "prometheus"), "reload", prom_dir, "--interval", "1s", "--scrape-config", jobs)
    up = wait_for("secure target up", lambda: (lambda r: r if r and r[0]["value"][1] == "1" else None)(
        prom_query(prom_url, 'up{job="wva-secure"}')), 60)
    check(bool(up), "Prometheus scrapes the secure endpoint (up == 1)")
    series = wait_for("wva series", lambda: prom_query(prom_url, 'wva_leader_status{job="wva-secure"}'), 30)
    check(len(series) == 1, "the controller's series are stored by Prometheus")
    inst = wait_for("controller_instance series", lambda: prom_query(
        prom_url, 'wva_desired_replicas{variant_name="llama-hpa",exported_namespace="team",controller_instance="blue"}'), 60)
    check(len(inst) == 1 and inst[0]["metric"]["namespace"] == "team",
          f"CONTROLLER_INSTANCE=blue: the variant's series carry controller_instance=\"blue\" ({inst})")
    down = wait_for("stranger target down", lambda: (lambda r: r if r and r[0]["value"][1] == "0" else None)(
        prom_query(prom_url, 'up{job="wva-stranger"}')), 30)
    check(bool(down), "a scrape job with an unauthorised token is refused (up == 0)")
    # The API server counts the reviews it served: scrapes every second must not each cost one.
    def reviews():
        total = 0.0
        for line in kubectl("get", "--raw", "/metrics").stdout.splitlines():
            if line.startswith("apiserver_request_total{") and ('resource="tokenreviews"' in line or
                                                                'resource="subjectaccessreviews"' in line):
                total += float(line.rsplit(" ", 1)[1])
        return total
    before = reviews()
    time.sleep(8)  # about 16 scrapes by the two jobs
    made = reviews() - before
    check(wva.poll() is None, "the controller kept running")
    # Allowed answers are kept 60 s, denials 10 s: at most one re-check of the stranger.
    check(made <= 2, f"answers are cached: {made:.0f} reviews for ~16 scrapes in 8 s")
except Exception as e:  # noqa: BLE001
    failures.append(repr(e))
    log(f"FAIL: {e!r}")
finally:
    if failures:
        p = os.path.join(work, "wva.log")
        if os.path.exists(p):
            print("--- tail wva.log")
            print("".join(open(p).readlines()[-40:]))
    cleanup()
    shutil.rmtree(work, ignore_errors=True)

if failures:
    print(f"{len(failures)} failure(s):\n  " + "\n  ".join(failures))
    sys.exit(1)
print("secure metrics e2e: all checks passed")
