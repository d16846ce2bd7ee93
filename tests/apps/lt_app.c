/* lt_app: an ordinary cuBLASLt program (it knows nothing of safehalf) that
 * computes D = alpha * op(A) op(B) + beta * C with cublasLtMatmul and prints
 * what it got, one `key=value` per line.
 *
 *   lt_app [--m M] [--n N] [--k K] [--value V] [--b-value W]
 *          [--alpha X] [--beta Y] [--c-value Z]
 *          [--type 16F|16BF|32F]
 *          [--compute 16F|16F_PEDANTIC|32F|32F_PEDANTIC|32F_FAST_16F]
 *          [--scale 16F|32F] [--pointer-mode host|device]
 *          [--algo null|heuristic|output-type] [--pref-mask MASK] [--init]
 *          [--set-compute C2] [--epilogue E] [--aux-value X] [--aux-ld L]
 *          [--bias-value B] [--batch N] [--order col|row] [--transa] [--transb]
 *          [--lt-handle lt|cublas] [--calls N] [--workspace BYTES]
 *          [--late-shape] [--copy-layouts] [--churn N] [--pointer-array]
 *          [--in-place] [--bias-stride S] [--misalign BYTES] [--fresh-thread]
 *          [--shapes S] [--hot-shape]
 *
 *   --m, --n, --k    sizes (default 64, 64, 4096)
 *   --value V        every element of A (default 1); --b-value W every
 *                    element of B (default 1): each D element is alpha * V*W*k
 *                    + beta * Z (+ bias) in exact arithmetic
 *   --alpha, --beta  default 1 and 0, passed in the scale type (halves for a
 *                    16F scale); --c-value Z fills C (default 0)
 *   --type           A, B, C and D's type (default 16F)
 *   --compute        the descriptor's compute type (default 16F)
 *   --scale          the descriptor's scale type (default 16F for a 16F*
 *                    compute type, else 32F)
 *   --pointer-mode   CUBLASLT_MATMUL_DESC_POINTER_MODE: device copies alpha
 *                    and beta to device memory (default host, not set)
 *   --algo           null: algo NULL; heuristic (default): the first result
 *                    of cublasLtMatmulAlgoGetHeuristic under a preference
 *                    with MAX_WORKSPACE_BYTES = --workspace; output-type:
 *                    that result forced to SPLITK_NUM 4 and REDUCTION_SCHEME
 *                    OUTPUT_TYPE, as a hand-tuned algorithm cache does
 *   --pref-mask MASK also sets the preference's REDUCTION_SCHEME_MASK
 *                    (no effect with --algo null, which has no preference)
 *   --init           cublasLt*Init on the program's own storage instead of
 *                    the *Create calls
 *   --set-compute C2 create the descriptor with --compute, then switch it to
 *                    C2 with cublasLtMatmulDescSetAttribute (and SCALE_TYPE
 *                    too when C2's scale type differs)
 *   --epilogue E     CUBLASLT_MATMUL_DESC_EPILOGUE (set only when given):
 *                    default, relu, bias, relu_bias, gelu, gelu_bias,
 *                    gelu_aux, gelu_aux_bias, dgelu, dgelu_bgrad, bgrada or
 *                    bgradb. The BIAS_POINTER vector, of the D type, holds m
 *                    elements (n with bgradb) per batch member: for bias
 *                    epilogues each --bias-value (default 0; inf and nan as
 *                    strtod reads them), for the bias gradients the output,
 *                    zeroed first
 *   --aux-value X    *_aux and dgelu*: an m x n EPILOGUE_AUX_POINTER matrix
 *                    per batch member, of the D type, column-major, filled
 *                    with X (default 0; dgelu reads it, gelu_aux writes the
 *                    GELU input there); --aux-ld L its EPILOGUE_AUX_LD
 *                    (default m), members L * n elements apart
 *   --bias-stride S  CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE = S (set only
 *                    when given): batch member i adds the m elements S * i
 *                    on; the bias holds m + S * (batch - 1) elements
 *   --in-place       D is C (the same pointer and layout): beta * C reads
 *                    the memory the result goes to
 *   --misalign B     A, B, C and D start B bytes into their allocations
 *                    (which are 256-byte aligned): a slice of a larger
 *                    tensor, aligned only to B's lowest set bit
 *   --batch N        strided batches: BATCH_COUNT and STRIDED_BATCH_OFFSET
 *                    on all four layouts (set when N > 1)
 *   --pointer-array  CUBLASLT_MATRIX_LAYOUT_BATCH_MODE = POINTER_ARRAY on all
 *                    four layouts, no STRIDED_BATCH_OFFSET: A, B, C and D are
 *                    device arrays of --batch pointers (to the same members)
 *   --order          CUBLASLT_MATRIX_LAYOUT_ORDER of all four layouts (set
 *                    only when given)
 *   --transa/b       CUBLASLT_MATMUL_DESC_TRANSA/B = CUBLAS_OP_T, A (B)
 *                    stored k x m (n x k)
 *   --lt-handle      cublas: a cublasHandle_t cast to cublasLtHandle_t, as
 *                    PyTorch passes one (default lt: cublasLtCreate)
 *   --calls N        the same matmul N times (default 1)
 *   --shapes S       the calls go round S problems, m x (n - j) x k for
 *                    j = 0 .. S-1 (S <= n; four layouts each, one D), as a
 *                    model with dynamic shapes makes (default 1)
 *   --hot-shape      with --shapes: every other call is problem 0, the
 *                    calls between go round the other S-1
 *   --fresh-thread   the matmuls are made on the NULL stream by a new thread
 *                    that has made no CUDA call of its own (a worker given
 *                    only the handle): it has no current context until the
 *                    library's call makes one current
 *   --workspace B    bytes of device workspace (default 0)
 *   --late-shape     layouts made 1 x 1 (ld 1), then given their rows,
 *                    columns and ld with cublasLtMatrixLayoutSetAttribute
 *   --copy-layouts   with --init: each layout's storage first holds a 1 x 1
 *                    layout of its own (Init), then the real layout, made by
 *                    Init in other storage, is copied over it with memcpy,
 *                    as a program copying a struct that holds one does
 *   --churn N        before making the objects it uses, N rounds that make
 *                    a descriptor and four layouts the same way (options as
 *                    given) for a smaller problem (round i: m = 1 + i % M,
 *                    n = 1 + i / M % N, k = 1 + (m + n) % 3 clipped to K, every
 *                    other round with --late-shape), run one matmul with
 *                    algo NULL and destroy them (Create), as PyTorch does
 *                    around every matmul; prints churn_reused, the rounds
 *                    whose D layout got the address of one of the round
 *                    before's layouts
 *
 * So the default run (FP16 data, 16F compute, k = 4096, ones) gives
 * d0=2048: the FP16 running sum stops growing there.
 *
 * Output, in this order: status_<call>=<status> for every CUDA or cuBLASLt
 * call that failed (when it failed); churn_reused (with --churn);
 * compute_read and scale_read (what
 * cublasLtMatmulDescGetAttribute returns right before the matmul);
 * algo_splitk and algo_scheme (read back from the algorithm passed, absent
 * with --algo null); matmul_status (of the last matmul made); then d0 (D's
 * first element), dmax (largest finite |D|), ninf, nnan (counts over every
 * batch) and dsum (sum of D, in double); with a bias gradient epilogue
 * then g0, gmax, ginf and gnan, the same of the gradient vector(s); with
 * gelu_aux* aux0, auxmax, auxinf and auxnan of the aux matrices (padding
 * too).
 * Exit status: 0 on success, 1 when the matmul (or waiting for it) failed,
 * 2 when something before it failed, 64 on a bad argument. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "apputil.h"

/* ---- options ------------------------------------------------------------ */

enum algo_kind { ALGO_NULL, ALGO_HEURISTIC, ALGO_OUTPUT_TYPE };

static long long M = 64, N = 64, K = 4096, BATCH = 1;
static double VALUE = 1, BVALUE = 1, ALPHA = 1, BETA = 0, CVALUE = 0, BIASVALUE = 0;
static cudaDataType TYPE = CUDA_R_16F;
static cublasComputeType_t COMPUTE = CUBLAS_COMPUTE_16F, SET_COMPUTE;
static cudaDataType SCALE;
static int HAVE_SCALE, HAVE_SET_COMPUTE, DEVICE_PTR, INIT, TRANSA, TRANSB, CUBLAS_HANDLE;
static enum algo_kind ALGO = ALGO_HEURISTIC;
static long long PREF_MASK = -1;
static int HAVE_EPILOGUE, HAVE_ORDER, ROW_ORDER, CALLS = 1, LATE_SHAPE, COPY_LAYOUTS, CHURN;
static int POINTER_ARRAY, IN_PLACE, HAVE_BIAS_STRIDE, FRESH_THREAD, SHAPES = 1, HOT_SHAPE;
static long long BIAS_STRIDE, AUX_LD;
static double AUXVALUE;
static uint32_t EPILOGUE = CUBLASLT_EPILOGUE_DEFAULT;
static unsigned long long WORKSPACE;
static size_t MISALIGN;

static int parse_type(const char *v, cudaDataType *t)
{
    if (!strcmp(v, "16F"))
        *t = CUDA_R_16F;
    else if (!strcmp(v, "16BF"))
        *t = CUDA_R_16BF;
    else if (!strcmp(v, "32F"))
        *t = CUDA_R_32F;
    else
        return -1;
    return 0;
}

static int parse_scale(const char *v, cudaDataType *t)
{
    return strcmp(v, "16BF") ? parse_type(v, t) : -1;
}

static int parse_compute(const char *v, cublasComputeType_t *c)
{
    static const struct { const char *name; cublasComputeType_t v; } t[] = {
        {"16F", CUBLAS_COMPUTE_16F},
        {"16F_PEDANTIC", CUBLAS_COMPUTE_16F_PEDANTIC},
        {"32F", CUBLAS_COMPUTE_32F},
        {"32F_PEDANTIC", CUBLAS_COMPUTE_32F_PEDANTIC},
        {"32F_FAST_16F", CUBLAS_COMPUTE_32F_FAST_16F},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(v, t[i].name)) {
            *c = t[i].v;
            return 0;
        }
    return -1;
}

static int parse_epilogue(const char *v, uint32_t *e)
{
    if (!strcmp(v, "default"))
        *e = CUBLASLT_EPILOGUE_DEFAULT;
    else if (!strcmp(v, "relu"))
        *e = CUBLASLT_EPILOGUE_RELU;
    else if (!strcmp(v, "bias"))
        *e = CUBLASLT_EPILOGUE_BIAS;
    else if (!strcmp(v, "relu_bias"))
        *e = CUBLASLT_EPILOGUE_RELU_BIAS;
    else if (!strcmp(v, "gelu"))
        *e = CUBLASLT_EPILOGUE_GELU;
    else if (!strcmp(v, "gelu_bias"))
        *e = CUBLASLT_EPILOGUE_GELU_BIAS;
    else if (!strcmp(v, "gelu_aux"))
        *e = CUBLASLT_EPILOGUE_GELU_AUX;
    else if (!strcmp(v, "gelu_aux_bias"))
        *e = CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
    else if (!strcmp(v, "dgelu"))
        *e = CUBLASLT_EPILOGUE_DGELU;
    else if (!strcmp(v, "dgelu_bgrad"))
        *e = CUBLASLT_EPILOGUE_DGELU_BGRAD;
    else if (!strcmp(v, "bgrada"))
        *e = CUBLASLT_EPILOGUE_BGRADA;
    else if (!strcmp(v, "bgradb"))
        *e = CUBLASLT_EPILOGUE_BGRADB;
    else
        return -1;
    return 0;
}

/* The epilogue writes a bias gradient at BIAS_POINTER. */
static int bias_grad(void)
{
    return EPILOGUE == CUBLASLT_EPILOGUE_DGELU_BGRAD || EPILOGUE == CUBLASLT_EPILOGUE_BGRADA ||
           EPILOGUE == CUBLASLT_EPILOGUE_BGRADB;
}

/* Elements of one member's BIAS_POINTER vector. */
static long long bias_len(void)
{
    return EPILOGUE == CUBLASLT_EPILOGUE_BGRADB ? N : M;
}

static int parse_algo(const char *v, enum algo_kind *a)
{
    if (!strcmp(v, "null"))
        *a = ALGO_NULL;
    else if (!strcmp(v, "heuristic"))
        *a = ALGO_HEURISTIC;
    else if (!strcmp(v, "output-type"))
        *a = ALGO_OUTPUT_TYPE;
    else
        return -1;
    return 0;
}

static int parse_choice(const char *v, const char *zero, const char *one, int *out)
{
    if (!strcmp(v, zero))
        *out = 0;
    else if (!strcmp(v, one))
        *out = 1;
    else
        return -1;
    return 0;
}

/* A 16F* compute type takes half scalars; every other one float scalars. */
static cudaDataType default_scale(cublasComputeType_t c)
{
    return c == CUBLAS_COMPUTE_16F || c == CUBLAS_COMPUTE_16F_PEDANTIC ? CUDA_R_16F
                                                                       : CUDA_R_32F;
}

/* ---- elements ----------------------------------------------------------- */

/* Of n elements of the D type: the first, the largest finite magnitude,
 * the Inf and NaN counts and the sum (in double). */
struct stats {
    float first, max;
    long inf, nan;
    double sum;
};

static struct stats stats_of(const void *h, size_t n)
{
    struct stats st = { .first = app_get(h, TYPE, 0) };
    for (size_t i = 0; i < n; i++) {
        float v = app_get(h, TYPE, i);
        if (isnan(v))
            st.nan++;
        else if (isinf(v))
            st.inf++;
        else if (fabsf(v) > st.max)
            st.max = fabsf(v);
        st.sum += v;
    }
    return st;
}

/* An epilogue output's <p>0, <p>max, <p>inf and <p>nan. */
static void summarize(const char *p, const void *h, size_t n)
{
    struct stats st = stats_of(h, n);
    printf("%s0=%.9g\n%smax=%.9g\n%sinf=%ld\n%snan=%ld\n", p, (double)st.first, p,
           (double)st.max, p, st.inf, p, st.nan);
}

/* ---- resources, released by every exit ----------------------------------- */

static cudaStream_t stream;
static cublasHandle_t blas;
static cublasLtHandle_t lt;
static void *dA, *dB, *dC, *dD, *dbias, *daux, *dscal, *dwork;
static void *dbase[4]; /* the allocations A, B, C and D lie in (--misalign) */
static void *dptrs; /* --pointer-array: A's, B's, C's and D's member pointers */
static void *hA, *hB, *hC, *hD, *hbias, *haux;
/* --init keeps the descriptors here; Create allocates them in the library. */
static cublasLtMatmulDescOpaque_t desc_store;
static cublasLtMatrixLayoutOpaque_t layout_store[4], layout_side[4];
static cublasLtMatmulPreferenceOpaque_t pref_store;
static cublasLtMatmulDesc_t desc;
static cublasLtMatrixLayout_t layouts[4]; /* A, B, C, D */
static cublasLtMatmulPreference_t pref;

/* Statuses are checked by the success path only; a failure path is already
 * reporting the status that matters. */
static void release(void)
{
    if (!INIT) {
        if (pref)
            cublasLtMatmulPreferenceDestroy(pref);
        for (int i = 0; i < 4; i++)
            if (layouts[i])
                cublasLtMatrixLayoutDestroy(layouts[i]);
        if (desc)
            cublasLtMatmulDescDestroy(desc);
    }
    pref = NULL;
    memset(layouts, 0, sizeof layouts);
    desc = NULL;
    if (blas)
        cublasDestroy(blas);
    else if (lt)
        cublasLtDestroy(lt);
    blas = NULL;
    lt = NULL;
    dA = dB = dC = dD = NULL;
    void **dev[] = {&dbase[0], &dbase[1], &dbase[2], &dbase[3], &dbias, &daux, &dscal, &dwork,
                    &dptrs};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) {
        if (*dev[i])
            cudaFree(*dev[i]);
        *dev[i] = NULL;
    }
    if (stream)
        cudaStreamDestroy(stream);
    stream = NULL;
    void **host[] = {&hA, &hB, &hC, &hD, &hbias, &haux};
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++) {
        free(*host[i]);
        *host[i] = NULL;
    }
}

static void fail(int code)
{
    fflush(stdout);
    release();
    exit(code);
}

/* Every failed call is reported as status_<function>=<status>: cuBLAS
 * statuses and cudaError_t values alike are plain ints. */
#define CHECK_AS(code, call)                                                               \
    do {                                                                                   \
        int e_ = (int)(call);                                                              \
        if (e_) {                                                                          \
            const char *c_ = #call, *p_ = strchr(c_, '(');                                 \
            int n_ = (int)(p_ ? p_ - c_ : (long)strlen(c_));                               \
            printf("status_%.*s=%d\n", n_, c_, e_);                                        \
            fprintf(stderr, "lt_app: %.*s failed: status %d\n", n_, c_, e_);               \
            fail(code);                                                                    \
        }                                                                                  \
    } while (0)
#define SETUP(call) CHECK_AS(2, call)

static void usage(const char *a, const char *v)
{
    fprintf(stderr, "lt_app: bad argument %s %s\n", a, v);
    exit(64);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        int bad = 0;
        if (!strcmp(a, "--init")) INIT = 1;
        else if (!strcmp(a, "--late-shape")) LATE_SHAPE = 1;
        else if (!strcmp(a, "--copy-layouts")) COPY_LAYOUTS = 1;
        else if (!strcmp(a, "--pointer-array")) POINTER_ARRAY = 1;
        else if (!strcmp(a, "--in-place")) IN_PLACE = 1;
        else if (!strcmp(a, "--transa")) TRANSA = 1;
        else if (!strcmp(a, "--transb")) TRANSB = 1;
        else if (!strcmp(a, "--fresh-thread")) FRESH_THREAD = 1;
        else if (!strcmp(a, "--hot-shape")) HOT_SHAPE = 1;
        else if (i + 1 >= argc) bad = 1;
        /* Every option from here on takes a value: step over it once. */
        else if (i++, !strcmp(a, "--m")) M = atoll(v);
        else if (!strcmp(a, "--n")) N = atoll(v);
        else if (!strcmp(a, "--k")) K = atoll(v);
        else if (!strcmp(a, "--value")) VALUE = atof(v);
        else if (!strcmp(a, "--b-value")) BVALUE = atof(v);
        else if (!strcmp(a, "--alpha")) ALPHA = atof(v);
        else if (!strcmp(a, "--beta")) BETA = atof(v);
        else if (!strcmp(a, "--c-value")) CVALUE = atof(v);
        else if (!strcmp(a, "--bias-value")) BIASVALUE = atof(v);
        else if (!strcmp(a, "--bias-stride")) BIAS_STRIDE = atoll(v), HAVE_BIAS_STRIDE = 1;
        else if (!strcmp(a, "--aux-value")) AUXVALUE = atof(v);
        else if (!strcmp(a, "--aux-ld")) AUX_LD = atoll(v);
        else if (!strcmp(a, "--batch")) BATCH = atoll(v);
        else if (!strcmp(a, "--calls")) CALLS = atoi(v);
        else if (!strcmp(a, "--shapes")) SHAPES = atoi(v);
        else if (!strcmp(a, "--churn")) CHURN = atoi(v);
        else if (!strcmp(a, "--workspace")) WORKSPACE = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--misalign")) MISALIGN = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--pref-mask")) PREF_MASK = strtoll(v, NULL, 0);
        else if (!strcmp(a, "--type")) bad = parse_type(v, &TYPE);
        else if (!strcmp(a, "--compute")) bad = parse_compute(v, &COMPUTE);
        else if (!strcmp(a, "--set-compute"))
            bad = parse_compute(v, &SET_COMPUTE), HAVE_SET_COMPUTE = 1;
        else if (!strcmp(a, "--scale")) bad = parse_scale(v, &SCALE), HAVE_SCALE = 1;
        else if (!strcmp(a, "--pointer-mode"))
            bad = parse_choice(v, "host", "device", &DEVICE_PTR);
        else if (!strcmp(a, "--algo")) bad = parse_algo(v, &ALGO);
        else if (!strcmp(a, "--epilogue")) bad = parse_epilogue(v, &EPILOGUE), HAVE_EPILOGUE = 1;
        else if (!strcmp(a, "--order"))
            bad = parse_choice(v, "col", "row", &ROW_ORDER), HAVE_ORDER = 1;
        else if (!strcmp(a, "--lt-handle")) bad = parse_choice(v, "lt", "cublas", &CUBLAS_HANDLE);
        else bad = 1;
        if (bad)
            usage(a, v);
    }
    if (M < 1 || N < 1 || K < 1 || BATCH < 1 || BATCH > INT32_MAX || CALLS < 1 ||
        PREF_MASK < -1 || PREF_MASK > UINT32_MAX || CHURN < 0 || BIAS_STRIDE < 0) {
        fprintf(stderr, "lt_app: sizes, --batch and --calls must be positive, "
                        "--pref-mask 0..2^32-1, --bias-stride not negative\n");
        exit(64);
    }
    if (SHAPES < 1 || SHAPES > N || (SHAPES > 1 && INIT) || (HOT_SHAPE && SHAPES < 2)) {
        fprintf(stderr, "lt_app: --shapes takes 1..n and no --init; --hot-shape needs "
                        "--shapes 2 or more\n");
        exit(64);
    }
    if (COPY_LAYOUTS && !INIT) {
        fprintf(stderr, "lt_app: --copy-layouts needs --init\n");
        exit(64);
    }
}

/* ---- the program ---------------------------------------------------------- */

struct shape {
    uint64_t rows, cols;
};

static void make_layout(int i, struct shape s, int late)
{
    /* ld strides columns (column-major) or rows (row-major), packed. */
    int64_t ld = (int64_t)(ROW_ORDER ? s.cols : s.rows);
    uint64_t rows = late ? 1 : s.rows, cols = late ? 1 : s.cols;
    int64_t first_ld = late ? 1 : ld;
    if (INIT && COPY_LAYOUTS) {
        layouts[i] = &layout_store[i];
        SETUP(cublasLtMatrixLayoutInit(layouts[i], TYPE, 1, 1, 1));
        SETUP(cublasLtMatrixLayoutInit(&layout_side[i], TYPE, rows, cols, first_ld));
        memcpy(layouts[i], &layout_side[i], sizeof layout_side[i]);
    } else if (INIT) {
        layouts[i] = &layout_store[i];
        SETUP(cublasLtMatrixLayoutInit(layouts[i], TYPE, rows, cols, first_ld));
    } else {
        SETUP(cublasLtMatrixLayoutCreate(&layouts[i], TYPE, rows, cols, first_ld));
    }
    if (late) {
        SETUP(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_ROWS, &s.rows,
                                               sizeof s.rows));
        SETUP(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_COLS, &s.cols,
                                               sizeof s.cols));
        SETUP(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_LD, &ld,
                                               sizeof ld));
    }
    if (HAVE_ORDER) {
        int32_t order = ROW_ORDER ? CUBLASLT_ORDER_ROW : CUBLASLT_ORDER_COL;
        SETUP(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_ORDER, &order,
                                               sizeof order));
    }
    if (BATCH > 1) {
        int32_t count = (int32_t)BATCH;
        int64_t stride = (int64_t)(s.rows * s.cols);
        SETUP(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                               &count, sizeof count));
        if (!POINTER_ARRAY)
            SETUP(cublasLtMatrixLayoutSetAttribute(
                layouts[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
    }
    if (POINTER_ARRAY) {
        uint32_t mode = CUBLASLT_BATCH_MODE_POINTER_ARRAY;
        SETUP(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_MODE,
                                               &mode, sizeof mode));
    }
}

static void *filled(size_t n, float v)
{
    void *p = malloc(n * app_type_size(TYPE));
    if (!p) {
        fprintf(stderr, "lt_app: out of host memory\n");
        fail(2);
    }
    for (size_t i = 0; i < n; i++)
        app_put(p, TYPE, i, v);
    return p;
}

static void *to_device(const void *host, size_t bytes)
{
    void *d = NULL;
    SETUP(cudaMalloc(&d, bytes));
    SETUP(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice));
    return d;
}

/* A matrix, MISALIGN bytes into its allocation *base. */
static void *matrix_to_device(const void *host, size_t bytes, void **base)
{
    SETUP(cudaMalloc(base, bytes + MISALIGN));
    char *d = (char *)*base + MISALIGN;
    SETUP(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice));
    return d;
}

/* The preference and heuristic a program makes to pick its algorithm. */
static void choose_algo(cublasLtMatmulAlgo_t *algo)
{
    if (INIT) {
        pref = &pref_store;
        SETUP(cublasLtMatmulPreferenceInit(pref));
    } else {
        SETUP(cublasLtMatmulPreferenceCreate(&pref));
    }
    uint64_t ws = WORKSPACE;
    SETUP(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &ws, sizeof ws));
    if (PREF_MASK >= 0) {
        uint32_t mask = (uint32_t)PREF_MASK;
        SETUP(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &mask, sizeof mask));
    }
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    memset(&result, 0, sizeof result);
    SETUP(cublasLtMatmulAlgoGetHeuristic(lt, desc, layouts[0], layouts[1], layouts[2],
                                         layouts[3], pref, 1, &result, &found));
    if (found < 1 || result.state != CUBLAS_STATUS_SUCCESS) {
        printf("heuristic_found=%d\nheuristic_state=%d\n", found, (int)result.state);
        fprintf(stderr, "lt_app: the heuristic found no algorithm\n");
        fail(2);
    }
    if (result.workspaceSize > WORKSPACE) {
        fprintf(stderr, "lt_app: the heuristic wants %zu workspace bytes, more than %llu\n",
                result.workspaceSize, WORKSPACE);
        fail(2);
    }
    *algo = result.algo;
    if (ALGO == ALGO_OUTPUT_TYPE) {
        int32_t splitk = 4;
        uint32_t scheme = CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE;
        SETUP(cublasLtMatmulAlgoConfigSetAttribute(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                                                   &splitk, sizeof splitk));
        SETUP(cublasLtMatmulAlgoConfigSetAttribute(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME,
                                                   &scheme, sizeof scheme));
    }
}

static void make_desc(cudaDataType scale)
{
    cudaDataType first_scale = HAVE_SCALE ? SCALE : default_scale(COMPUTE);
    if (INIT) {
        desc = &desc_store;
        SETUP(cublasLtMatmulDescInit(desc, COMPUTE, first_scale));
    } else {
        SETUP(cublasLtMatmulDescCreate(&desc, COMPUTE, first_scale));
    }
    if (HAVE_SET_COMPUTE) {
        int32_t c = (int32_t)SET_COMPUTE;
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &c,
                                             sizeof c));
    }
    if (scale != first_scale) {
        int32_t s = (int32_t)scale;
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, &s,
                                             sizeof s));
    }
    if (DEVICE_PTR) {
        int32_t mode = CUBLASLT_POINTER_MODE_DEVICE;
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &mode,
                                             sizeof mode));
    }
    int32_t op_t = CUBLAS_OP_T;
    if (TRANSA)
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_t,
                                             sizeof op_t));
    if (TRANSB)
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_t,
                                             sizeof op_t));
    if (HAVE_EPILOGUE)
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &EPILOGUE,
                                             sizeof EPILOGUE));
    if ((EPILOGUE & CUBLASLT_EPILOGUE_BIAS) || bias_grad()) {
        const void *bias = dbias;
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                             sizeof bias));
    }
    if (HAVE_BIAS_STRIDE) {
        int64_t stride = BIAS_STRIDE;
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE,
                                             &stride, sizeof stride));
    }
    if (EPILOGUE & 128) { /* the AUX bit: GELU_AUX* and DGELU* */
        const void *aux = daux;
        int64_t ld = AUX_LD, stride = AUX_LD * N;
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                             &aux, sizeof aux));
        SETUP(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ld,
                                             sizeof ld));
        if (BATCH > 1)
            SETUP(cublasLtMatmulDescSetAttribute(
                desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, &stride, sizeof stride));
    }
}

/* The four layouts of an m x n x k problem. */
static void make_layouts(uint64_t m, uint64_t n, uint64_t k, int late)
{
    make_layout(0, TRANSA ? (struct shape){k, m} : (struct shape){m, k}, late);
    make_layout(1, TRANSB ? (struct shape){n, k} : (struct shape){k, n}, late);
    make_layout(2, (struct shape){m, n}, late);
    make_layout(3, (struct shape){m, n}, late);
}

static void destroy_objects(void)
{
    if (INIT)
        return;
    for (int i = 0; i < 4; i++) {
        cublasLtMatrixLayout_t l = layouts[i];
        layouts[i] = NULL;
        SETUP(cublasLtMatrixLayoutDestroy(l));
    }
    cublasLtMatmulDesc_t d = desc;
    desc = NULL;
    SETUP(cublasLtMatmulDescDestroy(d));
}

/* --churn: objects made, used once and destroyed, round after round. */
static void churn(cudaDataType scale, const void *alpha, const void *beta)
{
    long reused = 0;
    cublasLtMatrixLayout_t last[4] = { NULL };
    for (int i = 0; i < CHURN; i++) {
        uint64_t m = 1 + (uint64_t)i % (uint64_t)M, n = 1 + (uint64_t)i / (uint64_t)M % (uint64_t)N,
                 k = 1 + (m + n) % 3;
        if (k > (uint64_t)K)
            k = (uint64_t)K;
        make_desc(scale);
        make_layouts(m, n, k, LATE_SHAPE || i % 2);
        reused += layouts[3] == last[0] || layouts[3] == last[1] || layouts[3] == last[2] ||
                  layouts[3] == last[3];
        memcpy(last, layouts, sizeof last);
        cublasStatus_t st = cublasLtMatmul(lt, desc, alpha, dA, layouts[0], dB, layouts[1], beta,
                                           dC, layouts[2], dD, layouts[3], NULL, dwork,
                                           (size_t)WORKSPACE, stream);
        if (st != CUBLAS_STATUS_SUCCESS) {
            printf("status_cublasLtMatmul=%d\n", (int)st);
            fprintf(stderr, "lt_app: churn round %d: cublasLtMatmul failed: status %d\n", i,
                    (int)st);
            fail(1);
        }
        destroy_objects();
    }
    SETUP(cudaStreamSynchronize(stream));
    printf("churn_reused=%ld\n", reused);
}

/* The matmul's arguments, and the status of the last one made. */
struct calls {
    const void *alpha, *A, *B, *beta, *C;
    void *D;
    const cublasLtMatmulAlgo_t *algo;
    cublasStatus_t status;
};

/* --shapes: the layouts of problems 1 .. S-1 (problem 0's are layouts). */
static cublasLtMatrixLayout_t (*more_layouts)[4];

static void make_more_layouts(void)
{
    cublasLtMatrixLayout_t own[4];
    memcpy(own, layouts, sizeof own);
    more_layouts = calloc((size_t)SHAPES, sizeof *more_layouts);
    if (!more_layouts)
        fail(2);
    for (int j = 1; j < SHAPES; j++) {
        memset(layouts, 0, sizeof layouts);
        make_layouts((uint64_t)M, (uint64_t)(N - j), (uint64_t)K, LATE_SHAPE);
        memcpy(more_layouts[j], layouts, sizeof layouts);
    }
    memcpy(layouts, own, sizeof own);
}

static void destroy_more_layouts(void)
{
    for (int j = 1; more_layouts && j < SHAPES; j++)
        for (int i = 0; i < 4; i++) {
            cublasLtMatrixLayout_t l = more_layouts[j][i];
            more_layouts[j][i] = NULL;
            if (l)
                SETUP(cublasLtMatrixLayoutDestroy(l));
        }
}

static cublasLtMatrixLayout_t *layouts_of_call(int i)
{
    int j = SHAPES < 2 ? 0 : !HOT_SHAPE ? i % SHAPES : i % 2 ? 1 + i / 2 % (SHAPES - 1) : 0;
    return j ? more_layouts[j] : layouts;
}

static void *make_calls(void *arg)
{
    struct calls *c = arg;
    for (int i = 0; i < CALLS && c->status == CUBLAS_STATUS_SUCCESS; i++) {
        cublasLtMatrixLayout_t *l = layouts_of_call(i);
        c->status = cublasLtMatmul(lt, desc, c->alpha, c->A, l[0], c->B, l[1], c->beta, c->C,
                                   l[2], c->D, l[IN_PLACE ? 2 : 3], c->algo, dwork,
                                   (size_t)WORKSPACE, stream);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    /* The scale type the program ends up with decides its scalars' type. */
    cudaDataType scale = HAVE_SCALE         ? SCALE
                         : HAVE_SET_COMPUTE ? default_scale(SET_COMPUTE)
                                            : default_scale(COMPUTE);

    const size_t es = app_type_size(TYPE), nb = (size_t)BATCH;
    const size_t a_elems = (size_t)(M * K), b_elems = (size_t)(K * N), c_elems = (size_t)(M * N);
    hA = filled(a_elems * nb, (float)VALUE);
    hB = filled(b_elems * nb, (float)BVALUE);
    hC = filled(c_elems * nb, (float)CVALUE);
    hD = filled(c_elems * nb, 0.0f);
    const size_t bias_elems =
        (size_t)(bias_len() + (HAVE_BIAS_STRIDE ? BIAS_STRIDE : 0) * (BATCH - 1));
    hbias = filled(bias_elems, bias_grad() ? 0.0f : (float)BIASVALUE);
    if (!AUX_LD)
        AUX_LD = M;
    const size_t aux_elems = (size_t)(AUX_LD * N) * nb;
    haux = filled(aux_elems, (float)AUXVALUE);

    if (!FRESH_THREAD) /* else the NULL stream */
        SETUP(cudaStreamCreate(&stream));
    dA = matrix_to_device(hA, a_elems * nb * es, &dbase[0]);
    dB = matrix_to_device(hB, b_elems * nb * es, &dbase[1]);
    dC = matrix_to_device(hC, c_elems * nb * es, &dbase[2]);
    dD = matrix_to_device(hD, c_elems * nb * es, &dbase[3]);
    if ((EPILOGUE & CUBLASLT_EPILOGUE_BIAS) || bias_grad())
        dbias = to_device(hbias, bias_elems * es);
    if (EPILOGUE & 128)
        daux = to_device(haux, aux_elems * es);
    void *dOut = IN_PLACE ? dC : dD; /* where the result goes */
    if (WORKSPACE)
        SETUP(cudaMalloc(&dwork, (size_t)WORKSPACE));
    /* The matrices as passed: the buffers, or arrays of their members. */
    const void *argA = dA, *argB = dB, *argC = dC;
    void *argD = dOut;
    if (POINTER_ARRAY) {
        const size_t elems[4] = { a_elems, b_elems, c_elems, c_elems };
        char *const base[4] = { dA, dB, dC, dOut };
        const void **ptrs = malloc(4 * nb * sizeof *ptrs);
        if (!ptrs)
            fail(2);
        for (size_t m = 0; m < 4; m++)
            for (size_t b = 0; b < nb; b++)
                ptrs[m * nb + b] = base[m] + b * elems[m] * es;
        dptrs = to_device(ptrs, 4 * nb * sizeof *ptrs);
        free(ptrs);
        const void **arrays = dptrs;
        argA = arrays;
        argB = arrays + nb;
        argC = arrays + 2 * nb;
        argD = (void *)(arrays + 3 * nb);
    }

    if (CUBLAS_HANDLE) {
        SETUP(cublasCreate(&blas));
        lt = (cublasLtHandle_t)blas;
    } else {
        SETUP(cublasLtCreate(&lt));
    }

    /* Both scalars in one buffer: alpha, then beta. */
    unsigned char scal[8];
    size_t ss = app_type_size(scale);
    app_put(scal, scale, 0, (float)ALPHA);
    app_put(scal, scale, 1, (float)BETA);
    const void *alpha = scal, *beta = scal + ss;
    if (DEVICE_PTR) {
        dscal = to_device(scal, 2 * ss);
        alpha = dscal;
        beta = (const char *)dscal + ss;
    }
    if (CHURN)
        churn(scale, alpha, beta);

    make_desc(scale);
    make_layouts((uint64_t)M, (uint64_t)N, (uint64_t)K, LATE_SHAPE);
    if (SHAPES > 1)
        make_more_layouts();

    cublasLtMatmulAlgo_t algo;
    if (ALGO != ALGO_NULL)
        choose_algo(&algo);

    int32_t compute_read = -1, scale_read = -1;
    size_t written = 0;
    SETUP(cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &compute_read,
                                         sizeof compute_read, &written));
    SETUP(cublasLtMatmulDescGetAttribute(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, &scale_read,
                                         sizeof scale_read, &written));
    printf("compute_read=%d\nscale_read=%d\n", (int)compute_read, (int)scale_read);
    if (ALGO != ALGO_NULL) {
        int32_t splitk = -1;
        uint32_t scheme = 0;
        SETUP(cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                                                   &splitk, sizeof splitk, &written));
        SETUP(cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME,
                                                   &scheme, sizeof scheme, &written));
        printf("algo_splitk=%d\nalgo_scheme=%u\n", (int)splitk, (unsigned)scheme);
    }

    struct calls c = { alpha, argA, argB, beta, argC, argD, ALGO == ALGO_NULL ? NULL : &algo,
                       CUBLAS_STATUS_SUCCESS };
    pthread_t worker;
    if (FRESH_THREAD) {
        if (pthread_create(&worker, NULL, make_calls, &c) || pthread_join(worker, NULL))
            fail(2);
    } else {
        make_calls(&c);
    }
    cublasStatus_t st = c.status;
    if (st != CUBLAS_STATUS_SUCCESS)
        printf("status_cublasLtMatmul=%d\n", (int)st);
    printf("matmul_status=%d\n", (int)st);
    if (st != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "lt_app: cublasLtMatmul failed: status %d\n", (int)st);
        fail(1);
    }
    CHECK_AS(1, cudaStreamSynchronize(stream));
    CHECK_AS(1, cudaMemcpy(hD, dOut, c_elems * nb * es, cudaMemcpyDeviceToHost));

    struct stats d = stats_of(hD, c_elems * nb);
    printf("d0=%.9g\ndmax=%.9g\nninf=%ld\nnnan=%ld\ndsum=%.9g\n", (double)d.first,
           (double)d.max, d.inf, d.nan, d.sum);
    if (bias_grad()) {
        CHECK_AS(1, cudaMemcpy(hbias, dbias, bias_elems * es, cudaMemcpyDeviceToHost));
        summarize("g", hbias, bias_elems);
    }
    if (EPILOGUE == CUBLASLT_EPILOGUE_GELU_AUX || EPILOGUE == CUBLASLT_EPILOGUE_GELU_AUX_BIAS) {
        CHECK_AS(1, cudaMemcpy(haux, daux, aux_elems * es, cudaMemcpyDeviceToHost));
        summarize("aux", haux, aux_elems);
    }

    /* The success path checks its releases too: a library that fails to
     * destroy what it created is worth a test failure. Each object leaves
     * the release list first, so a failure there is not destroyed twice. */
    if (!INIT) {
        cublasLtMatmulPreference_t p = pref;
        pref = NULL;
        if (p)
            SETUP(cublasLtMatmulPreferenceDestroy(p));
        destroy_more_layouts();
        destroy_objects();
    }
    cublasHandle_t b = blas;
    cublasLtHandle_t l = lt;
    blas = NULL;
    lt = NULL;
    if (b)
        SETUP(cublasDestroy(b));
    else
        SETUP(cublasLtDestroy(l));
    release();
    fflush(stdout);
    return 0;
}
