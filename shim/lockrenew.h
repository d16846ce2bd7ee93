/* A forked child has only the thread that forked: a lock another thread of
 * the parent held at the fork stays held in the child, and its first wait
 * for it never ends. Each module's after-fork code makes its locks anew
 * (and resets, or vouches for, what they guard). */
#ifndef SAFEHALF_LOCKRENEW_H
#define SAFEHALF_LOCKRENEW_H

#include <pthread.h>
#include <string.h>

static inline void sh_lock_renew(pthread_mutex_t *lock)
{
    static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(lock, &fresh, sizeof fresh);
}

#endif
