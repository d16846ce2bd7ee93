#include "driver.h"

#include <cuda.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "lockrenew.h"
#include "log.h"

extern const unsigned char sh_kernels_fatbin[];

/* Driver functions the shim uses, each fetched with cuGetProcAddress at the
 * CUDA version whose parameters the prototype here has (cudaTypedefs.h's
 * PFN_<name>_v<version>). Asking at the headers' CUDA_VERSION instead hands
 * out the newest variant: under CUDA 13 that is cuCtxGetDevice(dev, ctx) and
 * cuStreamGetCtx(stream, ctx, green), and a call with the old parameters
 * crashed inside the driver (seen on an H100). */
#define SH_DRIVER_FUNCS(X)                                                                  \
    X(cuInit, 2000, (unsigned int flags))                                                   \
    X(cuStreamGetCtx, 9020, (CUstream s, CUcontext *ctx))                                   \
    X(cuCtxPushCurrent, 4000, (CUcontext ctx))                                              \
    X(cuCtxPopCurrent, 4000, (CUcontext * ctx))                                             \
    X(cuMemAlloc, 3020, (CUdeviceptr * p, size_t bytes))                                    \
    X(cuThreadExchangeStreamCaptureMode, 10010, (CUstreamCaptureMode * mode))               \
    X(cuLibraryLoadData, 12000,                                                             \
      (CUlibrary * lib, const void *code, CUjit_option *jo, void **jv, unsigned int njo,    \
       CUlibraryOption *lo, void **lv, unsigned int nlo))                                   \
    X(cuLibraryGetKernel, 12000, (CUkernel * k, CUlibrary lib, const char *name))           \
    X(cuLaunchKernel, 4000,                                                                 \
      (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,       \
       unsigned bz, unsigned shmem, CUstream s, void **params, void **extra))               \
    X(cuCtxGetCurrent, 4000, (CUcontext * ctx))                                             \
    X(cuDevicePrimaryCtxRetain, 7000, (CUcontext * ctx, CUdevice dev))                      \
    X(cuCtxGetDevice, 2000, (CUdevice * dev))                                               \
    X(cuStreamIsCapturing, 10000, (CUstream s, CUstreamCaptureStatus * status))             \
    X(cuStreamSynchronize, 2000, (CUstream s))                                              \
    X(cuMemHostRegister, 6050, (void *p, size_t bytes, unsigned int flags))                 \
    X(cuMemHostGetDevicePointer, 3020, (CUdeviceptr * dev, void *p, unsigned int flags))    \
    X(cuPointerGetAttribute, 4000, (void *data, CUpointer_attribute attr, CUdeviceptr p))

/* Newer than the rest (CUDA 12.8): without it records say "device": null. */
#define SH_DRIVER_OPTIONAL(X) X(cuStreamGetDevice, 12080, (CUstream s, CUdevice * dev))

#define DECLARE(name, version, params) static CUresult(*p_##name) params;
SH_DRIVER_FUNCS(DECLARE)
SH_DRIVER_OPTIONAL(DECLARE)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static atomic_bool loaded; /* read without the once by sh_driver_current_device */

/* In enum sh_kernel order. */
static const char *const kernel_names[SH_NKERNELS] = {
    "safehalf_scalars_h2f", "safehalf_scan_f16",       "safehalf_scan_bf16",
    "safehalf_scan_f32",    "safehalf_saturate_f16",   "safehalf_saturate_bf16",
    "safehalf_scan_init",
};
static CUkernel kernels[SH_NKERNELS];

typedef CUresult (*get_proc_fn)(const char *, void **, int, cuuint64_t,
                                CUdriverProcAddressQueryResult *);

/* The driver's function of that name with the parameters it had in that
 * CUDA version, or NULL. */
static bool lookup(get_proc_fn get, const char *name, int version, void **slot)
{
    CUdriverProcAddressQueryResult found;
    if (get(name, slot, version, CU_GET_PROC_ADDRESS_DEFAULT, &found) != CUDA_SUCCESS ||
        found != CU_GET_PROC_ADDRESS_SUCCESS || !*slot) {
        *slot = NULL;
        return false;
    }
    return true;
}

static bool fetch(get_proc_fn get, const char *name, int version, void **slot)
{
    if (lookup(get, name, version, slot))
        return true;
    sh_warn("the CUDA driver lacks %s (driver older than CUDA %d.%d?); " SH_NO_DEVICE_WORK, name,
            version / 1000, version % 1000 / 10);
    return false;
}

static void load(void)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        sh_warn("libcuda.so.1 not found (%s); " SH_NO_DEVICE_WORK, dlerror());
        return;
    }
    get_proc_fn get = (get_proc_fn)dlsym(lib, "cuGetProcAddress_v2");
    if (!get) {
        sh_warn("libcuda.so.1 has no cuGetProcAddress_v2 (driver too old); " SH_NO_DEVICE_WORK);
        return;
    }
#define FETCH(name, version, params) if (!fetch(get, #name, version, (void **)&p_##name)) return;
    SH_DRIVER_FUNCS(FETCH)
#define FETCH_OPTIONAL(name, version, params) lookup(get, #name, version, (void **)&p_##name);
    SH_DRIVER_OPTIONAL(FETCH_OPTIONAL)
    CUresult r = p_cuInit(0);
    CUlibrary kl;
    if (r == CUDA_SUCCESS)
        r = p_cuLibraryLoadData(&kl, sh_kernels_fatbin, NULL, NULL, 0, NULL, NULL, 0);
    for (int i = 0; i < SH_NKERNELS && r == CUDA_SUCCESS; i++)
        r = p_cuLibraryGetKernel(&kernels[i], kl, kernel_names[i]);
    if (r != CUDA_SUCCESS) {
        sh_warn("cannot load the safehalf kernels (CUDA error %d); " SH_NO_DEVICE_WORK, (int)r);
        return;
    }
    atomic_store_explicit(&loaded, true, memory_order_release);
}

bool sh_driver_ready(void)
{
    pthread_once(&load_once, load);
    return atomic_load_explicit(&loaded, memory_order_acquire);
}

/* One pair of floats per (context, stream): work on one stream runs in
 * order, so the next conversion on a stream cannot overwrite the pair
 * before the GEMM that reads it has run. CU_STREAM_PER_THREAD is one
 * handle for a stream of each thread's own, unordered with the others':
 * its pairs are per thread too. */
#define NSCRATCH 512
static struct scratch {
    CUcontext ctx;
    CUstream stream;
    long tid; /* CU_STREAM_PER_THREAD's thread, else 0 */
    CUdeviceptr mem;
    unsigned long long id; /* mem's CU_POINTER_ATTRIBUTE_BUFFER_ID */
} scratch[NSCRATCH];
static int nscratch;
static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int warned_full;

/* The buffer id of mem, 0 when it is not allocated (in the current context). */
static unsigned long long buffer_id(CUdeviceptr mem)
{
    unsigned long long id = 0;
    if (p_cuPointerGetAttribute(&id, CU_POINTER_ATTRIBUTE_BUFFER_ID, mem) != CUDA_SUCCESS)
        return 0;
    return id;
}

static CUdeviceptr scratch_for(CUcontext ctx, CUstream stream)
{
    CUdeviceptr mem = 0;
    long tid = stream == CU_STREAM_PER_THREAD ? sh_log_tid() : 0;
    int at = -1;
    CUcontext popped;
    pthread_mutex_lock(&scratch_lock);
    for (int i = 0; i < nscratch && at < 0; i++)
        if (scratch[i].ctx == ctx && scratch[i].stream == stream && scratch[i].tid == tid)
            at = i;
    if ((at >= 0 || nscratch < NSCRATCH) && p_cuCtxPushCurrent(ctx) == CUDA_SUCCESS) {
        /* A device reset (cudaDeviceReset) frees the pair with everything
         * else, and a later allocation of the program's may take its
         * address: the pair serves while it is still the allocation made
         * for it (the same buffer id), else a new one is made. A driver
         * that gave no id for it is trusted. */
        if (at >= 0 && (!scratch[at].id || buffer_id(scratch[at].mem) == scratch[at].id))
            mem = scratch[at].mem;
        if (!mem) {
            /* Relaxed capture mode: allocating is legal while another stream
             * of this thread captures a graph, and must not invalidate it. */
            CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
            p_cuThreadExchangeStreamCaptureMode(&mode);
            if (p_cuMemAlloc(&mem, 2 * sizeof(float)) != CUDA_SUCCESS)
                mem = 0;
            p_cuThreadExchangeStreamCaptureMode(&mode);
            unsigned long long id = mem ? buffer_id(mem) : 0;
            if (mem && at < 0)
                at = nscratch++;
            if (mem)
                scratch[at] = (struct scratch){ ctx, stream, tid, mem, id };
        }
        p_cuCtxPopCurrent(&popped);
    } else if (at < 0 && nscratch >= NSCRATCH) {
        sh_warn_once(&warned_full, "more than %d streams use half scalars in device memory; "
                     "calls on further streams are not upcast", NSCRATCH);
    }
    pthread_mutex_unlock(&scratch_lock);
    return mem;
}

/* Device 0's primary context, retained once for the process (never
 * released: the runtime holds it for as long anyway). */
static _Atomic(CUcontext) device0;

static bool default_stream(void *stream)
{
    return stream == NULL || stream == (void *)CU_STREAM_LEGACY ||
           stream == (void *)CU_STREAM_PER_THREAD;
}

/* The context a call on a default stream runs in when the calling thread
 * has none current: the runtime, inside the library's own call, makes
 * device 0's primary context current (a thread that had chosen a device
 * with cudaSetDevice would have one current already). */
static bool implicit_context(void *stream, CUcontext *ctx)
{
    CUcontext cur = NULL;
    if (!default_stream(stream) || p_cuCtxGetCurrent(&cur) != CUDA_SUCCESS || cur)
        return false;
    *ctx = atomic_load(&device0);
    if (*ctx)
        return true;
    CUcontext got = NULL, none = NULL;
    if (p_cuDevicePrimaryCtxRetain(&got, 0) != CUDA_SUCCESS || !got)
        return false;
    /* Another thread may have retained it too: one reference is kept. */
    *ctx = atomic_compare_exchange_strong(&device0, &none, got) ? got : none;
    return true;
}

bool sh_driver_scalars_h2f(void *stream, const void *alpha, const void *beta, void **out)
{
    CUcontext ctx, popped;
    bool pushed = false;
    if (!sh_driver_ready())
        return false;
    if (p_cuStreamGetCtx((CUstream)stream, &ctx) != CUDA_SUCCESS) {
        /* The conversion runs where the library's call will: a default
         * stream of a thread with no current context (its first call). */
        if (!implicit_context(stream, &ctx) || p_cuCtxPushCurrent(ctx) != CUDA_SUCCESS)
            return false;
        pushed = true;
    }
    CUdeviceptr mem = scratch_for(ctx, (CUstream)stream);
    void *dst = (void *)(uintptr_t)mem;
    void *params[] = { &alpha, &beta, &dst };
    bool ok = mem && sh_driver_launch(SH_K_SCALARS_H2F, 1, 1, stream, params) == CUDA_SUCCESS;
    if (pushed)
        p_cuCtxPopCurrent(&popped);
    if (ok)
        *out = dst;
    return ok;
}

int sh_driver_launch(enum sh_kernel k, unsigned grid, unsigned block, void *stream,
                     void **params)
{
    /* The kernel runs in the stream's context (a CUkernel needs no module
     * per context), so the caller's current context does not matter. */
    return (int)p_cuLaunchKernel((CUfunction)kernels[k], grid, 1, 1, block, 1, 1, 0,
                                 (CUstream)stream, params, NULL);
}

enum sh_stream_capture sh_driver_capture(void *stream)
{
    CUstreamCaptureStatus st;
    if (p_cuStreamIsCapturing((CUstream)stream, &st) != CUDA_SUCCESS)
        return SH_CAPTURE_UNKNOWN;
    return st == CU_STREAM_CAPTURE_STATUS_NONE     ? SH_NOT_CAPTURING
           : st == CU_STREAM_CAPTURE_STATUS_ACTIVE ? SH_CAPTURING
                                                   : SH_CAPTURE_UNKNOWN;
}

int sh_driver_sync(void *stream)
{
    /* Relaxed capture mode: this thread's stream is not capturing (the
     * sync check skips captured calls), and waiting for it must not
     * invalidate another thread's capture in global mode (torch.cuda.graph's
     * default), as a synchronization the program did not make. */
    CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
    p_cuThreadExchangeStreamCaptureMode(&mode);
    CUresult r = p_cuStreamSynchronize((CUstream)stream);
    p_cuThreadExchangeStreamCaptureMode(&mode);
    return (int)r;
}

int sh_driver_stream_device(void *stream)
{
    CUdevice dev;
    if (!p_cuStreamGetDevice || p_cuStreamGetDevice((CUstream)stream, &dev) != CUDA_SUCCESS)
        return -1;
    return (int)dev;
}

int sh_driver_current_device(void)
{
    CUdevice dev;
    /* Not a reason to load the driver: -1 until something else has. */
    if (!atomic_load_explicit(&loaded, memory_order_acquire))
        return -1;
    return p_cuCtxGetDevice(&dev) == CUDA_SUCCESS ? (int)dev : -1;
}

bool sh_driver_map_host(void *host, size_t bytes, void *stream)
{
    CUcontext ctx = NULL, popped;
    bool pushed = false;
    CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
    /* Registration needs a current context; the stream's will do. */
    if (p_cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx) {
        if (p_cuStreamGetCtx((CUstream)stream, &ctx) != CUDA_SUCCESS ||
            p_cuCtxPushCurrent(ctx) != CUDA_SUCCESS)
            return false;
        pushed = true;
    }
    p_cuThreadExchangeStreamCaptureMode(&mode);
    CUresult r = p_cuMemHostRegister(host, bytes,
                                     CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP);
    p_cuThreadExchangeStreamCaptureMode(&mode);
    if (pushed)
        p_cuCtxPopCurrent(&popped);
    return r == CUDA_SUCCESS || r == CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
}

void *sh_driver_device_address(void *host)
{
    CUdeviceptr d;
    if (p_cuMemHostGetDevicePointer(&d, host, 0) != CUDA_SUCCESS)
        return NULL;
    return (void *)(uintptr_t)d;
}

void sh_driver_after_fork(void)
{
    /* CUDA cannot be used in a forked child of a CUDA process; a child that
     * starts CUDA afresh gets new contexts, so the parent's memory is stale. */
    nscratch = 0;
    atomic_store(&device0, NULL);
    sh_lock_renew(&scratch_lock);
}
