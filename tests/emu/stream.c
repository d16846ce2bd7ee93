/* Emulated libcuda.so.1: streams, events, host-synchronization counting,
 * stream capture and graphs.
 *
 * Work runs on the calling thread when it is issued, so stream order holds
 * trivially and a "synchronization" has nothing to wait for; it is only
 * counted, so tests can prove who synchronizes. While a stream captures, its
 * work is appended to a graph instead and runs, in issue order, at launch. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static struct CUstream_st legacy = { .magic = EMU_STREAM_MAGIC };
static _Thread_local struct CUstream_st per_thread = { .magic = EMU_STREAM_MAGIC };
static atomic_ulong total_syncs;

struct CUstream_st *drv_legacy_stream(void)
{
    return &legacy;
}

struct CUstream_st *drv_stream(CUstream handle)
{
    if (handle == NULL || handle == CU_STREAM_LEGACY)
        return &legacy;
    if (handle == CU_STREAM_PER_THREAD)
        return &per_thread;
    return handle->magic == EMU_STREAM_MAGIC ? handle : NULL;
}

/* The prologue of a call on a stream: a current context, then a valid
 * stream handle, checked in the driver's order. */
static CUresult ctx_stream(CUstream handle, struct CUstream_st **s)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    *s = drv_stream(handle);
    return *s ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

void drv_count_sync(struct CUstream_st *s)
{
    atomic_fetch_add(&total_syncs, 1);
    if (s)
        atomic_fetch_add(&s->syncs, 1);
}

EMU_API unsigned long emu_sync_count(void)
{
    return atomic_load(&total_syncs);
}

/* EMU_STATS=path: at exit, append "syncs=N" (host synchronizations of the
 * whole run) to path, so a test can compare runs of an ordinary program
 * with and without the shim. */
__attribute__((destructor)) static void write_stats(void)
{
    const char *path = getenv("EMU_STATS");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "syncs=%lu\n", atomic_load(&total_syncs));
        fclose(f);
    }
}

EMU_API unsigned long emu_stream_sync_count(CUstream stream)
{
    struct CUstream_st *s = drv_stream(stream);
    return s ? atomic_load(&s->syncs) : 0;
}

/* ---- graphs ---------------------------------------------------------------- */

struct node {
    struct node *next;
    emu_op_fn run;
    void (*release)(void *arg);
    void *arg;
    size_t size;
};

/* Node lists are immutable once captured, so a graph and the executable
 * graphs instantiated from it share one list by reference count. */
struct nodes {
    atomic_int refs;
    struct node *head, *tail;
};

struct CUgraph_st {
    uint32_t magic;
    struct nodes *nodes;
};

struct CUgraphExec_st {
    uint32_t magic;
    struct nodes *nodes;
};

static void nodes_release(struct nodes *ns)
{
    if (!ns || atomic_fetch_sub(&ns->refs, 1) != 1)
        return;
    for (struct node *n = ns->head, *next; n; n = next) {
        next = n->next;
        if (n->release)
            n->release(n->arg);
        free(n->arg);
        free(n);
    }
    free(ns);
}

static CUresult nodes_run(const struct nodes *ns)
{
    for (const struct node *n = ns->head; n; n = n->next) {
        CUresult r = n->run(n->arg);
        if (r)
            return r;
    }
    return CUDA_SUCCESS;
}

static int nodes_append(struct nodes *ns, emu_op_fn run, void (*release)(void *),
                        const void *arg, size_t size)
{
    struct node *n = calloc(1, sizeof *n);
    void *copy = malloc(size ? size : 1);
    if (!n || !copy) {
        free(n);
        free(copy);
        return -1;
    }
    memcpy(copy, arg, size);
    *n = (struct node){ NULL, run, release, copy, size };
    if (ns->tail)
        ns->tail->next = n;
    else
        ns->head = n;
    ns->tail = n;
    return 0;
}

/* ---- capture ------------------------------------------------------------- */

#define MAX_JOINED 16

struct emu_capture {
    struct emu_capture *next;
    unsigned long long id;
    CUstreamCaptureMode mode;
    int invalidated;
    const void *owner; /* thread that began it */
    struct CUgraph_st *graph;
    struct CUstream_st *origin;
    struct CUstream_st *joined[MAX_JOINED];
    int njoined;
};

/* Guards the capture list and every stream's cap pointer. The fast paths
 * test ncaptures first, so programs that never capture never take it. */
static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emu_capture *captures;
static atomic_int ncaptures;
static unsigned long long next_capture_id = 1;

__attribute__((constructor)) static void cap_lock_across_fork(void)
{
    drv_lock_across_fork(&cap_lock);
}

static _Thread_local CUstreamCaptureMode thread_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
static _Thread_local char thread_token; /* its address identifies the thread */

static struct emu_capture *capture_by_id(unsigned long long id)
{
    for (struct emu_capture *c = captures; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* The rules of cudaStreamCaptureMode: a thread in GLOBAL mode may not make a
 * potentially unsafe call while it has a non-relaxed capture of its own or
 * any thread has a GLOBAL capture; THREAD_LOCAL only minds its own captures;
 * RELAXED may always. The captures in the way are invalidated. */
EMU_API CUresult emu_capture_unsafe_call(void)
{
    if (thread_mode == CU_STREAM_CAPTURE_MODE_RELAXED || atomic_load(&ncaptures) == 0)
        return CUDA_SUCCESS;
    int refused = 0;
    pthread_mutex_lock(&cap_lock);
    for (struct emu_capture *c = captures; c; c = c->next) {
        int mine = c->owner == &thread_token;
        if ((mine && c->mode != CU_STREAM_CAPTURE_MODE_RELAXED) ||
            (!mine && thread_mode == CU_STREAM_CAPTURE_MODE_GLOBAL &&
             c->mode == CU_STREAM_CAPTURE_MODE_GLOBAL)) {
            c->invalidated = 1;
            refused = 1;
        }
    }
    pthread_mutex_unlock(&cap_lock);
    return refused ? CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED : CUDA_SUCCESS;
}

/* Synchronizing or querying a capturing stream is never legal. */
static CUresult refuse_if_capturing(struct CUstream_st *s)
{
    CUresult r = CUDA_SUCCESS;
    if (atomic_load(&ncaptures) == 0)
        return r;
    pthread_mutex_lock(&cap_lock);
    if (s->cap) {
        s->cap->invalidated = 1;
        r = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
    pthread_mutex_unlock(&cap_lock);
    return r;
}

CUresult drv_stream_record(CUstream stream, emu_op_fn run, void (*release)(void *),
                           const void *arg, size_t size, int *recorded)
{
    struct CUstream_st *s = drv_stream(stream);
    *recorded = 0;
    if (!s)
        return CUDA_ERROR_INVALID_HANDLE;
    if (atomic_load(&ncaptures) == 0)
        return CUDA_SUCCESS;
    CUresult r = CUDA_SUCCESS;
    pthread_mutex_lock(&cap_lock);
    if (s->cap) {
        *recorded = 1;
        if (s->cap->invalidated)
            r = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
        else if (nodes_append(s->cap->graph->nodes, run, release, arg, size))
            r = CUDA_ERROR_OUT_OF_MEMORY;
    }
    pthread_mutex_unlock(&cap_lock);
    return r;
}

EMU_API CUresult emu_stream_record(CUstream stream, emu_op_fn run, const void *arg,
                                   size_t size, int *recorded)
{
    return drv_stream_record(stream, run, NULL, arg, size, recorded);
}

static struct CUgraph_st *graph_new(void)
{
    struct CUgraph_st *g = calloc(1, sizeof *g);
    struct nodes *ns = calloc(1, sizeof *ns);
    if (!g || !ns) {
        free(g);
        free(ns);
        return NULL;
    }
    atomic_init(&ns->refs, 1);
    g->magic = EMU_GRAPH_MAGIC;
    g->nodes = ns;
    return g;
}

static void graph_free(struct CUgraph_st *g)
{
    g->magic = 0;
    nodes_release(g->nodes);
    free(g);
}

/* Ends a capture's life as a capture: off the list, off its streams.
 * Called with cap_lock held. */
static void capture_unlink(struct emu_capture *c)
{
    for (struct emu_capture **p = &captures; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    atomic_fetch_sub(&ncaptures, 1);
    if (c->origin)
        c->origin->cap = NULL;
    for (int i = 0; i < c->njoined; i++)
        c->joined[i]->cap = NULL;
}

EMU_API CUresult cuStreamBeginCapture(CUstream stream, CUstreamCaptureMode mode)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    if (s == &legacy)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
        mode != CU_STREAM_CAPTURE_MODE_RELAXED)
        return CUDA_ERROR_INVALID_VALUE;
    struct emu_capture *c = calloc(1, sizeof *c);
    struct CUgraph_st *g = graph_new();
    if (!c || !g) {
        free(c);
        if (g)
            graph_free(g);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    pthread_mutex_lock(&cap_lock);
    if (s->cap) {
        pthread_mutex_unlock(&cap_lock);
        free(c);
        graph_free(g);
        return CUDA_ERROR_ILLEGAL_STATE;
    }
    *c = (struct emu_capture){ .next = captures, .id = next_capture_id++, .mode = mode,
                               .owner = &thread_token, .graph = g, .origin = s };
    captures = c;
    s->cap = c;
    atomic_fetch_add(&ncaptures, 1);
    pthread_mutex_unlock(&cap_lock);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuStreamEndCapture(CUstream stream, CUgraph *graph)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    if (!graph)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&cap_lock);
    struct emu_capture *c = s->cap;
    if (!c)
        r = CUDA_ERROR_ILLEGAL_STATE;
    else if (c->origin != s)
        r = CUDA_ERROR_STREAM_CAPTURE_UNMATCHED;
    else if (c->mode != CU_STREAM_CAPTURE_MODE_RELAXED && c->owner != &thread_token)
        r = CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD;
    if (r) {
        pthread_mutex_unlock(&cap_lock);
        return r;
    }
    capture_unlink(c);
    pthread_mutex_unlock(&cap_lock);
    if (c->invalidated) {
        graph_free(c->graph);
        *graph = NULL;
        r = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
    } else {
        *graph = c->graph;
    }
    free(c);
    return r;
}

EMU_API CUresult cuStreamIsCapturing(CUstream stream, CUstreamCaptureStatus *status)
{
    return cuStreamGetCaptureInfo(stream, status, NULL, NULL, NULL, NULL, NULL);
}

EMU_API CUresult cuStreamGetCaptureInfo(CUstream stream, CUstreamCaptureStatus *status,
                                        cuuint64_t *id, CUgraph *graph,
                                        const CUgraphNode **deps,
                                        const CUgraphEdgeData **edges, size_t *ndeps)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    if (!status)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&cap_lock);
    struct emu_capture *c = s->cap;
    *status = !c ? CU_STREAM_CAPTURE_STATUS_NONE
                 : c->invalidated ? CU_STREAM_CAPTURE_STATUS_INVALIDATED
                                  : CU_STREAM_CAPTURE_STATUS_ACTIVE;
    if (id && c)
        *id = c->id;
    if (graph)
        *graph = c ? c->graph : NULL;
    pthread_mutex_unlock(&cap_lock);
    /* The graph is a plain sequence; no node handles are exposed. */
    if (deps)
        *deps = NULL;
    if (edges)
        *edges = NULL;
    if (ndeps)
        *ndeps = 0;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode)
{
    if (!mode || (*mode != CU_STREAM_CAPTURE_MODE_GLOBAL &&
                  *mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
                  *mode != CU_STREAM_CAPTURE_MODE_RELAXED))
        return CUDA_ERROR_INVALID_VALUE;
    CUstreamCaptureMode old = thread_mode;
    thread_mode = *mode;
    *mode = old;
    return CUDA_SUCCESS;
}

/* ---- graph objects -------------------------------------------------------- */

EMU_API CUresult cuGraphInstantiate(CUgraphExec *exec, CUgraph graph, unsigned long long flags)
{
    (void)flags;
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!exec || !graph || graph->magic != EMU_GRAPH_MAGIC)
        return CUDA_ERROR_INVALID_VALUE;
    struct CUgraphExec_st *e = calloc(1, sizeof *e);
    if (!e)
        return CUDA_ERROR_OUT_OF_MEMORY;
    e->magic = EMU_EXEC_MAGIC;
    e->nodes = graph->nodes;
    atomic_fetch_add(&e->nodes->refs, 1);
    *exec = e;
    return CUDA_SUCCESS;
}

static CUresult run_child(void *arg)
{
    return nodes_run(*(struct nodes **)arg);
}

static void release_child(void *arg)
{
    nodes_release(*(struct nodes **)arg);
}

EMU_API CUresult cuGraphLaunch(CUgraphExec exec, CUstream stream)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!exec || exec->magic != EMU_EXEC_MAGIC)
        return CUDA_ERROR_INVALID_VALUE;
    struct CUstream_st *s = drv_stream(stream);
    if (!s)
        return CUDA_ERROR_INVALID_HANDLE;
    /* Launched into a capture: the whole graph becomes one node. */
    if (atomic_load(&ncaptures)) {
        int recorded = 0;
        pthread_mutex_lock(&cap_lock);
        if (s->cap) {
            recorded = 1;
            if (s->cap->invalidated)
                r = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
            else if (nodes_append(s->cap->graph->nodes, run_child, release_child,
                                  &exec->nodes, sizeof exec->nodes))
                r = CUDA_ERROR_OUT_OF_MEMORY;
            else
                atomic_fetch_add(&exec->nodes->refs, 1);
        }
        pthread_mutex_unlock(&cap_lock);
        if (recorded)
            return r;
    }
    return nodes_run(exec->nodes);
}

EMU_API CUresult cuGraphCreate(CUgraph *graph, unsigned flags)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!graph || flags)
        return CUDA_ERROR_INVALID_VALUE;
    return (*graph = graph_new()) ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

/* A graph changed after it was instantiated keeps its executable graphs
 * as they were: the node list they share is copied first. A child graph's
 * node holds a reference it cannot copy: such a list stays shared, and the
 * change is refused. */
static CUresult own_nodes(struct CUgraph_st *g)
{
    if (atomic_load(&g->nodes->refs) == 1)
        return CUDA_SUCCESS;
    struct nodes *copy = calloc(1, sizeof *copy);
    if (!copy)
        return CUDA_ERROR_OUT_OF_MEMORY;
    atomic_init(&copy->refs, 1);
    for (struct node *n = g->nodes->head; n; n = n->next) {
        if (n->release || nodes_append(copy, n->run, NULL, n->arg, n->size)) {
            nodes_release(copy);
            return n->release ? CUDA_ERROR_NOT_SUPPORTED : CUDA_ERROR_OUT_OF_MEMORY;
        }
    }
    nodes_release(g->nodes);
    g->nodes = copy;
    return CUDA_SUCCESS;
}

EMU_API CUresult emu_graph_append(CUgraph graph, emu_op_fn run, const void *arg, size_t size)
{
    if (!graph || graph->magic != EMU_GRAPH_MAGIC || !run)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&cap_lock);
    CUresult r = own_nodes(graph);
    if (!r && nodes_append(graph->nodes, run, NULL, arg, size))
        r = CUDA_ERROR_OUT_OF_MEMORY;
    pthread_mutex_unlock(&cap_lock);
    return r;
}

EMU_API CUresult emu_graph_update(CUgraph graph, emu_op_fn run,
                                  int (*same)(const void *node_arg, const void *arg),
                                  const void *arg, size_t size)
{
    if (!graph || graph->magic != EMU_GRAPH_MAGIC || !run || !same)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&cap_lock);
    CUresult r = own_nodes(graph);
    struct node *n = graph->nodes->head;
    for (; !r && n && !(n->run == run && n->size == size && same(n->arg, arg)); n = n->next)
        ;
    if (!r && !n)
        r = CUDA_ERROR_NOT_FOUND;
    if (!r)
        memcpy(n->arg, arg, size);
    pthread_mutex_unlock(&cap_lock);
    return r;
}

EMU_API CUresult cuGraphDestroy(CUgraph graph)
{
    if (!graph || graph->magic != EMU_GRAPH_MAGIC)
        return CUDA_ERROR_INVALID_VALUE;
    graph_free(graph);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuGraphExecDestroy(CUgraphExec exec)
{
    if (!exec || exec->magic != EMU_EXEC_MAGIC)
        return CUDA_ERROR_INVALID_VALUE;
    exec->magic = 0;
    nodes_release(exec->nodes);
    free(exec);
    return CUDA_SUCCESS;
}

/* ---- streams ------------------------------------------------------------ */

/* Priorities as on an H100: 0 is the least, -5 the greatest; values
 * beyond the range are clamped, as documented. */
#define LEAST_PRIORITY 0
#define GREATEST_PRIORITY (-5)

EMU_API CUresult cuCtxGetStreamPriorityRange(int *leastPriority, int *greatestPriority)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (leastPriority)
        *leastPriority = LEAST_PRIORITY;
    if (greatestPriority)
        *greatestPriority = GREATEST_PRIORITY;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags, int priority)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!phStream || (flags & ~(unsigned)CU_STREAM_NON_BLOCKING))
        return CUDA_ERROR_INVALID_VALUE;
    struct CUstream_st *s = calloc(1, sizeof *s);
    if (!s)
        return CUDA_ERROR_OUT_OF_MEMORY;
    s->magic = EMU_STREAM_MAGIC;
    s->flags = flags;
    s->priority = priority > LEAST_PRIORITY      ? LEAST_PRIORITY
                  : priority < GREATEST_PRIORITY ? GREATEST_PRIORITY
                                                 : priority;
    *phStream = s;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuStreamCreate(CUstream *phStream, unsigned int flags)
{
    return cuStreamCreateWithPriority(phStream, flags, 0);
}

EMU_API CUresult cuStreamGetPriority(CUstream stream, int *priority)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    if (!priority)
        return CUDA_ERROR_INVALID_VALUE;
    *priority = s->priority;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuStreamGetFlags(CUstream stream, unsigned int *flags)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    if (!flags)
        return CUDA_ERROR_INVALID_VALUE;
    *flags = s->flags;
    return CUDA_SUCCESS;
}

struct host_fn_op {
    CUhostFn fn;
    void *data;
};

static CUresult run_host_fn(void *arg)
{
    struct host_fn_op *op = arg;
    op->fn(op->data);
    return CUDA_SUCCESS;
}

/* The function runs in stream order: now, since earlier work already ran,
 * or as a host node of the capture. */
EMU_API CUresult cuLaunchHostFunc(CUstream stream, CUhostFn fn, void *userData)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    if (!fn)
        return CUDA_ERROR_INVALID_VALUE;
    struct host_fn_op op = { fn, userData };
    int recorded;
    if ((r = drv_stream_record(stream, run_host_fn, NULL, &op, sizeof op, &recorded)) ||
        recorded)
        return r;
    return run_host_fn(&op);
}

EMU_API CUresult cuStreamDestroy(CUstream stream)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    struct CUstream_st *s = drv_stream(stream);
    if (!s || s == &legacy || s == &per_thread)
        return CUDA_ERROR_INVALID_HANDLE;
    /* A capture cannot outlive its streams: destroying the origin abandons
     * it, destroying a joined stream invalidates it. */
    struct emu_capture *dead = NULL;
    pthread_mutex_lock(&cap_lock);
    struct emu_capture *c = s->cap;
    if (c && c->origin == s) {
        capture_unlink(c);
        dead = c;
    } else if (c) {
        c->invalidated = 1;
        for (int i = 0; i < c->njoined; i++)
            if (c->joined[i] == s)
                c->joined[i] = c->joined[--c->njoined];
    }
    pthread_mutex_unlock(&cap_lock);
    if (dead) {
        graph_free(dead->graph);
        free(dead);
    }
    s->magic = 0;
    free(s);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuStreamSynchronize(CUstream stream)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    if ((r = refuse_if_capturing(s)) || (r = emu_capture_unsafe_call()))
        return r;
    drv_count_sync(s);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuStreamQuery(CUstream stream)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    return refuse_if_capturing(s);
}

EMU_API CUresult cuStreamGetCtx(CUstream stream, CUcontext *pctx)
{
    /* A stream the program created carries its context: none need be
     * current (the shim asks exactly when none is). The default streams
     * are the current context's. */
    struct CUstream_st *s;
    CUresult r = CUDA_SUCCESS;
    if (stream && stream != CU_STREAM_LEGACY && stream != CU_STREAM_PER_THREAD)
        r = (s = drv_stream(stream)) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
    else
        r = ctx_stream(stream, &s);
    if (r)
        return r;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    *pctx = drv_primary();
    return CUDA_SUCCESS;
}

/* CUDA 12.5's, which also names the green context (none here). A caller
 * that looked it up as the two-parameter cuStreamGetCtx leaves a stray
 * pointer in the third: it is written, as the real driver writes it. */
EMU_API CUresult cuStreamGetCtx_v2(CUstream stream, CUcontext *pctx, CUgreenCtx *pgreen)
{
    CUresult r = cuStreamGetCtx(stream, pctx);
    if (r == CUDA_SUCCESS && pgreen)
        *pgreen = NULL;
    return r;
}

/* One device: every stream is on device 0. */
EMU_API CUresult cuStreamGetDevice(CUstream stream, CUdevice *device)
{
    struct CUstream_st *s;
    CUresult r = ctx_stream(stream, &s);
    if (r)
        return r;
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    *device = 0;
    return CUDA_SUCCESS;
}

/* Waiting on an event recorded inside a capture pulls the waiting stream
 * into that capture (the fork/join pattern of multi-stream capture). */
EMU_API CUresult cuStreamWaitEvent(CUstream stream, CUevent event, unsigned int flags)
{
    (void)flags;
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    struct CUstream_st *s = drv_stream(stream);
    if (!s || !event || event->magic != EMU_EVENT_MAGIC)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!event->cap_id || atomic_load(&ncaptures) == 0)
        return CUDA_SUCCESS;
    pthread_mutex_lock(&cap_lock);
    struct emu_capture *c = capture_by_id(event->cap_id);
    if (c && s->cap && s->cap != c)
        r = CUDA_ERROR_STREAM_CAPTURE_MERGE;
    else if (c && !s->cap) {
        if (s == &legacy || c->njoined == MAX_JOINED)
            r = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
        else {
            c->joined[c->njoined++] = s;
            s->cap = c;
        }
    }
    pthread_mutex_unlock(&cap_lock);
    return r;
}

/* ---- events -------------------------------------------------------------- */

static int valid_event(CUevent e)
{
    return e && e->magic == EMU_EVENT_MAGIC;
}

EMU_API CUresult cuEventCreate(CUevent *phEvent, unsigned int flags)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!phEvent || (flags & ~(unsigned)(CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING |
                                         CU_EVENT_INTERPROCESS)))
        return CUDA_ERROR_INVALID_VALUE;
    struct CUevent_st *e = calloc(1, sizeof *e);
    if (!e)
        return CUDA_ERROR_OUT_OF_MEMORY;
    e->magic = EMU_EVENT_MAGIC;
    e->flags = flags;
    *phEvent = e;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuEventDestroy(CUevent event)
{
    if (!valid_event(event))
        return CUDA_ERROR_INVALID_HANDLE;
    event->magic = 0;
    free(event);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuEventRecord(CUevent event, CUstream stream)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    struct CUstream_st *s = drv_stream(stream);
    if (!valid_event(event) || !s)
        return CUDA_ERROR_INVALID_HANDLE;
    unsigned long long cap_id = 0;
    if (atomic_load(&ncaptures)) {
        pthread_mutex_lock(&cap_lock);
        if (s->cap)
            cap_id = s->cap->id;
        pthread_mutex_unlock(&cap_lock);
    }
    event->cap_id = cap_id;
    if (!cap_id)
        event->stream = s;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuEventQuery(CUevent event)
{
    return valid_event(event) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

EMU_API CUresult cuEventSynchronize(CUevent event)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!valid_event(event))
        return CUDA_ERROR_INVALID_HANDLE;
    if ((r = emu_capture_unsafe_call()))
        return r;
    drv_count_sync(event->stream);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end)
{
    if (!ms)
        return CUDA_ERROR_INVALID_VALUE;
    if (!valid_event(start) || !valid_event(end))
        return CUDA_ERROR_INVALID_HANDLE;
    *ms = 0.0f;
    return CUDA_SUCCESS;
}
