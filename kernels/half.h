/* IEEE binary16 / bfloat16 <-> binary32 on the host, bit-exact with the CUDA
 * intrinsics (__half2float is exact; __float2half_rn rounds to nearest even).
 * Shared by the shim, the kernels' host twins and the emulated backend, so
 * every layer rounds the same way. */
#ifndef SAFEHALF_HALF_H
#define SAFEHALF_HALF_H

#include <stdint.h>
#include <string.h>

/* Same size and alignment as CUDA's __half, which C cannot name. */
typedef struct sh_half { uint16_t bits; } sh_half;

static inline float sh_bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t sh_float_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float sh_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f)
        return sh_bits_to_float(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return sh_bits_to_float(sign);
        /* subnormal: value = man * 2^-24, exact in binary32 */
        float v = (float)man * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    return sh_bits_to_float(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t sh_float_to_half(float f)
{
    uint32_t u = sh_float_to_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN: keep it quiet and non-zero */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) /* rounds to >= 65520: overflow to Inf */
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* normal half */
        uint32_t mant = a & 0x7fffffu;
        uint32_t exp = (a >> 23) - 112u;
        uint32_t h = (exp << 10) | (mant >> 13);
        uint32_t rest = mant & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    if (a < 0x33000000u) /* below half the smallest subnormal */
        return sign;
    /* subnormal half: shift the full significand, round to nearest even */
    uint32_t e = a >> 23;
    uint32_t mant = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14..24 */
    uint32_t h = mant >> shift;
    uint32_t rest = mant & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (h & 1u)))
        h++;
    return (uint16_t)(sign | h);
}

/* Round a float to the nearest half and back: one FP16 rounding step. */
static inline float sh_round_half(float f)
{
    return sh_half_to_float(sh_float_to_half(f));
}

static inline float sh_bf16_to_float(uint16_t b)
{
    return sh_bits_to_float((uint32_t)b << 16);
}

static inline uint16_t sh_float_to_bf16(float f)
{
    uint32_t u = sh_float_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

#endif
