/* cuBLAS entry points, as data. The single source of truth for the
 * wrappers' prototypes, the real-pointer slots and the export list.
 *
 * SH_CUBLAS_INTERCEPT(X): X(ret, name, params, args, hook)
 *   exported by libsafehalf.so; the generated wrapper calls sh_hook_<hook>
 *   (shim/cublas.c) with the call's arguments.
 * SH_CUBLAS_USE(X): X(ret, name, params, args)
 *   not exported; the shim calls the real ones itself.
 *
 * This file must stay free of #include and of anything but these macros: it
 * is also run through the C preprocessor alone to make the export map.
 * sh_half stands for CUDA's __half (C has no name for it). */

#define SH_CUBLAS_INTERCEPT(X) \
X(cublasStatus_t, cublasCreate_v2, (cublasHandle_t *handle), (handle), create) \
X(cublasStatus_t, cublasSetMathMode, (cublasHandle_t h, cublasMath_t mode), (h, mode), set_math_mode) \
X(cublasStatus_t, cublasGetMathMode, (cublasHandle_t h, cublasMath_t *mode), (h, mode), get_math_mode) \
X(cublasStatus_t, cublasHgemm, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const sh_half *alpha, const sh_half *A, int lda, const sh_half *B, int ldb, const sh_half *beta, sh_half *C, int ldc), (h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc), hgemm) \
X(cublasStatus_t, cublasHgemm_64, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, const sh_half *alpha, const sh_half *A, int64_t lda, const sh_half *B, int64_t ldb, const sh_half *beta, sh_half *C, int64_t ldc), (h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc), hgemm) \
X(cublasStatus_t, cublasHgemmBatched, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const sh_half *alpha, const sh_half *const A[], int lda, const sh_half *const B[], int ldb, const sh_half *beta, sh_half *const C[], int ldc, int batch), (h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch), hgemm_batched) \
X(cublasStatus_t, cublasHgemmBatched_64, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, const sh_half *alpha, const sh_half *const A[], int64_t lda, const sh_half *const B[], int64_t ldb, const sh_half *beta, sh_half *const C[], int64_t ldc, int64_t batch), (h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch), hgemm_batched) \
X(cublasStatus_t, cublasHgemmStridedBatched, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const sh_half *alpha, const sh_half *A, int lda, long long int sA, const sh_half *B, int ldb, long long int sB, const sh_half *beta, sh_half *C, int ldc, long long int sC, int batch), (h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch), hgemm_strided) \
X(cublasStatus_t, cublasHgemmStridedBatched_64, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, const sh_half *alpha, const sh_half *A, int64_t lda, long long int sA, const sh_half *B, int64_t ldb, long long int sB, const sh_half *beta, sh_half *C, int64_t ldc, long long int sC, int64_t batch), (h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch), hgemm_strided) \
X(cublasStatus_t, cublasGemmEx, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc, cublasComputeType_t compute, cublasGemmAlgo_t algo), (h, ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb, beta, C, ct, ldc, compute, algo), gemm_ex) \
X(cublasStatus_t, cublasGemmEx_64, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, const void *alpha, const void *A, cudaDataType at, int64_t lda, const void *B, cudaDataType bt, int64_t ldb, const void *beta, void *C, cudaDataType ct, int64_t ldc, cublasComputeType_t compute, cublasGemmAlgo_t algo), (h, ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb, beta, C, ct, ldc, compute, algo), gemm_ex) \
X(cublasStatus_t, cublasGemmBatchedEx, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void *alpha, const void *const A[], cudaDataType at, int lda, const void *const B[], cudaDataType bt, int ldb, const void *beta, void *const C[], cudaDataType ct, int ldc, int batch, cublasComputeType_t compute, cublasGemmAlgo_t algo), (h, ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb, beta, C, ct, ldc, batch, compute, algo), gemm_batched_ex) \
X(cublasStatus_t, cublasGemmBatchedEx_64, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, const void *alpha, const void *const A[], cudaDataType at, int64_t lda, const void *const B[], cudaDataType bt, int64_t ldb, const void *beta, void *const C[], cudaDataType ct, int64_t ldc, int64_t batch, cublasComputeType_t compute, cublasGemmAlgo_t algo), (h, ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb, beta, C, ct, ldc, batch, compute, algo), gemm_batched_ex) \
X(cublasStatus_t, cublasGemmStridedBatchedEx, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void *alpha, const void *A, cudaDataType at, int lda, long long int sA, const void *B, cudaDataType bt, int ldb, long long int sB, const void *beta, void *C, cudaDataType ct, int ldc, long long int sC, int batch, cublasComputeType_t compute, cublasGemmAlgo_t algo), (h, ta, tb, m, n, k, alpha, A, at, lda, sA, B, bt, ldb, sB, beta, C, ct, ldc, sC, batch, compute, algo), gemm_strided_ex) \
X(cublasStatus_t, cublasGemmStridedBatchedEx_64, (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, const void *alpha, const void *A, cudaDataType at, int64_t lda, long long int sA, const void *B, cudaDataType bt, int64_t ldb, long long int sB, const void *beta, void *C, cudaDataType ct, int64_t ldc, long long int sC, int64_t batch, cublasComputeType_t compute, cublasGemmAlgo_t algo), (h, ta, tb, m, n, k, alpha, A, at, lda, sA, B, bt, ldb, sB, beta, C, ct, ldc, sC, batch, compute, algo), gemm_strided_ex) \
X(cublasStatus_t, cublasDotEx, (cublasHandle_t h, int n, const void *x, cudaDataType xt, int incx, const void *y, cudaDataType yt, int incy, void *result, cudaDataType rt, cudaDataType exec), (h, n, x, xt, incx, y, yt, incy, result, rt, exec), dot_ex) \
X(cublasStatus_t, cublasDotEx_64, (cublasHandle_t h, int64_t n, const void *x, cudaDataType xt, int64_t incx, const void *y, cudaDataType yt, int64_t incy, void *result, cudaDataType rt, cudaDataType exec), (h, n, x, xt, incx, y, yt, incy, result, rt, exec), dot_ex) \
X(cublasStatus_t, cublasNrm2Ex, (cublasHandle_t h, int n, const void *x, cudaDataType xt, int incx, void *result, cudaDataType rt, cudaDataType exec), (h, n, x, xt, incx, result, rt, exec), nrm2_ex) \
X(cublasStatus_t, cublasNrm2Ex_64, (cublasHandle_t h, int64_t n, const void *x, cudaDataType xt, int64_t incx, void *result, cudaDataType rt, cudaDataType exec), (h, n, x, xt, incx, result, rt, exec), nrm2_ex) \
X(cublasStatus_t, cublasAxpyEx, (cublasHandle_t h, int n, const void *alpha, cudaDataType alpha_t, const void *x, cudaDataType xt, int incx, void *y, cudaDataType yt, int incy, cudaDataType exec), (h, n, alpha, alpha_t, x, xt, incx, y, yt, incy, exec), axpy_ex) \
X(cublasStatus_t, cublasAxpyEx_64, (cublasHandle_t h, int64_t n, const void *alpha, cudaDataType alpha_t, const void *x, cudaDataType xt, int64_t incx, void *y, cudaDataType yt, int64_t incy, cudaDataType exec), (h, n, alpha, alpha_t, x, xt, incx, y, yt, incy, exec), axpy_ex)

#define SH_CUBLAS_USE(X) \
X(cublasStatus_t, cublasGetVersion_v2, (cublasHandle_t h, int *version), (h, version)) \
X(cublasStatus_t, cublasGetStream_v2, (cublasHandle_t h, cudaStream_t *stream), (h, stream)) \
X(cublasStatus_t, cublasGetPointerMode_v2, (cublasHandle_t h, cublasPointerMode_t *mode), (h, mode))
