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
#include "lazymap.h"
#include "log.h"
#include "pysite.h"
#include "runtime.h"

#define NSITES 4096
/* Sites per counts record: a record stays a few kilobytes. */
#define COUNTS_PER_RECORD 50
#define BACKTRACE_MAX 24

/* Everything that tells two sites apart; compared whole (zeroed padding). */
struct key {
    const char *api;
    const void *caller;
    unsigned pystack;
    int atype, btype, ctype, compute, compute_used;
    long long m, n, k, batch;
};

struct site {
    atomic_uint state; /* EMPTY, FILLING, READY */
    unsigned id;
    unsigned long long hash;
    struct key key;
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

/* The key as words: hashed and compared inline, since this runs on every
 * half-precision call. */
#define KEY_WORDS (sizeof(struct key) / 8)

static void key_words(const struct key *k, unsigned long long *w)
{
    memcpy(w, k, sizeof *k);
}

static unsigned long long hash_words(const unsigned long long *w)
{
    unsigned long long h = 0;
    for (size_t i = 0; i < KEY_WORDS; i++)
        h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 31);
}

static bool same_key(const struct key *a, const unsigned long long *w)
{
    unsigned long long v[KEY_WORDS], diff = 0;
    key_words(a, v);
    for (size_t i = 0; i < KEY_WORDS; i++)
        diff |= v[i] ^ w[i];
    return diff == 0;
}
_Static_assert(sizeof(struct key) % 8 == 0, "hashed in words");

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
    const struct key *k = &s->key;
    sh_json_begin(&j, buf, sizeof buf, "site");
    sh_json_uint(&j, "id", s->id);
    sh_json_str(&j, "api", k->api);
    sh_json_uint(&j, "seq", c->seq);
    sh_json_int(&j, "m", k->m);
    sh_json_int(&j, "n", k->n);
    sh_json_int(&j, "k", k->k);
    sh_json_int(&j, "batch", k->batch);
    sh_json_name(&j, "atype", names->data_type(k->atype), k->atype);
    sh_json_name(&j, "btype", names->data_type(k->btype), k->btype);
    sh_json_name(&j, "ctype", names->data_type(k->ctype), k->ctype);
    sh_json_name(&j, "compute", names->compute(k->compute), k->compute);
    sh_json_name(&j, "compute_used", names->compute(k->compute_used), k->compute_used);
    sh_json_str(&j, "action", sh_action_name(c->action));
    sh_json_int(&j, "thread", sh_log_tid());
    sh_json_str(&j, "thread_name", sh_thread_name());
    sh_json_raw(&j, "site", sh_pysite_json(k->pystack));
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
    unsigned long long w[KEY_WORDS];
    key_words(k, w);
    unsigned long long h = hash_words(w);
    for (unsigned i = 0; i < NSITES; i++) {
        struct site *s = &t[(h + i) % NSITES];
        unsigned st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == EMPTY) {
            unsigned expect = EMPTY;
            if (atomic_compare_exchange_strong(&s->state, &expect, FILLING)) {
                s->hash = h;
                s->key = *k;
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
        if (s->hash == h && same_key(&s->key, w))
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
    unsigned long long w[KEY_WORDS];
    int site;
    unsigned generation;
} last = { .site = -1 };

static int lookup(const struct key *k, const struct sh_call *c,
                  const struct sh_check_names *names)
{
    unsigned long long w[KEY_WORDS], diff = 0;
    unsigned gen = atomic_load_explicit(&generation, memory_order_relaxed);
    key_words(k, w);
    for (size_t i = 0; i < KEY_WORDS; i++)
        diff |= w[i] ^ last.w[i];
    if (diff == 0 && last.site >= 0 && last.generation == gen)
        return last.site;
    int site = find_or_add(k, c, names);
    memcpy(last.w, w, sizeof w);
    last.site = site;
    last.generation = gen;
    return site;
}

void sh_site_enter(struct sh_call *c, const char *api, const struct sh_check_names *names)
{
    struct key k;
    memset(&k, 0, sizeof k);
    c->pystack = sh_pysite_capture(sh_policy.pystack);
    k.api = api;
    /* A Python stack says more than the address inside the extension
     * module that made the call, and the same line may reach it through
     * different native paths. */
    k.caller = c->pystack ? NULL : c->caller;
    k.pystack = c->pystack;
    k.atype = c->atype;
    k.btype = c->btype;
    k.ctype = c->ctype;
    k.compute = c->compute;
    k.compute_used = c->compute_used;
    k.m = c->m;
    k.n = c->n;
    k.k = c->k;
    k.batch = c->batch;
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
    return s ? sh_pysite_json(s->key.pystack) : NULL;
}

void sh_sites_write_counts(void)
{
    struct site *t = sh_mapped(&sites);
    char buf[4096];
    struct sh_json j;
    int in_record = 0;
    for (int i = 0; t && i < NSITES; i++) {
        if (atomic_load_explicit(&t[i].state, memory_order_acquire) != READY)
            continue;
        if (!in_record) {
            sh_json_begin(&j, buf, sizeof buf, "counts");
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
