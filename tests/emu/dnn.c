/* Emulated libcudnn.so.9: the handle, library information, error strings,
 * and the tensor helpers every other dnn_*.c file uses.
 *
 * The other files: dnn_desc.c (tensor, filter and convolution descriptors),
 * dnn_conv.c (convolutions), dnn_tensor_ops.c (cudnnReduceTensor,
 * cudnnOpTensor), dnn_backend.c and dnn_backend_get.c (the graph API's
 * descriptors), dnn_exec.c (executing a graph, and the matmul it may
 * hold), dnn_sdpa.c (the graph's attention operation) and dnn_bn.c (batch
 * normalization). */
#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "dnn.h"

/* ---- handle ------------------------------------------------------------------- */

EMU_API cudnnStatus_t cudnnCreate(cudnnHandle_t *handle)
{
    int dev;
    if (!handle)
        return CUDNN_STATUS_BAD_PARAM;
    if (cudaGetDevice(&dev) != cudaSuccess)
        return CUDNN_STATUS_NOT_INITIALIZED;
    struct cudnnContext *h = calloc(1, sizeof *h);
    if (!h)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    h->magic = DNN_HANDLE_MAGIC;
    *handle = h;
    return CUDNN_STATUS_SUCCESS;
}

/* cuDNN documents that releasing a handle implicitly synchronizes the device. */
EMU_API cudnnStatus_t cudnnDestroy(cudnnHandle_t handle)
{
    if (!dnn_valid(handle))
        return CUDNN_STATUS_BAD_PARAM;
    cudaDeviceSynchronize();
    handle->magic = 0;
    free(handle);
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId)
{
    if (!dnn_valid(handle))
        return CUDNN_STATUS_BAD_PARAM;
    handle->stream = streamId;
    return CUDNN_STATUS_SUCCESS;
}

EMU_API cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t *streamId)
{
    if (!dnn_valid(handle) || !streamId)
        return CUDNN_STATUS_BAD_PARAM;
    *streamId = handle->stream;
    return CUDNN_STATUS_SUCCESS;
}

/* ---- library information ------------------------------------------------------ */

/* The header's CUDNN_VERSION: the emulator stands in for the installed 9.19. */
EMU_API size_t cudnnGetVersion(void)
{
    return CUDNN_VERSION;
}

EMU_API size_t cudnnGetCudartVersion(void)
{
    return CUDART_VERSION;
}

EMU_API size_t cudnnGetMaxDeviceVersion(void)
{
    return CUDNN_MAX_DEVICE_VERSION;
}

EMU_API cudnnStatus_t cudnnGetProperty(libraryPropertyType type, int *value)
{
    if (!value)
        return CUDNN_STATUS_BAD_PARAM;
    switch (type) {
    case MAJOR_VERSION: *value = CUDNN_MAJOR; return CUDNN_STATUS_SUCCESS;
    case MINOR_VERSION: *value = CUDNN_MINOR; return CUDNN_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = CUDNN_PATCHLEVEL; return CUDNN_STATUS_SUCCESS;
    default: return CUDNN_STATUS_BAD_PARAM;
    }
}

/* Like the real library, the string is the status's own name. */
#define STATUSES(X)                                                                         \
    X(CUDNN_STATUS_SUCCESS) X(CUDNN_STATUS_NOT_INITIALIZED)                                 \
    X(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH) X(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH) \
    X(CUDNN_STATUS_DEPRECATED) X(CUDNN_STATUS_LICENSE_ERROR)                                \
    X(CUDNN_STATUS_RUNTIME_IN_PROGRESS) X(CUDNN_STATUS_RUNTIME_FP_OVERFLOW)                 \
    X(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED) X(CUDNN_STATUS_BAD_PARAM)                     \
    X(CUDNN_STATUS_INVALID_VALUE) X(CUDNN_STATUS_BAD_PARAM_NULL_POINTER)                    \
    X(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER) X(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED)    \
    X(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND) X(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT)      \
    X(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH) X(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH)      \
    X(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES) X(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE)   \
    X(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH) X(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE) \
    X(CUDNN_STATUS_NOT_SUPPORTED) X(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN)               \
    X(CUDNN_STATUS_NOT_SUPPORTED_SHAPE) X(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE)             \
    X(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT)                                                    \
    X(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER)                                  \
    X(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART)                                       \
    X(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH)                                             \
    X(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)                              \
    X(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE)                                    \
    X(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)                                \
    X(CUDNN_STATUS_NOT_SUPPORTED_PADDING) X(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM)    \
    X(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API)                                     \
    X(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE) X(CUDNN_STATUS_INTERNAL_ERROR)      \
    X(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED)                                       \
    X(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE)                                         \
    X(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)                                   \
    X(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)                                 \
    X(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM)                                         \
    X(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED) X(CUDNN_STATUS_EXECUTION_FAILED) \
    X(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER) X(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS)    \
    X(CUDNN_STATUS_EXECUTION_FAILED_CUDART) X(CUDNN_STATUS_EXECUTION_FAILED_CURAND)

EMU_API const char *cudnnGetErrorString(cudnnStatus_t status)
{
#define X(code) if (status == code) return #code;
    STATUSES(X)
#undef X
    return "CUDNN_UNKNOWN_STATUS_FOUND";
}

/* The emulator keeps no error log: every message is empty. */
EMU_API void cudnnGetLastErrorString(char *message, size_t max_size)
{
    if (message && max_size > 0)
        message[0] = '\0';
}

/* ---- running work ----------------------------------------------------------------- */

cudnnStatus_t dnn_launch(cudnnHandle_t h, emu_op_fn run, void *op, size_t size)
{
    int recorded;
    if (emu_lib_record(h->stream, run, op, size, &recorded))
        return CUDNN_STATUS_EXECUTION_FAILED;
    if (recorded)
        return CUDNN_STATUS_SUCCESS;
    return run(op) ? CUDNN_STATUS_EXECUTION_FAILED : CUDNN_STATUS_SUCCESS;
}

/* ---- tensor helpers --------------------------------------------------------------- */

int64_t dnn_elems(const struct dnn_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->nd; i++)
        n *= t->dim[i];
    return n;
}

size_t dnn_extent(const struct dnn_tensor *t)
{
    int64_t last = 0;
    for (int i = 0; i < t->nd; i++)
        last += (t->dim[i] - 1) * t->stride[i];
    return (size_t)(last + 1) * dnn_type_size(t->type);
}

int64_t dnn_offset(const struct dnn_tensor *t, const int64_t *idx)
{
    int64_t off = 0;
    int i = 0;
    if (t->ragged) {
        off = t->ragged64 ? ((const int64_t *)t->ragged)[idx[0]]
                          : ((const int32_t *)t->ragged)[idx[0]];
        i = 1;
    }
    for (; i < t->nd; i++)
        off += idx[i] * t->stride[i];
    return off;
}

int dnn_next(const struct dnn_tensor *t, int64_t *idx, int from)
{
    for (int i = t->nd - 1; i >= from; i--) {
        if (++idx[i] < t->dim[i])
            return 1;
        idx[i] = 0;
    }
    return 0;
}

void dnn_pack_strides(struct dnn_tensor *t, cudnnTensorFormat_t format)
{
    int64_t s = 1;
    if (format == CUDNN_TENSOR_NHWC && t->nd > 2) {
        t->stride[1] = 1;
        s = t->dim[1];
        for (int i = t->nd - 1; i >= 2; i--) {
            t->stride[i] = s;
            s *= t->dim[i];
        }
        t->stride[0] = s;
        return;
    }
    for (int i = t->nd - 1; i >= 0; i--) {
        t->stride[i] = s;
        s *= t->dim[i];
    }
}

void *dnn_host(const char *api, const char *what, const void *dev, const struct dnn_tensor *t)
{
    size_t bytes = dnn_extent(t);
    void *h = emu_to_host_range(dev, bytes);
    if (!h)
        fprintf(stderr, "emu: %s: %s = %p (%zu bytes) is not device memory\n", api, what, dev,
                bytes);
    return h;
}

const char *dnn_type_name(cudnnDataType_t t)
{
    switch (t) {
    case CUDNN_DATA_FLOAT: return "FLOAT";
    case CUDNN_DATA_HALF: return "HALF";
    case CUDNN_DATA_BFLOAT16: return "BFLOAT16";
    case CUDNN_DATA_DOUBLE: return "DOUBLE";
    default: return "other";
    }
}

const char *dnn_dims(const struct dnn_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->nd && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%lld", i ? "," : "[", (long long)t->dim[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}
