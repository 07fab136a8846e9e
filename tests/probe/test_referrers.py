"""The probe's `referrers` part (src/probe/py/referrers.py): referrer chains,
uncollectable garbage, and what the attribution pass reports of them. Standard
library only; any CPython 3.8+:

    python3 -m unittest discover -s tests/probe -v

Scenarios run through the probe's own attribute() in a fresh interpreter (a
subprocess of the one running the tests): the scenario's code in the module
__memreg_scenario__, warm-up, the tracked iterations, the tracemalloc pass, chains.
Link kinds, give-ups and the no-keep-alive and no-side-effect guarantees are checked
in this process. tests/cli/probe_python.rs runs this suite under `cargo test`.
"""

import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import types
import unittest
import weakref

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import probe_parts  # noqa: E402

probe = probe_parts.load("referrers")
PY = sys.version_info[:2]

# The attribution pass, through the probe's attribute().
DRIVER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import probe_parts
probe = probe_parts.load("body", "attribute", "referrers")
config = json.loads(sys.argv[2])
record = probe.attribute(config, {"notes": []})
if record.get("status") == "error":
    sys.exit("scenario failed: %r" % (record["error"],))
sys.stdout.write("@@" + probe.to_json(record["attribution"]) + "\n")
"""


def part(code, name):
    return {"code": textwrap.dedent(code), "filename": "<scenario:%s>" % name, "first_line": 1}


def run_scenario(setup, run, pythonpath=(), iterations=200, warmup=20, top=4, budget=2.0, depth=12):
    config = {
        "setup": part(setup, "setup"),
        "run": part(run, "run"),
        "warmup": warmup,
        "iterations": iterations,
        "frames": 1,
        "top": top,
        "chains": {"budget_s": budget, "total_s": budget * top, "max_depth": depth},
        "pythonpath": list(pythonpath),
    }
    return probe_parts.run_driver(DRIVER, json.dumps(config))


def path_of(chain):
    """The chain as one expression (links a path cannot spell, by kind)."""
    out = [chain["holder"] or ""]
    for step in chain["steps"]:
        link = step["link"]
        out.append(link["path"] if type(link) is dict else " <%s>" % link)
    return "".join(out)


def types_of(chain):
    return [s["type"] for s in chain["steps"]]


def chain_for(attribution, type_key):
    for t in attribution["types"]:
        if t["type"] == type_key:
            return t["held_by"]
    raise AssertionError("no growing type %s in %s" % (type_key, json.dumps(attribution, indent=1)))


def show(attribution):
    """The chains, for the test log (MEMREG_SHOW=1)."""
    if os.environ.get("MEMREG_SHOW"):
        for t in attribution["types"]:
            sys.stderr.write("\n    %s: %s  [%s]" % (t["type"], path_of(t["held_by"]),
                                                   t["held_by"]["root"] or t["held_by"]["gave_up"]))


class UserModules:
    """User modules on disk, as a scenario's pythonpath would hold them."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="memreg-ref-")
        files = {
            "reqapp.py": '''
                _registry = {}
                _next = [0]

                class Request:
                    def __init__(self, path):
                        self.path = path

                def handle(path):
                    _next[0] += 1
                    _registry[_next[0]] = {"request": Request(path), "status": 200}
            ''',
            "cacheapp.py": '''
                class Result:
                    def __init__(self, name):
                        self.name = name

                class Resolver:
                    _cache = {}

                    def resolve(self, name):
                        r = self._cache.get(name)
                        if r is None:
                            r = self._cache[name] = Result(name)
                        return r
            ''',
        }
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(textwrap.dedent(text))
        return self.dir

    def __exit__(self, *exc):
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- real scenarios


class Scenarios(unittest.TestCase):
    def test_request_registry_in_user_module(self):
        with UserModules() as d:
            a = run_scenario(
                "import reqapp\nn = [0]\n",
                "n[0] += 1\nreqapp.handle('/items/%d' % n[0])\n",
                pythonpath=[d],
            )
        show(a)
        c = chain_for(a, "reqapp.Request")
        self.assertEqual(c["root"], "module_global")
        self.assertEqual(c["holder"], "reqapp")
        self.assertRegex(path_of(c), r"^reqapp\._registry\[\d+\]\['request'\]$")
        self.assertEqual(types_of(c), ["dict", "dict", "reqapp.Request"])
        self.assertEqual(c["steps"][0]["link"], {"path": "._registry"})
        self.assertIsNone(c["gave_up"])
        # the representative is from the middle of the tracked iterations (20 warm-up,
        # 200 tracked), not the last one a variable may still hold
        key = int(re.search(r"\[(\d+)\]", path_of(c)).group(1))
        self.assertTrue(20 + 50 <= key <= 20 + 150, key)
        self.assertEqual(a["uncollectable"]["per_iteration"], 0.0)

    def test_closure_held_object(self):
        a = run_scenario(
            """
            class Req:
                pass

            def make_handler():
                seen = []
                def handler(req):
                    seen.append(req)
                return handler

            handler = make_handler()
            """,
            "handler(Req())\n",
        )
        show(a)
        c = chain_for(a, "__memreg_scenario__.Req")
        # the closure is reached through the global that holds the function
        self.assertEqual(c["root"], "module_global")
        self.assertEqual(c["closure"], {
            "variable": "seen",
            "function": "__memreg_scenario__.make_handler.<locals>.handler",
        })
        self.assertRegex(path_of(c), r"^__memreg_scenario__\.handler\.__closure__\[0\]\.cell_contents\[\d+\]$")
        self.assertEqual(types_of(c), ["function", "list", "__memreg_scenario__.Req"])

    def test_class_made_per_call(self):
        # namedtuple() per call: the classes are not roots, the list holding them is
        a = run_scenario("import collections\nmade = []\n",
                         "made.append(collections.namedtuple('P', 'x y'))\n", top=10)
        show(a)
        c = chain_for(a, "type")
        self.assertEqual(c["root"], "module_global")
        self.assertRegex(path_of(c), r"^__memreg_scenario__\.made\[\d+\]$")
        for t in a["types"]:
            c = t["held_by"]
            self.assertIsNotNone(c["root"], c)
            if t["type"] in ("weakref", "weakref.ReferenceType"):
                # each class's entry in tuple's weak registry of subclasses
                self.assertEqual(c["root"], "subclass_registry")
                self.assertEqual(path_of(c), "tuple.__subclasses__()[...]")
            else:
                self.assertTrue(path_of(c).startswith("__memreg_scenario__.made["), path_of(c))

    def test_logger_handler_list(self):
        a = run_scenario(
            """
            import logging

            class Req:
                pass

            class KeepHandler(logging.Handler):
                def __init__(self):
                    super().__init__()
                    self.records = []

                def emit(self, record):
                    self.records.append(record)

            logger = logging.getLogger("memreg.requests")
            logger.propagate = False
            logger.addHandler(KeepHandler())
            del logger
            """,
            "logging.getLogger('memreg.requests').warning('request %s', Req())\n",
        )
        show(a)
        c = chain_for(a, "__memreg_scenario__.Req")
        self.assertEqual(c["root"], "logging_manager")
        self.assertRegex(
            path_of(c),
            r"^logging\.Logger\.manager\.loggerDict\['memreg\.requests'\]\.handlers\[0\]\.records\[\d+\]\.args\[0\]$",
        )
        self.assertIn("logging.LogRecord", types_of(c))
        c = chain_for(a, "logging.LogRecord")
        self.assertRegex(path_of(c), r"\.handlers\[0\]\.records\[\d+\]$")

    def test_class_attribute_cache(self):
        with UserModules() as d:
            a = run_scenario(
                "import cacheapp\nn = [0]\n",
                "n[0] += 1\ncacheapp.Resolver().resolve('host%d' % n[0])\n",
                pythonpath=[d],
            )
        show(a)
        c = chain_for(a, "cacheapp.Result")
        self.assertEqual(c["root"], "class_attribute")
        self.assertEqual(c["holder"], "cacheapp.Resolver")
        self.assertEqual(c["steps"][0]["link"], {"path": "._cache"})
        self.assertRegex(path_of(c), r"^cacheapp\.Resolver\._cache\['host\d+'\]$")

    def test_thread_frame_local(self):
        a = run_scenario(
            """
            import queue, threading

            class Job:
                pass

            jobs = queue.Queue()

            def worker():
                done = []
                while True:
                    job = jobs.get()
                    done.append(job)
                    job = None
                    jobs.task_done()

            threading.Thread(target=worker, name="memreg-worker", daemon=True).start()
            """,
            "jobs.put(Job())\njobs.join()\n",
        )
        show(a)
        c = chain_for(a, "__memreg_scenario__.Job")
        self.assertEqual(c["root"], "thread_frame")
        self.assertTrue(c["holder"].startswith("<frame of thread 'memreg-worker', worker() at "), c["holder"])
        self.assertRegex(path_of(c), r"\.f_locals\['done'\]\[\d+\]$")

    def test_sys_modules(self):
        a = run_scenario(
            "import sys\nclass Plugin:\n    pass\nn = [0]\n",
            "n[0] += 1\nsys.modules['memreg_plugin_%d' % n[0]] = Plugin()\n",
        )
        show(a)
        c = chain_for(a, "__memreg_scenario__.Plugin")
        self.assertEqual(c["root"], "sys_modules")
        self.assertRegex(path_of(c), r"^sys\.modules\['memreg_plugin_\d+'\]$")

    def test_weakref_finalize_registry(self):
        a = run_scenario(
            """
            import weakref

            class Owner:
                pass

            class Payload:
                pass

            owner = Owner()

            def cleanup(payload):
                pass
            """,
            "weakref.finalize(owner, cleanup, Payload())\n",
        )
        show(a)
        c = chain_for(a, "__memreg_scenario__.Payload")
        self.assertEqual(c["root"], "weakref_finalize")
        self.assertRegex(path_of(c), r"^weakref\.finalize\._registry\[<weakref\.finalize>\]\.args\[0\]$")

    def test_atexit_callbacks(self):
        a = run_scenario(
            "import atexit\nclass Payload:\n    pass\ndef cb(p):\n    pass\n",
            "atexit.register(cb, Payload())\n",
            iterations=100,
        )
        show(a)
        c = chain_for(a, "__memreg_scenario__.Payload")
        if PY < (3, 11):
            # atexit's module state is traversed by the collector
            self.assertEqual(c["root"], "atexit")
        else:
            # held by the interpreter, out of the collector's sight: the search says so
            self.assertIsNone(c["root"])
            # the chain reaches the tuple of arguments, which nothing visible holds
            self.assertEqual(c["gave_up"], {"reason": "no_root", "referrers": True})
        # one registration per tracked iteration
        self.assertEqual(a["atexit_per_iteration"], 1.0)

    def test_uncollectable_debug_saveall(self):
        a = run_scenario(
            """
            import gc

            class Node:
                pass

            gc.set_debug(gc.DEBUG_SAVEALL)
            """,
            "a = Node()\na.me = a\ndel a\n",
            iterations=100,
        )
        show(a)
        g = a["uncollectable"]
        self.assertTrue(g["debug_saveall"])
        per_type = {t["type"]: t["per_iteration"] for t in g["types"]}
        self.assertEqual(per_type["__memreg_scenario__.Node"], 1.0)
        if PY < (3, 11):
            self.assertEqual(per_type["dict"], 1.0)  # the instance dicts
        c = chain_for(a, "__memreg_scenario__.Node")
        self.assertEqual(c["root"], "gc_garbage")
        self.assertRegex(path_of(c), r"^gc\.garbage\[\d+\]$")

    def test_uncollectable_legacy_tp_del(self):
        try:
            import _testcapi

            _testcapi.with_tp_del
        except (ImportError, AttributeError):
            self.skipTest("_testcapi.with_tp_del not available")
        a = run_scenario(
            """
            import _testcapi

            class Legacy:
                def __tp_del__(self):
                    pass

            Legacy = _testcapi.with_tp_del(Legacy)
            """,
            "a = Legacy()\na.me = a\ndel a\n",
            iterations=100,
        )
        show(a)
        g = a["uncollectable"]
        self.assertFalse(g["debug_saveall"])
        per_type = {t["type"]: t["per_iteration"] for t in g["types"]}
        self.assertEqual(per_type["__memreg_scenario__.Legacy"], 1.0)
        self.assertEqual(g["per_iteration"], 1.0)

    def test_clean_body_has_no_growth_and_no_chains(self):
        a = run_scenario("import json\npayload = {'a': list(range(100))}\n",
                         "json.loads(json.dumps(payload))\n")
        self.assertEqual(a["types"], [])
        self.assertEqual(a["uncollectable"]["per_iteration"], 0.0)


# ---------------------------------------------------------------- link kinds


def fake_module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


class Target:
    pass


TARGET = probe.type_key(Target)


class Links(unittest.TestCase):
    def tearDown(self):
        for k in [k for k in sys.modules if k.startswith("memreg_fake")]:
            del sys.modules[k]

    def chain(self, obj, **kw):
        r = probe.find_chain(obj, **kw)
        self.assertIsNotNone(r["root"], r)
        return r

    def test_bound_method_slots_deque_set(self):
        import collections

        class Slotted:
            __slots__ = ("item", "__weakref__")

        class Owner:
            def method(self):
                pass

        t1, t2, t3, t4 = Target(), Target(), Target(), Target()
        s = Slotted()
        s.item = t2
        o = Owner()
        o.t = t1
        fake_module("memreg_fake1", callbacks=[o.method], slotted=s,
                    queue=collections.deque([0, 1, t3]), members={t4})
        self.assertEqual(path_of(self.chain(t1)), "memreg_fake1.callbacks[0].__self__.t")
        self.assertEqual(path_of(self.chain(t2)), "memreg_fake1.slotted.item")
        r = self.chain(t3)
        self.assertEqual(path_of(r), "memreg_fake1.queue[2]")
        self.assertEqual(r["steps"][0]["type"], "collections.deque")
        r = self.chain(t4)
        self.assertEqual(r["root"], "module_global")
        self.assertEqual(r["steps"], [{"link": {"path": ".members"}, "type": "set"},
                                      {"link": "set_member", "type": TARGET}])

    def test_function_defaults_and_dict_keys(self):
        t1, t2, t3 = Target(), Target(), Target()

        def f(a=t1):
            return a

        f.extra = t2
        fake_module("memreg_fake2", f=f, table={("GET", 8080): t3, "x": 1})
        self.assertEqual(path_of(self.chain(t1)), "memreg_fake2.f.__defaults__[0]")
        self.assertEqual(path_of(self.chain(t2)), "memreg_fake2.f.extra")
        self.assertEqual(path_of(self.chain(t3)), "memreg_fake2.table[('GET', 8080)]")

    def test_non_simple_key_is_not_repred(self):
        t = Target()
        fake_module("memreg_fake3", table={Target(): t}, seen={t: 1})
        r = self.chain(t)
        self.assertIn(path_of(r), ("memreg_fake3.table[<%s>]" % TARGET,
                                   "memreg_fake3.seen <dict_key>"))

    def test_internal_reference_lru_cache(self):
        import functools

        @functools.lru_cache(maxsize=128)
        def lookup(n):
            return Target()

        t = lookup(1)
        fake_module("memreg_fake4", lookup=lookup)
        r = self.chain(t)
        self.assertEqual(r["steps"][0]["type"], "functools._lru_cache_wrapper")
        self.assertEqual(r["steps"][-1]["link"], "internal")
        self.assertEqual(path_of(r), "memreg_fake4.lookup <internal>")

    def test_suspended_generator_local(self):
        def gen():
            held = Target()
            yield held
            yield None

        g = gen()
        t = next(g)
        fake_module("memreg_fake5", g=g)
        del t
        t = g.gi_frame.f_locals["held"]
        r = self.chain(t)
        self.assertEqual(path_of(r), "memreg_fake5.g.gi_frame.f_locals['held']")

    def test_class_attribute_and_nested_class(self):
        class Outer:
            class Inner:
                registry = []

        t = Target()
        Outer.Inner.registry.append(t)
        r = self.chain(t)
        self.assertEqual(r["root"], "class_attribute")
        self.assertTrue(path_of(r).endswith("Outer.Inner.registry[0]"), path_of(r))

    def test_closure_whose_function_nothing_visible_holds(self):
        # only C code holds the function (as atexit does on 3.11+): the closure is
        # the root, and the chain says nothing was found beyond it
        import ctypes

        def make_handler():
            seen = []

            def handler(req=None):
                seen.append(req)

            return handler

        h = make_handler()
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(h))
        h(Target())
        t = h.__closure__[0].cell_contents[0]
        wr = weakref.ref(h)
        del h
        self.assertIsNotNone(wr())
        c = probe.find_chain(t)
        self.assertEqual(c["root"], "closure_cell")
        self.assertEqual(c["closure"]["variable"], "seen")
        self.assertTrue(c["closure"]["function"].endswith("make_handler.<locals>.handler"), c["closure"])
        self.assertEqual(c["beyond"], {"reason": "no_root", "referrers": True})
        self.assertTrue(path_of(c).endswith("make_handler.<locals>.handler.__closure__[0].cell_contents[0]"),
                        path_of(c))

    def test_user_module_preferred_at_equal_depth(self):
        import json

        t = Target()
        shared = [t]
        json.memreg_test_list = shared  # a standard-library module holding it too
        try:
            fake_module("memreg_fake_user", shared=shared)
            r = self.chain(t)
        finally:
            del json.memreg_test_list
        self.assertEqual(path_of(r), "memreg_fake_user.shared[0]")

    def test_target_is_a_module_global(self):
        t = Target()
        fake_module("memreg_fake6", it=t)
        r = self.chain(t)
        self.assertEqual(r["holder"], "memreg_fake6")
        self.assertEqual(r["steps"], [{"link": {"path": ".it"}, "type": TARGET}])


# ---------------------------------------------------------------- give-ups


class GiveUp(unittest.TestCase):
    def test_depth_limit(self):
        t = Target()
        node = [t]
        for _ in range(40):
            node = [node]
        fake_module("memreg_fake_deep", top=node)
        try:
            r = probe.find_chain(t, max_depth=12)
        finally:
            del sys.modules["memreg_fake_deep"]
        self.assertIsNone(r["root"])
        self.assertEqual(r["gave_up"], {"reason": "depth", "max_depth": 12})
        self.assertEqual(len(r["steps"]), 12)
        self.assertEqual(r["holder"], "<list held by ?>")

    def test_no_root_reference_count_leak(self):
        import ctypes

        t = Target()
        holder = [t]
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(holder))  # what a buggy C extension does
        wr = weakref.ref(t)
        del holder, t
        t = wr()
        r = probe.find_chain(t)
        self.assertIsNone(r["root"])
        self.assertEqual(r["gave_up"], {"reason": "no_root", "referrers": True})
        self.assertEqual(path_of(r), "<list held by ?>[0]")

    def test_no_referrer_at_all(self):
        import ctypes

        t = Target()
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(t))
        wr = weakref.ref(t)
        del t
        r = probe.find_chain(wr())
        self.assertEqual((r["holder"], r["steps"]), (None, []))
        self.assertEqual(r["gave_up"], {"reason": "no_root", "referrers": False})

    def test_huge_graph_gives_up_within_its_budget(self):
        """1M lists in 20,000 chains of 50 that all end at one object: the search
        must stop within its budget (plus at most one heap scan) and say so."""
        code = r"""
import sys, json, gc, weakref
sys.path.insert(0, sys.argv[1])
import probe_parts
probe = probe_parts.load("referrers")
class Target:
    pass
t = Target()
tops = []
for i in range(20000):
    node = [t]
    for _ in range(49):
        node = [node]
    tops.append(node)
node = None
ref = weakref.ref(t)
del t  # held by the chains only
gc.collect()
n = len(gc.get_objects())
r = probe.find_chain(ref(), budget_s=1.0, max_depth=100)
alive = sys.getrefcount(ref()) - 1  # the call's own reference
print("@@" + json.dumps({"objects": n, "result": r, "refs": alive}))
"""
        p = subprocess.run([sys.executable, "-c", code, HERE], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = json.loads(p.stdout.decode().split("@@", 1)[1])
        r = out["result"]
        self.assertGreater(out["objects"], 1000000)
        self.assertIsNone(r["root"])
        self.assertEqual(r["gave_up"]["reason"], "time", r["gave_up"])
        self.assertEqual(r["gave_up"]["budget_s"], 1.0)
        self.assertGreater(r["gave_up"]["inspected"], 1000)
        self.assertLess(r["seconds"], 2.0, r)
        self.assertEqual(r["holder"], "<list held by ?>")
        # the 20,000 innermost lists, nothing the search kept
        self.assertEqual(out["refs"], 20000)
        if os.environ.get("MEMREG_SHOW"):
            sys.stderr.write("\n    %d objects: %s %s (%.2f s)" % (out["objects"], path_of(r)[:60],
                                                                 r["gave_up"], r["seconds"]))

    def test_zero_budget(self):
        t = Target()
        fake_module("memreg_fake_zero", it=[t])
        try:
            r = probe.find_chain(t, budget_s=0.0)
        finally:
            del sys.modules["memreg_fake_zero"]
        self.assertIsNone(r["root"])
        self.assertEqual(r["gave_up"], {"reason": "time", "budget_s": 0.0, "level": 1, "inspected": 1})


# ---------------------------------------------------------------- guarantees


class WList(list):
    pass


class WDict(dict):
    pass


class Box:
    pass


class Guarantees(unittest.TestCase):
    def structure(self):
        t = Target()
        box = Box()
        box.payload = t
        lst = WList([0, box])
        d = WDict(request=lst)
        m = fake_module("memreg_fake_alive", registry=d)
        return m, [t, box, lst, d]

    def test_nothing_inspected_is_kept_alive(self):
        for kw in ({}, {"budget_s": 0.0}, {"max_depth": 2}):
            m, objs = self.structure()
            counts = [sys.getrefcount(o) for o in objs]
            r = probe.find_chain(objs[0], **kw)
            if not kw:
                self.assertEqual(path_of(r), "memreg_fake_alive.registry['request'][1].payload")
            self.assertEqual([sys.getrefcount(o) for o in objs], counts, kw)
            refs = [weakref.ref(o) for o in objs]
            del objs, m, r
            del sys.modules["memreg_fake_alive"]
            gc.collect()
            self.assertEqual([w() for w in refs], [None] * 4, kw)

    def test_tracker_drops_representatives(self):
        holder = fake_module("memreg_fake_tr", items=[])
        tracker = probe.Tracker()
        tracker.start()
        for _ in range(50):
            holder.items.append(Box())
        tracker.stop()
        box = probe.type_key(Box)
        grown = [g for g in tracker.growing_types(50, 10) if g["type"] == box]
        self.assertEqual(len(grown), 1)
        refs = [weakref.ref(b) for b in holder.items]
        tracker.explain(grown, 2.0, 12, 2.0)
        self.assertEqual(path_of(grown[0]["held_by"]), "memreg_fake_tr.items[25]")
        holder.items.clear()
        del sys.modules["memreg_fake_tr"], holder
        self.assertEqual([w() for w in refs if w() is not None], [])

    def test_other_threads_locals_are_released(self):
        ev = threading.Event()
        box = [Box()]
        ref = weakref.ref(box[0])

        def hold(b):
            local = b.pop()  # noqa: F841 - held by this frame only
            ev.wait()

        th = threading.Thread(target=hold, args=(box,), name="memreg-holder")
        th.start()
        while box:
            pass
        r = probe.find_chain(ref())
        self.assertEqual(r["root"], "thread_frame")
        self.assertTrue(r["holder"].startswith("<frame of thread 'memreg-holder', "), r["holder"])
        self.assertEqual(r["steps"][-1]["link"], {"path": ".f_locals['local']"})
        ev.set()
        th.join()
        del r
        gc.collect()
        self.assertIsNone(ref())

    def test_no_user_code_is_called(self):
        calls = []

        class Meta(type):
            def __getattribute__(cls, name):
                calls.append(("meta getattribute", name))
                return type.__getattribute__(cls, name)

            def __eq__(cls, other):
                calls.append("meta eq")
                return type.__eq__(cls, other)

            def __hash__(cls):
                calls.append("meta hash")
                return type.__hash__(cls)

        class Spy(metaclass=Meta):
            def __eq__(self, other):
                calls.append("eq")
                return False

            def __hash__(self):
                calls.append("hash")
                return 1

            def __repr__(self):
                calls.append("repr")
                return "Spy"

            def __getattr__(self, name):
                calls.append(("getattr", name))
                raise AttributeError(name)

            def __getattribute__(self, name):
                calls.append(("getattribute", name))
                return object.__getattribute__(self, name)

            @property
            def prop(self):
                calls.append("property")
                return None

        class SpyDict(dict):
            def items(self):
                calls.append("items")
                return dict.items(self)

            def keys(self):
                calls.append("keys")
                return dict.keys(self)

            def __iter__(self):
                calls.append("dict iter")
                return dict.__iter__(self)

            def __getitem__(self, k):
                calls.append("getitem")
                return dict.__getitem__(self, k)

        class SpyList(list):
            def __iter__(self):
                calls.append("list iter")
                return list.__iter__(self)

            def __getitem__(self, i):
                calls.append("list getitem")
                return list.__getitem__(self, i)

            def __len__(self):
                calls.append("len")
                return list.__len__(self)

        t = Spy()
        holder = Spy()
        object.__setattr__(holder, "payload", t)
        key = Spy()
        d = SpyDict()
        dict.__setitem__(d, key, SpyList([0, holder]))
        fake_module("memreg_fake_spy", registry=d)
        del calls[:]
        r = probe.find_chain(t)
        seen = list(calls)
        del sys.modules["memreg_fake_spy"]
        self.assertEqual(seen, [])
        self.assertIsNotNone(r["root"], r)
        self.assertEqual(path_of(r), "memreg_fake_spy.registry[<%s>][1].payload" % probe.type_key(Spy))


if __name__ == "__main__":
    unittest.main()
