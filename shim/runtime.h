/* Process-wide state of the shim: the policy (parsed once), the per-process
 * log, the re-entrancy depth, and the begin/end of every intercepted call. */
#ifndef SAFEHALF_RUNTIME_H
#define SAFEHALF_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "decide.h"
#include "log.h"
#include "policy.h"

/* Read-only once sh_init has returned. */
extern struct sh_policy sh_policy;

/* Loads the policy (once per program) and opens the log (once per process,
 * so again in a forked child). True when the shim acts (mode is not off). */
bool sh_init(void);

/* Everything the log and the counters need to know about one call. */
struct sh_call {
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
    int pointer_mode;     /* CUBLAS_POINTER_MODE_*, -1 when not known */
    long long m, n, k, batch;
    int atype, btype, ctype, compute, compute_used;
    long long incx, incy; /* vector increments (reductions) */
    int scalar_type;      /* reductions: AxpyEx's alpha type; -1 for Dot and Nrm2 */
    /* math mode calls */
    int math_mode, math_mode_used;
};

/* Every generated wrapper brackets the real call with these. begin returns
 * true when the hook should run; end counts, logs and leaves the depth. */
bool sh_call_begin(struct sh_call *c, int api, void (*real)(void), const void *caller);
void sh_call_end(struct sh_call *c, int status);

/* Per-library parts of the start and summary records, and of fork/exit.
 * One function per interposed library, called by the runtime. */
struct sh_json;
void sh_runtime_describe_libs(struct sh_json *j);
void sh_cublas_describe(struct sh_json *j);
void sh_cublas_log_call(const struct sh_call *c, int status);
void sh_cublas_count(const struct sh_call *c);
void sh_cublas_summary(struct sh_json *j);
void sh_cublas_reset_counts(void);

#endif
