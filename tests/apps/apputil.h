/* Small helpers shared by the test applications: IEEE half conversion, a
 * deterministic random generator, and the C prototypes of the cuBLAS Hgemm
 * family (cublas_api.h declares those only for C++, with __half).
 *
 * The applications are meant to look like ordinary cuBLAS user code: they
 * know nothing of safehalf. */
#ifndef SAFEHALF_TEST_APPUTIL_H
#define SAFEHALF_TEST_APPUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cublas_v2.h>

/* Same size/alignment as CUDA's __half. */
typedef struct { unsigned short x; } half_t;

static inline float app_u32_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t app_float_to_u32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float app_half_to_float(half_t h)
{
    uint32_t sign = (uint32_t)(h.x & 0x8000u) << 16;
    uint32_t e = (h.x >> 10) & 0x1fu;
    uint32_t m = h.x & 0x3ffu;
    if (e == 0x1fu)
        return app_u32_to_float(sign | 0x7f800000u | (m << 13));
    if (e == 0) {
        float v = (float)m * (1.0f / 16777216.0f); /* m * 2^-24 */
        return sign ? -v : v;
    }
    return app_u32_to_float(sign | ((e + 112u) << 23) | (m << 13));
}

/* Round to nearest even. */
/* First, smallest and largest value of n >= 1 halves (the C a program
 * copied back), as floats. */
static inline void app_half_range(const half_t *h, size_t n, float *first, float *min,
                                  float *max)
{
    *first = *min = *max = app_half_to_float(h[0]);
    for (size_t i = 1; i < n; i++) {
        float v = app_half_to_float(h[i]);
        if (v < *min)
            *min = v;
        if (v > *max)
            *max = v;
    }
}

static inline half_t app_float_to_half(float f)
{
    uint32_t u = app_float_to_u32(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    half_t h;
    if (a > 0x7f800000u) { /* NaN */
        h.x = (unsigned short)(sign | 0x7e00u);
        return h;
    }
    if (a >= 0x477ff000u) { /* >= 65520 rounds to Inf */
        h.x = (unsigned short)(sign | 0x7c00u);
        return h;
    }
    if (a >= 0x38800000u) { /* normal */
        uint32_t mant = a & 0x7fffffu;
        uint32_t r = (((a >> 23) - 112u) << 10) | (mant >> 13);
        uint32_t rest = mant & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (r & 1u)))
            r++;
        h.x = (unsigned short)(sign | r);
        return h;
    }
    if (a < 0x33000000u) { /* below half the smallest subnormal: zero */
        h.x = (unsigned short)sign;
        return h;
    }
    {   /* subnormal: value / 2^-24, rounded to nearest even */
        uint32_t e = a >> 23;
        uint32_t mant = (a & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - e; /* 14..24 */
        uint32_t r = mant >> shift;
        uint32_t rest = mant & ((1u << shift) - 1u);
        uint32_t halfway = 1u << (shift - 1u);
        if (rest > halfway || (rest == halfway && (r & 1u)))
            r++;
        h.x = (unsigned short)(sign | r);
        return h;
    }
}

/* bfloat16: round to nearest even; a NaN stays a quiet NaN. */
static inline unsigned short app_float_to_bf16(float f)
{
    uint32_t u = app_float_to_u32(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (unsigned short)((u >> 16) | 0x40u);
    return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float app_bf16_to_float(unsigned short b)
{
    return app_u32_to_float((uint32_t)b << 16);
}

/* Elements of an array of CUDA_R_32F, CUDA_R_16F or CUDA_R_16BF (any
 * other type is taken for bfloat16), read and written as floats. */
static inline size_t app_type_size(cudaDataType t)
{
    return t == CUDA_R_32F ? 4 : 2;
}

static inline void app_put(void *p, cudaDataType t, size_t i, float v)
{
    if (t == CUDA_R_32F)
        ((float *)p)[i] = v;
    else if (t == CUDA_R_16F)
        ((half_t *)p)[i] = app_float_to_half(v);
    else
        ((unsigned short *)p)[i] = app_float_to_bf16(v);
}

static inline float app_get(const void *p, cudaDataType t, size_t i)
{
    if (t == CUDA_R_32F)
        return ((const float *)p)[i];
    if (t == CUDA_R_16F)
        return app_half_to_float(((const half_t *)p)[i]);
    return app_bf16_to_float(((const unsigned short *)p)[i]);
}

/* xorshift64*: deterministic across platforms. */
typedef struct { uint64_t s; } app_rng;

static inline double app_rng_unit(app_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    uint64_t v = r->s * 2685821657736338717ull;
    return (double)(v >> 11) * (1.0 / 9007199254740992.0); /* [0,1) */
}

/* Uniform in [-1, 1]. */
static inline double app_rng_sym(app_rng *r)
{
    return 2.0 * app_rng_unit(r) - 1.0;
}

/* The Hgemm family, as exported by libcublas.so (C++-only in the headers). */
cublasStatus_t cublasHgemm(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, int k,
                           const half_t *alpha, const half_t *A, int lda,
                           const half_t *B, int ldb, const half_t *beta,
                           half_t *C, int ldc);
cublasStatus_t cublasHgemm_64(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int64_t m, int64_t n,
                              int64_t k, const half_t *alpha, const half_t *A,
                              int64_t lda, const half_t *B, int64_t ldb,
                              const half_t *beta, half_t *C, int64_t ldc);
cublasStatus_t cublasHgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
                                  cublasOperation_t transb, int m, int n, int k,
                                  const half_t *alpha,
                                  const half_t *const Aarray[], int lda,
                                  const half_t *const Barray[], int ldb,
                                  const half_t *beta, half_t *const Carray[],
                                  int ldc, int batchCount);
cublasStatus_t cublasHgemmBatched_64(cublasHandle_t handle,
                                     cublasOperation_t transa,
                                     cublasOperation_t transb, int64_t m,
                                     int64_t n, int64_t k, const half_t *alpha,
                                     const half_t *const Aarray[], int64_t lda,
                                     const half_t *const Barray[], int64_t ldb,
                                     const half_t *beta, half_t *const Carray[],
                                     int64_t ldc, int64_t batchCount);
cublasStatus_t cublasHgemmStridedBatched(cublasHandle_t handle,
                                         cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n,
                                         int k, const half_t *alpha,
                                         const half_t *A, int lda,
                                         long long int strideA, const half_t *B,
                                         int ldb, long long int strideB,
                                         const half_t *beta, half_t *C, int ldc,
                                         long long int strideC, int batchCount);
cublasStatus_t cublasHgemmStridedBatched_64(cublasHandle_t handle,
                                            cublasOperation_t transa,
                                            cublasOperation_t transb, int64_t m,
                                            int64_t n, int64_t k,
                                            const half_t *alpha, const half_t *A,
                                            int64_t lda, long long int strideA,
                                            const half_t *B, int64_t ldb,
                                            long long int strideB,
                                            const half_t *beta, half_t *C,
                                            int64_t ldc, long long int strideC,
                                            int64_t batchCount);

#endif
