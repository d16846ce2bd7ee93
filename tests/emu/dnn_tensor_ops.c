/* Emulated libcudnn.so.9: cudnnReduceTensor and cudnnOpTensor with their
 * descriptors.
 *
 * Compute type HALF rounds every intermediate to FP16 (a reduction's every
 * partial sum: 4096 ones sum to 2048); FLOAT keeps them in float. Reductions
 * visit the reduced elements in row-major order of A. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dnn.h"

#define REDUCE_MAGIC 0x444e5244u
#define OPTENSOR_MAGIC 0x444e4f50u

static int nan_valid(cudnnNanPropagation_t n)
{
    return n == CUDNN_NOT_PROPAGATE_NAN || n == CUDNN_PROPAGATE_NAN;
}

/* Minimum and maximum: NOT_PROPAGATE_NAN ignores a NaN operand. */
static float pick(int want_max, int propagate, float a, float b)
{
    if (isnan(a) || isnan(b))
        return propagate ? NAN : (isnan(a) ? b : a);
    return want_max ? (a > b ? a : b) : (a < b ? a : b);
}

/* ---- reduce descriptor --------------------------------------------------------- */

struct cudnnReduceTensorStruct {
    uint32_t magic;
    cudnnReduceTensorOp_t op;
    cudnnDataType_t comp;
    cudnnNanPropagation_t nan;
    cudnnReduceTensorIndices_t indices;
    cudnnIndicesType_t index_type;
};

static int reduce_desc(cudnnReduceTensorDescriptor_t d)
{
    return d && d->magic == REDUCE_MAGIC;
}

EMU_API cudnnStatus_t cudnnCreateReduceTensorDescriptor(
    cudnnReduceTensorDescriptor_t *reduceTensorDesc)
{
    if (!reduceTensorDesc)
        return CUDNN_STATUS_BAD_PARAM;
    struct cudnnReduceTensorStruct *d = calloc(1, sizeof *d);
    if (!d)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    d->magic = REDUCE_MAGIC;
    d->comp = CUDNN_DATA_FLOAT;
    *reduceTensorDesc = d;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnDestroyReduceTensorDescriptor(
    cudnnReduceTensorDescriptor_t reduceTensorDesc)
{
    if (!reduceTensorDesc)
        return CUDNN_STATUS_SUCCESS;
    if (!reduce_desc(reduceTensorDesc))
        return CUDNN_STATUS_BAD_PARAM;
    reduceTensorDesc->magic = 0;
    free(reduceTensorDesc);
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnSetReduceTensorDescriptor(cudnnReduceTensorDescriptor_t reduceTensorDesc,
    cudnnReduceTensorOp_t reduceTensorOp, cudnnDataType_t reduceTensorCompType,
    cudnnNanPropagation_t reduceTensorNanOpt, cudnnReduceTensorIndices_t reduceTensorIndices,
    cudnnIndicesType_t reduceTensorIndicesType)
{
    if (!reduce_desc(reduceTensorDesc) ||
        (unsigned)reduceTensorOp > (unsigned)CUDNN_REDUCE_TENSOR_MUL_NO_ZEROS ||
        !dnn_type_valid(reduceTensorCompType) || !nan_valid(reduceTensorNanOpt) ||
        (unsigned)reduceTensorIndices > (unsigned)CUDNN_REDUCE_TENSOR_FLATTENED_INDICES ||
        (unsigned)reduceTensorIndicesType > (unsigned)CUDNN_8BIT_INDICES)
        return CUDNN_STATUS_BAD_PARAM;
    *reduceTensorDesc = (struct cudnnReduceTensorStruct){
        REDUCE_MAGIC, reduceTensorOp, reduceTensorCompType, reduceTensorNanOpt,
        reduceTensorIndices, reduceTensorIndicesType };
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetReduceTensorDescriptor(
    const cudnnReduceTensorDescriptor_t reduceTensorDesc, cudnnReduceTensorOp_t *reduceTensorOp,
    cudnnDataType_t *reduceTensorCompType, cudnnNanPropagation_t *reduceTensorNanOpt,
    cudnnReduceTensorIndices_t *reduceTensorIndices, cudnnIndicesType_t *reduceTensorIndicesType)
{
    if (!reduce_desc(reduceTensorDesc) || !reduceTensorOp || !reduceTensorCompType ||
        !reduceTensorNanOpt || !reduceTensorIndices || !reduceTensorIndicesType)
        return CUDNN_STATUS_BAD_PARAM;
    *reduceTensorOp = reduceTensorDesc->op;
    *reduceTensorCompType = reduceTensorDesc->comp;
    *reduceTensorNanOpt = reduceTensorDesc->nan;
    *reduceTensorIndices = reduceTensorDesc->indices;
    *reduceTensorIndicesType = reduceTensorDesc->index_type;
    return CUDNN_STATUS_SUCCESS;
}

static int wants_indices(cudnnReduceTensorDescriptor_t d)
{
    return d->indices == CUDNN_REDUCE_TENSOR_FLATTENED_INDICES &&
           (d->op == CUDNN_REDUCE_TENSOR_MIN || d->op == CUDNN_REDUCE_TENSOR_MAX ||
            d->op == CUDNN_REDUCE_TENSOR_AMAX);
}

/* 32-bit indices, one per element of C, when min/max indices are asked for. */
EMU_API cudnnStatus_t cudnnGetReductionIndicesSize(cudnnHandle_t handle,
    const cudnnReduceTensorDescriptor_t reduceTensorDesc, const cudnnTensorDescriptor_t aDesc,
    const cudnnTensorDescriptor_t cDesc, size_t *sizeInBytes)
{
    if (!dnn_valid(handle) || !reduce_desc(reduceTensorDesc) || !dnn_tensor_ok(aDesc) ||
        !dnn_tensor_ok(cDesc) || !sizeInBytes)
        return CUDNN_STATUS_BAD_PARAM;
    *sizeInBytes = wants_indices(reduceTensorDesc) ? (size_t)dnn_elems(&cDesc->t) * 4 : 0;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetReductionWorkspaceSize(cudnnHandle_t handle,
    const cudnnReduceTensorDescriptor_t reduceTensorDesc, const cudnnTensorDescriptor_t aDesc,
    const cudnnTensorDescriptor_t cDesc, size_t *sizeInBytes)
{
    if (!dnn_valid(handle) || !reduce_desc(reduceTensorDesc) || !dnn_tensor_ok(aDesc) ||
        !dnn_tensor_ok(cDesc) || !sizeInBytes)
        return CUDNN_STATUS_BAD_PARAM;
    *sizeInBytes = 0;
    return CUDNN_STATUS_SUCCESS;
}

/* ---- cudnnReduceTensor ------------------------------------------------------------ */

struct reduce_op {
    struct dnn_tensor a, c;
    cudnnReduceTensorOp_t op;
    int acc16, propagate;
    float alpha, beta;
    const void *A;
    void *C;
};

/* Reduces the elements of A that land on C's element ci. */
static float reduce_one(const struct reduce_op *r, const void *A, const int64_t *ci)
{
    int h = r->acc16;
    int64_t ai[CUDNN_DIM_MAX], count = 0;
    struct dnn_tensor span = r->a; /* the reduced dims only */
    for (int i = 0; i < r->a.nd; i++) {
        ai[i] = 0;
        if (r->c.dim[i] != 1 || r->a.dim[i] == 1) {
            span.dim[i] = 1;
            ai[i] = ci[i];
        }
    }
    int mul = r->op == CUDNN_REDUCE_TENSOR_MUL || r->op == CUDNN_REDUCE_TENSOR_MUL_NO_ZEROS;
    int first = 1;
    float acc = mul ? 1.0f : 0.0f;
    int64_t si[CUDNN_DIM_MAX] = { 0 };
    do {
        int64_t idx[CUDNN_DIM_MAX];
        for (int i = 0; i < r->a.nd; i++)
            idx[i] = ai[i] + si[i];
        float v = dnn_load(A, r->a.type, dnn_offset(&r->a, idx));
        count++;
        switch (r->op) {
        case CUDNN_REDUCE_TENSOR_ADD:
        case CUDNN_REDUCE_TENSOR_AVG: acc = dnn_round(h, acc + v); break;
        case CUDNN_REDUCE_TENSOR_MUL: acc = dnn_round(h, acc * v); break;
        case CUDNN_REDUCE_TENSOR_MUL_NO_ZEROS:
            if (v != 0.0f)
                acc = dnn_round(h, acc * v);
            break;
        case CUDNN_REDUCE_TENSOR_NORM1: acc = dnn_round(h, acc + fabsf(v)); break;
        case CUDNN_REDUCE_TENSOR_NORM2: acc = dnn_round(h, acc + dnn_round(h, v * v)); break;
        case CUDNN_REDUCE_TENSOR_AMAX: v = fabsf(v); /* fall through */
        case CUDNN_REDUCE_TENSOR_MAX:
        case CUDNN_REDUCE_TENSOR_MIN:
            acc = first ? v : pick(r->op != CUDNN_REDUCE_TENSOR_MIN, r->propagate, acc, v);
            break;
        }
        first = 0;
    } while (dnn_next(&span, si, 0));
    if (r->op == CUDNN_REDUCE_TENSOR_AVG)
        acc = dnn_round(h, acc / (float)count);
    else if (r->op == CUDNN_REDUCE_TENSOR_NORM2)
        acc = dnn_round(h, sqrtf(acc));
    return acc;
}

static CUresult run_reduce(void *arg)
{
    const struct reduce_op *r = arg;
    const void *A = dnn_host("cudnnReduceTensor", "A", r->A, &r->a);
    void *C = dnn_host("cudnnReduceTensor", "C", r->C, &r->c);
    if (!A || !C)
        return CUDA_ERROR_ILLEGAL_ADDRESS;
    if (emu_null_compute())
        return CUDA_SUCCESS;
    int64_t ci[CUDNN_DIM_MAX] = { 0 };
    do {
        float acc = reduce_one(r, A, ci);
        dnn_blend(C, r->c.type, dnn_offset(&r->c, ci), r->acc16, r->alpha, r->beta, acc);
    } while (dnn_next(&r->c, ci, 0));
    return CUDA_SUCCESS;
}

/* C = alpha * reduce(A) + beta * C. Each dim of C is that of A or 1 (reduced).
 * FP16 computation needs FP16 tensors; mixed tensor types compute in float.
 * Min/max indices are not emulated (NOT_SUPPORTED). */
EMU_API cudnnStatus_t cudnnReduceTensor(cudnnHandle_t handle,
    const cudnnReduceTensorDescriptor_t reduceTensorDesc, void *indices,
    size_t indicesSizeInBytes, void *workspace, size_t workspaceSizeInBytes, const void *alpha,
    const cudnnTensorDescriptor_t aDesc, const void *A, const void *beta,
    const cudnnTensorDescriptor_t cDesc, void *C)
{
    (void)indices, (void)indicesSizeInBytes, (void)workspace, (void)workspaceSizeInBytes;
    if (!dnn_valid(handle) || !reduce_desc(reduceTensorDesc) || !dnn_tensor_ok(aDesc) ||
        !dnn_tensor_ok(cDesc) || !alpha || !beta || !A || !C)
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *a = &aDesc->t, *c = &cDesc->t;
    if (a->nd != c->nd)
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < a->nd; i++)
        if (c->dim[i] != a->dim[i] && c->dim[i] != 1)
            return CUDNN_STATUS_BAD_PARAM;
    cudnnDataType_t comp = reduceTensorDesc->comp;
    if (!dnn_type_computable(a->type) || !dnn_type_computable(c->type) ||
        (comp != CUDNN_DATA_FLOAT && comp != CUDNN_DATA_HALF) ||
        (comp == CUDNN_DATA_HALF && (a->type != CUDNN_DATA_HALF || c->type != CUDNN_DATA_HALF)) ||
        wants_indices(reduceTensorDesc))
        return CUDNN_STATUS_NOT_SUPPORTED;
    struct reduce_op r = { .a = *a, .c = *c, .op = reduceTensorDesc->op,
                           .acc16 = comp == CUDNN_DATA_HALF,
                           .propagate = reduceTensorDesc->nan == CUDNN_PROPAGATE_NAN,
                           .alpha = *(const float *)alpha, .beta = *(const float *)beta,
                           .A = A, .C = C };
    if (emu_trace()) {
        char ba[96], bc[96];
        fprintf(stderr, "emu: cudnnReduceTensor op=%d A=%s C=%s data=%s compute=%s\n",
                (int)r.op, dnn_dims(a, ba, sizeof ba), dnn_dims(c, bc, sizeof bc),
                dnn_type_name(a->type), dnn_type_name(comp));
    }
    return dnn_launch(handle, run_reduce, &r, sizeof r);
}

/* ---- op tensor descriptor ---------------------------------------------------------- */

struct cudnnOpTensorStruct {
    uint32_t magic;
    cudnnOpTensorOp_t op;
    cudnnDataType_t comp;
    cudnnNanPropagation_t nan;
};

static int optensor_desc(cudnnOpTensorDescriptor_t d)
{
    return d && d->magic == OPTENSOR_MAGIC;
}

EMU_API cudnnStatus_t cudnnCreateOpTensorDescriptor(cudnnOpTensorDescriptor_t *opTensorDesc)
{
    if (!opTensorDesc)
        return CUDNN_STATUS_BAD_PARAM;
    struct cudnnOpTensorStruct *d = calloc(1, sizeof *d);
    if (!d)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    d->magic = OPTENSOR_MAGIC;
    d->comp = CUDNN_DATA_FLOAT;
    *opTensorDesc = d;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnDestroyOpTensorDescriptor(cudnnOpTensorDescriptor_t opTensorDesc)
{
    if (!opTensorDesc)
        return CUDNN_STATUS_SUCCESS;
    if (!optensor_desc(opTensorDesc))
        return CUDNN_STATUS_BAD_PARAM;
    opTensorDesc->magic = 0;
    free(opTensorDesc);
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnSetOpTensorDescriptor(cudnnOpTensorDescriptor_t opTensorDesc,
    cudnnOpTensorOp_t opTensorOp, cudnnDataType_t opTensorCompType,
    cudnnNanPropagation_t opTensorNanOpt)
{
    if (!optensor_desc(opTensorDesc) || (unsigned)opTensorOp > (unsigned)CUDNN_OP_TENSOR_NOT ||
        !dnn_type_valid(opTensorCompType) || !nan_valid(opTensorNanOpt))
        return CUDNN_STATUS_BAD_PARAM;
    opTensorDesc->op = opTensorOp;
    opTensorDesc->comp = opTensorCompType;
    opTensorDesc->nan = opTensorNanOpt;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetOpTensorDescriptor(const cudnnOpTensorDescriptor_t opTensorDesc,
    cudnnOpTensorOp_t *opTensorOp, cudnnDataType_t *opTensorCompType,
    cudnnNanPropagation_t *opTensorNanOpt)
{
    if (!optensor_desc(opTensorDesc) || !opTensorOp || !opTensorCompType || !opTensorNanOpt)
        return CUDNN_STATUS_BAD_PARAM;
    *opTensorOp = opTensorDesc->op;
    *opTensorCompType = opTensorDesc->comp;
    *opTensorNanOpt = opTensorDesc->nan;
    return CUDNN_STATUS_SUCCESS;
}

/* ---- cudnnOpTensor ----------------------------------------------------------------- */

struct optensor_op {
    struct dnn_tensor a, b, c;
    cudnnOpTensorOp_t op;
    int acc16, propagate, unary;
    float alpha1, alpha2, beta;
    const void *A, *B;
    void *C;
};

static float apply(const struct optensor_op *o, float a, float b)
{
    switch (o->op) {
    case CUDNN_OP_TENSOR_ADD: return a + b;
    case CUDNN_OP_TENSOR_MUL: return a * b;
    case CUDNN_OP_TENSOR_MIN: return pick(0, o->propagate, a, b);
    case CUDNN_OP_TENSOR_MAX: return pick(1, o->propagate, a, b);
    case CUDNN_OP_TENSOR_SQRT: return sqrtf(a);
    default: return 1.0f - a; /* NOT: the complement of a 0/1 mask */
    }
}

static CUresult run_optensor(void *arg)
{
    const struct optensor_op *o = arg;
    const void *A = dnn_host("cudnnOpTensor", "A", o->A, &o->a);
    const void *B = o->unary ? NULL : dnn_host("cudnnOpTensor", "B", o->B, &o->b);
    void *C = dnn_host("cudnnOpTensor", "C", o->C, &o->c);
    if (!A || (!o->unary && !B) || !C)
        return CUDA_ERROR_ILLEGAL_ADDRESS;
    if (emu_null_compute())
        return CUDA_SUCCESS;
    int h = o->acc16;
    int64_t ci[CUDNN_DIM_MAX] = { 0 };
    do {
        float a = dnn_round(h, o->alpha1 * dnn_load(A, o->a.type, dnn_offset(&o->a, ci)));
        float b = 0.0f;
        if (!o->unary) {
            int64_t bi[CUDNN_DIM_MAX];
            for (int i = 0; i < o->c.nd; i++)
                bi[i] = o->b.dim[i] == 1 ? 0 : ci[i];
            b = dnn_round(h, o->alpha2 * dnn_load(B, o->b.type, dnn_offset(&o->b, bi)));
        }
        dnn_blend(C, o->c.type, dnn_offset(&o->c, ci), h, 1.0f, o->beta,
                  dnn_round(h, apply(o, a, b)));
    } while (dnn_next(&o->c, ci, 0));
    return CUDA_SUCCESS;
}

/* The type combinations cuDNN lists: FLOAT computation on float, half or
 * bfloat16 inputs (A and B alike) into any of the three; HALF computation
 * on half tensors only. */
static int optensor_types_ok(cudnnDataType_t comp, cudnnDataType_t a, cudnnDataType_t b,
                             cudnnDataType_t c)
{
    if (comp == CUDNN_DATA_HALF)
        return a == CUDNN_DATA_HALF && b == CUDNN_DATA_HALF && c == CUDNN_DATA_HALF;
    return comp == CUDNN_DATA_FLOAT && a == b && dnn_type_computable(a) &&
           dnn_type_computable(c);
}

/* C = op(alpha1 * A, alpha2 * B) + beta * C; A has C's dims, B has C's or 1
 * (broadcast) in each. SQRT and NOT ignore B. */
EMU_API cudnnStatus_t cudnnOpTensor(cudnnHandle_t handle,
    const cudnnOpTensorDescriptor_t opTensorDesc, const void *alpha1,
    const cudnnTensorDescriptor_t aDesc, const void *A, const void *alpha2,
    const cudnnTensorDescriptor_t bDesc, const void *B, const void *beta,
    const cudnnTensorDescriptor_t cDesc, void *C)
{
    if (!dnn_valid(handle) || !optensor_desc(opTensorDesc) || !dnn_tensor_ok(aDesc) ||
        !dnn_tensor_ok(cDesc) || !alpha1 || !beta || !A || !C)
        return CUDNN_STATUS_BAD_PARAM;
    int unary = opTensorDesc->op == CUDNN_OP_TENSOR_SQRT || opTensorDesc->op == CUDNN_OP_TENSOR_NOT;
    if (!unary && (!dnn_tensor_ok(bDesc) || !alpha2 || !B))
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *a = &aDesc->t, *c = &cDesc->t;
    const struct dnn_tensor *b = unary ? a : &bDesc->t;
    if (a->nd != c->nd || b->nd != c->nd)
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < c->nd; i++)
        if (a->dim[i] != c->dim[i] || (b->dim[i] != c->dim[i] && b->dim[i] != 1))
            return CUDNN_STATUS_BAD_PARAM;
    if (!optensor_types_ok(opTensorDesc->comp, a->type, b->type, c->type))
        return CUDNN_STATUS_BAD_PARAM;
    struct optensor_op o = { .a = *a, .b = *b, .c = *c, .op = opTensorDesc->op,
                             .acc16 = opTensorDesc->comp == CUDNN_DATA_HALF,
                             .propagate = opTensorDesc->nan == CUDNN_PROPAGATE_NAN,
                             .unary = unary, .alpha1 = *(const float *)alpha1,
                             .alpha2 = unary ? 0.0f : *(const float *)alpha2,
                             .beta = *(const float *)beta, .A = A, .B = B, .C = C };
    if (emu_trace()) {
        char ba[96], bb[96];
        fprintf(stderr, "emu: cudnnOpTensor op=%d A=%s B=%s data=%s compute=%s\n", (int)o.op,
                dnn_dims(a, ba, sizeof ba), dnn_dims(b, bb, sizeof bb),
                dnn_type_name(a->type), dnn_type_name(opTensorDesc->comp));
    }
    return dnn_launch(handle, run_optensor, &o, sizeof o);
}
