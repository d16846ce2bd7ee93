/* Emulated libcuda.so.1: copies and memset, 1D and pitched. Each end of a
 * copy is resolved to host memory when the copy is issued, through the
 * allocation registry of memory.c. */
#include <stdint.h>
#include <string.h>

#include "driver.h"

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

struct copy2d_op {
    char *dst;
    const char *src;
    size_t dpitch, spitch, width, height;
};

static CUresult run_copy2d(void *arg)
{
    struct copy2d_op *c = arg;
    for (size_t row = 0; row < c->height; row++)
        memmove(c->dst + row * c->dpitch, c->src + row * c->spitch, c->width);
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

static const enum side kind_sides[5][2] = {
    { HOST_SIDE, HOST_SIDE }, { DEVICE_SIDE, HOST_SIDE }, { HOST_SIDE, DEVICE_SIDE },
    { DEVICE_SIDE, DEVICE_SIDE }, { ANY_SIDE, ANY_SIDE },
};

/* Runs a resolved copy: in stream order, or at once and synchronously. */
static CUresult submit_copy(emu_op_fn run, void *op, size_t size, CUstream stream, int async)
{
    CUresult r;
    if (async) {
        int recorded;
        if ((r = emu_stream_record(stream, run, op, size, &recorded)) || recorded)
            return r;
        return run(op);
    }
    /* A synchronous copy waits for the legacy stream, hence for the host. */
    if ((r = emu_capture_unsafe_call()))
        return r;
    run(op);
    drv_count_sync(drv_legacy_stream());
    return CUDA_SUCCESS;
}

EMU_API CUresult emu_memcpy(void *dst, const void *src, size_t bytes, int kind,
                            CUstream stream, int async)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (kind < 0 || kind > 4)
        return CUDA_ERROR_INVALID_VALUE;
    if (!drv_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    if (bytes == 0)
        return CUDA_SUCCESS;
    struct copy_op op = { resolve(dst, bytes, kind_sides[kind][0]),
                          resolve(src, bytes, kind_sides[kind][1]), bytes };
    if (!op.dst || !op.src)
        return CUDA_ERROR_INVALID_VALUE;
    return submit_copy(run_copy, &op, sizeof op, stream, async);
}

/* Bytes a pitched block spans: full rows but the last. */
static size_t span_2d(size_t pitch, size_t width, size_t height)
{
    if (height - 1 > (SIZE_MAX - width) / pitch)
        return 0;
    return (height - 1) * pitch + width;
}

EMU_API CUresult emu_memcpy2d(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, int kind, CUstream stream, int async)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (kind < 0 || kind > 4 || dpitch < width || spitch < width)
        return CUDA_ERROR_INVALID_VALUE;
    if (!drv_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    if (width == 0 || height == 0)
        return CUDA_SUCCESS;
    size_t dspan = span_2d(dpitch, width, height), sspan = span_2d(spitch, width, height);
    if (!dspan || !sspan)
        return CUDA_ERROR_INVALID_VALUE;
    struct copy2d_op op = { resolve(dst, dspan, kind_sides[kind][0]),
                            resolve(src, sspan, kind_sides[kind][1]),
                            dpitch, spitch, width, height };
    if (!op.dst || !op.src)
        return CUDA_ERROR_INVALID_VALUE;
    return submit_copy(run_copy2d, &op, sizeof op, stream, async);
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
