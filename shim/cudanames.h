/* CUDA data types as the interposers share them: their names and cuBLAS
 * compute types' names in records (NULL for a value without one: the
 * record then holds the number), and the scan kernels' element type for
 * each (cuDNN's types reach it through sh_dnn_cuda_type). */
#ifndef SAFEHALF_CUDANAMES_H
#define SAFEHALF_CUDANAMES_H

#include <stdbool.h>

#include "scan.h"

const char *sh_cuda_type_name(int t);
/* cublasComputeType_t, and the legacy CUDA_R_16F/CUDA_R_32F compute values
 * of C callers. */
const char *sh_cublas_compute_name(int t);
/* The scan kernels' element type for a CUDA data type; false if none. */
bool sh_cuda_scan_type(int t, enum sh_scan_type *out);
/* Whether a scalar of CUDA data type t in host memory (an alpha or beta) is
 * not zero; true for a type it does not know, which may hold anything. */
bool sh_cuda_scalar_nonzero(int t, const void *p);

#endif
