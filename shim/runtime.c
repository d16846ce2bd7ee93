#include "runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "crash.h"
#include "driver.h"
#include "lockrenew.h"
#include "sites.h"

struct sh_policy sh_policy;

static pthread_once_t policy_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
/* 1 once this process has opened its log (or decided not to). */
static atomic_int process_ready;
static atomic_int exit_registered;
static atomic_ullong call_seq;

static __attribute__((tls_model("initial-exec"))) _Thread_local int depth;

static const struct sh_lib_ops *const libs[] = { &sh_cublas_ops, &sh_cublaslt_ops,
                                                 &sh_cudnn_ops };
#define NLIBS (sizeof libs / sizeof libs[0])

static void reset_counts(void)
{
    for (size_t l = 0; l < NLIBS; l++)
        for (int i = 0; i < libs[l]->napi; i++) {
            struct sh_api_counts *n = &libs[l]->counts[i];
            atomic_store(&n->calls, 0);
            atomic_store(&n->upcasts, 0);
            atomic_store(&n->checks.checked, 0);
            atomic_store(&n->checks.nonfinite, 0);
        }
}

/* Calls and upcasts counted at call sites, by library and api. */
#define MAX_NAPI 128
struct site_counts {
    unsigned long calls[NLIBS][MAX_NAPI], upcasts[NLIBS][MAX_NAPI];
};

static void add_site_counts(const struct sh_lib_ops *lib, int api, unsigned long calls,
                            unsigned long upcasts, void *ctx)
{
    struct site_counts *sc = ctx;
    for (size_t l = 0; l < NLIBS; l++)
        if (libs[l] == lib && api >= 0 && api < MAX_NAPI) {
            sc->calls[l][api] += calls;
            sc->upcasts[l][api] += upcasts;
        }
}

/* The summary's "apis" members: every api called at least once. */
static void counts_summary(struct sh_json *j)
{
    struct site_counts sc;
    memset(&sc, 0, sizeof sc);
    sh_sites_api_counts(add_site_counts, &sc);
    for (size_t l = 0; l < NLIBS; l++)
        for (int i = 0; i < libs[l]->napi && i < MAX_NAPI; i++) {
            struct sh_api_counts *n = &libs[l]->counts[i];
            unsigned long calls = atomic_load(&n->calls) + sc.calls[l][i];
            if (!calls)
                continue;
            sh_json_open(j, libs[l]->apis[i], '{');
            sh_json_int(j, "calls", (long long)calls);
            sh_json_int(j, "upcasts", (long long)(atomic_load(&n->upcasts) + sc.upcasts[l][i]));
            sh_json_uint(j, "checked", atomic_load(&n->checks.checked));
            sh_json_uint(j, "nonfinite", atomic_load(&n->checks.nonfinite));
            sh_json_close(j, '}');
        }
}

static void print_diag(const char *line, void *ctx)
{
    (void)ctx;
    sh_warn("%s", line);
}

static void summary_at_exit(void);

static void child_after_fork(void)
{
    /* Another thread of the parent may have been opening the log: the
     * child, which opens its own, must not inherit the lock it held. */
    sh_lock_renew(&open_lock);
    sh_log_after_fork();
    reset_counts();
    sh_driver_after_fork();
    sh_check_after_fork();
    sh_crash_after_fork();
    sh_sites_after_fork();
    for (size_t l = 0; l < NLIBS; l++)
        if (libs[l]->after_fork)
            libs[l]->after_fork();
    atomic_store(&call_seq, 0);
    atomic_store(&process_ready, 0);
}

static void load_policy(void)
{
    extern char **environ;
    sh_policy_load(&sh_policy, environ, print_diag, NULL);
    pthread_atfork(NULL, NULL, child_after_fork);
}

static bool init_slow(void);

bool sh_init(void)
{
    if (atomic_load_explicit(&process_ready, memory_order_acquire))
        return sh_policy.mode != SH_MODE_OFF;
    return init_slow();
}

static bool init_slow(void)
{
    pthread_once(&policy_once, load_policy);
    if (sh_policy.mode == SH_MODE_OFF) {
        atomic_store_explicit(&process_ready, 1, memory_order_release);
        return false;
    }
    pthread_mutex_lock(&open_lock);
    if (!atomic_load_explicit(&process_ready, memory_order_relaxed)) {
        sh_log_open(&sh_policy);
        /* atexit handlers survive fork, so one registration serves the
         * children too; the handler writes to whichever log is open. */
        if (!atomic_exchange(&exit_registered, 1))
            atexit(summary_at_exit);
        sh_crash_install();
        atomic_store_explicit(&process_ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&open_lock);
    return true;
}

/* In pieces of 64 bytes: GCC makes one memset of this size a rep stos,
 * whose start costs more than the stores. */
_Static_assert(sizeof(struct sh_call) > 128 && sizeof(struct sh_call) <= 192, "three pieces");
static inline void zero_call(struct sh_call *c)
{
    char *p = (char *)c;
    memset(p, 0, 64);
    memset(p + 64, 0, 64);
    memset(p + 128, 0, sizeof *c - 128);
}

bool sh_call_begin(struct sh_call *c, const struct sh_lib_ops *lib, int api,
                   void (*real)(void), const void *caller)
{
    zero_call(c);
    c->lib = lib;
    c->api = api;
    c->real = real;
    c->caller = caller;
    c->site = -1;
    c->active = depth++ == 0 && (atomic_load_explicit(&process_ready, memory_order_acquire)
                                     ? sh_policy.mode != SH_MODE_OFF
                                     : init_slow());
    if (c->active)
        c->seq = atomic_fetch_add_explicit(&call_seq, 1, memory_order_relaxed) + 1;
    return c->active;
}

void sh_call_end(struct sh_call *c, int status)
{
    if (c->active) {
        struct sh_api_counts *n = &c->lib->counts[c->api];
        /* A call with a site was counted there (sh_site_enter), but for
         * an upcast its site does not count. */
        bool upcast = c->action == SH_ACT_UPCAST || c->changed;
        if (c->site < 0)
            atomic_fetch_add_explicit(&n->calls, 1, memory_order_relaxed);
        if (c->site < 0 ? upcast : c->action != SH_ACT_UPCAST && c->changed)
            atomic_fetch_add_explicit(&n->upcasts, 1, memory_order_relaxed);
        if (sh_log_wants(SH_LEVEL_TRACE))
            c->lib->log_call(c, status);
    }
    depth--;
}

void sh_call_json_shape(struct sh_json *j, const struct sh_call *c,
                        const struct sh_check_names *names)
{
    if (c->site >= 0)
        sh_json_uint(j, "site_id", sh_site_id(c->site));
    sh_json_int(j, "m", c->m);
    sh_json_int(j, "n", c->n);
    sh_json_int(j, "k", c->k);
    sh_json_int(j, "batch", c->batch);
    sh_json_name(j, "atype", names->data_type(c->atype), c->atype);
    sh_json_name(j, "btype", names->data_type(c->btype), c->btype);
    sh_json_name(j, "ctype", names->data_type(c->ctype), c->ctype);
}

void sh_runtime_describe_libs(struct sh_json *j)
{
    for (size_t l = 0; l < NLIBS; l++)
        libs[l]->describe(j);
}

static void summary_at_exit(void)
{
    char buf[16384];
    struct sh_json j;
    if (!atomic_load(&process_ready))
        return;
    /* Scans still running are worth their wait: the last calls before an
     * exit are often the ones that went wrong. */
    sh_check_flush();
    if (!sh_log_wants(SH_LEVEL_ERROR))
        return;
    sh_sites_write_counts(false);
    sh_json_begin(&j, buf, sizeof buf, "summary");
    sh_json_open(&j, "apis", '{');
    counts_summary(&j);
    sh_json_close(&j, '}');
    sh_check_summary(&j);
    sh_sites_summary(&j);
    sh_log_write(&j);
}
