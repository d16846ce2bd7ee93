/* dlsym_app: reaches cuBLAS the way JAX/XLA and TensorFlow do: it opens
 * libcublas.so.13 itself (dlopen RTLD_LOCAL) and looks every entry point up
 * with dlsym on that handle. It links the CUDA runtime, not cuBLAS.
 *
 *   dlsym_app [--k K] [--keep-going] [--probe SONAME SYMBOL]... [--cudnn-create]
 *
 * For each --probe it opens SONAME the same way, looks SYMBOL up and prints
 * found_SYMBOL=0|1 and in_safehalf_SYMBOL=0|1 (1 when the address dlsym gave
 * lies in a libsafehalf* object). --cudnn-create also calls the cudnnCreate
 * (and cudnnDestroy) it looks up in libcudnn.so.9: cudnn_create_status. Then cublasGemmEx with CUBLAS_COMPUTE_16F
 * on all-ones FP16 data, m = n = 4 and the given k (default 4096): prints
 * gemm_in_safehalf, create_status, status (cublasGemmEx's), c0, cmin, cmax,
 * and cuda_error when a CUDA runtime call failed. With --keep-going a failed
 * set-up still issues the GEMM (NULL handle and pointers), so its status is
 * observable without a GPU. Exit 0 on success, 1 when a CUDA/cuBLAS call
 * failed, 3 when the library or a symbol cannot be found. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_api.h>
#include <cuda_runtime.h>

#include "apputil.h"

#define DM 4
#define DN 4

typedef cublasStatus_t (*create_fn)(cublasHandle_t *);
typedef cublasStatus_t (*destroy_fn)(cublasHandle_t);
typedef cublasStatus_t (*gemmex_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                    int, const void *, const void *, cudaDataType, int,
                                    const void *, cudaDataType, int, const void *, void *,
                                    cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);

static int in_safehalf(void *p)
{
    Dl_info info;
    if (!p || !dladdr(p, &info) || !info.dli_fname)
        return 0;
    const char *slash = strrchr(info.dli_fname, '/');
    const char *base = slash ? slash + 1 : info.dli_fname;
    return strncmp(base, "libsafehalf", 11) == 0;
}

static void *lookup(const char *soname, const char *symbol)
{
    void *lib = dlopen(soname, RTLD_LOCAL | RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "dlsym_app: dlopen %s: %s\n", soname, dlerror());
        return NULL;
    }
    return dlsym(lib, symbol);
}

static int usage(void)
{
    fprintf(stderr, "usage: dlsym_app [--k K] [--keep-going] [--probe SONAME SYMBOL]... "
                    "[--cudnn-create]\n");
    return 64;
}

int main(int argc, char **argv)
{
    int k = 4096, keep_going = 0, missing = 0, cudnn = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--k") == 0 && i + 1 < argc) {
            k = atoi(argv[++i]);
            if (k < 1)
                return usage();
        } else if (strcmp(argv[i], "--keep-going") == 0) {
            keep_going = 1;
        } else if (strcmp(argv[i], "--cudnn-create") == 0) {
            cudnn = 1;
        } else if (strcmp(argv[i], "--probe") == 0 && i + 2 < argc) {
            const char *soname = argv[++i], *symbol = argv[++i];
            void *p = lookup(soname, symbol);
            printf("found_%s=%d\n", symbol, p != NULL);
            printf("in_safehalf_%s=%d\n", symbol, in_safehalf(p));
            missing |= p == NULL;
        } else {
            return usage();
        }
    }

    if (cudnn) {
        /* cuDNN's handle is one pointer, its status an int: no cudnn.h needed */
        int (*dnn_create)(void **), (*dnn_destroy)(void *);
        *(void **)&dnn_create = lookup("libcudnn.so.9", "cudnnCreate");
        *(void **)&dnn_destroy = lookup("libcudnn.so.9", "cudnnDestroy");
        if (!dnn_create || !dnn_destroy)
            return 3;
        void *dh = NULL;
        int st = dnn_create(&dh);
        printf("cudnn_create_status=%d\n", st);
        if (st == 0)
            dnn_destroy(dh);
    }

    create_fn create;
    destroy_fn destroy;
    gemmex_fn gemmex;
    *(void **)&create = lookup("libcublas.so.13", "cublasCreate_v2");
    *(void **)&destroy = lookup("libcublas.so.13", "cublasDestroy_v2");
    *(void **)&gemmex = lookup("libcublas.so.13", "cublasGemmEx");
    if (!create || !destroy || !gemmex) {
        fprintf(stderr, "dlsym_app: cuBLAS entry points not found\n");
        return 3;
    }
    printf("gemm_in_safehalf=%d\n", in_safehalf(*(void **)&gemmex));

    size_t na = (size_t)DM * k, nb = (size_t)k * DN, nc = (size_t)DM * DN;
    half_t *ha = malloc(na * sizeof *ha), *hb = malloc(nb * sizeof *hb);
    half_t hc[DM * DN];
    void *da = NULL, *db = NULL, *dc = NULL;
    cublasHandle_t h = NULL;
    int ok = 1;
    if (!ha || !hb)
        return 1;
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
        printf("cuda_error=%d\n", (int)ce);
        ok = 0;
        if (!keep_going)
            goto out;
    }
    cublasStatus_t cs = create(&h);
    printf("create_status=%d\n", (int)cs);
    if (cs != CUBLAS_STATUS_SUCCESS) {
        h = NULL;
        ok = 0;
        if (!keep_going)
            goto out;
    }
    {
        half_t alpha = app_float_to_half(1.0f), beta = app_float_to_half(0.0f);
        cs = gemmex(h, CUBLAS_OP_N, CUBLAS_OP_N, DM, DN, k, &alpha, da, CUDA_R_16F, DM, db,
                    CUDA_R_16F, k, &beta, dc, CUDA_R_16F, DM, CUBLAS_COMPUTE_16F,
                    CUBLAS_GEMM_DEFAULT);
        printf("status=%d\n", (int)cs);
    }
    if (cs != CUBLAS_STATUS_SUCCESS || !ok) {
        ok = 0;
        goto out;
    }
    ce = cudaMemcpy(hc, dc, nc * sizeof(half_t), cudaMemcpyDeviceToHost);
    if (ce != cudaSuccess) {
        printf("cuda_error=%d\n", (int)ce);
        ok = 0;
        goto out;
    }
    float c0, cmin, cmax;
    app_half_range(hc, nc, &c0, &cmin, &cmax);
    printf("c0=%g\ncmin=%g\ncmax=%g\n", c0, cmin, cmax);
out:
    if (h)
        destroy(h);
    cudaFree(da);
    cudaFree(db);
    cudaFree(dc);
    free(ha);
    free(hb);
    return missing ? 3 : ok ? 0 : 1;
}
