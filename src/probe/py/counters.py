# memreg probe, counters: the readers the measuring loop samples, the peak RSS of
# the measured phase, and the process's own memory cap. Loaded by `measure` (see
# core.py). Each reader allocates nothing that survives a read (docs/measuring.md §1).

def native_heap_reader(notes):
    """A function returning bytes in use by the C allocator, or None (docs/measuring.md §3).

    glibc: mallinfo2() uordblks + hblkhd (heap in use plus mmapped chunks).
    macOS: malloc_zone_statistics(NULL) size_in_use.
    """
    import ctypes

    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            fn = libc.mallinfo2
        except (OSError, AttributeError):
            notes.append("native heap left out: mallinfo2 not found (not glibc >= 2.33)")
            return None

        class MallInfo2(ctypes.Structure):
            _fields_ = [
                (n, ctypes.c_size_t)
                for n in (
                    "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                    "fsmblks", "uordblks", "fordblks", "keepcost",
                )
            ]

        fn.restype = MallInfo2
        fn.argtypes = []

        def read():
            m = fn()
            return m.uordblks + m.hblkhd

        return read
    if sys.platform == "darwin":
        try:
            libc = ctypes.CDLL("/usr/lib/libSystem.B.dylib")
            fn = libc.malloc_zone_statistics
        except (OSError, AttributeError):
            notes.append("native heap left out: malloc_zone_statistics not found")
            return None

        class MallocStats(ctypes.Structure):
            _fields_ = [
                ("blocks_in_use", ctypes.c_uint),
                ("size_in_use", ctypes.c_size_t),
                ("max_size_in_use", ctypes.c_size_t),
                ("size_allocated", ctypes.c_size_t),
            ]

        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(MallocStats)]
        stats = MallocStats()
        ref = ctypes.byref(stats)

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
    into an open_memstream buffer through ctypes, so stderr is never touched; where
    that is not available, through fd 2 redirected to a temporary file.
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

    read = None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        stats = ctypes.pythonapi._PyObject_DebugMallocStats
        stats.argtypes = [ctypes.c_void_p]
        stats.restype = ctypes.c_int
        open_memstream = libc.open_memstream
        open_memstream.restype = ctypes.c_void_p
        open_memstream.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
        fclose = libc.fclose
        fclose.argtypes = [ctypes.c_void_p]
        free = libc.free
        free.argtypes = [ctypes.c_void_p]
        buf = ctypes.c_char_p()
        size = ctypes.c_size_t()

        def read():
            stream = open_memstream(ctypes.byref(buf), ctypes.byref(size))
            if not stream:
                return None
            try:
                ok = stats(stream)
            finally:
                fclose(stream)
            text = ctypes.string_at(buf, size.value)
            free(buf)
            return parse(text) if ok else None

    except (ImportError, OSError, AttributeError):

        def read():
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
                    text = f.read()
            finally:
                os.close(saved)
            return parse(text)

    if read() is None:
        notes.append("held Python heap in bytes left out: pymalloc is not in use")
        return None
    return read


def rss_reader(notes):
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        notes.append("rss left out: /proc/self/statm not available on %s" % sys.platform)
        return None
    page = os.sysconf("SC_PAGE_SIZE")

    def read():
        return int(os.pread(fd, 128, 0).split()[1]) * page

    return read


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

        def read():
            data = os.pread(fd, 4096, 0)
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

        def read():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

        return read
    except ImportError:
        return lambda: None


def set_memory_limit(limit, notes):
    """Cap the address space at the limit on top of what the interpreter maps now.

    The parent also watches RSS; this cap turns a fast memory bomb into a MemoryError
    before it can take the machine down.
    """
    if not limit or not sys.platform.startswith("linux"):
        return False
    try:
        import resource

        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = vm + limit
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        return True
    except Exception as e:  # pragma: no cover - platform specific
        notes.append("memory limit not enforced in-process: %s" % e)
        return False
