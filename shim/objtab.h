/* A table from a library object's address (a cuBLASLt matmul descriptor, a
 * cuDNN descriptor) to a few words the shim keeps about it: what the
 * program asked for before the shim rewrote the object.
 *
 * Lookups take no lock (they run on every call that uses the object);
 * changes are serialized. Probing is bounded, so a lookup of an object the
 * table does not hold costs a few cache lines however many objects came and
 * went. A full neighbourhood makes sh_objtab_put fail: the caller then
 * leaves the object as the program made it. */
#ifndef SAFEHALF_OBJTAB_H
#define SAFEHALF_OBJTAB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SH_OBJTAB_SLOTS 4096
#define SH_OBJTAB_WORDS 4

struct sh_objtab {
    pthread_mutex_t lock;
    struct {
        _Atomic(uintptr_t) key; /* 0: never used, 1: deleted */
        atomic_llong word[SH_OBJTAB_WORDS];
    } slot[SH_OBJTAB_SLOTS];
};

#define SH_OBJTAB_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/* Adds or replaces obj's words; false when no slot is free near it. */
bool sh_objtab_put(struct sh_objtab *t, const void *obj, const long long word[SH_OBJTAB_WORDS]);
/* Copies obj's words out; false when the table does not hold obj. */
bool sh_objtab_get(struct sh_objtab *t, const void *obj, long long word[SH_OBJTAB_WORDS]);
/* Forgets obj (nothing if it was not held). */
void sh_objtab_del(struct sh_objtab *t, const void *obj);

#endif
