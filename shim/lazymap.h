/* Zeroed memory for a table mapped at its first use, so a process (or a
 * forked child) that never needs the table never touches its pages. */
#ifndef SAFEHALF_LAZYMAP_H
#define SAFEHALF_LAZYMAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

/* *slot once mapped (bytes, zeroed), else maps it; NULL if mmap fails.
 * Threads racing to map it agree on one mapping. */
static inline void *sh_map_once(_Atomic(void *) *slot, size_t bytes)
{
    void *t = atomic_load_explicit(slot, memory_order_acquire);
    if (t)
        return t;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    void *none = NULL;
    if (!atomic_compare_exchange_strong(slot, &none, m)) {
        munmap(m, bytes);
        return none;
    }
    return m;
}

/* The mapping, or NULL while nothing needed it. */
static inline void *sh_mapped(_Atomic(void *) *slot)
{
    return atomic_load_explicit(slot, memory_order_acquire);
}

#endif
