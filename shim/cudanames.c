#include "cudanames.h"

#include <library_types.h>
#include <cublas_api.h>
#include <stdint.h>
#include <string.h>

const char *sh_cuda_type_name(int t)
{
    switch (t) {
    case CUDA_R_16F: return "CUDA_R_16F";
    case CUDA_R_16BF: return "CUDA_R_16BF";
    case CUDA_R_32F: return "CUDA_R_32F";
    case CUDA_R_64F: return "CUDA_R_64F";
    case CUDA_R_8I: return "CUDA_R_8I";
    case CUDA_R_32I: return "CUDA_R_32I";
    case CUDA_C_32F: return "CUDA_C_32F";
    case CUDA_C_64F: return "CUDA_C_64F";
    case CUDA_C_16F: return "CUDA_C_16F";
    case CUDA_R_8F_E4M3: return "CUDA_R_8F_E4M3";
    case CUDA_R_8F_E5M2: return "CUDA_R_8F_E5M2";
    default: return NULL;
    }
}

const char *sh_cublas_compute_name(int t)
{
    switch (t) {
    case CUBLAS_COMPUTE_16F: return "CUBLAS_COMPUTE_16F";
    case CUBLAS_COMPUTE_16F_PEDANTIC: return "CUBLAS_COMPUTE_16F_PEDANTIC";
    case CUBLAS_COMPUTE_32F: return "CUBLAS_COMPUTE_32F";
    case CUBLAS_COMPUTE_32F_PEDANTIC: return "CUBLAS_COMPUTE_32F_PEDANTIC";
    case CUBLAS_COMPUTE_32F_FAST_16F: return "CUBLAS_COMPUTE_32F_FAST_16F";
    case CUBLAS_COMPUTE_32F_FAST_16BF: return "CUBLAS_COMPUTE_32F_FAST_16BF";
    case CUBLAS_COMPUTE_32F_FAST_TF32: return "CUBLAS_COMPUTE_32F_FAST_TF32";
    case CUBLAS_COMPUTE_64F: return "CUBLAS_COMPUTE_64F";
    case CUBLAS_COMPUTE_64F_PEDANTIC: return "CUBLAS_COMPUTE_64F_PEDANTIC";
    case CUBLAS_COMPUTE_32I: return "CUBLAS_COMPUTE_32I";
    case CUBLAS_COMPUTE_32I_PEDANTIC: return "CUBLAS_COMPUTE_32I_PEDANTIC";
    /* legacy cudaDataType values from C callers */
    case CUDA_R_16F: return "CUDA_R_16F";
    case CUDA_R_32F: return "CUDA_R_32F";
    default: return NULL;
    }
}

bool sh_cuda_scan_type(int t, enum sh_scan_type *out)
{
    switch (t) {
    case CUDA_R_16F: *out = SH_SCAN_F16; return true;
    case CUDA_R_16BF: *out = SH_SCAN_BF16; return true;
    case CUDA_R_32F: *out = SH_SCAN_F32; return true;
    default: return false;
    }
}

bool sh_cuda_scalar_nonzero(int t, const void *p)
{
    uint16_t h;
    uint32_t w[2];
    double d[2];
    switch (t) {
    case CUDA_R_16F:
    case CUDA_R_16BF:
        memcpy(&h, p, sizeof h);
        return (h & 0x7fffu) != 0;
    case CUDA_R_32F:
    case CUDA_C_32F:
        memcpy(w, p, t == CUDA_C_32F ? sizeof w : sizeof w[0]);
        return (w[0] & 0x7fffffffu) != 0 || (t == CUDA_C_32F && (w[1] & 0x7fffffffu) != 0);
    case CUDA_R_32I:
        memcpy(w, p, sizeof w[0]);
        return w[0] != 0;
    case CUDA_R_64F:
    case CUDA_C_64F:
        memcpy(d, p, t == CUDA_C_64F ? sizeof d : sizeof d[0]);
        return d[0] != 0.0 || (t == CUDA_C_64F && d[1] != 0.0);
    default:
        return true; /* a type not read here may hold anything */
    }
}
