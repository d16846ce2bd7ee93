/* Names of CUDA data types and cuBLAS compute types in records, shared by
 * the cuBLAS and cuBLASLt interposers; NULL for a value without one (the
 * record then holds the number). */
#ifndef SAFEHALF_CUDANAMES_H
#define SAFEHALF_CUDANAMES_H

const char *sh_cuda_type_name(int t);
/* cublasComputeType_t, and the legacy CUDA_R_16F/CUDA_R_32F compute values
 * of C callers. */
const char *sh_cublas_compute_name(int t);

#endif
