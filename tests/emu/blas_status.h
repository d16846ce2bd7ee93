/* cublasStatus_t names and texts, and the version properties, shared by the
 * emulated libcublas and libcublasLt (each has its own exported names for
 * them, as NVIDIA's do). */
#ifndef SAFEHALF_EMU_BLAS_STATUS_H
#define SAFEHALF_EMU_BLAS_STATUS_H

#include <cublas_api.h>
#include <library_types.h>

#define EMU_BLAS_STATUSES(X) \
    X(CUBLAS_STATUS_SUCCESS, "success") \
    X(CUBLAS_STATUS_NOT_INITIALIZED, "the library was not initialized") \
    X(CUBLAS_STATUS_ALLOC_FAILED, "the resource allocation failed") \
    X(CUBLAS_STATUS_INVALID_VALUE, "an invalid numeric value was used as an argument") \
    X(CUBLAS_STATUS_ARCH_MISMATCH, "an absent device architectural feature is required") \
    X(CUBLAS_STATUS_MAPPING_ERROR, "an access to GPU memory space failed") \
    X(CUBLAS_STATUS_EXECUTION_FAILED, "the GPU program failed to execute") \
    X(CUBLAS_STATUS_INTERNAL_ERROR, "an internal operation failed") \
    X(CUBLAS_STATUS_NOT_SUPPORTED, "the functionality requested is not supported") \
    X(CUBLAS_STATUS_LICENSE_ERROR, "error detected trying to check the license")

static inline const char *emu_blas_status_name(cublasStatus_t status)
{
#define X(code, text) if (status == code) return #code;
    EMU_BLAS_STATUSES(X)
#undef X
    return "CUBLAS_STATUS_UNKNOWN";
}

static inline const char *emu_blas_status_string(cublasStatus_t status)
{
#define X(code, text) if (status == code) return text;
    EMU_BLAS_STATUSES(X)
#undef X
    return "unknown error";
}

static inline cublasStatus_t emu_blas_property(libraryPropertyType type, int *value)
{
    if (!value)
        return CUBLAS_STATUS_INVALID_VALUE;
    switch (type) {
    case MAJOR_VERSION: *value = CUBLAS_VER_MAJOR; return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION: *value = CUBLAS_VER_MINOR; return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = CUBLAS_VER_PATCH; return CUBLAS_STATUS_SUCCESS;
    default: return CUBLAS_STATUS_INVALID_VALUE;
    }
}

#endif
