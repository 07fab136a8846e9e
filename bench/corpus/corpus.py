#!/usr/bin/env python3
"""Run memreg over the real-world leak corpus and score its verdicts.

Each case in manifest.json names a scenario file, a CPython version and exact pip
requirements. One virtualenv per distinct (python, requirements) is built once and
cached outside the repository (default ~/.cache/memreg-corpus/<hash>/); every case is
then run through `memreg run --python VENV_PYTHON --json REPORT SCENARIO` at memreg's
default settings (a scenario file sets others only where the manifest says why), and
the verdicts are scored against the manifest's `kind` (leak / non-leak).

Standard library only. Relies on nothing in memreg but `memreg run [--jobs N]
--python P --json F FILE` (and `--no-attribution`, only when `memreg run --help` lists
it) and the JSON report's `scenarios[].status` and `scenarios[].analysis` fields
(README "JSON report"), so it runs unchanged against a later memreg binary.

    python3 bench/corpus/corpus.py                      # whole corpus once
    python3 bench/corpus/corpus.py --repeat 3 --out bench/corpus/RESULTS.md
    python3 bench/corpus/corpus.py -k ujson -k multidict
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ENV_FORMAT = 1  # bump to rebuild every cached virtualenv


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--memreg", default=os.path.join(REPO, "target", "release", "memreg"),
                   help="memreg binary (default: target/release/memreg of this checkout)")
    p.add_argument("--manifest", default=os.path.join(HERE, "manifest.json"))
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run the whole corpus N times; report how many runs flagged each case")
    p.add_argument("-k", dest="patterns", action="append", default=[], metavar="SUBSTRING",
                   help="only cases whose id contains SUBSTRING (repeatable; any matches)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="processes at once, passed to memreg as --jobs (default: memreg's own, the CPU count)")
    p.add_argument("--parallel", type=int, default=1, metavar="M",
                   help="cases run at once (default 1; keep --jobs x M near the core count)")
    p.add_argument("--out", metavar="FILE", help="also write the Markdown report to FILE")
    p.add_argument("--cache", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "memreg-corpus"),
                   help="where virtualenvs are kept (default ~/.cache/memreg-corpus)")
    p.add_argument("--pythons", default=os.path.join(
        os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv")), "versions"),
                   help="directory of CPython installs named by version, DIR/3.12.1/bin/python "
                        "(default: $PYENV_ROOT/versions); else pythonX.Y on PATH of that exact version")
    p.add_argument("--attribution", action="store_true",
                   help="let memreg explain every failure (a traced re-run per flagged case; slow). By default "
                        "the corpus passes --no-attribution when the binary offers it: verdicts do not depend on it")
    p.add_argument("--keep-json", metavar="DIR", help="keep every memreg JSON report in DIR")
    p.add_argument("--build-only", action="store_true", help="build the virtualenvs, run nothing")
    p.add_argument("--list", action="store_true",
                   help="print the case catalogue (what leaks, where it was fixed) as Markdown and exit")
    return p.parse_args(argv)


# ---------------------------------------------------------------- manifest

REQUIRED = ("id", "kind", "source", "python", "requirements", "scenario", "what")


def load_manifest(path):
    with open(path) as f:
        data = json.load(f)
    cases = data["cases"]
    seen = set()
    for c in cases:
        missing = [k for k in REQUIRED if k not in c]
        if missing:
            sys.exit("manifest: case %r lacks %s" % (c.get("id"), ", ".join(missing)))
        if c["kind"] not in ("leak", "non-leak"):
            sys.exit("manifest: case %s: kind must be leak or non-leak" % c["id"])
        if c["id"] in seen:
            sys.exit("manifest: duplicate id %s" % c["id"])
        for r in c["requirements"]:
            if "==" not in r:
                sys.exit("manifest: case %s: requirement %r is not pinned with ==" % (c["id"], r))
        seen.add(c["id"])
        c["scenario_path"] = os.path.join(os.path.dirname(os.path.abspath(path)), c["scenario"])
        if not os.path.isfile(c["scenario_path"]):
            sys.exit("manifest: case %s: no scenario file %s" % (c["id"], c["scenario"]))
    return cases


# ---------------------------------------------------------------- interpreters and venvs

def find_python(version, pythons_dir):
    cand = os.path.join(pythons_dir, version, "bin", "python")
    if os.access(cand, os.X_OK):
        return cand
    mm = ".".join(version.split(".")[:2])
    exe = shutil.which("python" + mm)
    if exe:
        out = subprocess.run([exe, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip() == version:
            return exe
    return None


def env_spec(case):
    return {"format": ENV_FORMAT, "python": case["python"],
            "requirements": sorted(case["requirements"])}


def env_dir(cache, spec):
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(cache, digest)


def ensure_env(spec, cache, pythons_dir, log):
    """Return the venv's python, building the venv once; None (with a reason) if impossible."""
    d = env_dir(cache, spec)
    marker = os.path.join(d, "memreg-corpus.json")
    py = os.path.join(d, "bin", "python")
    if os.path.isfile(marker) and os.access(py, os.X_OK):
        with open(marker) as f:
            if json.load(f) == spec:
                return py, None
    base = find_python(spec["python"], pythons_dir)
    if base is None:
        return None, "CPython %s not found (looked in %s and on PATH)" % (spec["python"], pythons_dir)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(cache, exist_ok=True)
    label = "python %s %s" % (spec["python"], " ".join(spec["requirements"]) or "(no packages)")
    log("building venv: %s -> %s" % (label, d))
    t0 = time.time()
    r = subprocess.run([base, "-m", "venv", d], capture_output=True, text=True)
    if r.returncode != 0:
        return None, "venv failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    if spec["requirements"]:
        r = subprocess.run([py, "-m", "pip", "install", "--disable-pip-version-check",
                            "--no-input", "-q", "--prefer-binary"] + spec["requirements"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(d, ignore_errors=True)
            tail = (r.stderr.strip().splitlines() or ["?"])[-1]
            return None, "pip install failed: " + tail
    with open(marker, "w") as f:
        json.dump(spec, f, sort_keys=True)
    log("  built in %.0fs" % (time.time() - t0))
    return py, None


# ---------------------------------------------------------------- running

def fmt_growth(metric, value):
    if value is None:
        return "?"
    if metric == "blocks":
        return "%.4g blk/it" % value
    v = abs(value)
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if v >= scale:
            return "%.3g %s/it" % (value / scale, unit)
    return ("%.0f B/it" if v >= 100 else "%.3g B/it") % value


def run_case(case, python, args, json_dir, run_no):
    report = os.path.join(json_dir, "%s.run%d.json" % (case["id"], run_no))
    cmd = [args.memreg, "run", "--python", python, "--json", report]
    if args.no_attribution:
        cmd.append("--no-attribution")
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    cmd.append(case["scenario_path"])
    t0 = time.time()
    # Run in an empty directory, so memreg finds no baselines/ and compares nothing.
    with tempfile.TemporaryDirectory(prefix="memreg-corpus-cwd-") as cwd:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.time() - t0
    res = {"id": case["id"], "run": run_no, "wall_s": wall, "exit": proc.returncode}
    try:
        with open(report) as f:
            rep = json.load(f)
        sc = rep["scenarios"][0]
    except (OSError, ValueError, KeyError, IndexError):
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        res.update(verdict="error", detail="no JSON report (exit %d): %s"
                   % (proc.returncode, " / ".join(tail)), flagged=[], counters={})
        return res
    analysis = sc.get("analysis") or {}
    verdict = ((analysis.get("verdict") or {}).get("verdict")) or sc.get("status", "error")
    if sc.get("status") == "errored":
        verdict = "error"
    counters = {}
    flagged = []
    for c in analysis.get("counters") or []:
        counters[c.get("metric")] = c
        if c.get("leak") and c.get("gating", True):
            flagged.append(c.get("metric"))
    res.update(verdict=verdict, status=sc.get("status"), flagged=flagged, counters={
        m: {"median": c.get("median"), "agreeing": c.get("agreeing"),
            "processes": c.get("processes"), "gating": c.get("gating"),
            "per_process": c.get("per_process")} for m, c in counters.items()},
        reason=(analysis.get("verdict") or {}).get("reason"), summary=analysis.get("summary"))
    if verdict == "error":
        faults = sc.get("faults") or []
        res["detail"] = json.dumps(faults)[:300] if faults else (sc.get("output") or "")[-300:]
    return res


def describe_counters(res):
    """The counters that flagged (bold) with their growth, then every other counter that moved."""
    if res["verdict"] == "error":
        return res.get("detail", "error")
    parts = []
    for m in res["flagged"]:
        c = res["counters"][m]
        parts.append("**%s** %s (%s/%s)" % (m, fmt_growth(m, c["median"]), c["agreeing"], c["processes"]))
    # Counters that did not decide the verdict but moved: what a miss or a clean pass looked like.
    for m, c in res["counters"].items():
        if m in res["flagged"] or not c["median"]:
            continue
        note = "" if c.get("gating", True) else ", not gating"
        parts.append("%s %s (%s/%s%s)" % (m, fmt_growth(m, c["median"]), c["agreeing"], c["processes"], note))
    return ", ".join(parts) or "all 0"


# ---------------------------------------------------------------- report

def short_source(url):
    tail = url.rstrip("/")
    for marker in ("github.com/",):
        if marker in tail:
            tail = tail.split(marker, 1)[1]
            bits = tail.split("/")
            if len(bits) >= 4 and bits[2] in ("issues", "pull"):
                return "[%s#%s](%s)" % (bits[1], bits[3].split("#")[0], url)
    return "[link](%s)" % url


def package_label(case):
    reqs = case["requirements"]
    py = "CPython %s" % case["python"]
    return ("%s, %s" % (", ".join(reqs), py)) if reqs else py


def is_hit(res):
    """memreg called it a leak."""
    return res["verdict"] == "leak"


def build_report(cases, results, repeat, elapsed, memreg_version):
    lines = []
    lines.append("| case | kind | package==version | source | memreg verdict | counter, growth/iteration (agreeing/processes) | time |")
    lines.append("|---|---|---|---|---|---|---|")
    found = alarms = flaky = 0
    n_leak = sum(1 for c in cases if c["kind"] == "leak")
    n_clean = len(cases) - n_leak
    per_run = [[0, 0] for _ in range(repeat)]
    flaky_ids = []
    for case in cases:
        runs = results.get(case["id"], [])
        hits = [is_hit(r) for r in runs]
        nhit = sum(hits)
        verdicts = [r["verdict"] for r in runs]
        for r in runs:
            if is_hit(r):
                if case["kind"] == "leak":
                    per_run[r["run"] - 1][0] += 1
                else:
                    per_run[r["run"] - 1][1] += 1
        if case["kind"] == "leak":
            ok = runs and nhit == len(runs)
            if ok:
                found += 1
        else:
            ok = runs and nhit == 0 and "error" not in verdicts
            if nhit:
                alarms += 1
        is_flaky = 0 < nhit < len(runs)
        if is_flaky:
            flaky += 1
            flaky_ids.append(case["id"])
        if not runs:
            verdict = "not run"
        elif len(set(verdicts)) == 1:
            verdict = verdicts[0] + ("" if repeat == 1 else " %d/%d" % (len(runs), len(runs)))
        else:
            verdict = ", ".join("%s %d/%d" % (v, verdicts.count(v), len(runs))
                                for v in sorted(set(verdicts)))
        mark = "ok" if ok else ("**MISSED**" if case["kind"] == "leak" else "**FALSE ALARM**")
        if runs and all(v == "error" for v in verdicts):
            mark = "**ERROR**"
        if is_flaky:
            mark += " (flaky)"
        detail = describe_counters(runs[-1]) if runs else "-"
        if len(runs) > 1:
            descs = {describe_counters(r) for r in runs}
            if len(descs) > 1:
                detail = "; ".join("run %d: %s" % (r["run"], describe_counters(r)) for r in runs)
        times = [r["wall_s"] for r in runs]
        tdesc = ("%.1fs" % (sum(times) / len(times))) if times else "-"
        lines.append("| %s | %s | %s | %s | %s: %s | %s | %s |" % (
            case["id"], case["kind"], package_label(case), short_source(case["source"]),
            verdict, mark, detail, tdesc))
    lines.append("")
    if repeat > 1:
        for i, (a, c) in enumerate(per_run, 1):
            lines.append("run %d: leaks found %d/%d, false alarms %d/%d  " % (i, a, n_leak, c, n_clean))
        lines.append("flaky verdicts: %d%s  " % (flaky, (" (" + ", ".join(flaky_ids) + ")") if flaky_ids else ""))
        lines.append("(last line: a leak counts as found only if every run found it; "
                     "a non-leak counts as a false alarm if any run flagged it)  ")
    lines.append("memreg %s, %d run(s), %.0fs in all  " % (memreg_version, repeat, elapsed))
    lines.append("leaks found %d/%d, false alarms %d/%d" % (found, n_leak, alarms, n_clean))
    return "\n".join(lines) + "\n"


def supports(memreg, flag):
    """Whether `memreg run` lists FLAG in its help (optional flags are used only when offered)."""
    try:
        out = subprocess.run([memreg, "run", "--help"], capture_output=True, text=True)
        return flag in out.stdout
    except OSError:
        return False


def memreg_version(memreg):
    try:
        out = subprocess.run([memreg, "--version"], capture_output=True, text=True)
        return out.stdout.strip().split()[-1] if out.returncode == 0 else "?"
    except OSError:
        return "?"


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cases = load_manifest(args.manifest)
    if args.patterns:
        cases = [c for c in cases if any(p.lower() in c["id"].lower() for p in args.patterns)]
    if not cases:
        sys.exit("no case matches")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    if args.list:
        print("| case | kind | package==version, CPython | source | what leaks / where it was fixed |")
        print("|---|---|---|---|---|")
        for c in cases:
            print("| %s | %s | %s | %s | %s |" % (c["id"], c["kind"], package_label(c),
                                                short_source(c["source"]), c["what"]))
        return 0
    if not args.build_only and not os.access(args.memreg, os.X_OK):
        sys.exit("no memreg binary at %s (cargo build --release, or --memreg PATH)" % args.memreg)

    # Virtualenvs first, one at a time (pip is heavy on a small machine).
    envs = {}
    for c in cases:
        key = json.dumps(env_spec(c), sort_keys=True)
        if key not in envs:
            envs[key] = ensure_env(env_spec(c), args.cache, args.pythons, log)
    if args.build_only:
        bad = [(k, why) for k, (py, why) in envs.items() if py is None]
        for k, why in bad:
            log("FAILED %s: %s" % (k, why))
        return 1 if bad else 0

    version = memreg_version(args.memreg)
    args.no_attribution = not args.attribution and supports(args.memreg, "--no-attribution")
    json_dir = args.keep_json or tempfile.mkdtemp(prefix="memreg-corpus-")
    os.makedirs(json_dir, exist_ok=True)
    results = {}
    t0 = time.time()
    try:
        for run_no in range(1, args.repeat + 1):
            todo = []
            for c in cases:
                py, why = envs[json.dumps(env_spec(c), sort_keys=True)]
                if py is None:
                    results.setdefault(c["id"], []).append(
                        {"id": c["id"], "run": run_no, "wall_s": 0.0, "verdict": "error",
                         "detail": why, "flagged": [], "counters": {}})
                else:
                    todo.append((c, py))
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
                futs = {pool.submit(run_case, c, py, args, json_dir, run_no): c for c, py in todo}
                for fut in concurrent.futures.as_completed(futs):
                    c = futs[fut]
                    r = fut.result()
                    results.setdefault(c["id"], []).append(r)
                    log("run %d/%d  %-40s %-8s %-12s %s  %.1fs" % (
                        run_no, args.repeat, c["id"], c["kind"], r["verdict"],
                        describe_counters(r), r["wall_s"]))
        for rs in results.values():
            rs.sort(key=lambda r: r["run"])
    finally:
        if not args.keep_json:
            shutil.rmtree(json_dir, ignore_errors=True)
    elapsed = time.time() - t0
    report = build_report(cases, results, args.repeat, elapsed, version)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
