/* The CUDA driver, reached through dlopen("libcuda.so.1") so the shim links
 * nothing from CUDA, and the project's kernels, loaded from the fatbin
 * embedded in libsafehalf.so. */
#ifndef SAFEHALF_DRIVER_H
#define SAFEHALF_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

/* Loads the driver entry points and the kernels. Cheap after the first
 * call; false (with one warning) when there is no usable driver. Call it
 * before any graph capture can start (cublasCreate is a good moment). */
bool sh_driver_ready(void);

/* Converts the half scalars *alpha and *beta (device memory) to floats in
 * shim-owned device memory, stream-ordered on `stream`, never synchronizing.
 * *out gets the device address of the two floats (alpha, beta). */
bool sh_driver_scalars_h2f(void *stream, const void *alpha, const void *beta, void **out);

/* The project's kernels (kernels/ *.cu), in the order driver.c loads them. */
enum sh_kernel {
    SH_K_SCALARS_H2F,
    SH_K_SCAN_F16,
    SH_K_SCAN_BF16,
    SH_K_SCAN_F32,
    SH_K_SATURATE_F16,
    SH_K_SATURATE_BF16,
    SH_K_SCAN_INIT,
    SH_NKERNELS
};

/* The warnings' common tail when the driver or the kernels are missing. */
#define SH_NO_DEVICE_WORK                                                          \
    "no Inf/NaN checks, and half scalars in device memory will not be upcast"

/* The functions below need sh_driver_ready() to have returned true. */

/* Launches kernel k (1-D grid and block) on stream; a CUresult. */
int sh_driver_launch(enum sh_kernel k, unsigned grid, unsigned block, void *stream,
                     void **params);

enum sh_stream_capture { SH_NOT_CAPTURING, SH_CAPTURING, SH_CAPTURE_UNKNOWN };
/* Whether work launched on stream now would be captured into a graph;
 * UNKNOWN when the driver cannot tell (an invalidated capture, a legacy
 * stream while another thread captures): then launch nothing. */
enum sh_stream_capture sh_driver_capture(void *stream);

/* cuStreamSynchronize: a CUresult. */
int sh_driver_sync(void *stream);

/* The stream's device ordinal, -1 when the driver cannot say. */
int sh_driver_stream_device(void *stream);
/* The current context's device ordinal, -1 if none: a capture-safe stand-in
 * for the above (a capturing stream is in the capturing thread's context). */
int sh_driver_current_device(void);

/* Page-locks host memory and maps it into every device's address space
 * (registered portable and mapped), in the current context or else the
 * stream's, allowed while a graph is being captured. */
bool sh_driver_map_host(void *host, size_t bytes, void *stream);
/* The device address of mapped host memory; NULL when it is not mapped
 * (never registered, or its registration went with a context reset). */
void *sh_driver_device_address(void *host);

void sh_driver_after_fork(void);

#endif
