/* cuBLASLt: the generated wrappers and their hand-written hooks. */
#include <cublasLt.h>

#include "decide.h"
#include "interpose.h"
#include "runtime.h"

#include "cublaslt_table.h"

SH_CUBLASLT_INTERCEPT(SH_REAL_TYPEDEF)
SH_CUBLASLT_USE(SH_REAL_TYPEDEF)

enum { SH_CUBLASLT_INTERCEPT(SH_SLOT_ENUM) SH_CUBLASLT_USE(SH_SLOT_ENUM) SH_LT_NSYMS };
#define SH_COUNT_ONE(...) +1
enum { SH_LT_NAPI = 0 SH_CUBLASLT_INTERCEPT(SH_COUNT_ONE) };

static const char *const lt_syms[] = { SH_CUBLASLT_INTERCEPT(SH_SLOT_NAME)
                                           SH_CUBLASLT_USE(SH_SLOT_NAME) };
static const char *const lt_sonames[] = { "libcublasLt.so.13", "libcublasLt.so.12", NULL };
static _Atomic(void *) lt_slots[SH_LT_NSYMS];
static struct sh_lib sh_cublaslt = { "cublaslt", lt_sonames, lt_syms, lt_slots, SH_LT_NSYMS, 0 };

static struct sh_api_counts counts[SH_LT_NAPI];
static void log_call(const struct sh_call *c, int status);
static void describe(struct sh_json *j);
const struct sh_lib_ops sh_cublaslt_ops = { "cublaslt", lt_syms, counts, SH_LT_NAPI, log_call,
                                            describe };

struct lt_call {
    struct sh_call c;
};

static bool sh_hook_desc_create(struct lt_call *cc, ...) { (void)cc; return false; }
static bool sh_hook_desc_init(struct lt_call *cc, ...) { (void)cc; return false; }
static bool sh_hook_desc_destroy(struct lt_call *cc, ...) { (void)cc; return false; }
static bool sh_hook_desc_set(struct lt_call *cc, ...) { (void)cc; return false; }
static bool sh_hook_desc_get(struct lt_call *cc, ...) { (void)cc; return false; }
static bool sh_hook_pref_create(struct lt_call *cc, ...) { (void)cc; return false; }
static bool sh_hook_pref_init(struct lt_call *cc, ...) { (void)cc; return false; }
static bool sh_hook_pref_set(struct lt_call *cc, ...) { (void)cc; return false; }
static bool sh_hook_matmul(struct lt_call *cc, ...) { (void)cc; return false; }

static void after(struct lt_call *cc, cublasStatus_t status)
{
    (void)cc, (void)status;
}

static cublasStatus_t sh_cublaslt_missing(int api)
{
    sh_init();
    sh_warn_once(&sh_cublaslt.warned_missing,
                 "%s called, but no real cuBLASLt is loaded (libcublasLt.so.13/.so.12); "
                 "returning CUBLAS_STATUS_NOT_INITIALIZED",
                 lt_syms[api]);
    return CUBLAS_STATUS_NOT_INITIALIZED;
}

#define SH_WRAPPER(ret, name, params, args, hook) \
    SH_INTERCEPTOR(sh_cublaslt, struct lt_call, after, ret, name, params, args, hook)
SH_CUBLASLT_INTERCEPT(SH_WRAPPER)

static void log_call(const struct sh_call *c, int status)
{
    char buf[1024];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "call");
    sh_json_str(&j, "api", lt_syms[c->api]);
    sh_json_uint(&j, "seq", c->seq);
    sh_json_int(&j, "status", status);
    sh_log_write(&j);
}

static void describe(struct sh_json *j)
{
    sh_fn_cublasLtGetVersion get = REAL(sh_cublaslt, cublasLtGetVersion);
    sh_json_open(j, "cublaslt", '{');
    sh_json_str(j, "path", sh_lib_path(&sh_cublaslt));
    if (get)
        sh_json_int(j, "version", (long long)get());
    else
        sh_json_str(j, "version", NULL);
    sh_json_close(j, '}');
}
