/* bn_app: an ordinary cuDNN program (it knows nothing of safehalf) making
 * one batch-normalization call:
 *
 *   train     cudnnBatchNormalizationForwardTraining, alpha 1, beta BETA,
 *             exponential average factor 1, the running mean starting at
 *             0 and the running variance at 1, saving the batch mean and
 *             inverse standard deviation
 *   train-ex  cudnnBatchNormalizationForwardTrainingEx as PyTorch calls it
 *             (aten/src/ATen/native/cudnn/BatchNorm.cpp): CUDNN_BATCHNORM_OPS_BN,
 *             no z and no activation, a workspace and a reserve space sized
 *             by cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize
 *             and cudnnGetBatchNormalizationTrainingExReserveSpaceSize and
 *             cudaMalloc'ed; factor and buffers as train. With --z:
 *             OPS_BN_ADD_ACTIVATION, y = relu(bn(x) + z), a RELU activation
 *             descriptor
 *   infer     cudnnBatchNormalizationForwardInference with the estimated
 *             mean M and variance VAR
 *   bwd       cudnnBatchNormalizationBackward, alphas 1, betaDataDiff BETA,
 *             betaParamDiff 0, passing the saved mean and inverse standard
 *             deviation the forward pass would have saved (computed here on
 *             the host: for the default x, 0 and 1 / sqrt(V * V + eps))
 *   bwd-ex    cudnnBatchNormalizationBackwardEx as PyTorch calls it
 *             (OPS_BN; y, dz, bnBias and the activation NULL; a workspace
 *             from cudnnGetBatchNormalizationBackwardExWorkspaceSize, a
 *             reserve space of cudnnGetBatchNormalizationTrainingExReserveSpaceSize
 *             bytes), the saved statistics and betas as bwd. With --z:
 *             OPS_BN_ADD_ACTIVATION with a RELU descriptor, y computed here
 *             as the forward would have (relu(bn(x) + Z), stored in the data
 *             type), dz an output
 *
 *   bn_app [--op train|train-ex|infer|bwd|bwd-ex] [--n N] [--c C] [--hw HW]
 *          [--value V] [--scale G] [--bias B] [--mean M] [--var VAR] [--dy D]
 *          [--z Z] [--beta BETA] [--type HALF|BFLOAT16|FLOAT]
 *          [--mode spatial|persistent|per-activation] [--eps E] [--no-device]
 *
 * Defaults: train, N 2, C 2, HW 4, V 1, G 1, B 0, M 0, VAR 1, D 1, no z,
 * BETA 0, HALF, eps 1e-5; the mode CUDNN_BATCHNORM_SPATIAL, but
 * SPATIAL_PERSISTENT for train-ex and bwd-ex, as PyTorch picks for
 * training.
 *
 * Tensors: x (and y, z, dy, dx, dz) [N, C, 1, HW], NCHW packed, of --type;
 * within each channel the element at position p = n * HW + w is +V for
 * even p and -V for odd p (per channel: batch mean 0, biased variance
 * V^2). Scale, bias, mean and variance are FLOAT [1, C, 1, 1]
 * (per-activation: [1, C, 1, HW]), every element G, B, M, VAR. z is every
 * element Z. dy is D at p = 0 of every channel (per-activation: at every
 * element with n = 0) and 0 elsewhere. y, dx and dz start as 0
 * everywhere, or 1 when BETA != 0, so that the blend shows.
 *
 * Output, one key=value per line: status (0; or failed=CALL and the
 * failing status, exit 1), then for the main output (y, or dx backward)
 * out0 (its first element), inf, nan (counts of infinite, of either sign,
 * and NaN elements) and maxfinite (the largest finite magnitude); for dz
 * the same four prefixed dz_; FLOAT scalars (first elements): train and
 * train-ex running_mean0, running_var0, save_mean0, save_invvar0; bwd and
 * bwd-ex dscale0, dbias0. Doubles are printed with %.17g. An unknown
 * argument exits 64.
 *
 * --no-device makes the call with a NULL handle and NULL data pointers
 * but real descriptors (no cudnnCreate, no device memory, no Ex size
 * queries), for a machine without a GPU: cuDNN answers an error, printed
 * as failed=CALL and status=N (exit 1), which a shim must hand back. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>
#include <cudnn.h>

#include "apputil.h"

static const char *OP = "train";
static const char *MODE_NAME;
static int N = 2, C = 2, HW = 4, HAS_Z, NO_DEVICE;
static double VALUE = 1, SCALE = 1, BIAS = 0, MEAN = 0, VAR = 1, DY = 1, Z = 0, BETA = 0;
static double EPS = 1e-5;
static cudnnDataType_t TYPE = CUDNN_DATA_HALF;
static cudaStream_t STREAM;

#define TRY(call)                                                                          \
    do {                                                                                   \
        int e_ = (int)(call);                                                              \
        if (e_) {                                                                          \
            fprintf(stderr, "bn_app: %s failed: %d\n", #call, e_);                         \
            printf("failed=%s\nstatus=%d\n", #call, e_);                                   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* ---- element types ------------------------------------------------------------- */

/* The data type in CUDA's words, for apputil's element helpers. */
static cudaDataType cuda_type(void)
{
    return TYPE == CUDNN_DATA_FLOAT ? CUDA_R_32F
           : TYPE == CUDNN_DATA_HALF ? CUDA_R_16F
                                     : CUDA_R_16BF;
}

static size_t type_size(void)
{
    return app_type_size(cuda_type());
}

static void put(void *h, size_t i, float v)
{
    app_put(h, cuda_type(), i, v);
}

static float get(const void *h, size_t i)
{
    return app_get(h, cuda_type(), i);
}

/* v as the data type holds it. */
static float as_type(float v)
{
    uint32_t b[1];
    put(b, 0, v);
    return get(b, 0);
}

/* ---- device data --------------------------------------------------------------- */

struct buf {
    size_t n;
    bool is_float; /* FLOAT whatever --type says */
    void *dev;
};

static struct buf dev_upload(const void *h, size_t n, bool is_float)
{
    struct buf b = { n, is_float, NULL };
    size_t bytes = n * (is_float ? sizeof(float) : type_size());
    if (NO_DEVICE)
        return b;
    TRY(cudaMalloc(&b.dev, bytes));
    TRY(cudaMemcpy(b.dev, h, bytes, cudaMemcpyHostToDevice));
    return b;
}

/* n elements of the data type, element i fn(i). */
static struct buf data_of(size_t n, float (*fn)(size_t))
{
    void *h = malloc(n * type_size());
    if (!h)
        exit(1);
    for (size_t i = 0; i < n; i++)
        put(h, i, fn(i));
    struct buf b = dev_upload(h, n, false);
    free(h);
    return b;
}

/* n FLOAT elements, every one v. */
static struct buf float_fill(size_t n, double v)
{
    float *h = malloc(n * sizeof *h);
    if (!h)
        exit(1);
    for (size_t i = 0; i < n; i++)
        h[i] = (float)v;
    struct buf b = dev_upload(h, n, true);
    free(h);
    return b;
}

/* Waits for the stream and reads b back as floats. */
static float *download(struct buf b)
{
    size_t bytes = b.n * (b.is_float ? sizeof(float) : type_size());
    void *h = malloc(bytes);
    float *f = malloc(b.n * sizeof *f);
    if (!h || !f)
        exit(1);
    TRY(cudaStreamSynchronize(STREAM));
    TRY(cudaMemcpy(h, b.dev, bytes, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < b.n; i++)
        f[i] = b.is_float ? ((float *)h)[i] : get(h, i);
    free(h);
    return f;
}

/* out0, inf, nan, maxfinite of one data output, each name prefixed with pre. */
static void print_stats(const char *pre, struct buf out)
{
    float *v = download(out), maxfinite = 0;
    long inf = 0, nan = 0;
    for (size_t i = 0; i < out.n; i++) {
        if (isnan(v[i]))
            nan++;
        else if (isinf(v[i]))
            inf++;
        else if (fabsf(v[i]) > maxfinite)
            maxfinite = fabsf(v[i]);
    }
    printf("%sout0=%.17g\n%sinf=%ld\n%snan=%ld\n%smaxfinite=%.17g\n", pre, (double)v[0], pre, inf,
           pre, nan, pre, (double)maxfinite);
    free(v);
}

static void print_first(const char *key, struct buf b)
{
    float *v = download(b);
    printf("%s=%.17g\n", key, (double)v[0]);
    free(v);
}

/* ---- the layer's tensors -------------------------------------------------------- */

static cudnnBatchNormMode_t mode_of(void)
{
    bool ex = !strcmp(OP, "train-ex") || !strcmp(OP, "bwd-ex");
    if (!MODE_NAME)
        return ex ? CUDNN_BATCHNORM_SPATIAL_PERSISTENT : CUDNN_BATCHNORM_SPATIAL;
    if (!strcmp(MODE_NAME, "per-activation"))
        return CUDNN_BATCHNORM_PER_ACTIVATION;
    return strcmp(MODE_NAME, "persistent") ? CUDNN_BATCHNORM_SPATIAL
                                           : CUDNN_BATCHNORM_SPATIAL_PERSISTENT;
}

static bool per_act(void)
{
    return mode_of() == CUDNN_BATCHNORM_PER_ACTIVATION;
}

static size_t data_elems(void)
{
    return (size_t)N * C * HW;
}

static size_t param_elems(void)
{
    return (size_t)C * (per_act() ? HW : 1);
}

static cudnnTensorDescriptor_t tensor(cudnnDataType_t t, int n, int c, int h, int w)
{
    cudnnTensorDescriptor_t d;
    TRY(cudnnCreateTensorDescriptor(&d));
    TRY(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, t, n, c, h, w));
    return d;
}

/* The channel-relative position p = n * HW + w of NCHW element i. */
static size_t position(size_t i)
{
    size_t w = i % (size_t)HW, n = i / ((size_t)C * HW);
    return n * (size_t)HW + w;
}

static float x_at(size_t i)
{
    return position(i) % 2 == 0 ? (float)VALUE : (float)-VALUE;
}

static float dy_at(size_t i)
{
    size_t p = position(i);
    bool hot = per_act() ? p < (size_t)HW : p == 0;
    return hot ? (float)DY : 0.0f;
}

static float z_at(size_t i)
{
    (void)i;
    return (float)Z;
}

/* y, dx and dz before the call: 1 makes a beta != 0 blend visible. */
static float out_at(size_t i)
{
    (void)i;
    return BETA != 0 ? 1.0f : 0.0f;
}

/* The parameter element NCHW data element i uses. */
static size_t param_of(size_t i)
{
    size_t c = i / (size_t)HW % (size_t)C;
    return per_act() ? c * (size_t)HW + i % (size_t)HW : c;
}

/* The batch mean and 1 / sqrt(biased variance + eps) of every parameter
 * element, in float as a forward pass saves them, from x as the data type
 * holds it. */
static void host_stats(float *mean, float *invstd)
{
    size_t np = param_elems(), n = data_elems(), m = n / np;
    double *sum = calloc(np * 2, sizeof *sum);
    if (!sum)
        exit(1);
    double *sq = sum + np;
    for (size_t i = 0; i < n; i++)
        sum[param_of(i)] += as_type(x_at(i));
    for (size_t i = 0; i < n; i++) {
        double d = as_type(x_at(i)) - sum[param_of(i)] / (double)m;
        sq[param_of(i)] += d * d;
    }
    for (size_t k = 0; k < np; k++) {
        mean[k] = (float)(sum[k] / (double)m);
        invstd[k] = 1.0f / sqrtf((float)(sq[k] / (double)m) + (float)EPS);
    }
    free(sum);
}

/* ---- ops ------------------------------------------------------------------------ */

struct layer {
    cudnnTensorDescriptor_t xd, pd;
    cudnnBatchNormMode_t mode;
    struct buf x, scale, bias;
};

static struct layer layer_of(void)
{
    struct layer l;
    l.mode = mode_of();
    l.xd = tensor(TYPE, N, C, 1, HW);
    l.pd = tensor(CUDNN_DATA_FLOAT, 1, C, 1, per_act() ? HW : 1);
    l.x = data_of(data_elems(), x_at);
    l.scale = float_fill(param_elems(), SCALE);
    l.bias = float_fill(param_elems(), BIAS);
    return l;
}

static cudnnActivationDescriptor_t relu(void)
{
    cudnnActivationDescriptor_t a;
    TRY(cudnnCreateActivationDescriptor(&a));
    TRY(cudnnSetActivationDescriptor(a, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    return a;
}

static void *dev_alloc(size_t bytes)
{
    void *p = NULL;
    if (!NO_DEVICE)
        TRY(cudaMalloc(&p, bytes));
    return p;
}

static void run_train(cudnnHandle_t h)
{
    struct layer l = layer_of();
    float alpha = 1, beta = (float)BETA;
    struct buf y = data_of(data_elems(), out_at);
    struct buf rmean = float_fill(param_elems(), 0), rvar = float_fill(param_elems(), 1);
    struct buf smean = float_fill(param_elems(), 0), sinv = float_fill(param_elems(), 0);
    struct buf z = { 0, false, NULL };
    if (!strcmp(OP, "train")) {
        TRY(cudnnBatchNormalizationForwardTraining(h, l.mode, &alpha, &beta, l.xd, l.x.dev, l.xd,
                                                   y.dev, l.pd, l.scale.dev, l.bias.dev, 1.0,
                                                   rmean.dev, rvar.dev, EPS, smean.dev,
                                                   sinv.dev));
    } else {
        cudnnBatchNormOps_t ops = HAS_Z ? CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION
                                        : CUDNN_BATCHNORM_OPS_BN;
        cudnnActivationDescriptor_t act = HAS_Z ? relu() : NULL;
        cudnnTensorDescriptor_t zd = HAS_Z ? l.xd : NULL;
        if (HAS_Z)
            z = data_of(data_elems(), z_at);
        size_t ws_size = 0, rs_size = 0;
        if (!NO_DEVICE) {
            TRY(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
                h, l.mode, ops, l.xd, l.xd, l.xd, l.pd, act, &ws_size));
            TRY(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, l.mode, ops, act, l.xd,
                                                                     &rs_size));
        }
        void *ws = dev_alloc(ws_size), *rs = dev_alloc(rs_size);
        TRY(cudnnBatchNormalizationForwardTrainingEx(h, l.mode, ops, &alpha, &beta, l.xd,
                                                     l.x.dev, zd, z.dev, l.xd, y.dev, l.pd,
                                                     l.scale.dev, l.bias.dev, 1.0, rmean.dev,
                                                     rvar.dev, EPS, smean.dev, sinv.dev, act, ws,
                                                     ws_size, rs, rs_size));
        if (act)
            TRY(cudnnDestroyActivationDescriptor(act));
    }
    printf("status=0\n");
    print_stats("", y);
    print_first("running_mean0", rmean);
    print_first("running_var0", rvar);
    print_first("save_mean0", smean);
    print_first("save_invvar0", sinv);
}

static void run_infer(cudnnHandle_t h)
{
    struct layer l = layer_of();
    float alpha = 1, beta = (float)BETA;
    struct buf y = data_of(data_elems(), out_at);
    struct buf mean = float_fill(param_elems(), MEAN), var = float_fill(param_elems(), VAR);
    TRY(cudnnBatchNormalizationForwardInference(h, l.mode, &alpha, &beta, l.xd, l.x.dev, l.xd,
                                                y.dev, l.pd, l.scale.dev, l.bias.dev, mean.dev,
                                                var.dev, EPS));
    printf("status=0\n");
    print_stats("", y);
}

/* The forward output bwd-ex --z hands back: relu(bn(x) + Z) in the data
 * type, computed in float from the saved statistics. */
static struct buf forward_y(const float *mean, const float *invstd)
{
    size_t n = data_elems();
    void *h = malloc(n * type_size());
    if (!h)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        size_t k = param_of(i);
        float v = (float)SCALE * ((as_type(x_at(i)) - mean[k]) * invstd[k]) + (float)BIAS +
                  as_type((float)Z);
        put(h, i, v < 0.0f ? 0.0f : v);
    }
    struct buf b = dev_upload(h, n, false);
    free(h);
    return b;
}

static void run_bwd(cudnnHandle_t h)
{
    struct layer l = layer_of();
    float one = 1, zero = 0, beta = (float)BETA;
    float *mean = malloc(param_elems() * sizeof *mean);
    float *invstd = malloc(param_elems() * sizeof *invstd);
    if (!mean || !invstd)
        exit(1);
    host_stats(mean, invstd);
    struct buf smean = dev_upload(mean, param_elems(), true);
    struct buf sinv = dev_upload(invstd, param_elems(), true);
    struct buf dy = data_of(data_elems(), dy_at), dx = data_of(data_elems(), out_at);
    struct buf dscale = float_fill(param_elems(), 0), dbias = float_fill(param_elems(), 0);
    struct buf y = { 0, false, NULL }, dz = { 0, false, NULL };
    if (!strcmp(OP, "bwd")) {
        TRY(cudnnBatchNormalizationBackward(h, l.mode, &one, &beta, &one, &zero, l.xd, l.x.dev,
                                            l.xd, dy.dev, l.xd, dx.dev, l.pd, l.scale.dev,
                                            dscale.dev, dbias.dev, EPS, smean.dev, sinv.dev));
    } else {
        cudnnBatchNormOps_t ops = HAS_Z ? CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION
                                        : CUDNN_BATCHNORM_OPS_BN;
        cudnnActivationDescriptor_t act = HAS_Z ? relu() : NULL;
        cudnnTensorDescriptor_t yd = HAS_Z ? l.xd : NULL, dzd = HAS_Z ? l.xd : NULL;
        if (HAS_Z) {
            y = forward_y(mean, invstd);
            dz = data_of(data_elems(), out_at);
        }
        size_t ws_size = 0, rs_size = 0;
        if (!NO_DEVICE) {
            TRY(cudnnGetBatchNormalizationBackwardExWorkspaceSize(
                h, l.mode, ops, l.xd, l.xd, l.xd, dzd, l.xd, l.pd, act, &ws_size));
            TRY(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, l.mode, ops, act, l.xd,
                                                                     &rs_size));
        }
        void *ws = dev_alloc(ws_size), *rs = dev_alloc(rs_size);
        TRY(cudnnBatchNormalizationBackwardEx(h, l.mode, ops, &one, &beta, &one, &zero, l.xd,
                                              l.x.dev, yd, y.dev, l.xd, dy.dev, dzd, dz.dev, l.xd,
                                              dx.dev, l.pd, l.scale.dev,
                                              HAS_Z ? l.bias.dev : NULL, dscale.dev, dbias.dev,
                                              EPS, smean.dev, sinv.dev, act, ws, ws_size, rs,
                                              rs_size));
        if (act)
            TRY(cudnnDestroyActivationDescriptor(act));
    }
    printf("status=0\n");
    print_stats("", dx);
    if (HAS_Z && dz.dev)
        print_stats("dz_", dz);
    print_first("dscale0", dscale);
    print_first("dbias0", dbias);
    free(mean);
    free(invstd);
}

/* ---- main ----------------------------------------------------------------------- */

static const struct {
    const char *name;
    void (*run)(cudnnHandle_t h);
} OPS[] = {
    { "train", run_train }, { "train-ex", run_train }, { "infer", run_infer },
    { "bwd", run_bwd }, { "bwd-ex", run_bwd },
};

static int type_arg(const char *v)
{
    if (!strcmp(v, "HALF"))
        TYPE = CUDNN_DATA_HALF;
    else if (!strcmp(v, "BFLOAT16"))
        TYPE = CUDNN_DATA_BFLOAT16;
    else if (!strcmp(v, "FLOAT"))
        TYPE = CUDNN_DATA_FLOAT;
    else
        return -1;
    return 0;
}

static int mode_arg(const char *v)
{
    if (strcmp(v, "spatial") && strcmp(v, "persistent") && strcmp(v, "per-activation"))
        return -1;
    MODE_NAME = v;
    return 0;
}

static int parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--no-device")) {
            NO_DEVICE = 1;
            continue;
        }
        int bad = i + 1 >= argc;
        if (!strcmp(a, "--op")) OP = v;
        else if (!strcmp(a, "--n")) N = atoi(v);
        else if (!strcmp(a, "--c")) C = atoi(v);
        else if (!strcmp(a, "--hw")) HW = atoi(v);
        else if (!strcmp(a, "--value")) VALUE = atof(v);
        else if (!strcmp(a, "--scale")) SCALE = atof(v);
        else if (!strcmp(a, "--bias")) BIAS = atof(v);
        else if (!strcmp(a, "--mean")) MEAN = atof(v);
        else if (!strcmp(a, "--var")) VAR = atof(v);
        else if (!strcmp(a, "--dy")) DY = atof(v);
        else if (!strcmp(a, "--z")) Z = atof(v), HAS_Z = 1;
        else if (!strcmp(a, "--beta")) BETA = atof(v);
        else if (!strcmp(a, "--eps")) EPS = atof(v);
        else if (!strcmp(a, "--type")) bad |= type_arg(v);
        else if (!strcmp(a, "--mode")) bad |= mode_arg(v);
        else bad = 1;
        if (bad) {
            fprintf(stderr, "bn_app: bad argument %s %s\n", a, v);
            return -1;
        }
        i++;
    }
    return N >= 1 && C >= 1 && HW >= 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv))
        return 64;
    void (*run)(cudnnHandle_t) = NULL;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0] && !run; i++)
        if (!strcmp(OP, OPS[i].name))
            run = OPS[i].run;
    if (!run) {
        fprintf(stderr, "bn_app: unknown op %s\n", OP);
        return 64;
    }
    if (NO_DEVICE) {
        run(NULL); /* the call fails: TRY reports it and exits */
        printf("status=0\n");
        return 0;
    }
    cudnnHandle_t h;
    TRY(cudnnCreate(&h));
    TRY(cudaStreamCreateWithFlags(&STREAM, cudaStreamNonBlocking));
    TRY(cudnnSetStream(h, STREAM));
    run(h);
    cudnnDestroy(h);
    return 0;
}
