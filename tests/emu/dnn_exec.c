/* Emulated libcudnn.so.9: running a backend graph (cudnnBackendExecute),
 * which engines the emulator offers for a graph, and the batched matmul
 * a graph may hold.
 *
 * The emulator has one engine, for graphs of exactly one convolution
 * (forward, backward data, backward filter) or matmul operation on real
 * (not virtual) tensors of the types the legacy API computes on. Graphs of
 * several operations joined by virtual tensors get no engine. */
#include <stdio.h>

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

int bk_engines(const struct bk_graph *g)
{
    if (g->nops != 1)
        return 0;
    const struct bk_op *op = &g->ops[0];
    for (int i = 0; i < 3; i++)
        if (op->t[i].is_virtual || op->t[i].by_value)
            return 0;
    if (op->kind == CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR) {
        struct dnn_matmul m;
        bk_matmul_of(op, &m);
        return matmul_types_ok(&m, op->mm_comp);
    }
    struct dnn_conv c;
    bk_conv_of(op, &c);
    return dnn_conv_check_types(&c, op->conv.comp) == CUDNN_STATUS_SUCCESS;
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

struct matmul_op {
    struct dnn_matmul m;
    const void *a, *b;
    void *c;
};

/* Each element of C is one dot product over k in order, rounded to FP16 at
 * every step when the compute type is HALF. */
static CUresult run_matmul(void *arg)
{
    const struct matmul_op *op = arg;
    const struct dnn_matmul *m = &op->m;
    const void *A = dnn_host("cudnnBackendExecute", "A", op->a, &m->a);
    const void *B = dnn_host("cudnnBackendExecute", "B", op->b, &m->b);
    void *C = dnn_host("cudnnBackendExecute", "C", op->c, &m->c);
    if (!A || !B || !C)
        return CUDA_ERROR_ILLEGAL_ADDRESS;
    if (emu_null_compute())
        return CUDA_SUCCESS;
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
    return CUDA_SUCCESS;
}

cudnnStatus_t dnn_matmul_launch(cudnnHandle_t h, const struct dnn_matmul *m, const void *a,
                                const void *b, void *c)
{
    if (emu_trace()) {
        char ba[96], bb[96];
        fprintf(stderr, "emu: cudnnBackendExecute matmul A=%s B=%s data=%s compute=%s\n",
                dnn_dims(&m->a, ba, sizeof ba), dnn_dims(&m->b, bb, sizeof bb),
                dnn_type_name(m->a.type), m->acc16 ? "HALF" : "FLOAT");
    }
    struct matmul_op op = { .m = *m, .a = a, .b = b, .c = c };
    return dnn_launch(h, run_matmul, &op, sizeof op);
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
    const struct bk_op *op = &plan->u.plan.engine.graph.ops[0];
    void *ptr[3];
    for (int i = 0; i < 3; i++)
        if (!(ptr[i] = lookup(&pack->u.pack, op->t[i].uid)))
            return CUDNN_STATUS_BAD_PARAM;
    if (op->kind == CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR) {
        struct dnn_matmul m;
        bk_matmul_of(op, &m);
        return dnn_matmul_launch(handle, &m, ptr[0], ptr[1], ptr[2]);
    }
    struct dnn_conv c;
    bk_conv_of(op, &c);
    return dnn_conv_launch(handle, &c, ptr[0], ptr[1], ptr[2]);
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
