#!/usr/bin/env python3
"""Closed-loop e2e driver for scale to/from zero, stock-outs, GPU budgets and direct actuation
(issue 16; scripts/testenv/closed-loop/zero-scenario.yaml). Standard library only.

Phases, each asserted over time with a deadline:
  warm      a little load so the model's request counters exist
  idle      no load: both variants of the model reach 0 replicas (scale to zero, via the HPAs)
  demand    the fake EPP reports queued requests: the cheapest variant (L40S) gets exactly one
            replica, Ready, while the A100 variant stays at 0 (scale from zero)
  stockout  heavy load: the L40S node is full, a third L40S replica stays Pending; after the
            stock-out threshold the A100 variant grows (shift)
  back      an L40S node is added: after the back-off the cheap variant grows again and its
            third replica is Ready
  budget    lower load (the A100 variant shrinks first), then a GPU budget of 1 L40S GPU and
            more load: growth goes to the A100 variant, the L40S variant does not grow
  direct    (throughout) the direct-mode model's Deployment is scaled by WVA, no HPA in the path
Prints the replica timeline and the measured times; writes timeline.csv. Exit 0 = pass.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time
import urllib.request

CHEAP, DEAR, DIRECT = "llama-8b-l40s", "llama-8b-a100", "llama-1b-direct"
DEPLOYS = (CHEAP, DEAR, DIRECT)
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
DIRECT_MODEL = "meta-llama/Llama-3.2-1B-Instruct"


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
    return env


def http(method, url, body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode()


class Loop:
    def __init__(self, env, out):
        self.env = env
        self.ns = env["WVA_SCENARIO_NS"]
        self.kc = [os.path.join(env["WVA_TESTENV_BIN"], "kubectl"),
                   "--kubeconfig=" + env["KUBECONFIG"]]
        self.t0 = time.time()
        self.rows = []
        self.phase = "start"
        self.out = out
        self.failures = []

    def kubectl(self, *args, stdin=None):
        r = subprocess.run(self.kc + list(args), input=stdin, capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError("kubectl %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def rate(self, model, rate):
        http("PUT", self.env["WVA_EMULATOR_URL"] + "/control/load",
             {"namespace": self.ns, "model": model, "rate": rate})

    def queue(self, size):
        http("PUT", self.env["WVA_FAKE_EPP_URL"] + "/queue", {"model": MODEL, "size": size})

    def sample(self):
        items = json.loads(self.kubectl("-n", self.ns, "get", "deploy,pods", "-o", "json"))["items"]
        row = {"t": round(time.time() - self.t0, 1), "phase": self.phase}
        for i in items:
            if i["kind"] == "Deployment" and i["metadata"]["name"] in DEPLOYS:
                n = i["metadata"]["name"]
                row[n + ".spec"] = i["spec"].get("replicas", 0)
                row[n + ".ready"] = i.get("status", {}).get("readyReplicas", 0) or 0
        pending = {d: 0 for d in DEPLOYS}
        for i in items:
            if i["kind"] != "Pod" or i["metadata"].get("deletionTimestamp"):
                continue
            for c in i.get("status", {}).get("conditions", []):
                if (c.get("type") == "PodScheduled" and c.get("status") == "False" and
                        c.get("reason") == "Unschedulable"):
                    for d in DEPLOYS:
                        if i["metadata"]["name"].startswith(d + "-"):
                            pending[d] += 1
        for d in DEPLOYS:
            row.setdefault(d + ".spec", 0)
            row.setdefault(d + ".ready", 0)
            row[d + ".unschedulable"] = pending[d]
        self.rows.append(row)
        return row

    def wait(self, what, pred, deadline_s, period=1.0):
        """Samples until pred(row) holds; returns (seconds, row) or records a failure."""
        start = time.time()
        while True:
            row = self.sample()
            if pred(row):
                return time.time() - start, row
            if time.time() - start > deadline_s:
                self.failures.append("%s: not within %d s (last: %s)" % (what, deadline_s, row))
                print("FAIL: " + self.failures[-1], flush=True)
                return None, row
            time.sleep(period)

    def hold(self, seconds, check=None, what=""):
        end = time.time() + seconds
        while time.time() < end:
            row = self.sample()
            if check and not check(row):
                self.failures.append("%s (at %s)" % (what, row))
                print("FAIL: " + self.failures[-1], flush=True)
                return
            time.sleep(1.0)

    def write(self):
        cols = ["t", "phase"] + [d + "." + k for d in DEPLOYS
                                 for k in ("spec", "ready", "unschedulable")]
        with open(os.path.join(self.out, "timeline.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(self.rows)

    def print_timeline(self):
        print("\nreplica timeline (spec/ready, +unschedulable):")
        print("%7s  %-9s %-12s %-12s %-12s" % ("t[s]", "phase", CHEAP, DEAR, DIRECT))
        last = None
        for r in self.rows:
            cells = tuple("%d/%d%s" % (r[d + ".spec"], r[d + ".ready"],
                                       " +%d" % r[d + ".unschedulable"]
                                       if r[d + ".unschedulable"] else "") for d in DEPLOYS)
            key = (r["phase"],) + cells
            if key != last:
                print("%7.1f  %-9s %-12s %-12s %-12s" % ((r["t"], r["phase"]) + cells))
                last = key


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    env = read_env(args.env)
    loop = Loop(env, args.out)
    figures = {}

    # The direct-mode model carries load from the start: WVA must grow it itself.
    loop.rate(DIRECT_MODEL, 12)

    loop.phase = "warm"
    loop.rate(MODEL, 1)
    loop.wait("L40S serving", lambda r: r[CHEAP + ".ready"] >= 1, 60)
    loop.hold(8)

    loop.phase = "idle"
    loop.rate(MODEL, 0)
    secs, _ = loop.wait("idle model at zero (both variants spec 0)",
                        lambda r: r[CHEAP + ".spec"] == 0 and r[DEAR + ".spec"] == 0, 120)
    figures["idle -> 0 (retention 20 s), s"] = secs
    loop.hold(6, lambda r: r[CHEAP + ".spec"] == 0 and r[DEAR + ".spec"] == 0,
              "model stays at zero without demand")

    loop.phase = "demand"
    loop.queue(4)
    demand_at = time.time() - loop.t0
    secs, _ = loop.wait("cheapest variant 0 -> 1 Ready on demand",
                        lambda r: r[CHEAP + ".ready"] >= 1, 60, period=0.25)
    woken = next((r["t"] for r in loop.rows
                  if r["phase"] == "demand" and r[CHEAP + ".spec"] >= 1), None)
    figures["demand -> L40S scaled 0 -> 1 (sampled every 0.25 s), s"] = (
        None if woken is None else woken - demand_at)
    figures["demand -> first Ready L40S replica (pods Ready 3 s after scheduling), s"] = secs
    row = loop.rows[-1]
    if row[DEAR + ".spec"] != 0 or row[CHEAP + ".spec"] != 1:
        loop.failures.append("scale from zero woke more than one replica of the cheapest "
                             "variant: %s" % row)
    loop.rate(MODEL, 2)
    loop.queue(0)
    loop.hold(8, lambda r: r[CHEAP + ".spec"] >= 1, "woken model keeps its replica")

    loop.phase = "stockout"
    loop.rate(MODEL, 20)
    secs, _ = loop.wait("an L40S replica Pending unschedulable (nodes full)",
                        lambda r: r[CHEAP + ".unschedulable"] >= 1, 150)
    if secs is not None:
        secs, _ = loop.wait("stock-out shift: the A100 variant gets a Ready replica",
                            lambda r: r[DEAR + ".ready"] >= 1, 90)
        figures["Pending unschedulable -> A100 Ready (threshold 8 s), s"] = secs

    loop.phase = "back"
    docs = open(env["WVA_NODES_FILE"]).read().split("\n---\n")
    node = next(d for d in docs if "name: kwok-l40s-0" in d).replace("kwok-l40s-0",
                                                                     "kwok-l40s-extra")
    loop.kubectl("create", "-f", "-", stdin=node)
    try:
        loop.kubectl("taint", "nodes", "kwok-l40s-extra", "node.kubernetes.io/not-ready:NoSchedule-")
    except RuntimeError:
        pass  # not tainted
    secs, _ = loop.wait("capacity back on the cheap variant: a third L40S replica Ready",
                        lambda r: r[CHEAP + ".ready"] >= 3, 150)
    figures["L40S node added -> third L40S Ready (back-off 15 s), s"] = secs

    loop.phase = "budget"
    loop.rate(MODEL, 3)
    loop.wait("low load: the A100 variant shrinks first (normal scale-down order)",
              lambda r: r[DEAR + ".spec"] <= 2, 150)
    start = loop.sample()
    loop.kubectl("-n", "workload-variant-autoscaler-system", "create", "configmap",
                 "wva-gpu-budget-config", "--from-literal=accelerator.L40S=1")
    loop.rate(MODEL, 28)
    secs, _ = loop.wait("budget exhausted: growth goes to the A100 variant",
                        lambda r: r[DEAR + ".spec"] > start[DEAR + ".spec"], 120)
    figures["budget-bound growth -> A100 scaled up, s"] = secs
    last = loop.rows[-1]
    if last[CHEAP + ".spec"] > start[CHEAP + ".spec"]:
        loop.failures.append("the L40S variant grew past its GPU budget: %s" % last)
    loop.rate(MODEL, 0)

    loop.phase = "direct"
    row = loop.rows[-1]
    if row[DIRECT + ".spec"] < 2:
        loop.wait("direct mode: WVA scaled its Deployment without an HPA",
                  lambda r: r[DIRECT + ".spec"] >= 2, 60)
    cond = loop.kubectl("-n", loop.ns, "get", "va", DIRECT, "-o",
                        "jsonpath={.status.conditions[?(@.type=='DirectActuation')].status}")
    if cond.strip() != "True":
        loop.failures.append("direct mode VA has no DirectActuation=True condition: %r" % cond)
    hpas = loop.kubectl("-n", loop.ns, "get", "hpa", "-o", "name")
    if DIRECT in hpas:
        loop.failures.append("an HPA targets the direct-mode Deployment")
    loop.rate(DIRECT_MODEL, 0)

    loop.write()
    loop.print_timeline()
    print("\nmeasured:")
    for k, v in figures.items():
        print("  %-55s %s" % (k, "n/a" if v is None else "%.1f" % v))
    if loop.failures:
        print("\n%d assertion(s) failed:" % len(loop.failures))
        for f in loop.failures:
            print("  - " + f)
        return 1
    print("\nall closed-loop zero/budget/stock-out/direct scenarios passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
