/* gemm_plugin: a plugin shared library (think of a Python extension module)
 * that does FP16 GEMM work through cuBLAS. The host program loads it with
 * dlopen(RTLD_LOCAL | RTLD_NOW); libcublas and libcudart come in as its
 * dependencies, so their symbols are not in the global scope.
 *
 * int gemm_plugin_run(int k, int keep_going, struct gemm_plugin_result *r)
 *   runs cublasGemmEx(CUBLAS_COMPUTE_16F) on all-ones FP16 data, m = n = 4,
 *   the given k. With keep_going != 0 a failed CUDA/cuBLAS set-up does not
 *   stop it: the GEMM is still issued (with whatever handle and pointers it
 *   has, possibly NULL), so that the GEMM's own status is observable on a
 *   machine without a GPU. Returns 0 when everything succeeded. */
#include <stdlib.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "apputil.h"
#include "gemm_plugin.h"

#define PM 4
#define PN 4

__attribute__((visibility("default"))) int
gemm_plugin_run(int k, int keep_going, struct gemm_plugin_result *r)
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
    r->create_status = (int)cublasCreate(&h);
    if (r->create_status != CUBLAS_STATUS_SUCCESS) {
        h = NULL;
        ok = 0;
        if (!keep_going)
            goto out;
    }
    {
        half_t alpha = app_float_to_half(1.0f), beta = app_float_to_half(0.0f);
        r->gemm_status = (int)cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, PM, PN, k,
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
        cublasDestroy(h);
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
