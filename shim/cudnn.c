/* cuDNN: the generated wrappers, the legacy API's hooks, the check after a
 * call and the records (see cublas.c for the shape of a hook). The graph
 * (backend) API's hooks are in cudnn_graph.c.
 *
 * Compute types are rewritten on the descriptors (convolution, reduction,
 * op-tensor), where the program sets them; the compute calls themselves
 * (cudnnConvolutionForward & co.) are never changed, only described and
 * checked. The program's own value is remembered per descriptor so that
 * cuDNN's getters still answer it and the compute calls can say what they
 * were asked for. */
#include <cudnn.h>

#include "cudanames.h"
#include "cudnn_shim.h"
#include "driver.h"
#include "objtab.h"
#include "sites.h"

_Static_assert((int)SH_DNN_FLOAT == (int)CUDNN_DATA_FLOAT, "CUDNN_DATA_FLOAT");
_Static_assert((int)SH_DNN_HALF == (int)CUDNN_DATA_HALF, "CUDNN_DATA_HALF");
_Static_assert((int)SH_DNN_BFLOAT16 == (int)CUDNN_DATA_BFLOAT16, "CUDNN_DATA_BFLOAT16");
_Static_assert(SH_DNN_DIMS == CUDNN_DIM_MAX, "CUDNN_DIM_MAX");

#define SH_COUNT_ONE(...) +1
enum { SH_CUDNN_NAPI = 0 SH_CUDNN_INTERCEPT(SH_COUNT_ONE) };

const char *const sh_cudnn_syms[] = { SH_CUDNN_INTERCEPT(SH_SLOT_NAME)
                                          SH_CUDNN_USE(SH_SLOT_NAME) };
static const char *const cudnn_sonames[] = { SH_CUDNN_SONAMES, NULL };
static _Atomic(void *) cudnn_slots[SH_CUDNN_NSYMS];
struct sh_lib sh_cudnn = { "cudnn", cudnn_sonames, sh_cudnn_syms, cudnn_slots, SH_CUDNN_NSYMS,
                           0 };

static struct sh_api_counts counts[SH_CUDNN_NAPI];
static void log_call(const struct sh_call *c, int status);
static void describe(struct sh_json *j);
const struct sh_lib_ops sh_cudnn_ops = { "cudnn", sh_cudnn_syms, counts, SH_CUDNN_NAPI,
                                         log_call, describe, sh_dnn_graph_after_fork };

static atomic_int warned_table_full;

/* ---- types ---------------------------------------------------------------- */

/* Types cuDNN has and CUDA's enum lacks (BOOLEAN, the packed vectors) get
 * values above every CUDA one, so the generic code sees them as "other". */
#define SH_DNN_UNMAPPED 0x1000

int sh_dnn_cuda_type(int t)
{
    switch (t) {
    case CUDNN_DATA_FLOAT: return CUDA_R_32F;
    case CUDNN_DATA_DOUBLE: return CUDA_R_64F;
    case CUDNN_DATA_HALF: return CUDA_R_16F;
    case CUDNN_DATA_BFLOAT16: return CUDA_R_16BF;
    case CUDNN_DATA_INT8: return CUDA_R_8I;
    case CUDNN_DATA_UINT8: return CUDA_R_8U;
    case CUDNN_DATA_INT32: return CUDA_R_32I;
    case CUDNN_DATA_INT64: return CUDA_R_64I;
    case CUDNN_DATA_FP8_E4M3: return CUDA_R_8F_E4M3;
    case CUDNN_DATA_FP8_E5M2: return CUDA_R_8F_E5M2;
    default: return SH_DNN_UNMAPPED + t;
    }
}

/* ---- the program's own compute types ------------------------------------------ */

/* Rewritten descriptors only: a descriptor the table does not hold has the
 * program's own value in cuDNN. word[0] = the program's cudnnDataType_t. */
static struct sh_objtab own_tab = SH_OBJTAB_INIT;

bool sh_dnn_own_get(const void *desc, int *own)
{
    long long w[SH_OBJTAB_WORDS];
    if (!desc || !sh_objtab_get(&own_tab, desc, w))
        return false;
    *own = (int)w[0];
    return true;
}

bool sh_dnn_own_put(const void *desc, int own)
{
    const long long w[SH_OBJTAB_WORDS] = { own };
    return desc && sh_objtab_put(&own_tab, desc, w);
}

void sh_dnn_own_del(const void *desc)
{
    if (desc)
        sh_objtab_del(&own_tab, desc);
}

int sh_dnn_decide_desc(struct cudnn_call *cc, const void *desc, int compute)
{
    struct sh_call *c = &cc->c;
    struct sh_cudnn_decision d = sh_decide_cudnn_compute(&sh_policy, compute);
    cc->desc = true;
    c->compute = c->compute_used = sh_dnn_cuda_type(compute);
    c->action = d.action;
    if (d.action != SH_ACT_UPCAST)
        return compute;
    /* Without a place to remember the program's value, the getters would
     * answer FLOAT: leave the descriptor as the program made it. */
    if (!sh_dnn_own_put(desc, compute)) {
        sh_warn_once(&warned_table_full,
                     "too many cuDNN descriptors with a HALF compute type; further ones keep "
                     "FP16 computation");
        c->action = SH_ACT_FALLBACK;
        return compute;
    }
    c->compute_used = sh_dnn_cuda_type(d.compute_used);
    return d.compute_used;
}

void sh_dnn_desc_done(const void *desc, int own, int used, bool had_old, int old,
                      cudnnStatus_t status)
{
    if (status != CUDNN_STATUS_SUCCESS) {
        /* cuDNN kept the descriptor as it was (e.g. set after finalize). */
        if (had_old)
            sh_dnn_own_put(desc, old);
        else if (used != own)
            sh_dnn_own_del(desc);
    } else if (used == own) {
        sh_dnn_own_del(desc);
    }
}

void sh_dnn_call_compute(struct sh_call *c, const void *desc, int used)
{
    int own = 0;
    bool held = sh_dnn_own_get(desc, &own);
    sh_dnn_set_compute(c, held, own, used);
}

void sh_dnn_set_compute(struct sh_call *c, bool held, int own, int used)
{
    if (held && own != used) {
        c->compute = sh_dnn_cuda_type(own);
        c->compute_used = sh_dnn_cuda_type(used);
        c->action = SH_ACT_UPCAST;
        return;
    }
    struct sh_cudnn_decision d = sh_decide_cudnn_compute(&sh_policy, used);
    c->compute = c->compute_used = sh_dnn_cuda_type(used);
    /* A HALF the policy wanted rewritten but the descriptor kept. */
    c->action = d.action == SH_ACT_UPCAST ? SH_ACT_FALLBACK : d.action;
}

/* ---- descriptor hooks ---------------------------------------------------------- */

/* The wrapper clears only the generic record (struct sh_call): every hook
 * starts by clearing the cuDNN part it may leave unset. */
static void reset(struct cudnn_call *cc)
{
    cc->h = NULL;
    cc->nout = cc->nin = 0;
    cc->attr = -1;
    cc->desc = false;
    cc->native_graph = false;
}

/* Each set hook makes the real call itself, so the table follows what
 * cuDNN actually stored. */
#define SET_DESC(cc, desc, compute, real_call)                                      \
    do {                                                                            \
        int old_ = 0, own_ = (int)(compute);                                          \
        bool had_ = sh_dnn_own_get(desc, &old_);                                    \
        cudnnDataType_t used_ = (cudnnDataType_t)sh_dnn_decide_desc(cc, desc, own_); \
        (cc)->c.status = (real_call);                                               \
        sh_dnn_desc_done(desc, own_, (int)used_, had_, old_, (cudnnStatus_t)(cc)->c.status); \
    } while (0)

static bool sh_hook_set_conv2d(struct cudnn_call *cc, cudnnConvolutionDescriptor_t d, int pad_h,
                               int pad_w, int u, int v, int dilation_h, int dilation_w,
                               cudnnConvolutionMode_t mode, cudnnDataType_t compute)
{
    reset(cc);
    sh_fn_cudnnSetConvolution2dDescriptor real =
        (sh_fn_cudnnSetConvolution2dDescriptor)cc->c.real;
    SET_DESC(cc, d, compute,
             real(d, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, used_));
    return true;
}

static bool sh_hook_set_conv_nd(struct cudnn_call *cc, cudnnConvolutionDescriptor_t d, int n,
                                const int pad[], const int stride[], const int dilation[],
                                cudnnConvolutionMode_t mode, cudnnDataType_t compute)
{
    reset(cc);
    sh_fn_cudnnSetConvolutionNdDescriptor real =
        (sh_fn_cudnnSetConvolutionNdDescriptor)cc->c.real;
    SET_DESC(cc, d, compute, real(d, n, pad, stride, dilation, mode, used_));
    return true;
}

static bool sh_hook_set_reduce(struct cudnn_call *cc, cudnnReduceTensorDescriptor_t d,
                               cudnnReduceTensorOp_t op, cudnnDataType_t compute,
                               cudnnNanPropagation_t nan, cudnnReduceTensorIndices_t indices,
                               cudnnIndicesType_t index_type)
{
    reset(cc);
    sh_fn_cudnnSetReduceTensorDescriptor real = (sh_fn_cudnnSetReduceTensorDescriptor)cc->c.real;
    SET_DESC(cc, d, compute, real(d, op, used_, nan, indices, index_type));
    return true;
}

static bool sh_hook_set_optensor(struct cudnn_call *cc, cudnnOpTensorDescriptor_t d,
                                 cudnnOpTensorOp_t op, cudnnDataType_t compute,
                                 cudnnNanPropagation_t nan)
{
    reset(cc);
    sh_fn_cudnnSetOpTensorDescriptor real = (sh_fn_cudnnSetOpTensorDescriptor)cc->c.real;
    SET_DESC(cc, d, compute, real(d, op, used_, nan));
    return true;
}

/* The getters answer the program's own compute type, as cublasGetMathMode
 * answers its own math mode. */
static void own_compute(cudnnStatus_t s, const void *d, cudnnDataType_t *compute)
{
    int own;
    if (s == CUDNN_STATUS_SUCCESS && compute && sh_dnn_own_get(d, &own))
        *compute = (cudnnDataType_t)own;
}

static bool sh_hook_get_conv2d(struct cudnn_call *cc, const cudnnConvolutionDescriptor_t d,
                               int *pad_h, int *pad_w, int *u, int *v, int *dilation_h,
                               int *dilation_w, cudnnConvolutionMode_t *mode,
                               cudnnDataType_t *compute)
{
    reset(cc);
    sh_fn_cudnnGetConvolution2dDescriptor real =
        (sh_fn_cudnnGetConvolution2dDescriptor)cc->c.real;
    cc->c.status = real(d, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, compute);
    own_compute((cudnnStatus_t)cc->c.status, d, compute);
    return true;
}

static bool sh_hook_get_conv_nd(struct cudnn_call *cc, const cudnnConvolutionDescriptor_t d,
                                int requested, int *n, int pad[], int stride[], int dilation[],
                                cudnnConvolutionMode_t *mode, cudnnDataType_t *compute)
{
    reset(cc);
    sh_fn_cudnnGetConvolutionNdDescriptor real =
        (sh_fn_cudnnGetConvolutionNdDescriptor)cc->c.real;
    cc->c.status = real(d, requested, n, pad, stride, dilation, mode, compute);
    own_compute((cudnnStatus_t)cc->c.status, d, compute);
    return true;
}

static bool sh_hook_get_reduce(struct cudnn_call *cc, const cudnnReduceTensorDescriptor_t d,
                               cudnnReduceTensorOp_t *op, cudnnDataType_t *compute,
                               cudnnNanPropagation_t *nan, cudnnReduceTensorIndices_t *indices,
                               cudnnIndicesType_t *index_type)
{
    reset(cc);
    sh_fn_cudnnGetReduceTensorDescriptor real = (sh_fn_cudnnGetReduceTensorDescriptor)cc->c.real;
    cc->c.status = real(d, op, compute, nan, indices, index_type);
    own_compute((cudnnStatus_t)cc->c.status, d, compute);
    return true;
}

static bool sh_hook_get_optensor(struct cudnn_call *cc, const cudnnOpTensorDescriptor_t d,
                                 cudnnOpTensorOp_t *op, cudnnDataType_t *compute,
                                 cudnnNanPropagation_t *nan)
{
    reset(cc);
    sh_fn_cudnnGetOpTensorDescriptor real = (sh_fn_cudnnGetOpTensorDescriptor)cc->c.real;
    cc->c.status = real(d, op, compute, nan);
    own_compute((cudnnStatus_t)cc->c.status, d, compute);
    return true;
}

/* Forgotten before cuDNN frees it: afterwards another thread may already
 * hold a new descriptor at the same address. */
static bool sh_hook_destroy_desc(struct cudnn_call *cc, const void *d)
{
    reset(cc);
    sh_dnn_own_del(d);
    return false;
}

static bool sh_hook_create(struct cudnn_call *cc, cudnnHandle_t *handle)
{
    reset(cc);
    cc->c.status = ((sh_fn_cudnnCreate)cc->c.real)(handle);
    /* A working handle means a working driver: load the kernels now, before
     * the program can start capturing a graph. */
    if (cc->c.status == CUDNN_STATUS_SUCCESS && sh_driver_ready())
        sh_check_prepare(NULL);
    return true;
}

/* ---- tensors -------------------------------------------------------------------- */

long long sh_dnn_elems(const struct sh_dnn_tensor *t)
{
    long long n = 1;
    for (int i = 0; i < t->nd; i++)
        n *= t->dim[i];
    return n;
}

long long sh_dnn_spatial(const struct sh_dnn_tensor *t)
{
    long long n = 1;
    for (int i = 2; i < t->nd; i++)
        n *= t->dim[i];
    return n;
}

static bool tensor_of(cudnnTensorDescriptor_t d, struct sh_dnn_tensor *t)
{
    sh_fn_cudnnGetTensorNdDescriptor get = REAL(sh_cudnn, cudnnGetTensorNdDescriptor);
    cudnnDataType_t type;
    int nd, dim[SH_DNN_DIMS], stride[SH_DNN_DIMS];
    if (!get || get(d, SH_DNN_DIMS, &type, &nd, dim, stride) != CUDNN_STATUS_SUCCESS || nd < 1 ||
        nd > SH_DNN_DIMS)
        return false;
    t->type = (int)type;
    t->nd = nd;
    for (int i = 0; i < nd; i++) {
        t->dim[i] = dim[i];
        t->stride[i] = stride[i];
    }
    return true;
}

/* A filter's strides are those of its format, packed: [K, C, spatial...]
 * row-major for NCHW; NHWC stores K, then the spatial dims, then C. */
static bool filter_of(cudnnFilterDescriptor_t d, struct sh_dnn_tensor *t)
{
    sh_fn_cudnnGetFilterNdDescriptor get = REAL(sh_cudnn, cudnnGetFilterNdDescriptor);
    cudnnDataType_t type;
    cudnnTensorFormat_t format;
    int nd, dim[SH_DNN_DIMS];
    if (!get || get(d, SH_DNN_DIMS, &type, &format, &nd, dim) != CUDNN_STATUS_SUCCESS ||
        nd < 3 || nd > SH_DNN_DIMS || format == CUDNN_TENSOR_NCHW_VECT_C)
        return false;
    t->type = (int)type;
    t->nd = nd;
    long long s = 1;
    for (int i = 0; i < nd; i++)
        t->dim[i] = dim[i];
    if (format == CUDNN_TENSOR_NHWC) {
        t->stride[1] = 1;
        s = dim[1];
        for (int i = nd - 1; i >= 2; i--) {
            t->stride[i] = s;
            s *= dim[i];
        }
        t->stride[0] = s;
    } else {
        for (int i = nd - 1; i >= 0; i--) {
            t->stride[i] = s;
            s *= dim[i];
        }
    }
    return true;
}

/* ---- the compute calls ------------------------------------------------------------ */

static bool scan_type(int cudnn_type, enum sh_scan_type *out);

static void set_input(struct cudnn_call *cc, int i, const char *name,
                      const struct sh_dnn_tensor *t, const void *p)
{
    cc->in_name[i] = name;
    cc->in[i] = *t;
    cc->in_ptr[i] = p;
    cc->nin = i + 1;
}

void sh_dnn_describe(struct sh_call *c, const struct sh_dnn_out *o)
{
    c->m = o->m;
    c->n = o->n;
    c->k = o->k;
    c->batch = o->batch;
    c->atype = o->atype;
    c->btype = o->btype;
    c->ctype = o->ctype;
}

static void conv_compute(struct cudnn_call *cc, cudnnConvolutionDescriptor_t cd)
{
    sh_fn_cudnnGetConvolutionNdDescriptor get = REAL(sh_cudnn, cudnnGetConvolutionNdDescriptor);
    int n, pad[SH_DNN_DIMS], stride[SH_DNN_DIMS], dil[SH_DNN_DIMS];
    cudnnConvolutionMode_t mode;
    cudnnDataType_t used;
    if (get && get(cd, SH_DNN_DIMS - 2, &n, pad, stride, dil, &mode, &used) ==
                   CUDNN_STATUS_SUCCESS)
        sh_dnn_call_compute(&cc->c, cd, (int)used);
    else
        cc->c.compute = cc->c.compute_used = -1;
}

/* The convolution as the implicit GEMM that computes it, out = A x B with
 * a reduction of length k. a and b are its two operands' tensors (named
 * na and nb in records), o its output. */
static void conv_out(struct cudnn_call *cc, cudnnConvolutionDescriptor_t cd, long long m,
                     long long n, long long k, const char *na, const struct sh_dnn_tensor *a,
                     const void *pa, const char *nb, const struct sh_dnn_tensor *b,
                     const void *pb, const struct sh_dnn_tensor *out, const void *po)
{
    struct sh_dnn_out *o = &cc->out[0];
    *o = (struct sh_dnn_out){ .t = *out, .ptr = po, .m = m, .n = n, .k = k, .batch = 1,
                              .atype = sh_dnn_cuda_type(a->type),
                              .btype = sh_dnn_cuda_type(b->type),
                              .ctype = sh_dnn_cuda_type(out->type) };
    set_input(cc, 0, na, a, pa);
    set_input(cc, 1, nb, b, pb);
    conv_compute(cc, cd);
    o->compute = cc->c.compute;
    o->compute_used = cc->c.compute_used;
    cc->nout = 1;
    cc->c.gemm = true;
    sh_dnn_describe(&cc->c, o);
}

/* An input the call scales by a host factor (beta, the fused forward's
 * alpha2), for SAFEHALF_CHECK_INPUTS: only when the factor is not 0, as
 * cuDNN reads it only then. Factors are host floats for the output types
 * checked. */
static void scaled_input(struct cudnn_call *cc, const void *scale, const char *name,
                         const struct sh_dnn_tensor *t, const void *p)
{
    enum sh_scan_type st;
    if (!cc->nout || !sh_policy.check_inputs || !scale || !scan_type(cc->out[0].t.type, &st) ||
        *(const float *)scale == 0.0f)
        return;
    set_input(cc, cc->nin, name, t, p);
}

/* beta != 0 blends the output's old contents in, so the output is an input
 * too; the scans run after the call and cannot read it as it was, so it is
 * listed as an input sharing the output's memory (check_out leaves it out:
 * unknown). */
static void beta_input(struct cudnn_call *cc, const void *beta, const char *name)
{
    scaled_input(cc, beta, name, &cc->out[0].t, cc->out[0].ptr);
}

/* Forward: y [N, K, out...] = x * w; GEMM m = N x output positions, n = K,
 * k = C/groups x filter taps (w is [K, C/groups, taps...]). */
static void conv_fwd_out(struct cudnn_call *cc, cudnnHandle_t h, const cudnnTensorDescriptor_t xd,
                         const void *x, const cudnnFilterDescriptor_t wd, const void *w,
                         const cudnnConvolutionDescriptor_t cd,
                         const cudnnTensorDescriptor_t yd, void *y)
{
    struct sh_dnn_tensor tx, tw, ty;
    cc->h = h;
    if (!tensor_of(xd, &tx) || !filter_of(wd, &tw) || !tensor_of(yd, &ty) || ty.nd < 2)
        return;
    conv_out(cc, cd, ty.dim[0] * sh_dnn_spatial(&ty), ty.dim[1], tw.dim[1] * sh_dnn_spatial(&tw),
             "x", &tx, x, "w", &tw, w, &ty, y);
}

/* ---- a convolution refused as rewritten ---------------------------------------- */

/* A copy of convolution descriptor cd with compute type own (what the
 * program set): geometry, mode, group count and math type. NULL when cuDNN
 * will not make one. A copy, not cd itself set back for the call: another
 * thread may be using cd meanwhile. */
static cudnnConvolutionDescriptor_t conv_as_set(cudnnConvolutionDescriptor_t cd, int own)
{
    sh_fn_cudnnCreateConvolutionDescriptor create =
        REAL(sh_cudnn, cudnnCreateConvolutionDescriptor);
    sh_fn_cudnnGetConvolutionNdDescriptor get = REAL(sh_cudnn, cudnnGetConvolutionNdDescriptor);
    sh_fn_cudnnSetConvolutionNdDescriptor set = REAL(sh_cudnn, cudnnSetConvolutionNdDescriptor);
    sh_fn_cudnnGetConvolutionGroupCount get_groups = REAL(sh_cudnn, cudnnGetConvolutionGroupCount);
    sh_fn_cudnnSetConvolutionGroupCount set_groups = REAL(sh_cudnn, cudnnSetConvolutionGroupCount);
    sh_fn_cudnnGetConvolutionMathType get_math = REAL(sh_cudnn, cudnnGetConvolutionMathType);
    sh_fn_cudnnSetConvolutionMathType set_math = REAL(sh_cudnn, cudnnSetConvolutionMathType);
    sh_fn_cudnnDestroyConvolutionDescriptor destroy =
        REAL(sh_cudnn, cudnnDestroyConvolutionDescriptor);
    if (!create || !get || !set || !get_groups || !set_groups || !get_math || !set_math ||
        !destroy)
        return NULL;
    int n = 0, pad[CUDNN_DIM_MAX], stride[CUDNN_DIM_MAX], dil[CUDNN_DIM_MAX], groups = 1;
    cudnnConvolutionMode_t mode;
    cudnnDataType_t used;
    cudnnMathType_t math;
    cudnnConvolutionDescriptor_t copy = NULL;
    /* cuDNN answers NOT_SUPPORTED to a request of more than CUDNN_DIM_MAX - 2. */
    if (get(cd, CUDNN_DIM_MAX - 2, &n, pad, stride, dil, &mode, &used) != CUDNN_STATUS_SUCCESS ||
        n < 1 || n > CUDNN_DIM_MAX - 2 ||
        get_groups(cd, &groups) != CUDNN_STATUS_SUCCESS ||
        get_math(cd, &math) != CUDNN_STATUS_SUCCESS || create(&copy) != CUDNN_STATUS_SUCCESS)
        return NULL;
    if (set(copy, n, pad, stride, dil, mode, (cudnnDataType_t)own) != CUDNN_STATUS_SUCCESS ||
        set_groups(copy, groups) != CUDNN_STATUS_SUCCESS ||
        set_math(copy, math) != CUDNN_STATUS_SUCCESS) {
        destroy(copy);
        return NULL;
    }
    return copy;
}

static atomic_bool warned_refused;

/* After a convolution call: when cuDNN refused it with the FP32 compute
 * type the shim set (an FP32 kernel may ask a workspace the program sized
 * for FP16, or the program's algorithm may have no FP32 kernel), a copy of
 * the descriptor as the program set it, for the call to be made again with;
 * the program then gets what cuDNN answers for its own descriptor. NULL
 * when the call stands. */
static cudnnConvolutionDescriptor_t refused_as_rewritten(struct cudnn_call *cc,
                                                         cudnnConvolutionDescriptor_t cd)
{
    int own = 0;
    if ((cc->c.status != CUDNN_STATUS_BAD_PARAM && cc->c.status != CUDNN_STATUS_NOT_SUPPORTED) ||
        !sh_dnn_own_get(cd, &own))
        return NULL;
    return conv_as_set(cd, own);
}

/* The call made again with the program's own descriptor: its status stands
 * (a call refused that way too is the program's own error, said by cuDNN),
 * and the record says the call was made as the program set it. refused:
 * cuDNN's status for the rewritten call. */
static void made_as_set(struct cudnn_call *cc, cudnnConvolutionDescriptor_t copy, int refused)
{
    sh_fn_cudnnDestroyConvolutionDescriptor destroy =
        REAL(sh_cudnn, cudnnDestroyConvolutionDescriptor);
    destroy(copy);
    if (cc->c.status == CUDNN_STATUS_SUCCESS)
        sh_warn_once(&warned_refused,
                     "cuDNN refused %s with the FP32 compute type set in place of the program's "
                     "HALF (status %d; an FP32 kernel may need a larger workspace than the "
                     "program passed); such calls are made again as the program set them, with "
                     "FP16 accumulation",
                     sh_cudnn_syms[cc->c.api], refused);
    cc->c.action = SH_ACT_FALLBACK;
    cc->c.compute_used = cc->c.compute;
    for (int i = 0; i < cc->nout; i++)
        cc->out[i].compute_used = cc->out[i].compute;
}

/* The convolution call, its argument list naming the descriptor conv_: made
 * with the program's descriptor cd, then, if cuDNN refused it as rewritten,
 * again with a copy as the program set it. */
#define CONV_CALL(cc, fn_type, cd, args)                                                  \
    do {                                                                                  \
        fn_type real_ = (fn_type)(cc)->c.real;                                            \
        cudnnConvolutionDescriptor_t conv_ = (cd);                                        \
        (cc)->c.status = real_ args;                                                      \
        if ((conv_ = refused_as_rewritten((cc), (cd))) != NULL) {                         \
            int refused_ = (cc)->c.status;                                                \
            (cc)->c.status = real_ args;                                                  \
            made_as_set((cc), conv_, refused_);                                           \
        }                                                                                 \
    } while (0)

static bool sh_hook_conv_fwd(struct cudnn_call *cc, cudnnHandle_t h, const void *alpha,
                             const cudnnTensorDescriptor_t xd, const void *x,
                             const cudnnFilterDescriptor_t wd, const void *w,
                             const cudnnConvolutionDescriptor_t cd,
                             cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_size,
                             const void *beta, const cudnnTensorDescriptor_t yd, void *y)
{
    reset(cc);
    conv_fwd_out(cc, h, xd, x, wd, w, cd, yd, y);
    beta_input(cc, beta, "y");
    CONV_CALL(cc, sh_fn_cudnnConvolutionForward, cd,
              (h, alpha, xd, x, wd, w, conv_, algo, ws, ws_size, beta, yd, y));
    return true;
}

/* The fused forward, y = act(alpha1 * conv(x, w) + alpha2 * z + bias), is
 * the same GEMM as far as its precision goes: its descriptor is the one the
 * program set (and the shim rewrote). y is checked; with
 * SAFEHALF_CHECK_INPUTS so are x, w, the bias and the residual z (unless
 * alpha2 is 0): an Inf in z or the bias reaches y without being made by
 * the convolution. */
static bool sh_hook_conv_bias_act(struct cudnn_call *cc, cudnnHandle_t h, const void *alpha1,
                                  const cudnnTensorDescriptor_t xd, const void *x,
                                  const cudnnFilterDescriptor_t wd, const void *w,
                                  const cudnnConvolutionDescriptor_t cd,
                                  cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_size,
                                  const void *alpha2, const cudnnTensorDescriptor_t zd,
                                  const void *z, const cudnnTensorDescriptor_t biasd,
                                  const void *bias, const cudnnActivationDescriptor_t ad,
                                  const cudnnTensorDescriptor_t yd, void *y)
{
    reset(cc);
    conv_fwd_out(cc, h, xd, x, wd, w, cd, yd, y);
    struct sh_dnn_tensor tz, tb;
    if (cc->nout && sh_policy.check_inputs) {
        if (tensor_of(zd, &tz))
            scaled_input(cc, alpha2, "z", &tz, z);
        if (tensor_of(biasd, &tb))
            set_input(cc, cc->nin, "bias", &tb, bias);
    }
    CONV_CALL(cc, sh_fn_cudnnConvolutionBiasActivationForward, cd,
              (h, alpha1, xd, x, wd, w, conv_, algo, ws, ws_size, alpha2, zd, z, biasd, bias, ad,
               yd, y));
    return true;
}

/* Backward data: dx [N, C, in...] = dy * w^T; GEMM m = N x input positions,
 * n = C, k = K/groups x filter taps (groups = C / w's C/groups). */
static bool sh_hook_conv_bwd_data(struct cudnn_call *cc, cudnnHandle_t h, const void *alpha,
                                  const cudnnFilterDescriptor_t wd, const void *w,
                                  const cudnnTensorDescriptor_t dyd, const void *dy,
                                  const cudnnConvolutionDescriptor_t cd,
                                  cudnnConvolutionBwdDataAlgo_t algo, void *ws, size_t ws_size,
                                  const void *beta, const cudnnTensorDescriptor_t dxd, void *dx)
{
    reset(cc);
    struct sh_dnn_tensor tw, tdy, tdx;
    cc->h = h;
    if (filter_of(wd, &tw) && tensor_of(dyd, &tdy) && tensor_of(dxd, &tdx) && tdx.nd >= 2) {
        long long groups =
            tw.dim[1] > 0 && tdx.dim[1] % tw.dim[1] == 0 ? tdx.dim[1] / tw.dim[1] : 1;
        conv_out(cc, cd, tdx.dim[0] * sh_dnn_spatial(&tdx), tdx.dim[1],
                 tw.dim[0] / (groups > 0 ? groups : 1) * sh_dnn_spatial(&tw), "dy", &tdy, dy, "w",
                 &tw, w, &tdx, dx);
        beta_input(cc, beta, "dx");
    }
    CONV_CALL(cc, sh_fn_cudnnConvolutionBackwardData, cd,
              (h, alpha, wd, w, dyd, dy, conv_, algo, ws, ws_size, beta, dxd, dx));
    return true;
}

/* Backward filter: dw [K, C/groups, taps...] = x^T * dy; GEMM m = C/groups
 * x filter taps, n = K, k = N x output positions. */
static bool sh_hook_conv_bwd_filter(struct cudnn_call *cc, cudnnHandle_t h, const void *alpha,
                                    const cudnnTensorDescriptor_t xd, const void *x,
                                    const cudnnTensorDescriptor_t dyd, const void *dy,
                                    const cudnnConvolutionDescriptor_t cd,
                                    cudnnConvolutionBwdFilterAlgo_t algo, void *ws,
                                    size_t ws_size, const void *beta,
                                    const cudnnFilterDescriptor_t dwd, void *dw)
{
    reset(cc);
    struct sh_dnn_tensor tx, tdy, tdw;
    cc->h = h;
    if (tensor_of(xd, &tx) && tensor_of(dyd, &tdy) && filter_of(dwd, &tdw)) {
        conv_out(cc, cd, tdw.dim[1] * sh_dnn_spatial(&tdw), tdw.dim[0],
                 tdy.dim[0] * sh_dnn_spatial(&tdy), "x", &tx, x, "dy", &tdy, dy, &tdw, dw);
        beta_input(cc, beta, "dw");
    }
    CONV_CALL(cc, sh_fn_cudnnConvolutionBackwardFilter, cd,
              (h, alpha, xd, x, dyd, dy, conv_, algo, ws, ws_size, beta, dwd, dw));
    return true;
}

/* Reductions and element-wise ops: m = 1, n = C's elements, k = the
 * elements of A reduced into each (1 for cudnnOpTensor). */
static void reduction_out(struct cudnn_call *cc, const struct sh_dnn_tensor *tc, const void *C,
                          long long k, int atype, int btype)
{
    struct sh_dnn_out *o = &cc->out[0];
    *o = (struct sh_dnn_out){ .t = *tc, .ptr = C, .m = 1, .n = sh_dnn_elems(tc), .k = k,
                              .batch = 1, .atype = atype, .btype = btype,
                              .ctype = sh_dnn_cuda_type(tc->type), .compute = cc->c.compute,
                              .compute_used = cc->c.compute_used };
    cc->nout = 1;
    cc->c.reduction = true;
    sh_dnn_describe(&cc->c, o);
}

static bool sh_hook_reduce_tensor(struct cudnn_call *cc, cudnnHandle_t h,
                                  const cudnnReduceTensorDescriptor_t rd, void *indices,
                                  size_t indices_size, void *ws, size_t ws_size,
                                  const void *alpha, const cudnnTensorDescriptor_t ad,
                                  const void *A, const void *beta,
                                  const cudnnTensorDescriptor_t cd, void *C)
{
    reset(cc);
    (void)indices, (void)indices_size, (void)ws, (void)ws_size, (void)alpha;
    sh_fn_cudnnGetReduceTensorDescriptor get = REAL(sh_cudnn, cudnnGetReduceTensorDescriptor);
    struct sh_dnn_tensor ta, tc;
    cudnnReduceTensorOp_t op;
    cudnnDataType_t used;
    cudnnNanPropagation_t nan;
    cudnnReduceTensorIndices_t ind;
    cudnnIndicesType_t it;
    cc->h = h;
    if (!get || get(rd, &op, &used, &nan, &ind, &it) != CUDNN_STATUS_SUCCESS ||
        !tensor_of(ad, &ta) || !tensor_of(cd, &tc) || sh_dnn_elems(&tc) < 1)
        return false;
    sh_dnn_call_compute(&cc->c, rd, (int)used);
    int at = sh_dnn_cuda_type(ta.type);
    reduction_out(cc, &tc, C, sh_dnn_elems(&ta) / sh_dnn_elems(&tc), at, at);
    set_input(cc, 0, "A", &ta, A);
    beta_input(cc, beta, "C");
    return false;
}

static bool sh_hook_op_tensor(struct cudnn_call *cc, cudnnHandle_t h,
                              const cudnnOpTensorDescriptor_t od, const void *alpha1,
                              const cudnnTensorDescriptor_t ad, const void *A,
                              const void *alpha2, const cudnnTensorDescriptor_t bd,
                              const void *B, const void *beta, const cudnnTensorDescriptor_t cd,
                              void *C)
{
    reset(cc);
    (void)alpha1, (void)alpha2;
    sh_fn_cudnnGetOpTensorDescriptor get = REAL(sh_cudnn, cudnnGetOpTensorDescriptor);
    struct sh_dnn_tensor ta, tb, tc;
    cudnnOpTensorOp_t op;
    cudnnDataType_t used;
    cudnnNanPropagation_t nan;
    cc->h = h;
    if (!get || get(od, &op, &used, &nan) != CUDNN_STATUS_SUCCESS || !tensor_of(ad, &ta) ||
        !tensor_of(cd, &tc))
        return false;
    /* SQRT and NOT read A only: B may be anything, even NULL. */
    bool unary = op == CUDNN_OP_TENSOR_SQRT || op == CUDNN_OP_TENSOR_NOT;
    if (unary || !tensor_of(bd, &tb))
        tb = ta, B = NULL;
    sh_dnn_call_compute(&cc->c, od, (int)used);
    reduction_out(cc, &tc, C, 1, sh_dnn_cuda_type(ta.type), sh_dnn_cuda_type(tb.type));
    set_input(cc, 0, "A", &ta, A);
    if (B)
        set_input(cc, 1, "B", &tb, B);
    beta_input(cc, beta, "C");
    return false;
}

/* ---- batch normalization ------------------------------------------------------------ */

/* cuDNN normalizes in FLOAT whatever the 16-bit data (DOUBLE for double
 * data), so there is no compute type to rewrite: these calls are only
 * described and checked. PyTorch's BatchNorm of a half input with float
 * weights (autocast's, or a convnet's in AMP) is
 * cudnnBatchNormalizationForwardTrainingEx, ...ForwardInference in eval and
 * ...BackwardEx. Described as a reduction: m = 1, n = the output's
 * elements, k = the elements each statistic is taken over (N x spatial per
 * channel, N per activation); 1 for inference, which reads the running
 * statistics instead. Inputs are named as cuDNN's parameters. */
static long long bn_k(cudnnBatchNormMode_t mode, const struct sh_dnn_tensor *x)
{
    return mode == CUDNN_BATCHNORM_PER_ACTIVATION ? x->dim[0] : x->dim[0] * sh_dnn_spatial(x);
}

/* The call's output, with the FLOAT compute cuDNN uses (DOUBLE for double
 * data); x and the scale/bias tensor p give the record's two input types. */
static void bn_out(struct cudnn_call *cc, const struct sh_dnn_tensor *t, const void *ptr,
                   long long k, const struct sh_dnn_tensor *x, const struct sh_dnn_tensor *p)
{
    int compute = x->type == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    sh_dnn_set_compute(&cc->c, false, compute, compute);
    reduction_out(cc, t, ptr, k, sh_dnn_cuda_type(x->type), sh_dnn_cuda_type(p->type));
}

static void bn_input(struct cudnn_call *cc, const char *name, const struct sh_dnn_tensor *t,
                     const void *p)
{
    if (p && cc->nin < SH_DNN_INPUTS)
        set_input(cc, cc->nin, name, t, p);
}

/* The forward calls: y from x (and z, added before the activation of
 * BN_ADD_ACTIVATION) with the scale and bias, and in inference the
 * running mean and variance; training computes the statistics from x. */
static void bn_forward(struct cudnn_call *cc, cudnnHandle_t h, cudnnBatchNormMode_t mode,
                       bool training, const cudnnTensorDescriptor_t xd, const void *x,
                       const cudnnTensorDescriptor_t zd, const void *z,
                       const cudnnTensorDescriptor_t yd, void *y,
                       const cudnnTensorDescriptor_t pd, const void *scale, const void *bias,
                       const void *mean, const void *var, const void *beta)
{
    struct sh_dnn_tensor tx, ty, tp, tz;
    cc->h = h;
    if (!tensor_of(xd, &tx) || !tensor_of(yd, &ty) || !tensor_of(pd, &tp) || tx.nd < 2)
        return;
    bn_out(cc, &ty, y, training ? bn_k(mode, &tx) : 1, &tx, &tp);
    bn_input(cc, "x", &tx, x);
    if (z && tensor_of(zd, &tz))
        bn_input(cc, "z", &tz, z);
    bn_input(cc, "bnScale", &tp, scale);
    bn_input(cc, "bnBias", &tp, bias);
    bn_input(cc, "estimatedMean", &tp, mean);
    bn_input(cc, "estimatedVariance", &tp, var);
    beta_input(cc, beta, "y");
}

static bool sh_hook_bn_train(struct cudnn_call *cc, cudnnHandle_t h, cudnnBatchNormMode_t mode,
                             const void *alpha, const void *beta,
                             const cudnnTensorDescriptor_t xd, const void *x,
                             const cudnnTensorDescriptor_t yd, void *y,
                             const cudnnTensorDescriptor_t pd, const void *scale,
                             const void *bias, double factor, void *running_mean,
                             void *running_var, double eps, void *save_mean, void *save_inv_var)
{
    reset(cc);
    (void)alpha, (void)factor, (void)running_mean, (void)running_var, (void)eps;
    (void)save_mean, (void)save_inv_var;
    bn_forward(cc, h, mode, true, xd, x, NULL, NULL, yd, y, pd, scale, bias, NULL, NULL, beta);
    return false;
}

static bool sh_hook_bn_train_ex(struct cudnn_call *cc, cudnnHandle_t h,
                                cudnnBatchNormMode_t mode, cudnnBatchNormOps_t ops,
                                const void *alpha, const void *beta,
                                const cudnnTensorDescriptor_t xd, const void *x,
                                const cudnnTensorDescriptor_t zd, const void *z,
                                const cudnnTensorDescriptor_t yd, void *y,
                                const cudnnTensorDescriptor_t pd, const void *scale,
                                const void *bias, double factor, void *running_mean,
                                void *running_var, double eps, void *save_mean,
                                void *save_inv_var, cudnnActivationDescriptor_t ad, void *ws,
                                size_t ws_size, void *reserve, size_t reserve_size)
{
    reset(cc);
    (void)alpha, (void)factor, (void)running_mean, (void)running_var, (void)eps;
    (void)save_mean, (void)save_inv_var, (void)ad, (void)ws, (void)ws_size, (void)reserve;
    (void)reserve_size;
    /* cuDNN reads z only for BN_ADD_ACTIVATION. */
    if (ops != CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION)
        z = NULL;
    bn_forward(cc, h, mode, true, xd, x, zd, z, yd, y, pd, scale, bias, NULL, NULL, beta);
    return false;
}

static bool sh_hook_bn_infer(struct cudnn_call *cc, cudnnHandle_t h, cudnnBatchNormMode_t mode,
                             const void *alpha, const void *beta,
                             const cudnnTensorDescriptor_t xd, const void *x,
                             const cudnnTensorDescriptor_t yd, void *y,
                             const cudnnTensorDescriptor_t pd, const void *scale,
                             const void *bias, const void *mean, const void *var, double eps)
{
    reset(cc);
    (void)alpha, (void)eps;
    bn_forward(cc, h, mode, false, xd, x, NULL, NULL, yd, y, pd, scale, bias, mean, var, beta);
    return false;
}

/* The backward calls: dx from x, dy, the scale and the saved statistics
 * (used only when both are given; else cuDNN recomputes them from x); the
 * ReLU of the Ex forms masks dy by y first (bnBias is read with it), and
 * BN_ADD_ACTIVATION also writes that masked dy as dz, from dy and y only.
 * dBnScaleResult and dBnBiasResult are FLOAT, not checked. */
static void bn_backward(struct cudnn_call *cc, cudnnHandle_t h, cudnnBatchNormMode_t mode,
                        cudnnBatchNormOps_t ops, const void *beta_data,
                        const cudnnTensorDescriptor_t xd, const void *x,
                        const cudnnTensorDescriptor_t yd, const void *y,
                        const cudnnTensorDescriptor_t dyd, const void *dy,
                        const cudnnTensorDescriptor_t dzd, void *dz,
                        const cudnnTensorDescriptor_t dxd, void *dx,
                        const cudnnTensorDescriptor_t pd, const void *scale, const void *bias,
                        const void *saved_mean, const void *saved_inv_var)
{
    struct sh_dnn_tensor tx, tdy, tdx, tp, ty, tdz;
    bool act = ops == CUDNN_BATCHNORM_OPS_BN_ACTIVATION ||
               ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION;
    cc->h = h;
    if (!tensor_of(xd, &tx) || !tensor_of(dyd, &tdy) || !tensor_of(dxd, &tdx) ||
        !tensor_of(pd, &tp) || tx.nd < 2)
        return;
    bn_out(cc, &tdx, dx, bn_k(mode, &tx), &tx, &tp);
    bn_input(cc, "x", &tx, x);
    int idy = dy ? cc->nin : -1, iy = -1;
    bn_input(cc, "dy", &tdy, dy);
    bn_input(cc, "bnScale", &tp, scale);
    if (act && tensor_of(yd, &ty) && y) {
        iy = cc->nin;
        bn_input(cc, "y", &ty, y);
        bn_input(cc, "bnBias", &tp, bias);
    }
    if (saved_mean && saved_inv_var) {
        bn_input(cc, "savedMean", &tp, saved_mean);
        bn_input(cc, "savedInvVariance", &tp, saved_inv_var);
    }
    beta_input(cc, beta_data, "dx");
    if (ops != CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION || !dz || !tensor_of(dzd, &tdz))
        return;
    /* Two outputs, each named, each naming its own inputs: dx all of
     * them, dz (element-wise, as dx's types) dy and y. */
    struct sh_dnn_out *o = &cc->out[0];
    o->name = "dx";
    o->own_inputs = true;
    o->nin = cc->nin < SH_CHECK_MAX_INPUTS ? cc->nin : SH_CHECK_MAX_INPUTS;
    for (int i = 0; i < o->nin; i++)
        o->in[i] = (signed char)i;
    o = &cc->out[cc->nout++];
    *o = cc->out[0];
    o->t = tdz;
    o->ptr = dz;
    o->name = "dz";
    o->n = sh_dnn_elems(&tdz);
    o->k = 1;
    o->ctype = sh_dnn_cuda_type(tdz.type);
    o->nin = 0;
    if (idy >= 0)
        o->in[o->nin++] = (signed char)idy;
    if (iy >= 0)
        o->in[o->nin++] = (signed char)iy;
}

static bool sh_hook_bn_bwd(struct cudnn_call *cc, cudnnHandle_t h, cudnnBatchNormMode_t mode,
                           const void *alpha_data, const void *beta_data,
                           const void *alpha_param, const void *beta_param,
                           const cudnnTensorDescriptor_t xd, const void *x,
                           const cudnnTensorDescriptor_t dyd, const void *dy,
                           const cudnnTensorDescriptor_t dxd, void *dx,
                           const cudnnTensorDescriptor_t pd, const void *scale, void *dscale,
                           void *dbias, double eps, const void *saved_mean,
                           const void *saved_inv_var)
{
    reset(cc);
    (void)alpha_data, (void)alpha_param, (void)beta_param, (void)dscale, (void)dbias, (void)eps;
    bn_backward(cc, h, mode, CUDNN_BATCHNORM_OPS_BN, beta_data, xd, x, NULL, NULL, dyd, dy, NULL,
                NULL, dxd, dx, pd, scale, NULL, saved_mean, saved_inv_var);
    return false;
}

static bool sh_hook_bn_bwd_ex(struct cudnn_call *cc, cudnnHandle_t h, cudnnBatchNormMode_t mode,
                              cudnnBatchNormOps_t ops, const void *alpha_data,
                              const void *beta_data, const void *alpha_param,
                              const void *beta_param, const cudnnTensorDescriptor_t xd,
                              const void *x, const cudnnTensorDescriptor_t yd, const void *y,
                              const cudnnTensorDescriptor_t dyd, const void *dy,
                              const cudnnTensorDescriptor_t dzd, void *dz,
                              const cudnnTensorDescriptor_t dxd, void *dx,
                              const cudnnTensorDescriptor_t pd, const void *scale,
                              const void *bias, void *dscale, void *dbias, double eps,
                              const void *saved_mean, const void *saved_inv_var,
                              cudnnActivationDescriptor_t ad, void *ws, size_t ws_size,
                              void *reserve, size_t reserve_size)
{
    reset(cc);
    (void)alpha_data, (void)alpha_param, (void)beta_param, (void)dscale, (void)dbias, (void)eps;
    (void)ad, (void)ws, (void)ws_size, (void)reserve, (void)reserve_size;
    bn_backward(cc, h, mode, ops, beta_data, xd, x, yd, y, dyd, dy, dzd, dz, dxd, dx, pd, scale,
                bias, saved_mean, saved_inv_var);
    return false;
}

/* ---- graph API entry points (cudnn_graph.c) --------------------------------------- */

static bool sh_hook_backend_set(struct cudnn_call *cc, cudnnBackendDescriptor_t d,
                                cudnnBackendAttributeName_t name,
                                cudnnBackendAttributeType_t type, int64_t count,
                                const void *elems)
{
    reset(cc);
    return sh_dnn_graph_set(cc, d, name, type, count, elems);
}

static bool sh_hook_backend_get(struct cudnn_call *cc, cudnnBackendDescriptor_t const d,
                                cudnnBackendAttributeName_t name,
                                cudnnBackendAttributeType_t type, int64_t requested,
                                int64_t *count, void *elems)
{
    reset(cc);
    return sh_dnn_graph_get(cc, d, name, type, requested, count, elems);
}

static bool sh_hook_backend_destroy(struct cudnn_call *cc, cudnnBackendDescriptor_t d)
{
    reset(cc);
    sh_dnn_own_del(d);
    sh_dnn_graph_destroy(d);
    return false;
}

static bool sh_hook_backend_execute(struct cudnn_call *cc, cudnnHandle_t h,
                                    cudnnBackendDescriptor_t plan, cudnnBackendDescriptor_t pack)
{
    reset(cc);
    return sh_dnn_graph_execute(cc, h, plan, pack);
}

/* cuDNN's own way into a CUDA graph (cudnn-frontend's populate_cuda_graph
 * and update_cuda_graph): the plan's kernels become nodes of the program's
 * graph, among which the shim has no place to put a scan, so their outputs
 * go unchecked. Described as an Execute of the plan would be (the upcast
 * of its descriptors holds all the same), counted, said once. */
static bool sh_hook_backend_native_graph(struct cudnn_call *cc, cudnnHandle_t h,
                                         cudnnBackendDescriptor_t plan,
                                         cudnnBackendDescriptor_t pack, cudaGraph_t graph)
{
    reset(cc);
    sh_dnn_graph_execute(cc, h, plan, pack);
    cc->native_graph = true;
    /* Both entry points have this prototype. */
    cc->c.status = ((sh_fn_cudnnBackendPopulateCudaGraph)cc->c.real)(h, plan, pack, graph);
    return true;
}

/* ---- the check after a call ----------------------------------------------------------- */

static const char *data_type_name(int t);
static const struct sh_check_names dnn_names = { data_type_name, data_type_name };

static bool scan_type(int cudnn_type, enum sh_scan_type *out)
{
    return sh_cuda_scan_type(sh_dnn_cuda_type(cudnn_type), out);
}

/* A tensor in the scan kernels' layout: its dims (size-1 ones dropped)
 * taken in order of increasing stride and merged where one continues the
 * other, must come to at most three runs: rows (stride 1), columns (ld) and
 * a batch. Anything else (a broadcast stride of 0, dims that overlap, more
 * than three separate runs) is not scanned: reading it as a matrix would
 * either miss elements or read padding that is not the tensor's. The
 * element order of `first` in records is then memory order. */
static bool sh_dnn_layout(const struct sh_dnn_tensor *t, const void *p, struct sh_matrix *m)
{
    long long d[SH_DNN_DIMS], s[SH_DNN_DIMS];
    int n = 0;
    if (!p || !scan_type(t->type, &m->type))
        return false;
    for (int i = 0; i < t->nd; i++) {
        if (t->dim[i] < 1)
            return false;
        if (t->dim[i] == 1)
            continue;
        if (t->stride[i] < 1)
            return false;
        int j = n++;
        for (; j > 0 && s[j - 1] > t->stride[i]; j--)
            d[j] = d[j - 1], s[j] = s[j - 1];
        d[j] = t->dim[i];
        s[j] = t->stride[i];
    }
    long long run_d[SH_DNN_DIMS], run_s[SH_DNN_DIMS];
    int runs = 0;
    for (int i = 0; i < n; i++) {
        if (runs && s[i] == run_s[runs - 1] * run_d[runs - 1]) {
            run_d[runs - 1] *= d[i];
            continue;
        }
        if (runs && s[i] < run_s[runs - 1] * run_d[runs - 1])
            return false; /* overlapping */
        run_d[runs] = d[i];
        run_s[runs++] = s[i];
    }
    unsigned long long r = 1, c = 1, ld = 1, b = 1, bs = 0;
    if (runs > 3 || (runs > 0 && run_s[0] != 1 && runs == 3))
        return false;
    int i = 0;
    if (runs > 0 && run_s[0] == 1)
        r = (unsigned long long)run_d[i++];
    if (i < runs) {
        c = (unsigned long long)run_d[i];
        ld = (unsigned long long)run_s[i++];
    } else {
        ld = r;
    }
    if (i < runs) {
        b = (unsigned long long)run_d[i];
        bs = (unsigned long long)run_s[i++];
    }
    *m = (struct sh_matrix){ .type = m->type, .base = p, .rows = r, .cols = c, .ld = ld,
                             .stride = bs, .batch = b };
    return true;
}

/* Bytes from a tensor's first element to the end of its last, by its
 * type's size (0 for a type no scan reads). */
static unsigned long long extent(const struct sh_dnn_tensor *t)
{
    enum sh_scan_type st;
    if (!scan_type(t->type, &st))
        return 0;
    unsigned long long last = 0;
    for (int i = 0; i < t->nd; i++)
        if (t->dim[i] > 1 && t->stride[i] > 0)
            last += (unsigned long long)(t->dim[i] - 1) * (unsigned long long)t->stride[i];
    return (last + 1) * (t->type == CUDNN_DATA_FLOAT ? 4 : 2);
}

/* An input sharing memory with the output (cudnnConvolutionBiasActivationForward's
 * residual z is usually y itself) holds the output by the time the scans,
 * which follow the call on its stream, read it: it is not scanned, and the
 * record's inputs_finite says unknown rather than blame or clear it. */
static bool overlaps(const struct sh_dnn_tensor *a, const void *pa, const struct sh_dnn_tensor *b,
                     const void *pb)
{
    uintptr_t x = (uintptr_t)pa, y = (uintptr_t)pb;
    return x < y + extent(b) && y < x + extent(a);
}

static void check_out(const struct cudnn_call *cc, const struct sh_dnn_out *o, void *stream)
{
    const struct sh_call *c = &cc->c;
    struct sh_check_call k = { .api = sh_cudnn_syms[c->api], .names = &dnn_names,
                               .counts = &counts[c->api].checks, .seq = c->seq, .m = o->m,
                               .n = o->n, .k = o->k, .batch = o->batch, .atype = o->atype,
                               .btype = o->btype, .ctype = o->ctype, .compute = o->compute,
                               .compute_used = o->compute_used, .stream = stream,
                               .caller = c->caller, .site = c->site };
    if (!sh_dnn_layout(&o->t, o->ptr, &k.out))
        return;
    k.out_name = cc->nout > 1 ? o->name : NULL;
    if (sh_policy.check_inputs && (o->own_inputs || cc->nout == 1)) {
        k.nin = o->own_inputs ? o->nin : cc->nin;
        if (k.nin > SH_CHECK_MAX_INPUTS)
            k.nin = SH_CHECK_MAX_INPUTS;
        for (int i = 0; i < k.nin; i++) {
            int s = o->own_inputs ? o->in[i] : i;
            if (s >= 0 && !overlaps(&cc->in[s], cc->in_ptr[s], &o->t, o->ptr) &&
                sh_dnn_layout(&cc->in[s], cc->in_ptr[s], &k.in[i]))
                k.in_name[i] = cc->in_name[s];
        }
    }
    sh_check_submit(&k);
}

/* After a shaped call: its call site, then, if it succeeded, the check of
 * each half-precision output on the handle's stream. */
static void after(struct cudnn_call *cc, cudnnStatus_t status)
{
    struct sh_call *c = &cc->c;
    cudaStream_t stream;
    if (!c->gemm && !c->reduction)
        return;
    if (sh_site_tracked(c))
        sh_site_enter(c, sh_cudnn_syms[c->api], &dnn_names);
    if (status != CUDNN_STATUS_SUCCESS)
        return;
    if (cc->native_graph) {
        int ctypes[SH_DNN_OUTS], n = 0;
        for (int i = 0; i < cc->nout; i++) {
            enum sh_scan_type t;
            if (scan_type(cc->out[i].t.type, &t))
                ctypes[n++] = cc->out[i].ctype;
        }
        sh_check_native_graph(sh_cudnn_syms[c->api], ctypes, n);
        return;
    }
    sh_fn_cudnnGetStream get_stream = REAL(sh_cudnn, cudnnGetStream);
    bool have_stream = false;
    for (int i = 0; i < cc->nout; i++) {
        const struct sh_dnn_out *o = &cc->out[i];
        enum sh_scan_type t;
        if (!scan_type(o->t.type, &t) || !sh_check_wanted(o->ctype))
            continue;
        if (!have_stream) {
            if (!get_stream || get_stream(cc->h, &stream) != CUDNN_STATUS_SUCCESS)
                return;
            have_stream = true;
        }
        check_out(cc, o, stream);
    }
}

/* ---- the wrappers ----------------------------------------------------------- */

static cudnnStatus_t sh_cudnn_missing(int api)
{
    sh_init();
    sh_warn_once(&sh_cudnn.warned_missing,
                 "%s called, but no real cuDNN is loaded (libcudnn.so.9); returning "
                 "CUDNN_STATUS_NOT_INITIALIZED",
                 sh_cudnn_syms[api]);
    return CUDNN_STATUS_NOT_INITIALIZED;
}

#define SH_WRAPPER(ret, name, params, args, hook) \
    SH_INTERCEPTOR(sh_cudnn, struct cudnn_call, after, ret, name, params, args, hook)
SH_CUDNN_INTERCEPT(SH_WRAPPER)

/* ---- records ------------------------------------------------------------------ */

static const char *data_type_name(int t)
{
    switch (t) {
    case CUDA_R_32F: return "CUDNN_DATA_FLOAT";
    case CUDA_R_64F: return "CUDNN_DATA_DOUBLE";
    case CUDA_R_16F: return "CUDNN_DATA_HALF";
    case CUDA_R_16BF: return "CUDNN_DATA_BFLOAT16";
    case CUDA_R_8I: return "CUDNN_DATA_INT8";
    case CUDA_R_8U: return "CUDNN_DATA_UINT8";
    case CUDA_R_32I: return "CUDNN_DATA_INT32";
    case CUDA_R_64I: return "CUDNN_DATA_INT64";
    case CUDA_R_8F_E4M3: return "CUDNN_DATA_FP8_E4M3";
    case CUDA_R_8F_E5M2: return "CUDNN_DATA_FP8_E5M2";
    case SH_DNN_UNMAPPED + CUDNN_DATA_INT8x4: return "CUDNN_DATA_INT8x4";
    case SH_DNN_UNMAPPED + CUDNN_DATA_INT8x32: return "CUDNN_DATA_INT8x32";
    case SH_DNN_UNMAPPED + CUDNN_DATA_UINT8x4: return "CUDNN_DATA_UINT8x4";
    case SH_DNN_UNMAPPED + CUDNN_DATA_BOOLEAN: return "CUDNN_DATA_BOOLEAN";
    default: return NULL;
    }
}

static void log_call(const struct sh_call *c, int status)
{
    const struct cudnn_call *cc = (const struct cudnn_call *)c;
    char buf[1024];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "call");
    sh_json_str(&j, "api", sh_cudnn_syms[c->api]);
    sh_json_uint(&j, "seq", c->seq);
    if (c->api == SH_API_cudnnBackendSetAttribute || c->api == SH_API_cudnnBackendGetAttribute)
        sh_json_int(&j, "attr", cc->attr);
    if (c->gemm || c->reduction)
        sh_call_json_shape(&j, c, &dnn_names);
    if (c->gemm || c->reduction || cc->desc) {
        sh_json_name(&j, "compute", data_type_name(c->compute), c->compute);
        sh_json_name(&j, "compute_used", data_type_name(c->compute_used), c->compute_used);
        sh_json_str(&j, "action", sh_action_name(c->action));
    }
    sh_json_int(&j, "status", status);
    sh_log_write(&j);
}

static void describe(struct sh_json *j)
{
    sh_fn_cudnnGetVersion get = REAL(sh_cudnn, cudnnGetVersion);
    sh_json_open(j, "cudnn", '{');
    sh_json_str(j, "path", sh_lib_path(&sh_cudnn));
    if (get)
        sh_json_int(j, "version", (long long)get());
    else
        sh_json_str(j, "version", NULL);
    sh_json_close(j, '}');
}
