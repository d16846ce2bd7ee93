/* Integration tests of call sites on the emulated backend: a Python program
 * (tests/apps/pysite_app.py) makes the einsum overflow call through ctypes
 * from nested functions; the records must name its file, lines and
 * functions. Native programs get "site": null, the native thread name, and
 * with SAFEHALF_BACKTRACE=1 a backtrace; every site gets a site record and
 * per-site counts at exit and on a crash.
 *
 * The app prints the line of each call (line_bmm, line_small) and of the
 * frames leading to bmm (line_attention, line_forward), its calling
 * thread's tid and native name (comm), and qualname=1 when the Python
 * running it names methods Class.method (3.11+).
 *
 * Suite (CK_RUN_SUITE): pysite. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

/* Runs pysite_app.py with args (after the script) under the shim. */
static void run_py(hr_app *a, const char *const *env, const char *const *args)
{
    const char *argv[16] = { hr_env_path("SH_PYSITE_APP") };
    int n = 1;
    for (; args && args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    hr_app_opts o = { .shim = 1, .emu = 1, .env = env };
    hr_app_run(a, &o, hr_env_path("SH_PYTHON"), argv);
    ck_assert_msg(a->have_log, "no log\n%s", hr_describe(&a->r));
}

static void run_native(hr_app *a, const char *const *env, const char *const *args)
{
    hr_app_opts o = { .shim = 1, .emu = 1, .env = env };
    hr_app_run(a, &o, "overflow_app", args);
    ck_assert_msg(a->have_log, "no log\n%s", hr_describe(&a->r));
}

#define ASSERT_HAS(text, needle) \
    ck_assert_msg(strstr(text, needle) != NULL, "no %s in\n%s", needle, text)

/* Line of the first record of type ev in the log, or -1. */
static long line_of(const hr_log *log, const char *ev)
{
    for (size_t i = 0; i < log->n; i++)
        if (hr_json_str_is(log->lines[i], "ev", ev))
            return (long)i;
    return -1;
}

#define ASSERT_BEFORE(log, first, then)                                                    \
    ck_assert_msg(line_of(log, first) >= 0 && line_of(log, first) < line_of(log, then),   \
                  "no %s before %s in\n%s", first, then, hr_log_dump(log))

static long kv(const hr_app *a, const char *key)
{
    double v = hr_kv_num(a->r.out, key);
    ck_assert_msg(v == v, "no %s=\n%s", key, hr_describe(&a->r));
    return (long)v;
}

/* {"file":APP,"line":L,"func":F} for a frame of the app. */
static const char *frame(const hr_app *a, const char *line_key, const char *func,
                         const char *method_of)
{
    static char buf[4][512];
    static int next;
    char *out = buf[next++ % 4];
    char name[128];
    if (method_of && kv(a, "qualname"))
        snprintf(name, sizeof name, "%s.%s", method_of, func);
    else
        snprintf(name, sizeof name, "%s", func);
    snprintf(out, 512, "{\"file\":\"%s\",\"line\":%ld,\"func\":\"%s\"}",
             hr_env_path("SH_PYSITE_APP"), kv(a, line_key), name);
    return out;
}

/* The raw "site" value of a record: an array, or "null". */
static const char *site_of(const char *rec)
{
    static char buf[8192];
    int t = hr_json_get(rec, "site", buf, sizeof buf);
    ck_assert_msg(t == 'a' || t == 'z', "no site in %s", rec);
    return t == 'z' ? "null" : buf;
}

static int frames(const char *site)
{
    int n = 0;
    for (const char *p = site; (p = strstr(p, "\"file\":")); p++)
        n++;
    return n;
}

/* The site record with this call's api and k. */
static const char *site_record(const hr_app *a, long k)
{
    for (size_t i = 0; i < hr_log_count(&a->log, "site"); i++) {
        const char *s = hr_log_find(&a->log, "site", i);
        if (hr_json_num(s, "k") == k)
            return s;
    }
    ck_abort_msg("no site record with k=%ld\n%s", k, hr_log_dump(&a->log));
    return NULL;
}

/* The bmm call's stack, innermost first: bmm, Model.attention, Model.forward. */
static void check_bmm_stack(const hr_app *a, const char *site)
{
    char want[2048];
    snprintf(want, sizeof want, "[%s,%s,%s,", frame(a, "line_bmm", "bmm", NULL),
             frame(a, "line_attention", "attention", "Model"),
             frame(a, "line_forward", "forward", "Model"));
    ck_assert_msg(strncmp(site, want, strlen(want)) == 0, "site %s\nwant %s...", site, want);
}

static void check_gil_mode(const char *gil)
{
    hr_app a;
    run_py(&a, NULL, ARGS("--gil", gil, "--calls", "2"));
    ASSERT_OK(&a);
    ck_assert_int_eq(kv(&a, "inf"), 24);
    ck_assert_int_eq((int)hr_log_count(&a.log, "nonfinite"), 2);
    for (int i = 0; i < 2; i++) {
        const char *rec = hr_log_find(&a.log, "nonfinite", (size_t)i);
        check_bmm_stack(&a, site_of(rec));
        ck_assert_int_eq(hr_json_num(rec, "thread"), kv(&a, "tid"));
        char comm[64];
        ck_assert(hr_kv(a.r.out, "comm", comm, sizeof comm));
        ck_assert(hr_json_str_is(rec, "thread_name", comm));
    }
    /* Both calls came from the same line: one site, counted twice. */
    ck_assert_int_eq((int)hr_log_count(&a.log, "site"), 1);
    const char *s = site_record(&a, 16224);
    check_bmm_stack(&a, site_of(s));
    ck_assert_int_eq(hr_json_num(s, "id"), 1);
    ck_assert_int_eq(hr_json_num(s, "seq"), 2); /* after cublasCreate */
    ck_assert(hr_json_str_is(s, "action", "pass"));
    ck_assert_int_eq(hr_json_num(hr_log_find(&a.log, "nonfinite", 0), "site_id"), 1);
    ASSERT_HAS(hr_log_find(&a.log, "counts", 0), "\"sites\":[[1,2,0,2,2]]");
    hr_app_free(&a);
}

/* ctypes' usual way: the function looked up on the handle CDLL returned
 * (dlsym on libcublas.so.13's handle). Preloaded alone, the shim never
 * sees the call; with the audit module the record names the Python lines. */
START_TEST(site_through_own_handle)
{
    hr_app a, b;
    const char *argv[] = { hr_env_path("SH_PYSITE_APP"), "--own-handle", NULL };
    hr_app_opts o = { .shim = 1, .emu = 1 };
    hr_app_run(&a, &o, hr_env_path("SH_PYTHON"), argv);
    ASSERT_OK(&a);
    ck_assert_int_eq(kv(&a, "inf"), 24);
    ck_assert_msg(!a.have_log, "the shim saw a call:\n%s", hr_log_dump(&a.log));
    o.audit = 1;
    hr_app_run(&b, &o, hr_env_path("SH_PYTHON"), argv);
    ASSERT_OK(&b);
    ck_assert_int_eq(kv(&b, "inf"), 24);
    ck_assert_msg(b.have_log, "no log\n%s", hr_describe(&b.r));
    ck_assert_int_eq((int)hr_log_count(&b.log, "nonfinite"), 1);
    check_bmm_stack(&b, site_of(hr_log_find(&b.log, "nonfinite", 0)));
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* ctypes.CDLL releases the GIL around the call, as PyTorch's ops do: the
 * shim takes it for the lookup. */
START_TEST(site_with_gil_released)
{
    check_gil_mode("released");
}
END_TEST

/* ctypes.PyDLL keeps it. */
START_TEST(site_with_gil_held)
{
    check_gil_mode("held");
}
END_TEST

START_TEST(site_in_python_thread)
{
    hr_app a;
    run_py(&a, NULL, ARGS("--thread", "worker-1"));
    ASSERT_OK(&a);
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ck_assert_ptr_nonnull(rec);
    const char *site = site_of(rec);
    check_bmm_stack(&a, site);
    ASSERT_HAS(site, "\"func\":\"");
    ASSERT_HAS(site, "run\"}");
    ck_assert_int_eq(hr_json_num(rec, "thread"), kv(&a, "tid"));
    hr_app_free(&a);
}
END_TEST

/* Another Python thread keeps the GIL busy: the calls still get their sites
 * (the shim waits its turn for the GIL) and nothing deadlocks. */
START_TEST(site_with_busy_python_thread)
{
    hr_app a;
    run_py(&a, NULL, ARGS("--busy-thread", "--calls", "20"));
    ASSERT_OK(&a);
    ck_assert_int_eq((int)hr_log_count(&a.log, "nonfinite"), 10); /* SAFEHALF_MAX_RECORDS */
    check_bmm_stack(&a, site_of(hr_log_find(&a.log, "nonfinite", 9)));
    ASSERT_HAS(hr_log_find(&a.log, "counts", 0), "\"sites\":[[1,20,0,20,20]]");
    hr_app_free(&a);
}
END_TEST

START_TEST(pystack_depth)
{
    hr_app a;
    run_py(&a, ENV("SAFEHALF_PYSTACK=2"), NULL);
    ASSERT_OK(&a);
    const char *site = site_of(hr_log_find(&a.log, "nonfinite", 0));
    ck_assert_int_eq(frames(site), 2);
    ASSERT_HAS(site, frame(&a, "line_bmm", "bmm", NULL));
    hr_app_free(&a);

    run_py(&a, ENV("SAFEHALF_PYSTACK=0"), NULL);
    ASSERT_OK(&a);
    ck_assert_str_eq(site_of(hr_log_find(&a.log, "nonfinite", 0)), "null");
    ck_assert_str_eq(site_of(hr_log_find(&a.log, "site", 0)), "null");
    /* Without a Python stack the site is the native caller (here libffi). */
    ck_assert(hr_json_get(hr_log_find(&a.log, "site", 0), "caller.object", NULL, 0) == 's');
    hr_app_free(&a);
}
END_TEST

/* More stack text than the table's text holds (450 stacks of 21 frames,
 * each naming a file of about 270 bytes, each cut to 5 KiB): a stack that did not fit is
 * counted in pystacks_dropped and its call attributed to its native caller,
 * as when the table of stacks is full; never a site with neither. */
START_TEST(pystack_text_full)
{
    hr_app a;
    run_py(&a, ENV("SAFEHALF_PYSTACK=32"),
           ARGS("--calls", "0", "--many-stacks", "450", "--nest", "20"));
    ASSERT_OK(&a);
    const char *sum = hr_log_find(&a.log, "summary", 0);
    ck_assert_ptr_nonnull(sum);
    long dropped = (long)hr_json_num(sum, "sites.pystacks_dropped"), framed = 0, native = 0;
    for (size_t i = 0; i < hr_log_count(&a.log, "site"); i++) {
        const char *s = hr_log_find(&a.log, "site", i);
        if (!strstr(s, "\"site\":null"))
            framed++;
        else
            native++;
    }
    ck_assert_int_eq((int)hr_log_count(&a.log, "error"), 0);
    ck_assert_msg(framed > 0 && dropped > 0, "framed %ld dropped %ld", framed, dropped);
    ck_assert_msg(framed + dropped == 450, "framed %ld + dropped %ld != 450", framed, dropped);
    ck_assert_int_eq(native, 1); /* the dropped ones: one native caller (libffi) */
    hr_app_free(&a);
}
END_TEST

/* The deepest stack (SAFEHALF_PYSTACK=32) of frames naming long files
 * (about 270 bytes each, some 10 KiB of text in all): the nonfinite and
 * site records are still written, with the innermost frames that fit. */
START_TEST(deep_stack_of_long_paths)
{
    hr_app a;
    run_py(&a, ENV("SAFEHALF_PYSTACK=32"), ARGS("--calls", "0", "--deep", "40"));
    ASSERT_OK(&a);
    ck_assert_int_eq((int)hr_log_count(&a.log, "error"), 0);
    ck_assert_int_eq((int)hr_log_count(&a.log, "nonfinite"), 1);
    ck_assert_int_eq((int)hr_log_count(&a.log, "site"), 1);
    const char *recs[] = { hr_log_find(&a.log, "nonfinite", 0), hr_log_find(&a.log, "site", 0) };
    for (int i = 0; i < 2; i++) {
        char site[16384];
        ck_assert(hr_json_get(recs[i], "site", site, sizeof site) == 'a');
        ck_assert_msg(strncmp(site + 1, frame(&a, "line_bmm", "bmm", NULL),
                              strlen(frame(&a, "line_bmm", "bmm", NULL))) == 0, "%s", site);
        ck_assert_int_ge(frames(site), 8);
        ck_assert_int_lt(frames(site), 32);
    }
    hr_app_free(&a);
}
END_TEST

/* A file name and a function name longer than the shim keeps, of two-byte
 * UTF-8 characters: cut between characters, never inside one (a byte of a
 * cut character would be written as U+FFFD). */
START_TEST(long_non_ascii_names)
{
    hr_app a;
    run_py(&a, NULL, ARGS("--calls", "0", "--non-ascii"));
    ASSERT_OK(&a);
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ck_assert_ptr_nonnull(rec);
    /* The second frame, raw: {"file":"...","line":2,"func":"..."} */
    const char *end = strstr(rec, "/stack.py\",\"line\":2,\"func\":\"f");
    ck_assert_msg(end != NULL, "%s", rec);
    const char *file = end;
    while (file > rec && strncmp(file, "\"file\":\"", 8) != 0)
        file--;
    file += 8;
    const char *func = end + strlen("/stack.py\",\"line\":2,\"func\":\"");
    size_t file_len = (size_t)(end + 9 - file), func_len = strcspn(func, "\"");
    ck_assert_msg(strstr(rec, "\\ufffd") == NULL, "%s", rec);
    /* The file's end (the last 300 bytes at most), the function's start. */
    ck_assert_msg(file_len >= 290 && file_len <= 300, "%zu in %s", file_len, rec);
    ck_assert_msg(func_len >= 110 && func_len <= 120, "%zu in %s", func_len, rec);
    hr_app_free(&a);
}
END_TEST

/* The call made in a sub-interpreter with the GIL held (ctypes.PyDLL; a C
 * extension that keeps it): before 3.12 the GIL is the process's and the
 * thread holds it through the sub-interpreter's thread state, not its
 * gilstate one, so taking it for the lookup would wait for itself. The
 * program must finish; the call gets no Python site there. */
START_TEST(subinterpreter_with_gil_held)
{
    hr_app a;
    const char *argv[] = { hr_env_path("SH_PYSITE_APP"), "--subinterpreter", "--gil", "held",
                           NULL };
    hr_app_opts o = { .shim = 1, .emu = 1, .timeout_s = 30 };
    hr_app_run(&a, &o, hr_env_path("SH_PYTHON"), argv);
    ASSERT_OK(&a);
    ck_assert_int_eq(kv(&a, "inf"), 24);
    ck_assert_int_eq((int)hr_log_count(&a.log, "nonfinite"), 1);
    hr_app_free(&a);
}
END_TEST

/* Two lines, three calls each: two sites, each with its own counts. */
START_TEST(sites_and_counts)
{
    hr_app a;
    run_py(&a, NULL, ARGS("--two-sites", "--calls", "3"));
    ASSERT_OK(&a);
    ck_assert_int_eq((int)hr_log_count(&a.log, "site"), 2);
    const char *big = site_record(&a, 16224), *small = site_record(&a, 16);
    check_bmm_stack(&a, site_of(big));
    const char *ss = site_of(small);
    ck_assert_msg(strncmp(ss + 1, frame(&a, "line_small", "small", NULL),
                          strlen(frame(&a, "line_small", "small", NULL))) == 0, "%s", ss);
    char want[64];
    snprintf(want, sizeof want, "[%d,3,0,3,3]", (int)hr_json_num(big, "id"));
    ASSERT_HAS(hr_log_find(&a.log, "counts", 0), want);
    snprintf(want, sizeof want, "[%d,3,0,3,0]", (int)hr_json_num(small, "id"));
    ASSERT_HAS(hr_log_find(&a.log, "counts", 0), want);
    const char *sum = hr_log_find(&a.log, "summary", 0);
    ck_assert_ptr_nonnull(sum);
    ck_assert_int_eq(hr_json_num(sum, "sites.tracked"), 2);
    ck_assert_int_eq(hr_json_num(sum, "sites.untracked_calls"), 0);
    /* The counts come before the summary, so a reader has them by then. */
    ASSERT_BEFORE(&a.log, "counts", "summary");
    hr_app_free(&a);
}
END_TEST

/* A native program: no Python site, the caller inside the program, and the
 * calling thread's native name. */
START_TEST(native_site)
{
    hr_app a;
    run_native(&a, NULL, ARGS("--threads", "2"));
    ASSERT_OK(&a);
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ck_assert_ptr_nonnull(rec);
    ck_assert_str_eq(site_of(rec), "null");
    ck_assert(hr_json_str_is(rec, "thread_name", "overflow-worker"));
    const char *s = hr_log_find(&a.log, "site", 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(site_of(s), "null");
    ck_assert(hr_json_str_is(s, "thread_name", "overflow-worker"));
    char obj[1024];
    ck_assert(hr_json_get(s, "caller.object", obj, sizeof obj) == 's');
    ck_assert_msg(strstr(obj, "overflow_app") != NULL, "%s", obj);
    ck_assert(hr_json_get(s, "backtrace", NULL, 0) == 0); /* SAFEHALF_BACKTRACE=0 */
    /* Both threads call from the same address: one site. */
    ck_assert_int_eq((int)hr_log_count(&a.log, "site"), 1);
    ASSERT_HAS(hr_log_find(&a.log, "counts", 0), "\"sites\":[[1,2,0,2,2]]");
    hr_app_free(&a);
}
END_TEST

START_TEST(native_backtrace)
{
    hr_app a;
    run_native(&a, ENV("SAFEHALF_BACKTRACE=1"), NULL);
    ASSERT_OK(&a);
    const char *s = hr_log_find(&a.log, "site", 0);
    ck_assert_ptr_nonnull(s);
    char bt[8192];
    ck_assert(hr_json_get(s, "backtrace", bt, sizeof bt) == 'a');
    /* The program's frames (main among them), none of the shim's. */
    ASSERT_HAS(bt, "overflow_app\"");
    ck_assert_msg(strstr(bt, "libsafehalf") == NULL, "%s", bt);
    ck_assert(hr_json_get(hr_log_find(&a.log, "start", 0), "policy.backtrace", NULL, 0) == 'b');
    hr_app_free(&a);
}
END_TEST

/* A crash after the calls: the counts are written before the crash record. */
START_TEST(counts_on_crash)
{
    hr_app a;
    run_py(&a, ENV("SAFEHALF_CHECK=sync"), ARGS("--calls", "2", "--crash"));
    ck_assert_int_eq(a.r.signal, SIGSEGV);
    ck_assert_int_eq((int)hr_log_count(&a.log, "nonfinite"), 2);
    check_bmm_stack(&a, site_of(hr_log_find(&a.log, "nonfinite", 0)));
    const char *counts = hr_log_find(&a.log, "counts", 0);
    ck_assert_ptr_nonnull(counts);
    ASSERT_HAS(counts, "\"sites\":[[1,2,0,2,2]]");
    ASSERT_BEFORE(&a.log, "counts", "crash");
    ck_assert_int_eq((int)hr_log_count(&a.log, "summary"), 0);
    hr_app_free(&a);
}
END_TEST

/* SIGKILL: what was written stays, nothing more (no counts, no summary). */
START_TEST(killed_keeps_records)
{
    hr_app a;
    run_py(&a, ENV("SAFEHALF_CHECK=sync"), ARGS("--calls", "2", "--kill"));
    ck_assert_int_eq(a.r.signal, SIGKILL);
    ck_assert_int_eq((int)hr_log_count(&a.log, "site"), 1);
    ck_assert_int_eq((int)hr_log_count(&a.log, "nonfinite"), 2);
    ck_assert_int_eq((int)hr_log_count(&a.log, "counts"), 0);
    ck_assert_int_eq((int)hr_log_count(&a.log, "summary"), 0);
    for (size_t i = 0; i < a.log.n; i++)
        ck_assert_msg(hr_json_is_object(a.log.lines[i], strlen(a.log.lines[i])), "%s",
                      a.log.lines[i]);
    hr_app_free(&a);
}
END_TEST

/* SAFEHALF_RUN_ID and the rank reach the start record. */
START_TEST(run_id_and_rank)
{
    hr_app a;
    run_native(&a, ENV("SAFEHALF_RUN_ID=job-42", "RANK=5"), ARGS("--value", "1"));
    ASSERT_OK(&a);
    const char *s = hr_log_find(&a.log, "start", 0);
    ck_assert(hr_json_str_is(s, "run", "job-42"));
    ck_assert_int_eq(hr_json_num(s, "rank"), 5);
    ck_assert(hr_json_get(s, "host", NULL, 0) == 's');
    ck_assert_int_eq(hr_json_num(s, "policy.pystack"), 8);
    hr_app_free(&a);
}
END_TEST

int main(void)
{
    Suite *s;
    TCase *t = hr_one_case("pysite", 120, &s);
    tcase_add_test(t, site_with_gil_released);
    tcase_add_test(t, site_through_own_handle);
    tcase_add_test(t, site_with_gil_held);
    tcase_add_test(t, site_in_python_thread);
    tcase_add_test(t, site_with_busy_python_thread);
    tcase_add_test(t, pystack_depth);
    tcase_add_test(t, pystack_text_full);
    tcase_add_test(t, deep_stack_of_long_paths);
    tcase_add_test(t, long_non_ascii_names);
    tcase_add_test(t, subinterpreter_with_gil_held);
    tcase_add_test(t, sites_and_counts);
    tcase_add_test(t, native_site);
    tcase_add_test(t, native_backtrace);
    tcase_add_test(t, counts_on_crash);
    tcase_add_test(t, killed_keeps_records);
    tcase_add_test(t, run_id_and_rank);
    return hr_run_suites(srunner_create(s));
}
