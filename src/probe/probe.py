# memreg probe: runs one scenario in this fresh interpreter and writes one JSON
# record to the path given on the command line. Shipped inside the memreg binary,
# written to memreg's work directory as probe.py and started by a bootstrap
# (src/probe/mod.rs, BOOTSTRAP) that loads the code object the `check` process saved
# with marshal, so measuring processes do not compile this file again:
#
#   python -c BOOTSTRAP WORKDIR measure|attribute|check CONFIG.json RECORD.json
#
# The measuring loop must not measure itself (docs/measuring.md §1): storage for
# samples is allocated before measuring, no Python object made for a sample outlives
# it, and the probe's own live locals are the same at every read. Sample indices stay
# below 257 so they are CPython's cached small ints, never new blocks.

import builtins
import gc
import os
import sys
import time
from itertools import repeat

# Imports are kept to what every run needs: an interpreter start is part of every
# process's cost (traceback is imported only when there is an error to format).

FORMAT = 1
MAX_SAMPLES = 256  # keeps every sample index a cached small int


def compile_part(part):
    """Compile a code part so that tracebacks and SyntaxErrors name the YAML line."""
    code = part["code"]
    filename = part["filename"]
    padding = "\n" * (part["first_line"] - 1)
    if filename.startswith("<"):
        # Not a real file: register the source so tracebacks can show the lines.
        import linecache

        lines = (padding + code).splitlines(True)
        linecache.cache[filename] = (len(code), None, lines, filename)
    return compile(padding + code, filename, "exec", dont_inherit=True)


def user_traceback(exc):
    """The traceback without the probe's own frames (they are all '<string>')."""
    import traceback

    te = traceback.TracebackException.from_exception(exc)
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if f.filename != "<string>"]
    )
    return "".join(te.format())


class Phase:
    name = "start"


def error_record(exc, phase, memory_limited):
    kind = "exception"
    message = str(exc)
    if isinstance(exc, SystemExit):
        kind = "exit"
        message = "scenario called sys.exit(%r)" % (exc.code,)
    elif isinstance(exc, MemoryError) and memory_limited:
        kind = "memory_limit"
        message = "memory limit exceeded (MemoryError)"
    elif isinstance(exc, KeyboardInterrupt):
        kind = "interrupted"
    return {
        "phase": phase,
        "kind": kind,
        "type": type(exc).__name__,
        "message": message,
        "traceback": user_traceback(exc),
    }


# ---------------------------------------------------------------- counters


def native_heap_reader(notes):
    """A function returning bytes in use by the C allocator, or None (docs/measuring.md §3).

    glibc: mallinfo2() uordblks + hblkhd (heap in use plus mmapped chunks).
    macOS: malloc_zone_statistics(NULL) size_in_use.
    """
    import ctypes

    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            fn = libc.mallinfo2
        except (OSError, AttributeError):
            notes.append("native heap left out: mallinfo2 not found (not glibc >= 2.33)")
            return None

        class MallInfo2(ctypes.Structure):
            _fields_ = [
                (n, ctypes.c_size_t)
                for n in (
                    "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                    "fsmblks", "uordblks", "fordblks", "keepcost",
                )
            ]

        fn.restype = MallInfo2
        fn.argtypes = []

        def read():
            m = fn()
            return m.uordblks + m.hblkhd

        return read
    if sys.platform == "darwin":
        try:
            libc = ctypes.CDLL("/usr/lib/libSystem.B.dylib")
            fn = libc.malloc_zone_statistics
        except (OSError, AttributeError):
            notes.append("native heap left out: malloc_zone_statistics not found")
            return None

        class MallocStats(ctypes.Structure):
            _fields_ = [
                ("blocks_in_use", ctypes.c_uint),
                ("size_in_use", ctypes.c_size_t),
                ("max_size_in_use", ctypes.c_size_t),
                ("size_allocated", ctypes.c_size_t),
            ]

        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(MallocStats)]
        stats = MallocStats()
        ref = ctypes.byref(stats)

        def read():
            fn(None, ref)
            return stats.size_in_use

        return read
    notes.append("native heap left out: no allocator statistics on %s" % sys.platform)
    return None


def rss_reader(notes):
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        notes.append("rss left out: /proc/self/statm not available on %s" % sys.platform)
        return None
    page = os.sysconf("SC_PAGE_SIZE")

    def read():
        return int(os.pread(fd, 128, 0).split()[1]) * page

    return read


def reset_peak():
    """Reset VmHWM so the peak covers the measured phase only (Linux; docs/measuring.md §4)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return "measured"
    except OSError:
        return "process"


def read_peak():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except Exception:
        return None


def set_memory_limit(limit, notes):
    """Cap the address space at the limit on top of what the interpreter maps now.

    The parent also watches RSS; this cap turns a fast memory bomb into a MemoryError
    before it can take the machine down.
    """
    if not limit or not sys.platform.startswith("linux"):
        return False
    try:
        import resource

        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = vm + limit
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        return True
    except Exception as e:  # pragma: no cover - platform specific
        notes.append("memory limit not enforced in-process: %s" % e)
        return False


# ---------------------------------------------------------------- modes


def check(config):
    """Compile every part of every scenario; report SyntaxErrors with their lines."""
    errors = []
    for part in config["parts"]:
        try:
            compile_part(part)
        except SyntaxError as e:
            errors.append(
                {
                    "scenario": part["scenario"],
                    "part": part["part"],
                    "filename": e.filename or part["filename"],
                    "line": e.lineno or 0,
                    "column": e.offset or 0,
                    "message": e.msg,
                    "text": (e.text or "").rstrip("\n"),
                }
            )
        except (ValueError, TypeError) as e:  # e.g. NUL bytes in source
            errors.append(
                {
                    "scenario": part["scenario"],
                    "part": part["part"],
                    "filename": part["filename"],
                    "line": part["first_line"],
                    "column": 0,
                    "message": str(e),
                    "text": "",
                }
            )
    save_compiled_probe()
    return {"format": FORMAT, "status": "ok", "errors": errors, "python": python_info()}


def save_compiled_probe():
    """Saves this probe's code object for the measuring processes (see BOOTSTRAP)."""
    code = globals().get("__memreg_code__")
    workdir = sys.argv[1]
    tag = sys.implementation.cache_tag
    if code is None or tag is None:
        return
    import marshal

    path = os.path.join(workdir, "probe-%s.bin" % tag)
    tmp = path + ".%d.tmp" % os.getpid()
    with open(tmp, "wb") as f:
        marshal.dump(code, f)
    os.replace(tmp, path)


def python_info():
    # Not the platform module: platform.libc_ver() reads the interpreter binary.
    impl = sys.implementation
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        libc = ""
    return {
        "implementation": impl.name,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "executable": sys.executable,
        "platform": sys.platform,
        "machine": os.uname().machine,
        "build": sys.version.replace("\n", " "),
        "allocator": ", ".join(
            x for x in (os.environ.get("PYTHONMALLOC") or "pymalloc", libc) if x
        ),
    }


def scenario_namespace(config):
    """The scenario's globals: a real module registered in sys.modules, as code in a
    script would have (dataclasses, pickle and typing look their classes' module up
    there), with the scenario's pythonpath first on sys.path."""
    import types

    for p in config.get("pythonpath", []):
        sys.path.insert(0, p)
    module = types.ModuleType("__memreg_scenario__")
    module.__builtins__ = builtins
    sys.modules[module.__name__] = module
    return module.__dict__


def measure(config, record):
    notes = record["notes"]
    memory_limited = set_memory_limit(config.get("memory_limit"), notes)
    metrics = config["metrics"]
    ns = scenario_namespace(config)
    phase = Phase()
    try:
        phase.name = "setup"
        setup = compile_part(config["setup"]) if config.get("setup") else None
        body = compile_part(config["run"])
        teardown = compile_part(config["teardown"]) if config.get("teardown") else None

        read_native = native_heap_reader(notes) if "native" in metrics else None
        read_rss = rss_reader(notes) if "rss" in metrics else None
        tracing = "tracemalloc" in metrics
        if tracing:
            import tracemalloc

            tracemalloc.start(1)
            get_traced = tracemalloc.get_traced_memory

        # What the process holds before the scenario's code runs: "held" figures in
        # baselines are measured from here. Freezing first keeps this collection
        # (and the one before measuring) off the interpreter's own ~40k objects.
        gc.freeze()
        gc.collect()
        record["start"] = {
            "blocks": sys.getallocatedblocks(),
            "native": read_native() if read_native is not None else None,
        }
        t = time.perf_counter()
        if setup is not None:
            exec(setup, ns)
        record["timing"]["setup_s"] = time.perf_counter() - t

        phase.name = "warmup"
        t = time.perf_counter()
        for _ in repeat(None, config["warmup"]):
            exec(body, ns)
        record["timing"]["warmup_s"] = time.perf_counter() - t

        phase.name = "run"
        chunks = [0] + list(config["chunks"])  # chunk 0 takes the baseline sample
        n = len(chunks)
        if n > MAX_SAMPLES + 1:
            raise ValueError("too many samples: %d" % n)
        import array

        zeros = bytes(8 * n)
        blocks = array.array("q", zeros)
        native = array.array("q", zeros)
        rss = array.array("q", zeros)
        traced = array.array("q", zeros)
        acc = array.array("d", [0.0, 0.0])  # [body seconds, measure seconds]
        getblocks = sys.getallocatedblocks
        clock = time.perf_counter
        collect = gc.collect
        # Warm the readers once so their one-off caches (ctypes, int parsing) are
        # filled before the baseline sample.
        for reader in (read_native, read_rss):
            if reader is not None:
                reader()
        collect()
        gc.freeze()  # setup's objects leave the collector's view: collect() is cheap (docs/measuring.md §2)
        peak_scope = reset_peak()
        s = 0
        t0 = clock()
        t_start = clock()
        for k in chunks:
            t0 = clock()
            for _ in repeat(None, k):
                exec(body, ns)
            acc[0] += clock() - t0
            collect()
            blocks[s] = getblocks()
            if read_native is not None:
                native[s] = read_native()
            if read_rss is not None:
                rss[s] = read_rss()
            if tracing:
                traced[s] = get_traced()[0]
            s += 1
        acc[1] = clock() - t_start
        gc.unfreeze()

        series = {"blocks": blocks.tolist()}
        if read_native is not None:
            series["native"] = native.tolist()
        if read_rss is not None:
            series["rss"] = rss.tolist()
        if tracing:
            series["tracemalloc"] = traced.tolist()
            record["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
        record["series"] = series
        record["peak_rss"] = read_peak()
        record["peak_scope"] = peak_scope
        record["timing"]["body_s"] = acc[0]
        record["timing"]["measure_s"] = acc[1]

        phase.name = "teardown"
        if teardown is not None:
            exec(teardown, ns)
    except BaseException as e:  # the scenario's fault is a result, not a probe crash
        ns = None
        record["status"] = "error"
        record["error"] = error_record(e, phase.name, memory_limited)
    return record


# ---------------------------------------------------------------- attribution


def _internal(filename):
    """Frames that are memreg's or the import machinery's, never the user's."""
    return filename == "<string>" or filename.startswith("<frozen ") or "importlib" in filename


def _library_dirs():
    """(standard library dirs, third-party dirs): site-packages lives inside the
    standard library's directory but holds code a user may be testing."""
    import sysconfig

    paths = sysconfig.get_paths()
    norm = lambda k: os.path.normcase(os.path.realpath(paths[k])) + os.sep  # noqa: E731
    std = tuple(norm(k) for k in ("stdlib", "platstdlib") if k in paths)
    third = tuple(norm(k) for k in ("purelib", "platlib") if k in paths)
    return std, third


def _shown(filename):
    """A path as people read it: relative to the working directory when inside it."""
    try:
        cwd = os.getcwd() + os.sep
        path = os.path.abspath(filename)
        return path[len(cwd):] if path.startswith(cwd) else filename
    except (OSError, ValueError):
        return filename


def _type_counts():
    counts = {}
    for o in gc.get_objects():
        t = type(o)
        key = t.__module__ + "." + t.__qualname__ if t.__module__ != "builtins" else t.__qualname__
        counts[key] = counts.get(key, 0) + 1
    return counts


def attribute(config, record):
    """Where does retained memory come from? tracemalloc snapshots compared by
    traceback, and gc-tracked object counts by type (objgraph's show_growth), over
    `iterations` iterations after setup and warm-up."""
    import linecache
    import tracemalloc

    frames = config["frames"]
    n = config["iterations"]
    ns = scenario_namespace(config)
    phase = Phase()
    try:
        phase.name = "setup"
        body = compile_part(config["run"])
        tracemalloc.start(frames)
        if config.get("setup"):
            exec(compile_part(config["setup"]), ns)
        phase.name = "warmup"
        for _ in repeat(None, config["warmup"]):
            exec(body, ns)
        phase.name = "run"
        # Two passes, so tracemalloc's snapshots are not counted as growing types.
        gc.collect()
        before_types = _type_counts()
        for _ in repeat(None, n):
            exec(body, ns)
        gc.collect()
        after_types = _type_counts()
        before = tracemalloc.take_snapshot()
        for _ in repeat(None, n):
            exec(body, ns)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    except BaseException as e:
        record["status"] = "error"
        record["error"] = error_record(e, phase.name, False)
        return record

    stdlib, third_party = _library_dirs()
    noise = (tracemalloc.__file__, linecache.__file__)
    filters = [tracemalloc.Filter(False, f) for f in noise]
    diffs = after.filter_traces(filters).compare_to(before.filter_traces(filters), "traceback")

    def is_user(f):
        path = os.path.normcase(os.path.realpath(f.filename))
        return path.startswith(third_party) or not path.startswith(stdlib)

    # One source line is often reached through several tracebacks: aggregate by the
    # site that kept the memory (the innermost frame in the user's code, else the
    # innermost frame), keeping the biggest traceback as the example.
    by_site = {}
    traced = 0
    for d in diffs:
        traced += d.size_diff
        frames_ = [f for f in d.traceback if not _internal(f.filename)]
        if not frames_:
            continue
        user = [f for f in frames_ if is_user(f)]
        site = (user or frames_)[-1]
        key = (site.filename, site.lineno)
        entry = by_site.setdefault(key, {"size": 0, "count": 0, "best": 0, "frames": frames_, "user": bool(user)})
        entry["size"] += d.size_diff
        entry["count"] += d.count_diff
        if d.size_diff > entry["best"]:
            entry["best"] = d.size_diff
            entry["frames"] = frames_
    sites = []
    ranked = sorted(by_site.items(), key=lambda kv: (-kv[1]["size"], kv[0]))
    for (filename, lineno), e in ranked:
        if e["size"] <= 0 or len(sites) >= config["top"]:
            break
        sites.append(
            {
                "file": _shown(filename),
                "line": lineno,
                "user_code": e["user"],
                "bytes_per_iteration": e["size"] / n,
                "blocks_per_iteration": e["count"] / n,
                "traceback": [
                    {
                        "file": _shown(f.filename),
                        "line": f.lineno,
                        "source": linecache.getline(f.filename, f.lineno).strip(),
                    }
                    for f in e["frames"][-config["frames"] :]
                ],
            }
        )
    grown = []
    for key, count in after_types.items():
        delta = count - before_types.get(key, 0)
        if delta > 1:  # one object more is a one-off, not growth
            grown.append({"type": key, "per_iteration": delta / n, "before": before_types.get(key, 0), "after": count})
    grown.sort(key=lambda g: (-g["per_iteration"], g["type"]))
    record["attribution"] = {
        "iterations": n,
        "frames": frames,
        "traced_bytes_per_iteration": traced / n,
        "sites": sites,
        "types": grown[: config["top"]],
    }
    return record


# Config and record are JSON. The json module costs ~7 ms to import without site
# (the check process runs with -S): memreg's config is serde_json output, which is
# also Python literal syntax once true/false/null are names, and the record is
# written by the small encoder below.


def load_config(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return eval(text, {"__builtins__": {}}, {"true": True, "false": False, "null": None})


_ESCAPES = {i: "\\u%04x" % i for i in range(32)}
_ESCAPES[ord('"')] = '\\"'
_ESCAPES[ord("\\")] = "\\\\"


def to_json(o):
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return str(o)
    if isinstance(o, float):
        return repr(o) if o == o and o not in (float("inf"), float("-inf")) else "null"
    if isinstance(o, str):
        return '"' + o.translate(_ESCAPES) + '"'
    if isinstance(o, dict):
        return "{" + ",".join(to_json(str(k)) + ":" + to_json(v) for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in o) + "]"
    raise TypeError("cannot encode %r" % type(o))


def write_record(path, record):
    tmp = path + ".tmp"
    # errors="replace": a lone surrogate (from an undecodable file name) must not
    # cost the whole record.
    with open(tmp, "w", encoding="utf-8", errors="replace") as f:
        f.write(to_json(record))
    os.replace(tmp, path)  # the parent never sees half a record


def main():
    mode, config_path, record_path = sys.argv[2:5]
    config = load_config(config_path)
    if mode == "check":
        write_record(record_path, check(config))
        return
    import faulthandler

    faulthandler.enable()  # a segfault prints the Python stack into captured stderr
    record = {
        "format": FORMAT,
        "status": "ok",
        "python": python_info(),
        "notes": [],
        "timing": {},
    }
    record = attribute(config, record) if mode == "attribute" else measure(config, record)
    sys.stdout.flush()
    write_record(record_path, record)


main()
