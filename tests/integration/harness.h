/* Test harness for the integration and real-library tests: run a program as
 * a child with environment overrides and capture its output; read its
 * `key=value` stdout; read and query safehalf's JSON Lines log. */
#ifndef SAFEHALF_TEST_HARNESS_H
#define SAFEHALF_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

/* ---- files and directories ---------------------------------------------- */

/* A fresh private directory under $TMPDIR (or /tmp). Aborts on failure.
 * The returned string is malloc'ed. */
char *hr_mkdtemp(const char *tag);
/* Whole file, NUL-terminated, malloc'ed; NULL if it cannot be read. */
char *hr_read_file(const char *path, size_t *len);
int hr_write_file(const char *path, const char *text);
int hr_exists(const char *path);
/* Number of directory entries (excluding . and ..) whose name starts with
 * prefix (NULL: all); -1 if the directory cannot be read. When first is not
 * NULL it receives the first matching name (malloc'ed). */
int hr_count_files(const char *dir, const char *prefix, char **first);
/* "a" + "/" + "b", malloc'ed. */
char *hr_path(const char *dir, const char *name);

/* ---- running a child ------------------------------------------------------ */

typedef struct {
    pid_t pid;
    int exit_code; /* exit status, or 128 + signal number, or -1 */
    int signal;    /* terminating signal, 0 if it exited */
    int timed_out;
    char *out;     /* stdout, NUL-terminated */
    char *err;     /* stderr, NUL-terminated */
} hr_result;

/* Runs argv[0] (a path) with argv, in cwd (NULL: inherit). The environment
 * is the test's own, minus LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH and every
 * SAFEHALF_* variable, plus env[] (NULL-terminated "KEY=VALUE" strings; a
 * later entry wins; a bare "KEY" removes KEY). stdout and stderr are captured through
 * files in a private temporary directory. The child is killed after
 * timeout_s seconds. Returns 0 if the child could be started. */
int hr_run(const char *const argv[], const char *const env[], const char *cwd,
           int timeout_s, hr_result *r);
void hr_result_free(hr_result *r);
/* A printable summary of a run (exit code, stdout, stderr) for messages;
 * static buffer, overwritten by the next call. */
const char *hr_describe(const hr_result *r);

/* ---- the emulated libraries' stats ------------------------------------------ */

/* EMU_STATS=path: the emulated libraries append key=value lines (syncs,
 * lt_heuristics) to path at exit. env is the entry to run the program
 * with, in a fresh private directory. */
typedef struct {
    char *dir, *path;
    char env[600];
} hr_stats;
void hr_stats_init(hr_stats *s);
/* key's value after the run; NaN when the file or the key is missing. */
double hr_stats_num(const hr_stats *s, const char *key);
void hr_stats_free(hr_stats *s);

/* ---- key=value output ------------------------------------------------------ */

/* Value of the last line `key=value` in text, copied into buf; NULL if the
 * key is absent. */
const char *hr_kv(const char *text, const char *key, char *buf, size_t n);
/* Numeric value (accepts inf/nan); NaN if absent or not a number. */
double hr_kv_num(const char *text, const char *key);
int hr_kv_has(const char *text, const char *key);

/* Lines of text (split on '\n', the last line counted only if non-empty)
 * that start with prefix (NULL: all lines). */
int hr_count_lines(const char *text, const char *prefix);
/* Lines of text that contain needle. */
int hr_count_lines_containing(const char *text, const char *needle);

/* ---- JSON ------------------------------------------------------------------ */

/* 1 if [s, s+len) is exactly one JSON object (with optional surrounding
 * white space), 0 otherwise. Full syntax check, nesting up to 64. */
int hr_json_is_object(const char *s, size_t len);

/* Looks up a dotted path ("ev", "libs.cublas.path", "apis.cublasGemmEx.calls")
 * through nested objects of the JSON object s. Returns the value's type:
 * 's' string (buf gets the unescaped text), 'n' number, 'b' true/false,
 * 'z' null, 'o' object, 'a' array (buf gets the raw text of those), or 0
 * when the path is absent or s is malformed. buf may be NULL. */
int hr_json_get(const char *s, const char *path, char *buf, size_t n);
/* Numeric value at path; NaN if absent or not a number. */
double hr_json_num(const char *s, const char *path);
/* 1 if path holds the string want. */
int hr_json_str_is(const char *s, const char *path, const char *want);

/* A JSON Lines log, split into lines (empty lines are kept, as errors). */
typedef struct {
    char *text;
    char **lines;
    size_t n;
} hr_log;

/* Loads path; returns 0 on success, -1 if the file cannot be read. */
int hr_log_load(const char *path, hr_log *log);
/* Parses a JSON Lines text already in memory (e.g. from stderr): only lines
 * starting with '{' are kept. */
void hr_log_from_text(const char *text, hr_log *log);
void hr_log_free(hr_log *log);
/* The log's lines joined by newlines, for messages (static buffer,
 * truncated, overwritten by the next call). */
const char *hr_log_dump(const hr_log *log);
/* Number of records whose "ev" is ev (NULL: all). */
size_t hr_log_count(const hr_log *log, const char *ev);
/* The idx-th record with "ev" == ev (NULL: any), or NULL. */
const char *hr_log_find(const hr_log *log, const char *ev, size_t idx);
/* Number of records with "ev" == ev and string field key == value. */
size_t hr_log_count_where(const hr_log *log, const char *ev, const char *key,
                          const char *value);
/* The first record with "ev" == ev and string field key == value, or NULL. */
const char *hr_log_find_where(const hr_log *log, const char *ev, const char *key,
                              const char *value);

/* ---- running the test applications ---------------------------------------------- */

/* Paths from the environment the test runner sets: SH_LIB (libsafehalf.so),
 * SH_AUDIT_LIB (libsafehalf-audit.so),
 * SH_EMU_DIR (emulated libcublas & co.), SH_APPS_DIR (tests/apps build dir).
 * Abort with a message when unset. */
const char *hr_env_path(const char *name);

typedef struct {
    int shim;                /* LD_PRELOAD=$SH_LIB */
    int audit;               /* LD_AUDIT=$SH_AUDIT_LIB */
    int emu;                 /* LD_LIBRARY_PATH=$SH_EMU_DIR */
    int no_log;              /* do not set SAFEHALF_LOG=<dir>/log.jsonl */
    const char *const *env;  /* more "KEY=VALUE" (NULL-terminated; may be NULL) */
    const char *cwd;         /* NULL: the run's own directory */
    int timeout_s;           /* 0: 90 s */
} hr_app_opts;

typedef struct {
    hr_result r;
    char *dir;      /* fresh directory of this run (its cwd by default) */
    char *log_path; /* <dir>/log.jsonl, the SAFEHALF_LOG given */
    int have_log;   /* log_path existed after the run and was loaded */
    hr_log log;
} hr_app;

/* Runs app (a name in $SH_APPS_DIR, or a path with '/') with args
 * (NULL-terminated; may be NULL). Loads <dir>/log.jsonl if it exists. */
void hr_app_run(hr_app *a, const hr_app_opts *o, const char *app,
                const char *const args[]);
/* Removes the run's directory (and the files in it) and frees everything. */
void hr_app_free(hr_app *a);

#endif
