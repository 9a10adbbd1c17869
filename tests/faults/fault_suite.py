#!/usr/bin/env python3
"""Fault-injection suite for `wva run` (issue 17) against real servers: a real kube-apiserver +
etcd (scripts/testenv/up), a real Prometheus over TLS, and an exporter in this script that serves
exact vLLM samples for five pods (two variants of one model). A sampler scrapes the controller's
/metrics every 0.25 s all along; after each fault the published wva_desired_replicas and the VA
status must never have gone below their pre-fault values, and the recovery time is reported.

Fault classes, in order (one controller without leader election, then two with it):
  prometheus_stop      Prometheus stopped 8 s, then started on the same port
  stale_samples        the exporter serves nothing (series go stale), then serves again
  garbage_samples      NaN, +Inf, -0.5, kv 1.7, queue -3, then valid samples again
  partial_samples      from the steady load (removing a replica is unsafe), one pod stops
                       reporting and the rest look idle: no scale-down (complete data)
  apiserver_kill_15s   kube-apiserver SIGKILLed, 15 s down; then a new VA must get status
  apiserver_kill_30s   same, 30 s (issue 17 item 3: a change after the return reaches status
  apiserver_kill_60s   same, 60 s   within 15 s whatever the outage length)
  bad_configmap        a broken saturation ConfigMap entry, then fixed
  invalid_va           a VA edited into an invalid spec, then fixed
  sigterm              SIGTERM with the API server up: exit 0 within 5 s
  leader_kill          two --leader-elect controllers, the leader SIGKILLed: the standby publishes
  leader_apiserver_out --leader-elect and a 15 s API outage: exit 1 by design; the restarted
                       process republishes from status before its first cycle
  sigterm_apiserver_down  SIGTERM while the API server is down: exit 0 within 5 s

Usage: fault_suite.py WVA_BINARY REPO_DIR. Exits 77 (skip) when the control plane is not built.
"""
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

WVA, REPO = sys.argv[1], sys.argv[2]
TESTENV = os.path.join(REPO, "scripts", "testenv")
NS, MODEL = "prod", "meta/llama-8b"
SYS_NS = "workload-variant-autoscaler-system"
INTERVAL = 2
PODS = {"llama-l40s": 2, "llama-a100": 3}
STEADY = {"llama-l40s": 2, "llama-a100": 3}  # what kv 0.6 / queue 2 on every pod gives
SIGTERM_BUDGET_S = 5.0
STATUS_BUDGET_S = 15.0  # a change after an API outage reaches status within this
work = tempfile.mkdtemp(prefix="wva-faults-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
failures = []
recoveries = []  # (fault class, what was measured, seconds)
procs = []
T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:6.1f}s] {msg}", flush=True)


def check(cond, msg):
    log(("ok: " if cond else "FAIL: ") + msg)
    if not cond:
        failures.append(msg)


def run(*args, check_rc=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r


def wait_for(what, fn, timeout=60, every=0.25):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last = e
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


# ---------------------------------------------------------------- the exporter (exact samples)
class Exporter:
    """Serves vllm:kv_cache_usage_perc and vllm:num_requests_waiting for every pod; `mode` is
    ok (kv/queue), silent (no series at all) or garbage (unusable values)."""
    GARBAGE = ["NaN", "+Inf", "-0.5", "1.7", "NaN"]  # kv per pod
    GARBAGE_Q = ["-3", "NaN", "+Inf", "-0.5", "-3"]  # queue per pod

    def __init__(self):
        self.mode, self.kv, self.queue = "ok", 0.6, 2
        exp = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = exp.body().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # partial_samples: from the steady load (queue 2 everywhere: 2.5 spare over one replica fewer,
    # unsafe), llama-a100-2 goes silent while the other four drop to queue 1.0, kv 0.3 (3.67 spare
    # over one fewer: they look idle). Any window that mixes the two states still holds steady.
    BUSIEST = "llama-a100-2"

    def body(self):
        if self.mode == "silent":
            return ""
        lines = ["# TYPE vllm:kv_cache_usage_perc gauge", "# TYPE vllm:num_requests_waiting gauge"]
        i = 0
        for name, n in PODS.items():
            for k in range(n):
                labels = f'namespace="{NS}",model_name="{MODEL}",pod="{name}-{k}"'
                kv, q = self.kv, self.queue
                if self.mode == "garbage":
                    kv, q = self.GARBAGE[i % 5], self.GARBAGE_Q[i % 5]
                if self.mode == "partial_silent":
                    if f"{name}-{k}" == self.BUSIEST:
                        i += 1
                        continue
                    kv, q = 0.3, 1.0
                lines.append(f"vllm:kv_cache_usage_perc{{{labels}}} {kv}")
                lines.append(f"vllm:num_requests_waiting{{{labels}}} {q}")
                i += 1
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- environment
r = subprocess.run([os.path.join(TESTENV, "up"), os.path.join(work, "k8s")], capture_output=True, text=True)
if r.returncode == 3:
    print("control plane not built (scripts/testenv/build); skipping")
    sys.exit(77)
if r.returncode != 0:
    print(r.stdout, r.stderr)
    sys.exit(1)
K8S = os.path.join(work, "k8s")
env = dict(line.split("=", 1) for line in open(os.path.join(K8S, "env")).read().split("\n") if "=" in line)
PKI = os.path.join(K8S, "pki")
CURL_ADMIN = ["--cacert", f"{PKI}/ca.crt", "--cert", f"{PKI}/admin.crt", "--key", f"{PKI}/admin.key"]


def kubectl(*args, input=None, check_rc=True):
    return run(os.path.join(env["WVA_TESTENV_BIN"], "kubectl"), "--kubeconfig", env["KUBECONFIG"],
               "--request-timeout=5s", *args, input=input, check_rc=check_rc)


def kcreate(obj):
    return json.loads(kubectl("create", "-o", "json", "-f", "-", input=json.dumps(obj)).stdout)


def apiserver_pid():
    for line in open(os.path.join(K8S, "pids")):
        parts = line.split()
        if len(parts) == 2 and parts[0] == "kube-apiserver":
            pid = int(parts[1])
    return pid


def apiserver_kill():
    """SIGKILL (no graceful close of watches), as a crash or a node loss would."""
    pid = apiserver_pid()
    os.kill(pid, signal.SIGKILL)
    wait_for("kube-apiserver gone", lambda: not os.path.exists(f"/proc/{pid}") or
             open(f"/proc/{pid}/stat").read().split()[2] == "Z", 10, 0.05)


def apiserver_start():
    """Starts kube-apiserver with its recorded flags (same port and certificates); returns when
    /readyz answers."""
    pids = os.path.join(K8S, "pids")
    lines = [l for l in open(pids) if not l.startswith("kube-apiserver ")]
    cmd = open(os.path.join(K8S, "apiserver.cmd")).read()
    logf = open(os.path.join(K8S, "log", "kube-apiserver.log"), "a")
    p = subprocess.Popen(["setsid", "bash", "-c", "exec " + cmd], stdout=logf, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    with open(pids, "w") as f:
        f.writelines(lines)
        f.write(f"kube-apiserver {p.pid}\n")
    ready = lambda: subprocess.run(["curl", "-fs", "--max-time", "1", *CURL_ADMIN,  # noqa: E731
                                    f"{env['WVA_APISERVER_URL']}/readyz"], capture_output=True).returncode == 0
    wait_for("kube-apiserver /readyz", ready, 120, 0.1)


# Prometheus restarts on the same port with the same certificates (the controller keeps its URL).
PROM_DIR = os.path.join(work, "prom")
prom_proc = None


def prom_stop():
    global prom_proc
    run(os.path.join(TESTENV, "prometheus"), "stop", PROM_DIR)
    if prom_proc is not None:
        prom_proc.wait()
        prom_proc = None


def prom_restart():
    global prom_proc
    port = open(os.path.join(PROM_DIR, "port")).read().strip()
    prom_proc = subprocess.Popen(
        ["/usr/bin/prometheus", f"--config.file={PROM_DIR}/prometheus.yml",
         f"--storage.tsdb.path={PROM_DIR}/data", "--storage.tsdb.retention.time=1h",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
         f"--web.config.file={PROM_DIR}/web.yml", "--log.level=warn"],
        stdout=open(os.path.join(PROM_DIR, "prometheus.log"), "a"), stderr=subprocess.STDOUT)
    with open(os.path.join(PROM_DIR, "pid"), "w") as f:
        f.write(str(prom_proc.pid))
    wait_for("Prometheus ready", lambda: subprocess.run(
        ["curl", "-fs", "--max-time", "1", "--cacert", f"{PROM_DIR}/pki/ca.crt",
         f"https://127.0.0.1:{port}/-/ready"], capture_output=True).returncode == 0, 60, 0.1)


# ---------------------------------------------------------------- controllers and sampling
class Controller:
    def __init__(self, name, leader_elect):
        self.name = name
        self.logf = os.path.join(work, f"wva-{name}.log")
        args = [WVA, "run", "--kubeconfig", env["WVA_KUBECONFIG_WVA"],
                "--prometheus-base-url", prom_url, "--prometheus-ca-cert-path", f"{PROM_DIR}/pki/ca.crt",
                "--global-opt-interval", f"{INTERVAL}s", "--metrics-window", "4s",
                "--pod-namespace", SYS_NS, "--log-level", "debug",
                "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0"]
        if leader_elect:
            args.append("--leader-elect")
        self.started = time.time()
        self.proc = subprocess.Popen(args, stdout=open(self.logf, "w"), stderr=subprocess.STDOUT)
        procs.append(self.proc)

        def ports():
            for line in open(self.logf):
                if '"starting"' in line:
                    j = json.loads(line)
                    return j["metrics_port"], j["health_port"]
            return None
        mp, _ = wait_for(f"{name} listeners", ports, 30)
        self.metrics_url = f"http://127.0.0.1:{mp}/metrics"

    def published(self):
        """{variant: desired} from /metrics; None when the process does not answer."""
        try:
            text = http_get(self.metrics_url, timeout=1)
        except Exception:  # noqa: BLE001
            return None
        out = {}
        for m in re.finditer(r'^wva_desired_replicas\{([^}]*)\} (\S+)$', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[labels["variant_name"]] = float(m.group(2))
        return out

    def log_lines(self):
        return [json.loads(l) for l in open(self.logf) if l.startswith("{")]


class Sampler:
    """Scrapes every live controller every 0.25 s into a timeline of (t, name, values)."""
    def __init__(self):
        self.controllers, self.timeline, self.stop = [], [], False
        self.lock = threading.Lock()
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.stop:
            for c in list(self.controllers):
                if c.proc.poll() is None:
                    v = c.published()
                    if v is not None:
                        with self.lock:
                            self.timeline.append((time.time(), c.name, v))
            time.sleep(0.25)

    def since(self, t):
        with self.lock:
            return [s for s in self.timeline if s[0] >= t]


def va_status(name):
    return json.loads(kubectl("get", "va", name, "-n", NS, "-o", "json").stdout).get("status", {})


def condition(name, ctype):
    for c in va_status(name).get("conditions", []):
        if c["type"] == ctype:
            return c
    return {}


def never_below(fault, t_start, baseline):
    """Every sample since t_start published at least the baseline for every variant that has it."""
    bad = [(round(t - T0, 1), n, v) for t, n, v in sampler.since(t_start)
           if v and any(v.get(k, 0) < want for k, want in baseline.items())]
    check(not bad, f"{fault}: published never below {baseline} ({len(sampler.since(t_start))} samples)"
          + (f"; first below: {bad[:3]}" if bad else ""))


def status_not_below(fault, baseline):
    got = {k: va_status(k).get("desiredOptimizedAlloc", {}).get("numReplicas", 0) for k in baseline}
    check(all(got[k] >= v for k, v in baseline.items()), f"{fault}: status desired {got} >= {baseline}")


def metrics_ok_everywhere():
    return all(condition(k, "MetricsAvailable").get("status") == "True" for k in PODS)


def recovered(fault, what, seconds, budget=None):
    recoveries.append((fault, what, seconds))
    if budget is not None:
        check(seconds <= budget, f"{fault}: {what} {seconds:.1f}s <= {budget:.0f}s")
    else:
        log(f"{fault}: {what} {seconds:.1f}s")


probe_n = [0]


def probe_va_status_after_return(fault):
    """Creates a VA right after the API server is back and measures until it has status."""
    probe_n[0] += 1
    name = f"probe-{probe_n[0]}"
    t = time.time()
    kcreate({"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
             "metadata": {"name": name, "namespace": NS},
             "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "no-such-deploy"},
                      "modelID": "meta/probe", "variantCost": "1.0"}})
    try:
        wait_for(f"{name} status", lambda: va_status(name).get("observedGeneration") == 1, 60)
    except AssertionError as e:
        failures.append(f"{fault}: {e}")
        return
    recovered(fault, "VA created after the return -> status", time.time() - t, STATUS_BUDGET_S)
    kubectl("delete", "va", name, "-n", NS)


def sigterm(c, fault):
    t = time.time()
    c.proc.send_signal(signal.SIGTERM)
    try:
        rc = c.proc.wait(timeout=35)
    except subprocess.TimeoutExpired:
        c.proc.kill()
        rc = c.proc.wait()
    took = time.time() - t
    check(rc == 0 and took <= SIGTERM_BUDGET_S, f"{fault}: SIGTERM -> exit {rc} after {took:.2f}s")
    recoveries.append((fault, "SIGTERM -> exit 0", took))


def dump_logs():
    for f in sorted(os.listdir(work)):
        if f.startswith("wva-") and f.endswith(".log"):
            print(f"--- tail {f}")
            print("".join(open(os.path.join(work, f)).readlines()[-30:]))


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    prom_stop()
    subprocess.run([os.path.join(TESTENV, "down"), K8S], capture_output=True)


sampler = None
try:
    exporter = Exporter()
    prom_url = run(os.path.join(TESTENV, "prometheus"), "start", PROM_DIR, "--target",
                   f"vllm=127.0.0.1:{exporter.port}", "--interval", "1s", "--tls").stdout.strip().splitlines()[-1]
    log(f"exporter on :{exporter.port}, Prometheus on {prom_url}, API server {env['WVA_APISERVER_URL']}")

    kubectl("create", "namespace", NS)
    for name, n in PODS.items():
        gpu = "NVIDIA-L40S" if "l40s" in name else "NVIDIA-A100-SXM4-80GB"
        labels = {"app": name}
        tmpl = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "vllm", "image": "vllm"}]}}
        d = kcreate({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
                     "spec": {"replicas": n, "selector": {"matchLabels": labels},
                              "template": {**tmpl, "spec": {**tmpl["spec"], "nodeSelector": {"nvidia.com/gpu.product": gpu}}}}})
        rs = kcreate({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                      "metadata": {"name": f"{name}-rs", "namespace": NS, "labels": labels,
                                   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                        "uid": d["metadata"]["uid"], "controller": True}]},
                      "spec": {"replicas": n, "selector": {"matchLabels": labels}, "template": tmpl}})
        for i in range(n):
            kcreate({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": f"{name}-{i}", "namespace": NS, "labels": labels,
                                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-rs",
                                                       "uid": rs["metadata"]["uid"], "controller": True}]},
                     "spec": tmpl["spec"]})
    # The pods are Ready (no kubelet here: the status is written directly), since long enough for
    # the controller to count a silent one as silent rather than starting.
    ready_since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    for name, n in PODS.items():
        for i in range(n):
            kubectl("patch", "pod", f"{name}-{i}", "-n", NS, "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": {"phase": "Running", "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": ready_since}]}}))
    for name, cost, mx in (("llama-l40s", "5.0", 10), ("llama-a100", "20.0", 3)):
        kcreate({"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
                 "metadata": {"name": name, "namespace": NS},
                 "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name}, "modelID": MODEL,
                          "variantCost": cost, "minReplicas": 1, "maxReplicas": mx}})
    GOOD_CM = "kvCacheThreshold: 0.80\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.10\nqueueSpareTrigger: 3\n"
    kcreate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "capacity-scaling-config", "namespace": SYS_NS},
             "data": {"default": GOOD_CM}})

    sampler = Sampler()
    a = Controller("a", leader_elect=False)
    sampler.controllers.append(a)
    wait_for("steady published values", lambda: a.published() == STEADY, 60)
    wait_for("steady status", lambda: metrics_ok_everywhere() and all(
        va_status(k)["desiredOptimizedAlloc"]["numReplicas"] == v for k, v in STEADY.items()), 30)
    log(f"steady: {STEADY}")

    # ---- prometheus_stop
    t = time.time()
    prom_stop()
    wait_for("PrometheusError", lambda: condition("llama-a100", "MetricsAvailable").get("reason") == "PrometheusError", 30)
    time.sleep(max(0, 8 - (time.time() - t)))
    prom_restart()
    t_back = time.time()
    wait_for("metrics back", metrics_ok_everywhere, 60)
    recovered("prometheus_stop", "Prometheus back -> MetricsAvailable=True", time.time() - t_back)
    never_below("prometheus_stop", t, STEADY)
    status_not_below("prometheus_stop", STEADY)

    # ---- stale_samples: the pods stop reporting; Prometheus marks the series stale.
    t = time.time()
    exporter.mode = "silent"
    wait_for("metrics missing", lambda: condition("llama-a100", "MetricsAvailable").get("status") == "False", 30)
    time.sleep(2 * INTERVAL)
    exporter.mode = "ok"
    t_back = time.time()
    wait_for("metrics back", metrics_ok_everywhere, 60)
    recovered("stale_samples", "samples back -> MetricsAvailable=True", time.time() - t_back)
    never_below("stale_samples", t, STEADY)
    status_not_below("stale_samples", STEADY)

    # ---- garbage_samples
    t = time.time()
    exporter.mode = "garbage"
    wait_for("bad samples seen", lambda: condition("llama-a100", "MetricsAvailable").get("status") == "False", 30)
    time.sleep(2 * INTERVAL)
    exporter.mode = "ok"
    t_back = time.time()
    wait_for("metrics back", metrics_ok_everywhere, 60)
    recovered("garbage_samples", "valid samples back -> MetricsAvailable=True", time.time() - t_back)
    never_below("garbage_samples", t, STEADY)
    status_not_below("garbage_samples", STEADY)

    # ---- partial_samples: one pod goes silent (a scrape timing out under load looks like this)
    # while the rest look idle; the model must not shrink, and the condition names the pod.
    t = time.time()
    exporter.mode = "partial_silent"
    # (The previous phase may still show MetricsIncomplete for its own pods: wait for this one.)
    named = wait_for("MetricsIncomplete naming the silent pod", lambda: (lambda c: c.get("reason")
                     == "MetricsIncomplete" and Exporter.BUSIEST in c.get("message", ""))(
                         condition("llama-a100", "MetricsAvailable")), 30)
    check(bool(named), "partial_samples: MetricsIncomplete names the silent pod")
    time.sleep(4 * INTERVAL)
    never_below("partial_samples", t, STEADY)
    status_not_below("partial_samples", STEADY)
    exporter.mode = "ok"
    t_back = time.time()
    wait_for("complete again", lambda: all(condition(k, "MetricsAvailable").get("reason") == "MetricsFound"
                                           for k in PODS), 60)
    recovered("partial_samples", "busiest pod back -> MetricsFound", time.time() - t_back)

    # ---- apiserver kills (issue 17 item 3: bounded recovery whatever the outage length)
    for secs in (15, 30, 60):
        fault = f"apiserver_kill_{secs}s"
        t = time.time()
        apiserver_kill()
        time.sleep(secs)
        check(a.proc.poll() is None, f"{fault}: the controller (no leader election) rides it out")
        apiserver_start()
        log(f"{fault}: API server back after {time.time() - t:.1f}s")
        probe_va_status_after_return(fault)
        never_below(fault, t, STEADY)
        status_not_below(fault, STEADY)

    # ---- bad_configmap: a broken entry is skipped, the last good values stay.
    t = time.time()
    kubectl("patch", "configmap", "capacity-scaling-config", "-n", SYS_NS, "--type=merge", "-p",
            json.dumps({"data": {"default": "kvCacheThreshold: 7\nqueueLengthThreshold: -1\n", "broken": "{{{"}}))
    wait_for("InvalidConfiguration event", lambda: "InvalidConfiguration" in kubectl(
        "get", "events", "-n", SYS_NS, "-o", "json").stdout, 20)
    time.sleep(2 * INTERVAL)
    reloads = sum("Saturation scaling config cache updated" in l.get("msg", "") for l in a.log_lines())
    kubectl("patch", "configmap", "capacity-scaling-config", "-n", SYS_NS, "--type=merge", "-p",
            json.dumps({"data": {"default": GOOD_CM, "broken": None}}))
    t_back = time.time()
    wait_for("reload", lambda: sum("Saturation scaling config cache updated" in l.get("msg", "")
                                   for l in a.log_lines()) > reloads, 20)
    recovered("bad_configmap", "fixed ConfigMap -> reloaded", time.time() - t_back)
    time.sleep(INTERVAL)
    never_below("bad_configmap", t, STEADY)
    status_not_below("bad_configmap", STEADY)

    # ---- invalid_va: accepted by the CRD, refused by the controller (only Deployments).
    t = time.time()
    kubectl("patch", "va", "llama-a100", "-n", NS, "--type=merge", "-p",
            json.dumps({"spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "llama-a100"}}}))
    wait_for("InvalidConfiguration", lambda: condition("llama-a100", "Ready").get("reason") == "InvalidConfiguration", 20)
    time.sleep(2 * INTERVAL)
    check(va_status("llama-a100")["desiredOptimizedAlloc"]["numReplicas"] == STEADY["llama-a100"],
          "invalid_va: status keeps the last valid desired")
    # A restart while invalid: the value is republished from status (issue 17 item 5).
    sampler.controllers.remove(a)
    sigterm(a, "sigterm")
    a = Controller("a2", leader_elect=False)
    sampler.controllers.append(a)
    first = wait_for("republished", lambda: a.published() or None, 30)
    check(first.get("llama-a100") == STEADY["llama-a100"], f"invalid_va: after a restart still published ({first})")
    kubectl("patch", "va", "llama-a100", "-n", NS, "--type=merge", "-p",
            json.dumps({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "llama-a100"}}}))
    t_back = time.time()
    wait_for("valid again", lambda: condition("llama-a100", "Ready").get("status") == "True", 30)
    recovered("invalid_va", "fixed spec -> Ready=True", time.time() - t_back)
    never_below("invalid_va", t, STEADY)
    status_not_below("invalid_va", STEADY)
    sampler.controllers.remove(a)
    sigterm(a, "sigterm")

    # ---- leader_kill: the standby takes over and republishes the same values.
    b = Controller("b", leader_elect=True)
    c = Controller("c", leader_elect=True)
    sampler.controllers += [b, c]
    leader = wait_for("a leader publishing", lambda: next((x for x in (b, c) if x.published()), None), 60)
    standby = c if leader is b else b
    wait_for("leader steady", lambda: leader.published() == STEADY, 30)
    t = time.time()
    leader.proc.kill()
    leader.proc.wait()
    sampler.controllers.remove(leader)
    got = wait_for("standby publishing", lambda: standby.published() or None, 60, 0.1)
    gap = time.time() - t
    check(got == STEADY, f"leader_kill: the new leader publishes {got} == {STEADY}")
    recovered("leader_kill", "leader SIGKILL -> standby publishes (no publisher meanwhile)", gap)
    never_below("leader_kill", t, STEADY)

    # ---- leader_apiserver_out: exit 1 by design, the restarted process republishes first.
    t = time.time()
    apiserver_kill()
    try:
        rc = standby.proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 1, f"leader_apiserver_out: the leader exits 1 after the renew deadline (exit {rc} "
          f"after {time.time() - t:.1f}s)")
    sampler.controllers.remove(standby)
    time.sleep(max(0, 15 - (time.time() - t)))
    apiserver_start()
    d = Controller("d", leader_elect=True)
    sampler.controllers.append(d)
    got = wait_for("restarted process publishing", lambda: d.published() or None, 60, 0.1)
    check(got == STEADY, f"leader_apiserver_out: the restarted process publishes {got} == {STEADY}")
    recovered("leader_apiserver_out", "restart -> first published values", time.time() - d.started)
    msgs = [l.get("msg", "") for l in d.log_lines()]
    i_pub = msgs.index("leading: publishing decisions") if "leading: publishing decisions" in msgs else None
    i_cycle = msgs.index("optimization cycle") if "optimization cycle" in msgs else len(msgs)
    check(i_pub is not None and i_pub < i_cycle, "leader_apiserver_out: republished from status before the first cycle")
    wait_for("cycles run", lambda: "optimization cycle" in [l.get("msg", "") for l in d.log_lines()], 30)
    never_below("leader_apiserver_out", t, STEADY)
    status_not_below("leader_apiserver_out", STEADY)

    # ---- sigterm_apiserver_down
    apiserver_kill()
    time.sleep(2)
    sampler.controllers.remove(d)
    sigterm(d, "sigterm_apiserver_down")
    apiserver_start()
except Exception as e:  # noqa: BLE001
    failures.append(repr(e))
    log(f"FAIL: {e!r}")
finally:
    if sampler:
        sampler.stop = True
    if failures:
        dump_logs()
    cleanup()
    shutil.rmtree(work, ignore_errors=True)

print("\nrecovery times (seconds):")
for fault, what, secs in recoveries:
    print(f"  {fault:24s} {secs:6.2f}  {what}")
print(f"suite took {time.time() - T0:.0f}s")
if failures:
    print(f"{len(failures)} failure(s):\n  " + "\n  ".join(failures))
    sys.exit(1)
print("fault suite: all checks passed")
