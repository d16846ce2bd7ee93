/* Emulated libcublasLt.so.13: handles, library information and the
 * descriptor objects (matmul, matrix layout, preference) with their
 * attributes. The heuristic is in lt_algo.c, cublasLtMatmul in lt_matmul.c.
 *
 * Every prototype is NVIDIA's, from <cublasLt.h>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "blas_status.h"
#include "blas.h"
#include "lt.h"

/* ---- handles and library information ------------------------------------ */

int lt_handle_valid(cublasLtHandle_t h)
{
    if (!h)
        return 0;
    uint32_t magic;
    memcpy(&magic, h, sizeof magic);
    return magic == LT_HANDLE_MAGIC || magic == HANDLE_MAGIC;
}

EMU_API cublasStatus_t cublasLtCreate(cublasLtHandle_t *lightHandle)
{
    int dev;
    if (!lightHandle)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (cudaGetDevice(&dev) != cudaSuccess)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    struct cublasLtContext *h = calloc(1, sizeof *h);
    if (!h)
        return CUBLAS_STATUS_ALLOC_FAILED;
    h->magic = LT_HANDLE_MAGIC;
    *lightHandle = h;
    return CUBLAS_STATUS_SUCCESS;
}

/* cuBLASLt documents that releasing a handle calls cudaDeviceSynchronize().
 * A cuBLAS handle cast to this type belongs to cublasDestroy. */
EMU_API cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle)
{
    uint32_t magic = 0;
    if (lightHandle)
        memcpy(&magic, lightHandle, sizeof magic);
    if (magic != LT_HANDLE_MAGIC)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    cudaDeviceSynchronize();
    lightHandle->magic = 0;
    free(lightHandle);
    return CUBLAS_STATUS_SUCCESS;
}

/* cuBLASLt ships with cuBLAS and reports the same version. */
EMU_API size_t cublasLtGetVersion(void)
{
    return CUBLAS_VERSION;
}

EMU_API size_t cublasLtGetCudartVersion(void)
{
    return CUDART_VERSION;
}

EMU_API cublasStatus_t cublasLtGetProperty(libraryPropertyType type, int *value)
{
    return emu_blas_property(type, value);
}

EMU_API const char *cublasLtGetStatusName(cublasStatus_t status)
{
    return emu_blas_status_name(status);
}

EMU_API const char *cublasLtGetStatusString(cublasStatus_t status)
{
    return emu_blas_status_string(status);
}

/* ---- attributes ------------------------------------------------------------ */

static const struct lt_attr *attr_find(const char *api, const struct lt_attr *table, size_t n,
                                       int id)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].id == id)
            return &table[i];
    /* Said aloud: a program that needs one of these has found a gap in the
     * emulator, not an error of its own. */
    fprintf(stderr, "emu: %s: attribute %d is not emulated\n", api, id);
    return NULL;
}

cublasStatus_t lt_attr_set(const char *api, const struct lt_attr *table, size_t n, void *obj,
                           int id, const void *buf, size_t size, lt_attr_check check)
{
    const struct lt_attr *a = attr_find(api, table, n, id);
    if (!a)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (!buf || size != a->size)
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t st = check ? check(id, buf) : CUBLAS_STATUS_SUCCESS;
    if (st == CUBLAS_STATUS_SUCCESS)
        memcpy((char *)obj + a->offset, buf, a->size);
    return st;
}

/* sizeInBytes 0 asks for the size (sizeWritten is then required); any
 * other size must be the attribute's own. */
cublasStatus_t lt_attr_get(const char *api, const struct lt_attr *table, size_t n,
                           const void *obj, int id, void *buf, size_t size, size_t *written)
{
    const struct lt_attr *a = attr_find(api, table, n, id);
    if (!a)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (size == 0) {
        if (!written)
            return CUBLAS_STATUS_INVALID_VALUE;
        *written = a->size;
        return CUBLAS_STATUS_SUCCESS;
    }
    if (!buf || size != a->size)
        return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(buf, (const char *)obj + a->offset, a->size);
    if (written)
        *written = a->size;
    return CUBLAS_STATUS_SUCCESS;
}

static int32_t i32(const void *buf)
{
    int32_t v;
    memcpy(&v, buf, sizeof v);
    return v;
}

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* ---- matmul descriptor ------------------------------------------------------- */

int lt_desc_load(cublasLtMatmulDesc_t p, struct lt_desc *out)
{
    if (!p)
        return 0;
    memcpy(out, p, sizeof *out);
    return out->magic == LT_DESC_MAGIC;
}

static const struct lt_attr desc_attrs[] = {
    LT_ATTR(CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, struct lt_desc, compute),
    LT_ATTR(CUBLASLT_MATMUL_DESC_SCALE_TYPE, struct lt_desc, scale),
    LT_ATTR(CUBLASLT_MATMUL_DESC_POINTER_MODE, struct lt_desc, pointer_mode),
    LT_ATTR(CUBLASLT_MATMUL_DESC_TRANSA, struct lt_desc, trans_a),
    LT_ATTR(CUBLASLT_MATMUL_DESC_TRANSB, struct lt_desc, trans_b),
    LT_ATTR(CUBLASLT_MATMUL_DESC_EPILOGUE, struct lt_desc, epilogue),
    LT_ATTR(CUBLASLT_MATMUL_DESC_BIAS_POINTER, struct lt_desc, bias),
    LT_ATTR(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, struct lt_desc, bias_type),
    LT_ATTR(CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, struct lt_desc, bias_stride),
    LT_ATTR(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, struct lt_desc, aux),
    LT_ATTR(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, struct lt_desc, aux_ld),
    LT_ATTR(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, struct lt_desc, aux_stride),
    LT_ATTR(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, struct lt_desc, aux_type),
};

/* Enumerations are checked when set; combinations (an epilogue the
 * emulator lacks, a scale type a compute type refuses) at the matmul, as
 * the real library reports them there. */
static cublasStatus_t desc_check(int id, const void *buf)
{
    int32_t v = i32(buf);
    switch (id) {
    case CUBLASLT_MATMUL_DESC_TRANSA:
    case CUBLASLT_MATMUL_DESC_TRANSB:
        return v == CUBLAS_OP_N || v == CUBLAS_OP_T || v == CUBLAS_OP_C
                   ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    case CUBLASLT_MATMUL_DESC_POINTER_MODE:
        return v >= CUBLASLT_POINTER_MODE_HOST &&
                       v <= CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST
                   ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    default:
        return CUBLAS_STATUS_SUCCESS;
    }
}

EMU_API cublasStatus_t cublasLtMatmulDescInit_internal(cublasLtMatmulDesc_t matmulDesc,
    size_t size, cublasComputeType_t computeType, cudaDataType_t scaleType)
{
    if (!matmulDesc)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (size < sizeof(struct lt_desc))
        return CUBLAS_STATUS_ALLOC_FAILED;
    struct lt_desc d = { .magic = LT_DESC_MAGIC, .compute = computeType, .scale = scaleType,
                         .pointer_mode = CUBLASLT_POINTER_MODE_HOST, .trans_a = CUBLAS_OP_N,
                         .trans_b = CUBLAS_OP_N, .epilogue = CUBLASLT_EPILOGUE_DEFAULT,
                         .bias_type = -1, .aux_type = -1 };
    memcpy(matmulDesc, &d, sizeof d);
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *matmulDesc,
    cublasComputeType_t computeType, cudaDataType_t scaleType)
{
    if (!matmulDesc)
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasLtMatmulDesc_t d = malloc(sizeof *d);
    if (!d)
        return CUBLAS_STATUS_ALLOC_FAILED;
    cublasLtMatmulDescInit_internal(d, sizeof *d, computeType, scaleType);
    *matmulDesc = d;
    return CUBLAS_STATUS_SUCCESS;
}

/* The magic is wiped so that a stale copy of the pointer reads as garbage. */
EMU_API cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc)
{
    if (matmulDesc)
        memset(matmulDesc, 0, sizeof *matmulDesc);
    free(matmulDesc);
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc,
    cublasLtMatmulDescAttributes_t attr, const void *buf, size_t sizeInBytes)
{
    struct lt_desc d;
    if (!lt_desc_load(matmulDesc, &d))
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t st = lt_attr_set("cublasLtMatmulDescSetAttribute", desc_attrs,
                                    COUNT(desc_attrs), &d, attr, buf, sizeInBytes, desc_check);
    if (st == CUBLAS_STATUS_SUCCESS)
        memcpy(matmulDesc, &d, sizeof d);
    return st;
}

EMU_API cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t matmulDesc,
    cublasLtMatmulDescAttributes_t attr, void *buf, size_t sizeInBytes, size_t *sizeWritten)
{
    struct lt_desc d;
    if (!lt_desc_load(matmulDesc, &d))
        return CUBLAS_STATUS_INVALID_VALUE;
    return lt_attr_get("cublasLtMatmulDescGetAttribute", desc_attrs, COUNT(desc_attrs), &d,
                       attr, buf, sizeInBytes, sizeWritten);
}

/* ---- matrix layout ------------------------------------------------------------ */

int lt_layout_load(cublasLtMatrixLayout_t p, struct lt_layout *out)
{
    if (!p)
        return 0;
    memcpy(out, p, sizeof *out);
    return out->magic == LT_LAYOUT_MAGIC;
}

static const struct lt_attr layout_attrs[] = {
    LT_ATTR(CUBLASLT_MATRIX_LAYOUT_TYPE, struct lt_layout, type),
    LT_ATTR(CUBLASLT_MATRIX_LAYOUT_ORDER, struct lt_layout, order),
    LT_ATTR(CUBLASLT_MATRIX_LAYOUT_ROWS, struct lt_layout, rows),
    LT_ATTR(CUBLASLT_MATRIX_LAYOUT_COLS, struct lt_layout, cols),
    LT_ATTR(CUBLASLT_MATRIX_LAYOUT_LD, struct lt_layout, ld),
    LT_ATTR(CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, struct lt_layout, batch),
    LT_ATTR(CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, struct lt_layout, stride),
    LT_ATTR(CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, struct lt_layout, batch_mode),
};

static cublasStatus_t layout_check(int id, const void *buf)
{
    int64_t ld;
    switch (id) {
    case CUBLASLT_MATRIX_LAYOUT_ORDER:
        if (i32(buf) == CUBLASLT_ORDER_COL || i32(buf) == CUBLASLT_ORDER_ROW)
            return CUBLAS_STATUS_SUCCESS;
        /* The tiled orders exist (for integer kernels) but are not emulated. */
        if (i32(buf) > CUBLASLT_ORDER_ROW && i32(buf) <= CUBLASLT_ORDER_COL32_2R_4R4) {
            fprintf(stderr, "emu: cublasLtMatrixLayoutSetAttribute: order %d is not emulated\n",
                    (int)i32(buf));
            return CUBLAS_STATUS_NOT_SUPPORTED;
        }
        return CUBLAS_STATUS_INVALID_VALUE;
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT:
        return i32(buf) >= 1 ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    case CUBLASLT_MATRIX_LAYOUT_BATCH_MODE:
        return i32(buf) == CUBLASLT_BATCH_MODE_STRIDED || i32(buf) == CUBLASLT_BATCH_MODE_POINTER_ARRAY
                   ? CUBLAS_STATUS_SUCCESS
                   : CUBLAS_STATUS_INVALID_VALUE;
    case CUBLASLT_MATRIX_LAYOUT_LD:
        memcpy(&ld, buf, sizeof ld);
        return ld >= 0 ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    default:
        return CUBLAS_STATUS_SUCCESS;
    }
}

EMU_API cublasStatus_t cublasLtMatrixLayoutInit_internal(cublasLtMatrixLayout_t matLayout,
    size_t size, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld)
{
    if (!matLayout)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (size < sizeof(struct lt_layout))
        return CUBLAS_STATUS_ALLOC_FAILED;
    struct lt_layout l = { .magic = LT_LAYOUT_MAGIC, .type = (uint32_t)type,
                           .order = CUBLASLT_ORDER_COL, .batch = 1, .rows = rows,
                           .cols = cols, .ld = ld };
    memcpy(matLayout, &l, sizeof l);
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *matLayout,
    cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld)
{
    if (!matLayout)
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasLtMatrixLayout_t l = malloc(sizeof *l);
    if (!l)
        return CUBLAS_STATUS_ALLOC_FAILED;
    cublasLtMatrixLayoutInit_internal(l, sizeof *l, type, rows, cols, ld);
    *matLayout = l;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout)
{
    if (matLayout)
        memset(matLayout, 0, sizeof *matLayout);
    free(matLayout);
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t matLayout,
    cublasLtMatrixLayoutAttribute_t attr, const void *buf, size_t sizeInBytes)
{
    struct lt_layout l;
    if (!lt_layout_load(matLayout, &l))
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t st = lt_attr_set("cublasLtMatrixLayoutSetAttribute", layout_attrs,
                                    COUNT(layout_attrs), &l, attr, buf, sizeInBytes,
                                    layout_check);
    if (st == CUBLAS_STATUS_SUCCESS)
        memcpy(matLayout, &l, sizeof l);
    return st;
}

EMU_API cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t matLayout,
    cublasLtMatrixLayoutAttribute_t attr, void *buf, size_t sizeInBytes, size_t *sizeWritten)
{
    struct lt_layout l;
    if (!lt_layout_load(matLayout, &l))
        return CUBLAS_STATUS_INVALID_VALUE;
    return lt_attr_get("cublasLtMatrixLayoutGetAttribute", layout_attrs, COUNT(layout_attrs),
                       &l, attr, buf, sizeInBytes, sizeWritten);
}

/* ---- matmul preference ------------------------------------------------------------ */

int lt_pref_load(cublasLtMatmulPreference_t p, struct lt_pref *out)
{
    if (!p)
        return 0;
    memcpy(out, p, sizeof *out);
    return out->magic == LT_PREF_MAGIC;
}

/* The documented defaults: no workspace, every reduction scheme, 256-byte
 * alignment (which the emulated kernels do not need). */
void lt_pref_defaults(struct lt_pref *p)
{
    *p = (struct lt_pref){ .magic = LT_PREF_MAGIC, .search_mode = CUBLASLT_SEARCH_BEST_FIT,
                           .reduction_mask = CUBLASLT_REDUCTION_SCHEME_MASK, .align_a = 256,
                           .align_b = 256, .align_c = 256, .align_d = 256 };
}

static const struct lt_attr pref_attrs[] = {
    LT_ATTR(CUBLASLT_MATMUL_PREF_SEARCH_MODE, struct lt_pref, search_mode),
    LT_ATTR(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, struct lt_pref, max_workspace),
    LT_ATTR(CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, struct lt_pref, reduction_mask),
    LT_ATTR(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, struct lt_pref, align_a),
    LT_ATTR(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, struct lt_pref, align_b),
    LT_ATTR(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, struct lt_pref, align_c),
    LT_ATTR(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, struct lt_pref, align_d),
};

/* Only the best-fit search is emulated: the others select algorithms by
 * id, which the emulator has one of. */
static cublasStatus_t pref_check(int id, const void *buf)
{
    if (id == CUBLASLT_MATMUL_PREF_SEARCH_MODE && i32(buf) != CUBLASLT_SEARCH_BEST_FIT) {
        fprintf(stderr, "emu: cublasLtMatmulPreferenceSetAttribute: search mode %d is not "
                        "emulated\n", (int)i32(buf));
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    if (id == CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK &&
        ((uint32_t)i32(buf) & ~(uint32_t)CUBLASLT_REDUCTION_SCHEME_MASK))
        return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatmulPreferenceInit_internal(cublasLtMatmulPreference_t pref,
                                                             size_t size)
{
    if (!pref)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (size < sizeof(struct lt_pref))
        return CUBLAS_STATUS_ALLOC_FAILED;
    struct lt_pref p;
    lt_pref_defaults(&p);
    memcpy(pref, &p, sizeof p);
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref)
{
    if (!pref)
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasLtMatmulPreference_t p = malloc(sizeof *p);
    if (!p)
        return CUBLAS_STATUS_ALLOC_FAILED;
    cublasLtMatmulPreferenceInit_internal(p, sizeof *p);
    *pref = p;
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref)
{
    if (pref)
        memset(pref, 0, sizeof *pref);
    free(pref);
    return CUBLAS_STATUS_SUCCESS;
}

EMU_API cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
    cublasLtMatmulPreferenceAttributes_t attr, const void *buf, size_t sizeInBytes)
{
    struct lt_pref p;
    if (!lt_pref_load(pref, &p))
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t st = lt_attr_set("cublasLtMatmulPreferenceSetAttribute", pref_attrs,
                                    COUNT(pref_attrs), &p, attr, buf, sizeInBytes, pref_check);
    if (st == CUBLAS_STATUS_SUCCESS)
        memcpy(pref, &p, sizeof p);
    return st;
}

EMU_API cublasStatus_t cublasLtMatmulPreferenceGetAttribute(cublasLtMatmulPreference_t pref,
    cublasLtMatmulPreferenceAttributes_t attr, void *buf, size_t sizeInBytes,
    size_t *sizeWritten)
{
    struct lt_pref p;
    if (!lt_pref_load(pref, &p))
        return CUBLAS_STATUS_INVALID_VALUE;
    return lt_attr_get("cublasLtMatmulPreferenceGetAttribute", pref_attrs, COUNT(pref_attrs),
                       &p, attr, buf, sizeInBytes, sizeWritten);
}
