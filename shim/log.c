#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "buildid.h"
#include "runtime.h"

static atomic_int log_fd = -1;
static _Thread_local long cached_tid;

long sh_log_tid(void)
{
    if (!cached_tid)
        cached_tid = (long)syscall(SYS_gettid);
    return cached_tid;
}

static void put(struct sh_json *j, const char *s, size_t n)
{
    if (j->len + n >= j->cap) {
        j->overflow = true;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

/* Numbers are formatted by hand: the crash handler writes records too, and
 * nothing of stdio is async-signal-safe. */
static void put_u64(struct sh_json *j, unsigned long long v, unsigned min_digits)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < min_digits);
    put(j, tmp + sizeof tmp - n, n);
}

static void put_i64(struct sh_json *j, long long v)
{
    if (v < 0) {
        put(j, "-", 1);
        put_u64(j, 0ull - (unsigned long long)v, 1);
    } else {
        put_u64(j, (unsigned long long)v, 1);
    }
}

/* Nine significant digits (every binary32 value reads back exactly), the
 * shortest of plain and exponent notation; integers below 1e15 exactly. */
static void put_double(struct sh_json *j, double v)
{
    if (v != v || v - v != 0) { /* NaN or +-Inf: JSON has neither */
        put(j, "null", 4);
        return;
    }
    if (v < 0) {
        put(j, "-", 1);
        v = -v;
    }
    if (v < 1e15 && v == (double)(unsigned long long)v) {
        put_u64(j, (unsigned long long)v, 1);
        return;
    }
    int e = 0;
    while (v >= 1e9) {
        v /= 10;
        e++;
    }
    while (v < 1e8) {
        v *= 10;
        e--;
    }
    unsigned long long d = (unsigned long long)(v + 0.5);
    if (d >= 1000000000ull) {
        d /= 10;
        e++;
    }
    e += 8; /* d = d.dddddddd x 10^e */
    char digits[10];
    int nd = 9;
    for (int i = 8; i >= 0; i--) {
        digits[i] = (char)('0' + d % 10);
        d /= 10;
    }
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (e >= -5 && e < 15) {
        if (e < 0) {
            put(j, "0.", 2);
            for (int i = -1; i > e; i--)
                put(j, "0", 1);
            put(j, digits, (size_t)nd);
        } else {
            put(j, digits, (size_t)(e + 1 < nd ? e + 1 : nd));
            for (int i = nd; i < e + 1; i++)
                put(j, "0", 1);
            if (nd > e + 1) {
                put(j, ".", 1);
                put(j, digits + e + 1, (size_t)(nd - e - 1));
            }
        }
        return;
    }
    put(j, digits, 1);
    if (nd > 1) {
        put(j, ".", 1);
        put(j, digits + 1, (size_t)(nd - 1));
    }
    put(j, e < 0 ? "e-" : "e+", 2);
    put_u64(j, (unsigned long long)(e < 0 ? -e : e), 2);
}

/* Bytes of the well-formed UTF-8 character at p, 0 if there is none. */
static size_t utf8_char(const unsigned char *p)
{
    unsigned lo = 0x80, hi = 0xBF;
    size_t n;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        lo = p[0] == 0xE0 ? 0xA0 : lo; /* overlong */
        hi = p[0] == 0xED ? 0x9F : hi; /* surrogates */
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        lo = p[0] == 0xF0 ? 0x90 : lo; /* overlong */
        hi = p[0] == 0xF4 ? 0x8F : hi; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* JSON text is UTF-8: a byte that is not part of a character (a Latin-1
 * file name, a name cut inside a character) becomes U+FFFD. */
static void put_escaped(struct sh_json *j, const char *s)
{
    put(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = { '\\', (char)*p };
            put(j, e, 2);
        } else if (*p < 0x20) {
            char u[6] = { '\\', 'u', '0', '0', "0123456789abcdef"[*p >> 4],
                          "0123456789abcdef"[*p & 15] };
            put(j, u, 6);
        } else if (*p < 0x80) {
            put(j, (const char *)p, 1);
        } else {
            size_t n = utf8_char(p);
            if (n) {
                put(j, (const char *)p, n);
                p += n - 1;
            } else {
                put(j, "\\ufffd", 6);
            }
        }
    }
    put(j, "\"", 1);
}

static void key(struct sh_json *j, const char *k)
{
    char last = j->len ? j->buf[j->len - 1] : '{';
    if (last != '{' && last != '[')
        put(j, ",", 1);
    if (k) {
        put_escaped(j, k);
        put(j, ":", 1);
    }
}

long long sh_log_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void sh_json_fragment(struct sh_json *j, char *buf, size_t cap)
{
    j->buf = buf;
    j->cap = cap;
    j->len = 0;
    j->overflow = false;
    buf[0] = '\0';
}

void sh_json_time(struct sh_json *j, const char *k, long long ns)
{
    key(j, k);
    put_i64(j, ns / 1000000000LL);
    put(j, ".", 1);
    put_u64(j, (unsigned long long)(ns % 1000000000LL / 1000), 6);
}

void sh_json_raw(struct sh_json *j, const char *k, const char *json)
{
    key(j, k);
    if (json)
        put(j, json, strlen(json));
    else
        put(j, "null", 4);
}

void sh_json_begin(struct sh_json *j, char *buf, size_t cap, const char *ev)
{
    sh_json_fragment(j, buf, cap);
    put(j, "{", 1);
    sh_json_str(j, "ev", ev);
    sh_json_time(j, "t", sh_log_now_ns());
    sh_json_int(j, "pid", (long long)getpid());
    sh_json_int(j, "tid", sh_log_tid());
}

void sh_json_str(struct sh_json *j, const char *k, const char *val)
{
    key(j, k);
    if (val)
        put_escaped(j, val);
    else
        put(j, "null", 4);
}

void sh_json_int(struct sh_json *j, const char *k, long long val)
{
    key(j, k);
    put_i64(j, val);
}

void sh_json_uint(struct sh_json *j, const char *k, unsigned long long val)
{
    key(j, k);
    put_u64(j, val, 1);
}

void sh_json_num(struct sh_json *j, const char *k, double val)
{
    key(j, k);
    put_double(j, val);
}

void sh_json_hex(struct sh_json *j, const char *k, unsigned long long val)
{
    char tmp[20];
    size_t n = 0;
    key(j, k);
    do {
        tmp[sizeof tmp - 1 - n++] = "0123456789abcdef"[val & 15];
        val >>= 4;
    } while (val);
    tmp[sizeof tmp - 1 - n++] = 'x';
    tmp[sizeof tmp - 1 - n++] = '0';
    put(j, "\"", 1);
    put(j, tmp + sizeof tmp - n, n);
    put(j, "\"", 1);
}

void sh_json_name(struct sh_json *j, const char *k, const char *name, long long value)
{
    if (name)
        sh_json_str(j, k, name);
    else
        sh_json_int(j, k, value);
}

void sh_json_bool(struct sh_json *j, const char *k, bool val)
{
    key(j, k);
    put(j, val ? "true" : "false", val ? 4 : 5);
}

void sh_json_open(struct sh_json *j, const char *k, char bracket)
{
    key(j, k);
    put(j, &bracket, 1);
}

void sh_json_close(struct sh_json *j, char bracket)
{
    put(j, &bracket, 1);
}

/* "object+0xoffset" and the symbol, when the loader knows them; dladdr is
 * not async-signal-safe, so a crash record has the address only. */
void sh_json_caller(struct sh_json *j, const char *key, const void *caller, bool in_signal)
{
    sh_json_open(j, key, '{');
    sh_json_hex(j, "address", (unsigned long long)(uintptr_t)caller);
    Dl_info info;
    if (!in_signal && caller && dladdr(caller, &info) && info.dli_fname) {
        /* Cut to fit the record: the end of a path, the start of a symbol. */
        char sym[200];
        size_t n = strlen(info.dli_fname);
        sh_json_str(j, "object", n > 300 ? info.dli_fname + n - 300 : info.dli_fname);
        sh_json_hex(j, "offset", (unsigned long long)((uintptr_t)caller - (uintptr_t)info.dli_fbase));
        if (info.dli_sname)
            snprintf(sym, sizeof sym, "%s", info.dli_sname);
        sh_json_str(j, "symbol", info.dli_sname ? sym : NULL);
        char id[65];
        if (sh_build_id(caller, id, sizeof id))
            sh_json_str(j, "build_id", id);
    }
    sh_json_close(j, '}');
}

bool sh_log_wants(enum sh_level level)
{
    return atomic_load_explicit(&log_fd, memory_order_relaxed) >= 0 &&
           sh_policy.log_level >= level;
}

static void write_all(int fd, const char *s, size_t n)
{
    /* One write(2) per record is what keeps records whole; a short write
     * (disk full) is not retried, so no record is ever interleaved. */
    ssize_t w;
    do
        w = write(fd, s, n);
    while (w < 0 && errno == EINTR);
}

void sh_log_write(struct sh_json *j)
{
    int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);
    if (fd < 0)
        return;
    put(j, "}\n", 2);
    if (j->overflow) {
        char small[160];
        struct sh_json s;
        const char *ev = strstr(j->buf, "\"ev\":\"");
        char name[24] = "?";
        for (size_t i = 0; ev && i < sizeof name - 1 && ev[6 + i] && ev[6 + i] != '"'; i++)
            name[i] = ev[6 + i], name[i + 1] = '\0';
        sh_json_begin(&s, small, sizeof small, "error");
        sh_json_str(&s, "msg", "record too long, dropped");
        sh_json_str(&s, "dropped_ev", name);
        put(&s, "}\n", 2);
        write_all(fd, s.buf, s.len);
        return;
    }
    write_all(fd, j->buf, j->len);
}

/* "safehalf: MSG" and a newline on stderr, in one write. */
static void say_line(const char *msg)
{
    char line[SH_DIAG_LEN + 16];
    int n = snprintf(line, sizeof line, "safehalf: %s\n", msg);
    if (n > 0)
        write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void sh_say(const char *fmt, ...)
{
    char msg[SH_DIAG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    say_line(msg);
}

static void vwarn(const char *fmt, va_list ap)
{
    char msg[SH_DIAG_LEN];
    vsnprintf(msg, sizeof msg, fmt, ap);
    say_line(msg);
    if (atomic_load_explicit(&log_fd, memory_order_relaxed) > 2) {
        char buf[2 * SH_DIAG_LEN + 128];
        struct sh_json j;
        sh_json_begin(&j, buf, sizeof buf, "warn");
        sh_json_str(&j, "msg", msg);
        sh_log_write(&j);
    }
}

void sh_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
}

/* The command line write_argv reads: at most ARGV_BYTES - 1 of it. */
#define ARGV_BYTES 4096

static void write_argv(struct sh_json *j)
{
    char args[ARGV_BYTES];
    sh_json_open(j, "argv", '[');
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, args, sizeof args - 1);
        close(fd);
        if (n > 0) {
            args[n] = '\0';
            for (char *a = args; a < args + n; a += strlen(a) + 1)
                sh_json_str(j, NULL, a);
        }
    }
    sh_json_close(j, ']');
}

/* Whether LD_AUDIT (as the program started) names libsafehalf-audit.so:
 * the auditor lives in a namespace of its own, invisible from here. */
static int audit_module_named(const char *list)
{
    for (const char *e = list; e && *e;) {
        size_t len = strcspn(e, ": \t");
        const char *base = e;
        for (const char *c = e; c < e + len; c++)
            if (*c == '/')
                base = c + 1;
        static const char module[] = "libsafehalf-audit";
        if ((size_t)(e + len - base) >= sizeof module - 1 &&
            strncmp(base, module, sizeof module - 1) == 0)
            return 1;
        e += len;
        e += strspn(e, ": \t");
    }
    return 0;
}

static void write_start(const struct sh_policy *p, const char *path, const char *host)
{
    /* Room for the command line with every byte escaped (6 bytes each),
     * then the rest: a record too long would be dropped, and with it the
     * process's start. Static, not on the stack of whichever thread makes
     * the first call: written once per process, under sh_init's lock. */
    static char buf[6 * ARGV_BYTES + 8192];
    char up[64];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "start");
    sh_json_str(&j, "version", SAFEHALF_VERSION);
    sh_json_str(&j, "run", p->run_id[0] ? p->run_id : NULL);
    extern char **environ;
    const char *rank = sh_rank_env(environ);
    char *end;
    long r = rank ? strtol(rank, &end, 10) : 0;
    if (rank && end != rank && *end == '\0')
        sh_json_int(&j, "rank", r);
    else
        sh_json_str(&j, "rank", rank); /* a rank that is not a number stays a string */
    sh_json_str(&j, "host", host);
    sh_json_int(&j, "ppid", (long long)getppid());
    write_argv(&j);
    sh_json_open(&j, "policy", '{');
    sh_json_str(&j, "mode", sh_mode_name(p->mode));
    sh_json_open(&j, "upcast", '[');
    sh_upcast_names(p->upcast, up, sizeof up);
    /* strtok_r: the program may be inside a strtok loop of its own. */
    char *save;
    for (char *tok = strtok_r(up, ",", &save); tok && strcmp(tok, "none") != 0;
         tok = strtok_r(NULL, ",", &save))
        sh_json_str(&j, NULL, tok);
    sh_json_close(&j, ']');
    sh_json_int(&j, "min_k", p->min_k);
    char check[48];
    sh_check_name(p, check, sizeof check);
    sh_json_str(&j, "check", check);
    sh_json_str(&j, "on_nonfinite", sh_on_nonfinite_name(p->on_nonfinite));
    sh_json_bool(&j, "check_inputs", p->check_inputs);
    sh_json_int(&j, "max_records", p->max_records);
    sh_json_str(&j, "check_capture", sh_check_capture_name(p->check_capture));
    sh_json_int(&j, "pystack", p->pystack);
    sh_json_bool(&j, "backtrace", p->backtrace);
    sh_json_str(&j, "log_level", sh_level_name(p->log_level));
    sh_json_str(&j, "log", path);
    sh_json_str(&j, "config", p->config[0] ? p->config : NULL);
    sh_json_close(&j, '}');
    sh_json_bool(&j, "follow_dlsym", audit_module_named(getenv("LD_AUDIT")));
    sh_json_open(&j, "libs", '{');
    sh_runtime_describe_libs(&j);
    sh_json_close(&j, '}');
    sh_log_write(&j);
}

void sh_log_open(const struct sh_policy *p)
{
    char host[256] = "unknown", path[SH_PATH_MAX];
    int fd;
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    extern char **environ;
    if (sh_expand_log_path(p->log, (long)getpid(), sh_rank_from_env(environ), host, path,
                           sizeof path) != 0) {
        sh_warn("SAFEHALF_LOG=\"%.200s\" expands to a path that is too long; logging disabled",
                p->log);
        return;
    }
    if (strcmp(path, "stderr") == 0) {
        fd = 2;
    } else {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) {
            sh_warn("cannot open log \"%.300s\" (%s); logging disabled, the policy still applies",
                    path, strerror(errno));
            return;
        }
        /* A program started with stdin (or stdout, stderr) closed gets its
         * fd back when it reopens one; and fd 2 and below mean stderr here. */
        if (fd <= 2) {
            int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
            close(fd);
            if (high < 0) {
                sh_warn("cannot keep log \"%.300s\" open (%s); logging disabled, the policy still "
                        "applies", path, strerror(errno));
                return;
            }
            fd = high;
        }
    }
    atomic_store_explicit(&log_fd, fd, memory_order_release);
    write_start(p, path, host);
    for (int i = 0; i < p->ndiag && fd > 2; i++) {
        char buf[2 * SH_DIAG_LEN + 128]; /* every character escaped, at worst */
        struct sh_json j;
        sh_json_begin(&j, buf, sizeof buf, "warn");
        sh_json_str(&j, "msg", p->diag[i]);
        sh_log_write(&j);
    }
}

void sh_log_after_fork(void)
{
    int fd = atomic_exchange(&log_fd, -1);
    if (fd > 2)
        close(fd);
    cached_tid = 0;
}
