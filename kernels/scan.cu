// Inf/NaN scan and Inf saturation of half-precision (and FP32) outputs, run
// by the shim on the caller's stream after a checked library call. One pass
// over the data; the result goes to a struct sh_scan_result (scan.h) in
// device or mapped pinned host memory, and `done` is set by the last block
// once everything else is final, so a poller reading mapped memory needs no
// synchronization.
//
// Blocks gather into a partial result in device memory (one of
// sh_scan_partials, named by index) and only the last block folds it into
// the result: an atomic on mapped host memory crosses PCIe and they
// serialize there (measured on an H100: about 2 us each, so one set per
// block of a full grid cost over a millisecond per scan, eight times the
// GEMM it checked). Without a partial (SH_SCAN_NO_PARTIAL) every block
// updates the result directly, which suits a result in device memory.
//
// Parameters of every kernel (see scan.h for the layout they describe):
//   base       first matrix (strided batches); ignored when ptr_array != NULL
//   ptr_array  device array of `batch` matrix pointers, or NULL
//   rows, cols, ld (elements, >= rows), stride (elements between matrices),
//   batch (matrices), out (the result), partial (an index into
//   sh_scan_partials, or SH_SCAN_NO_PARTIAL).
// Launch: 1-D grid, 1-D blocks of a multiple of 32 threads (<= 1024),
// e.g. sh_scan_launch_dims. Any grid gives the same result. Data must be
// aligned to its element size (as cuBLAS requires); any other alignment,
// odd ld and stride included, is handled (16-byte loads where the layout
// allows, element loads at the edges). Matrices must not overlap when
// saturating with a result: which batch sees an Inf first would then decide
// the counts.
//
// Saturation (FP16: +-Inf -> +-65504; BF16: +-Inf -> +-0x7F7F, the largest
// finite bfloat16) makes an overflowed output finite; NaN stays NaN, since
// there is no value to saturate it to. FP32 has no saturating kernel: an FP32
// output does not come from a half overflow. The saturating kernels also
// scan, recording what they saw before saturating, when out is not NULL.
#include <cuda_fp16.h>

#include "scan.h"
#include "scan_thread.cuh"

namespace sh_scan {

__device__ __forceinline__ u64 warp_sum(u64 x)
{
    for (int o = 16; o > 0; o >>= 1)
        x += __shfl_down_sync(0xffffffffu, x, o);
    return x;
}

__device__ __forceinline__ u64 warp_min(u64 x)
{
    for (int o = 16; o > 0; o >>= 1) {
        u64 y = __shfl_down_sync(0xffffffffu, x, o);
        x = y < x ? y : x;
    }
    return x;
}

__device__ __forceinline__ u32 warp_max(u32 x)
{
    for (int o = 16; o > 0; o >>= 1)
        x = max(x, __shfl_down_sync(0xffffffffu, x, o));
    return x;
}

} // namespace sh_scan

// Partial results, zero when idle: a launch's last block sets its own back
// to zero. first_bad is kept complemented so that zero means none. A slot
// of the shim's owns one index (it runs one launch at a time), so launches
// on concurrent streams never share a partial. One copy per context.
__device__ sh_scan_result sh_scan_partials[SH_SCAN_NPARTIALS];

namespace sh_scan {

// The last block of a launch with a partial: its totals go into *out (which
// may hold findings of an earlier launch: counts add, first and largest
// combine), the partial is cleared for the next launch, then done is set.
__device__ void fold_partial(sh_scan_result *part, sh_scan_result *out)
{
    volatile sh_scan_result *p = part;
    const u64 pos = p->pos_inf, neg = p->neg_inf, nan = p->nan, first = ~p->first_bad;
    const u32 amax = p->absmax_bits;
    p->pos_inf = 0;
    p->neg_inf = 0;
    p->nan = 0;
    p->first_bad = 0;
    p->absmax_bits = 0;
    p->blocks = 0;
    if (amax)
        atomicMax(&out->absmax_bits, amax);
    if (pos)
        atomicAdd(&out->pos_inf, pos);
    if (neg)
        atomicAdd(&out->neg_inf, neg);
    if (nan)
        atomicAdd(&out->nan, nan);
    if (first != ~0ull)
        atomicMin(&out->first_bad, first);
    __threadfence_system();
    *(volatile unsigned int *)&out->done = 1u;
    __threadfence_system();
}

// Fold every thread's findings into the partial (or straight into *out):
// one set of atomics per block, then the completion count; the last block to
// finish marks the result done.
template <class F> __device__ void publish(const acc &a, sh_scan_result *out, sh_scan_result *part)
{
    __shared__ u32 s_amax[32];
    __shared__ u64 s_pos[32], s_neg[32], s_nan[32], s_first[32];
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;

    u32 amax = warp_max(acc_absmax_float_bits<F>(a));
    if (lane == 0)
        s_amax[warp] = amax;
    int bad = __syncthreads_or(a.pos_inf | a.neg_inf | a.nan ? 1 : 0);
    u64 pos = 0, neg = 0, nan = 0, first = ~0ull;
    if (bad) { // uniform across the block
        pos = warp_sum(a.pos_inf);
        neg = warp_sum(a.neg_inf);
        nan = warp_sum(a.nan);
        first = warp_min(a.first_bad);
        if (lane == 0) {
            s_pos[warp] = pos;
            s_neg[warp] = neg;
            s_nan[warp] = nan;
            s_first[warp] = first;
        }
        __syncthreads();
    }
    if (threadIdx.x != 0)
        return;
    amax = 0;
    for (unsigned w = 0; w < nwarps; w++)
        amax = max(amax, s_amax[w]);
    if (amax)
        atomicMax(part ? &part->absmax_bits : &out->absmax_bits, amax);
    if (bad) {
        pos = neg = nan = 0;
        first = ~0ull;
        for (unsigned w = 0; w < nwarps; w++) {
            pos += s_pos[w];
            neg += s_neg[w];
            nan += s_nan[w];
            first = s_first[w] < first ? s_first[w] : first;
        }
        sh_scan_result *dst = part ? part : out;
        if (pos)
            atomicAdd(&dst->pos_inf, pos);
        if (neg)
            atomicAdd(&dst->neg_inf, neg);
        if (nan)
            atomicAdd(&dst->nan, nan);
        if (first != ~0ull) {
            if (part)
                atomicMax(&part->first_bad, ~first);
            else
                atomicMin(&out->first_bad, first);
        }
    }
    if (part) {
        // Device scope suffices: only the last block reads the partial.
        __threadfence();
        if (atomicAdd(&part->blocks, 1u) == gridDim.x - 1) {
            __threadfence();
            fold_partial(part, out);
        }
        return;
    }
    // This block's updates are visible everywhere before it counts itself
    // finished; so once all blocks have counted, the result is final.
    __threadfence_system();
    if (atomicAdd(&out->blocks, 1u) == gridDim.x - 1) {
        __threadfence_system();
        atomicExch(&out->blocks, 0u);
        __threadfence_system();
        *(volatile unsigned int *)&out->done = 1u;
        __threadfence_system();
    }
}

template <class F, bool SAT>
__device__ __forceinline__ void scan(const void *base, const void *const *ptrs, u64 rows, u64 cols,
                                     u64 ld, u64 stride, u64 batch, sh_scan_result *out,
                                     u32 partial)
{
    layout l = make_layout<F>(base, ptrs, rows, cols, ld, stride, batch);
    acc a;
    acc_init(a);
    run_thread<F, SAT>(a, l, (u64)blockIdx.x * blockDim.x + threadIdx.x, (u64)gridDim.x * blockDim.x);
    if (out)
        publish<F>(a, out, partial < SH_SCAN_NPARTIALS ? &sh_scan_partials[partial] : nullptr);
}

} // namespace sh_scan

#define SH_SCAN_PARAMS                                                                          \
    unsigned long long rows, unsigned long long cols, unsigned long long ld,                   \
        unsigned long long stride, unsigned long long batch, struct sh_scan_result *out,         \
        unsigned int partial

extern "C" __global__ void safehalf_scan_f16(const void *base, const void *const *ptr_array,
                                             SH_SCAN_PARAMS)
{
    sh_scan::scan<sh_scan::f16, false>(base, ptr_array, rows, cols, ld, stride, batch, out, partial);
}

extern "C" __global__ void safehalf_scan_bf16(const void *base, const void *const *ptr_array,
                                              SH_SCAN_PARAMS)
{
    sh_scan::scan<sh_scan::bf16, false>(base, ptr_array, rows, cols, ld, stride, batch, out, partial);
}

extern "C" __global__ void safehalf_scan_f32(const void *base, const void *const *ptr_array,
                                             SH_SCAN_PARAMS)
{
    sh_scan::scan<sh_scan::f32, false>(base, ptr_array, rows, cols, ld, stride, batch, out, partial);
}

// out may be NULL: saturate only.
extern "C" __global__ void safehalf_saturate_f16(void *base, void *const *ptr_array, SH_SCAN_PARAMS)
{
    sh_scan::scan<sh_scan::f16, true>(base, (const void *const *)ptr_array, rows, cols, ld, stride,
                                      batch, out, partial);
}

extern "C" __global__ void safehalf_saturate_bf16(void *base, void *const *ptr_array, SH_SCAN_PARAMS)
{
    sh_scan::scan<sh_scan::bf16, true>(base, (const void *const *)ptr_array, rows, cols, ld, stride,
                                       batch, out, partial);
}

// Stream-ordered reset of a result reused by every replay of a CUDA graph
// (scan.h): done goes to 0 before anything else changes, the generation
// moves after everything else has, so a host reader can tell a torn copy.
extern "C" __global__ void safehalf_scan_init(struct sh_scan_result *out)
{
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        *(volatile unsigned int *)&out->done = 0u;
        __threadfence_system();
        out->pos_inf = 0;
        out->neg_inf = 0;
        out->nan = 0;
        out->first_bad = SH_SCAN_NONE;
        out->absmax_bits = 0;
        out->blocks = 0;
        __threadfence_system();
        *(volatile unsigned int *)&out->generation = out->generation + 1u;
        __threadfence_system();
    }
}

#undef SH_SCAN_PARAMS
