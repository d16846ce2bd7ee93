/* Emulated libcuda.so.1: device, managed, pinned and registered memory,
 * stream-ordered allocation and pointer attributes (copies are in copy.c).
 *
 * Device memory is host memory handed out under a tagged address (see
 * emu.h). Pinned, registered and managed memory are plain host memory whose
 * device address equals its host address, as with unified addressing. All
 * are kept in one registry so every translation can be checked against a
 * live allocation. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

enum kind {
    DEVICE_MEM,     /* cuMemAlloc & co.: tagged addresses */
    PINNED_MEM,     /* cuMemAllocHost, cuMemHostAlloc: device address = host */
    MANAGED_MEM,    /* cuMemAllocManaged: host-accessible, counts as device memory */
    REGISTERED_MEM, /* cuMemHostRegister: the caller's memory, never freed here */
};

/* A stream-ordered allocation (cuMemAllocAsync). Inside a capture its
 * address is fixed when the capture records it, as for CUDA's graph memory
 * nodes, but it is live only from the alloc node's run to a free. The graph
 * node and the live range each hold a reference; all fields are guarded by
 * mem_lock. */
struct gblock {
    struct gblock *next;
    int refs;
    int live;
    void *host;
    size_t size;
};

struct range {
    uintptr_t base; /* host address */
    size_t size;
    enum kind kind;
    struct gblock *blk; /* owner of the host memory, if a stream-ordered one */
    unsigned long long id; /* CU_POINTER_ATTRIBUTE_BUFFER_ID: unique in the process */
};

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *ranges;
static size_t nranges, cap_ranges;
static size_t device_used;     /* bytes of DEVICE_MEM and MANAGED_MEM */
static struct gblock *gblocks; /* every stream-ordered block still referenced */
static unsigned long long last_buffer_id;

__attribute__((constructor)) static void mem_lock_across_fork(void)
{
    drv_lock_across_fork(&mem_lock);
}

static int counts_as_device(enum kind k)
{
    return k == DEVICE_MEM || k == MANAGED_MEM;
}

/* Called with mem_lock held. */
static CUresult add_range_locked(uintptr_t base, size_t size, enum kind kind,
                                 struct gblock *blk)
{
    if (counts_as_device(kind) && size > EMU_TOTAL_MEM - EMU_CTX_RESERVED - device_used)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (nranges == cap_ranges) {
        size_t n = cap_ranges ? 2 * cap_ranges : 64;
        struct range *r = realloc(ranges, n * sizeof *r);
        if (!r)
            return CUDA_ERROR_OUT_OF_MEMORY;
        ranges = r;
        cap_ranges = n;
    }
    ranges[nranges++] = (struct range){ base, size, kind, blk, ++last_buffer_id };
    if (counts_as_device(kind))
        device_used += size;
    return CUDA_SUCCESS;
}

static CUresult add_range(uintptr_t base, size_t size, enum kind kind)
{
    pthread_mutex_lock(&mem_lock);
    CUresult r = add_range_locked(base, size, kind, NULL);
    pthread_mutex_unlock(&mem_lock);
    return r;
}

/* Removes the allocation of that kind starting exactly at base into *out;
 * 0 when there is none. Called with mem_lock held. */
static int remove_range_locked(uintptr_t base, enum kind kind, struct range *out)
{
    for (size_t i = 0; i < nranges; i++) {
        if (ranges[i].base == base && ranges[i].kind == kind) {
            *out = ranges[i];
            ranges[i] = ranges[--nranges];
            if (counts_as_device(kind))
                device_used -= out->size;
            if (out->blk)
                out->blk->live = 0;
            return 1;
        }
    }
    return 0;
}

static int remove_range(uintptr_t base, enum kind kind, struct range *out)
{
    pthread_mutex_lock(&mem_lock);
    int found = remove_range_locked(base, kind, out);
    pthread_mutex_unlock(&mem_lock);
    return found;
}

static void gblock_unref(struct gblock *b)
{
    pthread_mutex_lock(&mem_lock);
    int last = --b->refs == 0;
    if (last)
        for (struct gblock **p = &gblocks; *p; p = &(*p)->next)
            if (*p == b) {
                *p = b->next;
                break;
            }
    pthread_mutex_unlock(&mem_lock);
    if (last) {
        free(b->host);
        free(b);
    }
}

/* What freeing a removed range means for its memory. */
static void release_range(const struct range *r)
{
    if (r->blk)
        gblock_unref(r->blk);
    else if (r->kind != REGISTERED_MEM)
        free((void *)r->base);
}

/* The live range containing dev (tagged: device memory; untagged: any other
 * kind), newest first: recent allocations are the ones in use. */
static int find_range(const void *dev, struct range *out)
{
    int tagged = emu_is_tagged(dev);
    uintptr_t h = (uintptr_t)dev & (tagged ? ~EMU_TAG_MASK : ~(uintptr_t)0);
    int found = 0;
    if (!dev)
        return 0;
    pthread_mutex_lock(&mem_lock);
    for (size_t i = nranges; i-- > 0;) {
        const struct range *r = &ranges[i];
        if ((r->kind == DEVICE_MEM) != tagged || h < r->base || h - r->base >= r->size)
            continue;
        *out = *r;
        found = 1;
        break;
    }
    /* A graph allocation's address stays reserved while its graph lives, as
     * CUDA reserves the virtual range, so work captured between its alloc
     * and free nodes can name it before the graph has ever run. */
    for (struct gblock *b = gblocks; tagged && !found && b; b = b->next) {
        if (!b->live && h >= (uintptr_t)b->host && h - (uintptr_t)b->host < b->size) {
            *out = (struct range){ (uintptr_t)b->host, b->size, DEVICE_MEM, b, 0 };
            found = 1;
        }
    }
    pthread_mutex_unlock(&mem_lock);
    return found;
}

static void *lookup(const void *dev, size_t bytes)
{
    struct range r;
    uintptr_t h = (uintptr_t)dev & ~EMU_TAG_MASK;
    if (!find_range(dev, &r) || bytes > r.size - (h - r.base))
        return NULL;
    return (void *)h;
}

EMU_API void *emu_to_host(const void *dev)
{
    return lookup(dev, 1);
}

EMU_API void *emu_to_host_range(const void *dev, size_t bytes)
{
    return lookup(dev, bytes ? bytes : 1);
}

void drv_mem_reset(void)
{
    pthread_mutex_lock(&mem_lock);
    struct range *all = ranges;
    size_t n = nranges;
    ranges = NULL;
    nranges = cap_ranges = 0;
    device_used = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i].blk)
            all[i].blk->live = 0;
    pthread_mutex_unlock(&mem_lock);
    for (size_t i = 0; i < n; i++)
        release_range(&all[i]);
    free(all);
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

/* Host memory for a device allocation; NULL when out of memory. */
static void *device_backing(size_t bytes)
{
    /* Checked before allocating too: zeroing a huge overcommitted block
     * would exhaust the host instead of failing. add_range checks again. */
    pthread_mutex_lock(&mem_lock);
    int fits = bytes <= EMU_TOTAL_MEM - EMU_CTX_RESERVED - device_used;
    pthread_mutex_unlock(&mem_lock);
    if (!fits)
        return NULL;
    void *p = host_alloc(bytes);
    if (p && ((uintptr_t)p & EMU_TAG_MASK)) {
        /* Cannot happen with a 47/48-bit user address space. */
        fprintf(stderr, "emu: host address %p too high to tag\n", p);
        abort();
    }
    return p;
}

/* Backing memory, registered as a live range of that kind. */
static CUresult allocate(size_t bytes, enum kind kind, void **out)
{
    void *p = device_backing(bytes);
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = add_range((uintptr_t)p, bytes, kind);
    if (r) {
        free(p);
        return r;
    }
    *out = p;
    return CUDA_SUCCESS;
}

static CUdeviceptr tag(const void *host)
{
    return (CUdeviceptr)((uintptr_t)host | (EMU_TAG << EMU_TAG_SHIFT));
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
    void *p;
    if ((r = allocate(bytesize, DEVICE_MEM, &p)))
        return r;
    *dptr = tag(p);
    return CUDA_SUCCESS;
}

/* Managed memory is accessible from the host at the address it is handed
 * out under, on a GPU as here, so it is not tagged. */
EMU_API CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize, unsigned int flags)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!dptr || bytesize == 0 || (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST))
        return CUDA_ERROR_INVALID_VALUE;
    if ((r = emu_capture_unsafe_call()))
        return r;
    void *p;
    if ((r = allocate(bytesize, MANAGED_MEM, &p)))
        return r;
    *dptr = (CUdeviceptr)(uintptr_t)p;
    return CUDA_SUCCESS;
}

/* Device memory (tagged) or managed memory (untagged), from its start. */
static CUresult free_device(CUdeviceptr dptr)
{
    const void *p = (const void *)(uintptr_t)dptr;
    int tagged = emu_is_tagged(p);
    struct range r;
    if (!remove_range((uintptr_t)dptr & ~EMU_TAG_MASK, tagged ? DEVICE_MEM : MANAGED_MEM, &r))
        return CUDA_ERROR_INVALID_VALUE;
    release_range(&r);
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
    return free_device(dptr);
}

EMU_API CUresult cuMemGetInfo(size_t *free_bytes, size_t *total)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!free_bytes || !total)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&mem_lock);
    *free_bytes = EMU_TOTAL_MEM - EMU_CTX_RESERVED - device_used;
    pthread_mutex_unlock(&mem_lock);
    *total = EMU_TOTAL_MEM;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!bytes)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *bytes = EMU_TOTAL_MEM;
    return CUDA_SUCCESS;
}

/* ---- stream-ordered allocation ------------------------------------------- */

struct galloc_op {
    struct gblock *b;
};

/* Makes the block live. A graph launched again before the previous
 * launch's allocation was freed fails, as CUDA's does. */
static CUresult run_galloc(void *arg)
{
    struct gblock *b = ((struct galloc_op *)arg)->b;
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&mem_lock);
    if (!b->live && !(r = add_range_locked((uintptr_t)b->host, b->size, DEVICE_MEM, b))) {
        b->live = 1;
        b->refs++;
    }
    pthread_mutex_unlock(&mem_lock);
    return r;
}

static void release_galloc(void *arg)
{
    gblock_unref(((struct galloc_op *)arg)->b);
}

struct gfree_op {
    CUdeviceptr dptr;
};

static CUresult run_gfree(void *arg)
{
    return free_device(((struct gfree_op *)arg)->dptr);
}

/* Runs at once, or is recorded into the stream's capture as an alloc node;
 * either way the address is known now. */
EMU_API CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream stream)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!dptr || bytesize == 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (!drv_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    struct gblock *b = calloc(1, sizeof *b);
    void *p = b ? device_backing(bytesize) : NULL;
    if (!p) {
        free(b);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *b = (struct gblock){ .refs = 1, .host = p, .size = bytesize };
    pthread_mutex_lock(&mem_lock);
    b->next = gblocks;
    gblocks = b;
    pthread_mutex_unlock(&mem_lock);
    struct galloc_op op = { b };
    int recorded;
    if ((r = drv_stream_record(stream, run_galloc, release_galloc, &op, sizeof op, &recorded)) ||
        recorded) {
        if (r)
            gblock_unref(b);
        else
            *dptr = tag(p);
        return r;
    }
    r = run_galloc(&op);
    gblock_unref(b); /* no graph holds it: the live range is its only owner */
    if (!r)
        *dptr = tag(p);
    return r;
}

/* A free may name a live allocation, or inside a capture also one the
 * capture is still to make. */
EMU_API CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream stream)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!drv_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    const void *p = (const void *)(uintptr_t)dptr;
    uintptr_t h = (uintptr_t)dptr & ~EMU_TAG_MASK;
    int known = 0;
    if (emu_is_tagged(p)) {
        pthread_mutex_lock(&mem_lock);
        for (size_t i = 0; i < nranges && !known; i++)
            known = ranges[i].kind == DEVICE_MEM && ranges[i].base == h;
        for (struct gblock *b = gblocks; b && !known; b = b->next)
            known = (uintptr_t)b->host == h;
        pthread_mutex_unlock(&mem_lock);
    }
    if (!known)
        return CUDA_ERROR_INVALID_VALUE;
    struct gfree_op op = { dptr };
    int recorded;
    if ((r = drv_stream_record(stream, run_gfree, NULL, &op, sizeof op, &recorded)) || recorded)
        return r;
    return run_gfree(&op);
}

/* ---- pinned and registered host memory ----------------------------------- */

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
    if ((r = add_range((uintptr_t)p, bytesize ? bytesize : 1, PINNED_MEM))) {
        free(p);
        return r;
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
    struct range rg;
    if (!p || !remove_range((uintptr_t)p, PINNED_MEM, &rg))
        return CUDA_ERROR_INVALID_VALUE;
    release_range(&rg);
    return CUDA_SUCCESS;
}

/* Registered memory is mapped like pinned memory, at its own address. The
 * emulator cannot map I/O memory. */
EMU_API CUresult cuMemHostRegister(void *p, size_t bytesize, unsigned int flags)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!p || bytesize == 0 || emu_is_tagged(p) ||
        (flags & ~(unsigned)(CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
                             CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY)))
        return CUDA_ERROR_INVALID_VALUE;
    if (flags & CU_MEMHOSTREGISTER_IOMEMORY)
        return CUDA_ERROR_NOT_SUPPORTED;
    if ((r = emu_capture_unsafe_call()))
        return r;
    uintptr_t b = (uintptr_t)p;
    if (bytesize > UINTPTR_MAX - b)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&mem_lock);
    for (size_t i = 0; i < nranges && !r; i++)
        if (ranges[i].kind != DEVICE_MEM && b < ranges[i].base + ranges[i].size &&
            ranges[i].base < b + bytesize)
            r = CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
    if (!r)
        r = add_range_locked(b, bytesize, REGISTERED_MEM, NULL);
    pthread_mutex_unlock(&mem_lock);
    return r;
}

EMU_API CUresult cuMemHostUnregister(void *p)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if ((r = emu_capture_unsafe_call()))
        return r;
    struct range rg;
    if (!p || !remove_range((uintptr_t)p, REGISTERED_MEM, &rg))
        return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
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

/* ---- pointer attributes ---------------------------------------------------- */

/* Memory the driver does not know (plain host memory, freed allocations)
 * has no attributes: CUDA_ERROR_INVALID_VALUE, as on a GPU. */
EMU_API CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    struct range rg;
    if (!data || !find_range((const void *)(uintptr_t)ptr, &rg))
        return CUDA_ERROR_INVALID_VALUE;
    int device = rg.kind == DEVICE_MEM;
    switch (attribute) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
        *(CUcontext *)data = drv_primary();
        break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        *(unsigned *)data = device || rg.kind == MANAGED_MEM ? CU_MEMORYTYPE_DEVICE
                                                             : CU_MEMORYTYPE_HOST;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
        *(CUdeviceptr *)data = ptr;
        break;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
        if (device)
            return CUDA_ERROR_INVALID_VALUE;
        *(void **)data = (void *)(uintptr_t)ptr;
        break;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
        *(int *)data = rg.kind == MANAGED_MEM;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
        *(int *)data = 0;
        break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
        *(CUdeviceptr *)data = device ? tag((void *)rg.base) : (CUdeviceptr)rg.base;
        break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
        *(size_t *)data = rg.size;
        break;
    case CU_POINTER_ATTRIBUTE_MAPPED:
        *(int *)data = 1;
        break;
    case CU_POINTER_ATTRIBUTE_BUFFER_ID: /* an address reused by a later allocation gets a new one */
        *(unsigned long long *)data = rg.id;
        break;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}
