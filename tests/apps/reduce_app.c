/* reduce_app: an ordinary cuBLAS program (it knows nothing of safehalf)
 * making one of the mixed-precision level-1 calls on half vectors:
 *
 *   dot    cublasDotEx:  result = sum x_i * y_i
 *   nrm2   cublasNrm2Ex: result = sqrt(sum x_i^2)
 *   axpy   cublasAxpyEx: y_i = alpha * x_i + y_i
 *
 *   reduce_app [--op dot|nrm2|axpy] [--n N] [--value V] [--y Y] [--alpha A]
 *              [--exec 16F|32F] [--type 16F|16BF|32F] [--result 16F|16BF|32F]
 *              [--inc INC] [--device-scalars] [--64] [--calls R]
 *
 *   --n N            vector length (default 4096)
 *   --value V        every x_i (default 1)
 *   --y Y            every y_i (default 1 for dot, 0 for axpy)
 *   --alpha A        axpy's alpha (default 1), of the execution type: a half
 *                    for --exec 16F, a float for 32F
 *   --exec           the execution type (default 16F: FP16 accumulation)
 *   --type           x's and y's type (default 16F; 32F too)
 *   --result         dot's and nrm2's result type (default: --type)
 *   --inc INC        incx and incy (default 1; negative walks from the end)
 *   --device-scalars CUBLAS_POINTER_MODE_DEVICE: alpha and the result in
 *                    device memory (default: host memory)
 *   --64             the _64 entry points
 *   --calls R        make the same call R times (axpy accumulates)
 *
 * So the dot of 4096 ones with ones is 2048 with --exec 16F (the FP16 sum
 * stalls at 2048) and 4096 with --exec 32F; --n 70000 --exec 32F overflows
 * an FP16 result to +Inf.
 *
 * Output, one key=value per line, numbers printed exactly: status (of the
 * last failing call, 0 if none), and result (dot, nrm2) or out0 (y's first
 * element, in vector order), inf, nan (over y's n elements) and maxfinite
 * (largest finite |y_i|) for axpy. Exit 0 when every CUDA and cuBLAS call
 * succeeded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "apputil.h"

static const char *OP = "dot";
static long long NN = 4096, INC = 1;
static int CALLS = 1, DEVICE_SCALARS, USE64;
static double VALUE = 1, YVALUE = NAN, ALPHA = 1;
static cudaDataType TYPE = CUDA_R_16F, EXEC = CUDA_R_16F, RESULT = (cudaDataType)-1;

static int parse_type(const char *v, cudaDataType *t)
{
    if (!strcmp(v, "16F"))
        *t = CUDA_R_16F;
    else if (!strcmp(v, "16BF"))
        *t = CUDA_R_16BF;
    else if (!strcmp(v, "32F"))
        *t = CUDA_R_32F;
    else
        return -1;
    return 0;
}

#define TRY(call)                                                                          \
    do {                                                                                   \
        int e_ = (int)(call);                                                              \
        if (e_) {                                                                          \
            fprintf(stderr, "reduce_app: %s failed: %d\n", #call, e_);                     \
            printf("status=%d\n", e_);                                                     \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

static cublasStatus_t call(cublasHandle_t h, const void *x, void *y, const void *alpha,
                           void *result)
{
    long long n = NN, inc = INC;
    cudaDataType at = EXEC; /* alpha is given in the execution type */
    if (!strcmp(OP, "nrm2"))
        return USE64 ? cublasNrm2Ex_64(h, n, x, TYPE, inc, result, RESULT, EXEC)
                     : cublasNrm2Ex(h, (int)n, x, TYPE, (int)inc, result, RESULT, EXEC);
    if (!strcmp(OP, "axpy"))
        return USE64 ? cublasAxpyEx_64(h, n, alpha, at, x, TYPE, inc, y, TYPE, inc, EXEC)
                     : cublasAxpyEx(h, (int)n, alpha, at, x, TYPE, (int)inc, y, TYPE, (int)inc,
                                    EXEC);
    return USE64 ? cublasDotEx_64(h, n, x, TYPE, inc, y, TYPE, inc, result, RESULT, EXEC)
                 : cublasDotEx(h, (int)n, x, TYPE, (int)inc, y, TYPE, (int)inc, result, RESULT,
                               EXEC);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        int bad = 0;
        if (!strcmp(a, "--device-scalars")) DEVICE_SCALARS = 1;
        else if (!strcmp(a, "--64")) USE64 = 1;
        else if (!strcmp(a, "--op")) OP = v, i++;
        else if (!strcmp(a, "--n")) NN = atoll(v), i++;
        else if (!strcmp(a, "--value")) VALUE = atof(v), i++;
        else if (!strcmp(a, "--y")) YVALUE = atof(v), i++;
        else if (!strcmp(a, "--alpha")) ALPHA = atof(v), i++;
        else if (!strcmp(a, "--inc")) INC = atoll(v), i++;
        else if (!strcmp(a, "--calls")) CALLS = atoi(v), i++;
        else if (!strcmp(a, "--exec")) bad = parse_type(v, &EXEC), i++;
        else if (!strcmp(a, "--type")) bad = parse_type(v, &TYPE), i++;
        else if (!strcmp(a, "--result")) bad = parse_type(v, &RESULT), i++;
        else bad = 1;
        if (bad) {
            fprintf(stderr, "reduce_app: bad argument %s %s\n", a, v);
            return 64;
        }
    }
    int axpy = !strcmp(OP, "axpy");
    if ((strcmp(OP, "dot") && strcmp(OP, "nrm2") && !axpy) || NN < 1 || INC == 0 ||
        CALLS < 1) {
        fprintf(stderr, "reduce_app: bad arguments\n");
        return 64;
    }
    if ((int)RESULT == -1)
        RESULT = TYPE;
    if (isnan(YVALUE))
        YVALUE = axpy ? 0 : 1;

    /* Vectors with increment INC span (n - 1) * |INC| + 1 elements; fill
     * them whole, so every element a call reads has the value. */
    size_t span = (size_t)((NN - 1) * llabs(INC) + 1), es = app_type_size(TYPE);
    void *hx = malloc(span * es), *hy = malloc(span * es);
    if (!hx || !hy)
        return 1;
    for (size_t i = 0; i < span; i++) {
        app_put(hx, TYPE, i, (float)VALUE);
        app_put(hy, TYPE, i, (float)YVALUE);
    }
    void *x, *y, *dscal;
    cublasHandle_t h;
    cudaStream_t s;
    TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    TRY(cudaMalloc(&x, span * es));
    TRY(cudaMalloc(&y, span * es));
    TRY(cudaMalloc(&dscal, 8));
    TRY(cudaMemcpy(x, hx, span * es, cudaMemcpyHostToDevice));
    TRY(cudaMemcpy(y, hy, span * es, cudaMemcpyHostToDevice));
    TRY(cublasCreate(&h));
    TRY(cublasSetStream(h, s));

    unsigned char alpha[4] = { 0 }, result[4] = { 0 };
    app_put(alpha, EXEC, 0, (float)ALPHA);
    const void *alpha_arg = alpha;
    void *result_arg = result;
    if (DEVICE_SCALARS) {
        TRY(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE));
        TRY(cudaMemcpy(dscal, alpha, sizeof alpha, cudaMemcpyHostToDevice));
        alpha_arg = dscal;
        result_arg = (char *)dscal + 4;
    }
    for (int i = 0; i < CALLS; i++)
        TRY(call(h, x, y, alpha_arg, result_arg));
    TRY(cudaStreamSynchronize(s));

    printf("status=0\n");
    if (!axpy) {
        if (DEVICE_SCALARS)
            TRY(cudaMemcpy(result, result_arg, sizeof result, cudaMemcpyDeviceToHost));
        printf("result=%.17g\n", (double)app_get(result, RESULT, 0));
    } else {
        TRY(cudaMemcpy(hy, y, span * es, cudaMemcpyDeviceToHost));
        long inf = 0, nan = 0;
        float maxfinite = 0;
        size_t step = (size_t)llabs(INC), first = INC < 0 ? (size_t)(NN - 1) * step : 0;
        for (long long i = 0; i < NN; i++) {
            float v = app_get(hy, TYPE, (size_t)i * step);
            if (isnan(v))
                nan++;
            else if (isinf(v))
                inf++;
            else if (fabsf(v) > maxfinite)
                maxfinite = fabsf(v);
        }
        printf("out0=%.17g\ninf=%ld\nnan=%ld\nmaxfinite=%.17g\n", (double)app_get(hy, TYPE, first),
               inf, nan, (double)maxfinite);
    }
    cublasDestroy(h);
    cudaFree(x);
    cudaFree(y);
    cudaFree(dscal);
    cudaStreamDestroy(s);
    free(hx);
    free(hy);
    return 0;
}
