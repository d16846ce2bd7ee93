/* Test harness: child processes, key=value output, JSON Lines logs. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

/* ---- files ----------------------------------------------------------------- */

char *hr_mkdtemp(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + strlen(tag ? tag : "t") + 32;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/safehalf-%s-XXXXXX", base, tag ? tag : "t");
    if (!mkdtemp(p)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", p, strerror(errno));
        abort();
    }
    return p;
}

char *hr_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *hr_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int hr_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : -1;
}

int hr_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int hr_count_files(const char *dir, const char *prefix, char **first)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int count = 0;
    struct dirent *de;
    if (first)
        *first = NULL;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (prefix && strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        if (first && !*first)
            *first = xstrdup(de->d_name);
        count++;
    }
    closedir(d);
    return count;
}

/* ---- running a child -------------------------------------------------------- */

static size_t key_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

static int dropped_by_default(const char *entry)
{
    size_t kl = key_len(entry);
    return (kl == 10 && strncmp(entry, "LD_PRELOAD", 10) == 0) ||
           (kl == 8 && strncmp(entry, "LD_AUDIT", 8) == 0) ||
           (kl == 15 && strncmp(entry, "LD_LIBRARY_PATH", 15) == 0) ||
           strncmp(entry, "SAFEHALF_", 9) == 0;
}

static char **build_env(const char *const env[])
{
    size_t n_env = 0, n_over = 0;
    while (environ && environ[n_env])
        n_env++;
    while (env && env[n_over])
        n_over++;
    char **out = xmalloc((n_env + n_over + 1) * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++) {
        const char *e = environ[i];
        size_t kl = key_len(e);
        if (kl == 0 || dropped_by_default(e))
            continue;
        int overridden = 0;
        for (size_t j = 0; j < n_over && !overridden; j++)
            if (key_len(env[j]) == kl && strncmp(env[j], e, kl) == 0)
                overridden = 1;
        if (!overridden)
            out[k++] = (char *)e;
    }
    for (size_t j = 0; j < n_over; j++) {
        if (!strchr(env[j], '='))
            continue; /* removal only */
        /* a later override of the same key wins */
        size_t kl = key_len(env[j]);
        int later = 0;
        for (size_t l = j + 1; l < n_over; l++)
            if (key_len(env[l]) == kl && strncmp(env[l], env[j], kl) == 0)
                later = 1;
        if (!later)
            out[k++] = (char *)env[j];
    }
    out[k] = NULL;
    return out;
}

int hr_run(const char *const argv[], const char *const env[], const char *cwd,
           int timeout_s, hr_result *r)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    char *dir = hr_mkdtemp("run");
    char *outp = hr_path(dir, "stdout"), *errp = hr_path(dir, "stderr");
    char **envp = build_env(env);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc;
    char *saved_cwd = NULL;
    if (cwd) {
        /* posix_spawn_file_actions_addchdir_np needs glibc 2.29; Debian 12
         * has it, but keep to the portable route: chdir around the spawn
         * (Check runs each test in its own forked process). */
        saved_cwd = getcwd(NULL, 0);
        if (chdir(cwd) != 0) {
            rc = errno;
            goto done;
        }
    }
    rc = posix_spawn(&r->pid, argv[0], &fa, NULL, (char *const *)argv, envp);
    if (saved_cwd && chdir(saved_cwd) != 0)
        fprintf(stderr, "harness: chdir back to %s failed\n", saved_cwd);
    if (rc != 0) {
        fprintf(stderr, "harness: posix_spawn %s: %s\n", argv[0], strerror(rc));
        goto done;
    }
    {
        struct timespec start, now, nap = {0, 2000000};
        clock_gettime(CLOCK_MONOTONIC, &start);
        int status = 0;
        for (;;) {
            pid_t w = waitpid(r->pid, &status, WNOHANG);
            if (w == r->pid)
                break;
            if (w < 0 && errno != EINTR) {
                rc = errno;
                goto done;
            }
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (timeout_s > 0 && now.tv_sec - start.tv_sec >= timeout_s) {
                kill(r->pid, SIGKILL);
                waitpid(r->pid, &status, 0);
                r->timed_out = 1;
                break;
            }
            nanosleep(&nap, NULL);
        }
        if (WIFEXITED(status))
            r->exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) {
            r->signal = WTERMSIG(status);
            r->exit_code = 128 + r->signal;
        }
    }
done:
    posix_spawn_file_actions_destroy(&fa);
    free(saved_cwd);
    free(envp);
    r->out = hr_read_file(outp, NULL);
    r->err = hr_read_file(errp, NULL);
    if (!r->out)
        r->out = xstrdup("");
    if (!r->err)
        r->err = xstrdup("");
    unlink(outp);
    unlink(errp);
    rmdir(dir);
    free(outp);
    free(errp);
    free(dir);
    return rc;
}

void hr_result_free(hr_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

const char *hr_describe(const hr_result *r)
{
    static char buf[6144];
    snprintf(buf, sizeof buf,
             "exit=%d signal=%d timed_out=%d\n--- stdout ---\n%.3000s\n--- stderr ---\n%.2000s",
             r->exit_code, r->signal, r->timed_out, r->out ? r->out : "",
             r->err ? r->err : "");
    return buf;
}

/* ---- key=value ---------------------------------------------------------------- */

const char *hr_kv(const char *text, const char *key, char *buf, size_t n)
{
    size_t kl = strlen(key);
    const char *found = NULL;
    size_t found_len = 0;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            found = p + kl + 1;
            found_len = len - kl - 1;
        }
        p = eol ? eol + 1 : NULL;
    }
    if (!found)
        return NULL;
    if (found_len >= n)
        found_len = n - 1;
    memcpy(buf, found, found_len);
    buf[found_len] = '\0';
    return buf;
}

void hr_stats_init(hr_stats *s)
{
    s->dir = hr_mkdtemp("stats");
    s->path = hr_path(s->dir, "stats.txt");
    snprintf(s->env, sizeof s->env, "EMU_STATS=%s", s->path);
}

double hr_stats_num(const hr_stats *s, const char *key)
{
    char *text = hr_read_file(s->path, NULL);
    double v = text ? hr_kv_num(text, key) : NAN;
    free(text);
    return v;
}

void hr_stats_free(hr_stats *s)
{
    remove(s->path);
    remove(s->dir);
    free(s->path);
    free(s->dir);
}

int hr_kv_has(const char *text, const char *key)
{
    char buf[8];
    return hr_kv(text, key, buf, sizeof buf) != NULL;
}

double hr_kv_num(const char *text, const char *key)
{
    char buf[128];
    if (!hr_kv(text, key, buf, sizeof buf) || !buf[0])
        return NAN;
    char *end;
    double v = strtod(buf, &end);
    return *end == '\0' ? v : NAN;
}

int hr_count_lines(const char *text, const char *prefix)
{
    int count = 0;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        if (!prefix || strncmp(p, prefix, strlen(prefix)) == 0)
            count++;
        p = eol ? eol + 1 : NULL;
    }
    return count;
}

int hr_count_lines_containing(const char *text, const char *needle)
{
    int count = 0;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *hit = strstr(p, needle);
        if (hit && (size_t)(hit - p) + strlen(needle) <= len)
            count++;
        p = eol ? eol + 1 : NULL;
    }
    return count;
}

/* ---- JSON ------------------------------------------------------------------------ */

typedef struct {
    const char *p, *end;
} jcur;

static void j_ws(jcur *c)
{
    while (c->p < c->end &&
           (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Parses a string at c->p (a '"'); writes the unescaped text into out (if
 * not NULL, truncated to n-1 chars). Returns 0 on success. */
static int j_string(jcur *c, char *out, size_t n)
{
    size_t k = 0;
    if (c->p >= c->end || *c->p != '"')
        return -1;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"') {
            if (out && n)
                out[k < n ? k : n - 1] = '\0';
            return 0;
        }
        if (ch < 0x20)
            return -1;
        if (ch == '\\') {
            if (c->p >= c->end)
                return -1;
            char e = *c->p++;
            switch (e) {
            case '"': ch = '"'; break;
            case '\\': ch = '\\'; break;
            case '/': ch = '/'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    if (c->p >= c->end || hexval(*c->p) < 0)
                        return -1;
                    v = v * 16 + (unsigned)hexval(*c->p++);
                }
                ch = v < 0x80 ? (unsigned char)v : '?';
                break;
            }
            default:
                return -1;
            }
        }
        if (out && k + 1 < n)
            out[k] = (char)ch;
        k++;
    }
    return -1;
}

static int j_value(jcur *c, int depth);

static int j_number(jcur *c)
{
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p >= c->end)
        return -1;
    if (*c->p == '0')
        c->p++;
    else if (*c->p >= '1' && *c->p <= '9')
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    else
        return -1;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        const char *d = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
        if (c->p == d)
            return -1;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        const char *d = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
        if (c->p == d)
            return -1;
    }
    return c->p > s ? 0 : -1;
}

static int j_literal(jcur *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || strncmp(c->p, lit, n) != 0)
        return -1;
    c->p += n;
    return 0;
}

static int j_object(jcur *c, int depth)
{
    if (depth > 64 || c->p >= c->end || *c->p != '{')
        return -1;
    c->p++;
    j_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        j_ws(c);
        if (j_string(c, NULL, 0) != 0)
            return -1;
        j_ws(c);
        if (c->p >= c->end || *c->p != ':')
            return -1;
        c->p++;
        j_ws(c);
        if (j_value(c, depth + 1) != 0)
            return -1;
        j_ws(c);
        if (c->p >= c->end)
            return -1;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        return -1;
    }
}

static int j_array(jcur *c, int depth)
{
    if (depth > 64 || c->p >= c->end || *c->p != '[')
        return -1;
    c->p++;
    j_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    for (;;) {
        j_ws(c);
        if (j_value(c, depth + 1) != 0)
            return -1;
        j_ws(c);
        if (c->p >= c->end)
            return -1;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == ']') {
            c->p++;
            return 0;
        }
        return -1;
    }
}

static int j_value(jcur *c, int depth)
{
    if (c->p >= c->end)
        return -1;
    switch (*c->p) {
    case '{': return j_object(c, depth);
    case '[': return j_array(c, depth);
    case '"': return j_string(c, NULL, 0);
    case 't': return j_literal(c, "true");
    case 'f': return j_literal(c, "false");
    case 'n': return j_literal(c, "null");
    default: return j_number(c);
    }
}

int hr_json_is_object(const char *s, size_t len)
{
    jcur c = {s, s + len};
    j_ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return 0;
    if (j_object(&c, 0) != 0)
        return 0;
    j_ws(&c);
    return c.p == c.end;
}

static int j_type(char ch)
{
    switch (ch) {
    case '"': return 's';
    case '{': return 'o';
    case '[': return 'a';
    case 't':
    case 'f': return 'b';
    case 'n': return 'z';
    default: return 'n';
    }
}

int hr_json_get(const char *s, const char *path, char *buf, size_t n)
{
    jcur c = {s, s + strlen(s)};
    const char *comp = path;
    if (buf && n)
        buf[0] = '\0';
    j_ws(&c);
    for (;;) {
        const char *dot = strchr(comp, '.');
        size_t clen = dot ? (size_t)(dot - comp) : strlen(comp);
        /* c.p is at an object: find member comp */
        if (c.p >= c.end || *c.p != '{')
            return 0;
        c.p++;
        j_ws(&c);
        if (c.p < c.end && *c.p == '}')
            return 0;
        int found = 0;
        for (;;) {
            char key[256];
            j_ws(&c);
            if (j_string(&c, key, sizeof key) != 0)
                return 0;
            j_ws(&c);
            if (c.p >= c.end || *c.p != ':')
                return 0;
            c.p++;
            j_ws(&c);
            if (strlen(key) == clen && strncmp(key, comp, clen) == 0) {
                found = 1;
                break;
            }
            if (j_value(&c, 1) != 0)
                return 0;
            j_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                continue;
            }
            return 0; /* '}' or garbage: not found */
        }
        if (!found)
            return 0;
        if (dot) {
            comp = dot + 1;
            continue;
        }
        /* the value */
        int t = j_type(*c.p);
        if (t == 's')
            return j_string(&c, buf, n) == 0 ? 's' : 0;
        const char *start = c.p;
        if (j_value(&c, 1) != 0)
            return 0;
        if (buf && n) {
            size_t len = (size_t)(c.p - start);
            if (len >= n)
                len = n - 1;
            memcpy(buf, start, len);
            buf[len] = '\0';
        }
        return t;
    }
}

double hr_json_num(const char *s, const char *path)
{
    char buf[64];
    if (hr_json_get(s, path, buf, sizeof buf) != 'n')
        return NAN;
    return strtod(buf, NULL);
}

int hr_json_str_is(const char *s, const char *path, const char *want)
{
    char buf[4096];
    return hr_json_get(s, path, buf, sizeof buf) == 's' && strcmp(buf, want) == 0;
}

/* ---- JSON Lines logs ------------------------------------------------------------- */

static void log_split(hr_log *log, int only_objects)
{
    size_t cap = 16;
    log->lines = xmalloc(cap * sizeof *log->lines);
    log->n = 0;
    char *p = log->text;
    while (p && *p) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        if (!only_objects || p[0] == '{') {
            if (log->n == cap) {
                cap *= 2;
                char **nl = realloc(log->lines, cap * sizeof *nl);
                if (!nl)
                    abort();
                log->lines = nl;
            }
            log->lines[log->n++] = p;
        }
        p = eol ? eol + 1 : NULL;
    }
}

int hr_log_load(const char *path, hr_log *log)
{
    memset(log, 0, sizeof *log);
    log->text = hr_read_file(path, NULL);
    if (!log->text)
        return -1;
    log_split(log, 0);
    return 0;
}

void hr_log_from_text(const char *text, hr_log *log)
{
    memset(log, 0, sizeof *log);
    log->text = xstrdup(text ? text : "");
    log_split(log, 1);
}

void hr_log_free(hr_log *log)
{
    free(log->lines);
    free(log->text);
    memset(log, 0, sizeof *log);
}

const char *hr_log_dump(const hr_log *log)
{
    static char buf[8192];
    size_t k = 0;
    buf[0] = '\0';
    if (!log->lines)
        return "(no log)";
    for (size_t i = 0; i < log->n && k + 1 < sizeof buf; i++) {
        int w = snprintf(buf + k, sizeof buf - k, "%s\n", log->lines[i]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    return buf;
}

size_t hr_log_count(const hr_log *log, const char *ev)
{
    size_t k = 0;
    for (size_t i = 0; i < log->n; i++)
        if (!ev || hr_json_str_is(log->lines[i], "ev", ev))
            k++;
    return k;
}

const char *hr_log_find(const hr_log *log, const char *ev, size_t idx)
{
    for (size_t i = 0; i < log->n; i++)
        if (!ev || hr_json_str_is(log->lines[i], "ev", ev)) {
            if (idx == 0)
                return log->lines[i];
            idx--;
        }
    return NULL;
}

size_t hr_log_count_where(const hr_log *log, const char *ev, const char *key,
                          const char *value)
{
    size_t k = 0;
    for (size_t i = 0; i < log->n; i++)
        if ((!ev || hr_json_str_is(log->lines[i], "ev", ev)) &&
            hr_json_str_is(log->lines[i], key, value))
            k++;
    return k;
}

const char *hr_log_find_where(const hr_log *log, const char *ev, const char *key,
                              const char *value)
{
    for (size_t i = 0; i < log->n; i++)
        if ((!ev || hr_json_str_is(log->lines[i], "ev", ev)) &&
            hr_json_str_is(log->lines[i], key, value))
            return log->lines[i];
    return NULL;
}

/* ---- running the test applications ---------------------------------------------- */

const char *hr_env_path(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "harness: %s is not set (run the tests through meson test)\n",
                name);
        abort();
    }
    return v;
}

void hr_app_run(hr_app *a, const hr_app_opts *o, const char *app,
                const char *const args[])
{
    static const hr_app_opts none;
    if (!o)
        o = &none;
    memset(a, 0, sizeof *a);
    a->dir = hr_mkdtemp("app");
    a->log_path = hr_path(a->dir, "log.jsonl");

    char *prog = strchr(app, '/') ? xstrdup(app) : hr_path(hr_env_path("SH_APPS_DIR"), app);
    size_t nargs = 0, nenv = 0;
    while (args && args[nargs])
        nargs++;
    while (o->env && o->env[nenv])
        nenv++;
    const char **argv = xmalloc((nargs + 2) * sizeof *argv);
    argv[0] = prog;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = args[i];
    argv[nargs + 1] = NULL;

    char *env_lib = NULL, *env_emu = NULL, *env_log = NULL, *env_audit = NULL;
    const char **envv = xmalloc((nenv + 5) * sizeof *envv);
    size_t k = 0;
    if (o->emu) {
        const char *d = hr_env_path("SH_EMU_DIR");
        env_emu = xmalloc(strlen(d) + 32);
        sprintf(env_emu, "LD_LIBRARY_PATH=%s", d);
        envv[k++] = env_emu;
    }
    if (o->shim) {
        const char *l = hr_env_path("SH_LIB");
        env_lib = xmalloc(strlen(l) + 32);
        sprintf(env_lib, "LD_PRELOAD=%s", l);
        envv[k++] = env_lib;
    }
    if (o->audit) {
        const char *l = hr_env_path("SH_AUDIT_LIB");
        env_audit = xmalloc(strlen(l) + 32);
        sprintf(env_audit, "LD_AUDIT=%s", l);
        envv[k++] = env_audit;
    }
    if (!o->no_log) {
        env_log = xmalloc(strlen(a->log_path) + 32);
        sprintf(env_log, "SAFEHALF_LOG=%s", a->log_path);
        envv[k++] = env_log;
    }
    for (size_t i = 0; i < nenv; i++)
        envv[k++] = o->env[i]; /* later entries win over the defaults above */
    envv[k] = NULL;

    if (hr_run(argv, envv, o->cwd ? o->cwd : a->dir,
               o->timeout_s > 0 ? o->timeout_s : 90, &a->r) != 0)
        a->r.exit_code = -1;
    if (hr_log_load(a->log_path, &a->log) == 0)
        a->have_log = 1;
    free(prog);
    free(argv);
    free(envv);
    free(env_lib);
    free(env_emu);
    free(env_log);
    free(env_audit);
}

void hr_app_free(hr_app *a)
{
    hr_result_free(&a->r);
    hr_log_free(&a->log);
    if (a->dir) {
        DIR *d = opendir(a->dir);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                char *p = hr_path(a->dir, de->d_name);
                unlink(p);
                free(p);
            }
            closedir(d);
        }
        rmdir(a->dir);
    }
    free(a->dir);
    free(a->log_path);
    memset(a, 0, sizeof *a);
}
