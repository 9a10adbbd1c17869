"""Helpers shared by the e2e scripts (controller_e2e, migrate_e2e, secure_metrics_e2e): logging,
subprocesses, kubectl against the test control plane, HTTP, polling and the failure list."""
import json
import os
import subprocess
import sys
import time
import urllib.request

failures = []  # what check() found wrong; the scripts exit non-zero when it is not empty


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(*args, check=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r


def http(method, url, body=None, ctx=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
        return r.read().decode()


def wait_for(what, fn, timeout=60, every=0.5):
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


def check(cond, msg):
    if cond:
        log(f"ok: {msg}")
    else:
        log(f"FAIL: {msg}")
        failures.append(msg)


def control_plane(testenv, work):
    """Starts the test control plane in work/k8s and returns its env (KUBECONFIG, ...); exits 77
    (skip) when it is not built, 1 when it does not start."""
    r = subprocess.run([os.path.join(testenv, "up"), os.path.join(work, "k8s")],
                       capture_output=True, text=True)
    if r.returncode == 3:
        print("control plane not built (scripts/testenv/build); skipping")
        sys.exit(77)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        sys.exit(1)
    text = open(os.path.join(work, "k8s", "env")).read()
    return dict(line.split("=", 1) for line in text.split("\n") if "=" in line)


def kubectl_for(env):
    """kubectl(*args, input=None, check=True) and kapply(obj) bound to the control plane's env."""
    def kubectl(*args, input=None, check=True):
        return run(os.path.join(env["WVA_TESTENV_BIN"], "kubectl"), "--kubeconfig",
                   env["KUBECONFIG"], *args, input=input, check=check)

    def kapply(obj):
        return json.loads(kubectl("create", "-o", "json", "-f", "-", input=json.dumps(obj)).stdout)

    return kubectl, kapply
