/* Emulated libcudnn.so.9: the backend (graph) API's descriptors, enough for
 * the graphs frameworks build (a convolution forward, backward data or
 * backward filter, or a batched matmul, alone or fused with pointwise
 * operations; a scaled dot-product attention forward) and the heuristics,
 * engine, plan and variant pack around them: creating, setting and
 * finalizing. The attention backward operation is created, set and
 * finalized, but no graph of it alone is, as in cuDNN 9.19.
 * cudnnBackendGetAttribute is in dnn_backend_get.c, cudnnBackendExecute
 * in dnn_exec.c.
 *
 * Statuses follow the cuDNN API reference: a wrong attribute type, element
 * count or value, or an attribute the descriptor does not have, is
 * BAD_PARAM; getting an attribute of a descriptor not finalized is
 * NOT_INITIALIZED; setting one of a finalized descriptor is BAD_PARAM (the
 * reference says NOT_INITIALIZED, cuDNN 9.19 answers BAD_PARAM); finalizing without a
 * required attribute or with inconsistent ones is BAD_PARAM. The SDPA
 * operations, and which tensors a pointwise operation needs, answer as
 * cuDNN 9.19 was seen to (finalizing an SDPA operation without a required
 * tensor is BAD_PARAM_NOT_FINALIZED, a wrong attribute type
 * BAD_PARAM_ATTRIBUTE_TYPE). Graphs the
 * emulator cannot run (see bk_engines) finalize, but report no engine:
 * heuristics return no configuration and an engine of that graph does not
 * finalize (NOT_SUPPORTED), which is what a framework sees for a graph no
 * engine supports and falls back from.
 * Descriptor types outside this set cannot be created (NOT_SUPPORTED). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

typedef cudnnBackendAttributeType_t atype;

#define OK CUDNN_STATUS_SUCCESS
#define BAD CUDNN_STATUS_BAD_PARAM

struct bk_desc *bk_of(cudnnBackendDescriptor_t d, cudnnBackendDescriptorType_t t)
{
    struct bk_desc *b = d;
    return b && b->magic == BK_MAGIC && b->type == t ? b : NULL;
}

struct bk_desc *bk_any(cudnnBackendDescriptor_t d)
{
    struct bk_desc *b = d;
    return b && b->magic == BK_MAGIC ? b : NULL;
}

int bk_is_conv_op(cudnnBackendDescriptorType_t t)
{
    return t == CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR ||
           t == CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR ||
           t == CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR;
}

int bk_is_sdpa_op(cudnnBackendDescriptorType_t t)
{
    return t == CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR ||
           t == CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR;
}

static int is_op(cudnnBackendDescriptorType_t t)
{
    return bk_is_conv_op(t) || bk_is_sdpa_op(t) ||
           t == CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR ||
           t == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR;
}

int bk_pw_arity(cudnnPointwiseMode_t m)
{
    switch (m) {
    case CUDNN_POINTWISE_ADD:
    case CUDNN_POINTWISE_ADD_SQUARE:
    case CUDNN_POINTWISE_DIV:
    case CUDNN_POINTWISE_MAX:
    case CUDNN_POINTWISE_MIN:
    case CUDNN_POINTWISE_MOD:
    case CUDNN_POINTWISE_MUL:
    case CUDNN_POINTWISE_POW:
    case CUDNN_POINTWISE_SUB:
    case CUDNN_POINTWISE_ATAN2:
    case CUDNN_POINTWISE_CMP_EQ:
    case CUDNN_POINTWISE_CMP_NEQ:
    case CUDNN_POINTWISE_CMP_GT:
    case CUDNN_POINTWISE_CMP_GE:
    case CUDNN_POINTWISE_CMP_LT:
    case CUDNN_POINTWISE_CMP_LE:
    case CUDNN_POINTWISE_LOGICAL_AND:
    case CUDNN_POINTWISE_LOGICAL_OR: return 2;
    case CUDNN_POINTWISE_BINARY_SELECT: return 3;
    default: return m >= CUDNN_POINTWISE_RELU_BWD && m <= CUDNN_POINTWISE_GELU_APPROX_TANH_BWD
                        ? 0
                        : 1;
    }
}

int bk_pw_out(cudnnPointwiseMode_t m)
{
    return bk_pw_arity(m) ? BK_PW_Y : BK_PW_DX;
}

/* The slots a pointwise mode takes, a bit each: x and y, b when binary, t
 * when ternary; x, dy and dx when backward. */
static unsigned pw_slots(cudnnPointwiseMode_t m)
{
    int arity = bk_pw_arity(m);
    if (arity == 0)
        return 1u << BK_PW_X | 1u << BK_PW_DY | 1u << BK_PW_DX;
    return 1u << BK_PW_X | 1u << BK_PW_Y | (arity >= 2 ? 1u << BK_PW_B : 0) |
           (arity == 3 ? 1u << BK_PW_T : 0);
}

/* A pointwise operation ignores the tensors its mode does not take (cuDNN
 * 9 accepts a forward mode's dy and dx, and a backward mode's y and b). */
int bk_slot_used(const struct bk_op *op, int i)
{
    if (!op->t[i].set)
        return 0;
    if (op->kind != CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR)
        return 1;
    return pw_slots(op->pw.mode) >> i & 1;
}

int bk_slot_out(const struct bk_op *op, int i)
{
    switch (op->kind) {
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR: return i == 0;
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR: return i == 1;
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR:
        return i == bk_pw_out(op->pw.mode);
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR: return i == BK_O || i == BK_STATS;
    case CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR: return i >= BK_DQ;
    default: return i == 2;
    }
}

/* The forward operation's attributes from Q to the sequence lengths, the
 * backward one's from Q to dO, in the order cudnn_graph.h numbers them. */
int bk_sdpa_slot(cudnnBackendDescriptorType_t kind, cudnnBackendAttributeName_t name)
{
    enum { U = BK_SDPA_UNRUN };
    static const signed char fwd[] = { BK_Q, BK_K, BK_V, BK_O, BK_STATS, BK_SCALE, U, U, U, U, U };
    static const signed char bwd[] = { BK_Q, BK_K,  BK_V,  BK_O,  BK_STATS, BK_SCALE,
                                       U,    U,     BK_DQ, BK_DK, BK_DV,    BK_DO };
    int is_fwd = kind == CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR;
    int rel = (int)name - (is_fwd ? CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC
                                  : CUDNN_ATTR_OPERATION_SDPA_BWD_QDESC);
    int n = is_fwd ? (int)sizeof fwd : (int)sizeof bwd;
    if (rel < 0 || rel >= n)
        return BK_SDPA_NONE;
    return is_fwd ? fwd[rel] : bwd[rel];
}

/* ---- create, destroy ------------------------------------------------------------ */

EMU_API cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t descriptorType,
                                                   cudnnBackendDescriptor_t *descriptor)
{
    if (!descriptor)
        return BAD;
    switch (descriptorType) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR:
    case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR:
    case CUDNN_BACKEND_MATMUL_DESCRIPTOR:
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR:
    case CUDNN_BACKEND_REDUCTION_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR:
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
    case CUDNN_BACKEND_ENGINE_DESCRIPTOR:
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR:
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR:
    case CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR:
    case CUDNN_BACKEND_KNOB_INFO_DESCRIPTOR:
        break;
    default:
        return CUDNN_STATUS_NOT_SUPPORTED;
    }
    struct bk_desc *b = calloc(1, sizeof *b);
    if (!b)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    b->magic = BK_MAGIC;
    b->type = descriptorType;
    if (is_op(descriptorType)) {
        b->u.op.kind = descriptorType;
        /* A convolution operation whose ALPHA was never set writes 0 * conv:
         * on an H100 cuDNN 9.14 and 9.19 left y all zero (cudnn-frontend
         * always sets it). Pointwise alphas are 1 unless set. */
        b->u.op.alpha = bk_is_conv_op(descriptorType) ? 0.0 : 1.0;
        b->u.op.alpha2 = 1.0;
    }
    if (descriptorType == CUDNN_BACKEND_POINTWISE_DESCRIPTOR)
        b->u.pointwise.relu_upper = INFINITY;
    *descriptor = b;
    return OK;
}

EMU_API cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor)
{
    struct bk_desc *b = bk_any(descriptor);
    if (!b)
        return BAD;
    b->magic = 0;
    free(b);
    return OK;
}

/* ---- setting attributes --------------------------------------------------------- */

static cudnnStatus_t want(atype got, int64_t n, atype type, int64_t lo, int64_t hi)
{
    return got == type && n >= lo && n <= hi ? OK : BAD;
}

/* The finalized descriptor of type t that element i of v names, or NULL. */
static const struct bk_desc *ref(const void *v, int64_t i, cudnnBackendDescriptorType_t t)
{
    const struct bk_desc *b = bk_of(((cudnnBackendDescriptor_t const *)v)[i], t);
    return b && b->finalized ? b : NULL;
}

/* Scaling factors and the like are accepted as float or as double. */
static cudnnStatus_t real(atype got, int64_t n, const void *v, double *out)
{
    if (n != 1)
        return BAD;
    if (got == CUDNN_TYPE_DOUBLE)
        *out = *(const double *)v;
    else if (got == CUDNN_TYPE_FLOAT)
        *out = *(const float *)v;
    else
        return BAD;
    return OK;
}

static cudnnStatus_t data_type(atype got, int64_t n, const void *v, cudnnDataType_t *out)
{
    DNN_TRY(want(got, n, CUDNN_TYPE_DATA_TYPE, 1, 1));
    cudnnDataType_t t = *(const cudnnDataType_t *)v;
    if (!dnn_type_valid(t))
        return BAD;
    *out = t;
    return OK;
}

static cudnnStatus_t int64(atype got, int64_t n, const void *v, int64_t *out)
{
    DNN_TRY(want(got, n, CUDNN_TYPE_INT64, 1, 1));
    *out = *(const int64_t *)v;
    return OK;
}

static cudnnStatus_t boolean(atype got, int64_t n, const void *v, bool *out)
{
    DNN_TRY(want(got, n, CUDNN_TYPE_BOOLEAN, 1, 1));
    *out = *(const bool *)v;
    return OK;
}

/* n int64 values, each at least lo, into out (untouched on failure). */
static cudnnStatus_t int64s(atype got, int64_t n, const void *v, int64_t max, int64_t lo,
                            int64_t *out)
{
    DNN_TRY(want(got, n, CUDNN_TYPE_INT64, 1, max));
    const int64_t *in = v;
    for (int64_t i = 0; i < n; i++)
        if (in[i] < lo)
            return BAD;
    memcpy(out, in, (size_t)n * sizeof *in);
    return OK;
}

static cudnnStatus_t set_tensor(struct bk_tensor *t, cudnnBackendAttributeName_t name, atype got,
                                int64_t n, const void *v)
{
    int64_t x;
    switch (name) {
    case CUDNN_ATTR_TENSOR_UNIQUE_ID: DNN_TRY(int64(got, n, v, &t->uid)); break;
    case CUDNN_ATTR_TENSOR_DATA_TYPE: DNN_TRY(data_type(got, n, v, &t->t.type)); break;
    case CUDNN_ATTR_TENSOR_DIMENSIONS:
        DNN_TRY(int64s(got, n, v, CUDNN_DIM_MAX, 1, t->t.dim));
        t->t.nd = (int)n;
        break;
    case CUDNN_ATTR_TENSOR_STRIDES:
        DNN_TRY(int64s(got, n, v, CUDNN_DIM_MAX, 1, t->t.stride));
        t->nstride = (int)n;
        break;
    case CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT: DNN_TRY(int64(got, n, v, &t->align)); break;
    case CUDNN_ATTR_TENSOR_IS_VIRTUAL: DNN_TRY(boolean(got, n, v, &t->is_virtual)); break;
    case CUDNN_ATTR_TENSOR_IS_BY_VALUE: DNN_TRY(boolean(got, n, v, &t->by_value)); break;
    /* Vectorized and reordered layouts serve integer tensor-core kernels. */
    case CUDNN_ATTR_TENSOR_VECTOR_COUNT:
        DNN_TRY(int64(got, n, v, &x));
        if (x != 1)
            return CUDNN_STATUS_NOT_SUPPORTED;
        break;
    case CUDNN_ATTR_TENSOR_VECTORIZED_DIMENSION: DNN_TRY(int64(got, n, v, &x)); break;
    /* Each batch's start, read from the offsets tensor when the graph runs
     * (PyTorch's nested-tensor attention; dim 0's stride is then unused). */
    case CUDNN_ATTR_TENSOR_RAGGED_OFFSET_DESC: {
        DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 1));
        const struct bk_desc *r = ref(v, 0, CUDNN_BACKEND_TENSOR_DESCRIPTOR);
        if (!r || (r->u.tensor.t.type != CUDNN_DATA_INT32 &&
                   r->u.tensor.t.type != CUDNN_DATA_INT64))
            return BAD;
        t->ragged = true;
        t->ragged_uid = r->u.tensor.uid;
        t->ragged_type = r->u.tensor.t.type;
        break;
    }
    case CUDNN_ATTR_TENSOR_REORDERING_MODE:
        DNN_TRY(want(got, n, CUDNN_TYPE_TENSOR_REORDERING_MODE, 1, 1));
        if (*(const cudnnBackendTensorReordering_t *)v != CUDNN_TENSOR_REORDERING_NONE)
            return CUDNN_STATUS_NOT_SUPPORTED;
        break;
    default: return BAD;
    }
    t->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_conv(struct bk_conv *c, cudnnBackendAttributeName_t name, atype got,
                              int64_t n, const void *v)
{
    int arr = -1;
    int64_t lo = 1;
    switch (name) {
    case CUDNN_ATTR_CONVOLUTION_COMP_TYPE: DNN_TRY(data_type(got, n, v, &c->comp)); break;
    case CUDNN_ATTR_CONVOLUTION_CONV_MODE: {
        DNN_TRY(want(got, n, CUDNN_TYPE_CONVOLUTION_MODE, 1, 1));
        cudnnConvolutionMode_t m = *(const cudnnConvolutionMode_t *)v;
        if (m != CUDNN_CONVOLUTION && m != CUDNN_CROSS_CORRELATION)
            return BAD;
        c->mode = m;
        break;
    }
    case CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS:
        DNN_TRY(int64(got, n, v, &c->nsp));
        if (c->nsp < 1 || c->nsp > DNN_MAX_SPATIAL)
            return BAD;
        break;
    case CUDNN_ATTR_CONVOLUTION_DILATIONS: arr = BK_DILATIONS; break;
    case CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES: arr = BK_STRIDES; break;
    case CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS: arr = BK_PRE, lo = 0; break;
    case CUDNN_ATTR_CONVOLUTION_POST_PADDINGS: arr = BK_POST, lo = 0; break;
    default: return BAD;
    }
    if (arr >= 0) {
        DNN_TRY(int64s(got, n, v, DNN_MAX_SPATIAL, lo, c->a[arr]));
        c->n[arr] = (int)n;
    }
    c->set |= BK_BIT(name);
    return OK;
}

int bk_conv_base(cudnnBackendDescriptorType_t t)
{
    switch (t) {
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
        return CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA;
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR:
        return CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA;
    default: return CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA;
    }
}

/* Slot in bk_op.t of the tensor at offset rel from the base. */
static int conv_slot(int rel)
{
    return rel == BK_REL_X ? 0 : rel == BK_REL_W ? 1 : 2;
}

static cudnnStatus_t set_tensor_ref(struct bk_tensor *slot, atype got, int64_t n, const void *v)
{
    DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 1));
    const struct bk_desc *r = ref(v, 0, CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    if (!r)
        return BAD;
    *slot = r->u.tensor;
    return OK;
}

static cudnnStatus_t set_conv_op(struct bk_op *op, cudnnBackendAttributeName_t name, atype got,
                                 int64_t n, const void *v)
{
    int rel = (int)name - bk_conv_base(op->kind);
    const struct bk_desc *r;
    switch (rel) {
    case BK_REL_ALPHA: DNN_TRY(real(got, n, v, &op->alpha)); break;
    case BK_REL_BETA: DNN_TRY(real(got, n, v, &op->beta)); break;
    case BK_REL_CONV:
        DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 1));
        if (!(r = ref(v, 0, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR)))
            return BAD;
        op->conv = r->u.conv;
        break;
    case BK_REL_W:
    case BK_REL_X:
    case BK_REL_Y: DNN_TRY(set_tensor_ref(&op->t[conv_slot(rel)], got, n, v)); break;
    default: return BAD;
    }
    op->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_matmul_op(struct bk_op *op, cudnnBackendAttributeName_t name, atype got,
                                   int64_t n, const void *v)
{
    const struct bk_desc *r;
    switch (name) {
    case CUDNN_ATTR_OPERATION_MATMUL_ADESC: DNN_TRY(set_tensor_ref(&op->t[0], got, n, v)); break;
    case CUDNN_ATTR_OPERATION_MATMUL_BDESC: DNN_TRY(set_tensor_ref(&op->t[1], got, n, v)); break;
    case CUDNN_ATTR_OPERATION_MATMUL_CDESC: DNN_TRY(set_tensor_ref(&op->t[2], got, n, v)); break;
    case CUDNN_ATTR_OPERATION_MATMUL_DESC:
        DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 1));
        if (!(r = ref(v, 0, CUDNN_BACKEND_MATMUL_DESCRIPTOR)))
            return BAD;
        op->mm_comp = r->u.matmul.comp;
        break;
    /* Dynamic M, N, K and irregular batches are not emulated. */
    case CUDNN_ATTR_OPERATION_MATMUL_IRREGULARLY_STRIDED_BATCH_COUNT:
    case CUDNN_ATTR_OPERATION_MATMUL_GEMM_M_OVERRIDE_DESC:
    case CUDNN_ATTR_OPERATION_MATMUL_GEMM_N_OVERRIDE_DESC:
    case CUDNN_ATTR_OPERATION_MATMUL_GEMM_K_OVERRIDE_DESC: return CUDNN_STATUS_NOT_SUPPORTED;
    default: return BAD;
    }
    op->set |= BK_BIT(name);
    return OK;
}

int bk_pw_slot(cudnnBackendAttributeName_t name)
{
    switch (name) {
    case CUDNN_ATTR_OPERATION_POINTWISE_XDESC: return BK_PW_X;
    case CUDNN_ATTR_OPERATION_POINTWISE_BDESC: return BK_PW_B;
    case CUDNN_ATTR_OPERATION_POINTWISE_YDESC: return BK_PW_Y;
    case CUDNN_ATTR_OPERATION_POINTWISE_TDESC: return BK_PW_T;
    case CUDNN_ATTR_OPERATION_POINTWISE_DYDESC: return BK_PW_DY;
    case CUDNN_ATTR_OPERATION_POINTWISE_DXDESC: return BK_PW_DX;
    default: return -1;
    }
}

static cudnnStatus_t set_pointwise_op(struct bk_op *op, cudnnBackendAttributeName_t name,
                                      atype got, int64_t n, const void *v)
{
    const struct bk_desc *r;
    int slot = bk_pw_slot(name);
    if (slot >= 0) {
        DNN_TRY(set_tensor_ref(&op->t[slot], got, n, v));
    } else if (name == CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR) {
        DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 1));
        if (!(r = ref(v, 0, CUDNN_BACKEND_POINTWISE_DESCRIPTOR)))
            return BAD;
        op->pw = r->u.pointwise;
    } else if (name == CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1) {
        DNN_TRY(real(got, n, v, &op->alpha));
    } else if (name == CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2) {
        DNN_TRY(real(got, n, v, &op->alpha2));
    } else {
        return BAD;
    }
    op->set |= BK_BIT(name);
    return OK;
}

/* Every attribute is a tensor; cuDNN 9 answers another attribute type
 * with BAD_PARAM_ATTRIBUTE_TYPE here. The block mask, page tables and
 * sequence lengths are accepted and leave the graph without an engine. */
static cudnnStatus_t set_sdpa_op(struct bk_op *op, cudnnBackendAttributeName_t name, atype got,
                                 int64_t n, const void *v)
{
    int slot = bk_sdpa_slot(op->kind, name);
    struct bk_tensor unrun;
    if (slot == BK_SDPA_NONE)
        return BAD;
    if (got != CUDNN_TYPE_BACKEND_DESCRIPTOR)
        return CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE;
    DNN_TRY(set_tensor_ref(slot >= 0 ? &op->t[slot] : &unrun, got, n, v));
    op->unrun |= slot == BK_SDPA_UNRUN;
    op->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_handle(atype got, int64_t n, const void *v, cudnnHandle_t *out)
{
    DNN_TRY(want(got, n, CUDNN_TYPE_HANDLE, 1, 1));
    cudnnHandle_t h = *(const cudnnHandle_t *)v;
    if (!dnn_valid(h))
        return BAD;
    *out = h;
    return OK;
}

static cudnnStatus_t set_graph(struct bk_graph *g, cudnnBackendAttributeName_t name, atype got,
                               int64_t n, const void *v)
{
    bool dynamic;
    switch (name) {
    case CUDNN_ATTR_OPERATIONGRAPH_OPS: {
        /* All checked before any is copied: a refused set changes nothing. */
        DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, BK_MAX_OPS));
        const struct bk_desc *r;
        for (int64_t i = 0; i < n; i++)
            if (!(r = bk_any(((cudnnBackendDescriptor_t const *)v)[i])) || !r->finalized ||
                !is_op(r->type))
                return BAD;
        for (int64_t i = 0; i < n; i++)
            g->ops[i] = bk_any(((cudnnBackendDescriptor_t const *)v)[i])->u.op;
        g->nops = (int)n;
        break;
    }
    case CUDNN_ATTR_OPERATIONGRAPH_HANDLE: DNN_TRY(set_handle(got, n, v, &g->handle)); break;
    case CUDNN_ATTR_OPERATIONGRAPH_IS_DYNAMIC_SHAPE_ENABLED:
        DNN_TRY(boolean(got, n, v, &dynamic));
        if (dynamic)
            return CUDNN_STATUS_NOT_SUPPORTED;
        break;
    default: return BAD;
    }
    g->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_graph_ref(struct bk_graph *g, atype got, int64_t n, const void *v)
{
    DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 1));
    const struct bk_desc *r = ref(v, 0, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    if (!r)
        return BAD;
    *g = r->u.graph;
    return OK;
}

static cudnnStatus_t set_heur(struct bk_heur *h, cudnnBackendAttributeName_t name, atype got,
                              int64_t n, const void *v)
{
    switch (name) {
    case CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH: DNN_TRY(set_graph_ref(&h->graph, got, n, v)); break;
    case CUDNN_ATTR_ENGINEHEUR_MODE:
        DNN_TRY(want(got, n, CUDNN_TYPE_HEUR_MODE, 1, 1));
        h->mode = *(const cudnnBackendHeurMode_t *)v;
        if ((unsigned)h->mode >= (unsigned)CUDNN_HEUR_MODES_COUNT)
            return BAD;
        break;
    case CUDNN_ATTR_ENGINEHEUR_SM_COUNT_TARGET:
        DNN_TRY(want(got, n, CUDNN_TYPE_INT32, 1, 1));
        break;
    default: return BAD;
    }
    h->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_engine(struct bk_engine *e, cudnnBackendAttributeName_t name, atype got,
                                int64_t n, const void *v)
{
    switch (name) {
    case CUDNN_ATTR_ENGINE_OPERATION_GRAPH: DNN_TRY(set_graph_ref(&e->graph, got, n, v)); break;
    case CUDNN_ATTR_ENGINE_GLOBAL_INDEX: DNN_TRY(int64(got, n, v, &e->index)); break;
    case CUDNN_ATTR_ENGINE_SM_COUNT_TARGET: DNN_TRY(want(got, n, CUDNN_TYPE_INT32, 1, 1)); break;
    default: return BAD;
    }
    e->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_engine_ref(struct bk_engine *e, atype got, int64_t n, const void *v,
                                    cudnnBackendDescriptorType_t t)
{
    DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, 1));
    const struct bk_desc *r = ref(v, 0, t);
    if (!r)
        return BAD;
    *e = t == CUDNN_BACKEND_ENGINE_DESCRIPTOR ? r->u.engine : r->u.cfg.engine;
    return OK;
}

/* Knob choices tune kernels the emulator does not have: checked, not kept. */
static cudnnStatus_t set_cfg(struct bk_cfg *c, cudnnBackendAttributeName_t name, atype got,
                             int64_t n, const void *v)
{
    switch (name) {
    case CUDNN_ATTR_ENGINECFG_ENGINE:
        DNN_TRY(set_engine_ref(&c->engine, got, n, v, CUDNN_BACKEND_ENGINE_DESCRIPTOR));
        break;
    case CUDNN_ATTR_ENGINECFG_KNOB_CHOICES:
        DNN_TRY(want(got, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, CUDNN_KNOB_TYPE_COUNTS));
        for (int64_t i = 0; i < n; i++)
            if (!ref(v, i, CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR))
                return BAD;
        break;
    default: return BAD;
    }
    c->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_plan(struct bk_plan *p, cudnnBackendAttributeName_t name, atype got,
                              int64_t n, const void *v)
{
    switch (name) {
    case CUDNN_ATTR_EXECUTION_PLAN_HANDLE: DNN_TRY(set_handle(got, n, v, &p->handle)); break;
    case CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG:
        DNN_TRY(set_engine_ref(&p->engine, got, n, v, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
        break;
    /* The emulator computes every intermediate: nothing to keep or skip. */
    case CUDNN_ATTR_EXECUTION_PLAN_RUN_ONLY_INTERMEDIATE_UIDS:
        DNN_TRY(want(got, n, CUDNN_TYPE_INT64, 0, INT64_MAX));
        break;
    default: return BAD;
    }
    p->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_pack(struct bk_pack *p, cudnnBackendAttributeName_t name, atype got,
                              int64_t n, const void *v)
{
    switch (name) {
    case CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS:
        if (got == CUDNN_TYPE_INT64 && n > BK_MAX_PACK)
            return CUDNN_STATUS_NOT_SUPPORTED;
        DNN_TRY(want(got, n, CUDNN_TYPE_INT64, 0, BK_MAX_PACK));
        memcpy(p->uid, v, (size_t)n * sizeof *p->uid);
        p->nuid = (int)n;
        break;
    case CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS:
        if (got == CUDNN_TYPE_VOID_PTR && n > BK_MAX_PACK)
            return CUDNN_STATUS_NOT_SUPPORTED;
        DNN_TRY(want(got, n, CUDNN_TYPE_VOID_PTR, 0, BK_MAX_PACK));
        memcpy(p->ptr, v, (size_t)n * sizeof *p->ptr);
        p->nptr = (int)n;
        break;
    case CUDNN_ATTR_VARIANT_PACK_WORKSPACE:
        DNN_TRY(want(got, n, CUDNN_TYPE_VOID_PTR, 1, 1));
        p->workspace = *(void *const *)v;
        break;
    case CUDNN_ATTR_VARIANT_PACK_INTERMEDIATES:
        DNN_TRY(want(got, n, CUDNN_TYPE_VOID_PTR, 0, INT64_MAX));
        break;
    /* At least one UID, as cuDNN 9.19 answers (BAD_PARAM for none); the
     * shapes and strides are read at Execute (dnn_exec.c). */
    case CUDNN_ATTR_VARIANT_PACK_OVERRIDE_UNIQUE_IDS:
        if (got == CUDNN_TYPE_INT64 && n > BK_MAX_PACK)
            return CUDNN_STATUS_NOT_SUPPORTED;
        DNN_TRY(want(got, n, CUDNN_TYPE_INT64, 1, BK_MAX_PACK));
        memcpy(p->over_uid, v, (size_t)n * sizeof *p->over_uid);
        p->nover = (int)n;
        break;
    case CUDNN_ATTR_VARIANT_PACK_OVERRIDE_SHAPES:
    case CUDNN_ATTR_VARIANT_PACK_OVERRIDE_STRIDES: {
        DNN_TRY(want(got, n, CUDNN_TYPE_VOID_PTR, 1, 1));
        const struct bk_vec *vv = *(void *const *)v;
        if (!vv)
            return BAD;
        if (name == CUDNN_ATTR_VARIANT_PACK_OVERRIDE_SHAPES)
            p->over_shapes = vv;
        else
            p->over_strides = vv;
        break;
    }
    default: return BAD;
    }
    p->set |= BK_BIT(name);
    return OK;
}

/* Pointwise descriptors serve pointwise operations; reduction descriptors
 * are stored and read back, the emulator runs no graph that uses them. */
static cudnnStatus_t set_pointwise(struct bk_pointwise *p, cudnnBackendAttributeName_t name,
                                   atype got, int64_t n, const void *v)
{
    double ignored;
    switch (name) {
    case CUDNN_ATTR_POINTWISE_MODE:
        DNN_TRY(want(got, n, CUDNN_TYPE_POINTWISE_MODE, 1, 1));
        p->mode = *(const cudnnPointwiseMode_t *)v;
        break;
    case CUDNN_ATTR_POINTWISE_MATH_PREC: DNN_TRY(data_type(got, n, v, &p->prec)); break;
    case CUDNN_ATTR_POINTWISE_NAN_PROPAGATION:
        DNN_TRY(want(got, n, CUDNN_TYPE_NAN_PROPOGATION, 1, 1));
        break;
    case CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP: DNN_TRY(real(got, n, v, &p->relu_lower)); break;
    case CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP: DNN_TRY(real(got, n, v, &p->relu_upper)); break;
    case CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE:
        DNN_TRY(real(got, n, v, &p->relu_slope));
        break;
    case CUDNN_ATTR_POINTWISE_ELU_ALPHA:
    case CUDNN_ATTR_POINTWISE_SOFTPLUS_BETA:
    case CUDNN_ATTR_POINTWISE_SWISH_BETA: DNN_TRY(real(got, n, v, &ignored)); break;
    case CUDNN_ATTR_POINTWISE_AXIS: DNN_TRY(int64(got, n, v, &p->axis)); break;
    default: return BAD;
    }
    p->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_reduction(struct bk_reduction *r, cudnnBackendAttributeName_t name,
                                   atype got, int64_t n, const void *v)
{
    switch (name) {
    case CUDNN_ATTR_REDUCTION_OPERATOR:
        DNN_TRY(want(got, n, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, 1));
        r->op = *(const cudnnReduceTensorOp_t *)v;
        if ((unsigned)r->op > (unsigned)CUDNN_REDUCE_TENSOR_MUL_NO_ZEROS)
            return BAD;
        break;
    case CUDNN_ATTR_REDUCTION_COMP_TYPE: DNN_TRY(data_type(got, n, v, &r->comp)); break;
    case CUDNN_ATTR_REDUCTION_IS_DETERMINISTIC:
        DNN_TRY(boolean(got, n, v, &r->deterministic));
        break;
    default: return BAD;
    }
    r->set |= BK_BIT(name);
    return OK;
}

static cudnnStatus_t set_other(struct bk_desc *b, cudnnBackendAttributeName_t name, atype got,
                               int64_t n, const void *v)
{
    switch (b->type) {
    case CUDNN_BACKEND_MATMUL_DESCRIPTOR:
        if (name == CUDNN_ATTR_MATMUL_COMP_TYPE)
            DNN_TRY(data_type(got, n, v, &b->u.matmul.comp));
        else if (name == CUDNN_ATTR_MATMUL_PADDING_VALUE)
            DNN_TRY(real(got, n, v, &b->u.matmul.padding));
        else
            return BAD;
        b->u.matmul.set |= BK_BIT(name);
        return OK;
    case CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR:
        if (name == CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE) {
            DNN_TRY(want(got, n, CUDNN_TYPE_KNOB_TYPE, 1, 1));
            b->u.knob.type = *(const cudnnBackendKnobType_t *)v;
        } else if (name == CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE) {
            DNN_TRY(int64(got, n, v, &b->u.knob.value));
        } else {
            return BAD;
        }
        b->u.knob.set |= BK_BIT(name);
        return OK;
    default: return BAD; /* knob info: nothing is settable */
    }
}

EMU_API cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor,
    cudnnBackendAttributeName_t attributeName, cudnnBackendAttributeType_t attributeType,
    int64_t elementCount, const void *arrayOfElements)
{
    struct bk_desc *b = bk_any(descriptor);
    if (!b)
        return BAD;
    if (b->finalized)
        return BAD;
    if (elementCount < 0 || (!arrayOfElements && elementCount > 0))
        return BAD;
    cudnnBackendAttributeName_t name = attributeName;
    atype got = attributeType;
    int64_t n = elementCount;
    const void *v = arrayOfElements;
    switch (b->type) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR: return set_tensor(&b->u.tensor, name, got, n, v);
    case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR: return set_conv(&b->u.conv, name, got, n, v);
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR:
        return set_conv_op(&b->u.op, name, got, n, v);
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR:
        return set_matmul_op(&b->u.op, name, got, n, v);
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR:
        return set_pointwise_op(&b->u.op, name, got, n, v);
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR:
        return set_sdpa_op(&b->u.op, name, got, n, v);
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: return set_graph(&b->u.graph, name, got, n, v);
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR: return set_heur(&b->u.heur, name, got, n, v);
    case CUDNN_BACKEND_ENGINE_DESCRIPTOR: return set_engine(&b->u.engine, name, got, n, v);
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR: return set_cfg(&b->u.cfg, name, got, n, v);
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR: return set_plan(&b->u.plan, name, got, n, v);
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: return set_pack(&b->u.pack, name, got, n, v);
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR:
        return set_pointwise(&b->u.pointwise, name, got, n, v);
    case CUDNN_BACKEND_REDUCTION_DESCRIPTOR:
        return set_reduction(&b->u.reduction, name, got, n, v);
    default: return set_other(b, name, got, n, v);
    }
}

/* ---- finalizing ------------------------------------------------------------------ */

static int has(unsigned set, unsigned required)
{
    return (set & required) == required;
}

static cudnnStatus_t finalize_tensor(const struct bk_tensor *t)
{
    if (!has(t->set, BK_BIT(CUDNN_ATTR_TENSOR_UNIQUE_ID) | BK_BIT(CUDNN_ATTR_TENSOR_DATA_TYPE) |
                         BK_BIT(CUDNN_ATTR_TENSOR_DIMENSIONS) |
                         BK_BIT(CUDNN_ATTR_TENSOR_STRIDES) |
                         BK_BIT(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT)) ||
        t->nstride != t->t.nd || t->align < 1 || (t->align & (t->align - 1)))
        return BAD;
    return OK;
}

static cudnnStatus_t finalize_conv(const struct bk_conv *c)
{
    if (!has(c->set, BK_BIT(CUDNN_ATTR_CONVOLUTION_COMP_TYPE) |
                         BK_BIT(CUDNN_ATTR_CONVOLUTION_CONV_MODE) |
                         BK_BIT(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS) |
                         BK_BIT(CUDNN_ATTR_CONVOLUTION_DILATIONS) |
                         BK_BIT(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES) |
                         BK_BIT(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS) |
                         BK_BIT(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS)))
        return BAD;
    for (int i = 0; i < BK_ARRAYS; i++)
        if (c->n[i] != c->nsp)
            return BAD;
    return OK;
}

/* The tensors the mode takes (pw_slots) are all set or none is, as cuDNN
 * 9 checks them; an operation with none is refused by the graph made of
 * it. Shapes are not checked here, as cuDNN 9 does not: a graph with
 * shapes that do not broadcast gets no engine. */
static cudnnStatus_t finalize_pointwise_op(const struct bk_op *op)
{
    if (!has(op->set, BK_BIT(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR)))
        return BAD;
    unsigned want = pw_slots(op->pw.mode), got = 0;
    for (int i = 0; i < BK_SLOTS; i++)
        got |= (op->t[i].set ? 1u : 0u) << i;
    got &= want;
    return got == 0 || got == want ? OK : BAD;
}

/* Q, K, V and O are required, and backward STATS, dO, dQ, dK and dV too:
 * without one, cuDNN 9 answers BAD_PARAM_NOT_FINALIZED. It checks the
 * forward operation's shapes here (BAD_PARAM) and finalizes a backward
 * one whatever its shapes. */
static cudnnStatus_t finalize_sdpa_op(const struct bk_op *op)
{
    int bwd = op->kind == CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR;
    for (int s = 0; s < (bwd ? BK_SLOTS : BK_STATS); s++)
        if (s != BK_SCALE && !op->t[s].set)
            return CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED;
    return bwd || bk_sdpa_shape_ok(op) ? OK : BAD;
}

/* Alpha and beta keep their defaults (1, 0) when not set. */
static cudnnStatus_t finalize_op(const struct bk_op *op)
{
    if (op->kind == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR)
        return finalize_pointwise_op(op);
    if (bk_is_sdpa_op(op->kind))
        return finalize_sdpa_op(op);
    if (bk_is_conv_op(op->kind)) {
        int base = bk_conv_base(op->kind);
        if (!has(op->set, BK_BIT(base + BK_REL_CONV) | BK_BIT(base + BK_REL_W) |
                              BK_BIT(base + BK_REL_X) | BK_BIT(base + BK_REL_Y)))
            return BAD;
        struct dnn_conv c;
        bk_conv_of(op, &c);
        return dnn_conv_check_shape(&c);
    }
    if (!has(op->set, BK_BIT(CUDNN_ATTR_OPERATION_MATMUL_ADESC) |
                          BK_BIT(CUDNN_ATTR_OPERATION_MATMUL_BDESC) |
                          BK_BIT(CUDNN_ATTR_OPERATION_MATMUL_CDESC) |
                          BK_BIT(CUDNN_ATTR_OPERATION_MATMUL_DESC)))
        return BAD;
    struct dnn_matmul m;
    bk_matmul_of(op, &m);
    return dnn_matmul_check_shape(&m);
}

static int same_tensor(const struct bk_tensor *a, const struct bk_tensor *b)
{
    if (a->t.type != b->t.type || a->t.nd != b->t.nd || a->is_virtual != b->is_virtual)
        return 0;
    for (int i = 0; i < a->t.nd; i++)
        if (a->t.dim[i] != b->t.dim[i] || a->t.stride[i] != b->t.stride[i])
            return 0;
    return 1;
}

/* Whether op writes a tensor: a pointwise operation finalized without
 * any does not. */
static int writes(const struct bk_op *op)
{
    for (int s = 0; s < BK_SLOTS; s++)
        if (bk_slot_used(op, s) && bk_slot_out(op, s))
            return 1;
    return 0;
}

/* Whether every operation of g is an SDPA backward one. */
static int only_sdpa_bwd(const struct bk_graph *g)
{
    for (int i = 0; i < g->nops; i++)
        if (g->ops[i].kind != CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR)
            return 0;
    return 1;
}

/* A UID names one tensor: twice in one operation, or for two different
 * tensors, is BAD_PARAM; so is an operation that writes nothing, as cuDNN
 * 9 answers. The deprecated handle is optional.
 *
 * cuDNN 9.19 cannot build a graph of SDPA backward operations alone
 * (BAD_PARAM from its buildDAG): the cuDNN frontend composes attention
 * backward from matmul, pointwise and reduction operations instead. Beside
 * any other operation one finalizes, and the graph counts the engines of
 * the others, as if it were not there; the emulator offers such a graph
 * no engine (bk_engines), so the backward operation never runs. */
static cudnnStatus_t finalize_graph(struct bk_graph *g)
{
    if (!has(g->set, BK_BIT(CUDNN_ATTR_OPERATIONGRAPH_OPS)) || only_sdpa_bwd(g))
        return BAD;
    for (int i = 0; i < g->nops; i++)
        if (!writes(&g->ops[i]))
            return BAD;
    for (int i = 0; i < g->nops * BK_SLOTS; i++) {
        const struct bk_op *oa = &g->ops[i / BK_SLOTS];
        if (!bk_slot_used(oa, i % BK_SLOTS))
            continue;
        for (int j = i + 1; j < g->nops * BK_SLOTS; j++) {
            const struct bk_op *ob = &g->ops[j / BK_SLOTS];
            const struct bk_tensor *a = &oa->t[i % BK_SLOTS], *b = &ob->t[j % BK_SLOTS];
            if (bk_slot_used(ob, j % BK_SLOTS) && a->uid == b->uid &&
                (oa == ob || !same_tensor(a, b)))
                return BAD;
        }
    }
    g->engines = bk_engines(g);
    return OK;
}

/* Override UIDs come with their shapes and strides (cuDNN 9.19 does not
 * finalize a pack with the UIDs alone: BAD_PARAM). */
static cudnnStatus_t finalize_pack(const struct bk_pack *p)
{
    unsigned over = BK_BIT(CUDNN_ATTR_VARIANT_PACK_OVERRIDE_UNIQUE_IDS) |
                    BK_BIT(CUDNN_ATTR_VARIANT_PACK_OVERRIDE_SHAPES) |
                    BK_BIT(CUDNN_ATTR_VARIANT_PACK_OVERRIDE_STRIDES);
    if (!has(p->set, BK_BIT(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS) |
                         BK_BIT(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS)) ||
        p->nuid != p->nptr || ((p->set & over) && !has(p->set, over)))
        return BAD;
    for (int i = 0; i < p->nuid; i++)
        for (int j = i + 1; j < p->nuid; j++)
            if (p->uid[i] == p->uid[j])
                return BAD;
    return OK;
}

static cudnnStatus_t finalize(struct bk_desc *b)
{
    switch (b->type) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR: return finalize_tensor(&b->u.tensor);
    case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR: return finalize_conv(&b->u.conv);
    case CUDNN_BACKEND_MATMUL_DESCRIPTOR:
        return has(b->u.matmul.set, BK_BIT(CUDNN_ATTR_MATMUL_COMP_TYPE)) ? OK : BAD;
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR:
        return has(b->u.pointwise.set, BK_BIT(CUDNN_ATTR_POINTWISE_MODE) |
                                           BK_BIT(CUDNN_ATTR_POINTWISE_MATH_PREC))
                   ? OK
                   : BAD;
    case CUDNN_BACKEND_REDUCTION_DESCRIPTOR:
        return has(b->u.reduction.set, BK_BIT(CUDNN_ATTR_REDUCTION_OPERATOR) |
                                           BK_BIT(CUDNN_ATTR_REDUCTION_COMP_TYPE))
                   ? OK
                   : BAD;
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR: return finalize_op(&b->u.op);
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: return finalize_graph(&b->u.graph);
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
        return has(b->u.heur.set, BK_BIT(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH) |
                                      BK_BIT(CUDNN_ATTR_ENGINEHEUR_MODE))
                   ? OK
                   : BAD;
    case CUDNN_BACKEND_ENGINE_DESCRIPTOR: {
        const struct bk_engine *e = &b->u.engine;
        if (!has(e->set, BK_BIT(CUDNN_ATTR_ENGINE_OPERATION_GRAPH) |
                             BK_BIT(CUDNN_ATTR_ENGINE_GLOBAL_INDEX)) ||
            e->index < 0)
            return BAD;
        return e->index < e->graph.engines ? OK : CUDNN_STATUS_NOT_SUPPORTED;
    }
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR:
        return has(b->u.cfg.set, BK_BIT(CUDNN_ATTR_ENGINECFG_ENGINE)) ? OK : BAD;
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
        return has(b->u.plan.set, BK_BIT(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG)) ? OK : BAD;
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: return finalize_pack(&b->u.pack);
    default: return OK; /* knob choice and knob info */
    }
}

EMU_API cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor)
{
    struct bk_desc *b = bk_any(descriptor);
    if (!b || b->finalized)
        return BAD;
    cudnnStatus_t st = finalize(b);
    if (!st)
        b->finalized = true;
    return st;
}
