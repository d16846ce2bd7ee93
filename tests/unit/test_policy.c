#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decide.h"
#include "policy.h"
#include "run_suite.h"

/* Complaints are collected here so each test can assert exactly what the
 * user would have read on stderr. */
static char lines[16][SH_DIAG_LEN];
static int nlines;

static void collect(const char *line, void *ctx)
{
    (void)ctx;
    if (nlines < 16)
        snprintf(lines[nlines++], SH_DIAG_LEN, "%s", line);
}

static struct sh_policy load(char **env)
{
    struct sh_policy p;
    nlines = 0;
    sh_policy_load(&p, env, collect, NULL);
    return p;
}

static void assert_one_line(const char *a, const char *b, const char *c)
{
    ck_assert_int_eq(nlines, 1);
    ck_assert_ptr_nonnull(strstr(lines[0], a));
    ck_assert_ptr_nonnull(strstr(lines[0], b));
    ck_assert_ptr_nonnull(strstr(lines[0], c));
}

START_TEST(defaults)
{
    char *env[] = { "PATH=/bin", "HOME=/root", NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.mode, SH_MODE_UPCAST);
    ck_assert_uint_eq(p.upcast, SH_UP_ALL);
    ck_assert_int_eq(p.min_k, 0);
    ck_assert_int_eq(p.log_level, SH_LEVEL_INFO);
    ck_assert_str_eq(p.log, "safehalf-%p.jsonl");
    ck_assert_str_eq(p.config, "");
}
END_TEST

START_TEST(good_values)
{
    char *env[] = { "SAFEHALF_MODE=observe", "SAFEHALF_UPCAST= gemm , fast16f",
                    "SAFEHALF_MIN_K=1024", "SAFEHALF_LOG=/tmp/x-%r.jsonl",
                    "SAFEHALF_LOG_LEVEL=TRACE", NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.mode, SH_MODE_OBSERVE);
    ck_assert_uint_eq(p.upcast, SH_UP_GEMM | SH_UP_FAST16F);
    ck_assert_int_eq(p.min_k, 1024);
    ck_assert_str_eq(p.log, "/tmp/x-%r.jsonl");
    ck_assert_int_eq(p.log_level, SH_LEVEL_TRACE);

    char *env2[] = { "SAFEHALF_MODE=off", "SAFEHALF_UPCAST=none", NULL };
    p = load(env2);
    ck_assert_int_eq(p.mode, SH_MODE_OFF);
    ck_assert_uint_eq(p.upcast, 0);
    char *env3[] = { "SAFEHALF_UPCAST=splitk", "SAFEHALF_LOG=stderr", NULL };
    p = load(env3);
    ck_assert_uint_eq(p.upcast, SH_UP_SPLITK);
    ck_assert_str_eq(p.log, "stderr");
    char *env4[] = { "SAFEHALF_UPCAST=Reduce,gemm", NULL };
    p = load(env4);
    ck_assert_int_eq(nlines, 0);
    ck_assert_uint_eq(p.upcast, SH_UP_REDUCE | SH_UP_GEMM);
    char *env5[] = { "SAFEHALF_UPCAST=all", NULL };
    p = load(env5);
    ck_assert_uint_eq(p.upcast, SH_UP_GEMM | SH_UP_SPLITK | SH_UP_FAST16F | SH_UP_REDUCE |
                                    SH_UP_LT | SH_UP_CUDNN);
    char *env6[] = { "SAFEHALF_UPCAST=LT, cudnn", NULL };
    p = load(env6);
    ck_assert_int_eq(nlines, 0);
    ck_assert_uint_eq(p.upcast, SH_UP_LT | SH_UP_CUDNN);
}
END_TEST

START_TEST(bad_mode)
{
    char *env[] = { "SAFEHALF_MODE=upcst", NULL };
    struct sh_policy p = load(env);
    assert_one_line("SAFEHALF_MODE", "\"upcst\"", "upcast, observe, off");
    ck_assert_ptr_nonnull(strstr(lines[0], "using upcast"));
    ck_assert_int_eq(p.mode, SH_MODE_UPCAST);
    ck_assert_int_eq(p.ndiag, 1);
    ck_assert_str_eq(p.diag[0], lines[0]);
}
END_TEST

START_TEST(bad_upcast)
{
    const char *bad[] = { "gemm,foo", "", "gemm,,splitk", ",", "everything" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char var[64];
        snprintf(var, sizeof var, "SAFEHALF_UPCAST=%s", bad[i]);
        char *env[] = { var, NULL };
        struct sh_policy p = load(env);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", bad[i]);
        assert_one_line("SAFEHALF_UPCAST", quoted, "gemm, splitk, fast16f, reduce, lt, cudnn");
        ck_assert_uint_eq(p.upcast, SH_UP_ALL);
    }
}
END_TEST

START_TEST(bad_min_k)
{
    const char *bad[] = { "abc", "-1", "12x", "", " 5", "99999999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char var[64];
        snprintf(var, sizeof var, "SAFEHALF_MIN_K=%s", bad[i]);
        char *env[] = { var, NULL };
        struct sh_policy p = load(env);
        assert_one_line("SAFEHALF_MIN_K", bad[i], "whole number");
        ck_assert_int_eq(p.min_k, 0);
    }
}
END_TEST

START_TEST(bad_level_and_log)
{
    char *env[] = { "SAFEHALF_LOG_LEVEL=loud", "SAFEHALF_LOG=", NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 2);
    ck_assert_ptr_nonnull(strstr(lines[0] , "SAFEHALF_LOG=\"\"")); /* settings in table order */
    ck_assert_ptr_nonnull(strstr(lines[1], "SAFEHALF_LOG_LEVEL=\"loud\""));
    ck_assert_ptr_nonnull(strstr(lines[1], "error, warn, info, debug, trace"));
    ck_assert_int_eq(p.log_level, SH_LEVEL_INFO);
    ck_assert_str_eq(p.log, "safehalf-%p.jsonl");
}
END_TEST

START_TEST(check_defaults)
{
    char *env[] = { NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_ALL);
    ck_assert_int_eq(p.check_every, 1);
    ck_assert_int_eq(p.on_nonfinite, SH_ON_LOG);
    ck_assert(!p.check_inputs);
    ck_assert_int_eq(p.max_records, 10);
    ck_assert_int_eq(p.check_capture, SH_CAPTURE_SCAN);
}
END_TEST

START_TEST(check_good_values)
{
    char *env[] = { "SAFEHALF_CHECK=Sync", "SAFEHALF_ON_NONFINITE=SATURATE",
                    "SAFEHALF_CHECK_INPUTS=1", "SAFEHALF_MAX_RECORDS=0",
                    "SAFEHALF_CHECK_CAPTURE=Skip", NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_SYNC);
    ck_assert_int_eq(p.check_every, 1);
    ck_assert_int_eq(p.on_nonfinite, SH_ON_SATURATE);
    ck_assert(p.check_inputs);
    ck_assert_int_eq(p.max_records, 0);
    ck_assert_int_eq(p.check_capture, SH_CAPTURE_SKIP);

    char *env2[] = { "SAFEHALF_CHECK=OFF", "SAFEHALF_ON_NONFINITE=abort",
                     "SAFEHALF_CHECK_INPUTS=0", "SAFEHALF_MAX_RECORDS=1000000",
                     "SAFEHALF_CHECK_CAPTURE=SCAN", NULL };
    p = load(env2);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_OFF);
    ck_assert_int_eq(p.on_nonfinite, SH_ON_ABORT);
    ck_assert(!p.check_inputs);
    ck_assert_int_eq(p.max_records, 1000000);
    ck_assert_int_eq(p.check_capture, SH_CAPTURE_SCAN);

    char *env3[] = { "SAFEHALF_CHECK=all", "SAFEHALF_ON_NONFINITE=Log", NULL };
    p = load(env3);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_ALL);
    ck_assert_int_eq(p.on_nonfinite, SH_ON_LOG);

    /* Every spelling of a boolean, in any case. */
    const char *yes[] = { "1", "true", "TRUE", "yes", "Yes", "on", "ON" };
    const char *no[] = { "0", "false", "False", "no", "NO", "off", "Off" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        char y[64], n[64];
        snprintf(y, sizeof y, "SAFEHALF_CHECK_INPUTS=%s", yes[i]);
        snprintf(n, sizeof n, "SAFEHALF_CHECK_INPUTS=%s", no[i]);
        char *ey[] = { y, NULL }, *en[] = { n, NULL };
        p = load(ey);
        ck_assert_int_eq(nlines, 0);
        ck_assert_msg(p.check_inputs, "%s", y);
        p = load(en);
        ck_assert_int_eq(nlines, 0);
        ck_assert_msg(!p.check_inputs, "%s", n);
    }
}
END_TEST

START_TEST(check_every)
{
    char *env[] = { "SAFEHALF_CHECK=every:16", NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_EVERY);
    ck_assert_int_eq(p.check_every, 16);

    char *upper[] = { "SAFEHALF_CHECK=EVERY:3", NULL };
    p = load(upper);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_EVERY);
    ck_assert_int_eq(p.check_every, 3);

    /* every:1 is all, stored as such. */
    char *one[] = { "SAFEHALF_CHECK=every:1", NULL };
    p = load(one);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_ALL);
    ck_assert_int_eq(p.check_every, 1);
}
END_TEST

/* A value holding a newline or another control character still gets one
 * line, the character written as an escape. */
START_TEST(bad_value_with_control_characters)
{
    char *env[] = { "SAFEHALF_MODE=up\ncast\x01", NULL };
    struct sh_policy p = load(env);
    assert_one_line("SAFEHALF_MODE=\"up\\ncast\\x01\"", "upcast, observe, off", "using upcast");
    ck_assert_ptr_null(strchr(lines[0], '\n'));
    ck_assert_int_eq(p.mode, SH_MODE_UPCAST);
    ck_assert_str_eq(p.diag[0], lines[0]);
}
END_TEST

START_TEST(bad_check)
{
    const char *bad[] = { "sometimes", "every:0", "every:x", "every:", "every", "every:-2",
                          "every: 3", "every:3x", "every:99999999999999999999", "", "al" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char var[64];
        snprintf(var, sizeof var, "SAFEHALF_CHECK=%s", bad[i]);
        char *env[] = { var, NULL };
        struct sh_policy p = load(env);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "SAFEHALF_CHECK=\"%s\"", bad[i]);
        assert_one_line(quoted, "accepted: off, all, every:N with N >= 1, sync", "; using all");
        ck_assert_int_eq(p.check, SH_CHECK_ALL);
        ck_assert_int_eq(p.check_every, 1);
    }
    char *env[] = { "SAFEHALF_CHECK=sometimes", NULL };
    load(env);
    ck_assert_str_eq(lines[0], "SAFEHALF_CHECK=\"sometimes\" is not valid (accepted: off, all, "
                               "every:N with N >= 1, sync); using all");
}
END_TEST

START_TEST(bad_on_nonfinite)
{
    char *env[] = { "SAFEHALF_ON_NONFINITE=explode", NULL };
    struct sh_policy p = load(env);
    assert_one_line("SAFEHALF_ON_NONFINITE=\"explode\"", "log, saturate, abort", "; using log");
    ck_assert_int_eq(p.on_nonfinite, SH_ON_LOG);
}
END_TEST

START_TEST(bad_check_inputs)
{
    const char *bad[] = { "2", "maybe", "", "yess", "-1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char var[64];
        snprintf(var, sizeof var, "SAFEHALF_CHECK_INPUTS=%s", bad[i]);
        char *env[] = { var, NULL };
        struct sh_policy p = load(env);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "SAFEHALF_CHECK_INPUTS=\"%s\"", bad[i]);
        assert_one_line(quoted, "accepted: 0, 1", "; using 0");
        ck_assert_ptr_nonnull(strstr(lines[0], "true/false"));
        ck_assert(!p.check_inputs);
    }
}
END_TEST

START_TEST(bad_max_records)
{
    const char *bad[] = { "abc", "-1", "12x", "", " 5", "99999999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char var[64];
        snprintf(var, sizeof var, "SAFEHALF_MAX_RECORDS=%s", bad[i]);
        char *env[] = { var, NULL };
        struct sh_policy p = load(env);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "SAFEHALF_MAX_RECORDS=\"%s\"", bad[i]);
        assert_one_line(quoted, "a whole number >= 0", "; using 10");
        ck_assert_int_eq(p.max_records, 10);
    }
}
END_TEST

START_TEST(bad_check_capture)
{
    char *env[] = { "SAFEHALF_CHECK_CAPTURE=ignore", NULL };
    struct sh_policy p = load(env);
    assert_one_line("SAFEHALF_CHECK_CAPTURE=\"ignore\"", "scan, skip", "; using scan");
    ck_assert_int_eq(p.check_capture, SH_CAPTURE_SCAN);
}
END_TEST

START_TEST(site_settings)
{
    char *env[] = { NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(p.pystack, 8);
    ck_assert(!p.backtrace);
    ck_assert_str_eq(p.run_id, "");

    char *env2[] = { "SAFEHALF_PYSTACK=0", "SAFEHALF_BACKTRACE=on",
                     "SAFEHALF_RUN_ID=run-2026.11:A_7", NULL };
    p = load(env2);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.pystack, 0);
    ck_assert(p.backtrace);
    ck_assert_str_eq(p.run_id, "run-2026.11:A_7");

    char *env3[] = { "SAFEHALF_PYSTACK=32", NULL };
    p = load(env3);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.pystack, 32);
}
END_TEST

START_TEST(bad_site_settings)
{
    const char *bad_pystack[] = { "33", "-1", "eight", "" };
    for (size_t i = 0; i < sizeof bad_pystack / sizeof bad_pystack[0]; i++) {
        char var[64], quoted[64];
        snprintf(var, sizeof var, "SAFEHALF_PYSTACK=%s", bad_pystack[i]);
        snprintf(quoted, sizeof quoted, "SAFEHALF_PYSTACK=\"%s\"", bad_pystack[i]);
        char *env[] = { var, NULL };
        struct sh_policy p = load(env);
        assert_one_line(quoted, "a whole number from 0 to 32", "; using 8");
        ck_assert_int_eq(p.pystack, 8);
    }

    char *env[] = { "SAFEHALF_BACKTRACE=always", NULL };
    struct sh_policy p = load(env);
    assert_one_line("SAFEHALF_BACKTRACE=\"always\"", "true/false", "; using 0");
    ck_assert(!p.backtrace);

    char long_id[100];
    snprintf(long_id, sizeof long_id, "SAFEHALF_RUN_ID=%065d", 1);
    const char *bad_ids[] = { "SAFEHALF_RUN_ID=a b", "SAFEHALF_RUN_ID=x\"y", "SAFEHALF_RUN_ID=",
                              long_id };
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        char *env2[] = { (char *)bad_ids[i], NULL };
        p = load(env2);
        assert_one_line("SAFEHALF_RUN_ID=", "1 to 64 letters, digits", "; using none");
        ck_assert_str_eq(p.run_id, "");
    }
}
END_TEST

START_TEST(unknown_variable)
{
    char *env[] = { "SAFEHALF_MODEE=observe", "SAFEHALF_LIB=/x.so", NULL };
    struct sh_policy p = load(env);
    assert_one_line("SAFEHALF_MODEE", "not a known variable", "SAFEHALF_MODE,");
    ck_assert_int_eq(p.mode, SH_MODE_UPCAST);
}
END_TEST

static char *write_config(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/sh-policy-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(config_file)
{
    char *path = write_config("# comment\n\n  SAFEHALF_MODE = observe\nSAFEHALF_MIN_K=\"256\"\n"
                              "SAFEHALF_LOG_LEVEL=debug\n");
    char var[128];
    snprintf(var, sizeof var, "SAFEHALF_CONFIG=%s", path);
    char *env[] = { var, "SAFEHALF_LOG_LEVEL=trace", NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.mode, SH_MODE_OBSERVE);
    ck_assert_int_eq(p.min_k, 256);
    ck_assert_int_eq(p.log_level, SH_LEVEL_TRACE); /* the environment wins */
    ck_assert_str_eq(p.config, path);
    unlink(path);
}
END_TEST

START_TEST(config_file_errors)
{
    char *path = write_config("SAFEHALF_MODE=observe\njust words\nSAFEHALF_NOPE=1\n"
                              "SAFEHALF_MIN_K=lots\n");
    char var[128];
    snprintf(var, sizeof var, "SAFEHALF_CONFIG=%s", path);
    char *env[] = { var, NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 3);
    ck_assert_ptr_nonnull(strstr(lines[0], ":2: expected KEY=VALUE"));
    ck_assert_ptr_nonnull(strstr(lines[1], ":3: SAFEHALF_NOPE is not a known variable"));
    ck_assert_ptr_nonnull(strstr(lines[2], "SAFEHALF_MIN_K=\"lots\""));
    ck_assert_int_eq(p.mode, SH_MODE_OBSERVE); /* the good lines still apply */
    ck_assert_int_eq(p.min_k, 0);
    unlink(path);

    /* A line too long for the reader is refused whole, not read as two. */
    static char text[4200];
    snprintf(text, sizeof text, "# %2046sSAFEHALF_MODE=off\nSAFEHALF_MIN_K=%2040d\n"
                                "SAFEHALF_LOG_LEVEL=debug\n", "", 64);
    path = write_config(text);
    snprintf(var, sizeof var, "SAFEHALF_CONFIG=%s", path);
    p = load(env);
    ck_assert_int_eq(nlines, 2);
    ck_assert_ptr_nonnull(strstr(lines[0], ":1: line longer than 2046 bytes; line ignored"));
    ck_assert_ptr_nonnull(strstr(lines[1], ":2: line longer than 2046 bytes; line ignored"));
    ck_assert_int_eq(p.mode, SH_MODE_UPCAST);
    ck_assert_int_eq(p.min_k, 0);
    ck_assert_int_eq(p.log_level, SH_LEVEL_DEBUG); /* the line after them still applies */
    unlink(path);

    char *env2[] = { "SAFEHALF_CONFIG=/nonexistent/sh.conf", "SAFEHALF_MODE=off", NULL };
    p = load(env2);
    assert_one_line("SAFEHALF_CONFIG", "/nonexistent/sh.conf", "cannot be read");
    ck_assert_int_eq(p.mode, SH_MODE_OFF);
}
END_TEST

START_TEST(config_file_check_settings)
{
    char *path = write_config("SAFEHALF_CHECK=every:4\nSAFEHALF_ON_NONFINITE=saturate\n"
                              "SAFEHALF_CHECK_INPUTS=yes\nSAFEHALF_MAX_RECORDS='0'\n"
                              "SAFEHALF_CHECK_CAPTURE=skip\n");
    char var[128];
    snprintf(var, sizeof var, "SAFEHALF_CONFIG=%s", path);
    char *env[] = { var, NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_EVERY);
    ck_assert_int_eq(p.check_every, 4);
    ck_assert_int_eq(p.on_nonfinite, SH_ON_SATURATE);
    ck_assert(p.check_inputs);
    ck_assert_int_eq(p.max_records, 0);
    ck_assert_int_eq(p.check_capture, SH_CAPTURE_SKIP);

    /* The environment wins, setting by setting. */
    char *env2[] = { var, "SAFEHALF_CHECK=sync", "SAFEHALF_ON_NONFINITE=abort",
                     "SAFEHALF_CHECK_INPUTS=off", "SAFEHALF_MAX_RECORDS=3",
                     "SAFEHALF_CHECK_CAPTURE=scan", NULL };
    p = load(env2);
    ck_assert_int_eq(nlines, 0);
    ck_assert_int_eq(p.check, SH_CHECK_SYNC);
    ck_assert_int_eq(p.check_every, 1);
    ck_assert_int_eq(p.on_nonfinite, SH_ON_ABORT);
    ck_assert(!p.check_inputs);
    ck_assert_int_eq(p.max_records, 3);
    ck_assert_int_eq(p.check_capture, SH_CAPTURE_SCAN);

    /* Only some overridden: the rest still come from the file. */
    char *env3[] = { var, "SAFEHALF_CHECK=off", NULL };
    p = load(env3);
    ck_assert_int_eq(p.check, SH_CHECK_OFF);
    ck_assert_int_eq(p.on_nonfinite, SH_ON_SATURATE);
    ck_assert_int_eq(p.check_capture, SH_CAPTURE_SKIP);
    unlink(path);

    /* A bad value in the file: one line, and the default. */
    path = write_config("SAFEHALF_CHECK=every:0\nSAFEHALF_CHECK_CAPTURE=skip\n");
    snprintf(var, sizeof var, "SAFEHALF_CONFIG=%s", path);
    char *env4[] = { var, NULL };
    p = load(env4);
    assert_one_line("SAFEHALF_CHECK=\"every:0\"", "every:N with N >= 1", "using all");
    ck_assert_int_eq(p.check, SH_CHECK_ALL);
    ck_assert_int_eq(p.check_every, 1);
    ck_assert_int_eq(p.check_capture, SH_CAPTURE_SKIP);
    unlink(path);
}
END_TEST

/* The known names in table order, as the unknown-variable line lists them. */
static const char known_list[] =
    "(known: SAFEHALF_MODE, SAFEHALF_UPCAST, SAFEHALF_MIN_K, SAFEHALF_LOG, "
    "SAFEHALF_LOG_LEVEL, SAFEHALF_CHECK, SAFEHALF_ON_NONFINITE, SAFEHALF_CHECK_INPUTS, "
    "SAFEHALF_MAX_RECORDS, SAFEHALF_CHECK_CAPTURE, SAFEHALF_PYSTACK, SAFEHALF_BACKTRACE, "
    "SAFEHALF_RUN_ID, SAFEHALF_CONFIG, SAFEHALF_LIB); ignored";

START_TEST(unknown_variable_lists_all)
{
    char *env[] = { "SAFEHALF_CHEK=all", NULL };
    struct sh_policy p = load(env);
    ck_assert_int_eq(nlines, 1);
    char want[SH_DIAG_LEN];
    snprintf(want, sizeof want, "SAFEHALF_CHEK is not a known variable %s", known_list);
    ck_assert_str_eq(lines[0], want);
    ck_assert_str_eq(p.diag[0], want);

    /* The longest line: a long typo in a config file with a long path. The
     * list must still be there in full. */
    char path[256];
    snprintf(path, sizeof path, "/tmp/sh-policy-%0150d-XXXXXX", 0);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char text[256];
    snprintf(text, sizeof text, "SAFEHALF_%0150d=1\n", 7);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char var[300];
    snprintf(var, sizeof var, "SAFEHALF_CONFIG=%s", path);
    char *env2[] = { var, NULL };
    p = load(env2);
    unlink(path);
    ck_assert_int_eq(nlines, 1);
    ck_assert_ptr_nonnull(strstr(lines[0], ":1: SAFEHALF_0000"));
    ck_assert_ptr_nonnull(strstr(lines[0], known_list));
    ck_assert_str_eq(p.diag[0], lines[0]);

    /* Same from the environment, with an even longer name. */
    char name[400];
    snprintf(name, sizeof name, "SAFEHALF_%0300d=1", 7);
    char *env3[] = { name, NULL };
    load(env3);
    ck_assert_int_eq(nlines, 1);
    ck_assert_ptr_nonnull(strstr(lines[0], known_list));
}
END_TEST

START_TEST(upcast_names)
{
    char out[64];
    sh_upcast_names(SH_UP_ALL, out, sizeof out);
    ck_assert_str_eq(out, "gemm,splitk,fast16f,reduce,lt,cudnn");
    sh_upcast_names(SH_UP_SPLITK | SH_UP_FAST16F, out, sizeof out);
    ck_assert_str_eq(out, "splitk,fast16f");
    sh_upcast_names(SH_UP_REDUCE, out, sizeof out);
    ck_assert_str_eq(out, "reduce");
    sh_upcast_names(0, out, sizeof out);
    ck_assert_str_eq(out, "none");
}
END_TEST

START_TEST(check_names)
{
    char out[32];
    char *env[] = { NULL };
    struct sh_policy p = load(env);
    sh_check_name(&p, out, sizeof out);
    ck_assert_str_eq(out, "all");
    p.check = SH_CHECK_OFF;
    sh_check_name(&p, out, sizeof out);
    ck_assert_str_eq(out, "off");
    p.check = SH_CHECK_SYNC;
    sh_check_name(&p, out, sizeof out);
    ck_assert_str_eq(out, "sync");
    char *every[] = { "SAFEHALF_CHECK=every:250", NULL };
    p = load(every);
    sh_check_name(&p, out, sizeof out);
    ck_assert_str_eq(out, "every:250");
    char *one[] = { "SAFEHALF_CHECK=every:1", NULL };
    p = load(one);
    sh_check_name(&p, out, sizeof out);
    ck_assert_str_eq(out, "all");

    ck_assert_str_eq(sh_on_nonfinite_name(SH_ON_LOG), "log");
    ck_assert_str_eq(sh_on_nonfinite_name(SH_ON_SATURATE), "saturate");
    ck_assert_str_eq(sh_on_nonfinite_name(SH_ON_ABORT), "abort");
    ck_assert_str_eq(sh_check_capture_name(SH_CAPTURE_SCAN), "scan");
    ck_assert_str_eq(sh_check_capture_name(SH_CAPTURE_SKIP), "skip");
}
END_TEST

START_TEST(log_path)
{
    char out[64];
    ck_assert_int_eq(sh_expand_log_path("/l/sh-%p-r%r-%h-%%-%x.jsonl", 42, "3", "node1", out,
                                        sizeof out), 0);
    ck_assert_str_eq(out, "/l/sh-42-r3-node1-%-%x.jsonl");
    ck_assert_int_eq(sh_expand_log_path("%h%h%h%h", 1, "0", "0123456789abcdef", out, 64), -1);
    ck_assert_int_eq(sh_expand_log_path("trailing%", 1, "0", "h", out, sizeof out), 0);
    ck_assert_str_eq(out, "trailing%");
}
END_TEST

START_TEST(rank)
{
    char *none[] = { "PATH=/bin", NULL };
    ck_assert_str_eq(sh_rank_from_env(none), "0");
    char *slurm[] = { "SLURM_PROCID=7", "LOCAL_RANK=2", NULL };
    ck_assert_str_eq(sh_rank_from_env(slurm), "2");
    char *all[] = { "OMPI_COMM_WORLD_RANK=9", "SLURM_PROCID=7", "RANK=5", NULL };
    ck_assert_str_eq(sh_rank_from_env(all), "5");
    char *ompi[] = { "OMPI_COMM_WORLD_RANK=9", "RANK=", NULL };
    ck_assert_str_eq(sh_rank_from_env(ompi), "9");
}
END_TEST

static struct sh_policy policy_of(char **env)
{
    return load(env);
}

START_TEST(decide_defaults)
{
    char *env[] = { NULL };
    struct sh_policy p = policy_of(env);
    struct sh_gemm_decision d;

    d = sh_decide_gemm(&p, false, SH_COMPUTE_16F, 4096);
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F);
    ck_assert(d.half_scalars && d.risky);

    d = sh_decide_gemm(&p, false, SH_COMPUTE_16F_PEDANTIC, 8);
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F_PEDANTIC);

    d = sh_decide_gemm(&p, false, SH_COMPUTE_32F_FAST_16F, 8);
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F);
    ck_assert(!d.half_scalars);

    d = sh_decide_gemm(&p, false, SH_R_16F, 8); /* legacy value from C */
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F);
    ck_assert(d.half_scalars);

    d = sh_decide_gemm(&p, true, 0, 8);
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F);
    ck_assert(d.half_scalars);

    const int safe[] = { SH_COMPUTE_32F, SH_COMPUTE_32F_PEDANTIC, SH_R_32F, 75, 77, 70 };
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++) {
        d = sh_decide_gemm(&p, false, safe[i], 1 << 20);
        ck_assert_int_eq(d.action, SH_ACT_PASS);
        ck_assert_int_eq(d.compute_used, safe[i]);
        ck_assert(!d.risky);
    }
    ck_assert_int_eq(sh_decide_math_mode(&p, 0), 16);
    ck_assert_int_eq(sh_decide_math_mode(&p, 3), 19);
    ck_assert_int_eq(sh_decide_math_mode(&p, 16), 16);
}
END_TEST

START_TEST(decide_policy_knobs)
{
    char *observe[] = { "SAFEHALF_MODE=observe", NULL };
    struct sh_policy p = policy_of(observe);
    struct sh_gemm_decision d = sh_decide_gemm(&p, false, SH_COMPUTE_16F, 4096);
    ck_assert_int_eq(d.action, SH_ACT_OBSERVE);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_16F);
    ck_assert_int_eq(sh_decide_math_mode(&p, 0), 0);

    char *off[] = { "SAFEHALF_MODE=off", NULL };
    p = policy_of(off);
    ck_assert_int_eq(sh_decide_gemm(&p, true, 0, 4096).action, SH_ACT_PASS);

    char *min_k[] = { "SAFEHALF_MIN_K=4096", NULL };
    p = policy_of(min_k);
    ck_assert_int_eq(sh_decide_gemm(&p, false, SH_COMPUTE_16F, 4095).action, SH_ACT_MIN_K);
    ck_assert_int_eq(sh_decide_gemm(&p, false, SH_COMPUTE_16F, 4096).action, SH_ACT_UPCAST);
    /* MIN_K is about accumulation length; FAST_16F's risk is the inputs. */
    ck_assert_int_eq(sh_decide_gemm(&p, false, SH_COMPUTE_32F_FAST_16F, 8).action, SH_ACT_UPCAST);

    char *gemm_only[] = { "SAFEHALF_UPCAST=gemm", NULL };
    p = policy_of(gemm_only);
    ck_assert_int_eq(sh_decide_gemm(&p, false, SH_COMPUTE_32F_FAST_16F, 8).action, SH_ACT_PASS);
    ck_assert(sh_decide_gemm(&p, false, SH_COMPUTE_32F_FAST_16F, 8).risky);
    ck_assert_int_eq(sh_decide_math_mode(&p, 0), 0);

    char *splitk_only[] = { "SAFEHALF_UPCAST=splitk", NULL };
    p = policy_of(splitk_only);
    ck_assert_int_eq(sh_decide_gemm(&p, true, 0, 4096).action, SH_ACT_PASS);
    ck_assert_int_eq(sh_decide_math_mode(&p, 2), 18);
}
END_TEST

START_TEST(decide_check)
{
    char *env[] = { NULL };
    struct sh_policy p = policy_of(env);
    ck_assert(sh_decide_check(&p, SH_R_16F, 0));
    ck_assert(sh_decide_check(&p, SH_R_16BF, 12345));
    ck_assert(!sh_decide_check(&p, SH_R_32F, 0));
    ck_assert(!sh_decide_check(&p, 1 /* CUDA_R_64F */, 0));

    char *sync[] = { "SAFEHALF_CHECK=sync", NULL };
    p = policy_of(sync);
    ck_assert(sh_decide_check(&p, SH_R_16F, 7));
    ck_assert(!sh_decide_check(&p, SH_R_32F, 7));

    char *observe[] = { "SAFEHALF_MODE=observe", NULL };
    p = policy_of(observe);
    ck_assert(sh_decide_check(&p, SH_R_16F, 1));

    char *mode_off[] = { "SAFEHALF_MODE=off", NULL };
    p = policy_of(mode_off);
    ck_assert(!sh_decide_check(&p, SH_R_16F, 0));
    ck_assert(!sh_decide_check(&p, SH_R_16BF, 0));

    char *check_off[] = { "SAFEHALF_CHECK=off", NULL };
    p = policy_of(check_off);
    ck_assert(!sh_decide_check(&p, SH_R_16F, 0));
    ck_assert(!sh_decide_check(&p, SH_R_16BF, 0));

    /* every:3 checks the first call, then one in three. */
    char *every3[] = { "SAFEHALF_CHECK=every:3", NULL };
    p = policy_of(every3);
    for (unsigned long long n = 0; n <= 6; n++) {
        ck_assert_msg(sh_decide_check(&p, SH_R_16F, n) == (n % 3 == 0), "nth %llu", n);
        ck_assert_msg(sh_decide_check(&p, SH_R_16BF, n) == (n % 3 == 0), "nth %llu", n);
        ck_assert(!sh_decide_check(&p, SH_R_32F, n));
    }
}
END_TEST

START_TEST(decide_reduction)
{
    char *env[] = { NULL };
    struct sh_policy p = policy_of(env);
    /* FP16 execution is upcast to FP32 by default */
    struct sh_reduce_decision d = sh_decide_reduction(&p, SH_R_16F);
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.exec_used, SH_R_32F);
    ck_assert(d.risky);
    /* FP32 (and anything else) passes untouched */
    const int safe[] = { SH_R_32F, SH_R_16BF, 1 /* CUDA_R_64F */, 4 /* CUDA_C_32F */ };
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++) {
        d = sh_decide_reduction(&p, safe[i]);
        ck_assert_int_eq(d.action, SH_ACT_PASS);
        ck_assert_int_eq(d.exec_used, safe[i]);
        ck_assert(!d.risky);
    }

    char *observe[] = { "SAFEHALF_MODE=observe", NULL };
    p = policy_of(observe);
    d = sh_decide_reduction(&p, SH_R_16F);
    ck_assert_int_eq(d.action, SH_ACT_OBSERVE);
    ck_assert_int_eq(d.exec_used, SH_R_16F);
    ck_assert_int_eq(sh_decide_reduction(&p, SH_R_32F).action, SH_ACT_PASS);

    char *off[] = { "SAFEHALF_MODE=off", NULL };
    p = policy_of(off);
    ck_assert_int_eq(sh_decide_reduction(&p, SH_R_16F).action, SH_ACT_PASS);

    /* only the reduce family rewrites reductions; it rewrites nothing else */
    char *gemm_only[] = { "SAFEHALF_UPCAST=gemm,splitk,fast16f", NULL };
    p = policy_of(gemm_only);
    d = sh_decide_reduction(&p, SH_R_16F);
    ck_assert_int_eq(d.action, SH_ACT_PASS);
    ck_assert_int_eq(d.exec_used, SH_R_16F);
    ck_assert(d.risky);
    char *reduce_only[] = { "SAFEHALF_UPCAST=reduce", NULL };
    p = policy_of(reduce_only);
    ck_assert_int_eq(sh_decide_reduction(&p, SH_R_16F).action, SH_ACT_UPCAST);
    ck_assert_int_eq(sh_decide_gemm(&p, false, SH_COMPUTE_16F, 4096).action, SH_ACT_PASS);
    ck_assert_int_eq(sh_decide_math_mode(&p, 0), 0);

    /* SAFEHALF_MIN_K is about GEMMs */
    char *min_k[] = { "SAFEHALF_MIN_K=100000", NULL };
    p = policy_of(min_k);
    ck_assert_int_eq(sh_decide_reduction(&p, SH_R_16F).action, SH_ACT_UPCAST);
}
END_TEST

START_TEST(decide_lt)
{
    char *env[] = { NULL };
    struct sh_policy p = policy_of(env);
    /* FP16 accumulation with half scalars becomes FP32 with float scalars */
    struct sh_lt_decision d = sh_decide_lt_compute(&p, SH_COMPUTE_16F, SH_R_16F);
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F);
    ck_assert_int_eq(d.scale_used, SH_R_32F);
    ck_assert(d.half_scalars && d.risky);
    d = sh_decide_lt_compute(&p, SH_COMPUTE_16F_PEDANTIC, SH_R_16F);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F_PEDANTIC);
    ck_assert_int_eq(d.scale_used, SH_R_32F);
    d = sh_decide_lt_compute(&p, SH_COMPUTE_32F_FAST_16F, SH_R_32F);
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F);
    ck_assert(!d.half_scalars);
    /* FP32 accumulation is left as it is */
    d = sh_decide_lt_compute(&p, SH_COMPUTE_32F, SH_R_32F);
    ck_assert_int_eq(d.action, SH_ACT_PASS);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_32F);
    ck_assert(!d.risky);
    /* SAFEHALF_MIN_K cannot apply: no k is known yet */
    char *min_k[] = { "SAFEHALF_MIN_K=100000", NULL };
    p = policy_of(min_k);
    ck_assert_int_eq(sh_decide_lt_compute(&p, SH_COMPUTE_16F, SH_R_16F).action, SH_ACT_UPCAST);
    /* observe, off, and the family left out */
    char *observe[] = { "SAFEHALF_MODE=observe", NULL };
    p = policy_of(observe);
    d = sh_decide_lt_compute(&p, SH_COMPUTE_16F, SH_R_16F);
    ck_assert_int_eq(d.action, SH_ACT_OBSERVE);
    ck_assert_int_eq(d.compute_used, SH_COMPUTE_16F);
    ck_assert_int_eq(d.scale_used, SH_R_16F);
    char *no_lt[] = { "SAFEHALF_UPCAST=gemm,splitk,fast16f,reduce,cudnn", NULL };
    p = policy_of(no_lt);
    ck_assert_int_eq(sh_decide_lt_compute(&p, SH_COMPUTE_16F, SH_R_16F).action, SH_ACT_PASS);
    ck_assert_int_eq(sh_decide_lt_compute(&p, SH_COMPUTE_32F_FAST_16F, SH_R_32F).action,
                     SH_ACT_PASS);
}
END_TEST

START_TEST(decide_lt_splitk)
{
    char *env[] = { NULL };
    struct sh_policy p = policy_of(env);
    /* the default mask allows all three schemes: only COMPUTE_TYPE stays */
    ck_assert_uint_eq(sh_decide_reduction_mask(&p, SH_LT_SCHEME_MASK), SH_LT_SCHEME_COMPUTE_TYPE);
    ck_assert_uint_eq(sh_decide_reduction_mask(&p, SH_LT_SCHEME_OUTPUT_TYPE), 0);
    ck_assert_uint_eq(sh_decide_reduction_mask(&p, SH_LT_SCHEME_COMPUTE_TYPE),
                      SH_LT_SCHEME_COMPUTE_TYPE);
    /* a split-K algorithm reducing in a 16-bit D breaks the policy */
    ck_assert(sh_decide_lt_algo_risky(&p, 4, SH_LT_SCHEME_OUTPUT_TYPE, SH_R_16F));
    ck_assert(sh_decide_lt_algo_risky(&p, 4, SH_LT_SCHEME_INPLACE, SH_R_16BF));
    ck_assert(!sh_decide_lt_algo_risky(&p, 4, SH_LT_SCHEME_COMPUTE_TYPE, SH_R_16F));
    ck_assert(!sh_decide_lt_algo_risky(&p, 1, SH_LT_SCHEME_OUTPUT_TYPE, SH_R_16F));
    ck_assert(!sh_decide_lt_algo_risky(&p, 4, SH_LT_SCHEME_OUTPUT_TYPE, SH_R_32F));
    /* without the splitk family, or not upcasting, the mask is the program's */
    char *no_splitk[] = { "SAFEHALF_UPCAST=gemm,lt", NULL };
    p = policy_of(no_splitk);
    ck_assert_uint_eq(sh_decide_reduction_mask(&p, SH_LT_SCHEME_MASK), SH_LT_SCHEME_MASK);
    ck_assert(!sh_decide_lt_algo_risky(&p, 4, SH_LT_SCHEME_OUTPUT_TYPE, SH_R_16F));
    char *observe[] = { "SAFEHALF_MODE=observe", NULL };
    p = policy_of(observe);
    ck_assert_uint_eq(sh_decide_reduction_mask(&p, SH_LT_SCHEME_MASK), SH_LT_SCHEME_MASK);
}
END_TEST

START_TEST(decide_cudnn)
{
    char *env[] = { NULL };
    struct sh_policy p = policy_of(env);
    struct sh_cudnn_decision d = sh_decide_cudnn_compute(&p, SH_DNN_HALF);
    ck_assert_int_eq(d.action, SH_ACT_UPCAST);
    ck_assert_int_eq(d.compute_used, SH_DNN_FLOAT);
    ck_assert(d.risky);
    const int safe[] = { SH_DNN_FLOAT, 1 /* DOUBLE */, SH_DNN_BFLOAT16, 4 /* INT32 */ };
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++) {
        d = sh_decide_cudnn_compute(&p, safe[i]);
        ck_assert_int_eq(d.action, SH_ACT_PASS);
        ck_assert_int_eq(d.compute_used, safe[i]);
        ck_assert(!d.risky);
    }
    char *observe[] = { "SAFEHALF_MODE=observe", NULL };
    p = policy_of(observe);
    d = sh_decide_cudnn_compute(&p, SH_DNN_HALF);
    ck_assert_int_eq(d.action, SH_ACT_OBSERVE);
    ck_assert_int_eq(d.compute_used, SH_DNN_HALF);
    char *no_cudnn[] = { "SAFEHALF_UPCAST=gemm,lt", NULL };
    p = policy_of(no_cudnn);
    ck_assert_int_eq(sh_decide_cudnn_compute(&p, SH_DNN_HALF).action, SH_ACT_PASS);
    char *off[] = { "SAFEHALF_MODE=off", NULL };
    p = policy_of(off);
    ck_assert_int_eq(sh_decide_cudnn_compute(&p, SH_DNN_HALF).action, SH_ACT_PASS);
}
END_TEST

START_TEST(decide_tracked)
{
    /* 16-bit outputs */
    ck_assert(sh_decide_tracked(SH_R_16F, SH_COMPUTE_32F, SH_ACT_PASS));
    ck_assert(sh_decide_tracked(SH_R_16BF, SH_R_32F, SH_ACT_PASS));
    /* 16-bit accumulation: GEMM compute types, a legacy value, execution types */
    ck_assert(sh_decide_tracked(SH_R_32F, SH_COMPUTE_16F, SH_ACT_PASS));
    ck_assert(sh_decide_tracked(SH_R_32F, SH_COMPUTE_16F_PEDANTIC, SH_ACT_PASS));
    ck_assert(sh_decide_tracked(SH_R_32F, SH_R_16F, SH_ACT_PASS));
    ck_assert(sh_decide_tracked(SH_R_32F, SH_R_16BF, SH_ACT_PASS));
    /* a call the policy had something to say about */
    ck_assert(sh_decide_tracked(SH_R_32F, SH_COMPUTE_32F_FAST_16F, SH_ACT_UPCAST));
    ck_assert(sh_decide_tracked(SH_R_32F, SH_COMPUTE_32F_FAST_16F, SH_ACT_OBSERVE));
    ck_assert(sh_decide_tracked(SH_R_32F, SH_COMPUTE_32F, SH_ACT_FALLBACK));
    /* FP32 all the way, left alone */
    ck_assert(!sh_decide_tracked(SH_R_32F, SH_COMPUTE_32F, SH_ACT_PASS));
    ck_assert(!sh_decide_tracked(SH_R_32F, SH_R_32F, SH_ACT_PASS));
    ck_assert(!sh_decide_tracked(SH_R_32F, SH_COMPUTE_32F_FAST_16F, SH_ACT_PASS));
}
END_TEST

START_TEST(action_names)
{
    ck_assert_str_eq(sh_action_name(SH_ACT_PASS), "pass");
    ck_assert_str_eq(sh_action_name(SH_ACT_UPCAST), "upcast");
    ck_assert_str_eq(sh_action_name(SH_ACT_OBSERVE), "observe");
    ck_assert_str_eq(sh_action_name(SH_ACT_MIN_K), "min_k");
    ck_assert_str_eq(sh_action_name(SH_ACT_FALLBACK), "fallback");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("policy");
    TCase *t = tcase_create("policy");
    tcase_add_test(t, defaults);
    tcase_add_test(t, good_values);
    tcase_add_test(t, bad_mode);
    tcase_add_test(t, bad_upcast);
    tcase_add_test(t, bad_min_k);
    tcase_add_test(t, bad_level_and_log);
    tcase_add_test(t, check_defaults);
    tcase_add_test(t, check_good_values);
    tcase_add_test(t, check_every);
    tcase_add_test(t, bad_value_with_control_characters);
    tcase_add_test(t, bad_check);
    tcase_add_test(t, bad_on_nonfinite);
    tcase_add_test(t, bad_check_inputs);
    tcase_add_test(t, bad_max_records);
    tcase_add_test(t, bad_check_capture);
    tcase_add_test(t, site_settings);
    tcase_add_test(t, bad_site_settings);
    tcase_add_test(t, unknown_variable);
    tcase_add_test(t, unknown_variable_lists_all);
    tcase_add_test(t, config_file);
    tcase_add_test(t, config_file_errors);
    tcase_add_test(t, config_file_check_settings);
    tcase_add_test(t, upcast_names);
    tcase_add_test(t, check_names);
    tcase_add_test(t, log_path);
    tcase_add_test(t, rank);
    tcase_add_test(t, decide_defaults);
    tcase_add_test(t, decide_policy_knobs);
    tcase_add_test(t, decide_check);
    tcase_add_test(t, decide_reduction);
    tcase_add_test(t, decide_lt);
    tcase_add_test(t, decide_lt_splitk);
    tcase_add_test(t, decide_cudnn);
    tcase_add_test(t, decide_tracked);
    tcase_add_test(t, action_names);
    suite_add_tcase(s, t);
    return sh_run_suite(s);
}
