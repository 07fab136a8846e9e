"""The probe's `attribute` part (src/probe/py/attribute.py): how many frames the
traced window keeps, learnt from the warm-up, and the check that sends the passes
again with every frame when an allocation was deeper. Standard library only:

    python3 -m unittest discover -s tests/probe -v
"""

import os
import sys
import threading
import tracemalloc
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import probe_parts  # noqa: E402

probe = probe_parts.load("body", "attribute", "referrers")
TRACING = (tracemalloc.start, tracemalloc.stop, tracemalloc.is_tracing, tracemalloc.take_snapshot)
HAS_DEPTH = sys.version_info >= (3, 9)


class Body:
    """A body that keeps one object per call, allocated `depth` frames below the
    probe's call (1: in the body's own frame)."""

    def __init__(self, depth, every=1):
        self.depth, self.every, self.calls, self.kept = depth, every, 0, []

    def __call__(self):
        self.calls += 1
        if self.calls % self.every:
            return
        if self.depth == 1:
            self.kept.append(object())
        else:
            self._down(self.depth - 2)

    def _down(self, n):
        if n:
            return self._down(n - 1)
        self.kept.append(object())


def nothing():
    pass


@unittest.skipUnless(HAS_DEPTH, "Traceback.total_nframe is Python 3.9+")
class WarmUp(unittest.TestCase):
    def tearDown(self):
        self.assertFalse(tracemalloc.is_tracing())

    def test_the_window_keeps_the_deepest_allocation_the_warm_up_left_alive(self):
        for depth in (1, 3, 6):
            body = Body(depth)
            self.assertEqual(probe._warm_up(TRACING, body, 50, 20, 10), depth)
            self.assertEqual(body.calls, 50, "the whole warm-up ran")

    def test_never_more_than_the_frames_asked_for(self):
        self.assertEqual(probe._warm_up(TRACING, Body(6), 50, 20, 4), 4)

    def test_the_frames_asked_for_when_the_depth_cannot_be_known(self):
        # No warm-up; nothing the warm-up made is alive.
        body = Body(2)
        self.assertEqual(probe._warm_up(TRACING, body, 0, 20, 10), 10)
        self.assertEqual(body.calls, 0)
        self.assertEqual(probe._warm_up(TRACING, nothing, 50, 20, 10), 10)
        # Only the warm-up's last `n` iterations are traced: a leak before them is
        # not seen.
        self.assertEqual(probe._warm_up(TRACING, Body(3, every=40), 50, 10, 10), 10)
        self.assertEqual(probe._warm_up(TRACING, Body(3, every=40), 50, 20, 10), 3)

    def test_the_frames_asked_for_when_tracing_is_already_on(self):
        tracemalloc.start(5)
        try:
            self.assertEqual(probe._warm_up(TRACING, Body(2), 50, 20, 10), 10)
            self.assertTrue(tracemalloc.is_tracing(), "the user's tracing is left on")
        finally:
            tracemalloc.stop()

    def test_the_frames_asked_for_when_another_thread_runs(self):
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        try:
            self.assertEqual(probe._warm_up(TRACING, Body(2), 50, 20, 10), 10)
        finally:
            stop.set()
            t.join()


@unittest.skipUnless(HAS_DEPTH, "Traceback.total_nframe is Python 3.9+")
class CutShort(unittest.TestCase):
    def passes(self, body, kept):
        before, after, below = probe._traced_passes(None, TRACING, body, 20, kept)
        # As attribute() compares them: tracemalloc's own snapshots left out.
        noise = [tracemalloc.Filter(False, tracemalloc.__file__)]
        diffs = after.filter_traces(noise).compare_to(before.filter_traces(noise), "traceback")
        return probe._cut_short(after, diffs, below, 10)

    def test_an_allocation_deeper_than_the_frames_kept_is_cut_short(self):
        self.assertTrue(self.passes(Body(4), 2))
        self.assertTrue(self.passes(Body(4), 3))

    def test_an_allocation_within_the_frames_kept_is_not(self):
        self.assertFalse(self.passes(Body(4), 4))
        self.assertFalse(self.passes(Body(1), 1))
        # Kept as deep as asked for: nothing more to see.
        self.assertFalse(self.passes(Body(12), 10))


if __name__ == "__main__":
    unittest.main()
