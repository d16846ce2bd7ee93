/* Internal interface shared by the emulated libcuda, libcudart and libcublas.
 *
 * The emulator runs everything synchronously on the calling thread, on host
 * memory. Device addresses are host addresses with a tag in bits 52..58, which
 * makes them non-canonical on x86-64 (and beyond the 48-bit VA on aarch64), so
 * any host dereference of a device pointer faults just as it would with a GPU.
 * Only the emu libraries translate them back, after checking that the address
 * lies inside a live allocation. */
#ifndef SAFEHALF_EMU_H
#define SAFEHALF_EMU_H

#include <stddef.h>
#include <stdint.h>

#include <cuda.h>
#include <cublas_api.h>

#include "half.h"

#define EMU_API __attribute__((visibility("default")))

#define EMU_TAG_SHIFT 52
#define EMU_TAG 0x5aULL
#define EMU_TAG_MASK (0x7fULL << EMU_TAG_SHIFT)

static inline int emu_is_tagged(const void *p)
{
    return ((uintptr_t)p & EMU_TAG_MASK) == (EMU_TAG << EMU_TAG_SHIFT);
}

/* ---- libcuda.so.1 extras (not part of the CUDA API) ---------------------- */

/* Host address behind a device address (tagged or mapped pinned memory);
 * NULL unless it lies inside a live allocation. */
EMU_API void *emu_to_host(const void *dev);
/* Same, and the whole [dev, dev + bytes) must lie inside that allocation. */
EMU_API void *emu_to_host_range(const void *dev, size_t bytes);

/* Host synchronizations performed so far: in total, and on one stream
 * (NULL and CU_STREAM_LEGACY name the same legacy stream). */
EMU_API unsigned long emu_sync_count(void);
EMU_API unsigned long emu_stream_sync_count(CUstream stream);

/* Non-zero when EMU_NULL_COMPUTE=1: validate, then skip the arithmetic. */
EMU_API int emu_null_compute(void);
/* Non-zero when EMU_TRACE=1. */
EMU_API int emu_trace(void);

/* Stream work. An op runs at once unless its stream is capturing, in which
 * case a copy of its argument block is appended to the capture graph and it
 * runs at graph launch. */
typedef CUresult (*emu_op_fn)(void *arg);
/* *recorded = 0: not capturing, the caller runs the op itself now;
 * *recorded = 1: copied into the graph. Errors: invalid stream handle,
 * invalidated capture. */
EMU_API CUresult emu_stream_record(CUstream stream, emu_op_fn run,
                                   const void *arg, size_t size, int *recorded);

/* Memory transfers with cudaMemcpyKind semantics (0 H2H, 1 H2D, 2 D2H,
 * 3 D2D, 4 default: decided from the pointers). Synchronous forms count a
 * host synchronization of the legacy stream. */
/* A library that puts its work into a graph itself, as
 * cudnnBackendPopulateCudaGraph does: appends a node running run(copy of
 * arg) to graph (cuGraphCreate's or a capture's). */
EMU_API CUresult emu_graph_append(CUgraph graph, emu_op_fn run, const void *arg, size_t size);
/* cudnnBackendUpdateCudaGraph's side: the first node of graph that runs
 * `run` and for which same(its argument, arg) is true gets arg instead;
 * CUDA_ERROR_NOT_FOUND when there is none. The executable graphs already
 * made from graph keep what they had. */
EMU_API CUresult emu_graph_update(CUgraph graph, emu_op_fn run,
                                  int (*same)(const void *node_arg, const void *arg),
                                  const void *arg, size_t size);
EMU_API CUresult emu_memcpy(void *dst, const void *src, size_t bytes, int kind,
                            CUstream stream, int async);
/* The same for height rows of width bytes, each end with its own pitch;
 * a pitch below width is CUDA_ERROR_INVALID_VALUE. */
EMU_API CUresult emu_memcpy2d(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, int kind, CUstream stream,
                              int async);
EMU_API CUresult emu_memset(void *dst, int value, size_t bytes,
                            CUstream stream, int async);

/* ---- libcudart.so.13 extras ----------------------------------------------- */

/* The runtime's implicit initialization: a thread that has no current
 * context gets device 0's primary context made current. Returns a CUresult. */
EMU_API int emu_rt_enter(void);

/* How the emulated cuBLAS, cuBLASLt and cuDNN put work on a stream (as
 * emu_stream_record): first the runtime's implicit initialization, which
 * NVIDIA's get from the runtime they launch through (its failure is the
 * stream's to report). */
static inline CUresult emu_lib_record(CUstream stream, emu_op_fn run, const void *arg,
                                      size_t size, int *recorded)
{
    emu_rt_enter();
    return emu_stream_record(stream, run, arg, size, recorded);
}

/* Called before an API that may synchronize implicitly (allocation, sync
 * memcpy): fails with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, invalidating the
 * capture concerned, when the thread's capture mode forbids it. */
EMU_API CUresult emu_capture_unsafe_call(void);

/* ---- libcublas.so.13: the half-precision entry points C cannot see -------- */

#ifndef __cplusplus /* C++ has NVIDIA's __half declarations */

EMU_API cublasStatus_t cublasHgemm(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const sh_half *alpha,
    const sh_half *A, int lda, const sh_half *B, int ldb, const sh_half *beta,
    sh_half *C, int ldc);
EMU_API cublasStatus_t cublasHgemm_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const sh_half *alpha,
    const sh_half *A, int64_t lda, const sh_half *B, int64_t ldb, const sh_half *beta,
    sh_half *C, int64_t ldc);
EMU_API cublasStatus_t cublasHgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int m, int n, int k, const sh_half *alpha,
    const sh_half *const Aarray[], int lda, const sh_half *const Barray[], int ldb,
    const sh_half *beta, sh_half *const Carray[], int ldc, int batchCount);
EMU_API cublasStatus_t cublasHgemmBatched_64(cublasHandle_t handle, cublasOperation_t transa,
    cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const sh_half *alpha,
    const sh_half *const Aarray[], int64_t lda, const sh_half *const Barray[], int64_t ldb,
    const sh_half *beta, sh_half *const Carray[], int64_t ldc, int64_t batchCount);
EMU_API cublasStatus_t cublasHgemmStridedBatched(cublasHandle_t handle,
    cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const sh_half *alpha, const sh_half *A, int lda, long long int strideA,
    const sh_half *B, int ldb, long long int strideB, const sh_half *beta,
    sh_half *C, int ldc, long long int strideC, int batchCount);
EMU_API cublasStatus_t cublasHgemmStridedBatched_64(cublasHandle_t handle,
    cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
    const sh_half *alpha, const sh_half *A, int64_t lda, long long int strideA,
    const sh_half *B, int64_t ldb, long long int strideB, const sh_half *beta,
    sh_half *C, int64_t ldc, long long int strideC, int64_t batchCount);

#endif /* !__cplusplus */

#endif
