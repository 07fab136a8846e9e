# memreg probe, referrers: who keeps a leaked object alive, and uncollectable
# garbage. Loaded by core.py's main for `attribute` only (need("referrers")): the
# measuring processes never load it, so detection does not pay for it. Standard
# library only, CPython 3.8-3.13. Its answers are data (the record's `held_by` and
# `uncollectable`); the sentences that explain them are memreg's (src/report/prose.rs).
#
#     tracker = Tracker()
#     tracker.start()                  # after setup and warm-up
#     for _ in repeat(None, n): exec(body, ns)
#     tracker.stop()                   # collects; keeps one object per new type
#     grown = tracker.growing_types(n, top)          # objgraph's show_growth
#     tracker.explain(grown, budget_s, max_depth, total_s)  # adds grown[i]["held_by"]
#     garbage = tracker.uncollectable(n)
#
# How the representative is found. start() runs gc.collect() and gc.freeze(): every
# object that exists then moves to the collector's permanent generation, which
# gc.get_objects() does not list. After the iterations, stop() runs gc.collect() and
# gc.get_objects() lists exactly the gc-tracked objects created (or newly tracked)
# during the iterations that are still alive: no copy of the heap, no set of ids,
# O(1) memory at start. For each type the representative is the middle one of those
# (in the collector's order, which is creation order): the last ones are often still
# held by the body's own variables (`req = Request()` leaves the last request in a
# scenario global), the middle one is held only by whatever accumulates them.
#
# The search (find_chain) goes backwards from the object with gc.get_referrers,
# breadth-first, one heap scan per batch of up to 32 objects of a level (a scan of
# a 1M-object heap costs ~25 ms for 1 object, ~60 ms for 16), and stops at the first
# root: a module's __dict__ (module global), a class that its module names by its
# qualified name (class attribute, or class), a local of another thread's frame
# (thread frame), a module's internal state (atexit on 3.8-3.10). A closure's
# function and a class made at run time (namedtuple() per call) are searched through
# (`app.handler.__closure__[0].cell_contents` names the global holding the
# function, and the free variable) and are the root only if nothing beyond them is
# found. Registries are module globals or class attributes and are labelled by their
# path: sys.modules, gc.garbage, logging's manager, weakref.finalize's registry.
# atexit's callbacks are invisible to the collector on 3.11+: the Tracker reports
# atexit._ncallbacks() growth instead. Frames running the probe's own code (these
# globals) and this thread's frames are never roots.
#
# It never calls repr(), __eq__, __hash__, __getattr__, properties or overridden
# methods of user objects: containers are read through the C methods of their base
# type (dict.items(d), list.__iter__(l)), attributes through the C descriptors of
# __dict__ and __slots__ (member_descriptor / getset_descriptor), and only dict keys
# of exact simple types (str, int, float, bytes, bool, None and tuples of them) are
# repr()'d. Side effects that remain, on the objects along the chain only: reading an
# instance's __dict__ on 3.11+ materialises it (as vars() would), a function's
# __dict__ / __annotations__ getter creates an empty dict when there is none, and
# frame.f_locals on 3.8-3.12 refreshes the frame's locals dict (as a debugger does).
# Every inspected object is held in one list that is cleared before find_chain
# returns.
#
# A chain, as the record carries it:
#   {"holder": "reqapp",                       where the path starts (None: no referrer)
#    "steps": [{"link": {"path": "._registry"}, "type": "dict"}, ...],
#              (a link is {"path": fragment}, or "set_member", "dict_key", "internal")
#    "root": "module_global" | ... | None,     None: the search gave up
#    "closure": {"variable", "function"} | None,   the first closure on the way
#    "gave_up": {"reason": ...} | None,        why there is no root
#    "beyond": {"reason": ...} | None,         a closure or run-time class taken as the
#                                              root because nothing beyond it was found
#    "levels", "inspected", "seconds"}

import gc
import os
import sys
import time
import types
import weakref

_G = globals()  # frames running this module's code have these globals: skipped
_clock = time.perf_counter

_type_mro = type.__dict__["__mro__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_proxy = type.__dict__["__dict__"].__get__
_type_flags = type.__dict__["__flags__"].__get__
_HEAPTYPE = 1 << 9

_GetSet = types.GetSetDescriptorType
_Member = types.MemberDescriptorType
_Function = types.FunctionType
_Method = types.MethodType
_Module = types.ModuleType
_Frame = types.FrameType
_Generator = types.GeneratorType
_Coroutine = types.CoroutineType
_AsyncGen = types.AsyncGeneratorType
_MappingProxy = types.MappingProxyType
_NoneType = type(None)
_WeakRef = type(weakref.ref(type))
_SIMPLE = (str, int, float, bytes, bool, _NoneType)

BATCH = 32  # objects per gc.get_referrers call
MAX_NODES = 200000  # objects one search may hold


def _closure_cell_type():
    x = 0

    def f():
        return x

    return type(f.__closure__[0])


_Cell = _closure_cell_type()


# ---------------------------------------------------------------- naming helpers


def _mro(t):
    try:
        return _type_mro(t)
    except Exception:
        return (t,)


def _is_sub(t, base):
    for b in _mro(t):
        if b is base:
            return True
    return False


def _str_or(value, default):
    return value if type(value) is str else default


def type_key(t):
    """A type's name as the probe counts types: 'module.Qualname', or 'Qualname' for
    builtins. Read through type's own descriptors (no metaclass properties)."""
    try:
        qual = _str_or(_type_qualname(t), "?")
    except Exception:
        qual = "?"
    try:
        mod = _str_or(_type_module(t), None)
    except Exception:
        mod = None
    if mod is None or mod == "builtins":
        return qual
    return mod + "." + qual


def _real_dict(t):
    """The dict behind a class's mappingproxy (mappingproxy's traverse visits it)."""
    try:
        refs = gc.get_referents(_type_proxy(t))
    except Exception:
        return None
    for r in refs:
        if type(r) is dict:
            return r
    return None


def _class_lookup(t, name):
    """The raw attribute `name` in class t's own __dict__ (no descriptors run)."""
    d = _real_dict(t)
    if d is None:
        return None
    return dict.get(d, name)


def _simple(k, depth=0):
    t = type(k)
    for s in _SIMPLE:  # not `t in _SIMPLE`: that would call a metaclass's __eq__
        if t is s:
            return True
    if t is tuple and depth < 2 and len(k) <= 8:
        for x in tuple.__iter__(k):
            if not _simple(x, depth + 1):
                return False
        return True
    return False


def _key_text(k):
    """repr() of a dict key of an exact simple type (truncated), else <TypeName>."""
    if _simple(k):
        try:
            text = repr(k)
        except Exception:  # e.g. an int beyond the str conversion limit
            text = "<%s>" % type(k).__name__
        if len(text) > 80:
            text = text[:77] + "..."
        return text
    return "<%s>" % type_key(type(k))


def _is_identifier(k):
    return type(k) is str and k.isidentifier()


def _instance_dict(obj, t):
    """obj's __dict__ through the C getset of the first class that defines it, or None
    (a user property named __dict__ is never called)."""
    for klass in _mro(t):
        desc = _class_lookup(klass, "__dict__")
        if desc is None:
            continue
        if type(desc) is _GetSet:
            try:
                d = desc.__get__(obj, t)
            except Exception:
                return None
            return d if type(d) is dict else None
        return None
    return None


def _slot_names(t):
    """(name, member_descriptor) for __slots__ and C members along t's mro."""
    out = []
    for klass in _mro(t):
        d = _real_dict(klass)
        if d is None:
            continue
        for name, desc in dict.items(d):
            if type(desc) is _Member and type(name) is str:
                out.append((name, desc))
    return out


# getsets of C types that are unsafe or pointless to read while searching
_SKIP_GETSETS = frozenset(
    ("f_locals", "__dict__", "f_trace", "__weakref__", "__doc__", "__text_signature__")
)


def _getset_names(t):
    """(name, getset_descriptor) of the non-heap (C) classes along t's mro."""
    out = []
    for klass in _mro(t):
        try:
            if _type_flags(klass) & _HEAPTYPE:
                continue
        except Exception:
            continue
        d = _real_dict(klass)
        if d is None:
            continue
        for name, desc in dict.items(d):
            if type(desc) is _GetSet and type(name) is str and name not in _SKIP_GETSETS:
                out.append((name, desc))
    return out


def _frame_name(f):
    """`run() at app/worker.py:12`: the file relative to the working directory when
    inside it, else its name (`threading.py`)."""
    code = f.f_code
    name = getattr(code, "co_qualname", None) or code.co_name
    filename = code.co_filename
    try:
        cwd = os.getcwd() + os.sep
        path = os.path.abspath(filename)
        filename = path[len(cwd):] if path.startswith(cwd) else os.path.basename(path) or filename
    except (OSError, ValueError):
        pass
    return "%s() at %s:%s" % (name, filename, f.f_lineno)


def _frame_items(f):
    """(name, value) of frame f's locals: a dict (3.8-3.12) or the C FrameLocalsProxy
    (3.13); a user mapping given to exec() as locals is not read."""
    loc = f.f_locals
    t = type(loc)
    if t is dict:
        return list(dict.items(loc))
    if not _type_flags(t) & _HEAPTYPE and hasattr(t, "items"):
        return list(loc.items())
    return []


def _frame_local(f, obj):
    """Name of the local of frame f that is obj, or None."""
    try:
        for k, v in _frame_items(f):
            if v is obj:
                return k if type(k) is str else "?"
    except Exception:
        pass
    return None


# ---------------------------------------------------------------- links
#
# A link says how a referrer R refers to an object C:
#   ("key", text)        R[text]            dict value
#   ("dictkey",)         a key of dict R
#   ("index", i)         R[i]               list, tuple, deque
#   ("member",)          member of set R
#   ("attr", name)       R.name             __slots__, C members and getsets, functions
#   ("dict",)            R.__dict__ is C    (collapsed with the next key into .name)
#   ("typedict",)        class R's __dict__ (collapsed likewise)
#   ("cell",)            R.cell_contents
#   ("local", name)      local `name` of frame R
#   ("genlocal", a, n)   local `n` of generator/coroutine R's frame (attribute a)
#   ("internal", type)   R refers to C from C code with no name for it


def _link(R, C):
    t = type(R)
    try:
        return _link_unsafe(R, C, t)
    except Exception:  # a container changed under us, an odd C type, ...
        return ("internal", type_key(t))


def _link_unsafe(R, C, t):
    if t is dict or _is_sub(t, dict):
        for k, v in dict.items(R):
            if v is C:
                return ("key", _key_text(k))
        for k in dict.keys(R):
            if k is C:
                return ("dictkey",)
    elif t is list or t is tuple or _is_sub(t, list) or _is_sub(t, tuple):
        it = list.__iter__(R) if _is_sub(t, list) else tuple.__iter__(R)
        i = 0
        for x in it:
            if x is C:
                return ("index", i)
            i += 1
    elif t is set or t is frozenset or _is_sub(t, set) or _is_sub(t, frozenset):
        return ("member",)
    elif t is _Cell:
        return ("cell",)
    elif t is _Method:
        if R.__self__ is C:
            return ("attr", "__self__")
        if R.__func__ is C:
            return ("attr", "__func__")
    elif t is _Function:
        # __dict__ and __annotations__ last: their getters create an empty dict when
        # the function has none
        for name in ("__closure__", "__defaults__", "__kwdefaults__", "__globals__",
                     "__code__", "__builtins__", "__dict__", "__annotations__"):
            try:
                if getattr(R, name) is C:
                    return ("dict",) if name == "__dict__" else ("attr", name)
            except AttributeError:
                pass
        d = _instance_dict(R, t)
        if d is not None:
            for k, v in dict.items(d):
                if v is C:
                    return ("attr", k) if _is_identifier(k) else ("internal", "function")
    elif t is _Frame:
        name = _frame_local(R, C)
        if name is not None:
            return ("local", name)
        if R.f_back is C:
            return ("attr", "f_back")
    elif t is _Generator or t is _Coroutine or t is _AsyncGen:
        attr = {_Generator: "gi_frame", _Coroutine: "cr_frame", _AsyncGen: "ag_frame"}[t]
        f = getattr(R, attr, None)
        if f is C:
            return ("attr", attr)
        if f is not None:
            name = _frame_local(f, C)
            if name is not None:
                return ("genlocal", attr, name)
    elif t is _Module or _is_sub(t, _Module):
        if _Module.__dict__["__dict__"].__get__(R) is C:
            return ("dict",)
        return ("internal", type_key(t))
    elif _is_sub(t, type):
        if _real_dict(R) is C:
            return ("typedict",)
        for name in ("__mro__", "__bases__", "__base__"):
            try:
                if type.__dict__[name].__get__(R) is C:
                    return ("attr", name)
            except Exception:
                pass
        return ("internal", type_key(t))
    elif t is _MappingProxy:
        return ("internal", "mappingproxy")
    else:
        deque = _deque_type()
        if deque is not None and _is_sub(t, deque):
            i = 0
            for x in deque.__iter__(R):
                if x is C:
                    return ("index", i)
                i += 1
    # attributes: __slots__ and C members, the instance __dict__, C getsets
    for name, desc in _slot_names(t):
        try:
            if desc.__get__(R, t) is C:
                return ("attr", name)
        except Exception:
            pass
    d = _instance_dict(R, t)
    if d is not None:
        if d is C:
            return ("dict",)
        for k, v in dict.items(d):
            if v is C:
                return ("attr", k) if _is_identifier(k) else ("key", _key_text(k))
    for name, desc in _getset_names(t):
        try:
            if desc.__get__(R, t) is C:
                return ("attr", name)
        except Exception:
            pass
    return ("internal", type_key(t))


def _deque_type():
    m = sys.modules.get("_collections")
    return getattr(m, "deque", None) if m is not None else None


# ---------------------------------------------------------------- roots


class _Roots:
    """What the search stops at, computed once per search. Holds module dicts and
    other threads' frames and locals (alive anyway); cleared by release()."""

    def __init__(self):
        self.moddicts = {}  # id(module.__dict__) -> (name, dict)
        self.tl_objs = []  # other threads' frames and their locals' values
        self.tl_index = {}  # id(local value) -> (position in tl_objs, frame position, name)
        self.tl_frames = {}  # id(frame) -> (position in tl_objs, description)
        self.cur_frames = set()  # ids of this thread's frames
        moddict_get = _Module.__dict__["__dict__"].__get__
        for name, m in list(dict.items(sys.modules)):
            if type(name) is str and _is_sub(type(m), _Module):
                try:
                    d = moddict_get(m)
                except Exception:
                    continue
                if type(d) is dict:
                    self.moddicts.setdefault(id(d), (name, d))
        name = m = d = None
        f = sys._getframe()
        while f is not None:
            self.cur_frames.add(id(f))
            f = f.f_back
        self._thread_locals()

    def _thread_locals(self):
        me = _get_ident()
        names = _thread_names()
        objs = self.tl_objs
        for ident, top in list(dict.items(sys._current_frames())):
            if ident == me:
                continue
            tname = names.get(ident, "thread %d" % ident)
            f = top
            while f is not None:
                if f.f_globals is not _G:
                    fpos = len(objs)
                    objs.append(f)
                    self.tl_frames[id(f)] = (fpos, "%s, %s" % (tname, _frame_name(f)))
                    try:
                        items = _frame_items(f)
                    except Exception:
                        items = []
                    for k, v in items:
                        if id(v) not in self.tl_index:  # the innermost frame names it
                            self.tl_index[id(v)] = (len(objs), fpos, k if type(k) is str else "?")
                            objs.append(v)
                    items = k = v = None
                f = f.f_back
            top = None

    def own_ids(self):
        return {id(self.tl_objs), id(self.moddicts), id(self.tl_index), id(self.tl_frames)}

    def release(self):
        self.moddicts.clear()
        del self.tl_objs[:]
        self.tl_index.clear()
        self.tl_frames.clear()


def _get_ident():
    import _thread

    return _thread.get_ident()


def _thread_names():
    """{ident: "thread 'name'"} from threading._active, read without user code."""
    out = {}
    threading = sys.modules.get("threading")
    if threading is None:
        return out
    active = getattr(threading, "_active", None)
    if type(active) is not dict:
        return out
    for ident, th in list(dict.items(active)):
        d = _instance_dict(th, type(th))
        name = dict.get(d, "_name") if d is not None else None
        out[ident] = "thread %r" % name if type(name) is str else "thread %s" % ident
    return out


# ---------------------------------------------------------------- the search


def find_chain(target, budget_s=2.0, max_depth=12, exclude=()):
    """The shortest chain of references from a root to `target`.

    Breadth-first backwards with gc.get_referrers, at most `max_depth` links (a
    collapsed instance or class __dict__ does not count), for at most `budget_s`
    seconds (one heap scan may overrun it). `exclude`: ids of the caller's containers
    that hold `target`. Returns a chain (see the module comment); holds no reference
    to anything it inspected once it returns."""
    t0 = _clock()
    if gc.get_freeze_count():
        gc.unfreeze()  # frozen objects are invisible to gc.get_referrers
    old_switch = sys.getswitchinterval()
    # Other threads do not run Python code (and so do not mutate containers) while
    # we read them; one search is bounded by its budget.
    sys.setswitchinterval(max(old_switch, budget_s + 1.0))
    nodes = [target]
    target = None
    roots = None
    try:
        roots = _Roots()
        return _search(nodes, roots, t0, budget_s, max_depth, set(exclude))
    except Exception as e:  # pragma: no cover - a bug or a hostile heap
        failed = {"reason": "failed", "message": "%s: %s" % (type(e).__name__, e)}
        return _result(None, [], None, None, failed, 0, len(nodes), t0)
    finally:
        del nodes[:]
        if roots is not None:
            roots.release()
        roots = None
        sys.setswitchinterval(old_switch)


def _search(nodes, roots, t0, budget_s, max_depth, exclude):
    deadline = t0 + budget_s
    parent = [-1]
    links = [None]
    depth = [0]  # rendered links from the node to the target
    is_root = {}  # node index -> (kind, holder, frame description, soft)
    soft_classes = set()  # node indices of classes that are not roots
    seen = {id(nodes[0])}
    own = roots.own_ids() | exclude | {id(nodes), id(parent), id(links), id(is_root)}
    moddicts = roots.moddicts
    tl_index = roots.tl_index
    tl_frames = roots.tl_frames
    cur_frames = roots.cur_frames

    def add(obj, child, link, root=None):
        nodes.append(obj)
        parent.append(child)
        links.append(link)
        step = 0 if link[0] in ("dict", "typedict") else 1
        depth.append(depth[child] + step)
        i = len(nodes) - 1
        if root is not None:
            is_root[i] = root
        return i

    def local_root(i):
        """If node i is a local of another thread's frame, add that frame as root."""
        entry = tl_index.get(id(nodes[i]))
        if entry is None or roots.tl_objs[entry[0]] is not nodes[i]:
            return None
        frame = roots.tl_objs[entry[1]]
        return add(frame, i, ("local", entry[2]), ("thread_frame", None, tl_frames[id(frame)][1], False))

    found = local_root(0)
    if found is not None:
        return _finish(nodes, parent, links, is_root, found, 0, t0, None)

    # A closure's function, or a class that cannot be reached by its name (made at
    # run time: namedtuple() per call), is a root only if nothing beyond it is: the
    # search goes on through it and falls back on the first one.
    fallback = None
    frontier = [0]
    level = 0
    dropped_by_depth = False
    reason = None
    while frontier and reason is None:
        level += 1
        nxt = []
        found = []
        for b in range(0, len(frontier), BATCH):
            if _clock() > deadline:
                reason = {"reason": "time", "budget_s": budget_s, "level": level, "inspected": len(nodes)}
                break
            idx = frontier[b:b + BATCH]
            batch = tuple([nodes[i] for i in idx])
            refs = gc.get_referrers(*batch)
            skip = (id(batch), id(refs))
            batch = None
            pos = {id(nodes[i]): i for i in idx} if len(idx) > 1 else None
            n = 0
            for R in refs:
                rid = id(R)
                if rid in own or rid in skip or rid in seen:
                    continue
                n += 1
                if not n & 255 and _clock() > deadline:
                    break
                rt = type(R)
                if rt is _Frame:
                    if rid in cur_frames or R.f_globals is _G:
                        continue
                if pos is None:
                    children = idx
                else:
                    children = [pos[j] for j in map(id, gc.get_referents(R)) if j in pos]
                for c in children:
                    if c in soft_classes and rt is nodes[c]:
                        continue  # its instances: a class is wanted for its holder
                    link, root = _classify(R, rid, rt, nodes[c], moddicts, tl_frames, roots)
                    i = add(R, c, link, root)
                    if root is not None and not root[3]:
                        found.append(i)
                        continue
                    if root is not None:
                        if fallback is None:
                            fallback = i
                        if root[0] in ("class", "class_attribute"):
                            soft_classes.add(i)
                    seen.add(rid)
                    if len(nodes) > MAX_NODES:
                        reason = {"reason": "too_many", "max_objects": MAX_NODES}
                        break
                    lr = local_root(i)
                    if lr is not None:
                        found.append(lr)
                        break
                    if depth[i] < max_depth:
                        nxt.append(i)
                    else:
                        dropped_by_depth = True
                    break  # R is a node now: one link to one child is enough
                R = None
                if reason is not None:
                    break
            refs = R = None
            if found:
                # Roots at the same depth: the user's code first (see _root_rank)
                results = [_finish(nodes, parent, links, is_root, i, level, t0, None)
                           for i in found[:16]]
                results.sort(key=_root_rank)
                return results[0]
            if reason is not None:
                break
        frontier = nxt
    if reason is None:
        if dropped_by_depth:
            reason = {"reason": "depth", "max_depth": max_depth}
        else:
            # Held by C code the collector cannot see: an extension's static or cache,
            # a reference-count leak, or on 3.11+ an atexit callback or a running
            # frame's value stack. `referrers`: whether the chain got beyond the object.
            reason = {"reason": "no_root", "referrers": len(nodes) > 1}
    if fallback is not None:
        return _finish(nodes, parent, links, is_root, fallback, level, t0, reason)
    return _give_up(nodes, parent, links, level, t0, reason)


def _module_file(name):
    m = dict.get(sys.modules, name)
    if m is None or not _is_sub(type(m), _Module):
        return None
    f = dict.get(_Module.__dict__["__dict__"].__get__(m), "__file__")
    return f if type(f) is str else None


def _stdlib_dir():
    f = _module_file("os")
    return f[: max(f.rfind("/"), f.rfind("\\")) + 1] if f else None


def _root_rank(result):
    """Order of preference between roots found at the same depth: a thread's frame,
    then the user's modules, then the interpreter's registries, then the rest of
    the standard library; shorter paths first."""
    kind = result["root"]
    path = _path(result)
    if kind == "thread_frame":
        rank = 0
    elif kind in ("module_global", "class_attribute", "class"):
        rank = 3 if _is_stdlib(path.split(".", 1)[0].split("[", 1)[0]) else 1
    elif kind in ("sys_modules", "gc_garbage", "logging_manager", "weakref_finalize", "atexit"):
        rank = 2
    else:
        rank = 4
    return (rank, len(path), path)


def _is_stdlib(top):
    """Is top-level module `top` part of the standard library?"""
    if top in sys.builtin_module_names:
        return True
    f = _module_file(top)
    if f is None:
        return False
    std = _stdlib_dir()
    return bool(std) and f.startswith(std) and "-packages" not in f


def _resolvable(t):
    """Is class t what its module's globals name by its qualified name?"""
    try:
        mod = _type_module(t)
        qual = _type_qualname(t)
    except Exception:
        return False
    if type(mod) is not str or type(qual) is not str or "<" in qual:
        return False
    m = dict.get(sys.modules, mod)
    if m is None or not _is_sub(type(m), _Module):
        return False
    obj = m
    for part in qual.split("."):
        if _is_sub(type(obj), _Module):
            d = _Module.__dict__["__dict__"].__get__(obj)
        elif _is_sub(type(obj), type):
            d = _real_dict(obj)
        else:
            return False
        if type(d) is not dict:
            return False
        obj = dict.get(d, part)
    return obj is t


def _classify(R, rid, rt, C, moddicts, tl_frames, roots):
    """(link from R to C, root description (kind, holder, frame, soft) or None)."""
    m = moddicts.get(rid)
    if m is not None and m[1] is R:
        for k, v in dict.items(R):
            if v is C:
                return ("key", _key_text(k)), ("module_global", m[0], None, False)
        return ("dictkey",), ("module_global", m[0], None, False)
    if rt is _Frame:
        fr = tl_frames.get(rid)
        if fr is not None:
            name = _frame_local(R, C)
            link = ("local", name) if name is not None else _link(R, C)
            return link, ("thread_frame", None, fr[1], False)
        return _link(R, C), None
    if rt is _Module or _is_sub(rt, _Module):
        link = _link(R, C)
        name = _module_name(R)
        if link[0] == "dict":
            return link, ("module_global", "<module %r not in sys.modules>" % name, None, False)
        if name == "atexit":
            return ("internal", "atexit"), ("atexit", "atexit", None, False)
        return link, ("module_state", name, None, False)
    if _is_sub(rt, type):
        link = _link(R, C)
        kind = "class_attribute" if link[0] == "typedict" else "class"
        return link, (kind, type_key(R), None, not _resolvable(R))
    if rt is _Function:
        link = _link(R, C)
        if link == ("attr", "__closure__"):
            return link, ("closure_cell", _function_name(R), None, True)
        return link, None
    return _link(R, C), None


def _module_name(m):
    try:
        d = _Module.__dict__["__dict__"].__get__(m)
        name = dict.get(d, "__name__")
    except Exception:
        name = None
    return name if type(name) is str else "?"


def _function_name(f):
    mod = f.__module__ if type(f.__module__) is str else None
    qual = f.__qualname__ if type(f.__qualname__) is str else "?"
    return mod + "." + qual if mod else qual


# ---------------------------------------------------------------- results


def _relabel(kind, path):
    """Registries inside the interpreter are module globals or class attributes:
    name them by what they are."""
    prefixes = (
        ("sys.modules", "sys_modules"),
        ("gc.garbage", "gc_garbage"),
        ("logging.Logger.manager", "logging_manager"),
        ("logging.Logger.root", "logging_manager"),
        ("logging.root", "logging_manager"),
        ("logging.Manager.root", "logging_manager"),
        ("weakref.finalize._registry", "weakref_finalize"),
    )
    for prefix, label in prefixes:
        if path.startswith(prefix) and path[len(prefix):len(prefix) + 1] in ("", ".", "[", " "):
            return label
    return kind


def _wire_link(link):
    """A link as the record carries it: {"path": fragment} when a path can spell it,
    else what kind of reference it is (the words are memreg's)."""
    kind = link[0]
    if kind == "dictkey":
        return "dict_key"
    if kind == "member":
        return "set_member"
    if kind == "key":
        return {"path": "[%s]" % link[1]}
    if kind == "index":
        return {"path": "[%d]" % link[1]}
    if kind == "attr":
        return {"path": "." + link[1]}
    if kind in ("dict", "typedict"):
        return {"path": ".__dict__"}
    if kind == "cell":
        return {"path": ".cell_contents"}
    if kind == "closure":
        return {"path": ".__closure__[%d].cell_contents" % link[1]}
    if kind == "local":
        return {"path": ".f_locals[%r]" % (link[1],)}
    if kind == "genlocal":
        return {"path": ".%s.f_locals[%r]" % (link[1], link[2])}
    return "internal"


def _path(result):
    """The chain as one expression (links a path cannot spell shown by kind): what
    root ranking and registry labels look at."""
    out = [result["holder"] or ""]
    for step in result["steps"]:
        link = step["link"]
        out.append(link["path"] if type(link) is dict else " (%s)" % link)
    return "".join(out)


def _steps(nodes, parent, links, start):
    """Steps from node `start` down to the target (index 0), collapsing
    `x.__dict__` + `['name']` into `.name` and a function's `.__closure__` + `[i]` +
    `.cell_contents` into one step. Returns (steps, closure): the first closure on
    the way, {"variable", "function"}, or None."""
    steps = []
    closure = None
    i = start
    while i != 0:
        link = links[i]
        child = parent[i]
        if link[0] in ("dict", "typedict") and child != 0:
            nl = links[child]
            if nl[0] == "key" and _is_repr_identifier(nl[1]):
                link = ("attr", nl[1][1:-1])
                child = parent[child]
        elif link == ("attr", "__closure__") and child != 0 and links[child][0] == "index":
            cell = parent[child]
            if cell != 0 and links[cell] == ("cell",):
                k = links[child][1]
                fn = nodes[i]
                try:
                    var = fn.__code__.co_freevars[k]
                except Exception:
                    var = "?"
                if closure is None:
                    closure = {"variable": var, "function": _function_name(fn)}
                fn = None
                link = ("closure", k)
                child = parent[cell]
        steps.append({"link": _wire_link(link), "type": type_key(type(nodes[child]))})
        i = child
    return steps, closure


def _is_repr_identifier(text):
    return (len(text) > 2 and text[0] == text[-1] and text[0] in "'\""
            and text[1:-1].isidentifier())


def _finish(nodes, parent, links, is_root, r, level, t0, beyond):
    """The chain from root node r; `beyond`: why nothing beyond a soft root (a
    closure, a run-time class) was found, when it is one."""
    kind, holder, frame, _soft = is_root[r]
    link = links[r]
    if kind == "module_global" and _is_sub(type(nodes[r]), dict):
        # the root node is the module's __dict__: module.name
        child = parent[r]
        value_type = type_key(type(nodes[child]))
        if link[0] == "key" and _is_repr_identifier(link[1]):
            first = [{"link": {"path": "." + link[1][1:-1]}, "type": value_type}]
        elif link[0] == "key":
            first = [{"link": {"path": ".__dict__[%s]" % link[1]}, "type": value_type}]
        else:
            first = [{"link": {"path": ".__dict__"}, "type": "dict"},
                     {"link": _wire_link(link), "type": value_type}]
        rest, closure = _steps(nodes, parent, links, child)
        steps = first + rest
    else:
        if kind == "thread_frame":
            holder = "<frame of %s>" % frame
        steps, closure = _steps(nodes, parent, links, r)
    result = _result(holder, steps, kind, closure, None, level, len(nodes), t0)
    result["root"] = _relabel(kind, _path(result))
    result["beyond"] = beyond
    return result


def _give_up(nodes, parent, links, level, t0, reason):
    # The partial chain from the farthest object reached (the last one added).
    far = len(nodes) - 1
    if far == 0:
        return _result(None, [], None, None, reason, level, len(nodes), t0)
    base = _subclass_registry(nodes, parent, links, far) if reason["reason"] == "no_root" else None
    if base is not None:
        # CPython's weak registry of a class's subclasses (tp_subclasses), which the
        # collector does not traverse for built-in classes
        steps, closure = _steps(nodes, parent, links, parent[far])
        first = {"link": {"path": "[...]"}, "type": type_key(type(nodes[parent[far]]))}
        return _result("%s.__subclasses__()" % type_key(base), [first] + steps, "subclass_registry",
                       closure, None, level, len(nodes), t0)
    steps, closure = _steps(nodes, parent, links, far)
    return _result("<%s held by ?>" % type_key(type(nodes[far])), steps, None, closure, reason,
                   level, len(nodes), t0)


def _subclass_registry(nodes, parent, links, far):
    """The class whose tp_subclasses dict is node `far`, if it is one: a dict keyed by
    id(subclass) holding weakrefs to subclasses."""
    d = nodes[far]
    if type(d) is not dict or links[far][0] != "key":
        return None
    ref = nodes[parent[far]]
    if type(ref) is not _WeakRef:
        return None
    sub = ref()
    try:
        if sub is None or not _is_sub(type(sub), type) or links[far][1] != str(id(sub)):
            return None
        for b in type.__dict__["__bases__"].__get__(sub):
            for x in type.__subclasses__(b):
                if x is sub:
                    return b
    finally:
        sub = None
    return None


def _result(holder, steps, root, closure, gave_up, levels, inspected, t0):
    return {
        "holder": holder,
        "steps": steps,
        "root": root,
        "closure": closure,
        "gave_up": gave_up,
        "beyond": None,
        "levels": levels,
        "inspected": inspected,
        "seconds": round(_clock() - t0, 4),
    }


# ---------------------------------------------------------------- tracker


class Tracker:
    """Objects created during the measured iterations, their referrer chains, and
    uncollectable garbage. See the module comment for the call sequence."""

    def __init__(self):
        self._reps = {}  # type key -> representative (until explain)
        self._new = {}  # type key -> objects tracked since start() and still alive
        self._before = {}
        self._after = {}
        self._garbage_before = 0
        self._garbage = []  # (type key, count) of new gc.garbage entries
        self._garbage_after = 0
        self._atexit = (None, None)
        self.started = False

    def start(self):
        # Counts must see every object: CPython 3.12 starts with a few hundred frozen.
        if gc.get_freeze_count():
            gc.unfreeze()
        gc.collect()
        self._before = _type_counts()
        self._garbage_before = len(gc.garbage)
        self._atexit = (_atexit_count(), None)
        gc.freeze()
        self.started = True

    def stop(self):
        if not self.started:
            raise RuntimeError("Tracker.stop() before start()")
        try:
            gc.collect()
            objs = gc.get_objects()  # only what was tracked since start(): see above
            by_type = {}
            for o in objs:
                t = type(o)
                by_type[t] = by_type.get(t, 0) + 1
            keys = {t: type_key(t) for t in by_type}
            counts = {}
            for t, c in by_type.items():
                counts[keys[t]] = counts.get(keys[t], 0) + c
            # the middle one of each type (see the module comment)
            want = {k: c // 2 for k, c in counts.items() if c > 1}
            seen = {}
            reps = self._reps
            for o in objs:
                k = keys[type(o)]
                m = want.get(k)
                if m is None:
                    continue
                n = seen.get(k, 0)
                if n == m:
                    reps[k] = o
                seen[k] = n + 1
            self._new = counts
            o = objs = t = None
            by_type = keys = want = seen = None
        finally:
            # Everything back in the collector's view, including what was frozen
            # before start() (CPython 3.12 starts with a few hundred objects frozen):
            # re-freezing would hide the iterations' objects from gc.get_objects().
            gc.unfreeze()
        gc.collect()
        self._after = _type_counts()
        garbage = gc.garbage
        self._garbage_after = len(garbage)
        start = self._garbage_before if len(garbage) >= self._garbage_before else 0
        kinds = {}
        for o in list.__iter__(garbage[start:]):
            k = type_key(type(o))
            kinds[k] = kinds.get(k, 0) + 1
        o = None
        self._garbage = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        self._atexit = (self._atexit[0], _atexit_count())
        # The dict of representatives is one more tracked dict than before.
        if gc.is_tracked(self._reps) and self._after.get("dict", 0) > 0:
            self._after["dict"] -= 1

    def growing_types(self, iterations, top):
        """Types whose count grew by more than one object (one object more is a
        one-off, not growth), most per iteration first: objgraph's show_growth."""
        grown = []
        for key, count in self._after.items():
            delta = count - self._before.get(key, 0)
            if delta > 1:
                grown.append({
                    "type": key,
                    "per_iteration": delta / iterations,
                    "before": self._before.get(key, 0),
                    "after": count,
                })
        grown.sort(key=lambda g: (-g["per_iteration"], g["type"]))
        return grown[:top]

    def explain(self, grown, budget_s, max_depth, total_s):
        """Sets grown[i]["held_by"]: the referrer chain of the representative of each
        type growing_types returned, each search within budget_s and all within
        total_s. Drops every representative, so it runs once."""
        t_end = _clock() + total_s
        reps = self._reps
        for g in grown:
            obj = reps.pop(g["type"], None)
            if obj is None:
                # Fewer than 2 objects of the type made during the iterations are
                # alive: its count grew through older objects the collector started
                # tracking.
                chain = _result(None, [], None, None, {"reason": "not_found"}, 0, 0, _clock())
            else:
                budget = min(budget_s, max(0.0, t_end - _clock()))
                chain = find_chain(obj, budget, max_depth, exclude=(id(reps), id(self.__dict__)))
                obj = None
            g["held_by"] = chain
        reps.clear()

    def uncollectable(self, iterations):
        """gc.garbage growth over the iterations, by type: objects the collector found
        unreachable but could not free (or kept: gc.DEBUG_SAVEALL)."""
        grown = self._garbage_after - self._garbage_before
        return {
            "per_iteration": grown / iterations,
            "types": [{"type": k, "per_iteration": n / iterations} for k, n in self._garbage],
            "debug_saveall": bool(gc.get_debug() & gc.DEBUG_SAVEALL),
        }

    def atexit_growth(self, iterations):
        """atexit registrations per iteration (None where atexit cannot count them):
        they hold their callbacks and arguments out of the collector's sight on 3.11+,
        so a chain through them gives up."""
        a0, a1 = self._atexit
        return None if a0 is None or a1 is None else (a1 - a0) / iterations


def _type_counts():
    """{type key: gc-tracked objects} (by type object first: naming each type once
    is 10x cheaper than naming each object)."""
    by_type = {}
    for o in gc.get_objects():
        t = type(o)
        by_type[t] = by_type.get(t, 0) + 1
    o = None
    counts = {}
    for t, c in by_type.items():
        k = type_key(t)
        counts[k] = counts.get(k, 0) + c
    return counts


def _atexit_count():
    m = sys.modules.get("atexit")
    f = getattr(m, "_ncallbacks", None) if m is not None else None
    try:
        return f() if f is not None else None
    except Exception:
        return None
