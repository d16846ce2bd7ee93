/* Private to the emulated libcudart: what its source files share. */
#ifndef SAFEHALF_EMU_RT_H
#define SAFEHALF_EMU_RT_H

#include <cuda_runtime_api.h>

#include "emu.h"

/* Returns e, and makes it the thread's last error unless it is success. */
cudaError_t rt_ret(cudaError_t e);
/* The runtime's implicit initialization (see runtime.c). */
cudaError_t rt_enter(void);

/* The driver's codes and the runtime's have the same values for every
 * error the emulated driver returns. */
static inline cudaError_t ret_cu(CUresult r)
{
    return rt_ret((cudaError_t)r);
}

#define ENTER()                          \
    do {                                 \
        cudaError_t e_ = rt_enter();     \
        if (e_)                          \
            return rt_ret(e_);           \
    } while (0)

#endif
