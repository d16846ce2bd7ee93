#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

static atomic_int log_fd = -1;
static _Thread_local long cached_tid;

static long current_tid(void)
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

static void putf(struct sh_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct sh_json *j, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(j, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_escaped(struct sh_json *j, const char *s)
{
    put(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = { '\\', (char)*p };
            put(j, e, 2);
        } else if (*p < 0x20) {
            putf(j, "\\u%04x", *p);
        } else {
            put(j, (const char *)p, 1);
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

void sh_json_begin(struct sh_json *j, char *buf, size_t cap, const char *ev)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    j->buf = buf;
    j->cap = cap;
    j->len = 0;
    j->overflow = false;
    buf[0] = '\0';
    put(j, "{", 1);
    sh_json_str(j, "ev", ev);
    key(j, "t");
    putf(j, "%lld.%06ld", (long long)ts.tv_sec, ts.tv_nsec / 1000);
    sh_json_int(j, "pid", (long long)getpid());
    sh_json_int(j, "tid", current_tid());
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
    putf(j, "%lld", val);
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
        if (ev)
            sscanf(ev + 6, "%23[^\"]", name);
        sh_json_begin(&s, small, sizeof small, "error");
        sh_json_str(&s, "msg", "record too long, dropped");
        sh_json_str(&s, "dropped_ev", name);
        put(&s, "}\n", 2);
        write_all(fd, s.buf, s.len);
        return;
    }
    write_all(fd, j->buf, j->len);
}

static void vwarn(const char *fmt, va_list ap)
{
    char msg[512], line[540];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int n = snprintf(line, sizeof line, "safehalf: %s\n", msg);
    if (n > 0)
        write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    if (atomic_load_explicit(&log_fd, memory_order_relaxed) > 2) {
        char buf[768];
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

static void write_argv(struct sh_json *j)
{
    char args[4096];
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

static void write_start(const struct sh_policy *p, const char *path)
{
    char buf[8192], up[64];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "start");
    sh_json_str(&j, "version", SAFEHALF_VERSION);
    write_argv(&j);
    sh_json_open(&j, "policy", '{');
    sh_json_str(&j, "mode", sh_mode_name(p->mode));
    sh_json_open(&j, "upcast", '[');
    sh_upcast_names(p->upcast, up, sizeof up);
    for (char *tok = strtok(up, ","); tok && strcmp(tok, "none") != 0; tok = strtok(NULL, ","))
        sh_json_str(&j, NULL, tok);
    sh_json_close(&j, ']');
    sh_json_int(&j, "min_k", p->min_k);
    sh_json_str(&j, "log_level", sh_level_name(p->log_level));
    sh_json_str(&j, "log", path);
    sh_json_str(&j, "config", p->config[0] ? p->config : NULL);
    sh_json_close(&j, '}');
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
    }
    atomic_store_explicit(&log_fd, fd, memory_order_release);
    write_start(p, path);
    for (int i = 0; i < p->ndiag && fd > 2; i++) {
        char buf[512];
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
