/* nolib_app: looks cuBLAS entry points up in the global scope without ever
 * loading libcublas (as a program with a statically linked or not-yet-loaded
 * cuBLAS might), and calls what it finds.
 *
 *   nolib_app
 *
 * Prints found_create=0|1 and, when found, cublasCreate_v2=<status>; the
 * same for cublasGemmEx (called with a NULL handle and NULL pointers). Under
 * a preloaded interposer these names resolve to the interposer, which then
 * has no real library to forward to. Exit status 0. */
#include <dlfcn.h>
#include <stdio.h>

#include <cublas_api.h>

typedef cublasStatus_t (*create_fn)(cublasHandle_t *);
typedef cublasStatus_t (*gemmex_fn)(cublasHandle_t, cublasOperation_t,
                                    cublasOperation_t, int, int, int,
                                    const void *, const void *, cudaDataType,
                                    int, const void *, cudaDataType, int,
                                    const void *, void *, cudaDataType, int,
                                    cublasComputeType_t, cublasGemmAlgo_t);

int main(void)
{
    create_fn create;
    gemmex_fn gemmex;
    *(void **)&create = dlsym(RTLD_DEFAULT, "cublasCreate_v2");
    *(void **)&gemmex = dlsym(RTLD_DEFAULT, "cublasGemmEx");
    printf("found_create=%d\n", create != NULL);
    printf("found_gemmex=%d\n", gemmex != NULL);
    cublasHandle_t h = NULL;
    if (create)
        printf("cublasCreate_v2=%d\n", (int)create(&h));
    if (gemmex) {
        const unsigned short one = 0x3c00u, zero = 0;
        printf("cublasGemmEx=%d\n",
               (int)gemmex(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, NULL,
                           CUDA_R_16F, 4, NULL, CUDA_R_16F, 4, &zero, NULL,
                           CUDA_R_16F, 4, CUBLAS_COMPUTE_16F,
                           CUBLAS_GEMM_DEFAULT));
    }
    return 0;
}
