/* Is this call risky, and what does the policy turn it into?
 * Compute and data types are the cuBLAS/CUDA enum values, restated here so
 * policy/ needs no CUDA header; shim/ asserts they match the official ones. */
#ifndef SAFEHALF_DECIDE_H
#define SAFEHALF_DECIDE_H

#include <stdbool.h>

#include "policy.h"

enum {
    SH_R_32F = 0,  /* CUDA_R_32F, also the legacy computeType value */
    SH_R_16F = 2,  /* CUDA_R_16F, also the legacy computeType value */
    SH_R_16BF = 14,
    SH_COMPUTE_16F = 64,
    SH_COMPUTE_16F_PEDANTIC = 65,
    SH_COMPUTE_32F = 68,
    SH_COMPUTE_32F_PEDANTIC = 69,
    SH_COMPUTE_32F_FAST_16F = 74,
};

enum sh_action {
    SH_ACT_PASS,     /* not risky, or its family is not in SAFEHALF_UPCAST */
    SH_ACT_UPCAST,   /* rewritten */
    SH_ACT_OBSERVE,  /* risky, left alone: SAFEHALF_MODE=observe */
    SH_ACT_MIN_K,    /* risky, left alone: k < SAFEHALF_MIN_K */
    SH_ACT_FALLBACK, /* rewrite impossible here (e.g. no driver): passed through */
};

struct sh_gemm_decision {
    enum sh_action action;
    int compute_used;   /* compute type handed to the library */
    bool half_scalars;  /* alpha/beta are half in the call as made */
    bool risky;
};

/* A GEMM with the given compute type (for cublasHgemm*: hgemm = true and
 * compute ignored). */
struct sh_gemm_decision sh_decide_gemm(const struct sh_policy *p, bool hgemm,
                                       int compute, long long k);

/* A cuBLAS reduction (cublasDotEx, cublasNrm2Ex, cublasAxpyEx) with the
 * given execution type (a CUDA data type, SH_R_* values). FP16 execution
 * rounds every product and partial sum to FP16 (4096 ones sum to 2048);
 * the upcast executes in FP32 instead, types of x, y and the result
 * unchanged. SAFEHALF_MIN_K is about GEMMs and does not apply. */
struct sh_reduce_decision {
    enum sh_action action;
    int exec_used; /* execution type handed to the library */
    bool risky;
};
struct sh_reduce_decision sh_decide_reduction(const struct sh_policy *p, int exec);

/* Whether a call is a half-precision one, worth a call site (sites.h): a
 * 16-bit output type ctype, a 16-bit accumulation (compute: a GEMM's
 * COMPUTE_16F*, a legacy CUDA_R_16F, a reduction's 16-bit execution type),
 * or a call the policy acted on or would have (action not PASS). */
bool sh_decide_tracked(int ctype, int compute, enum sh_action action);

/* Math mode to hand cuBLAS when the program asks for `mode`. */
int sh_decide_math_mode(const struct sh_policy *p, int mode);

/* Whether to scan the output of a call whose output (C/D) has data type
 * ctype (SH_R_* values), given that it is the nth checkable call of the
 * process (nth counts from 0, every call with an FP16/BF16 output). */
bool sh_decide_check(const struct sh_policy *p, int ctype, unsigned long long nth);

#define SH_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION 16

const char *sh_action_name(enum sh_action a);

#endif
