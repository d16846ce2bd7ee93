/* Integration tests on the emulated backend: the ordinary cuBLAS programs of
 * tests/apps run with LD_LIBRARY_PATH=$SH_EMU_DIR (CPU stand-ins for
 * libcudart / libcublas with faithful FP16 numerics), without and with
 * LD_PRELOAD=$SH_LIB, and the tests assert on the numbers they print and on
 * the records of safehalf's log.
 *
 * Numbers used below (derived in tests/apps/gemm_app.c):
 *   ones, k = 4096:   FP16 accumulation 2048, FP32 accumulation 4096.
 *   splitk, k = 4096: emulated split-K (4 chunks, partials rounded to FP16
 *                     and added in FP16) 1.0; unsplit FP32 reduction 1.75.
 *   big:              FAST_16F down-converts 70000 to Inf; FP32 gives 70000.
 *
 * Suites (meson registers one test per suite through CK_RUN_SUITE): entries,
 * scalars, splitk, fast16f, policy, apps, log, env. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asserts.h"
#include "harness.h"

#define K 4096

static const char *const entries[] = {
    "cublasHgemm",
    "cublasHgemm_64",
    "cublasHgemmBatched",
    "cublasHgemmBatched_64",
    "cublasHgemmStridedBatched",
    "cublasHgemmStridedBatched_64",
    "cublasGemmEx",
    "cublasGemmEx_64",
    "cublasGemmBatchedEx",
    "cublasGemmBatchedEx_64",
    "cublasGemmStridedBatchedEx",
    "cublasGemmStridedBatchedEx_64",
};
#define N_ENTRIES ((int)(sizeof entries / sizeof entries[0]))

static int is_batched(const char *e) { return strstr(e, "Batched") != NULL; }
static int is_hgemm(const char *e) { return strncmp(e, "cublasHgemm", 11) == 0; }

/* ---- running ------------------------------------------------------------------ */

/* gemm_app on the emulation, with or without the shim, extra env (NULL-
 * terminated list or NULL), then gemm_app's arguments (NULL-terminated). */
static void gemm(hr_app *a, int shim, const char *const *env,
                 const char *const args[])
{
    hr_app_opts o = {.shim = shim, .emu = 1, .env = env};
    hr_app_run(a, &o, "gemm_app", args);
}

/* Every C value the app summarises (c0, cmin, cmax, clast) equals want. */
#define ASSERT_C(a, want)                                                      \
    do {                                                                       \
        ASSERT_OK(a);                                                          \
        ASSERT_KV(a, "c0", want);                                              \
        ASSERT_KV(a, "cmin", want);                                            \
        ASSERT_KV(a, "cmax", want);                                            \
        ASSERT_KV(a, "clast", want);                                           \
    } while (0)

#define ASSERT_STR(rec, path, want)                                            \
    do {                                                                       \
        char b_[512];                                                          \
        int t_ = hr_json_get(rec, path, b_, sizeof b_);                        \
        ck_assert_msg(t_ == 's' && strcmp(b_, want) == 0,                      \
                      "log field %s: got %s%s (type %c), expected \"%s\"\n"    \
                      "record: %s",                                            \
                      path, t_ ? "" : "<absent>", b_, t_ ? t_ : '-', want,     \
                      rec);                                                    \
    } while (0)

/* Each line is one compact JSON object with ev, t, pid (the app's), tid;
 * the first record is the only "start". */
static void check_log_wellformed(const hr_app *a)
{
    ck_assert_msg(a->have_log, "no log file %s\n%s", a->log_path,
                  hr_describe(&a->r));
    ck_assert_msg(a->log.n > 0, "empty log %s", a->log_path);
    for (size_t i = 0; i < a->log.n; i++) {
        const char *l = a->log.lines[i];
        char buf[64];
        ck_assert_msg(hr_json_is_object(l, strlen(l)),
                      "log line %zu is not one JSON object: '%s'", i + 1, l);
        ck_assert_msg(strstr(l, "\": ") == NULL && strstr(l, ", \"") == NULL,
                      "log line %zu is not compact: %s", i + 1, l);
        ck_assert_msg(hr_json_get(l, "ev", buf, sizeof buf) == 's',
                      "log line %zu has no string \"ev\": %s", i + 1, l);
        ck_assert_msg(hr_json_get(l, "t", NULL, 0) == 'n',
                      "log line %zu has no numeric \"t\": %s", i + 1, l);
        ck_assert_msg(hr_json_get(l, "tid", NULL, 0) == 'n',
                      "log line %zu has no numeric \"tid\": %s", i + 1, l);
        ck_assert_msg(hr_json_num(l, "pid") == (double)a->r.pid,
                      "log line %zu: pid is not the app's (%d): %s", i + 1,
                      (int)a->r.pid, l);
    }
    ck_assert_msg(hr_json_str_is(a->log.lines[0], "ev", "start"),
                  "first log record is not \"start\": %s", a->log.lines[0]);
    ck_assert_msg(hr_log_count(&a->log, "start") == 1, "%zu start records",
                  hr_log_count(&a->log, "start"));
}

static int is_gemm_api(const char *rec)
{
    char api[128];
    return hr_json_get(rec, "api", api, sizeof api) == 's' &&
           (strstr(api, "gemm") || strstr(api, "Gemm"));
}

/* Number of "call" records for GEMM entry points (any api naming a gemm). */
static size_t count_gemm_calls(const hr_app *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->log.n; i++)
        if (hr_json_str_is(a->log.lines[i], "ev", "call") &&
            is_gemm_api(a->log.lines[i]))
            n++;
    return n;
}

/* The only GEMM call record of a run (asserts there is exactly one). */
static const char *the_gemm_call(const hr_app *a)
{
    check_log_wellformed(a);
    const char *found = NULL;
    for (size_t i = 0; i < a->log.n; i++) {
        const char *l = a->log.lines[i];
        if (hr_json_str_is(l, "ev", "call") && is_gemm_api(l) && !found)
            found = l;
    }
    size_t n = count_gemm_calls(a);
    ck_assert_msg(n == 1, "%zu GEMM call records, expected exactly 1; log:\n%s", n,
                  hr_log_dump(&a->log));
    return found;
}

static void check_call(const char *rec, const char *api, const char *compute,
                       const char *compute_used, const char *action)
{
    ASSERT_STR(rec, "api", api);
    if (compute)
        ASSERT_STR(rec, "compute", compute);
    if (compute_used)
        ASSERT_STR(rec, "compute_used", compute_used);
    if (action)
        ASSERT_STR(rec, "action", action);
    ASSERT_JNUM(rec, "status", 0);
}

/* ---- entries: every GEMM entry point ----------------------------------------- */

START_TEST(entry_ones_without_shim)
{
    const char *e = entries[_i];
    hr_app a;
    gemm(&a, 0, NULL, ARGS(e, "--data", "ones"));
    ASSERT_C(&a, 2048);
    ASSERT_KV(&a, "status", 0);
    ASSERT_KV(&a, "ref0", K);
    ck_assert_msg(!a.have_log, "a log without the shim?");
    hr_app_free(&a);
}
END_TEST

START_TEST(entry_ones_with_shim)
{
    const char *e = entries[_i];
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(e, "--data", "ones"));
    ASSERT_C(&a, K);
    ASSERT_KV(&a, "status", 0);

    const char *rec = the_gemm_call(&a);
    check_call(rec, e, "CUBLAS_COMPUTE_16F", "CUBLAS_COMPUTE_32F", "upcast");
    ASSERT_SHAPE(rec, 16, 16, K, is_batched(e) ? 3 : 1, "CUDA_R_16F", "CUDA_R_16F", "CUDA_R_16F");
    ASSERT_STR(rec, "pointer_mode", "host");
    /* Only the outermost call is logged (the_gemm_call checked there is one
     * GEMM record): the emulated Hgemm* call the exported GemmEx* inside. */

    const char *sum = hr_log_find(&a.log, "summary", 0);
    ck_assert_msg(sum != NULL, "no summary record");
    char path[128];
    snprintf(path, sizeof path, "apis.%s.calls", e);
    ASSERT_JNUM(sum, path, 1);
    snprintf(path, sizeof path, "apis.%s.upcasts", e);
    ASSERT_JNUM(sum, path, 1);
    if (is_hgemm(e)) {
        static const char *const ex[] = {"cublasGemmEx", "cublasGemmEx_64",
                                         "cublasGemmBatchedEx", "cublasGemmBatchedEx_64",
                                         "cublasGemmStridedBatchedEx",
                                         "cublasGemmStridedBatchedEx_64"};
        for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
            snprintf(path, sizeof path, "apis.%s", ex[i]);
            ck_assert_msg(hr_json_get(sum, path, NULL, 0) == 0,
                          "summary counts the nested %s of %s: %s", ex[i], e, sum);
        }
    }
    hr_app_free(&a);
}
END_TEST

START_TEST(entry_random_error)
{
    const char *e = entries[_i];
    hr_app a, b;
    const char *const *args = ARGS(e, "--data", "random", "--m", "32", "--n", "32",
                                   "--batch", "2");
    gemm(&a, 0, NULL, args);
    gemm(&b, 1, NULL, args);
    ASSERT_OK(&a);
    ASSERT_OK(&b);
    double without = hr_kv_num(a.r.out, "max_rel_err");
    double with = hr_kv_num(b.r.out, "max_rel_err");
    /* Same inputs, same reference. */
    ck_assert_msg(hr_kv_num(a.r.out, "ref0") == hr_kv_num(b.r.out, "ref0"),
                  "different references");
    /* FP32 accumulation: only the final rounding to FP16 remains, at most
     * 2^-11 of the element (normwise <= 2^-11; 2^-10 leaves room for the
     * FP32 summation order). */
    ck_assert_msg(with <= 0x1p-10, "%s with shim: max_rel_err %.3g > 2^-10", e, with);
    ck_assert_msg(without >= 10.0 * with,
                  "%s: max_rel_err without shim %.3g is not 10x the shim's %.3g",
                  e, without, with);
    ASSERT_KV(&b, "inf", 0);
    ASSERT_KV(&b, "nan", 0);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* ---- cublasSgemmEx: FP32 compute of its own ------------------------------------ */

/* cublasSgemmEx takes no compute type: it accumulates in FP32 whatever its
 * data, so 4096 ones make 4096 in an FP16 or BF16 output with or without
 * the shim (no stall at 2048; 4096 is exact in BF16 too). The shim has
 * nothing to rewrite (action pass, its compute named CUBLAS_COMPUTE_32F),
 * but counts the call, records its site and checks its 16-bit output. */
static const char *const sgemm_entries[] = { "cublasSgemmEx", "cublasSgemmEx_64" };

START_TEST(sgemm_ex_ones)
{
    const char *e = sgemm_entries[_i % 2];
    int bf16 = _i >= 2;
    const char *type = bf16 ? "CUDA_R_16BF" : "CUDA_R_16F";
    hr_app a, b;
    gemm(&a, 0, NULL, ARGS(e, "--data", "ones", "--type", bf16 ? "16BF" : "16F"));
    ASSERT_C(&a, K);
    ASSERT_KV(&a, "ref0", K);
    ck_assert_msg(!a.have_log, "a log without the shim?");
    gemm(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"),
         ARGS(e, "--data", "ones", "--type", bf16 ? "16BF" : "16F"));
    ASSERT_C(&b, K);

    const char *rec = the_gemm_call(&b);
    check_call(rec, e, "CUBLAS_COMPUTE_32F", "CUBLAS_COMPUTE_32F", "pass");
    ASSERT_SHAPE(rec, 16, 16, K, 1, type, type, type);
    ASSERT_STR(rec, "pointer_mode", "host");
    ck_assert_msg(api_record(&b, "site", e) != NULL, "no site record");
    ck_assert_msg(hr_log_count(&b.log, "nonfinite") == 0, "%s", hr_log_dump(&b.log));
    ck_assert_msg(api_summary(&b, e, "calls") == 1 && api_summary(&b, e, "upcasts") == 0 &&
                      api_summary(&b, e, "checked") == 1 && api_summary(&b, e, "nonfinite") == 0,
                  "%s", summary_record(&b));
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* With an FP16 output and k >= 4096 cuBLAS may reduce split-K partials in
 * FP16 (1.0 on the splitk data) unless the handle forbids it: the shim's
 * handle flag reaches SgemmEx as it reaches GemmEx (1.75). */
START_TEST(sgemm_ex_splitk)
{
    const char *e = sgemm_entries[_i];
    hr_app a, b, c;
    gemm(&a, 0, NULL, ARGS(e, "--data", "splitk"));
    ASSERT_C(&a, 1.0);
    ASSERT_KV(&a, "ref0", 1.75);
    gemm(&b, 0, NULL, ARGS(e, "--data", "splitk", "--math", "16"));
    ASSERT_C(&b, 1.75);
    gemm(&c, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(e, "--data", "splitk"));
    ASSERT_C(&c, 1.75);
    check_call(the_gemm_call(&c), e, "CUBLAS_COMPUTE_32F", "CUBLAS_COMPUTE_32F", "pass");
    hr_app_free(&a);
    hr_app_free(&b);
    hr_app_free(&c);
}
END_TEST

/* ---- scalars: alpha/beta in device memory --------------------------------------- */

static const char *const dev_entries[] = {
    "cublasHgemm", "cublasHgemm_64", "cublasGemmEx", "cublasGemmEx_64",
    "cublasHgemmStridedBatched", "cublasGemmBatchedEx",
};

START_TEST(device_scalars)
{
    const char *e = dev_entries[_i];
    hr_app a, b;
    gemm(&a, 0, NULL, ARGS(e, "--ptr", "device"));
    ASSERT_C(&a, 2048);
    gemm(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(e, "--ptr", "device"));
    ASSERT_C(&b, K);
    const char *rec = the_gemm_call(&b);
    check_call(rec, e, "CUBLAS_COMPUTE_16F", "CUBLAS_COMPUTE_32F", "upcast");
    ASSERT_STR(rec, "pointer_mode", "device");
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* FP32 scalars in device memory with a 32F GemmEx: nothing to convert. */
START_TEST(device_scalars_32f)
{
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmEx", "--ptr", "device", "--compute", "32F"));
    ASSERT_C(&a, K);
    const char *rec = the_gemm_call(&a);
    check_call(rec, "cublasGemmEx", "CUBLAS_COMPUTE_32F", "CUBLAS_COMPUTE_32F", NULL);
    ASSERT_STR(rec, "pointer_mode", "device");
    hr_app_free(&a);
}
END_TEST

/* cublasSgemmEx's float alpha and beta in device memory: passed as they are. */
START_TEST(sgemm_ex_device_scalars)
{
    const char *e = sgemm_entries[_i];
    hr_app a, b;
    gemm(&a, 0, NULL, ARGS(e, "--ptr", "device"));
    ASSERT_C(&a, K);
    gemm(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(e, "--ptr", "device"));
    ASSERT_C(&b, K);
    const char *rec = the_gemm_call(&b);
    check_call(rec, e, "CUBLAS_COMPUTE_32F", "CUBLAS_COMPUTE_32F", "pass");
    ASSERT_STR(rec, "pointer_mode", "device");
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* ---- split-K (32F compute, FP16 output, default math mode) --------------------- */

static const char *const splitk_entries[] = {
    "cublasGemmEx", "cublasGemmEx_64", "cublasGemmStridedBatchedEx",
    "cublasGemmStridedBatchedEx_64", "cublasGemmBatchedEx",
};

START_TEST(splitk_without_shim)
{
    const char *e = splitk_entries[_i];
    hr_app a, b;
    gemm(&a, 0, NULL, ARGS(e, "--data", "splitk"));
    ASSERT_C(&a, 1.0);
    ASSERT_KV(&a, "ref0", 1.75);
    /* The program itself forbidding reduced-precision reduction: exact. */
    gemm(&b, 0, NULL, ARGS(e, "--data", "splitk", "--math", "16"));
    ASSERT_C(&b, 1.75);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

START_TEST(splitk_with_shim)
{
    const char *e = splitk_entries[_i];
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(e, "--data", "splitk"));
    ASSERT_C(&a, 1.75);
    const char *rec = the_gemm_call(&a);
    check_call(rec, e, "CUBLAS_COMPUTE_32F", "CUBLAS_COMPUTE_32F", NULL);
    hr_app_free(&a);
}
END_TEST

START_TEST(splitk_excluded)
{
    const char *e = splitk_entries[_i];
    hr_app a, b;
    gemm(&a, 1, ENV("SAFEHALF_UPCAST=gemm"), ARGS(e, "--data", "splitk"));
    ASSERT_C(&a, 1.0);
    gemm(&b, 1, ENV("SAFEHALF_UPCAST=none"), ARGS(e, "--data", "splitk"));
    ASSERT_C(&b, 1.0);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

START_TEST(splitk_only)
{
    hr_app a, b;
    gemm(&a, 1, ENV("SAFEHALF_UPCAST=splitk"), ARGS("cublasGemmEx", "--data", "splitk"));
    ASSERT_C(&a, 1.75);
    /* splitk alone does not rewrite FP16 accumulation */
    gemm(&b, 1, ENV("SAFEHALF_UPCAST=splitk"), ARGS("cublasGemmEx", "--data", "ones"));
    ASSERT_C(&b, 2048);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* The program sets its own math mode (TF32, no DISALLOW flag): the shim ORs
 * the flag into it. */
START_TEST(splitk_program_math_mode)
{
    hr_app a, b;
    gemm(&a, 0, NULL, ARGS("cublasGemmEx", "--data", "splitk", "--math", "3"));
    ASSERT_C(&a, 1.0);
    gemm(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmEx", "--data", "splitk", "--math", "3"));
    ASSERT_C(&b, 1.75);
    const char *rec = hr_log_find_where(&b.log, "call", "api", "cublasSetMathMode");
    ck_assert_msg(rec != NULL, "no cublasSetMathMode call record");
    ASSERT_JNUM(rec, "math_mode", 3);
    ASSERT_JNUM(rec, "math_mode_used", 3 | 16);
    ASSERT_JNUM(rec, "status", 0);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* ---- FAST_16F: FP32 inputs above 65504 ------------------------------------------- */

static const char *const fast_entries[] = {
    "cublasGemmEx", "cublasGemmEx_64", "cublasGemmStridedBatchedEx",
    "cublasGemmBatchedEx_64",
};

START_TEST(fast16f)
{
    const char *e = fast_entries[_i];
    hr_app a, b, c, d;
    gemm(&a, 0, NULL, ARGS(e, "--data", "big"));
    ASSERT_OK(&a);
    ASSERT_KV(&a, "c0", INFINITY);
    ck_assert_msg(hr_kv_num(a.r.out, "inf") ==
                      4.0 * (is_batched(e) ? 3 : 1),
                  "not every element is Inf\n%s", hr_describe(&a.r));
    ASSERT_KV(&a, "ref0", 70000);

    gemm(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(e, "--data", "big"));
    ASSERT_C(&b, 70000);
    ASSERT_KV(&b, "inf", 0);
    const char *rec = the_gemm_call(&b);
    check_call(rec, e, "CUBLAS_COMPUTE_32F_FAST_16F", "CUBLAS_COMPUTE_32F", "upcast");
    ASSERT_STR(rec, "atype", "CUDA_R_32F");
    ASSERT_STR(rec, "ctype", "CUDA_R_32F");

    gemm(&c, 1, ENV("SAFEHALF_UPCAST=gemm,splitk", "SAFEHALF_LOG_LEVEL=trace"),
         ARGS(e, "--data", "big"));
    ASSERT_OK(&c);
    ASSERT_KV(&c, "c0", INFINITY);
    rec = the_gemm_call(&c);
    check_call(rec, e, "CUBLAS_COMPUTE_32F_FAST_16F", "CUBLAS_COMPUTE_32F_FAST_16F",
               "pass");

    gemm(&d, 1, ENV("SAFEHALF_UPCAST=fast16f"), ARGS(e, "--data", "big"));
    ASSERT_C(&d, 70000);
    hr_app_free(&a);
    hr_app_free(&b);
    hr_app_free(&c);
    hr_app_free(&d);
}
END_TEST

/* ---- policy ---------------------------------------------------------------------- */

START_TEST(policy_min_k)
{
    hr_app a, b;
    gemm(&a, 1, ENV("SAFEHALF_MIN_K=8192", "SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmEx"));
    ASSERT_C(&a, 2048);
    check_call(the_gemm_call(&a), "cublasGemmEx", "CUBLAS_COMPUTE_16F",
               "CUBLAS_COMPUTE_16F", "min_k");
    /* k == MIN_K is not below it: upcast */
    gemm(&b, 1, ENV("SAFEHALF_MIN_K=4096", "SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmEx"));
    ASSERT_C(&b, K);
    check_call(the_gemm_call(&b), "cublasGemmEx", "CUBLAS_COMPUTE_16F",
               "CUBLAS_COMPUTE_32F", "upcast");
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

START_TEST(policy_observe)
{
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_MODE=observe", "SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmEx_64"));
    ASSERT_C(&a, 2048);
    check_call(the_gemm_call(&a), "cublasGemmEx_64", "CUBLAS_COMPUTE_16F",
               "CUBLAS_COMPUTE_16F", "observe");
    const char *sum = hr_log_find(&a.log, "summary", 0);
    ck_assert_msg(sum != NULL, "no summary");
    ASSERT_JNUM(sum, "apis.cublasGemmEx_64.calls", 1);
    ASSERT_JNUM(sum, "apis.cublasGemmEx_64.upcasts", 0);
    hr_app_free(&a);
}
END_TEST

/* observe does not touch the math mode either: split-K stays. */
START_TEST(policy_observe_splitk)
{
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_MODE=observe"), ARGS("cublasGemmEx", "--data", "splitk"));
    ASSERT_C(&a, 1.0);
    hr_app_free(&a);
}
END_TEST

START_TEST(policy_off)
{
    hr_app a, b;
    gemm(&a, 1, ENV("SAFEHALF_MODE=off", "SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasHgemm"));
    ASSERT_C(&a, 2048);
    ck_assert_msg(!a.have_log, "SAFEHALF_MODE=off wrote a log");
    ck_assert_msg(hr_count_files(a.dir, NULL, NULL) == 0,
                  "SAFEHALF_MODE=off left files in the cwd");
    /* nor with the default log name */
    hr_app_opts o = {.shim = 1, .emu = 1, .no_log = 1,
                     .env = ENV("SAFEHALF_MODE=off")};
    hr_app_run(&b, &o, "gemm_app", ARGS("cublasGemmEx", "--data", "splitk"));
    ASSERT_C(&b, 1.0);
    ck_assert_msg(hr_count_files(b.dir, NULL, NULL) == 0,
                  "SAFEHALF_MODE=off left files in the cwd");
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

START_TEST(policy_upcast_none)
{
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_UPCAST=none", "SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmStridedBatchedEx"));
    ASSERT_C(&a, 2048);
    check_call(the_gemm_call(&a), "cublasGemmStridedBatchedEx", "CUBLAS_COMPUTE_16F",
               "CUBLAS_COMPUTE_16F", "pass");
    hr_app_free(&a);
}
END_TEST

START_TEST(policy_upcast_lists)
{
    hr_app a, b, c;
    gemm(&a, 1, ENV("SAFEHALF_UPCAST=gemm"), ARGS("cublasHgemmBatched"));
    ASSERT_C(&a, K);
    gemm(&b, 1, ENV("SAFEHALF_UPCAST=fast16f"), ARGS("cublasHgemmBatched"));
    ASSERT_C(&b, 2048);
    gemm(&c, 1, ENV("SAFEHALF_UPCAST=all"), ARGS("cublasGemmEx", "--data", "splitk"));
    ASSERT_C(&c, 1.75);
    hr_app_free(&a);
    hr_app_free(&b);
    hr_app_free(&c);
}
END_TEST

START_TEST(policy_pedantic)
{
    hr_app a, b;
    gemm(&a, 0, NULL, ARGS("cublasGemmEx", "--compute", "16F_PEDANTIC"));
    ASSERT_C(&a, 2048);
    gemm(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmEx", "--compute", "16F_PEDANTIC"));
    ASSERT_C(&b, K);
    check_call(the_gemm_call(&b), "cublasGemmEx", "CUBLAS_COMPUTE_16F_PEDANTIC",
               "CUBLAS_COMPUTE_32F_PEDANTIC", "upcast");
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* cuBLAS runs an Hgemm, or a GemmEx given the legacy CUDA_R_16F, pedantic
 * on a handle in CUBLAS_PEDANTIC_MATH (2): the upcast stays pedantic. The
 * same calls on a default handle take plain COMPUTE_32F. */
START_TEST(policy_pedantic_math)
{
    static const char *const forms[][3] = {
        { "cublasHgemm", "--compute", "16F" },
        { "cublasGemmEx", "--compute", "legacy16f" },
    };
    const char *const *f = forms[_i];
    const char *want_compute = _i == 0 ? "CUBLAS_COMPUTE_16F" : "CUDA_R_16F";
    hr_app a, b, c;
    gemm(&a, 0, NULL, ARGS(f[0], f[1], f[2], "--math", "2"));
    ASSERT_C(&a, 2048);
    gemm(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(f[0], f[1], f[2], "--math", "2"));
    ASSERT_C(&b, K);
    check_call(the_gemm_call(&b), f[0], want_compute, "CUBLAS_COMPUTE_32F_PEDANTIC", "upcast");
    gemm(&c, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS(f[0], f[1], f[2]));
    ASSERT_C(&c, K);
    check_call(the_gemm_call(&c), f[0], want_compute, "CUBLAS_COMPUTE_32F", "upcast");
    hr_app_free(&a);
    hr_app_free(&b);
    hr_app_free(&c);
}
END_TEST

/* A GEMM that is not risky is passed through unchanged. */
START_TEST(policy_pass_32f)
{
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmEx", "--compute", "32F", "--k", "64"));
    ASSERT_C(&a, 64);
    check_call(the_gemm_call(&a), "cublasGemmEx", "CUBLAS_COMPUTE_32F",
               "CUBLAS_COMPUTE_32F", "pass");
    hr_app_free(&a);
}
END_TEST

/* CUBLAS_COMPUTE_16F takes FP16 A, B and C only: with FP32 ones cuBLAS
 * answers CUBLAS_STATUS_NOT_SUPPORTED, and so must the program's call
 * under the shim (COMPUTE_32F, which accepts them, would run it). */
START_TEST(policy_16f_refused_types)
{
    for (int shim = 0; shim <= 1; shim++) {
        hr_app a;
        gemm(&a, shim, ENV("SAFEHALF_LOG_LEVEL=trace"),
             ARGS("cublasGemmEx", "--data", "big", "--compute", "16F"));
        ck_assert_msg(a.r.exit_code == 2, "%s", hr_describe(&a.r));
        ASSERT_KV(&a, "status", 15); /* CUBLAS_STATUS_NOT_SUPPORTED */
        if (shim) {
            const char *rec = the_gemm_call(&a);
            ASSERT_STR(rec, "compute_used", "CUBLAS_COMPUTE_16F");
            ASSERT_STR(rec, "action", "fallback");
            ASSERT_JNUM(rec, "status", 15);
        }
        hr_app_free(&a);
    }
}
END_TEST

/* Re-entrancy: the emulated Hgemm* call the exported GemmEx* inside; with
 * the shim only the outer call is seen, whatever the action. */
static const char *const h_entries[] = {
    "cublasHgemm", "cublasHgemm_64", "cublasHgemmBatched", "cublasHgemmBatched_64",
    "cublasHgemmStridedBatched", "cublasHgemmStridedBatched_64",
};

START_TEST(reentry_min_k)
{
    const char *e = h_entries[_i];
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_MIN_K=8192", "SAFEHALF_LOG_LEVEL=trace"), ARGS(e));
    ASSERT_C(&a, 2048);
    check_call(the_gemm_call(&a), e, "CUBLAS_COMPUTE_16F", "CUBLAS_COMPUTE_16F",
               "min_k");
    hr_app_free(&a);
}
END_TEST

START_TEST(reentry_observe)
{
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_MODE=observe", "SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasHgemm"));
    ASSERT_C(&a, 2048);
    check_call(the_gemm_call(&a), "cublasHgemm", "CUBLAS_COMPUTE_16F",
               "CUBLAS_COMPUTE_16F", "observe");
    hr_app_free(&a);
}
END_TEST

/* ---- apps: math mode, plugin, threads ---------------------------------------------- */

START_TEST(mathmode_visible)
{
    for (int shim = 0; shim <= 1; shim++) {
        hr_app a;
        gemm(&a, shim, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS("mathmode"));
        ASSERT_OK(&a);
        ASSERT_KV(&a, "mode_after_create", 0);
        ASSERT_KV(&a, "set_status", 0);
        ASSERT_KV(&a, "mode_after_set", 3);
        ASSERT_KV(&a, "mode_after_reset", 0);
        if (shim) {
            check_log_wellformed(&a);
            ck_assert_uint_eq(hr_log_count_where(&a.log, "call", "api",
                                                 "cublasSetMathMode"), 2);
            const char *r1 = NULL, *r2 = NULL;
            for (size_t i = 0; i < a.log.n; i++)
                if (hr_json_str_is(a.log.lines[i], "ev", "call") &&
                    hr_json_str_is(a.log.lines[i], "api", "cublasSetMathMode")) {
                    if (!r1)
                        r1 = a.log.lines[i];
                    else if (!r2)
                        r2 = a.log.lines[i];
                }
            ASSERT_STR(r1, "api", "cublasSetMathMode");
            ASSERT_JNUM(r1, "math_mode", 3);
            ASSERT_JNUM(r1, "math_mode_used", 19);
            ASSERT_JNUM(r1, "status", 0);
            ASSERT_STR(r2, "api", "cublasSetMathMode");
            ASSERT_JNUM(r2, "math_mode", 0);
            ASSERT_JNUM(r2, "math_mode_used", 16);
        }
        hr_app_free(&a);
    }
}
END_TEST

/* The program adds CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION itself
 * (PyTorch does around half GEMMs unless reduced-precision reduction is
 * allowed): the shim has nothing to add, and cublasGetMathMode must answer
 * that mode, not the one the program had set before. */
START_TEST(mathmode_program_flag)
{
    for (int shim = 0; shim <= 1; shim++) {
        hr_app a;
        gemm(&a, shim, NULL, ARGS("mathmode-set", "3", "19", "0", "16", "0"));
        ASSERT_OK(&a);
        ASSERT_KV(&a, "mode0", 3);
        ASSERT_KV(&a, "mode1", 19);
        ASSERT_KV(&a, "mode2", 0);
        ASSERT_KV(&a, "mode3", 16);
        ASSERT_KV(&a, "mode4", 0);
        hr_app_free(&a);
    }
}
END_TEST

/* A mode cuBLAS refuses (INVALID_VALUE) leaves the handle's mode as it
 * was, with or without the shim: the refused one is never read back. */
START_TEST(mathmode_refused)
{
    for (int shim = 0; shim <= 1; shim++) {
        hr_app a;
        gemm(&a, shim, NULL, ARGS("mathmode-set", "3", "64", "0", "80"));
        ASSERT_OK(&a);
        ASSERT_KV(&a, "set1_status", 7); /* CUBLAS_STATUS_INVALID_VALUE */
        ASSERT_KV(&a, "mode1", 3);
        ASSERT_KV(&a, "set3_status", 7); /* CUBLAS_STATUS_INVALID_VALUE */
        ASSERT_KV(&a, "mode3", 0);
        hr_app_free(&a);
    }
}
END_TEST

START_TEST(plugin_rtld_local)
{
    hr_app a, b;
    hr_app_opts o0 = {.emu = 1};
    hr_app_run(&a, &o0, "plugin_host", NULL);
    ASSERT_OK(&a);
    ASSERT_KV(&a, "c0", 2048);
    ASSERT_KV(&a, "cmin", 2048);
    ASSERT_KV(&a, "cmax", 2048);
    hr_app_opts o1 = {.emu = 1, .shim = 1, .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&b, &o1, "plugin_host", NULL);
    ASSERT_OK(&b);
    ASSERT_KV(&b, "c0", K);
    ASSERT_KV(&b, "cmin", K);
    ASSERT_KV(&b, "cmax", K);
    ASSERT_KV(&b, "status", 0);
    check_call(the_gemm_call(&b), "cublasGemmEx", "CUBLAS_COMPUTE_16F",
               "CUBLAS_COMPUTE_32F", "upcast");
    const char *start = hr_log_find(&b.log, "start", 0);
    char path[4096];
    ck_assert_msg(hr_json_get(start, "libs.cublas.path", path, sizeof path) == 's',
                  "libs.cublas.path is not a string: %s", start);
    ck_assert_msg(strstr(path, hr_env_path("SH_EMU_DIR")) != NULL,
                  "libs.cublas.path %s is not in the emu dir %s", path,
                  hr_env_path("SH_EMU_DIR"));
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

START_TEST(threads)
{
    hr_app a, b;
    hr_app_opts o0 = {.emu = 1};
    hr_app_run(&a, &o0, "threads_app", NULL);
    ASSERT_OK(&a);
    hr_app_opts o1 = {.emu = 1, .shim = 1, .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&b, &o1, "threads_app", NULL);
    ASSERT_OK(&b);
    for (int t = 0; t < 4; t++) {
        char key[32];
        snprintf(key, sizeof key, "t%d", t);
        ASSERT_KV(&a, key, 2048);
        ASSERT_KV(&b, key, K);
        snprintf(key, sizeof key, "t%d_min", t);
        ASSERT_KV(&b, key, K);
        snprintf(key, sizeof key, "t%d_max", t);
        ASSERT_KV(&b, key, K);
    }
    check_log_wellformed(&b);
    ck_assert_msg(count_gemm_calls(&b) == 4, "%zu GEMM call records, expected 4\n%s",
                  count_gemm_calls(&b), hr_log_dump(&b.log));
    double tids[4];
    int t = 0;
    for (size_t i = 0; i < b.log.n; i++) {
        const char *rec = b.log.lines[i];
        if (!hr_json_str_is(rec, "ev", "call") || !is_gemm_api(rec))
            continue;
        check_call(rec, "cublasGemmEx", "CUBLAS_COMPUTE_16F", "CUBLAS_COMPUTE_32F",
                   "upcast");
        tids[t] = hr_json_num(rec, "tid");
        for (int u = 0; u < t; u++)
            ck_assert_msg(tids[u] != tids[t], "two threads' records share tid %.0f",
                          tids[t]);
        t++;
    }
    const char *sum = hr_log_find(&b.log, "summary", 0);
    ck_assert_msg(sum != NULL, "no summary");
    ASSERT_JNUM(sum, "apis.cublasGemmEx.calls", 4);
    ASSERT_JNUM(sum, "apis.cublasGemmEx.upcasts", 4);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* No real library anywhere (statically linked or never loaded): the shim's
 * entry points say CUBLAS_STATUS_NOT_INITIALIZED (1) and the start record
 * says the library was not found. */
START_TEST(no_real_library)
{
    hr_app a, b;
    hr_app_opts o0 = {.emu = 1};
    hr_app_run(&a, &o0, "nolib_app", NULL);
    ASSERT_OK(&a);
    ASSERT_KV(&a, "found_create", 0);
    hr_app_opts o1 = {.emu = 1, .shim = 1, .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&b, &o1, "nolib_app", NULL);
    ASSERT_OK(&b);
    ASSERT_KV(&b, "found_create", 1);
    ASSERT_KV(&b, "cublasCreate_v2", 1);
    ASSERT_KV(&b, "cublasGemmEx", 1);
    check_log_wellformed(&b);
    const char *s = hr_log_find(&b.log, "start", 0);
    ck_assert_msg(hr_json_get(s, "libs.cublas.path", NULL, 0) == 'z',
                  "libs.cublas.path is not null: %s", s);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* A program that opens cuBLAS itself and looks it up with dlsym on that
 * handle (JAX/XLA, TensorFlow) is out of a preload's reach; with
 * libsafehalf-audit.so in LD_AUDIT its lookups of the shim's entry points,
 * in all three libraries, get the shim's wrappers, and nothing else. */
#define DLSYM_PROBES                                                                 \
    "--probe", "libcublasLt.so.13", "cublasLtMatmul", "--probe", "libcublasLt.so.13",  \
        "cublasLtMatrixLayoutCreate", "--probe", "libcudnn.so.9", "cudnnBackendExecute", \
        "--probe", "libcudnn.so.9", "cudnnBatchNormalizationForwardTrainingEx",        \
        "--probe", "libcublas.so.13", "cublasGetVersion_v2", "--probe",                \
        "libcudart.so.13", "cudaMalloc"
static const char *const dlsym_followed[] = {"cublasLtMatmul", "cublasLtMatrixLayoutCreate",
                                             "cudnnBackendExecute",
                                             "cudnnBatchNormalizationForwardTrainingEx"};
static const char *const dlsym_left[] = {"cublasGetVersion_v2", "cudaMalloc"};

static void assert_in_safehalf(const hr_app *a, int followed)
{
    char key[128];
    for (size_t i = 0; i < sizeof dlsym_followed / sizeof *dlsym_followed; i++) {
        snprintf(key, sizeof key, "found_%s", dlsym_followed[i]);
        ASSERT_KV(a, key, 1);
        snprintf(key, sizeof key, "in_safehalf_%s", dlsym_followed[i]);
        ASSERT_KV(a, key, followed);
    }
    for (size_t i = 0; i < sizeof dlsym_left / sizeof *dlsym_left; i++) {
        snprintf(key, sizeof key, "found_%s", dlsym_left[i]);
        ASSERT_KV(a, key, 1);
        snprintf(key, sizeof key, "in_safehalf_%s", dlsym_left[i]);
        ASSERT_KV(a, key, 0);
    }
    ASSERT_KV(a, "gemm_in_safehalf", followed);
}

START_TEST(dlsym_lookups_followed)
{
    hr_app a, b, c;
    hr_app_opts o0 = {.emu = 1};
    hr_app_run(&a, &o0, "dlsym_app", ARGS(DLSYM_PROBES));
    ASSERT_OK(&a);
    assert_in_safehalf(&a, 0);
    ASSERT_KV(&a, "c0", 2048);

    /* preloaded alone, the shim never sees the call: no call, no log */
    hr_app_opts o1 = {.emu = 1, .shim = 1, .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&b, &o1, "dlsym_app", ARGS(DLSYM_PROBES));
    ASSERT_OK(&b);
    assert_in_safehalf(&b, 0);
    ASSERT_KV(&b, "c0", 2048);
    ck_assert_msg(!b.have_log, "a log without a call:\n%s", hr_log_dump(&b.log));

    hr_app_opts o2 = {.emu = 1, .shim = 1, .audit = 1,
                      .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&c, &o2, "dlsym_app", ARGS(DLSYM_PROBES));
    ASSERT_OK(&c);
    assert_in_safehalf(&c, 1);
    ASSERT_KV(&c, "c0", K);
    ASSERT_KV(&c, "cmin", K);
    ASSERT_KV(&c, "cmax", K);
    ck_assert_msg(strstr(c.r.err, "safehalf") == NULL, "stderr: %s", c.r.err);
    check_call(the_gemm_call(&c), "cublasGemmEx", "CUBLAS_COMPUTE_16F", "CUBLAS_COMPUTE_32F",
               "upcast");
    const char *start = hr_log_find(&c.log, "start", 0);
    ASSERT_JTYPE(start, "follow_dlsym", 'b');
    ck_assert_msg(strstr(start, "\"follow_dlsym\":true"), "%s", start);
    const char *site = hr_log_find_where(&c.log, "site", "api", "cublasGemmEx");
    char object[4096];
    ck_assert_msg(site && hr_json_get(site, "caller.object", object, sizeof object) == 's' &&
                      strstr(object, "dlsym_app") != NULL,
                  "the call site is not in dlsym_app: %s", site ? site : hr_log_dump(&c.log));
    hr_app_free(&a);
    hr_app_free(&b);
    hr_app_free(&c);
}
END_TEST

/* The audit module without the shim: one line on stderr, every lookup
 * left as it is. SAFEHALF_MODE=off under both: the real library's answer. */
START_TEST(dlsym_audit_alone_or_off)
{
    hr_app a, b;
    hr_app_opts o0 = {.emu = 1, .audit = 1};
    hr_app_run(&a, &o0, "dlsym_app", ARGS(DLSYM_PROBES));
    ASSERT_OK(&a);
    assert_in_safehalf(&a, 0);
    ASSERT_KV(&a, "c0", 2048);
    ck_assert_msg(hr_count_lines_containing(a.r.err, "safehalf-audit: libsafehalf.so is not "
                                                     "preloaded") == 1 &&
                      hr_count_lines(a.r.err, NULL) == 1,
                  "expected one warning line, stderr:\n%s", a.r.err);

    hr_app_opts o1 = {.emu = 1, .shim = 1, .audit = 1, .env = ENV("SAFEHALF_MODE=off")};
    hr_app_run(&b, &o1, "dlsym_app", ARGS(DLSYM_PROBES));
    ASSERT_OK(&b);
    assert_in_safehalf(&b, 1);
    ASSERT_KV(&b, "c0", 2048);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* A program linked against cuBLAS the usual way: the audit module changes
 * nothing (one call record per call, not two), and the start record says
 * whether it was there. */
START_TEST(audit_linked_program)
{
    for (int audit = 0; audit <= 1; audit++) {
        hr_app a;
        hr_app_opts o = {.emu = 1, .shim = 1, .audit = audit,
                         .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
        hr_app_run(&a, &o, "gemm_app", ARGS("cublasGemmEx", "--data", "ones"));
        ASSERT_C(&a, K);
        check_call(the_gemm_call(&a), "cublasGemmEx", "CUBLAS_COMPUTE_16F",
                   "CUBLAS_COMPUTE_32F", "upcast");
        const char *start = hr_log_find(&a.log, "start", 0);
        ck_assert_msg(strstr(start, audit ? "\"follow_dlsym\":true" : "\"follow_dlsym\":false"),
                      "%s", start);
        ck_assert_msg(a.r.err[0] == '\0', "stderr: %s", a.r.err);
        hr_app_free(&a);
    }
}
END_TEST

/* ---- log ------------------------------------------------------------------------ */

START_TEST(log_no_cublas_no_file)
{
    hr_app a, b, c;
    hr_app_opts o = {.emu = 1, .shim = 1};
    hr_app_run(&a, &o, "/bin/true", NULL);
    ck_assert_msg(a.r.exit_code == 0, "%s", hr_describe(&a.r));
    ck_assert_msg(hr_count_files(a.dir, NULL, NULL) == 0, "/bin/true wrote a file");

    /* links libcublas, uses cudart only */
    gemm(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"), ARGS("cudaonly"));
    ASSERT_OK(&b);
    ASSERT_KV(&b, "roundtrip", 1);
    ck_assert_msg(hr_count_files(b.dir, NULL, NULL) == 0,
                  "a program that never calls cuBLAS got a log file");

    /* same with the default log name in the cwd */
    hr_app_opts o2 = {.emu = 1, .shim = 1, .no_log = 1};
    hr_app_run(&c, &o2, "gemm_app", ARGS("cudaonly"));
    ASSERT_OK(&c);
    ck_assert_msg(hr_count_files(c.dir, NULL, NULL) == 0,
                  "a program that never calls cuBLAS got a log file");
    hr_app_free(&a);
    hr_app_free(&b);
    hr_app_free(&c);
}
END_TEST

START_TEST(log_start_record)
{
    hr_app a;
    gemm(&a, 1, NULL, ARGS("cublasGemmEx", "--k", "4096"));
    ASSERT_C(&a, K);
    check_log_wellformed(&a);
    const char *s = hr_log_find(&a.log, "start", 0);
    char buf[4096];
    ASSERT_STR(s, "version", "0.1.0");
    ck_assert_int_eq(hr_json_get(s, "argv", buf, sizeof buf), 'a');
    ck_assert_msg(strstr(buf, "gemm_app\"") && strstr(buf, "\"cublasGemmEx\"") &&
                      strstr(buf, "\"--k\",\"4096\"]"),
                  "argv: %s", buf);
    ASSERT_STR(s, "policy.mode", "upcast");
    ck_assert_int_eq(hr_json_get(s, "policy.upcast", buf, sizeof buf), 'a');
    ck_assert_msg(strstr(buf, "\"gemm\"") && strstr(buf, "\"splitk\"") &&
                      strstr(buf, "\"fast16f\""),
                  "policy.upcast: %s", buf);
    ASSERT_JNUM(s, "policy.min_k", 0);
    ASSERT_STR(s, "policy.log_level", "info");
    ASSERT_STR(s, "policy.log", a.log_path);
    ck_assert_int_eq(hr_json_get(s, "libs.cublas.path", buf, sizeof buf), 's');
    ck_assert_msg(strstr(buf, hr_env_path("SH_EMU_DIR")) && strstr(buf, "libcublas.so.13"),
                  "libs.cublas.path %s is not the emulated libcublas.so.13", buf);
    ck_assert_msg(hr_json_get(s, "libs.cublas.version", NULL, 0) == 'n',
                  "libs.cublas.version is not a number: %s", s);
    /* info level: no per-call records */
    ck_assert_uint_eq(hr_log_count(&a.log, "call"), 0);
    hr_app_free(&a);
}
END_TEST

START_TEST(log_policy_reported)
{
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_MODE=observe", "SAFEHALF_UPCAST=gemm,fast16f",
                    "SAFEHALF_MIN_K=128", "SAFEHALF_LOG_LEVEL=debug"),
         ARGS("cublasGemmEx"));
    ASSERT_C(&a, 2048);
    check_log_wellformed(&a);
    const char *s = hr_log_find(&a.log, "start", 0);
    char buf[512];
    ASSERT_STR(s, "policy.mode", "observe");
    ck_assert_int_eq(hr_json_get(s, "policy.upcast", buf, sizeof buf), 'a');
    ck_assert_msg(strstr(buf, "\"gemm\"") && !strstr(buf, "\"splitk\"") &&
                      strstr(buf, "\"fast16f\""),
                  "policy.upcast: %s", buf);
    ASSERT_JNUM(s, "policy.min_k", 128);
    ASSERT_STR(s, "policy.log_level", "debug");
    hr_app_free(&a);
}
END_TEST

START_TEST(log_summary_counts)
{
    hr_app a;
    gemm(&a, 1, NULL, ARGS("cublasHgemmStridedBatched_64"));
    ASSERT_C(&a, K);
    check_log_wellformed(&a);
    ck_assert_uint_eq(hr_log_count(&a.log, "summary"), 1);
    const char *last = a.log.lines[a.log.n - 1];
    ck_assert_msg(hr_json_str_is(last, "ev", "summary"),
                  "last record is not the summary: %s", last);
    ASSERT_JNUM(last, "apis.cublasHgemmStridedBatched_64.calls", 1);
    ASSERT_JNUM(last, "apis.cublasHgemmStridedBatched_64.upcasts", 1);
    ck_assert_msg(hr_json_get(last, "apis.cublasGemmStridedBatchedEx_64", NULL, 0) == 0,
                  "summary counts the nested call: %s", last);
    ck_assert_msg(hr_json_get(last, "apis.cublasGemmEx", NULL, 0) == 0,
                  "summary lists an API that was not called: %s", last);
    hr_app_free(&a);
}
END_TEST

START_TEST(log_pid_pattern)
{
    hr_app a;
    char *dir = hr_mkdtemp("pid");
    char env_log[4096];
    snprintf(env_log, sizeof env_log, "SAFEHALF_LOG=%s/sh-%%p.jsonl", dir);
    gemm(&a, 1, ENV(env_log), ARGS("cublasGemmEx"));
    ASSERT_C(&a, K);
    char name[64];
    snprintf(name, sizeof name, "sh-%d.jsonl", (int)a.r.pid);
    char *want = hr_path(dir, name);
    char *first = NULL;
    int n = hr_count_files(dir, NULL, &first);
    ck_assert_msg(n == 1 && hr_exists(want), "expected only %s, found %d file(s), e.g. %s",
                  want, n, first ? first : "-");
    hr_log log;
    ck_assert_int_eq(hr_log_load(want, &log), 0);
    ck_assert_msg(log.n > 0 && hr_json_num(log.lines[0], "pid") == (double)a.r.pid,
                  "pid in the %%p log");
    ASSERT_STR(log.lines[0], "policy.log", want);
    hr_log_free(&log);
    unlink(want);
    rmdir(dir);
    free(first);
    free(want);
    free(dir);
    hr_app_free(&a);
}
END_TEST

/* A forked child that calls cuBLAS writes its own log (%p), with its own
 * start record and counts; the parent's log holds only the parent's calls. */
START_TEST(log_fork_child)
{
    hr_app a;
    char *dir = hr_mkdtemp("fork");
    char env_log[4096];
    snprintf(env_log, sizeof env_log, "SAFEHALF_LOG=%s/sh-%%p.jsonl", dir);
    hr_app_opts o = {.shim = 1, .emu = 1, .no_log = 1,
                     .env = ENV(env_log, "SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&a, &o, "fork_app", NULL);
    ck_assert_msg(a.r.exit_code == 0, "%s", hr_describe(&a.r));
    ck_assert_double_eq(hr_kv_num(a.r.out, "parent_c0"), 4096);
    ck_assert_double_eq(hr_kv_num(a.r.out, "child_c0"), 4096);
    ck_assert_double_eq(hr_kv_num(a.r.out, "child_status"), 0);
    int child = (int)hr_kv_num(a.r.out, "child_pid");
    ck_assert_int_eq(hr_count_files(dir, "sh-", NULL), 2);
    const int pids[2] = { (int)a.r.pid, child };
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "sh-%d.jsonl", pids[i]);
        char *path = hr_path(dir, name);
        hr_log log;
        ck_assert_msg(hr_log_load(path, &log) == 0, "no log %s", path);
        const char *start = hr_log_find(&log, "start", 0);
        ck_assert_ptr_nonnull(start);
        ck_assert_double_eq(hr_json_num(start, "pid"), pids[i]);
        ck_assert_int_eq(hr_log_count(&log, "start"), 1);
        ck_assert_int_eq(hr_log_count_where(&log, "call", "api", "cublasGemmEx"), 1);
        const char *call = hr_log_find_where(&log, "call", "api", "cublasGemmEx");
        ck_assert_double_eq(hr_json_num(call, "pid"), pids[i]);
        ck_assert_double_eq(hr_json_num(call, "tid"), pids[i]);
        const char *sum = hr_log_find(&log, "summary", 0);
        ck_assert_msg(sum != NULL, "no summary in %s", hr_log_dump(&log));
        ck_assert_double_eq(hr_json_num(sum, "apis.cublasGemmEx.calls"), 1);
        ck_assert_double_eq(hr_json_num(sum, "apis.cublasCreate_v2.calls"), 1);
        /* The child's checks are its own: counted from zero, with the slots
         * and poller it made itself (the parent's are not usable there). */
        ck_assert_double_eq(hr_json_num(sum, "apis.cublasGemmEx.checked"), 1);
        ck_assert_double_eq(hr_json_num(sum, "checks.checked"), 1);
        ck_assert_double_eq(hr_json_num(sum, "checks.lost_at_exit"), 0);
        hr_log_free(&log);
        unlink(path);
        free(path);
    }
    rmdir(dir);
    free(dir);
    hr_app_free(&a);
}
END_TEST
/* A fork while another thread is opening the log (its first cuBLAS call):
 * the child, whose first call opens a log of its own, must not wait for a
 * lock the parent's thread held at the fork. */
START_TEST(log_fork_while_opening)
{
    hr_app a;
    char *dir = hr_mkdtemp("forkopen");
    char *fifo = hr_path(dir, "log.fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    char env_log[4096];
    snprintf(env_log, sizeof env_log, "SAFEHALF_LOG=%s", fifo);
    hr_app_opts o = {.shim = 1, .emu = 1, .no_log = 1, .env = ENV(env_log)};
    hr_app_run(&a, &o, "fork_app", ARGS("--fork-during-first-call", fifo));
    ck_assert_msg(a.r.exit_code == 0, "%s", hr_describe(&a.r));
    ck_assert_double_eq(hr_kv_num(a.r.out, "worker_blocked"), 1);
    ck_assert_msg(hr_kv_num(a.r.out, "child_status") == 0, "%s", hr_describe(&a.r));
    ck_assert_double_eq(hr_kv_num(a.r.out, "child_c0"), 4096);
    ck_assert_double_eq(hr_kv_num(a.r.out, "parent_c0"), 4096);
    unlink(fifo);
    rmdir(dir);
    free(fifo);
    free(dir);
    hr_app_free(&a);
}
END_TEST
/* Forks while another thread is inside the shim's cuBLASLt algorithm cache,
 * its cuDNN graph records and its scalar scratch (each behind a lock): a
 * child, which has only the forking thread, must not wait for a lock that
 * thread held. Before each was made anew in the child, one of the first
 * few dozen children hung. */
START_TEST(fork_while_busy)
{
    hr_app a;
    hr_app_opts o = {.shim = 1, .emu = 1};
    hr_app_run(&a, &o, "fork_busy_app", ARGS("--forks", "200"));
    ck_assert_msg(a.r.exit_code == 0, "%s", hr_describe(&a.r));
    ck_assert_double_eq(hr_kv_num(a.r.out, "children_hung"), 0);
    ck_assert_double_eq(hr_kv_num(a.r.out, "children_failed"), 0);
    ck_assert_double_eq(hr_kv_num(a.r.out, "children_ok"), 200);
    /* The thread was busy in the shim through the forks. */
    ck_assert_msg(hr_kv_num(a.r.out, "busy_calls") >= 20, "%s", hr_describe(&a.r));
    ck_assert_double_eq(hr_kv_num(a.r.out, "d0"), 64);
    ck_assert_double_eq(hr_kv_num(a.r.out, "y0"), 3);
    /* Every child's matmul was rewritten, as the parent's were. */
    ck_assert_int_eq(hr_log_count(&a.log, "start"), 201);
    hr_app_free(&a);
}
END_TEST
/* The start record holds the whole command line (what /proc/self/cmdline
 * gives, 4 KiB) however much of it needs escaping. */
START_TEST(log_start_with_escaped_argv)
{
    hr_app a;
    static char quotes[1400];
    memset(quotes, '"', sizeof quotes - 1);
    hr_app_opts o = {.shim = 1, .emu = 1};
    hr_app_run(&a, &o, "status_app", ARGS(quotes, quotes, quotes));
    ck_assert_msg(a.r.exit_code == 0, "%s", hr_describe(&a.r));
    ck_assert_int_eq(hr_log_count(&a.log, "error"), 0);
    const char *start = hr_log_find(&a.log, "start", 0);
    ck_assert_msg(start != NULL, "%s", hr_log_dump(&a.log));
    ck_assert_ptr_nonnull(strstr(start, "\\\"\\\"\\\""));
    hr_app_free(&a);
}
END_TEST
START_TEST(log_default_name)
{
    hr_app a;
    hr_app_opts o = {.emu = 1, .shim = 1, .no_log = 1};
    hr_app_run(&a, &o, "gemm_app", ARGS("cublasGemmEx"));
    ASSERT_C(&a, K);
    char name[64];
    snprintf(name, sizeof name, "safehalf-%d.jsonl", (int)a.r.pid);
    char *want = hr_path(a.dir, name);
    ck_assert_msg(hr_exists(want), "default log %s not created", want);
    ck_assert_int_eq(hr_count_files(a.dir, NULL, NULL), 1);
    free(want);
    hr_app_free(&a);
}
END_TEST

START_TEST(log_to_stderr)
{
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_LOG=stderr", "SAFEHALF_LOG_LEVEL=trace"),
         ARGS("cublasGemmEx"));
    ASSERT_C(&a, K);
    ck_assert_msg(hr_count_files(a.dir, NULL, NULL) == 0,
                  "SAFEHALF_LOG=stderr created a file");
    hr_log log;
    hr_log_from_text(a.r.err, &log);
    ck_assert_msg(hr_log_count(&log, "start") == 1, "no start record on stderr\n%s",
                  hr_describe(&a.r));
    ck_assert_msg(hr_log_count_where(&log, "call", "api", "cublasGemmEx") == 1,
                  "no call record on stderr\n%s", hr_describe(&a.r));
    for (size_t i = 0; i < log.n; i++)
        ck_assert_msg(hr_json_is_object(log.lines[i], strlen(log.lines[i])),
                      "bad JSON on stderr: %s", log.lines[i]);
    hr_log_free(&log);
    hr_app_free(&a);
}
END_TEST

START_TEST(log_unwritable)
{
    /* Never break the host program: an unwritable log degrades (to pass-
     * through or to upcasting without a log) with one clear warning. */
    hr_app a;
    gemm(&a, 1, ENV("SAFEHALF_LOG=/nonexistent-dir/x/log.jsonl"), ARGS("cublasGemmEx"));
    ASSERT_OK(&a);
    double c0 = hr_kv_num(a.r.out, "c0");
    ck_assert_msg(c0 == 2048 || c0 == K, "c0=%g\n%s", c0, hr_describe(&a.r));
    ASSERT_KV(&a, "cmin", c0);
    ASSERT_KV(&a, "cmax", c0);
    ck_assert_msg(hr_count_lines(a.r.err, "safehalf: ") == 1,
                  "expected one 'safehalf: ' warning on stderr\n%s", hr_describe(&a.r));
    hr_app_free(&a);
}
END_TEST

/* ---- env: bad values, config file -------------------------------------------------- */

/* stderr lines, not counting the loader's notes about the unversioned
 * emulated libraries. */
static int count_stderr_lines(const char *err)
{
    return hr_count_lines(err, NULL) - hr_count_lines_containing(err,
               "no version information available");
}

struct bad_value {
    const char *assignment;
    const char *var, *value;
    const char *accepted[5];
};

static const struct bad_value bad_values[] = {
    {"SAFEHALF_MODE=bogus", "SAFEHALF_MODE", "bogus", {"upcast", "observe", "off"}},
    {"SAFEHALF_MIN_K=abc", "SAFEHALF_MIN_K", "abc", {NULL}},
    {"SAFEHALF_UPCAST=gemm,foo", "SAFEHALF_UPCAST", "foo", {"gemm", "splitk", "fast16f"}},
    {"SAFEHALF_LOG_LEVEL=loud", "SAFEHALF_LOG_LEVEL", "loud",
     {"error", "warn", "info", "debug", "trace"}},
};

START_TEST(env_bad_value)
{
    const struct bad_value *bv = &bad_values[_i];
    hr_app a;
    gemm(&a, 1, ENV(bv->assignment), ARGS("cublasGemmEx"));
    ASSERT_C(&a, K);
    ck_assert_msg(hr_count_lines(a.r.err, "safehalf: ") == 1,
                  "%s: expected exactly one 'safehalf: ' stderr line\n%s",
                  bv->assignment, hr_describe(&a.r));
    const char *line = strstr(a.r.err, "safehalf: ");
    const char *eol = strchr(line, '\n');
    char msg[1024];
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len >= sizeof msg)
        len = sizeof msg - 1;
    memcpy(msg, line, len);
    msg[len] = '\0';
    ck_assert_msg(strstr(msg, bv->var) && strstr(msg, bv->value),
                  "the message does not name %s and '%s': %s", bv->var, bv->value, msg);
    for (int i = 0; i < 5 && bv->accepted[i]; i++)
        ck_assert_msg(strstr(msg, bv->accepted[i]),
                      "the message does not list accepted value '%s': %s",
                      bv->accepted[i], msg);
    /* and nothing else on stderr (the dynamic loader's "no version
     * information available" notes about the emulated libraries aside: the
     * apps are linked against NVIDIA's versioned sonames) */
    ck_assert_msg(count_stderr_lines(a.r.err) == 1, "more stderr output:\n%s",
                  a.r.err);
    hr_app_free(&a);
}
END_TEST

START_TEST(env_config_file)
{
    hr_app a, b, c;
    char *dir = hr_mkdtemp("cfg");
    char *cfg = hr_path(dir, "safehalf.conf");
    ck_assert_int_eq(hr_write_file(cfg, "SAFEHALF_MODE=observe\n"), 0);
    char env_cfg[4096];
    snprintf(env_cfg, sizeof env_cfg, "SAFEHALF_CONFIG=%s", cfg);

    gemm(&a, 1, ENV(env_cfg), ARGS("cublasGemmEx"));
    ASSERT_C(&a, 2048);
    gemm(&b, 1, ENV(env_cfg, "SAFEHALF_MODE=upcast"), ARGS("cublasGemmEx"));
    ASSERT_C(&b, K);

    ck_assert_int_eq(hr_write_file(cfg, "SAFEHALF_MIN_K=8192\nSAFEHALF_LOG_LEVEL=trace\n"), 0);
    gemm(&c, 1, ENV(env_cfg), ARGS("cublasHgemm"));
    ASSERT_C(&c, 2048);
    check_call(the_gemm_call(&c), "cublasHgemm", "CUBLAS_COMPUTE_16F", NULL, "min_k");

    unlink(cfg);
    rmdir(dir);
    free(cfg);
    free(dir);
    hr_app_free(&a);
    hr_app_free(&b);
    hr_app_free(&c);
}
END_TEST

/* ---- suites ---------------------------------------------------------------------------- */

static TCase *tc(const char *name)
{
    TCase *t = tcase_create(name);
    tcase_set_timeout(t, 110);
    return t;
}

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *suite_entries(void)
{
    Suite *s = suite_create("entries");
    TCase *t = tc("ones");
    tcase_add_loop_test(t, entry_ones_without_shim, 0, N_ENTRIES);
    tcase_add_loop_test(t, entry_ones_with_shim, 0, N_ENTRIES);
    suite_add_tcase(s, t);
    t = tc("random");
    tcase_add_loop_test(t, entry_random_error, 0, N_ENTRIES);
    suite_add_tcase(s, t);
    t = tc("sgemmex");
    tcase_add_loop_test(t, sgemm_ex_ones, 0, 2 * NELEM(sgemm_entries));
    tcase_add_loop_test(t, sgemm_ex_splitk, 0, NELEM(sgemm_entries));
    suite_add_tcase(s, t);
    return s;
}

static Suite *suite_scalars(void)
{
    Suite *s = suite_create("scalars");
    TCase *t = tc("device");
    tcase_add_loop_test(t, device_scalars, 0, NELEM(dev_entries));
    tcase_add_test(t, device_scalars_32f);
    tcase_add_loop_test(t, sgemm_ex_device_scalars, 0, NELEM(sgemm_entries));
    suite_add_tcase(s, t);
    return s;
}

static Suite *suite_splitk(void)
{
    Suite *s = suite_create("splitk");
    TCase *t = tc("splitk");
    tcase_add_loop_test(t, splitk_without_shim, 0, NELEM(splitk_entries));
    tcase_add_loop_test(t, splitk_with_shim, 0, NELEM(splitk_entries));
    tcase_add_loop_test(t, splitk_excluded, 0, NELEM(splitk_entries));
    tcase_add_test(t, splitk_only);
    tcase_add_test(t, splitk_program_math_mode);
    suite_add_tcase(s, t);
    return s;
}

static Suite *suite_fast16f(void)
{
    Suite *s = suite_create("fast16f");
    TCase *t = tc("fast16f");
    tcase_add_loop_test(t, fast16f, 0, NELEM(fast_entries));
    suite_add_tcase(s, t);
    return s;
}

static Suite *suite_policy(void)
{
    Suite *s = suite_create("policy");
    TCase *t = tc("policy");
    tcase_add_test(t, policy_min_k);
    tcase_add_test(t, policy_observe);
    tcase_add_test(t, policy_observe_splitk);
    tcase_add_test(t, policy_off);
    tcase_add_test(t, policy_upcast_none);
    tcase_add_test(t, policy_upcast_lists);
    tcase_add_test(t, policy_pedantic);
    tcase_add_loop_test(t, policy_pedantic_math, 0, 2);
    tcase_add_test(t, policy_pass_32f);
    tcase_add_test(t, policy_16f_refused_types);
    suite_add_tcase(s, t);
    t = tc("reentry");
    tcase_add_loop_test(t, reentry_min_k, 0, NELEM(h_entries));
    tcase_add_test(t, reentry_observe);
    suite_add_tcase(s, t);
    return s;
}

static Suite *suite_apps(void)
{
    Suite *s = suite_create("apps");
    TCase *t = tc("apps");
    tcase_add_test(t, mathmode_visible);
    tcase_add_test(t, mathmode_program_flag);
    tcase_add_test(t, mathmode_refused);
    tcase_add_test(t, plugin_rtld_local);
    tcase_add_test(t, threads);
    tcase_add_test(t, no_real_library);
    tcase_add_test(t, dlsym_lookups_followed);
    tcase_add_test(t, dlsym_audit_alone_or_off);
    tcase_add_test(t, audit_linked_program);
    suite_add_tcase(s, t);
    return s;
}

static Suite *suite_log(void)
{
    Suite *s = suite_create("log");
    TCase *t = tc("log");
    tcase_add_test(t, log_no_cublas_no_file);
    tcase_add_test(t, log_start_record);
    tcase_add_test(t, log_policy_reported);
    tcase_add_test(t, log_summary_counts);
    tcase_add_test(t, log_pid_pattern);
    tcase_add_test(t, log_fork_child);
    tcase_add_test(t, log_fork_while_opening);
    tcase_add_test(t, fork_while_busy);
    tcase_add_test(t, log_start_with_escaped_argv);
    tcase_add_test(t, log_default_name);
    tcase_add_test(t, log_to_stderr);
    tcase_add_test(t, log_unwritable);
    suite_add_tcase(s, t);
    return s;
}

static Suite *suite_env(void)
{
    Suite *s = suite_create("env");
    TCase *t = tc("env");
    tcase_add_loop_test(t, env_bad_value, 0, NELEM(bad_values));
    tcase_add_test(t, env_config_file);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    /* Fail early and clearly outside meson. */
    hr_env_path("SH_LIB");
    hr_env_path("SH_EMU_DIR");
    hr_env_path("SH_APPS_DIR");

    SRunner *sr = srunner_create(suite_entries());
    srunner_add_suite(sr, suite_scalars());
    srunner_add_suite(sr, suite_splitk());
    srunner_add_suite(sr, suite_fast16f());
    srunner_add_suite(sr, suite_policy());
    srunner_add_suite(sr, suite_apps());
    srunner_add_suite(sr, suite_log());
    srunner_add_suite(sr, suite_env());
    return hr_run_suites(sr);
}
