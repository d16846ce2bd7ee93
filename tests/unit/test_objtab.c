#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "objtab.h"
#include "run_suite.h"

static struct sh_objtab tab = SH_OBJTAB_INIT;

static void clear(void)
{
    memset(tab.slot, 0, sizeof tab.slot);
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
    /* one word changed, the others kept; read word by word */
    ck_assert(sh_objtab_set_word(&tab, obj(1), 2, 70));
    ck_assert(!sh_objtab_set_word(&tab, obj(2), 2, 70));
    struct sh_objtab_ref r;
    ck_assert(sh_objtab_ref(&tab, obj(1), &r));
    ck_assert_int_eq(sh_objtab_word(&tab, &r, 0), 64);
    ck_assert_int_eq(sh_objtab_word(&tab, &r, 2), 70);
    ck_assert(sh_objtab_valid(&tab, &r));
    ck_assert(!sh_objtab_ref(&tab, obj(2), &r));
    sh_objtab_del(&tab, obj(1));
    ck_assert(!sh_objtab_get(&tab, obj(1), out));
    ck_assert(!sh_objtab_set_word(&tab, obj(1), 2, 70));
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

/* Stops the two readers; each must have seen its object whole every time. */
static void stop_readers(pthread_t t[2])
{
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        ck_assert_int_eq((long)bad, 0);
    }
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
    stop_readers(t);
}
END_TEST

/* Keys spread over the table at random, put and deleted at random: every
 * lookup agrees with a plain array of what should be there (deleting
 * clears runs of deleted slots; nothing beyond them may get lost). */
START_TEST(random_against_model)
{
    enum { N = 3000 };
    static long long model[N]; /* 0: absent */
    memset(model, 0, sizeof model);
    long long w[SH_OBJTAB_WORDS] = { 0 }, out[SH_OBJTAB_WORDS];
    unsigned long long x = 88172645463325252ull;
    for (int step = 0; step < 300000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t i = (size_t)(x % N);
        if (x >> 62) {
            w[0] = step + 1;
            if (sh_objtab_put(&tab, obj(i + 1), w))
                model[i] = step + 1;
        } else {
            sh_objtab_del(&tab, obj(i + 1));
            model[i] = 0;
        }
        if (step % 1000 == 0)
            for (size_t j = 0; j < N; j++) {
                bool got = sh_objtab_get(&tab, obj(j + 1), out);
                ck_assert_int_eq(got, model[j] != 0);
                if (got)
                    ck_assert_int_eq(out[0], model[j]);
            }
    }
}
END_TEST

/* Cached entries never fill the table: a new one takes the place of an
 * older one, and so does a held entry; held entries are never displaced. */
START_TEST(cache_gives_way)
{
    long long w[SH_OBJTAB_WORDS] = { 0 }, out[SH_OBJTAB_WORDS];
    for (uintptr_t i = 1; i <= SH_OBJTAB_SLOTS * 3; i++) {
        w[0] = (long long)i;
        ck_assert(sh_objtab_cache(&tab, obj(i), w));
        ck_assert(sh_objtab_get(&tab, obj(i), out));
        ck_assert_int_eq(out[0], (long long)i);
    }
    int held = 0;
    for (uintptr_t i = 1; i <= SH_OBJTAB_SLOTS / 2; i++) {
        w[0] = -(long long)i;
        held += sh_objtab_put(&tab, obj(1000000 + i), w);
    }
    ck_assert_int_eq(held, SH_OBJTAB_SLOTS / 2);
    for (uintptr_t i = 1; i <= SH_OBJTAB_SLOTS * 2; i++) {
        w[0] = (long long)i;
        ck_assert(sh_objtab_cache(&tab, obj(2000000 + i), w));
    }
    for (uintptr_t i = 1; i <= SH_OBJTAB_SLOTS / 2; i++) {
        ck_assert(sh_objtab_get(&tab, obj(1000000 + i), out));
        ck_assert_int_eq(out[0], -(long long)i);
    }
    /* a cached entry replaced in place stays one entry */
    w[0] = 7;
    ck_assert(sh_objtab_cache(&tab, obj(2000000 + SH_OBJTAB_SLOTS * 2), w));
    sh_objtab_del(&tab, obj(2000000 + SH_OBJTAB_SLOTS * 2));
    ck_assert(!sh_objtab_get(&tab, obj(2000000 + SH_OBJTAB_SLOTS * 2), out));
}
END_TEST

static void *whole_reader(void *arg)
{
    (void)arg;
    long long out[SH_OBJTAB_WORDS];
    long bad = 0, seen = 0;
    while (!atomic_load(&stop)) {
        /* never half of one version and half of another, nor another
         * object's words */
        for (uintptr_t i = 1; i <= 4; i++) {
            if (!sh_objtab_get(&tab, obj(i), out))
                continue;
            seen++;
            for (int w = 1; w < SH_OBJTAB_WORDS; w++)
                bad += out[w] != out[0];
            bad += out[0] % 4 != (long long)(i % 4);
        }
    }
    return (void *)(bad ? bad : seen ? 0 : -1);
}

/* Entries rewritten in place, deleted and cached again in each other's
 * slots while readers look them up. */
START_TEST(reads_are_whole)
{
    pthread_t t[2];
    atomic_store(&stop, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, whole_reader, NULL);
    long long w[SH_OBJTAB_WORDS];
    for (long long v = 0; v < 400000; v++) {
        uintptr_t i = (uintptr_t)(v % 4) + 1;
        long long val = v - v % 4 + (long long)(i % 4);
        for (int k = 0; k < SH_OBJTAB_WORDS; k++)
            w[k] = val;
        if (v % 7 == 0)
            sh_objtab_del(&tab, obj(i));
        else
            sh_objtab_cache(&tab, obj(i), w);
    }
    stop_readers(t);
}
END_TEST

static void *churner(void *arg)
{
    (void)arg;
    long long w[SH_OBJTAB_WORDS] = { 5, 5, 5, 5, 5, 5, 5, 5 };
    for (uintptr_t i = 0; !atomic_load(&stop); i++) {
        sh_objtab_cache(&tab, obj(10 + i % 1000), w);
        sh_objtab_del(&tab, obj(10 + (i + 500) % 1000));
    }
    return NULL;
}

/* A fork while another thread changes the table: the child finds it
 * unlocked and whole. */
START_TEST(fork_while_writing)
{
    long long w[SH_OBJTAB_WORDS] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    ck_assert(sh_objtab_put(&tab, obj(1), w));
    pthread_t t;
    atomic_store(&stop, 0);
    pthread_create(&t, NULL, churner, NULL);
    for (int i = 0; i < 200; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            long long out[SH_OBJTAB_WORDS];
            bool ok = sh_objtab_get(&tab, obj(1), out) && out[7] == 8 &&
                      sh_objtab_put(&tab, obj(2), w) && sh_objtab_get(&tab, obj(2), out);
            sh_objtab_del(&tab, obj(2));
            _exit(ok ? 0 : 1);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
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
    tcase_add_test(t, random_against_model);
    tcase_add_test(t, cache_gives_way);
    tcase_add_test(t, reads_are_whole);
    tcase_add_test(t, fork_while_writing);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    return sh_run_suite(s);
}
