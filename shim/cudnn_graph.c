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
 * Each descriptor maps (objtab) to a record in a fixed pool, reused round
 * robin; a generation tells a reused record from the one a descriptor
 * meant, so a plan whose graph record was recycled (more than GRAPHS
 * graphs built since) is executed unchecked rather than checked wrongly.
 * Tensors are read with the real cudnnBackendGetAttribute when an
 * operation references them (they are finalized by then). With
 * SAFEHALF_CHECK_INPUTS=1 each output's inputs are scanned too. */
#include <pthread.h>
#include <string.h>

#include "cudnn_shim.h"
#include "objtab.h"

#define OPS 512
#define GRAPHS 256
#define PACKS 256
#define PACK_MAX 32
/* Operations kept per graph: cuDNN's fused attention (the frontend's SDPA,
 * PyTorch's cuDNN attention) is a dozen or more. */
#define GRAPH_OPS 32
_Static_assert(GRAPH_OPS <= 32, "struct reach's seen has a bit per operation");

enum op_kind { K_NONE, K_CONV_FWD, K_CONV_BWD_DATA, K_CONV_BWD_FILTER, K_MATMUL, K_POINTWISE,
               K_REDUCTION };
enum role { R_IN0, R_IN1, R_IN2, R_OUT, R_COMP };
#define NIN 3 /* input roles */
enum tag { TAG_OP = 1, TAG_GRAPH, TAG_PACK };

struct bk_tensor {
    bool set, is_virtual;
    long long uid;
    struct sh_dnn_tensor t;
};

struct op_rec {
    unsigned long long gen;
    enum op_kind kind;
    struct bk_tensor t[R_OUT + 1]; /* by role: in0, in1, in2, out */
    bool have_comp;
    bool held; /* the shim rewrote the compute type of the op's descriptor */
    int own, used;
};

/* What Execute needs of one operation. */
struct graph_op {
    enum op_kind kind;
    struct bk_tensor in[NIN], out;
    long long m, n, k, batch;
    int atype, btype;
    bool have_comp, held;
    int own, used;
};

struct graph_rec {
    unsigned long long gen;
    int nops;
    bool truncated; /* more operations than GRAPH_OPS: their links are not known */
    struct graph_op ops[GRAPH_OPS];
};

struct pack_rec {
    unsigned long long gen;
    int nuid, nptr;
    int64_t uid[PACK_MAX];
    void *ptr[PACK_MAX];
};

/* Graph building is not a hot path; Execute holds the lock while it reads
 * its graph and pack records (no copies). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct op_rec op_pool[OPS];
static struct graph_rec graph_pool[GRAPHS];
static struct pack_rec pack_pool[PACKS];
static unsigned op_next, graph_next, pack_next;
static unsigned long long generation;
static struct sh_objtab refs = SH_OBJTAB_INIT;
static atomic_int warned_full;

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

static void ref_put(const void *d, enum tag tag, unsigned idx, unsigned long long gen)
{
    const long long w[SH_OBJTAB_WORDS] = { tag, idx, (long long)gen };
    if (d && !sh_objtab_put(&refs, d, w))
        sh_warn_once(&warned_full, "too many cuDNN graph descriptors to follow; some "
                                   "cudnnBackendExecute outputs will not be checked");
}

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

/* The operation kind and role of a tensor or descriptor attribute of an
 * operation descriptor; false for any other attribute. */
static bool role_of(cudnnBackendAttributeName_t a, enum op_kind *k, enum role *r)
{
#define R(name, kind, role) case name: *k = kind, *r = role; return true;
    switch (a) {
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, K_CONV_FWD, R_IN0)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, K_CONV_FWD, R_IN1)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, K_CONV_FWD, R_OUT)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, K_CONV_FWD, R_COMP)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, K_CONV_BWD_DATA, R_IN0)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, K_CONV_BWD_DATA, R_IN1)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, K_CONV_BWD_DATA, R_OUT)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, K_CONV_BWD_DATA, R_COMP)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, K_CONV_BWD_FILTER, R_IN0)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, K_CONV_BWD_FILTER, R_IN1)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, K_CONV_BWD_FILTER, R_OUT)
    R(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, K_CONV_BWD_FILTER, R_COMP)
    R(CUDNN_ATTR_OPERATION_MATMUL_ADESC, K_MATMUL, R_IN0)
    R(CUDNN_ATTR_OPERATION_MATMUL_BDESC, K_MATMUL, R_IN1)
    R(CUDNN_ATTR_OPERATION_MATMUL_CDESC, K_MATMUL, R_OUT)
    R(CUDNN_ATTR_OPERATION_MATMUL_DESC, K_MATMUL, R_COMP)
    R(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, K_POINTWISE, R_IN0)
    R(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, K_POINTWISE, R_IN1)
    R(CUDNN_ATTR_OPERATION_POINTWISE_TDESC, K_POINTWISE, R_IN2)
    R(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, K_POINTWISE, R_OUT)
    R(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, K_POINTWISE, R_COMP)
    R(CUDNN_ATTR_OPERATION_REDUCTION_XDESC, K_REDUCTION, R_IN0)
    R(CUDNN_ATTR_OPERATION_REDUCTION_YDESC, K_REDUCTION, R_OUT)
    R(CUDNN_ATTR_OPERATION_REDUCTION_DESC, K_REDUCTION, R_COMP)
    default: return false;
    }
#undef R
}

/* The compute-type attribute of the descriptor an operation of kind k uses. */
static cudnnBackendAttributeName_t comp_attr(enum op_kind k)
{
    switch (k) {
    case K_MATMUL: return CUDNN_ATTR_MATMUL_COMP_TYPE;
    case K_POINTWISE: return CUDNN_ATTR_POINTWISE_MATH_PREC;
    case K_REDUCTION: return CUDNN_ATTR_REDUCTION_COMP_TYPE;
    default: return CUDNN_ATTR_CONVOLUTION_COMP_TYPE;
    }
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

static bool read_tensor(cudnnBackendDescriptor_t d, struct bk_tensor *t)
{
    int64_t nd, ns, uid, dim[SH_DNN_DIMS], stride[SH_DNN_DIMS];
    cudnnDataType_t type;
    bool is_virtual = false;
    if (!get_attr(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, NULL, &uid) ||
        !get_attr(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, NULL, &type) ||
        !get_attr(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, SH_DNN_DIMS, &nd, dim) ||
        !get_attr(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, SH_DNN_DIMS, &ns, stride) ||
        nd < 1 || nd > SH_DNN_DIMS || ns != nd)
        return false;
    /* Not every library answers IS_VIRTUAL for a tensor that never set it. */
    if (!get_attr(d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, NULL, &is_virtual))
        is_virtual = false;
    *t = (struct bk_tensor){ .set = true, .is_virtual = is_virtual, .uid = uid,
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

static void op_update(const void *op, enum op_kind kind, enum role role,
                      cudnnBackendDescriptor_t ref)
{
    struct bk_tensor t = { 0 };
    cudnnDataType_t used;
    int own = 0;
    bool held = false, have_comp = false;
    if (role == R_COMP) {
        have_comp = get_attr(ref, comp_attr(kind), CUDNN_TYPE_DATA_TYPE, 1, NULL, &used);
        held = have_comp && sh_dnn_own_get(ref, &own);
    } else if (!read_tensor(ref, &t)) {
        return;
    }
    pthread_mutex_lock(&lock);
    struct op_rec *r = op_record(op, kind);
    if (role == R_COMP) {
        r->have_comp = have_comp;
        r->held = held;
        r->own = own;
        r->used = have_comp ? (int)used : 0;
    } else {
        r->t[role] = t;
    }
    pthread_mutex_unlock(&lock);
}

/* ---- graph records ----------------------------------------------------------------------- */

/* An operation as the GEMM or reduction it amounts to (see cudnn.c for the
 * legacy convolutions' implicit GEMMs; a matmul is its own GEMM, batched
 * over C's leading dims; pointwise ops are k = 1 reductions). */
static void op_shape(const struct op_rec *r, struct graph_op *g)
{
    const struct sh_dnn_tensor *a = &r->t[R_IN0].t, *b = &r->t[R_IN1].t, *o = &r->t[R_OUT].t;
    long long groups;
    g->batch = 1;
    switch (r->kind) {
    case K_CONV_FWD:
        g->m = o->dim[0] * sh_dnn_spatial(o), g->n = o->dim[1], g->k = b->dim[1] * sh_dnn_spatial(b);
        break;
    case K_CONV_BWD_DATA:
        groups = b->dim[1] > 0 && o->dim[1] % b->dim[1] == 0 ? o->dim[1] / b->dim[1] : 1;
        g->m = o->dim[0] * sh_dnn_spatial(o), g->n = o->dim[1];
        g->k = b->dim[0] / (groups > 0 ? groups : 1) * sh_dnn_spatial(b);
        break;
    case K_CONV_BWD_FILTER:
        g->m = o->dim[1] * sh_dnn_spatial(o), g->n = o->dim[0], g->k = b->dim[0] * sh_dnn_spatial(b);
        break;
    case K_MATMUL:
        g->m = o->dim[o->nd - 2], g->n = o->dim[o->nd - 1], g->k = a->dim[a->nd - 1];
        for (int i = 0; i < o->nd - 2; i++)
            g->batch *= o->dim[i];
        break;
    default:
        g->m = 1, g->n = sh_dnn_elems(o);
        g->k = r->kind == K_REDUCTION && g->n > 0 ? sh_dnn_elems(a) / g->n : 1;
        break;
    }
}

static bool op_complete(const struct op_rec *r)
{
    bool conv_or_mm = r->kind != K_POINTWISE && r->kind != K_REDUCTION;
    bool nd_ok = r->t[R_OUT].t.nd >= (r->kind == K_MATMUL ? 2 : conv_or_mm ? 3 : 1);
    return r->t[R_OUT].set && r->t[R_IN0].set && (!conv_or_mm || r->t[R_IN1].set) && nd_ok &&
           r->t[R_IN0].t.nd >= (conv_or_mm ? 2 : 1) && (!conv_or_mm || r->t[R_IN1].t.nd >= 2);
}

static void graph_op_of(const struct op_rec *r, struct graph_op *g)
{
    *g = (struct graph_op){ .kind = K_NONE };
    if (!op_complete(r))
        return;
    g->kind = r->kind;
    for (int i = 0; i < NIN; i++)
        g->in[i] = r->t[i];
    g->out = r->t[R_OUT];
    op_shape(r, g);
    g->atype = sh_dnn_cuda_type(r->t[R_IN0].t.type);
    g->btype = sh_dnn_cuda_type(r->t[r->t[R_IN1].set ? R_IN1 : R_IN0].t.type);
    g->have_comp = r->have_comp;
    g->held = r->held;
    g->own = r->own;
    g->used = r->used;
}

static void graph_from_ops(const void *graph, int64_t n, const cudnnBackendDescriptor_t *ops)
{
    if (n < 1 || !ops)
        return;
    pthread_mutex_lock(&lock);
    unsigned idx = graph_next++ % GRAPHS;
    struct graph_rec *g = &graph_pool[idx];
    /* Only the operations present are written: a record is mostly room
     * for large graphs, and untouched room costs no memory. */
    g->gen = ++generation;
    g->nops = n < GRAPH_OPS ? (int)n : GRAPH_OPS;
    g->truncated = n > GRAPH_OPS;
    for (int i = 0; i < g->nops; i++) {
        unsigned oi;
        unsigned long long gen;
        g->ops[i].kind = K_NONE;
        if (ref_get(ops[i], TAG_OP, &oi, &gen) && op_pool[oi].gen == gen)
            graph_op_of(&op_pool[oi], &g->ops[i]);
    }
    ref_put(graph, TAG_GRAPH, idx, g->gen);
    pthread_mutex_unlock(&lock);
}

/* ---- variant packs ------------------------------------------------------------------------ */

static void pack_update(const void *pack, bool uids, int64_t n, const void *v)
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
    if (uids) {
        memcpy(p->uid, v, (size_t)keep * sizeof *p->uid);
        p->nuid = keep;
    } else {
        memcpy(p->ptr, v, (size_t)keep * sizeof *p->ptr);
        p->nptr = keep;
    }
    pthread_mutex_unlock(&lock);
}

static const void *pack_lookup(const struct pack_rec *p, long long uid)
{
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
    enum role role;
    const cudnnBackendDescriptor_t *refd = v;
    if (type == CUDNN_TYPE_INT64 && name == CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS)
        pack_update(d, true, count, v);
    else if (type == CUDNN_TYPE_VOID_PTR && name == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS)
        pack_update(d, false, count, v);
    if (type != CUDNN_TYPE_BACKEND_DESCRIPTOR || count < 1 || !v)
        return;
    if (role_of(name, &kind, &role) && count == 1)
        op_update(d, kind, role, refd[0]);
    else if (name == CUDNN_ATTR_OPERATIONGRAPH_OPS)
        graph_from_ops(d, count, refd);
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

static void out_of(const struct graph_op *op, const void *ptr, struct sh_dnn_out *o)
{
    struct sh_call tmp = { 0 };
    sh_dnn_set_compute(&tmp, op->held, op->own, op->used);
    *o = (struct sh_dnn_out){ .t = op->out.t, .ptr = ptr, .m = op->m, .n = op->n, .k = op->k,
                              .batch = op->batch, .atype = op->atype, .btype = op->btype,
                              .ctype = sh_dnn_cuda_type(op->out.t.type),
                              .compute = op->have_comp ? tmp.compute : -1,
                              .compute_used = op->have_comp ? tmp.compute_used : -1 };
}

/* ---- a graph's inputs ------------------------------------------------------------------- */

/* The call's inputs are the tensors no operation of its graph produces;
 * each output's are those its operations reach back to through the
 * tensors the graph produces (virtual or not). A link the shim cannot
 * follow (a virtual tensor no followed operation makes, an operation
 * list cut at GRAPH_OPS, more inputs than a record holds) makes the
 * output's inputs unknown rather than wrongly cleared. */

/* cuDNN's names for an operation's inputs; a name already taken in the
 * call gets a number (a conv's x and a residual add's x: x, x2). */
static const char *input_name(const struct cudnn_call *cc, enum op_kind k, int role)
{
    static const char *const x[] = { "x", "x2", "x3", "x4" };
    static const char *const w[] = { "w", "w2", "w3", "w4" };
    static const char *const dy[] = { "dy", "dy2", "dy3", "dy4" };
    static const char *const A[] = { "A", "A2", "A3", "A4" };
    static const char *const B[] = { "B", "B2", "B3", "B4" };
    static const char *const b[] = { "b", "b2", "b3", "b4" };
    static const char *const t[] = { "t", "t2", "t3", "t4" };
    static const char *const *const names[][NIN] = {
        [K_CONV_FWD] = { x, w, NULL },        [K_CONV_BWD_DATA] = { dy, w, NULL },
        [K_CONV_BWD_FILTER] = { x, dy, NULL }, [K_MATMUL] = { A, B, NULL },
        [K_POINTWISE] = { x, b, t },          [K_REDUCTION] = { x, NULL, NULL },
    };
    const char *const *family = names[k][role];
    for (int j = 0; family && j < 4; j++) {
        bool taken = false;
        for (int u = 0; u < cc->nin; u++)
            taken |= cc->in_name[u] == family[j];
        if (!taken)
            return family[j];
    }
    return NULL;
}

static int producer(const struct graph_rec *g, long long uid)
{
    for (int i = 0; i < g->nops; i++)
        if (g->ops[i].kind != K_NONE && g->ops[i].out.uid == uid)
            return i;
    return -1;
}

struct reach {
    const struct graph_rec *g;
    const struct pack_rec *p;
    struct cudnn_call *cc;
    struct sh_dnn_out *o;
    uint32_t seen; /* operations walked (GRAPH_OPS bits) */
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

/* Input tensor t (of role `role` of an operation of kind k) joins the
 * call's inputs once, and the output's. */
static void reach_input(struct reach *r, enum op_kind k, int role, const struct bk_tensor *t)
{
    struct cudnn_call *cc = r->cc;
    int at = -1;
    for (int i = 0; i < cc->nin && at < 0; i++)
        if (cc->in_uid[i] == t->uid)
            at = i;
    const char *name = at < 0 ? input_name(cc, k, role) : NULL;
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
    if (r->seen & UINT32_C(1) << op)
        return;
    r->seen |= UINT32_C(1) << op;
    const struct graph_op *g = &r->g->ops[op];
    for (int role = 0; role < NIN; role++) {
        const struct bk_tensor *t = &g->in[role];
        if (!t->set)
            continue;
        int from = producer(r->g, t->uid);
        if (from >= 0)
            reach_back(r, from);
        else if (t->is_virtual || r->g->truncated)
            out_input(r->o, -1);
        else
            reach_input(r, g->kind, role, t);
    }
}

/* The call is described as its graph's first operation; every operation's
 * output that is a real (not virtual) tensor and has a pointer in the pack
 * is checked after the call, with the inputs it is computed from. */
static void describe_graph(struct cudnn_call *cc, const struct graph_rec *g,
                           const struct pack_rec *p)
{
    struct sh_call *c = &cc->c;
    bool described = false;
    for (int i = 0; i < g->nops; i++) {
        const struct graph_op *op = &g->ops[i];
        if (op->kind == K_NONE)
            continue;
        const void *ptr = op->out.is_virtual ? NULL : pack_lookup(p, op->out.uid);
        if (!described) {
            struct sh_dnn_out first;
            out_of(op, ptr, &first);
            c->gemm = op->kind != K_POINTWISE && op->kind != K_REDUCTION;
            c->reduction = !c->gemm;
            sh_dnn_describe(c, &first);
            if (op->have_comp)
                sh_dnn_set_compute(c, op->held, op->own, op->used);
            else
                c->compute = c->compute_used = -1;
            described = true;
        }
        if (ptr && cc->nout < SH_DNN_OUTS) {
            struct sh_dnn_out *o = &cc->out[cc->nout++];
            out_of(op, ptr, o);
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
    if (have_graph && graph_pool[gi].gen == ggen)
        describe_graph(cc, &graph_pool[gi],
                       have_pack && pack_pool[pi].gen == pgen ? &pack_pool[pi] : &empty);
    pthread_mutex_unlock(&lock);
    return false;
}
