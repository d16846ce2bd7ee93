/* The check engine (shim/detect.c) against a fake driver (fake_driver.c)
 * whose GPU runs behind the host: launches queue up until the test runs
 * them with fake_gpu_run, through the kernels' host twins.
 *
 * The engine's poller thread sweeps every millisecond; nothing here depends
 * on when: a test either waits (polling the log, a few seconds at most) for
 * a record that must come, or makes the sweep itself (sh_check_flush,
 * sh_check_flush_in_signal), or stops the poller first (sh_check_flush, then
 * waits for the thread to be gone) where it must control every sweep.
 *
 * Each test runs in its own forked process (CK_FORK); the fixture resets
 * the engine with sh_check_after_fork all the same. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "decide.h"
#include "detect.h"
#include "log.h"
#include "runtime.h"

#include "fake_driver.h"
#include "run_suite.h"
#include "runtime.h"
#include "sites.h"
#include "crash.h"

/* What log.c takes from the rest of the shim. */
struct sh_policy sh_policy;
void sh_runtime_describe_libs(struct sh_json *j)
{
    sh_json_open(j, "cublas", '{');
    sh_json_str(j, "path", NULL);
    sh_json_close(j, '}');
}

/* ---- helpers ------------------------------------------------------------------ */

#define F16_ONE 0x3C00u
#define F16_TWO 0x4000u
#define F16_M3_5 0xC300u /* -3.5 */
#define F16_PINF 0x7C00u
#define F16_NINF 0xFC00u
#define F16_NAN 0x7E00u
#define F16_MAX 0x7BFFu  /* 65504 */
#define F16_NMAX 0xFBFFu /* -65504 */
#define BF16_ONE 0x3F80u
#define BF16_PINF 0x7F80u
#define BF16_NINF 0xFF80u
#define BF16_NAN 0x7FC0u
#define BF16_MAX 0x7F7Fu
#define BF16_NMAX 0xFF7Fu

#define STREAM ((void *)0x5eed0)

static char dir[64], logpath[128];
static struct sh_check_counts counts;

/* Somewhere in this program, for dladdr to name (and distinct call sites). */
static void anchor(void)
{
}
#define CALLER ((const void *)((uintptr_t)&anchor + 1))
#define CALLER2 ((const void *)((uintptr_t)&anchor + 2))

static const char *dt_name(int v)
{
    switch (v) {
    case SH_R_16F: return "CUDA_R_16F";
    case SH_R_16BF: return "CUDA_R_16BF";
    case SH_R_32F: return "CUDA_R_32F";
    default: return NULL;
    }
}

static const char *ct_name(int v)
{
    return v == SH_COMPUTE_32F ? "CUBLAS_COMPUTE_32F" : NULL;
}

static const struct sh_check_names names = { dt_name, ct_name };

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sh-detect-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(logpath, sizeof logpath, "%s/log.jsonl", dir);
    fake_reset();
    sh_check_after_fork();
    sh_log_after_fork();
    sh_policy_defaults(&sh_policy);
    snprintf(sh_policy.log, sizeof sh_policy.log, "%s", logpath);
    sh_log_open(&sh_policy);
    memset(&counts, 0, sizeof counts);
}

static void teardown(void)
{
    sh_log_after_fork();
    unlink(logpath);
    rmdir(dir);
}

/* The whole log (the previous text is freed by the next call). */
static const char *log_text(void)
{
    static char *buf;
    free(buf);
    buf = NULL;
    FILE *f = fopen(logpath, "r");
    if (!f)
        return "";
    size_t cap = 65536, len = 0, n;
    buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Records of the given kind ("nonfinite", "warn"). */
static int count_ev(const char *ev)
{
    char pat[64];
    snprintf(pat, sizeof pat, "{\"ev\":\"%s\"", ev);
    int n = 0;
    for (const char *p = log_text(); (p = strstr(p, pat)); p++)
        n++;
    return n;
}

static char ring[8][4096];
static unsigned ring_at;

static char *ring_copy(const char *s, size_t n)
{
    char *out = ring[ring_at++ % 8];
    if (n > sizeof ring[0] - 1)
        n = sizeof ring[0] - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* The i-th record of that kind, one line, or NULL. */
static const char *nth_ev(const char *ev, int i)
{
    char pat[64];
    snprintf(pat, sizeof pat, "{\"ev\":\"%s\"", ev);
    const char *p = log_text();
    for (int k = 0; (p = strstr(p, pat)); p++, k++)
        if (k == i)
            return ring_copy(p, strcspn(p, "\n"));
    return NULL;
}

/* The nonfinite record containing `needle` (exactly one must), or NULL. */
static const char *record_with(const char *needle)
{
    const char *found = NULL;
    int n = count_ev("nonfinite");
    for (int i = 0; i < n; i++) {
        const char *r = nth_ev("nonfinite", i);
        if (r && strstr(r, needle)) {
            ck_assert_msg(!found, "two records with %s", needle);
            found = r;
        }
    }
    return found;
}

/* Waits (at most `seconds`) for n records of that kind; returns how many. */
static int wait_ev(const char *ev, int n, double seconds)
{
    double deadline = now_s() + seconds;
    int have;
    while ((have = count_ev(ev)) < n && now_s() < deadline)
        nap_ms(1);
    return have;
}

/* The text of the first "key": value in a compact JSON record (a string
 * keeps its quotes, an object its braces). */
static const char *field(const char *rec, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(rec, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    const char *e = p;
    int depth = 0;
    bool str = false;
    for (; *e; e++) {
        if (str) {
            if (*e == '\\' && e[1])
                e++;
            else if (*e == '"')
                str = false;
            continue;
        }
        if (*e == '"') {
            str = true;
        } else if (*e == '{' || *e == '[') {
            depth++;
        } else if (*e == '}' || *e == ']') {
            if (depth == 0)
                break;
            if (--depth == 0 && (*p == '{' || *p == '[')) {
                e++;
                break;
            }
        } else if (*e == ',' && depth == 0) {
            break;
        }
    }
    return ring_copy(p, (size_t)(e - p));
}

#define ASSERT_FIELD(rec, key, want)                                                          \
    do {                                                                                      \
        const char *got_ = field((rec), (key));                                               \
        ck_assert_msg(got_ && strcmp(got_, (want)) == 0, "%s: want %s, got %s in\n%s", (key), \
                      (want), got_ ? got_ : "(absent)", (rec));                               \
    } while (0)

#define ASSERT_HAS(rec, needle)                                                               \
    ck_assert_msg(strstr((rec), (needle)), "no %s in\n%s", (needle), (rec))

/* A field of the object `part` writes into the summary; ~0 when absent.
 * No asserts: helper threads call it. */
static unsigned long long summary_field(void (*part)(struct sh_json *), const char *key)
{
    char buf[1024], pat[64];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "summary");
    part(&j);
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(buf, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : ~0ull;
}

/* A field of the summary's "checks" object. */
static unsigned long long sumf(const char *key)
{
    return summary_field(sh_check_summary, key);
}

#define ASSERT_SUM(key, want)                                                                  \
    ck_assert_msg(sumf(key) == (unsigned long long)(want), "summary %s: want %llu, got %llu", \
                  (key), (unsigned long long)(want), sumf(key))

static int ctype_of(enum sh_scan_type t)
{
    return t == SH_SCAN_F16 ? SH_R_16F : t == SH_SCAN_BF16 ? SH_R_16BF : SH_R_32F;
}

static struct sh_matrix matrix(enum sh_scan_type t, const void *base, unsigned long long rows,
                               unsigned long long cols, unsigned long long ld,
                               unsigned long long stride, unsigned long long batch)
{
    struct sh_matrix m = { .type = t, .base = base, .ptrs = NULL, .rows = rows, .cols = cols,
                           .ld = ld, .stride = stride, .batch = batch };
    return m;
}

/* A call whose output is a dense rows x cols matrix (batch 1). */
/* The call's site, as a library's wrapper finds it before the check. */
static struct sh_check_call with_site(struct sh_check_call c)
{
    struct sh_call call = { .active = true, .seq = c.seq, .caller = c.caller, .gemm = true,
                            .action = SH_ACT_PASS, .m = c.m, .n = c.n, .k = c.k,
                            .batch = c.batch, .atype = c.atype, .btype = c.btype,
                            .ctype = c.ctype, .compute = c.compute,
                            .compute_used = c.compute_used };
    sh_site_enter(&call, c.api, c.names);
    c.site = call.site;
    return c;
}

static struct sh_check_call call_on(enum sh_scan_type t, const void *base,
                                    unsigned long long rows, unsigned long long cols)
{
    int ct = ctype_of(t);
    struct sh_check_call c = { .api = "cublasGemmEx", .names = &names, .counts = &counts,
                               .seq = 1, .m = (long long)rows, .n = (long long)cols, .k = 8,
                               .batch = 1, .atype = ct, .btype = ct, .ctype = ct,
                               .compute = SH_COMPUTE_32F, .compute_used = SH_COMPUTE_32F,
                               .stream = STREAM, .caller = CALLER };
    c.out = matrix(t, base, rows, cols, rows, 0, 1);
    return with_site(c);
}

/* 2 x 2 FP16 matrices. */
static const uint16_t bad16[4] = { F16_ONE, F16_PINF, F16_NAN, F16_TWO };
static const uint16_t clean16[4] = { F16_ONE, F16_TWO, F16_M3_5, F16_ONE };

static bool poller_running(void)
{
    bool found = false;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, comm, sizeof comm - 1);
        close(fd);
        if (n > 0) {
            comm[n] = '\0';
            comm[strcspn(comm, "\n")] = '\0';
            found |= strcmp(comm, "safehalf-poll") == 0;
        }
    }
    closedir(d);
    return found;
}

/* Stops the poller (the exit flush does, waking it if it sleeps) and waits
 * until its thread is gone, so that from here on only the test sweeps. */
static void stop_poller(void)
{
    sh_check_flush();
    double deadline = now_s() + 5;
    while (poller_running() && now_s() < deadline)
        nap_ms(1);
    ck_assert_msg(!poller_running(), "the poller did not stop");
}

/* Starts the poller (a check outside any capture does) with a clean check,
 * and waits until it has been counted. */
static void start_poller_with_clean_check(void)
{
    struct sh_check_call c = call_on(SH_SCAN_F16, clean16, 2, 2);
    unsigned long long before = sumf("checked");
    sh_check_submit(&c);
    fake_gpu_run(-1);
    double deadline = now_s() + 5;
    while (sumf("checked") == before && now_s() < deadline)
        nap_ms(1);
    ck_assert_uint_eq(sumf("checked"), before + 1);
}

static bool in_mapped(unsigned long long addr)
{
    void *base;
    unsigned long bytes;
    fake_mapped(&base, &bytes);
    return base && addr >= (uintptr_t)base && addr < (uintptr_t)base + bytes &&
           (addr - (uintptr_t)base) % sizeof(struct sh_scan_result) == 0;
}

/* A thread that runs the fake GPU: after a delay, or once a caller waits
 * for a slot (summary waited_for_slot >= 1). */
struct runner {
    pthread_t t;
    long delay_ms;
    bool when_waiting;
    int ran;
    double started_at; /* when it began to run the GPU */
};

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    if (r->when_waiting) {
        double deadline = now_s() + 5;
        while (sumf("waited_for_slot") == 0 && now_s() < deadline)
            nap_ms(1);
    } else {
        nap_ms(r->delay_ms);
    }
    r->started_at = now_s();
    r->ran = fake_gpu_run(-1);
    return NULL;
}

static void runner_start(struct runner *r)
{
    ck_assert_int_eq(pthread_create(&r->t, NULL, runner_main, r), 0);
}

/* stderr into a pipe between begin and end; end returns what was written. */
static void capture_stderr_begin(int *saved, int fds[2])
{
    ck_assert_int_eq(pipe(fds), 0);
    *saved = dup(2);
    dup2(fds[1], 2);
}

static const char *capture_stderr_end(int saved, int fds[2])
{
    static char msg[8192];
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    msg[n > 0 ? n : 0] = '\0';
    return msg;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- 1. a finished scan, one record ----------------------------------------- */

/* 2 batches of 3 x 4 in a 5-row leading dimension; the padding rows hold
 * Inf, which no scan may read. Batch 0 is finite (absmax 3.5), batch 1 has
 * +Inf at (row 1, col 2) = index 12 + 7 = 19, NaN at (0, 3) = 21 and -Inf
 * at (2, 3) = 23. */
static void fill_3x4x2(uint16_t *m, bool bad)
{
    for (int i = 0; i < 40; i++)
        m[i] = (i % 5) >= 3 ? F16_PINF : F16_ONE;
    m[0 * 20 + 1 * 5 + 0] = F16_M3_5;
    m[0 * 20 + 3 * 5 + 2] = F16_TWO;
    if (bad) {
        m[1 * 20 + 2 * 5 + 1] = F16_PINF;
        m[1 * 20 + 3 * 5 + 0] = F16_NAN;
        m[1 * 20 + 3 * 5 + 2] = F16_NINF;
    }
}

static struct sh_check_call call_3x4x2(const uint16_t *m)
{
    struct sh_check_call c = call_on(SH_SCAN_F16, m, 3, 4);
    c.out = matrix(SH_SCAN_F16, m, 3, 4, 5, 20, 2);
    c.seq = 7;
    c.m = 3;
    c.n = 4;
    c.k = 5;
    c.batch = 2;
    c.compute_used = SH_COMPUTE_32F_FAST_16F; /* no name: written as a number */
    return c;
}

START_TEST(finished_scan_one_record)
{
    static uint16_t m[40];
    fill_3x4x2(m, true);
    fake_set_device(3, 5);
    struct sh_check_call c = call_3x4x2(m);
    sh_check_submit(&c);

    /* One launch of the FP16 scan, with the call's layout. */
    ck_assert_uint_eq(fake_launches(), 1);
    ck_assert_uint_eq(fake_gpu_pending(), 1);
    struct fake_launch l = fake_launch_at(0);
    ck_assert_int_eq(l.kernel, SH_K_SCAN_F16);
    ck_assert_uint_eq(l.nparams, 9);
    ck_assert_uint_eq(l.grid, 1);
    ck_assert_uint_eq(l.block, SH_SCAN_BLOCK);
    ck_assert_ptr_eq(l.stream, STREAM);
    ck_assert_uint_eq(l.arg[0], (uintptr_t)m);
    ck_assert_uint_eq(l.arg[1], 0);
    ck_assert_uint_eq(l.arg[2], 3);
    ck_assert_uint_eq(l.arg[3], 4);
    ck_assert_uint_eq(l.arg[4], 5);
    ck_assert_uint_eq(l.arg[5], 20);
    ck_assert_uint_eq(l.arg[6], 2);
    ck_assert(in_mapped(l.arg[7]));
    /* The partial the kernel gathers in: one of the kernels' own. */
    ck_assert_uint_lt(l.arg[8], SH_SCAN_NPARTIALS);

    fake_gpu_run(-1);
    ck_assert_int_eq(wait_ev("nonfinite", 1, 5), 1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    const char *rec = nth_ev("nonfinite", 0);
    /* call_t: when the call was made, before the record ("t") was written. */
    char call_t[32];
    const char *ct = strstr(rec, "\"call_t\":");
    ck_assert_ptr_nonnull(ct);
    snprintf(call_t, sizeof call_t, "%.*s", (int)strcspn(ct + 9, ",") + 1, ct + 9);
    ck_assert_double_le(strtod(call_t, NULL), strtod(strstr(rec, "\"t\":") + 4, NULL));
    ck_assert_double_gt(strtod(call_t, NULL), 1.7e9);
    char want[1024];
    snprintf(want, sizeof want,
             "\"api\":\"cublasGemmEx\",\"seq\":7,\"call_t\":%s"
             "\"site_id\":1,\"m\":3,\"n\":4,\"k\":5,\"batch\":2,"
             "\"atype\":\"CUDA_R_16F\",\"btype\":\"CUDA_R_16F\",\"ctype\":\"CUDA_R_16F\","
             "\"compute\":\"CUBLAS_COMPUTE_32F\",\"compute_used\":74,"
             "\"inf\":2,\"pos_inf\":1,\"neg_inf\":1,\"nan\":1,\"numel\":24,\"first_index\":19,"
             "\"first\":{\"batch\":1,\"row\":1,\"col\":2},\"absmax\":3.5,\"inputs_finite\":null,"
             "\"action\":\"logged\",\"check\":\"async\",\"stream\":\"0x5eed0\",\"device\":3,"
             "\"captured\":false,\"thread\":%ld,\"thread_name\":\"test_detect\","
             "\"site\":null,\"caller\":{\"address\":\"0x%llx\",\"object\":\"",
             call_t, sh_log_tid(), (unsigned long long)(uintptr_t)CALLER);
    ASSERT_HAS(rec, want);
    ck_assert_ptr_null(strstr(rec, "\"inputs\":"));
    ck_assert_ptr_null(strstr(rec, "\"replay\":"));
    /* Written by the poller, not by the calling thread. */
    char tid[32];
    snprintf(tid, sizeof tid, "%ld", sh_log_tid());
    ck_assert_str_ne(field(rec, "tid"), tid);

    ck_assert_uint_eq(atomic_load(&counts.checked), 1);
    ck_assert_uint_eq(atomic_load(&counts.nonfinite), 1);
}
END_TEST

START_TEST(clean_output_no_record_and_summary)
{
    static uint16_t bad[40], clean[40];
    fill_3x4x2(bad, true);
    fill_3x4x2(clean, false);
    struct sh_check_call c = call_3x4x2(clean);
    sh_check_submit(&c);
    c = call_3x4x2(bad);
    c.seq = 8;
    sh_check_submit(&c);
    c = call_3x4x2(clean);
    c.seq = 9;
    sh_check_submit(&c);
    ck_assert_int_eq(fake_gpu_run(-1), 3);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_FIELD(nth_ev("nonfinite", 0), "seq", "8");

    char buf[1024];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "summary");
    sh_check_summary(&j);
    ck_assert(!j.overflow);
    ASSERT_HAS(buf, ",\"checks\":{\"checked\":3,\"nonfinite\":1,\"records_suppressed\":0,"
                    "\"captured\":0,\"unseen_replays\":0,\"waited_for_slot\":0,"
                    "\"skipped_pool_full\":0,\"skipped_capture\":0,"
                    "\"skipped_native_graph\":0,\"launch_failed\":0,\"lost_at_exit\":0}");
    ck_assert_uint_eq(atomic_load(&counts.checked), 3);
    ck_assert_uint_eq(atomic_load(&counts.nonfinite), 1);
}
END_TEST

/* ---- 2. a GPU behind the host ---------------------------------------------------- */

START_TEST(not_run_not_reported)
{
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    sh_check_flush_in_signal(); /* a sweep, made here */
    nap_ms(20);                 /* and the poller's */
    ck_assert_int_eq(count_ev("nonfinite"), 0);
    ASSERT_SUM("checked", 0);
    ck_assert_uint_eq(fake_gpu_pending(), 1);

    fake_gpu_run(-1);
    ck_assert_int_eq(wait_ev("nonfinite", 1, 5), 1);
    ASSERT_FIELD(nth_ev("nonfinite", 0), "inf", "1");
    ASSERT_FIELD(nth_ev("nonfinite", 0), "nan", "1");
    ASSERT_FIELD(nth_ev("nonfinite", 0), "first_index", "1");
    ASSERT_FIELD(nth_ev("nonfinite", 0), "absmax", "2");
    ASSERT_SUM("checked", 1);
}
END_TEST

START_TEST(flush_waits_for_the_gpu)
{
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    c.seq = 2;
    sh_check_submit(&c);
    struct runner r = { .delay_ms = 50 };
    runner_start(&r);
    sh_check_flush();
    double returned_at = now_s();
    /* Reported when flush returns: no waiting here. */
    ck_assert_int_eq(count_ev("nonfinite"), 2);
    pthread_join(r.t, NULL);
    ck_assert_int_eq(r.ran, 2);
    ck_assert(r.started_at <= returned_at);
    ASSERT_SUM("checked", 2);
    ASSERT_SUM("nonfinite", 2);
    ASSERT_SUM("lost_at_exit", 0);
}
END_TEST

START_TEST(never_run_lost_at_exit)
{
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    c = call_on(SH_SCAN_F16, clean16, 2, 2);
    sh_check_submit(&c);
    fake_gpu_run(1); /* the first one only */
    double t0 = now_s();
    sh_check_flush();
    double took = now_s() - t0;
    ck_assert_msg(took >= 1.9 && took < 10, "flush took %.3f s", took);
    ASSERT_SUM("lost_at_exit", 1);
    ASSERT_SUM("checked", 1);
    ASSERT_SUM("nonfinite", 1);
    ck_assert_int_eq(count_ev("nonfinite"), 1);
}
END_TEST

/* ---- 3. back-pressure ------------------------------------------------------------ */

START_TEST(pool_full_skips_after_waiting)
{
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    for (int i = 0; i < 1024; i++) {
        c.seq = (unsigned long long)i + 1;
        sh_check_submit(&c);
    }
    ASSERT_SUM("waited_for_slot", 0);
    ck_assert_uint_eq(fake_gpu_pending(), 1024);
    c.seq = 1025;
    double t0 = now_s();
    sh_check_submit(&c);
    double took = now_s() - t0;
    ck_assert_msg(took >= 0.0999 && took < 5, "the 1025th call took %.3f s", took);
    ASSERT_SUM("skipped_pool_full", 1);
    ASSERT_SUM("waited_for_slot", 1);
    ck_assert_uint_eq(fake_gpu_pending(), 1024); /* nothing launched for it */
    ck_assert_int_eq(count_ev("warn"), 1);
    ASSERT_HAS(nth_ev("warn", 0), "\"msg\":\"all 1024 Inf/NaN check slots stayed busy for 100 "
                                  "ms; checks are skipped (and counted) while the GPU is this "
                                  "far behind\"");

    ck_assert_int_eq(fake_gpu_run(-1), 1024);
    sh_check_flush();
    ASSERT_SUM("checked", 1024);
    ASSERT_SUM("nonfinite", 1024);
    ASSERT_SUM("records_suppressed", 1024 - 10); /* SAFEHALF_MAX_RECORDS=10, one site */
    ASSERT_SUM("lost_at_exit", 0);
    ck_assert_int_eq(count_ev("nonfinite"), 10);
}
END_TEST

START_TEST(waiting_call_proceeds_when_gpu_catches_up)
{
    struct sh_check_call c = call_on(SH_SCAN_F16, clean16, 2, 2);
    for (int i = 0; i < 1024; i++)
        sh_check_submit(&c);
    struct runner r = { .when_waiting = true };
    runner_start(&r);
    sh_check_submit(&c); /* waits until the runner has run the 1024 */
    pthread_join(r.t, NULL);
    ck_assert_int_eq(r.ran, 1024);
    ASSERT_SUM("waited_for_slot", 1);
    ASSERT_SUM("skipped_pool_full", 0);
    ck_assert_uint_eq(fake_gpu_pending(), 1); /* the waiting call's scan */
    ck_assert_uint_eq(fake_launches(), 1025);
    fake_gpu_run(-1);
    sh_check_flush();
    ASSERT_SUM("checked", 1025);
    ASSERT_SUM("lost_at_exit", 0);
}
END_TEST

/* ---- 3b. sweeps that race --------------------------------------------------------- */

/* What the test puts in the window between a sweep's first look at a
 * finished slot and its claim (sh_check_sweep_window): once armed, its
 * first call runs `race` with the slot, as another thread could. */
static void (*window_race)(int slot);

/* Armed, the poller (only) stops in the window until released. */
static atomic_int poller_window_armed, poller_in_window, poller_released;

void sh_check_sweep_window(int slot)
{
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    if (!strcmp(name, "safehalf-poll") && atomic_exchange(&poller_window_armed, 0)) {
        atomic_store(&poller_in_window, 1);
        for (double deadline = now_s() + 10; !atomic_load(&poller_released) && now_s() < deadline;)
            nap_ms(1);
        return;
    }
    if (strcmp(name, "safehalf-poll")) {
        void (*race)(int) = window_race;
        window_race = NULL;
        if (race)
            race(slot);
    }
}

/* In the window: another sweep reports the slot and frees it, and a new
 * call (clean, seq 2000) takes it, its scan not run yet. */
static int raced_slot = -1;
static void report_and_reuse(int slot)
{
    raced_slot = slot;
    sh_check_flush_in_signal();
    struct sh_check_call c = call_on(SH_SCAN_F16, clean16, 2, 2);
    c.seq = 2000;
    sh_check_submit(&c);
}

/* The sweep that was overtaken must not report the new call with the old
 * call's results, nor free the slot under the new call's scan. */
START_TEST(overtaken_sweep_leaves_the_new_call)
{
    start_poller_with_clean_check();
    stop_poller(); /* only the test sweeps */
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    c.seq = 1000;
    sh_check_submit(&c);
    ck_assert_int_eq(fake_gpu_run(-1), 1);
    /* Every other slot busy: the new call can only take the one freed. */
    struct sh_check_call filler = call_on(SH_SCAN_F16, clean16, 2, 2);
    for (int i = 0; i < 1023; i++) {
        filler.seq = 3000 + (unsigned long long)i;
        sh_check_submit(&filler);
    }
    ck_assert_uint_eq(fake_gpu_pending(), 1023);
    window_race = report_and_reuse;
    sh_check_flush_in_signal(); /* finds seq 1000 finished, then is overtaken */
    ck_assert_int_ge(raced_slot, 0);
    ck_assert_uint_eq(fake_gpu_pending(), 1024); /* seq 2000's scan queued */
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"seq\":1000,");

    /* seq 2000 still owns its slot until its own scan is read. */
    ck_assert_int_eq(fake_gpu_run(-1), 1024);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_SUM("nonfinite", 1);
    ASSERT_SUM("checked", 1 + 1 + 1023 + 1);
    ASSERT_SUM("lost_at_exit", 0);
}
END_TEST

/* In the window: another sweep reports the same replay. */
static void report_replay(int slot)
{
    (void)slot;
    sh_check_flush_in_signal();
}

/* A replay that two sweeps both see finished is reported once, and no
 * replay is counted as unseen. */
START_TEST(replay_reported_once_by_racing_sweeps)
{
    static uint16_t m[4] = { F16_ONE, F16_PINF, F16_ONE, F16_ONE };
    sh_check_prepare(STREAM);
    start_poller_with_clean_check();
    stop_poller();
    fake_set_capture(SH_CAPTURING);
    unsigned first = fake_launches();
    struct sh_check_call c = call_on(SH_SCAN_F16, m, 2, 2);
    c.seq = 43;
    sh_check_submit(&c);
    fake_set_capture(SH_NOT_CAPTURING);
    fake_gpu_replay(first, 2);
    window_race = report_replay;
    sh_check_flush_in_signal();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"captured\":true,\"replay\":1,");
    ASSERT_SUM("unseen_replays", 0);
    ASSERT_SUM("checked", 1 + 1);
}
END_TEST

/* The poller is in the middle of a sweep (held in the window at the first,
 * finished scan) when the exit gives up on the second, never run: once the
 * exit has counted it lost, the poller's sweep must not report it when it
 * finishes after all, nor write anything after the exit returned. */
START_TEST(exit_loses_what_the_poller_would_report_late)
{
    start_poller_with_clean_check();
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    c.seq = 10;
    sh_check_submit(&c);
    c.seq = 11;
    sh_check_submit(&c);
    atomic_store(&poller_window_armed, 1);
    ck_assert_int_eq(fake_gpu_run(1), 1); /* seq 10 only */
    for (double deadline = now_s() + 5; !atomic_load(&poller_in_window) && now_s() < deadline;)
        nap_ms(1);
    ck_assert(atomic_load(&poller_in_window));
    sh_check_flush(); /* reports seq 10, waits its 2 s for seq 11 */
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"seq\":10,");
    ASSERT_SUM("lost_at_exit", 1);
    size_t written = strlen(log_text());
    ck_assert_int_eq(fake_gpu_run(-1), 1); /* seq 11 finishes after all */
    atomic_store(&poller_released, 1);
    for (double deadline = now_s() + 5; poller_running() && now_s() < deadline;)
        nap_ms(1);
    ck_assert(!poller_running());
    ck_assert_uint_eq(strlen(log_text()), written);
    ASSERT_SUM("lost_at_exit", 1);
    ASSERT_SUM("nonfinite", 1);
    ASSERT_SUM("checked", 1 + 1);
}
END_TEST

/* ---- 4. graph capture -------------------------------------------------------------- */

START_TEST(capture_scans_every_replay)
{
    static uint16_t m[4] = { F16_NINF, F16_ONE, F16_ONE, F16_NAN };
    fake_set_device(3, 5);
    sh_check_prepare(STREAM); /* handle creation: the slots are mapped now */
    ck_assert_uint_eq(fake_calls().map_host, 1);
    /* A check before the capture starts the poller (see
     * capture_only_program_has_a_poller among the known bugs). */
    start_poller_with_clean_check();

    fake_set_capture(SH_CAPTURING);
    struct fake_calls before = fake_calls();
    unsigned first = fake_launches();
    struct sh_check_call c = call_on(SH_SCAN_F16, m, 2, 2);
    c.seq = 42;
    sh_check_submit(&c);
    struct fake_calls after = fake_calls();
    fake_set_capture(SH_NOT_CAPTURING);

    /* Inside the capture: the capture query, the device of the context and
     * two launches; no sync, no mapping, no address query. */
    ck_assert_uint_eq(after.capture, before.capture + 1);
    ck_assert_uint_eq(after.launch, before.launch + 2);
    ck_assert_uint_eq(after.current_device, before.current_device + 1);
    ck_assert_uint_eq(after.stream_device, before.stream_device);
    ck_assert_uint_eq(after.sync, before.sync);
    ck_assert_uint_eq(after.map_host, before.map_host);
    ck_assert_uint_eq(after.device_address, before.device_address);

    /* scan_init, then the scan, on the same result; in the graph only. */
    ck_assert_uint_eq(fake_launches(), first + 2);
    ck_assert_uint_eq(fake_gpu_pending(), 0);
    struct fake_launch init = fake_launch_at(first), scan = fake_launch_at(first + 1);
    ck_assert_int_eq(init.kernel, SH_K_SCAN_INIT);
    ck_assert_uint_eq(init.nparams, 1);
    ck_assert_uint_eq(init.grid, 1);
    ck_assert_uint_eq(init.block, 1);
    ck_assert(init.captured);
    ck_assert_int_eq(scan.kernel, SH_K_SCAN_F16);
    ck_assert(scan.captured);
    ck_assert_uint_eq(scan.arg[0], (uintptr_t)m);
    ck_assert_uint_eq(scan.arg[7], init.arg[0]);
    ck_assert(in_mapped(init.arg[0]));
    ASSERT_SUM("captured", 1);

    sh_check_flush_in_signal(); /* nothing replayed yet: nothing to report */
    ck_assert_int_eq(count_ev("nonfinite"), 0);

    /* Replay 1, seen by the poller. */
    fake_gpu_replay(first, 2);
    ck_assert_int_eq(wait_ev("nonfinite", 1, 5), 1);
    const char *rec = nth_ev("nonfinite", 0);
    ASSERT_HAS(rec, "\"seq\":42,");
    ASSERT_HAS(rec, "\"inf\":1,\"pos_inf\":0,\"neg_inf\":1,\"nan\":1,\"numel\":4,"
                    "\"first_index\":0,\"first\":{\"batch\":0,\"row\":0,\"col\":0},\"absmax\":1,");
    ASSERT_HAS(rec, "\"check\":\"async\",\"stream\":\"0x5eed0\",\"device\":5,"
                    "\"captured\":true,\"replay\":1,\"thread\":");

    ASSERT_SUM("checked", 1 + 1); /* the clean check before, replay 1 */
    ASSERT_SUM("unseen_replays", 0);

    /* Replays 2 and 3 with no sweep between them: 2 is never seen. */
    stop_poller();
    unsigned long long checked0 = sumf("checked");
    fake_gpu_replay(first, 2);
    fake_gpu_replay(first, 2);
    sh_check_flush(); /* the sweep */
    ck_assert_int_eq(count_ev("nonfinite"), 2);
    ASSERT_HAS(nth_ev("nonfinite", 1), "\"captured\":true,\"replay\":3,");
    ASSERT_SUM("checked", checked0 + 1); /* replay 3 */
    ASSERT_SUM("unseen_replays", 1);      /* replay 2 */
    /* Every replay is either checked or unseen: 1 + 1 + 1 == 3. */
    ck_assert_uint_eq(1 + (sumf("checked") - checked0) + sumf("unseen_replays"), 3);
    ASSERT_SUM("nonfinite", 2);
    ASSERT_SUM("captured", 1);
    ASSERT_SUM("lost_at_exit", 0);
}
END_TEST

START_TEST(capture_skip_and_unknown)
{
    sh_check_prepare(STREAM);
    struct fake_calls before = fake_calls();
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);

    sh_policy.check_capture = SH_CAPTURE_SKIP;
    fake_set_capture(SH_CAPTURING);
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_launches(), 0);
    ASSERT_SUM("skipped_capture", 1);
    ASSERT_SUM("captured", 0);

    /* A capture status the driver cannot tell: skipped whatever the policy. */
    sh_policy.check_capture = SH_CAPTURE_SCAN;
    fake_set_capture(SH_CAPTURE_UNKNOWN);
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_launches(), 0);
    ASSERT_SUM("skipped_capture", 2);
    ASSERT_SUM("captured", 0);

    struct fake_calls after = fake_calls();
    ck_assert_uint_eq(after.launch, before.launch);
    ck_assert_uint_eq(after.map_host, before.map_host);
    ck_assert_uint_eq(after.device_address, before.device_address);
    ck_assert_uint_eq(after.current_device, before.current_device);

    /* Outside a capture, the skip policy changes nothing. */
    sh_policy.check_capture = SH_CAPTURE_SKIP;
    fake_set_capture(SH_NOT_CAPTURING);
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_launches(), 1);
    fake_gpu_run(-1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_SUM("skipped_capture", 2);
}
END_TEST

START_TEST(capture_launch_failure)
{
    sh_check_prepare(STREAM);
    fake_set_capture(SH_CAPTURING);
    fake_set_launch_error(900, 1); /* scan_init is captured, the scan is not */
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    int saved, fds[2];
    capture_stderr_begin(&saved, fds);
    sh_check_submit(&c);
    const char *err = capture_stderr_end(saved, fds);
    ck_assert_int_eq(count_lines(err), 1);
    ASSERT_HAS(err, "safehalf: cannot launch the Inf/NaN scan (CUDA error 900)");
    ASSERT_SUM("launch_failed", 1);
    ASSERT_SUM("captured", 0);
    ASSERT_SUM("skipped_capture", 0);
    ck_assert_uint_eq(fake_launches(), 1);
    fake_gpu_replay(0, 1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 0);
    ASSERT_SUM("checked", 0);
}
END_TEST

/* ---- 5. the seqlock reader ----------------------------------------------------------- */

START_TEST(captured_result_read_only_when_final)
{
    static uint16_t out[4] = { F16_PINF, F16_ONE, F16_ONE, F16_ONE };
    static uint16_t a[4] = { F16_ONE, F16_ONE, F16_ONE, F16_ONE };
    sh_policy.check_inputs = true;
    sh_check_prepare(STREAM);
    start_poller_with_clean_check();
    stop_poller(); /* every sweep below is the test's */
    unsigned long long checked0 = sumf("checked");

    fake_set_capture(SH_CAPTURING);
    unsigned first = fake_launches();
    struct sh_check_call c = call_on(SH_SCAN_F16, out, 2, 2);
    c.nin = 1;
    c.in_name[0] = "A";
    c.in[0] = matrix(SH_SCAN_F16, a, 2, 2, 2, 0, 1);
    sh_check_submit(&c);
    fake_set_capture(SH_NOT_CAPTURING);
    ck_assert_uint_eq(fake_launches(), first + 4);
    ck_assert_int_eq(fake_launch_at(first + 0).kernel, SH_K_SCAN_INIT);
    ck_assert_int_eq(fake_launch_at(first + 1).kernel, SH_K_SCAN_F16);
    ck_assert_int_eq(fake_launch_at(first + 2).kernel, SH_K_SCAN_INIT);
    ck_assert_int_eq(fake_launch_at(first + 3).kernel, SH_K_SCAN_F16);
    ck_assert_uint_eq(fake_launch_at(first + 1).arg[7], fake_launch_at(first).arg[0]);
    ck_assert_uint_eq(fake_launch_at(first + 3).arg[7], fake_launch_at(first + 2).arg[0]);
    ck_assert_uint_eq(fake_launch_at(first + 2).arg[0],
                      fake_launch_at(first).arg[0] + sizeof(struct sh_scan_result));
    /* Each result has a partial of its own, named by its place in the pool
     * (a captured scan's too): two scans replayed at once never share one. */
    ck_assert_uint_eq(fake_launch_at(first + 3).arg[8], fake_launch_at(first + 1).arg[8] + 1);
    ck_assert_uint_eq(fake_launch_at(first + 1).arg[7] -
                          fake_launch_at(first + 1).arg[8] * sizeof(struct sh_scan_result),
                      fake_launch_at(first + 3).arg[7] -
                          fake_launch_at(first + 3).arg[8] * sizeof(struct sh_scan_result));
    ck_assert_uint_lt(fake_launch_at(first + 3).arg[8], SH_SCAN_NPARTIALS);

    /* The output's result reset (done = 0, generation 1): not read. */
    fake_gpu_replay(first, 1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 0);
    /* The output's final, the input's still from before (generation 0). */
    fake_gpu_replay(first + 1, 1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 0);
    /* The input's reset: done = 0 again on one of them. */
    fake_gpu_replay(first + 2, 1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 0);
    /* All final, same generation: one record. */
    fake_gpu_replay(first + 3, 1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"inputs_finite\":true,\"inputs\":{\"A\":{\"inf\":0,"
                                       "\"nan\":0}},\"action\":\"logged\"");
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"captured\":true,\"replay\":1,");
    /* Sweeps without a new replay add nothing. */
    sh_check_flush();
    sh_check_flush_in_signal();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_SUM("checked", checked0 + 1);
    /* The next replay, the output's part only: both results final, but of
     * different generations (2 and 1): not read. */
    fake_gpu_replay(first, 2);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    /* The input's part: generation 2 everywhere, reported once more. */
    fake_gpu_replay(first + 2, 2);
    sh_check_flush();
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 2);
    ASSERT_HAS(nth_ev("nonfinite", 1), "\"replay\":2,");
    ASSERT_SUM("checked", checked0 + 2);
    ASSERT_SUM("unseen_replays", 0);
}
END_TEST

/* ---- 6. sync mode -------------------------------------------------------------------- */

START_TEST(sync_mode_reports_before_returning)
{
    sh_policy.check = SH_CHECK_SYNC;
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_calls().sync, 1);
    ck_assert_int_eq(count_ev("nonfinite"), 1); /* no waiting */
    const char *rec = nth_ev("nonfinite", 0);
    ASSERT_HAS(rec, "\"action\":\"logged\",\"check\":\"sync\",");
    char tid[32];
    snprintf(tid, sizeof tid, "%ld", sh_log_tid());
    ASSERT_FIELD(rec, "tid", tid); /* written by the calling thread */
    ASSERT_FIELD(rec, "thread", tid);

    c = call_on(SH_SCAN_F16, clean16, 2, 2);
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_calls().sync, 2);
    ck_assert_int_eq(count_ev("nonfinite"), 1);

    c = call_on(SH_SCAN_F16, bad16, 2, 2);
    c.seq = 3;
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_calls().sync, 3);
    ck_assert_int_eq(count_ev("nonfinite"), 2);
    ASSERT_FIELD(nth_ev("nonfinite", 1), "seq", "3");
    ck_assert_uint_eq(fake_gpu_pending(), 0);
    ASSERT_SUM("checked", 3);
    ASSERT_SUM("nonfinite", 2);
    double t0 = now_s();
    sh_check_flush();
    ck_assert(now_s() - t0 < 1); /* nothing in flight */
    ASSERT_SUM("lost_at_exit", 0);
}
END_TEST

/* ---- 7. saturate ----------------------------------------------------------------------- */

START_TEST(saturate_f16_and_bf16)
{
    static uint16_t h[6] = { F16_PINF, F16_ONE, F16_NAN, F16_NINF, F16_TWO, F16_M3_5 };
    static uint16_t hin[4] = { F16_ONE, F16_PINF, F16_ONE, F16_ONE };
    static uint16_t b[4] = { BF16_PINF, BF16_ONE, BF16_NAN, BF16_NINF };
    sh_policy.on_nonfinite = SH_ON_SATURATE;

    struct sh_check_call c = call_on(SH_SCAN_F16, h, 2, 3);
    c.seq = 1;
    c.nin = 1;
    c.in_name[0] = "A";
    c.in[0] = matrix(SH_SCAN_F16, hin, 2, 2, 2, 0, 1);
    sh_check_submit(&c);
    c = call_on(SH_SCAN_BF16, b, 2, 2);
    c.seq = 2;
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_launches(), 3);
    ck_assert_int_eq(fake_launch_at(0).kernel, SH_K_SATURATE_F16);
    ck_assert_int_eq(fake_launch_at(1).kernel, SH_K_SCAN_F16); /* inputs are only scanned */
    ck_assert_int_eq(fake_launch_at(2).kernel, SH_K_SATURATE_BF16);
    /* Not run yet: nothing changed. */
    ck_assert_uint_eq(h[0], F16_PINF);
    ck_assert_uint_eq(b[0], BF16_PINF);

    fake_gpu_run(-1);
    static const uint16_t h_after[6] = { F16_MAX, F16_ONE, F16_NAN, F16_NMAX, F16_TWO, F16_M3_5 };
    static const uint16_t b_after[4] = { BF16_MAX, BF16_ONE, BF16_NAN, BF16_NMAX };
    for (int i = 0; i < 6; i++)
        ck_assert_msg(h[i] == h_after[i], "h[%d] = 0x%04x", i, h[i]);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(b[i] == b_after[i], "b[%d] = 0x%04x", i, b[i]);
    ck_assert_uint_eq(hin[1], F16_PINF);

    ck_assert_int_eq(wait_ev("nonfinite", 2, 5), 2);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 2);
    const char *r1 = record_with("\"seq\":1,");
    ck_assert_ptr_nonnull(r1);
    ASSERT_HAS(r1, "\"inf\":2,\"pos_inf\":1,\"neg_inf\":1,\"nan\":1,\"numel\":6,"
                   "\"first_index\":0,\"first\":{\"batch\":0,\"row\":0,\"col\":0},"
                   "\"absmax\":3.5,\"inputs_finite\":false,"
                   "\"inputs\":{\"A\":{\"inf\":1,\"nan\":0}},\"action\":\"saturated\",");
    const char *r2 = record_with("\"seq\":2,");
    ck_assert_ptr_nonnull(r2);
    ASSERT_HAS(r2, "\"ctype\":\"CUDA_R_16BF\",");
    ASSERT_HAS(r2, "\"inf\":2,\"pos_inf\":1,\"neg_inf\":1,\"nan\":1,\"numel\":4,"
                   "\"first_index\":0,\"first\":{\"batch\":0,\"row\":0,\"col\":0},\"absmax\":1,"
                   "\"inputs_finite\":null,\"action\":\"saturated\",");
}
END_TEST

/* ---- 8. SAFEHALF_MAX_RECORDS ---------------------------------------------------------- */

START_TEST(max_records_per_site)
{
    sh_policy.max_records = 2;
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    for (int i = 0; i < 5; i++) {
        c.seq = (unsigned long long)i + 1;
        sh_check_submit(&c);
    }
    fake_gpu_run(-1);
    sh_check_flush();
    ASSERT_SUM("nonfinite", 5);
    ASSERT_SUM("records_suppressed", 3);
    ck_assert_int_eq(count_ev("nonfinite"), 2);
    ck_assert_uint_eq(atomic_load(&counts.nonfinite), 5);

    c.caller = CALLER2; /* another call site */
    c = with_site(c);
    c.seq = 6;
    sh_check_submit(&c);
    c.seq = 7;
    sh_check_submit(&c);
    c.seq = 8;
    sh_check_submit(&c);
    c.caller = CALLER; /* the first site's caller, another shape: another site */
    c.k = 9;
    c = with_site(c);
    c.seq = 9;
    sh_check_submit(&c);
    fake_gpu_run(-1);
    sh_check_flush();
    ASSERT_SUM("nonfinite", 9);
    ASSERT_SUM("records_suppressed", 3 + 1);
    ck_assert_int_eq(count_ev("nonfinite"), 2 + 2 + 1);
    char caller2[64];
    snprintf(caller2, sizeof caller2, "\"caller\":{\"address\":\"0x%llx\"",
             (unsigned long long)(uintptr_t)CALLER2);
    int n2 = 0;
    for (int i = 0; i < 5; i++)
        n2 += strstr(nth_ev("nonfinite", i), caller2) != NULL;
    ck_assert_int_eq(n2, 2);
    ck_assert_ptr_nonnull(record_with("\"seq\":9,"));
}
END_TEST

/* A field of the summary's "sites" object. */
static unsigned long long sites_field(const char *key)
{
    return summary_field(sh_sites_summary, key);
}

/* More shapes than the call-site table holds, each made twice (lookups are
 * bounded, so a full table stays cheap): every site added is found again,
 * nearly the whole table is used, and each call is counted once, at its
 * site or as untracked. */
START_TEST(site_table_full)
{
    enum { SHAPES = 6000 };
    static int site_of[SHAPES];
    int tracked = 0;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < SHAPES; i++) {
            struct sh_call call = { .active = true, .seq = 1, .caller = CALLER, .gemm = true,
                                    .action = SH_ACT_PASS, .m = i + 1, .n = 2, .k = 8,
                                    .batch = 1, .atype = SH_R_16F, .btype = SH_R_16F,
                                    .ctype = SH_R_16F, .compute = SH_COMPUTE_32F,
                                    .compute_used = SH_COMPUTE_32F };
            sh_site_enter(&call, "cublasGemmEx", &names);
            if (round == 0) {
                site_of[i] = call.site;
                tracked += call.site >= 0;
            } else {
                ck_assert_msg(call.site == site_of[i], "shape %d: site %d, then %d", i,
                              site_of[i], call.site);
            }
        }
    ck_assert_msg(tracked <= 4096 && tracked >= 4096 * 9 / 10, "%d sites kept", tracked);
    ck_assert_uint_eq(sites_field("tracked"), (unsigned long long)tracked);
    ck_assert_uint_eq(sites_field("untracked_calls"), 2ull * (SHAPES - tracked));
}
END_TEST

START_TEST(max_records_zero_only_counts)
{
    sh_policy.max_records = 0;
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    sh_check_submit(&c);
    fake_gpu_run(-1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 0);
    ASSERT_SUM("nonfinite", 2);
    ASSERT_SUM("records_suppressed", 2);
    ck_assert_uint_eq(atomic_load(&counts.nonfinite), 2);
}
END_TEST

/* ---- 9. inputs ------------------------------------------------------------------------------ */

START_TEST(inputs_in_records)
{
    static uint16_t a_nan[4] = { F16_ONE, F16_NAN, F16_ONE, F16_ONE };
    static uint16_t a_ok[4] = { F16_ONE, F16_ONE, F16_ONE, F16_ONE };
    static uint16_t b_ok[4] = { BF16_ONE, BF16_ONE, BF16_ONE, BF16_ONE };
    static uint16_t b_inf[4] = { BF16_ONE, BF16_ONE, BF16_NINF, BF16_ONE };
    sh_policy.check_inputs = true;
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    c.nin = 2;
    c.in_name[0] = "A";
    c.in_name[1] = "B";
    c.in[0] = matrix(SH_SCAN_F16, a_nan, 2, 2, 2, 0, 1);
    c.in[1] = matrix(SH_SCAN_BF16, b_ok, 2, 2, 2, 0, 1);
    c.seq = 1;
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_launches(), 3);
    ck_assert_int_eq(fake_launch_at(0).kernel, SH_K_SCAN_F16);
    ck_assert_int_eq(fake_launch_at(1).kernel, SH_K_SCAN_F16);
    ck_assert_int_eq(fake_launch_at(2).kernel, SH_K_SCAN_BF16);
    ck_assert_uint_eq(fake_launch_at(1).arg[0], (uintptr_t)a_nan);
    ck_assert_uint_eq(fake_launch_at(2).arg[0], (uintptr_t)b_ok);
    ck_assert_uint_eq(fake_launch_at(1).arg[7], fake_launch_at(0).arg[7] + 48);
    ck_assert_uint_eq(fake_launch_at(2).arg[7], fake_launch_at(0).arg[7] + 96);

    /* B of a type no kernel reads: nothing launched for it. */
    c.in_name[1] = NULL;
    c.in[0] = matrix(SH_SCAN_F16, a_ok, 2, 2, 2, 0, 1);
    c.seq = 2;
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_launches(), 5);

    c.in_name[1] = "B";
    c.seq = 3;
    sh_check_submit(&c);

    c.in_name[0] = NULL;
    c.in[1] = matrix(SH_SCAN_BF16, b_inf, 2, 2, 2, 0, 1);
    c.seq = 4;
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_launches(), 5 + 3 + 2);

    fake_gpu_run(-1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 4);
    const char *r;
    ck_assert_ptr_nonnull(r = record_with("\"seq\":1,"));
    ASSERT_HAS(r, "\"absmax\":2,\"inputs_finite\":false,\"inputs\":{\"A\":{\"inf\":0,\"nan\":1},"
                  "\"B\":{\"inf\":0,\"nan\":0}},\"action\":\"logged\",");
    ck_assert_ptr_nonnull(r = record_with("\"seq\":2,"));
    ASSERT_HAS(r, "\"absmax\":2,\"inputs_finite\":null,\"inputs\":{\"A\":{\"inf\":0,\"nan\":0}},"
                  "\"action\":\"logged\",");
    ck_assert_ptr_nonnull(r = record_with("\"seq\":3,"));
    ASSERT_HAS(r, "\"absmax\":2,\"inputs_finite\":true,\"inputs\":{\"A\":{\"inf\":0,\"nan\":0},"
                  "\"B\":{\"inf\":0,\"nan\":0}},\"action\":\"logged\",");
    ck_assert_ptr_nonnull(r = record_with("\"seq\":4,"));
    ASSERT_HAS(r, "\"absmax\":2,\"inputs_finite\":false,\"inputs\":{\"B\":{\"inf\":1,\"nan\":0}},"
                  "\"action\":\"logged\",");
    ASSERT_SUM("checked", 4);
}
END_TEST

/* ---- 10. launch failure --------------------------------------------------------------------- */

START_TEST(launch_failure)
{
    static uint16_t a[4] = { F16_ONE, F16_ONE, F16_ONE, F16_ONE };
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    fake_set_launch_error(700, 0);
    int saved, fds[2];
    capture_stderr_begin(&saved, fds);
    for (int i = 0; i < 3; i++)
        sh_check_submit(&c);
    const char *err = capture_stderr_end(saved, fds);
    ck_assert_int_eq(count_lines(err), 1);
    ck_assert_str_eq(err, "safehalf: cannot launch the Inf/NaN scan (CUDA error 700); such calls "
                          "are not checked\n");
    ck_assert_uint_eq(fake_calls().launch, 3);
    ck_assert_uint_eq(fake_launches(), 0);
    ASSERT_SUM("launch_failed", 3);

    /* Failed slots are freed: twice the pool's worth never fills it. */
    for (int i = 0; i < 2048; i++)
        sh_check_submit(&c);
    ASSERT_SUM("launch_failed", 3 + 2048);
    ASSERT_SUM("skipped_pool_full", 0);

    /* The output's scan launched, the input's not: freed once the output's
     * scan has run, without a record. */
    fake_set_launch_error(700, 1);
    c.nin = 1;
    c.in_name[0] = "A";
    c.in[0] = matrix(SH_SCAN_F16, a, 2, 2, 2, 0, 1);
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_launches(), 1);
    ASSERT_SUM("launch_failed", 3 + 2048 + 1);

    /* Later checks work. */
    fake_set_launch_error(0, 0);
    c = call_on(SH_SCAN_F16, bad16, 2, 2);
    c.seq = 99;
    sh_check_submit(&c);
    fake_gpu_run(-1);
    ck_assert_int_eq(wait_ev("nonfinite", 1, 5), 1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_FIELD(nth_ev("nonfinite", 0), "seq", "99");
    ASSERT_SUM("checked", 1);
    ASSERT_SUM("lost_at_exit", 0);
    ASSERT_SUM("launch_failed", 3 + 2048 + 1);
    ck_assert_int_eq(count_ev("warn"), 1);
}
END_TEST

/* ---- 11. sh_check_wanted ------------------------------------------------------------------- */

/* Outputs cuDNN put into a CUDA graph itself: counted once per call whose
 * outputs the policy would check (a 16-bit one among them, checks on), said
 * once; never a scan or a record. */
START_TEST(native_graph_counted)
{
    static const int half_and_float[] = { SH_R_32F, SH_R_16F }, float_only[] = { SH_R_32F };
    sh_check_native_graph("cudnnBackendPopulateCudaGraph", half_and_float, 2);
    sh_check_native_graph("cudnnBackendUpdateCudaGraph", half_and_float, 2);
    sh_check_native_graph("cudnnBackendPopulateCudaGraph", float_only, 1);
    sh_check_native_graph("cudnnBackendPopulateCudaGraph", half_and_float, 0);
    sh_policy.check = SH_CHECK_OFF;
    sh_check_native_graph("cudnnBackendPopulateCudaGraph", half_and_float, 2);
    sh_policy.check = SH_CHECK_ALL;
    ASSERT_SUM("skipped_native_graph", 2);
    ASSERT_SUM("checked", 0);
    ck_assert_int_eq(count_ev("warn"), 1);
    ASSERT_HAS(nth_ev("warn", 0), "cudnnBackendPopulateCudaGraph: cuDNN put a plan's kernels");
    ck_assert_int_eq(fake_gpu_run(-1), 0); /* nothing launched */
}
END_TEST

START_TEST(wanted_sampling)
{
    sh_policy.check = SH_CHECK_EVERY;
    sh_policy.check_every = 3;
    /* nth counts FP16/BF16 outputs only: 0 1 . 2 3 . 4 5 6 */
    static const int types[] = { SH_R_16F, SH_R_16BF, SH_R_32F, SH_R_16F, SH_R_16BF,
                                 SH_R_32F, SH_R_16F,  SH_R_16F, SH_R_16BF };
    static const bool want[] = { true, false, false, false, true, false, false, false, true };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        ck_assert_msg(sh_check_wanted(types[i]) == want[i], "call %zu", i);

    sh_policy.check = SH_CHECK_ALL;
    ck_assert(sh_check_wanted(SH_R_16F));
    ck_assert(sh_check_wanted(SH_R_16BF));
    ck_assert(!sh_check_wanted(SH_R_32F));
    sh_policy.check = SH_CHECK_SYNC;
    ck_assert(sh_check_wanted(SH_R_16F));
    sh_policy.check = SH_CHECK_OFF;
    ck_assert(!sh_check_wanted(SH_R_16F));
    ck_assert(!sh_check_wanted(SH_R_16BF));
    sh_policy.check = SH_CHECK_ALL;
    sh_policy.mode = SH_MODE_OFF;
    ck_assert(!sh_check_wanted(SH_R_16F));
    sh_policy.mode = SH_MODE_UPCAST;

    /* After sh_check_after_fork the sampling starts again at 0. */
    sh_policy.check = SH_CHECK_EVERY;
    sh_policy.check_every = 2;
    sh_check_after_fork();
    ck_assert(sh_check_wanted(SH_R_16F));
    ck_assert(!sh_check_wanted(SH_R_16F));
    ck_assert(sh_check_wanted(SH_R_16BF));
    sh_check_after_fork();
    ck_assert(sh_check_wanted(SH_R_16BF));
}
END_TEST

/* ---- 12. the crash handler's flush ---------------------------------------------------------- */

START_TEST(flush_in_signal_without_dladdr)
{
    start_poller_with_clean_check();
    stop_poller();
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    c.seq = 5;
    sh_check_submit(&c);
    c.seq = 6;
    sh_check_submit(&c);
    fake_gpu_run(1);
    sh_check_flush_in_signal();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    char want[128];
    snprintf(want, sizeof want, "\"caller\":{\"address\":\"0x%llx\"}}",
             (unsigned long long)(uintptr_t)CALLER);
    const char *rec = nth_ev("nonfinite", 0);
    ASSERT_FIELD(rec, "seq", "5");
    ASSERT_HAS(rec, want);
    ck_assert_ptr_null(strstr(rec, "\"object\""));

    /* The same call site outside a signal: the loader names it. */
    fake_gpu_run(-1);
    sh_check_flush();
    ck_assert_int_eq(count_ev("nonfinite"), 2);
    rec = nth_ev("nonfinite", 1);
    ASSERT_FIELD(rec, "seq", "6");
    snprintf(want, sizeof want, "\"caller\":{\"address\":\"0x%llx\",\"object\":\"",
             (unsigned long long)(uintptr_t)CALLER);
    ASSERT_HAS(rec, want);
    ASSERT_HAS(rec, "\"offset\":\"0x");
}
END_TEST

START_TEST(flush_in_signal_does_not_abort)
{
    sh_policy.on_nonfinite = SH_ON_ABORT;
    /* The poller would see the result and abort: stop it first. */
    start_poller_with_clean_check();
    stop_poller();
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    fake_gpu_run(-1);
    sh_check_flush_in_signal();
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"action\":\"aborted\",");
}
END_TEST

/* The crash handler runs on the alternate signal stack of the thread that
 * crashed, when it has one: 8 KiB (SIGSTKSZ of old) in Rust's threads and
 * many C programs, of which the kernel's frame takes several KiB on a CPU
 * with AVX-512. A finished scan and the site counts must fit in the rest. */
static void prior_abort_handler(int sig)
{
    (void)sig;
}

START_TEST(crash_record_on_a_small_signal_stack)
{
    start_poller_with_clean_check();
    stop_poller();
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    fake_gpu_run(-1);
    /* A handler of the program's own, so the chained SIGABRT returns. */
    struct sigaction prior = { .sa_handler = prior_abort_handler };
    sigemptyset(&prior.sa_mask);
    ck_assert_int_eq(sigaction(SIGABRT, &prior, NULL), 0);
    sh_crash_install();
    size_t page = (size_t)sysconf(_SC_PAGESIZE), size = 8192;
    char *mem = mmap(NULL, page + size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(mem, MAP_FAILED);
    ck_assert_int_eq(mprotect(mem, page, PROT_NONE), 0); /* a guard page below, as Rust's */
    stack_t ss = { .ss_sp = mem + page, .ss_size = size };
    ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
    raise(SIGABRT);
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ck_assert_int_eq(count_ev("counts"), 1);
    ck_assert_int_eq(count_ev("crash"), 1);
}
END_TEST

/* ---- more: abort, mapping, driver missing ---------------------------------------------------- */

START_TEST(abort_in_sync_mode)
{
    sh_policy.on_nonfinite = SH_ON_ABORT;
    sh_policy.check = SH_CHECK_SYNC;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
        sh_check_submit(&c);
        _exit(0); /* not reached */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(WTERMSIG(status), SIGABRT);
    ck_assert_int_eq(count_ev("nonfinite"), 1);
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"action\":\"aborted\",\"check\":\"sync\",");
}
END_TEST

START_TEST(map_failure_turns_checks_off)
{
    fake_set_map_fail(true);
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    int saved, fds[2];
    capture_stderr_begin(&saved, fds);
    sh_check_submit(&c);
    sh_check_submit(&c);
    const char *err = capture_stderr_end(saved, fds);
    ck_assert_str_eq(err, "safehalf: cannot map memory for Inf/NaN check results; checks are "
                          "off\n");
    ck_assert_uint_eq(fake_calls().map_host, 1);
    ck_assert_uint_eq(fake_calls().launch, 0);
    ck_assert(!sh_check_wanted(SH_R_16F));
    sh_check_flush(); /* nothing mapped: returns at once */
    ASSERT_SUM("checked", 0);
}
END_TEST

START_TEST(device_reset_maps_again_once)
{
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_calls().map_host, 1);
    fake_unmap_all(); /* the program resets its device */
    c.seq = 2;
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_calls().map_host, 2);
    ck_assert_uint_eq(fake_launches(), 2);
    ck_assert(in_mapped(fake_launch_at(1).arg[7]));
    fake_gpu_run(-1);
    ck_assert_int_eq(wait_ev("nonfinite", 2, 5), 2);

    fake_unmap_all(); /* again: not mapped a second time, checks are off */
    int saved, fds[2];
    capture_stderr_begin(&saved, fds);
    c.seq = 3;
    sh_check_submit(&c);
    const char *err = capture_stderr_end(saved, fds);
    ck_assert_str_eq(err, "safehalf: the Inf/NaN check results are no longer mapped (device "
                          "reset?); checks are off\n");
    ck_assert_uint_eq(fake_calls().map_host, 2);
    ck_assert_uint_eq(fake_launches(), 2);
    ck_assert(!sh_check_wanted(SH_R_16F));
}
END_TEST

START_TEST(no_driver_no_checks)
{
    fake_set_ready(false);
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    sh_check_prepare(STREAM);
    ck_assert_uint_eq(fake_calls().map_host, 0);
    ck_assert_uint_eq(fake_calls().launch, 0);
    ck_assert_uint_eq(fake_calls().capture, 0);
    /* An empty output: nothing asked of the driver at all. */
    fake_set_ready(true);
    c.out.rows = 0;
    sh_check_submit(&c);
    ck_assert_uint_eq(fake_calls().capture, 0);
    ck_assert_uint_eq(fake_calls().launch, 0);
}
END_TEST

/* ---- regressions ---------------------------------------------------------------------------- */

/* A captured call with an input of a type no kernel reads (in_name NULL):
 * that input's result is marked done once on the host, generation 0, while
 * the output's generation moves with every replay; the slot must still be
 * reported. */
START_TEST(captured_unscannable_input)
{
    static uint16_t a[4] = { F16_ONE, F16_ONE, F16_ONE, F16_ONE };
    sh_policy.check_inputs = true;
    sh_check_prepare(STREAM);
    fake_set_capture(SH_CAPTURING);
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    c.nin = 2;
    c.in_name[0] = "A";
    c.in[0] = matrix(SH_SCAN_F16, a, 2, 2, 2, 0, 1);
    c.in_name[1] = NULL; /* B: say, an INT8 input */
    sh_check_submit(&c);
    fake_set_capture(SH_NOT_CAPTURING);
    ASSERT_SUM("captured", 1);
    ck_assert_uint_eq(fake_launches(), 4);
    fake_gpu_replay(0, 4);
    sh_check_flush();
    ck_assert_msg(count_ev("nonfinite") == 1, "the replay was not reported");
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"inputs_finite\":null,");
}
END_TEST

/* A program whose checked calls are all captured into graphs still has a
 * poller reporting replays as they happen, not only at exit. */
START_TEST(capture_only_program_has_a_poller)
{
    sh_check_prepare(STREAM);
    fake_set_capture(SH_CAPTURING);
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    fake_set_capture(SH_NOT_CAPTURING);
    fake_gpu_replay(0, 2);
    ck_assert_msg(wait_ev("nonfinite", 1, 2) == 1, "replay 1 not reported within 2 s (poller "
                                                   "running: %d)", poller_running());
}
END_TEST

/* At exit, a graph replay still running on the GPU (its reset has run, its
 * scan has not yet) is a scan in flight like any other: the exit waits for
 * it and reports it, or counts it lost when it never finishes. A captured
 * scan never replayed is not waited for. */
struct replayer {
    pthread_t t;
    unsigned first, n;
    long delay_ms;
};

static void *replayer_main(void *arg)
{
    struct replayer *r = arg;
    nap_ms(r->delay_ms);
    fake_gpu_replay(r->first, r->n);
    return NULL;
}

START_TEST(flush_waits_for_a_replay_under_way)
{
    sh_check_prepare(STREAM);
    fake_set_capture(SH_CAPTURING);
    unsigned first = fake_launches();
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    c.seq = 44;
    sh_check_submit(&c);
    c = call_on(SH_SCAN_F16, clean16, 2, 2);
    c.seq = 45;
    sh_check_submit(&c); /* replayed never */
    fake_set_capture(SH_NOT_CAPTURING);
    ck_assert_uint_eq(fake_launches(), first + 4);
    fake_gpu_replay(first, 1); /* seq 44's reset has run, its scan not yet */
    struct replayer r = { .first = first + 1, .n = 1, .delay_ms = 50 };
    ck_assert_int_eq(pthread_create(&r.t, NULL, replayer_main, &r), 0);
    double t0 = now_s();
    sh_check_flush();
    double took = now_s() - t0;
    ck_assert_msg(count_ev("nonfinite") == 1, "the replay under way at exit was not reported");
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"seq\":44,");
    ASSERT_HAS(nth_ev("nonfinite", 0), "\"captured\":true,\"replay\":1,");
    ck_assert_msg(took < 1.5, "flush took %.3f s", took);
    pthread_join(r.t, NULL);
    ASSERT_SUM("lost_at_exit", 0);
}
END_TEST

START_TEST(replay_never_finished_lost_at_exit)
{
    sh_check_prepare(STREAM);
    fake_set_capture(SH_CAPTURING);
    unsigned first = fake_launches();
    struct sh_check_call c = call_on(SH_SCAN_F16, bad16, 2, 2);
    sh_check_submit(&c);
    fake_set_capture(SH_NOT_CAPTURING);
    fake_gpu_replay(first, 1); /* the reset, and never the scan */
    double t0 = now_s();
    sh_check_flush();
    double took = now_s() - t0;
    ck_assert_msg(took >= 1.9 && took < 10, "flush took %.3f s", took);
    ck_assert_int_eq(count_ev("nonfinite"), 0);
    ASSERT_SUM("lost_at_exit", 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("detect");
    TCase *t = tcase_create("detect");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, finished_scan_one_record);
    tcase_add_test(t, clean_output_no_record_and_summary);
    tcase_add_test(t, native_graph_counted);
    tcase_add_test(t, not_run_not_reported);
    tcase_add_test(t, flush_waits_for_the_gpu);
    tcase_add_test(t, never_run_lost_at_exit);
    tcase_add_test(t, pool_full_skips_after_waiting);
    tcase_add_test(t, waiting_call_proceeds_when_gpu_catches_up);
    tcase_add_test(t, overtaken_sweep_leaves_the_new_call);
    tcase_add_test(t, replay_reported_once_by_racing_sweeps);
    tcase_add_test(t, exit_loses_what_the_poller_would_report_late);
    tcase_add_test(t, capture_scans_every_replay);
    tcase_add_test(t, capture_skip_and_unknown);
    tcase_add_test(t, capture_launch_failure);
    tcase_add_test(t, captured_result_read_only_when_final);
    tcase_add_test(t, sync_mode_reports_before_returning);
    tcase_add_test(t, saturate_f16_and_bf16);
    tcase_add_test(t, max_records_per_site);
    tcase_add_test(t, max_records_zero_only_counts);
    tcase_add_test(t, site_table_full);
    tcase_add_test(t, inputs_in_records);
    tcase_add_test(t, launch_failure);
    tcase_add_test(t, wanted_sampling);
    tcase_add_test(t, flush_in_signal_without_dladdr);
    tcase_add_test(t, flush_in_signal_does_not_abort);
    tcase_add_test(t, crash_record_on_a_small_signal_stack);
    tcase_add_test(t, abort_in_sync_mode);
    tcase_add_test(t, map_failure_turns_checks_off);
    tcase_add_test(t, device_reset_maps_again_once);
    tcase_add_test(t, no_driver_no_checks);
    tcase_add_test(t, captured_unscannable_input);
    tcase_add_test(t, capture_only_program_has_a_poller);
    tcase_add_test(t, flush_waits_for_a_replay_under_way);
    tcase_add_test(t, replay_never_finished_lost_at_exit);
    suite_add_tcase(s, t);

    return sh_run_suite(s);
}
