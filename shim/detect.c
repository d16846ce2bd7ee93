#include "detect.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "decide.h"
#include "driver.h"
#include "half.h"
#include "lockrenew.h"
#include "log.h"
#include "runtime.h"
#include "sites.h"

/* Slots: NSLOTS for scans in flight (reused once reported), then NCAPTURED
 * for scans captured into CUDA graphs, which every replay of the graph
 * writes again, so they stay taken for the life of the process. Each slot
 * has NRES results: the output, then its inputs. */
#define NSLOTS 1024
#define NCAPTURED 256
#define NRES (1 + SH_CHECK_MAX_INPUTS)
#define NALL (NSLOTS + NCAPTURED)

/* How long a call waits for a free slot before its check is skipped: long
 * enough to ride out a burst, short enough never to look like a hang. */
#define WAIT_NS 100000000LL
/* How long the exit waits for scans still running on the GPU. */
#define EXIT_WAIT_NS 2000000000LL
/* The poller sweeps every POLL_NS while scans are in flight, captured scans
 * may be replayed, or the last scan finished less than POLL_LINGER_NS ago;
 * then it sleeps until woken. A millisecond batches the sweeps (the slots'
 * cache lines move between threads less often than with a tighter loop,
 * measured on the emulated backend) and still frees 1024 slots far faster
 * than a GPU can run 1024 kernels. */
#define POLL_NS 1000000L
#define POLL_LINGER_NS 100000000L

/* LOST: a slot the exit gave up on, so that no sweep still under way in
 * another thread reports what the summary counted as lost. */
enum { FREE, CLAIMED, INFLIGHT, REPORTING, CAPTURED, LOST };

struct slot {
    atomic_int state;
    bool failed;        /* a launch failed: free it without a record */
    bool sync;
    int device;
    long tid;
    char thread_name[16];
    long long call_ns;  /* when the call was made (realtime) */
    unsigned last_gen;  /* captured: the replay last reported */
    struct sh_check_call c;
};

static struct slot slots[NALL];
/* Host view of the results (mmap'd, registered with the driver); NULL
 * until the first check needs them. */
static struct sh_scan_result *_Atomic results;
_Static_assert(NALL * NRES <= SH_SCAN_NPARTIALS, "a partial for every result of the pool");
#define RESULTS_BYTES (((sizeof(struct sh_scan_result) * NRES * NALL) + 4095) & ~(size_t)4095)
static atomic_int pool_state; /* 0 not yet, 1 ready, -1 unusable */
/* Their device address as last asked of the driver. */
static char *_Atomic results_dev;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static atomic_uint cursor;
static atomic_uint ncaptured;   /* captured slots handed out */
/* The slots in flight, as a bitmap: a sweep reads 16 words instead of
 * touching every slot's cache line while the calling threads use them. */
static atomic_ullong inflight_bits[NSLOTS / 64];
static atomic_ullong nth_call;  /* every:N sampling */

/* Whole-process counts for the summary. */
static atomic_ulong n_checked, n_nonfinite, n_suppressed, n_waited, n_skipped_full,
    n_skipped_capture, n_captured, n_launch_failed, n_lost_at_exit, n_unseen_replays,
    n_skipped_native_graph;
static atomic_int warned_full, warned_capture_full, warned_launch, remapped, said_first,
    warned_native_graph;

/* The poller; it stops once the exit has flushed, so no record follows
 * the summary: the exit waits out a sweep of its under way (sweeping). */
static atomic_int poller_started, poller_sleeping, poller_sweeping, closing;
static pthread_mutex_t poll_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t poll_cond = PTHREAD_COND_INITIALIZER;

static unsigned inflight(void)
{
    unsigned n = 0;
    for (int w = 0; w < NSLOTS / 64; w++)
        n += (unsigned)__builtin_popcountll(atomic_load(&inflight_bits[w]));
    return n;
}

/* The captured slots come after the others. */
static bool is_captured(const struct slot *sl)
{
    return sl >= slots + NSLOTS;
}

/* Results of a slot: the output, and each input to scan. */
static unsigned nres(const struct slot *sl)
{
    return 1 + (unsigned)sl->c.nin;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void nap(long ns)
{
    struct timespec ts = { 0, ns };
    nanosleep(&ts, NULL);
}

/* ---- results in mapped memory -------------------------------------------- */

/* The GPU writes these while we read: volatile loads, and the seqlock of
 * scan.h, so a copy is either whole or rejected. */
static bool read_result(const struct sh_scan_result *r, struct sh_scan_result *out)
{
    const volatile struct sh_scan_result *v = r;
    unsigned d1 = v->done, g1 = v->generation;
    atomic_thread_fence(memory_order_acquire);
    out->pos_inf = v->pos_inf;
    out->neg_inf = v->neg_inf;
    out->nan = v->nan;
    out->first_bad = v->first_bad;
    out->absmax_bits = v->absmax_bits;
    atomic_thread_fence(memory_order_acquire);
    unsigned d2 = v->done, g2 = v->generation;
    out->done = d1;
    out->generation = g1;
    return d1 == 1 && d2 == 1 && g1 == g2;
}

/* All of a slot's results, or false when any is not final yet. */
static bool read_slot(int s, struct sh_scan_result *res)
{
    struct sh_scan_result *host = atomic_load_explicit(&results, memory_order_acquire);
    for (unsigned r = 0; r < nres(&slots[s]); r++) {
        if (!read_result(&host[s * NRES + r], &res[r]))
            return false;
        /* An input no kernel reads was marked done on the host, once: its
         * generation stays 0 while a captured scan's moves with replays. */
        if (r > 0 && !slots[s].c.in_name[r - 1])
            continue;
        if (res[r].generation != res[0].generation)
            return false;
    }
    return true;
}

static bool pool_ready(void *stream)
{
    int st = atomic_load_explicit(&pool_state, memory_order_acquire);
    if (st)
        return st > 0;
    pthread_mutex_lock(&pool_lock);
    if (atomic_load(&pool_state) == 0) {
        void *mem = mmap(NULL, RESULTS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
        if (mem != MAP_FAILED && sh_driver_map_host(mem, RESULTS_BYTES, stream)) {
            atomic_store(&results, mem);
            atomic_store(&results_dev, sh_driver_device_address(mem));
            atomic_store(&pool_state, 1);
        } else {
            if (mem != MAP_FAILED)
                munmap(mem, RESULTS_BYTES);
            sh_warn("cannot map memory for Inf/NaN check results; checks are off");
            atomic_store(&pool_state, -1);
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return atomic_load(&pool_state) > 0;
}

/* The device address of the results: asked at each call outside a capture,
 * because a program that resets its device loses the mapping (then it is
 * mapped again, once). Inside a capture the driver is asked nothing it need
 * not be: the address known from before serves. */
static char *results_on_device(void *stream, bool capturing)
{
    if (capturing)
        return atomic_load_explicit(&results_dev, memory_order_acquire);
    struct sh_scan_result *host = atomic_load_explicit(&results, memory_order_acquire);
    char *dev = sh_driver_device_address(host);
    if (!dev) {
        pthread_mutex_lock(&pool_lock);
        if (!atomic_exchange(&remapped, 1))
            sh_driver_map_host(host, RESULTS_BYTES, stream);
        pthread_mutex_unlock(&pool_lock);
        if (!(dev = sh_driver_device_address(host))) {
            sh_warn("the Inf/NaN check results are no longer mapped (device reset?); checks are "
                    "off");
            atomic_store(&pool_state, -1);
        }
    }
    atomic_store_explicit(&results_dev, dev, memory_order_release);
    return dev;
}

/* ---- records --------------------------------------------------------------- */

static const char *action_word(void)
{
    switch (sh_policy.on_nonfinite) {
    case SH_ON_SATURATE: return "saturated";
    case SH_ON_ABORT: return "aborted";
    default: return "logged";
    }
}

#define RECORD_BYTES 8192

static void write_record(const struct slot *sl, const struct sh_scan_result *res,
                         unsigned long long replay, bool in_signal, char *buf)
{
    const struct sh_check_call *c = &sl->c;
    const struct sh_scan_result *o = &res[0];
    struct sh_json j;
    sh_json_begin(&j, buf, RECORD_BYTES, "nonfinite");
    sh_json_str(&j, "api", c->api);
    sh_json_uint(&j, "seq", c->seq);
    sh_json_time(&j, "call_t", sl->call_ns);
    sh_json_uint(&j, "site_id", sh_site_id(c->site));
    sh_json_int(&j, "m", c->m);
    sh_json_int(&j, "n", c->n);
    sh_json_int(&j, "k", c->k);
    sh_json_int(&j, "batch", c->batch);
    if (c->grouped)
        sh_json_int(&j, "group", c->group);
    if (c->out_name)
        sh_json_str(&j, "output", c->out_name);
    sh_json_name(&j, "atype", c->names->data_type(c->atype), c->atype);
    sh_json_name(&j, "btype", c->names->data_type(c->btype), c->btype);
    sh_json_name(&j, "ctype", c->names->data_type(c->ctype), c->ctype);
    sh_json_name(&j, "compute", c->names->compute(c->compute), c->compute);
    sh_json_name(&j, "compute_used", c->names->compute(c->compute_used), c->compute_used);
    sh_json_uint(&j, "inf", o->pos_inf + o->neg_inf);
    sh_json_uint(&j, "pos_inf", o->pos_inf);
    sh_json_uint(&j, "neg_inf", o->neg_inf);
    sh_json_uint(&j, "nan", o->nan);
    unsigned long long rows = c->out.rows, cols = c->out.cols;
    sh_json_uint(&j, "numel", rows * cols * c->out.batch);
    sh_json_uint(&j, "first_index", o->first_bad);
    if (o->first_bad != SH_SCAN_NONE && rows && cols) {
        sh_json_open(&j, "first", '{');
        sh_json_uint(&j, "batch", o->first_bad / (rows * cols));
        sh_json_uint(&j, "row", o->first_bad % rows);
        sh_json_uint(&j, "col", o->first_bad % (rows * cols) / rows);
        sh_json_close(&j, '}');
    }
    sh_json_num(&j, "absmax", sh_bits_to_float(o->absmax_bits));
    bool known = c->nin > 0, finite = true;
    for (int i = 0; i < c->nin; i++) {
        if (!c->in_name[i])
            known = false;
        else if (res[1 + i].pos_inf + res[1 + i].neg_inf + res[1 + i].nan)
            finite = false;
    }
    if (!finite)
        sh_json_bool(&j, "inputs_finite", false); /* one bad input settles it */
    else if (known)
        sh_json_bool(&j, "inputs_finite", true);
    else
        sh_json_str(&j, "inputs_finite", NULL);
    if (c->nin) {
        sh_json_open(&j, "inputs", '{');
        for (int i = 0; i < c->nin; i++) {
            if (!c->in_name[i])
                continue;
            sh_json_open(&j, c->in_name[i], '{');
            sh_json_uint(&j, "inf", res[1 + i].pos_inf + res[1 + i].neg_inf);
            sh_json_uint(&j, "nan", res[1 + i].nan);
            sh_json_close(&j, '}');
        }
        sh_json_close(&j, '}');
    }
    sh_json_str(&j, "action", action_word());
    sh_json_str(&j, "check", c->out_host ? "host" : sl->sync ? "sync" : "async");
    sh_json_hex(&j, "stream", (unsigned long long)(uintptr_t)c->stream);
    if (sl->device >= 0)
        sh_json_int(&j, "device", sl->device);
    else
        sh_json_str(&j, "device", NULL);
    sh_json_bool(&j, "captured", is_captured(sl));
    if (is_captured(sl))
        sh_json_uint(&j, "replay", replay);
    sh_json_int(&j, "thread", sl->tid);
    sh_json_str(&j, "thread_name", sl->thread_name);
    sh_json_raw(&j, "site", sh_site_frames(c->site));
    sh_json_caller(&j, "caller", c->caller, in_signal);
    sh_log_write(&j);
}

/* Not inlined: its buffer must not be in the frame of the crash handler's
 * path (report, sweep), which may run on an 8 KiB alternate stack. */
static __attribute__((noinline)) void write_record_on_stack(const struct slot *sl,
                                                            const struct sh_scan_result *res,
                                                            unsigned long long replay)
{
    char buf[RECORD_BYTES];
    write_record(sl, res, replay, false, buf);
}

/* A slot's final results: count them, and act on an Inf or NaN. */
static void report(struct slot *sl, const struct sh_scan_result *res, unsigned long long replay,
                   bool in_signal)
{
    const struct sh_check_call *c = &sl->c;
    bool bad = res[0].pos_inf + res[0].neg_inf + res[0].nan != 0;
    atomic_fetch_add(&n_checked, 1);
    atomic_fetch_add(&c->counts->checked, 1);
    sh_site_checked(c->site, bad);
    if (!bad)
        return;
    atomic_fetch_add(&n_nonfinite, 1);
    atomic_fetch_add(&c->counts->nonfinite, 1);
    /* Only the thread writing a crash record (one at a time) gets here with
     * in_signal. */
    static char signal_buf[RECORD_BYTES];
    if ((long long)sh_site_take_record(c->site) >= sh_policy.max_records)
        atomic_fetch_add(&n_suppressed, 1);
    else if (in_signal)
        write_record(sl, res, replay, true, signal_buf);
    else
        write_record_on_stack(sl, res, replay);
    if (in_signal)
        return;
    char group[40] = "", output[40] = "";
    if (c->grouped)
        snprintf(group, sizeof group, " group=%lld", c->group);
    if (c->out_name)
        snprintf(output, sizeof output, " output=%s", c->out_name);
    if (!atomic_exchange(&said_first, 1))
        sh_say("Inf/NaN in the output of %s (call %llu, m=%lld n=%lld k=%lld batch=%lld%s%s: "
            "%llu Inf, %llu NaN)%s", c->api, c->seq, c->m, c->n, c->k, c->batch, group, output,
            res[0].pos_inf + res[0].neg_inf, res[0].nan,
            sh_policy.on_nonfinite == SH_ON_SATURATE ? "; Inf saturated to the largest finite value"
                                                     : "; see the log");
    if (sh_policy.on_nonfinite == SH_ON_ABORT) {
        sh_say("aborting (SAFEHALF_ON_NONFINITE=abort)");
        abort();
    }
}

/* ---- the sweep: finished slots to records ------------------------------------ */

/* A test seam, empty here: the unit test widens the window between a
 * sweep's first look at a slot and its claim. */
__attribute__((weak)) void sh_check_sweep_window(int slot)
{
    (void)slot;
}

/* A captured slot whose results read_slot refused: generation 0 is a graph
 * never launched; past it, a replay whose reset has run and whose scans
 * have not all finished, a scan in flight (which the exit waits for). */
static bool under_way(const struct sh_scan_result *res)
{
    return res[0].generation != 0;
}

/* Reports every finished slot (a captured one: its latest replay); returns
 * how many are still in flight (a captured one: a replay under way). */
static unsigned sweep(bool in_signal)
{
    struct sh_scan_result res[NRES];
    unsigned busy = 0;
    if (!atomic_load_explicit(&results, memory_order_acquire))
        return 0;
    for (int w = 0; w < NSLOTS / 64; w++) {
        unsigned long long bits = atomic_load_explicit(&inflight_bits[w], memory_order_acquire);
        for (; bits; bits &= bits - 1) {
            int s = w * 64 + __builtin_ctzll(bits);
            int expect = atomic_load_explicit(&slots[s].state, memory_order_acquire);
            if (expect == REPORTING)
                busy++; /* another thread is writing its record: not done yet */
            if (expect != INFLIGHT)
                continue;
            if (!read_slot(s, res)) {
                busy++;
                continue;
            }
            sh_check_sweep_window(s);
            /* The results read above may be a previous call's: another
             * sweeper can report and free the slot, and a new call take it,
             * before this one claims it. So read them again once it is ours. */
            if (!atomic_compare_exchange_strong(&slots[s].state, &expect, REPORTING))
                continue;
            if (!read_slot(s, res)) {
                atomic_store_explicit(&slots[s].state, INFLIGHT, memory_order_release);
                busy++;
                continue;
            }
            if (!slots[s].failed)
                report(&slots[s], res, 0, in_signal);
            atomic_fetch_and(&inflight_bits[w], ~(1ull << (s % 64)));
            atomic_store_explicit(&slots[s].state, FREE, memory_order_release);
        }
    }
    unsigned ncap = atomic_load(&ncaptured);
    for (unsigned i = 0; i < ncap && i < NCAPTURED; i++) {
        int s = NSLOTS + (int)i;
        int expect = CAPTURED;
        if (atomic_load_explicit(&slots[s].state, memory_order_acquire) != CAPTURED)
            continue;
        if (!read_slot(s, res)) {
            busy += under_way(res);
            continue;
        }
        if (res[0].generation == slots[s].last_gen)
            continue;
        sh_check_sweep_window(s);
        /* As above: another sweeper may have reported this replay since. */
        if (!atomic_compare_exchange_strong(&slots[s].state, &expect, REPORTING))
            continue;
        if (!read_slot(s, res) || res[0].generation == slots[s].last_gen) {
            atomic_store_explicit(&slots[s].state, CAPTURED, memory_order_release);
            continue;
        }
        /* Generations count replays; those between two sweeps were not seen. */
        unsigned long long gap = (unsigned)(res[0].generation - slots[s].last_gen);
        atomic_fetch_add(&n_unseen_replays, gap - 1);
        slots[s].last_gen = res[0].generation;
        report(&slots[s], res, res[0].generation, in_signal);
        atomic_store_explicit(&slots[s].state, CAPTURED, memory_order_release);
    }
    return busy;
}

static void *poller(void *arg)
{
    (void)arg;
    long long idle_since = now_ns();
    for (;;) {
        /* With closing's store and the exit's look at sweeping (both
         * sequentially consistent): the poller sees closing, or the exit
         * sees this sweep and waits for its end. */
        atomic_store(&poller_sweeping, 1);
        if (atomic_load(&closing))
            break;
        unsigned busy = sweep(false);
        atomic_store(&poller_sweeping, 0);
        if (busy || inflight())
            idle_since = now_ns();
        /* Idle a short while (a program between two checks: waking a
         * sleeping poller costs the checking thread a futex call), or with
         * captured scans that any graph launch may run again: keep polling. */
        if (now_ns() - idle_since < POLL_LINGER_NS || atomic_load(&ncaptured)) {
            nap(POLL_NS);
        } else {
            pthread_mutex_lock(&poll_lock);
            atomic_store(&poller_sleeping, 1);
            while (!inflight() && !atomic_load(&ncaptured) && !atomic_load(&closing))
                pthread_cond_wait(&poll_cond, &poll_lock);
            atomic_store(&poller_sleeping, 0);
            pthread_mutex_unlock(&poll_lock);
            idle_since = now_ns();
        }
    }
    atomic_store(&poller_sweeping, 0);
    return NULL;
}

static void start_poller(void)
{
    if (atomic_load_explicit(&poller_started, memory_order_relaxed) ||
        atomic_exchange(&poller_started, 1))
        return;
    /* The program's signals are not the poller's to take. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&t, &attr, poller, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        /* Calls still sweep when they wait for a slot, and so does the exit. */
        sh_warn("cannot start the check poller thread (%s); Inf/NaN records are written when "
                "slots run out and at exit", strerror(e));
        return;
    }
    pthread_setname_np(t, "safehalf-poll");
}

static void wake_poller(void)
{
    if (atomic_load(&poller_sleeping)) {
        pthread_mutex_lock(&poll_lock);
        pthread_cond_signal(&poll_cond);
        pthread_mutex_unlock(&poll_lock);
    }
}

/* ---- submission ------------------------------------------------------------ */

static int claim(void)
{
    unsigned start = atomic_fetch_add_explicit(&cursor, 1, memory_order_relaxed);
    for (unsigned i = 0; i < NSLOTS; i++) {
        int s = (int)((start + i) % NSLOTS), expect = FREE;
        if (atomic_load_explicit(&slots[s].state, memory_order_relaxed) == FREE &&
            atomic_compare_exchange_strong(&slots[s].state, &expect, CLAIMED))
            return s;
    }
    return -1;
}

/* Back-pressure: a full pool means the GPU is far behind; wait for it
 * (helping the poller) a bounded time rather than drop the check. */
static int claim_waiting(void)
{
    int s = claim();
    if (s >= 0)
        return s;
    atomic_fetch_add(&n_waited, 1);
    long long deadline = now_ns() + WAIT_NS;
    do {
        sweep(false);
        if ((s = claim()) >= 0)
            return s;
        nap(20000);
    } while (now_ns() < deadline);
    atomic_fetch_add(&n_skipped_full, 1);
    sh_warn_once(&warned_full, "all %d Inf/NaN check slots stayed busy for %lld ms; checks are "
                 "skipped (and counted) while the GPU is this far behind", NSLOTS,
                 WAIT_NS / 1000000);
    return -1;
}

static int claim_captured(void)
{
    unsigned i = atomic_fetch_add(&ncaptured, 1);
    if (i < NCAPTURED) {
        atomic_store(&slots[NSLOTS + i].state, CLAIMED);
        return NSLOTS + (int)i;
    }
    atomic_store(&ncaptured, NCAPTURED);
    sh_warn_once(&warned_capture_full, "more than %d checked calls captured into CUDA graphs; "
                 "further captured calls are not checked (counted as skipped_capture)",
                 NCAPTURED);
    return -1;
}

static enum sh_kernel kernel_for(enum sh_scan_type t, bool output)
{
    bool sat = output && sh_policy.on_nonfinite == SH_ON_SATURATE;
    switch (t) {
    case SH_SCAN_F16: return sat ? SH_K_SATURATE_F16 : SH_K_SCAN_F16;
    case SH_SCAN_BF16: return sat ? SH_K_SATURATE_BF16 : SH_K_SCAN_BF16;
    default: return SH_K_SCAN_F32;
    }
}

/* index: the result's place in the pool, which names its partial (scan.h). */
static int launch_scan(const struct sh_matrix *m, bool output, void *out, unsigned index,
                       void *stream)
{
    unsigned grid, block;
    sh_scan_launch_dims(m->rows * m->cols * m->batch, &grid, &block);
    void *params[] = { (void *)&m->base, (void *)&m->ptrs, (void *)&m->rows, (void *)&m->cols,
                       (void *)&m->ld,   (void *)&m->stride, (void *)&m->batch, &out, &index };
    return sh_driver_launch(kernel_for(m->type, output), grid, block, stream, params);
}

/* A host output's one element, counted as the scan kernels count it, and
 * saturated in place as the saturating kernels would (FP32: scanned only). */
static void host_scan(const struct sh_matrix *m, struct sh_scan_result *r)
{
    uint16_t h = 0;
    float v;
    if (m->type == SH_SCAN_F32) {
        memcpy(&v, m->base, sizeof v);
    } else {
        memcpy(&h, m->base, sizeof h);
        v = m->type == SH_SCAN_F16 ? sh_half_to_float(h) : sh_bf16_to_float(h);
    }
    sh_scan_result_init(r);
    if (v != v) {
        r->nan = 1;
        r->first_bad = 0;
    } else if (v - v != 0) {
        *(v > 0 ? &r->pos_inf : &r->neg_inf) = 1;
        r->first_bad = 0;
        if (sh_policy.on_nonfinite == SH_ON_SATURATE && m->type != SH_SCAN_F32) {
            h = (uint16_t)((h & 0x8000) | (m->type == SH_SCAN_F16 ? 0x7BFF : 0x7F7F));
            memcpy((void *)m->base, &h, sizeof h);
        }
    } else {
        r->absmax_bits = sh_float_to_bits(v < 0 ? -v : v);
    }
    r->done = 1;
}

bool sh_check_wanted(int ctype)
{
    if (sh_policy.check == SH_CHECK_OFF || atomic_load_explicit(&pool_state, memory_order_relaxed) < 0)
        return false;
    unsigned long long nth = 0;
    if (sh_policy.check == SH_CHECK_EVERY && (ctype == SH_R_16F || ctype == SH_R_16BF))
        nth = atomic_fetch_add_explicit(&nth_call, 1, memory_order_relaxed);
    return sh_decide_check(&sh_policy, ctype, nth);
}

void sh_check_native_graph(const char *api, const int *ctypes, int n)
{
    bool wanted = false;
    for (int i = 0; i < n && !wanted; i++)
        wanted = sh_decide_check(&sh_policy, ctypes[i], 0);
    if (!wanted)
        return;
    atomic_fetch_add(&n_skipped_native_graph, 1);
    sh_warn_once(&warned_native_graph, "%s: cuDNN put a plan's kernels into the program's CUDA "
                 "graph itself, where no Inf/NaN scan can follow them: their outputs are not "
                 "checked (counted as skipped_native_graph); capturing cudnnBackendExecute on a "
                 "stream instead keeps them checked", api);
}

void sh_check_prepare(void *stream)
{
    if (sh_policy.check != SH_CHECK_OFF && sh_policy.mode != SH_MODE_OFF && sh_driver_ready())
        pool_ready(stream);
}

void sh_check_submit(const struct sh_check_call *c)
{
    if (c->out.rows * c->out.cols * c->out.batch == 0 || !sh_driver_ready())
        return;
    enum sh_stream_capture cap = sh_driver_capture(c->stream);
    /* A host result in a capture is the value of the capture, not of any
     * replay: nothing of a replay to check. */
    if (cap == SH_CAPTURE_UNKNOWN ||
        (cap == SH_CAPTURING && (c->out_host || sh_policy.check_capture == SH_CAPTURE_SKIP))) {
        atomic_fetch_add(&n_skipped_capture, 1);
        return;
    }
    bool captured = cap == SH_CAPTURING;
    if (!pool_ready(c->stream))
        return;
    char *dev = results_on_device(c->stream, captured);
    if (!dev)
        return;
    int s = captured ? claim_captured() : claim_waiting();
    if (s < 0) {
        if (captured)
            atomic_fetch_add(&n_skipped_capture, 1);
        return;
    }
    start_poller(); /* a thread, not a CUDA call: fine while capturing */

    struct slot *sl = &slots[s];
    sl->c = *c;
    sl->failed = false;
    /* A host output is reported now, with its inputs' scans waited for:
     * the call itself waited for its result, so the stream is all but idle. */
    sl->sync = (sh_policy.check == SH_CHECK_SYNC || c->out_host) && !captured;
    sl->device = captured ? sh_driver_current_device() : sh_driver_stream_device(c->stream);
    sl->tid = sh_log_tid();
    memcpy(sl->thread_name, sh_thread_name(), sizeof sl->thread_name);
    sl->call_ns = sh_log_now_ns();
    sl->last_gen = 0;
    struct sh_scan_result *host = atomic_load(&results) + s * NRES;
    for (unsigned r = 0; r < nres(sl); r++)
        sh_scan_result_init(&host[r]);

    int err = 0;
    unsigned launched = 0, on_gpu = 0;
    for (unsigned r = 0; r < nres(sl) && !err; r++) {
        const struct sh_matrix *m = r == 0 ? &c->out : &c->in[r - 1];
        void *out = dev + (size_t)(s * NRES + r) * sizeof(struct sh_scan_result);
        if (r > 0 && !c->in_name[r - 1]) {
            host[r].done = 1; /* an input of a type no kernel reads: nothing to wait for */
            launched++;
            continue;
        }
        if (r == 0 && c->out_host) {
            host_scan(m, &host[0]);
            launched++;
            continue;
        }
        on_gpu++;
        void *init_params[] = { &out };
        if (captured)
            err = sh_driver_launch(SH_K_SCAN_INIT, 1, 1, c->stream, init_params);
        if (!err)
            err = launch_scan(m, r == 0, out, (unsigned)(s * NRES + r), c->stream);
        launched += !err;
    }
    if (err) {
        atomic_fetch_add(&n_launch_failed, 1);
        sh_warn_once(&warned_launch, "cannot launch the Inf/NaN scan (CUDA error %d); such "
                     "calls are not checked", err);
        if (captured)
            return; /* stays claimed: part of it may be in the graph */
        /* What was launched still writes its result: free the slot after. */
        for (unsigned r = launched; r < nres(sl); r++)
            host[r].done = 1;
        sl->failed = true;
    } else if (captured) {
        atomic_fetch_add(&n_captured, 1);
        atomic_store_explicit(&sl->state, CAPTURED, memory_order_release);
        wake_poller();
        return;
    } else if (sl->sync) {
        struct sh_scan_result res[NRES];
        if ((!on_gpu || sh_driver_sync(c->stream) == 0) && read_slot(s, res)) {
            atomic_store(&sl->state, REPORTING);
            report(sl, res, 0, false);
            atomic_store_explicit(&sl->state, FREE, memory_order_release);
            return;
        }
        sl->sync = false; /* the stream failed to sync: the poller reports it */
    }
    atomic_store_explicit(&sl->state, INFLIGHT, memory_order_release);
    atomic_fetch_or(&inflight_bits[s / 64], 1ull << (s % 64));
    wake_poller();
}

/* ---- exit, crash, fork, summary --------------------------------------------- */

/* The exit's last word: every slot still in flight, and every captured scan
 * whose replay is under way, is taken from the sweeps and counted lost. */
static unsigned give_up_in_flight(void)
{
    struct sh_scan_result res[NRES];
    unsigned lost = 0;
    for (int w = 0; w < NSLOTS / 64; w++) {
        unsigned long long bits = atomic_load_explicit(&inflight_bits[w], memory_order_acquire);
        for (; bits; bits &= bits - 1) {
            int s = w * 64 + __builtin_ctzll(bits), expect = INFLIGHT;
            /* Not freed: its scan may still write its results. */
            if (atomic_compare_exchange_strong(&slots[s].state, &expect, LOST)) {
                atomic_fetch_and(&inflight_bits[w], ~(1ull << (s % 64)));
                lost++;
            }
        }
    }
    unsigned ncap = atomic_load(&ncaptured);
    for (unsigned i = 0; i < ncap && i < NCAPTURED; i++) {
        int s = NSLOTS + (int)i, expect = CAPTURED;
        if (atomic_load_explicit(&slots[s].state, memory_order_acquire) == CAPTURED &&
            !read_slot(s, res) && under_way(res) &&
            atomic_compare_exchange_strong(&slots[s].state, &expect, LOST))
            lost++;
    }
    return lost;
}

void sh_check_flush(void)
{
    if (!atomic_load(&results))
        return;
    if (atomic_load(&closing)) { /* flushed before: a sweep, no more waiting */
        sweep(false);
        return;
    }
    long long deadline = now_ns() + EXIT_WAIT_NS;
    while (sweep(false) && now_ns() < deadline)
        nap(POLL_NS / 10);
    if (atomic_exchange(&closing, 1))
        return;
    /* A record the poller is writing comes before the summary; a sweep
     * takes microseconds, the bound is for a poller stuck in write(2). */
    for (long long until = now_ns() + EXIT_WAIT_NS / 10;
         atomic_load(&poller_sweeping) && now_ns() < until;)
        nap(POLL_NS / 10);
    /* What is still in flight now (replays under way included) is what the
     * exit loses; a scan that finished since the last sweep is swept here. */
    sweep(false);
    atomic_fetch_add(&n_lost_at_exit, give_up_in_flight());
    pthread_mutex_lock(&poll_lock); /* a sleeping poller wakes up and ends */
    pthread_cond_signal(&poll_cond);
    pthread_mutex_unlock(&poll_lock);
}

void sh_check_flush_in_signal(void)
{
    sweep(true);
}

void sh_check_summary(struct sh_json *j)
{
    sh_json_open(j, "checks", '{');
    sh_json_uint(j, "checked", atomic_load(&n_checked));
    sh_json_uint(j, "nonfinite", atomic_load(&n_nonfinite));
    sh_json_uint(j, "records_suppressed", atomic_load(&n_suppressed));
    sh_json_uint(j, "captured", atomic_load(&n_captured));
    sh_json_uint(j, "unseen_replays", atomic_load(&n_unseen_replays));
    sh_json_uint(j, "waited_for_slot", atomic_load(&n_waited));
    sh_json_uint(j, "skipped_pool_full", atomic_load(&n_skipped_full));
    sh_json_uint(j, "skipped_capture", atomic_load(&n_skipped_capture));
    sh_json_uint(j, "skipped_native_graph", atomic_load(&n_skipped_native_graph));
    sh_json_uint(j, "launch_failed", atomic_load(&n_launch_failed));
    sh_json_uint(j, "lost_at_exit", atomic_load(&n_lost_at_exit));
    sh_json_close(j, '}');
}

void sh_check_after_fork(void)
{
    /* The parent's results were registered with its CUDA, which the child
     * cannot use; the driver keeps registered pages out of children. */
    atomic_store(&results, NULL);
    atomic_store(&results_dev, NULL);
    atomic_store(&pool_state, 0);
    for (int s = 0; s < NALL; s++)
        atomic_store(&slots[s].state, FREE);
    atomic_store(&ncaptured, 0);
    for (int w = 0; w < NSLOTS / 64; w++)
        atomic_store(&inflight_bits[w], 0);
    atomic_store(&nth_call, 0);
    atomic_store(&poller_started, 0);
    atomic_store(&poller_sleeping, 0);
    atomic_store(&poller_sweeping, 0);
    atomic_store(&closing, 0);
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    sh_lock_renew(&pool_lock);
    sh_lock_renew(&poll_lock);
    memcpy(&poll_cond, &cv, sizeof cv);
    atomic_ulong *counts[] = { &n_checked, &n_nonfinite, &n_suppressed, &n_waited,
                               &n_skipped_full, &n_skipped_capture, &n_captured,
                               &n_launch_failed, &n_lost_at_exit, &n_unseen_replays,
                               &n_skipped_native_graph };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        atomic_store(counts[i], 0);
    atomic_int *flags[] = { &warned_full, &warned_capture_full, &warned_launch, &remapped,
                            &said_first, &warned_native_graph };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        atomic_store(flags[i], 0);
}
