/* The shim, the kernels' host twins and the emulated backend all round
 * through kernels/half.h, so it is checked against the compiler's own
 * IEEE binary16 (_Float16) on every half value and many floats. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "half.h"
#include "twins.h"
#include "run_suite.h"

static uint16_t ref_to_half(float f)
{
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, sizeof u);
    return u;
}

static float ref_to_float(uint16_t u)
{
    _Float16 h;
    memcpy(&h, &u, sizeof h);
    return (float)h;
}

START_TEST(every_half_to_float)
{
    for (uint32_t u = 0; u <= 0xffff; u++) {
        float got = sh_half_to_float((uint16_t)u), want = ref_to_float((uint16_t)u);
        if (isnan(want))
            ck_assert(isnan(got));
        else
            ck_assert_msg(sh_float_to_bits(got) == sh_float_to_bits(want), "half %04x", u);
    }
}
END_TEST

START_TEST(float_to_half_round_trip_and_ties)
{
    for (uint32_t u = 0; u <= 0xffff; u++) {
        float f = sh_half_to_float((uint16_t)u);
        if (!isnan(f))
            ck_assert_uint_eq(sh_float_to_half(f), u);
    }
    /* exact ties between neighbouring halves go to the even one */
    ck_assert_uint_eq(sh_float_to_half(2049.0f), sh_float_to_half(2048.0f));
    ck_assert_float_eq(sh_round_half(2051.0f), 2052.0f);
    ck_assert_float_eq(sh_round_half(65504.0f), 65504.0f);
    ck_assert(isinf(sh_round_half(65520.0f)));
    ck_assert_float_eq(sh_round_half(65519.0f), 65504.0f);
    ck_assert(isinf(sh_round_half(70000.0f)) && sh_round_half(-70000.0f) < 0);
    ck_assert_float_eq(sh_round_half(5.9604644775390625e-08f), 5.9604644775390625e-08f);
    ck_assert_float_eq(sh_round_half(2.98023223876953125e-08f), 0.0f); /* tie to even: 0 */
    ck_assert(isnan(sh_round_half(NAN)));
}
END_TEST

START_TEST(float_to_half_matches_compiler)
{
    uint32_t x = 12345u;
    for (int i = 0; i < 2000000; i++) {
        x = x * 1664525u + 1013904223u;
        /* spread over the half range, subnormals and overflow included */
        uint32_t bits = (x & 0x807fffffu) | ((96u + (x >> 24) % 64u) << 23);
        float f = sh_bits_to_float(bits);
        ck_assert_msg(sh_float_to_half(f) == ref_to_half(f), "float %08x", bits);
    }
}
END_TEST

START_TEST(bf16)
{
    ck_assert_float_eq(sh_bf16_to_float(sh_float_to_bf16(1.0f)), 1.0f);
    ck_assert_uint_eq(sh_float_to_bf16(3.0e38f), 0x7f62); /* nearer the upper neighbour */
    ck_assert_uint_eq(sh_float_to_bf16(1.00390625f), 0x3f80); /* tie to even */
    ck_assert_uint_eq(sh_float_to_bf16(1.01171875f), 0x3f82);
    ck_assert(isnan(sh_bf16_to_float(sh_float_to_bf16(NAN))));
}
END_TEST

static void *identity(const void *p)
{
    return (void *)p;
}

START_TEST(scalar_twin)
{
    uint16_t a = sh_float_to_half(0.5f), b = sh_float_to_half(-3.0f);
    float out[2] = { 0, 0 };
    const struct sh_twin *t = sh_twin_find("safehalf_scalars_h2f");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(sh_twin_find("no_such_kernel"));
    const uint16_t *pa = &a, *pb = &b;
    float *po = out;
    void *params[] = { &pa, &pb, &po };
    t->launch(params, identity);
    ck_assert_float_eq(out[0], 0.5f);
    ck_assert_float_eq(out[1], -3.0f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("half");
    TCase *t = tcase_create("half");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, every_half_to_float);
    tcase_add_test(t, float_to_half_round_trip_and_ties);
    tcase_add_test(t, float_to_half_matches_compiler);
    tcase_add_test(t, bf16);
    tcase_add_test(t, scalar_twin);
    suite_add_tcase(s, t);
    return sh_run_suite(s);
}
