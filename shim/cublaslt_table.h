/* cuBLASLt entry points, as data: see cublas_table.h for the two lists.
 * X(ret, name, params, args, hook) / X(ret, name, params, args).
 * cublasLtMatmulDescInit, cublasLtMatmulPreferenceInit and
 * cublasLtMatrixLayoutInit are inline functions of cublasLt.h calling the
 * _internal symbols listed here.
 *
 * SH_CUBLASLT_WATCH: exported like the intercepted ones, but not calls of
 * their own (no count, no record, no policy): the shim only follows the
 * objects they make and change, and stays out of their way, since a
 * program may make and destroy several around every matmul. */

/* The sonames the real library is looked for under, newest first. */
#define SH_CUBLASLT_SONAMES "libcublasLt.so.13", "libcublasLt.so.12"

#define SH_CUBLASLT_INTERCEPT(X) \
X(cublasStatus_t, cublasLtMatmulDescCreate, (cublasLtMatmulDesc_t *desc, cublasComputeType_t compute, cudaDataType_t scale), (desc, compute, scale), desc_create) \
X(cublasStatus_t, cublasLtMatmulDescInit_internal, (cublasLtMatmulDesc_t desc, size_t size, cublasComputeType_t compute, cudaDataType_t scale), (desc, size, compute, scale), desc_init) \
X(cublasStatus_t, cublasLtMatmulDescDestroy, (cublasLtMatmulDesc_t desc), (desc), desc_destroy) \
X(cublasStatus_t, cublasLtMatmulDescSetAttribute, (cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const void *buf, size_t size), (desc, attr, buf, size), desc_set) \
X(cublasStatus_t, cublasLtMatmulDescGetAttribute, (cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, void *buf, size_t size, size_t *written), (desc, attr, buf, size, written), desc_get) \
X(cublasStatus_t, cublasLtMatmulPreferenceCreate, (cublasLtMatmulPreference_t *pref), (pref), pref_create) \
X(cublasStatus_t, cublasLtMatmulPreferenceInit_internal, (cublasLtMatmulPreference_t pref, size_t size), (pref, size), pref_init) \
X(cublasStatus_t, cublasLtMatmulPreferenceSetAttribute, (cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, const void *buf, size_t size), (pref, attr, buf, size), pref_set) \
X(cublasStatus_t, cublasLtMatmul, (cublasLtHandle_t h, cublasLtMatmulDesc_t desc, const void *alpha, const void *A, cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc, const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D, cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspace_size, cudaStream_t stream), (h, desc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, algo, workspace, workspace_size, stream), matmul)

#define SH_CUBLASLT_WATCH(X) \
X(cublasStatus_t, cublasLtMatrixLayoutCreate, (cublasLtMatrixLayout_t *layout, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld), (layout, type, rows, cols, ld), layout_create) \
X(cublasStatus_t, cublasLtMatrixLayoutInit_internal, (cublasLtMatrixLayout_t layout, size_t size, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld), (layout, size, type, rows, cols, ld), layout_init) \
X(cublasStatus_t, cublasLtMatrixLayoutSetAttribute, (cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attr, const void *buf, size_t size), (layout, attr, buf, size), layout_set) \
X(cublasStatus_t, cublasLtMatrixLayoutDestroy, (cublasLtMatrixLayout_t layout), (layout), layout_destroy)

#define SH_CUBLASLT_USE(X) \
X(size_t, cublasLtGetVersion, (void), ()) \
X(cublasStatus_t, cublasLtMatrixLayoutGetAttribute, (cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attr, void *buf, size_t size, size_t *written), (layout, attr, buf, size, written)) \
X(cublasStatus_t, cublasLtMatmulAlgoConfigGetAttribute, (const cublasLtMatmulAlgo_t *algo, cublasLtMatmulAlgoConfigAttributes_t attr, void *buf, size_t size, size_t *written), (algo, attr, buf, size, written)) \
X(cublasStatus_t, cublasLtMatmulAlgoGetHeuristic, (cublasLtHandle_t h, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc, cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t results[], int *returned), (h, desc, Adesc, Bdesc, Cdesc, Ddesc, pref, requested, results, returned))
