/* The same interposition against the REAL NVIDIA libraries (libcublas.so.13
 * and libcudart.so.13 from the ldconfig cache; no LD_LIBRARY_PATH). There is
 * no GPU, so every call fails with the library's own error: the shim must
 * intercept, resolve the real library (also when it came in RTLD_LOCAL), log,
 * and hand the real status back unchanged. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

static const char *const symbols[] = {
    "cublasCreate_v2",
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
    "cublasSetMathMode",
    "cublasGetMathMode",
    "cublasDotEx",
    "cublasDotEx_64",
    "cublasNrm2Ex",
    "cublasNrm2Ex_64",
    "cublasAxpyEx",
    "cublasAxpyEx_64",
    "cublasGemmGroupedBatchedEx",
    "cublasGemmGroupedBatchedEx_64",
    "cublasSgemmEx",
    "cublasSgemmEx_64",
};
#define N_SYMBOLS ((int)(sizeof symbols / sizeof symbols[0]))
#define FIRST_REDUCTION 15 /* symbols[15..20] */
#define END_REDUCTION 21

static void run(hr_app *a, int shim, const char *app, const char *const args[])
{
    hr_app_opts o = {.shim = shim, .emu = 0, .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(a, &o, app, args);
}

/* The start record names the real libcublas.so.13 and its version. */
static void check_real_library(const hr_app *a)
{
    ck_assert_msg(a->have_log, "no log with the shim\n%s", hr_describe(&a->r));
    for (size_t i = 0; i < a->log.n; i++)
        ck_assert_msg(hr_json_is_object(a->log.lines[i], strlen(a->log.lines[i])),
                      "log line %zu is not a JSON object: %s", i + 1,
                      a->log.lines[i]);
    const char *s = hr_log_find(&a->log, "start", 0);
    ck_assert_msg(s != NULL, "no start record:\n%s", hr_log_dump(&a->log));
    char path[4096];
    ck_assert_msg(hr_json_get(s, "libs.cublas.path", path, sizeof path) == 's',
                  "libs.cublas.path is not a string (real library not resolved): %s", s);
    ck_assert_msg(strstr(path, "libcublas.so.13") != NULL,
                  "libs.cublas.path %s is not libcublas.so.13", path);
    const char *emu = getenv("SH_EMU_DIR");
    ck_assert_msg(!emu || !*emu || strstr(path, emu) == NULL,
                  "libs.cublas.path %s is the emulated library", path);
    ck_assert_msg(hr_exists(path), "libs.cublas.path %s does not exist", path);
    ck_assert_msg(hr_json_get(s, "libs.cublas.version", NULL, 0) == 'n',
                  "libs.cublas.version is not a number: %s", s);
    ck_assert_msg(hr_json_num(s, "libs.cublas.version") >= 130000,
                  "libs.cublas.version is not a cuBLAS 13 version: %s", s);
}

/* Every intercepted entry point returns the real library's own status. */
START_TEST(status_passthrough)
{
    hr_app a, b, c;
    run(&a, 0, "status_app", NULL);
    run(&b, 1, "status_app", NULL);
    /* with the audit module too (LD_AUDIT): the same statuses, each call
     * seen once (cuBLAS's own lookups stay its own) */
    hr_app_opts o = {.shim = 1, .audit = 1, .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&c, &o, "status_app", NULL);
    assert_audit_changes_nothing(&a, &b, &c);
    hr_app_free(&c);
    ck_assert_msg(a.r.exit_code == 0, "%s", hr_describe(&a.r));
    ck_assert_msg(b.r.exit_code == 0, "%s", hr_describe(&b.r));
    for (int i = 0; i < N_SYMBOLS; i++) {
        char va[64], vb[64];
        ck_assert_msg(hr_kv(a.r.out, symbols[i], va, sizeof va) != NULL,
                      "no %s line without the shim\n%s", symbols[i], hr_describe(&a.r));
        ck_assert_msg(hr_kv(b.r.out, symbols[i], vb, sizeof vb) != NULL,
                      "no %s line with the shim\n%s", symbols[i], hr_describe(&b.r));
        ck_assert_msg(strcmp(va, vb) == 0, "%s: %s without the shim, %s with it",
                      symbols[i], va, vb);
    }
    /* and the whole output is identical (math_mode, handle_null, ...) */
    ck_assert_msg(strcmp(a.r.out, b.r.out) == 0,
                  "outputs differ\n--- without ---\n%s\n--- with ---\n%s", a.r.out,
                  b.r.out);
    /* no GPU: the real library reports an error, not success */
    ck_assert_msg(hr_kv_num(a.r.out, "cublasCreate_v2") != 0,
                  "cublasCreate_v2 succeeded: is there a GPU? (test assumes none)");

    check_real_library(&b);
    /* each GEMM and reduction was seen (trace) and its record carries the
     * status returned */
    for (int i = 1; i < N_SYMBOLS; i++) {
        if (i == 13 || i == 14) /* the math mode calls */
            continue;
        const char *rec = hr_log_find_where(&b.log, "call", "api", symbols[i]);
        ck_assert_msg(rec != NULL, "no call record for %s\n%s", symbols[i],
                      hr_log_dump(&b.log));
        /* status_app makes the 32-bit grouped call twice (the second with
         * a NULL m array, which the shim must not read) */
        size_t calls = strcmp(symbols[i], "cublasGemmGroupedBatchedEx") ? 1 : 2;
        ck_assert_msg(hr_log_count_where(&b.log, "call", "api", symbols[i]) == calls,
                      "not %zu call record(s) for %s", calls, symbols[i]);
        ck_assert_msg(hr_json_num(rec, "status") == hr_kv_num(b.r.out, symbols[i]),
                      "%s: record status differs from the returned one: %s",
                      symbols[i], rec);
    }
    /* cublasSgemmEx has no compute type: it is named and passed as the FP32
     * compute it always is. */
    static const char *const sgemm_ex[] = { "cublasSgemmEx", "cublasSgemmEx_64" };
    for (int i = 0; i < 2; i++) {
        const char *rec = hr_log_find_where(&b.log, "call", "api", sgemm_ex[i]);
        ck_assert_msg(hr_json_str_is(rec, "compute", "CUBLAS_COMPUTE_32F") &&
                          hr_json_str_is(rec, "compute_used", "CUBLAS_COMPUTE_32F") &&
                          hr_json_str_is(rec, "action", "pass"), "%s", rec);
    }
    /* The reductions as PyTorch makes them (FP32 execution) are left alone. */
    for (int i = FIRST_REDUCTION; i < END_REDUCTION; i++) {
        const char *rec = hr_log_find_where(&b.log, "call", "api", symbols[i]);
        ck_assert_msg(hr_json_str_is(rec, "exec", "CUDA_R_32F") &&
                          hr_json_str_is(rec, "exec_used", "CUDA_R_32F") &&
                          hr_json_str_is(rec, "action", "pass"), "%s", rec);
    }
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* NVIDIA's cuBLAS 13 refuses FP16 execution of the reductions: it checks
 * the types before the handle, so even without a GPU every one returns
 * CUBLAS_STATUS_NOT_SUPPORTED (15). The shim's `reduce` family (on by
 * default) hands Dot and Nrm2 to the library with FP32 execution, so the
 * program gets the library's answer to that call instead (here: no handle,
 * CUBLAS_STATUS_NOT_INITIALIZED); Axpy's half alpha cannot be converted
 * without a handle to ask the pointer mode of, so its call goes through
 * unchanged. Without the family, every status passes through. */
START_TEST(reduce_exec16f)
{
    static const char *const reductions[] = { "cublasDotEx", "cublasDotEx_64", "cublasNrm2Ex",
                                              "cublasNrm2Ex_64", "cublasAxpyEx",
                                              "cublasAxpyEx_64" };
    hr_app a, b, c;
    run(&a, 0, "status_app", ARGS("reduce16"));
    run(&b, 1, "status_app", ARGS("reduce16"));
    hr_app_opts o = {.shim = 1, .emu = 0,
                     .env = ENV("SAFEHALF_LOG_LEVEL=trace",
                                "SAFEHALF_UPCAST=gemm,splitk,fast16f")};
    hr_app_run(&c, &o, "status_app", ARGS("reduce16"));
    ck_assert_msg(a.r.exit_code == 0 && b.r.exit_code == 0 && c.r.exit_code == 0, "%s\n%s",
                  hr_describe(&a.r), b.r.err);
    ck_assert_msg(strcmp(a.r.out, c.r.out) == 0,
                  "outputs differ\n--- without ---\n%s\n--- reduce not upcast ---\n%s",
                  a.r.out, c.r.out);
    check_real_library(&b);
    for (int i = 0; i < 6; i++) {
        int axpy = i >= 4;
        ck_assert_msg(hr_kv_num(a.r.out, reductions[i]) == 15, "%s\n%s", reductions[i],
                      a.r.out);
        const char *rec = hr_log_find_where(&b.log, "call", "api", reductions[i]);
        ck_assert_msg(rec != NULL, "no call record for %s\n%s", reductions[i],
                      hr_log_dump(&b.log));
        ck_assert_msg(hr_json_num(rec, "status") == hr_kv_num(b.r.out, reductions[i]),
                      "%s: record status differs from the returned one: %s", reductions[i],
                      rec);
        ck_assert_msg(hr_kv_num(b.r.out, reductions[i]) == (axpy ? 15 : 1), "%s\n%s",
                      reductions[i], b.r.out);
        ck_assert_msg(hr_json_str_is(rec, "exec", "CUDA_R_16F") &&
                          hr_json_str_is(rec, "action", axpy ? "fallback" : "upcast") &&
                          hr_json_str_is(rec, "exec_used", axpy ? "CUDA_R_16F" : "CUDA_R_32F"),
                      "%s", rec);
        rec = hr_log_find_where(&c.log, "call", "api", reductions[i]);
        ck_assert_msg(rec && hr_json_str_is(rec, "action", "pass"), "%s", hr_log_dump(&c.log));
    }
    hr_app_free(&a);
    hr_app_free(&b);
    hr_app_free(&c);
}
END_TEST

/* cuBLAS reached only through a plugin opened RTLD_LOCAL: dlsym(RTLD_NEXT)
 * cannot see it; the shim must still find the real library. */
START_TEST(plugin_rtld_local)
{
    hr_app a, b;
    run(&a, 0, "plugin_host", ARGS("--keep-going"));
    run(&b, 1, "plugin_host", ARGS("--keep-going"));
    ck_assert_msg(hr_kv_num(a.r.out, "dlopen") == 1, "%s", hr_describe(&a.r));
    ck_assert_msg(hr_kv_has(a.r.out, "status"), "%s", hr_describe(&a.r));
    ck_assert_msg(strcmp(a.r.out, b.r.out) == 0 && a.r.exit_code == b.r.exit_code,
                  "plugin output differs\n--- without ---\n%s\n--- with ---\n%s",
                  hr_describe(&a.r), b.r.out);
    ck_assert_msg(hr_kv_num(b.r.out, "status") != 0 && hr_kv_num(b.r.out, "status") != -1,
                  "cublasGemmEx was not called or succeeded\n%s", hr_describe(&b.r));

    check_real_library(&b);
    ck_assert_msg(hr_log_count_where(&b.log, "call", "api", "cublasGemmEx") == 1,
                  "the shim did not see the plugin's cublasGemmEx\n%s",
                  hr_log_dump(&b.log));
    const char *rec = hr_log_find_where(&b.log, "call", "api", "cublasGemmEx");
    ck_assert_msg(hr_json_num(rec, "status") == hr_kv_num(b.r.out, "status"),
                  "record status differs from the returned one: %s", rec);
    ck_assert_msg(hr_json_str_is(rec, "compute", "CUBLAS_COMPUTE_16F"), "%s", rec);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* A program that opens the real libraries itself and looks them up with
 * dlsym (JAX/XLA, TensorFlow): with libsafehalf-audit.so in LD_AUDIT the
 * lookups of the shim's entry points get its wrappers, which find the real
 * functions and hand their statuses back. */
START_TEST(dlsym_lookups_followed)
{
    const char *const args[] = {"--keep-going", "--probe", "libcublasLt.so.13", "cublasLtMatmul",
                                "--probe", "libcudnn.so.9", "cudnnBackendExecute", "--probe",
                                "libcublas.so.13", "cublasGetVersion_v2", "--probe",
                                "libcudnn_graph.so.9", "cudnnCreate", "--cudnn-create", NULL};
    hr_app a, b;
    hr_app_opts o0 = {.env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&a, &o0, "dlsym_app", args);
    hr_app_opts o1 = {.shim = 1, .audit = 1, .env = ENV("SAFEHALF_LOG_LEVEL=trace")};
    hr_app_run(&b, &o1, "dlsym_app", args);
    ck_assert_msg(a.r.exit_code == b.r.exit_code && a.r.signal == 0,
                  "--- without ---\n%s\n--- with ---\n%s", hr_describe(&a.r), b.r.out);
    static const char *const same[] = {"found_cublasLtMatmul", "found_cudnnBackendExecute",
                                       "found_cublasGetVersion_v2",
                                       "in_safehalf_cublasGetVersion_v2", "create_status",
                                       "status", "cuda_error", "cudnn_create_status"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        char va[64] = "<absent>", vb[64] = "<absent>";
        hr_kv(a.r.out, same[i], va, sizeof va);
        hr_kv(b.r.out, same[i], vb, sizeof vb);
        ck_assert_msg(strcmp(va, vb) == 0, "%s: %s without the shim, %s with it", same[i], va, vb);
    }
    ck_assert_msg(hr_kv_num(a.r.out, "found_cublasLtMatmul") == 1 &&
                      hr_kv_num(a.r.out, "in_safehalf_cublasLtMatmul") == 0 &&
                      hr_kv_num(a.r.out, "gemm_in_safehalf") == 0,
                  "%s", hr_describe(&a.r));
    ck_assert_msg(hr_kv_num(b.r.out, "in_safehalf_cublasLtMatmul") == 1 &&
                      hr_kv_num(b.r.out, "in_safehalf_cudnnBackendExecute") == 1 &&
                      hr_kv_num(b.r.out, "in_safehalf_cublasGetVersion_v2") == 0 &&
                      /* a sub-library opened by the program is not one the
                       * shim forwards to: left alone */
                      hr_kv_num(b.r.out, "found_cudnnCreate") == 1 &&
                      hr_kv_num(b.r.out, "in_safehalf_cudnnCreate") == 0 &&
                      hr_kv_num(b.r.out, "gemm_in_safehalf") == 1,
                  "%s", hr_describe(&b.r));
    /* no GPU: cuBLAS answers with an error of its own */
    ck_assert_msg(hr_kv_num(b.r.out, "status") != 0 && hr_kv_has(b.r.out, "status"), "%s",
                  hr_describe(&b.r));

    check_real_library(&b);
    const char *rec = hr_log_find_where(&b.log, "call", "api", "cublasGemmEx");
    ck_assert_msg(rec != NULL, "the shim did not see the cublasGemmEx looked up with dlsym\n%s",
                  hr_log_dump(&b.log));
    ck_assert_msg(hr_json_num(rec, "status") == hr_kv_num(b.r.out, "status"),
                  "record status differs from the returned one: %s", rec);
    /* libcudnn.so.9 forwards cudnnCreate to libcudnn_graph.so.9's, found
     * with dlsym under the same name: that lookup is cuDNN's own, left to
     * it (a wrapper there would call itself without end) */
    ck_assert_msg(hr_kv_num(a.r.out, "cudnn_create_status") == 1001, "%s", hr_describe(&a.r));
    ck_assert_msg(hr_log_count_where(&b.log, "call", "api", "cudnnCreate") == 1, "%s",
                  hr_log_dump(&b.log));
    ck_assert_msg(strstr(hr_log_find(&b.log, "start", 0), "\"follow_dlsym\":true") != NULL,
                  "%s", hr_log_find(&b.log, "start", 0));
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* A program whose GPU work failed prints the status, not figures it never
 * measured: overflow_app's output counts (inf=0, maxfinite=0) would read as
 * "no overflow" in the GPU suite's table. Here no GPU: every run fails
 * before the output is read back, eagerly and in a CUDA graph. */
START_TEST(failed_run_prints_no_figures)
{
    const char *const *const cmds[] = {
        (const char *const[]){NULL},
        (const char *const[]){"--capture", "3", NULL},
    };
    hr_app a;
    run(&a, _i / 2, "overflow_app", cmds[_i % 2]);
    ck_assert_msg(a.r.exit_code == 1, "%s", hr_describe(&a.r));
    ck_assert_msg(hr_kv_has(a.r.out, "status") && hr_kv_num(a.r.out, "status") != 0,
                  "no GPU, yet status 0: is there a GPU? (test assumes none)\n%s",
                  hr_describe(&a.r));
    static const char *const figures[] = {"out0", "inf", "nan", "maxfinite"};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(!hr_kv_has(a.r.out, figures[i]), "%s printed, nothing was measured\n%s",
                      figures[i], hr_describe(&a.r));
    if (_i % 2)
        ck_assert_msg(hr_kv_has(a.r.out, "capture_status"), "%s", hr_describe(&a.r));
    hr_app_free(&a);
}
END_TEST

/* Ordinary programs behave the same with and without the shim. */
START_TEST(apps_unchanged)
{
    const char *const *const cmds[] = {
        (const char *const[]){"gemm_app", "cublasGemmEx", NULL},
        (const char *const[]){"gemm_app", "cublasHgemm", NULL},
        (const char *const[]){"gemm_app", "mathmode", NULL},
        (const char *const[]){"gemm_app", "cudaonly", NULL},
        (const char *const[]){"threads_app", NULL},
    };
    const char *const *cmd = cmds[_i];
    hr_app a, b;
    run(&a, 0, cmd[0], cmd + 1);
    run(&b, 1, cmd[0], cmd + 1);
    ck_assert_msg(a.r.exit_code == b.r.exit_code && strcmp(a.r.out, b.r.out) == 0,
                  "%s %s differs\n--- without ---\n%s\n--- with ---\n%s", cmd[0],
                  cmd[1] ? cmd[1] : "", hr_describe(&a.r), b.r.out);
    ck_assert_msg(a.r.signal == 0, "%s crashed\n%s", cmd[0], hr_describe(&a.r));
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

int main(void)
{
    hr_env_path("SH_LIB");
    hr_env_path("SH_APPS_DIR");
    Suite *s;
    TCase *t = hr_one_case("real", 110, &s);
    tcase_add_test(t, status_passthrough);
    tcase_add_test(t, reduce_exec16f);
    tcase_add_test(t, plugin_rtld_local);
    tcase_add_test(t, dlsym_lookups_followed);
    tcase_add_loop_test(t, apps_unchanged, 0, 5);
    tcase_add_loop_test(t, failed_run_prints_no_figures, 0, 4);
    return hr_run_suites(srunner_create(s));
}
