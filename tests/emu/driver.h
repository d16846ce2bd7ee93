/* Private to the emulated libcuda: the objects behind the driver's handles. */
#ifndef SAFEHALF_EMU_DRIVER_H
#define SAFEHALF_EMU_DRIVER_H

#include <pthread.h>
#include <stdatomic.h>

#include "emu.h"

/* Handles are checked by magic number so a destroyed or foreign handle is
 * reported as CUDA_ERROR_INVALID_HANDLE instead of being used. */
#define EMU_STREAM_MAGIC 0x5354524du
#define EMU_EVENT_MAGIC 0x45564e54u
#define EMU_GRAPH_MAGIC 0x47524150u
#define EMU_EXEC_MAGIC 0x47455845u
#define EMU_FUNC_MAGIC 0x46554e43u
#define EMU_IMAGE_MAGIC 0x494d4147u

struct emu_capture;

/* The device's memory: an H100 80GB HBM3 as nvidia-smi reports it, less
 * what a context keeps for itself, so cuMemGetInfo never shows it all free. */
#define EMU_TOTAL_MEM ((size_t)81559 << 20)
#define EMU_CTX_RESERVED ((size_t)512 << 20)

struct CUstream_st {
    uint32_t magic;
    unsigned flags;
    int priority;
    atomic_ulong syncs;
    struct emu_capture *cap; /* guarded by the capture lock */
};

struct CUevent_st {
    uint32_t magic;
    unsigned flags;
    struct CUstream_st *stream; /* where it was last recorded */
    unsigned long long cap_id;  /* capture it was recorded into, 0 if none */
};

/* driver.c */
CUresult drv_need_init(void);
/* A lock of the emulated driver's held across fork (taken before, given
 * back after, in parent and child): a forked child, which the emulator,
 * unlike a real GPU, lets use the parent's memory and streams, must not
 * inherit it held by a thread it lacks. Call from a constructor. */
void drv_lock_across_fork(pthread_mutex_t *lock);
CUresult drv_need_ctx(void);
CUcontext drv_primary(void);

/* memory.c: frees every allocation and unregisters all host memory, as
 * resetting the primary context does. */
void drv_mem_reset(void);

/* stream.c */
struct CUstream_st *drv_stream(CUstream handle);
struct CUstream_st *drv_legacy_stream(void);
void drv_count_sync(struct CUstream_st *s);
/* emu_stream_record, and when recorded, release(copy of arg) runs as the
 * graph that holds the node is freed. */
CUresult drv_stream_record(CUstream stream, emu_op_fn run, void (*release)(void *),
                           const void *arg, size_t size, int *recorded);

#endif
