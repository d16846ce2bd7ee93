/* Host twins of the scan and saturate kernels (scan.cu): element by element,
 * in logical order, classifying through the float value rather than the
 * kernels' bit tricks, so the two are independent implementations of the
 * same contract (scan.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "half.h"
#include "scan.h"
#include "twins.h"

typedef unsigned long long u64;

static void *identity(const void *p)
{
    return (void *)p;
}

static size_t elem_size(enum sh_scan_type t)
{
    return t == SH_SCAN_F32 ? 4 : 2;
}

static float to_float(enum sh_scan_type t, const unsigned char *p)
{
    if (t == SH_SCAN_F32) {
        float f;
        memcpy(&f, p, sizeof f);
        return f;
    }
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return t == SH_SCAN_F16 ? sh_half_to_float(h) : sh_bf16_to_float(h);
}

/* The largest finite value of the type, as its bits; the sign is added. */
static uint16_t max_finite_bits(enum sh_scan_type t)
{
    return t == SH_SCAN_F16 ? 0x7bffu /* 65504 */ : 0x7f7fu /* 3.3895e38 */;
}

struct totals {
    u64 pos_inf, neg_inf, nan, first_bad;
    float absmax;
};

/* One matrix; idx is the logical index of its element (0, 0). */
static void matrix(enum sh_scan_type t, int saturate, unsigned char *m, u64 rows, u64 cols, u64 ld,
                   u64 idx, struct totals *s)
{
    size_t es = elem_size(t);
    for (u64 c = 0; c < cols; c++) {
        for (u64 r = 0; r < rows; r++) {
            unsigned char *p = m + (c * ld + r) * es;
            float f = to_float(t, p);
            if (isnan(f) || isinf(f)) {
                if (idx + c * rows + r < s->first_bad)
                    s->first_bad = idx + c * rows + r;
            }
            if (isnan(f)) {
                s->nan++;
            } else if (isinf(f)) {
                if (f > 0)
                    s->pos_inf++;
                else
                    s->neg_inf++;
                if (saturate && t != SH_SCAN_F32) {
                    uint16_t h = (uint16_t)((f < 0 ? 0x8000u : 0u) | max_finite_bits(t));
                    memcpy(p, &h, sizeof h);
                }
            } else {
                float a = f < 0 ? -f : f;
                if (a > s->absmax)
                    s->absmax = a;
            }
        }
    }
}

/* Device pointers (base, the pointer array and every pointer in it, out) go
 * through xlate; an empty scan translates and reads nothing but out. */
static void scan_core(enum sh_scan_type t, int saturate, const void *base,
                      const void *const *ptr_array, u64 rows, u64 cols, u64 ld, u64 stride,
                      u64 batch, struct sh_scan_result *out_dev, sh_xlate_fn xlate)
{
    struct totals s = { 0, 0, 0, SH_SCAN_NONE, 0.0f };
    if (rows && cols && batch) {
        const unsigned char *ptrs = ptr_array ? xlate(ptr_array) : NULL;
        unsigned char *b0 = ptr_array ? NULL : xlate(base);
        for (u64 b = 0; b < batch; b++) {
            unsigned char *m;
            if (ptrs) {
                const void *dev;
                memcpy(&dev, ptrs + b * sizeof dev, sizeof dev);
                m = xlate(dev);
            } else {
                m = b0 + b * stride * elem_size(t);
            }
            matrix(t, saturate, m, rows, cols, ld, b * rows * cols, &s);
        }
    }
    struct sh_scan_result *out = out_dev ? xlate(out_dev) : NULL;
    if (!out)
        return;
    /* What the kernels' atomics add up to, once the last block is done. */
    out->pos_inf += s.pos_inf;
    out->neg_inf += s.neg_inf;
    out->nan += s.nan;
    if (s.first_bad < out->first_bad)
        out->first_bad = s.first_bad;
    uint32_t bits = sh_float_to_bits(s.absmax);
    if (bits > out->absmax_bits)
        out->absmax_bits = bits;
    out->blocks = 0;
    out->done = 1;
}

void sh_ref_scan(enum sh_scan_type type, const void *base, const void *const *ptr_array,
                 unsigned long long rows, unsigned long long cols, unsigned long long ld,
                 unsigned long long stride, unsigned long long batch, struct sh_scan_result *out)
{
    scan_core(type, 0, base, ptr_array, rows, cols, ld, stride, batch, out, identity);
}

void sh_ref_saturate(enum sh_scan_type type, void *base, void *const *ptr_array,
                     unsigned long long rows, unsigned long long cols, unsigned long long ld,
                     unsigned long long stride, unsigned long long batch,
                     struct sh_scan_result *out)
{
    scan_core(type, 1, base, (const void *const *)ptr_array, rows, cols, ld, stride, batch, out,
              identity);
}

void sh_ref_scan_init(struct sh_scan_result *out)
{
    unsigned int generation = out->generation;
    sh_scan_result_init(out);
    out->generation = generation + 1u;
}

/* ---- launch entries: kernelParams of the kernels in scan.cu ---------------- */

static const void *ptr_arg(void **params, int i)
{
    const void *p;
    memcpy(&p, params[i], sizeof p);
    return p;
}

static u64 u64_arg(void **params, int i)
{
    u64 v;
    memcpy(&v, params[i], sizeof v);
    return v;
}

static void launch(enum sh_scan_type t, int saturate, void **params, sh_xlate_fn xlate)
{
    scan_core(t, saturate, ptr_arg(params, 0), ptr_arg(params, 1), u64_arg(params, 2),
              u64_arg(params, 3), u64_arg(params, 4), u64_arg(params, 5), u64_arg(params, 6),
              (struct sh_scan_result *)ptr_arg(params, 7), xlate);
}

void sh_launch_scan_f16(void **params, sh_xlate_fn xlate)
{
    launch(SH_SCAN_F16, 0, params, xlate);
}

void sh_launch_scan_bf16(void **params, sh_xlate_fn xlate)
{
    launch(SH_SCAN_BF16, 0, params, xlate);
}

void sh_launch_scan_f32(void **params, sh_xlate_fn xlate)
{
    launch(SH_SCAN_F32, 0, params, xlate);
}

void sh_launch_saturate_f16(void **params, sh_xlate_fn xlate)
{
    launch(SH_SCAN_F16, 1, params, xlate);
}

void sh_launch_saturate_bf16(void **params, sh_xlate_fn xlate)
{
    launch(SH_SCAN_BF16, 1, params, xlate);
}

void sh_launch_scan_init(void **params, sh_xlate_fn xlate)
{
    sh_ref_scan_init(xlate(ptr_arg(params, 0)));
}
