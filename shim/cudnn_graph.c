/* cuDNN's graph (backend) API: compute types rewritten where the program
 * sets them, and the outputs of cudnnBackendExecute checked.
 *
 * Why the graph is tracked from cudnnBackendSetAttribute rather than read
 * back from the plan at its first execution: NVIDIA's libcudnn.so.9 (9.19,
 * tests/real) answers CUDNN_STATUS_NOT_SUPPORTED to getting an operation
 * graph's CUDNN_ATTR_OPERATIONGRAPH_OPS and a variant pack's UIDs and data
 * pointers, so a plan cannot be walked back to its operations' output
 * tensors, nor a pack to its pointers. What the program sets can be seen:
 *
 *   tensor  --(op's X/W/Y, A/B/C ... attributes)-->  operation record
 *   ops     --(OPERATIONGRAPH_OPS)-->                graph record (by value)
 *   graph   --(ENGINE/ENGINEHEUR_OPERATION_GRAPH)--> engine, heuristics
 *   engine  --(ENGINECFG_ENGINE)-->                  engine config
 *   heur    --(get ENGINEHEUR_RESULTS)-->            engine configs
 *   config  --(EXECUTION_PLAN_ENGINE_CONFIG)-->      plan
 *   UIDs, pointers --(VARIANT_PACK_*)-->             pack record
 *
 * Each descriptor maps (objtab) to a record in a fixed pool; operation and
 * pack records, needed only until their graph is built or their execution
 * is over, are reused round robin, graph records least recently used first
 * (built or executed), so the plans a training step executes again and
 * again keep theirs however many shapes come and go. A generation tells a
 * reused record from the one a descriptor meant, so a plan whose graph
 * record was recycled (more than GRAPHS graphs in use) is executed
 * unchecked rather than checked wrongly, with one warning.
 * Tensors are read with the real cudnnBackendGetAttribute when an
 * operation references them (they are finalized by then). With
 * SAFEHALF_CHECK_INPUTS=1 each output's inputs are scanned too. */
#include <pthread.h>
#include <string.h>

#include "cudnn_shim.h"
#include "lockrenew.h"
#include "objtab.h"

#define OPS 512
#define GRAPHS 256
#define PACKS 256
/* Operations kept per graph: cuDNN's attention as the frontend composes
 * it (PyTorch's cuDNN attention) is a dozen operations forward and 20 to
 * 40 backward. */
#define GRAPH_OPS 64
/* Distinct tensors kept per graph (a chain of n operations has n + 1). */
#define GRAPH_TENSORS 96
/* UID/pointer pairs kept per variant pack: one for each tensor a graph
 * record keeps, as the pack's order is the program's (the frontend's is a
 * map's), so its outputs may come last. */
#define PACK_MAX GRAPH_TENSORS
_Static_assert(GRAPH_OPS <= 64, "struct reach's seen has a bit per operation");
_Static_assert(GRAPH_TENSORS < 128, "tensor indices are signed chars");

enum op_kind { K_NONE, K_CONV_FWD, K_CONV_BWD_DATA, K_CONV_BWD_FILTER, K_MATMUL, K_POINTWISE,
               K_REDUCTION, K_SDPA_FWD, K_KINDS };
/* Tensors an operation names (a pointwise one's six). Slots 0 and 1 hold
 * the operands of the GEMM an operation amounts to, slot 2 its output. */
#define SLOTS 6
/* TAG_RAGGED: a tensor with a RAGGED_OFFSET_DESC (no record) */
enum tag { TAG_OP = 1, TAG_GRAPH, TAG_PACK, TAG_RAGGED };

/* What a finding calls a tensor; a name already taken in the call gets
 * a number (a conv's x and a residual add's x: x, x2). */
#define NAMES 4
#define FAMILY(id, s) static const char *const id[NAMES] = { s, s "2", s "3", s "4" }
FAMILY(n_x, "x");
FAMILY(n_w, "w");
FAMILY(n_y, "y");
FAMILY(n_dy, "dy");
FAMILY(n_dx, "dx");
FAMILY(n_dw, "dw");
FAMILY(n_A, "A");
FAMILY(n_B, "B");
FAMILY(n_C, "C");
FAMILY(n_b, "b");
FAMILY(n_t, "t");
FAMILY(n_q, "q");
FAMILY(n_k, "k");
FAMILY(n_v, "v");
FAMILY(n_o, "o");
FAMILY(n_stats, "stats");
FAMILY(n_scale, "scale");

/* One tensor attribute of an operation kind. */
struct slot_def {
    cudnnBackendAttributeName_t attr; /* 0: no such slot */
    bool out, required;
    const char *const *names;
};

#define IN(attr, names) { CUDNN_ATTR_OPERATION_##attr, false, true, names }
#define OPT(attr, names) { CUDNN_ATTR_OPERATION_##attr, false, false, names }
#define OUT(attr, names) { CUDNN_ATTR_OPERATION_##attr, true, true, names }
#define OPT_OUT(attr, names) { CUDNN_ATTR_OPERATION_##attr, true, false, names }
/* The tensors of each operation the shim follows, by slot. An operation
 * with every required slot and at least one output is followed. The
 * attention operation's sequence lengths, page tables and block mask are
 * integer tensors no scan reads: not followed. Its backward operation
 * (SDPA_BWD) is not: cuDNN 9.19 builds no graph of it alone (BAD_PARAM;
 * beside others a graph gets only their engines), and the frontend
 * composes attention backward from the operations here. */
static const struct slot_def slot_defs[K_KINDS][SLOTS] = {
    [K_CONV_FWD] = { IN(CONVOLUTION_FORWARD_X, n_x), IN(CONVOLUTION_FORWARD_W, n_w),
                     OUT(CONVOLUTION_FORWARD_Y, n_y) },
    [K_CONV_BWD_DATA] = { IN(CONVOLUTION_BWD_DATA_DY, n_dy), IN(CONVOLUTION_BWD_DATA_W, n_w),
                          OUT(CONVOLUTION_BWD_DATA_DX, n_dx) },
    [K_CONV_BWD_FILTER] = { IN(CONVOLUTION_BWD_FILTER_X, n_x), IN(CONVOLUTION_BWD_FILTER_DY, n_dy),
                            OUT(CONVOLUTION_BWD_FILTER_DW, n_dw) },
    [K_MATMUL] = { IN(MATMUL_ADESC, n_A), IN(MATMUL_BDESC, n_B), OUT(MATMUL_CDESC, n_C) },
    /* y = op(x, b, t) forward; dx = op(dy, x) backward */
    [K_POINTWISE] = { IN(POINTWISE_XDESC, n_x), OPT(POINTWISE_BDESC, n_b),
                      OPT_OUT(POINTWISE_YDESC, n_y), OPT(POINTWISE_TDESC, n_t),
                      OPT(POINTWISE_DYDESC, n_dy), OPT_OUT(POINTWISE_DXDESC, n_dx) },
    [K_REDUCTION] = { IN(REDUCTION_XDESC, n_x), {0}, OUT(REDUCTION_YDESC, n_y) },
    [K_SDPA_FWD] = { IN(SDPA_FWD_QDESC, n_q), IN(SDPA_FWD_KDESC, n_k), OUT(SDPA_FWD_ODESC, n_o),
                     IN(SDPA_FWD_VDESC, n_v), OPT_OUT(SDPA_FWD_STATSDESC, n_stats),
                     OPT(SDPA_FWD_SCALEDESC, n_scale) },
};
#undef IN
#undef OPT
#undef OUT
#undef OPT_OUT

/* Each kind's descriptor (the operation's attribute naming it) and that
 * descriptor's compute-type attribute; the fewest dims its tensors have
 * (what the GEMM shapes index). */
static const struct kind_def {
    cudnnBackendAttributeName_t desc, comp;
    int min_nd;
} kind_defs[K_KINDS] = {
    [K_CONV_FWD] = { CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
                     CUDNN_ATTR_CONVOLUTION_COMP_TYPE, 3 },
    [K_CONV_BWD_DATA] = { CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
                          CUDNN_ATTR_CONVOLUTION_COMP_TYPE, 3 },
    [K_CONV_BWD_FILTER] = { CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
                            CUDNN_ATTR_CONVOLUTION_COMP_TYPE, 3 },
    [K_MATMUL] = { CUDNN_ATTR_OPERATION_MATMUL_DESC, CUDNN_ATTR_MATMUL_COMP_TYPE, 2 },
    [K_POINTWISE] = { CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR,
                      CUDNN_ATTR_POINTWISE_MATH_PREC, 1 },
    [K_REDUCTION] = { CUDNN_ATTR_OPERATION_REDUCTION_DESC, CUDNN_ATTR_REDUCTION_COMP_TYPE, 1 },
    [K_SDPA_FWD] = { 0, 0, 4 },
};

#define R_COMP (-1) /* the slot of an operation's descriptor attribute */

struct bk_tensor {
    /* by_value: a host scalar (cuDNN's pass-by-value tensors), never scanned;
     * ragged: each batch starts where an offsets tensor in device memory
     * says (PyTorch's nested-tensor attention gives dim 0 a stride of
     * INT_MAX), so its dims and strides do not say where its elements are:
     * never scanned either */
    bool set, is_virtual, by_value, ragged;
    long long uid;
    struct sh_dnn_tensor t;
};

struct op_rec {
    unsigned long long gen;
    enum op_kind kind;
    struct bk_tensor t[SLOTS];
    bool have_comp;
    bool held; /* the shim rewrote the compute type of the op's descriptor */
    int own, used;
};

/* A graph's tensor, once however many operations name it. */
struct graph_tensor {
    struct bk_tensor t;
    signed char producer; /* the operation writing it; -1: none followed */
};

/* What Execute needs of one operation. */
struct graph_op {
    enum op_kind kind;
    signed char t[SLOTS]; /* the graph's tensor in each slot; -1: none */
    bool have_comp, held;
    int own, used;
};

struct graph_rec {
    unsigned long long gen;
    int nops, ntens;
    bool truncated; /* more operations than GRAPH_OPS: their links are not known */
    struct graph_op ops[GRAPH_OPS];
    struct graph_tensor tens[GRAPH_TENSORS];
};

/* over: the UIDs whose dims and strides the pack overrides for its
 * execution (cuDNN 9.18's CUDNN_ATTR_VARIANT_PACK_OVERRIDE_*: a plan built
 * once and run at other extents). The shapes come as the frontend's C++
 * vectors, which the shim does not read: those tensors are not where
 * their graph's dims say, so they are neither checked nor scanned as
 * inputs. nover -1: more than PACK_MAX, every tensor counts as overridden. */
struct pack_rec {
    unsigned long long gen;
    int nuid, nptr, nover;
    int64_t uid[PACK_MAX];
    void *ptr[PACK_MAX];
    int64_t over[PACK_MAX];
};

/* The attribute's number, for a shim built with headers older than 9.18
 * and a program with newer ones. */
#if CUDNN_VERSION >= 91800
#define ATTR_OVERRIDE_UIDS CUDNN_ATTR_VARIANT_PACK_OVERRIDE_UNIQUE_IDS
#else
#define ATTR_OVERRIDE_UIDS ((cudnnBackendAttributeName_t)1010)
#endif

/* Graph building is not a hot path; Execute holds the lock while it reads
 * its graph and pack records (no copies). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct op_rec op_pool[OPS];
static struct graph_rec graph_pool[GRAPHS];
static struct pack_rec pack_pool[PACKS];
static unsigned op_next, pack_next;
/* When each graph record was last built or executed (apart from the
 * records: a scan for the oldest touches one small array). */
static unsigned long long graph_used[GRAPHS], uses;
static atomic_int warned_recycled;
static unsigned long long generation;
static struct sh_objtab refs = SH_OBJTAB_INIT;
static atomic_int warned_full;

/* A record another thread of the parent was writing stays half written,
 * but it is that thread's descriptor's, which the child never finalizes
 * or executes: only the lock is made anew. */
void sh_dnn_graph_after_fork(void)
{
    sh_lock_renew(&lock);
}

/* ---- descriptor -> record ------------------------------------------------------- */

static bool ref_get(const void *d, enum tag tag, unsigned *idx, unsigned long long *gen)
{
    long long w[SH_OBJTAB_WORDS];
    if (!d || !sh_objtab_get(&refs, d, w) || w[0] != tag)
        return false;
    *idx = (unsigned)w[1];
    *gen = (unsigned long long)w[2];
    return true;
}

static bool ref_put(const void *d, enum tag tag, unsigned idx, unsigned long long gen)
{
    const long long w[SH_OBJTAB_WORDS] = { tag, idx, (long long)gen };
    if (!d || sh_objtab_put(&refs, d, w))
        return true;
    sh_warn_once(&warned_full, "too many cuDNN graph descriptors to follow; some "
                               "cudnnBackendExecute outputs will not be checked");
    return false;
}

/* A ragged tensor the table had no room to mark would look ordinary, and a
 * scan by its dims and strides (dim 0's INT_MAX) would read far outside it:
 * from then on no graph output is scanned. */
static atomic_int ragged_lost;

/* d now stands for the same graph as src (an engine for its graph, a
 * config for its engine, a plan for its config). */
static void ref_copy(const void *d, const void *src)
{
    unsigned idx;
    unsigned long long gen;
    if (ref_get(src, TAG_GRAPH, &idx, &gen))
        ref_put(d, TAG_GRAPH, idx, gen);
    else if (d)
        sh_objtab_del(&refs, d);
}

/* ---- what an attribute is -------------------------------------------------------- */

/* The operation kind and slot (R_COMP: its descriptor) of an attribute of
 * an operation descriptor; false for any other attribute. */
static bool role_of(cudnnBackendAttributeName_t a, enum op_kind *k, int *slot)
{
    for (int i = K_NONE + 1; i < K_KINDS; i++) {
        *k = (enum op_kind)i;
        *slot = R_COMP;
        if (kind_defs[i].desc && kind_defs[i].desc == a)
            return true;
        for (*slot = 0; *slot < SLOTS; ++*slot)
            if (slot_defs[i][*slot].attr && slot_defs[i][*slot].attr == a)
                return true;
    }
    return false;
}

static bool is_comp_attr(cudnnBackendAttributeName_t a)
{
    return a == CUDNN_ATTR_CONVOLUTION_COMP_TYPE || a == CUDNN_ATTR_MATMUL_COMP_TYPE ||
           a == CUDNN_ATTR_REDUCTION_COMP_TYPE || a == CUDNN_ATTR_POINTWISE_MATH_PREC;
}

/* ---- reading descriptors with the real getter ------------------------------------- */

static bool get_attr(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                     cudnnBackendAttributeType_t type, int64_t req, int64_t *n, void *out)
{
    sh_fn_cudnnBackendGetAttribute get = REAL(sh_cudnn, cudnnBackendGetAttribute);
    return get && get(d, a, type, req, n, out) == CUDNN_STATUS_SUCCESS;
}

/* A boolean attribute not every library answers for a tensor that never
 * set it: false then. */
static bool get_flag(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a)
{
    bool v = false;
    return get_attr(d, a, CUDNN_TYPE_BOOLEAN, 1, NULL, &v) && v;
}

static bool read_tensor(cudnnBackendDescriptor_t d, struct bk_tensor *t)
{
    int64_t nd, ns, uid, dim[SH_DNN_DIMS], stride[SH_DNN_DIMS];
    cudnnDataType_t type;
    unsigned idx;
    unsigned long long gen;
    if (!get_attr(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, NULL, &uid) ||
        !get_attr(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, NULL, &type) ||
        !get_attr(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, SH_DNN_DIMS, &nd, dim) ||
        !get_attr(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, SH_DNN_DIMS, &ns, stride) ||
        nd < 1 || nd > SH_DNN_DIMS || ns != nd)
        return false;
    *t = (struct bk_tensor){ .set = true,
                             .is_virtual = get_flag(d, CUDNN_ATTR_TENSOR_IS_VIRTUAL),
                             .by_value = get_flag(d, CUDNN_ATTR_TENSOR_IS_BY_VALUE),
                             .ragged = ref_get(d, TAG_RAGGED, &idx, &gen),
                             .uid = uid,
                             .t = { .type = (int)type, .nd = (int)nd } };
    for (int i = 0; i < nd; i++) {
        t->t.dim[i] = dim[i];
        t->t.stride[i] = stride[i];
    }
    return true;
}

/* ---- operation records ---------------------------------------------------------------- */

/* The record of op (a new one if it has none, or one of another kind);
 * under the lock. */
static struct op_rec *op_record(const void *op, enum op_kind kind)
{
    unsigned idx;
    unsigned long long gen;
    if (ref_get(op, TAG_OP, &idx, &gen) && op_pool[idx].gen == gen &&
        op_pool[idx].kind == kind)
        return &op_pool[idx];
    idx = op_next++ % OPS;
    op_pool[idx] = (struct op_rec){ .gen = ++generation, .kind = kind };
    ref_put(op, TAG_OP, idx, op_pool[idx].gen);
    return &op_pool[idx];
}

static void op_update(const void *op, enum op_kind kind, int slot, cudnnBackendDescriptor_t ref)
{
    struct bk_tensor t = { 0 };
    cudnnDataType_t used;
    int own = 0;
    bool held = false, have_comp = false;
    if (slot == R_COMP) {
        have_comp = get_attr(ref, kind_defs[kind].comp, CUDNN_TYPE_DATA_TYPE, 1, NULL, &used);
        held = have_comp && sh_dnn_own_get(ref, &own);
    } else if (!read_tensor(ref, &t)) {
        return;
    }
    pthread_mutex_lock(&lock);
    struct op_rec *r = op_record(op, kind);
    if (slot == R_COMP) {
        r->have_comp = have_comp;
        r->held = held;
        r->own = own;
        r->used = have_comp ? (int)used : 0;
    } else {
        r->t[slot] = t;
    }
    pthread_mutex_unlock(&lock);
}

/* ---- graph records ----------------------------------------------------------------------- */

/* Every required tensor, at least one output, and the dims the GEMM
 * shapes read. */
static bool op_complete(const struct op_rec *r)
{
    bool any_out = false;
    for (int s = 0; s < SLOTS; s++) {
        const struct slot_def *d = &slot_defs[r->kind][s];
        if (!r->t[s].set) {
            if (d->required)
                return false;
            continue;
        }
        if (r->t[s].t.nd < kind_defs[r->kind].min_nd)
            return false;
        any_out |= d->out;
    }
    return any_out;
}

/* The graph's index of tensor t, added if new (-1 when full). */
static int graph_tensor(struct graph_rec *g, const struct bk_tensor *t)
{
    for (int i = 0; i < g->ntens; i++)
        if (g->tens[i].t.uid == t->uid)
            return i;
    if (g->ntens == GRAPH_TENSORS)
        return -1;
    g->tens[g->ntens] = (struct graph_tensor){ .t = *t, .producer = -1 };
    return g->ntens++;
}

/* Operation i of g from its record; one whose tensors do not all fit is
 * not followed (and the graph's links past it are unknown). */
static void graph_op_of(struct graph_rec *g, int i, const struct op_rec *r)
{
    struct graph_op *op = &g->ops[i];
    *op = (struct graph_op){ .kind = K_NONE };
    if (!op_complete(r))
        return;
    int n = 0;
    for (int s = 0; s < SLOTS; s++)
        n += r->t[s].set;
    if (g->ntens + n > GRAPH_TENSORS) {
        g->truncated = true;
        return;
    }
    for (int s = 0; s < SLOTS; s++) {
        op->t[s] = r->t[s].set ? (signed char)graph_tensor(g, &r->t[s]) : -1;
        if (op->t[s] >= 0 && slot_defs[r->kind][s].out && g->tens[op->t[s]].producer < 0)
            g->tens[op->t[s]].producer = (signed char)i;
    }
    op->kind = r->kind;
    op->have_comp = r->have_comp;
    op->held = r->held;
    op->own = r->own;
    op->used = r->used;
}

static void graph_from_ops(const void *graph, int64_t n, const cudnnBackendDescriptor_t *ops)
{
    if (n < 1 || !ops)
        return;
    pthread_mutex_lock(&lock);
    unsigned idx = 0;
    for (unsigned i = 1; i < GRAPHS; i++)
        if (graph_used[i] < graph_used[idx])
            idx = i;
    graph_used[idx] = ++uses;
    struct graph_rec *g = &graph_pool[idx];
    /* Only the operations and tensors present are written: a record is
     * mostly room for large graphs, and untouched room costs no memory. */
    g->gen = ++generation;
    g->nops = n < GRAPH_OPS ? (int)n : GRAPH_OPS;
    g->ntens = 0;
    g->truncated = n > GRAPH_OPS;
    for (int i = 0; i < g->nops; i++) {
        unsigned oi;
        unsigned long long gen;
        g->ops[i].kind = K_NONE;
        if (ref_get(ops[i], TAG_OP, &oi, &gen) && op_pool[oi].gen == gen)
            graph_op_of(g, i, &op_pool[oi]);
    }
    ref_put(graph, TAG_GRAPH, idx, g->gen);
    pthread_mutex_unlock(&lock);
}

/* ---- variant packs ------------------------------------------------------------------------ */

enum pack_attr { PACK_UIDS, PACK_PTRS, PACK_OVERRIDES };

static void pack_update(const void *pack, enum pack_attr what, int64_t n, const void *v)
{
    unsigned idx;
    unsigned long long gen;
    int keep = n < PACK_MAX ? (int)n : PACK_MAX;
    pthread_mutex_lock(&lock);
    if (!ref_get(pack, TAG_PACK, &idx, &gen) || pack_pool[idx].gen != gen) {
        idx = pack_next++ % PACKS;
        pack_pool[idx] = (struct pack_rec){ .gen = ++generation };
        ref_put(pack, TAG_PACK, idx, pack_pool[idx].gen);
    }
    struct pack_rec *p = &pack_pool[idx];
    if (what == PACK_UIDS) {
        memcpy(p->uid, v, (size_t)keep * sizeof *p->uid);
        p->nuid = keep;
    } else if (what == PACK_PTRS) {
        memcpy(p->ptr, v, (size_t)keep * sizeof *p->ptr);
        p->nptr = keep;
    } else {
        memcpy(p->over, v, (size_t)keep * sizeof *p->over);
        p->nover = n > PACK_MAX ? -1 : keep;
    }
    pthread_mutex_unlock(&lock);
}

/* The pointer the pack gives uid; NULL for none, or for a tensor whose
 * dims the pack overrides. */
static const void *pack_lookup(const struct pack_rec *p, long long uid)
{
    if (p->nover < 0)
        return NULL;
    for (int i = 0; i < p->nover; i++)
        if (p->over[i] == uid)
            return NULL;
    int n = p->nuid < p->nptr ? p->nuid : p->nptr;
    for (int i = 0; i < n; i++)
        if (p->uid[i] == uid)
            return p->ptr[i];
    return NULL;
}

/* ---- the hooks ------------------------------------------------------------------------------ */

/* After a successful set: follow the graph being built. */
static void track_set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
                      cudnnBackendAttributeType_t type, int64_t count, const void *v)
{
    enum op_kind kind;
    int slot;
    const cudnnBackendDescriptor_t *refd = v;
    if (type == CUDNN_TYPE_INT64 && name == CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS)
        pack_update(d, PACK_UIDS, count, v);
    else if (type == CUDNN_TYPE_VOID_PTR && name == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS)
        pack_update(d, PACK_PTRS, count, v);
    else if (type == CUDNN_TYPE_INT64 && name == ATTR_OVERRIDE_UIDS)
        pack_update(d, PACK_OVERRIDES, count, v);
    if (type != CUDNN_TYPE_BACKEND_DESCRIPTOR || count < 1 || !v)
        return;
    if (role_of(name, &kind, &slot) && count == 1)
        op_update(d, kind, slot, refd[0]);
    else if (name == CUDNN_ATTR_OPERATIONGRAPH_OPS)
        graph_from_ops(d, count, refd);
    else if (name == CUDNN_ATTR_TENSOR_RAGGED_OFFSET_DESC && refd[0] &&
             !ref_put(d, TAG_RAGGED, 0, 0) && !atomic_exchange(&ragged_lost, 1))
        sh_warn("a ragged cuDNN tensor could not be followed (too many graph descriptors); "
                "cudnnBackendExecute outputs are no longer checked");
    else if (name == CUDNN_ATTR_ENGINE_OPERATION_GRAPH ||
             name == CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH ||
             name == CUDNN_ATTR_ENGINECFG_ENGINE || name == CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG)
        ref_copy(d, refd[0]);
}

/* A compute type is rewritten in a stack copy: the program's buffer is
 * never written. Any other form (another attribute type, a count other
 * than 1) is cuDNN's to refuse, unchanged. */
bool sh_dnn_graph_set(struct cudnn_call *cc, cudnnBackendDescriptor_t d,
                      cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                      int64_t count, const void *elems)
{
    sh_fn_cudnnBackendSetAttribute real = (sh_fn_cudnnBackendSetAttribute)cc->c.real;
    cc->attr = (int)name;
    if (is_comp_attr(name) && type == CUDNN_TYPE_DATA_TYPE && count == 1 && elems) {
        int old = 0, own = (int)*(const cudnnDataType_t *)elems;
        bool had = sh_dnn_own_get(d, &old);
        cudnnDataType_t used = (cudnnDataType_t)sh_dnn_decide_desc(cc, d, own);
        cc->c.status = real(d, name, type, count, &used);
        sh_dnn_desc_done(d, own, (int)used, had, old, (cudnnStatus_t)cc->c.status);
        return true;
    }
    cc->c.status = real(d, name, type, count, elems);
    if (cc->c.status == CUDNN_STATUS_SUCCESS)
        track_set(d, name, type, count, elems);
    return true;
}

/* Getting a compute type answers the program's own; descriptors handed
 * out for a followed one (a heuristics' configurations, a config's engine)
 * stand for the same graph. */
bool sh_dnn_graph_get(struct cudnn_call *cc, cudnnBackendDescriptor_t d,
                      cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                      int64_t requested, int64_t *count, void *elems)
{
    sh_fn_cudnnBackendGetAttribute real = (sh_fn_cudnnBackendGetAttribute)cc->c.real;
    int own;
    cc->attr = (int)name;
    cc->c.status = real(d, name, type, requested, count, elems);
    if (cc->c.status != CUDNN_STATUS_SUCCESS || requested < 1 || !elems)
        return true;
    if (is_comp_attr(name) && type == CUDNN_TYPE_DATA_TYPE && sh_dnn_own_get(d, &own))
        *(cudnnDataType_t *)elems = (cudnnDataType_t)own;
    if (type == CUDNN_TYPE_BACKEND_DESCRIPTOR &&
        (name == CUDNN_ATTR_ENGINEHEUR_RESULTS || name == CUDNN_ATTR_ENGINECFG_ENGINE ||
         name == CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG)) {
        int64_t n = count && *count < requested ? *count : requested;
        for (int64_t i = 0; i < n; i++)
            ref_copy(((cudnnBackendDescriptor_t *)elems)[i], d);
    }
    return true;
}

void sh_dnn_graph_destroy(cudnnBackendDescriptor_t d)
{
    if (d)
        sh_objtab_del(&refs, d);
}

/* ---- a graph's outputs and inputs ------------------------------------------------------- */

static const struct bk_tensor *slot_tensor(const struct graph_rec *g, const struct graph_op *op,
                                           int s)
{
    return op->t[s] >= 0 ? &g->tens[op->t[s]].t : NULL;
}

/* The GEMM or reduction an output of an operation amounts to (see
 * cudnn.c for the legacy convolutions' implicit GEMMs; a matmul is its
 * own GEMM, batched over C's leading dims; pointwise ops are k = 1
 * reductions; attention's O = P V, batched over batch and heads, reduces
 * over the keys). */
static void out_shape(enum op_kind kind, const struct sh_dnn_tensor *a,
                      const struct sh_dnn_tensor *b, const struct sh_dnn_tensor *o,
                      struct sh_dnn_out *out)
{
    long long groups;
    out->batch = 1;
    switch (kind) {
    case K_CONV_FWD:
        out->m = o->dim[0] * sh_dnn_spatial(o), out->n = o->dim[1];
        out->k = b->dim[1] * sh_dnn_spatial(b);
        break;
    case K_CONV_BWD_DATA:
        groups = b->dim[1] > 0 && o->dim[1] % b->dim[1] == 0 ? o->dim[1] / b->dim[1] : 1;
        out->m = o->dim[0] * sh_dnn_spatial(o), out->n = o->dim[1];
        out->k = b->dim[0] / (groups > 0 ? groups : 1) * sh_dnn_spatial(b);
        break;
    case K_CONV_BWD_FILTER:
        out->m = o->dim[1] * sh_dnn_spatial(o), out->n = o->dim[0];
        out->k = b->dim[0] * sh_dnn_spatial(b);
        break;
    case K_MATMUL:
    case K_SDPA_FWD:
        out->m = o->dim[o->nd - 2], out->n = o->dim[o->nd - 1];
        for (int i = 0; i < o->nd - 2; i++)
            out->batch *= o->dim[i];
        out->k = kind == K_MATMUL ? a->dim[a->nd - 1] : b->dim[2];
        break;
    default:
        out->m = 1, out->n = sh_dnn_elems(o);
        out->k = kind == K_REDUCTION && out->n > 0 ? sh_dnn_elems(a) / out->n : 1;
        break;
    }
}

/* Output slot s of op. */
static void out_of(const struct graph_rec *g, const struct graph_op *op, int s, const void *ptr,
                   struct sh_dnn_out *o)
{
    const struct bk_tensor *a = slot_tensor(g, op, 0), *b = slot_tensor(g, op, 1);
    const struct bk_tensor *t = slot_tensor(g, op, s);
    struct sh_call tmp = { 0 };
    if (!b)
        b = a;
    sh_dnn_set_compute(&tmp, op->held, op->own, op->used);
    *o = (struct sh_dnn_out){ .t = t->t, .ptr = ptr, .atype = sh_dnn_cuda_type(a->t.type),
                              .btype = sh_dnn_cuda_type(b->t.type),
                              .ctype = sh_dnn_cuda_type(t->t.type),
                              .compute = op->have_comp ? tmp.compute : -1,
                              .compute_used = op->have_comp ? tmp.compute_used : -1 };
    out_shape(op->kind, &a->t, &b->t, &t->t, o);
}

/* The call's inputs are the tensors no operation of its graph produces;
 * each output's are those its operations reach back to through the
 * tensors the graph produces (virtual or not). A link the shim cannot
 * follow (a virtual tensor no followed operation makes, an operation
 * list cut at GRAPH_OPS, more inputs than a record holds) makes the
 * output's inputs unknown rather than wrongly cleared. A pass-by-value
 * scalar (the attention scale) lives on the host: not an input to scan. */

static bool name_taken(const struct cudnn_call *cc, const char *name)
{
    for (int u = 0; u < cc->nin; u++)
        if (cc->in_name[u] == name)
            return true;
    for (int u = 0; u < cc->nout; u++)
        if (cc->out[u].name == name)
            return true;
    return false;
}

/* The first name of the family the call has not used; NULL when all are. */
static const char *free_name(const struct cudnn_call *cc, const char *const *family)
{
    for (int j = 0; j < NAMES; j++)
        if (!name_taken(cc, family[j]))
            return family[j];
    return NULL;
}

struct reach {
    const struct graph_rec *g;
    const struct pack_rec *p;
    struct cudnn_call *cc;
    struct sh_dnn_out *o;
    uint64_t seen; /* operations walked (GRAPH_OPS bits) */
};

/* The output's list holds each input once; -1 stands for an unknown one
 * (and for the last when there is no room left). */
static void out_input(struct sh_dnn_out *o, int at)
{
    for (int i = 0; i < o->nin; i++)
        if (o->in[i] == at)
            return;
    if (o->nin < SH_CHECK_MAX_INPUTS)
        o->in[o->nin++] = (signed char)at;
    else
        o->in[SH_CHECK_MAX_INPUTS - 1] = -1;
}

/* Input tensor t (slot s of an operation of kind k) joins the call's
 * inputs once, and the output's. */
static void reach_input(struct reach *r, enum op_kind k, int s, const struct bk_tensor *t)
{
    struct cudnn_call *cc = r->cc;
    int at = -1;
    for (int i = 0; i < cc->nin && at < 0; i++)
        if (cc->in_uid[i] == t->uid)
            at = i;
    const char *name = at < 0 ? free_name(cc, slot_defs[k][s].names) : NULL;
    if (at < 0 && name && cc->nin < SH_DNN_INPUTS) {
        at = cc->nin++;
        cc->in_name[at] = name;
        cc->in[at] = t->t;
        cc->in_ptr[at] = pack_lookup(r->p, t->uid);
        cc->in_uid[at] = t->uid;
    }
    out_input(r->o, at);
}

static void reach_back(struct reach *r, int op)
{
    if (r->seen & UINT64_C(1) << op)
        return;
    r->seen |= UINT64_C(1) << op;
    const struct graph_op *g = &r->g->ops[op];
    for (int s = 0; s < SLOTS; s++) {
        if (slot_defs[g->kind][s].out || g->t[s] < 0)
            continue;
        const struct graph_tensor *t = &r->g->tens[g->t[s]];
        if (t->producer >= 0)
            reach_back(r, t->producer);
        else if (t->t.is_virtual || t->t.ragged || r->g->truncated)
            out_input(r->o, -1);
        else if (!t->t.by_value)
            reach_input(r, g->kind, s, &t->t);
    }
}

/* The call is described as its graph's first operation (by its first
 * output); every operation's 16-bit output that is a real (not virtual)
 * tensor and has a pointer in the pack is checked after the call, with
 * the inputs it is computed from, and named for the findings. */
static void describe_graph(struct cudnn_call *cc, const struct graph_rec *g,
                           const struct pack_rec *p)
{
    struct sh_call *c = &cc->c;
    struct sh_dnn_out first;
    bool described = false;
    for (int i = 0; i < g->nops; i++) {
        const struct graph_op *op = &g->ops[i];
        for (int s = 0; s < SLOTS && op->kind != K_NONE; s++) {
            const struct bk_tensor *t = slot_tensor(g, op, s);
            if (!t || !slot_defs[op->kind][s].out)
                continue;
            const void *ptr = t->is_virtual || t->ragged || atomic_load(&ragged_lost)
                                  ? NULL
                                  : pack_lookup(p, t->uid);
            /* Only 16-bit outputs are checked (sh_decide_check): a FLOAT
             * one (attention's stats) takes no room. */
            int ct = sh_dnn_cuda_type(t->t.type);
            bool check = ptr && (ct == SH_R_16F || ct == SH_R_16BF) && cc->nout < SH_DNN_OUTS;
            if (described && !check)
                continue;
            struct sh_dnn_out *o = check ? &cc->out[cc->nout] : &first;
            out_of(g, op, s, ptr, o);
            if (!described) {
                c->gemm = op->kind != K_POINTWISE && op->kind != K_REDUCTION;
                c->reduction = !c->gemm;
                sh_dnn_describe(c, o);
                if (op->have_comp)
                    sh_dnn_set_compute(c, op->held, op->own, op->used);
                else
                    c->compute = c->compute_used = -1;
                described = true;
            }
            if (!check)
                continue;
            o->name = free_name(cc, slot_defs[op->kind][s].names);
            cc->nout++;
            if (sh_policy.check_inputs) {
                struct reach r = { .g = g, .p = p, .cc = cc, .o = o };
                o->own_inputs = true;
                reach_back(&r, i);
            }
        }
    }
}

/* The plan's graph and the pack's pointers are read in their pools, under
 * the lock (a graph record is too large to copy onto the caller's stack);
 * a plan built before the shim saw it, or whose record was recycled, is
 * not followed. */
bool sh_dnn_graph_execute(struct cudnn_call *cc, cudnnHandle_t h, cudnnBackendDescriptor_t plan,
                          cudnnBackendDescriptor_t pack)
{
    static const struct pack_rec empty;
    unsigned gi, pi;
    unsigned long long ggen, pgen;
    cc->h = h;
    bool have_graph = ref_get(plan, TAG_GRAPH, &gi, &ggen);
    bool have_pack = ref_get(pack, TAG_PACK, &pi, &pgen);
    pthread_mutex_lock(&lock);
    bool recycled = have_graph && graph_pool[gi].gen != ggen;
    if (have_graph && !recycled) {
        graph_used[gi] = ++uses;
        describe_graph(cc, &graph_pool[gi],
                       have_pack && pack_pool[pi].gen == pgen ? &pack_pool[pi] : &empty);
    }
    pthread_mutex_unlock(&lock);
    if (recycled)
        sh_warn_once(&warned_recycled,
                     "more than %d cuDNN graphs in use: executions of the least recently "
                     "used are not checked", GRAPHS);
    return false;
}
