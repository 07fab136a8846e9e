# memreg probe, body: a scenario's setup, run and teardown as the zero-argument calls
# the measuring and attribution loops make, whatever the scenario is: Python code
# (exec), code with top-level await (on the process's one event loop: async_body),
# or a pytest test (pytest_bridge). Loaded by measure and attribute; the other two
# parts are loaded only by the scenarios that need them.

CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect


def _nothing():
    pass


# The name the body's loop form iterates over and binds (check.py's loop_form).
LOOP_NAME = "__memreg_chunk__"


def scenario_calls(config, ns, notes):
    """(setup, run, teardown, close, run_times) for the scenario in `config`. setup
    and teardown are None when there is nothing to do; teardown also ends what the
    body started (the event loop, the pytest session), so its errors are teardown's;
    close() ends it quietly after an error, and may be called at any time;
    run_times(n) runs the body n times."""
    try:
        # The C type functools.partial is, without importing functools: it imports
        # collections, operator, reprlib and types (~10 M instructions, a third of
        # an interpreter's own start; docs/measuring.md §11).
        from _functools import partial
    except ImportError:
        from functools import partial

    if config.get("pytest"):
        need("pytest_bridge")
        body = PytestBody(config["pytest"], notes)
        return body.setup, body.run, body.teardown, body.close, calls_times(body.run)
    # Compiled by the check process when it could (core.scenario_code).
    code = scenario_code(config, ("setup", "run", "teardown"))
    codes = [code["setup"], code["run"], code["teardown"]]
    if not any(c is not None and c.co_flags & CO_COROUTINE for c in codes):
        setup, run, teardown = [None if c is None else partial(exec, c, ns) for c in codes]
        loop = code.get("run_loop")
        times = calls_times(run) if loop is None else loop_times(loop, ns)
        return setup, run, teardown, _nothing, times
    need("async_body")
    loop = EventLoop()

    def call(code):
        if code is None:
            return None
        if code.co_flags & CO_COROUTINE:
            return partial(loop.run, code, ns)
        return partial(exec, code, ns)

    setup, run, user_teardown = call(codes[0]), call(codes[1]), call(codes[2])

    def teardown():
        try:
            if user_teardown is not None:
                user_teardown()
        finally:
            loop.close()

    def close():
        try:
            loop.close()
        except BaseException:
            pass

    return setup, run, teardown, close, calls_times(run)


def calls_times(run):
    """run_times(n) as n calls of `run`."""

    def run_times(n):
        for _ in range(n):
            run()

    return run_times


def loop_times(loop, ns):
    """run_times(n) as one exec of the body's loop form, the body inside `for
    __memreg_chunk__ in __memreg_chunk__:` (compiled by the check): a chunk of
    iterations runs as a script's loop does, without an exec and a frame per
    iteration (~0.3 us each, a third of a ~1 us body). The name is bound before any
    reading and holds None between chunks (the loop rebinds it to the range's
    numbers): nothing of it outlives a chunk. A range, not itertools.repeat:
    importing itertools costs ~0.5 M instructions, a few hundred iterations of such
    a body."""
    ns[LOOP_NAME] = None

    def run_times(n):
        ns[LOOP_NAME] = range(n)
        exec(loop, ns)
        ns[LOOP_NAME] = None

    return run_times
