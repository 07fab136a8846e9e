/* memreg probe, native readers: the counters the measuring loop reads ~200 times
 * per process, each in one C call, and the probe's prctl. Loaded by the probe
 * (counters.py, core.py) in place of _ctypes, whose import (with libffi) costs
 * ~0.8 ms of CPU per process and whose calls ~5,000 instructions each
 * (docs/measuring.md §11).
 *
 * Built by build.rs with the system's C compiler, without Python's headers: it
 * uses only CPython's stable ABI (PEP 384; abi3, Python >= 3.2), declared here,
 * so one file serves every CPython 3.8+ that accepts abi3 extensions (not the
 * free-threaded builds nor those with Py_TRACE_REFS, whose objects differ: the
 * probe checks for both before loading it). Every function
 * returns a new int or bytes object, or raises OSError: nothing it allocates
 * outlives the caller's use of the result (docs/measuring.md §1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#endif

/* --- The stable ABI, as Python's headers declare it (Include/object.h,
 * moduleobject.h, methodobject.h). PyObject_HEAD of a build without
 * Py_TRACE_REFS, which abi3 extensions require. */
typedef ptrdiff_t Py_ssize_t;
typedef struct _object {
    Py_ssize_t ob_refcnt;
    void *ob_type;
} PyObject;
typedef PyObject *(*PyCFunction)(PyObject *, PyObject *);
typedef struct {
    const char *ml_name;
    PyCFunction ml_meth;
    int ml_flags;
    const char *ml_doc;
} PyMethodDef;
typedef struct {
    PyObject ob_base;
    PyObject *(*m_init)(void);
    Py_ssize_t m_index;
    PyObject *m_copy;
} PyModuleDef_Base;
typedef struct {
    PyModuleDef_Base m_base;
    const char *m_name;
    const char *m_doc;
    Py_ssize_t m_size;
    PyMethodDef *m_methods;
    void *m_slots;
    void *m_traverse;
    void *m_clear;
    void *m_free;
} PyModuleDef;
#define METH_NOARGS 0x0004
#define METH_O 0x0008
#define PYTHON_ABI_VERSION 3

extern PyObject *PyModule_Create2(PyModuleDef *, int);
extern PyObject *PyLong_FromSsize_t(Py_ssize_t);
extern PyObject *PyLong_FromSize_t(size_t);
extern long PyLong_AsLong(PyObject *);
extern PyObject *PyErr_Occurred(void);
extern PyObject *PyErr_SetFromErrno(PyObject *);
extern PyObject *PyBytes_FromStringAndSize(const char *, Py_ssize_t);
extern PyObject *PyExc_OSError;

/* --- What the C library and the interpreter may lack, resolved when loaded:
 * weak, so a missing one is NULL instead of a failed load. */
struct mallinfo2_fields {
    size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
extern struct mallinfo2_fields mallinfo2(void) __attribute__((weak));
extern int _PyObject_DebugMallocStats(FILE *) __attribute__((weak));
extern FILE *open_memstream(char **, size_t *) __attribute__((weak));

static int fd_of(PyObject *arg) {
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return -1;
    return (int)fd;
}

/* heap(): bytes in use by glibc's malloc (mallinfo2: uordblks + hblkhd), or -1
 * where the C library has no mallinfo2 (not glibc >= 2.33). */
static PyObject *heap(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    if (!mallinfo2)
        return PyLong_FromSsize_t(-1);
    struct mallinfo2_fields m = mallinfo2();
    return PyLong_FromSize_t(m.uordblks + m.hblkhd);
}

static PyObject *fstat_field(PyObject *arg, int links) {
    int fd = fd_of(arg);
    struct stat st;
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (fstat(fd, &st) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromSsize_t(links ? (Py_ssize_t)st.st_nlink : (Py_ssize_t)st.st_size);
}

/* size(fd), links(fd): fstat(fd).st_size, .st_nlink, without a stat result. */
static PyObject *size(PyObject *self, PyObject *fd) {
    (void)self;
    return fstat_field(fd, 0);
}

static PyObject *links(PyObject *self, PyObject *fd) {
    (void)self;
    return fstat_field(fd, 1);
}

/* resident(fd): the second field of /proc/self/statm read through `fd` (resident
 * pages), in bytes. */
static PyObject *resident(PyObject *self, PyObject *arg) {
    (void)self;
    int fd = fd_of(arg);
    char buf[128];
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    buf[n] = 0;
    char *p = buf, *end;
    strtoull(p, &end, 10); /* size */
    if (end == p)
        return PyLong_FromSsize_t(-1);
    p = end;
    unsigned long long pages = strtoull(p, &end, 10);
    if (end == p)
        return PyLong_FromSsize_t(-1);
    return PyLong_FromSize_t((size_t)pages * (size_t)sysconf(_SC_PAGESIZE));
}

/* pymalloc_stats(): what sys._debugmallocstats() prints, as bytes, without
 * touching stderr; b"" when pymalloc is not in use; OSError (ENOSYS) when the
 * interpreter or the C library does not export what it needs. */
static PyObject *pymalloc_stats(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    char *text = NULL;
    size_t len = 0;
    if (!_PyObject_DebugMallocStats || !open_memstream) {
        errno = ENOSYS;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    FILE *stream = open_memstream(&text, &len);
    if (!stream)
        return PyErr_SetFromErrno(PyExc_OSError);
    int ok = _PyObject_DebugMallocStats(stream);
    fclose(stream);
    PyObject *out = PyBytes_FromStringAndSize(ok ? text : "", ok ? (Py_ssize_t)len : 0);
    free(text);
    return out;
}

/* subreaper(): prctl(PR_SET_CHILD_SUBREAPER, 1). */
static PyObject *subreaper(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromSsize_t(0);
}

static PyMethodDef methods[] = {
    {"heap", heap, METH_NOARGS, NULL},
    {"size", size, METH_O, NULL},
    {"links", links, METH_O, NULL},
    {"resident", resident, METH_O, NULL},
    {"pymalloc_stats", pymalloc_stats, METH_NOARGS, NULL},
    {"subreaper", subreaper, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef module = {
    {{1, NULL}, NULL, 0, NULL},
    "_memreg_readers",
    NULL,
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

__attribute__((visibility("default"))) PyObject *PyInit__memreg_readers(void) {
    return PyModule_Create2(&module, PYTHON_ABI_VERSION);
}
