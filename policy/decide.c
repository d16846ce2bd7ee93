#include "decide.h"

struct sh_gemm_decision sh_decide_gemm(const struct sh_policy *p, bool hgemm, int compute,
                                       long long k)
{
    struct sh_gemm_decision d = { SH_ACT_PASS, compute, false, false };
    unsigned family = 0;

    if (hgemm) {
        d.half_scalars = true;
        d.compute_used = SH_COMPUTE_16F;
        family = SH_UP_GEMM;
        compute = SH_COMPUTE_16F;
    } else {
        switch (compute) {
        case SH_COMPUTE_16F:
        case SH_COMPUTE_16F_PEDANTIC:
        /* A raw legacy CUDA_R_16F from a C caller means what the C++
         * overload would map it to: FP16 accumulation with half scalars. */
        case SH_R_16F:
            d.half_scalars = true;
            family = SH_UP_GEMM;
            break;
        case SH_COMPUTE_32F_FAST_16F:
            family = SH_UP_FAST16F;
            break;
        default:
            return d;
        }
    }
    d.risky = true;

    if (!(p->upcast & family) || p->mode == SH_MODE_OFF)
        return d;
    if (p->mode == SH_MODE_OBSERVE) {
        d.action = SH_ACT_OBSERVE;
        return d;
    }
    if (family == SH_UP_GEMM && k < p->min_k) {
        d.action = SH_ACT_MIN_K;
        return d;
    }
    d.action = SH_ACT_UPCAST;
    d.compute_used = compute == SH_COMPUTE_16F_PEDANTIC ? SH_COMPUTE_32F_PEDANTIC : SH_COMPUTE_32F;
    return d;
}

struct sh_reduce_decision sh_decide_reduction(const struct sh_policy *p, int exec)
{
    struct sh_reduce_decision d = { SH_ACT_PASS, exec, exec == SH_R_16F };
    if (!d.risky || !(p->upcast & SH_UP_REDUCE) || p->mode == SH_MODE_OFF)
        return d;
    if (p->mode == SH_MODE_OBSERVE) {
        d.action = SH_ACT_OBSERVE;
        return d;
    }
    d.action = SH_ACT_UPCAST;
    d.exec_used = SH_R_32F;
    return d;
}

/* What every family shares once a call is known risky: off and observe
 * leave it alone, and only a family in SAFEHALF_UPCAST rewrites. */
static enum sh_action family_action(const struct sh_policy *p, unsigned family)
{
    if (!(p->upcast & family) || p->mode == SH_MODE_OFF)
        return SH_ACT_PASS;
    return p->mode == SH_MODE_OBSERVE ? SH_ACT_OBSERVE : SH_ACT_UPCAST;
}

struct sh_lt_decision sh_decide_lt_compute(const struct sh_policy *p, int compute, int scale)
{
    struct sh_lt_decision d = { SH_ACT_PASS, compute, scale, false, false };
    int to;
    switch (compute) {
    case SH_COMPUTE_16F: to = SH_COMPUTE_32F; break;
    case SH_COMPUTE_16F_PEDANTIC: to = SH_COMPUTE_32F_PEDANTIC; break;
    case SH_COMPUTE_32F_FAST_16F: to = SH_COMPUTE_32F; break;
    default: return d;
    }
    d.risky = true;
    d.half_scalars = scale == SH_R_16F;
    d.action = family_action(p, SH_UP_LT);
    if (d.action == SH_ACT_UPCAST) {
        d.compute_used = to;
        d.scale_used = SH_R_32F;
    }
    return d;
}

unsigned sh_decide_reduction_mask(const struct sh_policy *p, unsigned mask)
{
    if (family_action(p, SH_UP_SPLITK) != SH_ACT_UPCAST)
        return mask;
    return mask & ~(unsigned)(SH_LT_SCHEME_INPLACE | SH_LT_SCHEME_OUTPUT_TYPE);
}

bool sh_decide_lt_algo_risky(const struct sh_policy *p, int splitk, unsigned scheme, int dtype)
{
    if (splitk <= 1 || (dtype != SH_R_16F && dtype != SH_R_16BF))
        return false;
    return sh_decide_reduction_mask(p, scheme) != scheme;
}

struct sh_cudnn_decision sh_decide_cudnn_compute(const struct sh_policy *p, int compute)
{
    struct sh_cudnn_decision d = { SH_ACT_PASS, compute, compute == SH_DNN_HALF };
    if (!d.risky)
        return d;
    d.action = family_action(p, SH_UP_CUDNN);
    if (d.action == SH_ACT_UPCAST)
        d.compute_used = SH_DNN_FLOAT;
    return d;
}

bool sh_decide_tracked(int ctype, int compute, enum sh_action action)
{
    return ctype == SH_R_16F || ctype == SH_R_16BF || compute == SH_COMPUTE_16F ||
           compute == SH_COMPUTE_16F_PEDANTIC || compute == SH_R_16F || compute == SH_R_16BF ||
           action != SH_ACT_PASS;
}

int sh_decide_math_mode(const struct sh_policy *p, int mode)
{
    if (p->mode == SH_MODE_UPCAST && (p->upcast & SH_UP_SPLITK))
        return mode | SH_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
    return mode;
}

bool sh_decide_check(const struct sh_policy *p, int ctype, unsigned long long nth)
{
    if (p->mode == SH_MODE_OFF || p->check == SH_CHECK_OFF)
        return false;
    /* Only half outputs can overflow where FP32 would not. */
    if (ctype != SH_R_16F && ctype != SH_R_16BF)
        return false;
    /* <= 1 also covers a hand-built policy left at 0: no division by zero. */
    if (p->check != SH_CHECK_EVERY || p->check_every <= 1)
        return true;
    return nth % (unsigned long long)p->check_every == 0;
}

const char *sh_action_name(enum sh_action a)
{
    static const char *const names[] = { "pass", "upcast", "observe", "min_k", "fallback" };
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
