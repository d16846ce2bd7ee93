/* cuBLAS: the generated wrappers and their hand-written hooks.
 *
 * A hook runs for the outermost intercepted call when the shim is on. It
 * fills the call record, and either makes the real call itself (returns
 * true, status in c->status) or lets the wrapper call the real function with
 * the program's own arguments (returns false). */
#include <cublas_api.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cudanames.h"
#include "detect.h"
#include "decide.h"
#include "driver.h"
#include "half.h"
#include "handles.h"
#include "interpose.h"
#include "runtime.h"
#include "sites.h"

#include "cublas_table.h"

/* policy/ restates the CUDA constants it decides on; they must agree. */
_Static_assert((int)SH_COMPUTE_16F == (int)CUBLAS_COMPUTE_16F, "compute 16F");
_Static_assert((int)SH_COMPUTE_16F_PEDANTIC == (int)CUBLAS_COMPUTE_16F_PEDANTIC, "16F pedantic");
_Static_assert((int)SH_COMPUTE_32F == (int)CUBLAS_COMPUTE_32F, "compute 32F");
_Static_assert((int)SH_COMPUTE_32F_PEDANTIC == (int)CUBLAS_COMPUTE_32F_PEDANTIC, "32F pedantic");
_Static_assert((int)SH_COMPUTE_32F_FAST_16F == (int)CUBLAS_COMPUTE_32F_FAST_16F, "compute fast 16F");
_Static_assert((int)SH_R_16F == (int)CUDA_R_16F, "CUDA_R_16F");
_Static_assert((int)SH_R_32F == (int)CUDA_R_32F, "CUDA_R_32F");
_Static_assert((int)SH_R_16BF == (int)CUDA_R_16BF, "CUDA_R_16BF");
_Static_assert((int)SH_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION ==
                   (int)CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION, "math flag");

SH_CUBLAS_INTERCEPT(SH_REAL_TYPEDEF)
SH_CUBLAS_USE(SH_REAL_TYPEDEF)

/* Slots: the intercepted functions first (counted per api), then the used. */
enum { SH_CUBLAS_INTERCEPT(SH_SLOT_ENUM) SH_CUBLAS_USE(SH_SLOT_ENUM) SH_CUBLAS_NSYMS };
#define SH_COUNT_ONE(...) +1
enum { SH_CUBLAS_NAPI = 0 SH_CUBLAS_INTERCEPT(SH_COUNT_ONE) };

static const char *const cublas_syms[] = { SH_CUBLAS_INTERCEPT(SH_SLOT_NAME)
                                               SH_CUBLAS_USE(SH_SLOT_NAME) };
static const char *const cublas_sonames[] = { SH_CUBLAS_SONAMES, NULL };
static _Atomic(void *) cublas_slots[SH_CUBLAS_NSYMS];
static struct sh_lib sh_cublas = { "cublas", cublas_sonames, cublas_syms, cublas_slots,
                                   SH_CUBLAS_NSYMS, 0 };

static struct sh_api_counts counts[SH_CUBLAS_NAPI];
static void log_call(const struct sh_call *c, int status);
static void describe(struct sh_json *j);
const struct sh_lib_ops sh_cublas_ops = { "cublas", cublas_syms, counts, SH_CUBLAS_NAPI,
                                          log_call, describe, NULL };
static atomic_int warned_device_scalars, warned_device_alpha;

/* ---- GEMM engine --------------------------------------------------------- */

enum gemm_form { PLAIN, BATCHED, STRIDED };

struct gemm {
    enum gemm_form form;
    bool is64, hgemm;
    cublasHandle_t h;
    cublasOperation_t ta, tb;
    int64_t m, n, k, lda, ldb, ldc, batch;
    long long sa, sb, sc;
    const void *alpha, *beta, *A, *B;
    void *C;
    cudaDataType at, bt, ct;
    int compute;
    cublasGemmAlgo_t algo;
};

/* ---- grouped GEMMs: cublasGemmGroupedBatchedEx ------------------------------
 * Host arrays of one entry per group (shape, transposes, leading
 * dimensions, alpha, beta, group size), device arrays of one pointer per
 * problem. cuBLAS offers no FP16 accumulation here (COMPUTE_32F at least),
 * so nothing is rewritten: its 16-bit outputs are checked, group by group. */
struct grouped {
    bool is64;
    cublasHandle_t h;
    const cublasOperation_t *ta, *tb;
    const void *m, *n, *k, *lda, *ldb, *ldc, *size; /* int, or int64_t for _64 */
    const void *alpha, *beta;
    const void *const *A, *const *B;
    void *const *C;
    cudaDataType at, bt, ct;
    int64_t groups;
    int compute;
};

/* ---- reductions: cublasDotEx, cublasNrm2Ex, cublasAxpyEx ------------------- */

enum red_kind { RED_DOT, RED_NRM2, RED_AXPY };

struct reduce {
    enum red_kind kind;
    bool is64;
    cublasHandle_t h;
    int64_t n, incx, incy;
    const void *x, *y;  /* y: Dot's second vector (Axpy's y is out) */
    void *out;          /* Dot, Nrm2: the result; Axpy: y, read and written */
    const void *alpha;  /* Axpy */
    cudaDataType xt, yt, rt, alpha_type, exec;
};

/* One intercepted cuBLAS call: the record every library keeps, and the GEMM
 * or reduction as its hook saw it, which the check after the real call
 * scans (c.gemm or c.reduction says which). */
struct cublas_call {
    struct sh_call c;
    union {
        struct gemm g;
        struct reduce r;
        struct grouped q; /* c.kind == CALL_GROUPED */
    };
};

enum { CALL_GROUPED = 1 };

static const struct cublas_call *cublas_of(const struct sh_call *c)
{
    return (const struct cublas_call *)((const char *)c - offsetof(struct cublas_call, c));
}

/* The handle's pointer mode (where alpha, beta and a reduction's result
 * live), or -1 when the handle cannot say. */
static int pointer_mode_of(cublasHandle_t h)
{
    cublasPointerMode_t pm;
    sh_fn_cublasGetPointerMode_v2 get_pm = REAL(sh_cublas, cublasGetPointerMode_v2);
    return get_pm && get_pm(h, &pm) == CUBLAS_STATUS_SUCCESS ? (int)pm : -1;
}

/* The handle's stream, on which its calls (and so their checks) run. */
static bool stream_of(cublasHandle_t h, cudaStream_t *stream)
{
    sh_fn_cublasGetStream_v2 get = REAL(sh_cublas, cublasGetStream_v2);
    return get && get(h, stream) == CUBLAS_STATUS_SUCCESS;
}

/* cuBLAS runs an Hgemm, or a GemmEx given the legacy CUDA_R_16F, as
 * COMPUTE_16F_PEDANTIC on a handle in CUBLAS_PEDANTIC_MATH (the header's
 * cublasMigrateComputeType), so its upcast must stay pedantic too. */
static bool pedantic_math(cublasHandle_t h)
{
    cublasMath_t mode;
    sh_fn_cublasGetMathMode get = REAL(sh_cublas, cublasGetMathMode);
    return get && get(h, &mode) == CUBLAS_STATUS_SUCCESS &&
           ((unsigned)mode & 0xfu) == CUBLAS_PEDANTIC_MATH;
}

/* The rewritten call: always the GemmEx member of the same form and width. */
static cublasStatus_t call_gemm_ex(const struct gemm *g, const void *alpha, const void *beta,
                                   int compute, bool *missing)
{
    cublasComputeType_t ct = (cublasComputeType_t)compute;
    void (*fn)(void) = NULL;
#define CALL(name, ...)                                                               \
    do {                                                                              \
        sh_fn_##name f = REAL(sh_cublas, name);                                       \
        fn = (void (*)(void))f;                                                       \
        if (f)                                                                        \
            return f(__VA_ARGS__);                                                    \
    } while (0)
    switch (g->form) {
    case PLAIN:
        if (g->is64)
            CALL(cublasGemmEx_64, g->h, g->ta, g->tb, g->m, g->n, g->k, alpha, g->A, g->at,
                 g->lda, g->B, g->bt, g->ldb, beta, g->C, g->ct, g->ldc, ct, g->algo);
        else
            CALL(cublasGemmEx, g->h, g->ta, g->tb, (int)g->m, (int)g->n, (int)g->k, alpha, g->A,
                 g->at, (int)g->lda, g->B, g->bt, (int)g->ldb, beta, g->C, g->ct, (int)g->ldc, ct,
                 g->algo);
        break;
    case BATCHED:
        if (g->is64)
            CALL(cublasGemmBatchedEx_64, g->h, g->ta, g->tb, g->m, g->n, g->k, alpha,
                 (const void *const *)g->A, g->at, g->lda, (const void *const *)g->B, g->bt,
                 g->ldb, beta, (void *const *)g->C, g->ct, g->ldc, g->batch, ct, g->algo);
        else
            CALL(cublasGemmBatchedEx, g->h, g->ta, g->tb, (int)g->m, (int)g->n, (int)g->k, alpha,
                 (const void *const *)g->A, g->at, (int)g->lda, (const void *const *)g->B, g->bt,
                 (int)g->ldb, beta, (void *const *)g->C, g->ct, (int)g->ldc, (int)g->batch, ct,
                 g->algo);
        break;
    case STRIDED:
        if (g->is64)
            CALL(cublasGemmStridedBatchedEx_64, g->h, g->ta, g->tb, g->m, g->n, g->k, alpha, g->A,
                 g->at, g->lda, g->sa, g->B, g->bt, g->ldb, g->sb, beta, g->C, g->ct, g->ldc,
                 g->sc, g->batch, ct, g->algo);
        else
            CALL(cublasGemmStridedBatchedEx, g->h, g->ta, g->tb, (int)g->m, (int)g->n, (int)g->k,
                 alpha, g->A, g->at, (int)g->lda, g->sa, g->B, g->bt, (int)g->ldb, g->sb, beta,
                 g->C, g->ct, (int)g->ldc, g->sc, (int)g->batch, ct, g->algo);
        break;
    }
#undef CALL
    *missing = fn == NULL;
    return CUBLAS_STATUS_NOT_SUPPORTED;
}

static bool gemm_hook(struct cublas_call *cc)
{
    struct sh_call *c = &cc->c;
    const struct gemm *g = &cc->g;
    struct sh_gemm_decision d = sh_decide_gemm(&sh_policy, g->hgemm, g->compute, g->k);
    if (d.action == SH_ACT_UPCAST && (g->hgemm || g->compute == CUDA_R_16F) && pedantic_math(g->h))
        d = sh_decide_gemm(&sh_policy, false, CUBLAS_COMPUTE_16F_PEDANTIC, g->k);
    c->gemm = true;
    c->m = g->m;
    c->n = g->n;
    c->k = g->k;
    c->batch = g->form == PLAIN ? 1 : g->batch;
    c->atype = g->at;
    c->btype = g->bt;
    c->ctype = g->ct;
    c->compute = g->hgemm ? CUBLAS_COMPUTE_16F : g->compute;
    c->compute_used = c->compute;
    c->action = d.action;
    c->pointer_mode = -1;

    /* The pointer mode matters for half scalars being upcast, and is worth
     * its query when every call is being logged. */
    bool upcast_scalars = d.action == SH_ACT_UPCAST && d.half_scalars;
    if (upcast_scalars || sh_log_wants(SH_LEVEL_TRACE))
        c->pointer_mode = pointer_mode_of(g->h);
    if (d.action != SH_ACT_UPCAST)
        return false;
    /* FP16 accumulation takes FP16 A, B and C only: cuBLAS refuses other
     * types, and COMPUTE_32F, which takes many, would turn the program's
     * NOT_SUPPORTED into a GEMM. */
    if (d.half_scalars && (g->at != CUDA_R_16F || g->bt != CUDA_R_16F || g->ct != CUDA_R_16F)) {
        c->action = SH_ACT_FALLBACK;
        return false;
    }

    const void *alpha = g->alpha, *beta = g->beta;
    float host_scalars[2];
    if (upcast_scalars) {
        /* Without a valid handle the program's own call must produce the
         * library's own error, so nothing is rewritten. */
        if (c->pointer_mode < 0 || !alpha || !beta) {
            c->action = SH_ACT_FALLBACK;
            return false;
        }
        if (c->pointer_mode == CUBLAS_POINTER_MODE_HOST) {
            host_scalars[0] = sh_half_to_float(((const sh_half *)alpha)->bits);
            host_scalars[1] = sh_half_to_float(((const sh_half *)beta)->bits);
            alpha = &host_scalars[0];
            beta = &host_scalars[1];
        } else {
            cudaStream_t stream;
            void *dev;
            if (!stream_of(g->h, &stream) ||
                !sh_driver_scalars_h2f(stream, alpha, beta, &dev)) {
                sh_warn_once(&warned_device_scalars,
                             "cannot convert half alpha/beta in device memory; such GEMMs "
                             "keep FP16 accumulation");
                c->action = SH_ACT_FALLBACK;
                return false;
            }
            alpha = dev;
            beta = (const float *)dev + 1;
        }
    }
    bool missing = false;
    cublasStatus_t s = call_gemm_ex(g, alpha, beta, d.compute_used, &missing);
    if (missing) {
        /* e.g. a cuBLAS without the _64 forms: it cannot have been called
         * with them either, but never fail a call the library could serve. */
        c->action = SH_ACT_FALLBACK;
        return false;
    }
    c->compute_used = d.compute_used;
    c->status = s;
    return true;
}

/* ---- hooks ---------------------------------------------------------------- */

static bool sh_hook_create(struct cublas_call *cc, cublasHandle_t *handle)
{
    struct sh_call *c = &cc->c;
    cublasStatus_t s = ((sh_fn_cublasCreate_v2)c->real)(handle);
    c->status = s;
    if (s != CUBLAS_STATUS_SUCCESS || !handle)
        return true;
    /* A working handle means a working driver: load the kernels now, before
     * the program can start capturing a graph. */
    if (sh_driver_ready())
        sh_check_prepare(NULL);
    cublasMath_t mode = CUBLAS_DEFAULT_MATH;
    sh_fn_cublasGetMathMode get = REAL(sh_cublas, cublasGetMathMode);
    sh_fn_cublasSetMathMode set = REAL(sh_cublas, cublasSetMathMode);
    if (!get || !set || get(*handle, &mode) != CUBLAS_STATUS_SUCCESS)
        return true;
    int used = sh_decide_math_mode(&sh_policy, (int)mode);
    c->math_mode = (int)mode;
    c->math_mode_used = (int)mode;
    if (used != (int)mode && sh_handle_set_mode(*handle, (int)mode) &&
        set(*handle, (cublasMath_t)used) == CUBLAS_STATUS_SUCCESS) {
        c->math_mode_used = used;
        c->changed = true;
    }
    return true;
}

/* A mode the shim adds nothing to (the program asked for the flag itself)
 * is cuBLAS's to answer: an earlier mode recorded for the handle must not
 * answer cublasGetMathMode instead, so it is forgotten once cuBLAS has
 * taken the new one. A mode cuBLAS refuses leaves the handle as it was,
 * and so the record too. */
static bool sh_hook_set_math_mode(struct cublas_call *cc, cublasHandle_t h, cublasMath_t mode)
{
    struct sh_call *c = &cc->c;
    int used = sh_decide_math_mode(&sh_policy, (int)mode), before;
    bool known = sh_handle_get_mode(h, &before);
    c->math_mode = (int)mode;
    c->math_mode_used = (int)mode;
    if (used == (int)mode || !sh_handle_set_mode(h, (int)mode)) {
        if (!known)
            return false;
        c->status = ((sh_fn_cublasSetMathMode)c->real)(h, mode);
        if (c->status == CUBLAS_STATUS_SUCCESS)
            sh_handle_forget(h);
        return true;
    }
    c->math_mode_used = used;
    c->changed = true;
    c->status = ((sh_fn_cublasSetMathMode)c->real)(h, (cublasMath_t)used);
    if (c->status != CUBLAS_STATUS_SUCCESS) {
        if (known)
            sh_handle_set_mode(h, before);
        else
            sh_handle_forget(h);
    }
    return true;
}

static bool sh_hook_get_math_mode(struct cublas_call *cc, cublasHandle_t h, cublasMath_t *mode)
{
    struct sh_call *c = &cc->c;
    int own;
    c->status = ((sh_fn_cublasGetMathMode)c->real)(h, mode);
    if (c->status == CUBLAS_STATUS_SUCCESS && mode && sh_handle_get_mode(h, &own))
        *mode = (cublasMath_t)own;
    return true;
}

static bool sh_hook_hgemm(struct cublas_call *cc, cublasHandle_t h, cublasOperation_t ta,
                          cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                          const sh_half *alpha, const sh_half *A, int64_t lda, const sh_half *B,
                          int64_t ldb, const sh_half *beta, sh_half *C, int64_t ldc)
{
    cc->g = (struct gemm){ .form = PLAIN, .is64 = cc->c.api == SH_API_cublasHgemm_64, .hgemm = true,
                      .h = h, .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha,
                      .A = A, .at = CUDA_R_16F, .lda = lda, .B = B, .bt = CUDA_R_16F, .ldb = ldb,
                      .beta = beta, .C = C, .ct = CUDA_R_16F, .ldc = ldc, .batch = 1,
                      .algo = CUBLAS_GEMM_DEFAULT };
    return gemm_hook(cc);
}

static bool sh_hook_hgemm_batched(struct cublas_call *cc, cublasHandle_t h, cublasOperation_t ta,
                                  cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                                  const sh_half *alpha, const sh_half *const A[], int64_t lda,
                                  const sh_half *const B[], int64_t ldb, const sh_half *beta,
                                  sh_half *const C[], int64_t ldc, int64_t batch)
{
    cc->g = (struct gemm){ .form = BATCHED, .is64 = cc->c.api == SH_API_cublasHgemmBatched_64,
                      .hgemm = true, .h = h, .ta = ta, .tb = tb, .m = m, .n = n, .k = k,
                      .alpha = alpha, .A = A, .at = CUDA_R_16F, .lda = lda, .B = B,
                      .bt = CUDA_R_16F, .ldb = ldb, .beta = beta, .C = (void *)C,
                      .ct = CUDA_R_16F, .ldc = ldc, .batch = batch, .algo = CUBLAS_GEMM_DEFAULT };
    return gemm_hook(cc);
}

static bool sh_hook_hgemm_strided(struct cublas_call *cc, cublasHandle_t h, cublasOperation_t ta,
                                  cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                                  const sh_half *alpha, const sh_half *A, int64_t lda,
                                  long long sa, const sh_half *B, int64_t ldb, long long sb,
                                  const sh_half *beta, sh_half *C, int64_t ldc, long long sc,
                                  int64_t batch)
{
    cc->g = (struct gemm){ .form = STRIDED, .is64 = cc->c.api == SH_API_cublasHgemmStridedBatched_64,
                      .hgemm = true, .h = h, .ta = ta, .tb = tb, .m = m, .n = n, .k = k,
                      .alpha = alpha, .A = A, .at = CUDA_R_16F, .lda = lda, .sa = sa, .B = B,
                      .bt = CUDA_R_16F, .ldb = ldb, .sb = sb, .beta = beta, .C = C,
                      .ct = CUDA_R_16F, .ldc = ldc, .sc = sc, .batch = batch,
                      .algo = CUBLAS_GEMM_DEFAULT };
    return gemm_hook(cc);
}

static bool sh_hook_gemm_ex(struct cublas_call *cc, cublasHandle_t h, cublasOperation_t ta,
                            cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                            const void *alpha, const void *A, cudaDataType at, int64_t lda,
                            const void *B, cudaDataType bt, int64_t ldb, const void *beta,
                            void *C, cudaDataType ct, int64_t ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo)
{
    cc->g = (struct gemm){ .form = PLAIN, .is64 = cc->c.api == SH_API_cublasGemmEx_64, .h = h, .ta = ta,
                      .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .A = A, .at = at,
                      .lda = lda, .B = B, .bt = bt, .ldb = ldb, .beta = beta, .C = C, .ct = ct,
                      .ldc = ldc, .batch = 1, .compute = (int)compute, .algo = algo };
    return gemm_hook(cc);
}

/* cublasSgemmEx takes no compute type: it always accumulates in FP32, with
 * float alpha and beta, so it is the GemmEx with CUBLAS_COMPUTE_32F that
 * its records name. That is never risky, so gemm_hook passes it to cuBLAS
 * as the program made it; its FP16 or BF16 C can still overflow, and is
 * checked like any GEMM's (beta read as the float it is). */
static bool sh_hook_sgemm_ex(struct cublas_call *cc, cublasHandle_t h, cublasOperation_t ta,
                             cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                             const float *alpha, const void *A, cudaDataType at, int64_t lda,
                             const void *B, cudaDataType bt, int64_t ldb, const float *beta,
                             void *C, cudaDataType ct, int64_t ldc)
{
    cc->g = (struct gemm){ .form = PLAIN, .is64 = cc->c.api == SH_API_cublasSgemmEx_64, .h = h,
                      .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .A = A,
                      .at = at, .lda = lda, .B = B, .bt = bt, .ldb = ldb, .beta = beta, .C = C,
                      .ct = ct, .ldc = ldc, .batch = 1, .compute = CUBLAS_COMPUTE_32F,
                      .algo = CUBLAS_GEMM_DEFAULT };
    return gemm_hook(cc);
}

static bool sh_hook_gemm_batched_ex(struct cublas_call *cc, cublasHandle_t h, cublasOperation_t ta,
                                    cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                                    const void *alpha, const void *const A[], cudaDataType at,
                                    int64_t lda, const void *const B[], cudaDataType bt,
                                    int64_t ldb, const void *beta, void *const C[],
                                    cudaDataType ct, int64_t ldc, int64_t batch,
                                    cublasComputeType_t compute, cublasGemmAlgo_t algo)
{
    cc->g = (struct gemm){ .form = BATCHED, .is64 = cc->c.api == SH_API_cublasGemmBatchedEx_64, .h = h,
                      .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .A = A,
                      .at = at, .lda = lda, .B = B, .bt = bt, .ldb = ldb, .beta = beta,
                      .C = (void *)C, .ct = ct, .ldc = ldc, .batch = batch,
                      .compute = (int)compute, .algo = algo };
    return gemm_hook(cc);
}

static bool sh_hook_gemm_strided_ex(struct cublas_call *cc, cublasHandle_t h, cublasOperation_t ta,
                                    cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                                    const void *alpha, const void *A, cudaDataType at,
                                    int64_t lda, long long sa, const void *B, cudaDataType bt,
                                    int64_t ldb, long long sb, const void *beta, void *C,
                                    cudaDataType ct, int64_t ldc, long long sc, int64_t batch,
                                    cublasComputeType_t compute, cublasGemmAlgo_t algo)
{
    cc->g = (struct gemm){ .form = STRIDED, .is64 = cc->c.api == SH_API_cublasGemmStridedBatchedEx_64,
                      .h = h, .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .A = A,
                      .at = at, .lda = lda, .sa = sa, .B = B, .bt = bt, .ldb = ldb, .sb = sb,
                      .beta = beta, .C = C, .ct = ct, .ldc = ldc, .sc = sc, .batch = batch,
                      .compute = (int)compute, .algo = algo };
    return gemm_hook(cc);
}

/* ---- grouped GEMM hook ----------------------------------------------------------- */

static int64_t nth(const void *arr, bool is64, int64_t i)
{
    return is64 ? ((const int64_t *)arr)[i] : ((const int *)arr)[i];
}

/* The call as one shaped call, for its site and records: the largest m, n
 * and k of its groups, batch = every problem of every group (a MoE layer's
 * sites stay put while its experts' token counts change). The library's
 * own checks run first: arrays it would refuse are not read here. */
static bool sh_hook_grouped(struct cublas_call *cc, cublasHandle_t h, const cublasOperation_t *ta,
                            const cublasOperation_t *tb, const void *m, const void *n,
                            const void *k, const void *alpha, const void *const *A,
                            cudaDataType at, const void *lda, const void *const *B,
                            cudaDataType bt, const void *ldb, const void *beta, void *const *C,
                            cudaDataType ct, const void *ldc, int64_t groups, const void *size,
                            cublasComputeType_t compute)
{
    struct sh_call *c = &cc->c;
    struct grouped *q = &cc->q;
    *q = (struct grouped){ .is64 = c->api == SH_API_cublasGemmGroupedBatchedEx_64, .h = h,
                           .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb,
                           .ldc = ldc, .size = size, .alpha = alpha, .beta = beta, .A = A,
                           .B = B, .C = C, .at = at, .bt = bt, .ct = ct, .groups = groups,
                           .compute = (int)compute };
    c->kind = CALL_GROUPED;
    if (!ta || !tb || !m || !n || !k || !lda || !ldb || !ldc || !size || groups < 0)
        return false;
    long long mm = 0, nn = 0, kk = 0, problems = 0;
    for (int64_t g = 0; g < groups; g++) {
        long long gm = nth(m, q->is64, g), gn = nth(n, q->is64, g), gk = nth(k, q->is64, g),
                  gs = nth(size, q->is64, g);
        if (gm < 0 || gn < 0 || gk < 0 || gs < 0)
            return false;
        mm = gm > mm ? gm : mm;
        nn = gn > nn ? gn : nn;
        kk = gk > kk ? gk : kk;
        problems += gs;
    }
    c->gemm = true;
    c->m = mm;
    c->n = nn;
    c->k = kk;
    c->batch = problems;
    c->atype = at;
    c->btype = bt;
    c->ctype = ct;
    c->compute = c->compute_used = (int)compute;
    c->action = SH_ACT_PASS;
    c->pointer_mode = sh_log_wants(SH_LEVEL_TRACE) ? pointer_mode_of(h) : -1;
    return false;
}

/* ---- reduction hooks ---------------------------------------------------------- */

static enum red_kind red_kind_of(int api)
{
    switch (api) {
    case SH_API_cublasNrm2Ex:
    case SH_API_cublasNrm2Ex_64: return RED_NRM2;
    case SH_API_cublasAxpyEx:
    case SH_API_cublasAxpyEx_64: return RED_AXPY;
    default: return RED_DOT;
    }
}

/* The program's own entry point (c->real), with another execution type and
 * alpha. */
static cublasStatus_t call_reduce(const struct sh_call *c, const struct reduce *r,
                                  const void *alpha, cudaDataType alpha_type, cudaDataType exec)
{
    switch (r->kind) {
    case RED_DOT:
        if (r->is64)
            return ((sh_fn_cublasDotEx_64)c->real)(r->h, r->n, r->x, r->xt, r->incx, r->y, r->yt,
                                                   r->incy, r->out, r->rt, exec);
        return ((sh_fn_cublasDotEx)c->real)(r->h, (int)r->n, r->x, r->xt, (int)r->incx, r->y,
                                            r->yt, (int)r->incy, r->out, r->rt, exec);
    case RED_NRM2:
        if (r->is64)
            return ((sh_fn_cublasNrm2Ex_64)c->real)(r->h, r->n, r->x, r->xt, r->incx, r->out,
                                                    r->rt, exec);
        return ((sh_fn_cublasNrm2Ex)c->real)(r->h, (int)r->n, r->x, r->xt, (int)r->incx, r->out,
                                             r->rt, exec);
    case RED_AXPY:
        if (r->is64)
            return ((sh_fn_cublasAxpyEx_64)c->real)(r->h, r->n, alpha, alpha_type, r->x, r->xt,
                                                    r->incx, r->out, r->yt, r->incy, exec);
        return ((sh_fn_cublasAxpyEx)c->real)(r->h, (int)r->n, alpha, alpha_type, r->x, r->xt,
                                             (int)r->incx, r->out, r->yt, (int)r->incy, exec);
    }
    return CUBLAS_STATUS_INTERNAL_ERROR;
}

/* FP16 execution becomes FP32 execution; x, y, the result and their types
 * are never changed. AxpyEx takes alpha in the execution type: a half alpha
 * becomes a float (on the host, or in device memory by the conversion
 * kernel on the handle's stream, as for GEMMs). An Axpy whose alpha is not
 * a half (a combination the program chose, and the library may refuse) is
 * passed through unchanged (action fallback). */
static bool reduce_hook(struct cublas_call *cc)
{
    struct sh_call *c = &cc->c;
    const struct reduce *r = &cc->r;
    struct sh_reduce_decision d = sh_decide_reduction(&sh_policy, (int)r->exec);
    bool axpy = r->kind == RED_AXPY;
    c->reduction = true;
    c->m = 1;
    c->n = r->n;
    c->k = axpy ? 1 : r->n;
    c->batch = 1;
    c->atype = r->xt;
    c->btype = r->kind == RED_NRM2 ? r->xt : r->yt;
    c->ctype = axpy ? r->yt : r->rt;
    c->compute = r->exec;
    c->compute_used = r->exec;
    c->incx = r->incx;
    c->incy = r->kind == RED_NRM2 ? 0 : r->incy;
    c->scalar_type = axpy ? (int)r->alpha_type : -1;
    c->action = d.action;
    c->pointer_mode = -1;

    /* The pointer mode says where alpha and the result live: it matters
     * for a half alpha being converted, for whether a 16-bit result can be
     * scanned (only in device memory), and for trace records. */
    bool half_alpha = d.action == SH_ACT_UPCAST && axpy && r->alpha_type == CUDA_R_16F;
    bool scan_result = !axpy && (r->rt == CUDA_R_16F || r->rt == CUDA_R_16BF) &&
                       sh_policy.check != SH_CHECK_OFF;
    if (half_alpha || scan_result || sh_log_wants(SH_LEVEL_TRACE))
        c->pointer_mode = pointer_mode_of(r->h);
    if (d.action != SH_ACT_UPCAST)
        return false;

    const void *alpha = r->alpha;
    float host_alpha;
    if (axpy) {
        /* Without a valid handle or alpha the program's own call must
         * produce the library's own error, so nothing is rewritten. */
        if (!half_alpha || c->pointer_mode < 0 || !alpha) {
            c->action = SH_ACT_FALLBACK;
            return false;
        }
        if (c->pointer_mode == CUBLAS_POINTER_MODE_HOST) {
            host_alpha = sh_half_to_float(((const sh_half *)alpha)->bits);
            alpha = &host_alpha;
        } else {
            cudaStream_t stream;
            void *dev;
            /* The conversion kernel converts a pair: alpha twice. */
            if (!stream_of(r->h, &stream) ||
                !sh_driver_scalars_h2f(stream, alpha, alpha, &dev)) {
                sh_warn_once(&warned_device_alpha,
                             "cannot convert a half alpha in device memory; such cublasAxpyEx "
                             "calls keep FP16 execution");
                c->action = SH_ACT_FALLBACK;
                return false;
            }
            alpha = dev;
        }
    }
    c->compute_used = d.exec_used;
    c->status = call_reduce(c, r, alpha, axpy ? CUDA_R_32F : r->alpha_type,
                            (cudaDataType)d.exec_used);
    return true;
}

static bool sh_hook_dot_ex(struct cublas_call *cc, cublasHandle_t h, int64_t n, const void *x,
                           cudaDataType xt, int64_t incx, const void *y, cudaDataType yt,
                           int64_t incy, void *result, cudaDataType rt, cudaDataType exec)
{
    cc->r = (struct reduce){ .kind = RED_DOT, .is64 = cc->c.api == SH_API_cublasDotEx_64,
                             .h = h, .n = n, .x = x, .xt = xt, .incx = incx, .y = y, .yt = yt,
                             .incy = incy, .out = result, .rt = rt, .exec = exec };
    return reduce_hook(cc);
}

static bool sh_hook_nrm2_ex(struct cublas_call *cc, cublasHandle_t h, int64_t n, const void *x,
                            cudaDataType xt, int64_t incx, void *result, cudaDataType rt,
                            cudaDataType exec)
{
    cc->r = (struct reduce){ .kind = RED_NRM2, .is64 = cc->c.api == SH_API_cublasNrm2Ex_64,
                             .h = h, .n = n, .x = x, .xt = xt, .incx = incx, .out = result,
                             .rt = rt, .exec = exec };
    return reduce_hook(cc);
}

static bool sh_hook_axpy_ex(struct cublas_call *cc, cublasHandle_t h, int64_t n,
                            const void *alpha, cudaDataType alpha_t, const void *x,
                            cudaDataType xt, int64_t incx, void *y, cudaDataType yt,
                            int64_t incy, cudaDataType exec)
{
    cc->r = (struct reduce){ .kind = RED_AXPY, .is64 = cc->c.api == SH_API_cublasAxpyEx_64,
                             .h = h, .n = n, .alpha = alpha, .alpha_type = alpha_t, .x = x,
                             .xt = xt, .incx = incx, .out = y, .yt = yt, .rt = yt,
                             .incy = incy, .exec = exec };
    return reduce_hook(cc);
}

/* ---- the check after a GEMM ------------------------------------------------- */

static const struct sh_check_names cublas_names = { sh_cuda_type_name, sh_cublas_compute_name };
/* A reduction's "compute" is its execution type: a CUDA data type. */
static const struct sh_check_names reduce_names = { sh_cuda_type_name, sh_cuda_type_name };


/* A column-major operand of the GEMM: one pointer (strided) or a device
 * array of pointers (batched). */
static struct sh_matrix operand(const struct gemm *g, enum sh_scan_type t, const void *p,
                                int64_t rows, int64_t cols, int64_t ld, long long stride)
{
    struct sh_matrix m = { .type = t, .rows = (unsigned long long)rows,
                           .cols = (unsigned long long)cols, .ld = (unsigned long long)ld,
                           .batch = g->form == PLAIN ? 1 : (unsigned long long)g->batch };
    if (g->form == BATCHED)
        m.ptrs = (const void *const *)p;
    else
        m.base = p;
    m.stride = g->form == STRIDED ? (unsigned long long)stride : 0;
    return m;
}

/* beta != 0 makes C an input too: the output's own memory, overwritten by
 * the time the scans (which follow the call on its stream) read anything.
 * It is then listed as an input no scan reads, so a finding says its
 * origin is unknown rather than "made here" when A and B were finite
 * (PyTorch's addmm copies the bias into C and multiplies with beta = 1). A
 * beta on the host is read in the program's scale type; one in device
 * memory may be anything. */
static bool beta_counts(const struct cublas_call *cc)
{
    const struct gemm *g = &cc->g;
    int pm = cc->c.pointer_mode >= 0 ? cc->c.pointer_mode : pointer_mode_of(g->h);
    if (pm != CUBLAS_POINTER_MODE_HOST || !g->beta)
        return true;
    int t = g->compute, scale = CUDA_R_32F;
    if (g->hgemm || t == CUBLAS_COMPUTE_16F || t == CUBLAS_COMPUTE_16F_PEDANTIC ||
        t == CUDA_R_16F)
        scale = CUDA_R_16F;
    else if (t == CUBLAS_COMPUTE_64F || t == CUBLAS_COMPUTE_64F_PEDANTIC || t == CUDA_R_64F)
        scale = CUDA_R_64F;
    else if (t == CUBLAS_COMPUTE_32I || t == CUBLAS_COMPUTE_32I_PEDANTIC)
        scale = CUDA_R_32I;
    return sh_cuda_scalar_nonzero(scale, g->beta);
}

static void gemm_check(const struct cublas_call *cc)
{
    const struct gemm *g = &cc->g;
    const struct sh_call *c = &cc->c;
    enum sh_scan_type ct, t;
    cudaStream_t stream;
    if (!sh_check_wanted(g->ct) || !sh_cuda_scan_type(g->ct, &ct))
        return;
    if (!stream_of(g->h, &stream))
        return;
    struct sh_check_call k = { .api = cublas_syms[c->api], .names = &cublas_names,
                          .counts = &counts[c->api].checks, .seq = c->seq, .m = c->m, .n = c->n,
                          .k = c->k, .batch = c->batch, .atype = c->atype, .btype = c->btype,
                          .ctype = c->ctype, .compute = c->compute,
                          .compute_used = c->compute_used, .stream = stream,
                          .caller = c->caller, .site = c->site };
    k.out = operand(g, ct, g->C, g->m, g->n, g->ldc, g->sc);
    if (sh_policy.check_inputs) {
        /* Stored shapes: op(A) is m x k, op(B) is k x n. */
        bool ta = g->ta != CUBLAS_OP_N, tb = g->tb != CUBLAS_OP_N;
        k.nin = 2;
        if (sh_cuda_scan_type(g->at, &t)) {
            k.in_name[0] = "A";
            k.in[0] = operand(g, t, g->A, ta ? g->k : g->m, ta ? g->m : g->k, g->lda, g->sa);
        }
        if (sh_cuda_scan_type(g->bt, &t)) {
            k.in_name[1] = "B";
            k.in[1] = operand(g, t, g->B, tb ? g->n : g->k, tb ? g->k : g->n, g->ldb, g->sb);
        }
        if (beta_counts(cc))
            k.nin = 3; /* C, unread (in_name[2] stays NULL) */
    }
    sh_check_submit(&k);
}

/* ---- the check after a grouped GEMM ------------------------------------------- */

/* problems column-major matrices whose pointers are the device array ptrs. */
static struct sh_matrix pointed(enum sh_scan_type t, const void *const *ptrs, int64_t rows,
                                int64_t cols, int64_t ld, int64_t problems)
{
    return (struct sh_matrix){ .type = t, .ptrs = ptrs, .rows = (unsigned long long)rows,
                               .cols = (unsigned long long)cols, .ld = (unsigned long long)ld,
                               .batch = (unsigned long long)problems };
}

/* One scan per group, each a check of its own (its shape and index in the
 * record); a group's problems share one scan of their pointer array. beta
 * is a host array (cuBLAS refuses device pointer mode here) in the scale
 * type: double for the 64F compute types, else float. */
static void grouped_check(const struct cublas_call *cc)
{
    const struct grouped *q = &cc->q;
    const struct sh_call *c = &cc->c;
    enum sh_scan_type ct, at, bt;
    cudaStream_t stream;
    if (!sh_check_wanted(q->ct) || !sh_cuda_scan_type(q->ct, &ct))
        return;
    if (!stream_of(q->h, &stream))
        return;
    bool scan_a = sh_cuda_scan_type(q->at, &at), scan_b = sh_cuda_scan_type(q->bt, &bt);
    bool f64 = q->compute == CUBLAS_COMPUTE_64F || q->compute == CUBLAS_COMPUTE_64F_PEDANTIC;
    int64_t problems;
    for (int64_t g = 0, first = 0; g < q->groups; g++, first += problems) {
        int64_t m = nth(q->m, q->is64, g), n = nth(q->n, q->is64, g), k = nth(q->k, q->is64, g);
        problems = nth(q->size, q->is64, g);
        if (!problems || !m || !n)
            continue;
        struct sh_check_call kc = { .api = cublas_syms[c->api], .names = &cublas_names,
                                    .counts = &counts[c->api].checks, .seq = c->seq, .m = m,
                                    .n = n, .k = k, .batch = problems, .grouped = true,
                                    .group = g, .atype = c->atype, .btype = c->btype,
                                    .ctype = c->ctype, .compute = c->compute,
                                    .compute_used = c->compute_used, .stream = stream,
                                    .caller = c->caller, .site = c->site };
        kc.out = pointed(ct, (const void *const *)q->C + first, m, n, nth(q->ldc, q->is64, g),
                         problems);
        if (sh_policy.check_inputs) {
            bool ta = q->ta[g] != CUBLAS_OP_N, tb = q->tb[g] != CUBLAS_OP_N;
            kc.nin = 2;
            if (scan_a) {
                kc.in_name[0] = "A";
                kc.in[0] = pointed(at, q->A + first, ta ? k : m, ta ? m : k,
                                   nth(q->lda, q->is64, g), problems);
            }
            if (scan_b) {
                kc.in_name[1] = "B";
                kc.in[1] = pointed(bt, q->B + first, tb ? n : k, tb ? k : n,
                                   nth(q->ldb, q->is64, g), problems);
            }
            const char *beta = (const char *)q->beta + g * (f64 ? 8 : 4);
            if (sh_cuda_scalar_nonzero(f64 ? CUDA_R_64F : CUDA_R_32F, beta))
                kc.nin = 3; /* C, unread, as for any GEMM */
        }
        sh_check_submit(&kc);
    }
}

/* ---- the check after a reduction ---------------------------------------------- */

/* A vector as the scan kernels see it: a 1 x n matrix whose columns lie
 * |inc| elements apart. A negative increment covers the same elements (the
 * vector starts at the far end: columns are in memory order), an increment
 * of 0 a single element. */
static struct sh_matrix vector_of(enum sh_scan_type t, const void *p, int64_t n, int64_t inc)
{
    unsigned long long step = (unsigned long long)(inc < 0 ? -inc : inc);
    return (struct sh_matrix){ .type = t, .base = p, .rows = 1,
                               .cols = step ? (unsigned long long)n : 1, .ld = step ? step : 1,
                               .batch = 1 };
}

/* Dot and Nrm2 write a scalar of the result type, Axpy overwrites y: either
 * is scanned when 16-bit, on the handle's stream. A Dot/Nrm2 result in host
 * memory (host pointer mode), which cuBLAS has written when the call
 * returns, is read on the host instead: no kernel can read pageable memory.
 * In an unknown pointer mode the result may be either: not touched. */
static void reduce_check(const struct cublas_call *cc)
{
    const struct reduce *r = &cc->r;
    const struct sh_call *c = &cc->c;
    bool axpy = r->kind == RED_AXPY;
    enum sh_scan_type t;
    cudaStream_t stream;
    if (r->n <= 0 || (!axpy && c->pointer_mode != CUBLAS_POINTER_MODE_DEVICE &&
                      c->pointer_mode != CUBLAS_POINTER_MODE_HOST))
        return;
    if (!sh_check_wanted(c->ctype) || !sh_cuda_scan_type(c->ctype, &t))
        return;
    if (!stream_of(r->h, &stream))
        return;
    struct sh_check_call k = { .api = cublas_syms[c->api], .names = &reduce_names,
                               .counts = &counts[c->api].checks, .seq = c->seq, .m = c->m,
                               .n = c->n, .k = c->k, .batch = c->batch, .atype = c->atype,
                               .btype = c->btype, .ctype = c->ctype, .compute = c->compute,
                               .compute_used = c->compute_used, .stream = stream,
                               .caller = c->caller, .site = c->site };
    k.out = axpy ? vector_of(t, r->out, r->n, r->incy) : vector_of(t, r->out, 1, 1);
    k.out_host = !axpy && c->pointer_mode == CUBLAS_POINTER_MODE_HOST;
    if (sh_policy.check_inputs) {
        k.nin = r->kind == RED_DOT ? 2 : 1;
        if (sh_cuda_scan_type(r->xt, &t)) {
            k.in_name[0] = "x";
            k.in[0] = vector_of(t, r->x, r->n, r->incx);
        }
        if (r->kind == RED_DOT && sh_cuda_scan_type(r->yt, &t)) {
            k.in_name[1] = "y";
            k.in[1] = vector_of(t, r->y, r->n, r->incy);
        }
    }
    sh_check_submit(&k);
}

/* After a GEMM or a reduction: its call site, then, if it succeeded, the
 * check of its output. */
static void shaped_after(struct cublas_call *cc, cublasStatus_t status)
{
    struct sh_call *c = &cc->c;
    if (!c->gemm && !c->reduction)
        return;
    if (sh_site_tracked(c))
        sh_site_enter(c, cublas_syms[c->api], c->gemm ? &cublas_names : &reduce_names);
    if (status != CUBLAS_STATUS_SUCCESS)
        return;
    if (c->kind == CALL_GROUPED)
        grouped_check(cc);
    else if (c->gemm)
        gemm_check(cc);
    else
        reduce_check(cc);
}

/* ---- the wrappers ----------------------------------------------------------- */

static cublasStatus_t sh_cublas_missing(int api)
{
    sh_init();
    sh_warn_once(&sh_cublas.warned_missing,
                 "%s called, but no real cuBLAS is loaded (libcublas.so.13/.so.12; a statically "
                 "linked cuBLAS cannot be interposed); returning CUBLAS_STATUS_NOT_INITIALIZED",
                 cublas_syms[api]);
    return CUBLAS_STATUS_NOT_INITIALIZED;
}

#define SH_WRAPPER(ret, name, params, args, hook) \
    SH_INTERCEPTOR(sh_cublas, struct cublas_call, shaped_after, ret, name, params, args, hook)
SH_CUBLAS_INTERCEPT(SH_WRAPPER)

/* ---- records ----------------------------------------------------------------- */

static const char *pointer_mode_name(int mode)
{
    return mode < 0 ? NULL : mode == CUBLAS_POINTER_MODE_HOST ? "host" : "device";
}

static void log_call(const struct sh_call *c, int status)
{
    char buf[1024];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "call");
    sh_json_str(&j, "api", cublas_syms[c->api]);
    sh_json_uint(&j, "seq", c->seq);
    if (c->gemm) {
        sh_call_json_shape(&j, c, &cublas_names);
        if (c->kind == CALL_GROUPED)
            sh_json_int(&j, "groups", cublas_of(c)->q.groups);
        sh_json_name(&j, "compute", sh_cublas_compute_name(c->compute), c->compute);
        sh_json_name(&j, "compute_used", sh_cublas_compute_name(c->compute_used), c->compute_used);
        sh_json_str(&j, "pointer_mode", pointer_mode_name(c->pointer_mode));
        sh_json_str(&j, "action", sh_action_name(c->action));
    } else if (c->reduction) {
        /* In the reduction's own terms; site and nonfinite records carry
         * the generic fields (runtime.h). */
        enum red_kind kind = red_kind_of(c->api);
        if (c->site >= 0)
            sh_json_uint(&j, "site_id", sh_site_id(c->site));
        sh_json_int(&j, "n", c->n);
        sh_json_int(&j, "incx", c->incx);
        if (kind != RED_NRM2)
            sh_json_int(&j, "incy", c->incy);
        sh_json_name(&j, "xtype", sh_cuda_type_name(c->atype), c->atype);
        if (kind != RED_NRM2)
            sh_json_name(&j, "ytype", sh_cuda_type_name(c->btype), c->btype);
        if (kind == RED_AXPY)
            sh_json_name(&j, "alpha_type", sh_cuda_type_name(c->scalar_type), c->scalar_type);
        else
            sh_json_name(&j, "result_type", sh_cuda_type_name(c->ctype), c->ctype);
        sh_json_name(&j, "exec", sh_cuda_type_name(c->compute), c->compute);
        sh_json_name(&j, "exec_used", sh_cuda_type_name(c->compute_used), c->compute_used);
        sh_json_str(&j, "pointer_mode", pointer_mode_name(c->pointer_mode));
        sh_json_str(&j, "action", sh_action_name(c->action));
    } else if (c->api != SH_API_cublasGetMathMode) {
        sh_json_int(&j, "math_mode", c->math_mode);
        sh_json_int(&j, "math_mode_used", c->math_mode_used);
    }
    sh_json_int(&j, "status", status);
    sh_log_write(&j);
}

static void describe(struct sh_json *j)
{
    int version = 0;
    const char *path = sh_lib_path(&sh_cublas);
    sh_fn_cublasGetVersion_v2 get = REAL(sh_cublas, cublasGetVersion_v2);
    sh_json_open(j, "cublas", '{');
    sh_json_str(j, "path", path);
    if (get && get(NULL, &version) == CUBLAS_STATUS_SUCCESS)
        sh_json_int(j, "version", version);
    else
        sh_json_str(j, "version", NULL);
    sh_json_close(j, '}');
}
