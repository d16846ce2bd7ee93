/* The end of every unit test's main: run its suite, exit with the verdict. */
#ifndef SAFEHALF_TEST_RUN_SUITE_H
#define SAFEHALF_TEST_RUN_SUITE_H

#include <check.h>
#include <stdlib.h>

static inline int sh_run_suite(Suite *s)
{
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
