# memreg probe, attribute mode: where does a failing scenario's memory come from,
# and who holds it? Loaded by core.py's main for `attribute`, with `referrers`;
# detection never pays for either. What it calls once scenario code has run is
# bound before, as in measuring (core.py).

# pytest's and pluggy's own frames, which run a `pytest:` scenario's test: never the
# allocation site of the project's code, though they live in site-packages.
_RUNNER_DIRS = (os.sep + "_pytest" + os.sep, os.sep + "pluggy" + os.sep)


def _runner(filename):
    return any(d in filename for d in _RUNNER_DIRS)


def _internal(filename):
    """Frames that are memreg's (the probe, the pytest bridge), pytest's or the import
    machinery's, never the user's."""
    return (
        filename == "<string>"
        or filename.startswith("<frozen ")
        or "importlib" in filename
        or _runner(filename)
    )


def _library_dirs():
    """(standard library dirs, third-party dirs): site-packages lives inside the
    standard library's directory but holds code a user may be testing."""
    import sysconfig

    paths = sysconfig.get_paths()
    norm = lambda k: os.path.normcase(os.path.realpath(paths[k])) + os.sep  # noqa: E731
    std = tuple(norm(k) for k in ("stdlib", "platstdlib") if k in paths)
    third = tuple(norm(k) for k in ("purelib", "platlib") if k in paths)
    return std, third


def attribute(config, record):
    """Where does retained memory come from? tracemalloc snapshots compared by
    traceback, and gc-tracked object counts by type (objgraph's show_growth), over
    `iterations` iterations after setup and warm-up; then who holds one object of
    each growing type (a referrer chain), and uncollectable garbage."""
    import linecache
    import tracemalloc

    snapshot, stop, getline = tracemalloc.take_snapshot, tracemalloc.stop, linecache.getline
    stdlib, third_party = _library_dirs()
    frames = config["frames"]
    n = config["iterations"]
    ns = scenario_namespace(config)
    phase = Phase()
    tracker = Tracker()
    close = None
    try:
        phase.name = "setup"
        setup, body, _, close = scenario_calls(config, ns, record["notes"])
        tracemalloc.start(frames)
        if setup is not None:
            setup()
        phase.name = "warmup"
        for _ in repeat(None, config["warmup"]):
            body()
        phase.name = "run"
        # Two passes, so tracemalloc's snapshots are not counted as growing types.
        # The first counts types and keeps one object of each type made in it.
        tracker.start()
        for _ in repeat(None, n):
            body()
        tracker.stop()
        before = snapshot()
        for _ in repeat(None, n):
            body()
        _collect()
        after = snapshot()
        stop()
    except BaseException as e:
        record["status"] = "error"
        record["error"] = error_record(e, phase.name, False)
        if close is not None:
            close()
        return record

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
        if not user and any(_runner(f.filename) for f in d.traceback):
            continue  # pytest's own, through the standard library: not the project's
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
                "file": shown(filename),
                "line": lineno,
                "user_code": e["user"],
                "bytes_per_iteration": e["size"] / n,
                "blocks_per_iteration": e["count"] / n,
                "traceback": [
                    {
                        "file": shown(f.filename),
                        "line": f.lineno,
                        "source": getline(f.filename, f.lineno).strip(),
                    }
                    for f in e["frames"][-config["frames"] :]
                ],
            }
        )
    grown = tracker.growing_types(n, config["top"])
    # After tracing stopped: the search allocates, and tracing would slow it.
    chains = config["chains"]
    tracker.explain(grown, chains["budget_s"], chains["max_depth"], chains["total_s"])
    record["attribution"] = {
        "iterations": n,
        "frames": frames,
        "traced_bytes_per_iteration": traced / n,
        "sites": sites,
        "types": grown,
        "uncollectable": tracker.uncollectable(n),
        "atexit_per_iteration": tracker.atexit_growth(n),
    }
    close()  # the event loop or pytest session, once the holders are found
    return record

