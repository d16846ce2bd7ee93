/* Fatal signals: a crash record, the checks that have finished, then
 * whatever handler was there before, so core dumps, Python's faulthandler
 * and the program's own handlers still run. Async-signal-safe throughout:
 * the record builder and the sweep use no locks, stdio or allocation.
 *
 * A program's own handler may handle the signal and let the process go on
 * (a Python signal.signal handler, a siglongjmp out of a SIGSEGV handler):
 * a later fatal signal then writes a record of its own. A fault whose
 * handler returns without curing it comes back at once, forever: it is
 * recorded once, and no process writes more than MAX_CRASHES records. */
#include "crash.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "detect.h"
#include "log.h"
#include "sites.h"

#define MAX_CRASHES 8

static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NFATAL (int)(sizeof fatal / sizeof fatal[0])
static struct sigaction previous[NFATAL];
static atomic_int installed;
/* writing: a thread is writing a crash record (one at a time: the flush
 * and the counts write from static buffers); records: how many this
 * process wrote; returned: the last of them whose handler returned. */
static atomic_int writing, records, returned;
/* The last record's fault (0 for a signal sent), to know it again. */
static atomic_int last_sig, last_code;
static atomic_uintptr_t last_addr;

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return NULL;
    }
}

/* Raised by a fault (the instruction runs again when the handler returns),
 * not sent with kill/raise/abort. */
static bool is_fault(int sig, const siginfo_t *si)
{
    return si != NULL && si->si_code > 0 && sig != SIGABRT;
}

static void chain(int i, int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *p = &previous[i];
    if (p->sa_flags & SA_SIGINFO) {
        if (p->sa_sigaction) {
            p->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (p->sa_handler == SIG_IGN) {
        /* A sent signal is ignored. A fault cannot be: put SIG_IGN back
         * and the kernel, when the instruction faults again, ends the
         * process as it would have without the shim. */
        if (is_fault(sig, si))
            sigaction(sig, p, NULL);
        return;
    } else if (p->sa_handler != SIG_DFL) {
        p->sa_handler(sig);
        return;
    }
    /* The default action: put it back and let the signal happen again. A
     * fault repeats when the handler returns; a sent signal (kill, abort)
     * is raised, pending until then, since it is blocked in its handler. */
    sigaction(sig, p, NULL);
    if (!is_fault(sig, si))
        raise(sig);
}

/* The number of the record to write for this signal, or 0 for none. */
static int record_number(int sig, const siginfo_t *si)
{
    int n = atomic_load(&records);
    if (n >= MAX_CRASHES)
        return 0;
    if (n > 0 && is_fault(sig, si) && atomic_load(&returned) == n &&
        atomic_load(&last_sig) == sig && atomic_load(&last_code) == si->si_code &&
        atomic_load(&last_addr) == (uintptr_t)si->si_addr)
        return 0; /* the same fault again: its handler returned without curing it */
    atomic_store(&last_sig, is_fault(sig, si) ? sig : 0);
    atomic_store(&last_code, si ? si->si_code : 0);
    atomic_store(&last_addr, si ? (uintptr_t)si->si_addr : 0);
    atomic_store(&records, n + 1);
    return n + 1;
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    int i = 0;
    while (i < NFATAL && fatal[i] != sig)
        i++;
    if (i == NFATAL)
        return;
    int n = 0;
    /* A signal that comes while a record is written (in this thread or in
     * another) writes none. */
    if (!atomic_exchange(&writing, 1)) {
        n = record_number(sig, si);
        if (n) {
            sh_check_flush_in_signal();
            sh_sites_write_counts(true);
            char buf[512];
            struct sh_json j;
            sh_json_begin(&j, buf, sizeof buf, "crash");
            sh_json_int(&j, "signal", sig);
            sh_json_str(&j, "name", signal_name(sig));
            sh_json_int(&j, "code", si ? si->si_code : 0);
            /* sent by kill(2)/raise(3)/abort(3), or raised by a fault */
            sh_json_bool(&j, "sent", !si || si->si_code <= 0);
            if (is_fault(sig, si))
                sh_json_hex(&j, "addr", (unsigned long long)(uintptr_t)si->si_addr);
            sh_log_write(&j);
        }
        atomic_store(&writing, 0);
    }
    chain(i, sig, si, uc);
    /* The program's handler returned (one that siglongjmps never comes
     * back here): a fault whose handler returns comes again at once. */
    if (n)
        atomic_store(&returned, n);
    errno = saved;
}

void sh_crash_install(void)
{
    if (atomic_exchange(&installed, 1))
        return;
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NFATAL; i++)
        sigaction(fatal[i], &sa, &previous[i]);
}

void sh_crash_after_fork(void)
{
    /* The handlers are inherited; a child that crashes writes its own records. */
    atomic_store(&writing, 0);
    atomic_store(&records, 0);
    atomic_store(&returned, 0);
}
