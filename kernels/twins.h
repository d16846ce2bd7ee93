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

typedef void *(*sh_xlate_fn)(const void *devptr);

struct sh_twin {
    const char *name;   /* the kernel's extern "C" name in the fatbin */
    void (*launch)(void **params, sh_xlate_fn xlate);
};

/* NULL when no kernel of that name exists. */
const struct sh_twin *sh_twin_find(const char *name);

/* safehalf_scalars_h2f: out[0] = float(*alpha), out[1] = float(*beta). */
void sh_ref_scalars_h2f(const uint16_t *alpha, const uint16_t *beta, float *out);

#endif
