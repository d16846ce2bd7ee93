// For tests on machines without a GPU: the scan and saturate kernels'
// per-thread traversal (scan_thread.cuh, the very code nvcc compiles for the
// device) run on the CPU for every thread of a grid, one thread after
// another, then folded as the kernels' block reduction and atomics fold it.
// Tests compare this with the host twins (scan.c), which are written
// independently, element by element.
#include "scan_sim.h"

#include "scan_thread.cuh"

using namespace sh_scan;

template <class F, bool SAT>
static void sim(const void *base, const void *const *ptrs, u64 rows, u64 cols, u64 ld, u64 stride,
                u64 batch, u64 threads, sh_scan_result *out)
{
    layout l = make_layout<F>(base, ptrs, rows, cols, ld, stride, batch);
    u64 pos = 0, neg = 0, nan = 0, first = ~0ull;
    u32 amax = 0;
    for (u64 t = 0; t < threads; t++) {
        acc a;
        acc_init(a);
        run_thread<F, SAT>(a, l, t, threads);
        pos += a.pos_inf;
        neg += a.neg_inf;
        nan += a.nan;
        first = a.first_bad < first ? a.first_bad : first;
        u32 m = acc_absmax_float_bits<F>(a);
        amax = m > amax ? m : amax;
    }
    if (!out)
        return;
    out->pos_inf += pos;
    out->neg_inf += neg;
    out->nan += nan;
    if (first < out->first_bad)
        out->first_bad = first;
    if (amax > out->absmax_bits)
        out->absmax_bits = amax;
    out->blocks = 0;
    out->done = 1;
}

extern "C" int sh_sim_scan(enum sh_scan_type type, int saturate, void *base,
                           void *const *ptr_array, unsigned long long rows,
                           unsigned long long cols, unsigned long long ld,
                           unsigned long long stride, unsigned long long batch,
                           unsigned long long threads, struct sh_scan_result *out)
{
    const void *const *p = (const void *const *)ptr_array;
    switch (type) {
    case SH_SCAN_F16:
        if (saturate)
            sim<f16, true>(base, p, rows, cols, ld, stride, batch, threads, out);
        else
            sim<f16, false>(base, p, rows, cols, ld, stride, batch, threads, out);
        return 0;
    case SH_SCAN_BF16:
        if (saturate)
            sim<bf16, true>(base, p, rows, cols, ld, stride, batch, threads, out);
        else
            sim<bf16, false>(base, p, rows, cols, ld, stride, batch, threads, out);
        return 0;
    case SH_SCAN_F32:
        if (saturate)
            return -1; // no such kernel
        sim<f32, false>(base, p, rows, cols, ld, stride, batch, threads, out);
        return 0;
    }
    return -1;
}
