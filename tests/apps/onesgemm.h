/* The GEMM gemm_plugin and dlsym_app make: cublasGemmEx(CUBLAS_COMPUTE_16F)
 * on all-ones FP16 data, m = n = 4, the given k, through whichever cuBLAS
 * functions the caller has (linked, or looked up with dlsym). With
 * keep_going != 0 a failed CUDA/cuBLAS set-up does not stop it: the GEMM is
 * still issued (with whatever handle and pointers it has, possibly NULL), so
 * that the GEMM's own status is observable on a machine without a GPU.
 * Returns 0 when everything succeeded. */
#ifndef SAFEHALF_TEST_ONESGEMM_H
#define SAFEHALF_TEST_ONESGEMM_H

#include <stdlib.h>

#include <cublas_api.h>
#include <cuda_runtime.h>

#include "apputil.h"
#include "gemm_plugin.h"

#define PM 4
#define PN 4

struct ones_gemm_fns {
    cublasStatus_t (*create)(cublasHandle_t *);
    cublasStatus_t (*destroy)(cublasHandle_t);
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                              int, const void *, const void *, cudaDataType, int, const void *,
                              cudaDataType, int, const void *, void *, cudaDataType, int,
                              cublasComputeType_t, cublasGemmAlgo_t);
};

static inline int ones_gemm_run(const struct ones_gemm_fns *f, int k, int keep_going,
                                struct gemm_plugin_result *r)
{
    size_t na = (size_t)PM * k, nb = (size_t)k * PN, nc = (size_t)PM * PN;
    half_t *ha = malloc(na * sizeof *ha), *hb = malloc(nb * sizeof *hb);
    half_t hc[PM * PN];
    void *da = NULL, *db = NULL, *dc = NULL;
    cublasHandle_t h = NULL;
    int ok = 1;

    r->cuda_error = 0;
    r->create_status = -1;
    r->gemm_status = -1;
    r->c0 = r->cmin = r->cmax = 0.0f;
    if (!ha || !hb) {
        free(ha);
        free(hb);
        return -1;
    }
    for (size_t i = 0; i < na; i++)
        ha[i] = app_float_to_half(1.0f);
    for (size_t i = 0; i < nb; i++)
        hb[i] = app_float_to_half(1.0f);

    cudaError_t ce = cudaMalloc(&da, na * sizeof(half_t));
    if (ce == cudaSuccess)
        ce = cudaMalloc(&db, nb * sizeof(half_t));
    if (ce == cudaSuccess)
        ce = cudaMalloc(&dc, nc * sizeof(half_t));
    if (ce == cudaSuccess)
        ce = cudaMemcpy(da, ha, na * sizeof(half_t), cudaMemcpyHostToDevice);
    if (ce == cudaSuccess)
        ce = cudaMemcpy(db, hb, nb * sizeof(half_t), cudaMemcpyHostToDevice);
    if (ce == cudaSuccess)
        ce = cudaMemset(dc, 0, nc * sizeof(half_t));
    if (ce != cudaSuccess) {
        r->cuda_error = (int)ce;
        ok = 0;
        if (!keep_going)
            goto out;
    }
    r->create_status = (int)f->create(&h);
    if (r->create_status != CUBLAS_STATUS_SUCCESS) {
        h = NULL;
        ok = 0;
        if (!keep_going)
            goto out;
    }
    {
        half_t alpha = app_float_to_half(1.0f), beta = app_float_to_half(0.0f);
        r->gemm_status = (int)f->gemm_ex(h, CUBLAS_OP_N, CUBLAS_OP_N, PM, PN, k,
                                           &alpha, da, CUDA_R_16F, PM, db,
                                           CUDA_R_16F, k, &beta, dc, CUDA_R_16F,
                                           PM, CUBLAS_COMPUTE_16F,
                                           CUBLAS_GEMM_DEFAULT);
    }
    if (r->gemm_status != CUBLAS_STATUS_SUCCESS || !ok) {
        ok = 0;
        goto out;
    }
    ce = cudaMemcpy(hc, dc, nc * sizeof(half_t), cudaMemcpyDeviceToHost);
    if (ce != cudaSuccess) {
        r->cuda_error = (int)ce;
        ok = 0;
        goto out;
    }
    app_half_range(hc, nc, &r->c0, &r->cmin, &r->cmax);
out:
    if (h)
        f->destroy(h);
    if (da)
        cudaFree(da);
    if (db)
        cudaFree(db);
    if (dc)
        cudaFree(dc);
    free(ha);
    free(hb);
    return ok ? 0 : 1;
}

#endif
