# memreg probe, measure mode: run one scenario and sample its counters after every
# chunk of measured iterations. Loaded by core.py's main for `measure`.
#
# The window starts at the user's `iterations` (W), read at S + 1 samples. When a
# gating counter still grows at the end of it (a leak, or a cache still filling), the
# probe looks longer before memreg decides (docs/statistics.md §1): it doubles the
# window, keeping every other sample (exactly the first half of the longer window's
# samples), until no counter grows, or every growing counter has been steady over at
# least CONFIRM_FACTOR x W, or the budget (iterations, time) is spent. The figures
# baselines store are read at the end of W, before any extension.
#
# Nothing the loop or its decisions bind may outlive a sample (docs/measuring.md §1):
# changing numbers live in preallocated buffers, names are bound before the baseline
# sample, and every int a name holds across samples is a cached small int.

CONFIRM_FACTOR = 4  # growth is judged steady or settling over at least 4 x W
# Steady: the rise over the last half of the window is at least 0.4 x (the slope of)
# the quarter before and 0.4 x the eighth before that (docs/statistics.md §1).
STEADY_NUM, STEADY_DEN = 4, 5

STOP_FLAT, STOP_CONFIRMED, STOP_RSS_SLOWING, STOP_ITERATIONS, STOP_TIME = 0, 1, 2, 3, 4
STOPS = ("flat", "confirmed", "rss_slowing", "budget_iterations", "budget_time")


def numbers(kind, values):
    """A preallocated buffer of machine numbers ('q': 64-bit ints, 'd': doubles):
    storing into it keeps no object alive (docs/measuring.md §1). A memoryview of a
    bytearray, not array.array: importing array imports collections.abc, ~7 M
    instructions in a fresh virtualenv (docs/measuring.md §11)."""
    out = memoryview(bytearray(8 * len(values))).cast(kind)
    for i, v in enumerate(values):
        out[i] = v
    return out


def series_json(v):
    """A series for the record: the hex of its values' little-endian 64-bit bytes
    (one C call; memreg reads either form, src/probe/wire.rs), or a list of numbers
    on a big-endian machine."""
    if sys.byteorder == "little":
        return RawJSON('"' + v.tobytes().hex() + '"')
    return RawJSON(repr(v.tolist()))


def zeros(n):
    return memoryview(bytearray(8 * n)).cast("q")


def measure(config, record):
    # Bound before any scenario code runs, so a setup that replaces them changes
    # nothing here (core.py; the probe's builtins, `exec` included, are its own).
    getblocks = _getallocatedblocks
    collect = _collect
    freeze = _freeze
    # CPython's type attribute cache keeps up to 4096 attribute names alive: code
    # that looks attributes up by names it builds (pytest's hooks, logging, enum,
    # reprlib) fills it a few strings at a time over thousands of iterations. It is
    # emptied at the start and baseline reads, and at every later read whose block
    # count differs from the read before (then read again): a reading is the count
    # with the cache empty unless nothing changed since the last one. A body that
    # builds no names never pays for a clear (~50,000 instructions, and the
    # lookups that refill it) in its ~200 reads (docs/measuring.md §6).
    clear_type_cache = getattr(sys, "_clear_type_cache", None) or _nothing
    clock = _perf_counter
    t_process = clock()
    notes = record["notes"]
    memory_limited = set_memory_limit(config.get("memory_limit"), notes)
    metrics = config["metrics"]
    ns = scenario_namespace(config)
    phase = Phase()
    close = None
    try:
        phase.name = "setup"
        # Zero-argument calls: code, code with top-level await, or a pytest test (body.py).
        setup, body, teardown, close, run_times = scenario_calls(config, ns, notes)

        read_native = native_heap_reader(notes) if "native" in metrics else None
        read_rss = rss_reader(notes) if "rss" in metrics else None
        read_fds = fd_reader(notes) if "fds" in metrics else None
        read_threads = thread_reader(notes) if "threads" in metrics else None
        tracing = "tracemalloc" in metrics
        # pymalloc's statistics are not readable while tracemalloc hooks the allocator.
        read_python = None if tracing else python_heap_reader(notes)
        read_peak = peak_reader()
        if tracing:
            import tracemalloc

            tracemalloc.start(1)
            get_traced = tracemalloc.get_traced_memory

        # All storage the measuring loop needs, allocated before the start read so
        # that "held" figures count the scenario's memory, not the probe's.

        S = config["chunks"]  # samples per window, less the baseline read; even
        if S > MAX_SAMPLES or S % 2:
            raise ValueError("bad sample count: %d" % S)
        W = config["iterations"]
        confirm = config["confirm"]
        blocks = zeros(S + 1)
        native = zeros(S + 1)
        rss = zeros(S + 1)
        traced = zeros(S + 1)
        fds = zeros(S + 1)
        threads = zeros(S + 1)
        series = [(blocks, "blocks", True)]
        if read_native is not None:
            series.append((native, "native", True))
        if read_rss is not None:
            series.append((rss, "rss", True))
        if tracing:
            series.append((traced, "tracemalloc", True))
        if read_fds is not None:
            series.append((fds, "fds", True))
        if read_threads is not None:
            series.append((threads, "threads", True))
        # The series at the end of the user's window, kept when the window extends.
        kept = [(zeros(S + 1), v, key) for v, key, _ in series]
        # Counters that decide whether to look longer, with their threshold as a
        # fraction num/den per iteration (tolerance in counter units).
        gating = [
            (v, config["thresholds"][key][0], config["thresholds"][key][1], key == "rss")
            for v, key, _ in series
            if key in config["thresholds"]
        ]
        # Changing numbers live in buffers: [window, extensions, stop reason].
        state = numbers("q", (W, 0, STOP_FLAT))
        # [body seconds, measure seconds, seconds at the end of the user's window]
        acc = numbers("d", (0.0, 0.0, 0.0))
        # Figures read at the end of the user's window: [python bytes, peak RSS,
        # tracemalloc peak] (-1: not read).
        at_w = numbers("q", (-1, -1, -1))
        max_window = confirm["max_window"]
        time_budget = confirm["time_s"]
        deadline = confirm["deadline_s"]
        half, q3, q1, e8 = S // 2, 3 * S // 4, S // 4, S // 8

        # What the process holds before the scenario's code runs: "held" figures in
        # baselines are measured from here (python_heap_reader has read once, so its
        # one-off imports and caches are not the scenario's). Freezing first keeps
        # this collection (and the one before measuring) off the interpreter's own
        # ~40k objects.
        freeze()
        clear_type_cache()
        collect()
        record["start"] = {
            "blocks": getblocks(),
            "native": read_native() if read_native is not None else None,
            "python": read_python() if read_python is not None else None,
        }
        t = clock()
        if setup is not None:
            setup()
        record["timing"]["setup_s"] = clock() - t

        phase.name = "warmup"
        t = clock()
        run_times(config["warmup"])
        record["timing"]["warmup_s"] = clock() - t

        phase.name = "run"
        # Every name bound below exists before the baseline sample, holding an object
        # of the same kind, so rebinding it never changes the block count.
        s = i = growing = steady = heap_slowing = 0
        v = g = None
        t0 = 0.0
        # Warm the readers once so their one-off caches (ctypes, int parsing) are
        # filled before the baseline sample.
        for reader in (read_native, read_rss, read_fds, read_threads, read_python, read_peak):
            if reader is not None:
                reader()
        collect()
        freeze()  # setup's objects leave the collector's view: collect() is cheap (docs/measuring.md §2)
        peak_scope = reset_peak()
        t_start = clock()
        while True:
            while s <= S:
                t0 = clock()
                if s:
                    # Chunk s of the window: floor(s*w/S) - floor((s-1)*w/S) iterations.
                    run_times(s * state[0] // S - (s - 1) * state[0] // S)
                acc[0] += clock() - t0
                collect()
                blocks[s] = getblocks()
                if s == 0 or blocks[s] != blocks[s - 1]:
                    clear_type_cache()
                    blocks[s] = getblocks()
                if read_native is not None:
                    native[s] = read_native()
                if read_rss is not None:
                    rss[s] = read_rss()
                if tracing:
                    traced[s] = get_traced()[0]
                if read_fds is not None:
                    fds[s] = read_fds()
                if read_threads is not None:
                    threads[s] = read_threads()
                s += 1
            if state[1] == 0:
                # The end of the user's window: what baselines compare.
                acc[2] = clock() - t_start
                for g in kept:
                    g[0][:] = g[1]
                if read_python is not None:
                    at_w[0] = read_python() or -1  # None under tracemalloc's hooks
                at_w[1] = read_peak() or -1
                if tracing:
                    at_w[2] = get_traced()[1]
            # Look longer? Integer arithmetic on the samples only.
            growing = heap_slowing = 0
            steady = 1
            for g in gating:
                v = g[0]
                if (v[q3] - v[half]) * g[2] > g[1] * (q3 * state[0] // S - half * state[0] // S) and (
                    v[S] - v[q3]
                ) * g[2] > g[1] * (state[0] - q3 * state[0] // S):
                    growing = 1
                    if STEADY_DEN * (v[S] - v[half]) < STEADY_NUM * (v[half] - v[q1]) or STEADY_DEN * (
                        v[S] - v[half]
                    ) < 2 * STEADY_NUM * (v[q1] - v[e8]):
                        steady = 0
                        if not g[3]:
                            heap_slowing = 1
            v = g = None
            if not growing:
                state[2] = STOP_FLAT
                break
            if state[0] >= CONFIRM_FACTOR * W and steady:
                state[2] = STOP_CONFIRMED
                break
            if state[0] >= CONFIRM_FACTOR * W and not heap_slowing:
                state[2] = STOP_RSS_SLOWING  # slowing RSS cannot fail: no need to look on
                break
            if 2 * state[0] > max_window:
                state[2] = STOP_ITERATIONS
                break
            # The next doubling runs as many iterations again: about as long again.
            if 2 * (clock() - t_start) > time_budget or clock() - t_process + (clock() - t_start) > deadline:
                state[2] = STOP_TIME
                break
            for g in series:  # keep every other sample: the first half of window 2w
                v = g[0]
                for i in range(1, half + 1):
                    v[i] = v[2 * i]
            v = g = None
            state[0] *= 2
            state[1] += 1
            s = half + 1
        acc[1] = clock() - t_start
        _unfreeze()

        record["series"] = {key: series_json(v) for v, key, _ in series}
        record["window"] = state[0]
        record["extensions"] = state[1]
        record["stop"] = STOPS[state[2]]
        record["window_s"] = acc[2]
        if state[1]:
            record["user_series"] = {key: series_json(k) for k, _, key in kept}
        if tracing:
            record["tracemalloc_peak"] = at_w[2]
        record["peak_rss"] = at_w[1] if at_w[1] >= 0 else None
        record["peak_scope"] = peak_scope
        record["end"] = {"python": at_w[0] if at_w[0] >= 0 else None}
        record["timing"]["body_s"] = acc[0]
        record["timing"]["measure_s"] = acc[1]

        phase.name = "teardown"
        if teardown is not None:
            teardown()
    except BaseException as e:  # the scenario's fault is a result, not a probe crash
        ns = None
        record["status"] = "error"
        record["error"] = error_record(e, phase.name, memory_limited)
        if close is not None:
            close()  # the event loop or pytest session, quietly
    return record
