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

/* The flags are ints: GCC returns a struct mixing ints and bools in
 * registers by way of the stack, which costs more than the decision. */
struct sh_gemm_decision {
    enum sh_action action;
    int compute_used;   /* compute type handed to the library */
    int half_scalars;   /* (bool) alpha/beta are half in the call as made */
    int risky;          /* (bool) */
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

/* cuBLASLt: a matmul descriptor's compute and scale types, as the program
 * creates it (cublasLtMatmulDescCreate/Init) or changes its compute type.
 * COMPUTE_16F (its scale type must be CUDA_R_16F) becomes COMPUTE_32F with
 * scale CUDA_R_32F, _PEDANTIC stays pedantic; 32F_FAST_16F (FP32 inputs
 * rounded to FP16, above 65504 they become Inf) becomes COMPUTE_32F. The
 * descriptor is rewritten before any k is known, so SAFEHALF_MIN_K does
 * not apply (family lt). */
struct sh_lt_decision {
    enum sh_action action;
    int compute_used, scale_used;
    bool half_scalars; /* alpha/beta are half in the calls the program makes */
    bool risky;
};
struct sh_lt_decision sh_decide_lt_compute(const struct sh_policy *p, int compute, int scale);

/* cuBLASLt reduction schemes (cublasLtReductionScheme_t): split-K partial
 * sums joined in place in D, in the compute type, or in the output type. */
enum {
    SH_LT_SCHEME_INPLACE = 1,
    SH_LT_SCHEME_COMPUTE_TYPE = 2,
    SH_LT_SCHEME_OUTPUT_TYPE = 4,
    SH_LT_SCHEME_MASK = 7,
};
/* The reduction scheme mask to store in a matmul preference when the
 * program asks for `mask` (new preferences: SH_LT_SCHEME_MASK): under the
 * splitk family, OUTPUT_TYPE and INPLACE (both reduce in D's type) are
 * taken out. */
unsigned sh_decide_reduction_mask(const struct sh_policy *p, unsigned mask);
/* Whether an algorithm (its split-K count and reduction scheme) writing D
 * of type dtype breaks the policy: a split-K reduction in a 16-bit D type
 * under the splitk family. */
bool sh_decide_lt_algo_risky(const struct sh_policy *p, int splitk, unsigned scheme, int dtype);

/* cuDNN data types the decisions use (cudnnDataType_t). */
enum { SH_DNN_FLOAT = 0, SH_DNN_HALF = 2, SH_DNN_BFLOAT16 = 9 };
/* A cuDNN compute type (convolution, reduction and op-tensor descriptors,
 * the graph API's COMP_TYPE and MATH_PREC attributes): CUDNN_DATA_HALF,
 * every multiply-add rounded to FP16, becomes CUDNN_DATA_FLOAT (family
 * cudnn). */
struct sh_cudnn_decision {
    enum sh_action action;
    int compute_used;
    bool risky;
};
struct sh_cudnn_decision sh_decide_cudnn_compute(const struct sh_policy *p, int compute);

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
