/* Emulated libcublas.so.13: the Hgemm family.
 *
 * Kept apart from the Ex entry points it calls, so that no compiler can
 * bind those calls inside the translation unit: they go through the PLT. */
#include <stdio.h>

#include "emu.h"

/* The Hgemm family goes through the public Ex entry points by an ordinary,
 * interposable call, as the real library calls its own API: a preloaded
 * shim sees these inner calls too and must cope with the re-entry. */

static void trace_forward(const char *api, const char *to, int64_t m, int64_t n, int64_t k)
{
    if (emu_trace())
        fprintf(stderr, "emu: %s m=%lld n=%lld k=%lld -> %s\n", api, (long long)m,
                (long long)n, (long long)k, to);
}

EMU_API cublasStatus_t cublasHgemm(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const sh_half *alpha, const sh_half *A,
    int lda, const sh_half *B, int ldb, const sh_half *beta, sh_half *C, int ldc)
{
    trace_forward("cublasHgemm", "cublasGemmEx", m, n, k);
    return cublasGemmEx(handle, transa, transb, m, n, k, alpha, A, CUDA_R_16F, lda, B,
                        CUDA_R_16F, ldb, beta, C, CUDA_R_16F, ldc, CUBLAS_COMPUTE_16F,
                        CUBLAS_GEMM_DEFAULT);
}

EMU_API cublasStatus_t cublasHgemm_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const sh_half *alpha,
    const sh_half *A, int64_t lda, const sh_half *B, int64_t ldb, const sh_half *beta,
    sh_half *C, int64_t ldc)
{
    trace_forward("cublasHgemm_64", "cublasGemmEx_64", m, n, k);
    return cublasGemmEx_64(handle, transa, transb, m, n, k, alpha, A, CUDA_R_16F, lda, B,
                           CUDA_R_16F, ldb, beta, C, CUDA_R_16F, ldc, CUBLAS_COMPUTE_16F,
                           CUBLAS_GEMM_DEFAULT);
}

EMU_API cublasStatus_t cublasHgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const sh_half *alpha,
    const sh_half *const Aarray[], int lda, const sh_half *const Barray[], int ldb,
    const sh_half *beta, sh_half *const Carray[], int ldc, int batchCount)
{
    trace_forward("cublasHgemmBatched", "cublasGemmBatchedEx", m, n, k);
    return cublasGemmBatchedEx(handle, transa, transb, m, n, k, alpha,
                               (const void *const *)Aarray, CUDA_R_16F, lda,
                               (const void *const *)Barray, CUDA_R_16F, ldb, beta,
                               (void *const *)Carray, CUDA_R_16F, ldc, batchCount,
                               CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT);
}

EMU_API cublasStatus_t cublasHgemmBatched_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const sh_half *alpha,
    const sh_half *const Aarray[], int64_t lda, const sh_half *const Barray[], int64_t ldb,
    const sh_half *beta, sh_half *const Carray[], int64_t ldc, int64_t batchCount)
{
    trace_forward("cublasHgemmBatched_64", "cublasGemmBatchedEx_64", m, n, k);
    return cublasGemmBatchedEx_64(handle, transa, transb, m, n, k, alpha,
                                  (const void *const *)Aarray, CUDA_R_16F, lda,
                                  (const void *const *)Barray, CUDA_R_16F, ldb, beta,
                                  (void *const *)Carray, CUDA_R_16F, ldc, batchCount,
                                  CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT);
}

EMU_API cublasStatus_t cublasHgemmStridedBatched(cublasHandle_t handle,
    cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const sh_half *alpha, const sh_half *A, int lda, long long int strideA, const sh_half *B,
    int ldb, long long int strideB, const sh_half *beta, sh_half *C, int ldc,
    long long int strideC, int batchCount)
{
    trace_forward("cublasHgemmStridedBatched", "cublasGemmStridedBatchedEx", m, n, k);
    return cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, A, CUDA_R_16F,
                                      lda, strideA, B, CUDA_R_16F, ldb, strideB, beta, C,
                                      CUDA_R_16F, ldc, strideC, batchCount,
                                      CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT);
}

EMU_API cublasStatus_t cublasHgemmStridedBatched_64(cublasHandle_t handle,
    cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
    const sh_half *alpha, const sh_half *A, int64_t lda, long long int strideA,
    const sh_half *B, int64_t ldb, long long int strideB, const sh_half *beta, sh_half *C,
    int64_t ldc, long long int strideC, int64_t batchCount)
{
    trace_forward("cublasHgemmStridedBatched_64", "cublasGemmStridedBatchedEx_64", m, n, k);
    return cublasGemmStridedBatchedEx_64(handle, transa, transb, m, n, k, alpha, A,
                                         CUDA_R_16F, lda, strideA, B, CUDA_R_16F, ldb,
                                         strideB, beta, C, CUDA_R_16F, ldc, strideC,
                                         batchCount, CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT);
}
