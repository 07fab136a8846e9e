"""Step outputs from a memreg JSON report: counts of passed, leaked, regressed and
errored scenarios, as `name=value` lines for $GITHUB_OUTPUT."""

import json
import sys

report = json.load(open(sys.argv[1]))
counts = {"passed": 0, "leaked": 0, "regressed": 0, "errored": 0}
for s in report["scenarios"]:
    if s["status"] == "passed":
        counts["passed"] += 1
    if s["status"] == "errored":
        counts["errored"] += 1
    if s["analysis"]["verdict"]["verdict"] == "leak" and s["expect"] == "pass":
        counts["leaked"] += 1
    baseline = s.get("baseline") or {}
    if any(f["status"]["status"] == "regressed" for f in baseline.get("figures", [])):
        counts["regressed"] += 1
for name, value in counts.items():
    print(f"{name}={value}")
