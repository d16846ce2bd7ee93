/* Tests of the emulated CUDA backend itself: the numerics the shim's tests
 * rely on, and the behaviours of the real libraries it imitates.
 *
 * Every test runs in its own forked process (CK_FORK is forced in main), so
 * each starts with an uninitialized driver and unread environment switches. */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include "emu.h"

extern const unsigned char sh_kernels_fatbin[];

#define N CUBLAS_OP_N
#define T CUBLAS_OP_T
#define OK CUBLAS_STATUS_SUCCESS

/* ---- cublasGemmEx interposed, as a preloaded shim would ----------------- */

static int gemmex_calls;

EMU_API cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A,
    cudaDataType Atype, int lda, const void *B, cudaDataType Btype, int ldb, const void *beta,
    void *C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    static cublasStatus_t (*next)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                  int, int, const void *, const void *, cudaDataType, int,
                                  const void *, cudaDataType, int, const void *, void *,
                                  cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
    if (!next)
        *(void **)&next = dlsym(RTLD_NEXT, "cublasGemmEx");
    gemmex_calls++;
    return next(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C,
                Ctype, ldc, computeType, algo);
}

/* ---- helpers --------------------------------------------------------------- */

static uint16_t H(float f)
{
    return sh_float_to_half(f);
}

static float F(uint16_t h)
{
    return sh_half_to_float(h);
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

static cublasHandle_t handle(void)
{
    cublasHandle_t h = NULL;
    ck_assert_int_eq(cublasCreate_v2(&h), OK);
    return h;
}

static int is_16f(int compute)
{
    return compute == CUBLAS_COMPUTE_16F || compute == CUBLAS_COMPUTE_16F_PEDANTIC ||
           compute == CUDA_R_16F;
}

/* A 1 x 1 result of a length-k dot product of half vectors, alpha 1, beta 0. */
static float dot(cublasHandle_t h, const uint16_t *a, const uint16_t *b, int k, int compute,
                 cudaDataType ctype)
{
    void *da = up(a, (size_t)k * 2), *db = up(b, (size_t)k * 2), *dc = NULL;
    ck_assert_int_eq(cudaMalloc(&dc, 4), cudaSuccess);
    sh_half ha = { H(1) }, hb = { H(0) };
    float fa = 1, fb = 0;
    const void *alpha = is_16f(compute) ? (const void *)&ha : &fa;
    const void *beta = is_16f(compute) ? (const void *)&hb : &fb;
    ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, k, alpha, da, CUDA_R_16F, 1, db, CUDA_R_16F, k,
                                  beta, dc, ctype, 1, (cublasComputeType_t)compute,
                                  CUBLAS_GEMM_DEFAULT), OK);
    float out;
    if (ctype == CUDA_R_32F) {
        down(&out, dc, 4);
    } else {
        uint16_t o;
        down(&o, dc, 2);
        out = F(o);
    }
    cudaFree(da), cudaFree(db), cudaFree(dc);
    return out;
}

static uint16_t ones[4096];

static void fill_ones(void)
{
    for (int i = 0; i < 4096; i++)
        ones[i] = H(1);
}

/* ---- accumulation ------------------------------------------------------------ */

START_TEST(test_16f_accumulates_in_half)
{
    fill_ones();
    cublasHandle_t h = handle();
    ck_assert_float_eq(dot(h, ones, ones, 4096, CUBLAS_COMPUTE_16F, CUDA_R_16F), 2048.0f);
    ck_assert_float_eq(dot(h, ones, ones, 4096, CUBLAS_COMPUTE_16F_PEDANTIC, CUDA_R_16F), 2048.0f);
    ck_assert_float_eq(dot(h, ones, ones, 2048, CUBLAS_COMPUTE_16F, CUDA_R_16F), 2048.0f);
    ck_assert_float_eq(dot(h, ones, ones, 1000, CUBLAS_COMPUTE_16F, CUDA_R_16F), 1000.0f);
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_32f_accumulates_in_float)
{
    fill_ones();
    cublasHandle_t h = handle();
    ck_assert_float_eq(dot(h, ones, ones, 4096, CUBLAS_COMPUTE_32F, CUDA_R_16F), 4096.0f);
    ck_assert_float_eq(dot(h, ones, ones, 4096, CUBLAS_COMPUTE_32F, CUDA_R_32F), 4096.0f);
    ck_assert_int_eq(cublasSetMathMode(h, CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION), OK);
    ck_assert_float_eq(dot(h, ones, ones, 4096, CUBLAS_COMPUTE_32F, CUDA_R_16F), 4096.0f);
    cublasDestroy_v2(h);
}
END_TEST

/* Legacy cudaDataType values as compute type map as the C++ overloads do. */
START_TEST(test_legacy_compute_types)
{
    fill_ones();
    cublasHandle_t h = handle();
    ck_assert_float_eq(dot(h, ones, ones, 4096, CUDA_R_16F, CUDA_R_16F), 2048.0f);
    ck_assert_float_eq(dot(h, ones, ones, 4096, CUDA_R_32F, CUDA_R_32F), 4096.0f);
    cublasDestroy_v2(h);
}
END_TEST

/* Hgemm is COMPUTE_16F, and reaches cublasGemmEx through the PLT (the
 * interposer in this file counts it). */
START_TEST(test_hgemm)
{
    fill_ones();
    cublasHandle_t h = handle();
    void *a = up(ones, sizeof ones), *b = up(ones, sizeof ones), *c = NULL;
    ck_assert_int_eq(cudaMalloc(&c, 2), cudaSuccess);
    sh_half alpha = { H(1) }, beta = { H(0) };
    uint16_t out;
    gemmex_calls = 0;
    ck_assert_int_eq(cublasHgemm(h, N, N, 1, 1, 4096, &alpha, a, 1, b, 4096, &beta, c, 1), OK);
    ck_assert_int_eq(gemmex_calls, 1);
    down(&out, c, 2);
    ck_assert_float_eq(F(out), 2048.0f);
    ck_assert_int_eq(cudaMemset(c, 0, 2), cudaSuccess);
    ck_assert_int_eq(cublasHgemm_64(h, N, N, 1, 1, 4096, &alpha, a, 1, b, 4096, &beta, c, 1), OK);
    down(&out, c, 2);
    ck_assert_float_eq(F(out), 2048.0f);
    cublasDestroy_v2(h);
}
END_TEST

/* Split-K data: k = 4096 splits into chunks [0,1024) [1024,2048) [2048,3072)
 * [3072,4096). Chunk 0 holds 1*1 + 32*64 = 2049, chunk 1 holds -32*64 =
 * -2048, chunk 2 holds three 1*1 = 3, chunk 3 nothing.
 * - FP32 sequentially: 1 + 2048 - 2048 + 1 + 1 + 1 = 4, exact in FP16.
 * - Split-K: 2049 rounds to 2048 in FP16 (a tie, to even), then
 *   2048 - 2048 + 3 + 0 = 3.
 * - FP16 accumulation: 1 + 2048 = 2049 -> 2048, - 2048 = 0, + 3 = 3. */
static void split_data(uint16_t *a, uint16_t *b)
{
    memset(a, 0, 4096 * 2);
    memset(b, 0, 4096 * 2);
    a[0] = H(1), b[0] = H(1);
    a[1] = H(32), b[1] = H(64);
    a[1024] = H(-32), b[1024] = H(64);
    for (int p = 2048; p < 2051; p++)
        a[p] = H(1), b[p] = H(1);
}

START_TEST(test_split_k)
{
    static uint16_t a[4096], b[4096];
    split_data(a, b);
    cublasHandle_t h = handle();
    ck_assert_float_eq(dot(h, a, b, 4096, CUBLAS_COMPUTE_32F, CUDA_R_16F), 3.0f);
    ck_assert_float_eq(dot(h, a, b, 4096, CUBLAS_COMPUTE_32F_FAST_16F, CUDA_R_16F), 3.0f);
    ck_assert_float_eq(dot(h, a, b, 4096, CUBLAS_COMPUTE_16F, CUDA_R_16F), 3.0f);
    /* No split: FP32 output, pedantic compute, k below 4096. */
    ck_assert_float_eq(dot(h, a, b, 4096, CUBLAS_COMPUTE_32F, CUDA_R_32F), 4.0f);
    ck_assert_float_eq(dot(h, a, b, 4096, CUBLAS_COMPUTE_32F_PEDANTIC, CUDA_R_16F), 4.0f);
    ck_assert_float_eq(dot(h, a, b, 4095, CUBLAS_COMPUTE_32F, CUDA_R_16F), 4.0f);
    ck_assert_int_eq(cublasSetMathMode(h, CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION), OK);
    ck_assert_float_eq(dot(h, a, b, 4096, CUBLAS_COMPUTE_32F, CUDA_R_16F), 4.0f);
    cublasDestroy_v2(h);
}
END_TEST

/* FAST_* compute types down-convert FP32 inputs before FP32 accumulation. */
START_TEST(test_fast_compute_types)
{
    cublasHandle_t h = handle();
    float x = 1.0f + 0x1p-9f + 0x1p-12f, one = 1.0f, big = 70000.0f, alpha = 1, beta = 0, out;
    void *dx = up(&x, 4), *d1 = up(&one, 4), *dbig = up(&big, 4), *dc = NULL;
    ck_assert_int_eq(cudaMalloc(&dc, 4), cudaSuccess);
    static const struct { int compute; float want; } cases[] = {
        { CUBLAS_COMPUTE_32F, 1.0f + 0x1p-9f + 0x1p-12f },
        { CUBLAS_COMPUTE_32F_FAST_16F, 1.0f + 0x1p-9f },
        { CUBLAS_COMPUTE_32F_FAST_TF32, 1.0f + 0x1p-9f },
        { CUBLAS_COMPUTE_32F_FAST_16BF, 1.0f },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, 1, &alpha, dx, CUDA_R_32F, 1, d1, CUDA_R_32F,
                                      1, &beta, dc, CUDA_R_32F, 1, cases[i].compute,
                                      CUBLAS_GEMM_DEFAULT), OK);
        down(&out, dc, 4);
        ck_assert_float_eq(out, cases[i].want);
    }
    ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, 1, &alpha, dbig, CUDA_R_32F, 1, d1, CUDA_R_32F,
                                  1, &beta, dc, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F_FAST_16F,
                                  CUBLAS_GEMM_DEFAULT), OK);
    down(&out, dc, 4);
    ck_assert(isinf(out));
    cublasDestroy_v2(h);
}
END_TEST

/* ---- layouts ------------------------------------------------------------------ */

static unsigned lcg = 12345;

static float small_int(void)
{
    lcg = lcg * 1103515245u + 12345u;
    return (float)((int)((lcg >> 16) % 9u) - 4);
}

/* op(A) (m x k) * op(B) (k x n) with padded leading dimensions, against a
 * double reference. Small integers keep every path exact, FP16 included. */
static void check_layout(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                         int half, int use_sgemm)
{
    enum { M = 5, Nn = 4, K = 3, PAD = 2 };
    int rows_a = ta == N ? M : K, cols_a = ta == N ? K : M;
    int rows_b = tb == N ? K : Nn, cols_b = tb == N ? Nn : K;
    int lda = rows_a + PAD, ldb = rows_b + PAD + 1, ldc = M + PAD;
    float a[(K + PAD) * (M + PAD) * 2], b[(K + PAD + 1) * (Nn + PAD) * 2], c[(M + PAD) * Nn];
    double want[(M + PAD) * Nn];
    for (int i = 0; i < lda * cols_a; i++)
        a[i] = small_int();
    for (int i = 0; i < ldb * cols_b; i++)
        b[i] = small_int();
    for (int i = 0; i < ldc * Nn; i++)
        c[i] = small_int();
    float alpha = 2, beta = -1;
    for (int j = 0; j < Nn; j++) {
        for (int i = 0; i < ldc; i++) {
            double acc = 0;
            for (int p = 0; p < K; p++)
                acc += (double)a[ta == N ? i + p * lda : p + i * lda] *
                       b[tb == N ? p + j * ldb : j + p * ldb];
            want[i + j * ldc] = i < M ? alpha * acc + beta * c[i + j * ldc] : c[i + j * ldc];
        }
    }
    size_t es = half ? 2 : 4, na = (size_t)lda * cols_a, nb = (size_t)ldb * cols_b,
           nc = (size_t)ldc * Nn;
    uint16_t ah[sizeof a / 4], bh[sizeof b / 4], ch[sizeof c / 4];
    for (size_t i = 0; i < na; i++)
        ah[i] = H(a[i]);
    for (size_t i = 0; i < nb; i++)
        bh[i] = H(b[i]);
    for (size_t i = 0; i < nc; i++)
        ch[i] = H(c[i]);
    void *da = up(half ? (void *)ah : a, na * es), *db = up(half ? (void *)bh : b, nb * es);
    void *dc = up(half ? (void *)ch : c, nc * es);
    sh_half ha = { H(alpha) }, hb = { H(beta) };
    cublasStatus_t st;
    if (use_sgemm)
        st = cublasSgemm_v2(h, ta, tb, M, Nn, K, &alpha, da, lda, db, ldb, &beta, dc, ldc);
    else if (half)
        st = cublasGemmEx(h, ta, tb, M, Nn, K, &ha, da, CUDA_R_16F, lda, db, CUDA_R_16F, ldb,
                          &hb, dc, CUDA_R_16F, ldc, CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT);
    else
        st = cublasGemmEx_64(h, ta, tb, M, Nn, K, &alpha, da, CUDA_R_32F, lda, db, CUDA_R_32F,
                             ldb, &beta, dc, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                             CUBLAS_GEMM_DEFAULT);
    ck_assert_int_eq(st, OK);
    down(half ? (void *)ch : c, dc, nc * es);
    for (size_t i = 0; i < nc; i++)
        ck_assert_double_eq(half ? F(ch[i]) : c[i], want[i]);
    cudaFree(da), cudaFree(db), cudaFree(dc);
}

START_TEST(test_transposes_and_leading_dimensions)
{
    cublasHandle_t h = handle();
    const cublasOperation_t ops[] = { CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_OP_C };
    for (int x = 0; x < 3; x++) {
        for (int y = 0; y < 3; y++) {
            check_layout(h, ops[x], ops[y], 0, 0);
            check_layout(h, ops[x], ops[y], 1, 0);
            check_layout(h, ops[x], ops[y], 0, 1);
        }
    }
    cublasDestroy_v2(h);
}
END_TEST

/* A random non-integer case through the FP32 path, against double. */
START_TEST(test_random_float_against_double)
{
    enum { M = 7, Nn = 6, K = 9, LDA = K + 1, LDB = Nn + 3, LDC = M + 2 };
    float a[LDA * M], b[LDB * K], c[LDC * Nn];
    srand(7);
    for (size_t i = 0; i < sizeof a / 4; i++)
        a[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
    for (size_t i = 0; i < sizeof b / 4; i++)
        b[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
    for (size_t i = 0; i < sizeof c / 4; i++)
        c[i] = (float)((double)rand() / RAND_MAX);
    float alpha = 0.75f, beta = 0.25f, out[LDC * Nn];
    cublasHandle_t h = handle();
    void *da = up(a, sizeof a), *db = up(b, sizeof b), *dc = up(c, sizeof c);
    ck_assert_int_eq(cublasSgemm_v2(h, T, T, M, Nn, K, &alpha, da, LDA, db, LDB, &beta, dc, LDC), OK);
    down(out, dc, sizeof out);
    for (int j = 0; j < Nn; j++) {
        for (int i = 0; i < M; i++) {
            double acc = 0;
            for (int p = 0; p < K; p++)
                acc += (double)a[p + i * LDA] * b[j + p * LDB];
            ck_assert_double_eq_tol(out[i + j * LDC], alpha * acc + beta * c[i + j * LDC], 1e-5);
        }
    }
    cublasDestroy_v2(h);
}
END_TEST

/* beta == 0: C is not read, so NaN there does not reach the result. */
START_TEST(test_beta_zero_ignores_c)
{
    cublasHandle_t h = handle();
    uint16_t a[2] = { H(2), H(3) }, c[1] = { 0x7e00 };
    void *da = up(a, 4), *dc = up(c, 2);
    sh_half alpha = { H(1) }, beta = { H(0) };
    ck_assert_int_eq(cublasHgemm(h, T, N, 1, 1, 2, &alpha, da, 2, da, 2, &beta, dc, 1), OK);
    down(c, dc, 2);
    ck_assert_float_eq(F(c[0]), 13.0f);
    float nanv = NAN, af = 1, bf = 0;
    void *dn = up(&nanv, 4), *d1 = up(&af, 4);
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 1, 1, 1, &af, d1, 1, d1, 1, &bf, dn, 1), OK);
    down(&nanv, dn, 4);
    ck_assert_float_eq(nanv, 1.0f);
    cublasDestroy_v2(h);
}
END_TEST

/* ---- batches ------------------------------------------------------------------ */

enum { BM = 2, BN = 3, BK = 4, BATCH = 3, SA = BM * BK + 5, SB = BK * BN + 1, SC = BM * BN + 2 };

static void batch_data(uint16_t *a, uint16_t *b, double *want)
{
    for (int i = 0; i < SA * BATCH; i++)
        a[i] = H(small_int());
    for (int i = 0; i < SB * BATCH; i++)
        b[i] = H(small_int());
    for (int s = 0; s < BATCH; s++)
        for (int j = 0; j < BN; j++)
            for (int i = 0; i < BM; i++) {
                double acc = 0;
                for (int p = 0; p < BK; p++)
                    acc += (double)F(a[s * SA + i + p * BM]) * F(b[s * SB + p + j * BK]);
                want[s * SC + i + j * BM] = acc;
            }
}

START_TEST(test_strided_batched)
{
    static uint16_t a[SA * BATCH], b[SB * BATCH], c[SC * BATCH];
    static double want[SC * BATCH];
    batch_data(a, b, want);
    cublasHandle_t h = handle();
    void *da = up(a, sizeof a), *db = up(b, sizeof b), *dc = NULL;
    ck_assert_int_eq(cudaMalloc(&dc, sizeof c), cudaSuccess);
    sh_half ha = { H(1) }, hb = { H(0) };
    float fa = 1, fb = 0;
    for (int form = 0; form < 3; form++) {
        ck_assert_int_eq(cudaMemset(dc, 0, sizeof c), cudaSuccess);
        cublasStatus_t st;
        if (form == 0)
            st = cublasHgemmStridedBatched(h, N, N, BM, BN, BK, &ha, da, BM, SA, db, BK, SB, &hb,
                                           dc, BM, SC, BATCH);
        else if (form == 1)
            st = cublasHgemmStridedBatched_64(h, N, N, BM, BN, BK, &ha, da, BM, SA, db, BK, SB,
                                              &hb, dc, BM, SC, BATCH);
        else
            st = cublasGemmStridedBatchedEx_64(h, N, N, BM, BN, BK, &fa, da, CUDA_R_16F, BM, SA,
                                               db, CUDA_R_16F, BK, SB, &fb, dc, CUDA_R_16F, BM,
                                               SC, BATCH, CUBLAS_COMPUTE_32F,
                                               CUBLAS_GEMM_DEFAULT);
        ck_assert_int_eq(st, OK);
        down(c, dc, sizeof c);
        for (int s = 0; s < BATCH; s++)
            for (int i = 0; i < BM * BN; i++)
                ck_assert_double_eq(F(c[s * SC + i]), want[s * SC + i]);
    }
    ck_assert_int_eq(cublasGemmStridedBatchedEx(h, N, N, BM, BN, BK, &fa, da, CUDA_R_16F, BM, SA,
                                                db, CUDA_R_16F, BK, SB, &fb, dc, CUDA_R_16F, BM,
                                                SC, BATCH, CUBLAS_COMPUTE_32F,
                                                CUBLAS_GEMM_DEFAULT), OK);
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_pointer_array_batched)
{
    static uint16_t a[SA * BATCH], b[SB * BATCH], c[SC * BATCH];
    static double want[SC * BATCH];
    batch_data(a, b, want);
    cublasHandle_t h = handle();
    void *pa[BATCH], *pb[BATCH], *pc[BATCH];
    for (int s = 0; s < BATCH; s++) {
        pa[s] = up(a + s * SA, SA * 2);
        pb[s] = up(b + s * SB, SB * 2);
        ck_assert_int_eq(cudaMalloc(&pc[s], SC * 2), cudaSuccess);
    }
    /* The pointer arrays live in device memory, as cuBLAS requires. */
    void *dpa = up(pa, sizeof pa), *dpb = up(pb, sizeof pb), *dpc = up(pc, sizeof pc);
    sh_half ha = { H(1) }, hb = { H(0) };
    float fa = 1, fb = 0;
    for (int form = 0; form < 4; form++) {
        for (int s = 0; s < BATCH; s++)
            ck_assert_int_eq(cudaMemset(pc[s], 0, SC * 2), cudaSuccess);
        cublasStatus_t st;
        if (form == 0)
            st = cublasHgemmBatched(h, N, N, BM, BN, BK, &ha, dpa, BM, dpb, BK, &hb, dpc, BM, BATCH);
        else if (form == 1)
            st = cublasHgemmBatched_64(h, N, N, BM, BN, BK, &ha, dpa, BM, dpb, BK, &hb, dpc, BM,
                                       BATCH);
        else if (form == 2)
            st = cublasGemmBatchedEx(h, N, N, BM, BN, BK, &fa, dpa, CUDA_R_16F, BM, dpb,
                                     CUDA_R_16F, BK, &fb, dpc, CUDA_R_16F, BM, BATCH,
                                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        else
            st = cublasGemmBatchedEx_64(h, N, N, BM, BN, BK, &fa, dpa, CUDA_R_16F, BM, dpb,
                                        CUDA_R_16F, BK, &fb, dpc, CUDA_R_16F, BM, BATCH,
                                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        ck_assert_int_eq(st, OK);
        for (int s = 0; s < BATCH; s++) {
            down(c, pc[s], SC * 2);
            for (int i = 0; i < BM * BN; i++)
                ck_assert_double_eq(F(c[i]), want[s * SC + i]);
        }
    }
    /* A host array of device pointers is not device memory. */
    ck_assert_int_eq(cublasGemmBatchedEx(h, N, N, BM, BN, BK, &fa, (const void *const *)pa,
                                         CUDA_R_16F, BM, (const void *const *)pb, CUDA_R_16F, BK,
                                         &fb, pc, CUDA_R_16F, BM, BATCH, CUBLAS_COMPUTE_32F,
                                         CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_EXECUTION_FAILED);
    cublasDestroy_v2(h);
}
END_TEST

/* Two groups of different shapes, transposes and alpha/beta: group 0 one
 * 2x1 problem (k = 3), group 1 two 1x2 problems with A transposed (k = 2),
 * alpha 2 and beta 1; the 32- and 64-bit forms agree. */
START_TEST(test_grouped_batched)
{
    cublasHandle_t h = handle();
    uint16_t a0[6], b0[3] = { H(1), H(2), H(3) };
    for (int i = 0; i < 6; i++)
        a0[i] = H(1);
    uint16_t a1[2] = { H(1), H(2) }, b1[4] = { H(3), H(4), H(5), H(6) };
    uint16_t a2[2] = { H(0.5f), H(0.5f) }, b2[4] = { H(2), H(2), H(4), H(4) };
    uint16_t c0[2] = { 0 }, c1[2] = { H(10), H(20) }, c2[2] = { H(1), H(1) };
    for (int use64 = 0; use64 < 2; use64++) {
        const void *pa[3] = { up(a0, 12), up(a1, 4), up(a2, 4) };
        const void *pb[3] = { up(b0, 6), up(b1, 8), up(b2, 8) };
        void *pc[3] = { up(c0, 4), up(c1, 4), up(c2, 4) };
        void *dpa = up(pa, sizeof pa), *dpb = up(pb, sizeof pb), *dpc = up(pc, sizeof pc);
        cublasOperation_t ta[2] = { N, T }, tb[2] = { N, N };
        int m[2] = { 2, 1 }, n[2] = { 1, 2 }, k[2] = { 3, 2 }, lda[2] = { 2, 2 },
            ldb[2] = { 3, 2 }, ldc[2] = { 2, 1 }, size[2] = { 1, 2 };
        int64_t m64[2] = { 2, 1 }, n64[2] = { 1, 2 }, k64[2] = { 3, 2 }, lda64[2] = { 2, 2 },
                ldb64[2] = { 3, 2 }, ldc64[2] = { 2, 1 }, size64[2] = { 1, 2 };
        float alpha[2] = { 1, 2 }, beta[2] = { 0, 1 };
        cublasStatus_t st =
            use64 ? cublasGemmGroupedBatchedEx_64(h, ta, tb, m64, n64, k64, alpha, dpa,
                                                  CUDA_R_16F, lda64, dpb, CUDA_R_16F, ldb64,
                                                  beta, dpc, CUDA_R_16F, ldc64, 2, size64,
                                                  CUBLAS_COMPUTE_32F)
                  : cublasGemmGroupedBatchedEx(h, ta, tb, m, n, k, alpha, dpa, CUDA_R_16F, lda,
                                               dpb, CUDA_R_16F, ldb, beta, dpc, CUDA_R_16F, ldc,
                                               2, size, CUBLAS_COMPUTE_32F);
        ck_assert_int_eq(st, OK);
        uint16_t out[2];
        down(out, pc[0], 4);
        ck_assert_float_eq(F(out[0]), 6);
        ck_assert_float_eq(F(out[1]), 6);
        down(out, pc[1], 4);
        ck_assert_float_eq(F(out[0]), 2 * 11 + 10);
        ck_assert_float_eq(F(out[1]), 2 * 17 + 20);
        down(out, pc[2], 4);
        ck_assert_float_eq(F(out[0]), 2 * 2 + 1);
        ck_assert_float_eq(F(out[1]), 2 * 4 + 1);

        if (use64)
            continue;
        /* Errors, each before anything runs. */
#define GROUPED(M, SIZE, AT, CT, COMPUTE)                                                       \
    cublasGemmGroupedBatchedEx(h, ta, tb, M, n, k, alpha, dpa, AT, lda, dpb, AT, ldb, beta, dpc, \
                               CT, ldc, 2, SIZE, COMPUTE)
        ck_assert_int_eq(GROUPED(NULL, size, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F),
                         CUBLAS_STATUS_INVALID_VALUE);
        int bad_size[2] = { 1, -1 }, bad_m[2] = { 3, 1 }; /* ldc[0] = 2 < m */
        ck_assert_int_eq(GROUPED(m, bad_size, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F),
                         CUBLAS_STATUS_INVALID_VALUE);
        ck_assert_int_eq(GROUPED(bad_m, size, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F),
                         CUBLAS_STATUS_INVALID_VALUE);
        ck_assert_int_eq(GROUPED(m, size, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_16F),
                         CUBLAS_STATUS_NOT_SUPPORTED);
        ck_assert_int_eq(GROUPED(m, size, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F),
                         CUBLAS_STATUS_NOT_SUPPORTED);
        ck_assert_int_eq(GROUPED(m, size, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F_FAST_16F),
                         CUBLAS_STATUS_NOT_SUPPORTED);
        ck_assert_int_eq(cublasSetPointerMode_v2(h, CUBLAS_POINTER_MODE_DEVICE), OK);
        ck_assert_int_eq(GROUPED(m, size, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F),
                         CUBLAS_STATUS_NOT_SUPPORTED);
        ck_assert_int_eq(cublasSetPointerMode_v2(h, CUBLAS_POINTER_MODE_HOST), OK);
#undef GROUPED
        /* the failed calls wrote nothing */
        down(out, pc[0], 4);
        ck_assert_float_eq(F(out[0]), 6);
        ck_assert_int_eq(cublasGemmGroupedBatchedEx(h, ta, tb, m, n, k, alpha, dpa, CUDA_R_16F,
                                                    lda, dpb, CUDA_R_16F, ldb, beta, dpc,
                                                    CUDA_R_16F, ldc, 0, size,
                                                    CUBLAS_COMPUTE_32F), OK);
    }
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_device_pointer_mode)
{
    cublasHandle_t h = handle();
    float a = 2, b = 5, c = 7, scalars[2] = { 3, 0.5f }, out;
    void *da = up(&a, 4), *db = up(&b, 4), *dc = up(&c, 4), *ds = up(scalars, sizeof scalars);
    ck_assert_int_eq(cublasSetPointerMode_v2(h, CUBLAS_POINTER_MODE_DEVICE), OK);
    cublasPointerMode_t mode;
    ck_assert_int_eq(cublasGetPointerMode_v2(h, &mode), OK);
    ck_assert_int_eq(mode, CUBLAS_POINTER_MODE_DEVICE);
    ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, 1, ds, da, CUDA_R_32F, 1, db, CUDA_R_32F, 1,
                                  (float *)ds + 1, dc, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT), OK);
    down(&out, dc, 4);
    ck_assert_float_eq(out, 3 * 2 * 5 + 0.5f * 7);
    /* Half scalars for COMPUTE_16F, in device memory too. */
    uint16_t ha[2] = { H(2), H(5) }, hs[2] = { H(0.5f), H(-1) }, hc = H(4);
    void *dha = up(ha, 4), *dhs = up(hs, 4), *dhc = up(&hc, 2);
    ck_assert_int_eq(cublasHgemm(h, T, N, 1, 1, 1, dhs, dha, 1, (const sh_half *)dha + 1, 1,
                                 (const sh_half *)dhs + 1, dhc, 1), OK);
    down(&hc, dhc, 2);
    ck_assert_float_eq(F(hc), 0.5f * 10 - 4);
    /* Host scalars in device mode are not device memory. */
    ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, 1, scalars, da, CUDA_R_32F, 1, db, CUDA_R_32F,
                                  1, scalars + 1, dc, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_EXECUTION_FAILED);
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_gemmex_64_ones)
{
    fill_ones();
    cublasHandle_t h = handle();
    void *a = up(ones, sizeof ones), *c = NULL;
    ck_assert_int_eq(cudaMalloc(&c, 2), cudaSuccess);
    sh_half alpha = { H(1) }, beta = { H(0) };
    uint16_t out;
    ck_assert_int_eq(cublasGemmEx_64(h, T, N, 1, 1, 4096, &alpha, a, CUDA_R_16F, 4096, a,
                                     CUDA_R_16F, 4096, &beta, c, CUDA_R_16F, 1,
                                     CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT), OK);
    down(&out, c, 2);
    ck_assert_float_eq(F(out), 2048.0f);
    cublasDestroy_v2(h);
}
END_TEST

/* cublasSgemmEx: a length-k dot product of two vectors of type t (k
 * ones, or the split-K data for FP16) into a 1 x 1 C of type ct, float
 * alpha 1 and beta 0; the status, and the result in *out. */
static cublasStatus_t sgemm_ex_dot(cublasHandle_t h, int is64, cudaDataType t, cudaDataType ct,
                                   const void *a, const void *b, int k, float *out)
{
    size_t es = t == CUDA_R_32F ? 4 : 2;
    void *da = up(a, (size_t)k * es), *db = up(b, (size_t)k * es), *dc = NULL;
    ck_assert_int_eq(cudaMalloc(&dc, 4), cudaSuccess);
    ck_assert_int_eq(cudaMemset(dc, 0, 4), cudaSuccess);
    float alpha = 1, beta = 0;
    cublasStatus_t st =
        is64 ? cublasSgemmEx_64(h, N, N, 1, 1, k, &alpha, da, t, 1, db, t, k, &beta, dc, ct, 1)
             : cublasSgemmEx(h, N, N, 1, 1, k, &alpha, da, t, 1, db, t, k, &beta, dc, ct, 1);
    if (ct == CUDA_R_32F) {
        down(out, dc, 4);
    } else {
        uint16_t o;
        down(&o, dc, 2);
        *out = ct == CUDA_R_16F ? F(o) : sh_bits_to_float((uint32_t)o << 16);
    }
    cudaFree(da), cudaFree(db), cudaFree(dc);
    return st;
}

/* cublasSgemmEx computes in FP32 (4096 ones are 4096) for the types cuBLAS
 * documents (16F -> 16F, 16BF -> 16BF, 16F/16BF/32F -> 32F) and refuses
 * the others; a 16-bit C gets split-K like a GemmEx's unless the math mode
 * forbids it, FP32 data is down-converted in TF32 math mode, and it does
 * not go through the exported cublasGemmEx (nor does NVIDIA's). */
START_TEST(test_sgemm_ex)
{
    fill_ones();
    static float fones[4096];
    for (int i = 0; i < 4096; i++)
        fones[i] = 1;
    static uint16_t bones[4096];
    for (int i = 0; i < 4096; i++)
        bones[i] = 0x3f80; /* 1.0 in BF16 */
    cublasHandle_t h = handle();
    float out;
    gemmex_calls = 0;
    for (int is64 = 0; is64 < 2; is64++) {
        static const struct { cudaDataType t, ct; } ok[] = {
            { CUDA_R_16F, CUDA_R_16F }, { CUDA_R_16BF, CUDA_R_16BF }, { CUDA_R_16F, CUDA_R_32F },
            { CUDA_R_16BF, CUDA_R_32F }, { CUDA_R_32F, CUDA_R_32F },
        };
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
            const void *v = ok[i].t == CUDA_R_16F ? (const void *)ones
                          : ok[i].t == CUDA_R_16BF ? (const void *)bones : (const void *)fones;
            ck_assert_int_eq(sgemm_ex_dot(h, is64, ok[i].t, ok[i].ct, v, v, 4096, &out), OK);
            ck_assert_float_eq(out, 4096.0f);
        }
        /* A/B other than C's 16-bit type, mixed A and B, integer data (8I
         * -> 32F is cuBLAS's, not the emulator's) */
        static const struct { cudaDataType at, bt, ct; } refused[] = {
            { CUDA_R_16F, CUDA_R_16F, CUDA_R_16BF }, { CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16F },
            { CUDA_R_32F, CUDA_R_32F, CUDA_R_16F }, { CUDA_R_16F, CUDA_R_16BF, CUDA_R_32F },
            { CUDA_R_8I, CUDA_R_8I, CUDA_R_32F }, { CUDA_R_64F, CUDA_R_64F, CUDA_R_64F },
        };
        float f1 = 1;
        void *d = up(fones, 64);
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            cublasStatus_t st =
                is64 ? cublasSgemmEx_64(h, N, N, 1, 1, 1, &f1, d, refused[i].at, 1, d,
                                        refused[i].bt, 1, &f1, d, refused[i].ct, 1)
                     : cublasSgemmEx(h, N, N, 1, 1, 1, &f1, d, refused[i].at, 1, d,
                                     refused[i].bt, 1, &f1, d, refused[i].ct, 1);
            ck_assert_int_eq(st, CUBLAS_STATUS_NOT_SUPPORTED);
        }
        ck_assert_int_eq(cublasSgemmEx(NULL, N, N, 1, 1, 1, &f1, d, CUDA_R_16F, 1, d, CUDA_R_16F,
                                       1, &f1, d, CUDA_R_16F, 1), CUBLAS_STATUS_NOT_INITIALIZED);
        ck_assert_int_eq(cublasSgemmEx(h, N, N, -1, 1, 1, &f1, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1,
                                       &f1, d, CUDA_R_16F, 1), CUBLAS_STATUS_INVALID_VALUE);
        cudaFree(d);
    }
    ck_assert_int_eq(gemmex_calls, 0);

    static uint16_t a[4096], b[4096];
    split_data(a, b);
    ck_assert_int_eq(sgemm_ex_dot(h, 0, CUDA_R_16F, CUDA_R_16F, a, b, 4096, &out), OK);
    ck_assert_float_eq(out, 3.0f);
    ck_assert_int_eq(sgemm_ex_dot(h, 0, CUDA_R_16F, CUDA_R_32F, a, b, 4096, &out), OK);
    ck_assert_float_eq(out, 4.0f);
    ck_assert_int_eq(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH), OK);
    ck_assert_int_eq(sgemm_ex_dot(h, 1, CUDA_R_16F, CUDA_R_16F, a, b, 4096, &out), OK);
    ck_assert_float_eq(out, 4.0f);
    ck_assert_int_eq(cublasSetMathMode(h, CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION), OK);
    ck_assert_int_eq(sgemm_ex_dot(h, 0, CUDA_R_16F, CUDA_R_16F, a, b, 4096, &out), OK);
    ck_assert_float_eq(out, 4.0f);

    float x = 1.0f + 0x1p-9f + 0x1p-12f, one = 1.0f;
    ck_assert_int_eq(sgemm_ex_dot(h, 0, CUDA_R_32F, CUDA_R_32F, &x, &one, 1, &out), OK);
    ck_assert_float_eq(out, x);
    ck_assert_int_eq(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH), OK);
    ck_assert_int_eq(sgemm_ex_dot(h, 0, CUDA_R_32F, CUDA_R_32F, &x, &one, 1, &out), OK);
    ck_assert_float_eq(out, 1.0f + 0x1p-9f);

    /* float scalars in device memory */
    float scalars[2] = { 3, 0.5f }, c = 7;
    void *ds = up(scalars, sizeof scalars), *d1 = up(&one, 4), *dc = up(&c, 4);
    ck_assert_int_eq(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), OK);
    ck_assert_int_eq(cublasSetPointerMode_v2(h, CUBLAS_POINTER_MODE_DEVICE), OK);
    ck_assert_int_eq(cublasSgemmEx(h, N, N, 1, 1, 1, ds, d1, CUDA_R_32F, 1, d1, CUDA_R_32F, 1,
                                   (const float *)ds + 1, dc, CUDA_R_32F, 1), OK);
    down(&out, dc, 4);
    ck_assert_float_eq(out, 3 * 1 * 1 + 0.5f * 7);
    cudaFree(ds), cudaFree(d1), cudaFree(dc);
    cublasDestroy_v2(h);
}
END_TEST

/* ---- argument checking ---------------------------------------------------------- */

START_TEST(test_status_codes)
{
    cublasHandle_t h = handle();
    float f1 = 1, a[16] = { 0 };
    sh_half h1 = { H(1) };
    void *d = up(a, sizeof a);
    ck_assert_int_eq(cublasGemmEx(NULL, N, N, 1, 1, 1, &f1, d, CUDA_R_32F, 1, d, CUDA_R_32F, 1,
                                  &f1, d, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_NOT_INITIALIZED);
    ck_assert_int_eq(cublasHgemm(NULL, N, N, 1, 1, 1, &h1, d, 1, d, 1, &h1, d, 1),
                     CUBLAS_STATUS_NOT_INITIALIZED);
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, -1, 1, 1, &f1, d, 1, d, 1, &f1, d, 1),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 4, 1, 1, &f1, d, 3, d, 1, &f1, d, 4),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSgemm_v2(h, T, N, 4, 1, 2, &f1, d, 1, d, 2, &f1, d, 4),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 2, 2, 2, &f1, d, 2, d, 2, &f1, d, 1),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSgemm_v2(h, (cublasOperation_t)7, N, 1, 1, 1, &f1, d, 1, d, 1, &f1,
                                    d, 1), CUBLAS_STATUS_INVALID_VALUE);
    /* COMPUTE_16F needs FP16 everywhere; FP32 inputs cannot give FP16 out. */
    ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, 1, &h1, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &h1,
                                  d, CUDA_R_32F, 1, CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, 1, &f1, d, CUDA_R_32F, 1, d, CUDA_R_32F, 1, &f1,
                                  d, CUDA_R_16F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, 1, &f1, d, CUDA_R_16F, 1, d, CUDA_R_16BF, 1,
                                  &f1, d, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasGemmEx(h, N, N, 1, 1, 1, &f1, d, CUDA_R_32F, 1, d, CUDA_R_32F, 1, &f1,
                                  d, CUDA_R_32F, 1, CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    /* Empty problems succeed without touching memory. */
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 0, 1, 1, &f1, NULL, 1, NULL, 1, &f1, NULL, 1), OK);
    /* Host memory is not device memory. */
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 1, 1, 1, &f1, a, 1, d, 1, &f1, d, 1),
                     CUBLAS_STATUS_EXECUTION_FAILED);
    /* Past the end of an allocation. */
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 4, 5, 1, &f1, d, 4, d, 1, &f1, d, 4),
                     CUBLAS_STATUS_EXECUTION_FAILED);
    int v;
    ck_assert_int_eq(cublasGetVersion_v2(NULL, &v), OK);
    ck_assert_int_eq(v, 130100);
    ck_assert_int_eq(cublasGetProperty(MAJOR_VERSION, &v), OK);
    ck_assert_int_eq(v, 13);
    ck_assert_str_eq(cublasGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED), "CUBLAS_STATUS_NOT_SUPPORTED");
    ck_assert_int_eq(cublasSetMathMode(h, (cublasMath_t)0x40), CUBLAS_STATUS_INVALID_VALUE);
    cublasDestroy_v2(h);
}
END_TEST

/* ---- memory ---------------------------------------------------------------- */

START_TEST(test_device_pointer_is_not_host_memory)
{
    void *d = NULL;
    ck_assert_int_eq(cudaMalloc(&d, 64), cudaSuccess);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        volatile unsigned char x = *(volatile unsigned char *)d;
        (void)x;
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(WTERMSIG(status), SIGSEGV);
}
END_TEST

START_TEST(test_memory_translation)
{
    char host[64] = "hello", back[64] = { 0 };
    void *d = NULL, *p = NULL, *dp = NULL;
    ck_assert_int_eq(cudaMalloc(&d, 64), cudaSuccess);
    ck_assert_ptr_nonnull(emu_to_host(d));
    ck_assert_ptr_nonnull(emu_to_host((char *)d + 63));
    ck_assert_ptr_null(emu_to_host((char *)d + 64));
    ck_assert_ptr_null(emu_to_host(host));
    ck_assert_ptr_null(emu_to_host_range(d, 65));
    ck_assert_int_eq(cudaMemcpy(d, host, 64, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(back, d, 64, cudaMemcpyDefault), cudaSuccess);
    ck_assert_str_eq(back, "hello");
    /* The kind is honoured: a host pointer on the device side is refused. */
    ck_assert_int_eq(cudaMemcpy(back, host, 8, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(back, d, 8, (enum cudaMemcpyKind)9), cudaErrorInvalidMemcpyDirection);
    /* Pinned memory: its device pointer is itself. */
    ck_assert_int_eq(cudaHostAlloc(&p, 32, cudaHostAllocMapped), cudaSuccess);
    ck_assert_int_eq(cudaHostGetDevicePointer(&dp, p, 0), cudaSuccess);
    ck_assert_ptr_eq(dp, p);
    ck_assert_ptr_eq(emu_to_host((char *)p + 4), (char *)p + 4);
    ck_assert_int_eq(cudaMemcpy(p, d, 32, cudaMemcpyDeviceToDevice), cudaSuccess);
    ck_assert_str_eq(p, "hello");
    ck_assert_int_eq(cudaHostGetDevicePointer(&dp, host, 0), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaFree(p), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaFreeHost(p), cudaSuccess);
    ck_assert_int_eq(cudaFree((char *)d + 1), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaFree(d), cudaSuccess);
    ck_assert_ptr_null(emu_to_host(d));
    ck_assert_int_eq(cudaFree(NULL), cudaSuccess);
}
END_TEST

/* ---- driver -------------------------------------------------------------------- */

START_TEST(test_driver_needs_init_and_context)
{
    CUdeviceptr p;
    ck_assert_int_eq(cuMemAlloc(&p, 16), CUDA_ERROR_NOT_INITIALIZED);
    ck_assert_int_eq(cuInit(0), CUDA_SUCCESS);
    ck_assert_int_eq(cuMemAlloc(&p, 16), CUDA_ERROR_INVALID_CONTEXT);
    CUcontext ctx = NULL, cur = NULL;
    ck_assert_int_eq(cuDevicePrimaryCtxRetain(&ctx, 0), CUDA_SUCCESS);
    ck_assert_int_eq(cuCtxPushCurrent(ctx), CUDA_SUCCESS);
    ck_assert_int_eq(cuMemAlloc(&p, 16), CUDA_SUCCESS);
    ck_assert_int_eq(cuMemFree(p), CUDA_SUCCESS);
    ck_assert_int_eq(cuCtxPopCurrent(&cur), CUDA_SUCCESS);
    ck_assert_ptr_eq(cur, ctx);
    ck_assert_int_eq(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
    ck_assert_ptr_null(cur);
    int v;
    CUdevice dev;
    ck_assert_int_eq(cuDeviceGet(&dev, 0), CUDA_SUCCESS);
    ck_assert_int_eq(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev),
                     CUDA_SUCCESS);
    ck_assert_int_eq(v, 9);
    ck_assert_int_eq(cuDriverGetVersion(&v), CUDA_SUCCESS);
    ck_assert_int_eq(v, 13000);
    const char *s;
    ck_assert_int_eq(cuGetErrorName(CUDA_ERROR_NOT_FOUND, &s), CUDA_SUCCESS);
    ck_assert_str_eq(s, "CUDA_ERROR_NOT_FOUND");
}
END_TEST

static void *thread_context(void *arg)
{
    CUcontext *out = arg;
    cuCtxGetCurrent(&out[0]);
    int dev;
    cudaGetDevice(&dev);
    cuCtxGetCurrent(&out[1]);
    return NULL;
}

/* The runtime makes the primary context current in each thread it runs in. */
START_TEST(test_runtime_context_per_thread)
{
    CUcontext main_ctx = NULL, seen[2] = { (CUcontext)1, NULL };
    ck_assert_int_eq(cudaFree(NULL), cudaSuccess);
    ck_assert_int_eq(cuCtxGetCurrent(&main_ctx), CUDA_SUCCESS);
    ck_assert_ptr_nonnull(main_ctx);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, thread_context, seen), 0);
    pthread_join(t, NULL);
    ck_assert_ptr_null(seen[0]);
    ck_assert_ptr_eq(seen[1], main_ctx);
}
END_TEST

START_TEST(test_get_proc_address)
{
    void *fn = NULL;
    CUdriverProcAddressQueryResult q;
    ck_assert_int_eq(cuGetProcAddress_v2("cuMemAlloc", &fn, 13000, 0, &q), CUDA_SUCCESS);
    ck_assert_int_eq(q, CU_GET_PROC_ADDRESS_SUCCESS);
    ck_assert_ptr_eq(fn, (void *)cuMemAlloc_v2);
    ck_assert_int_eq(cuGetProcAddress_v2("cuStreamGetCaptureInfo", &fn, 13000, 0, &q),
                     CUDA_SUCCESS);
    ck_assert_ptr_eq(fn, (void *)cuStreamGetCaptureInfo_v3);
    /* A function whose parameters changed: the version asked for decides. */
    ck_assert_int_eq(cuGetProcAddress_v2("cuCtxGetDevice", &fn, 13000, 0, &q), CUDA_SUCCESS);
    ck_assert_ptr_eq(fn, (void *)cuCtxGetDevice_v2);
    ck_assert_int_eq(cuGetProcAddress_v2("cuCtxGetDevice", &fn, 12090, 0, &q), CUDA_SUCCESS);
    ck_assert_ptr_eq(fn, (void *)cuCtxGetDevice);
    ck_assert_int_eq(cuGetProcAddress_v2("cuStreamGetCtx", &fn, 12050, 0, &q), CUDA_SUCCESS);
    ck_assert_ptr_eq(fn, (void *)cuStreamGetCtx_v2);
    ck_assert_int_eq(cuGetProcAddress_v2("cuStreamGetCtx", &fn, 9020, 0, &q), CUDA_SUCCESS);
    ck_assert_ptr_eq(fn, (void *)cuStreamGetCtx);
    ck_assert_int_eq(cuGetProcAddress_v2("cuNoSuchThing", &fn, 13000, 0, &q), CUDA_ERROR_NOT_FOUND);
    ck_assert_int_eq(q, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
    ck_assert_ptr_null(fn);
}
END_TEST

/* ---- kernels ------------------------------------------------------------------- */

static void fake_image(unsigned char *img, size_t size, const char *name)
{
    memset(img, 0, size);
    uint32_t magic = 0xBA55ED50u;
    uint16_t version = 1, header = 16;
    uint64_t body = size - 16;
    memcpy(img, &magic, 4);
    memcpy(img + 4, &version, 2);
    memcpy(img + 6, &header, 2);
    memcpy(img + 8, &body, 8);
    if (name)
        memcpy(img + 40, name, strlen(name) + 1);
}

/* Runs safehalf_scalars_h2f(alpha, beta, out) and returns out. */
static CUresult launch_h2f(CUfunction f, CUstream stream, const void *alpha, const void *beta,
                           void *out)
{
    void *params[] = { &alpha, &beta, &out };
    return cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, stream, params, NULL);
}

START_TEST(test_kernel_launch)
{
    ck_assert_int_eq(cudaFree(NULL), cudaSuccess); /* initializes, like any program */
    static unsigned char img[256], other[256];
    fake_image(img, sizeof img, "safehalf_scalars_h2f");
    fake_image(other, sizeof other, "some_other_kernel");
    CUlibrary lib, lib2;
    CUkernel k;
    ck_assert_int_eq(cuLibraryLoadData(&lib, img, NULL, NULL, 0, NULL, NULL, 0), CUDA_SUCCESS);
    ck_assert_int_eq(cuLibraryLoadData(&lib2, other, NULL, NULL, 0, NULL, NULL, 0), CUDA_SUCCESS);
    ck_assert_int_eq(cuLibraryLoadData(&lib2, "not an image", NULL, NULL, 0, NULL, NULL, 0),
                     CUDA_ERROR_INVALID_IMAGE);
    ck_assert_int_eq(cuLibraryGetKernel(&k, lib2, "safehalf_scalars_h2f"), CUDA_ERROR_NOT_FOUND);
    ck_assert_int_eq(cuLibraryGetKernel(&k, lib2, "some_other_kernel"), CUDA_ERROR_NOT_FOUND);
    ck_assert_int_eq(cuLibraryGetKernel(&k, lib, "safehalf_scalars"), CUDA_ERROR_NOT_FOUND);
    ck_assert_int_eq(cuLibraryGetKernel(&k, lib, "safehalf_scalars_h2f"), CUDA_SUCCESS);

    uint16_t scal[2] = { H(1.5f), H(-2.0f) };
    float out[2] = { 0, 0 };
    void *ds = up(scal, 4), *dout = NULL;
    ck_assert_int_eq(cudaMalloc(&dout, 8), cudaSuccess);
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    /* A CUkernel is accepted where a CUfunction is expected. */
    ck_assert_int_eq(launch_h2f((CUfunction)k, s, ds, (uint16_t *)ds + 1, dout), CUDA_SUCCESS);
    down(out, dout, 8);
    ck_assert_float_eq(out[0], 1.5f);
    ck_assert_float_eq(out[1], -2.0f);
    /* A host pointer as kernel argument is an illegal address. */
    ck_assert_int_eq(launch_h2f((CUfunction)k, s, ds, ds, out), CUDA_ERROR_ILLEGAL_ADDRESS);

    CUfunction f;
    CUmodule mod;
    ck_assert_int_eq(cuKernelGetFunction(&f, k), CUDA_SUCCESS);
    ck_assert_int_eq(cuModuleLoadData(&mod, img), CUDA_SUCCESS);
    ck_assert_int_eq(cuModuleGetFunction(&f, mod, "safehalf_scalars_h2f"), CUDA_SUCCESS);
    ck_assert_int_eq(launch_h2f(f, CU_STREAM_PER_THREAD, (uint16_t *)ds + 1, ds, dout),
                     CUDA_SUCCESS);
    down(out, dout, 8);
    ck_assert_float_eq(out[0], -2.0f);
    ck_assert_float_eq(out[1], 1.5f);
    ck_assert_int_eq(cuModuleUnload(mod), CUDA_SUCCESS);
    ck_assert_int_eq(cuLibraryUnload(lib), CUDA_SUCCESS);
    ck_assert_int_eq(cuLibraryUnload(lib2), CUDA_SUCCESS);
}
END_TEST

/* The fatbin nvcc builds from kernels/ loads and yields its kernels. */
START_TEST(test_real_fatbin)
{
    ck_assert_int_eq(cudaFree(NULL), cudaSuccess);
    CUlibrary lib;
    CUkernel k;
    ck_assert_int_eq(cuLibraryLoadData(&lib, sh_kernels_fatbin, NULL, NULL, 0, NULL, NULL, 0),
                     CUDA_SUCCESS);
    ck_assert_int_eq(cuLibraryGetKernel(&k, lib, "safehalf_scalars_h2f"), CUDA_SUCCESS);
    ck_assert_int_eq(cuLibraryGetKernel(&k, lib, "no_such_kernel"), CUDA_ERROR_NOT_FOUND);
    ck_assert_int_eq(cuLibraryUnload(lib), CUDA_SUCCESS);
}
END_TEST

/* ---- synchronization ----------------------------------------------------------- */

START_TEST(test_sync_counting)
{
    cudaStream_t s;
    char host[16] = { 0 };
    void *d = NULL;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&d, 16), cudaSuccess);
    unsigned long total = emu_sync_count(), on_s = emu_stream_sync_count(s);
    ck_assert_int_eq(cudaMemcpyAsync(d, host, 16, cudaMemcpyHostToDevice, s), cudaSuccess);
    ck_assert_int_eq(cudaMemsetAsync(d, 0, 16, s), cudaSuccess);
    ck_assert_uint_eq(emu_sync_count(), total);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    ck_assert_uint_eq(emu_sync_count(), total + 1);
    ck_assert_uint_eq(emu_stream_sync_count(s), on_s + 1);
    ck_assert_int_eq(cudaMemcpy(host, d, 16, cudaMemcpyDeviceToHost), cudaSuccess);
    ck_assert_uint_eq(emu_sync_count(), total + 2);
    ck_assert_uint_eq(emu_stream_sync_count(s), on_s + 1);
    ck_assert_uint_eq(emu_stream_sync_count(NULL), emu_stream_sync_count(CU_STREAM_LEGACY));
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    ck_assert_int_eq(cuStreamSynchronize(CU_STREAM_PER_THREAD), CUDA_SUCCESS);
    ck_assert_uint_eq(emu_sync_count(), total + 4);
    ck_assert_uint_eq(emu_stream_sync_count(CU_STREAM_PER_THREAD), 1);
    /* A GEMM on the stream does not synchronize it. */
    cublasHandle_t h = handle();
    ck_assert_int_eq(cublasSetStream_v2(h, s), OK);
    float one = 1;
    void *d1 = up(&one, 4);
    total = emu_sync_count();
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 1, 1, 1, &one, d1, 1, d1, 1, &one, d1, 1), OK);
    ck_assert_uint_eq(emu_sync_count(), total);
    cudaEvent_t e;
    ck_assert_int_eq(cudaEventCreate(&e), cudaSuccess);
    ck_assert_int_eq(cudaEventRecord(e, s), cudaSuccess);
    ck_assert_int_eq(cudaEventSynchronize(e), cudaSuccess);
    ck_assert_uint_eq(emu_stream_sync_count(s), on_s + 2);
    cudaEventDestroy(e);
    ck_assert_int_eq(cudaStreamDestroy(s), cudaSuccess);
}
END_TEST

START_TEST(test_null_compute)
{
    setenv("EMU_NULL_COMPUTE", "1", 1);
    fill_ones();
    cublasHandle_t h = handle();
    uint16_t c = H(7);
    void *a = up(ones, sizeof ones), *dc = up(&c, 2);
    sh_half alpha = { H(1) }, beta = { H(0) };
    ck_assert_int_eq(cublasHgemm(h, N, N, 1, 1, 4096, &alpha, a, 1, a, 4096, &beta, dc, 1), OK);
    down(&c, dc, 2);
    ck_assert_float_eq(F(c), 7.0f);
    /* Still validated. */
    ck_assert_int_eq(cublasHgemm(h, N, N, 1, 1, 4096, &alpha, (const sh_half *)ones, 1, a, 4096, &beta, dc, 1),
                     CUBLAS_STATUS_EXECUTION_FAILED);
    cublasDestroy_v2(h);
}
END_TEST

/* ---- capture ------------------------------------------------------------------- */

START_TEST(test_capture_and_replay)
{
    fill_ones();
    static uint16_t twos[4096];
    for (int i = 0; i < 4096; i++)
        twos[i] = H(2);
    static unsigned char img[256];
    fake_image(img, sizeof img, "safehalf_scalars_h2f");

    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    cublasHandle_t h = handle();
    ck_assert_int_eq(cublasSetStream_v2(h, s), OK);
    void *da = NULL, *dc = NULL, *ds = NULL, *dout = NULL;
    ck_assert_int_eq(cudaMalloc(&da, sizeof ones), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&dc, 2), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&dout, 8), cudaSuccess);
    uint16_t scal[2] = { H(0.25f), H(4) };
    ds = up(scal, 4);
    CUlibrary lib;
    CUkernel k;
    ck_assert_int_eq(cuLibraryLoadData(&lib, img, NULL, NULL, 0, NULL, NULL, 0), CUDA_SUCCESS);
    ck_assert_int_eq(cuLibraryGetKernel(&k, lib, "safehalf_scalars_h2f"), CUDA_SUCCESS);

    static uint16_t input[4096];
    memcpy(input, ones, sizeof ones);
    uint16_t result = H(-1);
    float out[2] = { 0, 0 };
    sh_half alpha = { H(1) }, beta = { H(0) };

    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    enum cudaStreamCaptureStatus st;
    ck_assert_int_eq(cudaStreamIsCapturing(s, &st), cudaSuccess);
    ck_assert_int_eq(st, cudaStreamCaptureStatusActive);
    ck_assert_int_eq(cudaMemcpyAsync(da, input, sizeof input, cudaMemcpyHostToDevice, s),
                     cudaSuccess);
    ck_assert_int_eq(cublasHgemm(h, N, N, 1, 1, 4096, &alpha, da, 1, da, 4096, &beta, dc, 1), OK);
    ck_assert_int_eq(cudaMemcpyAsync(&result, dc, 2, cudaMemcpyDeviceToHost, s), cudaSuccess);
    ck_assert_int_eq(launch_h2f((CUfunction)k, s, ds, (uint16_t *)ds + 1, dout), CUDA_SUCCESS);
    ck_assert_int_eq(cudaMemcpyAsync(out, dout, 8, cudaMemcpyDeviceToHost, s), cudaSuccess);
    alpha.bits = H(100); /* host scalars are captured by value */
    cudaGraph_t g = NULL;
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(cudaStreamIsCapturing(s, &st), cudaSuccess);
    ck_assert_int_eq(st, cudaStreamCaptureStatusNone);
    /* Nothing ran during capture. */
    ck_assert_int_eq(result, H(-1));
    ck_assert_float_eq(out[0], 0.0f);

    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_float_eq(F(result), 2048.0f);
    ck_assert_float_eq(out[0], 0.25f);
    ck_assert_float_eq(out[1], 4.0f);
    /* A replay reads the inputs afresh: 4096 products 2 * 2 summed in FP16
     * stall at 8192, where adding 4 is a tie that rounds back to even. */
    memcpy(input, twos, sizeof twos);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_float_eq(F(result), 8192.0f);
    ck_assert_int_eq(cudaGraphExecDestroy(exec), cudaSuccess);
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_capture_invalidation)
{
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    void *p = NULL;
    cudaGraph_t g = (cudaGraph_t)1;
    enum cudaStreamCaptureStatus st;

    /* GLOBAL mode: allocation during capture is refused and breaks it. */
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&p, 16), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamIsCapturing(s, &st), cudaSuccess);
    ck_assert_int_eq(st, cudaStreamCaptureStatusInvalidated);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    ck_assert_ptr_null(g);

    /* So is synchronizing, and synchronizing the capturing stream itself. */
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    unsigned long syncs = emu_sync_count();
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    ck_assert_uint_eq(emu_sync_count(), syncs);

    /* The thread may relax its own mode. */
    enum cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaThreadExchangeStreamCaptureMode(&mode), cudaSuccess);
    ck_assert_int_eq(mode, cudaStreamCaptureModeGlobal);
    ck_assert_int_eq(cudaMalloc(&p, 16), cudaSuccess);
    ck_assert_int_eq(cudaThreadExchangeStreamCaptureMode(&mode), cudaSuccess);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);
    ck_assert_int_eq(cudaFree(p), cudaSuccess);

    /* A relaxed capture tolerates it regardless. */
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&p, 16), cudaSuccess);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);

    /* The legacy stream cannot capture; ending a capture never begun fails. */
    ck_assert_int_eq(cudaStreamBeginCapture(NULL, cudaStreamCaptureModeGlobal),
                     cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorIllegalState);
    cudaGetLastError();
}
END_TEST

/* Fork/join: a second stream joins the capture through an event. */
START_TEST(test_capture_two_streams)
{
    cudaStream_t s1, s2;
    cudaEvent_t fork_ev, join_ev;
    ck_assert_int_eq(cudaStreamCreate(&s1), cudaSuccess);
    ck_assert_int_eq(cudaStreamCreate(&s2), cudaSuccess);
    ck_assert_int_eq(cudaEventCreate(&fork_ev), cudaSuccess);
    ck_assert_int_eq(cudaEventCreate(&join_ev), cudaSuccess);
    void *d = NULL;
    ck_assert_int_eq(cudaMalloc(&d, 8), cudaSuccess);
    char out[8] = { 0 };
    ck_assert_int_eq(cudaStreamBeginCapture(s1, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaEventRecord(fork_ev, s1), cudaSuccess);
    ck_assert_int_eq(cudaStreamWaitEvent(s2, fork_ev, 0), cudaSuccess);
    ck_assert_int_eq(cudaMemsetAsync(d, 'x', 8, s2), cudaSuccess);
    ck_assert_int_eq(cudaEventRecord(join_ev, s2), cudaSuccess);
    ck_assert_int_eq(cudaStreamWaitEvent(s1, join_ev, 0), cudaSuccess);
    ck_assert_int_eq(cudaMemcpyAsync(out, d, 8, cudaMemcpyDeviceToHost, s1), cudaSuccess);
    cudaGraph_t g;
    ck_assert_int_eq(cudaStreamEndCapture(s1, &g), cudaSuccess);
    ck_assert_int_eq(out[0], 0);
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s1), cudaSuccess);
    ck_assert_int_eq(out[7], 'x');
    enum cudaStreamCaptureStatus st;
    ck_assert_int_eq(cudaStreamIsCapturing(s2, &st), cudaSuccess);
    ck_assert_int_eq(st, cudaStreamCaptureStatusNone);
}
END_TEST

/* ---- device queries and device-wide state ---------------------------------- */

START_TEST(test_device_properties)
{
    struct cudaDeviceProp p;
    memset(&p, 0x55, sizeof p);
    ck_assert_int_eq(cudaGetDeviceProperties(&p, 0), cudaSuccess);
    ck_assert_str_eq(p.name, "safehalf emulated device");
    ck_assert_int_eq(p.major, 9);
    ck_assert_int_eq(p.minor, 0);
    ck_assert_int_eq(p.multiProcessorCount, 132);
    ck_assert_int_eq(p.warpSize, 32);
    ck_assert_int_eq(p.maxThreadsPerBlock, 1024);
    ck_assert_int_eq(p.maxThreadsDim[2], 64);
    ck_assert_int_eq(p.maxGridSize[0], 2147483647);
    ck_assert_uint_eq(p.sharedMemPerBlock, 49152);
    ck_assert_int_eq(p.managedMemory, 1);
    ck_assert_int_eq(p.unifiedAddressing, 1);
    ck_assert_int_eq(p.integrated, 0);
    ck_assert_int_eq(p.reserved[0], 0);
    size_t free_b, total;
    ck_assert_int_eq(cudaMemGetInfo(&free_b, &total), cudaSuccess);
    ck_assert_uint_eq(p.totalGlobalMem, total);
    ck_assert_uint_gt(total, (size_t)64 << 30);
    ck_assert_int_eq(cudaGetDeviceProperties(&p, 1), cudaErrorInvalidDevice);
    ck_assert_int_eq(cudaGetDeviceProperties(NULL, 0), cudaErrorInvalidValue);

    int v = -1;
    ck_assert_int_eq(cudaDeviceGetAttribute(&v, cudaDevAttrComputeCapabilityMajor, 0), cudaSuccess);
    ck_assert_int_eq(v, 9);
    ck_assert_int_eq(cudaDeviceGetAttribute(&v, cudaDevAttrComputeCapabilityMinor, 0), cudaSuccess);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);
    ck_assert_int_eq(v, 132);
    ck_assert_int_eq(cudaDeviceGetAttribute(&v, cudaDevAttrL2CacheSize, 0), cudaSuccess);
    ck_assert_int_eq(v, 50 << 20);
    ck_assert_int_eq(cudaDeviceGetAttribute(&v, (enum cudaDeviceAttr)0, 0), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaDeviceGetAttribute(&v, cudaDevAttrWarpSize, 1), cudaErrorInvalidDevice);

    ck_assert_int_eq(cudaDeviceCanAccessPeer(&v, 0, 0), cudaSuccess);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(cudaDeviceCanAccessPeer(&v, 0, 1), cudaErrorInvalidDevice);
    int least = 1, greatest = 1;
    ck_assert_int_eq(cudaDeviceGetStreamPriorityRange(&least, &greatest), cudaSuccess);
    ck_assert_int_eq(least, 0);
    ck_assert_int_eq(greatest, -5);
    ck_assert_int_eq(cudaDeviceGetStreamPriorityRange(NULL, &greatest), cudaSuccess);

    unsigned flags = 0;
    ck_assert_int_eq(cudaGetDeviceFlags(&flags), cudaSuccess);
    ck_assert_uint_eq(flags, cudaDeviceMapHost);
    ck_assert_int_eq(cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync), cudaSuccess);
    ck_assert_int_eq(cudaGetDeviceFlags(&flags), cudaSuccess);
    ck_assert_uint_eq(flags, cudaDeviceScheduleBlockingSync | cudaDeviceMapHost);
    ck_assert_int_eq(cudaSetDeviceFlags(cudaDeviceScheduleSpin | cudaDeviceScheduleYield),
                     cudaErrorInvalidValue);
    ck_assert_int_eq(cudaSetDeviceFlags(0x100), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaGetDeviceFlags(NULL), cudaErrorInvalidValue);
    CUdevice dev = 0;
    size_t bytes = 0;
    ck_assert_int_eq(cuDeviceTotalMem(&bytes, dev), CUDA_SUCCESS);
    ck_assert_uint_eq(bytes, total);
    cudaGetLastError();
}
END_TEST

START_TEST(test_mem_info_and_reset)
{
    size_t free0, free1, total;
    ck_assert_int_eq(cudaMemGetInfo(&free0, &total), cudaSuccess);
    ck_assert_uint_lt(free0, total);
    void *d = NULL, *p = NULL, *m = NULL, *big = NULL;
    ck_assert_int_eq(cudaMalloc(&d, 1 << 20), cudaSuccess);
    ck_assert_int_eq(cudaMemGetInfo(&free1, &total), cudaSuccess);
    ck_assert_uint_eq(free1, free0 - (1 << 20));
    ck_assert_int_eq(cudaMallocManaged(&m, 4096, cudaMemAttachGlobal), cudaSuccess);
    ck_assert_int_eq(cudaMemGetInfo(&free1, &total), cudaSuccess);
    ck_assert_uint_eq(free1, free0 - (1 << 20) - 4096);
    /* More than the device has: refused before any host memory is used. */
    ck_assert_int_eq(cudaMalloc(&big, total), cudaErrorMemoryAllocation);
    ck_assert_int_eq(cudaMemGetInfo(NULL, &total), cudaErrorInvalidValue);

    static char buf[256];
    ck_assert_int_eq(cudaMallocHost(&p, 64), cudaSuccess);
    ck_assert_int_eq(cudaHostRegister(buf, sizeof buf, cudaHostRegisterDefault), cudaSuccess);
    strcpy(buf, "kept");
    ck_assert_int_eq(cudaDeviceReset(), cudaSuccess);
    ck_assert_ptr_null(emu_to_host(d));
    ck_assert_ptr_null(emu_to_host(p));
    ck_assert_ptr_null(emu_to_host(m));
    ck_assert_ptr_null(emu_to_host(buf));
    ck_assert_str_eq(buf, "kept"); /* registered memory is the caller's */
    ck_assert_int_eq(cudaFree(d), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaHostUnregister(buf), cudaErrorHostMemoryNotRegistered);
    ck_assert_int_eq(cudaMemGetInfo(&free1, &total), cudaSuccess);
    ck_assert_uint_eq(free1, free0);
    /* The device is usable again at once. */
    ck_assert_int_eq(cudaMalloc(&d, 64), cudaSuccess);
    ck_assert_ptr_nonnull(emu_to_host(d));
    ck_assert_int_eq(cudaFree(d), cudaSuccess);
    cudaGetLastError();
}
END_TEST

/* ---- managed, registered and pitched memory ---------------------------------- */

START_TEST(test_managed_memory)
{
    float *m = NULL;
    ck_assert_int_eq(cudaMallocManaged((void **)&m, 16 * sizeof *m, cudaMemAttachGlobal),
                     cudaSuccess);
    ck_assert(!emu_is_tagged(m));
    /* Written and read by the host directly, used by cuBLAS as device memory. */
    float *a = m, *b = m + 4, *c = m + 8; /* 2 x 2 each */
    const float av[4] = { 1, 2, 3, 4 }, bv[4] = { 5, 6, 7, 8 };
    memcpy(a, av, sizeof av);
    memcpy(b, bv, sizeof bv);
    cublasHandle_t h = handle();
    float one = 1, zero = 0;
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 2, 2, 2, &one, a, 2, b, 2, &zero, c, 2), OK);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    ck_assert_float_eq(c[0], 1 * 5 + 3 * 6);
    ck_assert_float_eq(c[1], 2 * 5 + 4 * 6);
    ck_assert_float_eq(c[2], 1 * 7 + 3 * 8);
    ck_assert_float_eq(c[3], 2 * 7 + 4 * 8);
    /* Any copy direction that names device memory accepts it. */
    float back[4];
    ck_assert_int_eq(cudaMemcpy(back, c, sizeof back, cudaMemcpyDeviceToHost), cudaSuccess);
    ck_assert_float_eq(back[3], 46);
    ck_assert_int_eq(cublasSetVector(4, sizeof(float), av, 1, m + 12, 1), OK);
    ck_assert_float_eq(m[15], 4);

    void *z = NULL;
    ck_assert_int_eq(cudaMallocManaged(&z, 0, cudaMemAttachGlobal), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaMallocManaged(&z, 16, 4), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaMallocManaged(&z, 16, cudaMemAttachHost), cudaSuccess);
    ck_assert_int_eq(cudaFreeHost(m), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaFree(m), cudaSuccess);
    ck_assert_ptr_null(emu_to_host(m));
    ck_assert_int_eq(cudaFree(m), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaFree(z), cudaSuccess);
    cublasDestroy_v2(h);
    cudaGetLastError();
}
END_TEST

START_TEST(test_host_register)
{
    float *buf = malloc(4096);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < 1024; i++)
        buf[i] = (float)i;
    ck_assert_ptr_null(emu_to_host(buf));
    ck_assert_int_eq(cudaHostRegister(buf, 4096, cudaHostRegisterMapped), cudaSuccess);
    void *dp = NULL;
    ck_assert_int_eq(cudaHostGetDevicePointer(&dp, buf, 0), cudaSuccess);
    ck_assert_ptr_eq(dp, buf);
    ck_assert_ptr_eq(emu_to_host(buf + 1023), buf + 1023);
    ck_assert_ptr_null(emu_to_host_range(buf, 4097));
    /* Usable as device memory by cuBLAS: y = 2 * x + y over registered memory. */
    cublasHandle_t h = handle();
    float two = 2;
    ck_assert_int_eq(cublasSaxpy_v2(h, 4, &two, buf, 1, buf + 4, 1), OK);
    ck_assert_float_eq(buf[4], 2 * 0 + 4);
    ck_assert_float_eq(buf[7], 2 * 3 + 7);
    ck_assert_int_eq(cudaHostRegister((char *)buf + 100, 10, 0),
                     cudaErrorHostMemoryAlreadyRegistered);
    ck_assert_int_eq(cudaHostRegister(NULL, 10, 0), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaHostRegister((char *)buf + 4096, 0, 0), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaHostRegister((char *)buf + 4096, 16, 0x40), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaHostRegister((char *)buf + 4096, 16, cudaHostRegisterIoMemory),
                     cudaErrorNotSupported);
    void *d = NULL;
    ck_assert_int_eq(cudaMalloc(&d, 64), cudaSuccess);
    ck_assert_int_eq(cudaHostRegister(d, 64, 0), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaHostUnregister((char *)buf + 4), cudaErrorHostMemoryNotRegistered);
    ck_assert_int_eq(cudaHostUnregister(buf), cudaSuccess);
    ck_assert_int_eq(cudaHostUnregister(buf), cudaErrorHostMemoryNotRegistered);
    ck_assert_ptr_null(emu_to_host(buf));
    ck_assert_float_eq(buf[1023], 1023); /* still the caller's, not freed */
    ck_assert_int_eq(cudaHostGetDevicePointer(&dp, buf, 0), cudaErrorInvalidValue);
    ck_assert_int_eq(cublasSaxpy_v2(h, 4, &two, buf, 1, buf + 4, 1),
                     CUBLAS_STATUS_EXECUTION_FAILED);
    free(buf);
    cublasDestroy_v2(h);
    cudaGetLastError();
}
END_TEST

START_TEST(test_pointer_attributes)
{
    struct cudaPointerAttributes a;
    char *d = NULL, *p = NULL, *m = NULL, local[8];
    ck_assert_int_eq(cudaMalloc((void **)&d, 64), cudaSuccess);
    ck_assert_int_eq(cudaMallocHost((void **)&p, 64), cudaSuccess);
    ck_assert_int_eq(cudaMallocManaged((void **)&m, 64, cudaMemAttachGlobal), cudaSuccess);

    ck_assert_int_eq(cudaPointerGetAttributes(&a, d + 4), cudaSuccess);
    ck_assert_int_eq(a.type, cudaMemoryTypeDevice);
    ck_assert_int_eq(a.device, 0);
    ck_assert_ptr_eq(a.devicePointer, d + 4);
    ck_assert_ptr_null(a.hostPointer);
    ck_assert_int_eq(cudaPointerGetAttributes(&a, p), cudaSuccess);
    ck_assert_int_eq(a.type, cudaMemoryTypeHost);
    ck_assert_ptr_eq(a.devicePointer, p);
    ck_assert_ptr_eq(a.hostPointer, p);
    ck_assert_int_eq(cudaPointerGetAttributes(&a, m + 63), cudaSuccess);
    ck_assert_int_eq(a.type, cudaMemoryTypeManaged);
    ck_assert_ptr_eq(a.devicePointer, m + 63);
    ck_assert_ptr_eq(a.hostPointer, m + 63);
    /* Since CUDA 11 unknown memory is no error. */
    ck_assert_int_eq(cudaPointerGetAttributes(&a, local), cudaSuccess);
    ck_assert_int_eq(a.type, cudaMemoryTypeUnregistered);
    ck_assert_int_eq(a.device, cudaInvalidDeviceId);
    ck_assert_ptr_null(a.devicePointer);
    ck_assert_ptr_eq(a.hostPointer, local);
    ck_assert_int_eq(cudaPointerGetAttributes(NULL, d), cudaErrorInvalidValue);

    CUdeviceptr start = 0;
    size_t size = 0;
    ck_assert_int_eq(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
                                           (CUdeviceptr)(uintptr_t)(d + 9)), CUDA_SUCCESS);
    ck_assert_ptr_eq((void *)(uintptr_t)start, d);
    ck_assert_int_eq(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE,
                                           (CUdeviceptr)(uintptr_t)(d + 9)), CUDA_SUCCESS);
    ck_assert_uint_eq(size, 64);
    void *hp;
    ck_assert_int_eq(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER,
                                           (CUdeviceptr)(uintptr_t)d),
                     CUDA_ERROR_INVALID_VALUE);
    ck_assert_int_eq(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER,
                                           (CUdeviceptr)(uintptr_t)local),
                     CUDA_ERROR_INVALID_VALUE);
    ck_assert_int_eq(cudaFree(d), cudaSuccess);
    ck_assert_int_eq(cudaPointerGetAttributes(&a, d), cudaSuccess);
    ck_assert_int_eq(a.type, cudaMemoryTypeUnregistered);
}
END_TEST

START_TEST(test_memcpy_2d)
{
    /* A 3-column block of 5 bytes per column: host pitch 8, device pitch 16,
     * back to the host at pitch 6. */
    char src[3 * 8], back[3 * 6], dev_image[48];
    for (int i = 0; i < (int)sizeof src; i++)
        src[i] = (char)('a' + i);
    memset(back, '.', sizeof back);
    void *d = NULL;
    ck_assert_int_eq(cudaMalloc(&d, 48), cudaSuccess);
    ck_assert_int_eq(cudaMemset(d, '#', 48), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy2D(d, 16, src, 8, 5, 3, cudaMemcpyHostToDevice), cudaSuccess);
    down(dev_image, d, 48);
    for (int row = 0; row < 3; row++)
        for (int i = 0; i < 16; i++)
            ck_assert_int_eq(dev_image[row * 16 + i], i < 5 ? src[row * 8 + i] : '#');
    ck_assert_int_eq(cudaMemcpy2D(back, 6, d, 16, 5, 3, cudaMemcpyDefault), cudaSuccess);
    for (int row = 0; row < 3; row++)
        for (int i = 0; i < 6; i++)
            ck_assert_int_eq(back[row * 6 + i], i < 5 ? src[row * 8 + i] : '.');

    ck_assert_int_eq(cudaMemcpy2D(d, 4, src, 8, 5, 3, cudaMemcpyHostToDevice),
                     cudaErrorInvalidPitchValue);
    ck_assert_int_eq(cudaMemcpy2D(d, 16, src, 4, 5, 3, cudaMemcpyHostToDevice),
                     cudaErrorInvalidPitchValue);
    /* The last row would end past the allocation: 3 * 16 + 5 > 48. */
    ck_assert_int_eq(cudaMemcpy2D(d, 16, src, 5, 5, 4, cudaMemcpyHostToDevice),
                     cudaErrorInvalidValue);
    ck_assert_int_eq(cudaMemcpy2D(back, 6, src, 8, 5, 3, cudaMemcpyDeviceToHost),
                     cudaErrorInvalidValue);
    ck_assert_int_eq(cudaMemcpy2D(d, 16, src, 8, 5, 3, (enum cudaMemcpyKind)7),
                     cudaErrorInvalidMemcpyDirection);
    ck_assert_int_eq(cudaMemcpy2D(d, 16, src, 8, 0, 3, cudaMemcpyHostToDevice), cudaSuccess);

    /* The async form is stream work: captured, it runs at launch. */
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    unsigned long syncs = emu_sync_count();
    memset(back, '.', sizeof back);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy2DAsync(back, 6, d, 16, 2, 3, cudaMemcpyDeviceToHost, s),
                     cudaSuccess);
    cudaGraph_t g;
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(back[0], '.');
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(back[6], src[8]);
    ck_assert_int_eq(back[13], src[17]);
    ck_assert_int_eq(back[14], '.');
    ck_assert_uint_eq(emu_sync_count(), syncs);
    cudaGetLastError();
}
END_TEST

/* ---- stream-ordered allocation ----------------------------------------------- */

START_TEST(test_malloc_async)
{
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    void *p = NULL;
    ck_assert_int_eq(cudaMallocAsync(&p, 64, s), cudaSuccess);
    ck_assert(emu_is_tagged(p));
    ck_assert_ptr_nonnull(emu_to_host_range(p, 64));
    ck_assert_int_eq(cudaMemsetAsync(p, 1, 64, s), cudaSuccess);
    ck_assert_int_eq(cudaFreeAsync(p, s), cudaSuccess);
    ck_assert_ptr_null(emu_to_host(p));
    ck_assert_int_eq(cudaFreeAsync(p, s), cudaErrorInvalidValue);
    char local[4];
    ck_assert_int_eq(cudaFreeAsync(local, s), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaMallocAsync(&p, 0, s), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaMallocAsync(NULL, 16, s), cudaErrorInvalidValue);
    /* A plain cudaFree releases it too. */
    ck_assert_int_eq(cudaMallocAsync(&p, 64, NULL), cudaSuccess);
    ck_assert_int_eq(cudaFree(p), cudaSuccess);
    ck_assert_ptr_null(emu_to_host(p));

    /* Captured (in global mode, where cudaMalloc would be refused): alloc,
     * use and free become graph nodes; the address is fixed at capture. */
    char out[16] = { 0 };
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaMallocAsync(&p, 16, s), cudaSuccess);
    ck_assert_int_eq(cudaMemsetAsync(p, 'z', 16, s), cudaSuccess);
    ck_assert_int_eq(cudaMemcpyAsync(out, p, 16, cudaMemcpyDeviceToHost, s), cudaSuccess);
    ck_assert_int_eq(cudaFreeAsync(p, s), cudaSuccess);
    cudaGraph_t g;
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(out[0], 0);
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(out[15], 'z');
    ck_assert_int_eq(cudaFree(p), cudaErrorInvalidValue); /* the graph freed it */
    memset(out, 0, sizeof out);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(out[0], 'z');
    ck_assert_int_eq(cudaGraphExecDestroy(exec), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);
    ck_assert_ptr_null(emu_to_host(p));

    /* An allocation the graph does not free outlives the launch; launching
     * again before it is freed fails. */
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaMallocAsync(&p, 32, s), cudaSuccess);
    ck_assert_int_eq(cudaMemsetAsync(p, 'q', 32, s), cudaSuccess);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    down(out, p, 16);
    ck_assert_int_eq(out[3], 'q');
    ck_assert_int_ne(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaFree(p), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaGraphExecDestroy(exec), cudaSuccess);
    ck_assert_ptr_nonnull(emu_to_host(p)); /* still live: the user frees it */
    ck_assert_int_eq(cudaFreeAsync(p, s), cudaSuccess);
    ck_assert_ptr_null(emu_to_host(p));
    cudaGetLastError();
}
END_TEST

/* ---- streams: priorities, flags, host functions ----------------------------- */

static void count_call(void *arg)
{
    int *calls = arg;
    /* Runs in stream order: the copy issued before it has landed. */
    calls[1] = calls[2];
    calls[0]++;
}

START_TEST(test_stream_priority_and_host_func)
{
    cudaStream_t s, lo, hi;
    int prio = 1;
    unsigned flags = 7;
    ck_assert_int_eq(cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, -3), cudaSuccess);
    ck_assert_int_eq(cudaStreamGetPriority(s, &prio), cudaSuccess);
    ck_assert_int_eq(prio, -3);
    ck_assert_int_eq(cudaStreamGetFlags(s, &flags), cudaSuccess);
    ck_assert_uint_eq(flags, cudaStreamNonBlocking);
    ck_assert_int_eq(cudaStreamCreateWithPriority(&hi, 0, -100), cudaSuccess);
    ck_assert_int_eq(cudaStreamGetPriority(hi, &prio), cudaSuccess);
    ck_assert_int_eq(prio, -5);
    ck_assert_int_eq(cudaStreamCreateWithPriority(&lo, 0, 9), cudaSuccess);
    ck_assert_int_eq(cudaStreamGetPriority(lo, &prio), cudaSuccess);
    ck_assert_int_eq(prio, 0);
    ck_assert_int_eq(cudaStreamGetFlags(lo, &flags), cudaSuccess);
    ck_assert_uint_eq(flags, cudaStreamDefault);
    ck_assert_int_eq(cudaStreamGetFlags(NULL, &flags), cudaSuccess);
    ck_assert_int_eq(cudaStreamCreateWithPriority(&lo, 0x10, 0), cudaErrorInvalidValue);

    static int calls[3];
    int seven = 7;
    void *d = up(&seven, sizeof seven);
    ck_assert_int_eq(cudaMemcpyAsync(&calls[2], d, sizeof(int), cudaMemcpyDeviceToHost, s),
                     cudaSuccess);
    ck_assert_int_eq(cudaLaunchHostFunc(s, count_call, calls), cudaSuccess);
    ck_assert_int_eq(calls[0], 1);
    ck_assert_int_eq(calls[1], 7);
    ck_assert_int_eq(cudaLaunchHostFunc(s, NULL, calls), cudaErrorInvalidValue);

    /* Captured: recorded, and run at every launch. */
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaLaunchHostFunc(s, count_call, calls), cudaSuccess);
    cudaGraph_t g;
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(calls[0], 1);
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, hi), cudaSuccess);
    ck_assert_int_eq(calls[0], 3);
    cudaGetLastError();
}
END_TEST

/* ---- cuBLAS helpers ------------------------------------------------------------ */

START_TEST(test_set_get_matrix)
{
    /* A 3 x 2 float matrix at lda 5 goes to the device at ldb 4 and comes
     * back at ldc 6; padding is never written. */
    float a[5 * 2], dev_image[4 * 2], c[6 * 2];
    for (int i = 0; i < 10; i++)
        a[i] = (float)(i % 5 < 3 ? 10 * (i / 5) + i % 5 : -1);
    for (int i = 0; i < 12; i++)
        c[i] = -7;
    void *d = NULL;
    ck_assert_int_eq(cudaMalloc(&d, sizeof dev_image), cudaSuccess);
    ck_assert_int_eq(cudaMemset(d, 0, sizeof dev_image), cudaSuccess);
    ck_assert_int_eq(cublasSetMatrix(3, 2, sizeof(float), a, 5, d, 4), OK);
    down(dev_image, d, sizeof dev_image);
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 4; i++)
            ck_assert_float_eq(dev_image[i + 4 * j], i < 3 ? (float)(10 * j + i) : 0.0f);
    ck_assert_int_eq(cublasGetMatrix(3, 2, sizeof(float), d, 4, c, 6), OK);
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 6; i++)
            ck_assert_float_eq(c[i + 6 * j], i < 3 ? (float)(10 * j + i) : -7.0f);

    /* The 64-bit and asynchronous forms. */
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cudaMemset(d, 0, sizeof dev_image), cudaSuccess);
    ck_assert_int_eq(cublasSetMatrix_64(3, 2, sizeof(float), a, 5, d, 4), OK);
    memset(c, 0, sizeof c);
    ck_assert_int_eq(cublasGetMatrixAsync(2, 2, sizeof(float), d, 4, c, 2, s), OK);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    ck_assert_float_eq(c[3], 11);
    ck_assert_int_eq(cublasSetMatrixAsync_64(1, 2, sizeof(float), a + 2, 5, d, 4, s), OK);
    ck_assert_int_eq(cublasGetMatrix_64(1, 2, sizeof(float), d, 4, c, 1), OK);
    ck_assert_float_eq(c[0], 2);
    ck_assert_float_eq(c[1], 12);
    ck_assert_int_eq(cublasGetMatrixAsync_64(1, 1, sizeof(float), d, 1, c, 1, s), OK);

    /* Status codes as the real library returns them. */
    ck_assert_int_eq(cublasSetMatrix(-1, 2, 4, a, 5, d, 4), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetMatrix(3, 2, 0, a, 5, d, 4), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetMatrix(0, 2, 4, a, 0, d, 4), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetMatrix(0, 2, 4, a, 5, d, 4), OK);
    ck_assert_int_eq(cublasSetMatrix(3, 2, 4, a, 2, d, 4), CUBLAS_STATUS_MAPPING_ERROR);
    ck_assert_int_eq(cublasSetMatrix(3, 2, 4, a, 5, a, 4), CUBLAS_STATUS_MAPPING_ERROR);
    ck_assert_int_eq(cublasSetMatrix(3, 3, 4, a, 3, d, 4), CUBLAS_STATUS_MAPPING_ERROR);
    ck_assert_int_eq(cublasGetMatrix(3, 2, 4, a, 5, c, 6), CUBLAS_STATUS_MAPPING_ERROR);
    cudaGetLastError();
}
END_TEST

START_TEST(test_set_get_vector)
{
    float x[8] = { 0, 1, 2, 3, 4, 5, 6, 7 }, y[9];
    void *d = NULL;
    ck_assert_int_eq(cudaMalloc(&d, 9 * sizeof(float)), cudaSuccess);
    ck_assert_int_eq(cudaMemset(d, 0, 9 * sizeof(float)), cudaSuccess);
    /* Every second element of x to every third of d. */
    ck_assert_int_eq(cublasSetVector(3, sizeof(float), x, 2, d, 3), OK);
    down(y, d, sizeof y);
    for (int i = 0; i < 9; i++)
        ck_assert_float_eq(y[i], i % 3 == 0 ? (float)(2 * (i / 3)) : 0.0f);
    float back[3] = { -1, -1, -1 };
    ck_assert_int_eq(cublasGetVector(3, sizeof(float), d, 3, back, 1), OK);
    ck_assert_float_eq(back[2], 4);
    ck_assert_int_eq(cublasSetVector_64(2, sizeof(float), x + 6, 1, d, 1), OK);
    ck_assert_int_eq(cublasGetVector_64(2, sizeof(float), d, 1, back, 1), OK);
    ck_assert_float_eq(back[0], 6);
    ck_assert_float_eq(back[1], 7);
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cublasSetVectorAsync(1, sizeof(float), x + 5, 1, d, 1, s), OK);
    ck_assert_int_eq(cublasSetVectorAsync_64(1, sizeof(float), x + 4, 1, (float *)d + 1, 1, s),
                     OK);
    ck_assert_int_eq(cublasGetVectorAsync(2, sizeof(float), d, 1, back, 1, s), OK);
    ck_assert_int_eq(cublasGetVectorAsync_64(1, sizeof(float), d, 1, back + 2, 1, s), OK);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    ck_assert_float_eq(back[0], 5);
    ck_assert_float_eq(back[1], 4);
    ck_assert_float_eq(back[2], 5);

    ck_assert_int_eq(cublasSetVector(3, 4, x, 0, d, 1), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetVector(3, 4, x, -1, d, 1), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetVector(3, 0, x, 1, d, 1), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetVector(0, 4, x, 0, d, 1), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetVector(0, 4, x, 1, d, 1), OK);
    ck_assert_int_eq(cublasSetVector(-1, 4, x, 1, d, 1), CUBLAS_STATUS_MAPPING_ERROR);
    ck_assert_int_eq(cublasSetVector(10, 4, x, 1, d, 1), CUBLAS_STATUS_MAPPING_ERROR);
    ck_assert_int_eq(cublasSetVector(3, 4, NULL, 1, d, 1), CUBLAS_STATUS_MAPPING_ERROR);
    ck_assert_int_eq(cublasGetVector(3, 4, x, 1, back, 1), CUBLAS_STATUS_MAPPING_ERROR);
    cudaGetLastError();
}
END_TEST

START_TEST(test_handle_settings)
{
    ck_assert_int_eq(cublasDestroy_v2(NULL), CUBLAS_STATUS_NOT_INITIALIZED);
    cublasHandle_t h = handle();
    void *ws = NULL;
    ck_assert_int_eq(cudaMalloc(&ws, 1 << 16), cudaSuccess);
    ck_assert_int_eq(cublasSetWorkspace_v2(h, ws, 1 << 16), OK);
    ck_assert_int_eq(cublasSetWorkspace_v2(h, (char *)ws + 8, 1024), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetWorkspace_v2(h, NULL, 0), OK);
    ck_assert_int_eq(cublasSetWorkspace_v2(NULL, ws, 1024), CUBLAS_STATUS_NOT_INITIALIZED);
    cublasAtomicsMode_t mode = CUBLAS_ATOMICS_ALLOWED;
    ck_assert_int_eq(cublasGetAtomicsMode(h, &mode), OK);
    ck_assert_int_eq(mode, CUBLAS_ATOMICS_NOT_ALLOWED);
    ck_assert_int_eq(cublasSetAtomicsMode(h, CUBLAS_ATOMICS_ALLOWED), OK);
    ck_assert_int_eq(cublasGetAtomicsMode(h, &mode), OK);
    ck_assert_int_eq(mode, CUBLAS_ATOMICS_ALLOWED);
    ck_assert_int_eq(cublasSetAtomicsMode(h, (cublasAtomicsMode_t)2), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasGetAtomicsMode(h, NULL), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSetAtomicsMode(NULL, CUBLAS_ATOMICS_ALLOWED),
                     CUBLAS_STATUS_NOT_INITIALIZED);
    /* A GEMM still runs with a user workspace set. */
    ck_assert_int_eq(cublasSetWorkspace_v2(h, ws, 1 << 16), OK);
    float one = 1, two = 2, zero = 0, out = 0;
    void *d = up(&two, 4);
    ck_assert_int_eq(cublasSgemm_v2(h, N, N, 1, 1, 1, &one, d, 1, d, 1, &zero, d, 1), OK);
    down(&out, d, 4);
    ck_assert_float_eq(out, 4);
    ck_assert_int_eq(cublasDestroy_v2(h), OK);
}
END_TEST

#define SBM 3
#define SBN 2
#define SBK 4
#define SBATCH 3
/* Strides with a gap after each matrix, which must stay untouched. */
#define SSA (SBM * SBK + 2)
#define SSB (SBK * SBN + 1)
#define SSC (SBM * SBN + 3)

START_TEST(test_sgemm_batched)
{
    static float a[SSA * SBATCH], b[SSB * SBATCH], c[SSC * SBATCH], init[SSC * SBATCH];
    double want[SBATCH][SBM * SBN];
    for (int i = 0; i < SSA * SBATCH; i++)
        a[i] = small_int();
    for (int i = 0; i < SSB * SBATCH; i++)
        b[i] = small_int();
    for (int i = 0; i < SSC * SBATCH; i++)
        init[i] = small_int();
    /* C = 2 * A * B - C, column-major, A m x k, B k x n. */
    for (int s = 0; s < SBATCH; s++)
        for (int j = 0; j < SBN; j++)
            for (int i = 0; i < SBM; i++) {
                double acc = 0;
                for (int p = 0; p < SBK; p++)
                    acc += (double)a[s * SSA + i + p * SBM] * b[s * SSB + p + j * SBK];
                want[s][i + j * SBM] = 2 * acc - init[s * SSC + i + j * SBM];
            }
    cublasHandle_t h = handle();
    void *da = up(a, sizeof a), *db = up(b, sizeof b), *dc = NULL;
    ck_assert_int_eq(cudaMalloc(&dc, sizeof c), cudaSuccess);
    float alpha = 2, beta = -1;
    for (int form = 0; form < 4; form++) {
        ck_assert_int_eq(cudaMemcpy(dc, init, sizeof init, cudaMemcpyHostToDevice), cudaSuccess);
        void *pa[SBATCH], *pb[SBATCH], *pc[SBATCH];
        for (int s = 0; s < SBATCH; s++) {
            pa[s] = (float *)da + s * SSA;
            pb[s] = (float *)db + s * SSB;
            pc[s] = (float *)dc + s * SSC;
        }
        void *dpa = up(pa, sizeof pa), *dpb = up(pb, sizeof pb), *dpc = up(pc, sizeof pc);
        cublasStatus_t st;
        if (form == 0)
            st = cublasSgemmStridedBatched(h, N, N, SBM, SBN, SBK, &alpha, da, SBM, SSA, db, SBK,
                                           SSB, &beta, dc, SBM, SSC, SBATCH);
        else if (form == 1)
            st = cublasSgemmStridedBatched_64(h, N, N, SBM, SBN, SBK, &alpha, da, SBM, SSA, db,
                                              SBK, SSB, &beta, dc, SBM, SSC, SBATCH);
        else if (form == 2)
            st = cublasSgemmBatched(h, N, N, SBM, SBN, SBK, &alpha, dpa, SBM, dpb, SBK, &beta,
                                    dpc, SBM, SBATCH);
        else
            st = cublasSgemmBatched_64(h, N, N, SBM, SBN, SBK, &alpha, dpa, SBM, dpb, SBK,
                                       &beta, dpc, SBM, SBATCH);
        ck_assert_int_eq(st, OK);
        down(c, dc, sizeof c);
        for (int s = 0; s < SBATCH; s++) {
            for (int i = 0; i < SBM * SBN; i++)
                ck_assert_double_eq(c[s * SSC + i], want[s][i]);
            for (int i = SBM * SBN; i < SSC; i++)
                ck_assert_float_eq(c[s * SSC + i], init[s * SSC + i]);
        }
        cudaFree(dpa), cudaFree(dpb), cudaFree(dpc);
    }
    /* Validated like every GEMM; the last matrix may not overrun. */
    ck_assert_int_eq(cublasSgemmStridedBatched(h, N, N, SBM, SBN, SBK, &alpha, da, SBM - 1, SSA,
                                               db, SBK, SSB, &beta, dc, SBM, SSC, SBATCH),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSgemmStridedBatched(h, N, N, SBM, SBN, SBK, &alpha, da, SBM, SSA, db,
                                               SBK, SSB, &beta, dc, SBM, SSC, SBATCH + 1),
                     CUBLAS_STATUS_EXECUTION_FAILED);
    ck_assert_int_eq(cublasSgemmBatched(NULL, N, N, 1, 1, 1, &alpha, NULL, 1, NULL, 1, &beta,
                                        NULL, 1, 1), CUBLAS_STATUS_NOT_INITIALIZED);
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_saxpy)
{
    float x[6] = { 1, 2, 3, 4, 5, 6 }, y[3] = { 10, 20, 30 }, out[3];
    cublasHandle_t h = handle();
    void *dx = up(x, sizeof x), *dy = up(y, sizeof y);
    float alpha = 2;
    /* incx 2 reads 1, 3, 5; with incy -1 the vector's first element is the
     * last one in memory. */
    ck_assert_int_eq(cublasSaxpy_v2(h, 3, &alpha, dx, 2, dy, -1), OK);
    down(out, dy, sizeof out);
    ck_assert_float_eq(out[2], 30 + 2 * 1);
    ck_assert_float_eq(out[1], 20 + 2 * 3);
    ck_assert_float_eq(out[0], 10 + 2 * 5);
    ck_assert_int_eq(cublasSaxpy_v2_64(h, 0, &alpha, NULL, 1, NULL, 1), OK);
    ck_assert_int_eq(cublasSaxpy_v2(h, 3, NULL, dx, 1, dy, 1), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasSaxpy_v2(NULL, 3, &alpha, dx, 1, dy, 1),
                     CUBLAS_STATUS_NOT_INITIALIZED);
    ck_assert_int_eq(cublasSaxpy_v2(h, 4, &alpha, dx, 1, dy, 1), CUBLAS_STATUS_EXECUTION_FAILED);
    /* Device pointer mode reads alpha at run time. */
    void *da = up(&alpha, 4);
    ck_assert_int_eq(cublasSetPointerMode_v2(h, CUBLAS_POINTER_MODE_DEVICE), OK);
    ck_assert_int_eq(cublasSaxpy_v2(h, 1, da, dx, 1, dy, 1), OK);
    down(out, dy, 4);
    ck_assert_float_eq(out[0], 20 + 2 * 1);
    cublasDestroy_v2(h);
}
END_TEST

/* ---- mixed-precision level 1: DotEx, Nrm2Ex, AxpyEx ----------------------------- */

/* Dot of n elements of x and y (host arrays of type t), result of type rt
 * read back as a float; host pointer mode. */
static float dotex(cublasHandle_t h, int use64, const void *x, const void *y, int n, int inc,
                   cudaDataType t, cudaDataType rt, cudaDataType exec)
{
    size_t bytes = (size_t)n * (t == CUDA_R_32F ? 4 : 2);
    void *dx = up(x, bytes), *dy = up(y, bytes);
    unsigned char res[4] = { 0 };
    cublasStatus_t st = use64 ? cublasDotEx_64(h, n / inc, dx, t, inc, dy, t, inc, res, rt, exec)
                              : cublasDotEx(h, n / inc, dx, t, inc, dy, t, inc, res, rt, exec);
    ck_assert_int_eq(st, OK);
    cudaFree(dx), cudaFree(dy);
    if (rt == CUDA_R_32F) {
        float f;
        memcpy(&f, res, 4);
        return f;
    }
    uint16_t b;
    memcpy(&b, res, 2);
    return rt == CUDA_R_16F ? F(b) : sh_bf16_to_float(b);
}

START_TEST(test_dotex)
{
    static uint16_t big[70000], bf[4096];
    static float f32[8192];
    for (int i = 0; i < 70000; i++)
        big[i] = H(1);
    for (int i = 0; i < 4096; i++)
        bf[i] = sh_float_to_bf16(1);
    for (int i = 0; i < 8192; i++)
        f32[i] = 1;
    cublasHandle_t h = handle();
    for (int use64 = 0; use64 < 2; use64++) {
        /* 4096 ones: FP16 execution stalls at 2048, FP32 execution is exact */
        ck_assert_float_eq(dotex(h, use64, big, big, 4096, 1, CUDA_R_16F, CUDA_R_16F, CUDA_R_16F),
                           2048);
        ck_assert_float_eq(dotex(h, use64, big, big, 4096, 1, CUDA_R_16F, CUDA_R_16F, CUDA_R_32F),
                           4096);
        /* 70000 ones: the FP32 sum overflows the FP16 result; the FP16 one
         * stalled long before */
        float inf = dotex(h, use64, big, big, 70000, 1, CUDA_R_16F, CUDA_R_16F, CUDA_R_32F);
        ck_assert(isinf(inf) && inf > 0);
        ck_assert_float_eq(dotex(h, use64, big, big, 70000, 1, CUDA_R_16F, CUDA_R_16F,
                                 CUDA_R_16F), 2048);
        /* every other element: 2048 products */
        ck_assert_float_eq(dotex(h, use64, big, big, 4096, 2, CUDA_R_16F, CUDA_R_16F,
                                 CUDA_R_32F), 2048);
        /* BF16 and FP32 vectors: their own result type; FP16 execution takes
         * them as halves */
        ck_assert_float_eq(dotex(h, use64, bf, bf, 4096, 1, CUDA_R_16BF, CUDA_R_16BF,
                                 CUDA_R_32F), 4096);
        ck_assert_float_eq(dotex(h, use64, bf, bf, 4096, 1, CUDA_R_16BF, CUDA_R_16BF,
                                 CUDA_R_16F), 2048);
        ck_assert_float_eq(dotex(h, use64, f32, f32, 4096, 1, CUDA_R_32F, CUDA_R_32F,
                                 CUDA_R_32F), 4096);
        ck_assert_float_eq(dotex(h, use64, f32, f32, 8192, 2, CUDA_R_32F, CUDA_R_32F,
                                 CUDA_R_32F), 4096);
        ck_assert_float_eq(dotex(h, use64, f32, f32, 4096, 1, CUDA_R_32F, CUDA_R_32F,
                                 CUDA_R_16F), 2048);
    }
    /* Increments: x by 2 reads 1, 3, 5; y by -1 starts at its last element,
     * so the sum is 1 * 30 + 3 * 20 + 5 * 10; increment 0 repeats x[0]. */
    uint16_t x[6] = { H(1), H(2), H(3), H(4), H(5), H(6) }, y[3] = { H(10), H(20), H(30) };
    void *dx = up(x, sizeof x), *dy = up(y, sizeof y);
    uint16_t r;
    ck_assert_int_eq(cublasDotEx(h, 3, dx, CUDA_R_16F, 2, dy, CUDA_R_16F, -1, &r, CUDA_R_16F,
                                 CUDA_R_16F), OK);
    ck_assert_float_eq(F(r), 140);
    ck_assert_int_eq(cublasDotEx_64(h, 3, dx, CUDA_R_16F, 0, dy, CUDA_R_16F, 1, &r, CUDA_R_16F,
                                    CUDA_R_32F), OK);
    ck_assert_float_eq(F(r), 60);
    /* n <= 0: the result is 0, nothing is read */
    r = H(7);
    ck_assert_int_eq(cublasDotEx(h, 0, NULL, CUDA_R_16F, 1, NULL, CUDA_R_16F, 1, &r,
                                 CUDA_R_16F, CUDA_R_32F), OK);
    ck_assert_float_eq(F(r), 0);
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_nrm2ex)
{
    static uint16_t big[70000];
    static float bigf[70000];
    for (int i = 0; i < 70000; i++)
        big[i] = H(1), bigf[i] = 1;
    cublasHandle_t h = handle();
    void *d = up(big, sizeof big), *df32 = up(bigf, sizeof bigf);
    uint16_t r16;
    float r32;
    /* FP16 execution: the sum of squares stalls at 2048 (2048 + 1 is a tie
     * that rounds back to even); sqrt(2048) = 45.2548 rounds to 45.25. */
    ck_assert_int_eq(cublasNrm2Ex(h, 70000, d, CUDA_R_16F, 1, &r16, CUDA_R_16F, CUDA_R_16F), OK);
    ck_assert_float_eq(F(r16), 45.25f);
    ck_assert_int_eq(cublasNrm2Ex_64(h, 70000, df32, CUDA_R_32F, 1, &r32, CUDA_R_32F,
                                     CUDA_R_16F), OK);
    ck_assert_float_eq(r32, 45.25f);
    /* FP32 execution: sqrt(70000) = 264.575..., 264.5 in an FP16 result */
    ck_assert_int_eq(cublasNrm2Ex(h, 70000, df32, CUDA_R_32F, 1, &r32, CUDA_R_32F, CUDA_R_32F),
                     OK);
    ck_assert_float_eq(r32, sqrtf(70000.0f));
    ck_assert_int_eq(cublasNrm2Ex_64(h, 70000, d, CUDA_R_16F, 1, &r16, CUDA_R_16F, CUDA_R_32F),
                     OK);
    ck_assert_float_eq(F(r16), 264.5f);
    /* A square above 65504 overflows FP16 execution: 300^2 = 90000. */
    uint16_t v[2] = { H(300), H(4) };
    void *dv = up(v, sizeof v);
    ck_assert_int_eq(cublasNrm2Ex(h, 1, dv, CUDA_R_16F, 1, &r16, CUDA_R_16F, CUDA_R_16F), OK);
    ck_assert(isinf(F(r16)));
    ck_assert_int_eq(cublasNrm2Ex(h, 1, dv, CUDA_R_16F, 1, &r16, CUDA_R_16F, CUDA_R_32F), OK);
    ck_assert_float_eq(F(r16), 300);
    /* 3, 4 -> 5, in BF16 and FP32 too */
    float f[2] = { 3, 4 };
    uint16_t b[2] = { sh_float_to_bf16(3), sh_float_to_bf16(4) };
    void *df = up(f, sizeof f), *db = up(b, sizeof b);
    ck_assert_int_eq(cublasNrm2Ex(h, 2, df, CUDA_R_32F, 1, &r32, CUDA_R_32F, CUDA_R_32F), OK);
    ck_assert_float_eq(r32, 5);
    ck_assert_int_eq(cublasNrm2Ex(h, 2, db, CUDA_R_16BF, 1, &r16, CUDA_R_16BF, CUDA_R_32F), OK);
    ck_assert_float_eq(sh_bf16_to_float(r16), 5);
    /* incx <= 0 or n <= 0: 0, as the reference BLAS returns */
    r32 = 7;
    ck_assert_int_eq(cublasNrm2Ex(h, 2, df, CUDA_R_32F, 0, &r32, CUDA_R_32F, CUDA_R_32F), OK);
    ck_assert_float_eq(r32, 0);
    r32 = 7;
    ck_assert_int_eq(cublasNrm2Ex(h, 2, df, CUDA_R_32F, -1, &r32, CUDA_R_32F, CUDA_R_32F), OK);
    ck_assert_float_eq(r32, 0);
    r32 = 7;
    ck_assert_int_eq(cublasNrm2Ex(h, -1, df, CUDA_R_32F, 1, &r32, CUDA_R_32F, CUDA_R_32F), OK);
    ck_assert_float_eq(r32, 0);
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_axpyex)
{
    cublasHandle_t h = handle();
    /* alpha * x = 1.5 * (1 + 2^-10) = 1.50146484375, a tie between halves.
     * FP16 execution rounds it to even (1.501953125) before adding
     * y = -2^-12, and the sum rounds back to 1.501953125; FP32 execution
     * adds first (1.501220703125) and rounds once: 1.5009765625. */
    uint16_t x = H(1.0009765625f), y = H(-0.000244140625f), out;
    sh_half a16 = { H(1.5f) };
    float a32 = 1.5f;
    void *dx = up(&x, 2), *dy = up(&y, 2);
    ck_assert_int_eq(cublasAxpyEx(h, 1, &a16, CUDA_R_16F, dx, CUDA_R_16F, 1, dy, CUDA_R_16F, 1,
                                  CUDA_R_16F), OK);
    down(&out, dy, 2);
    ck_assert_float_eq(F(out), 1.501953125f);
    ck_assert_int_eq(cudaMemcpy(dy, &y, 2, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cublasAxpyEx_64(h, 1, &a32, CUDA_R_32F, dx, CUDA_R_16F, 1, dy, CUDA_R_16F,
                                     1, CUDA_R_32F), OK);
    down(&out, dy, 2);
    ck_assert_float_eq(F(out), 1.5009765625f);
    /* alpha must be of the execution type */
    ck_assert_int_eq(cublasAxpyEx(h, 1, &a32, CUDA_R_32F, dx, CUDA_R_16F, 1, dy, CUDA_R_16F, 1,
                                  CUDA_R_16F), CUBLAS_STATUS_NOT_SUPPORTED);
    /* An FP16 y overflows: 2 * 40000 */
    uint16_t big = H(40000), zero = H(0);
    void *db = up(&big, 2), *dz = up(&zero, 2);
    float two = 2;
    ck_assert_int_eq(cublasAxpyEx(h, 1, &two, CUDA_R_32F, db, CUDA_R_16F, 1, dz, CUDA_R_16F, 1,
                                  CUDA_R_32F), OK);
    down(&out, dz, 2);
    ck_assert(isinf(F(out)) && F(out) > 0);
    /* Increments (incx 2 reads 1, 3, 5; incy -1 writes from the end), BF16 */
    uint16_t bx[6], by[3] = { sh_float_to_bf16(10), sh_float_to_bf16(20), sh_float_to_bf16(30) };
    for (int i = 0; i < 6; i++)
        bx[i] = sh_float_to_bf16((float)i + 1);
    void *dbx = up(bx, sizeof bx), *dby = up(by, sizeof by);
    ck_assert_int_eq(cublasAxpyEx(h, 3, &two, CUDA_R_32F, dbx, CUDA_R_16BF, 2, dby, CUDA_R_16BF,
                                  -1, CUDA_R_32F), OK);
    down(by, dby, sizeof by);
    ck_assert_float_eq(sh_bf16_to_float(by[2]), 30 + 2 * 1);
    ck_assert_float_eq(sh_bf16_to_float(by[1]), 20 + 2 * 3);
    ck_assert_float_eq(sh_bf16_to_float(by[0]), 10 + 2 * 5);
    /* Device pointer mode: a half alpha read at run time */
    void *da = up(&a16, 2);
    ck_assert_int_eq(cudaMemcpy(dy, &y, 2, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cublasSetPointerMode_v2(h, CUBLAS_POINTER_MODE_DEVICE), OK);
    ck_assert_int_eq(cublasAxpyEx(h, 1, da, CUDA_R_16F, dx, CUDA_R_16F, 1, dy, CUDA_R_16F, 1,
                                  CUDA_R_16F), OK);
    down(&out, dy, 2);
    ck_assert_float_eq(F(out), 1.501953125f);
    /* ... which a host alpha is not */
    ck_assert_int_eq(cublasAxpyEx(h, 1, &a16, CUDA_R_16F, dx, CUDA_R_16F, 1, dy, CUDA_R_16F, 1,
                                  CUDA_R_16F), CUBLAS_STATUS_EXECUTION_FAILED);
    cublasDestroy_v2(h);
}
END_TEST

START_TEST(test_reduce_status_and_streams)
{
    fill_ones();
    cublasHandle_t h = handle();
    void *d = up(ones, sizeof ones);
    uint16_t r = 0;
    /* validation */
    ck_assert_int_eq(cublasDotEx(NULL, 1, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &r, CUDA_R_16F,
                                 CUDA_R_32F), CUBLAS_STATUS_NOT_INITIALIZED);
    ck_assert_int_eq(cublasDotEx(h, 1, d, CUDA_R_16F, 1, d, CUDA_R_16BF, 1, &r, CUDA_R_16F,
                                 CUDA_R_32F), CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasDotEx(h, 1, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &r, CUDA_R_16BF,
                                 CUDA_R_32F), CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasDotEx(h, 1, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &r, CUDA_R_32F,
                                 CUDA_R_32F), CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasNrm2Ex(h, 1, d, CUDA_R_16F, 1, &r, CUDA_R_32F, CUDA_R_32F),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasDotEx(h, 1, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &r, CUDA_R_16F,
                                 CUDA_R_64F), CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasNrm2Ex(h, 1, d, CUDA_R_8I, 1, &r, CUDA_R_32F, CUDA_R_32F),
                     CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cublasDotEx(h, 1, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, NULL, CUDA_R_16F,
                                 CUDA_R_32F), CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(cublasAxpyEx(h, 1, NULL, CUDA_R_32F, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1,
                                  CUDA_R_32F), CUBLAS_STATUS_INVALID_VALUE);
    /* past the end of the allocation: the kernel fails */
    ck_assert_int_eq(cublasDotEx(h, 4097, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &r, CUDA_R_16F,
                                 CUDA_R_32F), CUBLAS_STATUS_EXECUTION_FAILED);

    /* Host pointer mode synchronizes the stream, as cuBLAS copies the
     * result back; device pointer mode does not. */
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cublasSetStream_v2(h, s), OK);
    unsigned long before = emu_stream_sync_count(s);
    ck_assert_int_eq(cublasDotEx(h, 4096, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &r, CUDA_R_16F,
                                 CUDA_R_16F), OK);
    ck_assert_float_eq(F(r), 2048);
    ck_assert_uint_eq(emu_stream_sync_count(s), before + 1);
    void *dr = NULL;
    ck_assert_int_eq(cudaMalloc(&dr, 4), cudaSuccess);
    ck_assert_int_eq(cublasSetPointerMode_v2(h, CUBLAS_POINTER_MODE_DEVICE), OK);
    ck_assert_int_eq(cublasDotEx(h, 4096, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, dr, CUDA_R_16F,
                                 CUDA_R_32F), OK);
    ck_assert_uint_eq(emu_stream_sync_count(s), before + 1);
    down(&r, dr, 2);
    ck_assert_float_eq(F(r), 4096);
    /* A host result in device pointer mode is not device memory. */
    ck_assert_int_eq(cublasDotEx(h, 4096, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &r, CUDA_R_16F,
                                 CUDA_R_32F), CUBLAS_STATUS_EXECUTION_FAILED);

    /* Captured (device pointer mode): runs at every launch, reading x afresh
     * and writing the result in device memory. */
    static uint16_t twos[4096];
    for (int i = 0; i < 4096; i++)
        twos[i] = H(2);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cublasNrm2Ex(h, 4096, d, CUDA_R_16F, 1, dr, CUDA_R_16F, CUDA_R_32F), OK);
    cudaGraph_t g = NULL;
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    down(&r, dr, 2);
    ck_assert_float_eq(F(r), 4096); /* nothing ran during capture */
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    down(&r, dr, 2);
    ck_assert_float_eq(F(r), 64); /* sqrt(4096) */
    ck_assert_int_eq(cudaMemcpy(d, twos, sizeof twos, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    down(&r, dr, 2);
    ck_assert_float_eq(F(r), 128); /* sqrt(4096 * 4) */
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(g);
    /* A host result cannot come out of a graph. */
    ck_assert_int_eq(cublasSetPointerMode_v2(h, CUBLAS_POINTER_MODE_HOST), OK);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cublasDotEx(h, 4, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1, &r, CUDA_R_16F,
                                 CUDA_R_32F), CUBLAS_STATUS_NOT_SUPPORTED);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    cudaGraphDestroy(g);
    cublasDestroy_v2(h);
}
END_TEST

static Suite *emu_suite(void)
{
    Suite *s = suite_create("emu");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_16f_accumulates_in_half);
    tcase_add_test(tc, test_32f_accumulates_in_float);
    tcase_add_test(tc, test_legacy_compute_types);
    tcase_add_test(tc, test_hgemm);
    tcase_add_test(tc, test_split_k);
    tcase_add_test(tc, test_fast_compute_types);
    tcase_add_test(tc, test_transposes_and_leading_dimensions);
    tcase_add_test(tc, test_random_float_against_double);
    tcase_add_test(tc, test_beta_zero_ignores_c);
    tcase_add_test(tc, test_strided_batched);
    tcase_add_test(tc, test_pointer_array_batched);
    tcase_add_test(tc, test_grouped_batched);
    tcase_add_test(tc, test_device_pointer_mode);
    tcase_add_test(tc, test_gemmex_64_ones);
    tcase_add_test(tc, test_sgemm_ex);
    tcase_add_test(tc, test_status_codes);
    tcase_add_test(tc, test_device_pointer_is_not_host_memory);
    tcase_add_test(tc, test_memory_translation);
    tcase_add_test(tc, test_driver_needs_init_and_context);
    tcase_add_test(tc, test_runtime_context_per_thread);
    tcase_add_test(tc, test_get_proc_address);
    tcase_add_test(tc, test_kernel_launch);
    tcase_add_test(tc, test_real_fatbin);
    tcase_add_test(tc, test_sync_counting);
    tcase_add_test(tc, test_null_compute);
    tcase_add_test(tc, test_capture_and_replay);
    tcase_add_test(tc, test_capture_invalidation);
    tcase_add_test(tc, test_capture_two_streams);
    tcase_add_test(tc, test_device_properties);
    tcase_add_test(tc, test_mem_info_and_reset);
    tcase_add_test(tc, test_managed_memory);
    tcase_add_test(tc, test_host_register);
    tcase_add_test(tc, test_pointer_attributes);
    tcase_add_test(tc, test_memcpy_2d);
    tcase_add_test(tc, test_malloc_async);
    tcase_add_test(tc, test_stream_priority_and_host_func);
    tcase_add_test(tc, test_set_get_matrix);
    tcase_add_test(tc, test_set_get_vector);
    tcase_add_test(tc, test_handle_settings);
    tcase_add_test(tc, test_sgemm_batched);
    tcase_add_test(tc, test_saxpy);
    tcase_add_test(tc, test_dotex);
    tcase_add_test(tc, test_nrm2ex);
    tcase_add_test(tc, test_axpyex);
    tcase_add_test(tc, test_reduce_status_and_streams);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(emu_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
