/* The Inf/NaN scan's result, shared by the kernels (scan.cu), their host
 * twins (scan.c), the shim and the tests. Plain C and C++: no CUDA types.
 *
 * A result lives in memory the kernels update with atomics: device memory or
 * mapped pinned host memory (a "slot" a poller reads). Initialize it with
 * sh_scan_result_init (or the safehalf_scan_init kernel, stream-ordered)
 * before each launch; a launch adds its findings to what is already there.
 *
 * A result captured into a CUDA graph is reused by every replay: the graph
 * holds a safehalf_scan_init before the scan, which clears `done` first,
 * then the findings, then adds 1 to `generation`. A reader copies the
 * fields between two reads of (done, generation) and keeps the copy only
 * if both reads show done = 1 and the same generation (a seqlock), and the
 * generation counts the replays. sh_scan_result_init sets generation to 0.
 *
 * Layout of the scanned data (every kernel and twin): `batch` column-major
 * matrices of rows x cols elements with leading dimension ld (elements).
 * Element (b, col, row) is at  M(b) + (col * ld + row) * elem_size  where
 * M(b) = ptr_array[b] when ptr_array is not NULL (base is then ignored), else
 * base + b * stride * elem_size. Padding rows (row >= rows) are never read.
 * Its logical index, the position in a dense column-major view, is
 *     index = b * rows * cols + col * rows + row. */
#ifndef SAFEHALF_SCAN_H
#define SAFEHALF_SCAN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sh_scan_result {
    unsigned long long pos_inf;   /* count of +Inf */
    unsigned long long neg_inf;   /* count of -Inf */
    unsigned long long nan;       /* count of NaN, any sign and payload */
    unsigned long long first_bad; /* smallest index of an Inf or NaN; SH_SCAN_NONE if none */
    unsigned int absmax_bits;     /* largest finite |x| as binary32 bits (atomicMax-able) */
    unsigned int blocks;          /* blocks finished; the last one sets it back to 0 */
    unsigned int done;            /* 0 at init; 1 once every field above is final */
    unsigned int generation;      /* safehalf_scan_init adds 1: one per graph replay */
};

#define SH_SCAN_NONE 0xffffffffffffffffull
/* Partial results in the kernels' own device memory (scan.cu): a launch
 * with a partial index gathers there and writes the result once, from its
 * last block, which is what keeps a scan into mapped host memory cheap. A
 * partial may serve one launch at a time; SH_SCAN_NO_PARTIAL asks for none
 * (every block then updates the result itself). The shim gives each result
 * of its pool the index of its place in the pool. */
#define SH_SCAN_NPARTIALS 12288u
#define SH_SCAN_NO_PARTIAL 0xffffffffu

/* Element types of the kernels and twins. */
enum sh_scan_type { SH_SCAN_F16 = 0, SH_SCAN_BF16 = 1, SH_SCAN_F32 = 2 };

/* Launch shape: 1-D blocks of SH_SCAN_BLOCK threads (the kernels need a
 * 1-D grid and 1-D blocks, blockDim.x a multiple of 32, at most 1024); the
 * grid grows with the work up to SH_SCAN_MAX_GRID blocks and the kernels'
 * grid-stride loops cover the rest. The kernels use 64 registers a thread
 * (fewer spills), so 4 blocks of 256 are resident per SM: the cap is one
 * full wave on a 132-SM H100, with 4 16-byte loads in flight per thread,
 * several times what HBM3 needs to stay busy. Measured on an H100 (README,
 * "On a GPU"): from 256 MiB up the scan runs at the copy's rate. */
#define SH_SCAN_BLOCK 256u
#define SH_SCAN_ELEMS_PER_THREAD 16u
#define SH_SCAN_MAX_GRID (132u * 4u)

#ifdef __cplusplus
static_assert(sizeof(struct sh_scan_result) == 48, "sh_scan_result layout");
static_assert(offsetof(struct sh_scan_result, first_bad) == 24, "sh_scan_result layout");
static_assert(offsetof(struct sh_scan_result, absmax_bits) == 32, "sh_scan_result layout");
static_assert(offsetof(struct sh_scan_result, done) == 40, "sh_scan_result layout");
#else
_Static_assert(sizeof(struct sh_scan_result) == 48, "sh_scan_result layout");
_Static_assert(offsetof(struct sh_scan_result, first_bad) == 24, "sh_scan_result layout");
_Static_assert(offsetof(struct sh_scan_result, absmax_bits) == 32, "sh_scan_result layout");
_Static_assert(offsetof(struct sh_scan_result, done) == 40, "sh_scan_result layout");
#endif

/* Host: the state a launch expects to find (what safehalf_scan_init writes). */
static inline void sh_scan_result_init(struct sh_scan_result *r)
{
    r->pos_inf = 0;
    r->neg_inf = 0;
    r->nan = 0;
    r->first_bad = SH_SCAN_NONE;
    r->absmax_bits = 0;
    r->blocks = 0;
    r->generation = 0;
    r->done = 0;
}

/* Host: grid and block for scanning or saturating total_elems elements (all
 * batches; padding not counted). Always at least one block, even for an
 * empty matrix: that block still marks the result done. */
static inline void sh_scan_launch_dims(unsigned long long total_elems, unsigned int *grid,
                                       unsigned int *block)
{
    unsigned long long per_block = (unsigned long long)SH_SCAN_BLOCK * SH_SCAN_ELEMS_PER_THREAD;
    unsigned long long g = total_elems / per_block + (total_elems % per_block != 0);
    if (g < 1)
        g = 1;
    if (g > SH_SCAN_MAX_GRID)
        g = SH_SCAN_MAX_GRID;
    *grid = (unsigned int)g;
    *block = SH_SCAN_BLOCK;
}

#ifdef __cplusplus
}
#endif

#endif
