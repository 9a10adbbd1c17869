#!/usr/bin/env python3
"""Benchmark (issue 6): one reconcile cycle of `wva run` for 1,000 VariantAutoscalings
(250 models x 4 variants, 8 Ready pods each = 8,000 pods) against a real kube-apiserver and a real
Prometheus scraping `wva emulate`. Reports cycle wall time, controller CPU time per cycle, peak
RSS, Prometheus queries and API writes per cycle. Numbers, not pass/fail.

The steady cycle is the first one, after the first, with metrics for every model and nothing to
write (the decisions have settled); its CPU is the controller's CPU time between the log lines
of that cycle and the one before. From 5,000 VAs up the objects are created by several kubectl
processes at once and the emulator serves only the two families the saturation queries read
(a full scrape of 80,000 pods would be ~9 million samples).

Usage: controller_cycle.py WVA_BINARY REPO_DIR [MODELS] [VARIANTS] [PODS]
  (2500 4 8 = 10,000 VAs and 80,000 pods)
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

WVA, REPO = sys.argv[1], sys.argv[2]
MODELS = int(sys.argv[3]) if len(sys.argv) > 3 else 250
VARIANTS = int(sys.argv[4]) if len(sys.argv) > 4 else 4
PODS = int(sys.argv[5]) if len(sys.argv) > 5 else 8
TESTENV = os.path.join(REPO, "scripts", "testenv")
NS = "bench"
LARGE = MODELS * VARIANTS >= 5000
work = tempfile.mkdtemp(prefix="wva-bench-", dir="/dev/shm")
procs = []


def run(*a, **kw):
    r = subprocess.run(a, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{a[0]} failed: {r.stderr[-2000:]}")
    return r


r = subprocess.run([os.path.join(TESTENV, "up"), os.path.join(work, "k8s")], capture_output=True, text=True)
if r.returncode != 0:
    print("control plane not available:", r.stderr[-500:])
    sys.exit(77 if r.returncode == 3 else 1)
env = dict(l.split("=", 1) for l in open(os.path.join(work, "k8s", "env")).read().split("\n") if "=" in l)
KUBECTL = [os.path.join(env["WVA_TESTENV_BIN"], "kubectl"), "--kubeconfig", env["KUBECONFIG"]]


def create(items):
    out = run(*KUBECTL, "create", "-o", "json", "-f", "-",
              input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items})).stdout
    dec, pos, items = json.JSONDecoder(), 0, []
    while pos < len(out):
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos >= len(out):
            break
        j, pos = dec.raw_decode(out, pos)
        items += j["items"] if j.get("kind") == "List" else [j]
    return items


try:
    t = time.time()
    run(*KUBECTL, "create", "namespace", NS)
    names = [(f"model-{m}", f"model-{m}-v{v}") for m in range(MODELS) for v in range(VARIANTS)]
    deps = create([{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": d, "namespace": NS},
                    "spec": {"replicas": PODS, "selector": {"matchLabels": {"app": d}},
                             "template": {"metadata": {"labels": {"app": d}},
                                          "spec": {"containers": [{"name": "c", "image": "x"}]}}}} for _, d in names])
    uid = {d["metadata"]["name"]: d["metadata"]["uid"] for d in deps}
    rss = create([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                   "metadata": {"name": d + "-rs", "namespace": NS, "ownerReferences": [
                       {"apiVersion": "apps/v1", "kind": "Deployment", "name": d, "uid": uid[d], "controller": True}]},
                   "spec": {"replicas": PODS, "selector": {"matchLabels": {"app": d}},
                            "template": {"metadata": {"labels": {"app": d}},
                                         "spec": {"containers": [{"name": "c", "image": "x"}]}}}} for _, d in names])
    rsuid = {r["metadata"]["name"]: r["metadata"]["uid"] for r in rss}

    # The pods are Ready (as in a serving cluster; there is no kubelet here, so the status is
    # written through the status subresource): every cycle then checks every pod for silence
    # (the complete-data rule), the work a real cluster makes the controller do.
    ready_since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))

    def pods_of(chunk):
        pods = create([{"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": f"{d}-{i}", "namespace": NS, "ownerReferences": [
                     {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": d + "-rs", "uid": rsuid[d + "-rs"], "controller": True}]},
                 "spec": {"containers": [{"name": "c", "image": "x"}]}} for _, d in names[chunk:chunk + 100] for i in range(PODS)])
        for p in pods:
            p["status"] = {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ready_since}]}
        run(*KUBECTL, "replace", "--subresource=status", "-o", "name", "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))

    with concurrent.futures.ThreadPoolExecutor(max_workers=4 if LARGE else 1) as pool:
        list(pool.map(pods_of, range(0, len(names), 100)))
    create([{"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling", "metadata": {"name": d, "namespace": NS},
             "spec": {"scaleTargetRef": {"name": d}, "modelID": m, "variantCost": f"{5 * (1 + int(d[-1]))}.0"}}
            for m, d in names])
    print(f"created {len(names)} VAs, Deployments, ReplicaSets and {len(names) * PODS} Ready pods in {time.time() - t:.0f}s", flush=True)

    port_file = os.path.join(work, "emu.port")
    args = [WVA, "emulate", "--port", "0", "--port-file", port_file, "--mode", "fixed"]
    if LARGE:
        args += ["--serve-metric", "vllm:kv_cache_usage_perc", "--serve-metric", "vllm:num_requests_waiting"]
    for m, d in names:
        args += ["--variant", f"namespace={NS},model={m},name={d},replicas={PODS},kv=0.5,queue=1"]
    procs.append(subprocess.Popen(args, stdout=open(os.path.join(work, "emu.log"), "w"), stderr=subprocess.STDOUT))
    while not (os.path.exists(port_file) and open(port_file).read().strip()):
        time.sleep(0.2)
    emu_port = open(port_file).read().strip()
    prom_dir = os.path.join(work, "prom")
    # At 1,000 VAs one scrape is ~880k samples (~97 MB): with a 5 s interval Prometheus may not
    # finish a scrape before the next starts, and the controller sees no metrics at all.
    scrape_s = 15 if len(names) >= 500 else 5
    prom_url = run(os.path.join(TESTENV, "prometheus"), "start", prom_dir, "--target", f"vllm=127.0.0.1:{emu_port}",
                   "--interval", f"{scrape_s}s").stdout.strip().splitlines()[-1]
    time.sleep(2 * scrape_s + 2)  # two scrapes

    logf = os.path.join(work, "wva.log")
    wva = subprocess.Popen([WVA, "run", "--kubeconfig", env["KUBECONFIG"], "--prometheus-base-url", prom_url,
                            "--prometheus-allow-http=true", "--global-opt-interval", "20s",
                            "--pod-namespace", NS, "--metrics-bind-address", "127.0.0.1:0",
                            "--health-probe-bind-address", "127.0.0.1:0", "--prometheus-query-timeout", "60s"],
                           stdout=open(logf, "w"), stderr=subprocess.STDOUT)
    procs.append(wva)

    def cycles():
        return [json.loads(l) for l in open(logf) if '"optimization cycle"' in l]

    def cpu_seconds():
        f = open(f"/proc/{wva.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    deadline = time.time() + 600 + len(names) * 0.2
    # CPU time sampled as each cycle's log line appears (polled every 0.1 s).
    cpu_at = []
    steady = None
    while steady is None and time.time() < deadline:
        cs = cycles()
        while len(cpu_at) < len(cs):
            cpu_at.append(cpu_seconds())
        for i in range(1, len(cs)):
            if cs[i].get("models_without_metrics", 0) == 0 and cs[i]["status_writes"] == 0:
                steady = i
                break
        time.sleep(0.1)
    if steady is None:
        raise RuntimeError(f"no steady cycle (every model with metrics, nothing to write) in "
                           f"{len(cycles())} cycles; raise the scrape interval (now {scrape_s}s)")
    c1 = cycles()[0]
    cpu_after_first = cpu_at[0]
    cpu0, cpu1 = cpu_at[steady - 1], cpu_at[steady]
    c3 = cycles()[steady]
    status = open(f"/proc/{wva.pid}/status").read()
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    mport = next(json.loads(l)["metrics_port"] for l in open(logf) if '"starting"' in l)
    mtext = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics").read().decode()
    q = sum(float(x) for x in re.findall(r'^wva_prometheus_query_duration_seconds_count\{[^}]*\} (\S+)$', mtext, re.M))
    cycles_at_q = len(cycles())
    # Fixed load that fits on one replica fewer per model, Deployments never resized (no
    # controller-manager here, as with an HPA slower than the interval): one transition per model
    # means each model holds at VARIANTS*PODS - 1 published replicas, not one fewer per variant.
    while len(cycles()) < max(6, steady + 2) and time.time() < deadline:
        time.sleep(0.5)
    mtext = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics").read().decode()
    per_model = {}
    for name, value in re.findall(r'^wva_desired_replicas\{[^}]*variant_name="([^"]+)"[^}]*\} (\S+)$', mtext, re.M):
        model = name.rsplit("-v", 1)[0]
        per_model[model] = per_model.get(model, 0) + float(value)
    totals = {}
    for v in per_model.values():
        totals[int(v)] = totals.get(int(v), 0) + 1
    print(json.dumps({
        "vas": c3["vas"], "models": c3["models"], "pods": len(names) * PODS,
        "first_cycle_ms": c1["duration_ms"], "first_cycle_status_writes": c1["status_writes"],
        "first_cycle_published_ms": c1.get("published_ms"),
        "steady_cycle_ms": c3["duration_ms"], "steady_cycle_status_writes": c3["status_writes"],
        "steady_cycle_cpu_ms": round((cpu1 - cpu0) * 1000),
        "startup_and_first_cycle_cpu_s": round(cpu_after_first, 2),
        "prometheus_queries_total": q, "prometheus_queries_per_cycle": q / max(1, cycles_at_q),
        "rss_mb": round(rss, 1), "peak_rss_mb": round(hwm, 1),
        "scrape_interval_s": scrape_s,
        "cycles_observed": len(cycles()), "steady_cycle_index": steady,
        "desired_total_per_model_histogram": {str(k): n for k, n in sorted(totals.items())},
        "replicas_per_model_before": VARIANTS * PODS}, indent=1))
finally:
    for p in procs:
        p.kill()
    subprocess.run([os.path.join(TESTENV, "prometheus"), "stop", os.path.join(work, "prom")], capture_output=True)
    subprocess.run([os.path.join(TESTENV, "down"), os.path.join(work, "k8s")], capture_output=True)
