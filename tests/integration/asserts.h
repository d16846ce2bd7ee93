/* Assertions the integration tests share: on an app run's key=value output
 * and on the JSON records of its log (harness.h). */
#ifndef SAFEHALF_TEST_ASSERTS_H
#define SAFEHALF_TEST_ASSERTS_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* The end of every integration and real-library test's main: runs the
 * suites of sr, frees it, and gives the exit status. */
static inline int hr_run_suites(SRunner *sr)
{
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* A test's one suite and its one test case, both called name, the case
 * given timeout_s: the case, to add the tests to. */
static inline TCase *hr_one_case(const char *name, int timeout_s, Suite **suite)
{
    *suite = suite_create(name);
    TCase *t = tcase_create(name);
    tcase_set_timeout(t, timeout_s);
    suite_add_tcase(*suite, t);
    return t;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define ENV(...) ((const char *const[]){ __VA_ARGS__, NULL })

#define ASSERT_OK(a) \
    ck_assert_msg((a)->r.exit_code == 0, "app failed\n%s", hr_describe(&(a)->r))
/* The app was ended by signal sig (SIGSEGV, ...). */
#define ASSERT_KILLED_BY(a, sig)                                                            \
    ck_assert_msg((a)->r.signal == (sig), "expected " #sig "\n%s", hr_describe(&(a)->r))

/* Exact value of key in the app's stdout (a NaN expected matches a NaN). */
#define ASSERT_KV(a, key, want)                                                             \
    do {                                                                                    \
        double v_ = hr_kv_num((a)->r.out, key), w_ = (want);                                \
        ck_assert_msg(v_ == w_ || (isnan(w_) && isnan(v_)), "%s=%.9g, expected %.9g\n%s",   \
                      key, v_, w_, hr_describe(&(a)->r));                                   \
    } while (0)

#define ASSERT_JNUM(rec, path, want)                                                        \
    do {                                                                                    \
        double v_ = hr_json_num(rec, path), w_ = (want);                                    \
        ck_assert_msg(v_ == w_, "%s = %.9g, expected %.9g in %s", path, v_, w_, rec);        \
    } while (0)

#define ASSERT_JSTR(rec, path, want)                                                        \
    ck_assert_msg(hr_json_str_is(rec, path, want), "%s is not \"%s\" in %s", path, want, rec)

/* The GEMM a call or nonfinite record describes: its shape and types. */
#define ASSERT_SHAPE(rec, m, n, k, batch, atype, btype, ctype)                              \
    do {                                                                                    \
        ASSERT_JNUM(rec, "m", m);                                                           \
        ASSERT_JNUM(rec, "n", n);                                                           \
        ASSERT_JNUM(rec, "k", k);                                                           \
        ASSERT_JNUM(rec, "batch", batch);                                                   \
        ASSERT_JSTR(rec, "atype", atype);                                                   \
        ASSERT_JSTR(rec, "btype", btype);                                                   \
        ASSERT_JSTR(rec, "ctype", ctype);                                                   \
    } while (0)

#define ASSERT_JTYPE(rec, path, type)                                                       \
    ck_assert_msg(hr_json_get(rec, path, NULL, 0) == (type), "%s is not of type %c in %s",  \
                  path, type, rec)

#define ASSERT_ABSENT(rec, path)                                                            \
    ck_assert_msg(hr_json_get(rec, path, NULL, 0) == 0, "%s present in %s", path, rec)

/* The run's summary record; fails the test when there is none. */
static inline const char *summary_record(const hr_app *a)
{
    const char *s = a->have_log ? hr_log_find(&a->log, "summary", 0) : NULL;
    ck_assert_msg(s != NULL, "no summary record\n%s\n%s", hr_describe(&a->r),
                  a->have_log ? hr_log_dump(&a->log) : "(no log)");
    return s;
}

/* The one record of kind ev whose api is api; fails the test otherwise. */
static inline const char *api_record(const hr_app *a, const char *ev, const char *api)
{
    ck_assert_msg(a->have_log, "no log\n%s", hr_describe(&a->r));
    size_t n = hr_log_count_where(&a->log, ev, "api", api);
    ck_assert_msg(n == 1, "%zu %s records for %s\n%s", n, ev, api, hr_log_dump(&a->log));
    return hr_log_find_where(&a->log, ev, "api", api);
}

/* The summary's apis.<api>.<what> (calls, upcasts, checked, nonfinite). */
static inline double api_summary(const hr_app *a, const char *api, const char *what)
{
    char path[160];
    snprintf(path, sizeof path, "apis.%s.%s", api, what);
    return hr_json_num(summary_record(a), path);
}

/* c ran with the audit module too (LD_AUDIT), a without the shim, b with the
 * shim alone (both c and b at log level trace): the program's output and
 * exit status are a's, and the shim recorded as many calls as in b, each
 * seen once (NVIDIA's own lookups left to them). */
static inline void assert_audit_changes_nothing(const hr_app *a, const hr_app *b, const hr_app *c)
{
    ck_assert_msg(c->r.exit_code == a->r.exit_code && strcmp(a->r.out, c->r.out) == 0,
                  "without the shim:\n%s\nwith the audit module too:\n%s", a->r.out,
                  hr_describe(&c->r));
    ck_assert_msg(hr_log_count(&c->log, "call") == hr_log_count(&b->log, "call") &&
                      hr_log_count(&b->log, "call") > 0,
                  "%zu call records with the audit module, %zu without",
                  hr_log_count(&c->log, "call"), hr_log_count(&b->log, "call"));
}

#endif
