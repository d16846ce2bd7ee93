// Every prototype in the shim's tables, declared again next to NVIDIA's own
// declarations: a wrapper whose parameter types drift from the official
// header is a "conflicting declaration of C function" and fails the build.
#include <cublasLt.h>
#include <cublas_api.h>
#include <cudnn.h>
#include <cstdint>

typedef __half sh_half;
static_assert(sizeof(__half) == 2 && alignof(__half) == 2, "sh_half must match __half");

#include "cublas_table.h"
#include "cublaslt_table.h"
#include "cudnn_table.h"

#define SH_DECLARE(ret, name, params, ...) extern "C" ret name params;
SH_CUBLAS_INTERCEPT(SH_DECLARE)
SH_CUBLAS_USE(SH_DECLARE)
SH_CUBLASLT_INTERCEPT(SH_DECLARE)
SH_CUBLASLT_WATCH(SH_DECLARE)
SH_CUBLASLT_USE(SH_DECLARE)
SH_CUDNN_INTERCEPT(SH_DECLARE)
SH_CUDNN_USE(SH_DECLARE)

int main()
{
    return 0;
}
