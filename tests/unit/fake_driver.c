/* The fake driver of fake_driver.h. */
#include "fake_driver.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In enum sh_kernel order (as kernel_names in shim/driver.c). */
static const char *const kernel_names[SH_NKERNELS] = {
    "safehalf_scalars_h2f", "safehalf_scan_f16",     "safehalf_scan_bf16",
    "safehalf_scan_f32",    "safehalf_saturate_f16", "safehalf_saturate_bf16",
    "safehalf_scan_init",
};

#define QUEUE_MAX 16384
#define HISTORY_MAX 16384
#define RANGES_MAX 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_launch queue[QUEUE_MAX];
static unsigned q_head, q_tail; /* guarded by lock */
static struct fake_launch history[HISTORY_MAX];
static unsigned n_history; /* guarded by lock */

static struct {
    char *base;
    size_t bytes;
} ranges[RANGES_MAX];
static unsigned n_ranges; /* guarded by lock */

static atomic_bool k_ready = true, k_map_fail, k_sync_runs = true;
static atomic_int k_capture = SH_NOT_CAPTURING, k_launch_err, k_sync_result, k_stream_dev,
                  k_current_dev;
static atomic_uint k_ok_first;

static atomic_ulong c_ready, c_launch, c_capture, c_sync, c_stream_device, c_current_device,
    c_map_host, c_device_address;

static void *identity(const void *p)
{
    return (void *)p;
}

void fake_reset(void)
{
    pthread_mutex_lock(&lock);
    q_head = q_tail = 0;
    n_history = 0;
    n_ranges = 0;
    pthread_mutex_unlock(&lock);
    atomic_store(&k_ready, true);
    atomic_store(&k_map_fail, false);
    atomic_store(&k_sync_runs, true);
    atomic_store(&k_capture, SH_NOT_CAPTURING);
    atomic_store(&k_launch_err, 0);
    atomic_store(&k_ok_first, 0);
    atomic_store(&k_sync_result, 0);
    atomic_store(&k_stream_dev, 0);
    atomic_store(&k_current_dev, 0);
    atomic_ulong *counts[] = { &c_ready,         &c_launch,         &c_capture,
                               &c_sync,          &c_stream_device,  &c_current_device,
                               &c_map_host,      &c_device_address };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        atomic_store(counts[i], 0);
}

void fake_set_ready(bool ready)
{
    atomic_store(&k_ready, ready);
}

void fake_set_capture(enum sh_stream_capture status)
{
    atomic_store(&k_capture, (int)status);
}

void fake_set_launch_error(int err, unsigned ok_first)
{
    atomic_store(&k_ok_first, ok_first);
    atomic_store(&k_launch_err, err);
}

void fake_set_sync(int result, bool runs)
{
    atomic_store(&k_sync_result, result);
    atomic_store(&k_sync_runs, runs);
}

void fake_set_device(int stream_device, int current_device)
{
    atomic_store(&k_stream_dev, stream_device);
    atomic_store(&k_current_dev, current_device);
}

void fake_set_map_fail(bool fail)
{
    atomic_store(&k_map_fail, fail);
}

void fake_unmap_all(void)
{
    pthread_mutex_lock(&lock);
    n_ranges = 0;
    pthread_mutex_unlock(&lock);
}

void fake_mapped(void **base, unsigned long *bytes)
{
    pthread_mutex_lock(&lock);
    *base = n_ranges ? ranges[0].base : NULL;
    *bytes = n_ranges ? (unsigned long)ranges[0].bytes : 0;
    pthread_mutex_unlock(&lock);
}

struct fake_calls fake_calls(void)
{
    struct fake_calls c = {
        atomic_load(&c_ready),         atomic_load(&c_launch),
        atomic_load(&c_capture),       atomic_load(&c_sync),
        atomic_load(&c_stream_device), atomic_load(&c_current_device),
        atomic_load(&c_map_host),      atomic_load(&c_device_address),
    };
    return c;
}

/* Caller holds lock. */
static void run_one(const struct fake_launch *l)
{
    const struct sh_twin *t = sh_twin_find(kernel_names[l->kernel]);
    if (!t) {
        fprintf(stderr, "fake driver: no twin for kernel %d\n", (int)l->kernel);
        abort();
    }
    /* Copies again, so a twin never writes the recorded values. */
    unsigned long long vals[SH_TWIN_MAX_ARGS];
    void *params[SH_TWIN_MAX_ARGS];
    for (unsigned i = 0; i < l->nparams; i++) {
        vals[i] = l->arg[i];
        params[i] = &vals[i];
    }
    t->launch(params, identity);
}

int fake_gpu_run(int n)
{
    int ran = 0;
    pthread_mutex_lock(&lock);
    while (q_head != q_tail && (n < 0 || ran < n)) {
        run_one(&queue[q_head % QUEUE_MAX]);
        q_head++;
        ran++;
    }
    pthread_mutex_unlock(&lock);
    return ran;
}

unsigned fake_gpu_pending(void)
{
    pthread_mutex_lock(&lock);
    unsigned n = q_tail - q_head;
    pthread_mutex_unlock(&lock);
    return n;
}

unsigned fake_launches(void)
{
    pthread_mutex_lock(&lock);
    unsigned n = n_history;
    pthread_mutex_unlock(&lock);
    return n;
}

struct fake_launch fake_launch_at(unsigned i)
{
    struct fake_launch l;
    pthread_mutex_lock(&lock);
    if (i >= n_history || i >= HISTORY_MAX) {
        fprintf(stderr, "fake driver: no launch %u (%u recorded)\n", i, n_history);
        abort();
    }
    l = history[i];
    pthread_mutex_unlock(&lock);
    return l;
}

void fake_gpu_replay(unsigned first, unsigned n)
{
    pthread_mutex_lock(&lock);
    for (unsigned i = first; i < first + n; i++) {
        if (i >= n_history || i >= HISTORY_MAX) {
            fprintf(stderr, "fake driver: cannot replay launch %u (%u recorded)\n", i,
                    n_history);
            abort();
        }
        struct fake_launch copy = history[i];
        run_one(&copy);
    }
    pthread_mutex_unlock(&lock);
}

/* ---- shim/driver.h ------------------------------------------------------------ */

bool sh_driver_ready(void)
{
    atomic_fetch_add(&c_ready, 1);
    return atomic_load(&k_ready);
}

int sh_driver_launch(enum sh_kernel k, unsigned grid, unsigned block, void *stream,
                     void **params)
{
    atomic_fetch_add(&c_launch, 1);
    if ((unsigned)k >= SH_NKERNELS) {
        fprintf(stderr, "fake driver: launch of kernel %d\n", (int)k);
        abort();
    }
    int err = atomic_load(&k_launch_err);
    if (err) {
        unsigned ok = atomic_load(&k_ok_first);
        if (ok == 0)
            return err;
        atomic_store(&k_ok_first, ok - 1);
    }
    const struct sh_twin *t = sh_twin_find(kernel_names[k]);
    if (!t) {
        fprintf(stderr, "fake driver: no twin for kernel %s\n", kernel_names[k]);
        abort();
    }
    struct fake_launch l = { .kernel = k, .grid = grid, .block = block, .stream = stream,
                             .captured = atomic_load(&k_capture) == SH_CAPTURING,
                             .nparams = t->nargs };
    for (unsigned i = 0; i < t->nargs; i++)
        memcpy(&l.arg[i], params[i], t->arg_sizes[i]);
    pthread_mutex_lock(&lock);
    if (n_history < HISTORY_MAX)
        history[n_history] = l;
    n_history++;
    if (!l.captured) {
        if (q_tail - q_head >= QUEUE_MAX) {
            pthread_mutex_unlock(&lock);
            fprintf(stderr, "fake driver: launch queue full\n");
            abort();
        }
        queue[q_tail++ % QUEUE_MAX] = l;
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

enum sh_stream_capture sh_driver_capture(void *stream)
{
    (void)stream;
    atomic_fetch_add(&c_capture, 1);
    return (enum sh_stream_capture)atomic_load(&k_capture);
}

int sh_driver_sync(void *stream)
{
    (void)stream;
    atomic_fetch_add(&c_sync, 1);
    if (atomic_load(&k_sync_runs))
        fake_gpu_run(-1);
    return atomic_load(&k_sync_result);
}

int sh_driver_stream_device(void *stream)
{
    (void)stream;
    atomic_fetch_add(&c_stream_device, 1);
    return atomic_load(&k_stream_dev);
}

int sh_driver_current_device(void)
{
    atomic_fetch_add(&c_current_device, 1);
    return atomic_load(&k_current_dev);
}

bool sh_driver_map_host(void *host, size_t bytes, void *stream)
{
    (void)stream;
    atomic_fetch_add(&c_map_host, 1);
    if (atomic_load(&k_map_fail) || !host || !bytes)
        return false;
    pthread_mutex_lock(&lock);
    bool ok = n_ranges < RANGES_MAX;
    if (ok) {
        ranges[n_ranges].base = host;
        ranges[n_ranges].bytes = bytes;
        n_ranges++;
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

void *sh_driver_device_address(void *host)
{
    atomic_fetch_add(&c_device_address, 1);
    void *dev = NULL;
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < n_ranges; i++)
        if ((char *)host >= ranges[i].base && (char *)host < ranges[i].base + ranges[i].bytes)
            dev = host;
    pthread_mutex_unlock(&lock);
    return dev;
}
