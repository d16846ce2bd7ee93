/* Emulated libcudnn.so.9: convolutions forward, backward data and backward
 * filter, for the legacy API (and its fused forward with bias, residual and
 * activation) and (through dnn_conv_compute) the backend's graphs.
 *
 * Each output element is one dot product summed in a fixed order: forward
 * over input channel, then filter taps in row-major order (c, r, s);
 * backward data over output channel then taps (k, r, s); backward filter
 * over image then output positions (n, p, q). With compute type HALF every
 * product and every partial sum is rounded to FP16, as a GPU's FP16
 * accumulation does (4096 products of 1.0 sum to 2048); with FLOAT they are
 * summed in float. Every algorithm computes the same way: algorithms only
 * change the order and speed on a GPU. */
#include <stdbool.h>
#include <stdio.h>

#include "dnn.h"

/* ---- checks ------------------------------------------------------------------- */

cudnnStatus_t dnn_conv_check_shape(const struct dnn_conv *c)
{
    const struct dnn_tensor *x = &c->x, *w = &c->w, *y = &c->y;
    if (c->nsp < 1 || c->nsp > DNN_MAX_SPATIAL || x->nd != c->nsp + 2 || w->nd != x->nd ||
        y->nd != x->nd || c->groups < 1)
        return CUDNN_STATUS_BAD_PARAM;
    if (x->dim[1] != w->dim[1] * c->groups || w->dim[0] % c->groups || y->dim[0] != x->dim[0] ||
        y->dim[1] != w->dim[0])
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < c->nsp; i++) {
        if (c->stride[i] < 1 || c->dilation[i] < 1 || c->pre[i] < 0 || c->post[i] < 0)
            return CUDNN_STATUS_BAD_PARAM;
        int64_t eff = (w->dim[i + 2] - 1) * c->dilation[i] + 1;
        int64_t span = x->dim[i + 2] + c->pre[i] + c->post[i] - eff;
        if (span < 0)
            return CUDNN_STATUS_BAD_PARAM;
        if (y->dim[i + 2] != 1 + span / c->stride[i])
            return CUDNN_STATUS_NOT_SUPPORTED;
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t dnn_conv_check_types(const struct dnn_conv *c, cudnnDataType_t compute)
{
    cudnnDataType_t t = c->x.type;
    if (c->w.type != t || c->y.type != t)
        return CUDNN_STATUS_BAD_PARAM;
    if (!dnn_type_computable(t))
        return CUDNN_STATUS_NOT_SUPPORTED;
    if (compute == CUDNN_DATA_HALF)
        return t == CUDNN_DATA_HALF ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED;
    return compute == CUDNN_DATA_FLOAT ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED;
}

/* ---- arithmetic --------------------------------------------------------------------- */

struct conv_op {
    struct dnn_conv c;
    const void *x, *w, *y, *z, *bias;
};

/* The filter tap a position uses: mirrored in CUDNN_CONVOLUTION mode. */
static int64_t tap(const struct dnn_conv *c, int i, int64_t f)
{
    return c->flip ? c->w.dim[i + 2] - 1 - f : f;
}

/* The fused call's output element: act(alpha * acc + alpha2 * z + bias),
 * each step rounded as the compute type rounds; z is not read when alpha2
 * is 0. RELU keeps NaN (NaN < 0 is false). */
static void fused_store(const struct dnn_conv *c, void *Y, const void *Z, const void *B,
                        const int64_t *yi, float acc)
{
    float v = dnn_round(c->acc16, c->alpha * acc);
    if (c->alpha2 != 0.0f)
        v = dnn_round(c->acc16,
                      v + dnn_round(c->acc16, c->alpha2 * dnn_load(Z, c->z.type,
                                                                   dnn_offset(&c->z, yi))));
    int64_t bi[CUDNN_DIM_MAX] = { 0, yi[1] };
    v = dnn_round(c->acc16, v + dnn_load(B, c->bias.type, dnn_offset(&c->bias, bi)));
    if (c->relu && v < 0.0f)
        v = 0.0f;
    dnn_store(Y, c->y.type, dnn_offset(&c->y, yi), v);
}

static void forward(const struct dnn_conv *c, const void *X, const void *W, void *Y,
                    const void *Z, const void *B)
{
    int64_t kg = c->w.dim[0] / c->groups, cg = c->w.dim[1];
    int64_t yi[CUDNN_DIM_MAX] = { 0 };
    do {
        int64_t g = yi[1] / kg;
        float acc = 0.0f;
        for (int64_t ch = 0; ch < cg; ch++) {
            int64_t wi[CUDNN_DIM_MAX] = { yi[1], ch }, xi[CUDNN_DIM_MAX] = { yi[0], g * cg + ch };
            do {
                int inside = 1;
                for (int i = 0; i < c->nsp; i++) {
                    xi[i + 2] = yi[i + 2] * c->stride[i] - c->pre[i] + wi[i + 2] * c->dilation[i];
                    inside &= xi[i + 2] >= 0 && xi[i + 2] < c->x.dim[i + 2];
                }
                if (!inside)
                    continue;
                int64_t wf[CUDNN_DIM_MAX] = { wi[0], wi[1] };
                for (int i = 0; i < c->nsp; i++)
                    wf[i + 2] = tap(c, i, wi[i + 2]);
                acc = dnn_mac(c->acc16, acc, dnn_load(X, c->x.type, dnn_offset(&c->x, xi)),
                              dnn_load(W, c->w.type, dnn_offset(&c->w, wf)));
            } while (dnn_next(&c->w, wi, 2));
        }
        if (c->fused)
            fused_store(c, Y, Z, B, yi, acc);
        else
            dnn_blend(Y, c->y.type, dnn_offset(&c->y, yi), c->acc16, c->alpha, c->beta, acc);
    } while (dnn_next(&c->y, yi, 0));
}

static void backward_data(const struct dnn_conv *c, void *DX, const void *W, const void *DY)
{
    int64_t kg = c->w.dim[0] / c->groups, cg = c->w.dim[1];
    int64_t xi[CUDNN_DIM_MAX] = { 0 };
    do {
        int64_t g = xi[1] / cg;
        float acc = 0.0f;
        for (int64_t kk = 0; kk < kg; kk++) {
            int64_t k = g * kg + kk;
            int64_t wi[CUDNN_DIM_MAX] = { k, xi[1] % cg }, yi[CUDNN_DIM_MAX] = { xi[0], k };
            do {
                int inside = 1;
                for (int i = 0; i < c->nsp; i++) {
                    int64_t t = xi[i + 2] + c->pre[i] - wi[i + 2] * c->dilation[i];
                    yi[i + 2] = t / c->stride[i];
                    inside &= t >= 0 && t % c->stride[i] == 0 && yi[i + 2] < c->y.dim[i + 2];
                }
                if (!inside)
                    continue;
                int64_t wf[CUDNN_DIM_MAX] = { wi[0], wi[1] };
                for (int i = 0; i < c->nsp; i++)
                    wf[i + 2] = tap(c, i, wi[i + 2]);
                acc = dnn_mac(c->acc16, acc, dnn_load(DY, c->y.type, dnn_offset(&c->y, yi)),
                              dnn_load(W, c->w.type, dnn_offset(&c->w, wf)));
            } while (dnn_next(&c->w, wi, 2));
        }
        dnn_blend(DX, c->x.type, dnn_offset(&c->x, xi), c->acc16, c->alpha, c->beta, acc);
    } while (dnn_next(&c->x, xi, 0));
}

static void backward_filter(const struct dnn_conv *c, const void *X, void *DW, const void *DY)
{
    int64_t kg = c->w.dim[0] / c->groups, cg = c->w.dim[1];
    int64_t wi[CUDNN_DIM_MAX] = { 0 };
    do {
        int64_t ch = wi[0] / kg * cg + wi[1];
        float acc = 0.0f;
        for (int64_t n = 0; n < c->x.dim[0]; n++) {
            int64_t yi[CUDNN_DIM_MAX] = { n, wi[0] }, xi[CUDNN_DIM_MAX] = { n, ch };
            do {
                int inside = 1;
                for (int i = 0; i < c->nsp; i++) {
                    xi[i + 2] = yi[i + 2] * c->stride[i] - c->pre[i] +
                                tap(c, i, wi[i + 2]) * c->dilation[i];
                    inside &= xi[i + 2] >= 0 && xi[i + 2] < c->x.dim[i + 2];
                }
                if (inside)
                    acc = dnn_mac(c->acc16, acc,
                                  dnn_load(DY, c->y.type, dnn_offset(&c->y, yi)),
                                  dnn_load(X, c->x.type, dnn_offset(&c->x, xi)));
            } while (dnn_next(&c->y, yi, 2));
        }
        dnn_blend(DW, c->w.type, dnn_offset(&c->w, wi), c->acc16, c->alpha, c->beta, acc);
    } while (dnn_next(&c->w, wi, 0));
}

void dnn_conv_compute(const struct dnn_conv *c, void *x, void *w, void *y)
{
    switch (c->dir) {
    case DNN_CONV_FWD: forward(c, x, w, y, NULL, NULL); break;
    case DNN_CONV_BWD_DATA: backward_data(c, x, w, y); break;
    case DNN_CONV_BWD_FILTER: backward_filter(c, x, w, y); break;
    }
}

static CUresult run_conv(void *arg)
{
    const struct conv_op *op = arg;
    const struct dnn_conv *c = &op->c;
    int fwd = c->dir == DNN_CONV_FWD, bwd_filter = c->dir == DNN_CONV_BWD_FILTER;
    void *x = dnn_host(c->api, fwd || bwd_filter ? "x" : "dx", op->x, &c->x);
    void *w = dnn_host(c->api, bwd_filter ? "dw" : "w", op->w, &c->w);
    void *y = dnn_host(c->api, fwd ? "y" : "dy", op->y, &c->y);
    if (!x || !w || !y)
        return CUDA_ERROR_ILLEGAL_ADDRESS;
    void *z = NULL, *bias = NULL;
    if (c->fused) {
        bias = dnn_host(c->api, "bias", op->bias, &c->bias);
        if (c->alpha2 != 0.0f)
            z = dnn_host(c->api, "z", op->z, &c->z);
        if (!bias || (c->alpha2 != 0.0f && !z))
            return CUDA_ERROR_ILLEGAL_ADDRESS;
    }
    if (emu_null_compute())
        return CUDA_SUCCESS;
    if (c->fused)
        forward(c, x, w, y, z, bias);
    else
        dnn_conv_compute(c, x, w, y);
    return CUDA_SUCCESS;
}

cudnnStatus_t dnn_conv_launch(cudnnHandle_t h, const struct dnn_conv *c, const void *x,
                              const void *w, const void *y)
{
    return dnn_conv_launch_fused(h, c, x, w, y, NULL, NULL);
}

cudnnStatus_t dnn_conv_launch_fused(cudnnHandle_t h, const struct dnn_conv *c, const void *x,
                                    const void *w, const void *y, const void *z,
                                    const void *bias)
{
    if (emu_trace()) {
        char bx[96], bw[96], by[96];
        fprintf(stderr, "emu: %s x=%s w=%s y=%s data=%s compute=%s groups=%d\n", c->api,
                dnn_dims(&c->x, bx, sizeof bx), dnn_dims(&c->w, bw, sizeof bw),
                dnn_dims(&c->y, by, sizeof by), dnn_type_name(c->x.type),
                c->acc16 ? "HALF" : "FLOAT", c->groups);
    }
    struct conv_op op = { .c = *c, .x = x, .w = w, .y = y, .z = z, .bias = bias };
    return dnn_launch(h, run_conv, &op, sizeof op);
}

/* ---- legacy entry points --------------------------------------------------------- */

/* The convolution the legacy descriptors describe, checked: x, w and y
 * name the tensors as struct dnn_conv does, whichever of them the call
 * writes. */
static cudnnStatus_t legacy_conv(struct dnn_conv *c, const char *api, enum dnn_conv_dir dir,
                                 cudnnTensorDescriptor_t xd, cudnnFilterDescriptor_t wd,
                                 cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t yd)
{
    *c = (struct dnn_conv){ .api = api, .dir = dir, .x = xd->t, .w = wd->t, .y = yd->t,
                            .nsp = cd->nsp, .groups = cd->groups,
                            .flip = cd->mode == CUDNN_CONVOLUTION,
                            .acc16 = cd->compute == CUDNN_DATA_HALF };
    for (int i = 0; i < cd->nsp; i++) {
        c->pre[i] = c->post[i] = cd->pad[i];
        c->stride[i] = cd->stride[i];
        c->dilation[i] = cd->dilation[i];
    }
    cudnnStatus_t st = dnn_conv_check_shape(c);
    if (st)
        return st;
    /* The legacy API convolves 2-D and 3-D images only (4-d and 5-d tensors). */
    if (c->nsp < 2 || c->nsp > 3)
        return CUDNN_STATUS_NOT_SUPPORTED;
    return dnn_conv_check_types(c, cd->compute);
}

/* Everything the three legacy calls share. */
static cudnnStatus_t legacy(cudnnHandle_t h, const char *api, enum dnn_conv_dir dir,
                            int algo_ok, const void *alpha, const void *beta,
                            cudnnTensorDescriptor_t xd, const void *x, cudnnFilterDescriptor_t wd,
                            const void *w, cudnnConvolutionDescriptor_t cd,
                            cudnnTensorDescriptor_t yd, const void *y)
{
    if (!dnn_valid(h) || !dnn_tensor_ok(xd) || !dnn_filter_ok(wd) || !dnn_conv_ok(cd) ||
        !dnn_tensor_ok(yd) || !alpha || !beta || !x || !w || !y || !algo_ok)
        return CUDNN_STATUS_BAD_PARAM;
    struct dnn_conv c;
    DNN_TRY(legacy_conv(&c, api, dir, xd, wd, cd, yd));
    /* Scaling factors are float for half, bfloat16 and float data. */
    c.alpha = *(const float *)alpha;
    c.beta = *(const float *)beta;
    return dnn_conv_launch(h, &c, x, w, y);
}

static bool same_dims(const struct dnn_tensor *a, const struct dnn_tensor *b)
{
    if (a->nd != b->nd)
        return false;
    for (int i = 0; i < a->nd; i++)
        if (a->dim[i] != b->dim[i])
            return false;
    return true;
}

/* The workspace a forward convolution asks for: cuDNN 9 on an H100 asks one
 * of the implicit precomputed GEMM computing in FP32 on FP16 data, where
 * computing in FP16 needs none (seen with cudnnConvolutionBiasActivationForward:
 * "workSpaceSizeInBytes < requiredWorkspace", CUDNN_STATUS_BAD_PARAM). Here 4
 * bytes an output element. Descriptors already found valid. */
static size_t fwd_workspace(cudnnTensorDescriptor_t x, cudnnConvolutionDescriptor_t c,
                            cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo)
{
    if (algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
        c->compute != CUDNN_DATA_FLOAT || x->t.type != CUDNN_DATA_HALF)
        return 0;
    size_t n = 1;
    for (int i = 0; i < y->t.nd; i++)
        n *= (size_t)y->t.dim[i];
    return 4 * n;
}

static bool workspace_short(cudnnTensorDescriptor_t x, cudnnConvolutionDescriptor_t c,
                            cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo,
                            const void *ws, size_t ws_size)
{
    if (!dnn_tensor_ok(x) || !dnn_conv_ok(c) || !dnn_tensor_ok(y) ||
        (unsigned)algo >= (unsigned)CUDNN_CONVOLUTION_FWD_ALGO_COUNT)
        return false; /* the call's own checks answer */
    size_t need = fwd_workspace(x, c, y, algo);
    return need && (ws_size < need || !ws);
}

/* y = act(alpha1 * conv(x, w) + alpha2 * z + bias), as cuDNN documents it:
 * z shaped like y and of y's type (it may be y itself), bias [1, K, 1...] of
 * y's type, activation RELU, or IDENTITY with IMPLICIT_PRECOMP_GEMM only. */
EMU_API cudnnStatus_t cudnnConvolutionBiasActivationForward(cudnnHandle_t handle,
    const void *alpha1, const cudnnTensorDescriptor_t xDesc, const void *x,
    const cudnnFilterDescriptor_t wDesc, const void *w,
    const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
    void *workSpace, size_t workSpaceSizeInBytes, const void *alpha2,
    const cudnnTensorDescriptor_t zDesc, const void *z, const cudnnTensorDescriptor_t biasDesc,
    const void *bias, const cudnnActivationDescriptor_t activationDesc,
    const cudnnTensorDescriptor_t yDesc, void *y)
{
    if (workspace_short(xDesc, convDesc, yDesc, algo, workSpace, workSpaceSizeInBytes))
        return CUDNN_STATUS_BAD_PARAM;
    if (!dnn_valid(handle) || !dnn_tensor_ok(xDesc) || !dnn_filter_ok(wDesc) ||
        !dnn_conv_ok(convDesc) || !dnn_tensor_ok(yDesc) || !dnn_tensor_ok(zDesc) ||
        !dnn_tensor_ok(biasDesc) || !dnn_act_ok(activationDesc) || !alpha1 || !alpha2 || !x ||
        !w || !y || !bias || (unsigned)algo >= (unsigned)CUDNN_CONVOLUTION_FWD_ALGO_COUNT)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnActivationMode_t act = activationDesc->mode;
    if (act != CUDNN_ACTIVATION_RELU && act != CUDNN_ACTIVATION_IDENTITY)
        return CUDNN_STATUS_NOT_SUPPORTED;
    if (act == CUDNN_ACTIVATION_IDENTITY && algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
        return CUDNN_STATUS_NOT_SUPPORTED;
    struct dnn_conv c;
    DNN_TRY(legacy_conv(&c, "cudnnConvolutionBiasActivationForward", DNN_CONV_FWD, xDesc, wDesc,
                        convDesc, yDesc));
    c.fused = 1;
    c.relu = act == CUDNN_ACTIVATION_RELU;
    c.z = zDesc->t;
    c.bias = biasDesc->t;
    if (!same_dims(&c.z, &c.y) || c.z.type != c.y.type || c.bias.type != c.y.type ||
        c.bias.nd != c.y.nd || c.bias.dim[1] != c.y.dim[1])
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < c.bias.nd; i++)
        if (i != 1 && c.bias.dim[i] != 1)
            return CUDNN_STATUS_BAD_PARAM;
    c.alpha = *(const float *)alpha1;
    c.alpha2 = *(const float *)alpha2;
    if (c.alpha2 != 0.0f && !z)
        return CUDNN_STATUS_BAD_PARAM;
    return dnn_conv_launch_fused(handle, &c, x, w, y, z, bias);
}

EMU_API cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc,
    const void *w, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
    void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
    const cudnnTensorDescriptor_t yDesc, void *y)
{
    if (workspace_short(xDesc, convDesc, yDesc, algo, workSpace, workSpaceSizeInBytes))
        return CUDNN_STATUS_BAD_PARAM;
    int algo_ok = (unsigned)algo < (unsigned)CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    return legacy(handle, "cudnnConvolutionForward", DNN_CONV_FWD, algo_ok, alpha, beta, xDesc,
                  x, wDesc, w, convDesc, yDesc, y);
}

EMU_API cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha,
    const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnTensorDescriptor_t dyDesc,
    const void *dy, const cudnnConvolutionDescriptor_t convDesc,
    cudnnConvolutionBwdDataAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes,
    const void *beta, const cudnnTensorDescriptor_t dxDesc, void *dx)
{
    (void)workSpace, (void)workSpaceSizeInBytes;
    int algo_ok = (unsigned)algo < (unsigned)CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
    return legacy(handle, "cudnnConvolutionBackwardData", DNN_CONV_BWD_DATA, algo_ok, alpha,
                  beta, dxDesc, dx, wDesc, w, convDesc, dyDesc, dy);
}

EMU_API cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void *alpha,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc,
    const void *dy, const cudnnConvolutionDescriptor_t convDesc,
    cudnnConvolutionBwdFilterAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes,
    const void *beta, const cudnnFilterDescriptor_t dwDesc, void *dw)
{
    (void)workSpace, (void)workSpaceSizeInBytes;
    int algo_ok = (unsigned)algo < (unsigned)CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
    return legacy(handle, "cudnnConvolutionBackwardFilter", DNN_CONV_BWD_FILTER, algo_ok, alpha,
                  beta, xDesc, x, dwDesc, dw, convDesc, dyDesc, dy);
}

/* ---- workspace sizes: the emulated kernels need none ------------------------------ */

static cudnnStatus_t no_workspace(cudnnHandle_t h, cudnnTensorDescriptor_t a,
                                  cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
                                  cudnnTensorDescriptor_t b, size_t *size)
{
    if (!dnn_valid(h) || !dnn_tensor_ok(a) || !dnn_filter_ok(w) || !dnn_conv_ok(c) ||
        !dnn_tensor_ok(b) || !size)
        return CUDNN_STATUS_BAD_PARAM;
    *size = 0;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle,
    const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc,
    cudnnConvolutionFwdAlgo_t algo, size_t *sizeInBytes)
{
    if ((unsigned)algo >= (unsigned)CUDNN_CONVOLUTION_FWD_ALGO_COUNT)
        return CUDNN_STATUS_BAD_PARAM;
    DNN_TRY(no_workspace(handle, xDesc, wDesc, convDesc, yDesc, sizeInBytes));
    *sizeInBytes = fwd_workspace(xDesc, convDesc, yDesc, algo);
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle,
    const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,
    cudnnConvolutionBwdDataAlgo_t algo, size_t *sizeInBytes)
{
    if ((unsigned)algo >= (unsigned)CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)
        return CUDNN_STATUS_BAD_PARAM;
    return no_workspace(handle, dyDesc, wDesc, convDesc, dxDesc, sizeInBytes);
}

EMU_API cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle,
    const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc,
    cudnnConvolutionBwdFilterAlgo_t algo, size_t *sizeInBytes)
{
    if ((unsigned)algo >= (unsigned)CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT)
        return CUDNN_STATUS_BAD_PARAM;
    return no_workspace(handle, xDesc, gradDesc, convDesc, dyDesc, sizeInBytes);
}
