# memreg probe, counters: the readers the measuring loop samples (memory, and the
# open file descriptors and live threads), the peak RSS of the measured phase, and
# the process's own memory cap. Loaded by `measure` (see core.py). Each reader
# allocates nothing that survives a read (docs/measuring.md §1)
# and is made before scenario code runs, with every function it calls bound.

class Native:
    """The probe's native readers (src/probe/c/readers.c, built with memreg and
    written into its work directory): each counter in one C call, without a stat
    result or a ctypes structure, and without importing _ctypes and libffi (~0.8 ms
    of CPU per process; a reading of every counter ~2.7 us instead of ~4.6 us,
    docs/measuring.md §11). None where it is missing or this interpreter cannot load
    it (another architecture or C library, a free-threaded build, a `noexec` work
    directory): the readers then go through _ctypes (C, below)."""

    FILE = "_memreg_readers.so"  # src/probe/native.rs
    path = None  # set by core's main: the work directory's copy
    module = False  # not loaded yet

    @classmethod
    def load(cls):
        if cls.module is False:
            cls.module = cls._load()
        return cls.module

    @classmethod
    def _load(cls):
        if cls.path is None or sys.implementation.name != "cpython" or not sys.platform.startswith("linux"):
            return None
        import _imp

        if ".abi3.so" not in _imp.extension_suffixes():
            return None  # a free-threaded build: no stable ABI
        if hasattr(sys, "getobjects"):
            return None  # a Py_TRACE_REFS build: objects have two more fields

        class Spec:  # what _imp.create_dynamic reads of a module spec
            name = "_memreg_readers"
            origin = cls.path

        try:
            module = _imp.create_dynamic(Spec)
        except (ImportError, OSError):
            return None
        # A single-phase module is put in sys.modules: the scenario's modules are
        # its own (the probe holds the module here).
        sys.modules.pop(Spec.name, None)
        return module


def _fstat_reader(field):
    """fd -> fstat(fd).st_size or .st_nlink (`field`), by the native reader when
    there is one (no stat result object: ~0.3 us instead of ~1.5 us)."""
    native = Native.load()
    if native is not None:
        return native.size if field == "st_size" else native.links
    fstat = os.fstat
    if field == "st_size":
        return lambda fd: fstat(fd).st_size
    return lambda fd: fstat(fd).st_nlink


class C:
    """C functions called through the _ctypes extension module with the few types
    the readers need, not through the ctypes package: importing ctypes defines ~40
    types and costs ~9 M instructions in a fresh virtualenv (a quarter of an
    interpreter start), _ctypes and these types ~2 M (docs/measuring.md §11).
    Made once per process (C.load()), before scenario code runs."""

    loaded = False

    @classmethod
    def load(cls):
        if cls.loaded:
            return cls
        import _ctypes

        simple = _ctypes._SimpleCData
        # size_t is unsigned long on every LP64 and ILP32 platform memreg runs on.
        cls.size_t = type("c_size_t", (simple,), {"_type_": "L"})
        cls.void_p = type("c_void_p", (simple,), {"_type_": "P"})
        cls.char = type("c_char", (simple,), {"_type_": "c"})
        cls.char_p = type("c_char_p", (simple,), {"_type_": "z"})
        cls.int = type("c_int", (simple,), {"_type_": "i"})
        cls.uint64 = type("c_uint64", (simple,), {"_type_": "Q"})
        cls.Structure = _ctypes.Structure
        cls.byref = _ctypes.byref
        cls.pointer_to = _ctypes.POINTER
        cls._dlopen = _ctypes.dlopen
        cls._cdecl = type("CFunction", (_ctypes.CFuncPtr,), {"_flags_": _ctypes.FUNCFLAG_CDECL, "_restype_": cls.int})
        cls._pyapi = type(
            "PyFunction",
            (_ctypes.CFuncPtr,),
            {"_flags_": _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_PYTHONAPI, "_restype_": cls.int},
        )
        cls.loaded = True
        return cls

    class Library:
        """What _ctypes needs of a library to look a symbol up: its handle."""

        def __init__(self, handle):
            self._handle = handle

    @classmethod
    def library(cls, path=None):
        """A shared library (None: the process itself, libc and libpython included)."""
        return cls.Library(cls._dlopen(path))

    @classmethod
    def function(cls, lib, name, restype, argtypes, python_api=False):
        """`name` from `lib` (AttributeError when it has none), as ctypes.CDLL would
        give it, or ctypes.pythonapi with `python_api` (called holding the GIL)."""
        fn = (cls._pyapi if python_api else cls._cdecl)((name, lib))
        fn.restype = restype
        fn.argtypes = tuple(argtypes)
        return fn


def native_heap_reader(notes):
    """A function returning bytes in use by the C allocator, or None (docs/measuring.md §3).

    glibc: mallinfo2() uordblks + hblkhd (heap in use plus mmapped chunks).
    macOS: malloc_zone_statistics(NULL) size_in_use.
    """
    if sys.platform.startswith("linux"):
        native = Native.load()
        if native is not None and native.heap() >= 0:
            return native.heap
        try:
            c = C.load()
            fields = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
            MallInfo2 = type("MallInfo2", (c.Structure,), {"_fields_": [(n, c.size_t) for n in fields]})
            fn = c.function(c.library(), "mallinfo2", MallInfo2, ())
        except (ImportError, OSError, AttributeError):
            notes.append("native heap left out: mallinfo2 not found (not glibc >= 2.33)")
            return None

        def read():
            m = fn()
            return m.uordblks + m.hblkhd

        return read
    if sys.platform == "darwin":
        try:
            c = C.load()
            fields = [("blocks_in_use", c.int), ("size_in_use", c.size_t), ("max_size_in_use", c.size_t), ("size_allocated", c.size_t)]
            MallocStats = type("MallocStats", (c.Structure,), {"_fields_": fields})
            lib = c.library("/usr/lib/libSystem.B.dylib")
            fn = c.function(lib, "malloc_zone_statistics", None, (c.void_p, c.pointer_to(MallocStats)))
        except (ImportError, OSError, AttributeError):
            notes.append("native heap left out: malloc_zone_statistics not found")
            return None
        stats = MallocStats()
        ref = c.byref(stats)

        def read():
            fn(None, ref)
            return stats.size_in_use

        return read
    notes.append("native heap left out: no allocator statistics on %s" % sys.platform)
    return None


def python_heap_reader(notes):
    """A function returning the bytes in pymalloc's allocated blocks (the Python heap
    that `blocks` counts, in bytes: docs/measuring.md §8), or None without pymalloc.

    Read once before setup and once at the end of the user's window, never per
    sample: CPython's own statistics (sys._debugmallocstats) cost 0.1-0.5 ms. Written
    into an open_memstream buffer (by the native reader, else through C.function),
    so stderr is never touched; where neither can, through fd 2 redirected to a
    temporary file.
    """
    if sys.implementation.name != "cpython" or not hasattr(sys, "_debugmallocstats"):
        return None
    key = b"# bytes in allocated blocks"

    def parse(text):
        i = text.find(key)
        if i < 0:
            return None
        line = text[i : text.index(b"\n", i)]
        return int(line.split(b"=")[1].strip().replace(b",", b""))

    stats_text = _pymalloc_stats_native() or _pymalloc_stats_ctypes() or _pymalloc_stats_stderr

    def read():
        return parse(stats_text())

    if read() is None:
        notes.append("held Python heap in bytes left out: pymalloc is not in use")
        return None
    return read


def _pymalloc_stats_native():
    """The statistics' text by the native reader (b"" without pymalloc), or None."""
    native = Native.load()
    if native is None:
        return None
    try:
        native.pymalloc_stats()
    except OSError:  # the interpreter does not export its statistics
        return None
    return native.pymalloc_stats


def _pymalloc_stats_ctypes():
    """The statistics' text through _ctypes (b"" without pymalloc), or None."""
    try:
        c = C.load()
        libc = c.library()
        stats = c.function(libc, "_PyObject_DebugMallocStats", c.int, (c.void_p,), python_api=True)
        open_memstream = c.function(libc, "open_memstream", c.void_p, (c.pointer_to(c.char_p), c.pointer_to(c.size_t)))
        fclose = c.function(libc, "fclose", c.int, (c.void_p,))
        free = c.function(libc, "free", None, (c.void_p,))
    except (ImportError, OSError, AttributeError):
        return None
    buf = c.char_p()
    size = c.size_t()
    buf_ref, size_ref = c.byref(buf), c.byref(size)

    def text():
        stream = open_memstream(buf_ref, size_ref)
        if not stream:
            return b""
        try:
            ok = stats(stream)
        finally:
            fclose(stream)
        out = buf.value  # the statistics are text: no NUL before `size` bytes
        free(buf)
        return out if ok else b""

    return text


def _pymalloc_stats_stderr():
    """The statistics' text, printed by sys._debugmallocstats into fd 2 redirected
    to a temporary file."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as f:
            os.dup2(f.fileno(), 2)
            try:
                sys._debugmallocstats()
            finally:
                os.dup2(saved, 2)
            f.seek(0)
            return f.read()
    finally:
        os.close(saved)


def rss_reader(notes):
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        notes.append("rss left out: /proc/self/statm not available on %s" % sys.platform)
        return None
    native = Native.load()
    if native is not None and native.resident(fd) > 0:
        resident = native.resident

        def read():
            return resident(fd)

        return read
    page = os.sysconf("SC_PAGE_SIZE")
    pread = os.pread

    def read():
        return int(pread(fd, 128, 0).split()[1]) * page

    return read


# Resource counters: exact counts, not bytes (docs/measuring.md §12). Each read
# allocates only temporaries (a stat result, an int), so sys.getallocatedblocks() is
# the same after any number of reads.

THREAD_SETTLE_S = 0.02  # longest wait for threads that are still exiting


def fd_reader(notes, force_listing=False):
    """Open file descriptors of this process, exactly.

    Linux >= 6.2: the size of /proc/self/fd is the number of open fds, read with
    fstat of a descriptor held on the directory (one syscall, ~1.5 us: half of
    os.stat by path, which walks the path each time; the held descriptor is one of
    those counted, at every read alike); older kernels report 0 there, then
    len(os.listdir(...)) - 1 (the listing opens one fd itself; ~1 us per open fd).
    macOS: /dev/fd listed the same way (what CPython's test.support.os_helper.fd_count
    does). `force_listing` takes the listing where the size would do (to test it)."""
    if sys.platform.startswith("linux"):
        path = "/proc/self/fd"
    elif sys.platform == "darwin":
        path = "/dev/fd"
    else:
        notes.append("fds left out: no /proc/self/fd or /dev/fd on %s" % sys.platform)
        return None
    listdir = os.listdir

    def by_listing():
        return len(listdir(path)) - 1

    try:
        by_listing()
    except OSError:
        notes.append("fds left out: %s cannot be listed" % path)
        return None
    if path == "/proc/self/fd" and not force_listing:
        size_of = _fstat_reader("st_size")
        held = _held_directory(path)
        for _ in range(3 if held is not None else 0):  # another thread may open or close one in between
            size = size_of(held)
            if size and size == by_listing():

                def by_size():
                    return size_of(held)

                return by_size
        if held is not None:
            os.close(held)
    return by_listing


def _held_directory(path):
    """A descriptor on the directory `path` kept for the process's life (not
    inherited), or None: fstat of it costs half of os.stat(path)."""
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None


def thread_reader(notes):
    """Live threads of this process, exactly: every thread started through Python
    (threading or _thread; blocked in C or not) plus threads started by C code.

    Python threads: _thread._count() + 1 (the main thread), decremented before join()
    returns. The operating system's count (Linux: st_nlink of /proc/self/task minus
    2, by fstat of a held descriptor) also sees C threads, but on 3.8-3.12 a joined thread is still exiting for up
    to ~0.1 ms after join() returns; so the OS count minus the Python count (the
    C threads) is accepted at once when it did not rise since the last read, and
    otherwise re-read for up to THREAD_SETTLE_S (20 ms) until it falls back: the wait is
    paid only by reads where the number of C threads rose."""
    import _thread

    count = _thread._count
    if sys.platform.startswith("linux"):
        links = _fstat_reader("st_nlink")
        held = _held_directory("/proc/self/task")
        try:
            ok = held is not None and links(held) - 2 == _proc_status_threads()
        except (OSError, ValueError):
            ok = False
        if ok:

            def os_threads():
                return links(held) - 2

        else:
            if held is not None:
                os.close(held)
            notes.append("threads: only threads started through Python are counted "
                         "(/proc/self/task does not give the thread count)")
            os_threads = None
    elif sys.platform == "darwin":
        os_threads = _darwin_threads(notes)
    else:
        os_threads = None
        notes.append("threads: only threads started through Python are counted on %s" % sys.platform)
    if os_threads is None:

        def python_threads():
            return count() + 1

        return python_threads
    last = memoryview(bytearray(8)).cast("q")  # C threads at the last read
    clock = time.perf_counter
    yield_ = getattr(os, "sched_yield", None) or (lambda: None)
    sleep = time.sleep

    def read():
        py = count() + 1
        extra = os_threads() - py
        if extra > last[0]:
            # A thread that just finished may still be exiting: wait for it, first
            # yielding the CPU, then sleeping briefly (on a busy machine the exiting
            # thread may wait for a core), at most THREAD_SETTLE_S.
            deadline = clock() + THREAD_SETTLE_S
            spins = 0
            while extra > last[0] and clock() < deadline:
                if spins < 20:
                    yield_()
                else:
                    sleep(0.0001)
                spins += 1
                py = count() + 1
                extra = os_threads() - py
        if extra < 0:
            extra = 0
        last[0] = extra
        return py + extra

    return read


def _proc_status_threads():
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"Threads:"):
                return int(line.split()[1])
    raise ValueError("no Threads: line")


def _darwin_threads(notes):
    """macOS: proc_pidinfo(PROC_PIDTASKINFO).pti_threadnum (C.function), checked
    once against the Python count; None (with a note) if anything looks wrong."""
    try:
        import _thread

        c = C.load()
        lib = c.library("/usr/lib/libproc.dylib")
        fn = c.function(lib, "proc_pidinfo", c.int, (c.int, c.int, c.uint64, c.void_p, c.int))
        buf = (c.char * 96)()  # struct proc_taskinfo
        pid = os.getpid()
        off = 84  # pti_threadnum: 6 x uint64 + 9 x int32

        def read():
            if fn(pid, 4, 0, buf, 96) != 96:  # PROC_PIDTASKINFO
                return -1
            return int.from_bytes(buf.raw[off:off + 4], "little")

        n = read()
        if n < _thread._count() + 1 or n > 10000:
            raise OSError("implausible thread count %d" % n)
        return read
    except Exception as e:
        notes.append("threads: only threads started through Python are counted (%s)" % e)
        return None


def reset_peak():
    """Reset VmHWM so the peak covers the measured phase only (Linux; docs/measuring.md §4)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return "measured"
    except OSError:
        return "process"


def peak_reader():
    """A function returning the peak RSS in bytes (VmHWM; where there is no /proc,
    getrusage's maximum, which covers the whole process), or None.

    Read through a kept file descriptor with pread, like the RSS reader: a text-mode
    open() per read leaves blocks behind after gc.freeze, and this reading happens
    in the middle of a measurement (the end of the user's window).
    """
    try:
        fd = os.open("/proc/self/status", os.O_RDONLY)
    except OSError:
        fd = None
    if fd is not None:
        pread = os.pread

        def read():
            data = pread(fd, 4096, 0)
            i = data.find(b"VmHWM:")
            if i < 0:
                return None
            return int(data[i + 6 : data.index(b"\n", i)].split()[0]) * 1024

        if read() is not None:
            return read
        os.close(fd)
    try:
        import resource

        scale = 1 if sys.platform == "darwin" else 1024
        getrusage, self_ = resource.getrusage, resource.RUSAGE_SELF

        def read():
            return getrusage(self_).ru_maxrss * scale

        return read
    except ImportError:
        return lambda: None


# Thread stacks the address-space cap leaves room for: a thread per iteration over
# the default window looked at 4x longer (4 x 2,000 + 200 warm-up) is a leak to
# measure, not a memory bomb.
THREAD_STACK_ROOM = 8192


def set_memory_limit(limit, notes):
    """Cap the address space at the limit on top of what the interpreter maps now,
    plus room for THREAD_STACK_ROOM thread stacks.

    The parent also watches RSS; this cap turns a fast memory bomb into a MemoryError
    before it can take the machine down. A thread's stack is address space it
    reserves, not memory it uses (8 MiB, of which a blocked thread touches a few
    pages): without the room, a 2 GiB cap would stop a thread leak after ~250
    threads with "can't start new thread" instead of measuring it.
    """
    if not limit or not sys.platform.startswith("linux"):
        return False
    try:
        import resource

        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        stack = resource.getrlimit(resource.RLIMIT_STACK)[0]
        if stack == resource.RLIM_INFINITY or stack <= 0:
            stack = 32 << 20  # glibc's default thread stack without a stack limit
        cap = vm + limit + THREAD_STACK_ROOM * stack
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        return True
    except Exception as e:  # pragma: no cover - platform specific
        notes.append("memory limit not enforced in-process: %s" % e)
        return False
