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


def read_peak():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except Exception:
        return None


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
