/* Integration tests of the cuBLASLt interposer on the emulated backend:
 * lt_app (tests/apps/lt_app.c, an ordinary cuBLASLt program) runs with and
 * without the shim; the tests assert on the numbers it prints and on the
 * shim's call, site, nonfinite and summary records.
 *
 * Numbers (the emulated cuBLASLt rounds every add to FP16 under
 * CUBLAS_COMPUTE_16F, and splits k >= 4096 into 4 chunks for a 16-bit D
 * under FP32 compute, joining them in the most reduced scheme the
 * preference's mask allows: OUTPUT_TYPE > INPLACE > COMPUTE_TYPE):
 * - 4096 ones: 2048 with FP16 accumulation (2048 + 1 rounds back to 2048),
 *   4096 with FP32 accumulation (the shim's upcast);
 * - 4102 ones under FP32 compute, split 1026 + 1026 + 1025 + 1025:
 *   OUTPUT_TYPE sums the partials in FP16: 2052, 3077 -> 3076 (ties to
 *   even), 4101 -> 4100; COMPUTE_TYPE sums them in FP32: 4102 -> 4104
 *   (the tie rounds to even), as an unsplit FP32 sum does;
 * - 16224 products of 16.7 * 1 under FP32 compute: 270941 > 65504, +Inf
 *   in a 16-bit D whatever the accumulation;
 * - 32F_FAST_16F on FP32 inputs of 70000: rounded to FP16 they are +Inf;
 *   in FP32, 16 of them sum to 1120000.
 *
 * Suite (CK_RUN_SUITE): lt. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

#define COMPUTE_16F 64
#define COMPUTE_32F 68
#define R_16F 2
#define R_32F 0
#define SCHEME_COMPUTE_TYPE 2
#define SCHEME_OUTPUT_TYPE 4
#define MATMUL "cublasLtMatmul"
#define SPLIT_ARGS "--compute", "32F", "--k", "4102"

static void run(hr_app *a, int shim, const char *const *env, const char *const args[])
{
    hr_app_opts o = { .shim = shim, .emu = 1, .env = env };
    hr_app_run(a, &o, "lt_app", args);
}

static size_t nonfinite(const hr_app *a)
{
    return a->have_log ? hr_log_count(&a->log, "nonfinite") : 0;
}

/* The same run without the shim and with it (trace records), each
 * successful, and key's value in each. */
static void run_pair(hr_app *plain, hr_app *shim, const char *const args[], const char *key,
                     double want_plain, double want_shim)
{
    run(plain, 0, NULL, args);
    ASSERT_OK(plain);
    ASSERT_KV(plain, key, want_plain);
    run(shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), args);
    ASSERT_OK(shim);
    ASSERT_KV(shim, key, want_shim);
}

/* ---- FP16 accumulation ------------------------------------------------------- */

/* Created or initialized in the program's storage, alpha/beta on the host
 * or in device memory: FP32 accumulation, the program's half scalars
 * converted, and the program still reads back its own types. */
START_TEST(fp16_compute_upcast)
{
    int init = _i & 1, device = _i >= 2;
    const char *desc_api = init ? "cublasLtMatmulDescInit_internal" : "cublasLtMatmulDescCreate";
    const char *const args[] = { "--compute", "16F", "--pointer-mode", device ? "device" : "host",
                                 init ? "--init" : NULL, NULL };
    hr_app plain, shim;
    run(&plain, 0, NULL, args);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "d0", 2048);
    ASSERT_KV(&plain, "compute_read", COMPUTE_16F);
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "d0", 4096);
    ASSERT_KV(&shim, "dsum", 4096.0 * 64 * 64);
    ASSERT_KV(&shim, "compute_read", COMPUTE_16F);
    ASSERT_KV(&shim, "scale_read", R_16F);

    const char *desc = api_record(&shim, "call", desc_api);
    ASSERT_JSTR(desc, "compute", "CUBLAS_COMPUTE_16F");
    ASSERT_JSTR(desc, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(desc, "scale", "CUDA_R_16F");
    ASSERT_JSTR(desc, "scale_used", "CUDA_R_32F");
    ASSERT_JSTR(desc, "action", "upcast");
    ASSERT_JNUM(desc, "status", 0);

    const char *rec = api_record(&shim, "call", MATMUL);
    ASSERT_SHAPE(rec, 64, 64, 4096, 1, "CUDA_R_16F", "CUDA_R_16F", "CUDA_R_16F");
    ASSERT_JSTR(rec, "compute", "CUBLAS_COMPUTE_16F");
    ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(rec, "scale", "CUDA_R_16F");
    ASSERT_JSTR(rec, "scale_used", "CUDA_R_32F");
    ASSERT_JSTR(rec, "pointer_mode", device ? "device" : "host");
    ASSERT_JSTR(rec, "algo", "given");
    ASSERT_JSTR(rec, "action", "upcast");
    ASSERT_JNUM(rec, "status", 0);

    const char *site = api_record(&shim, "site", MATMUL);
    ASSERT_JNUM(rec, "site_id", hr_json_num(site, "id"));
    ASSERT_JNUM(site, "k", 4096);
    ASSERT_JSTR(site, "compute", "CUBLAS_COMPUTE_16F");
    ASSERT_JSTR(site, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(site, "action", "upcast");

    ck_assert_double_eq(api_summary(&shim, MATMUL, "calls"), 1);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "upcasts"), 1);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "checked"), 1);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "nonfinite"), 0);
    ck_assert_double_eq(api_summary(&shim, desc_api, "upcasts"), 1);
    ck_assert_uint_eq(nonfinite(&shim), 0);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* Half alpha/beta in device memory, converted on the NULL stream of a
 * thread that has no current context yet (the library's own call makes
 * one current): the conversion runs in device 0's primary context, where
 * the call runs. Before, the shim found no context for the stream and
 * returned CUBLAS_STATUS_NOT_SUPPORTED for a call that works without it. */
START_TEST(device_scalars_on_fresh_thread)
{
    const char *const args[] = { "--compute", "16F", "--pointer-mode", "device",
                                 "--fresh-thread", "--m", "8", "--n", "8", NULL };
    hr_app plain, shim;
    run_pair(&plain, &shim, args, "d0", 2048, 4096);
    ASSERT_KV(&shim, "dsum", 4096.0 * 8 * 8);
    const char *rec = api_record(&shim, "call", MATMUL);
    ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(rec, "pointer_mode", "device");
    ASSERT_JSTR(rec, "action", "upcast");
    ASSERT_JNUM(rec, "status", 0);
    ck_assert_ptr_null(strstr(shim.r.err, "cannot convert"));
    /* The output is scanned after the call, which made the context
     * current (the emulated library, as the real one, through the runtime). */
    const char *sum = hr_log_find(&shim.log, "summary", 0);
    ck_assert_ptr_nonnull(sum);
    ASSERT_JNUM(sum, "checks.checked", 1);
    ASSERT_JNUM(sum, "checks.skipped_capture", 0);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

START_TEST(pedantic_stays_pedantic)
{
    hr_app plain, shim;
    run(&plain, 0, NULL, ARGS("--compute", "16F_PEDANTIC"));
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "d0", 2048);
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS("--compute", "16F_PEDANTIC"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "d0", 4096);
    const char *desc = api_record(&shim, "call", "cublasLtMatmulDescCreate");
    ASSERT_JSTR(desc, "compute", "CUBLAS_COMPUTE_16F_PEDANTIC");
    ASSERT_JSTR(desc, "compute_used", "CUBLAS_COMPUTE_32F_PEDANTIC");
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

START_TEST(fast16f_upcast)
{
    const char *const args[] = { "--type", "32F", "--compute", "32F_FAST_16F", "--value",
                                 "70000", "--k", "16", NULL };
    hr_app plain, shim;
    /* 70000 rounded to FP16 without the shim */
    run_pair(&plain, &shim, args, "ninf", 64 * 64, 0);
    ASSERT_KV(&shim, "d0", 1120000);
    const char *desc = api_record(&shim, "call", "cublasLtMatmulDescCreate");
    ASSERT_JSTR(desc, "compute", "CUBLAS_COMPUTE_32F_FAST_16F");
    ASSERT_JSTR(desc, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(desc, "scale", "CUDA_R_32F");
    ASSERT_JSTR(desc, "scale_used", "CUDA_R_32F");
    ASSERT_JSTR(api_record(&shim, "call", MATMUL), "action", "upcast");
    /* an FP32 D is no half-precision output: not scanned */
    ck_assert_double_eq(api_summary(&shim, MATMUL, "checked"), 0);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* The compute type changed after creation: to FP16 (rewritten, and the
 * scale type the program sets next is remembered), and back to FP32 (the
 * descriptor is the program's again). */
START_TEST(set_compute)
{
    hr_app plain, shim;
    const char *const to16[] = { "--compute", "32F", "--set-compute", "16F", NULL };
    run(&plain, 0, NULL, to16);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "d0", 2048);
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), to16);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "d0", 4096);
    ASSERT_KV(&shim, "compute_read", COMPUTE_16F);
    ASSERT_KV(&shim, "scale_read", R_16F);
    const char *rec = api_record(&shim, "call", MATMUL);
    ASSERT_JSTR(rec, "compute", "CUBLAS_COMPUTE_16F");
    ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(rec, "scale", "CUDA_R_16F");
    ASSERT_JSTR(rec, "scale_used", "CUDA_R_32F");
    ASSERT_JSTR(rec, "action", "upcast");
    ck_assert_double_eq(api_summary(&shim, "cublasLtMatmulDescSetAttribute", "upcasts"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);

    const char *const to32[] = { "--compute", "16F", "--set-compute", "32F", NULL };
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), to32);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "d0", 4096);
    ASSERT_KV(&shim, "compute_read", COMPUTE_32F);
    ASSERT_KV(&shim, "scale_read", R_32F);
    rec = api_record(&shim, "call", MATMUL);
    ASSERT_JSTR(rec, "compute", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(rec, "action", "pass");
    hr_app_free(&shim);
}
END_TEST

/* ---- split-K ---------------------------------------------------------------- */

/* An algorithm from the program's own heuristic query (under a preference
 * the shim restricted), none at all, and one the program configured to
 * join 16-bit partials: all end up joining them in FP32. */
START_TEST(splitk_schemes)
{
    static const char *const algos[] = { "heuristic", "null", "output-type" };
    static const char *const how[] = { "given", "requeried", "requeried" };
    const char *const args[] = { SPLIT_ARGS, "--algo", algos[_i], NULL };
    hr_app plain, shim;
    run_pair(&plain, &shim, args, "d0", 4100, 4104);
    if (_i == 0) {
        ASSERT_KV(&plain, "algo_scheme", SCHEME_OUTPUT_TYPE);
        ASSERT_KV(&shim, "algo_scheme", SCHEME_COMPUTE_TYPE);
        const char *pref = api_record(&shim, "call", "cublasLtMatmulPreferenceCreate");
        ASSERT_JNUM(pref, "reduction_mask", 7);
        ASSERT_JNUM(pref, "reduction_mask_used", SCHEME_COMPUTE_TYPE);
        ck_assert_double_eq(api_summary(&shim, "cublasLtMatmulPreferenceCreate", "upcasts"), 1);
    }
    const char *rec = api_record(&shim, "call", MATMUL);
    ASSERT_JSTR(rec, "algo", how[_i]);
    ASSERT_JSTR(rec, "compute_used", "CUBLAS_COMPUTE_32F");
    ASSERT_JSTR(rec, "action", "pass"); /* FP32 compute: nothing to upcast */
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* Matrices that are slices of larger tensors (aligned to 2 or 16 bytes,
 * not the 256 a preference assumes by default): the algorithm the shim
 * chooses in place of cuBLASLt's own must suit them, or the matmul the
 * program made successfully fails. */
START_TEST(splitk_requery_misaligned)
{
    static const char *const misalign[] = { "2", "16", "258" };
    const char *const args[] = { SPLIT_ARGS, "--algo", "null", "--misalign", misalign[_i], NULL };
    hr_app plain, shim;
    run_pair(&plain, &shim, args, "d0", 4100, 4104);
    ASSERT_KV(&shim, "matmul_status", 0);
    ASSERT_JSTR(api_record(&shim, "call", MATMUL), "algo", "requeried");
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* cuBLASLt refuses the algorithm the shim chose (as a real one refuses an
 * algorithm chosen for another GPU or for a descriptor with other
 * attributes; emulated with EMU_LT_REFUSE_GIVEN_SPLITK): the call runs
 * again with the program's own choice and gets what it gets without the
 * shim, with one warning. Before, the refusal reached the program. */
START_TEST(splitk_requery_refused)
{
    const char *const args[] = { SPLIT_ARGS, "--algo", "null", "--calls", "3", NULL };
    hr_app plain, shim;
    run(&plain, 0, ENV("EMU_LT_REFUSE_GIVEN_SPLITK=1"), args);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "d0", 4100);
    run(&shim, 1, ENV("EMU_LT_REFUSE_GIVEN_SPLITK=1", "SAFEHALF_LOG_LEVEL=trace"), args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "matmul_status", 0);
    ASSERT_KV(&shim, "d0", 4100);
    ck_assert_int_eq(hr_log_count_where(&shim.log, "call", "api", MATMUL), 3);
    for (size_t i = 0, n = hr_log_count(&shim.log, "call"); i < n; i++) {
        const char *r = hr_log_find(&shim.log, "call", i);
        if (hr_json_str_is(r, "api", MATMUL)) {
            ASSERT_JSTR(r, "algo", "refused");
            ASSERT_JNUM(r, "status", 0);
        }
    }
    ck_assert_int_eq(hr_count_lines(shim.r.err, "safehalf: cuBLASLt refused the algorithm"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

START_TEST(splitk_program_mask)
{
    /* the program allows only OUTPUT_TYPE: the shim leaves no scheme, so
     * the heuristic does not split */
    const char *const args[] = { SPLIT_ARGS, "--pref-mask", "4", NULL };
    hr_app plain, shim;
    run_pair(&plain, &shim, args, "d0", 4100, 4104);
    ASSERT_KV(&shim, "algo_splitk", 1);
    /* the app also sets the workspace size: the mask's call is the one
     * with a reduction_mask */
    const char *set = NULL;
    for (size_t i = 0, n = hr_log_count(&shim.log, "call"); i < n && !set; i++) {
        const char *r = hr_log_find(&shim.log, "call", i);
        if (hr_json_str_is(r, "api", "cublasLtMatmulPreferenceSetAttribute") &&
            hr_json_get(r, "reduction_mask", NULL, 0) == 'n')
            set = r;
    }
    ck_assert_msg(set != NULL, "%s", hr_log_dump(&shim.log));
    ASSERT_JNUM(set, "reduction_mask", 4);
    ASSERT_JNUM(set, "reduction_mask_used", 0);
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* A program calling with a NULL algorithm every time: one heuristic query,
 * the other calls served from the cache. */
START_TEST(splitk_requery_cached)
{
    hr_app shim;
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(SPLIT_ARGS, "--algo", "null",
                                                        "--calls", "5"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "d0", 4104);
    ck_assert_uint_eq(hr_log_count_where(&shim.log, "call", "api", MATMUL), 5);
    for (size_t i = 0; i < 5; i++) {
        const char *rec = hr_log_find_where(&shim.log, "call", "api", MATMUL);
        ASSERT_JSTR(rec, "algo", "requeried");
    }
    ck_assert_double_eq(api_summary(&shim, MATMUL, "calls"), 5);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "checked"), 5);
    hr_app_free(&shim);
}
END_TEST

/* Heuristic queries in one run of lt_app under the shim (the program's
 * own algo is NULL, so each is the shim's), from the emulator's stats. */
static double heuristics_in(const char *const args[])
{
    hr_stats st;
    hr_stats_init(&st);
    hr_app a;
    run(&a, 1, ENV(st.env), args);
    ASSERT_OK(&a);
    double n = hr_stats_num(&st, "lt_heuristics");
    hr_stats_free(&st);
    hr_app_free(&a);
    return n;
}

/* Dynamic shapes: 200 problems recurring three times each are queried
 * once each (a cache of 64 asked 600 times). */
START_TEST(splitk_requery_many_shapes)
{
    double n = heuristics_in(ARGS("--algo", "null", "--m", "8", "--n", "256", "--k", "8",
                                  "--shapes", "200", "--calls", "600"));
    ck_assert_msg(n == 200, "%.0f heuristic queries for 200 recurring problems", n);
}
END_TEST

/* A problem made every other call stays cached while 300 others, more than
 * the cache holds, go round between: each of those 600 calls asks again,
 * the hot problem once (dropping the oldest entry, not the least recently
 * used, asked for it again every 256 entries). */
START_TEST(splitk_requery_hot_shape_kept)
{
    double n = heuristics_in(ARGS("--algo", "null", "--m", "8", "--n", "512", "--k", "8",
                                  "--shapes", "301", "--hot-shape", "--calls", "1200"));
    ck_assert_msg(n == 601, "%.0f heuristic queries, expected 600 + 1", n);
}
END_TEST

/* ---- the check of D ------------------------------------------------------------- */

START_TEST(overflow_found)
{
    const char *const args[] = { "--compute", "32F", "--value", "16.7", "--k", "16224", "--m", "8",
                                 "--n", "8", NULL };
    hr_app plain, shim;
    run(&plain, 0, NULL, args);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "ninf", 64);
    run(&shim, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "ninf", 64); /* FP32 accumulation does not save an FP16 output */
    ck_assert_msg(nonfinite(&shim) == 1, "%s", hr_log_dump(&shim.log));
    const char *rec = hr_log_find(&shim.log, "nonfinite", 0);
    ASSERT_JSTR(rec, "api", MATMUL);
    ASSERT_JNUM(rec, "m", 8);
    ASSERT_JNUM(rec, "n", 8);
    ASSERT_JNUM(rec, "k", 16224);
    ASSERT_JNUM(rec, "inf", 64);
    ASSERT_JSTR(rec, "ctype", "CUDA_R_16F");
    ASSERT_JSTR(rec, "compute", "CUBLAS_COMPUTE_32F");
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "nonfinite"), 1);
    hr_app_free(&plain);

    run(&shim, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "ninf", 0);
    ASSERT_KV(&shim, "dmax", 65504);
    hr_app_free(&shim);
}
END_TEST

/* Which inputs a finding names (SAFEHALF_CHECK_INPUTS=1): C when beta lets
 * it in (scanned when apart from D, unread when D is C), and a BIAS
 * epilogue's vector, per batch member when BIAS_BATCH_STRIDE says so. The
 * overflow cases make their Inf themselves (16224 x 16.7 > 65504). */
#define OVERFLOW "--compute", "32F", "--value", "16.7", "--k", "16224", "--m", "8", "--n", "8"
#define SMALL "--compute", "32F", "--k", "16", "--m", "8", "--n", "8"
static const struct {
    const char *args[20];
    const char *finite;     /* inputs_finite: "true", "false" or "null" */
    const char *name;       /* an input the record must hold, or NULL */
    double inf;             /* its Inf count */
    const char *absent;     /* an input the record must not hold, or NULL */
} input_cases[] = {
    /* Inf in C, beta 1: C, scanned, brought it */
    { { SMALL, "--beta", "1", "--c-value", "inf" }, "false", "C", 64, NULL },
    /* the same with half scalars converted by the upcast */
    { { "--compute", "16F", "--k", "16", "--m", "8", "--n", "8", "--beta", "1",
        "--c-value", "inf" }, "false", "C", 64, NULL },
    /* beta from device memory may be anything: C counts */
    { { SMALL, "--beta", "1", "--c-value", "inf", "--pointer-mode", "device" }, "false", "C",
      64, NULL },
    /* D is C: no scan sees C as it was */
    { { SMALL, "--beta", "1", "--c-value", "inf", "--in-place" }, "null", NULL, 0, "C" },
    { { OVERFLOW, "--beta", "1", "--c-value", "1", "--in-place" }, "null", NULL, 0, "C" },
    /* arrays of pointers apart whose members are the same matrices: only
     * the device knows, so C counts as unknown, not as bringing D's Inf */
    { { OVERFLOW, "--beta", "1", "--c-value", "1", "--in-place", "--pointer-array", "--batch",
        "2" }, "null", NULL, 0, "C" },
    /* beta 0 (float and half): C is not read, the call made the Inf */
    { { OVERFLOW, "--c-value", "inf" }, "true", NULL, 0, "C" },
    { { "--compute", "16F", "--value", "16.7", "--k", "16224", "--m", "8", "--n", "8",
        "--scale", "16F", "--c-value", "inf" }, "true", NULL, 0, "C" },
    /* beta 1 and a finite C apart from D: scanned, finite */
    { { OVERFLOW, "--beta", "1", "--c-value", "1" }, "true", "C", 0, NULL },
    /* an Inf bias, one vector for 3 members or one each */
    { { SMALL, "--epilogue", "bias", "--bias-value", "inf", "--batch", "3" }, "false",
      "bias", 8, NULL },
    { { SMALL, "--epilogue", "relu_bias", "--bias-value", "inf", "--batch", "3",
        "--bias-stride", "8" }, "false", "bias", 24, NULL },
    /* a finite bias: scanned; ReLU alone reads none */
    { { OVERFLOW, "--epilogue", "bias", "--bias-value", "2" }, "true", "bias", 0, NULL },
    { { OVERFLOW, "--epilogue", "relu" }, "true", NULL, 0, "bias" },
};

START_TEST(matmul_inputs)
{
    const int i = _i;
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), input_cases[i].args);
    ASSERT_OK(&a);
    ck_assert_msg(nonfinite(&a) == 1, "case %d: %s", i, hr_log_dump(&a.log));
    const char *rec = hr_log_find(&a.log, "nonfinite", 0);
    char want[64];
    snprintf(want, sizeof want, "\"inputs_finite\":%s", input_cases[i].finite);
    ck_assert_msg(strstr(rec, want), "case %d: %s", i, rec);
    ASSERT_JNUM(rec, "inputs.A.inf", 0);
    ASSERT_JNUM(rec, "inputs.B.inf", 0);
    if (input_cases[i].name) {
        char path[64];
        snprintf(path, sizeof path, "inputs.%s.inf", input_cases[i].name);
        ASSERT_JNUM(rec, path, input_cases[i].inf);
    }
    if (input_cases[i].absent) {
        char path[64];
        snprintf(path, sizeof path, "inputs.%s", input_cases[i].absent);
        ASSERT_ABSENT(rec, path);
    }
    hr_app_free(&a);
}
END_TEST

/* What an epilogue writes beside D is checked like D, in a record of its
 * own whose "output" names it: a bias gradient (a sum over k of A or B, or
 * over D's columns) and a forward GELU's input (AUX). A bias gradient of
 * one operand names only that operand as its input. */
#define LONG_K "--compute", "32F", "--k", "4096", "--m", "8", "--n", "8"
static const struct {
    const char *args[24];
    const char *output;        /* the record beside D's: "bias_grad" or "aux" */
    double inf, nan, numel;    /* its counts */
    const char *finite;        /* its inputs_finite */
    const char *input;         /* an input it names, with these counts */
    double input_inf, input_nan;
    const char *absent;        /* an input it must not name, or NULL */
    size_t d_records;          /* D's own findings (records without "output") */
} epilogue_cases[] = {
    /* 4096 x 20 > 65504 in B's FP16 bias gradient; D = 4096 x 20 x 1e-4 */
    { { LONG_K, "--value", "0.0001", "--b-value", "20", "--epilogue", "bgradb" },
      "bias_grad", 8, 0, 8, "true", "B", 0, 0, "A", 0 },
    { { LONG_K, "--value", "20", "--b-value", "0.0001", "--epilogue", "bgrada" },
      "bias_grad", 8, 0, 8, "true", "A", 0, 0, "B", 0 },
    /* one gradient per batch member, BIAS_BATCH_STRIDE apart */
    { { LONG_K, "--value", "0.0001", "--b-value", "20", "--epilogue", "bgradb", "--batch", "3",
        "--bias-stride", "8" }, "bias_grad", 24, 0, 24, "true", "B", 0, 0, "A", 0 },
    /* an Inf in B reaches D and B's gradient alike */
    { { SMALL, "--b-value", "inf", "--epilogue", "bgradb" },
      "bias_grad", 8, 0, 8, "false", "B", 128, 0, "A", 1 },
    /* D's sum over its 8 columns: 8 x 40000 overflows, D holds 40000 */
    { { "--compute", "32F", "--k", "16", "--m", "8", "--n", "8", "--value", "50", "--b-value",
        "100", "--epilogue", "dgelu_bgrad" }, "bias_grad", 8, 0, 8, "true", "aux", 0, 0, NULL, 0 },
    /* a NaN in the GELU input DGELU reads */
    { { SMALL, "--epilogue", "dgelu_bgrad", "--aux-value", "nan" },
      "bias_grad", 0, 8, 8, "false", "aux", 0, 64, NULL, 1 },
    /* the GELU input kept for the backward pass overflows with D */
    { { OVERFLOW, "--epilogue", "gelu_aux" }, "aux", 64, 0, 64, "true", "A", 0, 0, "bias", 1 },
    { { OVERFLOW, "--epilogue", "gelu_aux_bias", "--bias-value", "2", "--aux-ld", "16" },
      "aux", 64, 0, 64, "true", "bias", 0, 0, NULL, 1 },
};

START_TEST(epilogue_outputs)
{
    const int i = _i;
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), epilogue_cases[i].args);
    ASSERT_OK(&a);
    size_t d = 0;
    for (size_t r = 0; r < nonfinite(&a); r++)
        d += !strstr(hr_log_find(&a.log, "nonfinite", r), "\"output\"");
    ck_assert_msg(d == epilogue_cases[i].d_records && nonfinite(&a) == d + 1, "case %d: %s", i,
                  hr_log_dump(&a.log));
    const char *rec = hr_log_find_where(&a.log, "nonfinite", "output", epilogue_cases[i].output);
    ck_assert_msg(rec, "case %d: %s", i, hr_log_dump(&a.log));
    ASSERT_JSTR(rec, "api", MATMUL);
    ASSERT_JNUM(rec, "inf", epilogue_cases[i].inf);
    ASSERT_JNUM(rec, "nan", epilogue_cases[i].nan);
    ASSERT_JNUM(rec, "numel", epilogue_cases[i].numel);
    char path[64];
    snprintf(path, sizeof path, "\"inputs_finite\":%s", epilogue_cases[i].finite);
    ck_assert_msg(strstr(rec, path), "case %d: %s", i, rec);
    snprintf(path, sizeof path, "inputs.%s.inf", epilogue_cases[i].input);
    ASSERT_JNUM(rec, path, epilogue_cases[i].input_inf);
    snprintf(path, sizeof path, "inputs.%s.nan", epilogue_cases[i].input);
    ASSERT_JNUM(rec, path, epilogue_cases[i].input_nan);
    if (epilogue_cases[i].absent) {
        snprintf(path, sizeof path, "inputs.%s", epilogue_cases[i].absent);
        ASSERT_ABSENT(rec, path);
    }
    if (!d) { /* the first finding the program hears of is this output's */
        snprintf(path, sizeof path, "output=%s", epilogue_cases[i].output);
        ck_assert_msg(strstr(a.r.err, path), "case %d: %s", i, hr_describe(&a.r));
    }
    hr_app_free(&a);
}
END_TEST

/* Without the shim the same bias gradient overflows; saturate keeps it at
 * the largest half, as it keeps D. */
START_TEST(epilogue_output_saturated)
{
    const char *const args[] = { LONG_K, "--value", "0.0001", "--b-value", "20", "--epilogue",
                                 "bgradb", NULL };
    hr_app plain, shim;
    run(&plain, 0, NULL, args);
    ASSERT_OK(&plain);
    ASSERT_KV(&plain, "ginf", 8);
    ASSERT_KV(&plain, "ninf", 0);
    run(&shim, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "ginf", 0);
    ASSERT_KV(&shim, "gmax", 65504);
    ck_assert_msg(hr_log_count_where(&shim.log, "nonfinite", "output", "bias_grad") == 1, "%s",
                  hr_log_dump(&shim.log));
    hr_app_free(&plain);
    hr_app_free(&shim);
}
END_TEST

/* Batches, row-major layouts, a transposed A and a bias epilogue: the
 * numbers, the shape in the record, and D scanned whole (an Inf planted
 * by the bias in the last batch is found). */
START_TEST(layouts)
{
    const char *const args[] = { "--compute", "16F", "--batch", "3", "--order", "row",
                                 "--transa", "--epilogue", "bias", "--bias-value", "4", NULL };
    hr_app plain, shim;
    run_pair(&plain, &shim, args, "d0", 2052, 4100);
    ASSERT_KV(&shim, "dsum", 4100.0 * 64 * 64 * 3);
    const char *rec = api_record(&shim, "call", MATMUL);
    ASSERT_JNUM(rec, "m", 64);
    ASSERT_JNUM(rec, "n", 64);
    ASSERT_JNUM(rec, "k", 4096);
    ASSERT_JNUM(rec, "batch", 3);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "checked"), 1);
    hr_app_free(&plain);
    hr_app_free(&shim);

    /* every element of all three batches is an Inf: the scan counts them */
    const char *const inf[] = { "--compute", "32F", "--batch", "3", "--order", "row", "--transa",
                                "--m", "8", "--n", "8", "--k", "16", "--epilogue", "bias",
                                "--bias-value", "70000", NULL };
    run(&shim, 1, NULL, inf);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "ninf", 8 * 8 * 3);
    ck_assert_msg(nonfinite(&shim) == 1, "%s", hr_log_dump(&shim.log));
    ASSERT_JNUM(hr_log_find(&shim.log, "nonfinite", 0), "inf", 8 * 8 * 3);
    hr_app_free(&shim);
}
END_TEST

/* ---- layouts and descriptors followed from their creation ------------------- */

/* The overflow above, its layouts made 1 x 1 and shaped with
 * cublasLtMatrixLayoutSetAttribute (created, or made by Init), or made by
 * Init in other storage and copied over storage that held 1 x 1 layouts
 * made by Init: the shim sees the shapes the library sees, and scans D
 * whole. */
START_TEST(layouts_followed)
{
    static const char *const how[][3] = { { "--late-shape" },
                                          { "--late-shape", "--init" },
                                          { "--init", "--copy-layouts" },
                                          { "--init", "--copy-layouts", "--late-shape" } };
    const char *const args[] = { "--compute", "32F", "--value", "16.7", "--k", "16224", "--m", "8",
                                 "--n", "8", how[_i][0], how[_i][1], how[_i][2], NULL };
    hr_app shim;
    run(&shim, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "ninf", 64);
    ck_assert_msg(nonfinite(&shim) == 1, "%s", hr_log_dump(&shim.log));
    const char *rec = hr_log_find(&shim.log, "nonfinite", 0);
    ASSERT_JNUM(rec, "m", 8);
    ASSERT_JNUM(rec, "n", 8);
    ASSERT_JNUM(rec, "k", 16224);
    ASSERT_JNUM(rec, "inf", 64);
    rec = api_record(&shim, "call", MATMUL);
    ASSERT_JNUM(rec, "m", 8);
    ASSERT_JNUM(rec, "n", 8);
    ASSERT_JNUM(rec, "k", 16224);
    ASSERT_JSTR(rec, "atype", "CUDA_R_16F");
    hr_app_free(&shim);
}
END_TEST

/* Batches given as device arrays of pointers (BATCH_MODE = POINTER_ARRAY,
 * no stride): the check must read the members, never the arrays as data.
 * 16224 x 16.7 overflows every element of the three 8 x 8 members; Create,
 * Init and late-shaped layouts; inputs scanned through their arrays too;
 * saturate clips every member. Then a finite run: nothing reported. */
START_TEST(pointer_array_batches)
{
    static const char *const how[] = { NULL, "--init", "--late-shape" };
    const char *const args[] = { "--compute", "32F", "--value", "16.7", "--k", "16224", "--m", "8",
                                 "--n", "8", "--batch", "3", "--pointer-array",
                                 how[_i], NULL };
    hr_app shim;
    run(&shim, 1, ENV("SAFEHALF_CHECK_INPUTS=1"), args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "ninf", 192);
    ck_assert_msg(nonfinite(&shim) == 1, "%s", hr_log_dump(&shim.log));
    const char *rec = hr_log_find(&shim.log, "nonfinite", 0);
    ASSERT_JNUM(rec, "batch", 3);
    ASSERT_JNUM(rec, "numel", 192);
    ASSERT_JNUM(rec, "inf", 192);
    ck_assert_msg(strstr(rec, "\"inputs_finite\":true"), "%s", rec);
    hr_app_free(&shim);

    hr_app sat;
    run(&sat, 1, ENV("SAFEHALF_ON_NONFINITE=saturate"), args);
    ASSERT_OK(&sat);
    ASSERT_KV(&sat, "ninf", 0);
    ASSERT_KV(&sat, "dmax", 65504);
    ASSERT_KV(&sat, "dsum", 192 * 65504.0);
    hr_app_free(&sat);

    const char *const finite[] = { "--compute", "32F", "--k", "64", "--m", "8", "--n", "8",
                                   "--batch", "3", "--pointer-array", NULL };
    hr_app ok;
    run(&ok, 1, NULL, finite);
    ASSERT_OK(&ok);
    ASSERT_KV(&ok, "dsum", 192 * 64.0);
    ck_assert_msg(nonfinite(&ok) == 0, "%s", hr_log_dump(&ok.log));
    ck_assert_double_eq(api_summary(&ok, MATMUL, "checked"), 1);
    hr_app_free(&ok);
}
END_TEST

/* A program that makes and destroys its descriptor and layouts around
 * every matmul, as PyTorch does: thousands of rounds of other shapes, half
 * of them shaped after creation, at addresses the rounds before had (or in
 * the same storage, Init), FP16 compute rewritten or FP32 left alone. A
 * bias of 70000 makes every element of each D an Inf: every scan counts
 * m * n * batch of them, and each record's m, n (D's) and k (A's) are one
 * round's (the app makes k = 1 + (m + n) % 3). */
START_TEST(churn)
{
    enum { ROUNDS = 3000 };
    int init = _i & 1, fp16 = _i >= 2;
    const char *const args[] = { "--compute", fp16 ? "16F" : "32F", "--m", "8", "--n", "8", "--k",
                                 "16", "--epilogue", "bias", "--bias-value", "70000", "--churn",
                                 "3000", init ? "--init" : NULL, NULL };
    hr_app shim;
    run(&shim, 1, NULL, args);
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "ninf", 64);
    /* most rounds' D got an address an object of the round before had */
    ck_assert_msg(hr_kv_num(shim.r.out, "churn_reused") > ROUNDS / 2, "%s", shim.r.out);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "calls"), ROUNDS + 1);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "checked"), ROUNDS + 1);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "nonfinite"), ROUNDS + 1);
    ck_assert_double_eq(api_summary(&shim, MATMUL, "upcasts"), fp16 ? ROUNDS + 1 : 0);
    size_t n = nonfinite(&shim), last = 0;
    ck_assert_uint_gt(n, 100);
    for (size_t i = 0; i < n; i++) {
        const char *rec = hr_log_find(&shim.log, "nonfinite", i);
        double m = hr_json_num(rec, "m"), cols = hr_json_num(rec, "n"), k = hr_json_num(rec, "k");
        ck_assert_msg(hr_json_num(rec, "inf") == m * cols * hr_json_num(rec, "batch") &&
                          m >= 1 && m <= 8 && cols >= 1 && cols <= 8 &&
                          (k == 1 + fmod(m + cols, 3) || (m == 8 && cols == 8 && k == 16)),
                      "%s", rec);
        last += m == 8 && cols == 8 && k == 16;
    }
    ck_assert_uint_eq(last, 1); /* the program's own matmul */
    hr_app_free(&shim);
}
END_TEST

/* PyTorch passes its cuBLAS handle as the cuBLASLt one. */
START_TEST(cublas_handle)
{
    hr_app shim;
    run(&shim, 1, NULL, ARGS("--compute", "16F", "--lt-handle", "cublas"));
    ASSERT_OK(&shim);
    ASSERT_KV(&shim, "d0", 4096);
    hr_app_free(&shim);
}
END_TEST

/* ---- policy ------------------------------------------------------------------- */

START_TEST(policy_knobs)
{
    hr_app a;
    run(&a, 1, ENV("SAFEHALF_UPCAST=gemm,splitk,fast16f,reduce,cudnn", "SAFEHALF_LOG_LEVEL=trace"),
        ARGS("--compute", "16F"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "d0", 2048);
    ASSERT_JSTR(api_record(&a, "call", "cublasLtMatmulDescCreate"), "action", "pass");
    ASSERT_JSTR(api_record(&a, "call", MATMUL), "action", "pass");
    /* still half precision: a site, and D checked */
    ASSERT_JSTR(api_record(&a, "site", MATMUL), "compute_used", "CUBLAS_COMPUTE_16F");
    ck_assert_double_eq(api_summary(&a, MATMUL, "checked"), 1);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_MODE=observe", "SAFEHALF_LOG_LEVEL=trace"), ARGS("--compute", "16F"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "d0", 2048);
    ASSERT_JSTR(api_record(&a, "call", "cublasLtMatmulDescCreate"), "action", "observe");
    ASSERT_JSTR(api_record(&a, "call", MATMUL), "action", "observe");
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_UPCAST=gemm,lt", "SAFEHALF_LOG_LEVEL=trace"), ARGS(SPLIT_ARGS));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "d0", 4100); /* split-K left as the library chose it */
    ASSERT_JNUM(api_record(&a, "call", "cublasLtMatmulPreferenceCreate"), "reduction_mask_used", 7);
    hr_app_free(&a);

    run(&a, 1, ENV("SAFEHALF_MODE=off"), ARGS("--compute", "16F"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "d0", 2048);
    ck_assert(!a.have_log);
    hr_app_free(&a);
}
END_TEST

int main(void)
{
    Suite *s;
    TCase *t = hr_one_case("lt", 120, &s);
    tcase_add_loop_test(t, fp16_compute_upcast, 0, 4);
    tcase_add_test(t, device_scalars_on_fresh_thread);
    tcase_add_test(t, pedantic_stays_pedantic);
    tcase_add_test(t, fast16f_upcast);
    tcase_add_test(t, set_compute);
    tcase_add_loop_test(t, splitk_schemes, 0, 3);
    tcase_add_loop_test(t, splitk_requery_misaligned, 0, 3);
    tcase_add_test(t, splitk_requery_refused);
    tcase_add_test(t, splitk_program_mask);
    tcase_add_test(t, splitk_requery_cached);
    tcase_add_test(t, splitk_requery_many_shapes);
    tcase_add_test(t, splitk_requery_hot_shape_kept);
    tcase_add_test(t, overflow_found);
    tcase_add_loop_test(t, matmul_inputs, 0, (int)(sizeof input_cases / sizeof input_cases[0]));
    tcase_add_loop_test(t, epilogue_outputs, 0,
                        (int)(sizeof epilogue_cases / sizeof epilogue_cases[0]));
    tcase_add_test(t, epilogue_output_saturated);
    tcase_add_test(t, layouts);
    tcase_add_loop_test(t, layouts_followed, 0, 4);
    tcase_add_loop_test(t, churn, 0, 4);
    tcase_add_loop_test(t, pointer_array_batches, 0, 3);
    tcase_add_test(t, cublas_handle);
    tcase_add_test(t, policy_knobs);
    return hr_run_suites(srunner_create(s));
}
