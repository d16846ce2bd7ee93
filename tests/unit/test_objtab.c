#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "objtab.h"
#include "run_suite.h"

static struct sh_objtab tab = SH_OBJTAB_INIT;

static void clear(void)
{
    for (int i = 0; i < SH_OBJTAB_SLOTS; i++)
        atomic_store(&tab.slot[i].key, 0);
}

static const void *obj(uintptr_t i)
{
    return (const void *)(0x7f0000000000u + i * 64);
}

START_TEST(put_get_del)
{
    long long in[SH_OBJTAB_WORDS] = { 64, 2, 68, 0 }, out[SH_OBJTAB_WORDS] = { 0 };
    ck_assert(!sh_objtab_get(&tab, obj(1), out));
    ck_assert(sh_objtab_put(&tab, obj(1), in));
    ck_assert(sh_objtab_get(&tab, obj(1), out));
    ck_assert_int_eq(out[0], 64);
    ck_assert_int_eq(out[1], 2);
    ck_assert_int_eq(out[2], 68);
    ck_assert(!sh_objtab_get(&tab, obj(2), out));
    /* replaced in place, not added twice */
    in[1] = 0;
    ck_assert(sh_objtab_put(&tab, obj(1), in));
    ck_assert(sh_objtab_get(&tab, obj(1), out));
    ck_assert_int_eq(out[1], 0);
    sh_objtab_del(&tab, obj(1));
    ck_assert(!sh_objtab_get(&tab, obj(1), out));
    sh_objtab_del(&tab, obj(1));
    /* NULL is no object */
    ck_assert(!sh_objtab_put(&tab, NULL, in));
    ck_assert(!sh_objtab_get(&tab, NULL, out));
}
END_TEST

/* A program that creates and destroys a descriptor per call (PyTorch does)
 * never fills the table: deleted slots are reused. */
START_TEST(churn)
{
    long long w[SH_OBJTAB_WORDS] = { 0 }, out[SH_OBJTAB_WORDS];
    for (uintptr_t i = 1; i < 200000; i++) {
        w[0] = (long long)i;
        ck_assert(sh_objtab_put(&tab, obj(i), w));
        if (i > 100)
            sh_objtab_del(&tab, obj(i - 100));
    }
    for (uintptr_t i = 200000 - 99; i < 200000; i++) {
        ck_assert(sh_objtab_get(&tab, obj(i), out));
        ck_assert_int_eq(out[0], (long long)i);
    }
    ck_assert(!sh_objtab_get(&tab, obj(5), out));
}
END_TEST

/* More live objects than slots: puts fail (the shim then leaves such an
 * object alone), every one that succeeded is found. */
START_TEST(full)
{
    long long w[SH_OBJTAB_WORDS] = { 0 }, out[SH_OBJTAB_WORDS];
    int ok = 0;
    static bool held[SH_OBJTAB_SLOTS * 2];
    for (uintptr_t i = 0; i < SH_OBJTAB_SLOTS * 2; i++) {
        w[0] = (long long)i;
        held[i] = sh_objtab_put(&tab, obj(i + 1), w);
        ok += held[i];
    }
    ck_assert_int_le(ok, SH_OBJTAB_SLOTS);
    ck_assert_int_gt(ok, SH_OBJTAB_SLOTS / 2);
    for (uintptr_t i = 0; i < SH_OBJTAB_SLOTS * 2; i++) {
        ck_assert_int_eq(sh_objtab_get(&tab, obj(i + 1), out), held[i]);
        if (held[i])
            ck_assert_int_eq(out[0], (long long)i);
    }
}
END_TEST

static atomic_int stop;

static void *reader(void *arg)
{
    (void)arg;
    long long out[SH_OBJTAB_WORDS];
    long bad = 0;
    while (!atomic_load(&stop)) {
        /* the long-lived object is always there, with its own words */
        if (!sh_objtab_get(&tab, obj(1), out) || out[0] != 1 || out[3] != 4)
            bad++;
    }
    return (void *)bad;
}

START_TEST(readers_while_writing)
{
    long long w[SH_OBJTAB_WORDS] = { 1, 2, 3, 4 };
    ck_assert(sh_objtab_put(&tab, obj(1), w));
    pthread_t t[2];
    atomic_store(&stop, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    long long v[SH_OBJTAB_WORDS] = { 9, 9, 9, 9 };
    for (uintptr_t i = 2; i < 100000; i++) {
        sh_objtab_put(&tab, obj(i), v);
        sh_objtab_del(&tab, obj(i));
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        ck_assert_int_eq((long)bad, 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("objtab");
    TCase *t = tcase_create("objtab");
    tcase_add_checked_fixture(t, clear, NULL);
    tcase_add_test(t, put_get_del);
    tcase_add_test(t, churn);
    tcase_add_test(t, full);
    tcase_add_test(t, readers_while_writing);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    return sh_run_suite(s);
}
