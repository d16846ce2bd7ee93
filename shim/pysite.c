#include "pysite.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazymap.h"
#include "lockrenew.h"
#include "log.h"
#include "policy.h"

#define NSTACKS 1024
/* Mapped at first use, so untouched room costs nothing: room for the
 * table's stacks at 2 KiB each (8 frames of site-packages paths take about
 * 1.3), fewer of the deepest. */
#define TEXT_BYTES (NSTACKS * 2048)
/* A stack's text at most: the records that carry it (nonfinite: 8 KiB,
 * site: 12 KiB with a native backtrace) must still fit. Frames beyond it,
 * the outermost ones, are left out of the text. One frame is at most a
 * path cut to its last 300 bytes and a function name cut to 120, escaped. */
#define STACK_TEXT 5120

/* Everything used of CPython's C API, all of it public and exported since
 * 3.9 (PyFrame_GetCode/GetBack are the newest). A PyObject is opaque here. */
typedef void PyObj;
static struct {
    int (*initialized)(void);
    const char *(*version)(void);
    PyObj *(*this_thread_state)(void);    /* PyGILState_GetThisThreadState */
    PyObj *(*current_thread_state)(void); /* optional: the GIL holder's, or this thread's */
    int (*finalizing)(void);              /* optional */
    PyObj *(*interp_head)(void);          /* optional: PyInterpreterState_Head */
    PyObj *(*interp_main)(void);          /* optional: PyInterpreterState_Main */
    int (*gil_check)(void);
    int (*gil_ensure)(void);
    void (*gil_release)(int);
    PyObj *(*get_frame)(void);
    PyObj *(*frame_code)(PyObj *);
    PyObj *(*frame_back)(PyObj *);
    int (*frame_line)(PyObj *);
    PyObj *(*getattr)(PyObj *, const char *);
    const char *(*utf8)(PyObj *);
    void (*incref)(PyObj *);
    void (*decref)(PyObj *);
    void (*err_fetch)(PyObj **, PyObj **, PyObj **);
    void (*err_restore)(PyObj *, PyObj *, PyObj *);
    void (*err_clear)(void);
    /* From 3.12 the current thread state is per thread; before, it is the
     * GIL holder's, whichever thread that is. */
    bool tstate_per_thread;
} py;
static pthread_once_t py_once = PTHREAD_ONCE_INIT;
static atomic_int py_usable;
static atomic_int py_absent; /* looked for, not found: no pthread_once per call */

struct frame {
    const void *code; /* kept alive (a reference is held) once interned */
    int line;
};

struct stack {
    atomic_uint ready;
    unsigned long long hash;
    int n;
    struct frame f[SH_PYSTACK_MAX];
    const char *json;
};

struct table {
    struct stack s[NSTACKS];
    size_t used;
    char text[TEXT_BYTES];
};

/* mmap'd at the first Python stack: a process without Python pays nothing. */
static _Atomic(void *) table;
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong dropped;

static void *sym(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

static void *sym2(const char *a, const char *b)
{
    void *p = sym(a);
    return p ? p : sym(b);
}

static void find_python(void)
{
    *(void **)&py.initialized = sym("Py_IsInitialized");
    *(void **)&py.version = sym("Py_GetVersion");
    *(void **)&py.this_thread_state = sym("PyGILState_GetThisThreadState");
    *(void **)&py.current_thread_state =
        sym2("PyThreadState_GetUnchecked", "_PyThreadState_UncheckedGet");
    *(void **)&py.finalizing = sym2("Py_IsFinalizing", "_Py_IsFinalizing");
    *(void **)&py.interp_head = sym("PyInterpreterState_Head");
    *(void **)&py.interp_main = sym("PyInterpreterState_Main");
    *(void **)&py.gil_check = sym("PyGILState_Check");
    *(void **)&py.gil_ensure = sym("PyGILState_Ensure");
    *(void **)&py.gil_release = sym("PyGILState_Release");
    *(void **)&py.get_frame = sym("PyEval_GetFrame");
    *(void **)&py.frame_code = sym("PyFrame_GetCode");
    *(void **)&py.frame_back = sym("PyFrame_GetBack");
    *(void **)&py.frame_line = sym("PyFrame_GetLineNumber");
    *(void **)&py.getattr = sym("PyObject_GetAttrString");
    *(void **)&py.utf8 = sym("PyUnicode_AsUTF8");
    *(void **)&py.incref = sym("Py_IncRef");
    *(void **)&py.decref = sym("Py_DecRef");
    *(void **)&py.err_fetch = sym("PyErr_Fetch");
    *(void **)&py.err_restore = sym("PyErr_Restore");
    *(void **)&py.err_clear = sym("PyErr_Clear");
    void *required[] = { (void *)py.initialized, (void *)py.version,
                         (void *)py.this_thread_state, (void *)py.gil_check,
                         (void *)py.gil_ensure, (void *)py.gil_release, (void *)py.get_frame,
                         (void *)py.frame_code, (void *)py.frame_back, (void *)py.frame_line,
                         (void *)py.getattr, (void *)py.utf8, (void *)py.incref,
                         (void *)py.decref, (void *)py.err_fetch, (void *)py.err_restore,
                         (void *)py.err_clear };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i])
            return; /* no Python here, or one older than 3.9 */
    const char *v = py.version();
    char *end;
    long major = strtol(v, &end, 10), minor = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
    py.tstate_per_thread = major > 3 || (major == 3 && minor >= 12);
    atomic_store(&py_usable, 1);
}

static unsigned long long hash_frames(const struct frame *f, int n)
{
    unsigned long long h = 0xcbf29ce484222325ull;
    for (int i = 0; i < n; i++) {
        h = (h ^ (unsigned long long)(uintptr_t)f[i].code) * 0x100000001b3ull;
        h = (h ^ (unsigned long long)(unsigned)f[i].line) * 0x100000001b3ull;
    }
    return h;
}

/* Field by field: a frame has padding. */
static bool same(const struct stack *s, unsigned long long h, const struct frame *f, int n)
{
    if (s->hash != h || s->n != n)
        return false;
    for (int i = 0; i < n; i++)
        if (s->f[i].code != f[i].code || s->f[i].line != f[i].line)
            return false;
    return true;
}

/* The string attribute `name` of a code object, into out (cut to its
 * last `keep_end` or first `keep_start` bytes); false if it has none. */
static bool code_str(const void *code, const char *name, char *out, size_t cap, bool keep_end)
{
    PyObj *o = py.getattr((PyObj *)code, name);
    if (!o) {
        py.err_clear();
        return false;
    }
    const char *s = py.utf8(o);
    if (s) {
        size_t n = strlen(s), keep = n < cap ? n : cap - 1;
        if (keep_end)
            s += n - keep;
        /* Cut between characters: the bytes of a cut one would be written
         * as U+FFFD. s is UTF-8, so a byte 10xxxxxx continues a character. */
        if (keep < n) {
            while (keep_end && keep && ((unsigned char)*s & 0xC0) == 0x80)
                s++, keep--;
            while (!keep_end && keep && ((unsigned char)s[keep] & 0xC0) == 0x80)
                keep--;
        }
        memcpy(out, s, keep);
        out[keep] = '\0';
    } else {
        py.err_clear();
    }
    py.decref(o);
    return s != NULL;
}

/* Formats a new stack into the text arena; with the GIL held. */
static const char *format(struct table *t, const struct frame *f, int n)
{
    char buf[STACK_TEXT], file[301], func[121];
    struct sh_json j;
    PyObj *type, *value, *tb;
    py.err_fetch(&type, &value, &tb); /* the program's pending exception, if any, survives */
    sh_json_fragment(&j, buf, sizeof buf);
    sh_json_open(&j, NULL, '[');
    for (int i = 0; i < n; i++) {
        size_t before = j.len;
        sh_json_open(&j, NULL, '{');
        sh_json_str(&j, "file", code_str(f[i].code, "co_filename", file, sizeof file, true)
                                    ? file : NULL);
        if (f[i].line >= 0)
            sh_json_int(&j, "line", f[i].line);
        else
            sh_json_str(&j, "line", NULL);
        /* co_qualname (3.11+) says Model.forward rather than forward. */
        bool named = code_str(f[i].code, "co_qualname", func, sizeof func, false) ||
                     code_str(f[i].code, "co_name", func, sizeof func, false);
        sh_json_str(&j, "func", named ? func : NULL);
        sh_json_close(&j, '}');
        if (j.overflow || j.len + 2 > sizeof buf) { /* no room for "]" */
            j.len = before;
            j.buf[before] = '\0';
            j.overflow = false;
            break;
        }
    }
    sh_json_close(&j, ']');
    py.err_restore(type, value, tb);
    if (j.overflow || t->used + j.len + 1 > TEXT_BYTES)
        return NULL;
    char *out = t->text + t->used;
    memcpy(out, buf, j.len + 1);
    t->used += j.len + 1;
    return out;
}

static struct table *get_table(void)
{
    return sh_map_once(&table, sizeof(struct table));
}

/* The id of an interned stack. One whose text did not fit (the text is
 * full) stays interned, so that its next calls cost a lookup too, but gets
 * none: an id without frames would leave the call's site with neither its
 * Python lines nor its native caller. Its calls count as dropped, as when
 * the table of stacks is full, and the site is the native caller. */
static unsigned id_of(const struct stack *s, unsigned e)
{
    if (s->json)
        return e + 1;
    atomic_fetch_add(&dropped, 1);
    return 0;
}

/* Lock-free for a stack seen before; a new one is added under the lock
 * (with the GIL held as well: its code objects get a reference, so their
 * addresses can never be reused by another code object). */
static unsigned intern(const struct frame *f, int n)
{
    struct table *t = get_table();
    if (!t)
        return 0;
    unsigned long long h = hash_frames(f, n);
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            pthread_mutex_lock(&intern_lock);
        for (unsigned i = 0; i < NSTACKS; i++) {
            unsigned e = (unsigned)(h + i) % NSTACKS;
            struct stack *s = &t->s[e];
            if (atomic_load_explicit(&s->ready, memory_order_acquire)) {
                if (!same(s, h, f, n))
                    continue;
                if (pass)
                    pthread_mutex_unlock(&intern_lock);
                return id_of(s, e);
            }
            if (!pass)
                break; /* maybe being added now: ask again under the lock */
            s->hash = h;
            s->n = n;
            memcpy(s->f, f, sizeof *f * (size_t)n);
            s->json = format(t, f, n);
            for (int k = 0; k < n; k++)
                py.incref((PyObj *)f[k].code);
            atomic_store_explicit(&s->ready, 1, memory_order_release);
            pthread_mutex_unlock(&intern_lock);
            return id_of(s, e);
        }
    }
    pthread_mutex_unlock(&intern_lock);
    atomic_fetch_add(&dropped, 1);
    return 0;
}

/* With the GIL held. */
static unsigned walk(int depth)
{
    struct frame fr[SH_PYSTACK_MAX];
    int n = 0;
    PyObj *f = py.get_frame(); /* borrowed */
    if (f)
        py.incref(f);
    while (f && n < depth) {
        PyObj *code = py.frame_code(f);
        fr[n].code = code;
        fr[n].line = py.frame_line(f);
        n++;
        py.decref(code); /* the running frame holds it */
        PyObj *back = py.frame_back(f);
        py.decref(f);
        f = back;
    }
    if (f)
        py.decref(f);
    return n ? intern(fr, n) : 0;
}

unsigned sh_pysite_capture(int depth)
{
    if (depth <= 0)
        return 0;
    if (!atomic_load_explicit(&py_usable, memory_order_relaxed)) {
        if (atomic_load_explicit(&py_absent, memory_order_relaxed))
            return 0;
        pthread_once(&py_once, find_python);
        if (!atomic_load(&py_usable)) {
            atomic_store_explicit(&py_absent, 1, memory_order_relaxed);
            return 0;
        }
    }
    if (!py.initialized())
        return 0;
    PyObj *mine = py.this_thread_state();
    if (!mine)
        return 0; /* a thread Python does not know: no Python frames */
    PyObj *cur = py.current_thread_state ? py.current_thread_state() : NULL;
    bool held = py.current_thread_state ? cur == mine : py.gil_check() == 1;
    if (held)
        return walk(depth);
    /* A thread state of its own other than its gilstate one: the thread
     * holds the GIL, and taking it again would deadlock. */
    if (cur && py.tstate_per_thread)
        return 0;
    /* Before 3.12 the holder's thread is unknown: with a sub-interpreter in
     * the process it may be this one, through the sub-interpreter's thread
     * state, and PyGILState_Ensure would wait for itself. (New interpreters
     * go to the head of the list: a head other than the main one means
     * there are others; nothing is dereferenced.) */
    if (cur && (!py.interp_head || !py.interp_main || py.interp_head() != py.interp_main()))
        return 0;
    /* Taking the GIL while the interpreter shuts down ends the thread. */
    if (!py.finalizing || py.finalizing())
        return 0;
    int g = py.gil_ensure();
    unsigned id = walk(depth);
    py.gil_release(g);
    return id;
}

const char *sh_pysite_json(unsigned id)
{
    struct table *t = sh_mapped(&table);
    if (!id || id > NSTACKS || !t)
        return NULL;
    const struct stack *s = &t->s[id - 1];
    return atomic_load_explicit(&s->ready, memory_order_acquire) ? s->json : NULL;
}

unsigned long sh_pysite_dropped(void)
{
    return atomic_load(&dropped);
}

void sh_pysite_after_fork(void)
{
    sh_lock_renew(&intern_lock);
    atomic_store(&dropped, 0);
}
