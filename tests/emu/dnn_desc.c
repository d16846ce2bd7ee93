/* Emulated libcudnn.so.9: the legacy tensor, filter, convolution and
 * activation descriptors, and the convolution output-size helpers.
 *
 * A descriptor is usable once set; a handle that is NULL, destroyed or of
 * another kind is CUDNN_STATUS_BAD_PARAM, as are negative or zero sizes and
 * enumerants out of range. Sizes cuDNN cannot represent (more dims than
 * CUDNN_DIM_MAX, more than 2^31 - 1 elements) are NOT_SUPPORTED. */
#include <stdlib.h>

#include "dnn.h"

#define ELEMS_MAX INT32_MAX

static int format_valid(cudnnTensorFormat_t f)
{
    return f == CUDNN_TENSOR_NCHW || f == CUDNN_TENSOR_NHWC || f == CUDNN_TENSOR_NCHW_VECT_C;
}

/* ---- tensors ------------------------------------------------------------------ */

EMU_API cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *tensorDesc)
{
    if (!tensorDesc)
        return CUDNN_STATUS_BAD_PARAM;
    struct cudnnTensorStruct *d = calloc(1, sizeof *d);
    if (!d)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    d->magic = DNN_TENSOR_MAGIC;
    *tensorDesc = d;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc)
{
    if (!tensorDesc)
        return CUDNN_STATUS_SUCCESS;
    if (tensorDesc->magic != DNN_TENSOR_MAGIC)
        return CUDNN_STATUS_BAD_PARAM;
    tensorDesc->magic = 0;
    free(tensorDesc);
    return CUDNN_STATUS_SUCCESS;
}

/* Validates and stores a tensor given by dims and strides (strides NULL:
 * packed in format's order). */
static cudnnStatus_t set_tensor(cudnnTensorDescriptor_t d, cudnnDataType_t type,
                                cudnnTensorFormat_t format, int nd, const int *dim,
                                const int *stride)
{
    if (!d || d->magic != DNN_TENSOR_MAGIC || !dim || !dnn_type_valid(type) ||
        !format_valid(format) || nd < 1)
        return CUDNN_STATUS_BAD_PARAM;
    if (nd > CUDNN_DIM_MAX)
        return CUDNN_STATUS_NOT_SUPPORTED;
    /* The vectorized layout needs the vector data types, which the
     * emulator does not compute on. */
    if (format == CUDNN_TENSOR_NCHW_VECT_C)
        return CUDNN_STATUS_NOT_SUPPORTED;
    struct dnn_tensor t = { .type = type, .nd = nd };
    int64_t elems = 1;
    for (int i = 0; i < nd; i++) {
        if (dim[i] <= 0 || (stride && stride[i] <= 0))
            return CUDNN_STATUS_BAD_PARAM;
        t.dim[i] = dim[i];
        elems *= dim[i];
        if (elems > ELEMS_MAX)
            return CUDNN_STATUS_NOT_SUPPORTED;
        if (stride)
            t.stride[i] = stride[i];
    }
    if (!stride)
        dnn_pack_strides(&t, format);
    d->t = t;
    d->set = 1;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc,
    cudnnTensorFormat_t format, cudnnDataType_t dataType, int n, int c, int h, int w)
{
    int dim[4] = { n, c, h, w };
    return set_tensor(tensorDesc, dataType, format, 4, dim, NULL);
}

EMU_API cudnnStatus_t cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t tensorDesc,
    cudnnDataType_t dataType, int n, int c, int h, int w, int nStride, int cStride,
    int hStride, int wStride)
{
    int dim[4] = { n, c, h, w }, stride[4] = { nStride, cStride, hStride, wStride };
    return set_tensor(tensorDesc, dataType, CUDNN_TENSOR_NCHW, 4, dim, stride);
}

/* Fewer than 3 dims is BAD_PARAM: cuDNN reserves 1 and 2 dims for no use
 * and tells callers to pad to at least 3 (4 for convolutions). */
EMU_API cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t tensorDesc,
    cudnnDataType_t dataType, int nbDims, const int dimA[], const int strideA[])
{
    if (!strideA || nbDims < 3)
        return CUDNN_STATUS_BAD_PARAM;
    return set_tensor(tensorDesc, dataType, CUDNN_TENSOR_NCHW, nbDims, dimA, strideA);
}

EMU_API cudnnStatus_t cudnnSetTensorNdDescriptorEx(cudnnTensorDescriptor_t tensorDesc,
    cudnnTensorFormat_t format, cudnnDataType_t dataType, int nbDims, const int dimA[])
{
    if (nbDims < 3)
        return CUDNN_STATUS_BAD_PARAM;
    return set_tensor(tensorDesc, dataType, format, nbDims, dimA, NULL);
}

EMU_API cudnnStatus_t cudnnGetTensor4dDescriptor(const cudnnTensorDescriptor_t tensorDesc,
    cudnnDataType_t *dataType, int *n, int *c, int *h, int *w, int *nStride, int *cStride,
    int *hStride, int *wStride)
{
    if (!dnn_tensor_ok(tensorDesc) || tensorDesc->t.nd != 4 || !dataType || !n || !c || !h ||
        !w || !nStride || !cStride || !hStride || !wStride)
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *t = &tensorDesc->t;
    *dataType = t->type;
    *n = (int)t->dim[0], *c = (int)t->dim[1], *h = (int)t->dim[2], *w = (int)t->dim[3];
    *nStride = (int)t->stride[0], *cStride = (int)t->stride[1];
    *hStride = (int)t->stride[2], *wStride = (int)t->stride[3];
    return CUDNN_STATUS_SUCCESS;
}

/* Reports the true nbDims and fills at most nbDimsRequested entries. */
EMU_API cudnnStatus_t cudnnGetTensorNdDescriptor(const cudnnTensorDescriptor_t tensorDesc,
    int nbDimsRequested, cudnnDataType_t *dataType, int *nbDims, int dimA[], int strideA[])
{
    if (!dnn_tensor_ok(tensorDesc) || nbDimsRequested < 0 || !dataType || !nbDims ||
        (nbDimsRequested > 0 && (!dimA || !strideA)))
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *t = &tensorDesc->t;
    *dataType = t->type;
    *nbDims = t->nd;
    for (int i = 0; i < t->nd && i < nbDimsRequested; i++) {
        dimA[i] = (int)t->dim[i];
        strideA[i] = (int)t->stride[i];
    }
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetTensorSizeInBytes(const cudnnTensorDescriptor_t tensorDesc,
                                                size_t *size)
{
    if (!dnn_tensor_ok(tensorDesc) || !size)
        return CUDNN_STATUS_BAD_PARAM;
    if (!dnn_type_computable(tensorDesc->t.type))
        return CUDNN_STATUS_NOT_SUPPORTED;
    *size = dnn_extent(&tensorDesc->t);
    return CUDNN_STATUS_SUCCESS;
}

/* ---- filters -------------------------------------------------------------------- */

EMU_API cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *filterDesc)
{
    if (!filterDesc)
        return CUDNN_STATUS_BAD_PARAM;
    struct cudnnFilterStruct *d = calloc(1, sizeof *d);
    if (!d)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    d->magic = DNN_FILTER_MAGIC;
    *filterDesc = d;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc)
{
    if (!filterDesc)
        return CUDNN_STATUS_SUCCESS;
    if (filterDesc->magic != DNN_FILTER_MAGIC)
        return CUDNN_STATUS_BAD_PARAM;
    filterDesc->magic = 0;
    free(filterDesc);
    return CUDNN_STATUS_SUCCESS;
}

/* Dims are [K, C, spatial...] whatever the format; NHWC stores them KRSC. */
static cudnnStatus_t set_filter(cudnnFilterDescriptor_t d, cudnnDataType_t type,
                                cudnnTensorFormat_t format, int nd, const int *dim)
{
    if (!d || d->magic != DNN_FILTER_MAGIC || !dim || !dnn_type_valid(type) ||
        !format_valid(format) || nd < 3)
        return CUDNN_STATUS_BAD_PARAM;
    if (nd > CUDNN_DIM_MAX || format == CUDNN_TENSOR_NCHW_VECT_C)
        return CUDNN_STATUS_NOT_SUPPORTED;
    struct dnn_tensor t = { .type = type, .nd = nd };
    int64_t elems = 1;
    for (int i = 0; i < nd; i++) {
        if (dim[i] <= 0)
            return CUDNN_STATUS_BAD_PARAM;
        t.dim[i] = dim[i];
        elems *= dim[i];
        if (elems > ELEMS_MAX)
            return CUDNN_STATUS_NOT_SUPPORTED;
    }
    dnn_pack_strides(&t, format);
    d->t = t;
    d->format = format;
    d->set = 1;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc,
    cudnnDataType_t dataType, cudnnTensorFormat_t format, int k, int c, int h, int w)
{
    int dim[4] = { k, c, h, w };
    return set_filter(filterDesc, dataType, format, 4, dim);
}

EMU_API cudnnStatus_t cudnnSetFilterNdDescriptor(cudnnFilterDescriptor_t filterDesc,
    cudnnDataType_t dataType, cudnnTensorFormat_t format, int nbDims, const int filterDimA[])
{
    return set_filter(filterDesc, dataType, format, nbDims, filterDimA);
}

EMU_API cudnnStatus_t cudnnGetFilter4dDescriptor(const cudnnFilterDescriptor_t filterDesc,
    cudnnDataType_t *dataType, cudnnTensorFormat_t *format, int *k, int *c, int *h, int *w)
{
    if (!dnn_filter_ok(filterDesc) || filterDesc->t.nd != 4 || !dataType || !format || !k ||
        !c || !h || !w)
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *t = &filterDesc->t;
    *dataType = t->type;
    *format = filterDesc->format;
    *k = (int)t->dim[0], *c = (int)t->dim[1], *h = (int)t->dim[2], *w = (int)t->dim[3];
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetFilterNdDescriptor(const cudnnFilterDescriptor_t filterDesc,
    int nbDimsRequested, cudnnDataType_t *dataType, cudnnTensorFormat_t *format, int *nbDims,
    int filterDimA[])
{
    if (!dnn_filter_ok(filterDesc) || nbDimsRequested < 0 || !dataType || !format || !nbDims ||
        (nbDimsRequested > 0 && !filterDimA))
        return CUDNN_STATUS_BAD_PARAM;
    const struct dnn_tensor *t = &filterDesc->t;
    *dataType = t->type;
    *format = filterDesc->format;
    *nbDims = t->nd;
    for (int i = 0; i < t->nd && i < nbDimsRequested; i++)
        filterDimA[i] = (int)t->dim[i];
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetFilterSizeInBytes(const cudnnFilterDescriptor_t filterDesc,
                                                size_t *size)
{
    if (!dnn_filter_ok(filterDesc) || !size)
        return CUDNN_STATUS_BAD_PARAM;
    if (!dnn_type_computable(filterDesc->t.type))
        return CUDNN_STATUS_NOT_SUPPORTED;
    *size = dnn_extent(&filterDesc->t);
    return CUDNN_STATUS_SUCCESS;
}

/* ---- convolutions --------------------------------------------------------------- */

EMU_API cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *convDesc)
{
    if (!convDesc)
        return CUDNN_STATUS_BAD_PARAM;
    struct cudnnConvolutionStruct *d = calloc(1, sizeof *d);
    if (!d)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    d->magic = DNN_CONV_MAGIC;
    d->groups = 1;
    d->math = CUDNN_DEFAULT_MATH;
    *convDesc = d;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc)
{
    if (!convDesc)
        return CUDNN_STATUS_SUCCESS;
    if (convDesc->magic != DNN_CONV_MAGIC)
        return CUDNN_STATUS_BAD_PARAM;
    convDesc->magic = 0;
    free(convDesc);
    return CUDNN_STATUS_SUCCESS;
}

static int conv_desc(cudnnConvolutionDescriptor_t d)
{
    return d && d->magic == DNN_CONV_MAGIC;
}

static cudnnStatus_t set_conv(cudnnConvolutionDescriptor_t d, int nsp, const int *pad,
                              const int *stride, const int *dilation,
                              cudnnConvolutionMode_t mode, cudnnDataType_t compute)
{
    if (!conv_desc(d) || nsp < 1 || !pad || !stride || !dilation ||
        (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) ||
        !dnn_type_valid(compute))
        return CUDNN_STATUS_BAD_PARAM;
    if (nsp > DNN_MAX_SPATIAL)
        return CUDNN_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < nsp; i++)
        if (pad[i] < 0 || stride[i] <= 0 || dilation[i] <= 0)
            return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < nsp; i++) {
        d->pad[i] = pad[i];
        d->stride[i] = stride[i];
        d->dilation[i] = dilation[i];
    }
    d->nsp = nsp;
    d->mode = mode;
    d->compute = compute;
    d->set = 1;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc,
    int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w,
    cudnnConvolutionMode_t mode, cudnnDataType_t computeType)
{
    int pad[2] = { pad_h, pad_w }, stride[2] = { u, v }, dil[2] = { dilation_h, dilation_w };
    return set_conv(convDesc, 2, pad, stride, dil, mode, computeType);
}

EMU_API cudnnStatus_t cudnnSetConvolutionNdDescriptor(cudnnConvolutionDescriptor_t convDesc,
    int arrayLength, const int padA[], const int filterStrideA[], const int dilationA[],
    cudnnConvolutionMode_t mode, cudnnDataType_t computeType)
{
    return set_conv(convDesc, arrayLength, padA, filterStrideA, dilationA, mode, computeType);
}

EMU_API cudnnStatus_t cudnnGetConvolution2dDescriptor(const cudnnConvolutionDescriptor_t convDesc,
    int *pad_h, int *pad_w, int *u, int *v, int *dilation_h, int *dilation_w,
    cudnnConvolutionMode_t *mode, cudnnDataType_t *computeType)
{
    if (!dnn_conv_ok(convDesc) || convDesc->nsp != 2 || !pad_h || !pad_w || !u || !v ||
        !dilation_h || !dilation_w || !mode || !computeType)
        return CUDNN_STATUS_BAD_PARAM;
    *pad_h = convDesc->pad[0], *pad_w = convDesc->pad[1];
    *u = convDesc->stride[0], *v = convDesc->stride[1];
    *dilation_h = convDesc->dilation[0], *dilation_w = convDesc->dilation[1];
    *mode = convDesc->mode;
    *computeType = convDesc->compute;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetConvolutionNdDescriptor(const cudnnConvolutionDescriptor_t convDesc,
    int arrayLengthRequested, int *arrayLength, int padA[], int strideA[], int dilationA[],
    cudnnConvolutionMode_t *mode, cudnnDataType_t *computeType)
{
    if (!dnn_conv_ok(convDesc) || arrayLengthRequested < 0 || !arrayLength || !mode ||
        !computeType || (arrayLengthRequested > 0 && (!padA || !strideA || !dilationA)))
        return CUDNN_STATUS_BAD_PARAM;
    if (arrayLengthRequested > DNN_MAX_SPATIAL)
        return CUDNN_STATUS_NOT_SUPPORTED;
    *arrayLength = convDesc->nsp;
    for (int i = 0; i < convDesc->nsp && i < arrayLengthRequested; i++) {
        padA[i] = convDesc->pad[i];
        strideA[i] = convDesc->stride[i];
        dilationA[i] = convDesc->dilation[i];
    }
    *mode = convDesc->mode;
    *computeType = convDesc->compute;
    return CUDNN_STATUS_SUCCESS;
}

/* The math type only selects tensor cores on a GPU; recorded, not used. */
EMU_API cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc,
                                                  cudnnMathType_t mathType)
{
    if (!conv_desc(convDesc) || (unsigned)mathType > (unsigned)CUDNN_FMA_MATH)
        return CUDNN_STATUS_BAD_PARAM;
    convDesc->math = mathType;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc,
                                                  cudnnMathType_t *mathType)
{
    if (!conv_desc(convDesc) || !mathType)
        return CUDNN_STATUS_BAD_PARAM;
    *mathType = convDesc->math;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc,
                                                    int groupCount)
{
    if (!conv_desc(convDesc) || groupCount < 1)
        return CUDNN_STATUS_BAD_PARAM;
    convDesc->groups = groupCount;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc,
                                                    int *groupCount)
{
    if (!conv_desc(convDesc) || !groupCount)
        return CUDNN_STATUS_BAD_PARAM;
    *groupCount = convDesc->groups;
    return CUDNN_STATUS_SUCCESS;
}

/* ---- output dims ----------------------------------------------------------------- */

/* Each spatial output is 1 + (in + 2 * pad - ((filter - 1) * dilation + 1)) / stride;
 * a filter wider than the padded input is BAD_PARAM. */
static cudnnStatus_t out_dims(cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t x,
                              cudnnFilterDescriptor_t w, int64_t *out)
{
    if (!dnn_conv_ok(conv) || !dnn_tensor_ok(x) || !dnn_filter_ok(w) ||
        x->t.nd != conv->nsp + 2 || w->t.nd != x->t.nd ||
        x->t.dim[1] != w->t.dim[1] * conv->groups || w->t.dim[0] % conv->groups)
        return CUDNN_STATUS_BAD_PARAM;
    out[0] = x->t.dim[0];
    out[1] = w->t.dim[0];
    for (int i = 0; i < conv->nsp; i++) {
        int64_t eff = (w->t.dim[i + 2] - 1) * conv->dilation[i] + 1;
        int64_t span = x->t.dim[i + 2] + 2 * (int64_t)conv->pad[i] - eff;
        if (span < 0)
            return CUDNN_STATUS_BAD_PARAM;
        out[i + 2] = 1 + span / conv->stride[i];
    }
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t inputTensorDesc,
    const cudnnFilterDescriptor_t filterDesc, int *n, int *c, int *h, int *w)
{
    int64_t out[CUDNN_DIM_MAX];
    if (!n || !c || !h || !w || !dnn_conv_ok(convDesc) || convDesc->nsp != 2)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t st = out_dims(convDesc, inputTensorDesc, filterDesc, out);
    if (st)
        return st;
    *n = (int)out[0], *c = (int)out[1], *h = (int)out[2], *w = (int)out[3];
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetConvolutionNdForwardOutputDim(
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t inputTensorDesc,
    const cudnnFilterDescriptor_t filterDesc, int nbDims, int tensorOuputDimA[])
{
    int64_t out[CUDNN_DIM_MAX];
    if (!tensorOuputDimA || !dnn_tensor_ok(inputTensorDesc) ||
        nbDims != inputTensorDesc->t.nd)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t st = out_dims(convDesc, inputTensorDesc, filterDesc, out);
    if (st)
        return st;
    for (int i = 0; i < nbDims; i++)
        tensorOuputDimA[i] = (int)out[i];
    return CUDNN_STATUS_SUCCESS;
}

/* ---- activations (for cudnnConvolutionBiasActivationForward) ------------------------ */

EMU_API cudnnStatus_t cudnnCreateActivationDescriptor(cudnnActivationDescriptor_t *activationDesc)
{
    if (!activationDesc)
        return CUDNN_STATUS_BAD_PARAM;
    struct cudnnActivationStruct *d = calloc(1, sizeof *d);
    if (!d)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    d->magic = DNN_ACT_MAGIC;
    *activationDesc = d;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnDestroyActivationDescriptor(cudnnActivationDescriptor_t activationDesc)
{
    if (!activationDesc)
        return CUDNN_STATUS_SUCCESS;
    if (activationDesc->magic != DNN_ACT_MAGIC)
        return CUDNN_STATUS_BAD_PARAM;
    activationDesc->magic = 0;
    free(activationDesc);
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t activationDesc,
                                                   cudnnActivationMode_t mode,
                                                   cudnnNanPropagation_t reluNanOpt, double coef)
{
    if (!activationDesc || activationDesc->magic != DNN_ACT_MAGIC ||
        (unsigned)mode > (unsigned)CUDNN_ACTIVATION_SWISH ||
        (reluNanOpt != CUDNN_NOT_PROPAGATE_NAN && reluNanOpt != CUDNN_PROPAGATE_NAN))
        return CUDNN_STATUS_BAD_PARAM;
    activationDesc->mode = mode;
    activationDesc->nan = reluNanOpt;
    activationDesc->coef = coef;
    activationDesc->set = 1;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetActivationDescriptor(const cudnnActivationDescriptor_t activationDesc,
                                                   cudnnActivationMode_t *mode,
                                                   cudnnNanPropagation_t *reluNanOpt,
                                                   double *coef)
{
    if (!dnn_act_ok(activationDesc) || !mode || !reluNanOpt || !coef)
        return CUDNN_STATUS_BAD_PARAM;
    *mode = activationDesc->mode;
    *reluNanOpt = activationDesc->nan;
    *coef = activationDesc->coef;
    return CUDNN_STATUS_SUCCESS;
}
