/* status_app: prints the status every intercepted cuBLAS entry point returns.
 *
 *   status_app
 *
 * Calls cublasCreate_v2 and prints `cublasCreate_v2=<status>`. Then calls each
 * of the 12 FP16 GEMM entry points (Hgemm, HgemmBatched, HgemmStridedBatched,
 * GemmEx, GemmBatchedEx, GemmStridedBatchedEx and their _64 forms, the Ex ones
 * with CUBLAS_COMPUTE_16F), cublasSgemmEx and cublasSgemmEx_64 (FP16 A/B/C,
 * float alpha and beta), cublasSetMathMode and cublasGetMathMode, and the
 * reductions cublasDotEx, cublasNrm2Ex, cublasAxpyEx and their _64 forms
 * (FP16 vectors and result, execution type CUDA_R_32F, a float alpha, as
 * PyTorch calls them) with that handle (NULL when creation failed) and NULL
 * matrix and vector pointers, printing `<symbol>=<status>` for each. When
 * the handle is valid the sizes are 0 so that no matrix memory is touched
 * (a quick return); otherwise 16.
 *
 *   status_app reduce16
 *
 * makes only the six reductions, with execution type CUDA_R_16F and a half
 * alpha (which NVIDIA's cuBLAS 13 refuses).
 *
 * Last come cublasGemmGroupedBatchedEx and its _64 form (two groups of
 * FP16 GEMMs, COMPUTE_32F, NULL pointer arrays), then the 32-bit form again
 * with a NULL m array (`cublasGemmGroupedBatchedEx_null_m`).
 *
 * On a machine without a GPU, run against the real libcublas, every line is
 * the library's own error code. Exit status is always 0 once everything has
 * been printed. */
#include <stdio.h>
#include <string.h>

#include <cublas_v2.h>

#include "apputil.h"

#define SHOW(sym, call) printf("%s=%d\n", sym, (int)(call))

/* FP16 vectors and result, FP16 (exec16) or FP32 execution, alpha in the
 * execution type, result in host memory. */
static void reductions(cublasHandle_t h, int d, int exec16)
{
    const cudaDataType t = CUDA_R_16F, e = exec16 ? CUDA_R_16F : CUDA_R_32F;
    const half_t hone = {0x3c00u};
    const float fone = 1.0f;
    const void *alpha = exec16 ? (const void *)&hone : (const void *)&fone;
    half_t r = {0};
    SHOW("cublasDotEx", cublasDotEx(h, d, NULL, t, 1, NULL, t, 1, &r, t, e));
    SHOW("cublasDotEx_64", cublasDotEx_64(h, d, NULL, t, 1, NULL, t, 1, &r, t, e));
    SHOW("cublasNrm2Ex", cublasNrm2Ex(h, d, NULL, t, 1, &r, t, e));
    SHOW("cublasNrm2Ex_64", cublasNrm2Ex_64(h, d, NULL, t, 1, &r, t, e));
    SHOW("cublasAxpyEx", cublasAxpyEx(h, d, alpha, e, NULL, t, 1, NULL, t, 1, e));
    SHOW("cublasAxpyEx_64", cublasAxpyEx_64(h, d, alpha, e, NULL, t, 1, NULL, t, 1, e));
}

int main(int argc, char **argv)
{
    cublasHandle_t h = NULL;
    cublasStatus_t cs = cublasCreate_v2(&h);
    printf("cublasCreate_v2=%d\n", (int)cs);
    if (cs != CUBLAS_STATUS_SUCCESS)
        h = NULL;
    printf("handle_null=%d\n", h == NULL);

    const int d = h ? 0 : 16;
    if (argc > 1 && !strcmp(argv[1], "reduce16")) {
        reductions(h, d, 1);
        if (h)
            cublasDestroy_v2(h);
        return 0;
    }
    const long long ld = 16;
    const cublasOperation_t N = CUBLAS_OP_N;
    const half_t one = {0x3c00u}, zero = {0};
    const float fone = 1.0f, fzero = 0.0f;
    const half_t *const *hnull = NULL;
    half_t *const *hcnull = NULL;
    const void *const *vnull = NULL;
    void *const *vcnull = NULL;
    const cudaDataType t = CUDA_R_16F;
    const cublasComputeType_t c16 = CUBLAS_COMPUTE_16F;
    const cublasGemmAlgo_t algo = CUBLAS_GEMM_DEFAULT;

    SHOW("cublasHgemm",
         cublasHgemm(h, N, N, d, d, d, &one, NULL, (int)ld, NULL, (int)ld, &zero,
                     NULL, (int)ld));
    SHOW("cublasHgemm_64",
         cublasHgemm_64(h, N, N, d, d, d, &one, NULL, ld, NULL, ld, &zero, NULL, ld));
    SHOW("cublasHgemmBatched",
         cublasHgemmBatched(h, N, N, d, d, d, &one, hnull, (int)ld, hnull, (int)ld,
                            &zero, hcnull, (int)ld, 2));
    SHOW("cublasHgemmBatched_64",
         cublasHgemmBatched_64(h, N, N, d, d, d, &one, hnull, ld, hnull, ld, &zero,
                               hcnull, ld, 2));
    SHOW("cublasHgemmStridedBatched",
         cublasHgemmStridedBatched(h, N, N, d, d, d, &one, NULL, (int)ld, 256, NULL,
                                   (int)ld, 256, &zero, NULL, (int)ld, 256, 2));
    SHOW("cublasHgemmStridedBatched_64",
         cublasHgemmStridedBatched_64(h, N, N, d, d, d, &one, NULL, ld, 256, NULL,
                                      ld, 256, &zero, NULL, ld, 256, 2));
    SHOW("cublasGemmEx",
         cublasGemmEx(h, N, N, d, d, d, &one, NULL, t, (int)ld, NULL, t, (int)ld,
                      &zero, NULL, t, (int)ld, c16, algo));
    SHOW("cublasGemmEx_64",
         cublasGemmEx_64(h, N, N, d, d, d, &one, NULL, t, ld, NULL, t, ld, &zero,
                         NULL, t, ld, c16, algo));
    SHOW("cublasGemmBatchedEx",
         cublasGemmBatchedEx(h, N, N, d, d, d, &one, vnull, t, (int)ld, vnull, t,
                             (int)ld, &zero, vcnull, t, (int)ld, 2, c16, algo));
    SHOW("cublasGemmBatchedEx_64",
         cublasGemmBatchedEx_64(h, N, N, d, d, d, &one, vnull, t, ld, vnull, t, ld,
                                &zero, vcnull, t, ld, 2, c16, algo));
    SHOW("cublasGemmStridedBatchedEx",
         cublasGemmStridedBatchedEx(h, N, N, d, d, d, &one, NULL, t, (int)ld, 256,
                                    NULL, t, (int)ld, 256, &zero, NULL, t, (int)ld,
                                    256, 2, c16, algo));
    SHOW("cublasGemmStridedBatchedEx_64",
         cublasGemmStridedBatchedEx_64(h, N, N, d, d, d, &one, NULL, t, ld, 256,
                                       NULL, t, ld, 256, &zero, NULL, t, ld, 256, 2,
                                       c16, algo));
    SHOW("cublasSgemmEx",
         cublasSgemmEx(h, N, N, d, d, d, &fone, NULL, t, (int)ld, NULL, t, (int)ld, &fzero,
                       NULL, t, (int)ld));
    SHOW("cublasSgemmEx_64",
         cublasSgemmEx_64(h, N, N, d, d, d, &fone, NULL, t, ld, NULL, t, ld, &fzero, NULL, t,
                          ld));
    reductions(h, d, 0);
    SHOW("cublasSetMathMode", cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH));
    {
        cublasMath_t mode = (cublasMath_t)-1;
        SHOW("cublasGetMathMode", cublasGetMathMode(h, &mode));
        printf("math_mode=%d\n", (int)mode);
    }
    {
        const cublasOperation_t ops[2] = { N, N };
        const int dims[2] = { d, d }, lds[2] = { 16, 16 }, sizes[2] = { 1, 2 };
        const int64_t dims64[2] = { d, d }, lds64[2] = { 16, 16 }, sizes64[2] = { 1, 2 };
        const float ones[2] = { 1, 1 }, zeros[2] = { 0, 0 };
        SHOW("cublasGemmGroupedBatchedEx",
             cublasGemmGroupedBatchedEx(h, ops, ops, dims, dims, dims, ones, vnull, t, lds,
                                        vnull, t, lds, zeros, vcnull, t, lds, 2, sizes,
                                        CUBLAS_COMPUTE_32F));
        SHOW("cublasGemmGroupedBatchedEx_64",
             cublasGemmGroupedBatchedEx_64(h, ops, ops, dims64, dims64, dims64, ones, vnull, t,
                                           lds64, vnull, t, lds64, zeros, vcnull, t, lds64, 2,
                                           sizes64, CUBLAS_COMPUTE_32F));
        SHOW("cublasGemmGroupedBatchedEx_null_m",
             cublasGemmGroupedBatchedEx(h, ops, ops, NULL, dims, dims, ones, vnull, t, lds,
                                        vnull, t, lds, zeros, vcnull, t, lds, 2, sizes,
                                        CUBLAS_COMPUTE_32F));
    }
    if (h)
        printf("cublasDestroy_v2=%d\n", (int)cublasDestroy_v2(h));
    return 0;
}
