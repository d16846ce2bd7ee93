/* The check engine: after a library call with a half-precision output, a
 * scan of that output on the caller's stream, whose result lands in mapped
 * pinned host memory where a poller thread turns it into a record. Nothing
 * here synchronizes the program's streams (except SAFEHALF_CHECK=sync), and
 * nothing allocates once the slots exist.
 *
 * The engine knows matrices and counts, not libraries: a library describes
 * each checked call with a struct sh_check_call.
 * (detect.h, not check.h: the unit tests include the Check framework's
 * <check.h> with shim/ on their include path.) */
#ifndef SAFEHALF_DETECT_H
#define SAFEHALF_DETECT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "scan.h"

struct sh_json;

/* Device data in the layout of the scan kernels (scan.h). */
struct sh_matrix {
    enum sh_scan_type type;
    const void *base;        /* first matrix; unused with ptrs */
    const void *const *ptrs; /* device array of batch matrix pointers, or NULL */
    unsigned long long rows, cols, ld, stride, batch;
};

/* How a library names its type values in records (NULL: unknown, the
 * number is written instead). */
struct sh_check_names {
    const char *(*data_type)(int value);
    const char *(*compute)(int value);
};

/* Per-api counters the engine adds to, owned by the library (summary). */
struct sh_check_counts {
    atomic_ulong checked;   /* outputs scanned (a captured scan: once per replay seen) */
    atomic_ulong nonfinite; /* of those, outputs holding Inf or NaN */
};

/* Inputs one call can have scanned: A, B and C of a GEMM and a cuBLASLt
 * epilogue's bias or aux; x, w, a residual z and a bias of cuDNN's fused
 * convolution; q, k, v, o, stats and dO of cuDNN's attention backward as
 * the frontend composes it. */
#define SH_CHECK_MAX_INPUTS 8

/* One checked call, as the library describes it. Copied at submission. */
struct sh_check_call {
    const char *api;
    const struct sh_check_names *names;
    struct sh_check_counts *counts;
    unsigned long long seq;
    long long m, n, k, batch;
    /* One group of a grouped GEMM (cublasGemmGroupedBatchedEx): m, n, k
     * and batch are the group's, and the record names its index. */
    bool grouped;
    long long group;
    int atype, btype, ctype, compute, compute_used;
    void *stream;
    const void *caller; /* return address in the program, for the record */
    int site;           /* sites.h: the call site, -1 if none */
    struct sh_matrix out;
    /* out is in host memory the call has finished writing (a cuBLAS result
     * in host pointer mode): read on the host at submission, one element. */
    bool out_host;
    /* An output beside the call's main one (cuBLASLt's epilogue outputs),
     * named in its record; NULL for the main one. */
    const char *out_name;
    /* Inputs, scanned when SAFEHALF_CHECK_INPUTS=1; name NULL when an input
     * has a type the scan kernels do not read (then inputs_finite is null). */
    int nin;
    const char *in_name[SH_CHECK_MAX_INPUTS];
    struct sh_matrix in[SH_CHECK_MAX_INPUTS];
};

/* Whether the output of a call with output type ctype (CUDA_R_*) is to be
 * checked: the policy, and every:N sampling over such calls. */
bool sh_check_wanted(int ctype);

/* A call whose outputs (of output types ctypes) went where no scan can
 * follow them (cuDNN populating a CUDA graph itself): counted as
 * skipped_native_graph, and said once, when the policy would have checked
 * one of them. */
void sh_check_native_graph(const char *api, const int *ctypes, int n);

/* Launches the scans of a successful call; returns at once. */
void sh_check_submit(const struct sh_check_call *c);

/* Maps the slots while no graph can be capturing yet (handle creation). */
void sh_check_prepare(void *stream);

/* Process exit: waits (bounded) for scans still in flight and reports them. */
void sh_check_flush(void);
/* Fatal signal: reports the scans that have finished; async-signal-safe. */
void sh_check_flush_in_signal(void);

/* The summary's "checks" object. */
void sh_check_summary(struct sh_json *j);

/* In a forked child: no slots, no poller, nothing counted. */
void sh_check_after_fork(void);

/* Called by a sweep between finding a slot's scan finished and claiming the
 * slot; does nothing (weak: the unit test puts other sweeps and calls
 * there, to reproduce races). */
void sh_check_sweep_window(int slot);

#endif
