/* The cuBLASLt interposition against the REAL libcublasLt.so.13 (from the
 * ldconfig cache; no GPU). Its host-side objects work without a GPU, so
 * the rewrites can be seen in the library's own state; the handle and the
 * matmul fail, and their statuses must pass through unchanged. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asserts.h"
#include "harness.h"

static void run(hr_app *a, int shim, const char *const *env)
{
    hr_app_opts o = { .shim = shim, .emu = 0, .env = env };
    hr_app_run(a, &o, "lt_status_app", NULL);
}

static const char *call(const hr_app *a, const char *api)
{
    const char *rec = hr_log_find_where(&a->log, "call", "api", api);
    ck_assert_msg(rec != NULL, "no call record for %s\n%s", api, hr_log_dump(&a->log));
    return rec;
}

START_TEST(status_passthrough)
{
    hr_app a, b, c;
    run(&a, 0, NULL);
    run(&b, 1, ENV("SAFEHALF_LOG_LEVEL=trace"));
    /* with the audit module too (LD_AUDIT): the same statuses, and the same
     * calls seen, once each */
    hr_app_opts o = { .shim = 1, .audit = 1, .emu = 0, .env = ENV("SAFEHALF_LOG_LEVEL=trace") };
    hr_app_run(&c, &o, "lt_status_app", NULL);
    assert_audit_changes_nothing(&a, &b, &c);
    hr_app_free(&c);
    ck_assert_msg(a.r.exit_code == 0, "%s", hr_describe(&a.r));
    ck_assert_msg(b.r.exit_code == 0, "%s", hr_describe(&b.r));
    /* Statuses, and the types the program reads back, are the library's
     * own: identical output. */
    ck_assert_msg(strcmp(a.r.out, b.r.out) == 0,
                  "outputs differ\n--- without ---\n%s\n--- with ---\n%s", a.r.out, b.r.out);
    ck_assert_msg(hr_kv_num(a.r.out, "cublasLtMatmulDescCreate") == 0, "%s", a.r.out);
    ck_assert_msg(hr_kv_num(a.r.out, "compute_read") == 64, "%s", a.r.out);
    /* The defaults the shim takes new descriptors and layouts to have
     * (cublasLt.h's) are the library's. */
    ck_assert_msg(hr_kv_num(a.r.out, "pointer_mode_read") == 0 &&
                      hr_kv_num(a.r.out, "transa_read") == 0 &&
                      hr_kv_num(a.r.out, "transb_read") == 0 &&
                      hr_kv_num(a.r.out, "epilogue_read") == 1,
                  "%s", a.r.out);
    ck_assert_msg(hr_kv_num(a.r.out, "order_read") == 0 && hr_kv_num(a.r.out, "batch_read") == 1 &&
                      hr_kv_num(a.r.out, "stride_read") == 0,
                  "%s", a.r.out);
    ck_assert_msg(hr_kv_num(a.r.out, "init_rows_read") == 32 &&
                      hr_kv_num(a.r.out, "cublasLtMatrixLayoutSetAttribute_bad") != 0,
                  "%s", a.r.out);
    ck_assert_msg(hr_kv_num(a.r.out, "cublasLtMatmul") != 0,
                  "cublasLtMatmul succeeded: is there a GPU? (test assumes none)");
    /* Half alpha vectors set before the FP16 compute type: the descriptor
     * keeps the program's types, so the matmul gets the library's status
     * (not the shim's NOT_SUPPORTED for scalars it cannot convert). */
    ck_assert_msg(hr_kv_num(b.r.out, "cublasLtMatmul_vector") ==
                      hr_kv_num(a.r.out, "cublasLtMatmul_vector"),
                  "%s", b.r.out);

    ck_assert_msg(b.have_log, "no log\n%s", hr_describe(&b.r));
    const char *s = hr_log_find(&b.log, "start", 0);
    char path[4096];
    ck_assert_msg(s && hr_json_get(s, "libs.cublaslt.path", path, sizeof path) == 's',
                  "libs.cublaslt.path is not a string: %s", s ? s : "(no start record)");
    ck_assert_msg(strstr(path, "libcublasLt.so.13") != NULL, "%s", path);
    const char *emu = getenv("SH_EMU_DIR");
    ck_assert_msg(!emu || !*emu || strstr(path, emu) == NULL, "emulated library: %s", path);
    ck_assert_msg(hr_json_num(s, "libs.cublaslt.version") >= 130000, "%s", s);

    /* The library holds FP32 types; the program was told its own. */
    const char *rec = call(&b, "cublasLtMatmulDescCreate");
    ck_assert_msg(hr_json_str_is(rec, "compute_used", "CUBLAS_COMPUTE_32F") &&
                      hr_json_str_is(rec, "scale_used", "CUDA_R_32F") &&
                      hr_json_str_is(rec, "action", "upcast") && hr_json_num(rec, "status") == 0,
                  "%s", rec);
    rec = call(&b, "cublasLtMatmulDescInit_internal");
    ck_assert_msg(hr_json_str_is(rec, "compute_used", "CUBLAS_COMPUTE_32F"), "%s", rec);
    rec = hr_log_find_where(&b.log, "call", "pointer_mode", "device_vector");
    ck_assert_msg(rec && hr_json_str_is(rec, "compute_used", "CUBLAS_COMPUTE_16F") &&
                      hr_json_str_is(rec, "action", "fallback"),
                  "%s", rec ? rec : hr_log_dump(&b.log));
    rec = call(&b, "cublasLtMatmulPreferenceCreate");
    ck_assert_msg(hr_json_num(rec, "reduction_mask_used") == 2, "%s", rec);
    rec = call(&b, "cublasLtMatmulPreferenceInit_internal");
    ck_assert_msg(hr_json_num(rec, "reduction_mask_used") == 2, "%s", rec);
    rec = call(&b, "cublasLtMatmulPreferenceSetAttribute");
    ck_assert_msg(hr_json_num(rec, "reduction_mask") == 7 &&
                      hr_json_num(rec, "reduction_mask_used") == 2, "%s", rec);
    /* the matmul: rewritten (half alpha/beta converted), and the real
     * status in the record */
    rec = call(&b, "cublasLtMatmul");
    ck_assert_msg(hr_json_num(rec, "status") == hr_kv_num(b.r.out, "cublasLtMatmul") &&
                      hr_json_str_is(rec, "compute", "CUBLAS_COMPUTE_16F_PEDANTIC") &&
                      hr_json_str_is(rec, "compute_used", "CUBLAS_COMPUTE_32F_PEDANTIC") &&
                      hr_json_str_is(rec, "action", "upcast"),
                  "%s", rec);
    /* the shape, from the layout the shim followed */
    ck_assert_msg(hr_json_num(rec, "m") == 64 && hr_json_num(rec, "n") == 64 &&
                      hr_json_num(rec, "k") == 64 && hr_json_num(rec, "batch") == 1 &&
                      hr_json_str_is(rec, "atype", "CUDA_R_16F") &&
                      hr_json_str_is(rec, "ctype", "CUDA_R_16F") &&
                      hr_json_str_is(rec, "pointer_mode", "host"),
                  "%s", rec);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

/* Under SAFEHALF_MODE=off nothing is rewritten and nothing logged. */
START_TEST(off_is_untouched)
{
    hr_app a, b;
    run(&a, 0, NULL);
    run(&b, 1, ENV("SAFEHALF_MODE=off"));
    ck_assert_msg(strcmp(a.r.out, b.r.out) == 0, "%s\n%s", a.r.out, b.r.out);
    ck_assert(!b.have_log);
    hr_app_free(&a);
    hr_app_free(&b);
}
END_TEST

int main(void)
{
    Suite *s;
    TCase *t = hr_one_case("real-cublaslt", 60, &s);
    tcase_add_test(t, status_passthrough);
    tcase_add_test(t, off_is_untouched);
    return hr_run_suites(srunner_create(s));
}
