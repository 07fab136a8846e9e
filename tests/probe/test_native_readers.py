"""The probe's native readers (src/probe/c/readers.c, loaded by counters.py's
Native): each reads what the _ctypes or os.fstat reader it replaces reads, raises
OSError for a bad descriptor, and allocates nothing that survives a call. Each case
runs in a fresh interpreter.

    MEMREG_READERS=<the module> python3 -m unittest discover -s tests/probe -v
    (tests/cli/probe_python.rs writes the module memreg embeds and sets it)
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe_parts  # noqa: E402
NATIVE = os.environ.get("MEMREG_READERS") or None

DRIVER = r"""
import gc, json, os, sys, _thread
sys.path.insert(0, sys.argv[1])
import probe_parts
fallback = probe_parts.load("counters")  # no path: _ctypes and os.fstat
probe = probe_parts.load("counters")
probe.Native.path = sys.argv[2]
native = probe.Native.load()
out = {"loaded": native is not None, "in_sys_modules": "_memreg_readers" in sys.modules}
# A work directory without the module, or with a file that is not one: the readers
# go through _ctypes, and nothing is raised.
for case, path in (("missing", "/nonexistent/_memreg_readers.so"), ("not_a_module", sys.argv[3])):
    other = probe_parts.load("counters")
    other.Native.path = path
    out[case] = [other.Native.load() is None, other.native_heap_reader([]) is not None]
notes = []
slow_heap = fallback.native_heap_reader(notes)
slow_rss = fallback.rss_reader(notes)
fast_heap = probe.native_heap_reader(notes)
fast_rss = probe.rss_reader(notes)
out["heap_is_native"] = fast_heap is native.heap
# The same quantity read back to back, each side between two reads of the other.
pairs = {}
for name, slow, fast in (("heap", slow_heap, fast_heap), ("rss", slow_rss, fast_rss)):
    a = slow(); b = fast(); c = slow()
    pairs[name] = [min(a, c), b, max(a, c)]
fd_dir = os.open("/proc/self/fd", os.O_RDONLY)
task_dir = os.open("/proc/self/task", os.O_RDONLY)
pairs["fds"] = [native.size(fd_dir), len(os.listdir("/proc/self/fd")) - 1]
pairs["threads"] = [native.links(task_dir) - 2, fallback._proc_status_threads()]
out["pairs"] = pairs
slow_py = fallback.python_heap_reader(notes)
fast_py = probe.python_heap_reader(notes)
out["python"] = [slow_py(), fast_py()]
out["stats_start"] = native.pymalloc_stats()[:40].decode()
# Errors: a bad descriptor is OSError, a bad argument TypeError.
errors = {}
for name, call in (("size", lambda: native.size(999)), ("links", lambda: native.links(-1)),
                   ("resident", lambda: native.resident(999)), ("type", lambda: native.size("x"))):
    try:
        call()
        errors[name] = None
    except Exception as e:
        errors[name] = type(e).__name__
out["errors"] = errors
# Nothing a call allocates survives it.
statm = os.open("/proc/self/statm", os.O_RDONLY)
calls = {"heap": (native.heap, ()), "size": (native.size, (fd_dir,)), "links": (native.links, (task_dir,)),
         "resident": (native.resident, (statm,))}
import array
from itertools import repeat
blocks = {}
counts = array.array("q", [0, 0])  # no int object is kept between the two counts
for fn, args in calls.values():
    for _ in repeat(None, 100):
        fn(*args)
gc.collect()  # what the cases above left behind is freed before any count
for name, (fn, args) in calls.items():
    gc.collect()
    sys._clear_type_cache()
    counts[0] = sys.getallocatedblocks()
    for _ in repeat(None, 2000):
        fn(*args)
    gc.collect()
    sys._clear_type_cache()
    counts[1] = sys.getallocatedblocks()
    blocks[name] = counts[1] - counts[0]
out["blocks"] = blocks
# subreaper(): prctl(PR_GET_CHILD_SUBREAPER) reads 1 after it.
import ctypes
flag = ctypes.c_int(-1)
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(37, ctypes.byref(flag), 0, 0, 0)
before = flag.value
native.subreaper()
libc.prctl(37, ctypes.byref(flag), 0, 0, 0)
out["subreaper"] = [before, flag.value]
out["notes"] = notes
print("@@" + json.dumps(out))
"""


@unittest.skipUnless(NATIVE, "no native readers (MEMREG_READERS: tests/cli/probe_python.rs sets it)")
class NativeReaders(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = probe_parts.run_driver(DRIVER, NATIVE, os.path.abspath(__file__), timeout=120)

    def test_it_loads_outside_sys_modules(self):
        self.assertTrue(self.r["loaded"])
        self.assertFalse(self.r["in_sys_modules"])  # scenario code does not see it
        self.assertTrue(self.r["heap_is_native"])  # the reader is the C function itself

    def test_without_a_loadable_module_the_readers_use_ctypes(self):
        self.assertEqual(self.r["missing"], [True, True])
        self.assertEqual(self.r["not_a_module"], [True, True])

    def test_heap_and_rss_read_what_ctypes_and_pread_read(self):
        lo, native, hi = self.r["pairs"]["heap"]
        self.assertGreater(native, 0)
        self.assertLessEqual(abs(native - lo), 4096, self.r["pairs"])
        self.assertLessEqual(abs(native - hi), 4096, self.r["pairs"])
        lo, native, hi = self.r["pairs"]["rss"]
        self.assertTrue(lo - 65536 <= native <= hi + 65536, self.r["pairs"])

    def test_fds_and_threads_read_what_the_listings_read(self):
        self.assertEqual(*self.r["pairs"]["fds"])
        self.assertEqual(*self.r["pairs"]["threads"])

    def test_pymalloc_statistics_read_what_stderr_shows(self):
        slow, fast = self.r["python"]
        self.assertGreater(fast, 0)
        self.assertLess(abs(slow - fast), 256 * 1024, self.r["python"])
        self.assertTrue(self.r["stats_start"].startswith("Small block threshold"), self.r["stats_start"])

    def test_bad_arguments_raise(self):
        self.assertEqual(self.r["errors"], {"size": "OSError", "links": "OSError",
                                            "resident": "OSError", "type": "TypeError"})

    def test_calls_allocate_nothing_that_survives(self):
        self.assertEqual(self.r["blocks"], {"heap": 0, "size": 0, "links": 0, "resident": 0})

    def test_subreaper_sets_the_flag(self):
        self.assertEqual(self.r["subreaper"], [0, 1])


if __name__ == "__main__":
    unittest.main()
