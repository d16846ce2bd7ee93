#include "twins.h"

#include <string.h>

#include "half.h"

void sh_ref_scalars_h2f(const uint16_t *alpha, const uint16_t *beta, float *out)
{
    out[0] = sh_half_to_float(*alpha);
    out[1] = sh_half_to_float(*beta);
}

/* Each kernel parameter arrives as a pointer to the argument's value, as
 * cuLaunchKernel's kernelParams does; pointers in them are device addresses. */
static void *dev_arg(void **params, int i, sh_xlate_fn xlate)
{
    void *dev;
    memcpy(&dev, params[i], sizeof dev);
    return xlate(dev);
}

static void launch_scalars_h2f(void **params, sh_xlate_fn xlate)
{
    sh_ref_scalars_h2f(dev_arg(params, 0, xlate), dev_arg(params, 1, xlate),
                       dev_arg(params, 2, xlate));
}

#define P8 sizeof(void *)
#define U8 sizeof(unsigned long long)
#define U4 sizeof(unsigned int)
#define SCAN_ARGS 9, { P8, P8, U8, U8, U8, U8, U8, P8, U4 }

static const struct sh_twin twins[] = {
    { "safehalf_scalars_h2f", launch_scalars_h2f, 3, { P8, P8, P8 } },
    { "safehalf_scan_f16", sh_launch_scan_f16, SCAN_ARGS },
    { "safehalf_scan_bf16", sh_launch_scan_bf16, SCAN_ARGS },
    { "safehalf_scan_f32", sh_launch_scan_f32, SCAN_ARGS },
    { "safehalf_saturate_f16", sh_launch_saturate_f16, SCAN_ARGS },
    { "safehalf_saturate_bf16", sh_launch_saturate_bf16, SCAN_ARGS },
    { "safehalf_scan_init", sh_launch_scan_init, 1, { P8 } },
};

const struct sh_twin *sh_twin_find(const char *name)
{
    for (size_t i = 0; i < sizeof twins / sizeof twins[0]; i++)
        if (strcmp(twins[i].name, name) == 0)
            return &twins[i];
    return NULL;
}
