/* Emulated libcuda.so.1: initialization, the one device, contexts, error
 * strings, environment switches and cuGetProcAddress. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

struct CUctx_st {
    atomic_int refs;
};

static atomic_int initialized;
static struct CUctx_st primary;
static atomic_uint primary_flags;

/* Like the real driver, a thread has no current context until one is made
 * current (cudart does that on its first call in each thread). */
#define CTX_STACK_MAX 16
static _Thread_local CUcontext ctx_stack[CTX_STACK_MAX];
static _Thread_local int ctx_depth;

#define FORK_LOCKS 4
static pthread_mutex_t *fork_locks[FORK_LOCKS];
static int nfork_locks; /* set by constructors, before any thread */

static void take_fork_locks(void)
{
    for (int i = 0; i < nfork_locks; i++)
        pthread_mutex_lock(fork_locks[i]);
}

static void give_fork_locks(void)
{
    for (int i = nfork_locks - 1; i >= 0; i--)
        pthread_mutex_unlock(fork_locks[i]);
}

void drv_lock_across_fork(pthread_mutex_t *lock)
{
    if (nfork_locks == 0)
        pthread_atfork(take_fork_locks, give_fork_locks, give_fork_locks);
    if (nfork_locks < FORK_LOCKS)
        fork_locks[nfork_locks++] = lock;
}

CUresult drv_need_init(void)
{
    return atomic_load(&initialized) ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED;
}

CUresult drv_need_ctx(void)
{
    if (!atomic_load(&initialized))
        return CUDA_ERROR_NOT_INITIALIZED;
    return ctx_depth > 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUcontext drv_primary(void)
{
    return &primary;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

/* Read once: benchmarks must not pay for getenv per call. */
static atomic_int null_compute = -1, trace = -1;

EMU_API int emu_null_compute(void)
{
    int v = atomic_load_explicit(&null_compute, memory_order_relaxed);
    if (v < 0)
        atomic_store(&null_compute, v = env_flag("EMU_NULL_COMPUTE"));
    return v;
}

EMU_API int emu_trace(void)
{
    int v = atomic_load_explicit(&trace, memory_order_relaxed);
    if (v < 0)
        atomic_store(&trace, v = env_flag("EMU_TRACE"));
    return v;
}

/* ---- initialization and the device ------------------------------------- */

EMU_API CUresult cuInit(unsigned int flags)
{
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    atomic_store(&initialized, 1);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDriverGetVersion(int *version)
{
    if (!version)
        return CUDA_ERROR_INVALID_VALUE;
    *version = 13000;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetCount(int *count)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!count)
        return CUDA_ERROR_INVALID_VALUE;
    *count = 1;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    if (ordinal != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!name || len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    snprintf(name, (size_t)len, "%s", "safehalf emulated device");
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!pi || attrib <= 0 || attrib >= CU_DEVICE_ATTRIBUTE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *pi = 0; /* what this device does not have or the emulator cannot do */
    switch (attrib) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *pi = 9; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *pi = 132; break;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *pi = 32; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *pi = 1024; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X:
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *pi = 1024; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *pi = 64; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *pi = 2147483647; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y:
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *pi = 65535; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *pi = 49152; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *pi = 232448; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: *pi = 233472; break;
    case CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK: *pi = 1024; break;
    case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: *pi = 65536; break;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK:
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: *pi = 65536; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *pi = 2048; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR: *pi = 32; break;
    case CU_DEVICE_ATTRIBUTE_MAX_PITCH: *pi = 2147483647; break;
    case CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT:
    case CU_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT: *pi = 512; break;
    case CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT: *pi = 32; break;
    case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *pi = 1980000; break;
    case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: *pi = 2619000; break;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *pi = 5120; break;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *pi = 50 << 20; break;
    case CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE: *pi = 30 << 20; break;
    case CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE: *pi = 134213632; break;
    case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: *pi = 3; break;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *pi = 0x18; break;
    case CU_DEVICE_ATTRIBUTE_GPU_PCI_DEVICE_ID: *pi = 0x233010de; break;
    case CU_DEVICE_ATTRIBUTE_GPU_PCI_SUBSYSTEM_ID: *pi = 0x16c110de; break;
    case CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID:
    case CU_DEVICE_ATTRIBUTE_NUMA_ID: *pi = -1; break;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_WIDTH:
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_WIDTH: *pi = 131072; break;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_HEIGHT: *pi = 65536; break;
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH:
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT:
    case CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH: *pi = 16384; break;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING:
    case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY:
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS:
    case CU_DEVICE_ATTRIBUTE_GPU_OVERLAP:
    case CU_DEVICE_ATTRIBUTE_ECC_ENABLED:
    case CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY:
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS:
    case CU_DEVICE_ATTRIBUTE_COMPUTE_PREEMPTION_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM:
    case CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH:
    case CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH: *pi = 1; break;
    default: break;
    }
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceCanAccessPeer(int *canAccessPeer, CUdevice dev, CUdevice peerDev)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!canAccessPeer)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0 || peerDev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *canAccessPeer = 0; /* there is no other device */
    return CUDA_SUCCESS;
}

/* ---- contexts: one device, one primary context ------------------------- */

static CUresult check_ctx(CUcontext ctx)
{
    return ctx == &primary ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

EMU_API CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    atomic_fetch_add(&primary.refs, 1);
    *pctx = &primary;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDevicePrimaryCtxRelease(CUdevice dev)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    if (atomic_fetch_sub(&primary.refs, 1) <= 0) {
        atomic_fetch_add(&primary.refs, 1);
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    unsigned sched = flags & CU_CTX_SCHED_MASK;
    if ((sched != CU_CTX_SCHED_AUTO && sched != CU_CTX_SCHED_SPIN &&
         sched != CU_CTX_SCHED_YIELD && sched != CU_CTX_SCHED_BLOCKING_SYNC) ||
        (flags & ~(unsigned)(CU_CTX_SCHED_MASK | CU_CTX_MAP_HOST | CU_CTX_LMEM_RESIZE_TO_MAX |
                             CU_CTX_COREDUMP_ENABLE | CU_CTX_USER_COREDUMP_ENABLE |
                             CU_CTX_SYNC_MEMOPS)))
        return CUDA_ERROR_INVALID_VALUE;
    atomic_store(&primary_flags, flags);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!flags || !active)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *flags = atomic_load(&primary_flags);
    *active = atomic_load(&primary.refs) > 0;
    return CUDA_SUCCESS;
}

/* Frees every allocation. The context object itself stays valid (it is the
 * one static primary), so threads that have it current may go on using it,
 * as they may after a real reset once the runtime re-creates it. Streams and
 * events are left alone: freeing them would turn stale handles into
 * use-after-free instead of errors. */
EMU_API CUresult cuDevicePrimaryCtxReset(CUdevice dev)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    drv_mem_reset();
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetCurrent(CUcontext *pctx)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    *pctx = ctx_depth ? ctx_stack[ctx_depth - 1] : NULL;
    return CUDA_SUCCESS;
}

/* Replaces the top of the stack; NULL pops, as documented for the driver. */
EMU_API CUresult cuCtxSetCurrent(CUcontext ctx)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!ctx) {
        if (ctx_depth)
            ctx_depth--;
        return CUDA_SUCCESS;
    }
    if ((r = check_ctx(ctx)))
        return r;
    if (ctx_depth)
        ctx_stack[ctx_depth - 1] = ctx;
    else
        ctx_stack[ctx_depth++] = ctx;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxPushCurrent(CUcontext ctx)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if ((r = check_ctx(ctx)))
        return r;
    if (ctx_depth == CTX_STACK_MAX)
        return CUDA_ERROR_OUT_OF_MEMORY;
    ctx_stack[ctx_depth++] = ctx;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxPopCurrent(CUcontext *pctx)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    CUcontext top = ctx_stack[--ctx_depth];
    if (pctx)
        *pctx = top;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuCtxGetDevice(CUdevice *device)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    *device = 0;
    return CUDA_SUCCESS;
}

/* CUDA 13's: the device of ctx, or of the current context when ctx is NULL.
 * A caller that looked it up as the one-parameter cuCtxGetDevice passes
 * whatever its second argument register holds: refused, as the real driver
 * refuses (or crashes on) a context it does not know. */
EMU_API CUresult cuCtxGetDevice_v2(CUdevice *device, CUcontext ctx)
{
    if (ctx && ctx != drv_primary())
        return CUDA_ERROR_INVALID_CONTEXT;
    return cuCtxGetDevice(device);
}

EMU_API CUresult cuCtxSynchronize(void)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if ((r = emu_capture_unsafe_call()))
        return r;
    drv_count_sync(NULL);
    return CUDA_SUCCESS;
}

/* ---- error strings ------------------------------------------------------ */

#define ERRORS(X) \
    X(CUDA_SUCCESS, "no error") \
    X(CUDA_ERROR_INVALID_VALUE, "invalid argument") \
    X(CUDA_ERROR_OUT_OF_MEMORY, "out of memory") \
    X(CUDA_ERROR_NOT_INITIALIZED, "initialization error") \
    X(CUDA_ERROR_DEINITIALIZED, "driver shutting down") \
    X(CUDA_ERROR_NO_DEVICE, "no CUDA-capable device is detected") \
    X(CUDA_ERROR_INVALID_DEVICE, "invalid device ordinal") \
    X(CUDA_ERROR_INVALID_IMAGE, "device kernel image is invalid") \
    X(CUDA_ERROR_INVALID_CONTEXT, "invalid device context") \
    X(CUDA_ERROR_INVALID_HANDLE, "invalid resource handle") \
    X(CUDA_ERROR_ILLEGAL_STATE, "the operation cannot be performed in the present state") \
    X(CUDA_ERROR_NOT_FOUND, "named symbol not found") \
    X(CUDA_ERROR_NOT_READY, "device not ready") \
    X(CUDA_ERROR_ILLEGAL_ADDRESS, "an illegal memory access was encountered") \
    X(CUDA_ERROR_LAUNCH_FAILED, "unspecified launch failure") \
    X(CUDA_ERROR_NOT_SUPPORTED, "operation not supported") \
    X(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, "part or all of the requested memory range is already mapped") \
    X(CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED, "pointer does not correspond to a registered memory region") \
    X(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "operation not permitted when stream is capturing") \
    X(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, "operation failed due to a previous error during capture") \
    X(CUDA_ERROR_STREAM_CAPTURE_MERGE, "operation would result in a merge of separate capture sequences") \
    X(CUDA_ERROR_STREAM_CAPTURE_UNMATCHED, "capture was not ended in the same stream as it began") \
    X(CUDA_ERROR_STREAM_CAPTURE_UNJOINED, "capturing stream has unjoined work") \
    X(CUDA_ERROR_STREAM_CAPTURE_ISOLATION, "dependency created on uncaptured work in another stream") \
    X(CUDA_ERROR_STREAM_CAPTURE_IMPLICIT, "operation would make the legacy stream depend on a capturing blocking stream") \
    X(CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD, "attempt to terminate a thread-local capture sequence from another thread") \
    X(CUDA_ERROR_UNKNOWN, "unknown error")

EMU_API CUresult cuGetErrorString(CUresult error, const char **pstr)
{
    if (!pstr)
        return CUDA_ERROR_INVALID_VALUE;
#define X(code, text) if (error == code) { *pstr = text; return CUDA_SUCCESS; }
    ERRORS(X)
#undef X
    *pstr = NULL;
    return CUDA_ERROR_INVALID_VALUE;
}

EMU_API CUresult cuGetErrorName(CUresult error, const char **pstr)
{
    if (!pstr)
        return CUDA_ERROR_INVALID_VALUE;
#define X(code, text) if (error == code) { *pstr = #code; return CUDA_SUCCESS; }
    ERRORS(X)
#undef X
    *pstr = NULL;
    return CUDA_ERROR_INVALID_VALUE;
}

/* ---- cuGetProcAddress: callers ask by base name ------------------------- */

#define PROCS(X) \
    X(cuInit, cuInit) X(cuDriverGetVersion, cuDriverGetVersion) \
    X(cuDeviceGetCount, cuDeviceGetCount) X(cuDeviceGet, cuDeviceGet) \
    X(cuDeviceGetName, cuDeviceGetName) X(cuDeviceGetAttribute, cuDeviceGetAttribute) \
    X(cuDeviceTotalMem, cuDeviceTotalMem_v2) X(cuDeviceCanAccessPeer, cuDeviceCanAccessPeer) \
    X(cuDevicePrimaryCtxSetFlags, cuDevicePrimaryCtxSetFlags_v2) \
    X(cuDevicePrimaryCtxGetState, cuDevicePrimaryCtxGetState) \
    X(cuDevicePrimaryCtxReset, cuDevicePrimaryCtxReset_v2) \
    X(cuCtxGetStreamPriorityRange, cuCtxGetStreamPriorityRange) \
    X(cuStreamCreateWithPriority, cuStreamCreateWithPriority) \
    X(cuStreamGetPriority, cuStreamGetPriority) X(cuStreamGetFlags, cuStreamGetFlags) \
    X(cuLaunchHostFunc, cuLaunchHostFunc) \
    X(cuMemGetInfo, cuMemGetInfo_v2) X(cuMemAllocManaged, cuMemAllocManaged) \
    X(cuMemAllocAsync, cuMemAllocAsync) X(cuMemFreeAsync, cuMemFreeAsync) \
    X(cuMemHostRegister, cuMemHostRegister_v2) X(cuMemHostUnregister, cuMemHostUnregister) \
    X(cuPointerGetAttribute, cuPointerGetAttribute) \
    X(cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain) \
    X(cuDevicePrimaryCtxRelease, cuDevicePrimaryCtxRelease_v2) \
    X(cuCtxGetCurrent, cuCtxGetCurrent) X(cuCtxSetCurrent, cuCtxSetCurrent) \
    X(cuCtxPushCurrent, cuCtxPushCurrent_v2) X(cuCtxPopCurrent, cuCtxPopCurrent_v2) \
    X(cuCtxGetDevice, cuCtxGetDevice) X(cuCtxSynchronize, cuCtxSynchronize) \
    X(cuStreamGetCtx, cuStreamGetCtx) X(cuStreamGetDevice, cuStreamGetDevice) \
    X(cuStreamSynchronize, cuStreamSynchronize) \
    X(cuStreamQuery, cuStreamQuery) X(cuStreamCreate, cuStreamCreate) \
    X(cuStreamDestroy, cuStreamDestroy_v2) X(cuStreamWaitEvent, cuStreamWaitEvent) \
    X(cuStreamGetCaptureInfo, cuStreamGetCaptureInfo_v3) \
    X(cuStreamIsCapturing, cuStreamIsCapturing) \
    X(cuStreamBeginCapture, cuStreamBeginCapture_v2) X(cuStreamEndCapture, cuStreamEndCapture) \
    X(cuThreadExchangeStreamCaptureMode, cuThreadExchangeStreamCaptureMode) \
    X(cuEventCreate, cuEventCreate) X(cuEventDestroy, cuEventDestroy_v2) \
    X(cuEventRecord, cuEventRecord) X(cuEventQuery, cuEventQuery) \
    X(cuEventSynchronize, cuEventSynchronize) X(cuEventElapsedTime, cuEventElapsedTime_v2) \
    X(cuGraphInstantiate, cuGraphInstantiateWithFlags) \
    X(cuGraphInstantiateWithFlags, cuGraphInstantiateWithFlags) \
    X(cuGraphLaunch, cuGraphLaunch) X(cuGraphDestroy, cuGraphDestroy) \
    X(cuGraphExecDestroy, cuGraphExecDestroy) \
    X(cuMemAlloc, cuMemAlloc_v2) X(cuMemFree, cuMemFree_v2) \
    X(cuMemAllocHost, cuMemAllocHost_v2) X(cuMemHostAlloc, cuMemHostAlloc) \
    X(cuMemFreeHost, cuMemFreeHost) X(cuMemHostGetDevicePointer, cuMemHostGetDevicePointer_v2) \
    X(cuMemcpyHtoD, cuMemcpyHtoD_v2) X(cuMemcpyDtoH, cuMemcpyDtoH_v2) \
    X(cuMemcpyAsync, cuMemcpyAsync) X(cuMemsetD8, cuMemsetD8_v2) \
    X(cuMemsetD8Async, cuMemsetD8Async) \
    X(cuLibraryLoadData, cuLibraryLoadData) X(cuLibraryUnload, cuLibraryUnload) \
    X(cuLibraryGetKernel, cuLibraryGetKernel) X(cuKernelGetFunction, cuKernelGetFunction) \
    X(cuModuleLoadData, cuModuleLoadData) X(cuModuleUnload, cuModuleUnload) \
    X(cuModuleGetFunction, cuModuleGetFunction) X(cuLaunchKernel, cuLaunchKernel) \
    X(cuGetErrorString, cuGetErrorString) X(cuGetErrorName, cuGetErrorName) \
    X(cuGetProcAddress, cuGetProcAddress_v2)

/* Functions whose parameters changed: asked for at cuda_version >= the
 * version named here, the driver hands out the newer one (cudaTypedefs.h's
 * PFN_<name>_v<version>), whatever prototype the caller has in mind. */
#define NEWER_PROCS(X) \
    X(cuCtxGetDevice, 13000, cuCtxGetDevice_v2) X(cuStreamGetCtx, 12050, cuStreamGetCtx_v2)

EMU_API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cuda_version,
                                  cuuint64_t flags, CUdriverProcAddressQueryResult *status)
{
    (void)flags;
    if (!symbol || !pfn)
        return CUDA_ERROR_INVALID_VALUE;
    /* The newer variants first: the first entry the version admits wins. */
    static const struct { const char *name; int since; void *fn; } procs[] = {
#define NEWER(base, since, impl) { #base, since, (void *)impl },
#define X(base, impl) { #base, 0, (void *)impl },
        NEWER_PROCS(NEWER) PROCS(X)
#undef X
#undef NEWER
    };
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) {
        if (strcmp(procs[i].name, symbol) == 0 && cuda_version >= procs[i].since) {
            *pfn = procs[i].fn;
            if (status)
                *status = CU_GET_PROC_ADDRESS_SUCCESS;
            return CUDA_SUCCESS;
        }
    }
    *pfn = NULL;
    if (status)
        *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
}
