/* Emulated libcudart.so.13: device queries and device-wide state, over the
 * emulated driver's one device and its primary context. cudaDeviceAttr and
 * CUdevice_attribute number the attributes alike. */
#include <string.h>

#include "rt.h"

EMU_API cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    ENTER();
    return ret_cu(cuDeviceGetAttribute(value, (CUdevice_attribute)attr, device));
}

static int attr(enum cudaDeviceAttr a)
{
    int v = 0;
    cuDeviceGetAttribute(&v, (CUdevice_attribute)a, 0);
    return v;
}

/* CUDA 13's header maps no _v2 name here: the symbol is the plain one. */
EMU_API cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    ENTER();
    if (!prop)
        return rt_ret(cudaErrorInvalidValue);
    if (device != 0)
        return rt_ret(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    cuDeviceGetName(prop->name, (int)sizeof prop->name, 0);
    /* A fixed, recognizable UUID: "safehalf-emu-gpu" */
    memcpy(prop->uuid.bytes, "safehalf-emu-gpu", sizeof prop->uuid.bytes);
    cuDeviceTotalMem(&prop->totalGlobalMem, 0);
    prop->sharedMemPerBlock = (size_t)attr(cudaDevAttrMaxSharedMemoryPerBlock);
    prop->regsPerBlock = attr(cudaDevAttrMaxRegistersPerBlock);
    prop->warpSize = attr(cudaDevAttrWarpSize);
    prop->memPitch = (size_t)attr(cudaDevAttrMaxPitch);
    prop->maxThreadsPerBlock = attr(cudaDevAttrMaxThreadsPerBlock);
    prop->maxThreadsDim[0] = attr(cudaDevAttrMaxBlockDimX);
    prop->maxThreadsDim[1] = attr(cudaDevAttrMaxBlockDimY);
    prop->maxThreadsDim[2] = attr(cudaDevAttrMaxBlockDimZ);
    prop->maxGridSize[0] = attr(cudaDevAttrMaxGridDimX);
    prop->maxGridSize[1] = attr(cudaDevAttrMaxGridDimY);
    prop->maxGridSize[2] = attr(cudaDevAttrMaxGridDimZ);
    prop->totalConstMem = (size_t)attr(cudaDevAttrTotalConstantMemory);
    prop->major = attr(cudaDevAttrComputeCapabilityMajor);
    prop->minor = attr(cudaDevAttrComputeCapabilityMinor);
    prop->textureAlignment = (size_t)attr(cudaDevAttrTextureAlignment);
    prop->texturePitchAlignment = (size_t)attr(cudaDevAttrTexturePitchAlignment);
    prop->multiProcessorCount = attr(cudaDevAttrMultiProcessorCount);
    prop->integrated = attr(cudaDevAttrIntegrated);
    prop->canMapHostMemory = attr(cudaDevAttrCanMapHostMemory);
    prop->maxTexture1D = attr(cudaDevAttrMaxTexture1DWidth);
    prop->maxTexture2D[0] = attr(cudaDevAttrMaxTexture2DWidth);
    prop->maxTexture2D[1] = attr(cudaDevAttrMaxTexture2DHeight);
    prop->maxTexture3D[0] = attr(cudaDevAttrMaxTexture3DWidth);
    prop->maxTexture3D[1] = attr(cudaDevAttrMaxTexture3DHeight);
    prop->maxTexture3D[2] = attr(cudaDevAttrMaxTexture3DDepth);
    prop->surfaceAlignment = (size_t)attr(cudaDevAttrSurfaceAlignment);
    prop->concurrentKernels = attr(cudaDevAttrConcurrentKernels);
    prop->ECCEnabled = attr(cudaDevAttrEccEnabled);
    prop->pciBusID = attr(cudaDevAttrPciBusId);
    prop->pciDeviceID = attr(cudaDevAttrPciDeviceId);
    prop->pciDomainID = attr(cudaDevAttrPciDomainId);
    prop->tccDriver = attr(cudaDevAttrTccDriver);
    prop->asyncEngineCount = attr(cudaDevAttrAsyncEngineCount);
    prop->unifiedAddressing = attr(cudaDevAttrUnifiedAddressing);
    prop->memoryBusWidth = attr(cudaDevAttrGlobalMemoryBusWidth);
    prop->l2CacheSize = attr(cudaDevAttrL2CacheSize);
    prop->persistingL2CacheMaxSize = attr(cudaDevAttrMaxPersistingL2CacheSize);
    prop->maxThreadsPerMultiProcessor = attr(cudaDevAttrMaxThreadsPerMultiProcessor);
    prop->streamPrioritiesSupported = attr(cudaDevAttrStreamPrioritiesSupported);
    prop->globalL1CacheSupported = attr(cudaDevAttrGlobalL1CacheSupported);
    prop->localL1CacheSupported = attr(cudaDevAttrLocalL1CacheSupported);
    prop->sharedMemPerMultiprocessor = (size_t)attr(cudaDevAttrMaxSharedMemoryPerMultiprocessor);
    prop->regsPerMultiprocessor = attr(cudaDevAttrMaxRegistersPerMultiprocessor);
    prop->managedMemory = attr(cudaDevAttrManagedMemory);
    prop->isMultiGpuBoard = attr(cudaDevAttrIsMultiGpuBoard);
    prop->hostNativeAtomicSupported = attr(cudaDevAttrHostNativeAtomicSupported);
    prop->pageableMemoryAccess = attr(cudaDevAttrPageableMemoryAccess);
    prop->concurrentManagedAccess = attr(cudaDevAttrConcurrentManagedAccess);
    prop->computePreemptionSupported = attr(cudaDevAttrComputePreemptionSupported);
    prop->canUseHostPointerForRegisteredMem =
        attr(cudaDevAttrCanUseHostPointerForRegisteredMem);
    prop->cooperativeLaunch = attr(cudaDevAttrCooperativeLaunch);
    prop->sharedMemPerBlockOptin = (size_t)attr(cudaDevAttrMaxSharedMemoryPerBlockOptin);
    prop->directManagedMemAccessFromHost = attr(cudaDevAttrDirectManagedMemAccessFromHost);
    prop->maxBlocksPerMultiProcessor = attr(cudaDevAttrMaxBlocksPerMultiprocessor);
    prop->accessPolicyMaxWindowSize = attr(cudaDevAttrMaxAccessPolicyWindowSize);
    prop->reservedSharedMemPerBlock = (size_t)attr(cudaDevAttrReservedSharedMemoryPerBlock);
    prop->hostRegisterSupported = attr(cudaDevAttrHostRegisterSupported);
    prop->hostRegisterReadOnlySupported = attr(cudaDevAttrHostRegisterReadOnlySupported);
    prop->memoryPoolsSupported = attr(cudaDevAttrMemoryPoolsSupported);
    prop->clusterLaunch = attr(cudaDevAttrClusterLaunch);
    prop->deviceNumaId = attr(cudaDevAttrNumaId);
    prop->hostNumaId = attr(cudaDevAttrHostNumaId);
    prop->gpuPciDeviceID = (unsigned)attr(cudaDevAttrGpuPciDeviceId);
    prop->gpuPciSubsystemID = (unsigned)attr(cudaDevAttrGpuPciSubsystemId);
    return cudaSuccess;
}

EMU_API cudaError_t cudaDeviceCanAccessPeer(int *canAccessPeer, int device, int peerDevice)
{
    ENTER();
    return ret_cu(cuDeviceCanAccessPeer(canAccessPeer, device, peerDevice));
}

EMU_API cudaError_t cudaDeviceGetStreamPriorityRange(int *leastPriority, int *greatestPriority)
{
    ENTER();
    return ret_cu(cuCtxGetStreamPriorityRange(leastPriority, greatestPriority));
}

EMU_API cudaError_t cudaMemGetInfo(size_t *free, size_t *total)
{
    ENTER();
    return ret_cu(cuMemGetInfo(free, total));
}

/* cudaDeviceMapHost is implicit in the runtime: accepted, and always
 * reported by cudaGetDeviceFlags. */
EMU_API cudaError_t cudaSetDeviceFlags(unsigned int flags)
{
    ENTER();
    unsigned sched = flags & cudaDeviceScheduleMask;
    if ((sched != cudaDeviceScheduleAuto && sched != cudaDeviceScheduleSpin &&
         sched != cudaDeviceScheduleYield && sched != cudaDeviceScheduleBlockingSync) ||
        (flags & ~(unsigned)(cudaDeviceScheduleMask | cudaDeviceMapHost |
                             cudaDeviceLmemResizeToMax | cudaDeviceSyncMemops)))
        return rt_ret(cudaErrorInvalidValue);
    return ret_cu(cuDevicePrimaryCtxSetFlags(0, flags));
}

EMU_API cudaError_t cudaGetDeviceFlags(unsigned int *flags)
{
    ENTER();
    if (!flags)
        return rt_ret(cudaErrorInvalidValue);
    unsigned f = 0;
    int active = 0;
    CUresult r = cuDevicePrimaryCtxGetState(0, &f, &active);
    if (!r)
        *flags = f | cudaDeviceMapHost;
    return ret_cu(r);
}

/* Destroys every allocation of the process: device, pinned and managed
 * memory; registered host memory is unregistered. */
EMU_API cudaError_t cudaDeviceReset(void)
{
    ENTER();
    return ret_cu(cuDevicePrimaryCtxReset(0));
}
