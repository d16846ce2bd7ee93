// The per-thread part of the scan and saturate kernels (scan.cu): which
// elements thread t of G visits, and what it does with them. No block- or
// warp-level operations here, so this also compiles as plain host C++ (see
// scan_sim.cpp, which runs every thread of a grid on the CPU against the
// host twins; without a GPU that is the check of this traversal).
//
// Work is cut into "units" of up to VEC elements that share one 16-byte
// aligned vector: the data is a set of segments (runs of contiguous
// elements), each segment is covered by V units; unit v of a segment whose
// first element sits `mis` elements past a 16-byte boundary covers the
// segment's elements [v*VEC - mis, v*VEC - mis + VEC). A unit wholly inside
// its segment is read with one 16-byte load; a clipped one (the segment's
// first and last) element by element. Threads take units grid-stride.
#ifndef SAFEHALF_SCAN_THREAD_CUH
#define SAFEHALF_SCAN_THREAD_CUH

#ifdef __CUDACC__
#define SH_HD __host__ __device__ __forceinline__
#define SH_UNROLL _Pragma("unroll")
#else
#define SH_UNROLL
#include <string.h>
#define SH_HD inline
struct sh_uint4 { unsigned int x, y, z, w; };
typedef sh_uint4 uint4;
#endif

namespace sh_scan {

typedef unsigned long long u64;
typedef unsigned int u32;

// ---- element formats ---------------------------------------------------------
// Classification works on bit patterns: |x| is the bits without the sign,
// which order like the magnitudes, so the largest finite |x| is an integer max.

SH_HD u32 max_u32(u32 a, u32 b) { return a > b ? a : b; }

// Lane-wise max of two pairs of 16-bit lanes.
SH_HD u32 max_u16x2(u32 a, u32 b)
{
#ifdef __CUDA_ARCH__
    return __vmaxu2(a, b);
#else
    u32 lo = max_u32(a & 0xffffu, b & 0xffffu), hi = max_u32(a >> 16, b >> 16);
    return hi << 16 | lo;
#endif
}

struct f16 {
    enum { ES = 2, VEC = 8, EPW = 2 };
    static const u32 SIGN = 0x8000u, ABS = 0x7fffu, INF = 0x7c00u, MAXF = 0x7bffu; // 65504
    static const u32 WABS = 0x7fff7fffu;
    SH_HD static u32 wmax(u32 a, u32 b) { return max_u16x2(a, b); }
    SH_HD static bool wbad(u32 m) { return (m & 0xffffu) >= INF || (m >> 16) >= INF; }
    SH_HD static u32 wfold(u32 m) { return max_u32(m & 0xffffu, m >> 16); }
    // Exact half -> binary32 of a non-negative finite half.
    SH_HD static u32 float_bits(u32 a)
    {
        if (a >= 0x400u)
            return ((a >> 10) + 112u) << 23 | (a & 0x3ffu) << 13;
        if (a == 0)
            return 0;
        // subnormal: a * 2^-24, normalized
        u32 e = 113u, m = a;
        while (!(m & 0x400u)) {
            m <<= 1;
            e--;
        }
        return e << 23 | (m & 0x3ffu) << 13;
    }
};

struct bf16 {
    enum { ES = 2, VEC = 8, EPW = 2 };
    static const u32 SIGN = 0x8000u, ABS = 0x7fffu, INF = 0x7f80u, MAXF = 0x7f7fu;
    static const u32 WABS = 0x7fff7fffu;
    SH_HD static u32 wmax(u32 a, u32 b) { return max_u16x2(a, b); }
    SH_HD static bool wbad(u32 m) { return (m & 0xffffu) >= INF || (m >> 16) >= INF; }
    SH_HD static u32 wfold(u32 m) { return max_u32(m & 0xffffu, m >> 16); }
    SH_HD static u32 float_bits(u32 a) { return a << 16; }
};

struct f32 {
    enum { ES = 4, VEC = 4, EPW = 1 };
    static const u32 SIGN = 0x80000000u, ABS = 0x7fffffffu, INF = 0x7f800000u;
    static const u32 MAXF = 0x7f7fffffu; // unused: FP32 is not saturated
    static const u32 WABS = 0x7fffffffu;
    SH_HD static u32 wmax(u32 a, u32 b) { return max_u32(a, b); }
    SH_HD static bool wbad(u32 m) { return m >= INF; }
    SH_HD static u32 wfold(u32 m) { return m; }
    SH_HD static u32 float_bits(u32 a) { return a; }
};

// ---- one thread's findings ---------------------------------------------------
struct acc {
    u64 pos_inf, neg_inf, nan, first_bad;
    u32 amax;  // largest finite |x|, format bits, from element-wise paths
    u32 wamax; // the same, packed per word, from the vector fast path
};

SH_HD void acc_init(acc &a)
{
    a.pos_inf = a.neg_inf = a.nan = 0;
    a.first_bad = ~0ull;
    a.amax = a.wamax = 0;
}

// Largest finite |x| seen, as binary32 bits.
template <class F> SH_HD u32 acc_absmax_float_bits(const acc &a)
{
    return F::float_bits(max_u32(a.amax, F::wfold(a.wamax)));
}

// Classify one element (bits e, logical index idx); returns the value to
// store back: e itself unless saturating an Inf.
template <class F, bool SAT> SH_HD u32 element(acc &a, u32 e, u64 idx)
{
    u32 m = e & F::ABS;
    if (m < F::INF) {
        a.amax = max_u32(a.amax, m);
        return e;
    }
    if (idx < a.first_bad)
        a.first_bad = idx;
    if (m > F::INF) {
        a.nan++;
        return e;
    }
    if (e & F::SIGN)
        a.neg_inf++;
    else
        a.pos_inf++;
    return SAT ? ((e & F::SIGN) | F::MAXF) : e;
}

// ---- memory ------------------------------------------------------------------
template <bool SAT> SH_HD uint4 load16(const char *p)
{
#ifdef __CUDA_ARCH__
    // The scan reads once and keeps nothing: stream past the caches.
    if (!SAT)
        return __ldcs(reinterpret_cast<const uint4 *>(p));
    return *reinterpret_cast<const uint4 *>(p);
#else
    uint4 v;
    memcpy(&v, p, sizeof v);
    return v;
#endif
}

SH_HD void store16(char *p, uint4 v)
{
#ifdef __CUDA_ARCH__
    *reinterpret_cast<uint4 *>(p) = v;
#else
    memcpy(p, &v, sizeof v);
#endif
}

template <class F, bool SAT> SH_HD u32 load_elem(const char *p)
{
#ifdef __CUDA_ARCH__
    if (F::ES == 2)
        return SAT ? *reinterpret_cast<const unsigned short *>(p)
                   : __ldcs(reinterpret_cast<const unsigned short *>(p));
    return SAT ? *reinterpret_cast<const unsigned int *>(p)
               : __ldcs(reinterpret_cast<const unsigned int *>(p));
#else
    if (F::ES == 2) {
        unsigned short h;
        memcpy(&h, p, 2);
        return h;
    }
    u32 w;
    memcpy(&w, p, 4);
    return w;
#endif
}

template <class F> SH_HD void store_elem(char *p, u32 e)
{
#ifdef __CUDA_ARCH__
    if (F::ES == 2)
        *reinterpret_cast<unsigned short *>(p) = (unsigned short)e;
    else
        *reinterpret_cast<unsigned int *>(p) = e;
#else
    if (F::ES == 2) {
        unsigned short h = (unsigned short)e;
        memcpy(p, &h, 2);
    } else {
        memcpy(p, &e, 4);
    }
#endif
}

SH_HD unsigned misalign(const char *p) { return (unsigned)((unsigned long long)p & 15u); }

// One full 16-byte unit at p (aligned) whose first element has index idx.
template <class F, bool SAT> SH_HD void vector(acc &a, char *p, uint4 v, u64 idx)
{
    u32 w[4] = { v.x, v.y, v.z, v.w };
    u32 m = F::wmax(F::wmax(w[0] & F::WABS, w[1] & F::WABS), F::wmax(w[2] & F::WABS, w[3] & F::WABS));
    if (!F::wbad(m)) {
        a.wamax = F::wmax(a.wamax, m);
        return;
    }
    // Rare: an Inf or NaN among these elements; take them one by one.
    bool changed = false;
SH_UNROLL
    for (int k = 0; k < F::VEC; k++) {
        int wi = k / F::EPW, sh = (k % F::EPW) * 16;
        u32 e = F::ES == 2 ? (w[wi] >> sh) & 0xffffu : w[wi];
        u32 r = element<F, SAT>(a, e, idx + (u64)k);
        if (SAT && r != e) {
            w[wi] = F::ES == 2 ? ((w[wi] & ~(0xffffu << sh)) | r << sh) : r;
            changed = true;
        }
    }
    if (SAT && changed) {
        uint4 o;
        o.x = w[0];
        o.y = w[1];
        o.z = w[2];
        o.w = w[3];
        store16(p, o);
    }
}

// Elements [lo, hi) of a run starting at p whose element 0 has index idx.
template <class F, bool SAT> SH_HD void elements(acc &a, char *p, u64 lo, u64 hi, u64 idx)
{
    for (u64 i = lo; i < hi; i++) {
        char *q = p + i * F::ES;
        u32 e = load_elem<F, SAT>(q);
        u32 r = element<F, SAT>(a, e, idx + i);
        if (SAT && r != e)
            store_elem<F>(q, r);
    }
}

// ---- layout ------------------------------------------------------------------
struct layout {
    char *base;
    char *const *ptrs; // NULL: strided batches from base
    u64 rows, cols;
    u64 mat_elems;     // rows * cols: index distance between matrices
    u64 mat_pitch;     // bytes between strided matrices
    u64 seg_pitch;     // bytes between segments of a matrix (ld * ES)
    u64 seg_index;     // index distance between segments of a matrix
    u64 nmat;          // matrices (1 when all batches form one run)
    u64 nseg;          // segments per matrix (1 when a matrix is one run)
    u64 len;           // elements per segment
    u64 units;         // units per segment
    bool one_run;      // everything is one contiguous run at base
};

template <class F>
SH_HD layout make_layout(const void *base, const void *const *ptrs, u64 rows, u64 cols, u64 ld,
                         u64 stride, u64 batch)
{
    layout l;
    l.base = (char *)base;
    l.ptrs = (char *const *)ptrs;
    l.rows = rows;
    l.cols = cols;
    l.mat_elems = rows * cols;
    l.mat_pitch = stride * F::ES;
    if (rows == 0 || cols == 0 || batch == 0) {
        l.nmat = l.nseg = l.len = l.units = 0;
        l.seg_pitch = l.seg_index = 0;
        l.one_run = false;
        return l;
    }
    bool mat_run = ld == rows || cols == 1;
    if (mat_run) {
        l.nseg = 1;
        l.len = rows * cols;
        l.seg_pitch = 0;
        l.seg_index = 0;
    } else {
        l.nseg = cols;
        l.len = rows;
        l.seg_pitch = ld * F::ES;
        l.seg_index = rows;
    }
    l.nmat = batch;
    l.one_run = !ptrs && mat_run && (batch == 1 || stride == rows * cols);
    if (l.one_run) {
        l.nmat = 1;
        l.len = rows * cols * batch;
    }
    // Units per segment: exact when every segment starts at the same offset
    // from a 16-byte boundary, else enough for the worst offset.
    bool same_offset = !ptrs && (l.nseg == 1 || l.seg_pitch % 16 == 0) &&
                       (l.nmat == 1 || l.mat_pitch % 16 == 0);
    u64 mis = same_offset ? misalign(l.base) / F::ES : F::VEC - 1;
    l.units = (l.len + mis + F::VEC - 1) / F::VEC;
    return l;
}

SH_HD u64 layout_elems(const layout &l) { return l.nmat * l.nseg * l.len; }

// ---- the traversal -------------------------------------------------------------
// Everything in one run: scalar head up to the first 16-byte boundary, then
// vectors (four loads in flight per thread), then a scalar tail.
template <class F, bool SAT> SH_HD void run_one(acc &a, const layout &l, u64 t, u64 g)
{
    char *p = l.base;
    u64 len = l.len;
    u64 head = (F::VEC - misalign(p) / F::ES) % F::VEC;
    if (head > len)
        head = len;
    for (u64 i = t; i < head; i += g) // fewer than VEC
        elements<F, SAT>(a, p, i, i + 1, 0);
    char *body = p + head * F::ES;
    u64 nvec = (len - head) / F::VEC;
    u64 i = t;
    for (; i + 3 * g < nvec; i += 4 * g) {
        char *q0 = body + i * 16, *q1 = body + (i + g) * 16;
        char *q2 = body + (i + 2 * g) * 16, *q3 = body + (i + 3 * g) * 16;
        uint4 v0 = load16<SAT>(q0), v1 = load16<SAT>(q1);
        uint4 v2 = load16<SAT>(q2), v3 = load16<SAT>(q3);
        vector<F, SAT>(a, q0, v0, head + i * F::VEC);
        vector<F, SAT>(a, q1, v1, head + (i + g) * F::VEC);
        vector<F, SAT>(a, q2, v2, head + (i + 2 * g) * F::VEC);
        vector<F, SAT>(a, q3, v3, head + (i + 3 * g) * F::VEC);
    }
    for (; i < nvec; i += g) {
        char *q = body + i * 16;
        vector<F, SAT>(a, q, load16<SAT>(q), head + i * F::VEC);
    }
    u64 tail = head + nvec * F::VEC;
    for (u64 i = tail + t; i < len; i += g) // fewer than VEC
        elements<F, SAT>(a, p, i, i + 1, 0);
}

// Matrices (strided or from a pointer array) of one run each, or of one run
// per column (ld > rows). Unit u = ((b * nseg) + c) * units + v, visited
// grid-stride with (b, c, v) stepped incrementally: no division per unit.
template <class F, bool SAT> SH_HD void run_segments(acc &a, const layout &l, u64 t, u64 g)
{
    const u64 V = l.units, S = l.nseg;
    if (V == 0)
        return;
    u64 s = t / V, v = t % V, c = s % S, b = s / S;
    const u64 ds = g / V, dv = g % V, dc = ds % S, db = ds / S;
    while (b < l.nmat) {
        // Two units per round, both loads issued before either is examined.
        char *at[2];
        u64 idx[2], lo[2], hi[2];
        uint4 val[2];
        bool full[2], live[2];
SH_UNROLL
        for (int n = 0; n < 2; n++) {
            live[n] = b < l.nmat;
            full[n] = false;
            at[n] = 0;
            idx[n] = lo[n] = hi[n] = 0;
            if (!live[n])
                continue;
            char *m = l.ptrs ? l.ptrs[b] : l.base + b * l.mat_pitch;
            char *seg = m + c * l.seg_pitch;
            u64 mis = misalign(seg) / F::ES;
            // unit covers segment elements [v*VEC - mis, +VEC) clipped to [0, len)
            u64 first = v * F::VEC; // in (element + mis) units
            u64 q_lo = first < mis ? mis : first;
            u64 q_hi = first + F::VEC < l.len + mis ? first + F::VEC : l.len + mis;
            u64 segidx = b * l.mat_elems + c * l.seg_index;
            full[n] = q_lo == first && q_hi == first + F::VEC;
            if (full[n]) { // an aligned vector
                at[n] = seg + (first - mis) * F::ES;
                idx[n] = segidx + (first - mis);
                val[n] = load16<SAT>(at[n]);
            } else { // segment elements [lo, hi), possibly none
                at[n] = seg;
                idx[n] = segidx;
                lo[n] = q_lo - mis;
                hi[n] = q_hi > q_lo ? q_hi - mis : lo[n];
            }
            v += dv;
            if (v >= V) {
                v -= V;
                c++;
            }
            c += dc;
            if (c >= S) {
                c -= S;
                b++;
            }
            b += db;
        }
SH_UNROLL
        for (int n = 0; n < 2; n++) {
            if (full[n])
                vector<F, SAT>(a, at[n], val[n], idx[n]);
            else if (live[n] && lo[n] < hi[n])
                elements<F, SAT>(a, at[n], lo[n], hi[n], idx[n]);
        }
    }
}

// Thread t of g: visit this thread's share of the layout.
template <class F, bool SAT> SH_HD void run_thread(acc &a, const layout &l, u64 t, u64 g)
{
    if (l.nmat == 0)
        return;
    if (l.one_run)
        run_one<F, SAT>(a, l, t, g);
    else
        run_segments<F, SAT>(a, l, t, g);
}

} // namespace sh_scan

#endif
