/* A table from a library object's address (a cuBLASLt matmul descriptor or
 * matrix layout, a cuDNN descriptor) to a few words the shim keeps about
 * it: what the program asked for before the shim rewrote the object, or a
 * copy of attributes the library holds, so that a call using the object
 * need not ask the library for them.
 *
 * Lookups take no lock (they run on every call that uses the object) and
 * copy an entry whole or not at all: one changing under them is a miss.
 * Changes are serialized. Probing is bounded, so a lookup of an object the
 * table does not hold costs a few cache lines however many objects came and
 * went. A full neighbourhood makes sh_objtab_put fail: the caller then
 * leaves the object as the program made it. */
#ifndef SAFEHALF_OBJTAB_H
#define SAFEHALF_OBJTAB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SH_OBJTAB_SLOTS 4096
#define SH_OBJTAB_WORDS 8
#define SH_OBJTAB_PROBE 64
#define SH_OBJTAB_DELETED ((uintptr_t)1)
/* A lookup that meets a writer in its slot tries again this many times. */
#define SH_OBJTAB_READ_TRIES 4

struct sh_objtab {
    pthread_mutex_t lock;
    atomic_int enlisted; /* locked across fork once changed (objtab.c) */
    struct {
        _Atomic(uintptr_t) key; /* 0: never used, 1: deleted */
        atomic_uint seq;        /* odd while the slot changes */
        atomic_uint cached;     /* put by sh_objtab_cache: may give way */
        atomic_llong word[SH_OBJTAB_WORDS];
    } slot[SH_OBJTAB_SLOTS];
};

#define SH_OBJTAB_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/* Adds or replaces obj's words, held until deleted; false when no slot is
 * free near it (a cached entry's slot counts as free). */
bool sh_objtab_put(struct sh_objtab *t, const void *obj, const long long word[SH_OBJTAB_WORDS]);
/* The same for words the caller could read again elsewhere: where no slot
 * is free near it, the entry takes the place of another cached one, and a
 * later put or cache may take its place in turn (a lookup then misses). */
bool sh_objtab_cache(struct sh_objtab *t, const void *obj,
                     const long long word[SH_OBJTAB_WORDS]);
/* Changes one word of obj's entry; false when the table does not hold obj. */
bool sh_objtab_set_word(struct sh_objtab *t, const void *obj, int w, long long value);
/* Forgets obj (nothing if it was not held). */
void sh_objtab_del(struct sh_objtab *t, const void *obj);

/* Inline below: lookups run on every call, and words copied through memory
 * by an out-of-line call come back slower than loaded where they are used. */
static inline size_t sh_objtab_home(uintptr_t key)
{
    return (size_t)((key >> 4) * 0x9E3779B97F4A7C15ull >> 40) % SH_OBJTAB_SLOTS;
}

/* obj's slot, or -1. */
static inline long sh_objtab_find(struct sh_objtab *t, uintptr_t key)
{
    size_t i = sh_objtab_home(key);
    for (int n = 0; n < SH_OBJTAB_PROBE; n++, i = (i + 1) % SH_OBJTAB_SLOTS) {
        uintptr_t k = atomic_load_explicit(&t->slot[i].key, memory_order_acquire);
        if (k == key)
            return (long)i;
        if (k == 0)
            return -1;
    }
    return -1;
}

/* A lookup in steps, for a caller that loads each word where it uses it
 * (words copied out through an array and read back wider wait for the
 * copy): sh_objtab_ref finds obj, sh_objtab_word loads a word, and
 * sh_objtab_valid says whether the words loaded since are obj's, whole. */
struct sh_objtab_ref {
    long at;
    unsigned seq;
    uintptr_t key;
};

static inline bool sh_objtab_ref(struct sh_objtab *t, const void *obj, struct sh_objtab_ref *r)
{
    r->key = (uintptr_t)obj;
    if (r->key <= SH_OBJTAB_DELETED)
        return false;
    r->at = sh_objtab_find(t, r->key);
    if (r->at < 0)
        return false;
    r->seq = atomic_load_explicit(&t->slot[r->at].seq, memory_order_acquire);
    return !(r->seq & 1);
}

static inline long long sh_objtab_word(struct sh_objtab *t, const struct sh_objtab_ref *r, int w)
{
    return atomic_load_explicit(&t->slot[r->at].word[w], memory_order_relaxed);
}

static inline bool sh_objtab_valid(struct sh_objtab *t, const struct sh_objtab_ref *r)
{
    uintptr_t k = atomic_load_explicit(&t->slot[r->at].key, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&t->slot[r->at].seq, memory_order_relaxed) == r->seq &&
           k == r->key;
}

/* Copies obj's words out; false when the table does not hold obj. */
static inline bool sh_objtab_get(struct sh_objtab *t, const void *obj,
                                 long long word[SH_OBJTAB_WORDS])
{
    for (int tries = 0; tries < SH_OBJTAB_READ_TRIES; tries++) {
        struct sh_objtab_ref r;
        if (!sh_objtab_ref(t, obj, &r)) {
            if (r.key <= SH_OBJTAB_DELETED || r.at < 0)
                return false;
            continue; /* a writer in the slot */
        }
        for (int w = 0; w < SH_OBJTAB_WORDS; w++)
            word[w] = sh_objtab_word(t, &r, w);
        if (sh_objtab_valid(t, &r))
            return true;
    }
    return false;
}

#endif
