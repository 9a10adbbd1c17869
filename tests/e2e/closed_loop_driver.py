#!/usr/bin/env python3
"""Closed-loop e2e driver (issue #7): drives the emulator's workload through phases, samples the
cluster every couple of seconds, writes timeline.csv + timeline.html (inline SVG chart), and
asserts the loop's behaviour with tolerances. Standard library only.

Phases (seconds, overridable by env for the demo): LOW (warm-up, 1+1 replicas must hold),
HIGH (the ramp: WVA must grow the cheap variant first), LOW again (the expensive variant must
shrink first, the fleet must come back down). Exit 0 = pass, 1 = an assertion failed.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time
import urllib.request

CHEAP, DEAR = "llama-8b-l40s", "llama-8b-a100"
VARIANTS = (CHEAP, DEAR)


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


class Cluster:
    def __init__(self, env):
        self.env = env
        self.kubectl = [os.path.join(env["WVA_TESTENV_BIN"], "kubectl"),
                        "--kubeconfig=" + env["KUBECONFIG"], "-n", env["WVA_SCENARIO_NS"]]

    def objects(self):
        out = subprocess.run(self.kubectl + ["get", "deploy,hpa", "-o", "json"],
                             capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        items = json.loads(out.stdout)["items"]
        dep = {i["metadata"]["name"]: i for i in items if i["kind"] == "Deployment"}
        hpa = {i["metadata"]["name"]: i for i in items if i["kind"] == "HorizontalPodAutoscaler"}
        return dep, hpa

    def wva_desired(self):
        text = http("GET", self.env["WVA_CONTROLLER_METRICS_URL"] + "/metrics")
        out = {}
        for line in text.splitlines():
            if line.startswith("wva_desired_replicas{"):
                labels, value = line.rsplit(" ", 1)
                for v in VARIANTS:
                    if 'variant_name="%s"' % v in labels:
                        out[v] = float(value)
        return out

    def emulated(self):
        pods = json.loads(http("GET", self.env["WVA_EMULATOR_URL"] + "/control/pods"))["pods"]
        by = {v: [] for v in VARIANTS}
        for p in pods:
            if p.get("variant") in by:
                by[p["variant"]].append(p)
        return by

    def set_rate(self, rate):
        http("PUT", self.env["WVA_EMULATOR_URL"] + "/control/load",
             {"namespace": self.env["WVA_SCENARIO_NS"], "model": self.env["WVA_SCENARIO_MODEL"],
              "rate": rate})


def num(x, default=0):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def sample(cluster, t, phase, rate):
    row = {"t": round(t, 1), "phase": phase, "rate": rate}
    dep, hpa = cluster.objects()
    try:
        desired = cluster.wva_desired()
    except Exception:  # controller between cycles or restarting: keep sampling
        desired = {}
    emu = cluster.emulated()
    kvs, waits = [], []
    for v in VARIANTS:
        d = dep.get(v, {})
        row[v + ".spec"] = d.get("spec", {}).get("replicas", 0)
        row[v + ".ready"] = d.get("status", {}).get("readyReplicas", 0) or 0
        row[v + ".hpa"] = hpa.get(v, {}).get("status", {}).get("desiredReplicas", "")
        row[v + ".wva"] = desired.get(v, "")
        row[v + ".emulated"] = len(emu[v])
        for p in emu[v]:
            kvs.append(num(p.get("kv")))
            waits.append(num(p.get("waiting")))
    row["avg_kv"] = round(sum(kvs) / len(kvs), 3) if kvs else ""
    row["avg_waiting"] = round(sum(waits) / len(waits), 2) if waits else ""
    return row


COLUMNS = ["t", "phase", "rate"] + [v + "." + k for v in VARIANTS
                                    for k in ("spec", "ready", "hpa", "wva", "emulated")] + [
    "avg_kv", "avg_waiting"]


def scale_events(rows, v):
    """(t, old, new) for every change of the Deployment's spec.replicas."""
    ev = []
    for a, b in zip(rows, rows[1:]):
        if b[v + ".spec"] != a[v + ".spec"]:
            ev.append((b["t"], a[v + ".spec"], b[v + ".spec"]))
    return ev


def reversals(events):
    dirs = [1 if new > old else -1 for _, old, new in events]
    return sum(1 for a, b in zip(dirs, dirs[1:]) if a != b)


def chart(rows, path, phases):
    W, H, PAD = 960, 420, 50
    tmax = max(r["t"] for r in rows) or 1
    ymax = max(max(r[v + ".spec"] for v in VARIANTS for r in rows), 4) + 1
    rmax = max(max(r["rate"] for r in rows), 1)

    def x(t):
        return PAD + (W - 2 * PAD) * t / tmax

    def y(v, top):
        return H - PAD - (H - 2 * PAD) * v / top

    def line(key, color, dash="", top=None):
        top = top or ymax
        pts = " ".join("%.1f,%.1f" % (x(r["t"]), y(num(r[key]), top)) for r in rows)
        return ('<polyline fill="none" stroke="%s" stroke-width="2" %s points="%s"/>'
                % (color, 'stroke-dasharray="%s"' % dash if dash else "", pts))

    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (W, H)]
    for start, end, name in phases:
        svg.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" opacity="0.25"/>'
                   % (x(start), PAD, max(0, x(min(end, tmax)) - x(start)), H - 2 * PAD,
                      "#fde2c8" if name == "high" else "#e8f0fe"))
        svg.append('<text x="%.1f" y="%d">%s</text>' % (x(start) + 4, PAD - 6, name))
    for i in range(int(ymax) + 1):
        svg.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                   % (PAD, W - PAD, y(i, ymax), y(i, ymax)))
        svg.append('<text x="%d" y="%.1f" text-anchor="end">%d</text>' % (PAD - 6, y(i, ymax) + 4, i))
    svg.append('<text x="%d" y="%d">seconds (max %.0f)</text>' % (W // 2, H - 10, tmax))
    svg.append(line(CHEAP + ".spec", "#1a73e8"))
    svg.append(line(CHEAP + ".ready", "#1a73e8", "4,3"))
    svg.append(line(DEAR + ".spec", "#d93025"))
    svg.append(line(DEAR + ".ready", "#d93025", "4,3"))
    svg.append(line("rate", "#999", "1,3", top=rmax * 1.1))
    legend = [("L40S replicas (spec)", "#1a73e8", ""), ("L40S ready", "#1a73e8", "4,3"),
              ("A100 replicas (spec)", "#d93025", ""), ("A100 ready", "#d93025", "4,3"),
              ("arrival rate (max %.0f req/s)" % rmax, "#999", "1,3")]
    for i, (name, color, dash) in enumerate(legend):
        yy = PAD + 14 + 16 * i
        svg.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2" %s/>'
                   % (W - 260, W - 230, yy, yy, color, 'stroke-dasharray="%s"' % dash if dash else ""))
        svg.append('<text x="%d" y="%d">%s</text>' % (W - 224, yy + 4, name))
    svg.append("</svg>")
    with open(path, "w") as f:
        f.write("<!doctype html><meta charset=utf-8><title>WVA closed loop</title>"
                "<h3>WVA closed loop: real HPA, KWOK pods, emulated vLLM load</h3>%s"
                "<p>timeline.csv has every sample.</p>" % "\n".join(svg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--watch", action="store_true", help="demo: print samples, no assertions")
    a = ap.parse_args()
    env = read_env(a.env)
    cluster = Cluster(env)
    low = float(os.environ.get("WVA_E2E_LOW_RATE", "3"))
    high = float(os.environ.get("WVA_E2E_HIGH_RATE", "16"))
    phases_spec = [("low", float(os.environ.get("WVA_E2E_WARMUP_S", "30")), low),
                   ("high", float(os.environ.get("WVA_E2E_HIGH_S", "100")), high),
                   ("low", float(os.environ.get("WVA_E2E_COOLDOWN_S", "90")), low)]
    period = float(os.environ.get("WVA_E2E_SAMPLE_S", "2"))
    os.makedirs(a.out, exist_ok=True)
    csv_path = os.path.join(a.out, "timeline.csv")
    rows, phases = [], []
    start = time.monotonic()
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for name, dur, rate in phases_spec:
            cluster.set_rate(rate)
            p0 = time.monotonic() - start
            phases.append((p0, p0 + dur, name))
            while time.monotonic() - start < p0 + dur:
                tick = time.monotonic()
                try:
                    row = sample(cluster, tick - start, name, rate)
                except Exception as e:  # a transient API error must not end the run
                    print("sample failed: %s" % e, file=sys.stderr)
                    time.sleep(period)
                    continue
                rows.append(row)
                w.writerow(row)
                f.flush()
                if a.watch or os.environ.get("WVA_E2E_VERBOSE"):
                    print("t=%5.0fs %-4s rate=%4.1f  L40S %s/%s (wva %s)  A100 %s/%s (wva %s)  kv=%s q=%s"
                          % (row["t"], name, rate, row[CHEAP + ".ready"], row[CHEAP + ".spec"],
                             row[CHEAP + ".wva"], row[DEAR + ".ready"], row[DEAR + ".spec"],
                             row[DEAR + ".wva"], row["avg_kv"], row["avg_waiting"]), flush=True)
                time.sleep(max(0.0, period - (time.monotonic() - tick)))
    cluster.set_rate(0)
    chart(rows, os.path.join(a.out, "timeline.html"), phases)

    # Timeline of changes (the closing note of issue #7 quotes this).
    print("timeline (samples where replica counts changed): t phase rate | L40S ready/spec wva | "
          "A100 ready/spec wva | avg kv, waiting")
    last = None
    for r in rows:
        key = tuple(r[v + k] for v in VARIANTS for k in (".spec", ".ready", ".wva"))
        if key != last:
            print("  %6.1f %-4s %5.1f | %s/%s %s | %s/%s %s | %s %s"
                  % (r["t"], r["phase"], r["rate"], r[CHEAP + ".ready"], r[CHEAP + ".spec"],
                     r[CHEAP + ".wva"], r[DEAR + ".ready"], r[DEAR + ".spec"], r[DEAR + ".wva"],
                     r["avg_kv"], r["avg_waiting"]))
            last = key
    if a.watch:
        return 0

    failures = []

    def check(ok, msg):
        print(("ok   " if ok else "FAIL ") + msg)
        if not ok:
            failures.append(msg)

    warm = [r for r in rows if r["phase"] == "low" and r["t"] < phases[0][1]]
    high_rows = [r for r in rows if phases[1][0] <= r["t"] < phases[1][1]]
    cool = [r for r in rows if r["t"] >= phases[2][0]]
    check(len(rows) >= 0.7 * (phases[-1][1] / period), "sampled the whole run (%d samples)" % len(rows))
    check(all(r[v + ".spec"] == 1 for r in warm[-3:] for v in VARIANTS),
          "warm-up at low load holds 1 + 1 replicas")
    check(any(r[CHEAP + ".wva"] != "" for r in rows), "wva_desired_replicas published")
    cheap_max = max(r[CHEAP + ".spec"] for r in high_rows + cool)
    check(cheap_max >= 3, "ramp grows the cheap variant to >= 3 replicas (max %d)" % cheap_max)
    ev = {v: scale_events(rows, v) for v in VARIANTS}
    ups = sorted((t, v) for v in VARIANTS for t, old, new in ev[v] if new > old)
    check(bool(ups) and ups[0][1] == CHEAP, "the first scale-up is the cheap variant (%s)"
          % ("%s at %.0fs" % (ups[0][1], ups[0][0]) if ups else "none"))
    check(any(r[CHEAP + ".ready"] >= 2 for r in high_rows + cool),
          "KWOK readied the new cheap pods (ready >= 2)")
    # Capacity exists only for Ready pods: the emulator serves exactly the Ready pods (allowing a
    # sample or two of watch latency around each change).
    match = sum(1 for r in rows if all(r[v + ".emulated"] == r[v + ".ready"] for v in VARIANTS))
    check(match >= 0.8 * len(rows), "emulated pods == Ready pods in %d/%d samples" % (match, len(rows)))
    # Cost order, judged per WVA decision from the samples: a scale-up of the expensive variant
    # while the cheap one was eligible (no pending pod, no unapplied decision, below max), or a
    # scale-down of the cheap variant while the expensive one was eligible (its decision applied,
    # all pods ready, above min), is a violation. "Eligible" must hold in the samples before and
    # after the decision, so a sample taken mid-cycle is not held against the controller.
    def eligible_up(r, v):
        return r[v + ".wva"] == r[v + ".spec"] == r[v + ".ready"] and r[v + ".spec"] < 6

    def eligible_down(r, v):
        return r[v + ".wva"] == r[v + ".spec"] == r[v + ".ready"] and r[v + ".ready"] > 1

    violations = []
    for a, b in zip(rows, rows[1:]):
        if a[DEAR + ".wva"] == "" or b[DEAR + ".wva"] == "" or a[CHEAP + ".wva"] == "" or b[CHEAP + ".wva"] == "":
            continue
        if b[DEAR + ".wva"] > a[DEAR + ".wva"] and eligible_up(a, CHEAP) and eligible_up(b, CHEAP):
            violations.append("%.0fs: A100 grew while L40S was eligible" % b["t"])
        if b[CHEAP + ".wva"] < a[CHEAP + ".wva"] and eligible_down(a, DEAR) and eligible_down(b, DEAR):
            violations.append("%.0fs: L40S shrank while A100 was eligible" % b["t"])
    check(not violations, "cost order: grow the cheapest eligible, shrink the most expensive "
          "eligible (%s)" % ("; ".join(violations) or "no violation"))
    # One transition per model: no variant gets a new decision while the other one is in
    # transition (an unapplied decision, or pods not Ready yet) in the samples on both sides.
    def in_transition(r, v):
        return r[v + ".wva"] != r[v + ".spec"] or r[v + ".spec"] != r[v + ".ready"]

    cascades = []
    for a, b in zip(rows, rows[1:]):
        for v, other in ((CHEAP, DEAR), (DEAR, CHEAP)):
            if a[v + ".wva"] == "" or b[v + ".wva"] == "" or b[v + ".wva"] == a[v + ".wva"]:
                continue
            if a[v + ".wva"] != a[v + ".spec"]:
                continue  # v itself was still converging: not a new decision
            if in_transition(a, other) and in_transition(b, other):
                cascades.append("%.0fs: %s %s -> %s while %s was in transition"
                                % (b["t"], v, a[v + ".wva"], b[v + ".wva"], other))
    check(not cascades, "one transition per model (%s)" % ("; ".join(cascades) or "none"))
    drop = phases[2][0]
    downs = {v: [t for t, old, new in ev[v] if new < old] for v in VARIANTS}
    first = min((downs[v][0], v) for v in VARIANTS if downs[v]) if any(downs.values()) else None
    print("info: first scale-down: %s" % ("%s at %.0fs" % (first[1], first[0]) if first else "none"))
    if max(r[DEAR + ".spec"] for r in rows) > 1:
        check(bool(downs[DEAR]) and cool[-1][DEAR + ".spec"] == 1,
              "the expensive variant gives its extra replicas back (A100 ends at %d)"
              % cool[-1][DEAR + ".spec"])

        def at_min(v):
            return next((r["t"] for r in rows if r["t"] >= drop and r[v + ".spec"] == 1), None)
        # Informational only: with one transition per model the variants decline one after the
        # other, each waiting for the HPA to apply the other's step.
        print("info after the drop: A100 at its minimum at %s s, L40S at %s s"
              % (at_min(DEAR), at_min(CHEAP)))
    else:
        print("note: the A100 variant never grew, so 'expensive shrinks first' is not exercised")
    end = cool[-3:]
    total_end = max(r[CHEAP + ".spec"] + r[DEAR + ".spec"] for r in end) if end else 99
    peak = max(r[CHEAP + ".spec"] + r[DEAR + ".spec"] for r in rows)
    check(total_end < peak and total_end <= 3,
          "the fleet comes back down at low load (end %d replicas, peak %d)" % (total_end, peak))
    for v in VARIANTS:
        n, rev = len(ev[v]), reversals(ev[v])
        check(rev <= 2 and n <= 10, "%s: %d scale events, %d direction reversals (no oscillation)"
              % (v, n, rev))
    print("scale events: " + "; ".join("%s %s" % (v, ["%.0fs %d->%d" % e for e in ev[v]])
                                       for v in VARIANTS))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
