/* cuDNN entry points, as data: see cublas_table.h for the two lists.
 * X(ret, name, params, args, hook) / X(ret, name, params, args). */

#define SH_CUDNN_INTERCEPT(X) \
X(cudnnStatus_t, cudnnSetConvolution2dDescriptor, (cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t compute), (d, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, compute), set_conv2d)

#define SH_CUDNN_USE(X) \
X(size_t, cudnnGetVersion, (void), ())
