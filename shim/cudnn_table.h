/* cuDNN entry points, as data: see cublas_table.h for the two lists.
 * X(ret, name, params, args, hook) / X(ret, name, params, args). */

#define SH_CUDNN_INTERCEPT(X) \
X(cudnnStatus_t, cudnnCreate, (cudnnHandle_t *handle), (handle), create) \
X(cudnnStatus_t, cudnnSetConvolution2dDescriptor, (cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t compute), (d, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, compute), set_conv2d) \
X(cudnnStatus_t, cudnnSetConvolutionNdDescriptor, (cudnnConvolutionDescriptor_t d, int n, const int pad[], const int stride[], const int dilation[], cudnnConvolutionMode_t mode, cudnnDataType_t compute), (d, n, pad, stride, dilation, mode, compute), set_conv_nd) \
X(cudnnStatus_t, cudnnGetConvolution2dDescriptor, (const cudnnConvolutionDescriptor_t d, int *pad_h, int *pad_w, int *u, int *v, int *dilation_h, int *dilation_w, cudnnConvolutionMode_t *mode, cudnnDataType_t *compute), (d, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, compute), get_conv2d) \
X(cudnnStatus_t, cudnnGetConvolutionNdDescriptor, (const cudnnConvolutionDescriptor_t d, int requested, int *n, int pad[], int stride[], int dilation[], cudnnConvolutionMode_t *mode, cudnnDataType_t *compute), (d, requested, n, pad, stride, dilation, mode, compute), get_conv_nd) \
X(cudnnStatus_t, cudnnDestroyConvolutionDescriptor, (cudnnConvolutionDescriptor_t d), (d), destroy_desc) \
X(cudnnStatus_t, cudnnSetReduceTensorDescriptor, (cudnnReduceTensorDescriptor_t d, cudnnReduceTensorOp_t op, cudnnDataType_t compute, cudnnNanPropagation_t nan, cudnnReduceTensorIndices_t indices, cudnnIndicesType_t index_type), (d, op, compute, nan, indices, index_type), set_reduce) \
X(cudnnStatus_t, cudnnGetReduceTensorDescriptor, (const cudnnReduceTensorDescriptor_t d, cudnnReduceTensorOp_t *op, cudnnDataType_t *compute, cudnnNanPropagation_t *nan, cudnnReduceTensorIndices_t *indices, cudnnIndicesType_t *index_type), (d, op, compute, nan, indices, index_type), get_reduce) \
X(cudnnStatus_t, cudnnDestroyReduceTensorDescriptor, (cudnnReduceTensorDescriptor_t d), (d), destroy_desc) \
X(cudnnStatus_t, cudnnSetOpTensorDescriptor, (cudnnOpTensorDescriptor_t d, cudnnOpTensorOp_t op, cudnnDataType_t compute, cudnnNanPropagation_t nan), (d, op, compute, nan), set_optensor) \
X(cudnnStatus_t, cudnnGetOpTensorDescriptor, (const cudnnOpTensorDescriptor_t d, cudnnOpTensorOp_t *op, cudnnDataType_t *compute, cudnnNanPropagation_t *nan), (d, op, compute, nan), get_optensor) \
X(cudnnStatus_t, cudnnDestroyOpTensorDescriptor, (cudnnOpTensorDescriptor_t d), (d), destroy_desc) \
X(cudnnStatus_t, cudnnConvolutionForward, (cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd, const void *x, const cudnnFilterDescriptor_t wd, const void *w, const cudnnConvolutionDescriptor_t cd, cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_size, const void *beta, const cudnnTensorDescriptor_t yd, void *y), (h, alpha, xd, x, wd, w, cd, algo, ws, ws_size, beta, yd, y), conv_fwd) \
X(cudnnStatus_t, cudnnConvolutionBackwardData, (cudnnHandle_t h, const void *alpha, const cudnnFilterDescriptor_t wd, const void *w, const cudnnTensorDescriptor_t dyd, const void *dy, const cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdDataAlgo_t algo, void *ws, size_t ws_size, const void *beta, const cudnnTensorDescriptor_t dxd, void *dx), (h, alpha, wd, w, dyd, dy, cd, algo, ws, ws_size, beta, dxd, dx), conv_bwd_data) \
X(cudnnStatus_t, cudnnConvolutionBackwardFilter, (cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd, const void *x, const cudnnTensorDescriptor_t dyd, const void *dy, const cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdFilterAlgo_t algo, void *ws, size_t ws_size, const void *beta, const cudnnFilterDescriptor_t dwd, void *dw), (h, alpha, xd, x, dyd, dy, cd, algo, ws, ws_size, beta, dwd, dw), conv_bwd_filter) \
X(cudnnStatus_t, cudnnReduceTensor, (cudnnHandle_t h, const cudnnReduceTensorDescriptor_t rd, void *indices, size_t indices_size, void *ws, size_t ws_size, const void *alpha, const cudnnTensorDescriptor_t ad, const void *A, const void *beta, const cudnnTensorDescriptor_t cd, void *C), (h, rd, indices, indices_size, ws, ws_size, alpha, ad, A, beta, cd, C), reduce_tensor) \
X(cudnnStatus_t, cudnnOpTensor, (cudnnHandle_t h, const cudnnOpTensorDescriptor_t od, const void *alpha1, const cudnnTensorDescriptor_t ad, const void *A, const void *alpha2, const cudnnTensorDescriptor_t bd, const void *B, const void *beta, const cudnnTensorDescriptor_t cd, void *C), (h, od, alpha1, ad, A, alpha2, bd, B, beta, cd, C), op_tensor) \
X(cudnnStatus_t, cudnnBackendSetAttribute, (cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count, const void *elems), (d, name, type, count, elems), backend_set) \
X(cudnnStatus_t, cudnnBackendGetAttribute, (cudnnBackendDescriptor_t const d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t requested, int64_t *count, void *elems), (d, name, type, requested, count, elems), backend_get) \
X(cudnnStatus_t, cudnnBackendDestroyDescriptor, (cudnnBackendDescriptor_t d), (d), backend_destroy) \
X(cudnnStatus_t, cudnnBackendExecute, (cudnnHandle_t h, cudnnBackendDescriptor_t plan, cudnnBackendDescriptor_t pack), (h, plan, pack), backend_execute)

#define SH_CUDNN_USE(X) \
X(size_t, cudnnGetVersion, (void), ()) \
X(cudnnStatus_t, cudnnGetStream, (cudnnHandle_t h, cudaStream_t *stream), (h, stream)) \
X(cudnnStatus_t, cudnnGetTensorNdDescriptor, (const cudnnTensorDescriptor_t d, int requested, cudnnDataType_t *type, int *n, int dim[], int stride[]), (d, requested, type, n, dim, stride)) \
X(cudnnStatus_t, cudnnGetFilterNdDescriptor, (const cudnnFilterDescriptor_t d, int requested, cudnnDataType_t *type, cudnnTensorFormat_t *format, int *n, int dim[]), (d, requested, type, format, n, dim))
