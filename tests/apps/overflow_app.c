/* overflow_app: an ordinary cuBLAS program (it knows nothing of safehalf)
 * doing what torch.einsum('bnhw,bchw->bnc', masks, feats) does in FP16:
 * a batched GEMM with FP32 compute and an FP16 output, summing hw = k
 * products of a mask (1) and a feature (16.7 by default). 16,224 x 16.703125
 * (16.7 in FP16) is 270,990: above FP16's largest finite value, 65,504, so
 * every output element is +Inf although the accumulation was FP32.
 *
 * The call is the one PyTorch's bmm makes: cublasGemmStridedBatchedEx with
 * transa = T, transb = N, m = c, n = n, k = hw, A = feats (lda = hw),
 * B = masks (ldb = hw), C = out (ldc = c), CUDA_R_16F data, CUBLAS_COMPUTE_32F,
 * float alpha = 1 and beta = 0.
 *
 *   overflow_app [--k HW] [--value V] [--b B] [--n N] [--c C] [--calls R]
 *                [--entry strided|batched|gemm|hgemm|grouped|grouped64] [--bf16]
 *                [--nan-input]
 *                [--capture REPLAYS] [--threads T] [--crash] [--inf-c]
 *                [--beside-capture]
 *
 *   --value V      the features' value (1 gives a finite result)
 *   --calls R      make the same call R times
 *   --entry        cublasGemmStridedBatchedEx (default), cublasGemmBatchedEx
 *                  (device pointer arrays), cublasGemmEx or cublasHgemm on
 *                  batch 0 only, or cublasGemmGroupedBatchedEx (_64 for
 *                  grouped64) in two groups: group 0 is batch member 0 with
 *                  k = 1 (one product each: finite), group 1 the other
 *                  members with the full k
 *   --bf16         CUDA_R_16BF data (use a --value like 3e34 to overflow)
 *   --nan-input    the first feature is NaN: the output receives it
 *   --inf-c        the output holds +Inf before the call and beta is 1 (as
 *                  PyTorch's addmm adds a bias copied into C): the output
 *                  receives it from C, not from A or B
 *   --capture N    capture the call(s) on a stream into a CUDA graph and
 *                  launch the graph N times
 *   --threads T    T threads named overflow-worker, each with its own handle,
 *                  stream and data, none freed before every thread has made
 *                  its call(s)
 *   --crash        after the GEMM (not synchronized), dereference NULL
 *   --beside-capture  while the worker makes its call(s), the main thread
 *                  captures a memset on a stream of its own in
 *                  cudaStreamCaptureModeGlobal (as torch.cuda.graph does by
 *                  default while another thread runs a model): a call that
 *                  is unsafe during such a capture, made by the worker,
 *                  invalidates it; prints beside_capture_status
 *
 * Output, one key=value per line: status, out0 (first output element),
 * inf, nan (over the whole output), maxfinite (largest finite |x|); with
 * --capture also capture_status, graph_status. The four figures of the
 * output are printed only when it was read back: a call that failed before
 * leaves status (or capture_status, graph_status) and nothing measured.
 * Exit 0 when every CUDA and cuBLAS call succeeded. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "apputil.h"

static int K = 16224, B = 2, N = 3, C = 4, CALLS = 1, REPLAYS = 0, THREADS = 1;
static double VALUE = 16.7;
static const char *ENTRY = "strided";
static int BF16, NAN_INPUT, CRASH, INF_C, BESIDE;
/* --beside-capture: the worker and the capturing main thread take turns. */
static pthread_barrier_t turns;
/* --threads: no thread frees its stream before every thread has made its
 * call (or failed), so that the streams (and threads) a log names are all
 * distinct. */
static atomic_int arrived;

static void take_turn(void)
{
    if (BESIDE)
        pthread_barrier_wait(&turns);
}

static unsigned short to_bits(float f)
{
    if (!BF16)
        return app_float_to_half(f).x;
    return app_float_to_bf16(f);
}

static float from_bits(unsigned short b)
{
    if (!BF16)
        return app_half_to_float((half_t){ b });
    return app_bf16_to_float(b);
}

struct result {
    int status;
    float out0, maxfinite;
    long inf, nan;
    int capture_status, graph_status;
    int measured; /* the output was read back: the four figures are its */
    int arrived;  /* counted in arrived */
};

static void arrive(struct result *r)
{
    if (!r->arrived) {
        r->arrived = 1;
        atomic_fetch_add(&arrived, 1);
    }
}

#define TRY(call, where)                                                                   \
    do {                                                                                   \
        int e_ = (int)(call);                                                              \
        if (e_) {                                                                          \
            fprintf(stderr, "overflow_app: %s failed: %d\n", #call, e_);                  \
            where = e_;                                                                    \
            return;                                                                        \
        }                                                                                  \
    } while (0)

static cublasStatus_t gemm(cublasHandle_t h, const unsigned short *feats,
                           const unsigned short *masks, unsigned short *out, void **ptrs)
{
    const float one = 1.0f, beta = INF_C ? 1.0f : 0.0f;
    cudaDataType t = BF16 ? CUDA_R_16BF : CUDA_R_16F;
    long long sa = (long long)K * C, sb = (long long)K * N, sc = (long long)C * N;
    if (!strcmp(ENTRY, "batched"))
        return cublasGemmBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, C, N, K, &one,
                                   (const void *const *)ptrs, t, K,
                                   (const void *const *)(ptrs + B), t, K, &beta,
                                   (void *const *)(ptrs + 2 * B), t, C, B, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT);
    if (!strncmp(ENTRY, "grouped", 7)) {
        const void *const *arr = (const void *const *)ptrs;
        cublasOperation_t ta[2] = { CUBLAS_OP_T, CUBLAS_OP_T }, tb[2] = { CUBLAS_OP_N, CUBLAS_OP_N };
        float alpha[2] = { 1.0f, 1.0f }, betas[2] = { beta, beta };
        if (!strcmp(ENTRY, "grouped64")) {
            int64_t m[2] = { C, C }, n[2] = { N, N }, k[2] = { 1, K }, ld[2] = { K, K },
                    ldc[2] = { C, C }, size[2] = { 1, B - 1 };
            return cublasGemmGroupedBatchedEx_64(h, ta, tb, m, n, k, alpha, arr, t, ld, arr + B,
                                                 t, ld, betas, (void *const *)(ptrs + 2 * B), t,
                                                 ldc, 2, size, CUBLAS_COMPUTE_32F);
        }
        int m[2] = { C, C }, n[2] = { N, N }, k[2] = { 1, K }, ld[2] = { K, K }, ldc[2] = { C, C },
            size[2] = { 1, B - 1 };
        return cublasGemmGroupedBatchedEx(h, ta, tb, m, n, k, alpha, arr, t, ld, arr + B, t, ld,
                                          betas, (void *const *)(ptrs + 2 * B), t, ldc, 2, size,
                                          CUBLAS_COMPUTE_32F);
    }
    if (!strcmp(ENTRY, "gemm"))
        return cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, C, N, K, &one, feats, t, K, masks, t,
                            K, &beta, out, t, C, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (!strcmp(ENTRY, "hgemm")) {
        half_t h1 = app_float_to_half(1.0f), h0 = app_float_to_half(beta);
        return cublasHgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, C, N, K, &h1, (const half_t *)feats, K,
                           (const half_t *)masks, K, &h0, (half_t *)out, C);
    }
    return cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, C, N, K, &one, feats, t, K,
                                      sa, masks, t, K, sb, &beta, out, t, C, sc, B,
                                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

static void run(struct result *r)
{
    size_t nf = (size_t)B * C * K, nm = (size_t)B * N * K, no = (size_t)B * C * N;
    unsigned short *hf = malloc(nf * 2), *hm = malloc(nm * 2), *ho = malloc(no * 2);
    unsigned short *feats, *masks, *out;
    void **ptrs = NULL;
    cublasHandle_t h;
    cudaStream_t s;
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < nf; i++)
        hf[i] = to_bits((float)VALUE);
    if (NAN_INPUT)
        hf[0] = BF16 ? 0x7fc0 : 0x7e00;
    for (size_t i = 0; i < nm; i++)
        hm[i] = to_bits(1.0f);
    TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), r->status);
    TRY(cudaMalloc((void **)&feats, nf * 2), r->status);
    TRY(cudaMalloc((void **)&masks, nm * 2), r->status);
    TRY(cudaMalloc((void **)&out, no * 2), r->status);
    TRY(cudaMemcpy(feats, hf, nf * 2, cudaMemcpyHostToDevice), r->status);
    TRY(cudaMemcpy(masks, hm, nm * 2, cudaMemcpyHostToDevice), r->status);
    for (size_t i = 0; i < no; i++)
        ho[i] = INF_C ? (BF16 ? 0x7f80 : 0x7c00) : 0;
    TRY(cudaMemcpy(out, ho, no * 2, cudaMemcpyHostToDevice), r->status);
    if (!strcmp(ENTRY, "batched") || !strncmp(ENTRY, "grouped", 7)) {
        void *hp[3 * 64];
        for (int b = 0; b < B && b < 64; b++) {
            hp[b] = feats + (size_t)b * C * K;
            hp[B + b] = masks + (size_t)b * N * K;
            hp[2 * B + b] = out + (size_t)b * C * N;
        }
        TRY(cudaMalloc((void **)&ptrs, 3 * (size_t)B * sizeof(void *)), r->status);
        TRY(cudaMemcpy(ptrs, hp, 3 * (size_t)B * sizeof(void *), cudaMemcpyHostToDevice),
            r->status);
    }
    TRY(cublasCreate(&h), r->status);
    TRY(cublasSetStream(h, s), r->status);
    take_turn(); /* set up: the main thread begins its capture */
    take_turn();
    if (REPLAYS > 0) {
        cudaGraph_t g;
        cudaGraphExec_t ge;
        TRY(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), r->capture_status);
        for (int i = 0; i < CALLS; i++)
            TRY(gemm(h, feats, masks, out, ptrs), r->status);
        TRY(cudaStreamEndCapture(s, &g), r->capture_status);
        TRY(cudaGraphInstantiate(&ge, g, 0), r->graph_status);
        for (int i = 0; i < REPLAYS; i++)
            TRY(cudaGraphLaunch(ge, s), r->graph_status);
        cudaGraphExecDestroy(ge);
        cudaGraphDestroy(g);
    } else {
        for (int i = 0; i < CALLS; i++)
            TRY(gemm(h, feats, masks, out, ptrs), r->status);
    }
    take_turn(); /* called: the main thread ends its capture */
    take_turn();
    if (CRASH) {
        volatile int *nothing = NULL;
        r->status = *nothing;
    }
    TRY(cudaStreamSynchronize(s), r->status);
    TRY(cudaMemcpy(ho, out, no * 2, cudaMemcpyDeviceToHost), r->status);
    r->measured = 1;
    r->out0 = from_bits(ho[0]);
    for (size_t i = 0; i < no; i++) {
        float v = from_bits(ho[i]);
        if (isnan(v))
            r->nan++;
        else if (isinf(v))
            r->inf++;
        else if (fabsf(v) > r->maxfinite)
            r->maxfinite = fabsf(v);
    }
    arrive(r);
    while (atomic_load(&arrived) < THREADS)
        sched_yield();
    cublasDestroy(h);
    cudaFree(feats);
    cudaFree(masks);
    cudaFree(out);
    cudaFree(ptrs);
    cudaStreamDestroy(s);
    free(hf);
    free(hm);
    free(ho);
}

/* The main thread's capture beside the worker's calls; returns the first
 * failure (the end of a capture that something invalidated), 0 if none. */
static int beside_capture(void)
{
    cudaStream_t cs;
    void *buf;
    cudaGraph_t g = NULL;
    cudaGraphExec_t ge;
    int e = (int)cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking);
    if (!e)
        e = (int)cudaMalloc(&buf, 256);
    take_turn(); /* the worker is set up */
    if (!e)
        e = (int)cudaStreamBeginCapture(cs, cudaStreamCaptureModeGlobal);
    take_turn();
    take_turn(); /* the worker made its call(s) */
    if (!e)
        e = (int)cudaMemsetAsync(buf, 0, 256, cs);
    int end = (int)cudaStreamEndCapture(cs, &g);
    e = e ? e : end;
    if (!e)
        e = (int)cudaGraphInstantiate(&ge, g, 0);
    if (!e) {
        e = (int)cudaGraphLaunch(ge, cs);
        if (!e)
            e = (int)cudaStreamSynchronize(cs);
        cudaGraphExecDestroy(ge);
    }
    if (g)
        cudaGraphDestroy(g);
    take_turn();
    return e;
}

static void *thread_main(void *arg)
{
    if (THREADS > 1) /* a native thread with a name of its own, as PyTorch's autograd threads */
        pthread_setname_np(pthread_self(), "overflow-worker");
    run(arg);
    arrive(arg); /* a thread that failed before its cleanup */
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
        if (!strcmp(a, "--bf16")) BF16 = 1;
        else if (!strcmp(a, "--nan-input")) NAN_INPUT = 1;
        else if (!strcmp(a, "--inf-c")) INF_C = 1;
        else if (!strcmp(a, "--crash")) CRASH = 1;
        else if (!strcmp(a, "--beside-capture")) BESIDE = 1;
        else if (!strcmp(a, "--k")) K = atoi(v), i++;
        else if (!strcmp(a, "--value")) VALUE = atof(v), i++;
        else if (!strcmp(a, "--b")) B = atoi(v), i++;
        else if (!strcmp(a, "--n")) N = atoi(v), i++;
        else if (!strcmp(a, "--c")) C = atoi(v), i++;
        else if (!strcmp(a, "--calls")) CALLS = atoi(v), i++;
        else if (!strcmp(a, "--capture")) REPLAYS = atoi(v), i++;
        else if (!strcmp(a, "--threads")) THREADS = atoi(v), i++;
        else if (!strcmp(a, "--entry")) ENTRY = v, i++;
        else {
            fprintf(stderr, "overflow_app: unknown argument %s\n", a);
            return 64;
        }
    }
    if (B < 1 || B > 64 || THREADS < 1 || THREADS > 16 || (BF16 && !strcmp(ENTRY, "hgemm")) ||
        (BESIDE && (THREADS > 1 || REPLAYS || CRASH))) {
        fprintf(stderr, "overflow_app: bad arguments\n");
        return 64;
    }
    struct result res[16];
    pthread_t t[16];
    if (BESIDE)
        pthread_barrier_init(&turns, NULL, 2);

    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, thread_main, &res[i]);
    int bad = 0;
    if (BESIDE) {
        int e = beside_capture();
        printf("beside_capture_status=%d\n", e);
        bad |= e;
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        const struct result *r = &res[i];
        bad |= r->status | r->capture_status | r->graph_status;
        if (i == 0 || r->status || r->inf != res[0].inf) {
            printf("status=%d\n", r->status);
            if (r->measured)
                printf("out0=%.9g\ninf=%ld\nnan=%ld\nmaxfinite=%.9g\n", r->out0, r->inf, r->nan,
                       r->maxfinite);
            if (REPLAYS)
                printf("capture_status=%d\ngraph_status=%d\n", r->capture_status,
                       r->graph_status);
        }
    }
    return bad ? 1 : 0;
}
