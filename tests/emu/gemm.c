/* The numeric core of the emulated cuBLAS.
 *
 * It reproduces the roundings that decide results on a GPU, not its speed:
 * - FP16 accumulation rounds every product and every sum to FP16, so 4096
 *   products of 1.0 sum to 2048 (2048 + 1 rounds back to 2048). A float op
 *   on two halves rounded once to half is the correctly rounded half op,
 *   because float has at least 2 * 11 + 2 significand bits.
 * - FP32 accumulation sums sequentially in float (built with
 *   -ffp-contract=off, so no fused multiply-add changes the roundings).
 * - Reduced-precision split-K, as cuBLAS does for large k with a 16-bit
 *   output: 4 chunks accumulated in float, each partial rounded to the
 *   output type, partials summed in the output type. */
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "elem.h"
#include "half.h"

/* TF32 keeps 10 explicit significand bits; rounding to nearest, ties away
 * from zero, as cvt.rna.tf32.f32 does. */
static float round_tf32(float v)
{
    uint32_t u = sh_float_to_bits(v);
    if ((u & 0x7f800000u) == 0x7f800000u)
        return v;
    u = (u + 0x1000u) & ~0x1fffu;
    return sh_bits_to_float(u);
}

static float down(enum emu_down d, float v)
{
    switch (d) {
    case EMU_DOWN_16F: return sh_round_half(v);
    case EMU_DOWN_16BF: return emu_round_to(CUDA_R_16BF, v);
    case EMU_DOWN_TF32: return round_tf32(v);
    default: return v;
    }
}

/* Copies op(X) as `rows` contiguous rows of k floats. Element (r, p) is
 * X[r + p * ld] when X stores those rows down its columns, else X[p + r * ld]. */
static float *pack(const void *X, cudaDataType t, int rows_down_columns, int64_t rows,
                   int64_t k, int64_t ld, enum emu_down d)
{
    float *out = malloc((size_t)rows * (size_t)k * sizeof *out);
    if (!out)
        return NULL;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t p = 0; p < k; p++)
            out[r * k + p] = down(d, emu_load(X, t, rows_down_columns ? r + p * ld : p + r * ld));
    return out;
}

static float dot16(const float *a, const float *b, int64_t k)
{
    float acc = 0.0f;
    for (int64_t p = 0; p < k; p++)
        acc = sh_round_half(acc + sh_round_half(a[p] * b[p]));
    return acc;
}

static float dot32(const float *a, const float *b, int64_t k)
{
    float acc = 0.0f;
    for (int64_t p = 0; p < k; p++)
        acc += a[p] * b[p];
    return acc;
}

/* Chunk sizes differ by at most one, the longer ones first. */
static float dot_split(const float *a, const float *b, int64_t k, cudaDataType c_type)
{
    float sum = 0.0f;
    int64_t start = 0;
    for (int c = 0; c < 4; c++) {
        int64_t len = k / 4 + (c < k % 4);
        float part = emu_round_to(c_type, dot32(a + start, b + start, len));
        sum = c == 0 ? part : emu_round_to(c_type, sum + part);
        start += len;
    }
    return sum;
}

void emu_gemm_compute(const struct emu_gemm *g, const void *A, const void *B, void *C)
{
    int use_ab = g->alpha != 0.0f && g->k > 0;
    float *ap = NULL, *bp = NULL;
    if (use_ab) {
        ap = pack(A, g->ab_type, !g->trans_a, g->m, g->k, g->lda, g->down);
        bp = pack(B, g->ab_type, g->trans_b, g->n, g->k, g->ldb, g->down);
        if (!ap || !bp)
            abort(); /* a test host that cannot hold the operands twice */
    }
    for (int64_t j = 0; j < g->n; j++) {
        for (int64_t i = 0; i < g->m; i++) {
            int64_t ci = i + j * g->ldc;
            float acc = 0.0f, out;
            if (use_ab) {
                const float *a = ap + i * g->k, *b = bp + j * g->k;
                if (g->acc == EMU_ACC_16F)
                    acc = dot16(a, b, g->k);
                else if (g->split)
                    acc = dot_split(a, b, g->k, g->c_type);
                else
                    acc = dot32(a, b, g->k);
            }
            if (g->acc == EMU_ACC_16F) {
                out = sh_round_half(g->alpha * acc);
                if (g->beta != 0.0f)
                    out = sh_round_half(out + sh_round_half(g->beta * emu_load(C, g->c_type, ci)));
            } else {
                out = g->alpha * acc;
                if (g->beta != 0.0f)
                    out += g->beta * emu_load(C, g->c_type, ci);
            }
            emu_store(C, g->c_type, ci, out);
        }
    }
    free(ap);
    free(bp);
}
