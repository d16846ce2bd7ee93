/* dnn_app: an ordinary cuDNN program (it knows nothing of safehalf) making
 * one half-precision cuDNN computation, with every tensor NCHW half:
 *
 *   fwd          cudnnConvolutionForward, 2-d descriptor (SetConvolution2d)
 *   fwd-nd       the same with cudnnSetConvolutionNdDescriptor
 *   fwd-bias-act cudnnConvolutionBiasActivationForward: y = relu(conv(x, w) +
 *                beta * z + bias), the residual z being y itself (as a
 *                ResNet block's fused conv adds its shortcut)
 *   bwd-data     cudnnConvolutionBackwardData
 *   bwd-filter   cudnnConvolutionBackwardFilter
 *   reduce       cudnnReduceTensor (ADD) of R elements into one
 *   optensor     cudnnOpTensor (ADD): C = A + B + beta * C
 *   graph-conv   the graph API: a one-operation convolution forward graph
 *   graph-matmul the graph API: a one-operation matmul graph
 *
 *   dnn_app [--op OP] [--r R] [--value V] [--bvalue B] [--cvalue C] [--beta BETA]
 *           [--bias BIAS] [--compute HALF|FLOAT] [--late]
 *
 *   --r R        the reduction length (default 4096): the input channels of
 *                a forward convolution (1x1 filter, a 2x2 image, 2 output
 *                channels), the output channels of backward data, the image
 *                width of backward filter (1 x R image, 2 channels), the
 *                elements reduced, the matmul's k
 *   --value V    every element of x / A / dy-for-backward-data (default 1)
 *   --bvalue B   every element of w / B / dy-for-backward-filter (default 1)
 *   --cvalue C   every element of the output before the call (default 0)
 *   --beta BETA  beta (default 0; the graph ops use 0; fwd-bias-act: alpha2)
 *   --bias BIAS  fwd-bias-act: every element of the bias (default 0)
 *   --compute    the compute type of the descriptor (default HALF)
 *   --late       graph ops: set the compute type again (to FLOAT) after
 *                the descriptor was finalized, and print what cuDNN said
 *
 * Convolutions use CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM (and algorithm
 * 0 backward) with no workspace. A sum of 4096 ones is 2048 with HALF
 * compute (the FP16 sum stalls at 2048) and 4096 with FLOAT.
 *
 * Output, one key=value per line: compute (the compute type the program
 * reads back from cuDNN's getter after setting it: 2 HALF, 0 FLOAT),
 * late_status and late_compute with --late, status (of the last failing
 * call, 0 if none), failed (that call), out0 (the output's first element),
 * inf, nan, maxfinite (over the output). Exit 0 when every call succeeded. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>
#include <cudnn.h>

#include "apputil.h"

static const char *OP = "fwd";
static int R = 4096, LATE;
static double VALUE = 1, BVALUE = 1, CVALUE = 0, BETA = 0, BIAS = 0;
static cudnnDataType_t COMPUTE = CUDNN_DATA_HALF;
static cudaStream_t STREAM;

#define TRY(call)                                                                          \
    do {                                                                                   \
        int e_ = (int)(call);                                                              \
        if (e_) {                                                                          \
            fprintf(stderr, "dnn_app: %s failed: %d\n", #call, e_);                        \
            printf("failed=%s\nstatus=%d\n", #call, e_);                                   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* ---- device data --------------------------------------------------------------- */

struct buf {
    size_t n;
    void *dev;
};

static struct buf dev_fill(size_t n, double v)
{
    struct buf b = { n, NULL };
    half_t *h = malloc(n * sizeof *h);
    if (!h)
        exit(1);
    for (size_t i = 0; i < n; i++)
        h[i] = app_float_to_half((float)v);
    TRY(cudaMalloc(&b.dev, n * sizeof *h));
    TRY(cudaMemcpy(b.dev, h, n * sizeof *h, cudaMemcpyHostToDevice));
    free(h);
    return b;
}

static void report(struct buf out)
{
    half_t *h = malloc(out.n * sizeof *h);
    if (!h)
        exit(1);
    TRY(cudaStreamSynchronize(STREAM));
    TRY(cudaMemcpy(h, out.dev, out.n * sizeof *h, cudaMemcpyDeviceToHost));
    long inf = 0, nan = 0;
    float maxfinite = 0;
    for (size_t i = 0; i < out.n; i++) {
        float v = app_half_to_float(h[i]);
        if (isnan(v))
            nan++;
        else if (isinf(v))
            inf++;
        else if (fabsf(v) > maxfinite)
            maxfinite = fabsf(v);
    }
    printf("status=0\nout0=%.17g\ninf=%ld\nnan=%ld\nmaxfinite=%.17g\n",
           (double)app_half_to_float(h[0]), inf, nan, (double)maxfinite);
    free(h);
}

static cudnnTensorDescriptor_t tensor(int n, int c, int h, int w)
{
    cudnnTensorDescriptor_t d;
    TRY(cudnnCreateTensorDescriptor(&d));
    TRY(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_HALF, n, c, h, w));
    return d;
}

static cudnnFilterDescriptor_t filter(int k, int c)
{
    cudnnFilterDescriptor_t d;
    TRY(cudnnCreateFilterDescriptor(&d));
    TRY(cudnnSetFilter4dDescriptor(d, CUDNN_DATA_HALF, CUDNN_TENSOR_NCHW, k, c, 1, 1));
    return d;
}

/* ---- legacy API ------------------------------------------------------------------- */

/* Set and read back, before any GPU work: these need no device. */
static cudnnConvolutionDescriptor_t conv_desc(bool nd)
{
    cudnnConvolutionDescriptor_t d;
    cudnnConvolutionMode_t mode;
    cudnnDataType_t got = (cudnnDataType_t)-1;
    int pad[2] = { 0, 0 }, stride[2] = { 1, 1 }, dil[2] = { 1, 1 }, n, p[6];
    TRY(cudnnCreateConvolutionDescriptor(&d));
    if (nd) {
        TRY(cudnnSetConvolutionNdDescriptor(d, 2, pad, stride, dil, CUDNN_CROSS_CORRELATION,
                                            COMPUTE));
        TRY(cudnnGetConvolutionNdDescriptor(d, 2, &n, pad, stride, dil, &mode, &got));
    } else {
        TRY(cudnnSetConvolution2dDescriptor(d, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                            COMPUTE));
        TRY(cudnnGetConvolution2dDescriptor(d, p, p + 1, p + 2, p + 3, p + 4, p + 5, &mode,
                                            &got));
    }
    printf("compute=%d\n", (int)got);
    return d;
}

static void run_conv(cudnnHandle_t h, cudnnConvolutionDescriptor_t cd)
{
    float alpha = 1, beta = (float)BETA;
    if (!strcmp(OP, "bwd-data")) {
        /* dx [1, 2, 2, 2] = dy [1, R, 2, 2] * w [R, 2, 1, 1] */
        cudnnTensorDescriptor_t dyd = tensor(1, R, 2, 2), dxd = tensor(1, 2, 2, 2);
        cudnnFilterDescriptor_t wd = filter(R, 2);
        struct buf dy = dev_fill((size_t)R * 4, VALUE), w = dev_fill((size_t)R * 2, BVALUE);
        struct buf dx = dev_fill(8, CVALUE);
        TRY(cudnnConvolutionBackwardData(h, &alpha, wd, w.dev, dyd, dy.dev, cd,
                                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, NULL, 0, &beta, dxd,
                                         dx.dev));
        report(dx);
    } else if (!strcmp(OP, "bwd-filter")) {
        /* dw [2, 2, 1, 1] = x [1, 2, 1, R] (x) dy [1, 2, 1, R] */
        cudnnTensorDescriptor_t xd = tensor(1, 2, 1, R), dyd = tensor(1, 2, 1, R);
        cudnnFilterDescriptor_t dwd = filter(2, 2);
        struct buf x = dev_fill((size_t)R * 2, VALUE), dy = dev_fill((size_t)R * 2, BVALUE);
        struct buf dw = dev_fill(4, CVALUE);
        TRY(cudnnConvolutionBackwardFilter(h, &alpha, xd, x.dev, dyd, dy.dev, cd,
                                           CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, NULL, 0, &beta,
                                           dwd, dw.dev));
        report(dw);
    } else {
        /* y [1, 2, 2, 2] = x [1, R, 2, 2] * w [2, R, 1, 1] */
        cudnnTensorDescriptor_t xd = tensor(1, R, 2, 2), yd = tensor(1, 2, 2, 2);
        cudnnFilterDescriptor_t wd = filter(2, R);
        struct buf x = dev_fill((size_t)R * 4, VALUE), w = dev_fill((size_t)R * 2, BVALUE);
        struct buf y = dev_fill(8, CVALUE);
        if (!strcmp(OP, "fwd-bias-act")) {
            cudnnTensorDescriptor_t bd = tensor(1, 2, 1, 1);
            cudnnActivationDescriptor_t ad;
            struct buf bias = dev_fill(2, BIAS);
            TRY(cudnnCreateActivationDescriptor(&ad));
            TRY(cudnnSetActivationDescriptor(ad, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN,
                                             0.0));
            TRY(cudnnConvolutionBiasActivationForward(h, &alpha, xd, x.dev, wd, w.dev, cd,
                                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
                                                      NULL, 0, &beta, yd, y.dev, bd, bias.dev, ad,
                                                      yd, y.dev));
        } else {
            TRY(cudnnConvolutionForward(h, &alpha, xd, x.dev, wd, w.dev, cd,
                                        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &beta,
                                        yd, y.dev));
        }
        report(y);
    }
}

static cudnnReduceTensorDescriptor_t reduce_desc(void)
{
    cudnnReduceTensorDescriptor_t d;
    cudnnReduceTensorOp_t op;
    cudnnDataType_t got = (cudnnDataType_t)-1;
    cudnnNanPropagation_t nan;
    cudnnReduceTensorIndices_t ind;
    cudnnIndicesType_t it;
    TRY(cudnnCreateReduceTensorDescriptor(&d));
    TRY(cudnnSetReduceTensorDescriptor(d, CUDNN_REDUCE_TENSOR_ADD, COMPUTE,
                                       CUDNN_NOT_PROPAGATE_NAN, CUDNN_REDUCE_TENSOR_NO_INDICES,
                                       CUDNN_32BIT_INDICES));
    TRY(cudnnGetReduceTensorDescriptor(d, &op, &got, &nan, &ind, &it));
    printf("compute=%d\n", (int)got);
    return d;
}

static void run_reduce(cudnnHandle_t h, cudnnReduceTensorDescriptor_t rd)
{
    float alpha = 1, beta = (float)BETA;
    cudnnTensorDescriptor_t ad = tensor(1, 1, 1, R), cd = tensor(1, 1, 1, 1);
    struct buf a = dev_fill((size_t)R, VALUE), c = dev_fill(1, CVALUE);
    TRY(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &alpha, ad, a.dev, &beta, cd, c.dev));
    report(c);
}

static cudnnOpTensorDescriptor_t optensor_desc(void)
{
    cudnnOpTensorDescriptor_t d;
    cudnnOpTensorOp_t op;
    cudnnDataType_t got = (cudnnDataType_t)-1;
    cudnnNanPropagation_t nan;
    TRY(cudnnCreateOpTensorDescriptor(&d));
    TRY(cudnnSetOpTensorDescriptor(d, CUDNN_OP_TENSOR_ADD, COMPUTE, CUDNN_NOT_PROPAGATE_NAN));
    TRY(cudnnGetOpTensorDescriptor(d, &op, &got, &nan));
    printf("compute=%d\n", (int)got);
    return d;
}

static void run_optensor(cudnnHandle_t h, cudnnOpTensorDescriptor_t od)
{
    float one = 1, beta = (float)BETA;
    cudnnTensorDescriptor_t td = tensor(1, 2, 2, 2);
    struct buf a = dev_fill(8, VALUE), b = dev_fill(8, BVALUE), c = dev_fill(8, CVALUE);
    TRY(cudnnOpTensor(h, od, &one, td, a.dev, &one, td, b.dev, &beta, td, c.dev));
    report(c);
}

/* ---- graph API ----------------------------------------------------------------------- */

static cudnnBackendDescriptor_t bk(cudnnBackendDescriptorType_t t)
{
    cudnnBackendDescriptor_t d;
    TRY(cudnnBackendCreateDescriptor(t, &d));
    return d;
}

static void set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                cudnnBackendAttributeType_t t, int64_t n, const void *v)
{
    TRY(cudnnBackendSetAttribute(d, a, t, n, v));
}

static void set_desc(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                     cudnnBackendDescriptor_t v)
{
    set(d, a, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v);
}

/* A packed half tensor of 3 or 4 dims. */
static cudnnBackendDescriptor_t bk_tensor(int64_t uid, int nd, const int64_t *dim)
{
    cudnnBackendDescriptor_t d = bk(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    cudnnDataType_t t = CUDNN_DATA_HALF;
    int64_t stride[4], s = 1, align = 16;
    for (int i = nd - 1; i >= 0; i--) {
        stride[i] = s;
        s *= dim[i];
    }
    set(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    set(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &t);
    set(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, nd, dim);
    set(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, nd, stride);
    set(d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
    TRY(cudnnBackendFinalize(d));
    return d;
}

/* The operation's descriptor with its compute type, finalized and read
 * back (and with --late set again after finalizing). */
static cudnnBackendDescriptor_t comp_desc(bool conv)
{
    cudnnBackendAttributeName_t attr =
        conv ? CUDNN_ATTR_CONVOLUTION_COMP_TYPE : CUDNN_ATTR_MATMUL_COMP_TYPE;
    cudnnBackendDescriptor_t d =
        bk(conv ? CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR : CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    cudnnDataType_t comp = COMPUTE, got = (cudnnDataType_t)-1;
    int64_t n;
    set(d, attr, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    if (conv) {
        int64_t two = 2, ones[2] = { 1, 1 }, zeros[2] = { 0, 0 };
        cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
        set(d, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
        set(d, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &two);
        set(d, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, ones);
        set(d, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, ones);
        set(d, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, zeros);
        set(d, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, zeros);
    }
    TRY(cudnnBackendFinalize(d));
    TRY(cudnnBackendGetAttribute(d, attr, CUDNN_TYPE_DATA_TYPE, 1, &n, &got));
    printf("compute=%d\n", (int)got);
    if (LATE) {
        cudnnDataType_t f = CUDNN_DATA_FLOAT;
        printf("late_status=%d\n",
               (int)cudnnBackendSetAttribute(d, attr, CUDNN_TYPE_DATA_TYPE, 1, &f));
        got = (cudnnDataType_t)-1;
        TRY(cudnnBackendGetAttribute(d, attr, CUDNN_TYPE_DATA_TYPE, 1, &n, &got));
        printf("late_compute=%d\n", (int)got);
    }
    return d;
}

/* One operation: x (uid 1) and w (uid 2) in, y (uid 3) out. */
static cudnnBackendDescriptor_t graph_op(bool conv, cudnnBackendDescriptor_t cd)
{
    int64_t xd[4] = { 1, R, 2, 2 }, wd[4] = { 2, R, 1, 1 }, yd[4] = { 1, 2, 2, 2 };
    int64_t ad[3] = { 1, 1, R }, bd[3] = { 1, R, 1 }, cdims[3] = { 1, 1, 1 };
    cudnnBackendDescriptor_t op;
    if (conv) {
        op = bk(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
        set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, bk_tensor(1, 4, xd));
        set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, bk_tensor(2, 4, wd));
        set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, bk_tensor(3, 4, yd));
        set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, cd);
    } else {
        op = bk(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
        set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_ADESC, bk_tensor(1, 3, ad));
        set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_BDESC, bk_tensor(2, 3, bd));
        set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_CDESC, bk_tensor(3, 3, cdims));
        set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_DESC, cd);
    }
    TRY(cudnnBackendFinalize(op));
    return op;
}

/* Graph, heuristics, the first engine configuration, plan, variant pack,
 * execute: as cuDNN's samples do it. */
static void run_graph(cudnnHandle_t h, bool conv, cudnnBackendDescriptor_t cd)
{
    cudnnBackendDescriptor_t op = graph_op(conv, cd);
    cudnnBackendDescriptor_t graph = bk(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op);
    set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
    TRY(cudnnBackendFinalize(graph));
    cudnnBackendDescriptor_t heur = bk(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    set_desc(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
    set(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    TRY(cudnnBackendFinalize(heur));
    cudnnBackendDescriptor_t cfg = bk(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    int64_t n = 0;
    TRY(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &cfg));
    if (n < 1)
        TRY(CUDNN_STATUS_NOT_SUPPORTED);
    cudnnBackendDescriptor_t plan = bk(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    set(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
    set_desc(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfg);
    TRY(cudnnBackendFinalize(plan));

    size_t nx = conv ? (size_t)R * 4 : (size_t)R, nw = conv ? (size_t)R * 2 : (size_t)R;
    struct buf x = dev_fill(nx, VALUE), w = dev_fill(nw, BVALUE), y = dev_fill(conv ? 8 : 1, 0);
    int64_t uids[3] = { 1, 2, 3 };
    void *ptrs[3] = { x.dev, w.dev, y.dev }, *ws = NULL;
    cudnnBackendDescriptor_t pack = bk(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    set(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    set(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs);
    set(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
    TRY(cudnnBackendFinalize(pack));
    TRY(cudnnBackendExecute(h, plan, pack));
    report(y);
    cudnnBackendDestroyDescriptor(pack);
    cudnnBackendDestroyDescriptor(plan);
}

/* ---- main ------------------------------------------------------------------------------ */

static int parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--late")) LATE = 1;
        else if (!strcmp(a, "--op")) OP = v, i++;
        else if (!strcmp(a, "--r")) R = atoi(v), i++;
        else if (!strcmp(a, "--value")) VALUE = atof(v), i++;
        else if (!strcmp(a, "--bvalue")) BVALUE = atof(v), i++;
        else if (!strcmp(a, "--cvalue")) CVALUE = atof(v), i++;
        else if (!strcmp(a, "--beta")) BETA = atof(v), i++;
        else if (!strcmp(a, "--bias")) BIAS = atof(v), i++;
        else if (!strcmp(a, "--compute") && !strcmp(v, "HALF")) COMPUTE = CUDNN_DATA_HALF, i++;
        else if (!strcmp(a, "--compute") && !strcmp(v, "FLOAT")) COMPUTE = CUDNN_DATA_FLOAT, i++;
        else {
            fprintf(stderr, "dnn_app: bad argument %s %s\n", a, v);
            return -1;
        }
    }
    return R >= 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv))
        return 64;
    bool conv = !strncmp(OP, "fwd", 3) || !strncmp(OP, "bwd-", 4);
    bool graph = !strncmp(OP, "graph-", 6);
    if (!conv && !graph && strcmp(OP, "reduce") && strcmp(OP, "optensor")) {
        fprintf(stderr, "dnn_app: unknown op %s\n", OP);
        return 64;
    }
    /* Descriptors first: they work without a GPU. */
    void *desc = conv ? (void *)conv_desc(!strcmp(OP, "fwd-nd"))
                 : graph ? (void *)comp_desc(!strcmp(OP, "graph-conv"))
                 : !strcmp(OP, "reduce") ? (void *)reduce_desc()
                                         : (void *)optensor_desc();
    cudnnHandle_t h;
    TRY(cudnnCreate(&h));
    TRY(cudaStreamCreateWithFlags(&STREAM, cudaStreamNonBlocking));
    TRY(cudnnSetStream(h, STREAM));
    if (conv)
        run_conv(h, desc);
    else if (graph)
        run_graph(h, !strcmp(OP, "graph-conv"), desc);
    else if (!strcmp(OP, "reduce"))
        run_reduce(h, desc);
    else
        run_optensor(h, desc);
    if (conv)
        TRY(cudnnDestroyConvolutionDescriptor(desc));
    else if (graph)
        TRY(cudnnBackendDestroyDescriptor(desc));
    else if (!strcmp(OP, "reduce"))
        TRY(cudnnDestroyReduceTensorDescriptor(desc));
    else
        TRY(cudnnDestroyOpTensorDescriptor(desc));
    cudnnDestroy(h);
    return 0;
}
