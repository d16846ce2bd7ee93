/* fork_app: a cuBLAS program that forks a worker which does its own GEMM
 * (like a training script whose DataLoader worker, or a multiprocessing pool,
 * also touches the GPU library). Works on the emulated backend; on a real GPU
 * a forked child cannot use CUDA that its parent initialized.
 *
 * The parent sums 4096 products of 1.0 with CUBLAS_COMPUTE_16F, forks, the
 * child creates its own handle and does the same, the parent waits.
 * Prints parent_c0, child_c0 (written by the child), child_pid, child_status. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
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

int main(void)
{
    printf("parent_c0=%g\n", gemm_ones(4096));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child_c0=%g\n", gemm_ones(4096));
        fflush(stdout);
        exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child_pid=%d\nchild_status=%d\n", (int)pid,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
