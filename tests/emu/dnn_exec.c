/* Emulated libcudnn.so.9: running a backend graph (cudnnBackendExecute),
 * which engines the emulator offers for a graph, and the batched matmul
 * and pointwise operations a graph may hold.
 *
 * The emulator has one engine. It runs graphs whose operations, in the
 * order given, are convolutions (forward, backward data, backward filter),
 * matmuls and pointwise operations (ADD, MUL, RELU_FWD, IDENTITY, RELU_BWD;
 * MATH_PREC FLOAT or HALF), on tensors of the types the legacy API
 * computes on; each input is a real tensor from the variant pack or the
 * output of an earlier operation, and a virtual tensor is the output of
 * one operation that a later one reads. It runs an SDPA forward operation
 * (dnn_sdpa.c) as a graph of its own, as cuDNN's frontend builds it; an
 * SDPA backward one never (no graph of it alone finalizes). Other graphs
 * get no engine. A variant pack's overrides (cuDNN 9.18) give tensors
 * other dims and strides for one execution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

/* ---- operations as the compute core sees them ------------------------------------ */

void bk_conv_of(const struct bk_op *op, struct dnn_conv *c)
{
    const struct bk_conv *cv = &op->conv;
    *c = (struct dnn_conv){
        .api = "cudnnBackendExecute",
        .dir = op->kind == CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR ? DNN_CONV_FWD
               : op->kind == CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR
                   ? DNN_CONV_BWD_DATA
                   : DNN_CONV_BWD_FILTER,
        .x = op->t[0].t, .w = op->t[1].t, .y = op->t[2].t,
        .nsp = (int)cv->nsp,
        .flip = cv->mode == CUDNN_CONVOLUTION,
        .acc16 = cv->comp == CUDNN_DATA_HALF,
        .alpha = (float)op->alpha, .beta = (float)op->beta,
    };
    /* The graph API has no group count: a filter with fewer input channels
     * than the image makes the convolution grouped. */
    if (c->x.nd > 1 && c->w.nd > 1 && c->w.dim[1] > 0 && c->x.dim[1] % c->w.dim[1] == 0)
        c->groups = (int)(c->x.dim[1] / c->w.dim[1]);
    for (int i = 0; i < c->nsp && i < DNN_MAX_SPATIAL; i++) {
        c->dilation[i] = cv->a[BK_DILATIONS][i];
        c->stride[i] = cv->a[BK_STRIDES][i];
        c->pre[i] = cv->a[BK_PRE][i];
        c->post[i] = cv->a[BK_POST][i];
    }
}

void bk_matmul_of(const struct bk_op *op, struct dnn_matmul *m)
{
    *m = (struct dnn_matmul){ .a = op->t[0].t, .b = op->t[1].t, .c = op->t[2].t,
                              .acc16 = op->mm_comp == CUDNN_DATA_HALF };
}

static int matmul_types_ok(const struct dnn_matmul *m, cudnnDataType_t comp)
{
    if (m->a.type != m->b.type || !dnn_type_computable(m->a.type) ||
        !dnn_type_computable(m->c.type))
        return 0;
    if (comp == CUDNN_DATA_HALF)
        return m->a.type == CUDNN_DATA_HALF && m->c.type == CUDNN_DATA_HALF;
    return comp == CUDNN_DATA_FLOAT;
}

/* An input of a pointwise operation has y's rank, and in each dim y's
 * size or (broadcast) 1. */
static int broadcasts_to(const struct bk_tensor *in, const struct bk_tensor *y)
{
    if (in->t.nd != y->t.nd)
        return 0;
    for (int i = 0; i < y->t.nd; i++)
        if (in->t.dim[i] != y->t.dim[i] && in->t.dim[i] != 1)
            return 0;
    return 1;
}

static int pointwise_runnable(const struct bk_op *op)
{
    const struct bk_tensor *t = op->t;
    if (op->pw.prec != CUDNN_DATA_FLOAT && op->pw.prec != CUDNN_DATA_HALF)
        return 0;
    switch (op->pw.mode) {
    case CUDNN_POINTWISE_ADD:
    case CUDNN_POINTWISE_MUL:
        if (!broadcasts_to(&t[BK_PW_B], &t[BK_PW_Y]))
            return 0;
        /* fall through */
    case CUDNN_POINTWISE_RELU_FWD:
    case CUDNN_POINTWISE_IDENTITY: return broadcasts_to(&t[BK_PW_X], &t[BK_PW_Y]);
    case CUDNN_POINTWISE_RELU_BWD:
        return broadcasts_to(&t[BK_PW_X], &t[BK_PW_DX]) &&
               broadcasts_to(&t[BK_PW_DY], &t[BK_PW_DX]);
    default: return 0;
    }
}

/* A convolution's or matmul's data type is that of its first real tensor;
 * virtual ones live in host buffers of their own type and may have any
 * computable type (a FLOAT intermediate of a HALF convolution). An SDPA
 * operation runs alone, without a block mask, page tables or sequence
 * lengths: a forward one, as a backward one alone is a graph that does not
 * finalize. */
static int op_runnable(const struct bk_graph *g, const struct bk_op *op)
{
    if (op->kind == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR)
        return pointwise_runnable(op);
    if (bk_is_sdpa_op(op->kind))
        return g->nops == 1 && !op->unrun && bk_sdpa_shape_ok(op);
    struct bk_op o = *op;
    cudnnDataType_t data = o.t[0].t.type;
    for (int i = 2; i >= 0; i--)
        if (!o.t[i].is_virtual)
            data = o.t[i].t.type;
    for (int i = 0; i < 3; i++)
        if (o.t[i].is_virtual)
            o.t[i].t.type = data;
    if (o.kind == CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR) {
        struct dnn_matmul m;
        bk_matmul_of(&o, &m);
        return matmul_types_ok(&m, o.mm_comp);
    }
    struct dnn_conv c;
    bk_conv_of(&o, &c);
    return dnn_conv_check_types(&c, o.conv.comp) == CUDNN_STATUS_SUCCESS;
}

/* Whether op reads (out 0) or writes (out 1) uid in slot s. */
static int names(const struct bk_op *op, int s, int out, int64_t uid)
{
    return bk_slot_used(op, s) && bk_slot_out(op, s) == out && op->t[s].uid == uid;
}

/* The operation before op `before` that writes uid, its slot in *slot;
 * or -1. */
static int producer(const struct bk_graph *g, int before, int64_t uid, int *slot)
{
    for (int i = 0; i < before; i++)
        for (*slot = 0; *slot < BK_SLOTS; ++*slot)
            if (names(&g->ops[i], *slot, 1, uid))
                return i;
    return -1;
}

/* Whether an operation after op `after` reads uid. */
static int read_later(const struct bk_graph *g, int after, int64_t uid)
{
    for (int i = after + 1; i < g->nops; i++)
        for (int s = 0; s < BK_SLOTS; s++)
            if (names(&g->ops[i], s, 0, uid))
                return 1;
    return 0;
}

/* A tensor is written once; an input is written by an earlier operation or
 * by none (then it is real); a virtual output must be read. (For one
 * convolution or matmul on real tensors, this is the check of old.) */
int bk_engines(const struct bk_graph *g)
{
    for (int i = 0; i < g->nops; i++) {
        const struct bk_op *op = &g->ops[i];
        for (int s = 0; s < BK_SLOTS; s++) {
            const struct bk_tensor *t = &op->t[s];
            int ps;
            if (!bk_slot_used(op, s))
                continue;
            /* A pass-by-value tensor is a host scalar read through its pack
             * pointer (emulated device memory is host memory too); cuDNN
             * takes only inputs of one element so. */
            if ((t->by_value && (bk_slot_out(op, s) || dnn_elems(&t->t) != 1)) ||
                !dnn_type_computable(t->t.type))
                return 0;
            int from = producer(g, i, t->uid, &ps);
            if (bk_slot_out(op, s)) {
                if (from >= 0 || (t->is_virtual && !read_later(g, i, t->uid)))
                    return 0;
            } else if (from < 0 && (t->is_virtual || producer(g, g->nops, t->uid, &ps) >= 0)) {
                return 0; /* used before it is produced */
            }
        }
        if (!op_runnable(g, op))
            return 0;
    }
    return g->nops > 0;
}

/* ---- batched matmul ------------------------------------------------------------------ */

cudnnStatus_t dnn_matmul_check_shape(const struct dnn_matmul *m)
{
    int nd = m->a.nd;
    if (nd < 2 || m->b.nd != nd || m->c.nd != nd)
        return CUDNN_STATUS_BAD_PARAM;
    const int64_t *a = m->a.dim, *b = m->b.dim, *c = m->c.dim;
    if (b[nd - 2] != a[nd - 1] || c[nd - 2] != a[nd - 2] || c[nd - 1] != b[nd - 1])
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < nd - 2; i++) {
        int64_t batch = a[i] > b[i] ? a[i] : b[i];
        if ((a[i] != batch && a[i] != 1) || (b[i] != batch && b[i] != 1) || c[i] != batch)
            return CUDNN_STATUS_BAD_PARAM;
    }
    return CUDNN_STATUS_SUCCESS;
}

/* Each element of C is one dot product over k in order, rounded to FP16 at
 * every step when the compute type is HALF. */
void dnn_matmul_compute(const struct dnn_matmul *m, const void *A, const void *B, void *C)
{
    int nd = m->c.nd;
    int64_t k = m->a.dim[nd - 1];
    int64_t ci[CUDNN_DIM_MAX] = { 0 };
    do {
        int64_t ai[CUDNN_DIM_MAX], bi[CUDNN_DIM_MAX];
        for (int i = 0; i < nd - 2; i++) {
            ai[i] = m->a.dim[i] == 1 ? 0 : ci[i];
            bi[i] = m->b.dim[i] == 1 ? 0 : ci[i];
        }
        ai[nd - 2] = ci[nd - 2];
        bi[nd - 1] = ci[nd - 1];
        float acc = 0.0f;
        for (int64_t p = 0; p < k; p++) {
            ai[nd - 1] = p;
            bi[nd - 2] = p;
            acc = dnn_mac(m->acc16, acc, dnn_load(A, m->a.type, dnn_offset(&m->a, ai)),
                          dnn_load(B, m->b.type, dnn_offset(&m->b, bi)));
        }
        dnn_store(C, m->c.type, dnn_offset(&m->c, ci), acc);
    } while (dnn_next(&m->c, ci, 0));
}

/* ---- pointwise ----------------------------------------------------------------------- */

/* t's element at y's index yi: a dim of 1 in t broadcasts. */
static float load_at(const void *base, const struct dnn_tensor *t, const int64_t *yi)
{
    int64_t idx[CUDNN_DIM_MAX];
    for (int i = 0; i < t->nd; i++)
        idx[i] = t->dim[i] == 1 ? 0 : yi[i];
    return dnn_load(base, t->type, dnn_offset(t, idx));
}

/* cuDNN's clipped RELU: below the lower clip, lower + slope * (v - lower);
 * above the upper clip, upper. NaN passes (NaN < lower is false). */
static float relu(const struct bk_pointwise *pw, int h, float v)
{
    float lo = (float)pw->relu_lower, slope = (float)pw->relu_slope;
    if (v < lo)
        v = slope == 0.0f ? lo : dnn_round(h, lo + dnn_round(h, slope * dnn_round(h, v - lo)));
    return v > (float)pw->relu_upper ? (float)pw->relu_upper : v;
}

/* RELU_FWD's derivative times dy: dy above the lower clip up to the upper
 * one, slope * dy at or below the lower clip (0 for a slope of 0, whatever
 * dy), 0 above the upper clip. A NaN x counts as below. */
static float relu_grad(const struct bk_pointwise *pw, int h, float x, float dy)
{
    float slope = (float)pw->relu_slope;
    if (!(x > (float)pw->relu_lower))
        return slope == 0.0f ? 0.0f : dnn_round(h, slope * dy);
    return x > (float)pw->relu_upper ? 0.0f : dy;
}

/* One output element (at yi in the output's index space): op(alpha1 * x)
 * or op(alpha1 * x, alpha2 * b), as cuDNN documents the operation; a
 * backward mode's dx = op'(x) * dy (no alpha applies). MATH_PREC HALF
 * rounds every step's result to FP16 (as cudnnOpTensor's HALF compute
 * does), FLOAT keeps float. */
static float pointwise_at(const struct bk_op *op, void *const *p, const int64_t *yi, int h)
{
    const struct bk_pointwise *pw = &op->pw;
    const struct bk_tensor *t = op->t;
    float x = load_at(p[BK_PW_X], &t[BK_PW_X].t, yi);
    if (pw->mode == CUDNN_POINTWISE_RELU_BWD)
        return relu_grad(pw, h, x, load_at(p[BK_PW_DY], &t[BK_PW_DY].t, yi));
    float v = dnn_round(h, (float)op->alpha * x), bv;
    switch (pw->mode) {
    case CUDNN_POINTWISE_ADD:
    case CUDNN_POINTWISE_MUL:
        bv = dnn_round(h, (float)op->alpha2 * load_at(p[BK_PW_B], &t[BK_PW_B].t, yi));
        return pw->mode == CUDNN_POINTWISE_ADD ? v + bv : v * bv;
    case CUDNN_POINTWISE_RELU_FWD: return relu(pw, h, v);
    default: return v; /* IDENTITY */
    }
}

/* Element by element in the output's index space, each rounded once more
 * as MATH_PREC says and then to the output's type. */
static void pointwise(const struct bk_op *op, void *const *p)
{
    int out = bk_pw_out(op->pw.mode), h = op->pw.prec == CUDNN_DATA_HALF;
    const struct dnn_tensor *y = &op->t[out].t;
    int64_t yi[CUDNN_DIM_MAX] = { 0 };
    do
        dnn_store(p[out], y->type, dnn_offset(y, yi), dnn_round(h, pointwise_at(op, p, yi, h)));
    while (dnn_next(y, yi, 0));
}

/* ---- graphs ------------------------------------------------------------------------- */

/* A whole graph as one stream operation: its operations and the device
 * pointers of its real tensors ([op][slot]; NULL for virtual ones). A
 * pass-by-value tensor's scalar is read at Execute, as cuDNN reads it,
 * into value: the program may reuse its host variable at once. */
struct graph_op {
    const void *plan; /* whose graph: what cudnnBackendUpdateCudaGraph looks for */
    struct bk_graph g;
    const void *ptr[BK_MAX_OPS][BK_SLOTS];
    const void *ragged[BK_MAX_OPS][BK_SLOTS]; /* a ragged tensor's offsets */
    double value[BK_MAX_OPS][BK_SLOTS];
};

/* Host pointers of a graph's tensors, [op][slot]. */
typedef void *graph_ptrs[BK_MAX_OPS][BK_SLOTS];

static CUresult run_one(const struct bk_op *op, void *const *p)
{
    if (op->kind == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR) {
        pointwise(op, p);
    } else if (bk_is_sdpa_op(op->kind)) {
        if (!bk_sdpa_compute(op, p))
            return CUDA_ERROR_OUT_OF_MEMORY;
    } else if (op->kind == CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR) {
        struct dnn_matmul m;
        bk_matmul_of(op, &m);
        dnn_matmul_compute(&m, p[0], p[1], p[2]);
    } else {
        struct dnn_conv c;
        bk_conv_of(op, &c);
        dnn_conv_compute(&c, p[0], p[1], p[2]);
    }
    return CUDA_SUCCESS;
}

/* A ragged tensor's offsets in host memory, and its whole extent (each
 * batch's start plus the extent of one batch) checked; NULL if either is
 * not device memory. */
static const void *translate_ragged(const struct graph_op *r, int i, int s, const char *what,
                                    void **host)
{
    const struct bk_tensor *t = &r->g.ops[i].t[s];
    struct dnn_tensor one = t->t;
    size_t size = t->ragged_type == CUDNN_DATA_INT64 ? 8 : 4;
    const void *off = emu_to_host_range(r->ragged[i][s], (size_t)(t->t.dim[0] + 1) * size);
    if (!off) {
        fprintf(stderr, "emu: cudnnBackendExecute: %s's ragged offsets = %p are not device "
                        "memory\n", what, r->ragged[i][s]);
        return NULL;
    }
    one.dim[0] = 1;
    int64_t last = 0;
    for (int64_t b = 0; b < t->t.dim[0]; b++) {
        int64_t o = size == 8 ? ((const int64_t *)off)[b] : ((const int32_t *)off)[b];
        if (o > last)
            last = o;
    }
    size_t bytes = (size_t)last * dnn_type_size(t->t.type) + dnn_extent(&one);
    if (!(*host = emu_to_host_range(r->ptr[i][s], bytes))) {
        fprintf(stderr, "emu: cudnnBackendExecute: %s = %p (%zu bytes) is not device memory\n",
                what, r->ptr[i][s], bytes);
        return NULL;
    }
    return off;
}

/* Translates every real tensor's device pointer into host, or fails. */
static CUresult translate(const struct graph_op *r, graph_ptrs host, graph_ptrs ragged)
{
    const struct bk_graph *g = &r->g;
    for (int i = 0; i < g->nops; i++) {
        for (int s = 0; s < BK_SLOTS; s++) {
            const struct bk_tensor *t = &g->ops[i].t[s];
            if (!bk_slot_used(&g->ops[i], s) || t->is_virtual)
                continue;
            if (t->by_value) {
                host[i][s] = (void *)&r->value[i][s];
                continue;
            }
            char what[32];
            snprintf(what, sizeof what, "uid %lld", (long long)t->uid);
            if (t->ragged) {
                if (!(ragged[i][s] = (void *)translate_ragged(r, i, s, what, &host[i][s])))
                    return CUDA_ERROR_ILLEGAL_ADDRESS;
                continue;
            }
            if (!(host[i][s] = dnn_host("cudnnBackendExecute", what, r->ptr[i][s], &t->t)))
                return CUDA_ERROR_ILLEGAL_ADDRESS;
        }
    }
    return CUDA_SUCCESS;
}

/* Whether op's slot s holds a virtual tensor it writes (1) or reads (0). */
static int virtual_at(const struct bk_op *op, int s, int out)
{
    return bk_slot_used(op, s) && op->t[s].is_virtual && bk_slot_out(op, s) == out;
}

/* A host buffer, zeroed, for every virtual tensor, in its own type and
 * strides: values written to it are rounded to its type. */
static CUresult alloc_virtual(const struct bk_graph *g, graph_ptrs host)
{
    for (int i = 0; i < g->nops; i++)
        for (int s = 0; s < BK_SLOTS; s++)
            if (virtual_at(&g->ops[i], s, 1) &&
                !(host[i][s] = calloc(1, dnn_extent(&g->ops[i].t[s].t))))
                return CUDA_ERROR_OUT_OF_MEMORY;
    return CUDA_SUCCESS;
}

static void free_virtual(const struct bk_graph *g, graph_ptrs host)
{
    for (int i = 0; i < g->nops; i++)
        for (int s = 0; s < BK_SLOTS; s++)
            if (virtual_at(&g->ops[i], s, 1))
                free(host[i][s]);
}

/* Every real pointer is translated, and every virtual tensor's buffer
 * allocated, before anything is computed: a bad pointer writes nothing. */
static CUresult run_graph(void *arg)
{
    const struct graph_op *r = arg;
    const struct bk_graph *g = &r->g;
    graph_ptrs host = { { NULL } }, ragged = { { NULL } };
    CUresult res = translate(r, host, ragged);
    if (res || emu_null_compute())
        return res;
    res = alloc_virtual(g, host);
    for (int i = 0; i < g->nops && !res; i++) {
        struct bk_op op = g->ops[i];
        for (int s = 0, ps; s < BK_SLOTS; s++) {
            if (virtual_at(&op, s, 0))
                host[i][s] = host[producer(g, i, op.t[s].uid, &ps)][ps];
            op.t[s].t.ragged = ragged[i][s];
            op.t[s].t.ragged64 = op.t[s].ragged_type == CUDNN_DATA_INT64;
        }
        res = run_one(&op, host[i]);
    }
    free_virtual(g, host);
    return res;
}

static const char *op_name(const struct bk_op *op)
{
    switch (op->kind) {
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR: return "conv-fwd";
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR: return "conv-bwd-data";
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR: return "conv-bwd-filter";
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR: return "matmul";
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR: return "sdpa-fwd";
    default: return "pointwise";
    }
}

/* One operation for the EMU_TRACE line: its name, and a pointwise one's
 * mode and precision, an attention's q, k and v, or a convolution's or
 * matmul's first two tensors, data and compute types. */
static void trace_op(const struct bk_op *op)
{
    const struct bk_tensor *t = op->t;
    char b0[96], b1[96], b2[96];
    fprintf(stderr, " %s", op_name(op));
    if (op->kind == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR)
        fprintf(stderr, "(mode=%d prec=%s)", (int)op->pw.mode, dnn_type_name(op->pw.prec));
    else if (bk_is_sdpa_op(op->kind))
        fprintf(stderr, "(q=%s k=%s v=%s data=%s)", dnn_dims(&t[BK_Q].t, b0, sizeof b0),
                dnn_dims(&t[BK_K].t, b1, sizeof b1), dnn_dims(&t[BK_V].t, b2, sizeof b2),
                dnn_type_name(t[BK_Q].t.type));
    else
        fprintf(stderr, "(%s %s data=%s compute=%s)", dnn_dims(&t[0].t, b0, sizeof b0),
                dnn_dims(&t[1].t, b1, sizeof b1), dnn_type_name(t[0].t.type),
                dnn_type_name(op->kind == CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR
                                  ? op->mm_comp
                                  : op->conv.comp));
}

/* ---- execute ------------------------------------------------------------------------ */

/* The device pointer the variant pack gives uid, or NULL. */
static void *lookup(const struct bk_pack *p, int64_t uid)
{
    for (int i = 0; i < p->nuid; i++)
        if (p->uid[i] == uid)
            return p->ptr[i];
    return NULL;
}

/* Inner vector i of a std::vector<std::vector<int64_t>> (struct bk_vec):
 * its elements and their count, or NULL when there is no such vector. */
static const int64_t *vec_at(const struct bk_vec *outer, int i, int *n)
{
    const struct bk_vec *inner = outer->begin;
    if ((const struct bk_vec *)outer->end - inner <= i)
        return NULL;
    *n = (int)((const int64_t *)inner[i].end - (const int64_t *)inner[i].begin);
    return inner[i].begin;
}

/* The pack's overrides replace the dims and strides of every tensor with
 * their UIDs for this execution (of the rank the graph gave it); the
 * graph itself keeps those it was built with. */
static cudnnStatus_t apply_overrides(struct bk_graph *g, const struct bk_pack *p)
{
    for (int k = 0; k < p->nover; k++) {
        int nd, ns;
        const int64_t *dim = vec_at(p->over_shapes, k, &nd);
        const int64_t *stride = vec_at(p->over_strides, k, &ns);
        if (!dim || !stride || nd != ns)
            return CUDNN_STATUS_BAD_PARAM;
        for (int i = 0; i < g->nops; i++) {
            for (int s = 0; s < BK_SLOTS; s++) {
                struct dnn_tensor *t = &g->ops[i].t[s].t;
                if (!bk_slot_used(&g->ops[i], s) || g->ops[i].t[s].uid != p->over_uid[k])
                    continue;
                if (t->nd != nd)
                    return CUDNN_STATUS_BAD_PARAM;
                for (int d = 0; d < nd; d++) {
                    if (dim[d] < 1 || stride[d] < 1)
                        return CUDNN_STATUS_BAD_PARAM;
                    t->dim[d] = dim[d];
                    t->stride[d] = stride[d];
                }
            }
        }
    }
    return CUDNN_STATUS_SUCCESS;
}

/* The whole graph is one stream operation (or graph node), which keeps its
 * intermediates in host memory of its own: *out, to be freed. */
static cudnnStatus_t graph_op_make(const void *plan, const struct bk_graph *g,
                                   const struct bk_pack *p, const char *api, struct graph_op **out)
{
    struct graph_op *r = calloc(1, sizeof *r);
    if (!r)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    r->plan = plan;
    r->g = *g;
    cudnnStatus_t ost = apply_overrides(&r->g, p);
    if (ost) {
        free(r);
        return ost;
    }
    for (int i = 0; i < g->nops; i++) {
        for (int s = 0; s < BK_SLOTS; s++) {
            const struct bk_tensor *t = &g->ops[i].t[s];
            if (!bk_slot_used(&g->ops[i], s) || t->is_virtual)
                continue;
            if (!(r->ptr[i][s] = lookup(p, t->uid)) ||
                (t->ragged && !(r->ragged[i][s] = lookup(p, t->ragged_uid)))) {
                free(r);
                return CUDNN_STATUS_BAD_PARAM;
            }
            if (t->by_value)
                memcpy(&r->value[i][s], r->ptr[i][s], dnn_type_size(t->t.type));
        }
    }
    if (emu_trace()) {
        fprintf(stderr, "emu: %s graph of %d:", api, g->nops);
        for (int i = 0; i < g->nops; i++)
            trace_op(&g->ops[i]);
        fprintf(stderr, "\n");
    }
    *out = r;
    return CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t graph_launch(cudnnHandle_t h, const void *plan, const struct bk_graph *g,
                                  const struct bk_pack *p)
{
    struct graph_op *r;
    cudnnStatus_t st = graph_op_make(plan, g, p, "cudnnBackendExecute", &r);
    if (st)
        return st;
    st = dnn_launch(h, run_graph, r, sizeof *r);
    free(r);
    return st;
}

/* A UID missing from the variant pack, or mapped to NULL, is BAD_PARAM; a
 * pointer that is not device memory fails the run (EXECUTION_FAILED, or a
 * failed graph launch when captured). */
EMU_API cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle,
                                          cudnnBackendDescriptor_t executionPlan,
                                          cudnnBackendDescriptor_t variantPack)
{
    const struct bk_desc *plan = bk_of(executionPlan, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    const struct bk_desc *pack = bk_of(variantPack, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    if (!dnn_valid(handle) || !plan || !pack || !plan->finalized || !pack->finalized)
        return CUDNN_STATUS_BAD_PARAM;
    return graph_launch(handle, plan, &plan->u.plan.engine.graph, &pack->u.pack);
}

/* cuDNN's own way into a CUDA graph: the plan's work as a node of the
 * program's graph, holding the pack's pointers as they were (Update puts
 * another pack's into that node). The emulated engine does so for the
 * graphs it runs, but an attention (SDPA) one, which answers
 * NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API as an engine without
 * CUDNN_BEHAVIOR_NOTE_SUPPORTS_CUDA_GRAPH_NATIVE_API does (the emulated
 * engine reports no behavior notes). */
static int same_plan(const void *node_arg, const void *arg)
{
    return ((const struct graph_op *)node_arg)->plan == ((const struct graph_op *)arg)->plan;
}

static cudnnStatus_t native_graph(cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
                                  cudnnBackendDescriptor_t variantPack, cudaGraph_t graph,
                                  int update)
{
    const struct bk_desc *plan = bk_of(executionPlan, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    const struct bk_desc *pack = bk_of(variantPack, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    if (!dnn_valid(handle) || !plan || !pack || !plan->finalized || !pack->finalized || !graph)
        return CUDNN_STATUS_BAD_PARAM;
    const struct bk_graph *g = &plan->u.plan.engine.graph;
    for (int i = 0; i < g->nops; i++)
        if (bk_is_sdpa_op(g->ops[i].kind))
            return CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API;
    struct graph_op *r;
    cudnnStatus_t st = graph_op_make(plan, g, &pack->u.pack,
                                     update ? "cudnnBackendUpdateCudaGraph"
                                            : "cudnnBackendPopulateCudaGraph", &r);
    if (st)
        return st;
    CUresult cr = update ? emu_graph_update((CUgraph)graph, run_graph, same_plan, r, sizeof *r)
                         : emu_graph_append((CUgraph)graph, run_graph, r, sizeof *r);
    free(r);
    return cr == CUDA_SUCCESS ? CUDNN_STATUS_SUCCESS
           : cr == CUDA_ERROR_OUT_OF_MEMORY ? CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED
           : CUDNN_STATUS_BAD_PARAM;
}

EMU_API cudnnStatus_t cudnnBackendPopulateCudaGraph(cudnnHandle_t handle,
    cudnnBackendDescriptor_t executionPlan, cudnnBackendDescriptor_t variantPack,
    cudaGraph_t graph)
{
    return native_graph(handle, executionPlan, variantPack, graph, 0);
}

EMU_API cudnnStatus_t cudnnBackendUpdateCudaGraph(cudnnHandle_t handle,
    cudnnBackendDescriptor_t executionPlan, cudnnBackendDescriptor_t variantPack,
    cudaGraph_t graph)
{
    return native_graph(handle, executionPlan, variantPack, graph, 1);
}

