# memreg probe, async_body: the one asyncio event loop of a process whose scenario
# uses top-level `await` in `setup`, `run` or `teardown`. Loaded by body.py only
# then: code without await/async never imports asyncio.
#
# core.compile_part compiles code that mentions await/async with
# PyCF_ALLOW_TOP_LEVEL_AWAIT (3.8+), which accepts `await`, `async for`, `async with`
# and async comprehensions at module level. If the code uses one, the code object
# has CO_COROUTINE set and eval(code, namespace) returns a coroutine instead of
# running it; the loop runs it to completion. Code that only *defines* `async def`
# functions has no CO_COROUTINE and runs with exec() like any other code.
#
# Zero growth per iteration: run_until_complete() wraps the coroutine in a Task each
# call; the Task, its done-callback and the loop's ready-queue entries are released
# when it completes (asyncio keeps tasks only in a WeakSet), so a clean body such as
# `await asyncio.sleep(0)` reads exactly 0 on every counter (tests/cli/asyncio.rs).
# The loop is created before setup and set as the thread's current loop, so setup
# code (plain or async) can create clients bound to it and `run` can use them on
# every iteration.


class EventLoop:
    """One asyncio event loop for the whole process."""

    def __init__(self):
        import asyncio

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self._run = self.loop.run_until_complete

    def run(self, code, namespace):
        """Run a code object compiled with top-level await, to completion."""
        return self._run(eval(code, namespace))

    def close(self):
        """Finish async generators and the default executor, then close the loop
        (what asyncio.run() does after its main coroutine)."""
        import asyncio

        loop = self.loop
        if loop.is_closed():
            return
        try:
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in tasks:
                t.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            if sys.version_info >= (3, 9):
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
