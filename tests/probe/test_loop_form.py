"""The body's loop form (src/probe/py/check.py loop_form, body.py loop_times): the
check compiles a scenario's body inside `for __memreg_chunk__ in __memreg_chunk__:`
so that a chunk of iterations is one exec, and the loop must change nothing a user
sees: the iterations run, the lines and columns tracebacks show, what is left in the
namespace.

    python3 -m unittest discover -s tests/probe -v
"""

import os
import sys
import traceback
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe_parts  # noqa: E402

probe = probe_parts.load("body", "check")


def part(code, first_line=10, filename="<loop-form-test>"):
    return {"code": code, "filename": filename, "first_line": first_line, "shown": "s.yaml"}


def where(code, ns):
    """(line, column, end column) of the innermost frame of what `code` raises."""
    try:
        exec(code, ns)
    except Exception as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        return frame.lineno, getattr(frame, "colno", None), getattr(frame, "end_colno", None)
    raise AssertionError("no exception")


class LoopForm(unittest.TestCase):
    def test_the_loop_runs_the_body_n_times_and_leaves_nothing(self):
        ns = {"count": 0}
        run_times = probe.loop_times(probe.loop_form(part("count += 1\n")), ns)
        self.assertIsNone(ns[probe.LOOP_NAME])
        for n in (0, 1, 7, 300):
            before = ns["count"]
            run_times(n)
            self.assertEqual(ns["count"] - before, n)
            self.assertIsNone(ns[probe.LOOP_NAME])

    def test_tracebacks_point_at_the_same_line_and_columns(self):
        body = "x = 1\nif x:\n    y = {}['key'] + (\n        2)\n"
        plain = probe.compile_part(part(body))
        loop = probe.loop_form(part(body))
        ns = {probe.LOOP_NAME: iter([None])}
        self.assertEqual(where(loop, ns), where(plain, {}))
        self.assertEqual(where(plain, {})[0], 12)

    def test_what_a_loop_cannot_hold_keeps_one_exec_per_iteration(self):
        for body in ("from __future__ import annotations\nx = 1\n", "# only a comment\n", ""):
            self.assertIsNone(probe.loop_form(part(body)), body)

    def test_a_body_that_defines_and_rebinds_names_sees_the_same_namespace(self):
        body = "def f():\n    return total\ntotal = total + 1\nlast = f()\n"
        ns_plain, ns_loop = {"total": 0}, {"total": 0}
        plain = probe.compile_part(part(body))
        for _ in range(5):
            exec(plain, ns_plain)
        probe.loop_times(probe.loop_form(part(body)), ns_loop)(5)
        for ns in (ns_plain, ns_loop):
            ns.pop("__builtins__", None)
        ns_loop.pop(probe.LOOP_NAME)
        self.assertEqual(ns_plain.keys(), ns_loop.keys())
        self.assertEqual((ns_plain["total"], ns_plain["last"]), (ns_loop["total"], ns_loop["last"]))


if __name__ == "__main__":
    unittest.main()
