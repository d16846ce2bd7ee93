/* A test double of the driver layer (shim/driver.h) for the check engine's
 * unit test: a GPU that runs BEHIND the host.
 *
 * sh_driver_launch runs nothing: it copies the kernel's parameter values
 * and appends the launch to a queue; fake_gpu_run(n) runs the first n
 * queued launches (all when n < 0) with the host twins (kernels/twins.h).
 * A launch made while the fake capture status is SH_CAPTURING goes into the
 * "graph" instead: it is only recorded, and fake_gpu_replay runs copies of
 * recorded launches, as a graph launch would. Every launch that the fake
 * accepted is kept in a history the tests read (fake_launch_at).
 *
 * Device addresses are host addresses: sh_driver_map_host records the range
 * and sh_driver_device_address returns its argument inside a mapped range.
 *
 * This header is the fake's test-facing interface. */
#ifndef SAFEHALF_FAKE_DRIVER_H
#define SAFEHALF_FAKE_DRIVER_H

#include <stdbool.h>

#include "driver.h"
#include "twins.h"

struct fake_launch {
    enum sh_kernel kernel;
    unsigned grid, block;
    void *stream;
    bool captured;         /* made while capturing: in the graph, not the queue */
    unsigned nparams;
    /* The parameter values, copied at launch (each at most 8 bytes). */
    unsigned long long arg[SH_TWIN_MAX_ARGS];
};

/* Calls of each driver function, since the last fake_reset. */
struct fake_calls {
    unsigned long ready, launch, capture, sync, stream_device, current_device, map_host,
        device_address;
};

/* Everything back to: ready, not capturing, launches succeed, sync returns
 * 0 and runs the queue, stream device 0, current device 0, maps succeed,
 * nothing mapped, queue and history empty, counts 0. */
void fake_reset(void);
void fake_set_ready(bool ready);
void fake_set_capture(enum sh_stream_capture status);
/* The next `ok_first` launches succeed, then every launch returns err
 * (a CUresult) without being recorded; err 0 turns failures off. */
void fake_set_launch_error(int err, unsigned ok_first);
/* sh_driver_sync returns result; with runs, it first runs the whole queue. */
void fake_set_sync(int result, bool runs);
void fake_set_device(int stream_device, int current_device);
void fake_set_map_fail(bool fail);
/* A device reset: every mapping is gone (device_address returns NULL). */
void fake_unmap_all(void);
/* The first mapped range (NULL, 0 when none). */
void fake_mapped(void **base, unsigned long *bytes);

struct fake_calls fake_calls(void);

/* Runs the first n queued launches (all when n < 0); returns how many ran. */
int fake_gpu_run(int n);
/* Launches queued and not yet run. */
unsigned fake_gpu_pending(void);
/* Launches recorded so far (queued or captured), and the i-th of them. */
unsigned fake_launches(void);
struct fake_launch fake_launch_at(unsigned i);
/* Runs copies of recorded launches first .. first + n - 1, in order (a
 * graph replay of captured launches; the recorded values are unchanged). */
void fake_gpu_replay(unsigned first, unsigned n);

#endif
