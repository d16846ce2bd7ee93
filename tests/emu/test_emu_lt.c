/* Tests of the emulated cuBLASLt: its objects and attributes as cublasLt.h
 * documents them, the emulated heuristic's rule (lt_algo.c), and
 * cublasLtMatmul's numbers against exact expectations or an FP32 host
 * reference.
 *
 * Every test runs in its own forked process (CK_FORK is forced in main). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "emu.h"

#define N CUBLAS_OP_N
#define T CUBLAS_OP_T
#define OK CUBLAS_STATUS_SUCCESS
#define COL CUBLASLT_ORDER_COL
#define ROW CUBLASLT_ORDER_ROW

/* ---- helpers --------------------------------------------------------------- */

static uint16_t H(float f)
{
    return sh_float_to_half(f);
}

static uint16_t BF(float f)
{
    return sh_float_to_bf16(f);
}

static size_t tsize(cudaDataType t)
{
    return t == CUDA_R_32F ? 4 : 2;
}

/* One element of a host array of type t, as float. */
static float get(const void *p, cudaDataType t, size_t i)
{
    if (t == CUDA_R_16F)
        return sh_half_to_float(((const uint16_t *)p)[i]);
    if (t == CUDA_R_16BF)
        return sh_bf16_to_float(((const uint16_t *)p)[i]);
    return ((const float *)p)[i];
}

static void put(void *p, cudaDataType t, size_t i, float v)
{
    if (t == CUDA_R_16F)
        ((uint16_t *)p)[i] = H(v);
    else if (t == CUDA_R_16BF)
        ((uint16_t *)p)[i] = BF(v);
    else
        ((float *)p)[i] = v;
}

static void *up(const void *host, size_t bytes)
{
    void *d = NULL;
    ck_assert_int_eq(cudaMalloc(&d, bytes), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice), cudaSuccess);
    return d;
}

static void down(void *host, const void *dev, size_t bytes)
{
    ck_assert_int_eq(cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
}

static cublasLtHandle_t lt_handle(void)
{
    cublasLtHandle_t h = NULL;
    ck_assert_int_eq(cublasLtCreate(&h), OK);
    return h;
}

static cublasLtMatmulDesc_t desc(cublasComputeType_t compute, cudaDataType scale,
                                 cublasOperation_t ta, cublasOperation_t tb)
{
    cublasLtMatmulDesc_t d = NULL;
    ck_assert_int_eq(cublasLtMatmulDescCreate(&d, compute, scale), OK);
    int32_t a = ta, b = tb;
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &a, 4), OK);
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &b, 4), OK);
    return d;
}

static void set_u32(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, uint32_t v)
{
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, attr, &v, sizeof v), OK);
}

/* A stored matrix: shape, order, leading dimension, batch. */
struct mat {
    cudaDataType type;
    int64_t rows, cols, ld;
    int32_t order, batch;
    int64_t stride;
};

static cublasLtMatrixLayout_t layout(const struct mat *m)
{
    cublasLtMatrixLayout_t l = NULL;
    ck_assert_int_eq(cublasLtMatrixLayoutCreate(&l, m->type, (uint64_t)m->rows,
                                                (uint64_t)m->cols, m->ld), OK);
    int32_t batch = m->batch ? m->batch : 1;
    ck_assert_int_eq(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &m->order,
                                                      4), OK);
    ck_assert_int_eq(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                      &batch, 4), OK);
    ck_assert_int_eq(cublasLtMatrixLayoutSetAttribute(
                         l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &m->stride, 8), OK);
    return l;
}

static size_t at(const struct mat *m, int64_t r, int64_t c, int64_t member)
{
    return (size_t)(member * m->stride + (m->order == ROW ? r * m->ld + c : r + c * m->ld));
}

/* Elements a (batched) matrix spans. */
static size_t elems(const struct mat *m)
{
    int64_t one = m->order == ROW ? (m->rows - 1) * m->ld + m->cols
                                  : (m->cols - 1) * m->ld + m->rows;
    return (size_t)(((m->batch ? m->batch : 1) - 1) * m->stride + one);
}

/* ---- a 1 x 1 dot product of length k, the shape of every numeric rule ------- */

struct dot {
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, d;
    void *da, *db, *dd;
    cudaDataType out;
    int half_scalars;
};

static void dot_init(struct dot *t, cublasComputeType_t compute, cudaDataType ab,
                     cudaDataType out, const void *a, const void *b, int k)
{
    t->half_scalars = compute == CUBLAS_COMPUTE_16F || compute == CUBLAS_COMPUTE_16F_PEDANTIC;
    t->out = out;
    t->desc = desc(compute, t->half_scalars ? CUDA_R_16F : CUDA_R_32F, N, N);
    struct mat ma = { ab, 1, k, 1, COL, 1, 0 }, mb = { ab, k, 1, k, COL, 1, 0 },
               md = { out, 1, 1, 1, COL, 1, 0 };
    t->a = layout(&ma), t->b = layout(&mb), t->d = layout(&md);
    t->da = up(a, (size_t)k * tsize(ab));
    t->db = up(b, (size_t)k * tsize(ab));
    ck_assert_int_eq(cudaMalloc(&t->dd, 4), cudaSuccess);
}

static cublasStatus_t dot_try(cublasLtHandle_t h, struct dot *t, const cublasLtMatmulAlgo_t *algo,
                              float *result)
{
    sh_half ha = { H(1) }, hb = { H(0) };
    float fa = 1, fb = 0;
    const void *alpha = t->half_scalars ? (const void *)&ha : &fa;
    const void *beta = t->half_scalars ? (const void *)&hb : &fb;
    cublasStatus_t st = cublasLtMatmul(h, t->desc, alpha, t->da, t->a, t->db, t->b, beta, t->dd,
                                       t->d, t->dd, t->d, algo, NULL, 0, NULL);
    unsigned char out[4];
    down(out, t->dd, 4);
    *result = get(out, t->out, 0);
    return st;
}

static float dot_run(cublasLtHandle_t h, struct dot *t, const cublasLtMatmulAlgo_t *algo)
{
    float r;
    ck_assert_int_eq(dot_try(h, t, algo, &r), OK);
    return r;
}

/* Heuristic results under a reduction-scheme mask (or the default one,
 * mask < 0); returns how many. */
static int dot_heuristic(cublasLtHandle_t h, struct dot *t, int64_t mask, int requested,
                         cublasLtMatmulHeuristicResult_t *res)
{
    cublasLtMatmulPreference_t pref;
    ck_assert_int_eq(cublasLtMatmulPreferenceCreate(&pref), OK);
    if (mask >= 0) {
        uint32_t m = (uint32_t)mask;
        ck_assert_int_eq(cublasLtMatmulPreferenceSetAttribute(
                             pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &m, 4), OK);
    }
    int n = -1;
    ck_assert_int_eq(cublasLtMatmulAlgoGetHeuristic(h, t->desc, t->a, t->b, t->d, t->d, pref,
                                                    requested, res, &n), OK);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(res[i].state, OK);
        ck_assert_uint_eq(res[i].workspaceSize, 0);
        ck_assert_float_eq(res[i].wavesCount, 1.0f);
    }
    cublasLtMatmulPreferenceDestroy(pref);
    return n;
}

static void dot_free(struct dot *t)
{
    cublasLtMatmulDescDestroy(t->desc);
    cublasLtMatrixLayoutDestroy(t->a);
    cublasLtMatrixLayoutDestroy(t->b);
    cublasLtMatrixLayoutDestroy(t->d);
    cudaFree(t->da), cudaFree(t->db), cudaFree(t->dd);
}

enum { K = 8192, Q = K / 4 }; /* split-K chunks start at 0, Q, 2Q, 3Q */

static uint16_t va[K], vb[K];

/* FP16 data whose first chunk, 1 + 32 * 64 = 2049, is not an FP16 number:
 * - FP32 sequentially (no split; split with FP32 partials):
 *   1 + 2048 - 2048 + 3 = 4;
 * - partials rounded to FP16: 2049 -> 2048 (tie to even), then
 *   2048 - 2048 + 3 = 3;
 * - FP16 accumulation: 1 + 2048 -> 2048, - 2048 + 3 = 3. */
static void fp16_split_data(void)
{
    memset(va, 0, sizeof va), memset(vb, 0, sizeof vb);
    va[0] = H(1), vb[0] = H(1);
    va[1] = H(32), vb[1] = H(64);
    va[Q] = H(-32), vb[Q] = H(64);
    for (int p = 2 * Q; p < 2 * Q + 3; p++)
        va[p] = H(1), vb[p] = H(1);
}

/* BF16 data telling all three reductions apart (products in order):
 * chunk 0: 2^24; chunk 1: 1, -2^24; chunk 2: 256, 1; chunk 3: -256.
 * - FP32 sequentially: 2^24 + 1 -> 2^24 (FP32 has 24 bits), - 2^24 = 0,
 *   + 256 + 1 - 256 = 1;
 * - FP32 partials: 2^24 + (1 - 2^24) + 257 - 256 = 2;
 * - partials rounded to BF16 (8 bits): 1 - 2^24 -> -2^24, 257 -> 256,
 *   so 0 + 256 - 256 = 0. */
static void bf16_split_data(void)
{
    memset(va, 0, sizeof va), memset(vb, 0, sizeof vb);
    va[0] = BF(4096), vb[0] = BF(4096);
    va[Q] = BF(1), vb[Q] = BF(1);
    va[Q + 1] = BF(-4096), vb[Q + 1] = BF(4096);
    va[2 * Q] = BF(256), vb[2 * Q] = BF(1);
    va[2 * Q + 1] = BF(1), vb[2 * Q + 1] = BF(1);
    va[3 * Q] = BF(-256), vb[3 * Q] = BF(1);
}

/* ---- objects and attributes ------------------------------------------------------ */

START_TEST(test_create_destroy)
{
    cublasLtHandle_t h = NULL;
    ck_assert_int_eq(cublasLtCreate(NULL), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasLtCreate(&h), OK);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(cublasLtDestroy(h), OK);
    ck_assert_int_eq(cublasLtDestroy(NULL), CUBLAS_STATUS_NOT_INITIALIZED);
    ck_assert_uint_eq(cublasLtGetVersion(), 130100);
    ck_assert_uint_eq(cublasLtGetCudartVersion(), CUDART_VERSION);
    int v = 0;
    ck_assert_int_eq(cublasLtGetProperty(MINOR_VERSION, &v), OK);
    ck_assert_int_eq(v, 1);
    ck_assert_str_eq(cublasLtGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED),
                     "CUBLAS_STATUS_NOT_SUPPORTED");
    ck_assert_str_eq(cublasLtGetStatusString(OK), "success");
}
END_TEST

START_TEST(test_desc_attributes)
{
    cublasLtMatmulDesc_t d = NULL;
    ck_assert_int_eq(cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F), OK);
    int32_t i = -5;
    uint32_t u = 0;
    size_t w = 0;
    /* Documented defaults. */
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &i, 4,
                                                    &w), OK);
    ck_assert_int_eq(i, CUBLAS_COMPUTE_32F);
    ck_assert_uint_eq(w, 4);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_SCALE_TYPE, &i, 4,
                                                    NULL), OK);
    ck_assert_int_eq(i, CUDA_R_32F);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &i, 4, &w), OK);
    ck_assert_int_eq(i, N);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_POINTER_MODE, &i, 4,
                                                    &w), OK);
    ck_assert_int_eq(i, CUBLASLT_POINTER_MODE_HOST);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE, &u, 4, &w),
                     OK);
    ck_assert_uint_eq(u, CUBLASLT_EPILOGUE_DEFAULT);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &i, 4,
                                                    &w), OK);
    ck_assert_int_eq(i, -1);
    void *aux = (void *)0x1;
    int64_t l64 = -5;
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                                    &aux, sizeof aux, &w), OK);
    ck_assert_ptr_null(aux);
    ck_assert_uint_eq(w, sizeof(void *));
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &l64,
                                                    8, &w), OK);
    ck_assert_int_eq(l64, 0);
    ck_assert_uint_eq(w, 8);
    l64 = -5;
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(
                         d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, &l64, 8, &w), OK);
    ck_assert_int_eq(l64, 0);
    ck_assert_uint_eq(w, 8);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE,
                                                    &i, 4, &w), OK);
    ck_assert_int_eq(i, -1);
    ck_assert_uint_eq(w, 4);
    /* Set, read back. */
    i = T;
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &i, 4), OK);
    i = 0;
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &i, 4, &w), OK);
    ck_assert_int_eq(i, T);
    const void *bias = (const void *)0x1234, *got = NULL;
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                    sizeof bias), OK);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &got,
                                                    sizeof got, &w), OK);
    ck_assert_ptr_eq(got, bias);
    ck_assert_uint_eq(w, sizeof(void *));
    aux = (void *)0x5678;
    void *aux_got = NULL;
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                                    &aux, sizeof aux), OK);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                                    &aux_got, sizeof aux_got, &w), OK);
    ck_assert_ptr_eq(aux_got, aux);
    const struct {
        cublasLtMatmulDescAttributes_t attr;
        int64_t v;
    } wide_attrs[] = { { CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 24 },
                       { CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, 96 } };
    for (int a = 0; a < 2; a++) {
        ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, wide_attrs[a].attr, &wide_attrs[a].v,
                                                        8), OK);
        l64 = 0;
        ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, wide_attrs[a].attr, &l64, 8, &w), OK);
        ck_assert_int_eq(l64, wide_attrs[a].v);
        /* int64_t: 4 bytes is the wrong size. */
        ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, wide_attrs[a].attr, &i, 4),
                         CUBLAS_STATUS_INVALID_VALUE);
    }
    i = CUDA_R_32F;
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE,
                                                    &i, 4), OK);
    i = 0;
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE,
                                                    &i, 4, &w), OK);
    ck_assert_int_eq(i, CUDA_R_32F);
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE,
                                                    &l64, 8), CUBLAS_STATUS_INVALID_VALUE);
    /* Size query: sizeInBytes 0, buf NULL. */
    w = 0;
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_BIAS_POINTER, NULL, 0,
                                                    &w), OK);
    ck_assert_uint_eq(w, sizeof(void *));
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE, NULL, 0,
                                                    &w), OK);
    ck_assert_uint_eq(w, 4);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE, NULL, 0,
                                                    NULL), CUBLAS_STATUS_INVALID_VALUE);
    /* Wrong sizes, NULL buffers, bad values. */
    int64_t wide = T;
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &wide, 8),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &wide, 8, &w),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, NULL, 4),
                     CUBLAS_STATUS_INVALID_VALUE);
    i = 7;
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &i, 4),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &i, 4, &w), OK);
    ck_assert_int_eq(i, T); /* a refused value changes nothing */
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(NULL, CUBLASLT_MATMUL_DESC_TRANSA, &i, 4),
                     CUBLAS_STATUS_INVALID_VALUE);
    /* An attribute the emulator lacks says so. */
    i = 10;
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET, &i,
                                                    4), CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasLtMatmulDescDestroy(d), OK);

    /* In caller storage: the header's block fits, a smaller one does not. */
    cublasLtMatmulDescOpaque_t block;
    ck_assert_int_eq(cublasLtMatmulDescInit(&block, CUBLAS_COMPUTE_16F, CUDA_R_16F), OK);
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(&block, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &i,
                                                    4, &w), OK);
    ck_assert_int_eq(i, CUBLAS_COMPUTE_16F);
    ck_assert_int_eq(cublasLtMatmulDescInit_internal(&block, 16, CUBLAS_COMPUTE_16F, CUDA_R_16F),
                     CUBLAS_STATUS_ALLOC_FAILED);
    memset(&block, 0, sizeof block); /* never initialized */
    ck_assert_int_eq(cublasLtMatmulDescGetAttribute(&block, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &i,
                                                    4, &w), CUBLAS_STATUS_INVALID_VALUE);
}
END_TEST

/* Short forms for the attribute calls the next tests make by the dozen. */
static cublasStatus_t lset(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                           const void *v, size_t size)
{
    return cublasLtMatrixLayoutSetAttribute(l, attr, v, size);
}

static cublasStatus_t lget(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                           void *v, size_t size)
{
    size_t w = 0;
    cublasStatus_t st = cublasLtMatrixLayoutGetAttribute(l, attr, v, size, &w);
    if (st == OK)
        ck_assert_uint_eq(w, size);
    return st;
}

static cublasStatus_t pset(cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t attr,
                           const void *v, size_t size)
{
    return cublasLtMatmulPreferenceSetAttribute(p, attr, v, size);
}

static cublasStatus_t pget(cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t attr,
                           void *v, size_t size)
{
    size_t w = 0;
    cublasStatus_t st = cublasLtMatmulPreferenceGetAttribute(p, attr, v, size, &w);
    if (st == OK)
        ck_assert_uint_eq(w, size);
    return st;
}

#define L_STRIDE CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET
#define P_MASK CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK
#define P_WS CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES

START_TEST(test_layout_attributes)
{
    cublasLtMatrixLayout_t l = NULL;
    ck_assert_int_eq(cublasLtMatrixLayoutCreate(&l, CUDA_R_16F, 3, 5, 4), OK);
    uint32_t type = 0;
    uint64_t rows = 0, cols = 0;
    int64_t ld = 0, stride = -1;
    int32_t order = -1, batch = 0;
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_TYPE, &type, 4), OK);
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, 8), OK);
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, 8), OK);
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_LD, &ld, 8), OK);
    ck_assert(type == CUDA_R_16F && rows == 3 && cols == 5 && ld == 4);
    /* Documented defaults. */
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, 4), OK);
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, 4), OK);
    ck_assert_int_eq(lget(l, L_STRIDE, &stride, 8), OK);
    ck_assert(order == COL && batch == 1 && stride == 0);
    /* Set and read back. */
    order = ROW, batch = 3, stride = 40, rows = 7;
    ck_assert_int_eq(lset(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, 4), OK);
    ck_assert_int_eq(lset(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, 4), OK);
    ck_assert_int_eq(lset(l, L_STRIDE, &stride, 8), OK);
    ck_assert_int_eq(lset(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, 8), OK);
    order = batch = 0, stride = 0, rows = 0;
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, 4), OK);
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, 4), OK);
    ck_assert_int_eq(lget(l, L_STRIDE, &stride, 8), OK);
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, 8), OK);
    ck_assert(order == ROW && batch == 3 && stride == 40 && rows == 7);
    /* The size query. */
    size_t w = 0;
    ck_assert_int_eq(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_LD, NULL, 0, &w),
                     OK);
    ck_assert_uint_eq(w, 8);
    /* Wrong sizes and values. */
    ck_assert_int_eq(lset(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &order, 4), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(lget(l, CUBLASLT_MATRIX_LAYOUT_TYPE, &rows, 8), CUBLAS_STATUS_INVALID_VALUE);
    batch = 0;
    ck_assert_int_eq(lset(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, 4),
                     CUBLAS_STATUS_INVALID_VALUE);
    order = 99;
    ck_assert_int_eq(lset(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, 4),
                     CUBLAS_STATUS_INVALID_VALUE);
    order = CUBLASLT_ORDER_COL32;
    ck_assert_int_eq(lset(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, 4),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasLtMatrixLayoutDestroy(l), OK);
    /* In caller storage. */
    cublasLtMatrixLayoutOpaque_t block;
    ck_assert_int_eq(cublasLtMatrixLayoutInit(&block, CUDA_R_32F, 2, 2, 2), OK);
    ck_assert_int_eq(lget(&block, CUBLASLT_MATRIX_LAYOUT_TYPE, &type, 4), OK);
    ck_assert_uint_eq(type, CUDA_R_32F);
    ck_assert_int_eq(cublasLtMatrixLayoutInit_internal(&block, 8, CUDA_R_32F, 2, 2, 2),
                     CUBLAS_STATUS_ALLOC_FAILED);
}
END_TEST

START_TEST(test_preference_attributes)
{
    cublasLtMatmulPreference_t p = NULL;
    ck_assert_int_eq(cublasLtMatmulPreferenceCreate(&p), OK);
    uint32_t mask = 0;
    uint64_t ws = 1;
    /* Documented defaults: every scheme, no workspace. */
    ck_assert_int_eq(pget(p, P_MASK, &mask, 4), OK);
    ck_assert_uint_eq(mask, CUBLASLT_REDUCTION_SCHEME_MASK);
    ck_assert_int_eq(pget(p, P_WS, &ws, 8), OK);
    ck_assert_uint_eq(ws, 0);
    mask = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE, ws = 1 << 20;
    ck_assert_int_eq(pset(p, P_MASK, &mask, 4), OK);
    ck_assert_int_eq(pset(p, P_WS, &ws, 8), OK);
    mask = 0, ws = 0;
    ck_assert_int_eq(pget(p, P_MASK, &mask, 4), OK);
    ck_assert_int_eq(pget(p, P_WS, &ws, 8), OK);
    ck_assert_uint_eq(mask, CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE);
    ck_assert_uint_eq(ws, 1 << 20);
    size_t w = 0;
    ck_assert_int_eq(cublasLtMatmulPreferenceGetAttribute(p, P_WS, NULL, 0, &w), OK);
    ck_assert_uint_eq(w, 8);
    ck_assert_int_eq(pset(p, P_WS, &mask, 4), CUBLAS_STATUS_INVALID_VALUE);
    mask = 8; /* no such scheme */
    ck_assert_int_eq(pset(p, P_MASK, &mask, 4), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasLtMatmulPreferenceDestroy(p), OK);
    cublasLtMatmulPreferenceOpaque_t block;
    ck_assert_int_eq(cublasLtMatmulPreferenceInit(&block), OK);
    ck_assert_int_eq(pget(&block, P_MASK, &mask, 4), OK);
    ck_assert_uint_eq(mask, CUBLASLT_REDUCTION_SCHEME_MASK);
}
END_TEST

/* ---- accumulation and the heuristic -------------------------------------------------- */

START_TEST(test_ones_16f_and_32f)
{
    for (int p = 0; p < 4096; p++)
        va[p] = H(1);
    cublasLtHandle_t h = lt_handle();
    struct dot t16, t32, t32f;
    dot_init(&t16, CUBLAS_COMPUTE_16F, CUDA_R_16F, CUDA_R_16F, va, va, 4096);
    dot_init(&t32, CUBLAS_COMPUTE_32F, CUDA_R_16F, CUDA_R_16F, va, va, 4096);
    dot_init(&t32f, CUBLAS_COMPUTE_32F, CUDA_R_16F, CUDA_R_32F, va, va, 4096);
    ck_assert_float_eq(dot_run(h, &t16, NULL), 2048.0f);
    ck_assert_float_eq(dot_run(h, &t32, NULL), 4096.0f);
    ck_assert_float_eq(dot_run(h, &t32f, NULL), 4096.0f);
    dot_free(&t16), dot_free(&t32), dot_free(&t32f);
    cublasLtDestroy(h);
}
END_TEST

/* The heuristic's rule, read from the numbers each returned algorithm
 * gives: row 0 of a table is what the first result computes, and when the
 * heuristic splits, the second result is the unsplit one. */
START_TEST(test_heuristic_reduction_masks)
{
    static const struct {
        int bf16;
        int64_t mask; /* < 0: default */
        int results;
        float first;
    } rows[] = {
        { 0, -1, 2, 3.0f }, /* default: OUTPUT_TYPE */
        { 0, CUBLASLT_REDUCTION_SCHEME_NONE, 1, 4.0f },
        { 0, CUBLASLT_REDUCTION_SCHEME_INPLACE, 2, 3.0f },
        { 0, CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE, 2, 4.0f },
        { 1, -1, 2, 0.0f },
        { 1, CUBLASLT_REDUCTION_SCHEME_NONE, 1, 1.0f },
        { 1, CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE, 2, 2.0f },
        { 1, CUBLASLT_REDUCTION_SCHEME_INPLACE, 2, 0.0f },
        { 1, CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE | CUBLASLT_REDUCTION_SCHEME_INPLACE, 2, 0.0f },
    };
    cublasLtHandle_t h = lt_handle();
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        if (rows[r].bf16)
            bf16_split_data();
        else
            fp16_split_data();
        cudaDataType t = rows[r].bf16 ? CUDA_R_16BF : CUDA_R_16F;
        struct dot d;
        dot_init(&d, CUBLAS_COMPUTE_32F, t, t, va, vb, K);
        cublasLtMatmulHeuristicResult_t res[4];
        int n = dot_heuristic(h, &d, rows[r].mask, 4, res);
        ck_assert_int_eq(n, rows[r].results);
        ck_assert_float_eq(dot_run(h, &d, &res[0].algo), rows[r].first);
        if (n == 2)
            ck_assert_float_eq(dot_run(h, &d, &res[1].algo), rows[r].bf16 ? 1.0f : 4.0f);
        /* Asking for one gets the first only. */
        ck_assert_int_eq(dot_heuristic(h, &d, rows[r].mask, 1, res), 1);
        ck_assert_float_eq(dot_run(h, &d, &res[0].algo), rows[r].first);
        dot_free(&d);
    }
    cublasLtDestroy(h);
}
END_TEST

/* No split below k = 4096, for a 32-bit output, for FP16 or pedantic
 * compute: one unsplit result. On the FP16 split data cut to k = 4096 or
 * 4095 (1, 2048 at the start, -2048 at 2048), an unsplit sum is 1 while 4
 * chunks of 1024 give 2049 -> 2048, 0, -2048, 0: 0. */
START_TEST(test_heuristic_no_split)
{
    static const struct {
        cublasComputeType_t compute;
        cudaDataType out;
        int k, results;
        float want;
    } rows[] = {
        { CUBLAS_COMPUTE_32F, CUDA_R_16F, 4095, 1, 1.0f },
        { CUBLAS_COMPUTE_32F, CUDA_R_16F, 4096, 2, 0.0f },
        { CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_16F, 4096, 2, 0.0f }, /* not pedantic */
        { CUBLAS_COMPUTE_32F, CUDA_R_32F, K, 1, 4.0f },
        { CUBLAS_COMPUTE_32F_PEDANTIC, CUDA_R_16F, K, 1, 4.0f },
        { CUBLAS_COMPUTE_16F, CUDA_R_16F, K, 1, 3.0f }, /* FP16 accumulation */
    };
    fp16_split_data();
    cublasLtHandle_t h = lt_handle();
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct dot d;
        dot_init(&d, rows[r].compute, CUDA_R_16F, rows[r].out, va, vb, rows[r].k);
        cublasLtMatmulHeuristicResult_t res[4];
        int n = dot_heuristic(h, &d, -1, 4, res);
        ck_assert_int_eq(n, rows[r].results);
        ck_assert_float_eq(dot_run(h, &d, &res[0].algo), rows[r].want);
        ck_assert_float_eq(dot_run(h, &d, NULL), rows[r].want);
        dot_free(&d);
    }
    cublasLtDestroy(h);
}
END_TEST

/* algo NULL is the heuristic's first choice under the default preference:
 * reduced-precision split-K for k = 8192 and an FP16 output. */
START_TEST(test_null_algo_splits_in_reduced_precision)
{
    fp16_split_data();
    cublasLtHandle_t h = lt_handle();
    struct dot d;
    dot_init(&d, CUBLAS_COMPUTE_32F, CUDA_R_16F, CUDA_R_16F, va, vb, K);
    ck_assert_float_eq(dot_run(h, &d, NULL), 3.0f);
    cublasLtMatmulHeuristicResult_t res[1];
    ck_assert_int_eq(dot_heuristic(h, &d, CUBLASLT_REDUCTION_SCHEME_NONE, 1, res), 1);
    ck_assert_float_eq(dot_run(h, &d, &res[0].algo), 4.0f);
    /* The public view of the same choice. */
    ck_assert_int_eq(dot_heuristic(h, &d, -1, 1, res), 1);
    int32_t splitk = 0;
    uint32_t scheme = 0;
    size_t w;
    ck_assert_int_eq(cublasLtMatmulAlgoConfigGetAttribute(&res[0].algo,
                                                          CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk,
                                                          4, &w), OK);
    ck_assert_int_eq(cublasLtMatmulAlgoConfigGetAttribute(&res[0].algo,
                                                          CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME,
                                                          &scheme, 4, &w), OK);
    ck_assert_int_eq(splitk, 4);
    ck_assert_uint_eq(scheme, CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE);
    dot_free(&d);
    cublasLtDestroy(h);
}
END_TEST

/* An algorithm configured by hand: AlgoInit gives the unsplit one; the
 * split and scheme set on it are what runs. */
START_TEST(test_algo_config)
{
    fp16_split_data();
    cublasLtHandle_t h = lt_handle();
    struct dot d;
    dot_init(&d, CUBLAS_COMPUTE_32F, CUDA_R_16F, CUDA_R_16F, va, vb, K);
    cublasLtMatmulAlgo_t algo;
    ck_assert_int_eq(cublasLtMatmulAlgoInit(h, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_16F,
                                            CUDA_R_16F, CUDA_R_16F, CUDA_R_16F, 0, &algo), OK);
    ck_assert_float_eq(dot_run(h, &d, &algo), 4.0f);
    int32_t splitk = 4;
    uint32_t scheme = CUBLASLT_REDUCTION_SCHEME_NONE;
    ck_assert_int_eq(cublasLtMatmulAlgoConfigSetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                                                          &splitk, 4), OK);
    float r;
    ck_assert_int_eq(dot_try(h, &d, &algo, &r), CUBLAS_STATUS_INVALID_VALUE); /* no scheme */
    scheme = CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE;
    ck_assert_int_eq(cublasLtMatmulAlgoConfigSetAttribute(&algo,
                                                          CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME,
                                                          &scheme, 4), OK);
    ck_assert_float_eq(dot_run(h, &d, &algo), 3.0f);
    scheme = 3;
    ck_assert_int_eq(cublasLtMatmulAlgoConfigSetAttribute(&algo,
                                                          CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME,
                                                          &scheme, 4), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasLtMatmulAlgoInit(h, CUBLAS_COMPUTE_16F, CUDA_R_32F, CUDA_R_16F,
                                            CUDA_R_16F, CUDA_R_16F, CUDA_R_16F, 0, &algo),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasLtMatmulAlgoInit(h, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_16F,
                                            CUDA_R_16F, CUDA_R_16F, CUDA_R_16F, 1, &algo),
                     CUBLAS_STATUS_INVALID_VALUE);
    /* An algorithm block nobody initialized. */
    memset(&algo, 0, sizeof algo);
    ck_assert_int_eq(dot_try(h, &d, &algo, &r), CUBLAS_STATUS_INVALID_VALUE);
    dot_free(&d);
    cublasLtDestroy(h);
}
END_TEST

/* FAST compute types down-convert FP32 inputs: 1 + 2^-11 is a tie for
 * FP16 (to 1, even), rounds away for TF32 (to 1 + 2^-10), to 1 in BF16. */
START_TEST(test_fast_compute_types)
{
    static const struct {
        cublasComputeType_t compute;
        float want;
    } rows[] = {
        { CUBLAS_COMPUTE_32F, 1.0f + 0x1p-11f },
        { CUBLAS_COMPUTE_32F_FAST_16F, 1.0f },
        { CUBLAS_COMPUTE_32F_FAST_16BF, 1.0f },
        { CUBLAS_COMPUTE_32F_FAST_TF32, 1.0f + 0x1p-10f },
    };
    float a = 1.0f + 0x1p-11f, b = 1.0f;
    cublasLtHandle_t h = lt_handle();
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct dot d;
        dot_init(&d, rows[r].compute, CUDA_R_32F, CUDA_R_32F, &a, &b, 1);
        ck_assert_float_eq(dot_run(h, &d, NULL), rows[r].want);
        dot_free(&d);
    }
    cublasLtDestroy(h);
}
END_TEST

/* ---- layouts ------------------------------------------------------------------- */

/* D = alpha * op(A) op(B) + beta * C on small integers (exact in every
 * type used), against a host reference; D's padding must stay untouched. */
static void check_gemm(cublasLtHandle_t h, cublasComputeType_t compute, cublasOperation_t ta,
                       cublasOperation_t tb, struct mat ma, struct mat mb, struct mat mc,
                       struct mat md, int same_cd)
{
    int64_t m = md.rows, n = md.cols, k = ta == N ? ma.cols : ma.rows;
    int32_t batch = md.batch ? md.batch : 1;
    size_t na = elems(&ma), nb = elems(&mb), nc = elems(&mc), nd = elems(&md);
    void *a = calloc(na, 4), *b = calloc(nb, 4), *c = calloc(nc, 4), *d = calloc(nd, 4);
    void *got = calloc(nd, 4);
    for (size_t i = 0; i < na; i++)
        put(a, ma.type, i, (float)((int)(i * 7 % 11) - 5));
    for (size_t i = 0; i < nb; i++)
        put(b, mb.type, i, (float)((int)(i * 5 % 9) - 4));
    for (size_t i = 0; i < nc; i++)
        put(c, mc.type, i, (float)((int)(i % 7) - 3));
    for (size_t i = 0; i < nd; i++)
        put(d, md.type, i, -99.0f);
    if (same_cd)
        memcpy(d, c, nd * tsize(md.type));
    int half = compute == CUBLAS_COMPUTE_16F;
    sh_half ha = { H(2) }, hb = { H(-1) };
    float fa = 2, fb = -1;
    cublasLtMatmulDesc_t op = desc(compute, half ? CUDA_R_16F : CUDA_R_32F, ta, tb);
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), lc = layout(&mc), ld = layout(&md);
    void *da = up(a, na * tsize(ma.type)), *db = up(b, nb * tsize(mb.type));
    void *dd = up(d, nd * tsize(md.type));
    void *dc = same_cd ? dd : up(c, nc * tsize(mc.type));
    ck_assert_int_eq(cublasLtMatmul(h, op, half ? (void *)&ha : &fa, da, la, db, lb,
                                    half ? (void *)&hb : &fb, dc, lc, dd, ld, NULL, NULL, 0, NULL),
                     OK);
    down(got, dd, nd * tsize(md.type));
    /* d becomes the whole expected D: its padding keeps what it held. */
    for (int64_t s = 0; s < batch; s++) {
        for (int64_t j = 0; j < n; j++) {
            for (int64_t i = 0; i < m; i++) {
                float acc = 0;
                for (int64_t p = 0; p < k; p++)
                    acc += get(a, ma.type, ta == N ? at(&ma, i, p, s) : at(&ma, p, i, s)) *
                           get(b, mb.type, tb == N ? at(&mb, p, j, s) : at(&mb, j, p, s));
                float want = 2 * acc - get(c, mc.type, at(&mc, i, j, s));
                size_t e = at(&md, i, j, s);
                ck_assert_float_eq(get(got, md.type, e), want);
                put(d, md.type, e, want);
            }
        }
    }
    for (size_t i = 0; i < nd; i++)
        ck_assert_float_eq(get(got, md.type, i), get(d, md.type, i));
    cublasLtMatmulDescDestroy(op);
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc), cublasLtMatrixLayoutDestroy(ld);
    cudaFree(da), cudaFree(db), cudaFree(dd);
    if (!same_cd)
        cudaFree(dc);
    free(a), free(b), free(c), free(d), free(got);
}

/* A stored operand for op(X) of shape r x c: the layout holds X, so its
 * shape is transposed when op is; ld pads each line by one. */
static struct mat operand(cudaDataType t, cublasOperation_t op, int64_t r, int64_t c, int32_t order)
{
    int64_t rows = op == N ? r : c, cols = op == N ? c : r;
    return (struct mat){ t, rows, cols, (order == ROW ? cols : rows) + 1, order, 1, 0 };
}

/* Every combination of transposes and orders, C apart from D with another
 * leading dimension, FP32 throughout. */
START_TEST(test_orders_and_transposes)
{
    enum { M = 3, Nn = 2, KK = 4 };
    const cublasOperation_t ops[] = { N, T };
    const int32_t orders[] = { COL, ROW };
    cublasLtHandle_t h = lt_handle();
    for (int x = 0; x < 32; x++) {
        cublasOperation_t ta = ops[x & 1], tb = ops[x >> 1 & 1];
        int32_t oa = orders[x >> 2 & 1], ob = orders[x >> 3 & 1], ocd = orders[x >> 4 & 1];
        struct mat ma = operand(CUDA_R_32F, ta, M, KK, oa);
        struct mat mb = operand(CUDA_R_32F, tb, KK, Nn, ob);
        struct mat mc = operand(CUDA_R_32F, N, M, Nn, ocd), md = mc;
        mc.ld += 2;
        check_gemm(h, CUBLAS_COMPUTE_32F, ta, tb, ma, mb, mc, md, 0);
    }
    cublasLtDestroy(h);
}
END_TEST

/* In place (C == D, same layout), in FP16 with FP16 and FP32 compute and in
 * BF16; C == D with another leading dimension is refused. */
START_TEST(test_in_place_and_types)
{
    cublasLtHandle_t h = lt_handle();
    const cudaDataType types[] = { CUDA_R_16F, CUDA_R_16F, CUDA_R_16BF };
    const cublasComputeType_t computes[] = { CUBLAS_COMPUTE_16F, CUBLAS_COMPUTE_32F,
                                             CUBLAS_COMPUTE_32F };
    for (int x = 0; x < 3; x++) {
        struct mat ma = operand(types[x], T, 4, 3, COL), mb = operand(types[x], N, 3, 5, ROW);
        struct mat mc = operand(types[x], N, 4, 5, COL);
        check_gemm(h, computes[x], T, N, ma, mb, mc, mc, 1);
    }
    /* BF16 in, FP32 out. */
    struct mat ma = operand(CUDA_R_16BF, N, 2, 3, COL), mb = operand(CUDA_R_16BF, N, 3, 2, COL);
    struct mat mc = operand(CUDA_R_32F, N, 2, 2, COL);
    check_gemm(h, CUBLAS_COMPUTE_32F, N, N, ma, mb, mc, mc, 0);

    struct dot d;
    float one = 1;
    dot_init(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_32F, &one, &one, 1);
    struct mat wide = { CUDA_R_32F, 1, 1, 2, COL, 1, 0 };
    cublasLtMatrixLayout_t lw = layout(&wide);
    float fa = 1, fb = 0;
    ck_assert_int_eq(cublasLtMatmul(h, d.desc, &fa, d.da, d.a, d.db, d.b, &fb, d.dd, lw, d.dd,
                                    d.d, NULL, NULL, 0, NULL), CUBLAS_STATUS_INVALID_VALUE);
    cublasLtMatrixLayoutDestroy(lw);
    dot_free(&d);
    cublasLtDestroy(h);
}
END_TEST

/* Strided batches with gaps between members, C and D strided apart. */
START_TEST(test_strided_batch)
{
    const cudaDataType types[] = { CUDA_R_16F, CUDA_R_16F, CUDA_R_32F };
    const cublasComputeType_t computes[] = { CUBLAS_COMPUTE_16F, CUBLAS_COMPUTE_32F,
                                             CUBLAS_COMPUTE_32F };
    cublasLtHandle_t h = lt_handle();
    for (int x = 0; x < 3; x++) {
        struct mat ma = operand(types[x], N, 2, 4, COL), mb = operand(types[x], T, 4, 3, ROW);
        struct mat mc = operand(types[x], N, 2, 3, COL), md = mc;
        ma.batch = mb.batch = mc.batch = md.batch = 3;
        ma.stride = (int64_t)elems(&ma) + 5;
        mb.stride = (int64_t)elems(&mb) + 1;
        mc.stride = (int64_t)elems(&mc) + 3;
        md.ld += 1;
        md.stride = (int64_t)elems(&md) + 2;
        check_gemm(h, computes[x], N, T, ma, mb, mc, md, 0);
    }
    /* Batch counts must agree. */
    struct dot d;
    float one = 1, fa = 1, fb = 0;
    dot_init(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_32F, &one, &one, 1);
    int32_t two = 2;
    ck_assert_int_eq(cublasLtMatrixLayoutSetAttribute(d.a, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                      &two, 4), OK);
    ck_assert_int_eq(cublasLtMatmul(h, d.desc, &fa, d.da, d.a, d.db, d.b, &fb, d.dd, d.d, d.dd,
                                    d.d, NULL, NULL, 0, NULL), CUBLAS_STATUS_INVALID_VALUE);
    dot_free(&d);
    cublasLtDestroy(h);
}
END_TEST

/* ---- scalars and epilogues ------------------------------------------------------- */

START_TEST(test_device_pointer_mode)
{
    cublasLtHandle_t h = lt_handle();
    float a = 2, b = 5, c = 7, scalars[2] = { 3, 0.5f }, out;
    cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
    set_u32(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, CUBLASLT_POINTER_MODE_DEVICE);
    struct mat m1 = { CUDA_R_32F, 1, 1, 1, COL, 1, 0 };
    cublasLtMatrixLayout_t l = layout(&m1);
    void *da = up(&a, 4), *db = up(&b, 4), *dc = up(&c, 4), *ds = up(scalars, 8);
    ck_assert_int_eq(cublasLtMatmul(h, op, ds, da, l, db, l, (float *)ds + 1, dc, l, dc, l, NULL,
                                    NULL, 0, NULL), OK);
    down(&out, dc, 4);
    ck_assert_float_eq(out, 3 * 2 * 5 + 0.5f * 7);
    /* Host scalars in device mode are not device memory. */
    ck_assert_int_eq(cublasLtMatmul(h, op, scalars, da, l, db, l, scalars + 1, dc, l, dc, l, NULL,
                                    NULL, 0, NULL), CUBLAS_STATUS_EXECUTION_FAILED);
    cublasLtMatmulDescDestroy(op);
    cublasLtMatrixLayoutDestroy(l);
    /* Half scalars for FP16 compute, in device memory too. */
    uint16_t hv[3] = { H(2), H(5), H(4) }, hs[2] = { H(0.5f), H(-1) }, hc;
    op = desc(CUBLAS_COMPUTE_16F, CUDA_R_16F, N, N);
    set_u32(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, CUBLASLT_POINTER_MODE_DEVICE);
    struct mat h1 = { CUDA_R_16F, 1, 1, 1, COL, 1, 0 };
    l = layout(&h1);
    void *dh = up(hv, 6), *dhs = up(hs, 4), *dd = NULL;
    ck_assert_int_eq(cudaMalloc(&dd, 2), cudaSuccess);
    ck_assert_int_eq(cublasLtMatmul(h, op, dhs, dh, l, (uint16_t *)dh + 1, l, (uint16_t *)dhs + 1,
                                    (uint16_t *)dh + 2, l, dd, l, NULL, NULL, 0, NULL), OK);
    down(&hc, dd, 2);
    ck_assert_float_eq(sh_half_to_float(hc), 0.5f * 10 - 4);
    cublasLtMatmulDescDestroy(op);
    cublasLtMatrixLayoutDestroy(l);
    cublasLtDestroy(h);
}
END_TEST

/* D = epilogue(alpha * A B + beta * C + bias): a 2 x 2 FP16 problem with
 * k = 1, alpha = beta = 1. Row 0 of A B is 2048, C adds 1 and the bias 1:
 * FP16 compute rounds after each add (2048 + 1 -> 2048, twice), FP32
 * compute rounds once (2050 is an FP16 number). Row 1 is -3 + 0 + bias. */
START_TEST(test_epilogues)
{
    static const struct {
        cublasComputeType_t compute;
        uint32_t epilogue;
        cudaDataType bias_type;
        float row0, row1;
    } rows[] = {
        { CUBLAS_COMPUTE_16F, CUBLASLT_EPILOGUE_BIAS, CUDA_R_16F, 2048, -1 },
        { CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_BIAS, CUDA_R_16F, 2050, -1 },
        { CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_BIAS, CUDA_R_32F, 2050, -1 },
        { CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_RELU_BIAS, CUDA_R_16F, 2050, 0 },
        { CUBLAS_COMPUTE_16F, CUBLASLT_EPILOGUE_RELU_BIAS, CUDA_R_16F, 2048, 0 },
        { CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_RELU, CUDA_R_16F, 2049 /* -> 2048 */, 0 },
        { CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_DEFAULT, CUDA_R_16F, 2048, -3 },
    };
    cublasLtHandle_t h = lt_handle();
    uint16_t a[2] = { H(32), H(-3.0f / 64) }, b[2] = { H(64), H(64) };
    uint16_t c[4] = { H(1), H(0), H(1), H(0) };
    uint16_t bias16[2] = { H(1), H(2) };
    float bias32[2] = { 1, 2 };
    struct mat ma = { CUDA_R_16F, 2, 1, 2, COL, 1, 0 }, mb = { CUDA_R_16F, 1, 2, 1, COL, 1, 0 };
    struct mat mc = { CUDA_R_16F, 2, 2, 2, COL, 1, 0 };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), lc = layout(&mc);
    void *da = up(a, 4), *db = up(b, 4), *dc = up(c, 8), *dd = NULL;
    void *db16 = up(bias16, 4), *db32 = up(bias32, 8);
    ck_assert_int_eq(cudaMalloc(&dd, 8), cudaSuccess);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int half = rows[r].compute == CUBLAS_COMPUTE_16F;
        cublasLtMatmulDesc_t op = desc(rows[r].compute, half ? CUDA_R_16F : CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, rows[r].epilogue);
        const void *bias = rows[r].bias_type == CUDA_R_32F ? db32 : db16;
        ck_assert_int_eq(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                        &bias, sizeof bias), OK);
        if (rows[r].bias_type == CUDA_R_32F)
            set_u32(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, CUDA_R_32F);
        sh_half h1 = { H(1) };
        float f1 = 1;
        const void *one = half ? (const void *)&h1 : &f1;
        ck_assert_int_eq(cublasLtMatmul(h, op, one, da, la, db, lb, one, dc, lc, dd, lc, NULL, NULL,
                                        0, NULL), OK);
        uint16_t out[4];
        down(out, dd, 8);
        for (int j = 0; j < 2; j++) {
            ck_assert_float_eq(sh_half_to_float(out[2 * j]), sh_round_half(rows[r].row0));
            ck_assert_float_eq(sh_half_to_float(out[2 * j + 1]), rows[r].row1);
        }
        cublasLtMatmulDescDestroy(op);
    }
    /* An epilogue the emulator lacks; a bias epilogue without a bias. */
    cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
    float f1 = 1;
    set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_RELU_AUX);
    ck_assert_int_eq(cublasLtMatmul(h, op, &f1, da, la, db, lb, &f1, dc, lc, dd, lc, NULL, NULL, 0,
                                    NULL), CUBLAS_STATUS_NOT_SUPPORTED);
    set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BIAS);
    ck_assert_int_eq(cublasLtMatmul(h, op, &f1, da, la, db, lb, &f1, dc, lc, dd, lc, NULL, NULL, 0,
                                    NULL), CUBLAS_STATUS_INVALID_VALUE);
    cublasLtMatmulDescDestroy(op);
    cublasLtDestroy(h);
}
END_TEST

/* A bias per batch member: BIAS_BATCH_STRIDE elements apart, or one for
 * all at the default stride 0. A B is 0 (k = 1, A zero), so D is the bias. */
START_TEST(test_bias_batch_stride)
{
    cublasLtHandle_t h = lt_handle();
    uint16_t zero[6] = { 0 }, bias[6] = { H(1), H(2), H(3), H(4), H(5), H(6) };
    struct mat ma = { CUDA_R_16F, 2, 1, 2, COL, 3, 2 }, mb = { CUDA_R_16F, 1, 1, 1, COL, 3, 1 };
    struct mat md = { CUDA_R_16F, 2, 1, 2, COL, 3, 2 };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), ld = layout(&md);
    void *da = up(zero, 12), *db = up(zero, 6), *dbias = up(bias, 12), *dd = NULL;
    ck_assert_int_eq(cudaMalloc(&dd, 12), cudaSuccess);
    for (int64_t stride = 0; stride <= 2; stride += 2) {
        cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BIAS);
        ck_assert_int_eq(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                        &dbias, sizeof dbias), OK);
        if (stride)
            ck_assert_int_eq(cublasLtMatmulDescSetAttribute(
                                 op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &stride,
                                 sizeof stride), OK);
        int64_t got = -1;
        size_t written = 0;
        ck_assert_int_eq(cublasLtMatmulDescGetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE,
                                                        &got, sizeof got, &written), OK);
        ck_assert_int_eq(got, stride);
        float one = 1, zf = 0;
        ck_assert_int_eq(cublasLtMatmul(h, op, &one, da, la, db, lb, &zf, dd, ld, dd, ld, NULL,
                                        NULL, 0, NULL), OK);
        uint16_t out[6];
        down(out, dd, 12);
        for (int i = 0; i < 6; i++)
            ck_assert_float_eq(sh_half_to_float(out[i]), (float)(1 + (stride ? i : i % 2)));
        cublasLtMatmulDescDestroy(op);
    }
    cublasLtDestroy(h);
}
END_TEST

/* ---- GELU and bias-gradient epilogues ------------------------------------------- */

static void set_ptr(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, const void *v)
{
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, attr, &v, sizeof v), OK);
}

static void set_i64(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, int64_t v)
{
    ck_assert_int_eq(cublasLtMatmulDescSetAttribute(d, attr, &v, sizeof v), OK);
}

/* cublasLtMatmul with host scalars of the compute's type, no algorithm. */
static cublasStatus_t matmul(cublasLtHandle_t h, cublasLtMatmulDesc_t op, int half, float alpha,
                             float beta, const void *a, cublasLtMatrixLayout_t la, const void *b,
                             cublasLtMatrixLayout_t lb, const void *c, cublasLtMatrixLayout_t lc,
                             void *d, cublasLtMatrixLayout_t ld)
{
    sh_half ha = { H(alpha) }, hb = { H(beta) };
    return cublasLtMatmul(h, op, half ? (const void *)&ha : &alpha, a, la, b, lb,
                          half ? (const void *)&hb : &beta, c, lc, d, ld, NULL, NULL, 0, NULL);
}

/* GELU's tanh approximation and its derivative, written out apart from
 * the emulator's. Beyond |x| = 10 the
 * float formula gives x or -0 (gelu') 1 or 0; written out so that the
 * infinities give +Inf and -0, not NaN. */
static float ref_gelu(float x)
{
    if (x > 10.0f)
        return x;
    if (x < -10.0f)
        return -0.0f;
    return 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
}

static float ref_gelu_grad(float x)
{
    if (x > 10.0f)
        return 1.0f;
    if (x < -10.0f)
        return 0.0f;
    float t = tanhf(0.7978845608f * (x + 0.044715f * x * x * x));
    return 0.5f * (1.0f + t) +
           0.5f * x * (1.0f - t * t) * 0.7978845608f * (1.0f + 3.0f * 0.044715f * x * x);
}

/* FP16 bits got within one FP16 step of want's rounding: the two float
 * formulas may differ in their last bit. */
static void assert_near_half(uint16_t got, float want)
{
    int w = H(want), g = got;
    int ow = w & 0x8000 ? -(w & 0x7fff) : w, og = g & 0x8000 ? -(g & 0x7fff) : g;
    ck_assert_msg(abs(og - ow) <= 1, "got %a, want %a", (double)sh_half_to_float(got),
                  (double)want);
}

/* D = gelu(A B + C + bias), 3 x 3, k = 2, with FP32 compute and with FP16
 * compute (every step rounded). Column 2 of C holds +Inf, -Inf and NaN:
 * GELU gives +Inf, -0 and NaN. */
START_TEST(test_gelu_bias)
{
    enum { M = 3, Nn = 3, KK = 2 };
    const float a[M * KK] = { 1, -1, 0.5f, 0.5f, 2, -0.25f };
    const float b[KK * Nn] = { 1, 0.5f, -2, 1, 0.5f, 0.5f };
    const float c[M * Nn] = { 0.25f, -1, 0, 0, 0.5f, -0.75f, INFINITY, -INFINITY, NAN };
    const float bias[M] = { -0.5f, 1, 0.125f };
    uint16_t ha[M * KK], hb[KK * Nn], hc[M * Nn], hbias[M], out[M * Nn];
    for (int e = 0; e < M * KK; e++)
        ha[e] = H(a[e]);
    for (int e = 0; e < KK * Nn; e++)
        hb[e] = H(b[e]);
    for (int e = 0; e < M * Nn; e++)
        hc[e] = H(c[e]);
    for (int e = 0; e < M; e++)
        hbias[e] = H(bias[e]);
    struct mat ma = { CUDA_R_16F, M, KK, M, COL, 1, 0 }, mb = { CUDA_R_16F, KK, Nn, KK, COL, 1, 0 };
    struct mat mc = { CUDA_R_16F, M, Nn, M, COL, 1, 0 };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), lc = layout(&mc);
    void *da = up(ha, sizeof ha), *db = up(hb, sizeof hb), *dc = up(hc, sizeof hc);
    void *dbias = up(hbias, sizeof hbias), *dd = NULL;
    ck_assert_int_eq(cudaMalloc(&dd, sizeof out), cudaSuccess);
    cublasLtHandle_t h = lt_handle();
    for (int half = 0; half < 2; half++) {
        cublasLtMatmulDesc_t op = desc(half ? CUBLAS_COMPUTE_16F : CUBLAS_COMPUTE_32F,
                                       half ? CUDA_R_16F : CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_GELU_BIAS);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dbias);
        ck_assert_int_eq(matmul(h, op, half, 1, 1, da, la, db, lb, dc, lc, dd, lc), OK);
        down(out, dd, sizeof out);
        for (int j = 0; j < 2; j++) {
            for (int i = 0; i < M; i++) {
                float acc = a[i] * b[j * KK] + a[i + M] * b[1 + j * KK]; /* exact */
                float pre = half ? sh_round_half(sh_round_half(acc + c[i + j * M]) + bias[i])
                                 : acc + c[i + j * M] + bias[i];
                assert_near_half(out[i + j * M], ref_gelu(pre));
            }
        }
        ck_assert_uint_eq(out[2 * M], 0x7c00);     /* +Inf */
        ck_assert_uint_eq(out[2 * M + 1], 0x8000); /* -0 */
        ck_assert(isnan(sh_half_to_float(out[2 * M + 2])));
        cublasLtMatmulDescDestroy(op);
    }
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtDestroy(h);
}
END_TEST

/* GELU_AUX(_BIAS) saves the GELU input: a strided batch of 2, 2 x 3 each,
 * aux_ld 8 > m and AUX_BATCH_STRIDE past the member's span, so padding
 * lies within and between members and must stay as it was. The aux type
 * defaults to D's (FP16: the rounded input) or is set to FP32 (exact). */
START_TEST(test_gelu_aux_bias)
{
    enum { M = 2, Nn = 3, KK = 2, BATCH = 2, LD = 8, XS = LD * Nn + 4, XN = BATCH * XS };
    static const struct {
        uint32_t epilogue;
        cudaDataType aux_type;
    } rows[] = {
        { CUBLASLT_EPILOGUE_GELU_AUX_BIAS, CUDA_R_16F },
        { CUBLASLT_EPILOGUE_GELU_AUX, CUDA_R_32F },
    };
    float a[BATCH * M * KK], b[BATCH * KK * Nn];
    const float bias[BATCH * M] = { 0.5f, -1, 2, -0.25f };
    uint16_t ha[BATCH * M * KK], hb[BATCH * KK * Nn], hbias[BATCH * M], out[BATCH * M * Nn];
    for (int e = 0; e < BATCH * M * KK; e++)
        ha[e] = H(a[e] = (float)(e * 3 % 7 - 3) * 0.5f);
    for (int e = 0; e < BATCH * KK * Nn; e++)
        hb[e] = H(b[e] = (float)(e * 5 % 9 - 4) * 0.75f);
    for (int e = 0; e < BATCH * M; e++)
        hbias[e] = H(bias[e]);
    struct mat ma = { CUDA_R_16F, M, KK, M, COL, BATCH, M * KK };
    struct mat mb = { CUDA_R_16F, KK, Nn, KK, COL, BATCH, KK * Nn };
    struct mat md = { CUDA_R_16F, M, Nn, M, COL, BATCH, M * Nn };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), ld = layout(&md);
    void *da = up(ha, sizeof ha), *db = up(hb, sizeof hb), *dbias = up(hbias, sizeof hbias);
    void *dd = NULL;
    ck_assert_int_eq(cudaMalloc(&dd, sizeof out), cudaSuccess);
    cublasLtHandle_t h = lt_handle();
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        cudaDataType xt = rows[r].aux_type;
        int has_bias = rows[r].epilogue == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
        void *want_aux = calloc(XN, 4), *got_aux = calloc(XN, 4);
        for (int e = 0; e < XN; e++)
            put(want_aux, xt, (size_t)e, -77.0f);
        void *daux = up(want_aux, XN * tsize(xt));
        cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, rows[r].epilogue);
        if (has_bias) {
            set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dbias);
            set_i64(op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, M);
        }
        set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
        set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, LD);
        set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, XS);
        if (xt != CUDA_R_16F)
            set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, xt);
        ck_assert_int_eq(matmul(h, op, 0, 1, 0, da, la, db, lb, dd, ld, dd, ld), OK);
        down(out, dd, sizeof out);
        down(got_aux, daux, XN * tsize(xt));
        for (int s = 0; s < BATCH; s++) {
            for (int j = 0; j < Nn; j++) {
                for (int i = 0; i < M; i++) {
                    float pre = has_bias ? bias[s * M + i] : 0.0f;
                    for (int l = 0; l < KK; l++)
                        pre += a[s * M * KK + i + l * M] * b[s * KK * Nn + l + j * KK];
                    put(want_aux, xt, (size_t)(s * XS + i + j * LD), pre);
                    assert_near_half(out[s * M * Nn + i + j * M], ref_gelu(pre));
                }
            }
        }
        ck_assert_mem_eq(got_aux, want_aux, XN * tsize(xt));
        cublasLtMatmulDescDestroy(op);
        cudaFree(daux);
        free(want_aux), free(got_aux);
    }
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(ld);
    cublasLtDestroy(h);
}
END_TEST

/* DGELU(_BGRAD): D = (A B + C) * gelu'(aux), and the bias gradient the row
 * sums of D before its rounding. Row 0 of A is 0, so row 0 of D is C's row
 * (2048, 1, 1) times gelu'(20) = 1: its sum is 2050 in FP32, 2048 with FP16
 * adds (2048 + 1 rounds to 2048, twice). Row 1 takes gelu' at -1, 0.5 and
 * 1.5. DGELU writes no bias gradient. */
START_TEST(test_dgelu_bgrad)
{
    enum { M = 2, Nn = 3, KK = 2 };
    static const struct {
        cublasComputeType_t compute;
        uint32_t epilogue;
        cudaDataType bias_type;
        float row0;
    } rows[] = {
        { CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_DGELU_BGRAD, CUDA_R_16F, 2050 },
        { CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_DGELU_BGRAD, CUDA_R_32F, 2050 },
        { CUBLAS_COMPUTE_16F, CUBLASLT_EPILOGUE_DGELU_BGRAD, CUDA_R_16F, 2048 },
        { CUBLAS_COMPUTE_32F, CUBLASLT_EPILOGUE_DGELU, CUDA_R_16F, -77 },
    };
    const float a[M * KK] = { 0, 1, 0, -0.5f };
    const float b[KK * Nn] = { 1, 2, -1, 0.5f, 3, -2 };
    const float c[M * Nn] = { 2048, -0.5f, 1, 0.25f, 1, 1.5f };
    const float aux[M * Nn] = { 20, -1, 20, 0.5f, 20, 1.5f };
    uint16_t ha[M * KK], hb[KK * Nn], hc[M * Nn], haux[M * Nn], out[M * Nn];
    for (int e = 0; e < M * KK; e++)
        ha[e] = H(a[e]);
    for (int e = 0; e < KK * Nn; e++)
        hb[e] = H(b[e]);
    for (int e = 0; e < M * Nn; e++)
        hc[e] = H(c[e]), haux[e] = H(aux[e]);
    struct mat ma = { CUDA_R_16F, M, KK, M, COL, 1, 0 }, mb = { CUDA_R_16F, KK, Nn, KK, COL, 1, 0 };
    struct mat mc = { CUDA_R_16F, M, Nn, M, COL, 1, 0 };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), lc = layout(&mc);
    void *da = up(ha, sizeof ha), *db = up(hb, sizeof hb), *dc = up(hc, sizeof hc);
    void *daux = up(haux, sizeof haux), *dd = NULL;
    ck_assert_int_eq(cudaMalloc(&dd, sizeof out), cudaSuccess);
    cublasLtHandle_t h = lt_handle();
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int half = rows[r].compute == CUBLAS_COMPUTE_16F;
        cudaDataType bt = rows[r].bias_type;
        void *grad = calloc(M + 1, 4); /* one past the vector: must stay */
        for (int e = 0; e <= M; e++)
            put(grad, bt, (size_t)e, -77.0f);
        void *dgrad = up(grad, (M + 1) * tsize(bt));
        cublasLtMatmulDesc_t op = desc(rows[r].compute, half ? CUDA_R_16F : CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, rows[r].epilogue);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dgrad);
        if (bt != CUDA_R_16F)
            set_u32(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, bt);
        set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
        set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, M);
        ck_assert_int_eq(matmul(h, op, half, 1, 1, da, la, db, lb, dc, lc, dd, lc), OK);
        down(out, dd, sizeof out);
        down(grad, dgrad, (M + 1) * tsize(bt));
        float sum1 = 0;
        for (int i = 0; i < M; i++) {
            float sum = 0;
            for (int j = 0; j < Nn; j++) {
                float acc = a[i] * b[j * KK] + a[i + M] * b[1 + j * KK]; /* exact */
                float pre = half ? sh_round_half(acc + c[i + j * M]) : acc + c[i + j * M];
                float d = pre * ref_gelu_grad(aux[i + j * M]);
                d = half ? sh_round_half(d) : d;
                sum = half ? sh_round_half(sum + d) : sum + d;
                assert_near_half(out[i + j * M], d);
            }
            if (i == 1)
                sum1 = sum;
        }
        ck_assert_float_eq(get(grad, bt, 0), rows[r].row0);
        if (rows[r].epilogue == CUBLASLT_EPILOGUE_DGELU)
            ck_assert_float_eq(get(grad, bt, 1), -77.0f);
        else if (bt == CUDA_R_16F)
            assert_near_half(((uint16_t *)grad)[1], sum1);
        else
            ck_assert_float_eq_tol(get(grad, bt, 1), sum1, 1e-5f);
        ck_assert_float_eq(get(grad, bt, M), -77.0f);
        cublasLtMatmulDescDestroy(op);
        cudaFree(dgrad);
        free(grad);
    }
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtDestroy(h);
}
END_TEST

/* BGRADA (row sums of op(A), m per member) and BGRADB (column sums of
 * op(B), n per member) under every transpose and order of A and B, in a
 * strided batch of 2 whose vectors lie BIAS_BATCH_STRIDE = length + 1
 * apart; D is the plain product. Small integers: every sum is exact. */
START_TEST(test_bgrad_operands)
{
    enum { M = 3, Nn = 2, KK = 4, BATCH = 2 };
    const cublasOperation_t ops[] = { N, T };
    const int32_t orders[] = { COL, ROW };
    cublasLtHandle_t h = lt_handle();
    for (int x = 0; x < 32; x++) {
        int grad_a = !(x & 1);
        cublasOperation_t ta = ops[x >> 1 & 1], tb = ops[x >> 2 & 1];
        cudaDataType bt = x % 3 ? CUDA_R_16F : CUDA_R_32F;
        struct mat ma = operand(CUDA_R_16F, ta, M, KK, orders[x >> 4 & 1]);
        struct mat mb = operand(CUDA_R_16F, tb, KK, Nn, orders[x >> 3 & 1]);
        struct mat md = { CUDA_R_16F, M, Nn, M, COL, BATCH, M * Nn };
        ma.batch = mb.batch = BATCH;
        ma.stride = (int64_t)elems(&ma) + 1;
        mb.stride = (int64_t)elems(&mb) + 2;
        size_t na = elems(&ma), nb = elems(&mb);
        uint16_t a[64], b[64], d[BATCH * M * Nn];
        void *grad = calloc(BATCH * (M + 1), 4), *want = calloc(BATCH * (M + 1), 4);
        ck_assert(na <= 64 && nb <= 64);
        for (size_t i = 0; i < na; i++)
            a[i] = H((float)((int)(i * 7 % 11) - 5));
        for (size_t i = 0; i < nb; i++)
            b[i] = H((float)((int)(i * 5 % 9) - 4));
        int64_t len = grad_a ? M : Nn, gs = len + 1;
        for (int e = 0; e < BATCH * gs; e++)
            put(want, bt, (size_t)e, -77.0f);
        cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), ld = layout(&md);
        void *da = up(a, na * 2), *db = up(b, nb * 2), *dg = up(want, (size_t)(BATCH * gs) * 4);
        void *dd = NULL;
        ck_assert_int_eq(cudaMalloc(&dd, sizeof d), cudaSuccess);
        cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, ta, tb);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE,
                grad_a ? CUBLASLT_EPILOGUE_BGRADA : CUBLASLT_EPILOGUE_BGRADB);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dg);
        set_i64(op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, gs);
        if (bt != CUDA_R_16F)
            set_u32(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, bt);
        ck_assert_int_eq(matmul(h, op, 0, 1, 0, da, la, db, lb, dd, ld, dd, ld), OK);
        down(d, dd, sizeof d);
        down(grad, dg, (size_t)(BATCH * gs) * tsize(bt));
        for (int s = 0; s < BATCH; s++) {
            for (int j = 0; j < Nn; j++) {
                for (int i = 0; i < M; i++) {
                    float acc = 0;
                    for (int l = 0; l < KK; l++)
                        acc += get(a, CUDA_R_16F, ta == N ? at(&ma, i, l, s) : at(&ma, l, i, s)) *
                               get(b, CUDA_R_16F, tb == N ? at(&mb, l, j, s) : at(&mb, j, l, s));
                    ck_assert_float_eq(sh_half_to_float(d[s * M * Nn + i + j * M]), acc);
                }
            }
            for (int v = 0; v < len; v++) {
                float sum = 0;
                for (int l = 0; l < KK; l++)
                    sum += grad_a
                               ? get(a, CUDA_R_16F, ta == N ? at(&ma, v, l, s) : at(&ma, l, v, s))
                               : get(b, CUDA_R_16F, tb == N ? at(&mb, l, v, s) : at(&mb, v, l, s));
                put(want, bt, (size_t)(s * gs + v), sum);
            }
        }
        ck_assert_mem_eq(grad, want, (size_t)(BATCH * gs) * tsize(bt));
        cublasLtMatmulDescDestroy(op);
        cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
        cublasLtMatrixLayoutDestroy(ld);
        cudaFree(da), cudaFree(db), cudaFree(dg), cudaFree(dd);
        free(grad), free(want);
    }
    cublasLtDestroy(h);
}
END_TEST

/* A bias gradient overflows FP16 on its own: BGRADB over k = 4096 of B =
 * 20 sums to 81920 > 65504, +Inf as FP16 (81920 as FP32), while D = A B
 * with A = 0.0001 stays near 8.2. */
START_TEST(test_bgrad_overflow)
{
    enum { M = 2, Nn = 2, KK = 4096 };
    static uint16_t a[M * KK], b[KK * Nn];
    for (int e = 0; e < M * KK; e++)
        a[e] = H(0.0001f), b[e] = H(20);
    struct mat ma = { CUDA_R_16F, M, KK, M, COL, 1, 0 }, mb = { CUDA_R_16F, KK, Nn, KK, COL, 1, 0 };
    struct mat md = { CUDA_R_16F, M, Nn, M, COL, 1, 0 };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), ld = layout(&md);
    void *da = up(a, sizeof a), *db = up(b, sizeof b), *dd = NULL, *dg = NULL;
    ck_assert_int_eq(cudaMalloc(&dd, M * Nn * 2), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&dg, Nn * 4), cudaSuccess);
    cublasLtHandle_t h = lt_handle();
    for (int wide = 0; wide < 2; wide++) {
        cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BGRADB);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dg);
        if (wide)
            set_u32(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, CUDA_R_32F);
        ck_assert_int_eq(matmul(h, op, 0, 1, 0, da, la, db, lb, dd, ld, dd, ld), OK);
        cudaDataType bt = wide ? CUDA_R_32F : CUDA_R_16F;
        uint16_t d[M * Nn];
        void *g = calloc(Nn, 4);
        down(d, dd, sizeof d);
        down(g, dg, Nn * tsize(bt));
        for (int e = 0; e < M * Nn; e++) {
            float v = sh_half_to_float(d[e]);
            ck_assert(isfinite(v) && v > 8.0f && v < 8.4f);
        }
        for (int j = 0; j < Nn; j++)
            ck_assert_float_eq(get(g, bt, (size_t)j), wide ? 81920.0f : INFINITY);
        free(g);
        cublasLtMatmulDescDestroy(op);
    }
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(ld);
    cublasLtDestroy(h);
}
END_TEST

/* FP16 compute rounds every add of a bias gradient: BGRADB of 4096 ones
 * stalls at 2048 (2048 + 1 rounds to 2048); FP32 compute gives 4096. */
START_TEST(test_bgrad_half_accumulation)
{
    enum { KK = 4096 };
    static uint16_t ones[2 * KK];
    for (int e = 0; e < 2 * KK; e++)
        ones[e] = H(1);
    struct mat ma = { CUDA_R_16F, 1, KK, 1, COL, 1, 0 }, mb = { CUDA_R_16F, KK, 2, KK, COL, 1, 0 };
    struct mat md = { CUDA_R_16F, 1, 2, 1, COL, 1, 0 };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), ld = layout(&md);
    void *da = up(ones, KK * 2), *db = up(ones, sizeof ones), *dd = NULL, *dg = NULL;
    ck_assert_int_eq(cudaMalloc(&dd, 4), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&dg, 4), cudaSuccess);
    cublasLtHandle_t h = lt_handle();
    for (int half = 0; half < 2; half++) {
        cublasLtMatmulDesc_t op = desc(half ? CUBLAS_COMPUTE_16F : CUBLAS_COMPUTE_32F,
                                       half ? CUDA_R_16F : CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BGRADB);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dg);
        ck_assert_int_eq(matmul(h, op, half, 1, 0, da, la, db, lb, dd, ld, dd, ld), OK);
        uint16_t g[2], d[2];
        down(g, dg, 4);
        down(d, dd, 4);
        for (int j = 0; j < 2; j++) {
            ck_assert_float_eq(sh_half_to_float(g[j]), half ? 2048.0f : 4096.0f);
            ck_assert_float_eq(sh_half_to_float(d[j]), half ? 2048.0f : 4096.0f);
        }
        cublasLtMatmulDescDestroy(op);
    }
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(ld);
    cublasLtDestroy(h);
}
END_TEST

/* A missing aux matrix or bias-gradient vector is refused before anything
 * runs; memory that is not the device's fails the call with nothing
 * written; the ReLU bit-mask epilogues and other element types are not
 * emulated. FP32 throughout, D 2 x 2 (k = 1). */
START_TEST(test_epilogue_errors)
{
    cublasLtHandle_t h = lt_handle();
    float a[2] = { 1, 2 }, b[2] = { 3, 4 }, sentinel[4] = { 42, 42, 42, 42 }, host[16];
    struct mat ma = { CUDA_R_32F, 2, 1, 2, COL, 1, 0 }, mb = { CUDA_R_32F, 1, 2, 1, COL, 1, 0 };
    struct mat md = { CUDA_R_32F, 2, 2, 2, COL, 1, 0 };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb), ld = layout(&md);
    void *da = up(a, 8), *db = up(b, 8), *dd = up(sentinel, 16), *daux = up(sentinel, 16);
    void *dg = up(sentinel, 8);
    cublasLtMatmulDesc_t op;
#define RUN() matmul(h, op, 0, 1, 0, da, la, db, lb, dd, ld, dd, ld)
    /* GELU_AUX: no aux pointer, the default aux_ld 0, aux_ld < m. */
    op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
    set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_GELU_AUX);
    ck_assert_int_eq(RUN(), CUBLAS_STATUS_INVALID_VALUE);
    set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
    ck_assert_int_eq(RUN(), CUBLAS_STATUS_INVALID_VALUE);
    set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 1);
    ck_assert_int_eq(RUN(), CUBLAS_STATUS_INVALID_VALUE);
    set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 2);
    ck_assert_int_eq(RUN(), OK);
    ck_assert_int_eq(cudaMemcpy(daux, sentinel, 16, cudaMemcpyHostToDevice), cudaSuccess);
    /* An aux type the kernels refuse: the header's status. */
    set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, CUDA_R_8I);
    ck_assert_int_eq(RUN(), CUBLAS_STATUS_INVALID_VALUE);
    set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, CUDA_R_32F);
    /* Host memory as aux; an aux matrix past its allocation (aux_ld 3
     * spans 5 elements of 4); the second batch member's aux beyond it:
     * nothing written. */
    ck_assert_int_eq(cudaMemcpy(dd, sentinel, 16, cudaMemcpyHostToDevice), cudaSuccess);
    set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, host);
    ck_assert_int_eq(RUN(), CUBLAS_STATUS_EXECUTION_FAILED);
    set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
    set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 3);
    ck_assert_int_eq(RUN(), CUBLAS_STATUS_EXECUTION_FAILED);
    float out[4];
    down(out, dd, 16);
    ck_assert_mem_eq(out, sentinel, 16);
    down(out, daux, 16);
    ck_assert_mem_eq(out, sentinel, 16);
    cublasLtMatmulDescDestroy(op);
    /* DGELU needs its input. */
    op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
    set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_DGELU);
    ck_assert_int_eq(RUN(), CUBLAS_STATUS_INVALID_VALUE);
    cublasLtMatmulDescDestroy(op);
    /* Bias gradients need their vector, of a type the emulator has, in
     * device memory. */
    const uint32_t grads[] = { CUBLASLT_EPILOGUE_BGRADA, CUBLASLT_EPILOGUE_BGRADB,
                               CUBLASLT_EPILOGUE_DGELU_BGRAD };
    for (int g = 0; g < 3; g++) {
        op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, grads[g]);
        set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
        set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 2);
        ck_assert_int_eq(RUN(), CUBLAS_STATUS_INVALID_VALUE);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, host);
        ck_assert_int_eq(RUN(), CUBLAS_STATUS_EXECUTION_FAILED);
        down(out, dd, 16);
        ck_assert_mem_eq(out, sentinel, 16);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dg);
        set_u32(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, CUDA_R_64F);
        ck_assert_int_eq(RUN(), CUBLAS_STATUS_NOT_SUPPORTED);
        set_u32(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, CUDA_R_32F);
        ck_assert_int_eq(RUN(), OK);
        cublasLtMatmulDescDestroy(op);
        ck_assert_int_eq(cudaMemcpy(dd, sentinel, 16, cudaMemcpyHostToDevice), cudaSuccess);
    }
    /* The ReLU bit-mask epilogues. */
    const uint32_t relu[] = { CUBLASLT_EPILOGUE_RELU_AUX, CUBLASLT_EPILOGUE_RELU_AUX_BIAS,
                              CUBLASLT_EPILOGUE_DRELU, CUBLASLT_EPILOGUE_DRELU_BGRAD };
    for (int e = 0; e < 4; e++) {
        op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, relu[e]);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dg);
        set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
        set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 128);
        ck_assert_int_eq(RUN(), CUBLAS_STATUS_NOT_SUPPORTED);
        cublasLtMatmulDescDestroy(op);
    }
#undef RUN
    /* Batch of 2 (D strided 4 apart in 8 elements), AUX_BATCH_STRIDE 4 in
     * an aux of 4: member 1's aux is out, so member 0's D stays too. */
    struct mat ma2 = ma, mb2 = mb, md2 = md;
    ma2.batch = mb2.batch = md2.batch = 2;
    md2.stride = 4;
    cublasLtMatrixLayout_t la2 = layout(&ma2), lb2 = layout(&mb2), ld2 = layout(&md2);
    float eight[8] = { 42, 42, 42, 42, 42, 42, 42, 42 }, out8[8];
    void *dd2 = up(eight, 32);
    op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
    set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_GELU_AUX);
    set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
    set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 2);
    set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, 4);
    ck_assert_int_eq(matmul(h, op, 0, 1, 0, da, la2, db, lb2, dd2, ld2, dd2, ld2),
                     CUBLAS_STATUS_EXECUTION_FAILED);
    down(out8, dd2, 32);
    ck_assert_mem_eq(out8, eight, 32);
    cublasLtMatmulDescDestroy(op);
    cublasLtMatrixLayoutDestroy(la2), cublasLtMatrixLayoutDestroy(lb2);
    cublasLtMatrixLayoutDestroy(ld2);
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(ld);
    cublasLtDestroy(h);
}
END_TEST

/* Captured, DGELU_BGRAD writes D and the bias gradient only at launch, and
 * reads its aux input then. A = 2, B = (1, 3): aux (20, 20) gives
 * gelu' = 1, D = (2, 6), gradient 8; aux (-20, 0) gives 0 and 0.5,
 * D = (0, 3), gradient 3. */
START_TEST(test_epilogue_graph_capture)
{
    cublasLtHandle_t h = lt_handle();
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    float a = 2, b[2] = { 1, 3 }, aux[2] = { 20, 20 }, d[2] = { -1, -1 }, g = -1, one = 1, zero = 0;
    void *da = up(&a, 4), *db = up(b, 8), *daux = up(aux, 8), *dd = up(d, 8), *dg = up(&g, 4);
    struct mat ma = { CUDA_R_32F, 1, 1, 1, COL, 1, 0 }, mb = { CUDA_R_32F, 1, 2, 1, COL, 1, 0 };
    cublasLtMatrixLayout_t la = layout(&ma), lb = layout(&mb);
    cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
    set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_DGELU_BGRAD);
    set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dg);
    set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
    set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 1);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cublasLtMatmul(h, op, &one, da, la, db, lb, &zero, dd, lb, dd, lb, NULL, NULL,
                                    0, s), OK);
    cudaGraph_t graph = NULL;
    ck_assert_int_eq(cudaStreamEndCapture(s, &graph), cudaSuccess);
    /* The descriptor may go before the launch: the node holds a copy. */
    cublasLtMatmulDescDestroy(op);
    down(d, dd, 8);
    down(&g, dg, 4);
    ck_assert(d[0] == -1 && d[1] == -1 && g == -1);
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    down(d, dd, 8);
    down(&g, dg, 4);
    ck_assert(d[0] == 2 && d[1] == 6 && g == 8);
    aux[0] = -20, aux[1] = 0;
    ck_assert_int_eq(cudaMemcpy(daux, aux, 8, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    down(d, dd, 8);
    down(&g, dg, 4);
    ck_assert(d[0] == 0 && d[1] == 3 && g == 3);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb);
    cudaStreamDestroy(s);
    cublasLtDestroy(h);
}
END_TEST

/* EMU_NULL_COMPUTE=1 validates the epilogues' memory but computes and
 * writes nothing: neither D nor aux nor the bias gradient. */
START_TEST(test_epilogue_null_compute)
{
    setenv("EMU_NULL_COMPUTE", "1", 1);
    cublasLtHandle_t h = lt_handle();
    float one = 1, seven = 7, out;
    void *d1 = up(&one, 4), *dd = up(&seven, 4), *daux = up(&seven, 4), *dg = up(&seven, 4);
    struct mat m1 = { CUDA_R_32F, 1, 1, 1, COL, 1, 0 };
    cublasLtMatrixLayout_t l = layout(&m1);
    const uint32_t epilogues[] = { CUBLASLT_EPILOGUE_GELU_AUX_BIAS, CUBLASLT_EPILOGUE_DGELU_BGRAD,
                                   CUBLASLT_EPILOGUE_BGRADA, CUBLASLT_EPILOGUE_BGRADB };
    for (int e = 0; e < 4; e++) {
        cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
        set_u32(op, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogues[e]);
        set_ptr(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, dg);
        set_ptr(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, daux);
        set_i64(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 1);
        ck_assert_int_eq(matmul(h, op, 0, 1, 0, d1, l, d1, l, dd, l, dd, l), OK);
        void *bufs[3] = { dd, daux, dg };
        for (int i = 0; i < 3; i++) {
            down(&out, bufs[i], 4);
            ck_assert_float_eq(out, 7.0f);
        }
        /* Still validated: host memory as the vector or the matrix. */
        set_ptr(op, e < 2 ? CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER
                          : CUBLASLT_MATMUL_DESC_BIAS_POINTER, &out);
        ck_assert_int_eq(matmul(h, op, 0, 1, 0, d1, l, d1, l, dd, l, dd, l),
                         CUBLAS_STATUS_EXECUTION_FAILED);
        cublasLtMatmulDescDestroy(op);
    }
    cublasLtMatrixLayoutDestroy(l);
    cublasLtDestroy(h);
}
END_TEST

/* ---- handles, streams, errors -------------------------------------------------- */

/* PyTorch passes its cuBLAS handle as the cuBLASLt one. */
START_TEST(test_cublas_handle_as_lt_handle)
{
    for (int p = 0; p < 4096; p++)
        va[p] = H(1);
    cublasHandle_t blas = NULL;
    ck_assert_int_eq(cublasCreate_v2(&blas), OK);
    cublasLtHandle_t h = (cublasLtHandle_t)blas;
    struct dot d;
    dot_init(&d, CUBLAS_COMPUTE_16F, CUDA_R_16F, CUDA_R_16F, va, va, 4096);
    ck_assert_float_eq(dot_run(h, &d, NULL), 2048.0f);
    cublasLtMatmulHeuristicResult_t res[1];
    ck_assert_int_eq(dot_heuristic(h, &d, -1, 1, res), 1);
    /* Anything else is no handle. */
    uint32_t junk = 0;
    float r;
    ck_assert_int_eq(dot_try((cublasLtHandle_t)&junk, &d, NULL, &r),
                     CUBLAS_STATUS_NOT_INITIALIZED);
    ck_assert_int_eq(dot_try(NULL, &d, NULL, &r), CUBLAS_STATUS_NOT_INITIALIZED);
    dot_free(&d);
    cublasDestroy_v2(blas);
}
END_TEST

/* Captured on a stream, the matmul runs only at graph launch, and reads its
 * operands and device-mode scalars at every launch. */
START_TEST(test_graph_capture)
{
    cublasLtHandle_t h = lt_handle();
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    float a = 2, b = 5, alpha = 1, beta = 0, out = -1;
    void *da = up(&a, 4), *db = up(&b, 4), *dalpha = up(&alpha, 4), *dbeta = up(&beta, 4);
    void *dd = up(&out, 4);
    cublasLtMatmulDesc_t op = desc(CUBLAS_COMPUTE_32F, CUDA_R_32F, N, N);
    set_u32(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, CUBLASLT_POINTER_MODE_DEVICE);
    struct mat m1 = { CUDA_R_32F, 1, 1, 1, COL, 1, 0 };
    cublasLtMatrixLayout_t l = layout(&m1);

    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cublasLtMatmul(h, op, dalpha, da, l, db, l, dbeta, dd, l, dd, l, NULL, NULL,
                                    0, s), OK);
    cudaGraph_t g = NULL;
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    down(&out, dd, 4);
    ck_assert_float_eq(out, -1.0f); /* nothing ran during capture */

    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    down(&out, dd, 4);
    ck_assert_float_eq(out, 10.0f);
    a = 3, alpha = 4;
    ck_assert_int_eq(cudaMemcpy(da, &a, 4, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(dalpha, &alpha, 4, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    down(&out, dd, 4);
    ck_assert_float_eq(out, 60.0f);
    ck_assert_int_eq(cudaGraphExecDestroy(exec), cudaSuccess);
    cublasLtMatmulDescDestroy(op);
    cublasLtMatrixLayoutDestroy(l);
    cublasLtDestroy(h);
}
END_TEST

/* Bad memory fails the call without touching D; bad arguments are refused
 * before anything runs. */
START_TEST(test_errors)
{
    cublasLtHandle_t h = lt_handle();
    float one = 1, host[4] = { 1, 2, 3, 4 }, fa = 1, fb = 0, r;
    struct dot d;
    dot_init(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_32F, &one, &one, 1);
    float sentinel = 42;
    ck_assert_int_eq(cudaMemcpy(d.dd, &sentinel, 4, cudaMemcpyHostToDevice), cudaSuccess);
    /* Host memory as A; a freed A; past the end of A. */
    ck_assert_int_eq(cublasLtMatmul(h, d.desc, &fa, host, d.a, d.db, d.b, &fb, d.dd, d.d, d.dd,
                                    d.d, NULL, NULL, 0, NULL), CUBLAS_STATUS_EXECUTION_FAILED);
    void *stale = up(&one, 4);
    ck_assert_int_eq(cudaFree(stale), cudaSuccess);
    ck_assert_int_eq(cublasLtMatmul(h, d.desc, &fa, stale, d.a, d.db, d.b, &fb, d.dd, d.d, d.dd,
                                    d.d, NULL, NULL, 0, NULL), CUBLAS_STATUS_EXECUTION_FAILED);
    struct mat wide = { CUDA_R_32F, 1, 4, 1, COL, 1, 0 }, tall = { CUDA_R_32F, 4, 1, 4, COL, 1, 0 };
    cublasLtMatrixLayout_t lw = layout(&wide), lt = layout(&tall);
    ck_assert_int_eq(cublasLtMatmul(h, d.desc, &fa, d.da, lw, d.db, lt, &fb, d.dd, d.d, d.dd, d.d,
                                    NULL, NULL, 0, NULL), CUBLAS_STATUS_EXECUTION_FAILED);
    down(&r, d.dd, 4);
    ck_assert_float_eq(r, 42.0f);
    /* Shapes that do not chain. */
    ck_assert_int_eq(cublasLtMatmul(h, d.desc, &fa, d.da, lw, d.db, d.b, &fb, d.dd, d.d, d.dd, d.d,
                                    NULL, NULL, 0, NULL), CUBLAS_STATUS_INVALID_VALUE);
    /* A leading dimension below the rows. */
    struct mat low = { CUDA_R_32F, 1, 1, 0, COL, 1, 0 };
    cublasLtMatrixLayout_t ll = layout(&low);
    ck_assert_int_eq(cublasLtMatmul(h, d.desc, &fa, d.da, d.a, d.db, ll, &fb, d.dd, d.d, d.dd, d.d,
                                    NULL, NULL, 0, NULL), CUBLAS_STATUS_INVALID_VALUE);
    /* Missing scalars, descriptors. */
    ck_assert_int_eq(cublasLtMatmul(h, d.desc, NULL, d.da, d.a, d.db, d.b, &fb, d.dd, d.d, d.dd,
                                    d.d, NULL, NULL, 0, NULL), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasLtMatmul(h, NULL, &fa, d.da, d.a, d.db, d.b, &fb, d.dd, d.d, d.dd, d.d,
                                    NULL, NULL, 0, NULL), CUBLAS_STATUS_INVALID_VALUE);
    /* Unsupported type combinations. */
    cublasLtMatmulDesc_t bad = desc(CUBLAS_COMPUTE_16F, CUDA_R_32F, N, N);
    ck_assert_int_eq(cublasLtMatmul(h, bad, &fa, d.da, d.a, d.db, d.b, &fb, d.dd, d.d, d.dd, d.d,
                                    NULL, NULL, 0, NULL), CUBLAS_STATUS_NOT_SUPPORTED);
    cublasLtMatmulDescDestroy(bad);
    bad = desc(CUBLAS_COMPUTE_64F, CUDA_R_64F, N, N);
    ck_assert_int_eq(cublasLtMatmul(h, bad, &fa, d.da, d.a, d.db, d.b, &fb, d.dd, d.d, d.dd, d.d,
                                    NULL, NULL, 0, NULL), CUBLAS_STATUS_NOT_SUPPORTED);
    cublasLtMatmulHeuristicResult_t res[1];
    int n = 5;
    ck_assert_int_eq(cublasLtMatmulAlgoGetHeuristic(h, bad, d.a, d.b, d.d, d.d, NULL, 1, res, &n),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(cublasLtMatmulAlgoGetHeuristic(h, d.desc, d.a, d.b, d.d, d.d, NULL, 0, res,
                                                    &n), CUBLAS_STATUS_INVALID_VALUE);
    cublasLtMatmulDescDestroy(bad);
    cublasLtMatrixLayoutDestroy(lw), cublasLtMatrixLayoutDestroy(lt);
    cublasLtMatrixLayoutDestroy(ll);
    dot_free(&d);
    cublasLtDestroy(h);
}
END_TEST

static Suite *lt_suite(void)
{
    Suite *s = suite_create("emu-lt");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_create_destroy);
    tcase_add_test(tc, test_desc_attributes);
    tcase_add_test(tc, test_layout_attributes);
    tcase_add_test(tc, test_preference_attributes);
    tcase_add_test(tc, test_ones_16f_and_32f);
    tcase_add_test(tc, test_heuristic_reduction_masks);
    tcase_add_test(tc, test_heuristic_no_split);
    tcase_add_test(tc, test_null_algo_splits_in_reduced_precision);
    tcase_add_test(tc, test_algo_config);
    tcase_add_test(tc, test_fast_compute_types);
    tcase_add_test(tc, test_orders_and_transposes);
    tcase_add_test(tc, test_in_place_and_types);
    tcase_add_test(tc, test_strided_batch);
    tcase_add_test(tc, test_device_pointer_mode);
    tcase_add_test(tc, test_epilogues);
    tcase_add_test(tc, test_bias_batch_stride);
    tcase_add_test(tc, test_gelu_bias);
    tcase_add_test(tc, test_gelu_aux_bias);
    tcase_add_test(tc, test_dgelu_bgrad);
    tcase_add_test(tc, test_bgrad_operands);
    tcase_add_test(tc, test_bgrad_overflow);
    tcase_add_test(tc, test_bgrad_half_accumulation);
    tcase_add_test(tc, test_epilogue_errors);
    tcase_add_test(tc, test_epilogue_graph_capture);
    tcase_add_test(tc, test_epilogue_null_compute);
    tcase_add_test(tc, test_cublas_handle_as_lt_handle);
    tcase_add_test(tc, test_graph_capture);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lt_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
