# memreg probe, core: the entry point every probe process runs, the configuration
# and record it exchanges with memreg, and what the other parts share. Shipped
# inside the memreg binary as several files (src/probe/py/*.py) written to memreg's
# work directory; the `check` process compiles each once and saves its code object
# with marshal, so later processes load code instead of compiling it:
#
#   python -c BOOTSTRAP WORKDIR measure|attribute|check|expand CONFIG RECORD_FD TOKEN
#
# CONFIG is a file of Python marshal data that memreg writes (src/probe/marshal.rs).
# The check process also compiles every scenario's code and saves it with marshal,
# so the measuring processes load code objects instead of compiling (the first
# compile() in a process costs ~9 M instructions: docs/measuring.md §11).
#
# The other parts (counters, measure, attribute, referrers, check, body, async_body,
# pytest_bridge) are loaded into this namespace by `need()` only by the modes that
# use them. All parts are compiled with the file name '<string>', which tracebacks
# and attribution leave out.
#
# Scenario code runs in this process and may replace anything it can reach
# (`gc.collect`, `sys.getallocatedblocks`, `builtins.exec`, `os.replace`), by
# accident (a library that monkeypatches gc) or not. So the probe's own code runs
# with a private copy of the builtins (the bootstrap gives it one), binds every
# module function it measures or reports with below, before any scenario code runs,
# and sends its record over an inherited file descriptor (RECORD_FD) that only it
# knows about, ended by a per-process TOKEN memreg checks: never a path a scenario
# could overwrite.
#
# The measuring loop must not measure itself (docs/measuring.md §1): storage for
# samples is allocated before measuring, no Python object made for a sample outlives
# it, and the probe's own live locals are the same at every read. Sample indices stay
# below 257 so they are CPython's cached small ints, never new blocks.

import sys

# The modules the interpreter started with (site, .pth files, sitecustomize), before
# any of the probe's own imports: a scenario's setup holds memory only for the modules
# it imports that were not there already, so baselines are compared only between
# interpreters that start alike.
_STARTUP_MODULES = sorted(sys.modules)

import builtins
import gc
import marshal
import os
import sys
import time

# Bound before any scenario code runs (see above).
_getallocatedblocks = sys.getallocatedblocks
_collect = gc.collect
_freeze = gc.freeze
_unfreeze = gc.unfreeze
_perf_counter = time.perf_counter
_write = os.write
_close = os.close
_getpid = os.getpid
_PID = os.getpid()
_CWD = os.getcwd()

# Imports are kept to what every run needs: an interpreter start is part of every
# process's cost (traceback is imported only when there is an error to format).

FORMAT = 1
MAX_SAMPLES = 256  # keeps every sample index a cached small int
PARTS = (
    "core", "counters", "measure", "attribute", "referrers", "check", "body", "async_body",
    "pytest_bridge",
)


def part_code(name):
    """The code object of one probe part: saved by the check process, else compiled."""
    workdir = sys.argv[1]
    try:
        with open(os.path.join(workdir, "probe-%s-%s.bin" % (name, sys.implementation.cache_tag)), "rb") as f:
            return marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):
        with open(os.path.join(workdir, "probe", name + ".py"), encoding="utf-8") as f:
            return compile(f.read(), "<string>", "exec")


def need(*names):
    """Load probe parts into this namespace (each once)."""
    for name in names:
        if name not in _loaded:
            _loaded.add(name)
            exec(part_code(name), globals())


_loaded = {"core"}

# Compiled file name -> the name people read (see compile_part).
_SHOWN = {}


def register_part(part):
    """Make tracebacks of a code part show its lines and its file as people read it."""
    filename = part["filename"]
    if filename.startswith("<"):
        # Not a real file: register the source so tracebacks can show the lines.
        import linecache

        lines = ("\n" * (part["first_line"] - 1) + part["code"]).splitlines(True)
        linecache.cache[filename] = (len(part["code"]), None, lines, filename)
    _SHOWN[filename] = part.get("shown", filename)


def compile_part(part):
    """Compile a code part so that tracebacks and SyntaxErrors name the YAML line.

    The file name is absolute, so the source lines are found after the scenario
    changes directory; tracebacks show it as memreg names the file (`shown`)."""
    register_part(part)
    code = part["code"]
    padding = "\n" * (part["first_line"] - 1)
    # Top-level await (run on the process's event loop: body.py) is allowed in code
    # that mentions it; other code compiles exactly as before.
    flags = 0x2000 if "await" in code or "async" in code else 0  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(padding + code, part["filename"], "exec", flags, dont_inherit=True)


_CODE = type(register_part.__code__)


def code_stamp():
    """What compiled code depends on besides its source: the interpreter build and
    the optimisation level (-O, PYTHONOPTIMIZE: asserts and __debug__)."""
    return (sys.version, sys.flags.optimize)


def scenario_code(config, names):
    """The code objects of the scenario's parts `names` (None for a part it lacks):
    those the check process compiled (config["compiled"], a marshal file), when
    this interpreter and optimisation level made them; else compiled here."""
    parts = {n: config.get(n) for n in names}
    compiled = None
    path = config.get("compiled")
    if path:
        try:
            with open(path, "rb") as f:
                saved = marshal.loads(f.read())
            if saved["stamp"] == code_stamp():
                compiled = saved["parts"]
        except (OSError, ValueError, EOFError, TypeError, KeyError, IndexError):
            compiled = None
    out = {}
    for n, part in parts.items():
        if part is None:
            out[n] = None
        elif compiled is not None and type(compiled.get(n)) is _CODE:
            register_part(part)
            out[n] = compiled[n]
        else:
            out[n] = compile_part(part)
    # The body's loop form, when the check made one (check.py's loop_form).
    loop = compiled.get("run_loop") if compiled is not None and "run" in names else None
    out["run_loop"] = loop if type(loop) is _CODE and out.get("run") is compiled.get("run") else None
    return out


def shown(filename):
    """A path as people read it: as memreg named a scenario file, else relative to
    the directory the process started in when inside it."""
    if filename in _SHOWN:
        return _SHOWN[filename]
    try:
        cwd = _CWD + os.sep
        path = os.path.normpath(os.path.join(_CWD, filename))
        return path[len(cwd):] if path.startswith(cwd) else filename
    except (TypeError, ValueError):
        return filename


def user_traceback(exc):
    """The traceback without the probe's own frames (they are all '<string>'), with
    file names as people read them."""
    import traceback

    te = traceback.TracebackException.from_exception(exc)
    frames = []
    for f in te.stack:
        if f.filename == "<string>":
            continue
        f.line  # read the source line by the compiled (absolute) name first
        f.filename = shown(f.filename)
        frames.append(f)
    te.stack = traceback.StackSummary.from_list(frames)
    return "".join(te.format())


class Phase:
    name = "start"


def error_record(exc, phase, memory_limited):
    kind = "exception"
    message = str(exc)
    if isinstance(exc, SystemExit):
        kind = "exit"
        message = "scenario called sys.exit(%r)" % (exc.code,)
    elif isinstance(exc, MemoryError) and memory_limited:
        kind = "memory_limit"
        message = "memory limit exceeded (MemoryError)"
    elif isinstance(exc, KeyboardInterrupt):
        kind = "interrupted"
    elif "pytest_bridge" in _loaded and isinstance(exc, BridgeError):
        # pytest's own words (its failure text) say more than the bridge's frames.
        return bridge_error_record(exc, phase)
    return {
        "phase": phase,
        "kind": kind,
        "type": type(exc).__name__,
        "message": message,
        "traceback": user_traceback(exc),
    }


def python_info():
    # Not the platform module: platform.libc_ver() reads the interpreter binary.
    impl = sys.implementation
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        libc = ""
    return {
        "implementation": impl.name,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "executable": sys.executable,
        "platform": sys.platform,
        "machine": os.uname().machine,
        "build": sys.version.replace("\n", " "),
        "allocator": ", ".join(x for x in (object_allocator(), libc) if x),
        "startup_modules": _STARTUP_MODULES,
    }


def object_allocator():
    """The allocator Python objects come from: PYTHONMALLOC when set (Python refuses
    to start with a value it does not know), else pymalloc, with the debug hooks
    under -X dev and in debug builds. Baselines are only compared under the same one."""
    name = "" if sys.flags.ignore_environment else os.environ.get("PYTHONMALLOC", "")
    debug = sys.flags.dev_mode or hasattr(sys, "gettotalrefcount")
    if name in ("", "default"):
        return "pymalloc_debug" if debug else "pymalloc"
    if name == "debug":
        return "pymalloc_debug"
    return name


def scenario_namespace(config):
    """The scenario's globals: a real module registered in sys.modules, as code in a
    script would have (dataclasses, pickle and typing look their classes' module up
    there), with the scenario's pythonpath first on sys.path."""
    for p in config.get("pythonpath", []):
        sys.path.insert(0, p)
    module = type(sys)("__memreg_scenario__")  # types.ModuleType, without importing types
    module.__builtins__ = builtins
    sys.modules[module.__name__] = module
    return module.__dict__


# The config is marshal data (one C call to read); the record is JSON, written by
# the small encoder below (the json module costs ~7 ms to import without site).


def load_config(path):
    # marshal.loads of the bytes, never marshal.load(file): that reads each string
    # through a memoryview of its own (~2 M instructions for the probe's parts).
    with open(path, "rb") as f:
        return marshal.loads(f.read())


_ESCAPES = {i: "\\u%04x" % i for i in range(32)}
_ESCAPES[ord('"')] = '\\"'
_ESCAPES[ord("\\")] = "\\\\"


class RawJSON(str):
    """Text that is JSON already: a series in hex or as repr() writes a list of
    ints (measure.series_json), one C call where encoding 201 numbers one by one
    costs ~2 M instructions."""


def to_json(o):
    if type(o) is RawJSON:
        return o
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return str(o)
    if isinstance(o, float):
        return repr(o) if o == o and o not in (float("inf"), float("-inf")) else "null"
    if isinstance(o, str):
        return '"' + o.translate(_ESCAPES) + '"'
    if isinstance(o, dict):
        return "{" + ",".join(to_json(str(k)) + ":" + to_json(v) for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in o) + "]"
    raise TypeError("cannot encode %r" % type(o))


def write_record(record):
    """The record, then the token: memreg takes a record without its token at the
    end for incomplete. Only this process writes it: a copy made by os.fork() in
    scenario code that returns into the probe does not."""
    if _getpid() != _PID:
        return
    # "replace": a lone surrogate (from an undecodable file name) must not cost the
    # whole record.
    data = memoryview((to_json(record) + "\n" + _TOKEN + "\n").encode("utf-8", "replace"))
    try:
        while data:
            data = data[_write(_RECORD_FD, data):]
        _close(_RECORD_FD)
    except OSError as e:
        sys.stderr.write("memreg probe: cannot send the record (file descriptor %d): %s;"
                         " did the scenario close it?\n" % (_RECORD_FD, e))
        raise


def main():
    mode, config_path = sys.argv[2:4]
    config = load_config(config_path)
    if mode == "check":
        need("check", "body")  # body: the names the loop form shares with it
        write_record(check(config))
        end_process()
    need("counters")
    Native.path = os.path.join(sys.argv[1], Native.FILE)
    if mode == "expand":
        become_subreaper()  # collecting imports the project's code
        need("pytest_bridge")
        record = {"format": FORMAT, "status": "ok", "notes": []}
        write_record(expand_record(config, record))
        return
    become_subreaper()
    import faulthandler

    faulthandler.enable()  # a segfault prints the Python stack into captured stderr
    record = {
        "format": FORMAT,
        "status": "ok",
        "python": python_info(),
        "notes": [],
        "timing": {},
    }
    # The soft limit on open files was raised by memreg, which every probe inherits
    # (src/child/limits.rs).
    if mode == "attribute":
        need("body", "attribute", "referrers")
        record = attribute(config, record)
    else:
        need("body", "measure")
        record = measure(config, record)
    flush_output()
    write_record(record)
    end_process()


def become_subreaper():
    """Linux: make this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER)
    before any scenario code runs, so that what the scenario starts and leaves
    orphaned is adopted by this process while it lives, not by memreg, and scenarios
    running side by side never adopt each other's processes (src/child/reap.rs).
    memreg used to set it between fork and exec; setting it here lets memreg start
    its processes by posix_spawn. By the native readers, else through _ctypes;
    where both fail, memreg still adopts and kills the orphans, only with less
    certainty about which scenario left them."""
    if not sys.platform.startswith("linux"):
        return
    native = Native.load()
    try:
        if native is not None:
            native.subreaper()
            return
        c = C.load()
        prctl = c.function(c.library(), "prctl", c.int, (c.int, c.size_t, c.size_t, c.size_t, c.size_t))
        prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (ImportError, OSError, AttributeError):
        pass


def flush_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # the scenario's streams; the record matters more
            pass


def end_process():
    """End the process once its record is written, without the interpreter's
    shutdown: clearing every module and a last collection of every object cost
    7-10 M instructions (a fifth of a bare interpreter's run, docs/measuring.md
    §11), and nothing shutdown does matters to memreg once the record is written.
    The scenario's atexit callbacks still run (logging flushes its handlers there)
    and stdout and stderr are flushed; objects still alive are not finalized, as in
    a child of multiprocessing (a file the scenario left open unflushed stays so:
    close it in teardown).

    Threads the scenario left running are never joined: shutdown would wait for
    every one, so a thread leak (a thread blocked forever per iteration) would end
    as a timeout instead of its verdict; their atexit callbacks are skipped too
    (one may wait for them)."""
    if not threads_left_running():
        try:
            import atexit

            atexit._run_exitfuncs()
        except BaseException:  # printed by atexit; the record is written
            pass
    flush_output()
    os._exit(0)


def threads_left_running():
    """Whether a non-daemon thread other than this one is still alive."""
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    me = threading.current_thread()
    return any(t is not me and not t.daemon and t.is_alive() for t in threading.enumerate())


# Run by the bootstrap as __main__; the probe's own tests load these parts into a
# module of their own (tests/probe/).
if __name__ == "__main__":
    # The record channel: kept open until the record is written, but not inherited
    # by programs the scenario starts.
    _RECORD_FD = int(sys.argv[4])
    _TOKEN = sys.argv[5]
    os.set_inheritable(_RECORD_FD, False)
    main()
