/* The scan kernels' device code simulated on the CPU (scan_sim.cpp): for
 * tests only, on host memory. */
#ifndef SAFEHALF_SCAN_SIM_H
#define SAFEHALF_SCAN_SIM_H

#include "scan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What safehalf_scan_<type> (saturate = 0) or safehalf_saturate_<type>
 * (saturate = 1) does when launched with `threads` threads in all (grid x
 * block), on host pointers. Returns -1 for a kernel that does not exist
 * (FP32 saturation), else 0. */
int sh_sim_scan(enum sh_scan_type type, int saturate, void *base, void *const *ptr_array,
                unsigned long long rows, unsigned long long cols, unsigned long long ld,
                unsigned long long stride, unsigned long long batch, unsigned long long threads,
                struct sh_scan_result *out);

#ifdef __cplusplus
}
#endif

#endif
