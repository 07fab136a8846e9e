#!/usr/bin/env python3
"""memreg benchmark: detection, false alarms, and time-to-verdict.

    cargo build --release && python3 bench/bench.py [--reps 20] [--out bench/RESULTS.md]

Part 1 runs every body below through `memreg run` REPS times with the default
settings (2000 iterations, 200 warm-up, 5 processes) and counts verdicts: every leak
must be found, no clean or cache-filling body may alarm. pytest-memray's
`limit_leaks` judges the same bodies (same iterations, one process, as it runs) for
comparison.

Part 2 times a verdict on bodies of about 1, 20 and 200 us per iteration (and a clean
pytest test through memreg's pytest bridge against the same body inline):
memreg (one process at a time) against the same iterations in bare Python (the same
number of fresh interpreters, setup + warm-up + iterations, nothing measured) and
against pytest-memray `--memray` with `limit_leaks` on the same total iterations.

Part 3 (also alone: --only-speed) compares memreg with bare Python in two
interpreters: the one running this script (a pyenv build here, whose site-packages
import ~100 modules at start through a .pth file) and a clean virtualenv of it
(`python -m venv --without-pip`: no .pth imports, the interpreter's own start). It
counts instructions (valgrind callgrind, every process: per measuring process and
for the whole run), the cost of a failing scenario with and without attribution,
and how a suite of 1 to 200 scenarios scales. memreg runs with its compile-check
cache in a directory of the benchmark's own (MEMREG_CACHE_DIR): warm after its
first run, and cold (emptied before every run) where the suite-scaling row says so.

Makes its own virtualenvs (bench/.venv with pytest and pytest-memray, and the clean
bench/.venv-clean). Prints Markdown tables; --out writes them to a file too.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEMREG = ROOT / "target" / "release" / "memreg"
VENV = ROOT / "bench" / ".venv"
CLEAN_VENV = ROOT / "bench" / ".venv-clean"
ITERATIONS, WARMUP, PROCESSES = 2000, 200, 5

NATIVE_SETUP = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
"""

# Anonymous private pages, touched and never unmapped: memory only RSS sees.
MMAP_SETUP = """
import ctypes, itertools
c = itertools.count()
libc = ctypes.CDLL(None)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
def page():
    ctypes.memset(libc.mmap(None, 4096, 3, 0x22, -1, 0), 1, 1)
"""

# name -> (kind, setup, body). kind: "leak" must be found; every other kind (clean,
# cache, plateau, rss-noise) must not alarm.
BODIES = {
    "py-8B": ("leak", "L = []", "L.append(None)"),
    "py-64B": ("leak", "L = []", "L.append(bytes(23))"),  # 56 B object + 8 B slot
    "py-512B": ("leak", "L = []", "L.append(bytes(471))"),  # 504 B object + 8 B slot
    "native-8B": ("leak", NATIVE_SETUP, "libc.malloc(8)"),
    "native-64B": ("leak", NATIVE_SETUP, "libc.malloc(64)"),
    "native-512B": ("leak", NATIVE_SETUP, "libc.malloc(512)"),
    "clean-pass": ("clean", "", "pass"),
    "clean-json": (
        "clean",
        "import json\npayload = {'items': list(range(200)), 'name': 'x' * 50}",
        "json.loads(json.dumps(payload))",
    ),
    "clean-objects": (
        "clean",
        "class Node:\n    def __init__(self, v):\n        self.v = v\n        self.peer = self",
        "nodes = [Node(i) for i in range(20)]\ndel nodes",
    ),
    "clean-strings": ("clean", "", "s = ','.join(str(i) for i in range(50)).split(',')"),
    "clean-native-churn": (
        "clean",
        NATIVE_SETUP + "libc.free.argtypes = [ctypes.c_void_p]",
        "libc.free(libc.malloc(4096))",
    ),
    "cache-lru": (
        "cache",
        "import functools, itertools\nc = itertools.count()\n"
        "@functools.lru_cache(maxsize=128)\ndef f(n):\n    return str(n) * 3",
        "f(next(c))",
    ),
    "cache-re": (
        "cache",
        "import re, itertools\nc = itertools.count()",
        "re.match(f'a{next(c) % 150}b', 'a1b')",
    ),
    "cache-logger": (
        "cache",
        "import logging, itertools\nc = itertools.count()",
        "logging.getLogger(f'svc.{next(c) % 100}')",
    ),
    "cache-bounded-dict": (
        "cache",
        "import itertools\nc = itertools.count()\nd = {}",
        "k = next(c)\nd[k] = str(k)\nif len(d) > 100:\n    del d[k - 100]",
    ),
    "cache-typing": (
        "cache",
        "import typing, itertools\nc = itertools.count()\n"
        "types_ = [int, str, bytes, float, complex, bool, list, dict]",
        "t = types_[next(c) % 8]\ntyping.List[t]; typing.Optional[t]; typing.Dict[str, t]",
    ),
    # Caches still filling when the default window ends (false alarms before memreg
    # looked longer): they settle after 2,800 to about 8,000 iterations.
    "plateau-lru-5000": (
        "plateau",
        "import functools, itertools\nc = itertools.count()\n"
        "@functools.lru_cache(maxsize=5000)\ndef f(n):\n    return str(n) * 3",
        "f(next(c) % 5000)",
    ),
    "plateau-deque-3000": (
        "plateau",
        "import collections, itertools\nc = itertools.count()\nd = collections.deque(maxlen=3000)",
        "d.append(next(c))",
    ),
    "plateau-random-memo-500": (
        "plateau",
        "import random\nmemo = {}",
        "k = random.randrange(500)\nmemo.setdefault(k, str(k))",
    ),
    # What moves RSS without leaking.
    "rss-high-water": ("rss-noise", "import random", "x = bytearray(random.randrange(4 << 20)); del x"),
    "rss-big-temporary": ("rss-noise", "", "x = bytearray(16 << 20); del x"),
    "rss-threads": (
        "rss-noise",
        "import threading",
        "t = threading.Thread(target=lambda: None)\nt.start(); t.join()",
    ),
    "rss-deep-recursion": (
        "rss-noise",
        "import sys\nsys.setrecursionlimit(10000)\ndef down(n):\n    return 0 if n == 0 else down(n - 1)",
        "down(3000)",
    ),
    # Memory outside malloc: one page per iteration, and one per 256 iterations (the
    # slowest such leak found at default settings).
    "mmap-page": ("leak", MMAP_SETUP, "page()"),
    "mmap-page-per-256": ("leak", MMAP_SETUP, "if next(c) % 256 == 0:\n    page()"),
}

# Bodies timed in part 2 (about 1, 20 and 200 us per iteration on a 2020s x86 core).
TIMED = {
    "~1 us (list comp)": ("", "x = [i for i in range(10)]"),
    "~20 us (json)": (
        "import json\npayload = {'items': list(range(150)), 'name': 'memreg'}",
        "json.loads(json.dumps(payload))",
    ),
    "~200 us (json)": (
        "import json\npayload = {'items': list(range(1500)), 'name': 'memreg'}",
        "json.loads(json.dumps(payload))",
    ),
}


def yaml_block(text):
    return "|\n" + textwrap.indent(text if text.strip() else "pass", "      ") + "\n"


def write_scenarios(path, bodies, **extra):
    lines = ["scenarios:"]
    for name, (setup, body) in bodies.items():
        lines.append(f"  - name: {name}")
        lines.append(f"    setup: {yaml_block(setup)}".rstrip("\n"))
        lines.append(f"    run: {yaml_block(body)}".rstrip("\n"))
        for k, v in extra.items():
            lines.append(f"    {k}: {v}")
    path.write_text("\n".join(lines) + "\n")


def ensure_venv():
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "pytest", "pytest-memray"], check=True)
    return py


def ensure_clean_venv():
    """A virtualenv of this interpreter with nothing installed, not even pip (whose
    setuptools puts a .pth import into site-packages)."""
    py = CLEAN_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(CLEAN_VENV)], check=True)
    return py


def interpreters():
    """label -> interpreter: the one running this script, and its clean virtualenv."""
    out = {}
    for kind, py in (("system", Path(sys.executable)), ("clean venv", ensure_clean_venv())):
        n = subprocess.run([str(py), "-c", "import sys; print(len(sys.modules))"],
                           check=True, capture_output=True, text=True).stdout.strip()
        out[f"{kind} ({n} modules at start)"] = py
    return out


def memreg_env(workdir, cold=False):
    """memreg's environment: its compile-check cache in the benchmark's directory,
    emptied first when `cold`."""
    cache = workdir / "memreg-cache"
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    return dict(os.environ, MEMREG_CACHE_DIR=str(cache))


def memreg_verdicts(scenario_file, junit):
    subprocess.run(
        [str(MEMREG), "run", str(scenario_file), "--junit", str(junit), "--color", "never",
         "--no-attribution", "--baselines", str(junit.parent / "no-baselines")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("error") is not None:
            out[case.get("name")] = "error"
        elif case.find("failure") is not None:
            out[case.get("name")] = "leak"
        elif case.find("skipped") is not None:
            out[case.get("name")] = "inconclusive"
        else:
            out[case.get("name")] = "clean"
    return out


def pytest_files(workdir, bodies, iterations, limit):
    """One test module per body: setup at module level (where real leaks keep their
    state), the iterations inside the test. Returns {test id: body name}."""
    names = {}
    for i, (name, (setup, body)) in enumerate(bodies.items()):
        src = ["import pytest", setup, ""]
        src.append(f"@pytest.mark.limit_leaks({limit!r})")
        src.append(f"def test_{i}():  # {name}")
        src.append(f"    for _ in range({iterations}):")
        src.append(textwrap.indent(body, "        "))
        (workdir / f"test_body_{i}.py").write_text("\n".join(src) + "\n")
        names[f"test_{i}"] = name
    return names


def memray_verdicts(py, names, workdir):
    junit = workdir / "memray.xml"
    subprocess.run(
        [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--memray", f"--junitxml={junit}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
    )
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        out[names[case.get("name")]] = "leak" if failed else "clean"
    return out


def detection(reps, py, workdir):
    scen = workdir / "detect.yaml"
    write_scenarios(scen, {n: (s, b) for n, (_, s, b) in BODIES.items()})
    found = {n: 0 for n in BODIES}
    errors = {n: 0 for n in BODIES}
    unsure = {n: 0 for n in BODIES}
    t0 = time.perf_counter()
    for r in range(reps):
        for name, v in memreg_verdicts(scen, workdir / "j.xml").items():
            found[name] += v == "leak"
            errors[name] += v == "error"
            unsure[name] += v == "inconclusive"
        print(f"  memreg repetition {r + 1}/{reps}", file=sys.stderr)
    memreg_secs = time.perf_counter() - t0
    detect_dir = workdir / "memray-detect"
    detect_dir.mkdir()
    names = pytest_files(detect_dir, {n: (s, b) for n, (_, s, b) in BODIES.items()}, WARMUP + ITERATIONS, "1 KB")
    memray_reps = max(1, reps // 4)
    mfound = {n: 0 for n in BODIES}
    for r in range(memray_reps):
        for name, v in memray_verdicts(py, names, detect_dir).items():
            mfound[name] += v == "leak"
        print(f"  pytest-memray repetition {r + 1}/{memray_reps}", file=sys.stderr)

    rows = ["| body | kind | memreg: leak verdicts | pytest-memray limit_leaks(1 KB) |", "|---|---|---|---|"]
    misses = alarms = 0
    for name, (kind, _, _) in BODIES.items():
        want_leak = kind == "leak"
        ok = found[name] == reps if want_leak else found[name] == 0
        misses += want_leak and found[name] < reps
        alarms += (not want_leak) and found[name] > 0
        err = f" ({errors[name]} errors)" if errors[name] else ""
        err += f" ({unsure[name]} inconclusive)" if unsure[name] else ""
        rows.append(
            f"| {name} | {kind} | {found[name]}/{reps}{err} {'ok' if ok else 'WRONG'} | {mfound[name]}/{memray_reps} |"
        )
    summary = (
        f"memreg: {misses} leak bodies missed at least once, {alarms} other bodies alarmed at least once, "
        f"over {reps} repetitions ({memreg_secs / reps:.1f} s per repetition of {len(BODIES)} scenarios)."
    )
    return "\n".join(rows), summary


def timed(cmd, codes=(0,), **kw):
    """(wall seconds, CPU seconds of the command and everything it waited for).
    CPU time is far less sensitive than wall time to other load on a shared machine.
    Any exit code outside `codes` is an error (memreg exits 1 on a leak)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    code = subprocess.run(cmd, stdout=subprocess.DEVNULL, **kw).returncode
    if code not in codes:
        raise SystemExit(f"{cmd[0]} exited {code}: {' '.join(map(str, cmd))}")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def bare_script(setup, body, workdir):
    """What bare Python runs: setup, then warm-up and iterations, nothing measured."""
    script = workdir / "bare.py"
    script.write_text(f"{setup}\nfor _ in range({WARMUP + ITERATIONS}):\n{textwrap.indent(body, '    ')}\n")
    return script


def bare_time(setup, body, workdir, py=sys.executable):
    script = bare_script(setup, body, workdir)
    wall = cpu = 0.0
    for _ in range(PROCESSES):
        w, c = timed([str(py), str(script)])
        wall, cpu = wall + w, cpu + c
    return wall, cpu


def memreg_time(setup, body, workdir, py=sys.executable):
    scen = workdir / "timed.yaml"
    write_scenarios(scen, {"timed": (setup, body)})
    # The same interpreter as bare Python (not a launcher such as a pyenv shim).
    return timed([str(MEMREG), "run", str(scen), "--jobs", "1", "--python", str(py),
                  "--baselines", str(workdir / "none")], env=memreg_env(workdir))


ROW_SECONDS = 20  # a time-to-verdict row runs rounds for at least this long (wall)...
MAX_ROUNDS = 60  # ...up to this many

MEMRAY_CAP = 600  # seconds; pytest-memray with limit_leaks traces every allocation


def memray_time(py, setup, body, workdir):
    timed_dir = workdir / "memray-timed"
    timed_dir.mkdir(exist_ok=True)
    pytest_files(timed_dir, {"timed": (setup, body)}, PROCESSES * (WARMUP + ITERATIONS), "1 MB")
    t0 = time.perf_counter()
    try:
        subprocess.run(
            [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--memray"],
            stdout=subprocess.DEVNULL,
            cwd=timed_dir,
            timeout=MEMRAY_CAP,
        )
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - t0


def timing(py, workdir, rounds=7, interps=None, memray=True):
    """Time to verdict per body and interpreter, memreg against bare Python over
    interleaved rounds (pytest-memray once per body, in the benchmark's venv)."""
    interps = interps or {"system": Path(sys.executable)}
    head = ("| body | interpreter | rounds | bare Python (wall / CPU) | memreg (wall / CPU) "
            "| memreg / bare: wall (rounds) | memreg / bare: CPU (rounds) |")
    rule = "|---|---|---|---|---|---|---|"
    if memray:
        head += " pytest-memray (wall) | pytest-memray / bare |"
        rule += "---|---|"
    rows = [head, rule]
    for label, (setup, body) in TIMED.items():
        for ilabel, ipy in interps.items():
            bare, mem = [], []
            # Interleaved, so drifts in machine load hit both; at least `rounds`, and
            # as many more as fit in ROW_SECONDS (as hyperfine runs a fast command
            # more often): a ~0.1 s round moves by 10-30% on a shared machine.
            t0 = time.perf_counter()
            while len(bare) < rounds or (time.perf_counter() - t0 < ROW_SECONDS and len(bare) < MAX_ROUNDS):
                bare.append(bare_time(setup, body, workdir, ipy))
                mem.append(memreg_time(setup, body, workdir, ipy))
            bw, bc = statistics.median(b[0] for b in bare), statistics.median(b[1] for b in bare)
            mw, mc = statistics.median(m[0] for m in mem), statistics.median(m[1] for m in mem)
            # The ratio of each interleaved round, to show how much the machine moved.
            rw = [m[0] / b[0] for b, m in zip(bare, mem)]
            rc = [m[1] / b[1] for b, m in zip(bare, mem)]
            row = (f"| {label} | {ilabel} | {len(bare)} | {bw:.3f} s / {bc:.3f} s | {mw:.3f} s / {mc:.3f} s "
                   f"| {mw / bw:.2f}x ({min(rw):.2f}-{max(rw):.2f}) | {mc / bc:.2f}x ({min(rc):.2f}-{max(rc):.2f}) |")
            if memray:
                if ipy == Path(sys.executable):
                    r = memray_time(py, setup, body, workdir)  # once: it is slow
                    row += (f" {r:.2f} s | {r / bw:.1f}x |" if r is not None
                            else f" > {MEMRAY_CAP} s | > {MEMRAY_CAP / bw:.0f}x |")
                else:
                    row += " | |"
            rows.append(row)
            print(f"  timed {label}, {ilabel}", file=sys.stderr)
    return "\n".join(rows)


BRIDGED_TEST = """import json

payload = {"items": list(range(100)), "name": "x" * 20}


def test_json():
    json.loads(json.dumps(payload))
"""


BRIDGE_TITLE = (
    f"## A pytest test through the bridge ({PROCESSES} processes x {WARMUP}+{ITERATIONS} iterations, "
    "--jobs 1, median of 3 interleaved rounds; the inline scenario runs the same body)\n"
)


def bridge_time(py, workdir, rounds=3):
    """Time to verdict of a clean pytest test run through memreg's pytest bridge
    (`pytest: test_bench.py::test_json`) against the same body as an inline
    scenario, both with the benchmark venv's Python and pytest, --jobs 1, defaults."""
    project = workdir / "bridged"
    project.mkdir(exist_ok=True)
    (project / "test_bench.py").write_text(BRIDGED_TEST)
    (project / "bridged.yaml").write_text("pytest: test_bench.py::test_json\n")
    setup = 'import json\npayload = {"items": list(range(100)), "name": "x" * 20}'
    write_scenarios(project / "inline.yaml", {"inline": (setup, "json.loads(json.dumps(payload))")})
    version = subprocess.run([str(py), "-c", "import pytest; print(pytest.__version__)"],
                             check=True, capture_output=True, text=True).stdout.strip()

    def run(name):
        return timed([str(MEMREG), "run", f"{name}.yaml", "--jobs", "1", "--python", str(py),
                      "--baselines", str(workdir / "none"), "--no-attribution"], cwd=project)

    inline, bridged = [], []
    for _ in range(rounds):  # interleaved
        inline.append(run("inline"))
        bridged.append(run("bridged"))
    iw, ic = statistics.median(i[0] for i in inline), statistics.median(i[1] for i in inline)
    bw, bc = statistics.median(b[0] for b in bridged), statistics.median(b[1] for b in bridged)
    rc = [b[1] / i[1] for i, b in zip(inline, bridged)]
    return "\n".join([
        "| body | inline scenario (wall / CPU) | pytest-bridged test (wall / CPU) "
        "| bridged / inline: wall | bridged / inline: CPU (rounds) |",
        "|---|---|---|---|---|",
        f"| json round trip of a 100-item dict, pytest {version} | {iw:.2f} s / {ic:.2f} s | {bw:.2f} s / {bc:.2f} s "
        f"| {bw / iw:.1f}x | {bc / ic:.1f}x ({min(rc):.1f}-{max(rc):.1f}) |",
    ])


def callgrind(cmd, workdir, tag, env=None):
    """Instructions of `cmd` and every process it starts (valgrind callgrind, user
    space): [(command line, instructions)] per process."""
    import glob

    for f in glob.glob(str(workdir / f"cg-{tag}.*")):
        os.remove(f)
    out = str(workdir / f"cg-{tag}.%p")
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={out}"] + cmd,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    procs = []
    for f in glob.glob(str(workdir / f"cg-{tag}.*")):
        cmdline, total = "", 0
        for line in open(f, errors="replace"):
            if line.startswith("cmd:"):
                cmdline = line[4:].strip()
            elif line.startswith("summary:"):
                total = int(line.split()[1])
        procs.append((cmdline, total))
    return procs


def probe_mode(cmdline):
    """The probe mode of a process memreg started (measure, check, ...), else None."""
    for mode in ("measure", "attribute", "check", "expand"):
        if f" {mode} " in cmdline and "memreg" not in cmdline.split()[0]:
            return mode
    return None


def instructions(workdir, interps=None, labels=("~1 us (list comp)", "~20 us (json)")):
    """User-space instructions counted by valgrind's callgrind, all processes
    included (memreg, its compile check when the cache misses, and its probes):
    deterministic where wall and CPU time on a shared machine move by tens of
    percent. Kernel work (process start, page faults) is not counted. memreg runs
    with its cache warm (one run before counting), so no check process runs."""
    if not shutil.which("valgrind"):
        return "valgrind not found: instruction counts skipped\n"
    interps = interps or {"system": Path(sys.executable)}
    rows = ["| body | interpreter | bare, per process | memreg, per measuring process (median) "
            "| per process: memreg / bare | bare, whole run | memreg, whole run | whole run: memreg / bare |",
            "|---|---|---|---|---|---|---|---|"]
    for label in labels:
        setup, body = TIMED[label]
        for ilabel, ipy in interps.items():
            script = bare_script(setup, body, workdir)
            bare = [sum(n for _, n in callgrind([str(ipy), str(script)], workdir, f"bare{i}"))
                    for i in range(PROCESSES)]
            scen = workdir / "timed.yaml"
            write_scenarios(scen, {"timed": (setup, body)})
            cmd = [str(MEMREG), "run", str(scen), "--jobs", "1", "--python", str(ipy),
                   "--baselines", str(workdir / "none")]
            env = memreg_env(workdir)
            subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env, check=True)  # warm the cache
            procs = callgrind(cmd, workdir, "memreg", env=env)
            measuring = [n for c, n in procs if probe_mode(c) == "measure"]
            if len(measuring) != PROCESSES:
                raise SystemExit(f"expected {PROCESSES} measuring processes, counted {len(measuring)}: {procs}")
            mem = sum(n for _, n in procs)
            bp, mp = statistics.median(bare), statistics.median(measuring)
            rows.append(f"| {label} | {ilabel} | {bp / 1e6:.0f} M | {mp / 1e6:.0f} M | {mp / bp:.3f}x "
                        f"| {sum(bare) / 1e9:.3f} G | {mem / 1e9:.3f} G | {mem / sum(bare):.3f}x |")
            print(f"  counted {label}, {ilabel}", file=sys.stderr)
    return "\n".join(rows)


def failing_cost(workdir, rounds=3, py=sys.executable):
    """What a failing scenario costs: the ~20 us json body clean, and leaking its
    result (a leak memreg confirms over 4x the window), without and with
    attribution (the tracemalloc run that says where); interleaved rounds, memreg
    CPU time and iterations measured per process."""
    import json

    setup, body = TIMED["~20 us (json)"]
    leaking = (setup + "\nkeep = []", "keep.append(" + body + ")")
    cases = [
        ("clean", (setup, body), ["--no-attribution"]),
        ("leaking its result, --no-attribution", leaking, ["--no-attribution"]),
        ("leaking its result, with attribution", leaking, []),
    ]
    cpus = {c[0]: [] for c in cases}
    walls = {c[0]: [] for c in cases}
    windows = {}
    for _ in range(rounds):
        for label, (s, b), flags in cases:
            scen = workdir / "confirm.yaml"
            write_scenarios(scen, {"c": (s, b)})
            report = workdir / "confirm.json"
            wall, cpu = timed([str(MEMREG), "run", str(scen), "--jobs", "1", "--python", str(py),
                               "--baselines", str(workdir / "none"), "--json", str(report)] + flags,
                              codes=(0, 1), env=memreg_env(workdir))
            cpus[label].append(cpu)
            walls[label].append(wall)
            windows[label] = [p["window"] for p in json.loads(report.read_text())["scenarios"][0]["process_details"]]
    rows = [f"| body | memreg wall (median of {rounds}) | memreg CPU (median of {rounds}) "
            "| iterations measured per process | CPU vs clean | CPU vs the same leak without attribution |",
            "|---|---|---|---|---|---|"]
    clean = statistics.median(cpus["clean"])
    detect = statistics.median(cpus["leaking its result, --no-attribution"])
    for label, _, _ in cases:
        cpu = statistics.median(cpus[label])
        vs = f"{cpu / detect:.2f}x" if label.startswith("leaking") else ""
        rows.append(f"| {label} | {statistics.median(walls[label]):.2f} s | {cpu:.2f} s "
                    f"| {', '.join(map(str, windows[label]))} | {cpu / clean:.2f}x | {vs} |")
    return "\n".join(rows)


def bare_suite(script, py, n, jobs):
    """n scenarios' bare equivalent: n x PROCESSES fresh interpreters, `jobs` at a
    time; (wall, CPU) of them all."""
    from concurrent.futures import ThreadPoolExecutor

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        codes = list(pool.map(lambda _: subprocess.run([str(py), str(script)], stdout=subprocess.DEVNULL).returncode,
                              range(n * PROCESSES)))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if any(codes):
        raise SystemExit(f"bare Python failed: {codes}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def suite_scaling(workdir, py, sizes=(1, 10, 50, 200), label="~1 us (list comp)"):
    """A suite of n copies of one body, memreg at its default --jobs (one process
    per CPU) with its cache warm and cold, against bare Python running the same
    processes as many at a time. Rounds interleaved; fewer for the large suites."""
    jobs = os.cpu_count() or 1
    setup, body = TIMED[label]
    script = bare_script(setup, body, workdir)
    rows = [f"| scenarios | processes | rounds | bare Python (wall / CPU) | memreg, cache warm (wall / CPU) "
            "| warm: memreg / bare, wall | warm: memreg / bare, CPU (rounds) | memreg, cache cold (wall / CPU) "
            "| cold: memreg / bare, CPU |",
            "|---|---|---|---|---|---|---|---|---|"]
    for n in sizes:
        scen = workdir / f"suite-{n}.yaml"
        write_scenarios(scen, {f"s{i}": (setup, body) for i in range(n)})
        cmd = [str(MEMREG), "run", str(scen), "--python", str(py), "--baselines", str(workdir / "none")]
        rounds = 3 if n <= 50 else 1
        subprocess.run(cmd, stdout=subprocess.DEVNULL, env=memreg_env(workdir), check=True)  # warm
        bare, warm, cold = [], [], []
        for _ in range(rounds):
            bare.append(bare_suite(script, py, n, jobs))
            warm.append(timed(cmd, env=memreg_env(workdir)))
            cold.append(timed(cmd, env=memreg_env(workdir, cold=True)))
        subprocess.run(cmd, stdout=subprocess.DEVNULL, env=memreg_env(workdir), check=True)  # warm again
        med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
        rc = [w[1] / b[1] for b, w in zip(bare, warm)]
        rows.append(
            f"| {n} | {n * PROCESSES} | {rounds} | {med(bare, 0):.2f} s / {med(bare, 1):.2f} s "
            f"| {med(warm, 0):.2f} s / {med(warm, 1):.2f} s | {med(warm, 0) / med(bare, 0):.2f}x "
            f"| {med(warm, 1) / med(bare, 1):.2f}x ({min(rc):.2f}-{max(rc):.2f}) "
            f"| {med(cold, 0):.2f} s / {med(cold, 1):.2f} s | {med(cold, 1) / med(bare, 1):.2f}x |"
        )
        print(f"  suite of {n}", file=sys.stderr)
    return "\n".join(rows)


def speed_parts(py, workdir, memray, rounds):
    """Part 3: memreg against bare Python in the system interpreter and a clean venv."""
    interps = interpreters()
    clean = list(interps.values())[1]
    print("time to verdict ...", file=sys.stderr)
    t = timing(py, workdir, rounds=rounds, interps=interps, memray=memray)
    print("instructions ...", file=sys.stderr)
    i = instructions(workdir, interps)
    print("failing scenario ...", file=sys.stderr)
    f = failing_cost(workdir)
    print("suite scaling ...", file=sys.stderr)
    sc = suite_scaling(workdir, clean)
    return [
        "",
        f"## Time to verdict ({PROCESSES} processes x {WARMUP}+{ITERATIONS} iterations; bare and memreg "
        f"--jobs 1: median of at least {rounds} interleaved rounds, more where they fit in {ROW_SECONDS} s (up to "
        f"{MAX_ROUNDS}), wall-clock and CPU time (user + system of all processes)"
        + ("; pytest-memray: the same total iterations in one `limit_leaks` test, timed once" if memray else "")
        + "; memreg's compile-check cache warm)\n",
        t,
        "",
        "## Instructions (valgrind callgrind, user space, every process; deterministic; cache warm)\n",
        i,
        "",
        "## A failing scenario: detection, confirmation and attribution (system interpreter)\n",
        f,
        "",
        f"## Suite scaling (copies of the ~1 us body, clean venv, memreg at its default --jobs {os.cpu_count()}, "
        "bare Python as many processes at a time; cold: the cache emptied before each run)\n",
        sc,
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--only-bridge", action="store_true", help="only the pytest-bridge row")
    ap.add_argument("--only-speed", action="store_true",
                    help="only part 3: time, instructions, failing scenario, suite scaling (no pytest-memray)")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds of the time-to-verdict table")
    args = ap.parse_args()
    if not MEMREG.exists():
        sys.exit(f"build first: cargo build --release ({MEMREG} missing)")
    py = None if args.only_speed else ensure_venv()  # part 3 needs no pytest
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.only_bridge:
            print(BRIDGE_TITLE + "\n" + bridge_time(py, workdir))
            return
        if args.only_speed:
            parts = speed_parts(py, workdir, memray=False, rounds=args.rounds)
            text = "\n".join(parts) + "\n"
            print(text)
            if args.out:
                args.out.write_text(text)
            return
        print("detection and false alarms ...", file=sys.stderr)
        table, summary = detection(args.reps, py, workdir)
        parts = [
            f"## Detection and false alarms ({args.reps} repetitions, defaults: "
            f"{ITERATIONS} iterations, {WARMUP} warm-up, {PROCESSES} processes)\n",
            table,
            "",
            summary,
        ]
        if not args.skip_timing:
            parts += speed_parts(py, workdir, memray=True, rounds=args.rounds)
            parts += ["", BRIDGE_TITLE, bridge_time(py, workdir)]
    text = "\n".join(parts) + "\n"
    print(text)
    if args.out:
        args.out.write_text(
            f"# memreg benchmark results\n\nMade by `python3 bench/bench.py --out {args.out}` "
            f"on {os.uname().machine}, Python {sys.version.split()[0]}.\n\n" + text
        )


if __name__ == "__main__":
    main()
