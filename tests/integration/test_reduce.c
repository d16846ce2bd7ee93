/* Integration tests of the cuBLAS reductions (cublasDotEx, cublasNrm2Ex,
 * cublasAxpyEx and their _64 forms) on the emulated backend: reduce_app
 * (tests/apps/reduce_app.c, an ordinary cuBLAS program) runs with and
 * without the shim; the tests assert on the numbers it prints and on the
 * shim's call, site, nonfinite and summary records.
 *
 * Numbers (the emulated cuBLAS rounds every product and partial sum to
 * FP16 under execution type CUDA_R_16F):
 * - dot of 4096 ones with ones: 2048 with FP16 execution (2048 + 1 rounds
 *   back to 2048), 4096 with FP32 execution (the shim's upcast);
 * - nrm2 of 70000 ones: the FP16 sum of squares stalls at 2048, and
 *   sqrt(2048) = 45.2548 is 45.25 in FP16; in FP32, sqrt(70000) = 264.575,
 *   264.5 in the FP16 result;
 * - axpy with alpha 1.5, x = 1 + 2^-10, y = -2^-12: alpha * x is a tie that
 *   FP16 execution rounds to 1.501953125 before the add (which rounds back
 *   to 1.501953125); FP32 execution adds first and rounds once: 1.5009765625;
 * - dot of 70000 ones in FP32 execution is 70000: +Inf in an FP16 result.
 *
 * Suite (CK_RUN_SUITE): reduce. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

#define AXPY_ARGS "--op", "axpy", "--alpha", "1.5", "--value", "1.0009765625", "--y", \
                  "-0.000244140625"
#define AXPY_16F 1.501953125
#define AXPY_32F 1.5009765625
#define FP16_MAX 65504.0

static void run(hr_app *a, int shim, const char *const *env, const char *const args[])
{
    hr_app_opts o = { .shim = shim, .emu = 1, .env = env };
    hr_app_run(a, &o, "reduce_app", args);
}

static size_t nonfinite(const hr_app *a)
{
    return a->have_log ? hr_log_count(&a->log, "nonfinite") : 0;
}

/* ---- upcast ------------------------------------------------------------------- */

static const char *const dots[] = { "cublasDotEx", "cublasDotEx_64" };

START_TEST(dot_upcast)
{
    const char *api = dots[_i % 2];
    int device = _i >= 2;
    const char *const args[] = { "--device-scalars", _i % 2 ? "--64" : NULL, NULL };
    const char *const *argv = device ? args : args + 1;
    hr_app plain, shim;
    run(&plain, 0, NULL, argv);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "result", 2048); /* FP16 accumulation stalled */
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), argv);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "result", 4096); /* FP32 execution */
    const char *rec = api_record(&shim, "call", api);
    ASSERT_JNUM(rec, "n", 4096);
    ASSERT_JNUM(rec, "incx", 1);
    ASSERT_JNUM(rec, "incy", 1);
    ASSERT_JSTR(rec, "xtype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "ytype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "result_type", "CUDA_R_16F");
    ASSERT_JSTR(rec, "exec", "CUDA_R_16F");
    ASSERT_JSTR(rec, "exec_used", "CUDA_R_32F");
    ASSERT_JSTR(rec, "pointer_mode", device ? "device" : "host");
    ASSERT_JSTR(rec, "action", "upcast");
    ASSERT_JNUM(rec, "status", 0);
    ASSERT_ABSENT(rec, "alpha_type");
    /* its site, described in the generic fields */
    const char *site = api_record(&shim, "site", api);
    ASSERT_JNUM(rec, "site_id", hr_json_num(site, "id"));
    ASSERT_JNUM(site, "m", 1);
    ASSERT_JNUM(site, "n", 4096);
    ASSERT_JNUM(site, "k", 4096);
    ASSERT_JNUM(site, "batch", 1);
    ASSERT_JSTR(site, "atype", "CUDA_R_16F");
    ASSERT_JSTR(site, "btype", "CUDA_R_16F");
    ASSERT_JSTR(site, "ctype", "CUDA_R_16F");
    ASSERT_JSTR(site, "compute", "CUDA_R_16F");
    ASSERT_JSTR(site, "compute_used", "CUDA_R_32F");
    ASSERT_JSTR(site, "action", "upcast");
    ck_assert_double_eq(api_summary(&shim, api, "calls"), 1);
    ck_assert_double_eq(api_summary(&shim, api, "upcasts"), 1);
    /* a result in device memory is scanned, one in host memory read there */
    ck_assert_double_eq(api_summary(&shim, api, "checked"), 1);
    ck_assert_double_eq(api_summary(&shim, api, "nonfinite"), 0);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

START_TEST(nrm2_upcast)
{
    const char *api = _i ? "cublasNrm2Ex_64" : "cublasNrm2Ex";
    const char *const args[] = { "--op", "nrm2", "--n", "70000", _i ? "--64" : NULL, NULL };
    hr_app plain, shim;
    run(&plain, 0, NULL, args);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "result", 45.25); /* sqrt(2048): the FP16 sum of squares stalled */
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "result", 264.5); /* sqrt(70000) in FP16 */
    const char *rec = api_record(&shim, "call", api);
    ASSERT_JNUM(rec, "n", 70000);
    ASSERT_JSTR(rec, "xtype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "result_type", "CUDA_R_16F");
    ASSERT_JSTR(rec, "exec", "CUDA_R_16F");
    ASSERT_JSTR(rec, "exec_used", "CUDA_R_32F");
    ASSERT_JSTR(rec, "action", "upcast");
    ASSERT_ABSENT(rec, "ytype"); /* Nrm2 has no y */
    ASSERT_ABSENT(rec, "incy");
    const char *site = api_record(&shim, "site", api);
    ASSERT_JSTR(site, "btype", "CUDA_R_16F"); /* x twice */
    ASSERT_JNUM(site, "k", 70000);
    ck_assert_double_eq(api_summary(&shim, api, "upcasts"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

START_TEST(axpy_upcast)
{
    const char *api = _i % 2 ? "cublasAxpyEx_64" : "cublasAxpyEx";
    int device = _i >= 2;
    const char *const args[] = { AXPY_ARGS, "--n", "16", "--device-scalars",
                                 _i % 2 ? "--64" : NULL, NULL };
    const char *const args_host[] = { AXPY_ARGS, "--n", "16", _i % 2 ? "--64" : NULL, NULL };
    const char *const *argv = device ? args : args_host;
    hr_app plain, shim;
    run(&plain, 0, NULL, argv);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "out0", AXPY_16F);
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), argv);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", AXPY_32F);
    ASSERT_KV(&shim, "maxfinite", AXPY_32F);
    const char *rec = api_record(&shim, "call", api);
    ASSERT_JNUM(rec, "n", 16);
    ASSERT_JSTR(rec, "xtype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "ytype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "alpha_type", "CUDA_R_16F"); /* the program's, converted to float */
    ASSERT_JSTR(rec, "exec", "CUDA_R_16F");
    ASSERT_JSTR(rec, "exec_used", "CUDA_R_32F");
    ASSERT_JSTR(rec, "pointer_mode", device ? "device" : "host");
    ASSERT_JSTR(rec, "action", "upcast");
    ASSERT_ABSENT(rec, "result_type");
    const char *site = api_record(&shim, "site", api);
    ASSERT_JNUM(site, "n", 16);
    ASSERT_JNUM(site, "k", 1);
    /* y, FP16, is scanned in either pointer mode: it is device memory */
    ck_assert_double_eq(api_summary(&shim, api, "checked"), 1);
    ck_assert_double_eq(api_summary(&shim, api, "upcasts"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* ---- policy ------------------------------------------------------------------- */

START_TEST(other_families_leave_it)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_UPCAST=gemm,splitk,fast16f", "SAFEHALF_LOG_LEVEL=trace"),
        ARGS("--device-scalars"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", 2048);
    const char *rec = api_record(&a, "call", "cublasDotEx");
    ASSERT_JSTR(rec, "action", "pass");
    ASSERT_JSTR(rec, "exec_used", "CUDA_R_16F");
    /* still a half-precision call: a site, and its result checked */
    ASSERT_JSTR(api_record(&a, "site", "cublasDotEx"), "action", "pass");
    ck_assert_double_eq(api_summary(&a, "cublasDotEx", "upcasts"), 0);
    ck_assert_double_eq(api_summary(&a, "cublasDotEx", "checked"), 1);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_UPCAST=gemm"), ARGS(AXPY_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", AXPY_16F);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_UPCAST=reduce"), ARGS(AXPY_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", AXPY_32F);
    hr_app_free(&a);
}
END_TEST

START_TEST(observe_mode)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_MODE=observe", "SAFEHALF_LOG_LEVEL=trace"),
        ARGS("--op", "nrm2", "--n", "70000"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", 45.25); /* unchanged */
    const char *rec = api_record(&a, "call", "cublasNrm2Ex");
    ASSERT_JSTR(rec, "action", "observe");
    ASSERT_JSTR(rec, "exec", "CUDA_R_16F");
    ASSERT_JSTR(rec, "exec_used", "CUDA_R_16F");
    ASSERT_JSTR(api_record(&a, "site", "cublasNrm2Ex"), "action", "observe");
    ck_assert_double_eq(api_summary(&a, "cublasNrm2Ex", "upcasts"), 0);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_MODE=observe"), ARGS(AXPY_ARGS, "--device-scalars"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", AXPY_16F);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_MODE=off"), ARGS(AXPY_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", AXPY_16F);
    ck_assert_msg(!a.have_log, "mode off wrote a log");
    hr_app_free(&a);
}
END_TEST

/* FP32 execution is left alone, and an FP32 output is not a half-precision
 * call: no site, nothing checked. */
START_TEST(fp32_passes)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_LOG_LEVEL=trace"),
        ARGS("--type", "32F", "--exec", "32F", "--device-scalars"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", 4096);
    const char *rec = api_record(&a, "call", "cublasDotEx");
    ASSERT_JSTR(rec, "action", "pass");
    ASSERT_JSTR(rec, "exec_used", "CUDA_R_32F");
    ASSERT_JSTR(rec, "xtype", "CUDA_R_32F");
    ASSERT_JSTR(rec, "result_type", "CUDA_R_32F");
    ASSERT_ABSENT(rec, "site_id");
    ck_assert_uint_eq(hr_log_count(&a.log, "site"), 0);
    ck_assert_double_eq(api_summary(&a, "cublasDotEx", "checked"), 0);
    hr_app_free(&a);
}
END_TEST

/* ---- checks ------------------------------------------------------------------- */

/* A dot in FP32 execution whose FP16 result overflows: the check reports it
 * where it was made. */
START_TEST(dot_overflow)
{
    const char *api = dots[_i];
    const char *const args[] = { "--n", "70000", "--exec", "32F", "--device-scalars",
                                 _i ? "--64" : NULL, NULL };
    hr_app a;
    run(&a, 1, NULL, args);
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", INFINITY);
    ck_assert_msg(nonfinite(&a) == 1, "%zu records\n%s", nonfinite(&a), hr_log_dump(&a.log));
    const char *rec = api_record(&a, "nonfinite", api);
    const char *site = api_record(&a, "site", api);
    ASSERT_JNUM(rec, "site_id", hr_json_num(site, "id"));
    ASSERT_JNUM(rec, "seq", 2); /* after cublasCreate */
    ASSERT_SHAPE(rec, 1, 70000, 70000, 1, "CUDA_R_16F", "CUDA_R_16F", "CUDA_R_16F");
    ASSERT_JSTR(rec, "compute", "CUDA_R_32F");
    ASSERT_JSTR(rec, "compute_used", "CUDA_R_32F");
    ASSERT_JNUM(rec, "inf", 1);
    ASSERT_JNUM(rec, "pos_inf", 1);
    ASSERT_JNUM(rec, "nan", 0);
    ASSERT_JNUM(rec, "numel", 1);
    ASSERT_JNUM(rec, "first_index", 0);
    ASSERT_JSTR(rec, "action", "logged");
    ASSERT_JSTR(site, "action", "pass"); /* FP32 execution: nothing to upcast */
    char obj[512];
    ck_assert(hr_json_get(rec, "caller.object", obj, sizeof obj) == 's');
    ck_assert_msg(strstr(obj, "reduce_app") != NULL, "caller %s", obj);
    ck_assert_msg(strstr(a.r.err, "safehalf: Inf/NaN in the output of "), "%s", a.r.err);
    ck_assert_double_eq(api_summary(&a, api, "checked"), 1);
    ck_assert_double_eq(api_summary(&a, api, "nonfinite"), 1);
    ASSERT_JNUM(summary_record(&a), "checks.nonfinite", 1);
    hr_app_free(&a);
}
END_TEST

/* A result in host memory (host pointer mode) is read on the host when the
 * call returns: reported at once ("check": "host"), its inputs scanned on the
 * GPU and waited for, saturated in place. */
START_TEST(host_result_checked_on_host)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--n", "70000", "--exec", "32F"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", INFINITY); /* logged, not changed */
    ck_assert_uint_eq(nonfinite(&a), 1);
    const char *rec = api_record(&a, "nonfinite", "cublasDotEx");
    ASSERT_JSTR(rec, "check", "host");
    ASSERT_JNUM(rec, "inf", 1);
    ASSERT_JNUM(rec, "pos_inf", 1);
    ASSERT_JNUM(rec, "numel", 1);
    ASSERT_JNUM(rec, "first_index", 0);
    ASSERT_JSTR(rec, "action", "logged");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.x.inf", 0);
    ASSERT_JNUM(rec, "inputs.y.nan", 0);
    ck_assert_double_eq(api_summary(&a, "cublasDotEx", "checked"), 1);
    ck_assert_double_eq(api_summary(&a, "cublasDotEx", "nonfinite"), 1);
    hr_app_free(&a);

    /* a finite result: checked, no record, its largest value not asked for */
    run(&a, 1, NULL, ARGS("--n", "4096", "--calls", "3"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", 4096);
    ck_assert_uint_eq(nonfinite(&a), 0);
    ck_assert_double_eq(api_summary(&a, "cublasDotEx", "checked"), 3);
    hr_app_free(&a);

    /* NaN from NaN inputs: received */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--op", "nrm2", "--value", "nan", "--64"));
    ASSERT_OK(&a);
    rec = api_record(&a, "nonfinite", "cublasNrm2Ex_64");
    ASSERT_JNUM(rec, "nan", 1);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.x.nan", 4096);
    hr_app_free(&a);

    /* saturate: FP16 to 65504, BF16 to 0x7F7F, negative kept negative */
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), ARGS("--n", "70000", "--exec", "32F"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", FP16_MAX);
    ASSERT_JSTR(api_record(&a, "nonfinite", "cublasDotEx"), "action", "saturated");
    hr_app_free(&a);
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"),
        ARGS("--type", "16BF", "--exec", "32F", "--value", "3e38", "--y", "-2", "--n", "1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", -3.3895313892515355e38);
    ASSERT_JNUM(api_record(&a, "nonfinite", "cublasDotEx"), "neg_inf", 1);
    hr_app_free(&a);
    /* an FP32 result is not a half output: neither checked nor changed */
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"),
        ARGS("--type", "32F", "--exec", "32F", "--value", "3e38", "--y", "2", "--n", "1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", INFINITY);
    ck_assert_uint_eq(nonfinite(&a), 0);
    ck_assert_double_eq(api_summary(&a, "cublasDotEx", "checked"), 0);
    hr_app_free(&a);
}
END_TEST

START_TEST(axpy_overflow)
{
    /* 2 * 40000 overflows every FP16 y_i; y walked backwards (incy -1) */
    hr_app a;
    run(&a, 1, NULL,
        ARGS("--op", "axpy", "--alpha", "2", "--value", "40000", "--n", "8", "--inc", "-1",
             "--device-scalars"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    const char *rec = api_record(&a, "nonfinite", "cublasAxpyEx");
    ASSERT_JNUM(rec, "site_id", hr_json_num(api_record(&a, "site", "cublasAxpyEx"), "id"));
    ASSERT_JNUM(rec, "n", 8);
    ASSERT_JNUM(rec, "k", 1);
    ASSERT_JNUM(rec, "numel", 8);
    ASSERT_JNUM(rec, "inf", 8);
    ASSERT_JSTR(rec, "ctype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "compute", "CUDA_R_16F");
    ASSERT_JSTR(rec, "compute_used", "CUDA_R_32F"); /* upcast, and still too big */
    hr_app_free(&a);

    /* BF16: 2 * 3e38 */
    run(&a, 1, NULL,
        ARGS("--op", "axpy", "--type", "16BF", "--exec", "32F", "--alpha", "2", "--value",
             "3e38", "--n", "4", "--64"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 4);
    rec = api_record(&a, "nonfinite", "cublasAxpyEx_64");
    ASSERT_JSTR(rec, "atype", "CUDA_R_16BF");
    ASSERT_JSTR(rec, "ctype", "CUDA_R_16BF");
    ASSERT_JNUM(rec, "inf", 4);
    hr_app_free(&a);
}
END_TEST

START_TEST(inputs_and_saturate)
{
    /* NaN inputs: the result received them */
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--value", "nan", "--device-scalars"));
    ASSERT_OK(&a);
    const char *rec = api_record(&a, "nonfinite", "cublasDotEx");
    ASSERT_JNUM(rec, "nan", 1);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.x.nan", 4096);
    ASSERT_JNUM(rec, "inputs.y.nan", 0);
    hr_app_free(&a);

    /* 300^2 overflows FP16 execution, not FP32: the upcast saves it... */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "nrm2", "--value", "300", "--n", "1", "--device-scalars", "--exec", "32F"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", 300);
    ck_assert_uint_eq(nonfinite(&a), 0);
    hr_app_free(&a);
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1", "SAFEHALF_UPCAST=none"),
        ARGS("--op", "nrm2", "--value", "300", "--n", "1", "--device-scalars"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", INFINITY); /* ...and without it the overflow is the call's own */
    rec = api_record(&a, "nonfinite", "cublasNrm2Ex");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.x.inf", 0);
    hr_app_free(&a);

    /* saturate: the result becomes the largest finite half */
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"),
        ARGS("--n", "70000", "--exec", "32F", "--device-scalars"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "result", FP16_MAX);
    ASSERT_JSTR(api_record(&a, "nonfinite", "cublasDotEx"), "action", "saturated");
    hr_app_free(&a);
}
END_TEST

START_TEST(counts_per_api)
{
    hr_app a;
    run(&a, 1, NULL, ARGS("--op", "axpy", "--calls", "3", "--64", "--n", "8"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", 3); /* y = 0 + 3 x 1 */
    ck_assert_double_eq(api_summary(&a, "cublasAxpyEx_64", "calls"), 3);
    ck_assert_double_eq(api_summary(&a, "cublasAxpyEx_64", "upcasts"), 3);
    ck_assert_double_eq(api_summary(&a, "cublasAxpyEx_64", "checked"), 3);
    ck_assert_double_eq(api_summary(&a, "cublasAxpyEx_64", "nonfinite"), 0);
    ck_assert_msg(hr_json_get(summary_record(&a), "apis.cublasAxpyEx", NULL, 0) == 0,
                  "an api never called in the summary: %s", summary_record(&a));
    /* one site, counted three times: [id, calls, upcasts, checked, nonfinite] */
    const char *counts = hr_log_find(&a.log, "counts", 0);
    ck_assert_msg(counts && strstr(counts, "\"sites\":[[1,3,3,3,0]]"), "%s",
                  hr_log_dump(&a.log));
    hr_app_free(&a);
}
END_TEST

int main(void)
{
    hr_env_path("SH_LIB");
    hr_env_path("SH_EMU_DIR");
    hr_env_path("SH_APPS_DIR");
    Suite *s;
    TCase *t = hr_one_case("reduce", 300, &s);
    tcase_add_loop_test(t, dot_upcast, 0, 4);
    tcase_add_loop_test(t, nrm2_upcast, 0, 2);
    tcase_add_loop_test(t, axpy_upcast, 0, 4);
    tcase_add_test(t, other_families_leave_it);
    tcase_add_test(t, observe_mode);
    tcase_add_test(t, fp32_passes);
    tcase_add_loop_test(t, dot_overflow, 0, 2);
    tcase_add_test(t, host_result_checked_on_host);
    tcase_add_test(t, axpy_overflow);
    tcase_add_test(t, inputs_and_saturate);
    tcase_add_test(t, counts_per_api);
    return hr_run_suites(srunner_create(s));
}
