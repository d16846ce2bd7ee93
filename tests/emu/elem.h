/* Elements of the 16-bit and FP32 matrices and vectors the emulated BLAS
 * libraries read and write (CUDA_R_16F, CUDA_R_16BF, CUDA_R_32F): each
 * library includes it, so they load, store and round alike. */
#ifndef SAFEHALF_EMU_ELEM_H
#define SAFEHALF_EMU_ELEM_H

#include <stddef.h>
#include <stdint.h>

#include <library_types.h>

#include "half.h"

static inline size_t emu_elem_size(cudaDataType t)
{
    return t == CUDA_R_32F ? 4 : 2;
}

static inline float emu_load(const void *p, cudaDataType t, int64_t i)
{
    switch (t) {
    case CUDA_R_16F: return sh_half_to_float(((const uint16_t *)p)[i]);
    case CUDA_R_16BF: return sh_bf16_to_float(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

static inline void emu_store(void *p, cudaDataType t, int64_t i, float v)
{
    switch (t) {
    case CUDA_R_16F: ((uint16_t *)p)[i] = sh_float_to_half(v); break;
    case CUDA_R_16BF: ((uint16_t *)p)[i] = sh_float_to_bf16(v); break;
    default: ((float *)p)[i] = v; break;
    }
}

/* v rounded to the type's precision, as a float. */
static inline float emu_round_to(cudaDataType t, float v)
{
    switch (t) {
    case CUDA_R_16F: return sh_round_half(v);
    case CUDA_R_16BF: return sh_bf16_to_float(sh_float_to_bf16(v));
    default: return v;
    }
}

#endif
