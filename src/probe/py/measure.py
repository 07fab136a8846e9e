# memreg probe, measure mode: run one scenario and sample its counters after every
# chunk of measured iterations. Loaded by core.py's main for `measure`.

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
