/* Private to the emulated libcudnn.so.9: the objects behind cuDNN's opaque
 * handles and the compute core that the legacy and the backend (graph) API
 * share.
 *
 * Every function that touches tensor data records a self-contained argument
 * block on the handle's stream (emu_stream_record), so a captured call runs
 * at graph launch; device pointers are translated only when the work runs,
 * because memory allocated inside a capture is live only at launch. */
#ifndef SAFEHALF_EMU_DNN_H
#define SAFEHALF_EMU_DNN_H

#include <stdbool.h>
#include <stdint.h>

#include <cudnn.h>

#include "emu.h"

#define DNN_MAX_SPATIAL (CUDNN_DIM_MAX - 2)

/* ---- handle ------------------------------------------------------------------- */

#define DNN_HANDLE_MAGIC 0x444e4e48u

struct cudnnContext {
    uint32_t magic;
    cudaStream_t stream;
};

static inline int dnn_valid(cudnnHandle_t h)
{
    return h && h->magic == DNN_HANDLE_MAGIC;
}

/* Runs op now, or appends a copy of it to the capture graph when the
 * handle's stream is capturing. A run that fails (a pointer that is not
 * device memory) is CUDNN_STATUS_EXECUTION_FAILED. */
cudnnStatus_t dnn_launch(cudnnHandle_t h, emu_op_fn run, void *op, size_t size);

/* ---- tensors ------------------------------------------------------------------ */

/* One tensor's geometry: element (i0, i1, ...) lies at sum(ik * stride[k])
 * elements from the base pointer. */
struct dnn_tensor {
    cudnnDataType_t type;
    int nd;
    int64_t dim[CUDNN_DIM_MAX], stride[CUDNN_DIM_MAX];
    /* A ragged tensor (the backend's RAGGED_OFFSET_DESC): batch i (dim 0)
     * starts ragged[i] elements from the base, whatever stride[0] says.
     * Host INT32 (INT64 when ragged64) offsets, set only while it runs. */
    const void *ragged;
    bool ragged64;
};

static inline int dnn_type_valid(cudnnDataType_t t)
{
    return (unsigned)t <= (unsigned)CUDNN_DATA_COMPLEX_FP64;
}

/* The storage types the emulator computes on. */
static inline int dnn_type_computable(cudnnDataType_t t)
{
    return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16;
}

/* Element size of a computable type. */
static inline size_t dnn_type_size(cudnnDataType_t t)
{
    return t == CUDNN_DATA_FLOAT ? 4 : 2;
}

static inline float dnn_load(const void *p, cudnnDataType_t t, int64_t i)
{
    switch (t) {
    case CUDNN_DATA_HALF: return sh_half_to_float(((const uint16_t *)p)[i]);
    case CUDNN_DATA_BFLOAT16: return sh_bf16_to_float(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

static inline void dnn_store(void *p, cudnnDataType_t t, int64_t i, float v)
{
    switch (t) {
    case CUDNN_DATA_HALF: ((uint16_t *)p)[i] = sh_float_to_half(v); break;
    case CUDNN_DATA_BFLOAT16: ((uint16_t *)p)[i] = sh_float_to_bf16(v); break;
    default: ((float *)p)[i] = v; break;
    }
}

/* An FP16 compute type rounds every intermediate to half; FP32 does not. */
static inline float dnn_round(int acc16, float v)
{
    return acc16 ? sh_round_half(v) : v;
}

/* acc + a * b, with the product and the sum rounded as the compute type rounds. */
static inline float dnn_mac(int acc16, float acc, float a, float b)
{
    return acc16 ? sh_round_half(acc + sh_round_half(a * b)) : acc + a * b;
}

/* out = alpha * acc + beta * old, rounded as the compute type rounds; old is
 * not read when beta is 0, as cuDNN documents. */
static inline void dnn_blend(void *p, cudnnDataType_t t, int64_t i, int acc16, float alpha,
                             float beta, float acc)
{
    float out = dnn_round(acc16, alpha * acc);
    if (beta != 0.0f)
        out = dnn_round(acc16, out + dnn_round(acc16, beta * dnn_load(p, t, i)));
    dnn_store(p, t, i, out);
}

int64_t dnn_elems(const struct dnn_tensor *t);
/* Bytes from the first element to the end of the last (strides >= 0). */
size_t dnn_extent(const struct dnn_tensor *t);
/* Offset in elements of the element at idx. */
int64_t dnn_offset(const struct dnn_tensor *t, const int64_t *idx);
/* Steps idx through t's dims in row-major order (last dim fastest) for the
 * dims in [from, t->nd); 0 once it wraps around. */
int dnn_next(const struct dnn_tensor *t, int64_t *idx, int from);
/* Packed strides for dims [N, C, spatial...] in NCHW or NHWC order. */
void dnn_pack_strides(struct dnn_tensor *t, cudnnTensorFormat_t format);
/* Host address of a whole tensor, or NULL with a message on stderr. */
void *dnn_host(const char *api, const char *what, const void *dev, const struct dnn_tensor *t);

/* For EMU_TRACE lines: "HALF", and "[2,3,4]" into buf. */
const char *dnn_type_name(cudnnDataType_t t);
const char *dnn_dims(const struct dnn_tensor *t, char *buf, size_t size);

/* ---- legacy descriptors ----------------------------------------------------------- */

#define DNN_TENSOR_MAGIC 0x444e5454u
#define DNN_FILTER_MAGIC 0x444e4654u
#define DNN_CONV_MAGIC 0x444e4356u

struct cudnnTensorStruct {
    uint32_t magic;
    int set;
    struct dnn_tensor t;
};

/* t holds the logical dims [K, C, spatial...] with the strides of format. */
struct cudnnFilterStruct {
    uint32_t magic;
    int set;
    cudnnTensorFormat_t format;
    struct dnn_tensor t;
};

struct cudnnConvolutionStruct {
    uint32_t magic;
    int set;
    int nsp;
    int pad[DNN_MAX_SPATIAL], stride[DNN_MAX_SPATIAL], dilation[DNN_MAX_SPATIAL];
    cudnnConvolutionMode_t mode;
    cudnnDataType_t compute;
    cudnnMathType_t math;
    int groups;
};

#define DNN_ACT_MAGIC 0x444e4143u

struct cudnnActivationStruct {
    uint32_t magic;
    int set;
    cudnnActivationMode_t mode;
    cudnnNanPropagation_t nan;
    double coef;
};

static inline int dnn_act_ok(cudnnActivationDescriptor_t d)
{
    return d && d->magic == DNN_ACT_MAGIC && d->set;
}

static inline int dnn_tensor_ok(cudnnTensorDescriptor_t d)
{
    return d && d->magic == DNN_TENSOR_MAGIC && d->set;
}

static inline int dnn_filter_ok(cudnnFilterDescriptor_t d)
{
    return d && d->magic == DNN_FILTER_MAGIC && d->set;
}

static inline int dnn_conv_ok(cudnnConvolutionDescriptor_t d)
{
    return d && d->magic == DNN_CONV_MAGIC && d->set;
}

/* ---- convolution core -------------------------------------------------------------- */

enum dnn_conv_dir { DNN_CONV_FWD, DNN_CONV_BWD_DATA, DNN_CONV_BWD_FILTER };

/* One convolution, whichever way it runs: x [N, C, spatial...] is the input
 * activation (dx when computing backward data), w [K, C / groups, filter...]
 * the filter (dw backward filter), y [N, K, out...] the output (dy). */
struct dnn_conv {
    const char *api;
    enum dnn_conv_dir dir;
    struct dnn_tensor x, w, y;
    int nsp, groups;
    int64_t pre[DNN_MAX_SPATIAL], post[DNN_MAX_SPATIAL];
    int64_t stride[DNN_MAX_SPATIAL], dilation[DNN_MAX_SPATIAL];
    int flip;  /* CUDNN_CONVOLUTION: the filter is applied mirrored */
    int acc16; /* compute type HALF */
    float alpha, beta;
    /* cudnnConvolutionBiasActivationForward (forward only): y = act(alpha *
     * conv + alpha2 * z + bias), z shaped like y, bias [1, K, 1...]; beta
     * unused. */
    int fused, relu;
    float alpha2;
    struct dnn_tensor z, bias;
};

/* Shapes: BAD_PARAM when x, w and y do not describe one convolution;
 * NOT_SUPPORTED for a y of the wrong spatial size, as cuDNN documents. */
cudnnStatus_t dnn_conv_check_shape(const struct dnn_conv *c);
/* Data and compute types: the configurations cuDNN lists (TRUE_HALF,
 * PSEUDO_HALF, PSEUDO_BFLOAT16, FLOAT) and no others. */
cudnnStatus_t dnn_conv_check_types(const struct dnn_conv *c, cudnnDataType_t compute);
/* Computes a checked, non-fused convolution on host pointers (the backend's
 * fused graphs run it this way, between their other operations). */
void dnn_conv_compute(const struct dnn_conv *c, void *x, void *w, void *y);
/* Runs (or records) a checked convolution on the given device pointers. */
cudnnStatus_t dnn_conv_launch(cudnnHandle_t h, const struct dnn_conv *c, const void *x,
                              const void *w, const void *y);
/* The same for a fused forward convolution (c->fused), with z and bias. */
cudnnStatus_t dnn_conv_launch_fused(cudnnHandle_t h, const struct dnn_conv *c, const void *x,
                                    const void *w, const void *y, const void *z,
                                    const void *bias);

/* ---- batched matmul core (backend API) --------------------------------------------- */

/* c[.., m, n] = a[.., m, k] x b[.., k, n]; a batch dim of 1 broadcasts. */
struct dnn_matmul {
    struct dnn_tensor a, b, c;
    int acc16;
};

cudnnStatus_t dnn_matmul_check_shape(const struct dnn_matmul *m);
/* Computes a checked matmul on host pointers. */
void dnn_matmul_compute(const struct dnn_matmul *m, const void *a, const void *b, void *c);

/* ---- backend (graph) API descriptors ------------------------------------------------ */

/* Descriptors hold what they reference by value (a snapshot taken when the
 * attribute is set, as the referenced one must already be finalized), so
 * destroying a tensor descriptor after building an operation from it is
 * harmless, and a descriptor owns no memory but its own block: destroying
 * it is one free. */

#define BK_MAGIC 0x444e424bu
#define BK_MAX_OPS 64
#define BK_MAX_PACK 64

/* Which attributes have been set: within one descriptor type the attribute
 * names differ by less than 32. */
#define BK_BIT(attr) (1u << ((unsigned)(attr) % 32u))

struct bk_tensor {
    unsigned set;
    int64_t uid, align;
    bool is_virtual, by_value;
    /* RAGGED_OFFSET_DESC: the offsets tensor's uid and type */
    bool ragged;
    int64_t ragged_uid;
    cudnnDataType_t ragged_type;
    int nstride;
    struct dnn_tensor t;
};

enum { BK_DILATIONS, BK_STRIDES, BK_PRE, BK_POST, BK_ARRAYS };

struct bk_conv {
    unsigned set;
    cudnnDataType_t comp;
    cudnnConvolutionMode_t mode;
    int64_t nsp;
    int n[BK_ARRAYS];
    int64_t a[BK_ARRAYS][DNN_MAX_SPATIAL];
};

/* The RELU clips are kept as cuDNN defines them: lower 0, slope 0, no
 * upper clip unless set. */
struct bk_pointwise {
    unsigned set;
    cudnnPointwiseMode_t mode;
    cudnnDataType_t prec;
    int64_t axis;
    double relu_lower, relu_upper, relu_slope;
};

#define BK_SLOTS 10

/* Where an operation's tensors sit in bk_op.t, whatever the operation
 * calls them. Convolutions and matmuls keep them where struct dnn_conv
 * and struct dnn_matmul expect them: t[0] = x / dx / A, t[1] = w / dw / B,
 * t[2] = y / dy / C. */
enum {
    BK_PW_X = 0, BK_PW_B = 1, BK_PW_Y = 2, BK_PW_T = 3, BK_PW_DY = 4, BK_PW_DX = 5,
    BK_Q = 0, BK_K = 1, BK_V = 2, BK_O = 3, BK_STATS = 4, BK_SCALE = 5,
    BK_DO = 6, BK_DQ = 7, BK_DK = 8, BK_DV = 9, /* SDPA backward only */
};

/* One operation; bk_slot_used says which slots it reads or writes,
 * bk_slot_out which it writes. */
struct bk_op {
    unsigned set;
    cudnnBackendDescriptorType_t kind;
    struct bk_tensor t[BK_SLOTS];
    struct bk_conv conv;
    cudnnDataType_t mm_comp;
    struct bk_pointwise pw;
    double alpha, beta, alpha2; /* alpha2: pointwise only */
    bool unrun; /* SDPA: a block mask, page table or sequence length was set */
};

struct bk_graph {
    unsigned set;
    cudnnHandle_t handle;
    int nops;
    struct bk_op ops[BK_MAX_OPS];
    int engines; /* 1 when the emulator can run the graph, else 0 */
};

struct bk_engine {
    unsigned set;
    struct bk_graph graph;
    int64_t index;
};

struct bk_matmul_desc {
    unsigned set;
    cudnnDataType_t comp;
    double padding;
};

struct bk_reduction {
    unsigned set;
    cudnnReduceTensorOp_t op;
    cudnnDataType_t comp;
    bool deterministic;
};

struct bk_heur {
    unsigned set;
    struct bk_graph graph;
    cudnnBackendHeurMode_t mode;
};

struct bk_cfg {
    unsigned set;
    struct bk_engine engine;
};

struct bk_plan {
    unsigned set;
    cudnnHandle_t handle;
    struct bk_engine engine;
};

/* A pack's override of a tensor's dims and strides for one execution
 * (CUDNN_ATTR_VARIANT_PACK_OVERRIDE_*, cuDNN 9.18: a plan built once, run
 * at other extents). The frontend hands cuDNN its C++ vectors as they
 * are: OVERRIDE_SHAPES and OVERRIDE_STRIDES are each one pointer to a
 * std::vector<std::vector<int64_t>>, one inner vector per override UID;
 * bk_vec is libstdc++'s layout of a vector (begin, end, capacity). */
struct bk_vec {
    void *begin, *end, *cap;
};

struct bk_pack {
    unsigned set;
    int nuid, nptr, nover;
    int64_t uid[BK_MAX_PACK];
    void *ptr[BK_MAX_PACK];
    void *workspace;
    int64_t over_uid[BK_MAX_PACK];
    const struct bk_vec *over_shapes, *over_strides;
};

struct bk_knob {
    unsigned set;
    cudnnBackendKnobType_t type;
    int64_t value;
};

struct bk_desc {
    uint32_t magic;
    cudnnBackendDescriptorType_t type;
    bool finalized;
    union {
        struct bk_tensor tensor;
        struct bk_conv conv;
        struct bk_op op;
        struct bk_matmul_desc matmul;
        struct bk_pointwise pointwise;
        struct bk_reduction reduction;
        struct bk_graph graph;
        struct bk_heur heur;
        struct bk_engine engine;
        struct bk_cfg cfg;
        struct bk_plan plan;
        struct bk_pack pack;
        struct bk_knob knob;
    } u;
};

#define DNN_TRY(expr)                    \
    do {                                 \
        cudnnStatus_t st_ = (expr);      \
        if (st_)                         \
            return st_;                  \
    } while (0)

/* The descriptor behind d if it is a live one of type t (bk_of) or of any
 * type (bk_any), else NULL. */
struct bk_desc *bk_of(cudnnBackendDescriptor_t d, cudnnBackendDescriptorType_t t);
struct bk_desc *bk_any(cudnnBackendDescriptor_t d);
int bk_is_conv_op(cudnnBackendDescriptorType_t t);
int bk_is_sdpa_op(cudnnBackendDescriptorType_t t);
/* Inputs a pointwise mode takes (1 to 3: x, b, t); 0 for the backward
 * modes, which take x and dy instead. */
int bk_pw_arity(cudnnPointwiseMode_t m);
/* The slot a pointwise mode writes: y, or a backward mode's dx. */
int bk_pw_out(cudnnPointwiseMode_t m);
/* The slot of a pointwise operation's tensor attribute, or -1. */
int bk_pw_slot(cudnnBackendAttributeName_t name);
/* Whether op reads or writes slot i, and whether it writes it. */
int bk_slot_used(const struct bk_op *op, int i);
int bk_slot_out(const struct bk_op *op, int i);
/* The slot of an SDPA operation's attribute: BK_SDPA_UNRUN for one the
 * emulator accepts but does not run, BK_SDPA_NONE for a name the
 * operation does not have. */
enum { BK_SDPA_NONE = -1, BK_SDPA_UNRUN = -2 };
int bk_sdpa_slot(cudnnBackendDescriptorType_t kind, cudnnBackendAttributeName_t name);
/* The three convolution operations name their attributes alike from a
 * base: alpha, beta, conv desc, then the filter, input and output tensors. */
int bk_conv_base(cudnnBackendDescriptorType_t t);
enum { BK_REL_ALPHA, BK_REL_BETA, BK_REL_CONV, BK_REL_W, BK_REL_X, BK_REL_Y };
/* The operation as the compute core sees it (dnn_exec.c). */
void bk_conv_of(const struct bk_op *op, struct dnn_conv *c);
void bk_matmul_of(const struct bk_op *op, struct dnn_matmul *m);
/* How many engines can run a finalized graph: 1 or 0 (dnn_exec.c says
 * which graphs). */
int bk_engines(const struct bk_graph *g);

/* ---- scaled dot-product attention forward (dnn_sdpa.c) ----------------------------- */

/* Whether an SDPA forward operation's tensors describe one attention: Q
 * [b, h, s_q, d], K [b, h_k, s_kv, d], V [b, h_v, s_kv, d_v], O [b, h,
 * s_q, d_v], STATS [b, h, s_q, 1], the scale a single element, h a
 * multiple of h_k and h_v. */
int bk_sdpa_shape_ok(const struct bk_op *op);
/* Computes a checked SDPA forward operation on the host pointers of its
 * slots; 0 when host memory for its scratch runs out. */
int bk_sdpa_compute(const struct bk_op *op, void *const *p);

#endif
