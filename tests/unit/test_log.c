#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "runtime.h"

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

START_TEST(start_record_and_diagnostics)
{
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
                                       "\"splitk\",\"fast16f\"],\"min_k\":0,\"log_level\":\"info\""));
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

int main(void)
{
    Suite *s = suite_create("log");
    TCase *t = tcase_create("log");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, encoding);
    tcase_add_test(t, start_record_and_diagnostics);
    tcase_add_test(t, levels_and_overflow);
    tcase_add_test(t, after_fork_writes_nothing);
    tcase_add_test(t, unwritable_log);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
