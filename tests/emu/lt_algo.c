/* Emulated libcublasLt.so.13: what an operation means (types, shapes,
 * numerics), the heuristic that picks its algorithm, and the algorithm
 * objects themselves.
 *
 * An emulated algorithm is only the choice that changes numbers: whether
 * k is split into chunks accumulated apart, and how the chunks' partial
 * sums are joined (the reduction scheme). The heuristic is deterministic so
 * that tests can predict it; see lt_heuristic. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt.h"

/* ---- numerics --------------------------------------------------------------- */

static int is_16f_compute(int c)
{
    return c == CUBLAS_COMPUTE_16F || c == CUBLAS_COMPUTE_16F_PEDANTIC;
}

/* The combinations of the cuBLASLt type table the emulator implements; C
 * and D share a type, as the table requires outside FP8. */
cublasStatus_t lt_numerics(int compute, int scale, cudaDataType a, cudaDataType b,
                           cudaDataType c, cudaDataType d, enum emu_acc *acc,
                           enum emu_down *down)
{
    if (a != b || c != d)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    *down = EMU_DOWN_NONE;
    switch (compute) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC:
        if (a != CUDA_R_16F || c != CUDA_R_16F || scale != CUDA_R_16F)
            return CUBLAS_STATUS_NOT_SUPPORTED;
        *acc = EMU_ACC_16F;
        return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
        if (scale != CUDA_R_32F)
            return CUBLAS_STATUS_NOT_SUPPORTED;
        if (!(((a == CUDA_R_16F || a == CUDA_R_16BF) && (c == a || c == CUDA_R_32F)) ||
              (a == CUDA_R_32F && c == CUDA_R_32F)))
            return CUBLAS_STATUS_NOT_SUPPORTED;
        *acc = EMU_ACC_32F;
        /* Down-conversion only ever applies to FP32 inputs. */
        if (a == CUDA_R_32F) {
            if (compute == CUBLAS_COMPUTE_32F_FAST_16F)
                *down = EMU_DOWN_16F;
            else if (compute == CUBLAS_COMPUTE_32F_FAST_16BF)
                *down = EMU_DOWN_16BF;
            else if (compute == CUBLAS_COMPUTE_32F_FAST_TF32)
                *down = EMU_DOWN_TF32;
        }
        return CUBLAS_STATUS_SUCCESS;
    default:
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

/* ---- the problem ------------------------------------------------------------------ */

static cublasStatus_t mat_make(cublasLtMatrixLayout_t layout, struct lt_mat *m, int32_t *batch)
{
    struct lt_layout l;
    if (!lt_layout_load(layout, &l))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (l.rows > INT32_MAX || l.cols > INT32_MAX)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    *m = (struct lt_mat){ .rows = (int64_t)l.rows, .cols = (int64_t)l.cols, .ld = l.ld,
                          .stride = l.stride, .row_major = l.order == CUBLASLT_ORDER_ROW,
                          .pointer_array = l.batch_mode == CUBLASLT_BATCH_MODE_POINTER_ARRAY,
                          .type = (cudaDataType)l.type };
    /* The leading dimension strides columns (COL) or rows (ROW), and may not
     * let them overlap. */
    int64_t line = m->row_major ? m->cols : m->rows;
    if (m->ld < (line > 1 ? line : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    *batch = l.batch;
    return CUBLAS_STATUS_SUCCESS;
}

/* The epilogues the emulator implements. The ReLU bit-mask ones (RELU_AUX,
 * RELU_AUX_BIAS, DRELU, DRELU_BGRAD) are not among them. */
struct epilogue {
    uint32_t id;
    enum lt_act act;
    enum lt_bias bias;
    enum lt_aux aux;
};

static const struct epilogue epilogues[] = {
    { CUBLASLT_EPILOGUE_DEFAULT, LT_ACT_NONE, LT_BIAS_NONE, LT_AUX_NONE },
    { CUBLASLT_EPILOGUE_RELU, LT_ACT_RELU, LT_BIAS_NONE, LT_AUX_NONE },
    { CUBLASLT_EPILOGUE_BIAS, LT_ACT_NONE, LT_BIAS_IN, LT_AUX_NONE },
    { CUBLASLT_EPILOGUE_RELU_BIAS, LT_ACT_RELU, LT_BIAS_IN, LT_AUX_NONE },
    { CUBLASLT_EPILOGUE_GELU, LT_ACT_GELU, LT_BIAS_NONE, LT_AUX_NONE },
    { CUBLASLT_EPILOGUE_GELU_BIAS, LT_ACT_GELU, LT_BIAS_IN, LT_AUX_NONE },
    { CUBLASLT_EPILOGUE_GELU_AUX, LT_ACT_GELU, LT_BIAS_NONE, LT_AUX_OUT },
    { CUBLASLT_EPILOGUE_GELU_AUX_BIAS, LT_ACT_GELU, LT_BIAS_IN, LT_AUX_OUT },
    { CUBLASLT_EPILOGUE_DGELU, LT_ACT_DGELU, LT_BIAS_NONE, LT_AUX_IN },
    { CUBLASLT_EPILOGUE_DGELU_BGRAD, LT_ACT_DGELU, LT_BGRAD_D, LT_AUX_IN },
    { CUBLASLT_EPILOGUE_BGRADA, LT_ACT_NONE, LT_BGRAD_A, LT_AUX_NONE },
    { CUBLASLT_EPILOGUE_BGRADB, LT_ACT_NONE, LT_BGRAD_B, LT_AUX_NONE },
};

static const struct epilogue *epilogue_find(uint32_t id)
{
    for (size_t i = 0; i < sizeof epilogues / sizeof epilogues[0]; i++)
        if (epilogues[i].id == id)
            return &epilogues[i];
    return NULL;
}

/* Bias, bias-gradient and GELU-input elements the emulator reads and writes. */
static int float_vector_type(cudaDataType t)
{
    return t == CUDA_R_16F || t == CUDA_R_16BF || t == CUDA_R_32F;
}

cublasStatus_t lt_problem_make(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t A,
                               cublasLtMatrixLayout_t B, cublasLtMatrixLayout_t C,
                               cublasLtMatrixLayout_t D, struct lt_problem *p)
{
    struct lt_desc d;
    if (!lt_desc_load(desc, &d))
        return CUBLAS_STATUS_INVALID_VALUE;
    int32_t ba, bb, bc, bd;
    cublasStatus_t st;
    if ((st = mat_make(A, &p->a, &ba)) || (st = mat_make(B, &p->b, &bb)) ||
        (st = mat_make(C, &p->c, &bc)) || (st = mat_make(D, &p->d, &bd)))
        return st;

    p->trans_a = d.trans_a != CUBLAS_OP_N;
    p->trans_b = d.trans_b != CUBLAS_OP_N;
    p->m = p->d.rows;
    p->n = p->d.cols;
    p->k = p->trans_a ? p->a.rows : p->a.cols;
    p->batch = bd;
    /* Out of place, C and D may differ in leading dimension and stride
     * only (cublasLtMatmul's documented rule). */
    if ((p->trans_a ? p->a.cols : p->a.rows) != p->m ||
        (p->trans_b ? p->b.cols : p->b.rows) != p->k ||
        (p->trans_b ? p->b.rows : p->b.cols) != p->n || p->c.rows != p->m ||
        p->c.cols != p->n || ba != bd || bb != bd || bc != bd ||
        p->c.row_major != p->d.row_major)
        return CUBLAS_STATUS_INVALID_VALUE;

    p->compute = d.compute;
    p->scale_type = d.scale;
    if ((st = lt_numerics(d.compute, d.scale, p->a.type, p->b.type, p->c.type, p->d.type,
                          &p->acc, &p->down)))
        return st;
    if (d.pointer_mode != CUBLASLT_POINTER_MODE_HOST &&
        d.pointer_mode != CUBLASLT_POINTER_MODE_DEVICE)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    p->pointer_mode = d.pointer_mode;
    const struct epilogue *e = epilogue_find(d.epilogue);
    if (!e)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    p->epilogue = d.epilogue;
    p->act = e->act;
    p->bias_use = e->bias;
    p->aux_use = e->aux;
    p->bias = d.bias;
    p->bias_stride = d.bias_stride;
    p->bias_type = d.bias_type == -1 ? p->d.type : (cudaDataType)d.bias_type;
    if (p->bias_use != LT_BIAS_NONE && !float_vector_type(p->bias_type))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    p->aux = d.aux;
    p->aux_ld = d.aux_ld;
    p->aux_stride = d.aux_stride;
    p->aux_type = d.aux_type == -1 ? p->d.type : (cudaDataType)d.aux_type;
    /* The header's status for an AUX_DATA_TYPE the kernels refuse. */
    if (p->aux_use != LT_AUX_NONE && !float_vector_type(p->aux_type))
        return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- the heuristic -------------------------------------------------------------- */

/* The emulated heuristic. The shim's tests rely on this rule, so change it
 * only together with them.
 *
 * It imitates what makes real cuBLASLt results differ in precision: for a
 * long k and a 16-bit output, the fastest kernels split k and reduce the
 * partial sums in reduced precision. Split applies when
 *   - D is 16-bit (CUDA_R_16F or CUDA_R_16BF),
 *   - the compute type is neither 16F (either form) nor 32F_PEDANTIC,
 *   - k >= 4096,
 *   - and the preference's reduction-scheme mask allows a scheme.
 * Then the first result splits k into 4 chunks (sizes differing by at most
 * one, the longer first) joined by the most reduced scheme the mask allows,
 * in this order:
 *   OUTPUT_TYPE (4): each partial rounded to the D type, summed in it;
 *   INPLACE (1): the same numbers (partials meet in the output buffer);
 *   COMPUTE_TYPE (2): FP32 partials summed in FP32, rounded once at the end.
 * The second result, when two are requested, is the unsplit algorithm.
 * Otherwise there is one result, unsplit. Every result needs no workspace
 * (so any MAX_WORKSPACE_BYTES admits it), has state CUBLAS_STATUS_SUCCESS
 * and wavesCount 1.0, and assumes A, B, C and D aligned as the
 * preference's MIN_ALIGNMENT_*_BYTES say (default 256): the most a real
 * heuristic may assume. */
int lt_heuristic(const struct lt_problem *p, const struct lt_pref *pref, struct lt_algo out[2])
{
    const struct lt_algo plain = { .magic = LT_ALGO_MAGIC, .id = 0, .splitk = 1,
                                   .scheme = CUBLASLT_REDUCTION_SCHEME_NONE,
                                   .align = { pref->align_a, pref->align_b, pref->align_c,
                                              pref->align_d } };
    uint32_t mask = pref->reduction_mask;
    int split = (p->d.type == CUDA_R_16F || p->d.type == CUDA_R_16BF) &&
                !is_16f_compute(p->compute) && p->compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
                p->k >= 4096 && (mask & CUBLASLT_REDUCTION_SCHEME_MASK);
    if (!split) {
        out[0] = plain;
        return 1;
    }
    uint32_t scheme = (mask & CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE)
                          ? CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE
                      : (mask & CUBLASLT_REDUCTION_SCHEME_INPLACE)
                          ? CUBLASLT_REDUCTION_SCHEME_INPLACE
                          : CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    out[0] = plain;
    out[0].splitk = 4;
    out[0].scheme = scheme;
    out[1] = plain;
    return 2;
}

static int valid_scheme(uint32_t s)
{
    return s == CUBLASLT_REDUCTION_SCHEME_NONE || s == CUBLASLT_REDUCTION_SCHEME_INPLACE ||
           s == CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE ||
           s == CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE;
}

/* The largest power of two, up to 256, that divides the address. */
uint32_t lt_alignment(const void *ptr)
{
    uintptr_t a = (uintptr_t)ptr | 256;
    return (uint32_t)(a & -a);
}

/* A split needs a reduction scheme, and FP16 accumulation or a pedantic
 * compute type has no split kernels. An algorithm whose kernels assume
 * more alignment than a matrix has is refused (the status this emulation
 * gives; NVIDIA documents that such algorithms are excluded by the
 * preference's MIN_ALIGNMENT_*_BYTES, not what a matmul with one returns). */
cublasStatus_t lt_algo_fits(const struct lt_problem *p, const struct lt_algo *algo,
                            const void *const ptr[4])
{
    if (algo->splitk < 1 || !valid_scheme(algo->scheme))
        return CUBLAS_STATUS_INVALID_VALUE;
    for (int i = 0; i < 4; i++)
        if (ptr[i] && lt_alignment(ptr[i]) < algo->align[i])
            return CUBLAS_STATUS_NOT_SUPPORTED;
    if (algo->splitk == 1)
        return CUBLAS_STATUS_SUCCESS;
    if (algo->scheme == CUBLASLT_REDUCTION_SCHEME_NONE)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (is_16f_compute(p->compute) || p->compute == CUBLAS_COMPUTE_32F_PEDANTIC)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    return CUBLAS_STATUS_SUCCESS;
}

static atomic_ulong heuristic_calls;

/* EMU_STATS=path: at exit, append "lt_heuristics=N" (heuristic queries of
 * the whole run, the program's and the shim's), so a test can tell how
 * often the shim asked again. */
__attribute__((destructor)) static void write_stats(void)
{
    const char *path = getenv("EMU_STATS");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "lt_heuristics=%lu\n", atomic_load(&heuristic_calls));
        fclose(f);
    }
}

EMU_API cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle,
    cublasLtMatmulDesc_t operationDesc, cublasLtMatrixLayout_t Adesc,
    cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc,
    cublasLtMatmulPreference_t preference, int requestedAlgoCount,
    cublasLtMatmulHeuristicResult_t heuristicResultsArray[], int *returnAlgoCount)
{
    atomic_fetch_add(&heuristic_calls, 1);
    if (!lt_handle_valid(lightHandle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (requestedAlgoCount <= 0 || !heuristicResultsArray || !returnAlgoCount)
        return CUBLAS_STATUS_INVALID_VALUE;
    *returnAlgoCount = 0;
    /* No preference reads as the defaults. */
    struct lt_pref pref;
    if (!preference)
        lt_pref_defaults(&pref);
    else if (!lt_pref_load(preference, &pref))
        return CUBLAS_STATUS_INVALID_VALUE;
    struct lt_problem p;
    cublasStatus_t st = lt_problem_make(operationDesc, Adesc, Bdesc, Cdesc, Ddesc, &p);
    if (st)
        return st;
    struct lt_algo algos[2];
    int n = lt_heuristic(&p, &pref, algos);
    if (n > requestedAlgoCount)
        n = requestedAlgoCount;
    for (int i = 0; i < n; i++) {
        cublasLtMatmulHeuristicResult_t *r = &heuristicResultsArray[i];
        memset(r, 0, sizeof *r);
        memcpy(&r->algo, &algos[i], sizeof algos[i]);
        r->workspaceSize = 0;
        r->state = CUBLAS_STATUS_SUCCESS;
        r->wavesCount = 1.0f;
    }
    *returnAlgoCount = n;
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- algorithm objects ------------------------------------------------------------ */

int lt_algo_load(const cublasLtMatmulAlgo_t *p, struct lt_algo *out)
{
    if (!p)
        return 0;
    memcpy(out, p, sizeof *out);
    return out->magic == LT_ALGO_MAGIC;
}

/* One algorithm id, 0, covers every supported type combination; its
 * split is configured through CUBLASLT_ALGO_CONFIG_SPLITK_NUM. */
EMU_API cublasStatus_t cublasLtMatmulAlgoGetIds(cublasLtHandle_t lightHandle,
    cublasComputeType_t computeType, cudaDataType_t scaleType, cudaDataType_t Atype,
    cudaDataType_t Btype, cudaDataType_t Ctype, cudaDataType_t Dtype, int requestedAlgoCount,
    int algoIdsArray[], int *returnAlgoCount)
{
    if (!lt_handle_valid(lightHandle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (requestedAlgoCount <= 0 || !algoIdsArray || !returnAlgoCount)
        return CUBLAS_STATUS_INVALID_VALUE;
    enum emu_acc acc;
    enum emu_down down;
    *returnAlgoCount = 0;
    if (lt_numerics(computeType, scaleType, Atype, Btype, Ctype, Dtype, &acc, &down))
        return CUBLAS_STATUS_SUCCESS;
    algoIdsArray[0] = 0;
    *returnAlgoCount = 1;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatmulAlgoInit(cublasLtHandle_t lightHandle,
    cublasComputeType_t computeType, cudaDataType_t scaleType, cudaDataType_t Atype,
    cudaDataType_t Btype, cudaDataType_t Ctype, cudaDataType_t Dtype, int algoId,
    cublasLtMatmulAlgo_t *algo)
{
    if (!lt_handle_valid(lightHandle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!algo || algoId != 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    enum emu_acc acc;
    enum emu_down down;
    if (lt_numerics(computeType, scaleType, Atype, Btype, Ctype, Dtype, &acc, &down))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    struct lt_algo a = { .magic = LT_ALGO_MAGIC, .id = 0, .splitk = 1,
                         .scheme = CUBLASLT_REDUCTION_SCHEME_NONE };
    memset(algo, 0, sizeof *algo);
    memcpy(algo, &a, sizeof a);
    return CUBLAS_STATUS_SUCCESS;
}

static const struct lt_attr algo_attrs[] = {
    LT_ATTR(CUBLASLT_ALGO_CONFIG_ID, struct lt_algo, id),
    LT_ATTR(CUBLASLT_ALGO_CONFIG_SPLITK_NUM, struct lt_algo, splitk),
    LT_ATTR(CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, struct lt_algo, scheme),
};

static cublasStatus_t algo_check(int id, const void *buf)
{
    int32_t v;
    memcpy(&v, buf, sizeof v);
    switch (id) {
    case CUBLASLT_ALGO_CONFIG_ID: return CUBLAS_STATUS_INVALID_VALUE; /* read-only */
    case CUBLASLT_ALGO_CONFIG_SPLITK_NUM:
        return v >= 1 ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    default:
        return valid_scheme((uint32_t)v) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    }
}

EMU_API cublasStatus_t cublasLtMatmulAlgoConfigSetAttribute(cublasLtMatmulAlgo_t *algo,
    cublasLtMatmulAlgoConfigAttributes_t attr, const void *buf, size_t sizeInBytes)
{
    struct lt_algo a;
    if (!lt_algo_load(algo, &a))
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t st = lt_attr_set("cublasLtMatmulAlgoConfigSetAttribute", algo_attrs,
                                    sizeof algo_attrs / sizeof algo_attrs[0], &a, attr, buf,
                                    sizeInBytes, algo_check);
    if (st == CUBLAS_STATUS_SUCCESS)
        memcpy(algo, &a, sizeof a);
    return st;
}

EMU_API cublasStatus_t cublasLtMatmulAlgoConfigGetAttribute(const cublasLtMatmulAlgo_t *algo,
    cublasLtMatmulAlgoConfigAttributes_t attr, void *buf, size_t sizeInBytes,
    size_t *sizeWritten)
{
    struct lt_algo a;
    if (!lt_algo_load(algo, &a))
        return CUBLAS_STATUS_INVALID_VALUE;
    return lt_attr_get("cublasLtMatmulAlgoConfigGetAttribute", algo_attrs,
                       sizeof algo_attrs / sizeof algo_attrs[0], &a, attr, buf, sizeInBytes,
                       sizeWritten);
}
