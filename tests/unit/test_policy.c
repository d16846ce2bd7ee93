#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decide.h"
#include "policy.h"

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
        assert_one_line("SAFEHALF_UPCAST", quoted, "gemm, splitk, fast16f");
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

    char *env2[] = { "SAFEHALF_CONFIG=/nonexistent/sh.conf", "SAFEHALF_MODE=off", NULL };
    p = load(env2);
    assert_one_line("SAFEHALF_CONFIG", "/nonexistent/sh.conf", "cannot be read");
    ck_assert_int_eq(p.mode, SH_MODE_OFF);
}
END_TEST

START_TEST(upcast_names)
{
    char out[64];
    sh_upcast_names(SH_UP_ALL, out, sizeof out);
    ck_assert_str_eq(out, "gemm,splitk,fast16f");
    sh_upcast_names(SH_UP_SPLITK | SH_UP_FAST16F, out, sizeof out);
    ck_assert_str_eq(out, "splitk,fast16f");
    sh_upcast_names(0, out, sizeof out);
    ck_assert_str_eq(out, "none");
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
    tcase_add_test(t, unknown_variable);
    tcase_add_test(t, config_file);
    tcase_add_test(t, config_file_errors);
    tcase_add_test(t, upcast_names);
    tcase_add_test(t, log_path);
    tcase_add_test(t, rank);
    tcase_add_test(t, decide_defaults);
    tcase_add_test(t, decide_policy_knobs);
    tcase_add_test(t, action_names);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
