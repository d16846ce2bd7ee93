#include "handles.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Open addressing, never deleted from: a destroyed handle's slot is reused
 * when cuBLAS hands the same address out again (cublasCreate overwrites it).
 * Lookups take no lock; inserts are serialized. */
#define NHANDLES 4096

static struct {
    _Atomic(uintptr_t) key;
    atomic_int mode;
} table[NHANDLES];
static pthread_mutex_t insert_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(uintptr_t key)
{
    return (size_t)((key >> 4) * 0x9E3779B97F4A7C15ull >> 52) % NHANDLES;
}

static long find(uintptr_t key)
{
    size_t i = slot_of(key);
    for (size_t n = 0; n < NHANDLES; n++, i = (i + 1) % NHANDLES) {
        uintptr_t k = atomic_load_explicit(&table[i].key, memory_order_acquire);
        if (k == key)
            return (long)i;
        if (k == 0)
            return -1;
    }
    return -1;
}

bool sh_handle_set_mode(const void *handle, int mode)
{
    uintptr_t key = (uintptr_t)handle;
    long at = find(key);
    if (at >= 0) {
        atomic_store_explicit(&table[at].mode, mode, memory_order_relaxed);
        return true;
    }
    pthread_mutex_lock(&insert_lock);
    size_t i = slot_of(key);
    bool ok = false;
    for (size_t n = 0; n < NHANDLES; n++, i = (i + 1) % NHANDLES) {
        uintptr_t k = atomic_load_explicit(&table[i].key, memory_order_relaxed);
        if (k == 0 || k == key) {
            atomic_store_explicit(&table[i].mode, mode, memory_order_relaxed);
            atomic_store_explicit(&table[i].key, key, memory_order_release);
            ok = true;
            break;
        }
    }
    pthread_mutex_unlock(&insert_lock);
    return ok;
}

bool sh_handle_get_mode(const void *handle, int *mode)
{
    long at = find((uintptr_t)handle);
    if (at < 0)
        return false;
    *mode = atomic_load_explicit(&table[at].mode, memory_order_relaxed);
    return true;
}
