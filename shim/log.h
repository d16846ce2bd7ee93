/* The crash-safe log: JSON Lines, one record per write(2) on an O_APPEND
 * fd, so a crash or SIGKILL loses at most the record being written. Records
 * are built in caller-provided buffers: no allocation on the hot path. */
#ifndef SAFEHALF_LOG_H
#define SAFEHALF_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

struct sh_json {
    char *buf;
    size_t len, cap;
    bool overflow;
};

/* Records are built without stdio or allocation, so the builder and
 * sh_log_write are async-signal-safe (the crash handler uses them).
 * Starts {"ev":EV,"t":..,"pid":..,"tid":.. in buf. */
void sh_json_begin(struct sh_json *j, char *buf, size_t cap, const char *ev);
void sh_json_str(struct sh_json *j, const char *key, const char *val); /* NULL -> null */
void sh_json_int(struct sh_json *j, const char *key, long long val);
void sh_json_uint(struct sh_json *j, const char *key, unsigned long long val);
/* Nine significant digits; NaN and Inf (which JSON lacks) as null. */
void sh_json_num(struct sh_json *j, const char *key, double val);
/* As a string: "0x1f". */
void sh_json_hex(struct sh_json *j, const char *key, unsigned long long val);
void sh_json_bool(struct sh_json *j, const char *key, bool val);
/* A value by its name, or as a number when it has none (name NULL). */
void sh_json_name(struct sh_json *j, const char *key, const char *name, long long value);
/* Seconds since the epoch with microseconds, like "t"; ns from sh_log_now_ns. */
void sh_json_time(struct sh_json *j, const char *key, long long ns);
/* A value already formatted as JSON (NULL -> null). */
void sh_json_raw(struct sh_json *j, const char *key, const char *json);
/* Starts an empty builder, for a JSON value that is not a record. */
void sh_json_fragment(struct sh_json *j, char *buf, size_t cap);
long long sh_log_now_ns(void);
/* key may be NULL inside arrays. */
void sh_json_open(struct sh_json *j, const char *key, char bracket);
void sh_json_close(struct sh_json *j, char bracket);

/* {"address","object","offset","symbol"} of a code address; dladdr is not
 * async-signal-safe, so in a signal handler the address only. */
void sh_json_caller(struct sh_json *j, const char *key, const void *caller, bool in_signal);

/* The calling thread's kernel thread id (cached; async-signal-safe). */
long sh_log_tid(void);

/* True when records of this level go to the log. */
bool sh_log_wants(enum sh_level level);
/* Ends the record and writes it. A record that did not fit its buffer is
 * replaced by a short one saying so, never cut mid-JSON. */
void sh_log_write(struct sh_json *j);

/* Opens the log named by the policy (expanding %p %r %h) and writes the
 * start record; called once per process from sh_init. */
void sh_log_open(const struct sh_policy *p);
/* After fork, in the child: forget the parent's log (the child opens its
 * own at its first library call). */
void sh_log_after_fork(void);

/* One line "safehalf: MSG" on stderr, nothing in the log. */
void sh_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line "safehalf: MSG" on stderr, and a warn record if the log is open. */
void sh_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, once per flag. */
#define sh_warn_once(flag, ...)                                              \
    do {                                                                     \
        if (!atomic_exchange_explicit((flag), 1, memory_order_relaxed))      \
            sh_warn(__VA_ARGS__);                                            \
    } while (0)

#endif
