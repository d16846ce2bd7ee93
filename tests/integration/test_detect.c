/* Integration tests of Inf/NaN detection on the emulated backend: ordinary
 * programs (tests/apps) run with and without the shim; the tests assert on
 * what the programs print and on the shim's nonfinite, crash and summary
 * records.
 *
 * Numbers (tests/apps/overflow_app.c): by default the app is the FP16 einsum
 * 'bnhw,bchw->bnc' with b = 2, n = 3, c = 4 and hw = k = 16224 through
 * cublasGemmStridedBatchedEx (m = 4, n = 3, batch 2: 24 outputs), masks 1,
 * features 16.7 (16.703125 in FP16): every output is 16224 x 16.703125 =
 * 270991.5 in FP32, +Inf in FP16 (largest finite 65504). --value 1 gives
 * 16224, finite. gemm_app with ones and k = 70000 gives 70000 with FP32
 * accumulation (the shim's upcast), +Inf in an FP16 output. In BF16,
 * 4106 products of 255 x 2^108 (0x1.fep+115, BF16's largest / 2^12) sum
 * to 3.3978e38: finite in FP32, but more than half a step above BF16's
 * largest finite value (3.3895e38, 0x7F7F), so +Inf in a BF16 output.
 *
 * Suites (CK_RUN_SUITE): detect, actions, sampling, capture. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

#define OVERFLOW_SUM 270991.5 /* 16224 x 16.703125 */
#define FP16_MAX 65504.0
#define BF16_MAX 0x1.fep+127 /* 0x7F7F */

static void run(hr_app *a, int shim, const char *const *env, const char *app,
                const char *const args[])
{
    hr_app_opts o = { .shim = shim, .emu = 1, .env = env };
    hr_app_run(a, &o, app, args);
}

static size_t nonfinite(const hr_app *a)
{
    return a->have_log ? hr_log_count(&a->log, "nonfinite") : 0;
}

/* The default overflow's record: what the einsum call was and what it made. */
static void check_overflow_record(const char *rec, const char *api)
{
    int hgemm = strcmp(api, "cublasHgemm") == 0; /* compute 16F, upcast */
    ASSERT_JSTR(rec, "api", api);
    ASSERT_JNUM(rec, "m", 4);
    ASSERT_JNUM(rec, "n", 3);
    ASSERT_JNUM(rec, "k", 16224);
    ASSERT_JSTR(rec, "atype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "ctype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "compute", hgemm ? "CUBLAS_COMPUTE_16F" : "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JNUM(rec, "nan", 0);
    ASSERT_JNUM(rec, "neg_inf", 0);
    ASSERT_JNUM(rec, "first_index", 0);
    ASSERT_JNUM(rec, "first.row", 0);
    ASSERT_JNUM(rec, "first.col", 0);
    ASSERT_JNUM(rec, "absmax", 0); /* nothing finite left */
    ASSERT_JNUM(rec, "device", 0);
    ASSERT_JTYPE(rec, "captured", 'b');
    ASSERT_JTYPE(rec, "stream", 's');
    ASSERT_JTYPE(rec, "seq", 'n');
    ASSERT_JTYPE(rec, "thread", 'n');
    ASSERT_JTYPE(rec, "caller.address", 's');
}

/* ---- detect --------------------------------------------------------------------- */

START_TEST(einsum_overflow)
{
    hr_app plain, shim;
    run(&plain, 0, NULL, "overflow_app", NULL);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "inf", 24); /* FP32 accumulation does not save an FP16 output */
    run(&shim, 1, NULL, "overflow_app", NULL);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "inf", 24); /* observed, not changed */
    ck_assert_msg(nonfinite(&shim) == 1, "%zu nonfinite records\n%s", nonfinite(&shim),
                  hr_log_dump(&shim.log));
    const char *rec = hr_log_find(&shim.log, "nonfinite", 0);
    check_overflow_record(rec, "cublasGemmStridedBatchedEx");
    ASSERT_JNUM(rec, "batch", 2);
    ASSERT_JNUM(rec, "inf", 24);
    ASSERT_JNUM(rec, "pos_inf", 24);
    ASSERT_JNUM(rec, "numel", 24);
    ASSERT_JSTR(rec, "action", "logged");
    ASSERT_JSTR(rec, "check", "async");
    ASSERT_JTYPE(rec, "inputs_finite", 'z'); /* inputs not scanned */
    ck_assert_msg(hr_json_get(rec, "captured", NULL, 0) == 'b' &&
                      strstr(rec, "\"captured\":false"), "%s", rec);
    /* The call that made it is the program's second intercepted one. */
    ASSERT_JNUM(rec, "seq", 2);
    char obj[512];
    ck_assert(hr_json_get(rec, "caller.object", obj, sizeof obj) == 's');
    ck_assert_msg(strstr(obj, "overflow_app") != NULL, "caller %s", obj);
    /* One line on stderr names it too. */
    ck_assert_msg(strstr(shim.r.err, "safehalf: Inf/NaN in the output of "
                                     "cublasGemmStridedBatchedEx (call 2"),
                  "%s", shim.r.err);
    const char *sum = summary_record(&shim);
    ASSERT_JNUM(sum, "apis.cublasGemmStridedBatchedEx.checked", 1);
    ASSERT_JNUM(sum, "apis.cublasGemmStridedBatchedEx.nonfinite", 1);
    ASSERT_JNUM(sum, "checks.checked", 1);
    ASSERT_JNUM(sum, "checks.nonfinite", 1);
    ASSERT_JNUM(sum, "checks.lost_at_exit", 0);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

START_TEST(other_entries_overflow)
{
    static const char *const forms[][2] = { { "batched", "cublasGemmBatchedEx" },
                                            { "gemm", "cublasGemmEx" },
                                            { "hgemm", "cublasHgemm" } };
    for (int i = 0; i < 3; i++) {
        hr_app a;
        run(&a, 1, NULL, "overflow_app", ARGS("--entry", forms[i][0]));
        ASSERT_OK(&a);
        ck_assert_msg(nonfinite(&a) == 1, "%s: %zu records\n%s", forms[i][0], nonfinite(&a),
                      hr_log_dump(&a.log));
        const char *rec = hr_log_find(&a.log, "nonfinite", 0);
        check_overflow_record(rec, forms[i][1]);
        int batched = i == 0;
        ASSERT_JNUM(rec, "batch", batched ? 2 : 1);
        ASSERT_JNUM(rec, "inf", batched ? 24 : 12);
        hr_app_free(&a);
    }
}
END_TEST

START_TEST(finite_output_no_record)
{
    hr_app a;
    run(&a, 1, NULL, "overflow_app", ARGS("--value", "1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", 16224);
    ck_assert_msg(nonfinite(&a) == 0, "%s", hr_log_dump(&a.log));
    ck_assert_msg(strstr(a.r.err, "Inf/NaN") == NULL, "%s", a.r.err);
    const char *sum = summary_record(&a);
    ASSERT_JNUM(sum, "checks.checked", 1);
    ASSERT_JNUM(sum, "checks.nonfinite", 0);
    hr_app_free(&a);
}
END_TEST

/* Every GEMM entry point is checked, upcast or not: 70000 ones summed in
 * FP32 (the upcast) is +Inf in the FP16 output. */
START_TEST(every_entry_checked)
{
    static const char *const entries[] = {
        "cublasHgemm", "cublasHgemm_64", "cublasHgemmBatched", "cublasHgemmBatched_64",
        "cublasHgemmStridedBatched", "cublasHgemmStridedBatched_64", "cublasGemmEx",
        "cublasGemmEx_64", "cublasGemmBatchedEx", "cublasGemmBatchedEx_64",
        "cublasGemmStridedBatchedEx", "cublasGemmStridedBatchedEx_64",
    };
    for (int i = 0; i < 12; i++) {
        hr_app a;
        int batched = strstr(entries[i], "Batched") != NULL;
        run(&a, 1, NULL, "gemm_app",
            ARGS(entries[i], "--data", "ones", "--k", "70000", "--m", "2", "--n", "3"));
        ASSERT_OK(&a);
        ASSERT_KV(&a, "inf", batched ? 18 : 6);
        ck_assert_msg(nonfinite(&a) == 1, "%s: %zu records\n%s", entries[i], nonfinite(&a),
                      hr_log_dump(&a.log));
        const char *rec = hr_log_find(&a.log, "nonfinite", 0);
        ASSERT_JSTR(rec, "api", entries[i]);
        ASSERT_JNUM(rec, "inf", batched ? 18 : 6);
        ASSERT_JNUM(rec, "numel", batched ? 18 : 6);
        ASSERT_JNUM(rec, "batch", batched ? 3 : 1);
        ASSERT_JSTR(rec, "compute", "CUBLAS_COMPUTE_16F");
        ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_32F");
        hr_app_free(&a);

        /* finite (4096 ones): checked, nothing to report */
        run(&a, 1, NULL, "gemm_app", ARGS(entries[i], "--data", "ones"));
        ASSERT_OK(&a);
        ck_assert_uint_eq(nonfinite(&a), 0);
        char path[96];
        snprintf(path, sizeof path, "apis.%s.checked", entries[i]);
        ASSERT_JNUM(summary_record(&a), path, 1);
        hr_app_free(&a);
    }
}
END_TEST

/* Checking does not depend on rewriting: observe mode and no upcast
 * families still check; mode off does nothing at all. */
START_TEST(checked_without_upcast)
{
    static const char *const envs[] = { "SAFEHALF_MODE=observe", "SAFEHALF_UPCAST=none" };
    for (int i = 0; i < 2; i++) {
        hr_app a;
        run(&a, 1, ENV(envs[i]), "overflow_app", ARGS("--entry", "hgemm"));
        ASSERT_OK(&a);
        ck_assert_msg(nonfinite(&a) == 1, "%s: %zu records\n%s", envs[i], nonfinite(&a),
                      hr_log_dump(&a.log));
        const char *rec = hr_log_find(&a.log, "nonfinite", 0);
        ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_16F"); /* left alone */
        hr_app_free(&a);
    }
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_MODE=off"), "overflow_app", NULL);
    ASSERT_OK(&a);
    ck_assert_msg(!a.have_log, "mode off wrote a log");
    ck_assert_msg(strstr(a.r.err, "Inf/NaN") == NULL, "%s", a.r.err);
    hr_app_free(&a);
}
END_TEST

START_TEST(fp32_output_not_checked)
{
    hr_app a;
    run(&a, 1, NULL, "gemm_app", ARGS("cublasGemmEx", "--data", "big", "--compute", "32F"));
    ASSERT_OK(&a);
    ASSERT_JNUM(summary_record(&a), "apis.cublasGemmEx.checked", 0);
    hr_app_free(&a);
}
END_TEST

START_TEST(inputs_received)
{
    /* A NaN feature reaches 3 outputs (one row of batch 0): received. */
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), "overflow_app",
        ARGS("--nan-input", "--value", "1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "nan", 3);
    ck_assert_msg(nonfinite(&a) == 1, "%s", hr_log_dump(&a.log));
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ASSERT_JNUM(rec, "nan", 3);
    ASSERT_JNUM(rec, "inf", 0);
    ASSERT_JNUM(rec, "absmax", 16224);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.A.nan", 1);
    ASSERT_JNUM(rec, "inputs.B.nan", 0);
    ASSERT_JNUM(rec, "inputs.B.inf", 0);
    hr_app_free(&a);

    /* The overflow is created by the call: its inputs were finite. */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), "overflow_app", NULL);
    ASSERT_OK(&a);
    rec = hr_log_find(&a.log, "nonfinite", 0);
    ck_assert_msg(rec && strstr(rec, "\"inputs_finite\":true"), "%s", hr_log_dump(&a.log));
    ASSERT_JNUM(rec, "inputs.A.nan", 0);
    hr_app_free(&a);

    /* beta = 1 and an Inf already in C (float and half beta): A and B are
     * finite, but C was an input no scan can read after the call, so the
     * call is not said to have made the Inf. */
    for (int hgemm = 0; hgemm < 2; hgemm++) {
        run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), "overflow_app",
            hgemm ? ARGS("--value", "1", "--inf-c", "--entry", "hgemm")
                  : ARGS("--value", "1", "--inf-c"));
        ASSERT_OK(&a);
        rec = hr_log_find(&a.log, "nonfinite", 0);
        ck_assert_msg(rec && strstr(rec, "\"inputs_finite\":null"), "%s", hr_log_dump(&a.log));
        ASSERT_JNUM(rec, "inputs.A.inf", 0);
        ASSERT_JNUM(rec, "inputs.B.inf", 0);
        hr_app_free(&a);
    }
}
END_TEST

START_TEST(threads_streams)
{
    hr_app a;
    run(&a, 1, NULL, "overflow_app", ARGS("--threads", "4"));
    ASSERT_OK(&a);
    ck_assert_msg(nonfinite(&a) == 4, "%zu records\n%s", nonfinite(&a), hr_log_dump(&a.log));
    char streams[4][64];
    double threads[4];
    for (size_t i = 0; i < 4; i++) {
        const char *rec = hr_log_find(&a.log, "nonfinite", i);
        check_overflow_record(rec, "cublasGemmStridedBatchedEx");
        ck_assert(hr_json_get(rec, "stream", streams[i], sizeof streams[i]) == 's');
        threads[i] = hr_json_num(rec, "thread");
        for (size_t j = 0; j < i; j++) {
            ck_assert_msg(strcmp(streams[i], streams[j]) != 0, "stream %s twice", streams[i]);
            ck_assert_msg(threads[i] != threads[j], "thread %.0f twice", threads[i]);
        }
    }
    ASSERT_JNUM(summary_record(&a), "checks.checked", 4);
    hr_app_free(&a);
}
END_TEST

/* cublasSgemmEx (i even) or cublasSgemmEx_64 (i odd) in gemm_app with a
 * 2 x 3 output that FP32 accumulation makes +Inf: FP16 data (i < 2) or
 * BF16 data (i >= 2), one more option (opt, val) when opt is not NULL. */
static void run_sgemm_ex(hr_app *a, int shim, const char *const *env, int i, const char *opt,
                         const char *val)
{
    const char *args[16] = { i % 2 ? "cublasSgemmEx_64" : "cublasSgemmEx", "--m", "2", "--n",
                             "3" };
    size_t n = 5;
    if (i >= 2) {
        static const char *const bf16[] = { "--type", "16BF", "--value", "0x1.fep+115",
                                            "--k", "4106" };
        for (size_t j = 0; j < 6; j++)
            args[n++] = bf16[j];
    } else {
        args[n++] = "--k";
        args[n++] = "70000";
    }
    if (opt) {
        args[n++] = opt;
        args[n++] = val;
    }
    args[n] = NULL;
    run(a, shim, env, "gemm_app", args);
}

/* cublasSgemmEx always accumulates in FP32: nothing to upcast, and its
 * record says so (compute COMPUTE_32F, action pass), but its FP16 or BF16
 * output overflows like any half output and is checked like GemmEx's. */
START_TEST(sgemm_ex_overflow)
{
    const char *e = _i % 2 ? "cublasSgemmEx_64" : "cublasSgemmEx";
    int bf16 = _i >= 2;
    const char *type = bf16 ? "CUDA_R_16BF" : "CUDA_R_16F";
    double k = bf16 ? 4106 : 70000;
    hr_app plain, a;
    run_sgemm_ex(&plain, 0, NULL, _i, NULL, NULL);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "inf", 6);
    ASSERT_KV(&plain, "ref0", bf16 ? 4106 * 0x1.fep+115 : 70000);
    run_sgemm_ex(&a, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), _i, NULL, NULL);
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 6); /* observed, not changed */
    ck_assert_msg(nonfinite(&a) == 1, "%s: %zu records\n%s", e, nonfinite(&a),
                  hr_log_dump(&a.log));
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ASSERT_JSTR(rec, "api", e);
    ASSERT_SHAPE(rec, 2, 3, k, 1, type, type, type);
    ASSERT_JSTR(rec, "compute", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JNUM(rec, "inf", 6);
    ASSERT_JNUM(rec, "pos_inf", 6);
    ASSERT_JNUM(rec, "nan", 0);
    ASSERT_JNUM(rec, "numel", 6);
    ASSERT_JSTR(rec, "action", "logged");
    ASSERT_JNUM(rec, "seq", 2);
    const char *call = api_record(&a, "call", e);
    ASSERT_JSTR(call, "compute", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(call, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(call, "action", "pass");
    ASSERT_JNUM(call, "status", 0);
    ck_assert_msg(api_record(&a, "site", e) != NULL, "no site record");
    char line[160];
    snprintf(line, sizeof line, "safehalf: Inf/NaN in the output of %s (call 2, m=2 n=3 k=%.0f",
             e, k);
    ck_assert_msg(strstr(a.r.err, line), "%s", a.r.err);
    ck_assert_msg(api_summary(&a, e, "calls") == 1 && api_summary(&a, e, "upcasts") == 0 &&
                      api_summary(&a, e, "checked") == 1 && api_summary(&a, e, "nonfinite") == 1,
                  "%s", summary_record(&a));
    ASSERT_JNUM(summary_record(&a), "checks.nonfinite", 1);
    hr_app_free(&plain);
    hr_app_free(&a);
}
END_TEST

/* With SAFEHALF_CHECK_INPUTS=1 SgemmEx's A and B are scanned: finite, so
 * the call made the overflow. beta is a float: 1 makes C an unread input
 * (origin unknown); read as a half, its low 16 bits (0) would say 0. */
START_TEST(sgemm_ex_inputs)
{
    hr_app a;
    run_sgemm_ex(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), _i, NULL, NULL);
    ASSERT_OK(&a);
    ck_assert_msg(nonfinite(&a) == 1, "%s", hr_log_dump(&a.log));
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.A.inf", 0);
    ASSERT_JNUM(rec, "inputs.A.nan", 0);
    ASSERT_JNUM(rec, "inputs.B.inf", 0);
    ASSERT_JNUM(rec, "inputs.B.nan", 0);
    hr_app_free(&a);

    run_sgemm_ex(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), _i, "--beta", "1");
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 6);
    ck_assert_msg(nonfinite(&a) == 1, "%s", hr_log_dump(&a.log));
    rec = hr_log_find(&a.log, "nonfinite", 0);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":null"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.A.inf", 0);
    hr_app_free(&a);
}
END_TEST

/* Index of the first record of kind ev in the log. */
static size_t line_of(const hr_app *a, const char *ev)
{
    size_t i = 0;
    while (i < a->log.n && !hr_json_str_is(a->log.lines[i], "ev", ev))
        i++;
    return i;
}

/* ---- actions -------------------------------------------------------------------- */

START_TEST(saturate_f16)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), "overflow_app", NULL);
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", FP16_MAX);
    ASSERT_KV(&a, "maxfinite", FP16_MAX);
    ASSERT_KV(&a, "inf", 0);
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ck_assert_msg(rec != NULL, "%s", hr_log_dump(&a.log));
    ASSERT_JSTR(rec, "action", "saturated");
    ASSERT_JNUM(rec, "inf", 24); /* what it saw before saturating */
    hr_app_free(&a);
}
END_TEST

START_TEST(saturate_keeps_nan)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), "overflow_app", ARGS("--nan-input"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "nan", 3);
    ASSERT_KV(&a, "inf", 0);
    ASSERT_KV(&a, "maxfinite", FP16_MAX);
    hr_app_free(&a);
}
END_TEST

START_TEST(saturate_bf16)
{
    /* 16224 x 3e34 (2.99e34 in BF16) overflows BF16 too */
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), "overflow_app",
        ARGS("--bf16", "--value", "3e34"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 0);
    float bf16_max;
    unsigned bits = 0x7F7F0000u;
    memcpy(&bf16_max, &bits, sizeof bf16_max);
    ck_assert_msg((float)hr_kv_num(a.r.out, "out0") == bf16_max, "%s", hr_describe(&a.r));
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ck_assert_msg(rec != NULL, "%s", hr_log_dump(&a.log));
    ASSERT_JSTR(rec, "ctype", "CUDA_R_16BF");
    ASSERT_JNUM(rec, "inf", 24);
    hr_app_free(&a);
}
END_TEST

/* saturate clips SgemmEx's output as any checked one: 65504 in FP16,
 * 0x7F7F in BF16. */
START_TEST(sgemm_ex_saturate)
{
    float max = _i >= 2 ? (float)BF16_MAX : (float)FP16_MAX;
    hr_app a;
    run_sgemm_ex(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), _i, NULL, NULL);
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 0);
    /* printed with 9 digits: exact as a float */
    static const char *const keys[] = { "c0", "cmin", "cmax" };
    for (int i = 0; i < 3; i++)
        ck_assert_msg((float)hr_kv_num(a.r.out, keys[i]) == max, "%s\n%s", keys[i],
                      hr_describe(&a.r));
    ck_assert_msg(nonfinite(&a) == 1, "%s", hr_log_dump(&a.log));
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ASSERT_JSTR(rec, "api", _i % 2 ? "cublasSgemmEx_64" : "cublasSgemmEx");
    ASSERT_JSTR(rec, "action", "saturated");
    ASSERT_JNUM(rec, "inf", 6); /* what it saw before saturating */
    hr_app_free(&a);
}
END_TEST

START_TEST(abort_action)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=abort"), "overflow_app", NULL);
    ASSERT_KILLED_BY(&a, SIGABRT);
    ck_assert_msg(a.have_log, "no log");
    ck_assert_msg(nonfinite(&a) == 1, "%s", hr_log_dump(&a.log));
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    ASSERT_JSTR(rec, "action", "aborted");
    check_overflow_record(rec, "cublasGemmStridedBatchedEx");
    const char *crash = hr_log_find(&a.log, "crash", 0);
    ck_assert_msg(crash != NULL, "no crash record\n%s", hr_log_dump(&a.log));
    ASSERT_JNUM(crash, "signal", SIGABRT);
    ASSERT_JSTR(crash, "name", "SIGABRT");
    ck_assert_msg(strstr(a.r.err, "SAFEHALF_ON_NONFINITE=abort"), "%s", a.r.err);
    /* the record is written before the signal */
    ck_assert_msg(line_of(&a, "nonfinite") < line_of(&a, "crash"), "%s", hr_log_dump(&a.log));
    hr_app_free(&a);
}
END_TEST

START_TEST(crash_flushes_detection)
{
    /* The program faults right after the GEMM, before any synchronization:
     * the finished scan is still reported, then the crash. */
    hr_app a;
    run(&a, 1, NULL, "overflow_app", ARGS("--crash"));
    ASSERT_KILLED_BY(&a, SIGSEGV);
    ck_assert_msg(nonfinite(&a) == 1, "%s", hr_log_dump(&a.log));
    const char *crash = hr_log_find(&a.log, "crash", 0);
    ck_assert_msg(crash != NULL, "%s", hr_log_dump(&a.log));
    ASSERT_JNUM(crash, "signal", SIGSEGV);
    ASSERT_JSTR(crash, "name", "SIGSEGV");
    ASSERT_JSTR(crash, "addr", "0x0");
    ck_assert_msg(strstr(crash, "\"sent\":false"), "%s", crash);
    ck_assert_uint_eq(hr_log_count(&a.log, "crash"), 1);
    ck_assert_uint_eq(hr_log_count(&a.log, "summary"), 0);
    hr_app_free(&a);
}
END_TEST

START_TEST(max_records)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_MAX_RECORDS=2"), "overflow_app", ARGS("--calls", "5"));
    ASSERT_OK(&a);
    ck_assert_uint_eq(nonfinite(&a), 2);
    const char *sum = summary_record(&a);
    ASSERT_JNUM(sum, "checks.nonfinite", 5);
    ASSERT_JNUM(sum, "checks.records_suppressed", 3);
    ASSERT_JNUM(sum, "apis.cublasGemmStridedBatchedEx.nonfinite", 5);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_MAX_RECORDS=0"), "overflow_app", ARGS("--calls", "5"));
    ASSERT_OK(&a);
    ck_assert_uint_eq(nonfinite(&a), 0);
    ASSERT_JNUM(summary_record(&a), "checks.nonfinite", 5);
    hr_app_free(&a);
}
END_TEST

/* ---- sampling and synchronization ------------------------------------------------- */

START_TEST(every_n)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK=every:3"), "overflow_app", ARGS("--calls", "7"));
    ASSERT_OK(&a);
    /* calls 0, 3 and 6 of the seven: seq 2, 5, 8 (cublasCreate is seq 1) */
    ck_assert_uint_eq(nonfinite(&a), 3);
    int seen[9] = { 0 };
    for (size_t i = 0; i < 3; i++) {
        double s = hr_json_num(hr_log_find(&a.log, "nonfinite", i), "seq");
        ck_assert_msg(s == 2 || s == 5 || s == 8, "seq %.0f\n%s", s, hr_log_dump(&a.log));
        ck_assert(!seen[(int)s]++);
    }
    ASSERT_JNUM(summary_record(&a), "checks.checked", 3);
    hr_app_free(&a);
}
END_TEST

START_TEST(check_off)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK=off"), "overflow_app", NULL);
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 24);
    ck_assert_uint_eq(nonfinite(&a), 0);
    ASSERT_JNUM(summary_record(&a), "checks.checked", 0);
    ck_assert_msg(strstr(a.log.lines[0], "\"check\":\"off\""), "%s", a.log.lines[0]);
    hr_app_free(&a);
}
END_TEST

/* Host synchronizations the emulated driver saw in one run. */
static double syncs(const char *check, int shim)
{
    hr_stats st;
    hr_stats_init(&st);
    char env_check[64];
    snprintf(env_check, sizeof env_check, "SAFEHALF_CHECK=%s", check);
    hr_app a;
    run(&a, shim, ENV(st.env, env_check), "overflow_app", ARGS("--calls", "3"));
    ASSERT_OK(&a);
    double n = hr_stats_num(&st, "syncs");
    hr_stats_free(&st);
    hr_app_free(&a);
    return n;
}

START_TEST(default_never_synchronizes)
{
    double without = syncs("all", 0), with = syncs("all", 1), sync = syncs("sync", 1);
    ck_assert_msg(without > 0, "the app's own synchronizations were not counted");
    ck_assert_msg(with == without, "the shim added %.0f synchronizations", with - without);
    ck_assert_msg(sync == without + 3, "sync mode: %.0f synchronizations, expected %.0f", sync,
                  without + 3);
}
END_TEST

START_TEST(sync_mode_records)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK=sync"), "overflow_app", ARGS("--calls", "2"));
    ASSERT_OK(&a);
    ck_assert_uint_eq(nonfinite(&a), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *rec = hr_log_find(&a.log, "nonfinite", i);
        ASSERT_JSTR(rec, "check", "sync");
        /* written by the calling thread, before the call returned, in order */
        ASSERT_JNUM(rec, "tid", hr_json_num(rec, "thread"));
        ASSERT_JNUM(rec, "seq", 2 + (double)i);
    }
    hr_app_free(&a);
}
END_TEST

/* A thread's sync check beside another thread's capture in global mode
 * (torch.cuda.graph's default): the check waits for its own stream only,
 * so the capture is not invalidated, and is recorded as usual. */
START_TEST(sync_mode_beside_a_global_capture)
{
    hr_app a;
    run(&a, 0, NULL, "overflow_app", ARGS("--beside-capture"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "beside_capture_status", 0);
    hr_app_free(&a);
    for (int sync = 0; sync < 2; sync++) {
        run(&a, 1, sync ? ENV("SAFEHALF_CHECK=sync") : NULL, "overflow_app",
            ARGS("--beside-capture"));
        ASSERT_OK(&a);
        ASSERT_KV(&a, "beside_capture_status", 0);
        ASSERT_KV(&a, "inf", 24);
        ck_assert_uint_eq(nonfinite(&a), 1);
        ASSERT_JSTR(hr_log_find(&a.log, "nonfinite", 0), "check", sync ? "sync" : "async");
        hr_app_free(&a);
    }
}
END_TEST

/* ---- graph capture ------------------------------------------------------------------ */

START_TEST(capture_scan)
{
    hr_app a;
    run(&a, 1, NULL, "overflow_app", ARGS("--capture", "5"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "capture_status", 0);
    ASSERT_KV(&a, "graph_status", 0);
    ASSERT_KV(&a, "inf", 24);
    size_t n = nonfinite(&a);
    ck_assert_msg(n >= 1 && n <= 5, "%zu records\n%s", n, hr_log_dump(&a.log));
    /* Replays the poller saw are reported; the last one always is (exit). */
    const char *last = hr_log_find(&a.log, "nonfinite", n - 1);
    check_overflow_record(last, "cublasGemmStridedBatchedEx");
    ck_assert_msg(strstr(last, "\"captured\":true"), "%s", last);
    ASSERT_JNUM(last, "replay", 5);
    const char *sum = summary_record(&a);
    ASSERT_JNUM(sum, "checks.captured", 1);
    ck_assert_msg(hr_json_num(sum, "checks.checked") + hr_json_num(sum, "checks.unseen_replays") == 5,
                  "%s", sum);
    ASSERT_JNUM(sum, "checks.nonfinite", (double)n);
    hr_app_free(&a);
}
END_TEST

START_TEST(capture_skip)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_CAPTURE=skip"), "overflow_app", ARGS("--capture", "5"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "capture_status", 0);
    ASSERT_KV(&a, "graph_status", 0);
    ck_assert_uint_eq(nonfinite(&a), 0);
    const char *sum = summary_record(&a);
    ASSERT_JNUM(sum, "checks.skipped_capture", 1);
    ASSERT_JNUM(sum, "checks.captured", 0);
    hr_app_free(&a);
}
END_TEST

/* cublasGemmGroupedBatchedEx (and _64): nothing to upcast (COMPUTE_32F),
 * each group's outputs checked on their own. overflow_app's group 0 is
 * batch member 0 with k = 1 (finite), group 1 the others with k = 16224
 * (+Inf); a NaN feature reaches group 0 only. */
START_TEST(grouped_gemm_groups)
{
    hr_app plain, a;
    run(&plain, 0, NULL, "overflow_app", ARGS("--entry", "grouped"));
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "inf", 12);
    ASSERT_KV(&plain, "out0", 16.703125);
    run(&a, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), "overflow_app", ARGS("--entry", "grouped"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 12); /* observed, not changed */
    ck_assert_msg(nonfinite(&a) == 1, "%s", hr_log_dump(&a.log));
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    check_overflow_record(rec, "cublasGemmGroupedBatchedEx");
    ASSERT_JNUM(rec, "group", 1);
    ASSERT_JNUM(rec, "batch", 1);
    ASSERT_JNUM(rec, "inf", 12);
    ASSERT_JNUM(rec, "numel", 12);
    /* the call: its largest shape, every problem, the number of groups */
    const char *call = NULL;
    for (size_t i = 0; (call = hr_log_find(&a.log, "call", i)); i++)
        if (hr_json_str_is(call, "api", "cublasGemmGroupedBatchedEx"))
            break;
    ck_assert_msg(call, "%s", hr_log_dump(&a.log));
    ASSERT_JNUM(call, "k", 16224);
    ASSERT_JNUM(call, "batch", 2);
    ASSERT_JNUM(call, "groups", 2);
    ASSERT_JSTR(call, "action", "pass");
    ck_assert_msg(strstr(a.r.err, "cublasGemmGroupedBatchedEx (call 2, m=4 n=3 k=16224 "
                                  "batch=1 group=1: 12 Inf"), "%s", a.r.err);
    const char *sum = summary_record(&a);
    ASSERT_JNUM(sum, "apis.cublasGemmGroupedBatchedEx.checked", 2);
    ASSERT_JNUM(sum, "apis.cublasGemmGroupedBatchedEx.nonfinite", 1);
    ASSERT_JNUM(sum, "apis.cublasGemmGroupedBatchedEx.upcasts", 0);
    hr_app_free(&plain);
    hr_app_free(&a);

    /* _64, three members: a NaN received by group 0, an Inf made by group 1 */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), "overflow_app",
        ARGS("--entry", "grouped64", "--b", "3", "--nan-input"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "nan", 3);
    ASSERT_KV(&a, "inf", 24);
    ck_assert_msg(nonfinite(&a) == 2, "%s", hr_log_dump(&a.log));
    for (size_t i = 0; i < 2; i++) {
        rec = hr_log_find(&a.log, "nonfinite", i);
        ASSERT_JSTR(rec, "api", "cublasGemmGroupedBatchedEx_64");
        int g = (int)hr_json_num(rec, "group");
        ck_assert_msg(g == 0 || g == 1, "%s", rec);
        ASSERT_JNUM(rec, "k", g ? 16224 : 1);
        ASSERT_JNUM(rec, "batch", g ? 2 : 1);
        ASSERT_JNUM(rec, "nan", g ? 0 : 3);
        ASSERT_JNUM(rec, "inf", g ? 24 : 0);
        ASSERT_JNUM(rec, "inputs.A.nan", g ? 0 : 1);
        ASSERT_JNUM(rec, "inputs.B.nan", 0);
        ck_assert_msg(strstr(rec, g ? "\"inputs_finite\":true" : "\"inputs_finite\":false"),
                      "%s", rec);
    }
    hr_app_free(&a);

    /* beta 1 with an Inf in C: both groups' C are unread inputs */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), "overflow_app",
        ARGS("--entry", "grouped", "--value", "1", "--inf-c"));
    ASSERT_OK(&a);
    ck_assert_msg(nonfinite(&a) == 2, "%s", hr_log_dump(&a.log));
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(strstr(hr_log_find(&a.log, "nonfinite", i), "\"inputs_finite\":null"),
                      "%s", hr_log_dump(&a.log));
    hr_app_free(&a);

    /* saturate clips a group's output like any checked output */
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), "overflow_app",
        ARGS("--entry", "grouped"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 0);
    ASSERT_KV(&a, "maxfinite", FP16_MAX);
    hr_app_free(&a);
}
END_TEST

START_TEST(capture_saturate)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), "overflow_app", ARGS("--capture", "3"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 0);
    ASSERT_KV(&a, "out0", FP16_MAX);
    hr_app_free(&a);
}
END_TEST

/* ---- suites ------------------------------------------------------------------------ */

static Suite *suite(const char *name, const TTest *const *tests, size_t n)
{
    Suite *s = suite_create(name);
    TCase *t = tcase_create(name);
    tcase_set_timeout(t, 300);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(t, tests[i]);
    suite_add_tcase(s, t);
    return s;
}

#define SUITE(name, ...)                                                                    \
    suite(name, (const TTest *const[]){ __VA_ARGS__ },                                      \
          sizeof((const TTest *const[]){ __VA_ARGS__ }) / sizeof(const TTest *))

/* s with a test case of its own running test for _i = 0 .. end - 1. */
static Suite *with_loop(Suite *s, const TTest *test, int end)
{
    TCase *t = tcase_create(test->name);
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, test, 0, end);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    hr_env_path("SH_LIB");
    hr_env_path("SH_EMU_DIR");
    hr_env_path("SH_APPS_DIR");
    Suite *detect = SUITE("detect", einsum_overflow, other_entries_overflow,
                          finite_output_no_record, every_entry_checked, checked_without_upcast,
                          fp32_output_not_checked, inputs_received, threads_streams,
                          grouped_gemm_groups);
    SRunner *sr = srunner_create(with_loop(with_loop(detect, sgemm_ex_overflow, 4),
                                           sgemm_ex_inputs, 2));
    srunner_add_suite(sr, with_loop(SUITE("actions", saturate_f16, saturate_keeps_nan,
                                          saturate_bf16, abort_action, crash_flushes_detection,
                                          max_records),
                                    sgemm_ex_saturate, 4));
    srunner_add_suite(sr, SUITE("sampling", every_n, check_off, default_never_synchronizes,
                                sync_mode_records, sync_mode_beside_a_global_capture));
    srunner_add_suite(sr, SUITE("capture", capture_scan, capture_skip, capture_saturate));
    return hr_run_suites(sr);
}
