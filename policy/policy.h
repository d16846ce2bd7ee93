/* The user's policy, parsed once from SAFEHALF_* variables and an optional
 * SAFEHALF_CONFIG file, and the per-call decisions made from it.
 * Pure C: no CUDA headers, so it is unit-tested on its own. */
#ifndef SAFEHALF_POLICY_H
#define SAFEHALF_POLICY_H

#include <stdbool.h>
#include <stddef.h>

enum sh_mode { SH_MODE_UPCAST, SH_MODE_OBSERVE, SH_MODE_OFF };

enum sh_level { SH_LEVEL_ERROR, SH_LEVEL_WARN, SH_LEVEL_INFO, SH_LEVEL_DEBUG, SH_LEVEL_TRACE };

/* Which half-precision outputs are scanned for Inf/NaN (SAFEHALF_CHECK).
 * SH_CHECK_EVERY scans one checkable call in check_every; SH_CHECK_SYNC
 * scans every call and waits for the result before returning. */
enum sh_check { SH_CHECK_OFF, SH_CHECK_ALL, SH_CHECK_EVERY, SH_CHECK_SYNC };

/* What to do when a scan finds Inf/NaN (SAFEHALF_ON_NONFINITE). */
enum sh_on_nonfinite { SH_ON_LOG, SH_ON_SATURATE, SH_ON_ABORT };

/* A checked call on a stream being captured into a CUDA graph
 * (SAFEHALF_CHECK_CAPTURE): put the scan in the graph, or skip and count it. */
enum sh_check_capture { SH_CAPTURE_SCAN, SH_CAPTURE_SKIP };

/* Families of risky calls, selectable with SAFEHALF_UPCAST. */
enum {
    SH_UP_GEMM = 1u << 0,    /* FP16 accumulation: COMPUTE_16F*, cublasHgemm* */
    SH_UP_SPLITK = 1u << 1,  /* reduced-precision split-K reduction */
    SH_UP_FAST16F = 1u << 2, /* COMPUTE_32F_FAST_16F down-converting FP32 inputs */
    SH_UP_REDUCE = 1u << 3,  /* FP16 execution of cublasDotEx, cublasNrm2Ex, cublasAxpyEx */
    SH_UP_LT = 1u << 4,      /* cuBLASLt matmul descriptors: COMPUTE_16F*, 32F_FAST_16F */
    SH_UP_CUDNN = 1u << 5,   /* cuDNN compute type CUDNN_DATA_HALF (legacy and graph API) */
    SH_UP_ALL = SH_UP_GEMM | SH_UP_SPLITK | SH_UP_FAST16F | SH_UP_REDUCE | SH_UP_LT | SH_UP_CUDNN,
};

#define SH_PATH_MAX 1024
#define SH_PYSTACK_MAX 32
#define SH_RUN_ID_MAX 64
#define SH_DIAG_MAX 8
/* Long enough for the unknown-variable line, which lists every known name. */
#define SH_DIAG_LEN 640

struct sh_policy {
    enum sh_mode mode;
    unsigned upcast;          /* SH_UP_* bits */
    long long min_k;
    enum sh_level log_level;
    enum sh_check check;
    long long check_every;    /* N of every:N; 1 for the other modes */
    enum sh_on_nonfinite on_nonfinite;
    bool check_inputs;        /* also scan inputs: were they already bad? */
    long long max_records;    /* nonfinite records written at most; 0: only count */
    enum sh_check_capture check_capture;
    int pystack;              /* Python frames per call site; 0: none */
    bool backtrace;           /* native backtrace in site records */
    char run_id[SH_RUN_ID_MAX + 1]; /* SAFEHALF_RUN_ID, "" if none */
    char log[SH_PATH_MAX];    /* pattern, before %p/%r/%h expansion */
    char config[SH_PATH_MAX]; /* SAFEHALF_CONFIG as given, "" if none */
    /* Complaints about bad input, kept so they can also go to the log once
     * it is open (the log path itself comes from the policy). */
    int ndiag;
    char diag[SH_DIAG_MAX][SH_DIAG_LEN];
};

/* Called with each complaint line (no trailing newline, no "safehalf: ").
 * May be NULL. */
typedef void (*sh_diag_fn)(const char *line, void *ctx);

/* Fill *p from envp (a NULL-terminated "KEY=VALUE" array, like environ) and
 * the SAFEHALF_CONFIG file it names; the environment wins over the file.
 * Never fails: every bad value is reported through diag and replaced by its
 * default. */
void sh_policy_load(struct sh_policy *p, char *const *envp, sh_diag_fn diag, void *ctx);

void sh_policy_defaults(struct sh_policy *p);

const char *sh_mode_name(enum sh_mode m);
const char *sh_level_name(enum sh_level l);
const char *sh_on_nonfinite_name(enum sh_on_nonfinite a);
const char *sh_check_capture_name(enum sh_check_capture c);
/* "off", "all", "sync" or "every:N", as SAFEHALF_CHECK accepts it. */
void sh_check_name(const struct sh_policy *p, char *out, size_t outsz);
/* "gemm,splitk,fast16f,reduce,lt,cudnn" form of the bits, "none" for 0. */
void sh_upcast_names(unsigned bits, char *out, size_t outsz);

/* Expand %p (pid), %r (rank), %h (host) and %% in a log path pattern.
 * Returns 0, or -1 if the result does not fit. */
int sh_expand_log_path(const char *pattern, long pid, const char *rank,
                       const char *host, char *out, size_t outsz);

/* The rank of this process from RANK, LOCAL_RANK, SLURM_PROCID,
 * OMPI_COMM_WORLD_RANK (first set wins), or "0". */
const char *sh_rank_from_env(char *const *envp);
/* The same, NULL when none of them is set. */
const char *sh_rank_env(char *const *envp);

#endif
