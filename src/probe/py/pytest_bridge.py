# memreg probe, pytest_bridge: an existing pytest test as a memreg body. Loaded with
# need() by the modes that use it (expand, and measure/attribute of a `pytest:`
# scenario); pytest is imported only when a function or class here is used.
# Works with CPython 3.8+ and pytest 7.x, 8.x and 9.x.
#
#   expand(args, invocation_dir=None, workdir=None) -> [dict]
#       collect a selection (["tests/", "-m", "memleak"]) without running it: per
#       test nodeid, selector, name, file, line, memreg (marker keyword arguments)
#   Bridge(nodeid, invocation_dir=None, args=(), workdir=None)
#       collect exactly one test; .run() runs ONE iteration (setup, call, teardown
#       as pytest would), .close() tears the session down (fixtures of every scope);
#       .nodeid, .description (expand()'s dict), .settings (memreg marker kwargs or
#       None), .notes (what memreg changed or pytest warned about while starting)
#   errors: BridgeError > PytestMissing, SelectionError, CollectionError,
#       NoTestsError, TestFailed (.when, .text: pytest's failure text),
#       TestSkipped (.reason, .xfail); str(e) is pytest's own message
#   expand_record(config), pytest_calls(config, notes): what the probe's modes use
#       (at the end of this file)
#
# THE BRIDGE KEEPS NO MEMORY. Iteration N's reports, captured output, log records,
# warnings, tmp_path directory, fixture values and finalizers are gone by iteration
# N+1, so a clean test reads exactly zero growth on sys.getallocatedblocks() and on
# the C heap, like a `pass` body. The choices that make this true, and the pytest
# internals they rest on, are listed here; each is also commented where it is made.
#
# 1. Configuration and collection mirror pytest.main() -> wrap_session() -> _main():
#    _pytest.config._prepareconfig(args, plugins) (the same in 7.0-9.x; 9.x adds a
#    keyword-only `prog`), Session.from_config(config), config._do_configure(),
#    hook.pytest_sessionstart, hook.pytest_collection (which calls
#    session.perform_collect(), pytest_collection_modifyitems for -k/-m and the
#    project's conftest hooks). So conftest.py files, markers, ini settings
#    (pytest.ini, pyproject.toml, tox.ini, setup.cfg), addopts and plugins apply.
#    Collection errors are gathered by our own pytest_collectreport hook (pytest's
#    longrepr text). PYTEST_VERSION is set as pytest.main() does (8.2+).
# 2. One iteration is the hook call item.ihook.pytest_runtest_protocol(item=...,
#    nextitem=...), so every *wrapper* of that hook still applies (assertion
#    rewriting's comparison explanations, faulthandler, unittest), but the innermost
#    implementation is ours (tryfirst, returns True, so _pytest.runner's default never
#    runs): it calls _pytest.runner.runtestprotocol(item, log=False, nextitem=...).
#    log=False means pytest_runtest_logreport is never called: no terminal reporter
#    stats, junitxml, cacheprovider lastfailed, stepwise or third-party plugin ever
#    sees a report, so none can keep one. The reports come back to us, are judged
#    (failed -> TestFailed, skipped/xfailed -> TestSkipped) and dropped.
#    pytest_runtest_logstart/logfinish are not called either (only the terminal and
#    the live-log handler use them).
# 3. nextitem: teardown runs SetupState.teardown_exact(nextitem), which keeps every
#    node that nextitem.listchain() shares. Passing the item itself would keep the
#    item's own function-scoped fixtures alive (nothing torn down); passing None
#    would tear down module/class/session fixtures. We pass a stand-in (_Successor)
#    whose listchain() is the item's parents only, and which forwards every other
#    attribute to the item: "the same test runs next". Function-scoped fixtures are
#    torn down every iteration; higher scopes are set up once and kept until close().
#    runtestprotocol itself re-creates item._request/funcargs when an item is re-run
#    (item._initrequest(), the path pytest-rerunfailures uses) and drops them after.
# 4. Warnings: pytest's warnings plugin reports every warning through
#    pytest_warning_recorded.call_historic(), and pluggy keeps every historic call
#    forever (plus the terminal reporter's stats["warnings"]): a test that warns
#    would grow by one record per iteration. The plugin is disabled (-p no:warnings)
#    and its runtest wrapper is reproduced here without the hook: the same filters
#    in the same order (always DeprecationWarning/PendingDeprecationWarning unless
#    -W/PYTHONWARNINGS is given, the ini `filterwarnings`, -W options, the item's
#    filterwarnings marks), parsed once, applied inside warnings.catch_warnings(
#    record=True) per iteration; the recorded list is dropped. A filter "error"
#    still turns a warning into a failure. (The filterwarnings ini key, -W and the
#    marker are declared by _pytest.main, so they stay valid; we register the marker
#    line the plugin would.)
# 5. Per-item lists pytest never clears because an item normally runs once:
#    item._report_sections (captured stdout/stderr/log of each phase, appended by the
#    capture and logging plugins when non-empty), item.user_properties
#    (record_property), item.own_markers / item.keywords (request.applymarker,
#    node.add_marker). They are restored to their collected state after each
#    iteration (same list objects, so no reallocation).
# 6. Finalizers registered on what outlives an iteration. Every time a fixture is
#    *executed* (not served from cache), FixtureDef.execute() adds partial(self.finish)
#    to each fixture it depends on, whatever their scope: a function-scoped fixture
#    on a session-scoped one (tmp_path on tmp_path_factory; pytest-asyncio 1.x's loop
#    fixture on _asyncio_loop_factory, requested dynamically) adds one partial,
#    holding its SubRequest and TopRequest, to the session fixture per iteration. On
#    pytest < 8.2 (pytest#12135) this happens even when the fixture is cached, and
#    7.x's _schedule_finalizers also adds one to the SetupState entry of the scope's
#    node (module, session) per request. In a normal run that is one entry per test;
#    repeated, it is a leak. After the first iteration we record the lengths of the
#    finalizer lists that outlive an iteration (the SetupState stack entries of the
#    item's parents; FixtureDef._finalizers of every fixture above function scope
#    that was set up, as seen by our pytest_fixture_setup hook, since fixtures
#    requested dynamically are not in the item's closure) and cut them back to those
#    lengths after each later iteration (a fixture not set up yet is recorded when
#    it first is). What is cut are duplicates of finalizers the first iteration
#    registered: finishing an already finished fixture again does nothing but call
#    pytest_fixture_post_finalizer. When nothing was appended the cut costs a len().
# 7. tmp_path: TempPathFactory numbers directories (test_x0, test_x1, ...): with the
#    default retention policy ("all") one directory per iteration stays on disk and
#    make_numbered_dir lists the whole base directory each time (slower every
#    iteration). We pass -o tmp_path_retention_policy=failed (pytest >= 7.3): the
#    tmp_path of a passing test is removed at its teardown, the next one reuses the
#    same number, disk use stays flat. The base temp is private (--basetemp under
#    the bridge's work directory), so parallel memreg processes never clean up each
#    other's directories and pytest-of-$USER is untouched; close() removes it. On
#    pytest < 7.3 (no retention policy) the directories would accumulate on disk (not in
#    memory): there the bridge removes, after each iteration, the basetemp entries
#    that the first iteration did not leave (the numbered directory of iteration 1
#    stays, later ones are removed so their number is reused).
# 8. cacheprovider stays enabled (the `cache` fixture works) but cache_dir points to
#    the private work directory, so the project's .pytest_cache is never written.
# 9. Output: the terminal reporter is kept (plugins expect it) but writes to
#    os.devnull (sys.stdout is swapped while config._do_configure() creates it). It
#    receives nothing per iteration (no logreport, no warnings). Options that would
#    write the project's report files or start workers are neutralized after parsing:
#    --junitxml, --html (pytest-html), --report-log, --result-log, xdist's --dist/-n,
#    --pdb/--trace, and pytest-cov's --cov (switched off with its own --no-cov before
#    it starts coverage in pytest_load_initial_conftests).
#    Capture follows the project's settings (fd by default): the test's output is
#    captured per phase, lands in item._report_sections and is dropped (5).
# 10. Not reproduced: live logging (log_cli) and log_file get records only inside
#    pytest_runtestloop, which the bridge does not run; faulthandler_timeout and
#    pytest-timeout (memreg has its own timeout); pytest-rerunfailures' own
#    protocol (ours takes precedence).

import os
import sys


# ---------------------------------------------------------------- errors


class BridgeError(Exception):
    """Base of every bridge error; str(e) is pytest's own message."""

    # How the probe's error record names it (core.error_record), and how expand
    # names the problem for memreg.
    memreg_kind = "exception"
    problem = "pytest"


class PytestMissing(BridgeError):
    """pytest cannot be imported by this interpreter."""

    problem = "pytest_missing"


class SelectionError(BridgeError):
    """pytest rejected the arguments (usage error, file or node id not found) or a
    node id names more than one test."""

    problem = "selection"


class CollectionError(BridgeError):
    """A conftest.py, a test module or a plugin failed to import or collect.
    `errors` is a list of (nodeid, pytest's longrepr text)."""

    problem = "collection"

    def __init__(self, message, errors=()):
        BridgeError.__init__(self, message)
        self.errors = list(errors)


class NoTestsError(BridgeError):
    """The selection collected no test (`deselected` tests were filtered out by
    -k/-m or the project's hooks)."""

    problem = "no_tests"

    def __init__(self, message, deselected=0):
        BridgeError.__init__(self, message)
        self.deselected = deselected


class TestFailed(BridgeError):
    """The test failed (or errored in setup/teardown): str(e) is pytest's failure
    text (the report's longrepr), `when` is "setup", "call" or "teardown"."""

    __test__ = False  # not a test class, whatever collects this module
    memreg_kind = "test_failed"

    def __init__(self, nodeid, when, text):
        BridgeError.__init__(self, text)
        self.nodeid = nodeid
        self.when = when
        self.text = text


class TestSkipped(BridgeError):
    """The test was skipped, or failed as expected (xfail): `reason` is pytest's."""

    __test__ = False
    memreg_kind = "test_skipped"

    def __init__(self, nodeid, reason, xfail=False):
        BridgeError.__init__(self, reason)
        self.nodeid = nodeid
        self.reason = reason
        self.xfail = xfail


# ---------------------------------------------------------------- pytest setup


def _import_pytest():
    try:
        import pytest
    except ImportError as e:
        raise PytestMissing(
            "pytest is not installed for %s (%s): install pytest in the scenario's "
            "interpreter or set `python:`" % (sys.executable, e)
        ) from None
    return pytest


def _version(pytest):
    try:
        return tuple(int(x) for x in pytest.__version__.split(".")[:2])
    except ValueError:
        return (0, 0)


# Options that write the project's files or take over the session, and the value
# that turns each off; set only when a plugin declared the option.
_NEUTRAL_OPTIONS = (
    # (config.option name, value that turns it off, the option as users write it)
    ("xmlpath", None, "--junitxml"),  # junitxml writes the file at the end
    ("htmlpath", None, "--html"),  # pytest-html
    ("report_log", None, "--report-log"),  # pytest-reportlog
    ("resultlog", None, "--result-log"),  # pytest < 6.1
    ("dist", "no", "--dist"),  # pytest-xdist: workers would start at session start
    ("numprocesses", None, "-n"),  # pytest-xdist
    ("looponfail", False, "--looponfail"),  # pytest-xdist
    ("usepdb", False, "--pdb"),  # would stop the probe for input
    ("trace", False, "--trace"),
)

_MEMREG_MARKER = (
    "memreg(**settings): memreg leak-check settings for this test "
    "(iterations, warmup, processes, tolerance, expect, ...)"
)
_FILTERWARNINGS_MARKER = (
    "filterwarnings(warning): add a warning filter to the given test. "
    "see https://docs.pytest.org/en/stable/how-to/capture-warnings.html"
    "#pytest-mark-filterwarnings "
)


def _make_plugin(pytest):
    """Our plugin, built once pytest is imported (hookimpl needs it)."""
    from _pytest.runner import runtestprotocol

    hookimpl = pytest.hookimpl

    class MemregBridgePlugin:
        def __init__(self):
            self.collect_errors = []
            self.deselected = 0
            self.scoped_fixturedefs = {}  # insertion-ordered set of FixtureDefs
            self.item = None  # the item whose protocol we take over
            self.reports = None  # the last iteration's reports, taken by Bridge

        @hookimpl(tryfirst=True)
        def pytest_configure(self, config):
            # Declared so --strict-markers accepts them: the memreg marker (the
            # project should register it too), and filterwarnings, which the
            # warnings plugin we disable would have registered.
            config.addinivalue_line("markers", _MEMREG_MARKER)
            if config.pluginmanager.is_blocked("warnings"):
                config.addinivalue_line("markers", _FILTERWARNINGS_MARKER)

        @hookimpl(hookwrapper=True)
        def pytest_load_initial_conftests(self, early_config, parser, args):
            # pytest-cov starts coverage in this hook (tryfirst) when --cov is given,
            # typically from addopts: coverage would slow every iteration down and
            # write .coverage files into the project. Its own --no-cov switch, set
            # before its hook runs (wrappers run first), keeps it off.
            ns = early_config.known_args_namespace
            if getattr(ns, "cov_source", None):
                ns.no_cov = True
            yield

        def pytest_collectreport(self, report):
            if report.failed:
                self.collect_errors.append((report.nodeid, report.longreprtext))

        @hookimpl(tryfirst=True)
        def pytest_fixture_setup(self, fixturedef, request):
            # Remembers every fixture above function scope that gets set up: their
            # finalizer lists outlive an iteration (header, point 6). Returns None,
            # so pytest's own implementation still sets the fixture up.
            if fixturedef.scope != "function" and fixturedef not in self.scoped_fixturedefs:
                self.scoped_fixturedefs[fixturedef] = None
            return None

        def pytest_deselected(self, items):
            self.deselected += len(items)

        @hookimpl(tryfirst=True)
        def pytest_runtest_protocol(self, item, nextitem):
            # Replaces _pytest.runner.pytest_runtest_protocol for our item only
            # (firstresult hook: returning True ends the call); the wrappers around
            # this hook still run around us. log=False: see the header, point 2.
            if item is not self.item:
                return None
            self.reports = runtestprotocol(item, log=False, nextitem=nextitem)
            return True

    return MemregBridgePlugin()


class _Session:
    """A configured pytest session with its collected items (the part of
    wrap_session() before the run loop), and its orderly end."""

    def __init__(self, args, invocation_dir=None, workdir=None):
        pytest = _import_pytest()
        self.pytest = pytest
        self.version = _version(pytest)
        self.notes = []
        self.clean_basetemp = False
        self.config = None
        self.session = None
        self._sessionstarted = False
        self._old_cwd = os.getcwd()
        self._old_env = os.environ.get("PYTEST_VERSION")
        self._own_workdir = workdir is None
        if workdir is None:
            import tempfile

            workdir = tempfile.mkdtemp(prefix="memreg-pytest-")
        else:
            os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.invocation_dir = os.path.abspath(invocation_dir or self._old_cwd)
        import warnings

        try:
            # Warnings while configuring and collecting (deprecated options, unknown
            # ini keys, collection warnings) would be printed to stderr with the
            # warnings plugin off: they become notes instead, as pytest's summary
            # would have listed them.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._start(args)
        except BaseException:
            self.finish()
            raise
        seen = set()
        for w in caught:
            lines = str(w.message).strip().splitlines() or [""]
            text = "%s: %s%s" % (w.category.__name__, lines[0], " [...]" if len(lines) > 1 else "")
            if text not in seen and len(seen) < 10:
                seen.add(text)
                self.notes.append("warning: " + text)

    def _start(self, args):
        pytest = self.pytest
        from _pytest.config import ConftestImportFailure, _prepareconfig
        from _pytest.main import Session

        # pytest's invocation directory is the working directory (Config.
        # InvocationParams.dir = Path.cwd()); it stays so while the bridge lives,
        # as it would for the tests under `pytest`.
        os.chdir(self.invocation_dir)
        os.environ["PYTEST_VERSION"] = pytest.__version__
        options = [
            "-p",
            "no:warnings",  # header, point 4
            "-o",
            "cache_dir=" + os.path.join(self.workdir, "cache"),  # point 8
            "--basetemp=" + os.path.join(self.workdir, "basetemp"),  # point 7
        ]
        if self.version >= (7, 3):
            options += ["-o", "tmp_path_retention_policy=failed"]
        else:
            # No retention policy: Bridge removes, after each iteration, the entries
            # of basetemp that the first iteration did not leave (point 7).
            self.clean_basetemp = True
        self.plugin = _make_plugin(pytest)
        try:
            config = _prepareconfig(options + list(args), [self.plugin])
        except ConftestImportFailure as e:
            raise CollectionError(_conftest_failure_text(e)) from None
        except pytest.UsageError as e:
            raise SelectionError("\n".join(str(a) for a in e.args)) from None
        except Exception as e:  # e.g. a plugin named by -p that does not import
            import traceback

            raise CollectionError(
                "pytest could not start: %s: %s\n\n%s"
                % (type(e).__name__, e, "".join(traceback.format_exception(type(e), e, e.__traceback__)))
            ) from None
        self.config = config
        for name, value, option in _NEUTRAL_OPTIONS:
            if getattr(config.option, name, value) != value:
                self.notes.append("pytest option %s is ignored under memreg" % option)
                setattr(config.option, name, value)
        if getattr(config.option, "cov_source", None):
            # pytest-cov: kept from starting by our pytest_load_initial_conftests
            # (plugin above); --no-cov also keeps its session hooks quiet
            self.notes.append("pytest option --cov is ignored under memreg")
            config.option.no_cov = True
        self.session = Session.from_config(config)
        # The terminal reporter is created by its pytest_configure with sys.stdout:
        # it gets os.devnull (header, point 9).
        self._devnull = open(os.devnull, "w")
        stdout = sys.stdout
        sys.stdout = self._devnull
        try:
            config._do_configure()
        finally:
            sys.stdout = stdout
        try:
            config.hook.pytest_sessionstart(session=self.session)
            self._sessionstarted = True
            config.hook.pytest_collection(session=self.session)
        except pytest.UsageError as e:
            raise SelectionError("\n".join(str(a) for a in e.args)) from None
        if self.plugin.collect_errors:
            errors = self.plugin.collect_errors
            raise CollectionError(
                "%d error%s during collection:\n\n%s"
                % (
                    len(errors),
                    "s" if len(errors) != 1 else "",
                    "\n\n".join("%s\n%s" % (nodeid or "(session)", text) for nodeid, text in errors),
                ),
                errors,
            )
        self.items = list(self.session.items)
        if not self.items:
            d = self.plugin.deselected
            raise NoTestsError(
                "no tests collected by: pytest %s%s"
                % (" ".join(args), " (%d deselected)" % d if d else ""),
                d,
            )

    def finish(self):
        """Session teardown (fixtures of every scope), sessionfinish, unconfigure;
        the working directory, PYTEST_VERSION and the work directory are restored.
        Returns the teardown's exception, if any (pytest's sessionfinish would
        raise it)."""
        error = None
        config, session = self.config, self.session
        try:
            if config is not None and self._sessionstarted:
                try:
                    config.hook.pytest_sessionfinish(session=session, exitstatus=0)
                except Exception as e:
                    error = e
            if config is not None:
                config._ensure_unconfigure()
        finally:
            self.config = self.session = None
            os.chdir(self._old_cwd)
            if self._old_env is None:
                os.environ.pop("PYTEST_VERSION", None)
            else:
                os.environ["PYTEST_VERSION"] = self._old_env
            devnull = getattr(self, "_devnull", None)
            if devnull is not None:
                devnull.close()
            if self._own_workdir:
                import shutil

                shutil.rmtree(self.workdir, ignore_errors=True)
            else:
                import shutil

                for sub in ("basetemp", "cache"):
                    shutil.rmtree(os.path.join(self.workdir, sub), ignore_errors=True)
        return error


def _conftest_failure_text(e):
    """pytest.main()'s message for a conftest that does not import."""
    import traceback

    exc = e.cause if hasattr(e, "cause") else e.excinfo[1]
    path = getattr(e, "path", None) or getattr(e, "fspath", "")
    lines = ["ImportError while loading conftest '%s'." % path]
    lines += traceback.format_exception_only(type(exc), exc)
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "".join(l if l.endswith("\n") else l + "\n" for l in lines) + "\n" + tb


# ---------------------------------------------------------------- expand


def _plain(value):
    """A marker value as JSON-able data (anything else becomes its str())."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _marker_settings(item):
    """The keyword arguments of the item's `memreg` markers, the closest winning
    (function over class over module), or None when there is none."""
    marks = list(item.iter_markers(name="memreg"))
    if not marks:
        return None
    settings = {}
    for mark in reversed(marks):  # farthest first, closest last
        settings.update(mark.kwargs)
    return {str(k): _plain(v) for k, v in settings.items()}


def _describe(item, invocation_dir):
    config = item.config
    relfile, lineno, _ = item.location
    path = os.path.normpath(os.path.join(str(config.rootpath), relfile))
    file = os.path.relpath(path, invocation_dir)
    nodeid = item.nodeid
    # The node id is relative to pytest's rootdir; the selector is the same test
    # named from the invocation directory, as it would be typed on the command line.
    item_path = str(getattr(item, "path", None) or item.fspath)
    sel_file = os.path.relpath(item_path, invocation_dir).replace(os.sep, "/")
    sep = nodeid.find("::")
    selector = sel_file + (nodeid[sep:] if sep >= 0 else "")
    return {
        "nodeid": nodeid,
        "selector": selector,
        "name": item.name,
        "file": file,
        "line": None if lineno is None else lineno + 1,
        "memreg": _marker_settings(item),
    }


def expand(args, invocation_dir=None, workdir=None):
    """Collect a selection (`["tests/", "-m", "memleak"]`, `["-k", "roundtrip",
    "tests/"]`, a node id) without running anything and return one dict per test:

        nodeid    pytest's node id (relative to pytest's rootdir)
        selector  the node id as typed from invocation_dir; Bridge(selector, ...)
                  runs exactly that test (equal to nodeid when the rootdir is the
                  invocation directory)
        name      the test's name (with its parameters)
        file      file of the test function, relative to invocation_dir
        line      1-based line of the test function (as pytest reports it)
        memreg    keyword arguments of the test's `memreg` markers (closest wins),
                  or None

    args are pytest command-line arguments, relative to invocation_dir (default:
    the working directory). Raises PytestMissing, SelectionError, CollectionError,
    NoTestsError with pytest's own message.
    """
    if isinstance(args, str):
        raise TypeError("args must be a list of arguments, not a string")
    s = _Session(list(args), invocation_dir, workdir)
    try:
        return [_describe(item, s.invocation_dir) for item in s.items]
    finally:
        s.finish()


# ---------------------------------------------------------------- one test


class _Successor:
    """The nextitem given to the teardown of each iteration: the same test runs
    next, but teardown_exact() must still tear the item's own node down, so
    listchain() is the item's parents only (header, point 3). Any other attribute
    is the item's."""

    __slots__ = ("_item", "_chain")

    def __init__(self, item):
        self._item = item
        self._chain = item.listchain()[:-1]

    def listchain(self):
        return self._chain  # read only by teardown_exact (sliced, never changed)

    def __getattr__(self, name):
        return getattr(self._item, name)


class Bridge:
    """One pytest test, collected once, run one iteration at a time.

        b = Bridge("tests/test_x.py::test_roundtrip[json]", "/path/to/project")
        for _ in range(n):
            b.run()          # setup, call, teardown; raises TestFailed / TestSkipped
        b.close()            # session teardown

    nodeid: a node id as on pytest's command line, relative to invocation_dir
    (default: the working directory), which becomes the working directory while the
    bridge lives (restored by close()). args: extra pytest arguments (e.g.
    ["-p", "no:randomly"]). workdir: a private directory for pytest's basetemp and
    cache (default: a new temporary directory, removed by close()).
    """

    def __init__(self, nodeid, invocation_dir=None, args=(), workdir=None):
        if not isinstance(nodeid, str) or not nodeid.strip():
            raise SelectionError("a pytest node id is required")
        self._s = None
        s = _Session(list(args) + [nodeid], invocation_dir, workdir)
        try:
            if len(s.items) != 1:
                raise SelectionError(
                    "%r names %d tests, not one:\n  %s\n(list them with a selection "
                    "to run each as its own scenario)"
                    % (nodeid, len(s.items), "\n  ".join(i.nodeid for i in s.items[:20]))
                )
            self._setup(s)
        except BaseException:
            s.finish()
            raise
        self._s = s

    def _setup(self, s):
        item = s.items[0]
        self.item = item
        self.nodeid = item.nodeid
        self.notes = s.notes
        self.description = _describe(item, s.invocation_dir)
        self.settings = self.description["memreg"]
        s.plugin.item = item
        self._plugin = s.plugin
        self._successor = _Successor(item)
        self._protocol = item.ihook.pytest_runtest_protocol
        # Collected state of the per-item lists (header, point 5).
        self._user_properties = list(item.user_properties)
        self._own_markers = list(item.own_markers)
        keywords = getattr(item.keywords, "_markers", None)
        self._keywords = keywords
        self._keywords0 = dict(keywords) if keywords is not None else None
        self._finalizer_lengths = None  # filled after the first iteration (point 6)
        self._stack = s.session._setupstate.stack
        self._parents = tuple(item.listchain()[:-1])
        self._basetemp = os.path.join(s.workdir, "basetemp") if s.clean_basetemp else None
        self._basetemp_kept = None
        self._warning_filters = self._filters(item)

    def _filters(self, item):
        """Warning filters as _pytest.warnings.catch_warnings_for_item applies them
        (same in 7.x-9.x), parsed once: [(args, kwargs)] for warnings.filterwarnings."""
        from _pytest.config import parse_warning_filter

        config = item.config
        filters = []
        if not sys.warnoptions:
            filters.append((("always",), {"category": DeprecationWarning}))
            filters.append((("always",), {"category": PendingDeprecationWarning}))
        config_filters = config.getini("filterwarnings")
        cmdline_filters = config.known_args_namespace.pythonwarnings or []
        # apply_warning_filters(): config first, then the command line (later wins).
        for arg in config_filters:
            filters.append((parse_warning_filter(arg, escape=False), {}))
        for arg in cmdline_filters:
            filters.append((parse_warning_filter(arg, escape=True), {}))
        for mark in item.iter_markers(name="filterwarnings"):
            for arg in mark.args:
                filters.append((parse_warning_filter(arg, escape=False), {}))
        return tuple(filters)

    # The per-iteration path: no object made here outlives the call.
    def run(self):
        """Run the test once: setup (fixtures of the function scope, and of higher
        scopes the first time), call, teardown of the function scope. Raises
        TestFailed (pytest's failure text) or TestSkipped (pytest's reason)."""
        import warnings

        item = self.item
        plugin = self._plugin
        with warnings.catch_warnings(record=True):
            for args, kwargs in self._warning_filters:
                warnings.filterwarnings(*args, **kwargs)
            try:
                self._protocol(item=item, nextitem=self._successor)
            finally:
                reports = plugin.reports
                plugin.reports = None
                self._reset(item)
        if reports is None:
            raise BridgeError("the runtest protocol did not run (a plugin took it over)")
        for rep in reports:
            if rep.failed:
                raise TestFailed(item.nodeid, rep.when, _failure_text(rep))
        for rep in reports:
            if rep.skipped:
                if hasattr(rep, "wasxfail"):
                    raise TestSkipped(
                        item.nodeid, "xfail: %s" % (rep.wasxfail or "expected failure"), True
                    )
                raise TestSkipped(item.nodeid, _skip_reason(rep))

    def _reset(self, item):
        del item._report_sections[:]
        if len(item.user_properties) != len(self._user_properties) or (
            item.user_properties != self._user_properties
        ):
            item.user_properties[:] = self._user_properties
        if len(item.own_markers) != len(self._own_markers):
            item.own_markers[:] = self._own_markers
        km = self._keywords
        if km is not None and len(km) != len(self._keywords0):
            km.clear()
            km.update(self._keywords0)
        self._trim_finalizers()
        if self._basetemp is not None:
            self._clean_basetemp()

    def _clean_basetemp(self):
        """pytest < 7.3 only: numbered tmp_path directories of iterations after the
        first are removed, so the next one reuses the number (header, point 7)."""
        try:
            names = os.listdir(self._basetemp)
        except OSError:
            return
        if self._basetemp_kept is None:
            self._basetemp_kept = frozenset(names)
            return
        import shutil

        for name in names:
            if name not in self._basetemp_kept:
                path = os.path.join(self._basetemp, name)
                if os.path.islink(path):
                    continue  # pytest's <prefix>current symlinks
                shutil.rmtree(path, ignore_errors=True)

    def _trim_finalizers(self):
        """Cut the finalizer lists that outlive an iteration back to their length
        after the iteration that set their owner up (header, point 6)."""
        lengths = self._finalizer_lengths
        if lengths is None:
            self._finalizer_lengths = lengths = {}
            for key, fins, active in self._outliving_finalizers():
                lengths[key] = [len(fins), active]
            return
        for key, fins, active in self._outliving_finalizers():
            known = lengths.get(key)
            if known is None:
                lengths[key] = [len(fins), active]
            elif not known[1]:
                # not set up until now: its registrations so far are its own
                known[0] = len(fins)
                known[1] = active
            elif len(fins) > known[0]:
                del fins[known[0]:]

    def _outliving_finalizers(self):
        """(key, finalizer list, owner is set up) of every finalizer list that
        outlives an iteration: the SetupState stack entries of the item's parents,
        and FixtureDef._finalizers of every fixture above function scope that has
        been set up (seen by our pytest_fixture_setup hook, so fixtures requested
        dynamically, by getfixturevalue() or plugins, are included)."""
        stack = self._stack
        for node in self._parents:
            entry = stack.get(node)
            if entry is not None:
                yield node, entry[0], True
        for fd in self._plugin.scoped_fixturedefs:
            fins = getattr(fd, "_finalizers", None)
            if isinstance(fins, list):
                yield fd, fins, fd.cached_result is not None

    def close(self):
        """Tear down the session (fixtures of every scope, in pytest's order),
        finish and unconfigure it, restore the working directory. Raises TestFailed
        with pytest's text if a fixture's teardown failed. Safe to call twice."""
        s, self._s = self._s, None
        if s is None:
            return
        error = None
        try:
            error = self._teardown_all(s)
        finally:
            s.finish()
        if error is not None:
            raise error

    def _teardown_all(self, s):
        """What the last item's teardown does (teardown_exact(None)), reported as
        pytest reports a teardown error."""
        from _pytest.runner import CallInfo

        item = self.item
        setupstate = s.session._setupstate
        call = CallInfo.from_call(lambda: setupstate.teardown_exact(None), when="teardown")
        if call.excinfo is None:
            return None
        rep = item.ihook.pytest_runtest_makereport(item=item, call=call)
        return TestFailed(item.nodeid, "teardown", rep.longreprtext)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_SECTION_LIMIT = 4000  # characters of each captured section kept in a failure text


def _failure_text(rep):
    """pytest's failure text: the longrepr, then the captured sections (stdout,
    stderr, log) as pytest's terminal shows them, each cut to its last
    _SECTION_LIMIT characters."""
    text = rep.longreprtext
    for title, content in rep.sections:
        if len(content) > _SECTION_LIMIT:
            content = "[... %d characters cut]\n" % (len(content) - _SECTION_LIMIT) + content[
                -_SECTION_LIMIT:
            ]
        text += "\n\n%s\n%s" % (" {} ".format(title).center(60, "-"), content.rstrip("\n"))
    return text


def _skip_reason(rep):
    longrepr = rep.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = rep.longreprtext
    if reason.startswith("Skipped: "):
        reason = reason[len("Skipped: "):]
    return reason


# ---------------------------------------------------------------- memreg's modes


def _options_only(args, config):
    """The user's pytest arguments without the positional ones (files, directories,
    node ids): the options (-p, -o, -W, -m, ...) that every measuring process passes
    on with its one test. Which options take a value is pytest's parser's answer."""
    try:
        actions = config._parser._getparser()._option_string_actions
    except Exception:  # the parser's internals moved: drop what pytest took as paths
        positional = set(getattr(config, "args", ()))
        return [a for a in args if a not in positional]
    out = []
    value_next = False
    for arg in args:
        if value_next:
            out.append(arg)
            value_next = False
        elif arg.startswith("-") and arg != "-":
            out.append(arg)
            if "=" not in arg:
                action = actions.get(arg)
                value_next = action is not None and action.nargs != 0
    return out


def expand_record(config, record):
    """`expand` mode: the tests a `pytest:` selection collects, without running any,
    and the options their processes pass on; or pytest's own words for why not."""
    args = list(config["args"])
    record["tests"] = []
    record["options"] = []
    record["problem"] = None
    for p in config.get("pythonpath", []):
        sys.path.insert(0, p)
    try:
        s = _Session(args, config["invocation_dir"], os.path.join(os.path.dirname(sys.argv[3]), "pytest"))
    except BridgeError as e:
        record["problem"] = {"kind": e.problem, "message": str(e)}
        return record
    try:
        record["tests"] = [_describe(item, s.invocation_dir) for item in s.items]
        record["options"] = _options_only(args, s.config)
        record["notes"].extend(s.notes)
    finally:
        s.finish()
    return record


def bridge_error_record(exc, phase):
    """A bridge error as the probe reports a scenario's exception: pytest's text in
    place of a traceback (the bridge's and pytest's frames say nothing to the user),
    and a one-line message: the failure's `E` line, or the skip reason."""
    text = str(exc)
    if isinstance(exc, TestFailed):
        lines = [l[1:].strip() for l in text.splitlines() if l.startswith("E ")]
        last = [l.strip() for l in text.splitlines() if l.strip()]
        message = "failed in %s: %s" % (exc.when, (lines or last or ["(no message)"])[0])
    elif isinstance(exc, TestSkipped):
        message = exc.reason if exc.xfail else "skipped: " + exc.reason
    else:
        message = (text.strip().splitlines() or [""])[0]
    return {
        "phase": phase,
        "kind": exc.memreg_kind,
        "type": type(exc).__name__,
        "message": message,
        "traceback": text,
    }


class PytestBody:
    """A `pytest:` scenario's parts for the measuring and attribution loops: setup
    collects the one test (the Bridge), each iteration runs it, teardown closes the
    session (fixtures of every scope, pytest's own order)."""

    def __init__(self, config, notes):
        self.config = config
        self.notes = notes
        self.bridge = None
        # pytest's cache and basetemp: beside this process's config, in memreg's
        # work directory (read before any of the project's code runs).
        self.workdir = os.path.join(os.path.dirname(sys.argv[3]), "pytest")

    def setup(self):
        c = self.config
        self.bridge = Bridge(c["selector"], c["invocation_dir"], c["options"], self.workdir)
        self.notes.extend(self.bridge.notes)

    def run(self):
        self.bridge.run()

    def teardown(self):
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            bridge.close()

    def close(self):
        try:
            self.teardown()
        except BaseException:
            pass
