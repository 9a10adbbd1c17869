#!/usr/bin/env python3
"""`wva run` stops on SIGTERM with exit 0 within 5 s whatever its servers do (issue 17 item 6):
  refused   - nothing listens at the API server and Prometheus addresses
  blackhole - the API server and Prometheus accept connections and never answer
No test environment is needed: the servers are faked here. Usage: sigterm_unreachable_test.py WVA
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

WVA = sys.argv[1]
BUDGET_S = 5.0
failures = []


def blackhole():
    """A listener that accepts and then says nothing (a hung server)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    held = []

    def loop():
        while True:
            try:
                c, _ = s.accept()
                held.append(c)
            except OSError:
                return
    threading.Thread(target=loop, daemon=True).start()
    return s, s.getsockname()[1]


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more: connections are refused
    return port


def kubeconfig(path, port):
    with open(path, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}
users:
- name: u
  user: {{token: not-a-real-token}}
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
""")


def scenario(name, api_port, prom_port, leader_elect, work):
    kc = os.path.join(work, f"kubeconfig-{name}")
    kubeconfig(kc, api_port)
    logf = os.path.join(work, f"wva-{name}.log")
    args = [WVA, "run", "--kubeconfig", kc, "--prometheus-base-url", f"http://127.0.0.1:{prom_port}",
            "--prometheus-allow-http", "true", "--global-opt-interval", "1s",
            "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0"]
    if leader_elect:
        args.append("--leader-elect")
    with open(logf, "w") as out:
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    time.sleep(3)  # starting up against servers that are not there / not answering
    if p.poll() is not None:
        failures.append(f"{name}: exited early with {p.returncode}")
        print(open(logf).read())
        return
    t = time.time()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=35)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    took = time.time() - t
    ok = rc == 0 and took <= BUDGET_S
    print(f"[{'ok' if ok else 'FAIL'}] SIGTERM with {name}: exit {rc} after {took:.2f}s", flush=True)
    if not ok:
        failures.append(f"{name}: exit {rc} after {took:.2f}s")
        print("".join(open(logf).readlines()[-15:]))


with tempfile.TemporaryDirectory(prefix="wva-sigterm-") as work:
    refused_api, refused_prom = closed_port(), closed_port()
    scenario("refused", refused_api, refused_prom, False, work)
    scenario("refused-leader-elect", refused_api, refused_prom, True, work)
    hole, hole_port = blackhole()
    scenario("blackhole", hole_port, hole_port, False, work)
    scenario("blackhole-leader-elect", hole_port, hole_port, True, work)
    hole.close()

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("sigterm: all scenarios exit 0 within 5 s")
