/* cuDNN: the generated wrappers and their hand-written hooks (see
 * cublas.c for the shape of a hook). */
#include <cudnn.h>

#include "decide.h"
#include "interpose.h"
#include "runtime.h"

#include "cudnn_table.h"

_Static_assert((int)SH_DNN_FLOAT == (int)CUDNN_DATA_FLOAT, "CUDNN_DATA_FLOAT");
_Static_assert((int)SH_DNN_HALF == (int)CUDNN_DATA_HALF, "CUDNN_DATA_HALF");
_Static_assert((int)SH_DNN_BFLOAT16 == (int)CUDNN_DATA_BFLOAT16, "CUDNN_DATA_BFLOAT16");

SH_CUDNN_INTERCEPT(SH_REAL_TYPEDEF)
SH_CUDNN_USE(SH_REAL_TYPEDEF)

enum { SH_CUDNN_INTERCEPT(SH_SLOT_ENUM) SH_CUDNN_USE(SH_SLOT_ENUM) SH_CUDNN_NSYMS };
#define SH_COUNT_ONE(...) +1
enum { SH_CUDNN_NAPI = 0 SH_CUDNN_INTERCEPT(SH_COUNT_ONE) };

static const char *const cudnn_syms[] = { SH_CUDNN_INTERCEPT(SH_SLOT_NAME)
                                              SH_CUDNN_USE(SH_SLOT_NAME) };
static const char *const cudnn_sonames[] = { "libcudnn.so.9", NULL };
static _Atomic(void *) cudnn_slots[SH_CUDNN_NSYMS];
static struct sh_lib sh_cudnn = { "cudnn", cudnn_sonames, cudnn_syms, cudnn_slots,
                                  SH_CUDNN_NSYMS, 0 };

static struct sh_api_counts counts[SH_CUDNN_NAPI];
static void log_call(const struct sh_call *c, int status);
static void describe(struct sh_json *j);
const struct sh_lib_ops sh_cudnn_ops = { "cudnn", cudnn_syms, counts, SH_CUDNN_NAPI, log_call,
                                         describe };

struct cudnn_call {
    struct sh_call c;
};

/* ---- hooks ---------------------------------------------------------------- */

static bool sh_hook_set_conv2d(struct cudnn_call *cc, cudnnConvolutionDescriptor_t d, int pad_h,
                               int pad_w, int u, int v, int dilation_h, int dilation_w,
                               cudnnConvolutionMode_t mode, cudnnDataType_t compute)
{
    (void)cc, (void)d, (void)pad_h, (void)pad_w, (void)u, (void)v, (void)dilation_h;
    (void)dilation_w, (void)mode, (void)compute;
    return false;
}

static void after(struct cudnn_call *cc, cudnnStatus_t status)
{
    (void)cc, (void)status;
}

/* ---- the wrappers ----------------------------------------------------------- */

static cudnnStatus_t sh_cudnn_missing(int api)
{
    sh_init();
    sh_warn_once(&sh_cudnn.warned_missing,
                 "%s called, but no real cuDNN is loaded (libcudnn.so.9); returning "
                 "CUDNN_STATUS_NOT_INITIALIZED",
                 cudnn_syms[api]);
    return CUDNN_STATUS_NOT_INITIALIZED;
}

#define SH_WRAPPER(ret, name, params, args, hook) \
    SH_INTERCEPTOR(sh_cudnn, struct cudnn_call, after, ret, name, params, args, hook)
SH_CUDNN_INTERCEPT(SH_WRAPPER)

/* ---- records ------------------------------------------------------------------ */

static void log_call(const struct sh_call *c, int status)
{
    char buf[1024];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "call");
    sh_json_str(&j, "api", cudnn_syms[c->api]);
    sh_json_uint(&j, "seq", c->seq);
    sh_json_int(&j, "status", status);
    sh_log_write(&j);
}

static void describe(struct sh_json *j)
{
    sh_fn_cudnnGetVersion get = REAL(sh_cudnn, cudnnGetVersion);
    sh_json_open(j, "cudnn", '{');
    sh_json_str(j, "path", sh_lib_path(&sh_cudnn));
    if (get)
        sh_json_int(j, "version", (long long)get());
    else
        sh_json_str(j, "version", NULL);
    sh_json_close(j, '}');
}
