/* Emulated libcudnn.so.9: running a backend graph (cudnnBackendExecute),
 * which engines the emulator offers for a graph, and the batched matmul
 * and pointwise operations a graph may hold.
 *
 * The emulator has one engine. It runs graphs whose operations, in the
 * order given, are convolutions (forward, backward data, backward filter),
 * matmuls and pointwise operations (ADD, MUL, RELU_FWD, IDENTITY; MATH_PREC
 * FLOAT or HALF), on tensors of the types the legacy API computes on; each
 * input is a real tensor from the variant pack or the output of an earlier
 * operation, and a virtual tensor is the output of one operation that a
 * later one reads. Other graphs get no engine. */
#include <stdio.h>
#include <stdlib.h>

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
    switch (op->pw.mode) {
    case CUDNN_POINTWISE_ADD:
    case CUDNN_POINTWISE_MUL:
        if (!broadcasts_to(&op->t[1], &op->t[2]))
            return 0;
        /* fall through */
    case CUDNN_POINTWISE_RELU_FWD:
    case CUDNN_POINTWISE_IDENTITY:
        return broadcasts_to(&op->t[0], &op->t[2]) &&
               (op->pw.prec == CUDNN_DATA_FLOAT || op->pw.prec == CUDNN_DATA_HALF);
    default: return 0;
    }
}

/* A convolution's or matmul's data type is that of its first real tensor;
 * virtual ones live in host buffers of their own type and may have any
 * computable type (a FLOAT intermediate of a HALF convolution). */
static int op_types_ok(const struct bk_op *op)
{
    if (op->kind == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR)
        return pointwise_runnable(op);
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

/* The operation before op `before` that writes uid, or -1. */
static int producer(const struct bk_graph *g, int before, int64_t uid)
{
    for (int i = 0; i < before; i++)
        if (g->ops[i].t[bk_out_slot(&g->ops[i])].uid == uid)
            return i;
    return -1;
}

/* Whether an operation after op `after` reads uid. */
static int read_later(const struct bk_graph *g, int after, int64_t uid)
{
    for (int i = after + 1; i < g->nops; i++)
        for (int s = 0; s < BK_SLOTS; s++)
            if (bk_slot_used(&g->ops[i], s) && s != bk_out_slot(&g->ops[i]) &&
                g->ops[i].t[s].uid == uid)
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
        int out = bk_out_slot(op);
        for (int s = 0; s < BK_SLOTS; s++) {
            const struct bk_tensor *t = &op->t[s];
            if (!bk_slot_used(op, s))
                continue;
            if (t->by_value || !dnn_type_computable(t->t.type))
                return 0;
            int from = producer(g, i, t->uid);
            if (s == out) {
                if (from >= 0 || (t->is_virtual && !read_later(g, i, t->uid)))
                    return 0;
            } else if (from < 0 && (t->is_virtual || producer(g, g->nops, t->uid) >= 0)) {
                return 0; /* used before it is produced */
            }
        }
        if (!op_types_ok(op))
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

/* y = op(alpha1 * x) or op(alpha1 * x, alpha2 * b), as cuDNN documents the
 * operation, element by element in y's index space; MATH_PREC HALF rounds
 * every step's result to FP16 (as cudnnOpTensor's HALF compute does),
 * FLOAT keeps float. */
static void pointwise(const struct bk_op *op, void *const *p)
{
    const struct bk_pointwise *pw = &op->pw;
    const struct dnn_tensor *x = &op->t[0].t, *b = &op->t[1].t, *y = &op->t[2].t;
    int h = pw->prec == CUDNN_DATA_HALF;
    float a1 = (float)op->alpha, a2 = (float)op->alpha2;
    int64_t yi[CUDNN_DIM_MAX] = { 0 };
    do {
        float v = dnn_round(h, a1 * load_at(p[0], x, yi)), bv;
        switch (pw->mode) {
        case CUDNN_POINTWISE_ADD:
        case CUDNN_POINTWISE_MUL:
            bv = dnn_round(h, a2 * load_at(p[1], b, yi));
            v = pw->mode == CUDNN_POINTWISE_ADD ? v + bv : v * bv;
            break;
        case CUDNN_POINTWISE_RELU_FWD: v = relu(pw, h, v); break;
        default: break; /* IDENTITY */
        }
        dnn_store(p[2], y->type, dnn_offset(y, yi), dnn_round(h, v));
    } while (dnn_next(y, yi, 0));
}

/* ---- graphs ------------------------------------------------------------------------- */

/* A whole graph as one stream operation: its operations and the device
 * pointers of its real tensors ([op][slot]; NULL for virtual ones). */
struct graph_op {
    struct bk_graph g;
    const void *ptr[BK_MAX_OPS][BK_SLOTS];
};

static void run_one(const struct bk_op *op, void *const *p)
{
    if (op->kind == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR) {
        pointwise(op, p);
    } else if (op->kind == CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR) {
        struct dnn_matmul m;
        bk_matmul_of(op, &m);
        dnn_matmul_compute(&m, p[0], p[1], p[2]);
    } else {
        struct dnn_conv c;
        bk_conv_of(op, &c);
        dnn_conv_compute(&c, p[0], p[1], p[2]);
    }
}

/* Every real pointer is translated, and every virtual tensor's host buffer
 * (its own type and strides, so values are rounded to its type; zeroed)
 * allocated, before anything is computed: a bad pointer writes nothing. */
static CUresult run_graph(void *arg)
{
    const struct graph_op *r = arg;
    const struct bk_graph *g = &r->g;
    void *host[BK_MAX_OPS][BK_SLOTS] = { { NULL } }, *tmp[BK_MAX_OPS] = { NULL };
    for (int i = 0; i < g->nops; i++) {
        for (int s = 0; s < BK_SLOTS; s++) {
            const struct bk_tensor *t = &g->ops[i].t[s];
            if (!bk_slot_used(&g->ops[i], s) || t->is_virtual)
                continue;
            char what[32];
            snprintf(what, sizeof what, "uid %lld", (long long)t->uid);
            if (!(host[i][s] = dnn_host("cudnnBackendExecute", what, r->ptr[i][s], &t->t)))
                return CUDA_ERROR_ILLEGAL_ADDRESS;
        }
    }
    if (emu_null_compute())
        return CUDA_SUCCESS;
    CUresult res = CUDA_SUCCESS;
    for (int i = 0; i < g->nops && !res; i++) {
        const struct bk_tensor *t = &g->ops[i].t[bk_out_slot(&g->ops[i])];
        if (t->is_virtual && !(tmp[i] = calloc(1, dnn_extent(&t->t))))
            res = CUDA_ERROR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < g->nops && !res; i++) {
        const struct bk_op *op = &g->ops[i];
        for (int s = 0; s < BK_SLOTS; s++)
            if (bk_slot_used(op, s) && op->t[s].is_virtual)
                host[i][s] = s == bk_out_slot(op) ? tmp[i] : tmp[producer(g, i, op->t[s].uid)];
        run_one(op, host[i]);
    }
    for (int i = 0; i < g->nops; i++)
        free(tmp[i]);
    return res;
}

/* A convolution's or matmul's compute type. */
static cudnnDataType_t op_comp(const struct bk_op *op)
{
    return op->kind == CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR ? op->mm_comp : op->conv.comp;
}

static const char *op_name(const struct bk_op *op)
{
    switch (op->kind) {
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR: return "conv-fwd";
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR: return "conv-bwd-data";
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR: return "conv-bwd-filter";
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR: return "matmul";
    default: return "pointwise";
    }
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

/* The whole graph is one stream operation, which keeps its intermediates
 * in host memory of its own. */
static cudnnStatus_t graph_launch(cudnnHandle_t h, const struct bk_graph *g,
                                  const struct bk_pack *p)
{
    struct graph_op *r = calloc(1, sizeof *r);
    if (!r)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    r->g = *g;
    for (int i = 0; i < g->nops; i++) {
        for (int s = 0; s < BK_SLOTS; s++) {
            const struct bk_tensor *t = &g->ops[i].t[s];
            if (bk_slot_used(&g->ops[i], s) && !t->is_virtual &&
                !(r->ptr[i][s] = lookup(p, t->uid))) {
                free(r);
                return CUDNN_STATUS_BAD_PARAM;
            }
        }
    }
    if (emu_trace()) {
        fprintf(stderr, "emu: cudnnBackendExecute graph of %d:", g->nops);
        for (int i = 0; i < g->nops; i++) {
            const struct bk_op *op = &g->ops[i];
            char b0[96], b1[96];
            fprintf(stderr, " %s", op_name(op));
            if (op->kind == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR)
                fprintf(stderr, "(mode=%d prec=%s)", (int)op->pw.mode,
                        dnn_type_name(op->pw.prec));
            else
                fprintf(stderr, "(%s %s data=%s compute=%s)", dnn_dims(&op->t[0].t, b0, sizeof b0),
                        dnn_dims(&op->t[1].t, b1, sizeof b1), dnn_type_name(op->t[0].t.type),
                        dnn_type_name(op_comp(op)));
        }
        fprintf(stderr, "\n");
    }
    cudnnStatus_t st = dnn_launch(h, run_graph, r, sizeof *r);
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
    return graph_launch(handle, &plan->u.plan.engine.graph, &pack->u.pack);
}

/* No emulated engine carries CUDNN_BEHAVIOR_NOTE_SUPPORTS_CUDA_GRAPH_NATIVE_API;
 * stream capture of cudnnBackendExecute is how to put one in a graph. */
static cudnnStatus_t no_native_graph(cudnnHandle_t handle, cudnnBackendDescriptor_t plan,
                                     cudnnBackendDescriptor_t pack, cudaGraph_t graph)
{
    if (!dnn_valid(handle) || !bk_of(plan, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR) ||
        !bk_of(pack, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR) || !graph)
        return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API;
}

EMU_API cudnnStatus_t cudnnBackendPopulateCudaGraph(cudnnHandle_t handle,
    cudnnBackendDescriptor_t executionPlan, cudnnBackendDescriptor_t variantPack,
    cudaGraph_t graph)
{
    return no_native_graph(handle, executionPlan, variantPack, graph);
}

EMU_API cudnnStatus_t cudnnBackendUpdateCudaGraph(cudnnHandle_t handle,
    cudnnBackendDescriptor_t executionPlan, cudnnBackendDescriptor_t variantPack,
    cudaGraph_t graph)
{
    return no_native_graph(handle, executionPlan, variantPack, graph);
}
