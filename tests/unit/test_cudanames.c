/* CUDA data types as the interposers read them: a host alpha/beta of any
 * scale type tested for zero (which decides whether C is an input), and
 * the scan kernels' element types. */
#include <check.h>
#include <library_types.h>
#include <math.h>
#include <stdint.h>

#include "cudanames.h"
#include "run_suite.h"

START_TEST(scalar_nonzero)
{
    uint16_t h0 = 0x0000, hneg0 = 0x8000, h1 = 0x3c00, hmin = 0x0001, hnan = 0x7e00;
    ck_assert(!sh_cuda_scalar_nonzero(CUDA_R_16F, &h0));
    ck_assert(!sh_cuda_scalar_nonzero(CUDA_R_16F, &hneg0));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_16F, &h1));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_16F, &hmin)); /* the smallest subnormal */
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_16F, &hnan));
    uint16_t b0 = 0x8000, b1 = 0x3f80;
    ck_assert(!sh_cuda_scalar_nonzero(CUDA_R_16BF, &b0));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_16BF, &b1));

    float f0 = -0.0f, f1 = 1e-45f, fnan = NAN;
    ck_assert(!sh_cuda_scalar_nonzero(CUDA_R_32F, &f0));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_32F, &f1));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_32F, &fnan));
    double d0 = -0.0, d1 = 0.5;
    ck_assert(!sh_cuda_scalar_nonzero(CUDA_R_64F, &d0));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_64F, &d1));

    /* an int32 scale: INT32_MIN is not zero, though its bits look like -0.0f */
    int32_t i0 = 0, imin = INT32_MIN;
    ck_assert(!sh_cuda_scalar_nonzero(CUDA_R_32I, &i0));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_32I, &imin));

    /* complex: zero only when both parts are */
    float c0[2] = { 0.0f, -0.0f }, ci[2] = { 0.0f, 1.0f };
    ck_assert(!sh_cuda_scalar_nonzero(CUDA_C_32F, c0));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_C_32F, ci));
    double z0[2] = { 0.0, 0.0 }, zi[2] = { 0.0, 2.0 };
    ck_assert(!sh_cuda_scalar_nonzero(CUDA_C_64F, z0));
    ck_assert(sh_cuda_scalar_nonzero(CUDA_C_64F, zi));

    /* a type not read here may hold anything */
    ck_assert(sh_cuda_scalar_nonzero(CUDA_R_8I, &i0));
    ck_assert(sh_cuda_scalar_nonzero(-1, &i0));
}
END_TEST

START_TEST(scan_types)
{
    enum sh_scan_type t;
    ck_assert(sh_cuda_scan_type(CUDA_R_16F, &t) && t == SH_SCAN_F16);
    ck_assert(sh_cuda_scan_type(CUDA_R_16BF, &t) && t == SH_SCAN_BF16);
    ck_assert(sh_cuda_scan_type(CUDA_R_32F, &t) && t == SH_SCAN_F32);
    ck_assert(!sh_cuda_scan_type(CUDA_R_64F, &t));
    ck_assert(!sh_cuda_scan_type(CUDA_C_16F, &t));
    ck_assert_str_eq(sh_cuda_type_name(CUDA_R_16BF), "CUDA_R_16BF");
    ck_assert_ptr_null(sh_cuda_type_name(12345));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cudanames");
    TCase *t = tcase_create("cudanames");
    tcase_add_test(t, scalar_nonzero);
    tcase_add_test(t, scan_types);
    suite_add_tcase(s, t);
    return sh_run_suite(s);
}
