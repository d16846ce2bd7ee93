/* fork_busy_app: forks workers while another thread is busy in cuBLASLt and
 * in cuDNN's graph API (a DataLoader starting its workers while a training
 * thread runs). Works on the emulated backend; on a real GPU a forked child
 * cannot use CUDA that its parent initialized.
 *
 *   fork_busy_app [--forks N]
 *
 * A thread repeats, until the forks are done: one cublasLtMatmul (8 x 8 x
 * 64, FP16 compute and scale, half alpha and beta in device memory, algo
 * NULL), and the building and execution of a one-operation cuDNN graph
 * (a pointwise ADD of two 8-element half tensors). The main thread forks N
 * times (default 200), one child at a time; each child does both once and
 * exits 0, or 1 when a call failed. A child still running after 5 s is
 * killed and counted as hung, and no more are forked.
 *
 * Prints busy_calls (the thread's rounds), children_ok, children_failed,
 * children_hung, and d0 and y0 (the last child's first matmul and ADD
 * elements: 64 and 3). Exit 0 when the program itself could run. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "apputil.h"

#define N 8
#define K 64

static cublasLtHandle_t lt;
static cudnnHandle_t dnn;
static void *dA, *dB, *dD, *dscal, *dx, *db, *dy;

static int fill(void **dev, size_t n, float v)
{
    half_t h[N * K];
    for (size_t i = 0; i < n; i++)
        h[i] = app_float_to_half(v);
    return cudaMalloc(dev, n * sizeof *h) != cudaSuccess ||
           cudaMemcpy(*dev, h, n * sizeof *h, cudaMemcpyHostToDevice) != cudaSuccess;
}

static half_t first(const void *dev)
{
    half_t h = { 0 };
    cudaMemcpy(&h, dev, sizeof h, cudaMemcpyDeviceToHost);
    return h;
}

/* D (8 x 8) = A (8 x 64, ones) B (64 x 8, ones): every element 64. */
static int matmul(void)
{
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, ld = NULL;
    cublasLtPointerMode_t mode = CUBLASLT_POINTER_MODE_DEVICE;
    int bad = cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_16F, CUDA_R_16F) ||
              cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &mode,
                                             sizeof mode) ||
              cublasLtMatrixLayoutCreate(&la, CUDA_R_16F, N, K, N) ||
              cublasLtMatrixLayoutCreate(&lb, CUDA_R_16F, K, N, K) ||
              cublasLtMatrixLayoutCreate(&ld, CUDA_R_16F, N, N, N) ||
              cublasLtMatmul(lt, desc, dscal, dA, la, dB, lb, (half_t *)dscal + 1, dD, ld, dD,
                             ld, NULL, NULL, 0, 0) ||
              cudaStreamSynchronize(0);
    cublasLtMatrixLayoutDestroy(ld);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatmulDescDestroy(desc);
    return bad;
}

/* ---- a one-operation cuDNN graph ------------------------------------------------------- */

static cudnnBackendDescriptor_t made(cudnnBackendDescriptorType_t t, int *bad)
{
    cudnnBackendDescriptor_t d = NULL;
    *bad |= cudnnBackendCreateDescriptor(t, &d) != CUDNN_STATUS_SUCCESS;
    return d;
}

static void set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                cudnnBackendAttributeType_t t, int64_t n, const void *v, int *bad)
{
    *bad |= !d || cudnnBackendSetAttribute(d, a, t, n, v) != CUDNN_STATUS_SUCCESS;
}

static void set_desc(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                     cudnnBackendDescriptor_t v, int *bad)
{
    set(d, a, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v, bad);
}

static void finalize(cudnnBackendDescriptor_t d, int *bad)
{
    *bad |= !d || cudnnBackendFinalize(d) != CUDNN_STATUS_SUCCESS;
}

/* A packed half tensor [1, 2, 2, 2]. */
static cudnnBackendDescriptor_t tensor(int64_t uid, int *bad)
{
    cudnnBackendDescriptor_t d = made(CUDNN_BACKEND_TENSOR_DESCRIPTOR, bad);
    int64_t dim[4] = { 1, 2, 2, 2 }, stride[4] = { 8, 4, 2, 1 }, align = 16;
    cudnnDataType_t t = CUDNN_DATA_HALF;
    set(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, bad);
    set(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &t, bad);
    set(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dim, bad);
    set(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, stride, bad);
    set(d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align, bad);
    finalize(d, bad);
    return d;
}

/* y (uid 3) = x (uid 1, ones) + b (uid 2, twos): every element 3. */
static int graph_add(void)
{
    int bad = 0;
    enum { PW, X, B, Y, OP, GRAPH, HEUR, CFG, PLAN, PACK, NDESC };
    cudnnBackendDescriptor_t d[NDESC] = { 0 };
    cudnnPointwiseMode_t add = CUDNN_POINTWISE_ADD;
    cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    d[PW] = made(CUDNN_BACKEND_POINTWISE_DESCRIPTOR, &bad);
    set(d[PW], CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &add, &bad);
    set(d[PW], CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec, &bad);
    finalize(d[PW], &bad);
    d[X] = tensor(1, &bad);
    d[B] = tensor(2, &bad);
    d[Y] = tensor(3, &bad);
    d[OP] = made(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, &bad);
    set_desc(d[OP], CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, d[PW], &bad);
    set_desc(d[OP], CUDNN_ATTR_OPERATION_POINTWISE_XDESC, d[X], &bad);
    set_desc(d[OP], CUDNN_ATTR_OPERATION_POINTWISE_BDESC, d[B], &bad);
    set_desc(d[OP], CUDNN_ATTR_OPERATION_POINTWISE_YDESC, d[Y], &bad);
    finalize(d[OP], &bad);
    d[GRAPH] = made(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &bad);
    set(d[GRAPH], CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d[OP], &bad);
    set(d[GRAPH], CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &dnn, &bad);
    finalize(d[GRAPH], &bad);
    cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    d[HEUR] = made(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &bad);
    set_desc(d[HEUR], CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, d[GRAPH], &bad);
    set(d[HEUR], CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, &bad);
    finalize(d[HEUR], &bad);
    d[CFG] = made(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &bad);
    int64_t n = 0;
    bad |= bad || cudnnBackendGetAttribute(d[HEUR], CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                           CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &d[CFG]) ||
           n < 1;
    d[PLAN] = made(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &bad);
    set(d[PLAN], CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &dnn, &bad);
    set_desc(d[PLAN], CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, d[CFG], &bad);
    finalize(d[PLAN], &bad);
    int64_t uids[3] = { 1, 2, 3 };
    void *ptrs[3] = { dx, db, dy }, *ws = NULL;
    d[PACK] = made(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &bad);
    set(d[PACK], CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids, &bad);
    set(d[PACK], CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs, &bad);
    set(d[PACK], CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws, &bad);
    finalize(d[PACK], &bad);
    bad |= bad || cudnnBackendExecute(dnn, d[PLAN], d[PACK]) || cudaStreamSynchronize(0);
    for (int i = NDESC - 1; i >= 0; i--)
        if (d[i])
            cudnnBackendDestroyDescriptor(d[i]);
    return bad;
}

/* ---- the busy thread, the forks ------------------------------------------------------- */

static atomic_int stop;
static atomic_long busy_calls;

static void *busy(void *arg)
{
    (void)arg;
    if (cudaSetDevice(0) != cudaSuccess) /* as a training thread does first */
        return NULL;
    while (!atomic_load(&stop) && !matmul() && !graph_add())
        atomic_fetch_add(&busy_calls, 1);
    return NULL;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The child's status: 0 ok, 1 a call failed, 124 hung (killed). */
static int run_child(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int bad = matmul() || graph_add();
        half_t d0 = first(dD), y0 = first(dy);
        printf("d0=%g\ny0=%g\n", app_half_to_float(d0), app_half_to_float(y0));
        fflush(stdout);
        _exit(bad);
    }
    int status = 0;
    for (int i = 0; i < 5000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        nap_ms(1);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return 124;
}

int main(int argc, char **argv)
{
    long forks = 200;
    if (argc == 3 && strcmp(argv[1], "--forks") == 0)
        forks = atol(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: fork_busy_app [--forks N]\n");
        return 64;
    }
    half_t scal[2] = { app_float_to_half(1), app_float_to_half(0) };
    if (fill(&dA, N * K, 1) || fill(&dB, K * N, 1) || fill(&dD, N * N, 0) ||
        fill(&dx, 8, 1) || fill(&db, 8, 2) || fill(&dy, 8, 0) ||
        cudaMalloc(&dscal, sizeof scal) ||
        cudaMemcpy(dscal, scal, sizeof scal, cudaMemcpyHostToDevice) || cublasLtCreate(&lt) ||
        cudnnCreate(&dnn)) {
        fprintf(stderr, "fork_busy_app: setup failed\n");
        return 1;
    }
    fflush(stdout);
    pthread_t t;
    if (pthread_create(&t, NULL, busy, NULL))
        return 1;
    long ok = 0, failed = 0, hung = 0;
    for (long i = 0; i < forks && !hung; i++) {
        int s = run_child();
        ok += s == 0;
        hung += s == 124;
        failed += s != 0 && s != 124;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("busy_calls=%ld\nchildren_ok=%ld\nchildren_failed=%ld\nchildren_hung=%ld\n",
           atomic_load(&busy_calls), ok, failed, hung);
    return 0;
}
