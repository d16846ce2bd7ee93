/* Emulated libcudnn.so.9: batch normalization, the legacy
 * cudnnBatchNormalization* family (forward training, its Ex form with the
 * fused add and ReLU, inference, backward and backward Ex), with
 * cudnnDeriveBNTensorDescriptor and the Ex workspace and reserve sizes.
 *
 * Statistics are taken per channel over N and the spatial dims (SPATIAL,
 * SPATIAL_PERSISTENT: parameters [1, C, 1...]) or per element over N alone
 * (PER_ACTIVATION: parameters [1, C, spatial...]); x may be 4-d or 5-d, of
 * type HALF, BFLOAT16 or FLOAT with FLOAT parameters (the PSEUDO_HALF,
 * PSEUDO_BFLOAT16 and FLOAT configurations; DOUBLE is NOT_SUPPORTED here).
 *
 * Rounding, as cuDNN computes batch normalization in FLOAT for 16-bit data:
 * a batch's sums are accumulated in double and its mean and variances
 * rounded once to float (the GPU's reduction order is unspecified, so no
 * float summation order would be more faithful); every other step is float
 * arithmetic, and each 16-bit output element is rounded once to its type,
 * after the alpha / beta blend. So an FP16 output overflows to Inf exactly
 * where its float value exceeds FP16's range, and a negative inference
 * variance gives NaN (sqrt of a negative number), as on the GPU.
 *
 *   forward:  y = act(scale * (x - mean) * invstd + bias [+ z]),
 *             invstd = 1 / sqrt(var + epsilon), the batch's biased variance
 *             in training, the estimated one in inference;
 *   training: runningMean = f * mean + (1 - f) * runningMean, runningVar
 *             likewise with the unbiased variance (m / (m - 1), m the
 *             elements per statistic); saveMean = mean, saveInvVariance =
 *             invstd;
 *   backward: xhat = (x - mean) * invstd, g = dy (Ex with ReLU: 0 where
 *             y <= 0), dBias = sum(g), dScale = sum(g * xhat), dx = scale *
 *             invstd * (g - mean(g) - xhat * mean(g * xhat)); with the add,
 *             dz = g.
 *
 * The emulator needs no workspace and no reserve space: their sizes are 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dnn.h"

/* The tensors one call touches; data slots have x's dims, parameter slots
 * the [1, C, ...] parameter descriptor's. */
enum {
    S_X, S_Y, S_Z, S_DY, S_DX, S_DZ, /* data */
    S_SCALE, S_BIAS, S_MEAN, S_VAR, S_SAVE_MEAN, S_SAVE_INV, S_DSCALE, S_DBIAS, /* FLOAT */
    S_N
};

static const char *const SLOT_NAME[S_N] = {
    "x", "y", "z", "dy", "dx", "dz", "bnScale", "bnBias", "mean", "variance",
    "savedMean", "savedInvVariance", "dBnScale", "dBnBias" };

enum bn_kind { BN_TRAIN, BN_INFER, BN_BWD };

/* One call, recorded whole on the stream: host scalars by value, device
 * pointers (NULL: not given) translated only when it runs. In training
 * S_MEAN / S_VAR are the running statistics, in inference the estimated
 * ones; backward reads S_SAVE_MEAN / S_SAVE_INV. */
struct bn_op {
    const char *api;
    enum bn_kind kind;
    cudnnBatchNormOps_t ops;
    float alpha, beta, alpha_p, beta_p; /* _p: backward's parameter gradients */
    double eps, factor;
    const void *dev[S_N];
    struct dnn_tensor t[S_N];
};

/* ---- geometry ---------------------------------------------------------------------- */

static int mode_valid(cudnnBatchNormMode_t m)
{
    return m == CUDNN_BATCHNORM_PER_ACTIVATION || m == CUDNN_BATCHNORM_SPATIAL ||
           m == CUDNN_BATCHNORM_SPATIAL_PERSISTENT;
}

static int ops_valid(cudnnBatchNormOps_t o)
{
    return o == CUDNN_BATCHNORM_OPS_BN || o == CUDNN_BATCHNORM_OPS_BN_ACTIVATION ||
           o == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION;
}

/* The parameter dims cuDNN derives from x's: [1, C, 1...] per channel,
 * [1, C, spatial...] per activation. */
static void param_dims(const struct dnn_tensor *x, cudnnBatchNormMode_t mode, int64_t *dim)
{
    for (int i = 0; i < x->nd; i++)
        dim[i] = i == 0 ? 1 : i == 1 || mode == CUDNN_BATCHNORM_PER_ACTIVATION ? x->dim[i] : 1;
}

/* BAD_PARAM, as cuDNN lists it, for a mode out of range, x not 4-d or 5-d,
 * or a parameter descriptor without the mode's dims. */
static cudnnStatus_t check_geometry(cudnnBatchNormMode_t mode, const struct dnn_tensor *x,
                                    const struct dnn_tensor *p)
{
    if (!mode_valid(mode) || x->nd < 4 || x->nd > 5 || p->nd != x->nd)
        return CUDNN_STATUS_BAD_PARAM;
    int64_t want[CUDNN_DIM_MAX];
    param_dims(x, mode, want);
    for (int i = 0; i < x->nd; i++)
        if (p->dim[i] != want[i])
            return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

/* Another data tensor (y, z, dy, dx, dz) must match x in dims and type;
 * its strides are its own. */
static cudnnStatus_t check_like(const struct dnn_tensor *x, cudnnTensorDescriptor_t d)
{
    if (!dnn_tensor_ok(d) || d->t.nd != x->nd || d->t.type != x->type)
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < x->nd; i++)
        if (d->t.dim[i] != x->dim[i])
            return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

/* The data configurations cuDNN lists that the emulator computes:
 * HALF, BFLOAT16 or FLOAT data with FLOAT parameters. */
static cudnnStatus_t check_types(const struct dnn_tensor *x, const struct dnn_tensor *p)
{
    return dnn_type_computable(x->type) && p->type == CUDNN_DATA_FLOAT
               ? CUDNN_STATUS_SUCCESS
               : CUDNN_STATUS_NOT_SUPPORTED;
}

/* The Ex forms' activation: none for OPS_BN (the descriptor is then not
 * read), else a set descriptor (BAD_PARAM) of mode RELU (NOT_SUPPORTED),
 * the only activation cuDNN fuses into batch normalization. */
static cudnnStatus_t check_activation(cudnnBatchNormOps_t ops, cudnnActivationDescriptor_t act)
{
    if (!ops_valid(ops))
        return CUDNN_STATUS_BAD_PARAM;
    if (ops == CUDNN_BATCHNORM_OPS_BN)
        return CUDNN_STATUS_SUCCESS;
    if (!dnn_act_ok(act))
        return CUDNN_STATUS_BAD_PARAM;
    return act->mode == CUDNN_ACTIVATION_RELU ? CUDNN_STATUS_SUCCESS
                                              : CUDNN_STATUS_NOT_SUPPORTED;
}

/* Rejects NaN as well as values below the minimum. */
static int eps_ok(double eps)
{
    return eps >= CUDNN_BN_MIN_EPSILON;
}

/* The statistic an element of x belongs to: its parameter's index in
 * row-major order of the parameter dims (dim 0 is 1). */
static int64_t slot_of(const struct dnn_tensor *p, const int64_t *xi)
{
    int64_t s = 0;
    for (int i = 1; i < p->nd; i++)
        s = s * p->dim[i] + (p->dim[i] == 1 ? 0 : xi[i]);
    return s;
}

/* Offset of the parameter element an element of x uses. */
static int64_t param_off(const struct dnn_tensor *p, const int64_t *xi)
{
    int64_t pi[CUDNN_DIM_MAX] = { 0 };
    for (int i = 1; i < p->nd; i++)
        pi[i] = p->dim[i] == 1 ? 0 : xi[i];
    return dnn_offset(p, pi);
}

/* ---- compute ----------------------------------------------------------------------- */

static float load_p(void *const *h, int slot, const struct bn_op *o, const int64_t *xi)
{
    return dnn_load(h[slot], CUDNN_DATA_FLOAT, param_off(&o->t[slot], xi));
}

static float load_x(void *const *h, int slot, const struct bn_op *o, const int64_t *xi)
{
    return dnn_load(h[slot], o->t[slot].type, dnn_offset(&o->t[slot], xi));
}

/* Mean, biased variance and (uvar non-NULL) unbiased variance of each of
 * the ns statistics: two passes summing in double, each result rounded once
 * to float. One element per statistic has no unbiased variance: NaN.
 * 0 when host memory runs out. */
static int batch_stats(const struct bn_op *o, void *const *h, int64_t ns, float *mean, float *var,
                       float *uvar)
{
    const struct dnn_tensor *x = &o->t[S_X], *p = &o->t[S_SCALE];
    int64_t m = dnn_elems(x) / ns, xi[CUDNN_DIM_MAX] = { 0 };
    double *mu = calloc((size_t)ns * 2, sizeof *mu);
    if (!mu)
        return 0;
    double *m2 = mu + ns;
    do
        mu[slot_of(p, xi)] += load_x(h, S_X, o, xi);
    while (dnn_next(x, xi, 0));
    for (int64_t s = 0; s < ns; s++)
        mu[s] /= (double)m;
    do {
        double d = load_x(h, S_X, o, xi) - mu[slot_of(p, xi)];
        m2[slot_of(p, xi)] += d * d;
    } while (dnn_next(x, xi, 0));
    for (int64_t s = 0; s < ns; s++) {
        mean[s] = (float)mu[s];
        var[s] = (float)(m2[s] / (double)m);
        if (uvar)
            uvar[s] = m > 1 ? (float)(m2[s] / (double)(m - 1)) : NAN;
    }
    free(mu);
    return 1;
}

/* A negative variance (inference's estimate may be one) has no square
 * root: NaN, the GPU's positive canonical one rather than x86's negative
 * default NaN, so outputs carry the sign of NaN a GPU gives. */
static float inv_std(float var, double eps)
{
    float v = var + (float)eps;
    return v >= 0.0f ? 1.0f / sqrtf(v) : NAN;
}

/* y = act(scale * xhat + bias [+ z]), blended into y; ReLU keeps NaN
 * (NaN < 0 is false). */
static void bn_output(const struct bn_op *o, void *const *h, const float *mean,
                      const float *invstd)
{
    const struct dnn_tensor *x = &o->t[S_X], *p = &o->t[S_SCALE], *y = &o->t[S_Y];
    int64_t xi[CUDNN_DIM_MAX] = { 0 };
    do {
        int64_t s = slot_of(p, xi);
        float xhat = (load_x(h, S_X, o, xi) - mean[s]) * invstd[s];
        float v = load_p(h, S_SCALE, o, xi) * xhat + load_p(h, S_BIAS, o, xi);
        if (o->ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION)
            v += load_x(h, S_Z, o, xi);
        if (o->ops != CUDNN_BATCHNORM_OPS_BN && v < 0.0f)
            v = 0.0f;
        dnn_blend(h[S_Y], y->type, dnn_offset(y, xi), 0, o->alpha, o->beta, v);
    } while (dnn_next(x, xi, 0));
}

/* A FLOAT parameter-shaped tensor's element at parameter index pi. */
static void store_p(void *const *h, int slot, const struct bn_op *o, const int64_t *pi, float v)
{
    dnn_store(h[slot], CUDNN_DATA_FLOAT, dnn_offset(&o->t[slot], pi), v);
}

static float load_pi(void *const *h, int slot, const struct bn_op *o, const int64_t *pi)
{
    return dnn_load(h[slot], CUDNN_DATA_FLOAT, dnn_offset(&o->t[slot], pi));
}

/* Running averages and the saved statistics, then y. invstd first holds
 * the biased variances. */
static int bn_train(const struct bn_op *o, void *const *h, int64_t ns, float *mean, float *invstd)
{
    float *uvar = malloc((size_t)ns * sizeof *uvar);
    if (!uvar || !batch_stats(o, h, ns, mean, invstd, uvar)) {
        free(uvar);
        return 0;
    }
    float f = (float)o->factor;
    const struct dnn_tensor *p = &o->t[S_SCALE];
    int64_t pi[CUDNN_DIM_MAX] = { 0 }, s = 0;
    do {
        invstd[s] = inv_std(invstd[s], o->eps);
        if (h[S_MEAN]) {
            store_p(h, S_MEAN, o, pi, f * mean[s] + (1.0f - f) * load_pi(h, S_MEAN, o, pi));
            store_p(h, S_VAR, o, pi, f * uvar[s] + (1.0f - f) * load_pi(h, S_VAR, o, pi));
        }
        if (h[S_SAVE_MEAN]) {
            store_p(h, S_SAVE_MEAN, o, pi, mean[s]);
            store_p(h, S_SAVE_INV, o, pi, invstd[s]);
        }
        s++;
    } while (dnn_next(p, pi, 0));
    free(uvar);
    bn_output(o, h, mean, invstd);
    return 1;
}

static void bn_infer(const struct bn_op *o, void *const *h, float *mean, float *invstd)
{
    const struct dnn_tensor *p = &o->t[S_SCALE];
    int64_t pi[CUDNN_DIM_MAX] = { 0 }, s = 0;
    do {
        mean[s] = load_pi(h, S_MEAN, o, pi);
        invstd[s] = inv_std(load_pi(h, S_VAR, o, pi), o->eps);
        s++;
    } while (dnn_next(p, pi, 0));
    bn_output(o, h, mean, invstd);
}

/* The gradient reaching the normalization: dy, through the ReLU's backward
 * (0 where the forward output y is <= 0) when the Ex form fused one. */
static float grad_in(const struct bn_op *o, void *const *h, const int64_t *xi)
{
    float g = load_x(h, S_DY, o, xi);
    if (o->ops != CUDNN_BATCHNORM_OPS_BN && load_x(h, S_Y, o, xi) <= 0.0f)
        g = 0.0f;
    return g;
}

static int bn_backward(const struct bn_op *o, void *const *h, int64_t ns, float *mean,
                       float *invstd)
{
    const struct dnn_tensor *x = &o->t[S_X], *p = &o->t[S_SCALE];
    int64_t m = dnn_elems(x) / ns, pi[CUDNN_DIM_MAX] = { 0 }, xi[CUDNN_DIM_MAX] = { 0 }, s = 0;
    if (h[S_SAVE_MEAN]) {
        do {
            mean[s] = load_pi(h, S_SAVE_MEAN, o, pi);
            invstd[s] = load_pi(h, S_SAVE_INV, o, pi);
            s++;
        } while (dnn_next(p, pi, 0));
    } else {
        if (!batch_stats(o, h, ns, mean, invstd, NULL))
            return 0;
        for (s = 0; s < ns; s++)
            invstd[s] = inv_std(invstd[s], o->eps);
    }
    double *sum_g = calloc((size_t)ns * 2, sizeof *sum_g);
    if (!sum_g)
        return 0;
    double *sum_gx = sum_g + ns;
    do {
        s = slot_of(p, xi);
        float g = grad_in(o, h, xi), xhat = (load_x(h, S_X, o, xi) - mean[s]) * invstd[s];
        sum_g[s] += g;
        sum_gx[s] += (double)g * xhat;
    } while (dnn_next(x, xi, 0));
    s = 0;
    do {
        dnn_blend(h[S_DBIAS], CUDNN_DATA_FLOAT, dnn_offset(&o->t[S_DBIAS], pi), 0, o->alpha_p,
                  o->beta_p, (float)sum_g[s]);
        dnn_blend(h[S_DSCALE], CUDNN_DATA_FLOAT, dnn_offset(&o->t[S_DSCALE], pi), 0, o->alpha_p,
                  o->beta_p, (float)sum_gx[s]);
        s++;
    } while (dnn_next(p, pi, 0));
    do {
        s = slot_of(p, xi);
        float g = grad_in(o, h, xi), xhat = (load_x(h, S_X, o, xi) - mean[s]) * invstd[s];
        float mg = (float)(sum_g[s] / (double)m), mgx = (float)(sum_gx[s] / (double)m);
        float dx = load_p(h, S_SCALE, o, xi) * invstd[s] * (g - mg - xhat * mgx);
        if (o->ops == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION)
            dnn_store(h[S_DZ], o->t[S_DZ].type, dnn_offset(&o->t[S_DZ], xi), g);
        dnn_blend(h[S_DX], o->t[S_DX].type, dnn_offset(&o->t[S_DX], xi), 0, o->alpha, o->beta,
                  dx);
    } while (dnn_next(x, xi, 0));
    free(sum_g);
    return 1;
}

static CUresult run_bn(void *arg)
{
    const struct bn_op *o = arg;
    void *h[S_N] = { 0 };
    for (int i = 0; i < S_N; i++)
        if (o->dev[i] && !(h[i] = dnn_host(o->api, SLOT_NAME[i], o->dev[i], &o->t[i])))
            return CUDA_ERROR_ILLEGAL_ADDRESS;
    if (emu_null_compute())
        return CUDA_SUCCESS;
    int64_t ns = dnn_elems(&o->t[S_SCALE]);
    float *mean = malloc((size_t)ns * 2 * sizeof *mean);
    if (!mean)
        return CUDA_ERROR_OUT_OF_MEMORY;
    float *invstd = mean + ns;
    int ok = 1;
    if (o->kind == BN_TRAIN)
        ok = bn_train(o, h, ns, mean, invstd);
    else if (o->kind == BN_INFER)
        bn_infer(o, h, mean, invstd);
    else
        ok = bn_backward(o, h, ns, mean, invstd);
    free(mean);
    return ok ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

static cudnnStatus_t launch(cudnnHandle_t handle, struct bn_op *o, cudnnBatchNormMode_t mode)
{
    if (emu_trace()) {
        char bx[96], bp[96];
        fprintf(stderr, "emu: %s mode=%d ops=%d x=%s param=%s data=%s\n", o->api, (int)mode,
                (int)o->ops, dnn_dims(&o->t[S_X], bx, sizeof bx),
                dnn_dims(&o->t[S_SCALE], bp, sizeof bp), dnn_type_name(o->t[S_X].type));
    }
    return dnn_launch(handle, run_bn, o, sizeof *o);
}

/* Gives slot i its pointer and descriptor (a data slot takes its own
 * descriptor, already checked to match x; a parameter slot the shared one). */
static void bind(struct bn_op *o, int i, const void *ptr, cudnnTensorDescriptor_t d)
{
    o->dev[i] = ptr;
    o->t[i] = d->t;
}

/* ---- descriptors and sizes ----------------------------------------------------------- */

/* [1, C, 1...] or [1, C, spatial...], packed; FLOAT for 16-bit data, the
 * data's own type otherwise (cuDNN documents FLOAT for HALF; BFLOAT16,
 * whose only configuration has FLOAT parameters, is treated alike). */
EMU_API cudnnStatus_t cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derivedBnDesc,
                                                    const cudnnTensorDescriptor_t xDesc,
                                                    cudnnBatchNormMode_t mode)
{
    if (!derivedBnDesc || derivedBnDesc->magic != DNN_TENSOR_MAGIC || !dnn_tensor_ok(xDesc) ||
        !mode_valid(mode) || xDesc->t.nd < 4 || xDesc->t.nd > 5)
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *x = &xDesc->t;
    struct dnn_tensor p = { .type = x->type, .nd = x->nd };
    if (x->type == CUDNN_DATA_HALF || x->type == CUDNN_DATA_BFLOAT16)
        p.type = CUDNN_DATA_FLOAT;
    param_dims(x, mode, p.dim);
    dnn_pack_strides(&p, CUDNN_TENSOR_NCHW);
    derivedBnDesc->t = p;
    derivedBnDesc->set = 1;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps,
    const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t zDesc,
    const cudnnTensorDescriptor_t yDesc, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc,
    const cudnnActivationDescriptor_t activationDesc, size_t *sizeInBytes)
{
    if (!dnn_valid(handle) || !dnn_tensor_ok(xDesc) || !dnn_tensor_ok(bnScaleBiasMeanVarDesc) ||
        !sizeInBytes)
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *x = &xDesc->t;
    DNN_TRY(check_geometry(mode, x, &bnScaleBiasMeanVarDesc->t));
    DNN_TRY(check_like(x, yDesc));
    if (bnOps == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION)
        DNN_TRY(check_like(x, zDesc));
    DNN_TRY(check_activation(bnOps, activationDesc));
    *sizeInBytes = 0;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetBatchNormalizationBackwardExWorkspaceSize(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps,
    const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t yDesc,
    const cudnnTensorDescriptor_t dyDesc, const cudnnTensorDescriptor_t dzDesc,
    const cudnnTensorDescriptor_t dxDesc, const cudnnTensorDescriptor_t dBnScaleBiasDesc,
    const cudnnActivationDescriptor_t activationDesc, size_t *sizeInBytes)
{
    if (!dnn_valid(handle) || !dnn_tensor_ok(xDesc) || !dnn_tensor_ok(dBnScaleBiasDesc) ||
        !sizeInBytes)
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *x = &xDesc->t;
    DNN_TRY(check_geometry(mode, x, &dBnScaleBiasDesc->t));
    DNN_TRY(check_like(x, dyDesc));
    DNN_TRY(check_like(x, dxDesc));
    if (bnOps != CUDNN_BATCHNORM_OPS_BN)
        DNN_TRY(check_like(x, yDesc));
    if (bnOps == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION)
        DNN_TRY(check_like(x, dzDesc));
    DNN_TRY(check_activation(bnOps, activationDesc));
    *sizeInBytes = 0;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetBatchNormalizationTrainingExReserveSpaceSize(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps,
    const cudnnActivationDescriptor_t activationDesc, const cudnnTensorDescriptor_t xDesc,
    size_t *sizeInBytes)
{
    if (!dnn_valid(handle) || !mode_valid(mode) || !dnn_tensor_ok(xDesc) || !sizeInBytes ||
        xDesc->t.nd < 4 || xDesc->t.nd > 5)
        return CUDNN_STATUS_BAD_PARAM;
    DNN_TRY(check_activation(bnOps, activationDesc));
    *sizeInBytes = 0;
    return CUDNN_STATUS_SUCCESS;
}

/* ---- forward ------------------------------------------------------------------------- */

/* Everything cudnnBatchNormalizationForwardTraining(Ex) checks: BAD_PARAM
 * for a NULL handle, descriptor or required pointer, exactly one of a pair
 * of optional outputs NULL, a bad epsilon, a shape or type mismatch; then
 * NOT_SUPPORTED for an activation other than RELU or types the emulator
 * does not compute. z is read only with OPS_BN_ADD_ACTIVATION, the
 * activation only with an OPS_BN_*ACTIVATION. */
static cudnnStatus_t forward_training(const char *api, cudnnHandle_t handle,
    cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps, const void *alpha, const void *beta,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t zDesc,
    const void *z, const cudnnTensorDescriptor_t yDesc, void *y,
    const cudnnTensorDescriptor_t pDesc, const void *bnScale, const void *bnBias,
    double factor, void *runningMean, void *runningVar, double epsilon, void *saveMean,
    void *saveInvVariance, cudnnActivationDescriptor_t activationDesc)
{
    if (!dnn_valid(handle) || !ops_valid(bnOps) || !dnn_tensor_ok(xDesc) ||
        !dnn_tensor_ok(pDesc) || !alpha || !beta || !x || !y || !bnScale || !bnBias ||
        !runningMean != !runningVar ||
        !saveMean != !saveInvVariance || !eps_ok(epsilon))
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *xt = &xDesc->t;
    DNN_TRY(check_geometry(mode, xt, &pDesc->t));
    DNN_TRY(check_like(xt, yDesc));
    if (bnOps == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION) {
        DNN_TRY(check_like(xt, zDesc));
        if (!z)
            return CUDNN_STATUS_BAD_PARAM;
    }
    DNN_TRY(check_activation(bnOps, activationDesc));
    DNN_TRY(check_types(xt, &pDesc->t));
    struct bn_op o = { .api = api, .kind = BN_TRAIN, .ops = bnOps,
                       .alpha = *(const float *)alpha, .beta = *(const float *)beta,
                       .eps = epsilon, .factor = factor };
    bind(&o, S_X, x, xDesc);
    bind(&o, S_Y, y, yDesc);
    if (bnOps == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION)
        bind(&o, S_Z, z, zDesc);
    const void *params[] = { bnScale, bnBias, runningMean, runningVar, saveMean,
                             saveInvVariance }; /* S_SCALE .. S_SAVE_INV */
    for (int i = 0; i < (int)(sizeof params / sizeof params[0]); i++)
        bind(&o, S_SCALE + i, params[i], pDesc);
    return launch(handle, &o, mode);
}

EMU_API cudnnStatus_t cudnnBatchNormalizationForwardTraining(cudnnHandle_t handle,
    cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc,
    void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
    const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
    void *resultRunningVariance, double epsilon, void *resultSaveMean,
    void *resultSaveInvVariance)
{
    return forward_training("cudnnBatchNormalizationForwardTraining", handle, mode,
                            CUDNN_BATCHNORM_OPS_BN, alpha, beta, xDesc, x, NULL, NULL, yDesc, y,
                            bnScaleBiasMeanVarDesc, bnScale, bnBias, exponentialAverageFactor,
                            resultRunningMean, resultRunningVariance, epsilon, resultSaveMean,
                            resultSaveInvVariance, NULL);
}

/* The workspace and reserve space are not used (their sizes are 0). */
EMU_API cudnnStatus_t cudnnBatchNormalizationForwardTrainingEx(cudnnHandle_t handle,
    cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps, const void *alpha, const void *beta,
    const cudnnTensorDescriptor_t xDesc, const void *xData, const cudnnTensorDescriptor_t zDesc,
    const void *zData, const cudnnTensorDescriptor_t yDesc, void *yData,
    const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
    const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
    void *resultRunningVariance, double epsilon, void *resultSaveMean,
    void *resultSaveInvVariance, cudnnActivationDescriptor_t activationDesc, void *workspace,
    size_t workSpaceSizeInBytes, void *reserveSpace, size_t reserveSpaceSizeInBytes)
{
    (void)workspace, (void)workSpaceSizeInBytes, (void)reserveSpace, (void)reserveSpaceSizeInBytes;
    return forward_training("cudnnBatchNormalizationForwardTrainingEx", handle, mode, bnOps,
                            alpha, beta, xDesc, xData, zDesc, zData, yDesc, yData,
                            bnScaleBiasMeanVarDesc, bnScale, bnBias, exponentialAverageFactor,
                            resultRunningMean, resultRunningVariance, epsilon, resultSaveMean,
                            resultSaveInvVariance, activationDesc);
}

/* y = scale * (x - estimatedMean) / sqrt(estimatedVariance + epsilon) +
 * bias, blended; a negative variance is used as given (NaN out). */
EMU_API cudnnStatus_t cudnnBatchNormalizationForwardInference(cudnnHandle_t handle,
    cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc,
    void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
    const void *bnBias, const void *estimatedMean, const void *estimatedVariance,
    double epsilon)
{
    cudnnTensorDescriptor_t pDesc = bnScaleBiasMeanVarDesc;
    if (!dnn_valid(handle) || !dnn_tensor_ok(xDesc) || !dnn_tensor_ok(pDesc) || !alpha ||
        !beta || !x || !y || !bnScale || !bnBias || !estimatedMean || !estimatedVariance ||
        !eps_ok(epsilon))
        return CUDNN_STATUS_BAD_PARAM;
    DNN_TRY(check_geometry(mode, &xDesc->t, &pDesc->t));
    DNN_TRY(check_like(&xDesc->t, yDesc));
    DNN_TRY(check_types(&xDesc->t, &pDesc->t));
    struct bn_op o = { .api = "cudnnBatchNormalizationForwardInference", .kind = BN_INFER,
                       .ops = CUDNN_BATCHNORM_OPS_BN, .alpha = *(const float *)alpha,
                       .beta = *(const float *)beta, .eps = epsilon };
    bind(&o, S_X, x, xDesc);
    bind(&o, S_Y, y, yDesc);
    const void *params[] = { bnScale, bnBias, estimatedMean, estimatedVariance }; /* .. S_VAR */
    for (int i = 0; i < (int)(sizeof params / sizeof params[0]); i++)
        bind(&o, S_SCALE + i, params[i], pDesc);
    return launch(handle, &o, mode);
}

/* ---- backward ------------------------------------------------------------------------ */

/* Everything cudnnBatchNormalizationBackward(Ex) checks, in the order
 * forward_training does. y (the forward output the ReLU's backward masks
 * with) and bnBias are needed with an activation, dz with the add. */
static cudnnStatus_t backward(const char *api, cudnnHandle_t handle, cudnnBatchNormMode_t mode,
    cudnnBatchNormOps_t bnOps, const void *alphaDataDiff, const void *betaDataDiff,
    const void *alphaParamDiff, const void *betaParamDiff, const cudnnTensorDescriptor_t xDesc,
    const void *x, const cudnnTensorDescriptor_t yDesc, const void *y,
    const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnTensorDescriptor_t dzDesc,
    void *dz, const cudnnTensorDescriptor_t dxDesc, void *dx,
    const cudnnTensorDescriptor_t pDesc, const void *bnScale, const void *bnBias,
    void *dBnScale, void *dBnBias, double epsilon, const void *savedMean,
    const void *savedInvVariance, cudnnActivationDescriptor_t activationDesc)
{
    if (!dnn_valid(handle) || !ops_valid(bnOps) || !dnn_tensor_ok(xDesc) ||
        !dnn_tensor_ok(pDesc) || !alphaDataDiff || !betaDataDiff || !alphaParamDiff ||
        !betaParamDiff || !x || !dy || !dx || !bnScale || !dBnScale || !dBnBias ||
        !savedMean != !savedInvVariance || !eps_ok(epsilon))
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *xt = &xDesc->t;
    DNN_TRY(check_geometry(mode, xt, &pDesc->t));
    DNN_TRY(check_like(xt, dyDesc));
    DNN_TRY(check_like(xt, dxDesc));
    if (bnOps != CUDNN_BATCHNORM_OPS_BN) {
        DNN_TRY(check_like(xt, yDesc));
        if (!y || !bnBias)
            return CUDNN_STATUS_BAD_PARAM;
    }
    if (bnOps == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION) {
        DNN_TRY(check_like(xt, dzDesc));
        if (!dz)
            return CUDNN_STATUS_BAD_PARAM;
    }
    DNN_TRY(check_activation(bnOps, activationDesc));
    DNN_TRY(check_types(xt, &pDesc->t));
    struct bn_op o = { .api = api, .kind = BN_BWD, .ops = bnOps,
                       .alpha = *(const float *)alphaDataDiff,
                       .beta = *(const float *)betaDataDiff,
                       .alpha_p = *(const float *)alphaParamDiff,
                       .beta_p = *(const float *)betaParamDiff, .eps = epsilon };
    bind(&o, S_X, x, xDesc);
    bind(&o, S_DY, dy, dyDesc);
    bind(&o, S_DX, dx, dxDesc);
    if (bnOps != CUDNN_BATCHNORM_OPS_BN)
        bind(&o, S_Y, y, yDesc);
    if (bnOps == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION)
        bind(&o, S_DZ, dz, dzDesc);
    bind(&o, S_SCALE, bnScale, pDesc);
    bind(&o, S_SAVE_MEAN, savedMean, pDesc);
    bind(&o, S_SAVE_INV, savedInvVariance, pDesc);
    bind(&o, S_DSCALE, dBnScale, pDesc);
    bind(&o, S_DBIAS, dBnBias, pDesc);
    return launch(handle, &o, mode);
}

EMU_API cudnnStatus_t cudnnBatchNormalizationBackward(cudnnHandle_t handle,
    cudnnBatchNormMode_t mode, const void *alphaDataDiff, const void *betaDataDiff,
    const void *alphaParamDiff, const void *betaParamDiff, const cudnnTensorDescriptor_t xDesc,
    const void *x, const cudnnTensorDescriptor_t dyDesc, const void *dy,
    const cudnnTensorDescriptor_t dxDesc, void *dx, const cudnnTensorDescriptor_t dBnScaleBiasDesc,
    const void *bnScale, void *dBnScaleResult, void *dBnBiasResult, double epsilon,
    const void *savedMean, const void *savedInvVariance)
{
    return backward("cudnnBatchNormalizationBackward", handle, mode, CUDNN_BATCHNORM_OPS_BN,
                    alphaDataDiff, betaDataDiff, alphaParamDiff, betaParamDiff, xDesc, x, NULL,
                    NULL, dyDesc, dy, NULL, NULL, dxDesc, dx, dBnScaleBiasDesc, bnScale, NULL,
                    dBnScaleResult, dBnBiasResult, epsilon, savedMean, savedInvVariance, NULL);
}

EMU_API cudnnStatus_t cudnnBatchNormalizationBackwardEx(cudnnHandle_t handle,
    cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps, const void *alphaDataDiff,
    const void *betaDataDiff, const void *alphaParamDiff, const void *betaParamDiff,
    const cudnnTensorDescriptor_t xDesc, const void *xData, const cudnnTensorDescriptor_t yDesc,
    const void *yData, const cudnnTensorDescriptor_t dyDesc, const void *dyData,
    const cudnnTensorDescriptor_t dzDesc, void *dzData, const cudnnTensorDescriptor_t dxDesc,
    void *dxData, const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void *bnScaleData,
    const void *bnBiasData, void *dBnScaleData, void *dBnBiasData, double epsilon,
    const void *savedMean, const void *savedInvVariance,
    cudnnActivationDescriptor_t activationDesc, void *workSpace, size_t workSpaceSizeInBytes,
    void *reserveSpace, size_t reserveSpaceSizeInBytes)
{
    (void)workSpace, (void)workSpaceSizeInBytes, (void)reserveSpace, (void)reserveSpaceSizeInBytes;
    return backward("cudnnBatchNormalizationBackwardEx", handle, mode, bnOps, alphaDataDiff,
                    betaDataDiff, alphaParamDiff, betaParamDiff, xDesc, xData, yDesc, yData,
                    dyDesc, dyData, dzDesc, dzData, dxDesc, dxData, dBnScaleBiasDesc,
                    bnScaleData, bnBiasData, dBnScaleData, dBnBiasData, epsilon, savedMean,
                    savedInvVariance, activationDesc);
}
