/* Emulated libcuda.so.1: device and pinned memory, copies and memset.
 *
 * Device memory is host memory handed out under a tagged address (see
 * emu.h). Pinned memory is plain host memory whose device address equals its
 * host address, as with unified addressing. Both are kept in one registry so
 * every translation can be checked against a live allocation. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

struct range {
    uintptr_t base; /* host address */
    size_t size;
    int pinned;
};

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *ranges;
static size_t nranges, cap_ranges;

static int add_range(uintptr_t base, size_t size, int pinned)
{
    pthread_mutex_lock(&mem_lock);
    if (nranges == cap_ranges) {
        size_t n = cap_ranges ? 2 * cap_ranges : 64;
        struct range *r = realloc(ranges, n * sizeof *r);
        if (!r) {
            pthread_mutex_unlock(&mem_lock);
            return -1;
        }
        ranges = r;
        cap_ranges = n;
    }
    ranges[nranges++] = (struct range){ base, size, pinned };
    pthread_mutex_unlock(&mem_lock);
    return 0;
}

/* Removes the allocation that starts exactly at base; 0 when there is none. */
static int remove_range(uintptr_t base, int pinned)
{
    int found = 0;
    pthread_mutex_lock(&mem_lock);
    for (size_t i = 0; i < nranges; i++) {
        if (ranges[i].base == base && ranges[i].pinned == pinned) {
            ranges[i] = ranges[--nranges];
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&mem_lock);
    return found;
}

static void *lookup(const void *dev, size_t bytes)
{
    int tagged = emu_is_tagged(dev);
    uintptr_t h = (uintptr_t)dev & (tagged ? ~EMU_TAG_MASK : ~(uintptr_t)0);
    void *out = NULL;
    if (!dev)
        return NULL;
    pthread_mutex_lock(&mem_lock);
    /* Newest first: recent allocations are the ones in use. */
    for (size_t i = nranges; i-- > 0;) {
        const struct range *r = &ranges[i];
        if (r->pinned != !tagged || h < r->base || h - r->base >= r->size)
            continue;
        if (bytes <= r->size - (h - r->base))
            out = (void *)h;
        break;
    }
    pthread_mutex_unlock(&mem_lock);
    return out;
}

EMU_API void *emu_to_host(const void *dev)
{
    return lookup(dev, 1);
}

EMU_API void *emu_to_host_range(const void *dev, size_t bytes)
{
    return lookup(dev, bytes ? bytes : 1);
}

/* ---- allocation ---------------------------------------------------------- */

static void *host_alloc(size_t bytes)
{
    void *p = NULL;
    size_t rounded = (bytes + 255) & ~(size_t)255;
    if (rounded < bytes || posix_memalign(&p, 256, rounded))
        return NULL;
    memset(p, 0, rounded);
    return p;
}

EMU_API CUresult cuMemAlloc(CUdeviceptr *dptr, size_t bytesize)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!dptr || bytesize == 0)
        return CUDA_ERROR_INVALID_VALUE;
    if ((r = emu_capture_unsafe_call()))
        return r;
    void *p = host_alloc(bytesize);
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if ((uintptr_t)p & EMU_TAG_MASK) {
        /* Cannot happen with a 47/48-bit user address space. */
        fprintf(stderr, "emu: host address %p too high to tag\n", p);
        abort();
    }
    if (add_range((uintptr_t)p, bytesize, 0)) {
        free(p);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *dptr = (CUdeviceptr)((uintptr_t)p | (EMU_TAG << EMU_TAG_SHIFT));
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemFree(CUdeviceptr dptr)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (dptr == 0)
        return CUDA_SUCCESS;
    if ((r = emu_capture_unsafe_call()))
        return r;
    if (!emu_is_tagged((void *)(uintptr_t)dptr))
        return CUDA_ERROR_INVALID_VALUE;
    uintptr_t h = (uintptr_t)dptr & ~EMU_TAG_MASK;
    if (!remove_range(h, 0))
        return CUDA_ERROR_INVALID_VALUE;
    free((void *)h);
    return CUDA_SUCCESS;
}

static CUresult pinned_alloc(void **pp, size_t bytesize)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!pp)
        return CUDA_ERROR_INVALID_VALUE;
    if ((r = emu_capture_unsafe_call()))
        return r;
    void *p = host_alloc(bytesize ? bytesize : 1);
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (add_range((uintptr_t)p, bytesize ? bytesize : 1, 1)) {
        free(p);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *pp = p;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemAllocHost(void **pp, size_t bytesize)
{
    return pinned_alloc(pp, bytesize);
}

/* Every pinned allocation is mapped: with unified addressing its device
 * pointer is its host pointer whatever the flags say. */
EMU_API CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int flags)
{
    if (flags & ~(unsigned)(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP |
                            CU_MEMHOSTALLOC_WRITECOMBINED))
        return CUDA_ERROR_INVALID_VALUE;
    return pinned_alloc(pp, bytesize);
}

EMU_API CUresult cuMemFreeHost(void *p)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if ((r = emu_capture_unsafe_call()))
        return r;
    if (!p || !remove_range((uintptr_t)p, 1))
        return CUDA_ERROR_INVALID_VALUE;
    free(p);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuMemHostGetDevicePointer(CUdeviceptr *pdptr, void *p, unsigned int flags)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!pdptr || flags != 0 || emu_is_tagged(p) || !emu_to_host(p))
        return CUDA_ERROR_INVALID_VALUE;
    *pdptr = (CUdeviceptr)(uintptr_t)p;
    return CUDA_SUCCESS;
}

/* ---- copies --------------------------------------------------------------- */

enum side { HOST_SIDE, DEVICE_SIDE, ANY_SIDE };

/* Host address for one end of a copy, or NULL when that end is unusable: a
 * host end may not be a device address, a device end must be inside an
 * allocation (device or mapped pinned). */
static void *resolve(const void *p, size_t bytes, enum side side)
{
    if (!p)
        return NULL;
    if (side == DEVICE_SIDE || (side == ANY_SIDE && emu_is_tagged(p)))
        return emu_to_host_range(p, bytes);
    return emu_is_tagged(p) ? NULL : (void *)p;
}

struct copy_op {
    void *dst;
    const void *src;
    size_t bytes;
};

static CUresult run_copy(void *arg)
{
    struct copy_op *c = arg;
    memmove(c->dst, c->src, c->bytes);
    return CUDA_SUCCESS;
}

struct set_op {
    void *dst;
    int value;
    size_t bytes;
};

static CUresult run_set(void *arg)
{
    struct set_op *s = arg;
    memset(s->dst, s->value, s->bytes);
    return CUDA_SUCCESS;
}

EMU_API CUresult emu_memcpy(void *dst, const void *src, size_t bytes, int kind,
                            CUstream stream, int async)
{
    static const enum side sides[5][2] = {
        { HOST_SIDE, HOST_SIDE }, { DEVICE_SIDE, HOST_SIDE }, { HOST_SIDE, DEVICE_SIDE },
        { DEVICE_SIDE, DEVICE_SIDE }, { ANY_SIDE, ANY_SIDE },
    };
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (kind < 0 || kind > 4)
        return CUDA_ERROR_INVALID_VALUE;
    if (!drv_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    if (bytes == 0)
        return CUDA_SUCCESS;
    struct copy_op op = { resolve(dst, bytes, sides[kind][0]),
                          resolve(src, bytes, sides[kind][1]), bytes };
    if (!op.dst || !op.src)
        return CUDA_ERROR_INVALID_VALUE;
    if (async) {
        int recorded;
        if ((r = emu_stream_record(stream, run_copy, &op, sizeof op, &recorded)) || recorded)
            return r;
        return run_copy(&op);
    }
    /* A synchronous copy waits for the legacy stream, hence for the host. */
    if ((r = emu_capture_unsafe_call()))
        return r;
    run_copy(&op);
    drv_count_sync(drv_legacy_stream());
    return CUDA_SUCCESS;
}

EMU_API CUresult emu_memset(void *dst, int value, size_t bytes, CUstream stream, int async)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!drv_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    if (bytes == 0)
        return CUDA_SUCCESS;
    struct set_op op = { resolve(dst, bytes, DEVICE_SIDE), value, bytes };
    if (!op.dst)
        return CUDA_ERROR_INVALID_VALUE;
    if (async) {
        int recorded;
        if ((r = emu_stream_record(stream, run_set, &op, sizeof op, &recorded)) || recorded)
            return r;
    }
    return run_set(&op);
}

EMU_API CUresult cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t bytes)
{
    return emu_memcpy((void *)(uintptr_t)dst, src, bytes, 1, NULL, 0);
}

EMU_API CUresult cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t bytes)
{
    return emu_memcpy(dst, (const void *)(uintptr_t)src, bytes, 2, NULL, 0);
}

EMU_API CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream)
{
    return emu_memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, bytes, 4,
                      stream, 1);
}

EMU_API CUresult cuMemsetD8(CUdeviceptr dst, unsigned char uc, size_t n)
{
    return emu_memset((void *)(uintptr_t)dst, uc, n, NULL, 0);
}

EMU_API CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char uc, size_t n, CUstream stream)
{
    return emu_memset((void *)(uintptr_t)dst, uc, n, stream, 1);
}
