#include <check.h>
#include <stdio.h>
#include <string.h>

#include "buildid.h"
#include "run_suite.h"

/* This executable is linked with this id, the library beside it with none
 * (tests/unit/meson.build). */
#define OWN_ID "5a4e1f0de1c0ffee0123456789abcdef00c0ffee"

int sh_test_nobuildid(void);

START_TEST(own_executable)
{
    char hex[65];
    ck_assert(sh_build_id((const void *)sh_build_id, hex, sizeof hex));
    ck_assert_str_eq(hex, OWN_ID);
}
END_TEST

START_TEST(cut_to_fit)
{
    char hex[9];
    ck_assert(sh_build_id((const void *)sh_build_id, hex, sizeof hex));
    ck_assert_str_eq(hex, "5a4e1f0d");
    char odd[8]; /* room for 3 bytes of hex, not a half byte more */
    ck_assert(sh_build_id((const void *)sh_build_id, odd, sizeof odd));
    ck_assert_str_eq(odd, "5a4e1f");
}
END_TEST

START_TEST(library_without_one)
{
    char hex[65] = "untouched";
    ck_assert_int_eq(sh_test_nobuildid(), 7);
    ck_assert(!sh_build_id((const void *)sh_test_nobuildid, hex, sizeof hex));
}
END_TEST

START_TEST(address_outside_every_object)
{
    char hex[65];
    ck_assert(!sh_build_id((const void *)16, hex, sizeof hex));
    ck_assert(!sh_build_id(NULL, hex, sizeof hex));
    ck_assert(!sh_build_id((const void *)sh_build_id, hex, 2));
}
END_TEST

START_TEST(another_library)
{
    /* libc's id: whatever it is, 20 bytes of SHA-1 on the distributions
     * this builds on, and not this executable's. */
    char hex[65];
    ck_assert(sh_build_id((const void *)strlen, hex, sizeof hex));
    ck_assert_uint_eq(strlen(hex), 40);
    ck_assert_str_ne(hex, OWN_ID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buildid");
    TCase *tc = tcase_create("buildid");
    tcase_add_test(tc, own_executable);
    tcase_add_test(tc, cut_to_fit);
    tcase_add_test(tc, library_without_one);
    tcase_add_test(tc, address_outside_every_object);
    tcase_add_test(tc, another_library);
    suite_add_tcase(s, tc);
    return sh_run_suite(s);
}
