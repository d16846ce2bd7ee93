/* gemm_plugin: a plugin shared library (think of a Python extension module)
 * that does FP16 GEMM work through cuBLAS. The host program loads it with
 * dlopen(RTLD_LOCAL | RTLD_NOW); libcublas and libcudart come in as its
 * dependencies, so their symbols are not in the global scope.
 *
 * int gemm_plugin_run(int k, int keep_going, struct gemm_plugin_result *r)
 *   the GEMM of onesgemm.h, through the cuBLAS it links. */
#include <cublas_v2.h>

#include "onesgemm.h"

__attribute__((visibility("default"))) int
gemm_plugin_run(int k, int keep_going, struct gemm_plugin_result *r)
{
    const struct ones_gemm_fns f = { cublasCreate_v2, cublasDestroy_v2, cublasGemmEx };
    return ones_gemm_run(&f, k, keep_going, r);
}
