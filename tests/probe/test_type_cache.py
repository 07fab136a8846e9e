"""The measuring loop and CPython's type attribute cache (src/probe/py/measure.py,
docs/measuring.md §6): a body that looks attributes up by names it builds reads
exactly 0 blocks of growth, because the cache is emptied before a reading whose
count changed; a body that builds no names pays for no clear after the baseline.
Each case runs measure() in a fresh interpreter, with sys._clear_type_cache wrapped
to count its calls (or, to show the body does fill the cache, to do nothing).

    python3 -m unittest discover -s tests/probe -v
"""

import json
import os
import sys
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe_parts  # noqa: E402

DRIVER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import probe_parts
probe = probe_parts.load("counters", "body", "measure")
cfg = json.loads(sys.argv[2])
clears = memoryview(bytearray(8)).cast("q")  # counting allocates nothing
real = sys._clear_type_cache
if cfg["clear"]:
    def counting():
        clears[0] += 1
        real()
else:
    def counting():
        clears[0] += 1
sys._clear_type_cache = counting  # measure() looks it up when it starts

def part(name, code):
    return {"code": code, "filename": "<%s>" % name, "first_line": 1, "shown": name}

config = {
    "setup": part("setup", cfg["setup"]),
    "run": part("run", cfg["run"]),
    "teardown": None,
    "warmup": 200,
    "iterations": 2000,
    "chunks": 200,
    "metrics": [],
    "thresholds": {"blocks": [1, 300]},
    # No longer window: the series of the user's window is what is tested.
    "confirm": {"max_window": 2000, "time_s": 60.0, "deadline_s": 60.0},
    "memory_limit": 0,
    "pythonpath": [],
}
record = {"notes": [], "timing": {}}
record = probe.measure(config, record)
if record.get("status") == "error":
    raise SystemExit(record["error"]["traceback"])
blocks = json.loads(record["series"]["blocks"])  # hex of little-endian int64s, or a list
if isinstance(blocks, str):
    blocks = memoryview(bytes.fromhex(blocks)).cast("q").tolist()
print("@@" + json.dumps({"blocks": blocks, "clears": clears[0]}))
"""


def measure(setup, run, clear=True):
    cfg = {"setup": textwrap.dedent(setup), "run": textwrap.dedent(run), "clear": clear}
    return probe_parts.run_driver(DRIVER, json.dumps(cfg))


# A new attribute name per iteration, looked up on a class: CPython caches the
# (missing) attribute under that name, and the cache keeps the string alive. The last
# 500 names are kept for a while, as a program's objects would keep them, so the
# strings are spread over memory (3.10 and later index the cache by the name's
# address: names made and freed at once would reuse a few slots).
BUILT_NAMES = (
    """
    import collections, itertools
    c = itertools.count()
    recent = collections.deque(['attr_%d' % next(c) for _ in range(500)], maxlen=500)
    class C:
        pass
    """,
    "recent.append('attr_%d' % next(c))\ngetattr(C, recent[-1], None)\n",
)


@unittest.skipUnless(hasattr(sys, "_clear_type_cache"), "no type cache to empty")
class TypeCache(unittest.TestCase):
    def test_names_built_per_iteration_read_exactly_zero(self):
        r = measure(*BUILT_NAMES)
        self.assertEqual(len(r["blocks"]), 201)
        self.assertEqual(set(r["blocks"]), {r["blocks"][0]}, r["blocks"])
        self.assertGreater(r["clears"], 2)

    def test_without_emptying_the_cache_the_same_body_grows(self):
        # What the test above guards against: the cached names, read as growth.
        r = measure(*BUILT_NAMES, clear=False)
        self.assertGreater(r["blocks"][-1] - r["blocks"][0], 10, r["blocks"])

    def test_a_body_that_builds_no_names_empties_the_cache_only_at_the_start(self):
        # Once before setup, once at the baseline read: no reading changed after.
        r = measure("", "x = [i for i in range(10)]\n")
        self.assertEqual(set(r["blocks"]), {r["blocks"][0]}, r["blocks"])
        self.assertEqual(r["clears"], 2)


if __name__ == "__main__":
    unittest.main()
