/* Fatal signals: one crash record, the checks that have finished, then
 * whatever handler was there before, so core dumps, Python's faulthandler
 * and the program's own handlers still run. Async-signal-safe throughout:
 * the record builder and the sweep use no locks, stdio or allocation. */
#include "crash.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "detect.h"
#include "log.h"
#include "sites.h"

static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NFATAL (int)(sizeof fatal / sizeof fatal[0])
static struct sigaction previous[NFATAL];
static atomic_int installed, crashed;

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
        if (si && si->si_code > 0 && sig != SIGABRT)
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
    if (si == NULL || si->si_code <= 0 || sig == SIGABRT)
        raise(sig);
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    int i = 0;
    while (i < NFATAL && fatal[i] != sig)
        i++;
    if (i == NFATAL)
        return;
    if (!atomic_exchange(&crashed, 1)) {
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
        if (si && si->si_code > 0 && sig != SIGABRT)
            sh_json_hex(&j, "addr", (unsigned long long)(uintptr_t)si->si_addr);
        sh_log_write(&j);
    }
    chain(i, sig, si, uc);
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
    /* The handlers are inherited; a child that crashes writes its own record. */
    atomic_store(&crashed, 0);
}
