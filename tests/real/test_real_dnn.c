/* The cuDNN interposer against NVIDIA's real libcudnn.so.9 (from the
 * ldconfig cache; no LD_LIBRARY_PATH). There is no GPU: descriptor calls
 * work (they need no device), cudnnCreate fails with cuDNN's own
 * CUDNN_STATUS_NOT_INITIALIZED, and setting a finalized backend
 * descriptor is cuDNN's own BAD_PARAM, as is a batch normalization with
 * a NULL handle. The shim must resolve the real
 * library, rewrite the descriptors' HALF compute types to FLOAT (trace
 * records), answer the program's own HALF from the getters, and hand
 * every status back unchanged. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

static const char *const ops[] = { "fwd", "fwd-nd", "bwd-data", "bwd-filter", "fwd-bias-act",
                                   "reduce", "optensor", "graph-conv", "graph-matmul" };
/* The descriptor call that sets each op's compute type. */
static const char *const set_apis[] = {
    "cudnnSetConvolution2dDescriptor", "cudnnSetConvolutionNdDescriptor",
    "cudnnSetConvolution2dDescriptor", "cudnnSetConvolution2dDescriptor",
    "cudnnSetConvolution2dDescriptor", "cudnnSetReduceTensorDescriptor",
    "cudnnSetOpTensorDescriptor",      "cudnnBackendSetAttribute",
    "cudnnBackendSetAttribute",
};
#define N_OPS ((int)(sizeof ops / sizeof ops[0]))

/* shim 2: the shim and the audit module (LD_AUDIT), as --follow-dlsym runs
 * a program: libcudnn.so.9 looks its sub-libraries' entry points up with
 * dlsym, and those lookups must stay cuDNN's. */
static void run(hr_app *a, int shim, const char *op)
{
    hr_app_opts o = { .shim = shim > 0, .audit = shim == 2, .emu = 0,
                      .env = ENV("SAFEHALF_LOG_LEVEL=trace") };
    hr_app_run(a, &o, "dnn_app", ARGS("--op", op, "--late"));
}

/* The start record names the real libcudnn.so.9 and its version. */
static void check_real_library(const hr_app *a)
{
    char path[4096];
    ck_assert_msg(a->have_log, "no log with the shim\n%s", hr_describe(&a->r));
    for (size_t i = 0; i < a->log.n; i++)
        ck_assert_msg(hr_json_is_object(a->log.lines[i], strlen(a->log.lines[i])),
                      "log line %zu is not a JSON object: %s", i + 1, a->log.lines[i]);
    const char *s = hr_log_find(&a->log, "start", 0);
    ck_assert_msg(s != NULL, "no start record:\n%s", hr_log_dump(&a->log));
    ck_assert_msg(hr_json_get(s, "libs.cudnn.path", path, sizeof path) == 's',
                  "libs.cudnn.path is not a string (real library not resolved): %s", s);
    ck_assert_msg(strstr(path, "libcudnn.so.9") != NULL, "libs.cudnn.path %s", path);
    const char *emu = getenv("SH_EMU_DIR");
    ck_assert_msg(!emu || !*emu || strstr(path, emu) == NULL,
                  "libs.cudnn.path %s is the emulated library", path);
    ck_assert_msg(hr_exists(path), "libs.cudnn.path %s does not exist", path);
    double v = hr_json_num(s, "libs.cudnn.version");
    ck_assert_msg(v >= 90000 && v < 100000, "libs.cudnn.version is not a cuDNN 9 one: %s", s);
}

/* The same output with and without the shim: cuDNN's statuses (the late
 * set, cudnnCreate's) and the compute type the getters answer. */
START_TEST(status_passthrough)
{
    hr_app a, b, c;
    run(&a, 0, ops[_i]);
    run(&b, 1, ops[_i]);
    run(&c, 2, ops[_i]);
    assert_audit_changes_nothing(&a, &b, &c);
    hr_app_free(&c);
    ck_assert_msg(a.r.exit_code == 1, "%s", hr_describe(&a.r));
    ck_assert_int_eq(b.r.exit_code, a.r.exit_code);
    ck_assert_msg(strcmp(a.r.out, b.r.out) == 0, "without the shim:\n%s\nwith:\n%s", a.r.out,
                  b.r.out);
    ASSERT_KV(&a, "status", 1001); /* CUDNN_STATUS_NOT_INITIALIZED: no GPU */
    ASSERT_KV(&a, "compute", 2);   /* HALF, the program's own, with the shim too */
    check_real_library(&b);
    const char *create = hr_log_find_where(&b.log, "call", "api", "cudnnCreate");
    ck_assert_msg(create != NULL, "%s", hr_log_dump(&b.log));
    ASSERT_JNUM(create, "status", 1001);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* dnn_app --op op without the shim (a) and with it (b), needing no GPU:
 * both exit 0 and print the same. */
static void run_no_device(hr_app *a, hr_app *b, const char *op)
{
    hr_app_opts plain = { .shim = 0, .emu = 0, .env = ENV("SAFEHALF_LOG_LEVEL=trace") };
    hr_app_opts shim = { .shim = 1, .emu = 0, .env = ENV("SAFEHALF_LOG_LEVEL=trace") };
    hr_app_run(a, &plain, "dnn_app", ARGS("--op", op));
    hr_app_run(b, &shim, "dnn_app", ARGS("--op", op));
    ck_assert_msg(a->r.exit_code == 0, "%s", hr_describe(&a->r));
    ck_assert_msg(strcmp(a->r.out, b->r.out) == 0, "without the shim:\n%s\nwith:\n%s", a->r.out,
                  b->r.out);
}

/* cuDNN's native CUDA graph calls with a NULL handle: the library's own
 * status, with the shim as without, recorded as the call's. */
START_TEST(native_graph_passthrough)
{
    hr_app a, b;
    run_no_device(&a, &b, "native-null");
    double populate = hr_kv_num(a.r.out, "populate_status");
    double update = hr_kv_num(a.r.out, "update_status");
    ck_assert_msg(populate != 0 && update != 0, "%s", a.r.out); /* a NULL handle is refused */
    check_real_library(&b);
    ASSERT_JNUM(hr_log_find_where(&b.log, "call", "api", "cudnnBackendPopulateCudaGraph"),
                "status", populate);
    ASSERT_JNUM(hr_log_find_where(&b.log, "call", "api", "cudnnBackendUpdateCudaGraph"),
                "status", update);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* A convolution refused with the shim's FP32 descriptor is made again
 * with a copy of the program's own, made by the real cuDNN (geometry, HALF,
 * groups, math type): a NULL handle is refused that way too, and the
 * program gets cuDNN's own status, its descriptor as it set it. */
START_TEST(refused_convolution_made_as_set)
{
    hr_app a, b;
    run_no_device(&a, &b, "conv-null");
    ck_assert_msg(hr_kv_num(a.r.out, "conv_status") != 0, "%s", a.r.out);
    ASSERT_KV(&b, "compute", 2);
    ASSERT_KV(&b, "groups", 2);
    check_real_library(&b);
    const char *rec = hr_log_find_where(&b.log, "call", "api", "cudnnConvolutionForward");
    ck_assert_msg(rec != NULL, "%s", hr_log_dump(&b.log));
    ASSERT_JNUM(rec, "status", hr_kv_num(a.r.out, "conv_status"));
    /* made again as set: the copy was made (else the action stays upcast) */
    ASSERT_JSTR(rec, "action", "fallback");
    ASSERT_JSTR(rec, "compute_used", "CUDNN_DATA_HALF");
    /* refused that way too: the program's own error, no warning */
    ck_assert_uint_eq(hr_log_count(&b.log, "warn"), 0);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* The descriptor call that sets HALF: rewritten to FLOAT, accepted. */
START_TEST(descriptors_upcast)
{
    hr_app a;
    run(&a, 1, ops[_i]);
    ck_assert_msg(a.have_log, "%s", hr_describe(&a.r));
    /* a graph op sets many attributes: the compute type's record has "compute" */
    const char *rec = NULL;
    for (size_t i = 0; i < a.log.n && !rec; i++)
        if (hr_json_str_is(a.log.lines[i], "api", set_apis[_i]) &&
            hr_json_get(a.log.lines[i], "compute", NULL, 0))
            rec = a.log.lines[i];
    ck_assert_msg(rec != NULL, "no %s record with a compute type\n%s", set_apis[_i],
                  hr_log_dump(&a.log));
    ASSERT_JSTR(rec, "compute", "CUDNN_DATA_HALF");
    ASSERT_JSTR(rec, "compute_used", "CUDNN_DATA_FLOAT");
    ASSERT_JSTR(rec, "action", "upcast");
    ASSERT_JNUM(rec, "status", 0);
    ck_assert_double_eq(hr_json_num(summary_record(&a), "apis.cudnnCreate.calls"), 1);
    hr_app_free(&a);
}
END_TEST

/* Setting a finalized descriptor's compute type: cuDNN's refusal, and the
 * program's value still answered. */
START_TEST(late_set)
{
    hr_app a, b;
    run(&a, 0, _i ? "graph-matmul" : "graph-conv");
    run(&b, 1, _i ? "graph-matmul" : "graph-conv");
    /* BAD_PARAM (the API reference says NOT_INITIALIZED); the emulated
     * cuDNN answers the same, tests/integration/test_cudnn.c */
    ASSERT_KV(&a, "late_status", 2000);
    ASSERT_KV(&b, "late_status", 2000);
    ASSERT_KV(&b, "late_compute", 2);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* Batch normalization: the calls made with real descriptors, a NULL handle
 * and NULL data (bn_app --no-device). cuDNN's refusal reaches the program
 * unchanged; the shim, reading the descriptors through the real
 * cudnnGetTensorNdDescriptor, still describes the call (n = the 16
 * elements of y or dx, k = the 8 of each channel's statistics, 1 for
 * inference) and checks nothing, as the call failed. */
START_TEST(batchnorm_passthrough)
{
    static const char *const bn_ops[] = { "train", "train-ex", "infer", "bwd", "bwd-ex" };
    static const char *const bn_apis[] = {
        "cudnnBatchNormalizationForwardTraining", "cudnnBatchNormalizationForwardTrainingEx",
        "cudnnBatchNormalizationForwardInference", "cudnnBatchNormalizationBackward",
        "cudnnBatchNormalizationBackwardEx",
    };
    hr_app a, b, c;
    hr_app_opts plain = { .shim = 0, .emu = 0 };
    hr_app_opts shim = { .shim = 1, .emu = 0, .env = ENV("SAFEHALF_LOG_LEVEL=trace") };
    hr_app_opts audit = { .shim = 1, .audit = 1, .emu = 0,
                          .env = ENV("SAFEHALF_LOG_LEVEL=trace") };
    hr_app_run(&a, &plain, "bn_app", ARGS("--op", bn_ops[_i], "--no-device"));
    hr_app_run(&b, &shim, "bn_app", ARGS("--op", bn_ops[_i], "--no-device"));
    hr_app_run(&c, &audit, "bn_app", ARGS("--op", bn_ops[_i], "--no-device"));
    assert_audit_changes_nothing(&a, &b, &c);
    hr_app_free(&c);
    ck_assert_msg(a.r.exit_code == 1, "%s", hr_describe(&a.r));
    ck_assert_int_eq(b.r.exit_code, a.r.exit_code);
    ck_assert_msg(strcmp(a.r.out, b.r.out) == 0, "without the shim:\n%s\nwith:\n%s", a.r.out,
                  b.r.out);
    double status = hr_kv_num(a.r.out, "status");
    ck_assert_msg(status != 0 && !isnan(status), "%s", hr_describe(&a.r));
    check_real_library(&b);
    const char *rec = hr_log_find_where(&b.log, "call", "api", bn_apis[_i]);
    ck_assert_msg(rec != NULL, "%s", hr_log_dump(&b.log));
    ASSERT_JNUM(rec, "status", status);
    ASSERT_JNUM(rec, "n", 16);
    ASSERT_JNUM(rec, "k", _i == 2 ? 1 : 8);
    ASSERT_JSTR(rec, "ctype", "CUDNN_DATA_HALF");
    ASSERT_JSTR(rec, "btype", "CUDNN_DATA_FLOAT");
    char path[160];
    snprintf(path, sizeof path, "apis.%s.checked", bn_apis[_i]);
    ck_assert_double_eq(hr_json_num(summary_record(&b), path), 0);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

int main(void)
{
    hr_env_path("SH_LIB");
    hr_env_path("SH_APPS_DIR");
    Suite *s;
    TCase *t = hr_one_case("real-cudnn", 120, &s);
    tcase_add_loop_test(t, status_passthrough, 0, N_OPS);
    tcase_add_loop_test(t, descriptors_upcast, 0, N_OPS);
    tcase_add_loop_test(t, late_set, 0, 2);
    tcase_add_loop_test(t, batchnorm_passthrough, 0, 5);
    tcase_add_test(t, native_graph_passthrough);
    tcase_add_test(t, refused_convolution_made_as_set);
    return hr_run_suites(srunner_create(s));
}
