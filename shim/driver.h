/* The CUDA driver, reached through dlopen("libcuda.so.1") so the shim links
 * nothing from CUDA, and the project's kernels, loaded from the fatbin
 * embedded in libsafehalf.so. */
#ifndef SAFEHALF_DRIVER_H
#define SAFEHALF_DRIVER_H

#include <stdbool.h>

/* Loads the driver entry points and the kernels. Cheap after the first
 * call; false (with one warning) when there is no usable driver. Call it
 * before any graph capture can start (cublasCreate is a good moment). */
bool sh_driver_ready(void);

/* Converts the half scalars *alpha and *beta (device memory) to floats in
 * shim-owned device memory, stream-ordered on `stream`, never synchronizing.
 * *out gets the device address of the two floats (alpha, beta). */
bool sh_driver_scalars_h2f(void *stream, const void *alpha, const void *beta, void **out);

void sh_driver_after_fork(void);

#endif
