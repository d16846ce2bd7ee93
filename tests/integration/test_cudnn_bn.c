/* Integration tests of the shim's batch-normalization checks on the
 * emulated libcudnn.so.9: bn_app (tests/apps/bn_app.c, an ordinary cuDNN
 * program) makes one cudnnBatchNormalization* call as PyTorch's cuDNN
 * BatchNorm does (the Ex forms), and the tests assert on what it prints and
 * on the shim's call, site, nonfinite and summary records.
 *
 * Numbers (bn_app's defaults: x [2, 2, 1, 4] half, each channel's eight
 * values alternating +1 and -1, so the batch mean is 0, the variance 1 and
 * x-hat = +-1/sqrt(1 + 1e-5); the emulated cuDNN computes in FLOAT and
 * rounds each half output once, tests/emu/dnn_bn.c):
 * - forward, scale 2, bias 0.5: y = 2.49999 and -1.49999, halves 2.5 and
 *   -1.5; scale 1e5: +-99999.5, all 16 beyond 65504: Inf;
 * - inference with variance -1: sqrt(-1 + 1e-5) is NaN, every y NaN from
 *   finite inputs;
 * - backward, dy = 1 at the first position of each channel and 0 elsewhere:
 *   dx = scale x inv_std x (dy - 1/8 - x-hat / 8), so the first element is
 *   0.75 x scale x inv_std (0.75 in half for scale 1; 74999.6 for 1e5:
 *   Inf, one per channel) and the others -0.25 x scale or 0.
 *
 * Suite (CK_RUN_SUITE): cudnn-bn. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

#define TRACE "SAFEHALF_LOG_LEVEL=trace"
#define INPUTS "SAFEHALF_CHECK_INPUTS=1"
#define NUMEL 16 /* N x C x HW */
#define PER_STAT 8 /* N x HW, each channel's statistics */
#define BIG "100000"

static void run(hr_app *a, int shim, const char *const *env, const char *const args[])
{
    hr_app_opts o = { .shim = shim, .emu = 1, .env = env };
    hr_app_run(a, &o, "bn_app", args);
}

struct bn_case {
    const char *op, *api;
    long long k;    /* elements per statistic; inference reads none */
    double big_inf; /* Inf in the output with scale 1e5 */
};

static const struct bn_case cases[] = {
    { "train", "cudnnBatchNormalizationForwardTraining", PER_STAT, NUMEL },
    { "train-ex", "cudnnBatchNormalizationForwardTrainingEx", PER_STAT, NUMEL },
    { "infer", "cudnnBatchNormalizationForwardInference", 1, NUMEL },
    { "bwd", "cudnnBatchNormalizationBackward", PER_STAT, 2 },
    { "bwd-ex", "cudnnBatchNormalizationBackwardEx", PER_STAT, 2 },
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* Each call is described (a reduction over each statistic's elements,
 * FLOAT compute, nothing to rewrite), gets a call site, is checked, and its
 * numbers are the program's own with or without the shim. */
START_TEST(described_and_checked)
{
    const struct bn_case *t = &cases[_i];
    hr_app plain, shim;
    run(&plain, 0, NULL, ARGS("--op", t->op, "--scale", "2", "--bias", "0.5"));
    ASSERT_OK(&plain);
    run(&shim, 1, ENV(TRACE), ARGS("--op", t->op, "--scale", "2", "--bias", "0.5"));
    ASSERT_OK(&shim);
    bool fwd = t->op[0] != 'b';
    ASSERT_KV(&plain, "out0", fwd ? 2.5 : 1.5); /* backward: 0.75 x scale 2 */
    ASSERT_KV(&shim, "out0", hr_kv_num(plain.r.out, "out0"));
    ASSERT_KV(&shim, "maxfinite", hr_kv_num(plain.r.out, "maxfinite"));
    const char *rec = api_record(&shim, "call", t->api);
    ASSERT_JNUM(rec, "status", 0);
    /* btype: the scale and bias */
    ASSERT_SHAPE(rec, 1, NUMEL, t->k, 1, "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT", "CUDNN_DATA_HALF");
    ASSERT_JSTR(rec, "compute", "CUDNN_DATA_FLOAT");
    ASSERT_JSTR(rec, "compute_used", "CUDNN_DATA_FLOAT");
    ASSERT_JSTR(rec, "action", "pass");
    const char *site = api_record(&shim, "site", t->api);
    ASSERT_JNUM(rec, "site_id", hr_json_num(site, "id"));
    ck_assert_double_eq(api_summary(&shim, t->api, "calls"), 1);
    ck_assert_double_eq(api_summary(&shim, t->api, "upcasts"), 0);
    ck_assert_double_eq(api_summary(&shim, t->api, "checked"), 1);
    ck_assert_double_eq(api_summary(&shim, t->api, "nonfinite"), 0);
    ck_assert_uint_eq(hr_log_count(&shim.log, "nonfinite"), 0);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* A scale of 1e5 overflows the half output from finite inputs: the call
 * made it, and with SAFEHALF_CHECK_INPUTS its inputs say so. */
START_TEST(overflow_made_here)
{
    const struct bn_case *t = &cases[_i];
    hr_app a;
    run(&a, 1, ENV(INPUTS), ARGS("--op", t->op, "--scale", BIG));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", t->big_inf);
    const char *rec = api_record(&a, "nonfinite", t->api);
    ASSERT_JNUM(rec, "numel", NUMEL);
    ASSERT_JNUM(rec, "inf", t->big_inf);
    ASSERT_JNUM(rec, "nan", 0);
    ASSERT_JNUM(rec, "k", t->k);
    ASSERT_JSTR(rec, "ctype", "CUDNN_DATA_HALF");
    ASSERT_JSTR(rec, "compute", "CUDNN_DATA_FLOAT");
    ASSERT_JSTR(rec, "action", "logged");
    ASSERT_JNUM(rec, "site_id", hr_json_num(api_record(&a, "site", t->api), "id"));
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.x.inf", 0);
    ASSERT_JNUM(rec, "inputs.bnScale.inf", 0);
    ck_assert_msg(!strstr(rec, "\"output\""), "one output: %s", rec);
    if (t->op[0] == 'b') {
        ASSERT_JNUM(rec, "inputs.dy.inf", 0);
        ASSERT_JNUM(rec, "inputs.savedMean.nan", 0);
        ASSERT_JNUM(rec, "inputs.savedInvVariance.nan", 0);
    } else {
        ASSERT_JNUM(rec, "inputs.bnBias.inf", 0);
    }
    if (!strcmp(t->op, "infer")) {
        ASSERT_JNUM(rec, "inputs.estimatedMean.nan", 0);
        ASSERT_JNUM(rec, "inputs.estimatedVariance.nan", 0);
    } else {
        ASSERT_ABSENT(rec, "inputs.estimatedVariance");
    }
    ck_assert_double_eq(api_summary(&a, t->api, "nonfinite"), 1);
    hr_app_free(&a);
}
END_TEST

/* Evaluation with a corrupt running variance, the classic black image of a
 * BatchNorm model in eval(): a negative variance makes every y NaN from
 * finite inputs (made here); a NaN one is received, and named. */
START_TEST(running_variance)
{
    hr_app a;
    run(&a, 1, ENV(INPUTS), ARGS("--op", "infer", "--var", "-1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "nan", NUMEL);
    const char *rec = api_record(&a, "nonfinite", "cudnnBatchNormalizationForwardInference");
    ASSERT_JNUM(rec, "nan", NUMEL);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.estimatedVariance.nan", 0);
    hr_app_free(&a);

    run(&a, 1, ENV(INPUTS), ARGS("--op", "infer", "--var", "nan"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "nan", NUMEL);
    rec = api_record(&a, "nonfinite", "cudnnBatchNormalizationForwardInference");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.estimatedVariance.nan", 2); /* one per channel */
    ASSERT_JNUM(rec, "inputs.estimatedMean.nan", 0);
    ASSERT_JNUM(rec, "inputs.x.nan", 0);
    hr_app_free(&a);
}
END_TEST

/* BN_ADD_ACTIVATION backward writes two outputs: dx, and dz, the ReLU's
 * masked dy, computed from dy and y alone. An Inf in dy reaches both:
 * two records, each named and each listing its own inputs. */
START_TEST(add_relu_backward)
{
    hr_app a;
    run(&a, 1, ENV(INPUTS), ARGS("--op", "bwd-ex", "--z", "1", "--dy", "inf"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "dz_inf", 2);
    ck_assert_uint_eq(hr_log_count_where(&a.log, "nonfinite", "api",
                                         "cudnnBatchNormalizationBackwardEx"), 2);
    int seen_dx = 0, seen_dz = 0;
    for (size_t i = 0; i < 2; i++) {
        const char *rec = hr_log_find(&a.log, "nonfinite", i);
        ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
        ASSERT_JNUM(rec, "inputs.dy.inf", 2);
        ASSERT_JNUM(rec, "inputs.y.inf", 0);
        if (hr_json_str_is(rec, "output", "dz")) {
            seen_dz++;
            ASSERT_JNUM(rec, "inf", 2);
            ASSERT_JNUM(rec, "k", 1);
            ASSERT_ABSENT(rec, "inputs.x");
            ASSERT_ABSENT(rec, "inputs.bnScale");
        } else {
            ASSERT_JSTR(rec, "output", "dx");
            seen_dx++;
            ASSERT_JNUM(rec, "k", PER_STAT);
            ASSERT_JNUM(rec, "inputs.x.inf", 0);
            ASSERT_JNUM(rec, "inputs.bnScale.inf", 0);
            ASSERT_JNUM(rec, "inputs.bnBias.inf", 0);
        }
    }
    ck_assert_int_eq(seen_dx, 1);
    ck_assert_int_eq(seen_dz, 1);
    hr_app_free(&a);

    /* finite: dz is dy (the ReLU passes everything: y > 0) */
    run(&a, 1, ENV(TRACE), ARGS("--op", "bwd-ex", "--z", "1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "dz_out0", 1);
    ASSERT_KV(&a, "out0", 0.75);
    ck_assert_double_eq(api_summary(&a, "cudnnBatchNormalizationBackwardEx", "checked"), 2);
    hr_app_free(&a);
}
END_TEST

/* beta = 1 blends y's old contents in: y is an input the scans cannot read
 * as it was (they run after the call), so an overflow is neither blamed on
 * it nor cleared: inputs_finite unknown. saturate clips y like any other
 * checked output. */
START_TEST(beta_and_saturate)
{
    hr_app a;
    run(&a, 1, ENV(INPUTS), ARGS("--op", "infer", "--scale", BIG, "--beta", "1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", NUMEL);
    const char *rec = api_record(&a, "nonfinite", "cudnnBatchNormalizationForwardInference");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":null"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.x.inf", 0);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), ARGS("--op", "train-ex", "--scale", BIG));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 0);
    ASSERT_KV(&a, "out0", 65504);
    ASSERT_KV(&a, "maxfinite", 65504);
    ASSERT_JSTR(api_record(&a, "nonfinite", "cudnnBatchNormalizationForwardTrainingEx"), "action",
                "saturated");
    hr_app_free(&a);
}
END_TEST

/* Only 16-bit outputs are checked: BFLOAT16 holds 1e5 (no Inf, checked);
 * a FLOAT model's BatchNorm is described but not scanned. */
START_TEST(data_types)
{
    hr_app a;
    run(&a, 1, ENV(TRACE), ARGS("--op", "train-ex", "--scale", BIG, "--type", "BFLOAT16"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 0);
    const char *api = "cudnnBatchNormalizationForwardTrainingEx";
    ASSERT_JSTR(api_record(&a, "call", api), "ctype", "CUDNN_DATA_BFLOAT16");
    ck_assert_double_eq(api_summary(&a, api, "checked"), 1);
    ck_assert_uint_eq(hr_log_count(&a.log, "nonfinite"), 0);
    hr_app_free(&a);

    run(&a, 1, ENV(TRACE), ARGS("--op", "train-ex", "--type", "FLOAT"));
    ASSERT_OK(&a);
    ASSERT_JSTR(api_record(&a, "call", api), "ctype", "CUDNN_DATA_FLOAT");
    ck_assert_double_eq(api_summary(&a, api, "checked"), 0);
    hr_app_free(&a);

    /* per activation: each statistic is over N = 2 */
    run(&a, 1, ENV(TRACE), ARGS("--op", "train", "--mode", "per-activation"));
    ASSERT_OK(&a);
    ASSERT_JNUM(api_record(&a, "call", "cudnnBatchNormalizationForwardTraining"), "k", 2);
    hr_app_free(&a);
}
END_TEST

START_TEST(check_off)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK=off"), ARGS("--op", "train-ex", "--scale", BIG));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", NUMEL);
    ck_assert_uint_eq(hr_log_count(&a.log, "nonfinite"), 0);
    ck_assert_double_eq(api_summary(&a, "cudnnBatchNormalizationForwardTrainingEx", "checked"),
                        0);
    hr_app_free(&a);
}
END_TEST

int main(void)
{
    hr_env_path("SH_LIB");
    hr_env_path("SH_EMU_DIR");
    hr_env_path("SH_APPS_DIR");
    Suite *s;
    TCase *t = hr_one_case("cudnn-bn", 120, &s);
    tcase_add_loop_test(t, described_and_checked, 0, N_CASES);
    tcase_add_loop_test(t, overflow_made_here, 0, N_CASES);
    tcase_add_test(t, running_variance);
    tcase_add_test(t, add_relu_backward);
    tcase_add_test(t, beta_and_saturate);
    tcase_add_test(t, data_types);
    tcase_add_test(t, check_off);
    return hr_run_suites(srunner_create(s));
}
