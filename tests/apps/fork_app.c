/* fork_app: a cuBLAS program that forks a worker which does its own GEMM
 * (like a training script whose DataLoader worker, or a multiprocessing pool,
 * also touches the GPU library). Works on the emulated backend; on a real GPU
 * a forked child cannot use CUDA that its parent initialized.
 *
 * The parent sums 4096 products of 1.0 with CUBLAS_COMPUTE_16F, forks, the
 * child creates its own handle and does the same, the parent waits.
 * Prints parent_c0, child_c0 (written by the child), child_pid, child_status.
 *
 *   fork_app --fork-during-first-call FIFO
 *
 * A worker thread makes the process's first cuBLAS calls while the main
 * thread forks (a DataLoader starting its workers as a training thread
 * begins): the fork comes while the worker is opening a file for writing,
 * held there because the file is the named pipe FIFO, which the parent
 * opens for reading only after the fork (and keeps open: it is where a
 * log given as FIFO goes). A child still running after 10 s is killed:
 * child_status=124. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

static float gemm_ones(int k)
{
    const int n = 8;
    unsigned short *h = malloc(sizeof *h * (size_t)n * k);
    for (int i = 0; i < n * k; i++)
        h[i] = 0x3c00; /* 1.0 */
    void *A, *B, *C;
    cublasHandle_t handle;
    unsigned short one = 0x3c00, zero = 0, c0 = 0;
    if (cudaMalloc(&A, 2 * (size_t)n * k) || cudaMalloc(&B, 2 * (size_t)n * k) ||
        cudaMalloc(&C, 2 * (size_t)n * n) || cublasCreate(&handle))
        return -1;
    cudaMemcpy(A, h, 2 * (size_t)n * k, cudaMemcpyHostToDevice);
    cudaMemcpy(B, h, 2 * (size_t)n * k, cudaMemcpyHostToDevice);
    cublasStatus_t s = cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, k, &one, A,
                                    CUDA_R_16F, n, B, CUDA_R_16F, k, &zero, C, CUDA_R_16F, n,
                                    CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT);
    cudaMemcpy(&c0, C, 2, cudaMemcpyDeviceToHost);
    cublasDestroy(handle);
    cudaFree(A);
    cudaFree(B);
    cudaFree(C);
    free(h);
    if (s != CUBLAS_STATUS_SUCCESS)
        return -1;
    /* FP16 to float for the two values this program can produce */
    return c0 == 0x6800 ? 2048.0f : c0 == 0x6c00 ? 4096.0f : -2.0f;
}

static float worker_c0;
static volatile pid_t worker_tid;

static void *worker(void *arg)
{
    (void)arg;
    worker_tid = (pid_t)syscall(SYS_gettid);
    worker_c0 = gemm_ones(4096);
    return NULL;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Whether thread tid is in openat(2) (x86-64 257, aarch64 56). */
static int in_openat(pid_t tid)
{
    char path[64], text[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(text, sizeof text, f))
        text[0] = '\0';
    fclose(f);
    int nr = atoi(text);
    return nr == 257 || nr == 56;
}

int main(int argc, char **argv)
{
    const char *fifo = argc == 3 && strcmp(argv[1], "--fork-during-first-call") == 0 ? argv[2]
                                                                                      : NULL;
    pthread_t t;
    if (fifo) {
        if (pthread_create(&t, NULL, worker, NULL))
            return 1;
        /* Until the worker has stayed in openat a while: blocked on the FIFO. */
        int seen = 0;
        for (int i = 0; i < 1000 && seen < 5; i++) {
            nap_ms(10);
            seen = worker_tid && in_openat(worker_tid) ? seen + 1 : 0;
        }
        printf("worker_blocked=%d\n", seen >= 5);
    } else {
        printf("parent_c0=%g\n", gemm_ones(4096));
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child_c0=%g\n", gemm_ones(4096));
        fflush(stdout);
        exit(0);
    }
    int status = 0;
    if (fifo) {
        if (open(fifo, O_RDONLY | O_NONBLOCK) < 0) /* kept open: writers never get SIGPIPE */
            return 1;
        int done = 0;
        for (int i = 0; i < 1000 && !done; i++) {
            done = waitpid(pid, &status, WNOHANG) == pid;
            if (!done)
                nap_ms(10);
        }
        if (!done) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            status = 124 << 8;
        }
        pthread_join(t, NULL);
        printf("parent_c0=%g\n", worker_c0);
    } else {
        waitpid(pid, &status, 0);
    }
    printf("child_pid=%d\nchild_status=%d\n", (int)pid,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
