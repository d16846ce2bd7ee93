#include "objtab.h"

#define PROBE SH_OBJTAB_PROBE
#define DELETED SH_OBJTAB_DELETED
#define MAX_TABLES 16

static size_t next(size_t i)
{
    return (i + 1) % SH_OBJTAB_SLOTS;
}

/* ---- fork --------------------------------------------------------------------
 * Objects are created and destroyed around every call on some programs'
 * threads: a fork must not leave a child a table locked, or half written,
 * by a thread it does not have. Every table that was ever changed is
 * locked across fork (as glibc's malloc does). */
static _Atomic(struct sh_objtab *) tables[MAX_TABLES];
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void lock_all(void)
{
    for (int i = 0; i < MAX_TABLES; i++) {
        struct sh_objtab *t = atomic_load(&tables[i]);
        if (t)
            pthread_mutex_lock(&t->lock);
    }
}

static void unlock_all(void)
{
    for (int i = MAX_TABLES - 1; i >= 0; i--) {
        struct sh_objtab *t = atomic_load(&tables[i]);
        if (t)
            pthread_mutex_unlock(&t->lock);
    }
}

static void install_atfork(void)
{
    pthread_atfork(lock_all, unlock_all, unlock_all);
}

/* Before t first holds anything (a change finds nothing to change before). */
static void enlist(struct sh_objtab *t)
{
    pthread_once(&atfork_once, install_atfork);
    for (int i = 0; i < MAX_TABLES; i++) {
        struct sh_objtab *none = NULL;
        if (atomic_load(&tables[i]) == t || atomic_compare_exchange_strong(&tables[i], &none, t))
            break;
    }
    atomic_store_explicit(&t->enlisted, 1, memory_order_release);
}

/* ---- changes -------------------------------------------------------------------- */

/* A writer's change to a slot is bracketed by an odd sequence number
 * (a seqlock): a reader that overlaps it sees the number move. */
static void write_begin(struct sh_objtab *t, long at)
{
    unsigned s = atomic_load_explicit(&t->slot[at].seq, memory_order_relaxed);
    atomic_store_explicit(&t->slot[at].seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void write_end(struct sh_objtab *t, long at)
{
    unsigned s = atomic_load_explicit(&t->slot[at].seq, memory_order_relaxed);
    atomic_store_explicit(&t->slot[at].seq, s + 1, memory_order_release);
}

static bool put(struct sh_objtab *t, const void *obj, const long long word[SH_OBJTAB_WORDS],
                bool cached)
{
    uintptr_t key = (uintptr_t)obj;
    if (key <= DELETED)
        return false;
    if (!atomic_load_explicit(&t->enlisted, memory_order_acquire))
        enlist(t);
    pthread_mutex_lock(&t->lock);
    long at = sh_objtab_find(t, key);
    if (at < 0) {
        long spare = -1;
        size_t i = sh_objtab_home(key);
        for (int n = 0; n < PROBE; n++, i = next(i)) {
            uintptr_t k = atomic_load_explicit(&t->slot[i].key, memory_order_relaxed);
            if (k == 0 || k == DELETED) {
                at = (long)i;
                break;
            }
            if (spare < 0 && atomic_load_explicit(&t->slot[i].cached, memory_order_relaxed))
                spare = (long)i;
        }
        if (at < 0)
            at = spare;
    }
    if (at >= 0) {
        write_begin(t, at);
        for (int w = 0; w < SH_OBJTAB_WORDS; w++)
            atomic_store_explicit(&t->slot[at].word[w], word[w], memory_order_relaxed);
        atomic_store_explicit(&t->slot[at].cached, cached, memory_order_relaxed);
        atomic_store_explicit(&t->slot[at].key, key, memory_order_relaxed);
        write_end(t, at);
    }
    pthread_mutex_unlock(&t->lock);
    return at >= 0;
}

bool sh_objtab_put(struct sh_objtab *t, const void *obj, const long long word[SH_OBJTAB_WORDS])
{
    return put(t, obj, word, false);
}

bool sh_objtab_cache(struct sh_objtab *t, const void *obj, const long long word[SH_OBJTAB_WORDS])
{
    return put(t, obj, word, true);
}

bool sh_objtab_set_word(struct sh_objtab *t, const void *obj, int w, long long value)
{
    uintptr_t key = (uintptr_t)obj;
    if (key <= DELETED || sh_objtab_find(t, key) < 0)
        return false;
    pthread_mutex_lock(&t->lock);
    long at = sh_objtab_find(t, key);
    if (at >= 0) {
        write_begin(t, at);
        atomic_store_explicit(&t->slot[at].word[w], value, memory_order_relaxed);
        write_end(t, at);
    }
    pthread_mutex_unlock(&t->lock);
    return at >= 0;
}

void sh_objtab_del(struct sh_objtab *t, const void *obj)
{
    uintptr_t key = (uintptr_t)obj;
    /* An object the table does not hold costs no lock. */
    if (key <= DELETED || sh_objtab_find(t, key) < 0)
        return;
    pthread_mutex_lock(&t->lock);
    long at = sh_objtab_find(t, key);
    if (at >= 0) {
        write_begin(t, at);
        /* A slot before a never-used one ends no probe for a key beyond
         * it: it, and the deleted slots before it, become never used, so
         * churn does not leave every probe walking PROBE slots. */
        if (atomic_load_explicit(&t->slot[next((size_t)at)].key, memory_order_relaxed) == 0) {
            atomic_store_explicit(&t->slot[at].key, 0, memory_order_relaxed);
            size_t i = ((size_t)at + SH_OBJTAB_SLOTS - 1) % SH_OBJTAB_SLOTS;
            for (int n = 0; n < SH_OBJTAB_SLOTS &&
                            atomic_load_explicit(&t->slot[i].key, memory_order_relaxed) == DELETED;
                 n++, i = (i + SH_OBJTAB_SLOTS - 1) % SH_OBJTAB_SLOTS)
                atomic_store_explicit(&t->slot[i].key, 0, memory_order_relaxed);
        } else {
            atomic_store_explicit(&t->slot[at].key, DELETED, memory_order_relaxed);
        }
        write_end(t, at);
    }
    pthread_mutex_unlock(&t->lock);
}
