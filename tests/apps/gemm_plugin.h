/* Interface between plugin_host and the gemm_plugin shared module. Plain C,
 * no CUDA types, so that the host program needs no CUDA headers or libs. */
#ifndef SAFEHALF_TEST_GEMM_PLUGIN_H
#define SAFEHALF_TEST_GEMM_PLUGIN_H

struct gemm_plugin_result {
    int cuda_error;    /* first cudaError_t, 0 if none */
    int create_status; /* cublasCreate's status, -1 if not called */
    int gemm_status;   /* cublasGemmEx's status, -1 if not called */
    float c0, cmin, cmax;
};

typedef int (*gemm_plugin_run_fn)(int k, int keep_going,
                                  struct gemm_plugin_result *r);

#endif
