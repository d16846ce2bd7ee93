#include "objtab.h"

#define PROBE 64
#define DELETED ((uintptr_t)1)

static size_t home(const void *obj)
{
    return (size_t)(((uintptr_t)obj >> 4) * 0x9E3779B97F4A7C15ull >> 40) % SH_OBJTAB_SLOTS;
}

static long find(struct sh_objtab *t, uintptr_t key)
{
    size_t i = home((const void *)key);
    for (int n = 0; n < PROBE; n++, i = (i + 1) % SH_OBJTAB_SLOTS) {
        uintptr_t k = atomic_load_explicit(&t->slot[i].key, memory_order_acquire);
        if (k == key)
            return (long)i;
        if (k == 0)
            return -1;
    }
    return -1;
}

bool sh_objtab_put(struct sh_objtab *t, const void *obj, const long long word[SH_OBJTAB_WORDS])
{
    uintptr_t key = (uintptr_t)obj;
    if (key <= DELETED)
        return false;
    pthread_mutex_lock(&t->lock);
    long at = find(t, key);
    if (at < 0) {
        size_t i = home(obj);
        for (int n = 0; n < PROBE; n++, i = (i + 1) % SH_OBJTAB_SLOTS) {
            uintptr_t k = atomic_load_explicit(&t->slot[i].key, memory_order_relaxed);
            if (k == 0 || k == DELETED) {
                at = (long)i;
                break;
            }
        }
    }
    if (at >= 0) {
        /* A reader that finds the key sees these words (release below);
         * an entry replaced in place can be read half old, half new only
         * by a program racing its own SetAttribute against its own use. */
        for (int w = 0; w < SH_OBJTAB_WORDS; w++)
            atomic_store_explicit(&t->slot[at].word[w], word[w], memory_order_relaxed);
        atomic_store_explicit(&t->slot[at].key, key, memory_order_release);
    }
    pthread_mutex_unlock(&t->lock);
    return at >= 0;
}

bool sh_objtab_get(struct sh_objtab *t, const void *obj, long long word[SH_OBJTAB_WORDS])
{
    uintptr_t key = (uintptr_t)obj;
    if (key <= DELETED)
        return false;
    long at = find(t, key);
    if (at < 0)
        return false;
    for (int w = 0; w < SH_OBJTAB_WORDS; w++)
        word[w] = atomic_load_explicit(&t->slot[at].word[w], memory_order_relaxed);
    return true;
}

void sh_objtab_del(struct sh_objtab *t, const void *obj)
{
    uintptr_t key = (uintptr_t)obj;
    if (key <= DELETED)
        return;
    pthread_mutex_lock(&t->lock);
    long at = find(t, key);
    if (at >= 0)
        atomic_store_explicit(&t->slot[at].key, DELETED, memory_order_release);
    pthread_mutex_unlock(&t->lock);
}
