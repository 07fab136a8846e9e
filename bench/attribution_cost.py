#!/usr/bin/env python3
"""What a failing scenario's attribution costs, against its detection.

    cargo build --release && python3 bench/attribution_cost.py [--rounds 5] [--python python3] [--no-confirm] [--every K]

Runs `memreg run` on one leaking scenario (a json round trip of about 20 us per
iteration whose result is kept, or one result in K with --every K: default
iterations, warm-up and processes; with
--no-confirm, `confirm: {iterations: 2000}`, so detection does not look longer than
its 2,000 iterations) with `--no-attribution` and without, interleaved round by
round, and measures the CPU time
(user + system) of memreg and every process it started (os.wait4's rusage of the
memreg process, which includes the children it waited for). Prints the median CPU of
each, and the median over rounds of the attribution's CPU (with minus without, in
the same round) and its ratio to detection's (without). Extra arguments after `--` go to both `memreg run`s (e.g. `-- --jobs 1`).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEMREG = ROOT / "target" / "release" / "memreg"

SCENARIO = """\
name: json-leak
setup: |
  import json, itertools
  d = {"a": list(range(50))}
  keep = []
  n = itertools.count(1)
run: |
  r = json.loads(json.dumps(d))
  if next(n) % EVERY == 0:
      keep.append(r)
"""


def cpu_of(cmd, cwd):
    """CPU seconds (user + sys) of `cmd` and every descendant it waited for, and its
    exit code."""
    started = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return usage.ru_utime + usage.ru_stime, wall, p.returncode, out.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--memreg", default=str(MEMREG))
    ap.add_argument("--no-confirm", action="store_true", help="detection never looks longer")
    ap.add_argument("--every", type=int, default=1, help="keep one result in EVERY iterations")
    ap.add_argument("extra", nargs="*", help="more `memreg run` arguments (after --)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="memreg-attrib-bench-") as tmp:
        Path(tmp, "leak.yaml").write_text(
            SCENARIO.replace("EVERY", str(args.every))
            + ("confirm: {iterations: 2000}\n" if args.no_confirm else "")
        )
        Path(tmp, "baselines").mkdir()
        base = [args.memreg, "run", "leak.yaml", "--python", args.python, "--color", "never"]
        base += ["--baselines", "baselines", *args.extra]
        runs = {"detection": [], "with attribution": []}
        where = ""
        for r in range(args.rounds):
            # Alternate which goes first, so drift in the machine's load hits both.
            order = ["detection", "with attribution"]
            if r % 2:
                order.reverse()
            for kind in order:
                cmd = base + (["--no-attribution"] if kind == "detection" else [])
                cpu, wall, code, out = cpu_of(cmd, tmp)
                if code != 1:
                    sys.exit(f"`{' '.join(cmd)}` exited {code}, expected 1 (a leak):\n{out}")
                if kind != "detection":
                    if "where (tracemalloc" not in out:
                        sys.exit(f"no attribution in the output:\n{out}")
                    where = out.split("where (tracemalloc", 1)[1].splitlines()[0:3]
                runs[kind].append((cpu, wall))
                print(f"round {r + 1} {kind:17} cpu {cpu:6.2f} s  wall {wall:6.2f} s", flush=True)
        det = statistics.median(c for c, _ in runs["detection"])
        full = statistics.median(c for c, _ in runs["with attribution"])
        paired = [w[0] - d[0] for w, d in zip(runs["with attribution"], runs["detection"])]
        attribution = statistics.median(paired)
        print()
        confirm = "never looks longer" if args.no_confirm else "default confirm"
        print(
            f"python: {args.python}; one result kept per {args.every} iterations;"
            f" detection {confirm}; {args.rounds} interleaved rounds;"
        )
        print("medians of CPU (user+sys) of memreg and its processes")
        print(f"detection (--no-attribution): {det:.2f} s")
        print(f"with attribution:             {full:.2f} s")
        print(
            f"attribution alone:            {attribution:.2f} s"
            f" (median of rounds' differences; {min(paired):.2f} to {max(paired):.2f})"
        )
        print(f"ratio attribution / detection: {attribution / det:.2f}")
        print("where (tracemalloc" + "\n".join(where))


if __name__ == "__main__":
    main()
