#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every SAFEHALF_* name the project knows; anything else with the prefix is
 * most likely a typo, and silently ignoring it would hide that.
 * The settings that carry a value into the policy come first, in setters[]
 * order; then CONFIG, then LIB. */
static const char *const known_vars[] = {
    "SAFEHALF_MODE", "SAFEHALF_UPCAST", "SAFEHALF_MIN_K", "SAFEHALF_LOG",
    "SAFEHALF_LOG_LEVEL", "SAFEHALF_CHECK", "SAFEHALF_ON_NONFINITE",
    "SAFEHALF_CHECK_INPUTS", "SAFEHALF_MAX_RECORDS", "SAFEHALF_CHECK_CAPTURE",
    "SAFEHALF_PYSTACK", "SAFEHALF_BACKTRACE", "SAFEHALF_RUN_ID",
    "SAFEHALF_CONFIG",
    "SAFEHALF_LIB", /* read by the safehalf command, not the shim */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define NKNOWN COUNT(known_vars)

static const char *const mode_names[] = { "upcast", "observe", "off" };
static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };
/* In SH_UP_* bit order: family i is bit 1 << i. */
static const char *const family_names[] = { "gemm", "splitk", "fast16f", "reduce", "lt", "cudnn" };
_Static_assert(SH_UP_ALL == (1u << COUNT(family_names)) - 1, "one family name per SH_UP_* bit");
static const char *const on_nonfinite_names[] = { "log", "saturate", "abort" };
static const char *const capture_names[] = { "scan", "skip" };
/* Pairs: index i is false for even i, true for odd i. */
static const char *const bool_names[] = { "0", "1", "false", "true", "no", "yes", "off", "on" };

#define DEFAULT_LOG "safehalf-%p.jsonl"

struct ctx {
    struct sh_policy *p;
    sh_diag_fn diag;
    void *diag_ctx;
};

static void complain(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void complain(struct ctx *c, const char *fmt, ...)
{
    char raw[SH_DIAG_LEN], line[SH_DIAG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* One line whatever the value holds: a control character in it (a
     * newline pasted into a variable or a config file) is written as \n,
     * \r, \t or \xNN. */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *s = (const unsigned char *)raw; *s && o + 5 < sizeof line; s++) {
        if (*s >= 0x20 && *s != 0x7f) {
            line[o++] = (char)*s;
            continue;
        }
        char esc = *s == '\n' ? 'n' : *s == '\r' ? 'r' : *s == '\t' ? 't' : 0;
        line[o++] = '\\';
        if (esc) {
            line[o++] = esc;
        } else {
            line[o++] = 'x';
            line[o++] = hex[*s >> 4];
            line[o++] = hex[*s & 15];
        }
    }
    line[o] = '\0';
    if (c->p->ndiag < SH_DIAG_MAX)
        memcpy(c->p->diag[c->p->ndiag++], line, sizeof line);
    if (c->diag)
        c->diag(line, c->diag_ctx);
}

void sh_policy_defaults(struct sh_policy *p)
{
    memset(p, 0, sizeof *p);
    p->mode = SH_MODE_UPCAST;
    p->upcast = SH_UP_ALL;
    p->min_k = 0;
    p->log_level = SH_LEVEL_INFO;
    p->check = SH_CHECK_ALL;
    p->check_every = 1;
    p->on_nonfinite = SH_ON_LOG;
    p->check_inputs = false;
    p->max_records = 10;
    p->pystack = 8;
    p->backtrace = false;
    p->check_capture = SH_CAPTURE_SCAN;
    snprintf(p->log, sizeof p->log, "%s", DEFAULT_LOG);
}

const char *sh_mode_name(enum sh_mode m)
{
    return (unsigned)m < COUNT(mode_names) ? mode_names[m] : "?";
}

const char *sh_level_name(enum sh_level l)
{
    return (unsigned)l < COUNT(level_names) ? level_names[l] : "?";
}

const char *sh_on_nonfinite_name(enum sh_on_nonfinite a)
{
    return (unsigned)a < COUNT(on_nonfinite_names) ? on_nonfinite_names[a] : "?";
}

const char *sh_check_capture_name(enum sh_check_capture c)
{
    return (unsigned)c < COUNT(capture_names) ? capture_names[c] : "?";
}

void sh_check_name(const struct sh_policy *p, char *out, size_t outsz)
{
    switch (p->check) {
    case SH_CHECK_OFF: snprintf(out, outsz, "off"); break;
    case SH_CHECK_ALL: snprintf(out, outsz, "all"); break;
    case SH_CHECK_SYNC: snprintf(out, outsz, "sync"); break;
    case SH_CHECK_EVERY: snprintf(out, outsz, "every:%lld", p->check_every); break;
    default: snprintf(out, outsz, "?"); break;
    }
}

void sh_upcast_names(unsigned bits, char *out, size_t outsz)
{
    size_t len = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < COUNT(family_names); i++) {
        if (!(bits & (1u << i)))
            continue;
        int n = snprintf(out + len, outsz - len, "%s%s", len ? "," : "", family_names[i]);
        if (n < 0 || (size_t)n >= outsz - len)
            return;
        len += (size_t)n;
    }
    if (len == 0)
        snprintf(out, outsz, "none");
}

static int pick(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(v, names[i]) == 0)
            return i;
    return -1;
}

static void list_names(const char *const *names, int n, char *out, size_t outsz)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len < outsz; i++) {
        int w = snprintf(out + len, outsz - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            return;
        len += (size_t)w;
    }
}

static void bad_choice(struct ctx *c, const char *var, const char *val,
                       const char *const *names, int n, const char *def)
{
    char acc[128];
    list_names(names, n, acc, sizeof acc);
    complain(c, "%s=\"%s\" is not valid (accepted: %s); using %s", var, val, acc, def);
}

/* A value that must be one of names[]: its index, or after a complaint the
 * index of the default. */
static int choose(struct ctx *c, const char *var, const char *v, const char *const *names,
                  int n, int def)
{
    int i = pick(v, names, n);
    if (i >= 0)
        return i;
    bad_choice(c, var, v, names, n, names[def]);
    return def;
}

static void set_mode(struct ctx *c, const char *v)
{
    c->p->mode = (enum sh_mode)choose(c, "SAFEHALF_MODE", v, mode_names,
                                      (int)COUNT(mode_names), SH_MODE_UPCAST);
}

static void set_level(struct ctx *c, const char *v)
{
    c->p->log_level = (enum sh_level)choose(c, "SAFEHALF_LOG_LEVEL", v, level_names,
                                            (int)COUNT(level_names), SH_LEVEL_INFO);
}

static void set_on_nonfinite(struct ctx *c, const char *v)
{
    c->p->on_nonfinite = (enum sh_on_nonfinite)choose(
        c, "SAFEHALF_ON_NONFINITE", v, on_nonfinite_names, (int)COUNT(on_nonfinite_names),
        SH_ON_LOG);
}

static void set_check_capture(struct ctx *c, const char *v)
{
    c->p->check_capture = (enum sh_check_capture)choose(
        c, "SAFEHALF_CHECK_CAPTURE", v, capture_names, (int)COUNT(capture_names),
        SH_CAPTURE_SCAN);
}

static void set_bool(struct ctx *c, const char *name, const char *v, bool *out)
{
    int i = pick(v, bool_names, (int)COUNT(bool_names));
    if (i < 0)
        complain(c, "%s=\"%s\" is not valid (accepted: 0, 1, or true/false, yes/no, on/off); "
                    "using 0", name, v);
    else
        *out = i % 2 == 1;
}

static void set_check_inputs(struct ctx *c, const char *v)
{
    set_bool(c, "SAFEHALF_CHECK_INPUTS", v, &c->p->check_inputs);
}

static void set_backtrace(struct ctx *c, const char *v)
{
    set_bool(c, "SAFEHALF_BACKTRACE", v, &c->p->backtrace);
}

/* The safehalf command's tag for the logs of one run: it goes into every
 * start record as a JSON string, so only characters that need no escaping. */
static void set_run_id(struct ctx *c, const char *v)
{
    size_t n = strlen(v);
    bool ok = n > 0 && n <= SH_RUN_ID_MAX && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "abcdefghijklmnopqrstuvwxyz"
                                                       "0123456789._:-") == n;
    if (!ok)
        complain(c, "SAFEHALF_RUN_ID=\"%.80s\" is not valid (accepted: 1 to %d letters, digits "
                    "and . _ : -); using none", v, SH_RUN_ID_MAX);
    else
        memcpy(c->p->run_id, v, n + 1);
}

static void set_upcast(struct ctx *c, const char *v)
{
    unsigned bits = 0;
    int ok = 1;
    if (strcasecmp(v, "all") == 0) {
        bits = SH_UP_ALL;
    } else if (strcasecmp(v, "none") == 0) {
        bits = 0;
    } else {
        char tok[64];
        const char *s = v;
        ok = *s != '\0';
        while (ok && *s) {
            size_t n = strcspn(s, ",");
            const char *b = s, *e = s + n;
            while (b < e && isspace((unsigned char)*b))
                b++;
            while (e > b && isspace((unsigned char)e[-1]))
                e--;
            if ((size_t)(e - b) >= sizeof tok || e == b) {
                ok = 0;
                break;
            }
            memcpy(tok, b, (size_t)(e - b));
            tok[e - b] = '\0';
            int i = pick(tok, family_names, (int)COUNT(family_names));
            if (i < 0) {
                ok = 0;
                break;
            }
            bits |= 1u << i;
            s += n;
            if (*s == ',')
                s++;
        }
    }
    if (!ok)
        complain(c, "SAFEHALF_UPCAST=\"%s\" is not valid (accepted: all, none, or a comma list "
                    "of gemm, splitk, fast16f, reduce, lt, cudnn); using all", v);
    else
        c->p->upcast = bits;
}

/* A plain decimal whole number >= min: no sign, no spaces, no overflow. */
static bool whole_number(const char *v, long long min, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno || n < min)
        return false;
    *out = n;
    return true;
}

static void set_min_k(struct ctx *c, const char *v)
{
    if (!whole_number(v, 0, &c->p->min_k))
        complain(c, "SAFEHALF_MIN_K=\"%s\" is not valid (accepted: a whole number >= 0); using 0", v);
}

static void set_max_records(struct ctx *c, const char *v)
{
    if (!whole_number(v, 0, &c->p->max_records))
        complain(c, "SAFEHALF_MAX_RECORDS=\"%s\" is not valid (accepted: a whole number >= 0); "
                    "using 10", v);
}

static void set_pystack(struct ctx *c, const char *v)
{
    long long n;
    if (!whole_number(v, 0, &n) || n > SH_PYSTACK_MAX)
        complain(c, "SAFEHALF_PYSTACK=\"%s\" is not valid (accepted: a whole number from 0 to %d; "
                    "0 = no Python call sites); using 8", v, SH_PYSTACK_MAX);
    else
        c->p->pystack = (int)n;
}

static void set_check(struct ctx *c, const char *v)
{
    static const char *const names[] = { "off", "all", "sync" };
    static const enum sh_check modes[] = { SH_CHECK_OFF, SH_CHECK_ALL, SH_CHECK_SYNC };
    int i = pick(v, names, (int)COUNT(names));
    long long n;
    if (i >= 0) {
        c->p->check = modes[i];
        c->p->check_every = 1;
    } else if (strncasecmp(v, "every:", 6) == 0 && whole_number(v + 6, 1, &n)) {
        /* every:1 is all; storing it as such keeps one spelling per behaviour. */
        c->p->check = n == 1 ? SH_CHECK_ALL : SH_CHECK_EVERY;
        c->p->check_every = n;
    } else {
        complain(c, "SAFEHALF_CHECK=\"%s\" is not valid (accepted: off, all, every:N with N >= 1, "
                    "sync); using all", v);
    }
}

static void set_log(struct ctx *c, const char *v)
{
    if (v[0] == '\0' || strlen(v) >= sizeof c->p->log)
        complain(c, "SAFEHALF_LOG=\"%.200s\" is not valid (accepted: a file path, %%p/%%r/%%h "
                    "patterns, or stderr); using safehalf-%%p.jsonl", v);
    else
        snprintf(c->p->log, sizeof c->p->log, "%s", v);
}

typedef void (*setter)(struct ctx *, const char *);
/* In known_vars order. */
static const setter setters[] = {
    set_mode, set_upcast, set_min_k, set_log, set_level,
    set_check, set_on_nonfinite, set_check_inputs, set_max_records, set_check_capture,
    set_pystack, set_backtrace, set_run_id,
};

#define NSETTINGS COUNT(setters)
#define CONFIG_INDEX NSETTINGS
_Static_assert(NKNOWN == NSETTINGS + 2,
               "known_vars must be the settings (one per setter), then CONFIG, then LIB");

static int known_index(const char *name, size_t len)
{
    for (size_t i = 0; i < NKNOWN; i++)
        if (strlen(known_vars[i]) == len && strncmp(known_vars[i], name, len) == 0)
            return (int)i;
    return -1;
}

/* where: "" or "path:line: ". The typo is cut at 64 characters and the path
 * at 120 (see read_config) so that the list, which is the useful part, always
 * fits in SH_DIAG_LEN; the unit test checks that with both at their longest. */
static void unknown_var(struct ctx *c, const char *where, const char *name, size_t len)
{
    char known[SH_DIAG_LEN];
    list_names(known_vars, (int)NKNOWN, known, sizeof known);
    complain(c, "%s%.*s is not a known variable (known: %s); ignored",
             where, (int)(len > 64 ? 64 : len), name, known);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Reads the config file into vals[] (one slot per setting); strdup'd. */
static void read_config(struct ctx *c, const char *path, char *vals[])
{
    FILE *f = fopen(path, "re");
    if (!f) {
        complain(c, "SAFEHALF_CONFIG=\"%.200s\" cannot be read (%s); using the environment "
                    "and defaults", path, strerror(errno));
        return;
    }
    char line[2048];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        /* A line longer than the buffer is refused whole: read in pieces,
         * its tail would pass for a line of its own. */
        if (!strchr(line, '\n') && !feof(f)) {
            int ch;
            while ((ch = getc(f)) != EOF && ch != '\n')
                ;
            complain(c, "%.200s:%d: line longer than %d bytes; line ignored", path, lineno,
                     (int)sizeof line - 2);
            continue;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            complain(c, "%.200s:%d: expected KEY=VALUE, got \"%.60s\"; line ignored", path, lineno, s);
            continue;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
            val[vl - 1] = '\0';
            val++;
        }
        int i = known_index(key, strlen(key));
        if (i < 0) {
            char where[256];
            snprintf(where, sizeof where, "%.120s:%d: ", path, lineno);
            unknown_var(c, where, key, strlen(key));
            continue;
        }
        if ((size_t)i >= NSETTINGS)
            continue;
        free(vals[i]);
        vals[i] = strdup(val);
    }
    fclose(f);
}

void sh_policy_load(struct sh_policy *p, char *const *envp, sh_diag_fn diag, void *dctx)
{
    struct ctx c = { p, diag, dctx };
    const char *env[NKNOWN] = { 0 };
    sh_policy_defaults(p);

    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, "SAFEHALF_", 9) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
        int i = known_index(*e, len);
        if (i < 0)
            unknown_var(&c, "", *e, len);
        else if (eq)
            env[i] = eq + 1;
    }

    char *file_vals[NSETTINGS] = { 0 };
    const char *cfg = env[CONFIG_INDEX];
    if (cfg && *cfg) {
        snprintf(p->config, sizeof p->config, "%s", cfg);
        read_config(&c, cfg, file_vals);
    }
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *v = env[i] ? env[i] : file_vals[i];
        if (v)
            setters[i](&c, v);
        free(file_vals[i]);
    }
}

int sh_expand_log_path(const char *pat, long pid, const char *rank, const char *host,
                       char *out, size_t outsz)
{
    size_t len = 0;
    for (const char *s = pat; *s; s++) {
        char num[32];
        const char *piece = NULL;
        if (s[0] == '%' && s[1]) {
            switch (s[1]) {
            case 'p': snprintf(num, sizeof num, "%ld", pid); piece = num; break;
            case 'r': piece = rank; break;
            case 'h': piece = host; break;
            case '%': piece = "%"; break;
            default: break;
            }
            if (piece)
                s++;
        }
        size_t n = piece ? strlen(piece) : 1;
        if (len + n >= outsz)
            return -1;
        memcpy(out + len, piece ? piece : s, n);
        len += n;
    }
    out[len] = '\0';
    return 0;
}

const char *sh_rank_env(char *const *envp)
{
    static const char *const vars[] = { "RANK=", "LOCAL_RANK=", "SLURM_PROCID=", "OMPI_COMM_WORLD_RANK=" };
    for (size_t v = 0; v < 4; v++) {
        size_t n = strlen(vars[v]);
        for (char *const *e = envp; e && *e; e++)
            if (strncmp(*e, vars[v], n) == 0 && (*e)[n])
                return *e + n;
    }
    return NULL;
}

const char *sh_rank_from_env(char *const *envp)
{
    const char *r = sh_rank_env(envp);
    return r ? r : "0";
}
