/* gemm_speed: throughput of one FP16 GEMM shape, as an ordinary cuBLAS
 * program measures it (it knows nothing of safehalf). scripts/gpu-suite runs
 * it without the shim for COMPUTE_16F and COMPUTE_32F, and under the shim,
 * where COMPUTE_16F becomes COMPUTE_32F and every output is scanned: the
 * price of the upcast and of the check on this GPU.
 *
 *   gemm_speed [--m M] [--n N] [--k K] [--compute 16F|32F]
 *              [--iters N] [--warmup N] [--reps N]
 *
 * A, B uniform in [-1, 1), C FP16, all CUBLAS_OP_N, alpha = 1, beta = 0
 * (halves for 16F, floats for 32F), CUBLAS_GEMM_DEFAULT, the default
 * stream. After --warmup calls, --reps timings of --iters back-to-back
 * calls between two CUDA events; the best and the median of the reps.
 *
 * Output, one key=value per line: m, n, k, compute, iters, reps, status,
 * ms_best, ms_median (per GEMM), tflops_best, tflops_median (2mnk / time),
 * inf, nan (over C after the last call). Exit 0 when every call succeeded,
 * 1 on a CUDA error, 2 on bad usage or a cuBLAS error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "apputil.h"

static void die_cuda(cudaError_t e, const char *what)
{
    printf("cuda_error=%d\n", (int)e);
    fprintf(stderr, "gemm_speed: %s: %s\n", what, cudaGetErrorString(e));
    exit(1);
}
#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess)                                                                     \
            die_cuda(e_, #call);                                                                   \
    } while (0)

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static half_t *random_halves(size_t n, uint64_t seed)
{
    half_t *h = malloc(n * sizeof *h);
    if (!h) {
        fprintf(stderr, "gemm_speed: out of host memory\n");
        exit(1);
    }
    app_rng r = { 0x9e3779b97f4a7c15ull * seed };
    for (size_t i = 0; i < n; i++)
        h[i] = app_float_to_half((float)app_rng_sym(&r));
    return h;
}

int main(int argc, char **argv)
{
    long long m = 4096, n = 4096, k = 4096;
    int iters = 20, warmup = 5, reps = 5, c16 = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            goto usage;
        if (!strcmp(a, "--m"))
            m = atoll(v);
        else if (!strcmp(a, "--n"))
            n = atoll(v);
        else if (!strcmp(a, "--k"))
            k = atoll(v);
        else if (!strcmp(a, "--iters"))
            iters = atoi(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atoi(v);
        else if (!strcmp(a, "--reps"))
            reps = atoi(v);
        else if (!strcmp(a, "--compute") && (!strcmp(v, "16F") || !strcmp(v, "32F")))
            c16 = !strcmp(v, "16F");
        else
            goto usage;
        i++;
    }
    if (m < 1 || n < 1 || k < 1 || m > 65536 || n > 65536 || k > 65536 || iters < 1 ||
        warmup < 0 || reps < 1 || reps > 1000)
        goto usage;

    half_t *ha = random_halves((size_t)(m * k), 1), *hb = random_halves((size_t)(k * n), 2);
    void *A, *B, *C;
    CK(cudaMalloc(&A, (size_t)(m * k) * sizeof(half_t)));
    CK(cudaMalloc(&B, (size_t)(k * n) * sizeof(half_t)));
    CK(cudaMalloc(&C, (size_t)(m * n) * sizeof(half_t)));
    CK(cudaMemcpy(A, ha, (size_t)(m * k) * sizeof(half_t), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(B, hb, (size_t)(k * n) * sizeof(half_t), cudaMemcpyHostToDevice));
    free(ha);
    free(hb);

    cublasHandle_t h;
    cublasStatus_t st = cublasCreate(&h);
    if (st != CUBLAS_STATUS_SUCCESS) {
        printf("status=%d\n", (int)st);
        return 2;
    }
    half_t hone = app_float_to_half(1.0f), hzero = app_float_to_half(0.0f);
    float fone = 1.0f, fzero = 0.0f;
    const void *alpha = c16 ? (const void *)&hone : (const void *)&fone;
    const void *beta = c16 ? (const void *)&hzero : (const void *)&fzero;
    cublasComputeType_t compute = c16 ? CUBLAS_COMPUTE_16F : CUBLAS_COMPUTE_32F;

    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    float *ms = malloc(sizeof(float) * (size_t)reps);
    for (int r = -1; r < reps && st == CUBLAS_STATUS_SUCCESS; r++) {
        int count = r < 0 ? warmup : iters; /* r = -1: the warm-up */
        CK(cudaEventRecord(e0, 0));
        for (int i = 0; i < count && st == CUBLAS_STATUS_SUCCESS; i++)
            st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)m, (int)n, (int)k, alpha, A,
                              CUDA_R_16F, (int)m, B, CUDA_R_16F, (int)k, beta, C, CUDA_R_16F,
                              (int)m, compute, CUBLAS_GEMM_DEFAULT);
        CK(cudaEventRecord(e1, 0));
        CK(cudaEventSynchronize(e1));
        if (r >= 0) {
            CK(cudaEventElapsedTime(&ms[r], e0, e1));
            ms[r] /= (float)iters;
        }
    }
    printf("m=%lld\nn=%lld\nk=%lld\ncompute=%s\niters=%d\nreps=%d\nstatus=%d\n", m, n, k,
           c16 ? "16F" : "32F", iters, reps, (int)st);
    if (st != CUBLAS_STATUS_SUCCESS)
        return 2;
    qsort(ms, (size_t)reps, sizeof *ms, cmp_float);
    double flop = 2.0 * (double)m * (double)n * (double)k;
    double best = ms[0], med = ms[reps / 2];
    printf("ms_best=%.4f\nms_median=%.4f\n", best, med);
    printf("tflops_best=%.1f\ntflops_median=%.1f\n", best > 0 ? flop / best / 1e9 : 0.0,
           med > 0 ? flop / med / 1e9 : 0.0);

    half_t *hc = malloc((size_t)(m * n) * sizeof(half_t));
    if (!hc)
        return 1;
    CK(cudaMemcpy(hc, C, (size_t)(m * n) * sizeof(half_t), cudaMemcpyDeviceToHost));
    size_t inf = 0, nan = 0;
    for (size_t i = 0; i < (size_t)(m * n); i++) {
        unsigned e = (hc[i].x >> 10) & 0x1fu, f = hc[i].x & 0x3ffu;
        inf += e == 0x1fu && f == 0;
        nan += e == 0x1fu && f != 0;
    }
    printf("inf=%zu\nnan=%zu\n", inf, nan);
    free(hc);
    free(ms);
    cublasDestroy(h);
    cudaFree(A);
    cudaFree(B);
    cudaFree(C);
    return 0;

usage:
    fprintf(stderr, "usage: gemm_speed [--m M] [--n N] [--k K] [--compute 16F|32F] [--iters N] "
                    "[--warmup N] [--reps N]\n");
    return 2;
}
