"""The probe's resource counters (src/probe/py/counters.py: fd_reader,
thread_reader): exact counts per chunk of iterations, 0 for clean bodies, and reads
that allocate nothing that survives them. Each case runs in a fresh interpreter the
way the measuring loop reads counters: warm the readers, collect, read into
preallocated arrays.

    python3 -m unittest discover -s tests/probe -v   (MEMREG_SHOW=1 prints costs)
"""

import json
import os
import sys
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe_parts  # noqa: E402

DRIVER = r"""
import array, gc, json, os, sys, time
from itertools import repeat
sys.path.insert(0, sys.argv[1])
import probe_parts
probe = probe_parts.load("counters")
cfg = json.loads(sys.argv[2])
probe.Native.path = cfg["native"]
notes = []
read_fds = probe.fd_reader(notes, cfg["force_listing"])
read_threads = probe.thread_reader(notes)
ns = {"__name__": "__memreg_scenario__"}
exec(cfg["setup"], ns)
body = compile(cfg["run"], "run", "exec")
for _ in repeat(None, 10):
    exec(body, ns)
S = cfg["samples"]
k = cfg["chunk"]
fds = array.array("q", bytes(8 * (S + 1)))
thr = array.array("q", bytes(8 * (S + 1)))
blocks = array.array("q", bytes(8 * 2))
tm = array.array("d", [0.0, 0.0])
chunks = [0] + [k] * S
read_fds(); read_threads()
gc.collect()
s = 0
for c in chunks:
    for _ in repeat(None, c):
        exec(body, ns)
    gc.collect()
    fds[s] = read_fds()
    thr[s] = read_threads()
    s += 1
# cost and allocation neutrality of each reader: same live locals at both reads
cost = {}
for name, reader in (("fds", read_fds), ("threads", read_threads)):
    out = array.array("q", bytes(8 * 2000))
    for i in range(2000):
        out[i] = reader()
    gc.collect()
    blocks[0] = sys.getallocatedblocks()
    tm[0] = time.perf_counter()
    for i in range(2000):
        out[i] = reader()
    tm[1] = time.perf_counter()
    gc.collect()
    blocks[1] = sys.getallocatedblocks()
    cost[name] = {"us": (tm[1] - tm[0]) / 2000 * 1e6, "blocks": blocks[1] - blocks[0]}
print("@@" + json.dumps({"fds": fds.tolist(), "threads": thr.tolist(), "notes": notes,
                         "fd_reader": read_fds.__name__, "cost": cost,
                         "native": probe.Native.load() is not None}))
sys.stdout.flush()
os._exit(0)  # threads blocked forever must not hold the exit
"""


# The native readers (src/probe/c/readers.c) as memreg embeds them: written out by
# the Rust test that runs this suite (tests/cli/probe_python.rs), on Linux with glibc.
NATIVE = os.environ.get("MEMREG_READERS") or None


def run_counters(setup, run, samples=10, chunk=5, force_listing=False, native=None):
    cfg = {"setup": textwrap.dedent(setup), "run": textwrap.dedent(run), "samples": samples,
           "chunk": chunk, "force_listing": force_listing, "native": native}
    r = probe_parts.run_driver(DRIVER, json.dumps(cfg))
    if os.environ.get("MEMREG_SHOW"):
        sys.stderr.write("\n    fds %s threads %s cost %s %s" % (
            steps(r["fds"]), steps(r["threads"]),
            {k: "%.2f us, %+d blocks" % (v["us"], v["blocks"]) for k, v in r["cost"].items()}, r["fd_reader"]))
    return r


def steps(series):
    return [b - a for a, b in zip(series, series[1:])]


@unittest.skipUnless(sys.platform.startswith("linux") or sys.platform == "darwin", "no fd listing")
class Counters(unittest.TestCase):
    """The readers through os.fstat and _ctypes (no native readers)."""

    native = None

    def run_counters(self, *args, **kwargs):
        r = run_counters(*args, native=self.native, **kwargs)
        self.assertEqual(r["native"], self.native is not None, r)
        return r

    def check(self, r, fds_per_it, threads_per_it, chunk=5):
        self.assertEqual(steps(r["fds"]), [fds_per_it * chunk] * (len(r["fds"]) - 1), r["fds"])
        self.assertEqual(steps(r["threads"]), [threads_per_it * chunk] * (len(r["threads"]) - 1), r["threads"])
        for name, c in r["cost"].items():
            self.assertEqual(c["blocks"], 0, (name, c))

    def test_file_per_iteration_never_closed(self):
        r = self.run_counters("import os\nfiles = []\n", "files.append(open(os.devnull))\n")
        self.check(r, 1, 0)

    def test_file_per_iteration_by_listing(self):
        # the reader for kernels before 6.2 (and macOS's /dev/fd)
        r = self.run_counters("import os\nfiles = []\n", "files.append(open(os.devnull))\n", force_listing=True)
        self.assertEqual(r["fd_reader"], "by_listing")
        self.check(r, 1, 0)

    def test_raw_fd_per_iteration(self):
        # os.open's int is dropped: no memory grows, only the fd table
        r = self.run_counters("import os\n", "os.open(os.devnull, os.O_RDONLY)\n")
        self.check(r, 1, 0)

    def test_socketpair_per_iteration(self):
        r = self.run_counters("import socket\nsocks = []\n", "socks.append(socket.socketpair())\n")
        self.check(r, 2, 0)

    def test_thread_per_iteration_blocked_forever(self):
        r = self.run_counters(
            "import threading\nev = threading.Event()\n",
            "threading.Thread(target=ev.wait, daemon=True).start()\n",
        )
        self.check(r, 0, 1)

    def test_low_level_thread_blocked_in_c(self):
        # _thread threads are not in threading.active_count()
        r = self.run_counters(
            "import _thread\nlock = _thread.allocate_lock()\nlock.acquire()\n",
            "_thread.start_new_thread(lock.acquire, ())\n",
        )
        self.check(r, 0, 1)

    @unittest.skipUnless(sys.platform.startswith("linux"), "pthread_create through ctypes: Linux")
    def test_c_thread_per_iteration(self):
        # a thread Python never sees: pthread_create(pause) from C
        r = self.run_counters(
            """
            import ctypes
            libc = ctypes.CDLL(None)
            pause = ctypes.cast(libc.pause, ctypes.c_void_p)
            tid = ctypes.c_ulong()
            """,
            "libc.pthread_create(ctypes.byref(tid), None, pause, None)\n",
        )
        self.check(r, 0, 1)

    def test_clean_body_reads_exactly_zero(self):
        r = self.run_counters(
            """
            import os, socket, threading
            def noop():
                pass
            """,
            """
            with open(os.devnull) as f:
                f.read(1)
            fd = os.open(os.devnull, os.O_RDONLY)
            os.close(fd)
            a, b = socket.socketpair()
            a.close()
            b.close()
            t = threading.Thread(target=noop)
            t.start()
            t.join()
            """,
            samples=20,
        )
        self.check(r, 0, 0)


@unittest.skipUnless(NATIVE, "no native readers (MEMREG_READERS: tests/cli/probe_python.rs sets it)")
class CountersNative(Counters):
    """The same cases through the native readers."""

    native = NATIVE


if __name__ == "__main__":
    unittest.main()
