/* Private to the emulated libcublasLt: the objects behind its descriptors.
 *
 * The header's descriptor types are caller-sized opaque blocks (the *Init
 * forms place them in the caller's storage), so each emulated object is a
 * plain struct that fits in its block and is copied in and out with memcpy:
 * a uint64_t array is never read through another type. A magic word tells
 * an initialized block from garbage. */
#ifndef SAFEHALF_EMU_LT_H
#define SAFEHALF_EMU_LT_H

#include <stddef.h>
#include <stdint.h>

#include <cublasLt.h>

#include "emu.h"
#include "gemm.h"

#define LT_HANDLE_MAGIC 0x4c54484eu /* 'LTHN' */
#define LT_DESC_MAGIC 0x4c544453u
#define LT_LAYOUT_MAGIC 0x4c544c59u
#define LT_PREF_MAGIC 0x4c545052u
#define LT_ALGO_MAGIC 0x4c54414cu

struct cublasLtContext {
    uint32_t magic;
};

/* Field types are the attribute types cublasLt.h documents, so an
 * attribute's size is its field's size. */
struct lt_desc {
    uint32_t magic;
    int32_t compute;      /* cublasComputeType_t */
    int32_t scale;        /* cudaDataType */
    int32_t pointer_mode; /* cublasLtPointerMode_t */
    int32_t trans_a, trans_b;
    uint32_t epilogue;
    int32_t bias_type; /* -1: the D type */
    const void *bias;    /* an input, or the output of a bias-gradient epilogue */
    int64_t bias_stride; /* elements between batch members' bias vectors */
    void *aux;           /* GELU input: stored by GELU_AUX*, read by DGELU* */
    int64_t aux_ld;
    int64_t aux_stride; /* elements between batch members' aux matrices */
    int32_t aux_type;   /* -1: the D type */
};

struct lt_layout {
    uint32_t magic;
    uint32_t type; /* cudaDataType */
    int32_t order;
    int32_t batch;
    uint64_t rows, cols;
    int64_t ld;
    int64_t stride;      /* elements between batch members (strided mode) */
    uint32_t batch_mode; /* cublasLtBatchMode_t: strided, or device pointer arrays */
};

struct lt_pref {
    uint32_t magic;
    uint32_t search_mode;
    uint64_t max_workspace;
    uint32_t reduction_mask;
    uint32_t align_a, align_b, align_c, align_d;
};

/* What a cublasLtMatmulAlgo_t holds: the only choices that change numbers. */
struct lt_algo {
    uint32_t magic;
    int32_t id;
    int32_t splitk;  /* chunks of k accumulated apart, 1: none */
    uint32_t scheme; /* cublasLtReductionScheme_t joining them */
    /* The alignment in bytes its kernels assume of A, B, C and D (0: none):
     * the preference's MIN_ALIGNMENT_*_BYTES it was chosen under. */
    uint32_t align[4];
};

_Static_assert(sizeof(struct lt_desc) <= sizeof(cublasLtMatmulDescOpaque_t), "desc block");
_Static_assert(sizeof(struct lt_layout) <= sizeof(cublasLtMatrixLayoutOpaque_t), "layout block");
_Static_assert(sizeof(struct lt_pref) <= sizeof(cublasLtMatmulPreferenceOpaque_t), "pref block");
_Static_assert(sizeof(struct lt_algo) <= sizeof(cublasLtMatmulAlgo_t), "algo block");

/* Non-zero for a cuBLASLt handle or a cuBLAS handle cast to one (PyTorch
 * does that): both start with their magic word. */
int lt_handle_valid(cublasLtHandle_t h);

/* Load a block into *out; 0 when it is NULL or was never initialized. */
int lt_desc_load(cublasLtMatmulDesc_t p, struct lt_desc *out);
int lt_layout_load(cublasLtMatrixLayout_t p, struct lt_layout *out);
int lt_pref_load(cublasLtMatmulPreference_t p, struct lt_pref *out);
int lt_algo_load(const cublasLtMatmulAlgo_t *p, struct lt_algo *out);
void lt_pref_defaults(struct lt_pref *p);

/* ---- attributes: one table per object kind ----------------------------- */

struct lt_attr {
    int id;
    size_t offset, size;
};

#define LT_ATTR(id, type, field) { id, offsetof(type, field), sizeof(((type *)0)->field) }

/* Optional check of a new value before it is stored. */
typedef cublasStatus_t (*lt_attr_check)(int id, const void *buf);

/* Set and Get with the documented size rules on an object already loaded;
 * api names the caller in the note about an attribute the emulator lacks. */
cublasStatus_t lt_attr_set(const char *api, const struct lt_attr *table, size_t n, void *obj,
                           int id, const void *buf, size_t size, lt_attr_check check);
cublasStatus_t lt_attr_get(const char *api, const struct lt_attr *table, size_t n,
                           const void *obj, int id, void *buf, size_t size, size_t *written);

/* ---- the problem a descriptor and four layouts describe ------------------ */

/* One operand as stored: the layout's logical shape and its addressing. */
struct lt_mat {
    int64_t rows, cols, ld, stride;
    int row_major;
    int pointer_array; /* the matrix argument is a device array of batch pointers */
    cudaDataType type;
};

/* An epilogue decoded once: its activation, what BIAS_POINTER is and what
 * EPILOGUE_AUX_POINTER is. */
enum lt_act { LT_ACT_NONE, LT_ACT_RELU, LT_ACT_GELU, LT_ACT_DGELU };
enum lt_bias {
    LT_BIAS_NONE,
    LT_BIAS_IN,    /* added to every column (m elements) */
    LT_BGRAD_D,    /* output: row sums of D (m) */
    LT_BGRAD_A,    /* output: row sums of op(A), over k (m) */
    LT_BGRAD_B,    /* output: column sums of op(B), over k (n) */
};
enum lt_aux { LT_AUX_NONE, LT_AUX_OUT, LT_AUX_IN };

struct lt_problem {
    int compute, scale_type, pointer_mode;
    uint32_t epilogue;
    enum lt_act act;
    enum lt_bias bias_use;
    enum lt_aux aux_use;
    cudaDataType bias_type;
    const void *bias;
    int64_t bias_stride;
    void *aux; /* m x n, column-major, aux_ld apart */
    int64_t aux_ld, aux_stride;
    cudaDataType aux_type;
    int trans_a, trans_b; /* of the descriptor, before the layouts' order */
    int64_t m, n, k, batch;
    struct lt_mat a, b, c, d;
    enum emu_acc acc;
    enum emu_down down;
};

/* The accumulation and input down-conversion of a compute type for these
 * types, or CUBLAS_STATUS_NOT_SUPPORTED. */
cublasStatus_t lt_numerics(int compute, int scale, cudaDataType ab, cudaDataType b_type,
                           cudaDataType c, cudaDataType d, enum emu_acc *acc,
                           enum emu_down *down);

/* Validates the operation as cublasLtMatmul and the heuristic see it. */
cublasStatus_t lt_problem_make(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t A,
                               cublasLtMatrixLayout_t B, cublasLtMatrixLayout_t C,
                               cublasLtMatrixLayout_t D, struct lt_problem *p);

/* The emulated heuristic's ordered choices (see lt_algo.c); returns how
 * many of out[0..1] it filled, at least 1. */
int lt_heuristic(const struct lt_problem *p, const struct lt_pref *pref, struct lt_algo out[2]);

/* Whether algo can run p: CUBLAS_STATUS_SUCCESS or the status to return. */
cublasStatus_t lt_algo_fits(const struct lt_problem *p, const struct lt_algo *algo,
                            const void *const ptr[4]);
uint32_t lt_alignment(const void *ptr);

#endif
