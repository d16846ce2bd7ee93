/* threads_app: an ordinary multi-threaded cuBLAS program. Each of NTHREADS
 * threads creates its own handle and stream, runs an FP16-compute GemmEx on
 * all-ones data (m = n = 8, k = 4096 unless given) and reads C back.
 *
 *   threads_app [K]
 *
 * Prints t<i>_status=<cublasStatus_t>, t<i>=<C[0]>, t<i>_min, t<i>_max for
 * every thread, then status=0 when every call succeeded (exit 0), or the
 * first failure (exit 1). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "apputil.h"

#define NTHREADS 4
#define M 8
#define N 8

struct job {
    int id;
    int k;
    int cuda_err;      /* first CUDA error, 0 if none */
    int create_status;
    int gemm_status;
    float c0, cmin, cmax;
};

static void *worker(void *arg)
{
    struct job *j = arg;
    const int k = j->k;
    size_t na = (size_t)M * k, nb = (size_t)k * N, nc = (size_t)M * N;
    half_t *ha = malloc(na * sizeof *ha), *hb = malloc(nb * sizeof *hb);
    half_t hc[M * N];
    void *da = NULL, *db = NULL, *dc = NULL;
    cudaStream_t s = NULL;
    cublasHandle_t h = NULL;
    cudaError_t ce;

    j->create_status = j->gemm_status = -1;
    if (!ha || !hb) {
        j->cuda_err = 2; /* cudaErrorMemoryAllocation */
        goto out;
    }
    for (size_t i = 0; i < na; i++)
        ha[i] = app_float_to_half(1.0f);
    for (size_t i = 0; i < nb; i++)
        hb[i] = app_float_to_half(1.0f);

#define TRY(call)                                                              \
    do {                                                                       \
        ce = (call);                                                           \
        if (ce != cudaSuccess) {                                               \
            j->cuda_err = (int)ce;                                             \
            goto out;                                                          \
        }                                                                      \
    } while (0)
    TRY(cudaStreamCreate(&s));
    TRY(cudaMalloc(&da, na * sizeof(half_t)));
    TRY(cudaMalloc(&db, nb * sizeof(half_t)));
    TRY(cudaMalloc(&dc, nc * sizeof(half_t)));
    TRY(cudaMemcpyAsync(da, ha, na * sizeof(half_t), cudaMemcpyHostToDevice, s));
    TRY(cudaMemcpyAsync(db, hb, nb * sizeof(half_t), cudaMemcpyHostToDevice, s));
    TRY(cudaMemsetAsync(dc, 0, nc * sizeof(half_t), s));

    j->create_status = (int)cublasCreate(&h);
    if (j->create_status != CUBLAS_STATUS_SUCCESS)
        goto out;
    j->gemm_status = (int)cublasSetStream(h, s);
    if (j->gemm_status != CUBLAS_STATUS_SUCCESS)
        goto out;
    {
        half_t alpha = app_float_to_half(1.0f), beta = app_float_to_half(0.0f);
        j->gemm_status = (int)cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, M, N, k,
                                           &alpha, da, CUDA_R_16F, M, db,
                                           CUDA_R_16F, k, &beta, dc, CUDA_R_16F,
                                           M, CUBLAS_COMPUTE_16F,
                                           CUBLAS_GEMM_DEFAULT);
    }
    if (j->gemm_status != CUBLAS_STATUS_SUCCESS)
        goto out;
    TRY(cudaMemcpyAsync(hc, dc, nc * sizeof(half_t), cudaMemcpyDeviceToHost, s));
    TRY(cudaStreamSynchronize(s));
#undef TRY
    app_half_range(hc, nc, &j->c0, &j->cmin, &j->cmax);
out:
    if (h)
        cublasDestroy(h);
    if (da)
        cudaFree(da);
    if (db)
        cudaFree(db);
    if (dc)
        cudaFree(dc);
    if (s)
        cudaStreamDestroy(s);
    free(ha);
    free(hb);
    return NULL;
}

int main(int argc, char **argv)
{
    int k = argc > 1 ? atoi(argv[1]) : 4096;
    if (k <= 0) {
        fprintf(stderr, "usage: threads_app [K]\n");
        return 64;
    }
    pthread_t t[NTHREADS];
    struct job jobs[NTHREADS];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < NTHREADS; i++) {
        jobs[i].id = i;
        jobs[i].k = k;
        if (pthread_create(&t[i], NULL, worker, &jobs[i]) != 0) {
            fprintf(stderr, "threads_app: pthread_create failed\n");
            return 1;
        }
    }
    int failed = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        struct job *j = &jobs[i];
        if (j->cuda_err) {
            printf("t%d_cuda_error=%d\n", i, j->cuda_err);
            failed = 1;
        }
        printf("t%d_create_status=%d\n", i, j->create_status);
        printf("t%d_status=%d\n", i, j->gemm_status);
        if (j->cuda_err || j->create_status != 0 || j->gemm_status != 0) {
            failed = 1;
            continue;
        }
        printf("t%d=%.9g\nt%d_min=%.9g\nt%d_max=%.9g\n", i, (double)j->c0, i,
               (double)j->cmin, i, (double)j->cmax);
    }
    printf("status=%d\n", failed);
    return failed;
}
