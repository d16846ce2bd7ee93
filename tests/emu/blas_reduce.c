/* Emulated libcublas.so.13: the mixed-precision level-1 routines cublasDotEx,
 * cublasNrm2Ex and cublasAxpyEx (and their _64 forms).
 *
 * Numerics, as a GPU kernel of that execution type computes them:
 * - execution type CUDA_R_16F: the inputs are taken as halves, and every
 *   product and every partial sum is rounded to FP16, summed sequentially;
 *   so the dot of 4096 ones with ones is 2048 (2048 + 1 rounds back to
 *   2048), and the sum of squares of 70000 ones stalls at 2048 too (its
 *   norm is sqrt(2048) rounded to FP16: 45.25). One float operation on two
 *   halves rounded once to half is the correctly rounded half operation
 *   (float has at least 2 * 11 + 2 significand bits).
 * - execution type CUDA_R_32F: FP32 products and sums, sequential (built
 *   with -ffp-contract=off: no fused multiply-add); Nrm2 is the square root
 *   of the plain sum of squares (no scaling: it only matters near FLT_MAX).
 * The result (Dot, Nrm2) is rounded once to its result type; Axpy rounds
 * each y_i to y's type.
 *
 * Types accepted (others: CUBLAS_STATUS_NOT_SUPPORTED): x and y (and the
 * result of Dot and Nrm2) of one type, CUDA_R_16F, CUDA_R_16BF or
 * CUDA_R_32F; the execution type CUDA_R_32F, or CUDA_R_16F; Axpy's alpha in
 * the execution type. With execution type CUDA_R_32F that is what NVIDIA's
 * libcublas.so.13 accepts (it also has the 64F and complex ones, not
 * emulated). libcublas.so.13 refuses execution type CUDA_R_16F for all
 * three (CUBLAS_STATUS_NOT_SUPPORTED, even before it looks at the handle:
 * tests/real); the emulator accepts it, with FP16 numerics, and with a half
 * alpha for Axpy, to stand for a library that runs it, which is what the
 * shim's `reduce` family guards against.
 *
 * Increments follow the BLAS convention: element i of a vector with
 * increment inc < 0 lives at (n - 1 - i) * |inc| (the first element is the
 * last in memory); inc == 0 repeats one element. Nrm2 with incx <= 0 or any
 * routine with n <= 0 has nothing to sum: Dot and Nrm2 give 0, Axpy leaves
 * y alone (the reference BLAS's quick returns).
 *
 * Pointer modes: alpha and the result are host memory in host pointer mode
 * (alpha read at the call; the result written before the call returns, after
 * a synchronization of the handle's stream, as cuBLAS copies it back; not
 * possible while the stream is being captured: CUBLAS_STATUS_NOT_SUPPORTED)
 * and device memory in device pointer mode (read and written inside the
 * stream operation, so a captured call reads alpha and writes the result at
 * every graph launch). */
#include <math.h>
#include <stdio.h>

#include <cuda_runtime_api.h>

#include "elem.h"
#include "blas.h"

enum red_kind { DOT, NRM2, AXPY };

/* A reduction ready to run: everything by value, since a captured one runs
 * after its caller's arguments are gone. */
struct red_op {
    const char *api;
    enum red_kind kind;
    int exec16; /* execution type CUDA_R_16F */
    int64_t n, incx, incy;
    cudaDataType xt, yt, rt;
    const void *x;
    void *y;            /* Dot: read only; Axpy: updated */
    void *result;       /* Dot, Nrm2 */
    int result_on_host; /* host pointer mode */
    float alpha;        /* Axpy, host pointer mode: read at the call */
    const void *alpha_dev; /* Axpy, device pointer mode: read at run time */
};

static int valid_type(cudaDataType t)
{
    return t == CUDA_R_16F || t == CUDA_R_16BF || t == CUDA_R_32F;
}

/* One arithmetic result in the execution type. */
static float ex(const struct red_op *op, float v)
{
    return op->exec16 ? sh_round_half(v) : v;
}

static int64_t mag(int64_t inc)
{
    return inc < 0 ? -inc : inc;
}

/* Host view of the n elements of a vector with increment inc, or NULL. */
static void *vec(const struct red_op *op, const char *what, const void *dev, cudaDataType t,
                 int64_t inc)
{
    size_t bytes = (size_t)((op->n - 1) * mag(inc) + 1) * emu_elem_size(t);
    void *h = emu_to_host_range(dev, bytes);
    if (!h)
        fprintf(stderr, "emu: %s: %s = %p (%zu bytes) is not device memory\n", op->api, what,
                dev, bytes);
    return h;
}

/* BLAS convention: index of element 0, then step by inc. */
static int64_t first(const struct red_op *op, int64_t inc)
{
    return inc < 0 ? (op->n - 1) * mag(inc) : 0;
}

static CUresult run_red(void *arg)
{
    const struct red_op *op = arg;
    void *result = NULL;
    if (op->kind != AXPY) {
        result = op->result_on_host ? op->result
                                    : emu_to_host_range(op->result, emu_elem_size(op->rt));
        if (!result) {
            fprintf(stderr, "emu: %s: result = %p is not device memory\n", op->api, op->result);
            return CUDA_ERROR_ILLEGAL_ADDRESS;
        }
    }
    float alpha = op->alpha;
    if (op->kind == AXPY && op->alpha_dev) {
        const void *a = emu_to_host_range(op->alpha_dev, op->exec16 ? 2 : 4);
        if (!a) {
            fprintf(stderr, "emu: %s: alpha = %p is not device memory\n", op->api,
                    op->alpha_dev);
            return CUDA_ERROR_ILLEGAL_ADDRESS;
        }
        alpha = op->exec16 ? sh_half_to_float(*(const uint16_t *)a) : *(const float *)a;
    }
    /* Nothing to sum: Dot and Nrm2 give 0 without reading x or y. */
    int empty = op->n <= 0 || (op->kind == NRM2 && op->incx <= 0);
    const void *x = NULL;
    void *y = NULL;
    if (!empty) {
        x = vec(op, "x", op->x, op->xt, op->incx);
        if (op->kind != NRM2)
            y = vec(op, "y", op->y, op->yt, op->incy);
        if (!x || (op->kind != NRM2 && !y))
            return CUDA_ERROR_ILLEGAL_ADDRESS;
    }
    if (emu_null_compute())
        return CUDA_SUCCESS;

    float acc = 0;
    int64_t ix = first(op, op->incx), iy = first(op, op->incy);
    for (int64_t i = 0; !empty && i < op->n; i++, ix += op->incx, iy += op->incy) {
        float a = ex(op, emu_load(x, op->xt, ix));
        switch (op->kind) {
        case DOT:
            acc = ex(op, acc + ex(op, a * ex(op, emu_load(y, op->yt, iy))));
            break;
        case NRM2:
            acc = ex(op, acc + ex(op, a * a));
            break;
        case AXPY:
            emu_store(y, op->yt, iy, ex(op, ex(op, alpha * a) + ex(op, emu_load(y, op->yt, iy))));
            break;
        }
    }
    if (op->kind == NRM2)
        acc = ex(op, sqrtf(acc));
    if (op->kind != AXPY)
        emu_store(result, op->rt, 0, acc);
    return CUDA_SUCCESS;
}

static cublasStatus_t red_entry(cublasHandle_t h, struct red_op *op, const void *alpha,
                                cudaDataType alpha_type, cudaDataType exec)
{
    if (!blas_valid(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (emu_trace())
        fprintf(stderr, "emu: %s n=%lld incx=%lld incy=%lld x=%d y=%d result=%d exec=%d "
                        "pointer_mode=%s\n",
                op->api, (long long)op->n, (long long)op->incx, (long long)op->incy,
                (int)op->xt, (int)op->yt, (int)op->rt, (int)exec,
                h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE ? "device" : "host");
    if (!valid_type(op->xt) || (exec != CUDA_R_16F && exec != CUDA_R_32F))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (op->kind != NRM2 && op->yt != op->xt)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (op->kind != AXPY && op->rt != op->xt)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (op->kind == AXPY && alpha_type != exec)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    op->exec16 = exec == CUDA_R_16F;

    int device_mode = h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE;
    if (op->kind == AXPY) {
        if (!alpha)
            return CUBLAS_STATUS_INVALID_VALUE;
        if (op->n <= 0)
            return CUBLAS_STATUS_SUCCESS;
        if (device_mode)
            op->alpha_dev = alpha;
        else
            op->alpha = op->exec16 ? sh_half_to_float(*(const uint16_t *)alpha)
                                   : *(const float *)alpha;
    } else {
        if (!op->result)
            return CUBLAS_STATUS_INVALID_VALUE;
        op->result_on_host = !device_mode;
    }

    /* A result for host memory needs the stream's work done and copied
     * back: impossible inside a graph. */
    if (op->result_on_host) {
        enum cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
        if (cudaStreamIsCapturing(h->stream, &cs) != cudaSuccess)
            return CUBLAS_STATUS_EXECUTION_FAILED;
        if (cs != cudaStreamCaptureStatusNone)
            return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    int recorded;
    if (emu_lib_record(h->stream, run_red, op, sizeof *op, &recorded))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    if (recorded)
        return CUBLAS_STATUS_SUCCESS;
    if (op->result_on_host && cudaStreamSynchronize(h->stream) != cudaSuccess)
        return CUBLAS_STATUS_EXECUTION_FAILED;
    return run_red(op) ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_SUCCESS;
}

/* ---- public entry points ---------------------------------------------------- */

#define DOT_CALL(name)                                                                     \
    struct red_op op = { .api = name, .kind = DOT, .n = n, .incx = incx, .incy = incy,      \
                         .xt = xType, .yt = yType, .rt = resultType, .x = x,               \
                         .y = (void *)y, .result = result };                               \
    return red_entry(handle, &op, NULL, executionType, executionType)

EMU_API cublasStatus_t cublasDotEx(cublasHandle_t handle, int n, const void *x,
    cudaDataType xType, int incx, const void *y, cudaDataType yType, int incy, void *result,
    cudaDataType resultType, cudaDataType executionType)
{
    DOT_CALL("cublasDotEx");
}

EMU_API cublasStatus_t cublasDotEx_64(cublasHandle_t handle, int64_t n, const void *x,
    cudaDataType xType, int64_t incx, const void *y, cudaDataType yType, int64_t incy,
    void *result, cudaDataType resultType, cudaDataType executionType)
{
    DOT_CALL("cublasDotEx_64");
}

#define NRM2_CALL(name)                                                                    \
    struct red_op op = { .api = name, .kind = NRM2, .n = n, .incx = incx, .xt = xType,     \
                         .yt = xType, .rt = resultType, .x = x, .result = result };        \
    return red_entry(handle, &op, NULL, executionType, executionType)

EMU_API cublasStatus_t cublasNrm2Ex(cublasHandle_t handle, int n, const void *x,
    cudaDataType xType, int incx, void *result, cudaDataType resultType,
    cudaDataType executionType)
{
    NRM2_CALL("cublasNrm2Ex");
}

EMU_API cublasStatus_t cublasNrm2Ex_64(cublasHandle_t handle, int64_t n, const void *x,
    cudaDataType xType, int64_t incx, void *result, cudaDataType resultType,
    cudaDataType executionType)
{
    NRM2_CALL("cublasNrm2Ex_64");
}

#define AXPY_CALL(name)                                                                    \
    struct red_op op = { .api = name, .kind = AXPY, .n = n, .incx = incx, .incy = incy,     \
                         .xt = xType, .yt = yType, .rt = yType, .x = x, .y = y };          \
    return red_entry(handle, &op, alpha, alphaType, executiontype)

EMU_API cublasStatus_t cublasAxpyEx(cublasHandle_t handle, int n, const void *alpha,
    cudaDataType alphaType, const void *x, cudaDataType xType, int incx, void *y,
    cudaDataType yType, int incy, cudaDataType executiontype)
{
    AXPY_CALL("cublasAxpyEx");
}

EMU_API cublasStatus_t cublasAxpyEx_64(cublasHandle_t handle, int64_t n, const void *alpha,
    cudaDataType alphaType, const void *x, cudaDataType xType, int64_t incx, void *y,
    cudaDataType yType, int64_t incy, cudaDataType executiontype)
{
    AXPY_CALL("cublasAxpyEx_64");
}
