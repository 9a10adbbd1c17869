#!/usr/bin/env python3
"""End-to-end test of `wva run` (issue 6): a real kube-apiserver + etcd, a real Prometheus behind
TLS scraping `wva emulate`, and the controller as a process. Scenario:

  steady load          -> desired L40S 2, A100 3, MetricsAvailable=True
  load rises           -> L40S desired +1 (cheapest), A100 unchanged; status and metrics agree
  L40S has a pending   -> no second scale-up on L40S
  load falls           -> A100 (most expensive) shrinks first
  ConfigMap change     -> takes effect without restart (exact log line), bad entry -> Event, kept
  Prometheus stopped   -> no scale-down, MetricsAvailable=False (PrometheusError), failures counted
  controller restarted -> the same published values; SIGTERM drains (exit 0)
  kubectl get va       -> the printer columns

Usage: controller_e2e.py WVA_BINARY REPO_DIR. Exits 77 (skip) when the control plane is not built.
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
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import check, control_plane, failures, http, kubectl_for, log, run, wait_for  # noqa: E402

WVA, REPO = sys.argv[1], sys.argv[2]
TESTENV = os.path.join(REPO, "scripts", "testenv")
NS, MODEL = "prod", "meta/llama-8b"
SYS_NS = "workload-variant-autoscaler-system"
INTERVAL = 2  # seconds between optimization cycles
procs = []
work = tempfile.mkdtemp(prefix="wva-e2e-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)


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
    for name in ("emulate.log", "wva-1.log", "wva-2.log"):
        p = os.path.join(work, name)
        if os.path.exists(p):
            print(f"--- tail {name}")
            print("".join(open(p).readlines()[-40:]))


try:
    # Emulated vLLM pods (fixed-value mode), scraped by a real Prometheus over TLS.
    emu_log = open(os.path.join(work, "emulate.log"), "w")
    port_file = os.path.join(work, "emu.port")
    pods = {"llama-l40s": 2, "llama-a100": 3}
    variants = [f"namespace={NS},model={MODEL},name={name},replicas={n},kv=0.6,queue=2"
                for name, n in pods.items()]
    emu = subprocess.Popen([WVA, "emulate", "--port", "0", "--port-file", port_file, "--mode", "fixed"]
                           + sum([["--variant", v] for v in variants], []), stdout=emu_log, stderr=subprocess.STDOUT)
    procs.append(emu)
    emu_port = int(wait_for("emulator port", lambda: open(port_file).read().strip() if os.path.exists(port_file) and open(port_file).read().strip() else None, 30))
    EMU = f"http://127.0.0.1:{emu_port}"
    prom_dir = os.path.join(work, "prom")
    prom_start = [os.path.join(TESTENV, "prometheus"), "start", prom_dir, "--target", f"vllm=127.0.0.1:{emu_port}",
                  "--interval", "1s", "--tls"]
    prom_url = run(*prom_start).stdout.strip().splitlines()[-1]
    ca = os.path.join(prom_dir, "pki", "ca.crt")
    log(f"emulator on {EMU}, Prometheus on {prom_url}")

    def set_load(kv, queue, only=None):
        for name, n in pods.items():
            if only and name != only:
                continue
            for i in range(n):
                http("PUT", f"{EMU}/control/pods/{NS}/{name}-{i}", {"kv": kv, "waiting": queue})

    # Cluster objects: Deployments, their ReplicaSets and Pods (owner chain for attribution).
    kubectl("create", "namespace", NS)
    kubectl("create", "namespace", SYS_NS, check=False)
    for name, n in pods.items():
        gpu = "NVIDIA-L40S" if "l40s" in name else "NVIDIA-A100-SXM4-80GB"
        labels = {"app": name}
        d = kapply({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name, "namespace": NS},
                    "spec": {"replicas": n, "selector": {"matchLabels": labels},
                             "template": {"metadata": {"labels": labels},
                                          "spec": {"nodeSelector": {"nvidia.com/gpu.product": gpu},
                                                   "containers": [{"name": "vllm", "image": "vllm/vllm-openai"}]}}}})
        rs = kapply({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                     "metadata": {"name": f"{name}-rs", "namespace": NS, "labels": labels,
                                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                       "uid": d["metadata"]["uid"], "controller": True}]},
                     "spec": {"replicas": n, "selector": {"matchLabels": labels},
                              "template": {"metadata": {"labels": labels},
                                           "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai"}]}}}})
        for i in range(n + (1 if "l40s" in name else 0)):  # one spare L40S pod object for later
            kapply({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"{name}-{i}", "namespace": NS, "labels": labels,
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-rs",
                                                      "uid": rs["metadata"]["uid"], "controller": True}]},
                    "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai"}]}})
    for name, cost, mx in (("llama-l40s", "5.0", 10), ("llama-a100", "20.0", 3)):
        kapply({"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name}, "modelID": MODEL,
                         "variantCost": cost, "minReplicas": 1, "maxReplicas": mx}})
    kapply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "capacity-scaling-config", "namespace": SYS_NS},
            "data": {"default": "kvCacheThreshold: 0.80\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.10\nqueueSpareTrigger: 3\n"}})

    def start_controller(n):
        logf = os.path.join(work, f"wva-{n}.log")
        p = subprocess.Popen([WVA, "run", "--kubeconfig", env["KUBECONFIG"],
                              "--prometheus-base-url", prom_url, "--prometheus-ca-cert-path", ca,
                              "--global-opt-interval", f"{INTERVAL}s", "--metrics-window", "4s",
                              "--pod-namespace", SYS_NS, "--leader-elect",
                              "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0"],
                             stdout=open(logf, "w"), stderr=subprocess.STDOUT)
        procs.append(p)

        def ports():
            for line in open(logf):
                if '"starting"' in line:
                    j = json.loads(line)
                    return j["metrics_port"], j["health_port"]
            return None
        mp, hp = wait_for("controller listeners", ports, 30)
        wait_for("controller /readyz", lambda: http("GET", f"http://127.0.0.1:{hp}/readyz") is not None, 60)
        return p, logf, f"http://127.0.0.1:{mp}/metrics"

    def published(metrics_url):
        text = http("GET", metrics_url)
        out = {}
        for m in re.finditer(r'^wva_desired_replicas\{([^}]*)\} (\S+)$', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[labels["variant_name"]] = float(m.group(2))
        return out

    def va_status(name):
        return json.loads(kubectl("get", "va", name, "-n", NS, "-o", "json").stdout).get("status", {})

    def condition(name, ctype):
        for c in va_status(name).get("conditions", []):
            if c["type"] == ctype:
                return c
        return {}

    wva, wva_log, METRICS = start_controller(1)
    t0 = time.time()

    # 1. Steady load: nothing moves.
    want = {"llama-l40s": 2, "llama-a100": 3}
    wait_for("steady published values", lambda: published(METRICS) == want, 60)
    wait_for("MetricsAvailable=True", lambda: condition("llama-l40s", "MetricsAvailable").get("status") == "True", 30)
    st = va_status("llama-l40s")
    check(st["desiredOptimizedAlloc"]["numReplicas"] == 2 and st["currentAlloc"]["accelerator"] == "NVIDIA-L40S",
          "steady: status desired 2 on NVIDIA-L40S (accelerator from the pod template nodeSelector)")

    # 2. Load rises: the cheap L40S grows, the A100 (at its max) does not.
    set_load(0.9, 6)
    pub = wait_for("L40S scale-up", lambda: (lambda p: p if p.get("llama-l40s") == 3 else None)(published(METRICS)), 60)
    check(pub.get("llama-a100") == 3, f"load rise: L40S 2->3 while A100 stays 3 (published {pub})")
    st = wait_for("status desired 3", lambda: (lambda s: s if s.get("desiredOptimizedAlloc", {}).get("numReplicas") == 3 else None)(va_status("llama-l40s")), 20)
    check(st["actuation"]["applied"] is False, "status: actuation.applied=false until the Deployment follows")
    ev = kubectl("get", "events", "-n", NS, "-o", "json").stdout
    check("ScaledUp" in ev, "a ScaledUp Event was recorded")

    # 3. The Deployment follows (as an HPA would) but the new pod is not serving yet: pending.
    kubectl("scale", "deployment", "llama-l40s", "-n", NS, "--replicas=3")
    time.sleep(INTERVAL * 4)
    pub = published(METRICS)
    check(pub.get("llama-l40s") == 3, f"pending replica: no second scale-up on L40S (published {pub})")
    check(va_status("llama-l40s")["actuation"]["applied"] is True, "status: actuation.applied=true once Deployment has 3")

    # 4. The pod becomes ready and the load falls: the expensive A100 shrinks first.
    http("POST", f"{EMU}/control/pods", {"namespace": NS, "model": MODEL, "pod": "llama-l40s-2",
                                          "variant": "llama-l40s", "kv": 0.1, "waiting": 0})
    pods["llama-l40s"] = 3
    set_load(0.1, 0)
    pub = wait_for("A100 scale-down", lambda: (lambda p: p if p.get("llama-a100", 3) < 3 else None)(published(METRICS)), 60)
    check(pub.get("llama-l40s") == 3 and pub.get("llama-a100") == 2,
          f"load falls: A100 3->2 first, L40S unchanged (published {pub})")

    # 5. ConfigMap hot reload: a stricter kv trigger makes the idle model scale up, no restart.
    lines_before = open(wva_log).read().count("Saturation scaling config cache updated")
    kubectl("patch", "configmap", "capacity-scaling-config", "-n", SYS_NS, "--type=merge", "-p",
            json.dumps({"data": {"default": "kvCacheThreshold: 1.0\nkvSpareTrigger: 0.95\n",
                                 "broken": "model_id: x\nkvCacheThreshold: 7\n"}}))
    t_cm = time.time()
    wait_for("reload log line", lambda: open(wva_log).read().count("Saturation scaling config cache updated entries=1 has_default=true") > 0, 20)
    pub = wait_for("decision under the new config", lambda: (lambda p: p if p.get("llama-l40s") == 4 else None)(published(METRICS)), 30)
    check(True, f"config change took effect in {time.time() - t_cm:.1f}s without restart (L40S -> 4)")
    ev = kubectl("get", "events", "-n", SYS_NS, "-o", "json").stdout
    check("InvalidConfiguration" in ev and "broken" in ev, "invalid ConfigMap entry: Warning Event naming the key")
    # Back to the defaults; the next decisions are ordinary again.
    kubectl("patch", "configmap", "capacity-scaling-config", "-n", SYS_NS, "--type=merge", "-p",
            json.dumps({"data": {"default": "kvCacheThreshold: 0.80\nkvSpareTrigger: 0.10\n", "broken": None}}))
    time.sleep(INTERVAL * 2)

    # 5b. Upstream's ConfigMap name is read too; an upstream-only field is evented once as
    # ignored and the entry's thresholds still apply.
    kapply({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "wva-saturation-scaling-config", "namespace": SYS_NS},
            "data": {"llama-override": f"model_id: {MODEL}\nnamespace: {NS}\nkvCacheThreshold: 0.80\nenableLimiter: true\n"}})
    wait_for("both ConfigMaps merged", lambda: "Saturation scaling config cache updated entries=2 has_default=true" in open(wva_log).read(), 20)
    ev = wait_for("ConfigurationIgnored event", lambda: (lambda e: e if "ConfigurationIgnored" in e and "enableLimiter" in e else None)(
        kubectl("get", "events", "-n", SYS_NS, "-o", "json").stdout), 20)
    check(True, "upstream ConfigMap read; enableLimiter evented as ignored")
    kubectl("delete", "configmap", "wva-saturation-scaling-config", "-n", SYS_NS)

    # 6. Prometheus stops: hold, never scale down, say why.
    before = published(METRICS)
    run(os.path.join(TESTENV, "prometheus"), "stop", prom_dir)
    wait_for("PrometheusError condition", lambda: condition("llama-a100", "MetricsAvailable").get("reason") == "PrometheusError", 40)
    time.sleep(INTERVAL * 3)
    after = published(METRICS)
    check(all(after.get(k, 0) >= v for k, v in before.items()), f"Prometheus down: no scale-down ({before} -> {after})")
    mtext = http("GET", METRICS)
    fails = float(re.search(r"^wva_optimization_failure_total (\S+)$", mtext, re.M).group(1))
    check(fails >= 1, f"wva_optimization_failure_total = {fails}")
    c = condition("llama-a100", "MetricsAvailable")
    check(c.get("status") == "False" and "Prometheus" in c.get("message", ""), f"condition says why: {c.get('message')}")

    # 7. Restart the controller (SIGTERM drains): the restart itself changes no published value.
    t_term = time.time()
    wva.send_signal(signal.SIGTERM)
    rc = wva.wait(timeout=35)
    check(rc == 0 and time.time() - t_term < 30, f"SIGTERM: exit {rc} after {time.time() - t_term:.1f}s")
    wva, wva_log, METRICS = start_controller(2)
    first = wait_for("republished values", lambda: published(METRICS) or None, 30)
    check(first == after, f"after restart: published {first} == before restart {after}")
    time.sleep(INTERVAL * 3)
    check(published(METRICS) == after, "after restart and a few cycles (Prometheus still down): unchanged")

    # 8. Printer columns.
    out = kubectl("get", "va", "-n", NS).stdout
    header = out.splitlines()[0].split()
    check(header == ["NAME", "TARGET", "MODEL", "ACCELERATOR", "CURRENTREPLICAS", "OPTIMIZED", "METRICSREADY", "AGE"],
          f"kubectl get va columns: {header}")
    log(out)
    log(f"scenario took {time.time() - t0:.0f}s")
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
print("controller e2e: all checks passed")
