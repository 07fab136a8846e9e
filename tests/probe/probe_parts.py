"""memreg's probe parts (src/probe/py/) loaded into a module of their own, the way
the probe's core loads them into its namespace (compiled as '<string>', which
tracebacks and attribution leave out), so tests call the probe's own functions."""

import json
import os
import subprocess
import sys
import types

PY_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "probe", "py")
)


def load(*parts):
    """A module holding core and `parts` (core's main() does not run: the module is
    not __main__)."""
    module = types.ModuleType("memreg_probe")
    names = ("core",) + parts
    for name in names:
        with open(os.path.join(PY_DIR, name + ".py"), encoding="utf-8") as f:
            exec(compile(f.read(), "<string>", "exec"), module.__dict__)
    module._loaded.update(names)
    return module


HERE = os.path.dirname(os.path.abspath(__file__))


def run_driver(code, *args, timeout=300):
    """Runs `code` in a fresh interpreter (`sys.argv[1]`: this folder, then `args`)
    and returns what it printed as JSON after "@@"; fails with its output when it
    printed none."""
    p = subprocess.run([sys.executable, "-c", code, HERE] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0 or "@@" not in out:
        raise AssertionError("driver failed (%d):\n%s\n%s" % (p.returncode, out, p.stderr.decode()))
    return json.loads(out.split("@@", 1)[1])
