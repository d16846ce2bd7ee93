/* An ordinary cuBLAS program, written the way NVIDIA's samples are and
 * knowing nothing of safehalf or of the emulator. The test builds it against
 * the emulated libraries alone and runs it unchanged: every call it makes
 * must exist there and behave as on a GPU.
 *
 * C = A * B for A = 2 x 4096 and B = 4096 x 2 matrices of FP16 ones with
 * FP16 accumulation: on a GPU each element stalls at 2048, where adding 1
 * rounds back to 2048. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#define CHECK_CUDA(call)                                                             \
    do {                                                                             \
        cudaError_t err_ = (call);                                                   \
        if (err_ != cudaSuccess) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
                    cudaGetErrorString(err_));                                       \
            exit(EXIT_FAILURE);                                                      \
        }                                                                            \
    } while (0)

#define CHECK_CUBLAS(call)                                                           \
    do {                                                                             \
        cublasStatus_t st_ = (call);                                                 \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                          \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
                    cublasGetStatusString(st_));                                     \
            exit(EXIT_FAILURE);                                                      \
        }                                                                            \
    } while (0)

/* IEEE binary16 <-> float for the values this program uses (normal numbers
 * and zero), as C has no half type. */
static uint16_t to_half(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t sign = (u >> 16) & 0x8000u, exp = (u >> 23) & 0xffu, man = u & 0x7fffffu;
    if (exp == 0)
        return (uint16_t)sign;
    return (uint16_t)(sign | ((exp - 127 + 15) << 10) | (man >> 13));
}

static float from_half(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t u = exp == 0 ? sign : sign | ((exp - 15 + 127) << 23) | (man << 13);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int main(void)
{
    const int m = 2, n = 2, k = 4096;

    int device = 0;
    struct cudaDeviceProp prop;
    CHECK_CUDA(cudaGetDevice(&device));
    CHECK_CUDA(cudaGetDeviceProperties(&prop, device));
    printf("device %d: %s, compute capability %d.%d, %d SMs, %zu MiB\n", device, prop.name,
           prop.major, prop.minor, prop.multiProcessorCount, prop.totalGlobalMem >> 20);
    if (prop.major < 7) {
        fprintf(stderr, "tensor cores need compute capability 7.0 or higher\n");
        return EXIT_FAILURE;
    }

    uint16_t *h_A = malloc(sizeof *h_A * (size_t)m * k);
    uint16_t *h_B = malloc(sizeof *h_B * (size_t)k * n);
    uint16_t *h_C = malloc(sizeof *h_C * (size_t)m * n);
    if (!h_A || !h_B || !h_C)
        return EXIT_FAILURE;
    for (int i = 0; i < m * k; i++)
        h_A[i] = to_half(1.0f);
    for (int i = 0; i < k * n; i++)
        h_B[i] = to_half(1.0f);

    void *d_A, *d_B, *d_C;
    CHECK_CUDA(cudaMalloc(&d_A, sizeof *h_A * (size_t)m * k));
    CHECK_CUDA(cudaMalloc(&d_B, sizeof *h_B * (size_t)k * n));
    CHECK_CUDA(cudaMalloc(&d_C, sizeof *h_C * (size_t)m * n));

    cublasHandle_t handle;
    CHECK_CUBLAS(cublasCreate(&handle));
    CHECK_CUBLAS(cublasSetMatrix(m, k, sizeof *h_A, h_A, m, d_A, m));
    CHECK_CUBLAS(cublasSetMatrix(k, n, sizeof *h_B, h_B, k, d_B, k));

    /* With CUBLAS_COMPUTE_16F the scalars are halves too. */
    uint16_t alpha = to_half(1.0f), beta = to_half(0.0f);
    CHECK_CUBLAS(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, d_A,
                              CUDA_R_16F, m, d_B, CUDA_R_16F, k, &beta, d_C, CUDA_R_16F, m,
                              CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT_TENSOR_OP));
    CHECK_CUBLAS(cublasGetMatrix(m, n, sizeof *h_C, d_C, m, h_C, m));

    int same = 1;
    for (int i = 1; i < m * n; i++)
        same &= h_C[i] == h_C[0];
    printf("sum of %d ones with FP16 accumulation: %g%s\n", k, from_half(h_C[0]),
           same ? "" : " (elements differ)");

    CHECK_CUDA(cudaFree(d_A));
    CHECK_CUDA(cudaFree(d_B));
    CHECK_CUDA(cudaFree(d_C));
    CHECK_CUBLAS(cublasDestroy(handle));
    free(h_A);
    free(h_B);
    free(h_C);
    return same ? EXIT_SUCCESS : EXIT_FAILURE;
}
