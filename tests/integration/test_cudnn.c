/* Integration tests of the cuDNN interposer on the emulated libcudnn.so.9:
 * dnn_app (tests/apps/dnn_app.c, an ordinary cuDNN program) runs with and
 * without the shim; the tests assert on the numbers it prints and on the
 * shim's call, site, nonfinite and summary records.
 *
 * Numbers (the emulated cuDNN rounds every product and partial sum to FP16
 * under compute type HALF, tests/emu/dnn_conv.c, dnn_tensor_ops.c,
 * dnn_exec.c):
 * - a sum of 4096 products 1 x 1 (a convolution with 4096 input channels,
 *   backward data over 4096 output channels, backward filter over a 4096
 *   wide image, a reduction of 4096 ones, a matmul with k = 4096) is 2048
 *   with HALF compute (2048 + 1 rounds back to 2048) and 4096 with FLOAT;
 * - op-tensor ADD of 1 and 2^-11 plus beta 1 times 2^-11: HALF rounds
 *   1 + 2^-11 (a tie) to 1 twice, FLOAT sums to 1 + 2^-10 = 1.0009765625
 *   (exact in the FP16 output);
 * - 8192 products 16 x 1 = 131072 overflow the FP16 output even with FLOAT
 *   compute: +Inf.
 *
 * Suite (CK_RUN_SUITE): cudnn. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

#define TRACE "SAFEHALF_LOG_LEVEL=trace"
#define HALF_SUM 2048.0
#define FLOAT_SUM 4096.0
#define OPT_ARGS "--op", "optensor", "--bvalue", "0.00048828125", "--beta", "1", "--cvalue", \
                 "0.00048828125"
#define OPT_HALF 1.0
#define OPT_FLOAT 1.0009765625
#define OVERFLOW_ARGS "--compute", "FLOAT", "--value", "16", "--r", "8192"
#define FP16_MAX 65504.0

static void run(hr_app *a, int shim, const char *const *env, const char *const args[])
{
    hr_app_opts o = { .shim = shim, .emu = 1, .env = env };
    hr_app_run(a, &o, "dnn_app", args);
}

/* The backend SetAttribute call record of attribute attr (one expected). */
static const char *set_attr_record(const hr_app *a, int attr)
{
    char want[32];
    const char *found = NULL;
    int n = 0;
    snprintf(want, sizeof want, "\"attr\":%d,", attr);
    for (size_t i = 0; a->have_log && i < a->log.n; i++) {
        const char *l = a->log.lines[i];
        if (hr_json_str_is(l, "api", "cudnnBackendSetAttribute") && strstr(l, want))
            found = l, n++;
    }
    ck_assert_msg(n == 1, "%d SetAttribute records for attr %d\n%s", n, attr,
                  a->have_log ? hr_log_dump(&a->log) : "(no log)");
    return found;
}

static void assert_compute(const char *rec, const char *compute, const char *used,
                           const char *action)
{
    ASSERT_JSTR(rec, "compute", compute);
    ASSERT_JSTR(rec, "compute_used", used);
    ASSERT_JSTR(rec, "action", action);
}

/* ---- legacy convolutions ------------------------------------------------------- */

struct conv_case {
    const char *op, *set_api, *api;
    long long m, n, k;
};

/* The implicit GEMMs (shim/cudnn.c): forward m = N x output positions = 4,
 * n = K = 2; backward data m = N x input positions = 4, n = C = 2;
 * backward filter m = C x taps = 2, n = K = 2; k = 4096 for all. */
static const struct conv_case convs[] = {
    { "fwd", "cudnnSetConvolution2dDescriptor", "cudnnConvolutionForward", 4, 2, 4096 },
    { "fwd-nd", "cudnnSetConvolutionNdDescriptor", "cudnnConvolutionForward", 4, 2, 4096 },
    { "bwd-data", "cudnnSetConvolution2dDescriptor", "cudnnConvolutionBackwardData", 4, 2, 4096 },
    { "bwd-filter", "cudnnSetConvolution2dDescriptor", "cudnnConvolutionBackwardFilter", 2, 2,
      4096 },
    { "fwd-bias-act", "cudnnSetConvolution2dDescriptor", "cudnnConvolutionBiasActivationForward",
      4, 2, 4096 },
};

START_TEST(conv_upcast)
{
    const struct conv_case *t = &convs[_i];
    hr_app plain, shim;
    run(&plain, 0, NULL, ARGS("--op", t->op));
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "out0", HALF_SUM);
    ASSERT_KV(&plain, "compute", 2);
    run(&shim, 1, ENV(TRACE), ARGS("--op", t->op));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", FLOAT_SUM);
    ASSERT_KV(&shim, "maxfinite", FLOAT_SUM);
    ASSERT_KV(&shim, "compute", 2); /* the getter answers the program's own HALF */
    assert_compute(api_record(&shim, "call", t->set_api), "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT",
                   "upcast");
    const char *rec = api_record(&shim, "call", t->api);
    ASSERT_SHAPE(rec, t->m, t->n, t->k, 1, "CUDNN_DATA_HALF", "CUDNN_DATA_HALF",
                 "CUDNN_DATA_HALF");
    ASSERT_JNUM(rec, "status", 0);
    assert_compute(rec, "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT", "upcast");
    const char *site = api_record(&shim, "site", t->api);
    ASSERT_JNUM(rec, "site_id", hr_json_num(site, "id"));
    ASSERT_JNUM(site, "k", t->k);
    assert_compute(site, "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT", "upcast");
    ck_assert_double_eq(api_summary(&shim, t->set_api, "upcasts"), 1);
    ck_assert_double_eq(api_summary(&shim, t->api, "calls"), 1);
    ck_assert_double_eq(api_summary(&shim, t->api, "upcasts"), 1);
    ck_assert_double_eq(api_summary(&shim, t->api, "checked"), 1);
    ck_assert_double_eq(api_summary(&shim, t->api, "nonfinite"), 0);
    ck_assert_double_eq(api_summary(&shim, "cudnnDestroyConvolutionDescriptor", "calls"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* ---- reduce and op-tensor --------------------------------------------------------- */

START_TEST(reduce_upcast)
{
    hr_app plain, shim;
    run(&plain, 0, NULL, ARGS("--op", "reduce"));
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "out0", HALF_SUM);
    run(&shim, 1, ENV(TRACE), ARGS("--op", "reduce"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", FLOAT_SUM);
    ASSERT_KV(&shim, "compute", 2);
    assert_compute(api_record(&shim, "call", "cudnnSetReduceTensorDescriptor"), "CUDNN_DATA_HALF",
                   "CUDNN_DATA_FLOAT", "upcast");
    const char *rec = api_record(&shim, "call", "cudnnReduceTensor");
    ASSERT_JNUM(rec, "m", 1);
    ASSERT_JNUM(rec, "n", 1);
    ASSERT_JNUM(rec, "k", 4096);
    assert_compute(rec, "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT", "upcast");
    ck_assert_double_eq(api_summary(&shim, "cudnnReduceTensor", "checked"), 1);
    ck_assert_double_eq(api_summary(&shim, "cudnnReduceTensor", "upcasts"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

START_TEST(optensor_upcast)
{
    hr_app plain, shim;
    run(&plain, 0, NULL, ARGS(OPT_ARGS));
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "out0", OPT_HALF);
    run(&shim, 1, ENV(TRACE), ARGS(OPT_ARGS));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", OPT_FLOAT);
    ASSERT_KV(&shim, "compute", 2);
    assert_compute(api_record(&shim, "call", "cudnnSetOpTensorDescriptor"), "CUDNN_DATA_HALF",
                   "CUDNN_DATA_FLOAT", "upcast");
    const char *rec = api_record(&shim, "call", "cudnnOpTensor");
    ASSERT_JNUM(rec, "m", 1);
    ASSERT_JNUM(rec, "n", 8);
    ASSERT_JNUM(rec, "k", 1);
    assert_compute(rec, "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT", "upcast");
    ck_assert_double_eq(api_summary(&shim, "cudnnOpTensor", "checked"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* ---- graph API ---------------------------------------------------------------------- */

START_TEST(graph_upcast)
{
    int conv = _i == 0;
    const char *op = conv ? "graph-conv" : "graph-matmul";
    int attr = conv ? 100 /* CUDNN_ATTR_CONVOLUTION_COMP_TYPE */
                    : 1500 /* CUDNN_ATTR_MATMUL_COMP_TYPE */;
    hr_app plain, shim;
    run(&plain, 0, NULL, ARGS("--op", op));
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "out0", HALF_SUM);
    ASSERT_KV(&plain, "compute", 2);
    run(&shim, 1, ENV(TRACE), ARGS("--op", op));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", FLOAT_SUM);
    ASSERT_KV(&shim, "compute", 2); /* cudnnBackendGetAttribute: the program's own */
    assert_compute(set_attr_record(&shim, attr), "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT",
                   "upcast");
    const char *rec = api_record(&shim, "call", "cudnnBackendExecute");
    ASSERT_JNUM(rec, "m", conv ? 4 : 1);
    ASSERT_JNUM(rec, "n", conv ? 2 : 1);
    ASSERT_JNUM(rec, "k", 4096);
    ASSERT_JNUM(rec, "batch", 1);
    ASSERT_JSTR(rec, "ctype", "CUDNN_DATA_HALF");
    assert_compute(rec, "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT", "upcast");
    ASSERT_JNUM(rec, "site_id", hr_json_num(api_record(&shim, "site", "cudnnBackendExecute"), "id"));
    ck_assert_double_eq(api_summary(&shim, "cudnnBackendExecute", "checked"), 1);
    ck_assert_double_eq(api_summary(&shim, "cudnnBackendExecute", "upcasts"), 1);
    ck_assert_double_eq(api_summary(&shim, "cudnnBackendSetAttribute", "upcasts"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* Setting the compute type after finalizing is cuDNN's error either way,
 * and changes neither the descriptor nor what its getter answers. */
START_TEST(graph_set_after_finalize)
{
    hr_app plain, shim;
    run(&plain, 0, NULL, ARGS("--op", "graph-conv", "--late"));
    ASSERT_OK(&plain);
    run(&shim, 1, ENV(TRACE), ARGS("--op", "graph-conv", "--late"));
    ASSERT_OK(&shim);
    ASSERT_KV(&plain, "late_status", 2000); /* BAD_PARAM, as cuDNN 9.19 answers (tests/real) */
    ASSERT_KV(&shim, "late_status", 2000);
    ASSERT_KV(&plain, "late_compute", 2);
    ASSERT_KV(&shim, "late_compute", 2);
    ASSERT_KV(&plain, "out0", HALF_SUM);
    ASSERT_KV(&shim, "out0", FLOAT_SUM); /* still the upcast made before finalizing */
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* ---- policy --------------------------------------------------------------------------- */

START_TEST(other_families_leave_it)
{
    const char *op = _i ? "graph-conv" : "fwd";
    const char *api = _i ? "cudnnBackendExecute" : "cudnnConvolutionForward";
    hr_app a;
    run(&a, 1, ENV(TRACE, "SAFEHALF_UPCAST=gemm,splitk,fast16f,reduce,lt"), ARGS("--op", op));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", HALF_SUM);
    ASSERT_KV(&a, "compute", 2);
    const char *rec = api_record(&a, "call", api);
    assert_compute(rec, "CUDNN_DATA_HALF", "CUDNN_DATA_HALF", "pass");
    /* still a half-precision call: a site, and its output checked */
    ASSERT_JSTR(api_record(&a, "site", api), "action", "pass");
    ck_assert_double_eq(api_summary(&a, api, "upcasts"), 0);
    ck_assert_double_eq(api_summary(&a, api, "checked"), 1);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_UPCAST=none"), ARGS("--op", "reduce"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", HALF_SUM);
    hr_app_free(&a);
}
END_TEST

START_TEST(observe_mode)
{
    const char *op = _i ? "graph-matmul" : "bwd-data";
    const char *api = _i ? "cudnnBackendExecute" : "cudnnConvolutionBackwardData";
    hr_app a;
    run(&a, 1, ENV(TRACE, "SAFEHALF_MODE=observe"), ARGS("--op", op));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", HALF_SUM);
    const char *set = _i ? set_attr_record(&a, 1500)
                         : api_record(&a, "call", "cudnnSetConvolution2dDescriptor");
    assert_compute(set, "CUDNN_DATA_HALF", "CUDNN_DATA_HALF", "observe");
    assert_compute(api_record(&a, "call", api), "CUDNN_DATA_HALF", "CUDNN_DATA_HALF", "observe");
    ck_assert_double_eq(api_summary(&a, api, "upcasts"), 0);
    ck_assert_double_eq(api_summary(&a, api, "checked"), 1);
    hr_app_free(&a);
}
END_TEST

START_TEST(float_passes)
{
    static const char *const ops[] = { "fwd", "reduce", "graph-conv" };
    static const char *const apis[] = { "cudnnConvolutionForward", "cudnnReduceTensor",
                                        "cudnnBackendExecute" };
    hr_app a;
    run(&a, 1, ENV(TRACE), ARGS("--op", ops[_i], "--compute", "FLOAT"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", FLOAT_SUM);
    ASSERT_KV(&a, "compute", 0);
    assert_compute(api_record(&a, "call", apis[_i]), "CUDNN_DATA_FLOAT", "CUDNN_DATA_FLOAT",
                   "pass");
    ck_assert_double_eq(api_summary(&a, apis[_i], "upcasts"), 0);
    ck_assert_double_eq(api_summary(&a, apis[_i], "checked"), 1); /* FP16 output */
    hr_app_free(&a);
}
END_TEST

/* ---- Inf/NaN ------------------------------------------------------------------------------ */

START_TEST(overflow)
{
    static const char *const ops[] = { "fwd", "bwd-filter", "graph-conv", "graph-matmul" };
    static const char *const apis[] = { "cudnnConvolutionForward",
                                        "cudnnConvolutionBackwardFilter", "cudnnBackendExecute",
                                        "cudnnBackendExecute" };
    static const long long numel[] = { 8, 4, 8, 1 };
    hr_app a;
    run(&a, 1, NULL, ARGS("--op", ops[_i], OVERFLOW_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", numel[_i]);
    const char *rec = api_record(&a, "nonfinite", apis[_i]);
    ASSERT_JNUM(rec, "site_id", hr_json_num(api_record(&a, "site", apis[_i]), "id"));
    ASSERT_JNUM(rec, "k", 8192);
    ASSERT_JNUM(rec, "numel", numel[_i]);
    ASSERT_JNUM(rec, "inf", numel[_i]);
    ASSERT_JNUM(rec, "pos_inf", numel[_i]);
    ASSERT_JNUM(rec, "nan", 0);
    ASSERT_JSTR(rec, "ctype", "CUDNN_DATA_HALF");
    ASSERT_JSTR(rec, "compute", "CUDNN_DATA_FLOAT"); /* FP32 compute, and still too big */
    ASSERT_JSTR(rec, "compute_used", "CUDNN_DATA_FLOAT");
    ASSERT_JSTR(rec, "action", "logged");
    ck_assert_double_eq(api_summary(&a, apis[_i], "nonfinite"), 1);
    hr_app_free(&a);
}
END_TEST

/* A one-operation graph (how PyTorch's convolutions reach cuDNN) names its
 * inputs as cuDNN names the roles: x and w of a convolution, A and B of a
 * matmul; an Inf or NaN in one is received, an overflow with finite ones
 * is made by the call. */
START_TEST(graph_inputs)
{
    static const struct {
        const char *op, *bad, *value;
        const char *first, *second; /* input names */
        double count;               /* Inf/NaN in the bad input */
    } cases[] = {
        { "graph-conv", "--value", "inf", "x", "w", 4096 * 4 },
        { "graph-conv", "--bvalue", "nan", "x", "w", 4096 * 2 },
        { "graph-matmul", "--value", "inf", "A", "B", 4096 },
    };
    hr_app a;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
            ARGS("--op", cases[i].op, cases[i].bad, cases[i].value));
        ASSERT_OK(&a);
        const char *rec = api_record(&a, "nonfinite", "cudnnBackendExecute");
        ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
        int nan = cases[i].value[0] == 'n', second = cases[i].bad[2] == 'b';
        char path[64];
        snprintf(path, sizeof path, "inputs.%s.%s", second ? cases[i].second : cases[i].first,
                 nan ? "nan" : "inf");
        ASSERT_JNUM(rec, path, cases[i].count);
        snprintf(path, sizeof path, "inputs.%s.%s", second ? cases[i].first : cases[i].second,
                 nan ? "nan" : "inf");
        ASSERT_JNUM(rec, path, 0);
        hr_app_free(&a);
    }
    for (int mm = 0; mm < 2; mm++) {
        run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
            ARGS("--op", mm ? "graph-matmul" : "graph-conv", OVERFLOW_ARGS));
        ASSERT_OK(&a);
        const char *rec = api_record(&a, "nonfinite", "cudnnBackendExecute");
        ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
        ASSERT_JNUM(rec, mm ? "inputs.A.inf" : "inputs.x.inf", 0);
        ASSERT_JNUM(rec, mm ? "inputs.B.inf" : "inputs.w.inf", 0);
        hr_app_free(&a);
    }
}
END_TEST

/* A fused graph (conv -> add bias -> ReLU, joined by virtual FLOAT
 * tensors) names the tensors its output is computed from: x, w and the
 * bias b, followed through the virtual ones. An overflow at the final
 * store is made by the call; an Inf bias or filter is received. */
static const struct {
    const char *args[16];
    const char *finite;      /* inputs_finite */
    const char *bad;         /* the input holding Inf/NaN, or NULL */
    double count;            /* its Inf count */
} fused_cases[] = {
    { { "--op", "graph-conv-bias-relu", OVERFLOW_ARGS }, "true", NULL, 0 },
    { { "--op", "graph-conv-bias-relu", "--bias", "inf" }, "false", "b", 2 },
    { { "--op", "graph-conv-bias-relu", "--bvalue", "inf" }, "false", "w", 4096 * 2 },
    /* graphs as long as fused attention's: 12, 32 and 64 operations */
    { { "--op", "graph-conv-bias-relu", "--chain", "9", "--bias", "inf" }, "false", "b", 2 },
    { { "--op", "graph-conv-bias-relu", "--chain", "29", OVERFLOW_ARGS }, "true", NULL, 0 },
    { { "--op", "graph-conv-bias-relu", "--chain", "61", "--bias", "inf" }, "false", "b", 2 },
    /* two chained biases: y is computed from 5 inputs (x, w, b, b2, b3) */
    { { "--op", "graph-conv-bias-relu", "--chain", "2", "--chain-bias", "--bias", "1",
        OVERFLOW_ARGS }, "true", NULL, 0 },
    /* 40: a pack of 44 pointers with y last, found; y is computed from 43
     * inputs, more than one output names (8): not all scanned, unknown
     * unless a scanned one was bad */
    { { "--op", "graph-conv-bias-relu", "--chain", "40", "--chain-bias", "--bias", "1",
        OVERFLOW_ARGS }, "null", NULL, 0 },
    { { "--op", "graph-conv-bias-relu", "--chain", "40", "--chain-bias", "--bias", "inf" },
      "false", "b", 2 },
    /* one pointwise operation: x and its broadcast b */
    { { "--op", "graph-add", "--value", "inf" }, "false", "x", 8 },
    { { "--op", "graph-add", "--compute", "FLOAT", "--value", "65504", "--bias", "65504" },
      "true", NULL, 0 },
};

START_TEST(fused_graph_inputs)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), fused_cases[_i].args);
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    const char *rec = api_record(&a, "nonfinite", "cudnnBackendExecute");
    char want[64];
    snprintf(want, sizeof want, "\"inputs_finite\":%s", fused_cases[_i].finite);
    ck_assert_msg(strstr(rec, want), "case %d: %s", _i, rec);
    bool pw = !strcmp(fused_cases[_i].args[1], "graph-add");
    static const char *const conv_in[] = { "x", "w", "b" }, *const pw_in[] = { "x", "b" };
    const char *const *in = pw ? pw_in : conv_in;
    for (int i = 0; i < (pw ? 2 : 3); i++) {
        char path[64];
        snprintf(path, sizeof path, "inputs.%s.inf", in[i]);
        bool bad = fused_cases[_i].bad && !strcmp(fused_cases[_i].bad, in[i]);
        ASSERT_JNUM(rec, path, bad ? fused_cases[_i].count : 0);
    }
    hr_app_free(&a);
}
END_TEST

/* The convolution's output kept real too: two outputs, each naming the
 * inputs it is computed from (the conv's x and w; y's x, w and b), and
 * each named itself: the convolution's y, then the ReLU's y2. */
START_TEST(fused_graph_two_outputs)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "graph-conv-bias-relu", "--real-mid", OVERFLOW_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "mid_inf", 8);
    ck_assert_msg(hr_log_count_where(&a.log, "nonfinite", "api", "cudnnBackendExecute") == 2,
                  "%s", hr_log_dump(&a.log));
    int with_bias = 0;
    for (size_t i = 0; i < 2; i++) {
        const char *rec = hr_log_find(&a.log, "nonfinite", i);
        ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
        ASSERT_JNUM(rec, "inputs.x.inf", 0);
        ASSERT_JNUM(rec, "inputs.w.inf", 0);
        bool has_b = strstr(rec, "\"b\":") != NULL;
        with_bias += has_b;
        ASSERT_JSTR(rec, "output", has_b ? "y2" : "y");
    }
    ck_assert_int_eq(with_bias, 1);
    hr_app_free(&a);
}
END_TEST

/* cuDNN's attention operation (what the frontend builds for PyTorch's
 * cuDNN SDPA when cuDNN has it): q, k, v [1, 2, R, 16] / [1, 2, 8, 16],
 * scale 0.25 (a FLOAT tensor in device memory, or by value). An Inf in q
 * makes every o row NaN, received; the FLOAT stats output is not checked. */
START_TEST(attention_outputs)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "graph-sdpa", "--r", "64", "--value", "inf"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "nan", 64 * 2 * 16);
    const char *rec = api_record(&a, "nonfinite", "cudnnBackendExecute");
    ASSERT_JNUM(rec, "nan", 64 * 2 * 16);
    ASSERT_JNUM(rec, "m", 64);
    ASSERT_JNUM(rec, "n", 16);
    ASSERT_JNUM(rec, "k", 8);
    ASSERT_JNUM(rec, "batch", 2);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ck_assert_msg(!strstr(rec, "\"output\""), "one output checked (stats is FLOAT): %s", rec);
    ASSERT_JNUM(rec, "inputs.q.inf", 64 * 2 * 16);
    ASSERT_JNUM(rec, "inputs.k.inf", 0);
    ASSERT_JNUM(rec, "inputs.v.inf", 0);
    ASSERT_JNUM(rec, "inputs.scale.inf", 0);
    hr_app_free(&a);

    /* the scale passed by value, as PyTorch passes it: a host float, not
     * an input to scan on the device */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "graph-sdpa", "--r", "64", "--value", "inf", "--scale-by-value"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "nan", 64 * 2 * 16);
    rec = api_record(&a, "nonfinite", "cudnnBackendExecute");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.q.inf", 64 * 2 * 16);
    ck_assert_msg(!strstr(rec, "\"scale\""), "a by-value scale listed: %s", rec);
    hr_app_free(&a);

    /* and used: the rows' logsumexp is 0.5 x 16 + ln 8 */
    run(&a, 1, NULL, ARGS("--op", "graph-sdpa", "--r", "8", "--scale-by-value", "--scale", "0.5"));
    ASSERT_OK(&a);
    ck_assert_double_eq_tol(hr_kv_num(a.r.out, "stats0"), 8 + log(8.0), 1e-5);
    ASSERT_KV(&a, "out0", 1);
    hr_app_free(&a);
}
END_TEST

/* Ragged tensors (PyTorch's nested-tensor attention: each batch where an
 * offsets tensor on the device says, dim 0's stride INT_MAX) cannot be
 * read from their dims and strides: a ragged output is not checked and a
 * ragged input is unknown, the program's numbers unchanged (a scan with
 * stride INT_MAX read far outside the tensor and crashed the program). */
START_TEST(ragged_tensors)
{
    hr_app a;
    run(&a, 0, NULL, ARGS("--op", "graph-ragged", "--r", "16", "--value", "inf"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 4);
    hr_app_free(&a);

    run(&a, 1, ENV(TRACE, "SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "graph-ragged", "--r", "16", "--value", "inf"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 4);
    assert_compute(api_record(&a, "call", "cudnnBackendExecute"), "CUDNN_DATA_HALF",
                   "CUDNN_DATA_FLOAT", "upcast");
    ck_assert_double_eq(api_summary(&a, "cudnnBackendExecute", "checked"), 0);
    ck_assert_int_eq(hr_log_count(&a.log, "nonfinite"), 0);
    ASSERT_JNUM(summary_record(&a), "checks.launch_failed", 0);
    hr_app_free(&a);

    /* an ordinary output of a ragged input: checked, its input unknown */
    run(&a, 1, ENV(TRACE, "SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "graph-ragged", "--r", "16", "--value", "inf", "--plain-out"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 4);
    const char *rec = api_record(&a, "nonfinite", "cudnnBackendExecute");
    ASSERT_JNUM(rec, "inf", 4);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":null"), "%s", rec);
    ck_assert_msg(!strstr(rec, "\"A\""), "a ragged input scanned: %s", rec);
    ASSERT_JNUM(summary_record(&a), "checks.launch_failed", 0);
    hr_app_free(&a);

    /* Ragged tensors made while the shim's table of graph descriptors is
     * full go unmarked; the graph made after room was freed must still not
     * be scanned by their dims and strides: no graph output is, from then. */
    run(&a, 1, NULL, ARGS("--op", "graph-ragged", "--r", "16", "--value", "inf",
                          "--fill-ragged", "4200"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 4);
    ck_assert_double_eq(api_summary(&a, "cudnnBackendExecute", "checked"), 0);
    ck_assert_int_eq(hr_log_count(&a.log, "nonfinite"), 0);
    ck_assert_msg(strstr(a.r.err, "a ragged cuDNN tensor could not be followed (too many graph "
                                  "descriptors); cudnnBackendExecute outputs are no longer "
                                  "checked\n"), "%s", a.r.err);
    hr_app_free(&a);
}
END_TEST

/* A plan executed every step among 300 new plans (shapes that come and
 * go, each kept alive as a plan cache keeps it): its graph record is the
 * most recently used and stays, so every execution is checked. Before,
 * records were reused round robin: after 256 newer graphs the step's plan
 * ran unchecked, silently (556 of 601 checked). */
START_TEST(graph_records_kept_for_plans_in_use)
{
    hr_app a;
    run(&a, 1, NULL, ARGS("--op", "graph-add", "--value", "60000", "--bias", "60000",
                          "--more-graphs", "300"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    ck_assert_double_eq(api_summary(&a, "cudnnBackendExecute", "calls"), 601);
    ck_assert_double_eq(api_summary(&a, "cudnnBackendExecute", "checked"), 601);
    ck_assert_double_eq(api_summary(&a, "cudnnBackendExecute", "nonfinite"), 601);
    ck_assert_ptr_null(strstr(a.r.err, "cuDNN graphs in use"));
    ck_assert_ptr_null(strstr(a.r.err, "too many cuDNN graph descriptors"));
    hr_app_free(&a);

    /* 301 plans in use at once: the 45 least recently used lost their
     * records; executed, they are not checked, with one warning. */
    run(&a, 1, NULL, ARGS("--op", "graph-add", "--value", "60000", "--bias", "60000",
                          "--more-graphs", "300", "--all-in-use"));
    ASSERT_OK(&a);
    ck_assert_double_eq(api_summary(&a, "cudnnBackendExecute", "calls"), 302);
    ck_assert_double_eq(api_summary(&a, "cudnnBackendExecute", "checked"), 302 - 45);
    ck_assert_int_eq(hr_count_lines(a.r.err, "safehalf: more than 256 cuDNN graphs in use: "
                                             "executions of the least recently used are not "
                                             "checked"), 1);
    hr_app_free(&a);
}
END_TEST

/* A backward pointwise operation writes DX from DY and X: checked, alone
 * (dx = dy where x > 0) and fused after a convolution's backward data
 * (its FLOAT dx, virtual, is the ReLU's dy: dx names dy, w and x). */
START_TEST(backward_pointwise)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "graph-drelu", "--value", "inf", "--bvalue", "1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    const char *rec = api_record(&a, "nonfinite", "cudnnBackendExecute");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.dy.inf", 8);
    ASSERT_JNUM(rec, "inputs.x.inf", 0);
    hr_app_free(&a);

    /* x <= 0: the ReLU passes nothing back, Inf or not */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "graph-drelu", "--value", "inf", "--bvalue", "-1"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 0);
    ASSERT_KV(&a, "out0", 0);
    ck_assert_int_eq(hr_log_count(&a.log, "nonfinite"), 0);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--op", "graph-dgrad-drelu", OVERFLOW_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    rec = api_record(&a, "nonfinite", "cudnnBackendExecute");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.dy.inf", 0);
    ASSERT_JNUM(rec, "inputs.w.inf", 0);
    ASSERT_JNUM(rec, "inputs.x.inf", 0);
    hr_app_free(&a);
}
END_TEST

START_TEST(inputs_and_saturate)
{
    /* NaN inputs: the output received them */
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--value", "nan"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "nan", 8);
    const char *rec = api_record(&a, "nonfinite", "cudnnConvolutionForward");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.x.nan", 4096 * 4);
    ASSERT_JNUM(rec, "inputs.w.nan", 0);
    hr_app_free(&a);

    /* the overflow is the call's own */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--op", "reduce", OVERFLOW_ARGS));
    ASSERT_OK(&a);
    rec = api_record(&a, "nonfinite", "cudnnReduceTensor");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.A.inf", 0);
    hr_app_free(&a);

    /* beta = 1 with an Inf already in the output: x and w finite, but the
     * output, an input too, cannot be read as it was: unknown, not "made
     * here" (convolution, and the reduction's C) */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--beta", "1", "--cvalue", "inf"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    rec = api_record(&a, "nonfinite", "cudnnConvolutionForward");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":null"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.x.inf", 0);
    ASSERT_JNUM(rec, "inputs.w.inf", 0);
    hr_app_free(&a);
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "reduce", "--beta", "1", "--cvalue", "inf"));
    ASSERT_OK(&a);
    rec = api_record(&a, "nonfinite", "cudnnReduceTensor");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":null"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.A.inf", 0);
    hr_app_free(&a);

    /* saturate: the largest finite half instead of +Inf */
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), ARGS(OVERFLOW_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", FP16_MAX);
    ASSERT_KV(&a, "inf", 0);
    ASSERT_JSTR(api_record(&a, "nonfinite", "cudnnConvolutionForward"), "action", "saturated");
    hr_app_free(&a);
}
END_TEST

/* cudnnConvolutionBiasActivationForward, y = relu(conv + beta * z + bias)
 * with z = y (in place, as a residual block does). */
START_TEST(bias_act)
{
    /* 2048 (HALF) or 4096 (FLOAT) + 4 - 8, each exact in half */
    hr_app a;
    run(&a, 0, NULL, ARGS("--op", "fwd-bias-act", "--cvalue", "4", "--beta", "1", "--bias", "-8"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", 2044);
    hr_app_free(&a);
    run(&a, 1, NULL, ARGS("--op", "fwd-bias-act", "--cvalue", "4", "--beta", "1", "--bias", "-8"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", 4092);
    hr_app_free(&a);

    /* 4096 x 20 = 81920: the convolution's own overflow, its inputs finite
     * (no residual: z is not an input) */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--op", "fwd-bias-act", "--bvalue", "20"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    const char *rec = api_record(&a, "nonfinite", "cudnnConvolutionBiasActivationForward");
    ASSERT_JNUM(rec, "inf", 8);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.bias.inf", 0);
    ck_assert_msg(!strstr(rec, "\"z\":"), "%s", rec);
    hr_app_free(&a);

    /* An Inf bias: received, not made */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), ARGS("--op", "fwd-bias-act", "--bias", "inf"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    rec = api_record(&a, "nonfinite", "cudnnConvolutionBiasActivationForward");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":false"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.bias.inf", 2);
    ASSERT_JNUM(rec, "inputs.x.inf", 0);
    hr_app_free(&a);

    /* The residual is y itself: overwritten before any scan can read it, so
     * neither blamed (it holds the Inf by then) nor cleared */
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"),
        ARGS("--op", "fwd-bias-act", "--bvalue", "20", "--cvalue", "4", "--beta", "1"));
    ASSERT_OK(&a);
    rec = api_record(&a, "nonfinite", "cudnnConvolutionBiasActivationForward");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":null"), "%s", rec);
    ck_assert_msg(!strstr(rec, "\"z\":"), "%s", rec);
    ASSERT_JNUM(rec, "inputs.w.inf", 0);
    hr_app_free(&a);

    /* saturate clips it like any checked output */
    run(&a, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), ARGS("--op", "fwd-bias-act", "--bvalue", "20"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", FP16_MAX);
    hr_app_free(&a);
}
END_TEST

/* A plan run at other extents than its graph's (cuDNN 9.18's variant pack
 * overrides, which the frontend sets from C++ vectors the shim cannot
 * read): graph-add built for [1, 2, 2, 2] and run with x and y overridden
 * to [1, 2, 1, 2], y the first half of an 8-element buffer whose other
 * half is the program's, all Inf. The call writes 4 finite values; the
 * overridden output is not checked by the graph's dims (which scanned the
 * program's 4 Inf as the call's, and with saturate overwrote them), and
 * the overridden input is unknown, not scanned. */
START_TEST(override_shapes)
{
    hr_app a;
    run(&a, 0, NULL, ARGS("--op", "graph-add", "--override", "--bias", "2", "--cvalue", "inf"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", 3);
    ASSERT_KV(&a, "inf", 0);
    ASSERT_KV(&a, "tail_inf", 4);
    hr_app_free(&a);

    const char *const *envs[] = { ENV("SAFEHALF_CHECK_INPUTS=1"),
                                  ENV("SAFEHALF_ON_NONFINITE=saturate") };
    for (int i = 0; i < 2; i++) {
        run(&a, 1, envs[i], ARGS("--op", "graph-add", "--override", "--bias", "2", "--cvalue",
                                 "inf"));
        ASSERT_OK(&a);
        ASSERT_KV(&a, "out0", 3);
        ASSERT_KV(&a, "inf", 0);
        ASSERT_KV(&a, "tail_inf", 4);
        ck_assert_int_eq(hr_log_count(&a.log, "nonfinite"), 0);
        ck_assert_double_eq(api_summary(&a, "cudnnBackendExecute", "checked"), 0);
        hr_app_free(&a);
    }
}
END_TEST

START_TEST(check_off_and_shim_off)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK=off"), ARGS(OVERFLOW_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "inf", 8);
    ck_assert_uint_eq(hr_log_count(&a.log, "nonfinite"), 0);
    ck_assert_double_eq(api_summary(&a, "cudnnConvolutionForward", "checked"), 0);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_MODE=off"), ARGS("--op", "graph-conv"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "out0", HALF_SUM);
    ck_assert_msg(!a.have_log, "a log with SAFEHALF_MODE=off");
    hr_app_free(&a);
}
END_TEST

/* cuDNN putting a plan into the program's CUDA graph itself
 * (cudnnBackendPopulateCudaGraph, then cudnnBackendUpdateCudaGraph with
 * the program's pack in the second case): the plan's descriptor is still
 * upcast (the graph sums in FP32), the calls are described as an Execute
 * is, and the output, which no scan can follow into that graph, is counted
 * as skipped_native_graph with one warning, never reported, even when it
 * overflows. With checks off, nothing is counted or said. */
START_TEST(native_graph)
{
    int update = _i;
    hr_app plain, shim;
#define NATIVE(...) (update ? ARGS("--op", "graph-matmul", "--native-graph", "update", __VA_ARGS__) \
                            : ARGS("--op", "graph-matmul", "--native-graph", __VA_ARGS__))
    run(&plain, 0, NULL, NATIVE("--r", "4096"));
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "out0", HALF_SUM); /* the update put the program's buffer in the node */
    run(&shim, 1, ENV(TRACE), NATIVE("--r", "4096"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", FLOAT_SUM);
    const char *apis[] = { "cudnnBackendPopulateCudaGraph", "cudnnBackendUpdateCudaGraph" };
    for (int i = 0; i <= update; i++) {
        const char *rec = api_record(&shim, "call", apis[i]);
        ASSERT_JNUM(rec, "status", 0);
        ASSERT_JNUM(rec, "k", 4096);
        ASSERT_JSTR(rec, "ctype", "CUDNN_DATA_HALF");
        assert_compute(rec, "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT", "upcast");
        ck_assert_double_eq(api_summary(&shim, apis[i], "calls"), 1);
        ck_assert_double_eq(api_summary(&shim, apis[i], "checked"), 0);
    }
    ck_assert_double_eq(hr_json_num(summary_record(&shim), "checks.skipped_native_graph"),
                        1 + update);
    ck_assert_double_eq(hr_json_num(summary_record(&shim), "checks.checked"), 0);
    ck_assert_uint_eq(hr_log_count(&shim.log, "warn"), 1);
    ck_assert_msg(strstr(hr_log_find(&shim.log, "warn", 0), "skipped_native_graph") != NULL,
                  "%s", hr_log_dump(&shim.log));
    hr_app_free(&plain);
    hr_app_free(&shim);

    /* 4096 products of 400: +Inf in the FP16 output, unreported */
    run(&shim, 1, NULL, NATIVE("--r", "4096", "--value", "20", "--bvalue", "20"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "inf", 1);
    ck_assert_uint_eq(hr_log_count(&shim.log, "nonfinite"), 0);
    ck_assert_double_eq(hr_json_num(summary_record(&shim), "checks.skipped_native_graph"),
                        1 + update);
    hr_app_free(&shim);

    run(&shim, 1, ENV("SAFEHALF_CHECK=off"), NATIVE("--r", "4096"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", FLOAT_SUM);
    ck_assert_double_eq(hr_json_num(summary_record(&shim), "checks.skipped_native_graph"), 0);
    ck_assert_uint_eq(hr_log_count(&shim.log, "warn"), 0);
    hr_app_free(&shim);
#undef NATIVE
}
END_TEST

/* A program that passes a workspace sized by hand for its FP16 convolution
 * (none): with the FP32 compute type the shim set, the precomputed implicit
 * GEMM wants one, and cuDNN refuses the call (as on an H100). The call is
 * made again as the program set it: it runs, in FP16, as without the shim,
 * with one warning and the record's action fallback. */
START_TEST(refused_as_rewritten)
{
    hr_app plain, shim;
    run(&plain, 0, NULL, ARGS("--op", "fwd-bias-act", "--ws", "0"));
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "out0", HALF_SUM);
    run(&shim, 1, ENV(TRACE), ARGS("--op", "fwd-bias-act", "--ws", "0"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", HALF_SUM);
    const char *rec = api_record(&shim, "call", "cudnnConvolutionBiasActivationForward");
    ASSERT_JNUM(rec, "status", 0);
    assert_compute(rec, "CUDNN_DATA_HALF", "CUDNN_DATA_HALF", "fallback");
    ck_assert_uint_eq(hr_log_count(&shim.log, "warn"), 1);
    ck_assert_msg(strstr(hr_log_find(&shim.log, "warn", 0),
                         "cuDNN refused cudnnConvolutionBiasActivationForward") != NULL,
                  "%s", hr_log_dump(&shim.log));
    /* The descriptor the program holds is still the shim's FLOAT one: a
     * call with the workspace cuDNN asks for runs in FP32. */
    ck_assert_double_eq(api_summary(&shim, "cudnnConvolutionBiasActivationForward", "checked"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);

    run(&shim, 1, ENV(TRACE), ARGS("--op", "fwd-bias-act"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "out0", FLOAT_SUM);
    assert_compute(api_record(&shim, "call", "cudnnConvolutionBiasActivationForward"),
                   "CUDNN_DATA_HALF", "CUDNN_DATA_FLOAT", "upcast");
    ck_assert_uint_eq(hr_log_count(&shim.log, "warn"), 0);
    hr_app_free(&shim);

    /* A call the program's own descriptor makes fail as well (a workspace
     * too small with no rewrite involved): the program gets cuDNN's answer. */
    run(&shim, 1, ENV(TRACE), ARGS("--op", "fwd-bias-act", "--compute", "FLOAT", "--ws", "0"));
    ck_assert_int_ne(shim.r.exit_code, 0);
    ASSERT_KV(&shim, "status", 2000);
    ck_assert_uint_eq(hr_log_count(&shim.log, "warn"), 0);
    hr_app_free(&shim);
}
END_TEST

int main(void)
{
    hr_env_path("SH_LIB");
    hr_env_path("SH_EMU_DIR");
    hr_env_path("SH_APPS_DIR");
    Suite *s;
    TCase *t = hr_one_case("cudnn", 300, &s);
    tcase_add_loop_test(t, conv_upcast, 0, 5);
    tcase_add_test(t, refused_as_rewritten);
    tcase_add_test(t, reduce_upcast);
    tcase_add_test(t, optensor_upcast);
    tcase_add_loop_test(t, graph_upcast, 0, 2);
    tcase_add_test(t, graph_set_after_finalize);
    tcase_add_test(t, graph_inputs);
    tcase_add_loop_test(t, fused_graph_inputs, 0,
                        (int)(sizeof fused_cases / sizeof fused_cases[0]));
    tcase_add_test(t, fused_graph_two_outputs);
    tcase_add_test(t, attention_outputs);
    tcase_add_test(t, backward_pointwise);
    tcase_add_test(t, ragged_tensors);
    tcase_add_test(t, graph_records_kept_for_plans_in_use);
    tcase_add_loop_test(t, other_families_leave_it, 0, 2);
    tcase_add_loop_test(t, observe_mode, 0, 2);
    tcase_add_loop_test(t, float_passes, 0, 3);
    tcase_add_loop_test(t, overflow, 0, 4);
    tcase_add_test(t, inputs_and_saturate);
    tcase_add_test(t, bias_act);
    tcase_add_test(t, override_shapes);
    tcase_add_test(t, check_off_and_shim_off);
    tcase_add_loop_test(t, native_graph, 0, 2);
    return hr_run_suites(srunner_create(s));
}
