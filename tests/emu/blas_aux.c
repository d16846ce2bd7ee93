/* Emulated libcublas.so.13: the host <-> device transfer helpers and Saxpy.
 *
 * cublasSetMatrix & co. are pitched copies, which is how they are specified:
 * column j of a rows x cols matrix starts lda elements after column j - 1,
 * and element i of a vector incx elements after element i - 1. Arguments
 * cuBLAS checks give CUBLAS_STATUS_INVALID_VALUE; everything else (a
 * negative count, a leading dimension below rows, memory that is not where
 * the direction says) reaches the copy, whose failure is
 * CUBLAS_STATUS_MAPPING_ERROR, as the real library reports it. */
#include <stdint.h>
#include <stdlib.h>

#include "blas.h"

/* A pitched copy of count blocks of width bytes; dir is H2D or D2H. */
static cublasStatus_t pitched(const void *src, int64_t spitch, void *dst, int64_t dpitch,
                              int64_t width, int64_t count, enum cudaMemcpyKind dir,
                              cudaStream_t stream, int async)
{
    if (count < 0)
        return CUBLAS_STATUS_MAPPING_ERROR;
    cudaError_t e = async ? cudaMemcpy2DAsync(dst, (size_t)dpitch, src, (size_t)spitch,
                                              (size_t)width, (size_t)count, dir, stream)
                          : cudaMemcpy2D(dst, (size_t)dpitch, src, (size_t)spitch,
                                         (size_t)width, (size_t)count, dir);
    return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_MAPPING_ERROR;
}

static cublasStatus_t vector(int64_t n, int64_t elem, const void *x, int64_t incx, void *y,
                             int64_t incy, enum cudaMemcpyKind dir, cudaStream_t stream,
                             int async)
{
    if (elem <= 0 || incx <= 0 || incy <= 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (n == 0)
        return CUBLAS_STATUS_SUCCESS;
    if (incx > INT64_MAX / elem || incy > INT64_MAX / elem)
        return CUBLAS_STATUS_MAPPING_ERROR;
    return pitched(x, incx * elem, y, incy * elem, elem, n, dir, stream, async);
}

static cublasStatus_t matrix(int64_t rows, int64_t cols, int64_t elem, const void *A,
                             int64_t lda, void *B, int64_t ldb, enum cudaMemcpyKind dir,
                             cudaStream_t stream, int async)
{
    if (rows < 0 || cols < 0 || elem <= 0 || lda <= 0 || ldb <= 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (rows == 0 || cols == 0)
        return CUBLAS_STATUS_SUCCESS;
    if (rows > INT64_MAX / elem || lda > INT64_MAX / elem || ldb > INT64_MAX / elem)
        return CUBLAS_STATUS_MAPPING_ERROR;
    return pitched(A, lda * elem, B, ldb * elem, rows * elem, cols, dir, stream, async);
}

#define H2D cudaMemcpyHostToDevice
#define D2H cudaMemcpyDeviceToHost

EMU_API cublasStatus_t cublasSetVector(int n, int elemSize, const void *x, int incx,
                                       void *devicePtr, int incy)
{
    return vector(n, elemSize, x, incx, devicePtr, incy, H2D, NULL, 0);
}

EMU_API cublasStatus_t cublasSetVector_64(int64_t n, int64_t elemSize, const void *x,
                                          int64_t incx, void *devicePtr, int64_t incy)
{
    return vector(n, elemSize, x, incx, devicePtr, incy, H2D, NULL, 0);
}

EMU_API cublasStatus_t cublasGetVector(int n, int elemSize, const void *x, int incx, void *y,
                                       int incy)
{
    return vector(n, elemSize, x, incx, y, incy, D2H, NULL, 0);
}

EMU_API cublasStatus_t cublasGetVector_64(int64_t n, int64_t elemSize, const void *x,
                                          int64_t incx, void *y, int64_t incy)
{
    return vector(n, elemSize, x, incx, y, incy, D2H, NULL, 0);
}

EMU_API cublasStatus_t cublasSetVectorAsync(int n, int elemSize, const void *hostPtr, int incx,
                                            void *devicePtr, int incy, cudaStream_t stream)
{
    return vector(n, elemSize, hostPtr, incx, devicePtr, incy, H2D, stream, 1);
}

EMU_API cublasStatus_t cublasSetVectorAsync_64(int64_t n, int64_t elemSize,
                                               const void *hostPtr, int64_t incx,
                                               void *devicePtr, int64_t incy,
                                               cudaStream_t stream)
{
    return vector(n, elemSize, hostPtr, incx, devicePtr, incy, H2D, stream, 1);
}

EMU_API cublasStatus_t cublasGetVectorAsync(int n, int elemSize, const void *devicePtr,
                                            int incx, void *hostPtr, int incy,
                                            cudaStream_t stream)
{
    return vector(n, elemSize, devicePtr, incx, hostPtr, incy, D2H, stream, 1);
}

EMU_API cublasStatus_t cublasGetVectorAsync_64(int64_t n, int64_t elemSize,
                                               const void *devicePtr, int64_t incx,
                                               void *hostPtr, int64_t incy,
                                               cudaStream_t stream)
{
    return vector(n, elemSize, devicePtr, incx, hostPtr, incy, D2H, stream, 1);
}

EMU_API cublasStatus_t cublasSetMatrix(int rows, int cols, int elemSize, const void *A,
                                       int lda, void *B, int ldb)
{
    return matrix(rows, cols, elemSize, A, lda, B, ldb, H2D, NULL, 0);
}

EMU_API cublasStatus_t cublasSetMatrix_64(int64_t rows, int64_t cols, int64_t elemSize,
                                          const void *A, int64_t lda, void *B, int64_t ldb)
{
    return matrix(rows, cols, elemSize, A, lda, B, ldb, H2D, NULL, 0);
}

EMU_API cublasStatus_t cublasGetMatrix(int rows, int cols, int elemSize, const void *A,
                                       int lda, void *B, int ldb)
{
    return matrix(rows, cols, elemSize, A, lda, B, ldb, D2H, NULL, 0);
}

EMU_API cublasStatus_t cublasGetMatrix_64(int64_t rows, int64_t cols, int64_t elemSize,
                                          const void *A, int64_t lda, void *B, int64_t ldb)
{
    return matrix(rows, cols, elemSize, A, lda, B, ldb, D2H, NULL, 0);
}

EMU_API cublasStatus_t cublasSetMatrixAsync(int rows, int cols, int elemSize, const void *A,
                                            int lda, void *B, int ldb, cudaStream_t stream)
{
    return matrix(rows, cols, elemSize, A, lda, B, ldb, H2D, stream, 1);
}

EMU_API cublasStatus_t cublasSetMatrixAsync_64(int64_t rows, int64_t cols, int64_t elemSize,
                                               const void *A, int64_t lda, void *B,
                                               int64_t ldb, cudaStream_t stream)
{
    return matrix(rows, cols, elemSize, A, lda, B, ldb, H2D, stream, 1);
}

EMU_API cublasStatus_t cublasGetMatrixAsync(int rows, int cols, int elemSize, const void *A,
                                            int lda, void *B, int ldb, cudaStream_t stream)
{
    return matrix(rows, cols, elemSize, A, lda, B, ldb, D2H, stream, 1);
}

EMU_API cublasStatus_t cublasGetMatrixAsync_64(int64_t rows, int64_t cols, int64_t elemSize,
                                               const void *A, int64_t lda, void *B,
                                               int64_t ldb, cudaStream_t stream)
{
    return matrix(rows, cols, elemSize, A, lda, B, ldb, D2H, stream, 1);
}

/* ---- Saxpy: y = alpha * x + y ------------------------------------------------ */

struct axpy_op {
    int64_t n, incx, incy;
    float alpha;
    const float *alpha_dev; /* pointer mode device: read at run time */
    const float *x;
    float *y;
};

/* BLAS strides: a negative increment walks the vector from its far end. */
static CUresult run_axpy(void *arg)
{
    const struct axpy_op *op = arg;
    int64_t ax = op->incx < 0 ? -op->incx : op->incx, ay = op->incy < 0 ? -op->incy : op->incy;
    size_t xbytes = (size_t)((op->n - 1) * ax + 1) * sizeof(float);
    size_t ybytes = (size_t)((op->n - 1) * ay + 1) * sizeof(float);
    const float *x = emu_to_host_range(op->x, xbytes);
    float *y = emu_to_host_range(op->y, ybytes);
    const float *alpha = op->alpha_dev ? emu_to_host_range(op->alpha_dev, sizeof(float))
                                       : &op->alpha;
    if (!x || !y || !alpha)
        return CUDA_ERROR_ILLEGAL_ADDRESS;
    if (emu_null_compute())
        return CUDA_SUCCESS;
    int64_t ix = op->incx < 0 ? (op->n - 1) * ax : 0, iy = op->incy < 0 ? (op->n - 1) * ay : 0;
    for (int64_t i = 0; i < op->n; i++, ix += op->incx, iy += op->incy)
        y[iy] = *alpha * x[ix] + y[iy];
    return CUDA_SUCCESS;
}

static cublasStatus_t axpy(cublasHandle_t h, int64_t n, const float *alpha, const float *x,
                           int64_t incx, float *y, int64_t incy)
{
    if (!blas_valid(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!alpha)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (n <= 0)
        return CUBLAS_STATUS_SUCCESS;
    struct axpy_op op = { .n = n, .incx = incx, .incy = incy, .x = x, .y = y };
    if (h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE)
        op.alpha_dev = alpha;
    else
        op.alpha = *alpha;
    int recorded;
    if (emu_lib_record(h->stream, run_axpy, &op, sizeof op, &recorded))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    if (recorded)
        return CUBLAS_STATUS_SUCCESS;
    return run_axpy(&op) ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasSaxpy_v2(cublasHandle_t handle, int n, const float *alpha,
                                      const float *x, int incx, float *y, int incy)
{
    return axpy(handle, n, alpha, x, incx, y, incy);
}

EMU_API cublasStatus_t cublasSaxpy_v2_64(cublasHandle_t handle, int64_t n, const float *alpha,
                                         const float *x, int64_t incx, float *y, int64_t incy)
{
    return axpy(handle, n, alpha, x, incx, y, incy);
}
