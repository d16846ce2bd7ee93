#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "runtime.h"
#include "run_suite.h"

/* What log.c takes from the rest of the shim. */
struct sh_policy sh_policy;
void sh_runtime_describe_libs(struct sh_json *j)
{
    sh_json_open(j, "cublas", '{');
    sh_json_str(j, "path", NULL);
    sh_json_close(j, '}');
}

static char dir[64];

static char *slurp(const char *path)
{
    static char buf[65536];
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    return buf;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sh-log-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void open_log(const char *name, enum sh_level level)
{
    sh_log_after_fork(); /* forget any log a previous test opened */
    sh_policy_defaults(&sh_policy);
    sh_policy.log_level = level;
    snprintf(sh_policy.log, sizeof sh_policy.log, "%s/%s", dir, name);
    sh_log_open(&sh_policy);
}

START_TEST(encoding)
{
    char buf[256];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "call");
    sh_json_str(&j, "s", "a\"b\\c\nd\x01");
    sh_json_int(&j, "n", -42);
    sh_json_bool(&j, "b", true);
    sh_json_str(&j, "z", NULL);
    sh_json_open(&j, "arr", '[');
    sh_json_int(&j, NULL, 1);
    sh_json_str(&j, NULL, "x");
    sh_json_close(&j, ']');
    sh_json_open(&j, "o", '{');
    sh_json_close(&j, '}');
    ck_assert(!j.overflow);
    ck_assert_ptr_nonnull(strstr(buf, "{\"ev\":\"call\",\"t\":"));
    ck_assert_ptr_nonnull(strstr(buf, ",\"pid\":"));
    ck_assert_ptr_nonnull(strstr(buf, ",\"tid\":"));
    ck_assert_ptr_nonnull(strstr(buf, ",\"s\":\"a\\\"b\\\\c\\u000ad\\u0001\",\"n\":-42,"
                                      "\"b\":true,\"z\":null,\"arr\":[1,\"x\"],\"o\":{}"));
}
END_TEST

/* JSON is UTF-8: bytes that are not (a Latin-1 file name in argv, a path or
 * a thread name cut inside a character) must not reach the log raw. */
START_TEST(invalid_utf8_replaced)
{
    char buf[256];
    struct sh_json j;
    sh_json_fragment(&j, buf, sizeof buf);
    sh_json_str(&j, NULL, "caf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x98\x80|\xe9t\xe9|\xe6\xbc|"
                          "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xff|\xce");
    ck_assert(!j.overflow);
    ck_assert_str_eq(buf, "\"caf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x98\x80|\\ufffdt\\ufffd|"
                          "\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
                          "\\ufffd\\ufffd\\ufffd\\ufffd|\\ufffd|\\ufffd\"");
}
END_TEST

START_TEST(numbers)
{
    /* Hand-made formatting (async-signal-safe) against what a reader parses. */
    static const double vals[] = { 0, 1, -1, 65504, 270990.0, 0.5, 16.703125, 1e-3, 1.25e-7,
                                   3.3895313892515355e38, 6.103515625e-05, 123456789012345.0,
                                   1e15, 0.1f, 2.5e-10, 99999.99951 };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char buf[128];
        struct sh_json j = { buf, 0, sizeof buf, false };
        buf[0] = '\0';
        sh_json_num(&j, NULL, vals[i]);
        ck_assert(!j.overflow);
        double back = strtod(buf, NULL);
        double tol = vals[i] * 1e-8 < 0 ? -vals[i] * 1e-8 : vals[i] * 1e-8;
        ck_assert_msg(back - vals[i] <= tol && vals[i] - back <= tol, "%.17g printed as %s",
                      vals[i], buf);
        /* every binary32 value reads back as itself */
        ck_assert_msg((float)back == (float)vals[i], "%.17g printed as %s", vals[i], buf);
    }
    char buf[160];
    struct sh_json j = { buf, 0, sizeof buf, false };
    buf[0] = '\0';
    sh_json_num(&j, NULL, 65504);
    sh_json_num(&j, NULL, -0.5);
    sh_json_num(&j, NULL, 1.0 / 0.0);
    sh_json_num(&j, NULL, 0.0 / 0.0);
    sh_json_num(&j, NULL, 3.3895313892515355e38);
    sh_json_num(&j, NULL, 1.5e-7);
    sh_json_uint(&j, NULL, 18446744073709551615ull);
    sh_json_int(&j, NULL, -9223372036854775807ll - 1);
    sh_json_hex(&j, NULL, 0x7f00dead);
    sh_json_hex(&j, NULL, 0);
    ck_assert_str_eq(buf, "65504,-0.5,null,null,3.38953139e+38,1.5e-07,18446744073709551615,"
                          "-9223372036854775808,\"0x7f00dead\",\"0x0\"");
}
END_TEST

static void unset_ranks(void)
{
    unsetenv("RANK");
    unsetenv("LOCAL_RANK");
    unsetenv("SLURM_PROCID");
    unsetenv("OMPI_COMM_WORLD_RANK");
}

START_TEST(start_record_run_and_rank)
{
    unset_ranks();
    setenv("LOCAL_RANK", "3", 1);
    sh_policy_defaults(&sh_policy);
    snprintf(sh_policy.run_id, sizeof sh_policy.run_id, "abc-123");
    snprintf(sh_policy.log, sizeof sh_policy.log, "%s/rank-%%r.jsonl", dir);
    sh_log_after_fork();
    sh_log_open(&sh_policy);
    char path[128];
    snprintf(path, sizeof path, "%s/rank-3.jsonl", dir);
    char *text = slurp(path);
    ck_assert_ptr_nonnull(strstr(text, "\"run\":\"abc-123\",\"rank\":3,\"host\":\""));

    /* A rank that is not a number is kept as written. */
    setenv("LOCAL_RANK", "a7", 1);
    sh_log_after_fork();
    sh_log_open(&sh_policy);
    snprintf(path, sizeof path, "%s/rank-a7.jsonl", dir);
    text = slurp(path);
    ck_assert_ptr_nonnull(strstr(text, "\"rank\":\"a7\","));
}
END_TEST

START_TEST(fragments_and_times)
{
    char buf[256];
    struct sh_json j;
    sh_json_fragment(&j, buf, sizeof buf);
    sh_json_open(&j, NULL, '[');
    sh_json_time(&j, NULL, 1795334956443542123LL);
    sh_json_raw(&j, NULL, "{\"file\":\"a.py\"}");
    sh_json_raw(&j, NULL, NULL);
    sh_json_close(&j, ']');
    ck_assert_str_eq(buf, "[1795334956.443542,{\"file\":\"a.py\"},null]");
    /* Microseconds keep their leading zeros. */
    sh_json_fragment(&j, buf, sizeof buf);
    sh_json_time(&j, NULL, 1000000000LL * 5 + 7000);
    ck_assert_str_eq(buf, "5.000007");
}
END_TEST

START_TEST(start_record_and_diagnostics)
{
    unset_ranks();
    sh_policy_defaults(&sh_policy);
    snprintf(sh_policy.diag[0], SH_DIAG_LEN, "SAFEHALF_MODE=\"x\" is not valid");
    sh_policy.ndiag = 1;
    snprintf(sh_policy.log, sizeof sh_policy.log, "%s/run-%%p.jsonl", dir);
    sh_log_after_fork();
    sh_log_open(&sh_policy);
    char path[128];
    snprintf(path, sizeof path, "%s/run-%ld.jsonl", dir, (long)getpid());
    char *text = slurp(path);
    ck_assert_ptr_eq(strstr(text, "{\"ev\":\"start\""), text);
    ck_assert_ptr_nonnull(strstr(text, "\"version\":\"test\""));
    ck_assert_ptr_nonnull(strstr(text, "\"argv\":[\""));
    ck_assert_ptr_nonnull(strstr(text, "\"policy\":{\"mode\":\"upcast\",\"upcast\":[\"gemm\","
                                       "\"splitk\",\"fast16f\",\"reduce\",\"lt\",\"cudnn\"],\"min_k\":0,\"check\":\"all\","
                                       "\"on_nonfinite\":\"log\",\"check_inputs\":false,"
                                       "\"max_records\":10,\"check_capture\":\"scan\","
                                       "\"pystack\":8,\"backtrace\":false,"
                                       "\"log_level\":\"info\""));
    /* No SAFEHALF_RUN_ID, no rank variable in the test's environment. */
    ck_assert_ptr_nonnull(strstr(text, "\"version\":\"test\",\"run\":null,\"rank\":null,"
                                       "\"host\":\""));
    char ppid[48];
    snprintf(ppid, sizeof ppid, "\"ppid\":%ld,\"argv\":", (long)getppid());
    ck_assert_ptr_nonnull(strstr(text, ppid));
    ck_assert_ptr_nonnull(strstr(text, "\"libs\":{\"cublas\":{\"path\":null}}}\n"));
    ck_assert_ptr_nonnull(strstr(text, "{\"ev\":\"warn\""));
    ck_assert_ptr_nonnull(strstr(text, "\"msg\":\"SAFEHALF_MODE=\\\"x\\\" is not valid\"}\n"));
}
END_TEST

START_TEST(levels_and_overflow)
{
    open_log("lv.jsonl", SH_LEVEL_INFO);
    ck_assert(sh_log_wants(SH_LEVEL_INFO));
    ck_assert(!sh_log_wants(SH_LEVEL_TRACE));
    char small[96];
    struct sh_json j;
    sh_json_begin(&j, small, sizeof small, "call");
    sh_json_str(&j, "api", "cublasGemmStridedBatchedEx_64_and_a_long_tail_that_does_not_fit");
    ck_assert(j.overflow);
    sh_log_write(&j);
    char path[128];
    snprintf(path, sizeof path, "%s/lv.jsonl", dir);
    char *text = slurp(path);
    char *last = strstr(text, "{\"ev\":\"error\"");
    ck_assert_ptr_nonnull(last);
    ck_assert_ptr_nonnull(strstr(last, "\"msg\":\"record too long, dropped\",\"dropped_ev\":\"call\"}\n"));
}
END_TEST

START_TEST(after_fork_writes_nothing)
{
    open_log("fk.jsonl", SH_LEVEL_TRACE);
    sh_log_after_fork();
    ck_assert(!sh_log_wants(SH_LEVEL_ERROR));
    char buf[128];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "call");
    sh_log_write(&j);
    char path[128];
    snprintf(path, sizeof path, "%s/fk.jsonl", dir);
    ck_assert_ptr_null(strstr(slurp(path), "\"ev\":\"call\""));
}
END_TEST

/* The log opens inside the program's first library call, which may come
 * in the middle of the program's own strtok loop (a handle per device of
 * "0,1,2"): the start record must not move strtok's saved position. */
START_TEST(start_record_keeps_the_programs_strtok)
{
    char list[] = "0,1,2";
    ck_assert_str_eq(strtok(list, ","), "0");
    open_log("strtok.jsonl", SH_LEVEL_INFO);
    ck_assert_ptr_nonnull(strstr(slurp(sh_policy.log), "\"upcast\":[\""));
    char *next = strtok(NULL, ",");
    ck_assert_ptr_eq(next, list + 2);
    ck_assert_str_eq(next, "1");
}
END_TEST

START_TEST(unwritable_log)
{
    int err[2];
    ck_assert_int_eq(pipe(err), 0);
    int saved = dup(2);
    dup2(err[1], 2);
    sh_log_after_fork();
    sh_policy_defaults(&sh_policy);
    snprintf(sh_policy.log, sizeof sh_policy.log, "/nonexistent-dir/x.jsonl");
    sh_log_open(&sh_policy);
    dup2(saved, 2);
    close(err[1]);
    char msg[512] = "";
    ck_assert_int_gt(read(err[0], msg, sizeof msg - 1), 0);
    ck_assert_ptr_nonnull(strstr(msg, "safehalf: cannot open log \"/nonexistent-dir/x.jsonl\""));
    ck_assert_ptr_nonnull(strstr(msg, "logging disabled"));
    int lines = 0;
    for (char *p = msg; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 1);
    ck_assert(!sh_log_wants(SH_LEVEL_ERROR));
}
END_TEST

/* A program started with stdin closed (a daemon, a shell's <&-): the log
 * must not take fd 0, which the program may set again later (its /dev/null
 * on stdin), and its warn records must reach it. */
START_TEST(log_never_on_a_standard_fd)
{
    int saved = dup(0);
    ck_assert_int_ge(saved, 0);
    close(0);
    sh_policy_defaults(&sh_policy);
    snprintf(sh_policy.diag[0], SH_DIAG_LEN, "SAFEHALF_MODE=\"x\" is not valid");
    sh_policy.ndiag = 1;
    snprintf(sh_policy.log, sizeof sh_policy.log, "%s/closed-stdin.jsonl", dir);
    sh_log_after_fork();
    sh_log_open(&sh_policy);
    /* The program puts /dev/null on its stdin again. */
    int nul = open("/dev/null", O_RDWR);
    ck_assert_int_ge(nul, 0);
    if (nul != 0) {
        dup2(nul, 0);
        close(nul);
    }
    sh_warn("a warning after the program reopened its stdin");
    dup2(saved, 0);
    close(saved);
    char *text = slurp(sh_policy.log);
    ck_assert_ptr_eq(strstr(text, "{\"ev\":\"start\""), text);
    ck_assert_msg(strstr(text, "\"msg\":\"SAFEHALF_MODE=\\\"x\\\" is not valid\"}\n"),
                  "no warn record for the bad setting in\n%s", text);
    ck_assert_msg(strstr(text, "\"msg\":\"a warning after the program reopened its stdin\"}\n"),
                  "no warn record after the program reopened its stdin in\n%s", text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *t = tcase_create("log");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, encoding);
    tcase_add_test(t, invalid_utf8_replaced);
    tcase_add_test(t, numbers);
    tcase_add_test(t, start_record_and_diagnostics);
    tcase_add_test(t, start_record_run_and_rank);
    tcase_add_test(t, fragments_and_times);
    tcase_add_test(t, levels_and_overflow);
    tcase_add_test(t, after_fork_writes_nothing);
    tcase_add_test(t, unwritable_log);
    tcase_add_test(t, start_record_keeps_the_programs_strtok);
    tcase_add_test(t, log_never_on_a_standard_fd);
    suite_add_tcase(s, t);
    return sh_run_suite(s);
}
