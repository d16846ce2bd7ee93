/* Process-wide state of the shim: the policy (parsed once), the per-process
 * log, the re-entrancy depth, and the begin/end of every intercepted call. */
#ifndef SAFEHALF_RUNTIME_H
#define SAFEHALF_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "decide.h"
#include "detect.h"
#include "log.h"
#include "policy.h"

/* Read-only once sh_init has returned. */
extern struct sh_policy sh_policy;

/* Loads the policy (once per program) and opens the log (once per process,
 * so again in a forked child). True when the shim acts (mode is not off). */
bool sh_init(void);

struct sh_lib_ops;

/* Everything the log and the counters need to know about one call. */
struct sh_call {
    const struct sh_lib_ops *lib;
    int api;              /* index in the library's table */
    bool active;          /* outermost call on its thread, shim on: the hook runs */
    unsigned long long seq; /* the process's intercepted calls, from 1 (active ones) */
    const void *caller;   /* return address into the program */
    unsigned pystack;     /* interned Python stack (pysite.h), 0 if none */
    int site;             /* index in the site table (sites.h), -1 if none */
    int status;           /* set by a hook that made the real call itself */
    void (*real)(void);   /* the real function of the called symbol */
    /* GEMMs, and level-1 reductions (cublasDotEx & co.), which describe
     * themselves in the same fields for the sites and the check engine:
     * m = 1, n = vector length, k = terms per output element (n for Dot and
     * Nrm2, 1 for Axpy), batch = 1; atype/btype = the types of x and y (x
     * twice for Nrm2), ctype = the output's (result, or Axpy's y), compute
     * and compute_used = the execution type asked for and handed over. */
    bool gemm, reduction;
    enum sh_action action;
    bool changed;         /* the hook rewrote something other than a shaped call
                             (a math mode, a descriptor's compute type) */
    int kind;             /* a library's own tag for what its hook recorded
                             beyond this struct; 0: nothing */
    int pointer_mode;     /* CUBLAS_POINTER_MODE_*, -1 when not known */
    long long m, n, k, batch;
    int atype, btype, ctype, compute, compute_used;
    long long incx, incy; /* vector increments (reductions) */
    int scalar_type;      /* reductions: AxpyEx's alpha type; -1 for Dot and Nrm2 */
    /* math mode calls */
    int math_mode, math_mode_used;
};

/* Per-api counters of one library, for the summary record. */
struct sh_api_counts {
    atomic_ulong calls, upcasts; /* upcasts: calls rewritten (action upcast, or changed) */
    struct sh_check_counts checks;
};

/* What the runtime needs of an interposed library (one per shim/<lib>.c). */
struct sh_lib_ops {
    const char *name;            /* "cublas": the key in the start record */
    const char *const *apis;     /* intercepted function names, by api index */
    struct sh_api_counts *counts;
    int napi;
    /* A `call` record (SAFEHALF_LOG_LEVEL=trace). */
    void (*log_call)(const struct sh_call *c, int status);
    /* The library's object in the start record: path and version. */
    void (*describe)(struct sh_json *j);
    /* In a forked child, which has only the forking thread: locks another
     * thread held stay held there, so each is made anew (NULL: none). */
    void (*after_fork)(void);
};

extern const struct sh_lib_ops sh_cublas_ops, sh_cublaslt_ops, sh_cudnn_ops;

/* Every generated wrapper brackets the real call with these. begin returns
 * true when the hook should run; end counts, logs and leaves the depth. */
bool sh_call_begin(struct sh_call *c, const struct sh_lib_ops *lib, int api,
                   void (*real)(void), const void *caller);
void sh_call_end(struct sh_call *c, int status);

/* A shaped call's site_id (when it has one), m, n, k, batch and types in
 * a call record, named by the library's names. */
void sh_call_json_shape(struct sh_json *j, const struct sh_call *c,
                        const struct sh_check_names *names);

/* The start record's "libs" members. */
struct sh_json;
void sh_runtime_describe_libs(struct sh_json *j);

/* The wrapper every table entry X(ret, name, params, args, hook) becomes, for
 * a library whose shim/<lib>.c defines: struct sh_lib <lib> (the real
 * functions), const struct sh_lib_ops <lib>_ops, ret <lib>_missing(int api)
 * (no real library), bool sh_hook_<hook>(call_t *, args...) (true: it made
 * the real call, status in c.status) and void after(call_t *, ret) (runs
 * for every call, hook or not; call_t starts with struct sh_call c, which
 * sh_call_begin zeroes: the rest of call_t is the hooks' to set before
 * anything reads it). */
#define SH_INTERCEPTOR(lib, call_t, after, ret, name, params, args, hook)                \
    SH_EXPORT ret name params                                                           \
    {                                                                                   \
        sh_fn_##name real = REAL(lib, name);                                            \
        if (!real)                                                                      \
            return lib##_missing(SH_API_##name);                                        \
        call_t cc;                                                                      \
        ret r;                                                                          \
        if (sh_call_begin(&cc.c, &lib##_ops, SH_API_##name, (void (*)(void))real,       \
                          __builtin_return_address(0)) &&                               \
            sh_hook_##hook(&cc, SH_UNPAREN args))                                       \
            r = (ret)cc.c.status;                                                       \
        else                                                                            \
            r = real args;                                                              \
        after(&cc, r);                                                                  \
        sh_call_end(&cc.c, (int)r);                                                     \
        return r;                                                                       \
    }

#endif
