/* signal_app: an ordinary cuBLAS program (it knows nothing of safehalf)
 * with fatal-signal handlers of its own, as programs that recover from a
 * signal have (a Python signal.signal handler, a SIGSEGV handler that
 * siglongjmps out of a probe). It runs its arguments as steps, in order:
 *
 *   gemm          one FP16 GEMM (cublasGemmEx, 4x4x4 ones, COMPUTE_32F)
 *   gemm2         the same GEMM from another line (another call site)
 *   return:SIG[:N]  a handler for SIG that counts the signal and returns
 *   jump:SIG[:N]    a handler for SIG that counts it and siglongjmps back
 *                 to the step that got it, which then ends
 *   ignore:SIG    SIG_IGN for SIG
 *   raise:SIG     raise(SIG)
 *   kill:SIG      kill(getpid(), SIG)
 *   segv          read address 0
 *   abort         abort()
 *
 * SIG: ABRT, SEGV, BUS, FPE or ILL. A handler with N handles the signal N
 * times; the next time it puts back the default action and raises the
 * signal, which ends the process. A handler returning from a fault (segv)
 * gets it again at once. Handlers are installed before the first cuBLAS
 * call so that safehalf, which installs its own at that call, chains to
 * them (a handler installed later replaces safehalf's).
 *
 * Prints, one key=value per line: after a GEMM its status and C[0]
 * (`gemm=0`, `c0=4`); after a step that raises a signal, how many times
 * its handler handled it (`handled_ABRT=1`).
 * Exit 0 when every GEMM succeeded, 2 otherwise, 64 on a bad argument. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "apputil.h"

static const struct { const char *name; int sig; } signals[] = {
    { "ABRT", SIGABRT }, { "SEGV", SIGSEGV }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
    { "ILL", SIGILL },
};
#define NSIG_APP (int)(sizeof signals / sizeof signals[0])

static volatile sig_atomic_t handled[NSIG_APP], limit[NSIG_APP], jumps[NSIG_APP];
static sigjmp_buf back;
static volatile sig_atomic_t armed;

static int sig_index(int sig)
{
    for (int i = 0; i < NSIG_APP; i++)
        if (signals[i].sig == sig)
            return i;
    return -1;
}

static void on_signal(int sig)
{
    int i = sig_index(sig);
    if (limit[i] && handled[i] >= limit[i]) {
        signal(sig, SIG_DFL);
        raise(sig); /* pending until this handler returns */
        return;
    }
    handled[i]++;
    if (jumps[i] && armed) {
        armed = 0;
        siglongjmp(back, 1);
    }
}

static int parse_sig(const char *s, int *n)
{
    *n = 0;
    for (int i = 0; i < NSIG_APP; i++) {
        size_t len = strlen(signals[i].name);
        if (!strncmp(s, signals[i].name, len) && (s[len] == 0 || s[len] == ':')) {
            if (s[len] == ':')
                *n = atoi(s + len + 1);
            return signals[i].sig;
        }
    }
    return 0;
}

static int install(int sig, int n, int jump, int ignore)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ignore ? SIG_IGN : on_signal;
    sigemptyset(&sa.sa_mask);
    int i = sig_index(sig);
    limit[i] = n;
    jumps[i] = jump;
    return sigaction(sig, &sa, NULL);
}

static cublasHandle_t handle;
static void *A, *B, *C;

static int setup(void)
{
    half_t ones[16];
    for (int i = 0; i < 16; i++)
        ones[i].x = 0x3c00;
    if (cudaMalloc(&A, sizeof ones) || cudaMalloc(&B, sizeof ones) || cudaMalloc(&C, sizeof ones))
        return -1;
    if (cudaMemcpy(A, ones, sizeof ones, cudaMemcpyHostToDevice) ||
        cudaMemcpy(B, ones, sizeof ones, cudaMemcpyHostToDevice))
        return -1;
    return cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS ? 0 : -1;
}

static const float one = 1.0f, zero = 0.0f;

static float c0(void);

/* Two call sites (the call is not a tail call: the return address is in
 * each function). */
static __attribute__((noinline)) int gemm(void)
{
    int s = (int)cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, A, CUDA_R_16F, 4,
                              B, CUDA_R_16F, 4, &zero, C, CUDA_R_16F, 4, CUBLAS_COMPUTE_32F,
                              CUBLAS_GEMM_DEFAULT);
    printf("gemm=%d\nc0=%g\n", s, c0());
    return s;
}

static __attribute__((noinline)) int gemm2(void)
{
    int s = (int)cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, A, CUDA_R_16F, 4,
                              B, CUDA_R_16F, 4, &zero, C, CUDA_R_16F, 4, CUBLAS_COMPUTE_32F,
                              CUBLAS_GEMM_DEFAULT);
    printf("gemm2=%d\nc0=%g\n", s, c0());
    return s;
}

static float c0(void)
{
    half_t h = { 0 };
    cudaMemcpy(&h, C, sizeof h, cudaMemcpyDeviceToHost);
    return app_half_to_float(h);
}

static volatile int sink;

/* raise(sig) ('r'), kill(getpid(), sig) ('k') or a read of address 0
 * ('s'); a jump handler comes back here. */
static void guarded(int what, int sig)
{
    if (sigsetjmp(back, 1) == 0) {
        armed = 1;
        if (what == 'r') {
            raise(sig);
        } else if (what == 'k') {
            kill(getpid(), sig);
        } else {
            volatile int *volatile nothing = NULL;
            sink = *nothing;
        }
    }
    armed = 0;
}

int main(int argc, char **argv)
{
    int bad = 0;
    for (int a = 1; a < argc; a++) {
        const char *step = argv[a];
        int sig = 0, n = 0;
        const char *colon = strchr(step, ':');
        if (colon)
            sig = parse_sig(colon + 1, &n);
        if (!strcmp(step, "gemm") || !strcmp(step, "gemm2")) {
            if (!handle && setup()) {
                printf("%s=setup_failed\n", step);
                return 2;
            }
            bad |= (step[4] ? gemm2() : gemm()) != 0;
        } else if (colon && sig && !strncmp(step, "return:", 7)) {
            install(sig, n, 0, 0);
        } else if (colon && sig && !strncmp(step, "jump:", 5)) {
            install(sig, n, 1, 0);
        } else if (colon && sig && !n && !strncmp(step, "ignore:", 7)) {
            install(sig, 0, 0, 1);
        } else if (colon && sig && !n && (!strncmp(step, "raise:", 6) ||
                                           !strncmp(step, "kill:", 5))) {
            guarded(step[0], sig);
            printf("handled_%s=%d\n", colon + 1, (int)handled[sig_index(sig)]);
        } else if (!strcmp(step, "segv")) {
            guarded('s', SIGSEGV);
            printf("handled_SEGV=%d\n", (int)handled[sig_index(SIGSEGV)]);
        } else if (!strcmp(step, "abort")) {
            abort();
        } else {
            fprintf(stderr, "signal_app: unknown step %s\n", step);
            return 64;
        }
        fflush(stdout);
    }
    if (handle)
        cublasDestroy(handle);
    return bad ? 2 : 0;
}
