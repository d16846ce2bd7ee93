/* Emulated libcudart.so.13: managed, stream-ordered, pitched and registered
 * memory, and pointer attributes. */
#include <string.h>

#include "rt.h"

_Static_assert((int)cudaErrorHostMemoryAlreadyRegistered ==
                   (int)CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED &&
               (int)cudaErrorHostMemoryNotRegistered == (int)CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED,
               "runtime and driver codes differ");

EMU_API cudaError_t cudaMallocManaged(void **devPtr, size_t size, unsigned int flags)
{
    ENTER();
    if (!devPtr)
        return rt_ret(cudaErrorInvalidValue);
    CUdeviceptr d = 0;
    CUresult r = cuMemAllocManaged(&d, size, flags);
    if (!r)
        *devPtr = (void *)(uintptr_t)d;
    return ret_cu(r);
}

EMU_API cudaError_t cudaMallocAsync(void **devPtr, size_t size, cudaStream_t hStream)
{
    ENTER();
    if (!devPtr)
        return rt_ret(cudaErrorInvalidValue);
    CUdeviceptr d = 0;
    CUresult r = cuMemAllocAsync(&d, size, hStream);
    if (!r)
        *devPtr = (void *)(uintptr_t)d;
    return ret_cu(r);
}

EMU_API cudaError_t cudaFreeAsync(void *devPtr, cudaStream_t hStream)
{
    ENTER();
    return ret_cu(cuMemFreeAsync((CUdeviceptr)(uintptr_t)devPtr, hStream));
}

static cudaError_t copy_2d(void *dst, size_t dpitch, const void *src, size_t spitch,
                           size_t width, size_t height, enum cudaMemcpyKind kind,
                           cudaStream_t stream, int async)
{
    ENTER();
    if ((int)kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
        return rt_ret(cudaErrorInvalidMemcpyDirection);
    if (dpitch < width || spitch < width)
        return rt_ret(cudaErrorInvalidPitchValue);
    return ret_cu(emu_memcpy2d(dst, dpitch, src, spitch, width, height, (int)kind, stream,
                               async));
}

EMU_API cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch,
                                 size_t width, size_t height, enum cudaMemcpyKind kind)
{
    return copy_2d(dst, dpitch, src, spitch, width, height, kind, NULL, 0);
}

EMU_API cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                                      size_t width, size_t height, enum cudaMemcpyKind kind,
                                      cudaStream_t stream)
{
    return copy_2d(dst, dpitch, src, spitch, width, height, kind, stream, 1);
}

/* The cudaHostRegister* flags have the CU_MEMHOSTREGISTER_* values. */
EMU_API cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags)
{
    ENTER();
    return ret_cu(cuMemHostRegister(ptr, size, flags));
}

EMU_API cudaError_t cudaHostUnregister(void *ptr)
{
    ENTER();
    return ret_cu(cuMemHostUnregister(ptr));
}

/* Since CUDA 11, memory CUDA does not know is not an error: it is
 * cudaMemoryTypeUnregistered, on no device, reachable from the host only. */
EMU_API cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *attributes,
                                             const void *ptr)
{
    ENTER();
    if (!attributes)
        return rt_ret(cudaErrorInvalidValue);
    CUdeviceptr p = (CUdeviceptr)(uintptr_t)ptr;
    unsigned type = 0;
    int managed = 0;
    memset(attributes, 0, sizeof *attributes);
    if (cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p) != CUDA_SUCCESS) {
        attributes->type = cudaMemoryTypeUnregistered;
        attributes->device = cudaInvalidDeviceId;
        attributes->hostPointer = (void *)ptr;
        return cudaSuccess;
    }
    cuPointerGetAttribute(&managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, p);
    cuPointerGetAttribute(&attributes->device, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, p);
    attributes->devicePointer = (void *)ptr;
    if (managed) {
        attributes->type = cudaMemoryTypeManaged;
        attributes->hostPointer = (void *)ptr;
    } else if (type == CU_MEMORYTYPE_HOST) {
        attributes->type = cudaMemoryTypeHost;
        attributes->hostPointer = (void *)ptr;
    } else {
        attributes->type = cudaMemoryTypeDevice;
    }
    return cudaSuccess;
}
