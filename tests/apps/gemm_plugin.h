/* Interface between plugin_host and the gemm_plugin shared module. Plain C,
 * no CUDA types, so that the host program needs no CUDA headers or libs. */
#ifndef SAFEHALF_TEST_GEMM_PLUGIN_H
#define SAFEHALF_TEST_GEMM_PLUGIN_H

#include <stdio.h>

struct gemm_plugin_result {
    int cuda_error;    /* first cudaError_t, 0 if none */
    int create_status; /* cublasCreate's status, -1 if not called */
    int gemm_status;   /* cublasGemmEx's status, -1 if not called */
    float c0, cmin, cmax;
};

typedef int (*gemm_plugin_run_fn)(int k, int keep_going,
                                  struct gemm_plugin_result *r);

/* The key=value lines of a run that returned rc. */
static inline void gemm_plugin_print(int rc, const struct gemm_plugin_result *r)
{
    if (r->cuda_error)
        printf("cuda_error=%d\n", r->cuda_error);
    printf("create_status=%d\n", r->create_status);
    printf("status=%d\n", r->gemm_status);
    if (rc == 0)
        printf("c0=%.9g\ncmin=%.9g\ncmax=%.9g\n", (double)r->c0, (double)r->cmin,
               (double)r->cmax);
}

#endif
