/* The numeric core of the emulated cuBLAS: one GEMM on host memory. */
#ifndef SAFEHALF_EMU_GEMM_H
#define SAFEHALF_EMU_GEMM_H

#include <stdint.h>

#include <library_types.h>

enum emu_acc {
    EMU_ACC_16F, /* every product and every partial sum rounded to FP16 */
    EMU_ACC_32F, /* FP32 products and sums */
};

/* How FP32 inputs are down-converted before an FP32-accumulated product. */
enum emu_down { EMU_DOWN_NONE, EMU_DOWN_16F, EMU_DOWN_16BF, EMU_DOWN_TF32 };

struct emu_gemm {
    int trans_a, trans_b;
    int64_t m, n, k, lda, ldb, ldc;
    cudaDataType ab_type, c_type;
    enum emu_acc acc;
    enum emu_down down;
    int split; /* reduced-precision split-K over 4 chunks (see gemm.c) */
    float alpha, beta;
};

/* C = alpha * op(A) * op(B) + beta * C, column-major; C is not read when
 * beta == 0, A and B are not read when alpha == 0 or k == 0. */
void emu_gemm_compute(const struct emu_gemm *g, const void *A, const void *B, void *C);

#endif
