/* Emulated libcudart.so.13, a thin layer over the emulated driver: runtime
 * streams, events and graphs are the driver's objects, and the error codes
 * used here have the same values in both APIs. The device queries are in
 * runtime_device.c, the less common memory calls in runtime_mem.c. */
#include <pthread.h>

#include <cuda_runtime_api.h>

#include "emu.h"
#include "rt.h"

static _Thread_local cudaError_t last_error;

cudaError_t rt_ret(cudaError_t e)
{
    if (e != cudaSuccess)
        last_error = e;
    return e;
}

static void init_driver(void)
{
    cuInit(0);
}

/* The runtime's implicit initialization: the primary context becomes the
 * thread's current context on its first runtime call. */
cudaError_t rt_enter(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_driver);
    CUcontext ctx = NULL;
    CUresult r = cuCtxGetCurrent(&ctx);
    if (!r && !ctx && !(r = cuDevicePrimaryCtxRetain(&ctx, 0)))
        r = cuCtxSetCurrent(ctx);
    return (cudaError_t)r;
}

EMU_API int emu_rt_enter(void)
{
    return (int)rt_enter();
}

/* ---- memory ---------------------------------------------------------------- */

EMU_API cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    ENTER();
    if (!devPtr)
        return rt_ret(cudaErrorInvalidValue);
    if (size == 0) {
        *devPtr = NULL;
        return cudaSuccess;
    }
    CUdeviceptr d = 0;
    CUresult r = cuMemAlloc(&d, size);
    if (!r)
        *devPtr = (void *)(uintptr_t)d;
    return ret_cu(r);
}

EMU_API cudaError_t cudaFree(void *devPtr)
{
    ENTER();
    return ret_cu(cuMemFree((CUdeviceptr)(uintptr_t)devPtr));
}

EMU_API cudaError_t cudaMallocHost(void **ptr, size_t size)
{
    ENTER();
    return ret_cu(cuMemAllocHost(ptr, size));
}

EMU_API cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags)
{
    ENTER();
    return ret_cu(cuMemHostAlloc(pHost, size, flags));
}

EMU_API cudaError_t cudaFreeHost(void *ptr)
{
    ENTER();
    return ptr ? ret_cu(cuMemFreeHost(ptr)) : cudaSuccess;
}

EMU_API cudaError_t cudaHostGetDevicePointer(void **pDevice, void *pHost, unsigned int flags)
{
    ENTER();
    if (!pDevice)
        return rt_ret(cudaErrorInvalidValue);
    CUdeviceptr d = 0;
    CUresult r = cuMemHostGetDevicePointer(&d, pHost, flags);
    if (!r)
        *pDevice = (void *)(uintptr_t)d;
    return ret_cu(r);
}

static cudaError_t copy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                        cudaStream_t stream, int async)
{
    ENTER();
    if ((int)kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
        return rt_ret(cudaErrorInvalidMemcpyDirection);
    return ret_cu(emu_memcpy(dst, src, count, (int)kind, stream, async));
}

EMU_API cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    return copy(dst, src, count, kind, NULL, 0);
}

EMU_API cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count,
                                    enum cudaMemcpyKind kind, cudaStream_t stream)
{
    return copy(dst, src, count, kind, stream, 1);
}

EMU_API cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
    ENTER();
    return ret_cu(emu_memset(devPtr, value, count, NULL, 0));
}

EMU_API cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    ENTER();
    return ret_cu(emu_memset(devPtr, value, count, stream, 1));
}

/* ---- streams and events --------------------------------------------------- */

EMU_API cudaError_t cudaStreamCreate(cudaStream_t *pStream)
{
    ENTER();
    return ret_cu(cuStreamCreate(pStream, 0));
}

EMU_API cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    ENTER();
    return ret_cu(cuStreamCreate(pStream, flags));
}

EMU_API cudaError_t cudaStreamCreateWithPriority(cudaStream_t *pStream, unsigned int flags,
                                                 int priority)
{
    ENTER();
    return ret_cu(cuStreamCreateWithPriority(pStream, flags, priority));
}

EMU_API cudaError_t cudaStreamGetFlags(cudaStream_t hStream, unsigned int *flags)
{
    ENTER();
    return ret_cu(cuStreamGetFlags(hStream, flags));
}

EMU_API cudaError_t cudaStreamGetPriority(cudaStream_t hStream, int *priority)
{
    ENTER();
    return ret_cu(cuStreamGetPriority(hStream, priority));
}

/* cudaHostFn_t and CUhostFn are the same function type. */
EMU_API cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void *userData)
{
    ENTER();
    return ret_cu(cuLaunchHostFunc(stream, fn, userData));
}

EMU_API cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    ENTER();
    return ret_cu(cuStreamDestroy(stream));
}

EMU_API cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    ENTER();
    return ret_cu(cuStreamSynchronize(stream));
}

EMU_API cudaError_t cudaDeviceSynchronize(void)
{
    ENTER();
    return ret_cu(cuCtxSynchronize());
}

EMU_API cudaError_t cudaStreamQuery(cudaStream_t stream)
{
    ENTER();
    return ret_cu(cuStreamQuery(stream));
}

EMU_API cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    ENTER();
    return ret_cu(cuStreamWaitEvent(stream, event, flags));
}

EMU_API cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    ENTER();
    return ret_cu(cuEventCreate(event, flags));
}

EMU_API cudaError_t cudaEventQuery(cudaEvent_t event)
{
    ENTER();
    return ret_cu(cuEventQuery(event));
}

EMU_API cudaError_t cudaEventCreate(cudaEvent_t *event)
{
    ENTER();
    return ret_cu(cuEventCreate(event, 0));
}

EMU_API cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    ENTER();
    return ret_cu(cuEventRecord(event, stream));
}

EMU_API cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    ENTER();
    return ret_cu(cuEventSynchronize(event));
}

EMU_API cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    ENTER();
    return ret_cu(cuEventDestroy(event));
}

EMU_API cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    ENTER();
    return ret_cu(cuEventElapsedTime(ms, start, end));
}

/* ---- capture and graphs ----------------------------------------------------- */

EMU_API cudaError_t cudaThreadExchangeStreamCaptureMode(enum cudaStreamCaptureMode *mode)
{
    ENTER();
    return ret_cu(cuThreadExchangeStreamCaptureMode((CUstreamCaptureMode *)mode));
}

EMU_API cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode)
{
    ENTER();
    return ret_cu(cuStreamBeginCapture(stream, (CUstreamCaptureMode)mode));
}

EMU_API cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *pGraph)
{
    ENTER();
    return ret_cu(cuStreamEndCapture(stream, pGraph));
}

EMU_API cudaError_t cudaStreamIsCapturing(cudaStream_t stream,
                                          enum cudaStreamCaptureStatus *pCaptureStatus)
{
    ENTER();
    return ret_cu(cuStreamIsCapturing(stream, (CUstreamCaptureStatus *)pCaptureStatus));
}

EMU_API cudaError_t cudaGraphCreate(cudaGraph_t *pGraph, unsigned int flags)
{
    ENTER();
    return ret_cu(cuGraphCreate(pGraph, flags));
}

EMU_API cudaError_t cudaGraphInstantiate(cudaGraphExec_t *pGraphExec, cudaGraph_t graph,
                                         unsigned long long flags)
{
    ENTER();
    return ret_cu(cuGraphInstantiate(pGraphExec, graph, flags));
}

EMU_API cudaError_t cudaGraphLaunch(cudaGraphExec_t graphExec, cudaStream_t stream)
{
    ENTER();
    return ret_cu(cuGraphLaunch(graphExec, stream));
}

EMU_API cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
    ENTER();
    return ret_cu(cuGraphDestroy(graph));
}

EMU_API cudaError_t cudaGraphExecDestroy(cudaGraphExec_t graphExec)
{
    ENTER();
    return ret_cu(cuGraphExecDestroy(graphExec));
}

/* ---- device, versions, errors --------------------------------------------- */

EMU_API cudaError_t cudaGetDevice(int *device)
{
    ENTER();
    if (!device)
        return rt_ret(cudaErrorInvalidValue);
    *device = 0;
    return cudaSuccess;
}

EMU_API cudaError_t cudaSetDevice(int device)
{
    ENTER();
    return device == 0 ? cudaSuccess : rt_ret(cudaErrorInvalidDevice);
}

EMU_API cudaError_t cudaGetDeviceCount(int *count)
{
    ENTER();
    if (!count)
        return rt_ret(cudaErrorInvalidValue);
    *count = 1;
    return cudaSuccess;
}

EMU_API cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)
{
    if (!runtimeVersion)
        return rt_ret(cudaErrorInvalidValue);
    *runtimeVersion = 13000;
    return cudaSuccess;
}

EMU_API cudaError_t cudaDriverGetVersion(int *driverVersion)
{
    return ret_cu(cuDriverGetVersion(driverVersion));
}

EMU_API cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

EMU_API cudaError_t cudaPeekAtLastError(void)
{
    return last_error;
}

#define RT_ERRORS(X) \
    X(cudaSuccess, "no error") \
    X(cudaErrorInvalidValue, "invalid argument") \
    X(cudaErrorMemoryAllocation, "out of memory") \
    X(cudaErrorInitializationError, "initialization error") \
    X(cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy") \
    X(cudaErrorInvalidPitchValue, "invalid pitch argument") \
    X(cudaErrorHostMemoryAlreadyRegistered, "part or all of the requested memory range is already mapped") \
    X(cudaErrorHostMemoryNotRegistered, "pointer does not correspond to a registered memory region") \
    X(cudaErrorInvalidDevice, "invalid device ordinal") \
    X(cudaErrorDeviceUninitialized, "invalid device context") \
    X(cudaErrorInvalidKernelImage, "device kernel image is invalid") \
    X(cudaErrorInvalidResourceHandle, "invalid resource handle") \
    X(cudaErrorIllegalState, "the operation cannot be performed in the present state") \
    X(cudaErrorSymbolNotFound, "named symbol not found") \
    X(cudaErrorNotReady, "device not ready") \
    X(cudaErrorIllegalAddress, "an illegal memory access was encountered") \
    X(cudaErrorLaunchFailure, "unspecified launch failure") \
    X(cudaErrorNotSupported, "operation not supported") \
    X(cudaErrorStreamCaptureUnsupported, "operation not permitted when stream is capturing") \
    X(cudaErrorStreamCaptureInvalidated, "operation failed due to a previous error during capture") \
    X(cudaErrorStreamCaptureMerge, "operation would result in a merge of separate capture sequences") \
    X(cudaErrorStreamCaptureUnmatched, "capture was not ended in the same stream as it began") \
    X(cudaErrorStreamCaptureUnjoined, "capturing stream has unjoined work") \
    X(cudaErrorStreamCaptureIsolation, "dependency created on uncaptured work in another stream") \
    X(cudaErrorStreamCaptureImplicit, "operation would make the legacy stream depend on a capturing blocking stream") \
    X(cudaErrorStreamCaptureWrongThread, "attempt to terminate a thread-local capture sequence from another thread") \
    X(cudaErrorUnknown, "unknown error")

EMU_API const char *cudaGetErrorName(cudaError_t error)
{
#define X(code, text) if (error == code) return #code;
    RT_ERRORS(X)
#undef X
    return "cudaErrorUnknown";
}

EMU_API const char *cudaGetErrorString(cudaError_t error)
{
#define X(code, text) if (error == code) return text;
    RT_ERRORS(X)
#undef X
    return "unrecognized error code";
}
