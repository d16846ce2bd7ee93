/* Host cost of one cuBLAS GEMM call, as an ordinary program sees it. Run it
 * on the emulated backend with EMU_NULL_COMPUTE=1 (the library validates its
 * arguments and returns without computing), with and without the shim
 * preloaded: the difference is what the shim adds to every call.
 *
 *   bench_host CASE [--batches N] [--calls N] [--n N]
 *   CASE: gemm32 (FP32 accumulation, nothing to rewrite), gemm16
 *         (COMPUTE_16F, host scalars), hgemm (cublasHgemm), gemm16dev
 *         (COMPUTE_16F, half scalars in device memory); lt32 and lt16:
 *         cublasLtMatmul with FP16 data and a descriptor made once with
 *         COMPUTE_32F (PyTorch's addmm) or COMPUTE_16F (half scalars), the
 *         algorithm from the program's own heuristic query; lt32raii: the
 *         same COMPUTE_32F matmul with its descriptor (TRANSA and TRANSB
 *         set) and three layouts created before and destroyed after every
 *         call, as PyTorch does (the algorithm still queried once);
 *         gemm16dl: gemm16 through the cublasGemmEx that dlsym finds on
 *         the program's own handle of libcublas.so.13, as JAX/XLA looks it
 *         up (the real one, or the shim's with the audit module);
 *         setstream: cublasSetStream_v2, a cuBLAS call the shim does not
 *         intercept (what LD_AUDIT costs the calls it leaves alone);
 *         gemm32shapes: gemm32 with m going round 1 .. --shapes S (default
 *         8192) call after call, a server's dynamic shapes: more call
 *         sites than the shim's table holds
 *
 * --n: the GEMMs are n x n x n (default 16). With the shim checking FP16
 * outputs, the emulated scan kernel runs on the CPU inside the call, so
 * check costs are measured with n = 1: what is left is the host's part
 * (launch and slot handling), as it would be with a GPU doing the scan.
 *
 * Prints case, calls, median_ns, p10_ns, p90_ns: nanoseconds per call over
 * batches of back-to-back calls (the median of the batches' averages). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dlfcn.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

typedef struct { unsigned short x; } half_t;
cublasStatus_t cublasHgemm(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                           const half_t *, const half_t *, int, const half_t *, int,
                           const half_t *, half_t *, int);

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One n x n x n cuBLASLt matmul, set up as a program sets it up once. */
struct lt {
    cublasLtHandle_t h;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t l;
    cublasLtMatmulAlgo_t algo;
};

static int lt_setup(struct lt *t, cublasComputeType_t compute, int n)
{
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulHeuristicResult_t r;
    int got = 0;
    if (cublasLtCreate(&t->h) ||
        cublasLtMatmulDescCreate(&t->desc, compute,
                                 compute == CUBLAS_COMPUTE_16F ? CUDA_R_16F : CUDA_R_32F) ||
        cublasLtMatrixLayoutCreate(&t->l, CUDA_R_16F, (uint64_t)n, (uint64_t)n, n) ||
        cublasLtMatmulPreferenceCreate(&pref) ||
        cublasLtMatmulAlgoGetHeuristic(t->h, t->desc, t->l, t->l, t->l, t->l, pref, 1, &r, &got) ||
        got < 1)
        return -1;
    t->algo = r.algo;
    cublasLtMatmulPreferenceDestroy(pref);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_host gemm32|gemm16|hgemm|gemm16dev|gemm16dl|lt32|lt16|"
                        "lt32raii|setstream|gemm32shapes [--batches N] [--calls N] [--n N] "
                        "[--shapes S]\n");
        return 2;
    }
    const char *which = argv[1];
    int batches = 201, calls = 2000, n = 16, shapes = 8192;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batches"))
            batches = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--calls"))
            calls = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--n"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--shapes"))
            shapes = atoi(argv[i + 1]);
    }
    if (n < 1 || batches < 10 || calls < 1 || shapes < 1) {
        fprintf(stderr, "bench_host: bad arguments\n");
        return 2;
    }
    void *A, *B, *C;
    half_t *dscal;
    cublasHandle_t h;
    /* room for the largest m of gemm32shapes too */
    size_t elems = (size_t)n * (size_t)(n > shapes ? n : shapes);
    if (cudaMalloc(&A, elems * 4) || cudaMalloc(&B, elems * 4) || cudaMalloc(&C, elems * 4) ||
        cudaMalloc((void **)&dscal, 2 * sizeof(half_t)) || cublasCreate(&h)) {
        fprintf(stderr, "bench_host: CUDA set-up failed\n");
        return 1;
    }
    half_t one = { 0x3c00 }, zero = { 0 }, hs[2] = { { 0x3c00 }, { 0 } };
    float fone = 1.0f, fzero = 0.0f;
    cudaMemcpy(dscal, hs, sizeof hs, cudaMemcpyHostToDevice);
    struct lt lt = { 0 };
    int lt16 = !strcmp(which, "lt16"), raii = !strcmp(which, "lt32raii");
    if ((lt16 || raii || !strcmp(which, "lt32")) &&
        lt_setup(&lt, lt16 ? CUBLAS_COMPUTE_16F : CUBLAS_COMPUTE_32F, n)) {
        fprintf(stderr, "bench_host: cuBLASLt set-up failed\n");
        return 1;
    }
    __typeof__(&cublasGemmEx) gemm_dl = NULL;
    if (!strcmp(which, "gemm16dl")) {
        void *lib = dlopen("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
        gemm_dl = lib ? (__typeof__(&cublasGemmEx))dlsym(lib, "cublasGemmEx") : NULL;
        if (!gemm_dl) {
            fprintf(stderr, "bench_host: cublasGemmEx not found with dlsym: %s\n", dlerror());
            return 1;
        }
    }
    const void *lt_alpha = lt16 ? (const void *)&one : (const void *)&fone;
    const void *lt_beta = lt16 ? (const void *)&zero : (const void *)&fzero;

    double *avg = malloc(sizeof(double) * (size_t)batches);
    int next_m = 0;
    for (int b = -5; b < batches; b++) { /* 5 warm-up batches */
        cublasStatus_t s = CUBLAS_STATUS_SUCCESS;
        double t0 = now_ns();
        if (!strcmp(which, "gemm32")) {
            for (int i = 0; i < calls; i++)
                s |= cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &fone, A, CUDA_R_16F, n,
                                  B, CUDA_R_16F, n, &fzero, C, CUDA_R_16F, n, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT);
        } else if (!strcmp(which, "gemm16")) {
            for (int i = 0; i < calls; i++)
                s |= cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, A, CUDA_R_16F, n,
                                  B, CUDA_R_16F, n, &zero, C, CUDA_R_16F, n, CUBLAS_COMPUTE_16F,
                                  CUBLAS_GEMM_DEFAULT);
        } else if (gemm_dl) {
            for (int i = 0; i < calls; i++)
                s |= gemm_dl(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, A, CUDA_R_16F, n, B,
                             CUDA_R_16F, n, &zero, C, CUDA_R_16F, n, CUBLAS_COMPUTE_16F,
                             CUBLAS_GEMM_DEFAULT);
        } else if (!strcmp(which, "gemm32shapes")) {
            for (int i = 0; i < calls; i++) {
                int m = 1 + next_m;
                next_m = (next_m + 1) % shapes;
                s |= cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, n, &fone, A, CUDA_R_16F, m,
                                  B, CUDA_R_16F, n, &fzero, C, CUDA_R_16F, m, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT);
            }
        } else if (!strcmp(which, "setstream")) {
            for (int i = 0; i < calls; i++)
                s |= cublasSetStream(h, 0);
        } else if (!strcmp(which, "hgemm")) {
            for (int i = 0; i < calls; i++)
                s |= cublasHgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, A, n, B, n, &zero,
                                 C, n);
        } else if (!strcmp(which, "gemm16dev")) {
            cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE);
            for (int i = 0; i < calls; i++)
                s |= cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, dscal, A, CUDA_R_16F, n,
                                  B, CUDA_R_16F, n, dscal + 1, C, CUDA_R_16F, n,
                                  CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT);
            cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST);
        } else if (raii) {
            int32_t op = CUBLAS_OP_N;
            for (int i = 0; i < calls; i++) {
                cublasLtMatmulDesc_t d;
                cublasLtMatrixLayout_t la, lb, lc;
                s |= cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F);
                s |= cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &op, sizeof op);
                s |= cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &op, sizeof op);
                s |= cublasLtMatrixLayoutCreate(&la, CUDA_R_16F, (uint64_t)n, (uint64_t)n, n);
                s |= cublasLtMatrixLayoutCreate(&lb, CUDA_R_16F, (uint64_t)n, (uint64_t)n, n);
                s |= cublasLtMatrixLayoutCreate(&lc, CUDA_R_16F, (uint64_t)n, (uint64_t)n, n);
                s |= cublasLtMatmul(lt.h, d, lt_alpha, A, la, B, lb, lt_beta, C, lc, C, lc,
                                    &lt.algo, NULL, 0, 0);
                s |= cublasLtMatrixLayoutDestroy(lc);
                s |= cublasLtMatrixLayoutDestroy(lb);
                s |= cublasLtMatrixLayoutDestroy(la);
                s |= cublasLtMatmulDescDestroy(d);
            }
        } else if (lt.h) {
            for (int i = 0; i < calls; i++)
                s |= cublasLtMatmul(lt.h, lt.desc, lt_alpha, A, lt.l, B, lt.l, lt_beta, C, lt.l,
                                    C, lt.l, &lt.algo, NULL, 0, 0);
        } else {
            fprintf(stderr, "bench_host: unknown case %s\n", which);
            return 2;
        }
        double t1 = now_ns();
        if (s != CUBLAS_STATUS_SUCCESS) {
            fprintf(stderr, "bench_host: a GEMM failed\n");
            return 1;
        }
        if (b >= 0)
            avg[b] = (t1 - t0) / calls;
    }
    qsort(avg, (size_t)batches, sizeof *avg, cmp);
    printf("case=%s\ncalls=%d\nmedian_ns=%.1f\np10_ns=%.1f\np90_ns=%.1f\n", which,
           batches * calls, avg[batches / 2], avg[batches / 10], avg[batches * 9 / 10]);
    cublasDestroy(h);
    if (lt.h) {
        cublasLtMatrixLayoutDestroy(lt.l);
        cublasLtMatmulDescDestroy(lt.desc);
        cublasLtDestroy(lt.h);
    }
    return 0;
}
