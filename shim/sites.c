#include "sites.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "decide.h"
#include "detect.h"
#include "hashwords.h"
#include "lazymap.h"
#include "log.h"
#include "pysite.h"
#include "runtime.h"

#define NSITES 4096
/* Entries a lookup looks at: a full table must not cost every call with a
 * new shape (a server's dynamic shapes) a walk over all of it. A site is
 * added within this many of its hash's slot, or not at all (counted as
 * untracked), so a lookup that finds none here has none anywhere. */
#define MAX_PROBE 32
/* Sites per counts record: a record stays a few kilobytes. */
#define COUNTS_PER_RECORD 50
#define BACKTRACE_MAX 24

/* Everything that tells two sites apart, in words: built, hashed and
 * compared as words, since this runs on every half-precision call (a word
 * loaded over narrower stores waits for them). */
enum { K_API, K_CALLER, K_PYSTACK_ATYPE, K_BTYPE_CTYPE, K_COMPUTES, K_M, K_N, K_K, K_BATCH,
       KEY_WORDS };
struct key {
    unsigned long long w[KEY_WORDS];
};

static unsigned long long pair(int lo, int hi)
{
    return (unsigned long long)(unsigned)lo | (unsigned long long)(unsigned)hi << 32;
}

static int low(unsigned long long w)
{
    return (int)(unsigned)w;
}

static int high(unsigned long long w)
{
    return (int)(unsigned)(w >> 32);
}

struct site {
    atomic_uint state; /* EMPTY, FILLING, READY */
    unsigned id;
    unsigned long long hash;
    struct key key;
    const struct sh_lib_ops *lib; /* the call's library and api, for the summary */
    int api;
    atomic_ulong calls, upcasts, checked, nonfinite, records;
};

enum { EMPTY, FILLING, READY };

/* mmap'd at the first tracked call, so a forked child can drop the
 * parent's counts without copying the pages (MADV_DONTNEED). */
static _Atomic(void *) sites;
static atomic_uint next_id;
static atomic_ulong untracked_calls, overflow_records;

static __attribute__((tls_model("initial-exec"))) _Thread_local char thread_name[16];
static __attribute__((tls_model("initial-exec"))) _Thread_local bool thread_named;

const char *sh_thread_name(void)
{
    if (!thread_named) {
        if (pthread_getname_np(pthread_self(), thread_name, sizeof thread_name) != 0)
            thread_name[0] = '\0';
        thread_named = true;
    }
    return thread_name;
}

static struct site *table(void)
{
    return sh_map_once(&sites, sizeof(struct site) * NSITES);
}

bool sh_site_tracked(const struct sh_call *c)
{
    return (c->gemm || c->reduction) && sh_decide_tracked(c->ctype, c->compute, c->action);
}

static unsigned long long hash_words(const struct key *k)
{
    return sh_hash_words(k, sizeof *k);
}

static bool same_key(const struct key *a, const struct key *b)
{
    unsigned long long diff = 0;
    for (size_t i = 0; i < KEY_WORDS; i++)
        diff |= a->w[i] ^ b->w[i];
    return diff == 0;
}

static void native_backtrace(struct sh_json *j)
{
    void *pc[BACKTRACE_MAX];
    Dl_info self;
    int n = backtrace(pc, BACKTRACE_MAX);
    bool have_self = dladdr((void *)sh_site_enter, &self) != 0;
    sh_json_open(j, "backtrace", '[');
    for (int i = 0; i < n; i++) {
        Dl_info info;
        /* The shim's own frames say nothing about the program. */
        if (have_self && dladdr(pc[i], &info) && info.dli_fbase == self.dli_fbase)
            continue;
        sh_json_caller(j, NULL, pc[i], false);
    }
    sh_json_close(j, ']');
}

static void write_site(const struct site *s, const struct sh_call *c,
                       const struct sh_check_names *names)
{
    char buf[12288];
    struct sh_json j;
    const unsigned long long *k = s->key.w;
    int atype = high(k[K_PYSTACK_ATYPE]), btype = low(k[K_BTYPE_CTYPE]),
        ctype = high(k[K_BTYPE_CTYPE]), compute = low(k[K_COMPUTES]),
        compute_used = high(k[K_COMPUTES]);
    sh_json_begin(&j, buf, sizeof buf, "site");
    sh_json_uint(&j, "id", s->id);
    sh_json_str(&j, "api", (const char *)(uintptr_t)k[K_API]);
    sh_json_uint(&j, "seq", c->seq);
    sh_json_int(&j, "m", (long long)k[K_M]);
    sh_json_int(&j, "n", (long long)k[K_N]);
    sh_json_int(&j, "k", (long long)k[K_K]);
    sh_json_int(&j, "batch", (long long)k[K_BATCH]);
    sh_json_name(&j, "atype", names->data_type(atype), atype);
    sh_json_name(&j, "btype", names->data_type(btype), btype);
    sh_json_name(&j, "ctype", names->data_type(ctype), ctype);
    sh_json_name(&j, "compute", names->compute(compute), compute);
    sh_json_name(&j, "compute_used", names->compute(compute_used), compute_used);
    sh_json_str(&j, "action", sh_action_name(c->action));
    sh_json_int(&j, "thread", sh_log_tid());
    sh_json_str(&j, "thread_name", sh_thread_name());
    sh_json_raw(&j, "site", sh_pysite_json((unsigned)low(k[K_PYSTACK_ATYPE])));
    sh_json_caller(&j, "caller", c->caller, false);
    if (sh_policy.backtrace)
        native_backtrace(&j);
    sh_log_write(&j);
}

/* Lock-free: a new site is claimed by CAS on an empty entry; a reader that
 * meets one being filled waits for it (a few stores away). */
static int find_or_add(const struct key *k, const struct sh_call *c,
                       const struct sh_check_names *names)
{
    struct site *t = table();
    if (!t)
        return -1;
    unsigned long long h = hash_words(k);
    for (unsigned i = 0; i < MAX_PROBE; i++) {
        struct site *s = &t[(h + i) % NSITES];
        unsigned st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == EMPTY) {
            unsigned expect = EMPTY;
            if (atomic_compare_exchange_strong(&s->state, &expect, FILLING)) {
                s->hash = h;
                s->key = *k;
                s->lib = c->lib;
                s->api = c->api;
                s->id = atomic_fetch_add(&next_id, 1) + 1;
                atomic_store_explicit(&s->state, READY, memory_order_release);
                if (sh_log_wants(SH_LEVEL_INFO))
                    write_site(s, c, names);
                return (int)(s - t);
            }
            st = expect;
        }
        while (st == FILLING)
            st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (s->hash == h && same_key(&s->key, k))
            return (int)(s - t);
    }
    return -1;
}

/* A thread tends to make the same call again and again (a training loop's
 * layers, a decode step): the last site it found skips the hash and the
 * probe. A fork empties the table, so a child's threads must not trust a
 * site found before it (generation). */
static atomic_uint generation;
static __attribute__((tls_model("initial-exec"))) _Thread_local struct {
    struct key key;
    int site;
    unsigned generation;
} last = { .site = -1 };

static int lookup(const struct key *k, const struct sh_call *c,
                  const struct sh_check_names *names)
{
    unsigned gen = atomic_load_explicit(&generation, memory_order_relaxed);
    if (same_key(k, &last.key) && last.site >= 0 && last.generation == gen)
        return last.site;
    int site = find_or_add(k, c, names);
    last.key = *k;
    last.site = site;
    last.generation = gen;
    return site;
}

void sh_site_enter(struct sh_call *c, const char *api, const struct sh_check_names *names)
{
    c->pystack = sh_pysite_capture(sh_policy.pystack);
    /* A Python stack says more than the address inside the extension
     * module that made the call, and the same line may reach it through
     * different native paths. */
    const struct key k = { {
        [K_API] = (uintptr_t)api,
        [K_CALLER] = (uintptr_t)(c->pystack ? NULL : c->caller),
        [K_PYSTACK_ATYPE] = pair((int)c->pystack, c->atype),
        [K_BTYPE_CTYPE] = pair(c->btype, c->ctype),
        [K_COMPUTES] = pair(c->compute, c->compute_used),
        [K_M] = (unsigned long long)c->m,
        [K_N] = (unsigned long long)c->n,
        [K_K] = (unsigned long long)c->k,
        [K_BATCH] = (unsigned long long)c->batch,
    } };
    c->site = lookup(&k, c, names);
    struct site *t = sh_mapped(&sites);
    if (c->site < 0) {
        atomic_fetch_add_explicit(&untracked_calls, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&t[c->site].calls, 1, memory_order_relaxed);
    if (c->action == SH_ACT_UPCAST)
        atomic_fetch_add_explicit(&t[c->site].upcasts, 1, memory_order_relaxed);
}

void sh_sites_api_counts(void (*add)(const struct sh_lib_ops *lib, int api, unsigned long calls,
                                     unsigned long upcasts, void *ctx),
                         void *ctx)
{
    struct site *t = sh_mapped(&sites);
    for (int i = 0; t && i < NSITES; i++)
        if (atomic_load_explicit(&t[i].state, memory_order_acquire) == READY)
            add(t[i].lib, t[i].api, atomic_load(&t[i].calls), atomic_load(&t[i].upcasts), ctx);
}

static struct site *get(int site)
{
    struct site *t = sh_mapped(&sites);
    return site >= 0 && t ? &t[site] : NULL;
}

void sh_site_checked(int site, bool nonfinite)
{
    struct site *s = get(site);
    if (!s)
        return;
    atomic_fetch_add_explicit(&s->checked, 1, memory_order_relaxed);
    if (nonfinite)
        atomic_fetch_add_explicit(&s->nonfinite, 1, memory_order_relaxed);
}

unsigned long sh_site_take_record(int site)
{
    struct site *s = get(site);
    return atomic_fetch_add(s ? &s->records : &overflow_records, 1);
}

unsigned sh_site_id(int site)
{
    struct site *s = get(site);
    return s ? s->id : 0;
}

const char *sh_site_frames(int site)
{
    struct site *s = get(site);
    return s ? sh_pysite_json((unsigned)low(s->key.w[K_PYSTACK_ATYPE])) : NULL;
}

#define COUNTS_BYTES 4096

static void write_counts(char *buf)
{
    struct site *t = sh_mapped(&sites);
    struct sh_json j;
    int in_record = 0;
    for (int i = 0; t && i < NSITES; i++) {
        if (atomic_load_explicit(&t[i].state, memory_order_acquire) != READY)
            continue;
        if (!in_record) {
            sh_json_begin(&j, buf, COUNTS_BYTES, "counts");
            sh_json_open(&j, "sites", '[');
        }
        sh_json_open(&j, NULL, '[');
        sh_json_uint(&j, NULL, t[i].id);
        sh_json_uint(&j, NULL, atomic_load(&t[i].calls));
        sh_json_uint(&j, NULL, atomic_load(&t[i].upcasts));
        sh_json_uint(&j, NULL, atomic_load(&t[i].checked));
        sh_json_uint(&j, NULL, atomic_load(&t[i].nonfinite));
        sh_json_close(&j, ']');
        if (++in_record == COUNTS_PER_RECORD) {
            sh_json_close(&j, ']');
            sh_log_write(&j);
            in_record = 0;
        }
    }
    if (in_record) {
        sh_json_close(&j, ']');
        sh_log_write(&j);
    }
}

void sh_sites_write_counts(bool in_signal)
{
    /* Not on the stack: the crash handler may run on an 8 KiB alternate
     * one. Two buffers, as a crash may come while the exit writes: the
     * exit writes counts once, and only the thread writing a crash record
     * (one at a time) gets here with in_signal. */
    static char exit_buf[COUNTS_BYTES], signal_buf[COUNTS_BYTES];
    write_counts(in_signal ? signal_buf : exit_buf);
}

void sh_sites_summary(struct sh_json *j)
{
    sh_json_open(j, "sites", '{');
    sh_json_uint(j, "tracked", atomic_load(&next_id));
    sh_json_uint(j, "untracked_calls", atomic_load(&untracked_calls));
    sh_json_uint(j, "pystacks_dropped", sh_pysite_dropped());
    sh_json_close(j, '}');
}

void sh_sites_after_fork(void)
{
    struct site *t = sh_mapped(&sites);
    if (t)
        madvise(t, sizeof *t * NSITES, MADV_DONTNEED); /* zero pages, nothing copied */
    atomic_fetch_add(&generation, 1);
    atomic_store(&next_id, 0);
    atomic_store(&untracked_calls, 0);
    atomic_store(&overflow_records, 0);
    sh_pysite_after_fork();
}
