/* gemm_app: an ordinary cuBLAS program (it knows nothing of safehalf) that
 * runs one half-precision GEMM through a chosen cuBLAS entry point and prints
 * what it got, one `key=value` per line.
 *
 *   gemm_app ENTRY [--m M] [--n N] [--k K] [--batch B]
 *                  [--data ones|random|splitk|big] [--ptr host|device]
 *                  [--compute 16F|16F_PEDANTIC|32F|32F_PEDANTIC|fast16f|legacy16f]
 *                  [--type 16F|16BF] [--value V] [--beta B]
 *                  [--math MODE] [--seed S]
 *   gemm_app mathmode      create a handle, print the math mode, set
 *                          CUBLAS_TF32_TENSOR_OP_MATH, print it again
 *   gemm_app mathmode-set MODE...
 *                          create a handle, set each MODE in turn (a call
 *                          cuBLAS refuses included) and print set<i>_status
 *                          and the mode read back after it, mode<i>
 *   gemm_app cudaonly      cudaMalloc/cudaMemcpy/cudaFree, no cuBLAS call
 *
 * ENTRY is the exported symbol: cublasHgemm, cublasHgemmBatched,
 * cublasHgemmStridedBatched, cublasGemmEx, cublasGemmBatchedEx,
 * cublasGemmStridedBatchedEx, cublasSgemmEx, each also with the _64 suffix.
 * cublasSgemmEx has no compute type (it always computes in FP32) and takes
 * float alpha and beta.
 *
 * --type is the type of A, B and C for the 16-bit data kinds: CUDA_R_16F
 * (the default; the only one the Hgemm entries take) or CUDA_R_16BF.
 * --beta B (default 0): C starts at 0, so the result is the same, but a
 * beta other than 0 makes C an input of the call too.
 *
 * Data (column-major, both operands CUBLAS_OP_N, alpha = 1):
 *   ones    A = V (--value, default 1), B = 1: every C element is k V. With
 *           FP16 accumulation (rounding the running sum to FP16 after every
 *           add) a sum of ones stops growing at 2048; with FP32 accumulation
 *           it is exact.
 *   random  A, B uniform in [-1,1] (fixed seed), rounded to the data type;
 *           errors are measured against a double-precision product of the
 *           same rounded inputs.
 *   splitk  FP16 A/B/C, FP32 compute (default). A = 1; every column of B
 *           holds, in four chunks of k/4 (k >= 4096, k % 4 == 0):
 *             chunk 0: 2.0 ... 2.0, 2.75   sum = 2(k/4 - 1) + 2.75
 *             chunk 1: -2.0 ... -2.0, -1.0 sum = -(2(k/4 - 1) + 1)
 *             chunks 2, 3: 0
 *           The exact product is 1.75 (representable in FP16). For k = 4096
 *           the chunk sums are 2048.75 and -2047: a split-K reduction that
 *           rounds each chunk's partial to FP16 (2048, -2047) and adds the
 *           partials in FP16 gets 1.0; an unsplit FP32 reduction gets 1.75.
 *   big     FP32 A/B/C (default compute fast16f), k = 4 by default: A has
 *           70000 in its first column and 0 elsewhere, B = 1: every C element
 *           is 70000 in FP32, Inf once the inputs are down-converted to FP16.
 *
 * Output: entry, m, n, k, batch, status (the GEMM's cublasStatus_t),
 * c0 (C[0] of the first batch), cmin, cmax, clast (last element of the last
 * batch), inf, nan (counts over all of C), ref0 (double reference of C[0]),
 * max_abs_err, max_rel_err (max |C - ref| / max |ref|, over all batches).
 * Exit status: 0 when every CUDA and cuBLAS call succeeded, 1 on a CUDA
 * runtime error, 2 on a cuBLAS error (the failing status is printed first). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "apputil.h"

#define CUDA_CHECK(call)                                                       \
    do {                                                                       \
        cudaError_t err_ = (call);                                             \
        if (err_ != cudaSuccess) {                                             \
            printf("cuda_error=%d\n", (int)err_);                              \
            printf("cuda_error_call=%s\n", #call);                             \
            fprintf(stderr, "gemm_app: %s failed: %s\n", #call,                \
                    cudaGetErrorString(err_));                                 \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define CUBLAS_CHECK(call)                                                     \
    do {                                                                       \
        cublasStatus_t st_ = (call);                                           \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                    \
            printf("status=%d\n", (int)st_);                                   \
            printf("failed_call=%s\n", #call);                                 \
            fprintf(stderr, "gemm_app: %s failed: status %d\n", #call,         \
                    (int)st_);                                                 \
            exit(2);                                                           \
        }                                                                      \
    } while (0)

enum family { FAM_H, FAM_EX, FAM_SEX /* cublasSgemmEx */ };
enum shape { SHAPE_PLAIN, SHAPE_BATCHED, SHAPE_STRIDED };
enum data { DATA_ONES, DATA_RANDOM, DATA_SPLITK, DATA_BIG };

struct entry {
    const char *name;
    enum family fam;
    enum shape shape;
    int is64;
};

static const struct entry entries[] = {
    {"cublasHgemm", FAM_H, SHAPE_PLAIN, 0},
    {"cublasHgemm_64", FAM_H, SHAPE_PLAIN, 1},
    {"cublasHgemmBatched", FAM_H, SHAPE_BATCHED, 0},
    {"cublasHgemmBatched_64", FAM_H, SHAPE_BATCHED, 1},
    {"cublasHgemmStridedBatched", FAM_H, SHAPE_STRIDED, 0},
    {"cublasHgemmStridedBatched_64", FAM_H, SHAPE_STRIDED, 1},
    {"cublasGemmEx", FAM_EX, SHAPE_PLAIN, 0},
    {"cublasGemmEx_64", FAM_EX, SHAPE_PLAIN, 1},
    {"cublasGemmBatchedEx", FAM_EX, SHAPE_BATCHED, 0},
    {"cublasGemmBatchedEx_64", FAM_EX, SHAPE_BATCHED, 1},
    {"cublasGemmStridedBatchedEx", FAM_EX, SHAPE_STRIDED, 0},
    {"cublasGemmStridedBatchedEx_64", FAM_EX, SHAPE_STRIDED, 1},
    {"cublasSgemmEx", FAM_SEX, SHAPE_PLAIN, 0},
    {"cublasSgemmEx_64", FAM_SEX, SHAPE_PLAIN, 1},
};

static void usage(void)
{
    fprintf(stderr,
            "usage: gemm_app ENTRY [--m M] [--n N] [--k K] [--batch B]\n"
            "                [--data ones|random|splitk|big] [--ptr host|device]\n"
            "                [--compute 16F|16F_PEDANTIC|32F|32F_PEDANTIC|fast16f|legacy16f]\n"
            "                [--type 16F|16BF] [--value V] [--beta B]\n"
            "                [--math MODE] [--seed S]\n"
            "       gemm_app mathmode | mathmode-set MODE... | cudaonly\n");
    exit(64);
}

static int parse_compute(const char *s, cublasComputeType_t *out)
{
    static const struct { const char *name; cublasComputeType_t v; } t[] = {
        {"16F", CUBLAS_COMPUTE_16F},
        {"16F_PEDANTIC", CUBLAS_COMPUTE_16F_PEDANTIC},
        {"32F", CUBLAS_COMPUTE_32F},
        {"32F_PEDANTIC", CUBLAS_COMPUTE_32F_PEDANTIC},
        {"fast16f", CUBLAS_COMPUTE_32F_FAST_16F},
        {"32F_FAST_16F", CUBLAS_COMPUTE_32F_FAST_16F},
        {"fast16bf", CUBLAS_COMPUTE_32F_FAST_16BF},
        {"fasttf32", CUBLAS_COMPUTE_32F_FAST_TF32},
        /* what a C caller of the pre-11 API passes */
        {"legacy16f", (cublasComputeType_t)CUDA_R_16F},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(s, t[i].name) == 0) {
            *out = t[i].v;
            return 0;
        }
    return -1;
}

static int mode_mathmode(void)
{
    cublasHandle_t h;
    cublasMath_t mode = (cublasMath_t)-1;
    CUBLAS_CHECK(cublasCreate(&h));
    CUBLAS_CHECK(cublasGetMathMode(h, &mode));
    printf("mode_after_create=%d\n", (int)mode);
    cublasStatus_t st = cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH);
    printf("set_status=%d\n", (int)st);
    CUBLAS_CHECK(st);
    mode = (cublasMath_t)-1;
    CUBLAS_CHECK(cublasGetMathMode(h, &mode));
    printf("mode_after_set=%d\n", (int)mode);
    CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
    mode = (cublasMath_t)-1;
    CUBLAS_CHECK(cublasGetMathMode(h, &mode));
    printf("mode_after_reset=%d\n", (int)mode);
    CUBLAS_CHECK(cublasDestroy(h));
    printf("status=0\n");
    return 0;
}

static int mode_mathmode_set(int nmodes, char **modes)
{
    cublasHandle_t h;
    CUBLAS_CHECK(cublasCreate(&h));
    for (int i = 0; i < nmodes; i++) {
        cublasMath_t mode = (cublasMath_t)-1;
        printf("set%d_status=%d\n", i, (int)cublasSetMathMode(h, (cublasMath_t)atoi(modes[i])));
        CUBLAS_CHECK(cublasGetMathMode(h, &mode));
        printf("mode%d=%d\n", i, (int)mode);
    }
    CUBLAS_CHECK(cublasDestroy(h));
    printf("status=0\n");
    return 0;
}

static int mode_cudaonly(void)
{
    float host[16], back[16];
    void *d = NULL;
    for (int i = 0; i < 16; i++)
        host[i] = (float)i;
    CUDA_CHECK(cudaMalloc(&d, sizeof host));
    CUDA_CHECK(cudaMemcpy(d, host, sizeof host, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(back, d, sizeof back, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaFree(d));
    printf("roundtrip=%d\n", memcmp(host, back, sizeof host) == 0);
    printf("status=0\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "mathmode") == 0)
        return mode_mathmode();
    if (strcmp(argv[1], "mathmode-set") == 0)
        return mode_mathmode_set(argc - 2, argv + 2);
    if (strcmp(argv[1], "cudaonly") == 0)
        return mode_cudaonly();

    const struct entry *e = NULL;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        if (strcmp(argv[1], entries[i].name) == 0)
            e = &entries[i];
    if (!e) {
        fprintf(stderr, "gemm_app: unknown entry point '%s'\n", argv[1]);
        usage();
    }

    long long m = -1, n = -1, k = -1, batch = -1, math = -1;
    enum data data = DATA_ONES;
    int ptr_device = 0, have_compute = 0, have_type = 0;
    cudaDataType type16 = CUDA_R_16F;
    double value = 1.0, beta_value = 0.0;
    unsigned long long seed = 12345;
    cublasComputeType_t compute = CUBLAS_COMPUTE_16F;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--m") == 0)
            m = atoll(v);
        else if (strcmp(a, "--n") == 0)
            n = atoll(v);
        else if (strcmp(a, "--k") == 0)
            k = atoll(v);
        else if (strcmp(a, "--batch") == 0)
            batch = atoll(v);
        else if (strcmp(a, "--math") == 0)
            math = atoll(v);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoull(v, NULL, 0);
        else if (strcmp(a, "--value") == 0)
            value = atof(v);
        else if (strcmp(a, "--beta") == 0)
            beta_value = atof(v);
        else if (strcmp(a, "--type") == 0) {
            if (strcmp(v, "16F") == 0)
                type16 = CUDA_R_16F;
            else if (strcmp(v, "16BF") == 0)
                type16 = CUDA_R_16BF;
            else
                usage();
            have_type = 1;
        } else if (strcmp(a, "--ptr") == 0) {
            if (strcmp(v, "host") == 0)
                ptr_device = 0;
            else if (strcmp(v, "device") == 0)
                ptr_device = 1;
            else
                usage();
        } else if (strcmp(a, "--data") == 0) {
            if (strcmp(v, "ones") == 0)
                data = DATA_ONES;
            else if (strcmp(v, "random") == 0)
                data = DATA_RANDOM;
            else if (strcmp(v, "splitk") == 0)
                data = DATA_SPLITK;
            else if (strcmp(v, "big") == 0)
                data = DATA_BIG;
            else
                usage();
        } else if (strcmp(a, "--compute") == 0) {
            if (parse_compute(v, &compute) != 0)
                usage();
            have_compute = 1;
        } else
            usage();
    }

    /* Defaults per data kind. */
    if (m < 0)
        m = data == DATA_RANDOM ? 64 : data == DATA_BIG ? 2 : 16;
    if (n < 0)
        n = data == DATA_RANDOM ? 64 : data == DATA_BIG ? 2 : 16;
    if (k < 0)
        k = data == DATA_BIG ? 4 : 4096;
    if (batch < 0)
        batch = e->shape == SHAPE_PLAIN ? 1 : 3;
    if (e->shape == SHAPE_PLAIN)
        batch = 1;
    if (!have_compute)
        compute = data == DATA_SPLITK ? CUBLAS_COMPUTE_32F
                : data == DATA_BIG    ? CUBLAS_COMPUTE_32F_FAST_16F
                                      : CUBLAS_COMPUTE_16F;
    if (m <= 0 || n <= 0 || k <= 0 || batch <= 0) {
        fprintf(stderr, "gemm_app: sizes must be positive\n");
        return 64;
    }
    if (data == DATA_SPLITK && (k < 8 || k % 4 != 0)) {
        fprintf(stderr, "gemm_app: --data splitk needs k a multiple of 4\n");
        return 64;
    }
    if (data == DATA_BIG && e->fam == FAM_H) {
        fprintf(stderr, "gemm_app: --data big needs a GemmEx entry point\n");
        return 64;
    }
    if (have_type && (data == DATA_BIG || (e->fam == FAM_H && type16 != CUDA_R_16F))) {
        fprintf(stderr, "gemm_app: --type needs 16-bit data and an Ex entry point\n");
        return 64;
    }
    if (have_compute && e->fam == FAM_SEX) {
        fprintf(stderr, "gemm_app: cublasSgemmEx has no compute type\n");
        return 64;
    }

    /* Types. */
    const int fp32_data = data == DATA_BIG;
    const cudaDataType dtype = fp32_data ? CUDA_R_32F : type16;
    const size_t esize = app_type_size(dtype);
    const int half_scalars =
        e->fam == FAM_H ||
        (e->fam == FAM_EX &&
         (compute == CUBLAS_COMPUTE_16F || compute == CUBLAS_COMPUTE_16F_PEDANTIC ||
          compute == (cublasComputeType_t)CUDA_R_16F));

    const size_t a_elems = (size_t)m * (size_t)k;
    const size_t b_elems = (size_t)k * (size_t)n;
    const size_t c_elems = (size_t)m * (size_t)n;
    const size_t nb = (size_t)batch;

    /* Host data, as doubles (exactly the values stored), then packed. */
    double *ha = malloc(a_elems * nb * sizeof(double));
    double *hb = malloc(b_elems * nb * sizeof(double));
    double *ref = calloc(c_elems * nb, sizeof(double));
    void *pa = malloc(a_elems * nb * esize);
    void *pb = malloc(b_elems * nb * esize);
    void *pc = malloc(c_elems * nb * esize);
    if (!ha || !hb || !ref || !pa || !pb || !pc) {
        fprintf(stderr, "gemm_app: out of host memory\n");
        return 1;
    }
    app_rng rng = {seed ? seed : 1};
    const size_t q = (size_t)k / 4;
    for (size_t b = 0; b < nb; b++) {
        for (size_t l = 0; l < (size_t)k; l++)
            for (size_t i = 0; i < (size_t)m; i++) {
                double v;
                switch (data) {
                case DATA_RANDOM: v = app_rng_sym(&rng); break;
                case DATA_BIG: v = l == 0 ? 70000.0 : 0.0; break;
                default: v = data == DATA_ONES ? value : 1.0; break;
                }
                ha[b * a_elems + l * (size_t)m + i] = v;
            }
        for (size_t j = 0; j < (size_t)n; j++)
            for (size_t l = 0; l < (size_t)k; l++) {
                double v;
                switch (data) {
                case DATA_RANDOM: v = app_rng_sym(&rng); break;
                case DATA_SPLITK:
                    if (l < q)
                        v = l == q - 1 ? 2.75 : 2.0;
                    else if (l < 2 * q)
                        v = l == 2 * q - 1 ? -1.0 : -2.0;
                    else
                        v = 0.0;
                    break;
                default: v = 1.0; break;
                }
                hb[b * b_elems + j * (size_t)k + l] = v;
            }
    }
    /* Pack and replace by the stored value (FP16 or BF16 rounding). */
    for (size_t i = 0; i < a_elems * nb; i++) {
        app_put(pa, dtype, i, (float)ha[i]);
        ha[i] = app_get(pa, dtype, i);
    }
    for (size_t i = 0; i < b_elems * nb; i++) {
        app_put(pb, dtype, i, (float)hb[i]);
        hb[i] = app_get(pb, dtype, i);
    }
    memset(pc, 0, c_elems * nb * esize);
    for (size_t b = 0; b < nb; b++)
        for (size_t j = 0; j < (size_t)n; j++)
            for (size_t i = 0; i < (size_t)m; i++) {
                double s = 0.0;
                for (size_t l = 0; l < (size_t)k; l++)
                    s += ha[b * a_elems + l * (size_t)m + i] *
                         hb[b * b_elems + j * (size_t)k + l];
                ref[b * c_elems + j * (size_t)m + i] = s;
            }

    /* Device buffers. */
    void *da = NULL, *db = NULL, *dc = NULL, *dscal = NULL;
    void **dparr = NULL; /* device array of 3*batch pointers: A[], B[], C[] */
    CUDA_CHECK(cudaMalloc(&da, a_elems * nb * esize));
    CUDA_CHECK(cudaMalloc(&db, b_elems * nb * esize));
    CUDA_CHECK(cudaMalloc(&dc, c_elems * nb * esize));
    CUDA_CHECK(cudaMemcpy(da, pa, a_elems * nb * esize, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(db, pb, b_elems * nb * esize, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dc, pc, c_elems * nb * esize, cudaMemcpyHostToDevice));
    if (e->shape == SHAPE_BATCHED) {
        void **hp = malloc(3 * nb * sizeof(void *));
        if (!hp)
            return 1;
        for (size_t b = 0; b < nb; b++) {
            hp[b] = (char *)da + b * a_elems * esize;
            hp[nb + b] = (char *)db + b * b_elems * esize;
            hp[2 * nb + b] = (char *)dc + b * c_elems * esize;
        }
        CUDA_CHECK(cudaMalloc((void **)&dparr, 3 * nb * sizeof(void *)));
        CUDA_CHECK(cudaMemcpy(dparr, hp, 3 * nb * sizeof(void *),
                              cudaMemcpyHostToDevice));
        free(hp);
    }

    /* Scalars: alpha = 1, beta (0 by default), in the type the API expects. */
    half_t halpha = app_float_to_half(1.0f), hbeta = app_float_to_half((float)beta_value);
    float falpha = 1.0f, fbeta = (float)beta_value;
    half_t hscal[2] = {halpha, hbeta};
    float fscal[2] = {falpha, fbeta};
    const void *alpha = half_scalars ? (const void *)&halpha : (const void *)&falpha;
    const void *beta = half_scalars ? (const void *)&hbeta : (const void *)&fbeta;

    cublasHandle_t h;
    CUBLAS_CHECK(cublasCreate(&h));
    if (math >= 0)
        CUBLAS_CHECK(cublasSetMathMode(h, (cublasMath_t)math));
    if (ptr_device) {
        CUDA_CHECK(cudaMalloc(&dscal, sizeof fscal));
        if (half_scalars)
            CUDA_CHECK(cudaMemcpy(dscal, hscal, sizeof hscal, cudaMemcpyHostToDevice));
        else
            CUDA_CHECK(cudaMemcpy(dscal, fscal, sizeof fscal, cudaMemcpyHostToDevice));
        CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE));
        alpha = dscal;
        beta = (const char *)dscal + (half_scalars ? sizeof(half_t) : sizeof(float));
    }

    const cublasOperation_t N = CUBLAS_OP_N;
    const long long sA = (long long)a_elems, sB = (long long)b_elems,
                    sC = (long long)c_elems;
    const void *const *Aarr = (const void *const *)dparr;
    const void *const *Barr = dparr ? (const void *const *)(dparr + nb) : NULL;
    void *const *Carr = dparr ? (void *const *)(dparr + 2 * nb) : NULL;
    const int im = (int)m, in = (int)n, ik = (int)k, ib = (int)batch;
    const cublasGemmAlgo_t algo = CUBLAS_GEMM_DEFAULT;
    cublasStatus_t st = CUBLAS_STATUS_NOT_SUPPORTED;

    if (e->fam == FAM_H) {
        const half_t *ha_ = alpha, *hb_ = beta;
        if (e->shape == SHAPE_PLAIN)
            st = e->is64 ? cublasHgemm_64(h, N, N, m, n, k, ha_, da, m, db, k, hb_, dc, m)
                         : cublasHgemm(h, N, N, im, in, ik, ha_, da, im, db, ik, hb_, dc, im);
        else if (e->shape == SHAPE_BATCHED)
            st = e->is64
                ? cublasHgemmBatched_64(h, N, N, m, n, k, ha_,
                                        (const half_t *const *)Aarr, m,
                                        (const half_t *const *)Barr, k, hb_,
                                        (half_t *const *)Carr, m, batch)
                : cublasHgemmBatched(h, N, N, im, in, ik, ha_,
                                     (const half_t *const *)Aarr, im,
                                     (const half_t *const *)Barr, ik, hb_,
                                     (half_t *const *)Carr, im, ib);
        else
            st = e->is64
                ? cublasHgemmStridedBatched_64(h, N, N, m, n, k, ha_, da, m, sA,
                                               db, k, sB, hb_, dc, m, sC, batch)
                : cublasHgemmStridedBatched(h, N, N, im, in, ik, ha_, da, im, sA,
                                            db, ik, sB, hb_, dc, im, sC, ib);
    } else if (e->fam == FAM_SEX) {
        st = e->is64 ? cublasSgemmEx_64(h, N, N, m, n, k, alpha, da, dtype, m, db, dtype, k,
                                        beta, dc, dtype, m)
                     : cublasSgemmEx(h, N, N, im, in, ik, alpha, da, dtype, im, db, dtype, ik,
                                     beta, dc, dtype, im);
    } else {
        if (e->shape == SHAPE_PLAIN)
            st = e->is64
                ? cublasGemmEx_64(h, N, N, m, n, k, alpha, da, dtype, m, db, dtype,
                                  k, beta, dc, dtype, m, compute, algo)
                : cublasGemmEx(h, N, N, im, in, ik, alpha, da, dtype, im, db, dtype,
                               ik, beta, dc, dtype, im, compute, algo);
        else if (e->shape == SHAPE_BATCHED)
            st = e->is64
                ? cublasGemmBatchedEx_64(h, N, N, m, n, k, alpha, Aarr, dtype, m,
                                         Barr, dtype, k, beta, Carr, dtype, m,
                                         batch, compute, algo)
                : cublasGemmBatchedEx(h, N, N, im, in, ik, alpha, Aarr, dtype, im,
                                      Barr, dtype, ik, beta, Carr, dtype, im, ib,
                                      compute, algo);
        else
            st = e->is64
                ? cublasGemmStridedBatchedEx_64(h, N, N, m, n, k, alpha, da, dtype,
                                                m, sA, db, dtype, k, sB, beta, dc,
                                                dtype, m, sC, batch, compute, algo)
                : cublasGemmStridedBatchedEx(h, N, N, im, in, ik, alpha, da, dtype,
                                             im, sA, db, dtype, ik, sB, beta, dc,
                                             dtype, im, sC, ib, compute, algo);
    }

    printf("entry=%s\n", e->name);
    printf("m=%lld\nn=%lld\nk=%lld\nbatch=%lld\n", m, n, k, batch);
    printf("status=%d\n", (int)st);
    if (st != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "gemm_app: %s failed: status %d\n", e->name, (int)st);
        return 2;
    }
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(pc, dc, c_elems * nb * esize, cudaMemcpyDeviceToHost));

    double cmin = INFINITY, cmax = -INFINITY, max_abs = 0.0, ref_max = 0.0;
    size_t ninf = 0, nnan = 0;
    double c0 = 0.0, clast = 0.0;
    for (size_t i = 0; i < c_elems * nb; i++) {
        double c = app_get(pc, dtype, i);
        if (i == 0)
            c0 = c;
        clast = c;
        if (isnan(c)) {
            nnan++;
            max_abs = INFINITY;
            continue;
        }
        if (isinf(c))
            ninf++;
        if (c < cmin)
            cmin = c;
        if (c > cmax)
            cmax = c;
        double d = fabs(c - ref[i]);
        if (d > max_abs)
            max_abs = d;
        if (fabs(ref[i]) > ref_max)
            ref_max = fabs(ref[i]);
    }
    printf("c0=%.9g\ncmin=%.9g\ncmax=%.9g\nclast=%.9g\n", c0, cmin, cmax, clast);
    printf("inf=%zu\nnan=%zu\n", ninf, nnan);
    printf("ref0=%.17g\n", ref[0]);
    printf("max_abs_err=%.9g\n", max_abs);
    printf("max_rel_err=%.9g\n", ref_max > 0 ? max_abs / ref_max : max_abs);

    CUBLAS_CHECK(cublasDestroy(h));
    CUDA_CHECK(cudaFree(da));
    CUDA_CHECK(cudaFree(db));
    CUDA_CHECK(cudaFree(dc));
    if (dparr)
        CUDA_CHECK(cudaFree(dparr));
    if (dscal)
        CUDA_CHECK(cudaFree(dscal));
    free(ha);
    free(hb);
    free(ref);
    free(pa);
    free(pb);
    free(pc);
    return 0;
}
