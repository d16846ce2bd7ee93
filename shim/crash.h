/* The crash record on SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT. */
#ifndef SAFEHALF_CRASH_H
#define SAFEHALF_CRASH_H

/* Installs the handlers once per program (they survive fork), chaining to
 * the ones in place; a handler installed later by the program replaces
 * ours unless it chains too. */
void sh_crash_install(void);
void sh_crash_after_fork(void);

#endif
