/* The Inf/NaN scan and saturate kernels' host twins (kernels/scan.c), through
 * their launch entries (the emulated driver's way in) and their _ref
 * functions; and the kernels' own device code (kernels/scan_thread.cuh) run
 * on the CPU for whole grids (kernels/scan_sim.cpp), which must agree with
 * the twins on every layout: this machine has no GPU. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "half.h"
#include "scan.h"
#include "scan_sim.h"
#include "twins.h"
#include "run_suite.h"

typedef unsigned long long u64;

#define H_PINF 0x7c00u
#define H_NINF 0xfc00u
#define H_NAN 0x7e00u
#define H_MAX 0x7bffu
#define B_PINF 0x7f80u
#define B_NINF 0xff80u
#define B_NAN 0x7fc0u
#define B_MAX 0x7f7fu

static void *identity(const void *p)
{
    return (void *)p;
}

/* "Device" addresses are host addresses with a tag in the top bits, so a
 * twin that skips a translation dereferences garbage and the test crashes. */
#define TAG 0x5a00000000000000ull
static int xlate_calls;

static void *dev(const void *host)
{
    return host ? (void *)((uintptr_t)host ^ TAG) : NULL;
}

static void *tagged(const void *d)
{
    xlate_calls++;
    if (!d)
        return NULL;
    ck_assert_msg(((uintptr_t)d & 0xff00000000000000ull) == TAG, "untranslatable %p", d);
    return (void *)((uintptr_t)d ^ TAG);
}

/* Launch `name` through the twins table, as cuLaunchKernel would. */
static void launch(const char *name, sh_xlate_fn xl, const void *base, const void *ptrs, u64 rows,
                   u64 cols, u64 ld, u64 stride, u64 batch, struct sh_scan_result *out)
{
    const struct sh_twin *t = sh_twin_find(name);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->nargs, 9);
    unsigned partial = 0;
    void *params[] = { &base, &ptrs, &rows, &cols, &ld, &stride, &batch, &out, &partial };
    t->launch(params, xl);
}

static struct sh_scan_result fresh(void)
{
    struct sh_scan_result r;
    memset(&r, 0xab, sizeof r);
    sh_scan_result_init(&r);
    return r;
}

static float absmax(const struct sh_scan_result *r)
{
    return sh_bits_to_float(r->absmax_bits);
}

static void assert_result(const struct sh_scan_result *r, u64 pos, u64 neg, u64 nan, u64 first,
                          float amax)
{
    ck_assert_uint_eq(r->pos_inf, pos);
    ck_assert_uint_eq(r->neg_inf, neg);
    ck_assert_uint_eq(r->nan, nan);
    ck_assert_uint_eq(r->first_bad, first);
    ck_assert_float_eq(absmax(r), amax);
    ck_assert_uint_eq(r->done, 1);
    ck_assert_uint_eq(r->blocks, 0);
}

START_TEST(table_and_init)
{
    static const char *const scan_kernels[] = { "safehalf_scan_f16", "safehalf_scan_bf16",
                                                "safehalf_scan_f32", "safehalf_saturate_f16",
                                                "safehalf_saturate_bf16" };
    for (size_t i = 0; i < sizeof scan_kernels / sizeof scan_kernels[0]; i++) {
        const struct sh_twin *t = sh_twin_find(scan_kernels[i]);
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t->name, scan_kernels[i]);
        ck_assert_uint_eq(t->nargs, 9);
        for (unsigned a = 0; a < 8; a++)
            ck_assert_uint_eq(t->arg_sizes[a], 8);
        ck_assert_uint_eq(t->arg_sizes[8], 4); /* the partial's index */
    }
    ck_assert_ptr_null(sh_twin_find("safehalf_saturate_f32"));
    const struct sh_twin *h2f = sh_twin_find("safehalf_scalars_h2f");
    ck_assert_uint_eq(h2f->nargs, 3);
    ck_assert_uint_eq(h2f->arg_sizes[0] + h2f->arg_sizes[1] + h2f->arg_sizes[2], 24);

    struct sh_scan_result r = fresh();
    ck_assert_uint_eq(r.pos_inf + r.neg_inf + r.nan, 0);
    ck_assert_uint_eq(r.first_bad, SH_SCAN_NONE);
    ck_assert_uint_eq(r.absmax_bits, 0);
    ck_assert_uint_eq(r.done + r.blocks + r.generation, 0);

    /* the init kernel's twin, through a translated pointer */
    const struct sh_twin *init = sh_twin_find("safehalf_scan_init");
    ck_assert_ptr_nonnull(init);
    ck_assert_uint_eq(init->nargs, 1);
    ck_assert_uint_eq(init->arg_sizes[0], 8);
    memset(&r, 0x5c, sizeof r);
    void *d = dev(&r);
    void *params[] = { &d };
    init->launch(params, tagged);
    ck_assert_uint_eq(r.first_bad, SH_SCAN_NONE);
    ck_assert_uint_eq(r.pos_inf + r.neg_inf + r.nan + r.absmax_bits + r.done + r.blocks, 0);
    ck_assert_uint_eq(r.generation, 0x5c5c5c5cu + 1);
    init->launch(params, tagged);
    ck_assert_uint_eq(r.generation, 0x5c5c5c5cu + 2);
}
END_TEST

START_TEST(f16_counts)
{
    /* 4 x 3, dense: index = col * 4 + row */
    uint16_t m[12];
    for (int i = 0; i < 12; i++)
        m[i] = sh_float_to_half((float)(i - 6) * 0.5f); /* -3 .. 2.5 */
    m[5] = H_PINF;
    m[9] = H_NINF;
    m[10] = H_PINF;
    m[7] = H_NAN;
    m[11] = 0xfd01; /* a negative signalling NaN */
    struct sh_scan_result r = fresh();
    launch("safehalf_scan_f16", identity, m, NULL, 4, 3, 4, 12, 1, &r);
    assert_result(&r, 2, 1, 2, 5, 3.0f);

    /* through the _ref function, accumulating into the same result */
    m[2] = H_NINF;
    sh_ref_scan(SH_SCAN_F16, m, NULL, 4, 3, 4, 0, 1, &r);
    assert_result(&r, 4, 3, 4, 2, 3.0f);

    /* all finite: largest magnitude, subnormals exact */
    uint16_t s[3] = { 0x0001, 0x8003, 0x0002 };
    r = fresh();
    sh_ref_scan(SH_SCAN_F16, s, NULL, 3, 1, 3, 0, 1, &r);
    assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 3 * 5.9604644775390625e-08f);
    s[0] = H_MAX;
    s[1] = 0xfbff;
    r = fresh();
    sh_ref_scan(SH_SCAN_F16, s, NULL, 3, 1, 3, 0, 1, &r);
    assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 65504.0f);
}
END_TEST

START_TEST(bf16_and_f32_counts)
{
    uint16_t b[6] = { sh_float_to_bf16(-7.5f), B_NAN, sh_float_to_bf16(1e30f), B_NINF, B_PINF,
                      sh_float_to_bf16(-3e38f) };
    struct sh_scan_result r = fresh();
    launch("safehalf_scan_bf16", identity, b, NULL, 2, 3, 2, 0, 1, &r);
    assert_result(&r, 1, 1, 1, 1, sh_bf16_to_float(sh_float_to_bf16(3e38f)));

    float f[5] = { 1.0f, -1e38f, INFINITY, -INFINITY, NAN };
    r = fresh();
    launch("safehalf_scan_f32", identity, f, NULL, 5, 1, 5, 0, 1, &r);
    assert_result(&r, 1, 1, 1, 2, 1e38f);
    /* an FP32 value beyond the half range is finite */
    float g[2] = { 70000.0f, -3.0e38f };
    r = fresh();
    sh_ref_scan(SH_SCAN_F32, g, NULL, 2, 1, 2, 0, 1, &r);
    assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 3.0e38f);
}
END_TEST

START_TEST(padding_is_not_scanned)
{
    /* 3 x 4 with ld 5: rows 3 and 4 of every column are padding holding Inf/NaN */
    uint16_t m[20];
    for (int i = 0; i < 20; i++)
        m[i] = (i % 5) < 3 ? sh_float_to_half((float)i) : (i & 1 ? H_PINF : H_NAN);
    struct sh_scan_result r = fresh();
    launch("safehalf_scan_f16", identity, m, NULL, 3, 4, 5, 0, 1, &r);
    assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 17.0f);

    /* a bad value at (row 2, col 2): logical index 2 * 3 + 2 = 8, not 12 */
    m[2 * 5 + 2] = H_NINF;
    r = fresh();
    launch("safehalf_scan_f16", identity, m, NULL, 3, 4, 5, 0, 1, &r);
    assert_result(&r, 0, 1, 0, 8, 17.0f);

    /* saturation leaves the padding alone */
    uint16_t before[20];
    memcpy(before, m, sizeof m);
    launch("safehalf_saturate_f16", identity, m, NULL, 3, 4, 5, 0, 1, NULL);
    for (int i = 0; i < 20; i++)
        ck_assert_uint_eq(m[i], i == 12 ? 0xfbffu : before[i]);
}
END_TEST

START_TEST(strided_batches)
{
    /* 3 matrices of 2 x 2, ld 3, stride 8: gaps between matrices hold NaN */
    float m[24];
    for (int i = 0; i < 24; i++)
        m[i] = NAN;
    for (int b = 0; b < 3; b++)
        for (int c = 0; c < 2; c++)
            for (int r = 0; r < 2; r++)
                m[b * 8 + c * 3 + r] = (float)(b * 10 + c * 2 + r);
    struct sh_scan_result r = fresh();
    launch("safehalf_scan_f32", identity, m, NULL, 2, 2, 3, 8, 3, &r);
    assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 23.0f);

    m[2 * 8 + 1 * 3 + 0] = INFINITY; /* b 2, col 1, row 0: 2*4 + 1*2 + 0 = 10 */
    m[1 * 8 + 1 * 3 + 1] = -INFINITY; /* b 1, col 1, row 1: 4 + 2 + 1 = 7 */
    r = fresh();
    launch("safehalf_scan_f32", identity, m, NULL, 2, 2, 3, 8, 3, &r);
    assert_result(&r, 1, 1, 0, 7, 23.0f);

    /* through translated device addresses: base and out are translated */
    r = fresh();
    xlate_calls = 0;
    launch("safehalf_scan_f32", tagged, dev(m), NULL, 2, 2, 3, 8, 3, dev(&r));
    assert_result(&r, 1, 1, 0, 7, 23.0f);
    ck_assert_int_ge(xlate_calls, 2);
}
END_TEST

START_TEST(pointer_arrays)
{
    /* three 2 x 3 FP16 matrices (ld 2) in separate places, listed out of order */
    uint16_t a[6], b[6], c[8];
    for (int i = 0; i < 6; i++) {
        a[i] = sh_float_to_half(1.0f + i);
        b[i] = sh_float_to_half(-10.0f - i);
    }
    for (int i = 0; i < 8; i++)
        c[i] = sh_float_to_half(0.25f);
    b[4] = H_NAN; /* matrix 1: index 6 + 4 = 10 */
    c[1 + 1] = H_PINF; /* matrix 2 starts at c + 1 (unaligned): elem 1 -> index 12 + 1 */
    const void *host[3] = { a, b, c + 1 };
    struct sh_scan_result r = fresh();
    launch("safehalf_scan_f16", identity, NULL, host, 2, 3, 2, 0, 3, &r);
    assert_result(&r, 1, 0, 1, 10, 15.0f);

    /* device addresses: the array and every pointer in it are translated;
     * base is ignored (even a garbage one is not touched) */
    const void *devs[3] = { dev(a), dev(b), dev(c + 1) };
    r = fresh();
    xlate_calls = 0;
    launch("safehalf_scan_f16", tagged, (const void *)0x10, dev(devs), 2, 3, 2, 0, 3, dev(&r));
    assert_result(&r, 1, 0, 1, 10, 15.0f);
    ck_assert_int_eq(xlate_calls, 1 + 3 + 1);

    /* saturate through the array, recording what was there */
    r = fresh();
    launch("safehalf_saturate_f16", tagged, NULL, dev(devs), 2, 3, 2, 0, 3, dev(&r));
    assert_result(&r, 1, 0, 1, 10, 15.0f);
    ck_assert_uint_eq(c[2], H_MAX);
    ck_assert_uint_eq(b[4], H_NAN);
    ck_assert_uint_eq(c[0], sh_float_to_half(0.25f));
}
END_TEST

START_TEST(empty)
{
    static const u64 shapes[][3] = { { 0, 5, 1 }, { 5, 0, 1 }, { 5, 5, 0 }, { 0, 0, 0 } };
    for (size_t i = 0; i < 4; i++) {
        struct sh_scan_result r = fresh();
        xlate_calls = 0;
        /* garbage base and array: nothing may be read, only out translated */
        launch("safehalf_scan_bf16", tagged, (const void *)0x10, NULL, shapes[i][0], shapes[i][1],
               7, 7, shapes[i][2], dev(&r));
        assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 0.0f);
        ck_assert_int_eq(xlate_calls, 1);
        r = fresh();
        launch("safehalf_saturate_f16", tagged, NULL, (const void *)0x10, shapes[i][0],
               shapes[i][1], 7, 7, shapes[i][2], dev(&r));
        assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 0.0f);
        r = fresh();
        ck_assert_int_eq(sh_sim_scan(SH_SCAN_F16, 0, NULL, NULL, shapes[i][0], shapes[i][1], 7,
                                     7, shapes[i][2], 256, &r), 0);
        assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 0.0f);
    }
}
END_TEST

START_TEST(einsum_overflow)
{
    /* an einsum/bmm summing 16,224 values of 16.7: FP32 accumulation gives
     * 270,940.8, which an FP16 output cannot hold */
    float acc = 0;
    for (int k = 0; k < 16224; k++)
        acc += 16.7f;
    ck_assert(acc > 65504.0f);
    enum { M = 64, N = 48, LD = 72 };
    uint16_t *c = calloc((size_t)LD * N, sizeof *c);
    ck_assert_ptr_nonnull(c);
    for (int j = 0; j < N; j++)
        for (int i = 0; i < M; i++)
            c[j * LD + i] = sh_float_to_half(acc / 16224.0f * (float)(i + j));
    c[33 * LD + 17] = sh_float_to_half(acc);
    ck_assert_uint_eq(c[33 * LD + 17], H_PINF);
    c[40 * LD + 3] = sh_float_to_half(-acc);
    struct sh_scan_result r = fresh(), s = fresh();
    launch("safehalf_scan_f16", identity, c, NULL, M, N, LD, 0, 1, &r);
    float biggest = sh_round_half(acc / 16224.0f * (float)(M - 1 + N - 1));
    assert_result(&r, 1, 1, 0, 33 * M + 17, biggest);
    ck_assert_int_eq(sh_sim_scan(SH_SCAN_F16, 0, c, NULL, M, N, LD, 0, 1, 1000, &s), 0);
    ck_assert_mem_eq(&r, &s, sizeof r);

    /* saturate: +-65504, and a scan afterwards finds nothing */
    r = fresh();
    launch("safehalf_saturate_f16", identity, c, NULL, M, N, LD, 0, 1, &r);
    assert_result(&r, 1, 1, 0, 33 * M + 17, biggest);
    ck_assert_float_eq(sh_half_to_float(c[33 * LD + 17]), 65504.0f);
    ck_assert_float_eq(sh_half_to_float(c[40 * LD + 3]), -65504.0f);
    r = fresh();
    launch("safehalf_scan_f16", identity, c, NULL, M, N, LD, 0, 1, &r);
    assert_result(&r, 0, 0, 0, SH_SCAN_NONE, 65504.0f);
    free(c);
}
END_TEST

START_TEST(saturation)
{
    uint16_t h[8] = { H_PINF, H_NINF, H_NAN, H_MAX, 0xfbff, 0x7c01, 0x3c00, H_PINF };
    /* 7 x 1 with ld 8: h[7] is padding */
    struct sh_scan_result r = fresh();
    sh_ref_saturate(SH_SCAN_F16, h, NULL, 7, 1, 8, 0, 1, &r);
    assert_result(&r, 1, 1, 2, 0, 65504.0f);
    static const uint16_t want_h[8] = { H_MAX, 0xfbff, H_NAN, H_MAX, 0xfbff, 0x7c01, 0x3c00, H_PINF };
    ck_assert_mem_eq(h, want_h, sizeof h);

    uint16_t b[6] = { B_NINF, B_PINF, B_NAN, B_MAX, 0xff7f, B_PINF };
    launch("safehalf_saturate_bf16", identity, b, NULL, 5, 1, 5, 0, 1, NULL); /* no result */
    static const uint16_t want_b[6] = { 0xff7f, B_MAX, B_NAN, B_MAX, 0xff7f, B_PINF };
    ck_assert_mem_eq(b, want_b, sizeof b);
    ck_assert_float_eq(sh_bf16_to_float(b[1]), 3.38953139e38f);

    /* the kernel's code agrees, strided batches with a gap holding Inf */
    uint16_t x[2][10], y[2][10];
    for (int i = 0; i < 10; i++)
        x[0][i] = x[1][i] = i % 3 == 0 ? H_PINF : i % 3 == 1 ? H_NINF : H_NAN;
    memcpy(y, x, sizeof x);
    struct sh_scan_result rx = fresh(), ry = fresh();
    sh_ref_saturate(SH_SCAN_F16, x, NULL, 3, 2, 4, 10, 2, &rx);
    ck_assert_int_eq(sh_sim_scan(SH_SCAN_F16, 1, y, NULL, 3, 2, 4, 10, 2, 7, &ry), 0);
    ck_assert_mem_eq(x, y, sizeof x);
    ck_assert_mem_eq(&rx, &ry, sizeof rx);
    ck_assert_uint_eq(rx.pos_inf + rx.neg_inf + rx.nan, 12);
    ck_assert_uint_eq(x[0][3], H_PINF); /* padding: untouched */
    ck_assert_uint_eq(x[0][0], H_MAX);
    ck_assert_int_eq(sh_sim_scan(SH_SCAN_F32, 1, y, NULL, 1, 1, 1, 1, 1, 1, NULL), -1);
}
END_TEST

START_TEST(launch_dims)
{
    static const u64 sizes[] = { 0, 1, 2, 255, 256, 4095, 4096, 4097, 1u << 20, 2162688,
                                 2162689, 1ull << 31, 1ull << 40, ~0ull };
    unsigned prev = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned grid = 0, block = 0;
        sh_scan_launch_dims(sizes[i], &grid, &block);
        ck_assert_uint_eq(block, SH_SCAN_BLOCK);
        ck_assert_uint_eq(block % 32, 0);
        ck_assert_uint_ge(grid, 1);
        ck_assert_uint_le(grid, SH_SCAN_MAX_GRID);
        ck_assert_uint_ge(grid, prev);
        prev = grid;
        if (grid < SH_SCAN_MAX_GRID) /* enough threads for ~16 elements each */
            ck_assert_uint_ge((u64)grid * block * SH_SCAN_ELEMS_PER_THREAD, sizes[i]);
        else
            ck_assert_uint_ge(sizes[i], (u64)(grid - 1) * block * SH_SCAN_ELEMS_PER_THREAD);
    }
    unsigned g1, b1, g2, b2;
    sh_scan_launch_dims(1, &g1, &b1);
    ck_assert_uint_eq(g1, 1);
    sh_scan_launch_dims(1ull << 31, &g2, &b2);
    ck_assert_uint_eq(g2, SH_SCAN_MAX_GRID);
}
END_TEST

/* ---- the kernels' code against the twins on random layouts ----------------- */

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static u64 rnd_below(u64 n)
{
    return n ? rnd() % n : 0;
}

/* A random element: bad with probability about 1/bad_every (0: never). */
static void put_elem(enum sh_scan_type t, unsigned char *p, unsigned bad_every)
{
    uint32_t bits = (uint32_t)rnd();
    int bad = bad_every && rnd_below(bad_every) == 0;
    if (t == SH_SCAN_F32) {
        if (bad)
            bits |= 0x7f800000u;
        else if ((bits & 0x7f800000u) == 0x7f800000u)
            bits &= ~0x00800000u;
        if (bad && rnd_below(2))
            bits &= 0xff800000u; /* an Inf */
        memcpy(p, &bits, 4);
        return;
    }
    uint16_t h = (uint16_t)bits;
    uint16_t expo = t == SH_SCAN_F16 ? 0x7c00u : 0x7f80u;
    uint16_t low = t == SH_SCAN_F16 ? 0x0400u : 0x0080u;
    if (bad)
        h |= expo;
    else if ((h & expo) == expo)
        h &= (uint16_t)~low;
    if (bad && rnd_below(2))
        h &= (uint16_t)(0x8000u | expo);
    memcpy(p, &h, 2);
}

static void compare_once(enum sh_scan_type t, int saturate, u64 rows, u64 cols, u64 ld,
                         u64 stride, u64 batch, int ptrs, unsigned bad_every, u64 threads)
{
    size_t es = t == SH_SCAN_F32 ? 4 : 2;
    u64 mat_span = rows && cols ? (cols - 1) * ld + rows : 0; /* elements one matrix spans */
    /* strided: base at a random element offset in a 16-byte line; pointer
     * arrays: each matrix at its own random offset, in shuffled order */
    u64 *off = malloc((batch ? batch : 1) * sizeof *off);
    ck_assert_ptr_nonnull(off);
    u64 bytes;
    if (!ptrs) {
        off[0] = rnd_below(16 / es) * es;
        bytes = off[0] + ((batch ? batch - 1 : 0) * stride + mat_span) * es;
    } else {
        bytes = 0;
        for (u64 k = 0; k < batch; k++) {
            u64 b = batch - 1 - k; /* the last matrix first in memory */
            bytes += rnd_below(16 / es) * es + rnd_below(3) * 16;
            off[b] = bytes;
            bytes += mat_span * es;
        }
    }
    bytes += 16;
    unsigned char *x = malloc(bytes), *y = malloc(bytes);
    ck_assert(x && y);
    for (u64 i = 0; i + es <= bytes; i += es)
        put_elem(t, x + i, bad_every);
    memcpy(y, x, bytes);
    void **px = malloc((batch ? batch : 1) * sizeof *px), **py = malloc((batch ? batch : 1) * sizeof *py);
    ck_assert(px && py);
    for (u64 b = 0; ptrs && b < batch; b++) {
        px[b] = x + off[b];
        py[b] = y + off[b];
    }
    struct sh_scan_result rx = fresh(), ry = fresh();
    if (saturate)
        sh_ref_saturate(t, ptrs ? NULL : x + off[0], ptrs ? px : NULL, rows, cols, ld, stride,
                        batch, &rx);
    else
        sh_ref_scan(t, ptrs ? NULL : x + off[0], ptrs ? (const void *const *)px : NULL, rows,
                    cols, ld, stride, batch, &rx);
    ck_assert_int_eq(sh_sim_scan(t, saturate, ptrs ? NULL : y + off[0], ptrs ? py : NULL, rows,
                                 cols, ld, stride, batch, threads, &ry), 0);
    ck_assert_msg(memcmp(&rx, &ry, sizeof rx) == 0,
                  "type %d sat %d %llux%llu ld %llu stride %llu batch %llu ptrs %d threads %llu: "
                  "twin %llu/%llu/%llu first %llu amax %08x, kernel %llu/%llu/%llu first %llu amax %08x",
                  (int)t, saturate, rows, cols, ld, stride, batch, ptrs, threads, rx.pos_inf,
                  rx.neg_inf, rx.nan, rx.first_bad, rx.absmax_bits, ry.pos_inf, ry.neg_inf, ry.nan,
                  ry.first_bad, ry.absmax_bits);
    if (saturate)
        ck_assert_msg(memcmp(x, y, bytes) == 0, "saturated data differ");
    free(x);
    free(y);
    free(px);
    free(py);
    free(off);
}

START_TEST(kernel_code_matches_twins)
{
    static const unsigned bad_rates[] = { 0, 3, 50, 5000 };
    for (int iter = 0; iter < 3000; iter++) {
        enum sh_scan_type t = (enum sh_scan_type)rnd_below(3);
        int saturate = t != SH_SCAN_F32 && rnd_below(3) == 0;
        u64 rows = rnd_below(4) == 0 ? rnd_below(4) : 1 + rnd_below(70);
        u64 cols = rnd_below(5) == 0 ? rnd_below(3) : 1 + rnd_below(12);
        u64 ld = rows + (rnd_below(2) ? 0 : rnd_below(20));
        if (ld == 0)
            ld = 1;
        u64 batch = rnd_below(3) == 0 ? 1 : rnd_below(6);
        u64 span = rows && cols ? (cols - 1) * ld + rows : 0;
        u64 stride;
        switch (rnd_below(3)) {
        case 0: stride = rows * cols; break; /* dense: one run when ld == rows */
        case 1: stride = ld * cols; break;
        default: stride = span + rnd_below(40); break;
        }
        if (stride < span)
            stride = ld * cols;
        int ptrs = rnd_below(3) == 0;
        unsigned bad = bad_rates[rnd_below(4)];
        u64 threads = rnd_below(2) ? 1 + rnd_below(40) : 1 + rnd_below(700);
        compare_once(t, saturate, rows, cols, ld, stride, batch, ptrs, bad, threads);
    }
}
END_TEST

START_TEST(kernel_code_large)
{
    /* long runs, so the 4-loads-per-round loop runs many rounds */
    static const struct { u64 rows, cols, ld, stride, batch, threads; } shapes[] = {
        { 4096, 64, 4096, 4096 * 64, 2, 2048 },  /* one run */
        { 1000, 300, 1000, 300000, 1, 257 },     /* one run, not a multiple of 8 */
        { 1024, 128, 1032, 1032 * 128, 3, 4096 },/* columns, aligned */
        { 999, 100, 1003, 120000, 2, 1024 },     /* columns, unaligned */
        { 50000, 1, 1, 50011, 5, 3000 },         /* matrices one run each */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 0; t < 3; t++)
            for (int sat = 0; sat < (t == SH_SCAN_F32 ? 1 : 2); sat++)
                for (int ptrs = 0; ptrs < 2; ptrs++)
                    compare_once((enum sh_scan_type)t, sat, shapes[i].rows, shapes[i].cols,
                                 shapes[i].ld, shapes[i].stride, shapes[i].batch, ptrs,
                                 i % 2 ? 100000 : 0, shapes[i].threads);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scan");
    TCase *t = tcase_create("scan");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, table_and_init);
    tcase_add_test(t, f16_counts);
    tcase_add_test(t, bf16_and_f32_counts);
    tcase_add_test(t, padding_is_not_scanned);
    tcase_add_test(t, strided_batches);
    tcase_add_test(t, pointer_arrays);
    tcase_add_test(t, empty);
    tcase_add_test(t, einsum_overflow);
    tcase_add_test(t, saturation);
    tcase_add_test(t, launch_dims);
    tcase_add_test(t, kernel_code_matches_twins);
    tcase_add_test(t, kernel_code_large);
    suite_add_tcase(s, t);
    return sh_run_suite(s);
}
