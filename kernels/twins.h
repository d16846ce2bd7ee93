/* Host reference twins of the kernels in kernels/ *.cu.
 *
 * Each kernel has a plain C function with the same semantics (the *_ref
 * functions, on host memory) and a launcher entry with the cuLaunchKernel
 * calling convention, so an emulated driver can run "the kernel named X" on
 * the host: it passes the kernelParams array it was given and a translator
 * from device addresses to host addresses. */
#ifndef SAFEHALF_TWINS_H
#define SAFEHALF_TWINS_H

#include <stdint.h>

#include "scan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void *(*sh_xlate_fn)(const void *devptr);

#define SH_TWIN_MAX_ARGS 12

struct sh_twin {
    const char *name;   /* the kernel's extern "C" name in the fatbin */
    void (*launch)(void **params, sh_xlate_fn xlate);
    /* The kernel's parameters, in order: how many and each one's size in
     * bytes (as kernelParams[i] points at), so a launch captured into a
     * graph can keep copies of the values. */
    unsigned nargs;
    unsigned short arg_sizes[SH_TWIN_MAX_ARGS];
};

/* NULL when no kernel of that name exists. */
const struct sh_twin *sh_twin_find(const char *name);

/* safehalf_scalars_h2f: out[0] = float(*alpha), out[1] = float(*beta). */
void sh_ref_scalars_h2f(const uint16_t *alpha, const uint16_t *beta, float *out);

/* Inf/NaN scan and Inf saturation (scan.cu; layout and result in scan.h).
 * Kernels, all with 9 parameters:
 *   safehalf_scan_{f16,bf16,f32}(const void *base, const void *const *ptr_array,
 *       unsigned long long rows, cols, ld, stride, batch, struct sh_scan_result *out,
 *       unsigned int partial)
 *   safehalf_saturate_{f16,bf16}(void *base, void *const *ptr_array,
 *       unsigned long long rows, cols, ld, stride, batch,
 *       struct sh_scan_result *out,    out may be NULL: saturate only
 *       unsigned int partial)
 * The partial (scan.h) changes how the kernels gather, not what they leave:
 * the twins have no use for it.
 * and safehalf_scan_init(struct sh_scan_result *out): sh_scan_result_init
 * except that the generation goes up by one (scan.h).
 *
 * The twins leave *out exactly as the kernels do once done is set: counts
 * added, first_bad and absmax_bits the min and max of the old and new ones,
 * blocks 0, done 1; whatever grid the kernel was launched with. Saturation
 * turns +-Inf into +-65504 (FP16) or +-0x7F7F (BF16), leaves NaN and every
 * padding element alone, and, with out, records what it saw before; for
 * SH_SCAN_F32 sh_ref_saturate only scans (no FP32 saturating kernel). */
void sh_ref_scan(enum sh_scan_type type, const void *base, const void *const *ptr_array,
                 unsigned long long rows, unsigned long long cols, unsigned long long ld,
                 unsigned long long stride, unsigned long long batch, struct sh_scan_result *out);
void sh_ref_saturate(enum sh_scan_type type, void *base, void *const *ptr_array,
                     unsigned long long rows, unsigned long long cols, unsigned long long ld,
                     unsigned long long stride, unsigned long long batch,
                     struct sh_scan_result *out);
void sh_ref_scan_init(struct sh_scan_result *out);

/* Launch entries of those kernels (the twins table's; scan.c). */
void sh_launch_scan_f16(void **params, sh_xlate_fn xlate);
void sh_launch_scan_bf16(void **params, sh_xlate_fn xlate);
void sh_launch_scan_f32(void **params, sh_xlate_fn xlate);
void sh_launch_saturate_f16(void **params, sh_xlate_fn xlate);
void sh_launch_saturate_bf16(void **params, sh_xlate_fn xlate);
void sh_launch_scan_init(void **params, sh_xlate_fn xlate);

#ifdef __cplusplus
}
#endif

#endif
