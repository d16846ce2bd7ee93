/* Emulated libcudnn.so.9: cudnnBackendGetAttribute.
 *
 * Only finalized descriptors answer (NOT_INITIALIZED otherwise). The count
 * reported is the attribute's own; at most requestedElementCount elements
 * are written. A descriptor-valued attribute is copied into descriptors
 * the caller created of the right type, which become finalized: that is
 * how heuristics hand out their engine configurations. */
#include <string.h>

#include "dnn.h"

typedef cudnnBackendAttributeType_t atype;

#define OK CUDNN_STATUS_SUCCESS
#define BAD CUDNN_STATUS_BAD_PARAM

/* Reports n elements and copies at most req of them. */
static cudnnStatus_t give(atype got, atype type, int64_t req, int64_t *count, void *out,
                          const void *src, int64_t n, size_t size)
{
    if (got != type)
        return BAD;
    if (count)
        *count = n;
    int64_t k = req < n ? req : n;
    if (k > 0)
        memcpy(out, src, (size_t)k * size);
    return OK;
}

static cudnnStatus_t give_int64(atype got, int64_t req, int64_t *count, void *out, int64_t v)
{
    return give(got, CUDNN_TYPE_INT64, req, count, out, &v, 1, sizeof v);
}

static cudnnStatus_t give_real(atype got, int64_t req, int64_t *count, void *out, double v)
{
    float f = (float)v;
    if (got == CUDNN_TYPE_FLOAT)
        return give(got, CUDNN_TYPE_FLOAT, req, count, out, &f, 1, sizeof f);
    return give(got, CUDNN_TYPE_DOUBLE, req, count, out, &v, 1, sizeof v);
}

/* Attributes with no element in the emulator (notes, knobs, layouts). */
static cudnnStatus_t give_none(atype got, atype type, int64_t *count)
{
    if (got != type)
        return BAD;
    if (count)
        *count = 0;
    return OK;
}

/* A descriptor-valued attribute is copied into the caller's descriptor of
 * that type (element i of out), which becomes finalized. */
static cudnnStatus_t export_to(void *out, int64_t i, cudnnBackendDescriptorType_t kind,
                               const void *src, size_t size)
{
    struct bk_desc *t = bk_of(((cudnnBackendDescriptor_t *)out)[i], kind);
    if (!t)
        return BAD;
    memcpy(&t->u, src, size);
    t->finalized = true;
    return OK;
}

static cudnnStatus_t give_desc(atype got, int64_t req, int64_t *count, void *out,
                               cudnnBackendDescriptorType_t kind, const void *src, size_t size)
{
    if (got != CUDNN_TYPE_BACKEND_DESCRIPTOR)
        return BAD;
    if (count)
        *count = 1;
    return req > 0 ? export_to(out, 0, kind, src, size) : OK;
}

static cudnnStatus_t get_tensor(const struct bk_tensor *t, cudnnBackendAttributeName_t name,
                                atype got, int64_t req, int64_t *count, void *out)
{
    switch (name) {
    case CUDNN_ATTR_TENSOR_UNIQUE_ID: return give_int64(got, req, count, out, t->uid);
    case CUDNN_ATTR_TENSOR_DATA_TYPE:
        return give(got, CUDNN_TYPE_DATA_TYPE, req, count, out, &t->t.type, 1, sizeof t->t.type);
    case CUDNN_ATTR_TENSOR_DIMENSIONS:
        return give(got, CUDNN_TYPE_INT64, req, count, out, t->t.dim, t->t.nd, sizeof(int64_t));
    case CUDNN_ATTR_TENSOR_STRIDES:
        return give(got, CUDNN_TYPE_INT64, req, count, out, t->t.stride, t->t.nd,
                    sizeof(int64_t));
    case CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT: return give_int64(got, req, count, out, t->align);
    case CUDNN_ATTR_TENSOR_IS_VIRTUAL:
        return give(got, CUDNN_TYPE_BOOLEAN, req, count, out, &t->is_virtual, 1, sizeof(bool));
    case CUDNN_ATTR_TENSOR_IS_BY_VALUE:
        return give(got, CUDNN_TYPE_BOOLEAN, req, count, out, &t->by_value, 1, sizeof(bool));
    case CUDNN_ATTR_TENSOR_VECTOR_COUNT: return give_int64(got, req, count, out, 1);
    default: return BAD;
    }
}

static cudnnStatus_t get_conv(const struct bk_conv *c, cudnnBackendAttributeName_t name,
                              atype got, int64_t req, int64_t *count, void *out)
{
    int arr;
    switch (name) {
    case CUDNN_ATTR_CONVOLUTION_COMP_TYPE:
        return give(got, CUDNN_TYPE_DATA_TYPE, req, count, out, &c->comp, 1, sizeof c->comp);
    case CUDNN_ATTR_CONVOLUTION_CONV_MODE:
        return give(got, CUDNN_TYPE_CONVOLUTION_MODE, req, count, out, &c->mode, 1,
                    sizeof c->mode);
    case CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS: return give_int64(got, req, count, out, c->nsp);
    case CUDNN_ATTR_CONVOLUTION_DILATIONS: arr = BK_DILATIONS; break;
    case CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES: arr = BK_STRIDES; break;
    case CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS: arr = BK_PRE; break;
    case CUDNN_ATTR_CONVOLUTION_POST_PADDINGS: arr = BK_POST; break;
    default: return BAD;
    }
    return give(got, CUDNN_TYPE_INT64, req, count, out, c->a[arr], c->n[arr], sizeof(int64_t));
}

/* An optional tensor that was not set has no element. */
static cudnnStatus_t get_pointwise_op(const struct bk_op *op, cudnnBackendAttributeName_t name,
                                      atype got, int64_t req, int64_t *count, void *out)
{
    int slot = bk_pw_slot(name);
    switch (name) {
    case CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR:
        return give_desc(got, req, count, out, CUDNN_BACKEND_POINTWISE_DESCRIPTOR, &op->pw,
                         sizeof op->pw);
    case CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1: return give_real(got, req, count, out, op->alpha);
    case CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2: return give_real(got, req, count, out, op->alpha2);
    default:
        if (slot < 0)
            return BAD;
    }
    if (!op->t[slot].set)
        return give_none(got, CUDNN_TYPE_BACKEND_DESCRIPTOR, count);
    return give_desc(got, req, count, out, CUDNN_BACKEND_TENSOR_DESCRIPTOR, &op->t[slot],
                     sizeof op->t[slot]);
}

/* As cuDNN 9 answers: every attribute of the operation has one element,
 * a tensor descriptor that receives the tensor if one was set and is left
 * as it was if not (the emulator keeps no block mask, page table or
 * sequence length: those answer as not set); another attribute type is
 * BAD_PARAM_ATTRIBUTE_TYPE, no element requested BAD_PARAM. */
static cudnnStatus_t get_sdpa_op(const struct bk_op *op, cudnnBackendAttributeName_t name,
                                 atype got, int64_t req, int64_t *count, void *out)
{
    int slot = bk_sdpa_slot(op->kind, name);
    if (slot == BK_SDPA_NONE)
        return BAD;
    if (got != CUDNN_TYPE_BACKEND_DESCRIPTOR)
        return CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE;
    if (req < 1)
        return out ? BAD : CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
    if (slot >= 0 && op->t[slot].set)
        DNN_TRY(export_to(out, 0, CUDNN_BACKEND_TENSOR_DESCRIPTOR, &op->t[slot],
                          sizeof op->t[slot]));
    else if (!bk_of(*(cudnnBackendDescriptor_t *)out, CUDNN_BACKEND_TENSOR_DESCRIPTOR))
        return BAD;
    if (count)
        *count = 1;
    return OK;
}

static cudnnStatus_t get_op(const struct bk_op *op, cudnnBackendAttributeName_t name, atype got,
                            int64_t req, int64_t *count, void *out)
{
    int slot = -1;
    if (op->kind == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR)
        return get_pointwise_op(op, name, got, req, count, out);
    if (bk_is_sdpa_op(op->kind))
        return get_sdpa_op(op, name, got, req, count, out);
    if (bk_is_conv_op(op->kind)) {
        switch ((int)name - bk_conv_base(op->kind)) {
        case BK_REL_ALPHA: return give_real(got, req, count, out, op->alpha);
        case BK_REL_BETA: return give_real(got, req, count, out, op->beta);
        case BK_REL_CONV:
            return give_desc(got, req, count, out, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR,
                             &op->conv, sizeof op->conv);
        case BK_REL_W: slot = 1; break;
        case BK_REL_X: slot = 0; break;
        case BK_REL_Y: slot = 2; break;
        default: return BAD;
        }
    } else {
        switch (name) {
        case CUDNN_ATTR_OPERATION_MATMUL_ADESC: slot = 0; break;
        case CUDNN_ATTR_OPERATION_MATMUL_BDESC: slot = 1; break;
        case CUDNN_ATTR_OPERATION_MATMUL_CDESC: slot = 2; break;
        case CUDNN_ATTR_OPERATION_MATMUL_DESC: {
            struct bk_matmul_desc m = { .set = BK_BIT(CUDNN_ATTR_MATMUL_COMP_TYPE),
                                        .comp = op->mm_comp };
            return give_desc(got, req, count, out, CUDNN_BACKEND_MATMUL_DESCRIPTOR, &m,
                             sizeof m);
        }
        default: return BAD;
        }
    }
    return give_desc(got, req, count, out, CUDNN_BACKEND_TENSOR_DESCRIPTOR, &op->t[slot],
                     sizeof op->t[slot]);
}

static cudnnStatus_t get_graph(const struct bk_graph *g, cudnnBackendAttributeName_t name,
                               atype got, int64_t req, int64_t *count, void *out)
{
    switch (name) {
    case CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT:
        return give_int64(got, req, count, out, g->engines);
    case CUDNN_ATTR_OPERATIONGRAPH_HANDLE:
        return give(got, CUDNN_TYPE_HANDLE, req, count, out, &g->handle, 1, sizeof g->handle);
    case CUDNN_ATTR_OPERATIONGRAPH_OPS:
        if (got != CUDNN_TYPE_BACKEND_DESCRIPTOR)
            return BAD;
        if (count)
            *count = g->nops;
        for (int64_t i = 0; i < req && i < g->nops; i++)
            DNN_TRY(export_to(out, i, g->ops[i].kind, &g->ops[i], sizeof g->ops[i]));
        return OK;
    default: return BAD;
    }
}

/* The heuristics' results: one configuration per engine of the graph. */
static cudnnStatus_t get_heur(const struct bk_heur *h, cudnnBackendAttributeName_t name,
                              atype got, int64_t req, int64_t *count, void *out)
{
    switch (name) {
    case CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH:
        return give_desc(got, req, count, out, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR,
                         &h->graph, sizeof h->graph);
    case CUDNN_ATTR_ENGINEHEUR_MODE:
        return give(got, CUDNN_TYPE_HEUR_MODE, req, count, out, &h->mode, 1, sizeof h->mode);
    case CUDNN_ATTR_ENGINEHEUR_RESULTS:
        if (got != CUDNN_TYPE_BACKEND_DESCRIPTOR)
            return BAD;
        if (count)
            *count = h->graph.engines;
        for (int64_t i = 0; i < req && i < h->graph.engines; i++) {
            struct bk_cfg cfg = { .set = BK_BIT(CUDNN_ATTR_ENGINECFG_ENGINE),
                                  .engine = { .set = BK_BIT(CUDNN_ATTR_ENGINE_OPERATION_GRAPH) |
                                                     BK_BIT(CUDNN_ATTR_ENGINE_GLOBAL_INDEX),
                                              .graph = h->graph,
                                              .index = i } };
            DNN_TRY(export_to(out, i, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfg, sizeof cfg));
        }
        return OK;
    default: return BAD;
    }
}

static cudnnStatus_t get_engine(const struct bk_engine *e, cudnnBackendAttributeName_t name,
                                atype got, int64_t req, int64_t *count, void *out)
{
    switch (name) {
    case CUDNN_ATTR_ENGINE_OPERATION_GRAPH:
        return give_desc(got, req, count, out, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR,
                         &e->graph, sizeof e->graph);
    case CUDNN_ATTR_ENGINE_GLOBAL_INDEX: return give_int64(got, req, count, out, e->index);
    case CUDNN_ATTR_ENGINE_KNOB_INFO:
    case CUDNN_ATTR_ENGINE_LAYOUT_INFO:
        return give_none(got, CUDNN_TYPE_BACKEND_DESCRIPTOR, count);
    case CUDNN_ATTR_ENGINE_NUMERICAL_NOTE:
        return give_none(got, CUDNN_TYPE_NUMERICAL_NOTE, count);
    case CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE: return give_none(got, CUDNN_TYPE_BEHAVIOR_NOTE, count);
    default: return BAD;
    }
}

static cudnnStatus_t get_other(const struct bk_desc *b, cudnnBackendAttributeName_t name,
                               atype got, int64_t req, int64_t *count, void *out)
{
    const struct bk_pointwise *pw = &b->u.pointwise;
    const struct bk_reduction *r = &b->u.reduction;
    const struct bk_pack *p = &b->u.pack;
    switch (b->type) {
    case CUDNN_BACKEND_MATMUL_DESCRIPTOR:
        if (name == CUDNN_ATTR_MATMUL_COMP_TYPE)
            return give(got, CUDNN_TYPE_DATA_TYPE, req, count, out, &b->u.matmul.comp, 1,
                        sizeof b->u.matmul.comp);
        return BAD;
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR:
        if (name == CUDNN_ATTR_POINTWISE_MODE)
            return give(got, CUDNN_TYPE_POINTWISE_MODE, req, count, out, &pw->mode, 1,
                        sizeof pw->mode);
        if (name == CUDNN_ATTR_POINTWISE_MATH_PREC)
            return give(got, CUDNN_TYPE_DATA_TYPE, req, count, out, &pw->prec, 1,
                        sizeof pw->prec);
        return BAD;
    case CUDNN_BACKEND_REDUCTION_DESCRIPTOR:
        if (name == CUDNN_ATTR_REDUCTION_OPERATOR)
            return give(got, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, req, count, out, &r->op, 1,
                        sizeof r->op);
        if (name == CUDNN_ATTR_REDUCTION_COMP_TYPE)
            return give(got, CUDNN_TYPE_DATA_TYPE, req, count, out, &r->comp, 1,
                        sizeof r->comp);
        if (name == CUDNN_ATTR_REDUCTION_IS_DETERMINISTIC)
            return give(got, CUDNN_TYPE_BOOLEAN, req, count, out, &r->deterministic, 1,
                        sizeof(bool));
        return BAD;
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR:
        if (name == CUDNN_ATTR_ENGINECFG_ENGINE)
            return give_desc(got, req, count, out, CUDNN_BACKEND_ENGINE_DESCRIPTOR,
                             &b->u.cfg.engine, sizeof b->u.cfg.engine);
        if (name == CUDNN_ATTR_ENGINECFG_KNOB_CHOICES ||
            name == CUDNN_ATTR_ENGINECFG_INTERMEDIATE_INFO)
            return give_none(got, CUDNN_TYPE_BACKEND_DESCRIPTOR, count);
        if (name == CUDNN_ATTR_ENGINECFG_WORKSPACE_SIZE ||
            name == CUDNN_ATTR_ENGINECFG_SHARED_MEMORY_USED)
            return give_int64(got, req, count, out, 0);
        return BAD;
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
        if (name == CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE)
            return give_int64(got, req, count, out, 0);
        if (name == CUDNN_ATTR_EXECUTION_PLAN_HANDLE)
            return give(got, CUDNN_TYPE_HANDLE, req, count, out, &b->u.plan.handle, 1,
                        sizeof b->u.plan.handle);
        if (name == CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG) {
            struct bk_cfg cfg = { .set = BK_BIT(CUDNN_ATTR_ENGINECFG_ENGINE),
                                  .engine = b->u.plan.engine };
            return give_desc(got, req, count, out, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfg,
                             sizeof cfg);
        }
        if (name == CUDNN_ATTR_EXECUTION_PLAN_COMPUTED_INTERMEDIATE_UIDS ||
            name == CUDNN_ATTR_EXECUTION_PLAN_RUN_ONLY_INTERMEDIATE_UIDS)
            return give_none(got, CUDNN_TYPE_INT64, count);
        return BAD;
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR:
        if (name == CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS)
            return give(got, CUDNN_TYPE_INT64, req, count, out, p->uid, p->nuid,
                        sizeof *p->uid);
        if (name == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS)
            return give(got, CUDNN_TYPE_VOID_PTR, req, count, out, p->ptr, p->nptr,
                        sizeof *p->ptr);
        if (name == CUDNN_ATTR_VARIANT_PACK_WORKSPACE)
            return give(got, CUDNN_TYPE_VOID_PTR, req, count, out, &p->workspace, 1,
                        sizeof p->workspace);
        return BAD;
    case CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR:
        if (name == CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE)
            return give(got, CUDNN_TYPE_KNOB_TYPE, req, count, out, &b->u.knob.type, 1,
                        sizeof b->u.knob.type);
        if (name == CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE)
            return give_int64(got, req, count, out, b->u.knob.value);
        return BAD;
    default: return BAD;
    }
}

EMU_API cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t const descriptor,
    cudnnBackendAttributeName_t attributeName, cudnnBackendAttributeType_t attributeType,
    int64_t requestedElementCount, int64_t *elementCount, void *arrayOfElements)
{
    const struct bk_desc *b = bk_any(descriptor);
    if (!b)
        return BAD;
    if (!b->finalized)
        return CUDNN_STATUS_NOT_INITIALIZED;
    if (requestedElementCount < 0 || (requestedElementCount > 0 && !arrayOfElements))
        return BAD;
    cudnnBackendAttributeName_t name = attributeName;
    atype got = attributeType;
    int64_t req = requestedElementCount;
    int64_t *count = elementCount;
    void *out = arrayOfElements;
    switch (b->type) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR:
        return get_tensor(&b->u.tensor, name, got, req, count, out);
    case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR:
        return get_conv(&b->u.conv, name, got, req, count, out);
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR:
        return get_op(&b->u.op, name, got, req, count, out);
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR:
        return get_graph(&b->u.graph, name, got, req, count, out);
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
        return get_heur(&b->u.heur, name, got, req, count, out);
    case CUDNN_BACKEND_ENGINE_DESCRIPTOR:
        return get_engine(&b->u.engine, name, got, req, count, out);
    default: return get_other(b, name, got, req, count, out);
    }
}
