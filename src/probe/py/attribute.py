# memreg probe, attribute mode: where does a failing scenario's memory come from,
# and who holds it? Loaded by core.py's main for `attribute`, with `referrers`;
# detection never pays for either. What it calls once scenario code has run is
# bound before, as in measuring (core.py).

from itertools import repeat

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


# Bound before any scenario code runs (core.py).
_getframe, _current_frames = sys._getframe, sys._current_frames
_TRACEBACK_DEPTH = sys.version_info >= (3, 9)  # Traceback.total_nframe


def _probe_depth():
    """The probe's frames under the body its caller calls: the caller's and all
    under it."""
    depth, f = 0, _getframe(1)
    while f is not None:
        depth, f = depth + 1, f.f_back
    return depth


# How tracemalloc is made to cost little (docs/measuring.md §14). It computes the
# line of every frame it keeps at every allocation (77% of perf samples of a traced
# json body), by scanning the code's line table up to the frame's instruction. When a
# body's stack is shallower than `frames`, the frames it keeps include the probe's
# own: long functions, each costing several of a body's frames, and all left out of
# what is reported. So the window keeps only as many frames as the body's deepest
# allocation needs, learnt in the warm-up and checked after the window.


def _warm_up(tracing, body, warmup, n, frames):
    """Runs the warm-up; returns the frames the traced window keeps.

    The warm-up's last `n` iterations (as many as the window: a leak frequent enough
    to show in the window happens in them) run traced with one frame, which still
    records each allocation's whole stack depth (Traceback.total_nframe, Python
    3.9+): the window keeps as many frames as the deepest allocation they left alive
    (a leak's allocations live), at most `frames`. `frames` when that cannot be
    known: no warm-up, Python 3.8, tracing already on, nothing left alive, or another
    thread (its stack has no probe frames under it)."""
    start, stop, is_tracing, snapshot = tracing
    traced = min(warmup, n)
    for _ in repeat(None, warmup - traced):
        body()
    if traced == 0 or is_tracing() or not _TRACEBACK_DEPTH:
        for _ in repeat(None, traced):
            body()
        return frames
    below = _probe_depth()
    threads = len(_current_frames())
    start(1)
    try:
        for _ in repeat(None, traced):
            body()
        alive = snapshot()
    finally:
        stop()
    if threads > 1 or len(_current_frames()) > 1:
        return frames
    deepest = max((t.traceback.total_nframe or 0 for t in alive.traces), default=0) - below
    alive = None
    return min(frames, deepest) if deepest > 0 else frames


def _traced_passes(tracker, tracing, body, n, frames):
    """Two passes of `n` iterations, tracing from the first: (snapshot before,
    snapshot after the second, the probe's frames under the body). Tracing starts
    one pass before the first snapshot, so a block that pass made and the second
    frees or reallocates (a list's buffer, a rolling cache's entries) is a diff, not
    new memory; setup and warm-up are never traced. Two passes, so tracemalloc's
    snapshots are not counted as growing types: the first counts types (`tracker`,
    when given) and keeps one object of each type made in it."""
    start, stop, _, snapshot = tracing
    below = _probe_depth()
    if tracker is not None:
        tracker.start()
    start(frames)
    for _ in repeat(None, n):
        body()
    if tracker is not None:
        tracker.stop()
    before = snapshot()
    for _ in repeat(None, n):
        body()
    _collect()
    after = snapshot()
    stop()
    return before, after, below


def _cut_short(after, diffs, below, frames):
    """Whether a traceback of memory the window kept lost frames of the body's own
    (an allocation deeper than the warm-up showed) that `frames` would have kept.
    The depth is on each trace (a traceback compare_to makes has none)."""
    cut = set()
    for t in after.traces:
        tb = t.traceback
        if len(tb) < frames and (tb.total_nframe or 0) - below > len(tb):
            cut.add(tb)
    return any(d.size_diff > 0 and d.traceback in cut for d in diffs)


def attribute(config, record):
    """Where does retained memory come from? tracemalloc snapshots compared by
    traceback, and gc-tracked object counts by type (objgraph's show_growth), over
    `iterations` iterations after setup and warm-up; then who holds one object of
    each growing type (a referrer chain), and uncollectable garbage."""
    import linecache
    import tracemalloc

    tracing = (tracemalloc.start, tracemalloc.stop, tracemalloc.is_tracing, tracemalloc.take_snapshot)
    getline = linecache.getline
    stdlib, third_party = _library_dirs()
    frames = config["frames"]
    n = config["iterations"]
    ns = scenario_namespace(config)
    phase = Phase()
    tracker = Tracker()
    close = None
    noise = (tracemalloc.__file__, linecache.__file__)
    filters = [tracemalloc.Filter(False, f) for f in noise]

    def compare(before, after):
        return after.filter_traces(filters).compare_to(before.filter_traces(filters), "traceback")

    try:
        phase.name = "setup"
        setup, body, _, close, _ = scenario_calls(config, ns, record["notes"])
        if setup is not None:
            setup()
        phase.name = "warmup"
        kept = _warm_up(tracing, body, config["warmup"], n, frames)
        phase.name = "run"
        before, after, below = _traced_passes(tracker, tracing, body, n, kept)
        diffs = compare(before, after)
        if kept < frames and _cut_short(after, diffs, below, frames):
            # Deeper than the warm-up showed: the passes again, keeping `frames`.
            before = after = diffs = None
            before, after, below = _traced_passes(None, tracing, body, n, frames)
            diffs = compare(before, after)
        before = after = None
    except BaseException as e:
        record["status"] = "error"
        record["error"] = error_record(e, phase.name, False)
        if close is not None:
            close()
        return record

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

