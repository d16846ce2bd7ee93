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

/* A failed graph call is noted and the graph is not run: the child exits 1
 * or the busy thread stops. Only one thread builds graphs (the busy thread,
 * or a child, which has no other), and graph_add clears the note first. */
static int graph_bad;
#define DNNG_FAIL(what, status) (graph_bad = 1)
#include "dnngraph.h"

/* A packed half tensor [1, 2, 2, 2]. */
static cudnnBackendDescriptor_t tensor(int64_t uid)
{
    int64_t dim[4] = { 1, 2, 2, 2 };
    cudnnBackendDescriptor_t d = btensor_new(uid, CUDNN_DATA_HALF, 4, dim, NULL);
    bfinal(d);
    return d;
}

/* y (uid 3) = x (uid 1, ones) + b (uid 2, twos): every element 3. */
static int graph_add(void)
{
    graph_bad = 0;
    enum { PW, X, B, Y, OP, GRAPH, HEUR, CFG, PLAN, PACK, NDESC };
    cudnnBackendDescriptor_t d[NDESC] = { 0 };
    d[PW] = bpw_desc(CUDNN_POINTWISE_ADD, CUDNN_DATA_FLOAT);
    d[X] = tensor(1);
    d[B] = tensor(2);
    d[Y] = tensor(3);
    d[OP] = bpw_op_of(d[PW], d[X], d[B], d[Y], false);
    d[GRAPH] = bgraph_of(dnn, 1, &d[OP]);
    d[HEUR] = bheur(d[GRAPH], CUDNN_HEUR_MODE_A);
    d[CFG] = bfirst_cfg(d[HEUR]);
    d[PLAN] = bplan_of(dnn, d[CFG]);
    int64_t uids[3] = { 1, 2, 3 };
    void *ptrs[3] = { dx, db, dy };
    d[PACK] = bpack(3, uids, ptrs);
    int bad = graph_bad || cudnnBackendExecute(dnn, d[PLAN], d[PACK]) || cudaStreamSynchronize(0);
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
