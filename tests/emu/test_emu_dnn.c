/* Tests of the emulated libcudnn.so.9: descriptors, the numerics of every
 * computing call against an FP64 host reference (or exact values where FP16
 * accumulation decides the result), the backend graph API, stream capture
 * and pointers that are not device memory.
 *
 * Every test runs in its own forked process (CK_FORK is forced in main). */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "half.h"

/* A shared graph builder's failed call fails the test, reported from this
 * file as the suite's other failures are (a header line would not be). */
static void graph_call_failed(const char *what, int status)
{
    ck_abort_msg("%s: status %d", what, status);
}

#define DNNG_FAIL(what, status) graph_call_failed(what, (int)(status))
#include "dnngraph.h"

#define OK CUDNN_STATUS_SUCCESS
#define BAD CUDNN_STATUS_BAD_PARAM
#define UNSUP CUDNN_STATUS_NOT_SUPPORTED
#define NCHW CUDNN_TENSOR_NCHW
#define NHWC CUDNN_TENSOR_NHWC
#define FLT CUDNN_DATA_FLOAT
#define HLF CUDNN_DATA_HALF
#define XCORR CUDNN_CROSS_CORRELATION

/* ---- helpers ------------------------------------------------------------------ */

static uint16_t H(float f)
{
    return sh_float_to_half(f);
}

static float F(uint16_t h)
{
    return sh_half_to_float(h);
}

/* Small multiples of 1/8 in [-1, 1]: their products and short sums are
 * exact in float, so only the order-independent reference remains. */
static float val(int i)
{
    return (float)((i * 37 + 11) % 17 - 8) / 8.0f;
}

static void fill(float *p, int n, int seed)
{
    for (int i = 0; i < n; i++)
        p[i] = val(i + seed);
}

static void *dev(size_t bytes)
{
    void *d = NULL;
    ck_assert_int_eq(cudaMalloc(&d, bytes), cudaSuccess);
    return d;
}

static void *up(const void *host, size_t bytes)
{
    void *d = dev(bytes);
    ck_assert_int_eq(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice), cudaSuccess);
    return d;
}

static void down(void *host, const void *d, size_t bytes)
{
    ck_assert_int_eq(cudaMemcpy(host, d, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
}

static cudnnHandle_t handle(void)
{
    cudnnHandle_t h = NULL;
    ck_assert_int_eq(cudnnCreate(&h), OK);
    return h;
}

static cudnnTensorDescriptor_t tensor4(cudnnTensorFormat_t f, cudnnDataType_t t, int n, int c,
                                       int h, int w)
{
    cudnnTensorDescriptor_t d;
    ck_assert_int_eq(cudnnCreateTensorDescriptor(&d), OK);
    ck_assert_int_eq(cudnnSetTensor4dDescriptor(d, f, t, n, c, h, w), OK);
    return d;
}

static cudnnFilterDescriptor_t filter4(cudnnDataType_t t, int k, int c, int h, int w)
{
    cudnnFilterDescriptor_t d;
    ck_assert_int_eq(cudnnCreateFilterDescriptor(&d), OK);
    ck_assert_int_eq(cudnnSetFilter4dDescriptor(d, t, NCHW, k, c, h, w), OK);
    return d;
}

static cudnnConvolutionDescriptor_t conv2(int ph, int pw, int u, int v, int dh, int dw,
                                          cudnnConvolutionMode_t mode, cudnnDataType_t comp)
{
    cudnnConvolutionDescriptor_t d;
    ck_assert_int_eq(cudnnCreateConvolutionDescriptor(&d), OK);
    ck_assert_int_eq(cudnnSetConvolution2dDescriptor(d, ph, pw, u, v, dh, dw, mode, comp), OK);
    return d;
}

static void assert_near(double got, double want)
{
    ck_assert_double_eq_tol(got, want, 1e-4 * (1.0 + fabs(want)));
}

/* ---- reference convolution (2-D, KCRS packed filter) --------------------------- */

struct geom {
    int n, c, h, w, k, r, s;   /* x [n, c, h, w], w [k, c / groups, r, s] */
    int ph, pw, u, v, dh, dw;  /* pads, strides, dilations */
    int p, q, groups, flip;    /* output size; CUDNN_CONVOLUTION mirrors the filter */
    int xs[4];                 /* strides of x; y is NCHW packed */
};

/* Calls fn(ctx, x index, w index, y index) for every (x, w, y) triple the
 * convolution multiplies together. */
static void each_tap(const struct geom *g, void (*fn)(void *, long, long, long), void *ctx)
{
    int kg = g->k / g->groups, cg = g->c / g->groups;
    for (int n = 0; n < g->n; n++)
        for (int k = 0; k < g->k; k++)
            for (int p = 0; p < g->p; p++)
                for (int q = 0; q < g->q; q++)
                    for (int c = 0; c < cg; c++)
                        for (int r = 0; r < g->r; r++)
                            for (int s = 0; s < g->s; s++) {
                                int hh = p * g->u - g->ph + r * g->dh;
                                int ww = q * g->v - g->pw + s * g->dw;
                                if (hh < 0 || hh >= g->h || ww < 0 || ww >= g->w)
                                    continue;
                                int rr = g->flip ? g->r - 1 - r : r;
                                int ss = g->flip ? g->s - 1 - s : s;
                                long xi = (long)n * g->xs[0] + (long)(k / kg * cg + c) * g->xs[1] +
                                          (long)hh * g->xs[2] + (long)ww * g->xs[3];
                                long wi = (((long)k * cg + c) * g->r + rr) * g->s + ss;
                                long yi = (((long)n * g->k + k) * g->p + p) * g->q + q;
                                fn(ctx, xi, wi, yi);
                            }
}

struct refctx {
    const float *a, *b;
    double *out;
    int which; /* 0: y += x w, 1: dx += dy w, 2: dw += dy x */
};

static void ref_tap(void *arg, long xi, long wi, long yi)
{
    struct refctx *r = arg;
    if (r->which == 0)
        r->out[yi] += (double)r->a[xi] * r->b[wi];
    else if (r->which == 1)
        r->out[xi] += (double)r->a[yi] * r->b[wi];
    else
        r->out[wi] += (double)r->a[yi] * r->b[xi];
}

static void packed_nchw(struct geom *g)
{
    g->xs[3] = 1, g->xs[2] = g->w, g->xs[1] = g->h * g->w, g->xs[0] = g->c * g->h * g->w;
}

/* ---- handle ------------------------------------------------------------------- */

START_TEST(test_handle_and_stream)
{
    ck_assert_uint_eq(cudnnGetVersion(), 91900);
    ck_assert_str_eq(cudnnGetErrorString(BAD), "CUDNN_STATUS_BAD_PARAM");
    ck_assert_str_eq(cudnnGetErrorString(OK), "CUDNN_STATUS_SUCCESS");
    int major = 0;
    ck_assert_int_eq(cudnnGetProperty(MAJOR_VERSION, &major), OK);
    ck_assert_int_eq(major, 9);
    ck_assert_int_eq(cudnnCreate(NULL), BAD);
    cudnnHandle_t h = handle();
    cudaStream_t s, got = (cudaStream_t)1;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cudnnGetStream(h, &got), OK);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(cudnnSetStream(h, s), OK);
    ck_assert_int_eq(cudnnGetStream(h, &got), OK);
    ck_assert_ptr_eq(got, s);
    ck_assert_int_eq(cudnnSetStream(NULL, s), BAD);
    ck_assert_int_eq(cudnnDestroy(h), OK);
    ck_assert_int_eq(cudnnDestroy(NULL), BAD);
    ck_assert_int_eq(cudnnDestroyTensorDescriptor(NULL), OK);
    ck_assert_int_eq(cudaStreamDestroy(s), cudaSuccess);
}
END_TEST

/* ---- descriptors -------------------------------------------------------------- */

START_TEST(test_tensor_descriptors)
{
    static const struct {
        cudnnTensorFormat_t format;
        int stride[4];
    } rows[] = { { NCHW, { 60, 20, 5, 1 } }, { NHWC, { 60, 1, 15, 3 } } };
    cudnnDataType_t t;
    int d[8], s[8], nd;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        cudnnTensorDescriptor_t x = tensor4(rows[i].format, HLF, 2, 3, 4, 5);
        ck_assert_int_eq(cudnnGetTensor4dDescriptor(x, &t, &d[0], &d[1], &d[2], &d[3], &s[0],
                                                    &s[1], &s[2], &s[3]), OK);
        ck_assert_int_eq(t, HLF);
        ck_assert_mem_eq(d, ((int[]){ 2, 3, 4, 5 }), 4 * sizeof(int));
        ck_assert_mem_eq(s, rows[i].stride, 4 * sizeof(int));
        cudnnDestroyTensorDescriptor(x);
    }
    cudnnTensorDescriptor_t x;
    ck_assert_int_eq(cudnnCreateTensorDescriptor(&x), OK);
    ck_assert_int_eq(cudnnSetTensor4dDescriptorEx(x, FLT, 1, 2, 3, 4, 100, 40, 10, 2), OK);
    ck_assert_int_eq(cudnnGetTensor4dDescriptor(x, &t, &d[0], &d[1], &d[2], &d[3], &s[0], &s[1],
                                                &s[2], &s[3]), OK);
    ck_assert_mem_eq(s, ((int[]){ 100, 40, 10, 2 }), 4 * sizeof(int));
    size_t bytes;
    ck_assert_int_eq(cudnnGetTensorSizeInBytes(x, &bytes), OK);
    ck_assert_uint_eq(bytes, (100 * 0 + 40 * 1 + 10 * 2 + 2 * 3 + 1) * 4);

    /* N-d: the true rank is reported, at most nbDimsRequested entries filled. */
    const int dim5[5] = { 2, 3, 4, 5, 6 }, str5[5] = { 400, 120, 30, 6, 1 };
    ck_assert_int_eq(cudnnSetTensorNdDescriptor(x, CUDNN_DATA_BFLOAT16, 5, dim5, str5), OK);
    memset(d, 0, sizeof d);
    ck_assert_int_eq(cudnnGetTensorNdDescriptor(x, 8, &t, &nd, d, s), OK);
    ck_assert_int_eq(t, CUDNN_DATA_BFLOAT16);
    ck_assert_int_eq(nd, 5);
    ck_assert_mem_eq(d, dim5, sizeof dim5);
    ck_assert_mem_eq(s, str5, sizeof str5);
    memset(d, 0, sizeof d);
    ck_assert_int_eq(cudnnGetTensorNdDescriptor(x, 2, &t, &nd, d, s), OK);
    ck_assert_int_eq(nd, 5);
    ck_assert_int_eq(d[1], 3);
    ck_assert_int_eq(d[2], 0);
    ck_assert_int_eq(cudnnGetTensor4dDescriptor(x, &t, &d[0], &d[1], &d[2], &d[3], &s[0], &s[1],
                                                &s[2], &s[3]), BAD);

    ck_assert_int_eq(cudnnSetTensor4dDescriptor(x, NCHW, FLT, 0, 1, 1, 1), BAD);
    ck_assert_int_eq(cudnnSetTensor4dDescriptor(x, NCHW, (cudnnDataType_t)99, 1, 1, 1, 1), BAD);
    ck_assert_int_eq(cudnnSetTensor4dDescriptorEx(x, FLT, 1, 1, 1, 1, 1, -1, 1, 1), BAD);
    const int dim9[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    ck_assert_int_eq(cudnnSetTensorNdDescriptor(x, FLT, 9, dim9, dim9), UNSUP);
    ck_assert_int_eq(cudnnSetTensor4dDescriptor(x, NCHW, FLT, 65536, 65536, 1, 1), UNSUP);
    ck_assert_int_eq(cudnnDestroyTensorDescriptor(x), OK);
}
END_TEST

START_TEST(test_filter_and_conv_descriptors)
{
    cudnnFilterDescriptor_t w = filter4(HLF, 8, 3, 5, 7);
    cudnnDataType_t t;
    cudnnTensorFormat_t f;
    int d[8], k, c, r, s, nd;
    ck_assert_int_eq(cudnnGetFilter4dDescriptor(w, &t, &f, &k, &c, &r, &s), OK);
    ck_assert_int_eq(t, HLF);
    ck_assert_int_eq(f, NCHW);
    ck_assert_mem_eq(((int[]){ k, c, r, s }), ((int[]){ 8, 3, 5, 7 }), 4 * sizeof(int));
    const int fd[5] = { 4, 2, 3, 3, 3 };
    ck_assert_int_eq(cudnnSetFilterNdDescriptor(w, FLT, NHWC, 5, fd), OK);
    ck_assert_int_eq(cudnnGetFilterNdDescriptor(w, 8, &t, &f, &nd, d), OK);
    ck_assert_int_eq(nd, 5);
    ck_assert_int_eq(f, NHWC);
    ck_assert_mem_eq(d, fd, sizeof fd);
    ck_assert_int_eq(cudnnSetFilter4dDescriptor(w, FLT, NCHW, 0, 1, 1, 1), BAD);
    ck_assert_int_eq(cudnnDestroyFilterDescriptor(w), OK);

    cudnnConvolutionDescriptor_t cv = conv2(1, 2, 3, 4, 1, 2, CUDNN_CONVOLUTION, FLT);
    int g[6];
    cudnnConvolutionMode_t mode;
    ck_assert_int_eq(cudnnGetConvolution2dDescriptor(cv, &g[0], &g[1], &g[2], &g[3], &g[4],
                                                     &g[5], &mode, &t), OK);
    ck_assert_mem_eq(g, ((int[]){ 1, 2, 3, 4, 1, 2 }), sizeof g);
    ck_assert_int_eq(mode, CUDNN_CONVOLUTION);
    ck_assert_int_eq(t, FLT);

    const int pad[3] = { 0, 1, 2 }, str[3] = { 1, 2, 3 }, dil[3] = { 3, 2, 1 };
    int p2[8], s2[8], d2[8], len;
    ck_assert_int_eq(cudnnSetConvolutionNdDescriptor(cv, 3, pad, str, dil, XCORR, HLF), OK);
    ck_assert_int_eq(cudnnGetConvolutionNdDescriptor(cv, 6, &len, p2, s2, d2, &mode, &t), OK);
    ck_assert_int_eq(len, 3);
    ck_assert_mem_eq(p2, pad, sizeof pad);
    ck_assert_mem_eq(s2, str, sizeof str);
    ck_assert_mem_eq(d2, dil, sizeof dil);
    ck_assert_int_eq(mode, XCORR);
    ck_assert_int_eq(t, HLF);
    ck_assert_int_eq(cudnnGetConvolution2dDescriptor(cv, &g[0], &g[1], &g[2], &g[3], &g[4],
                                                     &g[5], &mode, &t), BAD);

    cudnnMathType_t math;
    ck_assert_int_eq(cudnnSetConvolutionMathType(cv, CUDNN_TENSOR_OP_MATH), OK);
    ck_assert_int_eq(cudnnGetConvolutionMathType(cv, &math), OK);
    ck_assert_int_eq(math, CUDNN_TENSOR_OP_MATH);
    ck_assert_int_eq(cudnnSetConvolutionGroupCount(cv, 4), OK);
    ck_assert_int_eq(cudnnGetConvolutionGroupCount(cv, &k), OK);
    ck_assert_int_eq(k, 4);
    ck_assert_int_eq(cudnnSetConvolutionGroupCount(cv, 0), BAD);
    ck_assert_int_eq(cudnnSetConvolution2dDescriptor(cv, 0, 0, 0, 1, 1, 1, XCORR, FLT), BAD);
    ck_assert_int_eq(cudnnSetConvolution2dDescriptor(cv, -1, 0, 1, 1, 1, 1, XCORR, FLT), BAD);
    ck_assert_int_eq(cudnnSetConvolution2dDescriptor(cv, 0, 0, 1, 1, 1, 1,
                                                     (cudnnConvolutionMode_t)2, FLT), BAD);
    ck_assert_int_eq(cudnnDestroyConvolutionDescriptor(cv), OK);
}
END_TEST

START_TEST(test_forward_output_dim)
{
    static const struct {
        int h, w, r, s, ph, pw, u, v, dh, dw, p, q;
    } rows[] = {
        { 7, 9, 3, 3, 1, 1, 2, 2, 1, 1, 4, 5 },
        { 7, 9, 3, 3, 1, 1, 2, 2, 2, 2, 3, 4 },
        { 5, 5, 5, 5, 0, 0, 1, 1, 1, 1, 1, 1 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        cudnnTensorDescriptor_t x = tensor4(NCHW, FLT, 2, 6, rows[i].h, rows[i].w);
        cudnnFilterDescriptor_t w = filter4(FLT, 4, 6, rows[i].r, rows[i].s);
        cudnnConvolutionDescriptor_t cv = conv2(rows[i].ph, rows[i].pw, rows[i].u, rows[i].v,
                                                rows[i].dh, rows[i].dw, XCORR, FLT);
        int o[4], nd[4];
        ck_assert_int_eq(cudnnGetConvolution2dForwardOutputDim(cv, x, w, &o[0], &o[1], &o[2],
                                                               &o[3]), OK);
        ck_assert_mem_eq(o, ((int[]){ 2, 4, rows[i].p, rows[i].q }), sizeof o);
        ck_assert_int_eq(cudnnGetConvolutionNdForwardOutputDim(cv, x, w, 4, nd), OK);
        ck_assert_mem_eq(nd, o, sizeof o);
        /* Grouped: 6 channels in 3 groups of 2. */
        cudnnFilterDescriptor_t wg = filter4(FLT, 3, 2, rows[i].r, rows[i].s);
        ck_assert_int_eq(cudnnGetConvolution2dForwardOutputDim(cv, x, wg, &o[0], &o[1], &o[2],
                                                               &o[3]), BAD);
        ck_assert_int_eq(cudnnSetConvolutionGroupCount(cv, 3), OK);
        ck_assert_int_eq(cudnnGetConvolution2dForwardOutputDim(cv, x, wg, &o[0], &o[1], &o[2],
                                                               &o[3]), OK);
        ck_assert_int_eq(o[1], 3);
        cudnnDestroyTensorDescriptor(x);
        cudnnDestroyFilterDescriptor(w);
        cudnnDestroyFilterDescriptor(wg);
        cudnnDestroyConvolutionDescriptor(cv);
    }
    /* A filter larger than the padded image. */
    cudnnTensorDescriptor_t x = tensor4(NCHW, FLT, 1, 1, 2, 2);
    cudnnFilterDescriptor_t w = filter4(FLT, 1, 1, 3, 3);
    cudnnConvolutionDescriptor_t cv = conv2(0, 0, 1, 1, 1, 1, XCORR, FLT);
    int o[4];
    ck_assert_int_eq(cudnnGetConvolution2dForwardOutputDim(cv, x, w, &o[0], &o[1], &o[2], &o[3]),
                     BAD);
}
END_TEST

/* ---- convolutions -------------------------------------------------------------- */

/* x [2, 3, 7, 6], w [4, 3, 3, 2], pads (1, 0), strides (2, 1), dilations (1, 2):
 * y [2, 4, 4, 4]. */
static struct geom small_geom(int flip)
{
    struct geom g = { .n = 2, .c = 3, .h = 7, .w = 6, .k = 4, .r = 3, .s = 2, .ph = 1, .pw = 0,
                      .u = 2, .v = 1, .dh = 1, .dw = 2, .p = 4, .q = 4, .groups = 1,
                      .flip = flip };
    packed_nchw(&g);
    return g;
}

START_TEST(test_conv_forward_float)
{
    static const struct {
        cudnnConvolutionMode_t mode;
        cudnnTensorFormat_t xformat;
    } rows[] = { { XCORR, NCHW }, { CUDNN_CONVOLUTION, NCHW }, { XCORR, NHWC } };
    cudnnHandle_t h = handle();
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        struct geom g = small_geom(rows[i].mode == CUDNN_CONVOLUTION);
        if (rows[i].xformat == NHWC)
            g.xs[1] = 1, g.xs[3] = g.c, g.xs[2] = g.w * g.c, g.xs[0] = g.h * g.w * g.c;
        float x[2 * 3 * 7 * 6], w[4 * 3 * 3 * 2], y[2 * 4 * 4 * 4], y0[2 * 4 * 4 * 4];
        double ref[2 * 4 * 4 * 4] = { 0 };
        fill(x, 252, 1), fill(w, 72, 2), fill(y0, 128, 3);
        struct refctx rc = { x, w, ref, 0 };
        each_tap(&g, ref_tap, &rc);
        cudnnTensorDescriptor_t xd = tensor4(rows[i].xformat, FLT, 2, 3, 7, 6);
        cudnnTensorDescriptor_t yd = tensor4(NCHW, FLT, 2, 4, 4, 4);
        cudnnFilterDescriptor_t wd = filter4(FLT, 4, 3, 3, 2);
        cudnnConvolutionDescriptor_t cv = conv2(1, 0, 2, 1, 1, 2, rows[i].mode, FLT);
        void *dx = up(x, sizeof x), *dw = up(w, sizeof w), *dy = up(y0, sizeof y0);
        float alpha = 1.5f, beta = 0.5f;
        size_t ws = 1;
        ck_assert_int_eq(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cv, yd,
            CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &ws), OK);
        ck_assert_uint_eq(ws, 0);
        ck_assert_int_eq(cudnnConvolutionForward(h, &alpha, xd, dx, wd, dw, cv,
            CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &beta, yd, dy), OK);
        down(y, dy, sizeof y);
        for (int j = 0; j < 128; j++)
            assert_near(y[j], 1.5 * ref[j] + 0.5 * y0[j]);
        cudaFree(dx), cudaFree(dw), cudaFree(dy);
    }
    cudnnDestroy(h);
}
END_TEST

/* C * R * S = 1024 * 2 * 2 = 4096 products of 1.0 into one output. */
static float ones_conv(cudnnHandle_t h, cudnnDataType_t comp, float xval)
{
    uint16_t x[4096], w[4096];
    for (int i = 0; i < 4096; i++)
        x[i] = H(xval), w[i] = H(1);
    cudnnTensorDescriptor_t xd = tensor4(NCHW, HLF, 1, 1024, 2, 2);
    cudnnTensorDescriptor_t yd = tensor4(NCHW, HLF, 1, 1, 1, 1);
    cudnnFilterDescriptor_t wd = filter4(HLF, 1, 1024, 2, 2);
    cudnnConvolutionDescriptor_t cv = conv2(0, 0, 1, 1, 1, 1, XCORR, comp);
    void *dx = up(x, sizeof x), *dw = up(w, sizeof w), *dy = dev(2);
    float alpha = 1, beta = 0;
    ck_assert_int_eq(cudnnConvolutionForward(h, &alpha, xd, dx, wd, dw, cv,
        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &beta, yd, dy), OK);
    uint16_t y;
    down(&y, dy, 2);
    cudaFree(dx), cudaFree(dw), cudaFree(dy);
    return F(y);
}

START_TEST(test_conv_forward_half_accumulation)
{
    cudnnHandle_t h = handle();
    ck_assert_float_eq(ones_conv(h, HLF, 1), 2048.0f);
    ck_assert_float_eq(ones_conv(h, FLT, 1), 4096.0f);
    /* Quarters stall at 512, where adding 0.25 is a tie that rounds to even. */
    ck_assert_float_eq(ones_conv(h, HLF, 0.25f), 512.0f);
    cudnnDestroy(h);
}
END_TEST

/* Backward data and filter against the scattered reference: stride 2 and
 * padding leave some input positions without any tap. */
/* y = act(alpha1 * conv + alpha2 * z + bias) over the 4096 ones of
 * ones_conv, z = y (a residual read from the output itself) holding 4 and
 * bias `bias`: the conv is 2048 with HALF compute, 4096 with FLOAT. */
static cudnnActivationDescriptor_t act_desc(cudnnActivationMode_t mode)
{
    cudnnActivationDescriptor_t ad;
    ck_assert_int_eq(cudnnCreateActivationDescriptor(&ad), OK);
    ck_assert_int_eq(cudnnSetActivationDescriptor(ad, mode, CUDNN_NOT_PROPAGATE_NAN, 0.0), OK);
    return ad;
}

static float fused_ones(cudnnHandle_t h, cudnnDataType_t comp, cudnnActivationMode_t mode,
                        cudnnConvolutionFwdAlgo_t algo, float bias, cudnnStatus_t want)
{
    uint16_t x[4096], w[4096], y0 = H(4), b = H(bias);
    for (int i = 0; i < 4096; i++)
        x[i] = H(1), w[i] = H(1);
    cudnnTensorDescriptor_t xd = tensor4(NCHW, HLF, 1, 1024, 2, 2);
    cudnnTensorDescriptor_t yd = tensor4(NCHW, HLF, 1, 1, 1, 1);
    cudnnTensorDescriptor_t bd = tensor4(NCHW, HLF, 1, 1, 1, 1);
    cudnnFilterDescriptor_t wd = filter4(HLF, 1, 1024, 2, 2);
    cudnnConvolutionDescriptor_t cv = conv2(0, 0, 1, 1, 1, 1, XCORR, comp);
    cudnnActivationDescriptor_t ad = act_desc(mode);
    void *dx = up(x, sizeof x), *dw = up(w, sizeof w), *dy = up(&y0, 2), *db = up(&b, 2);
    float alpha1 = 1, alpha2 = 1;
    size_t wsb = 0;
    ck_assert_int_eq(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cv, yd, algo, &wsb), OK);
    void *ws = wsb ? dev(wsb) : NULL;
    ck_assert_int_eq(cudnnConvolutionBiasActivationForward(h, &alpha1, xd, dx, wd, dw, cv, algo,
                                                           ws, wsb, &alpha2, yd, dy, bd, db, ad,
                                                           yd, dy), want);
    uint16_t y;
    down(&y, dy, 2);
    cudaFree(dx), cudaFree(dw), cudaFree(dy), cudaFree(db), cudaFree(ws);
    cudnnDestroyActivationDescriptor(ad);
    return F(y);
}

START_TEST(test_conv_bias_activation)
{
    cudnnHandle_t h = handle();
    const cudnnConvolutionFwdAlgo_t gemm = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                    precomp = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    const cudnnActivationMode_t relu = CUDNN_ACTIVATION_RELU, id = CUDNN_ACTIVATION_IDENTITY;
    /* 2048 + 4 - 8 and 4096 + 4 - 8, each representable in half. */
    ck_assert_float_eq(fused_ones(h, HLF, relu, gemm, -8, OK), 2044.0f);
    ck_assert_float_eq(fused_ones(h, FLT, relu, gemm, -8, OK), 4092.0f);
    /* 4096 + 4 - 5000 = -900: RELU clips it, IDENTITY keeps it. */
    ck_assert_float_eq(fused_ones(h, FLT, relu, gemm, -5000, OK), 0.0f);
    ck_assert_float_eq(fused_ones(h, FLT, id, precomp, -5000, OK), -900.0f);
    /* IDENTITY only with IMPLICIT_PRECOMP_GEMM; other activations not at all
     * (the output keeps its 4). */
    ck_assert_float_eq(fused_ones(h, FLT, id, gemm, 0, UNSUP), 4.0f);
    ck_assert_float_eq(fused_ones(h, FLT, CUDNN_ACTIVATION_SIGMOID, precomp, 0, UNSUP), 4.0f);

    /* FP32 computation on FP16 data with the precomputed implicit GEMM asks a
     * workspace (4 bytes an output element here), FP16 computation none:
     * a call without one is refused, the output untouched. */
    {
        cudnnTensorDescriptor_t xd = tensor4(NCHW, HLF, 1, 4, 2, 2);
        cudnnTensorDescriptor_t yd = tensor4(NCHW, HLF, 1, 2, 2, 2);
        cudnnTensorDescriptor_t bd = tensor4(NCHW, HLF, 1, 2, 1, 1);
        cudnnFilterDescriptor_t wd = filter4(HLF, 2, 4, 1, 1);
        cudnnConvolutionDescriptor_t fl = conv2(0, 0, 1, 1, 1, 1, XCORR, FLT);
        cudnnConvolutionDescriptor_t hl = conv2(0, 0, 1, 1, 1, 1, XCORR, HLF);
        cudnnActivationDescriptor_t ad = act_desc(relu);
        size_t wsb = 1;
        ck_assert_int_eq(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, hl, yd, precomp, &wsb),
                         OK);
        ck_assert_uint_eq(wsb, 0);
        ck_assert_int_eq(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, fl, yd, gemm, &wsb), OK);
        ck_assert_uint_eq(wsb, 0);
        ck_assert_int_eq(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, fl, yd, precomp, &wsb),
                         OK);
        ck_assert_uint_eq(wsb, 4 * 8);
        uint16_t mark[8];
        for (int i = 0; i < 8; i++)
            mark[i] = H(3);
        void *buf = dev(64), *y = up(mark, sizeof mark), *ws = dev(wsb);
        float one = 1;
        ck_assert_int_eq(cudnnConvolutionBiasActivationForward(h, &one, xd, buf, wd, buf, fl,
                                                               precomp, NULL, 0, &one, yd, y, bd,
                                                               buf, ad, yd, y), BAD);
        ck_assert_int_eq(cudnnConvolutionBiasActivationForward(h, &one, xd, buf, wd, buf, fl,
                                                               precomp, ws, wsb - 1, &one, yd, y,
                                                               bd, buf, ad, yd, y), BAD);
        ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, buf, wd, buf, fl, precomp, NULL, 0,
                                                 &one, yd, y), BAD);
        uint16_t got[8];
        down(got, y, sizeof got);
        ck_assert_float_eq(F(got[0]), 3.0f);
        ck_assert_int_eq(cudnnConvolutionBiasActivationForward(h, &one, xd, buf, wd, buf, hl,
                                                               precomp, NULL, 0, &one, yd, y, bd,
                                                               buf, ad, yd, y), OK);
        ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, buf, wd, buf, fl, precomp, ws, wsb,
                                                 &one, yd, y), OK);
        cudaFree(buf), cudaFree(y), cudaFree(ws);
        cudnnDestroyActivationDescriptor(ad);
    }

    /* A bias that is not [1, K, 1, 1]; a z not shaped like y. */
    cudnnTensorDescriptor_t xd = tensor4(NCHW, HLF, 1, 4, 2, 2);
    cudnnTensorDescriptor_t yd = tensor4(NCHW, HLF, 1, 2, 2, 2);
    cudnnTensorDescriptor_t zbad = tensor4(NCHW, HLF, 1, 2, 1, 2);
    cudnnTensorDescriptor_t bd = tensor4(NCHW, HLF, 1, 2, 1, 1);
    cudnnTensorDescriptor_t bbad = tensor4(NCHW, HLF, 1, 2, 2, 1);
    cudnnFilterDescriptor_t wd = filter4(HLF, 2, 4, 1, 1);
    cudnnConvolutionDescriptor_t cv = conv2(0, 0, 1, 1, 1, 1, XCORR, FLT);
    cudnnActivationDescriptor_t ad = act_desc(relu);
    void *buf = dev(64);
    float one = 1;
    ck_assert_int_eq(cudnnConvolutionBiasActivationForward(h, &one, xd, buf, wd, buf, cv, gemm,
                                                           NULL, 0, &one, yd, buf, bd, buf, ad,
                                                           yd, buf), OK);
    ck_assert_int_eq(cudnnConvolutionBiasActivationForward(h, &one, xd, buf, wd, buf, cv, gemm,
                                                           NULL, 0, &one, yd, buf, bbad, buf, ad,
                                                           yd, buf), BAD);
    ck_assert_int_eq(cudnnConvolutionBiasActivationForward(h, &one, xd, buf, wd, buf, cv, gemm,
                                                           NULL, 0, &one, zbad, buf, bd, buf, ad,
                                                           yd, buf), BAD);
    ck_assert_int_eq(cudnnConvolutionBiasActivationForward(h, &one, xd, buf, wd, buf, cv, gemm,
                                                           NULL, 0, &one, yd, buf, bd, buf, NULL,
                                                           yd, buf), BAD);
    cudaFree(buf);
    cudnnDestroyActivationDescriptor(ad);
    cudnnDestroy(h);
}
END_TEST

START_TEST(test_conv_backward)
{
    cudnnHandle_t h = handle();
    struct geom g = small_geom(0);
    float x[252], w[72], dy[128], dx[252], dw[72], dx0[252], dw0[72];
    double rdx[252] = { 0 }, rdw[72] = { 0 };
    fill(x, 252, 4), fill(w, 72, 5), fill(dy, 128, 6), fill(dx0, 252, 7), fill(dw0, 72, 8);
    struct refctx rd = { dy, w, rdx, 1 }, rf = { dy, x, rdw, 2 };
    each_tap(&g, ref_tap, &rd);
    each_tap(&g, ref_tap, &rf);
    cudnnTensorDescriptor_t xd = tensor4(NCHW, FLT, 2, 3, 7, 6);
    cudnnTensorDescriptor_t yd = tensor4(NCHW, FLT, 2, 4, 4, 4);
    cudnnFilterDescriptor_t wd = filter4(FLT, 4, 3, 3, 2);
    cudnnConvolutionDescriptor_t cv = conv2(1, 0, 2, 1, 1, 2, XCORR, FLT);
    void *ddy = up(dy, sizeof dy), *dww = up(w, sizeof w), *dxx = up(x, sizeof x);
    void *ddx = up(dx0, sizeof dx0), *ddw = up(dw0, sizeof dw0);
    float alpha = 2, beta = -1;
    size_t ws = 1;
    ck_assert_int_eq(cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd, yd, cv, xd,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, &ws), OK);
    ck_assert_uint_eq(ws, 0);
    ck_assert_int_eq(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd, yd, cv, wd,
        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, &ws), OK);
    ck_assert_uint_eq(ws, 0);
    ck_assert_int_eq(cudnnConvolutionBackwardData(h, &alpha, wd, dww, yd, ddy, cv,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, NULL, 0, &beta, xd, ddx), OK);
    ck_assert_int_eq(cudnnConvolutionBackwardFilter(h, &alpha, xd, dxx, yd, ddy, cv,
        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, NULL, 0, &beta, wd, ddw), OK);
    down(dx, ddx, sizeof dx);
    down(dw, ddw, sizeof dw);
    for (int i = 0; i < 252; i++)
        assert_near(dx[i], 2 * rdx[i] - dx0[i]);
    for (int i = 0; i < 72; i++)
        assert_near(dw[i], 2 * rdw[i] - dw0[i]);
    cudnnDestroy(h);
}
END_TEST

static double dot(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* The three directions are adjoint: <fwd(x, w), dy> = <x, bwd_data(dy, w)>
 * = <w, bwd_filter(x, dy)>, for mirrored filters and groups too. */
START_TEST(test_conv_adjoint_grouped)
{
    cudnnHandle_t h = handle();
    float x[2 * 4 * 6 * 5], w[6 * 2 * 3 * 3], dy[2 * 6 * 3 * 5], y[180], dx[240], dw[108];
    fill(x, 240, 9), fill(w, 108, 10), fill(dy, 180, 11);
    cudnnTensorDescriptor_t xd = tensor4(NCHW, FLT, 2, 4, 6, 5);
    cudnnFilterDescriptor_t wd = filter4(FLT, 6, 2, 3, 3);
    cudnnConvolutionDescriptor_t cv = conv2(1, 1, 2, 1, 1, 1, CUDNN_CONVOLUTION, FLT);
    ck_assert_int_eq(cudnnSetConvolutionGroupCount(cv, 2), OK);
    int o[4];
    ck_assert_int_eq(cudnnGetConvolution2dForwardOutputDim(cv, xd, wd, &o[0], &o[1], &o[2], &o[3]),
                     OK);
    ck_assert_mem_eq(o, ((int[]){ 2, 6, 3, 5 }), sizeof o);
    cudnnTensorDescriptor_t yd = tensor4(NCHW, FLT, 2, 6, 3, 5);
    void *px = up(x, sizeof x), *pw = up(w, sizeof w), *pdy = up(dy, sizeof dy);
    void *py = dev(sizeof y), *pdx = dev(sizeof dx), *pdw = dev(sizeof dw);
    float one = 1, zero = 0;
    ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, px, wd, pw, cv,
        CUDNN_CONVOLUTION_FWD_ALGO_GEMM, NULL, 0, &zero, yd, py), OK);
    ck_assert_int_eq(cudnnConvolutionBackwardData(h, &one, wd, pw, yd, pdy, cv,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, NULL, 0, &zero, xd, pdx), OK);
    ck_assert_int_eq(cudnnConvolutionBackwardFilter(h, &one, xd, px, yd, pdy, cv,
        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, NULL, 0, &zero, wd, pdw), OK);
    down(y, py, sizeof y), down(dx, pdx, sizeof dx), down(dw, pdw, sizeof dw);
    double yy = dot(y, dy, 180);
    ck_assert_double_ne(yy, 0);
    assert_near(dot(x, dx, 240), yy);
    assert_near(dot(w, dw, 108), yy);
    cudnnDestroy(h);
}
END_TEST

START_TEST(test_conv_errors)
{
    static const struct {
        int c_w, p, xtype_half, wtype_half, ytype_half;
        cudnnDataType_t comp;
        int algo;
        cudnnStatus_t want;
    } rows[] = {
        { 3, 5, 0, 0, 0, FLT, 0, OK },
        { 2, 5, 0, 0, 0, FLT, 0, BAD },   /* channels of x and w differ */
        { 3, 4, 0, 0, 0, FLT, 0, UNSUP }, /* y of the wrong spatial size */
        { 3, 5, 0, 1, 0, FLT, 0, BAD },   /* x float, w half */
        { 3, 5, 0, 0, 0, HLF, 0, UNSUP }, /* FP16 compute on float data */
        { 3, 5, 1, 1, 1, HLF, 0, OK },    /* TRUE_HALF_CONFIG */
        { 3, 5, 1, 1, 1, CUDNN_DATA_DOUBLE, 0, UNSUP },
        { 3, 5, 0, 0, 0, FLT, 99, BAD },
    };
    cudnnHandle_t h = handle();
    void *buf = dev(4096);
    float one = 1, zero = 0;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        cudnnTensorDescriptor_t xd = tensor4(NCHW, rows[i].xtype_half ? HLF : FLT, 1, 3, 5, 5);
        cudnnFilterDescriptor_t wd = filter4(rows[i].wtype_half ? HLF : FLT, 2, rows[i].c_w, 3, 3);
        cudnnTensorDescriptor_t yd = tensor4(NCHW, rows[i].ytype_half ? HLF : FLT, 1, 2,
                                             rows[i].p, rows[i].p);
        cudnnConvolutionDescriptor_t cv = conv2(1, 1, 1, 1, 1, 1, XCORR, rows[i].comp);
        ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, buf, wd, buf, cv,
                             (cudnnConvolutionFwdAlgo_t)rows[i].algo, NULL, 0, &zero, yd, buf),
                         rows[i].want);
        if (i == 0) {
            ck_assert_int_eq(cudnnConvolutionForward(h, NULL, xd, buf, wd, buf, cv,
                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, yd, buf), BAD);
            ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, NULL, wd, buf, cv,
                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, yd, buf), BAD);
            ck_assert_int_eq(cudnnConvolutionForward(NULL, &one, xd, buf, wd, buf, cv,
                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, yd, buf), BAD);
        }
    }
    cudnnDestroy(h);
}
END_TEST

/* ---- reduce, op tensor -------------------------------------------------------------- */

static float reduce_ones(cudnnHandle_t h, cudnnReduceTensorOp_t op, cudnnDataType_t comp)
{
    uint16_t a[4096];
    for (int i = 0; i < 4096; i++)
        a[i] = H(1);
    cudnnTensorDescriptor_t ad = tensor4(NCHW, HLF, 1, 1, 64, 64);
    cudnnTensorDescriptor_t cd = tensor4(NCHW, HLF, 1, 1, 1, 1);
    cudnnReduceTensorDescriptor_t rd;
    ck_assert_int_eq(cudnnCreateReduceTensorDescriptor(&rd), OK);
    ck_assert_int_eq(cudnnSetReduceTensorDescriptor(rd, op, comp, CUDNN_NOT_PROPAGATE_NAN,
                         CUDNN_REDUCE_TENSOR_NO_INDICES, CUDNN_32BIT_INDICES), OK);
    size_t ws = 1, is = 1;
    ck_assert_int_eq(cudnnGetReductionWorkspaceSize(h, rd, ad, cd, &ws), OK);
    ck_assert_int_eq(cudnnGetReductionIndicesSize(h, rd, ad, cd, &is), OK);
    ck_assert_uint_eq(ws + is, 0);
    void *da = up(a, sizeof a), *dc = dev(2);
    float alpha = 1, beta = 0;
    ck_assert_int_eq(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &alpha, ad, da, &beta, cd, dc),
                     OK);
    uint16_t c;
    down(&c, dc, 2);
    cudnnDestroyReduceTensorDescriptor(rd);
    cudaFree(da), cudaFree(dc);
    return F(c);
}

START_TEST(test_reduce_half_accumulation)
{
    cudnnHandle_t h = handle();
    ck_assert_float_eq(reduce_ones(h, CUDNN_REDUCE_TENSOR_ADD, HLF), 2048.0f);
    ck_assert_float_eq(reduce_ones(h, CUDNN_REDUCE_TENSOR_ADD, FLT), 4096.0f);
    ck_assert_float_eq(reduce_ones(h, CUDNN_REDUCE_TENSOR_NORM1, HLF), 2048.0f);
    ck_assert_float_eq(reduce_ones(h, CUDNN_REDUCE_TENSOR_AVG, FLT), 1.0f);
    ck_assert_float_eq(reduce_ones(h, CUDNN_REDUCE_TENSOR_NORM2, FLT), 64.0f);
    ck_assert_float_eq(reduce_ones(h, CUDNN_REDUCE_TENSOR_MAX, HLF), 1.0f);
    cudnnDestroy(h);
}
END_TEST

static double ref_reduce(cudnnReduceTensorOp_t op, const float *v, int n)
{
    double acc = op == CUDNN_REDUCE_TENSOR_MUL ? 1 : 0;
    for (int i = 0; i < n; i++) {
        double x = v[i];
        switch (op) {
        case CUDNN_REDUCE_TENSOR_MUL: acc *= x; break;
        case CUDNN_REDUCE_TENSOR_MIN: acc = i == 0 || x < acc ? x : acc; break;
        case CUDNN_REDUCE_TENSOR_MAX: acc = i == 0 || x > acc ? x : acc; break;
        case CUDNN_REDUCE_TENSOR_AMAX: acc = fabs(x) > acc ? fabs(x) : acc; break;
        case CUDNN_REDUCE_TENSOR_NORM1: acc += fabs(x); break;
        case CUDNN_REDUCE_TENSOR_NORM2: acc += x * x; break;
        default: acc += x; break; /* ADD, AVG */
        }
    }
    if (op == CUDNN_REDUCE_TENSOR_AVG)
        acc /= n;
    if (op == CUDNN_REDUCE_TENSOR_NORM2)
        acc = sqrt(acc);
    return acc;
}

/* A [2, 3, 1, 4] reduced to C [2, 1, 1, 1] (over c and w) and C [1, 3, 1, 4]
 * (over n), every op, C = 2 * reduce(A) + 0.5 * C. */
START_TEST(test_reduce_ops)
{
    static const cudnnReduceTensorOp_t ops[] = {
        CUDNN_REDUCE_TENSOR_ADD, CUDNN_REDUCE_TENSOR_MUL, CUDNN_REDUCE_TENSOR_MIN,
        CUDNN_REDUCE_TENSOR_MAX, CUDNN_REDUCE_TENSOR_AMAX, CUDNN_REDUCE_TENSOR_AVG,
        CUDNN_REDUCE_TENSOR_NORM1, CUDNN_REDUCE_TENSOR_NORM2,
    };
    cudnnHandle_t h = handle();
    float a[24], c0[12], c[12], alpha = 2, beta = 0.5f;
    fill(a, 24, 12), fill(c0, 12, 13);
    void *da = up(a, sizeof a), *dc = dev(sizeof c);
    cudnnTensorDescriptor_t ad = tensor4(NCHW, FLT, 2, 3, 1, 4);
    cudnnTensorDescriptor_t over_cw = tensor4(NCHW, FLT, 2, 1, 1, 1);
    cudnnTensorDescriptor_t over_n = tensor4(NCHW, FLT, 1, 3, 1, 4);
    cudnnReduceTensorDescriptor_t rd;
    ck_assert_int_eq(cudnnCreateReduceTensorDescriptor(&rd), OK);
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        ck_assert_int_eq(cudnnSetReduceTensorDescriptor(rd, ops[i], FLT, CUDNN_PROPAGATE_NAN,
                             CUDNN_REDUCE_TENSOR_NO_INDICES, CUDNN_32BIT_INDICES), OK);
        cudnnReduceTensorOp_t op;
        cudnnDataType_t t;
        cudnnNanPropagation_t nan;
        cudnnReduceTensorIndices_t ind;
        cudnnIndicesType_t it;
        ck_assert_int_eq(cudnnGetReduceTensorDescriptor(rd, &op, &t, &nan, &ind, &it), OK);
        ck_assert_int_eq(op, ops[i]);
        ck_assert_int_eq(nan, CUDNN_PROPAGATE_NAN);
        ck_assert_int_eq(cudaMemcpy(dc, c0, sizeof c0, cudaMemcpyHostToDevice), cudaSuccess);
        ck_assert_int_eq(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &alpha, ad, da, &beta,
                                           over_cw, dc), OK);
        down(c, dc, 2 * sizeof(float));
        for (int n = 0; n < 2; n++)
            assert_near(c[n], 2 * ref_reduce(ops[i], a + 12 * n, 12) + 0.5 * c0[n]);
        ck_assert_int_eq(cudaMemcpy(dc, c0, sizeof c0, cudaMemcpyHostToDevice), cudaSuccess);
        ck_assert_int_eq(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &alpha, ad, da, &beta,
                                           over_n, dc), OK);
        down(c, dc, sizeof c);
        for (int j = 0; j < 12; j++)
            assert_near(c[j], 2 * ref_reduce(ops[i], (float[]){ a[j], a[12 + j] }, 2) +
                                  0.5 * c0[j]);
    }
    /* C must be 1 or A's size in each dim; min/max indices are not emulated. */
    cudnnTensorDescriptor_t wrong = tensor4(NCHW, FLT, 1, 2, 1, 1);
    ck_assert_int_eq(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &alpha, ad, da, &beta, wrong,
                                       dc), BAD);
    ck_assert_int_eq(cudnnSetReduceTensorDescriptor(rd, CUDNN_REDUCE_TENSOR_MAX, FLT,
                         CUDNN_PROPAGATE_NAN, CUDNN_REDUCE_TENSOR_FLATTENED_INDICES,
                         CUDNN_32BIT_INDICES), OK);
    ck_assert_int_eq(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &alpha, ad, da, &beta, over_n,
                                       dc), UNSUP);
    ck_assert_int_eq(cudnnSetReduceTensorDescriptor(rd, (cudnnReduceTensorOp_t)42, FLT,
                         CUDNN_PROPAGATE_NAN, CUDNN_REDUCE_TENSOR_NO_INDICES,
                         CUDNN_32BIT_INDICES), BAD);
    cudnnDestroy(h);
}
END_TEST

/* MAX over {1, NaN, 3}: NOT_PROPAGATE_NAN skips the NaN. */
START_TEST(test_reduce_nan)
{
    cudnnHandle_t h = handle();
    float a[3] = { 1, NAN, 3 }, c, alpha = 1, beta = 0;
    void *da = up(a, sizeof a), *dc = dev(4);
    const int da3[3] = { 1, 1, 3 }, ds3[3] = { 3, 3, 1 }, dc3[3] = { 1, 1, 1 };
    cudnnTensorDescriptor_t ad, cd;
    cudnnCreateTensorDescriptor(&ad), cudnnCreateTensorDescriptor(&cd);
    ck_assert_int_eq(cudnnSetTensorNdDescriptor(ad, FLT, 3, da3, ds3), OK);
    ck_assert_int_eq(cudnnSetTensorNdDescriptor(cd, FLT, 3, dc3, dc3), OK);
    cudnnReduceTensorDescriptor_t rd;
    cudnnCreateReduceTensorDescriptor(&rd);
    for (int prop = 0; prop < 2; prop++) {
        ck_assert_int_eq(cudnnSetReduceTensorDescriptor(rd, CUDNN_REDUCE_TENSOR_MAX, FLT,
                             prop ? CUDNN_PROPAGATE_NAN : CUDNN_NOT_PROPAGATE_NAN,
                             CUDNN_REDUCE_TENSOR_NO_INDICES, CUDNN_32BIT_INDICES), OK);
        ck_assert_int_eq(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &alpha, ad, da, &beta, cd,
                                           dc), OK);
        down(&c, dc, 4);
        if (prop)
            ck_assert(isnan(c));
        else
            ck_assert_float_eq(c, 3.0f);
    }
    cudnnDestroy(h);
}
END_TEST

static cudnnOpTensorDescriptor_t op_desc(cudnnOpTensorOp_t op, cudnnDataType_t comp)
{
    cudnnOpTensorDescriptor_t d;
    ck_assert_int_eq(cudnnCreateOpTensorDescriptor(&d), OK);
    ck_assert_int_eq(cudnnSetOpTensorDescriptor(d, op, comp, CUDNN_NOT_PROPAGATE_NAN), OK);
    return d;
}

static double ref_op(cudnnOpTensorOp_t op, double a, double b)
{
    switch (op) {
    case CUDNN_OP_TENSOR_ADD: return a + b;
    case CUDNN_OP_TENSOR_MUL: return a * b;
    case CUDNN_OP_TENSOR_MIN: return a < b ? a : b;
    case CUDNN_OP_TENSOR_MAX: return a > b ? a : b;
    case CUDNN_OP_TENSOR_SQRT: return sqrt(a);
    default: return a == 0 ? 1 : 0; /* NOT on a 0/1 mask */
    }
}

/* C [2, 3, 2, 2] = op(1.5 A, -2 B) + 0.5 C with B [1, 3, 1, 1] broadcast. */
START_TEST(test_op_tensor)
{
    static const cudnnOpTensorOp_t ops[] = { CUDNN_OP_TENSOR_ADD, CUDNN_OP_TENSOR_MUL,
                                             CUDNN_OP_TENSOR_MIN, CUDNN_OP_TENSOR_MAX,
                                             CUDNN_OP_TENSOR_SQRT, CUDNN_OP_TENSOR_NOT };
    cudnnHandle_t h = handle();
    float a[24], b[3], c0[24], c[24], a1 = 1.5f, a2 = -2, beta = 0.5f;
    fill(b, 3, 15), fill(c0, 24, 16);
    cudnnTensorDescriptor_t ad = tensor4(NCHW, FLT, 2, 3, 2, 2);
    cudnnTensorDescriptor_t bd = tensor4(NCHW, FLT, 1, 3, 1, 1);
    void *db = up(b, sizeof b), *dc = dev(sizeof c);
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        cudnnOpTensorOp_t op = ops[i];
        for (int j = 0; j < 24; j++) /* sqrt wants a >= 0, not a 0/1 mask */
            a[j] = op == CUDNN_OP_TENSOR_SQRT ? fabsf(val(j + 14))
                 : op == CUDNN_OP_TENSOR_NOT  ? (float)(j % 3 == 0)
                                              : val(j + 14);
        float s1 = op == CUDNN_OP_TENSOR_NOT ? 1.0f : a1;
        void *da = up(a, sizeof a);
        ck_assert_int_eq(cudaMemcpy(dc, c0, sizeof c0, cudaMemcpyHostToDevice), cudaSuccess);
        cudnnOpTensorDescriptor_t od = op_desc(op, FLT);
        ck_assert_int_eq(cudnnOpTensor(h, od, &s1, ad, da, &a2, bd, db, &beta, ad, dc), OK);
        down(c, dc, sizeof c);
        for (int j = 0; j < 24; j++)
            assert_near(c[j], ref_op(op, s1 * a[j], a2 * b[j / 4 % 3]) + 0.5 * c0[j]);
        cudnnDestroyOpTensorDescriptor(od);
        cudaFree(da);
    }
    /* B of 2 channels does not broadcast to 3. */
    cudnnTensorDescriptor_t bad_b = tensor4(NCHW, FLT, 1, 2, 1, 1);
    cudnnOpTensorDescriptor_t add = op_desc(CUDNN_OP_TENSOR_ADD, FLT);
    ck_assert_int_eq(cudnnOpTensor(h, add, &a1, ad, dc, &a2, bad_b, db, &beta, ad, dc), BAD);
    cudnnDestroy(h);
}
END_TEST

/* 2048 + 1: FP16 computation rounds back to 2048, FP32 computation into a
 * float C keeps 2049. */
START_TEST(test_op_tensor_half_compute)
{
    cudnnHandle_t h = handle();
    uint16_t a = H(2048), b = H(1), ch;
    float one = 1, zero = 0, cf;
    void *da = up(&a, 2), *db = up(&b, 2), *dc = dev(4);
    cudnnTensorDescriptor_t hd = tensor4(NCHW, HLF, 1, 1, 1, 1);
    cudnnTensorDescriptor_t fd = tensor4(NCHW, FLT, 1, 1, 1, 1);
    ck_assert_int_eq(cudnnOpTensor(h, op_desc(CUDNN_OP_TENSOR_ADD, HLF), &one, hd, da, &one, hd,
                                   db, &zero, hd, dc), OK);
    down(&ch, dc, 2);
    ck_assert_float_eq(F(ch), 2048.0f);
    ck_assert_int_eq(cudnnOpTensor(h, op_desc(CUDNN_OP_TENSOR_ADD, FLT), &one, hd, da, &one, hd,
                                   db, &zero, fd, dc), OK);
    down(&cf, dc, 4);
    ck_assert_float_eq(cf, 2049.0f);
    /* FP16 computation on a float C is not a listed configuration. */
    ck_assert_int_eq(cudnnOpTensor(h, op_desc(CUDNN_OP_TENSOR_ADD, HLF), &one, hd, da, &one, hd,
                                   db, &zero, fd, dc), BAD);
    cudnnDestroy(h);
}
END_TEST

/* ---- backend API ---------------------------------------------------------------------- */

static int64_t bget_int64(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name)
{
    int64_t v = -1, n = -1;
    ck_assert_int_eq(cudnnBackendGetAttribute(d, name, CUDNN_TYPE_INT64, 1, &n, &v), OK);
    ck_assert_int_eq(n, 1);
    return v;
}

/* A finalized tensor; strides NULL: packed row-major. */
static cudnnBackendDescriptor_t btensor(int64_t uid, cudnnDataType_t t, int nd, const int64_t *dim,
                                        const int64_t *stride, bool is_virtual)
{
    cudnnBackendDescriptor_t d = btensor_new(uid, t, nd, dim, stride);
    bset(d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual);
    bfinal(d);
    return d;
}

/* A finalized 2-D convolution descriptor. */
static cudnnBackendDescriptor_t bconv(cudnnDataType_t comp, const int64_t pre[2],
                                      const int64_t post[2], const int64_t stride[2],
                                      const int64_t dil[2])
{
    cudnnBackendDescriptor_t d = bdesc(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    bset(d, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    bconv_geometry(d, pre, post, stride, dil);
    bfinal(d);
    return d;
}

static cudnnBackendDescriptor_t bconv_fwd(cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t w,
                                          cudnnBackendDescriptor_t y, cudnnBackendDescriptor_t cv)
{
    float alpha = 1;
    double beta = 0; /* float and double scaling factors are both accepted */
    cudnnBackendDescriptor_t op = bdesc(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
    bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x);
    bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w);
    bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, y);
    bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, cv);
    bset(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    bset(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_DOUBLE, 1, &beta);
    bfinal(op);
    return op;
}

static cudnnBackendDescriptor_t bmatmul(cudnnBackendDescriptor_t a, cudnnBackendDescriptor_t b,
                                        cudnnBackendDescriptor_t c, cudnnDataType_t comp)
{
    cudnnBackendDescriptor_t md = bdesc(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    bset(md, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    bfinal(md);
    return bmatmul_op(a, b, c, md);
}

static cudnnBackendDescriptor_t bpw_op(cudnnBackendDescriptor_t pd, cudnnBackendDescriptor_t x,
                                       cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t y)
{
    return bpw_op_of(pd, x, b, y, false);
}

static cudnnBackendDescriptor_t bpw(cudnnPointwiseMode_t mode, cudnnDataType_t prec,
                                    cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t b,
                                    cudnnBackendDescriptor_t y)
{
    return bpw_op(bpw_desc(mode, prec), x, b, y);
}

static cudnnBackendDescriptor_t bgraph(cudnnHandle_t h, cudnnBackendDescriptor_t op)
{
    return bgraph_of(h, 1, &op);
}

/* A graph no engine runs: no engine counted, no heuristics result, and an
 * engine of it does not finalize. */
static void assert_no_engine(cudnnBackendDescriptor_t graph)
{
    ck_assert_int_eq(bget_int64(graph, CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT), 0);
    cudnnBackendDescriptor_t heur = bheur(graph, CUDNN_HEUR_MODE_INSTANT);
    int64_t n = -1, index = 0;
    ck_assert_int_eq(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, NULL), OK);
    ck_assert_int_eq(n, 0);
    cudnnBackendDescriptor_t engine = bdesc(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
    bset_desc(engine, CUDNN_ATTR_ENGINE_OPERATION_GRAPH, graph);
    bset(engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &index);
    ck_assert_int_eq(cudnnBackendFinalize(engine), UNSUP);
    cudnnBackendDestroyDescriptor(heur);
    cudnnBackendDestroyDescriptor(engine);
}

/* The way frameworks get a plan: heuristics, their first configuration. */
static cudnnBackendDescriptor_t bplan(cudnnHandle_t h, cudnnBackendDescriptor_t graph)
{
    cudnnBackendDescriptor_t heur = bheur(graph, CUDNN_HEUR_MODE_INSTANT);
    int64_t n = -1;
    ck_assert_int_eq(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, NULL), OK);
    ck_assert_int_eq(n, 1);
    cudnnBackendDescriptor_t cfg = bfirst_cfg(heur);
    cudnnBackendDescriptor_t plan = bplan_of(h, cfg);
    ck_assert_int_eq(bget_int64(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE), 0);
    cudnnBackendDestroyDescriptor(heur);
    cudnnBackendDestroyDescriptor(cfg);
    return plan;
}

static cudnnStatus_t bexecute(cudnnHandle_t h, cudnnBackendDescriptor_t plan, int n,
                              const int64_t *uids, void **ptrs)
{
    cudnnBackendDescriptor_t pack = bpack(n, uids, ptrs);
    cudnnStatus_t st = cudnnBackendExecute(h, plan, pack);
    cudnnBackendDestroyDescriptor(pack);
    return st;
}

static const int64_t zero2[2] = { 0, 0 }, one2[2] = { 1, 1 };

/* X [1, 1024, 2, 2] * W [1, 1024, 2, 2] of ones: 4096 products in one output
 * (y starts at 7); without ALPHA and BETA set when !scaled. */
static float backend_ones_conv(cudnnHandle_t h, cudnnDataType_t comp, bool scaled)
{
    uint16_t ones[4096];
    for (int i = 0; i < 4096; i++)
        ones[i] = H(1);
    const int64_t xd[4] = { 1, 1024, 2, 2 }, yd[4] = { 1, 1, 1, 1 };
    cudnnBackendDescriptor_t x = btensor('x', HLF, 4, xd, NULL, false);
    cudnnBackendDescriptor_t w = btensor('w', HLF, 4, xd, NULL, false);
    cudnnBackendDescriptor_t y = btensor('y', HLF, 4, yd, NULL, false);
    cudnnBackendDescriptor_t cv = bconv(comp, zero2, zero2, one2, one2), op;
    if (scaled) {
        op = bconv_fwd(x, w, y, cv);
    } else {
        op = bdesc(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
        bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x);
        bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w);
        bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, y);
        bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, cv);
        bfinal(op);
    }
    cudnnBackendDescriptor_t graph = bgraph(h, op);
    ck_assert_int_eq(bget_int64(graph, CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT), 1);
    cudnnBackendDescriptor_t plan = bplan(h, graph);
    uint16_t seven = H(7);
    void *dx = up(ones, sizeof ones), *dw = up(ones, sizeof ones), *dy = up(&seven, 2);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 'x', 'w', 'y' },
                              (void *[]){ dx, dw, dy }), OK);
    uint16_t out;
    down(&out, dy, 2);
    return F(out);
}

START_TEST(test_backend_conv_forward)
{
    cudnnHandle_t h = handle();
    ck_assert_float_eq(backend_ones_conv(h, HLF, true), 2048.0f);
    ck_assert_float_eq(backend_ones_conv(h, FLT, true), 4096.0f);
    /* Never given ALPHA (nor BETA): 0 * conv + 0 * y, as cuDNN 9 on an H100
     * wrote it. */
    ck_assert_float_eq(backend_ones_conv(h, FLT, false), 0.0f);

    /* The small geometry with x in NHWC strides (post padding 1 on h). */
    struct geom g = small_geom(0);
    g.xs[1] = 1, g.xs[3] = g.c, g.xs[2] = g.w * g.c, g.xs[0] = g.h * g.w * g.c;
    float x[252], w[72], y[128];
    double ref[128] = { 0 };
    fill(x, 252, 17), fill(w, 72, 18);
    struct refctx rc = { x, w, ref, 0 };
    each_tap(&g, ref_tap, &rc);
    const int64_t xdim[4] = { 2, 3, 7, 6 }, xstr[4] = { 126, 1, 18, 3 };
    const int64_t wdim[4] = { 4, 3, 3, 2 }, ydim[4] = { 2, 4, 4, 4 };
    const int64_t pre[2] = { 1, 0 }, post[2] = { 1, 0 }, str[2] = { 2, 1 }, dil[2] = { 1, 2 };
    cudnnBackendDescriptor_t xt = btensor(10, FLT, 4, xdim, xstr, false);
    cudnnBackendDescriptor_t wt = btensor(11, FLT, 4, wdim, NULL, false);
    cudnnBackendDescriptor_t yt = btensor(12, FLT, 4, ydim, NULL, false);
    cudnnBackendDescriptor_t op = bconv_fwd(xt, wt, yt, bconv(FLT, pre, post, str, dil));
    /* The operation keeps its own copy: the tensor descriptors may go. */
    cudnnBackendDestroyDescriptor(wt);
    cudnnBackendDescriptor_t got = bdesc(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    int64_t n = 0;
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &got), OK);
    ck_assert_int_eq(bget_int64(got, CUDNN_ATTR_TENSOR_UNIQUE_ID), 10);
    int64_t strides[8];
    ck_assert_int_eq(cudnnBackendGetAttribute(got, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 8,
                                              &n, strides), OK);
    ck_assert_int_eq(n, 4);
    ck_assert_mem_eq(strides, xstr, sizeof xstr);
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, op));
    void *dx = up(x, sizeof x), *dw = up(w, sizeof w), *dy = dev(sizeof y);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 12, 10, 11 }, (void *[]){ dy, dx, dw }),
                     OK);
    down(y, dy, sizeof y);
    for (int i = 0; i < 128; i++)
        assert_near(y[i], ref[i]);
    cudnnDestroy(h);
}
END_TEST

/* A [2, 3, 4096] x B [2, 4096, 2] of ones into C [2, 3, 2]. */
static float backend_ones_matmul(cudnnHandle_t h, cudnnDataType_t comp)
{
    uint16_t ones[2 * 3 * 4096];
    for (int i = 0; i < 2 * 3 * 4096; i++)
        ones[i] = H(1);
    const int64_t ad[3] = { 2, 3, 4096 }, bd[3] = { 2, 4096, 2 }, cd[3] = { 2, 3, 2 };
    cudnnBackendDescriptor_t a = btensor(1, HLF, 3, ad, NULL, false);
    cudnnBackendDescriptor_t b = btensor(2, HLF, 3, bd, NULL, false);
    cudnnBackendDescriptor_t c = btensor(3, HLF, 3, cd, NULL, false);
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, bmatmul(a, b, c, comp)));
    void *da = up(ones, 2 * 3 * 4096 * 2), *db = up(ones, 2 * 4096 * 2 * 2), *dc = dev(24);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ da, db, dc }), OK);
    uint16_t out[12];
    down(out, dc, sizeof out);
    for (int i = 1; i < 12; i++)
        ck_assert_uint_eq(out[i], out[0]);
    return F(out[0]);
}

START_TEST(test_backend_matmul)
{
    cudnnHandle_t h = handle();
    ck_assert_float_eq(backend_ones_matmul(h, HLF), 2048.0f);
    ck_assert_float_eq(backend_ones_matmul(h, FLT), 4096.0f);

    /* A [3, 4, 5] stored column-major per batch, B [1, 5, 2] broadcast. */
    float a[60], b[10], c[24];
    fill(a, 60, 19), fill(b, 10, 20);
    const int64_t ad[3] = { 3, 4, 5 }, as[3] = { 20, 1, 4 }, bd[3] = { 1, 5, 2 };
    const int64_t cd[3] = { 3, 4, 2 };
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, bmatmul(btensor(1, FLT, 3, ad, as, false),
                                                               btensor(2, FLT, 3, bd, NULL, false),
                                                               btensor(3, FLT, 3, cd, NULL, false),
                                                               FLT)));
    void *da = up(a, sizeof a), *db = up(b, sizeof b), *dc = dev(sizeof c);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 3, 1, 2 }, (void *[]){ dc, da, db }), OK);
    down(c, dc, sizeof c);
    for (int bt = 0; bt < 3; bt++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 2; j++) {
                double s = 0;
                for (int p = 0; p < 5; p++)
                    s += (double)a[bt * 20 + p * 4 + i] * b[p * 2 + j];
                assert_near(c[bt * 8 + i * 2 + j], s);
            }
    cudnnDestroy(h);
}
END_TEST

START_TEST(test_backend_attribute_errors)
{
    cudnnBackendDescriptor_t t = bdesc(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const int64_t dims[9] = { 1, 2, 3, 4, 1, 1, 1, 1, 1 }, zero = 0, uids[2] = { 1, 2 };
    const int32_t dims32[4] = { 1, 2, 3, 4 };
    cudnnDataType_t bogus = (cudnnDataType_t)99;
    const struct {
        cudnnBackendAttributeName_t name;
        cudnnBackendAttributeType_t type;
        int64_t n;
        const void *v;
    } bad[] = {
        { CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT32, 4, dims32 }, /* wrong type */
        { CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 2, uids },    /* wrong count */
        { CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 9, dims },   /* beyond CUDNN_DIM_MAX */
        { CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 1, &zero },  /* empty dim */
        { CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &bogus },
        { CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &bogus }, /* not a tensor's */
        { CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_int_eq(cudnnBackendSetAttribute(t, bad[i].name, bad[i].type, bad[i].n,
                                                  bad[i].v), BAD);
    /* Required attributes: everything but the alignment is set. */
    int64_t uid = 7, align = 8;
    cudnnDataType_t dt = FLT;
    bset(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    bset(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    bset(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
    bset(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, (int64_t[]){ 24, 12, 4, 1 });
    int64_t n;
    ck_assert_int_eq(cudnnBackendGetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1,
                                              &n, &uid), CUDNN_STATUS_NOT_INITIALIZED);
    ck_assert_int_eq(cudnnBackendFinalize(t), BAD);
    bset(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
    bfinal(t);
    /* Finalized: nothing more may be set (BAD_PARAM, as cuDNN 9.19 answers). */
    ck_assert_int_eq(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1,
                                              &uid), CUDNN_STATUS_BAD_PARAM);
    ck_assert_int_eq(cudnnBackendFinalize(t), BAD);
    ck_assert_int_eq(cudnnBackendGetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_DOUBLE,
                                              1, &n, &uid), BAD);

    /* A convolution descriptor whose arrays do not match its spatial dims. */
    cudnnBackendDescriptor_t cv = bdesc(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    int64_t nsp = 2;
    cudnnConvolutionMode_t mode = XCORR;
    const int64_t three[3] = { 1, 1, 1 };
    bset(cv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    bset(cv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
    bset(cv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &nsp);
    bset(cv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 3, three);
    bset(cv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, one2);
    bset(cv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, zero2);
    ck_assert_int_eq(cudnnBackendFinalize(cv), BAD); /* no post paddings */
    bset(cv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, zero2);
    ck_assert_int_eq(cudnnBackendFinalize(cv), BAD); /* 3 dilations */
    bset(cv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, one2);
    bfinal(cv);

    /* Operations: a missing W, a tensor not finalized, mismatched shapes. */
    const int64_t xd[4] = { 1, 2, 3, 3 }, wd[4] = { 1, 2, 3, 3 }, yd[4] = { 1, 1, 1, 1 };
    cudnnBackendDescriptor_t x = btensor(1, FLT, 4, xd, NULL, false);
    cudnnBackendDescriptor_t w = btensor(2, FLT, 4, wd, NULL, false);
    cudnnBackendDescriptor_t y = btensor(3, FLT, 4, yd, NULL, false);
    cudnnBackendDescriptor_t op = bdesc(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
    bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x);
    bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, y);
    bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, cv);
    ck_assert_int_eq(cudnnBackendFinalize(op), BAD);
    cudnnBackendDescriptor_t unfinished = bdesc(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &unfinished), BAD);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cv), BAD);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
                                              CUDNN_TYPE_INT64, 1, &uid), BAD);
    bset_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w);
    bfinal(op);
    cudnnBackendDescriptor_t mm = bdesc(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    cudnnBackendDescriptor_t md = bdesc(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendFinalize(md), BAD); /* no compute type */
    bset(md, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    bfinal(md);
    bset_desc(mm, CUDNN_ATTR_OPERATION_MATMUL_ADESC, x); /* [.., 3, 3] x [.., 1, 1] */
    bset_desc(mm, CUDNN_ATTR_OPERATION_MATMUL_BDESC, y);
    bset_desc(mm, CUDNN_ATTR_OPERATION_MATMUL_CDESC, y);
    bset_desc(mm, CUDNN_ATTR_OPERATION_MATMUL_DESC, md);
    ck_assert_int_eq(cudnnBackendFinalize(mm), BAD);

    /* Stored, gettable: pointwise and reduction descriptors. */
    cudnnBackendDescriptor_t pw = bdesc(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    cudnnPointwiseMode_t pm = CUDNN_POINTWISE_ADD, pm2;
    ck_assert_int_eq(cudnnBackendFinalize(pw), BAD);
    bset(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &pm);
    bset(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    bfinal(pw);
    ck_assert_int_eq(cudnnBackendGetAttribute(pw, CUDNN_ATTR_POINTWISE_MODE,
                                              CUDNN_TYPE_POINTWISE_MODE, 1, &n, &pm2), OK);
    ck_assert_int_eq(pm2, CUDNN_POINTWISE_ADD);
    cudnnBackendDescriptor_t rd = bdesc(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    cudnnReduceTensorOp_t ro = CUDNN_REDUCE_TENSOR_AMAX, ro2;
    cudnnDataType_t comp2;
    bset(rd, CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &ro);
    bset(rd, CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    bfinal(rd);
    ck_assert_int_eq(cudnnBackendGetAttribute(rd, CUDNN_ATTR_REDUCTION_OPERATOR,
                                              CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &n, &ro2), OK);
    ck_assert_int_eq(cudnnBackendGetAttribute(rd, CUDNN_ATTR_REDUCTION_COMP_TYPE,
                                              CUDNN_TYPE_DATA_TYPE, 1, &n, &comp2), OK);
    ck_assert_int_eq(ro2, CUDNN_REDUCE_TENSOR_AMAX);
    ck_assert_int_eq(comp2, FLT);

    /* A variant pack with fewer pointers than UIDs. */
    cudnnBackendDescriptor_t pack = bdesc(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    void *ptr = NULL;
    bset(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 2, uids);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 1, &ptr);
    ck_assert_int_eq(cudnnBackendFinalize(pack), BAD);

    cudnnBackendDescriptor_t other = NULL;
    ck_assert_int_eq(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATION_NORM_FORWARD_DESCRIPTOR,
                                                  &other), UNSUP);
    ck_assert_int_eq(cudnnBackendDestroyDescriptor(t), OK);
    ck_assert_int_eq(cudnnBackendDestroyDescriptor(NULL), BAD);
}
END_TEST

/* What the emulator cannot run has no engine; a missing UID fails execution. */
START_TEST(test_backend_unsupported_and_missing_uid)
{
    cudnnHandle_t h = handle();
    const int64_t ad[3] = { 1, 2, 2 };
    cudnnBackendDescriptor_t a = btensor(1, FLT, 3, ad, NULL, false);
    cudnnBackendDescriptor_t b = btensor(2, FLT, 3, ad, NULL, false);
    cudnnBackendDescriptor_t cv = btensor(3, FLT, 3, ad, NULL, true);
    cudnnBackendDescriptor_t graph = bgraph(h, bmatmul(a, b, cv, FLT));
    assert_no_engine(graph);

    /* The same UID for two tensors of one operation. */
    cudnnBackendDescriptor_t dup = btensor(1, FLT, 3, ad, NULL, false);
    cudnnBackendDescriptor_t g2 = bdesc(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    bset_desc(g2, CUDNN_ATTR_OPERATIONGRAPH_OPS, bmatmul(a, b, dup, FLT));
    ck_assert_int_eq(cudnnBackendFinalize(g2), BAD);

    cudnnBackendDescriptor_t c = btensor(3, FLT, 3, ad, NULL, false);
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, bmatmul(a, b, c, FLT)));
    void *d = dev(64);
    ck_assert_int_eq(bexecute(h, plan, 2, (int64_t[]){ 1, 2 }, (void *[]){ d, d }), BAD);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ d, d, NULL }), BAD);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ d, d, d }), OK);
    cudnnDestroy(h);
}
END_TEST

/* ---- fused graphs and pointwise operations -------------------------------------------- */

/* conv (compute comp) of x [1, 2, 2, 2] and w [2, 2, 1, 1] into uid 4 (a
 * virtual FLOAT tensor, or with real_mid a real HALF one), + bias [1, 2,
 * 1, 1] (uid 5) into virtual FLOAT uid 6, RELU_FWD into y (uid 3, HALF);
 * pointwise MATH_PREC FLOAT. Channel 0 of the convolution is 30000 (x0 +
 * x1): 60000, 120000, 105000, -60000, the bias -40000; channel 1 is x0 -
 * x1: 0, 0, 2.5, 4, the bias -1. */
static const float fx[8] = { 1, 2, 3, 1, 1, 2, 0.5f, -3 }, fw[4] = { 30000, 30000, 1, -1 };
static const float fb[2] = { -40000, -1 };

static cudnnBackendDescriptor_t fused_plan(cudnnHandle_t h, cudnnDataType_t comp, bool real_mid)
{
    const int64_t d4[4] = { 1, 2, 2, 2 }, wd[4] = { 2, 2, 1, 1 }, bd[4] = { 1, 2, 1, 1 };
    cudnnBackendDescriptor_t m = real_mid ? btensor(4, HLF, 4, d4, NULL, false)
                                          : btensor(4, FLT, 4, d4, NULL, true);
    cudnnBackendDescriptor_t sum = btensor(6, FLT, 4, d4, NULL, true);
    cudnnBackendDescriptor_t ops[3] = {
        bconv_fwd(btensor(1, HLF, 4, d4, NULL, false), btensor(2, HLF, 4, wd, NULL, false), m,
                  bconv(comp, zero2, zero2, one2, one2)),
        bpw(CUDNN_POINTWISE_ADD, FLT, m, btensor(5, HLF, 4, bd, NULL, false), sum),
        bpw(CUDNN_POINTWISE_RELU_FWD, FLT, sum, NULL, btensor(3, HLF, 4, d4, NULL, false)),
    };
    cudnnBackendDescriptor_t graph = bgraph_of(h, 3, ops);
    ck_assert_int_eq(bget_int64(graph, CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT), 1);
    return bplan(h, graph);
}

/* Device copies of x, w and the bias, and y and mid filled with -7. */
struct fused_bufs {
    void *x, *w, *b, *y, *mid;
};

static struct fused_bufs fused_bufs(void)
{
    uint16_t xh[8], wh[4], bh[2], sentinel[8];
    for (int i = 0; i < 8; i++)
        xh[i] = H(fx[i]), sentinel[i] = H(-7);
    for (int i = 0; i < 4; i++)
        wh[i] = H(fw[i]);
    bh[0] = H(fb[0]), bh[1] = H(fb[1]);
    return (struct fused_bufs){ up(xh, sizeof xh), up(wh, sizeof wh), up(bh, sizeof bh),
                                up(sentinel, 16), up(sentinel, 16) };
}

static void down_half(float *out, const void *d, int n)
{
    uint16_t hv[16];
    down(hv, d, (size_t)n * 2);
    for (int i = 0; i < n; i++)
        out[i] = F(hv[i]);
}

static void fused_run(cudnnHandle_t h, cudnnDataType_t comp, bool real_mid, float y[8],
                      float mid[8])
{
    cudnnBackendDescriptor_t plan = fused_plan(h, comp, real_mid);
    struct fused_bufs d = fused_bufs();
    /* Virtual tensors are not in the pack; the pack's order is free. */
    ck_assert_int_eq(bexecute(h, plan, real_mid ? 5 : 4, (int64_t[]){ 1, 2, 5, 3, 4 },
                              (void *[]){ d.x, d.w, d.b, d.y, d.mid }), OK);
    down_half(y, d.y, 8);
    down_half(mid, d.mid, 8);
}

static void assert_floats(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i] || (isnan(got[i]) && isnan(want[i])),
                      "element %d: %g, want %g", i, got[i], want[i]);
}

START_TEST(test_backend_fused_conv_bias_relu)
{
    cudnnHandle_t h = handle();
    float y[8], mid[8];
    const float untouched[8] = { -7, -7, -7, -7, -7, -7, -7, -7 };
    /* FLOAT intermediates: 120000 - 40000 is finite until y's half store
     * (+Inf); 105000 - 40000 = 65000 rounds to 64992; RELU zeroes -100000,
     * -1 and -1. */
    fused_run(h, FLT, false, y, mid);
    assert_floats(y, (const float[]){ 20000, INFINITY, 64992, 0, 0, 0, 1.5f, 3 }, 8);
    assert_floats(mid, untouched, 8);
    /* The convolution's output a real half tensor: Inf already there. */
    fused_run(h, FLT, true, y, mid);
    assert_floats(mid, (const float[]){ 60000, INFINITY, INFINITY, -60000, 0, 0, 2.5f, 4 }, 8);
    assert_floats(y, (const float[]){ 20000, INFINITY, INFINITY, 0, 0, 0, 1.5f, 3 }, 8);
    /* HALF compute rounds the convolution's every step even into a FLOAT
     * intermediate: 3 x 30000 is +Inf, 30000 - 90000 is -Inf, RELU'd to 0. */
    fused_run(h, HLF, false, y, mid);
    assert_floats(y, (const float[]){ 20000, INFINITY, INFINITY, 0, 0, 0, 1.5f, 3 }, 8);
    cudnnDestroy(h);
}
END_TEST

/* y (FLOAT) = x (HALF, NHWC strides) + b [1, 2, 1, 1] (HALF, broadcast):
 * channel 0 is 2048, 1, 2, 3 plus 1, channel 1 is 2048, -1, 4, 5 plus 0.25. */
static void pointwise_add(cudnnHandle_t h, cudnnDataType_t prec, float y[8])
{
    static const float xv[8] = { 2048, 1, 2, 3, 2048, -1, 4, 5 };
    const int64_t d4[4] = { 1, 2, 2, 2 }, nhwc[4] = { 8, 1, 4, 2 }, bd[4] = { 1, 2, 1, 1 };
    uint16_t xh[8], bh[2] = { H(1), H(0.25f) };
    for (int c = 0; c < 2; c++)
        for (int p = 0; p < 4; p++)
            xh[p * 2 + c] = H(xv[c * 4 + p]);
    cudnnBackendDescriptor_t op =
        bpw(CUDNN_POINTWISE_ADD, prec, btensor(1, HLF, 4, d4, nhwc, false),
            btensor(2, HLF, 4, bd, NULL, false), btensor(3, FLT, 4, d4, NULL, false));
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, op));
    void *dx = up(xh, sizeof xh), *db = up(bh, sizeof bh), *dy = dev(32);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ dx, db, dy }), OK);
    down(y, dy, 32);
}

START_TEST(test_backend_pointwise_add)
{
    cudnnHandle_t h = handle();
    float y[8];
    pointwise_add(h, FLT, y);
    assert_floats(y, (const float[]){ 2049, 2, 3, 4, 2048.25f, -0.75f, 4.25f, 5.25f }, 8);
    /* MATH_PREC HALF rounds the sum: 2048 + 1 and 2048 + 0.25 are 2048. */
    pointwise_add(h, HLF, y);
    assert_floats(y, (const float[]){ 2048, 2, 3, 4, 2048, -0.75f, 4.25f, 5.25f }, 8);

    /* A virtual intermediate keeps its own type: 2048 + 1 in a HALF one is
     * 2048 by the time IDENTITY copies it out, in a FLOAT one 2049. */
    const int64_t d[4] = { 1, 1, 1, 2 };
    float x[2] = { 2048, 2048 }, b[2] = { 1, 1 };
    void *dx = up(x, 8), *db = up(b, 8), *dy = dev(8);
    for (int half = 0; half < 2; half++) {
        cudnnBackendDescriptor_t v = btensor(3, half ? HLF : FLT, 4, d, NULL, true);
        cudnnBackendDescriptor_t ops[2] = {
            bpw(CUDNN_POINTWISE_ADD, FLT, btensor(1, FLT, 4, d, NULL, false),
                btensor(2, FLT, 4, d, NULL, false), v),
            bpw(CUDNN_POINTWISE_IDENTITY, FLT, v, NULL, btensor(4, FLT, 4, d, NULL, false)),
        };
        cudnnBackendDescriptor_t plan = bplan(h, bgraph_of(h, 2, ops));
        ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 4 }, (void *[]){ dx, db, dy }),
                         OK);
        down(y, dy, 8);
        assert_floats(y, half ? (const float[]){ 2048, 2048 } : (const float[]){ 2049, 2049 }, 2);
    }
    cudnnDestroy(h);
}
END_TEST

/* y [1, 1, 2, 2] = (alpha1 x) (alpha2 b), x [1, 1, 1, 2] and b [1, 1, 2, 1]
 * both broadcast: y[h][w] = (2 x[w]) (0.25 b[h]). */
START_TEST(test_backend_pointwise_mul_alpha)
{
    cudnnHandle_t h = handle();
    const int64_t xd[4] = { 1, 1, 1, 2 }, bd[4] = { 1, 1, 2, 1 }, yd[4] = { 1, 1, 2, 2 };
    float a1 = 2, x[2] = { 2, 3 }, b[2] = { 5, 7 }, y[4];
    double a2 = 0.25, got2 = 0;
    cudnnBackendDescriptor_t op = bdesc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, bpw_desc(CUDNN_POINTWISE_MUL, FLT));
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, btensor(1, FLT, 4, xd, NULL, false));
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, btensor(2, FLT, 4, bd, NULL, false));
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, btensor(3, FLT, 4, yd, NULL, false));
    bset(op, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, CUDNN_TYPE_FLOAT, 1, &a1);
    bset(op, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2, CUDNN_TYPE_DOUBLE, 1, &a2);
    bfinal(op);
    int64_t n = 0;
    float got1 = 0;
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1,
                                              CUDNN_TYPE_FLOAT, 1, &n, &got1), OK);
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2,
                                              CUDNN_TYPE_DOUBLE, 1, &n, &got2), OK);
    ck_assert_float_eq(got1, 2.0f);
    ck_assert_double_eq(got2, 0.25);
    cudnnBackendDescriptor_t bt = bdesc(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &bt), OK);
    ck_assert_int_eq(bget_int64(bt, CUDNN_ATTR_TENSOR_UNIQUE_ID), 2);
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, op));
    cudnnBackendDestroyDescriptor(op); /* the graph keeps its own copy */
    void *dx = up(x, sizeof x), *db = up(b, sizeof b), *dy = dev(sizeof y);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ dx, db, dy }), OK);
    down(y, dy, sizeof y);
    assert_floats(y, (const float[]){ 5, 7.5f, 7, 10.5f }, 4);
    cudnnDestroy(h);
}
END_TEST

/* A RELU descriptor (FLOAT) with a lower clip of 1, an upper one of 6 and
 * a slope of 0.5 below (set as float: float and double are accepted). */
static cudnnBackendDescriptor_t relu_clipped(cudnnPointwiseMode_t mode)
{
    cudnnBackendDescriptor_t pd = bdesc(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    cudnnDataType_t prec = FLT;
    double lower = 1, upper = 6;
    float slope = 0.5f;
    bset(pd, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
    bset(pd, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec);
    bset(pd, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP, CUDNN_TYPE_DOUBLE, 1, &lower);
    bset(pd, CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP, CUDNN_TYPE_DOUBLE, 1, &upper);
    bset(pd, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE, CUDNN_TYPE_FLOAT, 1, &slope);
    bfinal(pd);
    return pd;
}

/* IDENTITY scales by alpha1; RELU_FWD clips as cuDNN defines: below the
 * lower clip, lower + slope (v - lower); above the upper clip, upper. */
static void unary(cudnnHandle_t h, cudnnBackendDescriptor_t pd, float alpha1, const float x[4],
                  float y[4])
{
    const int64_t d[4] = { 1, 1, 2, 2 };
    cudnnBackendDescriptor_t op = bdesc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pd);
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, btensor(1, FLT, 4, d, NULL, false));
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, btensor(2, FLT, 4, d, NULL, false));
    bset(op, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, CUDNN_TYPE_FLOAT, 1, &alpha1);
    bfinal(op);
    int64_t n = -1;
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, NULL), OK);
    ck_assert_int_eq(n, 0); /* unary: no b */
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, op));
    void *dx = up(x, 16), *dy = dev(16);
    ck_assert_int_eq(bexecute(h, plan, 2, (int64_t[]){ 1, 2 }, (void *[]){ dx, dy }), OK);
    down(y, dy, 16);
}

START_TEST(test_backend_pointwise_unary)
{
    cudnnHandle_t h = handle();
    float y[4];
    unary(h, bpw_desc(CUDNN_POINTWISE_IDENTITY, FLT), -3, (const float[]){ 1, -2, 0.5f, 4 }, y);
    assert_floats(y, (const float[]){ -3, 6, -1.5f, -12 }, 4);
    unary(h, bpw_desc(CUDNN_POINTWISE_RELU_FWD, FLT), 1,
          (const float[]){ -1, 2, -INFINITY, NAN }, y);
    assert_floats(y, (const float[]){ 0, 2, 0, NAN }, 4);
    unary(h, relu_clipped(CUDNN_POINTWISE_RELU_FWD), 1, (const float[]){ -1, 2, 0, 8 }, y);
    assert_floats(y, (const float[]){ 0, 2, 0.5f, 6 }, 4);
    cudnnDestroy(h);
}
END_TEST

/* The operation's attributes: what finalizing requires (shapes are not
 * checked there, as cuDNN 9 does not check them). */
START_TEST(test_backend_pointwise_descriptor)
{
    const int64_t d[4] = { 1, 2, 2, 2 }, bad[4] = { 1, 3, 1, 1 };
    cudnnBackendDescriptor_t x = btensor(1, FLT, 4, d, NULL, false);
    cudnnBackendDescriptor_t y = btensor(2, FLT, 4, d, NULL, false);
    cudnnBackendDescriptor_t add = bpw_desc(CUDNN_POINTWISE_ADD, FLT);
    cudnnBackendDescriptor_t op = bdesc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendFinalize(op), BAD);
    int64_t i64 = 1;
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1,
                                              CUDNN_TYPE_INT64, 1, &i64), BAD);
    cudnnBackendDescriptor_t unfinished = bdesc(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &unfinished),
                     BAD);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &add), BAD);
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, add);
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
    ck_assert_int_eq(cudnnBackendFinalize(op), BAD); /* ADD without b */
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, btensor(3, FLT, 4, bad, NULL, false));
    bfinal(op);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x),
                     CUDNN_STATUS_BAD_PARAM);
    /* A graph holding it exports it back as a pointwise operation. */
    cudnnHandle_t h = handle();
    cudnnBackendDescriptor_t graph = bgraph(h, op);
    cudnnBackendDescriptor_t back = bdesc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    int64_t n = 0;
    ck_assert_int_eq(cudnnBackendGetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &back), OK);
    ck_assert_int_eq(n, 1);
    cudnnBackendDescriptor_t pd = bdesc(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendGetAttribute(back, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &pd), OK);
    cudnnPointwiseMode_t mode = CUDNN_POINTWISE_EXP;
    ck_assert_int_eq(cudnnBackendGetAttribute(pd, CUDNN_ATTR_POINTWISE_MODE,
                                              CUDNN_TYPE_POINTWISE_MODE, 1, &n, &mode), OK);
    ck_assert_int_eq(mode, CUDNN_POINTWISE_ADD);
    /* b [1, 3, 1, 1] does not broadcast to y [1, 2, 2, 2]: no engine. */
    assert_no_engine(graph);

    /* Backward modes take x, dy and dx (TANH_BWD is not emulated: no
     * engine); BINARY_SELECT takes t. */
    cudnnBackendDescriptor_t bwd = bdesc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    bset_desc(bwd, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR,
              bpw_desc(CUDNN_POINTWISE_TANH_BWD, FLT));
    bset_desc(bwd, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
    bset_desc(bwd, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
    ck_assert_int_eq(cudnnBackendFinalize(bwd), BAD);
    bset_desc(bwd, CUDNN_ATTR_OPERATION_POINTWISE_DYDESC, y);
    bset_desc(bwd, CUDNN_ATTR_OPERATION_POINTWISE_DXDESC, btensor(4, FLT, 4, d, NULL, false));
    bfinal(bwd);
    assert_no_engine(bgraph(h, bwd));
    cudnnBackendDescriptor_t sel = bdesc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    bset_desc(sel, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR,
              bpw_desc(CUDNN_POINTWISE_BINARY_SELECT, FLT));
    bset_desc(sel, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
    bset_desc(sel, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, btensor(5, FLT, 4, d, NULL, false));
    bset_desc(sel, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
    ck_assert_int_eq(cudnnBackendFinalize(sel), BAD);
    bset_desc(sel, CUDNN_ATTR_OPERATION_POINTWISE_TDESC, btensor(6, FLT, 4, d, NULL, false));
    bfinal(sel);
    assert_no_engine(bgraph(h, sel));
    cudnnDestroy(h);
}
END_TEST

static cudnnBackendDescriptor_t bpw_bwd(cudnnBackendDescriptor_t pd, cudnnBackendDescriptor_t x,
                                        cudnnBackendDescriptor_t dy, cudnnBackendDescriptor_t dx)
{
    return bpw_op_of(pd, x, dy, dx, true);
}

/* RELU_BWD of FLOAT x and dy [1, 1, 2, 4] into FLOAT dx. */
static void relu_bwd(cudnnHandle_t h, cudnnBackendDescriptor_t pd, const float x[8],
                     const float dy[8], float dx[8])
{
    const int64_t d[4] = { 1, 1, 2, 4 };
    cudnnBackendDescriptor_t op = bpw_bwd(pd, btensor(1, FLT, 4, d, NULL, false),
                                          btensor(2, FLT, 4, d, NULL, false),
                                          btensor(3, FLT, 4, d, NULL, false));
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, op));
    void *px = up(x, 32), *pdy = up(dy, 32), *pdx = dev(32);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ px, pdy, pdx }), OK);
    down(dx, pdx, 32);
}

/* dx = dy where x is above the lower clip (0 by default) and not above the
 * upper one, slope * dy at or below the lower clip, 0 above the upper one;
 * a NaN x passes nothing back, and a slope of 0 passes nothing of an
 * infinite dy. */
START_TEST(test_backend_pointwise_relu_bwd)
{
    cudnnHandle_t h = handle();
    const float x[8] = { -1, 0, 0.5f, 2, 6, 7, NAN, -INFINITY };
    float dx[8];
    relu_bwd(h, bpw_desc(CUDNN_POINTWISE_RELU_BWD, FLT), x,
             (const float[]){ 3, 3, 3, 3, 3, 3, 3, INFINITY }, dx);
    assert_floats(dx, (const float[]){ 0, 0, 3, 3, 3, 3, 0, 0 }, 8);
    relu_bwd(h, relu_clipped(CUDNN_POINTWISE_RELU_BWD), x,
             (const float[]){ 3, 3, 3, 3, 3, 3, 3, 3 }, dx);
    assert_floats(dx, (const float[]){ 1.5f, 1.5f, 1.5f, 3, 3, 0, 1.5f, 1.5f }, 8);

    /* dy [1, 2, 1, 1] broadcast over a HALF x into a HALF dx: 2049 rounds
     * to 2048 once, 70000 overflows at the store. */
    const int64_t d4[4] = { 1, 2, 2, 2 }, bd[4] = { 1, 2, 1, 1 };
    uint16_t xh[8], out[8];
    const float xv[8] = { 1, -1, 1, -1, 1, 1, -1, 0 }, dyv[2] = { 2049, 70000 };
    for (int i = 0; i < 8; i++)
        xh[i] = H(xv[i]);
    cudnnBackendDescriptor_t op =
        bpw_bwd(bpw_desc(CUDNN_POINTWISE_RELU_BWD, FLT), btensor(1, HLF, 4, d4, NULL, false),
                btensor(2, FLT, 4, bd, NULL, false), btensor(3, HLF, 4, d4, NULL, false));
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, op));
    void *px = up(xh, sizeof xh), *pdy = up(dyv, sizeof dyv), *pdx = dev(sizeof out);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ px, pdy, pdx }), OK);
    down_half(dx, pdx, 8);
    assert_floats(dx, (const float[]){ 2048, 0, 2048, 0, INFINITY, INFINITY, 0, 0 }, 8);

    /* Fused: dy is a virtual FLOAT tensor an ADD writes (x + b). */
    const int64_t d[4] = { 1, 1, 1, 4 };
    cudnnBackendDescriptor_t v = btensor(4, FLT, 4, d, NULL, true);
    cudnnBackendDescriptor_t ops[2] = {
        bpw(CUDNN_POINTWISE_ADD, FLT, btensor(1, FLT, 4, d, NULL, false),
            btensor(2, FLT, 4, d, NULL, false), v),
        bpw_bwd(bpw_desc(CUDNN_POINTWISE_RELU_BWD, FLT), btensor(5, FLT, 4, d, NULL, false), v,
                btensor(3, FLT, 4, d, NULL, false)),
    };
    plan = bplan(h, bgraph_of(h, 2, ops));
    float a[4] = { 1, 2, 3, 4 }, b[4] = { 10, 20, 30, 40 }, xr[4] = { 1, -1, 0.25f, 0 };
    void *pa = up(a, 16), *pb = up(b, 16), *pxr = up(xr, 16), *py = dev(16);
    ck_assert_int_eq(bexecute(h, plan, 4, (int64_t[]){ 1, 2, 5, 3 },
                              (void *[]){ pa, pb, pxr, py }), OK);
    down(dx, py, 16);
    assert_floats(dx, (const float[]){ 11, 0, 33, 0 }, 4);
    cudnnDestroy(h);
}
END_TEST

enum { PX = 1, PY = 2, PDY = 4, PDX = 8 };

/* Finalizes a pointwise operation of mode with the tensors in `set`;
 * the operation in *op. */
static cudnnStatus_t pw_with(cudnnPointwiseMode_t mode, unsigned set, cudnnBackendDescriptor_t *op)
{
    static const cudnnBackendAttributeName_t attrs[4] = {
        CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_ATTR_OPERATION_POINTWISE_YDESC,
        CUDNN_ATTR_OPERATION_POINTWISE_DYDESC, CUDNN_ATTR_OPERATION_POINTWISE_DXDESC };
    const int64_t d[4] = { 1, 2, 2, 2 };
    *op = bdesc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    bset_desc(*op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, bpw_desc(mode, FLT));
    for (int i = 0; i < 4; i++)
        if (set >> i & 1)
            bset_desc(*op, attrs[i], btensor(i + 1, FLT, 4, d, NULL, false));
    return cudnnBackendFinalize(*op);
}

/* What finalizing requires, as cuDNN 9.19 answers: the tensors a mode
 * takes all set or none (a backward mode's x, dy and dx; a forward mode's
 * x and y), the others ignored; a graph refuses an operation with none. */
START_TEST(test_backend_pointwise_bwd_finalize)
{
    static const struct {
        cudnnPointwiseMode_t mode;
        unsigned set;
        cudnnStatus_t want;
    } cases[] = {
        { CUDNN_POINTWISE_RELU_BWD, PX, BAD },
        { CUDNN_POINTWISE_RELU_BWD, PX | PY, BAD },
        { CUDNN_POINTWISE_RELU_BWD, PX | PDY, BAD },
        { CUDNN_POINTWISE_RELU_BWD, PDY | PDX, BAD },
        { CUDNN_POINTWISE_RELU_BWD, PY | PDY | PDX, BAD },
        { CUDNN_POINTWISE_RELU_BWD, PX | PDY | PDX, OK },
        { CUDNN_POINTWISE_RELU_BWD, PX | PY | PDY | PDX, OK },
        { CUDNN_POINTWISE_RELU_BWD, PY, OK },
        { CUDNN_POINTWISE_RELU_FWD, PX | PDY | PDX, BAD },
        { CUDNN_POINTWISE_RELU_FWD, PDY | PDX, OK },
        { CUDNN_POINTWISE_RELU_FWD, PX | PY | PDY | PDX, OK },
    };
    cudnnHandle_t h = handle();
    cudnnBackendDescriptor_t op;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_msg(pw_with(cases[i].mode, cases[i].set, &op) == cases[i].want, "case %zu", i);
    /* No tensor the mode takes: finalized, refused by a graph. */
    ck_assert_int_eq(pw_with(CUDNN_POINTWISE_RELU_BWD, PY, &op), OK);
    cudnnBackendDescriptor_t g = bdesc(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    bset_desc(g, CUDNN_ATTR_OPERATIONGRAPH_OPS, op);
    ck_assert_int_eq(cudnnBackendFinalize(g), BAD);
    /* A forward mode runs as one, whatever dy and dx say. */
    ck_assert_int_eq(pw_with(CUDNN_POINTWISE_RELU_FWD, PX | PY | PDY | PDX, &op), OK);
    ck_assert_int_eq(bget_int64(bgraph(h, op), CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT), 1);
    /* dx and dy read back. */
    ck_assert_int_eq(pw_with(CUDNN_POINTWISE_RELU_BWD, PX | PDY | PDX, &op), OK);
    cudnnBackendDescriptor_t t = bdesc(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    int64_t n = 0;
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_POINTWISE_DXDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &t), OK);
    ck_assert_int_eq(bget_int64(t, CUDNN_ATTR_TENSOR_UNIQUE_ID), 4);
    cudnnDestroy(h);
}
END_TEST

/* A batched matmul into a virtual FLOAT tensor, then MUL by a per-column
 * scale: C = A [2, 2, 3] x B [1, 3, 2] (HALF, compute HALF), y = C s. */
START_TEST(test_backend_fused_matmul_scale)
{
    cudnnHandle_t h = handle();
    const int64_t ad[3] = { 2, 2, 3 }, bd[3] = { 1, 3, 2 }, cd[3] = { 2, 2, 2 };
    const int64_t sd[3] = { 1, 1, 2 };
    float a[12], b[6], y[8];
    uint16_t ah[12], bh[6];
    fill(a, 12, 21), fill(b, 6, 22);
    for (int i = 0; i < 12; i++)
        ah[i] = H(a[i]);
    for (int i = 0; i < 6; i++)
        bh[i] = H(b[i]);
    float scale[2] = { 2, -0.5f };
    cudnnBackendDescriptor_t c = btensor(3, FLT, 3, cd, NULL, true);
    cudnnBackendDescriptor_t ops[2] = {
        bmatmul(btensor(1, HLF, 3, ad, NULL, false), btensor(2, HLF, 3, bd, NULL, false), c, HLF),
        bpw(CUDNN_POINTWISE_MUL, FLT, c, btensor(4, FLT, 3, sd, NULL, false),
            btensor(5, FLT, 3, cd, NULL, false)),
    };
    cudnnBackendDescriptor_t plan = bplan(h, bgraph_of(h, 2, ops));
    void *da = up(ah, sizeof ah), *db = up(bh, sizeof bh), *ds = up(scale, 8), *dy = dev(32);
    ck_assert_int_eq(bexecute(h, plan, 4, (int64_t[]){ 1, 2, 4, 5 },
                              (void *[]){ da, db, ds, dy }), OK);
    down(y, dy, sizeof y);
    for (int bt = 0; bt < 2; bt++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double acc = 0;
                for (int p = 0; p < 3; p++)
                    acc += (double)a[bt * 6 + i * 3 + p] * b[p * 2 + j];
                assert_near(y[bt * 4 + i * 2 + j], acc * scale[j]);
            }
    cudnnDestroy(h);
}
END_TEST

/* Graphs with no engine: a mode or precision not emulated, a virtual
 * tensor read before it is produced, or produced and never read. */
START_TEST(test_backend_fused_no_engine)
{
    cudnnHandle_t h = handle();
    const int64_t d[4] = { 1, 2, 2, 2 }, bd[4] = { 1, 2, 1, 1 };
    cudnnBackendDescriptor_t x = btensor(1, HLF, 4, d, NULL, false);
    cudnnBackendDescriptor_t b = btensor(2, HLF, 4, bd, NULL, false);
    cudnnBackendDescriptor_t y = btensor(3, HLF, 4, d, NULL, false);
    cudnnBackendDescriptor_t v = btensor(4, FLT, 4, d, NULL, true);
    assert_no_engine(bgraph(h, bpw(CUDNN_POINTWISE_EXP, FLT, x, NULL, y)));
    assert_no_engine(bgraph(h, bpw(CUDNN_POINTWISE_SUB, FLT, x, b, y)));
    assert_no_engine(bgraph(h, bpw(CUDNN_POINTWISE_ADD, CUDNN_DATA_DOUBLE, x, b, y)));
    cudnnBackendDescriptor_t add = bpw(CUDNN_POINTWISE_ADD, FLT, x, b, v);
    cudnnBackendDescriptor_t relu = bpw(CUDNN_POINTWISE_RELU_FWD, FLT, v, NULL, y);
    cudnnBackendDescriptor_t exp = bpw(CUDNN_POINTWISE_EXP, FLT, v, NULL, y);
    ck_assert_int_eq(bget_int64(bgraph_of(h, 2, (cudnnBackendDescriptor_t[]){ add, relu }),
                                CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT), 1);
    assert_no_engine(bgraph_of(h, 2, (cudnnBackendDescriptor_t[]){ relu, add }));
    assert_no_engine(bgraph_of(h, 2, (cudnnBackendDescriptor_t[]){ add, exp }));
    assert_no_engine(bgraph(h, add));
    assert_no_engine(bgraph(h, relu));
    /* A real tensor written after an operation read it. */
    cudnnBackendDescriptor_t r = btensor(5, HLF, 4, d, NULL, false);
    assert_no_engine(bgraph_of(h, 2, (cudnnBackendDescriptor_t[]){
                                         bpw(CUDNN_POINTWISE_RELU_FWD, FLT, r, NULL, y),
                                         bpw(CUDNN_POINTWISE_ADD, FLT, x, b, r) }));
    cudnnDestroy(h);
}
END_TEST

/* Every real tensor needs its pointer; a bad one fails the run before
 * anything is written, a captured graph runs at launch. */
START_TEST(test_backend_fused_pack_capture_bad_pointer)
{
    cudnnHandle_t h = handle();
    cudnnBackendDescriptor_t plan = fused_plan(h, FLT, true);
    struct fused_bufs d = fused_bufs();
    const int64_t uids[5] = { 1, 2, 5, 3, 4 };
    ck_assert_int_eq(bexecute(h, plan, 4, uids, (void *[]){ d.x, d.w, d.b, d.y }), BAD);
    ck_assert_int_eq(bexecute(h, plan, 4, (int64_t[]){ 1, 2, 3, 4 },
                              (void *[]){ d.x, d.w, d.y, d.mid }), BAD);
    ck_assert_int_eq(bexecute(h, plan, 5, uids, (void *[]){ d.x, d.w, NULL, d.y, d.mid }), BAD);
    uint16_t host[2] = { 0 };
    ck_assert_int_eq(bexecute(h, plan, 5, uids, (void *[]){ d.x, d.w, host, d.y, d.mid }),
                     CUDNN_STATUS_EXECUTION_FAILED);
    float y[8], mid[8];
    const float untouched[8] = { -7, -7, -7, -7, -7, -7, -7, -7 };
    down_half(y, d.y, 8);
    down_half(mid, d.mid, 8);
    assert_floats(y, untouched, 8);
    assert_floats(mid, untouched, 8);

    cudaStream_t s;
    cudaGraph_t g;
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cudnnSetStream(h, s), OK);
    cudnnBackendDescriptor_t vplan = fused_plan(h, FLT, false);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(bexecute(h, vplan, 4, uids, (void *[]){ d.x, d.w, d.b, d.y }), OK);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    cudnnBackendDestroyDescriptor(vplan); /* the graph holds what it needs */
    down_half(y, d.y, 8);
    assert_floats(y, untouched, 8); /* nothing ran during capture */
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    down_half(y, d.y, 8);
    assert_floats(y, (const float[]){ 20000, INFINITY, 64992, 0, 0, 0, 1.5f, 3 }, 8);
    ck_assert_int_eq(cudaGraphExecDestroy(exec), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);

    /* Captured with a bad pointer: the launch fails, y keeps its values. */
    uint16_t seven[8];
    for (int i = 0; i < 8; i++)
        seven[i] = H(-7);
    ck_assert_int_eq(cudaMemcpy(d.y, seven, 16, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(bexecute(h, plan, 5, uids, (void *[]){ d.x, d.w, host, d.y, d.mid }), OK);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaErrorIllegalAddress);
    down_half(y, d.y, 8);
    assert_floats(y, untouched, 8);
    cudnnDestroy(h);
}
END_TEST

/* A graph of 64 operations, as long as cuDNN's fused attention graphs get:
 * 64 ADDs of b = 1 chained through virtual FLOAT tensors; 65 are refused. */
START_TEST(test_backend_graph_64_ops)
{
    cudnnHandle_t h = handle();
    const int64_t d[4] = { 1, 1, 1, 2 };
    cudnnBackendDescriptor_t ops[65], b = btensor(2, FLT, 4, d, NULL, false);
    cudnnBackendDescriptor_t in = btensor(1, FLT, 4, d, NULL, false);
    for (int i = 0; i < 65; i++) {
        cudnnBackendDescriptor_t out = i == 63 ? btensor(3, FLT, 4, d, NULL, false)
                                               : btensor(100 + i, FLT, 4, d, NULL, true);
        ops[i] = bpw(CUDNN_POINTWISE_ADD, FLT, in, b, out);
        in = out;
    }
    cudnnBackendDescriptor_t g = bdesc(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendSetAttribute(g, CUDNN_ATTR_OPERATIONGRAPH_OPS,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 65, ops), BAD);
    cudnnBackendDescriptor_t plan = bplan(h, bgraph_of(h, 64, ops));
    float x[2] = { 0.5f, -100 }, one[2] = { 1, 1 }, y[2];
    void *px = up(x, 8), *pb = up(one, 8), *py = dev(8);
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ px, pb, py }), OK);
    down(y, py, 8);
    assert_floats(y, (const float[]){ 64.5f, -36 }, 2);
    cudnnDestroy(h);
}
END_TEST

/* ---- scaled dot-product attention ------------------------------------------------- */

/* An SDPA operation's tensors, in this order (uid: index + 1). */
enum { SQ, SK, SV, SO, SSTATS, SSCALE, SDO, SDQ, SDK, SDV, SN };

/* An attention's sizes: q [b, h, sq, d], k [b, hk, skv, d], v [b, hv,
 * skv, dv]. */
struct attn {
    int b, h, hk, hv, sq, skv, d, dv;
    double scale;
};

static cudnnBackendAttributeName_t sdpa_attr(bool bwd, int s)
{
    static const cudnnBackendAttributeName_t fwd[SDO] = {
        CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC,     CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC,     CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_STATSDESC, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC };
    static const cudnnBackendAttributeName_t back[SN] = {
        CUDNN_ATTR_OPERATION_SDPA_BWD_QDESC,     CUDNN_ATTR_OPERATION_SDPA_BWD_KDESC,
        CUDNN_ATTR_OPERATION_SDPA_BWD_VDESC,     CUDNN_ATTR_OPERATION_SDPA_BWD_ODESC,
        CUDNN_ATTR_OPERATION_SDPA_BWD_STATSDESC, CUDNN_ATTR_OPERATION_SDPA_BWD_SCALEDESC,
        CUDNN_ATTR_OPERATION_SDPA_BWD_DODDESC,   CUDNN_ATTR_OPERATION_SDPA_BWD_DQDESC,
        CUDNN_ATTR_OPERATION_SDPA_BWD_DKDESC,    CUDNN_ATTR_OPERATION_SDPA_BWD_DVDESC };
    return bwd ? back[s] : fwd[s];
}

static void attn_dims(const struct attn *a, int s, int64_t dim[4])
{
    bool kv = s == SK || s == SV || s == SDK || s == SDV;
    bool vcols = s == SV || s == SO || s == SDO || s == SDV;
    bool scalar = s == SSCALE;
    dim[0] = scalar ? 1 : a->b;
    dim[1] = scalar ? 1 : s == SK || s == SDK ? a->hk : s == SV || s == SDV ? a->hv : a->h;
    dim[2] = scalar ? 1 : kv ? a->skv : a->sq;
    dim[3] = scalar || s == SSTATS ? 1 : vcols ? a->dv : a->d;
}

/* The usual types: HALF but for STATS and the scale. */
static const cudnnDataType_t attn_types[SN] = { HLF, HLF, HLF, HLF, FLT, FLT, HLF, HLF, HLF, HLF };

/* Every tensor an operation takes (backward: all ten), packed, of
 * attn_types; none past those. */
static void attn_tensors(const struct attn *a, bool bwd, cudnnBackendDescriptor_t t[SN])
{
    for (int s = 0; s < SN; s++) {
        int64_t dim[4];
        attn_dims(a, s, dim);
        t[s] = s < (bwd ? SN : SDO) ? btensor(s + 1, attn_types[s], 4, dim, NULL, false) : NULL;
    }
}

/* An SDPA operation of the tensors set in t, not finalized. */
static cudnnBackendDescriptor_t bsdpa(bool bwd, const cudnnBackendDescriptor_t t[SN])
{
    cudnnBackendDescriptor_t op = bdesc(bwd ? CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR
                                            : CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
    for (int s = 0; s < (bwd ? SN : SDO); s++)
        if (t[s])
            bset_desc(op, sdpa_attr(bwd, s), t[s]);
    return op;
}

static void packed4(const int64_t dim[4], int64_t st[4])
{
    st[3] = 1;
    for (int i = 2; i >= 0; i--)
        st[i] = st[i + 1] * dim[i + 1];
}

/* Offset, with strides st, of packed element n of a [dim] tensor. */
static int64_t strided(const int64_t dim[4], const int64_t st[4], int64_t n)
{
    int64_t off = 0;
    for (int i = 3; i >= 0; n /= dim[i], i--)
        off += n % dim[i] * st[i];
    return off;
}

/* A device copy of packed values v as a [dim] tensor of type t with
 * strides st (NULL: packed; else a permutation of the packed ones). */
static void *up4(const float *v, const int64_t dim[4], const int64_t *st, cudnnDataType_t t)
{
    int64_t packed[4], n = dim[0] * dim[1] * dim[2] * dim[3];
    packed4(dim, packed);
    size_t size = t == FLT ? 4 : 2;
    unsigned char *host = malloc((size_t)n * size);
    ck_assert_ptr_nonnull(host);
    for (int64_t i = 0; i < n; i++) {
        int64_t off = strided(dim, st ? st : packed, i);
        if (t == FLT)
            ((float *)host)[off] = v[i];
        else
            ((uint16_t *)host)[off] = H(v[i]);
    }
    void *d = up(host, (size_t)n * size);
    free(host);
    return d;
}

/* The inverse of up4: packed values out of a device tensor. */
static void down4(float *out, const void *d, const int64_t dim[4], const int64_t *st,
                  cudnnDataType_t t)
{
    int64_t packed[4], n = dim[0] * dim[1] * dim[2] * dim[3];
    packed4(dim, packed);
    size_t size = t == FLT ? 4 : 2;
    unsigned char *host = malloc((size_t)n * size);
    ck_assert_ptr_nonnull(host);
    down(host, d, (size_t)n * size);
    for (int64_t i = 0; i < n; i++) {
        int64_t off = strided(dim, st ? st : packed, i);
        out[i] = t == FLT ? ((float *)host)[off] : F(((uint16_t *)host)[off]);
    }
    free(host);
}

/* A finalized SDPA operation of attention a, its tensors packed. */
static cudnnBackendDescriptor_t sdpa_of(const struct attn *a, bool bwd)
{
    cudnnBackendDescriptor_t t[SN];
    attn_tensors(a, bwd, t);
    cudnnBackendDescriptor_t op = bsdpa(bwd, t);
    bfinal(op);
    return op;
}

/* Packed index of [bi, hi, r, c] in a tensor of nh heads, rows, cols. */
static int ix(int bi, int nh, int hi, int rows, int r, int cols, int c)
{
    return ((bi * nh + hi) * rows + r) * cols + c;
}

/* The logits of query row i of head (bi, hi), in double. */
static void ref_logits(const struct attn *a, const float *q, const float *k, int bi, int hi,
                       int i, double *s)
{
    int hk = hi / (a->h / a->hk);
    for (int j = 0; j < a->skv; j++) {
        double acc = 0;
        for (int c = 0; c < a->d; c++)
            acc += (double)q[ix(bi, a->h, hi, a->sq, i, a->d, c)] *
                   k[ix(bi, a->hk, hk, a->skv, j, a->d, c)];
        s[j] = a->scale * acc;
    }
}

/* o = softmax(scale q k^T) v and each row's logsumexp, in double. */
static void ref_fwd(const struct attn *a, const float *const x[SN], double *o, double *lse)
{
    double s[64];
    for (int bi = 0; bi < a->b; bi++)
        for (int hi = 0; hi < a->h; hi++)
            for (int i = 0; i < a->sq; i++) {
                ref_logits(a, x[SQ], x[SK], bi, hi, i, s);
                double m = -INFINITY, l = 0;
                for (int j = 0; j < a->skv; j++)
                    m = fmax(m, s[j]);
                for (int j = 0; j < a->skv; j++)
                    l += exp(s[j] - m);
                int hv = hi / (a->h / a->hv);
                for (int c = 0; c < a->dv; c++) {
                    double acc = 0;
                    for (int j = 0; j < a->skv; j++)
                        acc += exp(s[j] - m) / l * x[SV][ix(bi, a->hv, hv, a->skv, j, a->dv, c)];
                    o[ix(bi, a->h, hi, a->sq, i, a->dv, c)] = acc;
                }
                lse[(bi * a->h + hi) * a->sq + i] = m + log(l);
            }
}

/* A HALF output computed in float and rounded once: within half an FP16
 * ulp of the exact value (and float's own error). */
static void assert_half_near(float got, double want)
{
    ck_assert_msg(fabs(got - want) <= fabs(want) * (1.0 / 2048 + 1e-5) + 1e-6, "%.9g, want %.9g",
                  (double)got, want);
}

/* Runs a finalized SDPA forward operation on device copies of x (of
 * attn_types; strides in st, st or an element of it NULL: packed), and
 * reads o and stats back into x. */
static void sdpa_run(cudnnHandle_t h, const struct attn *a, cudnnBackendDescriptor_t op,
                     float *const x[SN], const int64_t *const st[SN])
{
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, op));
    int64_t uids[SDO], dim[SDO][4];
    void *ptr[SDO];
    for (int s = 0; s < SDO; s++) {
        attn_dims(a, s, dim[s]);
        uids[s] = s + 1;
        ptr[s] = up4(x[s], dim[s], st ? st[s] : NULL, attn_types[s]);
    }
    ck_assert_int_eq(bexecute(h, plan, SDO, uids, ptr), OK);
    for (int s = SO; s <= SSTATS; s++)
        down4(x[s], ptr[s], dim[s], st ? st[s] : NULL, attn_types[s]);
}

/* The forward pass against an FP64 reference: grouped-query heads (two
 * query heads share one K and V head), d_v != d, q and o in BSHD layout
 * (strided), scale 0.5. An Inf in q makes its row NaN. Then the half
 * rounding of o, exactly: uniform logits make o the mean of v's rows, 2049
 * (a tie: to even, 2048), 2051 (2052) and 2049.5 (2050); without a scale
 * tensor the scale is 1. */
START_TEST(test_backend_sdpa_fwd)
{
    cudnnHandle_t h = handle();
    const struct attn a = { 1, 2, 1, 1, 3, 5, 4, 3, 0.5 };
    float q[24], k[20], v[15], o[18], stats[6], scale = 0.5f;
    fill(q, 24, 1), fill(k, 20, 2), fill(v, 15, 3);
    float *x[SN] = { q, k, v, o, stats, &scale };
    const int64_t qst[4] = { 24, 4, 8, 1 }, ost[4] = { 18, 3, 6, 1 };
    const int64_t *st[SN] = { qst, NULL, NULL, ost };
    cudnnBackendDescriptor_t t[SN];
    int64_t qd[4], od[4];
    attn_tensors(&a, false, t);
    attn_dims(&a, SQ, qd), attn_dims(&a, SO, od);
    t[SQ] = btensor(1, HLF, 4, qd, qst, false);
    t[SO] = btensor(4, HLF, 4, od, ost, false);
    cudnnBackendDescriptor_t op = bsdpa(false, t);
    bfinal(op);
    double ro[18], rlse[6];
    ref_fwd(&a, (const float *const *)x, ro, rlse);
    sdpa_run(h, &a, op, x, st);
    for (int i = 0; i < 18; i++)
        assert_half_near(o[i], ro[i]);
    for (int i = 0; i < 6; i++)
        assert_near(stats[i], rlse[i]);
    float before[18];
    memcpy(before, o, sizeof o);
    q[5] = INFINITY; /* head 0, row 1: o[3..5] */
    sdpa_run(h, &a, op, x, st);
    for (int i = 0; i < 18; i++)
        ck_assert_msg(i / 3 == 1 ? isnan(o[i]) : o[i] == before[i], "o[%d] = %g", i, (double)o[i]);

    const struct attn u = { 1, 1, 1, 1, 1, 4, 1, 3, 1 };
    float uq = 1, uk[4] = { 1, 1, 1, 1 }, uo[3], ustats;
    float uv[12] = { 2048, 2050, 2048, 2048, 2050, 2050, 2050, 2052, 2050, 2050, 2052, 2050 };
    float *ux[SN] = { &uq, uk, uv, uo, &ustats, &scale };
    attn_tensors(&u, false, t);
    t[SSCALE] = NULL; /* scale 1: every logit is 1 */
    op = bsdpa(false, t);
    bfinal(op);
    sdpa_run(h, &u, op, ux, NULL);
    assert_floats(uo, (const float[]){ 2048, 2052, 2050 }, 3);
    assert_near(ustats, 1 + log(4.0));
    cudnnDestroy(h);
}
END_TEST

/* Replaces slot s of t by a tensor of the given dims. */
static void reshape(cudnnBackendDescriptor_t t[SN], int s, int nd, const int64_t *dim)
{
    t[s] = btensor(s + 1, attn_types[s], nd, dim, NULL, false);
}

/* Finalizing, as cuDNN 9.19 answers: without one of Q, K, V, O (backward:
 * also STATS, dO, dQ, dK, dV) BAD_PARAM_NOT_FINALIZED; the forward
 * operation's shapes are checked there (BAD_PARAM), the backward one's
 * not at all. */
START_TEST(test_backend_sdpa_finalize)
{
    const struct attn a = { 1, 4, 2, 1, 8, 8, 16, 16, 0.25 };
    cudnnBackendDescriptor_t t[SN], op;
    for (int bwd = 0; bwd < 2; bwd++)
        for (int miss = 0; miss < (bwd ? SN : SDO); miss++) {
            attn_tensors(&a, bwd, t);
            t[miss] = NULL;
            op = bsdpa(bwd, t);
            ck_assert_msg(cudnnBackendFinalize(op) == (miss == SSCALE || (!bwd && miss == SSTATS)
                                                           ? OK
                                                           : CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED),
                          "bwd %d, slot %d missing", bwd, miss);
        }
    static const struct {
        int slot, nd;
        int64_t dim[4];
    } bad[] = {
        { SK, 4, { 1, 2, 8, 32 } },  /* K's d is not Q's */
        { SV, 4, { 1, 1, 4, 16 } },  /* V's s_kv is not K's */
        { SO, 4, { 1, 4, 8, 8 } },   /* O's d_v is not V's */
        { SK, 4, { 1, 3, 8, 16 } },  /* 4 query heads in groups of 3 */
        { SO, 4, { 2, 4, 8, 16 } },  /* batch */
        { SSTATS, 4, { 1, 4, 8, 2 } },
        { SSCALE, 4, { 1, 1, 1, 2 } },
        { SQ, 3, { 4, 8, 16 } },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        attn_tensors(&a, false, t);
        reshape(t, bad[i].slot, bad[i].nd, bad[i].dim);
        ck_assert_msg(cudnnBackendFinalize(bsdpa(false, t)) == BAD, "case %zu", i);
        attn_tensors(&a, true, t);
        reshape(t, bad[i].slot, bad[i].nd, bad[i].dim);
        bfinal(bsdpa(true, t));
    }
    attn_tensors(&a, true, t);
    reshape(t, SDQ, 4, (const int64_t[]){ 1, 4, 8, 8 });
    bfinal(bsdpa(true, t));
}
END_TEST

/* cuDNN 9.19 builds no graph of SDPA backward operations alone
 * (BAD_PARAM), whatever their shapes; beside another operation (the
 * forward attention feeding it, or an unrelated pointwise one that would
 * run alone) the graph finalizes, and the emulator offers it no engine. */
START_TEST(test_backend_sdpa_bwd_graph)
{
    cudnnHandle_t h = handle();
    const struct attn a = { 1, 2, 2, 2, 4, 4, 8, 8, 1 };
    cudnnBackendDescriptor_t t[SN];
    cudnnBackendDescriptor_t fwd = sdpa_of(&a, false), bwd = sdpa_of(&a, true);
    const cudnnBackendDescriptor_t two_bwd[2] = { bwd, bwd };
    ck_assert_int_eq(cudnnBackendFinalize(bgraph_new(h, 1, &bwd)), BAD);
    ck_assert_int_eq(cudnnBackendFinalize(bgraph_new(h, 2, two_bwd)), BAD);
    attn_tensors(&a, true, t);
    reshape(t, SK, 4, (const int64_t[]){ 1, 2, 4, 16 });
    cudnnBackendDescriptor_t bad = bsdpa(true, t);
    bfinal(bad);
    ck_assert_int_eq(cudnnBackendFinalize(bgraph_new(h, 1, &bad)), BAD);

    int64_t od[4];
    attn_dims(&a, SO, od);
    cudnnBackendDescriptor_t id = bpw(CUDNN_POINTWISE_IDENTITY, FLT,
                                      btensor(30, HLF, 4, od, NULL, false), NULL,
                                      btensor(31, HLF, 4, od, NULL, false));
    ck_assert_int_eq(bget_int64(bgraph(h, id), CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT), 1);
    assert_no_engine(bgraph_of(h, 2, (cudnnBackendDescriptor_t[]){ fwd, bwd }));
    assert_no_engine(bgraph_of(h, 2, (cudnnBackendDescriptor_t[]){ id, bwd }));
    cudnnDestroy(h);
}
END_TEST

/* Attributes: tensors only (another type is BAD_PARAM_ATTRIBUTE_TYPE);
 * a block mask or sequence lengths are accepted and leave no engine; the
 * operation runs alone. Getting answers one element, the tensor if set,
 * the caller's descriptor untouched if not. */
START_TEST(test_backend_sdpa_attributes)
{
    cudnnHandle_t h = handle();
    const struct attn a = { 1, 2, 2, 2, 4, 4, 8, 8, 1 };
    const int64_t one[4] = { 1, 1, 1, 1 };
    cudnnBackendDescriptor_t t[SN], op;
    int64_t i64 = 1, n = -1;
    attn_tensors(&a, false, t);
    op = bsdpa(false, t);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC,
                                              CUDNN_TYPE_INT64, 1, &i64),
                     CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_BWD_QDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &t[SQ]), BAD);
    ck_assert_int_eq(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 2, t), BAD);
    bfinal(op);
    ck_assert_int_eq(bget_int64(bgraph(h, op), CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT), 1);

    cudnnBackendDescriptor_t got = bdesc(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &got), OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(bget_int64(got, CUDNN_ATTR_TENSOR_UNIQUE_ID), SO + 1);
    cudnnBackendDescriptor_t other = bdesc(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    attn_tensors(&a, false, t);
    t[SSTATS] = NULL;
    cudnnBackendDescriptor_t nostats = bsdpa(false, t);
    bfinal(nostats);
    n = -1;
    ck_assert_int_eq(cudnnBackendGetAttribute(nostats, CUDNN_ATTR_OPERATION_SDPA_FWD_STATSDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &other), OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(cudnnBackendGetAttribute(other, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64,
                                              1, &n, &i64), CUDNN_STATUS_NOT_INITIALIZED);
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC,
                                              CUDNN_TYPE_INT64, 1, &n, &i64),
                     CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE);
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, &got), BAD);
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_BWD_ODESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &got), BAD);
    cudnnBackendDescriptor_t conv = bdesc(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendGetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &conv), BAD);
    /* A graph exports it back as an SDPA operation. */
    cudnnBackendDescriptor_t back = bdesc(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
    ck_assert_int_eq(cudnnBackendGetAttribute(bgraph(h, op), CUDNN_ATTR_OPERATIONGRAPH_OPS,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &back), OK);
    ck_assert_int_eq(cudnnBackendGetAttribute(back, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &got), OK);
    ck_assert_int_eq(bget_int64(got, CUDNN_ATTR_TENSOR_UNIQUE_ID), SQ + 1);

    /* Not emulated: no engine (the backward operation takes them too,
     * though no graph of it alone finalizes). */
    const cudnnBackendAttributeName_t unrun[2] = { CUDNN_ATTR_OPERATION_SDPA_FWD_BLOCK_MASK_DESC,
                                                   CUDNN_ATTR_OPERATION_SDPA_BWD_SEQ_LEN_QDESC };
    for (int bwd = 0; bwd < 2; bwd++) {
        attn_tensors(&a, bwd, t);
        cudnnBackendDescriptor_t mask = bsdpa(bwd, t);
        bset_desc(mask, unrun[bwd], btensor(20, CUDNN_DATA_INT32, 4, one, NULL, false));
        bfinal(mask);
        if (!bwd)
            assert_no_engine(bgraph(h, mask));
    }
    /* Not alone: no engine. */
    int64_t od[4];
    attn_dims(&a, SO, od);
    cudnnBackendDescriptor_t ops[2] = {
        op, bpw(CUDNN_POINTWISE_IDENTITY, FLT, t[SO], NULL, btensor(21, FLT, 4, od, NULL, false)) };
    assert_no_engine(bgraph_of(h, 2, ops));
    cudnnDestroy(h);
}
END_TEST

/* ---- batch normalization --------------------------------------------------------- */

#define SP CUDNN_BATCHNORM_SPATIAL
#define PA CUDNN_BATCHNORM_PER_ACTIVATION
#define OPS_BN CUDNN_BATCHNORM_OPS_BN
#define OPS_ACT CUDNN_BATCHNORM_OPS_BN_ACTIVATION
#define OPS_ADD CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION
#define BN_MAXE 96 /* elements of the largest test tensor */

/* A batch-normalization layer: x [N, C, spatial...] NCHW packed of type t,
 * its parameters FLOAT [1, C, 1...] or (per activation) [1, C,
 * spatial...], as cudnnDeriveBNTensorDescriptor gives them. */
struct bnl {
    cudnnDataType_t type;
    cudnnBatchNormMode_t mode;
    cudnnTensorDescriptor_t xd, pd;
    int c, sp, elems, params, m; /* sp: spatial elements; m: elements per statistic */
};

static struct bnl bn_layer(cudnnDataType_t t, cudnnBatchNormMode_t mode, int nd, const int *dim)
{
    struct bnl l = { .type = t, .mode = mode, .c = dim[1], .sp = 1 };
    for (int i = 2; i < nd; i++)
        l.sp *= dim[i];
    ck_assert_int_eq(cudnnCreateTensorDescriptor(&l.xd), OK);
    ck_assert_int_eq(cudnnSetTensorNdDescriptorEx(l.xd, NCHW, t, nd, dim), OK);
    ck_assert_int_eq(cudnnCreateTensorDescriptor(&l.pd), OK);
    ck_assert_int_eq(cudnnDeriveBNTensorDescriptor(l.pd, l.xd, mode), OK);
    l.elems = dim[0] * l.c * l.sp;
    l.params = mode == PA ? l.c * l.sp : l.c;
    l.m = l.elems / l.params;
    ck_assert_int_le(l.elems, BN_MAXE);
    return l;
}

static struct bnl bn_layer4(cudnnDataType_t t, cudnnBatchNormMode_t mode, int n, int c, int h,
                            int w)
{
    return bn_layer(t, mode, 4, (int[]){ n, c, h, w });
}

/* The parameter element x's element i uses. */
static int bn_pidx(const struct bnl *l, int i)
{
    int ch = i / l->sp % l->c;
    return l->mode == PA ? ch * l->sp + i % l->sp : ch;
}

/* A device copy of n values in type t, and v rounded as t holds it. */
static void *up_t(float *v, int n, cudnnDataType_t t)
{
    if (t == FLT)
        return up(v, (size_t)n * 4);
    uint16_t h[BN_MAXE];
    for (int i = 0; i < n; i++) {
        h[i] = H(v[i]);
        v[i] = F(h[i]);
    }
    return up(h, (size_t)n * 2);
}

static void down_t(float *v, const void *d, int n, cudnnDataType_t t)
{
    if (t == FLT) {
        down(v, d, (size_t)n * 4);
        return;
    }
    uint16_t h[BN_MAXE];
    down(h, d, (size_t)n * 2);
    for (int i = 0; i < n; i++)
        v[i] = F(h[i]);
}

/* Test data: multiples of 1/8 (exact in half) with a nonzero mean. */
static void bn_fill(float *v, int n, int seed, float mul, float add)
{
    for (int i = 0; i < n; i++)
        v[i] = mul * val(i + seed) + add;
}

static void bn_params(float *scale, float *bias, int n)
{
    for (int k = 0; k < n; k++) {
        scale[k] = 0.5f + 0.25f * (float)k;
        bias[k] = -0.25f + 0.125f * (float)k;
    }
}

/* Batch mean and biased variance of every statistic, in double. */
static void bn_ref_stats(const struct bnl *l, const float *x, double *mean, double *var)
{
    for (int k = 0; k < l->params; k++)
        mean[k] = var[k] = 0;
    for (int i = 0; i < l->elems; i++)
        mean[bn_pidx(l, i)] += x[i] / (double)l->m;
    for (int i = 0; i < l->elems; i++) {
        double d = x[i] - mean[bn_pidx(l, i)];
        var[bn_pidx(l, i)] += d * d / (double)l->m;
    }
}

/* y = act(scale * (x - mean) / sqrt(var + eps) + bias [+ z]) in double. */
static void bn_ref_fwd(const struct bnl *l, const float *x, const float *z, bool relu,
                       const float *scale, const float *bias, const double *mean,
                       const double *var, double eps, double *y)
{
    for (int i = 0; i < l->elems; i++) {
        int k = bn_pidx(l, i);
        y[i] = scale[k] * (x[i] - mean[k]) / sqrt(var[k] + eps) + bias[k] + (z ? z[i] : 0);
        if (relu && y[i] < 0)
            y[i] = 0;
    }
}

/* dx, dscale, dbias in double from g (dy after any ReLU mask) and the
 * statistics mean, invstd. */
static void bn_ref_bwd(const struct bnl *l, const float *x, const float *g, const float *scale,
                       const double *mean, const double *invstd, double *dx, double *dscale,
                       double *dbias)
{
    for (int k = 0; k < l->params; k++)
        dscale[k] = dbias[k] = 0;
    for (int i = 0; i < l->elems; i++) {
        int k = bn_pidx(l, i);
        dbias[k] += g[i];
        dscale[k] += g[i] * (x[i] - mean[k]) * invstd[k];
    }
    for (int i = 0; i < l->elems; i++) {
        int k = bn_pidx(l, i);
        double xhat = (x[i] - mean[k]) * invstd[k];
        dx[i] = scale[k] * invstd[k] * (g[i] - dbias[k] / l->m - xhat * dscale[k] / l->m);
    }
}

/* A data output of type t against its exact value: HALF rounded once from
 * float, FLOAT within float's error. */
static void assert_data(cudnnDataType_t t, float got, double want)
{
    if (t == HLF)
        assert_half_near(got, want);
    else
        ck_assert_msg(fabs(got - want) <= 1e-5 * (1 + fabs(want)), "%.9g, want %.9g",
                      (double)got, want);
}

/* A FLOAT statistic, computed in float: within a few float ulps. */
static void assert_stat(float got, double want)
{
    ck_assert_msg(fabs(got - want) <= 2e-6 * fabs(want) + 1e-7, "%.9g, want %.9g", (double)got,
                  want);
}

START_TEST(test_bn_derive)
{
    static const struct {
        cudnnDataType_t x, want;
        cudnnBatchNormMode_t mode;
        int nd, dim[5], pdim[5];
    } cases[] = {
        { HLF, FLT, SP, 4, { 2, 3, 4, 5 }, { 1, 3, 1, 1 } },
        { HLF, FLT, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, 4, { 2, 3, 4, 5 }, { 1, 3, 1, 1 } },
        { CUDNN_DATA_BFLOAT16, FLT, PA, 4, { 2, 3, 4, 5 }, { 1, 3, 4, 5 } },
        { FLT, FLT, SP, 5, { 2, 3, 4, 5, 6 }, { 1, 3, 1, 1, 1 } },
        { CUDNN_DATA_DOUBLE, CUDNN_DATA_DOUBLE, PA, 5, { 2, 3, 4, 5, 6 }, { 1, 3, 4, 5, 6 } },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cudnnTensorDescriptor_t x, p;
        ck_assert_int_eq(cudnnCreateTensorDescriptor(&x), OK);
        ck_assert_int_eq(cudnnCreateTensorDescriptor(&p), OK);
        ck_assert_int_eq(cudnnSetTensorNdDescriptorEx(x, NCHW, cases[c].x, cases[c].nd,
                                                      cases[c].dim), OK);
        ck_assert_int_eq(cudnnDeriveBNTensorDescriptor(p, x, cases[c].mode), OK);
        cudnnDataType_t t;
        int nd, d[8], s[8], packed = 1;
        ck_assert_int_eq(cudnnGetTensorNdDescriptor(p, 8, &t, &nd, d, s), OK);
        ck_assert_int_eq(t, cases[c].want);
        ck_assert_int_eq(nd, cases[c].nd);
        for (int i = nd - 1; i >= 0; i--) {
            ck_assert_int_eq(d[i], cases[c].pdim[i]);
            ck_assert_int_eq(s[i], packed);
            packed *= d[i];
        }
        cudnnDestroyTensorDescriptor(x);
        cudnnDestroyTensorDescriptor(p);
    }
    cudnnTensorDescriptor_t x3, x4 = tensor4(NCHW, HLF, 2, 3, 4, 5), p;
    ck_assert_int_eq(cudnnCreateTensorDescriptor(&p), OK);
    ck_assert_int_eq(cudnnCreateTensorDescriptor(&x3), OK);
    ck_assert_int_eq(cudnnSetTensorNdDescriptorEx(x3, NCHW, HLF, 3, (int[]){ 2, 3, 4 }), OK);
    ck_assert_int_eq(cudnnDeriveBNTensorDescriptor(p, x3, SP), BAD);
    ck_assert_int_eq(cudnnDeriveBNTensorDescriptor(p, x4, (cudnnBatchNormMode_t)3), BAD);
    ck_assert_int_eq(cudnnDeriveBNTensorDescriptor(NULL, x4, SP), BAD);
    ck_assert_int_eq(cudnnDeriveBNTensorDescriptor(p, NULL, SP), BAD);
}
END_TEST

/* Forward training: y, the running averages (the variance's unbiased),
 * and the saved mean and inverse standard deviation, against an FP64
 * reference; factor 0.25 blends the running values. */
static void bn_train_case(cudnnHandle_t h, cudnnDataType_t t, cudnnBatchNormMode_t mode, int nd,
                          const int *dim)
{
    struct bnl l = bn_layer(t, mode, nd, dim);
    const double eps = 0.01, f = 0.25;
    float x[BN_MAXE], y[BN_MAXE], scale[BN_MAXE], bias[BN_MAXE], rm[BN_MAXE], rv[BN_MAXE];
    float rm0[BN_MAXE], rv0[BN_MAXE], sm[BN_MAXE], si[BN_MAXE];
    double mean[BN_MAXE], var[BN_MAXE], want[BN_MAXE];
    bn_fill(x, l.elems, 1, 3.0f, 0.5f);
    bn_params(scale, bias, l.params);
    for (int k = 0; k < l.params; k++)
        rm0[k] = 0.5f * (float)k - 1.0f, rv0[k] = 2.0f + (float)k;
    void *dx = up_t(x, l.elems, t), *dy = dev((size_t)l.elems * 4);
    void *ds = up(scale, (size_t)l.params * 4), *db = up(bias, (size_t)l.params * 4);
    void *drm = up(rm0, (size_t)l.params * 4), *drv = up(rv0, (size_t)l.params * 4);
    void *dsm = dev((size_t)l.params * 4), *dsi = dev((size_t)l.params * 4);
    float one = 1, zero = 0;
    ck_assert_int_eq(cudnnBatchNormalizationForwardTraining(h, mode, &one, &zero, l.xd, dx, l.xd,
        dy, l.pd, ds, db, f, drm, drv, eps, dsm, dsi), OK);
    down_t(y, dy, l.elems, t);
    down(rm, drm, (size_t)l.params * 4);
    down(rv, drv, (size_t)l.params * 4);
    down(sm, dsm, (size_t)l.params * 4);
    down(si, dsi, (size_t)l.params * 4);
    bn_ref_stats(&l, x, mean, var);
    bn_ref_fwd(&l, x, NULL, false, scale, bias, mean, var, eps, want);
    for (int i = 0; i < l.elems; i++)
        assert_data(t, y[i], want[i]);
    for (int k = 0; k < l.params; k++) {
        double unbiased = var[k] * l.m / (l.m - 1);
        assert_stat(rm[k], f * mean[k] + (1 - f) * rm0[k]);
        assert_stat(rv[k], f * unbiased + (1 - f) * rv0[k]);
        assert_stat(sm[k], mean[k]);
        assert_stat(si[k], 1 / sqrt(var[k] + eps));
    }
}

START_TEST(test_bn_forward_training)
{
    cudnnHandle_t h = handle();
    static const int d4[4] = { 3, 2, 2, 3 }, d5[5] = { 2, 2, 2, 2, 3 };
    const cudnnDataType_t types[2] = { HLF, FLT };
    const cudnnBatchNormMode_t modes[3] = { SP, PA, CUDNN_BATCHNORM_SPATIAL_PERSISTENT };
    for (int t = 0; t < 2; t++)
        for (int m = 0; m < 3; m++) {
            bn_train_case(h, types[t], modes[m], 4, d4);
            bn_train_case(h, types[t], modes[m], 5, d5);
        }
    cudnnDestroy(h);
}
END_TEST

/* Running and saved buffers may be NULL in pairs; y alone is then
 * written. A BFLOAT16 y rounds once from float. */
START_TEST(test_bn_training_optional_outputs)
{
    cudnnHandle_t h = handle();
    struct bnl l = bn_layer4(CUDNN_DATA_BFLOAT16, SP, 2, 1, 1, 4);
    float x[8] = { 1, -1, 2, -2, 3, -3, 0.5f, -0.5f }, scale = 3, bias = 0.25f, one = 1, zero = 0;
    uint16_t xb[8], yb[8];
    for (int i = 0; i < 8; i++)
        xb[i] = sh_float_to_bf16(x[i]);
    void *dx = up(xb, sizeof xb), *dy = dev(sizeof yb), *ds = up(&scale, 4), *db = up(&bias, 4);
    ck_assert_int_eq(cudnnBatchNormalizationForwardTraining(h, SP, &one, &zero, l.xd, dx, l.xd,
        dy, l.pd, ds, db, 1.0, NULL, NULL, 1e-5, NULL, NULL), OK);
    down(yb, dy, sizeof yb);
    double mean, var, want[8];
    bn_ref_stats(&l, x, &mean, &var);
    bn_ref_fwd(&l, x, NULL, false, &scale, &bias, &mean, &var, 1e-5, want);
    for (int i = 0; i < 8; i++) {
        float got = sh_bf16_to_float(yb[i]);
        ck_assert_msg(fabs(got - want[i]) <= fabs(want[i]) / 256 + 1e-6, "y[%d] = %g, want %g", i,
                      (double)got, want[i]);
    }
    cudnnDestroy(h);
}
END_TEST

/* Inference with estimated statistics: a negative variance gives NaN (no
 * clamping), a HALF result above 65504 overflows to Inf, epsilon 0 is
 * allowed. */
START_TEST(test_bn_inference)
{
    cudnnHandle_t h = handle();
    /* Channel 0: mean 0, variance 1 (xhat = x exactly); channel 1:
     * variance -1. */
    struct bnl l = bn_layer4(HLF, SP, 1, 2, 1, 4);
    float x[8] = { 1, -1, 0.5f, 0.375f, 1, 2, 3, 4 }, y[8];
    float scale[2] = { 100000, 1 }, bias[2] = { 0, 0 }, mean[2] = { 0, 0 }, var[2] = { 1, -1 };
    float one = 1, zero = 0;
    void *dx = up_t(x, 8, HLF), *dy = dev(16), *ds = up(scale, 8), *db = up(bias, 8);
    void *dm = up(mean, 8), *dv = up(var, 8);
    ck_assert_int_eq(cudnnBatchNormalizationForwardInference(h, SP, &one, &zero, l.xd, dx, l.xd,
                                                             dy, l.pd, ds, db, dm, dv, 0.0), OK);
    down_t(y, dy, 8, HLF);
    ck_assert(isinf(y[0]) && y[0] > 0);
    ck_assert(isinf(y[1]) && y[1] < 0);
    ck_assert_float_eq(y[2], 49984.0f); /* 50000 is a tie between halves: even */
    ck_assert_float_eq(y[3], 37504.0f); /* 37500 rounds to its nearest half */
    for (int i = 4; i < 8; i++)
        ck_assert_msg(isnan(y[i]), "y[%d] = %g", i, (double)y[i]);

    /* FLOAT, per activation, epsilon and bias in play. */
    struct bnl f = bn_layer4(FLT, PA, 3, 2, 1, 2);
    float xf[12], yf[12], sf[4], bf[4], mf[4], vf[4];
    double md[4], vd[4], want[12];
    bn_fill(xf, 12, 3, 2.0f, 0.25f);
    bn_params(sf, bf, 4);
    for (int k = 0; k < 4; k++) {
        mf[k] = 0.125f * (float)k, vf[k] = 0.5f + (float)k;
        md[k] = mf[k], vd[k] = vf[k];
    }
    void *dxf = up(xf, sizeof xf), *dyf = dev(sizeof yf), *dsf = up(sf, 16), *dbf = up(bf, 16);
    void *dmf = up(mf, 16), *dvf = up(vf, 16);
    ck_assert_int_eq(cudnnBatchNormalizationForwardInference(h, PA, &one, &zero, f.xd, dxf, f.xd,
                                                             dyf, f.pd, dsf, dbf, dmf, dvf, 0.1),
                     OK);
    down(yf, dyf, sizeof yf);
    bn_ref_fwd(&f, xf, NULL, false, sf, bf, md, vd, 0.1, want);
    for (int i = 0; i < 12; i++)
        assert_data(FLT, yf[i], want[i]);
    cudnnDestroy(h);
}
END_TEST

/* Training with a blend: y = alpha * bn + beta * y; beta 0 does not read
 * y (a NaN there does not propagate). */
START_TEST(test_bn_blend)
{
    cudnnHandle_t h = handle();
    struct bnl l = bn_layer4(HLF, SP, 2, 2, 1, 3);
    float x[12], y[12], y0[12], scale[2], bias[2];
    double mean[2], var[2], want[12];
    bn_fill(x, 12, 5, 2.0f, 0.0f);
    bn_params(scale, bias, 2);
    for (int i = 0; i < 12; i++)
        y0[i] = NAN;
    void *dx = up_t(x, 12, HLF), *dy = up_t(y0, 12, HLF), *ds = up(scale, 8), *db = up(bias, 8);
    float alpha = 2, beta = 0;
    ck_assert_int_eq(cudnnBatchNormalizationForwardTraining(h, SP, &alpha, &beta, l.xd, dx, l.xd,
        dy, l.pd, ds, db, 1.0, NULL, NULL, 1e-5, NULL, NULL), OK);
    down_t(y, dy, 12, HLF);
    bn_ref_stats(&l, x, mean, var);
    bn_ref_fwd(&l, x, NULL, false, scale, bias, mean, var, 1e-5, want);
    for (int i = 0; i < 12; i++)
        assert_data(HLF, y[i], 2 * want[i]);

    for (int i = 0; i < 12; i++)
        y0[i] = 0.25f * (float)i;
    dy = up_t(y0, 12, HLF);
    alpha = 0.5f, beta = -1.5f;
    ck_assert_int_eq(cudnnBatchNormalizationForwardTraining(h, SP, &alpha, &beta, l.xd, dx, l.xd,
        dy, l.pd, ds, db, 1.0, NULL, NULL, 1e-5, NULL, NULL), OK);
    down_t(y, dy, 12, HLF);
    for (int i = 0; i < 12; i++)
        assert_data(HLF, y[i], 0.5 * want[i] - 1.5 * y0[i]);
    cudnnDestroy(h);
}
END_TEST

/* Backward: dx, dscale, dbias against FP64, from statistics recomputed
 * from x or from the saved ones (deliberately not x's, to show they are
 * the ones used); blended with alpha / beta (data and parameters apart). */
static void bn_bwd_case(cudnnHandle_t h, cudnnDataType_t t, cudnnBatchNormMode_t mode,
                        bool saved, bool blend)
{
    struct bnl l = bn_layer4(t, mode, 3, 2, 2, 2);
    const double eps = 0.01;
    float x[BN_MAXE], g[BN_MAXE], dx[BN_MAXE], dx0[BN_MAXE], scale[BN_MAXE], bias[BN_MAXE];
    float sm[BN_MAXE], si[BN_MAXE], dsc[BN_MAXE], dbi[BN_MAXE], dp0[BN_MAXE];
    double mean[BN_MAXE], var[BN_MAXE], invstd[BN_MAXE];
    double wdx[BN_MAXE], wds[BN_MAXE], wdb[BN_MAXE];
    bn_fill(x, l.elems, 2, 3.0f, 0.5f);
    bn_fill(g, l.elems, 7, 1.0f, 0.125f);
    bn_fill(dx0, l.elems, 4, 1.0f, 0.0f);
    bn_params(scale, bias, l.params);
    void *d_x = up_t(x, l.elems, t), *d_g = up_t(g, l.elems, t), *d_dx = up_t(dx0, l.elems, t);
    bn_ref_stats(&l, x, mean, var);
    for (int k = 0; k < l.params; k++) {
        sm[k] = (float)mean[k] + 0.25f;
        si[k] = 0.5f + 0.125f * (float)k;
        dp0[k] = (float)k - 0.5f;
        if (saved)
            mean[k] = sm[k], invstd[k] = si[k];
        else
            invstd[k] = 1 / sqrt(var[k] + eps);
    }
    void *d_s = up(scale, (size_t)l.params * 4);
    void *d_sm = saved ? up(sm, (size_t)l.params * 4) : NULL;
    void *d_si = saved ? up(si, (size_t)l.params * 4) : NULL;
    void *d_ds = up(dp0, (size_t)l.params * 4), *d_db = up(dp0, (size_t)l.params * 4);
    float ad = blend ? 2.0f : 1.0f, bd = blend ? 0.5f : 0.0f;
    float ap = blend ? 0.5f : 1.0f, bp = blend ? 1.0f : 0.0f;
    ck_assert_int_eq(cudnnBatchNormalizationBackward(h, mode, &ad, &bd, &ap, &bp, l.xd, d_x, l.xd,
        d_g, l.xd, d_dx, l.pd, d_s, d_ds, d_db, eps, d_sm, d_si), OK);
    down_t(dx, d_dx, l.elems, t);
    down(dsc, d_ds, (size_t)l.params * 4);
    down(dbi, d_db, (size_t)l.params * 4);
    bn_ref_bwd(&l, x, g, scale, mean, invstd, wdx, wds, wdb);
    for (int i = 0; i < l.elems; i++)
        assert_data(t, dx[i], ad * wdx[i] + bd * dx0[i]);
    for (int k = 0; k < l.params; k++) {
        assert_near(dsc[k], ap * wds[k] + bp * dp0[k]);
        assert_near(dbi[k], ap * wdb[k] + bp * dp0[k]);
    }
}

START_TEST(test_bn_backward)
{
    cudnnHandle_t h = handle();
    const cudnnDataType_t types[2] = { HLF, FLT };
    const cudnnBatchNormMode_t modes[2] = { SP, PA };
    for (int t = 0; t < 2; t++)
        for (int m = 0; m < 2; m++)
            for (int saved = 0; saved < 2; saved++)
                bn_bwd_case(h, types[t], modes[m], saved, false);
    bn_bwd_case(h, HLF, SP, true, true);
    bn_bwd_case(h, FLT, PA, false, true);
    cudnnDestroy(h);
}
END_TEST

/* The Ex forms with the add and the ReLU: forward y = relu(bn(x) + z), and
 * back through it: dz = dy where y > 0, else 0, and the normalization's
 * gradients from that dz. PyTorch's plain form (OPS_BN, no z, y, dz or
 * activation) matches cudnnBatchNormalizationBackward. */
START_TEST(test_bn_ex_add_relu)
{
    cudnnHandle_t h = handle();
    struct bnl l = bn_layer4(HLF, SP, 2, 2, 2, 3);
    const double eps = 1e-5;
    float x[24], z[24], y[24], g[24], dz[24], dx[24], scale[2], bias[2], sm[2], si[2];
    double mean[2], var[2], invstd[2], want[24], wdx[24], wds[2], wdb[2];
    bn_fill(x, 24, 3, 2.0f, 0.25f);
    bn_fill(z, 24, 9, 1.0f, 0.0f);
    bn_fill(g, 24, 6, 1.0f, 0.5f);
    bn_params(scale, bias, 2);
    void *d_x = up_t(x, 24, HLF), *d_z = up_t(z, 24, HLF), *d_y = dev(48);
    void *d_s = up(scale, 8), *d_b = up(bias, 8), *d_sm = dev(8), *d_si = dev(8);
    cudnnActivationDescriptor_t act;
    ck_assert_int_eq(cudnnCreateActivationDescriptor(&act), OK);
    ck_assert_int_eq(cudnnSetActivationDescriptor(act, CUDNN_ACTIVATION_RELU,
                                                  CUDNN_NOT_PROPAGATE_NAN, 0.0), OK);
    size_t ws = 1, rs = 1;
    ck_assert_int_eq(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, SP, OPS_ADD,
        l.xd, l.xd, l.xd, l.pd, act, &ws), OK);
    ck_assert_int_eq(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, SP, OPS_ADD, act,
                                                                          l.xd, &rs), OK);
    ck_assert_uint_eq(ws, 0);
    ck_assert_uint_eq(rs, 0);
    float one = 1, zero = 0;
    ck_assert_int_eq(cudnnBatchNormalizationForwardTrainingEx(h, SP, OPS_ADD, &one, &zero, l.xd,
        d_x, l.xd, d_z, l.xd, d_y, l.pd, d_s, d_b, 1.0, NULL, NULL, eps, d_sm, d_si, act, NULL, 0,
        NULL, 0), OK);
    down_t(y, d_y, 24, HLF);
    bn_ref_stats(&l, x, mean, var);
    bn_ref_fwd(&l, x, z, true, scale, bias, mean, var, eps, want);
    int zeros = 0;
    for (int i = 0; i < 24; i++) {
        assert_data(HLF, y[i], want[i]);
        zeros += y[i] == 0;
    }
    ck_assert_int_gt(zeros, 0);
    ck_assert_int_lt(zeros, 24);

    /* The ReLU alone (no z). */
    void *d_y2 = dev(48);
    float y2[24];
    ck_assert_int_eq(cudnnBatchNormalizationForwardTrainingEx(h, SP, OPS_ACT, &one, &zero, l.xd,
        d_x, NULL, NULL, l.xd, d_y2, l.pd, d_s, d_b, 1.0, NULL, NULL, eps, NULL, NULL, act, NULL,
        0, NULL, 0), OK);
    down_t(y2, d_y2, 24, HLF);
    bn_ref_fwd(&l, x, NULL, true, scale, bias, mean, var, eps, want);
    for (int i = 0; i < 24; i++)
        assert_data(HLF, y2[i], want[i]);

    /* Backward through the add and the ReLU, with the saved statistics. */
    ck_assert_int_eq(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, SP, OPS_ADD, l.xd, l.xd,
        l.xd, l.xd, l.xd, l.pd, act, &ws), OK);
    ck_assert_uint_eq(ws, 0);
    void *d_g = up_t(g, 24, HLF), *d_dz = dev(48), *d_dx = dev(48), *d_ds = dev(8), *d_db = dev(8);
    ck_assert_int_eq(cudnnBatchNormalizationBackwardEx(h, SP, OPS_ADD, &one, &zero, &one, &zero,
        l.xd, d_x, l.xd, d_y, l.xd, d_g, l.xd, d_dz, l.xd, d_dx, l.pd, d_s, d_b, d_ds, d_db, eps,
        d_sm, d_si, act, NULL, 0, NULL, 0), OK);
    down_t(dz, d_dz, 24, HLF);
    down_t(dx, d_dx, 24, HLF);
    float dsc[2], dbi[2], masked[24];
    down(dsc, d_ds, 8);
    down(dbi, d_db, 8);
    down(sm, d_sm, 8);
    down(si, d_si, 8);
    for (int i = 0; i < 24; i++) {
        masked[i] = y[i] > 0 ? g[i] : 0.0f;
        ck_assert_float_eq(dz[i], masked[i]);
    }
    for (int k = 0; k < 2; k++)
        mean[k] = sm[k], invstd[k] = si[k];
    bn_ref_bwd(&l, x, masked, scale, mean, invstd, wdx, wds, wdb);
    for (int i = 0; i < 24; i++)
        assert_data(HLF, dx[i], wdx[i]);
    for (int k = 0; k < 2; k++) {
        assert_near(dsc[k], wds[k]);
        assert_near(dbi[k], wdb[k]);
    }

    /* As PyTorch calls it: OPS_BN, nothing of the activation. */
    void *d_dx2 = dev(48), *d_dx3 = dev(48);
    float dx2[24], dx3[24];
    ck_assert_int_eq(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, SP, OPS_BN, l.xd, l.xd,
        l.xd, NULL, l.xd, l.pd, NULL, &ws), OK);
    ck_assert_int_eq(cudnnBatchNormalizationBackwardEx(h, SP, OPS_BN, &one, &zero, &one, &zero,
        l.xd, d_x, NULL, NULL, l.xd, d_g, NULL, NULL, l.xd, d_dx2, l.pd, d_s, NULL, d_ds, d_db,
        eps, d_sm, d_si, NULL, NULL, 0, NULL, 0), OK);
    ck_assert_int_eq(cudnnBatchNormalizationBackward(h, SP, &one, &zero, &one, &zero, l.xd, d_x,
        l.xd, d_g, l.xd, d_dx3, l.pd, d_s, d_ds, d_db, eps, d_sm, d_si), OK);
    down_t(dx2, d_dx2, 24, HLF);
    down_t(dx3, d_dx3, 24, HLF);
    ck_assert_mem_eq(dx2, dx3, sizeof dx2);
    cudnnDestroy(h);
}
END_TEST

START_TEST(test_bn_errors)
{
    cudnnHandle_t h = handle();
    struct bnl l = bn_layer4(HLF, SP, 2, 2, 1, 2);
    cudnnTensorDescriptor_t other = tensor4(NCHW, HLF, 2, 2, 1, 3);
    cudnnTensorDescriptor_t yflt = tensor4(NCHW, FLT, 2, 2, 1, 2);
    cudnnTensorDescriptor_t ppa = tensor4(NCHW, FLT, 1, 2, 1, 2); /* per-activation dims */
    cudnnTensorDescriptor_t phalf = tensor4(NCHW, HLF, 1, 2, 1, 1);
    cudnnTensorDescriptor_t xdbl = tensor4(NCHW, CUDNN_DATA_DOUBLE, 2, 2, 1, 2);
    cudnnTensorDescriptor_t pdbl = tensor4(NCHW, CUDNN_DATA_DOUBLE, 1, 2, 1, 1);
    cudnnTensorDescriptor_t x3;
    ck_assert_int_eq(cudnnCreateTensorDescriptor(&x3), OK);
    ck_assert_int_eq(cudnnSetTensorNdDescriptorEx(x3, NCHW, HLF, 3, (int[]){ 2, 2, 2 }), OK);
    void *d = dev(256);
    float one = 1, zero = 0;
    const cudnnBatchNormMode_t bad_mode = (cudnnBatchNormMode_t)3;
#define TRAIN(hh, mode, xd, yd, pd, x, s, rm, rv, eps, sm, si)                               \
    cudnnBatchNormalizationForwardTraining(hh, mode, &one, &zero, xd, x, yd, d, pd, s, d, 1.0, \
                                           rm, rv, eps, sm, si)
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, d, d, d, 1e-5, d, d), OK);
    ck_assert_int_eq(TRAIN(NULL, SP, l.xd, l.xd, l.pd, d, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, bad_mode, l.xd, l.xd, l.pd, d, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, NULL, l.xd, l.pd, d, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, NULL, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, NULL, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, other, l.pd, d, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, yflt, l.pd, d, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, ppa, d, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, PA, l.xd, l.xd, l.pd, d, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, PA, l.xd, l.xd, ppa, d, d, d, d, 1e-5, d, d), OK);
    ck_assert_int_eq(TRAIN(h, SP, x3, x3, l.pd, d, d, d, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, d, d, d, -1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, d, d, d, NAN, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, d, d, d, 0.0, d, d), OK);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, d, d, NULL, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, d, NULL, d, 1e-5, d, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, d, d, d, 1e-5, NULL, d), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, l.pd, d, d, d, d, 1e-5, d, NULL), BAD);
    ck_assert_int_eq(TRAIN(h, SP, l.xd, l.xd, phalf, d, d, d, d, 1e-5, d, d), UNSUP);
    ck_assert_int_eq(TRAIN(h, SP, xdbl, xdbl, pdbl, d, d, d, d, 1e-5, d, d), UNSUP);
#undef TRAIN

    cudnnActivationDescriptor_t relu, sig;
    ck_assert_int_eq(cudnnCreateActivationDescriptor(&relu), OK);
    ck_assert_int_eq(cudnnSetActivationDescriptor(relu, CUDNN_ACTIVATION_RELU,
                                                  CUDNN_NOT_PROPAGATE_NAN, 0.0), OK);
    ck_assert_int_eq(cudnnCreateActivationDescriptor(&sig), OK);
    ck_assert_int_eq(cudnnSetActivationDescriptor(sig, CUDNN_ACTIVATION_SIGMOID,
                                                  CUDNN_NOT_PROPAGATE_NAN, 0.0), OK);
#define TRAIN_EX(ops, zd, z, act)                                                           \
    cudnnBatchNormalizationForwardTrainingEx(h, SP, ops, &one, &zero, l.xd, d, zd, z, l.xd, d, \
        l.pd, d, d, 1.0, NULL, NULL, 1e-5, NULL, NULL, act, NULL, 0, NULL, 0)
    ck_assert_int_eq(TRAIN_EX(OPS_BN, NULL, NULL, NULL), OK);
    ck_assert_int_eq(TRAIN_EX(OPS_ACT, NULL, NULL, relu), OK);
    ck_assert_int_eq(TRAIN_EX(OPS_ACT, NULL, NULL, NULL), BAD);
    ck_assert_int_eq(TRAIN_EX(OPS_ACT, NULL, NULL, sig), UNSUP);
    ck_assert_int_eq(TRAIN_EX(OPS_ADD, l.xd, d, relu), OK);
    ck_assert_int_eq(TRAIN_EX(OPS_ADD, NULL, d, relu), BAD);
    ck_assert_int_eq(TRAIN_EX(OPS_ADD, l.xd, NULL, relu), BAD);
    ck_assert_int_eq(TRAIN_EX(OPS_ADD, other, d, relu), BAD);
    ck_assert_int_eq(TRAIN_EX((cudnnBatchNormOps_t)3, NULL, NULL, relu), BAD);
#undef TRAIN_EX

#define INFER(xd, pd, m, v, eps)                                                            \
    cudnnBatchNormalizationForwardInference(h, SP, &one, &zero, xd, d, xd, d, pd, d, d, m, v, eps)
    ck_assert_int_eq(INFER(l.xd, l.pd, d, d, 1e-5), OK);
    ck_assert_int_eq(INFER(l.xd, l.pd, NULL, d, 1e-5), BAD);
    ck_assert_int_eq(INFER(l.xd, l.pd, d, NULL, 1e-5), BAD);
    ck_assert_int_eq(INFER(l.xd, l.pd, d, d, -1.0), BAD);
    ck_assert_int_eq(INFER(l.xd, ppa, d, d, 1e-5), BAD);
    ck_assert_int_eq(INFER(xdbl, pdbl, d, d, 1e-5), UNSUP);
#undef INFER

#define BWD(xd, dyd, s, ds, db, sm, si, eps)                                                \
    cudnnBatchNormalizationBackward(h, SP, &one, &zero, &one, &zero, xd, d, dyd, d, xd, d, l.pd, \
                                    s, ds, db, eps, sm, si)
    ck_assert_int_eq(BWD(l.xd, l.xd, d, d, d, d, d, 1e-5), OK);
    ck_assert_int_eq(BWD(l.xd, l.xd, d, d, d, NULL, NULL, 1e-5), OK);
    ck_assert_int_eq(BWD(l.xd, l.xd, d, d, d, d, NULL, 1e-5), BAD);
    ck_assert_int_eq(BWD(l.xd, l.xd, d, d, d, NULL, d, 1e-5), BAD);
    ck_assert_int_eq(BWD(l.xd, l.xd, NULL, d, d, d, d, 1e-5), BAD);
    ck_assert_int_eq(BWD(l.xd, l.xd, d, NULL, d, d, d, 1e-5), BAD);
    ck_assert_int_eq(BWD(l.xd, l.xd, d, d, NULL, d, d, 1e-5), BAD);
    ck_assert_int_eq(BWD(l.xd, other, d, d, d, d, d, 1e-5), BAD);
    ck_assert_int_eq(BWD(l.xd, l.xd, d, d, d, d, d, -1.0), BAD);
#undef BWD

#define BWD_EX(ops, yd, y, dzd, dz, bias, act)                                              \
    cudnnBatchNormalizationBackwardEx(h, SP, ops, &one, &zero, &one, &zero, l.xd, d, yd, y, l.xd, \
        d, dzd, dz, l.xd, d, l.pd, d, bias, d, d, 1e-5, NULL, NULL, act, NULL, 0, NULL, 0)
    ck_assert_int_eq(BWD_EX(OPS_BN, NULL, NULL, NULL, NULL, NULL, NULL), OK);
    ck_assert_int_eq(BWD_EX(OPS_ACT, l.xd, d, NULL, NULL, d, relu), OK);
    ck_assert_int_eq(BWD_EX(OPS_ACT, l.xd, NULL, NULL, NULL, d, relu), BAD);
    ck_assert_int_eq(BWD_EX(OPS_ACT, NULL, d, NULL, NULL, d, relu), BAD);
    ck_assert_int_eq(BWD_EX(OPS_ACT, l.xd, d, NULL, NULL, NULL, relu), BAD);
    ck_assert_int_eq(BWD_EX(OPS_ACT, l.xd, d, NULL, NULL, d, NULL), BAD);
    ck_assert_int_eq(BWD_EX(OPS_ACT, l.xd, d, NULL, NULL, d, sig), UNSUP);
    ck_assert_int_eq(BWD_EX(OPS_ADD, l.xd, d, l.xd, d, d, relu), OK);
    ck_assert_int_eq(BWD_EX(OPS_ADD, l.xd, d, l.xd, NULL, d, relu), BAD);
    ck_assert_int_eq(BWD_EX(OPS_ADD, l.xd, d, other, d, d, relu), BAD);
#undef BWD_EX

    size_t size = 1;
    ck_assert_int_eq(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, SP, OPS_BN, l.xd,
        NULL, l.xd, l.pd, NULL, NULL), BAD);
    ck_assert_int_eq(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(NULL, SP, OPS_BN,
        l.xd, NULL, l.xd, l.pd, NULL, &size), BAD);
    ck_assert_int_eq(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, SP, OPS_ACT,
        l.xd, NULL, l.xd, l.pd, NULL, &size), BAD);
    ck_assert_int_eq(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, PA, OPS_BN, l.xd,
        NULL, l.xd, l.pd, NULL, &size), BAD);
    ck_assert_int_eq(cudnnGetBatchNormalizationBackwardExWorkspaceSize(h, SP, OPS_ADD, l.xd, l.xd,
        l.xd, NULL, l.xd, l.pd, relu, &size), BAD);
    ck_assert_int_eq(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, SP, OPS_BN, NULL,
        l.xd, NULL), BAD);
    ck_assert_int_eq(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, bad_mode, OPS_BN,
        NULL, l.xd, &size), BAD);
    ck_assert_int_eq(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, SP, OPS_ADD, sig,
        l.xd, &size), UNSUP);
    ck_assert_int_eq(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, SP, OPS_BN, NULL,
        l.xd, &size), OK);
    ck_assert_uint_eq(size, 0);
    cudnnDestroy(h);
}
END_TEST

/* A captured call runs at graph launch and reads its inputs then; a host
 * pointer fails the call (not captured) or the launch (captured). */
START_TEST(test_bn_capture_and_bad_pointer)
{
    cudnnHandle_t h = handle();
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cudnnSetStream(h, s), OK);
    struct bnl l = bn_layer4(FLT, SP, 1, 1, 1, 4);
    float x[4] = { 1, -1, 1, -1 }, y[4] = { 7, 7, 7, 7 }, scale = 2, bias = 0.5f, one = 1, zero = 0;
    void *dx = up(x, 16), *dy = up(y, 16), *ds = up(&scale, 4), *db = up(&bias, 4);
    cudaGraph_t g;
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudnnBatchNormalizationForwardTraining(h, SP, &one, &zero, l.xd, dx, l.xd, dy,
        l.pd, ds, db, 1.0, NULL, NULL, 0.0, NULL, NULL), OK);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    down(y, dy, 16);
    ck_assert_float_eq(y[0], 7.0f);
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    x[0] = 4, x[1] = x[2] = x[3] = 0; /* mean 1, variance 3: xhat[0] = sqrt(3) */
    ck_assert_int_eq(cudaMemcpy(dx, x, 16, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    down(y, dy, 16);
    assert_near(y[0], 2 * sqrt(3.0) + 0.5);

    float host[4] = { 0 };
    ck_assert_int_eq(cudnnSetStream(h, NULL), OK);
    ck_assert_int_eq(cudnnBatchNormalizationForwardTraining(h, SP, &one, &zero, l.xd, host, l.xd,
        dy, l.pd, ds, db, 1.0, NULL, NULL, 0.0, NULL, NULL), CUDNN_STATUS_EXECUTION_FAILED);
    ck_assert_int_eq(cudnnBatchNormalizationBackward(h, SP, &one, &zero, &one, &zero, l.xd, dx,
        l.xd, dy, l.xd, dy, l.pd, ds, host, db, 0.0, NULL, NULL), CUDNN_STATUS_EXECUTION_FAILED);
    ck_assert_int_eq(cudnnSetStream(h, s), OK);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudnnBatchNormalizationForwardInference(h, SP, &one, &zero, l.xd, dx, l.xd,
        dy, l.pd, ds, db, host, ds, 0.0), OK);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaErrorIllegalAddress);
    cudnnDestroy(h);
}
END_TEST

/* ---- capture, bad pointers ----------------------------------------------------------- */

START_TEST(test_capture_conv)
{
    uint16_t x[4096], w[4096];
    for (int i = 0; i < 4096; i++)
        x[i] = H(1), w[i] = H(1);
    cudnnHandle_t h = handle();
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cudnnSetStream(h, s), OK);
    cudnnTensorDescriptor_t xd = tensor4(NCHW, HLF, 1, 1024, 2, 2);
    cudnnTensorDescriptor_t yd = tensor4(NCHW, HLF, 1, 1, 1, 1);
    cudnnFilterDescriptor_t wd = filter4(HLF, 1, 1024, 2, 2);
    cudnnConvolutionDescriptor_t cv = conv2(0, 0, 1, 1, 1, 1, XCORR, HLF);
    uint16_t y = H(-1);
    void *dx = up(x, sizeof x), *dw = up(w, sizeof w), *dy = up(&y, 2);
    float alpha = 1, beta = 0;

    cudaGraph_t g;
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudnnConvolutionForward(h, &alpha, xd, dx, wd, dw, cv,
        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &beta, yd, dy), OK);
    alpha = 100; /* host scalars are captured by value */
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    down(&y, dy, 2);
    ck_assert_float_eq(F(y), -1.0f); /* nothing ran during capture */

    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    down(&y, dy, 2);
    ck_assert_float_eq(F(y), 2048.0f);
    /* A replay reads its inputs afresh: products of 2 summed in FP16 stall
     * at 4096, where adding 2 is a tie that rounds back to even. */
    for (int i = 0; i < 4096; i++)
        x[i] = H(2);
    ck_assert_int_eq(cudaMemcpy(dx, x, sizeof x, cudaMemcpyHostToDevice), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaSuccess);
    down(&y, dy, 2);
    ck_assert_float_eq(F(y), 4096.0f);
    ck_assert_int_eq(cudaGraphExecDestroy(exec), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);
    cudnnDestroy(h);
}
END_TEST

/* Host memory or a too-short allocation where device memory is expected
 * fails the call (EXECUTION_FAILED) or the graph launch; it never crashes. */
START_TEST(test_bad_device_pointers)
{
    cudnnHandle_t h = handle();
    float host[4096] = { 0 };
    float one = 1, zero = 0;
    void *big = dev(sizeof host), *small = dev(8);
    cudnnTensorDescriptor_t xd = tensor4(NCHW, FLT, 1, 1, 4, 4);
    cudnnTensorDescriptor_t yd = tensor4(NCHW, FLT, 1, 1, 2, 2);
    cudnnFilterDescriptor_t wd = filter4(FLT, 1, 1, 3, 3);
    cudnnConvolutionDescriptor_t cv = conv2(0, 0, 1, 1, 1, 1, XCORR, FLT);
    const cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, host, wd, big, cv, algo, NULL, 0, &zero,
                                             yd, big), CUDNN_STATUS_EXECUTION_FAILED);
    ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, big, wd, big, cv, algo, NULL, 0, &zero,
                                             yd, small), CUDNN_STATUS_EXECUTION_FAILED);
    ck_assert_int_eq(cudnnConvolutionBackwardData(h, &one, wd, big, yd, big, cv,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, NULL, 0, &zero, xd, host),
        CUDNN_STATUS_EXECUTION_FAILED);
    ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, big, wd, big, cv, algo, NULL, 0, &zero,
                                             yd, big), OK);

    cudnnReduceTensorDescriptor_t rd;
    cudnnCreateReduceTensorDescriptor(&rd);
    cudnnSetReduceTensorDescriptor(rd, CUDNN_REDUCE_TENSOR_ADD, FLT, CUDNN_NOT_PROPAGATE_NAN,
                                   CUDNN_REDUCE_TENSOR_NO_INDICES, CUDNN_32BIT_INDICES);
    cudnnTensorDescriptor_t sum = tensor4(NCHW, FLT, 1, 1, 1, 1);
    ck_assert_int_eq(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &one, xd, host, &zero, sum, big),
                     CUDNN_STATUS_EXECUTION_FAILED);
    ck_assert_int_eq(cudnnReduceTensor(h, rd, NULL, 0, NULL, 0, &one, xd, big, &zero, sum, big),
                     OK);
    cudnnOpTensorDescriptor_t od = op_desc(CUDNN_OP_TENSOR_MAX, FLT);
    ck_assert_int_eq(cudnnOpTensor(h, od, &one, xd, big, &one, xd, big, &zero, xd, small),
                     CUDNN_STATUS_EXECUTION_FAILED);

    const int64_t md[3] = { 1, 2, 2 };
    cudnnBackendDescriptor_t plan = bplan(h, bgraph(h, bmatmul(btensor(1, FLT, 3, md, NULL, false),
                                                               btensor(2, FLT, 3, md, NULL, false),
                                                               btensor(3, FLT, 3, md, NULL, false),
                                                               FLT)));
    ck_assert_int_eq(bexecute(h, plan, 3, (int64_t[]){ 1, 2, 3 }, (void *[]){ big, host, big }),
                     CUDNN_STATUS_EXECUTION_FAILED);

    /* Captured, the bad pointer surfaces at launch. */
    cudaStream_t s;
    cudaGraph_t g;
    cudaGraphExec_t exec;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    ck_assert_int_eq(cudnnSetStream(h, s), OK);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudnnConvolutionForward(h, &one, xd, host, wd, big, cv, algo, NULL, 0, &zero,
                                             yd, big), OK);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(exec, s), cudaErrorIllegalAddress);
    cudnnDestroy(h);
}
END_TEST

static Suite *dnn_suite(void)
{
    Suite *s = suite_create("emu-dnn");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_handle_and_stream);
    tcase_add_test(tc, test_tensor_descriptors);
    tcase_add_test(tc, test_filter_and_conv_descriptors);
    tcase_add_test(tc, test_forward_output_dim);
    tcase_add_test(tc, test_conv_forward_float);
    tcase_add_test(tc, test_conv_forward_half_accumulation);
    tcase_add_test(tc, test_conv_bias_activation);
    tcase_add_test(tc, test_conv_backward);
    tcase_add_test(tc, test_conv_adjoint_grouped);
    tcase_add_test(tc, test_conv_errors);
    tcase_add_test(tc, test_reduce_half_accumulation);
    tcase_add_test(tc, test_reduce_ops);
    tcase_add_test(tc, test_reduce_nan);
    tcase_add_test(tc, test_op_tensor);
    tcase_add_test(tc, test_op_tensor_half_compute);
    tcase_add_test(tc, test_backend_conv_forward);
    tcase_add_test(tc, test_backend_matmul);
    tcase_add_test(tc, test_backend_attribute_errors);
    tcase_add_test(tc, test_backend_unsupported_and_missing_uid);
    tcase_add_test(tc, test_backend_fused_conv_bias_relu);
    tcase_add_test(tc, test_backend_pointwise_add);
    tcase_add_test(tc, test_backend_pointwise_mul_alpha);
    tcase_add_test(tc, test_backend_pointwise_unary);
    tcase_add_test(tc, test_backend_pointwise_descriptor);
    tcase_add_test(tc, test_backend_pointwise_relu_bwd);
    tcase_add_test(tc, test_backend_pointwise_bwd_finalize);
    tcase_add_test(tc, test_backend_fused_matmul_scale);
    tcase_add_test(tc, test_backend_fused_no_engine);
    tcase_add_test(tc, test_backend_fused_pack_capture_bad_pointer);
    tcase_add_test(tc, test_backend_graph_64_ops);
    tcase_add_test(tc, test_backend_sdpa_fwd);
    tcase_add_test(tc, test_backend_sdpa_finalize);
    tcase_add_test(tc, test_backend_sdpa_bwd_graph);
    tcase_add_test(tc, test_backend_sdpa_attributes);
    tcase_add_test(tc, test_bn_derive);
    tcase_add_test(tc, test_bn_forward_training);
    tcase_add_test(tc, test_bn_training_optional_outputs);
    tcase_add_test(tc, test_bn_inference);
    tcase_add_test(tc, test_bn_blend);
    tcase_add_test(tc, test_bn_backward);
    tcase_add_test(tc, test_bn_ex_add_relu);
    tcase_add_test(tc, test_bn_errors);
    tcase_add_test(tc, test_bn_capture_and_bad_pointer);
    tcase_add_test(tc, test_capture_conv);
    tcase_add_test(tc, test_bad_device_pointers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dnn_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
