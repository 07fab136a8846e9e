"""memreg's probe parts (src/probe/py/) loaded into a module of their own, the way
the probe's core loads them into its namespace (compiled as '<string>', which
tracebacks and attribution leave out), so tests call the probe's own functions."""

import os
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
