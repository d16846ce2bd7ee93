/* Private to the emulated libcublas: the object behind cublasHandle_t. */
#ifndef SAFEHALF_EMU_BLAS_H
#define SAFEHALF_EMU_BLAS_H

#include <cuda_runtime_api.h>

#include "emu.h"

#define HANDLE_MAGIC 0x43424c53u

struct cublasContext {
    uint32_t magic;
    cudaStream_t stream;
    cublasPointerMode_t pointer_mode;
    cublasMath_t math;
    cublasAtomicsMode_t atomics;
    void *workspace; /* recorded only: the emulated kernels need none */
    size_t workspace_size;
};

static inline int blas_valid(cublasHandle_t h)
{
    return h && h->magic == HANDLE_MAGIC;
}

#endif
