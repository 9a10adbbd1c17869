#!/usr/bin/env bash
# `promtool test rules` for WVA's alerts: extracts the rule groups of the shipped PrometheusRule
# (deploy/components/prometheus-operator/prometheusrule.yaml) into a plain rules file, without
# annotations (prose, not behaviour), and runs tests/monitoring/alerts_test.yaml against it. Also
# fails when an alert has no test case. promtool is in Debian's `prometheus` package
# (scripts/setup.sh).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v promtool >/dev/null 2>&1; then
  echo "FAIL: promtool not installed (Debian package prometheus; scripts/setup.sh)"
  exit 1
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wva-promtool.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
python3 - "$REPO/deploy/components/prometheus-operator/prometheusrule.yaml" \
  "$REPO/tests/monitoring/alerts_test.yaml" "$WORK/rules.yaml" <<'PY'
import sys, yaml
rule = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
groups = rule["spec"]["groups"]
alerts = set()
for g in groups:
    for r in g["rules"]:
        r.pop("annotations", None)
        if "alert" in r:
            alerts.add(r["alert"])
tested = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])}
firing = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])
          if t.get("exp_alerts")}
silent = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])
          if not t.get("exp_alerts")}
missing = sorted(alerts - (firing & silent))
if missing:
    sys.exit("alerts without both a firing and a silent promtool case: " + ", ".join(missing))
unknown = sorted(tested - alerts)
if unknown:
    sys.exit("test cases for alerts that do not exist: " + ", ".join(unknown))
yaml.safe_dump({"groups": groups}, open(sys.argv[3], "w"), sort_keys=False)
print("alerts under test: " + ", ".join(sorted(alerts)))
PY
cp "$REPO/tests/monitoring/alerts_test.yaml" "$WORK/alerts_test.yaml"
cd "$WORK"
promtool test rules alerts_test.yaml
