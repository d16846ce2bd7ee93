/* Integration tests of the crash record on the emulated backend, with a
 * program that has fatal-signal handlers of its own (tests/apps/signal_app.c):
 * a signal the program handles and goes on after, a fatal signal after such
 * a one, a fault whose handler returns without curing it, an ignored fault.
 *
 * Suite (CK_RUN_SUITE): crash. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

static void run(hr_app *a, const char *const args[])
{
    hr_app_opts o = { .shim = 1, .emu = 1, .timeout_s = 30 };
    hr_app_run(a, &o, "signal_app", args);
    ck_assert_msg(!a->r.timed_out, "the program hung\n%s", hr_describe(&a->r));
    ck_assert_msg(a->have_log, "no log\n%s", hr_describe(&a->r));
}

/* The line of the idx-th record ev (0-based), or the number of lines. */
static size_t line_of(const hr_app *a, const char *ev, size_t idx)
{
    for (size_t i = 0; i < a->log.n; i++)
        if (hr_json_str_is(a->log.lines[i], "ev", ev) && idx-- == 0)
            return i;
    return a->log.n;
}

static void check_crash(const char *rec, int sig, const char *name, int sent)
{
    ck_assert_msg(rec != NULL, "no crash record");
    ASSERT_JNUM(rec, "signal", sig);
    ASSERT_JSTR(rec, "name", name);
    ck_assert_msg(strstr(rec, sent ? "\"sent\":true" : "\"sent\":false"), "%s", rec);
    if (!sent)
        ASSERT_JSTR(rec, "addr", "0x0");
}

/* The log's one crash record, checked as above; it is returned. */
static const char *check_only_crash(const hr_app *a, int sig, const char *name, int sent)
{
    ck_assert_msg(hr_log_count(&a->log, "crash") == 1, "%s", hr_log_dump(&a->log));
    const char *rec = hr_log_find(&a->log, "crash", 0);
    check_crash(rec, sig, name, sent);
    return rec;
}

/* A signal the program's own handler handles: one crash record, the
 * program goes on (another call, from another call site: a site record of
 * the same thread) and exits 0 with its summary. */
START_TEST(survived_signal_then_summary)
{
    hr_app a;
    run(&a, ARGS("return:ABRT", "gemm", "raise:ABRT", "gemm2"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "handled_ABRT", 1);
    ASSERT_KV(&a, "gemm2", 0);
    ASSERT_KV(&a, "c0", 4);
    const char *crash = check_only_crash(&a, SIGABRT, "SIGABRT", 1);
    size_t at = line_of(&a, "crash", 0), site2 = line_of(&a, "site", 1);
    ck_assert_msg(at < site2 && site2 < line_of(&a, "summary", 0), "%s", hr_log_dump(&a.log));
    ck_assert_msg(hr_json_num(a.log.lines[site2], "tid") == hr_json_num(crash, "tid"), "%s",
                  hr_log_dump(&a.log));
    ck_assert_msg(api_summary(&a, "cublasGemmEx", "calls") == 2, "%s", hr_log_dump(&a.log));
    hr_app_free(&a);
}
END_TEST

/* After a signal it survived, the process dies of another: both have
 * their record, the last one last. */
START_TEST(fatal_signal_after_a_survived_one)
{
    hr_app a;
    run(&a, ARGS("return:ABRT", "gemm", "raise:ABRT", "gemm2", "segv"));
    ASSERT_KILLED_BY(&a, SIGSEGV);
    ASSERT_KV(&a, "handled_ABRT", 1);
    ck_assert_msg(hr_log_count(&a.log, "crash") == 2, "%s", hr_log_dump(&a.log));
    check_crash(hr_log_find(&a.log, "crash", 0), SIGABRT, "SIGABRT", 1);
    check_crash(hr_log_find(&a.log, "crash", 1), SIGSEGV, "SIGSEGV", 0);
    ck_assert_msg(line_of(&a, "site", 1) < line_of(&a, "crash", 1), "%s", hr_log_dump(&a.log));
    ck_assert_msg(line_of(&a, "crash", 1) == a.log.n - 1, "%s", hr_log_dump(&a.log));
    ck_assert_uint_eq(hr_log_count(&a.log, "summary"), 0);
    hr_app_free(&a);
}
END_TEST

/* A SIGSEGV handler that siglongjmps out (the shim's handler never
 * returns), then the same fault again, which the handler lets kill the
 * process: two records of the same fault. */
START_TEST(same_fault_after_a_siglongjmp)
{
    hr_app a;
    run(&a, ARGS("jump:SEGV:1", "gemm", "segv", "gemm2", "segv"));
    ASSERT_KILLED_BY(&a, SIGSEGV);
    ASSERT_KV(&a, "handled_SEGV", 1);
    ASSERT_KV(&a, "gemm2", 0);
    ck_assert_msg(hr_log_count(&a.log, "crash") == 2, "%s", hr_log_dump(&a.log));
    check_crash(hr_log_find(&a.log, "crash", 0), SIGSEGV, "SIGSEGV", 0);
    check_crash(hr_log_find(&a.log, "crash", 1), SIGSEGV, "SIGSEGV", 0);
    hr_app_free(&a);
}
END_TEST

/* A handler that returns from a fault without curing it: the instruction
 * faults again at once, 50 times before the handler gives up. One record. */
START_TEST(fault_that_comes_back_is_recorded_once)
{
    hr_app a;
    run(&a, ARGS("return:SEGV:50", "gemm", "segv"));
    ASSERT_KILLED_BY(&a, SIGSEGV);
    check_only_crash(&a, SIGSEGV, "SIGSEGV", 0);
    hr_app_free(&a);
}
END_TEST

/* Signals sent and handled again and again: at most eight records. */
START_TEST(at_most_eight_crash_records)
{
    hr_app a;
    run(&a, ARGS("return:ABRT", "gemm", "raise:ABRT", "raise:ABRT", "raise:ABRT",
                 "raise:ABRT", "raise:ABRT", "kill:ABRT", "kill:ABRT", "kill:ABRT",
                 "kill:ABRT", "kill:ABRT", "gemm2"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "handled_ABRT", 10);
    ck_assert_msg(hr_log_count(&a.log, "crash") == 8, "%s", hr_log_dump(&a.log));
    ck_assert_msg(line_of(&a, "crash", 7) < line_of(&a, "summary", 0), "%s",
                  hr_log_dump(&a.log));
    ck_assert_msg(strstr(hr_log_find(&a.log, "crash", 7), "\"code\":0,"), "kill(2): SI_USER\n%s",
                  hr_log_dump(&a.log));
    hr_app_free(&a);
}
END_TEST

/* abort(3) after a SIGABRT handler returns: still fatal, one record. */
START_TEST(abort_through_a_handler_that_returns)
{
    hr_app a;
    run(&a, ARGS("return:ABRT", "gemm", "abort"));
    ASSERT_KILLED_BY(&a, SIGABRT);
    check_only_crash(&a, SIGABRT, "SIGABRT", 1);
    ck_assert_uint_eq(hr_log_count(&a.log, "summary"), 0);
    hr_app_free(&a);
}
END_TEST

/* A program that ignores SIGSEGV: a fault still ends it, as the kernel
 * ends it without the shim (a fault cannot be ignored), with one record. */
START_TEST(ignored_fault_still_ends_the_process)
{
    hr_app a;
    run(&a, ARGS("ignore:SEGV", "gemm", "segv"));
    ASSERT_KILLED_BY(&a, SIGSEGV);
    check_only_crash(&a, SIGSEGV, "SIGSEGV", 0);
    hr_app_free(&a);
}
END_TEST

int main(void)
{
    hr_env_path("SH_LIB");
    hr_env_path("SH_EMU_DIR");
    hr_env_path("SH_APPS_DIR");
    Suite *s;
    TCase *t = hr_one_case("crash", 120, &s);
    tcase_add_test(t, survived_signal_then_summary);
    tcase_add_test(t, fatal_signal_after_a_survived_one);
    tcase_add_test(t, same_fault_after_a_siglongjmp);
    tcase_add_test(t, fault_that_comes_back_is_recorded_once);
    tcase_add_test(t, at_most_eight_crash_records);
    tcase_add_test(t, abort_through_a_handler_that_returns);
    tcase_add_test(t, ignored_fault_still_ends_the_process);
    return hr_run_suites(srunner_create(s));
}
