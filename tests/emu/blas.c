/* Emulated libcublas.so.13: handles and the GEMM entry points.
 *
 * Every GEMM form funnels into gemm_entry, which validates like cuBLAS,
 * fixes the numerics (compute type, down-conversion, split-K) from the
 * arguments and the handle, and then runs the GEMM on the handle's stream:
 * at once, or as a graph node when that stream is capturing. Transfers and
 * level-1 routines are in blas_aux.c. */
#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "blas_status.h"
#include "blas.h"
#include "gemm.h"

/* ---- handles and library information ------------------------------------ */

EMU_API cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    int dev;
    if (!handle)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (cudaGetDevice(&dev) != cudaSuccess)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    struct cublasContext *h = calloc(1, sizeof *h);
    if (!h)
        return CUBLAS_STATUS_ALLOC_FAILED;
    h->magic = HANDLE_MAGIC;
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

/* cuBLAS documents that releasing a handle calls cudaDeviceSynchronize(). */
EMU_API cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    cudaDeviceSynchronize();
    handle->magic = 0;
    free(handle);
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *stream)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!stream)
        return CUBLAS_STATUS_INVALID_VALUE;
    *stream = handle->stream;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE)
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->pointer_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t *mode)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode)
        return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->pointer_mode;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    unsigned base = (unsigned)mode & 0xfu, extra = (unsigned)mode & ~0xfu;
    if ((base > 4 && base != 8) || (extra & ~(unsigned)CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION))
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode)
        return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->math;
    return CUBLAS_STATUS_SUCCESS;
}

/* cuBLAS wants a user workspace aligned to 256 bytes; the emulated
 * kernels need none, so it is only recorded. NULL, 0 restores the default. */
EMU_API cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace,
                                             size_t workspaceSizeInBytes)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if ((uintptr_t)workspace % 256 != 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->workspace = workspace;
    handle->workspace_size = workspace ? workspaceSizeInBytes : 0;
    return CUBLAS_STATUS_SUCCESS;
}

/* Atomics only change the summation order of some routines on a GPU; the
 * emulator's order is fixed, so the mode is only recorded. */
EMU_API cublasStatus_t cublasSetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t mode)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_ATOMICS_NOT_ALLOWED && mode != CUBLAS_ATOMICS_ALLOWED)
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->atomics = mode;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasGetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t *mode)
{
    if (!blas_valid(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode)
        return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->atomics;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
{
    (void)handle;
    if (!version)
        return CUBLAS_STATUS_INVALID_VALUE;
    *version = CUBLAS_VERSION;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value)
{
    return emu_blas_property(type, value);
}

EMU_API const char *cublasGetStatusName(cublasStatus_t status)
{
    return emu_blas_status_name(status);
}

EMU_API const char *cublasGetStatusString(cublasStatus_t status)
{
    return emu_blas_status_string(status);
}

/* ---- GEMM ------------------------------------------------------------------ */

enum form { SINGLE, STRIDED, POINTER_ARRAY };

/* Every GEMM entry point's arguments, widened. */
struct call {
    const char *api;
    enum form form;
    cublasOperation_t transa, transb;
    int64_t m, n, k, lda, ldb, ldc, batch;
    const void *alpha, *beta;
    const void *A, *B; /* matrices, or device arrays of matrix pointers */
    void *C;
    long long stride_a, stride_b, stride_c;
    cudaDataType a_type, b_type, c_type;
    int compute;
    int algo;
};

/* A GEMM ready to run: everything it needs by value, since a captured one
 * runs after its caller's arguments are gone. */
struct gemm_op {
    const char *api;
    struct emu_gemm g;
    enum form form;
    const void *A, *B;
    void *C;
    long long stride_a, stride_b, stride_c;
    int64_t batch;
    const void *alpha_dev, *beta_dev; /* pointer mode device: read at run time */
    int half_scalars;
};

static const char *compute_name(int c)
{
    switch (c) {
    case CUBLAS_COMPUTE_16F: return "COMPUTE_16F";
    case CUBLAS_COMPUTE_16F_PEDANTIC: return "COMPUTE_16F_PEDANTIC";
    case CUBLAS_COMPUTE_32F: return "COMPUTE_32F";
    case CUBLAS_COMPUTE_32F_PEDANTIC: return "COMPUTE_32F_PEDANTIC";
    case CUBLAS_COMPUTE_32F_FAST_16F: return "COMPUTE_32F_FAST_16F";
    case CUBLAS_COMPUTE_32F_FAST_16BF: return "COMPUTE_32F_FAST_16BF";
    case CUBLAS_COMPUTE_32F_FAST_TF32: return "COMPUTE_32F_FAST_TF32";
    case CUDA_R_16F: return "legacy CUDA_R_16F";
    case CUDA_R_32F: return "legacy CUDA_R_32F";
    default: return "unsupported";
    }
}

static const char *type_name(cudaDataType t)
{
    switch (t) {
    case CUDA_R_16F: return "16F";
    case CUDA_R_16BF: return "16BF";
    case CUDA_R_32F: return "32F";
    default: return "other";
    }
}

static size_t type_size(cudaDataType t)
{
    return t == CUDA_R_32F ? 4 : 2;
}

static float read_scalar(const void *p, int half)
{
    if (half)
        return sh_half_to_float(((const sh_half *)p)->bits);
    return *(const float *)p;
}

/* Bytes spanned by a column-major rows x cols matrix with leading dimension ld. */
static size_t extent(int64_t rows, int64_t cols, int64_t ld, size_t elem)
{
    return (size_t)((cols - 1) * ld + rows) * elem;
}

static void *xlate(const struct gemm_op *op, const char *what, const void *dev, size_t bytes)
{
    void *h = emu_to_host_range(dev, bytes);
    if (!h)
        fprintf(stderr, "emu: %s: %s = %p (%zu bytes) is not device memory\n", op->api, what,
                dev, bytes);
    return h;
}

static cublasStatus_t gemm_run(const struct gemm_op *op)
{
    struct emu_gemm g = op->g;
    if (op->alpha_dev) {
        size_t sz = op->half_scalars ? 2 : 4;
        const void *a = xlate(op, "alpha", op->alpha_dev, sz);
        const void *b = xlate(op, "beta", op->beta_dev, sz);
        if (!a || !b)
            return CUBLAS_STATUS_EXECUTION_FAILED;
        g.alpha = read_scalar(a, op->half_scalars);
        g.beta = read_scalar(b, op->half_scalars);
    }
    int64_t rows_a = g.trans_a ? g.k : g.m, cols_a = g.trans_a ? g.m : g.k;
    int64_t rows_b = g.trans_b ? g.n : g.k, cols_b = g.trans_b ? g.k : g.n;
    size_t ab = type_size(g.ab_type), cs = type_size(g.c_type);
    size_t bytes_a = extent(rows_a, cols_a, g.lda, ab), bytes_b = extent(rows_b, cols_b, g.ldb, ab);
    size_t bytes_c = extent(g.m, g.n, g.ldc, cs);
    int reads_ab = g.alpha != 0.0f && g.k > 0;

    const void *const *arr_a = NULL, *const *arr_b = NULL;
    void *const *arr_c = NULL;
    if (op->form == POINTER_ARRAY) {
        size_t bytes = (size_t)op->batch * sizeof(void *);
        arr_c = xlate(op, "Carray", op->C, bytes);
        if (reads_ab) {
            arr_a = xlate(op, "Aarray", op->A, bytes);
            arr_b = xlate(op, "Barray", op->B, bytes);
        }
        if (!arr_c || (reads_ab && (!arr_a || !arr_b)))
            return CUBLAS_STATUS_EXECUTION_FAILED;
    }
    /* Translate every operand before computing any, so a bad pointer fails
     * the call without a partial result. */
    void **host = malloc((size_t)op->batch * 3 * sizeof *host);
    if (!host)
        return CUBLAS_STATUS_ALLOC_FAILED;
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    for (int64_t i = 0; i < op->batch && !st; i++) {
        const char *a, *b;
        char *c;
        if (op->form == POINTER_ARRAY) {
            a = reads_ab ? arr_a[i] : NULL;
            b = reads_ab ? arr_b[i] : NULL;
            c = arr_c[i];
        } else {
            a = (const char *)op->A + i * op->stride_a * (long long)ab;
            b = (const char *)op->B + i * op->stride_b * (long long)ab;
            c = (char *)op->C + i * op->stride_c * (long long)cs;
        }
        host[3 * i] = reads_ab ? xlate(op, "A", a, bytes_a) : NULL;
        host[3 * i + 1] = reads_ab ? xlate(op, "B", b, bytes_b) : NULL;
        host[3 * i + 2] = xlate(op, "C", c, bytes_c);
        if (!host[3 * i + 2] || (reads_ab && (!host[3 * i] || !host[3 * i + 1])))
            st = CUBLAS_STATUS_EXECUTION_FAILED;
    }
    if (!st && !emu_null_compute())
        for (int64_t i = 0; i < op->batch; i++)
            emu_gemm_compute(&g, host[3 * i], host[3 * i + 1], host[3 * i + 2]);
    free(host);
    return st;
}

static CUresult gemm_node(void *arg)
{
    return gemm_run(arg) ? CUDA_ERROR_LAUNCH_FAILED : CUDA_SUCCESS;
}

static int valid_op(cublasOperation_t op)
{
    return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

static cublasStatus_t gemm_entry(cublasHandle_t h, const struct call *c)
{
    if (!blas_valid(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (emu_trace())
        fprintf(stderr,
                "emu: %s m=%lld n=%lld k=%lld compute=%s math=%#x A=%s C=%s batch=%lld "
                "pointer_mode=%s\n",
                c->api, (long long)c->m, (long long)c->n, (long long)c->k,
                compute_name(c->compute), (unsigned)h->math, type_name(c->a_type),
                type_name(c->c_type), (long long)c->batch,
                h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE ? "device" : "host");

    int ta = c->transa != CUBLAS_OP_N, tb = c->transb != CUBLAS_OP_N;
    if (!valid_op(c->transa) || !valid_op(c->transb) || c->m < 0 || c->n < 0 || c->k < 0 ||
        c->batch < 0 || c->lda < (ta ? c->k : c->m) || c->lda < 1 ||
        c->ldb < (tb ? c->n : c->k) || c->ldb < 1 || c->ldc < c->m || c->ldc < 1)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (c->algo < CUBLAS_GEMM_DEFAULT ||
        (c->algo > CUBLAS_GEMM_ALGO23 && c->algo < CUBLAS_GEMM_DEFAULT_TENSOR_OP) ||
        c->algo > CUBLAS_GEMM_ALGO15_TENSOR_OP)
        return CUBLAS_STATUS_INVALID_VALUE;

    /* A legacy cudaDataType as compute type (C callers of the pre-11 API)
     * is migrated as the header's C++ overloads do. */
    int pedantic_math = ((unsigned)h->math & 0xfu) == CUBLAS_PEDANTIC_MATH;
    int compute = c->compute;
    if (compute == CUDA_R_16F)
        compute = pedantic_math ? CUBLAS_COMPUTE_16F_PEDANTIC : CUBLAS_COMPUTE_16F;
    else if (compute == CUDA_R_32F)
        compute = pedantic_math ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F;

    struct emu_gemm g = { .trans_a = ta, .trans_b = tb, .m = c->m, .n = c->n, .k = c->k,
                          .lda = c->lda, .ldb = c->ldb, .ldc = c->ldc,
                          .ab_type = c->a_type, .c_type = c->c_type };
    cudaDataType at = c->a_type, ct = c->c_type;
    int half16 = at == CUDA_R_16F || at == CUDA_R_16BF;
    switch (compute) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC:
        if (at != CUDA_R_16F || c->b_type != CUDA_R_16F || ct != CUDA_R_16F)
            return CUBLAS_STATUS_NOT_SUPPORTED;
        g.acc = EMU_ACC_16F;
        break;
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
        if (c->b_type != at || !((half16 && (ct == at || ct == CUDA_R_32F)) ||
                                 (at == CUDA_R_32F && ct == CUDA_R_32F)))
            return CUBLAS_STATUS_NOT_SUPPORTED;
        g.acc = EMU_ACC_32F;
        break;
    default:
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }

    /* Down-conversion only ever applies to FP32 inputs; the deprecated
     * tensor-op math modes act like the FAST compute types. */
    unsigned math_base = (unsigned)h->math & 0xfu;
    if (at == CUDA_R_32F) {
        if (compute == CUBLAS_COMPUTE_32F_FAST_16F ||
            (compute == CUBLAS_COMPUTE_32F && math_base == CUBLAS_TENSOR_OP_MATH))
            g.down = EMU_DOWN_16F;
        else if (compute == CUBLAS_COMPUTE_32F_FAST_16BF)
            g.down = EMU_DOWN_16BF;
        else if (compute == CUBLAS_COMPUTE_32F_FAST_TF32 ||
                 (compute == CUBLAS_COMPUTE_32F && math_base == CUBLAS_TF32_TENSOR_OP_MATH))
            g.down = EMU_DOWN_TF32;
    }
    g.split = g.acc == EMU_ACC_32F && compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
              math_base != CUBLAS_PEDANTIC_MATH &&
              !((unsigned)h->math & CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION) &&
              (ct == CUDA_R_16F || ct == CUDA_R_16BF) && c->k >= 4096;

    if (c->m == 0 || c->n == 0 || c->batch == 0)
        return CUBLAS_STATUS_SUCCESS;
    if (!c->alpha || !c->beta)
        return CUBLAS_STATUS_INVALID_VALUE;

    struct gemm_op op = { .api = c->api, .g = g, .form = c->form, .A = c->A, .B = c->B,
                          .C = c->C, .stride_a = c->stride_a, .stride_b = c->stride_b,
                          .stride_c = c->stride_c, .batch = c->batch,
                          .half_scalars = g.acc == EMU_ACC_16F };
    if (h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE) {
        op.alpha_dev = c->alpha;
        op.beta_dev = c->beta;
    } else {
        op.g.alpha = read_scalar(c->alpha, op.half_scalars);
        op.g.beta = read_scalar(c->beta, op.half_scalars);
    }

    int recorded;
    if (emu_lib_record(h->stream, gemm_node, &op, sizeof op, &recorded))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    return recorded ? CUBLAS_STATUS_SUCCESS : gemm_run(&op);
}

/* ---- public GEMM entry points ---------------------------------------------- */

#define SINGLE_CALL(name, A_, B_, C_)                                                     \
    struct call c = { name, SINGLE, transa, transb, m, n, k, lda, ldb, ldc, 1, alpha, beta, \
                      A_, B_, C_, 0, 0, 0, Atype, Btype, Ctype, (int)computeType, (int)algo }

EMU_API cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A,
    cudaDataType Atype, int lda, const void *B, cudaDataType Btype, int ldb, const void *beta,
    void *C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    SINGLE_CALL("cublasGemmEx", A, B, C);
    return gemm_entry(handle, &c);
}

EMU_API cublasStatus_t cublasGemmEx_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const void *alpha,
    const void *A, cudaDataType Atype, int64_t lda, const void *B, cudaDataType Btype,
    int64_t ldb, const void *beta, void *C, cudaDataType Ctype, int64_t ldc,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    SINGLE_CALL("cublasGemmEx_64", A, B, C);
    return gemm_entry(handle, &c);
}

#define BATCHED_CALL(name)                                                                  \
    struct call c = { name, POINTER_ARRAY, transa, transb, m, n, k, lda, ldb, ldc,          \
                      batchCount, alpha, beta, (const void *)Aarray, (const void *)Barray,  \
                      (void *)Carray, 0, 0, 0, Atype, Btype, Ctype, (int)computeType,      \
                      (int)algo }

EMU_API cublasStatus_t cublasGemmBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *const Aarray[],
    cudaDataType Atype, int lda, const void *const Barray[], cudaDataType Btype, int ldb,
    const void *beta, void *const Carray[], cudaDataType Ctype, int ldc, int batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    BATCHED_CALL("cublasGemmBatchedEx");
    return gemm_entry(handle, &c);
}

EMU_API cublasStatus_t cublasGemmBatchedEx_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const void *alpha,
    const void *const Aarray[], cudaDataType Atype, int64_t lda, const void *const Barray[],
    cudaDataType Btype, int64_t ldb, const void *beta, void *const Carray[],
    cudaDataType Ctype, int64_t ldc, int64_t batchCount, cublasComputeType_t computeType,
    cublasGemmAlgo_t algo)
{
    BATCHED_CALL("cublasGemmBatchedEx_64");
    return gemm_entry(handle, &c);
}

#define STRIDED_CALL(name)                                                                  \
    struct call c = { name, STRIDED, transa, transb, m, n, k, lda, ldb, ldc, batchCount,   \
                      alpha, beta, A, B, C, strideA, strideB, strideC, Atype, Btype, Ctype, \
                      (int)computeType, (int)algo }

EMU_API cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle,
    cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const void *alpha, const void *A, cudaDataType Atype, int lda, long long int strideA,
    const void *B, cudaDataType Btype, int ldb, long long int strideB, const void *beta,
    void *C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    STRIDED_CALL("cublasGemmStridedBatchedEx");
    return gemm_entry(handle, &c);
}

EMU_API cublasStatus_t cublasGemmStridedBatchedEx_64(cublasHandle_t handle,
    cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
    const void *alpha, const void *A, cudaDataType Atype, int64_t lda, long long int strideA,
    const void *B, cudaDataType Btype, int64_t ldb, long long int strideB, const void *beta,
    void *C, cudaDataType Ctype, int64_t ldc, long long int strideC, int64_t batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    STRIDED_CALL("cublasGemmStridedBatchedEx_64");
    return gemm_entry(handle, &c);
}

EMU_API cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda,
    const float *B, int ldb, const float *beta, float *C, int ldc)
{
    struct call c = { "cublasSgemm_v2", SINGLE, transa, transb, m, n, k, lda, ldb, ldc, 1,
                      alpha, beta, A, B, C, 0, 0, 0, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F,
                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT };
    return gemm_entry(handle, &c);
}

EMU_API cublasStatus_t cublasSgemm_v2_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const float *alpha,
    const float *A, int64_t lda, const float *B, int64_t ldb, const float *beta, float *C,
    int64_t ldc)
{
    struct call c = { "cublasSgemm_v2_64", SINGLE, transa, transb, m, n, k, lda, ldb, ldc, 1,
                      alpha, beta, A, B, C, 0, 0, 0, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F,
                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT };
    return gemm_entry(handle, &c);
}

/* cublasSgemmEx: 16-bit or FP32 data, always FP32 compute with float
 * scalars, which is gemm_entry's COMPUTE_32F. cuBLAS documents these
 * A/B -> C types: 16F -> 16F, 16BF -> 16BF, and 8I, 16BF, 16F, 32F -> 32F
 * (A and B alike); gemm_entry's COMPUTE_32F takes exactly those except 8I,
 * for which the emulator has no GEMM (NOT_SUPPORTED, as for any type cuBLAS
 * refuses). Like Sgemm, it takes the handle's math mode: TENSOR_OP and
 * TF32 down-convert FP32 inputs, and a 16-bit C gets split-K unless the
 * mode is pedantic or disallows reduced-precision reduction. Not forwarded
 * to cublasGemmEx: NVIDIA's calls its internals, not its exported API. */
#define SGEMMEX_CALL(name)                                                                  \
    struct call c = { name, SINGLE, transa, transb, m, n, k, lda, ldb, ldc, 1, alpha, beta, \
                      A, B, C, 0, 0, 0, Atype, Btype, Ctype, CUBLAS_COMPUTE_32F,           \
                      CUBLAS_GEMM_DEFAULT }

EMU_API cublasStatus_t cublasSgemmEx(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const float *alpha, const void *A,
    cudaDataType Atype, int lda, const void *B, cudaDataType Btype, int ldb, const float *beta,
    void *C, cudaDataType Ctype, int ldc)
{
    SGEMMEX_CALL("cublasSgemmEx");
    return gemm_entry(handle, &c);
}

EMU_API cublasStatus_t cublasSgemmEx_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const float *alpha,
    const void *A, cudaDataType Atype, int64_t lda, const void *B, cudaDataType Btype,
    int64_t ldb, const float *beta, void *C, cudaDataType Ctype, int64_t ldc)
{
    SGEMMEX_CALL("cublasSgemmEx_64");
    return gemm_entry(handle, &c);
}

/* The FP32 batched forms: Sgemm per matrix, as cublasGemm*BatchedEx with
 * CUBLAS_COMPUTE_32F would do it. */
#define SBATCHED_CALL(name)                                                                 \
    struct call c = { name, POINTER_ARRAY, transa, transb, m, n, k, lda, ldb, ldc,          \
                      batchCount, alpha, beta, (const void *)Aarray, (const void *)Barray,  \
                      (void *)Carray, 0, 0, 0, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F,         \
                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT }

EMU_API cublasStatus_t cublasSgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const float *alpha,
    const float *const Aarray[], int lda, const float *const Barray[], int ldb,
    const float *beta, float *const Carray[], int ldc, int batchCount)
{
    SBATCHED_CALL("cublasSgemmBatched");
    return gemm_entry(handle, &c);
}

EMU_API cublasStatus_t cublasSgemmBatched_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const float *alpha,
    const float *const Aarray[], int64_t lda, const float *const Barray[], int64_t ldb,
    const float *beta, float *const Carray[], int64_t ldc, int64_t batchCount)
{
    SBATCHED_CALL("cublasSgemmBatched_64");
    return gemm_entry(handle, &c);
}

#define SSTRIDED_CALL(name)                                                                 \
    struct call c = { name, STRIDED, transa, transb, m, n, k, lda, ldb, ldc, batchCount,   \
                      alpha, beta, A, B, C, strideA, strideB, strideC, CUDA_R_32F,          \
                      CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT }

EMU_API cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle,
    cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const float *alpha, const float *A, int lda, long long int strideA, const float *B,
    int ldb, long long int strideB, const float *beta, float *C, int ldc,
    long long int strideC, int batchCount)
{
    SSTRIDED_CALL("cublasSgemmStridedBatched");
    return gemm_entry(handle, &c);
}

EMU_API cublasStatus_t cublasSgemmStridedBatched_64(cublasHandle_t handle,
    cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
    const float *alpha, const float *A, int64_t lda, long long int strideA, const float *B,
    int64_t ldb, long long int strideB, const float *beta, float *C, int64_t ldc,
    long long int strideC, int64_t batchCount)
{
    SSTRIDED_CALL("cublasSgemmStridedBatched_64");
    return gemm_entry(handle, &c);
}

/* ---- grouped batched GEMM ---------------------------------------------------
 * cublasGemmGroupedBatchedEx: group i's group_size[i] problems share its
 * shape, transposes, leading dimensions and alpha/beta (host arrays of
 * group_count), and take their matrices from the next group_size[i] entries
 * of the device pointer arrays. As cuBLAS documents it: every group is
 * validated before any runs, alpha/beta must be on the host (device pointer
 * mode: NOT_SUPPORTED), and the compute types are COMPUTE_32F for
 * 16F/16BF/32F data (one type for A, B and C) and COMPUTE_32F_PEDANTIC or
 * FAST_TF32 for 32F data; the 64F ones the emulator lacks are NOT_SUPPORTED
 * too. Each group then runs as a batched GEMM of its own. */

static int64_t nth(const void *arr, int is64, int64_t i)
{
    return is64 ? ((const int64_t *)arr)[i] : ((const int *)arr)[i];
}

struct grouped {
    const char *api;
    int is64;
    const cublasOperation_t *ta, *tb;
    const void *m, *n, *k, *lda, *ldb, *ldc, *size; /* int or int64_t arrays */
    const void *alpha, *beta;
    const void *const *A, *const *B;
    void *const *C;
    cudaDataType at, bt, ct;
    int64_t groups;
    int compute;
};

static cublasStatus_t grouped_entry(cublasHandle_t h, const struct grouped *q)
{
    if (!blas_valid(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!q->ta || !q->tb || !q->m || !q->n || !q->k || !q->alpha || !q->lda || !q->ldb ||
        !q->beta || !q->ldc || !q->size || q->groups < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    for (int64_t g = 0; g < q->groups; g++) {
        int64_t m = nth(q->m, q->is64, g), n = nth(q->n, q->is64, g), k = nth(q->k, q->is64, g);
        int ta = q->ta[g] != CUBLAS_OP_N, tb = q->tb[g] != CUBLAS_OP_N;
        if (m < 0 || n < 0 || k < 0 || nth(q->size, q->is64, g) < 0 || !valid_op(q->ta[g]) ||
            !valid_op(q->tb[g]) || nth(q->lda, q->is64, g) < (ta ? k : m) ||
            nth(q->lda, q->is64, g) < 1 || nth(q->ldb, q->is64, g) < (tb ? n : k) ||
            nth(q->ldb, q->is64, g) < 1 || nth(q->ldc, q->is64, g) < m ||
            nth(q->ldc, q->is64, g) < 1)
            return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    int half16 = q->at == CUDA_R_16F || q->at == CUDA_R_16BF;
    if (q->bt != q->at || q->ct != q->at ||
        !((q->compute == CUBLAS_COMPUTE_32F && (half16 || q->at == CUDA_R_32F)) ||
          ((q->compute == CUBLAS_COMPUTE_32F_PEDANTIC ||
            q->compute == CUBLAS_COMPUTE_32F_FAST_TF32) && q->at == CUDA_R_32F)))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    int64_t idx = 0;
    for (int64_t g = 0; g < q->groups; g++) {
        int64_t size = nth(q->size, q->is64, g);
        struct call c = { q->api, POINTER_ARRAY, q->ta[g], q->tb[g], nth(q->m, q->is64, g),
                          nth(q->n, q->is64, g), nth(q->k, q->is64, g),
                          nth(q->lda, q->is64, g), nth(q->ldb, q->is64, g),
                          nth(q->ldc, q->is64, g), size, (const float *)q->alpha + g,
                          (const float *)q->beta + g, (const void *)(q->A + idx),
                          (const void *)(q->B + idx), (void *)(q->C + idx), 0, 0, 0, q->at,
                          q->bt, q->ct, q->compute, CUBLAS_GEMM_DEFAULT };
        cublasStatus_t st = gemm_entry(h, &c);
        if (st)
            return st;
        idx += size;
    }
    return CUBLAS_STATUS_SUCCESS;
}

#define GROUPED_CALL(name, is64_)                                                           \
    struct grouped q = { name, is64_, transa_array, transb_array, m_array, n_array, k_array, \
                         lda_array, ldb_array, ldc_array, group_size, alpha_array,          \
                         beta_array, Aarray, Barray, Carray, Atype, Btype, Ctype,           \
                         group_count, (int)computeType }

EMU_API cublasStatus_t cublasGemmGroupedBatchedEx(cublasHandle_t handle,
    const cublasOperation_t transa_array[], const cublasOperation_t transb_array[],
    const int m_array[], const int n_array[], const int k_array[], const void *alpha_array,
    const void *const Aarray[], cudaDataType_t Atype, const int lda_array[],
    const void *const Barray[], cudaDataType_t Btype, const int ldb_array[],
    const void *beta_array, void *const Carray[], cudaDataType_t Ctype, const int ldc_array[],
    int group_count, const int group_size[], cublasComputeType_t computeType)
{
    GROUPED_CALL("cublasGemmGroupedBatchedEx", 0);
    return grouped_entry(handle, &q);
}

EMU_API cublasStatus_t cublasGemmGroupedBatchedEx_64(cublasHandle_t handle,
    const cublasOperation_t transa_array[], const cublasOperation_t transb_array[],
    const int64_t m_array[], const int64_t n_array[], const int64_t k_array[],
    const void *alpha_array, const void *const Aarray[], cudaDataType_t Atype,
    const int64_t lda_array[], const void *const Barray[], cudaDataType_t Btype,
    const int64_t ldb_array[], const void *beta_array, void *const Carray[],
    cudaDataType_t Ctype, const int64_t ldc_array[], int64_t group_count,
    const int64_t group_size[], cublasComputeType_t computeType)
{
    GROUPED_CALL("cublasGemmGroupedBatchedEx_64", 1);
    return grouped_entry(handle, &q);
}
