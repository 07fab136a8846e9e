# memreg probe, body: a scenario's setup, run and teardown as the zero-argument calls
# the measuring and attribution loops make, whatever the scenario is: Python code
# (exec), code with top-level await (on the process's one event loop: async_body),
# or a pytest test (pytest_bridge). Loaded by measure and attribute; the other two
# parts are loaded only by the scenarios that need them.

CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect


def _nothing():
    pass


def scenario_calls(config, ns, notes):
    """(setup, run, teardown, close) for the scenario in `config`. setup and
    teardown are None when there is nothing to do; teardown also ends what the body
    started (the event loop, the pytest session), so its errors are teardown's;
    close() ends it quietly after an error, and may be called at any time."""
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
        return body.setup, body.run, body.teardown, body.close
    # Compiled by the check process when it could (core.scenario_code).
    code = scenario_code(config, ("setup", "run", "teardown"))
    codes = [code["setup"], code["run"], code["teardown"]]
    if not any(c is not None and c.co_flags & CO_COROUTINE for c in codes):
        setup, run, teardown = [None if c is None else partial(exec, c, ns) for c in codes]
        return setup, run, teardown, _nothing
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

    return setup, run, teardown, close
