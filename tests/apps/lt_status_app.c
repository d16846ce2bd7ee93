/* Every cuBLASLt entry point the shim intercepts, called as a program
 * without a GPU gets to call them: the host-side objects (descriptors,
 * preferences, layouts) work, the handle and the matmul fail. Prints each
 * status and what the program reads back, so that runs with and without
 * the shim can be compared line by line. */
#include <cublasLt.h>
#include <stdint.h>
#include <stdio.h>

static int32_t desc_int(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr)
{
    int32_t v = -1;
    size_t written;
    cublasStatus_t s = cublasLtMatmulDescGetAttribute(d, attr, &v, sizeof v, &written);
    return s == CUBLAS_STATUS_SUCCESS ? v : -1000 - (int)s;
}

/* Sets a 32-bit attribute; the status as the program gets it. */
static int desc_set_int(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, int32_t v)
{
    return (int)cublasLtMatmulDescSetAttribute(d, attr, &v, sizeof v);
}

static long long layout_int(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                            size_t size)
{
    int64_t v = 0; /* each attribute is 4 or 8 bytes (cublasLt.h); little-endian */
    size_t written;
    cublasStatus_t s = cublasLtMatrixLayoutGetAttribute(l, attr, &v, size, &written);
    return s == CUBLAS_STATUS_SUCCESS ? (size == 4 ? (long long)(int32_t)v : (long long)v)
                                      : -1000 - (int)s;
}

int main(void)
{
    cublasLtHandle_t h = NULL;
    cublasLtMatmulDesc_t d = NULL;
    cublasLtMatmulDescOpaque_t storage;
    cublasLtMatmulPreference_t p = NULL;
    cublasLtMatmulPreferenceOpaque_t pstorage;
    cublasLtMatrixLayout_t l = NULL;
    cublasLtMatrixLayoutOpaque_t lstorage;
    uint64_t rows = 32;
    int32_t v;
    uint32_t mask;
    size_t written;

    printf("cublasLtCreate=%d\n", (int)cublasLtCreate(&h));
    printf("cublasLtMatmulDescCreate=%d\n",
           (int)cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_16F, CUDA_R_16F));
    printf("compute_read=%d\n", desc_int(d, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE));
    printf("scale_read=%d\n", desc_int(d, CUBLASLT_MATMUL_DESC_SCALE_TYPE));
    /* the defaults the shim takes a new descriptor to have */
    printf("pointer_mode_read=%d\n", desc_int(d, CUBLASLT_MATMUL_DESC_POINTER_MODE));
    printf("transa_read=%d\n", desc_int(d, CUBLASLT_MATMUL_DESC_TRANSA));
    printf("transb_read=%d\n", desc_int(d, CUBLASLT_MATMUL_DESC_TRANSB));
    printf("epilogue_read=%d\n", desc_int(d, CUBLASLT_MATMUL_DESC_EPILOGUE));
    printf("cublasLtMatmulDescSetAttribute=%d\n",
           desc_set_int(d, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, CUBLAS_COMPUTE_16F_PEDANTIC));
    printf("compute_read_after_set=%d\n", desc_int(d, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE));
    printf("cublasLtMatmulDescInit=%d\n",
           (int)cublasLtMatmulDescInit(&storage, CUBLAS_COMPUTE_16F, CUDA_R_16F));
    printf("init_compute_read=%d\n", desc_int(&storage, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE));
    printf("cublasLtMatmulPreferenceCreate=%d\n", (int)cublasLtMatmulPreferenceCreate(&p));
    mask = CUBLASLT_REDUCTION_SCHEME_MASK;
    printf("cublasLtMatmulPreferenceSetAttribute=%d\n",
           (int)cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
                                                     &mask, sizeof mask));
    printf("cublasLtMatmulPreferenceInit=%d\n", (int)cublasLtMatmulPreferenceInit(&pstorage));
    printf("cublasLtMatrixLayoutCreate=%d\n",
           (int)cublasLtMatrixLayoutCreate(&l, CUDA_R_16F, 64, 64, 64));
    /* the defaults the shim takes a new layout to have */
    printf("order_read=%lld\n", layout_int(l, CUBLASLT_MATRIX_LAYOUT_ORDER, 4));
    printf("batch_read=%lld\n", layout_int(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, 4));
    printf("stride_read=%lld\n", layout_int(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, 8));
    printf("cublasLtMatrixLayoutInit=%d\n",
           (int)cublasLtMatrixLayoutInit(&lstorage, CUDA_R_16F, 16, 16, 16));
    printf("cublasLtMatrixLayoutSetAttribute=%d\n",
           (int)cublasLtMatrixLayoutSetAttribute(&lstorage, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows,
                                                 sizeof rows));
    printf("cublasLtMatrixLayoutSetAttribute_bad=%d\n",
           (int)cublasLtMatrixLayoutSetAttribute(&lstorage, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows,
                                                 4));
    printf("init_rows_read=%lld\n", layout_int(&lstorage, CUBLASLT_MATRIX_LAYOUT_ROWS, 8));
    printf("init_ld_read=%lld\n", layout_int(&lstorage, CUBLASLT_MATRIX_LAYOUT_LD, 8));
    /* half scalars for the program's FP16 descriptor; device pointers that
     * no kernel will ever read: the call fails before */
    const uint16_t one = 0x3c00, zero = 0;
    void *dev = (void *)(uintptr_t)0x10000;
    printf("cublasLtMatmul=%d\n",
           (int)cublasLtMatmul(h, d, &one, dev, l, dev, l, &zero, dev, l, dev, l, NULL, NULL, 0,
                               0));
    /* vectors of half alphas set before the FP16 compute type: the matmul
     * reaches the library as the program made it */
    cublasLtMatmulDesc_t dv = NULL;
    printf("vector_desc_create=%d\n",
           (int)cublasLtMatmulDescCreate(&dv, CUBLAS_COMPUTE_32F, CUDA_R_16F));
    printf("vector_desc_pointer_mode=%d\n",
           desc_set_int(dv, CUBLASLT_MATMUL_DESC_POINTER_MODE,
                        CUBLASLT_POINTER_MODE_DEVICE_VECTOR));
    printf("vector_desc_compute=%d\n",
           desc_set_int(dv, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, CUBLAS_COMPUTE_16F));
    printf("vector_compute_read=%d\n", desc_int(dv, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE));
    printf("cublasLtMatmul_vector=%d\n",
           (int)cublasLtMatmul(h, dv, dev, dev, l, dev, l, dev, dev, l, dev, l, NULL, NULL, 0,
                               0));
    printf("vector_desc_destroy=%d\n", (int)cublasLtMatmulDescDestroy(dv));
    printf("cublasLtMatmulDescGetAttribute_bad=%d\n",
           (int)cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &v, 2,
                                               &written));
    printf("cublasLtMatmulPreferenceDestroy=%d\n", (int)cublasLtMatmulPreferenceDestroy(p));
    printf("cublasLtMatrixLayoutDestroy=%d\n", (int)cublasLtMatrixLayoutDestroy(l));
    printf("cublasLtMatmulDescDestroy=%d\n", (int)cublasLtMatmulDescDestroy(d));
    if (h)
        cublasLtDestroy(h);
    return 0;
}
