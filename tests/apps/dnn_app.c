/* dnn_app: an ordinary cuDNN program (it knows nothing of safehalf) making
 * one half-precision cuDNN computation, with every tensor NCHW half unless
 * said otherwise:
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
 *   graph-conv-bias-relu
 *                the graph API, fused: convolution forward (x uid 1, w uid 2)
 *                into a virtual FLOAT tensor (uid 4), pointwise ADD of the
 *                bias (uid 5, [1, 2, 1, 1]) into another (uid 6), pointwise
 *                RELU_FWD of that into y (uid 3); both pointwise descriptors
 *                have MATH_PREC FLOAT
 *   graph-add    the graph API: one pointwise ADD operation, y (uid 3) = x
 *                (uid 1, [1, 2, 2, 2]) + b (uid 2, [1, 2, 1, 1], broadcast)
 *   graph-drelu  the graph API: one pointwise RELU_BWD operation, dx (uid 3)
 *                from dy (uid 1) and x (uid 2), all [1, 2, 2, 2]: dx = dy
 *                where x > 0, else 0
 *   graph-dgrad-drelu
 *                the graph API, fused: convolution backward data (dy uid 1,
 *                w uid 2, as bwd-data's) into a virtual FLOAT tensor (uid 4),
 *                the dy of a RELU_BWD (MATH_PREC FLOAT) of x (uid 5, [1, 2,
 *                2, 2]) into dx (uid 3)
 *   graph-ragged the graph API: one matmul of ragged tensors, as PyTorch's
 *                nested-tensor attention describes its q, k, v and o: A
 *                (uid 1, [2, 2, R]) x B (uid 2, [1, R, 1]) into C (uid 3,
 *                [2, 2, 1]); A's and C's two batches lie one after the other,
 *                found through INT32 ragged offsets (uids 4 and 5), their
 *                dim 0 stride INT_MAX (unused when ragged); with
 *                --plain-out C is an ordinary packed tensor; with
 *                --fill-ragged N, N other ragged tensors are made before
 *                A and C and destroyed before the rest of the graph
 *   graph-sdpa   the graph API: one scaled dot-product attention forward
 *                operation (SDPA_FWD), as cuDNN's frontend builds PyTorch's
 *                attention: q (uid 1, [1, 2, R, 16]), k and v (uids 2 and 3,
 *                [1, 2, 8, 16]) into o (uid 4, [1, 2, R, 16]) and the
 *                rows' logsumexp stats (uid 5, FLOAT [1, 2, R, 1]); the
 *                scale is a FLOAT tensor (uid 6, [1, 1, 1, 1])
 *
 *   dnn_app [--op OP] [--r R] [--value V] [--bvalue B] [--cvalue C] [--beta BETA]
 *           [--bias BIAS] [--compute HALF|FLOAT] [--late] [--real-mid] [--chain N]
 *           [--chain-bias] [--xvalue X] [--vvalue V] [--scale S] [--scale-by-value]
 *           [--plain-out] [--fill-ragged N]
 *
 *   --r R        the reduction length (default 4096): the input channels of
 *                a forward convolution (1x1 filter, a 2x2 image, 2 output
 *                channels), the output channels of backward data, the image
 *                width of backward filter (1 x R image, 2 channels), the
 *                elements reduced, the matmul's k, the attention's queries
 *   --value V    every element of x / A / dy-for-backward-data / the
 *                ReLU's dy / q (default 1)
 *   --bvalue B   every element of w / B / dy-for-backward-filter / the
 *                ReLU's x (graph-drelu) / k (default 1)
 *   --cvalue C   every element of the output before the call (default 0)
 *   --ws BYTES   the legacy convolutions and reduction: a workspace of BYTES (0: none),
 *                as a program that sized it by hand passes it, instead of
 *                the one cuDNN is asked for
 *   --beta BETA  beta (default 0; the graph ops use 0; fwd-bias-act: alpha2)
 *   --bias BIAS  fwd-bias-act, graph-conv-bias-relu, graph-add: every
 *                element of the bias / b and of --chain-bias's (default 0)
 *   --xvalue X   graph-dgrad-drelu: every element of the ReLU's x (default 1)
 *   --vvalue V   every element of v (default 1)
 *   --scale S    the attention's scale (default 0.25)
 *   --scale-by-value
 *                the scale is a pass-by-value tensor (IS_BY_VALUE), its
 *                pack pointer a host float, as PyTorch passes it
 *   --compute    the compute type of the descriptor (default HALF); for
 *                graph-add and graph-drelu the pointwise descriptor's
 *                MATH_PREC
 *   --late       graph ops: set the compute type again (to FLOAT) after
 *                the descriptor was finalized, and print what cuDNN said
 *   --chain N    graph-conv-bias-relu: N pointwise IDENTITY operations
 *                (virtual FLOAT uids 100, 101, ...) between the ADD and the
 *                RELU_FWD, for graphs as long as fused attention's (0..61)
 *   --chain-bias with --chain N: each of the N chained operations is an ADD
 *                of a bias of its own instead (real half, uid 200 + i,
 *                [1, 2, 1, 1], every element BIAS, in the variant pack),
 *                so that y = relu(conv + (N + 1) * BIAS) is computed from
 *                N + 3 inputs (the pack holds N + 4 pointers, y's last;
 *                the emulated cuDNN takes 64)
 *   --real-mid   graph-conv-bias-relu: the convolution's output (uid 4) is a
 *                real half tensor in the variant pack instead, reported too
 *   --more-graphs N
 *                graph-add and graph-drelu: then N rounds of building a
 *                new plan of the same operation (new descriptors, kept
 *                alive, as a plan cache keeps them), executing it, and
 *                executing the first plan again (a training step's shape
 *                among shapes that come and go); the last output reported
 *   --all-in-use with --more-graphs N: the N plans are built first, then
 *                each is executed, then the first plan (all N + 1 in use)
 *   --op native-null
 *                cudnnBackendPopulateCudaGraph and cudnnBackendUpdateCudaGraph
 *                with a NULL handle, plan, pack and graph, before anything
 *                else (no GPU needed): prints populate_status, update_status
 *   --op conv-null
 *                a 2-d convolution descriptor with --compute, 2 groups and
 *                tensor-op math, then cudnnConvolutionForward with a NULL
 *                handle and data (no GPU needed): prints conv_status and
 *                the descriptor as read back (compute, groups, math)
 *   --native-graph [update]
 *                graph-conv, graph-matmul: instead of cudnnBackendExecute,
 *                cudnnBackendPopulateCudaGraph into a graph of the
 *                program's (cudaGraphCreate), then launched; with "update",
 *                populated with the output in another buffer first, then
 *                cudnnBackendUpdateCudaGraph with the program's pack
 *   --override   graph-add: the plan built for [1, 2, 2, 2] is executed
 *                once with x and y (uids 1 and 3) overridden to [1, 2, 1, 2]
 *                (strides [4, 2, 2, 1]) in the variant pack (cuDNN 9.18's
 *                CUDNN_ATTR_VARIANT_PACK_OVERRIDE_*, as the frontend sets
 *                them: pointers to C++ vectors of vectors), on buffers of
 *                x's and b's size, y the first 4 of 8 elements whose other 4
 *                hold the program's data (--cvalue, as a buffer a caching
 *                allocator hands out may be larger than the tensor); the
 *                output reported is that run's 4 elements, and the other 4
 *                as tail_out0, tail_inf, tail_nan, tail_maxfinite
 *
 * Convolutions use CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM (and algorithm
 * 0 backward) with no workspace. A sum of 4096 ones is 2048 with HALF
 * compute (the FP16 sum stalls at 2048) and 4096 with FLOAT.
 *
 * Descriptors are made first (they need no GPU); without one, cudnnCreate
 * then fails and the program exits 1.
 *
 * Output, one key=value per line: compute (the compute type the program
 * reads back from cuDNN's getter after setting it: 2 HALF, 0 FLOAT; -1 when
 * the getter answers NOT_SUPPORTED, as cuDNN 9's does for graph-add's
 * pointwise descriptor; none for the attention ops, which have no compute
 * type), late_status and late_compute with --late, status (of the last
 * failing call, 0 if none), failed (that call), out0 (the output's first
 * element), inf, nan, maxfinite (over the output: o for graph-sdpa); with
 * --real-mid the same four of the convolution's output as mid_out0,
 * mid_inf, mid_nan, mid_maxfinite; graph-sdpa: stats0 (the first stats
 * element). Exit 0 when every call succeeded. */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>
#include <cudnn.h>

#include "apputil.h"

static const char *OP = "fwd";
#define MAX_CHAIN 61 /* with the other three, 64: the emulator's and the shim's limit */
static int R = 4096, LATE, REAL_MID, CHAIN, CHAIN_BIAS, SCALE_BY_VALUE, PLAIN_OUT, FILL_RAGGED;
static int MORE_GRAPHS, ALL_IN_USE, OVERRIDE, NATIVE_GRAPH;
static long long FIXED_WS = -1; /* --ws */
static double VALUE = 1, BVALUE = 1, CVALUE = 0, BETA = 0, BIAS = 0;
static double XVALUE = 1, VVALUE = 1, SCALE = 0.25;
static cudnnDataType_t COMPUTE = CUDNN_DATA_HALF;
static cudaStream_t STREAM;

/* A call that failed: named on stderr and in the output, and the end. */
static _Noreturn void fail(const char *call, int status)
{
    fprintf(stderr, "dnn_app: %s failed: %d\n", call, status);
    printf("failed=%s\nstatus=%d\n", call, status);
    exit(1);
}

#define TRY(call)                                                                          \
    do {                                                                                   \
        int e_ = (int)(call);                                                              \
        if (e_)                                                                            \
            fail(#call, e_);                                                               \
    } while (0)

/* The graph builders' calls fail as the program's own do. */
#define DNNG_FAIL(what, status) fail(what, (int)(status))
#include "dnngraph.h"

/* ---- device data --------------------------------------------------------------- */

struct buf {
    size_t n;
    void *dev;
};

/* n elements, every one v, half (or float) on the device. */
static struct buf dev_fill_as(size_t n, double v, bool is_float)
{
    struct buf b = { n, NULL };
    size_t size = is_float ? sizeof(float) : sizeof(half_t);
    unsigned char *h = malloc(n * size);
    if (!h)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        if (is_float)
            ((float *)h)[i] = (float)v;
        else
            ((half_t *)h)[i] = app_float_to_half((float)v);
    }
    TRY(cudaMalloc(&b.dev, n * size));
    TRY(cudaMemcpy(b.dev, h, n * size, cudaMemcpyHostToDevice));
    free(h);
    return b;
}

static struct buf dev_fill(size_t n, double v)
{
    return dev_fill_as(n, v, false);
}

struct stats {
    float out0, maxfinite;
    long inf, nan;
};

/* Waits for the stream and reads a half output back. */
static struct stats stats_of(struct buf out)
{
    half_t *h = malloc(out.n * sizeof *h);
    if (!h)
        exit(1);
    TRY(cudaStreamSynchronize(STREAM));
    TRY(cudaMemcpy(h, out.dev, out.n * sizeof *h, cudaMemcpyDeviceToHost));
    struct stats s = { app_half_to_float(h[0]), 0, 0, 0 };
    for (size_t i = 0; i < out.n; i++) {
        float v = app_half_to_float(h[i]);
        if (isnan(v))
            s.nan++;
        else if (isinf(v))
            s.inf++;
        else if (fabsf(v) > s.maxfinite)
            s.maxfinite = fabsf(v);
    }
    free(h);
    return s;
}

/* The four keys of one output, each name prefixed with pre. */
static void print_stats(const char *pre, struct stats s)
{
    printf("%sout0=%.17g\n%sinf=%ld\n%snan=%ld\n%smaxfinite=%.17g\n", pre, (double)s.out0, pre,
           s.inf, pre, s.nan, pre, (double)s.maxfinite);
}

static void report(struct buf out)
{
    struct stats s = stats_of(out);
    printf("status=0\n");
    print_stats("", s);
}

/* The first element of a float output (the stream was waited for). */
static float first_float(struct buf out)
{
    float f;
    TRY(cudaMemcpy(&f, out.dev, sizeof f, cudaMemcpyDeviceToHost));
    return f;
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
static void *conv_desc(void)
{
    bool nd = !strcmp(OP, "fwd-nd");
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

/* A workspace of the size cuDNN asked for (NULL for none), as programs
 * allocate one: with an FP32 compute type cuDNN's kernels often need one
 * where FP16 needed none. */
static void *workspace(size_t *bytes)
{
    void *ws = NULL;
    if (FIXED_WS >= 0)
        *bytes = (size_t)FIXED_WS;
    if (*bytes)
        TRY(cudaMalloc(&ws, *bytes));
    return ws;
}

static void run_conv(cudnnHandle_t h, void *cd)
{
    float alpha = 1, beta = (float)BETA;
    if (!strcmp(OP, "bwd-data")) {
        /* dx [1, 2, 2, 2] = dy [1, R, 2, 2] * w [R, 2, 1, 1] */
        cudnnTensorDescriptor_t dyd = tensor(1, R, 2, 2), dxd = tensor(1, 2, 2, 2);
        cudnnFilterDescriptor_t wd = filter(R, 2);
        struct buf dy = dev_fill((size_t)R * 4, VALUE), w = dev_fill((size_t)R * 2, BVALUE);
        struct buf dx = dev_fill(8, CVALUE);
        size_t wsb = 0;
        TRY(cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd, dyd, cd, dxd,
                                                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, &wsb));
        void *ws = workspace(&wsb);
        TRY(cudnnConvolutionBackwardData(h, &alpha, wd, w.dev, dyd, dy.dev, cd,
                                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, ws, wsb, &beta, dxd,
                                         dx.dev));
        report(dx);
    } else if (!strcmp(OP, "bwd-filter")) {
        /* dw [2, 2, 1, 1] = x [1, 2, 1, R] (x) dy [1, 2, 1, R] */
        cudnnTensorDescriptor_t xd = tensor(1, 2, 1, R), dyd = tensor(1, 2, 1, R);
        cudnnFilterDescriptor_t dwd = filter(2, 2);
        struct buf x = dev_fill((size_t)R * 2, VALUE), dy = dev_fill((size_t)R * 2, BVALUE);
        struct buf dw = dev_fill(4, CVALUE);
        size_t wsb = 0;
        TRY(cudnnGetConvolutionBackwardFilterWorkspaceSize(
            h, xd, dyd, cd, dwd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, &wsb));
        void *ws = workspace(&wsb);
        TRY(cudnnConvolutionBackwardFilter(h, &alpha, xd, x.dev, dyd, dy.dev, cd,
                                           CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, ws, wsb, &beta,
                                           dwd, dw.dev));
        report(dw);
    } else {
        /* y [1, 2, 2, 2] = x [1, R, 2, 2] * w [2, R, 1, 1] */
        cudnnTensorDescriptor_t xd = tensor(1, R, 2, 2), yd = tensor(1, 2, 2, 2);
        cudnnFilterDescriptor_t wd = filter(2, R);
        struct buf x = dev_fill((size_t)R * 4, VALUE), w = dev_fill((size_t)R * 2, BVALUE);
        struct buf y = dev_fill(8, CVALUE);
        bool fused = !strcmp(OP, "fwd-bias-act");
        cudnnConvolutionFwdAlgo_t algo = fused ? CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM
                                               : CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        size_t wsb = 0;
        TRY(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, algo, &wsb));
        void *ws = workspace(&wsb);
        if (fused) {
            cudnnTensorDescriptor_t bd = tensor(1, 2, 1, 1);
            cudnnActivationDescriptor_t ad;
            struct buf bias = dev_fill(2, BIAS);
            TRY(cudnnCreateActivationDescriptor(&ad));
            TRY(cudnnSetActivationDescriptor(ad, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN,
                                             0.0));
            TRY(cudnnConvolutionBiasActivationForward(h, &alpha, xd, x.dev, wd, w.dev, cd, algo, ws,
                                                      wsb, &beta, yd, y.dev, bd, bias.dev, ad, yd,
                                                      y.dev));
        } else {
            TRY(cudnnConvolutionForward(h, &alpha, xd, x.dev, wd, w.dev, cd, algo, ws, wsb, &beta,
                                        yd, y.dev));
        }
        report(y);
    }
}

static void *reduce_desc(void)
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

static void run_reduce(cudnnHandle_t h, void *rd)
{
    float alpha = 1, beta = (float)BETA;
    cudnnTensorDescriptor_t ad = tensor(1, 1, 1, R), cd = tensor(1, 1, 1, 1);
    struct buf a = dev_fill((size_t)R, VALUE), c = dev_fill(1, CVALUE);
    size_t wsb = 0;
    TRY(cudnnGetReductionWorkspaceSize(h, rd, ad, cd, &wsb));
    void *ws = workspace(&wsb);
    TRY(cudnnReduceTensor(h, rd, NULL, 0, ws, wsb, &alpha, ad, a.dev, &beta, cd, c.dev));
    report(c);
}

static void *optensor_desc(void)
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

static void run_optensor(cudnnHandle_t h, void *od)
{
    float one = 1, beta = (float)BETA;
    cudnnTensorDescriptor_t td = tensor(1, 2, 2, 2);
    struct buf a = dev_fill(8, VALUE), b = dev_fill(8, BVALUE), c = dev_fill(8, CVALUE);
    TRY(cudnnOpTensor(h, od, &one, td, a.dev, &one, td, b.dev, &beta, td, c.dev));
    report(c);
}

/* ---- graph API ----------------------------------------------------------------------- */

/* A packed tensor of 3 or 4 dims (by_value: a host scalar). */
static cudnnBackendDescriptor_t bk_tensor_by(int64_t uid, int nd, const int64_t *dim,
                                             cudnnDataType_t t, bool is_virtual, bool by_value)
{
    cudnnBackendDescriptor_t d = btensor_new(uid, t, nd, dim, NULL);
    if (is_virtual)
        bset(d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual);
    if (by_value)
        bset(d, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &by_value);
    TRY(cudnnBackendFinalize(d));
    return d;
}

static cudnnBackendDescriptor_t bk_tensor_of(int64_t uid, int nd, const int64_t *dim,
                                             cudnnDataType_t t, bool is_virtual)
{
    return bk_tensor_by(uid, nd, dim, t, is_virtual, false);
}

/* A real packed half tensor. */
static cudnnBackendDescriptor_t bk_tensor(int64_t uid, int nd, const int64_t *dim)
{
    return bk_tensor_of(uid, nd, dim, CUDNN_DATA_HALF, false);
}

enum comp_kind { COMP_CONV, COMP_MATMUL, COMP_POINTWISE };

/* The compute type read back from cuDNN; -1 where it answers NOT_SUPPORTED,
 * as cuDNN 9 does for every attribute of a pointwise descriptor. */
static cudnnDataType_t get_comp(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t attr,
                                enum comp_kind kind)
{
    cudnnDataType_t got = (cudnnDataType_t)-1;
    int64_t n;
    if (kind != COMP_POINTWISE) {
        TRY(cudnnBackendGetAttribute(d, attr, CUDNN_TYPE_DATA_TYPE, 1, &n, &got));
        return got;
    }
    cudnnStatus_t st = cudnnBackendGetAttribute(d, attr, CUDNN_TYPE_DATA_TYPE, 1, &n, &got);
    if (st == CUDNN_STATUS_NOT_SUPPORTED)
        return (cudnnDataType_t)-1;
    TRY(st);
    return got;
}

/* The operation's descriptor with its compute type (a pointwise one's
 * MATH_PREC, of mode pw), finalized and read back (and with --late set
 * again after finalizing). */
static cudnnBackendDescriptor_t comp_desc(enum comp_kind kind, cudnnPointwiseMode_t pw)
{
    static const cudnnBackendAttributeName_t attrs[] = {
        CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_ATTR_MATMUL_COMP_TYPE,
        CUDNN_ATTR_POINTWISE_MATH_PREC };
    static const cudnnBackendDescriptorType_t types[] = {
        CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, CUDNN_BACKEND_MATMUL_DESCRIPTOR,
        CUDNN_BACKEND_POINTWISE_DESCRIPTOR };
    cudnnBackendAttributeName_t attr = attrs[kind];
    cudnnBackendDescriptor_t d = bdesc(types[kind]);
    cudnnDataType_t comp = COMPUTE;
    bset(d, attr, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    if (kind == COMP_POINTWISE) {
        bset(d, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &pw);
    } else if (kind == COMP_CONV) {
        int64_t ones[2] = { 1, 1 }, zeros[2] = { 0, 0 };
        bconv_geometry(d, zeros, zeros, ones, ones);
    }
    TRY(cudnnBackendFinalize(d));
    printf("compute=%d\n", (int)get_comp(d, attr, kind));
    if (LATE) {
        cudnnDataType_t f = CUDNN_DATA_FLOAT;
        printf("late_status=%d\n",
               (int)cudnnBackendSetAttribute(d, attr, CUDNN_TYPE_DATA_TYPE, 1, &f));
        printf("late_compute=%d\n", (int)get_comp(d, attr, kind));
    }
    return d;
}

static void *graph_conv_desc(void)
{
    return comp_desc(COMP_CONV, CUDNN_POINTWISE_ADD);
}

static void *graph_matmul_desc(void)
{
    return comp_desc(COMP_MATMUL, CUDNN_POINTWISE_ADD);
}

static void *graph_add_desc(void)
{
    return comp_desc(COMP_POINTWISE, CUDNN_POINTWISE_ADD);
}

static void *graph_drelu_desc(void)
{
    return comp_desc(COMP_POINTWISE, CUDNN_POINTWISE_RELU_BWD);
}

/* A convolution forward (x, w into y) or backward data (dy, w into dx:
 * then x is dx, y is dy), finalized. */
static cudnnBackendDescriptor_t conv_op_of(bool fwd, cudnnBackendDescriptor_t cd,
                                           cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t w,
                                           cudnnBackendDescriptor_t y)
{
    static const cudnnBackendAttributeName_t attrs[2][4] = {
        { CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC },
        { CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC },
    };
    const cudnnBackendDescriptor_t v[4] = { x, w, y, cd };
    cudnnBackendDescriptor_t op =
        bdesc(fwd ? CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR
                  : CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR);
    for (int i = 0; i < 4; i++)
        bset_desc(op, attrs[fwd][i], v[i]);
    /* y = 1 * conv + 0 * y, said outright as cuDNN's frontend says it: on an
     * H100, cuDNN 9 left y all zero without them. */
    float alpha = 1, beta = 0;
    bset(op, fwd ? CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA
                 : CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
         CUDNN_TYPE_FLOAT, 1, &alpha);
    bset(op, fwd ? CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA
                 : CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA,
         CUDNN_TYPE_FLOAT, 1, &beta);
    TRY(cudnnBackendFinalize(op));
    return op;
}

/* The convolution forward x (uid 1, [1, R, 2, 2]) * w (uid 2, [2, R, 1, 1])
 * into y, finalized. */
static cudnnBackendDescriptor_t conv_op(cudnnBackendDescriptor_t cd, cudnnBackendDescriptor_t y)
{
    int64_t xd[4] = { 1, R, 2, 2 }, wd[4] = { 2, R, 1, 1 };
    return conv_op_of(true, cd, bk_tensor(1, 4, xd), bk_tensor(2, 4, wd), y);
}

/* One operation: x (uid 1) and w (uid 2) in, y (uid 3) out. */
static cudnnBackendDescriptor_t graph_op(bool conv, cudnnBackendDescriptor_t cd)
{
    int64_t yd[4] = { 1, 2, 2, 2 };
    int64_t ad[3] = { 1, 1, R }, bd[3] = { 1, R, 1 }, cdims[3] = { 1, 1, 1 };
    if (conv)
        return conv_op(cd, bk_tensor(3, 4, yd));
    cudnnBackendDescriptor_t a = bk_tensor(1, 3, ad), b = bk_tensor(2, 3, bd);
    cudnnBackendDescriptor_t c = bk_tensor(3, 3, cdims);
    return bmatmul_op(a, b, c, cd);
}

/* A pointwise descriptor of the given mode computing in FLOAT. */
static cudnnBackendDescriptor_t pw_desc(cudnnPointwiseMode_t mode)
{
    return bpw_desc(mode, CUDNN_DATA_FLOAT);
}

/* Graph, heuristics, the first engine configuration, plan: as cuDNN's
 * samples do it. */
/* The workspace of the last plan made, as large as it asked for. */
static void *WS;

static cudnnBackendDescriptor_t make_plan(cudnnHandle_t h, int nops,
                                          const cudnnBackendDescriptor_t *ops)
{
    cudnnBackendDescriptor_t graph = bgraph_of(h, nops, ops);
    cudnnBackendDescriptor_t plan = bplan_of(h, bfirst_cfg(bheur(graph, CUDNN_HEUR_MODE_A)));
    int64_t bytes = bplan_workspace(plan);
    WS = NULL;
    if (bytes > 0)
        TRY(cudaMalloc(&WS, (size_t)bytes));
    return plan;
}

/* The plan put into a CUDA graph by cuDNN itself (--native-graph), as
 * cudnn-frontend's populate_cuda_graph does, the graph launched once on the
 * handle's stream; with --native-graph update, populated first with a pack
 * whose output is another buffer, then updated with the program's own. */
static void execute_native(cudnnHandle_t h, cudnnBackendDescriptor_t plan,
                           cudnnBackendDescriptor_t pack, int n, const int64_t *uids,
                           void *const *ptrs)
{
    cudaGraph_t g;
    cudaGraphExec_t ge;
    TRY(cudaGraphCreate(&g, 0));
    if (NATIVE_GRAPH == 2) {
        void *other[64];
        struct buf spare = dev_fill(1, 0);
        memcpy(other, ptrs, (size_t)n * sizeof *other);
        other[n - 1] = spare.dev;
        cudnnBackendDescriptor_t first = bpack_ws(n, uids, other, WS);
        TRY(cudnnBackendPopulateCudaGraph(h, plan, first, g));
        TRY(cudnnBackendUpdateCudaGraph(h, plan, pack, g));
        cudnnBackendDestroyDescriptor(first);
    } else {
        TRY(cudnnBackendPopulateCudaGraph(h, plan, pack, g));
    }
    TRY(cudaGraphInstantiate(&ge, g, 0));
    TRY(cudaGraphLaunch(ge, STREAM));
    TRY(cudaStreamSynchronize(STREAM));
    cudaGraphExecDestroy(ge);
    cudaGraphDestroy(g);
}

/* Variant pack, execute. */
static void execute(cudnnHandle_t h, cudnnBackendDescriptor_t plan, int n, const int64_t *uids,
                    void *const *ptrs)
{
    cudnnBackendDescriptor_t pack = bpack_ws(n, uids, ptrs, WS);
    if (NATIVE_GRAPH)
        execute_native(h, plan, pack, n, uids, ptrs);
    else
        TRY(cudnnBackendExecute(h, plan, pack));
    cudnnBackendDestroyDescriptor(pack);
}

static void run_graph(cudnnHandle_t h, void *cd)
{
    bool conv = !strcmp(OP, "graph-conv");
    cudnnBackendDescriptor_t op = graph_op(conv, cd);
    cudnnBackendDescriptor_t plan = make_plan(h, 1, &op);
    size_t nx = conv ? (size_t)R * 4 : (size_t)R, nw = conv ? (size_t)R * 2 : (size_t)R;
    struct buf x = dev_fill(nx, VALUE), w = dev_fill(nw, BVALUE), y = dev_fill(conv ? 8 : 1, 0);
    int64_t uids[3] = { 1, 2, 3 };
    void *ptrs[3] = { x.dev, w.dev, y.dev };
    execute(h, plan, 3, uids, ptrs);
    report(y);
    cudnnBackendDestroyDescriptor(plan);
}

/* conv -> add bias -> (--chain N identities, or with --chain-bias adds of
 * biases of their own) -> relu, joined by virtual FLOAT tensors (the first
 * a real half one with --real-mid). */
static void run_conv_bias_relu(cudnnHandle_t h, void *cd)
{
    int64_t yd[4] = { 1, 2, 2, 2 }, bd[4] = { 1, 2, 1, 1 };
    cudnnBackendDescriptor_t mid =
        REAL_MID ? bk_tensor(4, 4, yd) : bk_tensor_of(4, 4, yd, CUDNN_DATA_FLOAT, true);
    cudnnBackendDescriptor_t sum = bk_tensor_of(6, 4, yd, CUDNN_DATA_FLOAT, true);
    cudnnBackendDescriptor_t ops[3 + MAX_CHAIN];
    int n = 0;
    ops[n++] = conv_op(cd, mid);
    ops[n++] = bpw_op_of(pw_desc(CUDNN_POINTWISE_ADD), mid, bk_tensor(5, 4, bd), sum, false);
    for (int i = 0; i < CHAIN; i++) {
        cudnnBackendDescriptor_t next = bk_tensor_of(100 + i, 4, yd, CUDNN_DATA_FLOAT, true);
        ops[n++] = bpw_op_of(pw_desc(CHAIN_BIAS ? CUDNN_POINTWISE_ADD : CUDNN_POINTWISE_IDENTITY),
                             sum, CHAIN_BIAS ? bk_tensor(200 + i, 4, bd) : NULL, next, false);
        sum = next;
    }
    ops[n++] = bpw_op_of(pw_desc(CUDNN_POINTWISE_RELU_FWD), sum, NULL, bk_tensor(3, 4, yd), false);
    cudnnBackendDescriptor_t plan = make_plan(h, n, ops);
    struct buf x = dev_fill((size_t)R * 4, VALUE), w = dev_fill((size_t)R * 2, BVALUE);
    struct buf b = dev_fill(2, BIAS), y = dev_fill(8, 0), m = { 0, NULL };
    int64_t uids[5 + MAX_CHAIN] = { 1, 2, 5 };
    void *ptrs[5 + MAX_CHAIN] = { x.dev, w.dev, b.dev };
    int np = 3;
    if (REAL_MID) {
        m = dev_fill(8, 0);
        uids[np] = 4;
        ptrs[np++] = m.dev;
    }
    for (int i = 0; CHAIN_BIAS && i < CHAIN; i++) {
        uids[np] = 200 + i;
        ptrs[np++] = dev_fill(2, BIAS).dev;
    }
    /* y last: cuDNN's frontend fills a pack from a map, in no set order,
     * so an output may follow every input */
    uids[np] = 3;
    ptrs[np++] = y.dev;
    execute(h, plan, np, uids, ptrs);
    report(y);
    if (REAL_MID)
        print_stats("mid_", stats_of(m));
    cudnnBackendDestroyDescriptor(plan);
}

/* One pointwise operation on uids 1 and 2 into uid 3, [1, 2, 2, 2]:
 * graph-add's ADD, y = x (uid 1) + b (uid 2, [1, 2, 1, 1], broadcast over
 * H and W); graph-drelu's RELU_BWD, dx from dy (uid 1) and x (uid 2). */
static cudnnBackendDescriptor_t pointwise_plan(cudnnHandle_t h, void *pd, bool bwd)
{
    int64_t d[4] = { 1, 2, 2, 2 }, bd[4] = { 1, 2, 1, 1 };
    if (bwd) {
        /* Channels last (NHWC strides), as the frameworks lay out what they
         * fuse: on an H100 cuDNN 9 has no engine for a lone pointwise
         * operation on NCHW tensors (NOT_SUPPORTED_LAYOUT). */
        int64_t nhwc[4] = { 8, 1, 4, 2 };
        cudnnBackendDescriptor_t t[3];
        for (int i = 0; i < 3; i++) {
            t[i] = btensor_new(i + 1, CUDNN_DATA_HALF, 4, d, nhwc);
            TRY(cudnnBackendFinalize(t[i]));
        }
        cudnnBackendDescriptor_t op = bpw_op_of(pd, t[1], t[0], t[2], true);
        return make_plan(h, 1, &op);
    }
    cudnnBackendDescriptor_t in1 = bk_tensor(1, 4, d), in2 = bk_tensor(2, 4, bd);
    cudnnBackendDescriptor_t op = bpw_op_of(pd, in1, in2, bk_tensor(3, 4, d), false);
    return make_plan(h, 1, &op);
}

/* libstdc++'s std::vector (begin, end, capacity), which the frontend's
 * override shapes and strides are made of. */
struct cxx_vec {
    void *begin, *end, *cap;
};

/* One execution with x and y overridden to [1, 2, 1, 2]: the pack is
 * made as cuDNN's frontend makes it (execution_helpers.h). */
static void run_overridden(cudnnHandle_t h, cudnnBackendDescriptor_t plan)
{
    static int64_t dim[4] = { 1, 2, 1, 2 }, stride[4] = { 4, 2, 2, 1 };
    struct cxx_vec d = { dim, dim + 4, dim + 4 }, st = { stride, stride + 4, stride + 4 };
    struct cxx_vec dims[2] = { d, d }, strides[2] = { st, st };
    struct cxx_vec shapes = { dims, dims + 2, dims + 2 }, strs = { strides, strides + 2, strides + 2 };
    void *shapes_p = &shapes, *strides_p = &strs, *ws = WS;
    struct buf a = dev_fill(4, VALUE), b = dev_fill(2, BIAS), y = dev_fill(8, CVALUE);
    int64_t uids[3] = { 1, 2, 3 }, over[2] = { 1, 3 };
    void *ptrs[3] = { a.dev, b.dev, y.dev };
    cudnnBackendDescriptor_t pack = bdesc(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_OVERRIDE_UNIQUE_IDS, CUDNN_TYPE_INT64, 2, over);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_OVERRIDE_SHAPES, CUDNN_TYPE_VOID_PTR, 1, &shapes_p);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_OVERRIDE_STRIDES, CUDNN_TYPE_VOID_PTR, 1, &strides_p);
    TRY(cudnnBackendFinalize(pack));
    TRY(cudnnBackendExecute(h, plan, pack));
    cudnnBackendDestroyDescriptor(pack);
    struct buf head = { 4, y.dev }, tail = { 4, (char *)y.dev + 4 * sizeof(half_t) };
    report(head);
    print_stats("tail_", stats_of(tail));
}

static void run_pointwise(cudnnHandle_t h, void *pd)
{
    bool bwd = !strcmp(OP, "graph-drelu");
    cudnnBackendDescriptor_t plan = pointwise_plan(h, pd, bwd);
    if (OVERRIDE && !bwd) {
        run_overridden(h, plan);
        cudnnBackendDestroyDescriptor(plan);
        return;
    }
    struct buf a = dev_fill(8, VALUE), y = dev_fill(8, 0);
    struct buf b = bwd ? dev_fill(8, BVALUE) : dev_fill(2, BIAS);
    int64_t uids[3] = { 1, 2, 3 };
    void *ptrs[3] = { a.dev, b.dev, y.dev };
    execute(h, plan, 3, uids, ptrs);
    cudnnBackendDescriptor_t *more = calloc((size_t)MORE_GRAPHS + 1, sizeof *more);
    for (int i = 0; i < MORE_GRAPHS; i++) {
        more[i] = pointwise_plan(h, pd, bwd);
        if (!ALL_IN_USE) {
            execute(h, more[i], 3, uids, ptrs);
            execute(h, plan, 3, uids, ptrs);
        }
    }
    for (int i = 0; i < MORE_GRAPHS && ALL_IN_USE; i++)
        execute(h, more[i], 3, uids, ptrs);
    if (ALL_IN_USE)
        execute(h, plan, 3, uids, ptrs);
    free(more);
    report(y);
    cudnnBackendDestroyDescriptor(plan);
}

/* Backward data (dy [1, R, 2, 2] * w [R, 2, 1, 1], as bwd-data's) into a
 * virtual FLOAT tensor, the dy of a RELU_BWD of x (uid 5) into dx. */
static void run_dgrad_drelu(cudnnHandle_t h, void *cd)
{
    int64_t dyd[4] = { 1, R, 2, 2 }, wd[4] = { R, 2, 1, 1 }, xd[4] = { 1, 2, 2, 2 };
    cudnnBackendDescriptor_t mid = bk_tensor_of(4, 4, xd, CUDNN_DATA_FLOAT, true);
    cudnnBackendDescriptor_t ops[2] = {
        conv_op_of(false, cd, mid, bk_tensor(2, 4, wd), bk_tensor(1, 4, dyd)),
        bpw_op_of(pw_desc(CUDNN_POINTWISE_RELU_BWD), bk_tensor(5, 4, xd), mid, bk_tensor(3, 4, xd),
                  true),
    };
    cudnnBackendDescriptor_t plan = make_plan(h, 2, ops);
    struct buf dy = dev_fill((size_t)R * 4, VALUE), w = dev_fill((size_t)R * 2, BVALUE);
    struct buf x = dev_fill(8, XVALUE), dx = dev_fill(8, 0);
    int64_t uids[4] = { 1, 2, 5, 3 };
    void *ptrs[4] = { dy.dev, w.dev, x.dev, dx.dev };
    execute(h, plan, 4, uids, ptrs);
    report(dx);
    cudnnBackendDestroyDescriptor(plan);
}

/* A half tensor [2, rows, cols] whose batches start where the INT32
 * offsets tensor off_uid ([3, 1, 1]) says, dim 0's stride INT_MAX as
 * PyTorch sets it. */
static cudnnBackendDescriptor_t bk_ragged(int64_t uid, int64_t rows, int64_t cols,
                                          int64_t off_uid)
{
    int64_t dim[3] = { 2, rows, cols }, stride[3] = { INT_MAX, cols, 1 };
    int64_t odim[3] = { 3, 1, 1 };
    cudnnBackendDescriptor_t off = bk_tensor_of(off_uid, 3, odim, CUDNN_DATA_INT32, false);
    cudnnBackendDescriptor_t d = btensor_new(uid, CUDNN_DATA_HALF, 3, dim, stride);
    bset_desc(d, CUDNN_ATTR_TENSOR_RAGGED_OFFSET_DESC, off);
    TRY(cudnnBackendFinalize(d));
    return d;
}

/* The batches' offsets in elements, on the device. */
static void *dev_offsets(int32_t batch)
{
    int32_t h[3] = { 0, batch, 2 * batch };
    void *d;
    TRY(cudaMalloc(&d, sizeof h));
    TRY(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice));
    return d;
}

static void run_ragged(cudnnHandle_t h, void *cd)
{
    int64_t bd[3] = { 1, R, 1 }, cdims[3] = { 2, 2, 1 };
    /* --fill-ragged N: N other ragged tensors live while the graph's are
     * made, destroyed before the rest of the graph is (a program holding
     * many descriptors for a while). */
    cudnnBackendDescriptor_t *fill = calloc((size_t)FILL_RAGGED + 1, sizeof *fill);
    for (int i = 0; i < FILL_RAGGED; i++)
        fill[i] = bk_ragged(100 + i, 2, R, 99);
    cudnnBackendDescriptor_t a_desc = bk_ragged(1, 2, R, 4);
    cudnnBackendDescriptor_t c_desc = PLAIN_OUT ? bk_tensor(3, 3, cdims) : bk_ragged(3, 2, 1, 5);
    for (int i = 0; i < FILL_RAGGED; i++)
        TRY(cudnnBackendDestroyDescriptor(fill[i]));
    free(fill);
    cudnnBackendDescriptor_t op = bmatmul_op(a_desc, bk_tensor(2, 3, bd), c_desc, cd);
    cudnnBackendDescriptor_t plan = make_plan(h, 1, &op);
    struct buf a = dev_fill((size_t)R * 4, VALUE), b = dev_fill(R, BVALUE), c = dev_fill(4, 0);
    int64_t uids[5] = { 1, 2, 3, 4, 5 };
    void *ptrs[5] = { a.dev, b.dev, c.dev, dev_offsets(2 * R), dev_offsets(2) };
    execute(h, plan, 5, uids, ptrs);
    report(c);
    cudnnBackendDestroyDescriptor(plan);
}

/* ---- attention ----------------------------------------------------------------------- */

/* Its tensors in uid order (uid = index + 1). */
enum { AT_Q, AT_K, AT_V, AT_O, AT_STATS, AT_SCALE, AT_N };
#define AT_KV 8  /* keys and values */
#define AT_D 16  /* their length, and the values' */

/* Elements of tensor i: queries' [1, 2, R, 16], keys' and values' [1, 2,
 * 8, 16], stats [1, 2, R, 1], the scale one; dims in dim. */
static size_t attn_dims(int i, int64_t dim[4])
{
    bool kv = i == AT_K || i == AT_V, scalar = i == AT_SCALE;
    dim[0] = 1;
    dim[1] = scalar ? 1 : 2;
    dim[2] = scalar ? 1 : kv ? AT_KV : R;
    dim[3] = scalar || i == AT_STATS ? 1 : AT_D;
    return (size_t)(dim[1] * dim[2] * dim[3]);
}

/* The SDPA forward operation, made before cudnnCreate like the other
 * ops' descriptors. */
static void *sdpa_desc(void)
{
    static const cudnnBackendAttributeName_t attrs[AT_N] = {
        CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC,     CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC,     CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_STATSDESC, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC };
    cudnnBackendDescriptor_t op = bdesc(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
    for (int i = 0; i < AT_N; i++) {
        int64_t dim[4];
        attn_dims(i, dim);
        cudnnDataType_t t = i == AT_STATS || i == AT_SCALE ? CUDNN_DATA_FLOAT : CUDNN_DATA_HALF;
        bset_desc(op, attrs[i], bk_tensor_by(i + 1, 4, dim, t, false,
                                             i == AT_SCALE && SCALE_BY_VALUE));
    }
    TRY(cudnnBackendFinalize(op));
    return op;
}

/* Each input's value, from the options; o and stats start at 0. */
static double attn_value(int i)
{
    switch (i) {
    case AT_Q: return VALUE;
    case AT_K: return BVALUE;
    case AT_V: return VVALUE;
    case AT_SCALE: return SCALE;
    default: return 0;
    }
}

static void run_sdpa(cudnnHandle_t h, void *desc)
{
    cudnnBackendDescriptor_t op = desc, plan = make_plan(h, 1, &op);
    struct buf t[AT_N];
    int64_t uids[AT_N], dim[4];
    void *ptrs[AT_N];
    for (int i = 0; i < AT_N; i++) {
        t[i] = dev_fill_as(attn_dims(i, dim), attn_value(i), i == AT_STATS || i == AT_SCALE);
        uids[i] = i + 1;
        ptrs[i] = t[i].dev;
    }
    float host_scale = (float)SCALE;
    if (SCALE_BY_VALUE)
        ptrs[AT_SCALE] = &host_scale;
    execute(h, plan, AT_N, uids, ptrs);
    report(t[AT_O]);
    printf("stats0=%.17g\n", (double)first_float(t[AT_STATS]));
    cudnnBackendDestroyDescriptor(plan);
}

/* ---- main ------------------------------------------------------------------------------ */

static void destroy_conv(void *d)
{
    TRY(cudnnDestroyConvolutionDescriptor(d));
}

static void destroy_reduce(void *d)
{
    TRY(cudnnDestroyReduceTensorDescriptor(d));
}

static void destroy_optensor(void *d)
{
    TRY(cudnnDestroyOpTensorDescriptor(d));
}

static void destroy_backend(void *d)
{
    TRY(cudnnBackendDestroyDescriptor(d));
}

/* Each op: its descriptor, made before cudnnCreate (descriptors need no
 * GPU), the run with it, and its destruction. */
static const struct app_op {
    const char *name;
    void *(*desc)(void);
    void (*run)(cudnnHandle_t h, void *desc);
    void (*destroy)(void *desc);
} OPS[] = {
    { "fwd", conv_desc, run_conv, destroy_conv },
    { "fwd-nd", conv_desc, run_conv, destroy_conv },
    { "fwd-bias-act", conv_desc, run_conv, destroy_conv },
    { "bwd-data", conv_desc, run_conv, destroy_conv },
    { "bwd-filter", conv_desc, run_conv, destroy_conv },
    { "reduce", reduce_desc, run_reduce, destroy_reduce },
    { "optensor", optensor_desc, run_optensor, destroy_optensor },
    { "graph-conv", graph_conv_desc, run_graph, destroy_backend },
    { "graph-matmul", graph_matmul_desc, run_graph, destroy_backend },
    { "graph-conv-bias-relu", graph_conv_desc, run_conv_bias_relu, destroy_backend },
    { "graph-add", graph_add_desc, run_pointwise, destroy_backend },
    { "graph-drelu", graph_drelu_desc, run_pointwise, destroy_backend },
    { "graph-dgrad-drelu", graph_conv_desc, run_dgrad_drelu, destroy_backend },
    { "graph-ragged", graph_matmul_desc, run_ragged, destroy_backend },
    { "graph-sdpa", sdpa_desc, run_sdpa, destroy_backend },
};

static int parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--late")) LATE = 1;
        else if (!strcmp(a, "--real-mid")) REAL_MID = 1;
        else if (!strcmp(a, "--chain-bias")) CHAIN_BIAS = 1;
        else if (!strcmp(a, "--chain")) CHAIN = atoi(v), i++;
        else if (!strcmp(a, "--op")) OP = v, i++;
        else if (!strcmp(a, "--r")) R = atoi(v), i++;
        else if (!strcmp(a, "--value")) VALUE = atof(v), i++;
        else if (!strcmp(a, "--bvalue")) BVALUE = atof(v), i++;
        else if (!strcmp(a, "--cvalue")) CVALUE = atof(v), i++;
        else if (!strcmp(a, "--beta")) BETA = atof(v), i++;
        else if (!strcmp(a, "--bias")) BIAS = atof(v), i++;
        else if (!strcmp(a, "--xvalue")) XVALUE = atof(v), i++;
        else if (!strcmp(a, "--vvalue")) VVALUE = atof(v), i++;
        else if (!strcmp(a, "--scale")) SCALE = atof(v), i++;
        else if (!strcmp(a, "--scale-by-value")) SCALE_BY_VALUE = 1;
        else if (!strcmp(a, "--plain-out")) PLAIN_OUT = 1;
        else if (!strcmp(a, "--all-in-use")) ALL_IN_USE = 1;
        else if (!strcmp(a, "--override")) OVERRIDE = 1;
        else if (!strcmp(a, "--native-graph") && !strcmp(v, "update")) NATIVE_GRAPH = 2, i++;
        else if (!strcmp(a, "--native-graph")) NATIVE_GRAPH = 1;
        else if (!strcmp(a, "--fill-ragged")) FILL_RAGGED = atoi(v), i++;
        else if (!strcmp(a, "--more-graphs")) MORE_GRAPHS = atoi(v), i++;
        else if (!strcmp(a, "--ws")) FIXED_WS = atoll(v), i++;
        else if (!strcmp(a, "--compute") && !strcmp(v, "HALF")) COMPUTE = CUDNN_DATA_HALF, i++;
        else if (!strcmp(a, "--compute") && !strcmp(v, "FLOAT")) COMPUTE = CUDNN_DATA_FLOAT, i++;
        else {
            fprintf(stderr, "dnn_app: bad argument %s %s\n", a, v);
            return -1;
        }
    }
    return R >= 1 && CHAIN >= 0 && CHAIN <= MAX_CHAIN && MORE_GRAPHS >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv))
        return 64;
    if (!strcmp(OP, "native-null")) {
        /* Needs no GPU: the library's own answer to a NULL handle. */
        printf("populate_status=%d\n", (int)cudnnBackendPopulateCudaGraph(NULL, NULL, NULL, NULL));
        printf("update_status=%d\n", (int)cudnnBackendUpdateCudaGraph(NULL, NULL, NULL, NULL));
        return 0;
    }
    if (!strcmp(OP, "conv-null")) {
        /* Needs no GPU either: cuDNN's answer to a NULL handle, and the
         * descriptor the call leaves. */
        cudnnConvolutionDescriptor_t cd;
        cudnnDataType_t got;
        cudnnConvolutionMode_t mode;
        cudnnMathType_t math;
        int p[6], groups = 0;
        float one = 1, zero = 0;
        TRY(cudnnCreateConvolutionDescriptor(&cd));
        TRY(cudnnSetConvolution2dDescriptor(cd, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                            COMPUTE));
        TRY(cudnnSetConvolutionGroupCount(cd, 2));
        TRY(cudnnSetConvolutionMathType(cd, CUDNN_TENSOR_OP_MATH));
        /* y [1, 2, 2, 2] = x [1, 4, 2, 2] * w [2, 4/2, 1, 1], in 2 groups */
        cudnnTensorDescriptor_t xd = tensor(1, 4, 2, 2), yd = tensor(1, 2, 2, 2);
        cudnnFilterDescriptor_t wd = filter(2, 2);
        printf("conv_status=%d\n",
               (int)cudnnConvolutionForward(NULL, &one, xd, NULL, wd, NULL, cd,
                                            CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0,
                                            &zero, yd, NULL));
        TRY(cudnnGetConvolution2dDescriptor(cd, p, p + 1, p + 2, p + 3, p + 4, p + 5, &mode,
                                            &got));
        TRY(cudnnGetConvolutionGroupCount(cd, &groups));
        TRY(cudnnGetConvolutionMathType(cd, &math));
        printf("compute=%d\ngroups=%d\nmath=%d\n", (int)got, groups, (int)math);
        cudnnDestroyConvolutionDescriptor(cd);
        return 0;
    }
    const struct app_op *op = NULL;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0] && !op; i++)
        if (!strcmp(OP, OPS[i].name))
            op = &OPS[i];
    if (!op) {
        fprintf(stderr, "dnn_app: unknown op %s\n", OP);
        return 64;
    }
    void *desc = op->desc();
    cudnnHandle_t h;
    TRY(cudnnCreate(&h));
    TRY(cudaStreamCreateWithFlags(&STREAM, cudaStreamNonBlocking));
    TRY(cudnnSetStream(h, STREAM));
    op->run(h, desc);
    op->destroy(desc);
    cudnnDestroy(h);
    return 0;
}
