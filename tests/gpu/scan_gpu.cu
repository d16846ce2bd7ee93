// scan_gpu: the Inf/NaN scan and saturate kernels (kernels/scan.cu) on a real
// GPU. The rest of the test suite runs them only as host twins and as the
// CPU simulation of their per-thread code; this program checks the compiled
// kernels themselves (block reduction, atomics, completion flag, 16-byte
// loads) and measures them. It needs a CUDA device, so it is built with the
// tests (CI compiles it) but never registered as a test.
//
//   scan_gpu verify [--seed S] [--cases N] [--kernel NAME] [--case I] [--details N]
//       Random layouts, launch shapes, result placements and data, each
//       launch compared with the host twin (kernels/scan.c) on a host copy of
//       the same data: every field of the result, the result's neighbours,
//       and every byte of the scanned buffer (padding and gaps included).
//       --kernel and --case rerun one failing case (cases have their own
//       seeds, derived from --seed, the kernel and the case number).
//   scan_gpu bandwidth [--min-mib M] [--max-mib M] [--reps N]
//       Scan and saturate throughput on dense FP16 matrices from --min-mib
//       to --max-mib (default 1 .. 1024, doubling) against a device-to-device
//       copy of the same bytes, and the host and device cost of launching a
//       scan of one element.
//
// Exit status: 0 pass, 1 verify mismatches (or a wrong result while
// measuring), 2 no CUDA device or bad usage, 3 a CUDA call failed.
//
// The kernels are compiled into this program from the same source and with
// the same nvcc options as the shim's fatbin (kernels/meson.build), and
// launched through the runtime API; the shim itself uses the driver API only.
#include <cuda_runtime.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "scan.cu"

#include "half.h"
#include "twins.h"

typedef unsigned long long u64;
typedef unsigned int u32;

// ---- plumbing ------------------------------------------------------------------

enum { EXIT_PASS = 0, EXIT_MISMATCH = 1, EXIT_USAGE = 2, EXIT_CUDA = 3 };

static void ck(cudaError_t e, const char *what, int line)
{
    if (e == cudaSuccess)
        return;
    fprintf(stderr, "scan_gpu: %s failed (line %d): %s: %s\n", what, line, cudaGetErrorName(e),
            cudaGetErrorString(e));
    exit(EXIT_CUDA);
}
#define CK(call) ck((call), #call, __LINE__)

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

static double percentile(std::vector<double> v, int pct)
{
    std::sort(v.begin(), v.end());
    return v[(v.size() - 1) * (size_t)pct / 100];
}

// Option values: whole numbers only, so a typo is an error, not a zero.
static bool parse_u64(const char *s, u64 *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-')
        return false;
    *out = v;
    return true;
}

// A kernel that never finishes would hang the whole run; give up instead,
// so whoever runs this on a GPU machine gets an answer.
static void wait_stream(cudaStream_t s, const char *what)
{
    double t0 = now_ns();
    for (;;) {
        cudaError_t e = cudaStreamQuery(s);
        if (e == cudaSuccess)
            return;
        if (e != cudaErrorNotReady)
            ck(e, what, __LINE__);
        if (now_ns() - t0 > 60e9) {
            fprintf(stderr, "scan_gpu: %s: not finished after 60 s (a hung kernel?)\n", what);
            exit(EXIT_CUDA);
        }
        struct timespec nap = { 0, 20000 };
        nanosleep(&nap, nullptr);
    }
}

// Exits with EXIT_USAGE when there is no usable device: on a machine
// without a GPU (or driver) that is the expected answer, not a failure.
static void open_device(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        fprintf(stderr, "scan_gpu: no CUDA device available (cudaGetDeviceCount: %s%s%s)\n",
                e != cudaSuccess ? cudaGetErrorName(e) : "0 devices",
                e != cudaSuccess ? ": " : "", e != cudaSuccess ? cudaGetErrorString(e) : "");
        exit(EXIT_USAGE);
    }
    CK(cudaSetDevice(0));
}

static void print_device(void)
{
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    int drv = 0, rt = 0, memclk_khz = 0, bus_bits = 0;
    CK(cudaDriverGetVersion(&drv));
    CK(cudaRuntimeGetVersion(&rt));
    // Informative only: a driver that no longer reports these is no failure.
    if (cudaDeviceGetAttribute(&memclk_khz, cudaDevAttrMemoryClockRate, 0) != cudaSuccess ||
        cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0) != cudaSuccess)
        memclk_khz = bus_bits = 0;
    (void)cudaGetLastError();
    printf("device_name=%s\n", p.name);
    printf("compute_capability=%d.%d\n", p.major, p.minor);
    printf("sm_count=%d\n", p.multiProcessorCount);
    printf("global_mem_mib=%zu\n", p.totalGlobalMem >> 20);
    printf("l2_cache_mib=%.1f\n", p.l2CacheSize / 1048576.0);
    // Double data rate: two transfers per memory clock.
    if (memclk_khz && bus_bits)
        printf("peak_mem_gbs=%.0f\n", 2.0 * memclk_khz * 1e3 * (bus_bits / 8) / 1e9);
    printf("driver_version=%d.%d\n", drv / 1000, drv % 1000 / 10);
    printf("runtime_version=%d.%d\n", rt / 1000, rt % 1000 / 10);
}

// splitmix64: tiny, and every case gets a well-mixed seed of its own.
struct Rng {
    u64 s;
    explicit Rng(u64 seed) : s(seed) {}
    u64 next()
    {
        u64 z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    u64 below(u64 n) { return n ? next() % n : 0; }
    bool pct(unsigned p) { return below(100) < p; }
};

// ---- the kernels under test ------------------------------------------------------

enum { K_SCAN_F16, K_SCAN_BF16, K_SCAN_F32, K_SAT_F16, K_SAT_BF16, K_INIT, K_COUNT };

static const struct {
    const char *name;
    sh_scan_type type;
    bool sat;
} kernels[K_COUNT] = {
    { "safehalf_scan_f16", SH_SCAN_F16, false },   { "safehalf_scan_bf16", SH_SCAN_BF16, false },
    { "safehalf_scan_f32", SH_SCAN_F32, false },   { "safehalf_saturate_f16", SH_SCAN_F16, true },
    { "safehalf_saturate_bf16", SH_SCAN_BF16, true }, { "safehalf_scan_init", SH_SCAN_F16, false },
};

static void launch(int k, unsigned grid, unsigned block, cudaStream_t s, void *base,
                   void *const *ptrs, u64 rows, u64 cols, u64 ld, u64 stride, u64 batch,
                   sh_scan_result *out, u32 partial = SH_SCAN_NO_PARTIAL)
{
    const void *const *cptrs = (const void *const *)ptrs;
    switch (k) {
    case K_SCAN_F16:
        safehalf_scan_f16<<<grid, block, 0, s>>>(base, cptrs, rows, cols, ld, stride, batch, out,
                                                  partial);
        break;
    case K_SCAN_BF16:
        safehalf_scan_bf16<<<grid, block, 0, s>>>(base, cptrs, rows, cols, ld, stride, batch, out,
                                                  partial);
        break;
    case K_SCAN_F32:
        safehalf_scan_f32<<<grid, block, 0, s>>>(base, cptrs, rows, cols, ld, stride, batch, out,
                                                  partial);
        break;
    case K_SAT_F16:
        safehalf_saturate_f16<<<grid, block, 0, s>>>(base, ptrs, rows, cols, ld, stride, batch,
                                                     out, partial);
        break;
    case K_SAT_BF16:
        safehalf_saturate_bf16<<<grid, block, 0, s>>>(base, ptrs, rows, cols, ld, stride, batch,
                                                      out, partial);
        break;
    case K_INIT:
        safehalf_scan_init<<<grid, block, 0, s>>>(out);
        break;
    }
    CK(cudaGetLastError());
}

// ---- element formats, for making data ------------------------------------------------

struct Fmt {
    unsigned es, ebits, mbits;
    u32 emax() const { return (1u << ebits) - 1; } // the Inf/NaN exponent
    u32 bias() const { return (1u << (ebits - 1)) - 1; }
    u32 mmask() const { return (1u << mbits) - 1; }
    u32 make(u64 sign, u32 exp, u64 man) const
    {
        return (sign & 1 ? 1u << (ebits + mbits) : 0u) | exp << mbits | ((u32)man & mmask());
    }
};

static Fmt fmt_of(sh_scan_type t)
{
    if (t == SH_SCAN_F32)
        return { 4, 8, 23 };
    if (t == SH_SCAN_BF16)
        return { 2, 8, 7 };
    return { 2, 5, 10 };
}

// How a case's finite data looks. With every bit pattern (V_FULL) the
// largest |x| is almost always near the format's maximum, which hides a
// skipped element; so most cases use small values (V_SMALL) with one larger
// "peak" at a random position, which the absmax must find.
enum { V_FULL, V_SMALL, V_ZERO, V_TINY, V_MIXED };

static u32 finite_value(const Fmt &f, Rng &r, int cls)
{
    if (cls == V_MIXED)
        cls = (int)r.below(4);
    switch (cls) {
    case V_FULL:
        return f.make(r.next(), (u32)r.below(f.emax()), r.next());
    case V_SMALL: // |x| < 1
        return f.make(r.next(), (u32)r.below(f.bias()), r.next());
    case V_ZERO:
        return f.make(r.next(), 0, 0);
    default: // subnormals and zeros
        return f.make(r.next(), 0, r.next());
    }
}

static u32 peak_value(const Fmt &f, Rng &r) // 2 <= |x| <= max finite
{
    return f.make(r.next(), f.bias() + 1 + (u32)r.below(f.emax() - f.bias() - 1), r.next());
}

static u32 bad_value(const Fmt &f, Rng &r)
{
    switch (r.below(3)) {
    case 0:
        return f.make(0, f.emax(), 0);
    case 1:
        return f.make(1, f.emax(), 0);
    default: // NaN: any sign, any non-zero payload, quiet or signalling
        return f.make(r.next(), f.emax(), 1 + r.below(f.mmask()));
    }
}

// What padding and gaps hold in most cases: anything a kernel that reads
// them would notice, in the counts or the absmax.
static u32 poison_value(const Fmt &f, Rng &r)
{
    switch (r.below(4)) {
    case 0:
    case 1:
        return bad_value(f, r);
    case 2:
        return f.make(r.next(), f.emax() - 1, f.mmask()); // largest finite
    default:
        return peak_value(f, r);
    }
}

static u32 get_elem(const uint8_t *a, unsigned es, u64 i)
{
    if (es == 2) {
        uint16_t h;
        memcpy(&h, a + i * 2, 2);
        return h;
    }
    u32 w;
    memcpy(&w, a + i * 4, 4);
    return w;
}

static void set_elem(uint8_t *a, unsigned es, u64 i, u32 v)
{
    if (es == 2) {
        uint16_t h = (uint16_t)v;
        memcpy(a + i * 2, &h, 2);
    } else {
        memcpy(a + i * 4, &v, 4);
    }
}

// ---- state on the device, reused by every case -------------------------------------------

// Results live in the middle of three slots; the outer two are canaries
// that no launch may touch.
static const int SLOTS = 3;
static const unsigned char CANARY = 0xa5;

struct Gpu {
    cudaStream_t stream;
    uint8_t *arena = nullptr; // the case's buffer; grows, never shrinks
    size_t arena_cap = 0;
    void **ptrs = nullptr; // the pointer array of pointer-array batches
    sh_scan_result *res_dev = nullptr;
    sh_scan_result *res_map_host = nullptr, *res_map_dev = nullptr;

    void init()
    {
        CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        CK(cudaMalloc(&ptrs, 8 * sizeof(void *)));
        CK(cudaMalloc(&res_dev, SLOTS * sizeof(sh_scan_result)));
        CK(cudaHostAlloc(&res_map_host, SLOTS * sizeof(sh_scan_result), cudaHostAllocMapped));
        CK(cudaHostGetDevicePointer((void **)&res_map_dev, res_map_host, 0));
    }

    // Every copy goes through the case's stream: a plain cudaMemcpy runs on
    // the legacy stream, which a non-blocking stream does not wait for.
    void put(void *dst, const void *src, size_t n)
    {
        CK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream));
    }

    void get(void *dst, const void *src, size_t n, const char *what)
    {
        CK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream));
        wait_stream(stream, what);
    }

    void reserve(size_t bytes)
    {
        if (bytes <= arena_cap)
            return;
        CK(cudaFree(arena));
        arena_cap = std::max(bytes, arena_cap * 2);
        CK(cudaMalloc(&arena, arena_cap));
    }

    // The result slot for a launch, set to r, canaries around it.
    sh_scan_result *put_result(bool mapped, const sh_scan_result &r)
    {
        sh_scan_result s[SLOTS];
        memset(s, CANARY, sizeof s);
        s[1] = r;
        if (mapped) {
            memcpy(res_map_host, s, sizeof s);
            return res_map_dev + 1;
        }
        put(res_dev, s, sizeof s);
        return res_dev + 1;
    }

    // After the stream is idle: the three slots as they are now.
    void get_result(bool mapped, sh_scan_result s[SLOTS])
    {
        if (mapped)
            memcpy(s, res_map_host, SLOTS * sizeof *s);
        else
            get(s, res_dev, SLOTS * sizeof *s, "reading the result");
    }
};

static bool canaries_intact(const sh_scan_result s[SLOTS])
{
    const unsigned char *b = (const unsigned char *)s;
    for (size_t i = 0; i < SLOTS * sizeof *s; i++)
        if ((i < sizeof *s || i >= 2 * sizeof *s) && b[i] != CANARY)
            return false;
    return true;
}

// ---- cases ---------------------------------------------------------------------------

struct Case {
    int kernel, index;
    u64 rows, cols, ld, stride, batch;
    bool ptrs, mapped, out_null, accumulate, poison;
    u32 partial;                 // SH_SCAN_NO_PARTIAL, or the partial the launch gathers in
    int values, bads;
    std::vector<u64> off;        // element offset of matrix b in the arena
    u64 elems;                   // arena size, elements
    std::vector<uint8_t> data;   // the arena's contents before the launch
    std::vector<uint8_t> isdata; // 1: an element of a matrix; 0: padding or gap
    sh_scan_result res0;         // the result before the launch
};

static u64 case_seed(u64 seed, int kernel, int index)
{
    return Rng(seed ^ (u64)kernel << 40 ^ (u64)index * 0x2545f4914f6cdd1dull).next();
}

static Case make_case(u64 seed, int kernel, int index)
{
    Rng r(case_seed(seed, kernel, index));
    Case c;
    c.kernel = kernel;
    c.index = index;
    const Fmt f = fmt_of(kernels[kernel].type);
    const u64 vec = 16 / f.es; // elements per 16-byte load

    // Most cases fit in one small grid; a few are larger than the capped
    // grid of sh_scan_launch_dims covers in one pass (grid-stride loops).
    bool big = r.pct(5);
    c.batch = 1 + r.below(5);
    u64 budget = big ? 2500000 + r.below(1500000) : 1 + r.below(150000);
    u64 p = r.below(100);
    c.rows = p < 6 ? 0 : p < 12 ? 1 : p < 32 ? 2 + r.below(63) : r.below(2001);
    if (big && c.rows < 64)
        c.rows = 64 + r.below(1937);
    u64 per_col = std::max<u64>(c.rows, 1) * c.batch;
    p = r.below(100);
    if (big)
        c.cols = std::max<u64>(1, budget / per_col);
    else
        c.cols = p < 5 ? 0 : p < 15 ? 1 : p < 40 ? 1 + r.below(16)
                                               : 1 + r.below(std::max<u64>(1, budget / per_col));

    // ld: dense (one run per matrix), padded, odd (columns at every
    // alignment), or padded to whole vectors (columns equally aligned).
    u64 minld = std::max<u64>(c.rows, 1);
    p = r.below(100);
    c.ld = p < 40   ? minld
           : p < 65 ? minld + 1 + r.below(16)
           : p < 85 ? (minld + 1 + r.below(31)) | 1
                    : (minld + vec - 1) / vec * vec;
    u64 mat = c.ld * c.cols;
    p = r.below(100);
    c.stride = p < 40   ? mat
               : p < 70 ? mat + 1 + r.below(64)
               : p < 85 ? (mat + 1 + r.below(64)) | 1
                        : (mat + vec - 1) / vec * vec;
    c.ptrs = r.pct(30);

    // Where the first matrix starts: a gap that out-of-range reads would
    // hit, then 16-byte aligned, one element past, or anywhere.
    u64 lead = r.below(3) * vec;
    p = r.below(100);
    u64 mis = p < 50 ? 0 : p < 80 ? 1 : r.below(vec);
    u64 ext = c.rows && c.cols ? (c.cols - 1) * c.ld + c.rows : 0; // one matrix's span
    u64 end;
    c.off.resize(c.batch);
    if (!c.ptrs) {
        for (u64 b = 0; b < c.batch; b++)
            c.off[b] = lead + mis + b * c.stride;
        end = c.off[c.batch - 1] + ext;
    } else {
        // Separate matrices at unrelated alignments, in shuffled order.
        u64 pos = lead + mis;
        for (u64 b = 0; b < c.batch; b++) {
            if (b && r.pct(60))
                pos += r.below(40);
            if (r.pct(30))
                pos = (pos + vec - 1) / vec * vec + r.below(2);
            c.off[b] = pos;
            pos += ext;
        }
        end = pos;
        for (u64 b = c.batch - 1; b > 0; b--)
            std::swap(c.off[b], c.off[r.below(b + 1)]);
    }
    c.elems = end + vec + r.below(3 * vec); // trailing gap

    c.isdata.assign(c.elems, 0);
    for (u64 b = 0; b < c.batch; b++)
        for (u64 col = 0; col < c.cols; col++)
            memset(&c.isdata[c.off[b] + col * c.ld], 1, c.rows);

    c.values = (int)r.below(100);
    c.values = c.values < 25 ? V_FULL : c.values < 70 ? V_SMALL : c.values < 80 ? V_ZERO
             : c.values < 90 ? V_TINY : V_MIXED;
    c.poison = r.pct(70);
    c.data.resize(c.elems * f.es);
    uint8_t *d = c.data.data();
    for (u64 e = 0; e < c.elems; e++)
        set_elem(d, f.es, e,
                 c.isdata[e] || !c.poison ? finite_value(f, r, c.values) : poison_value(f, r));

    u64 ndata = c.rows * c.cols * c.batch;
    auto random_data_elem = [&]() {
        return c.off[r.below(c.batch)] + r.below(c.cols) * c.ld + r.below(c.rows);
    };
    if (ndata && c.values == V_SMALL)
        set_elem(d, f.es, random_data_elem(), peak_value(f, r));
    p = r.below(100);
    c.bads = p < 25 ? 0 : p < 50 ? 1 : p < 75 ? 2 + (int)r.below(9) : p < 95 ? -1 : -2;
    if (ndata && c.bads == -2) { // every element
        for (u64 e = 0; e < c.elems; e++)
            if (c.isdata[e])
                set_elem(d, f.es, e, bad_value(f, r));
    } else if (ndata) {
        u64 n = c.bads >= 0 ? (u64)c.bads : ndata / (2 + r.below(63));
        for (u64 i = 0; i < n; i++)
            set_elem(d, f.es, random_data_elem(), bad_value(f, r));
    }

    // The result before the launch: fresh, or holding earlier findings that
    // this launch must add to (the contract of scan.h). blocks is always 0
    // between launches: the kernels' completion count relies on it.
    sh_scan_result_init(&c.res0);
    c.res0.generation = (u32)r.next();
    c.accumulate = r.pct(25);
    if (c.accumulate) {
        c.res0.pos_inf = r.below(1000);
        c.res0.neg_inf = r.below(1000);
        c.res0.nan = r.below(1000);
        c.res0.first_bad = r.pct(50) ? SH_SCAN_NONE : r.below(ndata + 10);
        c.res0.absmax_bits = r.pct(30) ? 0 : (u32)r.below(0x7f800000u);
        c.res0.done = (u32)r.below(2);
    }
    c.mapped = r.pct(35);
    c.out_null = kernels[kernel].sat && r.pct(10);
    // The shim always names a partial; without one is the kernels' other way.
    c.partial = r.pct(30) ? SH_SCAN_NO_PARTIAL : (u32)r.below(SH_SCAN_NPARTIALS);
    return c;
}

struct Shape {
    unsigned grid, block; // grid 0: what sh_scan_launch_dims says
};

// Besides sh_scan_launch_dims' shape, each case runs one of these: a single
// block (everything grid-stride), a few, the cap, far more blocks than work,
// and other block sizes the kernels accept (multiples of 32, up to 1024).
static const Shape alt_shapes[] = {
    { 1, 256 }, { 7, 256 }, { SH_SCAN_MAX_GRID, 256 }, { 0, 32 }, { 0, 1024 },
    { 1, 32 },  { 7, 96 },  { 2048, 256 },             { 0, 64 }, { 1, 1024 },
};

struct Tally {
    int cases = 0, mismatches = 0, shown = 0, max_shown = 5;
    bool show() { return shown++ < max_shown; }
};

static void print_case(const Case &c, u64 seed, unsigned grid, unsigned block)
{
    static const char *const vnames[] = { "full", "small+peak", "zero", "tiny", "mixed" };
    printf("mismatch kernel=%s case=%d (rerun: scan_gpu verify --seed %llu --kernel %s "
           "--case %d)\n",
           kernels[c.kernel].name, c.index, seed, kernels[c.kernel].name, c.index);
    printf("  rows=%llu cols=%llu ld=%llu stride=%llu batch=%llu %s grid=%u block=%u\n", c.rows,
           c.cols, c.ld, c.stride, c.batch, c.ptrs ? "pointer-array" : "strided", grid, block);
    printf("  offsets(elements)=");
    for (u64 b = 0; b < c.batch; b++)
        printf("%s%llu", b ? "," : "", c.off[b]);
    printf(" arena=%llu values=%s bads=%d padding=%s result=%s%s%s", c.elems,
           vnames[c.values], c.bads, c.poison ? "poisoned" : "finite",
           c.mapped ? "mapped" : "device", c.accumulate ? ",accumulating" : "",
           c.out_null ? ",out=NULL" : "");
    if (c.partial == SH_SCAN_NO_PARTIAL)
        printf(" partial=none\n");
    else
        printf(" partial=%u\n", c.partial);
}

static void print_result_diff(const sh_scan_result &got, const sh_scan_result &want)
{
#define FIELD(f, fmt)                                                                          \
    if (got.f != want.f)                                                                       \
        printf("  %-12s got=" fmt " want=" fmt "\n", #f, got.f, want.f);
    FIELD(pos_inf, "%llu")
    FIELD(neg_inf, "%llu")
    FIELD(nan, "%llu")
    FIELD(first_bad, "%llu")
    FIELD(blocks, "%u")
    FIELD(done, "%u")
    FIELD(generation, "%u")
#undef FIELD
    if (got.absmax_bits != want.absmax_bits)
        printf("  absmax_bits  got=0x%08x (%g) want=0x%08x (%g)\n", got.absmax_bits,
               sh_bits_to_float(got.absmax_bits), want.absmax_bits,
               sh_bits_to_float(want.absmax_bits));
}

static bool same_result(const sh_scan_result &a, const sh_scan_result &b)
{
    return a.pos_inf == b.pos_inf && a.neg_inf == b.neg_inf && a.nan == b.nan &&
           a.first_bad == b.first_bad && a.absmax_bits == b.absmax_bits &&
           a.blocks == b.blocks && a.done == b.done && a.generation == b.generation;
}

// Where element e of the arena is, for a reader of a mismatch.
static std::string where(const Case &c, u64 e)
{
    char buf[128];
    if (!c.isdata[e]) {
        snprintf(buf, sizeof buf, "padding/gap");
        return buf;
    }
    for (u64 b = 0; b < c.batch; b++) {
        if (e < c.off[b])
            continue;
        u64 rel = e - c.off[b];
        if (rel / c.ld < c.cols && rel % c.ld < c.rows) {
            u64 col = rel / c.ld, row = rel % c.ld;
            snprintf(buf, sizeof buf, "batch %llu col %llu row %llu, index %llu", b, col, row,
                     b * c.rows * c.cols + col * c.rows + row);
            return buf;
        }
    }
    return "data";
}

// A partial must be all zero between launches (scan.cu): the next launch
// that names it starts from there.
static bool partial_clear(u32 partial)
{
    if (partial == SH_SCAN_NO_PARTIAL)
        return true;
    sh_scan_result p, zero;
    memset(&zero, 0, sizeof zero);
    CK(cudaMemcpyFromSymbol(&p, sh_scan_partials, sizeof p, partial * sizeof p));
    return memcmp(&p, &zero, sizeof p) == 0;
}

// One scan or saturate case: the twin once, then the kernel with each shape.
static void verify_scan_case(Gpu &g, u64 seed, int kernel, int index, Tally &t)
{
    const Case c = make_case(seed, kernel, index);
    const sh_scan_type type = kernels[kernel].type;
    const bool sat = kernels[kernel].sat;
    const unsigned es = fmt_of(type).es;
    const size_t bytes = c.data.size();

    // The twin, on a host copy of the same data.
    std::vector<uint8_t> want = c.data;
    std::vector<void *> hptrs(c.batch);
    for (u64 b = 0; b < c.batch; b++)
        hptrs[b] = want.data() + c.off[b] * es;
    sh_scan_result want_res = c.res0;
    void *hbase = c.ptrs ? nullptr : hptrs[0];
    void *const *hp = c.ptrs ? hptrs.data() : nullptr;
    sh_scan_result *hout = c.out_null ? nullptr : &want_res;
    if (sat)
        sh_ref_saturate(type, hbase, hp, c.rows, c.cols, c.ld, c.stride, c.batch, hout);
    else
        sh_ref_scan(type, hbase, (const void *const *)hp, c.rows, c.cols, c.ld, c.stride, c.batch,
                    hout);

    g.reserve(bytes);
    std::vector<void *> dptrs(c.batch);
    for (u64 b = 0; b < c.batch; b++)
        dptrs[b] = g.arena + c.off[b] * es;
    if (c.ptrs)
        g.put(g.ptrs, dptrs.data(), c.batch * sizeof(void *));

    unsigned dgrid, dblock;
    sh_scan_launch_dims(c.rows * c.cols * c.batch, &dgrid, &dblock);
    const Shape alt = alt_shapes[index % (sizeof alt_shapes / sizeof alt_shapes[0])];
    const Shape shapes[2] = { { dgrid, dblock }, { alt.grid ? alt.grid : dgrid, alt.block } };

    std::vector<uint8_t> got(bytes);
    bool bad = false, shown = false;
    for (const Shape &s : shapes) {
        // Named in the error should the launch fail (an illegal address...).
        char what[160];
        snprintf(what, sizeof what, "%s case %d (seed %llu) grid=%u block=%u",
                 kernels[kernel].name, index, seed, s.grid, s.block);
        g.put(g.arena, c.data.data(), bytes);
        sh_scan_result *out = g.put_result(c.mapped, c.res0);
        launch(kernel, s.grid, s.block, g.stream, c.ptrs ? nullptr : dptrs[0],
               c.ptrs ? g.ptrs : nullptr, c.rows, c.cols, c.ld, c.stride, c.batch,
               c.out_null ? nullptr : out, c.partial);
        wait_stream(g.stream, what);
        g.get(got.data(), g.arena, bytes, what);
        sh_scan_result slots[SLOTS];
        g.get_result(c.mapped, slots);

        // With out = NULL the slot must still hold what was put there.
        const sh_scan_result &want_slot = c.out_null ? c.res0 : want_res;
        bool res_ok = same_result(slots[1], want_slot), can_ok = canaries_intact(slots);
        bool mem_ok = got == want, part_ok = partial_clear(c.partial);
        if (res_ok && can_ok && mem_ok && part_ok)
            continue;
        bad = true;
        if (shown || !t.show())
            continue;
        shown = true; // one shape's details are enough for a case
        print_case(c, seed, s.grid, s.block);
        print_result_diff(slots[1], want_slot);
        if (!can_ok)
            printf("  the slots next to the result were written\n");
        if (!part_ok)
            printf("  the partial was not left all zero\n");
        if (!mem_ok) {
            u64 n = 0, first = 0;
            for (u64 e = 0; e < c.elems; e++)
                if (get_elem(got.data(), es, e) != get_elem(want.data(), es, e) && !n++)
                    first = e;
            printf("  memory: %llu of %llu elements differ; first: element %llu (%s): got=0x%x "
                   "want=0x%x before=0x%x\n",
                   n, c.elems, first, where(c, first).c_str(), get_elem(got.data(), es, first),
                   get_elem(want.data(), es, first), get_elem(c.data.data(), es, first));
        }
    }
    t.cases++;
    t.mismatches += bad;
}

// safehalf_scan_init: from an arbitrary slot (random bytes, a fresh one, one
// a scan finished), a sequence of inits with scans in between, as a CUDA
// graph replays them; after every step the slot must equal the twin's.
static void verify_init_case(Gpu &g, u64 seed, int index, Tally &t)
{
    Rng r(case_seed(seed, K_INIT, index));
    const Fmt f = fmt_of(SH_SCAN_F16);
    bool mapped = r.pct(50);
    sh_scan_result want;
    u64 p = r.below(100);
    if (p < 50) {
        for (size_t i = 0; i < sizeof want; i++)
            ((unsigned char *)&want)[i] = (unsigned char)r.next();
    } else {
        sh_scan_result_init(&want);
        want.generation = (u32)r.next();
        if (p >= 75) {
            want.pos_inf = r.below(100);
            want.nan = r.below(100);
            want.first_bad = r.below(100);
            want.absmax_bits = 0x3f800000u;
            want.done = 1;
        }
    }
    if (r.pct(10))
        want.generation = 0xffffffffu; // wraps to 0

    // The data the scans in the sequence see: dense FP16, a few bad values.
    u64 n = 1 + r.below(5000);
    std::vector<uint8_t> data(n * 2);
    for (u64 i = 0; i < n; i++)
        set_elem(data.data(), 2, i, finite_value(f, r, V_SMALL));
    for (u64 k = r.below(4); k > 0; k--)
        set_elem(data.data(), 2, r.below(n), bad_value(f, r));
    g.reserve(data.size());
    g.put(g.arena, data.data(), data.size());
    unsigned dgrid, dblock;
    sh_scan_launch_dims(n, &dgrid, &dblock);

    static const Shape init_shapes[] = { { 1, 1 }, { 1, 32 }, { 1, 256 }, { 7, 256 },
                                         { SH_SCAN_MAX_GRID, 256 } };
    const sh_scan_result start = want;
    sh_scan_result *out = g.put_result(mapped, want);
    int steps = 1 + (int)r.below(4);
    bool bad = false;
    std::string seq;
    for (int i = 0; i < steps && !bad; i++) {
        bool init = i == 0 || r.pct(50); // a scan needs blocks = 0: an init first
        u32 partial = SH_SCAN_NO_PARTIAL;
        if (init) {
            Shape s = init_shapes[r.below(sizeof init_shapes / sizeof init_shapes[0])];
            launch(K_INIT, s.grid, s.block, g.stream, nullptr, nullptr, 0, 0, 0, 0, 0, out);
            sh_ref_scan_init(&want);
            char buf[48];
            snprintf(buf, sizeof buf, "%sinit<<<%u,%u>>>", i ? " " : "", s.grid, s.block);
            seq += buf;
        } else {
            partial = r.pct(50) ? SH_SCAN_NO_PARTIAL : (u32)r.below(SH_SCAN_NPARTIALS);
            launch(K_SCAN_F16, dgrid, dblock, g.stream, g.arena, nullptr, n, 1, n, n, 1, out,
                   partial);
            sh_ref_scan(SH_SCAN_F16, data.data(), nullptr, n, 1, n, n, 1, &want);
            seq += partial == SH_SCAN_NO_PARTIAL ? " scan_f16" : " scan_f16(partial)";
        }
        char what[96];
        snprintf(what, sizeof what, "safehalf_scan_init case %d (seed %llu) step %d", index, seed,
                 i + 1);
        wait_stream(g.stream, what);
        // Read once the launch is over: the copy from the symbol is not
        // ordered after work on this (non-blocking) stream.
        if (!partial_clear(partial)) {
            bad = true;
            if (t.show())
                printf("mismatch kernel=safehalf_scan_init case=%d (rerun: scan_gpu verify "
                       "--seed %llu --kernel safehalf_scan_init --case %d)\n  partial %u "
                       "not left all zero after: %s\n",
                       index, seed, index, partial, seq.c_str());
            continue;
        }
        sh_scan_result slots[SLOTS];
        g.get_result(mapped, slots);
        bool can_ok = canaries_intact(slots);
        if (same_result(slots[1], want) && can_ok)
            continue;
        bad = true;
        if (!t.show())
            continue;
        printf("mismatch kernel=safehalf_scan_init case=%d (rerun: scan_gpu verify --seed %llu "
               "--kernel safehalf_scan_init --case %d)\n",
               index, seed, index);
        printf("  result=%s start generation=%u done=%u blocks=%u; after step %d of: %s\n",
               mapped ? "mapped" : "device", start.generation, start.done, start.blocks, i + 1,
               seq.c_str());
        print_result_diff(slots[1], want);
        if (!can_ok)
            printf("  the slots next to the result were written\n");
    }
    t.cases++;
    t.mismatches += bad;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: scan_gpu verify [--seed S] [--cases N] [--kernel NAME] [--case I] "
            "[--details N]\n"
            "       scan_gpu bandwidth [--min-mib M] [--max-mib M] [--reps N]\n");
    return EXIT_USAGE;
}

static int verify(int argc, char **argv)
{
    u64 seed = 1, cases = 250, only_case = ~0ull, details = 5;
    int only_kernel = -1;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        const char *o = argv[i], *v = argv[i + 1];
        bool ok = true;
        if (!strcmp(o, "--seed"))
            ok = parse_u64(v, &seed);
        else if (!strcmp(o, "--cases"))
            ok = parse_u64(v, &cases) && cases > 0 && cases < 1000000;
        else if (!strcmp(o, "--case"))
            ok = parse_u64(v, &only_case) && only_case < 1000000;
        else if (!strcmp(o, "--details"))
            ok = parse_u64(v, &details);
        else if (!strcmp(o, "--kernel")) {
            for (int k = 0; k < K_COUNT; k++)
                if (!strcmp(v, kernels[k].name))
                    only_kernel = k;
            ok = only_kernel >= 0;
        } else
            ok = false;
        if (!ok)
            return usage();
    }
    open_device();
    print_device();
    printf("verify seed=%llu cases_per_kernel=%llu\n", seed, cases);
    fflush(stdout);

    Gpu g;
    g.init();
    int total_bad = 0;
    for (int k = 0; k < K_COUNT; k++) {
        if (only_kernel >= 0 && k != only_kernel)
            continue;
        Tally t;
        t.max_shown = (int)std::min<u64>(details, 1000);
        for (int i = 0; i < (int)cases; i++) {
            if (only_case != ~0ull && (u64)i != only_case)
                continue;
            if (k == K_INIT)
                verify_init_case(g, seed, i, t);
            else
                verify_scan_case(g, seed, k, i, t);
        }
        printf("verify kernel=%s cases=%d mismatches=%d\n", kernels[k].name, t.cases,
               t.mismatches);
        fflush(stdout);
        total_bad += t.mismatches;
    }
    printf("verify_ok=%d\n", total_bad == 0);
    return total_bad ? EXIT_MISMATCH : EXIT_PASS;
}

// ---- bandwidth -------------------------------------------------------------------------

// Finite FP16 data (|x| < 1) made on the device: no host transfer of up to
// a GiB, and no Inf, so the saturating kernel stores nothing.
__global__ void fill_f16(unsigned short *p, u64 n)
{
    u64 step = (u64)gridDim.x * blockDim.x;
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += step) {
        u64 h = (i + 1) * 0x9e3779b97f4a7c15ull;
        p[i] = (unsigned short)((h >> 40) & 0xbbffu); // exponent <= 14: |x| < 1
    }
}

struct Row {
    u64 mib;
    unsigned grid, block;
    double copy_ms, scan_dev_ms, scan_map_ms, scan_direct_ms, sat_ms;
};

static bool result_clean(const sh_scan_result &r)
{
    return r.pos_inf == 0 && r.neg_inf == 0 && r.nan == 0 && r.first_bad == SH_SCAN_NONE &&
           r.absmax_bits != 0 && r.blocks == 0 && r.done == 1;
}

static int bandwidth(int argc, char **argv)
{
    u64 min_mib = 1, max_mib = 1024, reps = 20;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        const char *o = argv[i], *v = argv[i + 1];
        bool ok;
        if (!strcmp(o, "--min-mib"))
            ok = parse_u64(v, &min_mib) && min_mib > 0;
        else if (!strcmp(o, "--max-mib"))
            ok = parse_u64(v, &max_mib) && max_mib < (1ull << 30);
        else if (!strcmp(o, "--reps"))
            ok = parse_u64(v, &reps) && reps > 0 && reps < 1000000;
        else
            ok = false;
        if (!ok)
            return usage();
    }
    open_device();
    print_device();
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));

    cudaStream_t s;
    cudaEvent_t e0, e1;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    sh_scan_result *res_dev, *res_map_host, *res_map_dev;
    CK(cudaMalloc(&res_dev, sizeof *res_dev));
    CK(cudaHostAlloc(&res_map_host, sizeof *res_map_host, cudaHostAllocMapped));
    CK(cudaHostGetDevicePointer((void **)&res_map_dev, res_map_host, 0));

    // Median of reps timed launches after warm-up. Sizes below the L2 size
    // run partly from cache: the shim's scan follows the GEMM that just
    // wrote the data, so a hot cache is not unrealistic there.
    auto time_ms = [&](auto &&op) {
        for (int w = 0; w < 3; w++)
            op();
        CK(cudaStreamSynchronize(s));
        std::vector<double> ms;
        for (u64 r = 0; r < reps; r++) {
            CK(cudaEventRecord(e0, s));
            op();
            CK(cudaEventRecord(e1, s));
            CK(cudaEventSynchronize(e1));
            float t;
            CK(cudaEventElapsedTime(&t, e0, e1));
            ms.push_back(t);
        }
        return median(ms);
    };

    // GB/s of bytes moved: the copy reads and writes every byte (2x), the
    // scan reads it once. The saturating kernel writes back only 16-byte
    // vectors that hold an Inf, none in this finite data, so it too reads
    // every byte once: its figure is bytes/time, comparable with the scan's.
    auto gbs = [](u64 mib, double ms, int passes) {
        return passes * (double)(mib << 20) / (ms * 1e-3) / 1e9;
    };
    printf("bandwidth min_mib=%llu max_mib=%llu reps=%llu\n", min_mib, max_mib, reps);
    std::vector<Row> rows;
    for (u64 mib = min_mib; mib <= max_mib; mib *= 2) {
        size_t bytes = (size_t)mib << 20;
        size_t free_b, total_b;
        CK(cudaMemGetInfo(&free_b, &total_b));
        // Source and copy destination, and room for the runtime to breathe.
        if (2 * bytes + (256ull << 20) > free_b) {
            printf("skip size_mib=%llu reason=memory free_mib=%zu\n", mib, free_b >> 20);
            continue;
        }
        unsigned short *src, *dst;
        CK(cudaMalloc(&src, bytes));
        CK(cudaMalloc(&dst, bytes));
        u64 elems = bytes / 2, nrows = std::min<u64>(elems, 8192), ncols = elems / nrows;
        fill_f16<<<prop.multiProcessorCount * 8, 256, 0, s>>>(src, elems);
        CK(cudaGetLastError());
        CK(cudaStreamSynchronize(s));
        Row row;
        row.mib = mib;
        sh_scan_launch_dims(elems, &row.grid, &row.block);

        // No re-init between launches: the kernels leave blocks at 0 and
        // the counts stay 0 on finite data, so each launch finds the state
        // the next one needs; the shim's own init is not what is measured.
        sh_scan_result fresh;
        sh_scan_result_init(&fresh);
        CK(cudaMemcpyAsync(res_dev, &fresh, sizeof fresh, cudaMemcpyHostToDevice, s));
        *res_map_host = fresh;

        row.copy_ms = time_ms(
            [&] { CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s)); });
        row.scan_dev_ms = time_ms([&] {
            launch(K_SCAN_F16, row.grid, row.block, s, src, nullptr, nrows, ncols, nrows,
                   nrows * ncols, 1, res_dev);
        });
        // As the shim launches it: mapped result, gathered in a partial.
        row.scan_map_ms = time_ms([&] {
            launch(K_SCAN_F16, row.grid, row.block, s, src, nullptr, nrows, ncols, nrows,
                   nrows * ncols, 1, res_map_dev, 0);
        });
        // Every block's atomics straight to the mapped result: what the
        // partials avoid.
        row.scan_direct_ms = time_ms([&] {
            launch(K_SCAN_F16, row.grid, row.block, s, src, nullptr, nrows, ncols, nrows,
                   nrows * ncols, 1, res_map_dev);
        });
        sh_scan_result r_dev;
        CK(cudaMemcpyAsync(&r_dev, res_dev, sizeof r_dev, cudaMemcpyDeviceToHost, s));
        CK(cudaStreamSynchronize(s));
        bool ok = result_clean(r_dev) && result_clean(*res_map_host);
        row.sat_ms = time_ms([&] {
            launch(K_SAT_F16, row.grid, row.block, s, src, nullptr, nrows, ncols, nrows,
                   nrows * ncols, 1, res_map_dev, 0);
        });
        ok = ok && result_clean(*res_map_host) && partial_clear(0);
        CK(cudaFree(src));
        CK(cudaFree(dst));
        if (!ok) {
            fprintf(stderr, "scan_gpu: bandwidth: wrong scan result on finite data at %llu MiB\n",
                    mib);
            return EXIT_MISMATCH;
        }
        rows.push_back(row);
        // Each size as it is measured: a run killed at a larger size keeps
        // the smaller ones.
        const Row &r = row;
        printf("size_mib=%llu copy_gbs=%.1f scan_dev_gbs=%.1f scan_mapped_gbs=%.1f "
               "mapped_direct_gbs=%.1f saturate_gbs=%.1f scan_vs_copy=%.3f grid=%u block=%u "
               "copy_us=%.2f scan_dev_us=%.2f scan_mapped_us=%.2f mapped_direct_us=%.2f "
               "saturate_us=%.2f\n",
               r.mib, gbs(r.mib, r.copy_ms, 2), gbs(r.mib, r.scan_dev_ms, 1),
               gbs(r.mib, r.scan_map_ms, 1), gbs(r.mib, r.scan_direct_ms, 1),
               gbs(r.mib, r.sat_ms, 1), gbs(r.mib, r.scan_map_ms, 1) / gbs(r.mib, r.copy_ms, 2),
               r.grid, r.block, r.copy_ms * 1e3, r.scan_dev_ms * 1e3, r.scan_map_ms * 1e3,
               r.scan_direct_ms * 1e3, r.sat_ms * 1e3);
        fflush(stdout);
    }

    // scan_mapped and saturate: as the shim launches them (mapped result,
    // partial); mapped_direct: mapped result, no partial.
    printf("\n%9s %6s %6s %10s %12s %15s %17s %12s %12s\n", "size_MiB", "grid", "block",
           "copy_GB/s", "scan_dev_GB/s", "scan_mapped_GB/s", "mapped_direct_GB/s", "saturate_GB/s",
           "scan/copy");
    for (const Row &r : rows)
        printf("%9llu %6u %6u %10.1f %12.1f %15.1f %17.1f %12.1f %12.3f\n", r.mib, r.grid,
               r.block, gbs(r.mib, r.copy_ms, 2), gbs(r.mib, r.scan_dev_ms, 1),
               gbs(r.mib, r.scan_map_ms, 1), gbs(r.mib, r.scan_direct_ms, 1),
               gbs(r.mib, r.sat_ms, 1), gbs(r.mib, r.scan_map_ms, 1) / gbs(r.mib, r.copy_ms, 2));
    printf("\n");

    // The cost of one scan of one element, as the shim pays it after every
    // checked call: host time inside the launch call, and device time.
    unsigned short *tiny;
    CK(cudaMalloc(&tiny, 16));
    unsigned short one = 0x3c00;
    CK(cudaMemcpyAsync(tiny, &one, sizeof one, cudaMemcpyHostToDevice, s));
    const void *base = tiny;
    const void *const *no_ptrs = nullptr;
    u64 one_u = 1;
    sh_scan_result *out = res_map_dev;
    u32 partial = 0;
    void *args[] = { &base, &no_ptrs, &one_u, &one_u, &one_u, &one_u, &one_u, &out, &partial };
    unsigned tgrid, tblock;
    sh_scan_launch_dims(1, &tgrid, &tblock);
    sh_scan_result_init(res_map_host); // pinned memory starts undefined
    for (int i = 0; i < 100; i++) // loads the kernel (lazy loading), warms the path
        CK(cudaLaunchKernel((const void *)safehalf_scan_f16, tgrid, tblock, args, 0, s));
    CK(cudaStreamSynchronize(s));
    const int launches = 10000;
    std::vector<double> host_ns;
    for (int i = 0; i < launches; i++) {
        // A full launch queue would make the call wait for the GPU; drain it
        // (untimed) long before that.
        if (i % 256 == 0)
            CK(cudaStreamSynchronize(s));
        double t0 = now_ns();
        cudaError_t e =
            cudaLaunchKernel((const void *)safehalf_scan_f16, tgrid, tblock, args, 0, s);
        double t1 = now_ns();
        CK(e);
        host_ns.push_back(t1 - t0);
    }
    CK(cudaStreamSynchronize(s));
    std::vector<double> dev_us;
    for (int i = 0; i < 1000; i++) {
        CK(cudaEventRecord(e0, s));
        CK(cudaLaunchKernel((const void *)safehalf_scan_f16, tgrid, tblock, args, 0, s));
        CK(cudaEventRecord(e1, s));
        CK(cudaEventSynchronize(e1));
        float t;
        CK(cudaEventElapsedTime(&t, e0, e1));
        dev_us.push_back(t * 1e3);
    }
    // Back to back, as consecutive checked calls queue them.
    CK(cudaEventRecord(e0, s));
    for (int i = 0; i < 1000; i++)
        CK(cudaLaunchKernel((const void *)safehalf_scan_f16, tgrid, tblock, args, 0, s));
    CK(cudaEventRecord(e1, s));
    CK(cudaEventSynchronize(e1));
    float b2b_ms;
    CK(cudaEventElapsedTime(&b2b_ms, e0, e1));
    if (!result_clean(*res_map_host) || res_map_host->absmax_bits != 0x3f800000u) {
        fprintf(stderr, "scan_gpu: bandwidth: wrong result of the one-element scan\n");
        return EXIT_MISMATCH;
    }
    printf("\ntiny_scan grid=%u block=%u result=mapped,partial launches=%d\n", tgrid, tblock,
           launches);
    printf("tiny_launch_host_ns_median=%.0f tiny_launch_host_ns_p10=%.0f "
           "tiny_launch_host_ns_p90=%.0f tiny_device_us_median=%.2f "
           "tiny_device_us_per_launch_back_to_back=%.2f\n",
           median(host_ns), percentile(host_ns, 10), percentile(host_ns, 90), median(dev_us),
           b2b_ms * 1e3 / 1000);
    CK(cudaFree(tiny));
    CK(cudaFree(res_dev));
    CK(cudaFreeHost(res_map_host));
    return EXIT_PASS;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "verify"))
        return verify(argc, argv);
    if (!strcmp(argv[1], "bandwidth"))
        return bandwidth(argc, argv);
    return usage();
}
